/* threads.c — one owner of the cores: the runtime's OpenMP regions. OpenBLAS always runs single-threaded, called
 * from inside those regions on pieces of work whose boundaries do not depend on the thread count.
 *
 * OpenBLAS is made single-threaded lazily, with pthread_once, by the first runtime call that needs BLAS (and by
 * vggc_set_threads). Not a constructor: in a static library a constructor only runs if its object file happens to
 * be linked, its order against OpenBLAS's own initialisation is not guaranteed, and it would change OpenBLAS for
 * programs that never call the runtime. pthread_once is thread-safe and costs one load and branch once done.
 */
#include "dense_internal.h"
#include "vggc.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_set_single(void)
{
    openblas_set_num_threads(1);
}

void vggc_blas_single_threaded(void)
{
    pthread_once(&blas_once, blas_set_single);
}

/* Call outside any parallel region; a count below 1 means 1. OpenBLAS is set to 1 thread again each time, in case
 * the program changed it since. */
void vggc_set_threads(int threads)
{
    omp_set_num_threads(threads < 1 ? 1 : threads);
    vggc_blas_single_threaded();
    openblas_set_num_threads(1);
}
