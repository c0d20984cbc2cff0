/* threads.c — one thread count for both owners of threads: OpenMP regions and OpenBLAS calls. */
#include "vggc.h"

#include <cblas.h>
#include <omp.h>

/* Call outside any parallel region; a count below 1 means 1. */
void vggc_set_threads(int threads)
{
    int t = threads < 1 ? 1 : threads;
    omp_set_num_threads(t);
    openblas_set_num_threads(t);
}
