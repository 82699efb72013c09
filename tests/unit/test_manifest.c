/* link: engine/deploy/manifest.c engine/deploy/manifest_shell.c hosts/shell.c engine/util.c */
/* The manifest's format (engine/deploy/manifest.c): records, escaping,
 * corruption, compaction. Its shell fragments against a real shell are
 * tests/unit/test_manifest_shell.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "manifest_testing.h"

#include <time.h>

static void add_header(struct buf *b)
{
    manifest_header_line(b, GEN);
}

static void parse_buf(struct manifest *m, const struct buf *b)
{
    manifest_parse(m, b->data, b->len);
}

/* ---- the format ---- */

static void test_lines_are_escaped_exactly(void **state)
{
    (void)state;
    struct buf b, want;
    const char *paths[] = {"", "-", "caf\xc3\xa9 x"};

    buf_init(&b);
    buf_init(&want);
    manifest_header_line(&b, GEN);
    add_checked(&want, "H batou-ng-manifest 2 00112233445566778899aabbccddeeff");
    assert_string_equal(b.data, want.data);

    buf_clear(&b);
    buf_clear(&want);
    assert_int_equal(manifest_node_line(&b, "a b\\c\nd\te\x01\x7f#", "", HASH_A, paths, 3), 0);
    add_checked(&want, "N a\\sb\\\\c\\nd\\te\\x01\\x7f# \\- 0123456789abcdef0123456789abcdef"
                       " \\- - caf\xc3\xa9\\sx");
    assert_string_equal(b.data, want.data);

    buf_clear(&b);
    buf_clear(&want);
    manifest_run_line(&b, "run 1", "prod", NULL, "ci@build", 1700000000);
    manifest_run_line(&b, "r2", "prod", "abc123", "me@laptop", -5);
    manifest_remove_line(&b, "");
    add_checked(&want, "R run\\s1 prod - ci@build 1700000000");
    add_checked(&want, "R r2 prod abc123 me@laptop -5");
    add_checked(&want, "D \\-");
    assert_string_equal(b.data, want.data);
    buf_release(&b);
    buf_release(&want);
}

static void test_node_line_rejects_bad_hash(void **state)
{
    (void)state;
    struct buf b;
    const char *bad[] = {"", "0123", "0123456789ABCDEF0123456789abcdef",
                         "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"};

    buf_init(&b);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(manifest_node_line(&b, "k", "File", bad[i], NULL, 0), -1);
        assert_int_equal(b.len, 0);
    }
    buf_release(&b);
}

static void test_round_trip_awkward_keys_and_paths(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    manifest_run_line(&b, AWKWARD[2], AWKWARD[4], AWKWARD[7], AWKWARD[14], 42);
    for (size_t i = 0; i < NAWKWARD; i++)
        assert_int_equal(
            manifest_node_line(&b, AWKWARD[i], AWKWARD[NAWKWARD - 1 - i], HASH_A, AWKWARD, i), 0);
    parse_buf(&m, &b);
    assert_true(m.valid);
    assert_null(m.invalid);
    assert_string_equal(m.generation, GEN);
    assert_int_equal(m.corrupt, 0);
    assert_int_equal(m.torn, 0);
    assert_int_equal(m.count, NAWKWARD);
    assert_int_equal(m.records, NAWKWARD + 2);
    assert_int_equal(m.size, b.len);
    for (size_t i = 0; i < NAWKWARD; i++) {
        const struct manifest_node *n = manifest_find(&m, AWKWARD[i]);
        assert_non_null(n);
        assert_string_equal(n->key, AWKWARD[i]);
        assert_string_equal(n->kind, AWKWARD[NAWKWARD - 1 - i]);
        assert_string_equal(n->hash, HASH_A);
        assert_int_equal(n->npaths, i);
        for (size_t j = 0; j < i; j++)
            assert_string_equal(n->paths[j], AWKWARD[j]);
    }
    assert_true(m.has_run);
    assert_string_equal(m.run.id, AWKWARD[2]);
    assert_string_equal(m.run.env, AWKWARD[4]);
    assert_string_equal(m.run.commit, AWKWARD[7]);
    assert_string_equal(m.run.who, AWKWARD[14]);
    assert_int_equal(m.run.time, 42);
    assert_null(manifest_find(&m, "nope"));
    /* every line is one line: escaping left no raw newline inside a record */
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    assert_int_equal(lines, NAWKWARD + 2);
    manifest_release(&m);
    buf_release(&b);
}

