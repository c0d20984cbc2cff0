/* test_embed_vgg11.c — classifiers whose weights travel inside the executable. tests/projects/embedded, built against
 * this vggc installed in a temporary prefix, puts VGG11 at 3x224x224 (torchvision's vgg11 with seeded weights, a
 * 531 MB safetensors exported by tools/vggc_torch.py) and the trained Fashion-MNIST net into one program with
 * vggc_add_classifier(... WEIGHTS file EMBED). With both weights files deleted the program still runs: its VGG11
 * logits match PyTorch's float64 reference and its Fashion-MNIST classes match PyTorch's on all 10,000 test images. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"
#include "vggc.h"

#define CLASSES 1000
#define MAX_REL_ERROR 1e-5  /* normwise, against the float64 reference */
#define MAX_BUILD_SECONDS 120 /* the whole project on a busy disk; a 531 MB C array instead of .incbin: far longer */
#define N_FASHION 10000

static void expect_ok(cmd_result *r, const char *what)
{
    cr_assert_eq(r->status, 0, "%s failed (status %d):\n%s\n%s", what, r->status, r->out, r->err);
    cmd_free(r);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long long file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: cannot stat", path);
    return (long long)st.st_size;
}

/* dir/vgg11.safetensors, dir/x.npy (1, 3, 224, 224) and dir/ref.npy, the float64 logits; then the other inputs:
 * dir/fashion_vgg.safetensors (a copy, to delete) and dir/images.idx (the test images, uncompressed). */
static void write_inputs(const char *dir)
{
    cmd_result r = run("'%s' '%s/tools/vggc_torch.py' export --torchvision vgg11 --seed 0"
                       " --weights '%s/vgg11.safetensors' --input '%s/x.npy' --reference '%s/ref.npy'",
                       VGGC_PYTHON, VGGC_SOURCE_DIR, dir, dir, dir);
    expect_ok(&r, "exporting vgg11 with PyTorch (tools/vggc_torch.py)");
    r = run("cp '%s' '%s/fashion_vgg.safetensors'", FASHION_WEIGHTS, dir);
    expect_ok(&r, "copying the Fashion-MNIST weights");
    r = run("gzip -dc '%s/t10k-images-idx3-ubyte.gz' > '%s/images.idx'", FASHION_DATASET, dir);
    expect_ok(&r, "unpacking the Fashion-MNIST test images (Debian's package dataset-fashion-mnist)");
}

/* Install this vggc into dir/prefix, configure and build tests/projects/embedded against it in dir/build; the
 * build's seconds. */
static double build_embedded(const char *dir)
{
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/prefix", dir);
    cmd_result r = run("'%s' --install '%s' --prefix '%s'", VGGC_CMAKE, VGGC_BUILD_DIR, prefix);
    expect_ok(&r, "cmake --install");
    r = run("'%s' -S '%s/tests/projects/embedded' -B '%s/build' -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH='%s'"
            " -DVGG11_WEIGHTS='%s/vgg11.safetensors' -DFASHION_MODEL='%s'"
            " -DFASHION_WEIGHTS='%s/fashion_vgg.safetensors'",
            VGGC_CMAKE, VGGC_SOURCE_DIR, dir, prefix, dir, FASHION_MODEL, dir);
    expect_ok(&r, "configuring tests/projects/embedded");
    double t0 = now();
    r = run("'%s' --build '%s/build' -j2", VGGC_CMAKE, dir);
    double seconds = now() - t0;
    expect_ok(&r, "building tests/projects/embedded");
    return seconds;
}

