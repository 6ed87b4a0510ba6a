# A GRU layer (Cho et al., 2014) over a row laid out (C, 1, T): C channels of T
# time steps, channel-major, as a series' row is everywhere in skae. With the
# gates in ONNX's order z (update), r (reset), n (new) and the reset applied
# after the recurrent product (PyTorch's GRU, ONNX's linear_before_reset=1):
#
#   z = sigmoid(Wz x_t + bz + Rz h + cz)     r = sigmoid(Wr x_t + br + Rr h + cr)
#   n = tanh(Wn x_t + bn + r * (Rn h + cn))  h_t = (1 - z) * n + z * h
#
# from h = 0. Its output is every state, (H, 1, T), or only the last, (H, 1, 1)
# (the output's width says which). A row of length L < T (lengths, read from
# the data's padding; NULL: every row has T steps) stops after L steps: its
# later outputs are 0 and its last state is h_L, so a padded sequence gives
# what it gives alone.
#
# Parameters: one matrix (3H, C + H) at the weight offset, gate row g holding
# [W_g | R_g], so that the input weights and the recurrent ones are blocks of
# one matrix (Glorot's bound over it); biases (6H,) [b | c] (ONNX's Wb | Rb).
#
# The recipe that makes recurrent layers fast on a CPU: each row's input
# projection for all T steps is one GEMM; each step is one GEMM of a block of
# rows' states with the recurrent weights of all gates; the backward pass runs
# only the recurrent product step by step, keeping each step's gate deltas,
# and after the time loop the weight gradients are single GEMMs over the
# steps. Rows are independent, so threads take fixed blocks of rows
# (ROW_BLOCK) in the time loops; the weight gradient sums over rows, so
# threads take fixed blocks of gate rows and add the rows in order: results do
# not depend on the thread count.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport tanh
from libc.string cimport memset

from ..maths.activations cimport IDENTITY, sigmoid
from ..maths.blas cimport COL_BLOCK, block_width, gemm_rm, n_blocks
from .convolution cimport check_parameters, finish_delta
from .table cimport (
    COL_ACT, COL_B, COL_IN, COL_IN_C, COL_IN_H, COL_IN_W, COL_KH, COL_OUT, COL_OUT_C,
    COL_OUT_H, COL_OUT_W, COL_TRANS, COL_W, col,
)


cdef struct Recurrence:
    Py_ssize_t c, h, t       # input channels, hidden units, time steps
    bint sequences           # output every state (H, T) or the last (H,)


cdef inline Recurrence recurrence_of(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    cdef Recurrence rec
    rec.c = col(layers, l, COL_IN_C)
    rec.h = col(layers, l, COL_OUT_C)
    rec.t = col(layers, l, COL_IN_W)
    rec.sequences = col(layers, l, COL_OUT_W) == rec.t
    return rec


cdef inline Py_ssize_t step_width(const Recurrence* rec) noexcept nogil:
    """Values kept per step: z, r, n and the recurrent term Rn h + cn."""
    return 4 * rec.h


cdef inline int gru_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                          Py_ssize_t n_params) except -1:
    cdef Py_ssize_t c = layers[l, COL_IN_C], h = layers[l, COL_OUT_C]
    cdef Py_ssize_t t = layers[l, COL_IN_W]
    if (layers[l, COL_IN_H] != 1 or layers[l, COL_OUT_H] != 1 or c < 1 or h < 1 or t < 1
            or layers[l, COL_OUT_W] not in (1, t) or layers[l, COL_KH] != 0):
        raise ValueError(f"kernel: recurrent layer {l} must map (C, 1, T) to (H, 1, T) "
                         "or (H, 1, 1), without a window.")
    if layers[l, COL_TRANS] != 0 or layers[l, COL_ACT] != IDENTITY:
        raise ValueError(f"kernel: recurrent layer {l} must be untied, with the identity.")
    return check_parameters(layers, l, 3 * h * (c + h), 6 * h, n_params)


