/* test_report.c — `vggc report`: the numbers people check a VGG against (params, MACs, per-layer shapes), the
 * three renderings (text, Markdown, JSON), models given as inline lists and Lua files, and the --help/--version
 * screens. Expected values are torchvision's (sum(p.numel() for p in model.parameters())) or worked by hand. */
#define _POSIX_C_SOURCE 200809L
#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------------------------------------- */

/* stdout of `vggc ARGS`, which must exit 0 with nothing on stderr. */
static char *vggc_ok(const char *args)
{
    cmd_result r = run("'%s' %s", VGGC_EXE, args);
    cr_assert_eq(r.status, 0, "`vggc %s` exited %d; stderr:\n%s", args, r.status, r.err);
    cr_assert_str_empty(r.err, "`vggc %s` wrote to stderr:\n%s", args, r.err);
    free(r.err);
    return r.out;
}

/* stdout of `vggc report MODEL_AND_OPTIONS --json` */
static char *report_json(const char *args)
{
    char line[8192];
    snprintf(line, sizeof line, "report %s --json", args);
    return vggc_ok(line);
}

/* Number of times needle occurs in text. */
static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Sum of every integer following `"key": ` (e.g. every layer's "params"). */
static long long sum_of(const char *doc, const char *key)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    long long sum = 0;
    for (const char *p = strstr(doc, pattern); p; p = strstr(p + 1, pattern))
        sum += strtoll(p + strlen(pattern), NULL, 10);
    return sum;
}

/* Every layer's "out" array in order, as "64x224x224 64x112x112 ... 1000" (malloc'ed). */
static char *out_shapes(const char *doc)
{
    size_t cap = strlen(doc) + 1, len = 0;
    char *list = calloc(cap, 1);
    for (const char *p = strstr(doc, "\"out\": ["); p; p = strstr(p + 1, "\"out\": [")) {
        const char *q = p + strlen("\"out\": [");
        if (len > 0) list[len++] = ' ';
        for (;;) {
            char *end;
            long v = strtol(q, &end, 10);
            cr_assert_neq(end, q, "an \"out\" array that is not a list of integers near: %.40s", p);
            len += (size_t)snprintf(list + len, cap - len, "%ld", v);
            q = end;
            if (strncmp(q, ", ", 2) != 0) break;
            list[len++] = 'x';
            q += 2;
        }
        cr_assert_eq(*q, ']', "an \"out\" array that does not close near: %.40s", p);
    }
    return list;
}

static void expect_params(const char *args, long long want)
{
    char *doc = report_json(args);
    cr_expect_eq(json_int(doc, "total_params"), want, "`vggc report %s`: total_params %lld, want %lld", args,
                 json_int(doc, "total_params"), want);
    free(doc);
}

static void expect_macs(const char *args, long long want)
{
    char *doc = report_json(args);
    cr_expect_eq(json_int(doc, "total_macs"), want, "`vggc report %s`: total_macs %lld, want %lld", args,
                 json_int(doc, "total_macs"), want);
    free(doc);
}

static void expect_shapes(const char *args, const char *want)
{
    char *doc = report_json(args);
    char *got = out_shapes(doc);
    cr_expect_str_eq(got, want, "`vggc report %s`: layer outputs\n got: %s\nwant: %s", args, got, want);
    free(got);
    free(doc);
}

/* ---- parameter counts: torchvision's presets and the paper's configurations ------------------------------ */

Test(report, vgg11_at_224_has_132863336_params) { expect_params("vgg11 --input 3x224x224", 132863336); }
Test(report, vgg13_at_224_has_133047848_params) { expect_params("vgg13 --input 3x224x224", 133047848); }
Test(report, vgg16_at_224_has_138357544_params) { expect_params("vgg16 --input 3x224x224", 138357544); }
Test(report, vgg19_at_224_has_143667240_params) { expect_params("vgg19 --input 3x224x224", 143667240); }
Test(report, vgg11_bn_at_224_has_132868840_params) { expect_params("vgg11_bn --input 3x224x224", 132868840); }
Test(report, vgg13_bn_at_224_has_133053736_params) { expect_params("vgg13_bn --input 3x224x224", 133053736); }
Test(report, vgg16_bn_at_224_has_138365992_params) { expect_params("vgg16_bn --input 3x224x224", 138365992); }
Test(report, vgg19_bn_at_224_has_143678248_params) { expect_params("vgg19_bn --input 3x224x224", 143678248); }
Test(report, the_papers_config_c_with_1x1_convs_has_133638952_params) { expect_params("C", 133638952); }
Test(report, torchvisions_resnet18_has_11689512_params) { expect_params("resnet18", 11689512); }
Test(report, torchvisions_googlenet_without_its_aux_heads_has_6624904_params) { expect_params("googlenet", 6624904); }
Test(report, resnet18_at_224_has_1814073344_macs) { expect_macs("resnet18", 1814073344LL); }
Test(report, googlenet_at_224_has_1498376192_macs) { expect_macs("googlenet", 1498376192LL); }

