/* x86/avx2/winograd.c — the AVX2 row's Winograd pieces (platform.h), compiled with -mavx2 -mfma: the transforms of
 * winograd_plan.h in ymm registers, and a 6 x 16 GEMM micro-kernel.
 *
 * 16 ymm registers: 6 rows (tiles) x 16 output channels (2 ymm) are 12 accumulators, plus 2 for the row of b and
 * one broadcast. Per input channel: 2 loads of b, 6 broadcasts of a, 12 FMAs. A 12 x 32 block of winograd_plan.h
 * (V holds 12 tiles per [cin / 16][rows][16] slice, U 32-channel panels) runs as four such kernels. The
 * accumulators are named variables, not an array: GCC then keeps all twelve in registers (with an array it
 * spilled some to the stack, 47 -> 61 GFLOP/s per core on 512 -> 512 at 14x14). (Cutting a piece into chunks of 64
 * or 256 input channels, so that a chunk of the panel serves every row block from L1, measured no faster.) */
#include "../../winograd_plan.h"

#include <immintrin.h>

enum {
    KROWS = 6, /* tiles per micro-kernel */
    KCOLS = 16 /* output channels per micro-kernel */
};

/* c (rows x 16, ldc) = a (rows of a [cinb][lda][16] slice) . b (cinb * 16 x 16 of a row-major panel, ldb), and
 * the lines 64-byte lines from next prefetched into L2, spread over the input channels (this kernel's share of the
 * next piece's panel). rows is a constant at every call. */
WINO_INLINE void kernel(float *c, size_t ldc, const float *a, size_t lda, const float *b, size_t ldb,
                        const float *next, size_t lines, int cinb, int rows)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    for (int cb = 0; cb < cinb; cb++, a += lda * WINO_LANES, b += WINO_LANES * ldb) {
        if (lines) { /* this step's part of the share, into L2, all at once (a line per input channel measured
                        slower at 28x28 and 56x56: runtime/KERNELS.md) */
            size_t from, to;
            wino_spread(lines, cb, cinb, &from, &to);
            for (size_t l = from; l < to; l++) _mm_prefetch((const char *)(next + l * WINO_LANES), _MM_HINT_T1);
        }
#pragma GCC unroll 4
        for (int j = 0; j < WINO_LANES; j++) {
            __m256 b0 = _mm256_loadu_ps(b + j * ldb), b1 = _mm256_loadu_ps(b + j * ldb + 8), av;
#define ROW(r, x0, x1)                                                                                          \
    if (rows > r) {                                                                                            \
        av = _mm256_broadcast_ss(a + r * WINO_LANES + j);                                                      \
        x0 = _mm256_fmadd_ps(av, b0, x0);                                                                      \
        x1 = _mm256_fmadd_ps(av, b1, x1);                                                                      \
    }
            ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
#undef ROW
        }
    }
#define ACC_STORE(r, x0, x1)                                                                                    \
    if (rows > r) _mm256_storeu_ps(c + r * ldc, x0), _mm256_storeu_ps(c + r * ldc + 8, x1);
    ACC_STORE(0, c00, c01) ACC_STORE(1, c10, c11) ACC_STORE(2, c20, c21) ACC_STORE(3, c30, c31)
    ACC_STORE(4, c40, c41) ACC_STORE(5, c50, c51)
#undef ACC_STORE
}

#define KERNEL_CASE(R) \
    case R: kernel(c, ldc, a, lda, b, ldb, next, lines, cinb, R); break;

/* One 6 x 16 kernel with rows <= 6 a run-time value. */
static void sub_block(float *c, size_t ldc, const float *a, size_t lda, const float *b, size_t ldb, const float *next,
                      size_t lines, int cinb, int rows)
{
    switch (rows) { KERNEL_CASE(1) KERNEL_CASE(2) KERNEL_CASE(3) KERNEL_CASE(4) KERNEL_CASE(5) KERNEL_CASE(6) }
}

/* A block of up to 12 x 32 as kernels of up to 6 x 16: columns outside, rows inside, so the 16 columns of b a
 * kernel streams are read again from L1 or L2 by the other rows. The rows are shared evenly among the fewest
 * kernels (9 rows as 5 + 4, not 6 + 3: a kernel of 3 rows has 6 accumulators, fewer than the FMAs in flight). The
 * block's lines of next are shared out among its kernels. (The first kernel of a piece prefetching all of the next
 * panel, 16 lines per 16 input channels with this row's 16-wide panels, was slower: on an Intel Xeon held to this
 * row, 512 -> 512 at 14x14, batch 1, 2.80 against 2.63 ms, at 28x28 6.2 against 6.05; runtime/KERNELS.md.) */
static void block_avx2(float *c, size_t ldc, const float *a, const float *b, const float *next, size_t lines, int cinb,
                       int rows, int width)
{
    int kernels = (rows + KROWS - 1) / KROWS, subs = (width + KCOLS - 1) / KCOLS * kernels, k = 0;
    for (int c0 = 0; c0 < width; c0 += KCOLS)
        for (int i = 0, r0 = 0, n; i < kernels; i++, r0 += n, k++) {
            size_t from, to;
            n = rows / kernels + (i < rows % kernels);
            wino_spread(lines, k, subs, &from, &to);
            sub_block(c + (size_t)r0 * ldc + c0, ldc, a + r0 * WINO_LANES, (size_t)rows, b + c0, (size_t)width,
                      lines ? next + from * WINO_LANES : NULL, to - from, cinb, n);
        }
}

WINO_DEFINE_PIECES(avx2, block_avx2)
