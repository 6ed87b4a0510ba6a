"""
Filters of a denoising autoencoder on MNIST
===========================================

A :class:`~skae.DenoisingAE` learns to restore digits from which a share of
the pixels was erased. Its first layer's filters, each drawn as an image of
the weights from the pixels to one unit, show what it looks for: parts of
digits and pen strokes, and with half the pixels erased, more of them are
local strokes that must be inferred from their neighbours (Vincent et al.,
2008, figure 3, trained far longer).

Two models on 10,000 MNIST images for 40 epochs each, about 15 seconds on 2
cores.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skae import DenoisingAE
from skae.plotting import plot_filters

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "mnist.npz"
with np.load(DATA) as d:
    X = (d["X_train"][:10000] / 255).astype(np.float32)

# %%
# One model without noise, one with masking noise; the same seed and
# architecture (784 inputs, 100 sigmoid units, tied weights, cross-entropy).
# The L2 penalty clears the weights of pixels that are always 0 (the border),
# which no gradient reaches otherwise.
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
for ax, noise in zip(axes, [0.0, 0.5]):
    ae = DenoisingAE(n_components=100, hidden_layer_sizes=(), activation="sigmoid",
                     code_activation="sigmoid", loss="binary_crossentropy",
                     tied_weights=True, alpha=0.03, noise="masking", noise_level=noise,
                     max_iter=40, random_state=0).fit(X)
    plot_filters(ae, (28, 28), n_filters=64, ax=ax, title=f"noise_level={noise}")
fig.tight_layout()
