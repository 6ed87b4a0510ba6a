# Fused-type GEMM over scipy.linalg.cython_blas, in row-major terms.
#
# All arrays in skae are C-contiguous (row-major) while BLAS is column-major.
# A row-major M x N matrix read as column-major is its N x M transpose, so the
# row-major product C = op(A) op(B) is computed as the column-major product
# C^T = op(B)^T op(A)^T: swap the operands and the dimensions M and N, keep the
# transpose flags. Callers then think only in row-major shapes.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv


cdef inline void gemm_rm(char trans_a, char trans_b, int m, int n, int k,
                         floating alpha, const floating* a, int lda,
                         const floating* b, int ldb,
                         floating beta, floating* c, int ldc) noexcept nogil:
    """Row-major C (m x n) = alpha * op(A) (m x k) @ op(B) (k x n) + beta * C.

    trans_a / trans_b are c'N' or c'T'; lda, ldb, ldc are the row lengths of the
    arrays as stored (row-major leading dimensions).
    """
    if floating is float:
        sgemm(&trans_b, &trans_a, &n, &m, &k, &alpha, <float*> b, &ldb,
              <float*> a, &lda, &beta, c, &ldc)
    else:
        dgemm(&trans_b, &trans_a, &n, &m, &k, &alpha, <double*> b, &ldb,
              <double*> a, &lda, &beta, c, &ldc)



cdef inline void gemv_rm(char trans_a, int m, int n, floating alpha, const floating* a,
                         int lda, const floating* x, floating beta,
                         floating* y) noexcept nogil:
    """Row-major y = alpha * op(A) @ x + beta * y, A stored m x n with row
    length lda; op(A) is A (c'N', y of m) or A.T (c'T', y of n). Column-major
    BLAS sees A.T, so the flag is flipped."""
    cdef char flipped = c'T' if trans_a == c'N' else c'N'
    cdef int one = 1
    if floating is float:
        sgemv(&flipped, &n, &m, &alpha, <float*> a, &lda, <float*> x, &one, &beta, y,
              &one)
    else:
        dgemv(&flipped, &n, &m, &alpha, <double*> a, &lda, <double*> x, &one, &beta, y,
              &one)

# Threads split a GEMM into fixed blocks of C's columns, one single-threaded BLAS
# call per block (the Python layer limits the BLAS to one thread around kernel
# calls). The split is a function of the matrix width alone, never of the
# thread count, so every block is computed by the same arithmetic whichever
# thread runs it: results are bit-identical for any number of threads, which a
# multi-threaded BLAS does not give (it partitions, and so rounds, differently
# for different thread counts). The count is even so that two threads get equal
# shares; widths are at most COL_BLOCK columns. Each block's BLAS call packs the
# shared operand again, so wider blocks pack less but leave fewer blocks for
# more cores: 256 gives a 784-wide layer 4 blocks of 196 columns. Measured on 2
# cores in alternation (noisy host, best of 3 epochs): 128 -> 256 took the
# autoencoder at batch 512 from 0.84-1.02 s to 0.83-0.84 s and was within noise
# at batch 128 and on the RBM; 512 (2 blocks) was no better than 256.

from cython.parallel cimport prange

cdef enum:
    COL_BLOCK = 256


cdef inline Py_ssize_t n_blocks(Py_ssize_t n) noexcept nogil:
    """How many column blocks split n columns."""
    return 2 * ((n + 2 * COL_BLOCK - 1) // (2 * COL_BLOCK))


cdef inline Py_ssize_t block_width(Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k = n_blocks(n)
    return (n + k - 1) // k


cdef inline void gemm_blocked(char trans_a, char trans_b, int m, int n, int k,
                              floating alpha, const floating* a, int lda,
                              const floating* b, int ldb, floating beta,
                              floating* c, int ldc, int n_threads) noexcept nogil:
    """gemm_rm, C's columns split into fixed blocks over threads."""
    cdef Py_ssize_t blk, j0, nb, width = block_width(n)
    for blk in prange(n_blocks(n), num_threads=n_threads, schedule='static'):
        j0 = blk * width
        nb = min(width, n - j0)
        if nb <= 0:
            continue
        # Columns j0.. of op(B): B + j0 untransposed, rows j0.. of B transposed.
        gemm_rm(trans_a, trans_b, m, <int> nb, k, alpha, a, lda,
                b + (j0 if trans_b == c'N' else j0 * ldb), ldb, beta, c + j0, ldc)
