/* POSIX_SPAWN_SETSID (glibc 2.26), pipe2 */
#define _GNU_SOURCE

#include "hosts/local.h"

#include "engine/util.h"
#include "hosts/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

extern char **environ;

struct local {
    struct transport base;
    char **argv;
    pid_t pid;        /* -1 before start and once reaped */
    int in, out, err; /* our ends of the shell's stdin, stdout, stderr; -1 when closed */
    int reaped;
    int terminated; /* SIGTERM sent */
    int code;       /* exit status, or minus the signal, once reaped */
    char desc[80];
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int set_flags(int fd, int nonblock)
{
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

/* The shell gets its own session and process group (so kill reaches what it
 * started, and the session's watcher (hosts/session.c) sees batou-ng as the
 * parent of its session leader, and its death) and default signal
 * dispositions, whatever batou-ng itself ignores. Without setsid the shell
 * only gets a process group: it then does not die with batou-ng. */
static int spawn(struct local *l, int in, int out, int err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    int signals[] = {SIGPIPE, SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGCHLD};

    sigemptyset(&none);
    sigemptyset(&defaults);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaddset(&defaults, signals[i]);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    /* Everything batou-ng opens is close-on-exec; this also covers what a
     * library or the model (Lua's io.open) left open without it. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
#ifdef POSIX_SPAWN_SETSID
    short group = POSIX_SPAWN_SETSID;
#else
    short group = POSIX_SPAWN_SETPGROUP;
#endif
    posix_spawnattr_setflags(&attr, group | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    int rc = posix_spawnp(&l->pid, l->argv[0], &fa, &attr, l->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* stdin is a socket, not a pipe: send(MSG_NOSIGNAL) turns a dead shell into
 * EPIPE instead of a SIGPIPE that would kill batou-ng. */
static int local_start(struct transport *t, char **err)
{
    struct local *l = (struct local *)t;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};

    if (l->pid > 0 || l->reaped) {
        *err = xstrdup("the local shell was already started");
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0)
        goto fail;
    if (set_flags(in[0], 1) || set_flags(out[0], 1) || set_flags(errp[0], 1) ||
        set_flags(in[1], 0) || set_flags(out[1], 0) || set_flags(errp[1], 0))
        goto fail;
    int rc = spawn(l, in[1], out[1], errp[1]);
    if (rc != 0) {
        errno = rc;
        l->pid = -1;
        goto fail;
    }
    close(in[1]);
    close(out[1]);
    close(errp[1]);
    l->in = in[0];
    l->out = out[0];
    l->err = errp[0];
    snprintf(l->desc, sizeof l->desc, "local %s (pid %ld)", l->argv[0], (long)l->pid);
    return 0;

fail:
    *err = xasprintf("cannot start '%s': %s", l->argv[0], strerror(errno));
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&errp[i]);
    }
    return -1;
}

static int local_poll_fds(struct transport *t, int want_write, struct pollfd *fds, int max)
{
    struct local *l = (struct local *)t;
    int n = 0;

    if (want_write && l->in >= 0 && n < max)
        fds[n++] = (struct pollfd){.fd = l->in, .events = POLLOUT};
    if (l->out >= 0 && n < max)
        fds[n++] = (struct pollfd){.fd = l->out, .events = POLLIN};
    if (l->err >= 0 && n < max)
        fds[n++] = (struct pollfd){.fd = l->err, .events = POLLIN};
    return n;
}

