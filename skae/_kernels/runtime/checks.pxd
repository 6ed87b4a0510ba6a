# Checks every kernel entry point makes, with the GIL held, before it releases it.
#
# The Python layer validates input and derives every size from the fitted state,
# so none of these should ever fire. They are the second line: a kernel reads
# and writes through raw pointers with bounds checks off, and a wrong size
# handed to it (a fitted attribute assigned by a user, a bug in the layer
# above) must become a ValueError, never a write out of bounds. Each check is
# linear in the sizes it reads (the CSR structure, the row list) and cheap next
# to the pass it guards.

from cython cimport floating


cdef inline int check_length(Py_ssize_t have, Py_ssize_t need, str name) except -1:
    if have < need:
        raise ValueError(f"kernel: {name} has {have} elements; {need} are needed.")
    return 0


cdef inline Py_ssize_t check_input(const floating[::1] data, const Py_ssize_t[::1] indices,
                                   const Py_ssize_t[::1] indptr, bint sparse,
                                   Py_ssize_t n_features) except -1:
    """Check that the arrays describe an (n_rows, n_features) matrix; return n_rows.

    Dense: data holds n_rows * n_features values. CSR: indptr starts at 0 and
    never decreases, its last entry fits data and indices, and every column
    index lies in [0, n_features).
    """
    cdef Py_ssize_t i, n_rows, nnz
    if n_features < 1:
        raise ValueError(f"kernel: n_features must be positive; got {n_features}.")
    if not sparse:
        if data.shape[0] % n_features:
            raise ValueError(
                f"kernel: {data.shape[0]} values do not fill rows of {n_features}."
            )
        return data.shape[0] // n_features
    if indptr.shape[0] < 1 or indptr[0] != 0:
        raise ValueError("kernel: a CSR indptr must start at 0.")
    n_rows = indptr.shape[0] - 1
    for i in range(n_rows):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("kernel: a CSR indptr must not decrease.")
    nnz = indptr[n_rows]
    if nnz > data.shape[0] or nnz > indices.shape[0]:
        raise ValueError(
            f"kernel: the CSR indptr ends at {nnz}, past its {data.shape[0]} values "
            f"or {indices.shape[0]} indices."
        )
    for i in range(nnz):
        if indices[i] < 0 or indices[i] >= n_features:
            raise ValueError(
                f"kernel: CSR column index {indices[i]} is outside [0, {n_features})."
            )
    return n_rows


cdef inline int check_rows(const Py_ssize_t[::1] rows, Py_ssize_t n_rows) except -1:
    """Every row index lies in [0, n_rows)."""
    cdef Py_ssize_t i
    for i in range(rows.shape[0]):
        if rows[i] < 0 or rows[i] >= n_rows:
            raise ValueError(f"kernel: row index {rows[i]} is outside [0, {n_rows}).")
    return 0


cdef inline int check_shape(Py_ssize_t have, Py_ssize_t need, str what) except -1:
    if have != need:
        raise ValueError(f"kernel: {what} is {have}; {need} was expected.")
    return 0
