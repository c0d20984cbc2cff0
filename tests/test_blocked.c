/* test_blocked.c — the blocked layout of the fast path: conversions to and from NCHW, the blocked max pool against
 * vggc_maxpool2x2, and the direct convolution (with and without the fused pool) against the naive vggc_conv2d_ref +
 * vggc_maxpool2x2, against the generic row, and for 1, 2 and 3 threads: each test once per kernel row of platform.h
 * (named _on_<isa>; the rows this CPU lacks are skipped by name). */
#include "helpers.h"
#include "platform.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-5

/* Index of channel ch of pixel (y, x) of image b in a blocked (n, c, h, w) tensor. */
static size_t blocked_at(int c, int h, int w, int b, int ch, int y, int x)
{
    return ((((size_t)b * VGGC_CPAD(c) / 16 + ch / 16) * h + y) * w + x) * 16 + ch % 16;
}

/* Every padded channel (c..cpad-1) of a blocked tensor is exactly +0.0. */
static void expect_padding_zero(const char *what, const float *t, int n, int c, int h, int w)
{
    for (int b = 0; b < n; b++)
        for (int ch = c; ch < VGGC_CPAD(c); ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float v = t[blocked_at(c, h, w, b, ch, y, x)];
                    if (v != 0.0f || signbit(v))
                        cr_assert_fail("%s: padded channel %d of image %d at (%d, %d) is %g, not 0", what, ch, b, y, x,
                                       (double)v);
                }
}

/* got and want are the same bit for bit, NaNs included; the first difference is named. */
static void expect_identical(const char *what, const float *got, const float *want, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0)
            cr_assert_fail("%s: element %zu of %zu is %.9g, expected %.9g", what, i, count, (double)got[i],
                           (double)want[i]);
}

/* ---- conversions --------------------------------------------------------------------------------------- */

static void expect_round_trip(const vggc_kernels *k, int n, int c, int h, int w)
{
    size_t count = (size_t)n * c * h * w;
    float *x = floats(count), *blk = floats(VGGC_BLOCKED_FLOATS(n, c, h, w)), *back = floats(count);
    fill_random(x, count, 7u, 1.0f);
    for (size_t i = 0; i < VGGC_BLOCKED_FLOATS(n, c, h, w); i++) blk[i] = NAN; /* the pads must be written */
    vggc_to_blocked_on(k, blk, x, n, c, h, w);
    vggc_from_blocked_on(k, back, blk, n, c, h, w);

    char what[96];
    snprintf(what, sizeof what, "%s blocked n=%d c=%d %dx%d", k->name, n, c, h, w);
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    float want = x[(((size_t)b * c + ch) * h + y) * w + xx];
                    float got = blk[blocked_at(c, h, w, b, ch, y, xx)];
                    if (got != want)
                        cr_assert_fail("%s: channel %d of image %d at (%d, %d) is %g, expected %g", what, ch, b, y, xx,
                                       (double)got, (double)want);
                }
    expect_padding_zero(what, blk, n, c, h, w);
    expect_identical(what, back, x, count);
    free(x), free(blk), free(back);
}

static void conversion(const vggc_kernels *k)
{
    int cs[] = {1, 3, 16, 17, 40};
    for (int i = 0; i < 5; i++) {
        expect_round_trip(k, 1, cs[i], 1, 1);
        expect_round_trip(k, 2, cs[i], 3, 5);
    }
}
TEST_EVERY_ISA(blocked, conversion_puts_channel_ch_at_block_ch_over_16_lane_ch_mod_16_and_zeroes_the_padding,
               conversion)

static void round_trip(const vggc_kernels *k) { expect_round_trip(k, 2, 33, 7, 6); }
TEST_EVERY_ISA(blocked, a_round_trip_through_the_blocked_layout_gives_back_every_bit, round_trip)

/* ---- max pool ------------------------------------------------------------------------------------------ */

