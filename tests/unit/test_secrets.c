/* link: environments/secrets.c environments/secrets_load.c environments/secrets_mask.c environments/environment.c environments/environment_hosts.c environments/ini.c engine/diag.c engine/util.c */
#define _GNU_SOURCE /* nftw, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *command = xvasprintf(fmt, ap);
    va_end(ap);
    int status = system(command);
    free(command);
    return status;
}

static int make_key(const char *home, const char *uid)
{
    return run("GNUPGHOME='%s' gpg --batch --quiet --passphrase '' --quick-gen-key '%s' "
               "future-default default never >/dev/null 2>&1",
               home, uid);
}

static int copy_public(const char *from, const char *to, const char *who)
{
    return run("GNUPGHOME='%s' gpg --batch --export '%s' 2>/dev/null | "
               "GNUPGHOME='%s' gpg --batch --quiet --import >/dev/null 2>&1",
               from, who, to);
}

static void use_home(const char *home)
{
    setenv("GNUPGHOME", home, 1);
}

static int setup_keys(void **state)
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

static int teardown_keys(void **state)
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
static int setup(void **state)
{
    (void)state;
    use_home(home_a);
    run("rm -rf '%s/environments'", project);
    return 0;
}

static void write_file(const char *path, const char *data, size_t len)
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
static void encrypt_to(const char *path, char *const *members, size_t count, const char *data,
                       size_t len)
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

/* Decrypt path as the owner of home: 0 and the plaintext in out, or -1 with
 * the error in *error. */
static int decrypt_as(const char *home, const char *path, struct buf *out, char **error)
{
    use_home(home);
    int result = secrets_decrypt_file(path, out, error);
    use_home(home_a);
    return result;
}

static void test_round_trip_two_recipients(void **state)
{
    (void)state;
    static const char plain[] = "password = s3cret\n\0binary\xff";
    encrypt_to("environments/x/blob.gpg", alice_and_bob, 2, plain, sizeof plain);

    struct buf cipher;
    buf_init(&cipher);
    assert_int_equal(read_file("environments/x/blob.gpg", &cipher), 0);
    for (size_t i = 0; i + 6 <= cipher.len; i++)
        assert_memory_not_equal(cipher.data + i, "s3cret", 6);
    buf_release(&cipher);

    const char *homes[] = {home_a, home_b};
    for (size_t i = 0; i < 2; i++) {
        struct buf out;
        buf_init(&out);
        char *error = NULL;
        if (decrypt_as(homes[i], "environments/x/blob.gpg", &out, &error) < 0)
            fail_msg("%s", error);
        assert_int_equal(out.len, sizeof plain);
        assert_memory_equal(out.data, plain, sizeof plain);
        secrets_wipe(&out);
    }
}

static void test_decrypt_without_secret_key(void **state)
{
    (void)state;
    encrypt_to("environments/x/blob.gpg", alice_and_bob, 2, "x", 1);
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    assert_int_equal(decrypt_as(home_c, "environments/x/blob.gpg", &out, &error), -1);
    assert_string_equal(error, "cannot decrypt 'environments/x/blob.gpg': no secret key");
    assert_int_equal(out.len, 0);
    free(error);
    buf_release(&out);
}

static void test_decrypt_bad_input(void **state)
{
    (void)state;
    write_file("environments/x/plain.gpg", "[batou]\nmembers = a\n", 21);
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    assert_int_equal(secrets_decrypt_file("environments/x/plain.gpg", &out, &error), -1);
    assert_non_null(strstr(error, "cannot decrypt 'environments/x/plain.gpg': "));
    free(error);
    error = NULL;
    assert_int_equal(secrets_decrypt_file("environments/x/missing.gpg", &out, &error), -1);
    assert_string_equal(error,
                        "cannot read 'environments/x/missing.gpg': No such file or directory");
    free(error);
    buf_release(&out);
}

