/* winograd_plan.h — internal: what every instruction set's Winograd files share (platform.h): the shape of one
 * call and its pass of tiles, the layouts, and the input and output transforms, written once here and compiled by
 * each row's winograd.c for its own instruction set. winograd.c plans the passes and runs the threads.
 *
 * With alpha = m + 2, the map is cut into m x m output tiles, each reading an alpha x alpha input patch (the pad
 * and the ragged right/bottom edges read as zero). Three stages per pass over a range of tiles:
 *   input   V[xi][tile][cin]  = (B^T d B)[xi], 16 channels at a time (one blocked pixel is one 16-lane vector);
 *   GEMM    M[xi][tile][cout] = V[xi] . U[xi], for each of the alpha^2 transform points xi;
 *   output  out = A^T M A + bias, ReLU, and the 2x2 max pool when asked, written straight to the blocked output.
 * Matrices B, G, A are Lavin & Gray's (points 0, +-1, +-2, inf for m = 4; 0, +-1, +-2, +-1/2, inf for m = 6, the
 * matrices of NNPACK and wincnn; for m = 5 the same construction on 0, +-1, +-2, 1/2, inf, for m = 3 on 0, +-1, 1/2,
 * inf, with the rows of B^T that have halves doubled and G's halved to match).
 *
 * Layouts, chosen for the GEMM micro-kernels (blocks of ROWS tiles x PANEL output channels):
 *   U (weights): [xi][panel][cinp][width], panel p holds output channels [P p, P p + width), width P or 16 (the
 *     last), where P is the kernel row's wino_panel: 32 for AVX-512 (two zmm per row), 16 for AVX2 and generic, so
 *     that a micro-kernel reads its panel as one contiguous stream;
 *   V (a pass of T tiles): [xi][T tiles in row blocks of at most ROWS][cinp / 16][rows][16] (wino_block_start),
 *     so a block's 16-channel slice is one contiguous rows x 16 piece the kernels broadcast from;
 *   M (a pass): [xi][T][coutp], row-major.
 */
#ifndef VGGC_WINOGRAD_PLAN_H
#define VGGC_WINOGRAD_PLAN_H

#include "pieces.h"
#include "platform.h"
#include "vggc.h"

#include <string.h>

#define WINO_INLINE static inline __attribute__((always_inline))

enum {
    WINO_LANES = 16,      /* channels per blocked vector */
    WINO_ALPHA_MAX = 8,   /* transform size for m = 6 */
    WINO_ROWS = 12,       /* tiles per GEMM block (the AVX-512 micro-kernel's height; AVX2 runs it as 2 x 6) */
    WINO_PANEL = 32,      /* output channels per GEMM block, at most */
    WINO_TILE_GROUP = 32, /* tiles per piece of work in the transforms */
};

/* The shape of one call, and the pass of tiles being worked on. */
struct vggc_wino_plan {
    int n, cin, h, w, cout, m, pool;
    int alpha, tiles_y, tiles_x, tiles;
    int cinb, coutb, cinp, coutp; /* 16-channel blocks and padded channel counts */
    int oh, ow;                   /* output map: h x w, or h / 2 x w / 2 with the pool */
    int pass_tiles, gemm_blocks;  /* tiles per pass (a multiple of WINO_ROWS), row blocks per GEMM piece */
    int panel;                    /* output channels per panel of U: the kernel row's wino_panel (32 or 16) */
    int relu;                     /* the epilogue (vggc_epilogue): ReLU last, */
    const float *residual;        /* a blocked (n, cout, oh, ow) added before it, or NULL, */
    int out_blocks;               /* and the 16-channel blocks per image of the tensor out points into */
    int streams;                  /* a GEMM piece covers all rows: it reads its weights once, the next piece's
                                     weights are prefetched while it runs, and threads take runs of pieces */
    size_t v_xi, m_xi;            /* floats from one transform point's V (M) to the next's */
    int v_spills;                 /* a pass's V is larger than L2: the input transform gathers each row block's V
                                     before writing it (wino_input_group) */
    int t0, count;                /* this pass: tiles [t0, t0 + count), */
    int halves, half_rows, longer; /* its row blocks' halves (wino_cut_rows): half_rows rows, the first longer +1 */
    float *v, *mm;                /* this pass's V and M (see the top comment) */
};

/* The transforms work on 16 channels (one blocked pixel) as pieces of the register width (pieces.h). */
#define WINO_PIECE VGGC_PIECE
typedef vggc_piece wino_piece;
typedef vggc_piece_mask wino_mask;
#define WINO_LOAD(v, p) VGGC_PIECE_LOAD(v, p)
#define WINO_STORE(p, v) VGGC_PIECE_STORE(p, v)

