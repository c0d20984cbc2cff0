/* classify.c — run a vggc-generated classifier on one image and print the top 5 classes.
 *
 *   classify --weights W.safetensors [--labels FILE] [--mean M[,M,M]] [--std S[,S,S]] IMAGE.pgm|IMAGE.ppm
 *
 * Built with embedded weights (-DCLASSIFY_WEIGHTS=...), --weights is optional and overrides them.
 * The image (binary PGM P5 or PPM P6, 8 or 16 bit) is resized to the model's input (bilinear, half-pixel
 * centers as PIL and torch), converted to the model's channels (gray <-> RGB), scaled to [0, 1] and normalized
 * per channel: (x - mean) / std. Errors are one line on stderr and exit status 1. */
#include "net.h"
#ifdef CLASSIFY_EMBEDDED_WEIGHTS
#include "net_weights.h"
#define WEIGHTS_REQUIRED 0
#else
#define WEIGHTS_REQUIRED 1
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 5

typedef struct {
    int w, h, c;  /* c is 1 (PGM) or 3 (PPM) */
    float *px;    /* (h, w, c) in [0, 1] */
} image;

typedef struct {
    const char *weights, *labels, *image;
    float mean[NET_IN_C], std[NET_IN_C];
} options;

static char failure[600];

static int fail(const char *where, const char *what)
{
    snprintf(failure, sizeof failure, "classify: %s: %s", where, what);
    return -1;
}

/* ---- images ------------------------------------------------------------------------------------------ */

/* The next header number of a PNM file, skipping whitespace and # comments; -1 if there is none. */
static long pnm_number(FILE *f)
{
    int ch = fgetc(f);
    while (ch == '#' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
        if (ch == '#')
            while (ch != '\n' && ch != EOF) ch = fgetc(f);
        ch = fgetc(f);
    }
    long v = -1;
    for (; ch >= '0' && ch <= '9' && v < 1000000; ch = fgetc(f)) v = (v < 0 ? 0 : v * 10) + (ch - '0');
    return v;  /* the one whitespace after the last number (before the pixels) is consumed here */
}

static int read_pixels(FILE *f, image *im, long maxval, const char *path)
{
    size_t n = (size_t)im->w * (size_t)im->h * (size_t)im->c, bytes = maxval > 255 ? 2 : 1;
    unsigned char *raw = malloc(n * bytes);
    im->px = malloc(n * sizeof *im->px);
    if (!raw || !im->px) {
        free(raw);
        return fail(path, "out of memory");
    }
    if (fread(raw, bytes, n, f) != n) {
        free(raw);
        return fail(path, "truncated pixel data");
    }
    for (size_t i = 0; i < n; i++) {
        long v = bytes == 2 ? raw[2 * i] << 8 | raw[2 * i + 1] : raw[i];
        im->px[i] = (float)(v > maxval ? maxval : v) / (float)maxval;
    }
    free(raw);
    return 0;
}

static int read_image(const char *path, image *im)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fail(path, strerror(errno));
    char magic[2] = {0};
    int rc;
    if (fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || (magic[1] != '5' && magic[1] != '6')) {
        rc = fail(path, "not a binary PGM (P5) or PPM (P6) image");
    } else {
        im->c = magic[1] == '5' ? 1 : 3;
        long w = pnm_number(f), h = pnm_number(f), maxval = pnm_number(f);
        if (w < 1 || h < 1 || w > 65535 || h > 65535 || maxval < 1 || maxval > 65535)
            rc = fail(path, "bad header (expected width, height and maxval 1..65535)");
        else {
            im->w = (int)w;
            im->h = (int)h;
            rc = read_pixels(f, im, maxval, path);
        }
    }
    fclose(f);
    return rc;
}

/* Bilinear sample of channel ch at output pixel (y, x) of an oh x ow resize, half-pixel centers. */
static float bilinear(const image *im, int ch, int y, int x, int oh, int ow)
{
    float sy = ((float)y + 0.5f) * (float)im->h / (float)oh - 0.5f;
    float sx = ((float)x + 0.5f) * (float)im->w / (float)ow - 0.5f;
    sy = sy < 0 ? 0 : sy;
    sx = sx < 0 ? 0 : sx;
    int y0 = (int)sy, x0 = (int)sx;
    int y1 = y0 + 1 < im->h ? y0 + 1 : y0, x1 = x0 + 1 < im->w ? x0 + 1 : x0;
    float fy = sy - (float)y0, fx = sx - (float)x0;
#define PX(yy, xx) im->px[((size_t)(yy) * (size_t)im->w + (size_t)(xx)) * (size_t)im->c + (size_t)ch]
    float top = PX(y0, x0) * (1 - fx) + PX(y0, x1) * fx, bottom = PX(y1, x0) * (1 - fx) + PX(y1, x1) * fx;
#undef PX
    return top * (1 - fy) + bottom * fy;
}

