/* link: engine/trace.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/trace.h"
#include "engine/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *render(const struct trace *t)
{
    struct buf b;
    buf_init(&b);
    trace_render(t, &b);
    return buf_detach(&b);
}

/* The lines of text that are spans ("ph": "X"), in order. */
static size_t span_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n"))
        if (strstr(line, "\"ph\": \"X\""))
            lines[n++] = line;
    return n;
}

static void test_names_are_escaped(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    int lane = trace_lane(t, "web\"1\\x");
    struct trace_arg args[] = {{"pa\"th", "a\tb\nc\001d\x7f", 0}, {"size", NULL, -42}};
    /* "caf\xc3\xa9" is UTF-8 and stays; "\xff" and a lone "\xc3" are not. */
    trace_span(t, lane, "q\"uo\\te caf\xc3\xa9 \xff\xc3", 5, 7, args, 2);
    char *text = render(t);
    assert_non_null(strstr(text, "\"tid\": 2, \"args\": {\"name\": \"web\\\"1\\\\x\"}}"));
    assert_non_null(strstr(text, "{\"name\": \"q\\\"uo\\\\te caf\xc3\xa9 \\u00ff\\u00c3\", "
                                 "\"cat\": \"batou-ng\", \"ph\": \"X\", \"pid\": 1, \"tid\": 2, "
                                 "\"ts\": 5, \"dur\": 2, \"args\": {\"pa\\\"th\": "
                                 "\"a\\tb\\nc\\u0001d\x7f\", \"size\": -42}}"));
    free(text);
    trace_free(t);
}

static void test_the_file_is_one_object_with_lanes_first(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    trace_span(t, TRACE_CONTROLLER, "run", 0, 10, NULL, 0);
    int host = trace_lane(t, "host1");
    assert_int_equal(host, 2);
    assert_int_equal(trace_lane(t, "host1"), 2); /* the same name, the same lane */
    assert_int_equal(trace_lane(t, TRACE_CONTROLLER_NAME), TRACE_CONTROLLER);
    char *text = render(t);
    const char *expected =
        "{\"traceEvents\": [\n"
        "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, "
        "\"args\": {\"name\": \"batou-ng\"}},\n"
        "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, "
        "\"args\": {\"name\": \"batou-ng (controller)\"}},\n"
        "{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, "
        "\"args\": {\"sort_index\": 1}},\n"
        "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 2, "
        "\"args\": {\"name\": \"host1\"}},\n"
        "{\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, \"tid\": 2, "
        "\"args\": {\"sort_index\": 2}},\n"
        "{\"name\": \"run\", \"cat\": \"batou-ng\", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, "
        "\"ts\": 0, \"dur\": 10, \"args\": {}}\n"
        "], \"displayTimeUnit\": \"ms\"}\n";
    assert_string_equal(text, expected);
    free(text);
    trace_free(t);
}

static void test_spans_are_ordered_by_start_a_container_first(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    /* Added as they end: children before their parent. */
    trace_span(t, TRACE_CONTROLLER, "late", 30, 40, NULL, 0);
    trace_span(t, TRACE_CONTROLLER, "child", 10, 20, NULL, 0);
    trace_span(t, TRACE_CONTROLLER, "parent", 10, 25, NULL, 0);
    trace_span(t, TRACE_CONTROLLER, "twin 1", 10, 20, NULL, 0); /* same bounds: added order */
    trace_span(t, TRACE_CONTROLLER, "run", 0, 50, NULL, 0);
    trace_span(t, TRACE_CONTROLLER, "backwards", 45, 44, NULL, 0); /* taken as no length */
    char *text = render(t);
    char *lines[8];
    size_t n = span_lines(text, lines, 8);
    const char *order[] = {"run", "parent", "child", "twin 1", "late", "backwards"};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "{\"name\": \"%s\",", order[i]);
        assert_ptr_equal(strstr(lines[i], name), lines[i]);
    }
    assert_non_null(strstr(lines[5], "\"ts\": 45, \"dur\": 0,"));
    free(text);
    trace_free(t);
}

static void test_last_span_per_lane(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    int a = trace_lane(t, "a"), b = trace_lane(t, "b");
    int64_t from = -1, to = -1;
    assert_int_equal(trace_last_span(t, a, &from, &to), 0);
    trace_span(t, a, "one", 3, 9, NULL, 0);
    trace_span(t, b, "two", 4, 5, NULL, 0);
    assert_int_equal(trace_last_span(t, a, &from, &to), 1);
    assert_int_equal(from, 3);
    assert_int_equal(to, 9);
    trace_span(t, 99, "no such lane", 1, 2, NULL, 0); /* ignored */
    char *text = render(t);
    assert_null(strstr(text, "no such lane"));
    free(text);
    trace_free(t);
}

static void test_without_a_trace_nothing_happens(void **state)
{
    (void)state;
    assert_int_equal(trace_now(NULL), 0);
    assert_int_equal(trace_lane(NULL, "x"), -1);
    trace_span(NULL, 1, "x", 0, 1, NULL, 0);
    trace_phase(NULL, "x", 0);
    int64_t from, to;
    assert_int_equal(trace_last_span(NULL, 1, &from, &to), 0);
    trace_free(NULL);
}

static void test_the_clock_moves_forward(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    int64_t a = trace_now(t);
    usleep(2000);
    int64_t b = trace_now(t);
    assert_true(a >= 0);
    assert_true(b - a >= 2000);
    trace_free(t);
}

static size_t entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_written_whole_by_rename(void **state)
{
    (void)state;
    char dir[] = "/tmp/batou-trace-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/run.json", dir);
    char *err = NULL;
    assert_int_equal(trace_check_path(path, &err), 0);
    assert_int_equal(entries(dir), 0); /* the check leaves nothing */
    struct trace *t = trace_new();
    trace_span(t, TRACE_CONTROLLER, "run", 0, 1, NULL, 0);
    FILE *old = fopen(path, "w");
    fputs("old", old);
    fclose(old);
    assert_int_equal(trace_write(t, path, &err), 0);
    struct buf file;
    buf_init(&file);
    assert_int_equal(read_file(path, &file), 0);
    char *text = render(t);
    assert_string_equal(file.data, text);
    assert_int_equal(entries(dir), 1); /* no temporary file left */
    free(text);
    buf_release(&file);

    /* A directory, or a directory that does not exist: one message each. */
    assert_int_equal(trace_check_path(dir, &err), -1);
    char *expected = xasprintf("cannot write the trace '%s': it is a directory", dir);
    assert_string_equal(err, expected);
    free(expected);
    free(err);
    char *missing = xasprintf("%s/no/run.json", dir);
    assert_int_equal(trace_check_path(missing, &err), -1);
    expected = xasprintf("cannot write the trace '%s': No such file or directory", missing);
    assert_string_equal(err, expected);
    free(expected);
    free(err);
    assert_int_equal(trace_write(t, missing, &err), -1);
    free(err);
    free(missing);
    trace_free(t);
    unlink(path);
    rmdir(dir);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_escaped),
        cmocka_unit_test(test_the_file_is_one_object_with_lanes_first),
        cmocka_unit_test(test_spans_are_ordered_by_start_a_container_first),
        cmocka_unit_test(test_last_span_per_lane),
        cmocka_unit_test(test_without_a_trace_nothing_happens),
        cmocka_unit_test(test_the_clock_moves_forward),
        cmocka_unit_test(test_written_whole_by_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
