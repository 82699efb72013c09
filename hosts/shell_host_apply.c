/* Ops on a shell host: the ops of a batch of nodes (engine/deploy/batch.c)
 * are one fragment, one request.
 *
 * The fragment runs the ops in order and stops at the first that fails,
 * naming it; each op's messages wait in a file of the session's private
 * directory and reach stderr only when it fails:
 *
 *   _bf() { printf '\036B %s\n' "$1" >&2; cat "$T/x" >&2; printf '\036F %s %s\n' "$1" "$2" >&2; exit "$2"; }
 *   { <op 0>
 *   } 2>"$T/x" || _bf 0 $?
 *   { <op 1>
 *   } 2>"$T/x" || _bf 1 $?
 *
 * so a failure's stderr reads "\036B 1\n<tool messages>\036F 1 2\n", the
 * reply's status is the failing op's, and a node that succeeds answers with
 * no output at all (the session frames an empty reply without a process). apply_result.done is the index
 * of the failing op (all of them without one), and its error is the op (see
 * host_op_describe) with the reason from the last line its tools printed
 * (shell_host_reason), "exit status N" when they printed none. Tools run
 * with LC_ALL=C so their messages can be read; commands of OP_RUN run in the
 * user's locale, with stdout and stderr both going to the fragment's stdout:
 * apply_result.out; before each, "\036O <index>" on stdout says where its
 * output begins (apply_result.op_out, taken off out). The other ops print
 * nothing on stdout.
 *
 * Writes are staged: a run of OP_WRITE, OP_MKDIR and OP_APPEND ops (a
 * segment) writes each file under its final name into a staging directory
 * beside it (".batou-ng.<unique>", one per target directory and segment),
 * and holds back the records (OP_APPEND with op.after) in "$T/r". The op
 * ending the segment (any other kind), or the end of the fragment, first
 * commits it (_c<n>): one `sync -f` of the staging directories' file
 * systems, one `mv -f -- FILES.. ..` per staging directory (POSIX mv into a
 * directory, each rename atomic; GNU mv replaces a symlink at the
 * destination, never moves into what it names), rmdir of the staging
 * directories, then the held back records appended (one cat). So the
 * programs a batch of files starts are a constant per directory: mkdir,
 * mv (and sync, rmdir, cat once), and a Command sees what came before it.
 * An op that fails mid-segment commits what was staged before it (_bf); a
 * commit that fails reports the first write whose file is still staged,
 * appends the records held back before it and removes the staging
 * directories.
 *
 * The ops (P the quoted path):
 *   OP_WRITE    content of SHELL_UPLOAD_MIN or more is an upload before the
 *               request (hosts/session.c, "Uploads"), "$T/u<n>", which the
 *               write checks and moves into its staging name; then
 *               shell_stage_file (hosts/shell.h) in the fragment's shell,
 *               after a directory (not a symlink to one) fails it with "Is
 *               a directory"; a symlink at P is replaced by the commit's
 *               rename, never followed: before the op, outside its
 *               redirection, "\036L <index>" on stderr says so
 *               (apply_result.replaced)
 *   OP_MKDIR    { ! [ -h P ] || refuse; } && { [ -d P ] || mkdir [-p] -- P; }
 *               && chown -h -- O P && chgrp -h -- G P && chmod -- MODE P
 *   OP_SYMLINK  an empty directory in the way is removed (rmdir), then the
 *               link is made under a temp name and renamed over the path:
 *               t=$(mktemp -u "$d/.batou-ng.XXXXXX") && ln -s -- TARGET "$t"
 *               && mv -fT -- "$t" "$p" (GNU mv -T: never into a directory)
 *   OP_REMOVE   ( if <P is of the type expected>; then rm -f -- P; fi ): a
 *               regular file is [ -f P ] && ! [ -h P ], a symlink [ -h P ];
 *               then, outside the op's redirection, a path still there
 *               prints "\036K <index>" on stderr (apply_result.kept)
 *   OP_RMDIR    ( [ -d P ] && ! [ -h P ] && _be P && _br P ): _be walks the
 *               tree (globs, no find: coreutils only) and fails at the first
 *               entry that is not a directory, _br rmdirs it deepest first;
 *               then, outside the op's redirection, a path still there
 *               prints "\036K <index>" on stderr (apply_result.kept)
 *   OP_PURGE    for f in DIR/PATTERN; do ... rm -rf -- "$f"; done, the pattern's
 *               * ? [ ] ! ^ left to the shell and every other byte quoted
 *   OP_REMOVE_TREE  rm -rf --one-file-system -- P: GNU rm unlinks a symlink at
 *               P (no trailing '/': never what it points to) and every link
 *               below P, walking the tree without following any
 *   OP_RUN      ( cd -- CWD || ...; ( NAME=value; export NAME ...;
 *               sh -c '...' 2>&1 <<'TERM' COMMAND TERM ) ): shell_run_command
 *               (hosts/shell.h), the text in no argv
 *   OP_APPEND   printf '%s' DATA >>P (base64 -d for data with NUL bytes) */