/* Blocked max pool against vggc_maxpool2x2 on the same data with some NaNs, compared bit for bit. */
static void expect_pool_matches_nchw(const vggc_kernels *k, int n, int c, int h, int w)
{
    int oh = h / 2, ow = w / 2;
    size_t count = (size_t)n * c * h * w, out_count = (size_t)n * c * oh * ow;
    float *x = floats(count), *blk = floats(VGGC_BLOCKED_FLOATS(n, c, h, w));
    float *pooled = floats(VGGC_BLOCKED_FLOATS(n, c, oh, ow)), *got = floats(out_count), *want = floats(out_count);
    fill_random(x, count, 11u, 1.0f);
    for (size_t i = 0; i < count; i += 13) x[i] = NAN;
    vggc_maxpool2x2(want, x, n, c, h, w);
    vggc_to_blocked_on(k, blk, x, n, c, h, w);
    for (size_t i = 0; i < VGGC_BLOCKED_FLOATS(n, c, oh, ow); i++) pooled[i] = NAN;
    vggc_maxpool2x2_blocked_on(k, pooled, blk, n, c, h, w);
    vggc_from_blocked_on(k, got, pooled, n, c, oh, ow);

    char what[96];
    snprintf(what, sizeof what, "%s maxpool blocked n=%d c=%d %dx%d", k->name, n, c, h, w);
    expect_identical(what, got, want, out_count);
    expect_padding_zero(what, pooled, n, c, oh, ow);
    free(x), free(blk), free(pooled), free(got), free(want);
}

static void pool_odd(const vggc_kernels *k)
{
    expect_pool_matches_nchw(k, 1, 1, 2, 2);
    expect_pool_matches_nchw(k, 2, 17, 7, 9);
    expect_pool_matches_nchw(k, 1, 40, 5, 4);
    expect_pool_matches_nchw(k, 2, 3, 13, 14);
}
TEST_EVERY_ISA(blocked, max_pool_matches_the_nchw_pool_bit_for_bit_on_odd_sizes_with_nans, pool_odd)

static void pool_one_row(const vggc_kernels *k)
{
    float in[16 * 3] = {0}, out[16] = {42.0f};
    vggc_maxpool2x2_blocked_on(k, out, in, 1, 5, 1, 3);
    cr_assert_eq(out[0], 42.0f, "a 1x3 map pools to 0x1 and must not touch the output");
}
TEST_EVERY_ISA(blocked, max_pool_of_a_one_row_map_writes_nothing, pool_one_row)

/* ---- direct convolution -------------------------------------------------------------------------------- */

Test(direct, packing_puts_weight_co_ci_ky_kx_at_block_position_channel_lane_and_zeroes_the_padding)
{
    int cin = 5, cout = 17, k = 3;
    size_t count = (size_t)cout * cin * k * k;
    float *weight = floats(count), *pack = floats(VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k));
    for (size_t i = 0; i < count; i++) weight[i] = (float)(i + 1);
    vggc_direct_pack(pack, weight, cin, cout, k);
    for (int co = 0; co < VGGC_CPAD(cout); co++)
        for (int ci = 0; ci < cin; ci++)
            for (int pos = 0; pos < k * k; pos++) {
                float got = pack[(((size_t)(co / 16) * k * k + pos) * cin + ci) * 16 + co % 16];
                float want = co < cout ? weight[((size_t)co * cin + ci) * k * k + pos] : 0.0f;
                if (got != want)
                    cr_assert_fail("packed weight co=%d ci=%d pos=%d is %g, expected %g", co, ci, pos, (double)got,
                                   (double)want);
            }
    free(weight), free(pack);
}

/* One convolution's operands: NCHW input, blocked input, torch-layout and packed weights, bias. */
typedef struct {
    int n, cin, h, w, cout, k, pool, oh, ow;
    float *x, *xb, *weight, *wpack, *bias;
} conv_case;

