/* helpers.h — what the vggc tests share: comparing tensors, running commands, temporary directories. */
#ifndef VGGC_TEST_HELPERS_H
#define VGGC_TEST_HELPERS_H

#include <stddef.h>

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

/* Deterministic pseudo-random floats in [-scale, scale). */
void fill_random(float *x, size_t n, unsigned seed, float scale);

#endif
