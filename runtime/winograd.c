/* winograd.c — 3x3 convolution (stride 1, pad 1) + bias + ReLU (+ 2x2/2 max pool) by Winograd F(m x m, 3 x 3),
 * m = 2 or 4, on blocked tensors (see vggc.h), and the weight transform that feeds it.
 *
 * With alpha = m + 2, the map is cut into m x m output tiles, each reading an alpha x alpha input patch (the pad
 * and the ragged right/bottom edges read as zero). Three stages per pass over a range of tiles:
 *   input   V[xi][tile][cin]  = (B^T d B)[xi], 16 channels at a time (one blocked pixel is one 16-lane vector);
 *   GEMM    M[xi][tile][cout] = V[xi] . U[xi], for each of the alpha^2 transform points xi;
 *   output  out = A^T M A + bias, ReLU, and the 2x2 max pool when asked, written straight to the blocked output.
 * Matrices B, G, A are Lavin & Gray's (points 0, +-1, +-2, inf for m = 4); U = G g G^T is computed in double.
 *
 * Layouts, chosen for the GEMM micro-kernel (ROWS tiles x 32 output channels in registers):
 *   U (weights): [xi][panel][cinp][width], panel p holds output channels [32p, 32p + width), width 32 or 16 (last);
 *   V (a pass of T tiles): [xi][T tiles in blocks of ROWS][cinp / 16][rows][16], rows = ROWS, or fewer in the last
 *     block, so a block's 16-channel slice is one contiguous rows x 16 piece the kernel broadcasts from;
 *   M (a pass): [xi][T][coutp], row-major.
 * Passes: when U is small enough to stay in L3 (the big early maps), the tiles are cut in passes whose V + M fit one
 * core's L2, and each thread runs whole passes through the three stages, with no barrier ("fused"). Otherwise
 * (small maps, many channels) one pass covers every tile and each stage is a parallel loop ("staged"), so U is read
 * about once; when a GEMM piece then covers every tile (batch 1), U streams from memory, so each piece prefetches
 * the next piece's weights while it computes and the threads take runs of consecutive pieces. Every piece of work
 * (a pass, a group of tiles x 16 channels, a GEMM block) has boundaries that depend on the shape alone, and every
 * output value is computed by one thread in a fixed order: the result is bitwise the same for any number of
 * threads. The AVX-512 and portable paths share the transforms (GCC/Clang generic vectors,
 * compiled twice: bitwise equal); only the GEMM differs (the AVX-512 kernel fuses multiply-add).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "cpu.h"
#include "vggc.h"
#include "winograd_internal.h"

#include <omp.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX512_KERNEL 1
#define AVX512 __attribute__((target("avx512f,fma")))
#endif
#define INLINE static inline __attribute__((always_inline))

/* 16 channels as one value, for the transforms: a GCC/Clang generic vector, which the compiler maps to the
 * instructions of the function it is inlined into (zmm registers in the AVX-512 path, SSE in the portable one).
 * Loads and stores go through memcpy (any alignment); macros, so that no function passes a vector by value. */
typedef float lanes __attribute__((vector_size(64)));
#define LOAD(v, p) memcpy(&(v), (p), sizeof(lanes))
#define STORE(p, v) memcpy((p), &(v), sizeof(lanes))

enum {
    LANES = 16,         /* channels per blocked vector */
    ALPHA_MAX = 6,      /* transform size for m = 4 */
    ROWS = 12,          /* tiles per GEMM micro-kernel block */
    PANEL = 32,         /* output channels per GEMM micro-kernel block */
    TILE_GROUP = 32,    /* tiles per piece of work in the transforms */
    SKEW = 16,          /* floats between the transform points' V (M) of a fused pass, so that the alpha^2
                           vectors of one tile do not all fall in the same L1 cache sets */
};

/* Cache budgets (bytes) that size the passes and the GEMM pieces from the shape alone (vggc_winograd_budgets). */
#define PASS_BYTES (768L << 10)    /* V + M of one pass: they stay in one core's L2 between the stages */
#define U_CACHED_BYTES (12L << 20) /* transformed weights small enough to be re-read from L3 every pass */
#define A_CHUNK_BYTES (256L << 10) /* the rows of V a GEMM piece reads; the next pieces (other panels) reuse them */
static long pass_bytes = PASS_BYTES, u_cached_bytes = U_CACHED_BYTES, a_chunk_bytes = A_CHUNK_BYTES;

