/* blocked.c — the blocked layout of the fast path, (n, cpad / 16, h, w, 16): conversions to and from NCHW, a 2x2
 * max pool, and the direct convolution (k = 1 or 3, stride 1, pad k / 2, + bias, ReLU, optionally a fused 2x2 max
 * pool) with an AVX-512 kernel and a portable one, and the packing of its weights.
 *
 * Direct convolution. The packed weights are (cpad(cout) / 16, k, k, cin, 16): for one block of 16 output channels,
 * one kernel position and one real input channel, the 16 weights are one vector. A register tile holds TR rows x TC
 * columns of output pixels x M blocks of output channels (at most TILE_MAX vectors). For every kernel position and
 * every real input channel (padded input channels are never read), M weight vectors are loaded and each of the
 * tile's input values is broadcast and multiplied into M accumulators. The zero padding costs nothing: a kernel row
 * outside the map is skipped, and only the first and last column of a tile can fall outside it, so those two are
 * masked. With pool, a tile is two conv rows and an even number of columns, and only the pooled maximum is stored.
 * Tiles away from the border with at most 16 input channels (the first VGG layer, 3 -> 64) run their k * k * cin
 * taps as one flat loop instead of three nested ones.
 *
 * Work is cut in pieces of one tile row (TR conv rows, the whole width) x one group of M channel blocks x one image,
 * whatever the thread count; each output value is summed by one thread in one fixed order, so results are bitwise
 * the same for any number of threads. The naive reference is vggc_conv2d_ref then vggc_maxpool2x2 on NCHW
 * (tests/test_blocked.c compares both kernels with it).
 */
#include "blocked_internal.h"
#include "cpu.h"
#include "vggc.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX512_KERNEL 1
#endif

enum {
    LANES = 16,   /* channels per block */
    TILE_MAX = 24 /* accumulator vectors in a register tile: TR * TC * M */
};

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d (and vggc_maxpool2x2). */
static float max_nan(float m, float v)
{
    return (v > m || isnan(v)) ? v : m;
}

/* v + bias, then ReLU. NaN stays NaN, as in torch.relu. */
static float bias_relu(float v, float bias)
{
    v += bias;
    return v < 0.0f ? 0.0f : v;
}

static int blocks(int c) { return VGGC_CPAD(c) / LANES; }

/* ---- conversions and max pool -------------------------------------------------------------------------- */

/* Conversions go row by row: a blocked row (w x 16 floats) stays in L1 while its 16 lanes are filled or read one
 * plane at a time, and there are n * blocks * h pieces for the threads even when c is 3. */
void vggc_to_blocked(float *out,      /* blocked (n, c, h, w) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w)
{
    int cb_count = blocks(c), rows = n * cb_count * h;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++) {
        int b = row / h / cb_count, c0 = row / h % cb_count * LANES, y = row % h;
        float *o = out + (size_t)row * w * LANES; /* (w, 16) */
        if (c - c0 < LANES) memset(o, 0, (size_t)w * LANES * sizeof *o); /* the padded lanes */
        for (int l = 0; l < LANES && c0 + l < c; l++) {
            const float *x = in + (((size_t)b * c + c0 + l) * h + y) * w; /* (w) */
            for (int i = 0; i < w; i++) o[(size_t)i * LANES + l] = x[i];
        }
    }
}

void vggc_from_blocked(float *out,      /* (n, c, h, w) */
                       const float *in, /* blocked (n, c, h, w) */
                       int n, int c, int h, int w)
{
    int cb_count = blocks(c), rows = n * cb_count * h;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++) {
        int b = row / h / cb_count, c0 = row / h % cb_count * LANES, y = row % h;
        const float *x = in + (size_t)row * w * LANES; /* (w, 16) */
        for (int l = 0; l < LANES && c0 + l < c; l++) {
            float *o = out + (((size_t)b * c + c0 + l) * h + y) * w; /* (w) */
            for (int i = 0; i < w; i++) o[i] = x[(size_t)i * LANES + l];
        }
    }
}

