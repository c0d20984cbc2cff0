/* progress.c — one line on stderr, redrawn at most about 4 times a second, only when stderr is a terminal. */
#define _POSIX_C_SOURCE 200809L
#include "vggc_host.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL 0.25 /* seconds between redraws */

double vggc_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void vggc_progress_start(vggc_progress *p, const char *name, int total, int on)
{
    p->on = on && isatty(STDERR_FILENO);
    p->total = total, p->name = name;
    p->start = p->last = vggc_seconds();
}

static void draw(const vggc_progress *p, int done, double now)
{
    double elapsed = now - p->start, rate = elapsed > 0 ? done / elapsed : 0;
    char left[32] = "";
    if (rate > 0 && done < p->total) {
        double s = (p->total - done) / rate;
        if (s < 120) snprintf(left, sizeof left, ", %.0f s left", s);
        else if (s < 7200) snprintf(left, sizeof left, ", %.0f min left", s / 60);
        else snprintf(left, sizeof left, ", %.1f h left", s / 3600);
    }
    fprintf(stderr, "\r%s: %d/%d images, %.0f images/s%s\033[K", p->name, done, p->total, rate, left);
    fflush(stderr);
}

void vggc_progress_update(vggc_progress *p, int done)
{
    double now = vggc_seconds();
    if (!p->on || now - p->last < INTERVAL) return;
    p->last = now;
    draw(p, done, now);
}

void vggc_progress_end(vggc_progress *p, int done)
{
    if (!p->on) return;
    draw(p, done, vggc_seconds());
    fputc('\n', stderr);
}
