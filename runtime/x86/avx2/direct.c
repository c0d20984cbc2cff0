/* x86/avx2/direct.c — the AVX2 row's direct convolution piece (platform.h, direct_job.h), compiled with -mavx2
 * -mfma.
 *
 * 16 ymm registers: a register tile is TC <= 6 output pixels of one conv row x one block of 16 output channels
 * (2 ymm), 12 accumulators, plus the block's 2 weight vectors and one broadcast. For every kernel position and
 * every real input channel the 2 weight vectors are loaded once and each of the tile's input values is broadcast
 * into them. A kernel row outside the map is skipped; only the first and last tiles of a row can reach into the
 * padding, and they zero those pixels' broadcasts with a mask. Interior tiles of layers with at most 16 input
 * channels (VGG's first layer, 3 -> 64) run their k * k * cin taps as one flat loop (fully unrolled for 3x3 stride 1
 * on NCHW input of at most 3 channels); such a layer may read the network's NCHW input directly (direct_job.h's
 * strides: no conversion, and 3 channels of a pixel are 12 bytes, not a 64-byte blocked vector mostly of padding).
 * With the pool, a piece computes its two conv rows in segments of SEG columns into a buffer on the stack (it stays
 * in L1) and stores only the pooled maximum.
 */
#include "../../direct_job.h"

#include <immintrin.h>
#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))

enum {
    TC_MAX = 6, /* pixels per register tile */
    SEG = 48    /* conv columns per segment of a pooled piece (even, a multiple of TC_MAX) */
};

/* The tile's accumulators are twelve named variables, pixel t in (a<t>0, a<t>1), not an array: GCC keeps them in
 * registers (an array it stored to the stack after every FMA). FMA_ALL(BCAST) multiplies the input value
 * BCAST(t) of every pixel t < TC into the weight vectors w0, w1. */
#define ACCUMULATORS                                                                                            \
    __m256 a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51;                                          \
    a00 = a01 = a10 = a11 = a20 = a21 = a30 = a31 = a40 = a41 = a50 = a51 = _mm256_setzero_ps()
#define FMA_PIXEL(t, x0, x1, BCAST)                                                                             \
    if (TC > t) {                                                                                               \
        __m256 v_ = BCAST(t);                                                                                   \
        x0 = _mm256_fmadd_ps(v_, w0, x0);                                                                       \
        x1 = _mm256_fmadd_ps(v_, w1, x1);                                                                       \
    }
#define FMA_ALL(BCAST)                                                                                          \
    FMA_PIXEL(0, a00, a01, BCAST) FMA_PIXEL(1, a10, a11, BCAST) FMA_PIXEL(2, a20, a21, BCAST)                  \
    FMA_PIXEL(3, a30, a31, BCAST) FMA_PIXEL(4, a40, a41, BCAST) FMA_PIXEL(5, a50, a51, BCAST)
#define FINISH_PIXEL(t, x0, x1)                                                                                 \
    if (TC > t)                                                                                                 \
        finish_pixel(dst + t * DIRECT_LANES, res ? res + t * DIRECT_LANES : NULL, x0, x1, b0, b1, m0, m1, e->relu, \
                     e->stream);
#define FINISH_ALL                                                                                              \
    FINISH_PIXEL(0, a00, a01) FINISH_PIXEL(1, a10, a11) FINISH_PIXEL(2, a20, a21) FINISH_PIXEL(3, a30, a31)   \
    FINISH_PIXEL(4, a40, a41) FINISH_PIXEL(5, a50, a51)

/* Bias, the residual (unless NULL), ReLU if relu (NaN stays NaN: max returns its second operand when one is NaN)
 * and the lanes past cout zeroed, for one pixel's 16 channels; with streaming stores if stream (dst is then 64-byte
 * aligned: the pixel's line is written whole by the two halves, one after the other). */
