/* link: engine/deploy/manifest.c engine/deploy/manifest_shell.c hosts/shell.c engine/util.c */
/* The manifest's shell fragments (engine/deploy/manifest_shell.c) run by a
 * real shell: read, rewrite, append, the generation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "manifest_testing.h"

#include <sys/stat.h>

/* ---- against a real shell ---- */

static char *make_dir(void)
{
    char tmpl[] = "/tmp/batou-ng-manifest-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void remove_dir(char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The generation and size the target reports. */
static void remote_generation(const char *path, char gen[MANIFEST_HEX], uint64_t *size)
{
    struct buf frag, out;
    buf_init(&frag);
    buf_init(&out);
    manifest_generation_fragment(&frag, path);
    assert_int_equal(run_sh(&frag, &out), 0);
    assert_int_equal(manifest_parse_generation(out.data, out.len, gen, size), 0);
    buf_release(&frag);
    buf_release(&out);
}

static void remote_read(const char *path, struct manifest *m)
{
    struct buf frag, out;
    buf_init(&frag);
    buf_init(&out);
    manifest_read_fragment(&frag, path);
    assert_int_equal(run_sh(&frag, &out), 0);
    manifest_parse(m, out.data, out.len);
    buf_release(&frag);
    buf_release(&out);
}

static void remote_rewrite(const char *path, const struct buf *data)
{
    struct buf frag, out;
    char *err = NULL;
    buf_init(&frag);
    buf_init(&out);
    assert_int_equal(manifest_rewrite_fragment(&frag, path, data->data, data->len, &err), 0);
    assert_int_equal(run_sh(&frag, &out), 0);
    buf_release(&frag);
    buf_release(&out);
}

static void remote_append(const char *path, const struct buf *lines)
{
    struct buf frag, out;
    char *err = NULL;
    buf_init(&frag);
    buf_init(&out);
    assert_int_equal(manifest_append_fragment(&frag, path, lines->data, lines->len, &err), 0);
    assert_int_equal(run_sh(&frag, &out), 0);
    assert_int_equal(out.len, 0);
    buf_release(&frag);
    buf_release(&out);
}

static void test_shell_absent_manifest(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = manifest_path(dir);
    char gen[MANIFEST_HEX];
    uint64_t size = 1;
    struct manifest m;

    remote_generation(path, gen, &size);
    assert_string_equal(gen, "");
    assert_int_equal(size, 0);
    remote_read(path, &m);
    assert_false(m.valid);
    assert_string_equal(m.invalid, "no manifest");
    manifest_release(&m);
    free(path);
    remove_dir(dir);
}

static void test_shell_rewrite_append_read(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *target = xasprintf("%s/it's a \"target\" dir", dir);
    char *path = manifest_path(target);
    char *batou = xasprintf("%s/.batou-ng", target);
    struct buf data, line;
    struct manifest m, remote;
    char gen[MANIFEST_HEX], first[MANIFEST_HEX];
    uint64_t size;

    buf_init(&data);
    buf_init(&line);
    /* first deploy: no manifest, so a rewrite with the header and the run */
    manifest_init(&m);
    manifest_serialize(&m, &data);
    buf_clear(&line);
    manifest_run_line(&line, "run-1", "prod", "abc", "me@here", 1700000000);
    buf_add(&data, line.data, line.len);
    manifest_apply(&m, line.data, line.len);
    remote_rewrite(path, &data);
    assert_int_equal(mode_of(batou), 0700);
    assert_int_equal(mode_of(path), 0600);
    remote_generation(path, gen, &size);
    assert_string_equal(gen, m.generation);
    assert_int_equal(size, m.size);
    memcpy(first, gen, MANIFEST_HEX);

    /* three nodes finish: one append each; the size moves every time */
    static const size_t keys[] = {1, 8, 17}; /* %, backslashes, quotes */
    for (size_t i = 0; i < 3; i++) {
        const char *paths[] = {AWKWARD[5 + i], AWKWARD[15]};
        buf_clear(&line);
        assert_int_equal(manifest_node_line(&line, AWKWARD[keys[i]], "File", HASH_A, paths, 2), 0);
        uint64_t before = m.size;
        remote_append(path, &line);
        manifest_apply(&m, line.data, line.len);
        remote_generation(path, gen, &size);
        assert_string_equal(gen, first);
        assert_int_equal(size, m.size);
        assert_true(size > before);
    }
    remote_read(path, &remote);
    assert_true(remote.valid);
    assert_int_equal(remote.count, 3);
    assert_int_equal(remote.corrupt + remote.torn, 0);
    assert_int_equal(remote.size, m.size);
    assert_same_state(&m, &remote);
    assert_string_equal(manifest_find(&remote, AWKWARD[8])->paths[0], AWKWARD[6]);
    manifest_release(&remote);

    /* compaction: an atomic rewrite under a new generation */
    buf_clear(&data);
    manifest_serialize(&m, &data);
    remote_rewrite(path, &data);
    remote_generation(path, gen, &size);
    assert_string_not_equal(gen, first);
    assert_string_equal(gen, m.generation);
    assert_int_equal(size, data.len);
    assert_int_equal(mode_of(path), 0600);
    remote_read(path, &remote);
    assert_same_state(&m, &remote);
    assert_string_equal(remote.generation, gen);
    manifest_release(&remote);

    manifest_release(&m);
    buf_release(&data);
    buf_release(&line);
    free(batou);
    free(path);
    free(target);
    remove_dir(dir);
}

static void test_shell_append_creates_directory(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = manifest_path(dir);
    char *batou = xasprintf("%s/.batou-ng", dir);
    struct buf line;
    struct manifest m;

    buf_init(&line);
    manifest_remove_line(&line, "gone");
    remote_append(path, &line);
    assert_int_equal(mode_of(batou), 0700);
    struct buf content;
    buf_init(&content);
    assert_int_equal(read_file(path, &content), 0);
    assert_string_equal(content.data, line.data);
    /* appended records without a header are no manifest */
    remote_read(path, &m);
    assert_false(m.valid);
    assert_string_equal(m.invalid, "no header line");
    manifest_release(&m);
    char gen[MANIFEST_HEX];
    uint64_t size;
    remote_generation(path, gen, &size);
    assert_string_equal(gen, "");
    assert_int_equal(size, line.len);
    buf_release(&content);
    buf_release(&line);
    free(batou);
    free(path);
    remove_dir(dir);
}

static void test_shell_large_append_uses_base64(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = manifest_path(dir);
    struct buf data, lines, frag;
    struct manifest m, remote;
    char key[64];
    char *err = NULL;

    buf_init(&data);
    buf_init(&lines);
    buf_init(&frag);
    manifest_init(&m);
    manifest_serialize(&m, &data);
    remote_rewrite(path, &data);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "e/h/File(%04d 'quoted' \\ x)", i);
        add_node(&lines, key, HASH_B);
    }
    assert_true(lines.len > 65536);
    assert_int_equal(manifest_append_fragment(&frag, path, lines.data, lines.len, &err), 0);
    assert_non_null(strstr(frag.data, "base64 -d"));
    remote_append(path, &lines);
    manifest_apply(&m, lines.data, lines.len);
    remote_read(path, &remote);
    assert_int_equal(remote.count, 1000);
    assert_int_equal(remote.corrupt, 0);
    assert_same_state(&m, &remote);
    manifest_release(&remote);
    manifest_release(&m);
    buf_release(&data);
    buf_release(&lines);
    buf_release(&frag);
    free(path);
    remove_dir(dir);
}

