"""BernoulliRBM and GaussianBernoulliRBM: samplers against exact probabilities on
models small enough to enumerate, AIS against exact partition functions, the
drop-in contract with scikit-learn's BernoulliRBM, determinism and errors."""

import io
import pickle
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from threadpoolctl import threadpool_limits

from rbm_exact import exact_log_partition as _exact_log_partition
from rbm_exact import kernel_config as _config
from skae import BernoulliRBM, GaussianBernoulliRBM
from skae._kernels import _rbm
from skae._kernels.runtime.record import ThreadRecord
from skae._rbms.rbm import _GaussianHiddenRBM

SEEDS = [0, 1, 2]


def _states(n):
    """All 2^n binary vectors, one per row."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def _small_rbm(n_visible=6, n_hidden=4, scale=1.0, seed=0, cls=BernoulliRBM, **params):
    """A fitted-looking RBM with random parameters, small enough to enumerate."""
    rng = np.random.default_rng(seed)
    X = (rng.uniform(size=(20, n_visible)) < 0.5).astype(float)
    rbm = cls(n_components=n_hidden, n_iter=0, random_state=seed, **params).fit(X)
    rbm.components_[:] = rng.normal(scale=scale, size=(n_hidden, n_visible))
    rbm.intercept_hidden_[:] = rng.normal(scale=0.5 * scale, size=n_hidden)
    rbm.intercept_visible_[:] = rng.normal(scale=0.5 * scale, size=n_visible)
    return rbm


def _exact_visible_distribution(rbm):
    V = _states(rbm.components_.shape[1])
    log_p = -rbm.free_energy(V)
    return V, np.exp(log_p - logsumexp(log_p))


@pytest.fixture(scope="module")
def X_digits():
    return load_digits().data / 16.0


# ------------------------------------------------------------------- samplers


def _assert_long_run_samples_match_the_exact_distribution(rbm):
    V, p = _exact_visible_distribution(rbm)
    n = 40000
    samples = rbm.sample(n_samples=n, n_steps=50)
    codes = (samples @ (2 ** np.arange(V.shape[1]))).astype(int)
    empirical = np.bincount(codes, minlength=len(p)) / n
    total_variation = 0.5 * np.abs(empirical - p).sum()
    # Sampling noise alone: E[TV] ~ sum sqrt(p (1 - p) / n) / 2 ~ 0.02 here.
    assert total_variation < 0.035
    chi2 = n * ((empirical - p) ** 2 / p).sum()
    assert chi2 < len(p) + 6 * np.sqrt(2 * len(p))  # df 63: mean 63, sd ~ 11


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_long_run_samples_match_the_exact_distribution(seed, dtype):
    rbm = _small_rbm(seed=seed)
    if dtype == np.float32:
        # float32 has its own conditionals (maths/vecmath.h) and sampler instance.
        for name in ("components_", "intercept_hidden_", "intercept_visible_"):
            setattr(rbm, name, getattr(rbm, name).astype(np.float32))
    _assert_long_run_samples_match_the_exact_distribution(rbm)


def test_float32_conditionals_match_the_float64_sigmoid_over_its_range():
    # float32 sigmoids come from skae's vectorisable exp (maths/vecmath.h): within
    # 3e-7 relative of the float64 sigmoid where exp is not clamped, and below
    # 2e-38 where it is (arguments below -87).
    z = np.concatenate([np.linspace(-100, 100, 20001), [-87, -17, 0, 17, 87]])
    z = z.astype(np.float32)
    one = np.ones((1, 1), dtype=np.float32)
    rbm = BernoulliRBM(n_components=z.size, n_iter=0, random_state=0).fit(one)
    rbm.components_[:, 0] = z
    rbm.intercept_hidden_[:] = 0
    got = rbm.transform(one)[0]
    assert got.dtype == np.float32
    expected = expit(z.astype(np.float64))
    inside = z >= -87
    np.testing.assert_allclose(got[inside], expected[inside], rtol=3e-7, atol=0)
    np.testing.assert_allclose(got[~inside], expected[~inside], rtol=0, atol=2e-38)
    assert got[z == 0][0] == 0.5 and got[z > 17].min() == 1.0


def test_free_energy_matches_enumeration():
    rbm = _small_rbm()
    V = _states(6)
    H = _states(4)
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    # F(v) = -log sum_h exp(-E(v, h)), E = -v.b_v - h.b_h - h W v
    energies = -(V @ b_v)[:, None] - (H @ b_h)[None, :] - V @ W.T @ H.T
    np.testing.assert_allclose(rbm.free_energy(V), -logsumexp(-energies, axis=1),
                               rtol=1e-10)
    np.testing.assert_allclose(
        _exact_log_partition(W, b_h, b_v), logsumexp(-energies), rtol=1e-12
    )


def test_conditionals_match_transform_and_inverse_transform():
    rbm = _small_rbm()
    V, H = _states(6), _states(4)
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    np.testing.assert_allclose(rbm.transform(V), expit(V @ W.T + b_h), rtol=1e-12)
    np.testing.assert_allclose(rbm.inverse_transform(H), expit(H @ W + b_v), rtol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_gibbs_step_means_match_exact_conditionals(seed):
    rbm = _small_rbm(seed=seed)
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    v0 = np.array([[1, 0, 1, 1, 0, 0]], dtype=float)
    n = 50000
    after = rbm.gibbs(np.repeat(v0, n, axis=0))
    # E[v' | v0] = sum_h P(h | v0) P(v' = 1 | h), by enumeration of h.
    H = _states(4)
    p_h = np.prod(np.where(H == 1, expit(v0 @ W.T + b_h), 1 - expit(v0 @ W.T + b_h)),
                  axis=1)
    expected = p_h @ expit(H @ W + b_v)
    np.testing.assert_allclose(after.mean(axis=0), expected,
                               atol=5 * np.sqrt(0.25 / n))


def _exact_gradient(rbm, V):
    """<h v>_data - <h v>_model, exactly (and the bias gradients)."""
    W, b_h = rbm.components_, rbm.intercept_hidden_
    h_data = expit(V @ W.T + b_h)
    states, p = _exact_visible_distribution(rbm)
    h_model = expit(states @ W.T + b_h)
    gW = h_data.T @ V / len(V) - (h_model * p[:, None]).T @ states
    gb_h = h_data.mean(axis=0) - p @ h_model
    gb_v = V.mean(axis=0) - p @ states
    return gW, gb_h, gb_v


@pytest.mark.parametrize("persistent", [False, True])
def test_cd_k_gradient_approaches_the_exact_gradient_for_large_k(persistent):
    rbm = _small_rbm(scale=0.7, seed=3)
    rng = np.random.default_rng(4)
    V = (rng.uniform(size=(8, 6)) < 0.4).astype(float)
    exact = _exact_gradient(rbm, V)
    n_chains = 40000
    batch = np.repeat(V, n_chains // len(V), axis=0)
    config = _config(k=100, persistent=persistent)
    chains = np.zeros((n_chains, 4))
    got = _rbm.gradient(batch, rbm.components_, rbm.intercept_hidden_,
                        rbm.intercept_visible_, chains, config, np.random.PCG64(0))
    for g, e in zip(got, exact):
        np.testing.assert_allclose(g, e, atol=0.012)
    # CD-1 from the data is biased on this model: the test can tell them apart.
    config["k"], config["persistent"] = 1, False
    cd1 = _rbm.gradient(batch, rbm.components_, rbm.intercept_hidden_,
                        rbm.intercept_visible_, chains, config, np.random.PCG64(0))
    assert np.abs(cd1[0] - exact[0]).max() > 0.03


# ------------------------------------------------------------------------ AIS


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_ais_log_partition_within_half_a_nat(seed, scale):
    rbm = _small_rbm(n_visible=20, n_hidden=8, scale=scale, seed=seed)
    rbm._data_mean = np.full(20, 0.3)
    exact = _exact_log_partition(rbm.components_, rbm.intercept_hidden_,
                                 rbm.intercept_visible_)
    estimate = rbm.log_partition_function(n_runs=100, n_betas=3000, random_state=seed)
    assert abs(estimate - exact) < 0.5, (estimate, exact)


@pytest.mark.parametrize("seed", [0, 1])
def test_ais_for_gaussian_visible_units(seed):
    rbm = _small_rbm(n_visible=10, n_hidden=6, scale=0.4, seed=seed,
                     cls=GaussianBernoulliRBM)
    rbm._data_mean = np.zeros(10)
    exact = _exact_log_partition(rbm.components_, rbm.intercept_hidden_,
                                 rbm.intercept_visible_, visible="gaussian")
    estimate = rbm.log_partition_function(n_runs=100, n_betas=3000, random_state=seed)
    assert abs(estimate - exact) < 0.5, (estimate, exact)


def test_log_likelihood_normalises_on_enumerable_models():
    rbm = _small_rbm()
    V = _states(6)
    log_z = _exact_log_partition(rbm.components_, rbm.intercept_hidden_,
                                 rbm.intercept_visible_)
    np.testing.assert_allclose(np.exp(rbm.log_likelihood(V, log_z=log_z)).sum(), 1.0,
                               rtol=1e-10)


# ------------------------------------------------------------ drop-in contract


def test_same_parameters_and_defaults_as_scikit_learn():
    ours = BernoulliRBM().get_params()
    theirs = SklearnRBM().get_params()
    assert {k: ours[k] for k in theirs} == theirs


def test_same_fitted_attributes_and_methods_as_scikit_learn(X_digits):
    ours = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X_digits)
    theirs = SklearnRBM(n_components=16, n_iter=2, random_state=0).fit(X_digits)
    for attr in ["components_", "intercept_hidden_", "intercept_visible_",
                 "h_samples_"]:
        assert getattr(ours, attr).shape == getattr(theirs, attr).shape
    assert ours.n_features_in_ == theirs.n_features_in_
    # Each of scikit-learn's methods answers in the same shape and kind.
    for method in ["transform", "score_samples"]:
        a, b = getattr(ours, method)(X_digits), getattr(theirs, method)(X_digits)
        assert a.shape == b.shape and a.dtype == b.dtype
    # gibbs: the same 0/1 states, in the model's dtype (scikit-learn's are bool).
    a, b = ours.gibbs(X_digits), theirs.gibbs(X_digits)
    assert a.shape == b.shape and a.dtype == X_digits.dtype
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert ours.partial_fit(X_digits[:10]) is ours
    assert (ours.fit_transform(X_digits).shape
            == theirs.fit_transform(X_digits).shape == (len(X_digits), 16))
    assert list(ours.get_feature_names_out()) == list(theirs.get_feature_names_out())
    assert ours.score_samples(X_digits).shape == (len(X_digits),)
    # Training does what scikit-learn's does: comparable pseudo-likelihoods.
    assert abs(ours.score_samples(X_digits).mean()
               - theirs.score_samples(X_digits).mean()) < 3.0


def test_verbose_line_format(X_digits):
    out = io.StringIO()
    with redirect_stdout(out):
        BernoulliRBM(n_components=8, n_iter=2, verbose=1, random_state=0).fit(X_digits)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[BernoulliRBM] Iteration 1, pseudo-likelihood = ")
    assert lines[0].endswith("s") and ", time = " in lines[0]


def test_partial_fit_is_one_update_and_keeps_float32(X_digits):
    X = X_digits.astype(np.float32)
    rbm = BernoulliRBM(n_components=8, batch_size=7, random_state=0)
    rbm.partial_fit(X[:50])
    assert rbm.components_.dtype == np.float32
    assert rbm.h_samples_.shape == (7, 8)
    before = rbm.components_.copy()
    rbm.partial_fit(X[50:100])
    assert not np.array_equal(before, rbm.components_)
    assert rbm.transform(X[:3]).dtype == np.float32


def test_pseudo_likelihood_is_repeatable_and_row_wise(X_digits):
    rbm = BernoulliRBM(n_components=16, n_iter=1).fit(X_digits)  # random_state=None
    scores = rbm.score_samples(X_digits)
    assert np.array_equal(scores, rbm.score_samples(X_digits))
    order = np.random.default_rng(0).permutation(len(X_digits))[:300]
    np.testing.assert_allclose(rbm.score_samples(X_digits[order]), scores[order],
                               rtol=1e-12)
    np.testing.assert_allclose(rbm.score_samples(sp.csr_matrix(X_digits)), scores,
                               rtol=1e-12)


def test_pseudo_likelihood_matches_scikit_learns_formula(X_digits):
    rbm = BernoulliRBM(n_components=16, n_iter=1, random_state=0).fit(X_digits)
    flip = rbm._flip_features(X_digits)
    assert len(np.unique(flip)) > 40  # spread over the features
    flipped = X_digits.copy()
    rows = np.arange(len(X_digits))
    flipped[rows, flip] = 1 - flipped[rows, flip]
    fe, fe_flipped = rbm.free_energy(X_digits), rbm.free_energy(flipped)
    expected = -64 * np.logaddexp(0, -(fe_flipped - fe))
    np.testing.assert_allclose(rbm.score_samples(X_digits), expected, rtol=1e-10)


@pytest.mark.parametrize("persistent", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_training_pass_takes_the_gradient_steps(persistent, momentum, weight_decay):
    # The pass over 13 rows in minibatches of 5 (a short last one) equals
    # gradient() then the update rule, minibatch by minibatch: the one-GEMM
    # weight step without momentum and the velocity update with it.
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(13, 12)) < 0.4).astype(float)
    W = rng.normal(scale=0.3, size=(7, 12))
    b_h, b_v = rng.normal(size=7) * 0.1, rng.normal(size=12) * 0.1
    chains = (rng.uniform(size=(5, 7)) < 0.5).astype(float)
    config = _config(k=2, persistent=persistent, learning_rate=0.1, momentum=momentum,
                     weight_decay=weight_decay)
    ref = [W.copy(), b_h.copy(), b_v.copy()]
    ref_chains, velocity = chains.copy(), [np.zeros_like(p) for p in ref]
    generator = np.random.PCG64(3)
    for start in range(0, 13, 5):
        grads = _rbm.gradient(X[start:start + 5], *ref, ref_chains, config, generator)
        for i, (param, grad) in enumerate(zip(ref, grads)):
            step = 0.1 * (grad - (weight_decay * param if i == 0 else 0))
            velocity[i] = momentum * velocity[i] + step
            param += velocity[i]
    got = [W.copy(), b_h.copy(), b_v.copy()]
    got_chains, got_velocity = chains.copy(), np.zeros(7 * 12 + 7 + 12)
    n_neg = 5
    work = np.empty(_rbm.workspace_size(12, 7, 5, n_neg))
    _rbm.train_pass(X.ravel(), np.empty(0, np.intp), np.empty(0, np.intp), False, 12,
                    np.arange(13, dtype=np.intp), 5, *got, got_chains, got_velocity,
                    np.empty(0), np.empty(0), config, np.random.PCG64(3), work,
                    ThreadRecord())
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(got_chains, ref_chains)


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
@pytest.mark.parametrize("persistent", [True, False])
def test_same_seed_bit_identical_and_threads_agree(X_digits, cls, persistent):
    X = X_digits if cls is BernoulliRBM else X_digits - X_digits.mean(axis=0)
    params = dict(n_components=32, n_iter=2, batch_size=32, k=2, momentum=0.5,
                  persistent=persistent, random_state=0)
    with threadpool_limits(1):
        one = cls(**params).fit(X)
    with threadpool_limits(2):
        two = cls(**params).fit(X)
        again = cls(**params).fit(X)
    for attr in ["components_", "intercept_hidden_", "intercept_visible_", "h_samples_"]:
        assert np.array_equal(getattr(one, attr), getattr(two, attr))
        assert np.array_equal(getattr(two, attr), getattr(again, attr))


def test_float32_and_float64_agree(X_digits):
    a = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X_digits)
    b = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(
        X_digits.astype(np.float32))
    assert b.components_.dtype == np.float32
    # Same draws; sampled states can differ where a probability sits at a draw's
    # rounding edge, so compare what training produced, not bits.
    np.testing.assert_allclose(a.transform(X_digits).mean(), b.transform(
        X_digits.astype(np.float32)).mean(), rtol=0.02)
    np.testing.assert_allclose(a.components_, b.components_, atol=0.05)


def test_dense_and_csr_train_the_same_model(X_digits):
    a = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X_digits)
    b = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(
        sp.csr_matrix(X_digits))
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.score_samples(X_digits),
                               b.score_samples(sp.csr_matrix(X_digits)), rtol=1e-10)


def test_pickle_round_trip(X_digits):
    rbm = BernoulliRBM(n_components=16, n_iter=1, random_state=0).fit(X_digits)
    clone = pickle.loads(pickle.dumps(rbm))
    assert np.array_equal(rbm.transform(X_digits), clone.transform(X_digits))
    rbm.partial_fit(X_digits[:20])
    clone.partial_fit(X_digits[:20])
    assert np.array_equal(rbm.components_, clone.components_)


def test_cd_k_momentum_and_weight_decay_train(X_digits):
    base = BernoulliRBM(n_components=32, n_iter=3, random_state=0).fit(X_digits)
    decayed = BernoulliRBM(n_components=32, n_iter=3, random_state=0,
                           weight_decay=0.05).fit(X_digits)
    assert np.abs(decayed.components_).mean() < np.abs(base.components_).mean()
    cd10 = BernoulliRBM(n_components=32, n_iter=3, k=10, persistent=False,
                        momentum=0.5, random_state=0).fit(X_digits)
    assert cd10.score_samples(X_digits).mean() > -40


def test_gaussian_rbm_learns_standardised_data(X_digits):
    X = (X_digits - X_digits.mean(axis=0)) / (X_digits.std(axis=0) + 1e-3)
    rbm = GaussianBernoulliRBM(n_components=64, n_iter=10, learning_rate=0.005,
                               random_state=0)
    untrained = GaussianBernoulliRBM(n_components=64, n_iter=0, random_state=0).fit(X)
    rbm.fit(X)
    # score: minus the mean squared reconstruction error; training shrinks it
    # (by 41% here: -57.7 to -34.1).
    assert rbm.score(X) > 0.7 * untrained.score(X)
    assert np.isfinite(rbm.components_).all()


# --------------------------------------------------------------------- errors


def test_bernoulli_rejects_values_outside_unit_interval(X_digits):
    with pytest.raises(ValueError, match=r"BernoulliRBM needs X with values in \[0, 1\]"):
        BernoulliRBM().fit(X_digits * 16)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(X_digits, bad):
    X = X_digits.copy()
    X[0, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        BernoulliRBM().fit(X)


def test_wrong_feature_count(X_digits):
    rbm = BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X_digits)
    with pytest.raises(ValueError, match="X has 10 features, but BernoulliRBM is "
                                         "expecting 64 features"):
        rbm.transform(X_digits[:, :10])
    with pytest.raises(ValueError, match="expecting 8 features"):
        rbm.inverse_transform(np.zeros((2, 3)))


def test_diverging_gaussian_rbm_raises_and_rolls_back():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10)) * 50
    rbm = GaussianBernoulliRBM(n_components=8, learning_rate=10.0, n_iter=20,
                               random_state=0)
    with pytest.raises(ValueError, match="diverged.*learning_rate"):
        rbm.fit(X)
    assert not hasattr(rbm, "components_")


# ------------------------------------------- scikit-learn's own RBM example


def _nudged_digits():
    """The data of scikit-learn's "RBM features for digit classification"
    example: digits shifted by one pixel in four directions, scaled to [0, 1]."""
    from scipy.ndimage import convolve
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import minmax_scale

    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, "float32")
    directions = [
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    ]

    def shift(x, w):
        return convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel()

    X = np.concatenate([X] + [np.apply_along_axis(shift, 1, X, d) for d in directions])
    y = np.concatenate([y for _ in range(5)], axis=0)
    X = minmax_scale(X, feature_range=(0, 1))
    return train_test_split(X, y, test_size=0.2, random_state=0)


def test_scikit_learns_rbm_example_runs_unchanged_and_scores_as_well():
    """The example's pipeline with skae's class swapped in, both in this run.

    The example's RBM settings and data are kept; its LogisticRegression(
    solver="newton-cg", tol=1) stops at its starting point in scikit-learn 1.9
    (all-zero coefficients, chance accuracy 0.097 for both RBMs, measured), so
    newton-cg keeps its default tolerance here.
    """
    from sklearn import linear_model
    from sklearn.pipeline import Pipeline

    X_train, X_test, y_train, y_test = _nudged_digits()
    scores = {}
    for cls in (SklearnRBM, BernoulliRBM):
        accuracies = []
        for seed in (0, 1):
            logistic = linear_model.LogisticRegression(solver="newton-cg")
            rbm = cls(random_state=seed, verbose=False)
            model = Pipeline(steps=[("rbm", rbm), ("logistic", logistic)])
            rbm.learning_rate = 0.06
            rbm.n_iter = 10
            rbm.n_components = 100
            logistic.C = 6000
            model.fit(X_train, y_train)
            accuracies.append(model.score(X_test, y_test))
        scores[cls] = np.mean(accuracies)
    assert scores[BernoulliRBM] >= scores[SklearnRBM] - 0.005, scores
    assert scores[BernoulliRBM] > 0.9


def test_weights_assigned_in_fortran_order_work(X_digits):
    """Drop-in code may assign scikit-learn's Fortran-ordered components_."""
    theirs = SklearnRBM(n_components=16, n_iter=1, random_state=0).fit(X_digits)
    ours = BernoulliRBM(n_components=16, n_iter=1, random_state=0).fit(X_digits)
    ours.components_ = np.asfortranarray(theirs.components_)
    ours.intercept_hidden_ = theirs.intercept_hidden_
    ours.intercept_visible_ = theirs.intercept_visible_
    np.testing.assert_allclose(ours.transform(X_digits), theirs.transform(X_digits),
                               rtol=1e-10)
    ours.partial_fit(X_digits[:50])
    assert ours.components_.flags["C_CONTIGUOUS"]


