/* platform.c — the table of kernel rows, one per instruction set (platform.h), and the choice of one, made once
 * per process: the row VGGC_ISA names when this CPU has it, else the best row the CPU has. */
#include "fileio.h"
#include "platform.h"
#include "vggc.h"

#include <stdlib.h>
#include <string.h>

static int always(void) { return 1; }

#ifdef VGGC_X86
/* cpuid through the compiler's runtime, which also checks that the OS saves the vector registers. */
static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}
#endif

#define ROW(isa, supported, panel, pass_kb, widest, nchw)                                                   \
    {#isa, supported, panel, (pass_kb) * 1024L, vggc_wino_input_##isa, vggc_wino_gemm_##isa, vggc_wino_output_##isa, \
     widest, nchw,                                                                                           \
     vggc_direct_piece_##isa, vggc_dense_chunk_##isa, vggc_to_blocked_row_##isa, vggc_from_blocked_row_##isa,  \
     vggc_maxpool_row_##isa, vggc_maxpool_window_row_##isa}

/* Best first. panel: the output channels of a Winograd weight panel, what one GEMM micro-kernel reads as one stream
 * (AVX-512: 2 zmm per row; AVX2 reads 16 columns at a time, and a 16-wide panel is one contiguous stream: 512 -> 512
 * at 14x14, batch 1, 2.7 -> 2.2-2.5 ms). pass_kb: V + M of one fused Winograd pass (runtime/KERNELS.md, "Cache
 * passes"): each pass reads all of U again from L3, and the AVX-512 GEMM eats it twice as fast, so its passes hold
 * more tiles (2 MB: VGG16 batch 1 -2.5 %, VGG11 batch 8 -3.5 % on a Zen 5; on the AVX2 row the same change measured
 * -0.7 % and +0.2 %, so it keeps 768 KB). direct_widest: the channel blocks of one direct-conv register tile
 * (AVX-512 holds 4 blocks x 6 pixels in its 32 registers; AVX2's 16 registers hold 1 block x 6 pixels). nchw: the
 * direct conv reads the network's NCHW input itself (AVX2); the other rows convert it to blocked first. Every row's
 * direct conv runs every job (strides, windows up to 7x7, residuals, outputs inside a Concat). */
static const vggc_kernels rows[] = {
#ifdef VGGC_X86
    ROW(avx512, has_avx512, 32, 2048, 4, 0),
    ROW(avx2, has_avx2, 16, 768, 1, 1),
#endif
    ROW(generic, always, 16, 768, 4, 0),
};
enum { ROWS = sizeof rows / sizeof rows[0] };

int vggc_kernels_count(void) { return ROWS; }

const vggc_kernels *vggc_kernels_row(int i) { return i >= 0 && i < ROWS ? &rows[i] : NULL; }

const vggc_kernels *vggc_kernels_named(const char *name)
{
    for (int i = 0; i < ROWS; i++)
        if (strcmp(rows[i].name, name) == 0) return rows[i].supported() ? &rows[i] : NULL;
    return NULL;
}

static const vggc_kernels *best(void)
{
    for (int i = 0; i < ROWS; i++)
        if (rows[i].supported()) return &rows[i];
    return &rows[ROWS - 1];
}

static const vggc_kernels *decide(void)
{
    const char *isa = getenv("VGGC_ISA");
    const vggc_kernels *named = isa && *isa ? vggc_kernels_named(isa) : NULL;
    return named ? named : best();
}

const vggc_kernels *vggc_kernels_active(void)
{
    /* NULL: not decided yet. Threads that race to decide compute the same row; the atomic makes the race benign. */
    static const vggc_kernels *_Atomic active;
    const vggc_kernels *k = active;
    if (!k) active = k = decide();
    return k;
}

const char *vggc_isa(void) { return vggc_kernels_active()->name; }

int vggc_check_isa(vggc_error *err)
{
    const char *isa = getenv("VGGC_ISA");
    if (!isa || !*isa || vggc_kernels_named(isa)) return 0;
    char has[64] = "", known[64] = "";
    for (int i = 0; i < ROWS; i++) {
        const char *sep = i == 0 ? "" : i == ROWS - 1 ? " or " : ", ";
        strcat(strcat(known, sep), rows[i].name);
        if (rows[i].supported()) strcat(strcat(has, *has ? ", " : ""), rows[i].name);
    }
    char shown[80];
    vggc_printable(shown, sizeof shown, isa, 40);
    for (int i = 0; i < ROWS; i++)
        if (strcmp(rows[i].name, isa) == 0)
            return vggc_fail(err, "VGGC_ISA", "this CPU has no %s (it runs: %s)", shown, has);
    return vggc_fail(err, "VGGC_ISA", "'%s' is not an instruction set (expected %s)", shown, known);
}
