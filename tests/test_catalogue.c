/* test_catalogue.c — the rows of tests/BAD_INPUTS.md that tests/test_errors.c does not already check: bad weight
 * files, bad input tensors, bad command lines and output paths of a generated runner, and the generator's
 * read-only, compiler and runner-path cases. Every case runs in a directory that already holds good files and
 * an earlier output, and checks the whole contract: exit status 2, nothing on stdout, exactly one line on stderr
 * that starts with the program's name, the place and the reason, and the directory byte for byte as before (no
 * partial output, no temporary file, the earlier output untouched). */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "platform.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- snapshots of a directory, byte for byte ----------------------------------------------------------- */

#define MAX_ENTRIES 32

typedef struct {
    int n;
    char *names[MAX_ENTRIES];
    unsigned char *bytes[MAX_ENTRIES]; /* NULL for a directory */
    size_t sizes[MAX_ENTRIES];
    mode_t modes[MAX_ENTRIES];
} snapshot;

static int not_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* The whole file (any bytes), malloc'ed, its size in *size; NULL if it cannot be read. */
static unsigned char *read_bytes(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    unsigned char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += got) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    *size = len;
    return buf;
}

static snapshot take_snapshot(const char *dir)
{
    snapshot s = {0};
    struct dirent **list;
    int n = scandir(dir, &list, not_dots, alphasort);
    cr_assert_geq(n, 0, "cannot list %s", dir);
    cr_assert_leq(n, MAX_ENTRIES, "too many files in %s", dir);
    for (int i = 0; i < n; i++) {
        char path[4400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        cr_assert_eq(stat(path, &st), 0, "cannot stat %s", path);
        s.names[i] = strdup(list[i]->d_name);
        s.modes[i] = st.st_mode;
        s.bytes[i] = S_ISDIR(st.st_mode) ? NULL : read_bytes(path, &s.sizes[i]);
        free(list[i]);
    }
    free(list);
    s.n = n;
    return s;
}

static void free_snapshot(snapshot *s)
{
    for (int i = 0; i < s->n; i++) free(s->names[i]), free(s->bytes[i]);
    s->n = 0;
}

static const char *names_of(const snapshot *s, char *out, size_t cap)
{
    out[0] = '\0';
    for (int i = 0; i < s->n; i++) {
        strncat(out, i ? " " : "", cap - strlen(out) - 1);
        strncat(out, s->names[i], cap - strlen(out) - 1);
    }
    return out;
}

/* The directory holds the same names with the same bytes and modes: no temp file, no partial output, nothing
 * rewritten. */
static void expect_unchanged(const snapshot *before, const char *dir, const char *cmd)
{
    snapshot after = take_snapshot(dir);
    char want[4096], got[4096];
    cr_expect_str_eq(names_of(&after, got, sizeof got), names_of(before, want, sizeof want),
                     "`%s` changed the names in its directory", cmd);
    for (int i = 0; i < before->n && i < after.n; i++) {
        if (strcmp(before->names[i], after.names[i]) != 0) continue;
        int same = before->modes[i] == after.modes[i] && before->sizes[i] == after.sizes[i] &&
                   (!before->bytes[i] || (after.bytes[i] && memcmp(before->bytes[i], after.bytes[i], before->sizes[i]) == 0));
        cr_expect(same, "`%s` changed %s (it must stay byte-identical)", cmd, before->names[i]);
    }
    free_snapshot(&after);
}

/* The one-line contract: exit 2, empty stdout, exactly one line on stderr starting with "<prefix>: <where>: "
 * and holding every fragment (a NULL-ended list). */
static void expect_one_line(const cmd_result *r, const char *cmd, const char *prefix, const char *where, va_list whats)
{
    char head[4400];
    snprintf(head, sizeof head, "%s: %s: ", prefix, where);
    cr_expect_eq(r->status, 2, "`%s` exited %d, want 2; stderr:\n%s", cmd, r->status, r->err);
    cr_expect_str_empty(r->out, "`%s` wrote to stdout:\n%s", cmd, r->out);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl && nl[1] == '\0', "`%s` did not write exactly one line on stderr:\n%s", cmd, r->err);
    cr_expect(strncmp(r->err, head, strlen(head)) == 0, "`%s`: stderr does not start with '%s':\n%s", cmd, head, r->err);
    for (const char *what = va_arg(whats, const char *); what; what = va_arg(whats, const char *))
        cr_expect(strstr(r->err, what) != NULL, "`%s`: the message does not say '%s':\n%s", cmd, what, r->err);
}

/* ---- files --------------------------------------------------------------------------------------------- */

static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(bytes, 1, size, f), size, "short write to %s", path);
    cr_assert_eq(fclose(f), 0, "cannot close %s", path);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *out = malloc(n);
    snprintf(out, n, "%s/%s", dir, name);
    return out;
}

/* ---- the runner: net = 8,M,16,M at 3x16x16, no avgpool, classifier 32, 10 classes ------------------------ */

#define RUNNER_ENV "VGGC_CATALOGUE_RUNNER"
#define MODEL_ARGS "8,M,16,M --input 3x16x16 --avgpool none --classifier 32 --classes 10 --name net"
#define IN_COUNT (3 * 16 * 16)

/* Built once for all the tests of this file (each runs in its own process; the path travels in the environment). */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    const char *base = getenv("TMPDIR");
    char dir[4096], cmd[8192];
    snprintf(dir, sizeof dir, "%s/vggc-catalogue-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) return;
    snprintf(cmd, sizeof cmd, "'%s' build " MODEL_ARGS " -o '%s' >/dev/null", VGGC_EXE, dir);
    if (system(cmd) != 0) return;
    strcat(dir, "/net");
    setenv(RUNNER_ENV, dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    const char *runner = getenv(RUNNER_ENV);
    if (!runner) return;
    char *dir = strdup(runner);
    *strrchr(dir, '/') = '\0';
    remove_tree(dir);
    free(dir);
}

static const char *runner(void)
{
    const char *path = getenv(RUNNER_ENV);
    cr_assert(path && file_exists(path), "the runner was not built (`vggc build " MODEL_ARGS "` failed)");
    return path;
}

/* The model's tensors as torchvision names them, in state_dict order. */
typedef struct {
    const char *name;
    int rank;
    int64_t shape[4];
} spec;

static const spec NET[] = {
    {"features.0.weight", 4, {8, 3, 3, 3}},  {"features.0.bias", 1, {8}},
    {"features.3.weight", 4, {16, 8, 3, 3}}, {"features.3.bias", 1, {16}},
    {"classifier.0.weight", 2, {32, 256}},   {"classifier.0.bias", 1, {32}},
    {"classifier.3.weight", 2, {10, 32}},    {"classifier.3.bias", 1, {10}},
};
#define N_NET ((int)(sizeof NET / sizeof NET[0]))

static int64_t count_of(const spec *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->rank; d++) n *= s->shape[d];
    return n;
}

/* One tensor of a safetensors file being written: its header entry and its data. */
typedef struct {
    char name[64], dtype[8];
    int rank;
    int64_t shape[4];
    size_t bytes;
    unsigned char *data;
} st_tensor;

typedef struct {
    int n;
    st_tensor t[16];
} st_file;

/* The good file: every tensor F32 with seeded values in [-0.1, 0.1). */
static st_file good_weights(void)
{
    st_file f;
    memset(&f, 0, sizeof f);
    f.n = N_NET;
    for (int i = 0; i < N_NET; i++) {
        st_tensor *t = &f.t[i];
        snprintf(t->name, sizeof t->name, "%s", NET[i].name);
        snprintf(t->dtype, sizeof t->dtype, "F32");
        t->rank = NET[i].rank;
        memcpy(t->shape, NET[i].shape, sizeof t->shape);
        t->bytes = (size_t)count_of(&NET[i]) * sizeof(float);
        t->data = malloc(t->bytes);
        fill_random((float *)t->data, (size_t)count_of(&NET[i]), 100u + (unsigned)i, 0.1f);
    }
    return f;
}

static st_tensor *find(st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    cr_assert_fail("no tensor %s in the file being built", name);
    return NULL;
}

static void drop(st_file *f, const char *name)
{
    st_tensor *t = find(f, name);
    free(t->data);
    int i = (int)(t - f->t);
    memmove(&f->t[i], &f->t[i + 1], (size_t)(f->n - i - 1) * sizeof *t);
    f->n--;
}

static void free_weights(st_file *f)
{
    for (int i = 0; i < f->n; i++) free(f->t[i].data);
    f->n = 0;
}

