/* model_bench.c -- time one generated model: the median forward and each layer's median, as JSON on stdout.
 *
 * bench/run builds it against a model generated with `vggc generate ... --name NAME`:
 *   cc -O2 -fopenmp -DVGGC_PROFILE -DMODEL=NAME -DPREFIX=NAME_IN_CAPITALS -include NAME.h -I runtime \
 *      bench/model_bench.c NAME.c libvggc_runtime.a $(pkg-config --libs openblas) -lm
 *   ./model_bench WEIGHTS.safetensors INPUT.npy THREADS REPEAT
 *
 * One warm-up forward, then REPEAT timed ones: every time (times_ms, layer_times_ms, so that bench/run can pool the
 * samples of several rounds) and their medians, and the instruction set the kernels ran on ("isa": vggc_isa(),
 * which VGGC_ISA can force; a VGGC_ISA this CPU lacks is an error here). A layer's time is what the generated code's
 * TIC/TOC measured around its calls (layout conversions included); "other" in bench/run is the whole minus the
 * layers. WINO_PASS_KB, WINO_U_KB, WINO_A_KB in the environment override the Winograd cache budgets (as in
 * bench/layers.c): one binary run with and without them compares budgets free of the AVX-512 placement effect
 * (runtime/KERNELS.md), which moves whole layers by 10 % between copies of a binary. */
#include "winograd_internal.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FORWARD CAT(MODEL, _forward)
#define MANIFEST CAT(MODEL, _model)
#define PROFILE CAT(MODEL, _profile)
#define LAYERS CAT(PREFIX, _LAYERS)
#define IN_COUNT CAT(PREFIX, _IN_COUNT)
#define OUT_COUNT CAT(PREFIX, _OUT_COUNT)
#define STR_(x) #x
#define STR(x) STR_(x)

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s WEIGHTS.safetensors INPUT.npy THREADS REPEAT\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[3]), repeat = atoi(argv[4]);
    if (threads < 1 || repeat < 1) {
        fprintf(stderr, "%s: THREADS and REPEAT must be at least 1\n", argv[0]);
        return 2;
    }
    vggc_winograd_budgets_from_env();
    vggc_error err;
    float *x = NULL;
    int64_t shape[4];
    int rank;
    if (vggc_check_isa(&err) || vggc_load_safetensors(&MANIFEST, argv[1], VGGC_MATCH_BY_NAME, &err) ||
        vggc_npy_read(argv[2], &x, shape, &rank, &err)) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        return 1;
    }
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= shape[i];
    if (count != IN_COUNT) {
        fprintf(stderr, "%s: %s: %lld floats, the model takes %d\n", argv[0], argv[2], (long long)count, IN_COUNT);
        return 1;
    }
    vggc_set_threads(threads);
    static float y[OUT_COUNT];
    double *total = malloc(sizeof *total * (size_t)repeat);
    double *layer = malloc(sizeof *layer * (size_t)repeat * LAYERS);
    if (!total || !layer) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    FORWARD(x, y); /* warm-up: first touch of the workspace, thread pools, caches */
    for (int r = 0; r < repeat; r++) {
        double before[LAYERS];
        memcpy(before, PROFILE, sizeof before);
        double t0 = omp_get_wtime();
        FORWARD(x, y);
        total[r] = (omp_get_wtime() - t0) * 1e3;
        for (int i = 0; i < LAYERS; i++) layer[(size_t)i * repeat + r] = (PROFILE[i] - before[i]) * 1e3;
    }
    printf("{\"model\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"repeat\": %d, \"times_ms\": [", STR(MODEL),
           vggc_isa(), threads, repeat);
    for (int r = 0; r < repeat; r++) printf("%s%.4f", r ? ", " : "", total[r]);
    printf("], \"layer_times_ms\": [");
    for (int i = 0; i < LAYERS; i++) {
        printf("%s[", i ? ", " : "");
        for (int r = 0; r < repeat; r++) printf("%s%.4f", r ? ", " : "", layer[(size_t)i * repeat + r]);
        printf("]");
    }
    printf("], \"median_ms\": %.4f, \"layers_ms\": [", median(total, repeat));
    for (int i = 0; i < LAYERS; i++) printf("%s%.4f", i ? ", " : "", median(layer + (size_t)i * repeat, repeat));
    printf("]}\n");
    free(total);
    free(layer);
    free(x);
    return 0;
}
