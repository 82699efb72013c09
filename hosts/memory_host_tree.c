/* The memory host's file tree: nodes, and path lookup with the kernel's
 * rules for symlinks, "." and "..". */

#include "hosts/memory_host_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINKS 40 /* symlinks followed in one lookup, as Linux allows */

/* Tree. */

struct mnode *memory_node_new(struct memory_host *m, const char *name, int type, unsigned mode)
{
    struct mnode *n = xcalloc(1, sizeof *n);
    n->name = xstrdup(name);
    n->type = type;
    n->mode = mode & 07777;
    n->owner = xstrdup(m->user);
    n->group = xstrdup(m->group);
    return n;
}

void memory_node_free(struct mnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        memory_node_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->owner);
    free(n->group);
    free(n->data);
    free(n->target);
    free(n);
}

struct mnode *memory_node_child(const struct mnode *dir, const char *name)
{
    for (size_t i = 0; i < dir->nkids; i++) {
        if (strcmp(dir->kids[i]->name, name) == 0)
            return dir->kids[i];
    }
    return NULL;
}

void memory_node_unlink(struct mnode *n)
{
    struct mnode *dir = n->parent;
    for (size_t i = 0; dir && i < dir->nkids; i++) {
        if (dir->kids[i] == n) {
            memmove(dir->kids + i, dir->kids + i + 1, (dir->nkids - i - 1) * sizeof *dir->kids);
            dir->nkids--;
            break;
        }
    }
    memory_node_free(n);
}

/* Put n into dir as its name, replacing what was there. */
void memory_node_link(struct mnode *dir, struct mnode *n)
{
    struct mnode *old = memory_node_child(dir, n->name);
    if (old)
        memory_node_unlink(old);
    xgrow(&dir->kids, &dir->kids_cap, dir->nkids + 1, sizeof *dir->kids);
    dir->kids[dir->nkids++] = n;
    n->parent = dir;
}

static void node_path(struct buf *out, const struct mnode *n)
{
    if (!n->parent) {
        buf_adds(out, "/");
        return;
    }
    node_path(out, n->parent);
    if (out->data[out->len - 1] != '/')
        buf_addc(out, '/');
    buf_adds(out, n->name);
}

/* Lookup. */

/* Follow the symlink n (in directory dir) to what it points at. */
static int follow_link(struct memory_host *m, struct mnode *dir, const struct mnode *n, int depth,
                       struct memory_place *at)
{
    struct buf b;
    buf_init(&b);
    if (n->target[0] != '/') {
        node_path(&b, dir);
        buf_addc(&b, '/');
    }
    buf_adds(&b, n->target);
    int rc = memory_lookup(m, b.data, 1, depth + 1, at);
    buf_release(&b);
    return rc;
}

/* Resolve path like the kernel: symlinks in the middle are followed, the
 * last one only with follow. Returns 0, or an errno (ENOENT, ENOTDIR,
 * ELOOP, EINVAL for a relative path). at->name is set even when the entry
 * does not exist, so that callers can create it. */
int memory_lookup(struct memory_host *m, const char *path, int follow, int depth,
                  struct memory_place *at)
{
    memset(at, 0, sizeof *at);
    if (depth > MAX_LINKS)
        return ELOOP;
    if (path[0] != '/')
        return EINVAL;
    struct mnode *cur = m->root;
    const char *p = path;
    size_t plen = strlen(path);
    int trailing = plen > 1 && path[plen - 1] == '/';

    for (;;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        const char *rest = p + len;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        char *comp = xstrndup(p, len);
        struct mnode *next = NULL;

        if (len == 0 || strcmp(comp, ".") == 0) {
            next = cur;
        } else if (strcmp(comp, "..") == 0) {
            next = cur->parent ? cur->parent : cur;
        } else if (last) {
            at->dir = cur;
            at->name = comp;
            at->node = memory_node_child(cur, comp);
            if (at->node && at->node->type == FILE_SYMLINK && (follow || trailing)) {
                struct mnode *link = at->node;
                free(at->name);
                return follow_link(m, cur, link, depth, at);
            }
            if (trailing && at->node && at->node->type != FILE_DIRECTORY)
                return ENOTDIR;
            return 0;
        } else {
            next = memory_node_child(cur, comp);
            if (next && next->type == FILE_SYMLINK) {
                struct memory_place via;
                int rc = follow_link(m, cur, next, depth, &via);
                free(via.name);
                if (rc) {
                    free(comp);
                    return rc;
                }
                next = via.node;
            }
            if (!next) {
                free(comp);
                return ENOENT;
            }
        }
        free(comp);
        if (next->type != FILE_DIRECTORY)
            return ENOTDIR;
        cur = next;
        if (last) {
            at->dir = cur->parent ? cur->parent : cur;
            at->node = cur;
            return 0;
        }
        p = rest;
    }
}

struct mnode *memory_find(struct memory_host *m, const char *path, int follow)
{
    struct memory_place at;
    struct mnode *n = memory_lookup(m, path, follow, 0, &at) ? NULL : at.node;
    free(at.name);
    return n;
}

/* `mkdir -p path`: missing directories are created with mode (the umask
 * applied already); the errno of the first step that fails: ENOTDIR for a
 * file in the middle, EEXIST at the end or for a dangling symlink (mkdir
 * does not follow one). */
int memory_mkdir_p(struct memory_host *m, const char *path, unsigned mode)
{
    struct buf prefix;
    int rc = 0;
    buf_init(&prefix);
    for (const char *p = path; *p && !rc;) {
        size_t len = strcspn(p, "/");
        buf_add(&prefix, p, len);
        p += len;
        while (*p == '/')
            p++;
        if (len == 0) {
            buf_adds(&prefix, "/");
            continue;
        }
        struct memory_place at;
        rc = memory_lookup(m, prefix.data, 0, 0, &at);
        struct mnode *n = at.node;
        if (!rc && n && n->type == FILE_SYMLINK)
            n = memory_find(m, prefix.data, 1);
        if (!rc && at.node && !n)
            rc = EEXIST;
        else if (!rc && n && n->type != FILE_DIRECTORY)
            rc = *p ? ENOTDIR : EEXIST;
        else if (!rc && !n && at.name)
            memory_node_link(at.dir, memory_node_new(m, at.name, FILE_DIRECTORY, mode));
        free(at.name);
        buf_addc(&prefix, '/');
    }
    buf_release(&prefix);
    return rc;
}

char *memory_parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}
