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

static void write_input(const char *path)
{
    float x[28 * 28];
    fill_random(x, 28 * 28, 3, 2.0f);
    vggc_error err = {""};
    cr_assert_eq(vggc_npy_write(path, x, 4, (const int64_t[]){1, 1, 28, 28}, &err), 0, "%s", err.msg);
}

/* The Fashion-MNIST net with --conv conv built twice, with its weights built in and loading them, then both run. */
static void expect_same_as_loading(const char *conv)
{
    char *dir = make_temp_dir("built-in");
    cmd_result r = run("cd '%s' && mkdir in load && '%s' build " FASHION ".lua --conv %s --weights " FASHION
                       ".safetensors -o in && '%s' build " FASHION ".lua --conv %s -o load", dir, VGGC_EXE, conv,
                       VGGC_EXE, conv);
    cr_assert_eq(r.status, 0, "the builds failed: %s", r.err);
    cmd_free(&r);
    char x[4200];
    snprintf(x, sizeof x, "%s/x.npy", dir);
    write_input(x);
    /* the built-in runner runs with its .bin deleted: the weights are in the executable */
    r = run("cd '%s' && rm in/fashion_vgg_weights.bin && in/fashion_vgg --input x.npy --output y_in.npy && "
            "load/fashion_vgg --weights " FASHION ".safetensors --input x.npy --output y_load.npy", dir);
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
    cr_assert(ra == 2 && rb == 2 && sa[1] == 10 && sb[1] == 10, "the outputs are not (1, 10)");
    expect_same_bits(conv, ya, yb, 10);
    free(ya), free(yb);
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
