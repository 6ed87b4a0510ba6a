# A GRU layer (Cho et al., 2014), over the time loop of layers/recurrent.pxd.
# With the gates in ONNX's order z (update), r (reset), n (new) and the reset
# applied after the recurrent product (PyTorch's GRU, ONNX's
# linear_before_reset=1):
#
#   z = sigmoid(Wz x_t + bz + Rz h + cz)     r = sigmoid(Wr x_t + br + Rr h + cr)
#   n = tanh(Wn x_t + bn + r * (Rn h + cn))  h_t = (1 - z) * n + z * h
#
# from h = 0. A step keeps 4H values: [z | r | n | Rn h + cn] (the deltas of
# their pre-activations in the backward pass, the last that of Rn h + cn); a
# row keeps its state's delta (H,) after its states.

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
    void skae_gru_gates_f(float* g, const float* b, const float* hp, float* h,
                          Py_ssize_t H)
    void skae_gru_deltas_f(float* g, const float* hp, float* dh, Py_ssize_t H)


cdef enum:
    GRU_GATES = 3
    GRU_STEP = 4        # values a step keeps, in units of H
    GRU_NEW = 2         # n: the gate whose recurrent term's delta sits H further


cdef inline Recurrence gru_of(const Py_ssize_t* layers, Py_ssize_t l,
                              Py_ssize_t directions) noexcept nogil:
    return recurrence_of(layers, l, GRU_GATES, GRU_STEP, directions)


cdef inline int gru_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                          Py_ssize_t n_params, Py_ssize_t directions) except -1:
    return recurrent_check(layers, l, n_params, GRU_GATES, directions)


cdef inline Py_ssize_t gru_scratch(const Py_ssize_t* layers, Py_ssize_t l,
                                   Py_ssize_t directions) noexcept nogil:
    """Per row and direction: its steps (T, 4H), its states (T + 1, H), its
    state's delta (H,)."""
    cdef Recurrence rec = gru_of(layers, l, directions)
    return directions * (rec.t * rec.step + (rec.t + 2) * rec.h)


cdef inline Py_ssize_t gru_weights_end(const Py_ssize_t* layers, Py_ssize_t l,
                                       Py_ssize_t directions) noexcept nogil:
    return recurrent_weights_end(layers, l, GRU_GATES, directions)


cdef inline void gate_values(floating* g, const floating* b, const floating* hp,
                             floating* h, Py_ssize_t H) noexcept nogil:
    """One step of one row: g's pre-activations [Wz x + Rz h | Wr x + Rr h |
    Wn x | Rn h] become [z | r | n | Rn h + cn], and h the new state."""
    cdef Py_ssize_t j
    cdef floating z, r, hn, n
    if floating is float:
        skae_gru_gates_f(g, b, hp, h, H)
        return
    for j in range(H):
        z = sigmoid(g[j] + b[j] + b[3 * H + j])
        r = sigmoid(g[H + j] + b[H + j] + b[4 * H + j])
        hn = g[3 * H + j] + b[5 * H + j]
        n = f_tanh(g[2 * H + j] + b[2 * H + j] + r * hn)
        g[j] = z
        g[H + j] = r
        g[2 * H + j] = n
        g[3 * H + j] = hn
        h[j] = (1 - z) * n + z * hp[j]


cdef inline void gate_deltas(floating* g, const floating* hp, floating* dh,
                             Py_ssize_t H) noexcept nogil:
    """One step of one row backwards: from the state's delta dh and g's [z | r
    | n | Rn h + cn], the pre-activations' deltas [dz | dr | dn | dn * r] into
    g, and dh times z (the previous state's direct share)."""
    cdef Py_ssize_t j
    cdef floating z, r, n, hn, dn
    if floating is float:
        skae_gru_deltas_f(g, hp, dh, H)
        return
    for j in range(H):
        z = g[j]
        r = g[H + j]
        n = g[2 * H + j]
        hn = g[3 * H + j]
        dn = dh[j] * (1 - z) * (1 - n * n)
        g[j] = dh[j] * (hp[j] - n) * z * (1 - z)
        g[H + j] = dn * hn * r * (1 - r)
        g[2 * H + j] = dn
        g[3 * H + j] = dn * r
        dh[j] = dh[j] * z


