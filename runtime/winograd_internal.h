/* winograd_internal.h — internal: the knobs of vggc_conv_winograd for the tests and benchmarks (the kernel rows it
 * runs on are in platform.h). */
#ifndef VGGC_WINOGRAD_INTERNAL_H
#define VGGC_WINOGRAD_INTERNAL_H

/* The cache budgets (bytes) that size the work from the shape: V + M of one pass over the tiles (pass), the largest
 * transformed weights re-read every pass rather than one pass for the whole layer (u_cached), the rows of V that
 * one GEMM piece reads (a_chunk). 0 restores a default. For the tests (many passes on small shapes) and tuning;
 * never call it while a convolution runs. */
void vggc_winograd_budgets(long pass, long u_cached, long a_chunk);

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
