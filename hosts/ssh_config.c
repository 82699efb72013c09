/* Per-host ssh options. `ssh -G [-F file] HOST` prints every option resolved
 * the way ssh itself would connect (one "key value" line each, keys lower
 * case), so we ask it and take what libssh2 needs. Without an ssh client, a
 * small parser reads Host blocks: first value wins, patterns with * ? and !,
 * %h in HostName; Match and Include are not supported there. */

#define _GNU_SOURCE

#include "hosts/ssh_config.h"

#include "engine/util.h"
#include "hosts/ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *home(void)
{
    const char *h = getenv("HOME");
    if (h && *h)
        return h;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "/";
}

static const char *pw_home(void)
{
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir ? pw->pw_dir : "";
}

static char *expand_tilde(const char *path)
{
    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
        return xasprintf("%s%s", home(), path + 1);
    return xstrdup(path);
}

static void add_item(char ***list, size_t *n, const char *value)
{
    *list = xrealloc(*list, (*n + 2) * sizeof **list);
    (*list)[(*n)++] = expand_tilde(value);
    (*list)[*n] = NULL;
}

/* The words of a value (UserKnownHostsFile holds several). */
static void add_words(char ***list, size_t *n, const char *value)
{
    char *copy = xstrdup(value), *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        add_item(list, n, w);
    free(copy);
}

static int yes(const char *v)
{
    return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0;
}

/* Take one option; 1 when it was already set (first value wins). */
static void set_option(struct ssh_options *o, const char *key, const char *value, int *seen_kh)
{
    if (strcasecmp(key, "hostname") == 0 && !o->hostname) {
        o->hostname = xstrdup(value);
    } else if (strcasecmp(key, "user") == 0 && !o->user) {
        o->user = xstrdup(value);
    } else if (strcasecmp(key, "port") == 0 && !o->port) {
        o->port = atoi(value);
    } else if (strcasecmp(key, "identityfile") == 0) {
        add_item(&o->identity_files, &o->nidentity_files, value);
    } else if (strcasecmp(key, "identitiesonly") == 0) {
        o->identities_only = yes(value);
    } else if (strcasecmp(key, "connecttimeout") == 0 && !o->connect_timeout_ms) {
        o->connect_timeout_ms = strcmp(value, "none") == 0 ? 0 : atoi(value) * 1000;
    } else if (strcasecmp(key, "stricthostkeychecking") == 0 && !o->accept_new) {
        o->accept_new = strcasecmp(value, "accept-new") == 0 || strcasecmp(value, "no") == 0 ||
                        strcasecmp(value, "false") == 0 || strcasecmp(value, "off") == 0;
        o->accept_new = o->accept_new ? 1 : -1;
    } else if (strcasecmp(key, "userknownhostsfile") == 0 && !*seen_kh) {
        *seen_kh = 1;
        add_words(&o->known_hosts_files, &o->nknown_hosts_files, value);
    } else if (strcasecmp(key, "proxyjump") == 0 && !o->proxy_jump) {
        o->proxy_jump = xstrdup(value);
    } else if (strcasecmp(key, "proxycommand") == 0 && !o->proxy_command) {
        o->proxy_command = xstrdup(value);
    }
}

/* Defaults for what the configuration left unset. */
static void finish_options(struct ssh_options *o, const char *host)
{
    o->alias = xstrdup(host);
    if (!o->hostname)
        o->hostname = xstrdup(host);
    if (!o->port)
        o->port = 22;
    if (!o->user) {
        struct passwd *pw = getpwuid(getuid());
        o->user = xstrdup(pw && pw->pw_name ? pw->pw_name : "root");
    }
    if (!o->nidentity_files) {
        static const char *const keys[] = {"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"};
        for (size_t i = 0; i < 3; i++)
            add_item(&o->identity_files, &o->nidentity_files, keys[i]);
    }
    if (!o->nknown_hosts_files)
        add_words(&o->known_hosts_files, &o->nknown_hosts_files,
                  "~/.ssh/known_hosts ~/.ssh/known_hosts2");
    o->accept_new = o->accept_new > 0;
    if (o->proxy_jump && strcmp(o->proxy_jump, "none") == 0) {
        free(o->proxy_jump);
        o->proxy_jump = NULL;
    }
    if (o->proxy_command && strcmp(o->proxy_command, "none") == 0) {
        free(o->proxy_command);
        o->proxy_command = NULL;
    }
}

