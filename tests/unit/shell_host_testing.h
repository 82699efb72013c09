#ifndef BATOU_TESTS_SHELL_HOST_TESTING_H
#define BATOU_TESTS_SHELL_HOST_TESTING_H

/* What the shell host's unit tests share (test_shell_host*.c): a real `sh`
 * opened as a session in a mkdtemp directory (and one that permissions stop,
 * when there is a way to drop root), 2 MiB of every byte value, and ops and
 * queries run to the end on either host. Include after cmocka.h. */

#include "engine/util.h"
#include "hosts/host.h"
#include "hosts/local.h"
#include "hosts/loop.h"
#include "hosts/memory_host.h"
#include "hosts/session.h"
#include "hosts/shell_host.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BIG_LEN (2u << 20)
static char big[BIG_LEN]; /* 2 MiB with NUL bytes, filled by big_fill */

/* Fill big before the tests run. */
static inline void big_fill(void)
{
    for (size_t i = 0; i < BIG_LEN; i++)
        big[i] = (char)((i * 2654435761u) >> 13); /* every byte value, NULs included */
}

/* The hosts under test. */

struct env {
    char *base; /* mkdtemp directory; scenario k works in base/s<k> */
    struct loop *loop;
    struct session *s, *s_unpriv; /* s_unpriv: NULL when there is no way to drop root */
    char *user, *group, *unpriv_user, *unpriv_group;
};

static struct env E;

static const char *const unpriv_argv[] = {
    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", NULL,
};

static inline struct session *open_session(const char *const *argv)
{
    char *err = NULL;
    struct session *s = session_new(local_new(argv), 30000);
    if (session_open(s, E.loop, &err) != 0) {
        free(err);
        session_free(s);
        return NULL;
    }
    return s;
}

static inline int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/batou-shell-host-XXXXXX";
    umask(022);
    setenv("TMPDIR", "/tmp", 1);
    E.base = xstrdup(mkdtemp(tmpl));
    chmod(E.base, 0755);
    E.loop = loop_new();
    E.s = open_session(NULL);
    assert_non_null(E.s);
    E.user = xstrdup(getpwuid(getuid())->pw_name);
    E.group = xstrdup(getgrgid(getgid())->gr_name);
    if (getuid() != 0) {
        E.s_unpriv = E.s;
        E.unpriv_user = xstrdup(E.user);
        E.unpriv_group = xstrdup(E.group);
    } else if ((E.s_unpriv = open_session(unpriv_argv))) {
        struct passwd *pw = getpwuid(65534);
        struct group *gr = getgrgid(65534);
        E.unpriv_user = xstrdup(pw ? pw->pw_name : "65534");
        E.unpriv_group = xstrdup(gr ? gr->gr_name : "65534");
    }
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    char *cmd = xasprintf("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", E.base, E.base);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", E.base);
    free(cmd);
    if (E.s_unpriv && E.s_unpriv != E.s)
        session_free(E.s_unpriv);
    session_free(E.s);
    loop_free(E.loop);
    free(E.base);
    free(E.user);
    free(E.group);
    free(E.unpriv_user);
    free(E.unpriv_group);
    return 0;
}

/* Running ops and queries to the end, on either host. */

static inline void on_done(void *ctx)
{
    (*(int *)ctx)++;
}

static inline void wait_for(int *calls)
{
    char *err = NULL;
    if (*calls == 0 && loop_run(E.loop, loop_now_ms() + 60000, &err) != 0)
        fail_msg("loop_run: %s", err ? err : "deadline passed");
    assert_int_equal(*calls, 1);
}

static inline void apply_sync(struct host *h, const struct op *ops, size_t n, struct apply_result *r)
{
    int calls = 0;
    char *err = NULL;
    memset(r, 0, sizeof *r);
    if (h->ops->apply(h, ops, n, r, on_done, &calls, &err) != 0)
        fail_msg("apply: %s", err);
    wait_for(&calls);
}

static inline void query_sync(struct host *h, const struct query *q, size_t n, struct query_result *r)
{
    int calls = 0;
    char *err = NULL;
    memset(r, 0, n * sizeof *r);
    if (h->ops->query(h, q, n, r, on_done, &calls, &err) != 0)
        fail_msg("query: %s", err);
    wait_for(&calls);
}

#endif
