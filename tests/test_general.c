/* test_general.c — the general layers' kernels (runtime/conv_general.c, pool_general.c, activation.c): each fast
 * kernel against its naive reference on odd sizes and windows (kernel, stride, padding per side, dilation, ceil
 * mode's clipped windows), the references against values worked by hand with PyTorch's formulas, and results that
 * are bitwise the same on 1 and 2 threads. */
#include "helpers.h"
#include "platform.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define RTOL 1e-5
#define ATOL 1e-5

/* PyTorch's output size of one dimension, floor mode (gen/sizes.lua computes it for generated code). */
static int out_size(int n, int k, int s, int p0, int p1, int d)
{
    return (n + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

/* ---- conv2d_general ------------------------------------------------------------------------------------- */

typedef struct {
    int n, cin, h, w, cout;
    vggc_window win;
    int relu;
} conv_case;

/* The im2col + GEMM conv against the naive one on random data; with threads > 0, also bitwise the same on 1 and
 * 2 threads. */
static void expect_general_conv_matches_ref(conv_case c)
{
    int oh = out_size(c.h, c.win.kh, c.win.sh, c.win.pt, c.win.pb, c.win.dh);
    int ow = out_size(c.w, c.win.kw, c.win.sw, c.win.pl, c.win.pr, c.win.dw);
    size_t in_count = (size_t)c.n * c.cin * c.h * c.w, out_count = (size_t)c.n * c.cout * oh * ow;
    size_t w_count = (size_t)c.cout * c.cin * c.win.kh * c.win.kw;
    float *in = floats(in_count), *weight = floats(w_count), *bias = floats((size_t)c.cout);
    float *got = floats(out_count), *want = floats(out_count), *again = floats(out_count);
    float *work = floats(vggc_conv2d_general_work(c.cin, oh, ow, &c.win));
    fill_random(in, in_count, 11u, 1.0f);
    fill_random(weight, w_count, 12u, 1.0f / sqrtf((float)(c.cin * c.win.kh * c.win.kw)));
    fill_random(bias, (size_t)c.cout, 13u, 0.1f);

    omp_set_num_threads(2);
    vggc_conv2d_general(got, in, weight, bias, work, c.n, c.cin, c.h, c.w, c.cout, oh, ow, &c.win, c.relu);
    omp_set_num_threads(1);
    vggc_conv2d_general(again, in, weight, bias, work, c.n, c.cin, c.h, c.w, c.cout, oh, ow, &c.win, c.relu);
    vggc_conv2d_general_ref(want, in, weight, bias, c.n, c.cin, c.h, c.w, c.cout, oh, ow, &c.win, c.relu);

    char what[160];
    snprintf(what, sizeof what, "conv %dx%d s%dx%d p%d,%d,%d,%d d%dx%d n=%d %d->%d on %dx%d relu=%d", c.win.kh,
             c.win.kw, c.win.sh, c.win.sw, c.win.pt, c.win.pl, c.win.pb, c.win.pr, c.win.dh, c.win.dw, c.n, c.cin,
             c.cout, c.h, c.w, c.relu);
    expect_close(what, got, want, out_count, RTOL, ATOL);
    expect_same_bits(what, got, again, out_count);
    free(in), free(weight), free(bias), free(got), free(want), free(again), free(work);
}

Test(conv2d_general, lenets_unpadded_5x5_matches_the_naive_kernel_on_odd_maps)
{
    expect_general_conv_matches_ref((conv_case){1, 1, 32, 32, 6, {5, 5, 1, 1, 0, 0, 0, 0, 1, 1}, 0});
    expect_general_conv_matches_ref((conv_case){3, 6, 14, 13, 16, {5, 5, 1, 1, 0, 0, 0, 0, 1, 1}, 0});
}

Test(conv2d_general, alexnets_11x11_stride_4_pad_2_matches_the_naive_kernel)
{
    expect_general_conv_matches_ref((conv_case){2, 3, 35, 31, 17, {11, 11, 4, 4, 2, 2, 2, 2, 1, 1}, 1});
}

Test(conv2d_general, an_unpadded_3x3_with_relu_matches_the_naive_kernel)
{
    expect_general_conv_matches_ref((conv_case){1, 33, 9, 7, 40, {3, 3, 1, 1, 0, 0, 0, 0, 1, 1}, 1});
}

Test(conv2d_general, asymmetric_padding_stride_and_a_non_square_kernel_match_the_naive_kernel)
{
    expect_general_conv_matches_ref((conv_case){2, 5, 11, 9, 7, {3, 2, 2, 1, 0, 1, 2, 0, 1, 1}, 0});
    expect_general_conv_matches_ref((conv_case){1, 3, 8, 10, 5, {1, 4, 3, 2, 1, 2, 1, 0, 1, 1}, 1});
}

Test(conv2d_general, dilation_matches_the_naive_kernel)
{
    expect_general_conv_matches_ref((conv_case){1, 4, 13, 12, 3, {3, 3, 1, 1, 2, 2, 2, 2, 2, 2}, 0});
    expect_general_conv_matches_ref((conv_case){2, 2, 9, 14, 6, {2, 3, 2, 1, 0, 3, 1, 0, 3, 2}, 1});
}

Test(conv2d_general, a_pointwise_conv_reads_its_input_without_unfolding_and_matches_the_naive_kernel)
{
    expect_general_conv_matches_ref((conv_case){3, 17, 5, 3, 9, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1}, 1});
}

Test(conv2d_general, a_kernel_as_large_as_the_padded_map_gives_a_1x1_output)
{
    expect_general_conv_matches_ref((conv_case){1, 2, 3, 4, 3, {5, 6, 1, 1, 1, 1, 1, 1, 1, 1}, 0});
}

Test(conv2d_general, more_output_channels_and_pixels_than_one_gemm_piece_match_the_naive_kernel)
{
    expect_general_conv_matches_ref((conv_case){1, 3, 50, 47, 70, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 1});
}

/* One output worked by hand: a 2x2 kernel of ones, stride 2, pad 1 on a 3x3 ramp; bias 0.5. */
Test(conv2d_general, the_reference_sums_only_the_taps_inside_the_map)
{
    const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, weight[4] = {1, 1, 1, 1}, bias[1] = {0.5f};
    float out[4];
    vggc_window win = {2, 2, 2, 2, 1, 1, 1, 1, 1, 1};
    vggc_conv2d_general_ref(out, in, weight, bias, 1, 1, 3, 3, 1, 2, 2, &win, 0);
    const float want[4] = {1.5f, 5.5f, 11.5f, 28.5f}; /* {1}, {2,3}, {4,7}, {5,6,8,9} + 0.5 */
    expect_close("conv 2x2/2 pad 1 by hand", out, want, 4, 0, 0);
}

/* ---- pools ---------------------------------------------------------------------------------------------- */

typedef struct {
    int n, c, h, w, oh, ow;
    vggc_window win;
} pool_case;

static void expect_pools_match_ref(pool_case p, int with_nan)
{
    size_t in_count = (size_t)p.n * p.c * p.h * p.w, out_count = (size_t)p.n * p.c * p.oh * p.ow;
    float *in = floats(in_count), *got = floats(out_count), *want = floats(out_count);
    fill_random(in, in_count, 21u, 1.0f);
    if (with_nan) in[in_count / 3] = NAN;
    char what[128];
    snprintf(what, sizeof what, "pool %dx%d s%dx%d p%d,%d,%d,%d on %dx%d -> %dx%d", p.win.kh, p.win.kw, p.win.sh,
             p.win.sw, p.win.pt, p.win.pl, p.win.pb, p.win.pr, p.h, p.w, p.oh, p.ow);
    float *inb = floats(VGGC_BLOCKED_FLOATS(p.n, p.c, p.h, p.w)), *outb = floats(VGGC_BLOCKED_FLOATS(p.n, p.c, p.oh, p.ow));
    float *blocked = floats(out_count);
    vggc_to_blocked(inb, in, p.n, p.c, p.h, p.w);
    vggc_maxpool2d(got, in, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win);
    vggc_maxpool2d_ref(want, in, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win);
    expect_same_bits(what, got, want, out_count);
    vggc_maxpool2d_blocked(outb, inb, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win); /* the same bits, 16 lanes at once */
    vggc_from_blocked(blocked, outb, p.n, p.c, p.oh, p.ow);
    expect_same_bits("blocked max pool vs NCHW", blocked, got, out_count);
    if (!with_nan) {
        for (int count_pad = 0; count_pad <= 1; count_pad++) {
            vggc_avgpool2d(got, in, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win, count_pad);
            vggc_avgpool2d_ref(want, in, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win, count_pad);
            expect_close(what, got, want, out_count, RTOL, ATOL);
            vggc_avgpool2d_blocked(outb, inb, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win, count_pad);
            vggc_from_blocked(blocked, outb, p.n, p.c, p.oh, p.ow);
            expect_same_bits("blocked average pool vs NCHW", blocked, got, out_count);
        }
    }
    free(in), free(got), free(want), free(inb), free(outb), free(blocked);
}

Test(pools_general, alexnets_overlapping_3x3_stride_2_matches_the_naive_kernels)
{
    expect_pools_match_ref((pool_case){2, 5, 55, 55, 27, 27, {3, 3, 2, 2, 0, 0, 0, 0, 1, 1}}, 0);
    expect_pools_match_ref((pool_case){1, 3, 13, 12, 6, 5, {3, 3, 2, 2, 0, 0, 0, 0, 1, 1}}, 0);
}

Test(pools_general, the_cifar_vgg16s_2x2_stride_2_pad_1_matches_the_naive_kernels)
{
    expect_pools_match_ref((pool_case){1, 4, 222, 222, 112, 112, {2, 2, 2, 2, 1, 1, 1, 1, 1, 1}}, 0);
    expect_pools_match_ref((pool_case){2, 3, 7, 12, 4, 7, {2, 2, 2, 2, 1, 1, 1, 1, 1, 1}}, 0);
}

Test(pools_general, ceil_mode_windows_that_run_past_the_map_match_the_naive_kernels)
{
    /* 3x3/2 on 8x8 in ceil mode: ceil((8 - 3) / 2) + 1 = 4, the last window holds 2 columns */
    expect_pools_match_ref((pool_case){1, 2, 8, 9, 4, 4, {3, 3, 2, 2, 0, 0, 0, 0, 1, 1}}, 0);
    /* with padding 1: (8 + 2 - 3) / 2 ceil + 1 = 5 */
    expect_pools_match_ref((pool_case){1, 2, 8, 8, 5, 5, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1}}, 0);
}

