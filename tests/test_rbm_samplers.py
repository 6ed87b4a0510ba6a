"""The RBM's samplers beyond plain Gibbs chains, fast persistent contrastive
divergence (sampler="fpcd") and parallel tempering (sampler="pt"), and the
centred gradient (centering=True): against exact probabilities on models
small enough to enumerate, against the update rules taken step by step, and
through the estimator."""

import pickle

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from rbm_exact import kernel_config as _config
from skae import BernoulliRBM, GaussianBernoulliRBM
from skae._kernels import _rbm
from skae._kernels.runtime.record import ThreadRecord

GIBBS, FAST, TEMPERED = (_rbm.SAMPLERS[name] for name in ("gibbs", "fpcd", "pt"))
EMPTY = np.empty(0, dtype=np.intp)


def _states(n):
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def _exact_hidden_distribution(W, b_h, b_v):
    """P(h) of every hidden state: exp(b_h.h + sum softplus(h W + b_v)) / Z."""
    H = _states(W.shape[0])
    log_p = H @ b_h + np.logaddexp(0, H @ W + b_v).sum(axis=1)
    return np.exp(log_p - logsumexp(log_p))


def _random_model(seed, n_hidden=4, n_visible=6, scale=1.5):
    rng = np.random.default_rng(seed)
    W = rng.normal(scale=scale, size=(n_hidden, n_visible))
    return W, rng.normal(scale=0.5 * scale, size=n_hidden), -0.5 * W.sum(axis=0)


def _bimodal_model(n_hidden=4, n_visible=8):
    """Two modes (all units off, all on) of equal mass 0.48, separated by
    states of probability 0.004 at most: single-site Gibbs chains started in
    one mode take hundreds of steps to find the other."""
    W = np.full((n_hidden, n_visible), 1.5)
    return W, np.full(n_hidden, -0.75 * n_visible), np.full(n_visible, -0.75 * n_hidden)


def _run_chains(model, sampler, n_chains, n_updates, n_temperatures=1, k=1,
                fast_learning_rate=0.0, dtype=np.float64, seed=0, data=0.0):
    """n_updates updates on one data row (all ``data``) with learning rate 0
    (the model stays fixed; FPCD's fast weights still move), chains started at
    zero; the frequency of each hidden state among the temperature-1 chains
    afterwards."""
    W, b_h, b_v = (np.array(a, dtype=dtype) for a in model)
    n_hidden, n_visible = W.shape
    n_rows = n_chains * n_temperatures
    chains = np.zeros((n_rows, n_hidden), dtype=dtype)
    size = n_hidden * n_visible + n_hidden + n_visible
    config = _config(k=k, sampler=sampler, n_temperatures=n_temperatures,
                     fast_learning_rate=fast_learning_rate)
    work = np.empty(_rbm.workspace_size(n_visible, n_hidden, 1, n_rows, sampler), dtype)
    _rbm.train_pass(np.full(n_visible, data, dtype), EMPTY, EMPTY, False, n_visible,
                    np.zeros(n_updates, dtype=np.intp), 1, W, b_h, b_v, chains,
                    np.zeros(size, dtype), np.zeros(size, dtype), np.empty(0, dtype), config,
                    np.random.PCG64(seed), work, ThreadRecord())
    np.testing.assert_array_equal(W, np.asarray(model[0], dtype=dtype))
    codes = (chains[:n_chains] @ (2 ** np.arange(n_hidden))).astype(int)
    return np.bincount(codes, minlength=2**n_hidden) / n_chains


def _total_variation(p, q):
    return 0.5 * np.abs(p - q).sum()


# ------------------------------------------------------- exact distributions


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sampler, n_temperatures, fast_learning_rate", [
    (GIBBS, 1, 0.0), (TEMPERED, 4, 0.0), (FAST, 1, 1e-3)],
    ids=["gibbs", "pt", "fpcd"])
