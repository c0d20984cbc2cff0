/* x86/avx512/direct.c — the AVX-512 row's direct convolution piece (platform.h, direct_job.h), compiled with
 * -mavx512f -mfma.
 *
 * A register tile holds TR rows x TC columns of output pixels x M blocks of output channels (at most TILE_MAX zmm).
 * For every kernel position and every real input channel, M weight vectors are loaded and each of the tile's input
 * values is broadcast and multiplied into M accumulators. The zero padding costs nothing: a kernel row outside the
 * map is skipped, and pixels that read outside it are masked: for the 1x1 and 3x3 windows at stride 1 only the
 * first and last column of a tile can, for the others (stride 2, windows up to 7x7: resnet18's stem and strided
 * convs) each pixel has its mask. With pool, a tile is two conv rows and an even number of columns, and only the
 * pooled maximum is stored. The epilogue adds the bias and the residual, applies ReLU when asked and writes into
 * the job's output, which may be a slice of a larger tensor (a Concat). Tiles away from the border with at most 16
 * input channels (the first VGG layer, 3 -> 64; resnet18's stem, 3 -> 64 7x7/2) run their k * k * cin taps as one
 * flat loop instead of three nested ones.
 */
#include "../../direct_job.h"

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

enum {
    TILE_MAX = 24, /* accumulator vectors in a register tile: TR * TC * M */
    TC_MAX = 16    /* columns of a tile at most (tile_widths) */
};

/* The tile widths for tiles of tr rows x m blocks: the widest first, then narrower ones for the rest of a row
 * (greedy; a 0 ends the list). With pool (tr = 2) every width is even. */
static const int *tile_widths(int tr, int m)
{
    static const int r1m4[] = {6, 4, 2, 1, 0}, r1m2[] = {12, 4, 2, 1, 0}, r1m1[] = {16, 4, 2, 1, 0};
    static const int r2m4[] = {2, 0}, r2m2[] = {6, 4, 2, 0}, r2m1[] = {12, 4, 2, 0};
    if (tr == 1) return m == 4 ? r1m4 : m == 2 ? r1m2 : r1m1;
    return m == 4 ? r2m4 : m == 2 ? r2m2 : r2m1;
}

