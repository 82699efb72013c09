/* link: hosts/fetch.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/util.h"
#include "hosts/fetch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ABC_MD5 "900150983cd24fb0d6963f7d28e17f72"
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC_SHA512                                                                                 \
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feeb" \
    "bd454d4423643ce80e2a9ac94fa54ca49f"

static void checksums_parse(void **state)
{
    (void)state;
    char algo[8], hex[FETCH_HEX_MAX + 1];
    assert_int_equal(fetch_checksum_parse("SHA256:" ABC_SHA256, algo, hex), 0);
    assert_string_equal(algo, "sha256");
    assert_string_equal(hex, ABC_SHA256);
    assert_int_equal(fetch_checksum_parse("md5:900150983CD24FB0D6963F7D28E17F72", algo, hex), 0);
    assert_string_equal(algo, "md5");
    assert_string_equal(hex, ABC_MD5);
    assert_int_equal(fetch_checksum_parse("md5:" ABC_SHA256, algo, hex), -1);   /* length */
    assert_int_equal(fetch_checksum_parse("sha256:" ABC_MD5, algo, hex), -1);
    assert_int_equal(fetch_checksum_parse("crc32:12345678", algo, hex), -1);   /* algorithm */
    assert_int_equal(fetch_checksum_parse("md5:90015098 cd24fb0d6963f7d28e17f72", algo, hex), -1);
    assert_int_equal(fetch_checksum_parse(ABC_MD5, algo, hex), -1);            /* no algorithm */
    assert_int_equal(fetch_checksum_parse(NULL, algo, hex), -1);
}

/* The digest of data taken in chunks of step bytes. */
static void digest_of(const char *algo, const char *data, size_t step, char *hex)
{
    struct buf out;
    buf_init(&out);
    struct fetch_sink sink;
    assert_int_equal(fetch_sink_begin(&sink, algo, &out, 1 << 20), 0);
    size_t len = strlen(data);
    for (size_t at = 0; at < len; at += step)
        assert_int_equal(fetch_sink_take(&sink, data + at, len - at < step ? len - at : step), 0);
    fetch_sink_end(&sink, hex);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data ? out.data : "", data, len);
    buf_release(&out);
}

static void streams_hash_like_one_piece(void **state)
{
    (void)state;
    char hex[FETCH_HEX_MAX + 1];
    for (size_t step = 1; step <= 3; step++) {
        digest_of("md5", "abc", step, hex);
        assert_string_equal(hex, ABC_MD5);
        digest_of("sha256", "abc", step, hex);
        assert_string_equal(hex, ABC_SHA256);
        digest_of("sha512", "abc", step, hex);
        assert_string_equal(hex, ABC_SHA512);
    }
    struct fetch_sink sink;
    struct buf out;
    buf_init(&out);
    assert_int_equal(fetch_sink_begin(&sink, "crc32", &out, 10), -1);
}

static void sink_refuses_more_than_max(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out);
    struct fetch_sink sink;
    assert_int_equal(fetch_sink_begin(&sink, "sha256", &out, 4), 0);
    assert_int_equal(fetch_sink_take(&sink, "abc", 3), 0);
    assert_int_equal(fetch_sink_take(&sink, "d", 1), 0); /* exactly max */
    assert_int_equal(fetch_sink_take(&sink, "e", 1), -1);
    assert_true(sink.too_large);
    assert_int_equal(fetch_sink_take(&sink, "", 0), -1); /* stays refused */
    assert_int_equal(out.len, 4);
    char hex[FETCH_HEX_MAX + 1];
    fetch_sink_end(&sink, hex);
    buf_release(&out);
}

static void redact(const char *url, const char *want)
{
    char *got = fetch_redact(url);
    assert_string_equal(got, want);
    free(got);
}

static void userinfo_never_shown(void **state)
{
    (void)state;
    redact("https://user:secret@example.com/a.tgz", "https://***@example.com/a.tgz");
    redact("https://user@example.com:8443/a", "https://***@example.com:8443/a");
    redact("http://a:b@c@host/x?u=p@q", "http://***@host/x?u=p@q"); /* the last '@' ends it */
    redact("https://example.com/a@b.tgz", "https://example.com/a@b.tgz"); /* a path's '@' */
    redact("http://example.com/x\ty", "http://example.com/x?y");
    redact("file:///srv/a.tgz", "file:///srv/a.tgz");
}

