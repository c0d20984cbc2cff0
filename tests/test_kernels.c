/* test_kernels.c — the runtime kernels: each fast kernel against its naive reference, and each reference against
 * values computed by hand with PyTorch's formulas. */
#include "helpers.h"
#include "vggc.h"

#include <cblas.h>
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define RTOL 1e-5
#define ATOL 1e-5

/* ---- conv2d -------------------------------------------------------------------------------------------- */

/* Run the im2col + GEMM conv and the naive one on the same random data (weights scaled by 1/sqrt(fan-in) so
 * outputs are O(1)) and expect them close. k == 1 passes no work buffer at all. */
static void expect_conv_matches_ref(int n, int cin, int h, int w, int cout, int k, int relu)
{
    size_t in_count = (size_t)n * cin * h * w, out_count = (size_t)n * cout * h * w;
    size_t w_count = (size_t)cout * cin * k * k, work_count = vggc_conv2d_work(cin, h, w, k);
    float *in = floats(in_count), *weight = floats(w_count), *bias = floats((size_t)cout);
    float *got = floats(out_count), *want = floats(out_count);
    float *work = work_count ? floats(work_count) : NULL;
    fill_random(in, in_count, 1u, 1.0f);
    fill_random(weight, w_count, 2u, 1.0f / sqrtf((float)(cin * k * k)));
    fill_random(bias, (size_t)cout, 3u, 0.1f);

    vggc_conv2d(got, in, weight, bias, work, n, cin, h, w, cout, k, relu);
    vggc_conv2d_ref(want, in, weight, bias, n, cin, h, w, cout, k, relu);

    char what[128];
    snprintf(what, sizeof what, "conv%dx%d n=%d %d->%d on %dx%d relu=%d", k, k, n, cin, cout, h, w, relu);
    expect_close(what, got, want, out_count, RTOL, ATOL);
    free(in), free(weight), free(bias), free(got), free(want), free(work);
}

Test(conv2d, im2col_gemm_matches_the_naive_kernel_on_odd_sizes)
{
    expect_conv_matches_ref(1, 3, 5, 7, 5, 3, 0);
    expect_conv_matches_ref(1, 7, 7, 5, 13, 3, 0);
}

Test(conv2d, im2col_gemm_with_relu_matches_the_naive_kernel_for_a_batch_of_three)
{
    expect_conv_matches_ref(3, 3, 5, 7, 5, 3, 1);
    expect_conv_matches_ref(3, 7, 5, 7, 13, 3, 1);
}

Test(conv2d, three_by_three_on_a_1x1_map_and_a_2x3_map_matches_the_naive_kernel)
{
    for (int relu = 0; relu <= 1; relu++) {
        expect_conv_matches_ref(1, 7, 1, 1, 13, 3, relu);
        expect_conv_matches_ref(3, 3, 2, 3, 5, 3, relu);
    }
}

Test(conv2d, one_by_one_is_a_gemm_on_the_input_that_matches_the_naive_kernel)
{
    for (int relu = 0; relu <= 1; relu++) {
        expect_conv_matches_ref(1, 3, 5, 7, 5, 1, relu);
        expect_conv_matches_ref(3, 7, 2, 3, 13, 1, relu);
        expect_conv_matches_ref(3, 7, 1, 1, 13, 1, relu);
    }
}

Test(conv2d, five_by_five_pads_by_two_and_matches_the_naive_kernel)
{
    expect_conv_matches_ref(2, 3, 5, 7, 5, 5, 1);
    expect_conv_matches_ref(1, 3, 2, 3, 5, 5, 0);
}

/* All-ones 3x3 input and weights, bias 0.5: each output is 0.5 + the number of taps that land inside the map. */
Test(conv2d, both_kernels_count_in_bounds_taps_under_zero_padding)
{
    float in[9], weight[9], bias[1] = {0.5f}, work[81], got[9], want_ref[9];
    for (int i = 0; i < 9; i++) in[i] = weight[i] = 1.0f;
    const float want[9] = {4.5f, 6.5f, 4.5f, 6.5f, 9.5f, 6.5f, 4.5f, 6.5f, 4.5f};

    vggc_conv2d_ref(want_ref, in, weight, bias, 1, 1, 3, 3, 1, 3, 0);
    vggc_conv2d(got, in, weight, bias, work, 1, 1, 3, 3, 1, 3, 0);
    expect_close("naive conv of ones", want_ref, want, 9, 0, 0);
    expect_close("im2col conv of ones", got, want, 9, 0, 0);
}