static void test_shell_generation_of_other_version(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/manifest", dir);
    const char text[] = "H batou-ng-manifest 3 00112233445566778899aabbccddeeff #0\nN x\n";
    FILE *f = fopen(path, "w");
    char gen[MANIFEST_HEX];
    uint64_t size;

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    remote_generation(path, gen, &size);
    assert_string_equal(gen, "");
    assert_int_equal(size, strlen(text));
    free(path);
    remove_dir(dir);
}

static void test_shell_failures_exit_non_zero(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/sub", dir); /* a directory where the file should be */
    struct buf frag, out, line;
    char *err = NULL;

    assert_int_equal(mkdir(path, 0700), 0);
    buf_init(&frag);
    buf_init(&out);
    buf_init(&line);
    manifest_read_fragment(&frag, path);
    assert_int_not_equal(run_sh(&frag, &out), 0);
    buf_clear(&frag);
    /* a FIFO, or a symlink to a device, is not read: it would block the
     * read forever, or never end it */
    char *fifo = xasprintf("%s/fifo", dir), *zero = xasprintf("%s/zero", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink("/dev/zero", zero), 0);
    const char *odd[] = {fifo, zero};
    for (size_t i = 0; i < 2; i++) {
        manifest_read_fragment(&frag, odd[i]);
        assert_int_equal(run_sh(&frag, &out), 1);
        buf_clear(&frag);
        manifest_generation_fragment(&frag, odd[i]);
        assert_int_equal(run_sh(&frag, &out), 1);
        buf_clear(&frag);
    }
    unlink(fifo);
    unlink(zero);
    free(fifo);
    free(zero);
    manifest_remove_line(&line, "k");
    assert_int_equal(manifest_append_fragment(&frag, path, line.data, line.len, &err), 0);
    assert_int_not_equal(run_sh(&frag, &out), 0);
    buf_clear(&frag);
    assert_int_equal(manifest_rewrite_fragment(&frag, path, line.data, line.len, &err), 0);
    assert_int_not_equal(run_sh(&frag, &out), 0);

    /* refused before any shell runs */
    assert_int_equal(manifest_append_fragment(&frag, path, "N x", 3, &err), -1);
    char *want = xasprintf("cannot append to '%s': the records are not whole lines", path);
    assert_string_equal(err, want);
    free(want);
    free(err);
    assert_int_equal(manifest_append_fragment(&frag, path, "a\0b\n", 4, &err), -1);
    free(err);
    assert_int_equal(manifest_append_fragment(&frag, path, "", 0, &err), -1);
    free(err);
    assert_int_equal(manifest_append_fragment(&frag, "", "x\n", 2, &err), -1);
    assert_string_equal(err, "cannot append to a manifest with an empty path");
    free(err);
    assert_int_equal(manifest_rewrite_fragment(&frag, "", "x\n", 2, &err), -1);
    free(err);
    buf_release(&frag);
    buf_release(&out);
    buf_release(&line);
    free(path);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shell_absent_manifest),
        cmocka_unit_test(test_shell_rewrite_append_read),
        cmocka_unit_test(test_shell_append_creates_directory),
        cmocka_unit_test(test_shell_large_append_uses_base64),
        cmocka_unit_test(test_shell_generation_of_other_version),
        cmocka_unit_test(test_shell_failures_exit_non_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
