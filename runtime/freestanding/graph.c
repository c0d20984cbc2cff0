/* graph.c — where branches meet, for the freestanding build: a residual Add (+ the ReLU after it) and one input of a
 * torch.cat copied into its channel range of the output. NCHW, no library call but memcpy. */
#include "vggc_fs.h"

#include <stddef.h>
#include <string.h>

void vggc_fs_add(float *out,     /* (count) */
                 const float *a, /* (count) */
                 const float *b, /* (count) */
                 int count, int relu)
{
    for (int i = 0; i < count; i++) {
        float s = a[i] + b[i];
        out[i] = relu && s < 0.0f ? 0.0f : s; /* NaN stays NaN, as torch.relu */
    }
}

void vggc_fs_concat_copy(float *out,      /* (n, ctotal, hw) */
                         const float *in, /* (n, c, hw) */
                         int n, int ctotal, int c0, int c, int hw)
{
    size_t block = (size_t)c * hw; /* one image's input: contiguous in its channel range of the output */
    for (int b = 0; b < n; b++)
        memcpy(out + ((size_t)b * ctotal + c0) * hw, in + (size_t)b * block, block * sizeof *out);
}