void vggc_winograd_budgets(long pass, long u_cached, long a_chunk)
{
    pass_bytes = pass > 0 ? pass : PASS_BYTES;
    u_cached_bytes = u_cached > 0 ? u_cached : U_CACHED_BYTES;
    a_chunk_bytes = a_chunk > 0 ? a_chunk : A_CHUNK_BYTES;
}

/* The shape of one call, and the pass of tiles being worked on. */
typedef struct {
    int n, cin, h, w, cout, m, pool;
    int alpha, tiles_y, tiles_x, tiles;
    int cinb, coutb, cinp, coutp; /* 16-channel blocks and padded channel counts */
    int oh, ow;                   /* output map: h x w, or h / 2 x w / 2 with the pool */
    int pass_tiles, gemm_blocks;  /* tiles per pass (a multiple of ROWS), row blocks per GEMM piece */
    int streams;                  /* a GEMM piece covers all rows: it reads its weights once, the next piece's
                                     weights are prefetched while it runs, and threads take runs of pieces */
    size_t v_xi, m_xi;            /* floats from one transform point's V (M) to the next's */
    int t0, count;                /* this pass: tiles [t0, t0 + count) */
    float *v, *mm;                /* this pass's V and M (see the top comment) */
} plan;

/* ---- timing of the stages (for bench/layers.c) --------------------------------------------------------- */

static int timing_on;
static vggc_winograd_times times;

void vggc_winograd_timing(int on) { timing_on = on; }

vggc_winograd_times vggc_winograd_take_times(void)
{
    vggc_winograd_times t = times;
    memset(&times, 0, sizeof times);
    return t;
}

/* CPU seconds so far of the whole process or of the calling thread (while timing is on, else 0). */
static double cpu_now(clockid_t clock)
{
    struct timespec t = {0, 0};
    if (timing_on) clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- the weight transform ------------------------------------------------------------------------------ */

static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

/* u[i][j] = (G g G^T)[i][j] for one 3x3 kernel g, in double. */
static void transform_kernel(double u[ALPHA_MAX][ALPHA_MAX], const float *g /* (3, 3) */, int m)
{
    int alpha = m + 2;
    double t[ALPHA_MAX][3];
    for (int i = 0; i < alpha; i++)
        for (int k = 0; k < 3; k++) {
            const double *gi = m == 2 ? G2[i] : G4[i];
            t[i][k] = gi[0] * g[k] + gi[1] * g[3 + k] + gi[2] * g[6 + k];
        }
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++) {
            const double *gj = m == 2 ? G2[j] : G4[j];
            u[i][j] = t[i][0] * gj[0] + t[i][1] * gj[1] + t[i][2] * gj[2];
        }
}

void vggc_winograd_pack(float *u,            /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                        const float *weight, /* (cout, cin, 3, 3) */
                        int cin, int cout, int m)
{
    int alpha = m + 2, cinp = VGGC_CPAD(cin), coutp = VGGC_CPAD(cout);
#pragma omp parallel for schedule(static)
    for (int co = 0; co < coutp; co++) {
        int panel = co / PANEL, width = coutp - panel * PANEL < PANEL ? coutp - panel * PANEL : PANEL;
        for (int ci = 0; ci < cinp; ci++) {
            double t[ALPHA_MAX][ALPHA_MAX] = {{0}};
            if (co < cout && ci < cin) transform_kernel(t, weight + ((size_t)co * cin + ci) * 9, m);
            for (int xi = 0; xi < alpha * alpha; xi++) {
                size_t at = (size_t)xi * cinp * coutp + (size_t)panel * PANEL * cinp + (size_t)ci * width + co % PANEL;
                u[at] = (float)t[xi / alpha][xi % alpha];
            }
        }
    }
}

/* ---- input transform: V = B^T d B, shared by both paths ------------------------------------------------ */

