/* How many steps of this module's passes ran on a team of threads: the pass
 * driver (_driver.pxd) counts them on the thread that runs the pass, so that a
 * test can tell that a second thread did run. One counter per module, as each
 * module is its own shared object. */
static long long skae_team_steps = 0;
static void skae_count_team_step(void) { ++skae_team_steps; }
static long long skae_team_step_count(void) { return skae_team_steps; }
