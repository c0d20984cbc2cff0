/* test_consumer.c — vggc used from another project: installed into a prefix (find_package, pkg-config) or
 * built from the checkout (add_subdirectory), with examples/classify generating and running a small model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

/* The model examples/classify builds, as vggc options. */
#define MODEL "'8,M,16,M' --input 1x28x28 --classes 10 --avgpool none --classifier 32"

static void expect_ok(cmd_result *r, const char *what)
{
    cr_assert_eq(r->status, 0, "%s failed (status %d):\n%s\n%s", what, r->status, r->out, r->err);
    cmd_free(r);
}

static void install_into(const char *prefix)
{
    cmd_result r = run("'%s' --install '%s' --prefix '%s'", VGGC_CMAKE, VGGC_BUILD_DIR, prefix);
    expect_ok(&r, "cmake --install");
}

/* Configure and build examples/classify in dir/build with extra cache settings. */
static void build_example(const char *dir, const char *settings)
{
    cmd_result r = run("'%s' -S '%s/examples/classify' -B '%s/build' %s", VGGC_CMAKE, VGGC_SOURCE_DIR, dir, settings);
    expect_ok(&r, "configuring examples/classify");
    r = run("'%s' --build '%s/build' -j2", VGGC_CMAKE, dir);
    expect_ok(&r, "building examples/classify");
}