/* Where the 16 channels of block cb of local tile lt go for transform point 0 (point xi: count * cinp floats on). */
static size_t v_offset(const plan *p, int lt, int cb)
{
    int rb = lt / ROWS, r = lt % ROWS, rows = p->count - rb * ROWS < ROWS ? p->count - rb * ROWS : ROWS;
    return (size_t)rb * ROWS * p->cinp + (size_t)cb * rows * LANES + (size_t)r * LANES;
}

/* o[k * os] = (B^T d)[k] for k < alpha, each a 16-lane vector, d[k * ds]. */
INLINE void bt_1d(float *o, size_t os, const float *d, size_t ds, int m)
{
    if (m == 2) {
        lanes d0, d1, d2, d3;
        LOAD(d0, d), LOAD(d1, d + ds), LOAD(d2, d + 2 * ds), LOAD(d3, d + 3 * ds);
        lanes r0 = d0 - d2, r1 = d1 + d2, r2 = d2 - d1, r3 = d1 - d3;
        STORE(o, r0), STORE(o + os, r1), STORE(o + 2 * os, r2), STORE(o + 3 * os, r3);
        return;
    }
    lanes d0, d1, d2, d3, d4, d5;
    LOAD(d0, d), LOAD(d1, d + ds), LOAD(d2, d + 2 * ds), LOAD(d3, d + 3 * ds), LOAD(d4, d + 4 * ds);
    LOAD(d5, d + 5 * ds);
    lanes r0 = 4.0f * d0 - 5.0f * d2 + d4;
    lanes r1 = d3 + d4 - 4.0f * (d1 + d2);
    lanes r2 = 4.0f * (d1 - d2) + d4 - d3;
    lanes r3 = 2.0f * (d3 - d1) + d4 - d2;
    lanes r4 = 2.0f * (d1 - d3) + d4 - d2;
    lanes r5 = 4.0f * d1 - 5.0f * d3 + d5;
    STORE(o, r0), STORE(o + os, r1), STORE(o + 2 * os, r2), STORE(o + 3 * os, r3), STORE(o + 4 * os, r4);
    STORE(o + 5 * os, r5);
}

/* The alpha x alpha patch of a tile at (y0, x0) (may start at -1 and run past the map: zeros there). The part
 * inside the map is a rectangle: its rows are copied whole (a blocked row is contiguous), the rest is zero. */
INLINE void load_patch(float d[ALPHA_MAX][ALPHA_MAX][LANES], const float *plane /* (h, w, 16) */,
                       int h, int w, int y0, int x0, int alpha)
{
    int i0 = y0 < 0 ? -y0 : 0, i1 = h - y0 < alpha ? h - y0 : alpha;
    int j0 = x0 < 0 ? -x0 : 0, j1 = w - x0 < alpha ? w - x0 : alpha;
    memset(d, 0, sizeof(float) * ALPHA_MAX * ALPHA_MAX * LANES);
    if (j1 <= j0) return;
    for (int i = i0; i < i1; i++)
        memcpy(d[i][j0], plane + ((size_t)(y0 + i) * w + x0 + j0) * LANES, sizeof d[i][j0] * (size_t)(j1 - j0));
}

/* V for local tiles [lt0, lt1) of the pass and channel block cb. */
INLINE void input_group(const plan *p, const float *in, int lt0, int lt1, int cb, int m)
{
    int alpha = m + 2, per_image = p->tiles_y * p->tiles_x;
    size_t xi_stride = p->v_xi, row = (size_t)p->w * LANES;
    float d[ALPHA_MAX][ALPHA_MAX][LANES], t[ALPHA_MAX][ALPHA_MAX][LANES];
    for (int lt = lt0; lt < lt1; lt++) {
        int tile = p->t0 + lt, b = tile / per_image, ty = tile % per_image / p->tiles_x, tx = tile % p->tiles_x;
        int y0 = ty * m - 1, x0 = tx * m - 1;
        const float *plane = in + (size_t)(b * p->cinb + cb) * p->h * p->w * LANES;
        if (y0 >= 0 && x0 >= 0 && y0 + alpha <= p->h && x0 + alpha <= p->w) { /* inside: read in place */
            const float *patch = plane + ((size_t)y0 * p->w + x0) * LANES;
            for (int j = 0; j < alpha; j++) bt_1d(t[0][j], ALPHA_MAX * LANES, patch + j * LANES, row, m);
        } else {
            load_patch(d, plane, p->h, p->w, y0, x0, alpha);
            for (int j = 0; j < alpha; j++) bt_1d(t[0][j], ALPHA_MAX * LANES, d[0][j], ALPHA_MAX * LANES, m);
        }
        float *dst = p->v + v_offset(p, lt, cb);
        for (int i = 0; i < alpha; i++) bt_1d(dst + i * alpha * xi_stride, xi_stride, t[i][0], LANES, m);
    }
}

