/* direct.c — the direct convolution on blocked tensors (direct_job.h), written once for every instruction set:
 * the packing of its weights, the pieces of work and the threads. Each piece runs on the kernel row of platform.h
 * (runtime/{generic,x86/avx2,x86/avx512}/direct.c). The naive reference is vggc_conv2d_ref then vggc_maxpool2x2 on
 * NCHW (tests/test_blocked.c compares every row with it). */
#include "direct_job.h"
#include "platform.h"
#include "vggc.h"

#include <stdint.h>

void vggc_direct_pack(float *wpack,        /* (cpad(cout) / 16, k, k, cin, 16) */
                      const float *weight, /* (cout, cin, k, k) */
                      int cin, int cout, int k)
{
    for (int ob = 0; ob < direct_blocks(cout); ob++)
        for (int pos = 0; pos < k * k; pos++)
            for (int ci = 0; ci < cin; ci++) {
                float *v = wpack + (((size_t)ob * k * k + pos) * cin + ci) * DIRECT_LANES;
                for (int l = 0, co = ob * DIRECT_LANES; l < DIRECT_LANES; l++, co++)
                    v[l] = co < cout ? weight[((size_t)co * cin + ci) * k * k + pos] : 0.0f;
            }
}

/* How many channel blocks a group takes at most: the row's register tile (platform.c), but at most 2 for 1x1
 * layers with many input channels, whose weights for 2 blocks stay in L1 (measured 10-20 % faster on AVX-512), and
 * 4 for layers of at most 16 input channels whatever the tile: a piece's few input rows are then read once and
 * serve 4 blocks from L1 (a piece per block read the image 4 times, the last 3 from L2 or L3). On the AVX2 row (a
 * tile of one block) VGG's first conv, 3 -> 64 at 224, in the model on a Zen 5 (one binary, alternated): 1.66 ->
 * 1.40 ms (VGG11 b1) and 1.29 -> 1.16 (VGG16) in two runs, within 2 % in two later ones, +6 % in one (VGG16). */
static int widest_group(const vggc_kernels *kern, int cin, int k)
{
    if (cin <= DIRECT_LANES) return 4;
    return (k == 1 && kern->direct_widest > 2) ? 2 : kern->direct_widest;
}

/* Channel blocks are taken in groups of `widest` (4, 2 or 1), then one of 2 and one of 1 for what is left: group g
 * starts at block *ob0 and has *m blocks. */
static int group_count(int nob, int widest)
{
    int fours = widest == 4 ? nob / 4 : 0, rest = nob - 4 * fours;
    return widest == 1 ? nob : fours + rest / 2 + rest % 2;
}

static void group_of(int nob, int widest, int g, int *ob0, int *m)
{
    int fours = widest == 4 ? nob / 4 : 0, twos = (nob - 4 * fours) / 2;
    if (widest == 1) *ob0 = g, *m = 1;
    else if (g < fours) *ob0 = 4 * g, *m = 4;
    else if (g < fours + twos) *ob0 = 4 * fours + 2 * (g - fours), *m = 2;
    else *ob0 = nob - 1, *m = 1;
}

/* Whether the output goes past the caches: an unpooled layer of at most 16 input channels (a network's first conv)
 * whose map is larger than the L2s (STREAM_MIN_BYTES: VGG16's 3 -> 64 at 224 writes 12.8 MB) writes it once and
 * the next layer reads it once, so the caches gain nothing from its lines and a normal store first reads each line
 * from memory; a smaller map (a CIFAR net's, 256 KB) is better left in L2 for the next layer. Streaming stores need
 * the output 64-byte aligned (the planned buffers are). On the AVX-512 row VGG16's first conv took 1.10 -> 1.00 ms
 * and the layer after it 3.48 -> 3.40 (one binary, alternated, 8 and 10 rounds, Zen 5). The AVX2 row streams on
 * Intel cores only (x86/avx2/direct.c): its 64-byte pixel is two 32-byte halves, and streamed that way VGG16's first
 * conv took 1.36 -> 1.65 and 1.28 -> 1.48 ms on the same Zen 5 (the model +2 %), 1.37 -> 1.13 on an Intel Xeon.
 * With the pool (VGG11's first conv: 3.2 MB written at batch 1) the map is a quarter of the conv's and streams from
 * STREAM_MIN_POOLED_BYTES: on that Xeon's AVX2 row 1.17-1.21 -> 1.11 ms (batch 8: 8.87 -> 8.60), the layer after it
 * unchanged (2.83-2.86 against 2.82-2.84; one binary, an environment switch, 6 rounds twice). The AVX-512 row streams
 * only unpooled maps. */
