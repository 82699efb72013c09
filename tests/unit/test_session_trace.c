/* link: hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/trace.h"
#include "engine/util.h"
#include "hosts/local.h"
#include "hosts/loop.h"
#include "hosts/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SH[] = {"sh", NULL};

static int replies;

static void on_reply(const struct session_reply *r, void *ctx)
{
    (void)r;
    (void)ctx;
    replies++;
}

static struct session *open_traced(struct loop *loop, struct trace *t, int lane)
{
    char *err = NULL;
    struct session *s = session_new(local_new(SH), 0);
    session_set_trace(s, t, lane);
    if (session_open(s, loop, &err) != 0)
        fail_msg("session_open: %s", err);
    return s;
}

static void run(struct loop *loop)
{
    char *err = NULL;
    if (loop_run(loop, loop_now_ms() + 20000, &err) != 0)
        fail_msg("loop_run: %s", err ? err : "deadline passed");
}

/* The span lines of t's rendering (allocated, in *text), in order. */
static size_t spans(const struct trace *t, char **text, char **lines, size_t max)
{
    struct buf b;
    buf_init(&b);
    trace_render(t, &b);
    *text = buf_detach(&b);
    size_t n = 0;
    for (char *line = strtok(*text, "\n"); line && n < max; line = strtok(NULL, "\n"))
        if (strstr(line, "\"ph\": \"X\""))
            lines[n++] = line;
    return n;
}

static long long field(const char *line, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\": ", name);
    const char *at = strstr(line, key);
    assert_non_null(at);
    return strtoll(at + strlen(key), NULL, 10);
}

static void test_each_request_is_a_span_named_for_what_it_asks(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    int lane = trace_lane(t, "host1");
    struct loop *loop = loop_new();
    struct session *s = open_traced(loop, t, lane);
    replies = 0;
    session_trace_next(s, "checks", 0);
    session_submit(s, "printf 12345", 12, on_reply, NULL);
    session_trace_next(s, "batch", 3);
    session_submit(s, "sleep 0.01; exit 3", 18, on_reply, NULL);
    session_submit(s, "printf x >&2", 12, on_reply, NULL); /* not named */
    run(loop);
    assert_int_equal(replies, 3);

    char *text, *lines[8];
    assert_int_equal(spans(t, &text, lines, 8), 3);
    assert_non_null(strstr(lines[0], "{\"name\": \"checks\","));
    assert_non_null(strstr(lines[1], "{\"name\": \"batch\","));
    assert_non_null(strstr(lines[2], "{\"name\": \"request\","));
    assert_non_null(strstr(lines[0], "\"exit status\": 0}"));
    assert_non_null(strstr(lines[1], "\"exit status\": 3, \"nodes\": 3}"));
    assert_null(strstr(lines[0], "\"nodes\""));
    /* The request as framed (quoted, wrapped), the reply with its header. */
    assert_true(field(lines[0], "bytes sent") > 12);
    assert_true(field(lines[0], "bytes received") > 5);
    assert_true(field(lines[1], "bytes received") < field(lines[0], "bytes received"));
    /* In flight together, shown one after the other. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(field(lines[i], "tid"), lane);
        if (i)
            assert_true(field(lines[i], "ts") >=
                        field(lines[i - 1], "ts") + field(lines[i - 1], "dur"));
    }
    assert_true(field(lines[1], "dur") >= 10000); /* the sleep */
    /* Never the fragment or the reply. */
    assert_null(strstr(text, "printf"));
    assert_null(strstr(text, "12345"));
    free(text);
    session_free(s);
    loop_free(loop);
    trace_free(t);
}

static void test_a_request_without_a_reply_says_so(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    int lane = trace_lane(t, "host1");
    struct loop *loop = loop_new();
    struct session *s = open_traced(loop, t, lane);
    replies = 0;
    session_trace_next(s, "lock", 0);
    session_submit(s, "sleep 5", 7, on_reply, NULL);
    session_kill(s, "gone");
    assert_int_equal(replies, 1);
    char *text, *lines[4];
    assert_int_equal(spans(t, &text, lines, 4), 1);
    assert_non_null(strstr(lines[0], "{\"name\": \"lock\","));
    assert_non_null(strstr(lines[0], "\"bytes received\": 0, \"error\": \"no reply\"}"));
    free(text);
    session_free(s);
    loop_free(loop);
    trace_free(t);
}

static void test_tracing_stops_when_told(void **state)
{
    (void)state;
    struct trace *t = trace_new();
    struct loop *loop = loop_new();
    struct session *s = open_traced(loop, t, trace_lane(t, "host1"));
    replies = 0;
    session_submit(s, "true", 4, on_reply, NULL);
    run(loop);
    session_set_trace(s, NULL, -1);
    session_trace_next(s, "unlock", 0);
    session_submit(s, "true", 4, on_reply, NULL);
    run(loop);
    assert_int_equal(replies, 2);
    char *text, *lines[4];
    assert_int_equal(spans(t, &text, lines, 4), 1);
    assert_non_null(strstr(lines[0], "{\"name\": \"request\","));
    free(text);
    session_free(s);
    loop_free(loop);
    trace_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_request_is_a_span_named_for_what_it_asks),
        cmocka_unit_test(test_a_request_without_a_reply_says_so),
        cmocka_unit_test(test_tracing_stops_when_told),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
