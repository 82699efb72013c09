/* link: rules/binary_file.c rules/command.c rules/directory.c rules/file.c rules/plan.c rules/purge.c rules/rule.c rules/rule_effects.c rules/rules.c rules/symlink.c engine/util.c hosts/host.c hosts/memory_host*.c hosts/shell_host*.c hosts/shell_host_apply.c hosts/shell_host_query.c hosts/shell.c hosts/session*.c hosts/local.c hosts/loop.c rules/fetch.c hosts/fetch.c hosts/shell.c engine/trace.c */
/* nftw */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The six rules against a host: a fresh target is dirty with the right
 * reason, apply makes it clean, drift made by hand is seen at the right
 * level, remove removes what was owned. Every scenario makes its drift with
 * host ops, so the same table runs on any host (struct target). */

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

static void finished_cb(void *ctx)
{
    *(int *)ctx = 1;
}

static void wait_for(struct target *t, int *finished)
{
    if (t->wait)
        t->wait(t, finished);
    assert_true(*finished);
}

/* R/rel: a path below the target's root, allocated. */
static char *at(struct target *t, const char *rel)
{
    return xasprintf("%s/%s", t->root, rel);
}

static int compare_params(const void *a, const void *b)
{
    return strcmp(((const struct node_param *)a)->name, ((const struct node_param *)b)->name);
}

/* A node of kind with content (may be NULL) and name/value pairs ending
 * in NULL; a value starting with "R/" is a path below t's root. */
