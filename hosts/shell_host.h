#ifndef BATOU_SHELL_HOST_H
#define BATOU_SHELL_HOST_H

/* The host (hosts/host.h) of real targets: queries and ops become shell
 * fragments run by a session (hosts/session.h), so the local transport and
 * SSH run the same bytes. A batch of queries is one request, a batch of ops
 * is one request; done() is called from the loop when the reply is in. The
 * fragments and what they print back are documented at the top of
 * hosts/shell_host_query.c and hosts/shell_host_apply.c. Targets need a
 * POSIX sh and GNU coreutils (stat -c, mv -T, sha256sum, base64). */

struct host;
struct loop;
struct session;

/* A host on session s, driven by loop (s is added to it). The host does not
 * own s: free the host first, then the session; a reply that comes after
 * the host is freed still fills its results and calls its done(). Kill the
 * session (session_kill) before session_free when requests are pending:
 * session_free drops them without a callback, so done() would never come. */
struct host *shell_host_new(struct session *s, struct loop *loop);

#endif
