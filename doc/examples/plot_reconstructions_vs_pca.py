"""
Reconstructions against PCA at the same code size
=================================================

An autoencoder with a code of 16 numbers against PCA with 16 components, on
MNIST digits neither saw in training: the top row is the digits, the middle
one the autoencoder's reconstructions, the bottom one PCA's. A nonlinear
decoder keeps strokes that a linear one blurs into the mean digit.

Trains on 10,000 MNIST images for 20 epochs, about 5 seconds on 2 cores.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer
from skae.plotting import plot_reconstructions

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "mnist.npz"
with np.load(DATA) as d:
    X = (d["X_train"][:10000] / 255).astype(np.float32)
    X_test = (d["X_test"][:2000] / 255).astype(np.float32)

ae = AutoencoderTransformer(n_components=16, hidden_layer_sizes=(256,), activation="relu",
                            code_activation="identity", output_activation="sigmoid",
                            loss="binary_crossentropy", max_iter=20, random_state=0).fit(X)
pca = PCA(n_components=16, random_state=0).fit(X)

# %%
# Squared error per held-out image, then the pictures.
for name, model in [("autoencoder", ae), ("PCA", pca)]:
    R = model.inverse_transform(model.transform(X_test))
    print(f"{name:>12}: {np.mean(np.sum((R - X_test) ** 2, axis=1)):.2f}")

fig, ax = plt.subplots(figsize=(10, 3.5))
plot_reconstructions(ae, X_test, (28, 28), n_images=12, compare_with=pca, ax=ax,
                     title="held-out digits / autoencoder (16) / PCA (16)")