/* dir/w.safetensors: seeded weights for MODEL, and dir/img.pgm: a 40x30 gradient (resized to 28x28). */
static void write_weights_and_image(const char *dir, const char *vggc)
{
    cmd_result r = run("'%s' report " MODEL " --json > '%s/model.json'", vggc, dir);
    expect_ok(&r, "vggc report --json");
    r = run("'%s' '%s/tools/vggc_torch.py' export --model-json '%s/model.json' --seed 0 --weights '%s/w.safetensors'",
            VGGC_PYTHON, VGGC_SOURCE_DIR, dir, dir);
    expect_ok(&r, "vggc_torch.py export");
    char path[4096];
    snprintf(path, sizeof path, "%s/img.pgm", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    fprintf(f, "P5\n# a gradient\n40 30\n255\n");
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) fputc((x * 6 + y * 3) % 256, f);
    fclose(f);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void expect_top5(const char *dir)
{
    cmd_result r = run("'%s/build/classify' --weights '%s/w.safetensors' '%s/img.pgm'", dir, dir, dir);
    cr_assert_eq(r.status, 0, "classify failed (status %d): %s", r.status, r.err);
    cr_expect_eq(count_lines(r.out), 5, "classify printed:\n%s", r.out);
    cr_expect(strstr(r.out, "class "), "no class names in:\n%s", r.out);
    cmd_free(&r);
    r = run("'%s/build/classify' --weights '%s/missing.safetensors' '%s/img.pgm'", dir, dir, dir);
    cr_expect_neq(r.status, 0, "classify with a missing weights file exited 0");
    cr_expect_eq(count_lines(r.err), 1, "classify's error is not one line:\n%s", r.err);
    cmd_free(&r);
}

Test(consumer, builds_against_an_installed_vggc_in_a_temporary_prefix_and_classifies_an_image)
{
    char *dir = make_temp_dir("consumer-installed");
    char prefix[4096], vggc[4200], settings[4300];
    snprintf(prefix, sizeof prefix, "%s/prefix", dir);
    snprintf(vggc, sizeof vggc, "%s/bin/vggc", prefix);
    snprintf(settings, sizeof settings, "-DCMAKE_PREFIX_PATH='%s'", prefix);
    install_into(prefix);
    build_example(dir, settings);
    write_weights_and_image(dir, vggc);
    expect_top5(dir);
    remove_tree(dir);
    free(dir);
}

Test(consumer, embeds_the_weights_with_incbin_so_the_classifier_runs_without_a_weights_file)
{
    char *dir = make_temp_dir("consumer-embed");
    char prefix[4096], vggc[4200], settings[8500];
    snprintf(prefix, sizeof prefix, "%s/prefix", dir);
    snprintf(vggc, sizeof vggc, "%s/bin/vggc", prefix);
    install_into(prefix);
    write_weights_and_image(dir, vggc);
    snprintf(settings, sizeof settings, "-DCMAKE_PREFIX_PATH='%s' -DCLASSIFY_WEIGHTS='%s/w.safetensors'", prefix, dir);
    build_example(dir, settings);
    cmd_result from_file = run("'%s/build/classify' --weights '%s/w.safetensors' '%s/img.pgm'", dir, dir, dir);
    cr_assert_eq(from_file.status, 0, "classify --weights failed: %s", from_file.err);
    char path[4200];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    cr_assert_eq(remove(path), 0, "cannot remove %s", path);
    cmd_result embedded = run("cd / && '%s/build/classify' '%s/img.pgm'", dir, dir);
    cr_assert_eq(embedded.status, 0, "classify without --weights failed (status %d): %s", embedded.status,
                 embedded.err);
    cr_expect_eq(count_lines(embedded.out), 5, "classify printed:\n%s", embedded.out);
    cr_expect_str_eq(embedded.out, from_file.out, "embedded and file weights disagree");
    cmd_free(&embedded);
    cmd_free(&from_file);
    remove_tree(dir);
    free(dir);
}

Test(consumer, builds_the_example_through_add_subdirectory_of_the_checkout)
{
    char *dir = make_temp_dir("consumer-subdir");
    char settings[4300], vggc[4200];
    snprintf(settings, sizeof settings, "-DVGGC_SOURCE_DIR='%s'", VGGC_SOURCE_DIR);
    build_example(dir, settings);
    snprintf(vggc, sizeof vggc, "%s/build/vggc/gen/vggc", dir);
    write_weights_and_image(dir, vggc);
    expect_top5(dir);
    cmd_result r = run("test ! -e '%s/build/vggc/tests' && test ! -e '%s/build/vggc/libvgg11_224.a'", dir, dir);
    expect_ok(&r, "vggc's tests and demo are not built as a subproject");
    remove_tree(dir);
    free(dir);
}

/* A program that uses the runtime's BLAS (vggc_set_threads sets OpenBLAS's threads) and OpenMP (vggc_dense) paths. */
static const char *pkg_program =
    "#include <stdio.h>\n#include \"vggc.h\"\n"
    "int main(void) { float in[2] = {1, 2}, t[4] = {1, 0, 0, 1}, b[2] = {0.5f, 0}, out[2];\n"
    "  float w[VGGC_DENSE_WEIGHT_FLOATS(2, 2)]; vggc_dense_pack(w, t, 2, 2);\n"
    "  vggc_set_threads(1); vggc_dense(out, in, w, b, 1, 2, 2, 0);\n"
    "  printf(\"%g %g\\n\", out[0], out[1]); return 0; }\n";

Test(consumer, pkg_config_gives_the_flags_to_compile_and_link_against_the_installed_runtime)
{
    char *dir = make_temp_dir("consumer-pkgconfig");
    char prefix[4096], path[4200];
    snprintf(prefix, sizeof prefix, "%s/prefix", dir);
    install_into(prefix);
    snprintf(path, sizeof path, "%s/use.c", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(pkg_program, f);
    fclose(f);
    char pc[4400];
    snprintf(pc, sizeof pc, "PKG_CONFIG_PATH='%s/lib/pkgconfig'", prefix);
    cmd_result r = run("%s '%s' --cflags --libs vggc", pc, VGGC_PKG_CONFIG);
    cr_assert_eq(r.status, 0, "pkg-config --cflags --libs vggc failed: %s", r.err);
    cr_expect(strstr(r.out, "-lvggc_runtime") && strstr(r.out, "-lopenblas"), "pkg-config said: %s", r.out);
    cmd_free(&r);
    r = run("'%s' -std=c11 '%s/use.c' -o '%s/use' $(%s '%s' --cflags --libs vggc) && '%s/use'", VGGC_CC, dir, dir,
            pc, VGGC_PKG_CONFIG, dir);
    cr_assert_eq(r.status, 0, "compiling with pkg-config's flags failed:\n%s\n%s", r.out, r.err);
    cr_expect_str_eq(r.out, "1.5 2\n");
    cmd_free(&r);
    remove_tree(dir);
    free(dir);
}