/* ---- row blocks of a pass ----------------------------------------------------------------------------- */

/* A pass's count tiles are cut into halves of at most WINO_ROWS / 2 rows, as few as can be and of as even a size as
 * can be (the first count % halves one row longer), and a row block is two halves (the last may be one): 25 tiles
 * (512 -> 512 at 14x14 under F(3x3)) as blocks of 10, 10 and 5 rows, not 12, 12 and 1. On the AVX2 row, which runs
 * a block as a kernel of 6 x 16 per half, one row left a kernel two accumulators, each FMA waiting on the last, and
 * a GEMM of 25 rows took 15 % longer than one of 24; kernels of 4 rows ran at 85 % of those of 5 and 6
 * (runtime/KERNELS.md). A full pass of a fused layer (a multiple of WINO_ROWS) is cut into blocks of WINO_ROWS.
 * Rows never change a bit: each output sums its input channels in order in one accumulator, whatever its block.
 * Here: a pass's halves from its count (start_pass, winograd.c). */
WINO_INLINE void wino_cut_rows(vggc_wino_plan *p)
{
    int half = WINO_ROWS / 2;
    p->halves = (p->count + half - 1) / half;
    p->half_rows = p->count / p->halves;
    p->longer = p->count % p->halves;
}

WINO_INLINE int wino_blocks(const vggc_wino_plan *p) { return (p->halves + 1) / 2; }

/* The first local tile of row block rb (rb = wino_blocks: the pass's count). */
WINO_INLINE int wino_block_start(const vggc_wino_plan *p, int rb)
{
    int i = 2 * rb < p->halves ? 2 * rb : p->halves; /* its first half */
    return i * p->half_rows + (i < p->longer ? i : p->longer);
}

/* The row block that holds local tile lt. */
WINO_INLINE int wino_block_of(const vggc_wino_plan *p, int lt)
{
    int cut = p->longer * (p->half_rows + 1);
    return (lt < cut ? lt / (p->half_rows + 1) : p->longer + (lt - cut) / p->half_rows) / 2;
}

/* ---- input transform: V = B^T d B ---------------------------------------------------------------------- */

