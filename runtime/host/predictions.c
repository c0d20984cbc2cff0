/* predictions.c — each image's top classes and softmax probabilities, and the class names of a labels file. */
#define _POSIX_C_SOURCE 200809L
#include "vggc_host.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../fileio.h"

int vggc_predictions_init(vggc_predictions *p, int n, int top, vggc_error *err)
{
    p->n = n, p->top = top;
    p->classes = malloc(sizeof *p->classes * (size_t)n * (size_t)top);
    p->scores = malloc(sizeof *p->scores * (size_t)n * (size_t)top);
    if (p->classes && p->scores) return 0;
    vggc_predictions_free(p);
    return vggc_fail(err, "predictions", "out of memory for %d rows", n);
}

void vggc_predictions_free(vggc_predictions *p)
{
    free(p->classes), free(p->scores);
    p->classes = NULL, p->scores = NULL;
}

void vggc_predictions_set(vggc_predictions *p, int i, const float *logits, int classes)
{
    double top = logits[0], sum = 0;
    for (int c = 1; c < classes; c++) top = logits[c] > top ? logits[c] : top;
    for (int c = 0; c < classes; c++) sum += exp((double)logits[c] - top);
    int32_t *cls = p->classes + (size_t)i * (size_t)p->top;
    for (int j = 0; j < p->top; j++) {
        int best = -1;
        for (int c = 0; c < classes; c++) {
            int taken = 0;
            for (int t = 0; t < j; t++) taken |= cls[t] == c;
            if (!taken && (best < 0 || logits[c] > logits[best])) best = c;
        }
        cls[j] = best;
        p->scores[(size_t)i * (size_t)p->top + (size_t)j] = (float)(exp((double)logits[best] - top) / sum);
    }
}

void vggc_predictions_fail(vggc_predictions *p, int i)
{
    for (int j = 0; j < p->top; j++) {
        p->classes[(size_t)i * (size_t)p->top + (size_t)j] = -1;
        p->scores[(size_t)i * (size_t)p->top + (size_t)j] = 0.0f;
    }
}

int vggc_labels_read(vggc_labels *l, const char *path, int classes, vggc_error *err)
{
    unsigned char *buf;
    size_t size;
    l->n = 0, l->names = NULL, l->text = NULL;
    if (vggc_read_file(path, &buf, &size, err)) return -1;
    int lines = 0;
    for (size_t i = 0; i < size; i++) lines += buf[i] == '\n';
    lines += size > 0 && buf[size - 1] != '\n';
    if (lines != classes) {
        free(buf);
        return vggc_fail(err, path, "%d labels (expected %d, one per line)", lines, classes);
    }
    char *grown = realloc(buf, size + 1);
    l->names = malloc(sizeof *l->names * (size_t)(classes ? classes : 1));
    if (!grown || !l->names) {
        free(grown ? (void *)grown : (void *)buf), free(l->names);
        l->names = NULL;
        return vggc_fail(err, path, "out of memory");
    }
    l->text = grown;
    l->text[size] = '\0';
    for (char *line = l->text; l->n < classes; l->n++) {
        char *end = line + strcspn(line, "\n"), *next = *end ? end + 1 : end;
        *end = '\0';
        if (end > line && end[-1] == '\r') end[-1] = '\0';
        l->names[l->n] = line;
        line = next;
    }
    return 0;
}

void vggc_labels_free(vggc_labels *l)
{
    free(l->names), free(l->text);
    l->names = NULL, l->text = NULL, l->n = 0;
}
