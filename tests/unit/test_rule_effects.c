/* link: rules/binary_file.c rules/command.c rules/directory.c rules/file.c rules/plan.c rules/purge.c rules/rule.c rules/rule_effects.c rules/rules.c rules/symlink.c engine/util.c hosts/host.c rules/fetch.c hosts/fetch.c hosts/shell.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The effects of the six rules as plans (rules/rule.h): what each plans,
 * and what decide says about hand-made query results. test_rule_hosts.c
 * runs the same rules against the memory host and a real sh. */

#include "engine/graph/graph.h"
#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"
#include "rules/rule.h"

#include <stdlib.h>
#include <string.h>

static int compare_params(const void *a, const void *b)
{
    return strcmp(((const struct node_param *)a)->name, ((const struct node_param *)b)->name);
}

/* A node of kind with content (may be NULL) and name/value pairs ending in
 * NULL, sorted by name as the model makes them. */
static struct node *node_new(const struct rule_kind *kind, const char *content, size_t len, ...)
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
        n->params = xrealloc(n->params, (n->nparams + 1) * sizeof *n->params);
        n->params[n->nparams].name = xstrdup(name);
        n->params[n->nparams].value = xstrdup(va_arg(ap, const char *));
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

/* decide's verdict and reason for one hand-made result. */
static int decide1(const struct node *n, enum check_level level, const struct query_result *r,
                   struct buf *reason)
{
    buf_clear(reason);
    return n->kind->decide(n, level, r, 1, reason);
}

static void test_node_params(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err);
    struct node *n = node_new(&rule_file, "", 0, "path", "/srv/a", "mode", "0755", "leading",
                              "true", "owner", "app", NULL);
    assert_string_equal(rule_node_param(n, "path"), "/srv/a");
    assert_string_equal(rule_node_param(n, "owner"), "app");
    assert_null(rule_node_param(n, "group"));
    assert_int_equal(rule_node_bool(n, "leading", 0), 1);
    assert_int_equal(rule_node_bool(n, "sensitive", 1), 1);
    int mode = 0;
    assert_int_equal(rule_node_mode(n, &mode, &err), 0);
    assert_int_equal(mode, 0755);
    assert_null(rule_node_required(n, "source", &err));
    assert_string_equal(err.data, "File 'app/File(x)' has no parameter 'source'");
    node_free(n);

    n = node_new(&rule_file, "", 0, "path", "/srv/a", "mode", "644", NULL);
    assert_int_equal(rule_node_mode(n, &mode, &err), 0);
    assert_int_equal(mode, 0644);
    node_free(n);
    const char *bad[] = {"0855", "rwxr-xr-x", "", "07777x", "12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = node_new(&rule_directory, NULL, 0, "path", "/srv/a", "mode", bad[i], NULL);
        buf_clear(&err);
        assert_int_equal(rule_node_mode(n, &mode, &err), -1);
        assert_non_null(strstr(err.data, "parameter 'mode' is not an octal mode"));
        node_free(n);
    }
    n = node_new(&rule_directory, NULL, 0, "path", "/srv/a", NULL);
    assert_int_equal(rule_node_mode(n, &mode, &err), 0);
    assert_int_equal(mode, -1);
    node_free(n);
    buf_release(&err);
}