static conv_case make_case(int n, int cin, int h, int w, int cout, int k, int pool, unsigned seed)
{
    conv_case c = {n, cin, h, w, cout, k, pool, pool ? h / 2 : h, pool ? w / 2 : w, NULL, NULL, NULL, NULL, NULL};
    size_t count = (size_t)n * cin * h * w, wcount = (size_t)cout * cin * k * k;
    c.x = floats(count), c.xb = floats(VGGC_BLOCKED_FLOATS(n, cin, h, w));
    c.weight = floats(wcount), c.wpack = floats(VGGC_DIRECT_WEIGHT_FLOATS(cin, cout, k)), c.bias = floats((size_t)cout);
    fill_random(c.x, count, seed, 1.0f);
    fill_random(c.weight, wcount, seed + 1, 1.0f / sqrtf((float)(cin * k * k)));
    fill_random(c.bias, (size_t)cout, seed + 2, 0.1f);
    vggc_to_blocked(c.xb, c.x, n, cin, h, w);
    vggc_direct_pack(c.wpack, c.weight, cin, cout, k);
    return c;
}

static void free_case(conv_case *c)
{
    free(c->x), free(c->xb), free(c->weight), free(c->wpack), free(c->bias);
}

static size_t out_blocked_floats(const conv_case *c) { return VGGC_BLOCKED_FLOATS(c->n, c->cout, c->oh, c->ow); }

/* The reference: vggc_conv2d_ref with ReLU, then vggc_maxpool2x2 if pool; (n, cout, oh, ow) malloc'ed. */
static float *reference(const conv_case *c)
{
    float *full = floats((size_t)c->n * c->cout * c->h * c->w), *pooled;
    vggc_conv2d_ref(full, c->x, c->weight, c->bias, c->n, c->cin, c->h, c->w, c->cout, c->k, 1);
    if (!c->pool) return full;
    pooled = floats((size_t)c->n * c->cout * c->oh * c->ow);
    vggc_maxpool2x2(pooled, full, c->n, c->cout, c->h, c->w);
    free(full);
    return pooled;
}

/* Run row k on the case; the blocked output (pre-filled with NaN, so every element must be written). */
static float *run_direct(const vggc_kernels *k, const conv_case *c)
{
    float *out = floats(out_blocked_floats(c));
    for (size_t i = 0; i < out_blocked_floats(c); i++) out[i] = NAN;
    vggc_conv_direct_on(k, out, c->xb, c->wpack, c->bias, c->n, c->cin, c->h, c->w, c->cout, c->k, c->pool);
    return out;
}

static void expect_kernel_matches(const vggc_kernels *k, const conv_case *c, const float *want)
{
    size_t count = (size_t)c->n * c->cout * c->oh * c->ow;
    float *blk = run_direct(k, c), *got = floats(count);
    vggc_from_blocked(got, blk, c->n, c->cout, c->oh, c->ow);
    char what[160];
    snprintf(what, sizeof what, "%s conv%dx%d n=%d %d->%d on %dx%d pool=%d", k->name, c->k, c->k, c->n, c->cin, c->cout,
             c->h, c->w, c->pool);
    expect_close(what, got, want, count, RTOL, ATOL);
    expect_padding_zero(what, blk, c->n, c->cout, c->oh, c->ow);
    free(blk), free(got);
}

/* Row kern against the reference, for every channel count pair and map. One thread: 720 tiny parallel regions cost
 * seconds of spinning on a busy machine, and the thread count does not change a bit of the result
 * (one_two_and_three_threads_give_bitwise_identical_outputs). */
