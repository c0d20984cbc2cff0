/* generic/direct.c — the generic row's direct convolution piece (platform.h, direct_job.h): plain C, tiles summed
 * in memory. */
#include "../direct_job.h"

#include <string.h>

enum { TILE_MAX = 24 }; /* vectors of a tile: tr * tc * m */

/* The tile widths for tiles of tr rows x m blocks: the widest first, then narrower ones for the rest of a row
 * (greedy; a 0 ends the list). With pool (tr = 2) every width is even. */
static const int *tile_widths(int tr, int m)
{
    static const int r1m4[] = {6, 4, 2, 1, 0}, r1m2[] = {12, 4, 2, 1, 0}, r1m1[] = {16, 4, 2, 1, 0};
    static const int r2m4[] = {2, 0}, r2m2[] = {6, 4, 2, 0}, r2m1[] = {12, 4, 2, 0};
    if (tr == 1) return m == 4 ? r1m4 : m == 2 ? r1m2 : r1m1;
    return m == 4 ? r2m4 : m == 2 ? r2m2 : r2m1;
}

/* acc[(r * tc + t) * m + q][l] += in[ci][sy][sx] * wk[q][ci][l] over the real input channels, for one kernel position
 * (ky, kx) and conv row y0 + r, pixel t reading source column sx0 + t * stride; pixels whose source is in the
 * padding are skipped. */
static void position(float *acc,                /* (TILE_MAX, 16) */
                     const float *x,            /* blocked (cin, h, w): one image */
                     const float *wk,           /* (m blocks, stride wstride) of (cin, 16) */
                     const vggc_direct_job *j, size_t wstride, int r, int sy, int sx0, int tc, int m)
{
    size_t plane = (size_t)j->h * j->w * DIRECT_LANES;
    for (int t = 0; t < tc; t++) {
        int sx = sx0 + t * j->stride;
        if (sx < 0 || sx >= j->w) continue;
        const float *px = x + ((size_t)sy * j->w + sx) * DIRECT_LANES;
        for (int ci = 0; ci < j->cin; ci++) {
            float v = px[(size_t)(ci / DIRECT_LANES) * plane + ci % DIRECT_LANES];
            for (int q = 0; q < m; q++) {
                float *a = acc + (size_t)((r * tc + t) * m + q) * DIRECT_LANES;
                const float *wv = wk + q * wstride + (size_t)ci * DIRECT_LANES;
                for (int l = 0; l < DIRECT_LANES; l++) a[l] += v * wv[l];
            }
        }
    }
}

/* The 2x2 max of top[0..1] and bottom[0..1], in vggc_maxpool2x2's order. */
static float max4(const float *top, const float *bottom)
{
    return direct_max_nan(direct_max_nan(top[0], top[1]), direct_max_nan(bottom[0], bottom[1]));
}

/* Store a finished tile: bias, the residual, ReLU if asked, then the 2x2 max if pool; lanes past cout are written
 * as 0. */
static void store(const vggc_direct_job *j, const float *acc, int b, int ob0, int y0, int x0, int tr, int tc, int m)
{
    for (int q = 0; q < m; q++) {
        int ob = ob0 + q, live = j->cout - ob * DIRECT_LANES;
        float *plane = direct_out_plane(j, b, ob);
        const float *res = direct_residual_plane(j, b, ob);
        for (int l = 0; l < DIRECT_LANES; l++) {
            float bias = l < live ? j->bias[ob * DIRECT_LANES + l] : 0.0f;
            float v[2][TILE_MAX];
            for (int r = 0; r < tr; r++)
                for (int t = 0; t < tc; t++) {
                    size_t at = ((size_t)(y0 + r) * j->ow + x0 + t) * DIRECT_LANES + l; /* without the pool */
                    v[r][t] = direct_finish(acc[((r * tc + t) * m + q) * DIRECT_LANES + l], bias,
                                            res && l < live ? res + at : NULL, j->relu);
                }
            int outs = j->pool ? tc / 2 : tc;
            for (int t = 0; t < outs; t++) {
                float o = j->pool ? max4(v[0] + 2 * t, v[1] + 2 * t) : v[0][t];
                size_t at = j->pool ? (size_t)(y0 / 2) * j->ow + x0 / 2 + t : (size_t)y0 * j->ow + x0 + t;
                plane[at * DIRECT_LANES + l] = l < live ? o : 0.0f;
            }
        }
    }
}

/* One tile of tr conv rows x tc columns x m blocks from (y0, x0), summed in memory. */
static void tile(const vggc_direct_job *j, int b, int ob0, int y0, int x0, int tr, int tc, int m)
{
    float acc[TILE_MAX * DIRECT_LANES];
    memset(acc, 0, sizeof acc);
    int k = j->k, pad = k / 2, s = j->stride;
    size_t wstride = (size_t)k * k * j->cin * DIRECT_LANES;
    const float *x = j->in + (size_t)b * direct_blocks(j->cin) * j->h * j->w * DIRECT_LANES;
    for (int r = 0; r < tr; r++)
        for (int ky = 0; ky < k; ky++) {
            int sy = (y0 + r) * s + ky - pad;
            if (sy < 0 || sy >= j->h) continue;
            for (int kx = 0; kx < k; kx++) {
                const float *wk = j->wpack + ob0 * wstride + (size_t)(ky * k + kx) * j->cin * DIRECT_LANES;
                position(acc, x, wk, j, wstride, r, sy, x0 * s + kx - pad, tc, m);
            }
        }
    store(j, acc, b, ob0, y0, x0, tr, tc, m);
}

void vggc_direct_piece_generic(const vggc_direct_job *j, int b, int ob0, int m, int y0)
{
    int tr = j->pool ? 2 : 1, x0 = 0, cw = direct_columns(j);
    for (const int *tc = tile_widths(tr, m); *tc; tc++)
        for (; x0 + *tc <= cw; x0 += *tc) tile(j, b, ob0, y0, x0, tr, *tc, m);
}