/* o[k * os] = (B^T d)[k] for k < alpha, each 16 lanes, d[k * ds]. */
WINO_INLINE void wino_bt_1d(float *o, size_t os, const float *d, size_t ds, int m)
{
    for (int l = 0; l < WINO_LANES; l += WINO_PIECE, o += WINO_PIECE, d += WINO_PIECE) {
        if (m == 2) {
            wino_piece d0, d1, d2, d3;
            WINO_LOAD(d0, d), WINO_LOAD(d1, d + ds), WINO_LOAD(d2, d + 2 * ds), WINO_LOAD(d3, d + 3 * ds);
            wino_piece r0 = d0 - d2, r1 = d1 + d2, r2 = d2 - d1, r3 = d1 - d3;
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
            continue;
        }
        if (m == 3) { /* points 0, 1, -1, 1/2, infinity; rows 0, 1, 2 and 4 doubled (G3 halves them) */
            wino_piece d0, d1, d2, d3, d4;
            WINO_LOAD(d0, d), WINO_LOAD(d1, d + ds), WINO_LOAD(d2, d + 2 * ds), WINO_LOAD(d3, d + 3 * ds);
            WINO_LOAD(d4, d + 4 * ds);
            wino_piece r0 = d0 - d2 + 2.0f * (d3 - d1), r1 = d2 - d1 + 2.0f * d3, r2 = d1 - 3.0f * d2 + 2.0f * d3;
            wino_piece r3 = d3 - d1, r4 = d1 - d3 + 2.0f * (d4 - d2);
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
            WINO_STORE(o + 4 * os, r4);
            continue;
        }
        if (m == 6) {
            wino_piece d0, d1, d2, d3, d4, d5, d6, d7;
            WINO_LOAD(d0, d), WINO_LOAD(d1, d + ds), WINO_LOAD(d2, d + 2 * ds), WINO_LOAD(d3, d + 3 * ds);
            WINO_LOAD(d4, d + 4 * ds), WINO_LOAD(d5, d + 5 * ds), WINO_LOAD(d6, d + 6 * ds), WINO_LOAD(d7, d + 7 * ds);
            wino_piece r0 = d0 - d6 + 5.25f * (d4 - d2), r7 = d7 - d1 + 5.25f * (d3 - d5);
            wino_piece e1 = d2 + d6 - 4.25f * d4, o1 = d1 + d5 - 4.25f * d3;          /* points +-1 */
            wino_piece e2 = d6 + 0.25f * d2 - 1.25f * d4, o2 = 0.5f * d1 - 2.5f * d3 + 2.0f * d5; /* +-1/2 */
            wino_piece e3 = d6 + 4.0f * d2 - 5.0f * d4, o3 = 2.0f * d1 - 2.5f * d3 + 0.5f * d5;   /* +-2 */
            wino_piece r1 = e1 + o1, r2 = e1 - o1, r3 = e2 + o2, r4 = e2 - o2, r5 = e3 + o3, r6 = e3 - o3;
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
            WINO_STORE(o + 4 * os, r4), WINO_STORE(o + 5 * os, r5), WINO_STORE(o + 6 * os, r6);
            WINO_STORE(o + 7 * os, r7);
            continue;
        }
        if (m == 5) {
            wino_piece d0, d1, d2, d3, d4, d5, d6;
            WINO_LOAD(d0, d), WINO_LOAD(d1, d + ds), WINO_LOAD(d2, d + 2 * ds), WINO_LOAD(d3, d + 3 * ds);
            WINO_LOAD(d4, d + 4 * ds), WINO_LOAD(d5, d + 5 * ds), WINO_LOAD(d6, d + 6 * ds);
            wino_piece r0 = d5 - 2.0f * d0 + 4.0f * d1 + 2.5f * d2 - 5.0f * d3 - 0.5f * d4;   /* point 0 */
            wino_piece r1 = d5 + 2.0f * (d1 - d2) - 4.5f * d3 + 0.5f * d4;                     /* 1 */
            wino_piece r2 = d5 - 2.0f * d1 + 6.0f * d2 - 3.5f * d3 - 1.5f * d4;                /* -1 */
            wino_piece r3 = d5 + d1 - 1.5f * d2 - 2.0f * d3 + 1.5f * d4;                       /* 2 */
            wino_piece r4 = d5 - d1 + 2.5f * (d2 - d4);                                        /* -2 */
            wino_piece r5 = d5 + 4.0f * d1 - 5.0f * d3;                                        /* 1/2 */
            wino_piece r6 = d6 - 2.0f * d1 + 4.0f * d2 + 2.5f * d3 - 5.0f * d4 - 0.5f * d5;   /* infinity */
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
            WINO_STORE(o + 4 * os, r4), WINO_STORE(o + 5 * os, r5), WINO_STORE(o + 6 * os, r6);
            continue;
        }
        wino_piece d0, d1, d2, d3, d4, d5;
        WINO_LOAD(d0, d), WINO_LOAD(d1, d + ds), WINO_LOAD(d2, d + 2 * ds), WINO_LOAD(d3, d + 3 * ds);
        WINO_LOAD(d4, d + 4 * ds), WINO_LOAD(d5, d + 5 * ds);
        wino_piece r0 = 4.0f * d0 - 5.0f * d2 + d4;
        wino_piece r1 = d3 + d4 - 4.0f * (d1 + d2);
        wino_piece r2 = 4.0f * (d1 - d2) + d4 - d3;
        wino_piece r3 = 2.0f * (d3 - d1) + d4 - d2;
        wino_piece r4 = 2.0f * (d1 - d3) + d4 - d2;
        wino_piece r5 = 4.0f * d1 - 5.0f * d3 + d5;
        WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
        WINO_STORE(o + 4 * os, r4), WINO_STORE(o + 5 * os, r5);
    }
}

/* The alpha x alpha patch of a tile at (y0, x0) (may start at -1 and run past the map: zeros there). The part
 * inside the map is a rectangle: its pixels are copied, the rest is zero, piece by piece in registers. (A memset of
 * the whole 8 x 8 array and a memcpy per row compiled to rep stos / rep movs, which held half of the input
 * transform's samples on 512 -> 512 at 14x14, where 12 of the 16 tiles reach into the padding; in registers the
 * function's share of the layer fell by a third, perf on the AVX2 row of a Zen 5.) */
WINO_INLINE void wino_load_patch(float d[WINO_ALPHA_MAX][WINO_ALPHA_MAX][WINO_LANES], const float *plane /* (h, w, 16) */,
                                 int h, int w, int y0, int x0, int alpha)
{
    int i0 = y0 < 0 ? -y0 : 0, i1 = h - y0 < alpha ? h - y0 : alpha;
    int j0 = x0 < 0 ? -x0 : 0, j1 = w - x0 < alpha ? w - x0 : alpha;
    const wino_piece zero = {0};
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++) {
            int inside = i >= i0 && i < i1 && j >= j0 && j < j1; /* only then is the pixel's address formed */
            const float *px = inside ? plane + ((size_t)(y0 + i) * w + (size_t)(x0 + j)) * WINO_LANES : NULL;
            for (int l = 0; l < WINO_LANES; l += WINO_PIECE) {
                wino_piece v = zero;
                if (px) WINO_LOAD(v, px + l);
                WINO_STORE(d[i][j] + l, v);
            }
        }
}