cdef inline void gru_rows_step(const floating* m, const floating* b, Py_ssize_t c,
                               Py_ssize_t H, Py_ssize_t rows, const floating* hp,
                               floating* g, floating* h, Py_ssize_t ld,
                               const floating* lengths, Py_ssize_t i0, Py_ssize_t t,
                               Py_ssize_t steps) noexcept nogil:
    """Step t of a block of rows i0 .. i0 + rows, row r's previous state at hp
    + r ld, its step values at g + r ld (holding its input projection [Wz x |
    Wr x | Wn x]) and its new state at h + r ld; rows past their length are
    left as they were."""
    cdef Py_ssize_t r, w = c + H
    # The recurrent product of all gates, for the block's rows at once: z and
    # r add to their projections, n's is kept apart (the reset multiplies it).
    gemm_rm(c'N', c'T', <int> rows, <int> (2 * H), <int> H, 1, hp, <int> ld, m + c,
            <int> w, 1, g, <int> ld)
    gemm_rm(c'N', c'T', <int> rows, <int> H, <int> H, 1, hp, <int> ld,
            m + GRU_NEW * H * w + c, <int> w, 0, g + 3 * H, <int> ld)
    for r in range(rows):
        if t < row_length(lengths, i0 + r, steps):
            gate_values(g + r * ld, b, hp + r * ld, h + r * ld, H)


cdef inline void gru_block_forward(const Recurrence* rec, const floating* m,
                                   const floating* b, const floating* x, Py_ssize_t n_in,
                                   const floating* lengths, Py_ssize_t i0,
                                   Py_ssize_t rows, floating* scratch,
                                   Py_ssize_t per_row, floating* out,
                                   Py_ssize_t n_out) noexcept nogil:
    """Rows i0 .. i0 + rows through time (row r's scratch at scratch + r *
    per_row, so one step's states, and steps, of the block form a matrix with
    row length per_row)."""
    cdef Py_ssize_t H = rec.h, sw = rec.step, t, k
    cdef floating* states = scratch + rec.t * sw
    cdef Py_ssize_t longest = start_rows(rec, m, x, n_in, lengths, i0, rows, scratch,
                                         per_row, 1)
    for k in range(longest):
        t = time_of(rec, k, longest)
        gru_rows_step(m, b, rec.c, H, rows, states + before(rec, t) * H,
                      scratch + t * sw, states + after(rec, t) * H, per_row, lengths, i0,
                      t, rec.t)
    write_outputs(rec, lengths, i0, rows, scratch, per_row, out, n_out)


cdef inline void gru_forward(const floating* params, const Py_ssize_t* layers,
                             Py_ssize_t l, const floating* inp, floating* out,
                             Py_ssize_t batch, const floating* lengths, floating* scratch,
                             Py_ssize_t directions, int n_threads) noexcept nogil:
    """Each row's states from its input, one block of rows per thread at a
    time, direction after direction."""
    cdef Recurrence rec = gru_of(layers, l, directions)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = gru_scratch(layers, l, directions), blk, i0, k
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    cdef Direction at
    for k in range(directions):
        at = direction(&rec, k, per_row)
        for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
            i0 = blk * ROW_BLOCK
            gru_block_forward(&at.rec, m + at.weights, b + at.biases, inp, n_in,
                              lengths, i0, min(ROW_BLOCK, batch - i0),
                              scratch + i0 * per_row + at.scratch, per_row,
                              out + at.channels, n_out)