void vggc_maxpool2x2_blocked(float *out,      /* blocked (n, c, h / 2, w / 2) */
                             const float *in, /* blocked (n, c, h, w) */
                             int n, int c, int h, int w)
{
    int oh = h / 2, ow = w / 2, cb_count = blocks(c), rows = n * cb_count * oh;
#pragma omp parallel for schedule(static)
    for (int row = 0; row < rows; row++) {
        int pl = row / oh, i = row % oh, live = c - pl % cb_count * LANES; /* lanes below live are real channels */
        const float *x = in + ((size_t)pl * h + 2 * i) * w * LANES; /* (2, w, 16) */
        float *o = out + (size_t)row * ow * LANES;                    /* (ow, 16) */
        for (int j = 0; j < ow; j++) {
            const float *r0 = x + (size_t)(2 * j) * LANES, *r1 = r0 + (size_t)w * LANES;
            for (int l = 0; l < LANES; l++)
                o[(size_t)j * LANES + l] =
                    l < live ? max_nan(max_nan(r0[l], r0[LANES + l]), max_nan(r1[l], r1[LANES + l])) : 0.0f;
        }
    }
}

/* ---- direct convolution: weights and the plan shared by both kernels ----------------------------------- */

void vggc_direct_pack(float *wpack,        /* (cpad(cout) / 16, k, k, cin, 16) */
                      const float *weight, /* (cout, cin, k, k) */
                      int cin, int cout, int k)
{
    for (int ob = 0; ob < blocks(cout); ob++)
        for (int pos = 0; pos < k * k; pos++)
            for (int ci = 0; ci < cin; ci++) {
                float *v = wpack + (((size_t)ob * k * k + pos) * cin + ci) * LANES;
                for (int l = 0, co = ob * LANES; l < LANES; l++, co++)
                    v[l] = co < cout ? weight[((size_t)co * cin + ci) * k * k + pos] : 0.0f;
            }
}

typedef struct {
    float *out;         /* blocked (n, cout, oh, ow) */
    const float *in;    /* blocked (n, cin, h, w) */
    const float *wpack; /* (cpad(cout) / 16, k, k, cin, 16) */
    const float *bias;  /* (cout) */
    int cin, h, w, cout, k, pool, oh, ow;
    int widest;         /* channel blocks per group: 4, or 2 */
} conv_job;

/* How many channel blocks a group takes at most: 4 (tiles of 6 pixels, or 2 x 2 with pool), but 2 (12 pixels) for
 * 1x1 layers, whose weights for 2 blocks stay in L1 (measured 10-20% faster). */
static int widest_group(int cin, int k)
{
    return (cin > LANES && k == 1) ? 2 : 4;
}

static conv_job make_job(float *out, const float *in, const float *wpack, const float *bias,
                         int cin, int h, int w, int cout, int k, int pool)
{
    conv_job j = {out, in, wpack, bias, cin, h, w, cout, k, pool, pool ? h / 2 : h, pool ? w / 2 : w,
                  widest_group(cin, k)};
    return j;
}

/* Channel blocks are taken in groups of `widest` (4 or 2), then one of 2 and one of 1 for what is left: group g
 * starts at block *ob0 and has *m blocks. */
static int group_count(int nob, int widest)
{
    int fours = widest == 4 ? nob / 4 : 0, rest = nob - 4 * fours;
    return fours + rest / 2 + rest % 2;
}
static void group_of(int nob, int widest, int g, int *ob0, int *m)
{
    int fours = widest == 4 ? nob / 4 : 0, twos = (nob - 4 * fours) / 2;
    if (g < fours) *ob0 = 4 * g, *m = 4;
    else if (g < fours + twos) *ob0 = 4 * fours + 2 * (g - fours), *m = 2;
    else *ob0 = nob - 1, *m = 1;
}

/* The tile widths for tiles of tr rows x m blocks: the widest first, then narrower ones for the rest of a row
 * (greedy; a 0 ends the list). With pool (tr = 2) every width is even. */
