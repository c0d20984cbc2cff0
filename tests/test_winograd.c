/* test_winograd.c — Winograd F(m x m, 3 x 3), m = 2 to 6, on blocked tensors against the naive NCHW convolution
 * (then the naive pool), on odd shapes, on every kernel row of platform.h this CPU runs (each test once per
 * instruction set, named _on_<isa>; the others skipped by name); every row against the generic one; padded
 * channels, buffer bounds, and bitwise determinism for 1, 2 and 3 threads. */
#include "helpers.h"
#include "platform.h"
#include "vggc.h"
#include "winograd_internal.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Normwise relative error allowed against the double-accumulated reference. F(4x4) multiplies by up to 8 in the
 * output transform and by 5 in the input transform, so its rounding error is larger than F(2x2)'s; F(6x6) by up to
 * 32 and 5.25 (with 1/32 at the other end), about twice F(4x4)'s error on VGG's layers. */
#define NORM_BOUND_F2 1e-6
#define NORM_BOUND_F3 5e-6 /* entries up to 3 and 8/3, halves and quarters: between F(2x2) and F(4x4) */
#define NORM_BOUND_F4 1e-5
#define NORM_BOUND_F5 2e-5 /* by up to 16 and 6, with 1/16 at the other end: between F(4x4) and F(6x6) */
#define NORM_BOUND_F6 2e-5
/* Elementwise: |got - want| <= ELEM_BOUND * max |want| (an error relative to the output's scale). */
#define ELEM_BOUND 1e-4
#define GUARD 64              /* floats of canary after every buffer the kernel writes */
#define CANARY 1234.5f

typedef struct {
    int n, cin, h, w, cout, m, pool;
} conv_case;

static double norm_bound(int m)
{
    static const double bounds[] = {NORM_BOUND_F2, NORM_BOUND_F3, NORM_BOUND_F4, NORM_BOUND_F5, NORM_BOUND_F6};
    return bounds[m - 2];
}

/* count floats and GUARD more after them, all CANARY (expect_guard_intact checks the GUARD ones) */
static float *guarded_floats(size_t count)
{
    float *p = malloc((count + GUARD) * sizeof *p);
    cr_assert_not_null(p, "out of memory for %zu floats", count);
    for (size_t i = 0; i < count + GUARD; i++) p[i] = CANARY;
    return p;
}

static void expect_guard_intact(const char *what, const float *p, size_t count)
{
    for (size_t i = count; i < count + GUARD; i++)
        cr_expect(p[i] == CANARY, "%s: written past its %zu floats (at +%zu)", what, count, i - count);
}

/* NCHW -> blocked (n, cpad / 16, h, w, 16), padded channels zero. */
static void to_blocked(float *out, const float *in, int n, int c, int h, int w)
{
    int cp = VGGC_CPAD(c);
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < cp; ch++)
            for (int p = 0; p < h * w; p++)
                out[(((size_t)b * cp + ch) / 16 * h * w + p) * 16 + ch % 16] =
                    ch < c ? in[((size_t)b * c + ch) * h * w + p] : 0.0f;
}

/* blocked -> NCHW; also checks that the padded channels hold 0. */
static void from_blocked(float *out, const float *in, int n, int c, int h, int w)
{
    int cp = VGGC_CPAD(c);
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < cp; ch++)
            for (int p = 0; p < h * w; p++) {
                float v = in[(((size_t)b * cp + ch) / 16 * h * w + p) * 16 + ch % 16];
                if (ch < c) out[((size_t)b * c + ch) * h * w + p] = v;
                else if (v != 0.0f)
                    cr_assert_fail("padded channel %d of image %d pixel %d holds %g, not 0", ch, b, p, (double)v);
            }
}

/* Operands of a case: random input (optionally >= 0, as after a ReLU), PyTorch-like weights, small bias. */
typedef struct {
    float *in, *weight, *bias, *in_blocked, *u;
} operands;

