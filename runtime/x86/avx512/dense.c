/* x86/avx512/dense.c — the AVX-512 row's fully connected chunk (platform.h, dense_job.h), compiled with -mavx512f
 * -mfma.
 *
 * One image: the rows 8 at a time into a partial of the whole piece in L1 (16 outputs at a time: the partial
 * loaded, one FMA per row in order, stored), each row read from memory as one contiguous stream while the next
 * rows are prefetched one line per line read. A batch: register tiles of 48 outputs x up to 8 images, one FMA
 * per row in order into each, a chunk's rows read three lines at a time from cache, 32 rows at a time
 * (DENSE_WALK), where the tiles of the previous 32 prefetched them row by row. The last width % 16 outputs are
 * masked. */
#include "../../dense_job.h"

#include <immintrin.h>

enum {
    TILE_VECTORS = 3, /* a batch tile: 3 x 8 accumulators, 3 weight vectors and an input */
    TILE_IMAGES = 8
};

#define INLINE static inline __attribute__((always_inline))

/* The first n of 16 lanes (n >= 16: all; n <= 0: none). */
INLINE __mmask16 first_lanes(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* p[o] = fma(x[r], w[r][o], p[o]) for r < rows in order, o < width; next[r]'s lines prefetched. */
INLINE void sweep(float *p, const float *const *w, const float *x, const float *const *next, int rows, int width)
{
    __m512 xv[8]; /* up to 8 rows a sweep */
    for (int r = 0; r < rows; r++) xv[r] = _mm512_set1_ps(x[r]);
    int o = 0;
    for (; o + 16 <= width; o += 16) {
        for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(next[r] + o), _MM_HINT_T0);
        __m512 a = _mm512_loadu_ps(p + o);
        for (int r = 0; r < rows; r++) a = _mm512_fmadd_ps(xv[r], _mm512_loadu_ps(w[r] + o), a);
        _mm512_storeu_ps(p + o, a);
    }
    if (o < width) {
        __mmask16 m = first_lanes(width - o);
        __m512 a = _mm512_maskz_loadu_ps(m, p + o);
        for (int r = 0; r < rows; r++) a = _mm512_fmadd_ps(xv[r], _mm512_maskz_loadu_ps(m, w[r] + o), a);
        _mm512_mask_storeu_ps(p + o, m, a);
    }
}

/* Outputs [o, o + 48) of images [b0, b0 + images) of n (3 vectors x images accumulators in registers): the
 * chunk's rows [r0, r1) into them in order, the sums so far from part (zero at r0 = 0), then into part, or, after
 * the chunk's last row, into the totals; the lanes past width masked. */
INLINE void tile(float *total, float *part, const float *const *rows, const float *x, int r0, int r1, int count, int n,
                 int width, int o, int b0, int images, dense_prefetcher *pf)
{
    __m512 acc[TILE_IMAGES][TILE_VECTORS], w[TILE_VECTORS];
    __mmask16 m[TILE_VECTORS];
    for (int v = 0; v < TILE_VECTORS; v++) m[v] = first_lanes(width - o - 16 * v);
    for (int b = 0; b < images; b++)
        for (int v = 0; v < TILE_VECTORS; v++)
            acc[b][v] = r0 == 0 ? _mm512_setzero_ps()
                                : _mm512_maskz_loadu_ps(m[v], part + (size_t)(b0 + b) * width + o + 16 * v);
    for (int r = r0; r < r1; r++) {
        dense_prefetch_next(pf);
        const float *wr = rows[r] + o, *xr = x + r * n + b0;
        for (int v = 0; v < TILE_VECTORS; v++) w[v] = _mm512_maskz_loadu_ps(m[v], wr + 16 * v);
        for (int b = 0; b < images; b++) {
            __m512 xb = _mm512_set1_ps(xr[b]);
            for (int v = 0; v < TILE_VECTORS; v++) acc[b][v] = _mm512_fmadd_ps(xb, w[v], acc[b][v]);
        }
    }
    for (int b = 0; b < images; b++)
        for (int v = 0; v < TILE_VECTORS; v++) {
            float *t = (r1 == count ? total : part) + (size_t)(b0 + b) * width + o + 16 * v;
            __m512 sum = r1 == count ? _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], t), acc[b][v]) : acc[b][v];
            _mm512_mask_storeu_ps(t, m[v], sum);
        }
}

#define TILE_CASE(k) \
    case k: tile(total, part, rows, x, r0, r1, count, n, width, o, b0, k, &pf); break;

/* Tiles of 48 outputs x an even share of the images, at most TILE_IMAGES, walking DENSE_WALK rows at a time (the
 * sums carried in part between walks, so every output's FMAs run in row order as in one walk) while prefetching
 * the next DENSE_WALK rows (this chunk's or the next chunk's). Walking all 128 rows of a chunk while prefetching
 * the next chunk's kept 1 MiB of rows in flight, a Zen 5's whole L2 (a Zen 3's twice over): VGG11's fc6 at batch 8
 * (bench/fc.c, inputs as after a ReLU, alternated, 3 rounds) 10.6-12.7 -> 8.7-9.1 ms on the AVX-512 row, the AVX2
 * row unchanged (12.9-13.4 ms both; walking alone, prefetching whole chunks, changed neither). */
static void batch(float *total, const float *const *rows, const float *x, int count, int ahead, int n, int width)
{
    float part[VGGC_DENSE_GROUP * VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (n, width) */
    int tiles = (n + TILE_IMAGES - 1) / TILE_IMAGES, per = (n + tiles - 1) / tiles;
    int oblocks = (width + 16 * TILE_VECTORS - 1) / (16 * TILE_VECTORS);
    for (int r0 = 0, r1; r0 < count; r0 = r1) {
        dense_prefetcher pf = dense_walk(rows, r0, &r1, count, ahead, width, oblocks, tiles);
        for (int o = 0; o < width; o += 16 * TILE_VECTORS)
            for (int b0 = 0; b0 < n; b0 += per)
                switch (n - b0 < per ? n - b0 : per) { /* a constant count: the tile in registers */
                    TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) TILE_CASE(7)
                    default: TILE_CASE(8)
                }
    }
}

void vggc_dense_chunk_avx512(float *total,             /* (n, width) */
                             const float *const *rows, /* count + ahead + DENSE_AHEAD pointers, each (width) */
                             const float *x,           /* (count, n) */
                             int count, int ahead, int n, int width)
{
    if (n == 1) DENSE_ONE_IMAGE(sweep, total, rows, x, count, width);
    else batch(total, rows, x, count, ahead, n, width);
}