INLINE void finish_pixel(float *dst, const float *res, __m256 x0, __m256 x1, __m256 b0, __m256 b1, __m256 m0,
                         __m256 m1, int relu, int stream)
{
    __m256 zero = _mm256_setzero_ps();
    x0 = _mm256_add_ps(x0, b0), x1 = _mm256_add_ps(x1, b1);
    if (res) x0 = _mm256_add_ps(x0, _mm256_loadu_ps(res)), x1 = _mm256_add_ps(x1, _mm256_loadu_ps(res + 8));
    if (relu) x0 = _mm256_max_ps(zero, x0), x1 = _mm256_max_ps(zero, x1);
    if (stream) {
        _mm256_stream_ps(dst, _mm256_and_ps(x0, m0));
        _mm256_stream_ps(dst + 8, _mm256_and_ps(x1, m1));
        return;
    }
    _mm256_storeu_ps(dst, _mm256_and_ps(x0, m0));
    _mm256_storeu_ps(dst + 8, _mm256_and_ps(x1, m1));
}

/* Block ob's bias and the masks of its live lanes (all ones for channels below cout, zero past it): computed once
 * per piece, loaded by every tile's epilogue. */
typedef struct {
    float bias[DIRECT_LANES];
    int32_t keep[DIRECT_LANES];
    int relu, stream;
} epilogue;

/* Whether this row streams a job's output when direct.c allows it (j->stream): on Intel cores only. Its 64-byte
 * pixel is two 32-byte streaming stores; on an Intel Xeon (Sapphire Rapids or later) held to this row, VGG16's
 * first conv took 1.37 -> 1.13 ms with them (the layer after it, which then reads its input from memory, 5.22 both
 * ways; one binary, alternated, 6 rounds twice), but on a Zen 5 1.36 -> 1.65 and 1.28 -> 1.48 (direct.c). */
static int streams_here(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_is("intel");
}

/* stream: the piece streams its output (a pooled job's conv rows go to the stack, and pool_rows streams instead). */
static void epilogue_of(epilogue *e, const vggc_direct_job *j, int ob, int stream)
{
    int live = j->cout - ob * DIRECT_LANES;
    e->relu = j->relu;
    e->stream = stream && !j->pool;
    for (int l = 0; l < DIRECT_LANES; l++) {
        e->bias[l] = l < live ? j->bias[ob * DIRECT_LANES + l] : 0.0f;
        e->keep[l] = l < live ? -1 : 0;
    }
}

#define BIAS_AND_MASK                                                                                           \
    __m256 b0 = _mm256_loadu_ps(e->bias), b1 = _mm256_loadu_ps(e->bias + 8);                                    \
    __m256 m0 = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)e->keep));                              \
    __m256 m1 = _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(e->keep + 8)));

/* Output row y, columns [x0, x0 + TC), block ob of image b, kernel K x K (K 0: the job's k), finished into dst
 * (TC pixels of 16; res, unless NULL, the residual's same pixels). Per kernel position and real input channel: the 2
 * weight vectors, then one broadcast per pixel. A pixel in the padding (only at the ends of a row) reads a clamped
 * address and its broadcast is masked to zero. Output pixel t reads source column sx0 + t * stride. */