static void test_later_records_replace_and_remove(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;
    const char *paths[] = {"/srv/new"};

    buf_init(&b);
    add_header(&b);
    add_node(&b, "env/h/a", HASH_A);
    add_node(&b, "env/h/b", HASH_A);
    add_node(&b, "env/h/c", HASH_A);
    assert_int_equal(manifest_node_line(&b, "env/h/a", "Symlink", HASH_B, paths, 1), 0);
    manifest_remove_line(&b, "env/h/b");
    manifest_remove_line(&b, "env/h/never-there");
    add_node(&b, "env/h/c", HASH_B);
    manifest_run_line(&b, "r1", "prod", "c1", "a@x", 1);
    manifest_run_line(&b, "r2", "prod", NULL, "b@y", 2);
    parse_buf(&m, &b);
    assert_true(m.valid);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.records, 10);
    assert_int_equal(m.corrupt, 0);
    const struct manifest_node *a = manifest_find(&m, "env/h/a");
    assert_non_null(a);
    assert_string_equal(a->kind, "Symlink");
    assert_string_equal(a->hash, HASH_B);
    assert_int_equal(a->npaths, 1);
    assert_string_equal(a->paths[0], "/srv/new");
    assert_null(manifest_find(&m, "env/h/b"));
    assert_string_equal(manifest_find(&m, "env/h/c")->hash, HASH_B);
    assert_string_equal(manifest_find(&m, "env/h/c")->paths[1], "/srv/b");
    assert_string_equal(m.run.id, "r2");
    assert_null(m.run.commit);
    assert_string_equal(m.run.who, "b@y");
    assert_int_equal(m.run.time, 2);
    manifest_release(&m);
    buf_release(&b);
}

static void test_torn_last_line_is_ignored_and_counted(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    add_node(&b, "a", HASH_A);
    size_t before = b.len;
    add_node(&b, "b", HASH_A);
    /* the whole record but its newline: still torn */
    parse_buf(&m, &(struct buf){b.data, b.len - 1, 0});
    assert_true(m.valid);
    assert_int_equal(m.count, 1);
    assert_non_null(manifest_find(&m, "a"));
    assert_null(manifest_find(&m, "b"));
    assert_int_equal(m.torn, 1);
    assert_int_equal(m.corrupt, 0);
    assert_true(manifest_needs_compaction(&m));
    manifest_release(&m);
    /* half a record */
    parse_buf(&m, &(struct buf){b.data, before + 7, 0});
    assert_int_equal(m.count, 1);
    assert_int_equal(m.torn, 1);
    manifest_release(&m);
    parse_buf(&m, &b);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.torn, 0);
    assert_false(manifest_needs_compaction(&m));
    manifest_release(&m);
    buf_release(&b);
}

static void test_corrupt_lines_are_ignored_and_counted(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    add_node(&b, "first", HASH_A);
    size_t middle = b.len;
    add_node(&b, "middle", HASH_A);
    add_node(&b, "last", HASH_A);
    b.data[middle + 4] ^= 0x01; /* one bit in "middle" */
    parse_buf(&m, &b);
    assert_true(m.valid);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.corrupt, 1);
    assert_int_equal(m.torn, 0);
    assert_int_equal(m.records, 4);
    assert_non_null(manifest_find(&m, "first"));
    assert_non_null(manifest_find(&m, "last"));
    assert_null(manifest_find(&m, "middle"));
    assert_null(manifest_find(&m, "middlf"));
    assert_true(manifest_needs_compaction(&m));
    manifest_release(&m);
    buf_release(&b);
}

