"""AutoencoderTransformer: contract, determinism, errors, model selection."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
from numpy.testing import assert_array_equal
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from threadpoolctl import threadpool_limits

from skae import AutoencoderTransformer
from skae._kernels import _network
from classic import classic

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module", params=["digits", "sparse digits"])
def either_digits(request, digits):
    """The digits (51% nonzeros: the first layer runs dense products), and
    the digits with values below 0.6 zeroed (27% nonzeros: the first layer
    skips the zeros, see _nonzeros.pxd)."""
    X = digits[0]
    if request.param == "sparse digits":
        X = np.where(X < 0.6, 0.0, X)
        assert (X != 0).mean() < _network.INPUT_DENSITY_LIMIT
    return X, digits[1]


def _fit(X, **params):
    params = {"n_components": 8, "max_iter": 5, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return classic(AutoencoderTransformer, **params).fit(X)


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("seed", SEEDS)
def test_same_seed_gives_bit_identical_weights(digits, seed):
    X = digits[0]
    a = _fit(X, random_state=seed, hidden_layer_sizes=(16,))
    b = _fit(X, random_state=seed, hidden_layer_sizes=(16,))
    assert np.array_equal(a._params, b._params)
    assert a.loss_curve_ == b.loss_curve_
    c = _fit(X, random_state=seed + 100, hidden_layer_sizes=(16,))
    assert not np.array_equal(a._params, c._params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_give_identical_results(either_digits, dtype):
    X = either_digits[0].astype(dtype)
    with threadpool_limits(1):
        one = _fit(X, hidden_layer_sizes=(32,), batch_size=64)
        Z_one = one.transform(X)
    with threadpool_limits(2):
        two = _fit(X, hidden_layer_sizes=(32,), batch_size=64)
        Z_two = two.transform(X)
    assert np.array_equal(one._params, two._params)
    assert np.array_equal(Z_one, Z_two)


def test_pickle_round_trip_gives_identical_transform(digits):
    X = digits[0]
    ae = _fit(X, tied_weights=True)
    clone = pickle.loads(pickle.dumps(ae))
    assert np.array_equal(ae.transform(X), clone.transform(X))
    assert np.array_equal(ae.inverse_transform(ae.transform(X)),
                          clone.inverse_transform(clone.transform(X)))
    # The random stream survives too: continued training stays identical.
    ae.partial_fit(X)
    clone.partial_fit(X)
    assert np.array_equal(ae._params, clone._params)


def test_float32_in_float32_out_and_agrees_with_float64(digits):
    X = digits[0]
    ae32 = _fit(X.astype(np.float32))
    ae64 = _fit(X)
    assert ae32._params.dtype == np.float32
    assert all(W.dtype == np.float32 for W in ae32.coefs_)
    Z32 = ae32.transform(X.astype(np.float32))
    assert Z32.dtype == np.float32
    assert ae32.inverse_transform(Z32).dtype == np.float32
    # Same seed, same arithmetic up to rounding.
    np.testing.assert_allclose(Z32, ae64.transform(X), atol=2e-3)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_and_dense_input_give_the_same_model(either_digits, fmt):
    X = either_digits[0]
    dense = _fit(X)
    sparse = _fit(sp.csr_matrix(X).asformat(fmt))
    np.testing.assert_allclose(sparse._params, dense._params, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        sparse.transform(sp.csr_matrix(X)), dense.transform(X), rtol=1e-12
    )
    np.testing.assert_allclose(sparse.score_samples(sp.csr_matrix(X)),
                               dense.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
def test_zero_skipping_first_layer_trains_the_dense_model(digits, dtype, rtol,
                                                          monkeypatch):
    """Skipping the input's zeros changes only the rounding."""
    X = np.where(digits[0] < 0.6, 0.0, digits[0]).astype(dtype)
    skipping = _fit(X, hidden_layer_sizes=(32,), batch_size=64)
    monkeypatch.setattr(_network, "INPUT_DENSITY_LIMIT", 0.0)
    dense = _fit(X, hidden_layer_sizes=(32,), batch_size=64)
    # Two different computations ran...
    assert not np.array_equal(skipping._params, dense._params)
    # ...of the same model.
    np.testing.assert_allclose(skipping._params, dense._params, rtol=rtol,
                               atol=rtol * np.abs(dense._params).max())
    np.testing.assert_allclose(skipping.transform(X), dense.transform(X), rtol=rtol,
                               atol=rtol)


