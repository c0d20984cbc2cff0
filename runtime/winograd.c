/* winograd.c — 3x3 convolution (stride 1, pad 1) + bias + ReLU (+ 2x2/2 max pool) by Winograd F(m x m, 3 x 3),
 * m = 2, 3, 4, 5 or 6, on blocked tensors (see vggc.h): the weight transform, the cache passes and the threads, written
 * once for every instruction set. The stages' pieces (the transforms of winograd_plan.h and a GEMM micro-kernel) come
 * from the kernel row of platform.h: runtime/{generic,x86/avx2,x86/avx512}/winograd.c.
 *
 * Passes: when U is small enough to stay in L3 (the big early maps), the tiles are cut in passes whose V + M fit one
 * core's L2, and each thread runs whole passes through the three stages, with no barrier ("fused"). Otherwise
 * (small maps, many channels; or too few passes or work slots to keep every thread busy) one pass covers every tile
 * and each stage is a parallel loop ("staged"), so U is read
 * about once; when a GEMM piece then covers every tile (batch 1), U streams from memory, so each piece prefetches
 * the next piece's weights while it computes and the threads take runs of consecutive pieces. Every piece of work
 * (a pass, a group of tiles x 16 channels, a GEMM block) has boundaries that depend on the shape and the kernel row
 * alone, and every output value is computed by one thread in a fixed order: the result is bitwise the same for any
 * number of threads on one row (and the passes never change a bit: tests/test_winograd.c). U = G g G^T is computed
 * in double at load time.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "platform.h"
#include "vggc.h"
#include "winograd_internal.h"
#include "winograd_plan.h"

#include <omp.h>
#include <string.h>
#include <time.h>

/* Cache budgets (bytes) that size the passes and the GEMM pieces from the shape and the kernel row alone
 * (vggc_winograd_budgets). V + M of one fused pass: the row's wino_pass_bytes (platform.c), unless set here. */
#define U_CACHED_BYTES (12L << 20) /* transformed weights small enough to be re-read from L3 every pass */
#define A_CHUNK_BYTES (256L << 10) /* the rows of V a GEMM piece reads; the next pieces (other panels) reuse them */
static long pass_set, u_cached_bytes = U_CACHED_BYTES, a_chunk_bytes = A_CHUNK_BYTES;

void vggc_winograd_budgets(long pass, long u_cached, long a_chunk)
{
    pass_set = pass > 0 ? pass : 0;
    u_cached_bytes = u_cached > 0 ? u_cached : U_CACHED_BYTES;
    a_chunk_bytes = a_chunk > 0 ? a_chunk : A_CHUNK_BYTES;
}

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
static const double G3[5][3] = {{1, 0, 0}, /* the rows of B^T (winograd_plan.h) it halves are doubled there */
                                {1.0 / 2, 1.0 / 2, 1.0 / 2},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {-8.0 / 3, -4.0 / 3, -2.0 / 3},
                                {0, 0, 1.0 / 2}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};
static const double G5[7][3] = {{-1.0 / 2, 0, 0},
                                {-1.0 / 3, -1.0 / 3, -1.0 / 3},
                                {1.0 / 9, -1.0 / 9, 1.0 / 9},
                                {1.0 / 36, 1.0 / 18, 1.0 / 9},
                                {-1.0 / 60, 1.0 / 30, -1.0 / 15},
                                {32.0 / 45, 16.0 / 45, 8.0 / 45},
                                {0, 0, 1}};
static const double G6[8][3] = {{1, 0, 0},
                                {-2.0 / 9, -2.0 / 9, -2.0 / 9},
                                {-2.0 / 9, 2.0 / 9, -2.0 / 9},
                                {1.0 / 90, 1.0 / 45, 2.0 / 45},
                                {1.0 / 90, -1.0 / 45, 2.0 / 45},
                                {32.0 / 45, 16.0 / 45, 8.0 / 45},
                                {32.0 / 45, -16.0 / 45, 8.0 / 45},
                                {0, 0, 1}};

/* Row i of G for tile m. */
static const double *g_row(int m, int i)
{
    return m == 2 ? G2[i] : m == 3 ? G3[i] : m == 4 ? G4[i] : m == 5 ? G5[i] : G6[i];
}

