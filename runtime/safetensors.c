/* safetensors.c — weights from a safetensors file into the tensors of a generated model.
 *
 * Layout: a little-endian u64 header length n, n bytes of UTF-8 JSON, then the data section. The JSON maps each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data section), plus an
 * optional "__metadata__" object that is ignored. Nothing in the header is trusted: the whole header is parsed and
 * checked, then every tensor is matched against the model and every value is checked to be finite, and only then
 * is any weight written: the stored tensors first, then BatchNorm folding, then each prepared conv weight, made
 * from the file's tensor through one temporary (the raw weight of a prepared conv is not kept).
 *
 * A file is mapped, not read (fileio.c), and its data is used in chunks of CHUNK bytes whose pages are let go once
 * used, so the file never sits in memory beside the weights; after each chunk the file is checked to be unchanged.
 */
#define _POSIX_C_SOURCE 200809L
#include "vggc.h"
#include "fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


#define MAX_HEADER 100000000u          /* as the reference implementation: a longer header is not a weights file */
#define MAX_RANK 8                     /* file tensors of higher rank are rejected */
#define MAX_DEPTH 64                   /* nesting inside __metadata__ */
#define MAX_COUNT ((uint64_t)1 << 53)  /* largest shape dimension or offset accepted */
#define NAME_MAX_SHOWN 120             /* bytes of a name shown in a message */
#define CHUNK ((size_t)8 << 20)        /* bytes of the data used at once before their pages are let go */

/* One tensor as the header describes it. */
typedef struct {
    const char *name;         /* decoded UTF-8, NUL-terminated, in the arena */
    const char *dtype;        /* NULL until given */
    size_t dsize;             /* bytes per element */
    int rank;                 /* -1 until given */
    int64_t shape[MAX_RANK];  /* (rank) */
    int n_offsets;            /* -1 until given, then 2 */
    uint64_t begin, end;      /* relative to the data section */
    int index;                /* position in the header */
    int used;                 /* matched to a model tensor */
} entry;

/* A parsed file: the cursor over the JSON while parsing, then the tensors and the data section. */
typedef struct {
    const char *where;
    vggc_error *err;
    const unsigned char *json, *p, *json_end;
    char *arena;          /* every decoded string; their total never exceeds the JSON's length */
    size_t arena_used;
    int seen_metadata;
    entry *entries;       /* (n), header order */
    int n, cap;
    entry **by_name;      /* (n), sorted by name */
    entry **by_offset;    /* (n), sorted by begin, end, header position */
    const unsigned char *data;
    uint64_t data_size;
    const vggc_mapped *src;  /* the whole file: data lies inside src->data */
    int writing;             /* set once every check passed and weights are being written */
} st_file;

typedef int (*member_fn)(st_file *f, const char *key, void *ctx);
typedef int (*element_fn)(st_file *f, void *ctx);

/* ---- messages ------------------------------------------------------------------------------------------ */

/* A JSON syntax error, located by its byte offset in the header. */
static int PRINTF_LIKE(2, 3) syntax(st_file *f, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vggc_fail(f->err, f->where, "header byte %zu: %s", (size_t)(f->p - f->json), what);
}

/* name, cut to NAME_MAX_SHOWN bytes at a character boundary, control characters shown as '?'. */
static const char *printable(char *out, size_t cap, const char *name)
{
    return vggc_printable(out, cap, name, NAME_MAX_SHOWN);
}

