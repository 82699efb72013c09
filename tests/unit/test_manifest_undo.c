/* link: engine/deploy/manifest.c engine/deploy/manifest_shell.c hosts/shell.c engine/util.c */
/* The manifest's version 2: U records (a node with what undoes it, read by
 * --prune), and version 1 files, which are still read. The rest of the
 * format is tests/unit/test_manifest.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "manifest_testing.h"

static const char *const ENV[] = {"LANG=C", "PATH=/usr/bin:/bin", "EMPTY=", "X=a b\nc=d"};
static const char *const PATHS[] = {"/srv/app/venv", "/srv/app/my tree"};

static const struct manifest_undo STOP = {
    .command = "supervisorctl stop app\nsupervisorctl remove app",
    .cwd = "/srv/app",
    .env = ENV,
    .nenv = 4,
};

static void assert_undo(const struct manifest_node *n, const struct manifest_undo *want)
{
    assert_non_null(n);
    assert_non_null(n->undo.command);
    assert_string_equal(n->undo.command, want->command);
    if (want->cwd)
        assert_string_equal(n->undo.cwd, want->cwd);
    else
        assert_null(n->undo.cwd);
    assert_int_equal(n->undo.nenv, want->nenv);
    for (size_t i = 0; i < want->nenv; i++)
        assert_string_equal(n->undo.env[i], want->env[i]);
}

static void assert_paths(const struct manifest_node *n, const char *const *paths, size_t npaths)
{
    assert_int_equal(n->npaths, npaths);
    for (size_t i = 0; i < npaths; i++)
        assert_string_equal(n->paths[i], paths[i]);
}

/* A version 2 manifest: header, then the lines. */
static void parse_with_header(struct manifest *m, const struct buf *lines)
{
    struct buf b;
    buf_init(&b);
    manifest_header_line(&b, GEN);
    buf_add(&b, lines->data, lines->len);
    manifest_parse(m, b.data, b.len);
    buf_release(&b);
}

static void test_header_is_version_2(void **state)
{
    (void)state;
    struct buf b, want;
    buf_init(&b);
    buf_init(&want);
    manifest_header_line(&b, GEN);
    add_checked(&want, "H batou-ng-manifest 2 00112233445566778899aabbccddeeff");
    assert_string_equal(b.data, want.data);
    buf_clear(&b);
    buf_clear(&want);
    manifest_header_line_version(&b, 1, GEN);
    add_checked(&want, "H batou-ng-manifest 1 00112233445566778899aabbccddeeff");
    assert_string_equal(b.data, want.data);
    buf_release(&b);
    buf_release(&want);
}

static void test_undo_line_is_escaped_exactly(void **state)
{
    (void)state;
    struct buf b, want;
    buf_init(&b);
    buf_init(&want);
    assert_int_equal(manifest_node_undo_line(&b, "e/h/app/Command(venv)", "Command", HASH_A,
                                             &STOP, PATHS, 2),
                     0);
    add_checked(&want, "U e/h/app/Command(venv) Command 0123456789abcdef0123456789abcdef"
                       " supervisorctl\\sstop\\sapp\\nsupervisorctl\\sremove\\sapp /srv/app 4"
                       " LANG=C PATH=/usr/bin:/bin EMPTY= X=a\\sb\\nc=d"
                       " /srv/app/venv /srv/app/my\\stree");
    assert_string_equal(b.data, want.data);

    /* no cwd, no env, no path */
    const struct manifest_undo bare = {.command = "true"};
    buf_clear(&b);
    buf_clear(&want);
    assert_int_equal(manifest_node_undo_line(&b, "k", "Command", HASH_A, &bare, NULL, 0), 0);
    add_checked(&want, "U k Command 0123456789abcdef0123456789abcdef true \\- 0");
    assert_string_equal(b.data, want.data);
    buf_release(&b);
    buf_release(&want);
}

static void test_without_undo_it_is_an_n_record(void **state)
{
    (void)state;
    struct buf a, b;
    buf_init(&a);
    buf_init(&b);
    const struct manifest_undo none = {.cwd = "/srv", .env = ENV, .nenv = 1};
    assert_int_equal(manifest_node_line(&a, "k", "File", HASH_A, PATHS, 2), 0);
    assert_int_equal(manifest_node_undo_line(&b, "k", "File", HASH_A, NULL, PATHS, 2), 0);
    assert_string_equal(a.data, b.data);
    buf_clear(&b);
    assert_int_equal(manifest_node_undo_line(&b, "k", "File", HASH_A, &none, PATHS, 2), 0);
    assert_string_equal(a.data, b.data);
    buf_release(&a);
    buf_release(&b);
}

