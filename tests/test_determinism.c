/* test_determinism.c — the same weights and input give the same output bytes, run after run and whatever the
 * thread count: a runner built by `vggc build` (vgg11 at 3x64x64 with a small head, each conv algorithm and a
 * batch of 3) runs several times at --threads 1, 2 and 3, and every output .npy must equal the first byte for
 * byte; and an image gives the same bytes alone as inside a batch. Only the runner's command line is used, so the
 * test holds for whatever kernels sit behind it; the last tests run the runners once per kernel row of platform.h
 * (VGGC_ISA=<isa> in their environment; the rows this CPU lacks are skipped by name). */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "platform.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "vgg11 --input 3x64x64 --avgpool none --classifier 256 --classes 10"
#define IN_C 3
#define IN_HW 64
#define CLASSES 10
#define RUNS_PER_COUNT 2

/* ---- weights: vgg11's features (cfg A) and a 2048 -> 256 -> 10 head, He-uniform, seeded ----------------- */

/* One tensor of the file, its scale He-uniform from the fan-in. */
static random_tensor he(int rank, int64_t d0, int64_t d1, int fan_in)
{
    random_tensor t = {"", rank, {d0, d1, 3, 3}, sqrtf(6.0f / (float)fan_in)};
    return t;
}

static int vgg11_specs(random_tensor *out)
{
    static const int cfg[] = {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}; /* 0 is a max pool */
    int n = 0, index = 0, cin = IN_C;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (!cfg[i]) {
            index++;
            continue;
        }
        out[n] = he(4, cfg[i], cin, cin * 9);
        snprintf(out[n++].name, 32, "features.%d.weight", index);
        out[n] = he(1, cfg[i], 0, cin * 9);
        snprintf(out[n++].name, 32, "features.%d.bias", index);
        cin = cfg[i], index += 2;
    }
    const int widths[3] = {512 * 2 * 2, 256, CLASSES};
    for (int l = 0; l < 2; l++) {
        out[n] = he(2, widths[l + 1], widths[l], widths[l]);
        snprintf(out[n++].name, 32, "classifier.%d.weight", 3 * l);
        out[n] = he(1, widths[l + 1], 0, widths[l]);
        snprintf(out[n++].name, 32, "classifier.%d.bias", 3 * l);
    }
    return n;
}

static void write_weights(const char *path)
{
    random_tensor s[32];
    write_random_safetensors(path, s, vgg11_specs(s), 1000u);
}

#define IMAGE (IN_C * IN_HW * IN_HW)

/* batch images from one seeded stream, from image first on: image k is the same whatever the batch. */
static void write_images(const char *path, int first, int batch)
{
    size_t n = (size_t)(first + batch) * IMAGE;
    float *x = malloc(n * sizeof *x);
    fill_random(x, n, 77, 1.0f);
    vggc_error err = {""};
    const int64_t shape[4] = {batch, IN_C, IN_HW, IN_HW};
    cr_assert_eq(vggc_npy_write(path, x + (size_t)first * IMAGE, 4, shape, &err), 0, "cannot write the input: %s",
                 err.msg);
    free(x);
}

static void write_input(const char *path, int batch)
{
    write_images(path, 0, batch);
}

/* ---- running and comparing ----------------------------------------------------------------------------- */

/* `vggc build MODEL --batch B [--conv ALGO] --name net -o dir` (vggc's default without algo), the runner's path in
 * out. */
static void build_runner(const char *dir, const char *algo, int batch, char *out, size_t cap)
{
    char conv[64] = "";
    if (algo) snprintf(conv, sizeof conv, "--conv %s", algo);
    cmd_result r = run("'%s' build " MODEL " --batch %d %s --name net -o '%s'", VGGC_EXE, batch, conv, dir);
    cr_assert_eq(r.status, 0, "vggc build (%s, --batch %d) failed:\n%s", algo ? conv : "default --conv", batch, r.err);
    cmd_free(&r);
    snprintf(out, cap, "%s/net", dir);
}

/* Run the runner on dir/input with --threads, the output kept as dir/y-t<threads>-<k>.npy; the logits. */
static float *run_on(const char *runner, const char *dir, const char *input, int threads, int k, int batch)
{
    char y[4200];
    snprintf(y, sizeof y, "%s/y-t%d-%d.npy", dir, threads, k);
    cmd_result r = run("'%s' --weights '%s/w.safetensors' --input '%s/%s' --output '%s' --threads %d", runner, dir, dir,
                       input, y, threads);
    cr_assert_eq(r.status, 0, "the runner failed at --threads %d:\n%s", threads, r.err);
    cmd_free(&r);
    float *data = NULL;
    int64_t shape[4];
    int rank = 0;
    vggc_error err = {""};
    cr_assert_eq(vggc_npy_read(y, &data, shape, &rank, &err), 0, "cannot read the output: %s", err.msg);
    cr_assert(rank == 2 && shape[0] == batch && shape[1] == CLASSES, "output of rank %d", rank);
    return data;
}

static float *run_once(const char *runner, const char *dir, int threads, int k, int batch)
{
    return run_on(runner, dir, "x.npy", threads, k, batch);
}

/* got equals want bit for bit; otherwise name the case, the first differing element and the largest difference. */
static void expect_identical(const float *got, const float *want, size_t n, const char *what)
{
    size_t first = n, differ = 0;
    double max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &want[i], sizeof *got) == 0) continue;
        if (first == n) first = i;
        differ++;
        double d = fabs((double)got[i] - (double)want[i]);
        if (d > max_abs) max_abs = d;
    }
    cr_expect_eq(differ, 0, "%s: %zu of %zu logits differ in their bits (max abs %.3g); first [%zu]: %.9g, want %.9g",
                 what, differ, n, max_abs, first, first < n ? (double)got[first] : 0.0,
                 first < n ? (double)want[first] : 0.0);
}

