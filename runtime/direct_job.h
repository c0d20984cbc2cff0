/* direct_job.h — internal: what every instruction set's direct convolution shares (platform.h): the job of one
 * call and the small helpers its pieces use. direct.c packs the weights, cuts the work in pieces and runs the
 * threads; each row's direct.c computes one piece.
 *
 * Direct convolution k x k (k odd, at most 7), stride 1 or 2, pad k / 2, + bias, the epilogue (a residual added,
 * ReLU or not), and optionally a fused 2x2/2 max pool (stride 1), on blocked tensors. The packed weights are (cpad(cout) / 16, k, k, cin, 16): for one block of 16 output
 * channels, one kernel position and one real input channel, the 16 weights are one vector. A piece is one row of
 * output (two conv rows with the pool; the whole width) x one group of channel blocks x one image, whatever the
 * thread count; each output value is summed by one thread in one fixed order, so results are bitwise the same for
 * any number of threads. Padded input channels are never read (the first VGG layer does the work of 3 channels,
 * not 16), and lanes past cout are written as zero.
 */
#ifndef VGGC_DIRECT_JOB_H
#define VGGC_DIRECT_JOB_H

#include "platform.h"
#include "vggc.h"

#include <math.h>

#define DIRECT_INLINE static inline __attribute__((always_inline))

enum { DIRECT_LANES = 16 }; /* channels per block */

struct vggc_direct_job {
    float *out;         /* blocked (n, cout, oh, ow) */
    const float *in;    /* blocked (n, cin, h, w) */
    const float *wpack; /* (cpad(cout) / 16, k, k, cin, 16) */
    const float *bias;  /* (cout) */
    int cin, h, w, cout, k, pool, oh, ow;
    int widest;         /* channel blocks per group at most */
    int in_nchw;        /* in is NCHW (n, cin, h, w), not blocked: only for rows whose direct_reads_nchw is 1 */
    int stride;         /* 1 or 2: output pixel (y, x) reads input (y * stride + ky - k / 2, x * stride + kx - k / 2) */
    int relu;           /* ReLU last */
    const float *residual; /* NULL, or blocked (n, cout, oh, ow), added before the ReLU */
    int out_blocks;     /* 16-channel blocks per image of the tensor out points into */
    int stream;         /* the output may be written with streaming stores, past the caches (direct.c says when);
                           a row that does ends each piece with a store fence */
};

/* Where block ob of image b of the output (and of the residual) starts: (oh, ow, 16) floats. */
DIRECT_INLINE float *direct_out_plane(const vggc_direct_job *j, int b, int ob)
{
    return j->out + ((size_t)b * j->out_blocks + ob) * j->oh * j->ow * 16;
}

DIRECT_INLINE const float *direct_residual_plane(const vggc_direct_job *j, int b, int ob)
{
    return j->residual ? j->residual + ((size_t)b * (VGGC_CPAD(j->cout) / 16) + ob) * j->oh * j->ow * 16 : NULL;
}

/* Where the input's values are: channel c of pixel (y, x) of image b is at in + b * image + (c / 16) * block +
 * (c % 16) * channel + y * row + x * pixel, in either layout. */
typedef struct {
    size_t image, block, channel, row, pixel;
} direct_strides;

DIRECT_INLINE direct_strides direct_strides_of(const vggc_direct_job *j)
{
    size_t hw = (size_t)j->h * j->w;
    if (j->in_nchw) return (direct_strides){(size_t)j->cin * hw, 16 * hw, hw, (size_t)j->w, 1};
    return (direct_strides){(size_t)(VGGC_CPAD(j->cin) / 16) * 16 * hw, 16 * hw, 1, (size_t)j->w * 16, 16};
}

DIRECT_INLINE int direct_blocks(int c) { return VGGC_CPAD(c) / DIRECT_LANES; }

/* The conv columns a row of tiles covers: all of them, or the pooled ones (floor mode drops an odd last one). */
DIRECT_INLINE int direct_columns(const vggc_direct_job *j) { return j->pool ? 2 * j->ow : j->ow; }

/* Source column sx clamped into the map (a masked-out pixel still reads a valid address). */
DIRECT_INLINE int direct_clamp_col(int sx, int w) { return sx < 0 ? 0 : sx >= w ? w - 1 : sx; }

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d (and vggc_maxpool2x2). */
DIRECT_INLINE float direct_max_nan(float m, float v) { return (v > m || isnan(v)) ? v : m; }

/* v + bias (+ *residual unless NULL), then ReLU if relu. NaN stays NaN, as in torch.relu. */
DIRECT_INLINE float direct_finish(float v, float bias, const float *residual, int relu)
{
    v += bias;
    if (residual) v += *residual;
    return relu && v < 0.0f ? 0.0f : v;
}

/* A tile of tr conv rows x tc columns of output from (y0, x0) whose every source pixel is inside the map. */
DIRECT_INLINE int direct_interior(const vggc_direct_job *j, int y0, int x0, int tr, int tc)
{
    int pad = j->k / 2, s = j->stride;
    return y0 * s - pad >= 0 && (y0 + tr - 1) * s + pad < j->h && x0 * s - pad >= 0 && (x0 + tc - 1) * s + pad < j->w;
}

enum { DIRECT_K_MAX = 7, DIRECT_TAPS_MAX = DIRECT_K_MAX * DIRECT_K_MAX * DIRECT_LANES }; /* k * k * cin, cin <= 16 */

/* Offsets of the taps (ky, kx, ci) in the input from a tile's top-left source pixel, in packed weight order, in the
 * job's input layout: for
 * layers of at most 16 input channels (the first VGG layer), an interior tile runs its k * k * cin taps as one flat
 * loop. */
DIRECT_INLINE int direct_taps_of(int *off, const vggc_direct_job *j)
{
    direct_strides s = direct_strides_of(j);
    int taps = 0;
    for (int ky = 0; ky < j->k; ky++)
        for (int kx = 0; kx < j->k; kx++)
            for (int ci = 0; ci < j->cin; ci++)
                off[taps++] = (int)((size_t)ky * s.row + (size_t)kx * s.pixel + (size_t)ci * s.channel);
    return taps;
}

#endif
