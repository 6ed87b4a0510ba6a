"""
A 2-D map of MNIST: a deep autoencoder beside PCA
=================================================

Hinton and Salakhutdinov (2006, figure 3) drew MNIST digits at their 2-D codes
from a deep autoencoder beside the first two principal components: the
autoencoder's classes separate where PCA's overlap. A :class:`~skae.StackedAE`
784-256-64-2, pretrained layer by layer and fine-tuned end to end, reproduces
the picture on a subsample.

Trains on 5,000 MNIST images, about 15 seconds on 2 cores (the paper's net was
784-1000-500-250-2 on 60,000 images).
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from skae import StackedAE
from skae.plotting import plot_codes

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "mnist.npz"
with np.load(DATA) as d:
    X = (d["X_train"][:5000] / 255).astype(np.float32)
    y = d["y_train"][:5000]

deep = StackedAE(hidden_layer_sizes=(256, 64), n_components=2, activation="sigmoid",
                 code_activation="identity", output_activation="sigmoid",
                 loss="binary_crossentropy", max_iter=60, early_stopping=False,
                 random_state=0).fit(X)
pca = PCA(n_components=2).fit(X)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
plot_codes(pca, X, y, ax=axes[0], s=2, title="PCA: first two components")
plot_codes(deep, X, y, ax=axes[1], s=2, title="StackedAE 784-256-64-2")
fig.tight_layout()
