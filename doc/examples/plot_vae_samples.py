"""
Digits drawn from a variational autoencoder
===========================================

A :class:`~skae.VariationalAE` with a 2-D latent space: decoding a grid of
latent points shows the digits laid out on the plane, and decoding draws
from the prior N(0, I) gives new digits.

Trains on 10,000 MNIST images for 30 epochs, about 10 seconds on 2 cores.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from skae import VariationalAE
from skae.plotting import plot_samples, tile_images

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "mnist.npz"
with np.load(DATA) as d:
    X = (d["X_train"][:10000] / 255).astype(np.float32)

vae = VariationalAE(n_components=2, hidden_layer_sizes=(256,), max_iter=30,
                    random_state=0).fit(X)
print(f"mean ELBO per image: {vae.score(X):.1f} nats")

# %%
# The latent plane at the prior's quantiles 5% to 95%, decoded.
grid = norm.ppf(np.linspace(0.05, 0.95, 12))
Z = np.array([[a, b] for b in grid[::-1] for a in grid], dtype=np.float32)
fig, axes = plt.subplots(1, 2, figsize=(12, 6))
axes[0].imshow(tile_images(vae.inverse_transform(Z), (28, 28), n_cols=12,
                           normalize=None), cmap="gray")
axes[0].set_axis_off()
axes[0].set_title("decoded latent grid")
plot_samples(vae, (28, 28), n_samples=36, random_state=0, ax=axes[1],
             title="36 draws from the prior")
fig.tight_layout()
