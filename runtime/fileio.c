/* fileio.c — reading whole files, checking a file may be replaced, and quoting untrusted text in messages, for the
 * safetensors and .npy readers and the .npy writer. */
#define _POSIX_C_SOURCE 200809L
#include "fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int vggc_read_file(const char *path, unsigned char **buf, size_t *size, vggc_error *err)
{
    FILE *in = fopen(path, "rb");
    if (!in) return vggc_fail(err, path, "cannot open: %s", strerror(errno));
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
