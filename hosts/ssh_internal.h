#ifndef BATOU_SSH_INTERNAL_H
#define BATOU_SSH_INTERNAL_H

/* The SSH transport's insides, shared by its three files: hosts/ssh.c (the
 * transport operations: poll, read, write, reap, kill, free),
 * hosts/ssh_setup.c (everything from the TCP connect to the running shell,
 * jump hosts and setup slots included) and hosts/ssh_auth.c
 * (authentication). Nothing outside them includes this. */

#include "engine/util.h"
#include "hosts/ssh.h"
#include "hosts/transport.h"

#include <libssh2.h>
#include <netdb.h>
#include <stdint.h>

struct ssh_relay;

enum ssh_step {
    STEP_NEW,
    STEP_QUEUED,  /* waiting for one of the SSH_MAX_SETUPS setup slots of its address */
    STEP_BACKOFF, /* waiting to try the TCP connect again */
    STEP_CONNECT, /* TCP connect in progress */
    STEP_VIA,     /* waiting for the jump host's tunnel */
    STEP_HANDSHAKE,
    STEP_AUTH_LIST,
    STEP_AUTH_AGENT,
    STEP_AUTH_KEY,
    STEP_CHANNEL,
    STEP_EXEC,
    STEP_READY,
    STEP_FAILED,
    STEP_KILLED,
};

struct ssh {
    struct transport base;
    struct ssh_options o;
    char *command;     /* NULL: a jump host, whose channel is a tunnel */
    char *tunnel_host; /* a jump host: where its tunnel goes */
    int tunnel_port;
    struct ssh *via;         /* the jump host this connection runs through, or NULL */
    struct ssh_relay *relay; /* with via: between our socket and via's tunnel */
    int tunnel_full;         /* a jump host: the relay cannot take more now */
    int holds_slot;          /* one of the SSH_MAX_SETUPS of its address */
    size_t endpoint;         /* that address (no via: this connection connects) */
    int waited;              /* all slots of its address were held when it asked */
    int accept_new;
    int setup_timeout_ms;
    enum ssh_step step;
    char *error; /* why it failed (STEP_FAILED) */
    char desc[160];

    struct addrinfo *addrs;
    int fd;
    int timer;                /* timerfd */
    int64_t since_ms;         /* the setup's timeout counts from then (< 0: its start) */
    int64_t deadline;         /* setup: loop_now_ms clock */
    int64_t attempt_deadline; /* this TCP attempt (ConnectTimeout) */
    int64_t retry_at;
    int backoff_ms;
    int refused; /* the last attempt was refused */

    LIBSSH2_SESSION *session;
    LIBSSH2_AGENT *agent;
    struct libssh2_agent_publickey *identity; /* the agent key being tried */
    int agent_tried;
    size_t key_index; /* the identity file being tried */
    struct buf tried; /* what authentication tried, for the message */
    int tried_rsa;    /* an RSA key was refused: say why that may be */
    LIBSSH2_CHANNEL *channel;
    int eof_pending; /* close_write asked, send_eof not done yet */
    int eof_sent;
    int reaped;
    int code;
};

/* ssh_setup.c */

/* Begin the setup (queued for a slot, then connecting). 0, or -1 with *err. */
int ssh_setup_start(struct ssh *s, char **err);
/* Advance the setup, and the jump hosts, as far as it goes without blocking. */
void ssh_advance(struct ssh *s);
/* Advance the jump host and move the bytes between it and s; a failure there fails s. */
void ssh_advance_via(struct ssh *s);
/* Move what is left on its way through the jump host, whatever s's state. */
void ssh_flush_via(struct ssh *s);
/* Give back s's setup slot, if it holds one. Idempotent. */
void ssh_release_slot(struct ssh *s);
/* Queued: the fd that becomes readable when a slot at s's address is given
 * back, or -1 (none yet: try again soon). Else -1. */
int ssh_slot_fd(const struct ssh *s);
/* Fail s with message (taken); the first failure is the one kept. */
void ssh_fail(struct ssh *s, char *message);
/* libssh2's last error message for s's session. */
const char *ssh_last_error(struct ssh *s);
/* Whether s's session's last call would have blocked. */
int ssh_would_block(struct ssh *s);
/* Wake the loop in ms milliseconds (0: disarm; < 0: right away). */
void ssh_arm(struct ssh *s, int64_t ms);
/* Read the timer's expirations, so it stops waking the loop. */
void ssh_drain_timer(struct ssh *s);
/* "'host' port N", for messages (allocated). */
char *ssh_where(const struct ssh *s);
/* Close *fd if open and set it to -1. */
void ssh_close_fd(int *fd);

/* ssh_auth.c: the steps STEP_AUTH_LIST, STEP_AUTH_AGENT and STEP_AUTH_KEY. */

/* Ask which methods the server takes, then start with the agent or a key. */
void ssh_auth_list(struct ssh *s);
/* Try the agent's current identity; on to the next one, or to the key files. */
void ssh_auth_agent(struct ssh *s);
/* Try the current identity file; on to the next one, or fail. */
void ssh_auth_key(struct ssh *s);

#endif
