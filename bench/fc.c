/* fc.c -- VGG11's three FC layers at batch 1 and 8: the old path (OpenBLAS sgemv / sgemm with T threads, then a
 * bias + ReLU pass) against vggc_dense (the runtime's kernel on T OpenMP threads, on the packed weight).
 *
 *   cmake -S . -B build-dense && cmake --build build-dense --target vggc_runtime
 *   cc -O3 -march=native -fopenmp -I runtime bench/fc.c build-dense/runtime/libvggc_runtime.a \
 *      $(pkg-config --cflags --libs openblas) -lm -o fc
 *   OPENBLAS_CORETYPE=Haswell OMP_NUM_THREADS=2 nice -n 10 ./fc [READ_GBPS] [REPEAT] [relu]
 *
 * With `relu` the inputs are as after a ReLU (the negative half zero; vggc_dense skips the rows of inputs zero in every
 * image, the "rows read" column), else all non-zero. READ_GBPS is the machine's read bandwidth from bench/peak.c (e.g.
 * 61.3), the denominator of "new/peak"; REPEAT (default 7) rounds per case after one warm-up round, medians reported.
 * Memory bandwidth is shared with whatever else runs on the host, so each round times old, new and a yardstick
 * interleaved: "read" is one parallel pass summing the same weights (what bench/peak.c does), and new/read is the
 * fraction of the bandwidth available at that moment; "rows" sums only the rows new reads, in its order and
 * pattern (read_rows), and new/rows is new's speed against that (the "of rows" GB/s count those rows' bytes). The
 * last-level cache is flushed before every run (a read of three times the L3 that sysconf reports, 96 MiB at
 * least: an Intel Xeon here reports 480 MiB, and with 96 MiB fc7 and fc8 were partly read from it, 1.04-1.38 and
 * 0.22-0.27 ms against 1.46 and 0.39 flushed and 1.41-1.48 and 0.42-0.44 in the model), so the weights come from
 * memory as in a real forward pass; every buffer is on huge pages where the system grants them (huge_floats.h,
 * as the loader puts the weights). Prints a Markdown table: median ms and GB/s of weights read (and the best run's GB/s for new), the
 * speedup of the medians, and max |new - old| as a sanity check.
 */
#define _GNU_SOURCE /* sysconf(_SC_LEVEL3_CACHE_SIZE) */
#include "huge_floats.h"
#include "vggc.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_MIN_FLOATS ((size_t)24 << 20) /* 96 MiB */
static size_t flush_floats; /* three times the L3, FLUSH_MIN_FLOATS at least */
#define MAX_REPEAT 101

static volatile float sink;

typedef struct {
    const char *name;
    int in_f, out_f, relu;
} fc_layer;

static const fc_layer LAYERS[] = {
    {"fc6 25088->4096", 25088, 4096, 1},
    {"fc7 4096->4096", 4096, 4096, 1},
    {"fc8 4096->1000", 4096, 1000, 0},
};

static float *floats(size_t count) { return huge_floats("fc", count); }

/* Deterministic values in [-scale, scale), filled in parallel (first touch). */
static void fill(float *x, size_t n, unsigned seed, float scale)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        unsigned h = (unsigned)i * 2654435761u ^ seed * 40503u;
        h ^= h >> 13, h *= 0x5bd1e995u, h ^= h >> 15;
        x[i] = ((float)(h & 0xffffff) / 16777216.0f * 2.0f - 1.0f) * scale;
    }
}

static void flush(const float *scratch)
{
    float s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s)
    for (size_t i = 0; i < flush_floats; i += 16) s += scratch[i];
    sink = s;
}

/* The runtime's FC before this change: one SGEMV (one image) or one SGEMM (a batch), then bias and ReLU. */
static void old_linear(float *out, const float *in, const float *weight, const float *bias, int n, int in_f, int out_f,
                       int relu)
{
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_f, in_f, 1.0f, weight, in_f, in, 1, 0.0f, out, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_f, in_f, 1.0f, in, in_f, weight, in_f, 0.0f, out,
                    out_f);
    for (size_t j = 0; j < (size_t)n * out_f; j++) {
        float v = out[j] + bias[j % (size_t)out_f];
        out[j] = (relu && v < 0.0f) ? 0.0f : v;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int count)
{
    qsort(t, (size_t)count, sizeof *t, cmp_double);
    return t[count / 2];
}

/* The read-bandwidth yardstick under the same conditions: one parallel pass summing the weights, as bench/peak.c. */
static void read_all(const float *w, /* (count), count a multiple of 16 */
                     size_t count)
{
    float s = 0;
#pragma omp parallel reduction(+ : s)
    {
        float lane[16] = {0};
#pragma omp for schedule(static)
        for (size_t i = 0; i < count; i += 16)
            for (int l = 0; l < 16; l++) lane[l] += w[i + l];
        for (int l = 0; l < 16; l++) s += lane[l];
    }
    sink = s;
}

