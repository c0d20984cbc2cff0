/* test_fashion_mnist.c — the trained fashion_vgg (models/fashion_vgg.lua, weights from tools/train_fashion_mnist.py)
 * compiled by vggc at batch 100, run on all 10,000 Fashion-MNIST test images and compared with the argmax PyTorch
 * computed in float32 (models/fashion_vgg_predictions.bin). The images come from Debian's dataset-fashion-mnist. */
#include "fashion_vgg.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#define N_TEST 10000
#define PIXELS (28 * 28)
#define MEAN 0.2860f /* the same normalization as training: x/255, then (x - MEAN) / STD */
#define STD 0.3530f

_Static_assert(N_TEST % FASHION_VGG_BATCH == 0, "the batch must divide the 10,000 test images");
_Static_assert(FASHION_VGG_IN_COUNT == FASHION_VGG_BATCH * PIXELS, "one 1x28x28 image per batch slot");

static uint32_t big_endian(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The payload of an IDX file (gzip) with this magic, header_words 32-bit words of header (magic and dims)
 * and size bytes after it; malloc'ed. Fails the test naming the Debian package when the file is missing. */
static unsigned char *read_idx(const char *name, uint32_t magic, int header_words, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FASHION_DATASET, name);
    gzFile f = gzopen(path, "rb");
    cr_assert(f != NULL, "%s: cannot open (install Debian's package dataset-fashion-mnist)", path);
    unsigned char head[16];
    int want = 4 * header_words;
    cr_assert(gzread(f, head, (unsigned)want) == want, "%s: truncated header", path);
    cr_assert_eq(big_endian(head), magic, "%s: magic %u (expected %u)", path, big_endian(head), magic);
    cr_assert_eq(big_endian(head + 4), N_TEST, "%s: %u items (expected %d)", path, big_endian(head + 4), N_TEST);
    unsigned char *data = malloc(size);
    cr_assert(gzread(f, data, (unsigned)size) == (int)size, "%s: fewer than %zu bytes of data", path, size);
    gzclose(f);
    return data;
}

static unsigned char *read_predictions(void)
{
    FILE *f = fopen(FASHION_PREDICTIONS, "rb");
    cr_assert(f != NULL, "%s: cannot open (run tools/train_fashion_mnist.py)", FASHION_PREDICTIONS);
    unsigned char *p = malloc(N_TEST + 1);
    size_t n = fread(p, 1, N_TEST + 1, f);
    fclose(f);
    cr_assert_eq(n, N_TEST, "%s: %zu bytes (expected one per test image, %d)", FASHION_PREDICTIONS, n, N_TEST);
    return p;
}

/* Index of the largest logit; margin gets the gap to the runner-up. */
static int argmax(const float *logits, float *margin)
{
    int best = 0, second = 1;
    if (logits[1] > logits[0]) best = 1, second = 0;
    for (int k = 2; k < FASHION_VGG_CLASSES; k++) {
        if (logits[k] > logits[best]) second = best, best = k;
        else if (logits[k] > logits[second]) second = k;
    }
    *margin = logits[best] - logits[second];
    return best;
}

/* Run images [first, first + BATCH) and write the argmax of each into got. */
static void classify_batch(unsigned char *got, float *margins, const unsigned char *pixels, int first)
{
    static float in[FASHION_VGG_IN_COUNT], out[FASHION_VGG_OUT_COUNT];
    for (int i = 0; i < FASHION_VGG_IN_COUNT; i++)
        in[i] = ((float)pixels[(size_t)first * PIXELS + (size_t)i] / 255.0f - MEAN) / STD;
    fashion_vgg_forward(in, out);
    for (int n = 0; n < FASHION_VGG_BATCH; n++)
        got[first + n] = (unsigned char)argmax(out + n * FASHION_VGG_CLASSES, &margins[first + n]);
}

Test(fashion_mnist, the_compiled_classifier_agrees_with_pytorch_on_all_10000_test_images)
{
    unsigned char *pixels = read_idx("t10k-images-idx3-ubyte.gz", 2051, 4, (size_t)N_TEST * PIXELS);
    unsigned char *labels = read_idx("t10k-labels-idx1-ubyte.gz", 2049, 2, N_TEST);
    vggc_error err;
    cr_assert_eq(vggc_load_safetensors(&fashion_vgg_model, FASHION_WEIGHTS, VGGC_MATCH_BY_NAME, &err), 0, "%s",
                 err.msg);
    unsigned char *want = read_predictions();
    static unsigned char got[N_TEST];
    static float margins[N_TEST];
    for (int first = 0; first < N_TEST; first += FASHION_VGG_BATCH) classify_batch(got, margins, pixels, first);
    int agree = 0, correct = 0;
    for (int i = 0; i < N_TEST; i++) {
        agree += got[i] == want[i];
        correct += got[i] == labels[i];
        if (got[i] != want[i] && N_TEST - agree <= 10)
            cr_log_error("image %d: vggc says %d, PyTorch %d (vggc's top-2 margin %.3g)", i, got[i], want[i],
                         (double)margins[i]);
    }
    double accuracy = (double)correct / N_TEST;
    printf("fashion_vgg: %d/%d agree with PyTorch, accuracy %.2f%% (%d/%d)\n", agree, N_TEST, 100 * accuracy,
           correct, N_TEST);
    free(pixels);
    free(labels);
    free(want);
    cr_expect_eq(agree, N_TEST, "%d of %d predictions differ from PyTorch's", N_TEST - agree, N_TEST);
    cr_expect_geq(accuracy, 0.90, "accuracy %.4f (expected at least 0.90)", accuracy);
}
