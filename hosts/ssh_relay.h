#ifndef BATOU_SSH_RELAY_H
#define BATOU_SSH_RELAY_H

/* A relay carries one SSH connection through another (ProxyJump): the inner
 * libssh2 session talks to one end of a socketpair as if it were the TCP
 * socket; the relay moves bytes between the other end and a direct-tcpip
 * channel of the jump host's session. Everything is non-blocking: pump moves
 * what it can and returns, and the poll loop wakes it again (hosts/ssh.c). */

#include <libssh2.h>
#include <stddef.h>

#define SSH_RELAY_CHUNK 32768

struct ssh_relay {
    int fd;                   /* our end of the socketpair; -1 when closed */
    char up[SSH_RELAY_CHUNK]; /* from the inner session, not yet in the channel */
    size_t up_off, up_len;
    char down[SSH_RELAY_CHUNK]; /* from the channel, not yet in the socketpair */
    size_t down_off, down_len;
    int up_eof;   /* the inner session closed its end */
    int down_eof; /* the channel ended: the inner session was told */
};

/* Make the socketpair: *inner_fd is the end for the inner session (the
 * caller owns and closes it). 0, or -1 with *err (allocated). */
int ssh_relay_open(struct ssh_relay *r, int *inner_fd, char **err);
/* Move bytes both ways between r and channel (of session) until either side
 * would block. 0, or -1 with *err (allocated) when the channel failed. */
int ssh_relay_pump(struct ssh_relay *r, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *channel,
                   char **err);
/* The poll events the relay's fd waits for. */
short ssh_relay_events(const struct ssh_relay *r);
/* Whether bytes wait for the channel to take them (the jump host's socket
 * must then be polled for writing). */
int ssh_relay_wants_channel(const struct ssh_relay *r);
/* Close our end. Idempotent. */
void ssh_relay_release(struct ssh_relay *r);

#endif