static void test_undo_line_refuses_what_it_cannot_record(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(manifest_node_undo_line(&b, "k", "Command", "0123", &STOP, NULL, 0), -1);
    const char *const bad_env[] = {"NOEQUALS"};
    const struct manifest_undo bad = {.command = "x", .env = bad_env, .nenv = 1};
    assert_int_equal(manifest_node_undo_line(&b, "k", "Command", HASH_A, &bad, NULL, 0), -1);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_undo_round_trip(void **state)
{
    (void)state;
    struct buf lines;
    struct manifest m;
    buf_init(&lines);
    assert_int_equal(
        manifest_node_undo_line(&lines, "e/h/a/Command(x)", "Command", HASH_A, &STOP, PATHS, 2),
        0);
    const struct manifest_undo bare = {.command = "true"};
    assert_int_equal(manifest_node_undo_line(&lines, "e/h/a/Command(y)", "Command", HASH_B,
                                             &bare, NULL, 0),
                     0);
    assert_int_equal(manifest_node_line(&lines, "e/h/a/File(f)", "File", HASH_A, PATHS, 1), 0);
    parse_with_header(&m, &lines);
    assert_true(m.valid);
    assert_int_equal(m.version, 2);
    assert_int_equal(m.corrupt, 0);
    assert_int_equal(m.count, 3);
    const struct manifest_node *x = manifest_find(&m, "e/h/a/Command(x)");
    assert_undo(x, &STOP);
    assert_paths(x, PATHS, 2);
    assert_string_equal(x->kind, "Command");
    assert_string_equal(x->hash, HASH_A);
    const struct manifest_node *y = manifest_find(&m, "e/h/a/Command(y)");
    assert_undo(y, &bare);
    assert_paths(y, NULL, 0);
    const struct manifest_node *f = manifest_find(&m, "e/h/a/File(f)");
    assert_null(f->undo.command);
    assert_paths(f, PATHS, 1);

    /* a copy of each record reads back the same */
    struct buf copy;
    struct manifest again;
    buf_init(&copy);
    manifest_node_copy_line(&copy, x);
    manifest_node_copy_line(&copy, y);
    manifest_node_copy_line(&copy, f);
    parse_with_header(&again, &copy);
    assert_int_equal(again.count, 3);
    assert_undo(manifest_find(&again, "e/h/a/Command(x)"), &STOP);
    assert_paths(manifest_find(&again, "e/h/a/Command(x)"), PATHS, 2);
    assert_null(manifest_find(&again, "e/h/a/File(f)")->undo.command);

    /* compaction keeps the undo */
    struct buf file;
    struct manifest compacted;
    buf_init(&file);
    manifest_serialize(&m, &file);
    manifest_parse(&compacted, file.data, file.len);
    assert_int_equal(compacted.version, 2);
    assert_int_equal(compacted.count, 3);
    assert_undo(manifest_find(&compacted, "e/h/a/Command(x)"), &STOP);

    manifest_release(&compacted);
    manifest_release(&again);
    manifest_release(&m);
    buf_release(&file);
    buf_release(&copy);
    buf_release(&lines);
}

static void test_later_records_replace_an_undo(void **state)
{
    (void)state;
    struct buf lines;
    struct manifest m;
    buf_init(&lines);
    manifest_node_undo_line(&lines, "a", "Command", HASH_A, &STOP, PATHS, 2);
    manifest_node_undo_line(&lines, "b", "Command", HASH_A, &STOP, PATHS, 2);
    /* the Command lost its undo: its new record has none */
    manifest_node_line(&lines, "a", "Command", HASH_B, NULL, 0);
    manifest_remove_line(&lines, "b");
    parse_with_header(&m, &lines);
    assert_int_equal(m.count, 1);
    const struct manifest_node *a = manifest_find(&m, "a");
    assert_null(a->undo.command);
    assert_string_equal(a->hash, HASH_B);
    assert_null(manifest_find(&m, "b"));

    /* and back: the same as appending to the parsed file */
    struct buf more;
    buf_init(&more);
    manifest_node_undo_line(&more, "a", "Command", HASH_A, &STOP, NULL, 0);
    manifest_apply(&m, more.data, more.len);
    assert_undo(manifest_find(&m, "a"), &STOP);
    assert_int_equal(m.corrupt, 0);
    manifest_release(&m);
    buf_release(&more);
    buf_release(&lines);
}

static void test_malformed_undo_records_are_corrupt(void **state)
{
    (void)state;
    const char *bad[] = {
        "U k Command 0123456789abcdef0123456789abcdef stop /srv",     /* no count */
        "U k Command 0123456789abcdef0123456789abcdef stop /srv 1",   /* too few entries */
        "U k Command 0123456789abcdef0123456789abcdef stop /srv -1",  /* negative */
        "U k Command 0123456789abcdef0123456789abcdef stop /srv x",   /* not a number */
        "U k Command 0123456789abcdef0123456789abcdef stop /srv 1 A", /* no '=' */
        "U k Command 0123456789abcdef0123456789abcdef stop /srv 1 =x", /* no name */
        "U k Command 0123456789abcdef0123456789abcdef \\- /srv 0",    /* empty command */
        "U k Command 0123 stop /srv 0",                               /* bad hash */
        "U k Command",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct buf lines;
        struct manifest m;
        buf_init(&lines);
        add_checked(&lines, bad[i]);
        parse_with_header(&m, &lines);
        assert_true(m.valid);
        assert_int_equal(m.corrupt, 1);
        assert_int_equal(m.count, 0);
        manifest_release(&m);
        buf_release(&lines);
    }
    /* a count that leaves the rest as paths is fine */
    struct buf lines;
    struct manifest m;
    buf_init(&lines);
    add_checked(&lines, "U k Command 0123456789abcdef0123456789abcdef stop /srv 1 A=1 /p /q");
    parse_with_header(&m, &lines);
    assert_int_equal(m.corrupt, 0);
    const char *const paths[] = {"/p", "/q"};
    assert_paths(manifest_find(&m, "k"), paths, 2);
    assert_int_equal(manifest_find(&m, "k")->undo.nenv, 1);
    manifest_release(&m);
    buf_release(&lines);
}

/* A file written by a batou-ng that knew only version 1. */
static void old_file(struct buf *b)
{
    const char *const paths[] = {"/srv/app/app.conf"};
    manifest_header_line_version(b, 1, GEN);
    manifest_run_line(b, "run1", "prod", NULL, "u@h", 1700000000);
    manifest_node_line(b, "prod/h/app/File(app.conf)", "File", HASH_A, paths, 1);
    manifest_node_line(b, "prod/h/app/Command(x)", "Command", HASH_B, NULL, 0);
}

static void test_version_1_files_still_read(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;
    buf_init(&b);
    old_file(&b);
    manifest_parse(&m, b.data, b.len);
    assert_true(m.valid);
    assert_int_equal(m.version, 1);
    assert_string_equal(m.generation, GEN);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.corrupt, 0);
    assert_true(m.has_run);
    const struct manifest_node *f = manifest_find(&m, "prod/h/app/File(app.conf)");
    assert_string_equal(f->hash, HASH_A);
    assert_string_equal(f->paths[0], "/srv/app/app.conf");
    assert_null(f->undo.command);
    assert_null(manifest_find(&m, "prod/h/app/Command(x)")->undo.command);
    /* nothing is appended to it: the next write rewrites it as version 2 */
    assert_true(manifest_needs_compaction(&m));
    struct buf file;
    struct manifest rewritten;
    buf_init(&file);
    manifest_serialize(&m, &file);
    assert_int_equal(m.version, 2);
    assert_false(manifest_needs_compaction(&m));
    assert_memory_equal(file.data, "H batou-ng-manifest 2 ", 22);
    manifest_parse(&rewritten, file.data, file.len);
    assert_int_equal(rewritten.version, 2);
    assert_int_equal(rewritten.count, 2);
    assert_string_equal(manifest_find(&rewritten, "prod/h/app/File(app.conf)")->hash, HASH_A);
    manifest_release(&rewritten);
    manifest_release(&m);
    buf_release(&file);
    buf_release(&b);
}

