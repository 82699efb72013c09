/* link: hosts/shell.c engine/util.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/util.h"
#include "hosts/shell.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* stderr of the last run_sh */
static struct buf last_err;
/* run_sh drops root privileges to this uid when it is not -1 */
static uid_t run_as = (uid_t)-1;

/* Run script with /bin/sh (dash on Debian) from a file, in dir; stdout into
 * out (when given), stderr into last_err. Returns the exit status. */
static int run_sh(const char *dir, const char *script, size_t len, struct buf *out)
{
    char path[] = "/tmp/batou-ng-test-script-XXXXXX";
    char errpath[] = "/tmp/batou-ng-test-stderr-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, script, len), (ssize_t)len);
    fchmod(fd, 0644);
    close(fd);
    int errfd = mkstemp(errpath);
    assert_true(errfd >= 0);
    fchmod(errfd, 0666);

    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(errfd, 2);
        close(pipefd[0]);
        close(pipefd[1]);
        if (run_as != (uid_t)-1 && (setgid(run_as) != 0 || setuid(run_as) != 0))
            _exit(125);
        if (dir && chdir(dir) != 0)
            _exit(126);
        execl("/bin/sh", "sh", path, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    char chunk[4096];
    ssize_t n;
    while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0) {
        if (out)
            buf_add(out, chunk, (size_t)n);
    }
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    unlink(path);
    close(errfd);
    buf_clear(&last_err);
    assert_int_equal(read_file(errpath, &last_err), 0);
    unlink(errpath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static char *make_dir(void)
{
    char tmpl[] = "/tmp/batou-ng-test-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static void remove_dir(char *dir)
{
    char *cmd = xasprintf("chmod -R u+w '%s' && rm -rf '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(dir);
}

static int count_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)))
        n += strncmp(e->d_name, ".batou-ng.", 10) == 0;
    closedir(d);
    return n;
}

static void write_plain(const char *path, const char *content, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    chmod(path, mode);
}

static void assert_file(const char *path, const void *content, size_t len)
{
    struct buf b;
    buf_init(&b);
    assert_int_equal(read_file(path, &b), 0);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, content, len);
    buf_release(&b);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void check_quoted(const char *s, size_t len)
{
    struct buf script, out;
    buf_init(&script);
    buf_init(&out);
    buf_adds(&script, "printf %s ");
    assert_int_equal(shell_quote_n(&script, s, len), 0);
    buf_addc(&script, '\n');
    assert_int_equal(run_sh(NULL, script.data, script.len, &out), 0);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, s, len);
    buf_release(&script);
    buf_release(&out);
}

static void test_quote_roundtrips_through_sh(void **state)
{
    (void)state;
    const char *cases[] = {
        "plain",
        "",
        "it's",
        "a b",
        "line1\nline2\n",
        "$HOME ${x} $(id)",
        "back\\slash\\",
        "\"dq\"",
        "'",
        "''",
        "-n",
        "*?[a]",
        "~root",
        "a=b",
        "tab\there",
        "€ utf8",
        "`uname`",
        "x;y|z&w>v<u",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_quoted(cases[i], strlen(cases[i]));
    char all[255];
    for (int i = 0; i < 255; i++)
        all[i] = (char)(i + 1);
    check_quoted(all, sizeof all);
}

static void test_quote_leaves_safe_words_alone(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    shell_quote(&b, "/srv/app-1.2/x_y@z:8080,a+b%c");
    assert_string_equal(b.data, "/srv/app-1.2/x_y@z:8080,a+b%c");
    buf_clear(&b);
    shell_quote(&b, "");
    assert_string_equal(b.data, "''");
    buf_clear(&b);
    shell_quote(&b, "it's");
    assert_string_equal(b.data, "'it'\\''s'");
    buf_clear(&b);
    assert_int_equal(shell_quote_n(&b, "a\0b", 3), -1);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_heredoc_base64_decodes_exactly(void **state)
{
    (void)state;
    char *dir = make_dir();
    size_t sizes[] = {0, 1, 2, 3, 56, 57, 58, 1000, 70000};
    unsigned char *data = xmalloc(70000);
    for (size_t i = 0; i < 70000; i++)
        data[i] = (unsigned char)((i * 7919) ^ (i >> 8));
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct buf script;
        buf_init(&script);
        buf_adds(&script, "base64 -d >out");
        shell_heredoc_base64(&script, data, sizes[k]);
        buf_adds(&script, "echo after\n");
        struct buf out;
        buf_init(&out);
        assert_int_equal(run_sh(dir, script.data, script.len, &out), 0);
        assert_string_equal(out.data, "after\n");
        char *path = xasprintf("%s/out", dir);
        assert_file(path, data, sizes[k]);
        free(path);
        buf_release(&out);
        buf_release(&script);
    }
    free(data);
    remove_dir(dir);
}

static int run_write(const char *dir, const struct shell_write *w, const char *prefix)
{
    struct buf script;
    char *err = NULL;
    buf_init(&script);
    if (prefix)
        buf_adds(&script, prefix);
    assert_int_equal(shell_write_file(&script, w, &err), 0);
    assert_null(err);
    int rc = run_sh(dir, script.data, script.len, NULL);
    buf_release(&script);
    return rc;
}

static void test_write_new_file_binary_with_mode(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/app.bin", dir);
    char data[512];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i % 256);
    struct shell_write w = {.path = path, .data = data, .len = sizeof data, .mode = 0640};
    assert_int_equal(run_write(NULL, &w, NULL), 0);
    assert_file(path, data, sizeof data);
    assert_int_equal(mode_of(path), 0640);
    assert_int_equal(count_temp_files(dir), 0);
    free(path);
    remove_dir(dir);
}

