/* The homes of target users (state.c documents the record, database
 * "homes"; engine/deploy/homes.c says how a run uses it). */
#include "engine/state/state.h"
#include "engine/state/state_internal.h"

#include <stdlib.h>
#include <string.h>

#define HOME_VERSION 1

static int home_key_ok(struct state *s, const char *key, char **err)
{
    size_t n = strlen(key);
    size_t max = s->env ? (size_t)mdb_env_get_maxkeysize(s->env) : 511;
    if (n > 0 && n <= max)
        return 1;
    *err = xasprintf("state cache key '%.40s' is %s", key, n ? "too long" : "empty");
    return 0;
}

int state_home_get(struct state *s, const char *key, struct home_record *out, char **err)
{
    memset(out, 0, sizeof *out);
    if (!home_key_ok(s, key, err))
        return -1;
    if (!s->have_homes)
        return 0;
    struct buf b;
    buf_init(&b);
    int rc = state_get_copy(s, s->homes, key, strlen(key), &b, err);
    if (rc != 1) {
        buf_release(&b);
        return rc;
    }
    struct state_reader r = {(unsigned char *)b.data, b.len, 0, 0};
    char *text = xmalloc(b.len + 1);
    char *cursor = text;
    int ok = state_get_u8(&r) == HOME_VERSION;
    const char *service_user = state_get_str(&r, &cursor);
    const char *login = state_get_str(&r, &cursor);
    const char *home = state_get_str(&r, &cursor);
    /* Only an absolute home is one: anything else is no record. */
    if (ok && !r.bad && r.pos == r.len && home[0] == '/') {
        out->service_user = xstrdup(service_user);
        out->login = xstrdup(login);
        out->home = xstrdup(home);
    }
    free(text);
    buf_release(&b);
    return out->home ? 1 : 0;
}

int state_home_put(struct state *s, const char *key, const struct home_record *rec, char **err)
{
    const char *service_user = rec->service_user ? rec->service_user : "";
    const char *login = rec->login ? rec->login : "";
    if (!home_key_ok(s, key, err))
        return -1;
    if (!rec->home || rec->home[0] != '/') {
        *err = xasprintf("the home cached for '%s' must be an absolute path", key);
        return -1;
    }
    struct buf b;
    buf_init(&b);
    state_put_u8(&b, HOME_VERSION);
    state_put_str(&b, service_user, strlen(service_user));
    state_put_str(&b, login, strlen(login));
    state_put_str(&b, rec->home, strlen(rec->home));
    return state_write_record(s, STATE_OP_HOME, key, strlen(key), &b, err);
}

void state_home_release(struct home_record *r)
{
    free(r->service_user);
    free(r->login);
    free(r->home);
    memset(r, 0, sizeof *r);
}
