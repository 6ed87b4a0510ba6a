"""Fitted state over parameters, kernel-side checks, and results that must not
silently depend on how equal input is written.

A fitted estimator's methods read sizes, dtype and architecture from the
fitted state, never from get_params(); the kernels check their buffers before
they release the GIL; equal values give equal results.
"""

import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    DenoisingAE,
    GaussianBernoulliRBM,
    SparseAE,
    StackedAE,
)
from skae._kernels import _network, _rbm
from skae._kernels.runtime.record import ThreadRecord
from classic import classic

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X = np.random.default_rng(0).random((200, 64))
AUTOENCODERS = [AutoencoderTransformer, DenoisingAE, SparseAE, ContractiveAE, StackedAE]
RBMS = [BernoulliRBM, GaussianBernoulliRBM]


@pytest.mark.parametrize("cls", AUTOENCODERS)
def test_autoencoder_methods_follow_the_fitted_architecture(cls):
    ae = cls(n_components=4, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(X)
    codes, recon = ae.transform(X), ae.inverse_transform(ae.transform(X))
    scores, names = ae.score_samples(X), ae.get_feature_names_out()
    ae.set_params(n_components=200000, hidden_layer_sizes=(),
                  loss="binary_crossentropy", tied_weights=not ae.tied_weights)
    assert_array_equal(ae.transform(X), codes)
    assert_array_equal(ae.inverse_transform(codes), recon)
    assert_array_equal(ae.score_samples(X), scores)
    assert_array_equal(ae.get_feature_names_out(), names)
    with pytest.raises(ValueError, match="expecting 4 features"):
        ae.inverse_transform(np.ones((50, 200000)))
    with pytest.raises(ValueError, match="architecture parameters .* changed"):
        ae.partial_fit(X)
    # The failed call left the model as it was.
    assert_array_equal(ae.transform(X), codes)


@pytest.mark.parametrize("old, new", [("sgd", "adam"), ("adam", "sgd")])
def test_partial_fit_after_a_solver_change_restarts_the_optimizer(old, new):
    ae = classic(AutoencoderTransformer, 3, solver=old, max_iter=2, random_state=0).fit(X)
    ae.set_params(solver=new).partial_fit(X)
    assert ae._solver == new and ae._n_steps == int(np.ceil(200 / 200))
    assert ae._optimizer_state.size == (2 if new == "adam" else 1) * ae._params.size


@pytest.mark.parametrize("cls", RBMS)
def test_rbm_methods_follow_the_fitted_weights(cls):
    rbm = cls(n_components=64, n_iter=1, random_state=0).fit(X)
    codes = rbm.transform(X)
    rbm.set_params(n_components=1)
    assert_array_equal(rbm.transform(X), codes)
    assert rbm.inverse_transform(codes).shape == X.shape
    assert len(rbm.get_feature_names_out()) == 64
    with pytest.raises(ValueError, match="n_components is 1, but the fitted model has 64"):
        rbm.partial_fit(X)


def test_rbm_assigned_attributes_are_checked_not_trusted():
    rbm = BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X)
    # A float32 components_ on a float64 model: the model becomes float32.
    rbm.components_ = rbm.components_.astype(np.float32)
    assert rbm.transform(X).dtype == np.float32
    assert rbm.partial_fit(X).components_.dtype == np.float32
    rbm.components_ = np.zeros((3, 5))
    with pytest.raises(ValueError, match="intercept_hidden_ has shape"):
        rbm.transform(X)
    rbm.components_ = np.zeros((8, 64))
    rbm.h_samples_ = np.zeros((10, 3))
    with pytest.raises(ValueError, match="h_samples_ has shape"):
        rbm.partial_fit(X)


def test_rbm_trains_from_assigned_weights():
    # Weights copied in from elsewhere (scikit-learn's RBM, say), no fit.
    source = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X)
    rbm = BernoulliRBM(n_components=8, random_state=0)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        setattr(rbm, name, getattr(source, name).copy())
    assert_array_equal(rbm.transform(X), source.transform(X))
    rbm.partial_fit(X)
    assert rbm.sample(2, n_steps=3).shape == (2, 64)
    assert np.isfinite(rbm.log_partition_function(n_runs=2, n_betas=10))


