/* Queries on a shell host: a batch is one fragment, one request.
 *
 * The fragment, for path queries 0 and 2 (2 with digest) and command 1:
 *
 *   _bl() { [ -h "$2" ] || return 0; printf 'L\0%s\0' "$1"; readlink -n -- "$2" 2>/dev/null; printf
 * '\0'; } _bd() { [ -f "$2" ] && ! [ -h "$2" ] || return 0; printf 'D\0%s\0' "$1"; LC_ALL=C
 * sha256sum -- "$2" 2>&1; printf '\0'; } LC_ALL=C stat --printf 'S\0%n\0%f\0%u\0%U\0%g\0%G\0%s\0'
 * -- '/srv/a' '/srv/b c' _bl 0 '/srv/a' _bl 2 '/srv/b c'; _bd 2 '/srv/b c'
 * if cd -- /srv >/dev/null 2>&1; then ( A=1; export A; unset T; eval 'test -f x' ) >/dev/null
 * 2>&1 </dev/null; printf 'C\0%s\0%s\0' 1 $?; cd -- "$_bw" >/dev/null 2>&1 || cd / || exit 1; else
 * printf 'X\0%s\0' 1; fi
 * (shell_eval_command: hosts/shell.h; _bw=$PWD, set first)
 *
 * Its stdout is a sequence of records whose fields each end with a NUL byte,
 * which no path, link target, user name or number can hold:
 *
 *   S name rawmode(hex) uid user gid group size   lstat of one path (stat -c
 *                                                   without -L), in argument order
 *   L index target                                  the symlink's target
 *   D index output                                  sha256sum's output: the digest
 *                                                   (hex), or its error message
 *   R index U                                       a content query's regular file
 *                                                   is unreadable
 *   H indexes hex Z sizes                           the content queries' regular
 *                                                   files of one _bc call (" 3 5"):
 *                                                   their bytes one after another
 *                                                   in hex (od, with its blanks), at
 *                                                   most HOST_CONTENT_MAX + 1 of each,
 *                                                   then their sizes after the read
 *                                                   ("12 40 ", take_bulk)
 *   C index status                                  a command's exit status
 *   X index                                         its cwd could not be entered
 *   G index matched                                 a glob query: 1 or 0
 *   E                                               the end (shell_host_query_text
 *                                                   only: more output may follow)
 *
 * stat prints no record for a path it cannot stat but one line on stderr
 * ("stat: cannot statx '/x': No such file or directory"), in argument order,
 * and nothing else in the fragment writes to stderr: the n-th path without
 * a record is explained by the n-th line. "No such file or directory" and
 * "Not a directory" mean FILE_NONE; any other reason is the result's error.
 * Paths go to stat in chunks, so no argument list is too long. */

#include "engine/util.h"
#include "hosts/session.h"
#include "hosts/shell.h"
#include "hosts/shell_host.h"
#include "hosts/shell_host_internal.h"

#include <stdlib.h>
#include <string.h>

/* A program per chunk: 1,000 paths of 100 bytes in one (Linux takes 2 MiB
 * of arguments; POSIX promises 4 KiB, a chunk of one path always goes). */
#define CHUNK_PATHS 1024
#define CHUNK_BYTES 131072
#define MAX_PATH_BYTES 4095 /* PATH_MAX - 1: longer ones cannot be stat'ed anyway */

/* The mode's file type bits, the same on every POSIX system we know. */
#define TYPE_MASK 0170000u
#define TYPE_REGULAR 0100000u
#define TYPE_DIRECTORY 0040000u
#define TYPE_SYMLINK 0120000u

/* One batch in flight; the queries are copied, the caller's may go away. */
struct query_request {
    struct query *queries; /* path, command, cwd copied; env not kept */
    size_t n;
    struct query_result *results;
    char *answered; /* per query: a record or an error was taken */
    host_done_fn *done;
    void *ctx;
};

static void request_free(struct query_request *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->queries[i].path);
        free((char *)r->queries[i].command);
        free((char *)r->queries[i].cwd);
    }
    free(r->queries);
    free(r->answered);
    free(r);
}

static int path_too_long(const struct query *q)
{
    return q->kind == QUERY_PATH && strlen(q->path) > MAX_PATH_BYTES;
}

