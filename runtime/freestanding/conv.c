/* conv.c — convolutions for the freestanding build: any window (direct), 3x3 stride 1 pad 1 (conv3x3, with an
 * optional 2x2 max pool), 1x1 (pointwise), and the plain loop nest they are tested against (conv_ref). */
#include "vggc_fs.h"

#include <stddef.h>

/* The larger of two values; a NaN wins, as in torch.nn.MaxPool2d. */
static float max_nan(float m, float v)
{
    return (v > m || v != v) ? v : m;
}

static float relu_if(float v, int relu)
{
    return relu && v < 0.0f ? 0.0f : v; /* NaN stays NaN, as torch.relu */
}

/* The outputs [*j0, *j1) of [0, out) whose tap j * step + at falls inside [0, n). */
static void span(int at, int step, int n, int out, int *j0, int *j1)
{
    *j0 = at >= 0 ? 0 : (-at + step - 1) / step;
    *j1 = at > n - 1 ? 0 : (n - 1 - at) / step + 1;
    if (*j1 > out) *j1 = out;
    if (*j0 > *j1) *j0 = *j1;
}

/* y (oh, ow) += wv * the input plane x (h, w) read at tap (ky, kx) of every output's window: one weight at a time
 * over the whole output plane, each output row clipped to the taps inside the map once. */
static void tap_plane(float *restrict y, const float *x, float wv, int h, int w, int oh, int ow,
                      const vggc_fs_window *win, int ky, int kx)
{
    int i0, i1, j0, j1, dy = ky * win->dh - win->pt, dx = kx * win->dw - win->pl;
    span(dy, win->sh, h, oh, &i0, &i1);
    span(dx, win->sw, w, ow, &j0, &j1);
    for (int i = i0; i < i1; i++) {
        const float *row = x + (size_t)(i * win->sh + dy) * w + dx;
        float *yr = y + (size_t)i * ow;
        for (int j = j0; j < j1; j++) yr[j] += wv * row[j * win->sw];
    }
}

void vggc_fs_conv(float *out,          /* (n, cout, oh, ow) */
                  const float *in,     /* (n, cin, h, w) */
                  const float *weight, /* (cout, cin, kh, kw) */
                  const float *bias,   /* (cout) */
                  int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_fs_window *win, int relu)
{
    size_t plane = (size_t)oh * ow;
    for (int b = 0; b < n; b++)
        for (int oc = 0; oc < cout; oc++) {
            float *y = out + ((size_t)b * cout + oc) * plane;
            const float *wo = weight + (size_t)oc * cin * win->kh * win->kw;
            for (size_t p = 0; p < plane; p++) y[p] = bias[oc];
            for (int ic = 0; ic < cin; ic++)
                for (int ky = 0; ky < win->kh; ky++)
                    for (int kx = 0; kx < win->kw; kx++)
                        tap_plane(y, in + ((size_t)b * cin + ic) * h * w, *wo++, h, w, oh, ow, win, ky, kx);
            for (size_t p = 0; relu && p < plane; p++) y[p] = relu_if(y[p], 1);
        }
}

void vggc_fs_conv_ref(float *out,          /* (n, cout, oh, ow) */
                      const float *in,     /* (n, cin, h, w) */
                      const float *weight, /* (cout, cin, kh, kw) */
                      const float *bias,   /* (cout) */
                      int n, int cin, int h, int w, int cout, int oh, int ow, const vggc_fs_window *win, int relu)
{
    for (int b = 0; b < n; b++)
        for (int oc = 0; oc < cout; oc++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    float s = bias[oc];
                    for (int ic = 0; ic < cin; ic++)
                        for (int ky = 0; ky < win->kh; ky++)
                            for (int kx = 0; kx < win->kw; kx++) {
                                int sy = i * win->sh - win->pt + ky * win->dh, sx = j * win->sw - win->pl + kx * win->dw;
                                if (sy >= 0 && sy < h && sx >= 0 && sx < w)
                                    s += in[(((size_t)b * cin + ic) * h + sy) * w + sx] *
                                         weight[(((size_t)oc * cin + ic) * win->kh + ky) * win->kw + kx];
                            }
                    out[(((size_t)b * cout + oc) * oh + i) * ow + j] = relu_if(s, relu);
                }
}

/* o[x] += k0 . r0[x-1..x+1] + k1 . r1[...] + k2 . r2[...] along one row of w pixels, zero outside [0, w); a NULL
 * row is a padding row: its kernel row counts as zeros (over any row). The nine weights stay in registers, the
 * window slides: each pixel loads one new column of the three rows, and its sum is one chain of fused
 * multiply-adds starting from o[x]. */