def test_assigned_n_features_in_does_not_make_a_model_fitted():
    rbm = BernoulliRBM()
    rbm.n_features_in_ = 3
    with pytest.raises(ValueError, match="not fitted"):
        rbm.log_partition_function()


def test_autoencoder_with_tampered_feature_count_raises():
    ae = classic(AutoencoderTransformer, 3, max_iter=2).fit(X)
    ae.n_features_in_ = 5
    with pytest.raises(ValueError, match="n_features_in_ is 5, but its fitted weights take 64"):
        ae.transform(X[:, :5])


STATE = ThreadRecord()


def test_network_kernel_checks_its_buffers():
    ae = classic(AutoencoderTransformer, 3, max_iter=1).fit(X)
    layers, params = ae._layers, ae._params
    data = X.reshape(-1)
    empty = np.empty(0, dtype=np.intp)
    work = np.empty(_network.workspace_size(layers, 10, params.size, False))
    out = np.empty((10, 64))
    args = (data, empty, empty, False, 64, None, 10, params, layers, 0, 1)
    _network.activations(*args, out, work, 10, 0.0, STATE)
    with pytest.raises(ValueError, match="work"):
        _network.activations(*args, out, work[:-1], 10, 0.0, STATE)
    with pytest.raises(ValueError, match="output width"):
        _network.activations(*args, np.empty((10, 2)), work, 10, 0.0, STATE)
    with pytest.raises(ValueError, match="outside the"):
        _network.activations(*args[:7], params[:-1], *args[8:], out, work, 10, 0.0, STATE)
    with pytest.raises(TypeError, match="ThreadRecord"):
        _network.activations(*args, out, work, 10, 0.0, np.zeros(64, np.uint8))
    unknown_kind = layers.copy()
    unknown_kind[0, _network.LAYER_COLUMNS.index("kind")] = 99
    with pytest.raises(ValueError, match="kind"):
        _network.activations(*args[:8], unknown_kind, *args[9:], out, work, 10, 0.0,
                             STATE)
    with pytest.raises(ValueError, match="row index"):
        _network.activations(data, empty, empty, False, 64,
                             np.full(10, 200, dtype=np.intp), 10, params, layers, 0,
                             1, out, work, 10, 0.0, STATE)
    loss = _network.LOSSES["squared_error"]
    _network.row_losses(*args[:9], loss, np.empty((10, 1)), work, 10, 0.0, STATE)
    with pytest.raises(ValueError, match="output width"):
        _network.row_losses(*args[:9], loss, out, work, 10, 0.0, STATE)
    with pytest.raises(ValueError, match="loss code"):
        _network.row_losses(*args[:9], 99, np.empty((10, 1)), work, 10, 0.0, STATE)
    bad_csr = sp.csr_matrix(X[:10])
    bad_csr.indices[0] = 64
    with pytest.raises(ValueError, match="column index"):
        _network.activations(bad_csr.data, bad_csr.indices.astype(np.intp),
                             bad_csr.indptr.astype(np.intp), True, 64, None, 10, params,
                             layers, 0, 1, out, work, 10, 0.0, STATE)
    config = ae._kernel_config()
    train_work = np.empty(_network.workspace_size(layers, 10, params.size, True))
    rows = np.arange(200, dtype=np.intp)
    with pytest.raises(ValueError, match="opt_state"):
        _network.train_pass(data, empty, empty, False, 64, rows, 10, params.copy(),
                            layers, config, np.empty(params.size), 0,
                            ae._penalty_state, ae._bit_generator, train_work,
                            ThreadRecord())


