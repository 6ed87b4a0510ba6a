# How many threads a training pass uses, chosen while it runs.
#
# Threads split every product into fixed blocks and meet at a barrier after
# each of them, so a team runs at the speed of its slowest member. On a quiet
# machine with large minibatches two threads are nearly twice as fast as one;
# on small products the barriers cost more than the split saves; and when
# another process takes a core, the thread that shares it stalls the team at
# every barrier, which makes two threads several times slower than one. Which
# case holds depends on the data, the model and the load of the moment, so the
# pass measures it: results are bit-identical for any thread count (fixed
# blocks, serial reductions), which makes switching free of any effect but
# speed.
#
# A probe runs minibatches on one thread and on the whole team, each next one on
# whichever has had less probe time, until both have had PROBE_BATCHES
# minibatches and PROBE_MS of time: enough that a preemption of a few
# milliseconds does not decide. The team is then kept if it trained at least
# TEAM_MARGIN_PERCENT faster per row (the rule is that threads never cost, so a tie
# goes to one thread), one thread otherwise, for a window of wall time; the
# next probe starts when the window ends. A window starts at MIN_WINDOW_MS and
# doubles, up to MAX_WINDOW_MS, while probes keep choosing the same count; a
# change of choice starts it again. The state lives in a buffer the caller
# keeps across the passes of a fit, so that short epochs do not probe from
# scratch each time. It never touches the arithmetic.

from ._signals cimport skae_seconds

cdef enum:
    PROBE_BATCHES = 2
    # Times in thousandths of a second.
    PROBE_MS = 10
    MIN_WINDOW_MS = 250
    MAX_WINDOW_MS = 4000
    # The team's speed per row must exceed one thread's by this factor, in %.
    TEAM_MARGIN_PERCENT = 110


cdef struct ThreadChoice:
    int max_threads         # the team's size (the OpenMP limit); 0: not started
    int chosen              # threads while exploiting: 1 or max_threads
    int current             # threads of the minibatch under way
    bint probing
    int count[2]            # probe minibatches on [one thread, the team]
    double seconds[2]       # probe time on each
    double rows[2]          # probe rows on each
    double window           # length of the current window, seconds
    double window_end       # clock time at which the next probe starts
    double started          # clock time at which the minibatch under way started


cdef inline void start_probe(ThreadChoice* tc) noexcept nogil:
    tc.probing = True
    tc.count[0] = tc.count[1] = 0
    tc.seconds[0] = tc.seconds[1] = 0
    tc.rows[0] = tc.rows[1] = 0


cdef inline int check_thread_state(const unsigned char[::1] state) except -1:
    if state.shape[0] < <Py_ssize_t> sizeof(ThreadChoice):
        raise ValueError(f"kernel: thread_state has {state.shape[0]} bytes; "
                         f"{sizeof(ThreadChoice)} are needed.")
    return 0


cdef inline int threads_begin(ThreadChoice* tc, int max_threads) noexcept nogil:
    """The number of threads for the next minibatch (call threads_end after it)."""
    if tc.max_threads != max_threads:
        # A fresh state, or a limit that changed since: start over.
        tc.max_threads = max_threads
        tc.chosen = max_threads
        tc.window = MIN_WINDOW_MS * 1e-3
        start_probe(tc)
    if max_threads <= 1:
        tc.current = 1
    elif tc.probing:
        tc.current = max_threads if tc.seconds[1] <= tc.seconds[0] else 1
    else:
        tc.current = tc.chosen
    tc.started = skae_seconds()
    return tc.current


cdef inline void threads_end(ThreadChoice* tc, Py_ssize_t rows) noexcept nogil:
    """Record the minibatch of ``rows`` rows that threads_begin started."""
    cdef double now = skae_seconds()
    cdef int arm, previous
    if tc.max_threads <= 1:
        return
    if not tc.probing:
        if now >= tc.window_end:
            start_probe(tc)
        return
    arm = tc.current != 1
    tc.count[arm] += 1
    tc.seconds[arm] += now - tc.started
    tc.rows[arm] += rows
    if (min(tc.count[0], tc.count[1]) < PROBE_BATCHES
            or min(tc.seconds[0], tc.seconds[1]) < PROBE_MS * 1e-3):
        return
    tc.probing = False
    previous = tc.chosen
    # Rows per second of the team against one thread's.
    if 100 * tc.rows[1] * tc.seconds[0] > TEAM_MARGIN_PERCENT * tc.rows[0] * tc.seconds[1]:
        tc.chosen = tc.max_threads
    else:
        tc.chosen = 1
    if tc.chosen == previous:
        tc.window = min(2 * tc.window, MAX_WINDOW_MS * 1e-3)
    else:
        tc.window = MIN_WINDOW_MS * 1e-3
    tc.window_end = now + tc.window
