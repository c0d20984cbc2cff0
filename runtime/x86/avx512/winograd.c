/* x86/avx512/winograd.c — the AVX-512 row's Winograd pieces (platform.h), compiled with -mavx512f -mfma: the
 * transforms of winograd_plan.h in zmm registers, and a 12 x 32 GEMM micro-kernel. */
#include "../../winograd_plan.h"

#include <immintrin.h>

/* The micro-kernel: rows x (16 vecs) accumulators in registers (24 zmm at most); per input channel, vecs loads of b
 * and rows broadcasts of a; and the lines 64-byte lines from next prefetched into L2, spread over the input channels
 * (the block's share of the next piece's panel). rows and vecs are constants at every call. */
WINO_INLINE void kernel(float *c, size_t ldc, const float *a, const float *b, const float *next, size_t lines,
                        int cinb, int rows, int vecs)
{
    __m512 acc[WINO_ROWS][2];
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    int width = vecs * WINO_LANES;
    for (int cb = 0; cb < cinb; cb++, a += rows * WINO_LANES, b += WINO_LANES * width) {
        size_t line = 0, to = 0; /* this step's part of the share, into L2: vecs lines per input channel */
        if (lines) wino_spread(lines, cb, cinb, &line, &to);
#pragma GCC unroll 16
        for (int j = 0; j < WINO_LANES; j++) {
            __m512 b0 = _mm512_loadu_ps(b + j * width);
            __m512 b1 = vecs == 2 ? _mm512_loadu_ps(b + j * width + WINO_LANES) : b0;
            for (int v = 0; v < vecs; v++)
                if (line < to) _mm_prefetch((const char *)(next + line++ * WINO_LANES), _MM_HINT_T1);
#pragma GCC unroll 12
            for (int r = 0; r < rows; r++) {
                __m512 av = _mm512_set1_ps(a[r * WINO_LANES + j]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                if (vecs == 2) acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) {
        _mm512_storeu_ps(c + r * ldc, acc[r][0]);
        if (vecs == 2) _mm512_storeu_ps(c + r * ldc + WINO_LANES, acc[r][1]);
    }
}

#define KERNEL_CASE(R, V) \
    case R: kernel(c, ldc, a, b, next, lines, cinb, R, V); break;
#define KERNEL_CASES(V)                                                                                     \
    KERNEL_CASE(1, V) KERNEL_CASE(2, V) KERNEL_CASE(3, V) KERNEL_CASE(4, V) KERNEL_CASE(5, V) KERNEL_CASE(6, V) \
    KERNEL_CASE(7, V) KERNEL_CASE(8, V) KERNEL_CASE(9, V) KERNEL_CASE(10, V) KERNEL_CASE(11, V) KERNEL_CASE(12, V)

static void block_avx512(float *c, size_t ldc, const float *a, const float *b, const float *next, size_t lines,
                         int cinb, int rows, int width)
{
    if (width == WINO_PANEL) switch (rows) { KERNEL_CASES(2) }
    else switch (rows) { KERNEL_CASES(1) }
}

WINO_DEFINE_PIECES(avx512, block_avx512)
