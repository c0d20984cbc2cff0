/* weights.c — host.read_weights: the runtime's own safetensors loader, run by the generator for `--weights` at
 * generate time (the weights then go into the generated output as const data). The same checks and the same
 * one-line messages as a runner's `--weights`, and the same BatchNorm folding, because it is the same code. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vggc.h"

/* Every array the loader fills: the model's tensors, then zero biases a BatchNorm fold writes into. */
typedef struct {
    vggc_tensor *tensors;
    vggc_bn_fold *folds;
    float **data;
    int n_tensors, n_arrays, n_folds;
} manifest;

static void release(manifest *m)
{
    for (int i = 0; m->data && i < m->n_arrays; i++) free(m->data[i]);
    free(m->data);
    free(m->tensors);
    free(m->folds);
}

static lua_Integer field_int(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    lua_Integer v = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

/* tensors[i] = {name, shape = {...}, param}; the name stays on the Lua stack's table, which outlives the load */
static void read_tensor(lua_State *L, int t, vggc_tensor *out, float **data)
{
    lua_getfield(L, t, "name");
    out->name = luaL_checkstring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, t, "shape");
    out->rank = (int)luaL_len(L, -1);
    luaL_argcheck(L, out->rank >= 1 && out->rank <= 4, 3, "rank 1 to 4");
    out->count = 1;
    for (int d = 0; d < out->rank; d++) {
        lua_geti(L, -1, d + 1);
        out->shape[d] = luaL_checkinteger(L, -1);
        out->count *= out->shape[d];
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "param");
    out->is_param = lua_toboolean(L, -1);
    lua_pop(L, 1);
    *data = calloc((size_t)out->count, sizeof(float));
    out->data = *data;
}

/* folds[i] = {weight, bias, gamma, beta, mean, var (1-based array indices), channels, per_channel, eps} */
static void read_fold(lua_State *L, int t, const manifest *m, vggc_bn_fold *f)
{
    static const char *keys[] = {"weight", "bias", "gamma", "beta", "mean", "var"};
    float *arrays[6];
    for (int k = 0; k < 6; k++) {
        lua_Integer i = field_int(L, t, keys[k]);
        luaL_argcheck(L, i >= 1 && i <= m->n_arrays, 4, "fold index out of range");
        arrays[k] = m->data[i - 1];
    }
    *f = (vggc_bn_fold){arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], arrays[5],
                        (int)field_int(L, t, "channels"), (int)field_int(L, t, "per_channel"), 0.0f};
    lua_getfield(L, t, "eps");
    f->eps = (float)luaL_checknumber(L, -1);
    lua_pop(L, 1);
}

/* The manifest from the Lua tables at stack slots 3 (tensors), 4 (folds) and 5 (zeros); 0, or -1 out of memory. */
static int read_manifest(lua_State *L, manifest *m)
{
    m->n_tensors = (int)luaL_len(L, 3);
    m->n_arrays = m->n_tensors + (int)luaL_len(L, 5);
    m->n_folds = (int)luaL_len(L, 4);
    m->tensors = calloc((size_t)m->n_tensors + 1, sizeof *m->tensors);
    m->data = calloc((size_t)m->n_arrays + 1, sizeof *m->data);
    m->folds = calloc((size_t)m->n_folds + 1, sizeof *m->folds);
    int ok = m->tensors && m->data && m->folds;
    for (int i = 0; ok && i < m->n_tensors; i++) {
        lua_geti(L, 3, i + 1);
        read_tensor(L, lua_gettop(L), &m->tensors[i], &m->data[i]);
        ok = m->data[i] != NULL;
        lua_pop(L, 1);
    }
    for (int i = m->n_tensors; ok && i < m->n_arrays; i++) {
        lua_geti(L, 5, i - m->n_tensors + 1);
        m->data[i] = calloc((size_t)field_int(L, lua_gettop(L), "count"), sizeof(float));
        ok = m->data[i] != NULL;
        lua_pop(L, 1);
    }
    for (int i = 0; ok && i < m->n_folds; i++) {
        lua_geti(L, 4, i + 1);
        read_fold(L, lua_gettop(L), m, &m->folds[i]);
        lua_pop(L, 1);
    }
    return ok ? 0 : -1;
}

/* {name = float32 bytes} of every array, the zeros' names from stack slot 5 */
static void push_arrays(lua_State *L, const manifest *m)
{
    lua_createtable(L, 0, m->n_arrays);
    for (int i = 0; i < m->n_arrays; i++) {
        lua_Integer count;
        if (i < m->n_tensors) {
            count = m->tensors[i].count;
            lua_pushstring(L, m->tensors[i].name);
        } else {
            lua_geti(L, 5, i - m->n_tensors + 1);
            count = field_int(L, lua_gettop(L), "count");
            lua_getfield(L, -1, "name");
            lua_remove(L, -2);
        }
        lua_pushlstring(L, (const char *)m->data[i], (size_t)count * sizeof(float));
        lua_settable(L, -3);
    }
}

/* host.read_weights(path, model_name, tensors, folds, zeros, by_order) -> {name = float32 bytes, ...} after
 * BatchNorm folding, or nil, message (the loader's one line). zeros = {{name, count}, ...}: arrays after the
 * tensors, zero before folding (the bias of a bias-less conv with BatchNorm). */
int vggc_host_read_weights(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    luaL_checktype(L, 5, LUA_TTABLE);
    int by_order = lua_toboolean(L, 6);
    manifest m = {0};
    if (read_manifest(L, &m)) {
        release(&m);
        return luaL_error(L, "out of memory reading %s", path);
    }
    vggc_model model = {name, m.tensors, m.n_tensors, m.folds, m.n_folds, 1, 1, 1, 1, 1, 0, NULL, 0};
    vggc_error err;
    if (vggc_load_safetensors(&model, path, by_order ? VGGC_MATCH_BY_ORDER : VGGC_MATCH_BY_NAME, &err)) {
        release(&m);
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    push_arrays(L, &m);
    release(&m);
    return 1;
}

/* host.dense_pack(bytes, fin, fout) -> a linear layer's float32 weight (fout, fin) packed by the runtime's own
 * vggc_dense_pack, as the host's vggc_dense reads it (a blob built in for the host has no load step to pack it). */
int vggc_host_dense_pack(lua_State *L)
{
    size_t len;
    const char *bytes = luaL_checklstring(L, 1, &len);
    lua_Integer fin = luaL_checkinteger(L, 2), fout = luaL_checkinteger(L, 3);
    luaL_argcheck(L, fin >= 1 && fout >= 1 && fin <= INT32_MAX && fout <= INT32_MAX &&
                         (size_t)fin * (size_t)fout * sizeof(float) == len, 1, "not a (fout, fin) float32 matrix");
    float *weight = malloc(len), *packed = malloc(VGGC_DENSE_WEIGHT_FLOATS(fin, fout) * sizeof(float));
    if (!weight || !packed) {
        free(weight), free(packed);
        return luaL_error(L, "out of memory packing a %d x %d linear weight", (int)fout, (int)fin);
    }
    memcpy(weight, bytes, len);
    vggc_dense_pack(packed, weight, (int)fin, (int)fout);
    lua_pushlstring(L, (const char *)packed, VGGC_DENSE_WEIGHT_FLOATS(fin, fout) * sizeof(float));
    free(weight), free(packed);
    return 1;
}
