/* generic/dense.c — the generic row's fully connected rows (platform.h): plain C, each dot product summed lane by
 * lane in 16 lanes (the compiler vectorizes it), every weight row read once for all the images of the group. */
#include "../dense_job.h"

enum { LANES = 16 };

/* Sum of w[i] * x[i]: lane l sums i = l mod 16 in order, then lanes are added pairwise (8 apart, 4, 2, 1). */
static float dot(const float *w, /* (len) */
                          const float *x, /* (len) */
                          int len)
{
    float lane[LANES] = {0};
    int i = 0;
    for (; i + LANES <= len; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += w[i + l] * x[i + l];
    for (int l = 0; i + l < len; l++) lane[l] += w[i + l] * x[i + l];
    for (int half = LANES / 2; half > 0; half /= 2)
        for (int l = 0; l < half; l++) lane[l] += lane[l + half];
    return lane[0];
}

/* Rows [r0, r1) for all n images; each weight row is read from memory once and reused from cache. */
void vggc_dense_rows_generic(float *out,          /* (n, out_f) */
                           const float *in,     /* (n, in_f) */
                           const float *weight, /* (out_f, in_f) */
                           const float *bias,   /* (out_f) */
                           int n, int in_f, int out_f, int r0, int r1, int relu)
{
    for (int o = r0; o < r1; o++) {
        const float *w = weight + (size_t)o * in_f;
        for (int b = 0; b < n; b++)
            out[(size_t)b * out_f + o] = dense_finish(dot(w, in + (size_t)b * in_f, in_f), bias[o], relu);
    }
}

