/* The SSH connection's setup: a state machine per host (setup slot, TCP
 * connect with backoff, handshake and host key, authentication in
 * hosts/ssh_auth.c, channel, exec), advanced whenever the transport is read
 * or written, so nothing blocks and no thread waits.
 *
 * A host behind jump hosts holds the chain: each jump host is a struct ssh
 * of its own (no command: its channel is a direct-tcpip tunnel to the next
 * host), advanced and polled by the host it carries, whose session talks to
 * a socketpair that a relay empties into the tunnel (hosts/ssh_relay.h). */

#define _GNU_SOURCE

#include "hosts/ssh_internal.h"

#include "hosts/known_hosts.h"
#include "hosts/loop.h"
#include "hosts/ssh_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000

static int libssh2_ready;

/* Setup slots are counted per address connected to (a jump host's or a
 * host's own): MaxStartups is a limit of each sshd, and a host that is down
 * must not keep the others waiting. A connection waiting for its retry
 * holds none. */
struct endpoint {
    char *key;  /* "hostname port" */
    int held;   /* slots held */
    int freed;  /* eventfd: a slot was given back; -1 until someone waits */
};
static struct endpoint *endpoints;
static size_t nendpoints, endpoints_cap;

/* The endpoint of the address s connects to (s connects itself: no via). */
static size_t endpoint_of(const struct ssh *s)
{
    char *key = xasprintf("%s %d", s->o.hostname, s->o.port);
    for (size_t i = 0; i < nendpoints; i++) {
        if (strcmp(endpoints[i].key, key) == 0) {
            free(key);
            return i;
        }
    }
    xgrow(&endpoints, &endpoints_cap, nendpoints + 1, sizeof *endpoints);
    endpoints[nendpoints] = (struct endpoint){.key = key, .held = 0, .freed = -1};
    return nendpoints++;
}

void ssh_release_slot(struct ssh *s)
{
    if (!s->holds_slot)
        return;
    s->holds_slot = 0;
    struct endpoint *e = &endpoints[s->endpoint];
    e->held--;
    uint64_t one = 1;
    if (e->freed >= 0 && write(e->freed, &one, sizeof one) < 0) {
        /* The counter is full: it is readable, which is all it is for. */
    }
}

/* Take a slot at s's address: 1, or 0 when all are held (s then waits for
 * ssh_slot_fd; it is drained only here, when no slot is free, so a slot
 * given back later always wakes the waiters). */
static int take_slot(struct ssh *s)
{
    struct endpoint *e = &endpoints[s->endpoint];
    if (e->held >= SSH_MAX_SETUPS) {
        s->waited = 1;
        if (e->freed < 0)
            e->freed = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        uint64_t n;
        while (e->freed >= 0 && read(e->freed, &n, sizeof n) > 0)
            ;
        return 0;
    }
    e->held++;
    s->holds_slot = 1;
    return 1;
}

int ssh_slot_fd(const struct ssh *s)
{
    return s->step == STEP_QUEUED ? endpoints[s->endpoint].freed : -1;
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

void ssh_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void ssh_fail(struct ssh *s, char *message)
{
    if (s->step == STEP_FAILED) {
        free(message);
        return;
    }
    s->step = STEP_FAILED;
    s->error = message;
    ssh_release_slot(s);
}

/* A failure of the jump host (or its tunnel) is this host's failure. */
static void fail_via(struct ssh *s, const char *why)
{
    ssh_fail(s, xasprintf("through jump host '%s': %s", s->via->o.alias, why));
}

const char *ssh_last_error(struct ssh *s)
{
    char *msg = NULL;
    if (!s->session || libssh2_session_last_error(s->session, &msg, NULL, 0) == 0 || !msg)
        return "unknown error";
    return msg;
}

int ssh_would_block(struct ssh *s)
{
    return libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_EAGAIN;
}

/* Wake the loop in ms milliseconds (0: disarm; < 0: right away). */
void ssh_arm(struct ssh *s, int64_t ms)
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

void ssh_drain_timer(struct ssh *s)
{
    uint64_t n;
    while (read(s->timer, &n, sizeof n) > 0)
        ;
}

char *ssh_where(const struct ssh *s)
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
        ssh_fail(s, xasprintf("cannot resolve '%s': %s", s->o.hostname, gai_strerror(rc)));
        return -1;
    }
    return 0;
}