static struct node *node_new(struct target *t, const struct rule_kind *kind, const char *content,
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

static void node_free(struct node *n)
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
static int check(struct target *t, const struct node *n, enum check_level level, struct buf *reason)
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
static int run_ops_seen(struct target *t, const struct plan *p, char **error, size_t *kept,
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

static int run_ops(struct target *t, const struct plan *p, char **error)
{
    return run_ops_seen(t, p, error, NULL, NULL);
}

/* Apply n: 0, or the failing op's status with its error in *error. The
 * number of symlinks its writes replaced in *replaced. */
static int try_apply(struct target *t, const struct node *n, char **error, size_t *replaced)
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

static void apply(struct target *t, const struct node *n)
{
    char *error = NULL;
    size_t replaced = 0;
    if (try_apply(t, n, &error, &replaced) != 0)
        fail_msg("apply of %s failed: %s", n->path, error ? error : "?");
    free(error);
}

/* Remove what n owns, as --prune would from the manifest's paths: the
 * number of paths the host kept. */
static size_t prune(struct target *t, const struct node *n)
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

static struct op remove_op(const char *path, enum file_type type)
{
    return (struct op){.kind = OP_REMOVE, .path = path, .mode = -1, .expect = type};
}

/* One op of drift "by hand". */
static void drift(struct target *t, struct op op)
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
static enum file_type stat_path(struct target *t, const char *rel, struct query_result *r)
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

static enum file_type type_of(struct target *t, const char *rel)
{
    struct query_result r;
    enum file_type type = stat_path(t, rel, &r);
    host_results_release(&r, 1);
    return type;
}

/* "R/" in want replaced by the root: the reason expected. */
static void assert_reason(struct target *t, const struct buf *reason, const char *want)
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

static void scenario_file(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    /* A space and a newline in the path; leading makes the parents. */
    struct node *n = node_new(t, &rule_file, "hello\n", 6, "path", "R/etc/my app/x\ny.conf", "mode",
                              "0750", "owner", t->user, "leading", "true", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/etc/my app/x\\ny.conf' does not exist");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);

    /* Content drift of the same size: invisible to stat, seen by content.
     * (A write by hand makes a new file, owned by whoever wrote it.) */
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "HELLO\n",
                         .len = 6,
                         .mode = -1,
                         .owner = t->user});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "content differs (sha256 3b09aeb6f5f5... want 5891b5b522d5...)");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);

    /* Other size, other mode. */
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "hi\n",
                         .len = 3,
                         .mode = 0604,
                         .owner = t->user});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "size is 3 bytes, want 6; mode is 0604, want 0750");
    apply(t, n);
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "hello\n",
                         .len = 6,
                         .mode = 0755,
                         .owner = t->user});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "mode is 0755, want 0750");
    apply(t, n);

    /* Replaced by a directory. */
    drift(t, remove_op(path, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_MKDIR, .path = path, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/etc/my app/x\\ny.conf' is a directory, want a file");
    /* Pruning it keeps the directory and what a user put in it: prune
     * removes a file where the rule wrote a file, nothing else. */
    char *data = at(t, "etc/my app/x\ny.conf/user.db");
    drift(t, (struct op){.kind = OP_WRITE, .path = data, .data = "db", .len = 2, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf/user.db"), FILE_REGULAR);
    drift(t, remove_op(data, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    free(data);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);

    /* A symlink planted at its path: the check does not follow it (dirty),
     * the apply replaces the link by the file and says so, and what the
     * link pointed to keeps its content and mode. */
    char *victim = at(t, "victim");
    drift(t,
          (struct op){.kind = OP_WRITE, .path = victim, .data = "secret", .len = 6, .mode = 0600});
    drift(t, remove_op(path, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = victim, .mode = -1});
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "'R/etc/my app/x\\ny.conf' is a symlink to 'R/victim', want a file");
    /* Pruning it keeps the link (no file of its rule is there). */
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf"), FILE_SYMLINK);
    char *error = NULL;
    size_t replaced = 0;
    assert_int_equal(try_apply(t, n, &error, &replaced), 0);
    assert_int_equal(replaced, 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);
    struct query_result r;
    assert_int_equal(stat_path(t, "victim", &r), FILE_REGULAR);
    assert_int_equal(r.size, 6);
    assert_int_equal(r.mode, 0600);
    host_results_release(&r, 1);
    /* A symlink to a directory: replaced too, nothing lands inside. */
    char *dir = at(t, "victim-dir");
    drift(t, (struct op){.kind = OP_MKDIR, .path = dir, .mode = 0700});
    drift(t, remove_op(path, FILE_REGULAR));
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = dir, .mode = -1});
    assert_int_equal(try_apply(t, n, &error, &replaced), 0);
    assert_int_equal(replaced, 1);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf"), FILE_REGULAR);
    assert_int_equal(type_of(t, "victim-dir/x\ny.conf"), FILE_NONE);
    free(dir);
    free(victim);

    /* Remove what it owns: the file, not its directory. */
    prune(t, n);
    assert_int_equal(type_of(t, "etc/my app/x\ny.conf"), FILE_NONE);
    assert_int_equal(type_of(t, "etc/my app"), FILE_DIRECTORY);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    node_free(n);
    buf_release(&reason);
}

static void scenario_binary_file(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    static const char data[] = "\0\x01\xff\n\0";
    struct node *n = node_new(t, &rule_binary_file, data, 5, "path", "R/blob", NULL);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 1);
    struct query_result r;
    stat_path(t, "blob", &r);
    assert_int_equal(r.size, 5);
    host_results_release(&r, 1);
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){
                 .kind = OP_WRITE, .path = path, .data = "\0\x01\xfe\n\0", .len = 5, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_non_null(strstr(reason.data, "content differs (sha256 "));
    /* Not sensitive, but a sensitive one never shows digests. */
    n->sensitive = 1;
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "content differs (sensitive: digests not shown)");
    prune(t, n);
    assert_int_equal(type_of(t, "blob"), FILE_NONE);
    node_free(n);
    buf_release(&reason);
}

