/* sandbox.h — what the host needs from sandbox.c.
 *
 * vggc's Lua state runs on vggc_heap_alloc with a struct heap as its userdata: no limit (SIZE_MAX) normally, and
 * a ceiling while a model file runs. vggc_open_sandbox is the opener of the `sandbox` module: sandbox.run(chunk)
 * calls chunk() with at most sandbox.max_instructions instructions, sandbox.max_seconds of CPU time,
 * sandbox.max_bytes more heap and only safe string methods, and returns true, result or false, kind
 * ("instructions", "time", "memory" or "error"), message. */
#ifndef VGGC_SANDBOX_H
#define VGGC_SANDBOX_H

#include <lua.h>
#include <stddef.h>

struct heap {
    size_t used, limit;
    long instructions;   /* counted by the hook while a chunk runs in the sandbox */
    double deadline;     /* CPU seconds at which the hook stops it */
    const char *stopped; /* why the hook stopped it ("instructions" or "time"), or NULL */
};

void *vggc_heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
int vggc_open_sandbox(lua_State *L);

#endif