def test_chains_sample_the_exact_distribution(seed, dtype, sampler, n_temperatures,
                                              fast_learning_rate):
    # 20,000 chains after 200 updates: the sampling noise alone gives a total
    # variation of about sum sqrt(p (1 - p) / n) / 2 ~ 0.01 over 16 states.
    # FPCD's fast weights, at a small step, perturb the chains' model only
    # slightly (they settle near fast_learning_rate * gradient / (1 - 0.95)).
    model = _random_model(seed)
    exact = _exact_hidden_distribution(*model)
    got = _run_chains(model, sampler, 20000, 200, n_temperatures=n_temperatures,
                      fast_learning_rate=fast_learning_rate, dtype=dtype, seed=seed)
    assert _total_variation(got, exact) < 0.025


def test_tempering_mixes_between_modes_where_gibbs_chains_stay():
    # All chains start in the all-off mode. After 100 updates (one Gibbs step
    # each) plain chains have hardly begun to reach the other mode; tempered
    # chains, whose hot copies cross freely and swap down, are at equilibrium.
    model = _bimodal_model()
    exact = _exact_hidden_distribution(*model)
    gibbs = _run_chains(model, GIBBS, 5000, 100)
    tempered = _run_chains(model, TEMPERED, 5000, 100, n_temperatures=5)
    assert _total_variation(gibbs, exact) > 0.2
    assert _total_variation(tempered, exact) < 0.03


def test_fast_weights_push_the_chains_out_of_their_mode():
    # FPCD on the same model, the data in the all-on mode: the fast weights
    # take the gradient (data minus chains), which raises the other mode in
    # the chains' model, so chains started in the all-off mode reach the
    # all-on one sooner than plain chains do.
    model = _bimodal_model()
    n_hidden = model[0].shape[0]
    gibbs = _run_chains(model, GIBBS, 5000, 100, data=1.0)
    fast = _run_chains(model, FAST, 5000, 100, fast_learning_rate=0.05, data=1.0)
    on = 2**n_hidden - 1
    assert fast[on] > gibbs[on] + 0.1


def _exact_gradient(W, b_h, b_v, V, W_chain=None, b_h_chain=None, b_v_chain=None):
    """<h v>_data - <h v>_chains' model, exactly; the chains' model is the
    model itself unless given (FPCD's: the parameters plus the fast weights)."""
    W_c = W if W_chain is None else W_chain
    b_h_c = b_h if b_h_chain is None else b_h_chain
    b_v_c = b_v if b_v_chain is None else b_v_chain
    states = _states(W.shape[1])
    log_p = states @ b_v_c + np.logaddexp(0, states @ W_c.T + b_h_c).sum(axis=1)
    p = np.exp(log_p - logsumexp(log_p))
    h_data = expit(V @ W.T + b_h)
    h_model = expit(states @ W_c.T + b_h_c)
    return (h_data.T @ V / len(V) - (h_model * p[:, None]).T @ states,
            h_data.mean(axis=0) - p @ h_model, V.mean(axis=0) - p @ states)


