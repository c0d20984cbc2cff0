/* conv.c — k x k convolution, stride 1, zero padding k/2: im2col + SGEMM (the fallback algorithm), and the naive
 * reference beside it.
 *
 * The runtime's OpenMP threads own the cores: each image is unfolded in parallel, then its GEMM is cut in pieces of
 * PIECE_COUT output channels x PIECE_PIXELS pixels, whatever the thread count, and each piece is one single-threaded
 * SGEMM plus its bias and ReLU. A piece always sees the same shapes and data, so the result is bitwise the same for
 * any number of threads.
 */
#include "conv_internal.h"
#include "dense_internal.h"
#include "vggc.h"

#include <cblas.h>

enum { PIECE_COUT = 64, PIECE_PIXELS = 2048 };

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

/* out[co][p] += bias[co], then ReLU if relu, for channels [co0, co1) and pixels [p0, p1). NaN stays NaN, as in
 * torch.relu. */
static void add_bias_relu(float *out,        /* (cout, hw) */
                          const float *bias, /* (cout) */
                          int hw, int co0, int co1, int p0, int p1, int relu)
{
    for (int co = co0; co < co1; co++) {
        float *o = out + (size_t)co * hw;
        for (int p = p0; p < p1; p++) {
            float v = o[p] + bias[co];
            o[p] = (relu && v < 0.0f) ? 0.0f : v;
        }
    }
}

/* Piece `piece` of one image's GEMM out = weight . cols (+ bias, ReLU): channels by pieces_p, then pixels. */
static void gemm_piece(float *out,          /* (cout, hw) */
                       const float *weight, /* (cout, depth) */
                       const float *cols,   /* (depth, hw) */
                       const float *bias,   /* (cout) */
                       int cout, int hw, int depth, int piece, int pieces_p, int relu)
{
    int co0 = piece / pieces_p * PIECE_COUT, p0 = piece % pieces_p * PIECE_PIXELS;
    int co1 = co0 + PIECE_COUT < cout ? co0 + PIECE_COUT : cout;
    int p1 = p0 + PIECE_PIXELS < hw ? p0 + PIECE_PIXELS : hw;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co1 - co0, p1 - p0, depth, 1.0f,
                weight + (size_t)co0 * depth, depth, cols + p0, hw, 0.0f, out + (size_t)co0 * hw + p0, hw);
    add_bias_relu(out, bias, hw, co0, co1, p0, p1, relu);
}

void vggc_conv_gemm(float *out,          /* (cout, hw) */
                    const float *weight, /* (cout, depth) */
                    const float *cols,   /* (depth, hw) */
                    const float *bias,   /* (cout) */
                    int cout, int hw, int depth, int relu)
{
    int pieces_p = (hw + PIECE_PIXELS - 1) / PIECE_PIXELS, pieces = (cout + PIECE_COUT - 1) / PIECE_COUT * pieces_p;
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < pieces; p++) gemm_piece(out, weight, cols, bias, cout, hw, depth, p, pieces_p, relu);
}

void vggc_conv2d(float *out,          /* (n, cout, h, w) */
                 const float *in,     /* (n, cin, h, w) */
                 const float *weight, /* (cout, cin, k, k) */
                 const float *bias,   /* (cout) */
                 float *work,         /* (cin * k * k, h * w), unused when k == 1 */
                 int n, int cin, int h, int w, int cout, int k, int relu)
{
    int hw = h * w, depth = cin * k * k;
    vggc_blas_single_threaded();
    for (int b = 0; b < n; b++) {
        const float *x = in + (size_t)b * cin * hw;   /* (cin, h, w) */
        float *y = out + (size_t)b * cout * hw;       /* (cout, h, w) */
        const float *cols = x;                        /* (depth, hw): a 1x1 conv is a GEMM on the input */
        if (k != 1) {
            im2col(work, x, cin, h, w, k);
            cols = work;
        }
        vggc_conv_gemm(y, weight, cols, bias, cout, hw, depth, relu);
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
