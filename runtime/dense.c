/* dense.c — fully connected layer, out = in . weight^T + bias, then ReLU: a bandwidth-bound GEMV/GEMM that reads
 * every weight once per group of up to VGGC_DENSE_GROUP images (dense_job.h), written once for every instruction
 * set, and the naive reference beside it. The rows of each piece run on the kernel row of platform.h
 * (runtime/{generic,x86/avx2,x86/avx512}/dense.c). */
#include "dense_job.h"
#include "platform.h"
#include "vggc.h"

void vggc_linear_on(const vggc_kernels *k, float *out, const float *in, const float *weight, const float *bias,
                    int n, int in_f, int out_f, int relu)
{
    int pieces = (out_f + DENSE_PIECE_ROWS - 1) / DENSE_PIECE_ROWS;
    for (int g = 0; g < n; g += VGGC_DENSE_GROUP) {
        int images = n - g < VGGC_DENSE_GROUP ? n - g : VGGC_DENSE_GROUP;
        const float *x = in + (size_t)g * in_f; /* (images, in_f) */
        float *y = out + (size_t)g * out_f;     /* (images, out_f) */
#pragma omp parallel for schedule(dynamic, 1)
        for (int p = 0; p < pieces; p++) {
            int r1 = (p + 1) * DENSE_PIECE_ROWS < out_f ? (p + 1) * DENSE_PIECE_ROWS : out_f;
            k->dense_rows(y, x, weight, bias, images, in_f, out_f, p * DENSE_PIECE_ROWS, r1, relu);
        }
    }
}

void vggc_linear(float *out,          /* (n, out_f) */
                 const float *in,     /* (n, in_f) */
                 const float *weight, /* (out_f, in_f) */
                 const float *bias,   /* (out_f) */
                 int n, int in_f, int out_f, int relu)
{
    vggc_linear_on(vggc_kernels_active(), out, in, weight, bias, n, in_f, out_f, relu);
}

void vggc_linear_ref(float *out,          /* (n, out_f) */
                     const float *in,     /* (n, in_f) */
                     const float *weight, /* (out_f, in_f) */
                     const float *bias,   /* (out_f) */
                     int n, int in_f, int out_f, int relu)
{
    for (int b = 0; b < n; b++)
        for (int o = 0; o < out_f; o++) {
            double sum = bias[o];
            for (int i = 0; i < in_f; i++)
                sum += (double)weight[(size_t)o * in_f + i] * in[(size_t)b * in_f + i];
            float v = (float)sum;
            out[(size_t)b * out_f + o] = (relu && v < 0.0f) ? 0.0f : v;
        }
}
