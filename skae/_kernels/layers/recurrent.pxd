# What the recurrent layer kinds share (layers/gru.pxd, layers/lstm.pxd): the
# time loop's layout, blocks and products; each cell brings its gate equations.
#
# A recurrent layer runs over a row laid out (C, 1, T): C channels of T time
# steps, channel-major, as a series' row is everywhere in skae. Its output is
# every state, (D H, 1, T), or only the last, (D H, 1, 1) (the output's width
# says which), for D = 1 direction (forward in time) or 2 (bidirectional: the
# forward direction's H channels, then those of a second recurrence that reads
# the row backwards, from its last step; ONNX's "bidirectional"). A row of
# length L < T (lengths, read from the data's padding; NULL: every row has T
# steps) stops after L steps: its later outputs are 0, its last state is h_L
# (the backward direction's, after reading step 0), and the backward direction
# starts at step L - 1: a padded sequence gives what it gives alone.
#
# Parameters: per direction, one matrix (G * H, C + H) for a cell of G gates,
# gate row g holding [W_g | R_g] (input weights | recurrent weights), so that
# they are blocks of one matrix (Glorot's bound over it), the directions' one
# after the other at the weight offset; biases (D, 2 G H) [b | c] (ONNX's Wb |
# Rb). Gates in ONNX's order.
#
# A row's scratch holds one region a direction. Each starts with each step's
# values, (T, step) with step >= G H, indexed by time (the gates'
# pre-activations, then their values, then in the backward pass their deltas),
# then its states (T + 1, H): h_0 .. h_T forward, and backwards the state after
# reading steps t .. L - 1 at index t (0 at L); a cell keeps what else it needs
# after those.
#
# The recipe that makes recurrent layers fast on a CPU: each row's input
# projection for all T steps is one GEMM; each step is one GEMM of a block of
# rows' states with the recurrent weights of all gates; the backward pass runs
# only the recurrent product step by step, keeping each step's gate deltas, and
# after the time loop the weight gradients are single GEMMs over the steps.
# Rows are independent, so threads take fixed blocks of rows (ROW_BLOCK) in the
# time loops; the weight gradient sums over rows, so threads take fixed blocks
# of gate rows and add the rows in order: results do not depend on the thread
# count.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport tanh
from libc.string cimport memset

from ..maths.activations cimport IDENTITY
from ..maths.blas cimport COL_BLOCK, block_width, gemm_rm, n_blocks
from .convolution cimport check_parameters, finish_delta
from .table cimport (
    COL_ACT, COL_IN_C, COL_IN_H, COL_IN_W, COL_KH, COL_OUT_C, COL_OUT_H, COL_OUT_W,
    COL_TRANS, COL_W, col,
)


cdef extern from "maths/vecmath.h" nogil:
    float skae_tanhf(float x)


cdef struct Recurrence:
    Py_ssize_t c, h, t       # input channels, hidden units, time steps
    Py_ssize_t gates         # gates of the cell (G)
    Py_ssize_t step          # values a step keeps in the scratch
    bint sequences           # output every state (H, T) or the last (H,)
    Py_ssize_t directions    # 1, or 2: bidirectional
    bint reverse             # the direction at hand reads the row backwards


cdef enum:
    # Rows a thread carries through time together: each step is then one GEMM
    # of ROW_BLOCK states with the recurrent weights, which it reads once for
    # them all (one row's GEMV reads them once a row). Fixed, so that results
    # do not depend on the thread count; 8 leaves two blocks, one per core, in
    # a batch of 16.
    ROW_BLOCK = 8


cdef inline Recurrence recurrence_of(const Py_ssize_t* layers, Py_ssize_t l,
                                     Py_ssize_t gates, Py_ssize_t step_units,
                                     Py_ssize_t directions) noexcept nogil:
    """Layer l's recurrence (its forward direction), for a cell of `gates`
    gates that keeps step_units * H values a step."""
    cdef Recurrence rec
    rec.c = col(layers, l, COL_IN_C)
    rec.h = col(layers, l, COL_OUT_C) // directions
    rec.t = col(layers, l, COL_IN_W)
    rec.gates = gates
    rec.step = step_units * rec.h
    rec.sequences = col(layers, l, COL_OUT_W) == rec.t
    rec.directions = directions
    rec.reverse = False
    return rec


