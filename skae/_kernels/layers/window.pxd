# Sliding windows over one row laid out (channels, height, width), shared by the
# layer kinds that have one (convolution, transposed convolution, pooling).
#
# A window has a kernel (KH, KW), a stride, a zero padding on both sides and a
# dilation per axis. Output position (oy, ox) sees input rows
# iy = oy * SH - PH + ky * DH for ky < KH (columns alike); positions outside the
# input are the padding. A series is an image of height 1 (KH = SH = DH = 1,
# PH = 0), so one code serves 1-D and 2-D.
#
# im2col lays a row's windows out as a (C * KH * KW, OH * OW) matrix ("columns",
# Chellapilla et al., 2006; Caffe's layout): a convolution is then one GEMM of
# the filters with it, and col2im adds such a matrix back onto the input's
# positions, which is the convolution's input gradient and the transposed
# convolution's forward pass. Both walk a column's positions in order, so they
# write (im2col) and read (col2im) contiguous runs.

from cython cimport floating
from libc.string cimport memset

from .table cimport (
    COL_IN_C, COL_IN_H, COL_IN_W, COL_OUT_C, COL_OUT_H, COL_OUT_W, COL_KH, COL_KW,
    COL_SH, COL_SW, COL_PH, COL_PW, COL_DH, COL_DW, col,
)


cdef struct Window:
    Py_ssize_t c, h, w           # the image the window slides over
    Py_ssize_t oh, ow            # the window's positions
    Py_ssize_t kh, kw, sh, sw, ph, pw, dh, dw


cdef inline Py_ssize_t window_positions(Py_ssize_t size, Py_ssize_t kernel,
                                        Py_ssize_t stride, Py_ssize_t padding,
                                        Py_ssize_t dilation) noexcept nogil:
    """How many positions a window takes along an axis (< 1: none fits)."""
    cdef Py_ssize_t span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    return span // stride + 1


cdef inline Window window_of(const Py_ssize_t* layers, Py_ssize_t l,
                             bint over_output) noexcept nogil:
    """Layer l's window, sliding over its input (a convolution, a pooling) or,
    if over_output, over its output (a transposed convolution, whose input
    holds one value per window position)."""
    cdef Window win
    if over_output:
        win.c = col(layers, l, COL_OUT_C)
        win.h = col(layers, l, COL_OUT_H)
        win.w = col(layers, l, COL_OUT_W)
        win.oh = col(layers, l, COL_IN_H)
        win.ow = col(layers, l, COL_IN_W)
    else:
        win.c = col(layers, l, COL_IN_C)
        win.h = col(layers, l, COL_IN_H)
        win.w = col(layers, l, COL_IN_W)
        win.oh = col(layers, l, COL_OUT_H)
        win.ow = col(layers, l, COL_OUT_W)
    win.kh = col(layers, l, COL_KH)
    win.kw = col(layers, l, COL_KW)
    win.sh = col(layers, l, COL_SH)
    win.sw = col(layers, l, COL_SW)
    win.ph = col(layers, l, COL_PH)
    win.pw = col(layers, l, COL_PW)
    win.dh = col(layers, l, COL_DH)
    win.dw = col(layers, l, COL_DW)
    return win


cdef inline int check_window(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                             bint over_output) except -1:
    """Kernel, stride and dilation at least 1, padding at least 0 and less than
    the dilated kernel, and the window's positions the ones its geometry says."""
    cdef Window win = window_of(&layers[0, 0], l, over_output)
    if min(win.kh, win.kw, win.sh, win.sw, win.dh, win.dw) < 1 or min(win.ph, win.pw) < 0:
        raise ValueError(f"kernel: layer {l}'s window needs kernel, stride and dilation "
                         "of at least 1 and a padding of at least 0.")
    if win.ph > win.dh * (win.kh - 1) or win.pw > win.dw * (win.kw - 1):
        raise ValueError(f"kernel: layer {l}'s padding is wider than its kernel reaches.")
    if (window_positions(win.h, win.kh, win.sh, win.ph, win.dh) != win.oh
            or window_positions(win.w, win.kw, win.sw, win.pw, win.dw) != win.ow):
        raise ValueError(f"kernel: layer {l}'s window does not take the positions its "
                         "geometry says.")
    return 0


