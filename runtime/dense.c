/* dense.c — fully connected layer, out = in . weight^T + bias, then ReLU, on the weight packed as its transpose (in_f,
 * out_f) in panels of 1024 outputs (vggc.h): a bandwidth-bound pass that reads each input's row of weights once per
 * group of up to VGGC_DENSE_GROUP images, and only if that input is non-zero in one of them (dense_job.h says why that
 * changes no bit); a layer of one panel is cut by its inputs instead, in parts that add up in a fixed order. Written
 * once for every instruction set: the pieces, the chunks and the rows to read are found here,
 * and the rows are added by the kernel row of platform.h (runtime/{generic,x86/avx2,x86/avx512}/dense.c). The naive
 * reference, on the unpacked weight, is beside it. */
#include "dense_job.h"
#include "platform.h"
#include "vggc.h"

#include <omp.h>
#include <stdatomic.h>
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

/* The live rows of the chunk [c0, c0 + DENSE_CHUNK), cut at end, from *i (its first live input) on: their pointers
 * at the piece's first output and their inputs (count, n). Returns the count; *i becomes the first live input after. */
static int gather(const float **rows, float *x, const float *in, const float *packed, int n, int in_f, int out_f,
                  int o0, int c0, int end, int *i)
{
    int c1 = end - c0 < DENSE_CHUNK ? end : c0 + DENSE_CHUNK, count = 0;
    for (; *i < c1; *i = live_from(in, n, in_f, *i + 1), count++) {
        rows[count] = packed + vggc_dense_at(in_f, out_f, *i, o0);
        for (int b = 0; b < n; b++) x[count * n + b] = in[(size_t)b * in_f + *i];
    }
    return count;
}

/* Where a piece's totals go: the inputs [k0, k1) of part `part` of `parts`. With one part the totals are finished
 * into out; with more, the parts take turns in order (turn: the part whose go it is): the first stores its totals,
 * the others add theirs, the last finishes: out = bias + (((t0 + t1) + t2) + ...), whichever threads ran them. */
typedef struct {
    int k0, k1, part, parts;
    atomic_int *turn;
} dense_part;

/* Outputs [o0, o0 + width) of n images over the inputs of part pt: chunk by chunk, its live rows and their inputs
 * gathered (and the next chunk's, which the kernel prefetches), then added into the totals by the kernel row; bias
 * and ReLU last. */
static void piece(const vggc_kernels *k,
                  float *out,          /* (n, out_f) */
                  const float *in,     /* (n, in_f) */
                  const float *packed, /* VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f), in panels */
                  const float *bias,   /* (out_f) */
                  int n, int in_f, int out_f, int o0, int width, int relu, const dense_part *pt)
{
    float total[VGGC_DENSE_GROUP * VGGC_DENSE_PANEL] __attribute__((aligned(64))); /* (n, width): 64 KiB at most */
    float xs[2][DENSE_CHUNK * VGGC_DENSE_GROUP]; /* (count, n): the inputs of this chunk's rows, and the next's */
    const float *rows[2 * DENSE_CHUNK + DENSE_AHEAD]; /* this chunk's, the next's, the last repeated */
    memset(total, 0, (size_t)n * width * sizeof *total);
    int i = live_from(in, n, in_f, pt->k0), now = 0;
    int count = gather(rows, xs[now], in, packed, n, in_f, out_f, o0, pt->k0, pt->k1, &i);
    for (int c0 = pt->k0; c0 < pt->k1; c0 += DENSE_CHUNK) {
        int ahead = c0 + DENSE_CHUNK < pt->k1
                        ? gather(rows + count, xs[!now], in, packed, n, in_f, out_f, o0, c0 + DENSE_CHUNK, pt->k1, &i)
                        : 0;
        if (count > 0) {
            for (int a = 0; a < DENSE_AHEAD; a++) rows[count + ahead + a] = rows[count + ahead - 1];
            k->dense_chunk(total, rows, xs[now], count, ahead, n, width);
        }
        memmove(rows, rows + count, (size_t)ahead * sizeof *rows);
        count = ahead, now = !now;
    }
    if (pt->parts > 1)
        while (atomic_load_explicit(pt->turn, memory_order_acquire) != pt->part) continue; /* the parts before it */
    int first = pt->part == 0, last = pt->part == pt->parts - 1;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < width; o++) {
            float *y = out + (size_t)b * out_f + o0 + o, t = total[(size_t)b * width + o];
            float v = first ? t : *y + t;
            *y = last ? dense_finish(v, bias[o0 + o], relu) : v;
        }
    if (pt->parts > 1) atomic_store_explicit(pt->turn, pt->part + 1, memory_order_release);
}

/* Outputs per piece: a panel (its chunks' rows one contiguous block), or a power-of-two part of one (never two
 * panels' columns) when the panels are fewer than two per thread. */
static int piece_width(int out_f, int threads)
{
    int width = VGGC_DENSE_PANEL;
    while (width > 16 && (out_f + width - 1) / width < 2 * threads) width /= 2;
    return width;
}

/* A layer of one panel (at most VGGC_DENSE_PANEL outputs: VGG's fc8) is cut by its inputs into DENSE_PARTS parts of
 * whole chunks, each a piece over every output, rather than by its outputs: a piece then reads whole rows, one
 * contiguous stream down the panel, where a quarter of each row (256 outputs, 1 KiB of a 4 KiB row) was a new
 * 4 KiB page every row. The parts depend on the shape alone (the sums' order, and so every bit, do not depend on
 * the threads). */
static int parts_of(int chunks, int out_f)
{
    return out_f > VGGC_DENSE_PANEL ? 1 : chunks < DENSE_PARTS ? chunks : DENSE_PARTS;
}

void vggc_dense_on(const vggc_kernels *k, float *out, const float *in, const float *packed, const float *bias,
                   int n, int in_f, int out_f, int relu)
{
    int chunks = (in_f + DENSE_CHUNK - 1) / DENSE_CHUNK, parts = parts_of(chunks, out_f);
    for (int g = 0; g < n; g += VGGC_DENSE_GROUP) {
        int images = n - g < VGGC_DENSE_GROUP ? n - g : VGGC_DENSE_GROUP;
        int width = parts > 1 ? out_f : piece_width(out_f, omp_get_max_threads());
        int pieces = (out_f + width - 1) / width * parts;
        const float *x = in + (size_t)g * in_f; /* (images, in_f) */
        float *y = out + (size_t)g * out_f;     /* (images, out_f) */
        atomic_int turn = 0;                    /* parts > 1: one column of pieces, whose parts go in order */
        /* dynamic: piece p is handed out only after every piece before it, so a part never waits on one not started */
#pragma omp parallel for schedule(dynamic, 1)
        for (int p = 0; p < pieces; p++) {
            int part = p % parts, o0 = p / parts * width, w = out_f - o0 < width ? out_f - o0 : width;
            dense_part pt = {chunks * part / parts * DENSE_CHUNK, chunks * (part + 1) / parts * DENSE_CHUNK, part,
                             parts, &turn};
            if (pt.k1 > in_f) pt.k1 = in_f;
            piece(k, y, x, packed, bias, images, in_f, out_f, o0, w, relu, &pt);
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
