/* layers.c — time the 3x3 convolutions of VGG11 at 224: Winograd F(2x2) .. F(6x6) on blocked tensors against
 * the im2col + OpenBLAS vggc_conv2d (NCHW), batch 1 and 8, each the median of RUNS runs after one warm-up.
 *
 *   cmake -S . -B build-wino && cmake --build build-wino --target vggc_runtime
 *   gcc -O2 -fopenmp -Iruntime bench/layers.c build-wino/runtime/libvggc_runtime.a -lopenblas -fopenmp -lm \
 *       -o build-wino/layers
 *   OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=2 nice -n 10 build-wino/layers [RUNS [BATCH [ALGOS]]]
 *
 * Per layer and algorithm: median wall ms, GFLOP/s counted as a direct convolution would (2 h w cin cout 9 n / t),
 * and for Winograd the CPU ms all threads spent in the input transform / GEMMs / output transform (medians), with
 * the GEMM stage's GFLOP/s per busy core (2 alpha^2 tiles cinp coutp over its CPU seconds, the FLOPs it really
 * does): other processes on the machine do not inflate it; compare it with the FMA peak of one core. ReLU on, no
 * pool. WINO_PASS_KB, WINO_U_KB, WINO_A_KB in the environment override the Winograd cache budgets (see
 * winograd_internal.h). BATCH (1..64; 0: 1 and 8, the default) sets the batch size, ALGOS the algorithms: digits of
 * 0 (im2col), 2, 3, 4, 5, 6 (Winograd F(m)), "0246" by default. Not part of the CMake build or ctest.
 */
#include "vggc.h"
#include "winograd_internal.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RUNS = 50 };

typedef struct {
    int cin, cout, hw;
} shape;

static const shape VGG11[] = {{3, 64, 224},   {64, 128, 112}, {128, 256, 56}, {256, 256, 56},
                              {256, 512, 28}, {512, 512, 28}, {512, 512, 14}, {512, 512, 14}};

static float *floats(size_t count)
{
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "layers: cannot allocate %zu floats\n", count);
        exit(1);
    }
    unsigned s = 12345;
    for (size_t i = 0; i < count; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, by_value);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* One algorithm on one layer: 0 im2col, 2 to 6 Winograd F(m). Prints one line. */
static void time_layer(const shape *s, int n, int algo, int runs)
{
    int h = s->hw, w = s->hw, m = algo;
    size_t in_count = VGGC_BLOCKED_FLOATS(n, s->cin, h, w), out_count = VGGC_BLOCKED_FLOATS(n, s->cout, h, w);
    size_t work_count = algo ? VGGC_WINOGRAD_WORK_FLOATS(n, s->cin, h, w, s->cout, m)
                             : vggc_conv2d_work(s->cin, h, w, 3);
    float *in = floats(in_count), *out = floats(out_count), *work = floats(work_count);
    float *weight = floats((size_t)s->cout * s->cin * 9), *bias = floats((size_t)s->cout);
    float *u = algo ? floats(VGGC_WINOGRAD_WEIGHT_FLOATS(s->cin, s->cout, m)) : NULL;
    if (algo) vggc_winograd_pack(u, weight, s->cin, s->cout, m);
    double t[MAX_RUNS], t_in[MAX_RUNS], t_gemm[MAX_RUNS], t_out[MAX_RUNS];
    for (int r = -1; r < runs; r++) {
        vggc_winograd_take_times();
        double start = omp_get_wtime();
        if (algo) vggc_conv_winograd(out, in, u, bias, work, n, s->cin, h, w, s->cout, m, 0);
        else vggc_conv2d(out, in, weight, bias, work, n, s->cin, h, w, s->cout, 3, 1);
        double seconds = omp_get_wtime() - start;
        vggc_winograd_times st = vggc_winograd_take_times();
        if (r < 0) continue; /* warm-up */
        t[r] = seconds, t_in[r] = st.input, t_gemm[r] = st.gemm, t_out[r] = st.output;
    }
    double sec = median(t, runs), direct = 2.0 * h * w * s->cin * s->cout * 9 * n;
    char name[16];
    snprintf(name, sizeof name, algo ? "winograd%d" : "im2col", algo);
    printf("%4d->%-4d@%-3d  n=%d  %-9s %9.2f ms %7.1f GF/s", s->cin, s->cout, h, n, name, sec * 1e3,
           direct / sec / 1e9);
    if (algo) {
        double g = median(t_gemm, runs), alpha = m + 2;
        double gemm_flops = 2.0 * alpha * alpha * VGGC_WINOGRAD_TILES(n, h, w, m) * VGGC_CPAD(s->cin)
                            * VGGC_CPAD(s->cout);
        printf("   cpu ms: in %7.2f  gemm %7.2f  out %7.2f   gemm %6.1f GF/s per busy core", median(t_in, runs) * 1e3,
               g * 1e3, median(t_out, runs) * 1e3, gemm_flops / g / 1e9);
    }
    printf("\n");
    fflush(stdout);
    free(in), free(out), free(work), free(weight), free(bias), free(u);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "layers: RUNS must be 1..%d, not '%s'\n", MAX_RUNS, argv[1]);
        return 1;
    }
    int only = argc > 2 ? atoi(argv[2]) : 0;
    if (only < 0 || only > 64) {
        fprintf(stderr, "layers: BATCH must be 0 (1 and 8) or 1..64, not '%s'\n", argv[2]);
        return 1;
    }
    const char *algos = argc > 3 ? argv[3] : "0246";
    if (!*algos || algos[strspn(algos, "023456")]) {
        fprintf(stderr, "layers: ALGOS must be digits of 0, 2, 3, 4, 5, 6, not '%s'\n", algos);
        return 1;
    }
    vggc_winograd_timing(1);
    vggc_winograd_budgets_from_env();
    printf("threads %d, median of %d runs after a warm-up\n", omp_get_max_threads(), runs);
    int batches[] = {only ? only : 1, 8};
    for (int b = 0; b < (only ? 1 : 2); b++) {
        for (size_t l = 0; l < sizeof VGG11 / sizeof VGG11[0]; l++)
            for (const char *a = algos; *a; a++) time_layer(&VGG11[l], batches[b], *a - '0', runs);
    }
    return 0;
}