static void scenario_directory(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    struct node *n = node_new(t, &rule_directory, NULL, 0, "path", "R/var/data dir", "mode", "0711",
                              "leading", "true", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/var/data dir' does not exist");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){.kind = OP_MKDIR, .path = path, .mode = 0700});
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "mode is 0700, want 0711");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    /* Replaced by a file. */
    drift(t, (struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = "x", .len = 1, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/var/data dir' is a file, want a directory");
    drift(t, remove_op(path, FILE_REGULAR));
    apply(t, n);
    /* A symlink planted at its path (to a directory elsewhere): dirty, and
     * the apply refuses it; what it points to keeps its mode. */
    char *other = at(t, "other");
    drift(t, (struct op){.kind = OP_MKDIR, .path = other, .mode = 0700});
    drift(t, (struct op){.kind = OP_RMDIR, .path = path, .mode = -1});
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = other, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/var/data dir' is a symlink to 'R/other', want a directory; a "
                             "deploy neither follows nor replaces it: remove it");
    char *error = NULL;
    size_t replaced = 0;
    assert_int_not_equal(try_apply(t, n, &error, &replaced), 0);
    char *want = xasprintf("mkdir '%s': %s", path, HOST_MKDIR_SYMLINK);
    assert_string_equal(error, want);
    free(want);
    free(error);
    struct query_result r;
    assert_int_equal(stat_path(t, "other", &r), FILE_DIRECTORY);
    assert_int_equal(r.mode, 0700);
    host_results_release(&r, 1);
    assert_int_equal(type_of(t, "var/data dir"), FILE_SYMLINK);
    drift(t, remove_op(path, FILE_SYMLINK));
    free(other);
    apply(t, n);
    /* An application's file deep inside keeps the whole tree as it is:
     * pruning the Directory is an rmdir, never an rm -r. */
    char *inside = at(t, "var/data dir/sub/deeper/app.db");
    char *empty = at(t, "var/data dir/.empty");
    drift(t,
          (struct op){
              .kind = OP_WRITE, .path = inside, .data = "db", .len = 2, .mode = -1, .leading = 1});
    drift(t, (struct op){.kind = OP_MKDIR, .path = empty, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "var/data dir/sub/deeper/app.db"), FILE_REGULAR);
    assert_int_equal(type_of(t, "var/data dir/.empty"), FILE_DIRECTORY);
    /* Once only empty directories are left (its source's subdirectories,
     * hidden ones too), they go with it; its parent stays. */
    drift(t, remove_op(inside, FILE_REGULAR));
    assert_int_equal(prune(t, n), 0);
    assert_int_equal(type_of(t, "var/data dir"), FILE_NONE);
    assert_int_equal(type_of(t, "var"), FILE_DIRECTORY);
    /* Gone already: nothing to do. */
    assert_int_equal(prune(t, n), 0);
    /* Something else took its place: a symlink (to a directory) or a file
     * is kept, and what a link points to is never touched. */
    char *elsewhere = at(t, "elsewhere");
    drift(t, (struct op){.kind = OP_MKDIR, .path = elsewhere, .mode = -1});
    drift(t, (struct op){.kind = OP_SYMLINK, .path = path, .target = elsewhere, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "var/data dir"), FILE_SYMLINK);
    assert_int_equal(type_of(t, "elsewhere"), FILE_DIRECTORY);
    drift(t, remove_op(path, FILE_SYMLINK));
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = "x", .len = 1, .mode = -1});
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "var/data dir"), FILE_REGULAR);
    free(elsewhere);
    free(empty);
    free(inside);
    node_free(n);
    buf_release(&reason);
}

