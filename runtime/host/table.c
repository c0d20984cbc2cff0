/* table.c — the predictions table: CSV or JSON by the output's extension, one row per image in input order,
 * written to a temporary file beside the output and renamed into place. */
#define _POSIX_C_SOURCE 200809L
#include "vggc_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../fileio.h"

/* ---- text that grows ----------------------------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *s2 = realloc(t->s, cap);
        if (!s2) {
            t->oom = 1;
            return;
        }
        t->s = s2, t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void putf(text *t, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(t, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* ---- CSV ----------------------------------------------------------------------------------------------- */

/* A field quoted when it holds a comma, a quote or a line break, its quotes doubled (RFC 4180). */
static void csv_field(text *t, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        put(t, s, strlen(s));
        return;
    }
    put(t, "\"", 1);
    for (const char *q; (q = strchr(s, '"')); s = q + 1) {
        put(t, s, (size_t)(q - s));
        put(t, "\"\"", 2);
    }
    put(t, s, strlen(s));
    put(t, "\"", 1);
}

static void csv(text *t, const vggc_image_list *list, const vggc_predictions *p, const vggc_labels *labels)
{
    put(t, "path,class,label,score", 22);
    for (int j = 2; j <= p->top; j++) putf(t, ",class%d,label%d,score%d", j, j, j);
    put(t, "\n", 1);
    for (int i = 0; i < list->n; i++) {
        csv_field(t, list->paths[i]);
        for (int j = 0; j < p->top; j++) {
            int32_t c = p->classes[(size_t)i * (size_t)p->top + (size_t)j];
            if (c < 0) {
                put(t, ",,,", 3);
                continue;
            }
            putf(t, ",%d,", c);
            if (labels) csv_field(t, labels->names[c]);
            putf(t, ",%.6f", (double)p->scores[(size_t)i * (size_t)p->top + (size_t)j]);
        }
        put(t, "\n", 1);
    }
}

/* ---- JSON ---------------------------------------------------------------------------------------------- */

static void json_string(text *t, const char *s)
{
    put(t, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') putf(t, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7F) putf(t, "\\u%04x", ch);
        else put(t, s, 1);
    }
    put(t, "\"", 1);
}

static void json_row(text *t, const char *path, const vggc_predictions *p, int i, const vggc_labels *labels)
{
    put(t, "  {\"path\": ", 11);
    json_string(t, path);
    for (int j = 0; j < p->top; j++) {
        int32_t c = p->classes[(size_t)i * (size_t)p->top + (size_t)j];
        char suffix[16] = "";
        if (j) snprintf(suffix, sizeof suffix, "%d", j + 1);
        if (c < 0) {
            putf(t, ", \"class%s\": null, \"label%s\": null, \"score%s\": null", suffix, suffix, suffix);
            continue;
        }
        putf(t, ", \"class%s\": %d, \"label%s\": ", suffix, c, suffix);
        if (labels) json_string(t, labels->names[c]);
        else put(t, "null", 4);
        putf(t, ", \"score%s\": %.6f", suffix, (double)p->scores[(size_t)i * (size_t)p->top + (size_t)j]);
    }
    put(t, "}", 1);
}

static void json(text *t, const vggc_image_list *list, const vggc_predictions *p, const vggc_labels *labels)
{
    put(t, "[\n", 2);
    for (int i = 0; i < list->n; i++) {
        json_row(t, list->paths[i], p, i, labels);
        put(t, i + 1 < list->n ? ",\n" : "\n", i + 1 < list->n ? 2 : 1);
    }
    put(t, "]\n", 2);
}

/* ---- the file ------------------------------------------------------------------------------------------ */

int vggc_table_format(const char *path, vggc_error *err)
{
    size_t len = strlen(path);
    if (len > 4 && strcasecmp(path + len - 4, ".csv") == 0) return VGGC_TABLE_CSV;
    if (len > 5 && strcasecmp(path + len - 5, ".json") == 0) return VGGC_TABLE_JSON;
    return vggc_fail(err, path, "not a table name (expected a .csv or .json file)");
}

int vggc_table_check_output(const char *path, vggc_error *err)
{
    if (vggc_table_format(path, err) < 0) return -1;
    return vggc_npy_check_output(path, err); /* its checks are those of any file written by a rename */
}

/* bytes into a new file beside path, then renamed over it. */
static int write_atomically(const char *path, const char *bytes, size_t len, vggc_error *err)
{
    if (vggc_check_replaceable(path, err)) return -1;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return vggc_fail(err, path, "out of memory");
    snprintf(tmp, cap, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666), rc = 0;
    if (fd < 0) rc = vggc_fail(err, path, "cannot create a temporary file beside it: %s", strerror(errno));
    for (size_t done = 0; !rc && done < len;) {
        ssize_t n = write(fd, bytes + done, len - done);
        if (n < 0) rc = vggc_fail(err, path, "cannot write: %s", strerror(errno));
        else done += (size_t)n;
    }
    if (fd >= 0 && close(fd) != 0 && !rc) rc = vggc_fail(err, path, "cannot write: %s", strerror(errno));
    if (!rc && rename(tmp, path) != 0) rc = vggc_fail(err, path, "cannot replace the file: %s", strerror(errno));
    if (rc && fd >= 0) remove(tmp);
    free(tmp);
    return rc;
}

int vggc_table_write(const char *path, const vggc_image_list *list, const vggc_predictions *p,
                     const vggc_labels *labels, vggc_error *err)
{
    text t = {0};
    int format = path ? vggc_table_format(path, err) : VGGC_TABLE_CSV;
    if (format < 0) return -1;
    if (format == VGGC_TABLE_JSON) json(&t, list, p, labels);
    else csv(&t, list, p, labels);
    int rc;
    if (t.oom) rc = vggc_fail(err, path ? path : "stdout", "out of memory for the table");
    else if (path) rc = write_atomically(path, t.s, t.len, err);
    else rc = fwrite(t.s, 1, t.len, stdout) == t.len && fflush(stdout) == 0 ? 0 : vggc_fail(err, "stdout", "cannot write");
    free(t.s);
    return rc;
}
