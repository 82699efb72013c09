/* The "~" host: copies the queries and ops with their paths expanded, hands
 * them to the inner host and frees the copies (a host keeps what it needs
 * of them, hosts/shell_host.c copies paths and commands). */

#include "hosts/ssh_home.h"

#include "engine/util.h"
#include "hosts/host.h"

#include <stdlib.h>
#include <string.h>

struct home_host {
    struct host base;
    struct host *inner;
    char *home;
};

char *ssh_home_expand(const char *path, const char *home)
{
    if (path && path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
        size_t n = strlen(home);
        while (n > 1 && home[n - 1] == '/')
            n--;
        return xasprintf("%.*s%s", (int)n, home, path + 1);
    }
    return path ? xstrdup(path) : NULL;
}

/* Expanded copies live in strs[0..*n) until the call returns. */
static const char *expand(struct home_host *h, const char *path, char **strs, size_t *n)
{
    if (!path || path[0] != '~')
        return path;
    strs[*n] = ssh_home_expand(path, h->home);
    return strs[(*n)++];
}

static void free_all(char **strs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(strs[i]);
    free(strs);
}

static int home_query(struct host *host, const struct query *queries, size_t n,
                      struct query_result *results, host_done_fn *done, void *ctx, char **error)
{
    struct home_host *h = (struct home_host *)host;
    struct query *copy = xcalloc(n ? n : 1, sizeof *copy);
    char **strs = xcalloc(2 * n + 1, sizeof *strs);
    size_t nstrs = 0;
    for (size_t i = 0; i < n; i++) {
        copy[i] = queries[i];
        copy[i].path = expand(h, queries[i].path, strs, &nstrs);
        copy[i].cwd = expand(h, queries[i].cwd, strs, &nstrs);
    }
    int rc = h->inner->ops->query(h->inner, copy, n, results, done, ctx, error);
    free_all(strs, nstrs);
    free(copy);
    return rc;
}

static int home_apply(struct host *host, const struct op *ops, size_t n,
                      struct apply_result *result, host_done_fn *done, void *ctx, char **error)
{
    struct home_host *h = (struct home_host *)host;
    struct op *copy = xcalloc(n ? n : 1, sizeof *copy);
    char **strs = xcalloc(2 * n + 1, sizeof *strs);
    size_t nstrs = 0;
    for (size_t i = 0; i < n; i++) {
        copy[i] = ops[i];
        copy[i].path = expand(h, ops[i].path, strs, &nstrs);
        copy[i].cwd = expand(h, ops[i].cwd, strs, &nstrs);
    }
    int rc = h->inner->ops->apply(h->inner, copy, n, result, done, ctx, error);
    free_all(strs, nstrs);
    free(copy);
    return rc;
}

static const char *home_describe(const struct host *host)
{
    const struct home_host *h = (const struct home_host *)host;
    return h->inner->ops->describe(h->inner);
}

static void home_free(struct host *host)
{
    struct home_host *h = (struct home_host *)host;
    if (!h)
        return;
    h->inner->ops->free(h->inner);
    free(h->home);
    free(h);
}

static const struct host_ops home_ops = {
    .query = home_query,
    .apply = home_apply,
    .describe = home_describe,
    .free = home_free,
};

struct host *ssh_home_host_new(struct host *inner, const char *home)
{
    struct home_host *h = xcalloc(1, sizeof *h);
    h->base.ops = &home_ops;
    h->inner = inner;
    h->home = xstrdup(home);
    return &h->base;
}