static operands make_operands(const conv_case *c, unsigned seed)
{
    size_t in_count = (size_t)c->n * c->cin * c->h * c->w, w_count = (size_t)c->cout * c->cin * 9;
    operands o = {guarded_floats(in_count), guarded_floats(w_count), guarded_floats((size_t)c->cout),
                  guarded_floats(VGGC_BLOCKED_FLOATS(c->n, c->cin, c->h, c->w)),
                  guarded_floats(VGGC_WINOGRAD_WEIGHT_FLOATS(c->cin, c->cout, c->m))};
    fill_random(o.in, in_count, seed, 1.0f);
    fill_random(o.weight, w_count, seed + 1, 1.0f / sqrtf(9.0f * (float)c->cin));
    fill_random(o.bias, (size_t)c->cout, seed + 2, 0.1f);
    to_blocked(o.in_blocked, o.in, c->n, c->cin, c->h, c->w);
    vggc_winograd_pack(o.u, o.weight, c->cin, c->cout, c->m);
    expect_guard_intact("packed weights", o.u, VGGC_WINOGRAD_WEIGHT_FLOATS(c->cin, c->cout, c->m));
    return o;
}

static void free_operands(operands *o)
{
    free(o->in), free(o->weight), free(o->bias), free(o->in_blocked), free(o->u);
}

static int out_h(const conv_case *c) { return c->pool ? c->h / 2 : c->h; }
static int out_w(const conv_case *c) { return c->pool ? c->w / 2 : c->w; }
static size_t out_count(const conv_case *c) { return (size_t)c->n * c->cout * out_h(c) * out_w(c); }

/* The naive reference: conv + bias + ReLU in double per output, then the floor-mode pool. */
static float *reference(const conv_case *c, const operands *o)
{
    size_t full = (size_t)c->n * c->cout * c->h * c->w;
    float *conv = guarded_floats(full);
    vggc_conv2d_ref(conv, o->in, o->weight, o->bias, c->n, c->cin, c->h, c->w, c->cout, 3, 1);
    if (!c->pool) return conv;
    float *pooled = guarded_floats(out_count(c));
    vggc_maxpool2x2(pooled, conv, c->n, c->cout, c->h, c->w);
    free(conv);
    return pooled;
}

/* The output on row k in NCHW, with the weights packed for k, run with work and output buffers full of NaN (nothing
 * may be read before it is written), checking the canaries after them and the padded channels. */
static float *run_winograd(const vggc_kernels *k, const conv_case *c, operands *o)
{
    size_t work_count = VGGC_WINOGRAD_WORK_FLOATS(c->n, c->cin, c->h, c->w, c->cout, c->m);
    size_t blocked_count = VGGC_BLOCKED_FLOATS(c->n, c->cout, out_h(c), out_w(c));
    float *work = guarded_floats(work_count), *blocked = guarded_floats(blocked_count), *got = guarded_floats(out_count(c));
    vggc_winograd_pack_on(k, o->u, o->weight, c->cin, c->cout, c->m); /* the row's own panel layout */
    expect_guard_intact("packed weights", o->u, VGGC_WINOGRAD_WEIGHT_FLOATS(c->cin, c->cout, c->m));
    for (size_t i = 0; i < work_count; i++) work[i] = NAN;
    for (size_t i = 0; i < blocked_count; i++) blocked[i] = NAN;
    vggc_conv_winograd_on(k, blocked, o->in_blocked, o->u, o->bias, work, c->n, c->cin, c->h, c->w, c->cout, c->m,
                          c->pool);
    expect_guard_intact("work", work, work_count);
    expect_guard_intact("output", blocked, blocked_count);
    from_blocked(got, blocked, c->n, c->cout, out_h(c), out_w(c));
    free(work), free(blocked);
    return got;
}

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs((double)x[i]) > m ? fabs((double)x[i]) : m;
    return m;
}

