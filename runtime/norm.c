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

/* gamma[c] / sqrt(var[c] + eps), in double */
static double scale(const vggc_bn_fold *f, int c)
{
    return (double)f->gamma[c] / sqrt((double)f->var[c] + (double)f->eps);
}

/* w[c][j] *= s[c], with s = gamma / sqrt(var + eps), in double. */
void vggc_fold_weight(const vggc_bn_fold *f, float *weight /* (channels, per_channel) */)
{
    for (int c = 0; c < f->channels; c++) {
        double s = scale(f, c);
        float *wc = weight + (size_t)c * f->per_channel; /* (per_channel) */
        for (int j = 0; j < f->per_channel; j++) wc[j] = (float)((double)wc[j] * s);
    }
}

/* b[c] = (b[c] - mean[c]) * s[c] + beta[c], and the weight when it is stored (else its prepare folds it). Not
 * idempotent: call once, after the weights are loaded. */
void vggc_fold_batchnorm(const vggc_model *m)
{
    for (int i = 0; i < m->n_folds; i++) {
        const vggc_bn_fold *f = &m->folds[i];
        if (f->conv_weight) vggc_fold_weight(f, f->conv_weight);
        for (int c = 0; c < f->channels; c++)
            f->conv_bias[c] = (float)(((double)f->conv_bias[c] - (double)f->mean[c]) * scale(f, c) + (double)f->beta[c]);
    }
}
