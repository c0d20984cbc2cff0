/* huge_floats.h -- for the benchmarks that time weights streamed from memory (bench/fc.c, bench/wino_cold.c): count
 * floats on whole 2 MiB pages, asked onto transparent huge pages before the first write, as the loader puts the
 * weights (vggc_advise_huge, runtime/fileio.h). Exits with one line naming the program if there is no memory. */
#ifndef VGGC_BENCH_HUGE_FLOATS_H
#define VGGC_BENCH_HUGE_FLOATS_H

#include "fileio.h" /* vggc_advise_huge: internal to the runtime */

#include <stdio.h>
#include <stdlib.h>

static float *huge_floats(const char *program, size_t count)
{
    size_t bytes = (count * sizeof(float) + VGGC_HUGE_PAGE_BYTES - 1) / VGGC_HUGE_PAGE_BYTES * VGGC_HUGE_PAGE_BYTES;
    float *p = aligned_alloc(VGGC_HUGE_PAGE_BYTES, bytes);
    if (!p) {
        fprintf(stderr, "%s: cannot allocate %zu floats\n", program, count);
        exit(1);
    }
    vggc_advise_huge(p, bytes);
    return p;
}

#endif
