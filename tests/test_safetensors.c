/* test_safetensors.c — loading weights from safetensors files built in memory: good files by name and by order,
 * F16/BF16 conversion, BatchNorm folding, prepared conv weights made from the file, a linear weight packed from
 * the file chunk by chunk, files mapped and used in chunks (or read whole when they cannot be mapped), and every
 * kind of damaged header, each with its own message. */
#define _POSIX_C_SOURCE 200809L
#include "fileio.h" /* vggc_map_file, vggc_map_changed: internal to the runtime */
#include "helpers.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- building files ------------------------------------------------------------------------------------ */

typedef struct {
    unsigned char *bytes;
    size_t size;
} blob;

/* A safetensors file: the u64 little-endian length of header, header, then size bytes of data. */
static blob make_blob(const char *header, const void *data, size_t size)
{
    size_t n = strlen(header);
    blob b = {malloc(8 + n + size), 8 + n + size}; /* exactly, so the sanitizer sees any overread */
    cr_assert_not_null(b.bytes, "out of memory for a %zu-byte file", b.size);
    for (int i = 0; i < 8; i++) b.bytes[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b.bytes + 8, header, n);
    if (size) memcpy(b.bytes + 8 + n, data, size);
    return b;
}

/* "name": {"dtype": "dtype", "shape": shape, "data_offsets": [begin, end]}, in one of 16 rotating buffers. */
static const char *tensor(const char *name, const char *dtype, const char *shape, long begin, long end)
{
    static char bufs[16][512];
    static int next;
    char *out = bufs[next++ % 16];
    snprintf(out, 512, "\"%s\": {\"dtype\": \"%s\", \"shape\": %s, \"data_offsets\": [%ld, %ld]}", name, dtype, shape,
             begin, end);
    return out;
}

/* {first, ...}: the tensors given, up to a NULL. */
static const char *header(const char *first, ...)
{
    static char out[8192];
    va_list ap;
    va_start(ap, first);
    snprintf(out, sizeof out, "{");
    for (const char *t = first; t; t = va_arg(ap, const char *))
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", t == first ? "" : ", ", t);
    va_end(ap);
    snprintf(out + strlen(out), sizeof out - strlen(out), "}");
    return out;
}

/* ---- the tiny model: fc.weight (2, 3), fc.bias (2), out.weight (1, 2, 1, 1) ----------------------------- */

static float fc_weight[6], fc_bias[2], out_weight[2];
static const vggc_tensor tiny_tensors[] = {
    {"fc.weight", fc_weight, 2, {2, 3, 0, 0}, 6, 1},
    {"fc.bias", fc_bias, 1, {2, 0, 0, 0}, 2, 1},
    {"out.weight", out_weight, 4, {1, 2, 1, 1}, 2, 1},
};
static const vggc_model tiny = {"tiny", tiny_tensors, 3, NULL, 0, 1, 3, 1, 1, 1, 10, NULL, 0};
static const float tiny_data[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

#define FC_WEIGHT tensor("fc.weight", "F32", "[2, 3]", 0, 24)
#define FC_BIAS tensor("fc.bias", "F32", "[2]", 24, 32)
#define OUT_WEIGHT tensor("out.weight", "F32", "[1, 2, 1, 1]", 32, 40)

static void fill_tiny(float value)
{
    for (int i = 0; i < 6; i++) fc_weight[i] = value;
    fc_bias[0] = fc_bias[1] = out_weight[0] = out_weight[1] = value;
}

static void expect_tiny_loaded(void)
{
    expect_close("fc.weight", fc_weight, tiny_data, 6, 0, 0);
    expect_close("fc.bias", fc_bias, tiny_data + 6, 2, 0, 0);
    expect_close("out.weight", out_weight, tiny_data + 8, 2, 0, 0);
}

/* Load hdr + size bytes of data into the tiny model. */
static int load_tiny(const char *hdr, const void *data, size_t size, int match, vggc_error *err)
{
    blob b = make_blob(hdr, data, size);
    int rc = vggc_load_safetensors_mem(&tiny, b.bytes, b.size, match, err);
    free(b.bytes);
    return rc;
}

static void expect_error(int rc, const vggc_error *err, const char *needle)
{
    cr_assert_eq(rc, -1, "the load succeeded (expected an error containing \"%s\")", needle);
    cr_assert_not_null(strstr(err->msg, needle), "message \"%s\" (expected it to contain \"%s\")", err->msg, needle);
    cr_assert_null(strchr(err->msg, '\n'), "message \"%s\" has a newline (expected one line)", err->msg);
}

/* The tiny file with one header and the tiny data, expected to fail with needle. */
static void expect_tiny_rejected(const char *hdr, const char *needle)
{
    vggc_error err = {""};
    expect_error(load_tiny(hdr, tiny_data, sizeof tiny_data, VGGC_MATCH_BY_NAME, &err), &err, needle);
}

/* ---- good files ---------------------------------------------------------------------------------------- */

Test(safetensors, a_good_f32_file_loads_by_name)
{
    vggc_error err = {""};
    int rc = load_tiny(header(OUT_WEIGHT, FC_WEIGHT, FC_BIAS, NULL), tiny_data, sizeof tiny_data, VGGC_MATCH_BY_NAME, &err);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
    expect_tiny_loaded();
}

Test(safetensors, a_good_file_loads_by_order_of_offsets_whatever_the_names_and_header_order)
{
    vggc_error err = {""};
    const char *hdr = header(tensor("c", "F32", "[1, 2, 1, 1]", 32, 40), tensor("a", "F32", "[2, 3]", 0, 24),
                             tensor("b", "F32", "[2]", 24, 32), NULL);
    int rc = load_tiny(hdr, tiny_data, sizeof tiny_data, VGGC_MATCH_BY_ORDER, &err);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
    expect_tiny_loaded();
}

Test(safetensors, num_batches_tracked_is_ignored_by_name_and_by_order)
{
    unsigned char data[48];
    memcpy(data, tiny_data, 24);
    memset(data + 24, 0x7F, 8); /* an I64 count between the tensors */
    memcpy(data + 32, tiny_data + 6, 16);
    const char *hdr = header(tensor("fc.weight", "F32", "[2, 3]", 0, 24), tensor("bn.num_batches_tracked", "I64", "[]", 24, 32),
                             tensor("fc.bias", "F32", "[2]", 32, 40), tensor("out.weight", "F32", "[1, 2, 1, 1]", 40, 48), NULL);
    for (int match = VGGC_MATCH_BY_NAME; match <= VGGC_MATCH_BY_ORDER; match++) {
        vggc_error err = {""};
        fill_tiny(0);
        cr_assert_eq(load_tiny(hdr, data, sizeof data, match, &err), 0, "load (match %d) failed: %s", match, err.msg);
        expect_tiny_loaded();
    }
}

Test(safetensors, metadata_of_any_json_and_trailing_spaces_in_the_header_are_accepted)
{
    char hdr[1024];
    snprintf(hdr, sizeof hdr,
             "{\"__metadata__\": {\"format\": \"pt\", \"x\": [1, -2.5e3, {\"y\": null}, true, false, \"\\\"\"]},"
             " %s, %s, %s}        ", FC_WEIGHT, FC_BIAS, OUT_WEIGHT);
    vggc_error err = {""};
    cr_assert_eq(load_tiny(hdr, tiny_data, sizeof tiny_data, VGGC_MATCH_BY_NAME, &err), 0, "load failed: %s", err.msg);
    expect_tiny_loaded();
}

/* A model of one vector of n floats stored in dst, loaded from a file of it named name in dtype. */
static int load_floats(float *dst, const char *name, const char *dtype, const void *data, int n, vggc_error *err)
{
    char shape[32];
    vggc_tensor t = {name, dst, 1, {n, 0, 0, 0}, n, 1};
    vggc_model m = {"vec", &t, 1, NULL, 0, 1, 1, 1, 1, 1, n, NULL, 0};
    size_t size = (size_t)n * (strcmp(dtype, "F32") ? 2 : 4);
    snprintf(shape, sizeof shape, "[%d]", n);
    blob b = make_blob(header(tensor(name, dtype, shape, 0, (long)size), NULL), data, size);
    int rc = vggc_load_safetensors_mem(&m, b.bytes, b.size, VGGC_MATCH_BY_NAME, err);
    free(b.bytes);
    return rc;
}

/* A model of one vector "v" of n floats. */
static float vec[16];

static int load_vector(const char *name, const char *dtype, const void *data, int n, vggc_error *err)
{
    return load_floats(vec, name, dtype, data, n, err);
}

Test(safetensors, f16_values_convert_exactly_including_subnormals)
{
    const uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x3555, 0x8000};
    const float want[] = {1.0f, -2.0f, 65504.0f, ldexpf(1, -24), ldexpf(1023, -24), ldexpf(1, -14), 0.333251953125f};
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) bytes[2 * i] = (unsigned char)(h[i] & 0xFF), bytes[2 * i + 1] = (unsigned char)(h[i] >> 8);
    vggc_error err = {""};
    cr_assert_eq(load_vector("v", "F16", bytes, 8, &err), 0, "load failed: %s", err.msg);
    expect_close("f16 finite values", vec, want, 7, 0, 0);
    cr_expect(vec[7] == 0.0f && signbit(vec[7]), "0x8000 gave %g (expected -0)", (double)vec[7]);
}

