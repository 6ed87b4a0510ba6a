/* The number of threads OpenMP would use now (honours threadpoolctl limits),
 * or 1 when the extension was built without OpenMP. */
#ifdef _OPENMP
#include <omp.h>
static int skae_max_threads(void) { return omp_get_max_threads(); }
#else
static int skae_max_threads(void) { return 1; }
#endif
