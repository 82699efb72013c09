/* The memory host's queries and ops on its tree (hosts/memory_host_tree.c).
 * Every op is written to fail where and how the shell host's fragment fails
 * on a real system (the errno its tool reports), so a rule tested here
 * behaves the same on a target. */

#include "hosts/memory_host_internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define DIR_SIZE 4096

static struct memory_host *mem(struct host *h)
{
    return (struct memory_host *)h;
}

static int failing(const struct memory_host *m, const char *path)
{
    for (size_t i = 0; path && i < m->nfailures; i++) {
        const char *f = m->failures[i].path;
        size_t len = strlen(f);
        if (m->failures[i].error && strncmp(path, f, len) == 0 &&
            (path[len] == '\0' || path[len] == '/' || (len > 0 && f[len - 1] == '/')))
            return m->failures[i].error;
    }
    return 0;
}

static void set_owner(struct mnode *n, const char *owner, const char *group)
{
    if (owner) {
        free(n->owner);
        n->owner = xstrdup(owner);
    }
    if (group) {
        free(n->group);
        n->group = xstrdup(group);
    }
}

/* Ops: each returns 0, or an errno with the op unapplied. */

/* shell_write_file: a directory fails, mktemp in the directory, chown,
 * chmod (or the old file's mode), rename over the path: a symlink there is
 * replaced (*replaced), never followed. */
static int op_write(struct memory_host *m, const struct op *op, int *replaced)
{
    struct memory_place at;
    int rc = 0;

    struct mnode *through = memory_find(m, op->path, 0);
    if (through && through->type == FILE_DIRECTORY)
        return EISDIR;
    *replaced = through && through->type == FILE_SYMLINK;
    if (op->leading) {
        char *dir = memory_parent_of(op->path);
        rc = memory_mkdir_p(m, dir, 0777 & ~m->umask);
        free(dir);
        if (rc)
            return rc;
    }
    rc = memory_lookup(m, op->path, 0, 0, &at);
    if (!rc && !at.name)
        rc = EISDIR;
    if (!rc) {
        unsigned mode = 0666 & ~m->umask;
        if (op->mode >= 0)
            mode = (unsigned)op->mode;
        else if (through && through->type == FILE_REGULAR)
            mode = through->mode;
        struct mnode *n = memory_node_new(m, at.name, FILE_REGULAR, mode);
        n->data = xmalloc(op->len + 1);
        if (op->len)
            memcpy(n->data, op->data, op->len);
        n->data[op->len] = '\0';
        n->len = op->len;
        set_owner(n, op->owner, op->group);
        memory_node_link(at.dir, n);
    }
    free(at.name);
    return rc;
}

/* `>>`: through a symlink, a missing file made with the umask. */
static int op_append(struct memory_host *m, const struct op *op)
{
    struct mnode *n = memory_find(m, op->path, 1);
    if (n && n->type == FILE_DIRECTORY)
        return EISDIR;
    if (!n) {
        struct memory_place at;
        int rc = memory_lookup(m, op->path, 0, 0, &at);
        if (!rc && !at.name)
            rc = EISDIR;
        if (rc) {
            free(at.name);
            return rc;
        }
        n = memory_node_new(m, at.name, FILE_REGULAR, 0666 & ~m->umask);
        n->data = xmalloc(1);
        n->data[0] = '\0';
        memory_node_link(at.dir, n);
        free(at.name);
    }
    n->data = xrealloc(n->data, n->len + op->len + 1);
    if (op->len)
        memcpy(n->data + n->len, op->data, op->len);
    n->len += op->len;
    n->data[n->len] = '\0';
    return 0;
}

/* A symlink at the path fails the op: neither followed nor replaced. */
static int op_mkdir(struct memory_host *m, const struct op *op)
{
    struct mnode *dir = memory_find(m, op->path, 0);
    int rc = 0;

    if (dir && dir->type == FILE_SYMLINK)
        return -1; /* HOST_MKDIR_SYMLINK */
    if (!dir || dir->type != FILE_DIRECTORY) {
        if (op->leading) {
            rc = memory_mkdir_p(m, op->path, 0777 & ~m->umask);
        } else {
            struct memory_place at;
            rc = memory_lookup(m, op->path, 0, 0, &at);
            if (!rc && (at.node || !at.name))
                rc = EEXIST;
            if (!rc)
                memory_node_link(at.dir,
                                 memory_node_new(m, at.name, FILE_DIRECTORY, 0777 & ~m->umask));
            free(at.name);
        }
        dir = rc ? NULL : memory_find(m, op->path, 0);
    }
    if (!rc && dir) {
        set_owner(dir, op->owner, op->group);
        if (op->mode >= 0)
            dir->mode = (unsigned)op->mode;
    }
    return rc;
}