/* An error about one file tensor: "<where>: <name>: <what>". */
static int PRINTF_LIKE(3, 4) tensor_fail(st_file *f, const entry *e, const char *fmt, ...)
{
    char what[256], name[NAME_MAX_SHOWN + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return vggc_fail(f->err, f->where, "%s: %s", printable(name, sizeof name, e->name), what);
}

/* "[64, 3, 3, 3]" */
static const char *format_shape(char *out, size_t cap, const int64_t *shape, int rank)
{
    size_t len = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (len < cap) snprintf(out + len, cap - len, "]");
    return out;
}

static const char *model_name(const vggc_model *m)
{
    return m->name ? m->name : "the model";
}

/* ---- UTF-8 --------------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0: no overlongs, surrogates, or past U+10FFFF. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    static const unsigned char lead_bits[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || n < len) return 0;
    uint32_t cp = s[0] & lead_bits[len];
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    return (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) ? 0 : len;
}

static int check_utf8(st_file *f)
{
    size_t n = (size_t)(f->json_end - f->json);
    for (size_t i = 0, len; i < n; i += len) {
        len = utf8_length(f->json + i, n - i);
        if (len == 0) return vggc_fail(f->err, f->where, "header byte %zu: invalid UTF-8 (expected a UTF-8 JSON header)", i);
    }
    return 0;
}

/* Append code point cp as UTF-8. */
static void put_utf8(st_file *f, uint32_t cp)
{
    static const unsigned char lead[5] = {0, 0x00, 0xC0, 0xE0, 0xF0};
    size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    char *o = f->arena + f->arena_used;
    for (size_t i = len - 1; i > 0; i--, cp >>= 6) o[i] = (char)(0x80 | (cp & 0x3F));
    o[0] = (char)(lead[len] | cp);
    f->arena_used += len;
}

/* ---- JSON ---------------------------------------------------------------------------------------------- */

static int peek(st_file *f)
{
    while (f->p < f->json_end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r')) f->p++;
    return f->p < f->json_end ? *f->p : -1;
}

static int expect(st_file *f, int c, const char *context)
{
    if (peek(f) != c) return syntax(f, "expected '%c' %s", c, context);
    f->p++;
    return 0;
}

/* Four hex digits after "\u". */
static int read_hex4(st_file *f, uint32_t *out)
{
    *out = 0;
    if (f->json_end - f->p < 4) return syntax(f, "unterminated \\u escape");
    for (int i = 0; i < 4; i++, f->p++) {
        int c = *f->p, d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return syntax(f, "invalid \\u escape (expected 4 hex digits)");
        *out = *out << 4 | (uint32_t)d;
    }
    return 0;
}

/* After "\uD8xx": the "\uDCxx" that completes the pair, combined into *cp. */
static int read_low_surrogate(st_file *f, uint32_t *cp)
{
    uint32_t lo;
    if (f->json_end - f->p < 2 || f->p[0] != '\\' || f->p[1] != 'u')
        return syntax(f, "lone high surrogate (expected a \\uDC00-\\uDFFF escape after it)");
    f->p += 2;
    if (read_hex4(f, &lo)) return -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return syntax(f, "high surrogate followed by \\u%04X (expected \\uDC00-\\uDFFF)", lo);
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return 0;
}

/* The escape after a backslash, as a code point (never 0: names are C strings). */
static int read_escape(st_file *f, uint32_t *cp)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (f->p >= f->json_end) return syntax(f, "unterminated string");
    int c = *f->p++;
    const char *k = strchr(from, c);
    if (c && k) {
        *cp = (unsigned char)to[k - from];
        return 0;
    }
    if (c != 'u') {
        f->p--;
        return syntax(f, "invalid escape (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
    }
    if (read_hex4(f, cp)) return -1;
    if (*cp == 0) return syntax(f, "\\u0000 in a string (expected no NUL characters)");
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return syntax(f, "lone low surrogate \\u%04X", *cp);
    return (*cp >= 0xD800 && *cp <= 0xDBFF) ? read_low_surrogate(f, cp) : 0;
}

/* A string, decoded into the arena; *out points at it. The header is already known to be valid UTF-8. */
static int parse_string(st_file *f, const char **out)
{
    if (expect(f, '"', "(a string)")) return -1;
    char *s = f->arena + f->arena_used;
    for (;;) {
        if (f->p >= f->json_end) return syntax(f, "unterminated string");
        unsigned char c = *f->p++;
        uint32_t cp = 0;
        if (c == '"') break;
        if (c < 0x20) {
            f->p--;
            return syntax(f, "control character in a string (expected it escaped)");
        }
        if (c != '\\') f->arena[f->arena_used++] = (char)c;
        else if (read_escape(f, &cp)) return -1;
        else put_utf8(f, cp);
    }
    f->arena[f->arena_used++] = '\0';
    *out = s;
    return 0;
}

typedef struct {
    const unsigned char *text;  /* the token */
    int len;
    int negative, integral, too_large;
    uint64_t value;             /* of the integer part, when not too_large */
} number;

static int skip_digits(st_file *f, number *n)
{
    const unsigned char *from = f->p;
    for (; f->p < f->json_end && *f->p >= '0' && *f->p <= '9'; f->p++)
        if (n->value > MAX_COUNT) n->too_large = 1;
        else n->value = n->value * 10 + (uint64_t)(*f->p - '0');
    return f->p > from ? 0 : syntax(f, "expected a digit");
}

static int at(const st_file *f, char c)
{
    return f->p < f->json_end && *f->p == c;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int parse_number(st_file *f, number *n)
{
    number ignored;
    memset(n, 0, sizeof *n);
    memset(&ignored, 0, sizeof ignored);
    peek(f);
    n->text = f->p;
    n->negative = at(f, '-');
    f->p += n->negative;
    if (at(f, '0')) f->p++;
    else if (skip_digits(f, n)) return -1;
    n->integral = !at(f, '.') && !at(f, 'e') && !at(f, 'E');
    if (at(f, '.')) {
        f->p++;
        if (skip_digits(f, &ignored)) return -1;
    }
    if (at(f, 'e') || at(f, 'E')) {
        f->p++;
        if (at(f, '+') || at(f, '-')) f->p++;
        if (skip_digits(f, &ignored)) return -1;
    }
    n->len = (int)(f->p - n->text > 40 ? 40 : f->p - n->text);
    return 0;
}

/* A non-negative integer of at most 2^53 for e's field what. */
static int parse_count(st_file *f, const entry *e, const char *what, uint64_t *out)
{
    number n;
    int c = peek(f);
    if (c != '-' && (c < '0' || c > '9')) return tensor_fail(f, e, "%s is not a number (expected an integer >= 0)", what);
    if (parse_number(f, &n)) return -1;
    if (n.negative) return tensor_fail(f, e, "%s %.*s is negative (expected an integer >= 0)", what, n.len, n.text);
    if (!n.integral) return tensor_fail(f, e, "%s %.*s is not an integer (expected an integer >= 0)", what, n.len, n.text);
    if (n.too_large || n.value > MAX_COUNT)
        return tensor_fail(f, e, "%s %.*s is too large (expected at most 2^53)", what, n.len, n.text);
    *out = n.value;
    return 0;
}

/* '{' ("key": value ("," "key": value)*)? '}', calling fn with the cursor before each value. */
static int parse_object(st_file *f, member_fn fn, void *ctx)
{
    if (expect(f, '{', "(an object)")) return -1;
    if (peek(f) == '}') {
        f->p++;
        return 0;
    }
    for (;;) {
        const char *key;
        if (peek(f) != '"') return syntax(f, "expected a string key");
        if (parse_string(f, &key) || expect(f, ':', "after a key") || fn(f, key, ctx)) return -1;
        int c = peek(f);
        if (c != ',' && c != '}') return syntax(f, "expected ',' or '}' in an object");
        f->p++;
        if (c == '}') return 0;
    }
}

/* '[' (value ("," value)*)? ']', calling fn with the cursor before each value. */
static int parse_array(st_file *f, element_fn fn, void *ctx)
{
    if (expect(f, '[', "(an array)")) return -1;
    if (peek(f) == ']') {
        f->p++;
        return 0;
    }
    for (;;) {
        if (fn(f, ctx)) return -1;
        int c = peek(f);
        if (c != ',' && c != ']') return syntax(f, "expected ',' or ']' in an array");
        f->p++;
        if (c == ']') return 0;
    }
}

static int skip_value(st_file *f, void *depth);

static int skip_member(st_file *f, const char *key, void *depth)
{
    (void)key;
    return skip_value(f, depth);
}

static int skip_literal(st_file *f)
{
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(words[i]);
        if ((size_t)(f->json_end - f->p) >= len && memcmp(f->p, words[i], len) == 0) {
            f->p += len;
            return 0;
        }
    }
    return syntax(f, "expected a JSON value");
}

/* Any JSON value, checked and ignored; depth points at the nesting level. */
static int skip_value(st_file *f, void *depth)
{
    int c = peek(f), inner = *(int *)depth + 1;
    const char *s;
    number n;
    if ((c == '{' || c == '[') && inner > MAX_DEPTH) return syntax(f, "nesting deeper than %d", MAX_DEPTH);
    if (c == '{') return parse_object(f, skip_member, &inner);
    if (c == '[') return parse_array(f, skip_value, &inner);
    if (c == '"') return parse_string(f, &s);
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(f, &n);
    return skip_literal(f);
}

/* ---- the header ---------------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8}, {"U64", 8}, {"I32", 4}, {"U32", 4},
              {"I16", 2}, {"U16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
              {"F8_E8M0", 1}, {"C64", 8}};

/* Bytes per element of a safetensors dtype, 0 if unknown. */
static size_t dtype_size(const char *dtype)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtype, dtypes[i].name) == 0) return dtypes[i].size;
    return 0;
}

