/* fileio.h — what the runtime's readers share (internal: not installed, not part of vggc.h). */
#ifndef VGGC_FILEIO_H
#define VGGC_FILEIO_H

#include <stddef.h>
#include <stdint.h>

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

/* A file's bytes to read once, front to back: a regular file is mapped read-only, so its pages are read from the
 * page cache as they are used and can be let go again (vggc_map_release); anything else (a pipe, a device, a
 * directory, an empty or /proc file that reports size 0) is read whole into memory, as vggc_read_file does. */
typedef struct {
    const unsigned char *data;  /* (size) */
    size_t size;
    int fd;                     /* >= 0 while data is a mapping of this file */
    unsigned char *owned;       /* the malloc'ed copy of a file that was read whole, else NULL */
    int64_t mtime_ns;           /* the mapped file's size and modification time when it was opened, to notice */
    int64_t size0;              /* another process rewriting or truncating it while it is read */
} vggc_mapped;

/* Map (or read) the file at path into *m. Returns 0, or -1 with err set ("<path>: ..."). */
int vggc_map_file(const char *path, vggc_mapped *m, vggc_error *err);
/* Let the mapped pages of data[offset, offset + len) go from this process's memory (madvise MADV_DONTNEED, whole
 * pages, rounded outwards): they stay in the page cache and are read again if touched. Nothing for a copy. */
void vggc_map_release(const vggc_mapped *m, size_t offset, size_t len);
#define VGGC_HUGE_PAGE_BYTES ((size_t)2 << 20) /* an x86-64 transparent huge page */
/* Ask the kernel to back the whole 2 MiB pages inside data[0, bytes) with transparent huge pages (madvise
 * MADV_HUGEPAGE; the edges keep 4 KiB pages), before they are first written: weights that stream from memory
 * every forward then cost one TLB entry per 2 MiB, not per 4 KiB. Nothing where the system has no such advice;
 * where THP is off ("never") the advice changes nothing. */
void vggc_advise_huge(void *data, size_t bytes);
/* 1 with what set (e.g. "1000 bytes, was 531455368") once the mapped file no longer has the size and modification
 * time it had when mapped, else 0 (always for a copy). */
int vggc_map_changed(const vggc_mapped *m, char *what, size_t cap);
void vggc_unmap(vggc_mapped *m);

/* Whether path may be replaced by a new file: 0 if it does not exist or is a writable regular file; -1 with err
 * set if it is a directory ("is a directory") or has no write bit in its mode ("is read-only (not replaced)"). The
 * mode bits are a policy, checked even where they would not stop a write (root): a rename would otherwise
 * replace a file its owner marked read-only without a word. */
int vggc_check_replaceable(const char *path, vggc_error *err);

/* text made safe for a one-line message: cut to at most max bytes at a UTF-8 boundary (then "..."), control
 * characters shown as '?'. out holds cap bytes; cap must exceed max + 3. Returns out. */
const char *vggc_printable(char *out, size_t cap, const char *text, size_t max);

#endif