Test(safetensors, bf16_values_convert_exactly_including_subnormals)
{
    const uint16_t h[] = {0x3F80, 0xC040, 0x3EAB, 0x0001};
    const float want[] = {1.0f, -3.0f, 0.333984375f, ldexpf(1, -133)};
    unsigned char bytes[8];
    for (int i = 0; i < 4; i++) bytes[2 * i] = (unsigned char)(h[i] & 0xFF), bytes[2 * i + 1] = (unsigned char)(h[i] >> 8);
    vggc_error err = {""};
    cr_assert_eq(load_vector("v", "BF16", bytes, 4, &err), 0, "load failed: %s", err.msg);
    expect_close("bf16 finite values", vec, want, 4, 0, 0);
}

/* A vector of one value (little-endian bits of dtype) after two good ones must be rejected naming element 2. */
static void expect_vector_rejected(const char *dtype, uint32_t bits, const char *what)
{
    unsigned char bytes[12] = {0};
    int size = strcmp(dtype, "F32") ? 2 : 4;
    for (int b = 0; b < size; b++) bytes[2 * size + b] = (unsigned char)(bits >> (8 * b));
    char want[128];
    snprintf(want, sizeof want, "<memory>: v: element 2 is %s (weights must be finite)", what);
    vggc_error err = {""};
    expect_error(load_vector("v", dtype, bytes, 3, &err), &err, want);
}

Test(safetensors, infinities_and_nans_are_rejected_in_every_dtype_naming_the_element)
{
    expect_vector_rejected("F32", 0x7F800000u, "Inf");
    expect_vector_rejected("F32", 0xFF800000u, "-Inf");
    expect_vector_rejected("F32", 0x7FC00000u, "NaN");
    expect_vector_rejected("F32", 0xFF800001u, "NaN");
    expect_vector_rejected("F16", 0x7C00u, "Inf");
    expect_vector_rejected("F16", 0xFC00u, "-Inf");
    expect_vector_rejected("F16", 0x7E00u, "NaN");
    expect_vector_rejected("BF16", 0x7F80u, "Inf");
    expect_vector_rejected("BF16", 0xFF80u, "-Inf");
    expect_vector_rejected("BF16", 0x7FC0u, "NaN");
}

Test(safetensors, the_largest_finite_values_are_accepted)
{
    const uint32_t f32_max = 0x7F7FFFFFu;
    unsigned char bytes[4];
    memcpy(bytes, &f32_max, 4);
    vggc_error err = {""};
    cr_assert_eq(load_vector("v", "F32", bytes, 1, &err), 0, "FLT_MAX was rejected: %s", err.msg);
    const unsigned char f16_max[2] = {0xFF, 0x7B}, bf16_max[2] = {0x7F, 0x7F};
    cr_assert_eq(load_vector("v", "F16", f16_max, 1, &err), 0, "65504 in F16 was rejected: %s", err.msg);
    cr_assert_eq(load_vector("v", "BF16", bf16_max, 1, &err), 0, "the BF16 maximum was rejected: %s", err.msg);
}