/* The larger of m and v; a NaN in v wins, a NaN in m stays (max_nan lane by lane). */
INLINE __m512 max_nan16(__m512 m, __m512 v)
{
    return _mm512_mask_mov_ps(_mm512_max_ps(v, m), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}

/* Where in a row pixel t of a tile reads: at_f / at_l for the first and last (clamped), sx0 + t between. */
INLINE size_t pixel_at(int t, int TC, int sx0, size_t at_f, size_t at_l)
{
    return t == 0 ? at_f : t == TC - 1 ? at_l : (size_t)(sx0 + t) * DIRECT_LANES;
}

/* One kernel position (ky, kx) for all TR conv rows of the tile: every real input channel, TC pixels from source
 * column sx0 on, M blocks; each weight vector serves both rows of a pooled tile. Only pixel 0 and pixel TC - 1 can
 * lie in the padding, and with TR = 2 a whole row can (kr[r] = 0): those read a clamped address, masked. */
INLINE void position_avx512(__m512 *acc, const float *const *rows, const __mmask16 *kr, const float *wk,
                                   size_t wstride, size_t plane, int cin, int w, int sx0, int TR, int TC, int M)
{
    int sxl = sx0 + TC - 1;
    __mmask16 kf = (sx0 >= 0 && sx0 < w) ? 0xFFFF : 0, kl = (sxl >= 0 && sxl < w) ? 0xFFFF : 0, k[2][3];
    for (int r = 0; r < TR; r++) k[r][0] = kr[r] & kf, k[r][1] = kr[r], k[r][2] = kr[r] & kl;
    size_t at_f = (size_t)direct_clamp_col(sx0, w) * DIRECT_LANES, at_l = (size_t)direct_clamp_col(sxl, w) * DIRECT_LANES;
    for (int c0 = 0; c0 < cin; c0 += DIRECT_LANES) {
        int cl = cin - c0 < DIRECT_LANES ? cin - c0 : DIRECT_LANES;
        size_t off = (size_t)(c0 / DIRECT_LANES) * plane;
        const float *wc = wk + (size_t)c0 * DIRECT_LANES;
        if (c0 + DIRECT_LANES < cin) /* the next block's pixels into L1: +20-30% for 1x1 layers, whose input does not stay */
            for (int r = 0; r < TR; r++)
                for (int t = 0; t < TC; t++)
                    _mm_prefetch((const char *)(rows[r] + pixel_at(t, TC, sx0, at_f, at_l) + off + plane), _MM_HINT_T0);
        for (int c = 0; c < cl; c++) {
            __m512 wv[4];
            for (int q = 0; q < M; q++) wv[q] = _mm512_loadu_ps(wc + q * wstride + (size_t)c * DIRECT_LANES);
            for (int r = 0; r < TR; r++)
                for (int t = 0; t < TC; t++) {
                    __m512 v = _mm512_set1_ps(rows[r][pixel_at(t, TC, sx0, at_f, at_l) + off + c]);
                    int edge = t == 0 ? 0 : t == TC - 1 ? 2 : 1;
                    for (int q = 0; q < M; q++) {
                        __m512 *a = &acc[(r * TC + t) * M + q];
                        if (TR == 1 && edge == 1) *a = _mm512_fmadd_ps(v, wv[q], *a);
                        else *a = _mm512_mask3_fmadd_ps(v, wv[q], *a, k[r][edge]);
                    }
                }
        }
    }
}

/* The same for any window and stride s: pixel t reads source column sx0 + t * s, and any pixel may lie in the
 * padding (a 7x7 window reaches 3 columns out, a strided tile's pixels are 2 apart), so each has its own mask. */
INLINE void position_any(__m512 *acc, const float *const *rows, const __mmask16 *kr, const float *wk, size_t wstride,
                         size_t plane, int cin, int w, int sx0, int s, int TR, int TC, int M)
{
    size_t at[TC_MAX];
    __mmask16 k[2][TC_MAX];
    int masked = 0;
    for (int t = 0; t < TC; t++) {
        int sx = sx0 + t * s, inside = sx >= 0 && sx < w;
        at[t] = (size_t)direct_clamp_col(sx, w) * DIRECT_LANES;
        for (int r = 0; r < TR; r++) k[r][t] = inside ? kr[r] : 0, masked |= k[r][t] != 0xFFFF;
    }
    for (int c0 = 0; c0 < cin; c0 += DIRECT_LANES) {
        int cl = cin - c0 < DIRECT_LANES ? cin - c0 : DIRECT_LANES;
        size_t off = (size_t)(c0 / DIRECT_LANES) * plane;
        const float *wc = wk + (size_t)c0 * DIRECT_LANES;
        if (c0 + DIRECT_LANES < cin) /* the next block's pixels into L1, as position_avx512 */
            for (int r = 0; r < TR; r++)
                for (int t = 0; t < TC; t++) _mm_prefetch((const char *)(rows[r] + at[t] + off + plane), _MM_HINT_T0);
        for (int c = 0; c < cl; c++) {
            __m512 wv[4];
            for (int q = 0; q < M; q++) wv[q] = _mm512_loadu_ps(wc + q * wstride + (size_t)c * DIRECT_LANES);
            for (int r = 0; r < TR; r++)
                for (int t = 0; t < TC; t++) {
                    __m512 v = _mm512_set1_ps(rows[r][at[t] + off + c]);
                    for (int q = 0; q < M; q++) {
                        __m512 *a = &acc[(r * TC + t) * M + q];
                        *a = masked ? _mm512_mask3_fmadd_ps(v, wv[q], *a, k[r][t]) : _mm512_fmadd_ps(v, wv[q], *a);
                    }
                }
        }
    }
}

/* Store a finished tile: bias, the residual (pixel by pixel, never with pool), ReLU if the job asks, then the 2x2
 * max if pool, into the job's output planes; lanes past cout are written as 0. */
INLINE void store_avx512(const vggc_direct_job *j, __m512 *acc, int b, int ob0, int y0, int x0, int TR, int TC, int M)
{
    for (int q = 0; q < M; q++) {
        int ob = ob0 + q, live = j->cout - ob * DIRECT_LANES;
        __mmask16 lm = live >= DIRECT_LANES ? 0xFFFF : (__mmask16)((1u << live) - 1u);
        __m512 bias = _mm512_maskz_loadu_ps(lm, j->bias + ob * DIRECT_LANES), zero = _mm512_setzero_ps();
        float *plane = direct_out_plane(j, b, ob); /* (oh, ow, 16) */
        const float *res = direct_residual_plane(j, b, ob);
        for (int i = 0; i < TR * TC; i++) acc[i * M + q] = _mm512_add_ps(acc[i * M + q], bias);
        if (res && TR == 1)
            for (int t = 0; t < TC; t++)
                acc[t * M + q] = _mm512_add_ps(acc[t * M + q],
                                               _mm512_loadu_ps(res + ((size_t)y0 * j->ow + x0 + t) * DIRECT_LANES));
        if (j->relu) /* max returns its second operand when one is NaN: NaN stays NaN, as torch.relu */
            for (int i = 0; i < TR * TC; i++) acc[i * M + q] = _mm512_max_ps(zero, acc[i * M + q]);
        if (TR == 2) {
            for (int t = 0; t < TC / 2; t++) {
                __m512 top = max_nan16(acc[2 * t * M + q], acc[(2 * t + 1) * M + q]);
                __m512 bot = max_nan16(acc[(TC + 2 * t) * M + q], acc[(TC + 2 * t + 1) * M + q]);
                size_t at = (size_t)(y0 / 2) * j->ow + x0 / 2 + t;
                _mm512_storeu_ps(plane + at * DIRECT_LANES, _mm512_maskz_mov_ps(lm, max_nan16(top, bot)));
            }
        } else {
            for (int t = 0; t < TC; t++) {
                float *at = plane + ((size_t)y0 * j->ow + x0 + t) * DIRECT_LANES;
                if (j->stream) _mm512_stream_ps(at, _mm512_maskz_mov_ps(lm, acc[t * M + q]));
                else _mm512_storeu_ps(at, _mm512_maskz_mov_ps(lm, acc[t * M + q]));
            }
        }
    }
}

/* One tile of TR conv rows x TC columns x M blocks, kernel K x K at stride 1, or (K = 0) the job's window and stride;
 * the constants make the tile live in registers. */
INLINE void tile_body(const vggc_direct_job *j, int b, int ob0, int y0, int x0, int K, int TR, int TC, int M)
{
    __m512 acc[TILE_MAX];
    /* Unrolled, or GCC turns a 24-vector tile's zeroing into a rep stos of a stack copy it never reads: 20 % of the
     * time of VGG16's first conv (3 -> 64 at 224, no pool: 0.92-1.03 -> 0.75-0.97 ms alone, 1.25-1.45 -> 1.02-1.10 in
     * the model, Zen 5, binary copies alternated). */
#pragma GCC unroll 24
    for (int i = 0; i < TR * TC * M; i++) acc[i] = _mm512_setzero_ps();
    int k = K ? K : j->k, s = K ? 1 : j->stride;
    size_t plane = (size_t)j->h * j->w * DIRECT_LANES, wstride = (size_t)k * k * j->cin * DIRECT_LANES;
    const float *x = j->in + (size_t)b * direct_blocks(j->cin) * plane;
    for (int ky = 0; ky < k; ky++) {
        const float *rows[2];
        __mmask16 kr[2];
        int any = 0;
        for (int r = 0; r < TR; r++) {
            int sy = (y0 + r) * s + ky - k / 2, inside = sy >= 0 && sy < j->h;
            rows[r] = x + (size_t)(inside ? sy : 0) * j->w * DIRECT_LANES, kr[r] = inside ? 0xFFFF : 0, any |= inside;
        }
        if (!any) continue;
        for (int kx = 0; kx < k; kx++) {
            int sx0 = x0 * s + kx - k / 2;
            if (sx0 + (TC - 1) * s < 0 || sx0 >= j->w) continue; /* the whole tile is in the padding (tiny maps) */
            const float *wk = j->wpack + ob0 * wstride + (size_t)(ky * k + kx) * j->cin * DIRECT_LANES;
            if (K) position_avx512(acc, rows, kr, wk, wstride, plane, j->cin, j->w, sx0, TR, TC, M);
            else position_any(acc, rows, kr, wk, wstride, plane, j->cin, j->w, sx0, s, TR, TC, M);
        }
    }
    store_avx512(j, acc, b, ob0, y0, x0, TR, TC, M);
}

/* Every tile shape the widths tables name, for K = 1 and 3 (stride 1) and K = 0 (the job's window and stride). */
#define TILES(X, K)                                                                                      \
    X(K, 1, 6, 4) X(K, 1, 4, 4) X(K, 1, 2, 4) X(K, 1, 1, 4) X(K, 1, 12, 2) X(K, 1, 4, 2) X(K, 1, 2, 2)  \
    X(K, 1, 1, 2) X(K, 1, 16, 1) X(K, 1, 4, 1) X(K, 1, 2, 1) X(K, 1, 1, 1) X(K, 2, 2, 4) X(K, 2, 6, 2) \
    X(K, 2, 4, 2) X(K, 2, 2, 2) X(K, 2, 12, 1) X(K, 2, 4, 1) X(K, 2, 2, 1)
#define TILE_NAME(K, TR, TC, M) tile_k##K##_r##TR##_c##TC##_m##M
#define TILE_KEY(K, TR, TC, M) ((((K) * 4 + (TR)) * 32 + (TC)) * 8 + (M))
#define DEFINE_TILE(K, TR, TC, M)                                                                      \
    static void TILE_NAME(K, TR, TC, M)(const vggc_direct_job *j, int b, int ob0, int y0, int x0)     \
    {                                                                                                  \
        tile_body(j, b, ob0, y0, x0, K, TR, TC, M);                                                    \
    }
#define CASE_TILE(K, TR, TC, M) \
    case TILE_KEY(K, TR, TC, M): TILE_NAME(K, TR, TC, M)(j, b, ob0, y0, x0); return;

TILES(DEFINE_TILE, 1)
TILES(DEFINE_TILE, 3)
TILES(DEFINE_TILE, 0)

static void tile_avx512(const vggc_direct_job *j, int b, int ob0, int y0, int x0, int tr, int tc, int m)
{
    switch (TILE_KEY(j->stride == 1 && j->k <= 3 ? j->k : 0, tr, tc, m)) {
        TILES(CASE_TILE, 1)
        TILES(CASE_TILE, 3)
        TILES(CASE_TILE, 0)
    default: __builtin_trap(); /* not reached: the tables name only the shapes above */
    }
}

/* A tile away from the map's border with at most 16 input channels (the first VGG layer, resnet18's stem): all
 * k * k * cin taps are one flat loop, tap i reading the input at off[i] from the tile's top-left source pixel, so
 * there is no loop overhead per kernel position and both rows of a pooled tile share each weight load. Pixel t reads
 * S * t columns on: S is the job's stride (1 with pool). */
INLINE void taps_body(const vggc_direct_job *j, const int *off, int taps, int b, int ob0, int y0, int x0, int TR,
                             int TC, int M, int S)
{
    __m512 acc[TILE_MAX];
#pragma GCC unroll 24 /* as in tile_body: no rep stos */
    for (int i = 0; i < TR * TC * M; i++) acc[i] = _mm512_setzero_ps();
    int pad = j->k / 2;
    size_t wstride = (size_t)j->k * j->k * j->cin * DIRECT_LANES, row = (size_t)j->w * DIRECT_LANES;
    const float *wg = j->wpack + ob0 * wstride;
    const float *x = j->in + ((size_t)b * j->h * j->w + (size_t)(y0 * S - pad) * j->w + (x0 * S - pad)) * DIRECT_LANES;
    for (int i = 0; i < taps; i++) {
        __m512 wv[4];
        for (int q = 0; q < M; q++) wv[q] = _mm512_loadu_ps(wg + q * wstride + (size_t)i * DIRECT_LANES);
        const float *p = x + off[i];
        for (int r = 0; r < TR; r++)
            for (int t = 0; t < TC; t++) {
                __m512 v = _mm512_set1_ps(p[r * row + (size_t)t * S * DIRECT_LANES]);
                __m512 *a = &acc[(r * TC + t) * M];
                for (int q = 0; q < M; q++) a[q] = _mm512_fmadd_ps(v, wv[q], a[q]);
            }
    }
    store_avx512(j, acc, b, ob0, y0, x0, TR, TC, M);
}

/* The widest tile of each tables' row, as a taps kernel, at stride S = 1 or 2 (S - 1 in the key). */
#define TAPS(X) X(1, 6, 4, 1) X(1, 12, 2, 1) X(1, 16, 1, 1) X(2, 2, 4, 1) X(2, 6, 2, 1) X(2, 12, 1, 1) \
    X(1, 6, 4, 2) X(1, 12, 2, 2) X(1, 16, 1, 2)
#define TAPS_NAME(TR, TC, M, S) taps_r##TR##_c##TC##_m##M##_s##S
#define DEFINE_TAPS(TR, TC, M, S)                                                                                \
    static void TAPS_NAME(TR, TC, M, S)(const vggc_direct_job *j, const int *off, int taps, int b, int ob0,      \
                                        int y0, int x0)                                                         \
    {                                                                                                            \
        taps_body(j, off, taps, b, ob0, y0, x0, TR, TC, M, S);                                                   \
    }
#define CASE_TAPS(TR, TC, M, S) \
    case TILE_KEY((S) - 1, TR, TC, M): TAPS_NAME(TR, TC, M, S)(j, off, taps, b, ob0, y0, x0); return 1;

TAPS(DEFINE_TAPS)

/* Run the tile as a taps kernel if there is one of its shape; 0 if not. */
static int taps_avx512(const vggc_direct_job *j, const int *off, int taps, int b, int ob0, int y0, int x0, int tr,
                              int tc, int m)
{
    switch (TILE_KEY(j->stride - 1, tr, tc, m)) {
        TAPS(CASE_TAPS)
    default: return 0;
    }
}

/* One piece: tr conv rows from y0, all columns, channel blocks [ob0, ob0 + m) of image b. */
static void row(const vggc_direct_job *j, int b, int ob0, int m, int y0, int tr)
{
    int off[DIRECT_TAPS_MAX], taps = j->cin <= DIRECT_LANES ? direct_taps_of(off, j) : 0, x0 = 0, cw = direct_columns(j);
    for (const int *tc = tile_widths(tr, m); *tc; tc++)
        for (; x0 + *tc <= cw; x0 += *tc)
            if (!(taps && direct_interior(j, y0, x0, tr, *tc) && taps_avx512(j, off, taps, b, ob0, y0, x0, tr, *tc, m)))
                tile_avx512(j, b, ob0, y0, x0, tr, *tc, m);
}

void vggc_direct_piece_avx512(const vggc_direct_job *j, int b, int ob0, int m, int y0)
{
    row(j, b, ob0, m, y0, j->pool ? 2 : 1);
    if (j->stream) _mm_sfence(); /* the streamed lines are in memory before another thread reads them */
}
