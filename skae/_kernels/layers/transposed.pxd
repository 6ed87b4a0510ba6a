# A transposed convolution ("deconvolution"): the adjoint of a convolution's
# input map, so it takes a row shaped like a convolution's output (C_in
# channels over the window's positions) back to one shaped like its input
# (C_out, H, W). Each input value spreads its filter over the window it stands
# for, plus the bias, then the activation. The window slides over the *output*
# (layers/window.pxd, over_output); the output's size is stored, not derived, so
# a mirror can restore sizes that a stride rounded down (ONNX's output_padding).
#
# Weights: (C_in, C_out * KH * KW) row-major (ONNX's ConvTranspose layout), biases
# (C_out,). That is the layout of the mirror convolution's (C_out', C_in' * KH *
# KW) filters, so a tied decoder layer reads its mirror's weights as they lie.
# Forward per row: cols = W.T @ x, then col2im; backward: the convolution's
# forward on the delta (im2col, kept in the scratch), the weight gradient by
# fixed blocks of input channels, rows added in order.

from cython cimport floating
from cython.parallel cimport prange

from ..maths.activations cimport IDENTITY, activate_block
from ..maths.blas cimport gemm_rm
from .convolution cimport (
    add_channel_biases, bias_gradient, check_parameters, filter_gradient, filter_size,
    finish_delta,
)
from .table cimport COL_ACT, COL_B, COL_IN, COL_IN_C, COL_OUT, COL_W, col
from .window cimport Window, check_window, col2im, im2col, window_of


cdef inline int transposed_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                                 Py_ssize_t n_params) except -1:
    cdef Window win
    check_window(layers, l, True)
    win = window_of(&layers[0, 0], l, True)
    return check_parameters(layers, l, layers[l, COL_IN_C] * filter_size(&win), win.c,
                            n_params)


cdef inline Py_ssize_t transposed_scratch(const Py_ssize_t* layers,
                                          Py_ssize_t l) noexcept nogil:
    """Each row's (C_out * KH * KW, positions) matrix: W.T @ x forward, the
    delta's im2col backward."""
    cdef Window win = window_of(layers, l, True)
    return filter_size(&win) * win.oh * win.ow


cdef inline Py_ssize_t transposed_weights_end(const Py_ssize_t* layers,
                                              Py_ssize_t l) noexcept nogil:
    cdef Window win = window_of(layers, l, True)
    return col(layers, l, COL_W) + col(layers, l, COL_IN_C) * filter_size(&win)


cdef inline void transposed_forward(const floating* params, const Py_ssize_t* layers,
                                    Py_ssize_t l, const floating* inp, floating* out,
                                    Py_ssize_t batch, bint apply_activation,
                                    floating* scratch, int n_threads) noexcept nogil:
    """out = f(col2im(W.T @ inp) + b), one row per thread at a time."""
    cdef Window win = window_of(layers, l, True)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t c_in = col(layers, l, COL_IN_C), k = filter_size(&win)
    cdef Py_ssize_t positions = win.oh * win.ow, i
    cdef const floating* w = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    cdef int act = <int> col(layers, l, COL_ACT)
    cdef floating* cols
    cdef floating* o
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        cols = scratch + i * k * positions
        o = out + i * n_out
        # cols (k, positions) = W.T (k, C_in) @ x_i (C_in, positions)
        gemm_rm(c'T', c'N', <int> k, <int> positions, <int> c_in, 1, w, <int> k,
                inp + i * n_in, <int> positions, 0, cols, <int> positions)
        col2im(&win, cols, o)
        add_channel_biases(o, b, win.c, win.h * win.w)
        if apply_activation and act != IDENTITY:
            activate_block(act, o, n_out)


cdef inline void transposed_backward(const floating* params, floating* grad,
                                     const Py_ssize_t* layers, Py_ssize_t l,
                                     const floating* a_in, const floating* d,
                                     floating* d_prev, const floating* dh_extra,
                                     Py_ssize_t batch, floating* scratch,
                                     int n_threads) noexcept nogil:
    """The delta's im2col per row (into scratch); the weight gradient x_i @
    cols_i.T and the bias gradient, rows in order; then, if d_prev is not NULL, the delta
    below W @ cols_i times the derivative of the activation below."""
    cdef Window win = window_of(layers, l, True)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t c_in = col(layers, l, COL_IN_C), k = filter_size(&win)
    cdef Py_ssize_t positions = win.oh * win.ow, i
    cdef const floating* w = params + col(layers, l, COL_W)
    cdef floating* gw = grad + col(layers, l, COL_W)
    cdef floating* gb = grad + col(layers, l, COL_B)
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        im2col(&win, d + i * n_out, scratch + i * k * positions)
    # gW += x_i (C_in, positions) @ cols_i.T (positions, k) over the rows
    filter_gradient(gw, a_in, n_in, scratch, batch, c_in, k, positions, n_threads)
    bias_gradient(gb, d, batch, n_out, win.c, win.h * win.w, n_threads)
    if d_prev == NULL:
        return
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        # d_prev_i (C_in, positions) = W (C_in, k) @ cols_i (k, positions)
        gemm_rm(c'N', c'N', <int> c_in, <int> positions, <int> k, 1, w, <int> k,
                scratch + i * k * positions, <int> positions, 0, d_prev + i * n_in,
                <int> positions)
        finish_delta(d_prev + i * n_in, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)
