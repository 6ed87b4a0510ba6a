# The nonzeros of a minibatch, for a first layer that skips its input's zeros.
#
# Much real input to an autoencoder is mostly zeros: 81% of MNIST's pixels,
# more of a bag of words or a one-hot encoding, and more again after masking
# noise. The first layer's two products with its input, Z = X W forward and the
# weight gradient X^T D backward, are two of the five GEMMs of a one-hidden-
# layer autoencoder's step, and they do no useful work on those zeros. When a
# minibatch's share of nonzeros is at most a limit, its nonzeros are listed by
# row (for X W) and by column (for X^T D), and both products become weighted
# sums of rows of W or D over the nonzeros alone (skae_sparse_times,
# maths/nonzeros.h).
#
# The limit (INPUT_DENSITY_LIMIT in _network.pyx, 0.3) is where the two cost
# the same. Measured on 2 cores (AVX2), one epoch of a 784-256-784 autoencoder
# on 30,000 rows with nonzeros at random places, zero-skipping time over dense
# time: 0.81 at 10% nonzeros, 0.87 at 20%, 0.95 at 35%, 1.04 at 50% and 1.13
# at 65% (batch 128); 0.78, 0.90, 1.03, 1.15, 1.26 at batch 512. On MNIST
# (19% nonzeros, in runs) an epoch at batch 128 took 0.77 s instead of 0.92 s.
# A dense BLAS product runs near the FMA units' peak with each loaded value
# reused across rows; the listed product loads a vector of M for every
# vector multiply and add, so it wins only on the zeros it skips.
#
# The choice depends on the minibatch's values only, never on the thread count
# or on whether the input came dense or CSR, so both properties of the kernels
# hold: any thread count and either input format train the same model. The two
# paths round differently (BLAS blocks the sum over features its own way), as
# any two BLAS builds do; the gradient checks run both.

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memset


cdef extern from "maths/nonzeros.h" nogil:
    enum: PANEL_SIZE "SKAE_PANEL_SIZE"
    Py_ssize_t skae_nonzeros_f(const float* x, Py_ssize_t n, int* idx, float* val)
    Py_ssize_t skae_nonzeros_d(const double* x, Py_ssize_t n, int* idx, double* val)
    void skae_sparse_times_f(float* out, Py_ssize_t ldo, Py_ssize_t n_out, Py_ssize_t n,
                             const Py_ssize_t* start, const Py_ssize_t* end,
                             const int* idx, const float* val, const float* M,
                             Py_ssize_t ldm, Py_ssize_t m_rows, float* pack,
                             Py_ssize_t* cursor)
    void skae_sparse_times_d(double* out, Py_ssize_t ldo, Py_ssize_t n_out, Py_ssize_t n,
                             const Py_ssize_t* start, const Py_ssize_t* end,
                             const int* idx, const double* val, const double* M,
                             Py_ssize_t ldm, Py_ssize_t m_rows, double* pack,
                             Py_ssize_t* cursor)


cdef struct Nonzeros:
    # Whether the current minibatch is listed (sparse enough); the rest is valid
    # only if it is.
    bint active
    # The most nonzeros a minibatch may have to be listed: limit * rows * columns.
    Py_ssize_t max_count
    # By row: row i's nonzeros at row_start[i]:row_end[i], each row with one
    # spare slot after them (see skae_nonzeros).
    Py_ssize_t* row_start    # (batch,)
    Py_ssize_t* row_end      # (batch,)
    int* row_index           # column of each nonzero
    void* row_value          # (floating) its value
    # By column (NULL when only the forward pass is needed): column c's nonzeros
    # at col_start[c]:col_start[c + 1], in increasing row order.
    Py_ssize_t* col_start    # (n_columns + 1,)
    int* col_index           # row of each nonzero
    void* col_value
    # Each thread's scratch for the products: PANEL_SIZE elements (floating) of
    # pack, and cursor_size (>= rows and columns) of cursor, which
    # list_by_column also uses for its counts.
    void* pack
    Py_ssize_t* cursor
    Py_ssize_t cursor_size


