/* The configured graphs (state.c documents the database "graphs"; its
 * values are engine/model/model_cache.c's, opaque here). */
#include "engine/state/state.h"
#include "engine/state/state_internal.h"

#include <stdlib.h>
#include <string.h>

static int graph_key_ok(struct state *s, const char *key, char **err)
{
    size_t n = strlen(key);
    size_t max = s->env ? (size_t)mdb_env_get_maxkeysize(s->env) : 511;
    if (n > 0 && n <= max)
        return 1;
    *err = xasprintf("state cache key '%.40s' is %s", key, n ? "too long" : "empty");
    return 0;
}

int state_graph_get(struct state *s, const char *key, unsigned char **data, size_t *len,
                    char **err)
{
    *data = NULL;
    *len = 0;
    if (!graph_key_ok(s, key, err))
        return -1;
    if (!s->have_graphs)
        return 0;
    struct buf b;
    buf_init(&b);
    int rc = state_get_copy(s, s->graphs, key, strlen(key), &b, err);
    if (rc != 1) {
        buf_release(&b);
        return rc;
    }
    *len = b.len;
    *data = (unsigned char *)buf_detach(&b);
    if (!*data)
        *data = xcalloc(1, 1);
    return 1;
}

int state_graph_put(struct state *s, const char *key, const unsigned char *data, size_t len,
                    char **err)
{
    if (!graph_key_ok(s, key, err))
        return -1;
    struct buf val;
    buf_init(&val);
    buf_add(&val, data, len);
    return state_write_record(s, STATE_OP_GRAPH, key, strlen(key), &val, err);
}
