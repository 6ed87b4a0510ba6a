/* How many steps of this module's passes ran on a team of threads: the pass
 * driver (_driver.pxd) counts them on the thread that runs the pass, so that a
 * test can tell that a second thread did run. One counter per module, as each
 * module is its own shared object.
 *
 * For the same tests, a switch that makes the driver alternate one thread and
 * the team from step to step instead of measuring, so that a fit mixes both
 * whatever the machine's load (the measured choice may keep one thread all the
 * time on a busy machine). */
static long long skae_team_steps = 0;
static void skae_count_team_step(void) { ++skae_team_steps; }
static long long skae_team_step_count(void) { return skae_team_steps; }
static int skae_alternating = 0;
static void skae_set_alternating(int on) { skae_alternating = on; }
static int skae_is_alternating(void) { return skae_alternating; }