Test(report, a_lrn_has_as_many_params_as_vgg11_because_lrn_has_none)
{
    expect_params("A-LRN", 132863336);
}

Test(report, the_cifar_head_on_vgg16_bn_has_15253578_params)
{
    expect_params("vgg16_bn --input 3x32x32 --avgpool none --classifier 512,512 --classes 10", 15253578);
}

Test(report, the_layers_params_add_up_to_total_params)
{
    char *doc = report_json("vgg16_bn");
    cr_expect_eq(sum_of(doc, "params"), json_int(doc, "total_params"));
    free(doc);
}

/* ---- multiply-accumulates -------------------------------------------------------------------------------- */

Test(report, vgg11_at_224_has_7609090048_macs) { expect_macs("vgg11 --input 3x224x224", 7609090048LL); }
Test(report, vgg16_at_224_has_15470264320_macs) { expect_macs("vgg16 --input 3x224x224", 15470264320LL); }

Test(report, a_batch_of_4_has_four_times_the_macs_and_the_same_params)
{
    char *one = report_json("vgg11"), *four = report_json("vgg11 --batch 4");
    cr_expect_eq(json_int(four, "total_macs"), 4 * json_int(one, "total_macs"));
    cr_expect_eq(json_int(four, "total_params"), json_int(one, "total_params"));
    cr_expect_eq(json_int(four, "batch"), 4);
    free(one);
    free(four);
}

/* The seed networks (../shared/SEED_NETWORKS.md), counted as PyTorch counts them (tests/seed_networks.py params). */
Test(report, lenet5_has_61706_params) { expect_params("lenet5", 61706); }
Test(report, the_model_file_of_lenet5_has_61706_params) { expect_params(VGGC_SOURCE_DIR "/models/lenet5.lua", 61706); }
Test(report, torchvisions_alexnet_has_61100840_params) { expect_params("alexnet", 61100840); }
Test(report, the_documents_alexnet_has_61100840_params_without_an_avgpool)
{
    expect_params(VGGC_SOURCE_DIR "/models/alexnet.lua", 61100840);
}
Test(report, the_cifar_documents_first_vgg16_with_10_classes_has_134301514_params)
{
    expect_params(VGGC_SOURCE_DIR "/models/cifar_vgg16.lua", 134301514);
}
Test(report, the_cifar_documents_optimized_vgg16_as_a_model_file_has_15253578_params)
{
    expect_params(VGGC_SOURCE_DIR "/tests/models/cifar_vgg16_bn.lua", 15253578);
}
Test(report, the_vgg11_documents_vgg11_with_its_own_names_has_132863336_params)
{
    expect_params(VGGC_SOURCE_DIR "/tests/models/vgg11_document.lua", 132863336);
}
Test(report, alexnet_with_10_classes_resizes_its_last_linear) { expect_params("alexnet --classes 10", 57044810); }

/* ---- per-layer output shapes ----------------------------------------------------------------------------- */

/* The seed networks' shapes are PyTorch's: each unit's output is its last module's output (a conv's ReLU). */
Test(report, lenet5_goes_from_1x32x32_through_6x28x28_and_16x5x5_to_10_classes)
{
    expect_shapes("lenet5", "6x28x28 6x14x14 16x10x10 16x5x5 400 120 84 10");
}

Test(report, alexnets_11x11_stride_4_conv_makes_55x55_and_its_overlapping_pools_27_13_and_6)
{
    expect_shapes("alexnet", "64x55x55 64x27x27 192x27x27 192x13x13 384x13x13 256x13x13 256x13x13 256x6x6 256x6x6 "
                             "9216 9216 4096 4096 4096 1000");
}

Test(report, the_cifar_first_vgg16s_unpadded_convs_and_padded_pools_go_222_112_110_56_54_28_26_14_12_7)
{
    expect_shapes(VGGC_SOURCE_DIR "/models/cifar_vgg16.lua",
                  "64x222x222 64x222x222 64x112x112 128x110x110 128x110x110 128x56x56 256x54x54 256x54x54 256x54x54 "
                  "256x28x28 512x26x26 512x26x26 512x26x26 512x14x14 512x12x12 512x12x12 512x12x12 512x7x7 25088 "
                  "4096 4096 10 10");
}