/* The model's input (1, NET_IN_C, NET_IN_H, NET_IN_W) from the image: resize, convert channels, normalize. */
static void to_input(float *in, const image *im, const options *o)
{
    for (int y = 0; y < NET_IN_H; y++)
        for (int x = 0; x < NET_IN_W; x++) {
            float rgb[3];
            for (int ch = 0; ch < im->c; ch++) rgb[ch] = bilinear(im, ch, y, x, NET_IN_H, NET_IN_W);
            float gray = im->c == 1 ? rgb[0] : 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
            for (int c = 0; c < NET_IN_C; c++) {
                float v = NET_IN_C == 3 && im->c == 3 ? rgb[c] : gray;
                in[((size_t)c * NET_IN_H + (size_t)y) * NET_IN_W + (size_t)x] = (v - o->mean[c]) / o->std[c];
            }
        }
}

/* ---- labels and results ------------------------------------------------------------------------------ */

/* Line i of the labels file into names[i] (at most NET_CLASSES); names not given stay NULL. */
static int read_labels(const char *path, char *names[NET_CLASSES])
{
    FILE *f = fopen(path, "r");
    if (!f) return fail(path, strerror(errno));
    char line[256];
    for (int i = 0; i < NET_CLASSES && fgets(line, sizeof line, f); i++) {
        line[strcspn(line, "\r\n")] = 0;
        names[i] = malloc(strlen(line) + 1);
        if (names[i]) strcpy(names[i], line);
    }
    fclose(f);
    return 0;
}

static void print_top(const float *logits, char *names[NET_CLASSES])
{
    double max = logits[0], sum = 0;
    for (int i = 1; i < NET_CLASSES; i++) max = logits[i] > max ? logits[i] : max;
    for (int i = 0; i < NET_CLASSES; i++) sum += exp(logits[i] - max);
    int used[NET_CLASSES] = {0};
    for (int k = 0; k < TOP && k < NET_CLASSES; k++) {
        int best = -1;
        for (int i = 0; i < NET_CLASSES; i++)
            if (!used[i] && (best < 0 || logits[i] > logits[best])) best = i;
        used[best] = 1;
        char fallback[32];
        snprintf(fallback, sizeof fallback, "class %d", best);
        printf("%7.3f%%  %s\n", 100.0 * exp(logits[best] - max) / sum, names[best] ? names[best] : fallback);
    }
}

/* ---- options ----------------------------------------------------------------------------------------- */

/* One value for every channel, or one per channel: "0.5" or "0.485,0.456,0.406". */
static int parse_floats(const char *flag, const char *text, float *v, int positive)
{
    int n = 0;
    for (const char *p = text;; p++) {
        char *end;
        float x = strtof(p, &end);
        if (end == p || !isfinite(x) || (positive && x <= 0) || n == NET_IN_C || (*end && *end != ',')) {
            n = -1;
            break;
        }
        v[n++] = x;
        if (!*end) break;
        p = end;
    }
    if (n != 1 && n != NET_IN_C)
        return fail(flag, "expected one number or one per channel, comma-separated (std > 0)");
    for (int i = n; i < NET_IN_C; i++) v[i] = v[0];
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    for (int c = 0; c < NET_IN_C; c++) o->mean[c] = o->std[c] = 0.5f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--weights") && has_value) o->weights = argv[++i];
        else if (!strcmp(a, "--labels") && has_value) o->labels = argv[++i];
        else if (!strcmp(a, "--mean") && has_value) {
            if (parse_floats("--mean", argv[++i], o->mean, 0)) return -1;
        } else if (!strcmp(a, "--std") && has_value) {
            if (parse_floats("--std", argv[++i], o->std, 1)) return -1;
        } else if (a[0] == '-' && a[1]) return fail(a, "unknown option or missing value");
        else if (o->image) return fail(a, "only one image at a time");
        else o->image = a;
    }
    if ((WEIGHTS_REQUIRED && !o->weights) || !o->image)
        return fail("usage", "classify --weights W.safetensors [--labels FILE] [--mean M] [--std S] IMAGE.pgm|.ppm");
    return 0;
}

/* From the file when one is given, else from the weights built into the program. */
static int load_weights(const char *path, vggc_error *err)
{
#ifdef CLASSIFY_EMBEDDED_WEIGHTS
    if (!path) return vggc_load_safetensors_mem(&net_model, net_weights_data, net_weights_size, VGGC_MATCH_BY_NAME, err);
#endif
    return vggc_load_safetensors(&net_model, path, VGGC_MATCH_BY_NAME, err);
}

static int classify(const options *o)
{
    char *names[NET_CLASSES] = {0};
    image im = {0};
    vggc_error err;
    static float input[NET_IN_COUNT], output[NET_OUT_COUNT];
    int rc = -1;
    if (load_weights(o->weights, &err)) fail("--weights", err.msg);
    else if (o->labels && read_labels(o->labels, names)) {
    } else if (read_image(o->image, &im)) {
    } else {
        to_input(input, &im, o);  /* batch > 1: every image of the batch is this one */
        for (int b = 1; b < NET_BATCH; b++) memcpy(input + (size_t)b * NET_IN_COUNT / NET_BATCH, input,
                                                   sizeof(float) * NET_IN_COUNT / NET_BATCH);
        net_forward(input, output);
        print_top(output, names);
        rc = 0;
    }
    free(im.px);
    for (int i = 0; i < NET_CLASSES; i++) free(names[i]);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {0};
    if (parse_args(argc, argv, &o) || classify(&o)) {
        fprintf(stderr, "%s\n", failure);
        return 1;
    }
    return 0;
}
