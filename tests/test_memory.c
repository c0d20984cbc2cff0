/* test_memory.c — what a runner holds while it loads and runs: its peak RSS against what the report declares.
 *
 * vggc builds vgg19_bn at 3x32x32 with a 64-wide head; tools/vggc_torch.py exports it with seeded weights (an
 * 80 MB safetensors); the runner loads the file and runs one image while this test waits for it with wait4, which
 * gives the child's peak RSS (ru_maxrss). Two bounds, both with the 64 MiB of slack for code, libraries,
 * threads, the loader's 8 MiB chunk of the mapped file and its one temporary conv weight:
 *
 *   - the report's declaration: parameters + prepared weights + static buffers + 64 MiB (issue 11);
 *   - what the runner keeps: the same minus the raw weights of the layers that run on a prepared copy (every conv
 *     and linear layer) + 64 MiB.
 *
 * Why the model has teeth: every conv of it runs on a prepared copy (the report says so and the test checks it),
 * and the convs' raw weights alone are 20,018,880 floats, 76.4 MiB, more than the slack. This runner peaks at about
 * 126 MiB against bounds of 175.6 (kept) and 251.9 MiB (declared). Each change undone by hand (2026-12-01) made it
 * fail: raw conv weights kept beside the prepared copies 202 MiB; the file read whole 201 MiB; the file mapped but
 * its pages never let go 201 MiB (each over the kept bound); vggc before these changes, which did the first two,
 * 268 MiB, over both bounds. The test takes about 5 s, most of it the PyTorch export.
 *
 * Under the sanitizers RSS measures ASan's shadow memory and quarantine, not the runner, so the test is skipped. */
#define _DEFAULT_SOURCE /* wait4 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "vggc.h"

#define MODEL "vgg19_bn --input 3x32x32 --avgpool none --classifier 64 --classes 10"
#define CLASSES 10
#define SLACK ((long long)64 << 20) /* bytes */

/* vgg19's convs (cfg E; 0 is a max pool): the raw conv weights, out x in x 3 x 3 each, and the 64-wide head's
 * linear weights (512 -> 64 -> 64 -> 10), in floats. */
static long long vgg19_raw_weights(void)
{
    static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
    long long sum = 0;
    int cin = 3;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++)
        if (cfg[i]) sum += (long long)cfg[i] * cin * 9, cin = cfg[i];
    return sum + 512 * 64 + 64 * 64 + 64 * CLASSES;
}

/* Run argv to its end; its peak RSS in bytes (wait4's ru_maxrss, in KiB on Linux). */
static long long peak_rss_of(char *const argv[])
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork failed");
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    cr_assert_eq(wait4(pid, &status, 0, &usage), pid, "wait4 failed");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s exited with status %d", argv[0], status);
    return (long long)usage.ru_maxrss * 1024;
}

/* dir/y.npy holds CLASSES finite logits: the measured run did load and run the net. */
static void expect_logits(const char *dir)
{
    char path[4200];
    float *y = NULL;
    int64_t shape[4];
    int rank = 0;
    vggc_error err = {""};
    snprintf(path, sizeof path, "%s/y.npy", dir);
    cr_assert_eq(vggc_npy_read(path, &y, shape, &rank, &err), 0, "%s", err.msg);
    cr_assert(rank == 2 && shape[0] == 1 && shape[1] == CLASSES, "%s: not (1, %d) logits", path, CLASSES);
    int finite = 1;
    for (int i = 0; i < CLASSES; i++) finite &= isfinite(y[i]) != 0;
    free(y);
    cr_assert(finite, "%s: logits that are not finite", path);
}

Test(memory, a_vgg19_bn_runner_peaks_below_what_it_keeps_plus_64_mib, .timeout = 600)
{
    if (VGGC_TEST_SANITIZED) {
        printf("memory: skipped: peak RSS under ASan measures its shadow memory, not the runner\n");
        cr_skip_test("peak RSS under ASan measures its shadow memory, not the runner");
    }
    char *dir = make_temp_dir("memory");
    cmd_result r = run("'%s' report " MODEL " --json > '%s/net.json'", VGGC_EXE, dir);
    cr_assert_eq(r.status, 0, "vggc report failed:\n%s", r.err);
    cmd_free(&r);
    char path[4200], runner[4200], weights[4200], input[4200], output[4200];
    snprintf(path, sizeof path, "%s/net.json", dir);
    char *doc = read_text(path);
    cr_assert_not_null(doc, "cannot read %s", path);
    long long declared = json_int(doc, "total_params") * 4 + json_int(doc, "prepared_bytes") + json_int(doc, "static_bytes");
    long long raw = vgg19_raw_weights() * 4, kept = declared - raw;
    cr_assert_null(strstr(doc, "\"algorithm\": \"im2col\""), "a conv runs on its raw weights (im2col):\n%s", doc);
    cr_assert_gt(raw, SLACK, "the raw weights (%lld bytes) must exceed the slack for the test to have teeth", raw);
    free(doc);

    r = run("'%s' '%s/tools/vggc_torch.py' export --model-json '%s/net.json' --seed 0 --weights '%s/w.safetensors'"
            " --input '%s/x.npy'", VGGC_PYTHON, VGGC_SOURCE_DIR, dir, dir, dir);
    cr_assert_eq(r.status, 0, "exporting with PyTorch failed:\n%s", r.err);
    cmd_free(&r);
    r = run("'%s' build " MODEL " --name mem -o '%s'", VGGC_EXE, dir);
    cr_assert_eq(r.status, 0, "vggc build failed:\n%s", r.err);
    cmd_free(&r);

    snprintf(runner, sizeof runner, "%s/mem", dir);
    snprintf(weights, sizeof weights, "%s/w.safetensors", dir);
    snprintf(input, sizeof input, "%s/x.npy", dir);
    snprintf(output, sizeof output, "%s/y.npy", dir);
    char *argv[] = {runner, "--weights", weights, "--input", input, "--output", output, "--threads", "2", NULL};
    long long peak = peak_rss_of(argv);
    expect_logits(dir);
    remove_tree(dir);
    free(dir);
    printf("vgg19_bn at 3x32x32: peak RSS %.1f MiB; declared %.1f MiB, kept %.1f MiB (raw weights %.1f MiB not "
           "kept); bounds + 64 MiB\n", peak / 1048576.0, declared / 1048576.0, kept / 1048576.0, raw / 1048576.0);
    cr_expect_leq(peak, declared + SLACK, "peak RSS %lld bytes > declared %lld + 64 MiB", peak, declared);
    cr_expect_leq(peak, kept + SLACK, "peak RSS %lld bytes > kept %lld + 64 MiB: raw weights kept, or the file "
                  "read whole?", peak, kept);
}
