/* test_images.c — the runner on image files (--images) against PyTorch, torchvision and Pillow, the same job over
 * two MPI ranks, and the SVG drawing of a network. tests/image_fixtures.py writes the images and the references
 * once for all the tests of this file (each runs in its own process; the directory travels in the environment):
 * Fashion-MNIST test images as PNG and JPEG with PyTorch's class for each on the pixels Pillow decodes, a photo at
 * several sizes, aspect ratios and modes with torchvision's ImageNet tensors, and a folder with two bad files.
 * Runners: bin/fashion (models/fashion_vgg.lua at batch 16, so the last batch is partial), mpi/fashion (the same
 * built with --mpi) and bin/tiny (a small net at 3x224x224, batch 4) for the photos. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"
#include "vggc.h"
#include "vggc_host.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORK_ENV "VGGC_IMAGES_WORK"
#define LOG_ENV "VGGC_IMAGES_FAILED"
#define FASHION "models/fashion_vgg.lua --batch 16 --name fashion"
#define TINY "8,M --input 3x224x224 --avgpool 1x1 --classifier none --classes 4 --batch 4 --name tiny"
#define WEIGHTS VGGC_SOURCE_DIR "/models/fashion_vgg.safetensors"
#define NORMALIZE "--mean 0.2860 --std 0.3530" /* as tools/train_fashion_mnist.py trained it */
#define N_FASHION 600

static int sh(const char *fmt, const char *a, const char *b)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

/* Build the runners and write the fixtures once; a step that fails leaves the environment unset. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    (void)set;
    const char *base = getenv("TMPDIR");
    char dir[1024], cmd[32768];
    snprintf(dir, sizeof dir, "%.900s/vggc-images-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) return;
    snprintf(cmd, sizeof cmd,
             "(cd '%s' && mkdir '%s/bin' '%s/mpi' && '%s' build " FASHION " -o '%s/bin' && '%s' build " FASHION " --mpi "
             "-o '%s/mpi' && '%s' build " TINY " -o '%s/bin' && '%s' tests/image_fixtures.py --vggc '%s' --out '%s' --count %d "
             "--tiny '" TINY "') >'%s/setup.log' 2>&1",
             VGGC_SOURCE_DIR, dir, dir, VGGC_EXE, dir, VGGC_EXE, dir, VGGC_EXE, dir, VGGC_PYTHON, VGGC_EXE, dir,
             N_FASHION, dir);
    setenv(system(cmd) == 0 ? WORK_ENV : LOG_ENV, dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    const char *dir = getenv(WORK_ENV) ? getenv(WORK_ENV) : getenv(LOG_ENV);
    if (dir) (void)sh("rm -rf '%s'%s", dir, "");
}

static const char *work(void)
{
    const char *dir = getenv(WORK_ENV), *failed = getenv(LOG_ENV);
    char log[4400], *text = NULL;
    if (!dir && failed) {
        snprintf(log, sizeof log, "%s/setup.log", failed);
        text = read_text(log);
    }
    cr_assert(dir, "the runners or the fixtures were not made (vggc build or tests/image_fixtures.py failed):\n%s",
              text ? text : "(no log)");
    return dir;
}

/* ---- reading what the runner wrote --------------------------------------------------------------------- */

typedef struct {
    int n;
    char *path[N_FASHION + 16];
    int cls[N_FASHION + 16];
} table;

/* A CSV the runner wrote: path and class of each row (class -1 when empty). Paths hold no comma here. */
static table read_table(const char *text)
{
    table t = {0};
    const char *line = strchr(text, '\n');
    cr_assert(line, "no header in the table:\n%s", text);
    for (line++; *line && t.n < N_FASHION + 16; t.n++) {
        const char *comma = strchr(line, ','), *end = strchr(line, '\n');
        cr_assert(comma && end && comma < end, "row %d is not path,class,...", t.n + 1);
        t.path[t.n] = strndup(line, (size_t)(comma - line));
        t.cls[t.n] = comma[1] == ',' ? -1 : atoi(comma + 1);
        line = end + 1;
    }
    return t;
}

static void free_table(table *t)
{
    for (int i = 0; i < t->n; i++) free(t->path[i]);
}

static float *read_npy(const char *path, int64_t shape[4], int *rank)
{
    float *x = NULL;
    vggc_error err;
    cr_assert_eq(vggc_npy_read(path, &x, shape, rank, &err), 0, "%s", err.msg);
    return x;
}

/* ---- the Fashion-MNIST classifier on a folder of PNG and JPEG files ----------------------------------- */

