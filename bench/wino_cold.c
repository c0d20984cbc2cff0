/* wino_cold.c — one Winograd layer at batch N (1 by default) with its transformed weights rotated among COPIES
 * copies, so each call reads them from memory as in a forward pass (bench/layers.c reuses one copy, which the L3
 * partly keeps): the case of the 14x14 layers at batch 1, which stream their weights at 6-15 GB/s.
 *
 *   cmake --build build --target vggc_runtime
 *   gcc -O2 -fopenmp -Iruntime bench/wino_cold.c build/runtime/libvggc_runtime.a -lopenblas -lm -o wino_cold
 *   OMP_NUM_THREADS=2 ./wino_cold [C [HW [M [N]]]]      (C input = output channels; defaults 512 14 4 1)
 *
 * Every buffer is on huge pages where the system grants them (huge_floats.h, as the loader puts the weights).
 * Prints the CPU ms per call of each stage (vggc_winograd_timing), then the median and best wall ms of RUNS calls,
 * GFLOP/s counted as a direct convolution would, and the rate the weights were read at. Not part of the build or
 * ctest.
 */
#define _POSIX_C_SOURCE 200809L
#include "huge_floats.h"
#include "vggc.h"
#include "winograd_internal.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { COPIES = 6, RUNS = 30, WARM = 3 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float *floats(size_t count) { return huge_floats("wino_cold", count); }

int main(int argc, char **argv)
{
    int c = argc > 1 ? atoi(argv[1]) : 512, hw = argc > 2 ? atoi(argv[2]) : 14, m = argc > 3 ? atoi(argv[3]) : 4;
    int n = argc > 4 ? atoi(argv[4]) : 1;
    if (c < 1 || hw < 1 || (m < 2 || m > 6) || n < 1 || n > 64) {
        fprintf(stderr, "usage: wino_cold [C >= 1 [HW >= 1 [M = 2..6 [N = 1..64]]]]\n");
        return 2;
    }
    size_t u_floats = VGGC_WINOGRAD_WEIGHT_FLOATS(c, c, m), in_floats = VGGC_BLOCKED_FLOATS(n, c, hw, hw);
    float *raw = floats((size_t)c * c * 9);                         /* (c, c, 3, 3) */
    for (size_t i = 0; i < (size_t)c * c * 9; i++) raw[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    float *u[COPIES];                                               /* each VGGC_WINOGRAD_WEIGHT_FLOATS(c, c, m) */
    for (int k = 0; k < COPIES; k++) vggc_winograd_pack(u[k] = floats(u_floats), raw, c, c, m);
    float *in = floats(in_floats), *out = floats(in_floats);        /* blocked (n, c, hw, hw) */
    for (size_t i = 0; i < in_floats; i++) in[i] = (float)(i % 7) - 3.0f;
    float *bias = calloc((size_t)c, sizeof *bias);                  /* (c) */
    float *work = floats(VGGC_WINOGRAD_WORK_FLOATS(n, c, hw, hw, c, m));

    vggc_winograd_timing(1);
    for (int r = 0; r < RUNS; r++) vggc_conv_winograd(out, in, u[r % COPIES], bias, work, n, c, hw, hw, c, m, 0);
    vggc_winograd_times cpu = vggc_winograd_take_times();
    vggc_winograd_timing(0);
    printf("cpu ms per call: input %.3f  gemm %.3f  output %.3f\n", cpu.input * 1e3 / RUNS, cpu.gemm * 1e3 / RUNS,
           cpu.output * 1e3 / RUNS);

    double t[RUNS];
    for (int r = -WARM; r < RUNS; r++) {
        double t0 = now();
        vggc_conv_winograd(out, in, u[(r + WARM) % COPIES], bias, work, n, c, hw, hw, c, m, 0);
        if (r >= 0) t[r] = now() - t0;
    }
    qsort(t, RUNS, sizeof t[0], by_value);
    double flops = 2.0 * c * c * 9 * hw * hw * n, med = t[RUNS / 2];
    printf("%d->%d @%d n=%d F(%dx%d), %s row, %d threads: median %.3f ms (best %.3f), %.1f GFLOP/s direct-equivalent, "
           "weights %.1f MB read at %.1f GB/s\n", c, c, hw, n, m, m, vggc_isa(), omp_get_max_threads(), med * 1e3,
           t[0] * 1e3, flops / med / 1e9, (double)u_floats * 4 / 1e6, (double)u_floats * 4 / med / 1e9);
    return 0;
}
