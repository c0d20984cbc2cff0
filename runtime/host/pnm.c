/* pnm.c — binary PGM (P5) and PPM (P6), 8 or 16 bits per sample, samples scaled from 0..maxval to 0..255 with
 * rounding. Written by hand: the format is a text header and raw samples. */
#include "images_internal.h"

#include <ctype.h>

#include "../fileio.h"

/* The next whole number of the header at *at, past white space and # comments; -1 if there is none. */
static long header_number(const unsigned char *data, size_t size, size_t *at)
{
    while (*at < size && (isspace(data[*at]) || data[*at] == '#')) {
        if (data[*at] == '#')
            while (*at < size && data[*at] != '\n') (*at)++;
        else
            (*at)++;
    }
    long v = -1;
    for (; *at < size && isdigit(data[*at]) && v < 1000000000L; (*at)++) v = (v < 0 ? 0 : v * 10) + (data[*at] - '0');
    return v;
}

static unsigned char scaled(unsigned v, unsigned maxval)
{
    if (v > maxval) v = maxval;
    return (unsigned char)((v * 255u + maxval / 2) / maxval);
}

int vggc_decode_pnm(vggc_image *img, const unsigned char *data, size_t size, const char *where, vggc_error *err)
{
    int channels = data[1] == '6' ? 3 : 1;
    size_t at = 2;
    long w = header_number(data, size, &at), h = header_number(data, size, &at), maxval = header_number(data, size, &at);
    if (w < 1 || h < 1 || maxval < 1 || maxval > 65535 || at >= size || !isspace(data[at]))
        return vggc_fail(err, where, "a bad P%c header (expected width, height and maxval 1..65535)", data[1]);
    at++; /* the one white space character before the samples */
    if (vggc_image_alloc(img, w, h, channels, where, err)) return -1;
    size_t n = (size_t)w * (size_t)h * (size_t)channels, bytes = maxval > 255 ? 2 : 1;
    if (size - at < n * bytes)
        return vggc_fail(err, where, "the P%c samples end after %zu of %zu bytes (truncated?)", data[1], size - at,
                         n * bytes);
    const unsigned char *s = data + at;
    for (size_t i = 0; i < n; i++)
        img->pixels[i] = scaled(bytes == 2 ? (unsigned)s[2 * i] << 8 | s[2 * i + 1] : s[i], (unsigned)maxval);
    return 0;
}
