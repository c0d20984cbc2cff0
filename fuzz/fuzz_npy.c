/* fuzz_npy.c — libFuzzer target: vggc_npy_parse on arbitrary bytes; the result is freed on success.
 * Build and run with fuzz/run; not part of the default build.
 */
#include "vggc.h"
#include "check_error.h"

#include <stdlib.h>
#include <string.h>

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