/* The file's bytes: u64 header length, the JSON header, the data of each tensor in order. header_len, when not
 * 0, is written instead of the true length. */
static unsigned char *serialize(const st_file *f, uint64_t header_len, size_t *size)
{
    char json[8192];
    size_t len = (size_t)snprintf(json, sizeof json, "{\"__metadata__\": {\"format\": \"pt\"}"), data = 0;
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = &f->t[i];
        len += (size_t)snprintf(json + len, sizeof json - len, ", \"%s\": {\"dtype\": \"%s\", \"shape\": [", t->name, t->dtype);
        for (int d = 0; d < t->rank; d++)
            len += (size_t)snprintf(json + len, sizeof json - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        len += (size_t)snprintf(json + len, sizeof json - len, "], \"data_offsets\": [%zu, %zu]}", data, data + t->bytes);
        data += t->bytes;
    }
    len += (size_t)snprintf(json + len, sizeof json - len, "}");
    cr_assert_lt(len, sizeof json, "header too long");
    *size = 8 + len + data;
    unsigned char *out = malloc(*size), *p = out + 8 + len;
    uint64_t n = header_len ? header_len : len;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(n >> (8 * i));
    memcpy(out + 8, json, len);
    for (int i = 0; i < f->n; i++) memcpy(p, f->t[i].data, f->t[i].bytes), p += f->t[i].bytes;
    return out;
}

static void save_weights(const char *path, const st_file *f, uint64_t header_len, size_t cut)
{
    size_t size;
    unsigned char *bytes = serialize(f, header_len, &size);
    write_bytes(path, bytes, size - cut);
    free(bytes);
}

static void save_input(const char *path, const float *x, int rank, const int64_t *shape)
{
    vggc_error err = {""};
    cr_assert_eq(vggc_npy_write(path, x, rank, shape, &err), 0, "cannot write the input: %s", err.msg);
}

/* A fresh directory with good weights w.safetensors, a good input x.npy and the earlier output y.npy of a good
 * run (so every case also shows that a failed run leaves an earlier output alone). */
static char *prepared_runner_dir(void)
{
    char *dir = make_temp_dir("catalogue"), *w = join(dir, "w.safetensors"), *x = join(dir, "x.npy");
    st_file f = good_weights();
    save_weights(w, &f, 0, 0);
    free_weights(&f);
    float in[IN_COUNT];
    fill_random(in, IN_COUNT, 7, 1.0f);
    save_input(x, in, 4, (const int64_t[]){1, 3, 16, 16});
    cmd_result r = run("cd '%s' && '%s' --weights w.safetensors --input x.npy --output y.npy", dir, runner());
    cr_assert_eq(r.status, 0, "the good run failed: %s", r.err);
    cmd_free(&r);
    free(w), free(x);
    return dir;
}

/* Run the runner program with args inside dir, and expect the one-line error "net: <where>: ..." with every
 * fragment (whats) and dir unchanged. */
static void expect_runner_error_va(const char *dir, const char *program, const char *args, const char *where,
                                   va_list whats)
{
    snapshot before = take_snapshot(dir);
    cmd_result r = run("cd '%s' && '%s' %s", dir, program, args);
    expect_one_line(&r, args, "net", where, whats);
    expect_unchanged(&before, dir, args);
    free_snapshot(&before);
    cmd_free(&r);
}

static void expect_runner_error_at(const char *dir, const char *program, const char *args, const char *where, ...)
{
    va_list whats;
    va_start(whats, where);
    expect_runner_error_va(dir, program, args, where, whats);
    va_end(whats);
}

/* The same with the catalogue's runner. */
static void expect_runner_error_in(const char *dir, const char *args, const char *where, ...)
{
    va_list whats;
    va_start(whats, where);
    expect_runner_error_va(dir, runner(), args, where, whats);
    va_end(whats);
}

/* The same in a freshly prepared directory, removed afterwards. */
#define EXPECT_RUNNER_ERROR(args, where, ...)                              \
    do {                                                                   \
        char *dir_ = prepared_runner_dir();                                \
        expect_runner_error_in(dir_, args, where, __VA_ARGS__, NULL);      \
        remove_tree(dir_);                                                 \
        free(dir_);                                                        \
    } while (0)

/* ---- runner: the command line ------------------------------------------------------------------------- */

Test(runner_cli, an_unknown_option_points_to_help)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --frobnicate --output y.npy", "--frobnicate",
                        "unknown option (see --help)", NULL);
}

Test(runner_cli, no_weights_says_weights_are_required)
{
    EXPECT_RUNNER_ERROR("--input x.npy --output y.npy", "--weights", "is required (a safetensors file)");
}

Test(runner_cli, an_option_missing_its_value_needs_a_value)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --output y.npy --input", "--input", "needs a value");
}

Test(runner_cli, zero_threads_are_not_a_whole_number_from_1)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --threads 0 --output y.npy", "--threads",
                        "'0' is not a whole number from 1 to 1024");
}

Test(runner_cli, a_top_k_above_the_class_count_names_the_range)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --top 11 --output y.npy", "--top",
                        "'11' is not a whole number from 1 to 10", NULL);
}

Test(runner_cli, a_repeat_count_of_letters_is_not_a_whole_number)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --repeat x --output y.npy", "--repeat",
                        "'x' is not a whole number from 1 to 1000000");
}

/* The runner's error with VGGC_ISA=isa in its environment (the good run that prepares the directory has none). */
static void expect_isa_error(const char *isa, const char *what)
{
    char *dir = prepared_runner_dir();
    setenv("VGGC_ISA", isa, 1);
    expect_runner_error_in(dir, "--weights w.safetensors --output y.npy", "VGGC_ISA", what, NULL);
    unsetenv("VGGC_ISA");
    remove_tree(dir);
    free(dir);
}

Test(runner_cli, an_unknown_instruction_set_in_vggc_isa_lists_the_known_ones)
{
    expect_isa_error("sse9", "'sse9' is not an instruction set (expected avx512, avx2 or generic)");
}

/* Never a SIGILL: a row the CPU lacks is refused by name before any kernel runs. */
Test(runner_cli, an_instruction_set_this_cpu_lacks_is_refused_naming_what_it_runs)
{
    const vggc_kernels *lacking = NULL;
    for (int i = 0; i < vggc_kernels_count(); i++)
        if (!vggc_kernels_row(i)->supported()) lacking = vggc_kernels_row(i);
    if (!lacking) cr_skip_test("this CPU runs every instruction set vggc has kernels for");
    char want[64];
    snprintf(want, sizeof want, "this CPU has no %s (it runs: ", lacking->name);
    expect_isa_error(lacking->name, want);
}

Test(runner_cli, version_names_the_model_and_the_instruction_set_the_kernels_run_on)
{
    cmd_result r = run("'%s' --version", runner());
    cr_assert_eq(r.status, 0, "--version failed: %s", r.err);
    char want[96];
    snprintf(want, sizeof want, "kernels: %s (VGGC_ISA=avx512|avx2|generic forces one)", vggc_isa());
    cr_expect(strstr(r.out, "net: generated by vggc ") != NULL, "--version printed: %s", r.out);
    cr_expect(strstr(r.out, want) != NULL, "--version printed: %s (expected '%s')", r.out, want);
    cmd_free(&r);
    setenv("VGGC_ISA", "generic", 1);
    r = run("'%s' --version", runner());
    cr_expect(strstr(r.out, "kernels: generic ") != NULL, "VGGC_ISA=generic: --version printed: %s", r.out);
    cmd_free(&r);
}

/* ---- runner: weight files ------------------------------------------------------------------------------ */

/* Save f (freed here) as bad.safetensors in a prepared directory, with header_len as its header length when not 0
 * and its last cut bytes cut off, and expect the runner, given extra_args too, to reject it with every fragment
 * (a NULL-ended list). */
static void expect_weights_rejected(st_file *f, uint64_t header_len, size_t cut, const char *extra_args, ...)
{
    char *dir = prepared_runner_dir(), *bad = join(dir, "bad.safetensors"), args[512];
    save_weights(bad, f, header_len, cut);
    free_weights(f);
    snprintf(args, sizeof args, "--weights bad.safetensors %s--input x.npy --output y.npy", extra_args);
    snapshot before = take_snapshot(dir);
    cmd_result r = run("cd '%s' && '%s' %s", dir, runner(), args);
    va_list whats;
    va_start(whats, extra_args);
    expect_one_line(&r, args, "net", "--weights", whats);
    va_end(whats);
    expect_unchanged(&before, dir, args);
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir), free(bad);
}

