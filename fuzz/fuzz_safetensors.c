/* fuzz_safetensors.c — libFuzzer target: vggc_load_safetensors_mem on arbitrary bytes, by name and by order.
 *
 * The manifest is a tiny vgg11_bn-like model: one 3x3 conv 3 -> 4 with BatchNorm (folded at load time) and one
 * linear 4 -> 2. make_seeds.py writes valid files for exactly these names and shapes.
 * Build and run with fuzz/run; not part of the default build.
 */
#include "vggc.h"
#include "check_error.h"

#include <stdlib.h>
#include <string.h>

static float conv_w[4 * 3 * 3 * 3], conv_b[4];           /* (4, 3, 3, 3), (4) */
static float bn_g[4], bn_b[4], bn_m[4], bn_v[4];          /* (4) each */
static float fc_w[2 * 4], fc_b[2];                        /* (2, 4), (2) */

static const vggc_tensor tensors[] = {
    {"features.0.weight", conv_w, 4, {4, 3, 3, 3}, 108, 1},
    {"features.0.bias", conv_b, 1, {4}, 4, 1},
    {"features.1.weight", bn_g, 1, {4}, 4, 1},
    {"features.1.bias", bn_b, 1, {4}, 4, 1},
    {"features.1.running_mean", bn_m, 1, {4}, 4, 0},
    {"features.1.running_var", bn_v, 1, {4}, 4, 0},
    {"classifier.0.weight", fc_w, 2, {2, 4}, 8, 1},
    {"classifier.0.bias", fc_b, 1, {2}, 2, 1},
};

static const vggc_bn_fold folds[] = {
    {conv_w, conv_b, bn_g, bn_b, bn_m, bn_v, 4, 27, 1e-5f},
};

static const vggc_model model = {
    "fuzz_vgg", tensors, (int)(sizeof tensors / sizeof tensors[0]), folds, 1, 1, 3, 4, 4, 2, 108 + 4 + 8 + 8 + 2, NULL, 0,
};

static void load_once(const uint8_t *data, size_t size, int match)
{
    vggc_error err;
    memset(err.msg, 'X', sizeof err.msg); /* poison: a message not written or not terminated shows up */
    if (vggc_load_safetensors_mem(&model, data, size, match, &err) != 0) check_error(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_once(data, size, VGGC_MATCH_BY_NAME);
    load_once(data, size, VGGC_MATCH_BY_ORDER);
    return 0;
}
