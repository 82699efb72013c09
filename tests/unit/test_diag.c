/* link: engine/diag.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/diag.h"
#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *report(const struct diags *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    diags_report(d, out);
    fclose(out);
    return text;
}

static void test_single_error_with_caret(void **state)
{
    (void)state;
    char dir[] = "/tmp/batou-diag-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    FILE *f = fopen("env.cfg", "w");
    fputs("[environment]\nplatfrom = debian\n", f);
    fclose(f);

    struct diags d;
    diags_init(&d);
    diag_add(&d, "env.cfg", 2, 1, "unknown key '%s' (did you mean '%s'?)", "platfrom", "platform");
    char *text = report(&d);
    assert_string_equal(text, "batou-ng: error: env.cfg:2:1: unknown key 'platfrom' "
                              "(did you mean 'platform'?)\n"
                              "    platfrom = debian\n"
                              "    ^\n");
    free(text);
    diags_release(&d);
    unlink("env.cfg");
    rmdir(dir);
}

static void test_grouped_by_host_then_component_and_counted(void **state)
{
    (void)state;
    struct diags d;
    diags_init(&d);
    diag_add_in(&d, "web02", "app", "a.cfg", 9, 0, "second host");
    diag_add_in(&d, "web01", "proxy", "a.cfg", 3, 0, "proxy error");
    diag_add_in(&d, "web01", "app", "a.cfg", 7, 0, "app error");
    diag_add(&d, NULL, 0, 0, "global error");
    diag_add_in(&d, "web01", "app", "a.cfg", 7, 0, "app error"); /* duplicate: dropped */
    assert_int_equal(d.count, 4);
    char *text = report(&d);
    assert_string_equal(text, "batou-ng: error: global error\n"
                              "batou-ng: error: a.cfg:7: host 'web01': component 'app': app error\n"
                              "batou-ng: error: a.cfg:3: host 'web01': component 'proxy': "
                              "proxy error\n"
                              "batou-ng: error: a.cfg:9: host 'web02': component 'app': "
                              "second host\n"
                              "batou-ng: 4 errors: configuration failed\n");
    free(text);
    diags_release(&d);
}

static void test_grouped_by_stage_with_headings(void **state)
{
    (void)state;
    struct diags d;
    diags_init(&d);
    diags_stage(&d, "reading the environment");
    diag_add(&d, "e.cfg", 4, 0, "unknown section");
    diags_stage(&d, "loading components");
    diags_stage(&d, "configuring components");
    diag_add_in(&d, "web01", "app", "a.lua", 3, 0, "configure failed");
    diag_add(&d, "e.cfg", 9, 0, "no component 'x'");
    char *text = report(&d);
    /* Stages in the order they began (an empty one prints nothing), and
     * inside a stage the usual order. */
    assert_string_equal(text, "batou-ng: reading the environment: 1 error\n"
                              "batou-ng: error: e.cfg:4: unknown section\n"
                              "batou-ng: configuring components: 2 errors\n"
                              "batou-ng: error: e.cfg:9: no component 'x'\n"
                              "batou-ng: error: a.lua:3: host 'web01': component 'app': "
                              "configure failed\n"
                              "batou-ng: 3 errors: configuration failed\n");
    free(text);
    diags_release(&d);

    /* One stage: no heading, as before there were stages. */
    diags_stage(&d, "loading components");
    diag_add(&d, "a.lua", 1, 0, "first");
    diag_add(&d, "b.lua", 2, 0, "second");
    text = report(&d);
    assert_string_equal(text, "batou-ng: error: a.lua:1: first\n"
                              "batou-ng: error: b.lua:2: second\n"
                              "batou-ng: 2 errors: configuration failed\n");
    free(text);
    diags_release(&d);
}

static void test_missing_source_file_prints_no_caret(void **state)
{
    (void)state;
    struct diags d;
    diags_init(&d);
    diag_add(&d, "/nonexistent/file.lua", 4, 2, "oops");
    char *text = report(&d);
    assert_string_equal(text, "batou-ng: error: /nonexistent/file.lua:4:2: oops\n");
    free(text);
    diags_release(&d);
}

/* An encrypted secrets file: its line on disk is ciphertext, and its
 * plaintext is never shown. */
static void test_secrets_file_prints_no_source_line(void **state)
{
    (void)state;
    char dir[] = "/tmp/batou-diag-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    FILE *f = fopen("secrets.cfg.gpg", "w");
    fputs("line one\nline two holds \x85\x02 bytes\n", f);
    fclose(f);
    struct diags d;
    diags_init(&d);
    diag_add(&d, "secrets.cfg.gpg", 2, 3, "oops");
    char *text = report(&d);
    assert_string_equal(text, "batou-ng: error: secrets.cfg.gpg:2:3: oops\n");
    free(text);
    diags_release(&d);
    unlink("secrets.cfg.gpg");
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_error_with_caret),
        cmocka_unit_test(test_grouped_by_host_then_component_and_counted),
        cmocka_unit_test(test_grouped_by_stage_with_headings),
        cmocka_unit_test(test_missing_source_file_prints_no_caret),
        cmocka_unit_test(test_secrets_file_prints_no_source_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
