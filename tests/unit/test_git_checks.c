/* link: environments/git_checks.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "environments/git.h"
#include "environments/git_checks.h"

#include <stdlib.h>
#include <string.h>

static struct git_head committed(void)
{
    struct git_head h;
    memset(&h, 0, sizeof h);
    h.state = GIT_HEAD_COMMIT;
    h.branch = "main";
    h.upstream = "origin/main";
    return h;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
}

static void test_clean_and_pushed_has_nothing_to_say(void **state)
{
    (void)state;
    struct git_head h = committed();
    char *lines[GIT_CHECKS_MAX];
    assert_int_equal(git_checks_refusals(&h, "prod", "main", lines), 0);
    assert_null(git_checks_notice(&h));
}

/* A commit given by name: its work tree does not count, its upstream and
 * whether the environment's branch contains it do. */
static void test_a_named_commit_is_checked_for_upstream_and_branch_only(void **state)
{
    (void)state;
    struct git_head h = committed();
    h.rev = "HEAD~1";
    memcpy(h.short_id, "1a2b3c4", 8);
    h.dirty = 1; /* never set for a named commit; ignored if it were */
    char *lines[GIT_CHECKS_MAX];
    assert_int_equal(git_checks_refusals(&h, "prod", "main", lines), 0);
    h.unpushed = 2;
    h.off_branch = 1;
    size_t n = git_checks_refusals(&h, "prod", "production", lines);
    assert_int_equal(n, 2);
    assert_string_equal(lines[0], "commit 1a2b3c4 ('HEAD~1') has 2 commits not on 'origin/main', "
                                  "the upstream of branch 'main' (push, or deploy anyway with -D)");
    assert_string_equal(lines[1], "commit 1a2b3c4 ('HEAD~1') is not on branch 'production', "
                                  "which environment 'prod' deploys (deploy anyway with -D)");
    free_lines(lines, n);
}

static void test_every_refusal_names_what_is_wrong(void **state)
{
    (void)state;
    struct git_head h = committed();
    char *paths[] = {"a", "b", "c"};
    h.dirty = 1;
    h.ndirty = 5;
    memcpy(h.dirty_paths, paths, sizeof paths);
    h.unpushed = 1;
    char *lines[GIT_CHECKS_MAX];
    assert_int_equal(git_checks_refusals(&h, "prod", "production", lines), 3);
    assert_string_equal(lines[0], "uncommitted changes in the project: 'a', 'b', 'c' and 2 more "
                                  "(commit them, or deploy anyway with -D)");
    assert_string_equal(lines[1], "1 commit on branch 'main' is not on its upstream "
                                  "'origin/main' (push, or deploy anyway with -D)");
    assert_string_equal(lines[2], "on branch 'main', but environment 'prod' deploys branch "
                                  "'production' (check it out, or deploy anyway with -D)");
    free_lines(lines, 3);
}

static void test_no_upstream_and_no_git_are_notices(void **state)
{
    (void)state;
    struct git_head h = committed();
    h.upstream = NULL;
    h.unpushed = 0;
    char *lines[GIT_CHECKS_MAX];
    assert_int_equal(git_checks_refusals(&h, "prod", NULL, lines), 0);
    char *notice = git_checks_notice(&h);
    assert_string_equal(notice, "branch 'main' has no upstream: unpushed commits are not "
                                "checked (docs/git.md)");
    free(notice);
    h.state = GIT_HEAD_NONE;
    h.branch = NULL;
    assert_int_equal(git_checks_refusals(&h, "prod", "main", lines), 0);
    notice = git_checks_notice(&h);
    assert_non_null(strstr(notice, "not in a git repository"));
    free(notice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_and_pushed_has_nothing_to_say),
        cmocka_unit_test(test_every_refusal_names_what_is_wrong),
        cmocka_unit_test(test_a_named_commit_is_checked_for_upstream_and_branch_only),
        cmocka_unit_test(test_no_upstream_and_no_git_are_notices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
