/* test_freestanding.c — the freestanding kernels (runtime/freestanding/, what a Cortex-M build links): each fast
 * kernel against its plain loop-nest reference on odd sizes, the references and the other layers against the host
 * runtime's, and the folder's rules: the files compile with -ffreestanding for every Cortex-M target, link nothing
 * but memcpy, memset, expf and powf, and keep every kernel's frames within VGGC_FS_STACK_BYTES. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "vggc.h"
#include "vggc_fs.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *random_floats(size_t n, unsigned seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    cr_assert_not_null(x, "out of memory");
    fill_random(x, n, seed, 1.0f);
    return x;
}

static float *zeros(size_t n)
{
    float *x = calloc(n ? n : 1, sizeof *x);
    cr_assert_not_null(x, "out of memory");
    return x;
}

static int out_size(int n, int k, int s, int p0, int p1, int d)
{
    return (n + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

/* ---- convolutions ------------------------------------------------------------------------------------------ */

typedef struct {
    int n, cin, h, w, cout;
    vggc_fs_window win;
} conv_case;

/* fast(out) against vggc_fs_conv_ref, and the reference against the host runtime's vggc_conv2d_general_ref. */
static void check_conv(const char *what, const conv_case *c, int relu,
                       void (*fast)(float *, const float *, const float *, const float *, const conv_case *, int))
{
    const vggc_fs_window *v = &c->win;
    int oh = out_size(c->h, v->kh, v->sh, v->pt, v->pb, v->dh), ow = out_size(c->w, v->kw, v->sw, v->pl, v->pr, v->dw);
    size_t nin = (size_t)c->n * c->cin * c->h * c->w, nout = (size_t)c->n * c->cout * oh * ow;
    float *in = random_floats(nin, 1), *wt = random_floats((size_t)c->cout * c->cin * v->kh * v->kw, 2);
    float *bias = random_floats((size_t)c->cout, 3), *got = zeros(nout), *want = zeros(nout), *host = zeros(nout);
    fast(got, in, wt, bias, c, relu);
    vggc_fs_conv_ref(want, in, wt, bias, c->n, c->cin, c->h, c->w, c->cout, oh, ow, v, relu);
    char label[160];
    snprintf(label, sizeof label, "%s %dx%d cin %d cout %d map %dx%d batch %d relu %d", what, v->kh, v->kw, c->cin,
             c->cout, c->h, c->w, c->n, relu);
    expect_close(label, got, want, nout, 1e-5, 1e-5);
    const vggc_window hw = {v->kh, v->kw, v->sh, v->sw, v->pt, v->pl, v->pb, v->pr, v->dh, v->dw};
    vggc_conv2d_general_ref(host, in, wt, bias, c->n, c->cin, c->h, c->w, c->cout, oh, ow, &hw, relu);
    expect_close("vggc_fs_conv_ref against the host's vggc_conv2d_general_ref", want, host, nout, 1e-5, 1e-5);
    free(in), free(wt), free(bias), free(got), free(want), free(host);
}

static void direct(float *out, const float *in, const float *w, const float *b, const conv_case *c, int relu)
{
    const vggc_fs_window *v = &c->win;
    vggc_fs_conv(out, in, w, b, c->n, c->cin, c->h, c->w, c->cout, out_size(c->h, v->kh, v->sh, v->pt, v->pb, v->dh),
                 out_size(c->w, v->kw, v->sw, v->pl, v->pr, v->dw), v, relu);
}

static void conv3x3(float *out, const float *in, const float *w, const float *b, const conv_case *c, int relu)
{
    vggc_fs_conv3x3(out, in, w, b, NULL, c->n, c->cin, c->h, c->w, c->cout, relu, 0);
}

static void conv1x1(float *out, const float *in, const float *w, const float *b, const conv_case *c, int relu)
{
    vggc_fs_conv1x1(out, in, w, b, c->n, c->cin, c->h * c->w, c->cout, relu);
}

