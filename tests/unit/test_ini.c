/* link: environments/ini.c engine/diag.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine/diag.h"
#include "engine/util.h"
#include "environments/ini.h"

#include <stdlib.h>
#include <string.h>

struct parsed {
    struct ini ini;
    struct diags d;
    int result;
};

static void parse(struct parsed *p, const char *text)
{
    diags_init(&p->d);
    p->result = ini_parse(&p->ini, "t.cfg", text, strlen(text), &p->d);
}

static void release(struct parsed *p)
{
    ini_release(&p->ini);
    diags_release(&p->d);
}

/* Error i as "file:line:col: message". */
static char *error_text(const struct parsed *p, size_t i)
{
    assert_true(i < p->d.count);
    const struct diag *e = &p->d.items[i];
    return xasprintf("%s:%d:%d: %s", e->file, e->line, e->col, e->message);
}

static void assert_error(const struct parsed *p, size_t i, const char *expected)
{
    char *text = error_text(p, i);
    assert_string_equal(text, expected);
    free(text);
}

static const char *value_of(const struct parsed *p, const char *section, const char *key)
{
    const struct ini_section *s = ini_find_section(&p->ini, section);
    assert_non_null(s);
    const struct ini_entry *e = ini_find_entry(s, key);
    assert_non_null(e);
    return e->value;
}

static void test_sections_and_keys(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[environment]\nconnect_method = local\nHost_Domain: example.com\n\n[hosts]\n"
              "web01 = nginx, app\n");
    assert_int_equal(p.result, 0);
    assert_int_equal(p.d.count, 0);
    assert_int_equal(p.ini.count, 2);
    assert_string_equal(p.ini.sections[0].name, "environment");
    assert_int_equal(p.ini.sections[0].line, 1);
    assert_string_equal(p.ini.sections[1].name, "hosts");
    assert_int_equal(p.ini.sections[1].line, 5);
    assert_string_equal(value_of(&p, "environment", "connect_method"), "local");
    /* keys are lower-cased, ':' is a delimiter too */
    assert_string_equal(value_of(&p, "environment", "host_domain"), "example.com");
    const struct ini_entry *e = ini_find_entry(ini_find_section(&p.ini, "hosts"), "web01");
    assert_int_equal(e->line, 6);
    assert_int_equal(e->col, 9);
    assert_int_equal(e->key_col, 1);
    assert_null(ini_find_section(&p.ini, "Hosts"));
    assert_null(ini_find_entry(ini_find_section(&p.ini, "hosts"), "web02"));
    release(&p);
}

static void test_first_delimiter_wins(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[a]\nurl = http://x:80/\nk: v = w\n  spaced  key   =   value with  spaces   \n"
              "empty =\n");
    assert_int_equal(p.result, 0);
    assert_string_equal(value_of(&p, "a", "url"), "http://x:80/");
    /* as in configparser, the indented line continues k's value */
    assert_string_equal(value_of(&p, "a", "k"), "v = w\nspaced  key   =   value with  spaces");
    assert_string_equal(value_of(&p, "a", "empty"), "");
    release(&p);
}

static void test_comments(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p,
          "# top\n; also\n[a]  # trailing comment\n   # indented comment\nx = 1 # not a comment\n"
          "y = 2\n");
    assert_int_equal(p.result, 0);
    assert_int_equal(p.ini.count, 1);
    assert_string_equal(p.ini.sections[0].name, "a");
    assert_string_equal(value_of(&p, "a", "x"), "1 # not a comment");
    assert_string_equal(value_of(&p, "a", "y"), "2");
    release(&p);
}

static void test_multiline_values(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[resolver]\nname =\n    192.0.2.10\n    # a comment inside\n\n    2001:db8::10\n"
              "\n\nother = a\n  b  \n\n");
    assert_int_equal(p.result, 0);
    const struct ini_entry *e = ini_find_entry(ini_find_section(&p.ini, "resolver"), "name");
    /* configparser: leading '\n' kept, blank line kept because more follows */
    assert_string_equal(e->value, "\n192.0.2.10\n\n2001:db8::10");
    assert_int_equal(e->npos, 4);
    assert_int_equal(e->pos[1].line, 3);
    assert_int_equal(e->pos[1].col, 5);
    assert_int_equal(e->pos[2].line, 5);
    assert_int_equal(e->pos[3].line, 6);
    struct ini_pos pos = ini_value_pos(e, strlen("\n192.0.2.10\n\n2001:"));
    assert_int_equal(pos.line, 6);
    assert_int_equal(pos.col, 10);
    /* trailing blank lines are dropped */
    e = ini_find_entry(ini_find_section(&p.ini, "resolver"), "other");
    assert_string_equal(e->value, "a\nb");
    assert_int_equal(e->npos, 2);
    assert_int_equal(e->line, 9);
    release(&p);
}

static void test_continuation_needs_deeper_indent(void **state)
{
    (void)state;
    struct parsed p;
    /* An indented key line opens a value; only deeper lines continue it. */
    parse(&p, "[a]\n  x = 1\n    more\n  y = 2\n");
    assert_int_equal(p.result, 0);
    assert_string_equal(value_of(&p, "a", "x"), "1\nmore");
    assert_string_equal(value_of(&p, "a", "y"), "2");
    release(&p);
}

static void test_crlf_and_bom(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "\xef\xbb\xbf[a]\r\nx = 1\r\ny =\r\n  2\r\n");
    assert_int_equal(p.result, 0);
    assert_string_equal(value_of(&p, "a", "x"), "1");
    assert_string_equal(value_of(&p, "a", "y"), "\n2");
    release(&p);
}