static void test_recipients_errors(void **state)
{
    (void)state;
    char *error = NULL;
    char *unknown[] = {"alice@example.com", "nobody@example.com"};
    assert_null(secrets_recipients_new(unknown, 2, &error));
    assert_string_equal(error, "no usable key for member 'nobody@example.com': no public key for "
                               "'nobody@example.com' (import it with 'gpg --import')");
    free(error);

    char *ambiguous[] = {"example.com"};
    assert_null(secrets_recipients_new(ambiguous, 1, &error));
    assert_non_null(strstr(error, "no usable key for member 'example.com': 'example.com' matches"));
    free(error);

    char *disabled[] = {"dave@example.com"};
    assert_null(secrets_recipients_new(disabled, 1, &error));
    assert_string_equal(error, "no usable key for member 'dave@example.com': its key is disabled");
    free(error);

    assert_int_equal(secrets_check_key("nobody", &error), -1);
    assert_string_equal(error, "no public key for 'nobody' (import it with 'gpg --import')");
    free(error);
    assert_int_equal(secrets_check_key("bob@example.com", &error), 0);

    char *problem = secrets_key_problem("dave@example.com");
    assert_string_equal(problem, "its key is disabled");
    free(problem);
    assert_null(secrets_key_problem("alice@example.com"));
    assert_true(secrets_same_key("alice@example.com", "Alice"));
    assert_false(secrets_same_key("alice@example.com", "bob@example.com"));
}

static void test_default_member(void **state)
{
    (void)state;
    char *error = NULL;
    char *member = secrets_default_member(&error);
    assert_string_equal(member, "alice@example.com");
    free(member);
    use_home(home_b);
    member = secrets_default_member(&error);
    assert_string_equal(member, "bob@example.com");
    free(member);
}

static void test_members(void **state)
{
    (void)state;
    static const char text[] = "[batou]\nmembers = a@x,\n    b@x\n  , c@x\n[component:y]\nk = v\n";
    char **members;
    size_t count;
    char *error = NULL;
    assert_int_equal(secrets_members("s", text, strlen(text), &members, &count, &error), 0);
    assert_int_equal(count, 3);
    assert_string_equal(members[0], "a@x");
    assert_string_equal(members[1], "b@x");
    assert_string_equal(members[2], "c@x");
    for (size_t i = 0; i < count; i++)
        free(members[i]);
    free(members);

    static const char empty[] = "[batou]\nmembers = ,\n";
    assert_int_equal(secrets_members("s", empty, strlen(empty), &members, &count, &error), -1);
    assert_string_equal(error, "'s' lists no members in '[batou] members'");
    free(error);
    static const char none[] = "[component:y]\nk = v\n";
    assert_int_equal(secrets_members("s", none, strlen(none), &members, &count, &error), -1);
    assert_string_equal(error, "'s' has no '[batou] members'");
    free(error);
}

static void check_set_members(const char *before, const char *after)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, before);
    char *members[] = {"a@x", "d@x"};
    secrets_set_members(&b, members, 2);
    assert_string_equal(b.data, after);
    secrets_wipe(&b);
}

static void test_set_members(void **state)
{
    (void)state;
    check_set_members("# team\n[batou]\nmembers = a@x,\n   b@x\n\n[component:y]\nk = v\n",
                      "# team\n[batou]\nmembers = a@x, d@x\n\n[component:y]\nk = v\n");
    check_set_members("[batou]\nmembers = a@x", "[batou]\nmembers = a@x, d@x\n");
    check_set_members("[batou]", "[batou]\nmembers = a@x, d@x\n");
    check_set_members("[batou]\n[component:y]\nk = v\n",
                      "[batou]\nmembers = a@x, d@x\n[component:y]\nk = v\n");
    check_set_members("[component:y]\nk = v\n",
                      "[batou]\nmembers = a@x, d@x\n\n[component:y]\nk = v\n");
}

