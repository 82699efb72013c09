/* libFuzzer harness for the Python-literal parser (`literal` attributes). */
#include "engine/model/literal.h"

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    char *message = NULL;
    int col = 0;
    if (literal_push(L, (const char *)data, size, &message, &col) == 0)
        lua_pop(L, 1);
    free(message);
    lua_close(L);
    return 0;
}
