/* link: rules/binary_file.c rules/command.c rules/directory.c rules/file.c rules/plan.c rules/purge.c rules/rule.c rules/rule_effects.c rules/rules.c rules/symlink.c engine/util.c hosts/host.c hosts/memory_host*.c hosts/shell_host*.c hosts/shell_host_apply.c hosts/shell_host_query.c hosts/shell.c hosts/session*.c hosts/local.c hosts/loop.c rules/fetch.c hosts/fetch.c hosts/shell.c engine/trace.c */
/* Content queries against a host (for a release's diffs): the exact bytes
 * of a regular file, many in one request, and a file the login user may
 * not read; on the memory host and on a real `sh` (struct target). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rule_hosts_testing.h"

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
        cmocka_unit_test_setup_teardown(memory_content, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_contents_together, memory_setup, memory_teardown),
        cmocka_unit_test_setup_teardown(memory_content_unreadable, memory_setup, memory_teardown),
    };
    const struct CMUnitTest shell[] = {
        cmocka_unit_test_setup_teardown(shell_content, shell_setup, shell_teardown),
        cmocka_unit_test_setup_teardown(shell_contents_together, shell_setup, shell_teardown),
    };
    int failed = cmocka_run_group_tests_name("memory host", memory, NULL, NULL);
    return failed + cmocka_run_group_tests_name("sh through the shell host", shell, NULL, NULL);
}
