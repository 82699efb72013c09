/* The SSH transport: a state machine per host (connect, handshake, host key,
 * authentication, channel, exec), advanced whenever the session reads or
 * writes, so nothing blocks and no thread waits. poll_fds names the socket
 * with the directions libssh2 waits for, plus a timerfd that wakes the loop
 * for a retry, a deadline, or bytes libssh2 already holds in its buffers.
 *
 * A host behind jump hosts holds the chain: each jump host is a struct ssh
 * of its own (no command: its channel is a direct-tcpip tunnel to the next
 * host), advanced and polled by the host it carries, whose session talks to
 * a socketpair that a relay empties into the tunnel (hosts/ssh_relay.h). */

#define _GNU_SOURCE

#include "hosts/ssh.h"

#include "engine/util.h"
#include "hosts/known_hosts.h"
#include "hosts/loop.h"
#include "hosts/ssh_relay.h"
#include "hosts/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
#define REAP_WAIT_MS 2000
#define FREE_WAIT_MS 500

enum ssh_step {
    STEP_NEW,
    STEP_QUEUED,  /* waiting for one of the SSH_MAX_SETUPS setup slots */
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
    int holds_slot;          /* one of the SSH_MAX_SETUPS */
    int accept_new;
    int setup_timeout_ms;
    enum ssh_step step;
    char *error; /* why it failed (STEP_FAILED) */
    char desc[160];

    struct addrinfo *addrs;
    int fd;
    int timer;                /* timerfd */
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
    LIBSSH2_CHANNEL *channel;
    int eof_pending; /* close_write asked, send_eof not done yet */
    int eof_sent;
    int reaped;
    int code;
};

static int libssh2_ready;
static int setups;          /* slots held */
static int slot_freed = -1; /* eventfd: a slot was given back */

static void release_slot(struct ssh *s)
{
    if (!s->holds_slot)
        return;
    s->holds_slot = 0;
    setups--;
    uint64_t one = 1;
    if (write(slot_freed, &one, sizeof one) < 0) {
        /* The counter is full: it is readable, which is all it is for. */
    }
}

static int take_slot(struct ssh *s)
{
    if (setups >= SSH_MAX_SETUPS) {
        uint64_t n;
        while (read(slot_freed, &n, sizeof n) > 0)
            ;
        return 0;
    }
    setups++;
    s->holds_slot = 1;
    return 1;
}

static const char *step_name(enum ssh_step s)
{
    switch (s) {
    case STEP_NEW:
    case STEP_QUEUED:
    case STEP_BACKOFF:
    case STEP_CONNECT:
    case STEP_VIA:
        return "connecting";
    case STEP_HANDSHAKE:
        return "the ssh handshake";
    case STEP_AUTH_LIST:
    case STEP_AUTH_AGENT:
    case STEP_AUTH_KEY:
        return "authentication";
    default:
        return "opening the shell channel";
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void fail(struct ssh *s, char *message)
{
    if (s->step == STEP_FAILED) {
        free(message);
        return;
    }
    s->step = STEP_FAILED;
    s->error = message;
    release_slot(s);
}

/* A failure of the jump host (or its tunnel) is this host's failure. */
static void fail_via(struct ssh *s, const char *why)
{
    fail(s, xasprintf("through jump host '%s': %s", s->via->o.alias, why));
}

static const char *last_error(struct ssh *s)
{
    char *msg = NULL;
    if (!s->session || libssh2_session_last_error(s->session, &msg, NULL, 0) == 0 || !msg)
        return "unknown error";
    return msg;
}

static int would_block(struct ssh *s)
{
    return libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_EAGAIN;
}

/* Wake the loop in ms milliseconds (0: disarm; < 0: right away). */
static void arm(struct ssh *s, int64_t ms)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (ms < 0)
        its.it_value.tv_nsec = 1;
    else if (ms > 0) {
        its.it_value.tv_sec = ms / 1000;
        its.it_value.tv_nsec = (ms % 1000) * 1000000;
    }
    timerfd_settime(s->timer, 0, &its, NULL);
}

static void drain_timer(struct ssh *s)
{
    uint64_t n;
    while (read(s->timer, &n, sizeof n) > 0)
        ;
}

static char *where(const struct ssh *s)
{
    return xasprintf("'%s' port %d", s->o.hostname, s->o.port);
}

static int resolve(struct ssh *s)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof port, "%d", s->o.port);
    /* Blocking, but /etc/hosts and a local resolver answer in microseconds;
     * an asynchronous resolver is a later refinement. */
    int rc = getaddrinfo(s->o.hostname, port, &hints, &s->addrs);
    if (rc != 0) {
        fail(s, xasprintf("cannot resolve '%s': %s", s->o.hostname, gai_strerror(rc)));
        return -1;
    }
    return 0;
}

