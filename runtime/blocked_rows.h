/* blocked_rows.h — internal: one row of each blocked-layout operation (platform.h), written once here and compiled
 * by each row's blocked.c for its instruction set; blocked.c runs the rows over the threads. A blocked row is the
 * 16 channels [c0, c0 + 16) of one image row: w pixels x 16 floats, contiguous. live = the real channels among
 * them (c - c0, at most 16 counted); the others are written as zero. */
#ifndef VGGC_BLOCKED_ROWS_H
#define VGGC_BLOCKED_ROWS_H

#include "pieces.h"
#include "vggc.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define BLOCKED_LANES 16

/* out[i][l] = in[l][i]: channel c0 + l of the row, plane floats apart in NCHW. */
static inline void blocked_to_row(float *out,      /* (w, 16) */
                                  const float *in, /* channel c0's row y: (live channels, plane apart) x (w) */
                                  int live, size_t plane, int w)
{
    if (live < BLOCKED_LANES) memset(out, 0, (size_t)w * BLOCKED_LANES * sizeof *out); /* the padded lanes */
    for (int l = 0; l < BLOCKED_LANES && l < live; l++) {
        const float *x = in + (size_t)l * plane;
        for (int i = 0; i < w; i++) out[(size_t)i * BLOCKED_LANES + l] = x[i];
    }
}

static inline void blocked_from_row(float *out,      /* channel c0's row y: (live channels, plane apart) x (w) */
                                    const float *in, /* (w, 16) */
                                    int live, size_t plane, int w)
{
    for (int l = 0; l < BLOCKED_LANES && l < live; l++) {
        float *o = out + (size_t)l * plane;
        for (int i = 0; i < w; i++) o[i] = in[(size_t)i * BLOCKED_LANES + l];
    }
}

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d. */
static inline float blocked_max_nan(float m, float v) { return (v > m || isnan(v)) ? v : m; }

/* A 2x2/2 max pool of two blocked rows (floor mode: an odd last column is dropped). */
static inline void blocked_maxpool_row(float *out,      /* (ow, 16) */
                                       const float *in, /* (2, w, 16) */
                                       int live, int w, int ow)
{
    for (int j = 0; j < ow; j++) {
        const float *r0 = in + (size_t)(2 * j) * BLOCKED_LANES, *r1 = r0 + (size_t)w * BLOCKED_LANES;
        for (int l = 0; l < BLOCKED_LANES; l++)
            out[(size_t)j * BLOCKED_LANES + l] =
                l < live ? blocked_max_nan(blocked_max_nan(r0[l], r0[BLOCKED_LANES + l]),
                                           blocked_max_nan(r1[l], r1[BLOCKED_LANES + l]))
                         : 0.0f;
    }
}

/* The taps [*t0, *t1) of a window starting at `start` (stride `step` between taps, k taps) inside [0, n): the
 * window clipped to the map (pool_general.c's kernels use it too). */
static inline void window_taps(int start, int k, int step, int n, int *t0, int *t1)
{
    int a = 0, b = k;
    while (a < b && start + a * step < 0) a++;
    while (b > a && start + (b - 1) * step >= n) b--;
    *t0 = a;
    *t1 = b;
}

/* Row i of a max pool with any window (vggc_maxpool2d_blocked) over one blocked plane: each output pixel's window
 * clipped to the map (a padded cell never wins), its taps in the order of vggc_maxpool2d's, so that every lane gets
 * the bits the NCHW pool gives its channel; 16 lanes as pieces of the row's vector width. */
static inline void blocked_maxpool_window_row(float *out,      /* (ow, 16) */
                                              const float *in, /* (h, w, 16) */
                                              int h, int w, int ow, const vggc_window *win, int i)
{
    int y0 = i * win->sh - win->pt, ty0, ty1;
    window_taps(y0, win->kh, win->dh, h, &ty0, &ty1);
    for (int j = 0; j < ow; j++) {
        int x0 = j * win->sw - win->pl, tx0, tx1;
        window_taps(x0, win->kw, win->dw, w, &tx0, &tx1);
        vggc_piece m[BLOCKED_LANES / VGGC_PIECE];
        for (int q = 0; q < BLOCKED_LANES / VGGC_PIECE; q++) m[q] = (vggc_piece){0} - INFINITY;
        for (int ty = ty0; ty < ty1; ty++)
            for (int tx = tx0; tx < tx1; tx++) {
                const float *px = in + ((size_t)(y0 + ty * win->dh) * w + x0 + tx * win->dw) * BLOCKED_LANES;
                for (int q = 0; q < BLOCKED_LANES / VGGC_PIECE; q++) {
                    vggc_piece v;
                    VGGC_PIECE_LOAD(v, px + q * VGGC_PIECE);
                    m[q] = vggc_piece_max_nan(m[q], v);
                }
            }
        memcpy(out + (size_t)j * BLOCKED_LANES, m, sizeof m);
    }
}

/* A row's four entry points (platform.h), compiled in the row's file. */
#define BLOCKED_DEFINE_ROWS(isa)                                                                              \
    void vggc_to_blocked_row_##isa(float *out, const float *in, int live, size_t plane, int w)               \
    {                                                                                                         \
        blocked_to_row(out, in, live, plane, w);                                                              \
    }                                                                                                         \
    void vggc_from_blocked_row_##isa(float *out, const float *in, int live, size_t plane, int w)             \
    {                                                                                                         \
        blocked_from_row(out, in, live, plane, w);                                                            \
    }                                                                                                         \
    void vggc_maxpool_row_##isa(float *out, const float *in, int live, int w, int ow)                        \
    {                                                                                                         \
        blocked_maxpool_row(out, in, live, w, ow);                                                            \
    }                                                                                                         \
    void vggc_maxpool_window_row_##isa(float *out, const float *in, int h, int w, int ow, const vggc_window *win, \
                                       int i)                                                                 \
    {                                                                                                         \
        blocked_maxpool_window_row(out, in, h, w, ow, win, i);                                                \
    }

#endif