/* Refused: wait for the retry without a slot, so that the hosts behind
 * this address are not kept waiting by one that is down. */
static void back_off(struct ssh *s, int64_t now)
{
    s->refused = 1;
    s->step = STEP_BACKOFF;
    s->retry_at = now + s->backoff_ms;
    ssh_release_slot(s);
}

static void start_attempt(struct ssh *s)
{
    int64_t now = loop_now_ms();
    ssh_close_fd(&s->fd);
    s->refused = 0;
    int refused = 0, last = 0;
    for (struct addrinfo *a = s->addrs; a; a = a->ai_next) {
        int fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
            s->fd = fd;
            break;
        }
        last = errno;
        close(fd);
        if (last == ECONNREFUSED)
            refused = 1;
    }
    if (s->fd < 0 && refused) {
        back_off(s, now);
        return;
    }
    if (s->fd < 0) {
        char *w = ssh_where(s);
        ssh_fail(s, xasprintf("cannot connect to %s: %s", w, strerror(last)));
        free(w);
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
        ssh_fail(s, xstrdup("cannot create an ssh session (libssh2)"));
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
            char *w = ssh_where(s);
            ssh_fail(s, xasprintf("connection to %s timed out after %g s (ConnectTimeout)", w,
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
    ssh_close_fd(&s->fd);
    if (e == ECONNREFUSED) {
        back_off(s, now);
        return;
    }
    char *w = ssh_where(s);
    ssh_fail(s, xasprintf("cannot connect to %s: %s", w, strerror(e)));
    free(w);
}

static void step_handshake(struct ssh *s)
{
    int rc = libssh2_session_handshake(s->session, s->fd);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc != 0) {
        char *w = ssh_where(s);
        ssh_fail(s, xasprintf("ssh handshake with %s failed: %s", w, ssh_last_error(s)));
        free(w);
        return;
    }
    char *err = NULL;
    if (known_hosts_check(s->session, (const char *const *)s->o.known_hosts_files,
                          s->o.nknown_hosts_files, s->o.hostname, s->o.port, s->accept_new,
                          &err) < 0) {
        ssh_fail(s, err);
        return;
    }
    s->step = STEP_AUTH_LIST;
}

/* A jump host's channel is a tunnel to the next host, as `ssh -W` opens. */
static void step_tunnel(struct ssh *s)
{
    s->channel =
        libssh2_channel_direct_tcpip_ex(s->session, s->tunnel_host, s->tunnel_port, "127.0.0.1", 0);
    if (s->channel) {
        s->step = STEP_READY;
        ssh_release_slot(s); /* authenticated: no longer one of sshd's MaxStartups */
        ssh_arm(s, 0);
        return;
    }
    if (ssh_would_block(s))
        return;
    ssh_fail(s, xasprintf("cannot open a tunnel to '%s' port %d: %s", s->tunnel_host,
                          s->tunnel_port, ssh_last_error(s)));
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
    if (ssh_would_block(s))
        return;
    char *w = ssh_where(s);
    ssh_fail(s, xasprintf("cannot open a channel to %s: %s", w, ssh_last_error(s)));
    free(w);
}

static void step_exec(struct ssh *s)
{
    int rc = libssh2_channel_exec(s->channel, s->command);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc != 0) {
        char *w = ssh_where(s);
        ssh_fail(s, xasprintf("cannot run '%s' on %s: %s", s->command, w, ssh_last_error(s)));
        free(w);
        return;
    }
    s->step = STEP_READY;
    ssh_release_slot(s);
    ssh_arm(s, 0);
}