Test(images, the_fashion_classifier_over_a_folder_of_png_and_jpeg_gives_pytorchs_classes)
{
    cmd_result r = run("cd '%s' && ./bin/fashion --weights " WEIGHTS " --images fashion " NORMALIZE " --output t.csv",
                       work());
    cr_assert_eq(r.status, 0, "the run failed (%d): %s", r.status, r.err);
    cr_expect_str_empty(r.err, "stderr is not a terminal, so nothing should be on it:\n%s", r.err);
    cmd_free(&r);
    char path[4400], *csv, *expected;
    snprintf(path, sizeof path, "%s/t.csv", work());
    cr_assert((csv = read_text(path)), "no table %s", path);
    snprintf(path, sizeof path, "%s/fashion_expected.txt", work());
    cr_assert((expected = read_text(path)), "no %s", path);
    table t = read_table(csv);
    cr_assert_eq(t.n, N_FASHION, "%d rows (expected one per image, %d)", t.n, N_FASHION);
    FILE *f = fopen(VGGC_SOURCE_DIR "/models/fashion_vgg_predictions.bin", "rb");
    unsigned char original[N_FASHION];
    cr_assert(f && fread(original, 1, N_FASHION, f) == N_FASHION, "cannot read models/fashion_vgg_predictions.bin");
    fclose(f);
    int agree = 0, png = 0, jpg = 0, i = 0, png_as_trained = 0;
    for (char *line = strtok(expected, "\n"); line && i < t.n; line = strtok(NULL, "\n"), i++) {
        char want_path[256];
        int want;
        double margin;
        cr_assert_eq(sscanf(line, "%255s %d %lf", want_path, &want, &margin), 3, "bad line: %s", line);
        cr_assert_str_eq(t.path[i], want_path, "row %d: the table's order is not the sorted walk", i + 1);
        if (t.cls[i] == want) agree++;
        else cr_log_warn("%s: class %d, PyTorch %d (PyTorch's top-2 margin %.3g)", want_path, t.cls[i], want, margin);
        png += strstr(want_path, ".png") != NULL, jpg += strstr(want_path, ".jpg") != NULL;
        /* a PNG holds the dataset's pixels: its class is also the one training recorded for that test image */
        if (strstr(want_path, ".png")) png_as_trained += t.cls[i] == original[atoi(strrchr(want_path, '/') + 1)];
    }
    cr_expect_eq(png_as_trained, png, "%d of %d PNG rows have the class of models/fashion_vgg_predictions.bin",
                 png_as_trained, png);
    cr_log_info("%d/%d agree with PyTorch (%d PNG, %d JPEG)", agree, t.n, png, jpg);
    cr_expect_eq(agree, N_FASHION, "%d of %d images agree with PyTorch", agree, N_FASHION);
    cr_expect(png > 0 && jpg > 0, "the folder should hold both PNG (%d) and JPEG (%d) files", png, jpg);
    free_table(&t);
    free(csv), free(expected);
}

/* script(1) gives the runner a terminal: the progress line is drawn there, ending at every image done (the first
 * test checks that nothing of it is written when stderr is a file). */
