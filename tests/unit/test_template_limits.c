/* link: engine/template/template_*.c engine/util.c */
/* Where the template engine differs from Jinja2 on purpose, and its limits
 * (engine/template/, docs/safety.md): refused features, bounded widths and
 * results, the step budget, nesting limits, and inputs that must not crash
 * it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "template_testing.h"

/* Where batou-ng knowingly differs from Jinja2 (see engine/template/template.h). */
static void test_deviations(void **state)
{
    static const struct error_case cases[] = {
        {"{{ s | pprint }}", "1:8: filter 'pprint' is not supported by batou-ng"},
        {"{% extends 'x' %}", "1:4: tag 'extends' is not supported by batou-ng"},
        {"{% include 'x' %}", "1:4: include and import are not available here"},
        /* Jinja2 recurses until Python's stack ends; batou-ng stops at 50 calls. */
        {"{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}",
         "1:21: macro calls nested too deeply (more than 50)"},
        /* Widths and made-up items are bounded (Jinja2 allocates whatever is asked). */
        {"{{ '%200000s' % 'x' }}",
         "1:15: format: width or precision is too large (more than 100000)"},
        {"{{ 'x' | center(200000) }}", "1:10: center: width is too large (more than 100000)"},
        {"{{ [1] | batch(1000000, 0) }}",
         "1:10: batch: linecount is too large to fill (more than 100000)"},
        /* Results that would outgrow a render's output fail at once (Jinja2
         * builds them). */
        {"{{ ('a ' * 100000) | wordwrap(1, wrapstring='x' * 3000) }}",
         "1:22: wordwrap: result larger than 256 MiB"},
        {"{{ ('ab.org ' * 100000) | urlize(target='x' * 3000) }}",
         "1:27: urlize: result larger than 256 MiB"},
        {"{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
         "1:36: recursive loops nested too deeply (more than 50)"},
        {"{{ 9223372036854775807 + 1 }}", "1:24: integer overflow (batou-ng integers are 64-bit)"},
        {"{{ 99999999999999999999 }}", "1:4: integer literal '99999999999999999999' is too large"},
        {"{{ s is escaped }}", "1:9: test 'escaped' is not supported by batou-ng"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = outcome(*state, cases[i].src, strlen(cases[i].src));
        assert_string_equal(got, cases[i].expected);
        free(got);
    }
    static const struct render_case renders[] = {
        /* Jinja2 cannot serialize objects; a table with __tostring becomes its string. */
        {"{{ obj | tojson }}", 18, "\"S!\"", 4},
        /* Lua tables have no order: dicts, literals too, come out in sorted key order. */
        {"{{ {'b': 1, 'a': 2} }}", 22, "{'a': 2, 'b': 1}", 16},
        {"{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}", 50, "ab", 2},
        /* A tuple is a list: it prints with brackets (Jinja2: "(1, 2)"). */
        {"{{ (1, 2) }}", 12, "[1, 2]", 6},
        /* Filters that give Jinja2 generators give lists. */
        {"{{ [2, 1] | sort | reverse }}", 29, "[2, 1]", 6},
        /* escape gives a plain string: escaping twice escapes twice (Jinja2: Markup once). */
        {"{{ '<' | e | e }}", 17, "&amp;lt;", 8},
        /* 'name' is filter (test) asks batou-ng's filters: the refused ones are
         * not there (Jinja2: True). */
        {"{{ 'pprint' is filter }}", 24, "False", 5},
        {"{{ 'escaped' is test }}", 23, "False", 5},
        /* attr finds a Lua object's fields only; a str's or dict's methods are
         * not attributes (Jinja2: a bound method). */
        {"{{ 'x' | attr('upper') is defined }}", 36, "False", 5},
    };
    RUN(*state, renders);
}

/* template_set_budget: a render stops at the node where its steps ran out,
 * every render gets the whole budget again, 0 lifts it. */
static void test_budget(void **state)
{
    lua_State *L = *state;
    const char *src = "a\n{% for i in range(10) %}{{ i }}{% endfor %}\n";
    struct template_error err;
    struct buf out;
    buf_init(&out);
    template_set_budget(L, 12);
    for (int round = 0; round < 2; round++) {
        buf_clear(&out);
        assert_int_equal(template_expand("b", src, strlen(src), L, -1, &out, &err), -1);
        assert_non_null(strstr(err.message, TEMPLATE_BUDGET_MESSAGE));
        assert_int_equal(err.line, 2);
        template_error_release(&err);
    }
    template_set_budget(L, 40);
    buf_clear(&out);
    assert_int_equal(template_expand("b", src, strlen(src), L, -1, &out, &err), 0);
    assert_string_equal(out.data, "a\n0123456789\n");
    /* Macro bodies and recursive loops spend the same budget. */
    static const char *const spenders[] = {
        "{% macro m() %}{% for i in range(1000) %}{% endfor %}{% endmacro %}\n"
        "{% for i in range(1000) %}{{ m() }}{% endfor %}",
        "{% for x in [range(1000)] recursive %}{% for y in x %}{% endfor %}"
        "{{ loop([range(1000)]) }}{% endfor %}",
    };
    template_set_budget(L, 5000);
    for (size_t i = 0; i < sizeof spenders / sizeof *spenders; i++) {
        buf_clear(&out);
        assert_int_equal(template_expand("b", spenders[i], strlen(spenders[i]), L, -1, &out, &err),
                         -1);
        assert_non_null(strstr(err.message, TEMPLATE_BUDGET_MESSAGE));
        template_error_release(&err);
    }
    template_set_budget(L, 0);
    const char *big = "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}";
    buf_clear(&out);
    assert_int_equal(template_expand("b", big, strlen(big), L, -1, &out, &err), 0);
    buf_release(&out);
}

static char *repeat(const char *s, int n)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < n; i++)
        buf_adds(&b, s);
    return buf_detach(&b);
}

