/* host.c — the `host` table the driver receives (the embedded generator files, the few file-system calls Lua's
 * standard library lacks, the version and the link flags) and the module searcher that loads the generator's
 * modules from the binary. See host.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

#ifndef VGGC_VERSION
#define VGGC_VERSION "0.0.0"
#endif

struct vggc_embedded {
    const char *path;
    const unsigned char *data;
    size_t size;
};
extern const struct vggc_embedded vggc_embedded[];

static const struct vggc_embedded *find_embedded(const char *path)
{
    for (const struct vggc_embedded *e = vggc_embedded; e->path; e++)
        if (strcmp(e->path, path) == 0) return e;
    return NULL;
}

/* host.embedded(path) -> text or nil: a file embedded at build time ("templates/model.c.in"). */
static int host_embedded(lua_State *L)
{
    const struct vggc_embedded *e = find_embedded(luaL_checkstring(L, 1));
    if (!e) return 0;
    lua_pushlstring(L, (const char *)e->data, e->size);
    return 1;
}

/* package.searchers entry: module "layers.conv" is embedded "gen/layers/conv.lua", "layers" is
 * "gen/layers/init.lua". */
int vggc_search_embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const char *base = luaL_gsub(L, name, ".", "/");
    const char *path = lua_pushfstring(L, "gen/%s.lua", base);
    const struct vggc_embedded *e = find_embedded(path);
    if (!e) e = find_embedded(path = lua_pushfstring(L, "gen/%s/init.lua", base));
    if (!e) {
        lua_pushfstring(L, "no embedded file 'gen/%s.lua' or 'gen/%s/init.lua'", base, base);
        return 1;
    }
    if (luaL_loadbuffer(L, (const char *)e->data, e->size, lua_pushfstring(L, "@%s", path)) != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, path);
    return 2;
}

/* host.mkdir(path) -> true or nil, message: make one directory; an existing directory is fine. */
static int host_mkdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
}

/* host.isdir(path) -> boolean */
static int host_isdir(lua_State *L)
{
    struct stat st;
    lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0 && S_ISDIR(st.st_mode));
    return 1;
}

/* host.mode(path) -> st_mode of an existing path, or nil (files.lua refuses to replace a read-only file) */
static int host_mode(lua_State *L)
{
    struct stat st;
    if (stat(luaL_checkstring(L, 1), &st) != 0) return 0;
    lua_pushinteger(L, (lua_Integer)st.st_mode);
    return 1;
}

/* host.exe_dir() -> the directory of the running vggc, or nil */
static int host_exe_dir(lua_State *L)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return 0;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash) *slash = '\0';
    lua_pushstring(L, buf);
    return 1;
}

/* host.transpose(bytes, first, rows, cols, size) -> the rows x cols matrix of size-byte elements that starts at
 * bytes[first] (1-based), transposed (vggc import: a MatMul's (in, out) weight becomes a Linear's (out, in)). */
static int host_transpose(lua_State *L)
{
    size_t len;
    const char *src = luaL_checklstring(L, 1, &len);
    lua_Integer first = luaL_checkinteger(L, 2), rows = luaL_checkinteger(L, 3), cols = luaL_checkinteger(L, 4);
    lua_Integer size = luaL_checkinteger(L, 5);
    luaL_argcheck(L, rows >= 0 && cols >= 0 && size >= 1 && size <= 8 && first >= 1, 3, "bad matrix");
    luaL_argcheck(L, (cols == 0 || rows <= (lua_Integer)(len / (size_t)cols / (size_t)size)) &&
                     (lua_Integer)len - (first - 1) >= rows * cols * size, 2, "the matrix runs past the bytes");
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, (size_t)(rows * cols * size));
    src += first - 1;
    for (lua_Integer r = 0; r < rows; r++)
        for (lua_Integer c = 0; c < cols; c++)
            memcpy(dst + (c * rows + r) * size, src + (r * cols + c) * size, (size_t)size);
    luaL_pushresultsize(&b, (size_t)(rows * cols * size));
    return 1;
}

static int host_pid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

#ifdef VGGC_HOST_WEIGHTS
int vggc_host_read_weights(lua_State *L); /* weights.c: the runtime's loader, in vggc itself only */
int vggc_host_dense_pack(lua_State *L);   /* weights.c: the runtime's vggc_dense_pack */
#endif

void vggc_push_host(lua_State *L)
{
    static const luaL_Reg fns[] = {{"embedded", host_embedded}, {"mkdir", host_mkdir}, {"isdir", host_isdir},
                                   {"mode", host_mode},         {"exe_dir", host_exe_dir}, {"pid", host_pid},
                                   {"transpose", host_transpose}, {NULL, NULL}};
    luaL_newlib(L, fns);
#ifdef VGGC_HOST_WEIGHTS
    lua_pushcfunction(L, vggc_host_read_weights);
    lua_setfield(L, -2, "read_weights");
    lua_pushcfunction(L, vggc_host_dense_pack);
    lua_setfield(L, -2, "dense_pack");
#endif
    lua_pushstring(L, VGGC_VERSION);
    lua_setfield(L, -2, "version");
#ifdef VGGC_LINK_FLAGS
#ifndef VGGC_SANITIZE_FLAGS
#define VGGC_SANITIZE_FLAGS ""
#endif
    /* a sanitized build (-DVGGC_SANITIZE=ON) has a sanitized runtime: runners need the same flags to link */
    lua_pushstring(L, VGGC_SANITIZE_FLAGS[0] ? VGGC_LINK_FLAGS " " VGGC_SANITIZE_FLAGS : VGGC_LINK_FLAGS);
    lua_setfield(L, -2, "link_flags");
#endif
}
