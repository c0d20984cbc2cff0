/* conv_general.c — Conv2d with any window (kh x kw, stride, zero padding per side, dilation): im2col + SGEMM in
 * fixed pieces (the GEMM half is conv.c's), and the naive reference beside it. Every conv that the fast kernels do
 * not fit runs here (gen/algo.lua decides).
 *
 * Threads: the unfolding splits its rows over the runtime's OpenMP threads, the GEMM its pieces; each output value
 * is computed by one single-threaded SGEMM call on the same shapes whatever the thread count, so the result is
 * bitwise the same for any number of threads.
 */
#include "conv_internal.h"
#include "dense_internal.h"
#include "vggc.h"

/* Unfold one image: row (ci, ky, kx), column (oy, ox) holds in[ci][oy * sh - pt + ky * dh][ox * sw - pl + kx * dw],
 * or 0 in the padding. */
static void im2col(float *cols,     /* (cin * kh * kw, oh * ow) */
                   const float *in, /* (cin, h, w) */
                   int cin, int h, int w, int oh, int ow, const vggc_window *win)
{
    int rows = cin * win->kh * win->kw;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < rows; r++) {
        int ci = r / (win->kh * win->kw), ky = r / win->kw % win->kh, kx = r % win->kw;
        const float *plane = in + (size_t)ci * h * w; /* (h, w) */
        float *row = cols + (size_t)r * oh * ow;     /* (oh, ow) */
        for (int oy = 0; oy < oh; oy++) {
            int sy = oy * win->sh - win->pt + ky * win->dh;
            float *dst = row + (size_t)oy * ow;
            if (sy < 0 || sy >= h) {
                for (int ox = 0; ox < ow; ox++) dst[ox] = 0.0f;
                continue;
            }
            for (int ox = 0; ox < ow; ox++) {
                int sx = ox * win->sw - win->pl + kx * win->dw;
                dst[ox] = (sx >= 0 && sx < w) ? plane[(size_t)sy * w + sx] : 0.0f;
            }
        }
    }
}

/* A 1x1 window with stride 1 and no padding reads the input itself as the GEMM's right-hand side. */
static int pointwise(const vggc_window *win)
{
    return win->kh == 1 && win->kw == 1 && win->sh == 1 && win->sw == 1 && !win->pt && !win->pl && !win->pb && !win->pr;
}

void vggc_conv2d_general(float *out,               /* (n, cout, oh, ow) */
                         const float *in,          /* (n, cin, h, w) */
                         const float *weight,      /* (cout, cin, kh, kw) */
                         const float *bias,        /* (cout) */
                         float *work,              /* vggc_conv2d_general_work(cin, oh, ow, win) */
                         int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_window *win, int relu)
{
    int depth = cin * win->kh * win->kw, hw = oh * ow;
    vggc_blas_single_threaded();
    for (int b = 0; b < n; b++) {
        const float *x = in + (size_t)b * cin * h * w; /* (cin, h, w) */
        const float *cols = x;                         /* (depth, oh * ow) */
        if (!pointwise(win)) {
            im2col(work, x, cin, h, w, oh, ow, win);
            cols = work;
        }
        vggc_conv_gemm(out + (size_t)b * cout * hw, weight, cols, bias, cout, hw, depth, relu);
    }
}

/* One output value of the reference: bias + the sum over the taps inside the map, in double. */
static float conv_at(const float *in,     /* (cin, h, w) */
                     const float *weight, /* (cout, cin, kh, kw) */
                     float bias, int cin, int h, int w, int co, int oy, int ox, const vggc_window *win)
{
    double sum = bias;
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++) {
                int sy = oy * win->sh - win->pt + ky * win->dh, sx = ox * win->sw - win->pl + kx * win->dw;
                if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                double wv = weight[(((size_t)co * cin + ci) * win->kh + ky) * win->kw + kx];
                sum += wv * in[((size_t)ci * h + sy) * w + sx];
            }
    return (float)sum;
}

void vggc_conv2d_general_ref(float *out,          /* (n, cout, oh, ow) */
                             const float *in,     /* (n, cin, h, w) */
                             const float *weight, /* (cout, cin, kh, kw) */
                             const float *bias,   /* (cout) */
                             int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_window *win, int relu)
{
    for (int b = 0; b < n; b++)
        for (int co = 0; co < cout; co++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    float v = conv_at(in + (size_t)b * cin * h * w, weight, bias[co], cin, h, w, co, oy, ox, win);
                    out[(((size_t)b * cout + co) * oh + oy) * ow + ox] = (relu && v < 0.0f) ? 0.0f : v;
                }
}
