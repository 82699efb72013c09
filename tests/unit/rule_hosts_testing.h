#ifndef BATOU_TESTS_RULE_HOSTS_TESTING_H
#define BATOU_TESTS_RULE_HOSTS_TESTING_H

/* What the rules-against-a-host tests share (test_rule_hosts*.c): a target
 * (struct target) on the memory host or on a real `sh` through the local
 * transport and the shell host, nodes of a rule, and their check, apply,
 * prune and drift made with host ops. Include after cmocka.h, with
 * _XOPEN_SOURCE 700 (nftw) defined before any system header. */

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "hosts/host.h"
#include "hosts/local.h"
#include "hosts/loop.h"
#include "hosts/memory_host.h"
#include "hosts/session.h"
#include "hosts/shell_host.h"
#include "rules/plan.h"
#include "rules/rule.h"

#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A host to run scenarios on, with its paths below root. */
struct target {
    struct host *h;
    const char *root;
    const char *user; /* an owner the host can chown to */
    /* Drive the host until *finished (NULL: the host finishes at once). */
    void (*wait)(struct target *t, int *finished);
    struct loop *loop; /* the shell host's */
    struct session *session;
    /* Make command exit with status in queries and runs from now on
     * (NULL: the host really runs commands; scenarios use real ones). */
    void (*script)(struct target *t, const char *command, int status);
};

static inline void finished_cb(void *ctx)
{
    *(int *)ctx = 1;
}

static inline void wait_for(struct target *t, int *finished)
{
    if (t->wait)
        t->wait(t, finished);
    assert_true(*finished);
}

/* R/rel: a path below the target's root, allocated. */
static inline char *at(struct target *t, const char *rel)
{
    return xasprintf("%s/%s", t->root, rel);
}

static inline int compare_params(const void *a, const void *b)
{
    return strcmp(((const struct node_param *)a)->name, ((const struct node_param *)b)->name);
}

/* A node of kind with content (may be NULL) and name/value pairs ending
 * in NULL; a value starting with "R/" is a path below t's root. */
static inline struct node *node_new(struct target *t, const struct rule_kind *kind, const char *content,
                             size_t len, ...)
{
    struct node *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->path = xasprintf("app/%s(x)", kind->name);
    if (content) {
        n->content = xmalloc(len + 1);
        memcpy(n->content, content, len);
        n->content[len] = '\0';
        n->content_len = len;
    }
    va_list ap;
    va_start(ap, len);
    const char *name;
    while ((name = va_arg(ap, const char *))) {
        const char *value = va_arg(ap, const char *);
        n->params = xrealloc(n->params, (n->nparams + 1) * sizeof *n->params);
        n->params[n->nparams].name = xstrdup(name);
        n->params[n->nparams].value =
            strncmp(value, "R/", 2) == 0 ? at(t, value + 2) : xstrdup(value);
        n->nparams++;
    }
    va_end(ap);
    qsort(n->params, n->nparams, sizeof *n->params, compare_params);
    return n;
}

static inline void node_free(struct node *n)
{
    for (size_t i = 0; i < n->nparams; i++) {
        free(n->params[i].name);
        free(n->params[i].value);
    }
    free(n->params);
    free(n->content);
    free(n->path);
    free(n);
}

/* Run n's check at level on t: decide's verdict, its reason in reason. */
static inline int check(struct target *t, const struct node *n, enum check_level level, struct buf *reason)
{
    struct plan p;
    plan_init(&p);
    buf_clear(reason);
    assert_int_equal(n->kind->plan_check(n, level, &p, reason), 0);
    struct query_result *results = xcalloc(p.nqueries + 1, sizeof *results);
    if (p.nqueries) {
        int finished = 0;
        char *error = NULL;
        assert_int_equal(
            t->h->ops->query(t->h, p.queries, p.nqueries, results, finished_cb, &finished, &error),
            0);
        wait_for(t, &finished);
    }
    int verdict = n->kind->decide(n, level, results, p.nqueries, reason);
    host_results_release(results, p.nqueries);
    free(results);
    plan_release(&p);
    return verdict;
}

/* Apply the ops of p on t; 0, or the failing op's status (error in *error).
 * With kept, how many OP_RMDIRs and OP_REMOVEs kept their path; with
 * replaced, how many OP_WRITEs replaced a symlink. */
static inline int run_ops_seen(struct target *t, const struct plan *p, char **error, size_t *kept,
                        size_t *replaced)
{
    struct apply_result result = {0};
    int finished = 0;
    char *queue_error = NULL;
    if (p->nops == 0)
        return 0;
    assert_int_equal(
        t->h->ops->apply(t->h, p->ops, p->nops, &result, finished_cb, &finished, &queue_error), 0);
    wait_for(t, &finished);
    int status = result.error ? (result.status ? result.status : -1) : 0;
    if (error)
        *error = result.error ? xstrdup(result.error) : NULL;
    if (kept)
        *kept = result.nkept;
    if (replaced)
        *replaced = result.nreplaced;
    for (size_t i = 0; i < result.nkept; i++)
        assert_true(p->ops[result.kept[i]].kind == OP_RMDIR ||
                    p->ops[result.kept[i]].kind == OP_REMOVE);
    for (size_t i = 0; i < result.nreplaced; i++)
        assert_int_equal(p->ops[result.replaced[i]].kind, OP_WRITE);
    host_apply_result_release(&result);
    return status;
}

static inline int run_ops(struct target *t, const struct plan *p, char **error)
{
    return run_ops_seen(t, p, error, NULL, NULL);
}

