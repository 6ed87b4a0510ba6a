# Thin products out (m x n) += A (m x K) @ B (n x K).T, read in place: the
# filter gradients of convolutions, where a BLAS call would spend longer packing
# its operands than multiplying them; and sums of long runs, their bias
# gradients (maths/thin.h).

from cython cimport floating


cdef extern from "maths/thin.h" nogil:
    void skae_thin_nt_f(float* out, Py_ssize_t ldo, const float* a, Py_ssize_t lda,
                        const float* b, Py_ssize_t ldb, Py_ssize_t m, Py_ssize_t n,
                        Py_ssize_t k)
    void skae_thin_nt_d(double* out, Py_ssize_t ldo, const double* a, Py_ssize_t lda,
                        const double* b, Py_ssize_t ldb, Py_ssize_t m, Py_ssize_t n,
                        Py_ssize_t k)
    float skae_run_sum_f(const float* x, Py_ssize_t n)
    double skae_run_sum_d(const double* x, Py_ssize_t n)


cdef inline void thin_nt(floating* out, Py_ssize_t ldo, const floating* a, Py_ssize_t lda,
                         const floating* b, Py_ssize_t ldb, Py_ssize_t m, Py_ssize_t n,
                         Py_ssize_t k) noexcept nogil:
    """out (m x n, row length ldo) += a (m x k) @ b (n x k).T, every entry
    rounded alike whatever m and n."""
    if floating is float:
        skae_thin_nt_f(out, ldo, a, lda, b, ldb, m, n, k)
    else:
        skae_thin_nt_d(out, ldo, a, lda, b, ldb, m, n, k)


cdef inline double run_sum(const floating* x, Py_ssize_t n) noexcept nogil:
    """The sum of x[:n], in lanes (maths/thin.h)."""
    if floating is float:
        return skae_run_sum_f(x, n)
    else:
        return skae_run_sum_d(x, n)
