/* fuzz_npy.c — libFuzzer target: vggc_npy_parse on arbitrary bytes; the result is freed on success.
 * Build and run with fuzz/run; not part of the default build.
 */
#include "vggc.h"

#include <stdlib.h>
#include <string.h>

/* The message contract of vggc_error: NUL-terminated inside msg, not empty on failure, one line (no '\n').
 * With -DFUZZ_STRICT_MESSAGES (fuzz/run --strict) also no control byte at all: '\r', ESC, ... echoed from the input. */
static void check_error(const vggc_error *err)
{
    const char *end = memchr(err->msg, '\0', sizeof err->msg);
    if (!end || end == err->msg) abort();
    for (const char *p = err->msg; p < end; p++) {
        if (*p == '\n') abort();
#ifdef FUZZ_STRICT_MESSAGES
        if ((unsigned char)*p < 0x20 || *p == 0x7f) abort();
#endif
    }
}

/* On success: rank 1..4, positive-or-zero dims, and every one of the product(shape) floats readable. */
static void check_result(const float *data, const int64_t shape[4], int rank)
{
    if (rank < 1 || rank > 4) abort();
    int64_t count = 1;
    for (int d = 0; d < rank; d++) {
        if (shape[d] < 0) abort();
        count *= shape[d];
    }
    volatile float sink = 0.0f;
    for (int64_t i = 0; i < count; i++) sink += data[i]; /* ASan catches a short allocation */
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *out = NULL;
    int64_t shape[4] = {0, 0, 0, 0};
    int rank = 0;
    vggc_error err;
    memset(err.msg, 'X', sizeof err.msg);
    if (vggc_npy_parse(data, size, &out, shape, &rank, &err) == 0) check_result(out, shape, rank);
    else check_error(&err);
    free(out);
    return 0;
}