/* Row k on case c matches the naive reference within the normwise bound of its m and elementwise to the scale. */
static void expect_matches_reference(const vggc_kernels *k, const conv_case *c, unsigned seed)
{
    operands o = make_operands(c, seed);
    float *want = reference(c, &o), *got = run_winograd(k, c, &o);
    size_t count = out_count(c);
    char what[160];
    snprintf(what, sizeof what, "%s F(%dx%d) n=%d %d->%d at %dx%d%s", k->name, c->m, c->m, c->n, c->cin, c->cout, c->h,
             c->w, c->pool ? " + pool" : "");
    double err = rel_error(got, want, count), bound = norm_bound(c->m);
    cr_log_info("%s: normwise relative error %.3g (bound %.1g)", what, err, bound);
    cr_expect(err <= bound, "%s: normwise relative error %.3g > %.1g", what, err, bound);
    expect_close(what, got, want, count, 0.0, ELEM_BOUND * max_abs(want, count) + 1e-30);
    free(want), free(got);
    free_operands(&o);
}

/* Every case on row k. */
static void expect_cases_match(const vggc_kernels *k, const conv_case *cases, int count)
{
    for (int i = 0; i < count; i++) expect_matches_reference(k, &cases[i], 10u + i);
}

/* Odd shapes for one m and pool: maps 1x1 .. 28x28, channels 3, 5, 17, 40 (not multiples of 16), batch 1 and 3. */
static void expect_odd_shapes_match(const vggc_kernels *k, int m, int pool)
{
    conv_case cases[] = {
        {1, 3, 1, 1, 5, m, pool},    {3, 5, 3, 5, 17, m, pool},   {1, 17, 7, 7, 40, m, pool},
        {3, 40, 13, 9, 3, m, pool},  {1, 40, 14, 14, 17, m, pool}, {3, 17, 28, 28, 40, m, pool},
        {1, 3, 2, 2, 3, m, pool},    {1, 5, 9, 13, 5, m, pool},
    };
    expect_cases_match(k, cases, (int)(sizeof cases / sizeof cases[0]));
}

static void f2x2_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 2, 0); }
static void f3x3_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 3, 0); }
static void f4x4_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 4, 0); }
static void f2x2_pool_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 2, 1); }
static void f4x4_pool_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 4, 1); }
static void f5x5_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 5, 0); }
static void f6x6_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 6, 0); }
static void f6x6_pool_odd(const vggc_kernels *k) { expect_odd_shapes_match(k, 6, 1); }
TEST_EVERY_ISA(winograd, f2x2_matches_the_naive_convolution_on_odd_shapes, f2x2_odd)
TEST_EVERY_ISA(winograd, f3x3_matches_the_naive_convolution_on_odd_shapes, f3x3_odd)
TEST_EVERY_ISA(winograd, f4x4_matches_the_naive_convolution_on_odd_shapes, f4x4_odd)
TEST_EVERY_ISA(winograd, f2x2_with_the_fused_pool_matches_convolution_then_pool, f2x2_pool_odd)
TEST_EVERY_ISA(winograd, f4x4_with_the_fused_pool_matches_convolution_then_pool, f4x4_pool_odd)
TEST_EVERY_ISA(winograd, f5x5_matches_the_naive_convolution_on_odd_shapes, f5x5_odd)
TEST_EVERY_ISA(winograd, f6x6_matches_the_naive_convolution_on_odd_shapes, f6x6_odd)
TEST_EVERY_ISA(winograd, f6x6_with_the_fused_pool_matches_convolution_then_pool, f6x6_pool_odd)

/* Many tiles (several GEMM pieces and row blocks, a ragged last block), two 32-channel panels and a 16-wide one,
 * several 16-channel input blocks: every part of the GEMM's cutting. */