/* An empty directory in the way is removed; a file or link is replaced. */
static int op_symlink(struct memory_host *m, const struct op *op)
{
    struct memory_place at;
    int rc = 0;

    if (op->leading) {
        char *dir = memory_parent_of(op->path);
        rc = memory_mkdir_p(m, dir, 0777 & ~m->umask);
        free(dir);
        if (rc)
            return rc;
    }
    rc = memory_lookup(m, op->path, 0, 0, &at);
    if (!rc && !at.name)
        rc = EISDIR;
    if (!rc && at.node && at.node->type == FILE_DIRECTORY && at.node->nkids > 0)
        rc = ENOTEMPTY;
    if (!rc) {
        struct mnode *n = memory_node_new(m, at.name, FILE_SYMLINK, 0777);
        n->target = xstrdup(op->target);
        memory_node_link(at.dir, n);
    }
    free(at.name);
    return rc;
}

/* rm -f of a path of the expected type: what is absent (or behind a file)
 * is fine, anything else stays (*kept). */
static int op_remove(struct memory_host *m, const struct op *op, int *kept)
{
    struct memory_place at;
    int rc = memory_lookup(m, op->path, 0, 0, &at);

    if (rc == ENOENT || rc == ENOTDIR || rc == ELOOP)
        rc = 0;
    else if (!rc && at.node && at.node->type == (int)op->expect)
        memory_node_unlink(at.node);
    else if (!rc && at.node)
        *kept = 1;
    free(at.name);
    return rc;
}

/* Whether nothing but directories is below directory n. */
static int only_directories(const struct mnode *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        if (n->kids[i]->type != FILE_DIRECTORY || !only_directories(n->kids[i]))
            return 0;
    }
    return 1;
}

/* The shell host's walk and rmdirs: a directory holding only directories
 * goes, anything else at the path stays (*kept); absent is fine. */
static int op_rmdir(struct memory_host *m, const struct op *op, int *kept)
{
    struct memory_place at;
    int rc = memory_lookup(m, op->path, 0, 0, &at);

    if (rc == ENOENT || rc == ENOTDIR || rc == ELOOP)
        rc = 0;
    else if (!rc && at.node && at.node == m->root)
        rc = EBUSY;
    else if (!rc && at.node && at.node->type == FILE_DIRECTORY && only_directories(at.node))
        memory_node_unlink(at.node);
    else if (!rc && at.node)
        *kept = 1;
    free(at.name);
    return rc;
}

/* rm -rf of what a Command made: whatever is at the path goes, a symlink as
 * a link; absent is fine. */
static int op_remove_tree(struct memory_host *m, const struct op *op)
{
    struct memory_place at;
    int rc = memory_lookup(m, op->path, 0, 0, &at);

    if (rc == ENOENT || rc == ENOTDIR || rc == ELOOP)
        rc = 0;
    else if (!rc && at.node && at.node == m->root)
        rc = EBUSY;
    else if (!rc && at.node)
        memory_node_unlink(at.node);
    free(at.name);
    return rc;
}

/* The shell's glob: the last component is a pattern (FNM_PERIOD: a leading
 * dot must be matched literally; a backslash is an ordinary character), the
 * directory is literal; a directory that is not there matches nothing. */
static int op_purge(struct memory_host *m, const struct op *op)
{
    char *dirpath = memory_parent_of(op->path);
    const char *pattern = strrchr(op->path, '/');
    struct mnode *dir = memory_find(m, dirpath, 1);

    free(dirpath);
    pattern = pattern ? pattern + 1 : op->path;
    if (!dir || dir->type != FILE_DIRECTORY)
        return 0;
    for (size_t i = 0; i < dir->nkids;) {
        if (fnmatch(pattern, dir->kids[i]->name, FNM_PERIOD | FNM_NOESCAPE) == 0)
            memory_node_unlink(dir->kids[i]);
        else
            i++;
    }
    return 0;
}

static const struct memory_script *script_find(const struct memory_host *m, const char *command)
{
    for (size_t i = 0; i < m->nscripts; i++) {
        if (strcmp(m->scripts[i].command, command) == 0)
            return &m->scripts[i];
    }
    return NULL;
}