/* The n values of a float64 .npy of shape (1, n), as vggc_torch.py writes references (little-endian, as the host). */
static void read_reference(const char *path, double *want, size_t n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: cannot open", path);
    unsigned char pre[10];
    cr_assert(fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY\x01", 7) == 0, "%s: not a version 1 .npy", path);
    size_t len = (size_t)pre[8] | (size_t)pre[9] << 8;
    char header[65536], shape[64];
    cr_assert(fread(header, 1, len, f) == len, "%s: truncated header", path);
    header[len] = '\0';
    snprintf(shape, sizeof shape, "'shape': (1, %zu)", n);
    cr_assert(strstr(header, "'descr': '<f8'") && strstr(header, "'fortran_order': False") && strstr(header, shape),
              "%s: header %s(expected float64, C order, shape (1, %zu))", path, header, n);
    cr_assert(fread(want, sizeof *want, n, f) == n, "%s: fewer than %zu values", path, n);
    fclose(f);
}

/* dir/y.npy, the program's logits, against dir/ref.npy: normwise relative error and the top-1 class. */
static void expect_vgg11_matches_pytorch(const char *dir)
{
    char path[4200];
    float *got;
    int64_t shape[4];
    int rank;
    vggc_error err;
    snprintf(path, sizeof path, "%s/y.npy", dir);
    cr_assert_eq(vggc_npy_read(path, &got, shape, &rank, &err), 0, "%s", err.msg);
    cr_assert(rank == 2 && shape[0] == 1 && shape[1] == CLASSES, "%s: not (1, %d) logits", path, CLASSES);
    static double want[CLASSES];
    snprintf(path, sizeof path, "%s/ref.npy", dir);
    read_reference(path, want, CLASSES);
    double diff = 0, norm = 0;
    size_t top = 0, want_top = 0;
    for (size_t i = 0; i < CLASSES; i++) {
        double d = (double)got[i] - want[i];
        diff += d * d;
        norm += want[i] * want[i];
        top = got[i] > got[top] ? i : top;
        want_top = want[i] > want[want_top] ? i : want_top;
    }
    double error = sqrt(diff / norm);
    printf("vgg11_224 (embedded): normwise relative error %.3g against PyTorch's float64 logits; top-1 %zu, "
           "PyTorch's %zu\n", error, top, want_top);
    free(got);
    cr_expect_leq(error, MAX_REL_ERROR, "vgg11_224: normwise relative error %.3g (expected at most %g)", error,
                  MAX_REL_ERROR);
    cr_expect_eq(top, want_top, "vgg11_224: top-1 class %zu, PyTorch's %zu", top, want_top);
}

/* The whole file, which must be n bytes; malloc'ed. */
static unsigned char *read_bytes(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: cannot open", path);
    unsigned char *b = malloc(n + 1);
    size_t got = fread(b, 1, n + 1, f);
    fclose(f);
    cr_assert_eq(got, n, "%s: %zu bytes (expected %zu)", path, got, n);
    return b;
}

/* dir/classes.bin, the program's class for each test image, against PyTorch's predictions. */
static void expect_fashion_matches_pytorch(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/classes.bin", dir);
    unsigned char *got = read_bytes(path, N_FASHION), *want = read_bytes(FASHION_PREDICTIONS, N_FASHION);
    int agree = 0;
    for (int i = 0; i < N_FASHION; i++) {
        agree += got[i] == want[i];
        if (got[i] != want[i] && i + 1 - agree <= 5)
            cr_log_error("fashion_vgg: image %d: class %d, PyTorch's %d", i, got[i], want[i]);
    }
    printf("fashion_vgg (embedded): %d/%d classes agree with PyTorch\n", agree, N_FASHION);
    free(got);
    free(want);
    cr_expect_eq(agree, N_FASHION, "fashion_vgg: %d of %d classes differ from PyTorch's", N_FASHION - agree,
                 N_FASHION);
}

static void delete_file(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(remove(path), 0, "cannot delete %s", path);
}

/* The test's directory holds about 2 GB (weights, object, archive, executable): removed even when the test fails. */
static char *dir;

static void remove_dir(void)
{
    if (dir) remove_tree(dir);
    free(dir);
}

Test(embed, vgg11_224_and_fashion_vgg_built_into_one_executable_run_without_weights_files_and_match_pytorch,
     .fini = remove_dir)
{
    dir = make_temp_dir("embed");
    char exe[4200], weights[4200];
    snprintf(exe, sizeof exe, "%s/build/embedded", dir);
    snprintf(weights, sizeof weights, "%s/vgg11.safetensors", dir);
    write_inputs(dir);
    double seconds = build_embedded(dir);
    long long weights_bytes = file_size(weights), exe_bytes = file_size(exe);
    printf("embedded: built in %.1f s (%lld bytes of VGG11 weights, executable %lld bytes)\n", seconds, weights_bytes,
           exe_bytes);
    cr_expect_gt(exe_bytes, weights_bytes, "the executable (%lld bytes) cannot hold the weights (%lld)", exe_bytes,
                 weights_bytes);
    cr_expect_leq(seconds, MAX_BUILD_SECONDS, "building took %.1f s (expected at most %d)", seconds, MAX_BUILD_SECONDS);
    char source[4200];
    snprintf(source, sizeof source, "%s/build/vggc/fashion_vgg/fashion_vgg.c", dir);
    char *text = read_text(source);
    cr_expect(text && strstr(text, "vggc_conv_direct(") && !strstr(text, "vggc_conv_winograd("),
              "%s: CONV direct did not reach vggc (no direct conv calls, or Winograd ones)", source);
    free(text);
    delete_file(dir, "vgg11.safetensors");
    delete_file(dir, "fashion_vgg.safetensors");
    /* One OpenMP thread: this test is about the weights. On a busy machine two threads spinning at every layer's
     * barrier took 65 s for the 10,000 small Fashion-MNIST batches, one thread 4 s. */
    cmd_result r = run("cd / && OMP_NUM_THREADS=1 '%s' '%s/x.npy' '%s/y.npy' '%s/images.idx' '%s/classes.bin'", exe,
                       dir, dir, dir, dir);
    printf("%s", r.out);
    expect_ok(&r, "running the embedded program without weights files");
    expect_vgg11_matches_pytorch(dir);
    expect_fashion_matches_pytorch(dir);
}