@pytest.mark.parametrize("sampler", ["pt", "fpcd"])
def test_gradient_estimate_approaches_the_exact_gradient(sampler):
    rng = np.random.default_rng(4)
    W, b_h, b_v = _random_model(3, scale=0.7)
    V = (rng.uniform(size=(8, 6)) < 0.4).astype(float)
    n_chains, n_temperatures = 40000, 1
    config = _config(k=100, sampler=_rbm.SAMPLERS[sampler])
    fast = None
    if sampler == "pt":
        n_temperatures = 4
        config["n_temperatures"] = n_temperatures
        exact = _exact_gradient(W, b_h, b_v, V)
    else:
        # Fixed fast weights: the data's statistics under the model, the
        # chains' under the model plus the fast weights.
        fast = rng.normal(scale=0.3, size=W.size + b_h.size + b_v.size)
        n_w = W.size
        exact = _exact_gradient(W, b_h, b_v, V, W + fast[:n_w].reshape(W.shape),
                                b_h + fast[n_w:n_w + 4], b_v + fast[n_w + 4:])
    batch = np.repeat(V, n_chains // len(V), axis=0)
    chains = np.zeros((n_chains * n_temperatures, 4))
    got = _rbm.gradient(batch, W, b_h, b_v, chains, config, np.random.PCG64(0), fast)
    for g, e in zip(got, exact):
        np.testing.assert_allclose(g, e, atol=0.012)


# ------------------------------------------------------------- update rules


@pytest.mark.parametrize("sampler", ["pt", "fpcd"])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_training_pass_takes_the_sampler_steps(sampler, momentum):
    # The pass over 13 rows in minibatches of 5 (a short last one) equals
    # gradient() then the update rule, minibatch by minibatch; FPCD's fast
    # weights then take fast_decay * fast + fast_learning_rate * gradient.
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(13, 12)) < 0.4).astype(float)
    W = rng.normal(scale=0.3, size=(7, 12))
    b_h, b_v = rng.normal(size=7) * 0.1, rng.normal(size=12) * 0.1
    n_rows = 9 if sampler == "pt" else 5
    chains = (rng.uniform(size=(n_rows, 7)) < 0.5).astype(float)
    config = _config(k=2, learning_rate=0.1, momentum=momentum, weight_decay=0.01,
                     sampler=_rbm.SAMPLERS[sampler], n_temperatures=3,
                     fast_learning_rate=0.2)
    size = 7 * 12 + 7 + 12
    ref = [W.copy(), b_h.copy(), b_v.copy()]
    ref_chains, velocity = chains.copy(), [np.zeros_like(p) for p in ref]
    ref_fast = np.zeros(size)
    generator = np.random.PCG64(3)
    for start in range(0, 13, 5):
        grads = _rbm.gradient(X[start:start + 5], *ref, ref_chains, config, generator,
                              ref_fast.copy())
        for i, (param, grad) in enumerate(zip(ref, grads)):
            step = 0.1 * (grad - (0.01 * param if i == 0 else 0))
            velocity[i] = momentum * velocity[i] + step
            param += velocity[i]
        if sampler == "fpcd":
            ref_fast = 0.95 * ref_fast + 0.2 * np.concatenate([g.ravel() for g in grads])
    got = [W.copy(), b_h.copy(), b_v.copy()]
    got_chains, got_fast = chains.copy(), np.zeros(size)
    work = np.empty(_rbm.workspace_size(12, 7, 5, n_rows, config["sampler"]))
    _rbm.train_pass(X.ravel(), EMPTY, EMPTY, False, 12, np.arange(13, dtype=np.intp), 5,
                    *got, got_chains, np.zeros(size), got_fast, np.empty(0), config,
                    np.random.PCG64(3), work, ThreadRecord())
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got_chains, ref_chains)
    np.testing.assert_allclose(got_fast, ref_fast, rtol=1e-12, atol=1e-14)
    if sampler == "fpcd":
        assert np.abs(got_fast).max() > 0.01


