/* resize.c — Pillow's Image.resize(BILINEAR) on 8-bit images, pixel for pixel (Pillow's libImaging/Resample.c):
 * a triangle filter whose support widens by the scale when shrinking (so shrinking averages every input pixel:
 * antialiased), coefficients normalized per output pixel, then rounded to 22-bit fixed point; a horizontal pass
 * into 8-bit rows, then a vertical pass, each rounded and clipped to 0..255.
 *
 * vggc_resize_window computes only a window of the resized image (what a center crop keeps); each output pixel
 * depends only on its own coefficients, so the window holds exactly the pixels of the whole resize. */
#include "resize_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../fileio.h"

#define PRECISION_BITS (32 - 8 - 2)

/* For each of the out positions [first, first + count) of a resize from in_size to out_size: the first input
 * position (bounds[2i]), the number of inputs (bounds[2i + 1]) and ksize fixed-point weights (kk[i * ksize..]).
 * Positions outside [0, out_size) get no inputs. Returns ksize, or 0 when out of memory. */
static int coefficients(int in_size, int out_size, int first, int count, int **bounds, int32_t **kk)
{
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale, support = filterscale;
    double ss = 1.0 / filterscale; /* Pillow multiplies by it: dividing would round differently */
    int ksize = (int)ceil(support) * 2 + 1;
    double *k = malloc(sizeof *k * (size_t)ksize);
    *bounds = malloc(sizeof **bounds * 2 * (size_t)count);
    *kk = calloc((size_t)count * (size_t)ksize, sizeof **kk);
    if (!k || !*bounds || !*kk) {
        free(k), free(*bounds), free(*kk);
        return 0;
    }
    for (int i = 0; i < count; i++) {
        int xx = first + i, xmin = 0, xmax = 0;
        double center = (xx + 0.5) * scale, ww = 0.0;
        if (xx >= 0 && xx < out_size) {
            xmin = (int)(center - support + 0.5);
            xmin = xmin < 0 ? 0 : xmin;
            xmax = (int)(center + support + 0.5);
            xmax = (xmax > in_size ? in_size : xmax) - xmin;
        }
        for (int x = 0; x < xmax; x++) {
            double t = fabs((x + xmin - center + 0.5) * ss);
            ww += k[x] = t < 1.0 ? 1.0 - t : 0.0;
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? k[x] / ww : k[x];
            (*kk)[(size_t)i * (size_t)ksize + (size_t)x] =
                (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
        }
        (*bounds)[2 * i] = xmin, (*bounds)[2 * i + 1] = xmax;
    }
    free(k);
    return ksize;
}

static unsigned char clip8(int64_t v)
{
    if (v >= (int64_t)1 << PRECISION_BITS << 8) return 255;
    return v <= 0 ? 0 : (unsigned char)(v >> PRECISION_BITS);
}

/* One pass: out[i] over count positions, each a weighted sum of in[(bounds[2i] + t) * stride], t < bounds[2i+1];
 * lines times, line l of in at in + l * in_line, of out at out + l * out_line; channels interleaved. */
typedef struct {
    const int *bounds;
    const int32_t *kk;
    int ksize, count;
} pass;

static void run_pass(unsigned char *out, size_t out_step, size_t out_line, const unsigned char *in, size_t in_step,
                     size_t in_line, int lines, int channels, const pass *p)
{
    for (int l = 0; l < lines; l++) {
        for (int i = 0; i < p->count; i++) {
            const int32_t *k = p->kk + (size_t)i * (size_t)p->ksize;
            const unsigned char *src = in + (size_t)l * in_line + (size_t)p->bounds[2 * i] * in_step;
            for (int c = 0; c < channels; c++) {
                int64_t ss = (int64_t)1 << (PRECISION_BITS - 1);
                for (int t = 0; t < p->bounds[2 * i + 1]; t++) ss += (int64_t)src[(size_t)t * in_step + (size_t)c] * k[t];
                out[(size_t)l * out_line + (size_t)i * out_step + (size_t)c] = p->bounds[2 * i + 1] ? clip8(ss) : 0;
            }
        }
    }
}

/* The rows of in that the vertical pass reads: [*lo, *hi). */
static void rows_read(const int *ybounds, int count, int *lo, int *hi)
{
    *lo = 1 << 30, *hi = 0;
    for (int i = 0; i < count; i++) {
        if (!ybounds[2 * i + 1]) continue;
        if (ybounds[2 * i] < *lo) *lo = ybounds[2 * i];
        if (ybounds[2 * i] + ybounds[2 * i + 1] > *hi) *hi = ybounds[2 * i] + ybounds[2 * i + 1];
    }
    if (*lo > *hi) *lo = *hi = 0;
}

/* Horizontal pass over the rows [lo, hi) of in into tmp (hi - lo rows of p->count pixels), then the vertical one. */
static void two_passes(unsigned char *out, const vggc_image *in, const pass *xp, const pass *yp, int *ybounds,
                       unsigned char *tmp, int lo, int hi)
{
    size_t ch = (size_t)in->channels, in_row = (size_t)in->w * ch, tmp_row = (size_t)xp->count * ch;
    run_pass(tmp, ch, tmp_row, in->pixels + (size_t)lo * in_row, ch, in_row, hi - lo, in->channels, xp);
    for (int i = 0; i < yp->count; i++) ybounds[2 * i] -= lo;
    /* vertical: the "lines" are the columns (step ch), positions run down the rows */
    run_pass(out, tmp_row, ch, tmp, tmp_row, ch, xp->count, in->channels, yp);
}

int vggc_resize_window(unsigned char *out, const vggc_image *in, int w, int h, int x0, int y0, int cw, int ch,
                       vggc_error *err)
{
    int *xb = NULL, *yb = NULL, lo, hi;
    int32_t *xk = NULL, *yk = NULL;
    unsigned char *tmp = NULL;
    int xs = coefficients(in->w, w, x0, cw, &xb, &xk), ys = xs ? coefficients(in->h, h, y0, ch, &yb, &yk) : 0;
    if (ys) rows_read(yb, ch, &lo, &hi);
    if (ys && !(tmp = malloc((size_t)(hi - lo > 0 ? hi - lo : 1) * (size_t)cw * (size_t)in->channels))) ys = 0;
    if (ys) {
        pass xp = {xb, xk, xs, cw}, yp = {yb, yk, ys, ch};
        two_passes(out, in, &xp, &yp, yb, tmp, lo, hi);
    }
    free(xb), free(yb), free(xk), free(yk), free(tmp);
    return ys ? 0 : vggc_fail(err, "resize", "out of memory resizing %dx%d to %dx%d", in->w, in->h, w, h);
}

int vggc_resize_bilinear(vggc_image *out, const vggc_image *in, int w, int h, vggc_error *err)
{
    out->pixels = malloc((size_t)w * (size_t)h * (size_t)in->channels);
    if (!out->pixels) return vggc_fail(err, "resize", "out of memory for %dx%d pixels", w, h);
    out->w = w, out->h = h, out->channels = in->channels;
    if (vggc_resize_window(out->pixels, in, w, h, 0, 0, w, h, err)) {
        vggc_image_free(out);
        return -1;
    }
    return 0;
}
