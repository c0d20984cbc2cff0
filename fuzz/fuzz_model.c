/* fuzz_model.c — libFuzzer target: the model parser through the host (gen/main.c built with -DVGGC_FUZZ), on
 * inline cfg strings, presets with options, and Lua model files.
 *
 * An input is one of
 *   ARGS                  no newline: the words of `vggc report ARGS`, split at spaces and NULs
 *                         ("64,M,128:1 --input 1x9x9")
 *   OPTIONS\nFILE TEXT    the text after the first newline is a model file, run as `vggc report FILE OPTIONS`
 * One Lua state with the generator's modules loaded serves every input; each input runs driver.main as
 * `vggc report ...` does (cli -> model -> net -> algo -> plan -> report), in a protected call, with io.write
 * writing nowhere. A user error
 * (vggc.errors, one line "where: what") is a fine outcome; any other Lua error is a bug in vggc: abort.
 * Coverage: Lua lines (lua_target.h). Build and run with fuzz/run; not part of the default build.
 */
#include <unistd.h>

#include "lua_target.h"

/* driver.main(host, args) as `vggc report ...` runs it, with the report written nowhere. */
static const char STAGES[] =
    "local driver = require('driver')\n"
    "io.write = function() return io.stdout end\n"
    "return driver.main\n";

static lua_State *L;
static char model_path[64];

/* ---- one input ------------------------------------------------------------------------------------------------- */

static void write_model_file(const uint8_t *text, size_t size)
{
    FILE *f = fopen(model_path, "wb");
    if (!f || fwrite(text, 1, size, f) != size || fclose(f) != 0) {
        perror(model_path);
        abort();
    }
}

static void remove_model_file(void)
{
    remove(model_path);
}

/* Push the args table {"report", [model file,] words of line...}. */
static void push_args(const char *line, size_t len, int with_file)
{
    lua_newtable(L);
    lua_Integer n = 0;
    lua_pushliteral(L, "report");
    lua_rawseti(L, -2, ++n);
    if (with_file) {
        lua_pushstring(L, model_path);
        lua_rawseti(L, -2, ++n);
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ' ' && line[i] != '\0') continue; /* argv words hold no NUL */
        if (i > start) {
            lua_pushlstring(L, line + start, i - start);
            lua_rawseti(L, -2, ++n);
        }
        start = i + 1;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(model_path, sizeof model_path, "/tmp/fuzz_model.%ld.lua", (long)getpid());
    L = open_target("=fuzz_model", STAGES, sizeof STAGES - 1);
    atexit(remove_model_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *newline = memchr(data, '\n', size);
    size_t line_len = newline ? (size_t)(newline - data) : size;
    if (newline) write_model_file(newline + 1, size - line_len - 1);
    int top = lua_gettop(L);
    lua_pushcfunction(L, vggc_on_error);
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_stages");
    vggc_push_host(L);
    push_args((const char *)data, line_len, newline != NULL);
    previous_line = 0;
    if (lua_pcall(L, 2, 0, top + 1) != LUA_OK) check_user_error(L, "fuzz_model");
    lua_settop(L, top);
    return 0;
}