@pytest.mark.parametrize("sampler", ["gibbs", "pt"])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_centering_takes_the_centred_steps(sampler, momentum):
    # The plain gradient g from gradient(), centred with the offsets mu (the
    # data's mean) and lambda: dW = g_W - lambda g_v.T - g_h mu.T, db_v = g_v
    # - dW.T lambda, db_h = g_h - dW mu; then lambda slides towards the mean
    # P(h | v) of the minibatch at the offset rate.
    rng = np.random.default_rng(1)
    X = (rng.uniform(size=(13, 12)) < 0.4).astype(float)
    W = rng.normal(scale=0.3, size=(7, 12))
    b_h, b_v = rng.normal(size=7) * 0.1, rng.normal(size=12) * 0.1
    n_rows = 10 if sampler == "pt" else 5
    chains = (rng.uniform(size=(n_rows, 7)) < 0.5).astype(float)
    plain = _config(k=1, learning_rate=0.1, momentum=momentum, weight_decay=0.01,
                    sampler=_rbm.SAMPLERS[sampler], n_temperatures=2, offset_rate=0.2)
    offsets = np.concatenate([X.mean(axis=0), rng.uniform(size=7)])
    size = 7 * 12 + 7 + 12
    ref = [W.copy(), b_h.copy(), b_v.copy()]
    ref_chains, velocity = chains.copy(), [np.zeros_like(p) for p in ref]
    mu, lam = offsets[:12].copy(), offsets[12:].copy()
    generator = np.random.PCG64(3)
    for start in range(0, 13, 5):
        batch = X[start:start + 5]
        h_data = expit(batch @ ref[0].T + ref[1])
        g_W, g_h, g_v = _rbm.gradient(batch, *ref, ref_chains, plain, generator)
        d_W = g_W - np.outer(lam, g_v) - np.outer(g_h, mu)
        steps = (d_W, g_h - d_W @ mu, g_v - d_W.T @ lam)
        for i, (param, grad) in enumerate(zip(ref, steps)):
            velocity[i] = momentum * velocity[i] + 0.1 * (
                grad - (0.01 * param if i == 0 else 0))
            param += velocity[i]
        lam = 0.8 * lam + 0.2 * h_data.mean(axis=0)
    got = [W.copy(), b_h.copy(), b_v.copy()]
    got_chains, got_offsets = chains.copy(), offsets.copy()
    work = np.empty(_rbm.workspace_size(12, 7, 5, n_rows, plain["sampler"]))
    _rbm.train_pass(X.ravel(), EMPTY, EMPTY, False, 12, np.arange(13, dtype=np.intp), 5,
                    *got, got_chains, np.zeros(size), np.empty(0), got_offsets,
                    dict(plain, centering=True), np.random.PCG64(3), work,
                    ThreadRecord())
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got_chains, ref_chains)
    np.testing.assert_allclose(got_offsets, np.concatenate([mu, lam]), rtol=1e-12)


def test_kernel_refuses_what_a_sampler_cannot_run():
    W, b_h, b_v = (np.array(a) for a in _random_model(0))
    V = np.zeros((2, 6))
    with pytest.raises(ValueError, match="persistent"):
        _rbm.gradient(V, W, b_h, b_v, np.zeros((2, 4)),
                      _config(sampler=TEMPERED, n_temperatures=2, persistent=False),
                      np.random.PCG64(0))
    with pytest.raises(ValueError, match="temperature blocks"):
        _rbm.gradient(V, W, b_h, b_v, np.zeros((5, 4)),
                      _config(sampler=TEMPERED, n_temperatures=2), np.random.PCG64(0))
    with pytest.raises(ValueError, match="Bernoulli"):
        _rbm.gradient(V, W, b_h, b_v, np.zeros((4, 4)),
                      _config(sampler=TEMPERED, n_temperatures=2, visible=1),
                      np.random.PCG64(0))
    with pytest.raises(ValueError, match="fast weights"):
        _rbm.gradient(V, W, b_h, b_v, np.zeros((2, 4)), _config(sampler=FAST),
                      np.random.PCG64(0), np.zeros(3))
    with pytest.raises(ValueError, match="sampler"):
        _rbm.gradient(V, W, b_h, b_v, np.zeros((2, 4)), _config(sampler=7),
                      np.random.PCG64(0))
    with pytest.raises(ValueError, match="offsets"):
        _rbm.train_pass(V.ravel(), EMPTY, EMPTY, False, 6, np.arange(2, dtype=np.intp),
                        2, W, b_h, b_v, np.zeros((2, 4)), np.zeros(34), np.empty(0),
                        np.zeros(3), _config(centering=True), np.random.PCG64(0),
                        np.empty(_rbm.workspace_size(6, 4, 2, 2)), ThreadRecord())


# ---------------------------------------------------------------- estimator


@pytest.fixture(scope="module")
def X_digits():
    return load_digits().data[:400] / 16.0