static void expect_direct_matches_reference(const vggc_kernels *kern, int k, int pool)
{
    static const int channels[] = {1, 3, 5, 16, 17, 40};
    static const int maps[][2] = {{1, 1}, {2, 3}, {7, 7}, {13, 9}, {14, 14}};
    unsigned seed = 100;
    omp_set_num_threads(1);
    for (int n = 1; n <= 2; n++)
        for (int m = 0; m < 5; m++)
            for (int i = 0; i < 6; i++)
                for (int o = 0; o < 6; o++) {
                    conv_case c = make_case(n, channels[i], maps[m][0], maps[m][1], channels[o], k, pool, seed += 3);
                    float *want = reference(&c);
                    expect_kernel_matches(kern, &c, want);
                    free(want);
                    free_case(&c);
                }
}

static void k3(const vggc_kernels *k) { expect_direct_matches_reference(k, 3, 0); }
static void k3_pool(const vggc_kernels *k) { expect_direct_matches_reference(k, 3, 1); }
static void k1(const vggc_kernels *k) { expect_direct_matches_reference(k, 1, 0); }
static void k1_pool(const vggc_kernels *k) { expect_direct_matches_reference(k, 1, 1); }
TEST_EVERY_ISA(direct, three_by_three_matches_the_reference_for_every_channel_count_and_map, k3)
TEST_EVERY_ISA(direct, three_by_three_with_the_fused_pool_matches_the_reference_conv_then_max_pool, k3_pool)
TEST_EVERY_ISA(direct, one_by_one_matches_the_reference_for_every_channel_count_and_map, k1)
TEST_EVERY_ISA(direct, one_by_one_with_the_fused_pool_matches_the_reference_conv_then_max_pool, k1_pool)

/* Few input channels on maps wide enough for interior tiles: the first VGG layer's flat-taps kernel, for 1, 2 and 4
 * channel blocks per group; rows of 31, 32 (five 6-pixel tiles and a 2-pixel one) and 50 (with the pool, a
 * 48-column segment and a 2-column one). */
static void few_channels(const vggc_kernels *kern)
{
    static const int cins[] = {3, 16}, couts[] = {16, 32, 64}, widths[] = {31, 32, 50};
    for (int k = 1; k <= 3; k += 2)
        for (int pool = 0; pool <= 1; pool++)
            for (int i = 0; i < 2; i++)
                for (int o = 0; o < 3; o++) {
                    int w = widths[(i * 3 + o + pool) % 3];
                    conv_case c = make_case(1, cins[i], 20, w, couts[o], k, pool, 5u + (unsigned)(i * 3 + o));
                    float *want = reference(&c);
                    expect_kernel_matches(kern, &c, want);
                    free(want);
                    free_case(&c);
                }
}
TEST_EVERY_ISA(direct, few_input_channels_on_wide_maps_match_the_reference_like_the_first_vgg_layer, few_channels)

static void agrees_with_generic(const vggc_kernels *k)
{
    const vggc_kernels *generic = require_isa("generic");
    int shapes[][6] = {/* cin, h, w, cout, k, pool */
                       {64, 20, 20, 128, 3, 1}, {96, 9, 11, 96, 3, 0}, {128, 12, 12, 160, 1, 0}, {48, 1, 1, 64, 3, 0}};
    for (int s = 0; s < 4; s++) {
        int *p = shapes[s];
        conv_case c = make_case(2, p[0], p[1], p[2], p[3], p[4], p[5], 40u + (unsigned)s);
        float *a = run_direct(k, &c), *b = run_direct(generic, &c);
        char what[96];
        snprintf(what, sizeof what, "%s vs generic %d->%d on %dx%d k=%d pool=%d", k->name, p[0], p[3], p[1], p[2],
                 p[4], p[5]);
        expect_close(what, a, b, out_blocked_floats(&c), RTOL, ATOL);
        free(a), free(b);
        free_case(&c);
    }
}
TEST_EVERY_ISA(direct, the_row_agrees_with_the_generic_row_on_vgg_like_layers, agrees_with_generic)

