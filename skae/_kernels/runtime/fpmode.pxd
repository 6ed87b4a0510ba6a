# Subnormal floats flushed to zero for the duration of a kernel call, in every
# thread that runs it (why, and what it changes: runtime/fpmode.h).
#
# An entry point brackets its work with flush_denormals(...) and
# restore_fp_mode(...). flush_denormals switches the first n_threads threads of
# the team at once (one parallel block when n_threads > 1, the calling thread
# alone when it is 1); widen_flush switches more of them, up to the capacity
# given, before a region that uses them, so that a pass which chooses one
# thread (runtime/threads.pxd) never wakes the team for its FP mode: on a busy machine
# each team-wide block costs a wait for a descheduled thread. Each switched
# thread saves its own mode and restore_fp_mode gives it back. OpenMP runtimes
# (GNU's libgomp, LLVM's libomp) run the teams that one thread starts on the
# same pool threads, a team of k on the first k - 1 of them, so regions of at
# most the switched count run on threads that were switched;
# tests/test_network_kernel.py checks the flush on both threads' column blocks
# and the caller's mode after the call.

from libc.stdlib cimport malloc, free
from cython.parallel cimport parallel, threadid


cdef extern from "runtime/fpmode.h" nogil:
    unsigned int skae_fp_flush()
    void skae_fp_restore(unsigned int previous)


cdef struct FpModes:
    unsigned int* saved     # each switched thread's previous mode, by thread id
    int capacity            # threads saved can hold
    int flushed             # threads 0 .. flushed - 1 are switched


cdef inline void widen_flush(FpModes* modes, int n_threads) noexcept nogil:
    """Switch threads flushed .. n_threads - 1 too (at most capacity)."""
    cdef int first = modes.flushed
    n_threads = min(n_threads, modes.capacity)
    if modes.saved == NULL or n_threads <= first:
        return
    if n_threads == 1:
        modes.saved[0] = skae_fp_flush()
    else:
        with parallel(num_threads=n_threads):
            if threadid() >= first:
                modes.saved[threadid()] = skae_fp_flush()
    modes.flushed = n_threads


cdef inline FpModes flush_denormals(int n_threads, int capacity) noexcept nogil:
    """Flush subnormals in the first n_threads threads now, and allow
    widen_flush up to capacity threads (saved is NULL if out of memory:
    nothing is changed)."""
    cdef FpModes modes
    modes.capacity = max(capacity, n_threads)
    modes.flushed = 0
    modes.saved = <unsigned int*> malloc(modes.capacity * sizeof(unsigned int))
    widen_flush(&modes, n_threads)
    return modes


cdef inline void restore_fp_mode(FpModes* modes) noexcept nogil:
    """Give each switched thread back the mode it had, and free the record."""
    if modes.saved == NULL:
        return
    if modes.flushed == 1:
        skae_fp_restore(modes.saved[0])
    elif modes.flushed > 1:
        with parallel(num_threads=modes.flushed):
            skae_fp_restore(modes.saved[threadid()])
    free(modes.saved)
    modes.saved = NULL
