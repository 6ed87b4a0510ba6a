# Gathering rows of the input into a dense, reusable minibatch buffer.
#
# Input reaches the kernels as a C-contiguous dense array flattened into `data`
# (indices and indptr empty) or as the three arrays of a CSR matrix. Either way a
# minibatch is copied into a dense (n, n_features) buffer: one code path after it,
# and dense and CSR input train exactly the same model.

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memcpy, memset


cdef inline const floating* values_of(const floating[::1] a) noexcept nogil:
    """Pointer to a's first value, NULL if a is empty (a CSR matrix without
    stored values); taking &a[0] of an empty view fails in debug builds."""
    return &a[0] if a.shape[0] > 0 else NULL


cdef inline const Py_ssize_t* indices_of(const Py_ssize_t[::1] a) noexcept nogil:
    """Pointer to a's first index, NULL if a is empty (dense input has no
    CSR indices)."""
    return &a[0] if a.shape[0] > 0 else NULL


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


cdef enum:
    # Rows per task of gather_rows_parallel. A smaller batch (scikit-learn's
    # RBM default is 10 rows) is copied on one thread: waking a second one would
    # cost more than the copy.
    GATHER_CHUNK = 32


cdef inline void gather_rows_parallel(const floating* data, const Py_ssize_t* indices,
                                      const Py_ssize_t* indptr, bint sparse,
                                      Py_ssize_t n_features, const Py_ssize_t* rows,
                                      Py_ssize_t start, Py_ssize_t n, floating* out,
                                      int n_threads) noexcept nogil:
    """gather_rows over threads, in chunks of GATHER_CHUNK rows. Each row is
    copied on its own, so the result does not depend on the thread count; the
    copy is a random read of X, worth spreading at large batches (it was a
    serial 2.5% of an autoencoder epoch at batch 512)."""
    cdef Py_ssize_t c, n_chunks = (n + GATHER_CHUNK - 1) // GATHER_CHUNK
    for c in prange(n_chunks, num_threads=n_threads if n_chunks > 1 else 1,
                    schedule='static'):
        gather_rows(data, indices, indptr, sparse, n_features, rows,
                    start + c * GATHER_CHUNK, min(GATHER_CHUNK, n - c * GATHER_CHUNK),
                    out + c * GATHER_CHUNK * n_features)


cdef struct RowSource:
    # The rows a pass reads: a dense array flattened, or a CSR matrix (values
    # typed by the pass's floating type; a struct cannot be fused).
    const void* data
    const Py_ssize_t* indices
    const Py_ssize_t* indptr
    bint sparse
    Py_ssize_t n_features
    const Py_ssize_t* order     # the rows in the order to visit, or NULL: 0, 1, ...


cdef inline RowSource row_source(const floating[::1] data, const Py_ssize_t[::1] indices,
                                 const Py_ssize_t[::1] indptr, bint sparse,
                                 Py_ssize_t n_features, const Py_ssize_t[::1] order):
    """The source of a pass over the input (checked by the caller), visiting
    ``order`` (None: every row in turn)."""
    cdef RowSource src
    src.data = values_of(data)
    src.indices = indices_of(indices)
    src.indptr = indices_of(indptr)
    src.sparse = sparse
    src.n_features = n_features
    src.order = indices_of(order) if order is not None else NULL
    return src


cdef inline void gather(const RowSource* src, Py_ssize_t start, Py_ssize_t n,
                        floating* out, int n_threads) noexcept nogil:
    """Rows start .. start + n of the pass into the dense buffer out."""
    gather_rows_parallel(<const floating*> src.data, src.indices, src.indptr, src.sparse,
                         src.n_features, src.order, start, n, out, n_threads)