static void add_stat_chunks(struct buf *f, const struct query *queries, size_t n)
{
    size_t in_chunk = 0, bytes = 0;

    for (size_t i = 0; i < n; i++) {
        if (queries[i].kind != QUERY_PATH || path_too_long(&queries[i]))
            continue;
        if (in_chunk == CHUNK_PATHS || bytes > CHUNK_BYTES) {
            buf_addc(f, '\n');
            in_chunk = bytes = 0;
        }
        if (in_chunk == 0)
            buf_adds(f, "LC_ALL=C stat --printf 'S\\0%n\\0%f\\0%u\\0%U\\0%g\\0%G\\0%s\\0' --");
        size_t before = f->len;
        buf_addc(f, ' ');
        shell_quote(f, queries[i].path);
        bytes += f->len - before;
        in_chunk++;
    }
    if (in_chunk)
        buf_addc(f, '\n');
}

/* One fork a command (the subshell of shell_eval_command): the cd to its
 * cwd is the fragment's own, and it goes back to $_bw after, or to / when
 * $_bw cannot be entered again (a shell that sudo started as the service
 * user in the login's project directory, which that user may not read:
 * tests/e2e/test_library_cron.py). */
static void add_command(struct buf *f, const struct query *q, size_t i)
{
    if (q->cwd) {
        buf_adds(f, "if cd -- ");
        shell_host_quote_path(f, q->cwd);
        buf_adds(f, " >/dev/null 2>&1; then "); /* CDPATH would print it */
    }
    shell_eval_command(f, q->command, q->env, q->nenv, ">/dev/null 2>&1 </dev/null");
    buf_addf(f, "; printf 'C\\0%%s\\0%%s\\0' %zu $?", i);
    if (q->cwd)
        buf_addf(f, "; cd -- \"$_bw\" >/dev/null 2>&1 || cd / || exit 1; else printf 'X\\0%%s\\0' "
                    "%zu; fi", i);
    buf_addc(f, '\n');
}

/* The shell functions the records of path queries come from. */
static void add_path_helpers(struct buf *f)
{
    buf_adds(f, "_bl() { [ -h \"$2\" ] || return 0; printf 'L\\0%s\\0' \"$1\"; "
                "readlink -n -- \"$2\" 2>/dev/null; printf '\\0'; }\n"
                "_bd() { [ -f \"$2\" ] && ! [ -h \"$2\" ] || return 0; printf 'D\\0%s\\0' \"$1\"; "
                "LC_ALL=C sha256sum -- \"$2\" 2>&1; printf '\\0'; }\n");
    /* The contents of a chunk of files at once, with a constant number of
     * programs (not one od a file): _bc takes "index path" pairs, prints
     * "R index U" for a file it may not read and reads the other regular
     * files with one head (at most HOST_CONTENT_MAX + 1 bytes of each, so
     * a larger file is seen as such without reading it all) into one od
     * (hex: the bytes may hold NULs), then stats their sizes again. The
     * controller splits the bytes by the sizes of the S records (taken
     * before) and takes them only when every size is the same after and
     * the bytes add up (take_bulk): a file that changed in between costs
     * the chunk its diffs, never a wrong one. */
    buf_addf(f,
             "_bc() { _bk=; _bn=$#; while [ \"$_bn\" -gt 1 ]; do _bx=$1; _bp=$2; shift 2; "
             "_bn=$((_bn - 2)); [ -f \"$_bp\" ] && ! [ -h \"$_bp\" ] || continue; "
             "if [ -r \"$_bp\" ]; then set -- \"$@\" \"$_bp\"; _bk=\"$_bk $_bx\"; "
             "else printf 'R\\0%%s\\0U\\0' \"$_bx\"; fi; done; [ -n \"$_bk\" ] || return 0; "
             "printf 'H\\0%%s\\0' \"$_bk\"; LC_ALL=C head -q -c %d -- \"$@\" 2>/dev/null | "
             "LC_ALL=C od -An -v -tx1; printf '\\0Z\\0'; "
             "LC_ALL=C stat --printf '%%s ' -- \"$@\" 2>/dev/null; printf '\\0'; }\n",
             HOST_CONTENT_MAX + 1);
}

/* The content queries, in chunks of _bc (add_path_helpers) calls, so no
 * argument list is too long. */