cdef inline Py_ssize_t direction_weights(const Recurrence* rec) noexcept nogil:
    """Weights of one direction: its (G H, C + H) matrix."""
    return rec.gates * rec.h * (rec.c + rec.h)


cdef inline int recurrent_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                                Py_ssize_t n_params, Py_ssize_t gates,
                                Py_ssize_t directions) except -1:
    cdef Py_ssize_t c = layers[l, COL_IN_C], h = layers[l, COL_OUT_C]
    cdef Py_ssize_t t = layers[l, COL_IN_W]
    if (layers[l, COL_IN_H] != 1 or layers[l, COL_OUT_H] != 1 or c < 1 or h < 1 or t < 1
            or h % directions or layers[l, COL_OUT_W] not in (1, t)
            or layers[l, COL_KH] != 0):
        raise ValueError(f"kernel: recurrent layer {l} must map (C, 1, T) to (D H, 1, T) "
                         "or (D H, 1, 1), D its directions, without a window.")
    if layers[l, COL_TRANS] != 0 or layers[l, COL_ACT] != IDENTITY:
        raise ValueError(f"kernel: recurrent layer {l} must be untied, with the identity.")
    h = h // directions
    return check_parameters(layers, l, directions * gates * h * (c + h),
                            directions * 2 * gates * h, n_params)


cdef inline Py_ssize_t recurrent_weights_end(const Py_ssize_t* layers, Py_ssize_t l,
                                             Py_ssize_t gates,
                                             Py_ssize_t directions) noexcept nogil:
    cdef Recurrence rec = recurrence_of(layers, l, gates, 0, directions)
    return col(layers, l, COL_W) + directions * direction_weights(&rec)


cdef struct Direction:
    # Where direction k of a layer keeps its parameters, scratch and outputs.
    Recurrence rec              # reverse for the second direction
    Py_ssize_t weights          # offsets from the layer's weights, biases,
    Py_ssize_t biases           # scratch row and output (or delta) row
    Py_ssize_t scratch
    Py_ssize_t channels


