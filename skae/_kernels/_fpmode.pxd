# Subnormal floats flushed to zero for the duration of a kernel call, in every
# thread that runs it (why, and what it changes: _fpmode.h).
#
# An entry point brackets its work with flush_denormals(...) and
# restore_fp_mode(...), both called with the same n_threads as every parallel
# region in between. Each runs one parallel block, so each thread of the team
# saves and later restores its own mode. OpenMP runtimes (GNU's libgomp,
# LLVM's libomp) run the teams that one thread starts on the same pool threads,
# a team of k on the first k - 1 of them, so regions of at most n_threads in
# between run on threads that were switched; tests/test_network_kernel.py
# checks the flush on both threads' column blocks and the caller's mode after
# the call.

from libc.stdlib cimport malloc, free
from cython.parallel cimport parallel, threadid


cdef extern from "_fpmode.h" nogil:
    unsigned int skae_fp_flush()
    void skae_fp_restore(unsigned int previous)


cdef inline unsigned int* flush_denormals(int n_threads) noexcept nogil:
    """Flush subnormals in each of n_threads threads; returns their previous
    modes, for restore_fp_mode (NULL if out of memory: nothing was changed)."""
    cdef unsigned int* saved = <unsigned int*> malloc(n_threads * sizeof(unsigned int))
    if saved == NULL:
        return NULL
    with parallel(num_threads=n_threads):
        saved[threadid()] = skae_fp_flush()
    return saved


cdef inline void restore_fp_mode(unsigned int* saved, int n_threads) noexcept nogil:
    """Give each thread back the mode flush_denormals found, and free saved."""
    if saved == NULL:
        return
    with parallel(num_threads=n_threads):
        skae_fp_restore(saved[threadid()])
    free(saved)
