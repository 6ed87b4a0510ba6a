# The reparameterised Gaussian sample of a variational autoencoder (Kingma and
# Welling, 2014), as a layer without parameters. Its input (batch, 2k) holds
# [mu | log sigma^2] per row, the output of the encoder's two heads (one dense
# layer of 2k units); its output (batch, k) is z = mu + sigma * eps, eps ~ N(0, I)
# drawn from a stream seeded per row (the seeds drawn serially from the
# estimator's bit generator, so z does not depend on the thread count), or
# z = mu when no seeds are given (the posterior mean, for transform).
#
# Its term of the objective is KL(q(z|x) || N(0, I)) in closed form,
# 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2) per row, weighted by beta.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp
from libc.stdint cimport uint64_t

from ..maths.activations cimport IDENTITY
from .table cimport COL_ACT, COL_IN, COL_KIND, COL_OUT, COL_TRANS, col
from ..maths.random cimport skae_stream, skae_stream_seed, skae_stream_normal


cdef struct Draws:
    # What a pass's stochastic layers draw with: this one, and the feedback
    # layer of an autoregressive decoder (layers/feedback.pxd).
    const uint64_t* seeds   # one per row of the batch, or NULL: z = mu
    skae_stream* streams    # one per row of the batch: each row's own stream
    double beta             # the KL term's weight in the objective
    double teacher_forcing  # the share of steps a feedback layer feeds true values


cdef inline int sample_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                             Py_ssize_t n_params) except -1:
    """2k inputs to k outputs, untransposed, with the identity, and no other
    sampling layer in the network (its per-row KL has one buffer)."""
    cdef Py_ssize_t other
    for other in range(layers.shape[0]):
        if other != l and layers[other, COL_KIND] == layers[l, COL_KIND]:
            raise ValueError(f"kernel: sampling layers {l} and {other}: a network "
                             "has at most one.")
    if (layers[l, COL_IN] != 2 * layers[l, COL_OUT] or layers[l, COL_TRANS] != 0
            or layers[l, COL_ACT] != IDENTITY):
        raise ValueError(f"kernel: sampling layer {l} must map 2k inputs to k "
                         "outputs, untransposed, with the identity.")
    return 0


cdef inline Py_ssize_t sample_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """The draws eps of each row (k values), for the backward pass."""
    return col(layers, l, COL_OUT)


cdef inline Py_ssize_t sample_weights_end(const Py_ssize_t* layers,
                                          Py_ssize_t l) noexcept nogil:
    """No parameters."""
    return 0


cdef inline void reparameterise(const floating* inp, floating* z, floating* eps,
                                Py_ssize_t k, skae_stream* stream) noexcept nogil:
    """One row: z = mu + sigma * eps, eps ~ N(0, I) drawn next from stream,
    from inp = [mu | log sigma^2] (2k values). The training pass and the
    importance-weighted likelihood draw through this one function."""
    cdef Py_ssize_t j
    cdef floating e
    for j in range(k):
        e = <floating> skae_stream_normal(stream)
        z[j] = inp[j] + <floating> exp(0.5 * inp[k + j]) * e
        eps[j] = e


cdef inline double sample_forward(const floating* inp, floating* out, floating* eps,
                                  floating* row_kl, Py_ssize_t batch, Py_ssize_t k,
                                  const Draws* draws, int n_threads) noexcept nogil:
    """out = z, eps = the draws (for the backward pass), row_kl[i] = KL of row
    i; returns the sum of the rows' KL, added serially."""
    cdef Py_ssize_t i, j
    cdef const uint64_t* seeds = draws.seeds
    cdef double kl, total = 0
    cdef floating mu, log_var
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        if seeds != NULL:
            skae_stream_seed(&draws.streams[i], seeds[i])
            reparameterise(inp + i * 2 * k, out + i * k, eps + i * k, k,
                           &draws.streams[i])
        else:
            # The posterior mean itself: mu + sigma * 0 would be NaN where
            # sigma overflows (inputs far outside the training range).
            for j in range(k):
                out[i * k + j] = inp[i * 2 * k + j]
                eps[i * k + j] = 0
        kl = 0
        for j in range(k):
            mu = inp[i * 2 * k + j]
            log_var = inp[i * 2 * k + k + j]
            kl = kl + 0.5 * (mu * mu + exp(log_var) - 1 - log_var)
        row_kl[i] = <floating> kl
    for i in range(batch):
        total += row_kl[i]
    return total


cdef inline void sample_backward(const floating* inp, const floating* eps,
                                 const floating* d, floating* d_prev, Py_ssize_t batch,
                                 Py_ssize_t k, double kl_scale,
                                 int n_threads) noexcept nogil:
    """d_prev (batch, 2k) = d(objective)/d[mu | log sigma^2] from d = d/dz:
    dz/dmu = 1, dz/dlog sigma^2 = eps * sigma / 2, plus kl_scale (beta over the
    batch size) times the KL's own gradient, mu and (sigma^2 - 1) / 2."""
    cdef Py_ssize_t i, j
    cdef floating mu, log_var, sigma
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        for j in range(k):
            mu = inp[i * 2 * k + j]
            log_var = inp[i * 2 * k + k + j]
            sigma = <floating> exp(0.5 * log_var)
            d_prev[i * 2 * k + j] = d[i * k + j] + <floating> kl_scale * mu
            d_prev[i * 2 * k + k + j] = (d[i * k + j] * eps[i * k + j] * sigma / 2
                                         + <floating> (kl_scale * 0.5)
                                         * (sigma * sigma - 1))