/* A one-shot HTTP server on 127.0.0.1 (a child process) answering status
 * and body; returns its port, *pid the child. */
static int serve_once(const char *status, const char *body, size_t len, pid_t *pid)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 1), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        int c = accept(s, NULL, NULL);
        char request[4096];
        if (c < 0 || read(c, request, sizeof request) <= 0)
            _exit(1);
        dprintf(c, "HTTP/1.0 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
        if (write(c, body, len) != (ssize_t)len)
            _exit(1);
        close(c);
        _exit(0);
    }
    close(s);
    return ntohs(a.sin_port);
}

static void reap(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void fetches_and_checks_over_http(void **state)
{
    (void)state;
    pid_t pid;
    int port = serve_once("200 OK", "abc", 3, &pid);
    char *url = xasprintf("http://user:secret@127.0.0.1:%d/abc.txt", port);
    struct buf data;
    buf_init(&data);
    char *err = NULL;
    assert_int_equal(fetch_url(url, "sha256", ABC_SHA256, 1 << 20, &data, &err), 0);
    assert_null(err);
    assert_int_equal(data.len, 3);
    assert_memory_equal(data.data, "abc", 3);
    buf_release(&data);
    reap(pid);
    free(url);
}

static void a_wrong_checksum_is_refused(void **state)
{
    (void)state;
    pid_t pid;
    int port = serve_once("200 OK", "abd", 3, &pid);
    char *url = xasprintf("http://user:secret@127.0.0.1:%d/abc.txt", port);
    struct buf data;
    buf_init(&data);
    char *err = NULL;
    assert_int_equal(fetch_url(url, "md5", ABC_MD5, 1 << 20, &data, &err), -1);
    char *want = xasprintf("Download: checksum mismatch for http://***@127.0.0.1:%d/abc.txt "
                           "(fetched by the controller): expected md5:" ABC_MD5
                           ", got md5:4911e516e5aa21d327512e0c8b197616",
                           port);
    assert_string_equal(err, want);
    assert_int_equal(data.len, 0);
    free(want);
    free(err);
    reap(pid);
    free(url);
}

static void errors_and_the_cap(void **state)
{
    (void)state;
    pid_t pid;
    int port = serve_once("404 Not Found", "gone", 4, &pid);
    char *url = xasprintf("http://127.0.0.1:%d/x", port);
    struct buf data;
    buf_init(&data);
    char *err = NULL;
    assert_int_equal(fetch_url(url, "sha256", ABC_SHA256, 1 << 20, &data, &err), -1);
    assert_non_null(strstr(err, "cannot fetch http://127.0.0.1:"));
    assert_non_null(strstr(err, "404"));
    free(err);
    reap(pid);
    free(url);

    port = serve_once("200 OK", "abcdef", 6, &pid);
    url = xasprintf("http://127.0.0.1:%d/x", port);
    err = NULL;
    assert_int_equal(fetch_url(url, "sha256", ABC_SHA256, 5, &data, &err), -1);
    assert_non_null(strstr(err, "is larger than 5 bytes, the most a transfer from the controller"));
    assert_int_equal(data.len, 0);
    free(err);
    reap(pid);
    free(url);

    /* The controller fetches http and https only. */
    err = NULL;
    assert_int_equal(fetch_url("file:///etc/hostname", "sha256", ABC_SHA256, 5, &data, &err), -1);
    assert_non_null(strstr(err, "cannot fetch file:///etc/hostname on the controller"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checksums_parse),
        cmocka_unit_test(streams_hash_like_one_piece),
        cmocka_unit_test(sink_refuses_more_than_max),
        cmocka_unit_test(userinfo_never_shown),
        cmocka_unit_test(fetches_and_checks_over_http),
        cmocka_unit_test(a_wrong_checksum_is_refused),
        cmocka_unit_test(errors_and_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
