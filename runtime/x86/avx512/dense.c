/* x86/avx512/dense.c — the AVX-512 row's fully connected rows (platform.h), compiled with -mavx512f -mfma: register
 * tiles of 8 weight rows x 1 image, or 6 rows x 4 images, over blocks of K_BLOCK inputs that stay in L1/L2 while the
 * image tiles reuse them; each weight row prefetched ahead into L2. Lane l of a 16-lane accumulator takes inputs
 * i = l mod 16 in order (a masked last chunk), then the lanes are added. */
#include "../../dense_job.h"

#include <immintrin.h>

enum {
    K_BLOCK = 2048,     /* inputs per block: a tile's weights and images stay in L1/L2 across the block */
    TILE_ROWS_1 = 8,    /* tile height for one image: 8 weight streams at once */
    TILE_ROWS_N = 6,    /* tile height x width for a batch: 6 rows x 4 images = 24 accumulators */
    TILE_IMAGES = 4,
    LANES = 16,
    PREFETCH = 2048     /* floats ahead (8 KiB) in each weight row, into L2 (T0 measured slower) */
};

/* acc[r][b] += w[r][i] * x[b][i] lane by lane over i in [0, len), 16 at a time, the last chunk masked. rows and
 * images are constants at every call, so the tile lives in registers. */
static inline __attribute__((always_inline)) void
tile(float *acc,      /* (rows, VGGC_DENSE_GROUP, LANES): row r, image b at (r * VGGC_DENSE_GROUP + b) * LANES */
     const float *w,  /* (rows, ld) */
     const float *x,  /* (images, ld) */
     size_t ld, int len, int rows, int images)
{
    __m512 a[TILE_ROWS_1][TILE_IMAGES], wv[TILE_ROWS_1];
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < images; b++) a[r][b] = _mm512_load_ps(acc + ((size_t)r * VGGC_DENSE_GROUP + b) * LANES);
    int i = 0;
    for (; i + LANES <= len; i += LANES) {
        for (int r = 0; r < rows; r++) {
            wv[r] = _mm512_loadu_ps(w + r * ld + i);
            _mm_prefetch((const char *)(w + r * ld + i + PREFETCH), _MM_HINT_T1);
        }
        for (int b = 0; b < images; b++) {
            __m512 xv = _mm512_loadu_ps(x + b * ld + i);
            for (int r = 0; r < rows; r++) a[r][b] = _mm512_fmadd_ps(wv[r], xv, a[r][b]);
        }
    }
    if (i < len) {
        __mmask16 m = (__mmask16)((1u << (len - i)) - 1u);
        for (int r = 0; r < rows; r++) wv[r] = _mm512_maskz_loadu_ps(m, w + r * ld + i);
        for (int b = 0; b < images; b++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + b * ld + i);
            for (int r = 0; r < rows; r++) a[r][b] = _mm512_fmadd_ps(wv[r], xv, a[r][b]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < images; b++) _mm512_store_ps(acc + ((size_t)r * VGGC_DENSE_GROUP + b) * LANES, a[r][b]);
}

/* One block of inputs for `rows` rows (TILE_ROWS_1, TILE_ROWS_N or 1) and all n images. */
static void block_avx512(float *acc,     /* (rows, VGGC_DENSE_GROUP, LANES) */
                                const float *w, /* (rows, ld) */
                                const float *x, /* (n, ld) */
                                size_t ld, int len, int rows, int n)
{
    int b = 0;
    if (rows == TILE_ROWS_N)
        for (; b + TILE_IMAGES <= n; b += TILE_IMAGES)
            tile(acc + (size_t)b * LANES, w, x + b * ld, ld, len, TILE_ROWS_N, TILE_IMAGES);
    for (; b < n; b++) {
        float *ab = acc + (size_t)b * LANES;
        const float *xb = x + b * ld;
        if (rows == TILE_ROWS_1) tile(ab, w, xb, ld, len, TILE_ROWS_1, 1);
        else if (rows == TILE_ROWS_N) tile(ab, w, xb, ld, len, TILE_ROWS_N, 1);
        else tile(ab, w, xb, ld, len, 1, 1);
    }
}

/* Rows [r0, r0 + rows) for n <= VGGC_DENSE_GROUP images: accumulate over all blocks, then reduce, add bias, ReLU. */
static void rows_avx512(float *out,          /* (n, out_f) */
                               const float *in,     /* (n, in_f) */
                               const float *weight, /* (out_f, in_f) */
                               const float *bias,   /* (out_f) */
                               int n, int in_f, int out_f, int r0, int rows, int relu)
{
    float acc[TILE_ROWS_1 * VGGC_DENSE_GROUP * LANES] __attribute__((aligned(64)));
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n * LANES; j++) acc[(size_t)r * VGGC_DENSE_GROUP * LANES + j] = 0.0f;
    const float *w = weight + (size_t)r0 * in_f;
    for (int k0 = 0; k0 < in_f; k0 += K_BLOCK) {
        int len = in_f - k0 < K_BLOCK ? in_f - k0 : K_BLOCK;
        block_avx512(acc, w + k0, in + k0, (size_t)in_f, len, rows, n);
    }
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < n; b++) {
            float sum = _mm512_reduce_add_ps(_mm512_load_ps(acc + ((size_t)r * VGGC_DENSE_GROUP + b) * LANES));
            out[(size_t)b * out_f + r0 + r] = dense_finish(sum, bias[r0 + r], relu);
        }
}

/* Rows [r0, r1) for n <= VGGC_DENSE_GROUP images, in tiles; only the last piece of a layer has a ragged end. */
void vggc_dense_rows_avx512(float *out, const float *in, const float *weight, const float *bias, int n, int in_f,
                            int out_f, int r0, int r1, int relu)
{
    int height = n == 1 ? TILE_ROWS_1 : TILE_ROWS_N, r = r0;
    for (; r + height <= r1; r += height) rows_avx512(out, in, weight, bias, n, in_f, out_f, r, height, relu);
    for (; r < r1; r++) rows_avx512(out, in, weight, bias, n, in_f, out_f, r, 1, relu);
}

