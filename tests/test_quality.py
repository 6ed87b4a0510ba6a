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
