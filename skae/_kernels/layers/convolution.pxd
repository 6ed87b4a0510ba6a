# A convolution layer (cross-correlation, as in every deep-learning library):
# C_out filters of shape (C_in, KH, KW) slide over the input row (C_in, H, W)
# with the layer's stride, zero padding and dilation (layers/window.pxd), each
# giving one output channel plus its bias, then the activation.
#
# Weights: (C_out, C_in * KH * KW) row-major at the layer's weight offset (ONNX's
# Conv layout), biases (C_out,). Each row of the minibatch is one GEMM of the
# filters with the row's im2col matrix, which the layer keeps in its scratch for
# the weight gradient. Rows are independent, so threads take rows; the weight
# gradient sums over rows, so threads take fixed blocks of output channels and
# add the rows in order: results do not depend on the thread count.

from cython cimport floating
from cython.parallel cimport prange

from ..maths.activations cimport IDENTITY, N_ACTIVATIONS, activate_block, derivative_block
from ..maths.blas cimport block_width, gemm_rm, n_blocks
from ..maths.thin cimport run_sum, thin_nt
from .table cimport (
    COL_ACT, COL_B, COL_IN, COL_IN_C, COL_IN_H, COL_KH, COL_KW, COL_OUT, COL_OUT_C, COL_PH,
    COL_PW, COL_SH, COL_SW, COL_TRANS, COL_W, col,
)
from .window cimport Window, check_window, col2im, im2col, window_of


cdef inline Py_ssize_t filter_size(const Window* win) noexcept nogil:
    """Weights of one filter, the rows of a row's im2col matrix."""
    return win.c * win.kh * win.kw


cdef inline int check_parameters(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                                 Py_ssize_t n_weights, Py_ssize_t n_biases,
                                 Py_ssize_t n_params) except -1:
    """Weights and biases inside the parameter vector, known activation."""
    if (layers[l, COL_W] < 0 or layers[l, COL_W] + n_weights > n_params
            or layers[l, COL_B] < 0 or layers[l, COL_B] + n_biases > n_params):
        raise ValueError(f"kernel: layer {l}'s parameters lie outside the "
                         f"{n_params} parameters.")
    if layers[l, COL_TRANS] not in (0, 1) or not 0 <= layers[l, COL_ACT] < N_ACTIVATIONS:
        raise ValueError(f"kernel: layer {l} has an unknown tying or activation code.")
    return 0


cdef inline int conv_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                           Py_ssize_t n_params) except -1:
    cdef Window win
    check_window(layers, l, False)
    win = window_of(&layers[0, 0], l, False)
    if layers[l, COL_TRANS] != 0:
        raise ValueError(f"kernel: convolution layer {l} cannot be tied.")
    return check_parameters(layers, l, layers[l, COL_OUT_C] * filter_size(&win),
                            layers[l, COL_OUT_C], n_params)


cdef inline Py_ssize_t conv_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """Each row's im2col matrix, for the weight gradient."""
    cdef Window win = window_of(layers, l, False)
    return filter_size(&win) * win.oh * win.ow


cdef inline Py_ssize_t conv_weights_end(const Py_ssize_t* layers,
                                        Py_ssize_t l) noexcept nogil:
    cdef Window win = window_of(layers, l, False)
    return col(layers, l, COL_W) + col(layers, l, COL_OUT_C) * filter_size(&win)


cdef inline void add_channel_biases(floating* out, const floating* b, Py_ssize_t channels,
                                    Py_ssize_t positions) noexcept nogil:
    """out (channels, positions) += b per channel."""
    cdef Py_ssize_t c, p
    for c in range(channels):
        for p in range(positions):
            out[c * positions + p] += b[c]


cdef inline void channel_bias_gradient(floating* gb, const floating* d, Py_ssize_t batch,
                                       Py_ssize_t row_width, Py_ssize_t c0, Py_ssize_t c1,
                                       Py_ssize_t positions) noexcept nogil:
    """gb[c0:c1] += the sum of d (batch rows of (channels, positions)) over rows
    and positions, in a fixed order: each row's run of positions in lanes,
    the rows' sums in double."""
    cdef Py_ssize_t i, c
    cdef double s
    for c in range(c0, c1):
        s = 0
        for i in range(batch):
            s += run_sum(d + i * row_width + c * positions, positions)
        gb[c] += s