/* Prefetch the pixels [y0, y1) x [x0, x1) of a plane, clipped to it (no address outside it is formed): what the
 * next tile to the right reads or writes, fetched while this one is transformed. The input transform waited on
 * its patch's new columns (from L3 or memory: a 224 x 224 x 64 map is 12.8 MB) and the output transform on its
 * stores; prefetching one tile ahead took 64 -> 64 at 224x224, F(6x6), batch 1, one core of a Zen 5 (AVX2 row,
 * bench/wino_cold.c, alternated) from input 2.23 to 1.65 CPU ms and output 3.51 to 3.28; whole models (alternated
 * A/B): VGG11 batch 1 -2.6 %, batch 8 -4.3 % (AVX2 row), VGG16 batch 1 -1.1 % (AVX2), -3.7 % (AVX-512). Two
 * tiles ahead: no better. */
WINO_INLINE void wino_prefetch_box(const float *plane /* (h, w, 16) */, int h, int w, int y0, int y1, int x0, int x1,
                                   int for_write)
{
    y0 = y0 > 0 ? y0 : 0, y1 = y1 < h ? y1 : h;
    x0 = x0 > 0 ? x0 : 0, x1 = x1 < w ? x1 : w;
    for (int i = y0; i < y1; i++)
        for (int j = x0; j < x1; j++) {
            const float *px = plane + ((size_t)i * w + j) * WINO_LANES;
            if (for_write) __builtin_prefetch(px, 1, 3);
            else __builtin_prefetch(px, 0, 3);
        }
}

/* The input transform of local tile lt of the pass and channel block cb, each transform point xi written at
 * dst + xi * xi_stride. */
WINO_INLINE void wino_input_tile(const vggc_wino_plan *p, const float *in, int lt, int cb, float *dst, size_t xi_stride,
                                 int m)
{
    int alpha = m + 2, per_image = p->tiles_y * p->tiles_x;
    int tile = p->t0 + lt, b = tile / per_image, ty = tile % per_image / p->tiles_x, tx = tile % p->tiles_x;
    int y0 = ty * m - 1, x0 = tx * m - 1;
    size_t row = (size_t)p->w * WINO_LANES;
    const float *plane = in + (size_t)(b * p->cinb + cb) * p->h * p->w * WINO_LANES;
    float d[WINO_ALPHA_MAX][WINO_ALPHA_MAX][WINO_LANES], t[WINO_ALPHA_MAX][WINO_ALPHA_MAX][WINO_LANES];
    wino_prefetch_box(plane, p->h, p->w, y0, y0 + alpha, x0 + alpha, x0 + alpha + m, 0); /* the next tile's columns */
    if (y0 >= 0 && x0 >= 0 && y0 + alpha <= p->h && x0 + alpha <= p->w) { /* inside: read in place */
        const float *patch = plane + ((size_t)y0 * p->w + x0) * WINO_LANES;
        for (int j = 0; j < alpha; j++)
            wino_bt_1d(t[0][j], WINO_ALPHA_MAX * WINO_LANES, patch + j * WINO_LANES, row, m);
    } else {
        wino_load_patch(d, plane, p->h, p->w, y0, x0, alpha);
        for (int j = 0; j < alpha; j++)
            wino_bt_1d(t[0][j], WINO_ALPHA_MAX * WINO_LANES, d[0][j], WINO_ALPHA_MAX * WINO_LANES, m);
    }
    for (int i = 0; i < alpha; i++) wino_bt_1d(dst + i * alpha * xi_stride, xi_stride, t[i][0], WINO_LANES, m);
}

/* V for local tiles [lt0, lt1) of the pass and channel block cb. Tile by tile, each tile writes one line to each of
 * the alpha^2 transform points' V, which lie far apart: fine while the pass's V stays in L2 (fused passes), but
 * when it does not (v_spills: a layer staged in one pass), those scattered writes ran at a third of the speed
 * (F(6x6), 256 -> 256 at 56x56: 1.8 ms). Then the tiles of one GEMM row block are transformed into buf, and each
 * transform point's rows x 16 floats go to V as one contiguous copy (0.8 ms). */
