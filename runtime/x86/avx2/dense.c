/* x86/avx2/dense.c — the AVX2 row's fully connected chunk (platform.h, dense_job.h), compiled with -mavx2 -mfma.
 *
 * One image: the rows 8 at a time into a partial of the whole piece in L1 (8 outputs at a time: the partial
 * loaded, one FMA per row in order, stored), each row read from memory as one contiguous stream while the next
 * rows are prefetched one line per line read. A batch: register tiles of 24 outputs x up to 4 images, one FMA per
 * row in order into each, a chunk's rows read one line at a time from cache, 32 rows at a time (DENSE_WALK),
 * where the tiles of the previous 32 prefetched them, each row its slice. The last width % 24 outputs run only the
 * vectors they need, the last one masked when they are not a multiple of 8 (the same fused multiply-adds on the
 * lanes kept). */
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

/* p[o] = fma(x[r], w[r][o], p[o]) for r < rows in order, o < width; next[r]'s lines prefetched, into L2 when the
 * next rows are wider than L1 can hold beside these (DENSE_SWEEP_L1_FLOATS), else into L1. */
INLINE void sweep(float *p, const float *const *w, const float *x, const float *const *next, int rows, int width)
{
    __m256 xv[8]; /* up to 8 rows a sweep */
    for (int r = 0; r < rows; r++) xv[r] = _mm256_set1_ps(x[r]);
    int o = 0, l2 = rows * width > DENSE_SWEEP_L1_FLOATS;
    for (; o + 8 <= width; o += 8) {
        if ((o & 15) == 0) {
            if (l2)
                for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(next[r] + o), _MM_HINT_T1);
            else
                for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(next[r] + o), _MM_HINT_T0);
        }
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

/* Outputs [o, o + 8 vecs) of images [b0, b0 + images) of n (vecs x images accumulators in registers): the chunk's
 * rows [r0, r1) into them in order, the sums so far from part (zero at r0 = 0), then into part, or, after the
 * chunk's last row, into the totals. vecs is 3 but at the piece's last outputs, whose last vector is masked when
 * they are not a multiple of 8 (partial); vectors wholly past the piece are not computed (the masked 3-vector tile
 * of the last outputs took about a tenth of fc6's batch time for a 43rd of its outputs). Unless `ahead` is NULL,
 * row r also prefetches into L2 the lines of this slice of row r + DENSE_WALK (dense_ahead_row): the next walk's
 * slice, one walk ahead, with no bookkeeping per row. */
INLINE void tile(float *total, float *part, const float *const *rows, const dense_ahead *ahead, const float *x, int r0,
                 int r1, int count, int n, int width, int o, int b0, int images, int vecs, int partial)
{
    __m256 acc[TILE_IMAGES][TILE_VECTORS], w[TILE_VECTORS];
    __m256i m = first_lanes(width - o - 8 * (vecs - 1)); /* the last vector's live lanes */
#define LOAD_VEC(p, v) (partial && (v) == vecs - 1 ? _mm256_maskload_ps((p), m) : _mm256_loadu_ps(p))
    for (int b = 0; b < images; b++)
        for (int v = 0; v < vecs; v++) {
            const float *s = part + (size_t)(b0 + b) * width + o + 8 * v;
            acc[b][v] = r0 == 0 ? _mm256_setzero_ps() : LOAD_VEC(s, v);
        }
    for (int r = r0; r < r1; r++) {
        if (ahead) {
            const float *nx = dense_ahead_row(ahead, r) + o; /* the slice's 96 bytes: within 2 lines */
            _mm_prefetch((const char *)nx, _MM_HINT_T1), _mm_prefetch((const char *)(nx + 16), _MM_HINT_T1);
        }
        const float *wr = rows[r] + o, *xr = x + r * n + b0;
        for (int v = 0; v < vecs; v++) w[v] = LOAD_VEC(wr + 8 * v, v);
        for (int b = 0; b < images; b++) {
            __m256 xb = _mm256_broadcast_ss(xr + b);
            for (int v = 0; v < vecs; v++) acc[b][v] = _mm256_fmadd_ps(xb, w[v], acc[b][v]);
        }
    }
    for (int b = 0; b < images; b++)
        for (int v = 0; v < vecs; v++) {
            float *t = (r1 == count ? total : part) + (size_t)(b0 + b) * width + o + 8 * v;
            __m256 sum = acc[b][v];
            if (r1 == count) sum = _mm256_add_ps(LOAD_VEC(t, v), sum);
            if (partial && v == vecs - 1) _mm256_maskstore_ps(t, m, sum);
            else _mm256_storeu_ps(t, sum);
        }
#undef LOAD_VEC
}

#define TILE_CASE(k) \
    case k: tile(total, part, rows, pre, x, r0, r1, count, n, width, o, b0, k, vecs, partial); break;
#define TILE_CASES \
    switch (images) { /* a constant count: the tile in registers */ \
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) default: TILE_CASE(4) \
    }

/* Tiles of 24 outputs x an even share of the images, at most TILE_IMAGES, walking DENSE_WALK rows at a time (the
 * sums carried in part between walks, so every output's FMAs run in row order as in one walk). The first image tile
 * of each slice prefetches the same slice of the rows DENSE_WALK on (this chunk's, then the next chunk's: rows holds
 * count + ahead + DENSE_AHEAD pointers), so the next walk finds its rows in L2. (Before, dense_walk's prefetcher
 * spread the next walk's lines over every tile's rows, a dozen instructions per row: on an Intel Xeon, one core,
 * weights in L2, the tiles ran at 62 GFLOP/s where their FMAs alone reach 92-102; runtime/KERNELS.md.) Walking all
 * 128 rows of a chunk while prefetching the next chunk's kept 1 MiB of rows in flight, a Zen 5's whole L2. */
static void batch(float *total, const float *const *rows, const float *x, int count, int ahead, int n, int width)
{
    float part[VGGC_DENSE_GROUP * VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (n, width) */
    int tiles = (n + TILE_IMAGES - 1) / TILE_IMAGES, per = (n + tiles - 1) / tiles;
    dense_ahead after = dense_ahead_of(rows, count, ahead);
    for (int r0 = 0, r1; r0 < count; r0 = r1) {
        r1 = count - r0 < DENSE_WALK ? count : r0 + DENSE_WALK;
        for (int o = 0; o < width; o += 8 * TILE_VECTORS) {
            int left = width - o, tail = (left + 7) / 8, ragged = left % 8 != 0;
            for (int b0 = 0; b0 < n; b0 += per) {
                int images = n - b0 < per ? n - b0 : per;
                const dense_ahead *pre = b0 == 0 ? &after : NULL;
                if (left >= 8 * TILE_VECTORS) { /* every case a constant: the tile in registers */
                    const int vecs = TILE_VECTORS, partial = 0;
                    TILE_CASES
                } else if (tail == 2) {
                    const int vecs = 2, partial = ragged;
                    TILE_CASES
                } else if (tail == 1) {
                    const int vecs = 1, partial = ragged;
                    TILE_CASES
                } else {
                    const int vecs = TILE_VECTORS, partial = ragged;
                    TILE_CASES
                }
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