/* On a 1x1 map only the centre tap sees data: out[co] = bias[co] + sum_ci w[co][ci][1][1] * in[ci]. */
Test(conv2d, three_by_three_on_a_1x1_map_uses_only_the_centre_tap)
{
    const float in[2] = {2.0f, -1.0f};
    float weight[2 * 2 * 9], bias[2] = {0.25f, -0.5f}, work[18], got[2];
    for (int i = 0; i < 36; i++) weight[i] = 100.0f;   /* off-centre taps must not matter */
    weight[0 * 18 + 0 * 9 + 4] = 1.0f, weight[0 * 18 + 1 * 9 + 4] = 3.0f;
    weight[1 * 18 + 0 * 9 + 4] = -2.0f, weight[1 * 18 + 1 * 9 + 4] = 0.5f;
    const float want[2] = {0.25f + 2.0f - 3.0f, -0.5f - 4.0f - 0.5f};

    vggc_conv2d(got, in, weight, bias, work, 1, 2, 1, 1, 2, 3, 0);
    expect_close("conv3x3 on 1x1", got, want, 2, 0, 0);
}

Test(conv2d, relu_clips_exactly_the_negative_outputs)
{
    enum { N = 2, CIN = 3, H = 5, W = 7, COUT = 5, COUNT = N * COUT * H * W };
    float in[N * CIN * H * W], weight[COUT * CIN * 9], bias[COUT], work[CIN * 9 * H * W];
    float plain[COUNT], clipped[COUNT], want[COUNT];
    fill_random(in, sizeof in / sizeof *in, 11u, 1.0f);
    fill_random(weight, sizeof weight / sizeof *weight, 12u, 0.2f);
    fill_random(bias, COUT, 13u, 0.1f);

    vggc_conv2d(plain, in, weight, bias, work, N, CIN, H, W, COUT, 3, 0);
    vggc_conv2d(clipped, in, weight, bias, work, N, CIN, H, W, COUT, 3, 1);
    int negatives = 0;
    for (int i = 0; i < COUNT; i++) {
        negatives += plain[i] < 0.0f;
        want[i] = plain[i] < 0.0f ? 0.0f : plain[i];
    }
    cr_expect_gt(negatives, 0, "the random data should give some negative outputs");
    expect_close("conv with relu", clipped, want, COUNT, 0, 0);
}

/* ---- maxpool ------------------------------------------------------------------------------------------- */

Test(maxpool, takes_the_max_of_each_2x2_window_of_a_hand_checked_4x4_map)
{
    const float in[16] = {
        1, 5, -2, 0,
        3, 2, -1, -3,
        -7, -8, 4, 4,
        -9, -6, 4, 9,
    };
    const float want[4] = {5, 0, -6, 9};
    float got[4];
    vggc_maxpool2x2(got, in, 1, 1, 4, 4);
    expect_close("maxpool 4x4", got, want, 4, 0, 0);
}

/* in[i][j] = i * w + j grows to the right and down, so each window's max is its bottom-right cell; a huge value
 * in the dropped last row and column must not show up. */