cdef inline Py_ssize_t gru_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """Per row: each step's gate values (T, 4H) (their deltas in the backward
    pass), the states h_0 .. h_T (T + 1, H), and the state's delta (H,)."""
    cdef Recurrence rec = recurrence_of(layers, l)
    return rec.t * step_width(&rec) + (rec.t + 2) * rec.h


cdef inline Py_ssize_t gru_weights_end(const Py_ssize_t* layers,
                                       Py_ssize_t l) noexcept nogil:
    cdef Recurrence rec = recurrence_of(layers, l)
    return col(layers, l, COL_W) + 3 * rec.h * (rec.c + rec.h)


cdef inline Py_ssize_t row_length(const floating* lengths, Py_ssize_t i,
                                  Py_ssize_t t) noexcept nogil:
    """Row i's number of steps (all t without lengths), within 0 .. t."""
    cdef Py_ssize_t n
    if lengths == NULL:
        return t
    n = <Py_ssize_t> lengths[i]
    return 0 if n < 0 else (t if n > t else n)


cdef extern from "maths/vecmath.h" nogil:
    float skae_tanhf(float x)
    # float32's gate loop, vectorised (the float64 one is gate_values below).
    void skae_gru_gates_f(float* g, const float* b, const float* hp, float* h,
                          Py_ssize_t H)
    void skae_gru_deltas_f(float* g, const float* hp, float* dh, Py_ssize_t H)


cdef inline floating f_tanh(floating x) noexcept nogil:
    # float32: skae_tanhf (vecmath.h), as the sigmoid's skae_sigmoidf; float64:
    # libm, the precision of the gradient checks.
    if floating is float:
        return skae_tanhf(x)
    else:
        return tanh(x)


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


cdef enum:
    # Rows a thread carries through time together: each step is then one GEMM
    # of ROW_BLOCK states with the recurrent weights, which it reads once for
    # them all (one row's GEMV reads them once a row). Fixed, so that results
    # do not depend on the thread count; 8 leaves two blocks, one per core, in
    # a batch of 16.
    ROW_BLOCK = 8


cdef inline Py_ssize_t n_row_blocks(Py_ssize_t batch) noexcept nogil:
    return (batch + ROW_BLOCK - 1) // ROW_BLOCK


cdef inline void block_forward(const Recurrence* rec, const floating* m,
                               const floating* b, const floating* x, Py_ssize_t n_in,
                               const floating* lengths, Py_ssize_t i0, Py_ssize_t rows,
                               floating* scratch, Py_ssize_t per_row,
                               floating* out, Py_ssize_t n_out) noexcept nogil:
    """Rows i0 .. i0 + rows through time: each row's gates (T, 4H) and states
    (T + 1, H) in its scratch, its output in out. Row r's scratch starts at
    scratch + r * per_row, so one step's states (and gates) of the block form
    a matrix with row length per_row."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, sw = step_width(rec)
    cdef Py_ssize_t r, t, j, length, longest = 0
    cdef floating* hp
    cdef floating* states = scratch + rec.t * sw
    for r in range(rows):
        length = row_length(lengths, i0 + r, rec.t)
        longest = max(longest, length)
        # h_0 = 0, and states past the row's end 0: the step GEMMs read them
        # (their results there are never used) and so does the weight gradient.
        memset(states + r * per_row, 0, (rec.t + 1) * H * sizeof(floating))
        memset(scratch + r * per_row + length * sw, 0,
               (rec.t - length) * sw * sizeof(floating))
        if length > 0:
            # The input projection of every step at once: gates[:, :3H] = x.T @ W.T.
            gemm_rm(c'T', c'T', <int> length, <int> (3 * H), <int> rec.c, 1,
                    x + (i0 + r) * n_in, <int> rec.t, m, <int> w, 0,
                    scratch + r * per_row, <int> sw)
    for t in range(longest):
        # The recurrent product of all gates, for the block's rows at once: z and
        # r add to their projections, n's is kept apart (the reset multiplies it).
        gemm_rm(c'N', c'T', <int> rows, <int> (2 * H), <int> H, 1, states + t * H,
                <int> per_row, m + rec.c, <int> w, 1, scratch + t * sw, <int> per_row)
        gemm_rm(c'N', c'T', <int> rows, <int> H, <int> H, 1, states + t * H,
                <int> per_row, m + 2 * H * w + rec.c, <int> w, 0,
                scratch + t * sw + 3 * H, <int> per_row)
        for r in range(rows):
            if t >= row_length(lengths, i0 + r, rec.t):
                continue
            hp = states + r * per_row + t * H
            gate_values(scratch + r * per_row + t * sw, b, hp, hp + H, H)
    for r in range(rows):
        hp = states + r * per_row
        length = row_length(lengths, i0 + r, rec.t)
        if rec.sequences:
            for j in range(H):
                for t in range(rec.t):
                    # 0 past the row's end (its states there are 0)
                    out[(i0 + r) * n_out + j * rec.t + t] = hp[(t + 1) * H + j]
        else:
            for j in range(H):
                out[(i0 + r) * n_out + j] = hp[length * H + j]


cdef inline void gru_forward(const floating* params, const Py_ssize_t* layers,
                             Py_ssize_t l, const floating* inp, floating* out,
                             Py_ssize_t batch, const floating* lengths, floating* scratch,
                             int n_threads) noexcept nogil:
    """Each row's states from its input, one block of rows per thread at a time."""
    cdef Recurrence rec = recurrence_of(layers, l)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = gru_scratch(layers, l), blk, i0
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
        i0 = blk * ROW_BLOCK
        block_forward(&rec, m, b, inp, n_in, lengths, i0, min(ROW_BLOCK, batch - i0),
                      scratch + i0 * per_row, per_row, out, n_out)