# ------------------------------------------- Gaussian hidden units (StackedAE's top)


def _small_linear_rbm(seed=0, scale=0.6):
    return _small_rbm(seed=seed, scale=scale, cls=_GaussianHiddenRBM)


def test_gaussian_hidden_free_energy_integrates_the_hidden_units_out():
    rbm = _small_linear_rbm()
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    V = _states(6)
    # log of the integral over h of exp(v.b_v + h.(W v + b_h) - |h|^2 / 2), by
    # quadrature on a grid, one hidden unit at a time (the integral factorises).
    grid = np.linspace(-12, 12, 20001)
    act = V @ W.T + b_h
    integrand = np.exp(act[:, :, None] * grid - 0.5 * grid**2)
    log_integral = np.log(np.trapezoid(integrand, grid, axis=2)).sum(axis=1)
    np.testing.assert_allclose(-rbm.free_energy(V), V @ b_v + log_integral, rtol=1e-8)
    np.testing.assert_allclose(rbm.transform(V), act, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_gaussian_hidden_long_run_samples_match_the_exact_distribution(seed):
    _assert_long_run_samples_match_the_exact_distribution(_small_linear_rbm(seed=seed))


def test_gaussian_hidden_gibbs_step_draws_unit_variance_codes():
    rbm = _small_linear_rbm()
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    v0 = np.array([[1, 0, 1, 1, 0, 0]], dtype=float)
    n = 50000
    after = rbm.gibbs(np.repeat(v0, n, axis=0))
    # E[v' | v0] = E_h[sigmoid(h W + b_v)], h ~ N(W v0 + b_h, I): Monte Carlo
    # with many more draws than the test's.
    rng = np.random.default_rng(0)
    h = v0 @ W.T + b_h + rng.standard_normal((400000, 4))
    expected = expit(h @ W + b_v).mean(axis=0)
    np.testing.assert_allclose(after.mean(axis=0), expected, atol=5 * np.sqrt(0.25 / n))


@pytest.mark.parametrize("persistent", [False, True])
def test_gaussian_hidden_cd_k_gradient_approaches_the_exact_gradient(persistent):
    rbm = _small_linear_rbm(seed=3, scale=0.5)
    W, b_h = rbm.components_, rbm.intercept_hidden_
    rng = np.random.default_rng(4)
    V = (rng.uniform(size=(8, 6)) < 0.4).astype(float)
    states, p = _exact_visible_distribution(rbm)
    h_data, h_model = V @ W.T + b_h, states @ W.T + b_h
    exact = (h_data.T @ V / len(V) - (h_model * p[:, None]).T @ states,
             h_data.mean(axis=0) - p @ h_model, V.mean(axis=0) - p @ states)
    n_chains = 40000
    batch = np.repeat(V, n_chains // len(V), axis=0)
    config = _config(hidden=1, k=100, persistent=persistent)
    got = _rbm.gradient(batch, W, b_h, rbm.intercept_visible_,
                        np.zeros((n_chains, 4)), config, np.random.PCG64(0))
    for g, e in zip(got, exact):
        np.testing.assert_allclose(g, e, atol=0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_gaussian_hidden_ais_within_half_a_nat(seed):
    rbm = _small_rbm(n_visible=16, n_hidden=6, scale=0.4, seed=seed,
                     cls=_GaussianHiddenRBM)
    rbm._data_mean = np.full(16, 0.3)
    exact = _exact_log_partition(rbm.components_, rbm.intercept_hidden_,
                                 rbm.intercept_visible_, hidden="gaussian")
    estimate = rbm.log_partition_function(n_runs=100, n_betas=3000, random_state=seed)
    assert abs(estimate - exact) < 0.5, (estimate, exact)
    V = _states(6)
    small = _small_linear_rbm(seed=seed)
    log_z = _exact_log_partition(small.components_, small.intercept_hidden_,
                                 small.intercept_visible_, hidden="gaussian")
    np.testing.assert_allclose(np.exp(small.log_likelihood(V, log_z=log_z)).sum(), 1.0,
                               rtol=1e-10)


def test_gaussian_hidden_rbm_learns_on_digits(X_digits):
    # Training moves the linear codes towards explaining the data: the
    # pseudo-likelihood improves on the initial model's.
    before = _GaussianHiddenRBM(n_components=16, n_iter=0, random_state=0).fit(X_digits)
    after = _GaussianHiddenRBM(n_components=16, n_iter=5, learning_rate=0.01,
                               random_state=0).fit(X_digits)
    assert np.isfinite(after.components_).all()
    assert after.score(X_digits) > before.score(X_digits) + 1.0


@pytest.mark.parametrize("seed", [42, 0, 7])
def test_float32_and_float64_fits_agree_within_scikit_learns_tolerances(seed):
    # scikit-learn's test_convergence_dtype_consistency (its seed is 42), with
    # its tolerances: the bias gradients must be rounded once per update
    # (summed columns, then one division), or float32's visible biases drift
    # past 1e-5. Other seeds leave weights within 1e-8 of zero, where only an
    # absolute tolerance means anything.
    X = load_digits().data[:100] / 16
    fits = [BernoulliRBM(n_components=16, batch_size=5, n_iter=5, random_state=seed)
            .fit(X.astype(dtype)) for dtype in (np.float64, np.float32)]
    rbm_64, rbm_32 = fits
    atol = 0 if seed == 42 else 1e-7
    np.testing.assert_allclose(rbm_64.components_, rbm_32.components_, rtol=1e-3,
                               atol=atol)
    np.testing.assert_allclose(rbm_64.intercept_hidden_, rbm_32.intercept_hidden_,
                               rtol=1e-3, atol=atol)
    np.testing.assert_allclose(rbm_64.intercept_visible_, rbm_32.intercept_visible_,
                               rtol=1e-5, atol=0)
    np.testing.assert_array_equal(rbm_64.h_samples_, rbm_32.h_samples_)


def test_inference_chunks_follow_working_memory_and_change_nothing():
    # A working_memory so small that every chunk is one row, against the
    # default chunks: rows are independent, each with its own random stream.
    # Only the rounding may differ: chunks of at most GEMV_ROWS rows multiply a
    # row at a time (layers/dense.pxd), larger ones by one GEMM.
    from sklearn import config_context

    X = np.random.default_rng(0).random((300, 20))
    rbm = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X)
    outputs = lambda: (rbm.transform(X), rbm.free_energy(X),  # noqa: E731
                       rbm.inverse_transform(rbm.transform(X)), rbm.score_samples(X))
    default = outputs()
    with config_context(working_memory=1e-6):
        assert rbm._chunk(len(X)) == 1
        one_row = outputs()
    for a, b in zip(default, one_row):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