#include "engine/util.h"
#include "hosts/session.h"
#include "hosts/shell.h"
#include "hosts/shell_host_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK '\036'

struct apply_request {
    struct op *ops; /* kind, path and command copied, for messages */
    size_t n;
    struct apply_result *result;
    host_done_fn *done;
    void *ctx;
};

static void request_free(struct apply_request *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->ops[i].path);
        free((char *)r->ops[i].command);
    }
    free(r->ops);
    free(r);
}

/* The directory part of path as a shell word: "/" for "/x", "." for "x". */
static void add_dir(struct buf *f, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        buf_adds(f, ".");
    } else if (slash == path) {
        buf_adds(f, "/");
    } else {
        char *dir = xstrndup(path, (size_t)(slash - path));
        shell_host_quote_path(f, dir);
        free(dir);
    }
}

struct shell_write shell_host_write_of(const struct op *op, const char *upload)
{
    return (struct shell_write){
        .path = op->path,
        .data = op->data ? op->data : "",
        .len = op->len,
        .mode = op->mode,
        .owner = op->owner,
        .group = op->group,
        .leading = op->leading,
        .upload = upload,
    };
}

/* A write alone in its run of ops: as before batches, in a subshell of its
 * own, synced and renamed onto its path on its own (a staging directory
 * would cost more programs than it saves). */
static int add_write(struct buf *f, const struct op *op, const char *upload, char **error)
{
    struct shell_write w = shell_host_write_of(op, upload);
    char *why = NULL;

    buf_adds(f, "( LC_ALL=C; export LC_ALL\np=");
    shell_host_quote_path(f, op->path);
    buf_adds(f, "\n[ -d \"$p\" ] && ! [ -h \"$p\" ] &&"
                " { echo 'batou-ng: Is a directory' >&2; exit 1; }\n");
    if (shell_write_file(f, &w, &why)) {
        *error = host_op_error(op, why);
        free(why);
        return -1;
    }
    buf_adds(f, ") >/dev/null");
    return 0;
}

/* Before an OP_WRITE: whether a symlink is at its path (it gets replaced). */
static void add_replaced_mark(struct buf *f, const struct op *op, size_t index)
{
    buf_adds(f, "if [ -h ");
    shell_host_quote_path(f, op->path);
    buf_addf(f, " ]; then printf '\\036L %zu\\n' >&2; fi\n", index);
}

/* A symlink at the path is refused: chown and chmod would follow it, and
 * replacing it would hide what the application keeps behind it. */
void shell_host_add_mkdir(struct buf *f, const struct op *op)
{
    buf_adds(f, "{ ! [ -h ");
    shell_host_quote_path(f, op->path);
    buf_adds(f, " ] || { echo 'batou-ng: " HOST_MKDIR_SYMLINK "' >&2; false; }; } && { [ -d ");
    shell_host_quote_path(f, op->path);
    buf_adds(f, op->leading ? " ] || LC_ALL=C mkdir -p -- " : " ] || LC_ALL=C mkdir -- ");
    shell_host_quote_path(f, op->path);
    buf_adds(f, "; }");
    if (op->owner) {
        buf_adds(f, " && LC_ALL=C chown -h -- ");
        shell_quote(f, op->owner);
        buf_addc(f, ' ');
        shell_host_quote_path(f, op->path);
    }
    if (op->group) {
        buf_adds(f, " && LC_ALL=C chgrp -h -- ");
        shell_quote(f, op->group);
        buf_addc(f, ' ');
        shell_host_quote_path(f, op->path);
    }
    if (op->mode >= 0) {
        buf_addf(f, " && LC_ALL=C chmod -- %04o ", (unsigned)op->mode);
        shell_host_quote_path(f, op->path);
    }
}

