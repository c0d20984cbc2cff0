/* test_import.c — `vggc import MODEL.onnx`: what it writes (a model file that vggc reads back to the same network,
 * and the initializers as safetensors under their own names), --batch and --name, and that it only rewrites files
 * that change. The ONNX files are tests/regressions/onnx/'s seed-*.onnx (torch.onnx.export of small networks);
 * the numbers against PyTorch are tests/conformance.py's. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ONNX VGGC_SOURCE_DIR "/tests/regressions/onnx/"

/* stdout of a shell command run in dir, which must exit 0 */
static char *ok_in(const char *dir, const char *fmt, const char *a, const char *b)
{
    char cmd[8192], line[4096];
    snprintf(line, sizeof line, fmt, a, b);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, line);
    cmd_result r = run("%s", cmd);
    cr_assert_eq(r.status, 0, "`%s` exited %d:\n%s", line, r.status, r.err);
    free(r.err);
    return r.out;
}

/* The report's rows (the lines from the column header to the totals), without its title line. */
static char *rows_of(char *report)
{
    char *start = strstr(report, "\n\n");
    cr_assert_not_null(start, "no table in:\n%s", report);
    return start + 2;
}

Test(import, the_model_file_it_writes_reports_the_same_network_as_the_import)
{
    char *dir = make_temp_dir("import");
    char *imported = ok_in(dir, "'%s' import '%s' --name tiny -o .", VGGC_EXE, ONNX "seed-lenet-opset13.onnx");
    char *reread = ok_in(dir, "'%s' report %s", VGGC_EXE, "tiny.lua");
    cr_expect_str_eq(rows_of(imported), rows_of(reread), "the import and its model file differ");
    cr_expect(strstr(imported, "onnx file seed-lenet-opset13.onnx, input 1x32x32, batch 2") != NULL,
              "the title does not name the file, input and batch:\n%s", imported);
    free(imported), free(reread);
    remove_tree(dir);
    free(dir);
}

Test(import, the_weights_keep_the_initializers_names_and_the_model_file_names_them)
{
    char *dir = make_temp_dir("import");
    free(ok_in(dir, "'%s' import '%s' --name pools -o .", VGGC_EXE, ONNX "seed-pools-opset13.onnx"));
    char lua[4400], weights[4400];
    snprintf(lua, sizeof lua, "%s/pools.lua", dir);
    snprintf(weights, sizeof weights, "%s/pools.safetensors", dir);
    char *text = read_text(lua), *st = read_text(weights);
    cr_assert(text && st, "pools.lua or pools.safetensors was not written");
    cr_expect(strstr(text, "tensors = { bias = \"onnx::Conv_") != NULL, "the conv's tensors are not named:\n%s", text);
    cr_expect(strstr(st + 8, "\"onnx::Conv_") != NULL, "the safetensors header lacks the initializers' names");
    free(text), free(st);
    remove_tree(dir);
    free(dir);
}

Test(import, batch_overrides_the_onnx_inputs_batch)
{
    char *dir = make_temp_dir("import");
    char *out = ok_in(dir, "'%s' import '%s' --batch 5 -o .", VGGC_EXE, ONNX "seed-strided-opset13.onnx");
    cr_expect(strstr(out, "batch 5,") != NULL, "--batch 5 is not the model's batch:\n%s", out);
    free(out);
    char lua[4400];
    snprintf(lua, sizeof lua, "%s/seed_strided_opset13.lua", dir);
    char *text = read_text(lua);
    cr_assert_not_null(text, "the default name is not the file's: no seed_strided_opset13.lua");
    cr_expect(strstr(text, "batch = 5,") != NULL, "the model file does not keep the batch:\n%s", text);
    free(text);
    remove_tree(dir);
    free(dir);
}

Test(import, importing_again_leaves_unchanged_files_alone)
{
    char *dir = make_temp_dir("import");
    char lua[4400];
    snprintf(lua, sizeof lua, "%s/net.lua", dir);
    free(ok_in(dir, "'%s' import '%s' --name net -o .", VGGC_EXE, ONNX "seed-conv-net.onnx"));
    struct stat before, after;
    cr_assert_eq(stat(lua, &before), 0, "net.lua was not written");
    free(ok_in(dir, "chmod 0444 net.lua net.safetensors && '%s' import '%s' --name net -o .", VGGC_EXE,
               ONNX "seed-conv-net.onnx"));
    cr_assert_eq(stat(lua, &after), 0, "net.lua is gone");
    cr_expect(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime, "net.lua was rewritten");
    remove_tree(dir);
    free(dir);
}
