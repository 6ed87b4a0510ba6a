"""VariationalAE: gradients against central differences, the importance-weighted
estimate against an exact log-likelihood, determinism, and its contract."""

import itertools
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skae import VariationalAE
from skae._core.common import kernel_input
from skae._kernels import _network

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _model(n_features, seed=0, **params):
    """A VariationalAE's layer table and random parameters (biases included)."""
    est = VariationalAE(**{"loss": "binary_crossentropy", **params})
    layers, n_params = est._layer_table(n_features)
    params = np.random.default_rng(seed).normal(scale=0.5, size=n_params)
    return est, layers, params


def _objective(est, layers, params, X, seed=0, beta=None):
    """Objective and gradient, the noise drawn afresh from PCG64(seed): the same
    draws at every call, as a gradient check needs."""
    grad = np.empty_like(params)
    work = np.empty(_network.workspace_size(layers, X.shape[0], params.size, True))
    config = est._kernel_config()
    if beta is not None:
        config["latent"] = {"beta": beta}
    value = _network.loss_and_gradient(
        *kernel_input(X), params, layers, config, np.zeros(est.n_components + 1),
        np.random.PCG64(seed), grad, work,
    )
    return value, grad


def _data(n_samples, n_features, seed, sparse):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < 0.3] = 0
    return sp.csr_matrix(X) if sparse else X


GRADIENT_CASES = list(itertools.product(
    [(), (4,)],                                  # depth 1 and 2
    [False, True],                               # tied weights
    ["binary_crossentropy", "squared_error"],    # Bernoulli and Gaussian decoders
    [False, True],                               # CSR input
    [1.0, 0.3],                                  # the KL's weight
))


@pytest.mark.parametrize("hidden, tied, loss, sparse, beta", GRADIENT_CASES)
def test_gradient_matches_central_differences(hidden, tied, loss, sparse, beta):
    # Both heads, the sampling layer's KL and reparameterisation, both decoders.
    est, layers, params = _model(6, n_components=2, hidden_layer_sizes=hidden,
                                 activation="tanh", loss=loss, tied_weights=tied,
                                 alpha=0.01, beta=beta)
    X = _data(7, 6, seed=1, sparse=sparse)
    value, grad = _objective(est, layers, params, X)
    assert np.isfinite(value)
    numeric = np.empty_like(params)
    eps = 1e-6
    for i in range(params.size):
        p = params.copy()
        p[i] += eps
        up = _objective(est, layers, p, X)[0]
        p[i] -= 2 * eps
        numeric[i] = (up - _objective(est, layers, p, X)[0]) / (2 * eps)
    error = np.linalg.norm(grad - numeric) / np.linalg.norm(numeric)
    assert error < 1e-6


@pytest.mark.parametrize("hidden", [(), (4,)])
def test_kl_term_is_the_closed_form(hidden):
    # With the same draws, the objectives at beta = 1 and beta = 0 differ by
    # the mean KL(q(z|x) || N(0, I)), computed here from the heads' outputs.
    est, layers, params = _model(6, n_components=3, hidden_layer_sizes=hidden,
                                 activation="tanh")
    X = _data(9, 6, seed=2, sparse=False)
    with_kl, _ = _objective(est, layers, params, X, beta=1.0)
    without, _ = _objective(est, layers, params, X, beta=0.0)
    est._layers, est._params = layers, params
    est._missing, est.input_fill_, est._huber_delta = None, None, 1.0
    heads = est._activations(X, 0, len(hidden))
    mu, log_var = heads[:, :3], heads[:, 3:]
    kl = 0.5 * (mu**2 + np.exp(log_var) - 1 - log_var).sum(axis=1)
    assert with_kl - without == pytest.approx(kl.mean(), rel=1e-10)


def _binary_patterns(n, seed=0):
    """Rows of a few noisy 8-pixel patterns: data a 1-d code can explain."""
    rng = np.random.default_rng(seed)
    prototypes = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1],
                           [1, 0, 1, 0, 1, 0, 1, 0]], dtype=float)
    X = prototypes[rng.integers(0, 3, size=n)]
    flips = rng.uniform(size=X.shape) < 0.05
    return np.abs(X - flips)


