/* activation.c — a ReLU of its own, softmax and LocalResponseNorm for the freestanding build (expf and powf from
 * math.h are the only library calls). */
#include "vggc_fs.h"

#include <math.h>
#include <stddef.h>

void vggc_fs_relu(float *out,      /* (count) */
                  const float *in, /* (count) */
                  int count)
{
    for (int i = 0; i < count; i++) out[i] = in[i] < 0.0f ? 0.0f : in[i]; /* NaN stays NaN, as torch.relu */
}

void vggc_fs_softmax(float *out,      /* (n, c) */
                     const float *in, /* (n, c) */
                     int n, int c)
{
    for (int b = 0; b < n; b++) {
        const float *x = in + (size_t)b * c;
        float *y = out + (size_t)b * c;
        float top = -INFINITY, sum = 0.0f;
        for (int i = 0; i < c; i++) top = x[i] > top || x[i] != x[i] ? x[i] : top;
        for (int i = 0; i < c; i++) sum += (y[i] = expf(x[i] - top));
        for (int i = 0; i < c; i++) y[i] /= sum;
    }
}

/* b_c = a_c / (k + alpha / size * sum of a_c'^2 over c' in [c - size/2, c + (size-1)/2] within [0, c))^beta */
void vggc_fs_lrn(float *out,      /* (n, c, h, w) */
                 const float *in, /* (n, c, h, w) */
                 int n, int c, int h, int w, int size, float alpha, float beta, float k)
{
    int hw = h * w;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            int lo = ch - size / 2 < 0 ? 0 : ch - size / 2;
            int hi = ch + (size - 1) / 2 > c - 1 ? c - 1 : ch + (size - 1) / 2;
            const float *x = in + (size_t)b * c * hw;
            float *o = out + ((size_t)b * c + ch) * hw;
            for (int p = 0; p < hw; p++) {
                float s = 0.0f;
                for (int cc = lo; cc <= hi; cc++) s += x[(size_t)cc * hw + p] * x[(size_t)cc * hw + p];
                o[p] = x[(size_t)ch * hw + p] / powf(k + alpha / (float)size * s, beta);
            }
        }
}