/* ---- output transform: A^T M A + bias, ReLU, pool, shared by both paths -------------------------------- */

/* o[k * os] = (A^T s)[k] for k < m, each a 16-lane vector, s[k * ss]. */
INLINE void at_1d(float *o, size_t os, const float *s, size_t ss, int m)
{
    if (m == 2) {
        lanes s0, s1, s2, s3;
        LOAD(s0, s), LOAD(s1, s + ss), LOAD(s2, s + 2 * ss), LOAD(s3, s + 3 * ss);
        lanes r0 = s0 + s1 + s2, r1 = s1 - s2 - s3;
        STORE(o, r0), STORE(o + os, r1);
        return;
    }
    lanes s0, s1, s2, s3, s4, s5;
    LOAD(s0, s), LOAD(s1, s + ss), LOAD(s2, s + 2 * ss), LOAD(s3, s + 3 * ss), LOAD(s4, s + 4 * ss);
    LOAD(s5, s + 5 * ss);
    lanes a = s1 + s2, b = s1 - s2, c = s3 + s4, e = s3 - s4;
    lanes r0 = s0 + a + c, r1 = b + 2.0f * e, r2 = a + 4.0f * c, r3 = b + 8.0f * e + s5;
    STORE(o, r0), STORE(o + os, r1), STORE(o + 2 * os, r2), STORE(o + 3 * os, r3);
}

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d. */
INLINE float max_nan(float a, float v) { return (v > a || v != v) ? v : a; }

/* Write an m x m tile of finished values (already biased, ReLU'd, padded lanes 0) at tile (ty, tx): pixel by
 * pixel inside the map, or pooled 2x2 (m is even, so tiles hold whole windows; floor mode drops a ragged edge). */
INLINE void store_tile(const plan *p, float *plane /* (oh, ow, 16) */, float o[ALPHA_MAX][ALPHA_MAX][LANES],
                       int ty, int tx, int m)
{
    int oh = p->oh, ow = p->ow;
    if (!p->pool) {
        for (int i = 0; i < m && ty * m + i < oh; i++)
            for (int j = 0; j < m && tx * m + j < ow; j++)
                memcpy(plane + ((size_t)(ty * m + i) * ow + tx * m + j) * LANES, o[i][j], sizeof o[i][j]);
        return;
    }
    int half = m / 2;
    for (int i = 0; i < half && ty * half + i < oh; i++)
        for (int j = 0; j < half && tx * half + j < ow; j++) {
            float *dst = plane + ((size_t)(ty * half + i) * ow + tx * half + j) * LANES;
            for (int l = 0; l < LANES; l++)
                dst[l] = max_nan(max_nan(o[2 * i][2 * j][l], o[2 * i][2 * j + 1][l]),
                                 max_nan(o[2 * i + 1][2 * j][l], o[2 * i + 1][2 * j + 1][l]));
        }
}

/* Output tiles for local tiles [lt0, lt1) of the pass and output channel block cb. */
INLINE void output_group(const plan *p, float *out, const float *bias, int lt0, int lt1, int cb, int m)
{
    int alpha = m + 2, per_image = p->tiles_y * p->tiles_x;
    size_t xi_stride = p->m_xi;
    float t[ALPHA_MAX][ALPHA_MAX][LANES], o[ALPHA_MAX][ALPHA_MAX][LANES];
    float bias_l[LANES], keep[LANES];
    for (int l = 0; l < LANES; l++) {
        int co = cb * LANES + l;
        bias_l[l] = co < p->cout ? bias[co] : 0.0f;
        keep[l] = co < p->cout ? 1.0f : 0.0f;
    }
    for (int lt = lt0; lt < lt1; lt++) {
        int tile = p->t0 + lt, b = tile / per_image, ty = tile % per_image / p->tiles_x, tx = tile % p->tiles_x;
        const float *src = p->mm + (size_t)lt * p->coutp + (size_t)cb * LANES;
        for (int j = 0; j < alpha; j++) at_1d(t[0][j], ALPHA_MAX * LANES, src + j * xi_stride, alpha * xi_stride, m);
        for (int i = 0; i < m; i++) at_1d(o[i][0], LANES, t[i][0], LANES, m);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                for (int l = 0; l < LANES; l++) {
                    float x = o[i][j][l] + bias_l[l];
                    o[i][j][l] = keep[l] == 0.0f ? 0.0f : x < 0.0f ? 0.0f : x; /* NaN stays NaN, as torch.relu */
                }
        store_tile(p, out + (size_t)(b * p->coutb + cb) * p->oh * p->ow * LANES, o, ty, tx, m);
    }
}

