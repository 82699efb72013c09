/* link: environments/secrets.c environments/secrets_load.c environments/secrets_mask.c environments/environment.c environments/environment_hosts.c environments/ini.c engine/diag.c engine/util.c */
/* Secret files with real gpg (environments/secrets.c, secrets_load.c):
 * encrypt and decrypt, recipients and members, the atomic write, opening
 * and saving an environment's secrets as `batou-ng secrets edit` does, and
 * the secret files' names. Loading secrets into an environment and the hash
 * key: test_secrets_load.c; masking secret values: test_secrets_mask.c. */
#define _GNU_SOURCE /* nftw, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secrets_testing.h"

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
        cmocka_unit_test_setup(test_env_open_save, setup),
        cmocka_unit_test_setup(test_env_save_refuses_unusable_member, setup),
        cmocka_unit_test_setup(test_file_names, setup),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