static void scenario_symlink(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    struct node *n =
        node_new(t, &rule_symlink, NULL, 0, "target", "R/current", "source", "R/v2", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/current' does not exist");
    apply(t, n); /* a dangling link is fine: v2 may come later */
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    char *v1 = at(t, "v1");
    const char *target = rule_node_param(n, "target");
    drift(t, (struct op){.kind = OP_SYMLINK, .path = target, .target = v1, .mode = -1});
    assert_int_equal(check(t, n, CHECK_CONTENT, &reason), 0);
    assert_reason(t, &reason, "'R/current' points to 'R/v1', want 'R/v2'");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    /* Pruning removes the link, never what it points to. */
    char *v2 = at(t, "v2");
    drift(t, (struct op){.kind = OP_MKDIR, .path = v2, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = v1, .data = "x", .len = 1, .mode = -1});
    prune(t, n);
    assert_int_equal(type_of(t, "current"), FILE_NONE);
    assert_int_equal(type_of(t, "v2"), FILE_DIRECTORY);
    /* A file where the link should be: pruning keeps it (its rule made a
     * link, not this file). */
    drift(t, (struct op){.kind = OP_WRITE, .path = target, .data = "x", .len = 1, .mode = -1});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/current' is a file, want a symlink");
    assert_int_equal(prune(t, n), 1);
    assert_int_equal(type_of(t, "current"), FILE_REGULAR);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    free(v1);
    free(v2);
    node_free(n);
    buf_release(&reason);
}

static void scenario_purge(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    const char *files[] = {"cache/a.pyc", "cache/b.pyc", "cache/keep.py"};
    for (size_t i = 0; i < 3; i++) {
        char *path = at(t, files[i]);
        drift(t,
              (struct op){
                  .kind = OP_WRITE, .path = path, .data = "x", .len = 1, .mode = -1, .leading = 1});
        free(path);
    }
    struct node *n = node_new(t, &rule_purge, NULL, 0, "pattern", "R/cache/*.pyc", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/cache/*.pyc' matches something");
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    assert_int_equal(type_of(t, "cache/a.pyc"), FILE_NONE);
    assert_int_equal(type_of(t, "cache/b.pyc"), FILE_NONE);
    assert_int_equal(type_of(t, "cache/keep.py"), FILE_REGULAR);
    apply(t, n); /* nothing matching is fine */
    prune(t, n); /* owns nothing: removes nothing */
    assert_int_equal(type_of(t, "cache/keep.py"), FILE_REGULAR);
    node_free(n);
    buf_release(&reason);
}

static void scenario_command(struct target *t)
{
    struct buf reason;
    buf_init(&reason);
    /* unless: satisfied while it exits 0. On a real sh the command runs;
     * on the memory host its status is scripted. */
    const char *unless = "test -e stamp";
    struct node *n = node_new(t, &rule_command, NULL, 0, "name", "init", "run",
                              "touch stamp && test \"$MODE\" = 'a b'", "unless", unless, "cwd",
                              "R/", "env", "{\"MODE\":\"a b\"}", NULL);
    if (t->script)
        t->script(t, unless, 1);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'unless' exited with 1");
    apply(t, n);
    if (t->script)
        t->script(t, unless, 0);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    node_free(n);

    /* An unless whose cwd is not there yet (an earlier node makes it):
     * not satisfied, not an error. */
    n = node_new(t, &rule_command, NULL, 0, "name", "later", "unless", "true", "cwd", "R/not yet",
                 NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason,
                  "'unless' could not run: command 'true': cannot change to directory "
                  "'R/not yet'");
    node_free(n);

    /* creates, relative to cwd. */
    n = node_new(t, &rule_command, NULL, 0, "name", "build", "run", "mkdir -p out && : > out/app",
                 "creates", "out/app", "cwd", "R/", NULL);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "'R/out/app' does not exist");
    apply(t, n);
    if (t->script) { /* the memory host runs nothing: do what run would */
        char *made = at(t, "out/app");
        drift(t, (struct op){.kind = OP_WRITE, .path = made, .mode = -1, .leading = 1});
        free(made);
    }
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    prune(t, n); /* what a command makes is not owned */
    assert_int_equal(type_of(t, "out/app"), FILE_REGULAR);
    node_free(n);

    /* A failing run fails the apply with its status. */
    n = node_new(t, &rule_command, NULL, 0, "name", "fail", "run", "exit 3", NULL);
    if (t->script)
        t->script(t, "exit 3", 3);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "no unless/creates: runs when its inputs change");
    struct plan p;
    plan_init(&p);
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    char *error = NULL;
    assert_int_equal(run_ops(t, &p, &error), 3);
    assert_non_null(error);
    free(error);
    plan_release(&p);
    node_free(n);
    buf_release(&reason);
}