/* The report's rows name each general layer by what differs from the usual: stride, padding, pool padding. */
Test(report, the_rows_name_strides_and_paddings_that_differ_from_the_usual)
{
    char *text = vggc_ok("report " VGGC_SOURCE_DIR "/models/cifar_vgg16.lua");
    cr_expect(strstr(text, "   1  conv3x3p0+relu ") != NULL, "no unpadded conv row:\n%s", text);
    cr_expect(strstr(text, "   3  maxpool2x2p1 ") != NULL, "no padded pool row:\n%s", text);
    cr_expect(strstr(text, "  23  softmax ") != NULL, "no softmax row:\n%s", text);
    free(text);
    text = vggc_ok("report alexnet");
    cr_expect(strstr(text, "   1  conv11x11s4p2+relu ") != NULL, "no 11x11 stride 4 row:\n%s", text);
    cr_expect(strstr(text, "   2  maxpool3x3s2 ") != NULL, "no overlapping pool row:\n%s", text);
    free(text);
}

/* The preset and the model file are the same network, layer for layer. */
Test(report, the_lenet5_preset_and_model_file_report_the_same_layers)
{
    char *preset = report_json("lenet5"), *file = report_json(VGGC_SOURCE_DIR "/models/lenet5.lua");
    char *a = out_shapes(preset), *b = out_shapes(file);
    cr_expect_str_eq(a, b, "lenet5: preset %s, file %s", a, b);
    cr_expect_eq(json_int(preset, "total_macs"), json_int(file, "total_macs"));
    cr_expect(strstr(file, "\"layer3.fc3.bias\"") != NULL, "the file's tensors are not named as the document's");
    free(preset), free(file), free(a), free(b);
}

Test(report, vgg11_at_224_halves_the_map_at_each_of_5_pools_down_to_512x7x7)
{
    expect_shapes("vgg11 --input 3x224x224",
                  "64x224x224 64x112x112 128x112x112 128x56x56 256x56x56 256x56x56 256x28x28 512x28x28 512x28x28 "
                  "512x14x14 512x14x14 512x14x14 512x7x7 512x7x7 4096 4096 4096 4096 1000");
}

/* At 32x32 the last pool leaves 512x1x1; the adaptive average pool spreads it to 512x7x7, so the first linear
 * still sees 512 * 7 * 7 = 25088 inputs and the params equal those at 224. */
Test(report, vgg11_at_32_pools_to_1x1_and_the_avgpool_brings_it_back_to_7x7)
{
    expect_shapes("vgg11 --input 3x32x32",
                  "64x32x32 64x16x16 128x16x16 128x8x8 256x8x8 256x8x8 256x4x4 512x4x4 512x4x4 "
                  "512x2x2 512x2x2 512x2x2 512x1x1 512x7x7 4096 4096 4096 4096 1000");
    expect_params("vgg11 --input 3x32x32", 132863336);
}

Test(report, vgg13_on_a_64x96_input_keeps_the_aspect_down_to_2x3)
{
    expect_shapes("vgg13 --input 3x64x96",
                  "64x64x96 64x64x96 64x32x48 128x32x48 128x32x48 128x16x24 256x16x24 256x16x24 256x8x12 "
                  "512x8x12 512x8x12 512x4x6 512x4x6 512x4x6 512x2x3 512x7x7 4096 4096 4096 4096 1000");
}

/* One input channel: only the first conv changes, 64 * 1 * 9 + 64 = 640 params instead of 64 * 3 * 9 + 64 =
 * 1,792, so 132,863,336 - 1,152 = 132,862,184. */
Test(report, a_1_channel_input_changes_only_the_first_conv)
{
    expect_shapes("vgg11 --input 1x32x32",
                  "64x32x32 64x16x16 128x16x16 128x8x8 256x8x8 256x8x8 256x4x4 512x4x4 512x4x4 "
                  "512x2x2 512x2x2 512x2x2 512x1x1 512x7x7 4096 4096 4096 4096 1000");
    expect_params("vgg11 --input 1x32x32", 132862184);
}

/* ---- the three renderings -------------------------------------------------------------------------------- */

Test(report, the_text_report_ends_with_the_total_params_line)
{
    char *text = vggc_ok("report vgg11 --input 3x224x224");
    size_t len = strlen(text);
    cr_assert(len > 0 && text[len - 1] == '\n', "the report does not end with a newline:\n%s", text);
    text[len - 1] = '\0';
    const char *last = strrchr(text, '\n');
    last = last ? last + 1 : text;
    cr_expect(strstr(last, "Total params") != NULL, "the last line is not Total params: '%s'", last);
    cr_expect(strstr(last, "132,863,336") != NULL, "the last line does not say 132,863,336: '%s'", last);
    free(text);
}

Test(report, the_text_report_has_one_row_per_layer_with_its_output_and_params)
{
    char *text = vggc_ok("report vgg11");
    cr_expect(strstr(text, "  1  conv3x3+relu") != NULL, "no row for layer 1:\n%s", text);
    cr_expect(strstr(text, " 19  linear ") != NULL, "no row for layer 19:\n%s", text);
    cr_expect(strstr(text, "102,764,544") != NULL, "the first linear's params are missing:\n%s", text);
    cr_expect(strstr(text, "Total MACs:") && strstr(text, "7,609,090,048"), "no MACs total:\n%s", text);
    free(text);
}