static void test_write_atomic(void **state)
{
    (void)state;
    mkdir("environments", 0777);
    char *error = NULL;
    assert_int_equal(secrets_write_atomic("environments/f.gpg", "abc", 3, &error), 0);
    assert_int_equal(secrets_write_atomic("environments/f.gpg", "defg", 4, &error), 0);
    struct buf b;
    buf_init(&b);
    assert_int_equal(read_file("environments/f.gpg", &b), 0);
    assert_string_equal(b.data, "defg");
    buf_release(&b);
    struct stat st;
    assert_int_equal(stat("environments/f.gpg", &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(run("test $(ls environments | wc -l) -eq 1"), 0);
    assert_int_equal(secrets_write_atomic("nodir/f.gpg", "abc", 3, &error), -1);
    assert_string_equal(error, "cannot write 'nodir/f.gpg': No such file or directory");
    free(error);
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

static void write_env(const char *secrets, const char *const *files, size_t nfiles)
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

static int load(struct environment *env, struct diags *d)
{
    diags_init(d);
    assert_int_equal(environment_load(env, "e", d), 0);
    return secrets_load(env, d);
}

static const struct env_override *override(const struct environment *env, const char *attribute)
{
    for (size_t i = 0; i < env->noverrides; i++)
        if (strcmp(env->overrides[i].attribute, attribute) == 0)
            return &env->overrides[i];
    return NULL;
}

static int has_value(const struct environment *env, const char *value)
{
    for (size_t i = 0; i < env->nsecret_values; i++)
        if (env->secret_values[i].len == strlen(value) &&
            memcmp(env->secret_values[i].data, value, strlen(value)) == 0)
            return 1;
    return 0;
}

static void test_load_merges(void **state)
{
    (void)state;
    const char *files[] = {"cert.pem", "CERTIFICATE\n", "token", "t0k3n"};
    write_env("[batou]\nmembers = alice@example.com, bob@example.com\n\n"
              "[component:app]\npassword = hunter2\n\n[host:web01]\ndata-api_key = k3y\n",
              files, 4);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), 0);
    assert_int_equal(d.count, 0);

    const struct env_override *o = override(&env, "password");
    assert_non_null(o);
    assert_string_equal(o->component, "app");
    assert_string_equal(o->value, "hunter2");
    assert_string_equal(o->file, "environments/e/secrets.cfg.gpg");
    assert_int_equal(o->line, 5);
    assert_true(o->secret);
    assert_false(override(&env, "workers")->secret);

    const struct env_host *h = &env.hosts[0];
    assert_int_equal(h->ndata, 2);
    assert_string_equal(h->data[1].key, "api_key");
    assert_string_equal(h->data[1].value, "k3y");

    assert_int_equal(env.nsecret_files, 2);
    assert_string_equal(env.secret_files[0].name, "cert.pem");
    assert_string_equal(env.secret_files[0].content, "CERTIFICATE\n");
    assert_int_equal(env.secret_files[0].len, 12);
    assert_string_equal(env.secret_files[1].name, "token");

    assert_true(has_value(&env, "hunter2"));
    assert_true(has_value(&env, "k3y"));
    assert_true(has_value(&env, "CERTIFICATE\n"));
    assert_true(has_value(&env, "t0k3n"));
    assert_false(has_value(&env, "4"));
    assert_false(has_value(&env, "www"));
    environment_release(&env);
    diags_release(&d);
}

static void test_load_without_secrets(void **state)
{
    (void)state;
    write_env(NULL, NULL, 0);
    use_home("/nonexistent/gnupg"); /* gpg is not needed at all */
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), 0);
    assert_int_equal(env.nsecret_files, 0);
    assert_int_equal(env.nsecret_values, 0);
    environment_release(&env);
    diags_release(&d);
}

/* The single error message of d (which must hold exactly one). */
static const struct diag *only_error(const struct diags *d)
{
    if (d->count != 1) {
        for (size_t i = 0; i < d->count; i++)
            print_message("error: %s\n", d->items[i].message);
        fail_msg("expected one error, got %zu", d->count);
    }
    return &d->items[0];
}

