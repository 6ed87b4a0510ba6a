# Max and average pooling: each channel on its own, each window position of the
# output the maximum or the mean of the input values its window covers
# (layers/window.pxd; padding positions take no part: a max ignores them and a
# mean divides by the covered count, ONNX's count_include_pad = 0). No
# parameters, the identity as activation.
#
# The backward pass of a max finds the window's maximum again in the input
# (the layer's input is kept for the pass below anyway), the first in the
# window's order on ties, so no switches are stored; a NaN wins its window, so
# a diverging network is seen at the loss. Rows are independent: threads take
# rows, and results do not depend on their count.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.string cimport memset

from ..maths.activations cimport IDENTITY
from .convolution cimport finish_delta
from .table cimport COL_ACT, COL_IN, COL_IN_C, COL_OUT, COL_OUT_C, COL_TRANS, col
from .window cimport Window, check_window, window_of


cdef enum PoolMode:
    POOL_MAX = 0
    POOL_AVERAGE = 1


cdef inline int pool_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                           Py_ssize_t n_params) except -1:
    check_window(layers, l, False)
    if (layers[l, COL_IN_C] != layers[l, COL_OUT_C] or layers[l, COL_TRANS] != 0
            or layers[l, COL_ACT] != IDENTITY):
        raise ValueError(f"kernel: pooling layer {l} must keep its channels, be "
                         "untied and use the identity.")
    return 0


