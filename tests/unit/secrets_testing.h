#ifndef BATOU_TESTS_SECRETS_TESTING_H
#define BATOU_TESTS_SECRETS_TESTING_H

/* What the secrets' unit tests share (test_secrets*.c): real gpg keyrings
 * made once per program, an empty project per test, files encrypted to
 * Alice and Bob, environment e with its environment.cfg and secrets, and
 * secrets text merged into an environment without gpg. Include after
 * cmocka.h, with _GNU_SOURCE (nftw, memmem) defined before any system
 * header. */

#include "engine/diag.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Real gpg: three throw-away keyrings made once for the whole run.
 *   a: Alice's secret key, Bob's public key, Dave's public key (disabled)
 *   b: Bob's secret key, Alice's public key
 *   c: Carol's secret key only */

static char old_cwd[4096];
static char root[256];
static char home_a[300], home_b[300], home_c[300];
static char project[300];

static inline int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *command = xvasprintf(fmt, ap);
    va_end(ap);
    int status = system(command);
    free(command);
    return status;
}

static inline int make_key(const char *home, const char *uid)
{
    return run("GNUPGHOME='%s' gpg --batch --quiet --passphrase '' --quick-gen-key '%s' "
               "future-default default never >/dev/null 2>&1",
               home, uid);
}

static inline int copy_public(const char *from, const char *to, const char *who)
{
    return run("GNUPGHOME='%s' gpg --batch --export '%s' 2>/dev/null | "
               "GNUPGHOME='%s' gpg --batch --quiet --import >/dev/null 2>&1",
               from, who, to);
}

static inline void use_home(const char *home)
{
    setenv("GNUPGHOME", home, 1);
}

static inline int setup_keys(void **state)
{
    (void)state;
    if (!getcwd(old_cwd, sizeof old_cwd))
        return -1;
    snprintf(root, sizeof root, "/tmp/test_secrets.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(home_a, sizeof home_a, "%s/a", root);
    snprintf(home_b, sizeof home_b, "%s/b", root);
    snprintf(home_c, sizeof home_c, "%s/c", root);
    snprintf(project, sizeof project, "%s/project", root);
    char dave[300];
    snprintf(dave, sizeof dave, "%s/d", root);
    const char *homes[] = {home_a, home_b, home_c, dave, project};
    for (size_t i = 0; i < 5; i++)
        if (mkdir(homes[i], 0700) < 0)
            return -1;
    if (make_key(home_a, "Alice <alice@example.com>") ||
        make_key(home_b, "Bob <bob@example.com>") ||
        make_key(home_c, "Carol <carol@example.com>") ||
        make_key(dave, "Dave <dave@example.com>") ||
        copy_public(home_b, home_a, "bob@example.com") ||
        copy_public(home_a, home_b, "alice@example.com") ||
        copy_public(dave, home_a, "dave@example.com"))
        return -1;
    if (run("printf 'disable\\nsave\\n' | GNUPGHOME='%s' gpg --batch --command-fd 0 "
            "--edit-key dave@example.com >/dev/null 2>&1",
            home_a))
        return -1;
    run("GNUPGHOME='%s' gpgconf --kill gpg-agent", dave);
    use_home(home_a);
    char *error = NULL;
    if (secrets_gpg_init(&error) < 0) {
        fprintf(stderr, "%s\n", error);
        return -1;
    }
    return chdir(project);
}

static inline int teardown_keys(void **state)
{
    (void)state;
    const char *homes[] = {home_a, home_b, home_c};
    for (size_t i = 0; i < 3; i++)
        run("GNUPGHOME='%s' gpgconf --kill gpg-agent", homes[i]);
    if (chdir(old_cwd) < 0)
        return -1;
    return nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Each test starts in an empty project, as Alice. */
static inline int setup(void **state)
{
    (void)state;
    use_home(home_a);
    run("rm -rf '%s/environments'", project);
    return 0;
}

static inline void write_file(const char *path, const char *data, size_t len)
{
    char *dir = xstrdup(path);
    for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(dir, 0777);
        *p = '/';
    }
    free(dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char *const alice_and_bob[] = {"alice@example.com", "bob@example.com"};

/* Encrypt text to members and write it to path. */
static inline void encrypt_to(const char *path, char *const *members, size_t count,
                              const char *data, size_t len)
{
    char *error = NULL;
    struct secrets_recipients *r = secrets_recipients_new(members, count, &error);
    if (!r)
        fail_msg("%s", error);
    struct buf out;
    buf_init(&out);
    assert_int_equal(secrets_encrypt(r, data, len, &out, &error), 0);
    secrets_recipients_free(r);
    write_file(path, out.data, out.len);
    buf_release(&out);
}

#define ENV_CFG                                                                                    \
    "[environment]\n"                                                                              \
    "connect_method = local\n"                                                                     \
    "\n"                                                                                           \
    "[host:web01]\n"                                                                               \
    "components = app\n"                                                                           \
    "data-alias = www\n"                                                                           \
    "\n"                                                                                           \
    "[component:app]\n"                                                                            \
    "workers = 4\n"

static inline void write_env(const char *secrets, const char *const *files, size_t nfiles)
{
    write_file("environments/e/environment.cfg", ENV_CFG, strlen(ENV_CFG));
    if (secrets)
        encrypt_to("environments/e/secrets.cfg.gpg", alice_and_bob, 2, secrets, strlen(secrets));
    for (size_t i = 0; i < nfiles; i += 2) {
        char *path = xasprintf("environments/e/secret-%s.gpg", files[i]);
        encrypt_to(path, alice_and_bob, 2, files[i + 1], strlen(files[i + 1]));
        free(path);
    }
}

static inline void merge_text(struct environment *env, const char *text, struct diags *d)
{
    environment_init(env, "e");
    diags_init(d);
    secrets_merge(env, "s.cfg", text, strlen(text), d);
}

#endif
