#ifndef BATOU_TESTS_SHELL_HOST_SCENARIOS_H
#define BATOU_TESTS_SHELL_HOST_SCENARIOS_H

#include "hosts/host.h"

#include <stddef.h>

/* The scenarios run on a real `sh` (local transport, session, loop) in a
 * mkdtemp directory and on the memory host, and the two must agree on every
 * answer: the memory host must not lie. Each scenario also states what a
 * user would check, so both being wrong the same way fails too.
 *
 * In paths, commands and messages '@' is the scenario's directory; an owner
 * or group "$U"/"$G" is the login user or group of the host. The table is
 * data only: test_shell_host.c runs it. */

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

#endif
