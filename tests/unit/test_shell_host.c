/* link: hosts/shell_host*.c hosts/memory_host*.c hosts/host.c hosts/session*.c hosts/loop.c hosts/local.c hosts/shell.c engine/util.c engine/trace.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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

/* The scenarios run on a real `sh` (local transport, session, loop) in a
 * mkdtemp directory and on the memory host, and the two must agree on every
 * answer: the memory host must not lie. Each scenario also states what a
 * user would check, so both being wrong the same way fails too.
 *
 * In paths, commands and messages '@' is the scenario's directory; an owner
 * or group "$U"/"$G" is the login user or group of the host. */

#define BIG_LEN (2u << 20)
static char big[BIG_LEN]; /* 2 MiB with NUL bytes, filled in main */

struct xop {
    enum op_kind kind;
    const char *path;
    const char *data; /* NULL: "" (or big when len is BIG_LEN) */
    size_t len;
    int mode; /* 0 in the table means -1 (keep/default); use 01000 | mode for real ones */
    const char *owner, *group;
    int leading;
    const char *target;
    enum file_type expect; /* OP_REMOVE */
    const char *command;
    const char *cwd;
    const char *env;
};

struct xquery {
    const char *path;
    int digest;
    enum file_type type; /* expected */
    unsigned mode;       /* expected when not 0 */
    const char *command; /* a QUERY_COMMAND instead */
    const char *cwd;
    int status;        /* expected */
    const char *error; /* expected */
};

struct xscript {
    const char *command;
    int status;
    const char *out;
};

struct scenario {
    const char *name;
    int unprivileged; /* needs a shell that permissions stop (not root) */
    struct xop seed[8];
    const char *deny; /* the memory host fails below this path (EACCES) */
    struct xop ops[6];
    size_t done; /* expected apply_result */
    int status;
    const char *error;
    const char *out;
    size_t kept[6]; /* expected apply_result.kept, ended by 0 (op 0 is never listed here) */
    size_t replaced[6]; /* expected apply_result.replaced, ended by 0 likewise */
    struct xscript scripts[4];
    struct xquery queries[12];
};

/* clang-format off */
#define M(m) (01000000 | (m)) /* a mode in the table: distinguishes 0000 from "not given" */
#define W(p, d) {.kind = OP_WRITE, .path = p, .data = d, .len = sizeof d - 1}
#define WL(p, d) {.kind = OP_WRITE, .path = p, .data = d, .len = sizeof d - 1, .leading = 1}
#define Q(p, t) {.path = p, .type = t}