static void test_node_list_and_env(void **state)
{
    (void)state;
    struct buf err;
    buf_init(&err);
    struct plan p;
    plan_init(&p);
    struct node *n =
        node_new(&rule_command, NULL, 0, "name", "x", "env",
                 "{\"A\":\"x y\",\"B\":1,\"C\":true,\"D\":\"\\u00e9\\n\\\"\",\"E\":1.5,"
                 "\"F\":\"\\ud83d\\ude00\"}",
                 "list", "[\"a\",\"b c\",\"\\t\"]", "empty", "[]", NULL);
    const char *const *items;
    size_t count;
    assert_int_equal(rule_node_env(n, "env", &p, &items, &count, &err), 0);
    assert_int_equal(count, 6);
    assert_string_equal(items[0], "A=x y");
    assert_string_equal(items[1], "B=1");
    assert_string_equal(items[2], "C=true");
    assert_string_equal(items[3], "D=\xc3\xa9\n\"");
    assert_string_equal(items[4], "E=1.5");
    assert_string_equal(items[5], "F=\xf0\x9f\x98\x80");
    assert_int_equal(rule_node_list(n, "list", &p, &items, &count, &err), 0);
    assert_int_equal(count, 3);
    assert_string_equal(items[1], "b c");
    assert_string_equal(items[2], "\t");
    assert_int_equal(rule_node_list(n, "empty", &p, &items, &count, &err), 0);
    assert_int_equal(count, 0);
    assert_int_equal(rule_node_list(n, "missing", &p, &items, &count, &err), 0);
    assert_int_equal(count, 0);
    node_free(n);

    struct {
        const char *text, *message;
    } bad[] = {
        {"{\"A-B\":\"x\"}", "an entry of parameter 'env' is not a variable name: 'A-B'"},
        {"{\"\":\"x\"}", "an entry of parameter 'env' is not a variable name: ''"},
        {"{\"1A\":\"x\"}", "is not a variable name: '1A'"},
        {"{\"A\":\"a\\u0000b\"}", "an entry of parameter 'env' holds a NUL byte: 'A=a'"},
        {"{\"A\":", "parameter 'env' is not a table of names to values"},
        {"{\"A\":[1]}", "is not a table of names to values"},
        {"{\"A\":\"x\"} junk", "is not a table of names to values"},
        {"{\"A\":\"\\ud800\"}", "is not a table of names to values"},
        {"[\"A\"]", "is not a table of names to values"},
        {"\"unterminated", "is not a table of names to values"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = node_new(&rule_command, NULL, 0, "name", "x", "env", bad[i].text, NULL);
        buf_clear(&err);
        assert_int_equal(rule_node_env(n, "env", &p, &items, &count, &err), -1);
        if (!strstr(err.data, bad[i].message))
            fail_msg("%s: got \"%s\"", bad[i].text, err.data);
        node_free(n);
    }
    const char *bad_lists[] = {"[1]", "[\"a\",]", "[\"a\"", "{}", "[\"a\\u0000\"]", ""};
    for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
        n = node_new(&rule_directory, NULL, 0, "path", "/x", "exclude", bad_lists[i], NULL);
        buf_clear(&err);
        assert_int_equal(rule_node_list(n, "exclude", &p, &items, &count, &err), -1);
        assert_string_equal(err.data,
                            "Directory 'app/Directory(x)': parameter 'exclude' is not a list "
                            "of strings");
        node_free(n);
    }
    plan_release(&p);
    buf_release(&err);
}

static void test_quote(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out);
    rule_quote(&out, "/srv/a b\nc\td\x01");
    assert_string_equal(out.data, "'/srv/a b\\nc\\td\\x01'");
    buf_release(&out);
}