/* The pieces of the two transforms: groups of TILE_GROUP tiles of the pass x 16-channel blocks. */
static int transform_pieces(const plan *p, int blocks) { return (p->count + TILE_GROUP - 1) / TILE_GROUP * blocks; }

/* Instantiate one piece of each transform with m a constant, once per path. */
#define DEFINE_TRANSFORM_PIECES(SUFFIX, ATTR)                                                                   \
    static ATTR void input_piece_##SUFFIX(const plan *p, const float *in, int piece)                            \
    {                                                                                                           \
        int lt0 = piece / p->cinb * TILE_GROUP, cb = piece % p->cinb;                                           \
        int lt1 = lt0 + TILE_GROUP < p->count ? lt0 + TILE_GROUP : p->count;                                    \
        if (p->m == 2) input_group(p, in, lt0, lt1, cb, 2);                                                     \
        else input_group(p, in, lt0, lt1, cb, 4);                                                               \
    }                                                                                                           \
    static ATTR void output_piece_##SUFFIX(const plan *p, float *out, const float *bias, int piece)             \
    {                                                                                                           \
        int lt0 = piece / p->coutb * TILE_GROUP, cb = piece % p->coutb;                                         \
        int lt1 = lt0 + TILE_GROUP < p->count ? lt0 + TILE_GROUP : p->count;                                    \
        if (p->m == 2) output_group(p, out, bias, lt0, lt1, cb, 2);                                             \
        else output_group(p, out, bias, lt0, lt1, cb, 4);                                                       \
    }

/* ---- the GEMMs: M[xi] = V[xi] . U[xi] ------------------------------------------------------------------ */

/* The pieces of the GEMM stage: transform point x gemm_blocks row blocks x output channel panel. */
typedef struct {
    int xi, rb0, rb1, panel, width;
} gemm_piece;

static gemm_piece piece_of(const plan *p, int piece)
{
    int panels = (p->coutp + PANEL - 1) / PANEL, blocks = (p->count + ROWS - 1) / ROWS;
    int chunks = (blocks + p->gemm_blocks - 1) / p->gemm_blocks;
    gemm_piece g;
    g.panel = piece % panels;
    g.rb0 = piece / panels % chunks * p->gemm_blocks;
    g.rb1 = g.rb0 + p->gemm_blocks < blocks ? g.rb0 + p->gemm_blocks : blocks;
    g.xi = piece / panels / chunks;
    g.width = p->coutp - g.panel * PANEL < PANEL ? p->coutp - g.panel * PANEL : PANEL;
    return g;
}

static int gemm_pieces(const plan *p)
{
    int panels = (p->coutp + PANEL - 1) / PANEL, blocks = (p->count + ROWS - 1) / ROWS;
    return p->alpha * p->alpha * ((blocks + p->gemm_blocks - 1) / p->gemm_blocks) * panels;
}

/* c (rows x width, ldc) = a (rows x cinp, blocked [cinp / 16][rows][16]) . b (cinp x width). next (cinp x width
 * floats, or NULL) is the next piece's panel, which the AVX-512 kernel prefetches into L2 while it runs. */
