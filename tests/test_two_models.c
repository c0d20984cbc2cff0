/* test_two_models.c — two generated classifiers in one program: vgg11_224 (generated/vgg11_224.c) and fashion_vgg
 * (vggc_add_classifier from models/fashion_vgg.lua, batch 4), both linked into this test. Every symbol their libraries
 * define carries the model's name, and the context API is reentrant: two threads running NAME_forward_ws on one model
 * at once, each with its own workspace and input, get bitwise the outputs one thread gets. */
#define _POSIX_C_SOURCE 200809L
#include "fashion_vgg.h"
#include "vgg11_224.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define THREADS 2

/* ---- symbols ------------------------------------------------------------------------------------------- */

/* Every global symbol the static library defines starts with prefix; there are at least NAME_forward, NAME_forward_ws
 * and NAME_model. Names starting with __ are the toolchain's (a sanitizer build adds __odr_asan.NAME_model). */
static void expect_prefixed_symbols(const char *library, const char *prefix)
{
    cmd_result r = run("'%s' -g --defined-only --format=posix '%s'", VGGC_NM, library);
    cr_assert_eq(r.status, 0, "nm %s failed: %s", library, r.err);
    int symbols = 0, strays = 0;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[strlen(line) - 1] == ':' || strncmp(line, "__", 2) == 0) continue; /* "lib.a[member.o]:" */
        symbols++;
        if (strncmp(line, prefix, strlen(prefix)) != 0) {
            strays++;
            cr_log_error("%s: '%s' does not start with %s", library, line, prefix);
        }
    }
    printf("%s: %d global symbols, %d without the prefix %s\n", library, symbols, strays, prefix);
    cmd_free(&r);
    cr_expect_geq(symbols, 3, "%s: %d global symbols (expected forward, forward_ws and model)", library, symbols);
    cr_expect_eq(strays, 0, "%s: %d global symbols lack the prefix %s", library, strays, prefix);
}

Test(two_models, every_global_symbol_of_both_libraries_starts_with_its_model_name)
{
    expect_prefixed_symbols(VGG11_LIBRARY, "vgg11_224_");
    expect_prefixed_symbols(FASHION_LIBRARY, "fashion_vgg_");
}

/* ---- reentrancy ---------------------------------------------------------------------------------------- */

typedef void forward_ws_fn(float *workspace, const float *input, float *output);

typedef struct {
    const char *name;
    forward_ws_fn *forward_ws;
    size_t workspace_floats, in_count, out_count;
} classifier;

/* One thread's share: iterations forward calls on its own input and workspace, each compared with want. */
typedef struct {
    const classifier *c;
    float *workspace;     /* (workspace_floats) */
    float *in;            /* (in_count) */
    float *out;           /* (out_count) */
    float *want;          /* (out_count) */
    pthread_barrier_t *start;
    int iterations;
    int differ;           /* calls whose output was not bitwise want */
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    size_t bytes = j->c->out_count * sizeof(float);
    pthread_barrier_wait(j->start);
    for (int it = 0; it < j->iterations; it++) {
        memset(j->out, 0xff, bytes); /* NaN: a call that writes nothing cannot pass */
        j->c->forward_ws(j->workspace, j->in, j->out);
        j->differ += memcmp(j->out, j->want, bytes) != 0;
    }
    return NULL;
}

/* n floats, 64-byte aligned, all NaN. */
static float *nan_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    cr_assert_not_null(p, "cannot allocate %zu bytes", bytes);
    memset(p, 0xff, bytes);
    return p;
}

/* Each thread t runs input t; want[t] is what one thread alone computed for it, beforehand. */
static void run_threads(const classifier *c, job jobs[THREADS])
{
    pthread_barrier_t start;
    pthread_t tid[THREADS];
    cr_assert_eq(pthread_barrier_init(&start, NULL, THREADS), 0, "pthread_barrier_init failed");
    for (int t = 0; t < THREADS; t++) {
        jobs[t].start = &start;
        cr_assert_eq(pthread_create(&tid[t], NULL, run_job, &jobs[t]), 0, "%s: pthread_create failed", c->name);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(tid[t], NULL);
    pthread_barrier_destroy(&start);
}

static void expect_reentrant(const classifier *c, int iterations)
{
    job jobs[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (job){.c = c, .workspace = nan_floats(c->workspace_floats), .in = nan_floats(c->in_count),
                        .out = nan_floats(c->out_count), .want = nan_floats(c->out_count), .iterations = iterations};
        fill_random(jobs[t].in, c->in_count, 1 + (unsigned)t, 1.0f);
        c->forward_ws(jobs[t].workspace, jobs[t].in, jobs[t].want);
    }
    cr_assert_neq(memcmp(jobs[0].want, jobs[1].want, c->out_count * sizeof(float)), 0,
                  "%s: two inputs give the same output: mixed-up threads would go unseen", c->name);
    run_threads(c, jobs);
    for (int t = 0; t < THREADS; t++) {
        printf("%s: thread %d: %d of %d forward_ws calls differ from one thread's output\n", c->name, t,
               jobs[t].differ, iterations);
        cr_expect_eq(jobs[t].differ, 0, "%s: thread %d: %d of %d outputs differ bitwise from one thread's", c->name,
                     t, jobs[t].differ, iterations);
        free(jobs[t].workspace);
        free(jobs[t].in);
        free(jobs[t].out);
        free(jobs[t].want);
    }
}

static void load(const vggc_model *m, const char *weights)
{
    vggc_error err;
    cr_assert_eq(vggc_load_safetensors(m, weights, VGGC_MATCH_BY_NAME, &err), 0, "%s", err.msg);
}

/* The exported VGG11 weights (531 MB) are removed even when the test fails. */
static char *dir;

static void remove_dir(void)
{
    if (dir) remove_tree(dir);
    free(dir);
}

Test(reentrant, vgg11_224_forward_ws_from_two_threads_at_once_is_bitwise_what_one_thread_gives, .fini = remove_dir)
{
    char weights[4200];
    dir = make_temp_dir("two-models");
    snprintf(weights, sizeof weights, "%s/vgg11.safetensors", dir);
    cmd_result r = run("'%s' '%s/tools/vggc_torch.py' export --torchvision vgg11 --seed 0 --weights '%s'", VGGC_PYTHON,
                       VGGC_SOURCE_DIR, weights);
    cr_assert_eq(r.status, 0, "exporting vgg11 with PyTorch (tools/vggc_torch.py) failed:\n%s", r.err);
    cmd_free(&r);
    load(&vgg11_224_model, weights);
    const classifier vgg11 = {"vgg11_224", vgg11_224_forward_ws, VGG11_224_WORKSPACE_FLOATS, VGG11_224_IN_COUNT,
                              VGG11_224_OUT_COUNT};
    expect_reentrant(&vgg11, 3);
}

Test(reentrant, fashion_vgg_forward_ws_from_two_threads_at_once_is_bitwise_what_one_thread_gives)
{
    load(&fashion_vgg_model, FASHION_WEIGHTS);
    const classifier fashion = {"fashion_vgg", fashion_vgg_forward_ws, FASHION_VGG_WORKSPACE_FLOATS,
                                FASHION_VGG_IN_COUNT, FASHION_VGG_OUT_COUNT};
    expect_reentrant(&fashion, 50); /* short calls: more of them, so the threads overlap */
}