static void test_write_default_mode(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/old", dir);
    write_plain(path, "old", 0750);
    struct shell_write w = {.path = path, .data = "new", .len = 3, .mode = -1};
    assert_int_equal(run_write(NULL, &w, "umask 022\n"), 0);
    assert_file(path, "new", 3);
    assert_int_equal(mode_of(path), 0750); /* an existing file keeps its mode */
    free(path);
    path = xasprintf("%s/fresh", dir);
    w.path = path;
    assert_int_equal(run_write(NULL, &w, "umask 027\n"), 0);
    assert_int_equal(mode_of(path), 0640); /* a new one gets 0666 minus the umask */
    free(path);
    remove_dir(dir);
}

static void test_write_relative_odd_path(void **state)
{
    (void)state;
    char *dir = make_dir();
    const char *name = "-odd name's \"$x\".txt";
    struct shell_write w = {.path = name, .data = "x\n", .len = 2, .mode = 0600};
    assert_int_equal(run_write(dir, &w, NULL), 0);
    char *path = xasprintf("%s/%s", dir, name);
    assert_file(path, "x\n", 2);
    free(path);
    remove_dir(dir);
}

/* Content that came as an upload (hosts/session.h): "$T/NAME" checked for
 * its size and moved onto the temp file, which gives it its mode. */
static void test_write_from_upload(void **state)
{
    (void)state;
    char *dir = make_dir(), *t = make_dir();
    char *path = xasprintf("%s/app.bin", dir);
    char *upload = xasprintf("%s/u1", t);
    char *prefix = xasprintf("T='%s'\n", t);
    write_plain(path, "old content", 0644);
    write_plain(upload, "new\001content", 0600);
    struct shell_write w = {.path = path, .len = 11, .mode = 0640, .upload = "u1"};
    assert_int_equal(run_write(NULL, &w, prefix), 0);
    assert_file(path, "new\001content", 11);
    assert_int_equal(mode_of(path), 0640);
    assert_int_equal(access(upload, F_OK), -1);
    assert_int_equal(count_temp_files(dir), 0);
    free(upload);
    free(prefix);
    free(path);
    remove_dir(dir);
    remove_dir(t);
}

/* An upload that arrived short (a full /tmp, a lost connection) fails the
 * write with what the copy said; the old file stays. */
static void test_write_from_short_upload_keeps_old_file(void **state)
{
    (void)state;
    char *dir = make_dir(), *t = make_dir();
    char *path = xasprintf("%s/app.bin", dir);
    char *upload = xasprintf("%s/u1", t);
    char *errors = xasprintf("%s/u1.e", t);
    char *prefix = xasprintf("T='%s'\n", t);
    write_plain(path, "old content", 0644);
    write_plain(upload, "new", 0600);
    write_plain(errors, "cat: write error: No space left on device\n", 0600);
    struct shell_write w = {.path = path, .len = 11, .mode = 0640, .upload = "u1"};
    assert_int_not_equal(run_write(NULL, &w, prefix), 0);
    assert_non_null(strstr(last_err.data, "No space left on device"));
    assert_non_null(strstr(last_err.data, "the upload of"));
    assert_file(path, "old content", 11);
    assert_int_equal(mode_of(path), 0644);
    assert_int_equal(count_temp_files(dir), 0);
    free(errors);
    free(upload);
    free(prefix);
    free(path);
    remove_dir(dir);
    remove_dir(t);
}

/* chown to a user that does not exist fails after the temp file is written:
 * the old file stays, the temp file goes. */
static void test_write_failing_midway_keeps_old_file(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/conf", dir);
    write_plain(path, "old content", 0644);
    struct shell_write w = {
        .path = path, .data = "new", .len = 3, .mode = 0600, .owner = "batou-ng-no-such-user"};
    assert_int_not_equal(run_write(NULL, &w, NULL), 0);
    assert_non_null(strstr(last_err.data, "batou-ng-no-such-user"));
    assert_file(path, "old content", 11);
    assert_int_equal(mode_of(path), 0644);
    assert_int_equal(count_temp_files(dir), 0);
    free(path);
    remove_dir(dir);
}