cdef inline void block_backward(const Recurrence* rec, const floating* m,
                                const floating* d, Py_ssize_t n_out,
                                const floating* lengths, Py_ssize_t i0, Py_ssize_t rows,
                                floating* scratch, Py_ssize_t per_row) noexcept nogil:
    """Rows i0 .. i0 + rows back through their steps: each step's gate values
    become the deltas of their pre-activations, [dz | dr | dn | dn * r] (the
    last, the delta of Rn h + cn); steps from a row's length on are 0. The
    state's delta of each row, (H,), follows its states in its scratch."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, sw = step_width(rec)
    cdef Py_ssize_t r, t, j, length, longest = 0
    cdef floating* g
    cdef floating* dh
    cdef floating* dhs = scratch + rec.t * sw + (rec.t + 1) * H
    for r in range(rows):
        length = row_length(lengths, i0 + r, rec.t)
        longest = max(longest, length)
        g = scratch + r * per_row
        memset(g + length * sw, 0, (rec.t - length) * sw * sizeof(floating))
        dh = dhs + r * per_row
        memset(dh, 0, H * sizeof(floating))
        if not rec.sequences and length > 0:
            for j in range(H):
                dh[j] = d[(i0 + r) * n_out + j]
    for t in range(longest - 1, -1, -1):
        for r in range(rows):
            if t >= row_length(lengths, i0 + r, rec.t):
                continue
            dh = dhs + r * per_row
            if rec.sequences:
                for j in range(H):
                    dh[j] += d[(i0 + r) * n_out + j * rec.t + t]
            gate_deltas(scratch + r * per_row + t * sw,
                        scratch + r * per_row + rec.t * sw + t * H, dh, H)
        # dh += [dz | dr] @ Rzr + (dn * r) @ Rn for the block's rows: the state's
        # delta one step back (rows past their end add their 0 deltas).
        gemm_rm(c'N', c'N', <int> rows, <int> H, <int> (2 * H), 1, scratch + t * sw,
                <int> per_row, m + rec.c, <int> w, 1, dhs, <int> per_row)
        gemm_rm(c'N', c'N', <int> rows, <int> H, <int> H, 1, scratch + t * sw + 3 * H,
                <int> per_row, m + 2 * H * w + rec.c, <int> w, 1, dhs, <int> per_row)


cdef inline void bias_sums(floating* gb, const floating* scratch, Py_ssize_t per_row,
                           const Recurrence* rec, Py_ssize_t batch, Py_ssize_t q0,
                           Py_ssize_t rq0, Py_ssize_t nb) noexcept nogil:
    """gb[q0:q0 + nb] and gb[3H + q0:...] += the gate deltas of columns q0..
    and rq0.. summed over rows, then steps, in double; a step's units are
    contiguous, so the nb sums run side by side (nb <= COL_BLOCK)."""
    cdef double acc[2 * COL_BLOCK]
    cdef Py_ssize_t i, t, j, sw = step_width(rec)
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
        gb[3 * rec.h + q0 + j] += acc[nb + j]


cdef inline void gru_parameter_gradient(floating* gm, floating* gb, const floating* x,
                                        Py_ssize_t n_in, const floating* scratch,
                                        Py_ssize_t per_row, const Recurrence* rec,
                                        Py_ssize_t batch, int n_threads) noexcept nogil:
    """gm (3H, C + H) and gb (6H,) += the rows' sums over steps, from their
    gate deltas: fixed blocks of hidden units, each gate's block in turn, the
    rows added in order. The input weights of gate rows q: dG[:, q].T @ x.T;
    the recurrent ones: dG'[:, q].T @ states[:T] (dG' the recurrent deltas)."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, sw = step_width(rec)
    cdef Py_ssize_t width = block_width(H), per_gate = n_blocks(H)
    cdef Py_ssize_t task, gate, u0, nb, q0, rq0, i, t, j
    cdef const floating* g
    for task in prange(3 * per_gate, num_threads=n_threads, schedule='static'):
        gate = task // per_gate
        u0 = (task % per_gate) * width
        nb = min(width, H - u0)
        if nb <= 0:
            continue
        q0 = gate * H + u0                          # the gate rows' first
        rq0 = q0 + (H if gate == 2 else 0)          # their recurrent deltas' column
        for i in range(batch):
            g = scratch + i * per_row
            gemm_rm(c'T', c'T', <int> nb, <int> rec.c, <int> rec.t, 1, g + q0, <int> sw,
                    x + i * n_in, <int> rec.t, 1, gm + q0 * w, <int> w)
            gemm_rm(c'T', c'N', <int> nb, <int> H, <int> rec.t, 1, g + rq0, <int> sw,
                    g + rec.t * sw, <int> H, 1, gm + q0 * w + rec.c, <int> w)
        bias_sums(gb, scratch, per_row, rec, batch, q0, rq0, nb)


