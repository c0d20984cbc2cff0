/* npy.c — float32 tensors in NumPy's .npy format: read (versions 1.0, 2.0, 3.0) and write (version 1.0).
 *
 * Layout: "\x93NUMPY", major, minor, header length (u16 little-endian for 1.0, u32 for 2.0 and 3.0), a Python
 * dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and ended by '\n',
 * then the data. Only little-endian float32 in C order of rank 1..4 with no zero dimension is accepted.
 */
#define _POSIX_C_SOURCE 200809L
#include "vggc.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define ALIGN 64                      /* numpy pads the header so the data starts at a multiple of 64 */
#define MAX_DIM ((int64_t)1 << 53)    /* a larger dimension is not a tensor we can hold */

/* The header dict being parsed, and what it said. */
typedef struct {
    const char *where;
    vggc_error *err;
    const char *text, *p, *end;  /* the dict literal, p the cursor */
    char descr[32];
    int fortran;                 /* -1 until given */
    int rank;                    /* -1 until given; may exceed 4 (then only 4 dims are kept) */
    int64_t shape[4];
} header;

/* A syntax error in the header dict, located by its byte offset in the dict. */
static int PRINTF_LIKE(2, 3) syntax(header *h, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vggc_fail(h->err, h->where, "header byte %zu: %s", (size_t)(h->p - h->text), what);
}

/* "(2, 3)", as Python writes a tuple: "(5,)" for one dimension. */
static const char *format_shape(char *out, size_t cap, const int64_t *shape, int rank)
{
    size_t len = (size_t)snprintf(out, cap, "(");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < cap) snprintf(out + len, cap - len, rank == 1 ? ",)" : ")");
    return out;
}

/* ---- reading the header dict --------------------------------------------------------------------------- */

static int peek(header *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')) h->p++;
    return h->p < h->end ? (unsigned char)*h->p : -1;
}

static int expect(header *h, int c, const char *context)
{
    if (peek(h) != c) return syntax(h, "expected '%c' %s", c, context);
    h->p++;
    return 0;
}

/* A Python string literal without escapes, 'x' or "x", copied into out (cap bytes). */
static int parse_string(header *h, char *out, size_t cap)
{
    int quote = peek(h);
    if (quote != '\'' && quote != '"') return syntax(h, "expected a string");
    const char *s = ++h->p;
    while (h->p < h->end && *h->p != quote && *h->p != '\\' && *h->p != '\n') h->p++;
    if (h->p == h->end || *h->p != quote) return syntax(h, "unterminated or escaped string (expected a plain string)");
    size_t n = (size_t)(h->p++ - s);
    if (n >= cap) return syntax(h, "string of %zu bytes is too long (expected at most %zu)", n, cap - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int parse_bool(header *h, int *out)
{
    peek(h);
    size_t left = (size_t)(h->end - h->p);
    *out = left >= 4 && memcmp(h->p, "True", 4) == 0;
    if (!*out && !(left >= 5 && memcmp(h->p, "False", 5) == 0)) return syntax(h, "fortran_order is not True or False");
    h->p += *out ? 4 : 5;
    return 0;
}

static int parse_dim(header *h, int64_t *out)
{
    int64_t v = 0;
    if (peek(h) == '-') return syntax(h, "negative dimension in shape (expected integers >= 1)");
    const char *from = h->p;
    for (; h->p < h->end && *h->p >= '0' && *h->p <= '9'; h->p++) {
        v = v * 10 + (*h->p - '0');
        if (v > MAX_DIM) return syntax(h, "dimension too large in shape (expected at most 2^53)");
    }
    if (h->p == from) return syntax(h, "expected an integer in shape");
    *out = v;
    return 0;
}

/* '(' (int (',' int)* ','?)? ')', "(n,)" for one dimension. rank counts every dimension; the first 4 are kept. */
static int parse_shape(header *h)
{
    int comma = 0;
    h->rank = 0;
    if (expect(h, '(', "to open the shape tuple")) return -1;
    while (peek(h) != ')') {
        int64_t d = 0;
        if (h->rank == 64) return syntax(h, "shape has more than 64 dimensions");
        if (parse_dim(h, &d)) return -1;
        if (h->rank < 4) h->shape[h->rank] = d;
        h->rank++;
        comma = peek(h) == ',';
        if (comma) h->p++;
        else if (peek(h) != ')') return syntax(h, "expected ',' or ')' in the shape tuple");
    }
    h->p++;
    return (h->rank == 1 && !comma) ? syntax(h, "shape (n) is not a tuple (expected (n,))") : 0;
}

static int parse_value(header *h, const char *key)
{
    if (strcmp(key, "descr") == 0 && !h->descr[0]) return parse_string(h, h->descr, sizeof h->descr);
    if (strcmp(key, "fortran_order") == 0 && h->fortran < 0) return parse_bool(h, &h->fortran);
    if (strcmp(key, "shape") == 0 && h->rank < 0) return parse_shape(h);
    if (strcmp(key, "descr") == 0 || strcmp(key, "fortran_order") == 0 || strcmp(key, "shape") == 0)
        return syntax(h, "'%s' given twice (expected it once)", key);
    char shown[80];
    return syntax(h, "unknown key '%s' (expected descr, fortran_order and shape)",
                  vggc_printable(shown, sizeof shown, key, 64));
}

/* '{' 'key': value (',' 'key': value)* ','? '}' then only whitespace. */
static int parse_dict(header *h)
{
    char key[32];
    if (expect(h, '{', "(the header is a Python dict)")) return -1;
    while (peek(h) != '}') {
        if (parse_string(h, key, sizeof key) || expect(h, ':', "after a key") || parse_value(h, key)) return -1;
        if (peek(h) == ',') h->p++;
        else if (peek(h) != '}') return syntax(h, "expected ',' or '}' in the header dict");
    }
    h->p++;
    if (peek(h) != -1) return syntax(h, "unexpected text after the header dict");
    if (!h->descr[0] || h->fortran < 0 || h->rank < 0)
        return vggc_fail(h->err, h->where, "header lacks '%s' (expected descr, fortran_order and shape)",
                    !h->descr[0] ? "descr" : h->fortran < 0 ? "fortran_order" : "shape");
    return 0;
}

/* ---- checking and reading ------------------------------------------------------------------------------ */

/* Product of the dims in bytes of float32, or -1 if it would overflow size_t. */
static int byte_count(const int64_t *shape, int rank, size_t *bytes)
{
    size_t n = sizeof(float);
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 1 || (uint64_t)shape[i] > SIZE_MAX / n) return -1;
        n *= (size_t)shape[i];
    }
    *bytes = n;
    return 0;
}