static void row3x3(float *restrict o, const float *r0, const float *r1, const float *r2, const float *k, int w)
{
    float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
    if (!r0) r0 = r1, k0 = k1 = k2 = 0.0f;
    if (!r2) r2 = r1, k6 = k7 = k8 = 0.0f;
    float a0 = 0.0f, b0 = 0.0f, c0 = 0.0f, a1 = r0[0], b1 = r1[0], c1 = r2[0];
    int x = 0;
    for (; x + 1 < w; x++) {
        float a2 = r0[x + 1], b2 = r1[x + 1], c2 = r2[x + 1];
        o[x] = o[x] + k0 * a0 + k1 * a1 + k2 * a2 + k3 * b0 + k4 * b1 + k5 * b2 + k6 * c0 + k7 * c1 + k8 * c2;
        a0 = a1, a1 = a2, b0 = b1, b1 = b2, c0 = c1, c1 = c2;
    }
    o[x] = o[x] + k0 * a0 + k1 * a1 + k3 * b0 + k4 * b1 + k6 * c0 + k7 * c1; /* the last pixel: padding on its right */
}

/* o (h, w) += the 3x3 pad-1 convolution of one input plane p (h, w) with kernel k (3, 3). */
static void plane3x3(float *o, const float *p, const float *k, int h, int w)
{
    for (int y = 0; y < h; y++) {
        const float *r0 = y > 0 ? p + (size_t)(y - 1) * w : NULL, *r2 = y + 1 < h ? p + (size_t)(y + 1) * w : NULL;
        row3x3(o + (size_t)y * w, r0, p + (size_t)y * w, r2, k, w);
    }
}

/* out (h / 2, w / 2) = the 2x2/2 max of in (h, w), floor mode */
static void pool2x2(float *out, const float *in, int h, int w)
{
    for (int i = 0; i < h / 2; i++)
        for (int j = 0; j < w / 2; j++) {
            const float *r = in + (size_t)2 * i * w + 2 * j;
            out[(size_t)i * (w / 2) + j] = max_nan(max_nan(r[0], r[1]), max_nan(r[w], r[w + 1]));
        }
}

void vggc_fs_conv3x3(float *out,          /* (n, cout, h, w), or (n, cout, h / 2, w / 2) if pool */
                     const float *in,     /* (n, cin, h, w) */
                     const float *weight, /* (cout, cin, 3, 3) */
                     const float *bias,   /* (cout) */
                     float *scratch,      /* (h, w) if pool, else NULL */
                     int n, int cin, int h, int w, int cout, int relu, int pool)
{
    size_t plane = (size_t)h * w, out_plane = pool ? (size_t)(h / 2) * (w / 2) : plane;
    for (int b = 0; b < n; b++)
        for (int oc = 0; oc < cout; oc++) {
            float *y = pool ? scratch : out + ((size_t)b * cout + oc) * plane; /* (h, w) */
            for (size_t i = 0; i < plane; i++) y[i] = bias[oc];
            for (int ic = 0; ic < cin; ic++)
                plane3x3(y, in + ((size_t)b * cin + ic) * plane, weight + ((size_t)oc * cin + ic) * 9, h, w);
            for (size_t i = 0; relu && i < plane; i++) y[i] = relu_if(y[i], 1);
            if (pool) pool2x2(out + ((size_t)b * cout + oc) * out_plane, y, h, w);
        }
}

void vggc_fs_conv1x1(float *out,          /* (n, cout, hw) */
                     const float *in,     /* (n, cin, hw) */
                     const float *weight, /* (cout, cin) */
                     const float *bias,   /* (cout) */
                     int n, int cin, int hw, int cout, int relu)
{
    for (int b = 0; b < n; b++)
        for (int oc = 0; oc < cout; oc++) {
            float *y = out + ((size_t)b * cout + oc) * hw;
            const float *wo = weight + (size_t)oc * cin, *x = in + (size_t)b * cin * hw;
            for (int p = 0; p < hw; p++) y[p] = bias[oc];
            int ic = 0;
            for (; ic + 4 <= cin; ic += 4) {
                const float *x0 = x + (size_t)ic * hw, *x1 = x0 + hw, *x2 = x1 + hw, *x3 = x2 + hw;
                float w0 = wo[ic], w1 = wo[ic + 1], w2 = wo[ic + 2], w3 = wo[ic + 3];
                for (int p = 0; p < hw; p++) y[p] += w0 * x0[p] + w1 * x1[p] + w2 * x2[p] + w3 * x3[p];
            }
            for (; ic < cin; ic++)
                for (int p = 0; p < hw; p++) y[p] += wo[ic] * x[(size_t)ic * hw + p];
            for (int p = 0; relu && p < hw; p++) y[p] = relu_if(y[p], 1);
        }
}