/* Row k with 1, 2 and 3 threads gives the same bits, with and without the pool. */
static void thread_counts(const vggc_kernels *k)
{
    for (int pool = 0; pool <= 1; pool++) {
        conv_case c = make_case(2, 24, 15, 17, 72, 3, pool, 77u);
        int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        float *one = run_direct(k, &c);
        for (int threads = 2; threads <= 3; threads++) {
            omp_set_num_threads(threads);
            float *more = run_direct(k, &c);
            char what[64];
            snprintf(what, sizeof what, "%s pool=%d, %d threads vs 1", k->name, pool, threads);
            expect_identical(what, more, one, out_blocked_floats(&c));
            free(more);
        }
        omp_set_num_threads(saved);
        free(one);
        free_case(&c);
    }
}
TEST_EVERY_ISA(direct, one_two_and_three_threads_give_bitwise_identical_outputs, thread_counts)

/* A NaN in the input reaches exactly the outputs the reference says (through ReLU and the pool), and never the
 * padded output channels. */
static void expect_nan_like_reference(const vggc_kernels *kern, int k, int pool)
{
    conv_case c = make_case(1, 5, 9, 8, 20, k, pool, 90u);
    c.x[4 * 9 * 8 + 3 * 8 + 5] = NAN; /* channel 4, (3, 5) */
    vggc_to_blocked(c.xb, c.x, c.n, c.cin, c.h, c.w);
    size_t count = (size_t)c.cout * c.oh * c.ow;
    float *want = reference(&c), *blk = run_direct(kern, &c), *got = floats(count);
    const char *name = kern->name;
    vggc_from_blocked(got, blk, c.n, c.cout, c.oh, c.ow);
    size_t nans = 0;
    for (size_t i = 0; i < count; i++) {
        if (!!isnan(got[i]) != !!isnan(want[i]))
            cr_assert_fail("%s k=%d pool=%d: element %zu is %g, reference %g", name, k, pool, i, (double)got[i],
                           (double)want[i]);
        nans += isnan(want[i]) != 0;
    }
    cr_assert_gt(nans, 0, "the NaN must reach some output");
    expect_padding_zero(name, blk, c.n, c.cout, c.oh, c.ow);
    free(want), free(blk), free(got);
    free_case(&c);
}

static void nan_propagates(const vggc_kernels *kern)
{
    for (int k = 1; k <= 3; k += 2)
        for (int pool = 0; pool <= 1; pool++) expect_nan_like_reference(kern, k, pool);
}
TEST_EVERY_ISA(direct, a_nan_in_the_input_propagates_through_relu_and_pool_as_in_torch, nan_propagates)

static void padded_unread(const vggc_kernels *k)
{
    conv_case c = make_case(1, 3, 6, 7, 16, 3, 0, 60u);
    for (int ch = 3; ch < 16; ch++)
        for (int p = 0; p < 6 * 7; p++) c.xb[(size_t)p * 16 + ch] = NAN;
    float *want = reference(&c), *got = floats((size_t)16 * 6 * 7), *blk = run_direct(k, &c);
    vggc_from_blocked(got, blk, 1, 16, 6, 7);
    expect_close("conv with NaN in the padded input channels", got, want, (size_t)16 * 6 * 7, RTOL, ATOL);
    free(want), free(got), free(blk);
    free_case(&c);
}
TEST_EVERY_ISA(direct, padded_input_channels_are_never_read, padded_unread)

/* The network's own input, NCHW with at most 16 channels: a row that reads it directly gives bitwise what it gives
 * on the blocked copy (same taps, same order), and a row that cannot converts it into the scratch buffer first. */
