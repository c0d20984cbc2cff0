/* winograd_internal.h — internal: the knobs of vggc_conv_winograd for the tests and benchmarks (the kernel rows it
 * runs on are in platform.h). */
#ifndef VGGC_WINOGRAD_INTERNAL_H
#define VGGC_WINOGRAD_INTERNAL_H

#include <stdlib.h>

/* The cache budgets (bytes) that size the work from the shape: V + M of one pass over the tiles (pass), the largest
 * transformed weights re-read every pass rather than one pass for the whole layer (u_cached; a layer with a third
 * of that or more runs as one pass too when its whole V + M fit in it), the rows of V that one GEMM piece reads
 * (a_chunk). 0 restores a default (for pass, the kernel row's wino_pass_bytes). For the tests
 * (many passes on small shapes) and tuning; never call it while a convolution runs. */
void vggc_winograd_budgets(long pass, long u_cached, long a_chunk);

/* The same from WINO_PASS_KB, WINO_U_KB and WINO_A_KB (KiB) in the environment, each unset one its default: for
 * bench/layers.c and bench/model_bench.c. */
static inline void vggc_winograd_budgets_from_env(void)
{
    const char *pass = getenv("WINO_PASS_KB"), *u_cached = getenv("WINO_U_KB"), *a_chunk = getenv("WINO_A_KB");
    vggc_winograd_budgets(pass ? atol(pass) << 10 : 0, u_cached ? atol(u_cached) << 10 : 0,
                          a_chunk ? atol(a_chunk) << 10 : 0);
}

/* CPU seconds spent by all threads in each stage (input transform, GEMMs, output transform) by the calls since
 * the last take: what the cores really spent, whatever else ran on the machine (the stages of one call may
 * interleave on different threads, so wall times would not add up). Accumulated only while timing is on (off by
 * default; the benchmark turns it on). */
typedef struct {
    double input, gemm, output;
} vggc_winograd_times;
void vggc_winograd_timing(int on);
vggc_winograd_times vggc_winograd_take_times(void);

#endif