/* u[i][j] = (G g G^T)[i][j] for one 3x3 kernel g, in double. */
static void transform_kernel(double u[WINO_ALPHA_MAX][WINO_ALPHA_MAX], const float *g /* (3, 3) */, int m)
{
    int alpha = m + 2;
    double t[WINO_ALPHA_MAX][3];
    for (int i = 0; i < alpha; i++)
        for (int k = 0; k < 3; k++) {
            const double *gi = g_row(m, i);
            t[i][k] = gi[0] * g[k] + gi[1] * g[3 + k] + gi[2] * g[6 + k];
        }
    for (int i = 0; i < alpha; i++)
        for (int j = 0; j < alpha; j++) {
            const double *gj = g_row(m, j);
            u[i][j] = t[i][0] * gj[0] + t[i][1] * gj[1] + t[i][2] * gj[2];
        }
}

void vggc_winograd_pack_on(const vggc_kernels *k, float *u, const float *weight, int cin, int cout, int m)
{
    int alpha = m + 2, cinp = VGGC_CPAD(cin), coutp = VGGC_CPAD(cout), pw = k->wino_panel;
#pragma omp parallel for schedule(static)
    for (int co = 0; co < coutp; co++) {
        int panel = co / pw, width = coutp - panel * pw < pw ? coutp - panel * pw : pw;
        for (int ci = 0; ci < cinp; ci++) {
            double t[WINO_ALPHA_MAX][WINO_ALPHA_MAX] = {{0}};
            if (co < cout && ci < cin) transform_kernel(t, weight + ((size_t)co * cin + ci) * 9, m);
            for (int xi = 0; xi < alpha * alpha; xi++) {
                size_t at = (size_t)xi * cinp * coutp + (size_t)panel * pw * cinp + (size_t)ci * width + co % pw;
                u[at] = (float)t[xi / alpha][xi % alpha];
            }
        }
    }
}

void vggc_winograd_pack(float *u,            /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                        const float *weight, /* (cout, cin, 3, 3) */
                        int cin, int cout, int m)
{
    vggc_winograd_pack_on(vggc_kernels_active(), u, weight, cin, cout, m);
}

/* ---- the passes and the entry points ------------------------------------------------------------------- */

/* The plan of a layer: passes sized by the cache budgets, or, when one_pass, one pass over every tile (staged). */
static vggc_wino_plan make_plan(const vggc_kernels *k, int n, int cin, int h, int w, int cout, int m, int pool,
                                int one_pass)
{
    vggc_wino_plan p = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .m = m, .pool = pool, .alpha = m + 2,
                        .panel = k->wino_panel};
    p.tiles_y = (h + m - 1) / m;
    p.tiles_x = (w + m - 1) / m;
    p.tiles = n * p.tiles_y * p.tiles_x;
    p.cinb = VGGC_CPAD(cin) / WINO_LANES;
    p.coutb = VGGC_CPAD(cout) / WINO_LANES;
    p.cinp = p.cinb * WINO_LANES;
    p.coutp = p.coutb * WINO_LANES;
    p.oh = pool ? h / 2 : h;
    p.ow = pool ? w / 2 : w;
    long per_tile = (long)p.alpha * p.alpha * (p.cinp + p.coutp) * 4; /* its V and M */
    long u_bytes = (long)p.alpha * p.alpha * p.cinp * p.coutp * 4;
    long pass_bytes = pass_set ? pass_set : k->wino_pass_bytes;
    /* One pass (staged) when U is too big to re-read every pass; or when it is a third of that or more and the
     * whole layer's V and M fit in the same budget: reading U once then beats re-reading it from L3 once per pass
     * of the fused plan (VGG's 128 -> 256 at 56x56 under F(6x6), batch 1: 8.4 MB of U, 9 passes; runtime/KERNELS.md).
     * With more V and M (the 112x112 layers, any layer at batch 8) the fused passes are faster. */
    int whole = u_bytes > u_cached_bytes || (u_bytes > u_cached_bytes / 3 && per_tile * p.tiles <= u_cached_bytes);
    long tiles = one_pass || whole ? p.tiles : pass_bytes / per_tile;
    p.pass_tiles = tiles < WINO_ROWS ? WINO_ROWS : tiles >= p.tiles ? p.tiles : (int)(tiles / WINO_ROWS * WINO_ROWS);
    long blocks = a_chunk_bytes / ((long)WINO_ROWS * p.cinp * 4);
    p.gemm_blocks = blocks < 1 ? 1 : (int)blocks;
    p.streams = (p.pass_tiles + WINO_ROWS - 1) / WINO_ROWS <= p.gemm_blocks;
    /* VGGC_WINOGRAD_SKEW floats after each transform point's V (M), so that the alpha^2 vectors of one tile do not
     * fall in the same few L1 and L2 cache sets: without it a pass of 16 tiles x 512 channels put the points 32 KB
     * apart (all 36 in one L1 set). Fused passes always had it, staged ones (one pass of all the tiles) since
     * 2026-12-02: runtime/KERNELS.md. */
    p.v_xi = (size_t)p.pass_tiles * p.cinp + VGGC_WINOGRAD_SKEW;
    p.m_xi = (size_t)p.pass_tiles * p.coutp + VGGC_WINOGRAD_SKEW;
    p.v_spills = (long)p.alpha * p.alpha * (long)p.v_xi * 4 > pass_bytes;
    return p;
}

