/* preprocess.c — an image to the model's input tensor as torchvision's transforms compute it in float32:
 * `none` is ToTensor + Normalize on an image of the model's size; `imagenet` is Resize(256) + CenterCrop(h, w) +
 * ToTensor + Normalize, its resize done only for the pixels the crop keeps. */
#include "resize_internal.h"

#include <math.h>
#include <stdlib.h>

#include "../fileio.h"

#define IMAGENET_RESIZE 256

void vggc_preprocess_init(vggc_preprocess *p, int kind, int c, int h, int w)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    p->kind = kind, p->c = c, p->h = h, p->w = w;
    for (int i = 0; i < 3; i++) {
        p->mean[i] = kind == VGGC_PREPROCESS_IMAGENET ? mean[i] : 0.0f;
        p->std[i] = kind == VGGC_PREPROCESS_IMAGENET ? std[i] : 1.0f;
    }
}

/* pixels (h, w, c) -> out (c, h, w): x / 255, then (x - mean) / std, each step in float32 as torch does it. */
static void normalize(float *out, const unsigned char *pixels, const vggc_preprocess *p)
{
    size_t hw = (size_t)p->h * (size_t)p->w;
    for (int c = 0; c < p->c; c++)
        for (size_t i = 0; i < hw; i++) {
            float x = (float)pixels[i * (size_t)p->c + (size_t)c] / 255.0f;
            out[(size_t)c * hw + i] = (x - p->mean[c]) / p->std[c];
        }
}

/* torchvision's Resize(256) size: the shorter side to 256, the longer int(256 * long / short). */
static void resized_size(int w, int h, int *rw, int *rh)
{
    if (w <= h) *rw = IMAGENET_RESIZE, *rh = (int)((double)IMAGENET_RESIZE * h / w);
    else *rh = IMAGENET_RESIZE, *rw = (int)((double)IMAGENET_RESIZE * w / h);
}

/* torchvision's CenterCrop offset: round((size - crop) / 2) with Python's round (half to even), or, for a crop
 * larger than the image, minus the left (top) padding (crop - size) // 2. */
static int crop_offset(int size, int crop)
{
    if (crop > size) return -((crop - size) / 2);
    return (int)nearbyint((size - crop) / 2.0);
}

int vggc_preprocess_image(float *out, const vggc_image *img, const vggc_preprocess *p, const char *where,
                          vggc_error *err)
{
    if (img->channels != p->c)
        return vggc_fail(err, where, "has %d channels (expected %d)", img->channels, p->c);
    if (p->kind == VGGC_PREPROCESS_NONE) {
        if (img->w != p->w || img->h != p->h)
            return vggc_fail(err, where, "is %dx%d (expected %dx%d with --preprocess none; imagenet resizes)",
                             img->w, img->h, p->w, p->h);
        normalize(out, img->pixels, p);
        return 0;
    }
    int rw, rh;
    resized_size(img->w, img->h, &rw, &rh);
    unsigned char *crop = malloc((size_t)p->w * (size_t)p->h * (size_t)p->c);
    if (!crop) return vggc_fail(err, where, "out of memory for the crop");
    int rc = vggc_resize_window(crop, img, rw, rh, crop_offset(rw, p->w), crop_offset(rh, p->h), p->w, p->h, err);
    if (!rc) normalize(out, crop, p);
    else vggc_fail(err, where, "out of memory resizing %dx%d to %dx%d", img->w, img->h, rw, rh);
    free(crop);
    return rc;
}