/* The same yardstick for the rows vggc_dense reads: per panel of the packed weight, the rows of the inputs non-zero
 * in some image (live, in order), summed 8 at a time with the next 8 prefetched one line per line read, as the
 * kernel for one image walks them. Reading a scattered half of the 4 KiB rows is slower than one sequential pass;
 * this says how much, under the same conditions. */
typedef float v8 __attribute__((vector_size(32))); /* 8 lanes; rows of the packed weight are 64-byte aligned */

static void read_rows(const float *packed, const int *live, int count, int in_f, int out_f)
{
    enum { SWEEP = 8 };
    int panels = (VGGC_DENSE_WIDTH(out_f) + VGGC_DENSE_PANEL - 1) / VGGC_DENSE_PANEL;
    float s = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : s)
    for (int p = 0; p < panels; p++) {
        int o0 = p * VGGC_DENSE_PANEL, left = VGGC_DENSE_WIDTH(out_f) - o0;
        int width = left < VGGC_DENSE_PANEL ? left : VGGC_DENSE_PANEL;
        v8 acc[SWEEP] = {{0}};
        for (int k = 0; k < count; k += SWEEP) {
            int rows = count - k < SWEEP ? count - k : SWEEP;
            int next = count - k - rows < SWEEP ? count - k - rows : SWEEP;
            const v8 *w[SWEEP];
            const float *ahead[SWEEP];
            for (int r = 0; r < SWEEP; r++) /* a short sweep reads its last row again, from L1 */
                w[r] = (const v8 *)(packed + vggc_dense_at(in_f, out_f, live[k + (r < rows ? r : rows - 1)], o0));
            for (int r = 0; r < next; r++) ahead[r] = packed + vggc_dense_at(in_f, out_f, live[k + rows + r], o0);
            for (int o = 0; o < width / 8; o += 2) {
                for (int r = 0; r < next; r++) __builtin_prefetch(ahead[r] + 8 * o);
#pragma GCC unroll 8
                for (int r = 0; r < SWEEP; r++) acc[r] += w[r][o] + w[r][o + 1];
            }
        }
        for (int r = 0; r < SWEEP; r++)
            for (int l = 0; l < 8; l++) s += acc[r][l];
    }
    sink = s;
}

/* The inputs non-zero in at least one of the n images, in order, into live; returns their count. */
static int live_inputs(int *live, const float *x, int n, int in_f)
{
    int count = 0;
    for (int i = 0; i < in_f; i++) {
        int any = 0;
        for (int b = 0; b < n; b++) any |= x[(size_t)b * in_f + i] != 0.0f;
        if (any) live[count++] = i;
    }
    return count;
}

enum { OLD, NEW, READ, ROWS, KINDS };

/* Seconds of one run of kind on a flushed cache. */
static double time_one(int kind, int threads, float *out, const float *in, const float *weight, const float *packed,
                       const float *bias, int n, const fc_layer *l, const float *scratch, const int *live, int count)
{
    if (kind == OLD) openblas_set_num_threads(threads); /* the old runtime gave OpenBLAS all threads */
    else vggc_set_threads(threads);                     /* OpenBLAS back to 1 thread; OpenMP owns the cores */
    flush(scratch);
    double start = omp_get_wtime();
    if (kind == OLD) old_linear(out, in, weight, bias, n, l->in_f, l->out_f, l->relu);
    else if (kind == NEW) vggc_dense(out, in, packed, bias, n, l->in_f, l->out_f, l->relu);
    else if (kind == READ) read_all(weight, (size_t)l->out_f * l->in_f);
    else read_rows(packed, live, count, l->in_f, l->out_f);
    return omp_get_wtime() - start;
}

/* Wait until the idle OpenBLAS and OpenMP threads stop spinning and sleep (both give up after well under 0.5 s). */
static void settle(void)
{
    struct timespec half = {0, 500000000L};
    nanosleep(&half, NULL);
}