static const int *tile_widths(int tr, int m)
{
    static const int r1m4[] = {6, 4, 2, 1, 0}, r1m2[] = {12, 4, 2, 1, 0}, r1m1[] = {16, 4, 2, 1, 0};
    static const int r2m4[] = {2, 0}, r2m2[] = {6, 4, 2, 0}, r2m1[] = {12, 4, 2, 0};
    if (tr == 1) return m == 4 ? r1m4 : m == 2 ? r1m2 : r1m1;
    return m == 4 ? r2m4 : m == 2 ? r2m2 : r2m1;
}

/* Piece p of image-major, group, row order: image *b, channel group *ob0 / *m, first conv row *y0 (of tr). */
static void piece_of(const conv_job *j, int p, int *b, int *ob0, int *m, int *y0)
{
    int groups = group_count(blocks(j->cout), j->widest), g;
    *b = p / (groups * j->oh);
    g = p / j->oh % groups;
    *y0 = p % j->oh * (j->pool ? 2 : 1);
    group_of(blocks(j->cout), j->widest, g, ob0, m);
}

/* The conv columns a row of tiles covers: all of them, or the pooled ones (floor mode drops an odd last one). */
static int conv_columns(const conv_job *j) { return j->pool ? 2 * j->ow : j->w; }

/* Source column sx clamped into the map (a masked-out pixel still reads a valid address). */
static int clamp_col(int sx, int w) { return sx < 0 ? 0 : sx >= w ? w - 1 : sx; }

/* ---- portable kernel ----------------------------------------------------------------------------------- */

/* acc[(r * tc + t) * m + q][l] += in[ci][sy][sx] * wk[q][ci][l] over the real input channels, for one kernel position
 * (ky, kx) and conv row y0 + r; pixels whose source is in the padding are skipped. */
static void position_portable(float *acc,       /* (TILE_MAX, 16) */
                              const float *x,   /* blocked (cin, h, w): one image */
                              const float *wk,  /* (m blocks, stride wstride) of (cin, 16) */
                              const conv_job *j, size_t wstride, int r, int sy, int sx0, int tc, int m)
{
    size_t plane = (size_t)j->h * j->w * LANES;
    for (int t = 0; t < tc; t++) {
        int sx = sx0 + t;
        if (sx < 0 || sx >= j->w) continue;
        const float *px = x + ((size_t)sy * j->w + sx) * LANES;
        for (int ci = 0; ci < j->cin; ci++) {
            float v = px[(size_t)(ci / LANES) * plane + ci % LANES];
            for (int q = 0; q < m; q++) {
                float *a = acc + (size_t)((r * tc + t) * m + q) * LANES;
                const float *wv = wk + q * wstride + (size_t)ci * LANES;
                for (int l = 0; l < LANES; l++) a[l] += v * wv[l];
            }
        }
    }
}

/* The 2x2 max of top[0..1] and bottom[0..1], in vggc_maxpool2x2's order. */
static float max4(const float *top, const float *bottom)
{
    return max_nan(max_nan(top[0], top[1]), max_nan(bottom[0], bottom[1]));
}

/* Store a finished tile: bias, ReLU, then the 2x2 max if pool; lanes past cout are written as 0. */
static void store_portable(const conv_job *j, const float *acc, int b, int ob0, int y0, int x0, int tr, int tc, int m)
{
    for (int q = 0; q < m; q++) {
        int ob = ob0 + q, live = j->cout - ob * LANES;
        float *plane = j->out + ((size_t)b * blocks(j->cout) + ob) * j->oh * j->ow * LANES; /* (oh, ow, 16) */
        for (int l = 0; l < LANES; l++) {
            float bias = l < live ? j->bias[ob * LANES + l] : 0.0f;
            float v[2][TILE_MAX];
            for (int r = 0; r < tr; r++)
                for (int t = 0; t < tc; t++) v[r][t] = bias_relu(acc[((r * tc + t) * m + q) * LANES + l], bias);
            int outs = j->pool ? tc / 2 : tc;
            for (int t = 0; t < outs; t++) {
                float o = j->pool ? max4(v[0] + 2 * t, v[1] + 2 * t) : v[0][t];
                size_t at = j->pool ? (size_t)(y0 / 2) * j->ow + x0 / 2 + t : (size_t)y0 * j->ow + x0 + t;
                plane[at * LANES + l] = l < live ? o : 0.0f;
            }
        }
    }
}