cdef enum:
    # Filter gradients of at most this many entries per block of channels use
    # the thin product (maths/thin.h) instead of a BLAS call. Measured on the
    # issue-36 MNIST network (batch 128, 2 threads, AVX-512 host): the 16 x 9
    # gradients of its one-channel layers took 3% of the epoch this way against
    # 13% of BLAS packing; at 16 x 144 BLAS stays ahead (21% against 26%).
    THIN_ENTRIES = 512


cdef inline void filter_gradient(floating* gw, const floating* left, Py_ssize_t row_width,
                                 const floating* cols, Py_ssize_t batch,
                                 Py_ssize_t channels, Py_ssize_t k, Py_ssize_t positions,
                                 int n_threads) noexcept nogil:
    """gw (channels, k) += sum over rows i of left_i (channels, positions) @
    cols_i.T (positions, k), left_i at left + i * row_width and cols_i the
    row's (k, positions) matrix: threads take fixed blocks of channels and add
    the rows in order, so the sum does not depend on their count."""
    cdef Py_ssize_t blk, c0, nb, i, width = block_width(channels)
    cdef bint thin = width * k <= THIN_ENTRIES
    for blk in prange(n_blocks(channels), num_threads=n_threads, schedule='static'):
        c0 = blk * width
        nb = min(width, channels - c0)
        if nb <= 0:
            continue
        for i in range(batch):
            if thin:
                thin_nt(gw + c0 * k, k, left + i * row_width + c0 * positions, positions,
                        cols + i * k * positions, positions, nb, k, positions)
            else:
                gemm_rm(c'N', c'T', <int> nb, <int> k, <int> positions, 1,
                        left + i * row_width + c0 * positions, <int> positions,
                        cols + i * k * positions, <int> positions, 1, gw + c0 * k,
                        <int> k)


cdef inline void bias_gradient(floating* gb, const floating* d, Py_ssize_t batch,
                               Py_ssize_t row_width, Py_ssize_t channels,
                               Py_ssize_t positions, int n_threads) noexcept nogil:
    """gb (channels,) += d summed over rows and positions, by fixed blocks of
    channels (channel_bias_gradient)."""
    cdef Py_ssize_t blk, c0, nb, width = block_width(channels)
    for blk in prange(n_blocks(channels), num_threads=n_threads, schedule='static'):
        c0 = blk * width
        nb = min(width, channels - c0)
        if nb > 0:
            channel_bias_gradient(gb, d, batch, row_width, c0, c0 + nb, positions)


cdef inline void finish_delta(floating* d_prev, const floating* dh_extra,
                              const floating* a_in, int act_prev,
                              Py_ssize_t n) noexcept nogil:
    """One row of the delta below: add a penalty's gradient (or NULL), then
    multiply by the derivative of the activation below."""
    cdef Py_ssize_t j
    if dh_extra != NULL:
        for j in range(n):
            d_prev[j] += dh_extra[j]
    if act_prev != IDENTITY:
        derivative_block(act_prev, d_prev, a_in, n)


cdef inline void conv_forward(const floating* params, const Py_ssize_t* layers,
                              Py_ssize_t l, const floating* inp, floating* out,
                              Py_ssize_t batch, bint apply_activation, floating* scratch,
                              int n_threads) noexcept nogil:
    """out = f(conv(inp) + b), one row per thread at a time; each row's im2col
    matrix is left in scratch."""
    cdef Window win = window_of(layers, l, False)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t c_out = col(layers, l, COL_OUT_C), k = filter_size(&win)
    cdef Py_ssize_t positions = win.oh * win.ow, i, c, p
    cdef const floating* w = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    cdef int act = <int> col(layers, l, COL_ACT)
    cdef floating* cols
    cdef floating* o
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        cols = scratch + i * k * positions
        o = out + i * n_out
        im2col(&win, inp + i * n_in, cols)
        for c in range(c_out):
            for p in range(positions):
                o[c * positions + p] = b[c]
        # o (C_out, positions) += W (C_out, k) @ cols (k, positions)
        gemm_rm(c'N', c'N', <int> c_out, <int> positions, <int> k, 1, w, <int> k,
                cols, <int> positions, 1, o, <int> positions)
        if apply_activation and act != IDENTITY:
            activate_block(act, o, n_out)