static void block_portable(float *c, size_t ldc, const float *a, const float *b, const float *next, int cinb, int rows,
                           int width)
{
    (void)next;
    for (int r = 0; r < rows; r++) {
        float acc[PANEL] = {0};
        for (int k = 0; k < cinb * LANES; k++) {
            float av = a[(size_t)(k / LANES) * rows * LANES + r * LANES + k % LANES];
            const float *br = b + (size_t)k * width;
            for (int col = 0; col < width; col++) acc[col] += av * br[col];
        }
        memcpy(c + r * ldc, acc, (size_t)width * sizeof(float));
    }
}

/* One piece of the GEMM stage, with the block kernel of a path. */
#define DEFINE_GEMM_PIECE(SUFFIX, ATTR, BLOCK)                                                                  \
    static ATTR void gemm_piece_##SUFFIX(const plan *p, const float *u, int piece)                              \
    {                                                                                                           \
        gemm_piece g = piece_of(p, piece);                                                                      \
        const float *b = u + (size_t)g.xi * p->cinp * p->coutp + (size_t)g.panel * PANEL * p->cinp;             \
        size_t after = (size_t)(b - u) + (size_t)p->cinp * g.width; /* the next piece's panel: prefetched */      \
        int ahead = p->streams && after < (size_t)p->alpha * p->alpha * p->cinp * p->coutp;                      \
        const float *next = ahead ? u + after : NULL;                                                           \
        const float *v = p->v + g.xi * p->v_xi;                                                                 \
        float *c = p->mm + g.xi * p->m_xi + (size_t)g.panel * PANEL;                                            \
        for (int rb = g.rb0; rb < g.rb1; rb++) {                                                                \
            int rows = p->count - rb * ROWS < ROWS ? p->count - rb * ROWS : ROWS;                               \
            BLOCK(c + (size_t)rb * ROWS * p->coutp, (size_t)p->coutp, v + (size_t)rb * ROWS * p->cinp, b,       \
                  rb == g.rb0 ? next : NULL, p->cinb, rows, g.width);                                           \
        }                                                                                                       \
    }

DEFINE_TRANSFORM_PIECES(portable, )
DEFINE_GEMM_PIECE(portable, , block_portable)

#ifdef HAVE_AVX512_KERNEL
/* The micro-kernel: rows x (16 vecs) accumulators in registers; per input channel, vecs loads of b and rows
 * broadcasts of a, and, unless next is NULL, a prefetch of the same bytes of next (so the whole next panel arrives
 * while this block runs). rows and vecs are constants at every call. */