static void test_empty_input(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "");
    assert_int_equal(p.result, 0);
    assert_int_equal(p.ini.count, 0);
    release(&p);
    parse(&p, "\n\n   \n# only comments\n");
    assert_int_equal(p.result, 0);
    assert_int_equal(p.ini.count, 0);
    release(&p);
}

static void test_error_garbage_line(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[a]\nx = 1\nthis is not a key\n[b]\n");
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 1);
    assert_error(&p, 0, "t.cfg:3:1: expected 'key = value', a '[section]' header or a comment");
    /* what could be read is kept */
    assert_int_equal(p.ini.count, 2);
    release(&p);
}

static void test_error_key_before_section(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "\nx = 1\n[a]\ny = 2\n");
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 1);
    assert_error(
        &p, 0, "t.cfg:2:1: key before the first section header (add a '[section]' line above it)");
    assert_string_equal(value_of(&p, "a", "y"), "2");
    release(&p);
    parse(&p, "hello\n");
    assert_error(&p, 0, "t.cfg:1:1: expected a '[section]' header");
    release(&p);
}

static void test_error_duplicate_section(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[a]\nx = 1\n\n[b]\n[a]\nx = 2\ny = 3\n");
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 1);
    assert_error(&p, 0, "t.cfg:5:1: duplicate section '[a]' (first at line 1)");
    /* the duplicate's keys do not leak into the first section */
    assert_string_equal(value_of(&p, "a", "x"), "1");
    assert_null(ini_find_entry(ini_find_section(&p.ini, "a"), "y"));
    release(&p);
}

static void test_error_duplicate_key(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[a]\nx = 1\nX = 2\n   continued\nz = 3\n");
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 1);
    assert_error(&p, 0, "t.cfg:3:1: duplicate key 'x' in section '[a]' (first at line 2)");
    assert_string_equal(value_of(&p, "a", "x"), "1");
    assert_string_equal(value_of(&p, "a", "z"), "3");
    release(&p);
}

static void test_error_unterminated_section(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[a]\n  [b\nx = 1\n[c] junk\n[]\n");
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 3);
    assert_error(&p, 0, "t.cfg:2:3: unterminated section header: missing ']'");
    assert_error(&p, 1, "t.cfg:4:5: unexpected text after the section header");
    assert_error(&p, 2, "t.cfg:5:1: empty section name");
    /* keys under a broken header belong to no section */
    assert_null(ini_find_entry(ini_find_section(&p.ini, "a"), "x"));
    release(&p);
}

static void test_error_missing_key(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "[a]\n = 1\n");
    assert_int_equal(p.result, -1);
    assert_error(&p, 0, "t.cfg:2:2: missing key before '='");
    release(&p);
}

static void test_all_errors_reported(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, "junk\n[a]\nx = 1\nx = 2\nmore junk\n[a]\n");
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 4);
    assert_error(&p, 0, "t.cfg:1:1: expected a '[section]' header");
    assert_error(&p, 1, "t.cfg:4:1: duplicate key 'x' in section '[a]' (first at line 3)");
    assert_error(&p, 2, "t.cfg:5:1: expected 'key = value', a '[section]' header or a comment");
    assert_error(&p, 3, "t.cfg:6:1: duplicate section '[a]' (first at line 2)");
    release(&p);
}

static void test_nul_byte(void **state)
{
    (void)state;
    struct parsed p;
    static const char text[] = "[a]\nx = 1\ny = a\0b\nz = 3";
    diags_init(&p.d);
    p.result = ini_parse(&p.ini, "t.cfg", text, sizeof text - 1, &p.d);
    assert_int_equal(p.result, -1);
    assert_int_equal(p.d.count, 1);
    assert_error(&p, 0, "t.cfg:3:6: NUL byte in the file");
    assert_string_equal(value_of(&p, "a", "z"), "3");
    assert_null(ini_find_entry(ini_find_section(&p.ini, "a"), "y"));
    release(&p);
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    struct parsed p;
    /* Only the first 9 bytes are the file: "[a]\nx = 1". */
    const char *text = "[a]\nx = 12345";
    diags_init(&p.d);
    p.result = ini_parse(&p.ini, "t.cfg", text, 9, &p.d);
    assert_int_equal(p.result, 0);
    assert_string_equal(value_of(&p, "a", "x"), "1");
    release(&p);
    diags_init(&p.d);
    p.result = ini_parse(&p.ini, "t.cfg", "[abc", 4, &p.d);
    assert_int_equal(p.result, -1);
    assert_error(&p, 0, "t.cfg:1:1: unterminated section header: missing ']'");
    release(&p);
}

static void test_huge_line(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *text = xmalloc(n + 16);
    memcpy(text, "[a]\nx = ", 8);
    memset(text + 8, 'v', n);
    text[8 + n] = '\0';
    struct parsed p;
    parse(&p, text);
    assert_int_equal(p.result, 0);
    assert_int_equal(strlen(value_of(&p, "a", "x")), n);
    release(&p);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sections_and_keys),
        cmocka_unit_test(test_first_delimiter_wins),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_multiline_values),
        cmocka_unit_test(test_continuation_needs_deeper_indent),
        cmocka_unit_test(test_crlf_and_bom),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_error_garbage_line),
        cmocka_unit_test(test_error_key_before_section),
        cmocka_unit_test(test_error_duplicate_section),
        cmocka_unit_test(test_error_duplicate_key),
        cmocka_unit_test(test_error_unterminated_section),
        cmocka_unit_test(test_error_missing_key),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_huge_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