static void test_load_clash_names_both_files(void **state)
{
    (void)state;
    write_env("[batou]\nmembers = alice@example.com\n[component:app]\nworkers = 9\n", NULL, 0);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), -1);
    const struct diag *e = only_error(&d);
    assert_string_equal(e->file, "environments/e/secrets.cfg.gpg");
    assert_int_equal(e->line, 4);
    assert_int_equal(e->col, 0); /* no caret: it would print the secret line */
    assert_string_equal(e->message, "'workers' of component 'app' is set twice (first at "
                                    "environments/e/environment.cfg:9)");
    environment_release(&env);
    diags_release(&d);
}

static void test_load_host_errors(void **state)
{
    (void)state;
    write_env("[batou]\nmembers = alice@example.com\n[host:web1]\ndata-x = 1\n", NULL, 0);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), -1);
    const struct diag *e = only_error(&d);
    assert_int_equal(e->line, 3);
    assert_string_equal(e->message,
                        "host 'web1' is not in environment 'e' (did you mean 'web01'?)");
    environment_release(&env);
    diags_release(&d);

    write_env("[batou]\nmembers = alice@example.com\n[host:web01]\ndata-alias = 1\nplatform = x\n",
              NULL, 0);
    assert_int_equal(load(&env, &d), -1);
    assert_int_equal(d.count, 2);
    assert_string_equal(d.items[0].message, "'data-alias' of host 'web01' is set twice (first at "
                                            "environments/e/environment.cfg:6)");
    assert_string_equal(d.items[1].message, "key 'platform' is not allowed in '[host:web01]' of a "
                                            "secrets file (only 'data-*' keys are)");
    environment_release(&env);
    diags_release(&d);
}

static void test_load_checks_batou_section(void **state)
{
    (void)state;
    write_env("[batou]\nmember = alice@example.com\n", NULL, 0);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), -1);
    assert_int_equal(d.count, 2);
    assert_string_equal(d.items[0].message,
                        "unknown key 'member' in section '[batou]' (did you mean 'members'?)");
    assert_string_equal(d.items[1].message, "'[batou] members' is missing or empty: list the key "
                                            "ids that may decrypt");
    environment_release(&env);
    diags_release(&d);
}

static void test_load_without_key(void **state)
{
    (void)state;
    const char *files[] = {"token", "t0k3n"};
    write_env("[batou]\nmembers = alice@example.com\n", files, 2);
    use_home(home_c);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), -1);
    assert_int_equal(d.count, 2);
    assert_null(d.items[0].file);
    assert_string_equal(d.items[0].message,
                        "cannot decrypt 'environments/e/secrets.cfg.gpg': no secret key");
    assert_string_equal(d.items[1].message,
                        "cannot decrypt 'environments/e/secret-token.gpg': no secret key");
    assert_int_equal(env.nsecret_files, 0);
    environment_release(&env);
    diags_release(&d);
}

static void test_load_syntax_error_hides_line(void **state)
{
    (void)state;
    write_env("[batou]\nmembers = alice@example.com\n[component:app\npassword = hunter2\n", NULL,
              0);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), -1);
    assert_true(d.count >= 1);
    for (size_t i = 0; i < d.count; i++) {
        assert_int_equal(d.items[i].col, 0);
        assert_null(strstr(d.items[i].message, "hunter2"));
    }
    environment_release(&env);
    diags_release(&d);
}