Test(images, progress_is_drawn_on_a_terminal)
{
    cmd_result r = run("cd '%s' && script -qec \"./bin/fashion --weights " WEIGHTS " --images fashion --output p.csv\" "
                       "/dev/null", work());
    cr_assert_eq(r.status, 0, "the run under script(1) failed (%d): %s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "fashion: 600/600 images, ") != NULL, "no final progress line on the terminal:\n%s", r.out);
    cr_expect(strstr(r.out, " images/s") != NULL, "the progress line gives no rate:\n%s", r.out);
    cmd_free(&r);
}

/* --save-input holds exactly what the model received; for these files that is Pillow's pixels, normalized in
 * float32 as torch does it, bit for bit (JPEG through the same libjpeg-turbo, PNG lossless). */
Test(images, the_saved_input_holds_pillows_pixels_bit_for_bit)
{
    cmd_result r = run("cd '%s' && ./bin/fashion --weights " WEIGHTS " --images fashion " NORMALIZE
                       " --save-input saved.npy --output s.json", work());
    cr_assert_eq(r.status, 0, "the run failed (%d): %s", r.status, r.err);
    cmd_free(&r);
    char got_path[4400], want_path[4400];
    snprintf(got_path, sizeof got_path, "%s/saved.npy", work());
    snprintf(want_path, sizeof want_path, "%s/fashion_input.npy", work());
    int64_t gs[4], ws[4];
    int gr, wr;
    float *got = read_npy(got_path, gs, &gr), *want = read_npy(want_path, ws, &wr);
    cr_assert(gr == 4 && wr == 4 && gs[0] == N_FASHION && ws[0] == N_FASHION && gs[1] == 1 && gs[2] == 28,
              "shapes (%lld, %lld, %lld, %lld) and (%lld, ...)", (long long)gs[0], (long long)gs[1],
              (long long)gs[2], (long long)gs[3], (long long)ws[0]);
    expect_same_bits("saved input vs Pillow + torch", got, want, (size_t)N_FASHION * 28 * 28);
    free(got), free(want);
}

/* ---- a bad file ---------------------------------------------------------------------------------------- */

Test(images, a_folder_with_a_corrupt_file_finishes_with_that_row_marked_and_exit_1)
{
    cmd_result r = run("cd '%s' && ./bin/fashion --weights " WEIGHTS " --images broken " NORMALIZE " --top 2 --output "
                       "b.csv", work());
    cr_expect_eq(r.status, 1, "exit %d (expected 1: two images failed); stderr:\n%s", r.status, r.err);
    cr_expect_str_eq(r.err,
                     "fashion: broken/png/00101b_text.png: not a PNG, JPEG, binary PGM or binary PPM file\n"
                     "fashion: broken/png/00102b_cut.jpg: cannot decode the JPEG: Premature end of JPEG file\n",
                     "stderr should name each bad file on one line");
    cmd_free(&r);
    char path[4400], *csv;
    snprintf(path, sizeof path, "%s/b.csv", work());
    cr_assert((csv = read_text(path)), "no table %s", path);
    table t = read_table(csv);
    static const char *const names[] = {"00100.png", "00101.png", "00101b_text.png", "00102.png", "00102b_cut.jpg",
                                        "00103.png"};
    cr_assert_eq(t.n, 6, "%d rows (expected the 6 images; notes.txt is not one):\n%s", t.n, csv);
    for (int i = 0; i < 6; i++) {
        int bad = strstr(names[i], "b_") != NULL;
        cr_expect(strstr(t.path[i], names[i]) != NULL, "row %d is %s (expected %s)", i + 1, t.path[i], names[i]);
        cr_expect(bad ? t.cls[i] == -1 : t.cls[i] >= 0, "row %d (%s): class %d", i + 1, names[i], t.cls[i]);
    }
    cr_expect(strstr(csv, "broken/png/00101b_text.png,,,,,,\n") != NULL, "a bad row has every column empty:\n%s", csv);
    free_table(&t);
    free(csv);
}

/* ---- MPI ----------------------------------------------------------------------------------------------- */

static char *table_of(const char *cmd, const char *name, int want_status)
{
    char path[4400];
    cmd_result r = run("cd '%s' && %s --weights " WEIGHTS " --images fashion broken " NORMALIZE " --top 3 --threads 1 "
                       "--output %s", work(), cmd, name);
    cr_expect_eq(r.status, want_status, "`%s` exited %d (expected %d); stderr:\n%s", cmd, r.status, want_status, r.err);
    cr_expect(strstr(r.err, "fashion: broken/png/00101b_text.png: not a PNG") && strstr(r.err, "00102b_cut.jpg: cannot "
              "decode") && !strstr(r.err, "Sanitizer"), "`%s`: stderr should name the two bad files:\n%s", cmd, r.err);
    cmd_free(&r);
    snprintf(path, sizeof path, "%s/%s", work(), name);
    char *text = read_text(path);
    cr_assert(text, "`%s` wrote no %s", cmd, name);
    return text;
}

/* Open MPI keeps allocations (some in plugins it has unloaded) until exit; in the sanitizer build LeakSanitizer
 * would report them and change the ranks' exit status, so the ranks run without leak checks. The same code
 * without MPI is leak-checked by the other tests. */
Test(images, two_mpi_ranks_write_the_same_bytes_as_one_process, .timeout = 300)
{
    const char *mpirun = "ASAN_OPTIONS=detect_leaks=0 mpirun --allow-run-as-root --oversubscribe -np 2 ./mpi/fashion";
    const char *formats[] = {"csv", "json"};
    for (int f = 0; f < 2; f++) {
        char one[32], two[32];
        snprintf(one, sizeof one, "one.%s", formats[f]);
        snprintf(two, sizeof two, "two.%s", formats[f]);
        char *a = table_of("./bin/fashion", one, 1), *b = table_of(mpirun, two, 1);
        cr_expect(strlen(a) > 1000, "the %s table is too short:\n%s", formats[f], a);
        cr_expect_str_eq(b, a, "the %s table of 2 ranks differs from one process's", formats[f]);
        free(a), free(b);
    }
}

/* ---- torchvision's ImageNet transform ------------------------------------------------------------------ */

Test(images, save_input_with_imagenet_matches_torchvision_within_1_255_on_photos_of_several_sizes)
{
    cmd_result r = run("cd '%s' && ./bin/tiny --weights tiny.safetensors --images photos --preprocess imagenet "
                       "--save-input photos.npy --output p.csv", work());
    cr_assert_eq(r.status, 0, "the run failed (%d): %s", r.status, r.err);
    cmd_free(&r);
    char got_path[4400], want_path[4400];
    snprintf(got_path, sizeof got_path, "%s/photos.npy", work());
    snprintf(want_path, sizeof want_path, "%s/photos_imagenet.npy", work());
    int64_t gs[4], ws[4];
    int gr, wr;
    float *got = read_npy(got_path, gs, &gr), *want = read_npy(want_path, ws, &wr);
    cr_assert(gr == 4 && wr == 4 && gs[0] == ws[0] && gs[0] >= 10 && gs[1] == 3 && gs[2] == 224 && gs[3] == 224,
              "shapes (%lld, %lld, %lld, %lld) and (%lld, ...)", (long long)gs[0], (long long)gs[1],
              (long long)gs[2], (long long)gs[3], (long long)ws[0]);
    static const float std[3] = {0.229f, 0.224f, 0.225f};
    size_t plane = 224 * 224;
    double worst = 0;
    for (int64_t n = 0; n < gs[0]; n++) {
        double image_worst = 0;
        for (size_t c = 0; c < 3; c++)
            for (size_t i = 0; i < plane; i++) {
                size_t k = ((size_t)n * 3 + c) * plane + i;
                double levels = fabs((double)got[k] - (double)want[k]) * std[c] * 255.0; /* in 1/255 steps */
                image_worst = levels > image_worst ? levels : image_worst;
            }
        cr_expect_leq(image_worst, 1.0 + 1e-4, "photo %lld differs by %.3f levels of 1/255", (long long)n, image_worst);
        worst = image_worst > worst ? image_worst : worst;
    }
    cr_log_info("%lld photos: the largest difference from torchvision is %.3g of 1/255", (long long)gs[0], worst);
    free(got), free(want);
}

/* ---- the picture of a network -------------------------------------------------------------------------- */

static int near(const unsigned char *p, int r, int g, int b)
{
    return abs(p[0] - r) < 6 && abs(p[1] - g) < 6 && abs(p[2] - b) < 6;
}

Test(svg, vggc_report_svg_of_vgg11_renders_to_a_picture_with_every_kind_of_block)
{
    char *dir = make_temp_dir("svg"), path[4400];
    cmd_result r = run("cd '%s' && '%s' report vgg11 --svg vgg11.svg && rsvg-convert vgg11.svg -o vgg11.png", dir,
                       VGGC_EXE);
    cr_assert_eq(r.status, 0, "report or rsvg-convert (Debian's librsvg2-bin) failed: %s", r.err);
    cr_expect(strstr(r.out, "Total params:            132,863,336") != NULL, "the report is printed as well");
    cmd_free(&r);
    snprintf(path, sizeof path, "%s/vgg11.png", dir);
    vggc_image img;
    vggc_error err;
    cr_assert_eq(vggc_image_read(&img, path, 3, &err), 0, "the PNG does not decode: %s", err.msg);
    cr_expect(img.w >= 1200 && img.h >= 250 && img.w < 4000 && img.h < 1000, "the picture is %dx%d", img.w, img.h);
    /* the front faces' colours: conv, max pool, adaptive avg pool, fully connected; and how much is not white */
    long conv = 0, pool = 0, avg = 0, fc = 0, ink = 0, n = (long)img.w * img.h;
    for (long i = 0; i < n; i++) {
        const unsigned char *p = img.pixels + 3 * i;
        conv += near(p, 0xf2, 0xb1, 0x34), pool += near(p, 0xe4, 0x57, 0x5d);
        avg += near(p, 0x9b, 0x6b, 0xc3), fc += near(p, 0x3f, 0x86, 0xc8);
        ink += !(p[0] > 250 && p[1] > 250 && p[2] > 250);
    }
    cr_log_info("%dx%d: conv %ld, max pool %ld, avg pool %ld, FC %ld pixels; %.1f %% not white", img.w, img.h, conv,
                pool, avg, fc, 100.0 * ink / n);
    cr_expect(conv > 10000 && pool > 3000 && avg > 500 && fc > 500, "a kind of block is missing or tiny");
    cr_expect(ink > n / 20 && ink < n / 2, "%.1f %% of the picture is drawn (expected 5 to 50)", 100.0 * ink / n);
    vggc_image_free(&img);
    remove_tree(dir);
    free(dir);
}