/* ssh -G expands ~ in UserKnownHostsFile with the password database's home;
 * we mean $HOME: when the two differ, re-root paths below the former. */
static void reroot_known_hosts(struct ssh_options *o)
{
    const char *pw = pw_home(), *h = home();
    size_t n = strlen(pw);
    if (!*pw || strcmp(pw, h) == 0 || strcmp(pw, "/") == 0)
        return;
    for (size_t i = 0; i < o->nknown_hosts_files; i++) {
        char *f = o->known_hosts_files[i];
        if (strncmp(f, pw, n) == 0 && f[n] == '/') {
            o->known_hosts_files[i] = xasprintf("%s%s", h, f + n);
            free(f);
        }
    }
}

static void parse_g_output(struct ssh_options *o, char *text)
{
    int seen_kh = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        set_option(o, line, sp + 1, &seen_kh);
    }
}

static void read_fd(int fd, struct buf *out)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0)
            buf_add(out, chunk, (size_t)n);
        else if (n == 0 || errno != EINTR)
            return;
    }
}

struct ssh_config_query {
    char *host;
    char *config_file; /* NULL: ssh's own */
    pid_t pid;         /* `ssh -G`, or -1: there is no ssh client */
    int out, err;      /* its stdout and stderr */
    char *error;       /* it could not be asked */
};

struct ssh_config_query *ssh_config_ask(const char *host, const char *config_file)
{
    struct ssh_config_query *q = xcalloc(1, sizeof *q);
    q->host = xstrdup(host);
    q->config_file = config_file ? xstrdup(config_file) : NULL;
    q->pid = -1;
    q->out = q->err = -1;
    char *user_config = NULL;
    const char *argv[8];
    int argc = 0;
    argv[argc++] = "ssh";
    argv[argc++] = "-G";
    if (!config_file && strcmp(home(), pw_home()) != 0) {
        user_config = xasprintf("%s/.ssh/config", home());
        struct stat st;
        if (stat(user_config, &st) == 0)
            config_file = user_config;
    }
    if (config_file) {
        argv[argc++] = "-F";
        argv[argc++] = config_file;
    }
    argv[argc++] = "--";
    argv[argc++] = host;
    argv[argc] = NULL;
    int pipes[2][2] = {{-1, -1}, {-1, -1}};
    if (pipe2(pipes[0], O_CLOEXEC) < 0 || pipe2(pipes[1], O_CLOEXEC) < 0) {
        q->error = xasprintf("cannot run 'ssh -G': %s", strerror(errno));
        for (int i = 0; i < 4; i++)
            if (pipes[i / 2][i % 2] >= 0)
                close(pipes[i / 2][i % 2]);
        free(user_config);
        return q;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipes[0][1], 1);
    posix_spawn_file_actions_adddup2(&fa, pipes[1][1], 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, "ssh", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipes[0][1]);
    close(pipes[1][1]);
    free(user_config);
    if (rc != 0) {
        close(pipes[0][0]);
        close(pipes[1][0]);
        return q;
    }
    q->pid = pid;
    q->out = pipes[0][0];
    q->err = pipes[1][0];
    return q;
}