Test(pools_general, asymmetric_padding_and_a_non_square_window_match_the_naive_kernels)
{
    expect_pools_match_ref((pool_case){2, 3, 9, 10, 9, 5, {2, 3, 1, 2, 1, 0, 0, 1, 1, 1}}, 0);
}

Test(pools_general, a_nan_wins_the_max_in_both_kernels)
{
    expect_pools_match_ref((pool_case){1, 3, 11, 10, 5, 4, {3, 3, 2, 2, 0, 0, 0, 0, 1, 1}}, 1);
}

Test(pools_general, a_dilated_max_pool_matches_the_naive_kernel)
{
    expect_pools_match_ref((pool_case){1, 2, 12, 11, 4, 5, {3, 2, 3, 2, 1, 0, 1, 1, 2, 3}}, 1);
}

/* Every kernel row's blocked max pool against the NCHW pool, bitwise: odd maps, channels that fill a block only in
 * part, padding, ceil-mode windows past the map, dilation, a non-square window, and NaNs among the values. */
static void blocked_max_pool_gives_the_nchw_bits(const vggc_kernels *k)
{
    const pool_case cases[] = {
        {1, 64, 112, 112, 56, 56, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1}}, /* resnet18's, after the stem */
        {2, 19, 13, 11, 7, 6, {3, 3, 2, 2, 1, 1, 1, 1, 1, 1}},
        {1, 3, 8, 9, 4, 4, {3, 3, 2, 2, 0, 0, 0, 0, 1, 1}},     /* ceil mode: the last window holds 2 columns */
        {1, 5, 12, 11, 4, 5, {3, 2, 3, 2, 1, 0, 1, 1, 2, 3}},   /* dilated */
        {2, 33, 9, 10, 9, 5, {2, 3, 1, 2, 1, 0, 0, 1, 1, 1}},   /* asymmetric padding, non-square */
        {1, 17, 14, 14, 14, 14, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}}, /* googlenet's 3x3/1 in the Inception branches */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pool_case p = cases[i];
        size_t in_count = (size_t)p.n * p.c * p.h * p.w, out_count = (size_t)p.n * p.c * p.oh * p.ow;
        float *in = floats(in_count), *want = floats(out_count), *got = floats(out_count);
        float *inb = floats(VGGC_BLOCKED_FLOATS(p.n, p.c, p.h, p.w));
        float *outb = floats(VGGC_BLOCKED_FLOATS(p.n, p.c, p.oh, p.ow));
        fill_random(in, in_count, 31u + (unsigned)i, 1.0f);
        in[in_count / 3] = NAN, in[in_count / 2] = -NAN;
        vggc_maxpool2d(want, in, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win);
        vggc_to_blocked(inb, in, p.n, p.c, p.h, p.w);
        vggc_maxpool2d_blocked_on(k, outb, inb, p.n, p.c, p.h, p.w, p.oh, p.ow, &p.win);
        vggc_from_blocked(got, outb, p.n, p.c, p.oh, p.ow);
        char what[96];
        snprintf(what, sizeof what, "%s, case %zu: blocked max pool vs NCHW", k->name, i);
        expect_same_bits(what, got, want, out_count);
        free(in), free(want), free(got), free(inb), free(outb);
    }
}
TEST_EVERY_ISA(pools_general, each_rows_blocked_max_pool_gives_the_nchw_pools_bits, blocked_max_pool_gives_the_nchw_bits)