def test_rbm_kernel_checks_its_buffers():
    rbm = BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X)
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    empty = np.empty(0, dtype=np.intp)
    flip = np.zeros(10, dtype=np.intp)
    with pytest.raises(ValueError, match="output width"):
        _rbm.evaluate(X.reshape(-1), empty, empty, False, 64, 10, W, b_h, b_v, 0, 0, 0,
                      flip, np.empty((10, 1)), 10, STATE)
    with pytest.raises(ValueError, match="hidden bias"):
        _rbm.evaluate(X.reshape(-1), empty, empty, False, 64, 10, W, b_h[:-1], b_v, 0,
                      0, 0, flip, np.empty((10, 8)), 10, STATE)
    with pytest.raises(ValueError, match="flip index"):
        _rbm.evaluate(X.reshape(-1), empty, empty, False, 64, 10, W, b_h, b_v, 0, 0, 2,
                      np.full(10, 64, dtype=np.intp), np.empty((10, 1)), 10, STATE)
    with pytest.raises(ValueError, match="work"):
        _rbm.train_pass(X.reshape(-1), empty, empty, False, 64,
                        np.arange(200, dtype=np.intp), 10, W.copy(), b_h.copy(),
                        b_v.copy(), rbm.h_samples_.copy(), rbm._velocity.copy(),
                        rbm._fast_weights.copy(), rbm._offsets.copy(), rbm._config(), rbm._bit_generator, np.empty(5),
                        ThreadRecord())


DUPLICATES = sp.csr_matrix(([0.6, 0.6, 0.5], [0, 0, 1], [0, 2, 3, 3]), shape=(3, 2))


@pytest.mark.parametrize("estimator", [
    BernoulliRBM(n_components=2, n_iter=1),
    classic(AutoencoderTransformer, 1, loss="binary_crossentropy", max_iter=1),
], ids=lambda e: type(e).__name__)
def test_csr_duplicates_are_summed_before_the_range_check(estimator):
    assert not DUPLICATES.has_canonical_format
    with pytest.raises(ValueError, match=r"got values in \[0.5, 1.2\]"):
        estimator.fit(DUPLICATES)
    with pytest.raises(ValueError, match=r"got values in \[0, 1.2\]"):
        estimator.fit(DUPLICATES.toarray())
    # The caller's matrix is not changed.
    assert DUPLICATES.nnz == 3


def test_duplicates_train_as_their_sum():
    rng = np.random.default_rng(1)
    dense = rng.random((30, 4)) * (rng.random((30, 4)) < 0.5)
    coo = sp.coo_matrix(dense)
    doubled = sp.csr_matrix((np.r_[coo.data, coo.data] / 2,
                             (np.r_[coo.row, coo.row], np.r_[coo.col, coo.col])),
                            shape=dense.shape)
    a = classic(AutoencoderTransformer, 2, max_iter=2, random_state=0).fit(doubled)
    b = classic(AutoencoderTransformer, 2, max_iter=2, random_state=0).fit(sp.csr_matrix(dense))
    assert_array_equal(a.transform(dense), b.transform(dense))


def test_negative_zero_scores_as_zero():
    digits = load_digits().data / 16
    rbm = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(digits)
    flipped = digits[:200].copy()
    flipped[flipped == 0] = -0.0
    assert np.signbit(flipped).any()
    expected = rbm.score_samples(digits[:200])
    assert_array_equal(rbm.score_samples(flipped), expected)
    assert_array_equal(rbm.score_samples(sp.csr_matrix(flipped)), expected)


@pytest.mark.parametrize("learning_rate", [1.0, 1e6])
def test_gaussian_rbm_divergence_is_an_error_and_keeps_the_model(learning_rate):
    Z = StandardScaler().fit_transform(load_digits().data[:300])
    rbm = GaussianBernoulliRBM(n_iter=1, random_state=0).fit(Z)
    before = rbm.components_.copy()
    with pytest.raises(ValueError, match="diverged.*reconstruction error grew"):
        rbm.set_params(learning_rate=learning_rate).fit(Z)
    assert_array_equal(rbm.components_, before)


def test_gaussian_rbm_verbose_names_its_score(capsys):
    Z = StandardScaler().fit_transform(load_digits().data[:100])
    GaussianBernoulliRBM(n_components=4, n_iter=1, verbose=1).fit(Z)
    out = capsys.readouterr().out
    assert "minus reconstruction error" in out and "pseudo-likelihood" not in out


def _blas_threads():
    return sorted((info["filepath"], info["num_threads"]) for info in threadpool_info()
                  if info["user_api"] == "blas")