static int check_header(const header *h)
{
    char shape[160];
    if (strcmp(h->descr, "<f4") != 0)
        return vggc_fail(h->err, h->where, "dtype '%s' is not supported (expected float32, '<f4')",
                    vggc_printable(shape, sizeof shape, h->descr, 64));
    if (h->fortran) return vggc_fail(h->err, h->where, "fortran_order is True (expected C order, False)");
    if (h->rank < 1 || h->rank > 4) return vggc_fail(h->err, h->where, "rank %d (expected 1 to 4 dimensions)", h->rank);
    format_shape(shape, sizeof shape, h->shape, h->rank);
    for (int i = 0; i < h->rank; i++)
        if (h->shape[i] == 0)
            return vggc_fail(h->err, h->where, "shape %s has a zero dimension (expected every dimension >= 1)", shape);
    return 0;
}

/* Magic, version, header length: the header dict is buf[*start, *start + *len). */
static int parse_preamble(const unsigned char *buf, size_t size, size_t *start, size_t *len, const char *where,
                          vggc_error *err)
{
    if (size < MAGIC_LEN + 2 || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
        return vggc_fail(err, where, "not a .npy file (expected the magic \\x93NUMPY)");
    int major = buf[6], minor = buf[7];
    if (minor != 0 || major < 1 || major > 3)
        return vggc_fail(err, where, ".npy version %d.%d is not supported (expected 1.0, 2.0 or 3.0)", major, minor);
    *start = major == 1 ? 10 : 12;
    if (size < *start) return vggc_fail(err, where, "file is %zu bytes, cut inside the preamble (expected %zu)", size, *start);
    *len = (size_t)buf[8] | (size_t)buf[9] << 8;
    if (major > 1) *len |= (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (*len > size - *start)
        return vggc_fail(err, where, "header of %zu bytes runs past the end of the file (%zu bytes follow; truncated?)", *len,
                    size - *start);
    return 0;
}

static int check_data_size(const header *h, size_t have, size_t *want)
{
    char shape[160];
    format_shape(shape, sizeof shape, h->shape, h->rank);
    if (byte_count(h->shape, h->rank, want)) return vggc_fail(h->err, h->where, "shape %s is too large", shape);
    if (have < *want)
        return vggc_fail(h->err, h->where, "data is truncated: %zu bytes (expected %zu for shape %s)", have, *want, shape);
    if (have > *want)
        return vggc_fail(h->err, h->where, "%zu trailing bytes after the data (expected %zu bytes for shape %s)", have - *want,
                    *want, shape);
    return 0;
}

static int parse_at(const unsigned char *buf, size_t size, const char *where, float **data, int64_t shape[4], int *rank,
                    vggc_error *err)
{
    size_t start = 0, len = 0, bytes = 0;
    header h = {.where = where, .err = err, .fortran = -1, .rank = -1};
    *data = NULL;
    if (parse_preamble(buf, size, &start, &len, where, err)) return -1;
    h.text = h.p = (const char *)buf + start;
    h.end = h.text + len;
    if (parse_dict(&h) || check_header(&h) || check_data_size(&h, size - start - len, &bytes)) return -1;
    *data = malloc(bytes);
    if (!*data) return vggc_fail(err, where, "out of memory for %zu bytes", bytes);
    memcpy(*data, buf + start + len, bytes); /* little-endian host */
    memcpy(shape, h.shape, sizeof h.shape);
    *rank = h.rank;
    return 0;
}

int vggc_npy_parse(const void *buf, size_t size, float **data, int64_t shape[4], int *rank, vggc_error *err)
{
    return parse_at(buf, buf ? size : 0, "<memory>", data, shape, rank, err);
}

int vggc_npy_read(const char *path, float **data, int64_t shape[4], int *rank, vggc_error *err)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    *data = NULL;
    if (vggc_read_file(path, &buf, &size, err)) return -1;
    int rc = parse_at(buf, size, path, data, shape, rank, err);
    free(buf);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------------------- */

/* Preamble and dict for version 1.0, padded with spaces and ended by '\n' to a multiple of ALIGN bytes. */
static size_t format_header(char *out, size_t cap, int rank, const int64_t *shape)
{
    char tuple[160], dict[256];
    format_shape(tuple, sizeof tuple, shape, rank);
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple);
    size_t len = (size_t)n, pad = (ALIGN - (MAGIC_LEN + 4 + len + 1) % ALIGN) % ALIGN, hlen = len + pad + 1;
    if (MAGIC_LEN + 4 + hlen > cap) return 0;
    memcpy(out, MAGIC "\x01\x00", MAGIC_LEN + 2);
    out[8] = (char)(hlen & 0xFF);
    out[9] = (char)(hlen >> 8);
    memcpy(out + 10, dict, len);
    memset(out + 10 + len, ' ', pad);
    out[10 + len + pad] = '\n';
    return 10 + hlen;
}

/* A new file beside path, "<path>.tmp-<pid>-<k>", opened for writing; its name in tmp. */
static FILE *create_temp(const char *path, char *tmp, size_t cap, vggc_error *err)
{
    static unsigned counter;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(tmp, cap, "%s.tmp-%ld-%u", path, (long)getpid(), counter++);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        vggc_fail(err, path, "cannot create a temporary file beside it: %s", strerror(errno));
        return NULL;
    }
    FILE *out = fdopen(fd, "wb");
    if (out) return out;
    vggc_fail(err, path, "cannot open a temporary file: %s", strerror(errno));
    close(fd);
    remove(tmp);
    return NULL;
}