INLINE void tile_body(const vggc_direct_job *j, const epilogue *e, int b, int ob, int y, int x0, float *dst,
                      const float *res, int K, int TC)
{
    ACCUMULATORS;
    int k = K ? K : j->k, s = j->stride;
    direct_strides st = direct_strides_of(j);
    size_t wstride = (size_t)k * k * j->cin * DIRECT_LANES;
    const float *img = j->in + (size_t)b * st.image, *wg = j->wpack + ob * wstride;
    for (int ky = 0; ky < k; ky++) {
        int sy = y * s + ky - k / 2;
        if (sy < 0 || sy >= j->h) continue;
        const float *src = img + (size_t)sy * st.row;
        for (int kx = 0; kx < k; kx++) {
            int sx0 = x0 * s + kx - k / 2, sxl = sx0 + (TC - 1) * s;
            if (sxl < 0 || sx0 >= j->w) continue; /* the whole tile is in the padding (tiny maps) */
            const float *wk = wg + (size_t)(ky * k + kx) * j->cin * DIRECT_LANES;
            size_t at[TC_MAX];
            __m256 keep[TC_MAX];
            int edge = sx0 < 0 || sxl >= j->w;
            for (int t = 0; t < TC; t++) {
                int sx = sx0 + t * s;
                at[t] = (size_t)direct_clamp_col(sx, j->w) * st.pixel;
                keep[t] = _mm256_castsi256_ps(_mm256_set1_epi32(sx >= 0 && sx < j->w ? -1 : 0));
            }
            for (int c0 = 0; c0 < j->cin; c0 += DIRECT_LANES) {
                int cl = j->cin - c0 < DIRECT_LANES ? j->cin - c0 : DIRECT_LANES;
                const float *x = src + (size_t)(c0 / DIRECT_LANES) * st.block, *wc = wk + (size_t)c0 * DIRECT_LANES;
                if (c0 + DIRECT_LANES < j->cin) /* the next block's pixels into L1 (1x1 layers' input does not stay) */
                    for (int t = 0; t < TC; t++) _mm_prefetch((const char *)(x + st.block + at[t]), _MM_HINT_T0);
                if (!edge) {
                    for (int c = 0; c < cl; c++, x += st.channel) {
                        __m256 w0 = _mm256_loadu_ps(wc + c * DIRECT_LANES), w1 = _mm256_loadu_ps(wc + c * DIRECT_LANES + 8);
#define PLAIN(t) _mm256_broadcast_ss(x + at[t])
                        FMA_ALL(PLAIN)
#undef PLAIN
                    }
                } else {
                    for (int c = 0; c < cl; c++, x += st.channel) {
                        __m256 w0 = _mm256_loadu_ps(wc + c * DIRECT_LANES), w1 = _mm256_loadu_ps(wc + c * DIRECT_LANES + 8);
#define MASKED(t) _mm256_and_ps(_mm256_broadcast_ss(x + at[t]), keep[t])
                        FMA_ALL(MASKED)
#undef MASKED
                    }
                }
            }
        }
    }
    BIAS_AND_MASK
    FINISH_ALL
}

/* An interior tile of a layer with at most 16 input channels: all k * k * cin taps as one flat loop, tap i reading
 * the input at off[i] from the tile's top-left source pixel. */
INLINE void taps_body(const vggc_direct_job *j, const epilogue *e, const int *off, int taps, int b, int ob, int y,
                      int x0, float *dst, const float *res, int TC, int PIXEL)
{
    ACCUMULATORS;
    int pad = j->k / 2, s = j->stride;
    size_t step = (size_t)s * PIXEL;
    direct_strides st = direct_strides_of(j);
    const float *wg = j->wpack + (size_t)ob * j->k * j->k * j->cin * DIRECT_LANES;
    const float *x = j->in + (size_t)b * st.image + (size_t)(y * s - pad) * st.row + (size_t)(x0 * s - pad) * PIXEL;
    for (int i = 0; i < taps; i++) {
        __m256 w0 = _mm256_loadu_ps(wg + i * DIRECT_LANES), w1 = _mm256_loadu_ps(wg + i * DIRECT_LANES + 8);
        const float *p = x + off[i];
#define TAP(t) _mm256_broadcast_ss(p + t * step)
        FMA_ALL(TAP)
#undef TAP
    }
    BIAS_AND_MASK
    FINISH_ALL
}

/* An interior tile of a 3x3, stride-1 layer that reads NCHW input of CIN channels (1 to 3: the network's own
 * image): the taps unrolled, every input address a constant offset from one of 3 * CIN row pointers and every weight
 * a constant offset from the block's, so the loop is the 12 FMAs, 8 loads and nothing else per tap (the flat loop
 * of taps_body adds the tap's offset load and the address arithmetic, which take ALU slots from the FMA ports). */
