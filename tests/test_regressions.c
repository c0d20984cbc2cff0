/* test_regressions.c — every input under tests/regressions/ goes to its parser again: inputs that once crashed
 * or broke the message contract (fuzz-*, found by fuzz/run), hand-made bad files (bad-*) and real files (seed-*).
 * Each must give a result or one clean error; none may crash (under -DVGGC_SANITIZE=ON, nor touch memory it
 * should not).
 *
 *   model/        the fuzz_model input format: no newline = the words of `vggc report WORDS`; otherwise the first
 *                 line holds options and the rest is a model file, run as `vggc report FILE OPTIONS`.
 *                 Exit 0 with a report, or exit 2 with exactly one line "vggc: where: what" on stderr.
 *   safetensors/  vggc_load_safetensors_mem by name and by order into fuzz/tiny_model.h's model: 0, or an
 *                 error whose message is one non-empty line without control bytes and the weights untouched.
 *   npy/          vggc_npy_parse: 0 with rank 1..4 and readable data, or such an error message.
 *   onnx/         `vggc import FILE -o DIR`: exit 0 with a report and DIR/NAME.lua and DIR/NAME.safetensors, or
 *                 exit 2 with exactly one line "vggc: where: what" and nothing written.
 */
#include "helpers.h"
#include "vggc.h"
#include "../fuzz/tiny_model.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGRESSIONS VGGC_SOURCE_DIR "/tests/regressions"

/* ---- reading the corpus ---------------------------------------------------------------------------------- */

typedef struct {
    unsigned char *bytes;
    size_t size;
} blob;

static blob read_blob(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    blob b = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (b.size == cap) {
            cap = cap ? 2 * cap : 4096;
            b.bytes = realloc(b.bytes, cap);
            cr_assert_not_null(b.bytes, "out of memory reading %s", path);
        }
        size_t n = fread(b.bytes + b.size, 1, cap - b.size, f);
        if (n == 0) break;
        b.size += n;
    }
    fclose(f);
    /* exactly size bytes, so the sanitizer sees a read past the end */
    unsigned char *exact = malloc(b.size ? b.size : 1);
    cr_assert_not_null(exact);
    if (b.size) memcpy(exact, b.bytes, b.size);
    free(b.bytes);
    b.bytes = exact;
    return b;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of regressions/KIND, sorted, NULL-terminated; *count of them. */
static char **corpus(const char *kind, int *count)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", REGRESSIONS, kind);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (size_t)(n + 2) * sizeof *names);
        cr_assert_not_null(names);
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    cr_assert_gt(n, 0, "%s is empty", dir);
    qsort(names, (size_t)n, sizeof *names, by_name);
    names[n] = NULL;
    *count = n;
    return names;
}

static void free_corpus(char **names)
{
    for (char **p = names; *p; p++) free(*p);
    free(names);
}

/* ---- the message contract -------------------------------------------------------------------------------- */

/* NULL if msg is one non-empty line without control bytes, else what is wrong with it. */
static const char *message_fault(const char *msg, size_t capacity)
{
    const char *end = memchr(msg, '\0', capacity);
    if (!end) return "not NUL-terminated";
    if (end == msg) return "empty";
    for (const char *p = msg; p < end; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return "carries a control byte";
    return NULL;
}

/* ---- model inputs through vggc ----------------------------------------------------------------------------- */

/* words: the fuzz format's words (split at spaces and NULs), each shell-quoted, appended to cmd. */
static void append_words(char *cmd, size_t cap, const unsigned char *line, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ' && line[i] != '\0') continue;
        if (i > start) {
            strncat(cmd, " '", cap - strlen(cmd) - 1);
            for (size_t j = start; j < i; j++) {
                char c[2] = {(char)line[j], '\0'};
                strncat(cmd, line[j] == '\'' ? "'\\''" : c, cap - strlen(cmd) - 1);
            }
            strncat(cmd, "'", cap - strlen(cmd) - 1);
        }
        start = i + 1;
    }
}

/* NULL if vggc kept its contract (exit 0 with a report and nothing on stderr, or exit 2 with one line
 * "vggc: ..."), else what it did, in why. Frees r. */
static const char *contract_fault(cmd_result r, char *why, size_t cap)
{
    const char *nl = strchr(r.err, '\n');
    why[0] = '\0';
    if (r.status == 0 && r.out[0] == '\0') snprintf(why, cap, "exit 0 without a report");
    else if (r.status == 0 && r.err[0] != '\0') snprintf(why, cap, "exit 0 with stderr: %.400s", r.err);
    else if (r.status != 0 && r.status != 2) snprintf(why, cap, "exit %d: %.600s", r.status, r.err);
    else if (r.status == 2 && (strncmp(r.err, "vggc: ", 6) != 0 || !nl || nl[1] != '\0'))
        snprintf(why, cap, "exit 2 without exactly one line \"vggc: ...\": %.600s", r.err);
    cmd_free(&r);
    return why[0] ? why : NULL;
}

