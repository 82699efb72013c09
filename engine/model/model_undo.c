/* memmem */
#define _GNU_SOURCE
/* What a Command's removal writes into the target manifest, checked while
 * the graph is built (engine/model/model_graph.c): its `undo` text, cwd and
 * env and the paths it `owns` are recorded there in plaintext
 * (engine/deploy/manifest.c, U records), so none may hold a secret value;
 * and an `owns` path must name something --prune may remove whole
 * (docs/safety.md, "What --prune may remove"). */

#include "engine/model/model_build.h"
#include "engine/model/model_internal.h"

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"
#include "rules/node.h"
#include "rules/plan.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

/* A secret value long enough to be masked (environments/secrets.h) in s:
 * shorter ones are not masked in output either. */
static int holds_secret(const struct build *b, const char *s)
{
    const struct environment *env = b->m->env;
    size_t len = strlen(s);
    for (size_t i = 0; i < env->nsecret_values; i++) {
        const struct env_secret_value *v = &env->secret_values[i];
        if (v->len >= SECRETS_MASK_MIN && v->len <= len && memmem(s, len, v->data, v->len))
            return 1;
    }
    return 0;
}

static void secret_error(struct build *b, int node, const char *param)
{
    char *message = xasprintf(
        "parameter '%s' of Command holds a secret value: with 'undo' or 'owns' it is recorded "
        "in the target's manifest in plaintext; let the undo read the secret from a file on "
        "the target",
        param);
    build_defined_error(b, node, message);
    free(message);
}

/* Whether path (an `owns` entry as written) names nothing --prune may
 * remove whole: empty, ".", "/", "~" (with any trailing '/') or a ".."
 * segment. */
static int whole_refused(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    if (len == 0 || (len == 1 && (path[0] == '.' || path[0] == '/' || path[0] == '~')))
        return 1;
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

/* Whether a and b name one path, but for "/./", "//" and trailing '/'s. */
static int same_path(const char *a, const char *b)
{
    for (;;) {
        while (a[0] == '/' && (a[1] == '/' || (a[1] == '.' && (a[2] == '/' || !a[2]))))
            a += a[1] == '/' ? 1 : 2;
        while (b[0] == '/' && (b[1] == '/' || (b[1] == '.' && (b[2] == '/' || !b[2]))))
            b += b[1] == '/' ? 1 : 2;
        if (a[0] == '/' && !a[1])
            a++;
        if (b[0] == '/' && !b[1])
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

/* The component's whole directory: the Command did not make that. */
static int is_workdir(const struct node *n, const char *path, const char *workdir)
{
    const char *cwd = rule_node_param(n, "cwd");
    if (path[0] == '/' || path[0] == '~' || !cwd)
        return same_path(path, workdir);
    char *full = xasprintf("%s/%s", cwd, path);
    int same = same_path(full, workdir);
    free(full);
    return same;
}

static void check_owns(struct build *b, int node, const struct node *n, const char *workdir,
                       struct plan *strings)
{
    const char *const *owns;
    size_t nowns;
    struct buf err;
    buf_init(&err);
    if (rule_node_list(n, "owns", strings, &owns, &nowns, &err) < 0) {
        build_defined_error(b, node, err.data);
        buf_release(&err);
        return;
    }
    buf_release(&err);
    if (nowns > RULE_MAX_OWNED) {
        char *message = xasprintf("parameter 'owns' of Command lists %zu paths, at most %d",
                                  nowns, RULE_MAX_OWNED);
        build_defined_error(b, node, message);
        free(message);
        return;
    }
    for (size_t i = 0; i < nowns; i++) {
        if (whole_refused(owns[i]) || (workdir && is_workdir(n, owns[i], workdir))) {
            char *message = xasprintf(
                "parameter 'owns' of Command: '%s' is no path --prune may remove whole "
                "(not '', '.', '/', '~', the component's directory nor one with '..')",
                owns[i]);
            build_defined_error(b, node, message);
            free(message);
            return;
        }
        if (holds_secret(b, owns[i])) {
            secret_error(b, node, "owns");
            return;
        }
    }
}

void build_undo_check(struct build *b, int node, const struct node *n, const char *workdir)
{
    if (n->kind != &rule_command)
        return;
    const char *undo = rule_node_param(n, "undo");
    if (!undo && !rule_node_param(n, "owns"))
        return;
    struct plan strings;
    plan_init(&strings);
    int errors = b->errors;
    if (undo && !*undo)
        build_defined_error(b, node, "parameter 'undo' of Command is empty");
    else if (undo && holds_secret(b, undo))
        secret_error(b, node, "undo");
    const char *cwd = rule_node_param(n, "cwd");
    if (b->errors == errors && cwd && holds_secret(b, cwd))
        secret_error(b, node, "cwd");
    if (b->errors == errors)
        check_owns(b, node, n, workdir, &strings);
    const char *const *env;
    size_t nenv;
    struct buf err;
    buf_init(&err);
    /* A malformed env is reported with the Command's other parameters. */
    if (b->errors == errors && undo && rule_node_env(n, "env", &strings, &env, &nenv, &err) == 0)
        for (size_t i = 0; i < nenv; i++)
            if (holds_secret(b, strchr(env[i], '=') + 1)) {
                secret_error(b, node, "env");
                break;
            }
    buf_release(&err);
    plan_release(&strings);
}
