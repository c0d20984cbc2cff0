/* activation.c — a ReLU of its own (one that no conv or Linear before it runs in its epilogue), and softmax over
 * each image's class scores. */
#include "vggc.h"

#include <math.h>

void vggc_relu(float *out,      /* (n, count) */
               const float *in, /* (n, count) */
               int n, int count)
{
    size_t total = (size_t)n * count;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < total; i++) out[i] = in[i] < 0.0f ? 0.0f : in[i]; /* NaN stays NaN, as torch.relu */
}

/* out[b][i] = exp(in[b][i] - max_b) / sum_j exp(in[b][j] - max_b), in double; a NaN score makes the image's
 * outputs NaN, as in torch.softmax. */
void vggc_softmax(float *out,      /* (n, c) */
                  const float *in, /* (n, c) */
                  int n, int c)
{
    for (int b = 0; b < n; b++) {
        const float *x = in + (size_t)b * c;
        float *y = out + (size_t)b * c;
        double top = -INFINITY, sum = 0.0;
        for (int i = 0; i < c; i++) top = x[i] > top || isnan(x[i]) ? x[i] : top;
        for (int i = 0; i < c; i++) sum += exp((double)x[i] - top);
        for (int i = 0; i < c; i++) y[i] = (float)(exp((double)x[i] - top) / sum);
    }
}