cdef inline Py_ssize_t pool_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t pool_weights_end(const Py_ssize_t* layers,
                                        Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t window_max(const Window* win, const floating* xc, Py_ssize_t oy,
                                  Py_ssize_t ox) noexcept nogil:
    """Index in the channel xc (H * W) of the maximum of window (oy, ox): the
    first maximum in the window's order, a NaN if there is one."""
    cdef Py_ssize_t ky, kx, iy, ix, best = -1
    cdef floating v, top = -INFINITY
    for ky in range(win.kh):
        iy = oy * win.sh - win.ph + ky * win.dh
        if iy < 0 or iy >= win.h:
            continue
        for kx in range(win.kw):
            ix = ox * win.sw - win.pw + kx * win.dw
            if ix < 0 or ix >= win.w:
                continue
            v = xc[iy * win.w + ix]
            if v != v:
                return iy * win.w + ix
            if best < 0 or v > top:
                top = v
                best = iy * win.w + ix
    return best


cdef inline Py_ssize_t window_count(const Window* win, Py_ssize_t oy,
                                    Py_ssize_t ox) noexcept nogil:
    """How many input positions window (oy, ox) covers (padding excluded)."""
    cdef Py_ssize_t ky, kx, iy, ix, rows = 0, cols = 0
    for ky in range(win.kh):
        iy = oy * win.sh - win.ph + ky * win.dh
        rows += 0 <= iy < win.h
    for kx in range(win.kw):
        ix = ox * win.sw - win.pw + kx * win.dw
        cols += 0 <= ix < win.w
    return rows * cols


cdef inline void plain_max_forward(const Window* win, const floating* x,
                                   floating* out) noexcept nogil:
    """The forward max without padding or dilation, the common case: a row of
    outputs at a time, tap by tap, with no branch in the loop over the row (so
    the compiler vectorises it). A NaN wins: v replaces the running maximum
    when larger or NaN, and nothing replaces a NaN (no comparison with it
    holds). The window's sizes are in locals, since stores through out would
    otherwise make the compiler read them again from *win."""
    cdef Py_ssize_t h = win.h, w = win.w, oh = win.oh, ow = win.ow
    cdef Py_ssize_t kh = win.kh, kw = win.kw, sh = win.sh, sw = win.sw
    cdef Py_ssize_t c, oy, ox, ky, kx
    cdef const floating* r
    cdef floating* o
    cdef floating v
    for c in range(win.c):
        for oy in range(oh):
            o = out + (c * oh + oy) * ow
            r = x + c * h * w + oy * sh * w
            for ox in range(ow):
                o[ox] = r[ox * sw]
            for ky in range(kh):
                for kx in range(kw):
                    if ky == 0 and kx == 0:
                        continue
                    for ox in range(ow):
                        v = r[ky * w + ox * sw + kx]
                        o[ox] = v if (v > o[ox]) | (v != v) else o[ox]


cdef inline void plain_max_backward(const Window* win, const floating* x,
                                    floating* d_x, const floating* d_out) noexcept nogil:
    """The backward max without padding or dilation: each window's delta to
    its first maximum (or first NaN) in the window's order, the position the
    general path (window_max) finds, with the sizes in locals. (A branch-free
    version over chunks of a row, as the forward, measured 2.5 times slower.)"""
    cdef Py_ssize_t h = win.h, w = win.w, oh = win.oh, ow = win.ow
    cdef Py_ssize_t kh = win.kh, kw = win.kw, sh = win.sh, sw = win.sw
    cdef Py_ssize_t c, oy, ox, ky, kx, best, at
    cdef const floating* xc
    cdef floating v, top
    for c in range(win.c):
        xc = x + c * h * w
        for oy in range(oh):
            for ox in range(ow):
                best = oy * sh * w + ox * sw
                top = xc[best]
                for ky in range(kh):
                    for kx in range(kw):
                        at = (oy * sh + ky) * w + ox * sw + kx
                        v = xc[at]
                        if v > top or (v != v and top == top):
                            top = v
                            best = at
                d_x[c * h * w + best] += d_out[(c * oh + oy) * ow + ox]


cdef inline void pool_row(int mode, const Window* win, const floating* x, floating* out,
                          floating* d_x, const floating* d_out) noexcept nogil:
    """Forward (d_x NULL): out <- the pooled x. Backward: d_x += each window's
    share of d_out (d_x zeroed by the caller)."""
    cdef Py_ssize_t c, oy, ox, ky, kx, iy, ix, o
    cdef const floating* xc
    cdef floating s, share = 0
    if (mode == POOL_MAX and win.ph == 0 and win.pw == 0 and win.dh == 1
            and win.dw == 1):
        if d_x == NULL:
            plain_max_forward(win, x, out)
        else:
            plain_max_backward(win, x, d_x, d_out)
        return
    for c in range(win.c):
        xc = x + c * win.h * win.w
        for oy in range(win.oh):
            for ox in range(win.ow):
                o = (c * win.oh + oy) * win.ow + ox
                if mode == POOL_MAX:
                    if d_x == NULL:
                        out[o] = xc[window_max(win, xc, oy, ox)]
                    else:
                        d_x[c * win.h * win.w + window_max(win, xc, oy, ox)] += d_out[o]
                    continue
                if d_x != NULL:
                    share = d_out[o] / window_count(win, oy, ox)
                s = 0
                for ky in range(win.kh):
                    iy = oy * win.sh - win.ph + ky * win.dh
                    if iy < 0 or iy >= win.h:
                        continue
                    for kx in range(win.kw):
                        ix = ox * win.sw - win.pw + kx * win.dw
                        if ix < 0 or ix >= win.w:
                            continue
                        if d_x == NULL:
                            s = s + xc[iy * win.w + ix]
                        else:
                            d_x[c * win.h * win.w + iy * win.w + ix] += share
                if d_x == NULL:
                    out[o] = s / window_count(win, oy, ox)


cdef inline void pool_forward(int mode, const Py_ssize_t* layers, Py_ssize_t l,
                              const floating* inp, floating* out, Py_ssize_t batch,
                              int n_threads) noexcept nogil:
    cdef Window win = window_of(layers, l, False)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT), i
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        pool_row(mode, &win, inp + i * n_in, out + i * n_out, NULL, NULL)


cdef inline void pool_backward(int mode, const Py_ssize_t* layers, Py_ssize_t l,
                               const floating* a_in, const floating* d, floating* d_prev,
                               const floating* dh_extra, Py_ssize_t batch,
                               int n_threads) noexcept nogil:
    """The delta below: each window's delta to the maximum it took, or shared
    evenly over the positions it averaged, times the derivative below."""
    cdef Window win = window_of(layers, l, False)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT), i
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    if d_prev == NULL:
        return
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        memset(d_prev + i * n_in, 0, n_in * sizeof(floating))
        pool_row(mode, &win, a_in + i * n_in, NULL, d_prev + i * n_in, d + i * n_out)
        finish_delta(d_prev + i * n_in, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)
