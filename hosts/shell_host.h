#ifndef BATOU_SHELL_HOST_H
#define BATOU_SHELL_HOST_H

/* The host (hosts/host.h) of real targets: queries and ops become shell
 * fragments run by a session (hosts/session.h), so the local transport and
 * SSH run the same bytes. A batch of queries is one request, a batch of ops
 * is one request; done() is called from the loop when the reply is in. The
 * fragments and what they print back are documented at the top of
 * hosts/shell_host_query.c and hosts/shell_host_apply.c. Targets need a
 * POSIX sh and GNU coreutils (stat -c, mv -T, sha256sum, base64). */

#include <stddef.h>

struct buf;
struct host;
struct loop;
struct query;
struct query_result;
struct session;

/* A host on session s, driven by loop (s is added to it). The host does not
 * own s: free the host first, then the session; a reply that comes after
 * the host is freed still fills its results and calls its done(). Kill the
 * session (session_kill) before session_free when requests are pending:
 * session_free drops them without a callback, so done() would never come. */
struct host *shell_host_new(struct session *s, struct loop *loop);

/* Queries riding in a request that does other work too (the first request
 * of a deploy: docs/architecture.md, "Live state"). Append to f the shell
 * text answering queries[0..n): its output ends with an end record; what
 * the request prints after it is the caller's. Paths and cwds are used as
 * given ("~" is not expanded). */
void shell_host_query_text(struct buf *f, const struct query *queries, size_t n);
/* Take the answers to shell_host_query_text's queries off the front of the
 * reply's *out (and of *err: the lines explaining failed stats) into
 * results[0..n) (zeroed by the caller; release with host_results_release);
 * *out and *err move past them. 0, or -1 when the end record is missing:
 * every unanswered result then holds an error. */
int shell_host_query_take(const struct query *queries, size_t n, struct query_result *results,
                          const char **out, size_t *outlen, const char **err, size_t *errlen);

#endif