cdef inline Direction direction(const Recurrence* rec, Py_ssize_t k,
                                Py_ssize_t per_row) noexcept nogil:
    """Direction k (0: forward in time, 1: backward) of a layer whose rows
    keep per_row values of scratch: the directions' parameters, scratch and
    output channels follow each other."""
    cdef Direction at
    at.rec = rec[0]
    at.rec.reverse = k == 1
    at.weights = k * direction_weights(rec)
    at.biases = k * 2 * rec.gates * rec.h
    at.scratch = k * (per_row // rec.directions)
    at.channels = k * rec.h * (rec.t if rec.sequences else 1)
    return at


cdef inline Py_ssize_t time_of(const Recurrence* rec, Py_ssize_t k,
                               Py_ssize_t longest) noexcept nogil:
    """The time step of the forward pass's k-th step over a block whose longest
    row has `longest` steps (a row skips the steps past its end)."""
    return longest - 1 - k if rec.reverse else k


cdef inline Py_ssize_t before(const Recurrence* rec, Py_ssize_t t) noexcept nogil:
    """Index of the state a step at time t reads..."""
    return t + 1 if rec.reverse else t


cdef inline Py_ssize_t after(const Recurrence* rec, Py_ssize_t t) noexcept nogil:
    """... and of the state it writes."""
    return t if rec.reverse else t + 1


cdef inline Py_ssize_t n_row_blocks(Py_ssize_t batch) noexcept nogil:
    return (batch + ROW_BLOCK - 1) // ROW_BLOCK


cdef inline Py_ssize_t row_length(const floating* lengths, Py_ssize_t i,
                                  Py_ssize_t t) noexcept nogil:
    """Row i's number of steps (all t without lengths), within 0 .. t."""
    cdef Py_ssize_t n
    if lengths == NULL:
        return t
    n = <Py_ssize_t> lengths[i]
    return 0 if n < 0 else (t if n > t else n)


cdef inline floating f_tanh(floating x) noexcept nogil:
    # float32: skae_tanhf (vecmath.h), as the sigmoid's skae_sigmoidf; float64:
    # libm, the precision of the gradient checks.
    if floating is float:
        return skae_tanhf(x)
    else:
        return tanh(x)


cdef inline Py_ssize_t start_rows(const Recurrence* rec, const floating* m,
                                  const floating* x, Py_ssize_t n_in,
                                  const floating* lengths, Py_ssize_t i0,
                                  Py_ssize_t rows, floating* scratch,
                                  Py_ssize_t per_row,
                                  Py_ssize_t state_arrays) noexcept nogil:
    """Before a block's time loop: each row's states 0 (h_0, and past the
    row's end, where the step GEMMs and the weight gradient read them), and
    so the state_arrays - 1 arrays of (T + 1, H) that follow them (an LSTM's
    cells); its steps past the end 0, and the input projection of its steps,
    one GEMM: steps[:, :G H] = x.T @ W.T. Returns the block's longest length."""
    cdef Py_ssize_t r, length, longest = 0, sw = rec.step
    cdef floating* s
    for r in range(rows):
        length = row_length(lengths, i0 + r, rec.t)
        longest = max(longest, length)
        s = scratch + r * per_row
        memset(s + rec.t * sw, 0,
               state_arrays * (rec.t + 1) * rec.h * sizeof(floating))
        memset(s + length * sw, 0, (rec.t - length) * sw * sizeof(floating))
        if length > 0:
            gemm_rm(c'T', c'T', <int> length, <int> (rec.gates * rec.h), <int> rec.c, 1,
                    x + (i0 + r) * n_in, <int> rec.t, m, <int> (rec.c + rec.h), 0, s,
                    <int> sw)
    return longest


cdef inline void write_outputs(const Recurrence* rec, const floating* lengths,
                               Py_ssize_t i0, Py_ssize_t rows, const floating* scratch,
                               Py_ssize_t per_row, floating* out,
                               Py_ssize_t n_out) noexcept nogil:
    """The block's outputs from its states: every state channel-major (0 past
    a row's end, where its states are 0), or the last."""
    cdef Py_ssize_t r, j, t, last, H = rec.h
    cdef const floating* states
    cdef floating* o
    for r in range(rows):
        states = scratch + r * per_row + rec.t * rec.step
        o = out + (i0 + r) * n_out
        if rec.sequences:
            for j in range(H):
                for t in range(rec.t):
                    o[j * rec.t + t] = states[after(rec, t) * H + j]
        else:
            last = 0 if rec.reverse else row_length(lengths, i0 + r, rec.t)
            for j in range(H):
                o[j] = states[last * H + j]


cdef inline Py_ssize_t start_backward(const Recurrence* rec, const floating* d,
                                      Py_ssize_t n_out, const floating* lengths,
                                      Py_ssize_t i0, Py_ssize_t rows, floating* scratch,
                                      Py_ssize_t per_row, floating* deltas,
                                      Py_ssize_t n_deltas) noexcept nogil:
    """Before a block's backward time loop: each row's steps from its end on
    0 (the forward pass's step GEMMs wrote there from the last state on), so
    that they add nothing below; its n_deltas carried deltas (at deltas + r *
    per_row: the state's, then a cell's) 0, the state's the output's delta
    when only the last state is output. Returns the block's longest length."""
    cdef Py_ssize_t r, j, length, longest = 0
    cdef floating* dh
    for r in range(rows):
        length = row_length(lengths, i0 + r, rec.t)
        longest = max(longest, length)
        memset(scratch + r * per_row + length * rec.step, 0,
               (rec.t - length) * rec.step * sizeof(floating))
        dh = deltas + r * per_row
        memset(dh, 0, n_deltas * sizeof(floating))
        if not rec.sequences and length > 0:
            for j in range(rec.h):
                dh[j] = d[(i0 + r) * n_out + j]
    return longest


cdef inline void add_output_delta(const Recurrence* rec, const floating* d,
                                  Py_ssize_t n_out, Py_ssize_t i, Py_ssize_t t,
                                  floating* dh) noexcept nogil:
    """dh += row i's output delta at step t, when every state is output."""
    cdef Py_ssize_t j
    if rec.sequences:
        for j in range(rec.h):
            dh[j] += d[i * n_out + j * rec.t + t]


cdef inline void bias_sums(floating* gb, const floating* scratch, Py_ssize_t per_row,
                           const Recurrence* rec, Py_ssize_t batch, Py_ssize_t q0,
                           Py_ssize_t rq0, Py_ssize_t nb) noexcept nogil:
    """gb[q0:q0 + nb] and gb[G H + q0:...] += the step deltas of columns q0..
    and rq0.. summed over rows, then steps, in double; a step's units are
    contiguous, so the nb sums run side by side (nb <= COL_BLOCK)."""
    cdef double acc[2 * COL_BLOCK]
    cdef Py_ssize_t i, t, j, sw = rec.step
    cdef const floating* g
    for j in range(2 * nb):
        acc[j] = 0
    for i in range(batch):
        g = scratch + i * per_row
        for t in range(rec.t):
            for j in range(nb):
                acc[j] += g[t * sw + q0 + j]
                acc[nb + j] += g[t * sw + rq0 + j]
    for j in range(nb):
        gb[q0 + j] += acc[j]
        gb[rec.gates * rec.h + q0 + j] += acc[nb + j]


cdef inline void recurrent_parameter_gradient(floating* gm, floating* gb,
                                              const floating* x, Py_ssize_t n_in,
                                              const floating* scratch,
                                              Py_ssize_t per_row, const Recurrence* rec,
                                              Py_ssize_t batch, Py_ssize_t shifted_gate,
                                              int n_threads) noexcept nogil:
    """gm (G H, C + H) and gb (2 G H,) += the rows' sums over steps, from the
    deltas the backward pass left in each step's first G H values: fixed
    blocks of hidden units, each gate's block in turn, the rows added in
    order. The input weights of gate rows q: dG[:, q].T @ x.T; the recurrent
    ones: dG'[:, q].T @ (each step's previous state), dG' the deltas of the
    recurrent terms,
    dG's own columns except for shifted_gate's (-1: none), which sit H further
    (a GRU's reset gate multiplies its recurrent term)."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, sw = rec.step
    cdef Py_ssize_t width = block_width(H), per_gate = n_blocks(H)
    cdef Py_ssize_t task, gate, u0, nb, q0, rq0, i
    cdef const floating* g
    for task in prange(rec.gates * per_gate, num_threads=n_threads, schedule='static'):
        gate = task // per_gate
        u0 = (task % per_gate) * width
        nb = min(width, H - u0)
        if nb <= 0:
            continue
        q0 = gate * H + u0                                  # the gate rows' first
        rq0 = q0 + (H if gate == shifted_gate else 0)       # their recurrent deltas'
        for i in range(batch):
            g = scratch + i * per_row
            gemm_rm(c'T', c'T', <int> nb, <int> rec.c, <int> rec.t, 1, g + q0, <int> sw,
                    x + i * n_in, <int> rec.t, 1, gm + q0 * w, <int> w)
            gemm_rm(c'T', c'N', <int> nb, <int> H, <int> rec.t, 1, g + rq0, <int> sw,
                    g + rec.t * sw + before(rec, 0) * H, <int> H, 1, gm + q0 * w + rec.c,
                    <int> w)
        bias_sums(gb, scratch, per_row, rec, batch, q0, rq0, nb)


cdef inline void recurrent_input_delta(const Recurrence* rec, const floating* m,
                                       const floating* scratch, Py_ssize_t per_row,
                                       const floating* a_in, Py_ssize_t n_in,
                                       floating* d_prev, const floating* dh_extra,
                                       int act_prev, Py_ssize_t batch,
                                       int n_threads) noexcept nogil:
    """The delta below, per row: d_prev_i (C, T) = the sum over directions of
    W.T (C, G H) @ dG_i.T (G H, T), times the derivative of the activation
    below; each direction's scratch is per_direction further."""
    cdef Py_ssize_t i, k
    cdef Py_ssize_t per_direction = per_row // rec.directions
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        for k in range(rec.directions):
            gemm_rm(c'T', c'T', <int> rec.c, <int> rec.t, <int> (rec.gates * rec.h), 1,
                    m + k * direction_weights(rec), <int> (rec.c + rec.h),
                    scratch + i * per_row + k * per_direction, <int> rec.step,
                    0 if k == 0 else 1, d_prev + i * n_in, <int> rec.t)
        finish_delta(d_prev + i * n_in, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)