static void test_env_open_save(void **state)
{
    (void)state;
    const char *files[] = {"token", "t0k3n"};
    write_env("[batou]\nmembers = alice@example.com, bob@example.com\n[component:app]\npw = x\n",
              files, 2);
    struct secrets_env s;
    char *error = NULL;
    if (secrets_env_open(&s, "e", &error) < 0)
        fail_msg("%s", error);
    assert_true(s.has_config);
    assert_int_equal(s.nfiles, 1);
    assert_string_equal(s.files[0].path, "environments/e/secret-token.gpg");
    assert_string_equal(s.files[0].plain.data, "t0k3n");

    /* Drop Bob: after saving, he can decrypt none of the files. */
    char *alice[] = {"alice@example.com"};
    secrets_set_members(&s.config, alice, 1);
    struct secrets_file *f = secrets_env_add_file(&s, "new");
    buf_adds(&f->plain, "fresh");
    if (secrets_env_save(&s, &error) < 0)
        fail_msg("%s", error);
    secrets_env_release(&s);

    const char *paths[] = {"environments/e/secrets.cfg.gpg", "environments/e/secret-token.gpg",
                           "environments/e/secret-new.gpg"};
    for (size_t i = 0; i < 3; i++) {
        struct buf out;
        buf_init(&out);
        assert_int_equal(decrypt_as(home_a, paths[i], &out, &error), 0);
        secrets_wipe(&out);
        assert_int_equal(decrypt_as(home_b, paths[i], &out, &error), -1);
        assert_non_null(strstr(error, "no secret key"));
        free(error);
        secrets_wipe(&out);
    }
}

static void test_env_save_refuses_unusable_member(void **state)
{
    (void)state;
    write_env("[batou]\nmembers = alice@example.com\n", NULL, 0);
    struct buf before;
    buf_init(&before);
    assert_int_equal(read_file("environments/e/secrets.cfg.gpg", &before), 0);

    struct secrets_env s;
    char *error = NULL;
    assert_int_equal(secrets_env_open(&s, "e", &error), 0);
    char *members[] = {"alice@example.com", "nobody@example.com"};
    secrets_set_members(&s.config, members, 2);
    assert_int_equal(secrets_env_save(&s, &error), -1);
    assert_non_null(strstr(error, "no usable key for member 'nobody@example.com'"));
    free(error);
    secrets_env_release(&s);

    struct buf after;
    buf_init(&after);
    assert_int_equal(read_file("environments/e/secrets.cfg.gpg", &after), 0);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    buf_release(&before);
    buf_release(&after);
}

/* text after secrets_add_hash_key, with its 64 random hex digits as "K". */
static void check_add_hash_key(const char *before, const char *after)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, before);
    assert_int_equal(secrets_add_hash_key(&b), 1);
    char *key = strstr(b.data, "hash_key = ");
    assert_non_null(key);
    key += strlen("hash_key = ");
    for (int i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", key[i]));
    assert_int_equal(key[64], '\n');
    memmove(key + 1, key + 64, strlen(key + 64) + 1);
    key[0] = 'K';
    assert_string_equal(b.data, after);
    secrets_wipe(&b);
}

static void test_add_hash_key(void **state)
{
    (void)state;
    check_add_hash_key("# team\n[batou]\nmembers = a@x,\n   b@x\n\n[component:y]\nk = v\n",
                       "# team\n[batou]\nmembers = a@x,\n   b@x\nhash_key = K\n\n"
                       "[component:y]\nk = v\n");
    check_add_hash_key("[batou]\nmembers = a@x", "[batou]\nmembers = a@x\nhash_key = K\n");
    check_add_hash_key("[batou]\n", "[batou]\nhash_key = K\n");
    check_add_hash_key("[component:y]\nk = v\n", "[batou]\nhash_key = K\n\n[component:y]\nk = v\n");
    check_add_hash_key("", "[batou]\nhash_key = K\n");

    /* Never replaced: it keys every hash already stored on the targets. */
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "[batou]\nmembers = a@x\nhash_key = mine\n");
    assert_int_equal(secrets_add_hash_key(&b), 0);
    assert_string_equal(b.data, "[batou]\nmembers = a@x\nhash_key = mine\n");
    secrets_wipe(&b);

    /* Two calls, two keys. */
    struct buf x, y;
    buf_init(&x);
    buf_init(&y);
    secrets_add_hash_key(&x);
    secrets_add_hash_key(&y);
    assert_string_not_equal(x.data, y.data);
    secrets_wipe(&x);
    secrets_wipe(&y);
}