def test_partial_fit_passes_match_fit(digits):
    X = digits[0]
    full = _fit(X, max_iter=3)
    incremental = classic(AutoencoderTransformer, n_components=8, random_state=0)
    for _ in range(3):
        incremental.partial_fit(X)
    assert np.array_equal(full._params, incremental._params)
    assert full.loss_curve_ == incremental.loss_curve_
    assert incremental.n_iter_ == 3 and incremental.t_ == 3 * X.shape[0]


# ------------------------------------------------------------------- contract


def test_fitted_attributes_and_shapes(digits):
    X = digits[0]
    ae = _fit(X, hidden_layer_sizes=(20, 12), n_components=6)
    assert [W.shape for W in ae.coefs_] == [(64, 20), (20, 12), (12, 6), (6, 12),
                                            (12, 20), (20, 64)]
    assert [b.shape for b in ae.intercepts_] == [(20,), (12,), (6,), (12,), (20,), (64,)]
    assert ae.components_.shape == (20, 64)
    assert ae.transform(X).shape == (X.shape[0], 6)
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape
    assert len(ae.loss_curve_) == ae.n_iter_ == 5
    assert ae.best_loss_ == min(ae.loss_curve_)
    assert ae.validation_scores_ is None
    assert ae.n_features_in_ == 64
    assert list(ae.get_feature_names_out()) == [
        f"autoencodertransformer{i}" for i in range(6)
    ]


def test_tied_weights_share_one_matrix(digits):
    ae = _fit(digits[0], tied_weights=True, hidden_layer_sizes=(16,))
    W = ae.coefs_
    assert np.shares_memory(W[0], W[3]) and np.array_equal(W[0], W[3].T)
    assert np.shares_memory(W[1], W[2]) and np.array_equal(W[1], W[2].T)
    untied = _fit(digits[0], hidden_layer_sizes=(16,))
    assert ae._params.size < untied._params.size


def test_score_is_minus_mean_reconstruction_error(digits):
    X = digits[0]
    ae = _fit(X)
    recon = ae.inverse_transform(ae.transform(X))
    per_sample = ((recon - X) ** 2).sum(axis=1)
    np.testing.assert_allclose(ae.score_samples(X), -per_sample, rtol=1e-10)
    np.testing.assert_allclose(ae.score(X), -per_sample.mean(), rtol=1e-10)


def test_binary_crossentropy_reconstruction_is_a_probability(digits):
    X = digits[0]
    ae = _fit(X, loss="binary_crossentropy")
    recon = ae.inverse_transform(ae.transform(X))
    assert recon.min() >= 0 and recon.max() <= 1
    eps = 1e-12
    bce = -(X * np.log(recon + eps) + (1 - X) * np.log(1 - recon + eps)).sum(axis=1)
    np.testing.assert_allclose(ae.score_samples(X), -bce, rtol=1e-6)


def test_training_reduces_the_loss(digits):
    X = digits[0]
    ae = _fit(X, max_iter=30)
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(digits[0], columns=[f"px{i}" for i in range(64)])
    ae = _fit(X).set_output(transform="pandas")
    Z = ae.transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == list(ae.get_feature_names_out())
    assert list(ae.feature_names_in_) == list(X.columns)


def test_verbose_prints_one_line_per_epoch(digits):
    out = io.StringIO()
    with redirect_stdout(out):
        _fit(digits[0], max_iter=3, verbose=True)
    lines = [l for l in out.getvalue().splitlines() if l.startswith("Iteration")]
    assert len(lines) == 3 and "loss = " in lines[0]


