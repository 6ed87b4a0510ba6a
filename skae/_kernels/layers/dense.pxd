# A dense layer's forward and backward passes, on raw pointers with the GIL
# released: out = f(inp @ M + b), M the layer's matrix or, for a tied decoder
# layer, the transpose of its mirror's. Threads take fixed blocks of output
# columns (one single-threaded BLAS call each, see maths/blas.pxd), so results do not
# depend on the thread count. A minibatch whose nonzeros are listed
# (_nonzeros.pxd) skips its zeros in the first layer's products.

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy

from ..maths.activations cimport IDENTITY, N_ACTIVATIONS, activate_block, derivative_block
from ..maths.blas cimport gemm_rm, gemv_rm, n_blocks, block_width
from .table cimport COL_IN, COL_OUT, COL_W, COL_B, COL_TRANS, COL_ACT, col
from ..maths.nonzeros cimport Nonzeros, nonzeros_times, nonzeros_t_times


# Minibatches of at most GEMV_ROWS rows are multiplied a row at a time (BLAS
# gemv, which reads the weights in place) rather than by one GEMM, which packs
# the weights into its own layout first: for a few rows the packing costs more
# than the products. Measured on 2 cores (AMD EPYC, AVX2, OpenBLAS 0.3.30, one
# thread per call): a 784 x 1000 layer takes 707 us as a one-row GEMM and 75 us
# as a gemv; 8 gemvs take 434 us against one GEMM's 612, 16 take 869 against
# 735. Inference of one row and of small batches is where this matters
# (benchmarks/bench_inference.py); the choice depends on the row count alone,
# so results stay identical for any thread count.
cdef enum:
    GEMV_ROWS = 8


cdef inline int dense_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                            Py_ssize_t n_params) except -1:
    """An (n_in, n_out) matrix and n_out biases inside the n_params parameters,
    a transposition flag and an activation code."""
    cdef Py_ssize_t n_in = layers[l, COL_IN], n_out = layers[l, COL_OUT]
    if (layers[l, COL_W] < 0 or layers[l, COL_W] + n_in * n_out > n_params
            or layers[l, COL_B] < 0 or layers[l, COL_B] + n_out > n_params):
        raise ValueError(f"kernel: layer {l}'s parameters lie outside the "
                         f"{n_params} parameters.")
    if layers[l, COL_TRANS] not in (0, 1) or not 0 <= layers[l, COL_ACT] < N_ACTIVATIONS:
        raise ValueError(f"kernel: layer {l} has an unknown transposition or "
                         "activation code.")
    return 0


cdef inline Py_ssize_t dense_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """Nothing beyond its input and output is kept for the backward pass."""
    return 0


cdef inline Py_ssize_t dense_weights_end(const Py_ssize_t* layers,
                                         Py_ssize_t l) noexcept nogil:
    return col(layers, l, COL_W) + col(layers, l, COL_IN) * col(layers, l, COL_OUT)


cdef inline void dense_forward(const floating* params, const Py_ssize_t* layers,
                        Py_ssize_t l, const floating* inp, const Nonzeros* nz,
                        floating* out, Py_ssize_t batch, bint apply_activation,
                        int n_threads) noexcept nogil:
    """out = f(inp @ M + b) for layer l; M is W, or W.T for a tied layer.

    Computed in fixed blocks of output columns (see n_blocks), one thread each.
    If nz (or NULL) lists inp's nonzeros, the product skips inp's zeros.
    """
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef const floating* w = params + col(layers, l, COL_W)
    cdef const floating* b = params + col(layers, l, COL_B)
    cdef int act = <int> col(layers, l, COL_ACT)
    cdef bint transposed = col(layers, l, COL_TRANS)
    cdef Py_ssize_t k, i, j0, nb, width = block_width(n_out)
    cdef floating* o
    for k in prange(n_blocks(n_out), num_threads=n_threads, schedule='static'):
        j0 = k * width
        nb = min(width, n_out - j0)
        if nb <= 0:
            continue
        o = out + j0
        for i in range(batch):
            memcpy(o + i * n_out, b + j0, nb * sizeof(floating))
        if nz != NULL and nz.active and not transposed:
            nonzeros_times(nz, batch, w + j0, n_out, n_in, o, n_out, nb, threadid())
        elif batch <= GEMV_ROWS:
            for i in range(batch):
                if transposed:
                    # out[i, j0:j0+nb] += W[j0:j0+nb, :] @ inp[i], W (n_out, n_in)
                    gemv_rm(c'N', <int> nb, <int> n_in, 1, w + j0 * n_in, <int> n_in,
                            inp + i * n_in, 1, o + i * n_out)
                else:
                    # out[i, j0:j0+nb] += W[:, j0:j0+nb].T @ inp[i], W (n_in, n_out)
                    gemv_rm(c'T', <int> n_in, <int> nb, 1, w + j0, <int> n_out,
                            inp + i * n_in, 1, o + i * n_out)
        elif transposed:
            # out[:, j0:j0+nb] += inp (batch, n_in) @ W[j0:j0+nb, :].T, W (n_out, n_in)
            gemm_rm(c'N', c'T', <int> batch, <int> nb, <int> n_in, 1, inp, <int> n_in,
                    w + j0 * n_in, <int> n_in, 1, o, <int> n_out)
        else:
            # out[:, j0:j0+nb] += inp (batch, n_in) @ W[:, j0:j0+nb], W (n_in, n_out)
            gemm_rm(c'N', c'N', <int> batch, <int> nb, <int> n_in, 1, inp, <int> n_in,
                    w + j0, <int> n_out, 1, o, <int> n_out)
        if apply_activation and act != IDENTITY:
            for i in range(batch):
                activate_block(act, o + i * n_out, nb)


