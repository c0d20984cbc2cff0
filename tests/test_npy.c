/* test_npy.c — float32 .npy files: round trips through write and read, NumPy's header layout, versions 2.0 and
 * 3.0, and every kind of file that is not a little-endian float32 C-order tensor of rank 1..4, each with its own
 * message. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "vggc.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building files ------------------------------------------------------------------------------------ */

typedef struct {
    unsigned char *bytes;
    size_t size;
} blob;

/* A .npy file of version major.0 with dict as its header (unpadded) and size bytes of data, allocated exactly so
 * the sanitizer sees any overread. */
static blob make_npy(int major, const char *dict, const void *data, size_t size)
{
    size_t n = strlen(dict), pre = major == 1 ? 10 : 12;
    blob b = {malloc(pre + n + size), pre + n + size};
    cr_assert_not_null(b.bytes, "out of memory for a %zu-byte file", b.size);
    memcpy(b.bytes, "\x93NUMPY", 6);
    b.bytes[6] = (unsigned char)major, b.bytes[7] = 0;
    for (size_t i = 8; i < pre; i++) b.bytes[i] = (unsigned char)(n >> (8 * (i - 8)));
    memcpy(b.bytes + pre, dict, n);
    if (size) memcpy(b.bytes + pre + n, data, size);
    return b;
}

static const float six[6] = {1.5f, -2, 3.25f, 0, -0.125f, 1e-30f};
#define DICT_2x3 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"

/* Parse major.0 / dict / size bytes of six; -1 with err, or 0 with the tensor freed after checking its shape. */
static int parse_npy(int major, const char *dict, size_t size, vggc_error *err)
{
    blob b = make_npy(major, dict, six, size);
    float *data = NULL;
    int64_t shape[4];
    int rank = 0;
    int rc = vggc_npy_parse(b.bytes, b.size, &data, shape, &rank, err);
    free(b.bytes);
    free(data);
    return rc;
}

static void expect_error(int rc, const vggc_error *err, const char *needle)
{
    cr_assert_eq(rc, -1, "it succeeded (expected an error containing \"%s\")", needle);
    cr_assert_not_null(strstr(err->msg, needle), "message \"%s\" (expected it to contain \"%s\")", err->msg, needle);
    cr_assert_null(strchr(err->msg, '\n'), "message \"%s\" has a newline (expected one line)", err->msg);
}

static void expect_rejected(const char *dict, size_t size, const char *needle)
{
    vggc_error err = {""};
    expect_error(parse_npy(1, dict, size, &err), &err, needle);
}

/* Entries in dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    cr_assert_not_null(d, "cannot list %s", dir);
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* ---- good files ---------------------------------------------------------------------------------------- */

Test(npy, tensors_of_rank_1_to_4_round_trip_through_write_and_read)
{
    static const int64_t shapes[4][4] = {{6}, {2, 3}, {1, 3, 2}, {1, 2, 1, 3}};
    char *dir = make_temp_dir("npy"), path[4200];
    snprintf(path, sizeof path, "%s/t.npy", dir);
    for (int r = 1; r <= 4; r++) {
        vggc_error err = {""};
        float *data = NULL;
        int64_t shape[4] = {0};
        int rank = 0;
        cr_assert_eq(vggc_npy_write(path, six, r, shapes[r - 1], &err), 0, "write of rank %d failed: %s", r, err.msg);
        cr_assert_eq(vggc_npy_read(path, &data, shape, &rank, &err), 0, "read of rank %d failed: %s", r, err.msg);
        cr_assert_eq(rank, r, "rank %d read back as %d", r, rank);
        for (int i = 0; i < r; i++) cr_assert_eq(shape[i], shapes[r - 1][i], "rank %d: dim %d differs", r, i);
        expect_close("data read back", data, six, 6, 0, 0);
        free(data);
    }
    cr_assert_eq(count_entries(dir), 1, "temporary files left in %s", dir);
    remove_tree(dir);
    free(dir);
}

Test(npy, the_header_is_numpy_version_1_padded_with_spaces_to_64_bytes_and_ends_in_a_newline)
{
    char *dir = make_temp_dir("npy"), path[4200];
    snprintf(path, sizeof path, "%s/t.npy", dir);
    vggc_error err = {""};
    cr_assert_eq(vggc_npy_write(path, six, 1, (const int64_t[]){6}, &err), 0, "write failed: %s", err.msg);
    char *text = read_text(path);
    remove_tree(dir);
    free(dir);
    const unsigned char *u = (const unsigned char *)text;
    size_t hlen = (size_t)u[8] | (size_t)u[9] << 8;
    cr_assert(memcmp(text, "\x93NUMPY\x01\x00", 8) == 0, "magic or version differ (expected \\x93NUMPY 1.0)");
    cr_assert_eq((10 + hlen) % 64, 0, "data starts at byte %zu (expected a multiple of 64)", 10 + hlen);
    cr_assert_eq(text[10 + hlen - 1], '\n', "the header does not end in a newline");
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }";
    cr_assert(strncmp(text + 10, dict, strlen(dict)) == 0, "header \"%.60s\" (expected \"%s\")", text + 10, dict);
    for (size_t i = 10 + strlen(dict); i < 10 + hlen - 1; i++) cr_assert_eq(text[i], ' ', "byte %zu of the padding", i);
    free(text);
}

