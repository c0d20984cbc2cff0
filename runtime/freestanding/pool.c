/* pool.c — MaxPool2d, AvgPool2d and AdaptiveAvgPool2d as PyTorch defines them, for the freestanding build: the
 * generator passes every output size (floor or ceil mode). Each window is clipped to the map once per output row
 * and column. */
#include "vggc_fs.h"

#include <stddef.h>

static float max_nan(float m, float v)
{
    return (v > m || v != v) ? v : m; /* a NaN wins, as in torch.nn.MaxPool2d */
}

/* The taps [*t0, *t1) of a window starting at `start` (k taps, `step` apart) that fall inside [0, n). */
static void clip(int start, int k, int step, int n, int *t0, int *t1)
{
    int a = 0, b = k;
    while (a < b && start + a * step < 0) a++;
    while (b > a && start + (b - 1) * step >= n) b--;
    *t0 = a;
    *t1 = b;
}

/* PyTorch's divisor of the window at (y0, x0): its size within the padded map when count_pad, else the cells of
 * the map it covers. */
static int divisor(int y0, int x0, int h, int w, const vggc_fs_window *win, int count_pad)
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

/* out[plane][i][j] from the window of (i, j): its max (avg < 0) or its mean with count_pad = avg. */
static void pool(float *out, const float *in, int planes, int h, int w, int oh, int ow, const vggc_fs_window *win,
                 int avg)
{
    for (int pl = 0; pl < planes; pl++) {
        const float *x = in + (size_t)pl * h * w;
        float *y = out + (size_t)pl * oh * ow;
        for (int i = 0; i < oh; i++) {
            int y0 = i * win->sh - win->pt, ty0, ty1;
            clip(y0, win->kh, win->dh, h, &ty0, &ty1);
            for (int j = 0; j < ow; j++) {
                int x0 = j * win->sw - win->pl, tx0, tx1;
                clip(x0, win->kw, win->dw, w, &tx0, &tx1);
                float m = avg < 0 ? -__builtin_inff() : 0.0f;
                for (int ty = ty0; ty < ty1; ty++) {
                    const float *row = x + (size_t)(y0 + ty * win->dh) * w + x0;
                    for (int tx = tx0; tx < tx1; tx++) m = avg < 0 ? max_nan(m, row[tx * win->dw]) : m + row[tx];
                }
                y[(size_t)i * ow + j] = avg < 0 ? m : m / (float)divisor(y0, x0, h, w, win, avg);
            }
        }
    }
}

void vggc_fs_maxpool(float *out,      /* (n, c, oh, ow) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w, int oh, int ow, const vggc_fs_window *win)
{
    pool(out, in, n * c, h, w, oh, ow, win, -1);
}

void vggc_fs_avgpool(float *out,      /* (n, c, oh, ow) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w, int oh, int ow, const vggc_fs_window *win, int count_pad)
{
    pool(out, in, n * c, h, w, oh, ow, win, count_pad ? 1 : 0);
}

void vggc_fs_adaptive_avgpool(float *out,      /* (n, c, oh, ow) */
                              const float *in, /* (n, c, h, w) */
                              int n, int c, int h, int w, int oh, int ow)
{
    for (int pl = 0; pl < n * c; pl++)
        for (int i = 0; i < oh; i++) {
            int y0 = i * h / oh, y1 = ((i + 1) * h + oh - 1) / oh;
            for (int j = 0; j < ow; j++) {
                int x0 = j * w / ow, x1 = ((j + 1) * w + ow - 1) / ow;
                float s = 0.0f;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) s += in[((size_t)pl * h + y) * w + x];
                out[((size_t)pl * oh + i) * ow + j] = s / (float)((y1 - y0) * (x1 - x0));
            }
        }
}