static void start_attempt(struct ssh *s)
{
    int64_t now = loop_now_ms();
    close_fd(&s->fd);
    s->refused = 0;
    for (struct addrinfo *a = s->addrs; a; a = a->ai_next) {
        int fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            s->fd = fd;
            break;
        }
        int e = errno;
        close(fd);
        if (e == ECONNREFUSED)
            s->refused = 1;
    }
    if (s->fd < 0 && !s->refused) {
        char *w = where(s);
        fail(s, xasprintf("cannot connect to %s: %s", w, strerror(errno)));
        free(w);
        return;
    }
    if (s->fd < 0) {
        s->step = STEP_BACKOFF;
        s->retry_at = now + s->backoff_ms;
        return;
    }
    s->step = STEP_CONNECT;
    s->attempt_deadline = s->o.connect_timeout_ms > 0 ? now + s->o.connect_timeout_ms : -1;
}

/* OpenSSH's order of host key types, so the key recorded by ssh matches;
 * only the ones this libssh2 supports (1.10 overlaps memcpy when it drops
 * an unsupported name). */
static void set_hostkey_order(LIBSSH2_SESSION *session)
{
    static const char *const order[] = {"ssh-ed25519",
                                        "ecdsa-sha2-nistp256",
                                        "ecdsa-sha2-nistp384",
                                        "ecdsa-sha2-nistp521",
                                        "rsa-sha2-512",
                                        "rsa-sha2-256",
                                        "ssh-rsa"};
    const char **algs = NULL;
    int n = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs);
    if (n <= 0)
        return;
    struct buf pref;
    buf_init(&pref);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        for (int k = 0; k < n; k++) {
            if (strcmp(order[i], algs[k]) != 0)
                continue;
            if (pref.len)
                buf_addc(&pref, ',');
            buf_adds(&pref, order[i]);
        }
    }
    if (pref.len)
        libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, pref.data);
    buf_release(&pref);
    libssh2_free(session, (void *)algs);
}

static void connected(struct ssh *s)
{
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->session = libssh2_session_init();
    if (!s->session) {
        fail(s, xstrdup("cannot create an ssh session (libssh2)"));
        return;
    }
    libssh2_session_set_blocking(s->session, 0);
    set_hostkey_order(s->session);
    s->step = STEP_HANDSHAKE;
}

/* The TCP connect: done, refused (retry after a pause), or still going. */
static void step_connect(struct ssh *s, int64_t now)
{
    struct pollfd p = {.fd = s->fd, .events = POLLOUT};
    if (poll(&p, 1, 0) <= 0) {
        if (s->attempt_deadline >= 0 && now >= s->attempt_deadline) {
            char *w = where(s);
            fail(s, xasprintf("connection to %s timed out after %g s (ConnectTimeout)", w,
                              s->o.connect_timeout_ms / 1000.0));
            free(w);
        }
        return;
    }
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    if (e == 0) {
        connected(s);
        return;
    }
    close_fd(&s->fd);
    if (e == ECONNREFUSED) {
        s->refused = 1;
        s->step = STEP_BACKOFF;
        s->retry_at = now + s->backoff_ms;
        return;
    }
    char *w = where(s);
    fail(s, xasprintf("cannot connect to %s: %s", w, strerror(e)));
    free(w);
}