static void merge_text(struct environment *env, const char *text, struct diags *d)
{
    environment_init(env, "e");
    diags_init(d);
    secrets_merge(env, "s.cfg", text, strlen(text), d);
}

static void test_merge_hash_key(void **state)
{
    (void)state;
    struct environment a, b, c;
    struct diags d;
    merge_text(&a, "[batou]\nmembers = x\nhash_key = 0123456789abcdef0123456789abcdef\n", &d);
    assert_int_equal(d.count, 0);
    assert_true(a.has_hash_key);
    /* The key is a digest of the text, not the text. */
    assert_null(memmem(a.hash_key, sizeof a.hash_key, "0123456789abcdef", 16));
    diags_release(&d);
    merge_text(&b, "[batou]\nhash_key = 0123456789abcdef0123456789abcdef\nmembers = y\n", &d);
    assert_memory_equal(a.hash_key, b.hash_key, sizeof a.hash_key);
    diags_release(&d);
    merge_text(&c, "[batou]\nmembers = x\nhash_key = 0123456789abcdef0123456789abcdeF\n", &d);
    assert_memory_not_equal(a.hash_key, c.hash_key, sizeof a.hash_key);
    diags_release(&d);
    environment_release(&a);
    environment_release(&b);
    environment_release(&c);

    merge_text(&a, "[batou]\nmembers = x\nhash_key = s3cr3t\n", &d);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.items[0].line, 3);
    assert_string_equal(d.items[0].message,
                        "'[batou] hash_key' is too short (at least 32 characters): delete the "
                        "line and 'batou-ng secrets reencrypt' makes a random one");
    assert_false(a.has_hash_key);
    environment_release(&a);
    diags_release(&d);
}

/* Without [batou] hash_key the key is derived from the secret values: the
 * same on every controller, different when a value changes. */
static void test_load_derives_hash_key(void **state)
{
    (void)state;
    unsigned char keys[3][32];
    const char *configs[] = {
        "[batou]\nmembers = alice@example.com\n[component:app]\npassword = hunter2\n",
        "[batou]\nmembers = alice@example.com, bob@example.com\n\n"
        "[component:app]\npassword = hunter2\n",
        "[batou]\nmembers = alice@example.com\n[component:app]\npassword = hunter3\n",
    };
    for (int i = 0; i < 3; i++) {
        write_env(configs[i], NULL, 0);
        struct environment env;
        struct diags d;
        assert_int_equal(load(&env, &d), 0);
        assert_true(env.has_hash_key);
        memcpy(keys[i], env.hash_key, 32);
        assert_int_equal(env.nnotices, 1);
        assert_non_null(strstr(env.notices[0], "environments/e/secrets.cfg.gpg: no '[batou] "
                                               "hash_key'"));
        environment_release(&env);
        diags_release(&d);
    }
    /* Members are not secret material: only the values count. */
    assert_memory_equal(keys[0], keys[1], 32);
    assert_memory_not_equal(keys[0], keys[2], 32);

    write_env("[batou]\nmembers = alice@example.com\nhash_key = "
              "0123456789abcdef0123456789abcdef\n[component:app]\npassword = hunter2\n",
              NULL, 0);
    struct environment env;
    struct diags d;
    assert_int_equal(load(&env, &d), 0);
    assert_int_equal(env.nnotices, 0);
    assert_memory_not_equal(env.hash_key, keys[0], 32);
    environment_release(&env);
    diags_release(&d);
}

static void check_mask(const struct environment *env, const char *text, const char *want)
{
    size_t len;
    char *masked = secrets_mask(env, text, strlen(text), &len);
    assert_string_equal(masked, want);
    assert_int_equal(len, strlen(want));
    free(masked);
}