INLINE void nchw3_body(const vggc_direct_job *j, const epilogue *e, int b, int ob, int y, int x0, float *dst,
                       const float *res, int CIN)
{
    enum { TC = TC_MAX };
    ACCUMULATORS;
    size_t plane = (size_t)j->h * j->w, row = (size_t)j->w;
    const float *wg = j->wpack + (size_t)ob * 9 * CIN * DIRECT_LANES; /* (3, 3, CIN, 16) */
    const float *x = j->in + (size_t)b * CIN * plane + (size_t)(y - 1) * row + (size_t)(x0 - 1);
#pragma GCC unroll 3
    for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 3
            for (int ci = 0; ci < CIN; ci++) { /* the order of the packed weights and of taps_body: the same bits */
                const float *r = x + ci * plane + ky * row + kx, *wk = wg + ((ky * 3 + kx) * CIN + ci) * DIRECT_LANES;
                __m256 w0 = _mm256_loadu_ps(wk), w1 = _mm256_loadu_ps(wk + 8);
#define ROW_TAP(t) _mm256_broadcast_ss(r + t)
                FMA_ALL(ROW_TAP)
#undef ROW_TAP
            }
    BIAS_AND_MASK
    FINISH_ALL
}

#define NCHW3(CIN)                                                                                            \
    static void nchw3_c##CIN(const vggc_direct_job *j, const epilogue *e, int b, int ob, int y, int x0,       \
                             float *dst, const float *res)                                                    \
    {                                                                                                         \
        nchw3_body(j, e, b, ob, y, x0, dst, res, CIN);                                                        \
    }
NCHW3(1) NCHW3(2) NCHW3(3)

#define TILE(K, TC)                                                                                           \
    static void tile_k##K##_c##TC(const vggc_direct_job *j, const epilogue *e, int b, int ob, int y, int x0,   \
                                  float *dst, const float *res)                                               \
    {                                                                                                         \
        tile_body(j, e, b, ob, y, x0, dst, res, K, TC);                                                       \
    }
#define TAPS(TC, PIXEL)                                                                                       \
    static void taps_c##TC##_p##PIXEL(const vggc_direct_job *j, const epilogue *e, const int *off, int taps,   \
                                      int b, int ob, int y, int x0, float *dst, const float *res)             \
    {                                                                                                         \
        taps_body(j, e, off, taps, b, ob, y, x0, dst, res, TC, PIXEL);                                        \
    }
TILE(1, 6) TILE(1, 4) TILE(1, 2) TILE(1, 1) TILE(3, 6) TILE(3, 4) TILE(3, 2) TILE(3, 1)
TILE(0, 6) TILE(0, 4) TILE(0, 2) TILE(0, 1) TAPS(6, 16) TAPS(6, 1)

/* The tile kernels for k = 1, k = 3 (the window a constant) and the wider ones (k from the job). */
typedef void tile_fn(const vggc_direct_job *j, const epilogue *e, int b, int ob, int y, int x0, float *dst,
                     const float *res);
static tile_fn *const tiles[3][4] = {{tile_k1_c6, tile_k1_c4, tile_k1_c2, tile_k1_c1},
                                     {tile_k3_c6, tile_k3_c4, tile_k3_c2, tile_k3_c1},
                                     {tile_k0_c6, tile_k0_c4, tile_k0_c2, tile_k0_c1}};
static const int widths[4] = {6, 4, 2, 1};
static tile_fn *const nchw3_tiles[3] = {nchw3_c1, nchw3_c2, nchw3_c3};

/* Output row y, columns [x0, x1), block ob of image b, finished into dst (x1 - x0 pixels of 16; res, unless NULL,
 * the residual's same pixels): tiles of 6, then 4, 2, 1 for the rest. */