static void many_tiles(const vggc_kernels *k)
{
    conv_case cases[] = {{2, 64, 28, 27, 80, 2, 0}, {2, 64, 28, 27, 80, 4, 1}, {1, 256, 14, 14, 48, 4, 0},
                         {2, 64, 56, 55, 80, 6, 1}, {3, 256, 14, 13, 48, 5, 0}, {1, 512, 14, 14, 40, 3, 0}};
    expect_cases_match(k, cases, (int)(sizeof cases / sizeof cases[0]));
}
TEST_EVERY_ISA(winograd, layers_with_many_tiles_and_channels_match_the_naive_convolution, many_tiles)

/* Tiny cache budgets: many passes over the tiles (the last one ragged, not a multiple of the 12-row blocks) and
 * GEMM pieces of one row block; the result must not change. */
static void small_passes(const vggc_kernels *k)
{
    conv_case cases[] = {{2, 40, 13, 13, 48, 2, 1}, {1, 17, 14, 17, 33, 4, 0},  /* 98 and 20 tiles */
                         {2, 17, 29, 23, 33, 6, 1}, {1, 17, 14, 16, 33, 3, 0}}; /* 40 and 30 tiles */
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        operands o = make_operands(&cases[i], 50u + i);
        float *one = run_winograd(k, &cases[i], &o);
        vggc_winograd_budgets(1, 1L << 40, 1); /* passes of 12 tiles, one row block per GEMM piece */
        float *many = run_winograd(k, &cases[i], &o);
        vggc_winograd_budgets(0, 0, 0);
        expect_same_bits("many passes vs one", many, one, out_count(&cases[i]));
        free(one), free(many);
        free_operands(&o);
    }
    conv_case c = {1, 40, 13, 13, 17, 4, 1}; /* 16 tiles */
    vggc_winograd_budgets(1, 1L << 40, 1);
    expect_cases_match(k, &c, 1);
    vggc_winograd_budgets(0, 0, 0);
}
TEST_EVERY_ISA(winograd, many_small_passes_and_gemm_pieces_give_the_same_result_as_one, small_passes)

/* Row k against the generic row on two layers: within the normwise bound of the Winograd error (the rows differ
 * in the order and fusing of the GEMM's multiply-adds and in the transforms' vector code). */
static void agrees_with_generic(const vggc_kernels *k)
{
    const vggc_kernels *generic = require_isa("generic");
    conv_case cases[] = {{3, 40, 13, 9, 17, 2, 1}, {2, 33, 28, 28, 64, 4, 0}, {2, 33, 29, 27, 64, 6, 1},
                         {2, 33, 14, 15, 64, 5, 0}, {1, 33, 14, 13, 64, 3, 0}};
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        operands o = make_operands(&cases[i], 70u + i);
        float *fast = run_winograd(k, &cases[i], &o), *plain = run_winograd(generic, &cases[i], &o);
        size_t count = out_count(&cases[i]);
        double err = rel_error(fast, plain, count), bound = norm_bound(cases[i].m);
        cr_log_info("%s vs generic, case %d: normwise %.3g", k->name, i, err);
        cr_expect(err <= bound, "case %d: %s and generic differ by %.3g normwise (bound %.1g)", i, k->name, err, bound);
        expect_close("vs generic", fast, plain, count, 0.0, 1e-5 * max_abs(plain, count) + 1e-30);
        free(fast), free(plain);
        free_operands(&o);
    }
}
TEST_EVERY_ISA(winograd, the_row_agrees_with_the_generic_row, agrees_with_generic)

/* Transformed weights over the cached budget: one staged pass whose GEMM pieces each cover every tile, so they
 * prefetch the next piece's weights and threads take runs of pieces. Same bits as the fused passes (whose passes
 * are cut into other row blocks), any threads; also when the pass's V is over the L2 budget, so the input transform
 * gathers each row block's V before writing it (42 tiles: groups of 32 tiles that start and end inside row blocks
 * of 12, and a last block of 6; 25 tiles as blocks of 10, 10 and 5; 49 as 12, 12, 10, 10 and 5). */