static const struct scenario scenarios[] = {
    {
        .name = "stat of file, dir, symlink, missing, odd names",
        .seed = {
            {.kind = OP_WRITE, .path = "@/f", .data = "hello", .len = 5, .mode = M(0640)},
            {.kind = OP_MKDIR, .path = "@/d", .mode = M(0750)},
            {.kind = OP_SYMLINK, .path = "@/l", .target = "f"},
            {.kind = OP_SYMLINK, .path = "@/dangling", .target = "/nowhere/at all"},
            W("@/a b\nc'd", "x"),
            {.kind = OP_WRITE, .path = "@/-dash", .data = "", .len = 0},
        },
        .queries = {
            {.path = "@/f", .digest = 1, .type = FILE_REGULAR, .mode = 0640},
            {.path = "@/d", .type = FILE_DIRECTORY, .mode = 0750},
            {.path = "@/l", .digest = 1, .type = FILE_SYMLINK},
            {.path = "@/dangling", .type = FILE_SYMLINK},
            Q("@/missing", FILE_NONE),
            {.path = "@/a b\nc'd", .digest = 1, .type = FILE_REGULAR, .mode = 0644},
            Q("@/f/under-a-file", FILE_NONE),
            Q("@/d/../f", FILE_REGULAR),
            {.path = "@/-dash", .digest = 1, .type = FILE_REGULAR},
            Q("@/l/x", FILE_NONE),
        },
    },
    {
        .name = "write: mode and owner, chown to the login user",
        .ops = {
            {.kind = OP_WRITE, .path = "@/f", .data = "a", .len = 1, .mode = M(0600),
             .owner = "$U", .group = "$G"},
            {.kind = OP_WRITE, .path = "@/g", .data = "b", .len = 1},
            {.kind = OP_MKDIR, .path = "@/d", .mode = M(0711), .owner = "$U", .group = "$G"},
            {.kind = OP_MKDIR, .path = "@/d", .mode = M(0700)},
        },
        .done = 4,
        .queries = {
            {.path = "@/f", .digest = 1, .type = FILE_REGULAR, .mode = 0600},
            {.path = "@/g", .type = FILE_REGULAR, .mode = 0644},
            {.path = "@/d", .type = FILE_DIRECTORY, .mode = 0700},
        },
    },
    {
        .name = "write: 2 MiB of binary data, replacing a file keeps its mode",
        .seed = {{.kind = OP_WRITE, .path = "@/big", .data = "old", .len = 3, .mode = M(0604)}},
        .ops = {{.kind = OP_WRITE, .path = "@/big", .len = BIG_LEN}},
        .done = 1,
        .queries = {{.path = "@/big", .digest = 1, .type = FILE_REGULAR, .mode = 0604}},
    },
    {
        .name = "write: missing directory without leading fails, with leading works",
        .ops = {
            {.kind = OP_WRITE, .path = "@/new/sub/f", .data = "x", .len = 1, .leading = 1},
            {.kind = OP_WRITE, .path = "@/nope/f", .data = "x", .len = 1},
            W("@/never", "x"),
        },
        .done = 1,
        .status = 1,
        .error = "write '@/nope/f': No such file or directory",
        .queries = {
            {.path = "@/new/sub", .type = FILE_DIRECTORY, .mode = 0755},
            Q("@/new/sub/f", FILE_REGULAR),
            Q("@/nope", FILE_NONE),
            Q("@/never", FILE_NONE),
        },
    },
    {
        .name = "write onto a directory fails",
        .seed = {{.kind = OP_MKDIR, .path = "@/d"}},
        .ops = {W("@/d", "x")},
        .error = "write '@/d': Is a directory",
        .status = 1,
        .queries = {Q("@/d", FILE_DIRECTORY)},
    },
    {
        .name = "write onto a symlink replaces the link, never follows it",
        .seed = {
            {.kind = OP_WRITE, .path = "@/f", .data = "old", .len = 3, .mode = M(0600)},
            {.kind = OP_SYMLINK, .path = "@/l", .target = "f"},
            {.kind = OP_MKDIR, .path = "@/d", .mode = M(0700)},
            {.kind = OP_SYMLINK, .path = "@/ld", .target = "d"},
        },
        .ops = {W("@/first", "x"), W("@/l", "new"), W("@/ld", "new"), W("@/l", "again")},
        .done = 4,
        .replaced = {1, 2},
        .queries = {
            {.path = "@/l", .digest = 1, .type = FILE_REGULAR, .mode = 0644},
            {.path = "@/f", .digest = 1, .type = FILE_REGULAR, .mode = 0600},
            {.path = "@/ld", .digest = 1, .type = FILE_REGULAR, .mode = 0644},
            {.path = "@/d", .type = FILE_DIRECTORY, .mode = 0700},
            Q("@/d/ld", FILE_NONE),
        },
    },
    {
        .name = "mkdir refuses a symlink at its path: no chmod of what it points to",
        .seed = {
            {.kind = OP_MKDIR, .path = "@/d", .mode = M(0700)},
            {.kind = OP_SYMLINK, .path = "@/ld", .target = "d"},
        },
        .ops = {{.kind = OP_MKDIR, .path = "@/ld", .mode = M(0777)}},
        .status = 1,
        .error = "mkdir '@/ld': " HOST_MKDIR_SYMLINK,
        .queries = {
            {.path = "@/d", .type = FILE_DIRECTORY, .mode = 0700},
            Q("@/ld", FILE_SYMLINK),
        },
    },
    {
        .name = "write under a file fails",
        .seed = {W("@/f", "x")},
        .ops = {W("@/f/g", "x")},
        .status = 1,
        .error = "write '@/f/g': Not a directory",
        .queries = {Q("@/f", FILE_REGULAR)},
    },
    {
        .name = "mkdir: parents, existing file, existing directory",
        .seed = {W("@/file", "x")},
        .ops = {
            {.kind = OP_MKDIR, .path = "@/a/b/c", .leading = 1, .mode = M(0700)},
            {.kind = OP_MKDIR, .path = "@/a/b/c"},
            {.kind = OP_MKDIR, .path = "@/file"},
        },
        .done = 2,
        .status = 1,
        .error = "mkdir '@/file': File exists",
        .queries = {
            {.path = "@/a/b", .type = FILE_DIRECTORY, .mode = 0755},
            {.path = "@/a/b/c", .type = FILE_DIRECTORY, .mode = 0700},
        },
    },
    {
        .name = "mkdir without leading when the parent is missing",
        .ops = {{.kind = OP_MKDIR, .path = "@/x/y"}},
        .status = 1,
        .error = "mkdir '@/x/y': No such file or directory",
        .queries = {Q("@/x", FILE_NONE)},
    },
    {
        .name = "mkdir -p through a file",
        .seed = {W("@/f", "x")},
        .ops = {{.kind = OP_MKDIR, .path = "@/f/y", .leading = 1}},
        .status = 1,
        .error = "mkdir '@/f/y': Not a directory",
    },
    {
        .name = "symlink replaces a file, a link and an empty directory",
        .seed = {
            W("@/f", "x"),
            {.kind = OP_SYMLINK, .path = "@/l", .target = "old"},
            {.kind = OP_MKDIR, .path = "@/empty"},
        },
        .ops = {
            {.kind = OP_SYMLINK, .path = "@/f", .target = "/etc/hostname"},
            {.kind = OP_SYMLINK, .path = "@/l", .target = "new target"},
            {.kind = OP_SYMLINK, .path = "@/empty", .target = "f"},
            {.kind = OP_SYMLINK, .path = "@/deep/er/l", .target = "../x", .leading = 1},
        },
        .done = 4,
        .queries = {
            Q("@/f", FILE_SYMLINK), Q("@/l", FILE_SYMLINK), Q("@/empty", FILE_SYMLINK),
            Q("@/deep/er/l", FILE_SYMLINK), Q("@/deep/er", FILE_DIRECTORY),
        },
    },
    {
        .name = "symlink does not replace a directory with content",
        .seed = {WL("@/d/f", "x")},
        .ops = {{.kind = OP_SYMLINK, .path = "@/d", .target = "x"}},
        .status = 1,
        .error = "symlink '@/d': Directory not empty",
        .queries = {Q("@/d", FILE_DIRECTORY), Q("@/d/f", FILE_REGULAR)},
    },
    {
        .name = "symlink into a missing directory",
        .ops = {{.kind = OP_SYMLINK, .path = "@/no/l", .target = "x"}},
        .status = 1,
        .error = "symlink '@/no/l': No such file or directory",
    },
    {
        .name = "remove: only a file where a file is expected, a link (not its target) "
                "where a link is; a tree, the other type and nothing stay",
        .seed = {
            WL("@/t/a/b", "x"),
            WL("@/keep/f", "x"),
            {.kind = OP_SYMLINK, .path = "@/l", .target = "keep"},
            W("@/file", "x"),
            {.kind = OP_SYMLINK, .path = "@/lf", .target = "file"},
        },
        .ops = {
            {.kind = OP_REMOVE, .path = "@/file", .expect = FILE_REGULAR},
            {.kind = OP_REMOVE, .path = "@/t", .expect = FILE_REGULAR},
            {.kind = OP_REMOVE, .path = "@/l", .expect = FILE_SYMLINK},
            {.kind = OP_REMOVE, .path = "@/absent", .expect = FILE_REGULAR},
            {.kind = OP_REMOVE, .path = "@/keep/f/under-a-file", .expect = FILE_REGULAR},
            {.kind = OP_REMOVE, .path = "@/lf", .expect = FILE_REGULAR},
        },
        .done = 6,
        .kept = {1, 5},
        .queries = {
            Q("@/file", FILE_NONE), Q("@/t/a/b", FILE_REGULAR), Q("@/l", FILE_NONE),
            Q("@/keep/f", FILE_REGULAR), Q("@/lf", FILE_SYMLINK),
        },
    },
    {
        .name = "remove: a symlink expected, a file or a directory found: kept",
        .seed = {W("@/f", "x"), {.kind = OP_MKDIR, .path = "@/d"}},
        .ops = {
            W("@/first", "x"),
            {.kind = OP_REMOVE, .path = "@/f", .expect = FILE_SYMLINK},
            {.kind = OP_REMOVE, .path = "@/d", .expect = FILE_SYMLINK},
        },
        .done = 3,
        .kept = {1, 2},
        .queries = {Q("@/f", FILE_REGULAR), Q("@/d", FILE_DIRECTORY)},
    },
    {
        .name = "rmdir: a tree of empty directories goes, anything else stays whole",
        .seed = {
            {.kind = OP_MKDIR, .path = "@/e/a/b", .leading = 1},
            {.kind = OP_MKDIR, .path = "@/e/.hidden"},
            WL("@/full/sub/f", "x"),
            {.kind = OP_MKDIR, .path = "@/full/empty"},
            WL("@/dots/..x", "x"),
            {.kind = OP_MKDIR, .path = "@/linked"},
            {.kind = OP_SYMLINK, .path = "@/link", .target = "linked"},
            W("@/file", "x"),
        },
        .ops = {
            {.kind = OP_RMDIR, .path = "@/e"},
            {.kind = OP_RMDIR, .path = "@/full"},
            {.kind = OP_RMDIR, .path = "@/dots"},
            {.kind = OP_RMDIR, .path = "@/link"},
            {.kind = OP_RMDIR, .path = "@/file"},
            {.kind = OP_RMDIR, .path = "@/absent"},
        },
        .done = 6,
        .kept = {1, 2, 3, 4},
        .queries = {
            Q("@/e", FILE_NONE), Q("@/full/empty", FILE_DIRECTORY), Q("@/full/sub/f", FILE_REGULAR),
            Q("@/dots/..x", FILE_REGULAR), Q("@/link", FILE_SYMLINK), Q("@/linked", FILE_DIRECTORY),
            Q("@/file", FILE_REGULAR),
        },
    },
    {
        .name = "rmdir: kept ones are listed when a later op fails",
        .seed = {WL("@/full/f", "x"), W("@/f", "x")},
        .ops = {
            W("@/first", "x"),
            {.kind = OP_RMDIR, .path = "@/full"},
            {.kind = OP_RMDIR, .path = "@/f/under-a-file"},
            W("@/nope/g", "x"),
            {.kind = OP_RMDIR, .path = "@/never"},
        },
        .done = 3,
        .status = 1,
        .error = "write '@/nope/g': No such file or directory",
        .kept = {1},
        .queries = {Q("@/full/f", FILE_REGULAR)},
    },
    {
        .name = "rmdir where the parent denies it",
        .unprivileged = 1,
        .seed = {
            {.kind = OP_MKDIR, .path = "@/ro/d", .leading = 1},
            {.kind = OP_MKDIR, .path = "@/ro", .mode = M(0555)},
        },
        .deny = "@/ro/d",
        .ops = {{.kind = OP_RMDIR, .path = "@/ro/d"}},
        .status = 1,
        .error = "rmdir '@/ro/d': Permission denied",
        .queries = {Q("@/ro", FILE_DIRECTORY)},
    },
    {
        .name = "purge with globs",
        .seed = {
            W("@/a.pyc", "x"), W("@/b.pyc", "x"), W("@/c.txt", "x"), W("@/.h.pyc", "x"),
            WL("@/sub/x.pyc", "x"), WL("@/d.pyc/inner", "x"), W("@/log 1", "x"),
            W("@/log 3", "x"),
        },
        .ops = {
            {.kind = OP_PURGE, .path = "@/*.pyc"},
            {.kind = OP_PURGE, .path = "@/log [12]"},
            {.kind = OP_PURGE, .path = "@/*.nothing"},
            {.kind = OP_PURGE, .path = "@/missing dir/*"},
            {.kind = OP_PURGE, .path = "@/c.txt/*"},
        },
        .done = 5,
        .queries = {
            Q("@/a.pyc", FILE_NONE), Q("@/b.pyc", FILE_NONE), Q("@/d.pyc", FILE_NONE),
            Q("@/c.txt", FILE_REGULAR), Q("@/.h.pyc", FILE_REGULAR), Q("@/sub/x.pyc", FILE_REGULAR),
            Q("@/log 1", FILE_NONE), Q("@/log 3", FILE_REGULAR),
        },
    },
    {
        .name = "purge: quotes and $ in the pattern are literal",
        .seed = {W("@/a'$(echo)`x`\\1", "x"), W("@/b;c", "x"), W("@/b;d\n", "x")},
        .ops = {{.kind = OP_PURGE, .path = "@/a'$(echo)`x`\\*"}, {.kind = OP_PURGE, .path = "@/b;?"}},
        .done = 2,
        .queries = {Q("@/a'$(echo)`x`\\1", FILE_NONE), Q("@/b;c", FILE_NONE),
                    Q("@/b;d\n", FILE_REGULAR)},
    },
    {
        .name = "run: output captured, env and cwd, a failure stops the rest",
        .scripts = {
            {"echo hello; echo oops >&2", 0, "hello\noops\n"},
            {"printf '%s\\n' \"$GREETING\"", 0, "hi there\n"},
            {"ls", 0, "f\n"},
            {"echo bye; exit 3", 3, "bye\n"},
        },
        .ops = {
            {.kind = OP_RUN, .command = "echo hello; echo oops >&2"},
            {.kind = OP_RUN, .command = "printf '%s\\n' \"$GREETING\"", .env = "GREETING=hi there"},
            {.kind = OP_WRITE, .path = "@/f", .data = "x", .len = 1},
            {.kind = OP_RUN, .command = "ls", .cwd = "@"},
            {.kind = OP_RUN, .command = "echo bye; exit 3"},
            {.kind = OP_WRITE, .path = "@/never", .data = "x", .len = 1},
        },
        .done = 4,
        .status = 3,
        .error = "run 'echo bye; exit 3': exit status 3",
        .out = "hello\noops\nhi there\nf\nbye\n",
        .queries = {Q("@/f", FILE_REGULAR), Q("@/never", FILE_NONE)},
    },
    {
        .name = "run in a missing directory",
        .ops = {{.kind = OP_RUN, .command = "true", .cwd = "@/nope"}, W("@/never", "x")},
        .status = 1,
        .error = "run 'true': cannot change to directory '@/nope'",
        .queries = {Q("@/never", FILE_NONE)},
    },
    {
        .name = "command queries: status, cwd, env",
        .scripts = {{"exit 5", 5, NULL}, {"test \"$X\" = y", 0, NULL}},
        .queries = {
            {.command = "true", .status = 0},
            {.command = "exit 5", .status = 5},
            {.command = "true", .cwd = "@", .status = 0},
            {.command = "true", .cwd = "@/nope", .status = -1,
             .error = "command 'true': cannot change to directory '@/nope'"},
        },
    },
    {
        .name = "permission denied",
        .unprivileged = 1,
        .seed = {
            WL("@/locked/f", "x"),
            {.kind = OP_MKDIR, .path = "@/locked", .mode = M(0)},
            {.kind = OP_WRITE, .path = "@/secret", .data = "s", .len = 1, .mode = M(0)},
        },
        .deny = "@/locked/",
        .ops = {W("@/ok", "x"), W("@/locked/g", "y"), W("@/never", "z")},
        .done = 1,
        .status = 1,
        .error = "write '@/locked/g': Permission denied",
        .queries = {
            {.path = "@/locked", .type = FILE_DIRECTORY, .mode = 0},
            {.path = "@/locked/f", .type = FILE_NONE, .error = "stat '@/locked/f': Permission denied"},
            Q("@/ok", FILE_REGULAR),
            Q("@/never", FILE_NONE),
            {.path = "@/secret", .digest = 1, .type = FILE_REGULAR, .mode = 0,
             .error = "read '@/secret': Permission denied"},
        },
    },
};
/* clang-format on */

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

