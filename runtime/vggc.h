/* vggc.h — the vggc runtime: kernels, weight loading and tensor I/O for generated VGG classifiers.
 *
 * Tensors are float32, C-order, NCHW. Kernels take outputs first, dimensions last, and return void: the
 * generator proved every shape before it emitted the call. Only I/O returns an error code, with a message in a
 * vggc_error the caller prints. Nothing here calls exit().
 */
#ifndef VGGC_H
#define VGGC_H

#include <stddef.h>
#include <stdint.h>

#define VGGC_VERSION "0.1.0"

/* ---- the model manifest: what a generated file tells the loader ---------------------------------------- */

typedef struct {
    const char *name;  /* torchvision state_dict name, e.g. "features.0.weight" */
    float *data;       /* static storage in the generated file, count floats; NULL for the weight of a conv that
                        * runs on a prepared copy (vggc_prepare names it): the loader converts it from the file into
                        * a temporary, folds its BatchNorm in and rearranges it into the prepared copy, and keeps no
                        * raw copy, which the fast kernels never read */
    int rank;          /* 1..4 */
    int64_t shape[4];  /* torch shape, unused dims 0 */
    int64_t count;     /* product of shape */
    int is_param;      /* 1 for parameters, 0 for buffers (BatchNorm running_mean / running_var) */
} vggc_tensor;

/* BatchNorm folded into the preceding conv at load time: w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta */
typedef struct {
    float *conv_weight;   /* (channels, per_channel), or NULL when the conv's weight is not kept: the prepare that
                           * names this fold folds it into its temporary copy (vggc_prepare_weight) */
    float *conv_bias;     /* (channels) */
    const float *gamma;   /* (channels) */
    const float *beta;    /* (channels) */
    const float *mean;    /* (channels) */
    const float *var;     /* (channels) */
    int channels;
    int per_channel;      /* in_channels * k * k */
    float eps;            /* 1e-5, as torch.nn.BatchNorm2d */
} vggc_bn_fold;

/* Weights rearranged once at load time, after BatchNorm folding, for a fast kernel: Winograd-transformed (kind
 * VGGC_PREPARE_WINOGRAD, tile m = 2 to 6), packed for the blocked direct convolution (VGGC_PREPARE_DIRECT), or
 * a linear layer's weight (cout, cin) = (out_f, in_f) transposed for vggc_dense (VGGC_PREPARE_DENSE, k = m = 0; the
 * loader writes it straight from the file, chunk by chunk, with no temporary).
 * Only the prepared copy is kept: the raw weight, tensors[tensor], has no storage (data NULL). The loader makes
 * one prepare at a time from the file's tensor, a conv's through a temporary of the largest such conv weight. */
enum { VGGC_PREPARE_WINOGRAD = 1, VGGC_PREPARE_DIRECT = 2, VGGC_PREPARE_DENSE = 3 };
typedef struct {
    int kind;
    float *dst;                /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m), VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k)
                                * or VGGC_DENSE_WEIGHT_FLOATS(cin, cout) */
    int tensor;                /* index in the model's tensors of the raw weight (cout, cin, k, k) or (cout, cin) */
    const vggc_bn_fold *fold;  /* the BatchNorm folded into that weight first (its conv_weight NULL), or NULL */
    int cin, cout, k, m;
} vggc_prepare;

typedef struct {
    const char *name;            /* model name, e.g. "vgg11_224" */
    const vggc_tensor *tensors;  /* in state_dict order */
    int n_tensors;
    const vggc_bn_fold *folds;
    int n_folds;
    int batch, in_c, in_h, in_w, classes;
    int64_t params;              /* sum of count over tensors with is_param (stored or prepared) */
    const vggc_prepare *prepares;
    int n_prepares;
} vggc_model;

/* ---- errors from I/O ----------------------------------------------------------------------------------- */

typedef struct {
    char msg[512];  /* one line, "<where>: <what> (<expected>)", no trailing newline */
} vggc_error;