/* Lines with a correct checksum but a wrong shape are corrupt too. */
static void test_malformed_records_are_corrupt(void **state)
{
    (void)state;
    const char *bodies[] = {
        "X key",                                          /* unknown type */
        "NN key File 0123456789abcdef0123456789abcdef",   /* type is one letter */
        "N key File",                                     /* no hash */
        "N key File 0123456789ABCDEF0123456789ABCDEF",    /* hash not lowercase */
        "N key File 0123456789abcdef0123456789abcde",     /* hash too short */
        "N k\\q File 0123456789abcdef0123456789abcdef",   /* unknown escape */
        "N k\\x0 File 0123456789abcdef0123456789abcdef",  /* short \x */
        "N k\\x00 File 0123456789abcdef0123456789abcdef", /* NUL */
        "N k\\ File 0123456789abcdef0123456789abcdef",    /* lone backslash */
        "N k\tx File 0123456789abcdef0123456789abcdef",   /* raw tab */
        "N key  File 0123456789abcdef0123456789abcdef",   /* empty field */
        "N key File 0123456789abcdef0123456789abcdef ",   /* trailing space */
        " N key File 0123456789abcdef0123456789abcdef",   /* leading space */
        "D",
        "D a b",
        "R id env - who",
        "R id env - who 12x",
        "R id env - who \\-",
        "R id env - who 9223372036854775808",
        "R id env - who 1 2",
        "H batou-ng-manifest 1 00112233445566778899aabbccddeeff", /* a second header */
        "",
    };
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
        add_checked(&b, bodies[i]);
    buf_adds(&b, "\n");          /* empty line */
    buf_adds(&b, "N key File "); /* no checksum */
    buf_adds(&b, "0123456789abcdef0123456789abcdef\n");
    add_checked(&b, "R id env - who -9223372036854775808");             /* valid, the limit */
    add_checked(&b, "N \\x41\\x42 K 0123456789abcdef0123456789abcdef"); /* valid: "AB" */
    parse_buf(&m, &b);
    assert_true(m.valid);
    assert_int_equal(m.corrupt, sizeof bodies / sizeof *bodies + 2);
    assert_int_equal(m.count, 1);
    assert_non_null(manifest_find(&m, "AB"));
    assert_null(manifest_find(&m, "key"));
    assert_true(m.has_run);
    assert_int_equal(m.run.time, INT64_MIN);
    manifest_release(&m);
    buf_release(&b);
}

static void assert_invalid(const char *text, size_t len, const char *why)
{
    struct manifest m;
    manifest_parse(&m, text, len);
    assert_false(m.valid);
    assert_string_equal(m.invalid, why);
    assert_string_equal(m.generation, "");
    assert_int_equal(m.count, 0);
    assert_false(m.has_run);
    assert_null(manifest_find(&m, "a"));
    assert_true(manifest_needs_compaction(&m));
    assert_int_equal(m.size, len);
    manifest_release(&m);
}

static void test_wrong_or_missing_header_means_no_manifest(void **state)
{
    (void)state;
    struct buf b, rest;

    buf_init(&b);
    buf_init(&rest);
    add_node(&rest, "a", HASH_A);
    manifest_run_line(&rest, "r", "e", NULL, "w", 1);

    assert_invalid("", 0, "no manifest");
    assert_invalid(rest.data, rest.len, "no header line");
    assert_invalid("\x7f"
                   "ELF\0\0\1garbage\n",
                   14, "no header line");

    const char *versions[] = {"H batou-ng-manifest 3 00112233445566778899aabbccddeeff",
                              "H batou-ng-manifest 10 00112233445566778899aabbccddeeff",
                              "H batou-ng-manifest 1.1 00112233445566778899aabbccddeeff",
                              "H batou-ng-manifest \\- x"};
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
        buf_clear(&b);
        add_checked(&b, versions[i]);
        buf_add(&b, rest.data, rest.len);
        assert_invalid(b.data, b.len, "unknown version");
    }
    /* version 3 may checksum otherwise: still "unknown version" */
    buf_clear(&b);
    buf_adds(&b, "H batou-ng-manifest 3 sha256:abc\n");
    assert_invalid(b.data, b.len, "unknown version");

    const char *bad[] = {"H batou-ng-manifest 1 0011", "H batou-ng-manifest 1",
                         "H batou-ng-manifest 1 00112233445566778899aabbccddeeff extra"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf_clear(&b);
        add_checked(&b, bad[i]);
        buf_add(&b, rest.data, rest.len);
        assert_invalid(b.data, b.len, "corrupt header line");
    }
    buf_clear(&b);
    add_header(&b);
    b.data[30] ^= 1; /* the generation no longer matches its checksum */
    buf_add(&b, rest.data, rest.len);
    assert_invalid(b.data, b.len, "corrupt header line");

    buf_clear(&b);
    add_header(&b);
    assert_invalid(b.data, b.len - 1, "torn header line");
    buf_release(&b);
    buf_release(&rest);
}

