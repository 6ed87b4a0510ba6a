# Max and average pooling: each channel on its own, each window position of the
# output the maximum or the mean of the input values its window covers
# (layers/window.pxd; padding positions take no part: a max ignores them and a
# mean divides by the covered count, ONNX's count_include_pad = 0). No
# parameters, the identity as activation.
#
# The forward pass of a max records in the layer's scratch where each window's
# maximum is (its "switch": the first maximum in the window's order, or the
# first NaN, so that a diverging network is seen at the loss), as an int32
# index into the row; the backward pass sends each window's delta there. (It
# used to find the maximum again in the input: which tap wins is data, and the
# mispredicted branches made that the slowest loop of a convolutional epoch.)
# Rows are independent: threads take rows, and results do not depend on their
# count.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport INT32_MAX, int32_t
from libc.string cimport memset

from ..maths.activations cimport IDENTITY
from .convolution cimport finish_delta
from .table cimport (
    COL_ACT, COL_IN, COL_IN_C, COL_KIND, COL_OUT, COL_OUT_C, COL_TRANS, MAX_POOL, col,
)
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
    if layers[l, COL_IN] > INT32_MAX:
        raise ValueError(f"kernel: pooling layer {l}'s rows are too wide to index.")
    return 0


cdef inline Py_ssize_t pool_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """A max's switches: an int32 per output value, in a float's room."""
    return col(layers, l, COL_OUT) if col(layers, l, COL_KIND) == MAX_POOL else 0


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


cdef inline void plain_max_forward(const Window* win, const floating* x, floating* out,
                                   int32_t* switches) noexcept nogil:
    """The forward max without padding or dilation, the common case: a row of
    outputs at a time, tap by tap, with no branch in the loop over the row (so
    the compiler vectorises it). A tap replaces the running maximum when
    larger, or when NaN where the maximum is not: the first maximum (or NaN)
    in the window's order wins, and its index in x goes to switches. The
    window's sizes are in locals, since stores through out would otherwise make
    the compiler read them again from *win."""
    cdef Py_ssize_t h = win.h, w = win.w, oh = win.oh, ow = win.ow
    cdef Py_ssize_t kh = win.kh, kw = win.kw, sh = win.sh, sw = win.sw
    cdef Py_ssize_t c, oy, ox, ky, kx, base
    cdef const floating* r
    cdef floating* o
    cdef int32_t* sw_row
    cdef floating v, top
    cdef bint take
    for c in range(win.c):
        for oy in range(oh):
            o = out + (c * oh + oy) * ow
            sw_row = switches + (c * oh + oy) * ow
            base = (c * h + oy * sh) * w
            r = x + base
            for ox in range(ow):
                o[ox] = r[ox * sw]
                sw_row[ox] = <int32_t> (base + ox * sw)
            for ky in range(kh):
                for kx in range(kw):
                    if ky == 0 and kx == 0:
                        continue
                    for ox in range(ow):
                        v = r[ky * w + ox * sw + kx]
                        top = o[ox]
                        take = (v > top) | ((v != v) & (top == top))
                        o[ox] = v if take else top
                        sw_row[ox] = (<int32_t> (base + ky * w + ox * sw + kx) if take
                                      else sw_row[ox])


cdef inline void average_row(const Window* win, const floating* x, floating* out,
                             floating* d_x, const floating* d_out) noexcept nogil:
    """Forward (d_x NULL): out <- each window's mean of the positions it
    covers. Backward: d_x += each window's delta shared evenly over them (d_x
    zeroed by the caller)."""
    cdef Py_ssize_t c, oy, ox, ky, kx, iy, ix, o, at
    cdef floating s, share = 0
    for c in range(win.c):
        for oy in range(win.oh):
            for ox in range(win.ow):
                o = (c * win.oh + oy) * win.ow + ox
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
                        at = (c * win.h + iy) * win.w + ix
                        if d_x == NULL:
                            s = s + x[at]
                        else:
                            d_x[at] += share
                if d_x == NULL:
                    out[o] = s / window_count(win, oy, ox)


cdef inline void pool_row(int mode, const Window* win, const floating* x, floating* out,
                          int32_t* switches) noexcept nogil:
    """out <- the pooled x; a max's switches (the index in x of each window's
    maximum) into switches."""
    cdef Py_ssize_t c, oy, ox, o, at
    if mode == POOL_AVERAGE:
        average_row(win, x, out, NULL, NULL)
    elif win.ph == 0 and win.pw == 0 and win.dh == 1 and win.dw == 1:
        plain_max_forward(win, x, out, switches)
    else:
        for c in range(win.c):
            for oy in range(win.oh):
                for ox in range(win.ow):
                    o = (c * win.oh + oy) * win.ow + ox
                    at = c * win.h * win.w + window_max(win, x + c * win.h * win.w, oy, ox)
                    out[o] = x[at]
                    switches[o] = <int32_t> at


cdef inline void pool_forward(int mode, const Py_ssize_t* layers, Py_ssize_t l,
                              const floating* inp, floating* out, Py_ssize_t batch,
                              floating* scratch, int n_threads) noexcept nogil:
    """out = the pooled inp; a max's switches into scratch (pool_scratch per
    row)."""
    cdef Window win = window_of(layers, l, False)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT), i
    cdef int32_t* switches = <int32_t*> scratch
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        pool_row(mode, &win, inp + i * n_in, out + i * n_out,
                 switches + i * n_out if mode == POOL_MAX else NULL)


cdef inline void pool_backward(int mode, const Py_ssize_t* layers, Py_ssize_t l,
                               const floating* a_in, const floating* d, floating* d_prev,
                               const floating* dh_extra, Py_ssize_t batch,
                               const floating* scratch, int n_threads) noexcept nogil:
    """The delta below: each window's delta to the maximum it took (its
    switch, from the forward pass), or shared evenly over the positions it
    averaged; then times the derivative below. Windows add in output order."""
    cdef Window win = window_of(layers, l, False)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT), i, o
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    cdef const int32_t* switches
    cdef floating* dx
    cdef const floating* dy
    if d_prev == NULL:
        return
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        dx = d_prev + i * n_in
        dy = d + i * n_out
        memset(dx, 0, n_in * sizeof(floating))
        if mode == POOL_MAX:
            switches = (<const int32_t*> scratch) + i * n_out
            for o in range(n_out):
                dx[switches[o]] += dy[o]
        else:
            average_row(&win, NULL, NULL, dx, dy)
        finish_delta(dx, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)