#define EXPECT_WEIGHTS_REJECTED(f, header_len, cut, extra_args, ...) \
    expect_weights_rejected(f, header_len, cut, extra_args, __VA_ARGS__, NULL)

Test(runner_weights, a_missing_weights_file_cannot_be_opened)
{
    EXPECT_RUNNER_ERROR("--weights missing.safetensors --input x.npy --output y.npy", "--weights",
                        "missing.safetensors: cannot open: No such file or directory");
}

Test(runner_weights, a_file_cut_inside_the_data_is_rejected_naming_the_tensor_past_the_end)
{
    st_file f = good_weights();
    EXPECT_WEIGHTS_REJECTED(&f, 0, 40, "", "bad.safetensors: classifier.3.bias: data_offsets [",
                            "run past the data section");
}

Test(runner_weights, a_header_length_larger_than_the_file_is_rejected_as_truncated)
{
    st_file f = good_weights();
    EXPECT_WEIGHTS_REJECTED(&f, 1u << 20, 0, "", "bad.safetensors: header of 1048576 bytes runs past the end of the file "
                            "(40515 bytes follow; truncated?)");
}

Test(runner_weights, a_header_length_shorter_than_the_json_breaks_the_json)
{
    st_file f = good_weights();
    EXPECT_WEIGHTS_REJECTED(&f, 30, 0, "", "bad.safetensors: header byte 30: unterminated string");
}

Test(runner_weights, an_integer_dtype_is_not_supported)
{
    st_file f = good_weights();
    snprintf(find(&f, "features.0.bias")->dtype, 8, "I32");
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: features.0.bias: dtype I32 is not supported",
                            "(expected F32, F16 or BF16)");
}

Test(runner_weights, a_byte_count_that_does_not_fit_the_dtype_is_rejected)
{
    st_file f = good_weights();
    snprintf(find(&f, "features.0.bias")->dtype, 8, "F16"); /* 32 bytes where F16 [8] takes 16 */
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: features.0.bias: 32 bytes of data for F16 [8] (expected 16)");
}

Test(runner_weights, a_transposed_weight_says_what_was_found_and_expected)
{
    st_file f = good_weights();
    st_tensor *t = find(&f, "classifier.3.weight");
    t->shape[0] = 32, t->shape[1] = 10;
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: classifier.3.weight: shape [32, 10] (expected [10, 32])");
}

Test(runner_weights, a_missing_tensor_is_named)
{
    st_file f = good_weights();
    drop(&f, "features.3.bias");
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: features.3.bias: missing (expected by net)");
}

Test(runner_weights, an_extra_tensor_is_named_as_a_sign_of_another_model)
{
    st_file f = good_weights();
    st_tensor *t = &f.t[f.n++];
    snprintf(t->name, sizeof t->name, "features.6.weight");
    snprintf(t->dtype, sizeof t->dtype, "F32");
    t->rank = 1, t->shape[0] = 4, t->bytes = 16, t->data = calloc(4, sizeof(float));
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "",
                            "bad.safetensors: features.6.weight: not a tensor of net (is the file for another model?)");
}

Test(runner_weights, one_tensor_too_many_by_order_is_counted)
{
    st_file f = good_weights();
    st_tensor *t = &f.t[f.n++];
    snprintf(t->name, sizeof t->name, "head.weight");
    snprintf(t->dtype, sizeof t->dtype, "F32");
    t->rank = 1, t->shape[0] = 4, t->bytes = 16, t->data = calloc(4, sizeof(float));
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "--by-order ",
                            "bad.safetensors: 9 tensors to match by order (expected 8, the tensors of net)");
}

static void poison_f32(st_file *f, const char *name, size_t i, float value)
{
    memcpy(find(f, name)->data + 4 * i, &value, sizeof value);
}

Test(runner_weights, a_nan_weight_is_rejected_naming_the_tensor_and_element)
{
    st_file f = good_weights();
    poison_f32(&f, "features.0.weight", 17, NAN);
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: features.0.weight: element 17 is NaN (weights must be finite)");
}

Test(runner_weights, an_infinite_bias_is_rejected_naming_the_tensor_and_element)
{
    st_file f = good_weights();
    poison_f32(&f, "classifier.0.bias", 31, -INFINITY);
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: classifier.0.bias: element 31 is -Inf (weights must be finite)");
}

/* A BF16 file holding +Inf (0x7F80) in one weight; every other value is a finite BF16. */
Test(runner_weights, an_infinite_bf16_weight_is_rejected_after_conversion_would_have_hidden_nothing)
{
    st_file f = good_weights();
    for (int i = 0; i < f.n; i++) {
        st_tensor *t = &f.t[i];
        size_t n = t->bytes / 4;
        for (size_t k = 0; k < n; k++) { /* keep the high half of each float: a valid BF16 */
            t->data[2 * k] = t->data[4 * k + 2];
            t->data[2 * k + 1] = t->data[4 * k + 3];
        }
        t->bytes = 2 * n;
        snprintf(t->dtype, sizeof t->dtype, "BF16");
    }
    st_tensor *t = find(&f, "features.3.weight");
    t->data[2 * 5] = 0x80, t->data[2 * 5 + 1] = 0x7F;
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "", "bad.safetensors: features.3.weight: element 5 is Inf (weights must be finite)");
}

/* By order the message names the file's tensor and the model's tensor it stands for. */
Test(runner_weights, a_nan_weight_by_order_names_both_tensors)
{
    st_file f = good_weights();
    snprintf(find(&f, "classifier.3.weight")->name, 64, "head.1.weight");
    poison_f32(&f, "head.1.weight", 0, NAN);
    EXPECT_WEIGHTS_REJECTED(&f, 0, 0, "--by-order ",
                            "bad.safetensors: head.1.weight (by order, as classifier.3.weight): element 0 is NaN");
}

/* The library's promise behind the runner's: a file rejected for a NaN leaves every weight as it was. */
Test(runner_weights, a_file_rejected_for_a_nan_leaves_every_weight_unchanged)
{
    float a[4] = {42, 42, 42, 42}, b[2] = {42, 42};
    const float want_a[4] = {42, 42, 42, 42}, want_b[2] = {42, 42};
    const vggc_tensor tensors[] = {{"a", a, 1, {4, 0, 0, 0}, 4, 1}, {"b", b, 1, {2, 0, 0, 0}, 2, 1}};
    const vggc_model m = {"two", tensors, 2, NULL, 0, 1, 1, 1, 1, 2, 6, NULL, 0};
    st_file f = {2, {{"a", "F32", 1, {4, 0, 0, 0}, 16, calloc(4, sizeof(float))}, {"b", "F16", 1, {2, 0, 0, 0}, 4, calloc(2, 2)}}};
    f.t[1].data[2] = 0x01, f.t[1].data[3] = 0x7E; /* element 1 of b: an F16 NaN */
    size_t size;
    unsigned char *bytes = serialize(&f, 0, &size);
    free_weights(&f);
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&m, bytes, size, VGGC_MATCH_BY_NAME, &err);
    free(bytes);
    cr_assert_eq(rc, -1, "a file with a NaN loaded");
    cr_expect_str_eq(err.msg, "<memory>: b: element 1 is NaN (weights must be finite)");
    expect_close("a after the failed load", a, want_a, 4, 0, 0);
    expect_close("b after the failed load", b, want_b, 2, 0, 0);
}

/* ---- runner: input tensors ----------------------------------------------------------------------------- */

/* Save bad.npy (rank and shape given) in a prepared directory, filled from fill_random and then poked. */
static void expect_input_rejected(int rank, const int64_t *shape, long poke, float value, ...)
{
    char *dir = prepared_runner_dir(), *bad = join(dir, "bad.npy");
    size_t n = 1;
    for (int d = 0; d < rank; d++) n *= (size_t)shape[d];
    float *x = malloc(n * sizeof *x);
    fill_random(x, n, 3, 1.0f);
    if (poke >= 0) x[poke] = value;
    save_input(bad, x, rank, shape);
    free(x);
    const char *args = "--weights w.safetensors --input bad.npy --output y.npy";
    snapshot before = take_snapshot(dir);
    cmd_result r = run("cd '%s' && '%s' %s", dir, runner(), args);
    va_list whats;
    va_start(whats, value);
    expect_one_line(&r, args, "net", "--input", whats);
    va_end(whats);
    expect_unchanged(&before, dir, args);
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir), free(bad);
}

