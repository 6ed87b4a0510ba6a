# The one pass driver: every compiled entry point runs its work through run_pass.
#
# An entry point checks its arguments with the GIL held, fills a context record
# (pointers to its buffers and what it accumulates) and hands run_pass a step
# function: what happens to one step of the pass (a minibatch in training, a
# chunk of rows in inference, one Gibbs step of a chunk of chains). run_pass
# owns everything around the steps, so that no entry point writes it again:
#
# - the GIL is released for the whole pass, with the caller's lock (a bit
#   generator's) held around it when one is given;
# - subnormals are flushed in every thread that runs a step (_fpmode.pxd) and
#   the caller's mode restored after;
# - before each step, Ctrl-C is polled (runtime/signals.pxd); an exception a signal
#   handler raised ends the pass at that step boundary and is raised once the
#   GIL is held again;
# - each step's thread count is chosen from the measured speed of one thread
#   and the team (runtime/threads.pxd), or is OpenMP's limit when no thread record is
#   given (single-step calls such as the gradient checks).
#
# A step returns the number of rows it covered (what the thread choice rates
# it by), or STOP to end the pass there (a non-finite loss). Steps are numbered
# 0 .. n_steps - 1; the step maps its number to its rows. The step function is
# a fused function taking the workspace as its floating pointer, so an entry
# point passes its specialisation as step_name[floating].

from cython cimport floating

from .fpmode cimport FpModes, flush_denormals, restore_fp_mode, widen_flush
from .signals cimport Pending, raise_pending, signal_pending
from .record cimport ThreadRecord
from .threads cimport ThreadChoice, threads_begin, threads_end


cdef extern from "runtime/openmp_compat.h":
    int skae_max_threads() nogil
    int skae_register_fork_handler()

cdef extern from "runtime/driver.h":
    void skae_count_team_step() nogil
    long long skae_team_step_count()
    void skae_set_alternating(int on)
    int skae_is_alternating() nogil


cdef enum:
    # What a step returns to end the pass before its rows count.
    STOP = -1


cdef enum Outcome:
    DONE = 0            # every step ran
    STOPPED = 1         # a step returned STOP
    INTERRUPTED = 2     # a signal handler raised; held in the Pending record


cdef inline int register_fork_handler() except -1:
    """Make a forked child run the kernels on one thread (runtime/openmp_compat.h);
    called once when each kernel module is imported."""
    if skae_register_fork_handler() != 0:
        raise ImportError("skae: pthread_atfork failed; the kernels would hang in a "
                          "forked child.")
    return 0


cdef inline int drive(Py_ssize_t (*step)(void*, floating*, Py_ssize_t, int) noexcept nogil,
                      void* ctx, floating* work, Py_ssize_t n_steps,
                      ThreadChoice* choice, Pending* pending) noexcept nogil:
    """Run steps 0 .. n_steps - 1 with the GIL released; returns an Outcome."""
    cdef int max_threads = skae_max_threads(), n_threads, outcome = DONE
    cdef Py_ssize_t k, rows
    cdef FpModes fp_modes = flush_denormals(1 if choice != NULL else max_threads,
                                            max_threads)
    for k in range(n_steps):
        if signal_pending(pending):
            outcome = INTERRUPTED
            break
        if skae_is_alternating():
            n_threads = max_threads if k % 2 else 1
        elif choice != NULL:
            n_threads = threads_begin(choice, max_threads)
        else:
            n_threads = max_threads
        widen_flush(&fp_modes, n_threads)
        if n_threads > 1:
            skae_count_team_step()
        rows = step(ctx, work, k, n_threads)
        if rows == STOP:
            outcome = STOPPED
            break
        if choice != NULL and not skae_is_alternating():
            threads_end(choice, rows)
    restore_fp_mode(&fp_modes)
    return outcome


cdef inline bint run_pass(Py_ssize_t (*step)(void*, floating*, Py_ssize_t, int) noexcept nogil,
                          void* ctx, floating* work, Py_ssize_t n_steps,
                          ThreadRecord threads, object lock=None) except -1:
    """Run the pass's n_steps steps (see the top of this file); True if all
    ran, False if a step stopped the pass. ``threads`` (a ThreadRecord, or
    None: OpenMP's limit for every step) carries the choice of thread count
    across steps and calls. Raises what a Ctrl-C handler raised, after the
    pass has unwound."""
    cdef ThreadChoice* choice = NULL
    cdef Pending pending
    cdef int outcome
    pending.next_poll = 0
    if threads is not None:
        choice = &threads.choice
    if lock is None:
        with nogil:
            outcome = drive(step, ctx, work, n_steps, choice, &pending)
    else:
        with lock, nogil:
            outcome = drive(step, ctx, work, n_steps, choice, &pending)
    if outcome == INTERRUPTED:
        raise_pending(&pending)
    return outcome == DONE