Test(maxpool, floor_mode_drops_the_last_row_and_column_of_odd_maps)
{
    enum { N = 2, C = 3, H = 5, W = 7, OH = 2, OW = 3 };
    float in[N * C * H * W], got[N * C * OH * OW], want[N * C * OH * OW];
    for (int pl = 0; pl < N * C; pl++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                in[(pl * H + i) * W + j] = (i == H - 1 || j == W - 1) ? 1e6f : (float)(pl * 100 + i * W + j);
    for (int pl = 0; pl < N * C; pl++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++)
                want[(pl * OH + i) * OW + j] = (float)(pl * 100 + (2 * i + 1) * W + 2 * j + 1);

    vggc_maxpool2x2(got, in, N, C, H, W);
    expect_close("maxpool 5x7 -> 2x3", got, want, N * C * OH * OW, 0, 0);
}

Test(maxpool, a_nan_in_a_window_wins_as_in_pytorch)
{
    const float in[8] = {1, 2, 3, 4, 5, NAN, 7, 8};   /* 2x4: windows {1,2,5,NaN} and {3,4,7,8} */
    float got[2];
    vggc_maxpool2x2(got, in, 1, 1, 2, 4);
    cr_expect(isnan(got[0]), "window with a NaN gave %g", (double)got[0]);
    cr_expect_eq(got[1], 8.0f);
}

/* ---- adaptive avgpool ---------------------------------------------------------------------------------- */

Test(adaptive_avgpool, upsampling_1x1_to_7x7_copies_the_input_everywhere)
{
    enum { N = 2, C = 3 };
    const float in[N * C] = {1.5f, -2.0f, 0.0f, 3.25f, 7.0f, -0.125f};
    float got[N * C * 49], want[N * C * 49];
    for (int pl = 0; pl < N * C; pl++)
        for (int p = 0; p < 49; p++) want[pl * 49 + p] = in[pl];
    vggc_adaptive_avgpool(got, in, N, C, 1, 1, 7, 7);
    expect_close("avgpool 1x1 -> 7x7", got, want, N * C * 49, 0, 0);
}

Test(adaptive_avgpool, seven_by_seven_to_seven_by_seven_is_the_identity)
{
    enum { N = 2, C = 3, COUNT = N * C * 49 };
    float in[COUNT], got[COUNT];
    fill_random(in, COUNT, 21u, 10.0f);
    vggc_adaptive_avgpool(got, in, N, C, 7, 7, 7, 7);
    expect_close("avgpool 7x7 -> 7x7", got, in, COUNT, 0, 0);
}

/* The mean of in (h, w) over rows [r0, r1) and columns [c0, c1), in double. */
static float mean_box(const float *in, int w, int r0, int r1, int c0, int c1)
{
    double sum = 0;
    for (int i = r0; i < r1; i++)
        for (int j = c0; j < c1; j++) sum += in[i * w + j];
    return (float)(sum / ((r1 - r0) * (c1 - c0)));
}

/* PyTorch's bins for 5 -> 3 are [0,2), [1,4), [3,5): they overlap and have different sizes. */
Test(adaptive_avgpool, five_to_three_uses_pytorchs_overlapping_bins)
{
    const int start[3] = {0, 1, 3}, end[3] = {2, 4, 5};
    float in[25], got[9], want[9];
    for (int p = 0; p < 25; p++) in[p] = (float)(p * p % 11) - 4.0f;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) want[i * 3 + j] = mean_box(in, 5, start[i], end[i], start[j], end[j]);
    vggc_adaptive_avgpool(got, in, 1, 1, 5, 5, 3, 3);
    expect_close("avgpool 5x5 -> 3x3", got, want, 9, 1e-6, 1e-6);
}

/* Rows 5 -> 3 as above; columns 7 -> 2 are [0,4), [3,7). */
Test(adaptive_avgpool, a_non_square_5x7_map_to_3x2_uses_separate_row_and_column_bins)
{
    const int r0[3] = {0, 1, 3}, r1[3] = {2, 4, 5}, c0[2] = {0, 3}, c1[2] = {4, 7};
    float in[2 * 35], got[2 * 6], want[2 * 6];
    fill_random(in, 70, 22u, 1.0f);
    for (int pl = 0; pl < 2; pl++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 2; j++) want[pl * 6 + i * 2 + j] = mean_box(in + pl * 35, 7, r0[i], r1[i], c0[j], c1[j]);
    vggc_adaptive_avgpool(got, in, 1, 2, 5, 7, 3, 2);
    expect_close("avgpool 5x7 -> 3x2", got, want, 12, 1e-6, 1e-6);
}

/* 2 -> 3 upsamples with bins [0,1), [0,2), [1,2): the centre output is the mean of all four inputs. */
Test(adaptive_avgpool, two_to_three_upsamples_with_overlapping_bins)
{
    const float in[4] = {1, 2, 3, 4};
    const float want[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    float got[9];
    vggc_adaptive_avgpool(got, in, 1, 1, 2, 2, 3, 3);
    expect_close("avgpool 2x2 -> 3x3", got, want, 9, 0, 0);
}

/* 14 -> 7 divides evenly (as 224 does at the end of VGG): each output is the mean of one 2x2 block. */
Test(adaptive_avgpool, fourteen_to_seven_averages_disjoint_2x2_blocks)
{
    float in[196], got[49], want[49];
    fill_random(in, 196, 23u, 1.0f);
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++) want[i * 7 + j] = mean_box(in, 14, 2 * i, 2 * i + 2, 2 * j, 2 * j + 2);
    vggc_adaptive_avgpool(got, in, 1, 1, 14, 14, 7, 7);
    expect_close("avgpool 14x14 -> 7x7", got, want, 49, 1e-6, 1e-6);
}

/* ---- LocalResponseNorm --------------------------------------------------------------------------------- */