cdef inline void conv_backward(const floating* params, floating* grad,
                               const Py_ssize_t* layers, Py_ssize_t l,
                               const floating* a_in, const floating* d, floating* d_prev,
                               const floating* dh_extra, Py_ssize_t batch,
                               floating* scratch, int n_threads) noexcept nogil:
    """Weight and bias gradients from the delta d (batch, C_out * positions)
    and the im2col matrices in scratch; then, if d_prev is not NULL, the delta
    below: col2im(W.T @ d) per row (the scratch reused for W.T @ d), times the
    derivative of the activation below."""
    cdef Window win = window_of(layers, l, False)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t c_out = col(layers, l, COL_OUT_C), k = filter_size(&win)
    cdef Py_ssize_t positions = win.oh * win.ow, i
    cdef const floating* w = params + col(layers, l, COL_W)
    cdef floating* gw = grad + col(layers, l, COL_W)
    cdef floating* gb = grad + col(layers, l, COL_B)
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    cdef floating* cols
    # gW += d_i (C_out, positions) @ cols_i.T (positions, k) over the rows
    filter_gradient(gw, d, n_out, scratch, batch, c_out, k, positions, n_threads)
    bias_gradient(gb, d, batch, n_out, c_out, positions, n_threads)
    if d_prev == NULL:
        return
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        cols = scratch + i * k * positions
        # cols (k, positions) = W.T (k, C_out) @ d_i (C_out, positions)
        gemm_rm(c'T', c'N', <int> k, <int> positions, <int> c_out, 1, w, <int> k,
                d + i * n_out, <int> positions, 0, cols, <int> positions)
        col2im(&win, cols, d_prev + i * n_in)
        finish_delta(d_prev + i * n_in, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)


cdef inline bint conv_pointwise(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """Whether the layer maps each step of a series alone (a 1 x 1 window,
    stride 1, no padding, over (C, 1, T)): then it can run a step at a time."""
    return (col(layers, l, COL_IN_H) == 1 and col(layers, l, COL_KH) == 1
            and col(layers, l, COL_KW) == 1 and col(layers, l, COL_SH) == 1
            and col(layers, l, COL_SW) == 1 and col(layers, l, COL_PH) == 0
            and col(layers, l, COL_PW) == 0)


cdef inline Py_ssize_t conv_step_scratch(const Py_ssize_t* layers,
                                         Py_ssize_t l) noexcept nogil:
    """A pointwise layer's output at one step (C_out,)."""
    return col(layers, l, COL_OUT_C)


cdef inline floating* conv_step(const floating* params, const Py_ssize_t* layers,
                                Py_ssize_t l, const floating* u, Py_ssize_t ldu,
                                Py_ssize_t rows, floating* work,
                                Py_ssize_t ld) noexcept nogil:
    """One step of a pointwise layer for a block of rows: row r's output f(W
    x + b) at work + r ld from its input x (C_in,) at u + r ldu."""
    cdef Py_ssize_t c_out = col(layers, l, COL_OUT_C), r, c
    cdef const floating* b = params + col(layers, l, COL_B)
    for r in range(rows):
        for c in range(c_out):
            work[r * ld + c] = b[c]
    gemm_rm(c'N', c'T', <int> rows, <int> c_out, <int> col(layers, l, COL_IN_C), 1, u,
            <int> ldu, params + col(layers, l, COL_W), <int> col(layers, l, COL_IN_C), 1,
            work, <int> ld)
    for r in range(rows):
        activate_block(<int> col(layers, l, COL_ACT), work + r * ld, c_out)
    return work
