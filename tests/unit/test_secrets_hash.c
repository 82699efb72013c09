/* link: engine/graph/hash.c engine/graph/graph.c engine/state/sources.c environments/environment_local.c engine/state/state*.c engine/diag.c engine/util.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/diag.h"
#include "engine/graph/graph.h"
#include "engine/graph/hash.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "rules/rule.h"

#include <string.h>

/* The environment's hash key (secrets_load) keys sensitive nodes' hashes
 * when the caller gives no key of its own: every command that hashes the
 * graph gets the same hashes as the deploy that stored them. */

static const struct rule_kind kind_file = {.name = "File"};

/* The hash of one File node on host web01 under env and options o. */
static void hash_of(int sensitive, const char *content, const struct environment *env,
                    const struct hash_options *o, unsigned char out[16])
{
    struct graph g;
    struct diags d;
    graph_init(&g, "prod");
    diags_init(&d);
    struct node n = {0};
    n.kind = &kind_file;
    n.path = xstrdup("app/File(app.conf)");
    n.component = graph_add_component(&g, "web01", "app", 0);
    n.params = xcalloc(1, sizeof *n.params);
    n.params[0].name = xstrdup("path");
    n.params[0].value = xstrdup("/srv/app.conf");
    n.nparams = 1;
    n.content = xstrdup(content);
    n.content_len = strlen(content);
    n.sensitive = sensitive;
    size_t i = graph_add_node(&g, &n);
    assert_int_equal(hash_graph(&g, env, o, &d), 0);
    memcpy(out, g.nodes[i].hash, 16);
    diags_release(&d);
    graph_release(&g);
}

static void env_with_key(struct environment *env, unsigned char fill)
{
    memset(env, 0, sizeof *env);
    env->name = "prod";
    env->target_directory = "~/deployment";
    memset(env->hash_key, fill, sizeof env->hash_key);
    env->has_hash_key = 1;
}

static void test_environment_key(void **unused)
{
    (void)unused;
    struct environment k1, k1_again, k2, none;
    env_with_key(&k1, 1);
    env_with_key(&k1_again, 1);
    env_with_key(&k2, 2);
    env_with_key(&none, 0);
    none.has_hash_key = 0;
    const char *secret = "password = hunter2\n";
    unsigned char a[16], b[16], c[16], d[16], e[16];

    /* The same key on another controller: the same hash. */
    hash_of(1, secret, &k1, NULL, a);
    hash_of(1, secret, &k1_again, &(struct hash_options){0}, b);
    assert_memory_equal(a, b, 16);
    /* Another key, or none: another hash. */
    hash_of(1, secret, &k2, NULL, c);
    assert_memory_not_equal(a, c, 16);
    hash_of(1, secret, &none, NULL, d);
    assert_memory_not_equal(a, d, 16);
    /* It is the environment's key that is used, as if given explicitly. */
    struct hash_options explicit = {.key = k1.hash_key, .key_len = sizeof k1.hash_key};
    hash_of(1, secret, &none, &explicit, e);
    assert_memory_equal(a, e, 16);
    /* A key given by the caller wins over the environment's. */
    hash_of(1, secret, &k2, &explicit, e);
    assert_memory_equal(a, e, 16);
    /* A changed secret changes the hash under the same key. */
    hash_of(1, "password = hunter3\n", &k1, NULL, e);
    assert_memory_not_equal(a, e, 16);
    /* Nodes that are not sensitive do not depend on the key. */
    hash_of(0, "port = 8080\n", &k1, NULL, a);
    hash_of(0, "port = 8080\n", &k2, NULL, b);
    hash_of(0, "port = 8080\n", &none, NULL, c);
    assert_memory_equal(a, b, 16);
    assert_memory_equal(a, c, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_environment_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
