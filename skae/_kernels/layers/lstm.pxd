# An LSTM layer (Hochreiter and Schmidhuber, 1997, with a forget gate), over
# the time loop of layers/recurrent.pxd. With the gates in ONNX's order i
# (input), o (output), f (forget), c (cell candidate), as PyTorch's LSTM
# computes them:
#
#   i = sigmoid(Wi x_t + bi + Ri h + ci)    o = sigmoid(Wo x_t + bo + Ro h + co)
#   f = sigmoid(Wf x_t + bf + Rf h + cf)    u = tanh(Wc x_t + bc + Rc h + cc)
#   s_t = f * s + i * u                     h_t = o * tanh(s_t)
#
# from h = s = 0 (s the cell). A step keeps 5H values: [i | o | f | u |
# tanh(s_t)] (the deltas of the four pre-activations in the backward pass); a
# row keeps its cells s_0 .. s_T (T + 1, H) after its states, then the deltas
# of its state and its cell (H each).

from cython cimport floating
from cython.parallel cimport prange

from ..maths.activations cimport IDENTITY, sigmoid
from ..maths.blas cimport gemm_rm
from .recurrent cimport (
    ROW_BLOCK, Direction, Recurrence, add_output_delta, after, before, direction,
    f_tanh, n_row_blocks, recurrence_of, recurrent_check, recurrent_input_delta,
    recurrent_parameter_gradient, recurrent_weights_end, row_length, start_backward,
    start_rows, time_of, write_outputs,
)
from .table cimport (
    COL_ACT, COL_B, COL_IN, COL_IN_C, COL_IN_W, COL_OUT, COL_OUT_C, COL_W, col,
)


cdef extern from "maths/vecmath.h" nogil:
    # float32's step loops, vectorised (the float64 ones are below).
    void skae_lstm_gates_f(float* g, const float* b, const float* sp, float* s,
                           float* h, Py_ssize_t H)
    void skae_lstm_deltas_f(float* g, const float* sp, float* dh, float* ds,
                            Py_ssize_t H)


cdef enum:
    LSTM_GATES = 4
    LSTM_STEP = 5       # values a step keeps, in units of H


cdef inline Recurrence lstm_of(const Py_ssize_t* layers, Py_ssize_t l,
                               Py_ssize_t directions) noexcept nogil:
    return recurrence_of(layers, l, LSTM_GATES, LSTM_STEP, directions)


cdef inline int lstm_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                           Py_ssize_t n_params, Py_ssize_t directions) except -1:
    return recurrent_check(layers, l, n_params, LSTM_GATES, directions)


cdef inline Py_ssize_t lstm_scratch(const Py_ssize_t* layers, Py_ssize_t l,
                                    Py_ssize_t directions) noexcept nogil:
    """Per row and direction: its steps (T, 5H), its states and its cells
    (T + 1, H each), the deltas of its state and its cell (H each)."""
    cdef Recurrence rec = lstm_of(layers, l, directions)
    return directions * (rec.t * rec.step + 2 * (rec.t + 2) * rec.h)


cdef inline Py_ssize_t lstm_weights_end(const Py_ssize_t* layers, Py_ssize_t l,
                                        Py_ssize_t directions) noexcept nogil:
    return recurrent_weights_end(layers, l, LSTM_GATES, directions)


cdef inline void cell_values(floating* g, const floating* b, const floating* sp,
                             floating* s, floating* h, Py_ssize_t H) noexcept nogil:
    """One step of one row: g's pre-activations (4H, without biases) become
    [i | o | f | u | tanh(s_t)], s the new cell and h the new state."""
    cdef Py_ssize_t j
    cdef floating i, o, f, u, ts
    if floating is float:
        skae_lstm_gates_f(g, b, sp, s, h, H)
        return
    for j in range(H):
        i = sigmoid(g[j] + b[j] + b[4 * H + j])
        o = sigmoid(g[H + j] + b[H + j] + b[5 * H + j])
        f = sigmoid(g[2 * H + j] + b[2 * H + j] + b[6 * H + j])
        u = f_tanh(g[3 * H + j] + b[3 * H + j] + b[7 * H + j])
        s[j] = f * sp[j] + i * u
        ts = f_tanh(s[j])
        h[j] = o * ts
        g[j] = i
        g[H + j] = o
        g[2 * H + j] = f
        g[3 * H + j] = u
        g[4 * H + j] = ts