static double gbps(const fc_layer *l, double seconds)
{
    return (double)l->in_f * l->out_f * sizeof(float) / seconds / 1e9;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* One layer at batch n, in two phases: old alone, then new and the two read yardsticks interleaved round by round (the
 * host is shared). Phases, because OpenBLAS's worker threads spin for a while after each call, and so do OpenMP's:
 * interleaving both owners would time each against the other's spinning threads. Each phase has one warm-up round,
 * then `repeat` rounds; medians are reported. */
static void bench_layer(const fc_layer *l, int n, int threads, double peak, const float *scratch, int repeat,
                        int relu_inputs)
{
    size_t w_count = (size_t)l->out_f * l->in_f, out_count = (size_t)n * l->out_f;
    float *w = floats(w_count), *packed = floats(VGGC_DENSE_WEIGHT_FLOATS(l->in_f, l->out_f));
    float *x = floats((size_t)n * l->in_f);
    float *bias = floats((size_t)l->out_f), *out[KINDS] = {floats(out_count), floats(out_count), NULL, NULL};
    int *live = malloc((size_t)l->in_f * sizeof *live);
    if (!live) {
        fprintf(stderr, "fc: cannot allocate %d ints\n", l->in_f);
        exit(1);
    }
    fill(w, w_count, 1u, 1.0f / sqrtf((float)l->in_f));
    fill(x, (size_t)n * l->in_f, 2u, 1.0f);
    if (relu_inputs)
        for (size_t i = 0; i < (size_t)n * l->in_f; i++) x[i] = x[i] < 0.0f ? 0.0f : x[i];
    fill(bias, (size_t)l->out_f, 3u, 0.1f);
    vggc_dense_pack(packed, w, l->in_f, l->out_f);
    int count = live_inputs(live, x, n, l->in_f);
    double t[KINDS][MAX_REPEAT];
    for (int r = -1; r < repeat; r++) {
        double s = time_one(OLD, threads, out[OLD], x, w, packed, bias, n, l, scratch, live, count);
        if (r >= 0) t[OLD][r] = s;
    }
    settle();
    for (int r = -1; r < repeat; r++)
        for (int k = NEW; k < KINDS; k++) {
            double s = time_one(k, threads, out[k], x, w, packed, bias, n, l, scratch, live, count);
            if (r >= 0) t[k][r] = s;
        }
    settle();
    double old = median(t[OLD], repeat), new = median(t[NEW], repeat), read = median(t[READ], repeat);
    double rows = median(t[ROWS], repeat), frac = (double)count / l->in_f;
    double best = t[NEW][0]; /* sorted by median() */
    printf("| %-16s | %2d | %5.1f%% | %8.3f | %6.2f | %8.3f | %6.2f | %6.2f | %5.2fx | %6.2f | %5.1f%% | %5.1f%% | "
           "%6.2f | %6.2f | %5.1f%% | %.1g |\n", l->name, n, 100 * frac, old * 1e3, gbps(l, old), new * 1e3,
           gbps(l, new), gbps(l, best), old / new, gbps(l, read), 100 * read / new,
           peak > 0 ? 100 * gbps(l, new) / peak : 0.0, frac * gbps(l, new), frac * gbps(l, rows), 100 * rows / new,
           max_diff(out[NEW], out[OLD], out_count));
    free(w), free(packed), free(x), free(bias), free(out[OLD]), free(out[NEW]), free(live);
}

int main(int argc, char **argv)
{
    double peak = argc > 1 ? atof(argv[1]) : 0;
    int repeat = argc > 2 ? atoi(argv[2]) : 7, threads = omp_get_max_threads();
    int relu_inputs = argc > 3 && strcmp(argv[3], "relu") == 0;
    if (argc > 4 || (argc > 3 && !relu_inputs) || peak < 0 || repeat < 1 || repeat > MAX_REPEAT) {
        fprintf(stderr, "usage: fc [READ_GBPS] [REPEAT 1..%d] [relu]\n", MAX_REPEAT);
        return 2;
    }
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    flush_floats = l3 > 0 && (size_t)l3 * 3 / sizeof(float) > FLUSH_MIN_FLOATS ? (size_t)l3 * 3 / sizeof(float)
                                                                              : FLUSH_MIN_FLOATS;
    printf("fc: %d threads, OpenBLAS core %s, median of %d, bench/peak.c read bandwidth %.2f GB/s, L3 flushed by a "
           "read of %zu MiB\n\n", threads, openblas_get_corename(), repeat, peak, flush_floats * sizeof(float) >> 20);
    printf("| layer            |  n | rows read |  old ms  | old GB/s |  new ms  | new GB/s | new best GB/s | speedup "
           "| read GB/s | new/read | new/peak | new GB/s of rows | rows GB/s | new/rows | max diff |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    float *scratch = floats(flush_floats);
    fill(scratch, flush_floats, 9u, 1.0f);
    static const int batches[] = {1, 8};
    for (int b = 0; b < 2; b++)
        for (size_t i = 0; i < sizeof LAYERS / sizeof *LAYERS; i++)
            bench_layer(&LAYERS[i], batches[b], threads, peak, scratch, repeat, relu_inputs);
    free(scratch);
    return 0;
}