Test(npy, version_2_and_3_headers_are_read)
{
    for (int major = 2; major <= 3; major++) {
        blob b = make_npy(major, DICT_2x3 "   \n", six, sizeof six);
        vggc_error err = {""};
        float *data = NULL;
        int64_t shape[4];
        int rank = 0;
        int rc = vggc_npy_parse(b.bytes, b.size, &data, shape, &rank, &err);
        free(b.bytes);
        cr_assert_eq(rc, 0, "version %d.0 failed: %s", major, err.msg);
        cr_assert(rank == 2 && shape[0] == 2 && shape[1] == 3, "version %d.0: wrong shape", major);
        expect_close("data", data, six, 6, 0, 0);
        free(data);
    }
}

Test(npy, double_quotes_any_key_order_and_no_trailing_comma_are_read)
{
    vggc_error err = {""};
    int rc = parse_npy(1, "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"<f4\"}", sizeof six, &err);
    cr_assert_eq(rc, 0, "parse failed: %s", err.msg);
}

/* ---- errors -------------------------------------------------------------------------------------------- */

Test(npy, float64_is_rejected_naming_the_dtype)
{
    expect_rejected("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 24,
                    "<memory>: dtype '<f8' is not supported (expected float32, '<f4')");
}

Test(npy, big_endian_float32_is_rejected_naming_the_dtype)
{
    expect_rejected("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", 24,
                    "<memory>: dtype '>f4' is not supported (expected float32, '<f4')");
}

Test(npy, fortran_order_is_rejected)
{
    expect_rejected("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
                    "<memory>: fortran_order is True (expected C order, False)");
}

Test(npy, truncated_data_is_rejected)
{
    expect_rejected(DICT_2x3, 20, "<memory>: data is truncated: 20 bytes (expected 24 for shape (2, 3))");
}

Test(npy, trailing_bytes_are_rejected)
{
    expect_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 24,
                    "<memory>: 4 trailing bytes after the data (expected 20 bytes for shape (5,))");
}

Test(npy, a_bad_magic_is_rejected)
{
    vggc_error err = {""};
    float *data = NULL;
    int64_t shape[4];
    int rank;
    int rc = vggc_npy_parse("PK\x03\x04 not numpy", 15, &data, shape, &rank, &err);
    expect_error(rc, &err, "<memory>: not a .npy file (expected the magic \\x93NUMPY)");
    cr_assert_null(data, "data set on failure");
}

Test(npy, an_unknown_version_is_rejected)
{
    vggc_error err = {""};
    expect_error(parse_npy(4, DICT_2x3, 24, &err), &err, "<memory>: .npy version 4.0 is not supported (expected 1.0, 2.0 or 3.0)");
}

Test(npy, rank_0_and_rank_5_are_rejected)
{
    expect_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4, "<memory>: rank 0 (expected 1 to 4 dimensions)");
    expect_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 1, 3), }", 24,
                    "<memory>: rank 5 (expected 1 to 4 dimensions)");
}

Test(npy, a_zero_dimension_is_rejected)
{
    expect_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", 0,
                    "<memory>: shape (2, 0) has a zero dimension (expected every dimension >= 1)");
}

Test(npy, a_shape_whose_byte_size_overflows_is_rejected)
{
    expect_rejected("{'descr': '<f4', 'fortran_order': False, 'shape': (9007199254740992, 9007199254740992), }", 24,
                    "<memory>: shape (9007199254740992, 9007199254740992) is too large");
}

