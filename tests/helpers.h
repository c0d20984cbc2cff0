/* helpers.h — what the vggc tests share: comparing tensors, running commands, temporary directories. */
#ifndef VGGC_TEST_HELPERS_H
#define VGGC_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

/* Compare got against want elementwise: |got - want| <= atol + rtol * |want|. On failure the Criterion
 * assertion names what, the max abs and rel error, and the first mismatching indices. */
void expect_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol);
/* got and want hold the same bits; otherwise fail naming the count and the first mismatches. */
void expect_same_bits(const char *what, const float *got, const float *want, size_t n);

/* Normwise relative error ||got - want||_2 / ||want||_2, in double. */
double rel_error(const float *got, const float *want, size_t n);

/* A command's exit status (or -1 if it did not exit), its stdout and stderr (malloc'ed, NUL-terminated). */
typedef struct {
    int status;
    char *out;
    char *err;
} cmd_result;

/* Run a shell command line; printf-style. */
cmd_result run(const char *fmt, ...);
void cmd_free(cmd_result *r);

/* A fresh directory under $TMPDIR (or /tmp), removed by remove_tree. */
char *make_temp_dir(const char *tag);
void remove_tree(const char *dir);

/* 1 if path exists. */
int file_exists(const char *path);
/* The whole file, malloc'ed and NUL-terminated, or NULL. */
char *read_text(const char *path);

/* The kernel row named isa (runtime/platform.h: "avx512", "avx2", "generic"), or skip the calling test, naming
 * the instruction set this CPU lacks (Criterion reports it as skipped, not passed). */
struct vggc_kernels;
const struct vggc_kernels *require_isa(const char *isa);

/* One Test per kernel row, named NAME_on_<isa>: body(k) runs on the row where the CPU has it, and the others are
 * reported as skipped by name. A new row of platform.c gets its line here. */
#define TEST_EVERY_ISA(suite, name, body)                                 \
    Test(suite, name##_on_avx512) { body(require_isa("avx512")); }       \
    Test(suite, name##_on_avx2) { body(require_isa("avx2")); }           \
    Test(suite, name##_on_generic) { body(require_isa("generic")); }

/* The integer after `"key": ` (the first one) in a JSON document, failing the test when the key is absent. */
long long json_int(const char *doc, const char *key);

/* count zeroed floats (calloc'ed, at least one), or the calling test fails. */
float *floats(size_t count);

/* Deterministic pseudo-random floats in [-scale, scale). */
void fill_random(float *x, size_t n, unsigned seed, float scale);

/* One float32 tensor of a weights file the tests write: its name, shape and the scale of its random values. */
typedef struct {
    char name[32];
    int rank;
    int64_t shape[4];
    float scale;
} random_tensor;

/* A safetensors file at path holding the n tensors in order, tensor i filled by fill_random(seed + i, its scale),
 * or the calling test fails. */
void write_random_safetensors(const char *path, const random_tensor *t, int n, unsigned seed);

#endif