/* By hand: a padded cell never wins a max, even over negative values. */
Test(pools_general, padding_never_wins_a_max_over_negative_values)
{
    const float in[4] = {-4, -3, -2, -1};
    float out[4];
    vggc_window win = {2, 2, 1, 1, 1, 1, 0, 0, 1, 1}; /* 2x2/1 pad 1 on 2x2 -> 2x2 */
    vggc_maxpool2d(out, in, 1, 1, 2, 2, 2, 2, &win);
    const float want[4] = {-4, -3, -2, -1};
    expect_same_bits("maxpool over padding", out, want, 4);
}

/* By hand, PyTorch's divisors: AvgPool2d(3, stride 2, padding 1) on 4x4 ones (the corner window covers 4 cells of
 * the map and 5 of padding: 4/9 with count_include_pad, 1 without), and in ceil mode, where the last window of
 * AvgPool2d(2, stride 2, ceil_mode) on 3x3 reaches past the map into no padding: divisor 1 either way. */
Test(pools_general, average_divisors_follow_pytorch_with_and_without_the_padding)
{
    float ones[16], out[4];
    for (int i = 0; i < 16; i++) ones[i] = 1.0f;
    vggc_window pad1 = {3, 3, 2, 2, 1, 1, 1, 1, 1, 1};
    vggc_avgpool2d(out, ones, 1, 1, 4, 4, 2, 2, &pad1, 1);
    const float counted[4] = {4.0f / 9, 6.0f / 9, 6.0f / 9, 1.0f};
    expect_close("avgpool counting the padding", out, counted, 4, 1e-6, 0);
    vggc_avgpool2d(out, ones, 1, 1, 4, 4, 2, 2, &pad1, 0);
    const float uncounted[4] = {1, 1, 1, 1};
    expect_close("avgpool not counting the padding", out, uncounted, 4, 1e-6, 0);

    const float ramp[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    vggc_window ceil2 = {2, 2, 2, 2, 0, 0, 0, 0, 1, 1};
    vggc_avgpool2d(out, ramp, 1, 1, 3, 3, 2, 2, &ceil2, 1);
    const float want[4] = {3.0f, 4.5f, 7.5f, 9.0f}; /* (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9/1 */
    expect_close("avgpool in ceil mode", out, want, 4, 1e-6, 0);
}

/* ---- relu and softmax ------------------------------------------------------------------------------------ */

Test(activations, relu_zeroes_negatives_and_keeps_nan)
{
    const float in[5] = {-1.5f, 0.0f, 2.0f, NAN, -0.0f};
    float out[5];
    vggc_relu(out, in, 1, 5);
    cr_expect(out[0] == 0.0f && out[1] == 0.0f && out[2] == 2.0f && isnan(out[3]) && out[4] == 0.0f,
              "relu gave %g %g %g %g %g", out[0], out[1], out[2], out[3], out[4]);
}

Test(activations, softmax_of_each_image_sums_to_one_and_matches_the_formula)
{
    const float in[6] = {1.0f, 2.0f, 3.0f, 1000.0f, 1000.0f, -1000.0f};
    float out[6];
    vggc_softmax(out, in, 2, 3);
    double e1 = exp(-2.0), e2 = exp(-1.0), sum = e1 + e2 + 1.0;
    const float want[6] = {(float)(e1 / sum), (float)(e2 / sum), (float)(1.0 / sum), 0.5f, 0.5f, 0.0f};
    expect_close("softmax", out, want, 6, 1e-6, 1e-7);
}
