/* pieces.h — internal: the vector a row's file works in, for the code written once and compiled per instruction set
 * (winograd_plan.h, blocked_rows.h). 16 channels (one blocked pixel) are handled as pieces of the register width of
 * the file they are compiled in: GCC/Clang generic vectors of 16, 8 or 4 floats, which the compiler maps to zmm, ymm
 * or xmm registers (a 16-float generic vector on AVX2 or SSE lives in memory, and its comparisons are lowered lane by
 * lane). Loads and stores go through memcpy (any alignment). A comparison gives all-ones or zero lanes of the mask
 * type. */
#ifndef VGGC_PIECES_H
#define VGGC_PIECES_H

#include <string.h>

#if defined(__AVX512F__)
#define VGGC_PIECE 16
#elif defined(__AVX__)
#define VGGC_PIECE 8
#else
#define VGGC_PIECE 4
#endif
typedef float vggc_piece __attribute__((vector_size(VGGC_PIECE * 4)));
typedef int vggc_piece_mask __attribute__((vector_size(VGGC_PIECE * 4)));
#define VGGC_PIECE_LOAD(v, p) memcpy(&(v), (p), sizeof(vggc_piece))
#define VGGC_PIECE_STORE(p, v) memcpy((p), &(v), sizeof(vggc_piece))

/* The larger of a and v lane by lane; a NaN in v wins, a NaN in a stays (as torch.nn.MaxPool2d). */
static inline __attribute__((always_inline)) vggc_piece vggc_piece_max_nan(vggc_piece a, vggc_piece v)
{
    vggc_piece_mask take = (v > a) | (v != v);
    return (vggc_piece)(((vggc_piece_mask)v & take) | ((vggc_piece_mask)a & ~take));
}

#endif