cdef inline void cell_deltas(floating* g, const floating* sp, floating* dh,
                             floating* ds, Py_ssize_t H) noexcept nogil:
    """One step of one row backwards: from the deltas of the state dh and of
    the cell ds, the four pre-activations' deltas into g; ds becomes the
    previous cell's delta, dh 0 (the recurrent product adds the previous
    state's)."""
    cdef Py_ssize_t j
    cdef floating i, o, f, u, ts, dsj
    if floating is float:
        skae_lstm_deltas_f(g, sp, dh, ds, H)
        return
    for j in range(H):
        i = g[j]
        o = g[H + j]
        f = g[2 * H + j]
        u = g[3 * H + j]
        ts = g[4 * H + j]
        dsj = ds[j] + dh[j] * o * (1 - ts * ts)
        g[j] = dsj * u * i * (1 - i)
        g[H + j] = dh[j] * ts * o * (1 - o)
        g[2 * H + j] = dsj * sp[j] * f * (1 - f)
        g[3 * H + j] = dsj * i * (1 - u * u)
        ds[j] = dsj * f
        dh[j] = 0


cdef inline void lstm_rows_step(const floating* m, const floating* b, Py_ssize_t c,
                                Py_ssize_t H, Py_ssize_t rows, const floating* hp,
                                const floating* sp, floating* g, floating* h, floating* s,
                                Py_ssize_t ld, const floating* lengths, Py_ssize_t i0,
                                Py_ssize_t t, Py_ssize_t steps) noexcept nogil:
    """Step t of a block of rows i0 .. i0 + rows, row r's previous state and
    cell at hp + r ld and sp + r ld, its step values at g + r ld (holding its
    input projection), its new state and cell at h + r ld and s + r ld; rows
    past their length are left as they were."""
    cdef Py_ssize_t r
    gemm_rm(c'N', c'T', <int> rows, <int> (4 * H), <int> H, 1, hp, <int> ld, m + c,
            <int> (c + H), 1, g, <int> ld)
    for r in range(rows):
        if t < row_length(lengths, i0 + r, steps):
            cell_values(g + r * ld, b, sp + r * ld, s + r * ld, h + r * ld, H)


cdef inline void lstm_block_forward(const Recurrence* rec, const floating* m,
                                    const floating* b, const floating* x,
                                    Py_ssize_t n_in, const floating* lengths,
                                    Py_ssize_t i0, Py_ssize_t rows, floating* scratch,
                                    Py_ssize_t per_row, floating* out,
                                    Py_ssize_t n_out) noexcept nogil:
    """Rows i0 .. i0 + rows through time (one GEMM a step for the block)."""
    cdef Py_ssize_t H = rec.h, sw = rec.step, t, k
    cdef floating* states = scratch + rec.t * sw
    cdef floating* cells = states + (rec.t + 1) * H
    # The cells follow the states: zeroed with them.
    cdef Py_ssize_t longest = start_rows(rec, m, x, n_in, lengths, i0, rows, scratch,
                                         per_row, 2)
    for k in range(longest):
        t = time_of(rec, k, longest)
        lstm_rows_step(m, b, rec.c, H, rows, states + before(rec, t) * H,
                       cells + before(rec, t) * H, scratch + t * sw,
                       states + after(rec, t) * H, cells + after(rec, t) * H, per_row,
                       lengths, i0, t, rec.t)
    write_outputs(rec, lengths, i0, rows, scratch, per_row, out, n_out)


cdef inline void lstm_forward(const floating* params, const Py_ssize_t* layers,
                              Py_ssize_t l, const floating* inp, floating* out,
                              Py_ssize_t batch, const floating* lengths,
                              floating* scratch, Py_ssize_t directions,
                              int n_threads) noexcept nogil:
    """Each row's states from its input, one block of rows per thread at a
    time, direction after direction."""
    cdef Recurrence rec = lstm_of(layers, l, directions)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = lstm_scratch(layers, l, directions), blk, i0, k
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    cdef Direction at
    for k in range(directions):
        at = direction(&rec, k, per_row)
        for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
            i0 = blk * ROW_BLOCK
            lstm_block_forward(&at.rec, m + at.weights, b + at.biases, inp, n_in,
                               lengths, i0, min(ROW_BLOCK, batch - i0),
                               scratch + i0 * per_row + at.scratch, per_row,
                               out + at.channels, n_out)