WINO_INLINE void wino_input_group(const vggc_wino_plan *p, const float *in, int lt0, int lt1, int cb, int m)
{
    int alpha = m + 2;
    float buf[WINO_ALPHA_MAX * WINO_ALPHA_MAX][WINO_ROWS][WINO_LANES]; /* [xi][tile of the row block][16] */
    for (int rb = wino_block_of(p, lt0), start = wino_block_start(p, rb), end; start < lt1; rb++, start = end) {
        end = wino_block_start(p, rb + 1);
        int s0 = start > lt0 ? start : lt0, s1 = end < lt1 ? end : lt1, rows = end - start;
        float *dst = p->v + (size_t)start * p->cinp + (size_t)(cb * rows + s0 - start) * WINO_LANES; /* s0's */
        if (!p->v_spills) {
            for (int lt = s0; lt < s1; lt++) wino_input_tile(p, in, lt, cb, dst + (lt - s0) * WINO_LANES, p->v_xi, m);
            continue;
        }
        for (int lt = s0; lt < s1; lt++) wino_input_tile(p, in, lt, cb, buf[0][lt - s0], WINO_ROWS * WINO_LANES, m);
        size_t count = (size_t)(s1 - s0) * WINO_LANES; /* floats; a memcpy of this was a libc call per point */
        for (int xi = 0; xi < alpha * alpha; xi++)
            for (size_t f = 0; f < count; f += WINO_PIECE) {
                wino_piece v;
                WINO_LOAD(v, buf[xi][0] + f);
                WINO_STORE(dst + xi * p->v_xi + f, v);
            }
    }
}

/* ---- output transform: A^T M A + bias, ReLU, pool ------------------------------------------------------ */

/* o[k * os] = (A^T s)[k] for k < m, each 16 lanes, s[k * ss]. */
WINO_INLINE void wino_at_1d(float *o, size_t os, const float *s, size_t ss, int m)
{
    for (int l = 0; l < WINO_LANES; l += WINO_PIECE, o += WINO_PIECE, s += WINO_PIECE) {
        if (m == 2) {
            wino_piece s0, s1, s2, s3;
            WINO_LOAD(s0, s), WINO_LOAD(s1, s + ss), WINO_LOAD(s2, s + 2 * ss), WINO_LOAD(s3, s + 3 * ss);
            wino_piece r0 = s0 + s1 + s2, r1 = s1 - s2 - s3;
            WINO_STORE(o, r0), WINO_STORE(o + os, r1);
            continue;
        }
        if (m == 3) {
            wino_piece s0, s1, s2, s3, s4;
            WINO_LOAD(s0, s), WINO_LOAD(s1, s + ss), WINO_LOAD(s2, s + 2 * ss), WINO_LOAD(s3, s + 3 * ss);
            WINO_LOAD(s4, s + 4 * ss);
            wino_piece r0 = s0 + s1 + s2 + s3, r1 = s1 - s2 + 0.5f * s3, r2 = s1 + s2 + 0.25f * s3 + s4;
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2);
            continue;
        }
        if (m == 6) {
            wino_piece s0, s1, s2, s3, s4, s5, s6, s7;
            WINO_LOAD(s0, s), WINO_LOAD(s1, s + ss), WINO_LOAD(s2, s + 2 * ss), WINO_LOAD(s3, s + 3 * ss);
            WINO_LOAD(s4, s + 4 * ss), WINO_LOAD(s5, s + 5 * ss), WINO_LOAD(s6, s + 6 * ss), WINO_LOAD(s7, s + 7 * ss);
            wino_piece a = s1 + s2, b = s1 - s2, c = s3 + s4, e = s3 - s4, f = s5 + s6, g = s5 - s6;
            wino_piece r0 = s0 + a + c + f, r1 = b + 2.0f * e + 0.5f * g, r2 = a + 4.0f * c + 0.25f * f;
            wino_piece r3 = b + 8.0f * e + 0.125f * g, r4 = a + 16.0f * c + 0.0625f * f;
            wino_piece r5 = b + 32.0f * e + 0.03125f * g + s7;
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
            WINO_STORE(o + 4 * os, r4), WINO_STORE(o + 5 * os, r5);
            continue;
        }
        if (m == 5) {
            wino_piece s0, s1, s2, s3, s4, s5, s6;
            WINO_LOAD(s0, s), WINO_LOAD(s1, s + ss), WINO_LOAD(s2, s + 2 * ss), WINO_LOAD(s3, s + 3 * ss);
            WINO_LOAD(s4, s + 4 * ss), WINO_LOAD(s5, s + 5 * ss), WINO_LOAD(s6, s + 6 * ss);
            wino_piece a = s1 + s2, b = s1 - s2, c = s3 + s4, e = s3 - s4;
            wino_piece r0 = s0 + a + c + s5, r1 = b + 2.0f * e + 0.5f * s5, r2 = a + 4.0f * c + 0.25f * s5;
            wino_piece r3 = b + 8.0f * e + 0.125f * s5, r4 = a + 16.0f * c + 0.0625f * s5 + s6;
            WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
            WINO_STORE(o + 4 * os, r4);
            continue;
        }
        wino_piece s0, s1, s2, s3, s4, s5;
        WINO_LOAD(s0, s), WINO_LOAD(s1, s + ss), WINO_LOAD(s2, s + 2 * ss), WINO_LOAD(s3, s + 3 * ss);
        WINO_LOAD(s4, s + 4 * ss), WINO_LOAD(s5, s + 5 * ss);
        wino_piece a = s1 + s2, b = s1 - s2, c = s3 + s4, e = s3 - s4;
        wino_piece r0 = s0 + a + c, r1 = b + 2.0f * e, r2 = a + 4.0f * c, r3 = b + 8.0f * e + s5;
        WINO_STORE(o, r0), WINO_STORE(o + os, r1), WINO_STORE(o + 2 * os, r2), WINO_STORE(o + 3 * os, r3);
    }
}

