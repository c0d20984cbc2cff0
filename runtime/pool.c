/* pool.c — max pool 2x2 (floor mode) and adaptive average pool, both with PyTorch's size formulas. */
#include "vggc.h"

#include <math.h>

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d. */
static float max_nan(float m, float v)
{
    return (v > m || isnan(v)) ? v : m;
}

void vggc_maxpool2x2(float *out,      /* (n, c, h / 2, w / 2) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w)
{
    int oh = h / 2, ow = w / 2, planes = n * c;
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * h * w; /* (h, w) */
        float *y = out + (size_t)pl * oh * ow;    /* (oh, ow) */
        for (int i = 0; i < oh; i++) {
            const float *r0 = x + (size_t)(2 * i) * w, *r1 = r0 + w;
            for (int j = 0; j < ow; j++) {
                float m = max_nan(max_nan(r0[2 * j], r0[2 * j + 1]), max_nan(r1[2 * j], r1[2 * j + 1]));
                y[(size_t)i * ow + j] = m;
            }
        }
    }
}

/* Bin i of `out` bins over `in` cells spans [bin_start, bin_end): floor(i * in / out) to ceil((i + 1) * in / out). */
static int bin_start(int i, int in, int out) { return (int)(((int64_t)i * in) / out); }
static int bin_end(int i, int in, int out) { return (int)(((int64_t)(i + 1) * in + out - 1) / out); }

/* The mean of x over rows [y0, y1) and columns [x0, x1). */
static float mean_of(const float *x /* (h, w) */, int w, int y0, int y1, int x0, int x1)
{
    float sum = 0.0f;
    for (int y = y0; y < y1; y++)
        for (int xx = x0; xx < x1; xx++) sum += x[(size_t)y * w + xx];
    return sum / (float)((y1 - y0) * (x1 - x0));
}

void vggc_adaptive_avgpool(float *out,      /* (n, c, oh, ow) */
                           const float *in, /* (n, c, h, w) */
                           int n, int c, int h, int w, int oh, int ow)
{
    int planes = n * c;
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * h * w; /* (h, w) */
        float *y = out + (size_t)pl * oh * ow;    /* (oh, ow) */
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
                y[(size_t)i * ow + j] = mean_of(x, w, bin_start(i, h, oh), bin_end(i, h, oh),
                                                bin_start(j, w, ow), bin_end(j, w, ow));
    }
}