Test(runner_input, a_missing_input_file_cannot_be_opened)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --input missing.npy --output y.npy", "--input",
                        "missing.npy: cannot open: No such file or directory");
}

Test(runner_input, an_image_of_the_wrong_size_names_the_expected_shape)
{
    expect_input_rejected(4, (const int64_t[]){1, 3, 8, 8}, -1, 0,
                          "bad.npy: shape (1, 3, 8, 8) (expected (1, 3, 16, 16) or (3, 16, 16))", NULL);
}

Test(runner_input, a_batch_of_two_for_a_batch_1_runner_names_the_expected_shape)
{
    expect_input_rejected(4, (const int64_t[]){2, 3, 16, 16}, -1, 0,
                          "bad.npy: shape (2, 3, 16, 16) (expected (1, 3, 16, 16) or (3, 16, 16))", NULL);
}

Test(runner_input, a_rank_2_input_names_its_rank)
{
    expect_input_rejected(2, (const int64_t[]){3, 256}, -1, 0, "bad.npy: shape (3, 256) (expected (1, 3, 16, 16)", NULL);
}

Test(runner_input, a_nan_pixel_is_named_with_its_index)
{
    expect_input_rejected(4, (const int64_t[]){1, 3, 16, 16}, 300, NAN,
                          "bad.npy: element 300 is NaN (inputs must be finite)", NULL);
}

Test(runner_input, an_infinite_pixel_is_named_with_its_index)
{
    expect_input_rejected(3, (const int64_t[]){3, 16, 16}, 0, -INFINITY,
                          "bad.npy: element 0 is -Inf (inputs must be finite)", NULL);
}

/* A float64 .npy as numpy.save writes it: magic, version 1.0, the dict padded to 64 bytes, then the data. */
Test(runner_input, a_float64_input_names_its_dtype)
{
    char *dir = prepared_runner_dir(), *bad = join(dir, "bad.npy");
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 16, 16), }";
    size_t len = strlen(dict), pad = 64 - (10 + len + 1) % 64, hlen = len + pad + 1, size = 10 + hlen + 8 * IN_COUNT;
    unsigned char *bytes = calloc(1, size);
    memcpy(bytes, "\x93NUMPY\x01\x00", 8);
    bytes[8] = (unsigned char)hlen, bytes[9] = (unsigned char)(hlen >> 8);
    memcpy(bytes + 10, dict, len);
    memset(bytes + 10 + len, ' ', pad);
    bytes[10 + hlen - 1] = '\n';
    write_bytes(bad, bytes, size);
    free(bytes);
    expect_runner_error_in(dir, "--weights w.safetensors --input bad.npy --output y.npy", "--input",
                           "bad.npy: dtype '<f8' is not supported (expected float32, '<f4')", NULL);
    remove_tree(dir);
    free(dir), free(bad);
}

Test(runner_input, a_text_file_is_not_a_npy_file)
{
    char *dir = prepared_runner_dir(), *bad = join(dir, "bad.npy");
    write_bytes(bad, "0.5 0.25 0.125\n", 15);
    expect_runner_error_in(dir, "--weights w.safetensors --input bad.npy --output y.npy", "--input",
                           "bad.npy: not a .npy file (expected the magic \\x93NUMPY)", NULL);
    remove_tree(dir);
    free(dir), free(bad);
}

/* ---- runner: output paths ------------------------------------------------------------------------------ */

Test(runner_output, an_output_in_a_missing_directory_is_not_created)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --input x.npy --output missing/y.npy", "--output",
                        "missing/y.npy: cannot create a temporary file beside it: No such file or directory");
}

/* ENOTDIR stops root as well as anyone: the "directory" is a regular file. */
Test(runner_output, an_output_under_a_regular_file_is_not_created)
{
    EXPECT_RUNNER_ERROR("--weights w.safetensors --input x.npy --output x.npy/y.npy", "--output",
                        "x.npy/y.npy: cannot create a temporary file beside it: Not a directory");
}

Test(runner_output, an_output_path_that_is_a_directory_is_not_replaced)
{
    char *dir = prepared_runner_dir(), *sub = join(dir, "out.npy");
    cr_assert_eq(mkdir(sub, 0755), 0, "cannot make %s", sub);
    expect_runner_error_in(dir, "--weights w.safetensors --input x.npy --output out.npy", "--output",
                           "out.npy: is a directory (expected a file name)", NULL);
    remove_tree(dir);
    free(dir), free(sub);
}

/* rename() would silently replace a file its owner made read-only; the writer refuses, for root too. */
Test(runner_output, an_existing_read_only_output_is_not_replaced)
{
    char *dir = prepared_runner_dir(), *y = join(dir, "y.npy");
    cr_assert_eq(chmod(y, 0444), 0, "cannot chmod %s", y);
    expect_runner_error_in(dir, "--weights w.safetensors --input x.npy --output y.npy", "--output",
                           "y.npy: is read-only (not replaced)", NULL);
    remove_tree(dir);
    free(dir), free(y);
}

Test(runner_output, an_unwritable_output_directory_leaves_no_file)
{
    if (geteuid() == 0)
        cr_skip("running as root, where chmod 0555 does not stop writes; "
                "an_output_under_a_regular_file_is_not_created covers a directory that cannot take the file");
    char *dir = prepared_runner_dir(), *sub = join(dir, "ro");
    cr_assert_eq(mkdir(sub, 0555), 0, "cannot make %s", sub);
    expect_runner_error_in(dir, "--weights w.safetensors --input x.npy --output ro/y.npy", "--output",
                           "ro/y.npy: cannot create a temporary file beside it: Permission denied", NULL);
    remove_tree(dir);
    free(dir), free(sub);
}

/* ---- the generator ------------------------------------------------------------------------------------- */