Test(npy, malformed_headers_are_rejected_each_with_its_own_message)
{
    const char *cases[][2] = {
        {"{'descr': '<f4', 'fortran_order': False}", "header lacks 'shape'"},
        {"{'descr': '<f4', 'shape': (6,)}", "header lacks 'fortran_order'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", "unknown key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4'}", "'descr' given twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", "shape (n) is not a tuple (expected (n,))"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", "negative dimension in shape"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x", "unexpected text after the header dict"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", "fortran_order is not True or False"},
        {"{'descr': '<f4' 'fortran_order': False}", "expected ',' or '}' in the header dict"},
        {"{'descr': '<f4\\'}", "unterminated or escaped string"},
        {"['descr']", "header byte 0: expected '{' (the header is a Python dict)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_rejected(cases[i][0], sizeof six, cases[i][1]);
}

Test(npy, a_header_length_past_the_end_of_the_file_is_rejected)
{
    blob b = make_npy(1, DICT_2x3, six, 0);
    b.bytes[8] = 0xFF, b.bytes[9] = 0x00;
    vggc_error err = {""};
    float *data = NULL;
    int64_t shape[4];
    int rank;
    int rc = vggc_npy_parse(b.bytes, b.size, &data, shape, &rank, &err);
    free(b.bytes);
    expect_error(rc, &err, "<memory>: header of 255 bytes runs past the end of the file");
}

Test(npy, every_truncation_of_a_good_file_is_rejected)
{
    blob b = make_npy(1, DICT_2x3, six, sizeof six);
    for (size_t n = 0; n < b.size; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, b.bytes, n);
        vggc_error err = {""};
        float *data = NULL;
        int64_t shape[4];
        int rank;
        int rc = vggc_npy_parse(cut, n, &data, shape, &rank, &err);
        free(cut);
        cr_assert_eq(rc, -1, "a file cut to %zu of %zu bytes was read (expected an error)", n, b.size);
        cr_assert_neq(err.msg[0], '\0', "a file cut to %zu bytes failed without a message", n);
    }
    free(b.bytes);
}

Test(npy, every_prefix_of_the_header_ending_the_file_is_rejected)
{
    for (size_t n = 0; n < strlen(DICT_2x3); n++) {
        char dict[128];
        memcpy(dict, DICT_2x3, n);
        dict[n] = '\0';
        vggc_error err = {""};
        cr_assert_eq(parse_npy(1, dict, 0, &err), -1, "a header cut to %zu bytes was read", n);
    }
}

Test(npy, a_missing_path_is_named_and_said_to_be_missing)
{
    vggc_error err = {""};
    float *data = NULL;
    int64_t shape[4];
    int rank;
    int rc = vggc_npy_read("/nonexistent/x.npy", &data, shape, &rank, &err);
    expect_error(rc, &err, "/nonexistent/x.npy: cannot open: No such file or directory");
}

Test(npy, writing_into_a_missing_directory_fails_and_leaves_nothing_behind)
{
    char *dir = make_temp_dir("npy"), path[4200];
    snprintf(path, sizeof path, "%s/missing/x.npy", dir);
    vggc_error err = {""};
    int rc = vggc_npy_write(path, six, 2, (const int64_t[]){2, 3}, &err);
    expect_error(rc, &err, "/missing/x.npy: cannot create a temporary file beside it: No such file or directory");
    cr_assert_eq(count_entries(dir), 0, "%s is not empty after a failed write", dir);
    remove_tree(dir);
    free(dir);
}

Test(npy, a_failed_write_leaves_the_existing_file_untouched)
{
    char *dir = make_temp_dir("npy"), path[4200];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    vggc_error err = {""};
    cr_assert_eq(vggc_npy_write(path, six, 1, (const int64_t[]){6}, &err), 0, "first write failed: %s", err.msg);
    expect_error(vggc_npy_write(path, six, 5, (const int64_t[]){1, 1, 1, 2, 3}, &err), &err, "rank 5 (expected 1 to 4");
    expect_error(vggc_npy_write(path, six, 2, (const int64_t[]){0, 3}, &err), &err, "cannot write shape (0, 3)");
    float *data = NULL;
    int64_t shape[4];
    int rank = 0;
    cr_assert_eq(vggc_npy_read(path, &data, shape, &rank, &err), 0, "read failed: %s", err.msg);
    cr_assert(rank == 1 && shape[0] == 6, "the file changed (rank %d)", rank);
    expect_close("data of the untouched file", data, six, 6, 0, 0);
    free(data);
    cr_assert_eq(count_entries(dir), 1, "temporary files left in %s", dir);
    remove_tree(dir);
    free(dir);
}

Test(npy, a_write_replaces_an_existing_file)
{
    char *dir = make_temp_dir("npy"), path[4200];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    vggc_error err = {""};
    float *data = NULL;
    int64_t shape[4];
    int rank = 0;
    cr_assert_eq(vggc_npy_write(path, six, 1, (const int64_t[]){6}, &err), 0, "first write failed: %s", err.msg);
    cr_assert_eq(vggc_npy_write(path, six, 2, (const int64_t[]){3, 2}, &err), 0, "second write failed: %s", err.msg);
    cr_assert_eq(vggc_npy_read(path, &data, shape, &rank, &err), 0, "read failed: %s", err.msg);
    cr_assert(rank == 2 && shape[0] == 3 && shape[1] == 2, "the file was not replaced (rank %d)", rank);
    free(data);
    cr_assert_eq(count_entries(dir), 1, "temporary files left in %s", dir);
    remove_tree(dir);
    free(dir);
}

/* ---- regressions found by fuzzing (fuzz/run) ------------------------------------------------------------- */

static void expect_no_control_bytes(const char *msg)
{
    for (const char *p = msg; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 && *p != 0x7F, "message \"%s\" carries control byte 0x%02x", msg,
                  (unsigned char)*p);
}

Test(npy, control_bytes_of_an_unknown_key_are_not_copied_into_the_message)
{
    vggc_error err = {""};
    expect_error(parse_npy(1, "{'a\x1b[2Jb\rc': 0}", 0, &err), &err, "unknown key 'a?[2Jb?c'");
    expect_no_control_bytes(err.msg);
}

Test(npy, control_bytes_of_a_dtype_are_not_copied_into_the_message)
{
    vggc_error err = {""};
    expect_error(parse_npy(1, "{'descr': '<f\x1b', 'fortran_order': False, 'shape': (6,), }", 24, &err), &err,
                 "dtype '<f?' is not supported");
    expect_no_control_bytes(err.msg);
}
