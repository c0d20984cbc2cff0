/* test_generate.c — `vggc generate`: every preset and a few hand-made models compile cleanly with gcc and clang
 * (-std=c11 -Wall -Wextra -Werror -pedantic), the header's numbers are the report's, unchanged files are not
 * rewritten, and the generated source carries its provenance and a comment block per layer. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- helpers --------------------------------------------------------------------------------------------- */

/* `vggc generate ARGS --name NAME -o DIR`, which must succeed. */
static void generate(const char *dir, const char *name, const char *args)
{
    cmd_result r = run("'%s' generate %s --name %s -o '%s'", VGGC_EXE, args, name, dir);
    cr_assert_eq(r.status, 0, "`vggc generate %s --name %s` exited %d:\n%s", args, name, r.status, r.err);
    cr_assert_str_empty(r.err, "`vggc generate %s` wrote to stderr:\n%s", args, r.err);
    cmd_free(&r);
}

/* DIR/NAME.EXT, read whole (malloc'ed) */
static char *generated(const char *dir, const char *name, const char *ext)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    char *text = read_text(path);
    cr_assert_not_null(text, "%s was not written", path);
    return text;
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Compile DIR/NAME.c to an object with cc; on failure the test shows the compiler's stderr. */
static void expect_compiles(const char *dir, const char *name, const char *cc)
{
    cmd_result r = run("%s -std=c11 -Wall -Wextra -Werror -pedantic -I'%s' -I'%s/runtime' -c '%s/%s.c' -o '%s/%s.%s.o'",
                       cc, dir, VGGC_SOURCE_DIR, dir, name, dir, name, cc);
    cr_expect_eq(r.status, 0, "%s does not compile %s.c cleanly (exit %d):\n%s", cc, name, r.status, r.err);
    cmd_free(&r);
}

static int have(const char *cc)
{
    cmd_result r = run("command -v %s", cc);
    int found = r.status == 0;
    cmd_free(&r);
    return found;
}

/* Generate the model as NAME into a fresh directory and compile it with gcc and with clang. */
static void expect_model_compiles(const char *name, const char *args)
{
    if (!have("gcc") || !have("clang")) cr_skip("this test compiles with both gcc and clang; one is not installed");
    char *dir = make_temp_dir("generate");
    generate(dir, name, args);
    expect_compiles(dir, name, "gcc");
    expect_compiles(dir, name, "clang");
    remove_tree(dir);
    free(dir);
}

/* ---- every preset and a few hand-made models compile cleanly --------------------------------------------- */

