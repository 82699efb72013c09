/* link: engine/diff.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/diff.h"
#include "engine/util.h"

#include <stdlib.h>
#include <string.h>

/* The diff of old (NULL: none) and new, as text; *outcome set. */
static char *diff(const char *old, const char *new_content, int color, int *outcome)
{
    struct buf out;
    buf_init(&out);
    char *err = NULL;
    *outcome = diff_unified(&out, "/srv/app/app.ini", old, old ? strlen(old) : 0, new_content,
                            strlen(new_content), color, &err);
    assert_null(err);
    buf_addc(&out, '\0');
    return buf_detach(&out);
}

static void changed_line(void **state)
{
    (void)state;
    int outcome;
    char *text = diff("[app]\ngreeting = Hello\nport = 8080\n",
                      "[app]\ngreeting = Hi\nport = 8080\n", 0, &outcome);
    assert_int_equal(outcome, DIFF_TEXT);
    assert_string_equal(text, "--- /srv/app/app.ini\n"
                              "+++ /srv/app/app.ini\n"
                              "@@ -1,3 +1,3 @@\n"
                              " [app]\n"
                              "-greeting = Hello\n"
                              "+greeting = Hi\n"
                              " port = 8080\n");
    free(text);
}

static void new_file(void **state)
{
    (void)state;
    int outcome;
    char *text = diff(NULL, "a\nb\n", 0, &outcome);
    assert_int_equal(outcome, DIFF_TEXT);
    assert_string_equal(text, "--- /dev/null\n"
                              "+++ /srv/app/app.ini\n"
                              "@@ -0,0 +1,2 @@\n"
                              "+a\n"
                              "+b\n");
    free(text);
}

static void no_newline_at_end(void **state)
{
    (void)state;
    int outcome;
    char *text = diff("a\n", "a\nb", 0, &outcome);
    assert_int_equal(outcome, DIFF_TEXT);
    assert_non_null(strstr(text, "+b\n\\ No newline at end of file\n"));
    free(text);
}

static void same_and_binary(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out);
    char *err = NULL;
    assert_int_equal(diff_unified(&out, "/x", "a\n", 2, "a\n", 2, 0, &err), DIFF_SAME);
    assert_int_equal(diff_unified(&out, "/x", NULL, 0, "", 0, 0, &err), DIFF_SAME);
    assert_int_equal(diff_unified(&out, "/x", "a\0b", 3, "a", 1, 0, &err), DIFF_BINARY);
    assert_int_equal(diff_unified(&out, "/x", "a", 1, "a\0c", 3, 0, &err), DIFF_BINARY);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

/* An escape sequence in a file cannot reach the terminal. */
static void control_bytes(void **state)
{
    (void)state;
    int outcome;
    char *text = diff("x\n", "\033[2Jx\ty\r\n", 0, &outcome);
    assert_int_equal(outcome, DIFF_TEXT);
    assert_null(strchr(text, '\033'));
    assert_non_null(strstr(text, "+?[2Jx\ty?\n"));
    free(text);
}

static void colours(void **state)
{
    (void)state;
    int outcome;
    char *text = diff("c\na\n", "c\nb\n", 1, &outcome);
    assert_string_equal(text, "\033[1m--- /srv/app/app.ini\033[0m\n"
                              "\033[1m+++ /srv/app/app.ini\033[0m\n"
                              "\033[36m@@ -1,2 +1,2 @@\033[0m\n"
                              " c\n"
                              "\033[31m-a\033[0m\n"
                              "\033[32m+b\033[0m\n");
    free(text);
    text = diff("a\n", "b\n", 0, &outcome);
    assert_null(strchr(text, '\033'));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(changed_line),  cmocka_unit_test(new_file),
        cmocka_unit_test(no_newline_at_end), cmocka_unit_test(same_and_binary),
        cmocka_unit_test(control_bytes), cmocka_unit_test(colours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