Test(safetensors, escaped_names_with_surrogate_pairs_match_their_utf8_spelling)
{
    const float one[1] = {0.5f};
    vggc_tensor t = {"caf\xc3\xa9.\xf0\x9f\x98\x80", vec, 1, {1, 0, 0, 0}, 1, 1};
    vggc_model m = {"vec", &t, 1, NULL, 0, 1, 1, 1, 1, 1, 1, NULL, 0};
    blob b = make_blob(header(tensor("caf\\u00e9.\\ud83d\\ude00", "F32", "[1]", 0, 4), NULL), one, 4);
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&m, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
    free(b.bytes);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
    cr_assert_eq(vec[0], 0.5f, "got %g (expected 0.5)", (double)vec[0]);
}

/* The VmFlags line of the mapping of /proc/self/smaps that holds addr, into flags; 0, or -1 if none does. */
static int vm_flags_at(const void *addr, char *flags, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0, found = -1;
    while (f && found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        else if (inside && !strncmp(line, "VmFlags:", 8)) snprintf(flags, cap, "%.200s", line + 8), found = 0;
    }
    if (f) fclose(f);
    return found;
}

/* 6 MiB of static storage: wherever it lands, two whole 2 MiB pages lie inside it. */
static float paged[6 << 18];

Test(safetensors, megabytes_of_weights_are_asked_onto_huge_pages_and_the_ragged_edges_are_not)
{
    FILE *thp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!thp) cr_skip_test("this kernel has no transparent huge pages (/sys/kernel/mm/transparent_hugepage)");
    fclose(thp);
    int n = (int)(sizeof paged / sizeof paged[0]);
    float *data = malloc(sizeof paged);
    cr_assert(data);
    for (int i = 0; i < n; i++) data[i] = (float)(i % 1000) * 0.25f;
    vggc_error err = {""};
    cr_assert_eq(load_floats(paged, "paged", "F32", data, n, &err), 0, "load failed: %s", err.msg);
    expect_close("the weights loaded onto huge pages", paged, data, n, 0, 0);
    free(data);

    uintptr_t huge = VGGC_HUGE_PAGE_BYTES, first = ((uintptr_t)paged + huge - 1) & ~(huge - 1);
    char flags[256] = "", edge[256] = "";
    cr_assert_eq(vm_flags_at((const void *)first, flags, sizeof flags), 0, "no mapping holds %p", (void *)first);
    cr_expect(strstr(flags, " hg") != NULL, "the first whole 2 MiB page of the weights has VmFlags%s(expected hg: "
              "madvise MADV_HUGEPAGE)", flags);
    if ((uintptr_t)paged != first) { /* the part before it keeps small pages: it shares them with other variables */
        cr_assert_eq(vm_flags_at(paged, edge, sizeof edge), 0, "no mapping holds %p", (void *)paged);
        cr_expect(strstr(edge, " hg") == NULL, "the ragged start of the weights has VmFlags%s(expected no hg)", edge);
    }
}

/* conv (2, 3, 1, 1) + bias followed by BatchNorm over 2 channels. */
static float conv_w[6], conv_b[2], gamma_[2], beta_[2], mean_[2], var_[2];
static const vggc_tensor bn_tensors[] = {
    {"conv.weight", conv_w, 4, {2, 3, 1, 1}, 6, 1}, {"conv.bias", conv_b, 1, {2, 0, 0, 0}, 2, 1},
    {"bn.weight", gamma_, 1, {2, 0, 0, 0}, 2, 1},   {"bn.bias", beta_, 1, {2, 0, 0, 0}, 2, 1},
    {"bn.running_mean", mean_, 1, {2, 0, 0, 0}, 2, 0}, {"bn.running_var", var_, 1, {2, 0, 0, 0}, 2, 0},
};
static const vggc_bn_fold bn_fold = {conv_w, conv_b, gamma_, beta_, mean_, var_, 2, 3, 1e-5f};
static const vggc_model bn_model = {"bn", bn_tensors, 6, &bn_fold, 1, 1, 3, 1, 1, 2, 12, NULL, 0};

Test(safetensors, batchnorm_is_folded_into_the_conv_after_loading)
{
    const float w[6] = {1, 2, 3, -1, -2, -3}, b[2] = {0.5f, -0.5f}, g[2] = {2, 0.5f}, be[2] = {0.25f, -1};
    const float mu[2] = {1, -2}, v[2] = {4, 0.25f};
    float data[18], want_w[6], want_b[2];
    memcpy(data, w, 24), memcpy(data + 6, b, 8), memcpy(data + 8, g, 8), memcpy(data + 10, be, 8);
    memcpy(data + 12, mu, 8), memcpy(data + 14, v, 8), memset(data + 16, 0, 8);
    const char *hdr = header(tensor("conv.weight", "F32", "[2, 3, 1, 1]", 0, 24), tensor("conv.bias", "F32", "[2]", 24, 32),
                             tensor("bn.weight", "F32", "[2]", 32, 40), tensor("bn.bias", "F32", "[2]", 40, 48),
                             tensor("bn.running_mean", "F32", "[2]", 48, 56), tensor("bn.running_var", "F32", "[2]", 56, 64),
                             tensor("bn.num_batches_tracked", "I64", "[]", 64, 72), NULL);
    for (int c = 0; c < 2; c++) {
        double s = g[c] / sqrt((double)v[c] + 1e-5);
        for (int j = 0; j < 3; j++) want_w[3 * c + j] = (float)(w[3 * c + j] * s);
        want_b[c] = (float)((b[c] - mu[c]) * s + be[c]);
    }
    blob f = make_blob(hdr, data, sizeof data);
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&bn_model, f.bytes, f.size, VGGC_MATCH_BY_NAME, &err);
    free(f.bytes);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
    expect_close("folded conv.weight", conv_w, want_w, 6, 1e-6, 0);
    expect_close("folded conv.bias", conv_b, want_b, 2, 1e-6, 1e-7);
}

Test(safetensors, a_file_on_disk_loads_from_its_path)
{
    char *dir = make_temp_dir("st"), path[4200];
    snprintf(path, sizeof path, "%s/tiny.safetensors", dir);
    blob b = make_blob(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL), tiny_data, sizeof tiny_data);
    FILE *out = fopen(path, "wb");
    cr_assert_not_null(out, "cannot write %s", path);
    cr_assert_eq(fwrite(b.bytes, 1, b.size, out), b.size, "short write to %s", path);
    fclose(out);
    vggc_error err = {""};
    int rc = vggc_load_safetensors(&tiny, path, VGGC_MATCH_BY_NAME, &err);
    free(b.bytes);
    remove_tree(dir);
    free(dir);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
    expect_tiny_loaded();
}