/* One tile of tr conv rows x tc columns x m blocks from (y0, x0), summed in memory. */
static void tile_portable(const conv_job *j, int b, int ob0, int y0, int x0, int tr, int tc, int m)
{
    float acc[TILE_MAX * LANES] = {0};
    int k = j->k, pad = k / 2;
    size_t wstride = (size_t)k * k * j->cin * LANES;
    const float *x = j->in + (size_t)b * blocks(j->cin) * j->h * j->w * LANES;
    for (int r = 0; r < tr; r++)
        for (int ky = 0; ky < k; ky++) {
            int sy = y0 + r + ky - pad;
            if (sy < 0 || sy >= j->h) continue;
            for (int kx = 0; kx < k; kx++) {
                const float *wk = j->wpack + ob0 * wstride + (size_t)(ky * k + kx) * j->cin * LANES;
                position_portable(acc, x, wk, j, wstride, r, sy, x0 + kx - pad, tc, m);
            }
        }
    store_portable(j, acc, b, ob0, y0, x0, tr, tc, m);
}

void vggc_conv_direct_portable(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                               const float *in,    /* blocked (n, cin, h, w) */
                               const float *wpack, /* (cpad(cout) / 16, k, k, cin, 16) */
                               const float *bias,  /* (cout) */
                               int n, int cin, int h, int w, int cout, int k, int pool)
{
    conv_job j = make_job(out, in, wpack, bias, cin, h, w, cout, k, pool);
    int pieces = n * group_count(blocks(cout), j.widest) * j.oh, tr = pool ? 2 : 1;
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < pieces; p++) {
        int b, ob0, m, y0, x0 = 0, cw = conv_columns(&j);
        piece_of(&j, p, &b, &ob0, &m, &y0);
        for (const int *tc = tile_widths(tr, m); *tc; tc++)
            for (; x0 + *tc <= cw; x0 += *tc) tile_portable(&j, b, ob0, y0, x0, tr, *tc, m);
    }
}

/* ---- AVX-512 kernel ------------------------------------------------------------------------------------ */

#ifdef HAVE_AVX512_KERNEL
#define AVX512 __attribute__((target("avx512f,fma")))
#define INLINE static inline __attribute__((always_inline))

