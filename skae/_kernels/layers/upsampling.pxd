# Nearest-neighbour upsampling: the decoder's inverse of a pooling layer. Each
# output position (y, x) of a channel repeats the input value at
# (min(y // SH, H_in - 1), min(x // SW, W_in - 1)), the factors in the window's
# stride columns; the output's size is stored, so a mirror restores the size a
# pooling rounded down (the last row and column are repeated). No parameters,
# the identity as activation. Backward: each input position receives the sum of
# the deltas of the positions that repeat it, added in a fixed order.

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memset

from ..maths.activations cimport IDENTITY
from .convolution cimport finish_delta
from .table cimport (
    COL_ACT, COL_IN, COL_IN_C, COL_IN_H, COL_IN_W, COL_OUT, COL_OUT_C, COL_OUT_H,
    COL_OUT_W, COL_SH, COL_SW, COL_TRANS, col,
)


cdef inline int upsample_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                               Py_ssize_t n_params) except -1:
    """Channels kept; factors of at least 1; every input position repeated."""
    cdef Py_ssize_t sh = layers[l, COL_SH], sw = layers[l, COL_SW]
    if (layers[l, COL_IN_C] != layers[l, COL_OUT_C] or layers[l, COL_TRANS] != 0
            or layers[l, COL_ACT] != IDENTITY or sh < 1 or sw < 1):
        raise ValueError(f"kernel: upsampling layer {l} must keep its channels, be "
                         "untied, use the identity and have factors of at least 1.")
    if (layers[l, COL_OUT_H] < (layers[l, COL_IN_H] - 1) * sh + 1
            or layers[l, COL_OUT_W] < (layers[l, COL_IN_W] - 1) * sw + 1):
        raise ValueError(f"kernel: upsampling layer {l}'s output is too small to "
                         "repeat every input position.")
    return 0


cdef inline Py_ssize_t upsample_scratch(const Py_ssize_t* layers,
                                        Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t upsample_weights_end(const Py_ssize_t* layers,
                                            Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t source(Py_ssize_t y, Py_ssize_t factor,
                              Py_ssize_t size) noexcept nogil:
    """The input index that output index y repeats."""
    return min(y // factor, size - 1)


cdef inline void repeat_row(const floating* src, floating* dst, Py_ssize_t w,
                            Py_ssize_t ow, Py_ssize_t factor) noexcept nogil:
    """dst[x] = src[source(x, factor, w)] for x < ow, without a division per
    entry (runs of factor, the last input repeated to the end). A factor of
    2, the common one, has its own loop: an inner loop of two runs slower
    than the copy."""
    cdef Py_ssize_t x = 0, ix, t
    if factor == 2:
        for ix in range(w - 1):
            dst[2 * ix] = src[ix]
            dst[2 * ix + 1] = src[ix]
        x = 2 * (w - 1)
    else:
        for ix in range(w - 1):
            for t in range(factor):
                dst[x + t] = src[ix]
            x += factor
    while x < ow:
        dst[x] = src[w - 1]
        x += 1


cdef inline void gather_row(const floating* src, floating* dst, Py_ssize_t w,
                            Py_ssize_t ow, Py_ssize_t factor) noexcept nogil:
    """dst[source(x, factor, w)] += src[x] for x < ow, in order of x (a
    factor of 2 in its own loop, as repeat_row)."""
    cdef Py_ssize_t x = 0, ix, t
    if factor == 2:
        for ix in range(w - 1):
            dst[ix] = (dst[ix] + src[2 * ix]) + src[2 * ix + 1]
        x = 2 * (w - 1)
    else:
        for ix in range(w - 1):
            for t in range(factor):
                dst[ix] += src[x + t]
            x += factor
    while x < ow:
        dst[w - 1] += src[x]
        x += 1


cdef inline void upsample_forward(const Py_ssize_t* layers, Py_ssize_t l,
                                  const floating* inp, floating* out, Py_ssize_t batch,
                                  int n_threads) noexcept nogil:
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t c, y, x, i, channels = col(layers, l, COL_OUT_C)
    cdef Py_ssize_t h = col(layers, l, COL_IN_H), w = col(layers, l, COL_IN_W)
    cdef Py_ssize_t oh = col(layers, l, COL_OUT_H), ow = col(layers, l, COL_OUT_W)
    cdef Py_ssize_t sh = col(layers, l, COL_SH), sw = col(layers, l, COL_SW)
    cdef const floating* src
    cdef floating* dst
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        for c in range(channels):
            src = inp + i * n_in + c * h * w
            dst = out + i * n_out + c * oh * ow
            for y in range(oh):
                repeat_row(src + source(y, sh, h) * w, dst + y * ow, w, ow, sw)


cdef inline void upsample_backward(const Py_ssize_t* layers, Py_ssize_t l,
                                   const floating* a_in, const floating* d,
                                   floating* d_prev, const floating* dh_extra,
                                   Py_ssize_t batch, int n_threads) noexcept nogil:
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t c, y, x, i, channels = col(layers, l, COL_OUT_C)
    cdef Py_ssize_t h = col(layers, l, COL_IN_H), w = col(layers, l, COL_IN_W)
    cdef Py_ssize_t oh = col(layers, l, COL_OUT_H), ow = col(layers, l, COL_OUT_W)
    cdef Py_ssize_t sh = col(layers, l, COL_SH), sw = col(layers, l, COL_SW)
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    cdef const floating* src
    cdef floating* dst
    if d_prev == NULL:
        return
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        memset(d_prev + i * n_in, 0, n_in * sizeof(floating))
        for c in range(channels):
            src = d + i * n_out + c * oh * ow
            dst = d_prev + i * n_in + c * h * w
            for y in range(oh):
                gather_row(src + y * ow, dst + source(y, sh, h) * w, w, ow, sw)
        finish_delta(d_prev + i * n_in, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)
