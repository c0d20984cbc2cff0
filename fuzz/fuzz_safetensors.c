/* fuzz_safetensors.c — libFuzzer target: vggc_load_safetensors_mem on arbitrary bytes, by name and by order.
 *
 * The manifest is tiny_model.h's: one 3x3 conv 3 -> 4 with BatchNorm (folded at load time) and one linear 4 -> 2.
 * make_seeds.py writes valid files for exactly these names and shapes.
 * Build and run with fuzz/run; not part of the default build.
 */
#include "vggc.h"
#include "check_error.h"
#include "tiny_model.h"

#include <stdlib.h>
#include <string.h>

static void load_once(const uint8_t *data, size_t size, int match)
{
    vggc_error err;
    memset(err.msg, 'X', sizeof err.msg); /* poison: a message not written or not terminated shows up */
    if (vggc_load_safetensors_mem(&tiny_model, data, size, match, &err) != 0) check_error(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_once(data, size, VGGC_MATCH_BY_NAME);
    load_once(data, size, VGGC_MATCH_BY_ORDER);
    return 0;
}