/* ---- errors: the file and its header ------------------------------------------------------------------- */

Test(safetensors, a_missing_path_is_named_and_said_to_be_missing)
{
    vggc_error err = {""};
    int rc = vggc_load_safetensors(&tiny, "/nonexistent/W.safetensors", VGGC_MATCH_BY_NAME, &err);
    expect_error(rc, &err, "/nonexistent/W.safetensors: cannot open: No such file or directory");
}

Test(safetensors, messages_from_memory_start_with_memory)
{
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&tiny, "abc", 3, VGGC_MATCH_BY_NAME, &err);
    expect_error(rc, &err, "<memory>: file is 3 bytes, too short for a header length (expected at least 8)");
}

Test(safetensors, a_header_cut_short_is_truncated)
{
    blob b = make_blob(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL), tiny_data, sizeof tiny_data);
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&tiny, b.bytes, 8 + 20, VGGC_MATCH_BY_NAME, &err);
    free(b.bytes);
    expect_error(rc, &err, "bytes runs past the end of the file (20 bytes follow; truncated?)");
}

Test(safetensors, a_header_length_past_the_end_of_the_file_is_rejected)
{
    blob b = make_blob("{}", NULL, 0);
    b.bytes[0] = 0xE8, b.bytes[1] = 0x03; /* 1000 */
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&tiny, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
    free(b.bytes);
    expect_error(rc, &err, "header of 1000 bytes runs past the end of the file (2 bytes follow");
}

Test(safetensors, a_huge_header_length_is_rejected_as_absurd)
{
    blob b = make_blob("{}", NULL, 0);
    memset(b.bytes, 0xFF, 8);
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&tiny, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
    free(b.bytes);
    expect_error(rc, &err, "header length 18446744073709551615 is absurd (expected at most 100000000 bytes)");
}

Test(safetensors, non_utf8_bytes_in_the_header_are_rejected)
{
    expect_tiny_rejected("{\"fc.w\xff\": 1}", "header byte 6: invalid UTF-8");
    expect_tiny_rejected("{\"\xc0\xaf\": 1}", "invalid UTF-8");         /* overlong '/' */
    expect_tiny_rejected("{\"\xed\xa0\x80\": 1}", "invalid UTF-8");     /* encoded surrogate */
}

Test(safetensors, broken_json_is_rejected_at_the_byte_where_it_breaks)
{
    const char *cases[][2] = {
        {"", "header byte 0: expected '{' (the header is a JSON object)"},
        {"{\"a\" {}}", "header byte 5: expected ':' after a key"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]} \"b\": 1}", "expected ',' or '}' in an object"},
        {"{\"__metadata__\": {}, }", "expected a string key"},
        {"{\"a", "unterminated string"},
        {"{\"a\\q\": {}}", "invalid escape"},
        {"{\"a\\ud800x\": {}}", "lone high surrogate"},
        {"{\"a\\udc00\": {}}", "lone low surrogate"},
        {"{\"a\\u00\": {}}", "invalid \\u escape"},
        {"{\"a\\u0000\": {}}", "\\u0000 in a string"},
        {"{\"a\tb\": {}}", "control character in a string"},
        {"{} x", "unexpected text after the header object"},
        {"{\"__metadata__\": {\"k\": tru}}", "expected a JSON value"},
        {"{\"__metadata__\": {\"k\": 01}}", "expected ',' or '}' in an object"},
        {"{\"__metadata__\": {\"k\": [1 2]}}", "expected ',' or ']' in an array"},
        {"{\"__metadata__\": \"pt\"}", "__metadata__ is not an object"},
        {"{\"__metadata__\": {}, \"__metadata__\": {}}", "__metadata__ given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_tiny_rejected(cases[i][0], cases[i][1]);
}

Test(safetensors, nesting_deeper_than_64_in_the_metadata_is_rejected)
{
    char hdr[512] = "{\"__metadata__\": {\"k\": ";
    for (int i = 0; i < 100; i++) strcat(hdr, "[");
    expect_tiny_rejected(hdr, "nesting deeper than 64");
}

Test(safetensors, a_duplicate_tensor_name_is_rejected)
{
    expect_tiny_rejected(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, tensor("fc.bias", "F32", "[2]", 24, 32), NULL),
                         "<memory>: fc.bias: tensor given twice in the header (expected unique names)");
}

