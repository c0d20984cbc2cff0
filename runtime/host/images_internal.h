/* images_internal.h — what the decoders of runtime/host share (internal: not installed). Each decoder fills an
 * image with the channels its file has, reduced to 1 (gray) or 3 (RGB) 8-bit samples; images.c converts that to
 * the channels the model takes. */
#ifndef VGGC_IMAGES_INTERNAL_H
#define VGGC_IMAGES_INTERNAL_H

#include <stddef.h>

#include "vggc_host.h"

int vggc_decode_png(vggc_image *img, const unsigned char *data, size_t size, const char *where, vggc_error *err);
int vggc_decode_jpeg(vggc_image *img, const unsigned char *data, size_t size, const char *where, vggc_error *err);
int vggc_decode_pnm(vggc_image *img, const unsigned char *data, size_t size, const char *where, vggc_error *err);

/* Allocate img's pixels for w x h x channels after checking the size against VGGC_IMAGE_MAX_PIXELS. */
int vggc_image_alloc(vggc_image *img, long long w, long long h, int channels, const char *where, vggc_error *err);

#endif
