#include "environments/secrets.h"

#include "engine/util.h"
#include "environments/environment.h"

#include <stdlib.h>
#include <string.h>

/* Masking what batou-ng prints or stores that it did not make itself: a
 * command's output, a host's error message, a self:log() line. Those may
 * quote a secret value whatever the node's sensitivity (`cat app.conf` in a
 * Command), so every occurrence of any secret value is replaced -- but of a
 * value too short to mask (SECRETS_MASK_MIN). batou-ng's own words are
 * never masked: callers mask only the text that came from elsewhere. */

/* The length of the longest secret value at text[at..len), or 0. */
static size_t match_at(const struct environment *env, const char *text, size_t len, size_t at)
{
    size_t best = 0;
    for (size_t i = 0; i < env->nsecret_values; i++) {
        const struct env_secret_value *v = &env->secret_values[i];
        if (v->len >= SECRETS_MASK_MIN && v->len > best && v->len <= len - at &&
            memcmp(text + at, v->data, v->len) == 0)
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

/* The verbs host_op_describe and host_query_error begin an error with. */
static const char *const error_verbs[] = {
    "write ", "mkdir ", "symlink ", "remove ", "rmdir ", "purge ", "run ", "append to ",
    "command ", "stat ", "read ",
};

static size_t verb_length(const char *message)
{
    for (size_t i = 0; i < sizeof error_verbs / sizeof *error_verbs; i++) {
        size_t n = strlen(error_verbs[i]);
        if (strncmp(message, error_verbs[i], n) == 0 && message[n] == '\'')
            return n;
    }
    return 0;
}

/* Whether reason is batou-ng's "exit status N". */
static int is_exit_status(const char *reason)
{
    static const char prefix[] = "exit status ";
    if (strncmp(reason, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *digits = reason + sizeof prefix - 1;
    return *digits && strspn(digits, "0123456789") == strlen(digits);
}

static void add_masked(struct buf *out, const struct environment *env, const char *text,
                       size_t len)
{
    size_t n;
    char *masked = secrets_mask(env, text, len, &n);
    buf_add(out, masked, n);
    free(masked);
}

char *secrets_mask_error(const struct environment *env, const char *message)
{
    size_t verb = verb_length(message);
    /* The subject ends at the last "': " (a quoted path may hold "': "). */
    const char *end = NULL;
    for (const char *p = strstr(message + verb, "': "); p; p = strstr(p + 1, "': "))
        end = p;
    if (!verb || !end)
        return secrets_mask(env, message, strlen(message), NULL);
    struct buf out;
    buf_init(&out);
    buf_add(&out, message, verb);
    add_masked(&out, env, message + verb, (size_t)(end + 1 - message) - verb);
    buf_adds(&out, ": ");
    const char *reason = end + 3;
    if (is_exit_status(reason))
        buf_adds(&out, reason);
    else
        add_masked(&out, env, reason, strlen(reason));
    return buf_detach(&out);
}
