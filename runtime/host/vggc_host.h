/* vggc_host.h — what a runner on a host computer adds to the runtime to classify a dataset: images in (PNG and
 * JPEG through libpng and libjpeg-turbo, binary PGM/PPM), torchvision's preprocessing, a walk of folders, the
 * classification job in batches with decoding overlapped, a predictions table out (CSV or JSON) and a progress line.
 *
 * Host-only (libvggc_host.a, runtime/host/): these files malloc, use stdio, threads and the file system, and link
 * libpng, libjpeg and pthreads. Firmware links only the runtime (vggc.h). Errors are as in vggc.h: -1 and a
 * one-line vggc_error "<where>: <what>". Nothing here calls exit().
 */
#ifndef VGGC_HOST_H
#define VGGC_HOST_H

#include <stdint.h>

#include "vggc.h"

/* ---- images: decoding ---------------------------------------------------------------------------------- */

/* An 8-bit image in rows of pixels. */
typedef struct {
    int w, h, channels;      /* channels: 1 (gray) or 3 (RGB) */
    unsigned char *pixels;   /* (h, w, channels), malloc'ed */
} vggc_image;

/* The most pixels an image may have (Pillow's DecompressionBombError limit): a larger one is refused before
 * its pixels are decoded. */
#define VGGC_IMAGE_MAX_PIXELS 178956970LL

/* Decode data (a whole file; the format is found from its first bytes: PNG, JPEG, binary PGM P5 or PPM P6) into
 * img with `channels` (1 or 3) channels, as Pillow's Image.open(...).convert("L" or "RGB") gives them: gray
 * from RGB as ITU-R 601-2 luma, alpha dropped, palettes expanded, 16-bit samples cut to their high byte. EXIF
 * orientation is not applied (Pillow and torchvision's loaders do not either). where names the file in err. */
int vggc_image_decode(vggc_image *img, const unsigned char *data, size_t size, int channels, const char *where,
                      vggc_error *err);
/* The same, reading the file at path first. */
int vggc_image_read(vggc_image *img, const char *path, int channels, vggc_error *err);
void vggc_image_free(vggc_image *img);

/* ---- images: preprocessing ----------------------------------------------------------------------------- */

enum { VGGC_PREPROCESS_NONE = 0, VGGC_PREPROCESS_IMAGENET = 1 };

typedef struct {
    int kind;              /* VGGC_PREPROCESS_NONE or VGGC_PREPROCESS_IMAGENET */
    int c, h, w;           /* the model's input: c is 1 or 3 */
    float mean[3], std[3]; /* per channel: x = (pixel / 255 - mean) / std */
} vggc_preprocess;

/* kind with its defaults: none has mean 0 and std 1, imagenet ImageNet's (0.485, 0.456, 0.406) and (0.229, 0.224,
 * 0.225), the first for a 1-channel model. */
void vggc_preprocess_init(vggc_preprocess *p, int kind, int c, int h, int w);

/* The model's input for one image, as torchvision computes it in float32:
 *   none:     the image must be the model's size; ToTensor (/255), Normalize(mean, std).
 *   imagenet: Resize(256) (the shorter side to 256 with Pillow's antialiased bilinear filter), CenterCrop(h, w)
 *             (zero padding where the crop is larger than the image, as torchvision pads), ToTensor, Normalize.
 * img has p->c channels. -1 with err set (where names the image) when the size does not fit or memory runs out. */
int vggc_preprocess_image(float *out,            /* (c, h, w) */
                          const vggc_image *img, const vggc_preprocess *p, const char *where, vggc_error *err);

/* Pillow's Image.resize((w, h), Image.BILINEAR) on 8-bit images: a triangle filter widened by the scale when
 * shrinking (antialiased), coefficients in 22-bit fixed point, a horizontal pass then a vertical one, each
 * rounded to 8 bits, so the pixels are Pillow's. out is allocated. */
int vggc_resize_bilinear(vggc_image *out, const vggc_image *in, int w, int h, vggc_error *err);

/* ---- the images of a job ------------------------------------------------------------------------------- */

typedef struct {
    int n;
    char **paths;          /* (n), each malloc'ed */
} vggc_image_list;

/* The images named by paths[0..count): a file is taken as it is (its format is found from its content); a folder
 * is walked recursively, the entries of each folder in byte order of their names, taking the files whose names
 * end in .png .jpg .jpeg .pgm .ppm (any case) and ignoring the others; links to folders are not followed.
 * -1 with err set ("<path>: ...") when a path does not exist, a folder cannot be read, or no image is found. */