Test(report, markdown_prints_a_table_with_a_header_and_one_row_per_layer)
{
    char *md = vggc_ok("report vgg11 --markdown");
    cr_expect(strstr(md, "\n| # | layer | from | output | params | MACs | algorithm | tensor | in use (B) |\n") != NULL,
              "no header row:\n%s", md);
    cr_expect(strstr(md, "\n|--:|") != NULL, "no alignment row under the header:\n%s", md);
    cr_expect(strstr(md, "\n| 1 | conv3x3+relu | input | 64x224x224 | 1,792 |") != NULL, "no row for layer 1:\n%s", md);
    cr_expect(strstr(md, "\n| 19 | linear | 18 | 1000 | 4,097,000 |") != NULL, "no row for layer 19:\n%s", md);
    cr_expect_eq(count(md, "\n| "), 20, "want a header and 19 layer rows:\n%s", md);
    cr_expect(strstr(md, "132,863,336") != NULL, "no total params:\n%s", md);
    free(md);
}

Test(report, json_is_one_object_whose_layers_have_kind_out_params_and_macs)
{
    char *doc = report_json("vgg11");
    size_t len = strlen(doc);
    cr_assert(len > 2 && doc[0] == '{' && strcmp(doc + len - 2, "}\n") == 0, "not one JSON object:\n%s", doc);
    cr_expect_eq(count(doc, "{"), count(doc, "}"), "unbalanced braces");
    cr_expect_eq(count(doc, "["), count(doc, "]"), "unbalanced brackets");
    cr_expect(strstr(doc, "\"layers\": [") != NULL, "no layers array");
    cr_expect_eq(count(doc, "\"kind\": "), 19);
    cr_expect_eq(count(doc, "\"out\": ["), 19);
    cr_expect_eq(count(doc, "\"params\": "), 19);
    cr_expect_eq(count(doc, "\"macs\": "), 19);
    cr_expect(strstr(doc, "\"kind\": \"conv3x3+relu\"") != NULL, "no conv layer kind");
    cr_expect_eq(json_int(doc, "total_params"), 132863336);
    free(doc);
}

/* "buffers": [{"name", "offset", "bytes", ..., "first", "last"}, ...] — every tensor the plan placed, with the steps
 * it is alive. Two alive at the same step never share a byte, and static_bytes is where the highest one ends. */
static void expect_a_liveness_plan(const char *model)
{
    char *doc = report_json(model);
    const char *at = strstr(doc, "\"buffers\": ["), *end = strstr(doc, "\"prepared_bytes\": ");
    cr_assert(at && end, "no buffers list for %s", model);
    enum { MAX = 512 };
    long long off[MAX], bytes[MAX], first[MAX], last[MAX], top = 0;
    int n = 0;
    for (const char *p = strstr(at, "\"offset\": "); p && p < end && n < MAX; p = strstr(p + 1, "\"offset\": "), n++) {
        off[n] = json_int(p, "offset"), bytes[n] = json_int(p, "bytes");
        first[n] = json_int(p, "first"), last[n] = json_int(p, "last");
        top = off[n] + bytes[n] > top ? off[n] + bytes[n] : top;
    }
    cr_assert_gt(n, 0, "no buffers listed for %s", model);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int together = first[i] <= last[j] && first[j] <= last[i];
            int share = off[i] < off[j] + bytes[j] && off[j] < off[i] + bytes[i];
            cr_expect(!(together && share), "%s: buffers %d and %d are alive together (steps %lld-%lld, %lld-%lld) "
                      "and share bytes ([%lld, +%lld), [%lld, +%lld))", model, i, j, first[i], last[i], first[j],
                      last[j], off[i], bytes[i], off[j], bytes[j]);
        }
    cr_expect_eq(json_int(doc, "static_bytes"), top, "%s: static_bytes %lld, the highest buffer ends at %lld", model,
                 json_int(doc, "static_bytes"), top);
    free(doc);
}

Test(report, buffers_alive_at_the_same_time_never_share_a_byte_and_static_bytes_is_where_the_highest_ends)
{
    const char *models[] = {"vgg11", "vgg16_bn --batch 2", "vgg13 --input 3x64x96", "64,M,128,128:1,M", "alexnet",
                            "lenet5", "resnet18", "googlenet --batch 3", "resnet18 --conv im2col",
                            VGGC_SOURCE_DIR "/tests/models/inception_seed.lua",
                            VGGC_SOURCE_DIR "/tests/models/inception_seed.lua --conv im2col",
                            VGGC_SOURCE_DIR "/tests/models/basicblock_seed.lua"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) expect_a_liveness_plan(models[i]);
}