Test(freestanding, the_any_window_conv_is_its_loop_nest_with_strides_padding_and_dilation)
{
    static const conv_case cases[] = {
        {1, 1, 32, 32, 6, {5, 5, 1, 1, 0, 0, 0, 0, 1, 1}},   /* LeNet's first */
        {2, 3, 19, 23, 5, {11, 11, 4, 4, 2, 2, 2, 2, 1, 1}}, /* AlexNet's first, small */
        {1, 5, 9, 7, 3, {3, 2, 2, 1, 1, 0, 2, 1, 2, 1}},     /* asymmetric padding, dilation */
        {3, 2, 1, 1, 4, {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}},     /* a 1x1 map */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_conv("direct", &cases[i], (int)(i % 2), direct);
}

Test(freestanding, conv3x3_is_its_loop_nest_on_odd_maps)
{
    static const int maps[][2] = {{1, 1}, {1, 5}, {5, 1}, {2, 2}, {3, 4}, {7, 9}, {14, 14}, {28, 3}};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        conv_case c = {(int)(i % 3) + 1, (int)i % 5 + 1, maps[i][0], maps[i][1], 3 + (int)i % 4,
                       {3, 3, 1, 1, 1, 1, 1, 1, 1, 1}};
        check_conv("conv3x3", &c, (int)(i % 2), conv3x3);
    }
}

Test(freestanding, conv3x3_with_its_pool_is_the_conv_then_a_2x2_max_pool)
{
    static const int maps[][2] = {{2, 2}, {5, 7}, {14, 14}, {3, 2}};
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        int n = 2, cin = 3, cout = 5, h = maps[i][0], w = maps[i][1], oh = h / 2, ow = w / 2;
        float *in = random_floats((size_t)n * cin * h * w, 4), *wt = random_floats((size_t)cout * cin * 9, 5);
        float *bias = random_floats((size_t)cout, 6), *scratch = zeros((size_t)h * w);
        float *full = zeros((size_t)n * cout * h * w), *want = zeros((size_t)n * cout * oh * ow);
        float *got = zeros((size_t)n * cout * oh * ow);
        vggc_fs_conv3x3(got, in, wt, bias, scratch, n, cin, h, w, cout, 1, 1);
        vggc_fs_conv_ref(full, in, wt, bias, n, cin, h, w, cout, h, w, &(vggc_fs_window){3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, 1);
        vggc_fs_maxpool(want, full, n, cout, h, w, oh, ow, &(vggc_fs_window){2, 2, 2, 2, 0, 0, 0, 0, 1, 1});
        expect_close("conv3x3 + pool", got, want, (size_t)n * cout * oh * ow, 1e-5, 1e-5);
        free(in), free(wt), free(bias), free(scratch), free(full), free(want), free(got);
    }
}

Test(freestanding, the_pointwise_conv_is_its_loop_nest_for_every_channel_remainder)
{
    for (int cin = 1; cin <= 9; cin += 2) {
        conv_case c = {2, cin, 3, 5, 7, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1}};
        check_conv("conv1x1", &c, cin % 3 == 0, conv1x1);
    }
}

/* ---- fully connected ------------------------------------------------------------------------------------- */

Test(freestanding, the_linear_layer_is_its_loop_nest_for_every_row_remainder)
{
    for (int out_f = 1; out_f <= 11; out_f += 3) {
        int n = 3, in_f = 37;
        float *in = random_floats((size_t)n * in_f, 7), *wt = random_floats((size_t)out_f * in_f, 8);
        float *bias = random_floats((size_t)out_f, 9), *got = zeros((size_t)n * out_f), *want = zeros((size_t)n * out_f);
        float *host = zeros((size_t)n * out_f);
        vggc_fs_linear(got, in, wt, bias, n, in_f, out_f, out_f % 2);
        vggc_fs_linear_ref(want, in, wt, bias, n, in_f, out_f, out_f % 2);
        vggc_linear_ref(host, in, wt, bias, n, in_f, out_f, out_f % 2);
        expect_close("vggc_fs_linear", got, want, (size_t)n * out_f, 1e-5, 1e-5);
        expect_close("vggc_fs_linear_ref against the host's", want, host, (size_t)n * out_f, 1e-5, 1e-5);
        free(in), free(wt), free(bias), free(got), free(want), free(host);
    }
}

/* ---- pools and the rest, against the host runtime -------------------------------------------------------- */

