#ifndef BATOU_HOST_H
#define BATOU_HOST_H

/* Room hosts/: the transports behind one interface (this file): local sh,
 * SSH (libssh2, ssh_config, known_hosts, jump hosts), the session that
 * pipelines requests over either, one poll loop, and the shell host that
 * turns queries and ops into shell text. Uses engine/'s root only. */

/* What the engine asks of a target, whatever the way there (docs/ssh.md,
 * docs/architecture.md): read-only queries ("what is at this path?", "does this
 * command succeed?") and ops ("write these bytes there atomically").
 *
 * Rules (rules/) turn a node into queries (its check) and ops (its apply and
 * remove); they never build shell text themselves. Two hosts implement this
 * interface:
 *   hosts/shell_host.c  compiles queries and ops into shell fragments for a
 *                       session (hosts/session.h): the local transport and the
 *                       SSH one run the same bytes. A batch of queries is ONE
 *                       request (one round trip); a batch of ops is one
 *                       request too, pipelined behind the others.
 *   hosts/memory_host.c executes them on an in-memory file tree, so rules and
 *                       the dirty computation are unit-tested without a shell.
 *
 * Asynchronous: query/apply queue work and call done() once when it is
 * finished (a memory host calls it before returning). Results and their
 * strings belong to the host until host_results_release. */

#include <stddef.h>

struct buf;
struct host;

enum file_type {
    FILE_NONE,      /* nothing there */
    FILE_REGULAR,
    FILE_DIRECTORY,
    FILE_SYMLINK,   /* never followed: the link itself */
    FILE_OTHER,     /* device, fifo, socket */
};

enum query_kind {
    QUERY_PATH,    /* stat (lstat) of path; with digest, the SHA-256 of a regular file;
                    * with content, its bytes */
    QUERY_COMMAND, /* run command (sh -c) in cwd with env; only its exit status matters */
    QUERY_GLOB,    /* whether anything matches the glob path, read as OP_PURGE reads it:
                    * status 1 when something does, 0 when nothing does */
};

struct query {
    enum query_kind kind;
    const char *path;    /* QUERY_PATH; QUERY_GLOB: the pattern */
    int digest;          /* QUERY_PATH: also hash a regular file's content */
    int content;         /* QUERY_PATH: also read a regular file's bytes (for diffs), up to
                          * HOST_CONTENT_MAX */
    const char *command; /* QUERY_COMMAND */
    const char *cwd;     /* QUERY_COMMAND: NULL = the login directory */
    const char *const *env; /* QUERY_COMMAND: "NAME=value" strings */
    size_t nenv;
};

/* The most bytes a content query reads: a larger file is CONTENT_TOO_LARGE. */
#define HOST_CONTENT_MAX (1024 * 1024)

/* What a content query got. Failing to read content is not a failed query:
 * the stat part of the result stands. */
enum content_state {
    CONTENT_NONE,       /* not asked for, or not a regular file */
    CONTENT_READ,       /* content, content_len: the whole file */
    CONTENT_TOO_LARGE,  /* more than HOST_CONTENT_MAX bytes */
    CONTENT_UNREADABLE, /* no permission to read it */
};

struct query_result {
    /* QUERY_PATH */
    enum file_type type;
    unsigned mode;      /* permission bits, 07777 */
    char *owner;        /* user name (or numeric id when it has none) */
    char *group;
    long long size;
    char *link_target;  /* FILE_SYMLINK */
    unsigned char digest[32];
    int has_digest;
    enum content_state content_state; /* with query.content */
    char *content;                    /* CONTENT_READ: the bytes (binary-safe, NUL after them) */
    size_t content_len;
    /* QUERY_COMMAND */
    int status;         /* exit status; -1 when it could not run (QUERY_GLOB: 1 matched) */
    /* Both: a message when the query itself failed (permission denied on the
     * parent, ...); NULL otherwise. */
    char *error;
};

/* A rule's own path is never followed: a symlink there is the thing found,
 * not what it points to. */
enum op_kind {
    OP_WRITE,   /* write data to path atomically (temp in the same dir, fsync, rename); a
                 * symlink at path is replaced by the file (listed in apply_result.replaced),
                 * what it points to is left alone; a directory fails the op */
    OP_MKDIR,   /* make directory path (exists already: only mode/owner/group); a symlink
                 * at path fails the op: it is neither followed nor replaced */
    OP_SYMLINK, /* make path a symlink to target, atomically replacing what is there */
    OP_REMOVE,  /* remove path when it is of type expect (a regular file or a symlink, never
                 * a directory); absent is fine; anything else is kept untouched (the op
                 * succeeds, listed in apply_result.kept) */
    OP_RMDIR,   /* remove directory path and the directories below it when it holds nothing
                 * else (deepest first); absent is fine; otherwise keep it untouched (the op
                 * succeeds, listed in apply_result.kept) */
    OP_PURGE,   /* remove everything matching the glob path; none matching is fine */
    OP_REMOVE_TREE, /* remove path whatever it is, a directory with everything below it
                     * (what a Command made: --prune of its `owns`); never follows a
                     * symlink (one at path goes as a link; rm -r unlinks those inside),
                     * never leaves path's file system; absent is fine */
    OP_RUN,     /* run command (sh -c) in cwd with env; non-zero exit fails the op */
    OP_APPEND,  /* append data to path (made with the umask if missing): a journal line */
};