void ssh_config_query_free(struct ssh_config_query *q)
{
    if (!q)
        return;
    if (q->out >= 0)
        close(q->out);
    if (q->err >= 0)
        close(q->err);
    if (q->pid > 0)
        while (waitpid(q->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    free(q->host);
    free(q->config_file);
    free(q->error);
    free(q);
}

/* What `ssh -G` said: 1 with its output in out, 0 when there is no ssh
 * client, -1 with *err when it refused (a bad configuration). */
static int collect(struct ssh_config_query *q, struct buf *out, char **err)
{
    if (q->error) {
        *err = xstrdup(q->error);
        return -1;
    }
    if (q->pid < 0)
        return 0;
    struct buf errtext;
    buf_init(&errtext);
    /* ssh -G prints a few kilobytes: read stdout, then stderr. */
    read_fd(q->out, out);
    read_fd(q->err, &errtext);
    int status;
    while (waitpid(q->pid, &status, 0) < 0 && errno == EINTR)
        ;
    q->pid = -1;
    int result = 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        result = 0;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        buf_addc(&errtext, '\0');
        char *line = strip(errtext.data);
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        *err = xasprintf("ssh configuration for '%s': %s", q->host, *line ? line : "ssh -G failed");
        result = -1;
    }
    buf_release(&errtext);
    return result;
}

static int parse_host(const char *host, const char *config_file, struct ssh_options *o, char **err);

/* The host's own options (not its jump hosts'), from q. */
static int answer_host(struct ssh_config_query *q, struct ssh_options *o, char **err)
{
    memset(o, 0, sizeof *o);
    struct buf out;
    buf_init(&out);
    int rc = collect(q, &out, err);
    if (rc <= 0) {
        buf_release(&out);
        return rc < 0 ? -1 : parse_host(q->host, q->config_file, o, err);
    }
    buf_addc(&out, '\0');
    parse_g_output(o, out.data);
    buf_release(&out);
    reroot_known_hosts(o);
    finish_options(o, q->host);
    return 0;
}

static int resolve_host(const char *host, const char *config_file, struct ssh_options *o,
                        char **err)
{
    struct ssh_config_query *q = ssh_config_ask(host, config_file);
    int rc = answer_host(q, o, err);
    ssh_config_query_free(q);
    return rc;
}

/* fnmatch over a Host line's patterns: a match, and no negated match. */
static int host_matches(char *patterns, const char *host)
{
    int match = 0;
    char *save = NULL;
    for (char *p = strtok_r(patterns, " \t,", &save); p; p = strtok_r(NULL, " \t,", &save)) {
        if (p[0] == '!') {
            if (fnmatch(p + 1, host, 0) == 0)
                return 0;
        } else if (fnmatch(p, host, 0) == 0) {
            match = 1;
        }
    }
    return match;
}

/* HostName's %h is the host asked for; %% is %. */
static char *expand_hostname(const char *value, const char *host)
{
    struct buf b;
    buf_init(&b);
    for (const char *p = value; *p; p++) {
        if (p[0] == '%' && p[1] == 'h') {
            buf_adds(&b, host);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            buf_addc(&b, '%');
            p++;
        } else {
            buf_addc(&b, *p);
        }
    }
    buf_addc(&b, '\0');
    return buf_detach(&b);
}

static int parse_host(const char *host, const char *config_file, struct ssh_options *o, char **err)
{
    memset(o, 0, sizeof *o);
    char *path = config_file ? xstrdup(config_file) : xasprintf("%s/.ssh/config", home());
    struct buf text;
    buf_init(&text);
    if (read_file(path, &text) < 0 && config_file) {
        *err = xasprintf("cannot read the ssh configuration '%s': %s", path, strerror(errno));
        free(path);
        buf_release(&text);
        return -1;
    }
    free(path);
    buf_addc(&text, '\0');
    int active = 1, seen_kh = 0;
    char *save = NULL;
    for (char *line = strtok_r(text.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *key = line + strspn(line, " \t");
        if (!*key || *key == '#')
            continue;
        size_t klen = strcspn(key, " \t=");
        char *value = key + klen;
        value += strspn(value, " \t=");
        key[klen] = '\0';
        char *end = value + strlen(value);
        while (end > value && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (strcasecmp(key, "host") == 0) {
            active = host_matches(value, host);
        } else if (strcasecmp(key, "match") == 0) {
            active = strcasecmp(value, "all") == 0;
        } else if (active && strcasecmp(key, "hostname") == 0 && !o->hostname) {
            o->hostname = expand_hostname(value, host);
        } else if (active) {
            set_option(o, key, value, &seen_kh);
        }
    }
    buf_release(&text);
    finish_options(o, host);
    return 0;
}

/* One ProxyJump hop: "[user@]host[:port]", "[user@][v6]:port" or the same
 * behind "ssh://". 0, or -1 when it is not one. */
static int parse_jump(const char *spec, char **user, char **host, int *port)
{
    *user = *host = NULL;
    *port = 0;
    if (strncmp(spec, "ssh://", 6) == 0)
        spec += 6;
    const char *at = strrchr(spec, '@');
    if (at) {
        *user = xstrndup(spec, (size_t)(at - spec));
        spec = at + 1;
    }
    const char *colon;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close)
            return -1;
        *host = xstrndup(spec + 1, (size_t)(close - spec - 1));
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(spec, ':');
        *host = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
    }
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p <= 0 || p > 65535)
            return -1;
        *port = (int)p;
    }
    return **host ? 0 : -1;
}

