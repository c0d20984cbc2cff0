/* fuzz_onnx.c — libFuzzer target: `vggc import` on the bytes of an .onnx file, through the host (gen/main.c built
 * with -DVGGC_FUZZ): the protobuf reader (gen/onnx.lua), the graph's translation (gen/import.lua), and then the
 * model as `vggc import` checks it (net -> algo -> plan -> limits), and the files it would write, built but not
 * written. The model file it would write must read back as a model file, as vggc reads one.
 *
 * A user error (one line "where: what") is a fine outcome; any other Lua error is a bug in vggc: abort.
 * Coverage: Lua lines (lua_target.h). Build and run with fuzz/run; not part of the default build.
 */
#include "lua_target.h"

static const char STAGES[] =
    "local import = require('import')\n"
    "local modules = require('modules')\n"
    "local errors = require('errors')\n"
    "return function(host, bytes)\n"
    "  local imp = import.translate('fuzz.onnx', bytes, host, nil)\n"
    "  local model = import.model(imp, 'fuzz.onnx', 'fuzz')\n"
    "  local net = require('net').build(model)\n"
    "  import.check(net, imp)\n"
    "  require('algo').choose(net)\n"
    "  local plan = require('plan').plan(net)\n"
    "  require('limits').check(net, plan)\n"
    "  local text = import.files(imp, model, '/nonexistent', 'fuzz', 'fuzz.onnx')[1].text\n"
    "  local ok, why = pcall(function()\n" /* what vggc wrote must read back: a user error here is a bug */
    "    modules.parse('fuzz.lua: layers', assert(load(text, '=fuzz.lua', 't', {}))().layers)\n"
    "  end)\n"
    "  if not ok then error('the imported model file does not read back: ' .. tostring(why)) end\n"
    "end\n";

static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    L = open_target("=fuzz_onnx", STAGES, sizeof STAGES - 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int top = lua_gettop(L);
    lua_pushcfunction(L, vggc_on_error);
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_stages");
    vggc_push_host(L);
    lua_pushlstring(L, (const char *)data, size);
    previous_line = 0;
    if (lua_pcall(L, 2, 0, top + 1) != LUA_OK) check_user_error(L, "fuzz_onnx");
    lua_settop(L, top);
    return 0;
}
