/* The shell host: the object, the way requests reach the session, and how a
 * tool's error message becomes a reason. The fragments live in
 * shell_host_query.c (queries) and shell_host_apply.c (ops). */

#include "hosts/shell_host.h"

#include "engine/util.h"
#include "hosts/loop.h"
#include "hosts/session.h"
#include "hosts/shell.h"
#include "hosts/shell_host_internal.h"

#include <stdlib.h>
#include <string.h>

/* Messages of the system (strerror in the C locale) that tools end their
 * lines with; the ones a deploy meets. */
static const char *const system_messages[] = {
    "No such file or directory",
    "Permission denied",
    "Not a directory",
    "Is a directory",
    "File exists",
    "Directory not empty",
    "Operation not permitted",
    "Read-only file system",
    "No space left on device",
    "Disk quota exceeded",
    "File name too long",
    "Too many levels of symbolic links",
    "Input/output error",
    "Device or resource busy",
    "Text file busy",
    "Invalid argument",
    "Invalid cross-device link",
    "Stale file handle",
    "Argument list too long",
    "Cannot allocate memory",
    "Too many open files",
    "Transport endpoint is not connected",
};

/* dash says these of its own redirections ("cannot create F: Directory
 * nonexistent"): the system's words for them. */
static const char *const shell_messages[][2] = {
    {"Directory nonexistent", "No such file or directory"},
    {"nonexistent directory", "No such file or directory"},
};

static size_t trimmed(const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    return len;
}

const char *shell_host_system_reason(const char *line, size_t len)
{
    len = trimmed(line, len);
    for (size_t i = 0; i < sizeof shell_messages / sizeof *shell_messages; i++) {
        size_t mlen = strlen(shell_messages[i][0]);
        if (len >= mlen + 2 && memcmp(line + len - mlen, shell_messages[i][0], mlen) == 0 &&
            memcmp(line + len - mlen - 2, ": ", 2) == 0)
            return shell_messages[i][1];
    }
    for (size_t i = 0; i < sizeof system_messages / sizeof *system_messages; i++) {
        size_t mlen = strlen(system_messages[i]);
        if (len == mlen && memcmp(line, system_messages[i], mlen) == 0)
            return system_messages[i];
        if (len >= mlen + 2 && memcmp(line + len - mlen, system_messages[i], mlen) == 0 &&
            memcmp(line + len - mlen - 2, ": ", 2) == 0)
            return system_messages[i];
    }
    return NULL;
}

char *shell_host_reason(const char *line, size_t len)
{
    len = trimmed(line, len);
    const char *system = shell_host_system_reason(line, len);
    if (system)
        return xstrdup(system);
    /* "tool: message": the tool is one word */
    for (size_t i = 0; i + 1 < len && line[i] != ' '; i++) {
        if (line[i] == ':' && line[i + 1] == ' ') {
            line += i + 2;
            len -= i + 2;
            break;
        }
    }
    return xstrndup(line, len);
}

char *shell_host_strdup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void shell_host_quote_path(struct buf *out, const char *path)
{
    if (path[0] == '-') {
        struct buf b;
        buf_init(&b);
        buf_adds(&b, "./");
        buf_adds(&b, path);
        shell_quote(out, b.data);
        buf_release(&b);
        return;
    }
    shell_quote(out, path);
}

int shell_host_submit(struct shell_host *h, const struct buf *fragment,
                      void (*done)(const struct session_reply *reply, void *ctx), void *ctx,
                      char **error)
{
    if (session_submit(h->s, fragment->data, fragment->len, done, ctx))
        return 0;
    const char *why = session_error(h->s);
    *error = xasprintf("%s: %s", session_describe(h->s),
                       why ? why : "the session takes no more requests");
    return -1;
}

static const char *shell_host_describe(const struct host *h)
{
    return session_describe(((const struct shell_host *)h)->s);
}

static void shell_host_free(struct host *h)
{
    free(h);
}

static const struct host_ops shell_host_ops = {
    .query = shell_host_query,
    .apply = shell_host_apply,
    .describe = shell_host_describe,
    .free = shell_host_free,
};

struct host *shell_host_new(struct session *s, struct loop *loop)
{
    struct shell_host *h = xcalloc(1, sizeof *h);
    h->base.ops = &shell_host_ops;
    h->s = s;
    h->loop = loop;
    if (loop)
        loop_add(loop, s);
    return &h->base;
}