/* The logits are finite and depend on the input: other images give other logits (a net whose features died, or
 * whose weights never reached the kernels, would be trivially deterministic). */
static void expect_informative(const char *runner, const char *dir, const float *y, int batch)
{
    char path[4200];
    size_t n = (size_t)batch * CLASSES;
    for (size_t i = 0; i < n; i++) cr_assert(isfinite(y[i]), "logit %zu is %g", i, (double)y[i]);
    snprintf(path, sizeof path, "%s/other.npy", dir);
    write_images(path, batch, batch);
    float *other = run_on(runner, dir, "other.npy", 1, 99, batch);
    double change = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        change = fmax(change, fabs((double)other[i] - (double)y[i]));
        scale = fmax(scale, fabs((double)y[i]));
    }
    free(other);
    cr_assert_gt(change, 1e-3 * scale, "other images change the logits by at most %.3g (of %.3g): the output does not "
                 "depend on the input, so the test net is degenerate", change, scale);
}

/* Build net with algo at batch, run it RUNS_PER_COUNT times at each of --threads 1, 2 and 3, and compare every
 * output with the first, byte for byte. */
static void expect_deterministic(const char *algo, int batch)
{
    char *dir = make_temp_dir("determinism"), runner[4200], path[4200];
    build_runner(dir, algo, batch, runner, sizeof runner);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    write_weights(path);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    write_input(path, batch);
    size_t n = (size_t)batch * CLASSES;
    float *first = run_once(runner, dir, 1, 0, batch);
    expect_informative(runner, dir, first, batch);
    for (int threads = 1; threads <= 3; threads++)
        for (int k = threads == 1; k < RUNS_PER_COUNT; k++) {
            char what[128];
            float *y = run_once(runner, dir, threads, k, batch);
            snprintf(what, sizeof what, "--conv %s, batch %d, --threads %d, run %d vs --threads 1, run 1",
                     algo ? algo : "(default)", batch, threads, k + 1);
            expect_identical(y, first, n, what);
            free(y);
        }
    free(first);
    remove_tree(dir);
    free(dir);
}

Test(determinism, im2col_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("im2col", 1);
}

Test(determinism, direct_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("direct", 1);
}

Test(determinism, winograd_2x2_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("winograd2", 1);
}

Test(determinism, winograd_3x3_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("winograd3", 1);
}

Test(determinism, winograd_4x4_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("winograd4", 1);
}

Test(determinism, winograd_5x5_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("winograd5", 1);
}

Test(determinism, winograd_6x6_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("winograd6", 1);
}

Test(determinism, auto_chosen_convs_give_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic("auto", 1);
}

/* With vggc's default choice of conv algorithm, as a user gets it. */
Test(determinism, a_batch_of_3_gives_the_same_bytes_across_runs_and_thread_counts)
{
    expect_deterministic(NULL, 3);
}

/* Batching is not allowed to change a result either: with the same algorithms, each image of a batch of 3 gives
 * the bytes it gives alone. (--conv auto may choose differently for batch 1 and batch 3 -- F(2x2) or F(4x4) on
 * small maps, by the tiles per transform point -- so the algorithms are fixed here.) */
static void expect_batch_invariant(const char *algo)
{
    char *dir = make_temp_dir("determinism"), *alone = make_temp_dir("determinism"), runner3[4200], runner1[4200];
    char path[4200];
    build_runner(dir, algo, 3, runner3, sizeof runner3);
    build_runner(alone, algo, 1, runner1, sizeof runner1);
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    write_weights(path);
    snprintf(path, sizeof path, "%s/w.safetensors", alone);
    write_weights(path);
    snprintf(path, sizeof path, "%s/x.npy", dir);
    write_input(path, 3);
    float *batched = run_once(runner3, dir, 2, 0, 3);
    for (int k = 0; k < 3; k++) {
        char what[96];
        snprintf(path, sizeof path, "%s/x.npy", alone);
        write_images(path, k, 1);
        float *y = run_once(runner1, alone, 2, k, 1);
        snprintf(what, sizeof what, "--conv %s: image %d alone vs in the batch", algo, k);
        expect_identical(y, batched + (size_t)k * CLASSES, CLASSES, what);
        free(y);
    }
    free(batched);
    remove_tree(dir), remove_tree(alone);
    free(dir), free(alone);
}

Test(determinism, an_image_gives_the_same_bytes_alone_and_inside_a_batch_of_3_under_each_algorithm)
{
    const char *algos[] = {"im2col", "direct", "winograd2", "winograd3", "winograd4", "winograd5", "winograd6"};
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++) expect_batch_invariant(algos[i]);
}

/* On one kernel row: the default algorithms at batch 1 and 3, thread counts 1, 2 and 3, and an image alone vs in a
 * batch of 3 under F(4x4). */
static void on_row(const vggc_kernels *k)
{
    setenv("VGGC_ISA", k->name, 1);
    expect_deterministic(NULL, 1);
    expect_deterministic(NULL, 3);
    expect_batch_invariant("winograd4");
    unsetenv("VGGC_ISA");
}
TEST_EVERY_ISA(determinism, every_kernel_row_gives_the_same_bytes_across_runs_thread_counts_and_batches, on_row)