static int parse_dtype(st_file *f, entry *e)
{
    if (e->dtype) return tensor_fail(f, e, "dtype given twice (expected it once)");
    if (peek(f) != '"') return tensor_fail(f, e, "dtype is not a string (expected e.g. \"F32\")");
    return parse_string(f, &e->dtype);
}

static int parse_dim(st_file *f, void *ctx)
{
    entry *e = ctx;
    uint64_t dim;
    if (e->rank == MAX_RANK) return tensor_fail(f, e, "shape has more than %d dimensions", MAX_RANK);
    if (parse_count(f, e, "shape dimension", &dim)) return -1;
    e->shape[e->rank++] = (int64_t)dim;
    return 0;
}

static int parse_shape(st_file *f, entry *e)
{
    if (e->rank >= 0) return tensor_fail(f, e, "shape given twice (expected it once)");
    if (peek(f) != '[') return tensor_fail(f, e, "shape is not an array (expected e.g. [64, 3, 3, 3])");
    e->rank = 0;
    return parse_array(f, parse_dim, e);
}

static int parse_offset(st_file *f, void *ctx)
{
    entry *e = ctx;
    uint64_t v;
    if (e->n_offsets == 2) return tensor_fail(f, e, "data_offsets has more than 2 numbers (expected [begin, end])");
    if (parse_count(f, e, "data offset", &v)) return -1;
    *(e->n_offsets++ == 0 ? &e->begin : &e->end) = v;
    return 0;
}

static int parse_offsets(st_file *f, entry *e)
{
    if (e->n_offsets >= 0) return tensor_fail(f, e, "data_offsets given twice (expected it once)");
    if (peek(f) != '[') return tensor_fail(f, e, "data_offsets is not an array (expected [begin, end])");
    e->n_offsets = 0;
    if (parse_array(f, parse_offset, e)) return -1;
    return e->n_offsets == 2 ? 0 : tensor_fail(f, e, "data_offsets holds %d of 2 numbers (expected [begin, end])", e->n_offsets);
}

