#include "environments/secrets.h"

#include "engine/util.h"
#include "environments/environment.h"

#include <string.h>

/* Masking what batou-ng prints or stores that it did not make itself: a
 * command's output, a host's error message, a self:log() line. Those may
 * quote a secret value whatever the node's sensitivity (`cat app.conf` in a
 * Command), so every occurrence of any secret value is replaced. */

/* The length of the longest secret value at text[at..len), or 0. */
static size_t match_at(const struct environment *env, const char *text, size_t len, size_t at)
{
    size_t best = 0;
    for (size_t i = 0; i < env->nsecret_values; i++) {
        const struct env_secret_value *v = &env->secret_values[i];
        if (v->len > best && v->len <= len - at && memcmp(text + at, v->data, v->len) == 0)
            best = v->len;
    }
    return best;
}

char *secrets_mask(const struct environment *env, const char *text, size_t len, size_t *out_len)
{
    struct buf out;
    buf_init(&out);
    xgrow(&out.data, &out.cap, len + 1, 1);
    out.data[0] = '\0';
    size_t at = 0, copied = 0;
    while (env && env->nsecret_values && at < len) {
        size_t n = match_at(env, text, len, at);
        if (n == 0) {
            at++;
            continue;
        }
        buf_add(&out, text + copied, at - copied);
        buf_adds(&out, SECRETS_PLACEHOLDER);
        at += n;
        copied = at;
    }
    buf_add(&out, text + copied, len - copied);
    if (out_len)
        *out_len = out.len;
    return buf_detach(&out);
}