/* a = (1, 2, 3) over channels, size 3, alpha 3 (alpha / size = 1), beta 1, k 1: windows {0,1}, {0,1,2}, {1,2}. */
Test(lrn, size_three_matches_hand_values_including_both_edge_channels)
{
    const float in[3] = {1, 2, 3};
    const float want[3] = {1.0f / 6.0f, 2.0f / 15.0f, 3.0f / 14.0f};
    float got[3];
    vggc_lrn(got, in, 1, 3, 1, 1, 3, 3.0f, 1.0f, 1.0f);
    expect_close("lrn size 3", got, want, 3, 1e-6, 0);
}

/* An even size looks back further than ahead: size 2 covers channels c-1 and c. alpha 2, beta 0.5, k 1. */
Test(lrn, an_even_size_covers_the_previous_channel_and_its_own)
{
    const float in[3] = {1, 2, 3};
    const float want[3] = {1.0f / sqrtf(2.0f), 2.0f / sqrtf(6.0f), 3.0f / sqrtf(14.0f)};
    float got[3];
    vggc_lrn(got, in, 1, 3, 1, 1, 2, 2.0f, 0.5f, 1.0f);
    expect_close("lrn size 2", got, want, 3, 1e-6, 0);
}

/* The formula in double, one element at a time, as a second reference for a batch with real maps. */
static void lrn_by_formula(float *out, const float *in, int n, int c, int hw, int size, double alpha, double beta,
                           double k)
{
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                double sum = 0;
                for (int cc = ch - size / 2; cc <= ch + (size - 1) / 2; cc++)
                    if (cc >= 0 && cc < c) sum += (double)in[(b * c + cc) * hw + p] * in[(b * c + cc) * hw + p];
                out[(b * c + ch) * hw + p] = (float)(in[(b * c + ch) * hw + p] / pow(k + alpha / size * sum, beta));
            }
}

Test(lrn, alexnet_parameters_on_a_batch_match_the_formula)
{
    enum { N = 2, C = 7, H = 3, W = 5, COUNT = N * C * H * W };
    float in[COUNT], got[COUNT], want[COUNT];
    fill_random(in, COUNT, 31u, 20.0f);   /* large enough that alpha * sum matters next to k */
    vggc_lrn(got, in, N, C, H, W, 5, 1e-4f, 0.75f, 2.0f);
    lrn_by_formula(want, in, N, C, H * W, 5, 1e-4f, 0.75f, 2.0f);
    expect_close("lrn alexnet", got, want, COUNT, RTOL, ATOL);
}

/* ---- linear -------------------------------------------------------------------------------------------- */

static void expect_linear_matches_ref(int n, int in_f, int out_f, int relu)
{
    size_t in_count = (size_t)n * in_f, w_count = (size_t)out_f * in_f, out_count = (size_t)n * out_f;
    float *in = floats(in_count), *weight = floats(w_count), *bias = floats((size_t)out_f);
    float *got = floats(out_count), *want = floats(out_count);
    fill_random(in, in_count, 41u, 1.0f);
    fill_random(weight, w_count, 42u, 1.0f / sqrtf((float)in_f));
    fill_random(bias, (size_t)out_f, 43u, 0.1f);

    float *packed = floats(VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f));
    vggc_dense_pack(packed, weight, in_f, out_f);
    vggc_dense(got, in, packed, bias, n, in_f, out_f, relu);
    vggc_linear_ref(want, in, weight, bias, n, in_f, out_f, relu);
    free(packed);

    char what[96];
    snprintf(what, sizeof what, "linear n=%d %d->%d relu=%d", n, in_f, out_f, relu);
    expect_close(what, got, want, out_count, RTOL, ATOL);
    free(in), free(weight), free(bias), free(got), free(want);
}

Test(linear, one_image_matches_the_naive_kernel_with_and_without_relu)
{
    for (int relu = 0; relu <= 1; relu++) {
        expect_linear_matches_ref(1, 37, 19, relu);
        expect_linear_matches_ref(1, 513, 101, relu);
    }
}

Test(linear, a_batch_of_four_matches_the_naive_kernel_with_and_without_relu)
{
    for (int relu = 0; relu <= 1; relu++) {
        expect_linear_matches_ref(4, 37, 19, relu);
        expect_linear_matches_ref(4, 513, 101, relu);
    }
}

