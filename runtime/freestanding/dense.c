/* dense.c — fully connected layers for the freestanding build, and the plain loop nest they are tested against. */
#include "vggc_fs.h"

#include <stddef.h>

static float relu_if(float v, int relu)
{
    return relu && v < 0.0f ? 0.0f : v; /* NaN stays NaN, as torch.relu */
}

/* Rows [r, r + 4) of one image: each input value is loaded once for the four weight rows. */
static void four_rows(float *y, const float *x, const float *weight, const float *bias, int in_f, int r, int relu)
{
    const float *w0 = weight + (size_t)r * in_f, *w1 = w0 + in_f, *w2 = w1 + in_f, *w3 = w2 + in_f;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    for (int i = 0; i < in_f; i++) {
        float v = x[i];
        s0 += w0[i] * v;
        s1 += w1[i] * v;
        s2 += w2[i] * v;
        s3 += w3[i] * v;
    }
    y[r] = relu_if(s0 + bias[r], relu);
    y[r + 1] = relu_if(s1 + bias[r + 1], relu);
    y[r + 2] = relu_if(s2 + bias[r + 2], relu);
    y[r + 3] = relu_if(s3 + bias[r + 3], relu);
}

void vggc_fs_linear(float *out,          /* (n, out_f) */
                    const float *in,     /* (n, in_f) */
                    const float *weight, /* (out_f, in_f) */
                    const float *bias,   /* (out_f) */
                    int n, int in_f, int out_f, int relu)
{
    for (int b = 0; b < n; b++) {
        const float *x = in + (size_t)b * in_f;
        float *y = out + (size_t)b * out_f;
        int r = 0;
        for (; r + 4 <= out_f; r += 4) four_rows(y, x, weight, bias, in_f, r, relu);
        for (; r < out_f; r++) {
            const float *wr = weight + (size_t)r * in_f;
            float s = 0.0f;
            for (int i = 0; i < in_f; i++) s += wr[i] * x[i];
            y[r] = relu_if(s + bias[r], relu);
        }
    }
}

void vggc_fs_linear_ref(float *out,          /* (n, out_f) */
                        const float *in,     /* (n, in_f) */
                        const float *weight, /* (out_f, in_f) */
                        const float *bias,   /* (out_f) */
                        int n, int in_f, int out_f, int relu)
{
    for (int b = 0; b < n; b++)
        for (int r = 0; r < out_f; r++) {
            float s = bias[r];
            for (int i = 0; i < in_f; i++) s += weight[(size_t)r * in_f + i] * in[(size_t)b * in_f + i];
            out[(size_t)b * out_f + r] = relu_if(s, relu);
        }
}
