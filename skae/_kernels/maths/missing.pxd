# Missing entries: which entries of a gathered minibatch are observed, as a
# 0/1 mask the losses weight each entry by, and the value each missing entry
# enters the network as.
#
# NAN: an entry holding NaN is missing (scikit-learn's imputers' convention);
# dense or CSR. UNSTORED: an entry that a CSR matrix does not store is missing
# (a ratings matrix); the Python layer rejects stored zeros, so after the
# gather "observed" is "nonzero". The mask depends only on the values, so it
# is the same for any thread count.

from cython cimport floating
from cython.parallel cimport prange

cdef enum Missing:
    ALL_OBSERVED = 0
    MISSING_NAN = 1
    MISSING_UNSTORED = 2


cdef struct MissingConfig:
    int kind            # a Missing code


cdef inline void observe_row(int kind, floating* x, floating* mask,
                             const floating* fill, Py_ssize_t n) noexcept nogil:
    """Set mask[j] to 1 where x[j] is observed and 0 where it is missing, and
    put fill[j] (0 if fill is NULL) into each missing x[j]."""
    cdef Py_ssize_t j
    cdef bint seen
    for j in range(n):
        if kind == MISSING_NAN:
            seen = x[j] == x[j]
        else:
            seen = x[j] != 0
        mask[j] = 1 if seen else 0
        if not seen:
            x[j] = 0 if fill == NULL else fill[j]


cdef inline void observe(int kind, floating* x, floating* mask, const floating* fill,
                         Py_ssize_t n_rows, Py_ssize_t n_cols,
                         int n_threads) noexcept nogil:
    """observe_row on each row of x (n_rows, n_cols), rows in parallel."""
    cdef Py_ssize_t i
    for i in prange(n_rows, num_threads=n_threads if n_rows > 32 else 1,
                    schedule='static'):
        observe_row(kind, x + i * n_cols, mask + i * n_cols, fill, n_cols)


cdef inline floating observed_count(const floating* mask, Py_ssize_t n) noexcept nogil:
    """Number of observed entries of one row's mask."""
    cdef Py_ssize_t j
    cdef floating s = 0
    for j in range(n):
        s += mask[j]
    return s


cdef inline void row_steps(const floating* mask, floating* steps, Py_ssize_t n_rows,
                           Py_ssize_t channels, Py_ssize_t length,
                           int n_threads) noexcept nogil:
    """steps[i] = the number of time steps of row i up to its last observed
    one, rows laid out (channels, length) with their mask in mask: a series
    right-padded with missing values ends where its padding starts."""
    cdef Py_ssize_t i, c, t, last
    cdef const floating* m
    for i in prange(n_rows, num_threads=n_threads if n_rows > 32 else 1,
                    schedule='static'):
        m = mask + i * channels * length
        last = 0
        for c in range(channels):
            t = length
            while t > last and m[c * length + t - 1] == 0:
                t = t - 1
            last = t
        steps[i] = last