static void add_symlink(struct buf *f, const struct op *op)
{
    buf_adds(f, "( LC_ALL=C; export LC_ALL\nd=");
    add_dir(f, op->path);
    buf_adds(f, " p=");
    shell_host_quote_path(f, op->path);
    buf_addc(f, '\n');
    if (op->leading)
        buf_adds(f, "mkdir -p -- \"$d\" || exit\n");
    buf_adds(f, "if [ -d \"$p\" ] && ! [ -h \"$p\" ]; then rmdir -- \"$p\" || exit; fi\n"
                "t=$(mktemp -u \"$d/.batou-ng.XXXXXX\") && ln -s -- ");
    shell_quote(f, op->target);
    buf_adds(f, " \"$t\" || exit\n"
                "mv -fT -- \"$t\" \"$p\" || { rm -f -- \"$t\"; exit 1; }\n) >/dev/null");
}

/* The walks of OP_RMDIR, defined once per fragment that needs them. Their
 * only variable, _f, is shared by the recursion: each loop's list is expanded
 * before it runs, and _f is not read after a recursive call. */
static const char rmdir_functions[] =
    "_be() { for _f in \"$1\"/* \"$1\"/.[!.]* \"$1\"/..?*; do\n"
    "if [ -d \"$_f\" ] && ! [ -h \"$_f\" ]; then _be \"$_f\" || return\n"
    "elif [ -e \"$_f\" ] || [ -h \"$_f\" ]; then return 1; fi; done; }\n"
    "_br() { for _f in \"$1\"/* \"$1\"/.[!.]* \"$1\"/..?*; do\n"
    "if [ -d \"$_f\" ] && ! [ -h \"$_f\" ]; then _br \"$_f\" || return; fi; done\n"
    "rmdir -- \"$1\"; }\n";

/* A directory holding anything but directories is kept as it is, so the
 * check walks the whole tree before the first rmdir. */
static void add_rmdir(struct buf *f, const struct op *op)
{
    buf_adds(f, "( LC_ALL=C; export LC_ALL\np=");
    shell_host_quote_path(f, op->path);
    buf_adds(
        f, "\nif [ -d \"$p\" ] && ! [ -h \"$p\" ] && _be \"$p\"; then _br \"$p\"; fi ) >/dev/null");
}

/* Only what the orphan's rule made: a regular file that is no symlink, or a
 * symlink; rm -f, never -r. */
static void add_remove(struct buf *f, const struct op *op)
{
    buf_adds(f, "( LC_ALL=C; export LC_ALL\np=");
    shell_host_quote_path(f, op->path);
    if (op->expect == FILE_SYMLINK)
        buf_adds(f, "\nif [ -h \"$p\" ]; then rm -f -- \"$p\"; fi ) >/dev/null");
    else
        buf_adds(f, "\nif [ -f \"$p\" ] && ! [ -h \"$p\" ]; then rm -f -- \"$p\"; fi ) >/dev/null");
}

/* After a successful OP_RMDIR or OP_REMOVE: whether it kept its path. */
static void add_kept_mark(struct buf *f, const struct op *op, size_t index)
{
    buf_adds(f, "if [ -e ");
    shell_host_quote_path(f, op->path);
    buf_adds(f, " ] || [ -h ");
    shell_host_quote_path(f, op->path);
    buf_addf(f, " ]; then printf '\\036K %zu\\n' >&2; fi\n", index);
}

static int glob_special(char c)
{
    return c == '*' || c == '?' || c == '[' || c == ']' || c == '!' || c == '^';
}

/* DIR/PATTERN: the directory quoted whole, the pattern's literal runs quoted
 * and its glob characters bare. */
void shell_host_add_glob(struct buf *f, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *pattern = slash ? slash + 1 : path;

    if (slash && slash != path) {
        char *dir = xstrndup(path, (size_t)(slash - path));
        shell_host_quote_path(f, dir);
        free(dir);
    } else if (!slash) {
        buf_addc(f, '.');
    }
    buf_addc(f, '/');
    for (const char *p = pattern; *p;) {
        size_t run = 0;
        while (p[run] && !glob_special(p[run]))
            run++;
        if (run) {
            shell_quote_n(f, p, run);
            p += run;
        } else {
            buf_addc(f, *p++);
        }
    }
}

static void add_purge(struct buf *f, const struct op *op)
{
    buf_adds(f, "( LC_ALL=C; export LC_ALL\nfor f in ");
    shell_host_add_glob(f, op->path);
    buf_adds(f, "; do\ncase ${f##*/} in .|..) continue ;; esac\n"
                "[ -e \"$f\" ] || [ -h \"$f\" ] || continue\n"
                "rm -rf -- \"$f\" || exit\ndone ) >/dev/null");
}