def _exact_log_likelihood(vae, X):
    """log p(x) = log of the integral of p(x|z) N(z; 0, 1) dz, for a model with
    one latent variable, by the trapezoid rule on a fine grid."""
    z = np.linspace(-10, 10, 20001)
    probs = vae.inverse_transform(z[:, None])
    probs = np.clip(probs, 1e-300, 1 - 1e-16)
    log_px_z = X @ np.log(probs).T + (1 - X) @ np.log1p(-probs).T   # (n, grid)
    log_prior = -0.5 * z**2 - 0.5 * np.log(2 * np.pi)
    log_weights = np.log(np.full(z.size, z[1] - z[0]))
    log_weights[[0, -1]] -= np.log(2)
    return logsumexp(log_px_z + log_prior + log_weights, axis=1)


def test_importance_weighted_estimate_matches_the_exact_likelihood():
    X = _binary_patterns(400)
    vae = VariationalAE(n_components=1, hidden_layer_sizes=(16,), activation="tanh",
                        max_iter=150, batch_size=32, learning_rate_init=3e-3,
                        random_state=0).fit(X)
    rows = X[:200]
    exact = _exact_log_likelihood(vae, rows)
    means = {s: vae.log_likelihood(rows, n_samples=s, random_state=1).mean()
             for s in (1, 10, 5000)}
    # A lower bound that tightens as samples are added: here by 0.04 nats from
    # 1 to 10 samples, then by less than the estimates' noise ...
    assert means[1] < means[10] - 0.02 and means[1] < means[5000] - 0.02
    assert max(means.values()) <= exact.mean() + 0.01
    # ... and reaches the exact value (Burda et al., 2016), within 0.05 nats.
    # Single rows whose posterior q misses a mode converge more slowly.
    assert means[5000] == pytest.approx(exact.mean(), abs=0.05)
    # One sample is an unbiased estimate of the ELBO, which score_samples draws
    # once: their means over many rows agree.
    many = _binary_patterns(4000, seed=5)
    assert vae.log_likelihood(many, n_samples=1).mean() == pytest.approx(
        vae.score_samples(many).mean(), abs=0.05)


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16


def _fit(X, **params):
    defaults = {"n_components": 4, "hidden_layer_sizes": (16,), "max_iter": 3,
                "batch_size": 16, "random_state": 0}
    return VariationalAE(**{**defaults, **params}).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_seed_identical_and_thread_counts_agree(digits, dtype):
    X = digits.astype(dtype)
    a = _fit(X)
    b = _fit(X)
    with threadpool_limits(1):
        c = _fit(X)
    assert_array_equal(a._params, b._params)
    assert_array_equal(a._params, c._params)
    assert a._params.dtype == dtype and a.transform(X).dtype == dtype
    assert a.sample(2, random_state=0).dtype == dtype
    d = _fit(sp.csr_matrix(X))
    assert_array_equal(a._params, d._params)


def test_sample_repeats_with_a_seed_and_draws_from_the_prior(digits):
    vae = _fit(digits)
    assert_array_equal(vae.sample(5, random_state=3), vae.sample(5, random_state=3))
    assert not np.array_equal(vae.sample(5, random_state=3), vae.sample(5, random_state=4))
    Z = np.random.RandomState(3).standard_normal((5, 4))
    assert_array_equal(vae.sample(5, random_state=3), vae.inverse_transform(Z))
    samples = vae.sample(50, random_state=0)
    assert samples.shape == (50, 64) and ((samples >= 0) & (samples <= 1)).all()