INLINE AVX512 void kernel_avx512(float *c, size_t ldc, const float *a, const float *b, const float *next, int cinb,
                                  int rows, int vecs)
{
    __m512 acc[ROWS][2];
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    int width = vecs * LANES;
    for (int cb = 0; cb < cinb; cb++, a += rows * LANES, b += LANES * width) {
#pragma GCC unroll 16
        for (int j = 0; j < LANES; j++) {
            __m512 b0 = _mm512_loadu_ps(b + j * width);
            __m512 b1 = vecs == 2 ? _mm512_loadu_ps(b + j * width + LANES) : b0;
            if (next) { /* the same number of bytes of the next piece's weights, into L2 */
                const float *ahead = next + ((size_t)cb * LANES + j) * width;
                _mm_prefetch((const char *)ahead, _MM_HINT_T1);
                if (vecs == 2) _mm_prefetch((const char *)(ahead + LANES), _MM_HINT_T1);
            }
#pragma GCC unroll 12
            for (int r = 0; r < rows; r++) {
                __m512 av = _mm512_set1_ps(a[r * LANES + j]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                if (vecs == 2) acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) {
        _mm512_storeu_ps(c + r * ldc, acc[r][0]);
        if (vecs == 2) _mm512_storeu_ps(c + r * ldc + LANES, acc[r][1]);
    }
}

#define KERNEL_CASE(R, V) \
    case R: kernel_avx512(c, ldc, a, b, next, cinb, R, V); break;
#define KERNEL_CASES(V)                                                                                     \
    KERNEL_CASE(1, V) KERNEL_CASE(2, V) KERNEL_CASE(3, V) KERNEL_CASE(4, V) KERNEL_CASE(5, V) KERNEL_CASE(6, V) \
    KERNEL_CASE(7, V) KERNEL_CASE(8, V) KERNEL_CASE(9, V) KERNEL_CASE(10, V) KERNEL_CASE(11, V) KERNEL_CASE(12, V)

static AVX512 void block_avx512(float *c, size_t ldc, const float *a, const float *b, const float *next, int cinb,
                                int rows, int width)
{
    if (width == PANEL) switch (rows) { KERNEL_CASES(2) }
    else switch (rows) { KERNEL_CASES(1) }
}

DEFINE_TRANSFORM_PIECES(avx512, AVX512)
DEFINE_GEMM_PIECE(avx512, AVX512, block_avx512)
#endif

/* ---- the passes and the entry points ------------------------------------------------------------------- */

static plan make_plan(int n, int cin, int h, int w, int cout, int m, int pool)
{
    plan p = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .m = m, .pool = pool, .alpha = m + 2};
    p.tiles_y = (h + m - 1) / m;
    p.tiles_x = (w + m - 1) / m;
    p.tiles = n * p.tiles_y * p.tiles_x;
    p.cinb = VGGC_CPAD(cin) / LANES;
    p.coutb = VGGC_CPAD(cout) / LANES;
    p.cinp = p.cinb * LANES;
    p.coutp = p.coutb * LANES;
    p.oh = pool ? h / 2 : h;
    p.ow = pool ? w / 2 : w;
    long per_tile = (long)p.alpha * p.alpha * (p.cinp + p.coutp) * 4; /* its V and M */
    long u_bytes = (long)p.alpha * p.alpha * p.cinp * p.coutp * 4;
    long tiles = u_bytes > u_cached_bytes ? p.tiles : pass_bytes / per_tile;
    p.pass_tiles = tiles < ROWS ? ROWS : tiles >= p.tiles ? p.tiles : (int)(tiles / ROWS * ROWS);
    long blocks = a_chunk_bytes / ((long)ROWS * p.cinp * 4);
    p.gemm_blocks = blocks < 1 ? 1 : (int)blocks;
    p.streams = (p.pass_tiles + ROWS - 1) / ROWS <= p.gemm_blocks;
    int fused = p.pass_tiles < p.tiles;
    p.v_xi = (size_t)p.pass_tiles * p.cinp + (fused ? SKEW : 0);
    p.m_xi = (size_t)p.pass_tiles * p.coutp + (fused ? SKEW : 0);
    return p;
}

/* One path's pieces of work. */
typedef struct {
    void (*input)(const plan *p, const float *in, int piece);
    void (*gemm)(const plan *p, const float *u, int piece);
    void (*output)(const plan *p, float *out, const float *bias, int piece);
} path;

/* Floats of one pass's V and M. */
static size_t slot_floats(const plan *p) { return (size_t)p->alpha * p->alpha * (p->v_xi + p->m_xi); }

/* Set the pass to tiles [t0, t0 + pass_tiles) (fewer at the end), its V and M in slot `slot` of work. */
static void start_pass(plan *p, float *work, int t0, int slot)
{
    p->t0 = t0;
    p->count = p->tiles - t0 < p->pass_tiles ? p->tiles - t0 : p->pass_tiles;
    p->v = work + slot * slot_floats(p);
    p->mm = p->v + (size_t)p->alpha * p->alpha * p->v_xi;
}

/* One pass over all tiles (transformed weights too big to re-read per pass): each stage in parallel. */
static void run_staged(const path *f, plan *p, float *out, const float *in, const float *u, const float *bias,
                       float *work)
{
    start_pass(p, work, 0, 0);
    int n_in = transform_pieces(p, p->cinb), n_gemm = gemm_pieces(p), n_out = transform_pieces(p, p->coutb);
    double c_in = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < n_in; k++) f->input(p, in, k);
    double c_gemm = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
    int chunk = p->streams ? n_gemm / (8 * omp_get_max_threads()) : 1; /* runs of pieces, weights in a row */
#pragma omp parallel for schedule(dynamic, chunk > 1 ? chunk : 1)
    for (int k = 0; k < n_gemm; k++) f->gemm(p, u, k);
    double c_out = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
#pragma omp parallel for schedule(dynamic, 1)
    for (int k = 0; k < n_out; k++) f->output(p, out, bias, k);
    if (!timing_on) return;
    times.input += c_gemm - c_in;
    times.gemm += c_out - c_gemm;
    times.output += cpu_now(CLOCK_PROCESS_CPUTIME_ID) - c_out;
}

/* All three stages of one pass by the calling thread (its V and M stay in its cache). */
static void run_pass(const path *f, plan *p, float *out, const float *in, const float *u, const float *bias)
{
    int n_in = transform_pieces(p, p->cinb), n_gemm = gemm_pieces(p), n_out = transform_pieces(p, p->coutb);
    double c_in = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < n_in; k++) f->input(p, in, k);
    double c_gemm = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < n_gemm; k++) f->gemm(p, u, k);
    double c_out = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < n_out; k++) f->output(p, out, bias, k);
    if (!timing_on) return;
    double c_end = cpu_now(CLOCK_THREAD_CPUTIME_ID);