/* What a Command made (its `owns`), whatever it is now. */
static void add_remove_tree(struct buf *f, const struct op *op)
{
    buf_adds(f, "LC_ALL=C rm -rf --one-file-system -- ");
    shell_host_quote_path(f, op->path);
    buf_adds(f, " >/dev/null");
}

/* printf is a builtin: no process for a journal line (base64 -d for
 * bytes no shell word can hold). */
void shell_host_add_append(struct buf *f, const struct op *op)
{
    const char *data = op->data ? op->data : "";
    if (!memchr(data, '\0', op->len)) {
        buf_adds(f, "printf '%s' ");
        if (op->len)
            shell_quote_n(f, data, op->len);
        else
            buf_adds(f, "''");
        buf_adds(f, " >>");
        shell_host_quote_path(f, op->path);
        return;
    }
    buf_adds(f, "{ base64 -d >>");
    shell_host_quote_path(f, op->path);
    shell_heredoc_base64(f, data, op->len);
    buf_adds(f, "}");
}

static void add_run(struct buf *f, const struct op *op)
{
    buf_adds(f, "( ");
    if (op->cwd) {
        char *message = xasprintf("batou-ng: cannot change to directory '%s'", op->cwd);
        buf_adds(f, "cd -- ");
        shell_host_quote_path(f, op->cwd);
        buf_adds(f, " 2>/dev/null || { printf '%s\\n' ");
        shell_quote(f, message);
        buf_adds(f, " >&2; exit 1; }\n");
        free(message);
    }
    shell_run_command(f, op->command, op->env, op->nenv, "2>&1");
    buf_adds(f, " )");
}

static const char fail_function[] =
    "_bf() { printf '\\036B %s\\n' \"$1\" >&2; cat \"$T/x\" >&2; "
    "printf '\\036F %s %s\\n' \"$1\" \"$2\" >&2; exit \"$2\"; }\n";

static int add_op(struct buf *f, const struct op *op, size_t i, const char *upload, char **error)
{
    if (op->kind == OP_WRITE)
        add_replaced_mark(f, op, i);
    if (op->kind == OP_RUN)
        buf_addf(f, "printf '\\036O %zu\\n'\n", i);
    buf_adds(f, "{ ");
    switch (op->kind) {
    case OP_WRITE:
        if (add_write(f, op, upload, error))
            return -1;
        break;
    case OP_MKDIR:
        shell_host_add_mkdir(f, op);
        break;
    case OP_SYMLINK:
        add_symlink(f, op);
        break;
    case OP_REMOVE:
        add_remove(f, op);
        break;
    case OP_RMDIR:
        add_rmdir(f, op);
        break;
    case OP_PURGE:
        add_purge(f, op);
        break;
    case OP_REMOVE_TREE:
        add_remove_tree(f, op);
        break;
    case OP_RUN:
        add_run(f, op);
        break;
    case OP_APPEND:
        shell_host_add_append(f, op);
        break;
    default:
        *error = xasprintf("unknown op kind %d", (int)op->kind);
        return -1;
    }
    buf_addf(f, "\n} 2>\"$T/x\" || _bf %zu $?\n", i);
    if (op->kind == OP_RMDIR || op->kind == OP_REMOVE)
        add_kept_mark(f, op, i);
    return 0;
}

/* Which ops are staged: those of a run of OP_WRITE, OP_MKDIR and OP_APPEND
 * ops that holds two writes or more (allocated, one flag an op). */
static char *staged_runs(const struct op *ops, size_t n)
{
    char *staged = xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n;) {
        size_t j = i, writes = 0;
        while (j < n && shell_stage_kind(ops[j].kind))
            writes += ops[j++].kind == OP_WRITE;
        for (size_t k = i; k < j; k++)
            staged[k] = writes >= 2;
        i = j > i ? j : i + 1;
    }
    return staged;
}

/* The name of each OP_WRITE's upload (hosts/session.h), "" for content
 * that travels in the script: one char[UPLOAD_NAME_MAX + 1] an op. */
struct upload_name {
    char name[UPLOAD_NAME_MAX + 1];
};

static struct upload_name *name_uploads(struct shell_host *h, const struct op *ops, size_t n)
{
    struct upload_name *names = xcalloc(n ? n : 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == OP_WRITE && ops[i].len >= SHELL_UPLOAD_MIN)
            snprintf(names[i].name, sizeof names[i].name, "u%lu", ++h->uploads);
    return names;
}