/* resnet18 at 224: 6,422,528 bytes (the bytes alive at its busiest step: the input converted to the blocked layout
 * and the stem's output), where ping-pong (as many buffers as tensors alive at once, each as large as
 * the largest, plus the largest scratch) would take 13,312,000 and a buffer per tensor 42,560,512. */
Test(report, resnet18s_static_bytes_are_the_liveness_plans_peak_and_less_than_ping_pong)
{
    char *doc = report_json("resnet18");
    cr_expect_eq(json_int(doc, "static_bytes"), 6422528, "static_bytes %lld", json_int(doc, "static_bytes"));
    cr_expect_eq(json_int(doc, "pingpong_bytes"), 13312000, "pingpong_bytes %lld", json_int(doc, "pingpong_bytes"));
    cr_expect_eq(json_int(doc, "per_tensor_bytes"), 42560512, "per_tensor_bytes %lld",
                 json_int(doc, "per_tensor_bytes"));
    cr_expect_eq(json_int(doc, "live_peak_bytes"), json_int(doc, "static_bytes"), "the plan takes more than the bytes "
                 "alive at the busiest step");
    free(doc);
}

/* The joins run in the convs' epilogues: resnet18's 8 Adds (and the ReLU after each) and googlenet's 9 Concats. */
Test(report, resnet18s_adds_run_in_a_convs_epilogue_and_googlenets_concats_are_written_in_place)
{
    char *resnet = report_json("resnet18"), *googlenet = report_json("googlenet");
    cr_expect_eq(count(resnet, "\"kind\": \"add+relu\""), 8, "resnet18 has 8 add+relu rows:\n%.3000s", resnet);
    cr_expect_eq(count(resnet, "\"algorithm\": \"fused\""), 8, "resnet18's 8 Adds are not all fused:\n%.3000s", resnet);
    cr_expect_eq(count(googlenet, "\"kind\": \"concat\""), 9, "googlenet has 9 Concats");
    cr_expect_eq(count(googlenet, "\"algorithm\": \"in place\""), 9, "googlenet's Concats are not all in place");
    free(resnet), free(googlenet);
}

/* A graph's rows say where each layer's inputs come from: the Add of resnet18's first block reads layer 4 (its
 * second conv) and layer 2 (the max pool, the block's input); an Inception's Concat its four branches. */
Test(report, each_row_names_the_layers_it_reads)
{
    char *resnet = vggc_ok("report resnet18");
    cr_expect(strstr(resnet, "   5  add+relu           4,2 ") != NULL, "no row 5 reading 4 and 2:\n%s", resnet);
    free(resnet);
    char *seed = vggc_ok("report " VGGC_SOURCE_DIR "/tests/models/inception_seed.lua");
    cr_expect(strstr(seed, "   9  concat             2,6,4,8 ") != NULL, "no concat reading 2, 6, 4, 8:\n%s", seed);
    free(seed);
}

/* ---- models given as inline lists and Lua files ---------------------------------------------------------- */

/* "64,M,128,128:1,M" at 3x224x224, default head (avgpool 7x7, 4096, 4096, 1000 classes):
 *   conv3x3 3->64       64*3*9 + 64      =      1,792
 *   conv3x3 64->128     128*64*9 + 128   =     73,856
 *   conv1x1 128->128    128*128 + 128    =     16,512
 *   linear 128*7*7 = 6272 -> 4096        = 25,694,208
 *   linear 4096 -> 4096                  = 16,781,312
 *   linear 4096 -> 1000                  =  4,097,000
 *   total                                 46,664,680 */
Test(report, an_inline_list_with_a_1x1_conv_has_46664680_params)
{
    expect_params("64,M,128,128:1,M", 46664680);
    expect_shapes("64,M,128,128:1,M",
                  "64x224x224 64x112x112 128x112x112 128x112x112 128x56x56 128x7x7 4096 4096 4096 4096 1000");
}

/* The same list on CIFAR with a small head: after two pools the map is 128x8x8 = 8192,
 *   features 1,792 + 73,856 + 16,512 = 92,160; linear 8192 -> 64: 524,352; linear 64 -> 10: 650; total 617,162 */
Test(report, an_inline_list_with_a_small_head_has_617162_params)
{
    expect_params("64,M,128,128:1,M --input 3x32x32 --avgpool none --classifier 64 --classes 10", 617162);
}

/* A model file on MNIST: input 1x28x28, {64, M, 128:1, M}, a 32-wide hidden layer, 10 classes:
 *   conv3x3 1->64       64*1*9 + 64   =     640
 *   conv1x1 64->128     128*64 + 128  =   8,320
 *   avgpool 7x7 on the 128x7x7 map is the identity
 *   linear 128*7*7 = 6272 -> 32       = 200,736
 *   linear 32 -> 10                   =     330
 *   total                               210,026 */
