/* x86/avx2/dense.c — the AVX2 row's fully connected rows (platform.h), compiled with -mavx2 -mfma.
 *
 * Register tiles of 8 weight rows x 1 image (8 memory streams at once), or 2 rows x up to 6 images for a batch (12
 * accumulators, 2 weight vectors, 1 image vector; 4 rows x 3 images needed 17 registers and spilled), over blocks
 * of K_BLOCK inputs that stay in L1/L2 while the image tiles reuse them; each weight row is prefetched PREFETCH floats ahead into L2, once per cache line. Lane l of an
 * 8-lane accumulator takes inputs i = l mod 8 in order (a masked last chunk), then the lanes are added pairwise
 * (4 apart, 2, 1): the same order for an image alone or in any tile. */
#include "../../dense_job.h"

#include <immintrin.h>

enum {
    K_BLOCK = 2048, /* inputs per block */
    TILE_ROWS_1 = 8, /* tile height for one image */
    TILE_ROWS_N = 2, /* tile height x width for a batch */
    TILE_IMAGES = 6,
    LANES = 8,
    PREFETCH = 1024 /* floats ahead (4 KiB) in each weight row, into L2 */
};

#define INLINE static inline __attribute__((always_inline))

/* The first n of 8 lanes, for a masked load of the last chunk. */
INLINE __m256i first_lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* acc[r][b] += w[r][i] * x[b][i] lane by lane over i in [0, len), 8 at a time, the last chunk masked. rows and
 * images are constants at every call, so the tile lives in registers. */
INLINE void tile(float *acc,     /* (rows, VGGC_DENSE_GROUP, LANES): row r, image b at (r * GROUP + b) * LANES */
                 const float *w, /* (rows, ld) */
                 const float *x, /* (images, ld) */
                 size_t ld, int len, int rows, int images)
{
    __m256 a[TILE_ROWS_1][TILE_IMAGES], xv;
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < images; b++) a[r][b] = _mm256_loadu_ps(acc + ((size_t)r * VGGC_DENSE_GROUP + b) * LANES);
    int i = 0;
    for (; i + 2 * LANES <= len; i += 2 * LANES) /* 16 floats: one cache line of each weight row per step */
        for (int h = 0; h < 2 * LANES; h += LANES) {
            __m256 wv[TILE_ROWS_1];
            for (int r = 0; r < rows; r++) {
                wv[r] = _mm256_loadu_ps(w + r * ld + i + h);
                if (h == 0) _mm_prefetch((const char *)(w + r * ld + i + PREFETCH), _MM_HINT_T1);
            }
            for (int b = 0; b < images; b++) {
                xv = _mm256_loadu_ps(x + b * ld + i + h);
                for (int r = 0; r < rows; r++) a[r][b] = _mm256_fmadd_ps(wv[r], xv, a[r][b]);
            }
        }
    for (; i < len; i += LANES) {
        __m256i m = first_lanes(len - i);
        __m256 wv[TILE_ROWS_1];
        for (int r = 0; r < rows; r++) wv[r] = _mm256_maskload_ps(w + r * ld + i, m);
        for (int b = 0; b < images; b++) {
            xv = _mm256_maskload_ps(x + b * ld + i, m);
            for (int r = 0; r < rows; r++) a[r][b] = _mm256_fmadd_ps(wv[r], xv, a[r][b]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < images; b++) _mm256_storeu_ps(acc + ((size_t)r * VGGC_DENSE_GROUP + b) * LANES, a[r][b]);
}

/* One block of inputs for `rows` rows (TILE_ROWS_1, TILE_ROWS_N or 1) and all n images. */
static void block(float *acc,     /* (rows, GROUP, LANES) */
                  const float *w, /* (rows, ld) */
                  const float *x, /* (n, ld) */
                  size_t ld, int len, int rows, int n)
{
    if (rows == TILE_ROWS_N) { /* tiles of 6 images, then one of the rest */
        for (int b = 0; b < n; b += TILE_IMAGES) {
            float *ab = acc + (size_t)b * LANES;
            const float *xb = x + b * ld;
            switch (n - b < TILE_IMAGES ? n - b : TILE_IMAGES) {
            case 1: tile(ab, w, xb, ld, len, TILE_ROWS_N, 1); break;
            case 2: tile(ab, w, xb, ld, len, TILE_ROWS_N, 2); break;
            case 3: tile(ab, w, xb, ld, len, TILE_ROWS_N, 3); break;
            case 4: tile(ab, w, xb, ld, len, TILE_ROWS_N, 4); break;
            case 5: tile(ab, w, xb, ld, len, TILE_ROWS_N, 5); break;
            default: tile(ab, w, xb, ld, len, TILE_ROWS_N, 6); break;
            }
        }
        return;
    }
    for (int b = 0; b < n; b++) {
        float *ab = acc + (size_t)b * LANES;
        const float *xb = x + b * ld;
        if (rows == TILE_ROWS_1) tile(ab, w, xb, ld, len, TILE_ROWS_1, 1);
        else tile(ab, w, xb, ld, len, 1, 1);
    }
}

/* The 8 lanes added pairwise: 4 apart, then 2, then 1. */
static float lanes_sum(const float *l)
{
    float s4[4], s2[2];
    for (int k = 0; k < 4; k++) s4[k] = l[k] + l[k + 4];
    for (int k = 0; k < 2; k++) s2[k] = s4[k] + s4[k + 2];
    return s2[0] + s2[1];
}

/* Rows [r0, r0 + rows) for n <= GROUP images, rows <= DENSE_PIECE_ROWS: for each block of inputs, every tile of
 * `height` rows (the last ones single rows), so that the block of the images (n x K_BLOCK floats) stays in L2 while
 * all the piece's rows stream past it once; then reduce, add bias, ReLU. */
static void rows_of(float *out, const float *in, const float *weight, const float *bias, int n, int in_f, int out_f,
                    int r0, int rows, int height, int relu)
{
    float acc[DENSE_PIECE_ROWS * VGGC_DENSE_GROUP * LANES];
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n * LANES; j++) acc[(size_t)r * VGGC_DENSE_GROUP * LANES + j] = 0.0f;
    const float *w = weight + (size_t)r0 * in_f;
    for (int k0 = 0; k0 < in_f; k0 += K_BLOCK) {
        int len = in_f - k0 < K_BLOCK ? in_f - k0 : K_BLOCK, r = 0;
        for (; r + height <= rows; r += height)
            block(acc + (size_t)r * VGGC_DENSE_GROUP * LANES, w + (size_t)r * in_f + k0, in + k0, (size_t)in_f, len,
                  height, n);
        for (; r < rows; r++)
            block(acc + (size_t)r * VGGC_DENSE_GROUP * LANES, w + (size_t)r * in_f + k0, in + k0, (size_t)in_f, len, 1,
                  n);
    }
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < n; b++)
            out[(size_t)b * out_f + r0 + r] =
                dense_finish(lanes_sum(acc + ((size_t)r * VGGC_DENSE_GROUP + b) * LANES), bias[r0 + r], relu);
}

void vggc_dense_rows_avx2(float *out, const float *in, const float *weight, const float *bias, int n, int in_f,
                          int out_f, int r0, int r1, int relu)
{
    rows_of(out, in, weight, bias, n, in_f, out_f, r0, r1 - r0, n == 1 ? TILE_ROWS_1 : TILE_ROWS_N, relu);
}
