/* cpu.c — choose the AVX-512 kernels or the portable ones, once per process. */
#include "cpu.h"
#include "fileio.h"
#include "vggc.h"

#include <stdlib.h>
#include <string.h>

static int has_avx512(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int decide(void)
{
    const char *isa = getenv("VGGC_ISA");
    if (isa && strcmp(isa, "generic") == 0) return 0;
    return has_avx512();
}

int vggc_cpu_avx512(void)
{
    /* -1: not decided yet. Threads that race to decide compute the same answer; the atomic makes the race benign. */
    static _Atomic int avx512 = -1;
    int v = avx512;
    if (v < 0) avx512 = v = decide();
    return v;
}

const char *vggc_isa(void)
{
    return vggc_cpu_avx512() ? "avx512" : "generic";
}

int vggc_check_isa(vggc_error *err)
{
    const char *isa = getenv("VGGC_ISA");
    if (!isa || !*isa || strcmp(isa, "generic") == 0 || (strcmp(isa, "avx512") == 0 && has_avx512())) return 0;
    return vggc_fail(err, "VGGC_ISA", "'%s' is not an instruction set this CPU has (expected one of: %s generic)",
                     isa, has_avx512() ? "avx512" : "");
}