struct op {
    enum op_kind kind;
    const char *path;
    const char *data;    /* OP_WRITE, OP_APPEND: the bytes (binary-safe) */
    size_t len;
    int mode;            /* OP_WRITE, OP_MKDIR: permission bits, or -1 (keep / default) */
    const char *owner;   /* NULL: leave as is */
    const char *group;
    int leading;         /* OP_WRITE, OP_MKDIR, OP_SYMLINK: create missing parents */
    enum file_type expect; /* OP_REMOVE: FILE_REGULAR or FILE_SYMLINK */
    const char *target;  /* OP_SYMLINK: what the link points to */
    const char *command; /* OP_RUN */
    const char *cwd;
    const char *const *env;
    size_t nenv;
    int after;           /* OP_APPEND: a record of the ops before it, appended once they are in
                          * place: a host that stages writes (hosts/shell_host_apply.c) may hold
                          * it back until it has put them in place, but never past a later op
                          * that is not a write, a mkdir or an append */
};

/* Why an OP_MKDIR fails on a symlink, in both hosts' words. */
#define HOST_MKDIR_SYMLINK                                                                         \
    "is a symlink: not followed, not replaced (remove it to have the directory made)"

/* The outcome of applying a list of ops: they run in order and stop at the
 * first that fails. */
struct apply_result {
    size_t done;     /* ops that succeeded */
    int status;      /* 0, or the failing op's exit status */
    char *out;       /* stdout and stderr of OP_RUN ops, for the node's log */
    size_t outlen;
    char *error;     /* one line saying what failed, NULL on success */
    size_t *kept;    /* indexes of the OP_RMDIR and OP_REMOVE ops that succeeded keeping their
                      * path (OP_RMDIR: not an empty directory, a file is below it or it is
                      * not a directory; OP_REMOVE: not of the type it expects) */
    size_t nkept;
    size_t *replaced; /* indexes of the OP_WRITE ops that replaced a symlink at their path */
    size_t nreplaced;
    size_t *op_out;   /* NULL, or one per op: where in out that op's output begins */
    int refused;      /* nothing ran: the session's guard failed (session_set_guard) */
};

typedef void host_done_fn(void *ctx);

struct host_ops {
    /* Answer queries[0..n) into results[0..n) (zeroed by the caller), then
     * call done. 0, or -1 with *error when nothing could be queued. */
    int (*query)(struct host *h, const struct query *queries, size_t n,
                 struct query_result *results, host_done_fn *done, void *ctx, char **error);
    /* Apply ops[0..n) in order as one unit (one node), then call done. */
    int (*apply)(struct host *h, const struct op *ops, size_t n, struct apply_result *result,
                 host_done_fn *done, void *ctx, char **error);
    /* "local", "ssh app@web01", ... for messages. */
    const char *(*describe)(const struct host *h);
    void (*free)(struct host *h);
};

struct host {
    const struct host_ops *ops;
};

/* Free the strings of results[0..n) and zero them. */
void host_results_release(struct query_result *results, size_t n);
void host_apply_result_release(struct apply_result *result);
/* The SHA-256 of len bytes of data (the digest a QUERY_PATH reports). */
void host_digest(const void *data, size_t len, unsigned char digest[32]);

/* Shared by both hosts, so they accept the same ops and word failures alike. */
/* 0 if op can be applied; else -1 with *error (allocated): an empty path, a
 * path ending in "/", "." or ".." (but for OP_MKDIR: never "rm -rf /"), an OP_REMOVE
 * expecting neither a regular file nor a symlink, a mode outside 0..07777, an owner or
 * group that is empty or starts with '-', an empty OP_SYMLINK target or OP_RUN
 * command, an env entry that is not NAME=value. */
int host_op_check(const struct op *op, char **error);
/* 0 if q can be asked; else -1 with *error (allocated): a QUERY_PATH without
 * a path, a QUERY_COMMAND with an empty command or cwd, or an env entry that
 * is not NAME=value. */
int host_query_check(const struct query *q, char **error);
/* Append what op is in messages: "write '/srv/x'", "mkdir '/srv'",
 * "symlink '/srv/l'", "remove '/srv/x'", "rmdir '/srv/d'", "purge '/srv/app/x*'",
 * "remove tree '/srv/app/venv'", or
 * "run 'make install'" (the command's first line, cut at 60 bytes). */
void host_op_describe(struct buf *out, const struct op *op);
/* The apply_result.error for op failing because of reason:
 * "<host_op_describe>: <reason>" (allocated). */
char *host_op_error(const struct op *op, const char *reason);
/* The query_result.error for q failing because of reason (allocated):
 * "stat '/srv/x': <reason>", with reading "read '/srv/x': <reason>" (the
 * digest), or "command 'test -f x': <reason>". */
char *host_query_error(const struct query *q, int reading, const char *reason);

#endif
