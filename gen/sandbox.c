/* sandbox.c — the Lua heap with a ceiling, and the `sandbox` module that runs a model file's chunk with a budget
 * of instructions, CPU time and memory and without the string functions that take patterns (see sandbox.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "sandbox.h"

/* ---- the Lua heap, with a ceiling the sandbox lowers while a model file runs ---------------------------------- */

void *vggc_heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct heap *h = ud;
    if (!ptr) osize = 0; /* then osize is the kind of object, not a size */
    if (nsize == 0) {
        free(ptr);
        h->used -= osize;
        return NULL;
    }
    if (nsize > osize && (h->used > h->limit || nsize - osize > h->limit - h->used)) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) h->used = h->used - osize + nsize;
    return p;
}

static struct heap *heap_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* ---- sandbox: run a model file's chunk with a budget ---------------------------------------------------------- */

#ifndef MODEL_INSTRUCTIONS
#define MODEL_INSTRUCTIONS 1000000     /* a real model file runs a few hundred */
#endif
#ifndef MODEL_SECONDS
#define MODEL_SECONDS 2                /* CPU seconds: one instruction can copy or compare 64 MiB (string.rep,
                                          .., ==), so instructions alone do not bound the time */
#endif
#ifndef MODEL_BYTES
#define MODEL_BYTES (64u << 20)        /* bytes a model file may add to the heap */
#endif

/* String methods a model file may call ("64"):rep(2) ...; not find/match/gmatch/gsub (a pattern can run for
 * hours inside one instruction) nor dump. */
static const char *const SAFE_STRING_METHODS[] = {"byte", "char", "format", "len", "lower", "rep", "reverse",
                                                  "sub", "upper", NULL};

enum { HOOK_EVERY = 16 }; /* instructions between two calls of the hook */

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Every HOOK_EVERY instructions: stop the chunk past MODEL_INSTRUCTIONS instructions or MODEL_SECONDS of CPU. */
static void on_count(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct heap *h = heap_of(L);
    h->instructions += HOOK_EVERY;
    if (h->instructions > MODEL_INSTRUCTIONS) h->stopped = "instructions";
    else if (cpu_seconds() > h->deadline) h->stopped = "time";
    else return;
    luaL_error(L, "ran too long");
}

/* Swap the string metatable's __index with the value on top of the stack (which then holds the old one). */
static void swap_string_methods(lua_State *L)
{
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);          /* value "" mt */
    lua_getfield(L, -1, "__index");   /* value "" mt old */
    lua_pushvalue(L, -4);             /* value "" mt old value */
    lua_setfield(L, -3, "__index");   /* value "" mt old */
    lua_replace(L, -4);               /* old "" mt */
    lua_pop(L, 2);
}

/* sandbox.run(chunk) -> true, result | false, kind, message: calls chunk() with at most MODEL_INSTRUCTIONS
 * instructions, MODEL_SECONDS of CPU time, MODEL_BYTES more heap and only SAFE_STRING_METHODS; kind is
 * "instructions", "time", "memory" or "error". Whatever hook was set (a fuzzer's coverage hook) is restored
 * afterwards. */
static int sandbox_run(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    struct heap *h = heap_of(L);
    lua_Hook old_hook = lua_gethook(L);
    int old_mask = lua_gethookmask(L), old_count = lua_gethookcount(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    swap_string_methods(L); /* 2: the string library */
    lua_pushvalue(L, 1);
    h->stopped = NULL;
    h->instructions = 0;
    h->deadline = cpu_seconds() + MODEL_SECONDS;
    h->limit = h->used + MODEL_BYTES;
    lua_sethook(L, on_count, LUA_MASKCOUNT, HOOK_EVERY);
    int status = lua_pcall(L, 0, 1, 0);
    lua_sethook(L, old_hook, old_mask, old_count);
    h->limit = SIZE_MAX;
    lua_pushvalue(L, 2);
    swap_string_methods(L);
    lua_pop(L, 1);
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, h->stopped ? h->stopped : status == LUA_ERRMEM ? "memory" : "error");
    lua_rotate(L, -3, 2); /* false kind message */
    return 3;
}

int vggc_open_sandbox(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L); /* the safe string methods, sandbox_run's upvalue */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_getfield(L, -1, "__index");
    for (const char *const *m = SAFE_STRING_METHODS; *m; m++) {
        lua_getfield(L, -1, *m);
        lua_setfield(L, -5, *m);
    }
    lua_pop(L, 3);
    lua_pushcclosure(L, sandbox_run, 1);
    lua_setfield(L, -2, "run");
    lua_pushinteger(L, MODEL_INSTRUCTIONS);
    lua_setfield(L, -2, "max_instructions");
    lua_pushinteger(L, MODEL_SECONDS);
    lua_setfield(L, -2, "max_seconds");
    lua_pushinteger(L, MODEL_BYTES);
    lua_setfield(L, -2, "max_bytes");
    return 1;
}
