"""
RBM filters and Gibbs samples
=============================

A :class:`~skae.BernoulliRBM` with 100 hidden units on binarised MNIST,
trained by persistent contrastive divergence: its filters (the weights from
the pixels to each hidden unit), and digits drawn by running Gibbs chains
from random states for 1,000 steps.

Trains on 10,000 images for 15 epochs, about 5 seconds on 2 cores.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skae import BernoulliRBM
from skae.plotting import plot_filters, plot_samples

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "mnist.npz"
with np.load(DATA) as d:
    X = (d["X_train"][:10000] > 127).astype(np.float32)

rbm = BernoulliRBM(n_components=100, learning_rate=0.05, batch_size=20, n_iter=15,
                   random_state=0).fit(X)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
plot_filters(rbm, (28, 28), n_filters=64, ax=axes[0])
plot_samples(rbm, (28, 28), n_samples=16, n_steps=1000, ax=axes[1],
             title="16 Gibbs chains, 1,000 steps each")
fig.tight_layout()
