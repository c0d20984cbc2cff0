/* host.h — what main.c needs from host.c.
 *
 * vggc_push_host pushes the table driver.main receives as `host`: embedded(path), mkdir(path), isdir(path),
 * mode(path), exe_dir(), pid(), version and, in vggc itself, link_flags and read_weights (weights.c). vggc_search_embedded is a
 * package.searchers entry that finds module "a.b" as the embedded "gen/a/b.lua" or "gen/a/b/init.lua". */
#ifndef VGGC_HOST_H
#define VGGC_HOST_H

#include <lua.h>

void vggc_push_host(lua_State *L);
int vggc_search_embedded(lua_State *L);

#endif
