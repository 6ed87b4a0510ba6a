# The input of an autoregressive recurrent decoder: a code of K values, (K, 1,
# 1), given to every one of T steps together with the series' value one step
# back, (K + C, 1, T): step k reads [code | x_{k-1}] (0 at step 0), C the
# series' channels. The decoder above it (its KH column holds how many layers:
# those up to the network's output, which rebuilds the series) is then a
# model of each step given the ones before it and the code.
#
# Which x_{k-1}: with the pass's input rows (teacher, training) the true one
# ("teacher forcing") on a share draws.teacher_forcing of the steps, drawn per
# row and step from the row's stream, and otherwise the decoder's own output
# at step k - 1; without them (inference) always its own: the decoder rebuilds
# the series from the code alone, and as its output at step k - 1 is needed
# for step k's input, the layers above run step by step here
# (layers/stepping.pxd), block of rows by block of rows, before the pass runs
# them layer by layer over what this layer fed them. The fed values are
# inputs of the pass: the gradient does not flow back through them (as
# scheduled sampling is trained, Bengio et al., 2015).
#
# A decoder that rebuilds a row backwards (a reverse layer among those above)
# rebuilds at its step k the row's step L - 1 - k, so the true value it is fed
# at step k is x_{L - k}, L the row's length. A row's steps from L on are 0.
# No parameters; backward: each code unit receives the sum of its T deltas,
# the fed values none.

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memset

from ..maths.activations cimport IDENTITY
from ..maths.random cimport skae_stream_double, skae_stream_seed
from .recurrent cimport ROW_BLOCK, n_row_blocks, row_length
from .repeat cimport code_deltas
from .sampling cimport Draws
from .stepping cimport layer_step, layer_step_scratch, layer_steps
from .table cimport (
    COL_ACT, COL_IN, COL_IN_C, COL_IN_H, COL_IN_W, COL_KH, COL_KIND, COL_KW, COL_OUT,
    COL_OUT_C, COL_OUT_H, COL_OUT_W, COL_TRANS, GAUSSIAN_SAMPLE, REVERSE, col,
)


cdef struct Feedback:
    Py_ssize_t k, c, t       # code units, channels fed back, time steps
    Py_ssize_t depth         # the layers above it, to the output
    bint reversed            # the decoder rebuilds rows backwards
    Py_ssize_t per_row       # its scratch per row


cdef inline Feedback feedback_of(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    cdef Feedback fb
    cdef Py_ssize_t m
    fb.k = col(layers, l, COL_IN)
    fb.c = col(layers, l, COL_OUT_C) - fb.k
    fb.t = col(layers, l, COL_OUT_W)
    fb.depth = col(layers, l, COL_KH)
    fb.reversed = False
    # A row's scratch: the step's input [code | fed values], then what each
    # layer above keeps to step.
    fb.per_row = fb.k + fb.c
    for m in range(l + 1, l + 1 + fb.depth):
        fb.reversed = fb.reversed or col(layers, m, COL_KIND) == REVERSE
        fb.per_row += layer_step_scratch(layers, m)
    return fb


cdef inline int feedback_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                               Py_ssize_t n_params) except -1:
    """(K, 1, 1) to (K + C, 1, T), untied, the identity; the KH layers above
    it reach the output, can step, and the last is no reverse layer; the
    network reads and rebuilds series (C, 1, T); no sampling layer beside it
    (they would share the rows' streams)."""
    cdef Py_ssize_t n = layers.shape[0], k = layers[l, COL_IN], m
    cdef Py_ssize_t depth = layers[l, COL_KH]
    cdef Py_ssize_t c = layers[l, COL_OUT_C] - k, t = layers[l, COL_OUT_W]
    if (layers[l, COL_IN_H] != 1 or layers[l, COL_IN_W] != 1 or layers[l, COL_IN_C] != k
            or layers[l, COL_OUT_H] != 1 or c < 1 or t < 1 or layers[l, COL_KW] != 0
            or layers[l, COL_TRANS] != 0 or layers[l, COL_ACT] != IDENTITY):
        raise ValueError(f"kernel: feedback layer {l} must map (K, 1, 1) to (K + C, 1, "
                         "T), untied, with the identity.")
    if depth < 1 or l + depth != n - 1:
        raise ValueError(f"kernel: feedback layer {l} must step through the {n - 1 - l} "
                         f"layers above it, to the output; its table says {depth}.")
    if (layers[0, COL_IN_C] != c or layers[0, COL_IN_H] != 1 or layers[0, COL_IN_W] != t
            or layers[n - 1, COL_OUT_C] != c or layers[n - 1, COL_OUT_W] != t
            or layers[n - 1, COL_KIND] == REVERSE):
        raise ValueError(f"kernel: feedback layer {l} feeds back {c} channels of {t} "
                         "steps: the network must read and rebuild series of that shape, "
                         "its last layer no reverse layer.")
    for m in range(n):
        if m > l and not layer_steps(&layers[0, 0], m):
            raise ValueError(f"kernel: layer {m}, above feedback layer {l}, cannot run "
                             "a step at a time (layers/stepping.pxd).")
        if m != l and layers[m, COL_KIND] in (layers[l, COL_KIND], GAUSSIAN_SAMPLE):
            raise ValueError(f"kernel: feedback layer {l} and layer {m}: a network has "
                             "at most one feedback or sampling layer.")
    return 0