static int compile(struct buf *f, const struct op *ops, size_t n, struct upload_name *uploads,
                   char **error)
{
    char *staged = staged_runs(ops, n);
    int any = 0;
    for (size_t i = 0; i < n; i++)
        any |= staged[i];
    if (any)
        shell_stage_preamble(f);
    else
        buf_adds(f, fail_function);
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == OP_RMDIR) {
            buf_adds(f, rmdir_functions);
            break;
        }
    }
    struct shell_segment seg;
    shell_stage_init(&seg);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct op *op = &ops[i];
        if ((rc = host_op_check(op, error)) != 0)
            break;
        if (shell_stage_ends(&seg, op))
            shell_stage_end(f, &seg);
        if (op->kind == OP_WRITE && !seg.open && staged[i])
            shell_stage_begin(&seg, i);
        const char *upload = uploads[i].name[0] ? uploads[i].name : NULL;
        rc = seg.open ? shell_stage_op(&seg, op, i, upload, error)
                      : add_op(f, op, i, upload, error);
    }
    if (rc == 0)
        shell_stage_end(f, &seg);
    shell_stage_release(&seg);
    free(staged);
    return rc;
}

/* Reading the reply. */

/* The start of the last line in err[0..end) that begins with MARK and tag,
 * or NULL. */
static const char *last_mark(const char *err, const char *end, char tag)
{
    for (const char *p = end; p > err;) {
        p--;
        if ((p == err || p[-1] == '\n') && p[0] == MARK && p + 1 < end && p[1] == tag)
            return p;
    }
    return NULL;
}

/* The reason from the tool messages in [from, to): the last system message
 * a line ends with, else the last non-empty line. A tool may say the errno
 * once and then repeat itself without it (base64 -d on a full disk:
 * "write error: No space left on device", then "write error"). */
static char *reason_in(const char *from, const char *to, int status)
{
    while (to > from && (to[-1] == '\n' || to[-1] == '\r'))
        to--;
    const char *line = to;
    while (line > from && line[-1] != '\n')
        line--;
    if (line == to)
        return xasprintf("exit status %d", status);
    for (const char *end = to, *l = line;; end = l - 1, l = end) {
        while (l > from && l[-1] != '\n')
            l--;
        const char *system = shell_host_system_reason(l, (size_t)(end - l));
        if (system)
            return xstrdup(system);
        if (l == from)
            break;
    }
    return shell_host_reason(line, (size_t)(to - line));
}

static void take_failure(struct apply_request *r, const struct session_reply *reply)
{
    struct apply_result *res = r->result;
    const char *err = reply->err, *end = reply->err + reply->errlen;
    const char *fail = last_mark(err, end, 'F');
    const char *begin = last_mark(err, fail ? fail : end, 'B');
    unsigned long index = r->n;

    res->status = reply->status;
    if (begin)
        index = strtoul(begin + 3, NULL, 10);
    if (!begin || index >= r->n) {
        /* the fragment ended before the first op: say how */
        char *reason = reason_in(err, end, reply->status);
        res->done = 0;
        res->error = xasprintf("%s: %s", r->n ? "apply failed" : "apply", reason);
        free(reason);
        return;
    }
    const char *from = memchr(begin, '\n', (size_t)(end - begin));
    from = from ? from + 1 : end;
    char *reason = reason_in(from, fail ? fail : end, reply->status);
    res->done = index;
    res->error = host_op_error(&r->ops[index], reason);
    free(reason);
}

/* The "\036K <index>" lines of kept OP_RMDIRs and OP_REMOVEs and the
 * "\036L <index>" lines of OP_WRITEs replacing a symlink, before a
 * failure's dump (whose tool messages could hold anything). */
static void take_kept(struct apply_request *r, const struct session_reply *reply)
{
    struct apply_result *res = r->result;
    const char *err = reply->err, *end = reply->err + reply->errlen;
    const char *stop = last_mark(err, end, 'B');
    size_t cap = 0, rcap = 0;

    for (const char *p = err; p && p < (stop ? stop : end);) {
        if (p + 2 < end && p[0] == MARK && (p[1] == 'K' || p[1] == 'L') && p[2] == ' ') {
            unsigned long index = strtoul(p + 3, NULL, 10);
            enum op_kind kind = index < r->n ? r->ops[index].kind : OP_RUN;
            if (p[1] == 'K' && (kind == OP_RMDIR || kind == OP_REMOVE)) {
                xgrow(&res->kept, &cap, res->nkept + 1, sizeof *res->kept);
                res->kept[res->nkept++] = index;
            } else if (p[1] == 'L' && kind == OP_WRITE) {
                xgrow(&res->replaced, &rcap, res->nreplaced + 1, sizeof *res->replaced);
                res->replaced[res->nreplaced++] = index;
            }
        }
        p = memchr(p, '\n', (size_t)(end - p));
        if (p)
            p++;
    }
}