static ssize_t local_read(struct transport *t, enum transport_stream stream, void *buf, size_t len,
                          char **err)
{
    struct local *l = (struct local *)t;
    int *fd = stream == TRANSPORT_STDOUT ? &l->out : &l->err;

    if (*fd < 0)
        return 0;
    for (;;) {
        ssize_t n = read(*fd, buf, len);
        if (n > 0)
            return n;
        if (n == 0) {
            close_fd(fd);
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TRANSPORT_AGAIN;
        *err = xasprintf("cannot read from the shell: %s", strerror(errno));
        return TRANSPORT_ERROR;
    }
}

static ssize_t local_write(struct transport *t, const void *buf, size_t len, char **err)
{
    struct local *l = (struct local *)t;

    if (l->in < 0) {
        *err = xstrdup("the shell's stdin is closed");
        return TRANSPORT_ERROR;
    }
    for (;;) {
        ssize_t n = send(l->in, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n > 0 ? n : TRANSPORT_AGAIN;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TRANSPORT_AGAIN;
        *err = xasprintf("cannot write to the shell: %s", strerror(errno));
        return TRANSPORT_ERROR;
    }
}

static void local_close_write(struct transport *t)
{
    close_fd(&((struct local *)t)->in);
}

static void wait_for(struct local *l, int flags)
{
    int status;
    pid_t r;

    do
        r = waitpid(l->pid, &status, flags);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return;
    l->reaped = 1;
    l->pid = -1;
    if (r < 0)
        l->code = 127;
    else if (WIFSIGNALED(status))
        l->code = -WTERMSIG(status);
    else
        l->code = WEXITSTATUS(status);
}

/* Once stdout has ended the shell is exiting, so waiting is only a moment. */
static int local_reap(struct transport *t, int *code)
{
    struct local *l = (struct local *)t;

    if (!l->reaped && l->pid > 0)
        wait_for(l, l->out < 0 ? 0 : WNOHANG);
    if (!l->reaped)
        return 0;
    *code = l->code;
    return 1;
}

static void signal_group(struct local *l, int sig)
{
    kill(-l->pid, sig);
    kill(l->pid, sig); /* in case it left its group */
}

/* SIGTERM, not SIGKILL: the preamble's trap then removes the shell's temp
 * dir, and what it runs dies by the default action. stdout and stderr stay
 * open until free, so a last write cannot SIGPIPE the shell past its trap. */
static void local_kill(struct transport *t)
{
    struct local *l = (struct local *)t;

    if (l->pid > 0 && !l->reaped && !l->terminated) {
        signal_group(l, SIGTERM);
        l->terminated = 1;
        wait_for(l, WNOHANG);
    }
    close_fd(&l->in);
}

/* Up to ms milliseconds for the shell to exit; 1 once it has. */
static int grace(struct local *l, int ms)
{
    struct timespec tick = {0, 1000000};

    for (int i = 0; i < ms && !l->reaped; i++) {
        wait_for(l, WNOHANG);
        if (!l->reaped)
            nanosleep(&tick, NULL);
    }
    return l->reaped;
}

/* An idle shell exits by itself at the end of its stdin (the EXIT trap
 * cleans up); a busy one gets SIGTERM, then SIGKILL. At most 200 ms. */
static void local_finish(struct local *l)
{
    close_fd(&l->in);
    if (l->pid > 0 && !l->reaped && !grace(l, 100)) {
        signal_group(l, SIGTERM);
        if (!grace(l, 100)) {
            signal_group(l, SIGKILL);
            wait_for(l, 0);
        }
    }
    close_fd(&l->out);
    close_fd(&l->err);
}

static const char *local_describe(struct transport *t)
{
    return ((struct local *)t)->desc;
}

static void local_free(struct transport *t)
{
    struct local *l = (struct local *)t;

    if (!l)
        return;
    local_finish(l);
    for (size_t i = 0; l->argv[i]; i++)
        free(l->argv[i]);
    free(l->argv);
    free(l);
}

static const struct transport_ops local_ops = {
    .start = local_start,
    .poll_fds = local_poll_fds,
    .read = local_read,
    .write = local_write,
    .close_write = local_close_write,
    .reap = local_reap,
    .kill = local_kill,
    .describe = local_describe,
    .free = local_free,
};

struct transport *local_new(const char *const *argv)
{
    static const char *const default_argv[] = {"sh", NULL};
    struct local *l = xcalloc(1, sizeof *l);
    size_t n = 0;

    if (!argv || !argv[0])
        argv = default_argv;
    while (argv[n])
        n++;
    l->argv = xcalloc(n + 1, sizeof *l->argv);
    for (size_t i = 0; i < n; i++)
        l->argv[i] = xstrdup(argv[i]);
    l->base.ops = &local_ops;
    l->pid = -1;
    l->in = l->out = l->err = -1;
    snprintf(l->desc, sizeof l->desc, "local %s", l->argv[0]);
    return &l->base;
}

pid_t local_pid(struct transport *t)
{
    if (!t || t->ops != &local_ops)
        return -1;
    return ((struct local *)t)->pid;
}
