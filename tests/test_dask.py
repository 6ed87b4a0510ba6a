"""Dask: a real LocalCluster for the search and for dask_ml's Incremental."""

import warnings

import joblib
import numpy as np
import pytest
from extras import environment_kept, import_extra
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    ConvAutoencoder,
    SequenceAutoencoder,
    DenoisingAE,
    GaussianBernoulliRBM,
    SparseAE,
    StackedAE,
    VariationalAE,
)

da = import_extra("dask.array", "dask")
distributed = import_extra("distributed", "dask")
wrappers = import_extra("dask_ml.wrappers", "dask")

import skae.dask

DIGITS = load_digits()
X = DIGITS.data / 16
y = DIGITS.target

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    # Two worker processes, one thread each: the search's fits run in other
    # processes, which must import skae and unpickle its estimators.
    with environment_kept(), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_grid_search_on_the_cluster_equals_the_default_backend(client):
    pipe = make_pipeline(DenoisingAE(n_components=8, max_iter=5, random_state=0),
                         LogisticRegression(max_iter=200))
    grid = {"denoisingae__noise_level": [0.1, 0.3], "denoisingae__n_components": [8, 16]}
    rows = slice(0, 600)
    local = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(X[rows], y[rows])
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(pipe, grid, cv=3, n_jobs=-1).fit(X[rows], y[rows])
    workers = client.run(lambda: True)
    assert len(workers) == 2
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.best_estimator_[0].transform(X),
                                  local.best_estimator_[0].transform(X))


PARTIAL_FIT = [
    AutoencoderTransformer(n_components=8),
    DenoisingAE(n_components=8),
    SparseAE(n_components=8),
    ContractiveAE(n_components=8),
    StackedAE(hidden_layer_sizes=(16,), n_components=8),
    VariationalAE(n_components=2),
    ConvAutoencoder(n_components=4, input_shape=(1, 8, 8), filters=(4,)),
    SequenceAutoencoder(n_components=4, input_shape=(4, 16), hidden_layer_sizes=(8,)),
    BernoulliRBM(n_components=8),
    GaussianBernoulliRBM(n_components=8),
]


@pytest.mark.parametrize("estimator", PARTIAL_FIT, ids=lambda e: type(e).__name__)
def test_incremental_on_the_cluster_trains_as_partial_fit_block_by_block(client,
                                                                         estimator):
    estimator = clone(estimator).set_params(random_state=0)
    dX = da.from_array(X, chunks=(300, 64))
    incremental = wrappers.Incremental(estimator, shuffle_blocks=False).fit(dX)
    by_hand = clone(estimator)
    for start in range(0, len(X), 300):
        by_hand.partial_fit(X[start:start + 300])
    fitted = incremental.estimator_
    np.testing.assert_array_equal(fitted.transform(X), by_hand.transform(X))
    # Incremental's fit checks for a score, and its score calls ours.
    assert incremental.score(dX, None) == pytest.approx(by_hand.score(X))
    codes = skae.dask.transform(incremental, dX)
    assert codes.shape == (len(X), by_hand.transform(X[:1]).shape[1])
    assert codes.chunks[0] == dX.chunks[0]
    # Block by block, as the workers compute it: a row's last bit may depend on
    # how many rows its BLAS call had (see skae/dask.py).
    blocks = [by_hand.transform(X[s:s + 300]) for s in range(0, len(X), 300)]
    np.testing.assert_array_equal(codes.compute(), np.vstack(blocks))
    np.testing.assert_allclose(codes.compute(), by_hand.transform(X), rtol=1e-12,
                               atol=1e-12)
    assert skae.dask.score_samples(incremental, dX).shape == (len(X),)
    back = skae.dask.inverse_transform(incremental, codes)
    assert back.shape == X.shape
    np.testing.assert_array_equal(back.compute(), np.vstack(
        [by_hand.inverse_transform(block) for block in blocks]))


def test_incremental_transform_alone_reports_the_input_width(client):
    # The trap skae.dask.transform exists for (dask-ml's map_blocks without chunks).
    dX = da.from_array(X, chunks=(300, 64))
    incremental = wrappers.Incremental(DenoisingAE(n_components=8, random_state=0)).fit(dX)
    assert incremental.transform(dX).shape == (len(X), 64)
    assert skae.dask.transform(incremental, dX).shape == (len(X), 8)


def test_blocks_with_a_different_column_count_stop_incremental_clearly(client):
    # Blocks read from files of different widths: dask cannot see it before
    # compute, partial_fit does, and leaves the model as the last good block did.
    import dask

    blocks = [da.from_delayed(dask.delayed(lambda a: a)(block), shape=(300, 64),
                              dtype=X.dtype)
              for block in (X[:300], X[300:600], X[600:900, :60])]
    dX = da.concatenate(blocks)
    with pytest.raises(ValueError, match="X has 60 features, but DenoisingAE is "
                                         "expecting 64 features"):
        wrappers.Incremental(DenoisingAE(n_components=8), shuffle_blocks=False).fit(dX)


def test_an_array_with_split_columns_is_refused():
    with pytest.raises(ValueError, match=r"rechunk\(\{1: -1\}\)"):
        skae.dask.check_blocks(da.from_array(X, chunks=(300, 32)))
    assert skae.dask.check_blocks(da.from_array(X, chunks=(300, 64))).numblocks == (6, 1)


def test_the_mapping_helpers_want_a_fitted_skae_model():
    from sklearn.exceptions import NotFittedError

    dX = da.from_array(X, chunks=(300, 64))
    with pytest.raises(NotFittedError):
        skae.dask.transform(DenoisingAE(), dX)
    with pytest.raises(TypeError, match="skae's autoencoders and RBMs"):
        skae.dask.transform(LogisticRegression(), dX)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae = DenoisingAE(n_components=4, max_iter=2).fit(X)
    with pytest.raises(TypeError, match="2-D dask array"):
        skae.dask.transform(ae, X)


def test_the_module_examples_run():
    import doctest

    result = doctest.testmod(skae.dask, optionflags=doctest.NORMALIZE_WHITESPACE
                             | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