cdef inline void gru_block_backward(const Recurrence* rec, const floating* m,
                                    const floating* d, Py_ssize_t n_out,
                                    const floating* lengths, Py_ssize_t i0,
                                    Py_ssize_t rows, floating* scratch,
                                    Py_ssize_t per_row) noexcept nogil:
    """Rows i0 .. i0 + rows back through their steps: each step's values
    become the deltas of the pre-activations (steps from a row's length on
    are 0)."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, sw = rec.step, r, t, k
    cdef floating* dh
    cdef floating* dhs = scratch + rec.t * sw + (rec.t + 1) * H
    cdef Py_ssize_t longest = start_backward(rec, d, n_out, lengths, i0, rows, scratch,
                                             per_row, dhs, H)
    for k in range(longest - 1, -1, -1):
        t = time_of(rec, k, longest)
        for r in range(rows):
            if t >= row_length(lengths, i0 + r, rec.t):
                continue
            dh = dhs + r * per_row
            add_output_delta(rec, d, n_out, i0 + r, t, dh)
            gate_deltas(scratch + r * per_row + t * sw,
                        scratch + r * per_row + rec.t * sw + before(rec, t) * H, dh, H)
        # dh += [dz | dr] @ Rzr + (dn * r) @ Rn for the block's rows: the state's
        # delta one step back (rows past their end add their 0 deltas).
        gemm_rm(c'N', c'N', <int> rows, <int> H, <int> (2 * H), 1, scratch + t * sw,
                <int> per_row, m + rec.c, <int> w, 1, dhs, <int> per_row)
        gemm_rm(c'N', c'N', <int> rows, <int> H, <int> H, 1, scratch + t * sw + 3 * H,
                <int> per_row, m + GRU_NEW * H * w + rec.c, <int> w, 1, dhs,
                <int> per_row)


cdef inline void gru_backward(const floating* params, floating* grad,
                              const Py_ssize_t* layers, Py_ssize_t l,
                              const floating* a_in, const floating* d, floating* d_prev,
                              const floating* dh_extra, Py_ssize_t batch,
                              const floating* lengths, floating* scratch,
                              Py_ssize_t directions, int n_threads) noexcept nogil:
    """Back through time by blocks of rows (blocks over threads) and the
    parameter gradients, direction after direction, then, if d_prev is not
    NULL, the delta below (layers/recurrent.pxd)."""
    cdef Recurrence rec = gru_of(layers, l, directions)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = gru_scratch(layers, l, directions), blk, i0, k
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef Direction at
    for k in range(directions):
        at = direction(&rec, k, per_row)
        for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
            i0 = blk * ROW_BLOCK
            gru_block_backward(&at.rec, m + at.weights, d + at.channels, n_out, lengths, i0,
                               min(ROW_BLOCK, batch - i0),
                               scratch + i0 * per_row + at.scratch, per_row)
        # The delta of n's recurrent term Rn h + cn is dn * r, H past dn.
        recurrent_parameter_gradient(grad + col(layers, l, COL_W) + at.weights,
                                     grad + col(layers, l, COL_B) + at.biases, a_in, n_in,
                                     scratch + at.scratch, per_row, &at.rec, batch,
                                     GRU_NEW, n_threads)
    if d_prev != NULL:
        recurrent_input_delta(&rec, m, scratch, per_row, a_in, n_in, d_prev, dh_extra,
                              <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY,
                              batch, n_threads)


cdef inline Py_ssize_t gru_step_scratch(const Py_ssize_t* layers,
                                        Py_ssize_t l) noexcept nogil:
    """What a row keeps to run the layer one step at a time (layers/stepping.pxd):
    a step's values (4H) and two states (H each), the previous and the new,
    which swap places each step."""
    return (GRU_STEP + 2) * col(layers, l, COL_OUT_C)


cdef inline floating* gru_step(const floating* params, const Py_ssize_t* layers,
                               Py_ssize_t l, const floating* u, Py_ssize_t ldu,
                               Py_ssize_t rows, floating* work, Py_ssize_t ld,
                               Py_ssize_t k, const floating* lengths,
                               Py_ssize_t i0) noexcept nogil:
    """Step k of a block of rows (a one-direction layer): row r's input x_k
    (C,) at u + r ldu, its work at work + r ld (zeroed before step 0); returns
    where its new state lies (row r's at + r ld)."""
    cdef Py_ssize_t H = col(layers, l, COL_OUT_C), c = col(layers, l, COL_IN_C)
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef floating* hp = work + (GRU_STEP + k % 2) * H
    cdef floating* h = work + (GRU_STEP + 1 - k % 2) * H
    gemm_rm(c'N', c'T', <int> rows, <int> (GRU_GATES * H), <int> c, 1, u, <int> ldu, m,
            <int> (c + H), 0, work, <int> ld)
    gru_rows_step(m, params + col(layers, l, COL_B), c, H, rows, hp, work, h, ld, lengths,
                  i0, k, col(layers, l, COL_IN_W))
    return h
