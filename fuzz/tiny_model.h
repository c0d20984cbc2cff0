/* tiny_model.h — the manifest of a tiny vgg11_bn-like model to load arbitrary safetensors bytes into: one 3x3 conv
 * 3 -> 4 with BatchNorm (folded at load time) and one linear 4 -> 2. fuzz_safetensors.c fuzzes the loader with it,
 * tests/test_regressions.c replays the findings into it, and make_seeds.py writes valid files for exactly these
 * names and shapes. Definitions, not declarations: include it in one file of a program. */
#ifndef VGGC_TINY_MODEL_H
#define VGGC_TINY_MODEL_H

#include "vggc.h"

static float conv_w[4 * 3 * 3 * 3], conv_b[4];  /* (4, 3, 3, 3), (4) */
static float bn_g[4], bn_b[4], bn_m[4], bn_v[4]; /* (4) each */
static float fc_w[2 * 4], fc_b[2];               /* (2, 4), (2) */

static const vggc_tensor tiny_tensors[] = {
    {"features.0.weight", conv_w, 4, {4, 3, 3, 3}, 108, 1},
    {"features.0.bias", conv_b, 1, {4}, 4, 1},
    {"features.1.weight", bn_g, 1, {4}, 4, 1},
    {"features.1.bias", bn_b, 1, {4}, 4, 1},
    {"features.1.running_mean", bn_m, 1, {4}, 4, 0},
    {"features.1.running_var", bn_v, 1, {4}, 4, 0},
    {"classifier.0.weight", fc_w, 2, {2, 4}, 8, 1},
    {"classifier.0.bias", fc_b, 1, {2}, 2, 1},
};
#define TINY_TENSORS ((int)(sizeof tiny_tensors / sizeof tiny_tensors[0]))

static const vggc_bn_fold tiny_folds[] = {
    {conv_w, conv_b, bn_g, bn_b, bn_m, bn_v, 4, 27, 1e-5f},
};

static const vggc_model tiny_model = {
    .name = "tiny_vgg", .tensors = tiny_tensors, .n_tensors = TINY_TENSORS, .folds = tiny_folds, .n_folds = 1,
    .batch = 1, .in_c = 3, .in_h = 4, .in_w = 4, .classes = 2, .params = 108 + 4 + 8 + 8 + 2,
    .prepares = NULL, .n_prepares = 0,
};

#endif