/* The larger of a and v lane by lane, 16 lanes; a NaN in v wins, a NaN in a stays (as torch.nn.MaxPool2d). */
WINO_INLINE void wino_max_nan(float *dst, const float *pa, const float *pv)
{
    for (int l = 0; l < WINO_LANES; l += WINO_PIECE) {
        wino_piece a, v;
        WINO_LOAD(a, pa + l), WINO_LOAD(v, pv + l);
        wino_piece r = vggc_piece_max_nan(a, v);
        WINO_STORE(dst + l, r);
    }
}

/* The finished values of one pixel's 16 channels into dst: v + bias, + the residual pixel res (unless NULL), ReLU if
 * relu (it keeps NaN, as torch.relu: x & ~(x < 0) clears only the negative lanes), the lanes past cout cleared. */
WINO_INLINE void wino_finish(float *dst, const float *v, const float *res, const float *bias_l, const int *keep_l,
                             int relu)
{
    for (int l = 0; l < WINO_LANES; l += WINO_PIECE) {
        wino_piece x, bias_v;
        wino_mask keep;
        WINO_LOAD(x, v + l), WINO_LOAD(bias_v, bias_l + l), WINO_LOAD(keep, keep_l + l);
        x += bias_v;
        if (res) {
            wino_piece r;
            WINO_LOAD(r, res + l);
            x += r;
        }
        wino_mask y = relu ? (wino_mask)x & ~(x < 0.0f) & keep : (wino_mask)x & keep;
        WINO_STORE(dst + l, y);
    }
}

/* Output tiles for local tiles [lt0, lt1) of the pass and output channel block cb, finished (wino_finish). Without
 * the pool each pixel inside the map is finished straight into the output (finishing into the tile and copying
 * its rows out with memcpy, a libc call per row, took 6 % of F(6x6) at 64 channels); with it (asked with m even
 * only, so tiles hold whole windows, and never with a residual) the tile is finished whole and its 2x2 maxima are
 * stored (floor mode drops a ragged edge). */
