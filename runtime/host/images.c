/* images.c — an image file to 8-bit pixels with the model's channels: read the file, pick the decoder by the
 * file's first bytes, then convert gray <-> RGB as Pillow's convert() does. */
#define _POSIX_C_SOURCE 200809L
#include "images_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fileio.h"

int vggc_image_alloc(vggc_image *img, long long w, long long h, int channels, const char *where, vggc_error *err)
{
    if (w < 1 || h < 1) return vggc_fail(err, where, "is %lldx%lld (an empty image)", w, h);
    if (w * h > VGGC_IMAGE_MAX_PIXELS)
        return vggc_fail(err, where, "is %lldx%lld, %lld pixels (at most %lld)", w, h, w * h, VGGC_IMAGE_MAX_PIXELS);
    img->pixels = malloc((size_t)(w * h) * (size_t)channels);
    if (!img->pixels) return vggc_fail(err, where, "out of memory for %lldx%lld pixels", w, h);
    img->w = (int)w, img->h = (int)h, img->channels = channels;
    return 0;
}

void vggc_image_free(vggc_image *img)
{
    free(img->pixels);
    img->pixels = NULL;
}

/* RGB to gray as Pillow's convert("L"): ITU-R 601-2 luma in 16-bit fixed point, rounded. */
static void rgb_to_gray(unsigned char *out, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n; i++, in += 3)
        out[i] = (unsigned char)((in[0] * 19595u + in[1] * 38470u + in[2] * 7471u + 0x8000u) >> 16);
}

static void gray_to_rgb(unsigned char *out, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = in[i];
}

static int convert_channels(vggc_image *img, int channels, const char *where, vggc_error *err)
{
    if (img->channels == channels) return 0;
    vggc_image to;
    if (vggc_image_alloc(&to, img->w, img->h, channels, where, err)) return -1;
    size_t n = (size_t)img->w * (size_t)img->h;
    if (channels == 1) rgb_to_gray(to.pixels, img->pixels, n);
    else gray_to_rgb(to.pixels, img->pixels, n);
    vggc_image_free(img);
    *img = to;
    return 0;
}

int vggc_image_decode(vggc_image *img, const unsigned char *data, size_t size, int channels, const char *where,
                      vggc_error *err)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    img->pixels = NULL;
    if (channels != 1 && channels != 3) return vggc_fail(err, where, "%d channels asked (expected 1 or 3)", channels);
    int rc;
    if (size >= 8 && memcmp(data, png, 8) == 0) rc = vggc_decode_png(img, data, size, where, err);
    else if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        rc = vggc_decode_jpeg(img, data, size, where, err);
    else if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6'))
        rc = vggc_decode_pnm(img, data, size, where, err);
    else
        return vggc_fail(err, where, "not a PNG, JPEG, binary PGM or binary PPM file");
    if (!rc && convert_channels(img, channels, where, err)) rc = -1;
    if (rc) vggc_image_free(img);
    return rc;
}

/* The whole of a regular file with open, fstat and read (a small image is a quarter of its decoding time through
 * stdio's buffers); anything else through vggc_read_file. */
static int read_image_file(const char *path, unsigned char **data, size_t *size, vggc_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return vggc_fail(err, path, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        return vggc_read_file(path, data, size, err);
    }
    *size = (size_t)st.st_size;
    if (!(*data = malloc(*size))) {
        close(fd);
        return vggc_fail(err, path, "out of memory reading the file");
    }
    size_t got = 0;
    ssize_t n = 1;
    while (got < *size && (n = read(fd, *data + got, *size - got)) > 0) got += (size_t)n;
    int e = errno;
    close(fd);
    if (got == *size) return 0;
    free(*data);
    *data = NULL;
    return vggc_fail(err, path, "cannot read: %s", n < 0 ? strerror(e) : "the file got shorter while read");
}

int vggc_image_read(vggc_image *img, const char *path, int channels, vggc_error *err)
{
    unsigned char *data;
    size_t size;
    img->pixels = NULL;
    if (read_image_file(path, &data, &size, err)) return -1;
    int rc = vggc_image_decode(img, data, size, channels, path, err);
    free(data);
    return rc;
}
