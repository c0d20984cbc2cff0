/* x86/avx2/dense.c — the AVX2 row's fully connected chunk (platform.h, dense_job.h), compiled with -mavx2 -mfma.
 *
 * One image: the rows 8 at a time into a partial of the whole piece in L1 (8 outputs at a time: the partial
 * loaded, one FMA per row in order, stored), each row read from memory as one contiguous stream while the next
 * rows are prefetched one line per line read. A batch: register tiles of 24 outputs x up to 4 images, one FMA per
 * row in order into each, a chunk's rows read one line at a time from cache, 32 rows at a time (DENSE_WALK),
 * where the tiles of the previous 32 prefetched them row by row. The last width % 24 outputs are masked (the same
 * fused multiply-adds on the lanes kept). */
#include "../../dense_job.h"

#include <immintrin.h>

enum {
    TILE_VECTORS = 3, /* a batch tile: 3 x 4 accumulators, 3 weight vectors and an input, 16 registers */
    TILE_IMAGES = 4
};

#define INLINE static inline __attribute__((always_inline))

/* The first n of 8 lanes (n >= 8: all). */
INLINE __m256i first_lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* p[o] = fma(x[r], w[r][o], p[o]) for r < rows in order, o < width; next[r]'s lines prefetched. */
INLINE void sweep(float *p, const float *const *w, const float *x, const float *const *next, int rows, int width)
{
    __m256 xv[8]; /* up to 8 rows a sweep */
    for (int r = 0; r < rows; r++) xv[r] = _mm256_set1_ps(x[r]);
    int o = 0;
    for (; o + 8 <= width; o += 8) {
        if ((o & 15) == 0)
            for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(next[r] + o), _MM_HINT_T0);
        __m256 a = _mm256_loadu_ps(p + o);
        for (int r = 0; r < rows; r++) a = _mm256_fmadd_ps(xv[r], _mm256_loadu_ps(w[r] + o), a);
        _mm256_storeu_ps(p + o, a);
    }
    if (o < width) {
        __m256i m = first_lanes(width - o);
        __m256 a = _mm256_maskload_ps(p + o, m);
        for (int r = 0; r < rows; r++) a = _mm256_fmadd_ps(xv[r], _mm256_maskload_ps(w[r] + o, m), a);
        _mm256_maskstore_ps(p + o, m, a);
    }
}

/* Outputs [o, o + 24) of images [b0, b0 + images) of n (3 vectors x images accumulators in registers): the
 * chunk's rows [r0, r1) into them in order, the sums so far from part (zero at r0 = 0), then into part, or, after
 * the chunk's last row, into the totals. full: all 24 outputs are in the piece, else the lanes past width are
 * masked. */
INLINE void tile(float *total, float *part, const float *const *rows, const float *x, int r0, int r1, int count, int n,
                 int width, int o, int b0, int images, int full, dense_prefetcher *pf)
{
    __m256 acc[TILE_IMAGES][TILE_VECTORS], w[TILE_VECTORS];
    __m256i m[TILE_VECTORS];
    for (int v = 0; v < TILE_VECTORS; v++) m[v] = first_lanes(width - o - 8 * v);
    for (int b = 0; b < images; b++)
        for (int v = 0; v < TILE_VECTORS; v++) {
            const float *s = part + (size_t)(b0 + b) * width + o + 8 * v;
            acc[b][v] = r0 == 0 ? _mm256_setzero_ps() : full ? _mm256_loadu_ps(s) : _mm256_maskload_ps(s, m[v]);
        }
    for (int r = r0; r < r1; r++) {
        dense_prefetch_next(pf);
        const float *wr = rows[r] + o, *xr = x + r * n + b0;
        for (int v = 0; v < TILE_VECTORS; v++)
            w[v] = full ? _mm256_loadu_ps(wr + 8 * v) : _mm256_maskload_ps(wr + 8 * v, m[v]);
        for (int b = 0; b < images; b++) {
            __m256 xb = _mm256_broadcast_ss(xr + b);
            for (int v = 0; v < TILE_VECTORS; v++) acc[b][v] = _mm256_fmadd_ps(xb, w[v], acc[b][v]);
        }
    }
    for (int b = 0; b < images; b++)
        for (int v = 0; v < TILE_VECTORS; v++) {
            float *t = (r1 == count ? total : part) + (size_t)(b0 + b) * width + o + 8 * v;
            __m256 sum = acc[b][v];
            if (r1 == count) sum = _mm256_add_ps(full ? _mm256_loadu_ps(t) : _mm256_maskload_ps(t, m[v]), sum);
            if (full) _mm256_storeu_ps(t, sum);
            else _mm256_maskstore_ps(t, m[v], sum);
        }
}

#define TILE_CASE(k) \
    case k: tile(total, part, rows, x, r0, r1, count, n, width, o, b0, k, full, &pf); break;
#define TILE_CASES \
    switch (images) { /* a constant count: the tile in registers */ \
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) default: TILE_CASE(4) \
    }

/* Tiles of 24 outputs x an even share of the images, at most TILE_IMAGES, walking DENSE_WALK rows at a time (the
 * sums carried in part between walks, so every output's FMAs run in row order as in one walk) while prefetching
 * the next DENSE_WALK rows (this chunk's or the next chunk's). Walking all 128 rows of a chunk while prefetching
 * the next chunk's kept 1 MiB of rows in flight, a Zen 5's whole L2 (a Zen 3's twice over): VGG11's fc6 at batch 8
 * (bench/fc.c, inputs as after a ReLU, alternated, 3 rounds) 10.6-12.7 -> 8.7-9.1 ms on the AVX-512 row, the AVX2
 * row unchanged (12.9-13.4 ms both; walking alone, prefetching whole chunks, changed neither). */
static void batch(float *total, const float *const *rows, const float *x, int count, int ahead, int n, int width)
{
    float part[VGGC_DENSE_GROUP * VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (n, width) */
    int tiles = (n + TILE_IMAGES - 1) / TILE_IMAGES, per = (n + tiles - 1) / tiles;
    int oblocks = (width + 8 * TILE_VECTORS - 1) / (8 * TILE_VECTORS);
    for (int r0 = 0, r1; r0 < count; r0 = r1) {
        dense_prefetcher pf = dense_walk(rows, r0, &r1, count, ahead, width, oblocks, tiles);
        for (int o = 0; o < width; o += 8 * TILE_VECTORS)
            for (int b0 = 0; b0 < n; b0 += per) {
                int images = n - b0 < per ? n - b0 : per;
                if (width - o >= 8 * TILE_VECTORS) {
                    const int full = 1;
                    TILE_CASES
                } else {
                    const int full = 0;
                    TILE_CASES
                }
            }
    }
}

void vggc_dense_chunk_avx2(float *total,             /* (n, width) */
                           const float *const *rows, /* count + ahead + DENSE_AHEAD pointers, each (width) */
                           const float *x,           /* (count, n) */
                           int count, int ahead, int n, int width)
{
    if (n == 1) DENSE_ONE_IMAGE(sweep, total, rows, x, count, width);
    else batch(total, rows, x, count, ahead, n, width);
}
