/* test_tiny_net.c — a small generated net ("4,L,M,6,5:1,M" with BatchNorm at 2x9x7, avgpool 3x2, one hidden
 * layer of 10, 5 classes, batch 2) against a naive forward pass written here from the unfolded weights, which the
 * net gets through vggc_load_safetensors_mem. Built once per conv algorithm (tiny_net.cmake): the same test runs
 * the automatic choice and every forced one. */
#include "tiny.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define N TINY_BATCH

/* The test's own copy of every tensor, in the manifest's order: the weights the naive pass reads. The net's
 * storage cannot stand in for them: a conv that runs on a prepared copy keeps no raw weight. */
static float *raw[64];

static float *tensor(const char *name)
{
    for (int i = 0; i < tiny_model.n_tensors; i++)
        if (strcmp(tiny_model.tensors[i].name, name) == 0) return raw[i];
    cr_assert_fail("the manifest has no tensor %s", name);
    return NULL;
}

/* Seeded values for every tensor (running_var kept positive), loaded into the net through a safetensors file
 * built in memory, as a user's would be: converted, folded and prepared by the loader. */
static void load_random_weights(void)
{
    char header[8192];
    cr_assert_leq(tiny_model.n_tensors, 64, "more tensors than the test keeps");
    size_t len = (size_t)snprintf(header, sizeof header, "{"), bytes = 0;
    for (int i = 0; i < tiny_model.n_tensors; i++) {
        const vggc_tensor *t = &tiny_model.tensors[i];
        raw[i] = malloc(sizeof(float) * (size_t)t->count);
        fill_random(raw[i], (size_t)t->count, 100u + (unsigned)i, 0.5f);
        if (strstr(t->name, "running_var"))
            for (int64_t j = 0; j < t->count; j++) raw[i][j] = fabsf(raw[i][j]) + 0.5f;
        len += (size_t)snprintf(header + len, sizeof header - len, "%s\"%s\": {\"dtype\": \"F32\", \"shape\": [",
                                i ? ", " : "", t->name);
        for (int d = 0; d < t->rank; d++)
            len += (size_t)snprintf(header + len, sizeof header - len, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        len += (size_t)snprintf(header + len, sizeof header - len, "], \"data_offsets\": [%zu, %zu]}", bytes,
                                bytes + sizeof(float) * (size_t)t->count);
        bytes += sizeof(float) * (size_t)t->count;
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "}");
    cr_assert_lt(len, sizeof header, "the header does not fit");
    unsigned char *file = malloc(8 + len + bytes), *at = file + 8 + len;
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)len >> (8 * i));
    memcpy(file + 8, header, len);
    for (int i = 0; i < tiny_model.n_tensors; i++) {
        memcpy(at, raw[i], sizeof(float) * (size_t)tiny_model.tensors[i].count);
        at += sizeof(float) * (size_t)tiny_model.tensors[i].count;
    }
    vggc_error err = {""};
    int rc = vggc_load_safetensors_mem(&tiny_model, file, 8 + len + bytes, VGGC_MATCH_BY_NAME, &err);
    free(file);
    cr_assert_eq(rc, 0, "load failed: %s", err.msg);
}

static void free_weights(void)
{
    for (int i = 0; i < tiny_model.n_tensors; i++) free(raw[i]);
}

/* conv k x k pad k/2 + bias, then BatchNorm (features.<bn>), then ReLU; one image */
static void naive_conv_bn_relu(double *out, const double *in, int cin, int h, int w, int cout, int k, int conv,
                               int bn)
{
    char name[64];
    snprintf(name, sizeof name, "features.%d.weight", conv);
    const float *wt = tensor(name);
    snprintf(name, sizeof name, "features.%d.bias", conv);
    const float *b = tensor(name);
    snprintf(name, sizeof name, "features.%d.weight", bn);
    const float *g = tensor(name);
    snprintf(name, sizeof name, "features.%d.bias", bn);
    const float *beta = tensor(name);
    snprintf(name, sizeof name, "features.%d.running_mean", bn);
    const float *mean = tensor(name);
    snprintf(name, sizeof name, "features.%d.running_var", bn);
    const float *var = tensor(name);
    for (int o = 0; o < cout; o++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double s = b[o];
                for (int c = 0; c < cin; c++)
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            int yy = y + i - k / 2, xx = x + j - k / 2;
                            if (yy >= 0 && yy < h && xx >= 0 && xx < w)
                                s += wt[((o * cin + c) * k + i) * k + j] * in[(c * h + yy) * w + xx];
                        }
                s = (s - mean[o]) / sqrt(var[o] + 1e-5) * g[o] + beta[o];
                out[(o * h + y) * w + x] = s > 0 ? s : 0;
            }
}

/* LocalResponseNorm(5, 1e-4, 0.75, 2) */
static void naive_lrn(double *out, const double *in, int c, int h, int w)
{
    for (int ch = 0; ch < c; ch++)
        for (int p = 0; p < h * w; p++) {
            double sum = 0;
            for (int q = ch - 2; q <= ch + 2; q++)
                if (q >= 0 && q < c) sum += in[q * h * w + p] * in[q * h * w + p];
            out[ch * h * w + p] = in[ch * h * w + p] / pow(2.0 + 1e-4 / 5 * sum, 0.75);
        }
}