static void nchw_input(const vggc_kernels *k)
{
    static const int cins[] = {1, 2, 3, 16}, maps[][2] = {{7, 9}, {20, 32}, {1, 2}};
    for (int kk = 1; kk <= 3; kk += 2)
        for (int pool = 0; pool <= 1; pool++)
            for (int i = 0; i < 4; i++)
                for (int m = 0; m < 3; m++) {
                    conv_case c = make_case(2, cins[i], maps[m][0], maps[m][1], 40, kk, pool, 200u + (unsigned)(i + 3 * m));
                    float *blocked = run_direct(k, &c), *direct = floats(out_blocked_floats(&c));
                    float *scratch = floats(VGGC_BLOCKED_FLOATS(c.n, c.cin, c.h, c.w));
                    for (size_t j = 0; j < out_blocked_floats(&c); j++) direct[j] = NAN;
                    vggc_conv_direct_nchw_on(k, direct, c.x, scratch, c.wpack, c.bias, c.n, c.cin, c.h, c.w, c.cout,
                                             c.k, c.pool);
                    char what[96];
                    snprintf(what, sizeof what, "%s NCHW input %d->40 on %dx%d k=%d pool=%d", k->name, c.cin, c.h, c.w,
                             c.k, c.pool);
                    expect_identical(what, direct, blocked, out_blocked_floats(&c));
                    free(blocked), free(direct), free(scratch);
                    free_case(&c);
                }
}
TEST_EVERY_ISA(direct, an_nchw_input_gives_bitwise_what_its_blocked_copy_gives, nchw_input)

/* A network's first conv on a map whose output is larger than the caches, 64-byte aligned as the planned buffers
 * are: 3 -> 64 at 128x128 (4 MiB out), and at 184x184 with the pool (2.1 MB out). A row that streams such an output
 * past the caches (direct.c; the AVX-512 row unpooled ones, the AVX2 row both on Intel cores) matches the reference
 * from the NCHW input and from its blocked copy, bitwise the same both ways, and for 1 and 2 threads. */
static void expect_streamed_output_matches(const vggc_kernels *k, int hw, int pool)
{
    conv_case c = make_case(1, 3, hw, hw, 64, 3, pool, 321u + (unsigned)pool);
    size_t count = out_blocked_floats(&c), bytes = count * sizeof(float);
    float *want = reference(&c), *got = floats((size_t)c.n * c.cout * c.oh * c.ow);
    float *from_nchw = aligned_alloc(64, bytes), *from_blocked = aligned_alloc(64, bytes);
    float *one = aligned_alloc(64, bytes), *scratch = floats(VGGC_BLOCKED_FLOATS(c.n, c.cin, c.h, c.w));
    cr_assert(from_nchw && from_blocked && one, "out of memory for %zu bytes", bytes);
    for (size_t i = 0; i < count; i++) from_nchw[i] = from_blocked[i] = one[i] = NAN;
    vggc_conv_direct_nchw_on(k, from_nchw, c.x, scratch, c.wpack, c.bias, c.n, c.cin, c.h, c.w, c.cout, c.k, pool);
    vggc_conv_direct_on(k, from_blocked, c.xb, c.wpack, c.bias, c.n, c.cin, c.h, c.w, c.cout, c.k, pool);
    omp_set_num_threads(1);
    vggc_conv_direct_nchw_on(k, one, c.x, scratch, c.wpack, c.bias, c.n, c.cin, c.h, c.w, c.cout, c.k, pool);
    omp_set_num_threads(2);
    vggc_from_blocked(got, from_nchw, c.n, c.cout, c.oh, c.ow);
    char what[96];
    snprintf(what, sizeof what, "%s 3->64 on %dx%d pool=%d (%zu bytes out)", k->name, hw, hw, pool, bytes);
    expect_close(what, got, want, (size_t)c.n * c.cout * c.oh * c.ow, RTOL, ATOL);
    expect_identical("NCHW input vs its blocked copy", from_nchw, from_blocked, count);
    expect_identical("2 threads vs 1", from_nchw, one, count);
    free(want), free(got), free(from_nchw), free(from_blocked), free(one), free(scratch);
    free_case(&c);
}

