# Penalties on the code h (batch, n) of the code layer, one function each. Each
# returns the penalty's value for the minibatch objective and accumulates its
# gradient with respect to h into dh (zeroed by the caller); the contraction also
# adds its direct weight gradient. They reduce over rows in a fixed order,
# block-parallel over code units (fixed blocks, see maths/blas.pxd), so results do
# not depend on the thread count. s0 and s1 are (n,) scratch.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, log

from .activations cimport SIGMOID
from .blas cimport n_blocks, block_width

cdef enum Sparsity:
    NO_SPARSITY = 0
    KL = 1
    L1 = 2


cdef struct PenaltyConfig:
    int code_layer              # the layer that outputs the code
    int sparsity                # a Sparsity code
    double sparsity_target      # KL: rho
    double sparsity_weight      # KL, L1: beta
    double sparsity_decay       # KL: decay of the running mean activation
    double contraction_weight   # c (0: no contraction)


cdef inline double kl_penalty(const floating* h, floating* dh, Py_ssize_t n,
                              Py_ssize_t batch, double rho, double beta, double decay,
                              floating* running, bint update_running, floating* s0,
                              floating* s1, int n_threads) noexcept nogil:
    """beta * sum_j KL(rho || rho_hat_j), rho_hat = decay * running + (1 - decay)
    * mean_i h_ij (the minibatch mean alone before any state exists).

    ``running`` (n + 1: the running mean activation, then the number of
    minibatches it has seen) is updated only if update_running.
    """
    cdef Py_ssize_t k, i, j, j0, j1, width = block_width(n)
    cdef double rho_hat, total = 0
    if running[n] <= 0:
        decay = 0
    for k in prange(n_blocks(n), num_threads=n_threads, schedule='static'):
        j0 = k * width
        j1 = min(j0 + width, n)
        for j in range(j0, j1):
            s0[j] = 0
        for i in range(batch):
            for j in range(j0, j1):
                s0[j] += h[i * n + j]
        for j in range(j0, j1):
            rho_hat = decay * running[j] + (1 - decay) * s0[j] / batch
            # Clamped so that saturated units give a large, finite penalty.
            rho_hat = min(max(rho_hat, 1e-7), 1 - 1e-7)
            if update_running:
                running[j] = <floating> rho_hat
            s0[j] = <floating> (beta * (rho * log(rho / rho_hat) + (1 - rho)
                                        * log((1 - rho) / (1 - rho_hat))))
            s1[j] = <floating> (beta * (1 - decay) / batch
                                * (-rho / rho_hat + (1 - rho) / (1 - rho_hat)))
        for i in range(batch):
            for j in range(j0, j1):
                dh[i * n + j] = s1[j]
    for j in range(n):
        total += s0[j]
    if update_running:
        running[n] += 1
    return total


cdef inline double l1_penalty(const floating* h, floating* dh, Py_ssize_t n,
                              Py_ssize_t batch, double beta, floating* s0,
                              int n_threads) noexcept nogil:
    """beta * mean_i sum_j |h_ij|."""
    cdef Py_ssize_t k, i, j, j0, j1, width = block_width(n)
    cdef double total = 0
    cdef floating a
    for k in prange(n_blocks(n), num_threads=n_threads, schedule='static'):
        j0 = k * width
        j1 = min(j0 + width, n)
        for j in range(j0, j1):
            s0[j] = 0
        for i in range(batch):
            for j in range(j0, j1):
                a = h[i * n + j]
                s0[j] += fabs(a)
                dh[i * n + j] = <floating> (beta / batch) * (
                    1 if a > 0 else (-1 if a < 0 else 0))
    for j in range(n):
        total += beta * s0[j] / batch
    return total


cdef inline double contraction_penalty(const floating* h, floating* dh, Py_ssize_t n,
                                       Py_ssize_t batch, int act, const floating* w,
                                       floating* gw, Py_ssize_t n_in, double c,
                                       floating* s0, floating* s1,
                                       int n_threads) noexcept nogil:
    """c * mean_i sum_j f'(z_ij)^2 * sum_k W_kj^2: the squared Frobenius norm of
    the code layer's Jacobian with respect to its input (code layer with input
    width n_in, weights w (n_in, n), sigmoid or tanh act). Adds to dh and, its
    direct weight gradient, to gw."""
    cdef Py_ssize_t k, i, j, j0, j1, width = block_width(n)
    cdef double total = 0
    cdef floating a, fp, dfp
    for k in prange(n_blocks(n), num_threads=n_threads, schedule='static'):
        j0 = k * width
        j1 = min(j0 + width, n)
        # s1: sum over rows of f'(z)^2, from the code alone.
        for j in range(j0, j1):
            s0[j] = 0
            s1[j] = 0
        for i in range(batch):
            for j in range(j0, j1):
                a = h[i * n + j]
                fp = a * (1 - a) if act == SIGMOID else 1 - a * a
                s1[j] += fp * fp
        # One pass over W: its columns' squared norms (s0), and the direct
        # gradient 2c/B * s1_j * W_ij, which needs only s1.
        for i in range(n_in):
            for j in range(j0, j1):
                s0[j] += w[i * n + j] * w[i * n + j]
                gw[i * n + j] += <floating> (2 * c / batch) * s1[j] * w[i * n + j]
        # d/dh of c/B * f'^2 * |W_j|^2, with d f'/dh = dfp.
        for i in range(batch):
            for j in range(j0, j1):
                a = h[i * n + j]
                if act == SIGMOID:
                    fp = a * (1 - a)
                    dfp = 1 - 2 * a
                else:  # TANH
                    fp = 1 - a * a
                    dfp = -2 * a
                dh[i * n + j] += <floating> (c / batch) * s0[j] * 2 * fp * dfp
    for j in range(n):
        total += c * s0[j] * s1[j] / batch
    return total