/* ---- weights: safetensors ------------------------------------------------------------------------------ */

enum { VGGC_MATCH_BY_NAME = 0, VGGC_MATCH_BY_ORDER = 1 };

/* Fill every tensor of m from a safetensors file, fold BatchNorm, and make every prepared weight. Returns 0, or
 * -1 with err set; a rejected file leaves the weights and the prepared weights as they were. A VGGC_ISA naming an
 * instruction set this CPU lacks is an error here too (vggc_check_isa), before anything is read.
 *
 * Memory: the file is mapped read-only, not read into memory, and used in chunks of 8 MiB whose pages are let go
 * (madvise MADV_DONTNEED) once used, both while every value is checked and while the weights are written; so the
 * loader adds about 8 MiB, one temporary (the largest prepared conv's raw weight) and, for a linear layer's packed
 * weight, one chunk converted to floats (at most 16 MiB) to what the model stores.
 * A pipe or another file that cannot be mapped is read whole instead.
 *
 * The file must not change while it loads. Its size is checked against the header before anything is read, and
 * its size and modification time again after every chunk: a change is reported ("changed while loading"), and
 * noticed only after the checks, the message says the weights are partly overwritten. A file truncated by another
 * process while a chunk is read still ends the process with SIGBUS, as for any mapped file: replace a weights file
 * by renaming a new one over it (the loader goes on reading the old one), never by rewriting it in place. */
int vggc_load_safetensors(const vggc_model *m, const char *path, int match, vggc_error *err);
/* The same from memory (data, size bytes), e.g. weights built in with .incbin. The buffer is only read, never
 * released: its pages stay as resident as the caller keeps them. */
int vggc_load_safetensors_mem(const vggc_model *m, const void *data, size_t size, int match, vggc_error *err);
/* Fold every BatchNorm of m into its conv: the bias, and the weight where the model stores it (conv_weight not
 * NULL); the loader calls it. Not idempotent: once per load. */
void vggc_fold_batchnorm(const vggc_model *m);
/* Fold one BatchNorm into a conv weight (f->channels, f->per_channel), in place. */
void vggc_fold_weight(const vggc_bn_fold *f, float *weight);
/* Fill p->dst from weight (cout, cin, k, k), the raw conv weight, after folding p->fold (if any) into it in place;
 * the loader calls it for each prepare with the file's tensor converted into a temporary. */
void vggc_prepare_weight(const vggc_prepare *p, float *weight);

/* ---- tensors: .npy ------------------------------------------------------------------------------------- */

/* Read a float32 little-endian C-order .npy file. On success *data is malloc'ed (caller frees), shape[0..rank)
 * is set and 0 is returned; -1 with err set otherwise. */
int vggc_npy_read(const char *path, float **data, int64_t shape[4], int *rank, vggc_error *err);
int vggc_npy_parse(const void *buf, size_t size, float **data, int64_t shape[4], int *rank, vggc_error *err);
/* Write a float32 .npy atomically (temp file + rename). A directory or a read-only file (no write bit in its mode)
 * at path is not replaced: -1 with err set. */
int vggc_npy_write(const char *path, const float *data, int rank, const int64_t *shape, vggc_error *err);
/* What vggc_npy_write would refuse, found before the work that produces the data: 0, or -1 with err set when path
 * is a directory or a read-only file, or its directory is missing, not a directory or cannot be written. */
int vggc_npy_check_output(const char *path, vggc_error *err);

/* ---- instruction sets --------------------------------------------------------------------------------- */

/* The instruction set the kernels run on, chosen once per process: "avx512", "avx2" or "generic" (the best this
 * CPU has, or the one the environment variable VGGC_ISA names). */
const char *vggc_isa(void);
/* 0 when VGGC_ISA is unset or names an instruction set this CPU has; -1 with err set otherwise (the kernels then
 * run on the best one the CPU has, never on one it lacks). The loaders and the runner call it first. */
int vggc_check_isa(vggc_error *err);