static void naive_maxpool(double *out, const double *in, int c, int h, int w)
{
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < h / 2; y++)
            for (int x = 0; x < w / 2; x++) {
                const double *p = in + (ch * h + 2 * y) * w + 2 * x;
                out[(ch * (h / 2) + y) * (w / 2) + x] = fmax(fmax(p[0], p[1]), fmax(p[w], p[w + 1]));
            }
}

static void naive_avgpool(double *out, const double *in, int c, int h, int w, int oh, int ow)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                int y0 = i * h / oh, y1 = ((i + 1) * h + oh - 1) / oh;
                int x0 = j * w / ow, x1 = ((j + 1) * w + ow - 1) / ow;
                double s = 0;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) s += in[(ch * h + y) * w + x];
                out[(ch * oh + i) * ow + j] = s / ((y1 - y0) * (x1 - x0));
            }
}

static void naive_linear(double *out, const double *in, int in_f, int out_f, int index, int relu)
{
    char name[64];
    snprintf(name, sizeof name, "classifier.%d.weight", index);
    const float *wt = tensor(name);
    snprintf(name, sizeof name, "classifier.%d.bias", index);
    const float *b = tensor(name);
    for (int o = 0; o < out_f; o++) {
        double s = b[o];
        for (int i = 0; i < in_f; i++) s += wt[o * in_f + i] * in[i];
        out[o] = relu && s < 0 ? 0 : s;
    }
}

/* features: conv 2->4 +bn (0,1) relu, LRN (3), maxpool (4), conv 4->6 +bn (5,6), conv1x1 6->5 +bn (8,9), maxpool (11) */
static void naive_forward(float *y, const float *x)
{
    double a[6 * 9 * 7], b[6 * 9 * 7];
    for (int n = 0; n < N; n++) {
        for (int i = 0; i < 2 * 9 * 7; i++) a[i] = x[n * 2 * 9 * 7 + i];
        naive_conv_bn_relu(b, a, 2, 9, 7, 4, 3, 0, 1);
        naive_lrn(a, b, 4, 9, 7);
        naive_maxpool(b, a, 4, 9, 7);
        naive_conv_bn_relu(a, b, 4, 4, 3, 6, 3, 5, 6);
        naive_conv_bn_relu(b, a, 6, 4, 3, 5, 1, 8, 9);
        naive_maxpool(a, b, 5, 4, 3);
        naive_avgpool(b, a, 5, 2, 1, 3, 2);
        naive_linear(a, b, 30, 10, 0, 1);
        naive_linear(b, a, 10, 5, 3, 0);
        for (int i = 0; i < 5; i++) y[n * 5 + i] = (float)b[i];
    }
}

Test(tiny_net, generated_forward_matches_a_naive_forward_pass_written_by_hand)
{
    float x[TINY_IN_COUNT], want[TINY_OUT_COUNT], got[TINY_OUT_COUNT];
    fill_random(x, TINY_IN_COUNT, 7, 2.0f);
    load_random_weights();
    naive_forward(want, x);
    tiny_forward(x, got);
    free_weights();
    expect_close("tiny forward vs naive", got, want, TINY_OUT_COUNT, 1e-4, 1e-5);
}

Test(tiny_net, forward_with_a_caller_workspace_gives_the_same_bits_as_the_static_one)
{
    float x[TINY_IN_COUNT], y1[TINY_OUT_COUNT], y2[TINY_OUT_COUNT];
    static float ws[TINY_WORKSPACE_FLOATS];
    fill_random(x, TINY_IN_COUNT, 8, 1.0f);
    load_random_weights();
    tiny_forward(x, y1);
    tiny_forward_ws(ws, x, y2);
    free_weights();
    cr_assert(memcmp(y1, y2, sizeof y1) == 0, "forward_ws differs from forward");
}

Test(tiny_net, manifest_lists_every_tensor_with_torch_names_and_counts_params)
{
    int64_t params = 0;
    for (int i = 0; i < tiny_model.n_tensors; i++)
        if (tiny_model.tensors[i].is_param) params += tiny_model.tensors[i].count;
    cr_assert_eq(params, TINY_PARAMS);
    cr_assert_eq(tiny_model.n_folds, 3, "three convs, three BatchNorms to fold");
    cr_assert_str_eq(tiny_model.tensors[0].name, "features.0.weight");
    cr_assert_str_eq(tiny_model.tensors[tiny_model.n_tensors - 1].name, "classifier.3.bias");
    cr_assert_eq(tiny_model.batch, 2);
}

Test(tiny_net, a_conv_on_a_prepared_copy_stores_no_raw_weight_and_every_other_tensor_has_storage)
{
    int prepared[64] = {0};
    for (int j = 0; j < tiny_model.n_prepares; j++) {
        const vggc_prepare *p = &tiny_model.prepares[j];
        cr_assert(p->tensor >= 0 && p->tensor < tiny_model.n_tensors, "prepare %d names tensor %d", j, p->tensor);
        prepared[p->tensor] = 1;
        cr_expect_null(tiny_model.tensors[p->tensor].data, "%s is stored beside its prepared copy",
                       tiny_model.tensors[p->tensor].name);
        cr_expect(strstr(tiny_model.tensors[p->tensor].name, ".weight") != NULL, "prepare %d is not from a weight", j);
    }
    for (int i = 0; i < tiny_model.n_tensors; i++)
        if (!prepared[i]) cr_expect_not_null(tiny_model.tensors[i].data, "%s has no storage", tiny_model.tensors[i].name);
}
