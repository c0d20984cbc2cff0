/* vggc_fs.h — the freestanding kernels: what a microcontroller build of a vggc network links (vggc generate
 * --target cortex-m4|cortex-m7|cortex-m33). Read README.md beside this file before adding to it: no malloc, no
 * stdio, no OS, no OpenMP; nothing from libc but memcpy/memset and math.h (expf, powf).
 *
 * Tensors are float32, C-order, NCHW. Kernels take outputs first, dimensions last, return void (the generator
 * proved every shape), never alias their output with an input, and use no memory but their arguments and a few
 * hundred bytes of stack (VGGC_FS_STACK_BYTES bounds one call's frame chain; the generator adds it to the RAM it
 * reports). Every fast kernel has its plain loop-nest reference (_ref) beside it; `--conv naive` runs only those.
 */
#ifndef VGGC_FS_H
#define VGGC_FS_H

/* An upper bound of the stack one kernel call uses, its own frame and its helpers' (checked by the firmware test,
 * which paints the stack under QEMU, and by tests/test_freestanding.c's -fstack-usage check). */
#define VGGC_FS_STACK_BYTES 256

/* A sliding window: kernel kh x kw, stride sh x sw, padding top/left/bottom/right, dilation dh x dw. */
typedef struct {
    int kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
} vggc_fs_window;

/* ---- convolution, + bias, then ReLU if relu ------------------------------------------------------------ */

/* Any window (the "direct" algorithm): each output's window clipped to the map once per row and column. */
void vggc_fs_conv(float *out,          /* (n, cout, oh, ow) */
                  const float *in,     /* (n, cin, h, w) */
                  const float *weight, /* (cout, cin, kh, kw) */
                  const float *bias,   /* (cout) */
                  int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_fs_window *win, int relu);
/* The plain loop nest: every tap of every output, bounds tested per tap ("naive"). */
void vggc_fs_conv_ref(float *out, const float *in, const float *weight, const float *bias,
                      int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_fs_window *win, int relu);

/* 3x3, stride 1, padding 1 ("conv3x3"): a sliding 3x3 window of registers along each row, one input plane at a
 * time into the output plane; then a 2x2/2 max pool (floor) if pool, out being (n, cout, h / 2, w / 2). With pool
 * the unpooled plane goes through scratch (h * w floats); without, scratch is unused (NULL). */
void vggc_fs_conv3x3(float *out,          /* (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                     const float *in,     /* (n, cin, h, w) */
                     const float *weight, /* (cout, cin, 3, 3) */
                     const float *bias,   /* (cout) */
                     float *scratch,      /* (h, w) if pool, else NULL */
                     int n, int cin, int h, int w, int cout, int relu, int pool);

/* 1x1, stride 1, no padding ("pointwise"): four input planes at a time into each output plane. */
void vggc_fs_conv1x1(float *out,          /* (n, cout, hw) */
                     const float *in,     /* (n, cin, hw) */
                     const float *weight, /* (cout, cin) */
                     const float *bias,   /* (cout) */
                     int n, int cin, int hw, int cout, int relu);

/* ---- fully connected: out = in . weight^T + bias, then ReLU if relu ------------------------------------- */

/* Four output rows at a time, each input read once per four rows. */
void vggc_fs_linear(float *out,          /* (n, out_f) */
                    const float *in,     /* (n, in_f) */
                    const float *weight, /* (out_f, in_f) */
                    const float *bias,   /* (out_f) */
                    int n, int in_f, int out_f, int relu);
void vggc_fs_linear_ref(float *out, const float *in, const float *weight, const float *bias,
                        int n, int in_f, int out_f, int relu);

/* ---- pools: PyTorch's MaxPool2d, AvgPool2d, AdaptiveAvgPool2d ------------------------------------------
 * The generator computes every output size (floor or ceil mode) and passes it. A padded cell never wins a max and
 * a NaN always does; an average's divisor counts the padding the window covers when count_pad
 * (count_include_pad), never the cells past the padding that ceil mode adds. */
void vggc_fs_maxpool(float *out,      /* (n, c, oh, ow) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w, int oh, int ow, const vggc_fs_window *win);
void vggc_fs_avgpool(float *out,      /* (n, c, oh, ow) */
                     const float *in, /* (n, c, h, w) */
                     int n, int c, int h, int w, int oh, int ow, const vggc_fs_window *win, int count_pad);
/* bin i spans [floor(i * h / oh), ceil((i + 1) * h / oh)) */
void vggc_fs_adaptive_avgpool(float *out,      /* (n, c, oh, ow) */
                              const float *in, /* (n, c, h, w) */
                              int n, int c, int h, int w, int oh, int ow);

/* ---- the rest ----------------------------------------------------------------------------------------- */

void vggc_fs_relu(float *out,      /* (count) */
                  const float *in, /* (count) */
                  int count);
/* torch.softmax(x, dim=1) per image; a NaN score makes the image's outputs NaN. */
void vggc_fs_softmax(float *out,      /* (n, c) */
                     const float *in, /* (n, c) */
                     int n, int c);
/* torch.nn.LocalResponseNorm(size, alpha, beta, k) across channels. */
void vggc_fs_lrn(float *out,      /* (n, c, h, w) */
                 const float *in, /* (n, c, h, w) */
                 int n, int c, int h, int w, int size, float alpha, float beta, float k);

/* ---- where branches meet --------------------------------------------------------------------------------- */

/* out = a + b, then ReLU if relu (torch: out += identity; relu(out)). */
void vggc_fs_add(float *out,     /* (count) */
                 const float *a, /* (count) */
                 const float *b, /* (count) */
                 int count, int relu);
/* torch.cat(..., 1): one input's c channels into channels [c0, c0 + c) of out; nothing else of out is written. */
void vggc_fs_concat_copy(float *out,      /* (n, ctotal, hw) */
                         const float *in, /* (n, c, hw) */
                         int n, int ctotal, int c0, int c, int hw);

#endif
