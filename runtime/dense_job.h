/* dense_job.h — internal: what every instruction set's fully connected kernel shares (platform.h).
 *
 * The weight is packed as its transpose, (in_f, out_f), in panels of 1024 outputs (vggc_dense_pack, vggc.h): one
 * input's weights for a panel are one contiguous row. Output o of image b is summed over the inputs in chunks of
 * DENSE_CHUNK, in index order:
 *
 *     total = 0; for each chunk: partial = 0; for each input i of the chunk: partial = fma(x[b][i], w[i][o], partial);
 *     total = total + partial; out = total + bias, then ReLU
 *
 * An input that is zero in every image of a group adds +0 (or -0) to partials that are never -0 (they start at +0,
 * and x + (-0) = x), and the weights are finite (the loader rejects the others), so its row is skipped without
 * changing a bit: after a ReLU about half the inputs are zero, and their rows are never read from memory. Each
 * output's sum depends only on its own image's inputs and the fixed chunks, not on the pieces, the threads, the
 * other images of the group or which rows were skipped: the result is bitwise the same for any number of threads,
 * across runs, and for an image alone or in any batch. dense.c makes each panel a piece (or cuts it when there are
 * too few) and finds each chunk's rows to read; a row's dense_chunk (runtime/{generic,x86/avx2,
 * x86/avx512}/dense.c) adds one chunk's rows into the totals of a piece. */
#ifndef VGGC_DENSE_JOB_H
#define VGGC_DENSE_JOB_H

#include "platform.h"

#include <stddef.h>

enum {
    DENSE_CHUNK = 128, /* inputs summed into a partial before it is added to the total */
    DENSE_AHEAD = 8,   /* pointers after a chunk's next ones (the last repeated): one image prefetches 8 rows ahead */
    DENSE_PARTS = 4,   /* the parts of a one-panel layer's inputs, each a piece (dense.c) */
    DENSE_WALK = 32    /* a batch's tiles go down a chunk's rows 32 at a time, each row prefetching its slice of
                          the row 32 on (see batch() in the rows' dense.c) */
};

/* One image's sweep prefetches the next 8 rows into L2 when they are wider than this in all (8 rows of 512 floats,
 * 16 KiB: 32 KiB of next rows beside the 32 KiB being read overflowed the L1), into L1 otherwise. */
enum { DENSE_SWEEP_L1_FLOATS = 4096 };

/* For a batch's walks: row r + DENSE_WALK of a chunk's rows (count + ahead + DENSE_AHEAD pointers, the chunk's then
 * the next chunk's, the last repeated), r clamped to the last there is; in a chunk with no more than DENSE_WALK
 * pointers, row r itself. Each tile row prefetches the slice it reads from that row. */
typedef struct {
    const float *const *rows; /* rows + DENSE_WALK, or rows */
    int last;                 /* rows[last]: the last pointer there is */
} dense_ahead;

static inline dense_ahead dense_ahead_of(const float *const *rows, int count, int ahead)
{
    int have = count + ahead + DENSE_AHEAD, skip = have > DENSE_WALK ? DENSE_WALK : 0;
    dense_ahead a = {rows + skip, have - 1 - skip};
    return a;
}

static inline const float *dense_ahead_row(const dense_ahead *a, int r) { return a->rows[r < a->last ? r : a->last]; }

/* total + bias, then ReLU if relu. NaN stays NaN, as in torch.relu. */
static inline float dense_finish(float total, float bias, int relu)
{
    float v = total + bias;
    return (relu && v < 0.0f) ? 0.0f : v;
}

/* One image's chunk (dense_chunk with n = 1) on a row's SWEEP(p, w, x, next, rows, width) (p[o] = fma(x[r],
 * w[r][o], p[o]) for r < rows in order, next[r]'s lines prefetched; rows a constant): the rows 8 at a time (8
 * streams from memory; 4 at a time read fc6 at 80 % of the read bandwidth on the AVX2 row, 8 at 89 %) into a
 * partial of the piece, prefetching the rows one sweep ahead (the chunk's, then the next chunk's: rows holds
 * count + ahead + DENSE_AHEAD pointers), then the partial into the total. */
#define DENSE_ONE_IMAGE(SWEEP, total, rows, x, count, width)                                                        \
    do {                                                                                                            \
        float partial_[VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (width) */                               \
        int r_ = 0;                                                                                                 \
        for (int o_ = 0; o_ < (width); o_++) partial_[o_] = 0.0f;                                                   \
        for (; r_ + 8 <= (count); r_ += 8) SWEEP(partial_, (rows) + r_, (x) + r_, (rows) + r_ + 8, 8, (width));     \
        if ((count) - r_ >= 4) SWEEP(partial_, (rows) + r_, (x) + r_, (rows) + r_ + 4, 4, (width)), r_ += 4;          \
        switch ((count) - r_) {                                                                                     \
        case 3: SWEEP(partial_, (rows) + r_, (x) + r_, (rows) + (count), 3, (width)); break;                       \
        case 2: SWEEP(partial_, (rows) + r_, (x) + r_, (rows) + (count), 2, (width)); break;                       \
        case 1: SWEEP(partial_, (rows) + r_, (x) + r_, (rows) + (count), 1, (width)); break;                       \
        default: break;                                                                                             \
        }                                                                                                           \
        for (int o_ = 0; o_ < (width); o_++) (total)[o_] += partial_[o_];                                           \
    } while (0)

#endif