static struct session *open_session(const char *const *argv)
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

static int setup(void **state)
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

static int teardown(void **state)
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

static void on_done(void *ctx)
{
    (*(int *)ctx)++;
}

static void wait_for(int *calls)
{
    char *err = NULL;
    if (*calls == 0 && loop_run(E.loop, loop_now_ms() + 60000, &err) != 0)
        fail_msg("loop_run: %s", err ? err : "deadline passed");
    assert_int_equal(*calls, 1);
}

static void apply_sync(struct host *h, const struct op *ops, size_t n, struct apply_result *r)
{
    int calls = 0;
    char *err = NULL;
    memset(r, 0, sizeof *r);
    if (h->ops->apply(h, ops, n, r, on_done, &calls, &err) != 0)
        fail_msg("apply: %s", err);
    wait_for(&calls);
}

static void query_sync(struct host *h, const struct query *q, size_t n, struct query_result *r)
{
    int calls = 0;
    char *err = NULL;
    memset(r, 0, n * sizeof *r);
    if (h->ops->query(h, q, n, r, on_done, &calls, &err) != 0)
        fail_msg("query: %s", err);
    wait_for(&calls);
}

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

static void test_digest_is_host_digest(void **state)
{
    (void)state;
    char *path = xasprintf("%s/digest", E.base);
    struct host *sh = shell_host_new(E.s, E.loop);
    struct op op = {.kind = OP_WRITE, .path = path, .data = big, .len = 1000, .mode = -1};
    struct query q = {.kind = QUERY_PATH, .path = path, .digest = 1};
    struct apply_result a;
    struct query_result r;
    unsigned char want[32];

    assert_non_null(memchr(big, '\0', 1000));
    apply_sync(sh, &op, 1, &a);
    assert_null(a.error);
    query_sync(sh, &q, 1, &r);
    host_digest(big, 1000, want);
    assert_int_equal(r.type, FILE_REGULAR);
    assert_int_equal(r.size, 1000);
    assert_true(r.has_digest);
    assert_memory_equal(r.digest, want, 32);
    host_apply_result_release(&a);
    host_results_release(&r, 1);
    sh->ops->free(sh);
    free(path);
}

