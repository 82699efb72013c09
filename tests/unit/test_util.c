/* link: engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_buf_grows_and_stays_terminated(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        buf_addf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "0,1,2,", 6);
    buf_add(&b, "a\0b", 3);
    assert_int_equal(b.len, 2003);
    assert_memory_equal(b.data + 2000, "a\0b", 3);
    char *detached = buf_detach(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(detached);
    buf_release(&b);
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(edit_distance("", ""), 0);
    assert_int_equal(edit_distance("hosts", "hots"), 1);
    assert_int_equal(edit_distance("kitten", "sitting"), 3);
    assert_int_equal(edit_distance("abc", ""), 3);
}

static void test_suggest_only_plausible_typos(void **state)
{
    (void)state;
    const char *keys[] = {"connect_method", "host_domain", "platform", "timeout"};
    assert_string_equal(suggest("platfrom", keys, 4), "platform");
    assert_string_equal(suggest("host_domian", keys, 4), "host_domain");
    assert_null(suggest("zzz", keys, 4));
    assert_null(suggest("timeout", keys, 4)); /* an exact match is no typo */
}

static void test_lines_of_text(void **state)
{
    (void)state;
    const char *text = "one\ntwo\r\nthree";
    char *line = line_of_text(text, strlen(text), 2);
    assert_string_equal(line, "two");
    free(line);
    line = line_of_text(text, strlen(text), 3);
    assert_string_equal(line, "three");
    free(line);
    assert_null(line_of_text(text, strlen(text), 4));
    assert_int_equal(line_of_offset(text, 5), 2);
    line = line_of_text("end\n", 4, 2); /* the empty line after the final newline */
    assert_string_equal(line, "");
    free(line);
    assert_null(line_of_text("end\n", 4, 3));
}

static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/batou-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x\0y\n", 4), 4);
    close(fd);
    struct buf b;
    buf_init(&b);
    assert_int_equal(read_file(path, &b), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "x\0y\n", 4);
    buf_release(&b);
    unlink(path);
    assert_int_equal(read_file(path, &b), -1);
    buf_release(&b);
}

static void test_strip_and_lower(void **state)
{
    (void)state;
    char s[] = "  \t Mixed Case \n";
    assert_string_equal(strip(s), "Mixed Case");
    char *lower = xstrlower(s);
    assert_string_equal(lower, "mixed case");
    free(lower);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_stays_terminated),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_suggest_only_plausible_typos),
        cmocka_unit_test(test_lines_of_text),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_strip_and_lower),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