static void add_content_chunks(struct buf *f, const struct query *queries, size_t n)
{
    size_t in_chunk = 0, bytes = 0;

    for (size_t i = 0; i < n; i++) {
        if (queries[i].kind != QUERY_PATH || !queries[i].content || path_too_long(&queries[i]))
            continue;
        if (in_chunk == CHUNK_PATHS || bytes > CHUNK_BYTES) {
            buf_addc(f, '\n');
            in_chunk = bytes = 0;
        }
        if (in_chunk == 0)
            buf_adds(f, "_bc");
        size_t before = f->len;
        buf_addf(f, " %zu ", i);
        shell_host_quote_path(f, queries[i].path);
        bytes += f->len - before;
        in_chunk++;
    }
    if (in_chunk)
        buf_addc(f, '\n');
}

/* "G index matched": 1 at the first entry that is there (as OP_PURGE
 * skips . and .. and a pattern that matched nothing), else 0. */
static void add_glob_query(struct buf *f, const struct query *q, size_t i)
{
    buf_adds(f, "( LC_ALL=C; _g=0; for f in ");
    shell_host_add_glob(f, q->path);
    buf_addf(f, "; do case ${f##*/} in .|..) continue ;; esac; "
                "if [ -e \"$f\" ] || [ -h \"$f\" ]; then _g=1; break; fi; done; "
                "printf 'G\\0%%s\\0%%s\\0' %zu $_g )\n", i);
}

static void compile(struct buf *f, const struct query *queries, size_t n)
{
    size_t paths = 0;
    for (size_t i = 0; i < n; i++)
        paths += queries[i].kind == QUERY_PATH;
    if (paths)
        add_path_helpers(f);
    buf_adds(f, "_bw=$PWD\n");
    add_stat_chunks(f, queries, n);
    for (size_t i = 0; i < n; i++) {
        const struct query *q = &queries[i];
        if (q->kind == QUERY_COMMAND) {
            add_command(f, q, i);
        } else if (q->kind == QUERY_GLOB) {
            add_glob_query(f, q, i);
        } else if (!path_too_long(q)) {
            buf_addf(f, "_bl %zu ", i);
            shell_quote(f, q->path);
            if (q->digest) {
                buf_addf(f, "; _bd %zu ", i);
                shell_quote(f, q->path);
            }
            buf_addc(f, '\n');
        }
    }
    add_content_chunks(f, queries, n);
}

/* Reading the reply. */

struct fields {
    const char *p, *end;
};

/* The next NUL-terminated field, or NULL when the output ends without one. */
static const char *next_field(struct fields *in, size_t *len)
{
    const char *nul = in->p < in->end ? memchr(in->p, '\0', (size_t)(in->end - in->p)) : NULL;
    if (!nul)
        return NULL;
    const char *field = in->p;
    *len = (size_t)(nul - field);
    in->p = nul + 1;
    return field;
}

static int parse_number(const char *s, size_t len, int base, long long *out)
{
    char tmp[32];
    char *end;
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtoll(tmp, &end, base);
    return *end ? -1 : 0;
}

static int parse_index(const char *s, size_t len, size_t n, size_t *index)
{
    long long v;
    if (parse_number(s, len, 10, &v) || v < 0 || (unsigned long long)v >= n)
        return -1;
    *index = (size_t)v;
    return 0;
}

/* Where the explanations of failed stats are: the reply's stderr lines. */
struct errlines {
    const char *p, *end;
};

static void explain_failure(struct query_request *r, size_t i, struct errlines *err)
{
    struct query_result *res = &r->results[i];
    const char *nl = err->p < err->end ? memchr(err->p, '\n', (size_t)(err->end - err->p)) : NULL;
    const char *line = err->p;
    size_t len = nl ? (size_t)(nl - line) : (size_t)(err->end - line);

    r->answered[i] = 1;
    if (len == 0 || strncmp(line, "stat: ", 6) != 0) {
        res->error = host_query_error(&r->queries[i], 0, "no answer from the target");
        return;
    }
    err->p = nl ? nl + 1 : err->end;
    char *reason = shell_host_reason(line, len);
    if (strcmp(reason, "No such file or directory") == 0 || strcmp(reason, "Not a directory") == 0)
        res->type = FILE_NONE;
    else
        res->error = host_query_error(&r->queries[i], 0, reason);
    free(reason);
}

/* An S record for the next path query named name; the path queries before
 * it that got none failed, in order. */