static int parse_field(st_file *f, const char *key, void *ctx)
{
    entry *e = ctx;
    char shown[NAME_MAX_SHOWN + 8];
    if (strcmp(key, "dtype") == 0) return parse_dtype(f, e);
    if (strcmp(key, "shape") == 0) return parse_shape(f, e);
    if (strcmp(key, "data_offsets") == 0) return parse_offsets(f, e);
    return tensor_fail(f, e, "unknown field \"%s\" (expected dtype, shape and data_offsets)",
                       printable(shown, sizeof shown, key));
}

static int grow_entries(st_file *f)
{
    int cap = f->cap ? 2 * f->cap : 64;
    entry *more = realloc(f->entries, (size_t)cap * sizeof *more);
    if (!more) return vggc_fail(f->err, f->where, "out of memory for %d tensors", cap);
    f->entries = more;
    f->cap = cap;
    return 0;
}

static entry *add_entry(st_file *f, const char *name)
{
    if (f->n == f->cap && grow_entries(f)) return NULL;
    entry *e = &f->entries[f->n];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->rank = -1;
    e->n_offsets = -1;
    e->index = f->n++;
    return e;
}

static int parse_tensor(st_file *f, const char *name)
{
    entry *e = add_entry(f, name);
    if (!e) return -1;
    if (peek(f) != '{') return tensor_fail(f, e, "not an object (expected {\"dtype\", \"shape\", \"data_offsets\"})");
    if (parse_object(f, parse_field, e)) return -1;
    if (!e->dtype) return tensor_fail(f, e, "no dtype (expected dtype, shape and data_offsets)");
    if (e->rank < 0) return tensor_fail(f, e, "no shape (expected dtype, shape and data_offsets)");
    if (e->n_offsets < 0) return tensor_fail(f, e, "no data_offsets (expected dtype, shape and data_offsets)");
    return 0;
}

static int parse_metadata(st_file *f)
{
    int depth = 1;
    if (f->seen_metadata) return syntax(f, "__metadata__ given twice (expected it once)");
    f->seen_metadata = 1;
    if (peek(f) != '{') return syntax(f, "__metadata__ is not an object (expected {\"key\": \"value\", ...})");
    return parse_object(f, skip_member, &depth);
}

static int parse_top_member(st_file *f, const char *key, void *ctx)
{
    (void)ctx;
    return strcmp(key, "__metadata__") == 0 ? parse_metadata(f) : parse_tensor(f, key);
}

static int parse_header(st_file *f)
{
    if (check_utf8(f)) return -1;
    f->arena = malloc((size_t)(f->json_end - f->json) + 1);
    if (!f->arena) return vggc_fail(f->err, f->where, "out of memory for a %zu-byte header", (size_t)(f->json_end - f->json));
    if (peek(f) != '{') return syntax(f, "expected '{' (the header is a JSON object)");
    if (parse_object(f, parse_top_member, NULL)) return -1;
    return peek(f) == -1 ? 0 : syntax(f, "unexpected text after the header object");
}

/* Split buf into the JSON header and the data section. */
static int split_file(st_file *f, const unsigned char *buf, size_t size)
{
    uint64_t n = 0;
    if (size < 8) return vggc_fail(f->err, f->where, "file is %zu bytes, too short for a header length (expected at least 8)", size);
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    if (n > MAX_HEADER)
        return vggc_fail(f->err, f->where, "header length %" PRIu64 " is absurd (expected at most %u bytes)", n, MAX_HEADER);
    if (n > size - 8)
        return vggc_fail(f->err, f->where, "header of %" PRIu64 " bytes runs past the end of the file (%zu bytes follow; truncated?)",
                    n, size - 8);
    f->json = f->p = buf + 8;
    f->json_end = f->json + n;
    f->data = f->json_end;
    f->data_size = size - 8 - n;
    return 0;
}

/* ---- checking the tensors ------------------------------------------------------------------------------ */

/* Product of e's dims, or 0 with *ok cleared on overflow. */
static uint64_t element_count(const int64_t *shape, int rank, int *ok)
{
    uint64_t count = 1;
    *ok = 1;
    for (int i = 0; i < rank; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d && count > UINT64_MAX / d) {
            *ok = 0;
            return 0;
        }
        count *= d;
    }
    return count;
}

