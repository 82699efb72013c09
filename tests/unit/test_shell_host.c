/* link: hosts/shell_host*.c hosts/memory_host*.c hosts/host.c hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
/* The shell host and the memory host agree on every scenario of
 * shell_host_scenarios.h (hosts/shell_host*.c, hosts/memory_host*.c): the
 * runner that seeds, applies, queries and compares their answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "shell_host_testing.h"
#include "shell_host_scenarios.h"

/* '@' becomes root; "$U" / "$G" the login user / group. */
static char *expand(const char *s, const char *root, const char *user, const char *group)
{
    struct buf b;
    if (!s)
        return NULL;
    if (strcmp(s, "$U") == 0)
        return xstrdup(user);
    if (strcmp(s, "$G") == 0)
        return xstrdup(group);
    buf_init(&b);
    for (; *s; s++) {
        if (*s == '@')
            buf_adds(&b, root);
        else
            buf_addc(&b, *s);
    }
    return buf_detach(&b);
}

struct prepared {
    struct op ops[8];
    size_t n;
    char *strings[8 * 6];
    size_t nstrings;
    const char *envs[8][1];
};

static const char *keep(struct prepared *p, char *s)
{
    if (s)
        p->strings[p->nstrings++] = s;
    return s;
}

static void prepare(struct prepared *p, const struct xop *x, size_t max, const char *root,
                    const char *user, const char *group)
{
    memset(p, 0, sizeof *p);
    for (; p->n < max && (x[p->n].path || x[p->n].command); p->n++) {
        const struct xop *o = &x[p->n];
        struct op *op = &p->ops[p->n];
        op->kind = o->kind;
        op->path = keep(p, expand(o->path, root, user, group));
        op->data = o->len == BIG_LEN ? big : o->data ? o->data : "";
        op->len = o->len;
        op->mode = o->mode ? o->mode & 07777 : -1;
        op->owner = keep(p, expand(o->owner, root, user, group));
        op->group = keep(p, expand(o->group, root, user, group));
        op->leading = o->leading;
        op->target = o->target;
        op->expect = o->expect;
        op->command = keep(p, expand(o->command, root, user, group));
        op->cwd = keep(p, expand(o->cwd, root, user, group));
        if (o->env) {
            p->envs[p->n][0] = o->env;
            op->env = p->envs[p->n];
            op->nenv = 1;
        }
    }
}

static void prepared_release(struct prepared *p)
{
    for (size_t i = 0; i < p->nstrings; i++)
        free(p->strings[i]);
}

/* What one host answered in one scenario. */
struct outcome {
    struct apply_result applied;
    struct query queries[12];
    struct query_result results[12];
    size_t nqueries;
    char *strings[24];
};

/* deny: for the memory host, what the scenario's permissions deny once seeded. */
static void run_scenario(const struct scenario *sc, struct host *h, const char *root,
                         const char *user, const char *group, const char *deny, struct outcome *o)
{
    struct prepared p;
    struct apply_result seeded;

    prepare(&p, sc->seed, 8, root, user, group);
    apply_sync(h, p.ops, p.n, &seeded);
    if (seeded.error || seeded.done != p.n)
        fail_msg("%s: seeding on %s: %s", sc->name, h->ops->describe(h), seeded.error);
    host_apply_result_release(&seeded);
    prepared_release(&p);
    if (deny)
        memory_host_fail(h, deny, EACCES);

    prepare(&p, sc->ops, 6, root, user, group);
    apply_sync(h, p.ops, p.n, &o->applied);
    prepared_release(&p);

    memset(o->queries, 0, sizeof o->queries);
    for (o->nqueries = 0; sc->queries[o->nqueries].path || sc->queries[o->nqueries].command;
         o->nqueries++) {
        const struct xquery *x = &sc->queries[o->nqueries];
        struct query *q = &o->queries[o->nqueries];
        q->kind = x->command ? QUERY_COMMAND : QUERY_PATH;
        q->path = o->strings[2 * o->nqueries] = expand(x->path, root, user, group);
        q->digest = x->digest;
        q->command = x->command;
        q->cwd = o->strings[2 * o->nqueries + 1] = expand(x->cwd, root, user, group);
        if (x->command && strchr(x->command, '$')) {
            static const char *const env[] = {"X=y"};
            q->env = env;
            q->nenv = 1;
        }
    }
    query_sync(h, o->queries, o->nqueries, o->results);
}

static void outcome_release(struct outcome *o)
{
    host_apply_result_release(&o->applied);
    host_results_release(o->results, o->nqueries);
    for (size_t i = 0; i < 2 * o->nqueries; i++)
        free(o->strings[i]);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("%s: ", sc->name);                                                         \
            fail_msg(__VA_ARGS__);                                                                 \
        }                                                                                          \
    } while (0)