static int take_stat(struct query_request *r, size_t *next, struct errlines *err, struct fields *in)
{
    const char *f[7];
    size_t len[7];
    for (int k = 0; k < 7; k++) {
        if (!(f[k] = next_field(in, &len[k])))
            return -1;
    }
    for (; *next < r->n; (*next)++) {
        const struct query *q = &r->queries[*next];
        if (q->kind != QUERY_PATH || r->answered[*next])
            continue;
        if (strlen(q->path) == len[0] && memcmp(q->path, f[0], len[0]) == 0)
            break;
        explain_failure(r, *next, err);
    }
    if (*next == r->n)
        return -1;
    struct query_result *res = &r->results[*next];
    long long mode, size;
    r->answered[(*next)++] = 1;
    if (parse_number(f[1], len[1], 16, &mode) || parse_number(f[6], len[6], 10, &size))
        return -1;
    unsigned type = (unsigned)mode & TYPE_MASK;
    res->type = type == TYPE_REGULAR     ? FILE_REGULAR
                : type == TYPE_DIRECTORY ? FILE_DIRECTORY
                : type == TYPE_SYMLINK   ? FILE_SYMLINK
                                         : FILE_OTHER;
    res->mode = (unsigned)mode & 07777;
    res->size = size;
    /* stat says UNKNOWN for an id without a name: the contract wants the id */
    res->owner = len[3] == 7 && memcmp(f[3], "UNKNOWN", 7) == 0 ? xstrndup(f[2], len[2])
                                                                : xstrndup(f[3], len[3]);
    res->group = len[5] == 7 && memcmp(f[5], "UNKNOWN", 7) == 0 ? xstrndup(f[4], len[4])
                                                                : xstrndup(f[5], len[5]);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* sha256sum prints "<hex>  <name>" (with a '\' first when it escaped the
 * name), or an error message. */
static void take_digest(struct query_request *r, size_t i, const char *s, size_t len)
{
    struct query_result *res = &r->results[i];
    if (len > 0 && s[0] == '\\') {
        s++;
        len--;
    }
    int ok = len >= 65 && s[64] == ' ';
    for (size_t k = 0; ok && k < 64; k++)
        ok = hexval(s[k]) >= 0;
    if (!ok) {
        char *reason = shell_host_reason(s, strcspn(s, "\n")); /* the field ends in a NUL */
        free(res->error);
        res->error = host_query_error(&r->queries[i], 1, reason);
        free(reason);
        return;
    }
    for (size_t k = 0; k < 32; k++)
        res->digest[k] = (unsigned char)(hexval(s[2 * k]) << 4 | hexval(s[2 * k + 1]));
    res->has_digest = 1;
}

/* od's hex bytes, blanks and newlines between them, as bytes (a NUL
 * after them; *n of them), or NULL when it is malformed. */
static char *unhex(const char *s, size_t len, size_t *n)
{
    char *bytes = xmalloc(len / 2 + 1);
    *n = 0;
    for (size_t k = 0; k < len;) {
        if (s[k] == ' ' || s[k] == '\n') {
            k++;
            continue;
        }
        int hi = hexval(s[k]), lo = k + 1 < len ? hexval(s[k + 1]) : -1;
        if (hi < 0 || lo < 0) {
            free(bytes);
            return NULL;
        }
        bytes[(*n)++] = (char)(hi << 4 | lo);
        k += 2;
    }
    bytes[*n] = '\0';
    return bytes;
}

/* The next index of an H record's list ("␠3␠5"), or -1 at its end or on garbage. */
static int next_listed(const char **p, const char *end, size_t n, size_t *index)
{
    while (*p < end && **p == ' ')
        (*p)++;
    const char *start = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    return *p > start && parse_index(start, (size_t)(*p - start), n, index) == 0 ? 0 : -1;
}

/* Whether the sizes the Z record gives after the read (sizes, "12 40 ")
 * are those of the S records before it, for the listed regular files, and
 * the bytes read add up to them (each file's at most HOST_CONTENT_MAX + 1). */
static int bulk_consistent(struct query_request *r, const char *list, size_t list_len,
                           const char *sizes, size_t sizes_len, size_t nbytes)
{
    const char *p = list, *q = sizes;
    size_t i, total = 0;
    while (next_listed(&p, list + list_len, r->n, &i) == 0) {
        const struct query_result *res = &r->results[i];
        while (q < sizes + sizes_len && *q == ' ')
            q++;
        const char *start = q;
        while (q < sizes + sizes_len && *q != ' ')
            q++;
        long long after;
        if (!r->answered[i] || res->error || res->type != FILE_REGULAR ||
            parse_number(start, (size_t)(q - start), 10, &after) || after != res->size)
            return 0;
        total += after > HOST_CONTENT_MAX ? HOST_CONTENT_MAX + 1 : (size_t)after;
    }
    while (q < sizes + sizes_len && *q == ' ')
        q++;
    return p == list + list_len && q == sizes + sizes_len && total == nbytes;
}

/* An H record (the files of one _bc call, their bytes one after another in
 * hex) and the Z record after it: each file's content, or, when a file
 * changed between the reads, an error for each. -1 when it is malformed. */
static int take_bulk(struct query_request *r, struct fields *in)
{
    size_t list_len, hex_len, tag_len, sizes_len, i;
    const char *list = next_field(in, &list_len);
    const char *hex = list ? next_field(in, &hex_len) : NULL;
    const char *tag = hex ? next_field(in, &tag_len) : NULL;
    const char *sizes = tag && tag_len == 1 && *tag == 'Z' ? next_field(in, &sizes_len) : NULL;
    size_t nbytes;
    char *bytes = sizes ? unhex(hex, hex_len, &nbytes) : NULL;
    if (!bytes)
        return -1;
    int consistent = bulk_consistent(r, list, list_len, sizes, sizes_len, nbytes);
    const char *p = list;
    size_t offset = 0;
    while (next_listed(&p, list + list_len, r->n, &i) == 0) {
        struct query_result *res = &r->results[i];
        if (!consistent) {
            free(res->error);
            res->error = host_query_error(&r->queries[i], 0, "changed while it was read");
            continue;
        }
        size_t len = res->size > HOST_CONTENT_MAX ? HOST_CONTENT_MAX + 1 : (size_t)res->size;
        if (len > HOST_CONTENT_MAX) {
            res->content_state = CONTENT_TOO_LARGE;
        } else {
            free(res->content);
            res->content = xmalloc(len + 1);
            memcpy(res->content, bytes + offset, len);
            res->content[len] = '\0';
            res->content_len = len;
            res->content_state = CONTENT_READ;
        }
        offset += len;
    }
    free(bytes);
    return 0;
}

/* One L, D, R, C, G or X record. -1 when it is malformed. */
static int take_indexed(struct query_request *r, char tag, struct fields *in)
{
    size_t len, i, vlen = 0;
    const char *field = next_field(in, &len);
    const char *value = NULL;

    if (!field || parse_index(field, len, r->n, &i))
        return -1;
    if (tag != 'X' && !(value = next_field(in, &vlen)))
        return -1;
    struct query_result *res = &r->results[i];
    const struct query *q = &r->queries[i];
    if (tag == 'L' && q->kind == QUERY_PATH) {
        free(res->link_target);
        res->link_target = xstrndup(value, vlen);
    } else if (tag == 'D' && q->kind == QUERY_PATH) {
        take_digest(r, i, value, vlen);
    } else if (tag == 'R' && q->kind == QUERY_PATH && vlen == 1 && *value == 'U') {
        res->content_state = CONTENT_UNREADABLE;
    } else if (tag == 'C' && q->kind == QUERY_COMMAND) {
        long long status;
        if (parse_number(value, vlen, 10, &status))
            return -1;
        res->status = (int)status;
        r->answered[i] = 1;
    } else if (tag == 'G' && q->kind == QUERY_GLOB) {
        res->status = vlen == 1 && *value == '1';
        r->answered[i] = 1;
    } else if (tag == 'X' && q->kind == QUERY_COMMAND) {
        char *reason = xasprintf("cannot change to directory '%s'", q->cwd ? q->cwd : "");
        res->status = -1;
        res->error = host_query_error(q, 0, reason);
        free(reason);
        r->answered[i] = 1;
    } else {
        return -1;
    }
    return 0;
}

/* Take records from in until it ends, a record is malformed, or (with
 * until_end) the end record "E": 1 when that was read. */
static int parse_records(struct query_request *r, struct fields *in, struct errlines *err,
                         int until_end)
{
    size_t next = 0, len;
    const char *tag;
    int ended = 0;

    while ((tag = next_field(in, &len))) {
        if (until_end && len == 1 && *tag == 'E') {
            ended = 1;
            break;
        }
        int rc = len != 1      ? -1
                 : *tag == 'S' ? take_stat(r, &next, err, in)
                 : *tag == 'H' ? take_bulk(r, in)
                               : take_indexed(r, *tag, in);
        if (rc)
            break; /* garbage: what is unanswered says so below */
    }
    for (size_t i = next; i < r->n; i++) {
        if (r->queries[i].kind == QUERY_PATH && !r->answered[i] && !path_too_long(&r->queries[i]))
            explain_failure(r, i, err);
    }
    return ended;
}

static void parse_reply(struct query_request *r, const struct session_reply *reply)
{
    struct fields in = {reply->out, reply->out + reply->outlen};
    struct errlines err = {reply->err, reply->err + reply->errlen};
    parse_records(r, &in, &err, 0);
}

/* Every query without an answer gets an error (why: the reply's error, or NULL). */
static void finish_results(struct query_request *r, const char *why)
{
    for (size_t i = 0; i < r->n; i++) {
        struct query_result *res = &r->results[i];
        const struct query *q = &r->queries[i];
        if (path_too_long(q)) {
            res->error = host_query_error(q, 0, "File name too long");
        } else if (!r->answered[i] && !res->error) {
            res->error = host_query_error(q, 0, why ? why : "no answer from the target");
            if (q->kind == QUERY_COMMAND)
                res->status = -1;
        }
    }
}

static void on_reply(const struct session_reply *reply, void *ctx)
{
    struct query_request *r = ctx;

    if (!reply->error)
        parse_reply(r, reply);
    finish_results(r, reply->error);
    r->done(r->ctx);
    request_free(r);
}

void shell_host_query_text(struct buf *f, const struct query *queries, size_t n)
{
    compile(f, queries, n);
    buf_adds(f, "printf 'E\\0'\n");
}

int shell_host_query_take(const struct query *queries, size_t n, struct query_result *results,
                          const char **out, size_t *outlen, const char **err, size_t *errlen)
{
    struct query_request r = {.queries = (struct query *)queries, .n = n, .results = results};
    r.answered = xcalloc(n ? n : 1, 1);
    struct fields in = {*out, *out + *outlen};
    struct errlines errs = {*err, *err + *errlen};
    int ended = parse_records(&r, &in, &errs, 1);
    finish_results(&r, NULL);
    free(r.answered);
    if (!ended)
        return -1;
    *outlen -= (size_t)(in.p - *out);
    *out = in.p;
    *errlen -= (size_t)(errs.p - *err);
    *err = errs.p;
    return 0;
}

int shell_host_query(struct host *h, const struct query *queries, size_t n,
                     struct query_result *results, host_done_fn *done, void *ctx, char **error)
{
    struct query_request *r;
    struct buf f;

    for (size_t i = 0; i < n; i++) {
        if (host_query_check(&queries[i], error))
            return -1;
    }
    r = xcalloc(1, sizeof *r);
    r->queries = xcalloc(n ? n : 1, sizeof *r->queries);
    r->answered = xcalloc(n ? n : 1, 1);
    r->n = n;
    r->results = results;
    r->done = done;
    r->ctx = ctx;
    for (size_t i = 0; i < n; i++) {
        struct query *q = &r->queries[i];
        *q = queries[i];
        q->path = shell_host_strdup(q->kind != QUERY_COMMAND ? q->path : NULL);
        q->command = shell_host_strdup(q->kind == QUERY_COMMAND ? q->command : NULL);
        q->cwd = shell_host_strdup(q->kind == QUERY_COMMAND ? q->cwd : NULL);
        q->env = q->kind == QUERY_COMMAND ? queries[i].env : NULL; /* for compile only */
        if (q->kind == QUERY_COMMAND)
            q->nenv = queries[i].nenv;
    }
    buf_init(&f);
    compile(&f, r->queries, n);
    for (size_t i = 0; i < n; i++) {
        r->queries[i].env = NULL;
        r->queries[i].nenv = 0;
    }
    int rc = shell_host_submit((struct shell_host *)h, &f, on_reply, r, error);
    buf_release(&f);
    if (rc)
        request_free(r);
    return rc;
}
