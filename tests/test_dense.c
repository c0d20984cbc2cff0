/* test_dense.c — the fully connected kernels against the naive reference and the generic row, NaN propagation, the
 * rows of zero inputs never read, and bitwise determinism for 1, 2 and 3 threads and for an image alone or in a
 * batch, each test once per kernel row of platform.h (named _on_<isa>; the rows this CPU lacks are skipped by
 * name); vggc_dense_pack; vggc_conv2d's threads. */
#include "dense_internal.h"
#include "helpers.h"
#include "platform.h"
#include "vggc.h"

#include <cblas.h>
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTOL 1e-5
#define ATOL 1e-5

/* A layer's operands filled with deterministic random values, weights scaled like PyTorch's default init. */
typedef struct {
    int n, in_f, out_f;
    float *in, *weight, *bias; /* (n, in_f), (out_f, in_f), (out_f) */
    float *packed;             /* vggc_dense_pack of weight */
} layer;

static void pack(layer *l)
{
    vggc_dense_pack(l->packed, l->weight, l->in_f, l->out_f);
}

static layer make_layer(int n, int in_f, int out_f, unsigned seed)
{
    layer l = {n, in_f, out_f, floats((size_t)n * in_f), floats((size_t)out_f * in_f), floats((size_t)out_f),
               floats(VGGC_DENSE_WEIGHT_FLOATS(in_f, out_f))};
    fill_random(l.in, (size_t)n * in_f, seed, 1.0f);
    fill_random(l.weight, (size_t)out_f * in_f, seed + 1, 1.0f / sqrtf((float)in_f));
    fill_random(l.bias, (size_t)out_f, seed + 2, 0.1f);
    pack(&l);
    return l;
}

/* Inputs as after a ReLU: the negative ones zero (every tenth of them -0.0f), and inputs 3, 4, 5 and every
 * multiple of 7 zero in every image, so that whole rows of weights are skipped. */
static void relu_inputs(layer *l)
{
    for (int b = 0; b < l->n; b++)
        for (int i = 0; i < l->in_f; i++) {
            float *v = &l->in[(size_t)b * l->in_f + i];
            if (*v < 0.0f || i % 7 == 0 || (i >= 3 && i <= 5)) *v = (i % 10 == 0) ? -0.0f : 0.0f;
        }
}

static void free_layer(layer *l)
{
    free(l->in), free(l->weight), free(l->bias), free(l->packed);
}

/* Row k on l against the double-precision reference, with and without ReLU. */
static void expect_kernel_matches_ref(const vggc_kernels *k, const layer *l)
{
    size_t count = (size_t)l->n * l->out_f;
    float *got = floats(count), *want = floats(count);
    for (int relu = 0; relu <= 1; relu++) {
        vggc_dense_on(k, got, l->in, l->packed, l->bias, l->n, l->in_f, l->out_f, relu);
        vggc_linear_ref(want, l->in, l->weight, l->bias, l->n, l->in_f, l->out_f, relu);
        char what[128];
        snprintf(what, sizeof what, "%s n=%d %d->%d relu=%d", k->name, l->n, l->in_f, l->out_f, relu);
        expect_close(what, got, want, count, RTOL, ATOL);
    }
    free(got), free(want);
}

/* Every batch (1, 2, 8, 9, and 17 > one group of 16) times odd and round sizes, 1 to 1000 + 7, inputs dense and
 * as after a ReLU. */
static void all_shapes(const vggc_kernels *k)
{
    static const int batches[] = {1, 2, 8, 9, 17}, sizes[] = {1, 3, 17, 100, 1007};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            for (size_t o = 0; o < sizeof sizes / sizeof *sizes; o++)
                for (int relu = 0; relu <= 1; relu++) {
                    layer l = make_layer(batches[b], sizes[i], sizes[o], 7u * (unsigned)(b + 5 * i + 25 * o));
                    if (relu) relu_inputs(&l);
                    expect_kernel_matches_ref(k, &l);
                    free_layer(&l);
                }
}

TEST_EVERY_ISA(linear, the_kernel_matches_the_reference_for_batches_1_2_8_9_17_and_odd_sizes, all_shapes)

/* The rows of inputs that are zero in every image are never read: NaN there changes no output bit. */
static void zero_rows_unread(const vggc_kernels *k)
{
    static const int batches[] = {1, 3, 17};
    for (size_t b = 0; b < 3; b++) {
        layer l = make_layer(batches[b], 4096 + 13, 1000, 51u + (unsigned)b);
        relu_inputs(&l);
        size_t count = (size_t)l.n * l.out_f;
        float *clean = floats(count), *poisoned = floats(count);
        vggc_dense_on(k, clean, l.in, l.packed, l.bias, l.n, l.in_f, l.out_f, 1);
        int skipped = 0;
        for (int i = 0; i < l.in_f; i++) {
            int zero = 1;
            for (int j = 0; j < l.n; j++) zero &= l.in[(size_t)j * l.in_f + i] == 0.0f;
            if (!zero) continue;
            for (int o = 0; o < l.out_f; o++) l.packed[vggc_dense_at(l.in_f, l.out_f, i, o)] = NAN;
            skipped++;
        }
        vggc_dense_on(k, poisoned, l.in, l.packed, l.bias, l.n, l.in_f, l.out_f, 1);
        char what[128];
        snprintf(what, sizeof what, "%s n=%d: %d of %d rows NaN, their inputs zero", k->name, l.n, skipped, l.in_f);
        cr_expect_geq(skipped, l.in_f / 7, "%s: the inputs zero in every image include every seventh", what);
        expect_same_bits(what, poisoned, clean, count);
        free(clean), free(poisoned), free_layer(&l);
    }
}
TEST_EVERY_ISA(linear, the_rows_of_inputs_zero_in_every_image_are_never_read, zero_rows_unread)