/* Ask for R/rel's content: the result in r (release it). */
static void read_path(struct target *t, const char *rel, struct query_result *r)
{
    char *path = at(t, rel);
    struct query q = {.kind = QUERY_PATH, .path = path, .content = 1};
    int finished = 0;
    char *error = NULL;
    memset(r, 0, sizeof *r);
    assert_int_equal(t->h->ops->query(t->h, &q, 1, r, finished_cb, &finished, &error), 0);
    wait_for(t, &finished);
    free(path);
    assert_null(r->error);
}

/* Content queries (for diffs): the exact bytes of a regular file, NULs and
 * all; nothing for what is not one; too large past HOST_CONTENT_MAX. */
static void scenario_content(struct target *t)
{
    static const char bytes[] = "line 1\n\0\x01\xff\nno newline";
    char *path = at(t, "data");
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = bytes, .len = sizeof bytes - 1,
                         .mode = 0600});
    struct query_result r;
    read_path(t, "data", &r);
    assert_int_equal(r.type, FILE_REGULAR);
    assert_int_equal(r.content_state, CONTENT_READ);
    assert_int_equal(r.content_len, sizeof bytes - 1);
    assert_memory_equal(r.content, bytes, sizeof bytes - 1);
    assert_int_equal(r.content[r.content_len], '\0');
    host_results_release(&r, 1);

    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = "", .len = 0, .mode = -1});
    read_path(t, "data", &r);
    assert_int_equal(r.content_state, CONTENT_READ);
    assert_int_equal(r.content_len, 0);
    host_results_release(&r, 1);

    read_path(t, "absent", &r);
    assert_int_equal(r.type, FILE_NONE);
    assert_int_equal(r.content_state, CONTENT_NONE);
    host_results_release(&r, 1);

    char *dir = at(t, "dir");
    drift(t, (struct op){.kind = OP_MKDIR, .path = dir, .mode = -1});
    read_path(t, "dir", &r);
    assert_int_equal(r.type, FILE_DIRECTORY);
    assert_int_equal(r.content_state, CONTENT_NONE);
    host_results_release(&r, 1);
    char *link = at(t, "link");
    drift(t, (struct op){.kind = OP_SYMLINK, .path = link, .target = path});
    read_path(t, "link", &r);
    assert_int_equal(r.type, FILE_SYMLINK);
    assert_int_equal(r.content_state, CONTENT_NONE);
    host_results_release(&r, 1);

    size_t big = HOST_CONTENT_MAX + 1;
    char *data = xcalloc(big, 1);
    memset(data, 'x', big);
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = data, .len = big, .mode = -1});
    read_path(t, "data", &r);
    assert_int_equal(r.size, (long long)big);
    assert_int_equal(r.content_state, CONTENT_TOO_LARGE);
    assert_null(r.content);
    host_results_release(&r, 1);
    drift(t, (struct op){.kind = OP_WRITE, .path = path, .data = data, .len = big - 1, .mode = -1});
    read_path(t, "data", &r);
    assert_int_equal(r.content_state, CONTENT_READ);
    assert_int_equal(r.content_len, big - 1);
    assert_memory_equal(r.content, data, big - 1);
    host_results_release(&r, 1);
    free(data);
    free(link);
    free(dir);
    free(path);
}

/* Many content queries in one request (a release's diffs: one read for
 * all of them on a shell host, hosts/shell_host_query.c): each gets its own
 * file's bytes, whatever the others are. */
