# Ctrl-C inside a kernel pass.
#
# A pass runs with the GIL released, so Python's signal handler (which raises
# KeyboardInterrupt) cannot run until the pass returns, and an epoch can take
# many seconds. Between minibatches, on the thread that runs the pass, the
# kernels call signal_pending: at most every POLL_SECONDS of wall time it takes
# the GIL and lets Python run its pending handlers. If one raised, the pass
# stops at that minibatch boundary, restores what it must (the FP mode), and
# its entry point calls raise_pending, which hands the exception the handler
# set on to Python. The Python layer then rolls the model back to the last
# completed pass.
#
# Polling by the clock, not by minibatch: taking the GIL may wait for another
# Python thread's switch interval (milliseconds), which per minibatch would
# cost seconds per epoch. Twenty polls a second cost nothing measurable and
# answer Ctrl-C within a minibatch plus 50 ms.

cdef extern from "_clock.h":
    double skae_seconds() nogil

cdef extern from "Python.h":
    # Declared without an exception value: it returns -1 with the handler's
    # exception set, which raise_pending later propagates.
    int skae_check_signals "PyErr_CheckSignals" ()

cdef enum:
    # Seconds between two polls, in thousandths.
    POLL_MILLISECONDS = 50


cdef inline bint signal_pending(double* next_poll) noexcept nogil:
    """True if a signal handler raised; polls at most every POLL_MILLISECONDS.
    next_poll holds the clock time of the next poll (start it at 0)."""
    cdef double now = skae_seconds()
    cdef int status
    if now < next_poll[0]:
        return False
    next_poll[0] = now + POLL_MILLISECONDS * 1e-3
    with gil:
        status = skae_check_signals()
    return status != 0


cdef inline int raise_pending() except -1:
    """Propagate the exception a signal handler set (see signal_pending)."""
    return -1