static void test_mask(void **state)
{
    (void)state;
    struct environment env;
    struct diags d;
    merge_text(&env,
               "[batou]\nmembers = x\n[component:a]\nshort = pwd4\nlong = pwd4-and-more\n"
               "tiny = e\n",
               &d);
    assert_int_equal(d.count, 0);
    check_mask(&env, "", "");
    check_mask(&env, "nothing here", "nothing here");
    check_mask(&env, "pwd4", "<secret>");
    check_mask(&env, "a pwd4-and-more b pwd4pwd4", "a <secret> b <secret><secret>");
    check_mask(&env, "ppwd4-and-mor", "p<secret>-and-mor");
    /* Too short to mask (SECRETS_MASK_MIN): left alone, with a notice that
     * names it and not its value. */
    check_mask(&env, "every e here", "every e here");
    assert_int_equal(env.nnotices, 1);
    assert_non_null(strstr(env.notices[0], "'[component:a] tiny'"));
    assert_non_null(strstr(env.notices[0], "is 1 character long, too short to mask"));
    /* Errors: the verb and "exit status N" are batou-ng's, never masked. */
    char *m = secrets_mask_error(&env, "run 'echo pwd4': exit status 3");
    assert_string_equal(m, "run 'echo <secret>': exit status 3");
    free(m);
    m = secrets_mask_error(&env, "write '/srv/pwd4': pwd4: Permission denied");
    assert_string_equal(m, "write '/srv/<secret>': <secret>: Permission denied");
    free(m);
    m = secrets_mask_error(&env, "not a host error pwd4");
    assert_string_equal(m, "not a host error <secret>");
    free(m);
    environment_release(&env);
    diags_release(&d);

    environment_init(&env, "e"); /* no secrets: a plain copy */
    check_mask(&env, "pw", "pw");
    environment_release(&env);
}

static void test_file_names(void **state)
{
    (void)state;
    write_file("environments/e/secret-b.gpg", "x", 1);
    write_file("environments/e/secret-a.pem.gpg", "x", 1);
    write_file("environments/e/secret-.gpg", "x", 1);
    write_file("environments/e/secrets.cfg.gpg", "x", 1);
    write_file("environments/e/secret-c", "x", 1);
    mkdir("environments/e/secret-dir.gpg", 0777);
    size_t count;
    char **names = secrets_file_names("e", &count);
    assert_int_equal(count, 2);
    assert_string_equal(names[0], "a.pem");
    assert_string_equal(names[1], "b");
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    names = secrets_file_names("missing", &count);
    assert_int_equal(count, 0);
    free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_round_trip_two_recipients, setup),
        cmocka_unit_test_setup(test_decrypt_without_secret_key, setup),
        cmocka_unit_test_setup(test_decrypt_bad_input, setup),
        cmocka_unit_test_setup(test_recipients_errors, setup),
        cmocka_unit_test_setup(test_default_member, setup),
        cmocka_unit_test_setup(test_members, setup),
        cmocka_unit_test_setup(test_set_members, setup),
        cmocka_unit_test_setup(test_write_atomic, setup),
        cmocka_unit_test_setup(test_load_merges, setup),
        cmocka_unit_test_setup(test_load_without_secrets, setup),
        cmocka_unit_test_setup(test_load_clash_names_both_files, setup),
        cmocka_unit_test_setup(test_load_host_errors, setup),
        cmocka_unit_test_setup(test_load_checks_batou_section, setup),
        cmocka_unit_test_setup(test_load_without_key, setup),
        cmocka_unit_test_setup(test_load_syntax_error_hides_line, setup),
        cmocka_unit_test_setup(test_env_open_save, setup),
        cmocka_unit_test_setup(test_env_save_refuses_unusable_member, setup),
        cmocka_unit_test_setup(test_file_names, setup),
        cmocka_unit_test_setup(test_add_hash_key, setup),
        cmocka_unit_test_setup(test_merge_hash_key, setup),
        cmocka_unit_test_setup(test_load_derives_hash_key, setup),
        cmocka_unit_test_setup(test_mask, setup),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
