/* jpeg.c — JPEG through libjpeg-turbo with its defaults (accurate integer IDCT, fancy upsampling), as Pillow
 * decodes it: gray stays gray, YCbCr becomes RGB, CMYK and YCCK become RGB by Pillow's formula. A file that ends
 * before its image does is an error (Pillow: "image file is truncated"); other warnings are not. */
#include "images_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <jerror.h>

#include "../fileio.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    const char *where;
    vggc_error *err;
} errors;

static void on_error(j_common_ptr cinfo)
{
    errors *e = (errors *)cinfo->err;
    char msg[JMSG_LENGTH_MAX], text[200];
    e->pub.format_message(cinfo, msg);
    vggc_fail(e->err, e->where, "cannot decode the JPEG: %s", vggc_printable(text, sizeof text, msg, 160));
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error(cinfo);
}

/* Pillow's CMYK -> RGB; Adobe files store the inks inverted. */
static void cmyk_to_rgb(unsigned char *out, const unsigned char *in, int w, int inverted)
{
    for (int x = 0; x < w; x++, in += 4, out += 3) {
        int k = inverted ? 255 - in[3] : in[3], nk = 255 - k;
        for (int c = 0; c < 3; c++) {
            int ink = inverted ? 255 - in[c] : in[c], t = ink * nk + 128, v = nk - (((t >> 8) + t) >> 8);
            out[c] = (unsigned char)(v < 0 ? 0 : v);
        }
    }
}

static void read_rows(struct jpeg_decompress_struct *cinfo, vggc_image *img, unsigned char *cmyk)
{
    while (cinfo->output_scanline < cinfo->output_height) {
        unsigned char *row = img->pixels + (size_t)cinfo->output_scanline * (size_t)img->w * (size_t)img->channels;
        JSAMPROW target = cmyk ? cmyk : row;
        jpeg_read_scanlines(cinfo, &target, 1);
        if (cmyk) cmyk_to_rgb(row, cmyk, img->w, cinfo->saw_Adobe_marker);
    }
}

/* Everything that may longjmp, in a function of its own; *cmyk is freed by the caller. */
static int decode(struct jpeg_decompress_struct *cinfo, errors *e, vggc_image *img, const unsigned char *data,
                  size_t size, unsigned char **cmyk)
{
    if (setjmp(e->jump)) return -1;
    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    int space = cinfo->jpeg_color_space, ink = space == JCS_CMYK || space == JCS_YCCK;
    cinfo->out_color_space = space == JCS_GRAYSCALE ? JCS_GRAYSCALE : ink ? JCS_CMYK : JCS_RGB;
    jpeg_calc_output_dimensions(cinfo);
    if (vggc_image_alloc(img, cinfo->output_width, cinfo->output_height, space == JCS_GRAYSCALE ? 1 : 3, e->where,
                         e->err))
        return -1;
    if (ink && !(*cmyk = malloc((size_t)img->w * 4)))
        return vggc_fail(e->err, e->where, "out of memory for a CMYK row");
    jpeg_start_decompress(cinfo);
    read_rows(cinfo, img, *cmyk);
    jpeg_finish_decompress(cinfo);
    return 0;
}

int vggc_decode_jpeg(vggc_image *img, const unsigned char *data, size_t size, const char *where, vggc_error *err)
{
    struct jpeg_decompress_struct cinfo;
    errors e;
    unsigned char *cmyk = NULL;
    cinfo.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.pub.emit_message = on_message;
    e.where = where, e.err = err;
    int rc = decode(&cinfo, &e, img, data, size, &cmyk);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk);
    return rc;
}
