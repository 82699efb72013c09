/* The SSH transport (hosts/transport.h): poll, read, write, reap, kill and
 * free over one libssh2 session per host. poll_fds names the socket with the
 * directions libssh2 waits for, plus a timerfd that wakes the loop for a
 * retry, a deadline, or bytes libssh2 already holds in its buffers; the
 * setup itself is hosts/ssh_setup.c. */

#define _GNU_SOURCE

#include "hosts/ssh_internal.h"

#include "hosts/loop.h"
#include "hosts/ssh_relay.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define REAP_WAIT_MS 2000
#define FREE_WAIT_MS 500
/* Queued without an eventfd to wait on (none could be made): look again. */
#define SLOT_RETRY_MS 50

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
    char *w = ssh_where(s);
    if (rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
        rc == LIBSSH2_ERROR_SOCKET_SEND)
        ssh_fail(s, xasprintf("connection to %s lost", w));
    else
        ssh_fail(s, xasprintf("connection to %s lost: %s", w, ssh_last_error(s)));
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
    if (s->step == STEP_READY)
        send_eof(s);
    if (s->step == STEP_FAILED && s->timer >= 0 && max >= 1) {
        /* It failed outside a read (sending the end of stdin, a jump host):
         * wake the reader, whose read reports it and ends the session. */
        ssh_arm(s, -1);
        fds[0] = (struct pollfd){.fd = s->timer, .events = POLLIN};
        return 1;
    }
    if (s->step == STEP_FAILED || s->step == STEP_KILLED || s->step == STEP_NEW || max < 2)
        return 0;
    int n = via_poll_fds(s, fds, max);
    if (held(s)) {
        ssh_arm(s, -1);
    } else if (s->step < STEP_READY) {
        /* Wake for the retry or the deadline, whichever comes first. */
        int64_t now = loop_now_ms();
        int64_t at = s->deadline;
        if (s->step == STEP_BACKOFF && s->retry_at < at)
            at = s->retry_at;
        if (s->step == STEP_QUEUED && ssh_slot_fd(s) < 0 && now + SLOT_RETRY_MS < at)
            at = now + SLOT_RETRY_MS;
        if (s->step == STEP_CONNECT && s->attempt_deadline >= 0 && s->attempt_deadline < at)
            at = s->attempt_deadline;
        ssh_arm(s, at > now ? at - now : -1);
    } else {
        ssh_arm(s, 0);
    }
    fds[n++] = (struct pollfd){.fd = s->timer, .events = POLLIN};
    if (s->step == STEP_QUEUED) {
        if (ssh_slot_fd(s) >= 0)
            fds[n++] = (struct pollfd){.fd = ssh_slot_fd(s), .events = POLLIN};
        return n;
    }
    if (s->step == STEP_CONNECT)
        fds[n++] = (struct pollfd){.fd = s->fd, .events = POLLOUT};
    if (s->step == STEP_BACKOFF || s->step == STEP_CONNECT || s->step == STEP_VIA)
        return n;
    short events = POLLIN;
    int dirs = libssh2_session_block_directions(s->session);
    /* With the peer's window full, only its window adjust (a read) lets a
     * write move: a writable socket would wake the loop for nothing. */
    if (want_write && s->step == STEP_READY && s->command &&
        libssh2_channel_window_write(s->channel) == 0)
        want_write = 0;
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
    ssh_drain_timer(s);
    ssh_advance(s);
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
    ssh_advance(s);
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
        ssh_advance_via(s); /* on its way now, not at the next wake */
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
        ssh_flush_via(s);
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
        ssh_flush_via(s);
    }
    if (s->step != STEP_FAILED)
        s->step = STEP_KILLED;
    for (struct ssh *x = s; x; x = x->via) /* a jump host still connecting holds one */
        ssh_release_slot(x);
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
    /* Said goodbye (or could not): with the socket shut, freeing a channel
     * that is still open (a jump host's tunnel) fails at once instead of
     * waiting for the peer, which non-blocking libssh2 would answer with
     * EAGAIN, and leave the channel and the session allocated. */
    if (s->fd >= 0)
        shutdown(s->fd, SHUT_RDWR);
    if (s->channel)
        libssh2_channel_free(s->channel);
    if (s->agent) {
        libssh2_agent_disconnect(s->agent);
        libssh2_agent_free(s->agent);
    }
    if (s->session)
        libssh2_session_free(s->session);
    ssh_close_fd(&s->fd);
    ssh_close_fd(&s->timer);
    if (s->relay) {
        ssh_flush_via(s); /* the inner session's goodbye */
        ssh_relay_release(s->relay);
        free(s->relay);
    }
    ssh_free(s->via ? &s->via->base : NULL);
    ssh_release_slot(s);
    if (s->addrs)
        freeaddrinfo(s->addrs);
    ssh_options_release(&s->o);
    buf_release(&s->tried);
    free(s->command);
    free(s->tunnel_host);
    free(s->error);
    free(s);
}

static int ssh_start(struct transport *t, char **err)
{
    return ssh_setup_start((struct ssh *)t, err);
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
    s->since_ms = -1;
    s->step = STEP_NEW;
    buf_init(&s->tried);
    snprintf(s->desc, sizeof s->desc, "ssh %s@%s", s->o.user, s->o.alias);
    if (o->via)
        s->via = ssh_new(o->via, NULL, s->o.hostname, s->o.port, accept_new, setup_timeout_ms);
    return s;
}

struct transport *ssh_transport_new(const struct ssh_options *o, const char *command,
                                    int accept_new, int setup_timeout_ms, int64_t since_ms)
{
    struct ssh *s = ssh_new(o, command ? command : "sh", NULL, 0, accept_new, setup_timeout_ms);
    s->since_ms = since_ms;
    return &s->base;
}