int vggc_list_images(vggc_image_list *list, char *const *paths, int count, vggc_error *err);
void vggc_image_list_free(vggc_image_list *list);

/* ---- predictions ---------------------------------------------------------------------------------------- */

/* The top classes of n images: for image i, classes[i * top + j] is its (j + 1)-th class (0-based, the first the
 * argmax; ties go to the lower index) and scores[i * top + j] that class's softmax probability; an image that
 * could not be read has class -1 and score 0 in every column. */
typedef struct {
    int n, top;
    int32_t *classes;      /* (n, top) */
    float *scores;         /* (n, top) */
} vggc_predictions;

int vggc_predictions_init(vggc_predictions *p, int n, int top, vggc_error *err);
void vggc_predictions_free(vggc_predictions *p);
/* Row i from the logits of one image: the top classes and their softmax probabilities (in double). */
void vggc_predictions_set(vggc_predictions *p, int i, const float *logits, int classes);
/* Row i marked as an image that could not be read. */
void vggc_predictions_fail(vggc_predictions *p, int i);

/* Class names from a text file, one per line (a final newline is optional; a "\r" before it is dropped). */
typedef struct {
    int n;
    char **names;          /* (n), pointing into text */
    char *text;
} vggc_labels;

/* -1 with err set unless the file has exactly `classes` lines. */
int vggc_labels_read(vggc_labels *l, const char *path, int classes, vggc_error *err);
void vggc_labels_free(vggc_labels *l);

/* ---- the predictions table ----------------------------------------------------------------------------- */

enum { VGGC_TABLE_CSV = 0, VGGC_TABLE_JSON = 1 };

/* The format a table path asks for by its extension (.csv or .json, any case), or -1 with err set. */
int vggc_table_format(const char *path, vggc_error *err);
/* Whether the table can be written at path, checked before any work: its extension, and that a file can be
 * created beside it and path is neither a directory nor a read-only file. 0, or -1 with err set. */
int vggc_table_check_output(const char *path, vggc_error *err);
/* The table of list and p in input order. CSV: a header "path,class,label,score" (then "class2,label2,score2"
 * and so on up to p->top), fields quoted as RFC 4180 asks, scores as %.6f, an unread image with empty class,
 * label and score. JSON: an array with one object per image, the same keys, null for what is missing. labels may
 * be NULL (labels empty or null). path NULL writes CSV to stdout; otherwise the file is written to a temporary
 * name beside it and renamed into place. */
int vggc_table_write(const char *path, const vggc_image_list *list, const vggc_predictions *p,
                     const vggc_labels *labels, vggc_error *err);

/* ---- progress on a terminal ---------------------------------------------------------------------------- */

typedef struct {
    int on;                /* 1 when stderr is a terminal and the job wants progress */
    int total;
    double start, last;    /* seconds, monotonic */
    const char *name;      /* the runner's name, the line's prefix */
} vggc_progress;

/* on = 1 asks for progress; it is shown only when stderr is a terminal. */
void vggc_progress_start(vggc_progress *p, const char *name, int total, int on);
/* "\r<name>: 1200/10000 images, 850 images/s, 10 s left", at most about 4 times a second. */
void vggc_progress_update(vggc_progress *p, int done);
/* The last update, then a newline. */
void vggc_progress_end(vggc_progress *p, int done);
/* Seconds on a monotonic clock. */
double vggc_seconds(void);

/* ---- the classification job ---------------------------------------------------------------------------- */

/* A generated model's forward pass: in (batch, c, h, w), out (batch, classes). */
typedef void (*vggc_forward_fn)(const float *in, float *out);

typedef struct {
    const char *name;             /* the runner's name, the prefix of its stderr lines */
    const vggc_image_list *list;
    int first, count;             /* the images [first, first + count) of list go through the model */
    int batch, classes;           /* the model's */
    vggc_preprocess pre;
    vggc_forward_fn forward;
    int workers;                  /* threads that decode and preprocess while the model runs (>= 1) */
    float *saved;                 /* NULL, or (count, c, h, w): each image's tensor as the model received it */
    vggc_progress *progress;      /* NULL for none */
} vggc_job;

/* Run the images through the model job->batch at a time, filling rows [first, first + count) of out (which holds
 * the whole list). The workers decode and preprocess the next batch while the model runs this one. An image that
 * cannot be read, decoded or preprocessed gets one line on stderr, "<name>: <path>: <reason>", its row marked, and
 * zeros in the batch; the others go on. Returns the number of such images, or -1 with err set when the job itself
 * cannot run (out of memory, no threads). */
int vggc_job_run(const vggc_job *job, vggc_predictions *out, vggc_error *err);

#endif
