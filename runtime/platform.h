/* platform.h — internal: the one dispatch point of the kernels, a table of entry points per instruction set (as
 * ONNX Runtime's MLAS keeps its platform table).
 *
 * Each row is an instruction set, and its micro-kernels live in their own files, compiled for it and for nothing
 * else: runtime/generic/ (plain C, any CPU), runtime/x86/avx2/ (AVX2 + FMA), runtime/x86/avx512/ (AVX-512F). What
 * every row shares is written once: the planning and threading in winograd.c, direct.c, dense.c and blocked.c,
 * and the transforms' logic in winograd_plan.h and blocked_rows.h, which each row's files include and so compile
 * for their own instruction set. The row is chosen once per process (platform.c): the one VGGC_ISA names if the
 * CPU has it, else the best the CPU has; a row the CPU lacks is never called. Adding an instruction set is its
 * files, one VGGC_DECLARE_KERNELS line below and one row in platform.c.
 */
#ifndef VGGC_PLATFORM_H
#define VGGC_PLATFORM_H

#include "vggc.h"

#include <stddef.h>

typedef struct vggc_wino_plan vggc_wino_plan;   /* winograd_plan.h */
typedef struct vggc_direct_job vggc_direct_job; /* direct_job.h */

typedef struct vggc_kernels {
    const char *name;      /* "avx512", "avx2", "generic": what VGGC_ISA names and vggc_isa() returns */
    int (*supported)(void); /* 1 when this CPU runs it */

    /* Winograd F(m x m, 3 x 3) (winograd.c): the output channels per panel of the transformed weights (their layout,
     * winograd_plan.h), the bytes of V + M of one fused pass of tiles, and one piece of each stage of a pass */
    int wino_panel;
    long wino_pass_bytes;
    void (*wino_input)(const vggc_wino_plan *p, const float *in, int piece);
    void (*wino_gemm)(const vggc_wino_plan *p, const float *u, int piece);
    void (*wino_output)(const vggc_wino_plan *p, float *out, const float *bias, int piece);

    /* direct convolution (direct.c): one piece, a row of tiles of image b x channel blocks [ob0, ob0 + m) */
    int direct_widest;     /* channel blocks a group takes at most: 4, 2 or 1 */
    int direct_reads_nchw; /* its pieces read an NCHW input of at most 16 channels (direct_job.h's in_nchw) */
    void (*direct_piece)(const vggc_direct_job *j, int b, int ob0, int m, int y0);

    /* fully connected (dense.c, dense_job.h): one chunk of rows into the totals of a piece of outputs, for b < n,
     * o < width: total[b * width + o] += (the partial from 0: fma(x[r * n + b], rows[r][o], partial) for r < count
     * in order). rows[count .. count + ahead) are the next chunk's (to prefetch), then DENSE_AHEAD more pointers
     * repeat the last. */
    void (*dense_chunk)(float *total,             /* (n, width), width <= VGGC_DENSE_PANEL */
                        const float *const *rows, /* count + ahead + DENSE_AHEAD pointers, each (width) */
                        const float *x,           /* (count, n) */
                        int count, int ahead, int n, int width);

    /* the blocked layout (blocked.c): one row of 16 channels each, see blocked_rows.h */
    void (*to_blocked_row)(float *out, const float *in, int live, size_t plane, int w);
    void (*from_blocked_row)(float *out, const float *in, int live, size_t plane, int w);
    void (*maxpool_row)(float *out, const float *in, int live, int w, int ow);
    void (*maxpool_window_row)(float *out, const float *in, int h, int w, int ow, const vggc_window *win, int i);
} vggc_kernels;

enum { VGGC_DENSE_GROUP = 16 }; /* images that share one pass over a linear layer's weights */

/* The row the kernels run on, chosen once per process. */
const vggc_kernels *vggc_kernels_active(void);
/* Row i of the table (0 <= i < vggc_kernels_count(), best first), whether or not the CPU has it (tests list the
 * rows they skip by name). */
int vggc_kernels_count(void);
const vggc_kernels *vggc_kernels_row(int i);
/* The row named name, if this CPU runs it; NULL otherwise. */
const vggc_kernels *vggc_kernels_named(const char *name);

/* The entry points one row's files define, named by suffix. */
#define VGGC_DECLARE_KERNELS(isa)                                                                              \
    void vggc_wino_input_##isa(const vggc_wino_plan *p, const float *in, int piece);                         \
    void vggc_wino_gemm_##isa(const vggc_wino_plan *p, const float *u, int piece);                           \
    void vggc_wino_output_##isa(const vggc_wino_plan *p, float *out, const float *bias, int piece);          \
    void vggc_direct_piece_##isa(const vggc_direct_job *j, int b, int ob0, int m, int y0);                   \
    void vggc_dense_chunk_##isa(float *total, const float *const *rows, const float *x, int count, int ahead, \
                                int n, int width);                                                            \
    void vggc_to_blocked_row_##isa(float *out, const float *in, int live, size_t plane, int w);               \
    void vggc_from_blocked_row_##isa(float *out, const float *in, int live, size_t plane, int w);             \
    void vggc_maxpool_row_##isa(float *out, const float *in, int live, int w, int ow);                         \
    void vggc_maxpool_window_row_##isa(float *out, const float *in, int h, int w, int ow, const vggc_window *win, \
                                       int i);

VGGC_DECLARE_KERNELS(generic)
VGGC_DECLARE_KERNELS(avx2)
VGGC_DECLARE_KERNELS(avx512)

/* The entry points of the fast kernels on a given row (the public ones use vggc_kernels_active()); the tests call
 * every row this CPU runs. Same arguments and contracts as in vggc.h; Winograd weights packed for one row are for
 * that row only (their panels are its wino_panel wide). */
void vggc_conv_winograd_on(const vggc_kernels *k, float *out, const float *in, const float *u, const float *bias,
                           float *work, int n, int cin, int h, int w, int cout, int m, int pool);
void vggc_winograd_pack_on(const vggc_kernels *k, float *u, const float *weight, int cin, int cout, int m);
void vggc_conv_direct_on(const vggc_kernels *k, float *out, const float *in, const float *wpack, const float *bias,
                         int n, int cin, int h, int w, int cout, int kk, int pool);
void vggc_conv_direct_ex_on(const vggc_kernels *k, float *out, const float *in, const float *wpack, const float *bias,
                            int n, int cin, int h, int w, int cout, int kk, int stride, int pool,
                            const vggc_epilogue *e);
void vggc_conv_winograd_ex_on(const vggc_kernels *k, float *out, const float *in, const float *u, const float *bias,
                              float *work, int n, int cin, int h, int w, int cout, int m, int pool,
                              const vggc_epilogue *e);
void vggc_conv_direct_nchw_on(const vggc_kernels *k, float *out, const float *in, float *scratch, const float *wpack,
                              const float *bias, int n, int cin, int h, int w, int cout, int kk, int pool);
void vggc_dense_on(const vggc_kernels *k, float *out, const float *in, const float *packed, const float *bias,
                   int n, int in_f, int out_f, int relu);
void vggc_to_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w);
void vggc_from_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w);
void vggc_maxpool2x2_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w);
void vggc_maxpool2d_blocked_on(const vggc_kernels *k, float *out, const float *in, int n, int c, int h, int w, int oh,
                               int ow, const vggc_window *win);

#endif
