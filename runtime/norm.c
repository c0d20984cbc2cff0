/* norm.c — LocalResponseNorm across channels, and BatchNorm folded into the preceding conv at load time. */
#include "vggc.h"

#include <math.h>

/* One image: b_c = a_c / (k + alpha / size * sum_{c' = c - size/2}^{c + (size-1)/2} a_{c'}^2)^beta, where channels
 * outside [0, c) count as zero (torch pads the squares with zeros and averages over size). */
static void lrn_image(float *out,      /* (c, hw) */
                      const float *in, /* (c, hw) */
                      int c, int hw, int size, float alpha, float beta, float k)
{
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < c; ch++) {
        int lo = ch - size / 2 < 0 ? 0 : ch - size / 2;
        int hi = ch + (size - 1) / 2 > c - 1 ? c - 1 : ch + (size - 1) / 2;
        float *o = out + (size_t)ch * hw;
        for (int p = 0; p < hw; p++) o[p] = 0.0f;
        for (int cc = lo; cc <= hi; cc++) {
            const float *a = in + (size_t)cc * hw;
            for (int p = 0; p < hw; p++) o[p] += a[p] * a[p];
        }
        const float *a = in + (size_t)ch * hw;
        for (int p = 0; p < hw; p++) o[p] = a[p] / powf(k + alpha / (float)size * o[p], beta);
    }
}

void vggc_lrn(float *out,      /* (n, c, h, w), not aliasing in */
              const float *in, /* (n, c, h, w) */
              int n, int c, int h, int w, int size, float alpha, float beta, float k)
{
    size_t image = (size_t)c * h * w;
    for (int b = 0; b < n; b++) lrn_image(out + b * image, in + b * image, c, h * w, size, alpha, beta, k);
}

/* w[c][j] *= s[c] and b[c] = (b[c] - mean[c]) * s[c] + beta[c], with s = gamma / sqrt(var + eps), in double. */
static void fold_one(const vggc_bn_fold *f)
{
    for (int c = 0; c < f->channels; c++) {
        double s = (double)f->gamma[c] / sqrt((double)f->var[c] + (double)f->eps);
        float *wc = f->conv_weight + (size_t)c * f->per_channel; /* (per_channel) */
        for (int j = 0; j < f->per_channel; j++) wc[j] = (float)((double)wc[j] * s);
        f->conv_bias[c] = (float)(((double)f->conv_bias[c] - (double)f->mean[c]) * s + (double)f->beta[c]);
    }
}

/* Not idempotent: call once, after the weights are loaded. */
void vggc_fold_batchnorm(const vggc_model *m)
{
    for (int i = 0; i < m->n_folds; i++) fold_one(&m->folds[i]);
}
