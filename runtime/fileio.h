/* fileio.h — what the runtime's readers share (internal: not installed, not part of vggc.h). */
#ifndef VGGC_FILEIO_H
#define VGGC_FILEIO_H

#include <stddef.h>

#include "vggc.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Set err to "<where>: <formatted what>" and return -1. */
int PRINTF_LIKE(3, 4) vggc_fail(vggc_error *err, const char *where, const char *fmt, ...);

/* The whole file at path, malloc'ed into *buf (*size bytes). Returns 0, or -1 with err set ("<path>: ..."). */
int vggc_read_file(const char *path, unsigned char **buf, size_t *size, vggc_error *err);

/* Whether path may be replaced by a new file: 0 if it does not exist or is a writable regular file; -1 with err
 * set if it is a directory ("is a directory") or has no write bit in its mode ("is read-only (not replaced)"). The
 * mode bits are a policy, checked even where they would not stop a write (root): a rename would otherwise
 * replace a file its owner marked read-only without a word. */
int vggc_check_replaceable(const char *path, vggc_error *err);

/* text made safe for a one-line message: cut to at most max bytes at a UTF-8 boundary (then "..."), control
 * characters shown as '?'. out holds cap bytes; cap must exceed max + 3. Returns out. */
const char *vggc_printable(char *out, size_t cap, const char *text, size_t max);

#endif