WINO_INLINE void wino_output_group(const vggc_wino_plan *p, float *out, const float *bias, int lt0, int lt1, int cb,
                                   int m)
{
    int alpha = m + 2, per_image = p->tiles_y * p->tiles_x, oh = p->oh, ow = p->ow;
    size_t xi_stride = p->m_xi, plane_floats = (size_t)oh * ow * WINO_LANES;
    float t[WINO_ALPHA_MAX][WINO_ALPHA_MAX][WINO_LANES], o[WINO_ALPHA_MAX][WINO_ALPHA_MAX][WINO_LANES];
    float bias_l[WINO_LANES];
    int keep_l[WINO_LANES];
    for (int l = 0; l < WINO_LANES; l++) {
        int co = cb * WINO_LANES + l;
        bias_l[l] = co < p->cout ? bias[co] : 0.0f;
        keep_l[l] = co < p->cout ? -1 : 0;
    }
    for (int lt = lt0; lt < lt1; lt++) {
        int tile = p->t0 + lt, b = tile / per_image, ty = tile % per_image / p->tiles_x, tx = tile % p->tiles_x;
        const float *src = p->mm + (size_t)lt * p->coutp + (size_t)cb * WINO_LANES;
        if (lt + 1 < lt1) /* the next tile's M, a line in each point's M: from L3 when M outgrows L2 (staged) */
            for (int xi = 0; xi < alpha * alpha; xi++) __builtin_prefetch(src + p->coutp + xi * xi_stride, 0, 3);
        float *plane = out + (size_t)(b * p->out_blocks + cb) * plane_floats; /* (oh, ow, 16) */
        for (int j = 0; j < alpha; j++)
            wino_at_1d(t[0][j], WINO_ALPHA_MAX * WINO_LANES, src + j * xi_stride, alpha * xi_stride, m);
        for (int i = 0; i < m; i++) wino_at_1d(o[i][0], WINO_LANES, t[i][0], WINO_LANES, m);
        if (!p->pool) {
            const float *res = p->residual ? p->residual + (size_t)(b * p->coutb + cb) * plane_floats : NULL;
            int rows = oh - ty * m < m ? oh - ty * m : m, cols = ow - tx * m < m ? ow - tx * m : m;
            wino_prefetch_box(plane, oh, ow, ty * m, ty * m + m, (tx + 1) * m, (tx + 2) * m, 1);
            if (res) wino_prefetch_box(res, oh, ow, ty * m, ty * m + m, (tx + 1) * m, (tx + 2) * m, 0);
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) {
                    size_t at = ((size_t)(ty * m + i) * ow + tx * m + j) * WINO_LANES;
                    wino_finish(plane + at, o[i][j], res ? res + at : NULL, bias_l, keep_l, p->relu);
                }
            continue;
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) wino_finish(o[i][j], o[i][j], NULL, bias_l, keep_l, p->relu);
        int half = m / 2;
        wino_prefetch_box(plane, oh, ow, ty * half, ty * half + half, (tx + 1) * half, (tx + 2) * half, 1);
        for (int i = 0; i < half && ty * half + i < oh; i++)
            for (int j = 0; j < half && tx * half + j < ow; j++) {
                float top[WINO_LANES], bottom[WINO_LANES];
                wino_max_nan(top, o[2 * i][2 * j], o[2 * i][2 * j + 1]);
                wino_max_nan(bottom, o[2 * i + 1][2 * j], o[2 * i + 1][2 * j + 1]);
                wino_max_nan(plane + ((size_t)(ty * half + i) * ow + tx * half + j) * WINO_LANES, top, bottom);
            }
    }
}

/* ---- the pieces of the three stages -------------------------------------------------------------------- */

/* The pieces of the two transforms: groups of WINO_TILE_GROUP tiles of the pass x 16-channel blocks. */
WINO_INLINE int wino_transform_pieces(const vggc_wino_plan *p, int blocks)
{
    return (p->count + WINO_TILE_GROUP - 1) / WINO_TILE_GROUP * blocks;
}

/* One piece of the input transform, with m a constant. */
WINO_INLINE void wino_input_piece(const vggc_wino_plan *p, const float *in, int piece)
{
    int lt0 = piece / p->cinb * WINO_TILE_GROUP, cb = piece % p->cinb;
    int lt1 = lt0 + WINO_TILE_GROUP < p->count ? lt0 + WINO_TILE_GROUP : p->count;
    if (p->m == 2) wino_input_group(p, in, lt0, lt1, cb, 2);
    else if (p->m == 6) wino_input_group(p, in, lt0, lt1, cb, 6);
    else if (p->m == 5) wino_input_group(p, in, lt0, lt1, cb, 5);
    else if (p->m == 3) wino_input_group(p, in, lt0, lt1, cb, 3);
    else wino_input_group(p, in, lt0, lt1, cb, 4);
}

/* One piece of the output transform, with m a constant. */
WINO_INLINE void wino_output_piece(const vggc_wino_plan *p, float *out, const float *bias, int piece)
{
    int lt0 = piece / p->coutb * WINO_TILE_GROUP, cb = piece % p->coutb;
    int lt1 = lt0 + WINO_TILE_GROUP < p->count ? lt0 + WINO_TILE_GROUP : p->count;
    if (p->m == 2) wino_output_group(p, out, bias, lt0, lt1, cb, 2);
    else if (p->m == 6) wino_output_group(p, out, bias, lt0, lt1, cb, 6);
    else if (p->m == 5) wino_output_group(p, out, bias, lt0, lt1, cb, 5);
    else if (p->m == 3) wino_output_group(p, out, bias, lt0, lt1, cb, 3);
    else wino_output_group(p, out, bias, lt0, lt1, cb, 4);
}

/* The pieces of the GEMM stage: transform point x gemm_blocks row blocks x output channel panel. */
typedef struct {
    int xi, rb0, rb1, panel, width;
} wino_gemm_piece;