static void test_file_plans(void **state)
{
    (void)state;
    static const char content[] = "a\0b\n"; /* a NUL byte: content_len counts */
    struct node *n = node_new(&rule_file, content, 4, "path", "/srv/my app/x\ny", "mode", "0640",
                              "owner", "app", "group", "www", "leading", "true", NULL);
    struct plan p;
    plan_init(&p);
    struct buf err;
    buf_init(&err);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &err), 0);
    assert_int_equal(n->kind->plan_check(n, CHECK_CONTENT, &p, &err), 0);
    assert_int_equal(p.nqueries, 2);
    assert_int_equal(p.queries[0].kind, QUERY_PATH);
    assert_string_equal(p.queries[0].path, "/srv/my app/x\ny");
    assert_int_equal(p.queries[0].digest, 0);
    assert_int_equal(p.queries[1].digest, 1);

    assert_int_equal(n->kind->plan_apply(n, &p, &err), 0);
    assert_int_equal(p.nops, 1);
    const struct op *op = &p.ops[0];
    assert_int_equal(op->kind, OP_WRITE);
    assert_string_equal(op->path, "/srv/my app/x\ny");
    assert_int_equal(op->len, 4);
    assert_memory_equal(op->data, content, 4);
    assert_int_equal(op->mode, 0640);
    assert_string_equal(op->owner, "app");
    assert_string_equal(op->group, "www");
    assert_int_equal(op->leading, 1);

    const char *paths[RULE_MAX_OWNED];
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 1);
    assert_string_equal(paths[0], "/srv/my app/x\ny");
    n->kind->plan_remove(paths, 1, &p);
    assert_int_equal(p.nops, 2);
    assert_int_equal(p.ops[1].kind, OP_REMOVE);
    assert_string_equal(p.ops[1].path, "/srv/my app/x\ny");
    node_free(n);

    /* No mode, owner, leading: leave them to the host. BinaryFile alike. */
    n = node_new(&rule_binary_file, "", 0, "path", "/srv/b", NULL);
    plan_release(&p);
    assert_int_equal(n->kind->plan_apply(n, &p, &err), 0);
    assert_int_equal(p.ops[0].mode, -1);
    assert_null(p.ops[0].owner);
    assert_null(p.ops[0].group);
    assert_int_equal(p.ops[0].leading, 0);
    assert_int_equal(p.ops[0].len, 0);
    node_free(n);

    /* Broken nodes: an error, no ops. */
    plan_release(&p);
    n = node_new(&rule_file, "x", 1, "source", "x", NULL);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &err), -1);
    assert_string_equal(err.data, "File 'app/File(x)' has no parameter 'path'");
    assert_int_equal(n->kind->owned_paths(n, &p, paths), -1);
    node_free(n);
    n = node_new(&rule_file, NULL, 0, "path", "/srv/c", NULL);
    buf_clear(&err);
    assert_int_equal(n->kind->plan_apply(n, &p, &err), -1);
    assert_string_equal(err.data, "no content for '/srv/c' (its source could not be read)");
    node_free(n);
    n = node_new(&rule_file, "x", 1, "path", "/srv/c", "mode", "9", NULL);
    buf_clear(&err);
    assert_int_equal(n->kind->plan_apply(n, &p, &err), -1);
    assert_string_equal(err.data, "File 'app/File(x)': parameter 'mode' is not an octal mode: '9'");
    node_free(n);
    assert_int_equal(p.nops, 0);
    assert_int_equal(p.nqueries, 0);
    plan_release(&p);
    buf_release(&err);
}

/* The result a QUERY_PATH gives for a regular file holding data. */
static struct query_result regular(const char *data, unsigned mode, int digest)
{
    struct query_result r = {.type = FILE_REGULAR, .mode = mode, .size = (long long)strlen(data)};
    r.owner = "app";
    r.group = "app";
    if (digest) {
        host_digest(data, strlen(data), r.digest);
        r.has_digest = 1;
    }
    return r;
}

static void test_file_decide(void **state)
{
    (void)state;
    struct buf reason;
    buf_init(&reason);
    struct node *n = node_new(&rule_file, "hello\n", 6, "path", "/srv/x", "mode", "0755", NULL);

    struct query_result r = regular("hello\n", 0755, 1);
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 1);
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 1);

    r = (struct query_result){.type = FILE_NONE};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/x' does not exist");
    r = (struct query_result){.type = FILE_DIRECTORY, .mode = 0755};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/x' is a directory, want a file");
    r = (struct query_result){.type = FILE_SYMLINK, .link_target = "/etc/passwd"};
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/x' is a symlink to '/etc/passwd', want a file");
    r = (struct query_result){.type = FILE_OTHER};
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/x' is a special file, want a file");

    r = regular("hello\n", 0644, 1);
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "mode is 0644, want 0755");

    /* Same size, other bytes: only CHECK_CONTENT sees it. */
    r = regular("HELLO\n", 0755, 0);
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 1);
    r = regular("HELLO\n", 0755, 1);
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 0);
    /* printf "HELLO\n" | sha256sum; the same for "hello\n" */
    assert_string_equal(reason.data,
                        "content differs (sha256 3b09aeb6f5f5... want 5891b5b522d5...)");

    r = regular("hello world\n", 0600, 1);
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "size is 12 bytes, want 6; mode is 0600, want 0755");

    /* Sensitive: no digest in the reason. */
    n->sensitive = 1;
    r = regular("HELLO\n", 0755, 1);
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 0);
    assert_string_equal(reason.data, "content differs (sensitive: digests not shown)");
    n->sensitive = 0;

    /* Query errors and a host that forgot the digest: -1 with why. */
    r = (struct query_result){.error = "cannot stat '/srv': Permission denied"};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), -1);
    assert_string_equal(reason.data, "cannot stat '/srv': Permission denied");
    r = regular("hello\n", 0755, 0);
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), -1);
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, &r, 0, &reason), -1);
    node_free(n);

    /* Mode unset: any; owner and group when set. */
    n = node_new(&rule_binary_file, "hello\n", 6, "path", "/srv/x", "owner", "root", "group",
                 "wheel", NULL);
    r = regular("hello\n", 0600, 0);
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "owner is 'app', want 'root'; group is 'app', want 'wheel'");
    r.owner = "root";
    r.group = "wheel";
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 1);
    node_free(n);

    /* Content with a NUL byte: sizes and digests count every byte. */
    n = node_new(&rule_binary_file, "a\0b", 3, "path", "/srv/x", NULL);
    r = (struct query_result){.type = FILE_REGULAR, .size = 3, .has_digest = 1};
    host_digest("a\0b", 3, r.digest);
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 1);
    host_digest("a\0c", 3, r.digest);
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 0);
    node_free(n);
    buf_release(&reason);
}

