/* winograd_internal.h — internal: the two paths behind vggc_conv_winograd (the tests compare them in one process). */
#ifndef VGGC_WINOGRAD_INTERNAL_H
#define VGGC_WINOGRAD_INTERNAL_H

/* vggc_conv_winograd with the portable C kernels, whatever the CPU. Same arguments and contract. */
void vggc_conv_winograd_portable(float *out,        /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                                 const float *in,   /* blocked (n, cin, h, w) */
                                 const float *u,    /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                                 const float *bias, /* (cout) */
                                 float *work,       /* VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m) */
                                 int n, int cin, int h, int w, int cout, int m, int pool);

/* vggc_conv_winograd with the AVX-512 kernels. Only call it when vggc_cpu_avx512() is 1. */
void vggc_conv_winograd_avx512(float *out, const float *in, const float *u, const float *bias, float *work,
                               int n, int cin, int h, int w, int cout, int m, int pool);

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
