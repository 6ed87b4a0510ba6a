"""Quality on real data (MNIST): slow, run with ``pytest -m slow``."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [0, 1])
def test_linear_autoencoder_matches_pca_reconstruction(mnist, seed):
    """A linear autoencoder spans PCA's subspace: same test MSE within 1%."""
    X_train, _, X_test, _ = mnist
    pca = PCA(32, random_state=seed).fit(X_train)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    ae = AutoencoderTransformer(
        32, activation="identity", alpha=0.0, batch_size=256, max_iter=30, tol=0.0,
        random_state=seed,
    )
    with pytest.warns(Warning):  # ConvergenceWarning: it is stopped at max_iter
        ae.fit(X_train)
    ae_mse = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    assert ae_mse <= 1.01 * pca_mse, (ae_mse, pca_mse)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_learning_rate_1e3_on_mnist_ends_in_a_clear_error(mnist, solver):
    X_train = mnist[0][:10000]
    ae = AutoencoderTransformer(64, learning_rate_init=1e3, solver=solver, max_iter=3,
                                random_state=0)
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        ae.fit(X_train)
    assert not hasattr(ae, "coefs_")


def _codes_accuracy(model, X_train, y_train, X_test, y_test):
    from sklearn.linear_model import LogisticRegression

    model.fit(X_train)
    Z_test = model.transform(X_test)
    clf = LogisticRegression(max_iter=500).fit(model.transform(X_train), y_train)
    return clf.score(Z_test, y_test), float(Z_test.mean())


def test_regularised_autoencoder_features_on_10000_mnist_rows(mnist):
    """A reduced form of benchmarks/bench_features.py (measured when written:
    raw pixels 0.897, DenoisingAE 0.958; SparseAE mean test activation 0.060)."""
    from sklearn.linear_model import LogisticRegression

    from skae import DenoisingAE, SparseAE

    X_train, y_train, X_test, y_test = mnist
    X_train, y_train = X_train[:10000], y_train[:10000]
    raw = LogisticRegression(max_iter=500).fit(X_train, y_train).score(X_test, y_test)
    common = dict(loss="binary_crossentropy", tied_weights=True, batch_size=128,
                  max_iter=10, random_state=0)
    with pytest.warns(Warning):  # stopped at max_iter
        dae_acc, _ = _codes_accuracy(DenoisingAE(1000, noise_level=0.5, **common),
                                     X_train, y_train, X_test, y_test)
    assert dae_acc >= 0.95 and dae_acc >= raw + 0.04, (dae_acc, raw)
    with pytest.warns(Warning):
        _, mean_code = _codes_accuracy(
            SparseAE(1000, sparsity_target=0.05, sparsity_weight=3.0, **common),
            X_train, y_train, X_test, y_test,
        )
    assert abs(mean_code - 0.05) <= 0.2 * 0.05, mean_code