/* Floats of one pass's V and M. */
static size_t slot_floats(const vggc_wino_plan *p) { return (size_t)p->alpha * p->alpha * (p->v_xi + p->m_xi); }

/* Set the pass to tiles [t0, t0 + pass_tiles) (fewer at the end), its V and M in slot `slot` of work. */
static void start_pass(vggc_wino_plan *p, float *work, int t0, int slot)
{
    p->t0 = t0;
    p->count = p->tiles - t0 < p->pass_tiles ? p->tiles - t0 : p->pass_tiles;
    wino_cut_rows(p);
    p->v = work + slot * slot_floats(p);
    p->mm = p->v + (size_t)p->alpha * p->alpha * p->v_xi;
}

/* One pass over all tiles (transformed weights too big to re-read per pass): each stage in parallel. The transforms'
 * pieces go to the threads in runs (guided), not one by one: neighbouring pieces read and write neighbouring memory,
 * and two threads taking turns on them lost time to each other's lines (512 -> 512 at 14x14, batch 1, AVX2 row:
 * input transform 106-117 us against 119-133 one by one, output transform 87-98 against 128-137). */
static void run_staged(const vggc_kernels *f, vggc_wino_plan *p, float *out, const float *in, const float *u, const float *bias,
                       float *work)
{
    start_pass(p, work, 0, 0);
    int n_in = wino_transform_pieces(p, p->cinb), n_gemm = wino_gemm_pieces(p), n_out = wino_transform_pieces(p, p->coutb);
    double c_in = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
#pragma omp parallel for schedule(guided, 1)
    for (int k = 0; k < n_in; k++) f->wino_input(p, in, k);
    double c_gemm = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
    /* Runs of consecutive pieces (the next piece a piece prefetches is then the same thread's when they stream their
     * weights), each run a share of what is left (guided), down to 1/64 of a thread's share, so that the last runs
     * are short and both threads finish together: fixed runs of 1/8 of a share left one thread waiting for the
     * other's last run (on a Zen 5: VGG16 at batch 1 57.6 -> 56.2 ms on the AVX2 row, resnet18's 512 -> 512 at 7x7
     * 0.65 -> 0.57 ms on the AVX-512 row). */
    int least = p->streams ? n_gemm / (64 * omp_get_max_threads()) : 1;
#pragma omp parallel for schedule(guided, least > 1 ? least : 1)
    for (int k = 0; k < n_gemm; k++) f->wino_gemm(p, u, k);
    double c_out = cpu_now(CLOCK_PROCESS_CPUTIME_ID);
#pragma omp parallel for schedule(guided, 1)
    for (int k = 0; k < n_out; k++) f->wino_output(p, out, bias, k);
    if (!timing_on) return;
    times.input += c_gemm - c_in;
    times.gemm += c_out - c_gemm;
    times.output += cpu_now(CLOCK_PROCESS_CPUTIME_ID) - c_out;
}

/* All three stages of one pass by the calling thread (its V and M stay in its cache). */
static void run_pass(const vggc_kernels *f, vggc_wino_plan *p, float *out, const float *in, const float *u, const float *bias)
{
    int n_in = wino_transform_pieces(p, p->cinb), n_gemm = wino_gemm_pieces(p), n_out = wino_transform_pieces(p, p->coutb);
    double c_in = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < n_in; k++) f->wino_input(p, in, k);
    double c_gemm = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < n_gemm; k++) f->wino_gemm(p, u, k);
    double c_out = cpu_now(CLOCK_THREAD_CPUTIME_ID);
    for (int k = 0; k < n_out; k++) f->wino_output(p, out, bias, k);
    if (!timing_on) return;
    double c_end = cpu_now(CLOCK_THREAD_CPUTIME_ID);