cdef inline void valid_positions(Py_ssize_t positions, Py_ssize_t size,
                                 Py_ssize_t stride, Py_ssize_t offset, Py_ssize_t* lo,
                                 Py_ssize_t* hi) noexcept nogil:
    """The positions o in [lo, hi) of [0, positions) whose input index
    o * stride + offset lies in [0, size): one run, since the index grows with
    o. (Only non-negative operands are divided, so that the debug build's
    Python division agrees.)"""
    cdef Py_ssize_t last = size - 1 - offset
    lo[0] = 0 if offset >= 0 else (stride - 1 - offset) // stride
    hi[0] = 0 if last < 0 else min(last // stride + 1, positions)
    if lo[0] > hi[0]:
        lo[0] = hi[0]


cdef inline void im2col(const Window* win, const floating* x,
                        floating* cols) noexcept nogil:
    """cols (C * KH * KW, OH * OW) <- the windows of x (C, H, W), 0 where they
    reach into the padding. Each output row of a tap is a run of valid
    columns between two runs of padding, so the copy has no test per element
    (a contiguous copy at stride 1, which the compiler vectorises)."""
    cdef Py_ssize_t c, ky, kx, oy, ox, iy, lo, hi, off, n = win.oh * win.ow
    cdef Py_ssize_t ow = win.ow, sw = win.sw
    cdef const floating* src
    cdef floating* dst = cols
    for c in range(win.c):
        for ky in range(win.kh):
            for kx in range(win.kw):
                off = kx * win.dw - win.pw
                valid_positions(ow, win.w, sw, off, &lo, &hi)
                for oy in range(win.oh):
                    iy = oy * win.sh - win.ph + ky * win.dh
                    if iy < 0 or iy >= win.h:
                        memset(dst + oy * ow, 0, ow * sizeof(floating))
                        continue
                    for ox in range(lo):
                        dst[oy * ow + ox] = 0
                    if hi > lo:
                        # the input at column lo * sw + off, the first the run reads
                        src = x + (c * win.h + iy) * win.w + lo * sw + off
                        if sw == 1:
                            for ox in range(hi - lo):
                                dst[oy * ow + lo + ox] = src[ox]
                        else:
                            for ox in range(hi - lo):
                                dst[oy * ow + lo + ox] = src[ox * sw]
                    for ox in range(hi, ow):
                        dst[oy * ow + ox] = 0
                dst += n


cdef inline void col2im(const Window* win, const floating* cols,
                        floating* x) noexcept nogil:
    """x (C, H, W) <- the sum, at each input position, of the entries of cols
    (C * KH * KW, OH * OW) whose windows cover it (padding entries dropped).
    Overwrites x; the order of the additions is fixed (taps in order, each
    adding a run of valid columns, as im2col)."""
    cdef Py_ssize_t c, ky, kx, oy, ox, iy, lo, hi, off, n = win.oh * win.ow
    cdef Py_ssize_t ow = win.ow, sw = win.sw
    cdef floating* dst
    cdef const floating* src = cols
    memset(x, 0, win.c * win.h * win.w * sizeof(floating))
    for c in range(win.c):
        for ky in range(win.kh):
            for kx in range(win.kw):
                off = kx * win.dw - win.pw
                valid_positions(ow, win.w, sw, off, &lo, &hi)
                for oy in range(win.oh):
                    iy = oy * win.sh - win.ph + ky * win.dh
                    if iy < 0 or iy >= win.h or hi <= lo:
                        continue
                    dst = x + (c * win.h + iy) * win.w + lo * sw + off
                    if sw == 1:
                        for ox in range(hi - lo):
                            dst[ox] += src[oy * ow + lo + ox]
                    else:
                        for ox in range(hi - lo):
                            dst[ox * sw] += src[oy * ow + lo + ox]
                src += n