/* Apply n: 0, or the failing op's status with its error in *error. The
 * number of symlinks its writes replaced in *replaced. */
static inline int try_apply(struct target *t, const struct node *n, char **error, size_t *replaced)
{
    struct plan p;
    struct buf err;
    plan_init(&p);
    buf_init(&err);
    assert_int_equal(n->kind->plan_apply(n, &p, &err), 0);
    *error = NULL;
    int status = run_ops_seen(t, &p, error, NULL, replaced);
    plan_release(&p);
    buf_release(&err);
    return status;
}

static inline void apply(struct target *t, const struct node *n)
{
    char *error = NULL;
    size_t replaced = 0;
    if (try_apply(t, n, &error, &replaced) != 0)
        fail_msg("apply of %s failed: %s", n->path, error ? error : "?");
    free(error);
}

/* Remove what n owns, as --prune would from the manifest's paths: the
 * number of paths the host kept. */
static inline size_t prune(struct target *t, const struct node *n)
{
    struct plan p;
    plan_init(&p);
    const char *paths[RULE_MAX_OWNED];
    int count = n->kind->owned_paths(n, &p, paths);
    assert_true(count >= 0);
    n->kind->plan_remove(paths, (size_t)count, &p);
    char *error = NULL;
    size_t kept = 0;
    if (run_ops_seen(t, &p, &error, &kept, NULL) != 0)
        fail_msg("remove of %s failed: %s", n->path, error ? error : "?");
    plan_release(&p);
    return kept;
}

static inline struct op remove_op(const char *path, enum file_type type)
{
    return (struct op){.kind = OP_REMOVE, .path = path, .mode = -1, .expect = type};
}

/* One op of drift "by hand". */
static inline void drift(struct target *t, struct op op)
{
    struct plan p;
    plan_init(&p);
    plan_op(&p, &op);
    char *error = NULL;
    if (run_ops(t, &p, &error) != 0)
        fail_msg("drift failed: %s", error ? error : "?");
    plan_release(&p);
}

/* What is at R/rel: its type (and, through r, the rest). */
static inline enum file_type stat_path(struct target *t, const char *rel, struct query_result *r)
{
    char *path = at(t, rel);
    struct query q = {.kind = QUERY_PATH, .path = path};
    int finished = 0;
    char *error = NULL;
    memset(r, 0, sizeof *r);
    assert_int_equal(t->h->ops->query(t->h, &q, 1, r, finished_cb, &finished, &error), 0);
    wait_for(t, &finished);
    free(path);
    assert_null(r->error);
    return r->type;
}

static inline enum file_type type_of(struct target *t, const char *rel)
{
    struct query_result r;
    enum file_type type = stat_path(t, rel, &r);
    host_results_release(&r, 1);
    return type;
}

/* "R/" in want replaced by the root: the reason expected. */
static inline void assert_reason(struct target *t, const struct buf *reason, const char *want)
{
    struct buf expect;
    buf_init(&expect);
    for (const char *s = want; *s;) {
        if (strncmp(s, "R/", 2) == 0) {
            buf_adds(&expect, t->root);
            buf_addc(&expect, '/');
            s += 2;
        } else {
            buf_addc(&expect, *s++);
        }
    }
    if (strcmp(reason->data ? reason->data : "", expect.data) != 0)
        fail_msg("reason \"%s\", want \"%s\"", reason->data, expect.data);
    buf_release(&expect);
}

/* The memory host. */

static inline void memory_script(struct target *t, const char *command, int status)
{
    memory_host_set_command(t->h, command, status);
}

static inline int memory_setup(void **state)
{
    struct target *t = xcalloc(1, sizeof *t);
    t->h = memory_host_new();
    t->root = "/srv/app";
    t->user = "app";
    t->script = memory_script;
    assert_int_equal(memory_host_mkdir(t->h, t->root, 0755), 0);
    *state = t;
    return 0;
}

static inline int memory_teardown(void **state)
{
    struct target *t = *state;
    t->h->ops->free(t->h);
    free(t);
    return 0;
}

/* A real `sh` through the local transport and the shell host, in a
 * temporary directory: the same scenarios, commands really run. */

static inline void shell_wait(struct target *t, int *finished)
{
    int64_t deadline = loop_now_ms() + 20000;
    while (!*finished && loop_now_ms() < deadline) {
        char *err = NULL;
        if (loop_step(t->loop, 1000, &err) < 0)
            fail_msg("loop_step: %s", err ? err : "?");
    }
}

static inline int shell_setup(void **state)
{
    struct target *t = xcalloc(1, sizeof *t);
    char dir[] = "/tmp/batou-rule-hosts-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    t->root = xstrdup(dir);
    const struct passwd *pw = getpwuid(geteuid());
    t->user = xstrdup(pw ? pw->pw_name : "root");
    t->wait = shell_wait;
    t->loop = loop_new();
    t->session = session_new(local_new(NULL), 20000);
    char *err = NULL;
    if (session_open(t->session, t->loop, &err) != 0)
        fail_msg("session_open: %s", err);
    t->h = shell_host_new(t->session, t->loop);
    *state = t;
    return 0;
}

static inline int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int shell_teardown(void **state)
{
    struct target *t = *state;
    t->h->ops->free(t->h);
    session_free(t->session);
    loop_free(t->loop);
    nftw(t->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free((char *)t->root);
    free((char *)t->user);
    free(t);
    return 0;
}

#endif
