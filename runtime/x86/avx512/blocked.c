/* x86/avx512/blocked.c — the avx512 row's blocked-layout rows (platform.h): blocked_rows.h compiled with -mavx512f -mfma. */
#include "../../blocked_rows.h"
#include "../../platform.h"

BLOCKED_DEFINE_ROWS(avx512)