static void test_a_u_record_in_a_version_1_file_is_corrupt(void **state)
{
    (void)state;
    struct buf b;
    struct manifest m;
    buf_init(&b);
    old_file(&b);
    manifest_node_undo_line(&b, "prod/h/app/Command(y)", "Command", HASH_A, &STOP, NULL, 0);
    manifest_parse(&m, b.data, b.len);
    assert_int_equal(m.version, 1);
    assert_int_equal(m.corrupt, 1);
    assert_null(manifest_find(&m, "prod/h/app/Command(y)"));
    manifest_release(&m);
    buf_release(&b);
}

/* The target reports the generation of version 1 and 2 files alike. */
static void test_shell_generation_of_both_versions(void **state)
{
    (void)state;
    char dir[] = "/tmp/batou-ng-manifest-undo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = xasprintf("%s/manifest", dir);
    for (int version = 1; version <= 2; version++) {
        struct buf text, frag, out;
        buf_init(&text);
        buf_init(&frag);
        buf_init(&out);
        manifest_header_line_version(&text, version, GEN);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fwrite(text.data, 1, text.len, f);
        fclose(f);
        manifest_generation_fragment(&frag, path);
        assert_int_equal(run_sh(&frag, &out), 0);
        char gen[MANIFEST_HEX];
        uint64_t size;
        assert_int_equal(manifest_parse_generation(out.data, out.len, gen, &size), 0);
        assert_string_equal(gen, GEN);
        assert_int_equal(size, text.len);
        buf_release(&text);
        buf_release(&frag);
        buf_release(&out);
    }
    unlink(path);
    rmdir(dir);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_is_version_2),
        cmocka_unit_test(test_undo_line_is_escaped_exactly),
        cmocka_unit_test(test_without_undo_it_is_an_n_record),
        cmocka_unit_test(test_undo_line_refuses_what_it_cannot_record),
        cmocka_unit_test(test_undo_round_trip),
        cmocka_unit_test(test_later_records_replace_an_undo),
        cmocka_unit_test(test_malformed_undo_records_are_corrupt),
        cmocka_unit_test(test_version_1_files_still_read),
        cmocka_unit_test(test_a_u_record_in_a_version_1_file_is_corrupt),
        cmocka_unit_test(test_shell_generation_of_both_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
