/* dense_internal.h — internal: the one-time OpenBLAS setup every runtime file calls before its first BLAS call. */
#ifndef VGGC_DENSE_INTERNAL_H
#define VGGC_DENSE_INTERNAL_H

/* Make OpenBLAS single-threaded, once per process (thread-safe, a load and a branch after the first call). The
 * runtime's OpenMP regions own the cores and call single-threaded BLAS from inside them. Call it outside any
 * parallel region, before the first BLAS call. */
void vggc_blas_single_threaded(void);

#endif