static int check_entry(st_file *f, entry *e)
{
    char shape[160], dtype[NAME_MAX_SHOWN + 8];
    int ok;
    e->dsize = dtype_size(e->dtype);
    if (!e->dsize)
        return tensor_fail(f, e, "unknown dtype %s (expected a safetensors dtype such as F32)",
                           printable(dtype, sizeof dtype, e->dtype));
    if (e->begin > e->end)
        return tensor_fail(f, e, "data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin (expected begin <= end)",
                           e->begin, e->end);
    if (e->end > f->data_size)
        return tensor_fail(f, e, "data_offsets [%" PRIu64 ", %" PRIu64 "] run past the data section (%" PRIu64 " bytes)",
                           e->begin, e->end, f->data_size);
    uint64_t count = element_count(e->shape, e->rank, &ok);
    format_shape(shape, sizeof shape, e->shape, e->rank);
    if (!ok || count > UINT64_MAX / e->dsize) return tensor_fail(f, e, "shape %s is too large", shape);
    if (count * e->dsize != e->end - e->begin)
        return tensor_fail(f, e, "%" PRIu64 " bytes of data for %s %s (expected %" PRIu64 ")", e->end - e->begin,
                           e->dtype, shape, count * e->dsize);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(entry *const *)a)->name, (*(entry *const *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int sort_entries(st_file *f)
{
    size_t n = (size_t)f->n + 1;
    f->by_name = malloc(n * sizeof *f->by_name);
    f->by_offset = malloc(n * sizeof *f->by_offset);
    if (!f->by_name || !f->by_offset) return vggc_fail(f->err, f->where, "out of memory for %d tensors", f->n);
    for (int i = 0; i < f->n; i++) f->by_name[i] = f->by_offset[i] = &f->entries[i];
    qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, by_name);
    qsort(f->by_offset, (size_t)f->n, sizeof *f->by_offset, by_offset);
    return 0;
}

static int check_duplicates(st_file *f)
{
    for (int i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return tensor_fail(f, f->by_name[i], "tensor given twice in the header (expected unique names)");
    return 0;
}

/* Non-empty ranges must be disjoint; gaps between them are allowed. */
static int check_overlaps(st_file *f)
{
    const entry *last = NULL;
    char name[NAME_MAX_SHOWN + 8];
    for (int i = 0; i < f->n; i++) {
        const entry *e = f->by_offset[i];
        if (e->begin == e->end) continue;
        if (last && e->begin < last->end)
            return tensor_fail(f, e, "data_offsets [%" PRIu64 ", %" PRIu64 "] overlap %s [%" PRIu64 ", %" PRIu64
                               "] (expected disjoint ranges)", e->begin, e->end,
                               printable(name, sizeof name, last->name), last->begin, last->end);
        if (!last || e->end > last->end) last = e;
    }
    return 0;
}

static int check_file(st_file *f)
{
    for (int i = 0; i < f->n; i++)
        if (check_entry(f, &f->entries[i])) return -1;
    if (sort_entries(f) || check_duplicates(f)) return -1;
    return check_overlaps(f);
}

/* ---- matching the model -------------------------------------------------------------------------------- */

static int is_ignored(const entry *e)
{
    static const char suffix[] = ".num_batches_tracked";
    size_t n = strlen(e->name), k = sizeof suffix - 1;
    return n >= k && strcmp(e->name + n - k, suffix) == 0;
}

static entry *find_entry(const st_file *f, const char *name)
{
    entry key, *pkey = &key, **hit;
    key.name = name;
    hit = f->n ? bsearch(&pkey, f->by_name, (size_t)f->n, sizeof *f->by_name, by_name) : NULL;
    return hit ? *hit : NULL;
}

static int match_by_name(st_file *f, const vggc_model *m, entry **pick)
{
    char name[NAME_MAX_SHOWN + 8];
    for (int i = 0; i < m->n_tensors; i++) {
        pick[i] = find_entry(f, m->tensors[i].name);
        if (!pick[i])
            return vggc_fail(f->err, f->where, "%s: missing (expected by %s)", printable(name, sizeof name, m->tensors[i].name),
                        model_name(m));
        pick[i]->used = 1;
    }
    for (int j = 0; j < f->n; j++)
        if (!f->entries[j].used && !is_ignored(&f->entries[j]))
            return tensor_fail(f, &f->entries[j], "not a tensor of %s (is the file for another model?)", model_name(m));
    return 0;
}

static int match_by_order(st_file *f, const vggc_model *m, entry **pick)
{
    int k = 0;
    for (int j = 0; j < f->n; j++)
        if (!is_ignored(f->by_offset[j])) {
            if (k < m->n_tensors) pick[k] = f->by_offset[j];
            k++;
        }
    if (k != m->n_tensors)
        return vggc_fail(f->err, f->where, "%d tensors to match by order (expected %d, the tensors of %s)", k, m->n_tensors,
                    model_name(m));
    return 0;
}

/* "features.0.weight", or by order "features.1.weight (by order, as features.0.weight)". */
static const char *describe(char *out, size_t cap, const entry *e, const vggc_tensor *t, int match)
{
    char a[NAME_MAX_SHOWN + 8], b[NAME_MAX_SHOWN + 8];
    if (match == VGGC_MATCH_BY_NAME || strcmp(e->name, t->name) == 0) snprintf(out, cap, "%s", printable(a, sizeof a, e->name));
    else snprintf(out, cap, "%s (by order, as %s)", printable(a, sizeof a, e->name), printable(b, sizeof b, t->name));
    return out;
}

/* The prepare that makes its copy from tensor i, or NULL. */
static const vggc_prepare *prepare_of(const vggc_model *m, int i)
{
    for (int j = 0; j < m->n_prepares; j++)
        if (m->prepares[j].tensor == i) return &m->prepares[j];
    return NULL;
}

static int check_model_tensor(st_file *f, const vggc_model *m, const vggc_tensor *t)
{
    char name[NAME_MAX_SHOWN + 8];
    int ok;
    if (t->rank < 1 || t->rank > 4 || (!t->data && !prepare_of(m, (int)(t - m->tensors)))
        || element_count(t->shape, t->rank, &ok) != (uint64_t)t->count || !ok)
        return vggc_fail(f->err, f->where, "%s: model %s describes it inconsistently (expected rank 1..4, count = product of shape, "
                         "storage unless a prepare names it)",
                    printable(name, sizeof name, t->name), model_name(m));
    return 0;
}

static int valid_kind(const vggc_prepare *p)
{
    if (p->kind == VGGC_PREPARE_DENSE) return p->k == 0 && p->m == 0 && !p->fold;
    if (p->kind == VGGC_PREPARE_DIRECT) return p->k >= 1 && p->k <= 7 && p->k % 2 == 1; /* vggc_conv_direct_ex */
    return p->kind == VGGC_PREPARE_WINOGRAD && p->k == 3 && p->m >= 2 && p->m <= 6;
}

/* The raw weight's shape a prepare expects: (cout, cin, k, k), or (cout, cin) for a linear layer's. */
static int prepared_shape(const vggc_prepare *p, const vggc_tensor *t)
{
    if (p->kind == VGGC_PREPARE_DENSE) return t->rank == 2 && t->shape[0] == p->cout && t->shape[1] == p->cin;
    return t->rank == 4 && t->shape[0] == p->cout && t->shape[1] == p->cin && t->shape[2] == p->k
           && t->shape[3] == p->k;
}

/* A prepare names one weight without storage, and at most one fold of that conv; a fold whose conv weight is not
 * stored is named by a prepare (else the weight would go unfolded). */
static int check_prepares(st_file *f, const vggc_model *m)
{
    for (int j = 0; j < m->n_prepares; j++) {
        const vggc_prepare *p = &m->prepares[j];
        const vggc_tensor *t = p->tensor >= 0 && p->tensor < m->n_tensors ? &m->tensors[p->tensor] : NULL;
        const vggc_bn_fold *b = p->fold;
        if (!t || t->data || !p->dst || !valid_kind(p) || prepare_of(m, p->tensor) != p || !prepared_shape(p, t)
            || (b && (b->conv_weight || b->channels != p->cout || b->per_channel != p->cin * p->k * p->k)))
            return vggc_fail(f->err, f->where, "prepared weight %d: model %s describes it inconsistently (expected a "
                             "conv weight (cout, cin, k, k) or a linear weight (cout, cin) without storage)", j,
                             model_name(m));
    }
    for (int i = 0; i < m->n_folds; i++) {
        int named = 0;
        for (int j = 0; j < m->n_prepares; j++) named |= m->prepares[j].fold == &m->folds[i];
        if (!m->folds[i].conv_weight && !named)
            return vggc_fail(f->err, f->where, "batchnorm fold %d: model %s describes it inconsistently (expected its "
                             "conv weight stored or prepared)", i, model_name(m));
    }
    return 0;
}

static int same_shape(const entry *e, const vggc_tensor *t)
{
    if (e->rank != t->rank) return 0;
    for (int d = 0; d < t->rank; d++)
        if (e->shape[d] != t->shape[d]) return 0;
    return 1;
}

static int check_pick(st_file *f, const vggc_model *m, const vggc_tensor *t, const entry *e, int match)
{
    char who[2 * NAME_MAX_SHOWN + 40], found[160], want[160];
    if (check_model_tensor(f, m, t)) return -1;
    describe(who, sizeof who, e, t, match);
    if (strcmp(e->dtype, "F32") && strcmp(e->dtype, "F16") && strcmp(e->dtype, "BF16"))
        return vggc_fail(f->err, f->where, "%s: dtype %s is not supported (expected F32, F16 or BF16)", who, e->dtype);
    if (!same_shape(e, t))
        return vggc_fail(f->err, f->where, "%s: shape %s (expected %s)", who, format_shape(found, sizeof found, e->shape, e->rank),
                    format_shape(want, sizeof want, t->shape, t->rank));
    return 0;
}

/* ---- copying ------------------------------------------------------------------------------------------- */

/* IEEE half to float, exact: zeros, subnormals, infinities and NaN payloads included. */
static float f16_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = h >> 10 & 0x1F, mant = h & 0x3FFu, bits;
    if (exp == 0x1F) bits = sign | 0x7F800000u | mant << 13;
    else if (exp) bits = sign | (exp + 112) << 23 | mant << 13;
    else if (!mant) bits = sign;
    else {
        for (exp = 113; !(mant & 0x400); exp--) mant <<= 1;
        bits = sign | exp << 23 | (mant & 0x3FFu) << 13;
    }
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static float bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* count values of dtype (F32, F16 or BF16, little-endian, any alignment) into out. */
static void convert(float *out, const unsigned char *src, size_t count, const char *dtype)
{
    if (strcmp(dtype, "F32") == 0) {
        memcpy(out, src, count * sizeof *out); /* little-endian host */
        return;
    }
    int half = strcmp(dtype, "F16") == 0;
    for (size_t i = 0; i < count; i++) {
        uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
        out[i] = half ? f16_to_float(h) : bf16_to_float(h);
    }
}

/* ---- chunks ------------------------------------------------------------------------------------------- */

/* After using data[begin, end): let its pages go, and stop if the file changed under the mapping. */
static int used(st_file *f, uint64_t begin, uint64_t end)
{
    char what[160];
    vggc_map_release(f->src, (size_t)(f->data - f->src->data) + (size_t)begin, (size_t)(end - begin));
    if (!vggc_map_changed(f->src, what, sizeof what)) return 0;
    return vggc_fail(f->err, f->where, "changed while loading: %s (%s)", what,
                     f->writing ? "the weights are now partly overwritten; load an unchanging file again"
                                : "expected it left alone while it loads; nothing was loaded");
}

/* What a pass over a tensor's elements needs: the model tensor it was picked for, the match mode (for messages),
 * the destination (for copies). */
typedef struct {
    const vggc_tensor *t;
    int match;
    float *out;
    const vggc_prepare *prep; /* pack_chunk's linear weight */
} pass;

typedef int (*chunk_fn)(st_file *f, const entry *e, size_t first, size_t n, const pass *p);

/* fn over e's elements [first, first + n) in chunks of at most CHUNK bytes, each let go once used. */
static int each_chunk(st_file *f, const entry *e, chunk_fn fn, const pass *p)
{
    size_t count = (size_t)((e->end - e->begin) / e->dsize), per = CHUNK / e->dsize;
    for (size_t first = 0; first < count; first += per) {
        size_t n = count - first < per ? count - first : per;
        if (fn(f, e, first, n, p) || used(f, e->begin + first * e->dsize, e->begin + (first + n) * e->dsize))
            return -1;
    }
    return 0;
}

/* ---- finite values ------------------------------------------------------------------------------------- */

/* 1 if element i at src (dsize 4: F32; 2: F16 if half, else BF16; little-endian) is an infinity or a NaN (its
 * exponent all ones); *is_nan tells which. */
static int non_finite(const unsigned char *src, size_t i, size_t dsize, int half, int *is_nan)
{
    uint32_t bits, exp_mask, mant_mask;
    if (dsize == 4) {
        const unsigned char *b = src + 4 * i;
        bits = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        exp_mask = 0x7F800000u, mant_mask = 0x007FFFFFu;
    } else {
        bits = (uint32_t)(src[2 * i] | src[2 * i + 1] << 8);
        exp_mask = half ? 0x7C00u : 0x7F80u, mant_mask = half ? 0x03FFu : 0x007Fu;
    }
    *is_nan = (bits & mant_mask) != 0;
    return (bits & exp_mask) == exp_mask;
}

/* Elements [first, first + n) of the tensor picked for p->t are finite: a NaN or an infinity in the weights would
 * silently poison every output, so the file is rejected naming the first one. */
static int finite_chunk(st_file *f, const entry *e, size_t first, size_t n, const pass *p)
{
    char who[2 * NAME_MAX_SHOWN + 40];
    const unsigned char *src = f->data + e->begin;
    int half = strcmp(e->dtype, "F16") == 0, is_nan = 0;
    for (size_t i = first; i < first + n; i++) {
        if (!non_finite(src, i, e->dsize, half, &is_nan)) continue;
        int negative = (e->dsize == 4 ? src[4 * i + 3] : src[2 * i + 1]) & 0x80;
        return vggc_fail(f->err, f->where, "%s: element %zu is %s (weights must be finite)",
                         describe(who, sizeof who, e, p->t, p->match), i, is_nan ? "NaN" : negative ? "-Inf" : "Inf");
    }
    return 0;
}

static int copy_chunk(st_file *f, const entry *e, size_t first, size_t n, const pass *p)
{
    convert(p->out + first, f->data + e->begin + first * e->dsize, n, e->dtype);
    return 0;
}

/* Elements [first, first + n) of a linear weight (cout, cin), converted into p->out, written transposed into the
 * prepared copy in vggc_dense_pack's panels (the columns past cout stay zero, as the static copy starts): panel by
 * panel, 16 inputs at a time, each output's 16 weights read together and written down its 16 rows. */
static int pack_chunk(st_file *f, const entry *e, size_t first, size_t n, const pass *p)
{
    const vggc_prepare *q = p->prep;
    size_t in_f = (size_t)q->cin, o0 = first / in_f, o1 = (first + n + in_f - 1) / in_f;
    convert(p->out, f->data + e->begin + first * e->dsize, n, e->dtype);
    for (size_t oa = o0; oa < o1;) {
        size_t panel_end = (oa / VGGC_DENSE_PANEL + 1) * VGGC_DENSE_PANEL, ob = o1 < panel_end ? o1 : panel_end;
        float *row0 = q->dst + vggc_dense_at(q->cin, q->cout, 0, (int)oa); /* input 0, output oa */
        size_t ld = vggc_dense_at(q->cin, q->cout, 1, (int)oa) - vggc_dense_at(q->cin, q->cout, 0, (int)oa);
        for (size_t i0 = 0; i0 < in_f; i0 += 16)
            for (size_t o = oa; o < ob; o++)
                for (size_t i = i0; i < i0 + 16 && i < in_f; i++) {
                    size_t at = o * in_f + i;
                    if (at >= first && at < first + n) row0[i * ld + (o - oa)] = p->out[at - first];
                }
        oa = ob;
    }
    return 0;
}

/* ---- loading ------------------------------------------------------------------------------------------- */

static void release(st_file *f)
{
    free(f->arena);
    free(f->entries);
    free(f->by_name);
    free(f->by_offset);
}

static int match_model(st_file *f, const vggc_model *m, int match, entry **pick)
{
    if (match != VGGC_MATCH_BY_NAME && match != VGGC_MATCH_BY_ORDER)
        return vggc_fail(f->err, f->where, "match mode %d (expected VGGC_MATCH_BY_NAME or VGGC_MATCH_BY_ORDER)", match);
    if (match == VGGC_MATCH_BY_NAME ? match_by_name(f, m, pick) : match_by_order(f, m, pick)) return -1;
    for (int i = 0; i < m->n_tensors; i++)
        if (check_pick(f, m, &m->tensors[i], pick[i], match)) return -1;
    if (check_prepares(f, m)) return -1;
    for (int i = 0; i < m->n_tensors; i++) {
        pass p = {&m->tensors[i], match, NULL, NULL};
        if (each_chunk(f, pick[i], finite_chunk, &p)) return -1;
    }
    return 0;
}

/* The temporary that each prepared conv weight is made from in turn, and each chunk of a linear weight converted
 * before it is packed: floats for the largest. */
static int alloc_temp(st_file *f, const vggc_model *m, float **temp)
{
    size_t most = 0;
    for (int j = 0; j < m->n_prepares; j++) {
        size_t count = m->prepares[j].kind == VGGC_PREPARE_DENSE ? CHUNK / 2 /* F16 */
                                                                   : (size_t)m->tensors[m->prepares[j].tensor].count;
        most = count > most ? count : most;
    }
    *temp = most ? malloc(most * sizeof **temp) : NULL;
    if (most && !*temp) return vggc_fail(f->err, f->where, "out of memory for a %zu-byte conv weight", most * sizeof **temp);
    return 0;
}

/* Floats of a prepare's copy (its kind checked by check_prepares). */
static size_t prepared_floats(const vggc_prepare *p)
{
    if (p->kind == VGGC_PREPARE_WINOGRAD) return VGGC_WINOGRAD_WEIGHT_FLOATS(p->cin, p->cout, p->m);
    if (p->kind == VGGC_PREPARE_DIRECT) return VGGC_DIRECT_WEIGHT_FLOATS(p->cin, p->cout, p->k);
    return VGGC_DENSE_WEIGHT_FLOATS(p->cin, p->cout);
}

/* Every check passed: the stored tensors, then BatchNorm folding, then each prepared copy from the file's tensor.
 * Every weight is on huge pages where it can be (vggc_advise_huge) before its first byte is written. */
static int write_weights(st_file *f, const vggc_model *m, int match, entry **pick, float *temp)
{
    f->writing = 1;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].data) vggc_advise_huge(m->tensors[i].data, (size_t)m->tensors[i].count * sizeof(float));
    for (int j = 0; j < m->n_prepares; j++)
        vggc_advise_huge(m->prepares[j].dst, prepared_floats(&m->prepares[j]) * sizeof(float));
    for (int i = 0; i < m->n_tensors; i++) {
        pass p = {&m->tensors[i], match, m->tensors[i].data, NULL};
        if (p.out && each_chunk(f, pick[i], copy_chunk, &p)) return -1;
    }
    vggc_fold_batchnorm(m);
    for (int j = 0; j < m->n_prepares; j++) {
        const vggc_prepare *prep = &m->prepares[j];
        pass p = {&m->tensors[prep->tensor], match, temp, prep};
        if (prep->kind == VGGC_PREPARE_DENSE) {
            if (each_chunk(f, pick[prep->tensor], pack_chunk, &p)) return -1;
            continue;
        }
        if (each_chunk(f, pick[prep->tensor], copy_chunk, &p)) return -1;
        vggc_prepare_weight(prep, temp);
    }
    return 0;
}