WINO_INLINE int wino_gemm_pieces(const vggc_wino_plan *p)
{
    int panels = (p->coutp + p->panel - 1) / p->panel, blocks = wino_blocks(p);
    return p->alpha * p->alpha * ((blocks + p->gemm_blocks - 1) / p->gemm_blocks) * panels;
}

WINO_INLINE wino_gemm_piece wino_piece_of(const vggc_wino_plan *p, int piece)
{
    int panels = (p->coutp + p->panel - 1) / p->panel, blocks = wino_blocks(p);
    int chunks = (blocks + p->gemm_blocks - 1) / p->gemm_blocks;
    wino_gemm_piece g;
    g.panel = piece % panels;
    g.rb0 = piece / panels % chunks * p->gemm_blocks;
    g.rb1 = g.rb0 + p->gemm_blocks < blocks ? g.rb0 + p->gemm_blocks : blocks;
    g.xi = piece / panels / chunks;
    g.width = p->coutp - g.panel * p->panel < p->panel ? p->coutp - g.panel * p->panel : p->panel;
    return g;
}

/* A row's GEMM block kernel: c (rows x width, ldc) = a (rows x cinp, laid out [cinp / 16][rows][16]) . b (cinp x
 * width, row-major), rows <= WINO_ROWS, width the row's panel or 16. Unless lines is 0, the block prefetches the
 * lines 64-byte lines from next into L2 while it runs, spread over its work (wino_spread): its share of the next
 * piece's panel. */
typedef void wino_block_fn(float *c, size_t ldc, const float *a, const float *b, const float *next, size_t lines,
                           int cinb, int rows, int width);

/* Lines [0, lines) of a run of steps steps: the ones step `step` issues, [*from, *to). */
WINO_INLINE void wino_spread(size_t lines, int step, int steps, size_t *from, size_t *to)
{
    *from = lines * (size_t)step / (size_t)steps;
    *to = lines * (size_t)(step + 1) / (size_t)steps;
}

/* One piece of the GEMM stage with a row's block kernel (a constant at every call, so it is inlined). When the
 * weights stream (p->streams), the next piece's panel is prefetched while this piece runs, each row block taking
 * the share of its rows: all of the piece's time, not its first block's alone (512 -> 512 at 28x28 has 5 blocks). */
WINO_INLINE void wino_gemm_piece_with(const vggc_wino_plan *p, const float *u, int piece, wino_block_fn *block)
{
    wino_gemm_piece g = wino_piece_of(p, piece);
    const float *b = u + (size_t)g.xi * p->cinp * p->coutp + (size_t)g.panel * p->panel * p->cinp;
    size_t after = (size_t)(b - u) + (size_t)p->cinp * g.width; /* the next piece's panel: prefetched */
    int ahead = p->streams && after < (size_t)p->alpha * p->alpha * p->cinp * p->coutp;
    const float *next = ahead ? u + after : NULL;
    size_t lines = ahead ? (size_t)p->cinp * g.width / WINO_LANES : 0;
    const float *v = p->v + g.xi * p->v_xi;
    float *c = p->mm + g.xi * p->m_xi + (size_t)g.panel * p->panel;
    int first = wino_block_start(p, g.rb0), span = wino_block_start(p, g.rb1) - first;
    for (int rb = g.rb0, start = first, end; rb < g.rb1; rb++, start = end) {
        end = wino_block_start(p, rb + 1);
        int done = start - first, rows = end - start;
        size_t l0 = lines * (size_t)done / (size_t)span, l1 = lines * (size_t)(done + rows) / (size_t)span;
        block(c + (size_t)start * p->coutp, (size_t)p->coutp, v + (size_t)start * p->cinp, b,
              next ? next + l0 * WINO_LANES : NULL, l1 - l0, p->cinb, rows, g.width);
    }
}

/* A row's three entry points (platform.h) from its block kernel: the transforms compiled in the row's file. */
#define WINO_DEFINE_PIECES(isa, block)                                                                         \
    void vggc_wino_input_##isa(const vggc_wino_plan *p, const float *in, int piece)                          \
    {                                                                                                          \
        wino_input_piece(p, in, piece);                                                                        \
    }                                                                                                          \
    void vggc_wino_gemm_##isa(const vggc_wino_plan *p, const float *u, int piece)                            \
    {                                                                                                          \
        wino_gemm_piece_with(p, u, piece, block);                                                              \
    }                                                                                                          \
    void vggc_wino_output_##isa(const vggc_wino_plan *p, float *out, const float *bias, int piece)           \
    {                                                                                                          \
        wino_output_piece(p, out, bias, piece);                                                                \
    }

#endif
