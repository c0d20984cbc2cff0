/* x86/avx512/dense.c — the AVX-512 row's fully connected chunk (platform.h, dense_job.h), compiled with -mavx512f
 * -mfma.
 *
 * One image: the rows 8 at a time into a partial of the whole piece in L1 (16 outputs at a time: the partial
 * loaded, one FMA per row in order, stored), each row read from memory as one contiguous stream while the next
 * rows are prefetched one line per line read. A batch: register tiles of 48 outputs x up to 8 images, one FMA
 * per row in order into each, a chunk's rows read three lines at a time from cache, 32 rows at a time
 * (DENSE_WALK), where the tiles of the previous 32 prefetched them, each row its slice. The last outputs run only
 * the vectors they need, the last width % 16 masked. */
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

/* p[o] = fma(x[r], w[r][o], p[o]) for r < rows in order, o < width; next[r]'s lines prefetched, into L2 when the
 * next rows are wider than L1 can hold beside these (DENSE_SWEEP_L1_FLOATS), else into L1. */
INLINE void sweep(float *p, const float *const *w, const float *x, const float *const *next, int rows, int width)
{
    __m512 xv[8]; /* up to 8 rows a sweep */
    for (int r = 0; r < rows; r++) xv[r] = _mm512_set1_ps(x[r]);
    int o = 0, l2 = rows * width > DENSE_SWEEP_L1_FLOATS;
    for (; o + 16 <= width; o += 16) {
        if (l2)
            for (int r = 0; r < rows; r++) _mm_prefetch((const char *)(next[r] + o), _MM_HINT_T1);
        else
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

/* Outputs [o, o + 16 vecs) of images [b0, b0 + images) of n (vecs x images accumulators in registers): the
 * chunk's rows [r0, r1) into them in order, the sums so far from part (zero at r0 = 0), then into part, or, after
 * the chunk's last row, into the totals; the lanes past width masked. vecs is 3 but at the piece's last outputs
 * (vectors wholly past the piece are not computed). Unless ahead is NULL, row r also prefetches into L2 the lines
 * of this slice of row r + DENSE_WALK (dense_ahead_row): the next walk's slice, with no bookkeeping per row (as
 * the AVX2 row; runtime/KERNELS.md). */
INLINE void tile(float *total, float *part, const float *const *rows, const dense_ahead *ahead, const float *x, int r0,
                 int r1, int count, int n, int width, int o, int b0, int images, int vecs)
{
    __m512 acc[TILE_IMAGES][TILE_VECTORS], w[TILE_VECTORS];
    __mmask16 m[TILE_VECTORS];
    for (int v = 0; v < vecs; v++) m[v] = first_lanes(width - o - 16 * v);
    for (int b = 0; b < images; b++)
        for (int v = 0; v < vecs; v++)
            acc[b][v] = r0 == 0 ? _mm512_setzero_ps()
                                : _mm512_maskz_loadu_ps(m[v], part + (size_t)(b0 + b) * width + o + 16 * v);
    for (int r = r0; r < r1; r++) {
        if (ahead) {
            const float *nx = dense_ahead_row(ahead, r) + o;
            for (int v = 0; v < vecs; v++) _mm_prefetch((const char *)(nx + 16 * v), _MM_HINT_T1);
        }
        const float *wr = rows[r] + o, *xr = x + r * n + b0;
        for (int v = 0; v < vecs; v++) w[v] = _mm512_maskz_loadu_ps(m[v], wr + 16 * v);
        for (int b = 0; b < images; b++) {
            __m512 xb = _mm512_set1_ps(xr[b]);
            for (int v = 0; v < vecs; v++) acc[b][v] = _mm512_fmadd_ps(xb, w[v], acc[b][v]);
        }
    }
    for (int b = 0; b < images; b++)
        for (int v = 0; v < vecs; v++) {
            float *t = (r1 == count ? total : part) + (size_t)(b0 + b) * width + o + 16 * v;
            __m512 sum = r1 == count ? _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], t), acc[b][v]) : acc[b][v];
            _mm512_mask_storeu_ps(t, m[v], sum);
        }
}

#define TILE_CASE(k) \
    case k: tile(total, part, rows, pre, x, r0, r1, count, n, width, o, b0, k, vecs); break;
#define TILE_CASES \
    switch (n - b0 < per ? n - b0 : per) { /* a constant count: the tile in registers */ \
        TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6) TILE_CASE(7) \
    default: \
        TILE_CASE(8) \
    }

/* Tiles of 48 outputs x an even share of the images, at most TILE_IMAGES, walking DENSE_WALK rows at a time (the
 * sums carried in part between walks, so every output's FMAs run in row order as in one walk). The first image tile
 * of each slice prefetches the same slice of the rows DENSE_WALK on (this chunk's, then the next chunk's: rows holds
 * count + ahead + DENSE_AHEAD pointers). Walking all 128 rows of a chunk while prefetching the next chunk's kept 1
 * MiB of rows in flight, a Zen 5's whole L2 (a Zen 3's twice over): VGG11's fc6 at batch 8 (bench/fc.c, inputs as
 * after a ReLU, alternated, 3 rounds) 10.6-12.7 -> 8.7-9.1 ms on this row with 32-row walks. */
static void batch(float *total, const float *const *rows, const float *x, int count, int ahead, int n, int width)
{
    float part[VGGC_DENSE_GROUP * VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (n, width) */
    int tiles = (n + TILE_IMAGES - 1) / TILE_IMAGES, per = (n + tiles - 1) / tiles;
    dense_ahead after = dense_ahead_of(rows, count, ahead);
    for (int r0 = 0, r1; r0 < count; r0 = r1) {
        r1 = count - r0 < DENSE_WALK ? count : r0 + DENSE_WALK;
        for (int o = 0; o < width; o += 16 * TILE_VECTORS) {
            int tail = (width - o + 15) / 16;
            for (int b0 = 0; b0 < n; b0 += per) {
                const dense_ahead *pre = b0 == 0 ? &after : NULL;
                if (tail >= TILE_VECTORS) { /* every case a constant: the tile in registers */
                    const int vecs = TILE_VECTORS;
                    TILE_CASES
                } else if (tail == 2) {
                    const int vecs = 2;
                    TILE_CASES
                } else {
                    const int vecs = 1;
                    TILE_CASES
                }
            }
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
