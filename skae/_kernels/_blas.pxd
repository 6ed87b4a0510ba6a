# Fused-type GEMM over scipy.linalg.cython_blas, in row-major terms.
#
# All arrays in skae are C-contiguous (row-major) while BLAS is column-major.
# A row-major M x N matrix read as column-major is its N x M transpose, so the
# row-major product C = op(A) op(B) is computed as the column-major product
# C^T = op(B)^T op(A)^T: swap the operands and the dimensions M and N, keep the
# transpose flags. Callers then think only in row-major shapes.

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


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