/* A fresh directory holding a good generation of net; vggc ARGS runs inside it ('@' in args stands for it). */
static void expect_vggc_error(const char *setup, const char *args, const char *where, ...)
{
    char *dir = make_temp_dir("catalogue"), cmd[8192], place[4400];
    cmd_result r = run("'%s' generate " MODEL_ARGS " -o '%s'", VGGC_EXE, dir);
    cr_assert_eq(r.status, 0, "the good generation failed: %s", r.err);
    cmd_free(&r);
    if (setup) {
        r = run("cd '%s' && %s", dir, setup);
        cr_assert_eq(r.status, 0, "`%s` failed: %s", setup, r.err);
        cmd_free(&r);
    }
    snprintf(cmd, sizeof cmd, "%s", args);
    snprintf(place, sizeof place, "%s", where);
    for (char *at; (at = strchr(place, '@'));) { /* '@' in where stands for the directory */
        char rest[4400];
        snprintf(rest, sizeof rest, "%s", at + 1);
        snprintf(at, sizeof place - (size_t)(at - place), "%s%s", dir, rest);
    }
    snapshot before = take_snapshot(dir);
    r = run("cd '%s' && '%s' %s", dir, VGGC_EXE, cmd);
    va_list whats;
    va_start(whats, where);
    expect_one_line(&r, cmd, "vggc", place, whats);
    va_end(whats);
    expect_unchanged(&before, dir, cmd);
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

/* "-8,M" starts with '-' but no option starts with "-<digit>": it is the model, and the cfg names its token. */
Test(generator, a_list_starting_with_a_negative_count_is_a_cfg_with_a_bad_token)
{
    expect_vggc_error(NULL, "generate -8,M --name net -o .", "cfg \"-8,M\": token 1",
                      "-8 is not a positive channel count", NULL);
}

Test(generator, report_of_a_list_starting_with_a_negative_count_names_the_token)
{
    expect_vggc_error(NULL, "report -8,M", "cfg \"-8,M\": token 1", "-8 is not a positive channel count", NULL);
}

/* net.c is read-only: vggc would replace it with a rename; it refuses before writing anything, net.h included. */
Test(generator, a_read_only_output_file_is_not_replaced_and_nothing_is_written)
{
    expect_vggc_error("chmod 0444 net.c", "generate 8,M,16,M --input 3x16x16 --avgpool none --classifier 32 --classes 7 "
                      "--name net -o .", "./net.c", "is read-only (not replaced)", NULL);
}

/* A read-only file whose content would not change is left alone without complaint: nothing is replaced. */
Test(generator, a_read_only_output_file_that_would_not_change_is_fine)
{
    char *dir = make_temp_dir("catalogue");
    cmd_result r = run("cd '%s' && '%s' generate " MODEL_ARGS " -o . && chmod 0444 net.c net.h && "
                       "'%s' generate " MODEL_ARGS " -o .", dir, VGGC_EXE, VGGC_EXE);
    cr_expect_eq(r.status, 0, "regenerating unchanged read-only files failed: %s", r.err);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

/* ENOTDIR stops root as well: the output "directory" is a regular file's child. */
Test(generator, an_output_directory_under_a_regular_file_does_not_exist)
{
    expect_vggc_error(NULL, "generate " MODEL_ARGS " -o net.c/sub/deeper", "net.c/sub/deeper",
                      "net.c is a file, not a directory", NULL);
}

Test(generator, an_unknown_conv_algorithm_lists_the_algorithms)
{
    expect_vggc_error(NULL, "generate " MODEL_ARGS " --conv fast -o .", "--conv", "unknown algorithm 'fast'", NULL);
}

Test(generator, build_with_a_compiler_that_does_not_exist_writes_nothing)
{
    expect_vggc_error(NULL, "build " MODEL_ARGS " --batch 2 -o . --cc /nonexistent/cc", "--cc",
                      "'/nonexistent/cc' is not a command that can be run (expected a C compiler)", NULL);
}

Test(generator, build_with_cc_from_the_environment_names_cc)
{
    cr_assert_eq(setenv("CC", "no-such-cc-4711", 1), 0, "cannot set CC");
    expect_vggc_error(NULL, "build " MODEL_ARGS " --batch 2 -o .", "$CC",
                      "'no-such-cc-4711' is not a command that can be run (expected a C compiler)", NULL);
}

/* The runner's own path is taken by a directory: found before anything is written or compiled. */
Test(generator, build_with_a_directory_in_the_way_of_the_runner_writes_nothing)
{
    expect_vggc_error("mkdir net", "build " MODEL_ARGS " --batch 2 -o .", "./net",
                      "cannot replace: a directory is in the way", NULL);
}

Test(generator, build_with_a_read_only_runner_writes_nothing)
{
    expect_vggc_error("cp net.c net && chmod 0555 net", "build " MODEL_ARGS " --batch 2 -o .", "./net",
                      "is read-only (not replaced)", NULL);
}

/* ---- runner: image files (--images) -------------------------------------------------------------------- */

/* The prepared directory, plus a good 16x16 image img.ppm, a labels file of 9 names for the 10 classes and an
 * empty folder. */
static char *prepared_images_dir(void)
{
    char *dir = prepared_runner_dir(), *img = join(dir, "img.ppm"), *labels = join(dir, "labels9.txt");
    unsigned char ppm[15 + 16 * 16 * 3];
    memcpy(ppm, "P6\n16 16\n255\n", 13);
    for (int i = 13; i < (int)sizeof ppm; i++) ppm[i] = (unsigned char)(i * 37);
    write_bytes(img, ppm, 13 + 16 * 16 * 3);
    write_bytes(labels, "a\nb\nc\nd\ne\nf\ng\nh\ni\n", 18);
    cmd_result r = run("mkdir '%s/empty'", dir);
    cr_assert_eq(r.status, 0, "cannot make the empty folder");
    cmd_free(&r);
    free(img), free(labels);
    return dir;
}

#define EXPECT_IMAGES_ERROR(args, where, ...)                              \
    do {                                                                   \
        char *dir_ = prepared_images_dir();                                \
        expect_runner_error_in(dir_, args, where, __VA_ARGS__, NULL);      \
        remove_tree(dir_);                                                 \
        free(dir_);                                                        \
    } while (0)

/* The rows below are this run with one thing made bad. */
Test(runner_images, the_good_image_run_of_these_tests_classifies_the_image)
{
    char *dir = prepared_images_dir();
    cmd_result r = run("cd '%s' && '%s' --weights w.safetensors --images img.ppm", dir, runner());
    cr_expect_eq(r.status, 0, "the good run failed: %s", r.err);
    cr_expect(strncmp(r.out, "path,class,label,score\nimg.ppm,", 31) == 0, "the table on stdout is:\n%s", r.out);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

Test(runner_images, images_without_a_path_need_a_value)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images --top 2", "--images", "needs a value");
}

Test(runner_images, images_and_an_input_tensor_are_one_source_too_many)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --input x.npy", "--images",
                        "cannot be given with --input (one source of inputs)");
}

Test(runner_images, an_unknown_preprocessing_names_the_two)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --preprocess crop", "--preprocess",
                        "'crop' is not none or imagenet");
}

Test(runner_images, labels_without_images_need_images)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --input x.npy --labels labels9.txt", "--labels",
                        "needs --images (it is about image files)");
}

Test(runner_images, a_mean_of_two_values_for_three_channels_is_refused)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --mean 0.5,0.5", "--mean",
                        "'0.5,0.5' is not a number or 3 of them separated by commas");
}

Test(runner_images, a_zero_std_is_not_a_positive_number)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --std 0", "--std",
                        "'0' is not a positive number or 3 of them separated by commas");
}

Test(runner_images, a_missing_image_path_cannot_be_opened)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm missing", "--images",
                        "missing: cannot open: No such file or directory");
}

Test(runner_images, a_folder_without_images_has_none_to_classify)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images empty", "--images",
                        "empty: no .png, .jpg, .jpeg, .pgm or .ppm file found");
}

Test(runner_images, a_labels_file_with_too_few_lines_counts_them)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --labels labels9.txt", "--labels",
                        "labels9.txt: 9 labels (expected 10, one per line)");
}

Test(runner_images, a_table_output_must_be_csv_or_json)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --output y.npy", "--output",
                        "y.npy: not a table name (expected a .csv or .json file)");
}

/* The outputs are checked before the images are listed or the weights read: the weights here are missing too. */
Test(runner_images, a_table_in_a_missing_folder_is_refused_before_any_work)
{
    EXPECT_IMAGES_ERROR("--weights missing.safetensors --images missing --output missing/y.csv", "--output",
                        "missing/y.csv: cannot create a temporary file beside it: No such file or directory");
}

Test(runner_images, a_saved_input_under_a_regular_file_is_refused_before_any_work)
{
    EXPECT_IMAGES_ERROR("--weights w.safetensors --images img.ppm --save-input x.npy/in.npy", "--save-input",
                        "x.npy/in.npy: cannot create a temporary file beside it: Not a directory");
}

Test(generator, build_with_mpi_where_mpicc_is_missing_names_the_packages)
{
    expect_vggc_error(NULL, "build " MODEL_ARGS " --batch 2 -o . --mpi --cc /nonexistent/mpicc", "--cc",
                      "'/nonexistent/mpicc' is not a command that can be run", NULL);
    /* a PATH with rm (the test's clean-up) and no mpicc */
    char *bin = make_temp_dir("nompi"), *rm = join(bin, "rm");
    cr_assert_eq(symlink("/bin/rm", rm), 0, "cannot link %s", rm);
    cr_assert_eq(setenv("PATH", bin, 1), 0, "cannot set PATH");
    expect_vggc_error(NULL, "build " MODEL_ARGS " --batch 2 -o . --mpi", "--mpi",
                      "'mpicc' is not a command that can be run (expected Open MPI's C compiler: install Debian's "
                      "openmpi-bin and libopenmpi-dev)", NULL);
    remove_tree(bin);
    free(bin), free(rm);
}

Test(generator, report_with_an_svg_path_that_is_a_directory_writes_nothing)
{
    expect_vggc_error("mkdir pic.svg", "report " MODEL_ARGS " --svg pic.svg", "pic.svg",
                      "cannot replace: a directory is in the way", NULL);
}

/* ---- general layers: per-layer model files and presets -------------------------------------------------- */

/* setup writing a per-layer model file bad.lua whose layers are LAYERS (input 1x8x8 unless it says) */
#define MODEL_FILE(layers) "printf '%s' 'return { input = \"1x8x8\", layers = { " layers " } }' > bad.lua"

Test(layers, a_kernel_larger_than_the_padded_map_names_the_layer_and_the_input_it_needs)
{
    expect_vggc_error(NULL, "generate lenet5 --input 1x8x8 --name net -o .", "1x8x8",
                      "layer 3 (Conv2d layer2.conv2): kernel 5x5 is larger than its 2x2 input padded to 2x2",
                      "need at least 14x14", NULL);
}

Test(layers, a_stride_of_0_is_not_a_whole_number_from_1)
{
    expect_vggc_error(MODEL_FILE("{\"Conv2d\", 1, 4, 3, stride = 0}"), "generate bad.lua --name net -o .",
                      "bad.lua: layers[1] (Conv2d)", "stride 0 must be a whole number >= 1", NULL);
}