/* 2100 outputs: panels of 1024, 1024 and 64 (52 rounded up to 16), each (37, its stride: 1040, 1040, 80), one
 * after the other. */
Test(linear, the_packed_weight_is_the_transpose_in_panels_of_1024_outputs)
{
    cr_expect_eq(VGGC_DENSE_WEIGHT_FLOATS(37, 2100), 37 * (1040 + 1040 + 80));
    cr_expect_eq(VGGC_DENSE_WEIGHT_FLOATS(5, 4096), 5 * 4 * 1040);
    cr_expect_eq(VGGC_DENSE_WEIGHT_FLOATS(5, 1000), 5 * 1008);
    cr_expect_eq(vggc_dense_at(37, 2100, 1, 0), 1040);
    cr_expect_eq(vggc_dense_at(37, 2100, 0, 1024), 37 * 1040);
    cr_expect_eq(vggc_dense_at(37, 2100, 2, 2049), 37 * 2080 + 2 * 80 + 1);
    layer l = make_layer(1, 37, 2100, 3u);
    int bad = 0, pad = 0;
    for (int i = 0; i < 37; i++)
        for (int o = 0; o < 2100; o++) bad += l.packed[vggc_dense_at(37, 2100, i, o)] != l.weight[(size_t)o * 37 + i];
    for (size_t j = 0; j < VGGC_DENSE_WEIGHT_FLOATS(37, 2100); j++) pad += l.packed[j] == 0.0f;
    cr_expect_eq(bad, 0, "%d of 37 x 2100 packed weights are not weight[o][i]", bad);
    cr_expect_eq(pad, 37 * (16 + 16 + 28), "the padding columns are zero (and no weight is)");
    free_layer(&l);
}

static void agrees_with_generic(const vggc_kernels *k)
{
    layer l = make_layer(3, 4096 + 16 * 3 + 5, 515, 11u);
    size_t count = (size_t)l.n * l.out_f;
    float *fast = floats(count), *plain = floats(count);
    relu_inputs(&l);
    vggc_dense_on(k, fast, l.in, l.packed, l.bias, l.n, l.in_f, l.out_f, 1);
    vggc_dense_on(require_isa("generic"), plain, l.in, l.packed, l.bias, l.n, l.in_f, l.out_f, 1);
    expect_close("vs generic", fast, plain, count, RTOL, ATOL);
    free(fast), free(plain), free_layer(&l);
}
TEST_EVERY_ISA(linear, the_row_agrees_with_the_generic_row_on_a_vgg_sized_layer, agrees_with_generic)

/* A NaN input makes every output of its image NaN (ReLU keeps NaN, as torch.relu) and touches no other image;
 * a NaN weight (of an input non-zero in the batch) makes its output row NaN for every image. */
static void nan_propagates(const vggc_kernels *k)
{
    const char *name = k->name;
    layer l = make_layer(3, 37, 21, 5u);
    l.in[1 * 37 + 30] = NAN;
    l.weight[4 * 37 + 36] = NAN;
    pack(&l);
    float got[3 * 21], want[3 * 21];
    for (int relu = 0; relu <= 1; relu++) {
        vggc_dense_on(k, got, l.in, l.packed, l.bias, 3, 37, 21, relu);
        vggc_linear_ref(want, l.in, l.weight, l.bias, 3, 37, 21, relu);
        for (int b = 0; b < 3; b++)
            for (int o = 0; o < 21; o++) {
                int nan = b == 1 || o == 4;
                float g = got[b * 21 + o], w = want[b * 21 + o];
                cr_expect(isnan(g) == nan && isnan(w) == nan, "%s relu=%d image %d row %d: got %g, ref %g, NaN "
                          "expected %s", name, relu, b, o, (double)g, (double)w, nan ? "yes" : "no");
                if (!nan) cr_expect(fabsf(g - w) <= ATOL + RTOL * fabsf(w), "%s [%d][%d]: %g vs %g", name, b, o,
                                    (double)g, (double)w);
            }
    }
    free_layer(&l);
}

TEST_EVERY_ISA(linear, a_nan_input_or_weight_propagates_to_exactly_its_outputs_with_and_without_relu, nan_propagates)

