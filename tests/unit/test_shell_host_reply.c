/* link: hosts/shell_host*.c hosts/memory_host*.c hosts/host.c hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/util.h"
#include "hosts/host.h"
#include "hosts/shell_host.h"

#include <string.h>

/* Replies a target could send to content queries (hosts/shell_host_query.c),
 * read back: the files of one read are split by the sizes their stat gave
 * before it, and taken only when the sizes after it and the bytes agree. A
 * file that changed in between costs its read's diffs, never shows a wrong
 * one. */

#define S(name, size) "S\0" name "\0" "81a4\0" "0\0root\0" "0\0root\0" size "\0"
#define HEAD S("/a", "2") S("/b", "1") "H\0 0 1\0"

static const struct query queries[] = {
    {.kind = QUERY_PATH, .path = "/a", .content = 1},
    {.kind = QUERY_PATH, .path = "/b", .content = 1},
};

/* Take the reply text (len bytes) into results; 0 when it ended with E. */
static int take(const char *text, size_t len, struct query_result results[2])
{
    const char *out = text, *err = "";
    size_t errlen = 0;
    memset(results, 0, 2 * sizeof *results);
    return shell_host_query_take(queries, 2, results, &out, &len, &err, &errlen);
}

static void test_a_read_that_agrees_is_split_by_the_sizes(void **state)
{
    (void)state;
    static const char text[] = HEAD "41 0a\n42\0Z\0" "2 1 \0E\0";
    struct query_result r[2];
    assert_int_equal(take(text, sizeof text - 1, r), 0);
    assert_null(r[0].error);
    assert_int_equal(r[0].content_state, CONTENT_READ);
    assert_int_equal(r[0].content_len, 2);
    assert_memory_equal(r[0].content, "A\n", 3);
    assert_int_equal(r[1].content_len, 1);
    assert_memory_equal(r[1].content, "B", 2);
    host_results_release(r, 2);
}

static void expect_lost(const char *text, size_t len)
{
    struct query_result r[2];
    assert_int_equal(take(text, len, r), 0);
    for (int i = 0; i < 2; i++) {
        assert_non_null(r[i].error);
        assert_non_null(strstr(r[i].error, "changed while it was read"));
        assert_null(r[i].content);
        assert_int_equal(r[i].content_state, CONTENT_NONE);
    }
    host_results_release(r, 2);
}

/* /b grew between its stat and the read: the bytes still add up to the
 * sizes before (3), but /b's size after is not its size before. */
static void test_a_size_that_changed_loses_the_read(void **state)
{
    (void)state;
    static const char text[] = HEAD "41 0a 42\0Z\0" "2 2 \0E\0";
    expect_lost(text, sizeof text - 1);
}

/* The sizes agree but the bytes do not add up (a file replaced twice
 * during the read, or one that vanished): nothing is split. */
static void test_bytes_that_do_not_add_up_lose_the_read(void **state)
{
    (void)state;
    static const char more[] = HEAD "41 0a 42 43\0Z\0" "2 1 \0E\0";
    expect_lost(more, sizeof more - 1);
    static const char fewer[] = HEAD "41 0a\0Z\0" "2 1 \0E\0";
    expect_lost(fewer, sizeof fewer - 1);
    static const char vanished[] = HEAD "41 0a\0Z\0" "2 \0E\0";
    expect_lost(vanished, sizeof vanished - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_read_that_agrees_is_split_by_the_sizes),
        cmocka_unit_test(test_a_size_that_changed_loses_the_read),
        cmocka_unit_test(test_bytes_that_do_not_add_up_lose_the_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
