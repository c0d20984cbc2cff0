/* dense_internal.h — internal: the two fully connected kernels behind vggc_linear (the tests compare them in one
 * process), and the one-time OpenBLAS setup every runtime file calls before its first BLAS call. */
#ifndef VGGC_DENSE_INTERNAL_H
#define VGGC_DENSE_INTERNAL_H

/* vggc_linear with the portable C kernel, whatever the CPU. Same arguments and contract as vggc_linear. */
void vggc_linear_portable(float *out,          /* (n, out_f) */
                          const float *in,     /* (n, in_f) */
                          const float *weight, /* (out_f, in_f) */
                          const float *bias,   /* (out_f) */
                          int n, int in_f, int out_f, int relu);

/* vggc_linear with the AVX-512 kernel. Only call it when vggc_cpu_avx512() is 1. */
void vggc_linear_avx512(float *out,          /* (n, out_f) */
                        const float *in,     /* (n, in_f) */
                        const float *weight, /* (out_f, in_f) */
                        const float *bias,   /* (out_f) */
                        int n, int in_f, int out_f, int relu);

/* Make OpenBLAS single-threaded, once per process (thread-safe, a load and a branch after the first call). The
 * runtime's OpenMP regions own the cores and call single-threaded BLAS from inside them. Call it outside any
 * parallel region, before the first BLAS call. */
void vggc_blas_single_threaded(void);

#endif