/* out = in . weight^T + bias with in (2, 3), weight (2, 3). */
Test(linear, the_naive_kernel_matches_a_hand_computed_product)
{
    const float in[6] = {1, 2, 3, -1, 0, 2};
    const float weight[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
    const float bias[2] = {0.5f, -4};
    const float want_plain[4] = {-1.5f, -1, -2.5f, -3.5f}, want_relu[4] = {0, 0, 0, 0};
    float got[4];
    vggc_linear_ref(got, in, weight, bias, 2, 3, 2, 0);
    expect_close("linear_ref", got, want_plain, 4, 0, 0);
    vggc_linear_ref(got, in, weight, bias, 2, 3, 2, 1);
    expect_close("linear_ref relu", got, want_relu, 4, 0, 0);
    float packed[VGGC_DENSE_WEIGHT_FLOATS(3, 2)];
    vggc_dense_pack(packed, weight, 3, 2);
    vggc_dense(got, in, packed, bias, 2, 3, 2, 0);
    expect_close("dense", got, want_plain, 4, 0, 0);
}

/* ---- BatchNorm folding --------------------------------------------------------------------------------- */

/* eps 0.25 and var {3.75, 0} give sqrt(var + eps) = {2, 0.5}; gamma {3, 1} then gives s = {1.5, 2}. */
Test(fold_batchnorm, scales_weights_and_shifts_bias_as_computed_by_hand)
{
    float weight[6] = {1, -2, 4, 0.5f, 0.25f, -1}, bias[2] = {2, 3};
    const float gamma[2] = {3, 1}, beta[2] = {0.5f, -1}, mean[2] = {1, -2}, var[2] = {3.75f, 0};
    const vggc_bn_fold fold = {weight, bias, gamma, beta, mean, var, 2, 3, 0.25f};
    const vggc_model model = {.name = "tiny", .folds = &fold, .n_folds = 1};
    const float want_w[6] = {1.5f, -3, 6, 1, 0.5f, -2};
    const float want_b[2] = {(2 - 1) * 1.5f + 0.5f, (3 + 2) * 2.0f - 1};

    vggc_fold_batchnorm(&model);
    expect_close("folded weight", weight, want_w, 6, 0, 0);
    expect_close("folded bias", bias, want_b, 2, 0, 0);
}

/* conv then BatchNorm2d (eval, eps 1e-5) on random data equals the conv with folded weights. */
Test(fold_batchnorm, a_folded_conv_equals_conv_followed_by_batchnorm)
{
    enum { CIN = 3, COUT = 5, H = 4, W = 3, HW = H * W, PER = CIN * 9 };
    float in[CIN * HW], weight[COUT * PER], bias[COUT], plain[COUT * HW], want[COUT * HW], got[COUT * HW];
    float gamma[COUT], beta[COUT], mean[COUT], var[COUT];
    fill_random(in, CIN * HW, 51u, 1.0f), fill_random(weight, COUT * PER, 52u, 0.3f);
    fill_random(bias, COUT, 53u, 0.5f), fill_random(gamma, COUT, 54u, 2.0f), fill_random(beta, COUT, 55u, 1.0f);
    fill_random(mean, COUT, 56u, 0.5f), fill_random(var, COUT, 57u, 1.0f);
    for (int c = 0; c < COUT; c++) var[c] = var[c] * var[c] + 0.01f;

    vggc_conv2d_ref(plain, in, weight, bias, 1, CIN, H, W, COUT, 3, 0);
    for (int c = 0; c < COUT; c++)
        for (int p = 0; p < HW; p++)
            want[c * HW + p] = (float)(((double)plain[c * HW + p] - mean[c]) / sqrt((double)var[c] + 1e-5f) * gamma[c]
                                       + beta[c]);
    const vggc_bn_fold fold = {weight, bias, gamma, beta, mean, var, COUT, PER, 1e-5f};
    const vggc_model model = {.name = "conv_bn", .folds = &fold, .n_folds = 1};
    vggc_fold_batchnorm(&model);
    vggc_conv2d_ref(got, in, weight, bias, 1, CIN, H, W, COUT, 3, 0);
    expect_close("folded conv", got, want, COUT * HW, RTOL, ATOL);
}

/* ---- threads ------------------------------------------------------------------------------------------- */

Test(threads, set_threads_sets_openmp_keeps_openblas_single_threaded_and_kernels_still_agree)
{
    vggc_set_threads(1);
    cr_expect_eq(omp_get_max_threads(), 1);
    cr_expect_eq(openblas_get_num_threads(), 1);
    expect_conv_matches_ref(2, 7, 5, 7, 13, 3, 1);
    vggc_set_threads(2);
    cr_expect_eq(omp_get_max_threads(), 2);
    cr_expect_eq(openblas_get_num_threads(), 1, "OpenBLAS runs single-threaded inside the runtime's OpenMP regions");
    expect_conv_matches_ref(2, 7, 5, 7, 13, 3, 1);
    vggc_set_threads(0);
    cr_expect_eq(omp_get_max_threads(), 1, "a count below 1 means 1");
}