static void test_directory(void **state)
{
    (void)state;
    struct buf reason;
    buf_init(&reason);
    struct plan p;
    plan_init(&p);
    struct node *n = node_new(&rule_directory, NULL, 0, "path", "/srv/d", "mode", "0750", "owner",
                              "app", "leading", "true", "source", "/local/d", NULL);
    assert_int_equal(n->kind->plan_check(n, CHECK_CONTENT, &p, &reason), 0);
    assert_int_equal(p.nqueries, 1);
    assert_int_equal(p.queries[0].kind, QUERY_PATH);
    assert_string_equal(p.queries[0].path, "/srv/d");
    assert_int_equal(p.queries[0].digest, 0);
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, OP_MKDIR);
    assert_string_equal(p.ops[0].path, "/srv/d");
    assert_int_equal(p.ops[0].mode, 0750);
    assert_string_equal(p.ops[0].owner, "app");
    assert_null(p.ops[0].group);
    assert_int_equal(p.ops[0].leading, 1);

    struct query_result r = {.type = FILE_DIRECTORY, .mode = 0750, .owner = "app"};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 1);
    r.mode = 0755;
    r.owner = "root";
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "mode is 0755, want 0750; owner is 'root', want 'app'");
    r = (struct query_result){.type = FILE_REGULAR, .mode = 0750};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/d' is a file, want a directory");
    r = (struct query_result){.type = FILE_SYMLINK, .link_target = "/elsewhere"};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/d' is a symlink to '/elsewhere', want a directory; "
                                     "a deploy neither follows nor replaces it: remove it");

    /* Owned, and removed only when empty: an rmdir, never an rm -r, and
     * after the other orphans (see directory.c). */
    const char *paths[RULE_MAX_OWNED];
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 1);
    assert_string_equal(paths[0], "/srv/d");
    size_t nops = p.nops;
    n->kind->plan_remove(paths, 1, &p);
    assert_int_equal(p.nops, nops + 1);
    assert_int_equal(p.ops[nops].kind, OP_RMDIR);
    assert_string_equal(p.ops[nops].path, "/srv/d");
    assert_int_equal(p.ops[nops].mode, -1);
    assert_true(n->kind->remove_last);
    assert_false(rule_file.remove_last);
    /* "data/" names the directory "data": the op takes no trailing '/'. */
    const char *slashed[] = {"/srv/data//", "/"};
    n->kind->plan_remove(slashed, 2, &p);
    assert_int_equal(p.nops, nops + 3);
    assert_string_equal(p.ops[nops + 1].path, "/srv/data");
    assert_string_equal(p.ops[nops + 2].path, "/");
    char *error = NULL;
    assert_int_equal(host_op_check(&p.ops[nops + 1], &error), 0);
    assert_int_equal(host_op_check(&p.ops[nops + 2], &error), -1);
    assert_string_equal(error, "rmdir '/': the path names a directory, not a file");
    free(error);
    node_free(n);
    plan_release(&p);
    buf_release(&reason);
}

