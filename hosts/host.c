/* What both hosts share: releasing results, the digest, and the checks and
 * wording of ops, so the memory host accepts and reports exactly what the
 * shell host does. */

#include "hosts/host.h"

#include "engine/util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIBE_MAX 60 /* bytes of a command in messages */

void host_results_release(struct query_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(results[i].owner);
        free(results[i].group);
        free(results[i].link_target);
        free(results[i].error);
        free(results[i].content);
        memset(&results[i], 0, sizeof results[i]);
    }
}

void host_apply_result_release(struct apply_result *result)
{
    free(result->out);
    free(result->error);
    free(result->kept);
    free(result->replaced);
    free(result->op_out);
    memset(result, 0, sizeof *result);
}

void host_digest(const void *data, size_t len, unsigned char digest[32])
{
    unsigned int n = 32;

    /* EVP_Digest only fails on allocation failure or a broken library. */
    if (!EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) || n != 32)
        fatal("cannot compute a SHA-256 digest (libcrypto)");
}

/* Whether the last component of path names a file (not "", "." or ".."). */
static int names_file(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return *base && strcmp(base, ".") != 0 && strcmp(base, "..") != 0;
}

static int bad_name(const char *name)
{
    return name && (!*name || name[0] == '-');
}

static int env_entry_ok(const char *e)
{
    const char *eq = strchr(e, '=');
    if (!eq || eq == e || (*e >= '0' && *e <= '9'))
        return 0;
    for (const char *c = e; c < eq; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return 0;
    }
    return 1;
}

static int fail(char **error, const struct op *op, const char *reason)
{
    *error = host_op_error(op, reason);
    return -1;
}

int host_op_check(const struct op *op, char **error)
{
    const char *path = op->path ? op->path : "";

    if (op->kind == OP_RUN) {
        if (!op->command || !*op->command)
            return fail(error, op, "no command");
    } else if (!*path) {
        return fail(error, op, "empty path");
    } else if (op->kind != OP_MKDIR && !names_file(path)) {
        return fail(error, op, "the path names a directory, not a file");
    }
    if ((op->kind == OP_WRITE || op->kind == OP_MKDIR) && (op->mode < -1 || op->mode > 07777))
        return fail(error, op, "invalid mode");
    if ((op->kind == OP_WRITE || op->kind == OP_MKDIR) &&
        (bad_name(op->owner) || bad_name(op->group)))
        return fail(error, op, "invalid owner or group");
    if (op->kind == OP_REMOVE && op->expect != FILE_REGULAR && op->expect != FILE_SYMLINK)
        return fail(error, op, "removes only a regular file or a symlink");
    if (op->kind == OP_SYMLINK && (!op->target || !*op->target))
        return fail(error, op, "empty link target");
    if ((op->kind == OP_WRITE || op->kind == OP_APPEND) && op->len && !op->data)
        return fail(error, op, "no data");
    if (op->kind == OP_RUN && op->cwd && !*op->cwd)
        return fail(error, op, "empty working directory");
    for (size_t i = 0; op->kind == OP_RUN && i < op->nenv; i++) {
        if (!env_entry_ok(op->env[i])) {
            char *reason = xasprintf("invalid environment entry '%s'", op->env[i]);
            fail(error, op, reason);
            free(reason);
            return -1;
        }
    }
    return 0;
}

int host_query_check(const struct query *q, char **error)
{
    const char *reason = NULL;

    if ((q->kind == QUERY_PATH || q->kind == QUERY_GLOB) && (!q->path || !*q->path))
        reason = "no path";
    else if (q->kind == QUERY_COMMAND && (!q->command || !*q->command))
        reason = "no command";
    else if (q->kind == QUERY_COMMAND && q->cwd && !*q->cwd)
        reason = "empty working directory";
    for (size_t i = 0; !reason && q->kind == QUERY_COMMAND && i < q->nenv; i++) {
        if (!env_entry_ok(q->env[i])) {
            char *why = xasprintf("invalid environment entry '%s'", q->env[i]);
            *error = host_query_error(q, 0, why);
            free(why);
            return -1;
        }
    }
    if (!reason)
        return 0;
    *error = host_query_error(q, 0, reason);
    return -1;
}

/* 'first line of s', cut at max bytes with "..." */
static void describe_text(struct buf *out, const char *s, size_t max)
{
    size_t len = strcspn(s, "\n");
    int cut = s[len] != '\0' || len > max;

    if (len > max)
        len = max;
    buf_addc(out, '\'');
    buf_add(out, s, len);
    buf_adds(out, cut ? "...'" : "'");
}

void host_op_describe(struct buf *out, const struct op *op)
{
    static const char *const verbs[] = {
        [OP_WRITE] = "write",   [OP_MKDIR] = "mkdir",      [OP_SYMLINK] = "symlink",
        [OP_REMOVE] = "remove", [OP_RMDIR] = "rmdir",      [OP_PURGE] = "purge",
        [OP_RUN] = "run",       [OP_APPEND] = "append to", [OP_REMOVE_TREE] = "remove tree",
    };

    buf_adds(out, (unsigned)op->kind < sizeof verbs / sizeof *verbs ? verbs[op->kind] : "op");
    buf_addc(out, ' ');
    if (op->kind == OP_RUN)
        describe_text(out, op->command ? op->command : "", DESCRIBE_MAX);
    else
        buf_addf(out, "'%s'", op->path ? op->path : "");
}

char *host_op_error(const struct op *op, const char *reason)
{
    struct buf b;

    buf_init(&b);
    host_op_describe(&b, op);
    buf_addf(&b, ": %s", reason);
    return buf_detach(&b);
}

char *host_query_error(const struct query *q, int reading, const char *reason)
{
    struct buf b;

    buf_init(&b);
    if (q->kind == QUERY_COMMAND) {
        buf_adds(&b, "command ");
        describe_text(&b, q->command ? q->command : "", DESCRIBE_MAX);
    } else {
        buf_addf(&b, "%s '%s'", q->kind == QUERY_GLOB ? "glob" : reading ? "read" : "stat",
                 q->path ? q->path : "");
    }
    buf_addf(&b, ": %s", reason);
    return buf_detach(&b);
}