static void staged_streams(const vggc_kernels *k)
{
    conv_case cases[] = {{1, 40, 14, 14, 80, 4, 1}, {2, 33, 13, 9, 48, 2, 0}, /* 16 tiles, 3 panels; 42 tiles */
                         {1, 40, 28, 28, 80, 6, 0}, {2, 40, 14, 13, 80, 5, 0}, /* 25 tiles; 18 */
                         {1, 40, 14, 14, 80, 3, 0}, {1, 40, 28, 28, 80, 4, 0}}; /* 25 tiles of 3x3; 49 */
    const long pass_budgets[] = {0, 1}; /* V within L2 (written tile by tile); V "over L2" (gathered) */
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        operands o = make_operands(&cases[i], 60u + i);
        float *fused = run_winograd(k, &cases[i], &o);
        for (int b = 0; b < 2; b++) {
            vggc_winograd_budgets(pass_budgets[b], 1, 0); /* U "too big to cache": staged */
            for (int threads = 1; threads <= 3; threads++) {
                vggc_set_threads(threads);
                float *staged = run_winograd(k, &cases[i], &o);
                char what[80];
                snprintf(what, sizeof what, "staged%s, %d thread(s), vs fused", b ? ", V gathered" : "", threads);
                expect_same_bits(what, staged, fused, out_count(&cases[i]));
                free(staged);
            }
        }
        vggc_set_threads(2);
        vggc_winograd_budgets(0, 0, 0);
        free(fused);
        free_operands(&o);
    }
    conv_case c = {1, 40, 14, 14, 80, 4, 1};
    vggc_winograd_budgets(0, 1, 0);
    expect_cases_match(k, &c, 1);
    vggc_winograd_budgets(0, 0, 0);
}
TEST_EVERY_ISA(winograd, the_staged_pass_that_streams_its_weights_gives_the_fused_result_bitwise, staged_streams)

/* 1, 2 and 3 threads, bitwise. The third layer (resnet18's 256->256 at 14x14, batch 1) makes 2 fused passes with work
 * for one slot: it runs fused on one thread and staged on more. */
static void thread_counts(const vggc_kernels *k)
{
    conv_case cases[] = {{2, 40, 28, 27, 48, 2, 1}, {2, 40, 28, 27, 48, 4, 0}, {1, 256, 14, 14, 256, 4, 0},
                         {2, 40, 28, 27, 48, 6, 1}, {2, 40, 28, 27, 48, 5, 0}, {1, 512, 14, 14, 48, 3, 0}};
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        operands o = make_operands(&cases[i], 90u + i);
        vggc_set_threads(1);
        float *one = run_winograd(k, &cases[i], &o);
        for (int threads = 2; threads <= 3; threads++) {
            vggc_set_threads(threads);
            float *more = run_winograd(k, &cases[i], &o);
            char what[64];
            snprintf(what, sizeof what, "F(%dx%d), 1 vs %d threads", cases[i].m, cases[i].m, threads);
            expect_same_bits(what, more, one, out_count(&cases[i]));
            free(more);
        }
        free(one);
        free_operands(&o);
    }
    vggc_set_threads(2);
}
TEST_EVERY_ISA(winograd, one_two_and_three_threads_give_bitwise_the_same_output, thread_counts)

static void padded_zero(const vggc_kernels *k)
{
    /* 5 and 21 channels: lanes 5..15 of the last block are padding; run_winograd starts from an output full of NaN
     * and from_blocked fails on any padded lane that is not exactly 0. */
    conv_case cases[] = {{1, 5, 6, 6, 5, 4, 0}, {2, 5, 7, 5, 21, 2, 1}, {1, 21, 13, 7, 5, 6, 1},
                         {2, 5, 11, 7, 21, 5, 0}, {1, 5, 10, 8, 21, 3, 0}};
    for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        operands o = make_operands(&cases[i], 123u + i);
        float *got = run_winograd(k, &cases[i], &o);
        for (size_t j = 0; j < out_count(&cases[i]); j++)
            cr_assert(!isnan(got[j]), "case %d: output %zu was never written", i, j);
        free(got);
        free_operands(&o);
    }
}
TEST_EVERY_ISA(winograd, padded_output_channels_are_written_as_zero_over_a_buffer_of_nan, padded_zero)