static void test_header_only_is_valid_and_empty(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    parse_buf(&m, &b);
    assert_true(m.valid);
    assert_int_equal(m.count, 0);
    assert_int_equal(m.records, 1);
    assert_false(m.has_run);
    assert_false(manifest_needs_compaction(&m));
    manifest_release(&m);
    buf_release(&b);
}

/* The previous commit is the last run of the commit before the last one:
 * runs of the same commit ("+dirty" or not) do not move it. */
static void test_previous_commit_is_the_last_other_one(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    manifest_run_line(&b, "r1", "prod", "aaa", "a@x", 1);
    parse_buf(&m, &b);
    assert_false(m.has_previous);
    manifest_release(&m);

    manifest_run_line(&b, "r2", "prod", "aaa+dirty", "a@x", 2);
    manifest_run_line(&b, "r3", "prod", "bbb", "b@y", 3);
    manifest_run_line(&b, "r4", "prod", "bbb", "b@y", 4);
    parse_buf(&m, &b);
    assert_true(m.has_previous);
    assert_string_equal(m.previous.id, "r2");
    assert_string_equal(m.run.id, "r4");
    manifest_release(&m);

    manifest_run_line(&b, "r5", "prod", NULL, "c@z", 5);
    parse_buf(&m, &b);
    assert_string_equal(m.previous.commit, "bbb");
    assert_null(m.run.commit);
    manifest_release(&m);
    buf_release(&b);
}

/* A journal where each of 100 nodes was written 4 times and half removed. */
static void build_journal(struct buf *b)
{
    char key[64];

    add_header(b);
    manifest_run_line(b, "old", "prod", "c0", "a@x", 10);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "prod/web%02d/app/File(f %d)", i % 7, i);
            add_node(b, key, round % 2 ? HASH_A : HASH_B);
        }
    }
    for (int i = 0; i < 100; i += 2) {
        snprintf(key, sizeof key, "prod/web%02d/app/File(f %d)", i % 7, i);
        manifest_remove_line(b, key);
    }
    manifest_run_line(b, "new", "prod", "c1", "b@y", 20);
}

static void test_compaction_keeps_live_state_with_new_generation(void **state)
{
    (void)state;
    struct buf b, out;
    struct manifest m, again;

    buf_init(&b);
    buf_init(&out);
    build_journal(&b);
    parse_buf(&m, &b);
    assert_int_equal(m.count, 50);
    assert_int_equal(m.records, 1 + 1 + 400 + 50 + 1);
    assert_true(manifest_needs_compaction(&m));

    manifest_serialize(&m, &out);
    assert_string_not_equal(m.generation, GEN);
    assert_int_equal(m.records, 53); /* the header, both runs, the nodes */
    assert_int_equal(m.size, out.len);
    assert_false(manifest_needs_compaction(&m));
    manifest_parse(&again, out.data, out.len);
    assert_same_state(&m, &again);
    assert_string_equal(again.generation, m.generation);
    assert_int_equal(again.records, m.records);
    assert_int_equal(again.size, m.size);
    assert_string_equal(again.run.id, "new");
    assert_true(again.has_previous);
    assert_string_equal(again.previous.id, "old");
    assert_string_equal(again.previous.commit, "c0");
    assert_int_equal(again.corrupt, 0);

    /* nodes come sorted by key, after the header and the runs */
    const char *p = strchr(out.data, '\n') + 1;
    assert_int_equal(p[0], 'R');
    p = strchr(p, '\n') + 1;
    assert_int_equal(p[0], 'R');
    const struct manifest_node **nodes = manifest_sorted_nodes(&again);
    for (size_t i = 0; i < again.count; i++) {
        p = strchr(p, '\n') + 1;
        struct buf line;
        buf_init(&line);
        manifest_node_line(&line, nodes[i]->key, nodes[i]->kind, nodes[i]->hash, nodes[i]->paths,
                           nodes[i]->npaths);
        assert_memory_equal(p, line.data, line.len);
        if (i > 0)
            assert_true(strcmp(nodes[i - 1]->key, nodes[i]->key) < 0);
        buf_release(&line);
    }
    free(nodes);

    /* a second compaction: same state, another generation */
    char first[MANIFEST_HEX];
    memcpy(first, m.generation, MANIFEST_HEX);
    buf_clear(&out);
    manifest_serialize(&m, &out);
    assert_string_not_equal(m.generation, first);
    manifest_release(&again);
    manifest_parse(&again, out.data, out.len);
    assert_same_state(&m, &again);
    manifest_release(&again);
    manifest_release(&m);
    buf_release(&b);
    buf_release(&out);
}