SAMPLER_PARAMS = [dict(sampler="fpcd"), dict(sampler="pt", n_temperatures=3),
                  dict(sampler="gibbs", n_chains=25, centering=True)]


@pytest.mark.parametrize("params", SAMPLER_PARAMS, ids=lambda p: p["sampler"])
def test_samplers_are_repeatable_and_thread_independent(X_digits, params):
    params = dict(params, n_components=32, n_iter=2, batch_size=20, k=2,
                  momentum=0.5, random_state=0)
    with threadpool_limits(1):
        one = BernoulliRBM(**params).fit(X_digits)
    again = BernoulliRBM(**params).fit(X_digits)
    with threadpool_limits(2):
        two = BernoulliRBM(**params).fit(X_digits)
    for other in (again, two):
        np.testing.assert_array_equal(one.components_, other.components_)
        np.testing.assert_array_equal(one.h_samples_, other.h_samples_)


def test_chain_counts_follow_n_chains_and_temperatures(X_digits):
    rbm = BernoulliRBM(n_components=8, n_iter=1, batch_size=10, random_state=0)
    assert rbm.fit(X_digits).h_samples_.shape == (10, 8)
    rbm.set_params(sampler="pt", n_temperatures=4, n_chains=6)
    assert rbm.fit(X_digits).h_samples_.shape == (24, 8)
    # partial_fit with other temperatures starts new chains at zero.
    rbm.set_params(n_temperatures=2)
    assert rbm.partial_fit(X_digits[:5]).h_samples_.shape == (12, 8)
    # Without n_chains, plain chains keep their count as scikit-learn's do.
    rbm.set_params(sampler="gibbs", n_chains=None, batch_size=3)
    assert rbm.partial_fit(X_digits[:5]).h_samples_.shape == (12, 8)


def test_fpcd_keeps_its_fast_weights_across_partial_fit_and_pickling(X_digits):
    rbm = BernoulliRBM(n_components=8, sampler="fpcd", random_state=0)
    rbm.partial_fit(X_digits[:50])
    fast = rbm._fast_weights.copy()
    assert np.abs(fast).max() > 0
    copy = pickle.loads(pickle.dumps(rbm))
    np.testing.assert_array_equal(copy._fast_weights, fast)
    rbm.partial_fit(X_digits[50:100])
    copy.partial_fit(X_digits[50:100])
    np.testing.assert_array_equal(rbm.components_, copy.components_)
    # fit starts again from zero fast weights: a refit equals a fresh fit.
    refit = clone(rbm).set_params(n_iter=2).fit(X_digits)
    fresh = BernoulliRBM(**refit.get_params()).fit(X_digits)
    np.testing.assert_array_equal(refit.components_, fresh.components_)


def test_samplers_refuse_what_they_cannot_run(X_digits):
    with pytest.raises(ValueError, match="persistent=True"):
        BernoulliRBM(sampler="pt", persistent=False).fit(X_digits)
    with pytest.raises(ValueError, match="binary units"):
        GaussianBernoulliRBM(sampler="pt").fit(X_digits)
    with pytest.raises(ValueError, match="sampler"):
        BernoulliRBM(sampler="tempering").fit(X_digits)
    with pytest.raises(ValueError, match="n_temperatures"):
        BernoulliRBM(sampler="pt", n_temperatures=1).fit(X_digits)
    # A failed call leaves a fitted model as it was.
    rbm = BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X_digits)
    before = rbm.components_.copy()
    rbm.set_params(sampler="pt", persistent=False)
    with pytest.raises(ValueError):
        rbm.partial_fit(X_digits)
    np.testing.assert_array_equal(rbm.components_, before)


def test_gaussian_visible_units_train_with_fast_weights():
    X = load_digits().data[:300]
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1)
    rbm = GaussianBernoulliRBM(n_components=16, sampler="fpcd", n_iter=3,
                               random_state=0).fit(X)
    assert np.isfinite(rbm.components_).all()
    assert np.abs(rbm._fast_weights).max() > 0
