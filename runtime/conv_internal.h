/* conv_internal.h — internal: the GEMM half of the im2col convolutions (conv.c, conv_general.c). */
#ifndef VGGC_CONV_INTERNAL_H
#define VGGC_CONV_INTERNAL_H

/* out = weight . cols + bias, then ReLU if relu, for one image: cut into pieces of output channels x pixels whose
 * boundaries do not depend on the thread count, each one single-threaded SGEMM, over the runtime's OpenMP threads.
 * Call vggc_blas_single_threaded() first, outside any parallel region. */
void vggc_conv_gemm(float *out,          /* (cout, hw) */
                    const float *weight, /* (cout, depth) */
                    const float *cols,   /* (depth, hw) */
                    const float *bias,   /* (cout) */
                    int cout, int hw, int depth, int relu);

#endif
