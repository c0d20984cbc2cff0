/* cpu.h — internal: which instruction set the fast kernels use. */
#ifndef VGGC_CPU_H
#define VGGC_CPU_H

/* 1 when the AVX-512 kernels may run: the CPU has AVX-512F (and FMA) and VGGC_ISA is not "generic".
 * Decided once per process; VGGC_ISA=generic forces the portable C kernels (the tests compare both). */
int vggc_cpu_avx512(void);

#endif