/* Run one model input; returns NULL if vggc kept its contract, else a description (static buffer). */
static const char *model_fault(const char *path, const char *tmp)
{
    static char why[1024];
    blob b = read_blob(path);
    const unsigned char *newline = memchr(b.bytes, '\n', b.size);
    size_t line_len = newline ? (size_t)(newline - b.bytes) : b.size;
    static char cmd[16384];
    snprintf(cmd, sizeof cmd, "'%s' report", VGGC_EXE);
    if (newline) {
        char file[512];
        snprintf(file, sizeof file, "%s/model.lua", tmp);
        FILE *f = fopen(file, "wb");
        cr_assert_not_null(f, "cannot write %s", file);
        fwrite(newline + 1, 1, b.size - line_len - 1, f);
        fclose(f);
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " '%s'", file);
    }
    append_words(cmd, sizeof cmd, b.bytes, line_len);
    cr_assert_lt(strlen(cmd), sizeof cmd - 1, "%s: the command line is too long for this test", path);
    free(b.bytes);
    return contract_fault(run("%s", cmd), why, sizeof why);
}

Test(regressions, every_model_input_gets_a_report_or_one_error_line_and_exit_2)
{
    int n, bad = 0;
    char **files = corpus("model", &n);
    char *tmp = make_temp_dir("regressions");
    for (char **p = files; *p; p++) {
        const char *why = model_fault(*p, tmp);
        if (why) cr_expect_fail("%s: %s", *p, why);
        bad += why != NULL;
    }
    cr_log_info("regressions: %d model inputs, %d broke the contract", n, bad);
    remove_tree(tmp);
    free(tmp);
    free_corpus(files);
}

/* ---- .onnx files through vggc import ------------------------------------------------------------------------ */

/* Import one file into an empty directory; NULL if vggc kept its contract: a report and both files, or one error
 * line and nothing written. */
static const char *onnx_fault(const char *path, const char *tmp)
{
    static char why[1024];
    char out[600], lua[700], weights[700];
    snprintf(out, sizeof out, "%s/out", tmp);
    snprintf(lua, sizeof lua, "%s/reg.lua", out);
    snprintf(weights, sizeof weights, "%s/reg.safetensors", out);
    remove_tree(out);
    cmd_result mk = run("mkdir '%s'", out);
    cmd_free(&mk);
    cmd_result r = run("'%s' import '%s' --name reg -o '%s'", VGGC_EXE, path, out);
    int status = r.status;
    if (contract_fault(r, why, sizeof why)) return why;
    int written = file_exists(lua) + file_exists(weights);
    if (status == 0 && written != 2) snprintf(why, sizeof why, "exit 0 but %d of the 2 files written", written);
    if (status == 2) {
        cmd_result ls = run("ls -A '%s'", out);
        if (ls.out[0] != '\0') snprintf(why, sizeof why, "exit 2 but it wrote %.400s", ls.out);
        cmd_free(&ls);
    }
    return why[0] ? why : NULL;
}

Test(regressions, every_onnx_file_imports_or_gets_one_error_line_and_writes_nothing)
{
    int n, bad = 0;
    char **files = corpus("onnx", &n);
    char *tmp = make_temp_dir("regressions-onnx");
    for (char **p = files; *p; p++) {
        const char *why = onnx_fault(*p, tmp);
        if (why) cr_expect_fail("%s: %s", *p, why);
        bad += why != NULL;
    }
    cr_log_info("regressions: %d onnx files, %d broke the contract", n, bad);
    remove_tree(tmp);
    free(tmp);
    free_corpus(files);
}

/* ---- safetensors from memory into fuzz/tiny_model.h's model ------------------------------------------------ */

/* Every weight set to 7.5, the value a rejected file must leave behind. */
static void poison_weights(void)
{
    for (int t = 0; t < TINY_TENSORS; t++)
        for (int64_t i = 0; i < tiny_tensors[t].count; i++) tiny_tensors[t].data[i] = 7.5f;
}

/* The first tensor that no longer holds 7.5 everywhere, or NULL. */
static const char *changed_tensor(void)
{
    for (int t = 0; t < TINY_TENSORS; t++)
        for (int64_t i = 0; i < tiny_tensors[t].count; i++)
            if (tiny_tensors[t].data[i] != 7.5f) return tiny_tensors[t].name;
    return NULL;
}

static int safetensors_faults(const char *path, const blob *b, int match)
{
    vggc_error err;
    memset(err.msg, 'X', sizeof err.msg); /* a message not written or not terminated shows up */
    poison_weights();
    if (vggc_load_safetensors_mem(&tiny_model, b->bytes, b->size, match, &err) == 0) return 0;
    const char *fault = message_fault(err.msg, sizeof err.msg);
    const char *changed = changed_tensor();
    cr_expect_null(fault, "%s (match %d): the message %s", path, match, fault);
    cr_expect_null(changed, "%s (match %d): rejected (%s) but %s changed", path, match, fault ? "?" : err.msg,
                   changed);
    return fault || changed;
}

