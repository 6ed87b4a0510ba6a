"""
A convolutional autoencoder on digits: filters, reconstructions, search
=======================================================================

A :class:`~skae.ConvAutoencoder` reads each row of ``load_digits`` as an
8 x 8 image (``input_shape=(1, 8, 8)``), slides 16 filters of 3 x 3 pixels
over it and compresses the 16 feature maps into a code of 16 numbers; the
decoder mirrors it with a transposed convolution. Below: the filters it
learned, held-out digits beside their reconstructions, and image search by
nearest codes against the same search on PCA components and on raw pixels.

On images this small a pooling layer keeps too little (each 2 x 2 pooling
leaves a quarter of 64 pixels), so this network has none; on 28 x 28 MNIST
the default two convolutions with pooling find the same digit more often
than PCA does (see the benchmarks page). About 5 seconds on 2 cores.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors

from skae import ConvAutoencoder
from skae.plotting import plot_filters, tile_images

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)  # pixels in [0, 1], for a sigmoid output
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3,
                                                    random_state=0)

ae = ConvAutoencoder(input_shape=(1, 8, 8), filters=(16,), kernel_size=3,
                     pooling=None, n_components=16, output_activation="sigmoid",
                     loss="binary_crossentropy", random_state=0).fit(X_train)
print(f"{ae.n_iter_} epochs; code of {ae.transform(X_test).shape[1]} numbers "
      f"for {X.shape[1]} pixels")

# %%
# The first layer's filters, one 3 x 3 tile each (``components_``): small
# edge and corner detectors, each bright where it wants ink.
fig, ax = plt.subplots(figsize=(4, 4))
plot_filters(ae, (3, 3), n_filters=16, ax=ax)

# %%
# Held-out digits (top) and their reconstructions from the 16-number codes
# (bottom).
shown = X_test[:10]
rows = np.vstack([shown, ae.inverse_transform(ae.transform(shown))])
fig, ax = plt.subplots(figsize=(8, 2))
ax.imshow(tile_images(rows, (8, 8), n_cols=10), cmap="gray")
ax.set_axis_off()

# %%
# Image search: the 10 training images nearest each held-out digit, by the
# distance between codes; the figure is the share of neighbours showing the
# query's digit (precision at 10).


def precision_at_10(train_codes, test_codes):
    index = NearestNeighbors(n_neighbors=10).fit(train_codes)
    found = index.kneighbors(test_codes, return_distance=False)
    return np.mean(y_train[found] == y_test[:, None])


pca = PCA(n_components=16, random_state=0).fit(X_train)
for name, model in [("raw pixels (64)", None), ("PCA (16)", pca),
                    ("ConvAutoencoder (16)", ae)]:
    codes = (X_train, X_test) if model is None else (model.transform(X_train),
                                                     model.transform(X_test))
    print(f"{name:>21}: precision at 10 = {precision_at_10(*codes):.3f}")

# %%
# Five queries (left column) and their nearest training images by code.
index = NearestNeighbors(n_neighbors=8).fit(ae.transform(X_train))
found = index.kneighbors(ae.transform(X_test[:5]), return_distance=False)
rows = np.concatenate([np.vstack([X_test[i], X_train[found[i]]]) for i in range(5)])
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.imshow(tile_images(rows, (8, 8), n_cols=9), cmap="gray")
ax.set_axis_off()
ax.set_title("query, then its 8 nearest codes")