/* 1,000 path queries are one request, and quick. */
static void test_thousand_paths_one_request(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct host *sh = shell_host_new(E.s, E.loop);
    struct host *mem = memory_host_new();
    struct query *q = xcalloc(N, sizeof *q);
    struct query_result *a = xcalloc(N, sizeof *a), *b = xcalloc(N, sizeof *b);
    char **paths = xcalloc(N, sizeof *paths);
    char *dir = xasprintf("%s/many", E.base);

    assert_int_equal(mkdir(dir, 0755), 0);
    memory_host_set_user(mem, E.user, E.group, 022);
    for (size_t i = 0; i < N; i++) {
        paths[i] = xasprintf("%s/file %zu%s", dir, i, i % 3 == 0 ? "" : "\nx");
        q[i] = (struct query){.kind = QUERY_PATH, .path = paths[i], .digest = i % 10 == 0};
        if (i % 2 == 0) {
            FILE *f = fopen(paths[i], "w");
            assert_non_null(f);
            fprintf(f, "%zu", i);
            fclose(f);
            char content[32];
            int len = snprintf(content, sizeof content, "%zu", i);
            memory_host_put_file(mem, paths[i], content, (size_t)len, 0644);
        }
    }
    uint64_t before = session_stats(E.s)->requests;
    int64_t start = loop_now_ms();
    query_sync(sh, q, N, a);
    int64_t took = loop_now_ms() - start;
    assert_int_equal(session_stats(E.s)->requests - before, 1);
    print_message("1,000 path queries (100 with digest) in one request: %lld ms\n",
                  (long long)took);
    query_sync(mem, q, N, b);
    for (size_t i = 0; i < N; i++) {
        assert_null(a[i].error);
        assert_int_equal(a[i].type, i % 2 == 0 ? FILE_REGULAR : FILE_NONE);
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].size, b[i].size);
        assert_int_equal(a[i].has_digest, b[i].has_digest);
        assert_memory_equal(a[i].digest, b[i].digest, 32);
        free(paths[i]);
    }
    host_results_release(a, N);
    host_results_release(b, N);
    free(a);
    free(b);
    free(q);
    free(paths);
    free(dir);
    sh->ops->free(sh);
    mem->ops->free(mem);
}

