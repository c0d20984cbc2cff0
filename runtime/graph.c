/* graph.c — where a network's branches meet: the elementwise Add of a residual that no conv before it could take
 * into its epilogue, and the copy of a tensor into its channel range of a concatenation (torch.cat along channels)
 * when its producer could not write there itself. Each fast kernel has its naive reference beside it
 * (tests/test_graph.c compares them). */
#include "vggc.h"

#include <string.h>

/* ---- Add ------------------------------------------------------------------------------------------------ */

void vggc_add(float *out, const float *a, const float *b, size_t count, int relu)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < count; i++) {
        float v = a[i] + b[i];
        out[i] = relu && v < 0.0f ? 0.0f : v; /* NaN stays NaN, as torch.relu */
    }
}

void vggc_add_ref(float *out, const float *a, const float *b, size_t count, int relu)
{
    for (size_t i = 0; i < count; i++) {
        out[i] = a[i] + b[i];
        if (relu && out[i] < 0.0f) out[i] = 0.0f;
    }
}

/* ---- one input of a concatenation ----------------------------------------------------------------------- */

void vggc_concat_copy(float *out, const float *in, int n, int ctotal, int c0, int c, int h, int w)
{
    size_t plane = (size_t)h * w;
    for (int b = 0; b < n; b++)
        memcpy(out + ((size_t)b * ctotal + c0) * plane, in + (size_t)b * c * plane, (size_t)c * plane * sizeof *in);
}

void vggc_concat_copy_ref(float *out, const float *in, int n, int ctotal, int c0, int c, int h, int w)
{
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < h * w; p++)
                out[((size_t)b * ctotal + c0 + ch) * h * w + p] = in[((size_t)b * c + ch) * h * w + p];
}

/* Where channel ch of pixel p (of h * w) of image b sits in a blocked tensor of c channels. */
static size_t blocked_at(int c, int h, int w, int b, int ch, int p)
{
    return (((size_t)b * (VGGC_CPAD(c) / 16) + ch / 16) * h * w + p) * 16 + ch % 16;
}

/* Whole 16-channel blocks are copied as planes; a range that starts or ends inside a block, lane by lane. */
void vggc_concat_copy_blocked(float *out, const float *in, int n, int ctotal, int c0, int c, int h, int w)
{
    int plane = h * w, whole = c0 % 16 == 0 ? c / 16 : 0, out_blocks = VGGC_CPAD(ctotal) / 16;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < n; b++) {
        for (int blk = 0; blk < whole; blk++)
            memcpy(out + ((size_t)b * out_blocks + c0 / 16 + blk) * plane * 16,
                   in + ((size_t)b * (VGGC_CPAD(c) / 16) + blk) * plane * 16, (size_t)plane * 16 * sizeof *in);
        for (int ch = 16 * whole; ch < c; ch++)
            for (int p = 0; p < plane; p++)
                out[blocked_at(ctotal, h, w, b, c0 + ch, p)] = in[blocked_at(c, h, w, b, ch, p)];
        for (int ch = c0 + c; c0 + c == ctotal && ch < VGGC_CPAD(ctotal); ch++) /* the last input: padded lanes */
            for (int p = 0; p < plane; p++) out[blocked_at(ctotal, h, w, b, ch, p)] = 0.0f;
    }
}

void vggc_concat_copy_blocked_ref(float *out, const float *in, int n, int ctotal, int c0, int c, int h, int w)
{
    for (int b = 0; b < n; b++)
        for (int p = 0; p < h * w; p++) {
            for (int ch = 0; ch < c; ch++)
                out[blocked_at(ctotal, h, w, b, c0 + ch, p)] = in[blocked_at(c, h, w, b, ch, p)];
            for (int ch = ctotal; c0 + c == ctotal && ch < VGGC_CPAD(ctotal); ch++)
                out[blocked_at(ctotal, h, w, b, ch, p)] = 0.0f;
        }
}
