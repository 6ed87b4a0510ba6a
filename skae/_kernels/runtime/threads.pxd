# How many threads a kernel call uses, chosen while it runs.
#
# Threads split every product into fixed blocks and meet at a barrier after
# each of them, so a team runs at the speed of its slowest member. On a quiet
# machine with large minibatches two threads are nearly twice as fast as one;
# on small products the barriers cost more than the split saves; and when
# another process takes a core, the thread that shares it stalls the team at
# every barrier it misses by a scheduler's time slice (1-20 ms; measured here
# on 2 cores under a load of 2: 1-3% of parallel regions wait about 4 ms, which
# makes the team several times slower than one thread on regions of tens of
# microseconds). Which case holds depends on the data, the model and the load of
# the moment, so each call measures it: results are bit-identical for any
# thread count (fixed blocks, serial reductions), which makes switching free of
# any effect but speed.
#
# The unit of choice is a step: a minibatch in training, a chunk of rows in
# inference. A probe runs steps on one thread and on the whole team, starting
# with one thread and each next step on whichever has had less probe time,
# until both have had PROBE_BATCHES steps and PROBE_MS of time: enough that a
# preemption of a few milliseconds does not decide. The team is then kept if it
# ran at least TEAM_MARGIN_PERCENT faster per row (the rule is that threads
# never cost, so a tie goes to one thread), one thread otherwise, for a window
# of wall time; the next probe starts when the window ends. A window starts at
# MIN_WINDOW_MS and doubles, up to MAX_WINDOW_MS, while probes keep choosing the
# same count; a change of choice starts it again.
#
# A stall does not wait for the probe's verdict. A team step that took STALL_US
# longer than one thread would have, and half as long again (at one thread's
# rate in the last probe), stalled. A stall in a probe ends it with one thread
# for a window; a stall of a team that a probe chose starts a new probe. One
# stall can be a hiccup (a VM's vCPU taken for a moment, seen here on a quiet
# machine every few seconds of team time); a stall that follows another within
# RECUR_MS is the machine's load, and starts an avoidance in the module's record
# (runtime/team.h) that every call of the module then honours: one thread until it
# ends (MIN_WINDOW_MS, doubling up to MAX_WINDOW_MS while stalls recur), no
# probe meanwhile. So under load a call pays about one stall per avoidance, and
# a fit that starts while another has just seen the load pays none. On a quiet
# machine a step's fork and join cost microseconds, so STALL_US is far above
# what the team's overhead alone can add.
#
# The state lives in a ThreadRecord (runtime/record.pyx) that the caller keeps
# across calls (the passes of a fit, the inference calls of an estimator), so
# that short calls do not probe from scratch each time. It never touches the
# arithmetic.

from .signals cimport skae_seconds


cdef extern from "runtime/team.h" nogil:
    double skae_team_avoided_until()
    double skae_team_stalled(double now, double recur_seconds, double min_seconds,
                             double max_seconds)


cdef enum:
    PROBE_BATCHES = 2
    # Times in thousandths of a second.
    PROBE_MS = 10
    MIN_WINDOW_MS = 250
    MAX_WINDOW_MS = 4000
    # The team's speed per row must exceed one thread's by this factor, in %.
    TEAM_MARGIN_PERCENT = 110
    # A team step stalled if it took STALL_US microseconds longer than one
    # thread would have, and over STALL_PERCENT % of one thread's time (the
    # second bound keeps long steps on which the team merely loses from
    # counting as stalls).
    STALL_US = 1000
    STALL_PERCENT = 150
    # Stalls this close together (ms) are the machine's load, not hiccups.
    RECUR_MS = 1000


cdef struct ThreadChoice:
    int max_threads         # the team's size (the OpenMP limit); 0: not started
    int chosen              # threads while exploiting: 1 or max_threads
    int current             # threads of the step under way
    bint probing
    int count[2]            # probe steps on [one thread, the team]
    double seconds[2]       # probe time on each
    double rows[2]          # probe rows on each
    double window           # length of the current window, seconds
    double window_end       # clock time at which the next probe starts
    double started          # clock time at which the step under way started


cdef inline void start_probe(ThreadChoice* tc) noexcept nogil:
    tc.probing = True
    tc.count[0] = tc.count[1] = 0
    tc.seconds[0] = tc.seconds[1] = 0
    tc.rows[0] = tc.rows[1] = 0


cdef inline void choose_one_until(ThreadChoice* tc, double until) noexcept nogil:
    """One thread, no probe, until clock time ``until``."""
    tc.probing = False
    tc.chosen = 1
    tc.window = MIN_WINDOW_MS * 1e-3
    tc.window_end = until


cdef inline int threads_begin(ThreadChoice* tc, int max_threads) noexcept nogil:
    """The number of threads for the next step (call threads_end after it)."""
    cdef double now = skae_seconds(), avoid_until
    if (tc.max_threads != max_threads or tc.window_end > now + MAX_WINDOW_MS * 1e-3
            or (tc.chosen != 1 and tc.chosen != max_threads)):
        # A fresh state, a limit that changed since, or a state from another
        # clock (a copy from another process): start over.
        tc.max_threads = max_threads
        tc.chosen = max_threads
        tc.window = MIN_WINDOW_MS * 1e-3
        tc.window_end = now
        start_probe(tc)
    if max_threads <= 1:
        tc.current = 1
    elif tc.probing:
        avoid_until = skae_team_avoided_until()
        if now < avoid_until:
            # Another call of this module saw the team stall moments ago.
            choose_one_until(tc, avoid_until)
            tc.current = 1
        else:
            tc.current = max_threads if tc.seconds[1] < tc.seconds[0] else 1
    else:
        tc.current = tc.chosen
    tc.started = now
    return tc.current


cdef inline void threads_end(ThreadChoice* tc, Py_ssize_t rows) noexcept nogil:
    """Record the step of ``rows`` rows that threads_begin started."""
    cdef double now = skae_seconds(), elapsed = now - tc.started, expected
    cdef bint stalled = False
    cdef int arm, previous
    if tc.max_threads <= 1:
        return
    # One thread has had time whenever the team runs (probes start with it, and
    # a chosen team follows a probe), so its rate is known here.
    if tc.current != 1 and tc.rows[0] > 0:
        expected = rows * (tc.seconds[0] / tc.rows[0])
        stalled = (elapsed > expected + STALL_US * 1e-6
                   and 100 * elapsed > STALL_PERCENT * expected)
    if stalled and not tc.probing:
        # The team chosen by the last probe: probe again now.
        start_probe(tc)
        return
    if stalled:
        # One thread for this call's window (or the module's avoidance, if
        # this stall follows another).
        choose_one_until(tc, max(now + MIN_WINDOW_MS * 1e-3,
                                 skae_team_stalled(now, RECUR_MS * 1e-3,
                                                   MIN_WINDOW_MS * 1e-3,
                                                   MAX_WINDOW_MS * 1e-3)))
        return
    if not tc.probing:
        if now >= tc.window_end:
            start_probe(tc)
        return
    arm = tc.current != 1
    tc.count[arm] += 1
    tc.seconds[arm] += elapsed
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
