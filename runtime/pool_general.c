/* pool_general.c — MaxPool2d and AvgPool2d with any window (kernel, stride, padding per side, dilation for max)
 * and the output size the generator computed (floor or ceil mode, gen/sizes.lua), each with its naive reference.
 *
 * The kernels split the (image, channel) planes over the runtime's OpenMP threads (the blocked max pool its output
 * rows, on the kernel row of platform.h) and clip each window to the map once per output row and column; the
 * references test every tap. Both follow PyTorch: a padded cell never wins a max and a NaN always does; an average's
 * divisor counts the padding the window covers when count_pad (count_include_pad, PyTorch's default), but never the
 * cells past the padding that ceil mode adds.
 */
#include "blocked_rows.h"
#include "platform.h"
#include "vggc.h"

#include <math.h>

/* The taps of one output's window that fall inside the map: rows [ty0, ty1) and columns [tx0, tx1) of the window
 * that starts at (y0, x0). */
typedef struct {
    int y0, x0, ty0, ty1, tx0, tx1;
} taps;

enum { LANES_MAX = 16 }; /* values per pixel: 1 in NCHW planes, 16 in blocked ones */

/* One output pixel (lanes values at o) of a pool from its window's taps, pixel (y, x) of the plane at
 * x + (y * w + x) * lanes. */
typedef void window_fn(float *o, const float *x /* (h, w, lanes) */, int h, int w, int lanes, const taps *t,
                       const vggc_window *win, int count_pad);

/* out[plane][i][j] = at(the window of (i, j)) for every plane of lanes-value pixels (NCHW planes: 1; blocked: 16),
 * the planes split over the OpenMP threads. Each lane sees the same taps in the same order either way, so a blocked
 * pool gives each channel the bits the NCHW one gives it. */
static void pool_planes(float *out,      /* (planes, oh, ow, lanes) */
                        const float *in, /* (planes, h, w, lanes) */
                        int planes, int h, int w, int oh, int ow, int lanes, const vggc_window *win, int count_pad,
                        window_fn *at)
{
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * h * w * lanes;
        float *y = out + (size_t)pl * oh * ow * lanes;
        taps t;
        for (int i = 0; i < oh; i++) {
            t.y0 = i * win->sh - win->pt;
            window_taps(t.y0, win->kh, win->dh, h, &t.ty0, &t.ty1);
            for (int j = 0; j < ow; j++) {
                t.x0 = j * win->sw - win->pl;
                window_taps(t.x0, win->kw, win->dw, w, &t.tx0, &t.tx1);
                at(y + ((size_t)i * ow + j) * lanes, x, h, w, lanes, &t, win, count_pad);
            }
        }
    }
}

static void max_at(float *o, const float *x, int h, int w, int lanes, const taps *t, const vggc_window *win,
                   int count_pad)
{
    (void)h, (void)count_pad;
    for (int l = 0; l < lanes; l++) o[l] = -INFINITY;
    for (int ty = t->ty0; ty < t->ty1; ty++)
        for (int tx = t->tx0; tx < t->tx1; tx++) {
            const float *px = x + ((size_t)(t->y0 + ty * win->dh) * w + t->x0 + tx * win->dw) * lanes;
            for (int l = 0; l < lanes; l++) o[l] = blocked_max_nan(o[l], px[l]);
        }
}

void vggc_maxpool2d(float *out,      /* (n, c, oh, ow) */
                    const float *in, /* (n, c, h, w) */
                    int n, int c, int h, int w, int oh, int ow, const vggc_window *win)
{
    pool_planes(out, in, n * c, h, w, oh, ow, 1, win, 0, max_at);
}

/* Blocked: the kernel row's window row (blocked_rows.h: 16 lanes of a pixel as pieces of its vector width, the
 * taps in max_at's order), the threads taking output rows of every plane; padded channels 0 in and out. With 4
 * lanes at a time behind a call per pixel and the threads taking whole planes, resnet18's 3x3/2 pool (64 channels,
 * 112 -> 56) took 0.22 ms; by rows 0.11 on the AVX2 and AVX-512 rows (the pool alone, 2 threads, Zen 5). */
void vggc_maxpool2d_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w, int oh,
                               int ow, const vggc_window *win)
{
    int rows = n * (VGGC_CPAD(c) / LANES_MAX) * oh;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++)
        k->maxpool_window_row(out + (size_t)row * ow * LANES_MAX, in + (size_t)(row / oh) * h * w * LANES_MAX, h, w,
                              ow, win, row % oh);
}

