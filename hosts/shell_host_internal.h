#ifndef BATOU_SHELL_HOST_INTERNAL_H
#define BATOU_SHELL_HOST_INTERNAL_H

/* Shared by hosts/shell_host*.c only. */

#include "hosts/host.h"

#include <stddef.h>

struct buf;
struct loop;
struct session;
struct session_reply;

struct shell_host {
    struct host base;
    struct session *s;
    struct loop *loop;
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

/* The host_ops of the queries and of the ops. */
int shell_host_query(struct host *h, const struct query *queries, size_t n,
                     struct query_result *results, host_done_fn *done, void *ctx, char **error);
int shell_host_apply(struct host *h, const struct op *ops, size_t n, struct apply_result *result,
                     host_done_fn *done, void *ctx, char **error);

#endif