Test(regressions, every_safetensors_input_loads_or_is_rejected_cleanly_with_the_weights_untouched)
{
    int n, bad = 0;
    char **files = corpus("safetensors", &n);
    for (char **p = files; *p; p++) {
        blob b = read_blob(*p);
        bad += safetensors_faults(*p, &b, VGGC_MATCH_BY_NAME);
        bad += safetensors_faults(*p, &b, VGGC_MATCH_BY_ORDER);
        free(b.bytes);
    }
    cr_log_info("regressions: %d safetensors inputs, %d faults", n, bad);
    free_corpus(files);
}

/* ---- .npy ---------------------------------------------------------------------------------------------------- */

Test(regressions, every_npy_input_parses_or_is_rejected_with_one_clean_line)
{
    int n, bad = 0;
    char **files = corpus("npy", &n);
    for (char **p = files; *p; p++) {
        blob b = read_blob(*p);
        float *data = NULL;
        int64_t shape[4] = {0, 0, 0, 0};
        int rank = 0;
        vggc_error err;
        memset(err.msg, 'X', sizeof err.msg);
        if (vggc_npy_parse(b.bytes, b.size, &data, shape, &rank, &err) == 0) {
            cr_expect(rank >= 1 && rank <= 4, "%s: parsed with rank %d", *p, rank);
            int64_t count = 1;
            for (int d = 0; d < rank && d < 4; d++) count *= shape[d];
            volatile float sink = 0.0f;
            for (int64_t i = 0; i < count; i++) sink += data[i]; /* the sanitizer catches a short allocation */
            (void)sink;
        } else {
            const char *fault = message_fault(err.msg, sizeof err.msg);
            cr_expect_null(fault, "%s: the message %s", *p, fault);
            bad += fault != NULL;
        }
        free(data);
        free(b.bytes);
    }
    cr_log_info("regressions: %d npy inputs, %d faults", n, bad);
    free_corpus(files);
}

/* ---- the sandbox model files run in -------------------------------------------------------------------------- */

/* `vggc report DIR/NAME.lua` on a model file with this text; the result for the caller to check and free. */
static cmd_result report_model_file(const char *name, const char *text)
{
    char *dir = make_temp_dir("sandbox");
    char path[512];
    snprintf(path, sizeof path, "%s/%s.lua", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
    cmd_result r = run("cd '%s' && '%s' report %s.lua", dir, VGGC_EXE, name);
    remove_tree(dir);
    free(dir);
    return r;
}

Test(sandbox, a_model_file_that_never_ends_is_stopped_with_one_line)
{
    cmd_result r = report_model_file("spin", "while true do end\n");
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.err, "vggc: spin.lua: model file ran too long (more than 1000000 instructions)\n");
    cmd_free(&r);
}

/* One instruction can copy 16 MiB (..) or compare it (==), so the instruction budget alone let this run for
 * minutes (found by fuzz_model as a slow unit); the CPU-time budget stops it after 2 s. */
Test(sandbox, a_model_file_that_copies_large_strings_in_a_loop_is_stopped_after_2_s_of_cpu_time)
{
    cmd_result r =
        report_model_file("copier", "local s = ('x'):rep(1 << 24)\nfor i = 1, 1e9 do local t = s .. i end\n");
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.err, "vggc: copier.lua: model file ran too long (more than 2 s of CPU time)\n");
    cmd_free(&r);
}

/* 64 KB strings made by one copy each: with ('x'):rep(1000) .. i per entry (one memcpy per byte in rep) it took
 * 1.6 s of CPU under ASan, and past the 2 s time budget when ctest ran a second test beside it. */
Test(sandbox, a_model_file_that_fills_memory_is_stopped_with_one_line)
{
    cmd_result r = report_model_file("hog", "local s, t = ('x'):rep(1000):rep(64), {}\n"
                                            "for i = 1, 1e9 do t[i] = s .. i end\n");
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.err, "vggc: hog.lua: model file used too much memory (more than 64 MiB)\n");
    cmd_free(&r);
}

Test(sandbox, a_model_file_sees_no_library_and_only_simple_string_methods)
{
    cmd_result r = report_model_file("env", "local seen = io or os or require or load or dofile or print or string "
                                            "or _G or getmetatable or setmetatable or pcall or debug or next\n"
                                            "return {features = {('%d'):format(8), ('m'):upper()}, input = '1x8x8',\n"
                                            "        classes = seen and 3 or 5}\n");
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "5 classes") != NULL, "a library is visible to the model file:\n%s", r.out);
    cmd_free(&r);
    r = report_model_file("find", "return {features = {('64'):match('%d+')}}\n");
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "vggc: find.lua:1: attempt to call a nil value (method 'match')") == r.err, "%s", r.err);
    cmd_free(&r);
}

Test(sandbox, a_control_byte_in_a_message_prints_escaped_on_one_line)
{
    cmd_result r = run("'%s' report \"$(printf '64,\\033[2J,M')\"", VGGC_EXE);
    cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.err, "vggc: cfg \"64,\\x1b[2J,M\": token 2: '\\x1b[2J' is not a channel count, 'M', 'L' or "
                            "'N:K' (N:1 is a 1x1 conv)\n");
    cmd_free(&r);
}