cdef inline void dense_backward(const floating* params, floating* grad,
                         const Py_ssize_t* layers, Py_ssize_t l, const floating* a_in,
                         const Nonzeros* nz, const floating* d, floating* d_prev,
                         const floating* dh_extra, Py_ssize_t batch,
                         int n_threads) noexcept nogil:
    """Gradients of layer l from its delta d (batch, n_out), and, if d_prev is not
    NULL, the delta of the layer below: d_prev = (d @ M.T + dh_extra) * f'(a_in),
    where dh_extra (or NULL) is a penalty's gradient with respect to a_in.

    Both are computed in fixed blocks of columns (see n_blocks), one thread each.
    If nz (or NULL) lists a_in's nonzeros by column, the weight gradient skips
    a_in's zeros.
    """
    cdef Py_ssize_t n_in = col(layers, l, COL_IN), n_out = col(layers, l, COL_OUT)
    cdef const floating* w = params + col(layers, l, COL_W)
    cdef floating* gw = grad + col(layers, l, COL_W)
    cdef floating* gb = grad + col(layers, l, COL_B)
    cdef bint transposed = col(layers, l, COL_TRANS)
    cdef int act_prev = <int> col(layers, l - 1, COL_ACT) if l > 0 else IDENTITY
    cdef Py_ssize_t k, i, j, j0, nb
    cdef Py_ssize_t width_out = block_width(n_out), width_in = block_width(n_in)
    # Weight and bias gradients, by blocks of the layer's output units.
    for k in prange(n_blocks(n_out), num_threads=n_threads, schedule='static'):
        j0 = k * width_out
        nb = min(width_out, n_out - j0)
        if nb <= 0:
            continue
        if nz != NULL and nz.active and nz.col_start != NULL and not transposed:
            # gW[:, j0:j0+nb] += a_in.T @ d[:, j0:j0+nb], over a_in's nonzeros
            nonzeros_t_times(nz, n_in, d + j0, n_out, batch, gw + j0, n_out, nb,
                             threadid())
        elif transposed:
            # gW[j0:j0+nb, :] += d[:, j0:j0+nb].T @ a_in, gW stored (n_out, n_in)
            gemm_rm(c'T', c'N', <int> nb, <int> n_in, <int> batch, 1, d + j0, <int> n_out,
                    a_in, <int> n_in, 1, gw + j0 * n_in, <int> n_in)
        else:
            # gW[:, j0:j0+nb] += a_in.T @ d[:, j0:j0+nb], gW stored (n_in, n_out)
            gemm_rm(c'T', c'N', <int> n_in, <int> nb, <int> batch, 1, a_in, <int> n_in,
                    d + j0, <int> n_out, 1, gw + j0, <int> n_out)
        for i in range(batch):
            for j in range(j0, j0 + nb):
                gb[j] += d[i * n_out + j]
    if d_prev == NULL:
        return
    # Delta of the layer below, by blocks of its units.
    for k in prange(n_blocks(n_in), num_threads=n_threads, schedule='static'):
        j0 = k * width_in
        nb = min(width_in, n_in - j0)
        if nb <= 0:
            continue
        if transposed:
            # d_prev[:, j0:j0+nb] = d (batch, n_out) @ W[:, j0:j0+nb], W (n_out, n_in)
            gemm_rm(c'N', c'N', <int> batch, <int> nb, <int> n_out, 1, d, <int> n_out,
                    w + j0, <int> n_in, 0, d_prev + j0, <int> n_in)
        else:
            # d_prev[:, j0:j0+nb] = d (batch, n_out) @ W[j0:j0+nb, :].T, W (n_in, n_out)
            gemm_rm(c'N', c'T', <int> batch, <int> nb, <int> n_out, 1, d, <int> n_out,
                    w + j0 * n_out, <int> n_out, 0, d_prev + j0, <int> n_in)
        if dh_extra != NULL:
            for i in range(batch):
                for j in range(j0, j0 + nb):
                    d_prev[i * n_in + j] += dh_extra[i * n_in + j]
        if act_prev != IDENTITY:
            for i in range(batch):
                derivative_block(act_prev, d_prev + i * n_in + j0,
                                 a_in + i * n_in + j0, nb)