/* The epilogue: no ReLU, a residual added before it, and the output as blocks [1, 1 + cpad(cout) / 16) of a larger
 * concatenation whose other blocks keep their canary; against the naive conv + residual (+ ReLU). */
static void epilogues(const vggc_kernels *k)
{
    static const int tiles[] = {2, 3, 4, 5, 6};
    for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++)
        for (int relu = 0, m = tiles[t]; relu <= 1; relu++)
            for (int with_residual = 0; with_residual <= 1; with_residual++) {
                conv_case c = {2, 17, 13, 11, 20, m, 0};
                operands o = make_operands(&c, 400u + (unsigned)(4 * m + 2 * relu + with_residual));
                vggc_winograd_pack_on(k, o.u, o.weight, c.cin, c.cout, c.m);
                int blocks = VGGC_CPAD(c.cout) / 16, all = blocks + 2;
                size_t plane = (size_t)c.h * c.w * 16, count = out_count(&c);
                float *res = guarded_floats(count), *resb = guarded_floats(VGGC_BLOCKED_FLOATS(c.n, c.cout, c.h, c.w));
                fill_random(res, count, 77u, 1.0f);
                to_blocked(resb, res, c.n, c.cout, c.h, c.w);
                float *cat = guarded_floats((size_t)c.n * all * plane), *own = guarded_floats(VGGC_BLOCKED_FLOATS(c.n, c.cout, c.h, c.w));
                float *work = guarded_floats(VGGC_WINOGRAD_WORK_FLOATS(c.n, c.cin, c.h, c.w, c.cout, c.m));
                for (size_t i = 0; i < (size_t)c.n * all * plane; i++) cat[i] = CANARY;
                vggc_epilogue e = {relu, with_residual ? resb : NULL, all};
                vggc_conv_winograd_ex_on(k, cat + plane, o.in_blocked, o.u, o.bias, work, c.n, c.cin, c.h, c.w, c.cout,
                                         c.m, 0, &e);
                for (int b = 0; b < c.n; b++) {
                    memcpy(own + (size_t)b * blocks * plane, cat + ((size_t)b * all + 1) * plane,
                           blocks * plane * sizeof *own);
                    for (size_t i = 0; i < plane; i++)
                        cr_assert(cat[(size_t)b * all * plane + i] == CANARY &&
                                      cat[((size_t)b * all + all - 1) * plane + i] == CANARY,
                                  "image %d: a block outside the output's channels was written", b);
                }
                float *want = guarded_floats(count), *got = guarded_floats(count);
                vggc_conv2d_ref(want, o.in, o.weight, o.bias, c.n, c.cin, c.h, c.w, c.cout, 3, 0);
                for (size_t i = 0; i < count; i++) {
                    float v = want[i] + (with_residual ? res[i] : 0.0f);
                    want[i] = relu && v < 0.0f ? 0.0f : v;
                }
                from_blocked(got, own, c.n, c.cout, c.h, c.w);
                char what[96];
                snprintf(what, sizeof what, "%s F(%dx%d) relu %d residual %d inside a concatenation", k->name, m, m,
                         relu, with_residual);
                double err = rel_error(got, want, count), bound = norm_bound(m);
                cr_expect(err <= bound, "%s: normwise relative error %.3g > %.1g", what, err, bound);
                free(res), free(resb), free(cat), free(own), free(work), free(want), free(got);
                free_operands(&o);
            }
}
TEST_EVERY_ISA(winograd, no_relu_a_residual_and_an_output_inside_a_concatenation_match_the_reference, epilogues)