Test(report, a_lua_model_file_sets_input_head_and_name)
{
    char *dir = make_temp_dir("report");
    char path[4200];
    snprintf(path, sizeof path, "%s/mnist.lua", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs("-- a small VGG for MNIST\n"
          "return {\n"
          "  features = {64, 'M', '128:1', 'M'},\n"
          "  input = '1x28x28', classifier = {32}, classes = 10, name = 'tiny',\n"
          "}\n", f);
    fclose(f);

    char args[4300];
    snprintf(args, sizeof args, "'%s'", path);
    char *doc = report_json(args);
    cr_expect_eq(json_int(doc, "total_params"), 210026);
    cr_expect(strstr(doc, "\"name\": \"tiny\"") != NULL, "the file's name is not used:\n%.300s", doc);
    char *shapes = out_shapes(doc);
    cr_expect_str_eq(shapes, "64x28x28 64x14x14 128x14x14 128x7x7 128x7x7 32 32 10");
    free(shapes);
    free(doc);

    snprintf(args, sizeof args, "'%s' --classes 100", path);
    doc = report_json(args);
    cr_expect_eq(json_int(doc, "total_params"), 210026 - 330 + (32 * 100 + 100), "--classes overrides the file");
    free(doc);
    remove_tree(dir);
    free(dir);
}

/* ---- version and help ------------------------------------------------------------------------------------ */

Test(report, version_prints_vggc_0_1_0)
{
    char *out = vggc_ok("--version");
    cr_expect_str_eq(out, "vggc 0.1.0\n");
    free(out);
}

Test(report, help_exits_0_and_names_the_commands_and_model_forms)
{
    char *out = vggc_ok("--help");
    const char *want[] = {"usage: vggc COMMAND MODEL", "report", "generate", "build", "vgg11_bn", "A-LRN", "N:1",
                          "model.lua", "--version"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_expect(strstr(out, want[i]) != NULL, "`vggc --help` does not mention %s:\n%s", want[i], out);
    free(out);
}

Test(report, report_help_exits_0_and_names_every_option)
{
    char *out = vggc_ok("report --help");
    const char *want[] = {"usage: vggc report", "--json", "--markdown", "--input", "--classes", "--batch",
                          "--avgpool", "--classifier", "--batch-norm", "--name"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_expect(strstr(out, want[i]) != NULL, "`vggc report --help` does not mention %s:\n%s", want[i], out);
    free(out);
}

/* Each of the report's rows that starts with want[2 i] says want[2 i + 1] (the algorithm column), i < pairs. */
static void expect_rows_say(const char *text, const char *const *want, int pairs)
{
    for (int i = 0; i < 2 * pairs; i += 2) {
        const char *row = strstr(text, want[i]);
        cr_assert(row != NULL, "no row '%s':\n%s", want[i], text);
        const char *end = strchr(row, '\n');
        cr_expect(strstr(row, want[i + 1]) != NULL && strstr(row, want[i + 1]) < end, "row '%s' is not %s:\n%s",
                  want[i], want[i + 1], text);
    }
}

/* --conv: how each conv runs, chosen per layer unless forced, and shown in the algorithm column. */
Test(report, the_automatic_choice_puts_winograd_on_3x3_layers_direct_on_the_first_layer_and_fuses_the_pools)
{
    char *text = vggc_ok("report vgg11");
    const char *want[] = {"   1  conv3x3+relu ", "direct",    "   2  maxpool2x2 ",   "fused",
                          "   3  conv3x3+relu ", "winograd6", "   5  conv3x3+relu ", "winograd6",
                          "   8  conv3x3+relu ", "winograd4", "  11  conv3x3+relu ", "winograd3"};
    expect_rows_say(text, want, 6);
    cr_expect(strstr(text, "convs: auto") != NULL, "the totals do not say how convs run:\n%s", text);
    free(text);
}

/* F(6x6) where its GEMM is at most 0.91 of F(4x4)'s with 64 tiles or more (gen/algo.lua): VGG16's 64->64 at 224 and
 * 128->128 at 112 (38 x 38 tiles of 6 against 56 x 56 of 4: 0.82), 128->256 at 56 (10 x 10 tiles cover 60 x 60:
 * 0.91), 512->512 at 112 (its 64 MiB of weights stream like F(4x4)'s 36); not at 28 with batch 1 (25 tiles), nor
 * 256->256 at 56 with batch 8, where F(4x4)'s weights stay cached between passes and F(6x6)'s work (105 MB) would
 * not fit in L3. */
Test(report, the_automatic_choice_takes_winograd6_where_its_gemm_is_smaller_and_its_work_fits)
{
    char *text = vggc_ok("report vgg16");
    const char *want[] = {"   2  conv3x3+relu ", "winograd6", "   4  conv3x3+relu ", "winograd6",
                          "   7  conv3x3+relu ", "winograd6", "  11  conv3x3+relu ", "winograd4"};
    expect_rows_say(text, want, 4);
    free(text);
    text = vggc_ok("report 512,512 --input 512x112x112 --avgpool none --classifier none --classes 10");
    cr_expect_eq(count(text, "winograd6"), 2, "512->512 at 112: F(6x6) on both convs:\n%s", text);
    free(text);
    text = vggc_ok("report 256,256 --input 256x56x56 --batch 8 --avgpool none --classifier none --classes 10");
    cr_expect_eq(count(text, "winograd6"), 0, "256->256 at 56, batch 8, is F(4x4):\n%s", text);
    free(text);
    text = vggc_ok("report 256,256 --input 256x56x56 --avgpool none --classifier none --classes 10");
    cr_expect_eq(count(text, "winograd6"), 2, "256->256 at 56, batch 1, is F(6x6):\n%s", text);
    free(text);
}

Test(report, the_automatic_choice_takes_winograd2_where_a_map_has_too_few_4x4_tiles)
{
    char *text = vggc_ok("report vgg11 --input 3x112x112"); /* layer 11 sees 7x7: 4 tiles of 4x4, 16 of 2x2 */
    const char *row = strstr(text, "  11  conv3x3+relu ");
    cr_assert(row != NULL, "no row 11:\n%s", text);
    const char *algo = strstr(row, "winograd2");
    cr_expect(algo != NULL && algo < strchr(row, '\n'), "row 11 of vgg11 at 112x112 is not winograd2:\n%s", text);
    free(text);
}

Test(report, a_forced_algorithm_applies_to_every_conv_it_can_run)
{
    char *text = vggc_ok("report C --conv winograd2");
    cr_expect_eq(count(text, "winograd2"), 11, "C has 10 3x3 convs (and winograd2 in the totals):\n%s", text);
    cr_expect_eq(count(text, "direct"), 3, "C's three 1x1 convs run direct:\n%s", text);
    free(text);
    text = vggc_ok("report vgg11 --conv im2col");
    cr_expect_eq(count(text, "im2col"), 9, "vgg11 has 8 convs (and im2col in the totals):\n%s", text);
    cr_expect_eq(count(text, "fused"), 0, "im2col convs do not fuse pools:\n%s", text);
    free(text);
}

Test(report, json_names_each_layers_algorithm_and_the_prepared_bytes)
{
    char *doc = vggc_ok("report vgg11 --json");
    cr_expect(strstr(doc, "\"algorithm\": \"winograd4\"") != NULL, "no algorithm in the layers:\n%.2000s", doc);
    /* direct 64x3x3x3 (64 outputs, a multiple of 16); F(6x6) at 112 and 56: 64 x cin x cout; F(4x4) at 28: 36 x cin
     * x cout; F(3x3) at 14: 25 x cin x cout; the linear layers in panels of 1024 outputs, rows 1040 floats apart
     * (fc8's one panel of 1000 outputs: 1008) */
    long long want = 4LL * (64 * 27 + 64LL * (64 * 128 + 128 * 256 + 256 * 256) + 36LL * (256 * 512 + 512 * 512)
                            + 25LL * 2 * 512 * 512 + 25088LL * 4160 + 4096LL * 4160 + 4096LL * 1008);
    cr_expect_eq(json_int(doc, "prepared_bytes"), want, "prepared_bytes %lld, want %lld", json_int(doc, "prepared_bytes"),
                 want);
    free(doc);
}

Test(report, a_batch_with_enough_tiles_moves_the_small_maps_to_winograd_f4)
{
    char *text = vggc_ok("report vgg11 --input 3x112x112 --batch 8"); /* 7x7 maps: 32 tiles of 4x4 */
    const char *want[] = {"  11  conv3x3+relu ", "winograd4", "  12  conv3x3+relu ", "winograd4"};
    expect_rows_say(text, want, 2);
    free(text);
}

/* Row 13 of vgg11's report, the 2x2 pool after the 14x14 convs, is a row of its own: `tile` (F(3x3), F(5x5)) cannot
 * hold its windows. */
static void expect_pool_13_on_its_own(const char *text, const char *tile)
{
    const char *pool = strstr(text, "  13  maxpool2x2 ");
    cr_assert(pool != NULL, "the pool after %s is not a row of its own:\n%s", tile, text);
    cr_expect(strstr(pool, "fused") == NULL || strstr(pool, "fused") > strchr(pool, '\n'),
              "the pool after %s is fused:\n%s", tile, text);
}

/* F(5x5) where its GEMM is at most 0.8 of F(4x4)'s with 16 tiles or more (gen/algo.lua): VGG's 14x14 maps from
 * batch 2 on (9 tiles of 5x5 per image against 16 of 4x4: 0.77), not at batch 1; a 2x2 pool after it runs on its
 * own (5x5 tiles would cut its windows). */
Test(report, a_batch_on_14x14_maps_takes_winograd5_and_its_pool_runs_on_its_own)
{
    char *text = vggc_ok("report vgg11 --batch 2");
    const char *want[] = {"  11  conv3x3+relu ", "winograd5", "  12  conv3x3+relu ", "winograd5"};
    expect_rows_say(text, want, 2);
    expect_pool_13_on_its_own(text, "F(5x5)");
    free(text);
    text = vggc_ok("report vgg11");
    cr_expect_eq(count(text, "winograd5"), 0, "at batch 1 (9 tiles of 5x5) the 14x14 layers do not take F(5x5):\n%s",
                 text);
    free(text);
}

/* F(3x3) where F(4x4)'s weights are over the cached 12 MB and have 16 to 31 tiles to share them (they stream from
 * memory) and F(3x3)'s GEMM is at most 1.1x F(4x4)'s (gen/algo.lua): VGG's 512->512 at 14x14 at batch 1 (25 tiles
 * of 3x3 against 16 of 4x4: 1.09x), not at 28x28 (100 against 49: 1.42x), nor on 7x7 maps (4 tiles of 4x4:
 * F(2x2)), nor resnet18's 256->256 at 14x14 (9.4 MB of F(4x4) weights); the pool after it runs on its own. */
Test(report, batch_1_on_14x14_maps_takes_winograd3_and_its_pool_runs_on_its_own)
{
    char *text = vggc_ok("report vgg11");
    const char *want[] = {"   9  conv3x3+relu ", "winograd4", "  11  conv3x3+relu ", "winograd3",
                          "  12  conv3x3+relu ", "winograd3"};
    expect_rows_say(text, want, 3);
    expect_pool_13_on_its_own(text, "F(3x3)");
    free(text);
    text = vggc_ok("report vgg11 --input 3x112x112"); /* 7x7 maps: 4 tiles of 4x4 */
    const char *small[] = {"  11  conv3x3+relu ", "winograd2", "  12  conv3x3+relu ", "winograd2"};
    expect_rows_say(text, small, 2);
    free(text);
    text = vggc_ok("report resnet18");
    cr_expect_eq(count(text, "winograd3"), 0, "resnet18's 256->256 at 14x14 keeps F(4x4):\n%s", text);
    free(text);
}

/* ---- Cortex-M targets: flash and RAM ---------------------------------------------------------------------------- */

/* 873,960 bytes of weights (BatchNorm folded: 218,490 floats) + at most 5,440 of code; a workspace of 65,856 bytes
 * (the second and fourth convs pool in their epilogue) + at most 512 of stack. */
Test(report, fashion_vgg_on_cortex_m7_needs_879400_bytes_of_flash_and_66368_of_ram)
{
    char *doc = report_json(VGGC_SOURCE_DIR "/models/fashion_vgg.lua --target cortex-m7");
    cr_expect_eq(json_int(doc, "flash_bytes"), 879400, "flash_bytes %lld", json_int(doc, "flash_bytes"));
    cr_expect_eq(json_int(doc, "ram_bytes"), 66368, "ram_bytes %lld", json_int(doc, "ram_bytes"));
    cr_expect_eq(json_int(doc, "weights"), 873960, "weights %lld", json_int(doc, "weights"));
    cr_expect_eq(json_int(doc, "workspace"), json_int(doc, "static_bytes"), "the workspace is the static buffers");
    cr_expect_eq(json_int(doc, "flash_limit"), 1048576, "the STM32F746NG has 1 MiB of flash");
    cr_expect_eq(json_int(doc, "ram_limit"), 327680, "the STM32F746NG has 320 KiB of RAM");
    cr_expect(strstr(doc, "\"fits\": true") != NULL, "the Fashion net fits the cortex-m7's part:\n%s", doc);
    cr_expect_eq(count(doc, "\"algorithm\": \"conv3x3\""), 4, "every 3x3 conv runs conv3x3:\n%s", doc);
    free(doc);
}

Test(report, the_fashion_net_does_not_fit_the_cortex_m4_part_and_the_report_says_so)
{
    char *text = vggc_ok("report " VGGC_SOURCE_DIR "/models/fashion_vgg.lua --target cortex-m4");
    cr_expect(strstr(text, "Fits:                    NO (vggc generate refuses it)") != NULL, "%s", text);
    free(text);
}

Test(report, lenet5_on_cortex_m4_needs_253896_bytes_of_flash_and_24064_of_ram_with_direct_convs)
{
    char *text = vggc_ok("report lenet5 --target cortex-m4");
    cr_expect(strstr(text, "Flash (bytes):           253,896 (weights 246,824 + code at most 7,072)") != NULL, "%s", text);
    cr_expect(strstr(text, "RAM (bytes):             24,064 (workspace 23,552 + stack at most 512)") != NULL, "%s", text);
    cr_expect_eq(count(text, "  direct  "), 2, "both 5x5 convs run the any-window kernel:\n%s", text);
    free(text);
}
