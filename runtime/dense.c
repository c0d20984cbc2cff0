/* dense.c — fully connected layer: SGEMV for one image, one SGEMM for a batch, and the naive reference beside it. */
#include "vggc.h"

#include <cblas.h>

/* out[b][o] += bias[o], then ReLU if relu. NaN stays NaN, as in torch.relu. */
static void add_bias_relu(float *out,        /* (n, out_f) */
                          const float *bias, /* (out_f) */
                          int n, int out_f, int relu)
{
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
        float *o = out + (size_t)b * out_f;
        for (int j = 0; j < out_f; j++) {
            float v = o[j] + bias[j];
            o[j] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

void vggc_linear(float *out,          /* (n, out_f) */
                 const float *in,     /* (n, in_f) */
                 const float *weight, /* (out_f, in_f) */
                 const float *bias,   /* (out_f) */
                 int n, int in_f, int out_f, int relu)
{
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_f, in_f, 1.0f, weight, in_f, in, 1, 0.0f, out, 1);
    else /* every weight is read once for the whole batch */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_f, in_f,
                    1.0f, in, in_f, weight, in_f, 0.0f, out, out_f);
    add_bias_relu(out, bias, n, out_f, relu);
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
