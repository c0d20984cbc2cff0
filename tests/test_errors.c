/* test_errors.c — what a user sees when something is wrong: exactly one line on stderr, `vggc: <where>: <what>`,
 * nothing on stdout, exit status 2, and no file created or changed. Every case runs inside a directory that
 * already holds a good generation of the model "net" (net.c, net.h), with -o pointing at it where the command
 * takes one, and checks afterwards that the directory holds the same files with the same bytes. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers --------------------------------------------------------------------------------------------- */

#define MAX_ENTRIES 32

/* The entries of a directory (names sorted) and their contents ("<directory>" for a directory). */
typedef struct {
    int n;
    char *names[MAX_ENTRIES];
    char *texts[MAX_ENTRIES];
} snapshot;

static int not_dots(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
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
        s.names[i] = strdup(list[i]->d_name);
        s.texts[i] = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? strdup("<directory>") : read_text(path);
        free(list[i]);
    }
    free(list);
    s.n = n;
    return s;
}

static void free_snapshot(snapshot *s)
{
    for (int i = 0; i < s->n; i++) free(s->names[i]), free(s->texts[i]);
    s->n = 0;
}

static char *names_of(const snapshot *s)
{
    static char buf[4096];
    buf[0] = '\0';
    for (int i = 0; i < s->n; i++) {
        strncat(buf, i ? " " : "", sizeof buf - strlen(buf) - 1);
        strncat(buf, s->names[i], sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

/* The directory holds the same names with the same bytes as before (no temp files left, nothing rewritten). */
static void expect_unchanged(const snapshot *before, const char *dir, const char *cmd)
{
    snapshot after = take_snapshot(dir);
    char want[4096];
    snprintf(want, sizeof want, "%s", names_of(before));
    cr_expect_str_eq(names_of(&after), want, "`%s` changed the files in its directory", cmd);
    for (int i = 0; i < before->n && i < after.n; i++) {
        if (strcmp(before->names[i], after.names[i]) != 0) continue;
        cr_expect(before->texts[i] && after.texts[i] && strcmp(before->texts[i], after.texts[i]) == 0,
                  "`%s` changed %s", cmd, before->names[i]);
    }
    free_snapshot(&after);
}

/* text with every '@' replaced by dir (malloc'ed) */
static char *expand(const char *text, const char *dir)
{
    size_t cap = strlen(text) * (strlen(dir) + 1) + 1, len = 0;
    char *out = malloc(cap);
    for (const char *p = text; *p; p++) {
        if (*p == '@') len += (size_t)snprintf(out + len, cap - len, "%s", dir);
        else out[len++] = *p;
    }
    out[len] = '\0';
    return out;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* A fresh directory holding a good generation of "net" (vgg11 at 3x32x32) and, if file is given, a model file. */
static char *prepared_dir(const char *file, const char *text)
{
    char *dir = make_temp_dir("errors");
    cmd_result r = run("'%s' generate vgg11 --input 3x32x32 --name net -o '%s'", VGGC_EXE, dir);
    cr_assert_eq(r.status, 0, "the good generation failed: %s", r.err);
    cmd_free(&r);
    if (file) write_file(dir, file, text);
    return dir;
}

/* The one-line contract: exit 2, empty stdout, one line "vggc: WHERE: ..." on stderr (any place when where is
 * NULL) with every fragment in whats. */
static void expect_one_line(const cmd_result *r, const char *cmd, const char *where, va_list whats)
{
    cr_expect_eq(r->status, 2, "`%s` exited %d, want 2; stderr:\n%s", cmd, r->status, r->err);
    cr_expect_str_empty(r->out, "`%s` wrote to stdout:\n%s", cmd, r->out);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl && nl[1] == '\0', "`%s` did not write exactly one line on stderr:\n%s", cmd, r->err);
    cr_expect(strncmp(r->err, "vggc: ", 6) == 0, "`%s`: stderr does not start with 'vggc: ':\n%s", cmd, r->err);
    if (where) {
        char prefix[4400];
        snprintf(prefix, sizeof prefix, "vggc: %s: ", where);
        cr_expect(strncmp(r->err, prefix, strlen(prefix)) == 0, "`%s`: stderr does not start with '%s':\n%s", cmd,
                  prefix, r->err);
    }
    for (const char *what = va_arg(whats, const char *); what; what = va_arg(whats, const char *))
        cr_expect(strstr(r->err, what) != NULL, "`%s`: the message does not say '%s':\n%s", cmd, what, r->err);
}

/* Run `vggc ARGS` inside a prepared directory ('@' in args and where stands for it; a model file is written
 * there first when file is given), expect the one-line error, and expect the directory unchanged. The list of
 * fragments the message must contain ends with NULL. */
static void expect_error_with_file(const char *file, const char *text, const char *args, const char *where, ...)
{
    char *dir = prepared_dir(file, text);
    char *cmd = expand(args, dir), *place = expand(where, dir);
    snapshot before = take_snapshot(dir);
    cmd_result r = run("cd '%s' && '%s' %s", dir, VGGC_EXE, cmd);
    va_list whats;
    va_start(whats, where);
    expect_one_line(&r, cmd, place, whats);
    va_end(whats);
    expect_unchanged(&before, dir, cmd);
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir), free(cmd), free(place);
}

#define EXPECT_ERROR(args, where, ...) expect_error_with_file(NULL, NULL, args, where, __VA_ARGS__, NULL)
#define EXPECT_FILE_ERROR(file, text, args, where, ...) \
    expect_error_with_file(file, text, args, where, __VA_ARGS__, NULL)

/* ---- the model: inline cfg lists --------------------------------------------------------------------------- */

Test(errors, an_unknown_cfg_token_is_named_with_its_position)
{
    EXPECT_ERROR("generate 64,X,M --name net -o .", "cfg \"64,X,M\": token 2", "'X' is not a channel count");
}

Test(errors, a_zero_channel_count_is_not_positive)
{
    EXPECT_ERROR("generate 64,0,M --name net -o .", "cfg \"64,0,M\": token 2", "0 is not a positive channel count");
}

Test(errors, a_negative_channel_count_inside_a_list_is_not_positive)
{
    EXPECT_ERROR("generate 8,-8,M --name net -o .", "cfg \"8,-8,M\": token 2", "-8 is not a positive channel count");
}

/* "-8,M" starts with '-', but no option starts with "-<digit>": it is the model, a cfg with a bad first token. */
Test(errors, a_list_starting_with_a_negative_count_names_the_token)
{
    EXPECT_ERROR("generate -8,M --name net -o .", "cfg \"-8,M\": token 1", "-8 is not a positive channel count");
}

Test(errors, a_list_without_a_conv_is_refused)
{
    EXPECT_ERROR("generate M,M --name net -o .", "cfg \"M,M\"", "no conv layer");
}

Test(errors, a_5x5_kernel_is_not_supported)
{
    EXPECT_ERROR("generate 64:5,M --name net -o .", "cfg \"64:5,M\": token 1", "kernel 5 is not supported");
}

Test(errors, an_unknown_preset_lists_the_valid_presets)
{
    EXPECT_ERROR("generate vgg12 --name net -o .", "vgg12", "unknown model",
                 "vgg11, vgg13, vgg16, vgg19, vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn", "A-LRN");
}

/* ---- the model: input sizes ------------------------------------------------------------------------------- */

/* vgg11 at 16x16: 16 -> 8 -> 4 -> 2 -> 1 -> 0, so the 5th pool, after the 8th conv, has nothing left. */
Test(errors, vgg11_at_16x16_names_the_maxpool_after_conv_8_and_the_32x32_it_needs)
{
    EXPECT_ERROR("generate vgg11 --input 3x16x16 --name net -o .", "3x16x16", "maxpool after conv 8",
                 "0x0 map", "5 pools", "need at least 32x32");
}

Test(errors, an_input_with_two_dimensions_expects_cxhxw)
{
    EXPECT_ERROR("generate vgg11 --input 3x224 --name net -o .", "--input 3x224", "expected CxHxW");
}

Test(errors, an_input_of_letters_expects_cxhxw)
{
    EXPECT_ERROR("generate vgg11 --input axbxc --name net -o .", "--input axbxc", "expected CxHxW");
}

Test(errors, an_input_with_a_zero_height_needs_whole_numbers_from_1)
{
    EXPECT_ERROR("generate vgg11 --input 3x0x224 --name net -o .", "--input 3x0x224", "whole number >= 1");
}

/* ---- the model: Lua model files --------------------------------------------------------------------------- */

Test(errors, a_model_file_with_a_syntax_error_gives_file_and_line)
{
    EXPECT_FILE_ERROR("syntax.lua", "return {\n  features = {64, 'M',\n  classes = \n}\n",
                      "generate syntax.lua --name net -o .", "syntax.lua:4", "near");
}

Test(errors, a_model_file_without_features_says_features_is_missing)
{
    EXPECT_FILE_ERROR("nofeat.lua", "return { classes = 10 }\n", "generate nofeat.lua --name net -o .",
                      "nofeat.lua", "'features' is missing");
}

Test(errors, a_model_file_with_an_unknown_field_names_the_field)
{
    EXPECT_FILE_ERROR("colour.lua", "return { features = {64, 'M'}, colour = 'red' }\n",
                      "generate colour.lua --name net -o .", "colour.lua", "unknown field 'colour'");
}

Test(errors, a_model_file_that_fails_at_run_time_gives_file_and_line)
{
    EXPECT_FILE_ERROR("runtime.lua", "local x = nil\nreturn { features = {64, 'M'}, classes = x.y }\n",
                      "generate runtime.lua --name net -o .", "runtime.lua:2", "attempt to index a nil value");
}

Test(errors, a_model_file_with_a_negative_channel_count_names_the_entry)
{
    EXPECT_FILE_ERROR("neg.lua", "return { features = {64, -8, 'M'} }\n", "generate neg.lua --name net -o .",
                      "neg.lua: features[2]", "-8 is not a positive channel count");
}

Test(errors, a_model_file_that_returns_a_number_must_return_a_table)
{
    EXPECT_FILE_ERROR("num.lua", "return 42\n", "generate num.lua --name net -o .", "num.lua",
                      "must return a table");
}

Test(errors, a_missing_model_file_cannot_be_read)
{
    EXPECT_ERROR("generate missing.lua --name net -o .", "missing.lua", "cannot read the model file");
}

/* ---- options ---------------------------------------------------------------------------------------------- */

Test(errors, an_unknown_option_points_to_help)
{
    EXPECT_ERROR("generate vgg11 --frobnicate --name net -o .", "--frobnicate", "unknown option for 'vggc generate'",
                 "--help");
}

Test(errors, a_report_only_option_is_unknown_to_generate)
{
    EXPECT_ERROR("generate vgg11 --json --name net -o .", "--json", "unknown option for 'vggc generate'");
}

Test(errors, an_option_missing_its_value_needs_a_value)
{
    EXPECT_ERROR("generate vgg11 --name net -o . --input", "--input", "needs a value");
}

Test(errors, an_option_given_twice_is_refused)
{
    EXPECT_ERROR("generate vgg11 --classes 10 --classes 10 --name net -o .", "--classes", "given twice");
}

Test(errors, a_flag_given_a_value_takes_no_value)
{
    EXPECT_ERROR("report vgg11 --json=yes", "--json", "takes no value");
}

Test(errors, zero_classes_need_a_whole_number_from_1)
{
    EXPECT_ERROR("generate vgg11 --classes 0 --name net -o .", "--classes 0", "the class count",
                 "whole number >= 1");
}

Test(errors, a_batch_of_x_needs_a_whole_number_from_1)
{
    EXPECT_ERROR("generate vgg11 --batch x --name net -o .", "--batch x", "the batch size", "whole number >= 1");
}

Test(errors, a_name_starting_with_a_digit_is_not_a_c_identifier)
{
    EXPECT_ERROR("generate vgg11 --name 9lives -o .", "--name 9lives", "'9lives' is not a C identifier");
}

Test(errors, a_name_with_a_dash_is_not_a_c_identifier)
{
    EXPECT_ERROR("generate vgg11 --name a-b -o .", "--name a-b", "'a-b' is not a C identifier");
}

Test(errors, an_avgpool_of_0x7_needs_whole_numbers_from_1)
{
    EXPECT_ERROR("generate vgg11 --avgpool 0x7 --name net -o .", "--avgpool 0x7", "whole number >= 1");
}

Test(errors, a_classifier_with_an_empty_width_needs_whole_numbers)
{
    EXPECT_ERROR("generate vgg11 --classifier 4096,,4096 --name net -o .", "--classifier 4096,,4096",
                 "every width must be a whole number >= 1");
}

/* ---- commands and the output directory -------------------------------------------------------------------- */

Test(errors, report_without_a_model_says_no_model_given)
{
    EXPECT_ERROR("report", "vggc report", "no MODEL given");
}

Test(errors, generate_without_a_model_says_no_model_given)
{
    EXPECT_ERROR("generate --name net -o .", "vggc generate", "no MODEL given");
}

/* Run in the directory itself, so a generator that fell back to the current directory would be caught. */
Test(errors, generate_without_o_says_no_output_directory_and_writes_nothing_here)
{
    EXPECT_ERROR("generate vgg11 --name net --classes 10", "vggc generate", "no output directory given (-o DIR)");
}

Test(errors, an_output_directory_that_does_not_exist_must_be_created_first)
{
    EXPECT_ERROR("generate vgg11 --name net -o @/missing", "@/missing", "no such directory");
}

Test(errors, an_output_path_that_is_a_file_is_not_a_directory)
{
    EXPECT_ERROR("generate vgg11 --name other -o net.c", "net.c", "directory");
}

Test(errors, an_unknown_command_lists_the_commands)
{
    EXPECT_ERROR("frobnicate vgg11", "frobnicate", "unknown command", "report, generate, build");
}

Test(errors, build_with_a_too_small_input_changes_nothing)
{
    EXPECT_ERROR("build vgg11 --input 3x16x16 --name net -o .", "3x16x16", "maxpool after conv 8");
}

Test(errors, build_without_o_says_no_output_directory)
{
    EXPECT_ERROR("build vgg11 --name net", "vggc build", "no output directory given (-o DIR)");
}

Test(errors, build_with_cc_missing_its_value_needs_a_value)
{
    EXPECT_ERROR("build vgg11 --name net -o . --cc", "--cc", "needs a value");
}

/* ---- files that cannot be written ------------------------------------------------------------------------- */

/* The one-line contract for a failure whose exact place (which of the files) is vggc's business. */
static void expect_write_error(const cmd_result *r, const char *cmd, ...)
{
    va_list whats;
    va_start(whats, cmd);
    expect_one_line(r, cmd, NULL, whats);
    va_end(whats);
}

/* --classes 10 changes both files, so vggc has to try to write them. */
Test(errors, an_unwritable_output_directory_is_one_line_and_changes_nothing)
{
    if (geteuid() == 0)
        cr_skip("running as root, where chmod 0555 does not stop writes; "
                "a_directory_in_the_way_of_net_c_is_one_line_and_leaves_net_h_alone covers a failed write instead");
    char *dir = prepared_dir(NULL, NULL);
    snapshot before = take_snapshot(dir);
    cr_assert_eq(chmod(dir, 0555), 0, "cannot chmod %s", dir);
    cmd_result r = run("'%s' generate vgg11 --input 3x32x32 --classes 10 --name net -o '%s'", VGGC_EXE, dir);
    cr_assert_eq(chmod(dir, 0755), 0, "cannot chmod %s back", dir);
    char where[4400];
    snprintf(where, sizeof where, "vggc: %s/net.", dir);
    expect_write_error(&r, "vggc generate -o <read-only dir>", where, "cannot write", NULL);
    expect_unchanged(&before, dir, "vggc generate -o <read-only dir>");
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

/* net.c cannot be replaced because a directory has its name. net.h comes first and could be written: vggc
 * promises that either every file is current or none was touched, so net.h must keep its earlier bytes. */
Test(errors, a_directory_in_the_way_of_net_c_is_one_line_and_leaves_net_h_alone)
{
    char *dir = prepared_dir(NULL, NULL);
    char path[4400];
    snprintf(path, sizeof path, "%s/net.c", dir);
    cr_assert_eq(remove(path), 0, "cannot remove %s", path);
    cr_assert_eq(mkdir(path, 0755), 0, "cannot make the directory %s", path);
    snapshot before = take_snapshot(dir);
    cmd_result r = run("'%s' generate vgg11 --input 3x32x32 --classes 10 --name net -o '%s'", VGGC_EXE, dir);
    char where[4400];
    snprintf(where, sizeof where, "vggc: %s/net.c: ", dir);
    expect_write_error(&r, "vggc generate -o <dir with a directory net.c>", where, NULL);
    expect_unchanged(&before, dir, "vggc generate -o <dir with a directory net.c>");
    free_snapshot(&before);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}