/* The larger of m and v; a NaN in v wins, a NaN in m stays (max_nan lane by lane). */
INLINE AVX512 __m512 max_nan16(__m512 m, __m512 v)
{
    return _mm512_mask_mov_ps(_mm512_max_ps(v, m), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}

/* Where in a row pixel t of a tile reads: at_f / at_l for the first and last (clamped), sx0 + t between. */
INLINE size_t pixel_at(int t, int TC, int sx0, size_t at_f, size_t at_l)
{
    return t == 0 ? at_f : t == TC - 1 ? at_l : (size_t)(sx0 + t) * LANES;
}

/* One kernel position (ky, kx) for all TR conv rows of the tile: every real input channel, TC pixels from source
 * column sx0 on, M blocks; each weight vector serves both rows of a pooled tile. Only pixel 0 and pixel TC - 1 can
 * lie in the padding, and with TR = 2 a whole row can (kr[r] = 0): those read a clamped address, masked. */
INLINE AVX512 void position_avx512(__m512 *acc, const float *const *rows, const __mmask16 *kr, const float *wk,
                                   size_t wstride, size_t plane, int cin, int w, int sx0, int TR, int TC, int M)
{
    int sxl = sx0 + TC - 1;
    __mmask16 kf = (sx0 >= 0 && sx0 < w) ? 0xFFFF : 0, kl = (sxl >= 0 && sxl < w) ? 0xFFFF : 0, k[2][3];
    for (int r = 0; r < TR; r++) k[r][0] = kr[r] & kf, k[r][1] = kr[r], k[r][2] = kr[r] & kl;
    size_t at_f = (size_t)clamp_col(sx0, w) * LANES, at_l = (size_t)clamp_col(sxl, w) * LANES;
    for (int c0 = 0; c0 < cin; c0 += LANES) {
        int cl = cin - c0 < LANES ? cin - c0 : LANES;
        size_t off = (size_t)(c0 / LANES) * plane;
        const float *wc = wk + (size_t)c0 * LANES;
        if (c0 + LANES < cin) /* the next block's pixels into L1: +20-30% for 1x1 layers, whose input does not stay */
            for (int r = 0; r < TR; r++)
                for (int t = 0; t < TC; t++)
                    _mm_prefetch((const char *)(rows[r] + pixel_at(t, TC, sx0, at_f, at_l) + off + plane), _MM_HINT_T0);
        for (int c = 0; c < cl; c++) {
            __m512 wv[4];
            for (int q = 0; q < M; q++) wv[q] = _mm512_loadu_ps(wc + q * wstride + (size_t)c * LANES);
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

/* Store a finished tile: bias, ReLU, then the 2x2 max if pool; lanes past cout are written as 0. */
INLINE AVX512 void store_avx512(const conv_job *j, __m512 *acc, int b, int ob0, int y0, int x0, int TR, int TC, int M)
{
    for (int q = 0; q < M; q++) {
        int ob = ob0 + q, live = j->cout - ob * LANES;
        __mmask16 lm = live >= LANES ? 0xFFFF : (__mmask16)((1u << live) - 1u);
        __m512 bias = _mm512_maskz_loadu_ps(lm, j->bias + ob * LANES), zero = _mm512_setzero_ps();
        float *plane = j->out + ((size_t)b * blocks(j->cout) + ob) * j->oh * j->ow * LANES; /* (oh, ow, 16) */
        for (int i = 0; i < TR * TC; i++) acc[i * M + q] = _mm512_max_ps(zero, _mm512_add_ps(acc[i * M + q], bias));
        if (TR == 2) {
            for (int t = 0; t < TC / 2; t++) {
                __m512 top = max_nan16(acc[2 * t * M + q], acc[(2 * t + 1) * M + q]);
                __m512 bot = max_nan16(acc[(TC + 2 * t) * M + q], acc[(TC + 2 * t + 1) * M + q]);
                size_t at = (size_t)(y0 / 2) * j->ow + x0 / 2 + t;
                _mm512_storeu_ps(plane + at * LANES, _mm512_maskz_mov_ps(lm, max_nan16(top, bot)));
            }
        } else {
            for (int t = 0; t < TC; t++)
                _mm512_storeu_ps(plane + ((size_t)y0 * j->ow + x0 + t) * LANES,
                                 _mm512_maskz_mov_ps(lm, acc[t * M + q]));
        }
    }
}

/* One tile of TR conv rows x TC columns x M blocks, kernel K x K; the constants make the tile live in registers. */
INLINE AVX512 void tile_body(const conv_job *j, int b, int ob0, int y0, int x0, int K, int TR, int TC, int M)
{
    __m512 acc[TILE_MAX];
    for (int i = 0; i < TR * TC * M; i++) acc[i] = _mm512_setzero_ps();
    size_t plane = (size_t)j->h * j->w * LANES, wstride = (size_t)K * K * j->cin * LANES;
    const float *x = j->in + (size_t)b * blocks(j->cin) * plane;
    for (int ky = 0; ky < K; ky++) {
        const float *rows[2];
        __mmask16 kr[2];
        int any = 0;
        for (int r = 0; r < TR; r++) {
            int sy = y0 + r + ky - K / 2, inside = sy >= 0 && sy < j->h;
            rows[r] = x + (size_t)(inside ? sy : 0) * j->w * LANES, kr[r] = inside ? 0xFFFF : 0, any |= inside;
        }
        if (!any) continue;
        for (int kx = 0; kx < K; kx++) {
            int sx0 = x0 + kx - K / 2;
            if (sx0 + TC - 1 < 0 || sx0 >= j->w) continue; /* the whole tile is in the padding (tiny maps) */
            const float *wk = j->wpack + ob0 * wstride + (size_t)(ky * K + kx) * j->cin * LANES;
            position_avx512(acc, rows, kr, wk, wstride, plane, j->cin, j->w, sx0, TR, TC, M);
        }
    }
    store_avx512(j, acc, b, ob0, y0, x0, TR, TC, M);
}

/* Every tile shape the widths tables name, for K = 1 and 3. */
#define TILES(X, K)                                                                                      \
    X(K, 1, 6, 4) X(K, 1, 4, 4) X(K, 1, 2, 4) X(K, 1, 1, 4) X(K, 1, 12, 2) X(K, 1, 4, 2) X(K, 1, 2, 2)  \
    X(K, 1, 1, 2) X(K, 1, 16, 1) X(K, 1, 4, 1) X(K, 1, 2, 1) X(K, 1, 1, 1) X(K, 2, 2, 4) X(K, 2, 6, 2) \
    X(K, 2, 4, 2) X(K, 2, 2, 2) X(K, 2, 12, 1) X(K, 2, 4, 1) X(K, 2, 2, 1)
#define TILE_NAME(K, TR, TC, M) tile_k##K##_r##TR##_c##TC##_m##M
#define TILE_KEY(K, TR, TC, M) ((((K) * 4 + (TR)) * 32 + (TC)) * 8 + (M))
#define DEFINE_TILE(K, TR, TC, M)                                                                      \
    static AVX512 void TILE_NAME(K, TR, TC, M)(const conv_job *j, int b, int ob0, int y0, int x0)     \
    {                                                                                                  \
        tile_body(j, b, ob0, y0, x0, K, TR, TC, M);                                                    \
    }
#define CASE_TILE(K, TR, TC, M) \
    case TILE_KEY(K, TR, TC, M): TILE_NAME(K, TR, TC, M)(j, b, ob0, y0, x0); return;

TILES(DEFINE_TILE, 1)
TILES(DEFINE_TILE, 3)

static AVX512 void tile_avx512(const conv_job *j, int b, int ob0, int y0, int x0, int tr, int tc, int m)
{
    switch (TILE_KEY(j->k, tr, tc, m)) {
        TILES(CASE_TILE, 1)
        TILES(CASE_TILE, 3)
    default: tile_portable(j, b, ob0, y0, x0, tr, tc, m); /* not reached: the tables only name the shapes above */
    }
}

/* A tile away from the map's border with at most 16 input channels (the first VGG layer): all k * k * cin taps are
 * one flat loop, tap i reading the input at off[i] from the tile's top-left source pixel, so there is no loop
 * overhead per kernel position and both rows of a pooled tile share each weight load. */
INLINE AVX512 void taps_body(const conv_job *j, const int *off, int taps, int b, int ob0, int y0, int x0, int TR,
                             int TC, int M)
{
    __m512 acc[TILE_MAX];
    for (int i = 0; i < TR * TC * M; i++) acc[i] = _mm512_setzero_ps();
    int pad = j->k / 2;
    size_t wstride = (size_t)j->k * j->k * j->cin * LANES, row = (size_t)j->w * LANES;
    const float *wg = j->wpack + ob0 * wstride;
    const float *x = j->in + ((size_t)b * j->h * j->w + (size_t)(y0 - pad) * j->w + (x0 - pad)) * LANES;
    for (int i = 0; i < taps; i++) {
        __m512 wv[4];
        for (int q = 0; q < M; q++) wv[q] = _mm512_loadu_ps(wg + q * wstride + (size_t)i * LANES);
        const float *p = x + off[i];
        for (int r = 0; r < TR; r++)
            for (int t = 0; t < TC; t++) {
                __m512 v = _mm512_set1_ps(p[r * row + (size_t)t * LANES]);
                __m512 *a = &acc[(r * TC + t) * M];
                for (int q = 0; q < M; q++) a[q] = _mm512_fmadd_ps(v, wv[q], a[q]);
            }
    }
    store_avx512(j, acc, b, ob0, y0, x0, TR, TC, M);
}

/* The widest tile of each tables' row, as a taps kernel. */
#define TAPS(X) X(1, 6, 4) X(1, 12, 2) X(1, 16, 1) X(2, 2, 4) X(2, 6, 2) X(2, 12, 1)
#define TAPS_NAME(TR, TC, M) taps_r##TR##_c##TC##_m##M
#define DEFINE_TAPS(TR, TC, M)                                                                                   \
    static AVX512 void TAPS_NAME(TR, TC, M)(const conv_job *j, const int *off, int taps, int b, int ob0, int y0, \
                                            int x0)                                                             \
    {                                                                                                            \
        taps_body(j, off, taps, b, ob0, y0, x0, TR, TC, M);                                                      \
    }
#define CASE_TAPS(TR, TC, M) \
    case TILE_KEY(0, TR, TC, M): TAPS_NAME(TR, TC, M)(j, off, taps, b, ob0, y0, x0); return 1;

TAPS(DEFINE_TAPS)

/* Run the tile as a taps kernel if there is one of its shape; 0 if not. */
static AVX512 int taps_avx512(const conv_job *j, const int *off, int taps, int b, int ob0, int y0, int x0, int tr,
                              int tc, int m)
{
    switch (TILE_KEY(0, tr, tc, m)) {
        TAPS(CASE_TAPS)
    default: return 0;
    }
}

enum { TAPS_MAX = 9 * LANES }; /* k * k * cin for k <= 3, cin <= 16 */

/* Offsets of the taps (ky, kx, ci) in the input from a tile's top-left source pixel, in packed weight order. */
static int taps_of(int *off, const conv_job *j)
{
    int taps = 0;
    for (int ky = 0; ky < j->k; ky++)
        for (int kx = 0; kx < j->k; kx++)
            for (int ci = 0; ci < j->cin; ci++) off[taps++] = (ky * j->w + kx) * LANES + ci;
    return taps;
}

/* A tile whose every source pixel is inside the map. */
static int interior(const conv_job *j, int y0, int x0, int tr, int tc)
{
    int pad = j->k / 2;
    return y0 - pad >= 0 && y0 + tr - 1 + pad < j->h && x0 - pad >= 0 && x0 + tc - 1 + pad < j->w;
}

/* One piece: tr conv rows from y0, all columns, channel blocks [ob0, ob0 + m) of image b. */
static AVX512 void row_avx512(const conv_job *j, int b, int ob0, int m, int y0, int tr)
{
    int off[TAPS_MAX], taps = j->cin <= LANES ? taps_of(off, j) : 0, x0 = 0, cw = conv_columns(j);
    for (const int *tc = tile_widths(tr, m); *tc; tc++)
        for (; x0 + *tc <= cw; x0 += *tc)
            if (!(taps && interior(j, y0, x0, tr, *tc) && taps_avx512(j, off, taps, b, ob0, y0, x0, tr, *tc, m)))
                tile_avx512(j, b, ob0, y0, x0, tr, *tc, m);
}

void vggc_conv_direct_avx512(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                             const float *in,    /* blocked (n, cin, h, w) */
                             const float *wpack, /* (cpad(cout) / 16, k, k, cin, 16) */
                             const float *bias,  /* (cout) */
                             int n, int cin, int h, int w, int cout, int k, int pool)
{
    conv_job j = make_job(out, in, wpack, bias, cin, h, w, cout, k, pool);
    int pieces = n * group_count(blocks(cout), j.widest) * j.oh;
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < pieces; p++) {
        int b, ob0, m, y0;
        piece_of(&j, p, &b, &ob0, &m, &y0);
        row_avx512(&j, b, ob0, m, y0, pool ? 2 : 1);
    }
}
#else
/* No AVX-512 kernel in this build: vggc_cpu_avx512() is 0, and this name only keeps the link whole. */
void vggc_conv_direct_avx512(float *out, const float *in, const float *wpack, const float *bias,
                             int n, int cin, int h, int w, int cout, int k, int pool)
{
    vggc_conv_direct_portable(out, in, wpack, bias, n, cin, h, w, cout, k, pool);
}
#endif

void vggc_conv_direct(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                      const float *in,    /* blocked (n, cin, h, w) */
                      const float *wpack, /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                      const float *bias,  /* (cout) */
                      int n, int cin, int h, int w, int cout, int k, int pool)
{
    if (vggc_cpu_avx512()) vggc_conv_direct_avx512(out, in, wpack, bias, n, cin, h, w, cout, k, pool);
    else vggc_conv_direct_portable(out, in, wpack, bias, n, cin, h, w, cout, k, pool);
}