#pragma omp critical(vggc_winograd_times)
    {
        times.input += c_gemm - c_in;
        times.gemm += c_out - c_gemm;
        times.output += c_end - c_out;
    }
}

/* Passes of pass_tiles tiles, each thread taking whole passes: no barrier between the stages. Each thread has
 * its own slot of work for V and M, reused pass after pass (it stays in its cache); as many threads as slots fit
 * (the result does not depend on it). */
static void run_fused(const path *f, const plan *shape, float *out, const float *in, const float *u,
                      const float *bias, float *work)
{
    int passes = (shape->tiles + shape->pass_tiles - 1) / shape->pass_tiles, threads = omp_get_max_threads();
    size_t slots = VGGC_WINOGRAD_WORK_FLOATS(shape->n, shape->cin, shape->h, shape->w, shape->cout, shape->m)
                   / slot_floats(shape);
    if ((size_t)threads > slots) threads = slots > 0 ? (int)slots : 1;
    if (threads > passes) threads = passes;
#pragma omp parallel num_threads(threads)
    {
        plan p = *shape;
        int me = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < passes; k++) {
            start_pass(&p, work, k * shape->pass_tiles, me);
            run_pass(f, &p, out, in, u, bias);
        }
    }
}

static void run(const path *f, float *out, const float *in, const float *u, const float *bias, float *work,
                int n, int cin, int h, int w, int cout, int m, int pool)
{
    plan p = make_plan(n, cin, h, w, cout, m, pool);
    if (p.pass_tiles >= p.tiles) run_staged(f, &p, out, in, u, bias, work);
    else run_fused(f, &p, out, in, u, bias, work);
}

void vggc_conv_winograd_portable(float *out,        /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                                 const float *in,   /* blocked (n, cin, h, w) */
                                 const float *u,    /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                                 const float *bias, /* (cout) */
                                 float *work,       /* VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m) */
                                 int n, int cin, int h, int w, int cout, int m, int pool)
{
    static const path portable = {input_piece_portable, gemm_piece_portable, output_piece_portable};
    run(&portable, out, in, u, bias, work, n, cin, h, w, cout, m, pool);
}

#ifdef HAVE_AVX512_KERNEL
void vggc_conv_winograd_avx512(float *out, const float *in, const float *u, const float *bias, float *work,
                               int n, int cin, int h, int w, int cout, int m, int pool)
{
    static const path avx512 = {input_piece_avx512, gemm_piece_avx512, output_piece_avx512};
    run(&avx512, out, in, u, bias, work, n, cin, h, w, cout, m, pool);
}
#else
/* No AVX-512 kernel in this build: vggc_cpu_avx512() is 0, and this name only keeps the link whole. */
void vggc_conv_winograd_avx512(float *out, const float *in, const float *u, const float *bias, float *work,
                               int n, int cin, int h, int w, int cout, int m, int pool)
{
    vggc_conv_winograd_portable(out, in, u, bias, work, n, cin, h, w, cout, m, pool);
}
#endif

void vggc_conv_winograd(float *out,        /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                        const float *in,   /* blocked (n, cin, h, w) */
                        const float *u,    /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                        const float *bias, /* (cout) */
                        float *work,       /* VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m) */
                        int n, int cin, int h, int w, int cout, int m, int pool)
{
    if (vggc_cpu_avx512()) vggc_conv_winograd_avx512(out, in, u, bias, work, n, cin, h, w, cout, m, pool);
    else vggc_conv_winograd_portable(out, in, u, bias, work, n, cin, h, w, cout, m, pool);
}