cdef inline void gru_backward(const floating* params, floating* grad,
                              const Py_ssize_t* layers, Py_ssize_t l,
                              const floating* a_in, const floating* d, floating* d_prev,
                              const floating* dh_extra, Py_ssize_t batch,
                              const floating* lengths, floating* scratch,
                              int n_threads) noexcept nogil:
    """Back through time by blocks of rows (blocks over threads), then the
    parameter gradients as GEMMs over each row's steps, then, if d_prev is not
    NULL, the delta below: W.T @ dG.T per row, times the activation's
    derivative."""
    cdef Recurrence rec = recurrence_of(layers, l)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = gru_scratch(layers, l), sw = step_width(&rec), i, blk, i0
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    for blk in prange(n_row_blocks(batch), num_threads=n_threads, schedule='static'):
        i0 = blk * ROW_BLOCK
        block_backward(&rec, m, d, n_out, lengths, i0, min(ROW_BLOCK, batch - i0),
                       scratch + i0 * per_row, per_row)
    gru_parameter_gradient(grad + col(layers, l, COL_W), grad + col(layers, l, COL_B),
                           a_in, n_in, scratch, per_row, &rec, batch, n_threads)
    if d_prev == NULL:
        return
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        # d_prev_i (C, T) = W.T (C, 3H) @ dG_i.T (3H, T)
        gemm_rm(c'T', c'T', <int> rec.c, <int> rec.t, <int> (3 * rec.h), 1, m,
                <int> (rec.c + rec.h), scratch + i * per_row, <int> sw, 0,
                d_prev + i * n_in, <int> rec.t)
        finish_delta(d_prev + i * n_in, dh_extra + i * n_in if dh_extra != NULL else NULL,
                     a_in + i * n_in, act_prev, n_in)