/* ---- threads ------------------------------------------------------------------------------------------- */

/* Threads for the kernels' OpenMP regions, for forward calls made by the calling thread (OpenMP keeps the count
 * per thread: call it in each thread that runs a model). OpenBLAS always runs single-threaded inside them. */
void vggc_set_threads(int threads);

/* ---- kernels ------------------------------------------------------------------------------------------- */

/* Convolution k x k (k odd), stride 1, zero padding k/2 so the map keeps its size, + bias, then ReLU if relu.
 * work holds vggc_conv2d_work(cin, h, w, k) floats (im2col of one image). */
void vggc_conv2d(float *out,          /* (n, cout, h, w) */
                 const float *in,     /* (n, cin, h, w) */
                 const float *weight, /* (cout, cin, k, k) */
                 const float *bias,   /* (cout) */
                 float *work,         /* (cin * k * k, h * w) */
                 int n, int cin, int h, int w, int cout, int k, int relu);
void vggc_conv2d_ref(float *out, const float *in, const float *weight, const float *bias,
                     int n, int cin, int h, int w, int cout, int k, int relu);
#define vggc_conv2d_work(cin, h, w, k) ((k) == 1 ? 0 : (size_t)(cin) * (k) * (k) * (h) * (w))

/* LocalResponseNorm across channels, as torch.nn.LocalResponseNorm(size, alpha, beta, k). */
void vggc_lrn(float *out,      /* (n, c, h, w) */
              const float *in, /* (n, c, h, w) */
              int n, int c, int h, int w, int size, float alpha, float beta, float k);

