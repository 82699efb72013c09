#define _GNU_SOURCE /* mkostemp, pipe2: descriptors closed on exec */
#include "engine/graph/export.h"

#include "engine/graph/graph.h"
#include "engine/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int export_format_parse(const char *name, enum export_format *format)
{
    static const struct {
        const char *name;
        enum export_format format;
    } formats[] = {{"dot", EXPORT_DOT}, {"json", EXPORT_JSON}, {"svg", EXPORT_SVG}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(name, formats[i].name) == 0) {
            *format = formats[i].format;
            return 0;
        }
    }
    return -1;
}

size_t export_hosts(const struct graph *g, const char *host, const char ***hosts, long **comp_host)
{
    const char **list = xmalloc((g->ncomponents + 1) * sizeof *list);
    long *which = xmalloc((g->ncomponents + 1) * sizeof *which);
    size_t n = 0;
    long last = -1; /* components usually come grouped by host */
    for (size_t i = 0; i < g->ncomponents; i++) {
        const char *h = g->components[i].host;
        which[i] = -1;
        if (host && strcmp(h, host) != 0)
            continue;
        if (last < 0 || strcmp(list[last], h) != 0) {
            last = -1;
            for (size_t j = 0; j < n && last < 0; j++)
                if (strcmp(list[j], h) == 0)
                    last = (long)j;
            if (last < 0) {
                list[n] = h;
                last = (long)n++;
            }
        }
        which[i] = last;
    }
    *hosts = list;
    *comp_host = which;
    return n;
}

static int has_host(const struct graph *g, const char *host)
{
    for (size_t i = 0; i < g->ncomponents; i++)
        if (strcmp(g->components[i].host, host) == 0)
            return 1;
    return 0;
}

static char *unknown_host_error(const struct graph *g, const char *host)
{
    const char **hosts;
    long *comp_host;
    size_t n = export_hosts(g, NULL, &hosts, &comp_host);
    const char *guess = suggest(host, hosts, n);
    char *error = guess ? xasprintf("unknown host '%s' in environment '%s' (did you mean '%s'?)",
                                    host, g->env, guess)
                        : xasprintf("unknown host '%s' in environment '%s'", host, g->env);
    free(hosts);
    free(comp_host);
    return error;
}

const char *export_state_name(const struct node_mark *mark)
{
    switch (mark->state) {
    case MARK_CLEAN:
        return "clean";
    case MARK_DIRTY:
        return "dirty";
    case MARK_UNKNOWN:
    case MARK_IGNORED:
        break;
    }
    return "unknown";
}

int export_graph(const struct graph *g, enum export_format format, const char *host,
                 const struct node_mark *marks, struct buf *out, char **error)
{
    *error = NULL;
    if (host && !has_host(g, host)) {
        *error = unknown_host_error(g, host);
        return -1;
    }
    if (format == EXPORT_JSON) {
        export_json(g, host, marks, out);
        return 0;
    }
    if (format == EXPORT_DOT) {
        export_dot(g, host, marks, out);
        return 0;
    }
    struct buf dot;
    buf_init(&dot);
    export_dot(g, host, marks, &dot);
    int rc = export_run_dot(dot.data, dot.len, out, error);
    buf_release(&dot);
    return rc;
}

/* ---- running Graphviz ---- */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The DOT text goes through an unlinked temporary file rather than a pipe:
 * no SIGPIPE when `dot` dies early, and no deadlock between writing its
 * input and reading its output. */
static int dot_input(const char *dot, size_t len, char **error)
{
    const char *tmpdir = getenv("TMPDIR");
    char *path = xasprintf("%s/batou-ng-graph-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        *error = xasprintf("cannot create a temporary file in '%s': %s",
                           tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
        free(path);
        return -1;
    }
    unlink(path);
    free(path);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (write_all(fd, dot, len) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        *error = xasprintf("cannot write a temporary file: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Read stdout into out and stderr into err until both are closed. */
static int drain(int out_fd, int err_fd, struct buf *out, struct buf *err)
{
    struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    struct buf *bufs[2] = {out, err};
    int open_fds = 2;
    char chunk[65536];
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                fds[i].fd = -1; /* poll ignores negative descriptors */
                open_fds--;
                continue;
            }
            buf_add(bufs[i], chunk, (size_t)n);
        }
    }
    return 0;
}

static char *dot_failure(int status, const struct buf *err)
{
    if (err->len > 0) {
        size_t line = strcspn(err->data, "\n");
        return xasprintf("graphviz 'dot' failed: %.*s", (int)line, err->data);
    }
    if (WIFSIGNALED(status))
        return xasprintf("graphviz 'dot' was killed by signal %d", WTERMSIG(status));
    return xasprintf("graphviz 'dot' failed with exit status %d", WEXITSTATUS(status));
}

static const char dot_missing[] = "graphviz 'dot' is not installed: install it with "
                                  "'apt-get install graphviz', or use --format dot";

static void close_pipe(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

int export_run_dot(const char *dot, size_t len, struct buf *out, char **error)
{
    int in = dot_input(dot, len, error);
    if (in < 0)
        return -1;
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        *error = xasprintf("cannot create a pipe: %s", strerror(errno));
        close_pipe(out_pipe);
        close(in);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(out_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(err_pipe[i], F_SETFD, FD_CLOEXEC);
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    char *argv[] = {"dot", "-Tsvg", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "dot", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        *error = rc == ENOENT ? xstrdup(dot_missing)
                              : xasprintf("cannot run graphviz 'dot': %s", strerror(rc));
        return -1;
    }

    struct buf err;
    buf_init(&err);
    size_t start = out->len;
    int drained = drain(out_pipe[0], err_pipe[0], out, &err);
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rc = 0;
    if (drained < 0) {
        *error = xasprintf("cannot read from graphviz 'dot': %s", strerror(errno));
        rc = -1;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && err.len == 0) {
        *error = xstrdup(dot_missing); /* a spawn that reports exec failure late */
        rc = -1;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        *error = dot_failure(status, &err);
        rc = -1;
    }
    if (rc < 0) {
        out->len = start; /* no half-written SVG */
        if (out->data)
            out->data[start] = '\0';
    }
    buf_release(&err);
    return rc;
}