cdef inline Py_ssize_t count_nonzeros(const floating* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j, c = 0
    for j in range(n):
        c += x[j] != 0
    return c


cdef inline void list_by_column(Nonzeros* nz, const floating* row_value,
                                floating* col_value, Py_ssize_t n_rows,
                                Py_ssize_t n_cols, int n_threads) noexcept nogil:
    """The by-column lists, from the by-row ones: a counting sort, split by rows.
    row_value and col_value are nz's value arrays.

    Part t of n_threads counts its rows' entries per column into its own
    scratch (nz.cursor); a serial pass over the columns turns the counts into
    each part's first slot in each column, parts in row order; each part then
    places its entries. Columns list their rows in increasing order, so the
    lists are the same for any thread count.
    """
    cdef Py_ssize_t t, i, k, c, p, q, r0, r1
    cdef Py_ssize_t n_parts = n_threads if n_threads > 0 else 1
    cdef Py_ssize_t* slot
    for t in prange(n_parts, num_threads=n_threads, schedule='static'):
        slot = nz.cursor + t * nz.cursor_size
        memset(slot, 0, n_cols * sizeof(Py_ssize_t))
        r0 = t * n_rows // n_parts
        r1 = (t + 1) * n_rows // n_parts
        for i in range(r0, r1):
            for k in range(nz.row_start[i], nz.row_end[i]):
                slot[nz.row_index[k]] += 1
    p = 0
    for c in range(n_cols):
        nz.col_start[c] = p
        for t in range(n_parts):
            q = nz.cursor[t * nz.cursor_size + c]
            nz.cursor[t * nz.cursor_size + c] = p
            p += q
    nz.col_start[n_cols] = p
    for t in prange(n_parts, num_threads=n_threads, schedule='static'):
        slot = nz.cursor + t * nz.cursor_size
        r0 = t * n_rows // n_parts
        r1 = (t + 1) * n_rows // n_parts
        for i in range(r0, r1):
            for k in range(nz.row_start[i], nz.row_end[i]):
                c = nz.row_index[k]
                q = slot[c]
                slot[c] = q + 1
                nz.col_index[q] = <int> i
                col_value[q] = row_value[k]


cdef inline void list_nonzeros(Nonzeros* nz, const floating* a, Py_ssize_t n_rows,
                               Py_ssize_t n_cols, int n_threads) noexcept nogil:
    """List the nonzeros of a (n_rows, n_cols) into nz if there are at most
    nz.max_count of them; nz.active says whether it did.

    Rows are counted and listed in parallel, each into its own slots, so the
    lists do not depend on the thread count; the by-column lists (if
    nz.col_start is set) are sorted from them by list_by_column.
    """
    cdef Py_ssize_t i, k, total = 0
    nz.active = False
    if nz.max_count <= 0:
        return
    for i in prange(n_rows, num_threads=n_threads, schedule='static'):
        nz.row_end[i] = count_nonzeros(a + i * n_cols, n_cols)
    for i in range(n_rows):
        k = nz.row_end[i]
        nz.row_start[i] = total + i  # + i: one spare slot per row
        nz.row_end[i] = total + i + k
        total += k
    if total > nz.max_count:
        return
    for i in prange(n_rows, num_threads=n_threads, schedule='static'):
        if floating is float:
            skae_nonzeros_f(a + i * n_cols, n_cols, nz.row_index + nz.row_start[i],
                            <float*> nz.row_value + nz.row_start[i])
        else:
            skae_nonzeros_d(a + i * n_cols, n_cols, nz.row_index + nz.row_start[i],
                            <double*> nz.row_value + nz.row_start[i])
    if nz.col_start != NULL:
        list_by_column(nz, <const floating*> nz.row_value, <floating*> nz.col_value,
                       n_rows, n_cols, n_threads)
    nz.active = True


cdef inline void sparse_times(const Nonzeros* nz, floating* out, Py_ssize_t ldo,
                              Py_ssize_t n_out, Py_ssize_t n, const Py_ssize_t* start,
                              const Py_ssize_t* end, const int* idx,
                              const floating* val, const floating* M, Py_ssize_t ldm,
                              Py_ssize_t m, int thread) noexcept nogil:
    """skae_sparse_times for either precision, with the thread's scratch."""
    if floating is float:
        skae_sparse_times_f(out, ldo, n_out, n, start, end, idx, val, M, ldm, m,
                            <float*> nz.pack + thread * PANEL_SIZE,
                            nz.cursor + thread * nz.cursor_size)
    else:
        skae_sparse_times_d(out, ldo, n_out, n, start, end, idx, val, M, ldm, m,
                            <double*> nz.pack + thread * PANEL_SIZE,
                            nz.cursor + thread * nz.cursor_size)


cdef inline void nonzeros_times(const Nonzeros* nz, Py_ssize_t n_rows,
                                const floating* M, Py_ssize_t ldm, Py_ssize_t m,
                                floating* out, Py_ssize_t ldo, Py_ssize_t n,
                                int thread) noexcept nogil:
    """out[:, 0:n] += A @ M[:, 0:n] for the listed (n_rows, m) matrix A; M is
    (m, >= n) and out (n_rows, >= n), row-major with row lengths ldm and ldo.
    thread: the calling thread's number, for its scratch."""
    sparse_times(nz, out, ldo, n_rows, n, nz.row_start, nz.row_end, nz.row_index,
                 <const floating*> nz.row_value, M, ldm, m, thread)


cdef inline void nonzeros_t_times(const Nonzeros* nz, Py_ssize_t n_cols,
                                  const floating* M, Py_ssize_t ldm, Py_ssize_t m,
                                  floating* out, Py_ssize_t ldo, Py_ssize_t n,
                                  int thread) noexcept nogil:
    """out[:, 0:n] += A.T @ M[:, 0:n] for the listed (m, n_cols) matrix A; M is
    (m, >= n) and out (n_cols, >= n), row-major with row lengths ldm and ldo.
    thread: the calling thread's number, for its scratch."""
    sparse_times(nz, out, ldo, n_cols, n, nz.col_start, nz.col_start + 1, nz.col_index,
                 <const floating*> nz.col_value, M, ldm, m, thread)
