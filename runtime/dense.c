/* dense.c — fully connected layer, out = in . weight^T + bias, then ReLU: a bandwidth-bound GEMV/GEMM that reads
 * every weight once per group of up to GROUP images, and the naive reference beside it.
 *
 * The output rows are cut in pieces of PIECE_ROWS whatever the thread count; OpenMP threads take whole pieces, and
 * each output value is one dot product computed by one thread in a fixed order. So the result is bitwise the same
 * for any number of threads, across runs, and for any batch size (an image's outputs never depend on the others).
 * Both kernels sum lane by lane: lane l of a 16-lane accumulator takes inputs i = l mod 16 in order (a masked last
 * chunk), then the lanes are added. The AVX-512 kernel computes a register tile of rows x images at once, over
 * blocks of K_BLOCK inputs that stay in cache, and prefetches each weight row ahead.
 */
#include "cpu.h"
#include "dense_internal.h"
#include "vggc.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX512_KERNEL 1
#endif

enum {
    PIECE_ROWS = 48,    /* output rows per piece of work: a multiple of both tile heights */
    GROUP = 16,         /* images that share one pass over the weights */
    K_BLOCK = 2048,     /* inputs per block: a tile's weights and images stay in L1/L2 across the block */
    TILE_ROWS_1 = 8,    /* tile height for one image: 8 weight streams at once */
    TILE_ROWS_N = 6,    /* tile height x width for a batch: 6 rows x 4 images = 24 accumulators */
    TILE_IMAGES = 4,
    LANES = 16,
    PREFETCH = 2048     /* floats ahead (8 KiB) in each weight row, into L2 (T0 measured slower) */
};

/* bias added, then ReLU if relu. NaN stays NaN, as in torch.relu. */
static float finish(float sum, float bias, int relu)
{
    float v = sum + bias;
    return (relu && v < 0.0f) ? 0.0f : v;
}

/* ---- portable kernel ----------------------------------------------------------------------------------- */

/* Sum of w[i] * x[i]: lane l sums i = l mod 16 in order, then lanes are added pairwise (8 apart, 4, 2, 1). */
static float dot_portable(const float *w, /* (len) */
                          const float *x, /* (len) */
                          int len)
{
    float lane[LANES] = {0};
    int i = 0;
    for (; i + LANES <= len; i += LANES)
        for (int l = 0; l < LANES; l++) lane[l] += w[i + l] * x[i + l];
    for (int l = 0; i + l < len; l++) lane[l] += w[i + l] * x[i + l];
    for (int half = LANES / 2; half > 0; half /= 2)
        for (int l = 0; l < half; l++) lane[l] += lane[l + half];
    return lane[0];
}

/* Rows [r0, r1) for all n images; each weight row is read from memory once and reused from cache. */
static void piece_portable(float *out,          /* (n, out_f) */
                           const float *in,     /* (n, in_f) */
                           const float *weight, /* (out_f, in_f) */
                           const float *bias,   /* (out_f) */
                           int n, int in_f, int out_f, int r0, int r1, int relu)
{
    for (int o = r0; o < r1; o++) {
        const float *w = weight + (size_t)o * in_f;
        for (int b = 0; b < n; b++)
            out[(size_t)b * out_f + o] = finish(dot_portable(w, in + (size_t)b * in_f, in_f), bias[o], relu);
    }
}

void vggc_linear_portable(float *out,          /* (n, out_f) */
                          const float *in,     /* (n, in_f) */
                          const float *weight, /* (out_f, in_f) */
                          const float *bias,   /* (out_f) */
                          int n, int in_f, int out_f, int relu)
{
    int pieces = (out_f + PIECE_ROWS - 1) / PIECE_ROWS;
#pragma omp parallel for schedule(dynamic, 1)
    for (int p = 0; p < pieces; p++) {
        int r1 = (p + 1) * PIECE_ROWS < out_f ? (p + 1) * PIECE_ROWS : out_f;
        piece_portable(out, in, weight, bias, n, in_f, out_f, p * PIECE_ROWS, r1, relu);
    }
}

/* ---- AVX-512 kernel ------------------------------------------------------------------------------------ */

#ifdef HAVE_AVX512_KERNEL
#define AVX512 __attribute__((target("avx512f,fma")))

/* acc[r][b] += w[r][i] * x[b][i] lane by lane over i in [0, len), 16 at a time, the last chunk masked. rows and
 * images are constants at every call, so the tile lives in registers. */
static inline AVX512 __attribute__((always_inline)) void
tile(float *acc,      /* (rows, GROUP, LANES): row r, image b at (r * GROUP + b) * LANES */
     const float *w,  /* (rows, ld) */
     const float *x,  /* (images, ld) */
     size_t ld, int len, int rows, int images)
{
    __m512 a[TILE_ROWS_1][TILE_IMAGES], wv[TILE_ROWS_1];
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < images; b++) a[r][b] = _mm512_load_ps(acc + ((size_t)r * GROUP + b) * LANES);
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
        for (int b = 0; b < images; b++) _mm512_store_ps(acc + ((size_t)r * GROUP + b) * LANES, a[r][b]);
}