/* A session that dies answers every query and op with its error. */
static void test_session_failure(void **state)
{
    (void)state;
    struct session *s = open_session(NULL);
    struct host *sh = shell_host_new(s, E.loop);
    struct query q[2] = {{.kind = QUERY_PATH, .path = "/"},
                         {.kind = QUERY_COMMAND, .command = "sleep 5"}};
    struct query_result r[2];
    struct op op = {.kind = OP_RUN, .command = "true"};
    struct apply_result a;
    int calls = 0, applied = 0;
    char *err = NULL;

    memset(r, 0, sizeof r);
    memset(&a, 0, sizeof a);
    assert_int_equal(sh->ops->query(sh, q, 2, r, on_done, &calls, &err), 0);
    assert_int_equal(sh->ops->apply(sh, &op, 1, &a, on_done, &applied, &err), 0);
    assert_int_equal(calls + applied, 0); /* done() comes from the loop, later */
    session_kill(s, "killed by the test");
    assert_int_equal(calls, 1);
    assert_int_equal(applied, 1);
    assert_string_equal(r[0].error, "stat '/': killed by the test");
    assert_string_equal(r[1].error, "command 'sleep 5': killed by the test");
    assert_int_equal(r[1].status, -1);
    assert_int_equal(a.status, -1);
    assert_int_equal(a.done, 0);
    assert_string_equal(a.error, "killed by the test");
    /* a failed session takes nothing more: -1 at once, done is not called */
    assert_int_equal(sh->ops->query(sh, q, 1, r, on_done, &calls, &err), -1);
    assert_non_null(strstr(err, "killed by the test"));
    free(err);
    host_results_release(r, 2);
    host_apply_result_release(&a);
    sh->ops->free(sh);
    session_free(s);
}