/* Resolve o's ProxyJump list into o->via, the hop right before o, as ssh -J
 * does: that hop is reached through the rest of the list or, when it is the
 * first, through what its own configuration says. */
static int resolve_jumps(struct ssh_options *o, const char *config_file,
                         int (*resolve)(const char *, const char *, struct ssh_options *, char **),
                         int depth, char **err)
{
    if (o->proxy_command) {
        /* Connecting directly instead would reach another host, or none. */
        *err = xasprintf("'ProxyCommand %s' for '%s' is not supported (ProxyJump is)",
                         o->proxy_command, o->alias);
        return -1;
    }
    if (!o->proxy_jump)
        return 0;
    if (depth >= SSH_MAX_JUMPS) {
        *err = xasprintf("'ProxyJump' for '%s' leads through more than %d jump hosts (a loop "
                         "in the ssh configuration?)",
                         o->alias, SSH_MAX_JUMPS);
        return -1;
    }
    char *list = xstrdup(o->proxy_jump);
    char *comma = strrchr(list, ',');
    char *spec = comma ? comma + 1 : list;
    if (comma)
        *comma = '\0';
    char *user, *host;
    int port, rc = -1;
    struct ssh_options *hop = xcalloc(1, sizeof *hop);
    if (parse_jump(spec, &user, &host, &port) < 0) {
        *err = xasprintf("'ProxyJump %s' for '%s': '%s' is not [user@]host[:port]", o->proxy_jump,
                         o->alias, spec);
    } else if (resolve(host, config_file, hop, err) == 0) {
        if (user) {
            free(hop->user);
            hop->user = xstrdup(user);
        }
        if (port)
            hop->port = port;
        if (comma) {
            free(hop->proxy_jump);
            hop->proxy_jump = xstrdup(list);
        }
        rc = resolve_jumps(hop, config_file, resolve, depth + 1, err);
    }
    free(user);
    free(host);
    free(list);
    if (rc < 0) {
        ssh_options_release(hop);
        free(hop);
        return -1;
    }
    o->via = hop;
    return 0;
}

int ssh_config_answer(struct ssh_config_query *q, struct ssh_options *o, char **err)
{
    int rc = answer_host(q, o, err);
    if (rc == 0 && resolve_jumps(o, q->config_file, resolve_host, 0, err) < 0) {
        ssh_options_release(o);
        rc = -1;
    }
    ssh_config_query_free(q);
    return rc;
}

int ssh_config_resolve(const char *host, const char *config_file, struct ssh_options *o, char **err)
{
    return ssh_config_answer(ssh_config_ask(host, config_file), o, err);
}

int ssh_config_parse(const char *host, const char *config_file, struct ssh_options *o, char **err)
{
    if (parse_host(host, config_file, o, err) < 0)
        return -1;
    if (resolve_jumps(o, config_file, parse_host, 0, err) == 0)
        return 0;
    ssh_options_release(o);
    return -1;
}
