/* check_error.h — the message contract both fuzz targets hold every vggc_error to. */
#ifndef VGGC_FUZZ_CHECK_ERROR_H
#define VGGC_FUZZ_CHECK_ERROR_H

#include <stdlib.h>
#include <string.h>

#include "vggc.h"

/* The message contract of vggc_error: NUL-terminated inside msg, not empty on failure, one line (no '\n').
 * With -DFUZZ_STRICT_MESSAGES (fuzz/run --strict) also no control byte at all: '\r', ESC, ... echoed from the input. */
static void check_error(const vggc_error *err)
{
    const char *end = memchr(err->msg, '\0', sizeof err->msg);
    if (!end || end == err->msg) abort();
    for (const char *p = err->msg; p < end; p++) {
        if (*p == '\n') abort();
#ifdef FUZZ_STRICT_MESSAGES
        if ((unsigned char)*p < 0x20 || *p == 0x7f) abort();
#endif
    }
}

#endif