#pragma omp critical(vggc_winograd_times)
    {
        times.input += c_gemm - c_in;
        times.gemm += c_out - c_gemm;
        times.output += c_end - c_out;
    }
}

/* The fused plan's passes of pass_tiles tiles (the last one may be shorter). */
static int passes_of(const vggc_wino_plan *p) { return (p->tiles + p->pass_tiles - 1) / p->pass_tiles; }

/* Passes of pass_tiles tiles, each thread taking whole passes: no barrier between the stages. Each thread has
 * its own slot of work for V and M, reused pass after pass (it stays in its cache); run() takes this path only when
 * there are as many passes and slots as threads (fused_fills_threads). */
static void run_fused(const vggc_kernels *f, const vggc_wino_plan *shape, float *out, const float *in, const float *u,
                      const float *bias, float *work)
{
    int passes = passes_of(shape);
#pragma omp parallel
    {
        vggc_wino_plan p = *shape;
        int me = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < passes; k++) {
            start_pass(&p, work, k * shape->pass_tiles, me);
            run_pass(f, &p, out, in, u, bias);
        }
    }
}

/* Whether the fused passes keep every thread busy: as many passes, and as many slots of work for their V and M, as
 * threads. Otherwise (few tiles: resnet18's 256->256 at 14x14, batch 1, made 2 passes of 12 and 4 tiles and had work
 * for one slot, so one thread ran the layer, 1.3 ms against 0.58 staged) the layer runs staged, every stage on every
 * thread. Both give the same bits (tests/test_winograd.c), so the choice may depend on the thread count. */
static int fused_fills_threads(const vggc_wino_plan *p)
{
    size_t slots = VGGC_WINOGRAD_WORK_FLOATS(p->n, p->cin, p->h, p->w, p->cout, p->m) / slot_floats(p);
    int threads = omp_get_max_threads();
    return passes_of(p) >= threads && slots >= (size_t)threads;
}

static void run(const vggc_kernels *f, float *out, const float *in, const float *u, const float *bias, float *work,
                int n, int cin, int h, int w, int cout, int m, int pool, const vggc_epilogue *e)
{
    vggc_wino_plan p = make_plan(f, n, cin, h, w, cout, m, pool, 0);
    if (p.pass_tiles < p.tiles && !fused_fills_threads(&p)) p = make_plan(f, n, cin, h, w, cout, m, pool, 1);
    p.relu = e->relu, p.residual = e->residual, p.out_blocks = e->out_blocks > 0 ? e->out_blocks : p.coutb;
    if (p.pass_tiles >= p.tiles) run_staged(f, &p, out, in, u, bias, work);
    else run_fused(f, &p, out, in, u, bias, work);
}

static const vggc_epilogue plain = {1, NULL, 0};

void vggc_conv_winograd_on(const vggc_kernels *k, float *out, const float *in, const float *u, const float *bias,
                           float *work, int n, int cin, int h, int w, int cout, int m, int pool)
{
    run(k, out, in, u, bias, work, n, cin, h, w, cout, m, pool, &plain);
}

void vggc_conv_winograd_ex_on(const vggc_kernels *k, float *out, const float *in, const float *u, const float *bias,
                              float *work, int n, int cin, int h, int w, int cout, int m, int pool,
                              const vggc_epilogue *e)
{
    run(k, out, in, u, bias, work, n, cin, h, w, cout, m, pool, e);
}

void vggc_conv_winograd_ex(float *out, const float *in, const float *u, const float *bias, float *work, int n, int cin,
                           int h, int w, int cout, int m, int pool, const vggc_epilogue *e)
{
    run(vggc_kernels_active(), out, in, u, bias, work, n, cin, h, w, cout, m, pool, e);
}

void vggc_conv_winograd(float *out,        /* blocked (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                        const float *in,   /* blocked (n, cin, h, w) */
                        const float *u,    /* VGGC_WINOGRAD_WEIGHT_FLOATS(cin, cout, m) */
                        const float *bias, /* (cout) */
                        float *work,       /* VGGC_WINOGRAD_WORK_FLOATS(n, cin, h, w, cout, m) */
                        int n, int cin, int h, int w, int cout, int m, int pool)
{
    run(vggc_kernels_active(), out, in, u, bias, work, n, cin, h, w, cout, m, pool, &plain);
}
