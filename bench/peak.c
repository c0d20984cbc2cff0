/* peak.c -- measured peak (GFLOP/s) of one instruction-set path, and read bandwidth (GB/s), with T threads.
 *
 *   gcc -O3 -fopenmp -march=x86-64 FLAGS bench/peak.c -o peak && ./peak [THREADS]
 *
 * The path is the one the flags select, named like vggc_isa():
 *   avx512   FLAGS = -mavx512f -mfma   512-bit FMA
 *   avx2     FLAGS = -mavx2 -mfma      256-bit FMA
 *   generic  FLAGS = (none)            baseline x86-64: 128-bit SSE2, a multiply then an add (no FMA)
 * A multiply + add counts 2 FLOPs, as an FMA does. Prints one JSON object on stdout; refuses (exit 1) to run a
 * path this CPU lacks. Used by bench/run as the denominator of "fraction of peak" for the path its kernels ran, and
 * of the FC layers' fraction of the read bandwidth: the best of RUNS passes, each read with 1 and with 8 streams. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define CHAINS 12    /* independent chains per thread: >= latency (FMA 4-5, mul + add 6) x ports (2) */
#define INNER 1000   /* FMAs per chain between clock checks */
#define RUNS 5

#if defined(__AVX512F__) && defined(__FMA__)
typedef __m512 vec;
#define VLEN 16
#define ISA "avx512"
#define CPU_HAS_ISA() (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))
#define vset1(x) _mm512_set1_ps(x)
#define vfma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define vadd(a, b) _mm512_add_ps(a, b)
#define vload(p) _mm512_loadu_ps(p)
static float vsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define VLEN 8
#define ISA "avx2"
#define CPU_HAS_ISA() (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
#define vset1(x) _mm256_set1_ps(x)
#define vfma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vadd(a, b) _mm256_add_ps(a, b)
#define vload(p) _mm256_loadu_ps(p)
static float vsum(vec v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#elif defined(__AVX__) || defined(__FMA__)
#error "peak.c: -mavx512f or -mavx2 without -mfma, or AVX alone: not a vggc path (see the top of this file)"
#else
typedef __m128 vec;
#define VLEN 4
#define ISA "generic"
#define CPU_HAS_ISA() 1 /* SSE2 is part of x86-64 */
#define vset1(x) _mm_set1_ps(x)
#define vfma(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c) /* no -mfma: the compiler cannot fuse them */
#define vadd(a, b) _mm_add_ps(a, b)
#define vload(p) _mm_loadu_ps(p)
static float vsum(vec v) {
    float t[4];
    _mm_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3];
}
#endif

static volatile float sink;

/* One thread's FMA loop for about `seconds`; returns the number of FMAs it did (per lane). */
static double fma_thread(double seconds) {
    vec acc[CHAINS], mul = vset1(0.9999999f), add = vset1(1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = vset1((float)c);
    double start = omp_get_wtime(), fmas = 0;
    while (omp_get_wtime() - start < seconds) {
        for (int i = 0; i < INNER; i++)
            for (int c = 0; c < CHAINS; c++) acc[c] = vfma(acc[c], mul, add);
        fmas += (double)INNER * CHAINS;
    }
    vec total = acc[0];
    for (int c = 1; c < CHAINS; c++) total = vadd(total, acc[c]);
    sink = vsum(total);
    return fmas;
}

/* GFLOP/s of all threads together for one ~0.3 s run. */
static double fma_run(int threads) {
    double fmas = 0, start = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : fmas)
    fmas += fma_thread(0.3);
    return fmas * VLEN * 2 / (omp_get_wtime() - start) / 1e9;
}

/* GB/s of one pass summing x (n floats), each thread over its own part as `streams` interleaved sequential streams
 * (1: one, the hardware prefetchers' easiest case; 8: eight at once, like a GEMV over 8 weight rows), prefetched
 * PREFETCH floats ahead when streams > 1, into independent vector accumulators reduced once at the end (a horizontal
 * sum per step would make the loop compute-bound and understate the bandwidth). */
#define PREFETCH 1024
static double read_run(const float *x, size_t n, int threads, int streams) {
    double start = omp_get_wtime(), total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t part = n / (size_t)nt / ((size_t)streams * 4 * VLEN) * ((size_t)streams * 4 * VLEN);
        size_t len = part / (size_t)streams; /* floats per stream, a multiple of 4 * VLEN */
        const float *base = x + (size_t)t * part;
        vec a0 = vset1(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (size_t i = 0; i < len; i += 4 * VLEN)
            for (int s = 0; s < streams; s++) {
                const float *p = base + (size_t)s * len + i;
                if (streams > 1) _mm_prefetch((const char *)(p + PREFETCH), _MM_HINT_T1);
                a0 = vadd(a0, vload(p)), a1 = vadd(a1, vload(p + VLEN));
                a2 = vadd(a2, vload(p + 2 * VLEN)), a3 = vadd(a3, vload(p + 3 * VLEN));
            }
        total += vsum(vadd(vadd(a0, a1), vadd(a2, a3)));
    }
    double seconds = omp_get_wtime() - start;
    sink = (float)total;
    size_t read = n / (size_t)threads / ((size_t)streams * 4 * VLEN) * ((size_t)streams * 4 * VLEN) * (size_t)threads;
    return (double)read * sizeof(float) / seconds / 1e9; /* the parts, without the tail no whole block fits in */
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    if (threads < 1) {
        fprintf(stderr, "peak: bad thread count '%s'\n", argv[1]);
        return 1;
    }
    __builtin_cpu_init();
    if (!CPU_HAS_ISA()) {
        fprintf(stderr, "peak: this CPU lacks the %s path it was compiled for\n", ISA);
        return 1;
    }
    size_t n = ((size_t)1 << 30) / sizeof(float); /* 1 GiB */
    float *x = aligned_alloc(64, n * sizeof(float));
    if (!x) {
        fprintf(stderr, "peak: cannot allocate 1 GiB\n");
        return 1;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) x[i] = 1.0f; /* first touch by the reading threads */

    double gflops = 0, gbps = 0;
    for (int r = 0; r < RUNS; r++) {
        double g = fma_run(threads), b1 = read_run(x, n, threads, 1), b8 = read_run(x, n, threads, 8);
        if (g > gflops) gflops = g;
        if (b1 > gbps) gbps = b1;
        if (b8 > gbps) gbps = b8;
    }
    free(x);
    printf("{\"isa\": \"%s\", \"threads\": %d, \"chains\": %d, \"runs\": %d, "
           "\"fma_gflops\": %.1f, \"read_gbps\": %.2f, \"read_bytes\": %zu}\n",
           ISA, threads, CHAINS, RUNS, gflops, gbps, n * sizeof(float));
    return 0;
}
