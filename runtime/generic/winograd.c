/* generic/winograd.c — the generic row's Winograd pieces (platform.h): the transforms of winograd_plan.h compiled
 * for any CPU, and a plain C GEMM block. */
#include "../winograd_plan.h"

/* c (rows x width, ldc) = a (rows x cinp, [cinp / 16][rows][16]) . b (cinp x width); next is not used. */
static void block_generic(float *c, size_t ldc, const float *a, const float *b, const float *next, size_t lines,
                          int cinb, int rows, int width)
{
    (void)next, (void)lines;
    for (int r = 0; r < rows; r++) {
        float acc[WINO_PANEL] = {0};
        for (int k = 0; k < cinb * WINO_LANES; k++) {
            float av = a[(size_t)(k / WINO_LANES) * rows * WINO_LANES + r * WINO_LANES + k % WINO_LANES];
            const float *br = b + (size_t)k * width;
            for (int col = 0; col < width; col++) acc[col] += av * br[col];
        }
        memcpy(c + r * ldc, acc, (size_t)width * sizeof(float));
    }
}

WINO_DEFINE_PIECES(generic, block_generic)