static void streamed_output(const vggc_kernels *k)
{
    expect_streamed_output_matches(k, 128, 0);
    expect_streamed_output_matches(k, 184, 1);
}
TEST_EVERY_ISA(direct, a_first_conv_whose_output_is_larger_than_the_caches_matches_the_reference, streamed_output)

/* ---- the epilogue and strides: vggc_conv_direct_ex ------------------------------------------------------- */

/* The reference of an _ex call in NCHW: conv (window k, stride s, pad k / 2) + bias, + residual, ReLU if relu. */
static float *reference_ex(const conv_case *c, int stride, int oh, int ow, const float *residual, int relu)
{
    size_t count = (size_t)c->n * c->cout * oh * ow;
    float *want = floats(count);
    vggc_window win = {c->k, c->k, stride, stride, c->k / 2, c->k / 2, c->k / 2, c->k / 2, 1, 1};
    vggc_conv2d_general_ref(want, c->x, c->weight, c->bias, c->n, c->cin, c->h, c->w, c->cout, oh, ow, &win, 0);
    for (size_t i = 0; i < count; i++) {
        float v = want[i] + (residual ? residual[i] : 0.0f);
        want[i] = relu && v < 0.0f ? 0.0f : v;
    }
    return want;
}

/* One _ex case on row kern, cin -> cout channels on h x w maps: the output written as blocks [1, 1 + cpad(cout) / 16)
 * of a concatenation of cpad(cout) / 16 + 2 blocks (the other blocks must keep their canary), with or without a
 * residual and a ReLU. */
static void expect_ex_matches(const vggc_kernels *kern, int cin, int h, int w, int cout, int k, int stride, int relu,
                              int with_residual, unsigned seed)
{
    conv_case c = make_case(2, cin, h, w, cout, k, 0, seed);
    int oh = (c.h - 1) / stride + 1, ow = (c.w - 1) / stride + 1, blocks = VGGC_CPAD(c.cout) / 16, all = blocks + 2;
    size_t plane = (size_t)oh * ow * 16, count = (size_t)c.n * c.cout * oh * ow;
    float *res = NULL, *resb = NULL;
    if (with_residual) {
        res = floats(count), resb = floats(VGGC_BLOCKED_FLOATS(c.n, c.cout, oh, ow));
        fill_random(res, count, seed + 7, 1.0f);
        vggc_to_blocked(resb, res, c.n, c.cout, oh, ow);
    }
    float *cat = floats((size_t)c.n * all * plane), *own = floats(VGGC_BLOCKED_FLOATS(c.n, c.cout, oh, ow));
    for (size_t i = 0; i < (size_t)c.n * all * plane; i++) cat[i] = 1234.5f;
    vggc_epilogue e = {relu, resb, all};
    vggc_conv_direct_ex_on(kern, cat + plane, c.xb, c.wpack, c.bias, c.n, c.cin, c.h, c.w, c.cout, k, stride, 0, &e);
    for (int b = 0; b < c.n; b++) {
        memcpy(own + (size_t)b * blocks * plane, cat + ((size_t)b * all + 1) * plane, blocks * plane * sizeof *own);
        for (size_t i = 0; i < plane; i++)
            cr_assert(cat[(size_t)b * all * plane + i] == 1234.5f && cat[((size_t)b * all + all - 1) * plane + i] == 1234.5f,
                      "%s k=%d s=%d: image %d: a block outside the output's channels was written", kern->name, k, stride, b);
    }
    float *got = floats(count), *want = reference_ex(&c, stride, oh, ow, res, relu);
    vggc_from_blocked(got, own, c.n, c.cout, oh, ow);
    char what[128];
    snprintf(what, sizeof what, "%s conv%dx%d stride %d relu %d residual %d, inside a concatenation", kern->name, k, k,
             stride, relu, with_residual);
    expect_close(what, got, want, count, RTOL, ATOL);
    expect_padding_zero(what, own, c.n, c.cout, oh, ow);
    free(res), free(resb), free(cat), free(own), free(got), free(want);
    free_case(&c);
}