static void check_setup_deadline(struct ssh *s, int64_t now)
{
    if (s->step >= STEP_READY || s->step == STEP_NEW || now < s->deadline)
        return;
    double secs = s->setup_timeout_ms / 1000.0;
    char *w = ssh_where(s);
    if ((s->step == STEP_BACKOFF || s->step == STEP_QUEUED) && s->refused)
        ssh_fail(s, xasprintf("connection refused by %s (retried for %g s)", w, secs));
    else if (s->step == STEP_QUEUED && s->waited)
        ssh_fail(s, xasprintf("connection to %s timed out after %g s (waiting behind %d "
                              "other connections to it being set up)",
                              w, secs, SSH_MAX_SETUPS));
    else if (s->step <= STEP_VIA)
        ssh_fail(s, xasprintf("connection to %s timed out after %g s", w, secs));
    else
        ssh_fail(s, xasprintf("%s with %s timed out after %g s", step_name(s->step), w, secs));
    free(w);
}

/* Advance the jump host and move the bytes between it and this connection:
 * 0, or -1 with *err when the jump host or its tunnel failed. */
static int pump_via(struct ssh *s, char **err)
{
    if (!s->relay)
        return 0;
    ssh_drain_timer(s->via);
    ssh_advance(s->via);
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

void ssh_advance_via(struct ssh *s)
{
    if (s->step == STEP_FAILED || s->step == STEP_KILLED)
        return;
    char *err = NULL;
    if (pump_via(s, &err) < 0)
        fail_via(s, err);
    free(err);
}

/* Move what is left on its way, whatever this connection's state. */
void ssh_flush_via(struct ssh *s)
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
        /* Past its deadline a connection starts nothing more, and one that
         * waited for a turn says so rather than time out in the step the
         * turn would start. One that never tried tries once: its deadline
         * counts from the run's start, which `ssh -G` may have used up. */
        if (s->step != STEP_QUEUED || s->waited || s->refused)
            check_setup_deadline(s, now);
        switch (s->step) {
        case STEP_QUEUED:
            if (take_slot(s) && (s->addrs || resolve(s) == 0))
                start_attempt(s);
            break;
        case STEP_VIA:
            if (s->via->step == STEP_READY)
                connected(s);
            break;
        case STEP_BACKOFF:
            if (now >= s->retry_at) {
                s->backoff_ms =
                    s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
                s->step = STEP_QUEUED; /* a slot again, for the attempt */
            }
            break;
        case STEP_CONNECT:
            step_connect(s, now);
            break;
        case STEP_HANDSHAKE:
            step_handshake(s);
            break;
        case STEP_AUTH_LIST:
            ssh_auth_list(s);
            break;
        case STEP_AUTH_AGENT:
            ssh_auth_agent(s);
            break;
        case STEP_AUTH_KEY:
            ssh_auth_key(s);
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
        ssh_advance_via(s);
    }
}

void ssh_advance(struct ssh *s)
{
    ssh_advance_via(s);
    advance_steps(s);
    ssh_advance_via(s);
}

/* Begin the setup of s and its jump hosts, all bounded by deadline: the
 * connection that connects itself (s, or its first jump host) waits for a
 * slot at its address. -1 when it failed. */
static int begin(struct ssh *s, int64_t deadline)
{
    if (s->timer < 0 &&
        (s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0) {
        ssh_fail(s, xasprintf("cannot create a timer: %s", strerror(errno)));
        return -1;
    }
    s->deadline = deadline;
    s->backoff_ms = BACKOFF_FIRST_MS;
    if (!s->via) {
        s->endpoint = endpoint_of(s);
        s->step = STEP_QUEUED;
        return 0;
    }
    if (begin(s->via, deadline) < 0) {
        fail_via(s, s->via->error);
        return -1;
    }
    char *err = NULL;
    s->relay = xmalloc(sizeof *s->relay);
    if (ssh_relay_open(s->relay, &s->fd, &err) < 0) {
        ssh_fail(s, err);
        return -1;
    }
    s->step = STEP_VIA;
    return 0;
}

void ssh_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int ssh_setup_start(struct ssh *s, char **err)
{
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
        ssh_raise_fd_limit();
    }
    /* From the run's start, the same for every host: time spent waiting for
     * a slot (or for `ssh -G`) is part of it. */
    int64_t since = s->since_ms >= 0 ? s->since_ms : loop_now_ms();
    if (begin(s, since + s->setup_timeout_ms) < 0) {
        *err = xstrdup(s->error);
        return -1;
    }
    ssh_advance(s);
    if (s->step == STEP_FAILED) {
        *err = xstrdup(s->error);
        return -1;
    }
    return 0;
}