/* The fragment's stdout without the "\036O <index>\n" marks printed before
 * each OP_RUN, and where each op's output begins (apply_result.op_out). */
static void take_out(struct apply_request *r, const struct session_reply *reply)
{
    struct apply_result *res = r->result;
    res->out = xmalloc(reply->outlen + 1);
    res->op_out = xcalloc(r->n ? r->n : 1, sizeof *res->op_out);
    for (size_t i = 0; i < r->n; i++)
        res->op_out[i] = (size_t)-1;
    const char *p = reply->out, *end = reply->out + reply->outlen;
    size_t len = 0;
    while (p < end) {
        const char *mark = memchr(p, MARK, (size_t)(end - p));
        const char *nl = mark ? memchr(mark, '\n', (size_t)(end - mark)) : NULL;
        if (!mark || !nl || mark + 2 >= end || mark[1] != 'O' || mark[2] != ' ') {
            const char *stop = mark ? mark + 1 : end;
            memcpy(res->out + len, p, (size_t)(stop - p));
            len += (size_t)(stop - p);
            p = stop;
            continue;
        }
        memcpy(res->out + len, p, (size_t)(mark - p));
        len += (size_t)(mark - p);
        unsigned long index = strtoul(mark + 3, NULL, 10);
        if (index < r->n)
            res->op_out[index] = len;
        p = nl + 1;
    }
    res->out[len] = '\0';
    res->outlen = len;
    /* An op that printed no mark began where the next marked one did. */
    for (size_t i = r->n, at = len; i-- > 0;) {
        if (res->op_out[i] == (size_t)-1)
            res->op_out[i] = at;
        else
            at = res->op_out[i];
    }
}

static void on_reply(const struct session_reply *reply, void *ctx)
{
    struct apply_request *r = ctx;
    struct apply_result *res = r->result;

    if (reply->error) {
        res->status = -1;
        res->done = 0;
        res->error = xstrdup(reply->error);
    } else if (reply->refused) {
        res->status = reply->status;
        res->done = 0;
        res->refused = 1;
        res->error = xstrdup("not applied: the session's guard failed");
    } else {
        take_out(r, reply);
        take_kept(r, reply);
        if (reply->status == 0) {
            res->status = 0;
            res->done = r->n;
        } else {
            take_failure(r, reply);
        }
    }
    r->done(r->ctx);
    request_free(r);
}

int shell_host_apply(struct host *h, const struct op *ops, size_t n, struct apply_result *result,
                     host_done_fn *done, void *ctx, char **error)
{
    struct shell_host *sh = (struct shell_host *)h;
    struct buf f;

    buf_init(&f);
    struct upload_name *uploads = name_uploads(sh, ops, n);
    if (compile(&f, ops, n, uploads, error)) {
        free(uploads);
        buf_release(&f);
        return -1;
    }
    /* The big contents go first, raw, each before the request using it. */
    for (size_t i = 0; i < n; i++) {
        if (uploads[i].name[0] && session_upload(sh->s, uploads[i].name, ops[i].data, ops[i].len) < 0) {
            const char *why = session_error(sh->s);
            *error = xasprintf("%s: %s", session_describe(sh->s),
                               why ? why : "the session takes no more requests");
            free(uploads);
            buf_release(&f);
            return -1;
        }
    }
    free(uploads);
    struct apply_request *r = xcalloc(1, sizeof *r);
    r->ops = xcalloc(n ? n : 1, sizeof *r->ops);
    r->n = n;
    r->result = result;
    r->done = done;
    r->ctx = ctx;
    for (size_t i = 0; i < n; i++) {
        r->ops[i].kind = ops[i].kind;
        r->ops[i].path = shell_host_strdup(ops[i].path);
        r->ops[i].command = shell_host_strdup(ops[i].command);
    }
    int rc = shell_host_submit(sh, &f, on_reply, r, error);
    buf_release(&f);
    if (rc)
        request_free(r);
    return rc;
}
