/* x86/avx2/blocked.c — the avx2 row's blocked-layout rows (platform.h): blocked_rows.h compiled with -mavx2 -mfma. */
#include "../../blocked_rows.h"
#include "../../platform.h"

BLOCKED_DEFINE_ROWS(avx2)
