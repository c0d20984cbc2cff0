/* fileio.c — reading whole files, mapping them, checking a file may be replaced, and quoting untrusted text in
 * messages, for the safetensors and .npy readers and the .npy writer. */
#define _DEFAULT_SOURCE /* madvise */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int vggc_fail(vggc_error *err, const char *where, const char *fmt, ...)
{
    int len = snprintf(err->msg, sizeof err->msg, "%s: ", where);
    if (len < 0 || (size_t)len >= sizeof err->msg) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + len, sizeof err->msg - (size_t)len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Read the rest of in into *buf (cap bytes, grown as needed); *len bytes read. */
static int read_all(FILE *in, unsigned char **buf, size_t cap, size_t *len)
{
    size_t got;
    *len = 0;
    while ((got = fread(*buf + *len, 1, cap - *len, in)) > 0) {
        if ((*len += got) < cap) continue;
        unsigned char *more = realloc(*buf, cap *= 2);
        if (!more) return -1;
        *buf = more;
    }
    return 0;
}

/* The rest of the open file in, then closed: malloc'ed into *buf (*size bytes). */
static int read_stream(FILE *in, const char *path, unsigned char **buf, size_t *size, vggc_error *err)
{
    struct stat st;
    size_t cap = (fstat(fileno(in), &st) == 0 && st.st_size > 0) ? (size_t)st.st_size + 1 : 65536;
    *buf = malloc(cap);
    int oom = !*buf || read_all(in, buf, cap, size), bad = ferror(in), e = errno;
    fclose(in);
    if (oom || bad) {
        free(*buf);
        *buf = NULL;
        if (oom) return vggc_fail(err, path, "out of memory reading the file");
        return vggc_fail(err, path, "cannot read: %s", strerror(e));
    }
    return 0;
}

int vggc_read_file(const char *path, unsigned char **buf, size_t *size, vggc_error *err)
{
    FILE *in = fopen(path, "rb");
    if (!in) return vggc_fail(err, path, "cannot open: %s", strerror(errno));
    return read_stream(in, path, buf, size, err);
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* What cannot be mapped is read whole from the descriptor already open (a pipe cannot be opened twice), with
 * vggc_read_file's messages (a directory: "cannot read: Is a directory"). */
static int read_whole(const char *path, vggc_mapped *m, vggc_error *err)
{
    FILE *in = fdopen(m->fd, "rb");
    if (!in) {
        int e = errno;
        close(m->fd);
        m->fd = -1;
        return vggc_fail(err, path, "cannot read: %s", strerror(e));
    }
    m->fd = -1; /* closed with in */
    if (read_stream(in, path, &m->owned, &m->size, err)) return -1;
    m->data = m->owned;
    return 0;
}

int vggc_map_file(const char *path, vggc_mapped *m, vggc_error *err)
{
    struct stat st;
    memset(m, 0, sizeof *m);
    m->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (m->fd < 0) return vggc_fail(err, path, "cannot open: %s", strerror(errno));
    void *p = MAP_FAILED;
    if (fstat(m->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, m->fd, 0);
    if (p == MAP_FAILED) return read_whole(path, m, err);
    m->data = p;
    m->size = (size_t)st.st_size;
    m->size0 = (int64_t)st.st_size;
    m->mtime_ns = mtime_ns(&st);
    return 0;
}

void vggc_map_release(const vggc_mapped *m, size_t offset, size_t len)
{
    if (m->fd < 0 || len == 0 || offset >= m->size) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), end = len > m->size - offset ? m->size : offset + len;
    size_t first = offset / page * page, last = (end + page - 1) / page * page; /* within the mapping's last page */
    madvise((void *)(uintptr_t)(m->data + first), last - first, MADV_DONTNEED);
}

void vggc_advise_huge(void *data, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = VGGC_HUGE_PAGE_BYTES, at = (uintptr_t)data;
    uintptr_t first = (at + huge - 1) & ~(huge - 1), end = (at + bytes) & ~(huge - 1);
    if (end > first) madvise((void *)first, end - first, MADV_HUGEPAGE);
#else
    (void)data, (void)bytes;
#endif
}

int vggc_map_changed(const vggc_mapped *m, char *what, size_t cap)
{
    struct stat st;
    if (m->fd < 0) return 0;
    if (fstat(m->fd, &st) != 0) snprintf(what, cap, "cannot stat it: %s", strerror(errno));
    else if ((int64_t)st.st_size != m->size0)
        snprintf(what, cap, "%" PRId64 " bytes, was %" PRId64, (int64_t)st.st_size, m->size0);
    else if (mtime_ns(&st) != m->mtime_ns) snprintf(what, cap, "written to");
    else return 0;
    return 1;
}

void vggc_unmap(vggc_mapped *m)
{
    if (m->fd >= 0) {
        munmap((void *)(uintptr_t)m->data, m->size);
        close(m->fd);
    }
    free(m->owned);
    memset(m, 0, sizeof *m);
    m->fd = -1;
}

int vggc_check_replaceable(const char *path, vggc_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0; /* a missing file (or a missing directory, reported when creating) */
    if (S_ISDIR(st.st_mode)) return vggc_fail(err, path, "is a directory (expected a file name)");
    if (!(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) return vggc_fail(err, path, "is read-only (not replaced)");
    return 0;
}

const char *vggc_printable(char *out, size_t cap, const char *text, size_t max)
{
    size_t len = strlen(text), n = len < max ? len : max, i;
    while (n > 0 && n < len && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    for (i = 0; i < n && i + 4 < cap; i++)
        out[i] = ((unsigned char)text[i] < 0x20 || text[i] == 0x7F) ? '?' : text[i];
    strcpy(out + i, n < len ? "..." : "");
    return out;
}