Test(safetensors, missing_and_malformed_fields_are_each_named)
{
    const char *cases[][2] = {
        {"{\"a\": 3}", "a: not an object"},
        {"{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "a: no dtype"},
        {"{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", "a: no shape"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", "a: no data_offsets"},
        {"{\"a\": {\"dtype\": 32}}", "a: dtype is not a string"},
        {"{\"a\": {\"dtype\": \"F32\", \"dtype\": \"F32\"}}", "a: dtype given twice"},
        {"{\"a\": {\"shape\": 1}}", "a: shape is not an array"},
        {"{\"a\": {\"shape\": [1, -3]}}", "a: shape dimension -3 is negative (expected an integer >= 0)"},
        {"{\"a\": {\"shape\": [2.5]}}", "a: shape dimension 2.5 is not an integer"},
        {"{\"a\": {\"shape\": [1e3]}}", "a: shape dimension 1e3 is not an integer"},
        {"{\"a\": {\"shape\": [\"1\"]}}", "a: shape dimension is not a number"},
        {"{\"a\": {\"shape\": [99999999999999999999999]}}", "a: shape dimension 99999999999999999999999 is too large"},
        {"{\"a\": {\"shape\": [1,1,1,1,1,1,1,1,1]}}", "a: shape has more than 8 dimensions"},
        {"{\"a\": {\"data_offsets\": [0]}}", "a: data_offsets holds 1 of 2 numbers (expected [begin, end])"},
        {"{\"a\": {\"data_offsets\": [0, 4, 8]}}", "a: data_offsets has more than 2 numbers"},
        {"{\"a\": {\"data_offsets\": [-1, 4]}}", "a: data offset -1 is negative"},
        {"{\"a\": {\"sha\": [1]}}", "a: unknown field \"sha\" (expected dtype, shape and data_offsets)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_tiny_rejected(cases[i][0], cases[i][1]);
}

/* ---- errors: offsets and sizes ------------------------------------------------------------------------- */

Test(safetensors, offsets_past_the_data_section_are_rejected)
{
    expect_tiny_rejected(header(FC_WEIGHT, FC_BIAS, tensor("out.weight", "F32", "[1, 2, 1, 1]", 36, 44), NULL),
                         "out.weight: data_offsets [36, 44] run past the data section (40 bytes)");
}

Test(safetensors, offsets_that_begin_after_they_end_are_rejected)
{
    expect_tiny_rejected(header(FC_WEIGHT, FC_BIAS, tensor("out.weight", "F32", "[1, 2, 1, 1]", 40, 32), NULL),
                         "out.weight: data_offsets [40, 32] end before they begin");
}

Test(safetensors, overlapping_offsets_are_rejected_naming_both_tensors)
{
    expect_tiny_rejected(header(FC_WEIGHT, tensor("fc.bias", "F32", "[2]", 20, 28), OUT_WEIGHT, NULL),
                         "fc.bias: data_offsets [20, 28] overlap fc.weight [0, 24] (expected disjoint ranges)");
}

Test(safetensors, a_byte_size_that_does_not_match_the_shape_is_rejected)
{
    expect_tiny_rejected(header(tensor("fc.weight", "F32", "[2, 3]", 0, 20), FC_BIAS, OUT_WEIGHT, NULL),
                         "fc.weight: 20 bytes of data for F32 [2, 3] (expected 24)");
}

Test(safetensors, a_shape_whose_byte_size_overflows_is_rejected)
{
    expect_tiny_rejected(header(tensor("fc.weight", "F32", "[9007199254740992, 9007199254740992]", 0, 24), NULL),
                         "fc.weight: shape [9007199254740992, 9007199254740992] is too large");
}

Test(safetensors, an_unknown_dtype_is_rejected_by_name)
{
    expect_tiny_rejected(header(tensor("fc.weight", "Q7", "[2, 3]", 0, 24), NULL),
                         "fc.weight: unknown dtype Q7 (expected a safetensors dtype such as F32)");
}

/* ---- errors: matching the model ------------------------------------------------------------------------ */

Test(safetensors, an_unsupported_dtype_is_rejected_by_name)
{
    const float zeros[16] = {0};
    vggc_error err = {""};
    const char *hdr = header(tensor("fc.weight", "I64", "[2, 3]", 0, 48), tensor("fc.bias", "F32", "[2]", 48, 56),
                             tensor("out.weight", "F32", "[1, 2, 1, 1]", 56, 64), NULL);
    int rc = load_tiny(hdr, zeros, sizeof zeros, VGGC_MATCH_BY_NAME, &err);
    expect_error(rc, &err, "<memory>: fc.weight: dtype I64 is not supported (expected F32, F16 or BF16)");
}

Test(safetensors, a_missing_tensor_is_named)
{
    expect_tiny_rejected(header(FC_WEIGHT, OUT_WEIGHT, NULL), "<memory>: fc.bias: missing (expected by tiny)");
}

Test(safetensors, an_extra_tensor_is_named_as_a_sign_of_another_model)
{
    expect_tiny_rejected(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, tensor("extra.weight", "F32", "[0]", 40, 40), NULL),
                         "<memory>: extra.weight: not a tensor of tiny (is the file for another model?)");
}

Test(safetensors, a_wrong_shape_says_what_was_found_and_what_was_expected)
{
    expect_tiny_rejected(header(tensor("fc.weight", "F32", "[3, 2]", 0, 24), FC_BIAS, OUT_WEIGHT, NULL),
                         "<memory>: fc.weight: shape [3, 2] (expected [2, 3])");
    expect_tiny_rejected(header(FC_WEIGHT, FC_BIAS, tensor("out.weight", "F32", "[2]", 32, 40), NULL),
                         "<memory>: out.weight: shape [2] (expected [1, 2, 1, 1])");
}

Test(safetensors, a_wrong_shape_by_order_names_the_file_tensor_and_the_model_tensor)
{
    vggc_error err = {""};
    const char *hdr = header(tensor("a", "F32", "[2]", 0, 8), tensor("b", "F32", "[2, 3]", 8, 32),
                             tensor("c", "F32", "[1, 2, 1, 1]", 32, 40), NULL);
    int rc = load_tiny(hdr, tiny_data, sizeof tiny_data, VGGC_MATCH_BY_ORDER, &err);
    expect_error(rc, &err, "<memory>: a (by order, as fc.weight): shape [2] (expected [2, 3])");
}

Test(safetensors, a_wrong_tensor_count_by_order_is_rejected)
{
    vggc_error err = {""};
    int rc = load_tiny(header(FC_WEIGHT, FC_BIAS, NULL), tiny_data, sizeof tiny_data, VGGC_MATCH_BY_ORDER, &err);
    expect_error(rc, &err, "<memory>: 2 tensors to match by order (expected 3, the tensors of tiny)");
}

Test(safetensors, an_unknown_match_mode_is_rejected)
{
    vggc_error err = {""};
    int rc = load_tiny(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL), tiny_data, sizeof tiny_data, 7, &err);
    expect_error(rc, &err, "match mode 7 (expected VGGC_MATCH_BY_NAME or VGGC_MATCH_BY_ORDER)");
}

Test(safetensors, a_failed_load_leaves_every_weight_unchanged)
{
    const float sentinel[6] = {42, 42, 42, 42, 42, 42};
    fill_tiny(42);
    expect_tiny_rejected(header(FC_WEIGHT, FC_BIAS, tensor("out.weight", "F32", "[2, 1, 1, 1]", 32, 40), NULL),
                         "out.weight: shape [2, 1, 1, 1] (expected [1, 2, 1, 1])");
    expect_close("fc.weight after a failed load", fc_weight, sentinel, 6, 0, 0);
    expect_close("fc.bias after a failed load", fc_bias, sentinel, 2, 0, 0);
    expect_close("out.weight after a failed load", out_weight, sentinel, 2, 0, 0);
}

/* ---- prepared conv weights: made from the file, no raw copy kept ----------------------------------------- */

/* conv (4, 3, 3, 3) + bias, BatchNorm over 4 channels; the conv runs on a prepared copy, so its weight has no
 * storage (data NULL) and the loader makes the copy from the file's tensor with the BatchNorm folded in. */
enum { PC_OUT = 4, PC_IN = 3, PC_PER = PC_IN * 9, PC_W = PC_OUT * PC_PER, PC_FLOATS = PC_W + 5 * PC_OUT };
static float pc_b[PC_OUT], pc_g[PC_OUT], pc_be[PC_OUT], pc_mu[PC_OUT], pc_var[PC_OUT];
static float pc_dst[VGGC_WINOGRAD_WEIGHT_FLOATS(PC_IN, PC_OUT, 4)]; /* large enough for every kind */
static const vggc_tensor pc_tensors[] = {
    {"conv.weight", NULL, 4, {PC_OUT, PC_IN, 3, 3}, PC_W, 1}, {"conv.bias", pc_b, 1, {PC_OUT}, PC_OUT, 1},
    {"bn.weight", pc_g, 1, {PC_OUT}, PC_OUT, 1},             {"bn.bias", pc_be, 1, {PC_OUT}, PC_OUT, 1},
    {"bn.running_mean", pc_mu, 1, {PC_OUT}, PC_OUT, 0},      {"bn.running_var", pc_var, 1, {PC_OUT}, PC_OUT, 0},
};
static const vggc_bn_fold pc_fold = {NULL, pc_b, pc_g, pc_be, pc_mu, pc_var, PC_OUT, PC_PER, 1e-5f};

/* The model with its one prepare of kind (tile m for Winograd), and a file of seeded values for it (running_var
 * positive) with one value replaced by bad_bits at element bad of conv.weight when bad >= 0. */
static vggc_model pc_model(vggc_prepare *p, int kind, int m)
{
    *p = (vggc_prepare){kind, pc_dst, 0, &pc_fold, PC_IN, PC_OUT, 3, m};
    return (vggc_model){"pc", pc_tensors, 6, &pc_fold, 1, 1, PC_IN, 4, 4, 2, PC_W + 3 * PC_OUT, p, 1};
}

static blob pc_file(float *values, int bad, uint32_t bad_bits)
{
    fill_random(values, PC_FLOATS, 31u, 1.0f);
    for (int c = 0; c < PC_OUT; c++) values[PC_W + 4 * PC_OUT + c] = fabsf(values[PC_W + 4 * PC_OUT + c]) + 0.5f;
    unsigned char data[PC_FLOATS * 4];
    memcpy(data, values, sizeof data);
    if (bad >= 0) memcpy(data + 4 * bad, &bad_bits, 4);
    long w = PC_W * 4, v = PC_OUT * 4;
    return make_blob(header(tensor("conv.weight", "F32", "[4, 3, 3, 3]", 0, w), tensor("conv.bias", "F32", "[4]", w, w + v),
                            tensor("bn.weight", "F32", "[4]", w + v, w + 2 * v), tensor("bn.bias", "F32", "[4]", w + 2 * v, w + 3 * v),
                            tensor("bn.running_mean", "F32", "[4]", w + 3 * v, w + 4 * v),
                            tensor("bn.running_var", "F32", "[4]", w + 4 * v, w + 5 * v), NULL),
                     data, sizeof data);
}

Test(safetensors, a_prepared_conv_is_packed_from_the_file_with_its_batchnorm_folded_in)
{
    static const int kinds[3][2] = {{VGGC_PREPARE_DIRECT, 0}, {VGGC_PREPARE_WINOGRAD, 2}, {VGGC_PREPARE_WINOGRAD, 4}};
    for (int k = 0; k < 3; k++) {
        vggc_prepare p;
        vggc_model m = pc_model(&p, kinds[k][0], kinds[k][1]);
        float values[PC_FLOATS], folded[PC_W], want[sizeof pc_dst / sizeof(float)];
        blob b = pc_file(values, -1, 0);
        vggc_error err = {""};
        int rc = vggc_load_safetensors_mem(&m, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
        free(b.bytes);
        cr_assert_eq(rc, 0, "load (kind %d, m %d) failed: %s", kinds[k][0], kinds[k][1], err.msg);
        const float *g = values + PC_W + PC_OUT, *var = values + PC_W + 4 * PC_OUT;
        for (int c = 0; c < PC_OUT; c++)
            for (int j = 0; j < PC_PER; j++)
                folded[c * PC_PER + j] = (float)(values[c * PC_PER + j] * (g[c] / sqrt((double)var[c] + 1e-5)));
        memset(want, 0, sizeof want);
        if (kinds[k][0] == VGGC_PREPARE_DIRECT) vggc_direct_pack(want, folded, PC_IN, PC_OUT, 3);
        else vggc_winograd_pack(want, folded, PC_IN, PC_OUT, kinds[k][1]);
        size_t n = kinds[k][0] == VGGC_PREPARE_DIRECT ? VGGC_DIRECT_WEIGHT_FLOATS(PC_IN, PC_OUT, 3)
                                                      : VGGC_WINOGRAD_WEIGHT_FLOATS(PC_IN, PC_OUT, kinds[k][1]);
        expect_close("prepared copy", pc_dst, want, n, 1e-5, 1e-6);
    }
}

Test(safetensors, a_rejected_file_leaves_the_prepared_copy_and_the_biases_as_they_were)
{
    vggc_prepare p;
    vggc_model m = pc_model(&p, VGGC_PREPARE_WINOGRAD, 2);
    float values[PC_FLOATS], dst[sizeof pc_dst / sizeof(float)], bias[PC_OUT];
    blob good = pc_file(values, -1, 0), bad = pc_file(values, PC_W - 1, 0x7FC00000u);
    vggc_error err = {""};
    cr_assert_eq(vggc_load_safetensors_mem(&m, good.bytes, good.size, VGGC_MATCH_BY_NAME, &err), 0, "%s", err.msg);
    memcpy(dst, pc_dst, sizeof dst), memcpy(bias, pc_b, sizeof bias);
    int rc = vggc_load_safetensors_mem(&m, bad.bytes, bad.size, VGGC_MATCH_BY_NAME, &err);
    free(good.bytes), free(bad.bytes);
    expect_error(rc, &err, "<memory>: conv.weight: element 107 is NaN (weights must be finite)");
    cr_expect(memcmp(dst, pc_dst, sizeof dst) == 0, "the prepared copy changed");
    cr_expect(memcmp(bias, pc_b, sizeof bias) == 0, "the folded bias changed");
}

Test(safetensors, a_prepare_over_a_stored_weight_is_an_inconsistent_model)
{
    static float stored[PC_W];
    vggc_tensor tensors[6];
    memcpy(tensors, pc_tensors, sizeof tensors);
    tensors[0].data = stored;
    vggc_prepare p;
    vggc_model m = pc_model(&p, VGGC_PREPARE_DIRECT, 0);
    m.tensors = tensors;
    float values[PC_FLOATS];
    blob b = pc_file(values, -1, 0);
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&m, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
    free(b.bytes);
    expect_error(rc, &err, "<memory>: prepared weight 0: model pc describes it inconsistently");
}

/* ---- a linear layer's packed weight: written from the file chunk by chunk ------------------------------ */

/* fc (1100, 3001): 3,301,100 values, 13.2 MB in F32 (two of the loader's 8 MiB chunks, a row split between
 * them), 6.6 MB in F16; 1100 outputs make a panel of 1024 and one of 76 (80 wide). */
enum { LW_OUT = 1100, LW_IN = 3001, LW_COUNT = LW_OUT * LW_IN };
static float lw_packed[VGGC_DENSE_WEIGHT_FLOATS(LW_IN, LW_OUT)], lw_bias[LW_OUT];

static void expect_linear_packed_from(const char *dtype)
{
    size_t size = strcmp(dtype, "F32") ? 2 : 4;
    unsigned char *data = malloc(LW_COUNT * size + LW_OUT * 4);
    float *values = malloc(LW_COUNT * sizeof *values), *want = malloc(sizeof lw_packed);
    for (size_t i = 0; i < LW_COUNT; i++) { /* values exact in both dtypes: k / 1024, |k| < 1024 */
        float v = (float)((long)(i * 2654435761u % 2047) - 1023) / 1024.0f;
        uint16_t half = v == 0.0f ? 0 : (uint16_t)((v < 0 ? 0x8000u : 0) | ((uint32_t)(15 + ilogbf(v)) << 10) |
                                                   (uint32_t)((fabsf(v) / ldexpf(1.0f, ilogbf(v)) - 1.0f) * 1024.0f));
        values[i] = v;
        if (size == 4) memcpy(data + 4 * i, &v, 4);
        else data[2 * i] = (unsigned char)half, data[2 * i + 1] = (unsigned char)(half >> 8);
    }
    memset(data + LW_COUNT * size, 0, LW_OUT * 4);
    char shape[32];
    snprintf(shape, sizeof shape, "[%d, %d]", LW_OUT, LW_IN);
    long w = (long)(LW_COUNT * size);
    blob b = make_blob(header(tensor("fc.weight", dtype, shape, 0, w), tensor("fc.bias", "F32", "[1100]", w, w + 4400),
                              NULL),
                       data, LW_COUNT * size + LW_OUT * 4);
    const vggc_tensor t[] = {{"fc.weight", NULL, 2, {LW_OUT, LW_IN}, LW_COUNT, 1},
                             {"fc.bias", lw_bias, 1, {LW_OUT}, LW_OUT, 1}};
    const vggc_prepare p = {VGGC_PREPARE_DENSE, lw_packed, 0, NULL, LW_IN, LW_OUT, 0, 0};
    const vggc_model m = {"lw", t, 2, NULL, 0, 1, LW_IN, 1, 1, LW_OUT, LW_COUNT + LW_OUT, &p, 1};
    vggc_error err = {""};
    memset(lw_packed, 0, sizeof lw_packed);
    int rc = vggc_load_safetensors_mem(&m, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
    cr_assert_eq(rc, 0, "%s: load failed: %s", dtype, err.msg);
    vggc_dense_pack(want, values, LW_IN, LW_OUT);
    char what[64];
    snprintf(what, sizeof what, "fc.weight from %s, packed", dtype);
    expect_same_bits(what, lw_packed, want, VGGC_DENSE_WEIGHT_FLOATS(LW_IN, LW_OUT));
    free(data), free(values), free(want), free(b.bytes);
}

Test(safetensors, a_linear_weight_is_packed_from_the_file_across_chunks_in_f32_and_f16)
{
    expect_linear_packed_from("F32");
    expect_linear_packed_from("F16");
}

/* ---- files: mapped and used in chunks, or read whole ----------------------------------------------------- */

static void write_file(const char *path, const blob *b)
{
    FILE *out = fopen(path, "wb");
    cr_assert_not_null(out, "cannot write %s", path);
    cr_assert_eq(fwrite(b->bytes, 1, b->size, out), b->size, "short write to %s", path);
    fclose(out);
}

/* A vector of BIG values: 20 MB in F32, 10 MB in F16, more than one 8 MiB chunk of the loader either way. */
enum { BIG = 5000000 };
static float big[BIG];

static blob big_file(const char *dtype, size_t bad, uint32_t bad_bits)
{
    size_t size = strcmp(dtype, "F32") ? 2 : 4;
    unsigned char *data = malloc(BIG * size);
    for (size_t i = 0; i < BIG; i++) {
        uint32_t bits = size == 4 ? 0x3F800000u + (uint32_t)(i % 1000) : 0x3C00u + (uint32_t)(i % 1000);
        if (i == bad) bits = bad_bits;
        for (size_t k = 0; k < size; k++) data[i * size + k] = (unsigned char)(bits >> (8 * k));
    }
    char shape[32];
    snprintf(shape, sizeof shape, "[%d]", BIG);
    blob b = make_blob(header(tensor("big", dtype, shape, 0, (long)(BIG * size)), NULL), data, BIG * size);
    free(data);
    return b;
}

static int load_big_file(const char *dir, const blob *b, vggc_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/big.safetensors", dir);
    write_file(path, b);
    vggc_tensor t = {"big", big, 1, {BIG}, BIG, 1};
    vggc_model m = {"big", &t, 1, NULL, 0, 1, 1, 1, 1, 1, BIG, NULL, 0};
    return vggc_load_safetensors(&m, path, VGGC_MATCH_BY_NAME, err);
}

Test(safetensors, a_file_of_several_chunks_loads_whole_and_a_nan_in_a_later_chunk_is_found)
{
    char *dir = make_temp_dir("st");
    for (int half = 0; half < 2; half++) {
        const char *dtype = half ? "F16" : "F32";
        blob good = big_file(dtype, BIG, 0), bad = big_file(dtype, 4500000, half ? 0x7E00u : 0x7FC00000u);
        vggc_error err = {""};
        cr_assert_eq(load_big_file(dir, &good, &err), 0, "the %s file failed: %s", dtype, err.msg);
        int wrong = -1;
        for (int i = 0; i < BIG && wrong < 0; i++) {
            float want = half ? 1.0f + (float)(i % 1000) / 1024 : 1.0f + (float)(i % 1000) * 0x1p-23f;
            if (big[i] != want) wrong = i;
        }
        cr_expect_eq(wrong, -1, "%s element %d is %g", dtype, wrong, wrong < 0 ? 0.0 : (double)big[wrong]);
        int rc = load_big_file(dir, &bad, &err);
        expect_error(rc, &err, "big.safetensors: big: element 4500000 is NaN (weights must be finite)");
        free(good.bytes), free(bad.bytes);
    }
    remove_tree(dir);
    free(dir);
}

Test(safetensors, a_fifo_that_cannot_be_mapped_is_read_whole)
{
    char *dir = make_temp_dir("st"), path[4200];
    snprintf(path, sizeof path, "%s/tiny.fifo", dir);
    cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo %s: %s", path, strerror(errno));
    blob b = make_blob(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL), tiny_data, sizeof tiny_data);
    pid_t writer = fork();
    if (writer == 0) {
        FILE *out = fopen(path, "wb");
        _exit(out && fwrite(b.bytes, 1, b.size, out) == b.size && fclose(out) == 0 ? 0 : 1);
    }
    fill_tiny(0);
    vggc_error err = {""};
    int rc = vggc_load_safetensors(&tiny, path, VGGC_MATCH_BY_NAME, &err), status = -1;
    waitpid(writer, &status, 0);
    free(b.bytes);
    remove_tree(dir);
    free(dir);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
    cr_assert_eq(status, 0, "the writer failed");
    expect_tiny_loaded();
}

Test(safetensors, a_directory_is_not_read_as_weights)
{
    char *dir = make_temp_dir("st");
    vggc_error err = {""};
    int rc = vggc_load_safetensors(&tiny, dir, VGGC_MATCH_BY_NAME, &err);
    char want[4200];
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", dir);
    remove_tree(dir);
    free(dir);
    expect_error(rc, &err, want);
}

/* The loader checks the mapped file after every chunk with vggc_map_changed (runtime/fileio.h). */
Test(safetensors, a_mapped_file_that_grows_or_is_written_to_is_seen_to_change)
{
    char *dir = make_temp_dir("st"), path[4200], what[160] = "";
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    blob b = make_blob(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL), tiny_data, sizeof tiny_data);
    write_file(path, &b);
    vggc_mapped map;
    vggc_error err = {""};
    cr_assert_eq(vggc_map_file(path, &map, &err), 0, "%s", err.msg);
    cr_expect_geq(map.fd, 0, "a regular file was not mapped");
    cr_expect_eq(vggc_map_changed(&map, what, sizeof what), 0, "an untouched file changed: %s", what);
    struct timespec times[2] = {{0, UTIME_OMIT}, {1, 0}}; /* mtime 1 s after the epoch, the size kept */
    cr_assert_eq(utimensat(AT_FDCWD, path, times, 0), 0, "utimensat: %s", strerror(errno));
    cr_expect_eq(vggc_map_changed(&map, what, sizeof what), 1, "a file written to was not seen");
    cr_expect_str_eq(what, "written to");
    FILE *out = fopen(path, "ab");
    fputs("more", out);
    fclose(out);
    cr_expect_eq(vggc_map_changed(&map, what, sizeof what), 1, "a file that grew was not seen");
    char want[64];
    snprintf(want, sizeof want, "%zu bytes, was %zu", b.size + 4, b.size);
    cr_expect_str_eq(what, want);
    vggc_unmap(&map);
    free(b.bytes);
    remove_tree(dir);
    free(dir);
}

/* ---- robustness ---------------------------------------------------------------------------------------- */

Test(safetensors, every_truncation_of_a_good_file_is_rejected)
{
    blob b = make_blob(header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL), tiny_data, sizeof tiny_data);
    for (size_t n = 0; n < b.size; n++) {
        vggc_error err = {""};
        unsigned char *cut = malloc(n ? n : 1); /* exactly n bytes, so the sanitizer sees any overread */
        memcpy(cut, b.bytes, n);
        int rc = vggc_load_safetensors_mem(&tiny, cut, n, VGGC_MATCH_BY_NAME, &err);
        free(cut);
        cr_assert_eq(rc, -1, "a file cut to %zu of %zu bytes loaded (expected an error)", n, b.size);
        cr_assert_neq(err.msg[0], '\0', "a file cut to %zu bytes failed without a message", n);
    }
    free(b.bytes);
}

Test(safetensors, every_prefix_of_the_header_json_ending_the_file_is_rejected)
{
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "{\"__metadata__\": {\"k\": [1.5e-3, true, null, {\"q\": \"\\u00e9\\ud83d\\ude00\"}]}, %s}",
             FC_WEIGHT);
    for (size_t n = 0; n < strlen(hdr); n++) {
        char cut[1024];
        memcpy(cut, hdr, n);
        cut[n] = '\0';
        blob b = make_blob(cut, NULL, 0);
        vggc_error err = {""};
        int rc = vggc_load_safetensors_mem(&tiny, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
        free(b.bytes);
        cr_assert_eq(rc, -1, "a header cut to %zu bytes loaded (expected an error)", n);
        cr_assert_neq(err.msg[0], '\0', "a header cut to %zu bytes failed without a message", n);
    }
}

/* Each byte of the header set to each of a few telling values; with_data 0 makes the JSON end the buffer. */
static void corrupt_every_header_byte(int with_data)
{
    static const unsigned char values[] = {0x00, 0x7F, 0x80, 0xFF, '"', '\\', '{', '}', '[', ']', ',', ':', '-', '9', 'e'};
    const char *hdr = header(FC_WEIGHT, FC_BIAS, OUT_WEIGHT, NULL);
    size_t n = strlen(hdr), data = with_data ? sizeof tiny_data : 0;
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < sizeof values; v++) {
            blob b = make_blob(hdr, tiny_data, data);
            b.bytes[8 + i] = values[v];
            vggc_error err = {""};
            int rc = vggc_load_safetensors_mem(&tiny, b.bytes, b.size, VGGC_MATCH_BY_NAME, &err);
            free(b.bytes);
            cr_assert(rc == 0 || err.msg[0], "header byte %zu set to 0x%02X failed without a message", i, values[v]);
        }
}

Test(safetensors, every_single_byte_corruption_of_the_header_is_handled)
{
    corrupt_every_header_byte(1);
    corrupt_every_header_byte(0);
}
