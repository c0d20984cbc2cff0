/* blocked_internal.h — internal: the two direct convolution kernels behind vggc_conv_direct (the tests compare
 * them in one process). */
#ifndef VGGC_BLOCKED_INTERNAL_H
#define VGGC_BLOCKED_INTERNAL_H

/* vggc_conv_direct with the portable C kernel, whatever the CPU. Same arguments and contract. */
void vggc_conv_direct_portable(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                               const float *in,    /* blocked (n, cin, h, w) */
                               const float *wpack, /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                               const float *bias,  /* (cout) */
                               int n, int cin, int h, int w, int cout, int k, int pool);

/* vggc_conv_direct with the AVX-512 kernel. Only call it when vggc_cpu_avx512() is 1. */
void vggc_conv_direct_avx512(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                             const float *in,    /* blocked (n, cin, h, w) */
                             const float *wpack, /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                             const float *bias,  /* (cout) */
                             int n, int cin, int h, int w, int cout, int k, int pool);

#endif