static void scenario_contents_together(struct target *t)
{
    static const char nuls[] = "\0\0two NULs first\n";
    const char *names[] = {"a", "empty", "absent", "nuls", "dir", "big", "-dash", "b"};
    enum { N = sizeof names / sizeof *names };
    char *paths[N];
    struct query qs[N];
    for (size_t i = 0; i < N; i++) {
        paths[i] = at(t, names[i]);
        qs[i] = (struct query){.kind = QUERY_PATH, .path = paths[i], .content = 1};
    }
    size_t big = HOST_CONTENT_MAX + 1;
    char *data = xcalloc(big, 1);
    memset(data, 'y', big);
    drift(t, (struct op){.kind = OP_WRITE, .path = paths[0], .data = "A\n", .len = 2, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = paths[1], .data = "", .len = 0, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = paths[3], .data = nuls, .len = sizeof nuls - 1,
                         .mode = -1});
    drift(t, (struct op){.kind = OP_MKDIR, .path = paths[4], .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = paths[5], .data = data, .len = big, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = paths[6], .data = "D", .len = 1, .mode = -1});
    drift(t, (struct op){.kind = OP_WRITE, .path = paths[7], .data = "B", .len = 1, .mode = -1});
    struct query_result r[N];
    memset(r, 0, sizeof r);
    int finished = 0;
    char *error = NULL;
    assert_int_equal(t->h->ops->query(t->h, qs, N, r, finished_cb, &finished, &error), 0);
    wait_for(t, &finished);
    for (size_t i = 0; i < N; i++)
        assert_null(r[i].error);
    assert_int_equal(r[0].content_state, CONTENT_READ);
    assert_int_equal(r[0].content_len, 2);
    assert_memory_equal(r[0].content, "A\n", 3);
    assert_int_equal(r[1].content_state, CONTENT_READ);
    assert_int_equal(r[1].content_len, 0);
    assert_int_equal(r[2].type, FILE_NONE);
    assert_int_equal(r[2].content_state, CONTENT_NONE);
    assert_int_equal(r[3].content_len, sizeof nuls - 1);
    assert_memory_equal(r[3].content, nuls, sizeof nuls - 1);
    assert_int_equal(r[4].content_state, CONTENT_NONE);
    assert_int_equal(r[5].content_state, CONTENT_TOO_LARGE);
    assert_null(r[5].content);
    assert_int_equal(r[6].content_len, 1);
    assert_memory_equal(r[6].content, "D", 2);
    assert_int_equal(r[7].content_state, CONTENT_READ);
    assert_memory_equal(r[7].content, "B", 2);
    host_results_release(r, N);
    for (size_t i = 0; i < N; i++)
        free(paths[i]);
    free(data);
}

/* The memory host. */

static void memory_script(struct target *t, const char *command, int status)
{
    memory_host_set_command(t->h, command, status);
}

static int memory_setup(void **state)
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

static int memory_teardown(void **state)
{
    struct target *t = *state;
    t->h->ops->free(t->h);
    free(t);
    return 0;
}

static void memory_file(void **state)
{
    scenario_file(*state);
}
static void memory_binary_file(void **state)
{
    scenario_binary_file(*state);
}
static void memory_directory(void **state)
{
    scenario_directory(*state);
}
static void memory_symlink(void **state)
{
    scenario_symlink(*state);
}
static void memory_purge(void **state)
{
    scenario_purge(*state);
}
static void memory_command(void **state)
{
    scenario_command(*state);
}

static void memory_content(void **state)
{
    scenario_content(*state);
}
static void memory_contents_together(void **state)
{
    scenario_contents_together(*state);
}

/* A file the login user may not read: its stat stands, its content is
 * unreadable (the shell tests run as whoever runs them, often root). */