static int check_write(const char *path, const float *data, int rank, const int64_t *shape, size_t *bytes,
                       vggc_error *err)
{
    char tuple[160];
    if (rank < 1 || rank > 4) return vggc_fail(err, path, "rank %d (expected 1 to 4 dimensions)", rank);
    format_shape(tuple, sizeof tuple, shape, rank);
    if (byte_count(shape, rank, bytes) || !data)
        return vggc_fail(err, path, "cannot write shape %s (expected dimensions >= 1 and data)", tuple);
    for (int i = 0; i < rank; i++)
        if (shape[i] > MAX_DIM) return vggc_fail(err, path, "shape %s is too large (expected dimensions <= 2^53)", tuple);
    return 0;
}

/* Header and data into out, then close it; -1 with err set if any step failed. */
static int write_and_close(FILE *out, const char *head, size_t head_len, const float *data, size_t bytes,
                           const char *path, vggc_error *err)
{
    errno = 0;
    int ok = fwrite(head, 1, head_len, out) == head_len;
    ok = ok && fwrite(data, 1, bytes, out) == bytes; /* little-endian host */
    ok = (fflush(out) == 0) && ok;
    int e = errno;
    ok = (fclose(out) == 0) && ok;
    return ok ? 0 : vggc_fail(err, path, "cannot write: %s", strerror(e ? e : errno));
}

int vggc_npy_check_output(const char *path, vggc_error *err)
{
    if (vggc_check_replaceable(path, err)) return -1;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return vggc_fail(err, path, "out of memory");
    FILE *out = create_temp(path, tmp, cap, err); /* the one honest test that a file can be made beside path */
    if (out) {
        fclose(out);
        remove(tmp);
    }
    free(tmp);
    return out ? 0 : -1;
}

int vggc_npy_write(const char *path, const float *data, int rank, const int64_t *shape, vggc_error *err)
{
    char head[512];
    size_t bytes = 0, head_len = 0;
    if (check_write(path, data, rank, shape, &bytes, err) || vggc_check_replaceable(path, err)) return -1;
    head_len = format_header(head, sizeof head, rank, shape);
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return vggc_fail(err, path, "out of memory");
    FILE *out = create_temp(path, tmp, cap, err);
    int rc = out ? write_and_close(out, head, head_len, data, bytes, path, err) : -1;
    if (!rc && rename(tmp, path) != 0) rc = vggc_fail(err, path, "cannot replace the file: %s", strerror(errno));
    if (rc && out) remove(tmp);
    free(tmp);
    return rc;
}
