/* conv.c — k x k convolution, stride 1, zero padding k/2: im2col + SGEMM, and the naive reference beside it.
 *
 * Threads have one owner at a time: OpenMP runs im2col and the bias pass, OpenBLAS runs the GEMM, and the GEMM is
 * never called from inside a parallel region.
 */
#include "vggc.h"

#include <cblas.h>

/* Unfold one image so that column (y, x) of row (ci, ky, kx) holds in[ci][y + ky - k/2][x + kx - k/2], or 0 in
 * the padding. */
static void im2col(float *cols,      /* (cin * k * k, h * w) */
                   const float *in,  /* (cin, h, w) */
                   int cin, int h, int w, int k)
{
    int pad = k / 2;
#pragma omp parallel for schedule(static)
    for (int ci = 0; ci < cin; ci++) {
        const float *plane = in + (size_t)ci * h * w;
        for (int ky = 0; ky < k; ky++) {
            for (int kx = 0; kx < k; kx++) {
                float *row = cols + ((size_t)(ci * k + ky) * k + kx) * h * w;
                for (int y = 0; y < h; y++) {
                    int sy = y + ky - pad;
                    for (int x = 0; x < w; x++) {
                        int sx = x + kx - pad;
                        int inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
                        row[(size_t)y * w + x] = inside ? plane[(size_t)sy * w + sx] : 0.0f;
                    }
                }
            }
        }
    }
}

/* out[co][p] += bias[co], then ReLU if relu. NaN stays NaN, as in torch.relu. */
static void add_bias_relu(float *out,        /* (cout, hw) */
                          const float *bias, /* (cout) */
                          int cout, int hw, int relu)
{
#pragma omp parallel for schedule(static)
    for (int co = 0; co < cout; co++) {
        float *o = out + (size_t)co * hw;
        for (int p = 0; p < hw; p++) {
            float v = o[p] + bias[co];
            o[p] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

void vggc_conv2d(float *out,          /* (n, cout, h, w) */
                 const float *in,     /* (n, cin, h, w) */
                 const float *weight, /* (cout, cin, k, k) */
                 const float *bias,   /* (cout) */
                 float *work,         /* (cin * k * k, h * w), unused when k == 1 */
                 int n, int cin, int h, int w, int cout, int k, int relu)
{
    int hw = h * w, depth = cin * k * k;
    for (int b = 0; b < n; b++) {
        const float *x = in + (size_t)b * cin * hw;   /* (cin, h, w) */
        float *y = out + (size_t)b * cout * hw;       /* (cout, h, w) */
        const float *cols = x;                        /* (depth, hw): a 1x1 conv is a GEMM on the input */
        if (k != 1) {
            im2col(work, x, cin, h, w, k);
            cols = work;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, hw, depth,
                    1.0f, weight, depth, cols, hw, 0.0f, y, hw);
        add_bias_relu(y, bias, cout, hw, relu);
    }
}

/* One output value of the reference: bias + sum over (ci, ky, kx) inside the map, in double. */
static float conv_at(const float *in,     /* (cin, h, w) */
                     const float *weight, /* (cout, cin, k, k) */
                     float bias, int cin, int h, int w, int co, int k, int y, int x)
{
    double sum = bias;
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                int sy = y + ky - k / 2, sx = x + kx - k / 2;
                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                double wv = weight[(((size_t)co * cin + ci) * k + ky) * k + kx];
                sum += wv * in[((size_t)ci * h + sy) * w + sx];
            }
    return (float)sum;
}

void vggc_conv2d_ref(float *out,          /* (n, cout, h, w) */
                     const float *in,     /* (n, cin, h, w) */
                     const float *weight, /* (cout, cin, k, k) */
                     const float *bias,   /* (cout) */
                     int n, int cin, int h, int w, int cout, int k, int relu)
{
    for (int b = 0; b < n; b++)
        for (int co = 0; co < cout; co++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float v = conv_at(in + (size_t)b * cin * h * w, weight, bias[co], cin, h, w, co, k, y, x);
                    out[(((size_t)b * cout + co) * h + y) * w + x] = (relu && v < 0.0f) ? 0.0f : v;
                }
}
