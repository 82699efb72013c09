#ifndef BATOU_SHELL_HOST_INTERNAL_H
#define BATOU_SHELL_HOST_INTERNAL_H

/* Shared by hosts/shell_host*.c only. */

#include "engine/util.h"
#include "hosts/host.h"
#include "hosts/shell.h"

#include <stddef.h>

struct buf;
struct loop;
struct session;
struct session_reply;

struct shell_host {
    struct host base;
    struct session *s;
    struct loop *loop;
    unsigned long uploads; /* uploads named so far: "u1", "u2", ... */
};

/* Submit fragment on h's session with callback done; 0, or -1 with *error
 * when the session takes no requests. */
int shell_host_submit(struct shell_host *h, const struct buf *fragment,
                      void (*done)(const struct session_reply *reply, void *ctx), void *ctx,
                      char **error);
/* What went wrong, from one line a tool printed on stderr (LC_ALL=C): the
 * system's message when the line ends with one ("mkdir: cannot create
 * directory '/a/b': No such file or directory" gives "No such file or
 * directory"), else the line without its "tool: " prefix. Allocated. */
char *shell_host_reason(const char *line, size_t len);
/* The system's message the line ends with (static), or NULL. */
const char *shell_host_system_reason(const char *line, size_t len);
/* A copy of s, or NULL. */
char *shell_host_strdup(const char *s);
/* Append path as one shell word that no tool takes for an option. */
void shell_host_quote_path(struct buf *out, const char *path);

/* Append path as OP_PURGE's glob: the directory quoted whole, the last
 * component's literal runs quoted and its * ? [ ] ! ^ bare. */
void shell_host_add_glob(struct buf *f, const char *path);

/* hosts/shell_host_stage.c: the staged writes of a fragment. A segment is
 * a run of OP_WRITE, OP_MKDIR and OP_APPEND ops whose files wait in staging
 * directories; it is committed (synced, renamed into place, its held back
 * records appended) before the op that ends it. */
struct shell_staged;
struct shell_segment {
    int open;        /* files are staged and not in place yet */
    unsigned number; /* of the segment in the fragment: its commit is _c<number> */
    size_t first_op; /* the first staged write */
    struct buf name; /* the staging directories' name: ".batou-ng.<hex>" */
    struct buf text; /* its ops' text, put after the commit function it needs */
    char **staging;  /* the staging directories it may have made */
    size_t nstaging;
    struct shell_staged *staged; /* its writes, in order */
    size_t nstaged;
    size_t held;            /* bytes of the records held back so far */
    const char *after_path; /* where the held back records go */
};
void shell_stage_init(struct shell_segment *seg);
void shell_stage_release(struct shell_segment *seg);
/* Append the functions a fragment with staged writes uses (_bf among them). */
void shell_stage_preamble(struct buf *f);
/* Whether an op of kind can be in a segment (a write, a mkdir, an append). */
int shell_stage_kind(enum op_kind kind);
/* Whether op (next in the fragment) ends seg's open segment. */
int shell_stage_ends(const struct shell_segment *seg, const struct op *op);
/* Open a segment whose first write is op index op. */
void shell_stage_begin(struct shell_segment *seg, size_t op);
/* Append to f the segment's commit function, its ops' text and its commit. */
void shell_stage_end(struct buf *f, struct shell_segment *seg);
/* Whether the OP_APPEND op can wait for the segment's files (a record). */
int shell_stage_holds(const struct shell_segment *seg, const struct op *op);
/* Append op (index index: an OP_WRITE, OP_MKDIR or OP_APPEND) to the open
 * segment: a write staged (its content in the upload named upload when
 * not NULL), a record held back. 0, or -1 with *error. */
int shell_stage_op(struct shell_segment *seg, const struct op *op, size_t index, const char *upload,
                   char **error);
/* The shell_write of an OP_WRITE (shell_host_apply.c); upload names the
 * upload in $T holding its bytes, or is NULL when they travel in the script. */
struct shell_write shell_host_write_of(const struct op *op, const char *upload);
/* The text of an OP_MKDIR and of an OP_APPEND (shell_host_apply.c). */
void shell_host_add_mkdir(struct buf *f, const struct op *op);
void shell_host_add_append(struct buf *f, const struct op *op);

/* The host_ops of the queries and of the ops. */
int shell_host_query(struct host *h, const struct query *queries, size_t n,
                     struct query_result *results, host_done_fn *done, void *ctx, char **error);
int shell_host_apply(struct host *h, const struct op *ops, size_t n, struct apply_result *result,
                     host_done_fn *done, void *ctx, char **error);

#endif