static void test_compaction_of_nothing_gives_a_header(void **state)
{
    (void)state;
    struct buf out;
    struct manifest m, again;

    buf_init(&out);
    manifest_init(&m);
    assert_true(manifest_needs_compaction(&m));
    manifest_serialize(&m, &out);
    assert_true(m.valid);
    assert_int_equal(strlen(m.generation), 32);
    manifest_parse(&again, out.data, out.len);
    assert_true(again.valid);
    assert_int_equal(again.count, 0);
    assert_int_equal(again.records, 1);
    assert_string_equal(again.generation, m.generation);
    manifest_release(&again);
    manifest_release(&m);
    buf_release(&out);
}

static void test_apply_matches_parse_of_the_appended_file(void **state)
{
    (void)state;
    struct buf b;
    struct manifest whole, step;

    buf_init(&b);
    build_journal(&b);
    parse_buf(&whole, &b);
    const char *nl = memchr(b.data, '\n', b.len);
    size_t pos = (size_t)(nl - b.data) + 1;
    manifest_parse(&step, b.data, pos);
    while (pos < b.len) {
        nl = memchr(b.data + pos, '\n', b.len - pos);
        size_t n = (size_t)(nl - (b.data + pos)) + 1;
        manifest_apply(&step, b.data + pos, n);
        pos += n;
    }
    assert_same_state(&whole, &step);
    assert_int_equal(step.records, whole.records);
    assert_int_equal(step.size, whole.size);
    assert_int_equal(step.corrupt, 0);
    manifest_release(&step);

    /* on "no manifest" records are counted but ignored, as a parse would */
    manifest_init(&step);
    manifest_apply(&step, b.data + 80, 0);
    add_node(&b, "late", HASH_A);
    nl = memchr(b.data, '\n', b.len);
    manifest_apply(&step, nl + 1, b.len - (size_t)(nl + 1 - b.data));
    assert_false(step.valid);
    assert_int_equal(step.count, 0);
    assert_int_equal(step.records, whole.records);
    manifest_release(&step);
    manifest_release(&whole);
    buf_release(&b);
}

