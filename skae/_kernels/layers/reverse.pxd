# The reverse layer: each row's series, (C, 1, T), with its first L steps in
# reverse order, L the row's length (layers/recurrent.pxd; T without lengths);
# the steps after L, the padding, are copied as they are (ONNX's
# ReverseSequence). A decoder that reconstructs a series backwards ends with it
# (Srivastava et al., 2015): its first step then rebuilds the series' last.
# No parameters, the identity as activation; the map is its own inverse, so the
# backward pass applies it to the delta.

from cython cimport floating
from cython.parallel cimport prange

from ..maths.activations cimport IDENTITY
from .convolution cimport finish_delta
from .recurrent cimport row_length
from .table cimport (
    COL_ACT, COL_IN, COL_IN_C, COL_IN_H, COL_IN_W, COL_KH, COL_OUT, COL_OUT_C, COL_OUT_H,
    COL_OUT_W, COL_TRANS, col,
)


cdef inline int reverse_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                              Py_ssize_t n_params) except -1:
    if (layers[l, COL_IN_H] != 1 or layers[l, COL_OUT_H] != 1
            or layers[l, COL_OUT_C] != layers[l, COL_IN_C]
            or layers[l, COL_OUT_W] != layers[l, COL_IN_W]
            or layers[l, COL_OUT] != layers[l, COL_IN]
            or layers[l, COL_KH] != 0 or layers[l, COL_TRANS] != 0
            or layers[l, COL_ACT] != IDENTITY):
        raise ValueError(f"kernel: reverse layer {l} must map (C, 1, T) to itself, "
                         "untied, with the identity and without a window.")
    return 0


cdef inline Py_ssize_t reverse_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t reverse_weights_end(const Py_ssize_t* layers,
                                           Py_ssize_t l) noexcept nogil:
    return 0


cdef inline void reverse_rows(const Py_ssize_t* layers, Py_ssize_t l,
                              const floating* inp, floating* out, Py_ssize_t batch,
                              const floating* lengths, int n_threads) noexcept nogil:
    """out = inp with each row's first L steps reversed, channel by channel."""
    cdef Py_ssize_t channels = col(layers, l, COL_IN_C), steps = col(layers, l, COL_IN_W)
    cdef Py_ssize_t n = channels * steps, i, c, t, length
    cdef const floating* src
    cdef floating* dst
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        length = row_length(lengths, i, steps)
        for c in range(channels):
            src = inp + i * n + c * steps
            dst = out + i * n + c * steps
            for t in range(length):
                dst[t] = src[length - 1 - t]
            for t in range(length, steps):
                dst[t] = src[t]


cdef inline void reverse_forward(const Py_ssize_t* layers, Py_ssize_t l,
                                 const floating* inp, floating* out, Py_ssize_t batch,
                                 const floating* lengths, int n_threads) noexcept nogil:
    reverse_rows(layers, l, inp, out, batch, lengths, n_threads)


cdef inline void reverse_backward(const Py_ssize_t* layers, Py_ssize_t l,
                                  const floating* a_in, const floating* d,
                                  floating* d_prev, const floating* dh_extra,
                                  Py_ssize_t batch, const floating* lengths,
                                  int n_threads) noexcept nogil:
    cdef Py_ssize_t n = col(layers, l, COL_IN), i
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    if d_prev == NULL:
        return
    reverse_rows(layers, l, d, d_prev, batch, lengths, n_threads)
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        finish_delta(d_prev + i * n, dh_extra + i * n if dh_extra != NULL else NULL,
                     a_in + i * n, act_prev, n)