static void step_handshake(struct ssh *s)
{
    int rc = libssh2_session_handshake(s->session, s->fd);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc != 0) {
        char *w = where(s);
        fail(s, xasprintf("ssh handshake with %s failed: %s", w, last_error(s)));
        free(w);
        return;
    }
    char *err = NULL;
    if (known_hosts_check(s->session, (const char *const *)s->o.known_hosts_files,
                          s->o.nknown_hosts_files, s->o.hostname, s->o.port, s->accept_new,
                          &err) < 0) {
        fail(s, err);
        return;
    }
    s->step = STEP_AUTH_LIST;
}

static void tried(struct ssh *s, const char *what)
{
    if (s->tried.len)
        buf_adds(&s->tried, ", ");
    buf_adds(&s->tried, what);
}

static void fail_auth(struct ssh *s)
{
    char *w = where(s);
    fail(s, xasprintf("authentication failed for user '%s' at %s (tried: %s)", s->o.user, w,
                      s->tried.len ? s->tried.data : "no key: no agent, no identity file"));
    free(w);
}

/* The next identity file that exists, or none: authentication failed. */
static void next_key(struct ssh *s)
{
    while (s->key_index < s->o.nidentity_files) {
        struct stat st;
        if (stat(s->o.identity_files[s->key_index], &st) == 0 && S_ISREG(st.st_mode)) {
            s->step = STEP_AUTH_KEY;
            return;
        }
        s->key_index++;
    }
    fail_auth(s);
}

static void start_agent(struct ssh *s)
{
    if (s->o.identities_only || !getenv("SSH_AUTH_SOCK")) {
        next_key(s);
        return;
    }
    s->agent = libssh2_agent_init(s->session);
    /* The agent is a local socket: connecting and listing are immediate. */
    if (!s->agent || libssh2_agent_connect(s->agent) != 0 ||
        libssh2_agent_list_identities(s->agent) != 0) {
        next_key(s);
        return;
    }
    tried(s, "ssh-agent");
    s->identity = NULL;
    if (libssh2_agent_get_identity(s->agent, &s->identity, NULL) != 0) {
        next_key(s);
        return;
    }
    s->step = STEP_AUTH_AGENT;
}

static void step_auth_list(struct ssh *s)
{
    const char *list =
        libssh2_userauth_list(s->session, s->o.user, (unsigned int)strlen(s->o.user));
    if (!list) {
        if (libssh2_userauth_authenticated(s->session)) {
            s->step = STEP_CHANNEL;
            return;
        }
        if (would_block(s))
            return;
        char *w = where(s);
        fail(s, xasprintf("cannot ask %s how to authenticate: %s", w, last_error(s)));
        free(w);
        return;
    }
    if (!strstr(list, "publickey")) {
        char *w = where(s);
        fail(s, xasprintf("authentication failed for user '%s' at %s: the server does not "
                          "accept public keys (only %s)",
                          s->o.user, w, list));
        free(w);
        return;
    }
    start_agent(s);
}

static void step_auth_agent(struct ssh *s)
{
    int rc = libssh2_agent_userauth(s->agent, s->o.user, s->identity);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc == 0) {
        s->step = STEP_CHANNEL;
        return;
    }
    struct libssh2_agent_publickey *prev = s->identity;
    if (libssh2_agent_get_identity(s->agent, &s->identity, prev) != 0)
        next_key(s);
}

static void step_auth_key(struct ssh *s)
{
    const char *key = s->o.identity_files[s->key_index];
    int rc = libssh2_userauth_publickey_fromfile_ex(s->session, s->o.user,
                                                    (unsigned int)strlen(s->o.user), NULL, key, "");
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc == 0) {
        s->step = STEP_CHANNEL;
        return;
    }
    tried(s, key);
    s->key_index++;
    next_key(s);
}

