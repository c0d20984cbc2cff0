/* blocked.c — the blocked layout of the fast path, (n, cpad / 16, h, w, 16): conversions to and from NCHW and a 2x2
 * max pool, written once for every instruction set. They go row by row: a blocked row (w x 16 floats) stays in L1
 * while its 16 lanes are filled or read one plane at a time, and there are n * blocks * h pieces for the threads
 * even when c is 3. Each row runs on the kernel row of platform.h (blocked_rows.h, compiled per instruction set). */
#include "platform.h"
#include "vggc.h"

static int blocks(int c) { return VGGC_CPAD(c) / 16; }

void vggc_to_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w)
{
    int cb_count = blocks(c), rows = n * cb_count * h;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++) {
        int b = row / h / cb_count, c0 = row / h % cb_count * 16, y = row % h;
        k->to_blocked_row(out + (size_t)row * w * 16, in + (((size_t)b * c + c0) * h + y) * w, c - c0,
                          (size_t)h * w, w);
    }
}

void vggc_from_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w)
{
    int cb_count = blocks(c), rows = n * cb_count * h;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++) {
        int b = row / h / cb_count, c0 = row / h % cb_count * 16, y = row % h;
        k->from_blocked_row(out + (((size_t)b * c + c0) * h + y) * w, in + (size_t)row * w * 16, c - c0,
                            (size_t)h * w, w);
    }
}

void vggc_maxpool2x2_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w)
{
    int oh = h / 2, ow = w / 2, cb_count = blocks(c), rows = n * cb_count * oh;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++) {
        int pl = row / oh, i = row % oh, live = c - pl % cb_count * 16; /* lanes below live are real channels */
        k->maxpool_row(out + (size_t)row * ow * 16, in + ((size_t)pl * h + 2 * i) * w * 16, live, w, ow);
    }
}

void vggc_to_blocked(float *out,      /* blocked (n, c, h, w) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w)
{
    vggc_to_blocked_on(vggc_kernels_active(), out, in, n, c, h, w);
}

void vggc_from_blocked(float *out,      /* (n, c, h, w) */
                       const float *in, /* blocked (n, c, h, w) */
                       int n, int c, int h, int w)
{
    vggc_from_blocked_on(vggc_kernels_active(), out, in, n, c, h, w);
}

void vggc_maxpool2x2_blocked(float *out,      /* blocked (n, c, h / 2, w / 2) */
                             const float *in, /* blocked (n, c, h, w) */
                             int n, int c, int h, int w)
{
    vggc_maxpool2x2_blocked_on(vggc_kernels_active(), out, in, n, c, h, w);
}