Test(freestanding, pools_are_the_host_runtimes_in_floor_and_ceil_mode_with_padding)
{
    static const vggc_fs_window wins[] = {
        {2, 2, 2, 2, 0, 0, 0, 0, 1, 1}, {3, 3, 2, 2, 0, 0, 0, 0, 1, 1}, {3, 2, 2, 1, 1, 1, 1, 0, 1, 1},
        {2, 2, 2, 2, 1, 1, 1, 1, 1, 1}, {3, 3, 1, 1, 1, 1, 1, 1, 2, 2},
    };
    int n = 2, c = 3, h = 9, w = 8;
    float *in = random_floats((size_t)n * c * h * w, 10);
    in[5] = NAN; /* a NaN wins a max, as in PyTorch */
    for (size_t i = 0; i < sizeof wins / sizeof wins[0]; i++) {
        const vggc_fs_window *v = &wins[i];
        const vggc_window hw = {v->kh, v->kw, v->sh, v->sw, v->pt, v->pl, v->pb, v->pr, v->dh, v->dw};
        int oh = out_size(h, v->kh, v->sh, v->pt, v->pb, v->dh), ow = out_size(w, v->kw, v->sw, v->pl, v->pr, v->dw);
        size_t nout = (size_t)n * c * oh * ow;
        float *got = zeros(nout), *want = zeros(nout);
        vggc_fs_maxpool(got, in, n, c, h, w, oh, ow, v);
        vggc_maxpool2d_ref(want, in, n, c, h, w, oh, ow, &hw);
        expect_same_bits("vggc_fs_maxpool", got, want, nout);
        for (int count_pad = 0; v->dh == 1 && count_pad <= 1; count_pad++) {
            vggc_fs_avgpool(got, in + 8, n, c, h, w - 1, oh, out_size(w - 1, v->kw, v->sw, v->pl, v->pr, 1), v,
                            count_pad);
            vggc_avgpool2d_ref(want, in + 8, n, c, h, w - 1, oh, out_size(w - 1, v->kw, v->sw, v->pl, v->pr, 1), &hw,
                               count_pad);
            expect_close("vggc_fs_avgpool", got, want, (size_t)n * c * oh * out_size(w - 1, v->kw, v->sw, v->pl, v->pr, 1),
                         1e-6, 1e-6);
        }
        free(got), free(want);
    }
    free(in);
}

Test(freestanding, the_adaptive_pool_softmax_relu_and_lrn_are_the_host_runtimes)
{
    int n = 2, c = 7, h = 9, w = 5;
    size_t count = (size_t)n * c * h * w;
    float *in = random_floats(count, 11), *got = zeros(count), *want = zeros(count);
    vggc_fs_adaptive_avgpool(got, in, n, c, h, w, 4, 3);
    vggc_adaptive_avgpool(want, in, n, c, h, w, 4, 3);
    expect_close("vggc_fs_adaptive_avgpool", got, want, (size_t)n * c * 12, 1e-6, 1e-6);
    vggc_fs_softmax(got, in, n, c * h * w);
    vggc_softmax(want, in, n, c * h * w);
    expect_close("vggc_fs_softmax", got, want, count, 1e-6, 1e-7);
    vggc_fs_relu(got, in, (int)count);
    vggc_relu(want, in, 1, (int)count);
    expect_same_bits("vggc_fs_relu", got, want, count);
    vggc_fs_lrn(got, in, n, c, h, w, 5, 1e-4f, 0.75f, 2.0f);
    vggc_lrn(want, in, n, c, h, w, 5, 1e-4f, 0.75f, 2.0f);
    expect_close("vggc_fs_lrn", got, want, count, 1e-6, 1e-7);
    free(in), free(got), free(want);
}

Test(freestanding, the_add_and_the_concat_copy_are_the_host_runtimes)
{
    int n = 2, ctotal = 11, c0 = 3, c = 5, h = 3, w = 7;
    size_t count = (size_t)n * c * h * w, total = (size_t)n * ctotal * h * w;
    float *a = random_floats(count, 12), *b = random_floats(count, 13), *got = zeros(total), *want = zeros(total);
    a[4] = NAN; /* NaN stays NaN through the ReLU, as torch.relu */
    for (int relu = 0; relu <= 1; relu++) {
        vggc_fs_add(got, a, b, (int)count, relu);
        vggc_add_ref(want, a, b, count, relu);
        expect_same_bits(relu ? "vggc_fs_add, relu" : "vggc_fs_add", got, want, count);
    }
    for (size_t i = 0; i < total; i++) got[i] = want[i] = -1.0f; /* the other channels must stay as they are */
    vggc_fs_concat_copy(got, b, n, ctotal, c0, c, h * w);
    vggc_concat_copy_ref(want, b, n, ctotal, c0, c, h, w);
    expect_same_bits("vggc_fs_concat_copy", got, want, total);
    free(a), free(b), free(got), free(want);
}

