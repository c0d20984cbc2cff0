/* dense.c — fully connected layer, out = in . weight^T + bias, then ReLU, on the weight packed as its transpose (in_f,
 * out_f) in panels of 1024 outputs (vggc.h): a bandwidth-bound pass that reads each input's row of weights once per
 * group of up to VGGC_DENSE_GROUP images, and only if that input is non-zero in one of them (dense_job.h says why that
 * changes no bit). Written once for every instruction set: the pieces, the chunks and the rows to read are found here,
 * and the rows are added by the kernel row of platform.h (runtime/{generic,x86/avx2,x86/avx512}/dense.c). The naive
 * reference, on the unpacked weight, is beside it. */
#include "dense_job.h"
#include "platform.h"
#include "vggc.h"

#include <omp.h>
#include <string.h>

void vggc_dense_pack(float *packed,       /* VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f), in panels */
                     const float *weight, /* (out_f, in_f) */
                     int in_f, int out_f)
{
    enum { TILE = 16 }; /* a 16 x 16 block at a time: whole lines on both sides */
    memset(packed, 0, VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f) * sizeof *packed);
    for (int o0 = 0; o0 < out_f; o0 += TILE)
        for (int i0 = 0; i0 < in_f; i0 += TILE)
            for (int i = i0; i < i0 + TILE && i < in_f; i++)
                for (int o = o0; o < o0 + TILE && o < out_f; o++)
                    packed[vggc_dense_at(in_f, out_f, i, o)] = weight[(size_t)o * in_f + i];
}

/* The next input at or after i that is non-zero in one of the n images (NaN counts as non-zero), or in_f. */
static int live_from(const float *x, /* (n, in_f) */
                     int n, int in_f, int i)
{
    for (; i < in_f; i++)
        for (int b = 0; b < n; b++)
            if (x[(size_t)b * in_f + i] != 0.0f) return i;
    return in_f;
}

/* The live rows of the chunk [c0, c0 + DENSE_CHUNK) from *i (its first live input) on: their pointers at the
 * piece's first output and their inputs (count, n). Returns the count; *i becomes the first live input after. */
static int gather(const float **rows, float *x, const float *in, const float *packed, int n, int in_f, int out_f,
                  int o0, int c0, int *i)
{
    int c1 = in_f - c0 < DENSE_CHUNK ? in_f : c0 + DENSE_CHUNK, count = 0;
    for (; *i < c1; *i = live_from(in, n, in_f, *i + 1), count++) {
        rows[count] = packed + vggc_dense_at(in_f, out_f, *i, o0);
        for (int b = 0; b < n; b++) x[count * n + b] = in[(size_t)b * in_f + *i];
    }
    return count;
}

/* Outputs [o0, o0 + width) of n images: chunk by chunk, its live rows and their inputs gathered (and the next
 * chunk's, which the kernel prefetches), then added into the totals by the kernel row; bias and ReLU last. */
static void piece(const vggc_kernels *k,
                  float *out,          /* (n, out_f) */
                  const float *in,     /* (n, in_f) */
                  const float *packed, /* VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f), in panels */
                  const float *bias,   /* (out_f) */
                  int n, int in_f, int out_f, int o0, int width, int relu)
{
    float total[VGGC_DENSE_GROUP * VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (n, width): 64 KiB at most */
    float xs[2][DENSE_CHUNK * VGGC_DENSE_GROUP]; /* (count, n): the inputs of this chunk's rows, and the next's */
    const float *rows[2 * DENSE_CHUNK + DENSE_AHEAD]; /* this chunk's, the next's, the last repeated */
    memset(total, 0, (size_t)n * width * sizeof *total);
    int i = live_from(in, n, in_f, 0), now = 0;
    int count = gather(rows, xs[now], in, packed, n, in_f, out_f, o0, 0, &i);
    for (int c0 = 0; c0 < in_f; c0 += DENSE_CHUNK) {
        int ahead = c0 + DENSE_CHUNK < in_f
                        ? gather(rows + count, xs[!now], in, packed, n, in_f, out_f, o0, c0 + DENSE_CHUNK, &i)
                        : 0;
        if (count > 0) {
            for (int a = 0; a < DENSE_AHEAD; a++) rows[count + ahead + a] = rows[count + ahead - 1];
            k->dense_chunk(total, rows, xs[now], count, ahead, n, width);
        }
        memmove(rows, rows + count, (size_t)ahead * sizeof *rows);
        count = ahead, now = !now;
    }
    for (int b = 0; b < n; b++)
        for (int o = 0; o < width; o++)
            out[(size_t)b * out_f + o0 + o] = dense_finish(total[(size_t)b * width + o], bias[o0 + o], relu);
}

/* Outputs per piece: a panel (its chunks' rows one contiguous block), or a power-of-two part of one (never two
 * panels' columns) when the panels are fewer than two per thread. */
static int piece_width(int out_f, int threads)
{
    int width = VGGC_DENSE_PANEL;
    while (width > 16 && (out_f + width - 1) / width < 2 * threads) width /= 2;
    return width;
}

void vggc_dense_on(const vggc_kernels *k, float *out, const float *in, const float *packed, const float *bias,
                   int n, int in_f, int out_f, int relu)
{
    for (int g = 0; g < n; g += VGGC_DENSE_GROUP) {
        int images = n - g < VGGC_DENSE_GROUP ? n - g : VGGC_DENSE_GROUP;
        int width = piece_width(out_f, omp_get_max_threads()), pieces = (out_f + width - 1) / width;
        const float *x = in + (size_t)g * in_f; /* (images, in_f) */
        float *y = out + (size_t)g * out_f;     /* (images, out_f) */
#pragma omp parallel for schedule(dynamic, 1)
        for (int p = 0; p < pieces; p++) {
            int o0 = p * width, w = out_f - o0 < width ? out_f - o0 : width;
            piece(k, y, x, packed, bias, images, in_f, out_f, o0, w, relu);
        }
    }
}

void vggc_dense(float *out,          /* (n, out_f) */
                const float *in,     /* (n, in_f) */
                const float *packed, /* VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f): vggc_dense_pack */
                const float *bias,   /* (out_f) */
                int n, int in_f, int out_f, int relu)
{
    vggc_dense_on(vggc_kernels_active(), out, in, packed, bias, n, in_f, out_f, relu);
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
