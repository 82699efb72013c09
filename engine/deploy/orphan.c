/* Which paths of an orphan's record --prune may remove, and how orphans are
 * shown (engine/deploy/orphan.h). */

#include "engine/deploy/orphan.h"

#include "engine/deploy/manifest.h"
#include "engine/util.h"

#include <stdlib.h>
#include <string.h>

char *orphan_path_clean(const char *path)
{
    char *out = xmalloc(strlen(path) + 1);
    size_t n = 0;
    for (const char *p = path; *p;) {
        if (*p == '/' && n > 0 && out[n - 1] == '/') {
            p++;
        } else if (*p == '.' && n > 0 && out[n - 1] == '/' && (p[1] == '/' || p[1] == '\0')) {
            p++;
        } else {
            out[n++] = *p++;
        }
    }
    while (n > 1 && out[n - 1] == '/')
        n--;
    out[n] = '\0';
    return out;
}

int orphan_path_within(const char *path, const char *dir)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    return strncmp(path, dir, len) == 0 &&
           (path[len] == '\0' || path[len] == '/' || dir[len - 1] == '/');
}

/* Whether clean path has a ".." segment: it could name anything. */
static int has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

/* The length of "<env>/<host>/" when key starts with it, else 0. */
static size_t scope_prefix(const struct orphan_scope *s, const char *key)
{
    size_t e = strlen(s->env), h = strlen(s->host);
    if (strncmp(key, s->env, e) != 0 || key[e] != '/' || strncmp(key + e + 1, s->host, h) != 0 ||
        key[e + 1 + h] != '/')
        return 0;
    return e + h + 2;
}

int orphan_is_own(const struct orphan_scope *s, const char *key)
{
    return scope_prefix(s, key) != 0;
}

/* The path key names from its segment "(Q)" at open..close, Q absolute:
 * Q itself when the key ends there, else Q joined with the argument of the
 * one segment after it ("Directory(/srv/s)/File(css/x)": /srv/s/css/x);
 * NULL when what follows is not one "/Kind(ARG)" ending the key. */
static char *named_path(const char *open, const char *close)
{
    const char *rest = close + 1;
    if (!*rest)
        return xstrndup(open + 1, (size_t)(close - open - 1));
    const char *arg = strchr(rest, '(');
    size_t len = strlen(rest);
    if (rest[0] != '/' || !arg || rest[len - 1] != ')' ||
        memchr(rest + 1, '/', (size_t)(arg - rest - 1)))
        return NULL;
    return xasprintf("%.*s/%.*s", (int)(close - open - 1), open + 1,
                     (int)(rest + len - 1 - arg - 1), arg + 1);
}

/* Whether key names path as an absolute one: a rule written with an
 * absolute path ("app/File(/etc/app.conf)"), or a file of a Directory
 * written so ("app/Directory(/srv/s)/File(x)"). Exactly that path, never
 * one below it: a key cannot make a whole tree removable. */
static int key_names(const char *key, const char *path)
{
    for (const char *open = strchr(key, '('); open; open = strchr(open + 1, '(')) {
        if (open[1] != '/' && open[1] != '~')
            continue;
        for (const char *close = strchr(open, ')'); close; close = strchr(close + 1, ')')) {
            if (close[1] != '\0' && close[1] != '/')
                continue;
            char *named = named_path(open, close);
            char *clean = named ? orphan_path_clean(named) : NULL;
            int same = clean && !has_dotdot(clean) && strcmp(path, clean) == 0;
            free(clean);
            free(named);
            if (same)
                return 1;
        }
    }
    return 0;
}

int orphan_refusal(const struct orphan_scope *s, const char *key, const char *path, struct buf *why)
{
    size_t prefix = scope_prefix(s, key);
    if (!prefix) {
        buf_addf(why, "recorded for another environment or host, not '%s/%s'", s->env, s->host);
        return 1;
    }
    char *clean = orphan_path_clean(path);
    int refused = 0;
    if ((clean[0] != '/' && clean[0] != '~') || has_dotdot(clean)) {
        buf_adds(why, "not a path a rule records");
        refused = 1;
    } else {
        size_t root_len = strcspn(key + prefix, "/");
        char *dir = xasprintf("%s/%.*s", s->work, (int)root_len, key + prefix);
        if (root_len == 0 || (!orphan_path_within(clean, dir) && !key_names(key, clean))) {
            buf_addf(why, "outside '%s', where its component deploys", dir);
            refused = 1;
        }
        free(dir);
    }
    free(clean);
    return refused;
}

/* The undo's text in single quotes, one line: "\n" for a newline, "\xNN"
 * for another control byte. */
static void add_command(struct buf *out, const char *command)
{
    buf_addc(out, '\'');
    for (const unsigned char *c = (const unsigned char *)command; *c; c++) {
        if (*c == '\n')
            buf_adds(out, "\\n");
        else if (*c < 0x20 || *c == 0x7f)
            buf_addf(out, "\\x%02x", *c);
        else
            buf_addc(out, (char)*c);
    }
    buf_addc(out, '\'');
}

int orphan_describe(const struct orphan_scope *s, const struct manifest_node *m, int will_prune,
                    struct buf *out)
{
    buf_adds(out, m->key);
    if (m->undo.command) {
        buf_adds(out, ": undo ");
        add_command(out, m->undo.command);
    }
    for (size_t i = 0; i < m->npaths; i++) {
        buf_adds(out, i ? ", '" : m->undo.command ? ", then '" : ": '");
        buf_adds(out, m->paths[i]);
        buf_addc(out, '\'');
    }
    if (!orphan_is_own(s, m->key)) {
        buf_addf(out,
                 " (recorded for another environment or host, not '%s/%s': --prune leaves it "
                 "alone)",
                 s->env, s->host);
        return 0;
    }
    struct buf kept, why;
    buf_init(&kept);
    buf_init(&why);
    for (size_t i = 0; i < m->npaths; i++) {
        buf_clear(&why);
        if (orphan_refusal(s, m->key, m->paths[i], &why))
            buf_addf(&kept, "%s'%s': %s", kept.len ? "; " : "", m->paths[i], why.data);
    }
    if (!will_prune)
        buf_adds(out, kept.len ? " (remove with --prune, which keeps " : " (remove with --prune)");
    else if (kept.len)
        buf_adds(out, " (keeping ");
    if (kept.len) {
        buf_add(out, kept.data, kept.len);
        buf_addc(out, ')');
    }
    buf_release(&kept);
    buf_release(&why);
    return 1;
}