def test_early_stopping_keeps_best_validation_weights(digits):
    X = digits[0]
    ae = _fit(X, early_stopping=True, max_iter=40, n_iter_no_change=2, tol=0.0,
              learning_rate_init=0.05)
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    # The last epoch was not the best, so keeping the best weights matters...
    assert ae.validation_scores_[-1] < ae.best_validation_score_
    # ...and the final weights score the validation rows as the best epoch did.
    # The rows are the first draw of the random stream after initialisation.
    probe = classic(AutoencoderTransformer, **ae.get_params())
    probe._initialize(probe._validate_X(X, reset=True))
    perm = np.random.Generator(probe._bit_generator).permutation(len(X))
    val_rows = np.sort(perm[: int(np.ceil(ae.validation_fraction * len(X)))])
    assert -np.mean(ae._row_losses(X, val_rows)) == ae.best_validation_score_


def test_converges_and_stops_before_max_iter(digits):
    X = digits[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ae = classic(AutoencoderTransformer, 8, max_iter=500, tol=1e-2, n_iter_no_change=3,
                                    random_state=0).fit(X)
    assert ae.n_iter_ < 500


def test_max_iter_reached_warns(digits):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        classic(AutoencoderTransformer, 8, max_iter=2, random_state=0).fit(digits[0])


def test_warm_start_continues_from_current_weights(digits):
    X = digits[0]
    ae = _fit(X, max_iter=5, warm_start=True)
    before = ae.loss_curve_[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae.fit(X)
    assert ae.n_iter_ == 10 and len(ae.loss_curve_) == 10
    assert ae.loss_curve_[5] < ae.loss_curve_[0]
    assert ae.loss_curve_[-1] < before


def test_sgd_solver_trains(digits):
    ae = _fit(digits[0], solver="sgd", learning_rate_init=0.01, max_iter=20)
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]


# ------------------------------------------------------------- model selection


def test_pipeline_grid_search_with_labels(digits):
    X, y = digits
    pipe = make_pipeline(
        classic(AutoencoderTransformer, max_iter=30, random_state=0),
        LogisticRegression(max_iter=300),
    )
    grid = {"autoencodertransformer__n_components": [4, 24]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)
    # Chance is 0.1; 24 learned features carry far more than 4.
    assert search.best_score_ > 0.6
    assert search.best_params_ == {"autoencodertransformer__n_components": 24}


def test_unsupervised_grid_search_uses_score(digits):
    X = digits[0][:600]
    grid = {"n_components": [2, 24]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(
            classic(AutoencoderTransformer, max_iter=20, random_state=0), grid, cv=2
        ).fit(X)
    # More components reconstruct better, and score says so without labels.
    assert search.best_params_ == {"n_components": 24}
    assert search.cv_results_["mean_test_score"][1] > search.cv_results_["mean_test_score"][0]


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected(digits, bad):
    X = digits[0].copy()
    X[3, 5] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        classic(AutoencoderTransformer).fit(X)


def test_wrong_feature_count_at_transform(digits):
    ae = _fit(digits[0])
    with pytest.raises(ValueError, match="X has 10 features, but AutoencoderTransformer "
                                         "is expecting 64 features"):
        ae.transform(digits[0][:, :10])
    with pytest.raises(ValueError, match="expecting 8 features"):
        ae.inverse_transform(np.zeros((2, 5)))


@pytest.mark.parametrize("X", [np.zeros(5), np.zeros((0, 4)), np.zeros((4, 0))])
def test_1d_or_empty_input_is_rejected(X):
    with pytest.raises(ValueError, match="Expected 2D|0 sample|0 feature"):
        classic(AutoencoderTransformer).fit(X)


def test_binary_crossentropy_rejects_training_data_outside_unit_interval(digits):
    X = digits[0] * 16
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*MinMaxScaler\(clip=True\)"):
        classic(AutoencoderTransformer, loss="binary_crossentropy").fit(X)
    ae = _fit(digits[0], loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"values in \[0, 1\].*MaxAbsScaler"):
        ae.fit(sp.csr_matrix(-digits[0]))


def test_binary_crossentropy_scores_held_out_data_clipped(digits):
    # Held-out folds scaled by a MinMaxScaler fitted on other rows fall slightly
    # outside [0, 1]; they are scored as their clipped values, never NaN.
    ae = _fit(digits[0], loss="binary_crossentropy")
    X = digits[0][:50] * 1.07 - 0.01
    scores = ae.score_samples(X)
    assert np.isfinite(scores).all()
    assert_array_equal(scores, ae.score_samples(np.clip(X, 0, 1)))
    assert_array_equal(ae.score_samples(sp.csr_matrix(X)),
                       ae.score_samples(sp.csr_matrix(np.clip(X, 0, 1))))


def test_cross_validated_search_with_minmax_scaler_scores_every_fold(digits):
    pipe = make_pipeline(MinMaxScaler(), classic(AutoencoderTransformer, 
        n_components=8, loss="binary_crossentropy", max_iter=3, random_state=0))
    search = GridSearchCV(pipe, {"autoencodertransformer__n_components": [4, 8]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(digits[0] * 16)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"activation": "swish"}, "activation"),
        ({"loss": "hinge"}, "loss"),
        ({"solver": "newton"}, "solver"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"batch_size": 0}, "batch_size"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (4,) * 40}, "hidden_layer_sizes"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"loss": "binary_crossentropy", "output_activation": "relu"},
         "sigmoid output activation"),
    ],
)
def test_invalid_parameters_are_named(digits, params, match):
    with pytest.raises(ValueError, match=match):
        classic(AutoencoderTransformer, **params).fit(digits[0])