static int cwd_ok(struct memory_host *m, const char *cwd)
{
    if (!cwd)
        return 1;
    struct mnode *dir = failing(m, cwd) ? NULL : memory_find(m, cwd, 1);
    return dir && dir->type == FILE_DIRECTORY;
}

/* Apply one op; on failure fill result's status and error. 0 or -1. */
static int apply_one(struct memory_host *m, const struct op *op, struct apply_result *result,
                     struct buf *out, int *kept, int *replaced)
{
    int rc;
    if (op->kind == OP_RUN) {
        if (!cwd_ok(m, op->cwd)) {
            char *reason = xasprintf("cannot change to directory '%s'", op->cwd);
            result->status = 1;
            result->error = host_op_error(op, reason);
            free(reason);
            return -1;
        }
        const struct memory_script *s = script_find(m, op->command);
        if (s && s->out)
            buf_adds(out, s->out);
        if (s && s->status) {
            char *reason = xasprintf("exit status %d", s->status);
            result->status = s->status;
            result->error = host_op_error(op, reason);
            free(reason);
            return -1;
        }
        return 0;
    }
    /* a purge's pattern lies below its directory, so it is failed too */
    rc = failing(m, op->path);
    if (!rc && op->path[0] != '/')
        rc = EINVAL;
    if (!rc) {
        switch (op->kind) {
        case OP_WRITE:
            rc = op_write(m, op, replaced);
            break;
        case OP_MKDIR:
            rc = op_mkdir(m, op);
            break;
        case OP_SYMLINK:
            rc = op_symlink(m, op);
            break;
        case OP_REMOVE:
            rc = op_remove(m, op, kept);
            break;
        case OP_RMDIR:
            rc = op_rmdir(m, op, kept);
            break;
        case OP_APPEND:
            rc = op_append(m, op);
            break;
        case OP_REMOVE_TREE:
            rc = op_remove_tree(m, op);
            break;
        default:
            rc = op_purge(m, op);
            break;
        }
    }
    if (!rc)
        return 0;
    result->status = 1;
    result->error = host_op_error(op, rc < 0 ? HOST_MKDIR_SYMLINK : strerror(rc));
    return -1;
}

static int memory_apply(struct host *h, const struct op *ops, size_t n, struct apply_result *result,
                        host_done_fn *done, void *ctx, char **error)
{
    struct memory_host *m = mem(h);
    struct buf out;

    for (size_t i = 0; i < n; i++) {
        if (host_op_check(&ops[i], error))
            return -1;
    }
    m->apply_calls++;
    size_t kept_cap = 0, replaced_cap = 0;
    buf_init(&out);
    result->op_out = xcalloc(n ? n : 1, sizeof *result->op_out);
    for (size_t i = 0; i < n; i++) {
        int kept = 0, replaced = 0;
        result->op_out[i] = out.len;
        host_op_describe(&m->log, &ops[i]);
        if (apply_one(m, &ops[i], result, &out, &kept, &replaced)) {
            buf_adds(&m->log, " failed\n");
            break;
        }
        if (replaced) {
            buf_adds(&m->log, " replaced a symlink");
            xgrow(&result->replaced, &replaced_cap, result->nreplaced + 1,
                  sizeof *result->replaced);
            result->replaced[result->nreplaced++] = i;
        }
        if (kept) {
            buf_adds(&m->log, " kept");
            xgrow(&result->kept, &kept_cap, result->nkept + 1, sizeof *result->kept);
            result->kept[result->nkept++] = i;
        }
        buf_addc(&m->log, '\n');
        result->done++;
    }
    for (size_t k = result->done + 1; k < n; k++)
        result->op_out[k] = out.len;
    result->outlen = out.len;
    result->out = buf_detach(&out);
    done(ctx);
    return 0;
}

/* Whether the login user may read n's content (sha256sum): root may; others
 * by the owner's, group's or others' read bit. */
static int readable(const struct memory_host *m, const struct mnode *n)
{
    if (strcmp(m->user, "root") == 0)
        return 1;
    if (strcmp(n->owner, m->user) == 0)
        return (n->mode & 0400) != 0;
    if (strcmp(n->group, m->group) == 0)
        return (n->mode & 0040) != 0;
    return (n->mode & 0004) != 0;
}

