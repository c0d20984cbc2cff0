/* generic/blocked.c — the generic row's blocked-layout rows (platform.h): blocked_rows.h compiled for any CPU. */
#include "../blocked_rows.h"
#include "../platform.h"

BLOCKED_DEFINE_ROWS(generic)