/* A jump host's channel is a tunnel to the next host, as `ssh -W` opens. */
static void step_tunnel(struct ssh *s)
{
    s->channel =
        libssh2_channel_direct_tcpip_ex(s->session, s->tunnel_host, s->tunnel_port, "127.0.0.1", 0);
    if (s->channel) {
        s->step = STEP_READY;
        arm(s, 0);
        return;
    }
    if (would_block(s))
        return;
    fail(s, xasprintf("cannot open a tunnel to '%s' port %d: %s", s->tunnel_host, s->tunnel_port,
                      last_error(s)));
}

static void step_channel(struct ssh *s)
{
    if (!s->command) {
        step_tunnel(s);
        return;
    }
    s->channel = libssh2_channel_open_session(s->session);
    if (s->channel) {
        s->step = STEP_EXEC;
        return;
    }
    if (would_block(s))
        return;
    char *w = where(s);
    fail(s, xasprintf("cannot open a channel to %s: %s", w, last_error(s)));
    free(w);
}

static void step_exec(struct ssh *s)
{
    int rc = libssh2_channel_exec(s->channel, s->command);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc != 0) {
        char *w = where(s);
        fail(s, xasprintf("cannot run '%s' on %s: %s", s->command, w, last_error(s)));
        free(w);
        return;
    }
    s->step = STEP_READY;
    release_slot(s);
    arm(s, 0);
}

static void check_setup_deadline(struct ssh *s, int64_t now)
{
    if (s->step >= STEP_READY || s->step == STEP_QUEUED || now < s->deadline)
        return;
    double secs = s->setup_timeout_ms / 1000.0;
    char *w = where(s);
    if (s->step == STEP_BACKOFF && s->refused)
        fail(s, xasprintf("connection refused by %s (retried for %g s)", w, secs));
    else if (s->step <= STEP_VIA)
        fail(s, xasprintf("connection to %s timed out after %g s", w, secs));
    else
        fail(s, xasprintf("%s with %s timed out after %g s", step_name(s->step), w, secs));
    free(w);
}

static int open_connection(struct ssh *s);
static void advance(struct ssh *s);

/* Advance the jump host and move the bytes between it and this connection:
 * 0, or -1 with *err when the jump host or its tunnel failed. */
static int pump_via(struct ssh *s, char **err)
{
    if (!s->relay)
        return 0;
    drain_timer(s->via);
    advance(s->via);
    if (s->via->step == STEP_FAILED) {
        *err = xstrdup(s->via->error);
        return -1;
    }
    if (s->via->step != STEP_READY)
        return 0;
    if (ssh_relay_pump(s->relay, s->via->session, s->via->channel, err) < 0)
        return -1;
    s->via->tunnel_full = s->relay->down_off < s->relay->down_len;
    return 0;
}

static void advance_via(struct ssh *s)
{
    if (s->step == STEP_FAILED || s->step == STEP_KILLED)
        return;
    char *err = NULL;
    if (pump_via(s, &err) < 0)
        fail_via(s, err);
    free(err);
}

/* Move what is left on its way, whatever this connection's state. */
static void flush_via(struct ssh *s)
{
    char *err = NULL;
    pump_via(s, &err);
    free(err);
}

/* Advance the setup as far as it goes without blocking. */
static void advance_steps(struct ssh *s)
{
    for (;;) {
        enum ssh_step before = s->step;
        int64_t now = loop_now_ms();
        switch (s->step) {
        case STEP_QUEUED:
            if (take_slot(s))
                open_connection(s);
            break;
        case STEP_VIA:
            if (s->via->step == STEP_READY)
                connected(s);
            break;
        case STEP_BACKOFF:
            if (now >= s->retry_at) {
                s->backoff_ms =
                    s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
                start_attempt(s);
            }
            break;
        case STEP_CONNECT:
            step_connect(s, now);
            break;
        case STEP_HANDSHAKE:
            step_handshake(s);
            break;
        case STEP_AUTH_LIST:
            step_auth_list(s);
            break;
        case STEP_AUTH_AGENT:
            step_auth_agent(s);
            break;
        case STEP_AUTH_KEY:
            step_auth_key(s);
            break;
        case STEP_CHANNEL:
            step_channel(s);
            break;
        case STEP_EXEC:
            step_exec(s);
            break;
        default:
            return;
        }
        check_setup_deadline(s, loop_now_ms());
        if (s->step == before)
            return;
        advance_via(s);
    }
}

