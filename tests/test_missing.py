"""Missing entries (missing="nan" / "unstored") and the Huber loss.

Gradients by central differences in float64 through the kernel's own mask
(the one a training pass builds from the input), dense and CSR; the gradient
of an unobserved entry's reconstruction is exactly zero; training, scoring
and bad input through the estimators.
"""

import itertools
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from skae import (
    AutoencoderTransformer,
    DenoisingAE,
    SparseAE,
    StackedAE,
    VariationalAE,
)
from skae._core.common import kernel_input
from skae._kernels import _network
from classic import classic

# The fits here train a few epochs on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _setup(n_features, seed, **params):
    est = classic(AutoencoderTransformer, n_components=3, hidden_layer_sizes=(4,),
                                 activation="tanh", alpha=0.01, **params)
    layers, n_params = est._layer_table(n_features)
    rng = np.random.default_rng(seed)
    return est, layers, rng.normal(scale=0.5, size=n_params)


def _with_missing(n_rows, n_features, seed, how, share=0.3):
    """Data with a share of entries missing: NaN (dense or CSR storing NaN),
    or unstored (CSR of positive values)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.05, 1, size=(n_rows, n_features))
    hidden = rng.uniform(size=X.shape) < share
    if how == "unstored":
        return sp.csr_matrix(np.where(hidden, 0, X)), hidden
    X[hidden] = np.nan
    return (sp.csr_matrix(X) if how == "nan-csr" else X), hidden


def _objective(est, layers, params, X, fill, mask=None, target=None):
    grad = np.empty_like(params)
    work = np.empty(_network.workspace_size(layers, X.shape[0], params.size, True))
    value = _network.loss_and_gradient(
        *kernel_input(X), params, layers, est._kernel_config(),
        np.zeros(est.n_components + 1), np.random.PCG64(0), grad, work, target, mask,
        fill,
    )
    return value, grad


def _numeric_gradient(est, layers, params, X, fill, eps=1e-6):
    numeric = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += eps
        up = _objective(est, layers, p, X, fill)[0]
        p[i] -= 2 * eps
        numeric[i] = (up - _objective(est, layers, p, X, fill)[0]) / (2 * eps)
    return numeric


CASES = list(itertools.product(
    ["squared_error", "binary_crossentropy", "huber"],
    ["nan", "nan-csr", "unstored"],
    [False, True],  # tied weights
))


@pytest.mark.parametrize("loss, how, tied", CASES)
def test_masked_gradient_matches_central_differences(loss, how, tied):
    missing = "unstored" if how == "unstored" else "nan"
    est, layers, params = _setup(6, 0, loss=loss, missing=missing, tied_weights=tied,
                                 huber_delta=0.2)
    X, _ = _with_missing(9, 6, 1, how)
    fill = np.linspace(0.1, 0.6, 6) if missing == "nan" else None
    value, grad = _objective(est, layers, params, X, fill)
    assert np.isfinite(value) and np.isfinite(grad).all()
    numeric = _numeric_gradient(est, layers, params, X, fill)
    assert np.linalg.norm(grad - numeric) / np.linalg.norm(numeric) < 1e-6


@pytest.mark.parametrize("loss", ["squared_error", "binary_crossentropy", "huber"])
def test_the_kernels_mask_is_the_observed_entries(loss):
    # The mask the kernel builds from NaN equals an explicit mask over the
    # filled input: same objective and gradient, bit for bit.
    est, layers, params = _setup(6, 2, loss=loss, missing="nan")
    X, hidden = _with_missing(8, 6, 3, "nan")
    fill = np.full(6, 0.25)
    filled = np.where(hidden, 0.25, X)
    value, grad = _objective(est, layers, params, X, fill)
    plain = clone(est).set_params(missing=None)
    expected = _objective(plain, layers, params, filled, None,
                          mask=(~hidden).astype(float), target=filled)
    assert value == expected[0]
    np.testing.assert_array_equal(grad, expected[1])


@pytest.mark.parametrize("loss", ["squared_error", "binary_crossentropy", "huber"])
@pytest.mark.parametrize("how", ["nan", "unstored"])
def test_an_unobserved_entrys_reconstruction_has_zero_gradient(loss, how):
    # Output unit j only reconstructs column j: with column 2 missing in every
    # row, its bias and the weights into it get a gradient of exactly zero
    # (alpha=0: no L2 term), and any value of the other entries still counts.
    missing = "unstored" if how == "unstored" else "nan"
    est, layers, params = _setup(6, 4, loss=loss, missing=missing)
    est.set_params(alpha=0.0)
    X, _ = _with_missing(10, 6, 5, how, share=0.2)
    X = X.toarray() if sp.issparse(X) else X
    X[:, 2] = 0 if how == "unstored" else np.nan
    X = sp.csr_matrix(X) if how == "unstored" else X
    _, grad = _objective(est, layers, params, X, None)
    out = layers[-1]
    col = {name: i for i, name in enumerate(_network.LAYER_COLUMNS)}
    n_in, n_out = out[col["n_in"]], out[col["n_out"]]
    W = grad[out[col["w_offset"]]:out[col["w_offset"]] + n_in * n_out].reshape(n_in, n_out)
    b = grad[out[col["b_offset"]]:out[col["b_offset"]] + n_out]
    assert b[2] == 0 and np.all(W[:, 2] == 0)
    assert np.all(b[[0, 1, 3, 4, 5]] != 0)


def test_huber_is_the_squared_error_on_small_errors_and_linear_beyond():
    est, layers, params = _setup(5, 6, loss="huber", huber_delta=100.0)
    X = np.random.default_rng(7).uniform(size=(6, 5))
    squared = clone(est).set_params(loss="squared_error")
    np.testing.assert_allclose(_objective(est, layers, params, X, None)[0],
                               _objective(squared, layers, params, X, None)[0],
                               rtol=1e-12)
    # Beyond delta one outlier adds delta * (2|e| - delta), linear in |e|
    # (the target moves, the input and so the reconstruction stay).
    est.set_params(huber_delta=0.5, alpha=0.0)
    Y = X.copy()
    values = []
    for shift in (10.0, 20.0, 30.0):
        Y[0, 0] = X[0, 0] + shift
        values.append(_objective(est, layers, params, X, None, target=Y)[0])
    assert values[2] - values[1] == pytest.approx(values[1] - values[0], rel=1e-9)
    assert values[1] - values[0] == pytest.approx(2 * 0.5 * 10 / 6, rel=1e-9)


def test_huber_resists_outliers_in_the_training_set():
    # Low-rank data with a few gross errors: the Huber fit reconstructs the
    # clean rows better than the squared error fit, which bends towards them.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 12))
    X /= X.std()
    dirty = X.copy()
    rows = rng.choice(400, 20, replace=False)
    dirty[rows] += rng.normal(scale=15, size=(20, 12))
    clean = np.setdiff1d(np.arange(400), rows)
    errors = {}
    for loss in ("squared_error", "huber"):
        ae = classic(AutoencoderTransformer, 3, activation="identity", loss=loss, huber_delta=0.5,
                                    max_iter=150, learning_rate_init=0.01,
                                    random_state=0).fit(dirty)
        R = ae.inverse_transform(ae.transform(X[clean]))
        errors[loss] = np.mean((R - X[clean]) ** 2)
    assert errors["huber"] < 0.5 * errors["squared_error"]


# ----------------------------------------------------------------- estimators


def _digits_with_nan(share=0.3, seed=0):
    from sklearn.datasets import load_digits

    X = load_digits().data[:600] / 16
    hidden = np.random.default_rng(seed).uniform(size=X.shape) < share
    return X, np.where(hidden, np.nan, X), hidden


@pytest.mark.parametrize("Estimator, params", [
    (AutoencoderTransformer, {}),
    (DenoisingAE, {"noise_level": 0.2}),
    (SparseAE, {}),
    (StackedAE, {"hidden_layer_sizes": (32,), "pretraining": "denoising"}),
    (VariationalAE, {"hidden_layer_sizes": (32,)}),
])
def test_every_dense_autoencoder_trains_on_observed_entries(Estimator, params):
    X, Xm, hidden = _digits_with_nan()
    est = Estimator(n_components=8, missing="nan", max_iter=40, random_state=0,
                    **params)
    est.fit(Xm)
    assert np.isfinite(est._params).all()
    np.testing.assert_allclose(est.input_fill_, np.nanmean(Xm, axis=0), rtol=1e-6)
    scores = est.score_samples(Xm)
    assert np.isfinite(scores).all()
    # Filling a sample's missing entries with other values changes nothing.
    other = np.where(hidden, 0.123, X)
    np.testing.assert_array_equal(est.transform(Xm), est.transform(
        np.where(hidden, np.nan, other)))
    if Estimator is VariationalAE:
        assert np.isfinite(est.log_likelihood(Xm[:5], n_samples=20)).all()


def test_missing_entries_are_reconstructed_better_than_the_mean():
    X, Xm, hidden = _digits_with_nan()
    # The shape that imputes well (an overcomplete ReLU network that hides
    # half the observed entries; see AutoencoderImputer).
    ae = classic(DenoisingAE, n_components=64, hidden_layer_sizes=(256,), activation="relu",
                     missing="nan", noise_level=0.5, alpha=1e-2, batch_size=32,
                     max_iter=150, random_state=0).fit(Xm)
    R = ae.inverse_transform(ae.transform(Xm))
    mean = np.broadcast_to(ae.input_fill_, X.shape)
    assert np.sqrt(np.mean((R[hidden] - X[hidden]) ** 2)) < 0.85 * np.sqrt(
        np.mean((mean[hidden] - X[hidden]) ** 2))


def test_score_samples_compares_rows_by_their_observed_entries():
    X, Xm, _ = _digits_with_nan()
    ae = classic(AutoencoderTransformer, 8, missing="nan", max_iter=20, random_state=0).fit(Xm)
    full = classic(AutoencoderTransformer, 8, max_iter=1)
    full.__dict__.update({k: v for k, v in ae.__dict__.items() if k != "missing"})
    full._missing = None
    complete = X[:5]
    # A complete row scores as without missing entries.
    np.testing.assert_allclose(ae.score_samples(complete), full.score_samples(complete),
                               rtol=1e-12)
    # A row with half its entries missing: its observed entries' loss, scaled.
    row = complete[:1].copy()
    gone = np.arange(64) % 2 == 0
    row[0, gone] = np.nan
    filled = np.where(np.isnan(row), ae.input_fill_, row)
    R = ae.inverse_transform(ae.transform(row))
    expected = -np.sum((R - filled)[0, ~gone] ** 2) * 64 / (~gone).sum()
    assert ae.score_samples(row)[0] == pytest.approx(expected, rel=1e-9)
    nothing = np.full((1, 64), np.nan)
    assert ae.score_samples(nothing)[0] == 0


def test_unstored_entries_of_a_ratings_matrix_are_missing():
    X, _ = _with_missing(200, 30, 0, "unstored", share=0.8)
    ae = classic(AutoencoderTransformer, 5, missing="unstored", max_iter=20,
                                random_state=0).fit(X)
    assert ae.input_fill_ is None
    dense_zero_as_observed = classic(AutoencoderTransformer, 5, max_iter=20, random_state=0)
    dense_zero_as_observed.fit(X)
    # The missing-aware model's reconstruction of the stored entries is better
    # judged on them alone; a model that counts zeros learns zeros.
    R = ae.inverse_transform(ae.transform(X))
    R0 = dense_zero_as_observed.inverse_transform(dense_zero_as_observed.transform(X))
    stored = X.toarray() != 0
    target = X.toarray()[stored]
    assert np.mean((R[stored] - target) ** 2) < np.mean((R0[stored] - target) ** 2)


@pytest.mark.parametrize("missing", ["nan", "unstored"])
def test_missing_is_deterministic_and_float32_end_to_end(missing):
    if missing == "nan":
        _, X, _ = _digits_with_nan()
    else:
        X, _ = _with_missing(300, 20, 0, "unstored")
    X = X.astype(np.float32)
    fits = [classic(DenoisingAE, 6, missing=missing, max_iter=5, random_state=3).fit(X)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0]._params, fits[1]._params)
    assert fits[0]._params.dtype == np.float32
    assert fits[0].transform(X).dtype == np.float32
    assert fits[0].score_samples(X).dtype == np.float32
    again = pickle.loads(pickle.dumps(fits[0]))
    np.testing.assert_array_equal(again.transform(X), fits[0].transform(X))


def test_bad_input_for_missing_entries_is_refused_clearly():
    X, _ = _with_missing(50, 8, 0, "unstored")
    with pytest.raises(TypeError, match="needs a CSR matrix"):
        classic(AutoencoderTransformer, 3, missing="unstored").fit(X.toarray())
    zeros = X.copy()
    zeros.data[:3] = 0
    with pytest.raises(ValueError, match="stored zeros.*eliminate_zeros"):
        classic(AutoencoderTransformer, 3, missing="unstored").fit(zeros)
    nan = X.copy()
    nan.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN among the stored"):
        classic(AutoencoderTransformer, 3, missing="unstored").fit(nan)
    _, Xm, _ = _digits_with_nan()
    with pytest.raises(ValueError, match="NaN"):
        classic(AutoencoderTransformer, 3).fit(Xm)
    with pytest.raises(ValueError, match="pretraining='rbm' cannot read missing"):
        classic(StackedAE, 3, missing="nan", pretraining="rbm").fit(Xm)
    with pytest.raises(ValueError, match="huber_delta"):
        classic(AutoencoderTransformer, 3, loss="huber", huber_delta=0).fit(X.toarray())


def test_a_failed_call_leaves_the_fitted_model_as_it_was():
    _, Xm, _ = _digits_with_nan()
    ae = classic(AutoencoderTransformer, 4, missing="nan", max_iter=3, random_state=0).fit(Xm)
    before = ae._params.copy(), ae.input_fill_.copy(), list(ae.loss_curve_)
    ae.set_params(missing=None)
    with pytest.raises(ValueError, match="changed since the model was fitted"):
        ae.partial_fit(Xm)
    ae.set_params(missing="nan")
    with pytest.raises(ValueError):
        ae.partial_fit(np.full((3, 64), np.inf))
    with pytest.raises(ValueError, match="features"):
        ae.partial_fit(Xm[:, :10])
    np.testing.assert_array_equal(ae._params, before[0])
    np.testing.assert_array_equal(ae.input_fill_, before[1])
    assert ae.loss_curve_ == before[2]
    ae.partial_fit(Xm)  # and it still trains


def test_training_and_scoring_fill_missing_entries_alike():
    # One epoch at a vanishing learning rate reports the mean objective of the
    # initial network, which score_samples computes through the inference
    # path: the two agree only if both fill missing entries with input_fill_.
    _, Xm, hidden = _digits_with_nan()
    ae = classic(AutoencoderTransformer, 8, missing="nan", learning_rate_init=1e-300, alpha=0.0,
                                max_iter=1, shuffle=False, random_state=0)
    ae.partial_fit(Xm)
    observed = (~hidden).sum(axis=1)
    row_losses = -ae.score_samples(Xm) * observed / Xm.shape[1]
    assert ae.loss_curve_[0] == pytest.approx(row_losses.mean(), rel=1e-9)


def test_missing_fill_sets_the_value_missing_entries_enter_as():
    # "mean" fills each feature's observed mean; given values are used as
    # they are (AutoencoderImputer passes its initial_strategy's this way),
    # copied, and checked against the data at fit, leaving a fitted model
    # as it was when refused.
    _, Xm, _ = _digits_with_nan()
    mean = classic(AutoencoderTransformer, 4, missing="nan", max_iter=2,
                   random_state=0).fit(Xm)
    np.testing.assert_allclose(mean.input_fill_, np.nan_to_num(np.nanmean(Xm, axis=0)))
    fill = np.linspace(0, 1, Xm.shape[1])
    given = classic(AutoencoderTransformer, 4, missing="nan", missing_fill=fill,
                    max_iter=2, random_state=0).fit(Xm)
    np.testing.assert_array_equal(given.input_fill_, fill)
    fill[:] = 7
    assert given.input_fill_[0] == 0
    assert not np.array_equal(given.transform(Xm), mean.transform(Xm))
    before = given._params.copy()
    for bad, match in [(np.zeros(3), r"64 finite values.*shape \(3,\)"),
                       (np.full(64, np.nan), "with NaN or infinity")]:
        with pytest.raises(ValueError, match=match):
            clone(given).set_params(missing_fill=bad).fit(Xm)
    with pytest.raises(ValueError, match="missing_fill"):
        given.set_params(missing_fill="median").fit(Xm)
    np.testing.assert_array_equal(given._params, before)
