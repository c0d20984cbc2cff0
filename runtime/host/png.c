/* png.c — PNG through libpng: palettes expanded, gray of 1, 2 or 4 bits widened to 8, 16-bit samples cut to their
 * high byte, alpha and tRNS dropped, interlacing undone, gamma not applied (as Pillow opens a PNG and converts it
 * to "L" or "RGB"). */
#include "images_internal.h"

#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "../fileio.h"

typedef struct {
    const unsigned char *data;
    size_t size, at;
    const char *where;
    vggc_error *err;
    int failed;            /* err already set */
} source;

static void read_bytes(png_structp png, png_bytep out, png_size_t n)
{
    source *s = png_get_io_ptr(png);
    if (n > s->size - s->at) png_error(png, "the file ends inside the image (truncated?)");
    memcpy(out, s->data + s->at, n);
    s->at += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    source *s = png_get_error_ptr(png);
    char text[200];
    if (!s->failed) vggc_fail(s->err, s->where, "cannot decode the PNG: %s", vggc_printable(text, sizeof text, msg, 160));
    s->failed = 1;
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg; /* ancillary trouble (a bad text chunk, an unknown profile) does not stop decoding */
}

/* The transformations above; the channels of the rows they give: 1 or 3. */
static int set_transforms(png_structp png, png_infop info)
{
    int type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    return (type & PNG_COLOR_MASK_COLOR) ? 3 : 1;
}

/* Everything that may longjmp, in a function of its own so no local of the caller is live across setjmp. */
static int decode(png_structp png, png_infop info, vggc_image *img, source *s, png_bytep **rows)
{
    if (setjmp(png_jmpbuf(png))) return -1;
    png_set_read_fn(png, s, read_bytes);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    int channels = set_transforms(png, info);
    if (vggc_image_alloc(img, png_get_image_width(png, info), png_get_image_height(png, info), channels, s->where,
                         s->err)) {
        s->failed = 1;
        return -1;
    }
    *rows = png_malloc(png, sizeof **rows * (size_t)img->h);
    for (int y = 0; y < img->h; y++) (*rows)[y] = img->pixels + (size_t)y * (size_t)img->w * (size_t)channels;
    png_read_image(png, *rows);
    png_read_end(png, NULL);
    return 0;
}

int vggc_decode_png(vggc_image *img, const unsigned char *data, size_t size, const char *where, vggc_error *err)
{
    source s = {data, size, 0, where, err, 0};
    png_bytep *rows = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return vggc_fail(err, where, "out of memory starting libpng");
    }
    int rc = decode(png, info, img, &s, &rows);
    if (rows) png_free(png, rows);
    png_destroy_read_struct(&png, &info, NULL);
    if (rc && !s.failed) vggc_fail(err, where, "cannot decode the PNG");
    return rc;
}