def test_scores_depend_on_the_rows_alone(digits):
    vae = _fit(digits)
    scores = vae.score_samples(digits[:50])
    assert_array_equal(scores, vae.score_samples(digits[:50]))
    assert_array_equal(scores[::-1], vae.score_samples(digits[:50][::-1]))
    assert_array_equal(vae.log_likelihood(digits[:20], n_samples=30),
                       vae.log_likelihood(digits[:20][::-1], n_samples=30)[::-1])
    assert vae.score(digits[:50]) == pytest.approx(scores.mean())


def test_transform_is_the_posterior_mean(digits):
    vae = _fit(digits, hidden_layer_sizes=())
    heads = digits @ vae.coefs_[0] + vae.intercepts_[0]
    np.testing.assert_allclose(vae.transform(digits), heads[:, :4], rtol=1e-10)
    assert vae.get_feature_names_out().tolist() == [f"variationalae{i}" for i in range(4)]


def test_kl_warmup_ramps_the_weight(digits):
    plain = _fit(digits, max_iter=1)
    warm = _fit(digits, max_iter=1, kl_warmup=10)
    # The first epoch trains with a tenth of the KL: a smaller objective.
    assert warm.loss_curve_[0] < plain.loss_curve_[0]
    assert warm._epoch_config(warm._kernel_config())["latent"]["beta"] == pytest.approx(0.2)


def test_early_stopping_on_the_validation_elbo(digits):
    vae = _fit(digits, early_stopping=True, max_iter=20, n_iter_no_change=2)
    assert len(vae.validation_scores_) == vae.n_iter_
    assert vae.best_validation_score_ == max(vae.validation_scores_)


def test_pickle_and_warm_start(digits):
    vae = _fit(digits)
    restored = pickle.loads(pickle.dumps(vae))
    assert_array_equal(restored.transform(digits), vae.transform(digits))
    vae.set_params(warm_start=True, max_iter=1).fit(digits)
    assert vae.n_iter_ == 4


@pytest.mark.parametrize("params, match", [
    ({"beta": -1.0}, "beta"),
    ({"kl_warmup": -1}, "kl_warmup"),
    ({"n_components": 0}, "n_components"),
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"loss": "poisson"}, "loss"),
])
def test_bad_parameters_get_clear_errors(digits, params, match):
    with pytest.raises(ValueError, match=match):
        VariationalAE(**params).fit(digits)


def test_bad_calls_get_clear_errors(digits):
    vae = _fit(digits)
    with pytest.raises(ValueError, match="n_samples"):
        vae.sample(-1)
    with pytest.raises(ValueError, match="n_samples"):
        vae.log_likelihood(digits, n_samples=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        VariationalAE(loss="binary_crossentropy").fit(digits * 16)
    with pytest.raises(ValueError, match="features"):
        vae.inverse_transform(np.zeros((2, 5)))


def test_a_diverging_run_stops_and_keeps_the_model(digits):
    vae = _fit(digits)
    before = vae._params.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="diverged"):
            vae.set_params(learning_rate_init=1e6, solver="sgd").partial_fit(digits)
    assert_array_equal(vae._params, before)
    assert np.isfinite(vae.transform(digits)).all()


def test_auto_loss_chooses_the_decoder_from_the_data(digits):
    """VariationalAE() takes any data, as every other default estimator does:
    the Bernoulli decoder for values in [0, 1], the Gaussian one otherwise;
    the choice stays with the fitted model."""
    small = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    bernoulli = VariationalAE(**small).fit(digits)
    gaussian = VariationalAE(**small).fit(digits * 16 - 3)
    assert bernoulli._loss == "binary_crossentropy" and gaussian._loss == "squared_error"
    assert bernoulli.loss == gaussian.loss == "auto"
    assert np.all((bernoulli.inverse_transform(bernoulli.transform(digits)) >= 0))
    explicit = VariationalAE(**small, loss="squared_error").fit(digits * 16 - 3)
    np.testing.assert_array_equal(gaussian._params, explicit._params)
    # partial_fit continues with the fitted decoder, whatever the new batch holds.
    bernoulli.partial_fit(digits[:10])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bernoulli.partial_fit(digits[:10] * 16)
