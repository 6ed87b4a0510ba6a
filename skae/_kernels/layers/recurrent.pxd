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
# projection for all T steps is one GEMM; each step is one product with the
# recurrent weights of all gates; the backward pass runs only the recurrent
# product step by step, keeping each step's gate deltas, and after the time
# loop the weight gradients are single GEMMs over the steps. Rows are
# independent, so threads take rows in the time loops; the weight gradient
# sums over rows, so threads take fixed blocks of gate rows and add the rows in
# order: results do not depend on the thread count.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport tanh, tanhf
from libc.string cimport memset

from ..maths.activations cimport IDENTITY, sigmoid
from ..maths.blas cimport block_width, gemm_rm, gemv_rm, n_blocks
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


cdef inline floating f_tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline void gru_row_forward(const Recurrence* rec, const floating* m,
                                 const floating* b, const floating* x, Py_ssize_t length,
                                 floating* gates, floating* states,
                                 floating* out) noexcept nogil:
    """One row: gates (T, 4H) and states (T + 1, H) of its first `length`
    steps, and its output (every state channel-major, or the last)."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, t, j
    cdef Py_ssize_t sw = step_width(rec)
    cdef floating* g
    cdef floating* hp
    cdef floating z, r, hn, n
    memset(states, 0, H * sizeof(floating))
    if length > 0:
        # The input projection of every step at once: gates[:, :3H] = x.T @ W.T.
        gemm_rm(c'T', c'T', <int> length, <int> (3 * H), <int> rec.c, 1, x, <int> rec.t,
                m, <int> w, 0, gates, <int> sw)
    for t in range(length):
        g = gates + t * sw
        hp = states + t * H
        # The recurrent product of all gates: z and r add to their projections,
        # n's is kept apart (the reset multiplies it).
        gemv_rm(c'N', <int> (2 * H), <int> H, 1, m + rec.c, <int> w, hp, 1, g)
        gemv_rm(c'N', <int> H, <int> H, 1, m + 2 * H * w + rec.c, <int> w, hp, 0,
                g + 3 * H)
        for j in range(H):
            z = sigmoid(g[j] + b[j] + b[3 * H + j])
            r = sigmoid(g[H + j] + b[H + j] + b[4 * H + j])
            hn = g[3 * H + j] + b[5 * H + j]
            n = f_tanh(g[2 * H + j] + b[2 * H + j] + r * hn)
            g[j] = z
            g[H + j] = r
            g[2 * H + j] = n
            g[3 * H + j] = hn
            states[(t + 1) * H + j] = (1 - z) * n + z * hp[j]
    # States past the row's end are 0: the weight gradient multiplies them by
    # their (0) deltas, and the workspace may hold anything there.
    memset(states + (length + 1) * H, 0, (rec.t - length) * H * sizeof(floating))
    if rec.sequences:
        for j in range(H):
            for t in range(length):
                out[j * rec.t + t] = states[(t + 1) * H + j]
            for t in range(length, rec.t):
                out[j * rec.t + t] = 0
    else:
        for j in range(H):
            out[j] = states[length * H + j]


cdef inline void gru_forward(const floating* params, const Py_ssize_t* layers,
                             Py_ssize_t l, const floating* inp, floating* out,
                             Py_ssize_t batch, const floating* lengths, floating* scratch,
                             int n_threads) noexcept nogil:
    """Each row's states from its input, one row per thread at a time."""
    cdef Recurrence rec = recurrence_of(layers, l)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = gru_scratch(layers, l), i
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    cdef floating* s
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        s = scratch + i * per_row
        gru_row_forward(&rec, m, b, inp + i * n_in, row_length(lengths, i, rec.t), s,
                        s + rec.t * step_width(&rec), out + i * n_out)


cdef inline void gru_row_backward(const Recurrence* rec, const floating* m,
                                  const floating* d, Py_ssize_t length, floating* gates,
                                  const floating* states, floating* dh) noexcept nogil:
    """One row, back through its steps: each step's gate values in gates
    become the deltas of their pre-activations, [dz | dr | dn | dn * r]
    (the last, the delta of Rn h + cn); steps from `length` on are 0."""
    cdef Py_ssize_t H = rec.h, w = rec.c + rec.h, t, j
    cdef Py_ssize_t sw = step_width(rec)
    cdef floating* g
    cdef const floating* hp
    cdef floating z, r, n, hn, dn, dz, dr
    memset(dh, 0, H * sizeof(floating))
    if length < rec.t:
        memset(gates + length * sw, 0, (rec.t - length) * sw * sizeof(floating))
    if not rec.sequences and length > 0:
        for j in range(H):
            dh[j] = d[j]
    for t in range(length - 1, -1, -1):
        g = gates + t * sw
        hp = states + t * H
        for j in range(H):
            if rec.sequences:
                dh[j] += d[j * rec.t + t]
            z = g[j]
            r = g[H + j]
            n = g[2 * H + j]
            hn = g[3 * H + j]
            dn = dh[j] * (1 - z) * (1 - n * n)
            dz = dh[j] * (hp[j] - n) * z * (1 - z)
            dr = dn * hn * r * (1 - r)
            g[j] = dz
            g[H + j] = dr
            g[2 * H + j] = dn
            g[3 * H + j] = dn * r
            dh[j] = dh[j] * z
        # dh += Rzr.T @ [dz | dr] + Rn.T @ (dn * r): the state's delta one step back.
        gemv_rm(c'T', <int> (2 * H), <int> H, 1, m + rec.c, <int> w, g, 1, dh)
        gemv_rm(c'T', <int> H, <int> H, 1, m + 2 * H * w + rec.c, <int> w, g + 3 * H, 1,
                dh)


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
    cdef double s, sr
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
        for j in range(nb):
            s = 0
            sr = 0
            for i in range(batch):
                g = scratch + i * per_row
                for t in range(rec.t):
                    s += g[t * sw + q0 + j]
                    sr += g[t * sw + rq0 + j]
            gb[q0 + j] += s
            gb[3 * H + q0 + j] += sr


cdef inline void gru_backward(const floating* params, floating* grad,
                              const Py_ssize_t* layers, Py_ssize_t l,
                              const floating* a_in, const floating* d, floating* d_prev,
                              const floating* dh_extra, Py_ssize_t batch,
                              const floating* lengths, floating* scratch,
                              int n_threads) noexcept nogil:
    """Back through time row by row (rows over threads), then the parameter
    gradients as GEMMs over each row's steps, then, if d_prev is not NULL,
    the delta below: W.T @ dG.T per row, times the activation's derivative."""
    cdef Recurrence rec = recurrence_of(layers, l)
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef Py_ssize_t per_row = gru_scratch(layers, l), sw = step_width(&rec), i
    cdef const floating* m = params + col(layers, l, COL_W)
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    cdef floating* s
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        s = scratch + i * per_row
        gru_row_backward(&rec, m, d + i * n_out, row_length(lengths, i, rec.t), s,
                         s + rec.t * sw, s + rec.t * sw + (rec.t + 1) * rec.h)
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
