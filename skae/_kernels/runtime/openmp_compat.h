/* The number of threads OpenMP would use now (honours threadpoolctl limits),
 * or 1 when the extension was built without OpenMP.
 *
 * In the child of a fork it is always 1. GCC's libgomp keeps its thread pool
 * across fork() without the threads: a child that enters a parallel region
 * the parent's pool served waits for them forever (scikit-learn's KMeans
 * hangs the same way). The kernels' results do not depend on the thread
 * count, so a forked child runs them serially and gets the same answers.
 * skae_register_fork_handler() is called once when each module is imported;
 * the flag is per module, as each module is its own shared object. */
#ifdef _OPENMP
#include <omp.h>
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
static int skae_forked_child = 0;
static void skae_mark_forked_child(void) { skae_forked_child = 1; }
static int skae_register_fork_handler(void) {
    return pthread_atfork(NULL, NULL, skae_mark_forked_child);
}
static int skae_max_threads(void) {
    return skae_forked_child ? 1 : omp_get_max_threads();
}
#else
static int skae_register_fork_handler(void) { return 0; }
static int skae_max_threads(void) { return omp_get_max_threads(); }
#endif
#else
static int skae_register_fork_handler(void) { return 0; }
static int skae_max_threads(void) { return 1; }
#endif
