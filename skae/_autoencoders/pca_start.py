"""Starting a dense autoencoder at PCA's solution (``init="pca"``).

In every hidden layer ``n_components`` *carrier* units hold the principal
scores s, each on a part of its activation where it is linear or nearly so:

- identity, relu, elu: ``f(s + c) = s + c`` exactly, with a shift c that
  keeps the unit on its linear side for every training row (and for new rows
  up to one training range beyond);
- softplus: the same shift plus 10, where ``softplus(u) = u`` within 5e-5.

The next layer reads each carrier back as s (its bias undoes the shift). The
other units of a hidden layer keep their random weights but feed nothing into
the carriers, and the output layer reads the carriers only, so the network
starts as PCA's projection and reconstruction while those units' gradients are
not zero: the decoder's extra units see the scores and learn to explain PCA's
residual, after which the encoder follows. (Carriers that copy carriers and
extra units that feed nothing make a saddle point if the extra units see
nothing either: their incoming weights stay random for that reason.)

A sigmoid or tanh unit is nearly linear only for small inputs: a carrier there
would need a tiny slope in and a huge weight out, which Adam's first steps blow
up (measured: divergence in the first epoch on digits at 32 components), so
such networks start at random (``init="auto"``).

Why: a network started at random has to find the principal subspace before
it can improve on it, and on data where a linear code is already the best
(Gaussian clusters, tabular sets of a few latent factors) Adam stops near it
but above it; started here, with early stopping keeping the best weights and
counting the starting ones (see BaseAutoencoder._train), the reconstruction
on the validation rows is never worse than PCA's (softplus: to 5e-5) and the
network keeps only what improves on it.
"""

import numpy as np
import scipy.sparse as sp

from .._kernels import _network
from .._core.layers import COLUMN as _COLUMN
from .._core.layers import DENSE

_ACT = _network.ACTIVATIONS
# PCA is fitted on at most this many rows (a random subset): enough to find
# the leading subspace, and it bounds the start's cost on very large sets.
_MAX_ROWS = 20_000
# The covariance matrix is n_features squared: beyond this width (128 MiB)
# the network starts at random.
MAX_FEATURES = 4096
# Activations with a linear side that a carrier can sit on.
_PIECEWISE_LINEAR = {_ACT[a] for a in ("identity", "relu", "elu", "softplus")}
# How far above zero a softplus carrier starts (softplus(u) - u < 5e-5 there).
_SOFTPLUS_LINEAR = 10.0


def pca_start_obstacle(layers, n_components, tied_weights, missing):
    """Why this network cannot start at PCA (a sentence), or None if it can.

    ``layers`` is the layer table (skae/_core/layers.py).
    """
    if any(int(row[_COLUMN["kind"]]) != DENSE.code for row in layers):
        return "it has a layer that is not dense (a sampling layer)"
    if missing is not None:
        return "PCA cannot read missing entries"
    n_features = int(layers[0][_COLUMN["n_in"]])
    if n_features > MAX_FEATURES:
        return (f"its {n_features} features are more than the {MAX_FEATURES} whose "
                "covariance matrix the start computes")
    if tied_weights and len(layers) > 2:
        return ("a tied decoder would reuse the extra units' random encoder weights, "
                "so the start would not be PCA")
    hidden = layers[:-1]
    if any(int(row[_COLUMN["activation"]]) not in _PIECEWISE_LINEAR for row in hidden):
        return ("its activations are not all piecewise linear (identity, relu, elu, "
                "softplus), so no carrier unit can hold PCA's scores")
    if int(layers[-1][_COLUMN["activation"]]) != _ACT["identity"]:
        return ("its output activation is not the identity (binary cross-entropy "
                "reconstructs through a sigmoid), which PCA's reconstruction is not")
    narrowest = min(int(row[_COLUMN["n_out"]]) for row in layers)
    if narrowest < n_components:
        return (f"a hidden layer of {narrowest} units is narrower than the "
                f"{n_components} principal scores it would carry")
    return None


def _carrier_shift(activation, low, high):
    """The constant c added to a carrier's scores s in [low, high] so that its
    unit outputs s + c (see the module's notes)."""
    if activation == _ACT["identity"]:
        return np.zeros_like(low)
    shift = -low + (high - low)
    return shift + _SOFTPLUS_LINEAR if activation == _ACT["softplus"] else shift


def principal_axes(X, n_components):
    """(V, mean): the leading principal axes of X, shape (n_features,
    n_components), and its column means, in float64.

    From the covariance matrix, by one symmetric eigendecomposition: dense and
    sparse X give the same axes (sparse X is never densified), and each axis's
    sign is fixed (its largest entry positive), so the start does not depend
    on X's format or on the LAPACK build.
    """
    X = X.astype(np.float64)
    n = X.shape[0]
    mean = np.asarray(X.mean(axis=0)).ravel()
    gram = X.T @ X
    gram = gram.toarray() if sp.issparse(gram) else gram
    cov = gram / n - np.outer(mean, mean)
    _, vectors = np.linalg.eigh((cov + cov.T) / 2)
    V = vectors[:, ::-1][:, :n_components]
    signs = np.sign(V[np.abs(V).argmax(axis=0), np.arange(n_components)])
    return V * np.where(signs == 0, 1, signs), mean


def pca_start(params, layers, X, n_components, generator):
    """Set ``params`` (in place) so that the network computes PCA's
    reconstruction of X with ``n_components`` components.

    The caller has checked :func:`pca_start_obstacle`. ``params`` holds the
    random initial weights; only the carrier units' weights and biases, the
    weights from other units into carriers and the output layer's weights
    from other units are overwritten.
    """
    n_samples = X.shape[0]
    if n_samples > _MAX_ROWS:
        X = X[np.sort(generator.choice(n_samples, _MAX_ROWS, replace=False))]
    V, mean = principal_axes(X, n_components)
    scores = (X @ V) - mean @ V
    low, high = scores.min(axis=0), scores.max(axis=0)
    k = n_components
    shift = None  # what the previous layer's carriers add to the scores
    last = len(layers) - 1
    for l, row in enumerate(layers):
        n_in, n_out = int(row[_COLUMN["n_in"]]), int(row[_COLUMN["n_out"]])
        w, b = int(row[_COLUMN["w_offset"]]), int(row[_COLUMN["b_offset"]])
        W = params[w : w + n_in * n_out].reshape(n_in, n_out)  # unless transposed
        bias = params[b : b + n_out]
        if l == last:
            # Read the carriers only: x = mean + (carriers - shift) V^T. A tied
            # output layer (single-layer model) reads the encoder's V already.
            if not int(row[_COLUMN["transposed"]]):
                W[:] = 0
                W[:k] = V.T
            bias[:] = mean - shift @ V.T
            break
        new_shift = _carrier_shift(int(row[_COLUMN["activation"]]), low, high)
        if l == 0:
            W[:, :k] = V
            bias[:k] = new_shift - mean @ V
        else:
            # Carriers copy carriers; other units feed none of them.
            W[:, :k] = 0
            W[np.arange(k), np.arange(k)] = 1
            bias[:k] = new_shift - shift
        shift = new_shift
    return params