void vggc_maxpool2d_blocked(float *out,      /* blocked (n, c, oh, ow) */
                            const float *in, /* blocked (n, c, h, w) */
                            int n, int c, int h, int w, int oh, int ow, const vggc_window *win)
{
    vggc_maxpool2d_blocked_on(vggc_kernels_active(), out, in, n, c, h, w, oh, ow, win);
}

void vggc_maxpool2d_ref(float *out,      /* (n, c, oh, ow) */
                        const float *in, /* (n, c, h, w) */
                        int n, int c, int h, int w, int oh, int ow, const vggc_window *win)
{
    for (int pl = 0; pl < n * c; pl++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                float m = -INFINITY;
                for (int ky = 0; ky < win->kh; ky++)
                    for (int kx = 0; kx < win->kw; kx++) {
                        int sy = i * win->sh - win->pt + ky * win->dh, sx = j * win->sw - win->pl + kx * win->dw;
                        if (sy >= 0 && sy < h && sx >= 0 && sx < w)
                            m = blocked_max_nan(m, in[((size_t)pl * h + sy) * w + sx]);
                    }
                out[((size_t)pl * oh + i) * ow + j] = m;
            }
}

/* PyTorch's divisor of the window at (y0, x0): its size within the padded map when count_pad, else the cells of
 * the map it covers. */
static int divisor(int y0, int x0, int h, int w, const vggc_window *win, int count_pad)
{
    int y1 = y0 + win->kh < h + win->pb ? y0 + win->kh : h + win->pb;
    int x1 = x0 + win->kw < w + win->pr ? x0 + win->kw : w + win->pr;
    if (count_pad) return (y1 - y0) * (x1 - x0);
    y0 = y0 > 0 ? y0 : 0;
    x0 = x0 > 0 ? x0 : 0;
    y1 = y1 < h ? y1 : h;
    x1 = x1 < w ? x1 : w;
    return (y1 - y0) * (x1 - x0);
}

/* The window's mean with PyTorch's divisor (no dilation: AvgPool2d has none), summed in double. */
static void mean_at(float *o, const float *x, int h, int w, int lanes, const taps *t, const vggc_window *win,
                    int count_pad)
{
    double sum[LANES_MAX] = {0};
    for (int ty = t->ty0; ty < t->ty1; ty++)
        for (int tx = t->tx0; tx < t->tx1; tx++) {
            const float *px = x + ((size_t)(t->y0 + ty) * w + t->x0 + tx) * lanes;
            for (int l = 0; l < lanes; l++) sum[l] += px[l];
        }
    int d = divisor(t->y0, t->x0, h, w, win, count_pad);
    for (int l = 0; l < lanes; l++) o[l] = (float)(sum[l] / d);
}

void vggc_avgpool2d(float *out,      /* (n, c, oh, ow) */
                    const float *in, /* (n, c, h, w) */
                    int n, int c, int h, int w, int oh, int ow, const vggc_window *win, int count_pad)
{
    pool_planes(out, in, n * c, h, w, oh, ow, 1, win, count_pad, mean_at);
}

void vggc_avgpool2d_blocked(float *out,      /* blocked (n, c, oh, ow) */
                            const float *in, /* blocked (n, c, h, w) */
                            int n, int c, int h, int w, int oh, int ow, const vggc_window *win, int count_pad)
{
    pool_planes(out, in, n * (VGGC_CPAD(c) / LANES_MAX), h, w, oh, ow, LANES_MAX, win, count_pad, mean_at);
}

void vggc_avgpool2d_ref(float *out,      /* (n, c, oh, ow) */
                        const float *in, /* (n, c, h, w) */
                        int n, int c, int h, int w, int oh, int ow, const vggc_window *win, int count_pad)
{
    for (int pl = 0; pl < n * c; pl++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int y0 = i * win->sh - win->pt, x0 = j * win->sw - win->pl;
                double sum = 0.0;
                for (int ky = 0; ky < win->kh; ky++)
                    for (int kx = 0; kx < win->kw; kx++) {
                        int sy = y0 + ky, sx = x0 + kx;
                        if (sy >= 0 && sy < h && sx >= 0 && sx < w) sum += in[((size_t)pl * h + sy) * w + sx];
                    }
                out[((size_t)pl * oh + i) * ow + j] = (float)(sum / divisor(y0, x0, h, w, win, count_pad));
            }
}
