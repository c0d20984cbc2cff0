/* test_built_in.c — host builds with their weights built in at generate time (`vggc build MODEL --weights W`): the
 * runner needs no weights file and gives, bit for bit, what the runner that loads W computes (the same loader checks
 * and folds at generate time, the runtime prepares its copies before main), on every conv path. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FASHION VGGC_SOURCE_DIR "/models/fashion_vgg"

/* A random float32 input of shape (1, c, hw, hw) at path. */
static void write_input(const char *path, int c, int hw)
{
    float *x = malloc(sizeof *x * (size_t)(c * hw * hw));
    cr_assert_not_null(x);
    fill_random(x, (size_t)(c * hw * hw), 3, 2.0f);
    vggc_error err = {""};
    cr_assert_eq(vggc_npy_write(path, x, 4, (const int64_t[]){1, c, hw, hw}, &err), 0, "%s", err.msg);
    free(x);
}

/* MODEL with --conv conv built twice in dir, with the weights W built in and loading them, then both run on one
 * random (1, c, hw, hw) input: the same bits, classes outputs. */
static void expect_same_as_loading_in(const char *dir, const char *model, const char *name, const char *weights,
                                      const char *conv, int c, int hw, int classes)
{
    cmd_result r = run("cd '%s' && mkdir in load && '%s' build '%s' --conv %s --weights '%s' -o in && "
                       "'%s' build '%s' --conv %s -o load", dir, VGGC_EXE, model, conv, weights, VGGC_EXE, model, conv);
    cr_assert_eq(r.status, 0, "the builds failed: %s", r.err);
    cmd_free(&r);
    char x[4200];
    snprintf(x, sizeof x, "%s/x.npy", dir);
    write_input(x, c, hw);
    /* the built-in runner runs with its .bin deleted: the weights are in the executable */
    r = run("cd '%s' && rm in/%s_weights.bin && in/%s --input x.npy --output y_in.npy && "
            "load/%s --weights '%s' --input x.npy --output y_load.npy", dir, name, name, name, weights);
    cr_assert_eq(r.status, 0, "a runner failed: %s", r.err);
    cmd_free(&r);
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/y_in.npy", dir);
    snprintf(b, sizeof b, "%s/y_load.npy", dir);
    float *ya, *yb;
    int64_t sa[4], sb[4];
    int ra, rb;
    vggc_error err;
    cr_assert_eq(vggc_npy_read(a, &ya, sa, &ra, &err), 0, "%s", err.msg);
    cr_assert_eq(vggc_npy_read(b, &yb, sb, &rb, &err), 0, "%s", err.msg);
    cr_assert(ra == 2 && rb == 2 && sa[1] == classes && sb[1] == classes, "the outputs are not (1, %d)", classes);
    expect_same_bits(conv, ya, yb, (size_t)classes);
    free(ya), free(yb);
}

/* The Fashion-MNIST net with --conv conv, built in and loading. */
static void expect_same_as_loading(const char *conv)
{
    char *dir = make_temp_dir("built-in");
    expect_same_as_loading_in(dir, FASHION ".lua", "fashion_vgg", FASHION ".safetensors", conv, 1, 28, 10);
    remove_tree(dir);
    free(dir);
}

Test(built_in, weights_built_in_give_the_loading_runners_output_bit_for_bit_with_direct_and_winograd_convs)
{
    expect_same_as_loading("auto");
}

Test(built_in, weights_built_in_give_the_loading_runners_output_bit_for_bit_with_im2col_convs)
{
    expect_same_as_loading("im2col");
}

/* LeNet-5's state_dict as a safetensors file of random values (its arrays: 150, 6, 2400, 16, ... floats). */
static void write_lenet5_weights(const char *path)
{
    static const random_tensor t[] = {
        {"layer1.conv1.weight", 4, {6, 1, 5, 5}, 0.3f}, {"layer1.conv1.bias", 1, {6}, 0.3f},
        {"layer2.conv2.weight", 4, {16, 6, 5, 5}, 0.3f}, {"layer2.conv2.bias", 1, {16}, 0.3f},
        {"layer3.fc1.weight", 2, {120, 400}, 0.3f},      {"layer3.fc1.bias", 1, {120}, 0.3f},
        {"layer3.fc2.weight", 2, {84, 120}, 0.3f},       {"layer3.fc2.bias", 1, {84}, 0.3f},
        {"layer3.fc3.weight", 2, {10, 84}, 0.3f},        {"layer3.fc3.bias", 1, {10}, 0.3f}};
    write_random_safetensors(path, t, (int)(sizeof t / sizeof t[0]), 20u);
}

/* On the host every array of the built-in blob starts on a 64-byte line (the kernels read whole lines; an FC weight
 * off a line makes every AVX-512 load span two): LeNet-5's 150-float conv1 weight is followed by 10 floats of
 * padding. The offsets are right if the runner gives the loading runner's output. */
Test(built_in, each_built_in_array_starts_on_a_64_byte_line_and_the_runner_gives_the_loading_runners_output)
{
    char *dir = make_temp_dir("built-in");
    char weights[4200];
    snprintf(weights, sizeof weights, "%s/lenet5.safetensors", dir);
    write_lenet5_weights(weights);
    expect_same_as_loading_in(dir, VGGC_SOURCE_DIR "/models/lenet5.lua", "lenet5", weights, "auto", 1, 32, 10);
    cmd_result r = run("cd '%s/in' && grep -oE 'lenet5_weights \\+ [0-9]+' lenet5.c | awk '{print $3 %% 16}' | "
                       "sort -u | tr '\\n' ' '; grep -c 'balign 64' lenet5_weights.S", dir);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "0 1\n", "the arrays' offsets (floats mod 16) and .balign 64 lines: %s", r.out);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

Test(built_in, the_generated_c_stores_no_weight_and_compiles_with_pedantic_warnings_as_errors)
{
    char *dir = make_temp_dir("built-in");
    cmd_result r = run("cd '%s' && '%s' generate " FASHION ".lua --weights " FASHION ".safetensors -o . && "
                       "cc -std=c11 -Wall -Wextra -Werror -pedantic -I'%s/runtime' -c fashion_vgg.c && "
                       "grep -c '^static float' fashion_vgg.c || true", dir, VGGC_EXE, VGGC_SOURCE_DIR);
    cr_assert_eq(r.status, 0, "generate or compile failed: %s", r.err);
    cr_expect_str_eq(r.out, "0\n", "the generated C declares %s writable weight arrays (expected 0: the raw weights "
                     "are const, only the prepared copies are written)", r.out);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}
