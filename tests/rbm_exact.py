"""The exact log partition function of a small RBM, for tests of the
samplers and estimators against it, and the RBM kernel's configuration."""

import numpy as np
from scipy.special import logsumexp


def exact_log_partition(W, b_h, b_v, visible="bernoulli", hidden="bernoulli"):
    """Exact log Z by enumerating the binary states of one layer: the hidden
    one (2^n_hidden terms), or the visible one when the hidden units are
    Gaussian."""
    n_hidden, n_visible = W.shape
    if hidden == "gaussian":
        if visible != "bernoulli":
            raise ValueError("An RBM with Gaussian units on both layers is not supported.")
        V = ((np.arange(2**n_visible)[:, None] >> np.arange(n_visible)) & 1).astype(float)
        act = V @ W.T + b_h
        return float(logsumexp(V @ b_v + 0.5 * (act**2).sum(axis=1))
                     + 0.5 * n_hidden * np.log(2 * np.pi))
    H = ((np.arange(2**n_hidden)[:, None] >> np.arange(n_hidden)) & 1).astype(float)
    field = H @ W + b_v
    if visible == "gaussian":
        inner = (0.5 * (field**2).sum(axis=1) - 0.5 * b_v @ b_v
                 + 0.5 * W.shape[1] * np.log(2 * np.pi))
    else:
        inner = np.logaddexp(0, field).sum(axis=1)
    return float(logsumexp(H @ b_h + inner))


def kernel_config(**fields):
    """A configuration for the RBM kernel's train_pass and gradient: plain
    Gibbs chains (sampler code 0) and no update unless told."""
    return dict(dict(visible=0, hidden=0, k=1, persistent=True, learning_rate=0.0,
                     momentum=0.0, weight_decay=0.0, sampler=0, n_temperatures=1,
                     fast_learning_rate=0.0, fast_decay=0.95, centering=False,
                     offset_rate=0.01), **fields)