Test(layers, a_pool_that_leaves_a_0x0_map_names_the_layer_and_the_smallest_input)
{
    expect_vggc_error(MODEL_FILE("{\"Conv2d\", 1, 4, 3, padding = 1}, {\"MaxPool2d\", 3}, {\"MaxPool2d\", 3}"),
                      "generate bad.lua --input 1x5x5 --name net -o .", "1x5x5",
                      "layer 3 (MaxPool2d 2): kernel 3x3 is larger than its 1x1 input padded to 1x1, so it would make "
                      "a 0x0 map (input too small; need at least 9x9)", NULL);
}

Test(layers, a_linear_whose_in_features_are_not_its_flattened_input_says_both)
{
    expect_vggc_error(NULL, "generate lenet5 --input 1x36x36 --name net -o .", "preset lenet5 at 1x36x36",
                      "layer 6 (Linear layer3.fc1): in_features is 400, but its input has 576 features (16x6x6 "
                      "flattened)", NULL);
}

Test(layers, a_grouped_conv_is_not_supported_yet)
{
    expect_vggc_error(MODEL_FILE("{\"Conv2d\", 4, 4, 3, groups = 2}"), "generate bad.lua --input 4x8x8 --name net -o .",
                      "bad.lua: layers[1] (Conv2d)", "groups = 2 is not supported yet (only groups = 1", NULL);
}

Test(layers, a_module_vggc_does_not_know_lists_the_ones_it_does)
{
    expect_vggc_error(MODEL_FILE("{\"Conv2d\", 1, 4, 3}, {\"Sigmoid\"}"), "generate bad.lua --name net -o .",
                      "bad.lua: layers[2]", "'Sigmoid' is not a module vggc knows (expected one of: Conv2d,", NULL);
}

Test(layers, a_batchnorm_that_does_not_follow_a_conv_is_refused)
{
    expect_vggc_error(MODEL_FILE("{\"Conv2d\", 1, 4, 3}, {\"ReLU\"}, {\"BatchNorm2d\", 4}"),
                      "generate bad.lua --name net -o .", "bad.lua: layers[3] (BatchNorm2d)",
                      "BatchNorm2d must follow a Conv2d directly (vggc folds it into the conv)", NULL);
}

Test(layers, a_linear_on_a_map_asks_for_a_flatten)
{
    expect_vggc_error(MODEL_FILE("{\"Conv2d\", 1, 4, 3}, {\"Linear\", 144, 10}"), "generate bad.lua --name net -o .",
                      "model file bad.lua at 1x8x8", "layer 2 (Linear 1): its input is a 4x6x6 map (a Linear takes a "
                      "vector: add {'Flatten'} before it", NULL);
}

Test(layers, a_cfg_option_on_a_per_layer_model_is_refused)
{
    expect_vggc_error(NULL, "generate lenet5 --classifier 64 --name net -o .", "--classifier",
                      "not for preset lenet5, which lists its layers (it is for cfg models)", NULL);
}

/* ---- graphs: layers that name their inputs (from), Concat and Add ---------------------------------------- */

/* setup writing a model file bad.lua at 3x8x8: a conv a (4 outputs) and a conv b on the input, then LAYERS */
#define GRAPH_FILE(b_out, b_stride, layers)                                                                       \
    "printf '%s' 'return { input = \"3x8x8\", layers = { {\"Conv2d\", 3, 4, 3, padding = 1, name = \"a\"}, "       \
    "{\"Conv2d\", 3, " #b_out ", 3, stride = " #b_stride ", padding = 1, name = \"b\", from = \"input\"}, " layers \
    " } }' > bad.lua"

Test(graphs, a_from_that_names_no_layer_is_an_input_that_is_never_produced)
{
    expect_vggc_error(GRAPH_FILE(4, 1, "{\"Add\", from = {\"a\", \"branch\"}}, {\"Flatten\"}, {\"Linear\", 256, 10}"),
                      "generate bad.lua --name net -o .", "bad.lua: layers[3] (Add)",
                      "from 'branch': no layer or Sequential here is named 'branch', so this input is never produced "
                      "(in reach: a, b,", NULL);
}

Test(graphs, layers_that_read_each_other_are_a_cycle_named_layer_by_layer)
{
    expect_vggc_error(GRAPH_FILE(4, 1, "{\"Add\", from = {\"a\", \"c\"}, name = \"sum\"}, "
                                       "{\"Conv2d\", 4, 4, 3, padding = 1, name = \"c\"}, {\"Flatten\"}, "
                                       "{\"Linear\", 256, 10}"),
                      "generate bad.lua --name net -o .", "model file bad.lua",
                      "the layers form a cycle: Add sum -> Conv2d c -> Add sum (each reads the one before it", NULL);
}

Test(graphs, a_concat_of_maps_of_different_sizes_names_both_inputs_and_their_sizes)
{
    expect_vggc_error(GRAPH_FILE(4, 2, "{\"Concat\", from = {\"a\", \"b\"}}, {\"Flatten\"}, {\"Linear\", 512, 10}"),
                      "generate bad.lua --name net -o .", "model file bad.lua at 3x8x8",
                      "layer 3 (Concat 2): input 2 (layer 2 (Conv2d b)) is 4x4 but input 1 (layer 1 (Conv2d a)) is "
                      "8x8 (torch.cat along the channels needs the same height and width)", NULL);
}

Test(graphs, an_add_of_different_shapes_names_both_inputs_and_their_shapes)
{
    expect_vggc_error(GRAPH_FILE(8, 1, "{\"Add\", from = {\"a\", \"b\"}}, {\"Flatten\"}, {\"Linear\", 256, 10}"),
                      "generate bad.lua --name net -o .", "model file bad.lua at 3x8x8",
                      "layer 3 (Add 2): its inputs are 4x8x8 (layer 1 (Conv2d a)) and 8x8x8 (layer 2 (Conv2d b)) (an "
                      "Add needs two tensors of the same shape)", NULL);
}

Test(graphs, a_layer_whose_output_nothing_reads_is_refused)
{
    expect_vggc_error(GRAPH_FILE(4, 1, "{\"Flatten\"}, {\"Linear\", 256, 10}"), "generate bad.lua --name net -o .",
                      "model file bad.lua", "Conv2d a: its output is never used (a network has one output, its last "
                      "layer's)", NULL);
}

Test(graphs, an_add_given_one_input_asks_for_two)
{
    expect_vggc_error(GRAPH_FILE(4, 1, "{\"Add\", from = \"a\"}, {\"Flatten\"}, {\"Linear\", 256, 10}"),
                      "generate bad.lua --name net -o .", "bad.lua: layers[3] (Add)",
                      "Add needs from = {a, b}, the two tensors it adds (1 named)", NULL);
}

Test(graphs, an_onnx_graph_whose_nodes_read_each_other_is_a_cycle)
{
    expect_vggc_error(NULL, "import '" VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-cycle.onnx' -o .",
                      VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-cycle.onnx",
                      "the layers form a cycle: node 3 'join' (Add) -> node 4 'act' (Relu) -> node 3 'join' (Add)",
                      NULL);
}

Test(graphs, an_onnx_input_that_no_node_writes_is_never_produced)
{
    expect_vggc_error(NULL, "import '" VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-never-produced.onnx' -o .",
                      VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-never-produced.onnx",
                      "node 3 'join' (Add): input 2 'ghost' is never produced (no node writes it, and it is neither "
                      "the graph's input nor an initializer)", NULL);
}

Test(graphs, an_onnx_concat_of_maps_of_different_sizes_names_its_nodes)
{
    expect_vggc_error(NULL, "import '" VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-concat-sizes.onnx' -o .",
                      "onnx file bad-concat-sizes.onnx at 2x6x6",
                      "node 3 'join' (Concat): input 2 (node 2 'conv2' (Conv)) is 3x3 but input 1 (node 1 'conv' "
                      "(Conv)) is 6x6", NULL);
}

Test(graphs, an_onnx_add_of_different_shapes_names_its_nodes)
{
    expect_vggc_error(NULL, "import '" VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-add-shapes.onnx' -o .",
                      "onnx file bad-add-shapes.onnx at 2x6x6",
                      "node 3 'join' (Add): its inputs are 3x6x6 (node 1 'conv' (Conv)) and 4x6x6 (node 2 'conv2' "
                      "(Conv))", NULL);
}