static void test_needs_compaction_threshold(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;

    buf_init(&b);
    add_header(&b);
    add_node(&b, "a", HASH_A);
    /* records = 1 + 1 + k; live = 1; threshold 3 * 1 + 64 = 67 */
    for (int i = 0; i < 65; i++)
        add_node(&b, "a", i % 2 ? HASH_A : HASH_B);
    parse_buf(&m, &b);
    assert_int_equal(m.records, 67);
    assert_false(manifest_needs_compaction(&m));
    manifest_release(&m);
    add_node(&b, "a", HASH_A);
    parse_buf(&m, &b);
    assert_int_equal(m.records, 68);
    assert_true(manifest_needs_compaction(&m));
    manifest_release(&m);
    buf_release(&b);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_ten_thousand_nodes(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct buf b, out, line;
    struct manifest m, again, step;
    struct timespec t0;
    char key[96], p1[96], p2[96];

    buf_init(&b);
    buf_init(&out);
    buf_init(&line);
    add_header(&b);
    manifest_run_line(&b, "r", "production", "0123abcd", "deploy@ci", 1700000000);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(key, sizeof key, "production/web%02d/app/File(/srv/app/conf/f%05d.ini)",
                     i % 40, i);
            snprintf(p1, sizeof p1, "/srv/app/conf/f%05d.ini", i);
            snprintf(p2, sizeof p2, "/srv/app/conf/f%05d.d", i);
            const char *paths[] = {p1, p2};
            assert_int_equal(manifest_node_line(&b, key, "File", round ? HASH_A : HASH_B, paths, 2),
                             0);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    parse_buf(&m, &b);
    double parse = seconds_since(&t0);
    assert_int_equal(m.count, N);
    assert_int_equal(m.corrupt, 0);
    assert_string_equal(manifest_find(&m, key)->hash, HASH_A);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    manifest_serialize(&m, &out);
    double serialize = seconds_since(&t0);
    manifest_parse(&again, out.data, out.len);
    assert_same_state(&m, &again);

    /* the deploy's path: one append (and apply) per finished node */
    manifest_parse(&step, out.data, out.len);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const struct manifest_node **nodes = manifest_sorted_nodes(&again);
    for (int i = 0; i < N; i++) {
        buf_clear(&line);
        manifest_node_line(&line, nodes[i]->key, nodes[i]->kind, HASH_B, nodes[i]->paths,
                           nodes[i]->npaths);
        manifest_apply(&step, line.data, line.len);
    }
    double apply = seconds_since(&t0);
    free(nodes);
    assert_int_equal(step.count, N);
    assert_string_equal(manifest_find(&step, key)->hash, HASH_B);

    printf("10,000 nodes: journal %zu bytes (%d records): parse %.1f ms; "
           "serialize %.1f ms (%zu bytes); 10,000 single-record applies %.1f ms\n",
           b.len, 2 * N + 2, parse * 1e3, serialize * 1e3, out.len, apply * 1e3);
    /* generous bounds that an O(n^2) implementation would break */
    assert_true(parse < 1.0);
    assert_true(serialize < 1.0);
    assert_true(apply < 1.0);
    manifest_release(&step);
    manifest_release(&again);
    manifest_release(&m);
    buf_release(&b);
    buf_release(&out);
    buf_release(&line);
}

static void test_generations_are_random_hex(void **state)
{
    (void)state;
    char a[MANIFEST_HEX], b[MANIFEST_HEX];

    manifest_new_generation(a);
    manifest_new_generation(b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

static void test_parse_generation_output(void **state)
{
    (void)state;
    char gen[MANIFEST_HEX];
    uint64_t size = 99;

    assert_int_equal(manifest_parse_generation("", 0, gen, &size), 0);
    assert_string_equal(gen, "");
    assert_int_equal(size, 0);
    const char ok[] = "00112233445566778899aabbccddeeff 12345\n";
    assert_int_equal(manifest_parse_generation(ok, strlen(ok), gen, &size), 0);
    assert_string_equal(gen, GEN);
    assert_int_equal(size, 12345);
    assert_int_equal(manifest_parse_generation("- 80\n", 5, gen, &size), 0);
    assert_string_equal(gen, "");
    assert_int_equal(size, 80);
    assert_int_equal(manifest_parse_generation("0011 7\n", 7, gen, &size), 0);
    assert_string_equal(gen, "");
    assert_int_equal(size, 7);
    const char *bad[] = {
        "- 80",     "80\n", " 80\n", "- \n", "- 8x\n", "- -8\n", "- 99999999999999999999\n",
        "a\nb 1\n", "\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(manifest_parse_generation(bad[i], strlen(bad[i]), gen, &size), -1);
}

static void test_manifest_path(void **state)
{
    (void)state;
    char *p = manifest_path("/srv/app");
    assert_string_equal(p, "/srv/app/.batou-ng/manifest");
    free(p);
    p = manifest_path("/srv/app/");
    assert_string_equal(p, "/srv/app/.batou-ng/manifest");
    free(p);
    p = manifest_path("");
    assert_string_equal(p, ".batou-ng/manifest");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_are_escaped_exactly),
        cmocka_unit_test(test_node_line_rejects_bad_hash),
        cmocka_unit_test(test_round_trip_awkward_keys_and_paths),
        cmocka_unit_test(test_later_records_replace_and_remove),
        cmocka_unit_test(test_torn_last_line_is_ignored_and_counted),
        cmocka_unit_test(test_corrupt_lines_are_ignored_and_counted),
        cmocka_unit_test(test_malformed_records_are_corrupt),
        cmocka_unit_test(test_wrong_or_missing_header_means_no_manifest),
        cmocka_unit_test(test_header_only_is_valid_and_empty),
        cmocka_unit_test(test_compaction_keeps_live_state_with_new_generation),
        cmocka_unit_test(test_compaction_of_nothing_gives_a_header),
        cmocka_unit_test(test_apply_matches_parse_of_the_appended_file),
        cmocka_unit_test(test_needs_compaction_threshold),
        cmocka_unit_test(test_ten_thousand_nodes),
        cmocka_unit_test(test_generations_are_random_hex),
        cmocka_unit_test(test_parse_generation_output),
        cmocka_unit_test(test_manifest_path),
        cmocka_unit_test(test_previous_commit_is_the_last_other_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
