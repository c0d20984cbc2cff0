/* embedded.c — two vggc classifiers in one program, their weights built in: no weights file is read.
 *
 *   embedded VGG11_INPUT.npy VGG11_OUTPUT.npy FASHION_IMAGES FASHION_CLASSES
 *
 * VGG11_INPUT is a (1, 3, 224, 224) float32 .npy; VGG11_OUTPUT gets vgg11_224's (1, 1000) logits. FASHION_IMAGES
 * is an uncompressed IDX image file of 28x28 images (Fashion-MNIST's t10k-images-idx3-ubyte); FASHION_CLASSES gets
 * fashion_vgg's class for each image, one byte each. Times go to stdout; an error is one line on stderr, status 1. */
#define _POSIX_C_SOURCE 200809L
#include "fashion_vgg.h"
#include "fashion_vgg_weights.h"
#include "vgg11_224.h"
#include "vgg11_224_weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIXELS (28 * 28)
#define FASHION_MEAN 0.2860f /* the training normalization (tools/train_fashion_mnist.py): (x/255 - MEAN) / STD */
#define FASHION_STD 0.3530f

_Static_assert(FASHION_VGG_IN_COUNT == FASHION_VGG_BATCH * PIXELS, "one 1x28x28 image per batch slot");

static char failure[700];

static int fail(const char *where, const char *what)
{
    snprintf(failure, sizeof failure, "embedded: %s: %s", where, what);
    return -1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int load(const vggc_model *m, const unsigned char *data, size_t size)
{
    vggc_error err;
    double t0 = now();
    if (vggc_load_safetensors_mem(m, data, size, VGGC_MATCH_BY_NAME, &err)) return fail(m->name, err.msg);
    printf("%s: %zu bytes of weights loaded from the executable in %.2f s\n", m->name, size, now() - t0);
    return 0;
}

/* ---- vgg11_224: one image in, 1000 logits out ---------------------------------------------------------- */

static int run_vgg11(const char *in_path, const char *out_path)
{
    float *in = NULL;
    int64_t shape[4];
    int rank;
    vggc_error err;
    if (vggc_npy_read(in_path, &in, shape, &rank, &err)) return fail(in_path, err.msg);
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= shape[i];
    if (count != VGG11_224_IN_COUNT) {
        free(in);
        return fail(in_path, "not one 3x224x224 image");
    }
    static float out[VGG11_224_OUT_COUNT];
    double t0 = now();
    vgg11_224_forward(in, out);
    printf("vgg11_224: forward in %.2f s\n", now() - t0);
    free(in);
    const int64_t out_shape[2] = {VGG11_224_BATCH, VGG11_224_CLASSES};
    if (vggc_npy_write(out_path, out, 2, out_shape, &err)) return fail(out_path, err.msg);
    return 0;
}

/* ---- fashion_vgg: every image of an IDX file, a class each --------------------------------------------- */

static unsigned long big_endian(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* The pixels of an IDX file of 28x28 images (malloc'ed), *n the number of images; NULL after fail(). */
static unsigned char *read_images(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(path, strerror(errno));
        return NULL;
    }
    unsigned char head[16], *px = NULL;
    if (fread(head, 1, 16, f) != 16 || big_endian(head) != 2051 || big_endian(head + 8) != 28 ||
        big_endian(head + 12) != 28) {
        fail(path, "not an IDX file of 28x28 images (magic 2051)");
    } else {
        *n = big_endian(head + 4);
        px = malloc(*n * PIXELS + 1);
        if (!px) fail(path, "out of memory");
        else if (fread(px, PIXELS, *n, f) != *n) {
            fail(path, "fewer images than its header says");
            free(px);
            px = NULL;
        }
    }
    fclose(f);
    return px;
}

static unsigned char argmax(const float *logits)
{
    int best = 0;
    for (int k = 1; k < FASHION_VGG_CLASSES; k++) best = logits[k] > logits[best] ? k : best;
    return (unsigned char)best;
}

/* Classes of images [first, first + BATCH) into classes; slots past n are zero images. */
static void classify_batch(unsigned char *classes, const unsigned char *px, size_t first, size_t n)
{
    static float in[FASHION_VGG_IN_COUNT], out[FASHION_VGG_OUT_COUNT];
    size_t used = n - first < FASHION_VGG_BATCH ? n - first : FASHION_VGG_BATCH;
    for (size_t i = 0; i < FASHION_VGG_IN_COUNT; i++)
        in[i] = i < used * PIXELS ? ((float)px[first * PIXELS + i] / 255.0f - FASHION_MEAN) / FASHION_STD : 0.0f;
    fashion_vgg_forward(in, out);
    for (size_t b = 0; b < used; b++) classes[first + b] = argmax(out + b * FASHION_VGG_CLASSES);
}

static int write_bytes(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return fail(path, strerror(errno));
    size_t wrote = fwrite(bytes, 1, n, f);
    if (fclose(f) != 0 || wrote != n) return fail(path, "write failed");
    return 0;
}

static int run_fashion(const char *images_path, const char *out_path)
{
    size_t n;
    unsigned char *px = read_images(images_path, &n);
    if (!px) return -1;
    unsigned char *classes = malloc(n + 1);
    if (!classes) {
        free(px);
        return fail(images_path, "out of memory");
    }
    double t0 = now();
    for (size_t first = 0; first < n; first += FASHION_VGG_BATCH) classify_batch(classes, px, first, n);
    printf("fashion_vgg: %zu images in %.2f s\n", n, now() - t0);
    int rc = write_bytes(out_path, classes, n);
    free(classes);
    free(px);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "embedded: usage: embedded VGG11_INPUT.npy VGG11_OUTPUT.npy FASHION_IMAGES FASHION_CLASSES\n");
        return 1;
    }
    if (load(&vgg11_224_model, vgg11_224_weights_data, vgg11_224_weights_size) ||
        load(&fashion_vgg_model, fashion_vgg_weights_data, fashion_vgg_weights_size) ||
        run_vgg11(argv[1], argv[2]) || run_fashion(argv[3], argv[4])) {
        fprintf(stderr, "%s\n", failure);
        return 1;
    }
    return 0;
}