static void conv_row(const vggc_direct_job *j, const epilogue *e, const int *off, int taps, int b, int ob, int y,
                     int x0, int x1, float *dst, const float *res)
{
    tile_fn *const *fns = tiles[j->k == 1 ? 0 : j->k == 3 ? 1 : 2];
    tile_fn *nchw3 = j->in_nchw && j->k == 3 && j->stride == 1 && j->cin <= 3 ? nchw3_tiles[j->cin - 1] : NULL;
    for (int i = 0, x = x0; i < 4; i++)
        for (; x + widths[i] <= x1; x += widths[i]) {
            float *d = dst + (size_t)(x - x0) * DIRECT_LANES;
            const float *r = res ? res + (size_t)(x - x0) * DIRECT_LANES : NULL;
            if (i == 0 && taps && direct_interior(j, y, x, 1, TC_MAX)) {
                if (nchw3) nchw3(j, e, b, ob, y, x, d, r);
                else if (j->in_nchw) taps_c6_p1(j, e, off, taps, b, ob, y, x, d, r);
                else taps_c6_p16(j, e, off, taps, b, ob, y, x, d, r);
            } else {
                fns[i](j, e, b, ob, y, x, d, r);
            }
        }
}

/* The larger of m and v lane by lane; a NaN in v wins, a NaN in m stays (direct_max_nan). maxps returns its second
 * operand (m) when either is NaN or both are zeros, v only when v > m, which is the reference's choice but for a NaN
 * v, blended in after: 3 instructions where the comparisons took 4. */
INLINE __m256 max_nan8(__m256 m, __m256 v)
{
    return _mm256_blendv_ps(_mm256_max_ps(v, m), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* out[t] = the 2x2 max of top[2t], top[2t + 1], bottom[2t], bottom[2t + 1], in vggc_maxpool2x2's order; with
 * streaming stores if stream (out is then 64-byte aligned). */
static void pool_rows(float *out /* (n, 16) */, const float *top, const float *bottom /* (2n, 16) */, int n,
                      int stream)
{
    for (int t = 0; t < 2 * n; t += 2)
        for (int h = 0; h < DIRECT_LANES; h += 8) {
            const float *a = top + (size_t)t * DIRECT_LANES + h, *c = bottom + (size_t)t * DIRECT_LANES + h;
            __m256 up = max_nan8(_mm256_loadu_ps(a), _mm256_loadu_ps(a + DIRECT_LANES));
            __m256 down = max_nan8(_mm256_loadu_ps(c), _mm256_loadu_ps(c + DIRECT_LANES));
            float *dst = out + (size_t)t / 2 * DIRECT_LANES + h;
            if (stream) _mm256_stream_ps(dst, max_nan8(up, down));
            else _mm256_storeu_ps(dst, max_nan8(up, down));
        }
}

void vggc_direct_piece_avx2(const vggc_direct_job *j, int b, int ob0, int m, int y0)
{
    int off[DIRECT_TAPS_MAX], taps = j->cin <= DIRECT_LANES ? direct_taps_of(off, j) : 0, cw = direct_columns(j);
    int stream = j->stream && streams_here();
    for (int ob = ob0; ob < ob0 + m; ob++) {
        epilogue e;
        epilogue_of(&e, j, ob, stream);
        float *plane = direct_out_plane(j, b, ob);
        const float *res = direct_residual_plane(j, b, ob);
        if (!j->pool) {
            size_t row = (size_t)y0 * j->ow * DIRECT_LANES;
            conv_row(j, &e, off, taps, b, ob, y0, 0, cw, plane + row, res ? res + row : NULL);
            continue;
        }
        float rows[2][SEG * DIRECT_LANES];
        for (int x0 = 0; x0 < cw; x0 += SEG) {
            int x1 = x0 + SEG < cw ? x0 + SEG : cw;
            conv_row(j, &e, off, taps, b, ob, y0, x0, x1, rows[0], NULL); /* no residual with the pool */
            conv_row(j, &e, off, taps, b, ob, y0 + 1, x0, x1, rows[1], NULL);
            pool_rows(plane + ((size_t)(y0 / 2) * j->ow + x0 / 2) * DIRECT_LANES, rows[0], rows[1], (x1 - x0) / 2,
                      stream);
        }
    }
    if (stream) _mm_sfence(); /* the streamed lines are in memory before another thread reads them */
}