/* Bad ops are refused before anything is sent, with the same words as the
 * memory host. */
static void test_bad_ops_refused(void **state)
{
    (void)state;
    static const char *const bad_env[] = {"1X=y"};
    const struct op ops[] = {
        {.kind = OP_WRITE, .path = "", .mode = -1},
        {.kind = OP_REMOVE, .path = "/", .expect = FILE_REGULAR},
        {.kind = OP_REMOVE, .path = "/srv/.."},
        {.kind = OP_REMOVE, .path = "/srv/x", .expect = FILE_DIRECTORY},
        {.kind = OP_WRITE, .path = "/x", .mode = 010000},
        {.kind = OP_MKDIR, .path = "/x", .mode = -1, .owner = "-r"},
        {.kind = OP_SYMLINK, .path = "/x", .target = ""},
        {.kind = OP_RUN, .command = ""},
        {.kind = OP_RUN, .command = "true", .env = bad_env, .nenv = 1},
    };
    const char *const want[] = {
        "write '': empty path",
        "remove '/': the path names a directory, not a file",
        "remove '/srv/..': the path names a directory, not a file",
        "remove '/srv/x': removes only a regular file or a symlink",
        "write '/x': invalid mode",
        "mkdir '/x': invalid owner or group",
        "symlink '/x': empty link target",
        "run '': no command",
        "run 'true': invalid environment entry '1X=y'",
    };
    struct host *sh = shell_host_new(E.s, E.loop);
    struct host *mem = memory_host_new();
    uint64_t before = session_stats(E.s)->requests;

    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        struct apply_result a;
        char *e1 = NULL, *e2 = NULL;
        int calls = 0;
        memset(&a, 0, sizeof a);
        assert_int_equal(sh->ops->apply(sh, &ops[i], 1, &a, on_done, &calls, &e1), -1);
        assert_int_equal(mem->ops->apply(mem, &ops[i], 1, &a, on_done, &calls, &e2), -1);
        assert_string_equal(e1, want[i]);
        assert_string_equal(e2, want[i]);
        assert_int_equal(calls, 0);
        free(e1);
        free(e2);
    }
    assert_int_equal(session_stats(E.s)->requests, before);
    sh->ops->free(sh);
    mem->ops->free(mem);
}

int main(void)
{
    for (size_t i = 0; i < BIG_LEN; i++)
        big[i] = (char)((i * 2654435761u) >> 13); /* every byte value, NULs included */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_digest_is_host_digest),
        cmocka_unit_test(test_thousand_paths_one_request),
        cmocka_unit_test(test_session_failure),
        cmocka_unit_test(test_bad_ops_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