/* torchvision's googlenet with transform_input=True, exported: its first nodes take the input apart by channel. */
Test(graphs, an_onnx_googlenet_with_transform_input_is_refused_with_the_normalization_that_replaces_it)
{
    expect_vggc_error(NULL, "import '" VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-transform-input.onnx' -o .",
                      VGGC_SOURCE_DIR "/tests/regressions/onnx/bad-transform-input.onnx",
                      "node 1 'gather0' (Gather): splits the input into channels, as torchvision's googlenet with "
                      "transform_input=True does (not supported: export it with transform_input=False and normalize "
                      "the input with mean 0.5 and std 0.5", NULL);
}

/* ---- vggc import ----------------------------------------------------------------------------------------- */

#define ONNX_DIR VGGC_SOURCE_DIR "/tests/regressions/onnx/"

Test(import, a_truncated_onnx_file_names_the_byte_and_the_field_that_runs_past_the_end)
{
    expect_vggc_error("head -c 1500 '" ONNX_DIR "seed-conv-net.onnx' > cut.onnx", "import cut.onnx -o .", "cut.onnx",
                      "byte 5: ModelProto: a field of 2238 bytes runs past the end of its message (1495 bytes left) "
                      "(not a valid ONNX file; truncated or corrupt?)", NULL);
}

Test(import, a_text_file_is_not_a_valid_onnx_file)
{
    expect_vggc_error("echo hello > text.onnx", "import text.onnx -o .", "text.onnx",
                      "wire type 4 is not one protobuf writes (0, 1, 2, 5) (not a valid ONNX file", NULL);
}

Test(import, an_op_vggc_does_not_know_is_named_with_its_node_and_the_ops_it_knows)
{
    expect_vggc_error(NULL, "import '" ONNX_DIR "bad-unsupported-op.onnx' -o .", ONNX_DIR "bad-unsupported-op.onnx",
                      "node 2 'act' (Sigmoid): op 'Sigmoid' is not supported (supported: Add, AveragePool,", NULL);
}

Test(import, weights_in_an_external_data_file_are_refused_naming_the_file)
{
    expect_vggc_error(NULL, "import '" ONNX_DIR "bad-external-data.onnx' -o .", ONNX_DIR "bad-external-data.onnx",
                      "node 1 'conv' (Conv): weight 'w' is stored in an external data file, 'conv.weight.bin' (vggc "
                      "reads weights inside the .onnx only", NULL);
}

Test(import, an_initializer_whose_shape_disagrees_with_its_layer_names_both_shapes)
{
    expect_vggc_error(NULL, "import '" ONNX_DIR "bad-bias-shape.onnx' -o .", ONNX_DIR "bad-bias-shape.onnx",
                      "node 1 'conv' (Conv): bias 'b' has shape [5] (expected [3])", NULL);
}

Test(import, an_attribute_vggc_cannot_honour_is_named_with_its_node)
{
    expect_vggc_error(NULL, "import '" ONNX_DIR "bad-conv-groups.onnx' -o .", ONNX_DIR "bad-conv-groups.onnx",
                      "node 1 'conv' (Conv): group 2 is not supported (group 1 only", NULL);
}

Test(import, an_opset_outside_11_to_17_is_refused)
{
    expect_vggc_error(NULL, "import '" ONNX_DIR "bad-opset-9.onnx' -o .", ONNX_DIR "bad-opset-9.onnx",
                      "opset 9 is not supported (11 to 17)", NULL);
}

Test(import, a_missing_onnx_file_cannot_be_read)
{
    expect_vggc_error(NULL, "import missing.onnx -o .", "missing.onnx",
                      "cannot read the ONNX file (No such file or directory)", NULL);
}

/* The files it would write are checked before any is written: a read-only NAME.lua leaves NAME.safetensors
 * unwritten. */
Test(import, a_read_only_model_file_in_the_way_is_not_replaced_and_nothing_is_written)
{
    expect_vggc_error("echo old > net.lua && chmod 0444 net.lua",
                      "import '" ONNX_DIR "seed-conv-net.onnx' --name net -o .",
                      "./net.lua", "is read-only (not replaced)", NULL);
}

/* ---- the catalogue itself ------------------------------------------------------------------------------ */

/* tests/BAD_INPUTS.md: rows numbered 1, 2, ... (at least 30), each naming a test `suite::name` that exists in the
 * file the header assigns its suite to, so the table cannot drift from the tests. */
Test(catalogue, every_row_of_bad_inputs_md_names_a_test_that_exists)
{
    char *doc = read_text(VGGC_SOURCE_DIR "/tests/BAD_INPUTS.md");
    char *errors_c = read_text(VGGC_SOURCE_DIR "/tests/test_errors.c");
    char *catalogue_c = read_text(VGGC_SOURCE_DIR "/tests/test_catalogue.c");
    cr_assert(doc && errors_c && catalogue_c, "cannot read tests/BAD_INPUTS.md, test_errors.c or test_catalogue.c");
    int rows = 0;
    for (char *line = strtok(doc, "\n"); line; line = strtok(NULL, "\n")) {
        int number = 0;
        if (sscanf(line, "| %d |", &number) != 1) continue;
        cr_expect_eq(number, rows + 1, "row %d is numbered %d", rows + 1, number);
        rows++;
        char *last = strrchr(line, '`'), *open = NULL;
        if (last) {
            *last = '\0';
            open = strrchr(line, '`');
        }
        cr_assert(open, "row %d names no test in backticks", number);
        char suite[64], name[160], want[256];
        cr_assert_eq(sscanf(open + 1, "%63[a-z_]::%159[a-z0-9_]", suite, name), 2, "row %d: '%s' is not suite::name",
                     number, open + 1);
        snprintf(want, sizeof want, "Test(%s, %s)", suite, name);
        const char *source = strcmp(suite, "errors") == 0 ? errors_c : catalogue_c;
        cr_expect(strstr(source, want) != NULL, "row %d names %s::%s, which is not a test in %s", number, suite, name,
                  strcmp(suite, "errors") == 0 ? "test_errors.c" : "test_catalogue.c");
    }
    cr_expect_geq(rows, 30, "the catalogue has %d rows (expected at least 30)", rows);
    free(doc), free(errors_c), free(catalogue_c);
}

/* The output path is checked before the weights are read and the forward pass runs, so a long run is not wasted. */
Test(runner_output, a_bad_output_path_is_reported_before_the_weights_are_read)
{
    EXPECT_RUNNER_ERROR("--weights missing.safetensors --input x.npy --output x.npy/y.npy", "--output",
                        "x.npy/y.npy: cannot create a temporary file beside it: Not a directory");
}

/* ---- Cortex-M targets: the generator ------------------------------------------------------------------------ */

/* The good weights of net saved as NAME in a directory of their own; returns that directory (for a setup's cp). */
static char *weights_dir(st_file *f, const char *name)
{
    char *dir = make_temp_dir("catalogue-weights"), *path = join(dir, name);
    save_weights(path, f, 0, 0);
    free_weights(f);
    free(path);
    return dir;
}

/* expect_vggc_error with weights (bad or good) copied into the directory as NAME first. */
static void expect_target_error(st_file *f, const char *name, const char *args, const char *where, const char *what)
{
    char *dir = weights_dir(f, name), setup[4400];
    snprintf(setup, sizeof setup, "cp '%s/%s' .", dir, name);
    expect_vggc_error(setup, args, where, what, NULL);
    remove_tree(dir);
    free(dir);
}

#define M7 " --target cortex-m7 --weights w.safetensors -o ."

Test(generator, an_unknown_target_lists_the_targets)
{
    expect_vggc_error(NULL, "generate " MODEL_ARGS " --target cortex-m99 -o .", "--target",
                      "unknown target 'cortex-m99' (expected one of: host, cortex-m4, cortex-m7, cortex-m33)", NULL);
}

Test(generator, a_flash_size_that_is_not_a_size_shows_the_forms)
{
    expect_vggc_error(NULL, "report " MODEL_ARGS " --target cortex-m4 --flash 12Q", "--flash 12Q",
                      "expected a size in bytes like 1048576, 1024K or 1M", NULL);
}

Test(generator, a_flash_size_for_the_host_is_refused)
{
    expect_vggc_error(NULL, "report " MODEL_ARGS " --flash 1M", "--flash",
                      "is for a Cortex-M target (--target cortex-m4|cortex-m7|cortex-m33)", NULL);
}

Test(generator, a_cortex_m_target_without_weights_needs_them)
{
    expect_vggc_error(NULL, "generate " MODEL_ARGS " --target cortex-m7 -o .", "--weights",
                      "is needed for --target cortex-m7 (the weights go into flash as const data: --weights "
                      "W.safetensors)", NULL);
}

