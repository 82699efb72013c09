/* link: engine/deploy/orphan.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Which paths of an orphan's record --prune may remove (engine/deploy/orphan.h). */

#include "engine/deploy/manifest.h"
#include "engine/deploy/orphan.h"
#include "engine/util.h"

#include <stdio.h>
#include <string.h>

static const struct orphan_scope local = {"local", "localhost", "/srv/p/work"};
static const struct orphan_scope ssh = {"prod", "web", "~/deployment/work"};

/* NULL when removable, else why not (static buffer). */
static const char *refusal(const struct orphan_scope *s, const char *key, const char *path)
{
    static char text[512];
    struct buf why;
    buf_init(&why);
    int refused = orphan_refusal(s, key, path, &why);
    assert_int_equal(refused, why.len > 0);
    snprintf(text, sizeof text, "%s", refused ? why.data : "");
    buf_release(&why);
    return refused ? text : NULL;
}

static void test_own_paths_are_removable(void **state)
{
    (void)state;
    assert_null(refusal(&local, "local/localhost/app/File(a.conf)", "/srv/p/work/app/a.conf"));
    assert_null(
        refusal(&local, "local/localhost/app/Directory(static/)", "/srv/p/work/app/static/"));
    assert_null(refusal(&local, "local/localhost/app/Directory(s)/File(css/x.css)",
                        "/srv/p/work/app/s//css/x.css"));
    assert_null(refusal(&local, "local/localhost/app/Sub(x)/File(./a)", "/srv/p/work/app/./a"));
    assert_null(refusal(&ssh, "prod/web/greet/File(greeting)", "~/deployment/work/greet/greeting"));
    /* an absolute path the key names, or a file below one it names */
    assert_null(refusal(&local, "local/localhost/app/File(/etc/app.conf)", "/etc/app.conf"));
    assert_null(refusal(&local, "local/localhost/app/Directory(/srv/static)/File(i.html)",
                        "/srv/static/i.html"));
    assert_null(refusal(&local, "local/localhost/app/Directory(/srv/s/)/File(css/a (1).css)",
                        "/srv/s//css/a (1).css"));
    assert_null(refusal(&local, "local/localhost/app/Directory(/srv/s)", "/srv/s"));
    assert_null(refusal(&ssh, "prod/web/app/File(~/.app.rc)", "~/.app.rc"));
}

static void test_other_records_are_refused(void **state)
{
    (void)state;
    assert_string_equal(refusal(&local, "staging/localhost/app/File(a)", "/srv/p/work/app/a"),
                        "recorded for another environment or host, not 'local/localhost'");
    /* a prefix of the host or environment is not it */
    assert_non_null(refusal(&local, "local/localhost2/app/File(a)", "/srv/p/work/app/a"));
    assert_non_null(refusal(&local, "locale/localhost/app/File(a)", "/srv/p/work/app/a"));
    assert_non_null(refusal(&local, "local/localhost", "/srv/p/work/app/a"));
    assert_false(orphan_is_own(&local, "local/localhostX/a"));
    assert_true(orphan_is_own(&local, "local/localhost/a"));
    /* outside its component's directory, not named by the key */
    assert_string_equal(refusal(&local, "local/localhost/app/File(x)", "/home/u/.bashrc"),
                        "outside '/srv/p/work/app', where its component deploys");
    assert_non_null(refusal(&local, "local/localhost/app/File(x)", "/srv/p/work/other/x"));
    assert_non_null(refusal(&local, "local/localhost/app/File(x)", "/srv/p/work/app2/x"));
    assert_non_null(refusal(&local, "local/localhost/app/File(/etc/a)", "/etc/b"));
    /* a key naming a directory names it, not what is below it */
    assert_non_null(refusal(&local, "local/localhost/app/File(/)", "/etc/passwd"));
    assert_non_null(refusal(&local, "local/localhost/app/File(/etc)", "/etc/passwd"));
    assert_non_null(refusal(&local, "local/localhost/app/Directory(/srv/s)/File(x)", "/srv/s/y"));
    assert_non_null(
        refusal(&local, "local/localhost/app/Directory(/srv/s)/File(x)/File(y)", "/srv/s/x/y"));
    assert_non_null(refusal(&local, "local/localhost/app/File(/etc/a)", "/etc/a2"));
    assert_non_null(refusal(&local, "local/localhost//File(x)", "/srv/p/work/x"));
    /* paths no rule records */
    assert_string_equal(refusal(&local, "local/localhost/app/File(x)", "/srv/p/work/app/../../x"),
                        "not a path a rule records");
    assert_non_null(refusal(&local, "local/localhost/app/File(/a/../etc)", "/a/../etc/x"));
    assert_non_null(refusal(&local, "local/localhost/app/File(x)", "relative/x"));
    assert_non_null(refusal(&local, "local/localhost/app/File(x)", ""));
}

static void test_describe(void **state)
{
    (void)state;
    const char *paths[] = {"/srv/p/work/app/a", "/etc/passwd"};
    struct manifest_node m = {
        .key = "local/localhost/app/File(a)", .kind = "File", .paths = paths, .npaths = 1};
    struct buf out;
    buf_init(&out);
    assert_int_equal(orphan_describe(&local, &m, 0, &out), 1);
    assert_string_equal(out.data,
                        "local/localhost/app/File(a): '/srv/p/work/app/a' (remove with --prune)");
    buf_clear(&out);
    assert_int_equal(orphan_describe(&local, &m, 1, &out), 1);
    assert_string_equal(out.data, "local/localhost/app/File(a): '/srv/p/work/app/a'");
    m.npaths = 2;
    buf_clear(&out);
    assert_int_equal(orphan_describe(&local, &m, 0, &out), 1);
    assert_string_equal(out.data, "local/localhost/app/File(a): '/srv/p/work/app/a', '/etc/passwd' "
                                  "(remove with --prune, which keeps '/etc/passwd': outside "
                                  "'/srv/p/work/app', where its component deploys)");
    buf_clear(&out);
    orphan_describe(&local, &m, 1, &out);
    assert_non_null(strstr(out.data, "'/etc/passwd' (keeping '/etc/passwd': outside"));
    m.key = "prod/web/app/Command(x)";
    m.npaths = 0;
    buf_clear(&out);
    assert_int_equal(orphan_describe(&local, &m, 0, &out), 0);
    assert_string_equal(out.data, "prod/web/app/Command(x) (recorded for another environment or "
                                  "host, not 'local/localhost': --prune leaves it alone)");
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_paths_are_removable),
        cmocka_unit_test(test_other_records_are_refused),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
