# Gathering rows of the input into a dense, reusable minibatch buffer.
#
# Input reaches the kernels as a C-contiguous dense array flattened into `data`
# (indices and indptr empty) or as the three arrays of a CSR matrix. Either way a
# minibatch is copied into a dense (n, n_features) buffer: one code path after it,
# and dense and CSR input train exactly the same model.

from cython cimport floating
from libc.string cimport memcpy, memset


cdef inline void gather_rows(const floating* data, const Py_ssize_t* indices,
                             const Py_ssize_t* indptr, bint sparse,
                             Py_ssize_t n_features, const Py_ssize_t* rows,
                             Py_ssize_t start, Py_ssize_t n,
                             floating* out) noexcept nogil:
    """Copy rows[start:start+n] (or start:start+n when rows is NULL) into a dense
    (n, n_features) buffer; CSR rows are scattered into zeroed rows (duplicate
    entries add up, as in scipy)."""
    cdef Py_ssize_t i, r, p
    cdef floating* dst
    for i in range(n):
        r = rows[start + i] if rows != NULL else start + i
        dst = out + i * n_features
        if sparse:
            memset(dst, 0, n_features * sizeof(floating))
            for p in range(indptr[r], indptr[r + 1]):
                dst[indices[p]] += data[p]  # += sums duplicate entries
        else:
            memcpy(dst, data + r * n_features, n_features * sizeof(floating))
