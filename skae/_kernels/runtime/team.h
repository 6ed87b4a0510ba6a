/* What a kernel module knows of its OpenMP team's recent stalls, shared by all
 * of its calls (the policy is in runtime/threads.pxd).
 *
 * A stall is a wait for a team thread that the OS has descheduled because
 * another process holds its core: the machine's load, the same for every
 * estimator in the process, so one call's finding spares the next ones the
 * cost of finding it again. Each module (each translation unit) keeps its own
 * copy of this record. The update runs under an OpenMP critical section, as
 * kernel calls from several Python threads may meet here; a build without
 * OpenMP runs one thread per call, and its record is advisory.
 */
#ifndef SKAE_TEAM_H
#define SKAE_TEAM_H

static double skae_team_avoid_until = 0;  /* clock time until which to use one thread */
static double skae_team_backoff = 0;      /* length of the last avoidance, seconds */

/* The clock time until which the team is to be avoided (in the past if not). */
static double skae_team_avoided_until(void)
{
    double until;
#ifdef _OPENMP
#pragma omp atomic read
#endif
    until = skae_team_avoid_until;
    return until;
}

static double skae_team_last_stall = -1e300; /* clock time of the last stall reported */

/* Report a stall seen at clock time now. A stall that follows the previous one
 * within recur_seconds is the machine's load, not a hiccup (a VM's vCPU briefly
 * taken, a page fault): it starts an avoidance, of min_seconds at first and
 * doubling, up to max_seconds, while stalls come back within one of its
 * lengths after it ends. Returns the end of the avoidance, or now when the
 * stall stays alone so far. */
static double skae_team_stalled(double now, double recur_seconds, double min_seconds,
                                double max_seconds)
{
    double until = now;
#ifdef _OPENMP
#pragma omp critical(skae_team)
#endif
    {
        if (now - skae_team_last_stall <= recur_seconds) {
            if (now <= skae_team_avoid_until + skae_team_backoff)
                skae_team_backoff = 2 * skae_team_backoff;
            else
                skae_team_backoff = min_seconds;
            if (skae_team_backoff < min_seconds)
                skae_team_backoff = min_seconds;
            if (skae_team_backoff > max_seconds)
                skae_team_backoff = max_seconds;
            until = now + skae_team_backoff;
#ifdef _OPENMP
#pragma omp atomic write
#endif
            skae_team_avoid_until = until;
        }
        skae_team_last_stall = now;
    }
    return until;
}

#endif