static void test_symlink(void **state)
{
    (void)state;
    struct buf reason;
    buf_init(&reason);
    struct plan p;
    plan_init(&p);
    struct node *n =
        node_new(&rule_symlink, NULL, 0, "target", "/srv/current", "source", "/srv/v2", NULL);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &reason), 0);
    assert_int_equal(p.nqueries, 1);
    assert_string_equal(p.queries[0].path, "/srv/current");
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    assert_int_equal(p.ops[0].kind, OP_SYMLINK);
    assert_string_equal(p.ops[0].path, "/srv/current");
    assert_string_equal(p.ops[0].target, "/srv/v2");

    struct query_result r = {.type = FILE_SYMLINK, .link_target = "/srv/v2"};
    assert_int_equal(decide1(n, CHECK_CONTENT, &r, &reason), 1);
    r.link_target = "/srv/v1";
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/current' points to '/srv/v1', want '/srv/v2'");
    r = (struct query_result){.type = FILE_DIRECTORY};
    assert_int_equal(decide1(n, CHECK_STAT, &r, &reason), 0);
    assert_string_equal(reason.data, "'/srv/current' is a directory, want a symlink");

    const char *paths[RULE_MAX_OWNED];
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 1);
    assert_string_equal(paths[0], "/srv/current");
    node_free(n);

    n = node_new(&rule_symlink, NULL, 0, "target", "/srv/current", NULL);
    buf_clear(&reason);
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), -1);
    assert_string_equal(reason.data, "Symlink 'app/Symlink(x)' has no parameter 'source'");
    node_free(n);
    plan_release(&p);
    buf_release(&reason);
}

static void test_purge(void **state)
{
    (void)state;
    struct buf reason;
    buf_init(&reason);
    struct plan p;
    plan_init(&p);
    struct node *n = node_new(&rule_purge, NULL, 0, "pattern", "/srv/*.pyc", NULL);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &reason), 0);
    assert_int_equal(p.nqueries, 1);
    assert_int_equal(p.queries[0].kind, QUERY_GLOB);
    assert_string_equal(p.queries[0].path, "/srv/*.pyc");
    assert_true(n->kind->live && n->kind->guarded);
    struct query_result found = {.status = 1}, none = {.status = 0};
    assert_int_equal(n->kind->decide(n, CHECK_STAT, &none, 1, &reason), 1);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, &found, 1, &reason), 0);
    assert_string_equal(reason.data, "'/srv/*.pyc' matches something");
    assert_int_equal(n->kind->decide(n, CHECK_STAT, NULL, 0, &reason), -1);
    buf_clear(&reason);
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, OP_PURGE);
    assert_string_equal(p.ops[0].path, "/srv/*.pyc");
    const char *paths[RULE_MAX_OWNED];
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 0);
    node_free(n);
    plan_release(&p);
    buf_release(&reason);
}