/* Max pool 2x2, stride 2, floor mode: out is (n, c, h / 2, w / 2). */
void vggc_maxpool2x2(float *out,      /* (n, c, h / 2, w / 2) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w);

/* torch.nn.AdaptiveAvgPool2d((oh, ow)): bin i spans [floor(i * h / oh), ceil((i + 1) * h / oh)). */
void vggc_adaptive_avgpool(float *out,      /* (n, c, oh, ow) */
                           const float *in, /* (n, c, h, w) */
                           int n, int c, int h, int w, int oh, int ow);

/* Fully connected: out = in . weight^T + bias, then ReLU if relu, on the weight packed by vggc_dense_pack (the
 * generated code's loader packs it). Each input's weights are read only if the input is non-zero in some image of
 * the batch (in a group of 16): after a ReLU about half are zero, and skipping them changes no bit
 * (runtime/dense_job.h). Bitwise the same for any thread count and batch.
 *
 * The packed weight is the transpose (in_f, out_f) cut into panels of VGGC_DENSE_PANEL outputs (the last one
 * narrower, its width rounded up to 16): panel p, outputs [1024 p, 1024 p + wp), is (in_f, ld) with ld = wp
 * rounded up to an odd number of 16-float lines (1040 for 1024), contiguous, after the panels before it; the
 * columns past the outputs are zero. So one input's weights for a panel are one contiguous row (4 KiB: a skipped
 * row is a page the hardware prefetcher does not fetch), and the rows of consecutive inputs, an odd number of
 * lines apart, fall in different cache sets. */
#define VGGC_DENSE_PANEL 1024
#define VGGC_DENSE_WIDTH(out_f) (((size_t)(out_f) + 15) / 16 * 16)
#define VGGC_DENSE_LD(wp) ((size_t)16 * (((size_t)(wp) / 16) | 1)) /* a panel's row stride, wp a multiple of 16 */
#define VGGC_DENSE_COLUMNS(out_f)                                                                                   \
    (VGGC_DENSE_WIDTH(out_f) / VGGC_DENSE_PANEL * VGGC_DENSE_LD(VGGC_DENSE_PANEL) +                                 \
     (VGGC_DENSE_WIDTH(out_f) % VGGC_DENSE_PANEL ? VGGC_DENSE_LD(VGGC_DENSE_WIDTH(out_f) % VGGC_DENSE_PANEL) : 0))
#define VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f) ((size_t)(in_f) * VGGC_DENSE_COLUMNS(out_f))
/* Where weight[o][i] is in the packed weight. */
static inline size_t vggc_dense_at(int in_f, int out_f, int i, int o)
{
    size_t panel = (size_t)o / VGGC_DENSE_PANEL, p0 = panel * VGGC_DENSE_PANEL, left = VGGC_DENSE_WIDTH(out_f) - p0;
    size_t ld = VGGC_DENSE_LD(left < VGGC_DENSE_PANEL ? left : VGGC_DENSE_PANEL);
    return (size_t)in_f * panel * VGGC_DENSE_LD(VGGC_DENSE_PANEL) + (size_t)i * ld + ((size_t)o - p0);
}
void vggc_dense_pack(float *packed,       /* VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f), in panels */
                     const float *weight, /* (out_f, in_f), torch.nn.Linear's */
                     int in_f, int out_f);
void vggc_dense(float *out,          /* (n, out_f) */
                const float *in,     /* (n, in_f) */
                const float *packed, /* VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f), in panels */
                const float *bias,   /* (out_f) */
                int n, int in_f, int out_f, int relu);
/* The naive reference, on the unpacked weight (out_f, in_f), summed in double. */
void vggc_linear_ref(float *out, const float *in, const float *weight, const float *bias,
                     int n, int in_f, int out_f, int relu);

/* ---- the blocked layout of the fast path ----------------------------------------------------------------
 * A blocked tensor (n, c, h, w) is stored as (n, cpad / 16, h, w, 16) with cpad = VGGC_CPAD(c): channel ch of
 * pixel (y, x) is at [ch / 16][y][x][ch % 16]. Channels c..cpad-1 are zero, and every kernel that writes a
 * blocked tensor writes them as zero. Kernels split work over OpenMP threads in pieces that do not depend on
 * the thread count, so results are bitwise the same for any number of threads. */
#define VGGC_CPAD(c) (((c) + 15) / 16 * 16)
#define VGGC_BLOCKED_FLOATS(n, c, h, w) ((size_t)(n) * VGGC_CPAD(c) * (h) * (w))

void vggc_to_blocked(float *out,      /* blocked (n, c, h, w) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w);
void vggc_from_blocked(float *out,      /* (n, c, h, w) */
                       const float *in, /* blocked (n, c, h, w) */
                       int n, int c, int h, int w);
/* Max pool 2x2, stride 2, floor mode, on blocked tensors. */
void vggc_maxpool2x2_blocked(float *out,      /* blocked (n, c, h / 2, w / 2) */
                             const float *in, /* blocked (n, c, h, w) */
                             int n, int c, int h, int w);

/* What a blocked convolution does after its sum, and where it writes (the _ex entry points below; the plain ones
 * use {1, NULL, 0}: ReLU, no residual, a tensor of their own). */
typedef struct {
    int relu;              /* ReLU last, after the bias and the residual (NaN stays NaN, as torch.relu) */
    const float *residual; /* NULL, or blocked (n, cout, oh, ow) added before the ReLU: torch's out += identity */
    int out_blocks;        /* 16-channel blocks per image of the tensor out points into; 0: cpad(cout) / 16. A conv
                              that writes channels [16 b0, 16 b0 + cout) of a torch.cat along channels of blocked
                              tensors gets out + 16 * b0 * oh * ow and the concatenation's block count */
} vggc_epilogue;

/* Direct convolution k x k (k = 1 or 3), stride 1, pad k / 2, + bias, ReLU, then a 2x2/2 max pool if pool
 * (out is then h / 2 x w / 2, floor), on blocked tensors. wpack comes from vggc_direct_pack. */
#define VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) ((size_t)VGGC_CPAD(cout) * (cin) * (k) * (k))
void vggc_direct_pack(float *wpack,        /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                      const float *weight, /* (cout, cin, k, k) */
                      int cin, int cout, int k);
void vggc_conv_direct(float *out,          /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                      const float *in,     /* blocked (n, cin, h, w) */
                      const float *wpack,  /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                      const float *bias,   /* (cout) */
                      int n, int cin, int h, int w, int cout, int k, int pool);

/* The same convolution reading an NCHW input of at most 16 channels (the network's own input), so that no layout
 * conversion runs before it. scratch holds VGGC_BLOCKED_FLOATS(n, cin, h, w) floats: kernels that read only
 * blocked input convert into it first. */
void vggc_conv_direct_nchw(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                           const float *in,    /* (n, cin, h, w) */
                           float *scratch,     /* VGGC_BLOCKED_FLOATS(n, cin, h, w) */
                           const float *wpack, /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                           const float *bias,  /* (cout) */
                           int n, int cin, int h, int w, int cout, int k, int pool);

/* Direct convolution k x k (k odd, at most 7), stride 1 or 2, pad k / 2, + bias, then the epilogue e; a 2x2/2 max
 * pool after it if pool (stride 1, no residual). out is (n, cout, oh, ow) with oh = (h - 1) / stride + 1 (halved,
 * floor, with the pool), blocked, inside the tensor e->out_blocks describes. */
void vggc_conv_direct_ex(float *out, const float *in, const float *wpack, const float *bias, int n, int cin, int h,
                         int w, int cout, int k, int stride, int pool, const vggc_epilogue *e);

/* Winograd F(m x m, 3 x 3), m = 2, 3, 4, 5 or 6: 3x3 convolution, stride 1, pad 1, + bias, ReLU, then a 2x2/2 max
 * pool if pool (m even only), on blocked tensors. u comes from vggc_winograd_pack (the transformed weights); work holds
 * VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m) floats. The transform-domain products are GEMMs. */
#define VGGC_WINOGRAD_TILES(n, h, w, m) ((size_t)(n) * (((h) + (m) - 1) / (m)) * (((w) + (m) - 1) / (m)))
#define VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) ((size_t)((m) + 2) * ((m) + 2) * VGGC_CPAD(cin) * VGGC_CPAD(cout))
#define VGGC_WINOGRAD_SKEW 16 /* floats after each transform point's V and M (runtime/winograd.c) */
#define VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m)                                                      \
    ((size_t)((m) + 2) * ((m) + 2) *                                                                          \
     (VGGC_CPAD(VGGC_WINOGRAD_TILES(n, h, w, m)) * (VGGC_CPAD(cin) + VGGC_CPAD(cout)) + 2 * VGGC_WINOGRAD_SKEW))
void vggc_winograd_pack(float *u,            /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                        const float *weight, /* (cout, cin, 3, 3) */
                        int cin, int cout, int m);
/* The same with the epilogue e (the plain call is ReLU, no residual, an output of its own); pool needs no residual. */
void vggc_conv_winograd_ex(float *out, const float *in, const float *u, const float *bias, float *work, int n, int cin,
                           int h, int w, int cout, int m, int pool, const vggc_epilogue *e);
void vggc_conv_winograd(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                        const float *in,    /* blocked (n, cin, h, w) */
                        const float *u,     /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                        const float *bias,  /* (cout) */
                        float *work,        /* VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m) */
                        int n, int cin, int h, int w, int cout, int m, int pool);

/* ---- general layers: any window, as PyTorch defines Conv2d, MaxPool2d and AvgPool2d -----------------------
 * The generator computes every output size (floor or ceil mode, gen/sizes.lua) and passes it; a window reads
 * zeros (conv), nothing (max) or counted padding (average) outside the map. */

/* A sliding window: kernel kh x kw, stride sh x sw, padding top/left/bottom/right, dilation dh x dw. */
typedef struct {
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
} vggc_window;

/* Conv2d, any window, + bias, then ReLU if relu: im2col + SGEMM (the fallback for every conv the fast kernels
 * above do not fit). work holds vggc_conv2d_general_work(cin, oh, ow, win) floats (the unfolded image). */
#define vggc_conv2d_general_work(cin, oh, ow, win) ((size_t)(cin) * (win)->kh * (win)->kw * (oh) * (ow))
void vggc_conv2d_general(float *out,          /* (n, cout, oh, ow) */
                         const float *in,     /* (n, cin, h, w) */
                         const float *weight, /* (cout, cin, kh, kw) */
                         const float *bias,   /* (cout) */
                         float *work,         /* (cin * kh * kw, oh * ow); unused for 1x1, stride 1, no padding */
                         int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_window *win, int relu);
void vggc_conv2d_general_ref(float *out, const float *in, const float *weight, const float *bias,
                             int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_window *win, int relu);

/* MaxPool2d, any window (padding never wins; a NaN does). */
void vggc_maxpool2d(float *out,      /* (n, c, oh, ow) */
                    const float *in, /* (n, c, h, w) */
                    int n, int c, int h, int w, int oh, int ow, const vggc_window *win);
void vggc_maxpool2d_ref(float *out, const float *in, int n, int c, int h, int w, int oh, int ow,
                        const vggc_window *win);

/* AvgPool2d, any window without dilation; count_pad is count_include_pad. */
void vggc_avgpool2d(float *out,      /* (n, c, oh, ow) */
                    const float *in, /* (n, c, h, w) */
                    int n, int c, int h, int w, int oh, int ow, const vggc_window *win, int count_pad);
void vggc_avgpool2d_ref(float *out, const float *in, int n, int c, int h, int w, int oh, int ow,
                        const vggc_window *win, int count_pad);

/* The same two pools on blocked tensors (16 lanes of a pixel at once), each channel's bits those of the NCHW kernel
 * on the same channel; padded channels stay 0. */
void vggc_maxpool2d_blocked(float *out,      /* blocked (n, c, oh, ow) */
                            const float *in, /* blocked (n, c, h, w) */
                            int n, int c, int h, int w, int oh, int ow, const vggc_window *win);
void vggc_avgpool2d_blocked(float *out,      /* blocked (n, c, oh, ow) */
                            const float *in, /* blocked (n, c, h, w) */
                            int n, int c, int h, int w, int oh, int ow, const vggc_window *win, int count_pad);

/* ReLU on its own: out = max(in, 0). */
void vggc_relu(float *out,      /* (n, count) */
               const float *in, /* (n, count) */
               int n, int count);

/* ---- where branches meet: torch's `out += identity` and torch.cat along channels ------------------------------
 * (the residual a blocked conv cannot take in its epilogue, and the inputs of a concatenation that their producers
 * could not write in place). Either layout: count is the tensor's floats, VGGC_BLOCKED_FLOATS for a blocked one
 * (its padded lanes are zero in both inputs, so they stay zero). */
void vggc_add(float *out,      /* (count) */
              const float *a,  /* (count) */
              const float *b,  /* (count) */
              size_t count, int relu);
void vggc_add_ref(float *out, const float *a, const float *b, size_t count, int relu);

/* Channels [c0, c0 + c) of out are in; nothing else of out is written. */
void vggc_concat_copy(float *out,     /* (n, ctotal, h, w) */
                      const float *in, /* (n, c, h, w) */
                      int n, int ctotal, int c0, int c, int h, int w);
void vggc_concat_copy_ref(float *out, const float *in, int n, int ctotal, int c0, int c, int h, int w);
/* The same on blocked tensors, any c0; when the range ends at ctotal, the padded lanes after it are zeroed too. */
void vggc_concat_copy_blocked(float *out,      /* blocked (n, ctotal, h, w) */
                              const float *in, /* blocked (n, c, h, w) */
                              int n, int ctotal, int c0, int c, int h, int w);
void vggc_concat_copy_blocked_ref(float *out, const float *in, int n, int ctotal, int c0, int c, int h, int w);

/* Softmax over each image's c scores (torch.softmax(x, dim=1)), in double. */
void vggc_softmax(float *out,      /* (n, c) */
                  const float *in, /* (n, c) */
                  int n, int c);

#endif
