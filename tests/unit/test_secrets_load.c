/* link: environments/secrets.c environments/secrets_load.c environments/secrets_mask.c environments/environment.c environments/environment_hosts.c environments/ini.c engine/diag.c engine/util.c */
/* Loading an environment's secrets (environments/secrets_load.c): merged
 * into overrides and host data, the errors (which never show a value),
 * and the hash key: added, merged, derived from the secret values. */
#define _GNU_SOURCE /* nftw, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "secrets_testing.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_load_merges, setup),
        cmocka_unit_test_setup(test_load_without_secrets, setup),
        cmocka_unit_test_setup(test_load_clash_names_both_files, setup),
        cmocka_unit_test_setup(test_load_host_errors, setup),
        cmocka_unit_test_setup(test_load_checks_batou_section, setup),
        cmocka_unit_test_setup(test_load_without_key, setup),
        cmocka_unit_test_setup(test_load_syntax_error_hides_line, setup),
        cmocka_unit_test_setup(test_add_hash_key, setup),
        cmocka_unit_test_setup(test_merge_hash_key, setup),
        cmocka_unit_test_setup(test_load_derives_hash_key, setup),
    };
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
