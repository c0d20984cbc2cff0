/* generic/dense.c — the generic row's fully connected chunk (platform.h, dense_job.h): plain C, which the compiler
 * vectorizes over the outputs; each image's partial takes the rows in order. */
#include "../dense_job.h"

void vggc_dense_chunk_generic(float *total,             /* (n, width) */
                              const float *const *rows, /* count (+ the next ones, not used) pointers, each (width) */
                              const float *x,           /* (count, n) */
                              int count, int ahead, int n, int width)
{
    (void)ahead;
    float partial[VGGC_DENSE_PANEL]; /* (width) */
    for (int b = 0; b < n; b++) {
        for (int o = 0; o < width; o++) partial[o] = 0.0f;
        for (int r = 0; r < count; r++) {
            const float *w = rows[r];
            float xr = x[r * n + b];
            for (int o = 0; o < width; o++) partial[o] += xr * w[o];
        }
        for (int o = 0; o < width; o++) total[(size_t)b * width + o] += partial[o];
    }
}