static int load(const vggc_model *m, const vggc_mapped *src, int match, const char *where, vggc_error *err)
{
    st_file f = {.where = where, .err = err, .src = src};
    entry **pick = malloc(((size_t)(m->n_tensors > 0 ? m->n_tensors : 0) + 1) * sizeof *pick);
    float *temp = NULL;
    int rc = !pick ? vggc_fail(err, where, "out of memory") : 0;
    if (!rc) rc = split_file(&f, src->data, src->size);
    if (!rc) rc = parse_header(&f);
    if (!rc) rc = check_file(&f);
    if (!rc) rc = match_model(&f, m, match, pick);
    if (!rc) rc = alloc_temp(&f, m, &temp);
    if (!rc) rc = write_weights(&f, m, match, pick, temp);
    free(temp);
    free(pick);
    release(&f);
    return rc;
}

int vggc_load_safetensors_mem(const vggc_model *m, const void *data, size_t size, int match, vggc_error *err)
{
    const vggc_mapped src = {.data = data, .size = data ? size : 0, .fd = -1};
    if (vggc_check_isa(err)) return -1; /* the prepared weights are laid out for the kernels that will run */
    return load(m, &src, match, "<memory>", err);
}

int vggc_load_safetensors(const vggc_model *m, const char *path, int match, vggc_error *err)
{
    vggc_mapped src;
    if (vggc_check_isa(err)) return -1; /* the prepared weights are laid out for the kernels that will run */
    if (vggc_map_file(path, &src, err)) return -1;
    int rc = load(m, &src, match, path, err);
    vggc_unmap(&src);
    return rc;
}
