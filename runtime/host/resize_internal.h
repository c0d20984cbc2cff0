/* resize_internal.h — the resize of runtime/host/resize.c that preprocessing uses (internal: not installed). */
#ifndef VGGC_RESIZE_INTERNAL_H
#define VGGC_RESIZE_INTERNAL_H

#include "vggc_host.h"

/* The window [x0, x0 + cw) x [y0, y0 + ch) of in resized to w x h as vggc_resize_bilinear would give it, into out
 * (ch, cw, in->channels); window pixels outside the w x h image are 0. */
int vggc_resize_window(unsigned char *out, const vggc_image *in, int w, int h, int x0, int y0, int cw, int ch,
                       vggc_error *err);

#endif