def test_failing_partial_fit_leaves_fitted_model_unchanged(digits):
    X = digits[0]
    ae = _fit(X)
    before = pickle.dumps(ae)
    state = {k: v for k, v in ae.__dict__.items()}
    params = ae._params.copy()
    bad = X.copy()
    bad[0, 0] = np.nan
    for wrong in [bad, X[:, :10], X * 100]:
        with pytest.raises(ValueError):
            ae.set_params(loss="binary_crossentropy" if wrong is not bad else "squared_error")
            ae.partial_fit(wrong)
        ae.set_params(loss="squared_error")
    assert np.array_equal(ae._params, params)
    assert ae.__dict__.keys() == state.keys()
    assert pickle.dumps(ae) == before


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_huge_learning_rate_is_reported_as_divergence(digits, solver):
    # sgd overflows to inf; Adam's bounded steps blow the weights up while the loss
    # stays finite. Both must end in a clear error, never in a garbage model.
    ae = classic(AutoencoderTransformer, 8, learning_rate_init=1e3, solver=solver, max_iter=5,
                                random_state=0)
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        ae.fit(digits[0])
    assert not hasattr(ae, "n_iter_")


def test_diverging_run_raises_and_never_keeps_nan_weights(digits):
    X = digits[0]
    ae = _fit(X)
    params = ae._params.copy()
    ae.set_params(learning_rate_init=1e3, solver="sgd", momentum=0.9, max_iter=50)
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        ae.fit(X)
    assert np.array_equal(ae._params, params)
    assert np.isfinite(ae.transform(X)).all()
    # A fresh estimator that diverges stays unfitted.
    fresh = classic(AutoencoderTransformer, 8, learning_rate_init=1e3, solver="sgd", max_iter=50)
    with pytest.raises(ValueError, match="diverged"):
        fresh.fit(X)
    assert not hasattr(fresh, "n_iter_")


def test_unscaled_input_that_saturates_the_first_layer_warns(digits):
    pixels = digits[0] * 255  # 0..255, as raw images come
    with pytest.warns(UserWarning, match=r"saturated .*Scale X first"):
        _fit(pixels, n_components=8, max_iter=1)
    # Scaled input, or an activation that does not saturate, does not warn.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _fit(digits[0], n_components=8, max_iter=1)
        _fit(pixels, n_components=8, max_iter=1, activation="relu")
