# Ctrl-C inside a kernel pass.
#
# A pass runs with the GIL released, so Python's signal handler (which raises
# KeyboardInterrupt) cannot run until the pass returns, and an epoch can take
# many seconds. Between minibatches, on the thread that runs the pass, the
# kernels call signal_pending: at most every POLL_SECONDS of wall time it takes
# the GIL and lets Python run its pending handlers. If one raised, the pass
# stops at that minibatch boundary, restores what it must (the FP mode), and
# its entry point calls raise_pending, once out of its `with lock, nogil:`
# block, which hands the exception the handler raised on to Python. The Python layer then rolls the model back to the last
# completed pass.
#
# Polling by the clock, not by minibatch: taking the GIL may wait for another
# Python thread's switch interval (milliseconds), which per minibatch would
# cost seconds per epoch. Twenty polls a second cost nothing measurable and
# answer Ctrl-C within a minibatch plus 50 ms.

cdef extern from "runtime/clock.h":
    double skae_seconds() nogil

cdef extern from "Python.h":
    ctypedef struct PyObject
    # Declared without an exception value: it returns -1 with the handler's
    # exception set, which signal_pending moves into a Pending.
    int skae_check_signals "PyErr_CheckSignals" ()
    void PyErr_Fetch(PyObject** type, PyObject** value, PyObject** traceback)
    void PyErr_Restore(PyObject* type, PyObject* value, PyObject* traceback)

cdef enum:
    # Seconds between two polls, in thousandths.
    POLL_MILLISECONDS = 50


cdef struct Pending:
    # The exception a signal handler raised, held (owned references) while the
    # pass unwinds: it cannot stay set, because the entry point still leaves
    # a `with lock:` block, whose __exit__ must not run with an exception set.
    double next_poll        # clock time of the next poll; start at 0
    PyObject* type
    PyObject* value
    PyObject* traceback


cdef inline bint signal_pending(Pending* pending) noexcept nogil:
    """True if a signal handler raised (its exception then held in pending);
    polls at most every POLL_MILLISECONDS."""
    cdef double now = skae_seconds()
    cdef int status
    if now < pending.next_poll:
        return False
    pending.next_poll = now + POLL_MILLISECONDS * 1e-3
    with gil:
        status = skae_check_signals()
        if status != 0:
            PyErr_Fetch(&pending.type, &pending.value, &pending.traceback)
    return status != 0


cdef inline int raise_pending(Pending* pending) except -1:
    """Raise the exception signal_pending held."""
    PyErr_Restore(pending.type, pending.value, pending.traceback)
    return -1