/* One block of inputs for `rows` rows (TILE_ROWS_1, TILE_ROWS_N or 1) and all n images. */
static AVX512 void block_avx512(float *acc,     /* (rows, GROUP, LANES) */
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

/* Rows [r0, r0 + rows) for n <= GROUP images: accumulate over all blocks, then reduce, add bias, ReLU. */
static AVX512 void rows_avx512(float *out,          /* (n, out_f) */
                               const float *in,     /* (n, in_f) */
                               const float *weight, /* (out_f, in_f) */
                               const float *bias,   /* (out_f) */
                               int n, int in_f, int out_f, int r0, int rows, int relu)
{
    float acc[TILE_ROWS_1 * GROUP * LANES] __attribute__((aligned(64)));
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < n * LANES; j++) acc[(size_t)r * GROUP * LANES + j] = 0.0f;
    const float *w = weight + (size_t)r0 * in_f;
    for (int k0 = 0; k0 < in_f; k0 += K_BLOCK) {
        int len = in_f - k0 < K_BLOCK ? in_f - k0 : K_BLOCK;
        block_avx512(acc, w + k0, in + k0, (size_t)in_f, len, rows, n);
    }
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < n; b++) {
            float sum = _mm512_reduce_add_ps(_mm512_load_ps(acc + ((size_t)r * GROUP + b) * LANES));
            out[(size_t)b * out_f + r0 + r] = finish(sum, bias[r0 + r], relu);
        }
}

/* Rows [r0, r1) for n <= GROUP images, in tiles; only the last piece of a layer has a ragged end. */
static AVX512 void piece_avx512(float *out, const float *in, const float *weight, const float *bias,
                                int n, int in_f, int out_f, int r0, int r1, int relu)
{
    int height = n == 1 ? TILE_ROWS_1 : TILE_ROWS_N, r = r0;
    for (; r + height <= r1; r += height) rows_avx512(out, in, weight, bias, n, in_f, out_f, r, height, relu);
    for (; r < r1; r++) rows_avx512(out, in, weight, bias, n, in_f, out_f, r, 1, relu);
}

void vggc_linear_avx512(float *out,          /* (n, out_f) */
                        const float *in,     /* (n, in_f) */
                        const float *weight, /* (out_f, in_f) */
                        const float *bias,   /* (out_f) */
                        int n, int in_f, int out_f, int relu)
{
    int pieces = (out_f + PIECE_ROWS - 1) / PIECE_ROWS;
    for (int g = 0; g < n; g += GROUP) {
        int images = n - g < GROUP ? n - g : GROUP;
        const float *x = in + (size_t)g * in_f; /* (images, in_f) */
        float *y = out + (size_t)g * out_f;     /* (images, out_f) */
#pragma omp parallel for schedule(dynamic, 1)
        for (int p = 0; p < pieces; p++) {
            int r1 = (p + 1) * PIECE_ROWS < out_f ? (p + 1) * PIECE_ROWS : out_f;
            piece_avx512(y, x, weight, bias, images, in_f, out_f, p * PIECE_ROWS, r1, relu);
        }
    }
}
#else
/* No AVX-512 kernel in this build: vggc_cpu_avx512() is 0, and this name only keeps the link whole. */
void vggc_linear_avx512(float *out, const float *in, const float *weight, const float *bias,
                        int n, int in_f, int out_f, int relu)
{
    vggc_linear_portable(out, in, weight, bias, n, in_f, out_f, relu);
}
#endif

/* ---- the entry point and the reference ----------------------------------------------------------------- */

void vggc_linear(float *out,          /* (n, out_f) */
                 const float *in,     /* (n, in_f) */
                 const float *weight, /* (out_f, in_f) */
                 const float *bias,   /* (out_f) */
                 int n, int in_f, int out_f, int relu)
{
    if (vggc_cpu_avx512()) vggc_linear_avx512(out, in, weight, bias, n, in_f, out_f, relu);
    else vggc_linear_portable(out, in, weight, bias, n, in_f, out_f, relu);
}

void vggc_linear_ref(float *out,          /* (n, out_f) */
                     const float *in,     /* (n, in_f) */
                     const float *weight, /* (out_f, in_f) */
                     const float *bias,   /* (out_f) */
                     int n, int in_f, int out_f, int relu)
{
    for (int b = 0; b < n; b++)
        for (int o = 0; o < out_f; o++) {
            double sum = bias[o];
            for (int i = 0; i < in_f; i++)
                sum += (double)weight[(size_t)o * in_f + i] * in[(size_t)b * in_f + i];
            float v = (float)sum;
            out[(size_t)b * out_f + o] = (relu && v < 0.0f) ? 0.0f : v;
        }
}
