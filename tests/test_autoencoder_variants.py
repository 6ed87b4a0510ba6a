"""DenoisingAE, SparseAE and ContractiveAE: noise statistics, penalties, errors."""

import warnings

import numpy as np
from scipy.special import expit
import pytest
import scipy.sparse as sp
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer, ContractiveAE, DenoisingAE, SparseAE
from skae._kernels import _network
from classic import classic

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def X_digits():
    return load_digits().data / 16.0


def _fit(cls, X, **params):
    params = {"n_components": 16, "max_iter": 10, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return classic(cls, **params).fit(X)


def _corrupt(X, noise, level, seed):
    return _network.corrupt_rows(X, _network.NOISES[noise], level, np.random.PCG64(seed))


# ------------------------------------------------------------ noise statistics


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_masking_fraction_matches_noise_level(seed, level, dtype):
    X = np.ones((500, 401), dtype=dtype)  # odd width: the last value of a pair too
    out = _corrupt(X, "masking", level, seed)
    assert out.dtype == dtype
    n = X.size
    zeroed = np.mean(out == 0)
    assert abs(zeroed - level) < 5 * np.sqrt(level * (1 - level) / n)
    assert set(np.unique(out)) <= {0.0, 1.0}
    # No structure: every column and the last column of a pair is masked alike.
    assert abs(np.mean(out[:, -1] == 0) - level) < 5 * np.sqrt(level * (1 - level) / 500)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", [0.05, 1.0, 3.0])
def test_gaussian_noise_has_the_requested_standard_deviation(seed, level):
    X = np.full((400, 251), 0.5)
    noise = (_corrupt(X, "gaussian", level, seed) - X).ravel()
    n = noise.size
    assert abs(noise.mean()) < 5 * level / np.sqrt(n)
    # Standard error of a sample standard deviation: sigma / sqrt(2 n).
    assert abs(noise.std() - level) < 5 * level / np.sqrt(2 * n)
    assert stats.kstest(noise / level, "norm").pvalue > 1e-4


@pytest.mark.parametrize("seed", SEEDS)
def test_gaussian_noise_tails_match_the_normal_distribution(seed):
    """2M deviates: the ziggurat's layers, wedges and tail beyond R = 3.654."""
    z = _corrupt(np.zeros((2000, 1000)), "gaussian", 1.0, seed).ravel()
    n = z.size
    for bound in [0.5, 1.0, 2.0, 3.0, 3.6541528853610088, 4.0]:
        p = 2 * stats.norm.sf(bound)
        observed = np.mean(np.abs(z) > bound)
        assert abs(observed - p) < 5 * np.sqrt(p * (1 - p) / n), bound
    assert abs(np.mean(z > 0) - 0.5) < 5 * np.sqrt(0.25 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("level", [0.1, 0.6])
def test_salt_and_pepper_split(seed, level):
    X = np.full((500, 300), 0.5)
    out = _corrupt(X, "salt_and_pepper", level, seed)
    n = X.size
    changed = out != 0.5
    assert set(np.unique(out[changed])) <= {0.0, 1.0}
    assert abs(changed.mean() - level) < 5 * np.sqrt(level * (1 - level) / n)
    salt = np.mean(out[changed] == 1)
    assert abs(salt - 0.5) < 5 * np.sqrt(0.25 / changed.sum())


@pytest.mark.parametrize("noise", ["masking", "gaussian", "salt_and_pepper"])
def test_corruption_does_not_depend_on_the_thread_count(noise):
    from threadpoolctl import threadpool_limits

    X = np.random.default_rng(0).uniform(size=(64, 50))
    with threadpool_limits(1):
        one = _corrupt(X, noise, 0.3, seed=7)
    with threadpool_limits(2):
        two = _corrupt(X, noise, 0.3, seed=7)
    assert np.array_equal(one, two)


@pytest.mark.parametrize("noise", ["masking", "gaussian", "salt_and_pepper"])
def test_same_seed_same_corruption(noise):
    X = np.random.default_rng(0).uniform(size=(50, 30))
    a = _corrupt(X, noise, 0.3, seed=7)
    assert np.array_equal(a, _corrupt(X, noise, 0.3, seed=7))
    assert not np.array_equal(a, _corrupt(X, noise, 0.3, seed=8))


@pytest.mark.parametrize("noise", ["masking", "gaussian", "salt_and_pepper"])
def test_denoising_trains_deterministically_and_transforms_without_noise(X_digits, noise):
    a = _fit(DenoisingAE, X_digits, noise=noise, noise_level=0.3)
    b = _fit(DenoisingAE, X_digits, noise=noise, noise_level=0.3)
    assert np.array_equal(a._params, b._params)
    # Noise changes training (same seed otherwise)...
    plain = _fit(DenoisingAE, X_digits, noise=noise, noise_level=0.0)
    assert not np.array_equal(a._params, plain._params)
    # ...but never transform, inverse_transform or score: they are the plain
    # network's (sigmoid code, linear output).
    Z = a.transform(X_digits)
    np.testing.assert_allclose(Z, expit(X_digits @ a.coefs_[0] + a.intercepts_[0]),
                               rtol=1e-12, atol=1e-12)
    recon = Z @ a.coefs_[1] + a.intercepts_[1]
    np.testing.assert_allclose(a.inverse_transform(Z), recon, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.score(X_digits),
                               -((X_digits - recon) ** 2).sum(axis=1).mean(), rtol=1e-10)


def test_denoising_dense_and_csr_give_the_same_model(X_digits):
    dense = _fit(DenoisingAE, X_digits, noise="masking")
    sparse = _fit(DenoisingAE, sp.csr_matrix(X_digits), noise="masking")
    np.testing.assert_allclose(sparse._params, dense._params, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("noise", ["masking", "gaussian", "salt_and_pepper"])
def test_noise_level_zero_is_the_plain_autoencoder(X_digits, noise):
    # Level 0 corrupts nothing. Its draws still advance the shared random stream,
    # which would change the next epoch's row order: compare one epoch.
    dae = _fit(DenoisingAE, X_digits, noise=noise, noise_level=0.0, max_iter=1)
    ae = _fit(AutoencoderTransformer, X_digits, max_iter=1)
    assert np.array_equal(dae._params, ae._params)


# The comparison is at an overcomplete code on purpose: there the plain
# autoencoder can learn the identity (as its warning says) and the denoising
# one cannot.
@pytest.mark.filterwarnings("ignore:.*no layer is narrower:UserWarning",
                            "ignore::sklearn.exceptions.ConvergenceWarning")
def test_denoising_reconstructs_corrupted_inputs_better(X_digits):
    X = X_digits
    corrupted = _corrupt(X, "masking", 0.3, seed=5)
    # A wide code, trained: a narrow undertrained bottleneck denoises by itself.
    dae = _fit(DenoisingAE, X, n_components=64, noise="masking", noise_level=0.3,
               max_iter=200)
    ae = _fit(AutoencoderTransformer, X, n_components=64, max_iter=200)

    def error(model):
        return np.mean((model.inverse_transform(model.transform(corrupted)) - X) ** 2)

    assert error(dae) < 0.8 * error(ae)


# ------------------------------------------------------------------ penalties


@pytest.mark.parametrize("seed", SEEDS)
def test_kl_sparsity_pulls_mean_activation_to_target(X_digits, seed):
    rho = 0.05
    # 120 epochs: from Glorot's bound for sigmoid units the codes start spread
    # wide, and 60 epochs left seed 2 at 0.087 (0.060-0.062 at 120 for seeds 0-4).
    sae = _fit(SparseAE, X_digits, n_components=32, sparsity_target=rho,
               sparsity_weight=3.0, max_iter=120, random_state=seed)
    ae = _fit(AutoencoderTransformer, X_digits, n_components=32, max_iter=60,
              random_state=seed)
    mean_sparse = sae.transform(X_digits).mean()
    assert abs(mean_sparse - rho) < 0.5 * rho
    assert ae.transform(X_digits).mean() > 4 * rho


def test_running_average_state_is_kept_and_pickled(X_digits):
    import pickle

    sae = _fit(SparseAE, X_digits, sparsity_decay=0.9, max_iter=2)
    state = sae._penalty_state
    assert state[-1] == 2 * np.ceil(len(X_digits) / 200)  # minibatches seen
    np.testing.assert_allclose(state[:-1].mean(), sae.transform(X_digits).mean(), rtol=0.2)
    clone = pickle.loads(pickle.dumps(sae))
    sae.partial_fit(X_digits)
    clone.partial_fit(X_digits)
    assert np.array_equal(sae._params, clone._params)


def test_l1_sparsity_lowers_activations(X_digits):
    sae = _fit(SparseAE, X_digits, sparsity="l1", sparsity_weight=0.5, max_iter=40,
               activation="relu")
    ae = _fit(AutoencoderTransformer, X_digits, max_iter=40, activation="relu")
    assert np.abs(sae.transform(X_digits)).mean() < 0.5 * np.abs(ae.transform(X_digits)).mean()


def _jacobian_norm(model, X):
    """Mean squared Frobenius norm of d code / d input for a sigmoid code layer."""
    H = model.transform(X)
    w2 = (model.coefs_[0] ** 2).sum(axis=0)
    return float(np.mean(((H * (1 - H)) ** 2 * w2).sum(axis=1)))


def test_contraction_shrinks_the_jacobian(X_digits):
    cae = _fit(ContractiveAE, X_digits, contraction_weight=1.0, max_iter=40)
    ae = _fit(AutoencoderTransformer, X_digits, max_iter=40)
    assert _jacobian_norm(cae, X_digits) < 0.5 * _jacobian_norm(ae, X_digits)


def test_loss_curve_includes_the_penalty(X_digits):
    cae = _fit(ContractiveAE, X_digits, contraction_weight=1.0, alpha=0.0, max_iter=3)
    reconstruction = -cae.score(X_digits)
    penalty = _jacobian_norm(cae, X_digits)
    # The last epoch's mean objective is about reconstruction + penalty.
    assert cae.loss_curve_[-1] > reconstruction + 0.5 * penalty


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "cls, params, match",
    [
        (DenoisingAE, {"noise": "dropout"}, "noise"),
        (DenoisingAE, {"noise_level": -0.1}, "noise_level"),
        (DenoisingAE, {"noise": "masking", "noise_level": 1.5}, r"\[0, 1\]"),
        (SparseAE, {"sparsity": "l2"}, "sparsity"),
        (SparseAE, {"sparsity_target": 0.0}, "sparsity_target"),
        (SparseAE, {"sparsity_decay": 1.0}, "sparsity_decay"),
        (SparseAE, {"sparsity": "kl", "code_activation": "tanh"}, "sigmoid code"),
        (SparseAE, {"sparsity": "kl", "code_activation": "relu"}, "sigmoid code"),
        (ContractiveAE, {"code_activation": "relu"}, "sigmoid or tanh"),
        (ContractiveAE, {"contraction_weight": -1.0}, "contraction_weight"),
    ],
)
def test_invalid_variant_parameters_are_named(X_digits, cls, params, match):
    with pytest.raises(ValueError, match=match):
        cls(**params).fit(X_digits)


def test_l1_accepts_any_code_activation(X_digits):
    # tanh codes take both signs; the L1 penalty still shrinks them.
    weak = _fit(SparseAE, X_digits, sparsity="l1", activation="tanh", sparsity_weight=1e-6)
    strong = _fit(SparseAE, X_digits, sparsity="l1", activation="tanh", sparsity_weight=1.0)
    assert weak.transform(X_digits).min() < 0
    assert (np.abs(strong.transform(X_digits)).mean()
            < 0.7 * np.abs(weak.transform(X_digits)).mean())