static void test_command(void **state)
{
    (void)state;
    struct buf reason;
    buf_init(&reason);
    struct plan p;
    plan_init(&p);
    struct node *n =
        node_new(&rule_command, NULL, 0, "name", "init", "run", "make init", "unless", "test -e db",
                 "creates", "var/db", "cwd", "/srv/app", "env", "{\"LANG\":\"C\",\"N\":2}", NULL);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &reason), 0);
    assert_int_equal(p.nqueries, 2);
    const struct query *q = &p.queries[0];
    assert_int_equal(q->kind, QUERY_COMMAND);
    assert_string_equal(q->command, "test -e db");
    assert_string_equal(q->cwd, "/srv/app");
    assert_int_equal(q->nenv, 2);
    assert_string_equal(q->env[0], "LANG=C");
    assert_string_equal(q->env[1], "N=2");
    assert_int_equal(p.queries[1].kind, QUERY_PATH);
    assert_string_equal(p.queries[1].path, "/srv/app/var/db"); /* relative to cwd */

    struct query_result r[2] = {{.status = 1}, {.type = FILE_NONE}};
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 2, &reason), 0);
    assert_string_equal(reason.data, "'unless' exited with 1; '/srv/app/var/db' does not exist");
    r[0].status = 0;
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 2, &reason), 1);
    r[0].status = -1;
    r[1].type = FILE_DIRECTORY;
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 2, &reason), 1);
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 1, &reason), -1);

    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    assert_int_equal(p.nops, 1);
    assert_int_equal(p.ops[0].kind, OP_RUN);
    assert_string_equal(p.ops[0].command, "make init");
    assert_string_equal(p.ops[0].cwd, "/srv/app");
    assert_int_equal(p.ops[0].nenv, 2);
    assert_string_equal(p.ops[0].env[0], "LANG=C");
    const char *paths[RULE_MAX_OWNED];
    assert_int_equal(n->kind->owned_paths(n, &p, paths), 0);
    node_free(n);
    plan_release(&p);

    /* Neither unless nor creates: the target cannot tell. */
    n = node_new(&rule_command, NULL, 0, "name", "make", "run", "make", NULL);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &reason), 0);
    assert_int_equal(p.nqueries, 0);
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, NULL, 0, &reason), 0);
    assert_string_equal(reason.data, "no unless/creates: runs when its inputs change");
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), 0);
    assert_null(p.ops[0].cwd);
    assert_int_equal(p.ops[0].nenv, 0);
    node_free(n);

    /* Only creates, absolute; an unless that could not run. */
    n = node_new(&rule_command, NULL, 0, "name", "x", "creates", "/opt/x", "cwd", "/srv", NULL);
    plan_release(&p);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &reason), 0);
    assert_int_equal(p.nqueries, 1);
    assert_string_equal(p.queries[0].path, "/opt/x");
    node_free(n);
    n = node_new(&rule_command, NULL, 0, "name", "x", "unless", "false", NULL);
    r[0] = (struct query_result){.status = -1};
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 1, &reason), 0);
    assert_string_equal(reason.data, "'unless' could not run");
    r[0].error = "command 'false': cannot change to directory '/srv'";
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 1, &reason), 0);
    assert_string_equal(reason.data,
                        "'unless' could not run: command 'false': cannot change to directory "
                        "'/srv'");
    n->sensitive = 1;
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 1, &reason), 0);
    assert_string_equal(reason.data, "'unless' could not run");
    node_free(n);

    /* creates that cannot be inspected: an error. */
    n = node_new(&rule_command, NULL, 0, "name", "x", "creates", "/root/x", NULL);
    r[0] = (struct query_result){.error = "stat '/root/x': Permission denied"};
    buf_clear(&reason);
    assert_int_equal(n->kind->decide(n, CHECK_STAT, r, 1, &reason), -1);
    assert_string_equal(reason.data, "stat '/root/x': Permission denied");
    node_free(n);

    /* A bad env fails the check and the apply with the same message. */
    n = node_new(&rule_command, NULL, 0, "name", "x", "unless", "true", "env", "{\"A=B\":\"1\"}",
                 NULL);
    buf_clear(&reason);
    assert_int_equal(n->kind->plan_check(n, CHECK_STAT, &p, &reason), -1);
    assert_string_equal(reason.data, "Command 'app/Command(x)': an entry of parameter 'env' is "
                                     "not a variable name: 'A=B'");
    buf_clear(&reason);
    assert_int_equal(n->kind->plan_apply(n, &p, &reason), -1);
    node_free(n);
    plan_release(&p);
    buf_release(&reason);
}

/* Every kind has every effect. */
static void test_all_kinds_complete(void **state)
{
    (void)state;
    for (size_t i = 0; rules_all[i]; i++) {
        const struct rule_kind *k = rules_all[i];
        if (!k->plan_check || !k->decide || !k->plan_apply || !k->owned_paths || !k->plan_remove)
            fail_msg("%s lacks an effect", k->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_params), cmocka_unit_test(test_node_list_and_env),
        cmocka_unit_test(test_quote),       cmocka_unit_test(test_file_plans),
        cmocka_unit_test(test_file_decide), cmocka_unit_test(test_directory),
        cmocka_unit_test(test_symlink),     cmocka_unit_test(test_purge),
        cmocka_unit_test(test_command),     cmocka_unit_test(test_all_kinds_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
