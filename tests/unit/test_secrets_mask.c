/* link: environments/secrets.c environments/secrets_load.c environments/secrets_mask.c environments/environment.c environments/environment_hosts.c environments/ini.c engine/diag.c engine/util.c */
/* Masking secret values in output and errors
 * (environments/secrets_mask.c). Merges secrets text directly: no gpg, no
 * project, so no fixture. */
#define _GNU_SOURCE /* nftw, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secrets_testing.h"

static void check_mask(const struct environment *env, const char *text, const char *want)
{
    size_t len;
    char *masked = secrets_mask(env, text, strlen(text), &len);
    assert_string_equal(masked, want);
    assert_int_equal(len, strlen(want));
    free(masked);
}

static void test_mask(void **state)
{
    (void)state;
    struct environment env;
    struct diags d;
    merge_text(&env,
               "[batou]\nmembers = x\n[component:a]\nshort = pwd4\nlong = pwd4-and-more\n"
               "tiny = e\n",
               &d);
    assert_int_equal(d.count, 0);
    check_mask(&env, "", "");
    check_mask(&env, "nothing here", "nothing here");
    check_mask(&env, "pwd4", "<secret>");
    check_mask(&env, "a pwd4-and-more b pwd4pwd4", "a <secret> b <secret><secret>");
    check_mask(&env, "ppwd4-and-mor", "p<secret>-and-mor");
    /* Too short to mask (SECRETS_MASK_MIN): left alone, with a notice that
     * names it and not its value. */
    check_mask(&env, "every e here", "every e here");
    assert_int_equal(env.nnotices, 1);
    assert_non_null(strstr(env.notices[0], "'[component:a] tiny'"));
    assert_non_null(strstr(env.notices[0], "is 1 character long, too short to mask"));
    /* Errors: the verb and "exit status N" are batou-ng's, never masked. */
    char *m = secrets_mask_error(&env, "run 'echo pwd4': exit status 3");
    assert_string_equal(m, "run 'echo <secret>': exit status 3");
    free(m);
    m = secrets_mask_error(&env, "write '/srv/pwd4': pwd4: Permission denied");
    assert_string_equal(m, "write '/srv/<secret>': <secret>: Permission denied");
    free(m);
    m = secrets_mask_error(&env, "not a host error pwd4");
    assert_string_equal(m, "not a host error <secret>");
    free(m);
    environment_release(&env);
    diags_release(&d);

    environment_init(&env, "e"); /* no secrets: a plain copy */
    check_mask(&env, "pw", "pw");
    environment_release(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
