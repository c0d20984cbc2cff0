/* lua_target.h — what the two libFuzzer targets that run the generator through the host (fuzz_model.c,
 * fuzz_onnx.c) share: one Lua state with the generator loaded, Lua line coverage for libFuzzer, and the check
 * that an error is a vggc user error. Included once per target; not a library.
 *
 * Coverage: libFuzzer sees no Lua code, so a line hook counts (source, line) pairs into libFuzzer's extra counters.
 */
#ifndef VGGC_FUZZ_LUA_TARGET_H
#define VGGC_FUZZ_LUA_TARGET_H

#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lua_State *vggc_open(void);
int vggc_on_error(lua_State *L);
void vggc_push_host(lua_State *L);

#define COUNTERS (1u << 16)
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[COUNTERS];
static uintptr_t previous_line;

static void on_line(lua_State *S, lua_Debug *ar)
{
    if (!lua_getinfo(S, "S", ar)) return;
    uintptr_t here = ((uintptr_t)ar->source * 2654435761u) ^ (uintptr_t)ar->currentline * 40503u;
    lua_edges[(here ^ (previous_line >> 1)) % COUNTERS]++;
    previous_line = here;
}

/* A Lua state with the generator, the function the chunk `stages` returns kept in the registry as "fuzz_stages",
 * and the line hook on. */
static lua_State *open_target(const char *name, const char *stages, size_t len)
{
    lua_State *L = vggc_open();
    if (!L || luaL_loadbuffer(L, stages, len, name) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "%s: cannot load the generator: %s\n", name, L ? lua_tostring(L, -1) : "out of memory");
        abort();
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_stages");
    lua_sethook(L, on_line, LUA_MASKLINE, 0);
    return L;
}

/* After a failed call: a user error is a table whose message is "where: what", not empty on either side; anything
 * else is a bug in vggc. */
static void check_user_error(lua_State *L, const char *name)
{
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "%s: a bug, not a user error:\n%s\n", name, lua_tostring(L, -1));
        abort();
    }
    if (lua_getfield(L, -1, "message") != LUA_TSTRING) return;
    const char *msg = lua_tostring(L, -1);
    const char *sep = strstr(msg, ": ");
    if (!sep || sep == msg || sep[2] == '\0') {
        fprintf(stderr, "%s: a user error without 'where: what': %s\n", name, msg);
        abort();
    }
    lua_pop(L, 1);
}

#endif