Test(generator, a_host_conv_algorithm_is_not_for_a_cortex_m_target)
{
    st_file f = good_weights();
    expect_target_error(&f, "w.safetensors", "generate " MODEL_ARGS " --conv winograd4" M7, "--conv",
                        "'winograd4' is not for target cortex-m7 (expected one of: auto, direct, naive)");
}

Test(generator, a_model_larger_than_the_flash_is_refused_with_the_numbers)
{
    st_file f = good_weights();
    expect_target_error(&f, "w.safetensors", "generate " MODEL_ARGS " --target cortex-m4 --flash 16K "
                        "--weights w.safetensors -o .", "--target cortex-m4",
                        "net needs 45,032 bytes of flash (weights 39,784 + code 5,248), more than the 16,384 bytes "
                        "given by --flash (a smaller model, or --flash BYTES for a larger part)");
}

Test(generator, a_model_larger_than_the_ram_is_refused_with_the_numbers)
{
    st_file f = good_weights();
    expect_target_error(&f, "w.safetensors", "generate " MODEL_ARGS " --target cortex-m4 --ram 4K "
                        "--weights w.safetensors -o .", "--target cortex-m4",
                        "net needs 6,952 bytes of RAM (workspace 3,328 + stack 512 + input and output 3,112), more "
                        "than the 4,096 bytes given by --ram");
}

Test(generator, a_missing_tensor_at_generate_time_is_the_loaders_line)
{
    st_file f = good_weights();
    drop(&f, "features.3.bias");
    expect_target_error(&f, "bad.safetensors", "generate " MODEL_ARGS " --target cortex-m7 --weights bad.safetensors "
                        "-o .", "--weights", "bad.safetensors: features.3.bias: missing (expected by net)");
}

Test(generator, a_nan_weight_at_generate_time_is_the_loaders_line)
{
    st_file f = good_weights();
    poison_f32(&f, "features.0.weight", 17, NAN);
    expect_target_error(&f, "bad.safetensors", "generate " MODEL_ARGS " --target cortex-m7 --weights bad.safetensors "
                        "-o .", "--weights", "bad.safetensors: features.0.weight: element 17 is NaN (weights must be "
                        "finite)");
}

Test(generator, build_with_a_directory_in_the_way_of_the_firmware_writes_nothing)
{
    st_file f = good_weights();
    char *dir = weights_dir(&f, "w.safetensors"), setup[4400];
    snprintf(setup, sizeof setup, "cp '%s/w.safetensors' . && mkdir net.elf", dir);
    expect_vggc_error(setup, "build " MODEL_ARGS M7, "./net.elf", "cannot replace: a directory is in the way", NULL);
    remove_tree(dir);
    free(dir);
}

/* ---- Cortex-M targets: the test firmware under QEMU ----------------------------------------------------------- */

/* A directory with net.elf (net for cortex-m7, good weights built in), a good x.npy and the earlier y.npy of a good
 * run; skips the test, by name, where the ARM toolchain or QEMU is missing. */
static char *prepared_firmware_dir(void)
{
    cmd_result r = run("command -v arm-none-eabi-gcc && command -v qemu-system-arm");
    int found = r.status == 0;
    cmd_free(&r);
    if (!found) cr_skip("arm-none-eabi-gcc or qemu-system-arm is not installed (tools/install-deps)");
    st_file f = good_weights();
    char *wdir = weights_dir(&f, "w.safetensors"), *dir = make_temp_dir("catalogue-firmware");
    r = run("cd '%s' && '%s' build " MODEL_ARGS " --target cortex-m7 --weights '%s/w.safetensors' -o . && "
            "mkdir keep && mv net.elf keep/ && find . -maxdepth 1 -type f -delete", dir, VGGC_EXE, wdir);
    cr_assert_eq(r.status, 0, "the firmware did not build: %s", r.err);
    cmd_free(&r);
    remove_tree(wdir);
    free(wdir);
    float in[IN_COUNT];
    fill_random(in, IN_COUNT, 7, 1.0f);
    char *x = join(dir, "x.npy");
    save_input(x, in, 4, (const int64_t[]){1, 3, 16, 16});
    free(x);
    r = run("cd '%s' && mv keep/net.elf . && rmdir keep && qemu-system-arm -M mps2-an500 -nographic -semihosting-config "
            "enable=on,target=native,arg=net,arg=--input,arg=x.npy,arg=--output,arg=y.npy -kernel net.elf", dir);
    cr_assert_eq(r.status, 0, "the good run failed: %s", r.err);
    cmd_free(&r);
    return dir;
}

/* Run net.elf under QEMU with the runner's args (comma-separated for -semihosting-config) in a prepared firmware
 * directory, after setup; expect the one-line error "net: <where>: <what>" and the directory unchanged. */
static void expect_firmware_error(void (*setup)(const char *dir), const char *args, const char *where, ...)
{
    char *dir = prepared_firmware_dir();
    if (setup) setup(dir);
    snapshot before = take_snapshot(dir);
    cmd_result r = run("cd '%s' && qemu-system-arm -M mps2-an500 -nographic -semihosting-config "
                       "enable=on,target=native,arg=net,%s -kernel net.elf", dir, args);
    va_list whats;
    va_start(whats, where);
    expect_one_line(&r, args, "net", where, whats);
    va_end(whats);
    expect_unchanged(&before, dir, args);
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

static void small_input(const char *dir)
{
    float in[3 * 8 * 8];
    fill_random(in, 3 * 8 * 8, 8, 1.0f);
    char *path = join(dir, "bad.npy");
    save_input(path, in, 4, (const int64_t[]){1, 3, 8, 8});
    free(path);
}

static void nan_input(const char *dir)
{
    float in[IN_COUNT];
    fill_random(in, IN_COUNT, 9, 1.0f);
    in[300] = NAN;
    char *path = join(dir, "bad.npy");
    save_input(path, in, 4, (const int64_t[]){1, 3, 16, 16});
    free(path);
}

Test(firmware_runner, an_image_of_the_wrong_size_names_the_expected_shape)
{
    expect_firmware_error(small_input, "arg=--input,arg=bad.npy,arg=--output,arg=y.npy", "--input",
                          "bad.npy: shape (1, 3, 8, 8) (expected (1, 3, 16, 16) or (3, 16, 16))", NULL);
}

Test(firmware_runner, a_nan_pixel_is_named_with_its_index)
{
    expect_firmware_error(nan_input, "arg=--input,arg=bad.npy,arg=--output,arg=y.npy", "--input",
                          "bad.npy: element 300 is NaN (inputs must be finite)", NULL);
}

Test(firmware_runner, an_unknown_option_points_to_help)
{
    expect_firmware_error(NULL, "arg=--frobnicate,arg=--output,arg=y.npy", "--frobnicate",
                          "unknown option (see --help)", NULL);
}

Test(firmware_runner, a_top_k_above_the_class_count_names_the_range)
{
    expect_firmware_error(NULL, "arg=--input,arg=x.npy,arg=--top,arg=11", "--top",
                          "'11' is not a whole number from 1 to 10", NULL);
}

/* ---- weights built in at generate time (host) ---------------------------------------------------------------- */

Test(generator, by_order_without_weights_needs_weights)
{
    expect_vggc_error(NULL, "generate " MODEL_ARGS " --by-order -o .", "--by-order",
                      "needs --weights (how the weights built in at generate time match)", NULL);
}

/* net built with its weights in, given a weights file anyway: it says they are built in and reads nothing. */
Test(runner_weights, a_weights_file_for_a_runner_with_weights_built_in_is_refused)
{
    st_file f = good_weights();
    char *wdir = weights_dir(&f, "w.safetensors"), *dir = make_temp_dir("catalogue-built-in");
    cmd_result r = run("cd '%s' && '%s' build " MODEL_ARGS " --weights '%s/w.safetensors' -o . && "
                       "find . -maxdepth 1 -type f ! -name net -delete && cp '%s/w.safetensors' .", dir, VGGC_EXE, wdir, wdir);
    cr_assert_eq(r.status, 0, "the build failed: %s", r.err);
    cmd_free(&r);
    expect_runner_error_at(dir, "./net", "--weights w.safetensors --output y.npy", "--weights",
                           "the weights are built in (vggc build --weights), not loaded", NULL);
    remove_tree(wdir), remove_tree(dir);
    free(wdir), free(dir);
}