static void advance(struct ssh *s)
{
    advance_via(s);
    advance_steps(s);
    advance_via(s);
}

/* Begin the setup, through the jump host if there is one: -1 when it failed. */
static int open_connection(struct ssh *s)
{
    if (s->timer < 0 &&
        (s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
        fail(s, xasprintf("cannot create a timer: %s", strerror(errno)));
        return -1;
    }
    s->deadline = loop_now_ms() + s->setup_timeout_ms;
    s->backoff_ms = BACKOFF_FIRST_MS;
    if (!s->via) {
        if (resolve(s) < 0)
            return -1;
        start_attempt(s);
        return s->step == STEP_FAILED ? -1 : 0;
    }
    if (open_connection(s->via) < 0) {
        fail_via(s, s->via->error);
        return -1;
    }
    char *err = NULL;
    s->relay = xmalloc(sizeof *s->relay);
    if (ssh_relay_open(s->relay, &s->fd, &err) < 0) {
        fail(s, err);
        return -1;
    }
    s->step = STEP_VIA;
    return 0;
}

static int ssh_start(struct transport *t, char **err)
{
    struct ssh *s = (struct ssh *)t;
    if (s->step != STEP_NEW) {
        *err = xstrdup("the ssh connection was already started");
        return -1;
    }
    if (!libssh2_ready) {
        if (libssh2_init(0) != 0) {
            *err = xstrdup("cannot initialise libssh2");
            return -1;
        }
        libssh2_ready = 1;
    }
    if (slot_freed < 0 && (slot_freed = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        *err = xasprintf("cannot create an eventfd: %s", strerror(errno));
        return -1;
    }
    s->step = STEP_QUEUED;
    advance(s);
    if (s->step == STEP_FAILED) {
        *err = xstrdup(s->error);
        return -1;
    }
    return 0;
}

/* The error for read and write once the connection is gone. */
static int failed(struct ssh *s, char **err)
{
    if (s->step == STEP_FAILED) {
        *err = xstrdup(s->error);
        return 1;
    }
    if (s->step == STEP_KILLED) {
        *err = xstrdup("the ssh connection was closed");
        return 1;
    }
    return 0;
}

static void lost(struct ssh *s, int rc)
{
    char *w = where(s);
    if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
        rc == LIBSSH2_ERROR_SOCKET_SEND)
        fail(s, xasprintf("connection to %s lost", w));
    else
        fail(s, xasprintf("connection to %s lost: %s", w, last_error(s)));
    free(w);
}

static void send_eof(struct ssh *s)
{
    if (!s->eof_pending || s->eof_sent || s->step != STEP_READY)
        return;
    int rc = libssh2_channel_send_eof(s->channel);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    s->eof_sent = 1;
    if (rc != 0)
        lost(s, rc);
}

static int ssh_poll_fds(struct transport *t, int want_write, struct pollfd *fds, int max);

/* The jump host's fds, and the relay's once its tunnel is open. */
static int via_poll_fds(struct ssh *s, struct pollfd *fds, int max)
{
    if (!s->via || s->step == STEP_QUEUED)
        return 0;
    int n = ssh_poll_fds(&s->via->base, ssh_relay_wants_channel(s->relay), fds, max - 3);
    if (s->via->step != STEP_READY)
        return n;
    short events = ssh_relay_events(s->relay);
    if (events)
        fds[n++] = (struct pollfd){.fd = s->relay->fd, .events = events};
    return n;
}

/* Bytes (or an end) that libssh2 already holds would never make a socket
 * readable: once libssh2 has read them while doing something else (a
 * write), the loop must be woken for them. */
static int held(struct ssh *s)
{
    if (s->via && s->via->step == STEP_READY && !s->relay->down_eof &&
        libssh2_channel_eof(s->via->channel))
        return 1;
    if (s->step != STEP_READY)
        return 0;
    if (!s->command) /* a tunnel: its host takes the bytes, when it can */
        return libssh2_poll_channel_read(s->channel, 0) && !s->tunnel_full;
    return libssh2_poll_channel_read(s->channel, 0) || libssh2_poll_channel_read(s->channel, 1) ||
           libssh2_channel_eof(s->channel);
}

static int ssh_poll_fds(struct transport *t, int want_write, struct pollfd *fds, int max)
{
    struct ssh *s = (struct ssh *)t;
    if (s->step == STEP_FAILED || s->step == STEP_KILLED || s->step == STEP_NEW || max < 2)
        return 0;
    if (s->step == STEP_QUEUED) {
        fds[0] = (struct pollfd){.fd = slot_freed, .events = POLLIN};
        return 1;
    }
    int n = via_poll_fds(s, fds, max);
    if (held(s)) {
        arm(s, -1);
    } else if (s->step < STEP_READY) {
        /* Wake for the retry or the deadline, whichever comes first. */
        int64_t now = loop_now_ms();
        int64_t at = s->deadline;
        if (s->step == STEP_BACKOFF && s->retry_at < at)
            at = s->retry_at;
        if (s->step == STEP_CONNECT && s->attempt_deadline >= 0 && s->attempt_deadline < at)
            at = s->attempt_deadline;
        arm(s, at > now ? at - now : -1);
    } else {
        arm(s, 0);
    }
    fds[n++] = (struct pollfd){.fd = s->timer, .events = POLLIN};
    if (s->step == STEP_READY)
        send_eof(s);
    if (s->step == STEP_CONNECT)
        fds[n++] = (struct pollfd){.fd = s->fd, .events = POLLOUT};
    if (s->step == STEP_BACKOFF || s->step == STEP_CONNECT || s->step == STEP_VIA)
        return n;
    short events = POLLIN;
    int dirs = libssh2_session_block_directions(s->session);
    if ((dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) || (want_write && s->step == STEP_READY) ||
        (s->eof_pending && !s->eof_sent))
        events |= POLLOUT;
    fds[n++] = (struct pollfd){.fd = s->fd, .events = events};
    return n;
}

static ssize_t ssh_read(struct transport *t, enum transport_stream stream, void *buf, size_t len,
                        char **err)
{
    struct ssh *s = (struct ssh *)t;
    drain_timer(s);
    advance(s);
    if (failed(s, err))
        return TRANSPORT_ERROR;
    if (s->step != STEP_READY)
        return TRANSPORT_AGAIN;
    send_eof(s);
    ssize_t n = libssh2_channel_read_ex(s->channel, stream == TRANSPORT_STDOUT ? 0 : 1, buf, len);
    if (n > 0)
        return n;
    if (n == LIBSSH2_ERROR_EAGAIN || (n == 0 && !libssh2_channel_eof(s->channel)))
        return TRANSPORT_AGAIN;
    if (n == 0)
        return 0;
    lost(s, (int)n);
    *err = xstrdup(s->error);
    return TRANSPORT_ERROR;
}

static ssize_t ssh_write(struct transport *t, const void *buf, size_t len, char **err)
{
    struct ssh *s = (struct ssh *)t;
    advance(s);
    if (failed(s, err))
        return TRANSPORT_ERROR;
    if (s->step != STEP_READY)
        return TRANSPORT_AGAIN;
    if (s->eof_pending) {
        *err = xstrdup("the shell's stdin is closed");
        return TRANSPORT_ERROR;
    }
    ssize_t n = libssh2_channel_write(s->channel, buf, len);
    if (n > 0) {
        advance_via(s); /* on its way now, not at the next wake */
        return n;
    }
    if (n == 0 || n == LIBSSH2_ERROR_EAGAIN)
        return TRANSPORT_AGAIN;
    lost(s, (int)n);
    *err = xstrdup(s->error);
    return TRANSPORT_ERROR;
}

static void ssh_close_write(struct transport *t)
{
    struct ssh *s = (struct ssh *)t;
    s->eof_pending = 1;
    send_eof(s);
}

/* Wait (bounded) until the socket can move what libssh2 waits for. */
static void wait_socket(struct ssh *s, int ms)
{
    if (s->via) {
        struct pollfd fds[2 + 3 * SSH_MAX_JUMPS];
        int n = via_poll_fds(s, fds, (int)(sizeof fds / sizeof fds[0]));
        poll(fds, (nfds_t)n, ms);
        flush_via(s);
        return;
    }
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (libssh2_session_block_directions(s->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND)
        p.events |= POLLOUT;
    poll(&p, 1, ms);
}

static int signal_number(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
                 {"PIPE", SIGPIPE}, {"TERM", SIGTERM}, {"SEGV", SIGSEGV}, {"ABRT", SIGABRT}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].sig;
    return SIGTERM;
}

/* The exit status comes with the channel's close, just after the end of
 * stdout: waiting for it is a moment (the contract allows reap to wait). */
static int ssh_reap(struct transport *t, int *code)
{
    struct ssh *s = (struct ssh *)t;
    if (s->reaped) {
        *code = s->code;
        return 1;
    }
    if (s->step != STEP_READY || !libssh2_channel_eof(s->channel))
        return 0;
    int64_t until = loop_now_ms() + REAP_WAIT_MS;
    int rc;
    while ((rc = libssh2_channel_wait_closed(s->channel)) == LIBSSH2_ERROR_EAGAIN &&
           loop_now_ms() < until)
        wait_socket(s, 50);
    if (rc != 0)
        return 0;
    char *sig = NULL;
    libssh2_channel_get_exit_signal(s->channel, &sig, NULL, NULL, NULL, NULL, NULL);
    s->code = sig ? -signal_number(sig) : libssh2_channel_get_exit_status(s->channel);
    libssh2_free(s->session, sig);
    s->reaped = 1;
    *code = s->code;
    return 1;
}

/* libssh2 1.10 cannot send a signal: closing the channel makes sshd close
 * the shell's stdin and output, so it ends (its EXIT trap cleans up) at the
 * latest when it next writes. */
static void ssh_kill(struct transport *t)
{
    struct ssh *s = (struct ssh *)t;
    if (s->step == STEP_READY && s->channel) {
        libssh2_channel_close(s->channel);
        flush_via(s);
    }
    if (s->step != STEP_FAILED)
        s->step = STEP_KILLED;
    release_slot(s);
}

static const char *ssh_describe(struct transport *t)
{
    return ((struct ssh *)t)->desc;
}

/* A clean goodbye when the connection still works; bounded, never stuck. */
static void finish(struct ssh *s)
{
    if (!s->session)
        return;
    int64_t until = loop_now_ms() + FREE_WAIT_MS;
    if (s->channel && s->step == STEP_READY) {
        s->eof_pending = 1;
        while (!s->eof_sent && s->step == STEP_READY && loop_now_ms() < until) {
            send_eof(s);
            if (!s->eof_sent)
                wait_socket(s, 50);
        }
    }
    if (s->step == STEP_READY || s->step == STEP_KILLED) {
        while (libssh2_session_disconnect(s->session, "bye") == LIBSSH2_ERROR_EAGAIN &&
               loop_now_ms() < until)
            wait_socket(s, 50);
    }
}

static void ssh_free(struct transport *t)
{
    struct ssh *s = (struct ssh *)t;
    if (!s)
        return;
    finish(s);
    if (s->channel)
        libssh2_channel_free(s->channel);
    if (s->agent) {
        libssh2_agent_disconnect(s->agent);
        libssh2_agent_free(s->agent);
    }
    if (s->session)
        libssh2_session_free(s->session);
    close_fd(&s->fd);
    close_fd(&s->timer);
    if (s->relay) {
        flush_via(s); /* the inner session's goodbye */
        ssh_relay_release(s->relay);
        free(s->relay);
    }
    ssh_free(s->via ? &s->via->base : NULL);
    release_slot(s);
    if (s->addrs)
        freeaddrinfo(s->addrs);
    ssh_options_release(&s->o);
    buf_release(&s->tried);
    free(s->command);
    free(s->tunnel_host);
    free(s->error);
    free(s);
}

static const struct transport_ops ssh_ops = {
    .start = ssh_start,
    .poll_fds = ssh_poll_fds,
    .read = ssh_read,
    .write = ssh_write,
    .close_write = ssh_close_write,
    .reap = ssh_reap,
    .kill = ssh_kill,
    .describe = ssh_describe,
    .free = ssh_free,
};

static char **copy_list(char *const *list, size_t n)
{
    char **copy = xcalloc(n + 1, sizeof *copy);
    for (size_t i = 0; i < n; i++)
        copy[i] = xstrdup(list[i]);
    return copy;
}

void ssh_options_release(struct ssh_options *o)
{
    free(o->alias);
    free(o->hostname);
    free(o->user);
    for (size_t i = 0; i < o->nidentity_files; i++)
        free(o->identity_files[i]);
    free(o->identity_files);
    for (size_t i = 0; i < o->nknown_hosts_files; i++)
        free(o->known_hosts_files[i]);
    free(o->known_hosts_files);
    free(o->proxy_jump);
    free(o->proxy_command);
    if (o->via) {
        ssh_options_release(o->via);
        free(o->via);
    }
    memset(o, 0, sizeof *o);
}

/* A connection as o says, with its jump hosts; command NULL: a jump host
 * whose channel is a tunnel to tunnel_host. */
static struct ssh *ssh_new(const struct ssh_options *o, const char *command,
                           const char *tunnel_host, int tunnel_port, int accept_new,
                           int setup_timeout_ms)
{
    struct ssh *s = xcalloc(1, sizeof *s);
    s->base.ops = &ssh_ops;
    s->o.alias = xstrdup(o->alias ? o->alias : o->hostname);
    s->o.hostname = xstrdup(o->hostname);
    s->o.port = o->port > 0 ? o->port : 22;
    s->o.user = xstrdup(o->user ? o->user : "root");
    s->o.identity_files = copy_list(o->identity_files, o->nidentity_files);
    s->o.nidentity_files = o->nidentity_files;
    s->o.identities_only = o->identities_only;
    s->o.connect_timeout_ms = o->connect_timeout_ms;
    s->o.known_hosts_files = copy_list(o->known_hosts_files, o->nknown_hosts_files);
    s->o.nknown_hosts_files = o->nknown_hosts_files;
    s->accept_new = accept_new || o->accept_new;
    s->setup_timeout_ms = setup_timeout_ms > 0 ? setup_timeout_ms : 30000;
    s->command = command ? xstrdup(command) : NULL;
    s->tunnel_host = tunnel_host ? xstrdup(tunnel_host) : NULL;
    s->tunnel_port = tunnel_port;
    s->fd = s->timer = -1;
    s->step = STEP_NEW;
    buf_init(&s->tried);
    snprintf(s->desc, sizeof s->desc, "ssh %s@%s", s->o.user, s->o.alias);
    if (o->via)
        s->via = ssh_new(o->via, NULL, s->o.hostname, s->o.port, accept_new, setup_timeout_ms);
    return s;
}

struct transport *ssh_transport_new(const struct ssh_options *o, const char *command,
                                    int accept_new, int setup_timeout_ms)
{
    return &ssh_new(o, command ? command : "sh", NULL, 0, accept_new, setup_timeout_ms)->base;
}