cdef inline void lstm_block_backward(const Recurrence* rec, const floating* m,
                                     const floating* d, Py_ssize_t n_out,
                                     const floating* lengths, Py_ssize_t i0,
                                     Py_ssize_t rows, floating* scratch,
                                     Py_ssize_t per_row) noexcept nogil:
    """Rows i0 .. i0 + rows back through their steps (steps from a row's
    length on are 0)."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, sw = rec.step, r, t, k
    cdef floating* cells = scratch + rec.t * sw + (rec.t + 1) * H
    cdef floating* dhs = cells + (rec.t + 1) * H
    cdef floating* dh
    # The deltas of each row's state and cell, side by side.
    cdef Py_ssize_t longest = start_backward(rec, d, n_out, lengths, i0, rows, scratch,
                                             per_row, dhs, 2 * H)
    for k in range(longest - 1, -1, -1):
        t = time_of(rec, k, longest)
        for r in range(rows):
            if t >= row_length(lengths, i0 + r, rec.t):
                continue
            dh = dhs + r * per_row
            add_output_delta(rec, d, n_out, i0 + r, t, dh)
            cell_deltas(scratch + r * per_row + t * sw,
                        cells + r * per_row + before(rec, t) * H, dh, dh + H, H)
        # dh += dG @ R for the block's rows: the previous state's delta (rows
        # past their end add their 0 deltas to the delta they carry).
        gemm_rm(c'N', c'N', <int> rows, <int> H, <int> (4 * H), 1, scratch + t * sw,
                <int> per_row, m + rec.c, <int> w, 1, dhs, <int> per_row)


cdef inline void lstm_backward(const floating* params, floating* grad,
                               const Py_ssize_t* layers, Py_ssize_t l,
                               const floating* a_in, const floating* d, floating* d_prev,
                               const floating* dh_extra, Py_ssize_t batch,
                               const floating* lengths, floating* scratch,
                               Py_ssize_t directions, int n_threads) noexcept nogil:
    """Back through time by blocks of rows and the parameter gradients,
    direction after direction, then, if d_prev is not NULL, the delta below
    (layers/recurrent.pxd)."""
    cdef Recurrence rec = lstm_of(layers, l, directions)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = lstm_scratch(layers, l, directions), blk, i0, k
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef Direction at
    for k in range(directions):
        at = direction(&rec, k, per_row)
        for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
            i0 = blk * ROW_BLOCK
            lstm_block_backward(&at.rec, m + at.weights, d + at.channels, n_out, lengths,
                                i0, min(ROW_BLOCK, batch - i0),
                                scratch + i0 * per_row + at.scratch, per_row)
        recurrent_parameter_gradient(grad + col(layers, l, COL_W) + at.weights,
                                     grad + col(layers, l, COL_B) + at.biases, a_in, n_in,
                                     scratch + at.scratch, per_row, &at.rec, batch, -1,
                                     n_threads)
    if d_prev != NULL:
        recurrent_input_delta(&rec, m, scratch, per_row, a_in, n_in, d_prev, dh_extra,
                              <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY,
                              batch, n_threads)


cdef inline Py_ssize_t lstm_step_scratch(const Py_ssize_t* layers,
                                         Py_ssize_t l) noexcept nogil:
    """What a row keeps to run the layer one step at a time (layers/stepping.pxd):
    a step's values (5H), two states and two cells (H each), the previous and
    the new, which swap places each step."""
    return (LSTM_STEP + 4) * col(layers, l, COL_OUT_C)


cdef inline floating* lstm_step(const floating* params, const Py_ssize_t* layers,
                                Py_ssize_t l, const floating* u, Py_ssize_t ldu,
                                Py_ssize_t rows, floating* work, Py_ssize_t ld,
                                Py_ssize_t k, const floating* lengths,
                                Py_ssize_t i0) noexcept nogil:
    """Step k of a block of rows (a one-direction layer): row r's input x_k
    (C,) at u + r ldu, its work at work + r ld (zeroed before step 0); returns
    where its new state lies (row r's at + r ld)."""
    cdef Py_ssize_t H = col(layers, l, COL_OUT_C), c = col(layers, l, COL_IN_C)
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef floating* states = work + LSTM_STEP * H
    cdef floating* cells = states + 2 * H
    cdef Py_ssize_t old = k % 2, new = 1 - k % 2
    gemm_rm(c'N', c'T', <int> rows, <int> (LSTM_GATES * H), <int> c, 1, u, <int> ldu, m,
            <int> (c + H), 0, work, <int> ld)
    lstm_rows_step(m, params + col(layers, l, COL_B), c, H, rows, states + old * H,
                   cells + old * H, work, states + new * H, cells + new * H, ld, lengths,
                   i0, k, col(layers, l, COL_IN_W))
    return states + new * H