static void check_applied(const struct scenario *sc, const char *root, const struct outcome *m,
                          const struct outcome *s)
{
    char *want_error = expand(sc->error, root, "", "");
    const struct apply_result *a = &s->applied, *b = &m->applied;

    CHECK(a->done == sc->done, "shell: done %zu, want %zu (%s)", a->done, sc->done, a->error);
    CHECK(a->status == sc->status, "shell: status %d, want %d", a->status, sc->status);
    CHECK(same(a->error, want_error), "shell: error '%s', want '%s'", a->error, want_error);
    CHECK(b->done == a->done && b->status == a->status, "memory: done %zu status %d", b->done,
          b->status);
    CHECK(same(b->error, a->error), "memory: error '%s', shell '%s'", b->error, a->error);
    CHECK(same(a->out, sc->out ? sc->out : ""), "shell: out '%s'", a->out);
    CHECK(b->outlen == a->outlen && same(b->out, a->out), "memory: out '%s'", b->out);
    size_t nkept = 0;
    while (nkept < 6 && sc->kept[nkept])
        nkept++;
    CHECK(a->nkept == nkept, "shell: %zu kept, want %zu", a->nkept, nkept);
    CHECK(b->nkept == nkept, "memory: %zu kept, want %zu", b->nkept, nkept);
    for (size_t i = 0; i < nkept; i++) {
        CHECK(a->kept[i] == sc->kept[i], "shell: kept[%zu] is %zu", i, a->kept[i]);
        CHECK(b->kept[i] == sc->kept[i], "memory: kept[%zu] is %zu", i, b->kept[i]);
    }
    size_t nreplaced = 0;
    while (nreplaced < 6 && sc->replaced[nreplaced])
        nreplaced++;
    CHECK(a->nreplaced == nreplaced, "shell: %zu replaced, want %zu", a->nreplaced, nreplaced);
    CHECK(b->nreplaced == nreplaced, "memory: %zu replaced, want %zu", b->nreplaced, nreplaced);
    for (size_t i = 0; i < nreplaced; i++) {
        CHECK(a->replaced[i] == sc->replaced[i], "shell: replaced[%zu] is %zu", i, a->replaced[i]);
        CHECK(b->replaced[i] == sc->replaced[i], "memory: replaced[%zu] is %zu", i, b->replaced[i]);
    }
    free(want_error);
}

static void check_query(const struct scenario *sc, size_t i, const char *root, const char *user,
                        const struct outcome *m, const struct outcome *s)
{
    const struct xquery *x = &sc->queries[i];
    const struct query_result *a = &s->results[i], *b = &m->results[i];
    char *want_error = expand(x->error, root, "", "");

    CHECK(same(a->error, want_error), "query %zu: shell error '%s'", i, a->error);
    CHECK(same(b->error, a->error), "query %zu: memory error '%s', shell '%s'", i, b->error,
          a->error);
    free(want_error);
    if (x->command) {
        CHECK(a->status == x->status, "query %zu: shell status %d", i, a->status);
        CHECK(b->status == a->status, "query %zu: memory status %d", i, b->status);
        return;
    }
    CHECK(a->type == x->type, "query %zu: shell type %d, want %d", i, a->type, x->type);
    CHECK(b->type == a->type, "query %zu: memory type %d, shell %d", i, b->type, a->type);
    if (a->type == FILE_NONE)
        return;
    CHECK(!x->mode || a->mode == x->mode, "query %zu: shell mode %o", i, a->mode);
    CHECK(b->mode == a->mode, "query %zu: memory mode %o, shell %o", i, b->mode, a->mode);
    CHECK(same(a->owner, user) && same(a->group, b->group), "query %zu: owner %s", i, a->owner);
    CHECK(same(b->owner, a->owner), "query %zu: memory owner %s", i, b->owner);
    CHECK(a->type == FILE_DIRECTORY || a->size == b->size, "query %zu: size %lld vs %lld", i,
          a->size, b->size);
    CHECK(same(a->link_target, b->link_target), "query %zu: link '%s' vs '%s'", i, a->link_target,
          b->link_target);
    CHECK(a->has_digest == (x->digest && a->type == FILE_REGULAR && !a->error),
          "query %zu: has_digest", i);
    CHECK(b->has_digest == a->has_digest && !memcmp(a->digest, b->digest, 32),
          "query %zu: digests differ", i);
}

static void test_scenarios(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof scenarios / sizeof *scenarios; k++) {
        const struct scenario *sc = &scenarios[k];
        struct session *sess = sc->unprivileged ? E.s_unpriv : E.s;
        if (!sess) {
            print_message("skipped (cannot drop root): %s\n", sc->name);
            continue;
        }
        const char *user = sc->unprivileged ? E.unpriv_user : E.user;
        const char *group = sc->unprivileged ? E.unpriv_group : E.group;
        char *root = xasprintf("%s/s%zu", E.base, k);
        assert_int_equal(mkdir(root, 0755), 0);
        if (sc->unprivileged && getuid() == 0)
            assert_int_equal(chown(root, 65534, 65534), 0);

        struct host *mem = memory_host_new();
        memory_host_set_user(mem, user, group, 022);
        assert_int_equal(memory_host_mkdir(mem, root, 0755), 0);
        for (size_t i = 0; i < 4 && sc->scripts[i].command; i++) {
            memory_host_set_command(mem, sc->scripts[i].command, sc->scripts[i].status);
            if (sc->scripts[i].out)
                memory_host_set_output(mem, sc->scripts[i].command, sc->scripts[i].out);
        }
        char *deny = expand(sc->deny, root, "", "");
        struct host *sh = shell_host_new(sess, E.loop);

        struct outcome m, s;
        run_scenario(sc, mem, root, user, group, deny, &m);
        run_scenario(sc, sh, root, user, group, NULL, &s);
        check_applied(sc, root, &m, &s);
        for (size_t i = 0; i < s.nqueries; i++)
            check_query(sc, i, root, user, &m, &s);

        outcome_release(&m);
        outcome_release(&s);
        free(deny);
        free(root);
        mem->ops->free(mem);
        sh->ops->free(sh);
    }
}

int main(void)
{
    big_fill();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
