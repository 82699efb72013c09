#ifndef BATOU_TESTS_MANIFEST_TESTING_H
#define BATOU_TESTS_MANIFEST_TESTING_H

/* What the manifest's unit tests share (test_manifest*.c): hashes, strings
 * that stress the escaping, a line with a correct checksum, and a real
 * shell to run the target's fragments in. Include after cmocka.h. */

#include "engine/deploy/manifest.h"
#include "engine/util.h"
#include "hosts/shell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

/* The target's shell; -DTEST_SH='"/bin/bash"' tries another. */
#ifndef TEST_SH
#define TEST_SH "/bin/sh"
#endif

static const char HASH_A[] = "0123456789abcdef0123456789abcdef";
static const char HASH_B[] = "fedcba9876543210fedcba9876543210";
static const char GEN[] = "00112233445566778899aabbccddeeff";

/* Strings that stress the escaping: every one must come back as it went in. */
static const char *const AWKWARD[] = {
    "",
    "100% %s %% \\n printf's",
    "plain",
    "with space",
    "  two  leading and trailing  ",
    "new\nline",
    "\n",
    "tab\there",
    "back\\slash\\",
    "\\-",
    "\\s\\n\\x00",
    "-",
    "#",
    "x #0123456789abcdef",
    "\x01\x02\x1f\x7f",
    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80",
    "\xff\xfe invalid utf-8",
    "quote ' and \"double\"",
    "web01/app/File(/srv/my app/config.ini)",
};
#define NAWKWARD (sizeof AWKWARD / sizeof *AWKWARD)

/* A line with an arbitrary body and a correct checksum. */
static inline void add_checked(struct buf *b, const char *body)
{
    buf_adds(b, body);
    buf_addf(b, " #%016llx\n", (unsigned long long)XXH3_64bits(body, strlen(body)));
}

/* Run fragment as a session would (hosts/session.c): `( eval 'F'\n)` in a
 * shell (TEST_SH) that reads its script from stdin; stdout into out. Returns the
 * exit status. A file rather than sh -c: large fragments exceed ARG_MAX. */
static inline int run_sh(const struct buf *fragment, struct buf *out)
{
    char path[] = "/tmp/batou-ng-manifest-script-XXXXXX";
    struct buf script;
    char chunk[4096];
    size_t n;

    buf_init(&script);
    buf_adds(&script, "( eval ");
    assert_int_equal(shell_quote_n(&script, fragment->data, fragment->len), 0);
    buf_adds(&script, "\n)\n");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, script.data, script.len), (ssize_t)script.len);
    close(fd);
    char *cmd = xasprintf(TEST_SH " <%s", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    buf_clear(out);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(out, chunk, n);
    int status = pclose(f);
    unlink(path);
    free(cmd);
    buf_release(&script);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static inline void add_node(struct buf *b, const char *key, const char *hash)
{
    const char *paths[] = {"/srv/a", "/srv/b"};
    assert_int_equal(manifest_node_line(b, key, "File", hash, paths, 2), 0);
}

static inline void assert_same_node(const struct manifest_node *a, const struct manifest_node *b)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->kind, b->kind);
    assert_string_equal(a->hash, b->hash);
    assert_int_equal(a->npaths, b->npaths);
    for (size_t i = 0; i < a->npaths; i++)
        assert_string_equal(a->paths[i], b->paths[i]);
}

static inline void assert_same_state(const struct manifest *a, const struct manifest *b)
{
    assert_int_equal(a->valid, b->valid);
    assert_int_equal(a->count, b->count);
    const struct manifest_node **nodes = manifest_sorted_nodes(a);
    for (size_t i = 0; i < a->count; i++)
        assert_same_node(nodes[i], manifest_find(b, nodes[i]->key));
    free(nodes);
    assert_int_equal(a->has_run, b->has_run);
    assert_int_equal(a->has_previous, b->has_previous);
    if (a->has_previous)
        assert_string_equal(a->previous.id, b->previous.id);
    if (a->has_run) {
        assert_string_equal(a->run.id, b->run.id);
        assert_string_equal(a->run.env, b->run.env);
        assert_string_equal(a->run.who, b->run.who);
        assert_true((a->run.commit == NULL) == (b->run.commit == NULL));
        if (a->run.commit)
            assert_string_equal(a->run.commit, b->run.commit);
        assert_int_equal(a->run.time, b->run.time);
    }
}

#endif