Test(generate, vgg11_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg11", "vgg11"); }
Test(generate, vgg13_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg13", "vgg13"); }
Test(generate, vgg16_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg16", "vgg16"); }
Test(generate, vgg19_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg19", "vgg19"); }
Test(generate, vgg11_bn_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg11_bn", "vgg11_bn"); }
Test(generate, vgg13_bn_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg13_bn", "vgg13_bn"); }
Test(generate, vgg16_bn_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg16_bn", "vgg16_bn"); }
Test(generate, vgg19_bn_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg19_bn", "vgg19_bn"); }
Test(generate, the_papers_config_c_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg_c", "C"); }
Test(generate, a_lrn_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("vgg_a_lrn", "A-LRN"); }

Test(generate, lenet5_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("lenet5", "lenet5"); }
Test(generate, alexnet_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("alexnet", "alexnet"); }
Test(generate, the_cifar_first_vgg16_compiles_cleanly_with_gcc_and_clang)
{
    expect_model_compiles("cifar_vgg16", VGGC_SOURCE_DIR "/models/cifar_vgg16.lua");
}

Test(generate, a_model_file_with_every_general_layer_compiles_cleanly_with_gcc_and_clang)
{
    expect_model_compiles("ops_every_layer", VGGC_SOURCE_DIR "/tests/models/ops_every_layer.lua");
}

/* torch.onnx.export names a conv that absorbed its BatchNorm "onnx::Conv_12": its C array is t_onnx__Conv_12. */
Test(generate, an_imported_model_with_the_initializers_own_names_compiles_cleanly_with_gcc_and_clang)
{
    if (!have("gcc") || !have("clang")) cr_skip("this test compiles with both gcc and clang; one is not installed");
    char *dir = make_temp_dir("generate");
    cmd_result r = run("cd '%s' && '%s' import '%s/tests/regressions/onnx/seed-pools-opset13.onnx' --name pools -o . "
                       "&& '%s' generate pools.lua -o .", dir, VGGC_EXE, VGGC_SOURCE_DIR, VGGC_EXE);
    cr_assert_eq(r.status, 0, "import + generate failed: %s", r.err);
    cmd_free(&r);
    char *c = generated(dir, "pools", "c");
    cr_expect(strstr(c, "static float t_onnx__Conv_") != NULL, "no t_onnx__Conv_ array in pools.c");
    free(c);
    expect_compiles(dir, "pools", "gcc");
    expect_compiles(dir, "pools", "clang");
    remove_tree(dir);
    free(dir);
}

Test(generate, the_cifar_head_compiles_cleanly_with_gcc_and_clang)
{
    expect_model_compiles("cifar", "vgg16_bn --input 3x32x32 --avgpool none --classifier 512,512 --classes 10");
}

Test(generate, an_inline_list_with_1x1_and_lrn_compiles_cleanly_with_gcc_and_clang)
{
    expect_model_compiles("inline", "64,L,M,128,128:1,M --input 3x32x32");
}

Test(generate, vgg11_with_batch_4_compiles_cleanly_with_gcc_and_clang)
{
    expect_model_compiles("vgg11_b4", "vgg11 --batch 4");
}

/* Graphs: an Add in a conv's epilogue and Concats written in place (the blocked path), and with --conv im2col the
 * NCHW joins the runtime's vggc_add and vggc_concat_copy run. */
Test(generate, resnet18_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("resnet18", "resnet18"); }
Test(generate, googlenet_compiles_cleanly_with_gcc_and_clang) { expect_model_compiles("googlenet", "googlenet"); }

Test(generate, the_seed_inception_and_basicblock_nets_on_nchw_joins_compile_cleanly_with_gcc_and_clang)
{
    expect_model_compiles("inception", VGGC_SOURCE_DIR "/tests/models/inception_seed.lua --conv im2col");
    expect_model_compiles("block", VGGC_SOURCE_DIR "/tests/models/basicblock_seed.lua --conv im2col");
}

/* ---- the header's numbers are the report's --------------------------------------------------------------- */

/* The value of `#define MACRO N` in a header. */
static long long define_of(const char *header, const char *macro)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "#define %s ", macro);
    const char *at = strstr(header, pattern);
    cr_assert_not_null(at, "no #define %s in the header", macro);
    return strtoll(at + strlen(pattern), NULL, 10);
}

static void expect_header_matches_report(const char *name, const char *prefix, const char *args)
{
    cmd_result r = run("'%s' report %s --json", VGGC_EXE, args);
    cr_assert_eq(r.status, 0, "`vggc report %s --json` failed:\n%s", args, r.err);
    char *dir = make_temp_dir("generate");
    generate(dir, name, args);
    char *header = generated(dir, name, "h");
    char params[64], bytes[64];
    snprintf(params, sizeof params, "%s_PARAMS", prefix);
    snprintf(bytes, sizeof bytes, "%s_STATIC_BYTES", prefix);
    cr_expect_eq(define_of(header, params), json_int(r.out, "total_params"), "%s: %s %lld, the report says %lld",
                 args, params, define_of(header, params), json_int(r.out, "total_params"));
    cr_expect_eq(define_of(header, bytes), json_int(r.out, "static_bytes"), "%s: %s %lld, the report says %lld",
                 args, bytes, define_of(header, bytes), json_int(r.out, "static_bytes"));
    free(header);
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}

Test(generate, the_header_of_vgg11_has_the_reports_params_and_static_bytes)
{
    expect_header_matches_report("vgg11", "VGG11", "vgg11 --input 3x224x224");
}

Test(generate, the_header_of_the_cifar_head_has_the_reports_params_and_static_bytes)
{
    expect_header_matches_report("cifar", "CIFAR",
                                 "vgg16_bn --input 3x32x32 --avgpool none --classifier 512,512 --classes 10");
}

Test(generate, the_header_of_a_batched_non_square_vgg13_has_the_reports_params_and_static_bytes)
{
    expect_header_matches_report("wide", "WIDE", "vgg13 --input 3x64x96 --batch 2");
}

Test(generate, the_header_of_googlenet_at_batch_2_has_the_reports_params_and_static_bytes)
{
    expect_header_matches_report("gnet", "GNET", "googlenet --batch 2");
}

/* ---- unchanged files are not rewritten ------------------------------------------------------------------- */

static struct stat stat_of(const char *dir, const char *file)
{
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    cr_assert_eq(stat(path, &st), 0, "cannot stat %s", path);
    return st;
}

static int same_mtime(struct stat a, struct stat b)
{
    return a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

/* Longer than the file system's timestamp granularity, so a rewrite would show in st_mtim. */
static void pause_briefly(void)
{
    struct timespec t = {0, 50 * 1000 * 1000};
    nanosleep(&t, NULL);
}

Test(generate, generating_twice_leaves_unchanged_files_alone_and_a_changed_option_rewrites_them)
{
    char *dir = make_temp_dir("generate");
    generate(dir, "net", "vgg11 --input 3x32x32");
    struct stat c1 = stat_of(dir, "net.c"), h1 = stat_of(dir, "net.h");

    pause_briefly();
    generate(dir, "net", "vgg11 --input 3x32x32");
    struct stat c2 = stat_of(dir, "net.c"), h2 = stat_of(dir, "net.h");
    cr_expect(same_mtime(c1, c2) && c1.st_ino == c2.st_ino, "the same generation rewrote net.c");
    cr_expect(same_mtime(h1, h2) && h1.st_ino == h2.st_ino, "the same generation rewrote net.h");

    pause_briefly();
    generate(dir, "net", "vgg11 --input 3x32x32 --classes 10");
    struct stat c3 = stat_of(dir, "net.c"), h3 = stat_of(dir, "net.h");
    cr_expect(!same_mtime(c2, c3), "--classes 10 did not rewrite net.c");
    cr_expect(!same_mtime(h2, h3), "--classes 10 did not rewrite net.h");
    char *header = generated(dir, "net", "h");
    cr_expect_eq(define_of(header, "NET_CLASSES"), 10);
    free(header);
    remove_tree(dir);
    free(dir);
}

/* ---- what the generated source says about itself ---------------------------------------------------------- */

Test(generate, the_source_starts_with_its_provenance_and_the_command_that_made_it)
{
    char *dir = make_temp_dir("generate");
    generate(dir, "vgg11_224", "vgg11 --input 3x224x224");
    char *c = generated(dir, "vgg11_224", "c"), *h = generated(dir, "vgg11_224", "h");
    char command[4400];
    snprintf(command, sizeof command, "`vggc generate vgg11 --input 3x224x224 --name vgg11_224 -o %s`", dir);
    const char *first_line_end = strchr(c, '\n');
    cr_assert_not_null(first_line_end);
    cr_expect(strncmp(c, "/* vgg11_224.c", 14) == 0, "the source does not open with its name:\n%.200s", c);
    cr_expect(strstr(c, "generated by vggc") && strstr(c, "generated by vggc") < first_line_end,
              "the first line does not say 'generated by vggc':\n%.200s", c);
    cr_expect(strstr(c, "DO NOT EDIT") != NULL, "no DO NOT EDIT:\n%.300s", c);
    cr_expect(strstr(c, command) != NULL, "the source does not give the command %s:\n%.300s", command, c);
    cr_expect(strstr(h, "generated by vggc") && strstr(h, "DO NOT EDIT") && strstr(h, command),
              "the header lacks its provenance:\n%.300s", h);
    free(c), free(h);
    remove_tree(dir);
    free(dir);
}

Test(generate, the_source_has_one_comment_block_per_layer)
{
    char *dir = make_temp_dir("generate");
    generate(dir, "net", "vgg11");
    char *c = generated(dir, "net", "c");
    for (int i = 1; i <= 19; i++) {
        char mark[32];
        snprintf(mark, sizeof mark, "/* layer %d:", i);
        cr_expect_eq(count(c, mark), 1, "'%s' appears %d times, want once", mark, count(c, mark));
    }
    cr_expect_eq(count(c, "/* layer "), 19, "vgg11 has 19 layers, the source has %d blocks", count(c, "/* layer "));
    cr_expect(strstr(c, "/* layer 3: conv3x3 64 -> 128, pad 1, + bias, relu") != NULL, "layer 3 is not described");
    free(c);
    remove_tree(dir);
    free(dir);
}

/* The kernels read whole 64-byte lines: an FC weight 32 bytes off a line made every AVX-512 load of VGG11's fc6 span
 * two lines (6.9-7.1 ms against 6.1-6.3 aligned). Every array the loader fills or the kernels read starts on one:
 * weights, the zeros of a missing bias, prepared copies, the workspace. */
Test(generate, every_static_array_starts_on_a_64_byte_boundary)
{
    char *dir = make_temp_dir("generate");
    generate(dir, "net", "resnet18"); /* stored weights, BatchNorm-folded zero biases, prepared copies */
    char *c = generated(dir, "net", "c");
    int arrays = count(c, "static float "), aligned = count(c, "_Alignas(64) static float ");
    cr_expect_gt(arrays, 20, "resnet18 has more than 20 arrays, the source %d", arrays);
    cr_expect_eq(aligned, arrays, "%d of %d static arrays are _Alignas(64)", aligned, arrays);
    free(c);
    remove_tree(dir);
    free(dir);
}

Test(generate, the_generated_files_use_no_malloc_and_no_stdio)
{
    char *dir = make_temp_dir("generate");
    generate(dir, "net", "vgg16_bn --batch 2");
    const char *exts[] = {"c", "h"};
    const char *banned[] = {"malloc", "printf", "stdio"};
    for (size_t i = 0; i < 2; i++) {
        char *text = generated(dir, "net", exts[i]);
        for (size_t j = 0; j < 3; j++)
            cr_expect(strstr(text, banned[j]) == NULL, "net.%s mentions %s", exts[i], banned[j]);
        free(text);
    }
    remove_tree(dir);
    free(dir);
}
