/* job.c — images through a model a batch at a time. While the model runs batch b on the calling thread (with its
 * OpenMP threads), a pool of worker threads reads, decodes and preprocesses batch b + 1 into the other of two
 * input buffers; idle workers sleep on a condition variable, so they take no CPU from the model.
 *
 * The workers run at SCHED_IDLE (Linux): they take only CPU time the model leaves, so they never preempt one of
 * its OpenMP threads (a preempted thread holds every other thread at the next barrier: on 2 CPUs with --threads 2
 * that cost more than the decoding itself). Whatever of batch b + 1 is still undecoded when batch b is done, the
 * calling thread decodes itself beside the workers. Which thread decodes an image changes nothing in its tensor. */
#define _GNU_SOURCE /* SCHED_IDLE */
#include "vggc_host.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fileio.h"

/* One input buffer and what the workers found for its images. */
typedef struct {
    float *x;                /* (batch, c, h, w) */
    vggc_error *errs;        /* (batch) */
    unsigned char *failed;   /* (batch) */
} slots;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    const vggc_job *job;
    size_t in_floats;        /* c * h * w */
    slots *into;             /* the batch being prepared: images [first, first + count) of the list */
    int first, count, next, finished, quit;
} pool;

static void prepare(pool *p, const slots *s, int first, int slot)
{
    const vggc_job *j = p->job;
    const char *path = j->list->paths[first + slot];
    float *x = s->x + (size_t)slot * p->in_floats;
    vggc_image img;
    int rc = vggc_image_read(&img, path, j->pre.c, &s->errs[slot]);
    if (!rc) {
        rc = vggc_preprocess_image(x, &img, &j->pre, path, &s->errs[slot]);
        vggc_image_free(&img);
    }
    if (rc) memset(x, 0, sizeof *x * p->in_floats);
    s->failed[slot] = rc != 0;
}

/* With p->mu held: take the next image of the batch, prepare it without the lock, count it done. */
static void take_one(pool *p)
{
    int slot = p->next++, first = p->first;
    slots *s = p->into;
    pthread_mutex_unlock(&p->mu);
    prepare(p, s, first, slot);
    pthread_mutex_lock(&p->mu);
    if (++p->finished == p->count) pthread_cond_signal(&p->done);
}

static void *worker(void *arg)
{
    pool *p = arg;
#ifdef SCHED_IDLE
    const struct sched_param idle = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle); /* best effort: at worst it runs as before */
#endif
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->next >= p->count) pthread_cond_wait(&p->work, &p->mu);
        if (p->quit) break;
        take_one(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Hand images [first, first + count) to the workers, into s; the padding slots after them are zeros. */
static void submit(pool *p, slots *s, int first, int count)
{
    int batch = p->job->batch;
    memset(s->x + (size_t)count * p->in_floats, 0, sizeof *s->x * p->in_floats * (size_t)(batch - count));
    pthread_mutex_lock(&p->mu);
    p->into = s, p->first = first, p->count = count, p->next = p->finished = 0;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* The batch's images that no worker has taken yet, prepared by the calling thread; then wait for the others. */
static void wait_batch(pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->next < p->count) take_one(p);
    while (p->finished < p->count) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static int alloc_slots(slots *s, int batch, size_t in_floats)
{
    s->x = malloc(sizeof *s->x * in_floats * (size_t)batch);
    s->errs = malloc(sizeof *s->errs * (size_t)batch);
    s->failed = malloc((size_t)batch);
    return s->x && s->errs && s->failed ? 0 : -1;
}

static void free_slots(slots *s)
{
    free(s->x), free(s->errs), free(s->failed);
}

/* The results of one batch (images [first, first + count) of the list, prepared into s) into out. */
static int collect(const vggc_job *j, const slots *s, const float *logits, int first, int count, vggc_predictions *out)
{
    int failed = 0;
    for (int i = 0; i < count; i++) {
        if (!s->failed[i]) {
            vggc_predictions_set(out, first + i, logits + (size_t)i * (size_t)j->classes, j->classes);
            continue;
        }
        char line[sizeof s->errs[i].msg];
        if (j->progress && j->progress->on) fputs("\r\033[K", stderr);
        fprintf(stderr, "%s: %s\n", j->name, vggc_printable(line, sizeof line, s->errs[i].msg, sizeof line - 4));
        vggc_predictions_fail(out, first + i);
        failed++;
    }
    return failed;
}

/* Batches of the job, the next one prepared while the model runs this one. */
static int run_batches(const vggc_job *j, pool *p, slots *buf, float *logits, vggc_predictions *out)
{
    int batches = (j->count + j->batch - 1) / j->batch, failed = 0;
    if (batches > 0) submit(p, &buf[0], j->first, j->count < j->batch ? j->count : j->batch);
    for (int b = 0; b < batches; b++) {
        int first = j->first + b * j->batch, rest = j->first + j->count - first, n = rest < j->batch ? rest : j->batch;
        slots *s = &buf[b % 2];
        wait_batch(p);
        if (rest > n) submit(p, &buf[(b + 1) % 2], first + n, rest - n < j->batch ? rest - n : j->batch);
        j->forward(s->x, logits);
        failed += collect(j, s, logits, first, n, out);
        if (j->saved) memcpy(j->saved + (size_t)(first - j->first) * p->in_floats, s->x, sizeof *s->x * p->in_floats * (size_t)n);
        if (j->progress) vggc_progress_update(j->progress, first - j->first + n);
    }
    return failed;
}

static int start_workers(pool *p, pthread_t *threads, int n)
{
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i], NULL, worker, p) == 0) continue;
        return i;
    }
    return n;
}

static void stop_workers(pool *p, pthread_t *threads, int n)
{
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
}

int vggc_job_run(const vggc_job *j, vggc_predictions *out, vggc_error *err)
{
    pool p = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER,
              .job = j, .in_floats = (size_t)j->pre.c * (size_t)j->pre.h * (size_t)j->pre.w};
    slots buf[2] = {{0}, {0}};
    float *logits = malloc(sizeof *logits * (size_t)j->batch * (size_t)j->classes);
    pthread_t *threads = malloc(sizeof *threads * (size_t)(j->workers > 0 ? j->workers : 1));
    int rc = -1, started = 0;
    if (!logits || !threads || alloc_slots(&buf[0], j->batch, p.in_floats) || alloc_slots(&buf[1], j->batch, p.in_floats))
        vggc_fail(err, "--images", "out of memory for two batches of %d images", j->batch);
    else if ((started = start_workers(&p, threads, j->workers > 0 ? j->workers : 1)) == 0)
        vggc_fail(err, "--images", "cannot start a thread to decode images");
    else
        rc = run_batches(j, &p, buf, logits, out);
    stop_workers(&p, threads, started);
    free_slots(&buf[0]), free_slots(&buf[1]);
    free(logits), free(threads);
    return rc;
}
