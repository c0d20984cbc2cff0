/* cpu.c — choose the AVX-512 kernels or the portable ones, once per process. */
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

static int decide(void)
{
    const char *isa = getenv("VGGC_ISA");
    if (isa && strcmp(isa, "generic") == 0) return 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int vggc_cpu_avx512(void)
{
    /* -1: not decided yet. Threads that race to decide compute the same answer; the atomic makes the race benign. */
    static _Atomic int avx512 = -1;
    int v = avx512;
    if (v < 0) avx512 = v = decide();
    return v;
}