def test_concurrent_calls_leave_the_blas_limits_as_they_were():
    ae = classic(AutoencoderTransformer, 8, max_iter=1, random_state=0).fit(X)
    rbm = BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X)
    before = _blas_threads()
    big = np.tile(X, (50, 1))
    errors = []

    def work(estimator):
        try:
            for _ in range(20):
                estimator.transform(big)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(est,)) for est in (ae, rbm) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _blas_threads() == before


@pytest.mark.parametrize("call, match", [
    (lambda m: m.sample(n_steps=-1), "n_steps must be an integer >= 0"),
    (lambda m: m.sample(n_samples=0), "n_samples must be an integer >= 1"),
    (lambda m: m.log_partition_function(n_runs=0), "n_runs must be an integer >= 1"),
    (lambda m: m.log_partition_function(n_betas=1), "n_betas"),
    (lambda m: m.log_partition_function(n_betas=0), "n_betas"),
])
def test_rbm_method_arguments_are_validated(call, match):
    rbm = BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match=match):
            call(rbm)


@pytest.mark.parametrize("estimator", [
    classic(AutoencoderTransformer, hidden_layer_sizes=(True,)),
    classic(AutoencoderTransformer, random_state=True),
    classic(AutoencoderTransformer, n_components=True),
    BernoulliRBM(random_state=True),
    BernoulliRBM(n_components=True),
], ids=str)
def test_bools_are_not_sizes_or_seeds(estimator):
    with pytest.raises(ValueError, match="not a bool"):
        estimator.fit(X)



def _outcome(call):
    """What call() returns, or the type and message of what it raises, and
    the warnings it gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - compared, not swallowed
            result = (type(error), str(error))
    return result, [(w.category, str(w.message)) for w in caught]


def _same_outcome(a, b):
    (ra, wa), (rb, wb) = a, b
    assert wa == wb
    if isinstance(ra, tuple):
        assert ra == rb
    else:
        assert type(ra) is type(rb) and ra.dtype == rb.dtype and ra.flags.c_contiguous
        assert_array_equal(ra, rb)


@pytest.mark.parametrize("allow_nan", [False, True])
def test_the_fitted_models_shortcut_validates_as_validate_data(allow_nan):
    # A fitted model's input that scikit-learn's validate_data would return
    # unchanged skips it (it costs more than a one-row transform's kernel);
    # everything else must come out of validate_input as validate_data makes
    # it: the same array, the same error, the same warnings.
    from sklearn.utils.validation import validate_data

    from skae._core.common import validate_input

    X32 = X.astype(np.float32)
    ae = AutoencoderTransformer(n_components=3, max_iter=2).fit(X32)
    big = np.full((2, 64), 3e38, np.float32)          # a float32 sum overflows
    cases = [X32, X32[:1], X32[:, :10], X32[::2], np.asfortranarray(X32), X32[:0],
             X, X.astype(int), big, np.where(X32 > 0.9, np.nan, X32),
             np.where(X32 > 0.9, np.inf, X32), X32.tolist()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        cases.append(np.matrix(X32))                  # a subclass
    for case in cases:
        ours = _outcome(lambda: validate_input(ae, case, reset=False, dtype=np.float32,
                                               allow_nan=allow_nan))
        theirs = _outcome(lambda: validate_data(
            ae, case, reset=False, accept_sparse="csr", dtype=np.float32, order="C",
            ensure_all_finite="allow-nan" if allow_nan else True))
        _same_outcome(ours, theirs)
    # Codes (inverse_transform): what plain_rows lets through, check_array
    # returns as it is, silently; what check_array refuses, it never lets through.
    from sklearn.utils import check_array

    from skae._core.common import plain_rows

    for case in cases:
        for width in (64, 10):
            result, caught = _outcome(lambda: check_array(case, dtype=np.float32,
                                                          order="C"))
            if plain_rows(case, np.float32, width):
                assert result is case and not caught and case.shape[1] == width
    # Fitted on a DataFrame: an array gets scikit-learn's feature-names warning.
    pd = pytest.importorskip("pandas")
    named = AutoencoderTransformer(n_components=3, max_iter=2).fit(
        pd.DataFrame(X32, columns=[f"f{i}" for i in range(64)]))
    with pytest.warns(UserWarning, match="feature names"):
        validate_input(named, X32, reset=False, dtype=np.float32)
