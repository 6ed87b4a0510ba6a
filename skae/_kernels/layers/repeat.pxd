# The repeat layer of a recurrent decoder: a code of K values, (K, 1, 1), given
# to every one of T steps, (K, 1, T) (the "repeat vector" decoder of Srivastava
# et al., 2015). No parameters, the identity as activation. Backward: each
# code unit receives the sum of its T deltas, added in step order.

from cython cimport floating
from cython.parallel cimport prange

from ..maths.activations cimport IDENTITY
from .convolution cimport finish_delta
from .table cimport (
    COL_ACT, COL_IN, COL_IN_H, COL_IN_W, COL_KH, COL_OUT, COL_OUT_C, COL_OUT_H,
    COL_OUT_W, COL_TRANS, col,
)


cdef inline int repeat_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                             Py_ssize_t n_params) except -1:
    if (layers[l, COL_IN_H] != 1 or layers[l, COL_IN_W] != 1 or layers[l, COL_OUT_H] != 1
            or layers[l, COL_OUT_W] < 1 or layers[l, COL_OUT_C] != layers[l, COL_IN]
            or layers[l, COL_KH] != 0 or layers[l, COL_TRANS] != 0
            or layers[l, COL_ACT] != IDENTITY):
        raise ValueError(f"kernel: repeat layer {l} must map (K, 1, 1) to (K, 1, T), "
                         "untied, with the identity and without a window.")
    return 0


cdef inline Py_ssize_t repeat_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t repeat_weights_end(const Py_ssize_t* layers,
                                          Py_ssize_t l) noexcept nogil:
    return 0


cdef inline void repeat_forward(const Py_ssize_t* layers, Py_ssize_t l,
                                const floating* inp, floating* out, Py_ssize_t batch,
                                int n_threads) noexcept nogil:
    cdef Py_ssize_t k = col(layers, l, COL_IN), steps = col(layers, l, COL_OUT_W)
    cdef Py_ssize_t i, j, t
    cdef floating v
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        for j in range(k):
            v = inp[i * k + j]
            for t in range(steps):
                out[(i * k + j) * steps + t] = v


cdef inline void code_deltas(const floating* d, Py_ssize_t n_out, Py_ssize_t k,
                             Py_ssize_t steps, const floating* a_in, floating* d_prev,
                             const floating* dh_extra, int act_prev, Py_ssize_t batch,
                             int n_threads) noexcept nogil:
    """d_prev (batch, k): each code unit's delta, the sum of its steps' deltas
    (its channel of d, rows n_out apart), added in step order; then the
    activation below's derivative. The feedback layer's too (layers/feedback.pxd)."""
    cdef Py_ssize_t i, j, t
    cdef floating s
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        for j in range(k):
            s = 0
            for t in range(steps):
                s = s + d[i * n_out + j * steps + t]
            d_prev[i * k + j] = s
        finish_delta(d_prev + i * k, dh_extra + i * k if dh_extra != NULL else NULL,
                     a_in + i * k, act_prev, k)


cdef inline void repeat_backward(const Py_ssize_t* layers, Py_ssize_t l,
                                 const floating* a_in, const floating* d,
                                 floating* d_prev, const floating* dh_extra,
                                 Py_ssize_t batch, int n_threads) noexcept nogil:
    cdef Py_ssize_t k = col(layers, l, COL_IN), steps = col(layers, l, COL_OUT_W)
    if d_prev != NULL:
        code_deltas(d, k * steps, k, steps, a_in, d_prev, dh_extra,
                    <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY, batch,
                    n_threads)