cdef inline Py_ssize_t feedback_scratch(const Py_ssize_t* layers,
                                        Py_ssize_t l) noexcept nogil:
    return feedback_of(layers, l).per_row


cdef inline Py_ssize_t feedback_weights_end(const Py_ssize_t* layers,
                                            Py_ssize_t l) noexcept nogil:
    return 0


cdef inline Py_ssize_t fed_step(const Feedback* fb, Py_ssize_t k,
                                Py_ssize_t length) noexcept nogil:
    """The step of the row whose true value is fed at step k >= 1."""
    return length - k if fb.reversed else k - 1


cdef inline void free_run(const Feedback* fb, const floating* params,
                          const Py_ssize_t* layers, Py_ssize_t l, const floating* code,
                          const floating* teacher, double ratio,
                          const floating* lengths, const Draws* draws, Py_ssize_t i0,
                          Py_ssize_t rows, floating* scratch, floating* out,
                          Py_ssize_t n_out) noexcept nogil:
    """Rows i0 .. i0 + rows step by step through the layers above, each
    step's input [code | fed values] built from the true values (teacher, on
    the steps a row's draw gives them) or the previous step's output; the fed
    values go to out."""
    cdef Py_ssize_t per_row = fb.per_row, r, j, k, m, length, at, ld
    cdef Py_ssize_t ld_y = 0, longest = 0
    cdef const floating* y = NULL
    cdef const floating* v
    cdef floating* u
    cdef bint true_value
    memset(scratch, 0, rows * per_row * sizeof(floating))
    for r in range(rows):
        for j in range(fb.k):
            scratch[r * per_row + j] = code[(i0 + r) * fb.k + j]
        longest = max(longest, row_length(lengths, i0 + r, fb.t))
        if 0 < ratio < 1:
            skae_stream_seed(&draws.streams[i0 + r], draws.seeds[i0 + r])
    for k in range(longest):
        for r in range(rows):
            u = scratch + r * per_row + fb.k
            length = row_length(lengths, i0 + r, fb.t)
            if k == 0 or k >= length:
                continue
            true_value = ratio > 0 and skae_stream_double(&draws.streams[i0 + r]) < ratio
            at = fed_step(fb, k, length)
            for j in range(fb.c):
                if true_value:
                    u[j] = teacher[((i0 + r) * fb.c + j) * fb.t + at]
                else:
                    u[j] = y[r * ld_y + j]
                out[(i0 + r) * n_out + (fb.k + j) * fb.t + k] = u[j]
        v = scratch
        ld = per_row
        at = fb.k + fb.c
        for m in range(l + 1, l + 1 + fb.depth):
            v = layer_step(params, layers, m, v, ld, rows, scratch + at, per_row, k,
                           lengths, i0, &ld)
            at += layer_step_scratch(layers, m)
        y = v
        ld_y = ld


cdef inline void feedback_forward(const floating* params, const Py_ssize_t* layers,
                                  Py_ssize_t l, const floating* inp, floating* out,
                                  Py_ssize_t batch, const floating* teacher,
                                  const floating* lengths, floating* scratch,
                                  const Draws* draws, int n_threads) noexcept nogil:
    """out = [code | fed values] per step; teacher (the pass's input rows, or
    NULL) and draws.teacher_forcing say which values are fed (see above)."""
    cdef Feedback fb = feedback_of(layers, l)
    cdef Py_ssize_t n_out = col(layers, l, COL_OUT), i, j, k, length, blk, i0
    cdef double ratio = draws.teacher_forcing if teacher != NULL else 0
    cdef floating* o
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        o = out + i * n_out
        for j in range(fb.k):
            for k in range(fb.t):
                o[j * fb.t + k] = inp[i * fb.k + j]
        memset(o + fb.k * fb.t, 0, fb.c * fb.t * sizeof(floating))
        if ratio >= 1:
            length = row_length(lengths, i, fb.t)
            for j in range(fb.c):
                for k in range(1, length):
                    o[(fb.k + j) * fb.t + k] = teacher[(i * fb.c + j) * fb.t
                                                       + fed_step(&fb, k, length)]
    if ratio >= 1:
        return
    for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
        i0 = blk * ROW_BLOCK
        free_run(&fb, params, layers, l, inp, teacher, ratio, lengths, draws, i0,
                 min(ROW_BLOCK, batch - i0), scratch + i0 * fb.per_row, out, n_out)


cdef inline void feedback_backward(const Py_ssize_t* layers, Py_ssize_t l,
                                   const floating* a_in, const floating* d,
                                   floating* d_prev, const floating* dh_extra,
                                   Py_ssize_t batch, int n_threads) noexcept nogil:
    """Each code unit's delta: the sum of its steps' deltas, as the repeat
    layer's; the fed channels' deltas go nowhere."""
    if d_prev != NULL:
        code_deltas(d, col(layers, l, COL_OUT), col(layers, l, COL_IN),
                    col(layers, l, COL_OUT_W), a_in, d_prev, dh_extra,
                    <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY, batch,
                    n_threads)