static void ex_cases(const vggc_kernels *kern)
{
    static const int ks[] = {1, 3, 5, 7};
    unsigned seed = 300;
    omp_set_num_threads(1);
    for (int i = 0; i < 4; i++)
        for (int stride = 1; stride <= 2; stride++)
            for (int relu = 0; relu <= 1; relu++)
                for (int r = 0; r <= 1; r++)
                    expect_ex_matches(kern, ks[i] == 7 ? 3 : 17, 13, 10, 20, ks[i], stride, relu, r, seed += 11);
}
TEST_EVERY_ISA(direct, strides_windows_up_to_7_residuals_no_relu_and_concatenations_match_the_reference, ex_cases)

/* Windows wider than 3x3 with the fused 2x2 pool (the generator fuses a plain max pool into any blocked stride-1
 * conv), with and without ReLU: on odd maps, and over 3 input channels on maps wide enough for the taps loop. */
static void wide_windows_with_pool(const vggc_kernels *kern)
{
    static const int ks[] = {5, 7}, shapes[][4] = {{17, 13, 10, 20}, {3, 23, 61, 40}}; /* cin, h, w, cout */
    unsigned seed = 900;
    omp_set_num_threads(1);
    for (int i = 0; i < 2; i++)
        for (int s = 0; s < 2; s++)
            for (int relu = 0; relu <= 1; relu++) {
                const int *sh = shapes[s];
                conv_case c = make_case(2, sh[0], sh[1], sh[2], sh[3], ks[i], 1, seed += 7);
                size_t count = (size_t)c.n * c.cout * c.oh * c.ow;
                float *full = reference_ex(&c, 1, c.h, c.w, NULL, relu), *want = floats(count), *got = floats(count);
                vggc_maxpool2x2(want, full, c.n, c.cout, c.h, c.w);
                float *blk = floats(out_blocked_floats(&c));
                for (size_t j = 0; j < out_blocked_floats(&c); j++) blk[j] = NAN;
                vggc_epilogue e = {relu, NULL, 0};
                vggc_conv_direct_ex_on(kern, blk, c.xb, c.wpack, c.bias, c.n, c.cin, c.h, c.w, c.cout, c.k, 1, 1, &e);
                vggc_from_blocked(got, blk, c.n, c.cout, c.oh, c.ow);
                char what[128];
                snprintf(what, sizeof what, "%s conv%dx%d %d->%d on %dx%d relu %d, pooled", kern->name, c.k, c.k, c.cin,
                         c.cout, c.h, c.w, relu);
                expect_close(what, got, want, count, RTOL, ATOL);
                expect_padding_zero(what, blk, c.n, c.cout, c.oh, c.ow);
                free(full), free(want), free(got), free(blk);
                free_case(&c);
            }
}
TEST_EVERY_ISA(direct, windows_up_to_7_with_the_fused_pool_match_the_reference_then_the_pool, wide_windows_with_pool)

/* A strided window over a few input channels, like resnet18's stem (3 -> 64, 7x7 / 2), on maps wide enough for
 * the rows' widest tiles away from the border (a row may run those as one flat loop of taps): 40 output channels
 * make channel groups of 2 and 1 blocks, 96 of 4 and 2. */
static void strided_few_channels(const vggc_kernels *kern)
{
    static const int ks[] = {1, 3, 5, 7}, couts[] = {40, 96};
    unsigned seed = 700;
    omp_set_num_threads(1);
    for (int i = 0; i < 4; i++)
        for (int o = 0; o < 2; o++) expect_ex_matches(kern, 3, 23, 61, couts[o], ks[i], 2, 1, 0, seed += 13);
}
TEST_EVERY_ISA(direct, a_strided_window_over_few_channels_on_wide_maps_matches_the_reference, strided_few_channels)
