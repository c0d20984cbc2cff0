/* dense_job.h — internal: what every instruction set's fully connected rows share (platform.h). dense.c cuts the
 * output rows in pieces of DENSE_PIECE_ROWS whatever the thread count, and groups of up to VGGC_DENSE_GROUP images
 * that share one pass over the weights; each row's dense.c computes one piece, each output value one dot product
 * summed by one thread in a fixed order that does not depend on the other images. So the result is bitwise the
 * same for any number of threads, across runs, and for an image alone or in any batch. */
#ifndef VGGC_DENSE_JOB_H
#define VGGC_DENSE_JOB_H

#include "platform.h"

#include <stddef.h>

enum { DENSE_PIECE_ROWS = 48 }; /* output rows per piece: a multiple of every row's tile heights (8, 6, 4) */

/* sum + bias, then ReLU if relu. NaN stays NaN, as in torch.relu. */
static inline float dense_finish(float sum, float bias, int relu)
{
    float v = sum + bias;
    return (relu && v < 0.0f) ? 0.0f : v;
}

#endif