/* ---- the folder's rules -------------------------------------------------------------------------------------- */

static const char *const CPUS[][2] = {
    {"cortex-m4", "-mfpu=fpv4-sp-d16"}, {"cortex-m7", "-mfpu=fpv5-sp-d16"}, {"cortex-m33", "-mfpu=fpv5-sp-d16"}};
static const char *const FILES[] = {"conv", "dense", "pool", "activation", "graph"};

static void require_arm_gcc(void)
{
    cmd_result r = run("command -v arm-none-eabi-gcc");
    int found = r.status == 0;
    cmd_free(&r);
    if (!found) cr_skip("arm-none-eabi-gcc is not installed (tools/install-deps installs gcc-arm-none-eabi)");
}

/* Compile one file for one Cortex-M into dir (object and .su), -ffreestanding and warnings as errors. */
static void compile(const char *dir, const char *cpu, const char *fpu, const char *file)
{
    cmd_result r = run("cd '%s' && arm-none-eabi-gcc -std=c11 -O2 -mcpu=%s -mthumb -mfloat-abi=hard %s -ffreestanding "
                       "-Wall -Wextra -Werror -pedantic -fstack-usage -c '%s/runtime/freestanding/%s.c' -o %s.o",
                       dir, cpu, fpu, VGGC_SOURCE_DIR, file, file);
    cr_assert_eq(r.status, 0, "%s.c does not compile freestanding for %s:\n%s", file, cpu, r.err);
    cmd_free(&r);
}

/* check(dir, cpu, file) on every file compiled for every Cortex-M, in a fresh directory */
static void each_object(void (*check)(const char *dir, const char *cpu, const char *file))
{
    require_arm_gcc();
    char *dir = make_temp_dir("freestanding");
    for (size_t c = 0; c < 3; c++)
        for (size_t f = 0; f < sizeof FILES / sizeof *FILES; f++) {
            compile(dir, CPUS[c][0], CPUS[c][1], FILES[f]);
            check(dir, CPUS[c][0], FILES[f]);
        }
    remove_tree(dir);
    free(dir);
}

static void links_only_memory_and_math(const char *dir, const char *cpu, const char *file)
{
    cmd_result r = run("cd '%s' && arm-none-eabi-nm -u %s.o | awk '{print $2}' | "
                       "grep -vxE 'memcpy|memset|expf|powf' || true", dir, file);
    cr_expect_str_empty(r.out, "%s.c for %s needs more than memcpy, memset, expf and powf:\n%s", file, cpu, r.out);
    cmd_free(&r);
}

/* Each kernel's frame plus the largest frame of a helper of its file that the compiler kept out of line. */
static void stack_within_bound(const char *dir, const char *cpu, const char *file)
{
    cmd_result r = run("cd '%s' && awk -F'\\t' '{split($1, p, \":\"); k = p[4] ~ /^vggc_fs_/; "
                       "if (k && $2 > kern) kern = $2; if (!k && $2 > help) help = $2} "
                       "END {print kern + help}' %s.su", dir, file);
    int bytes = atoi(r.out);
    cr_expect(bytes > 0 && bytes <= VGGC_FS_STACK_BYTES, "%s.c for %s: a kernel and its helpers take %d bytes of "
              "stack (VGGC_FS_STACK_BYTES is %d)", file, cpu, bytes, VGGC_FS_STACK_BYTES);
    cmd_free(&r);
}

Test(freestanding, every_file_compiles_freestanding_and_links_only_memcpy_memset_expf_and_powf)
{
    each_object(links_only_memory_and_math);
}

Test(freestanding, every_kernels_stack_is_within_vggc_fs_stack_bytes)
{
    each_object(stack_within_bound);
}
