/* main.c — the vggc host: opens Lua, makes the embedded generator loadable, runs the driver in a protected call,
 * and reports. A user's mistake (an error object the generator raised with vggc.errors) prints as one line and
 * exits 2; anything else is a bug in vggc and prints with a traceback, exit 1.
 * The driver gets a `host` table from host.c; model files are Lua code, which the module "sandbox" (sandbox.c)
 * runs with a budget of instructions and memory.
 * Built with -DVGGC_FUZZ there is no main(): fuzz/fuzz_model.c calls vggc_open(), vggc_push_host() and
 * vggc_on_error() instead. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>

#include "host.h"
#include "sandbox.h"

#ifdef VGGC_FUZZ
#define HOST_API
lua_State *vggc_open(void);
int vggc_on_error(lua_State *L);
#else
#define HOST_API static
#endif

/* Modules come from the binary only: keep package.preload's searcher, replace the file searchers, so nothing in
 * the current directory or LUA_PATH can stand in for the generator. */
static void use_embedded_modules(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_pushcfunction(L, vggc_search_embedded);
    lua_rawseti(L, -2, 2);
    for (lua_Integer i = luaL_len(L, -1); i > 2; i--) {
        lua_pushnil(L);
        lua_rawseti(L, -2, i);
    }
    lua_pop(L, 1);
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, vggc_open_sandbox);
    lua_setfield(L, -2, "sandbox");
    lua_pop(L, 2);
}

/* Message handler: a user error (a table with field 'message') stays a one-line message; a bug gets a traceback. */
HOST_API int vggc_on_error(lua_State *L)
{
    if (lua_istable(L, 1) && lua_getfield(L, 1, "message") == LUA_TSTRING) {
        lua_pop(L, 1);
        return 1;
    }
    const char *msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* A user's message on one line: a control byte echoed from the input (a newline in a cfg token or a field name)
 * prints as \n, \t, \r or \xHH. */
static void print_user_error(const char *msg, size_t len)
{
    fputs("vggc: ", stderr);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c >= 0x20 && c != 0x7f) fputc(c, stderr);
        else if (c == '\n') fputs("\\n", stderr);
        else if (c == '\t') fputs("\\t", stderr);
        else if (c == '\r') fputs("\\r", stderr);
        else fprintf(stderr, "\\x%02x", c);
    }
    fputc('\n', stderr);
}

/* Runs require("driver").main(host, args) with the message handler; returns the exit status. */
static int run(lua_State *L, int argc, char **argv)
{
    lua_pushcfunction(L, vggc_on_error);
    lua_getglobal(L, "require");
    lua_pushstring(L, "driver");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "vggc: internal error: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_getfield(L, -1, "main");
    vggc_push_host(L);
    lua_createtable(L, argc, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    int base = lua_gettop(L) - 4;  /* the message handler */
    if (lua_pcall(L, 2, 1, base) == LUA_OK) return (int)luaL_optinteger(L, -1, 0);
    /* vggc_on_error left the user's error table as it was, or a bug's message with its traceback */
    if (lua_istable(L, -1)) {
        size_t len = 0;
        lua_getfield(L, -1, "message");
        const char *msg = lua_tolstring(L, -1, &len);
        print_user_error(msg ? msg : "?", msg ? len : 1);
        return 2;
    }
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "vggc: internal error (please report): %s\n", msg ? msg : "?");
    return 1;
}

static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "vggc: internal error (Lua panic): %s\n", msg ? msg : "?");
    return 0; /* then Lua aborts */
}

/* A Lua state on the bounded heap, with the standard libraries and the embedded modules; NULL if out of memory. */
HOST_API lua_State *vggc_open(void)
{
    static struct heap heap = {.used = 0, .limit = SIZE_MAX};
    lua_State *L = lua_newstate(vggc_heap_alloc, &heap);
    if (!L) return NULL;
    lua_atpanic(L, panic);
    luaL_openlibs(L);
    use_embedded_modules(L);
    return L;
}

#ifndef VGGC_FUZZ
int main(int argc, char **argv)
{
    lua_State *L = vggc_open();
    if (!L) {
        fprintf(stderr, "vggc: cannot create the Lua state: out of memory\n");
        return 1;
    }
    int status = run(L, argc, argv);
    fflush(stdout);
    if (ferror(stdout)) {
        fprintf(stderr, "vggc: writing standard output failed\n");
        status = status ? status : 1;
    }
    lua_close(L);
    return status;
}
#endif
