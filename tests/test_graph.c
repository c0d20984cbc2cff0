/* test_graph.c — the kernels where a network's branches meet (runtime/graph.c): the Add of a residual and the copy of
 * one input into its channel range of a concatenation, each against its naive reference and against values worked
 * by hand; a blocked concatenation is the NCHW one after a layout conversion, with its padded lanes zero. */
#include "helpers.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(add, a_residual_is_added_then_relu_clips_the_negative_sums_and_keeps_nan)
{
    float a[4] = {1.0f, -2.0f, 0.5f, NAN}, b[4] = {0.25f, 1.0f, -3.0f, 1.0f}, out[4];
    vggc_add(out, a, b, 4, 1);
    cr_expect(out[0] == 1.25f && out[1] == 0.0f && out[2] == 0.0f && isnan(out[3]), "got %g %g %g %g", out[0],
              out[1], out[2], out[3]);
    vggc_add(out, a, b, 4, 0);
    cr_expect(out[1] == -1.0f && out[2] == -2.5f, "without relu: got %g %g", out[1], out[2]);
}

Test(add, the_threaded_add_has_the_bits_of_the_naive_one_on_an_odd_count)
{
    size_t count = 100003;
    float *a = floats(count), *b = floats(count), *got = floats(count), *want = floats(count);
    fill_random(a, count, 1u, 1.0f);
    fill_random(b, count, 2u, 1.0f);
    for (int relu = 0; relu <= 1; relu++) {
        vggc_add(got, a, b, count, relu);
        vggc_add_ref(want, a, b, count, relu);
        expect_same_bits(relu ? "add + relu" : "add", got, want, count);
    }
    free(a), free(b), free(got), free(want);
}

/* Every input of a concatenation copied into place, NCHW and blocked, against the naive copies; the blocked result
 * converted back is the NCHW one, and its padded lanes are zero. */
static void expect_concat_of(int n, const int *cs, int inputs, int h, int w)
{
    int ctotal = 0;
    for (int i = 0; i < inputs; i++) ctotal += cs[i];
    size_t total = (size_t)n * ctotal * h * w, total_b = VGGC_BLOCKED_FLOATS(n, ctotal, h, w);
    float *got = floats(total), *want = floats(total), *got_b = floats(total_b), *want_b = floats(total_b);
    float *back = floats(total);
    for (size_t i = 0; i < total_b; i++) got_b[i] = want_b[i] = NAN; /* every lane must be written */
    for (int i = 0, c0 = 0; i < inputs; c0 += cs[i], i++) {
        size_t count = (size_t)n * cs[i] * h * w;
        float *in = floats(count), *in_b = floats(VGGC_BLOCKED_FLOATS(n, cs[i], h, w));
        fill_random(in, count, 10u + (unsigned)i, 1.0f);
        vggc_to_blocked(in_b, in, n, cs[i], h, w);
        vggc_concat_copy(got, in, n, ctotal, c0, cs[i], h, w);
        vggc_concat_copy_ref(want, in, n, ctotal, c0, cs[i], h, w);
        vggc_concat_copy_blocked(got_b, in_b, n, ctotal, c0, cs[i], h, w);
        vggc_concat_copy_blocked_ref(want_b, in_b, n, ctotal, c0, cs[i], h, w);
        free(in), free(in_b);
    }
    char what[96];
    snprintf(what, sizeof what, "concat of %d inputs, %d channels, %dx%d, n=%d", inputs, ctotal, h, w, n);
    expect_same_bits(what, got, want, total);
    expect_same_bits(what, got_b, want_b, total_b);
    vggc_from_blocked(back, got_b, n, ctotal, h, w);
    expect_same_bits(what, back, want, total);
    for (int b = 0; b < n; b++)
        for (size_t p = 0; p < (size_t)h * w; p++)
            for (int ch = ctotal; ch < VGGC_CPAD(ctotal); ch++) {
                float v = got_b[(((size_t)b * (VGGC_CPAD(ctotal) / 16) + ch / 16) * h * w + p) * 16 + ch % 16];
                cr_assert(v == 0.0f, "%s: padded lane %d of image %d pixel %zu is %g", what, ch, b, p, v);
            }
    free(got), free(want), free(got_b), free(want_b), free(back);
}

Test(concat, inputs_on_16_channel_boundaries_are_copied_in_whole_blocks)
{
    expect_concat_of(2, (const int[]){64, 96, 64, 32}, 4, 5, 7); /* the seed's Inception module, pool_features 32 */
}

Test(concat, inputs_that_start_or_end_inside_a_block_are_copied_lane_by_lane)
{
    expect_concat_of(3, (const int[]){5, 17, 3, 40}, 4, 3, 4);
    expect_concat_of(1, (const int[]){16, 7}, 2, 1, 1);
    expect_concat_of(2, (const int[]){1}, 1, 2, 3);
}
