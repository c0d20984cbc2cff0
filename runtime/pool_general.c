/* pool_general.c — MaxPool2d and AvgPool2d with any window (kernel, stride, padding per side, dilation for max)
 * and the output size the generator computed (floor or ceil mode, gen/sizes.lua), each with its naive reference.
 *
 * The kernels split the (image, channel) planes over the runtime's OpenMP threads and clip each window to the map
 * once per output row and column; the references test every tap. Both follow PyTorch: a padded cell never wins a
 * max and a NaN always does; an average's divisor counts the padding the window covers when count_pad
 * (count_include_pad, PyTorch's default), but never the cells past the padding that ceil mode adds.
 */
#include "vggc.h"

#include <math.h>

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d. */
static float max_nan(float m, float v)
{
    return (v > m || isnan(v)) ? v : m;
}

/* The taps [*t0, *t1) of a window starting at `start` (stride `step` between taps, k taps) inside [0, n). */
static void clip(int start, int k, int step, int n, int *t0, int *t1)
{
    int a = 0, b = k;
    while (a < b && start + a * step < 0) a++;
    while (b > a && start + (b - 1) * step >= n) b--;
    *t0 = a;
    *t1 = b;
}

static float max_window(const float *x /* (h, w) */, int w, int y0, int x0, int ty0, int ty1, int tx0, int tx1,
                        const vggc_window *win)
{
    float m = -INFINITY;
    for (int ty = ty0; ty < ty1; ty++) {
        const float *row = x + (size_t)(y0 + ty * win->dh) * w;
        for (int tx = tx0; tx < tx1; tx++) m = max_nan(m, row[x0 + tx * win->dw]);
    }
    return m;
}

void vggc_maxpool2d(float *out,      /* (n, c, oh, ow) */
                    const float *in, /* (n, c, h, w) */
                    int n, int c, int h, int w, int oh, int ow, const vggc_window *win)
{
    int planes = n * c;
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * h * w; /* (h, w) */
        float *y = out + (size_t)pl * oh * ow;    /* (oh, ow) */
        for (int i = 0; i < oh; i++) {
            int y0 = i * win->sh - win->pt, ty0, ty1;
            clip(y0, win->kh, win->dh, h, &ty0, &ty1);
            for (int j = 0; j < ow; j++) {
                int x0 = j * win->sw - win->pl, tx0, tx1;
                clip(x0, win->kw, win->dw, w, &tx0, &tx1);
                y[(size_t)i * ow + j] = max_window(x, w, y0, x0, ty0, ty1, tx0, tx1, win);
            }
        }
    }
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
                        if (sy >= 0 && sy < h && sx >= 0 && sx < w) m = max_nan(m, in[((size_t)pl * h + sy) * w + sx]);
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

void vggc_avgpool2d(float *out,      /* (n, c, oh, ow) */
                    const float *in, /* (n, c, h, w) */
                    int n, int c, int h, int w, int oh, int ow, const vggc_window *win, int count_pad)
{
    int planes = n * c;
#pragma omp parallel for schedule(static)
    for (int pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * h * w; /* (h, w) */
        float *y = out + (size_t)pl * oh * ow;    /* (oh, ow) */
        for (int i = 0; i < oh; i++) {
            int y0 = i * win->sh - win->pt, ty0, ty1;
            clip(y0, win->kh, 1, h, &ty0, &ty1);
            for (int j = 0; j < ow; j++) {
                int x0 = j * win->sw - win->pl, tx0, tx1;
                clip(x0, win->kw, 1, w, &tx0, &tx1);
                double sum = 0.0;
                for (int ty = ty0; ty < ty1; ty++)
                    for (int tx = tx0; tx < tx1; tx++) sum += x[(size_t)(y0 + ty) * w + x0 + tx];
                y[(size_t)i * ow + j] = (float)(sum / divisor(y0, x0, h, w, win, count_pad));
            }
        }
    }
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
