#ifndef BATOU_SSH_H
#define BATOU_SSH_H

/* The SSH transport (hosts/transport.h) over libssh2, non-blocking: the TCP
 * connect, the handshake, the host key check (hosts/known_hosts.h), the
 * authentication and an exec channel running the shell all advance inside
 * the transport's read and write, so one poll loop (hosts/loop.h) drives
 * every host and the session (hosts/session.h) runs unchanged on top.
 *
 * Connection setup is bounded by setup_timeout_ms from the transport's
 * start; a refused connection is retried with backoff within it. At most
 * SSH_MAX_SETUPS connections to one address (hostname and port) are in setup
 * at once; the others wait their turn, and one waiting for its retry holds
 * no turn, so hosts that are down never delay the others beyond their own
 * deadline. Every failure is one line that says
 * which step failed (DNS, refused, timeout, host key, authentication,
 * channel), prefixed by the jump host where one failed.
 *
 * ProxyJump: each jump host is a connection of its own whose last step opens
 * a direct-tcpip channel to the next host; the next host's session runs over
 * that channel (hosts/ssh_relay.h), as `ssh -J` does. */

#include <stddef.h>
#include <stdint.h>

/* Connections being set up at once to one address: sshd's MaxStartups
 * starts refusing at 10 unauthenticated connections, which matters when
 * hosts share a jump host. */
#define SSH_MAX_SETUPS 10

struct transport;

/* Where and how to connect: what `ssh -G` resolved (hosts/ssh_config.h). */
struct ssh_options {
    char *alias;    /* the name asked for, for messages */
    char *hostname; /* what to resolve and connect to */
    int port;
    char *user;
    char **identity_files; /* ~ expanded */
    size_t nidentity_files;
    int identities_only;      /* skip the agent */
    int connect_timeout_ms;   /* per TCP attempt; 0: none */
    char **known_hosts_files; /* ~ expanded; the first one records new keys */
    size_t nknown_hosts_files;
    int accept_new;          /* StrictHostKeyChecking accept-new (or no) */
    char *proxy_jump;        /* ProxyJump as configured, for messages; NULL: direct */
    struct ssh_options *via; /* the jump host before this one, resolved; NULL: direct */
    char *proxy_command;     /* set: refused (hosts/ssh_config.h) */
};

/* The most jump hosts in front of one host (ProxyJump a,b,...). */
#define SSH_MAX_JUMPS 8

/* Raise this process's soft limit of open files to its hard limit: every
 * host holds fds at once (its `ssh -G`'s pipe, then a socket and a timer,
 * three more per jump host), and the usual soft limit of 1024 would fail
 * hosts past a few hundred with "Too many open files". */
void ssh_raise_fd_limit(void);

/* Free what o holds (with its jump hosts) and zero it. */
void ssh_options_release(struct ssh_options *o);

/* A transport that connects as o says (copied) and runs command (e.g. "sh")
 * on the target. accept_new also records unknown host keys; setup_timeout_ms
 * bounds everything up to the running shell, counted from since_ms (the
 * loop_now_ms clock: a run's start, the same for all its hosts; < 0: from
 * the transport's start). Nothing happens before start. */
struct transport *ssh_transport_new(const struct ssh_options *o, const char *command,
                                    int accept_new, int setup_timeout_ms, int64_t since_ms);

#endif