/* The shell host's _bc: unreadable first, then too large, then the bytes. */
static void read_content(const struct memory_host *m, const struct mnode *n, struct query_result *r)
{
    if (!readable(m, n)) {
        r->content_state = CONTENT_UNREADABLE;
    } else if (n->len > HOST_CONTENT_MAX) {
        r->content_state = CONTENT_TOO_LARGE;
    } else {
        r->content_state = CONTENT_READ;
        r->content = xmalloc(n->len + 1);
        memcpy(r->content, n->data, n->len + 1); /* data ends in a NUL */
        r->content_len = n->len;
    }
}

static void query_path(struct memory_host *m, const struct query *q, struct query_result *r)
{
    struct memory_place at;
    int rc = failing(m, q->path);

    if (!rc)
        rc = memory_lookup(m, q->path, 0, 0, &at);
    else
        memset(&at, 0, sizeof at);
    free(at.name);
    if (rc == ENOENT || rc == ENOTDIR || (!rc && !at.node)) {
        r->type = FILE_NONE;
        return;
    }
    if (rc) {
        r->error = host_query_error(q, 0, strerror(rc));
        return;
    }
    const struct mnode *n = at.node;
    r->type = n->type;
    r->mode = n->mode;
    r->owner = xstrdup(n->owner);
    r->group = xstrdup(n->group);
    r->size = n->type == FILE_REGULAR   ? (long long)n->len
              : n->type == FILE_SYMLINK ? (long long)strlen(n->target)
                                        : DIR_SIZE;
    if (n->type == FILE_SYMLINK)
        r->link_target = xstrdup(n->target);
    if (n->type == FILE_REGULAR && q->digest && !readable(m, n)) {
        r->error = host_query_error(q, 1, strerror(EACCES));
    } else if (n->type == FILE_REGULAR && q->digest) {
        host_digest(n->data, n->len, r->digest);
        r->has_digest = 1;
    }
    if (n->type == FILE_REGULAR && q->content)
        read_content(m, n, r);
}

/* 1 when something matches path as op_purge reads it. */
static int glob_matches(struct memory_host *m, const char *path)
{
    char *dirpath = memory_parent_of(path);
    const char *pattern = strrchr(path, '/');
    struct mnode *dir = memory_find(m, dirpath, 1);
    free(dirpath);
    pattern = pattern ? pattern + 1 : path;
    if (!dir || dir->type != FILE_DIRECTORY)
        return 0;
    for (size_t i = 0; i < dir->nkids; i++)
        if (fnmatch(pattern, dir->kids[i]->name, FNM_PERIOD | FNM_NOESCAPE) == 0)
            return 1;
    return 0;
}

static int memory_query(struct host *h, const struct query *queries, size_t n,
                        struct query_result *results, host_done_fn *done, void *ctx, char **error)
{
    struct memory_host *m = mem(h);

    for (size_t i = 0; i < n; i++) {
        if (host_query_check(&queries[i], error))
            return -1;
    }
    m->query_calls++;
    for (size_t i = 0; i < n; i++) {
        const struct query *q = &queries[i];
        if (q->kind == QUERY_PATH) {
            query_path(m, q, &results[i]);
        } else if (q->kind == QUERY_GLOB) {
            results[i].status = glob_matches(m, q->path);
        } else if (!cwd_ok(m, q->cwd)) {
            char *reason = xasprintf("cannot change to directory '%s'", q->cwd);
            results[i].status = -1;
            results[i].error = host_query_error(q, 0, reason);
            free(reason);
        } else {
            const struct memory_script *s = script_find(m, q->command);
            results[i].status = s ? s->status : 0;
        }
    }
    done(ctx);
    return 0;
}

static const char *memory_describe(const struct host *h)
{
    (void)h;
    return "memory";
}

static void memory_free(struct host *h)
{
    struct memory_host *m = mem(h);
    if (!m)
        return;
    memory_node_free(m->root);
    free(m->user);
    free(m->group);
    for (size_t i = 0; i < m->nscripts; i++) {
        free(m->scripts[i].command);
        free(m->scripts[i].out);
    }
    free(m->scripts);
    for (size_t i = 0; i < m->nfailures; i++)
        free(m->failures[i].path);
    free(m->failures);
    buf_release(&m->log);
    free(m);
}

static const struct host_ops memory_ops = {
    .query = memory_query,
    .apply = memory_apply,
    .describe = memory_describe,
    .free = memory_free,
};