/* Row k on l with 1 thread, then with 2, 3 and again 2 threads: all runs give the same bits. */
static void expect_thread_count_invariant(const vggc_kernels *k, const layer *l)
{
    size_t count = (size_t)l->n * l->out_f;
    float *one = floats(count), *more = floats(count);
    vggc_set_threads(1);
    vggc_dense_on(k, one, l->in, l->packed, l->bias, l->n, l->in_f, l->out_f, 1);
    static const int counts[] = {2, 3, 2};
    for (int i = 0; i < 3; i++) {
        vggc_set_threads(counts[i]);
        vggc_dense_on(k, more, l->in, l->packed, l->bias, l->n, l->in_f, l->out_f, 1);
        char what[128];
        snprintf(what, sizeof what, "%s n=%d %d->%d, 1 vs %d threads (run %d)", k->name, l->n, l->in_f, l->out_f,
                 counts[i], i + 1);
        expect_same_bits(what, more, one, count);
    }
    free(one), free(more);
}

/* 1007 outputs, one panel: the layer is cut by its 3001 inputs into parts that add their totals in turn (dense.c),
 * whichever thread runs which. */
static void thread_counts(const vggc_kernels *k)
{
    static const int batches[] = {1, 8, 9};
    for (size_t b = 0; b < 3; b++) {
        layer l = make_layer(batches[b], 3001, 1000 + 7, 21u);
        relu_inputs(&l);
        expect_thread_count_invariant(k, &l);
        free_layer(&l);
    }
}
TEST_EVERY_ISA(linear, outputs_are_bitwise_the_same_for_one_two_and_three_threads_and_across_runs, thread_counts)

/* Inputs as after a ReLU: alone, an image skips the rows of all its zero inputs; in the batch it adds +0 or -0 for
 * those the other images need, which must change no bit. */
static void alone_vs_batch(const vggc_kernels *k)
{
    layer l = make_layer(9, 1030, 77, 31u);
    relu_inputs(&l);
    float batch[9 * 77], alone[77];
    vggc_dense_on(k, batch, l.in, l.packed, l.bias, 9, 1030, 77, 0);
    for (int b = 0; b < 9; b++) {
        vggc_dense_on(k, alone, l.in + (size_t)b * 1030, l.packed, l.bias, 1, 1030, 77, 0);
        char what[64];
        snprintf(what, sizeof what, "image %d alone vs in a batch of 9", b);
        expect_same_bits(what, alone, batch + b * 77, 77);
    }
    free_layer(&l);
}
TEST_EVERY_ISA(linear, an_image_gets_the_same_bits_alone_as_inside_a_batch, alone_vs_batch)

/* ---- conv2d threads ------------------------------------------------------------------------------------- */

Test(conv2d, outputs_are_bitwise_the_same_for_one_and_two_threads_and_match_the_reference)
{
    enum { N = 2, CIN = 5, H = 50, W = 47, COUT = 130, K = 3 }; /* 3 channel pieces x 2 pixel pieces */
    size_t in_count = (size_t)N * CIN * H * W, out_count = (size_t)N * COUT * H * W;
    float *in = floats(in_count), *weight = floats((size_t)COUT * CIN * K * K), *bias = floats(COUT);
    float *work = floats(vggc_conv2d_work(CIN, H, W, K));
    float *one = floats(out_count), *two = floats(out_count), *again = floats(out_count), *want = floats(out_count);
    fill_random(in, in_count, 3u, 1.0f);
    fill_random(weight, (size_t)COUT * CIN * K * K, 4u, 0.2f);
    fill_random(bias, COUT, 5u, 0.1f);
    vggc_set_threads(1);
    vggc_conv2d(one, in, weight, bias, work, N, CIN, H, W, COUT, K, 1);
    vggc_set_threads(2);
    vggc_conv2d(two, in, weight, bias, work, N, CIN, H, W, COUT, K, 1);
    vggc_conv2d(again, in, weight, bias, work, N, CIN, H, W, COUT, K, 1);
    expect_same_bits("conv2d 1 vs 2 threads", two, one, out_count);
    expect_same_bits("conv2d two runs with 2 threads", again, two, out_count);
    vggc_conv2d_ref(want, in, weight, bias, N, CIN, H, W, COUT, K, 1);
    expect_close("conv2d with 2 threads vs reference", two, want, out_count, RTOL, ATOL);
    free(in), free(weight), free(bias), free(work), free(one), free(two), free(again), free(want);
}

Test(conv2d, makes_openblas_single_threaded_even_when_set_threads_was_never_called)
{
    openblas_set_num_threads(2);
    float in[9], weight[9], bias[1] = {0}, work[81], out[9];
    fill_random(in, 9, 1u, 1.0f);
    fill_random(weight, 9, 2u, 1.0f);
    vggc_conv2d(out, in, weight, bias, work, 1, 1, 3, 3, 1, 3, 0);
    cr_expect_eq(openblas_get_num_threads(), 1, "OpenBLAS runs single-threaded inside the runtime's OpenMP regions");
}