#define STREAM_MIN_BYTES ((size_t)4 << 20)
#define STREAM_MIN_POOLED_BYTES ((size_t)2 << 20)
static int streams(const float *out, size_t map_bytes /* what the layer writes */, int cin, int pool)
{
    size_t least = pool ? STREAM_MIN_POOLED_BYTES : STREAM_MIN_BYTES;
    return cin <= DIRECT_LANES && map_bytes >= least && (uintptr_t)out % 64 == 0;
}

/* The job on row kern, its input in either layout: every row's pieces run every job (direct_job.h: strides 1 and
 * 2, windows up to 7x7, with or without ReLU, a residual, an output inside a larger tensor). */
static void run(const vggc_kernels *kern, float *out, const float *in, int in_nchw, const float *wpack,
                const float *bias, int n, int cin, int h, int w, int cout, int k, int stride, int pool,
                const vggc_epilogue *e)
{
    int ch = (h - 1) / stride + 1, cw = (w - 1) / stride + 1; /* the conv's output, pad k / 2 */
    int oh = pool ? ch / 2 : ch, ow = pool ? cw / 2 : cw;     /* what the layer writes */
    size_t map_bytes = (size_t)n * direct_blocks(cout) * DIRECT_LANES * oh * ow * sizeof *out;
    vggc_direct_job j = {out, in, wpack, bias, cin, h, w, cout, k, pool, oh, ow,
                         widest_group(kern, cin, k), in_nchw, stride, e->relu, e->residual,
                         e->out_blocks > 0 ? e->out_blocks : direct_blocks(cout), streams(out, map_bytes, cin, pool)};
    void (*piece)(const vggc_direct_job *, int, int, int, int) = kern->direct_piece;
    int groups = group_count(direct_blocks(cout), j.widest), pieces = n * groups * j.oh;
#pragma omp parallel for schedule(guided, 1)
    for (int p = 0; p < pieces; p++) { /* image-major, then group, then output row */
        int ob0, m;
        group_of(direct_blocks(cout), j.widest, p / j.oh % groups, &ob0, &m);
        piece(&j, p / (groups * j.oh), ob0, m, p % j.oh * (pool ? 2 : 1));
    }
}

static const vggc_epilogue plain = {1, NULL, 0};

void vggc_conv_direct_ex(float *out, const float *in, const float *wpack, const float *bias, int n, int cin, int h,
                         int w, int cout, int k, int stride, int pool, const vggc_epilogue *e)
{
    run(vggc_kernels_active(), out, in, 0, wpack, bias, n, cin, h, w, cout, k, stride, pool, e);
}

void vggc_conv_direct_ex_on(const vggc_kernels *kern, float *out, const float *in, const float *wpack,
                            const float *bias, int n, int cin, int h, int w, int cout, int k, int stride, int pool,
                            const vggc_epilogue *e)
{
    run(kern, out, in, 0, wpack, bias, n, cin, h, w, cout, k, stride, pool, e);
}

void vggc_conv_direct_on(const vggc_kernels *kern, float *out, const float *in, const float *wpack,
                         const float *bias, int n, int cin, int h, int w, int cout, int k, int pool)
{
    run(kern, out, in, 0, wpack, bias, n, cin, h, w, cout, k, 1, pool, &plain);
}

/* A row that reads NCHW input directly does so (at most 16 input channels: the network's own input); the others
 * convert it into scratch first. */
void vggc_conv_direct_nchw_on(const vggc_kernels *kern, float *out, const float *in, float *scratch,
                              const float *wpack, const float *bias, int n, int cin, int h, int w, int cout, int k,
                              int pool)
{
    if (kern->direct_reads_nchw && cin <= DIRECT_LANES) {
        run(kern, out, in, 1, wpack, bias, n, cin, h, w, cout, k, 1, pool, &plain);
        return;
    }
    vggc_to_blocked_on(kern, scratch, in, n, cin, h, w);
    run(kern, out, scratch, 0, wpack, bias, n, cin, h, w, cout, k, 1, pool, &plain);
}

void vggc_conv_direct_nchw(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                           const float *in,    /* (n, cin, h, w) */
                           float *scratch,     /* VGGC_BLOCKED_FLOATS(n, cin, h, w) */
                           const float *wpack, /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                           const float *bias,  /* (cout) */
                           int n, int cin, int h, int w, int cout, int k, int pool)
{
    vggc_conv_direct_nchw_on(vggc_kernels_active(), out, in, scratch, wpack, bias, n, cin, h, w, cout, k, pool);
}

void vggc_conv_direct(float *out,         /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                      const float *in,    /* blocked (n, cin, h, w) */
                      const float *wpack, /* VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k) */
                      const float *bias,  /* (cout) */
                      int n, int cin, int h, int w, int cout, int k, int pool)
{
    vggc_conv_direct_on(vggc_kernels_active(), out, in, wpack, bias, n, cin, h, w, cout, k, pool);
}