struct host *memory_host_new(void)
{
    struct memory_host *m = xcalloc(1, sizeof *m);
    m->base.ops = &memory_ops;
    m->user = xstrdup("root");
    m->group = xstrdup("root");
    m->umask = 022;
    m->root = memory_node_new(m, "", FILE_DIRECTORY, 0755);
    buf_init(&m->log);
    return &m->base;
}

void memory_host_set_user(struct host *h, const char *user, const char *group, unsigned umask)
{
    struct memory_host *m = mem(h);
    free(m->user);
    free(m->group);
    m->user = xstrdup(user);
    m->group = xstrdup(group);
    m->umask = umask & 0777;
}

/* Seeding: make the parents, then put n (named after path's last component)
 * in place. 0 or -1. */
static int seed(struct memory_host *m, const char *path, struct mnode *n)
{
    struct memory_place at;
    char *dir = memory_parent_of(path);
    int rc = path[0] == '/' ? memory_mkdir_p(m, dir, 0755) : EINVAL;

    free(dir);
    memset(&at, 0, sizeof at);
    if (!rc)
        rc = memory_lookup(m, path, 0, 0, &at);
    if (!rc && at.name) {
        free(n->name);
        n->name = at.name;
        memory_node_link(at.dir, n);
        return 0;
    }
    free(at.name);
    memory_node_free(n);
    return -1;
}

int memory_host_put_file(struct host *h, const char *path, const void *data, size_t len,
                         unsigned mode)
{
    struct memory_host *m = mem(h);
    struct mnode *n = memory_node_new(m, "", FILE_REGULAR, mode);
    n->data = xmalloc(len + 1);
    if (len)
        memcpy(n->data, data, len);
    n->data[len] = '\0';
    n->len = len;
    return seed(m, path, n);
}

int memory_host_mkdir(struct host *h, const char *path, unsigned mode)
{
    struct memory_host *m = mem(h);
    struct mnode *old = memory_find(m, path, 1);
    if (old && old->type == FILE_DIRECTORY) {
        old->mode = mode & 07777;
        return 0;
    }
    return seed(m, path, memory_node_new(m, "", FILE_DIRECTORY, mode));
}

int memory_host_put_symlink(struct host *h, const char *path, const char *target)
{
    struct memory_host *m = mem(h);
    struct mnode *n = memory_node_new(m, "", FILE_SYMLINK, 0777);
    n->target = xstrdup(target);
    return seed(m, path, n);
}

const struct memory_entry *memory_host_get(struct host *h, const char *path)
{
    struct mnode *n = memory_find(mem(h), path, 0);
    if (!n)
        return NULL;
    n->view = (struct memory_entry){
        .type = n->type,
        .mode = n->mode,
        .owner = n->owner,
        .group = n->group,
        .data = n->data,
        .len = n->len,
        .target = n->target,
    };
    return &n->view;
}

static struct memory_script *script_get(struct memory_host *m, const char *command)
{
    struct memory_script *s = (struct memory_script *)script_find(m, command);
    if (s)
        return s;
    xgrow(&m->scripts, &m->scripts_cap, m->nscripts + 1, sizeof *m->scripts);
    s = &m->scripts[m->nscripts++];
    memset(s, 0, sizeof *s);
    s->command = xstrdup(command);
    return s;
}

void memory_host_set_command(struct host *h, const char *command, int status)
{
    script_get(mem(h), command)->status = status;
}

void memory_host_set_output(struct host *h, const char *command, const char *out)
{
    struct memory_script *s = script_get(mem(h), command);
    free(s->out);
    s->out = xstrdup(out);
}

void memory_host_fail(struct host *h, const char *path, int error)
{
    struct memory_host *m = mem(h);
    for (size_t i = 0; i < m->nfailures; i++) {
        if (strcmp(m->failures[i].path, path) == 0) {
            m->failures[i].error = error;
            return;
        }
    }
    xgrow(&m->failures, &m->failures_cap, m->nfailures + 1, sizeof *m->failures);
    m->failures[m->nfailures++] = (struct memory_failure){xstrdup(path), error};
}

const char *memory_host_log(const struct host *h)
{
    const struct memory_host *m = (const struct memory_host *)h;
    return m->log.data ? m->log.data : "";
}

void memory_host_clear_log(struct host *h)
{
    buf_clear(&mem(h)->log);
}

size_t memory_host_query_calls(const struct host *h)
{
    return ((const struct memory_host *)h)->query_calls;
}

size_t memory_host_apply_calls(const struct host *h)
{
    return ((const struct memory_host *)h)->apply_calls;
}