static void memory_content_unreadable(void **state)
{
    struct target *t = *state;
    char *path = at(t, "secret");
    assert_int_equal(memory_host_put_file(t->h, path, "x", 1, 0600), 0); /* root's */
    memory_host_set_user(t->h, "app", "app", 022);
    struct query_result r;
    read_path(t, "secret", &r);
    assert_int_equal(r.type, FILE_REGULAR);
    assert_int_equal(r.size, 1);
    assert_int_equal(r.content_state, CONTENT_UNREADABLE);
    assert_null(r.content);
    host_results_release(&r, 1);
    free(path);
}

/* Owner and group on the memory host, which chowns to any name. */
static void memory_owner(void **state)
{
    struct target *t = *state;
    struct buf reason;
    buf_init(&reason);
    struct node *n =
        node_new(t, &rule_file, "x", 1, "path", "R/owned", "owner", "app", "group", "www", NULL);
    apply(t, n);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 1);
    const char *path = rule_node_param(n, "path");
    drift(t, (struct op){.kind = OP_WRITE,
                         .path = path,
                         .data = "x",
                         .len = 1,
                         .mode = -1,
                         .owner = "root",
                         .group = "root"});
    assert_int_equal(check(t, n, CHECK_STAT, &reason), 0);
    assert_reason(t, &reason, "owner is 'root', want 'app'; group is 'root', want 'www'");
    node_free(n);
    buf_release(&reason);
}

/* A query the host cannot answer: decide says -1 with the host's message. */
static void memory_query_error(void **state)
{
    struct target *t = *state;
    struct buf reason;
    buf_init(&reason);
    struct node *n = node_new(t, &rule_file, "x", 1, "path", "R/locked/x", NULL);
    char *locked = at(t, "locked");
    memory_host_fail(t->h, locked, 13 /* EACCES */);
    assert_int_equal(check(t, n, CHECK_STAT, &reason), -1);
    assert_non_null(strstr(reason.data, "Permission denied"));
    memory_host_fail(t->h, locked, 0);
    free(locked);
    node_free(n);
    buf_release(&reason);
}

/* A real `sh` through the local transport and the shell host, in a
 * temporary directory: the same scenarios, commands really run. */

static void shell_wait(struct target *t, int *finished)
{
    int64_t deadline = loop_now_ms() + 20000;
    while (!*finished && loop_now_ms() < deadline) {
        char *err = NULL;
        if (loop_step(t->loop, 1000, &err) < 0)
            fail_msg("loop_step: %s", err ? err : "?");
    }
}

static int shell_setup(void **state)
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

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int shell_teardown(void **state)
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

static void shell_file(void **state)
{
    scenario_file(*state);
}
static void shell_binary_file(void **state)
{
    scenario_binary_file(*state);
}
static void shell_directory(void **state)
{
    scenario_directory(*state);
}
static void shell_symlink(void **state)
{
    scenario_symlink(*state);
}
static void shell_purge(void **state)
{
    scenario_purge(*state);
}
static void shell_command(void **state)
{
    scenario_command(*state);
}
static void shell_content(void **state)
{
    scenario_content(*state);
}
static void shell_contents_together(void **state)
{
    scenario_contents_together(*state);
}

int main(void)
{
    const struct CMUnitTest memory[] = {
        cmocka_unit_test_setup_teardown(memory_file, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_binary_file, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_directory, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_symlink, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_purge, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_command, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_content, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_contents_together, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_content_unreadable, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_owner, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_query_error, memory_setup, memory_teardown),
    };
    const struct CMUnitTest shell[] = {
        cmocka_unit_test_setup_teardown(shell_file, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_binary_file, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_directory, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_symlink, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_purge, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_command, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_content, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_contents_together, shell_setup, shell_teardown),
    };
    int failed = cmocka_run_group_tests_name("memory host", memory, NULL, NULL);
    return failed + cmocka_run_group_tests_name("sh through the shell host", shell, NULL, NULL);
}
