/* corename.c -- print the OpenBLAS core in use (cc corename.c $(pkg-config --cflags --libs openblas)). */
#include <stdio.h>
char *openblas_get_corename(void);
int openblas_get_num_threads(void);
int main(void) { printf("%s %d\n", openblas_get_corename(), openblas_get_num_threads()); return 0; }
