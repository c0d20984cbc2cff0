/* helpers.c — what the vggc tests share. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "platform.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void expect_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol)
{
    double max_abs = 0, max_rel = 0;
    size_t bad = 0, first[5];
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        double r = d / (fabs((double)want[i]) + 1e-30);
        if (d > max_abs) max_abs = d;
        if (r > max_rel && fabs((double)want[i]) > atol) max_rel = r;
        if (!(d <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 5) first[bad] = i;
            bad++;
        }
    }
    if (bad == 0) return;
    char list[512] = "";
    for (size_t j = 0; j < bad && j < 5; j++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, " [%zu] got %.9g want %.9g;", first[j], (double)got[first[j]],
                 (double)want[first[j]]);
    }
    cr_assert_fail("%s: %zu of %zu elements differ (max abs %.3g, max rel %.3g; rtol %.1g atol %.1g); first:%s", what,
                   bad, n, max_abs, max_rel, rtol, atol, list);
}

double rel_error(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        num += d * d;
        den += (double)want[i] * (double)want[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

cmd_result run(const char *fmt, ...)
{
    char cmd[8192], line[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *dir = make_temp_dir("run");
    snprintf(line, sizeof line, "( %s ) >'%s/out' 2>'%s/err' </dev/null", cmd, dir, dir);
    int st = system(line);
    cmd_result r;
    r.status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    snprintf(line, sizeof line, "%s/out", dir);
    r.out = read_text(line);
    snprintf(line, sizeof line, "%s/err", dir);
    r.err = read_text(line);
    remove_tree(dir);
    free(dir);
    return r;
}

void cmd_free(cmd_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *make_temp_dir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/vggc-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    cr_assert_not_null(mkdtemp(tmpl), "cannot make a temporary directory %s", tmpl);
    return strdup(tmpl);
}

void remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) cr_log_warn("could not remove %s", dir);
}

int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

long long json_int(const char *doc, const char *key)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = strstr(doc, pattern);
    cr_assert_not_null(at, "no \"%s\" in the JSON report:\n%s", key, doc);
    return strtoll(at + strlen(pattern), NULL, 10);
}

float *floats(size_t count)
{
    float *p = calloc(count ? count : 1, sizeof *p);
    cr_assert_not_null(p, "out of memory for %zu floats", count);
    return p;
}

void fill_random(float *x, size_t n, unsigned seed, float scale)
{
    uint64_t s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = scale * (2.0f * (float)((s >> 40) & 0xFFFFFF) / 16777216.0f - 1.0f);
    }
}

static void put_u64(FILE *f, uint64_t v)
{
    for (int i = 0; i < 8; i++) fputc((int)(v >> (8 * i)) & 0xFF, f);
}

void write_random_safetensors(const char *path, const random_tensor *t, int n, unsigned seed)
{
    char header[8192];
    size_t len = (size_t)snprintf(header, sizeof header, "{"), offset = 0;
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].rank; d++) count *= (size_t)t[i].shape[d];
        len += (size_t)snprintf(header + len, sizeof header - len, "%s\"%s\": {\"dtype\": \"F32\", \"shape\": [",
                                i ? ", " : "", t[i].name);
        for (int d = 0; d < t[i].rank; d++)
            len += (size_t)snprintf(header + len, sizeof header - len, "%s%lld", d ? ", " : "", (long long)t[i].shape[d]);
        len += (size_t)snprintf(header + len, sizeof header - len, "], \"data_offsets\": [%zu, %zu]}", offset,
                                offset + 4 * count);
        offset += 4 * count;
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "}");
    cr_assert_lt(len, sizeof header, "the header of %s does not fit", path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    put_u64(f, len);
    fwrite(header, 1, len, f);
    for (int i = 0; i < n; i++) {
        size_t count = 1;
        for (int d = 0; d < t[i].rank; d++) count *= (size_t)t[i].shape[d];
        float *x = malloc(count * sizeof *x);
        cr_assert_not_null(x);
        fill_random(x, count, seed + (unsigned)i, t[i].scale);
        cr_assert_eq(fwrite(x, sizeof *x, count, f), count, "short write to %s", path);
        free(x);
    }
    cr_assert_eq(fclose(f), 0, "cannot close %s", path);
}

void expect_same_bits(const char *what, const float *got, const float *want, size_t n)
{
    size_t bad = 0;
    char list[400] = "";
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &want[i], sizeof got[i]) == 0) continue;
        if (bad++ < 4) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, " [%zu] %.9g vs %.9g;", i, (double)got[i], (double)want[i]);
        }
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu values differ in their bits; first:%s", what, bad, n, list);
}

const vggc_kernels *require_isa(const char *isa)
{
    const vggc_kernels *k = vggc_kernels_named(isa);
    if (!k) cr_skip_test("this CPU has no %s (the kernels for it are not tested here)", isa);
    cr_log_info("kernels: %s", isa);
    return k;
}
