/* isa.c -- print the instruction set vggc's kernels run on here (vggc_isa()), or why VGGC_ISA cannot be honoured.
 *
 *   cc -I runtime bench/isa.c build/runtime/libvggc_runtime.a -fopenmp $(pkg-config --libs openblas) -lm
 *
 * bench/run measures the peak of this path before it builds any model; each model's bench/model_bench.c reports
 * the path again, and bench/run checks that they agree. */
#include <stdio.h>

#include "vggc.h"

int main(void)
{
    vggc_error err;
    if (vggc_check_isa(&err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("%s\n", vggc_isa());
    return 0;
}