/* Root writes anywhere, so as root the write runs as nobody. */
static void test_write_unwritable_dir_keeps_old_file(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/conf", dir);
    write_plain(path, "old content", 0644);
    chmod(dir, geteuid() == 0 ? 0755 : 0555);
    if (geteuid() == 0)
        run_as = 65534;
    struct shell_write w = {.path = path, .data = "new", .len = 3, .mode = 0644};
    int rc = run_write(NULL, &w, NULL);
    run_as = (uid_t)-1;
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(last_err.data, "cannot touch"));
    assert_file(path, "old content", 11);
    assert_int_equal(count_temp_files(dir), 0);
    free(path);
    remove_dir(dir);
}

static void test_write_missing_dir_needs_leading(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/a/b/c.txt", dir);
    struct shell_write w = {.path = path, .data = "c", .len = 1, .mode = 0644};
    assert_int_not_equal(run_write(NULL, &w, NULL), 0);
    assert_non_null(strstr(last_err.data, "cannot touch"));
    assert_int_equal(access(path, F_OK), -1);
    w.leading = 1;
    assert_int_equal(run_write(NULL, &w, NULL), 0);
    assert_file(path, "c", 1);
    free(path);
    remove_dir(dir);
}

static void test_write_onto_directory_fails(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *path = xasprintf("%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    struct shell_write w = {.path = path, .data = "c", .len = 1, .mode = 0644};
    assert_int_not_equal(run_write(NULL, &w, NULL), 0);
    assert_non_null(strstr(last_err.data, "is a directory"));
    assert_int_equal(count_temp_files(path), 0);
    assert_int_equal(count_temp_files(dir), 0);
    free(path);
    remove_dir(dir);
}

/* Wrap mv and sync to log what they see: the mode must be final and the file
 * synced when the rename happens. */
static void test_write_sets_mode_and_syncs_before_rename(void **state)
{
    (void)state;
    char *dir = make_dir();
    char *bin = xasprintf("%s/bin", dir);
    char *log = xasprintf("%s/log", dir);
    char *path = xasprintf("%s/target", dir);
    assert_int_equal(mkdir(bin, 0755), 0);
    char *mv = xasprintf("%s/mv", bin), *sync = xasprintf("%s/sync", bin);
    char *text = xasprintf("#!/bin/sh\nfor a; do s=$t; t=$a; done\n"
                           "echo \"mv $(stat -c %%a \"$s\")\" >>'%s'\nexec /bin/mv \"$@\"\n",
                           log);
    write_plain(mv, text, 0755);
    free(text);
    text = xasprintf("#!/bin/sh\necho \"sync $(stat -c %%a \"$1\")\" >>'%s'\n", log);
    write_plain(sync, text, 0755);
    free(text);
    char *prefix = xasprintf("PATH='%s':$PATH\n", bin);
    struct shell_write w = {.path = path, .data = "data", .len = 4, .mode = 0604};
    assert_int_equal(run_write(NULL, &w, prefix), 0);
    assert_file(log, "sync 604\nmv 604\n", 16);
    assert_file(path, "data", 4);
    assert_int_equal(mode_of(path), 0604);
    free(prefix);
    free(mv);
    free(sync);
    free(bin);
    free(log);
    free(path);
    remove_dir(dir);
}

static void test_write_rejects_bad_arguments(void **state)
{
    (void)state;
    struct buf b;
    char *err = NULL;
    buf_init(&b);
    struct shell_write w = {.path = "", .data = "", .len = 0, .mode = 0644};
    assert_int_equal(shell_write_file(&b, &w, &err), -1);
    assert_string_equal(err, "cannot write a file with an empty path");
    free(err);
    w.path = "/etc/";
    assert_int_equal(shell_write_file(&b, &w, &err), -1);
    assert_string_equal(err, "cannot write '/etc/': it names a directory");
    free(err);
    w.path = "/x/..";
    assert_int_equal(shell_write_file(&b, &w, &err), -1);
    free(err);
    w.path = "/x";
    w.mode = 010000;
    assert_int_equal(shell_write_file(&b, &w, &err), -1);
    assert_string_equal(err, "cannot write '/x': invalid mode 10000");
    free(err);
    w.mode = 0644;
    w.owner = "-r";
    assert_int_equal(shell_write_file(&b, &w, &err), -1);
    assert_string_equal(err, "cannot write '/x': invalid owner or group '-r'");
    free(err);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_roundtrips_through_sh),
        cmocka_unit_test(test_quote_leaves_safe_words_alone),
        cmocka_unit_test(test_heredoc_base64_decodes_exactly),
        cmocka_unit_test(test_write_new_file_binary_with_mode),
        cmocka_unit_test(test_write_default_mode),
        cmocka_unit_test(test_write_relative_odd_path),
        cmocka_unit_test(test_write_from_upload),
        cmocka_unit_test(test_write_from_short_upload_keeps_old_file),
        cmocka_unit_test(test_write_failing_midway_keeps_old_file),
        cmocka_unit_test(test_write_unwritable_dir_keeps_old_file),
        cmocka_unit_test(test_write_missing_dir_needs_leading),
        cmocka_unit_test(test_write_onto_directory_fails),
        cmocka_unit_test(test_write_sets_mode_and_syncs_before_rename),
        cmocka_unit_test(test_write_rejects_bad_arguments),
    };
    buf_init(&last_err);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    buf_release(&last_err);
    return failed;
}