static void test_nesting_limits(void **state)
{
    lua_State *L = *state;
    char *open = repeat("{% if true %}", 99), *close = repeat("{% endif %}", 99);
    char *src = xasprintf("%sdeep%s", open, close);
    char *got = outcome(L, src, strlen(src));
    assert_string_equal(got, "ok");
    free(got);
    free(src);
    free(open);
    free(close);
    open = repeat("{% if true %}", 150);
    got = outcome(L, open, strlen(open));
    assert_string_equal(got, "1:1301: blocks nested too deeply (more than 100 levels)");
    free(got);
    free(open);
    open = repeat("(", 150);
    src = xasprintf("{{ %s1 }}", open);
    got = outcome(L, src, strlen(src));
    assert_string_equal(got, "1:104: brackets nested too deeply (more than 100 levels)");
    free(got);
    free(src);
    free(open);
    open = repeat("- ", 150);
    src = xasprintf("{{ %s1 }}", open);
    got = outcome(L, src, strlen(src));
    assert_string_equal(got, "1:202: expression nested too deeply (more than 100 levels)");
    free(got);
    free(src);
    free(open);
    open = repeat("1 + ", 2000);
    src = xasprintf("{{ %s1 }}", open);
    got = outcome(L, src, strlen(src));
    assert_string_equal(got, "1:4006: expression too complex (more than 1000 levels)");
    free(got);
    free(src);
    free(open);
}

/* No input crashes: every prefix of a template that uses most of the syntax,
 * NUL bytes, bytes that are not UTF-8, and a huge line. */
static void test_robustness(void **state)
{
    lua_State *L = *state;
    const char *full = "{# c #}{%- for k, v in d.items() if v > 0 -%}\n{{ k ~ '=' ~ v | string }}"
                       "{% else %}{% raw %}{{{% endraw %}{% endfor %}{% set x = [1, {'a': (2)}] %}"
                       "{{ x[1].a if x else -1 | default(\"q\\\"\") }}{{ s[1:-1] is defined }}";
    size_t len = strlen(full);
    char *got = outcome(L, full, len);
    assert_string_equal(got, "ok");
    free(got);
    for (size_t i = 0; i < len; i++) {
        struct template_error err;
        struct template *t = template_parse("prefix", full, i, &err);
        if (!t) {
            assert_true(err.line >= 1 && err.col >= 1 && err.message[0]);
            template_error_release(&err);
        }
        template_free(t);
    }
    got = outcome(L, "", 0);
    assert_string_equal(got, "ok");
    free(got);
    got = outcome(L, "a\0b{{ 'x\0y' }}", 15);
    assert_string_equal(got, "ok");
    free(got);
    got = outcome(L, "{{ n \0 }}", 9);
    assert_string_equal(got, "1:6: unexpected character '\\x00'");
    free(got);
    /* Found by fuzzing: a lone byte 0xa0 (U+00A0 read as Latin-1, a space)
     * made no token and the lexer looped forever. */
    got = outcome(L, "{{\xa0", 3);
    assert_string_equal(got, "1:3: unexpected character '\xa0'");
    free(got);
    got = outcome(L, "{{ n \xa0\xa0 }}", 10);
    assert_string_equal(got, "1:6: unexpected character '\xa0'");
    free(got);

    struct buf out;
    struct template_error err;
    buf_init(&out);
    const char *bytes = "\xff\xfe{{ '\xc3' | length }}{{ '\xe2\x82' }}";
    assert_int_equal(template_expand("b", bytes, strlen(bytes), L, -1, &out, &err), 0);
    assert_string_equal(out.data, "\xff\xfe"
                                  "1\xe2\x82");
    char *huge = repeat("x", 1 << 20);
    char *src = xasprintf("%s{{ n }}", huge);
    buf_clear(&out);
    assert_int_equal(template_expand("h", src, strlen(src), L, -1, &out, &err), 0);
    assert_int_equal(out.len, (1 << 20) + 1);
    free(src);
    free(huge);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deviations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nesting_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_robustness, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
