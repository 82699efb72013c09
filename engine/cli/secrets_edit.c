#include "engine/cli/secrets_command.h"

#include "engine/diag.h"
#include "engine/model/model.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

/* `batou-ng secrets edit`: the one place where plaintext touches disk. It
 * goes to a 0700 directory from mkdtemp under $TMPDIR, which is wiped (files
 * overwritten with zeros, then removed) when the edit ends in any way: done,
 * editor failure, bad input, or a signal — the handlers wipe it with
 * async-signal-safe calls only, then re-raise. While the editor runs, ^C
 * belongs to the editor (as with git): SIGINT/SIGQUIT only end the edit when
 * they also end the editor. SIGKILL cannot be caught: then the directory
 * stays behind. */

/* What the signal handlers may touch. */
static struct {
    char dir[PATH_MAX];        /* "" when there is no temporary directory */
    volatile pid_t editor;     /* the running editor, or 0 */
    volatile sig_atomic_t sig; /* SIGINT/SIGQUIT seen while the editor ran */
} session;

static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static struct sigaction saved[sizeof caught / sizeof *caught];

static const char zeros[4096];

/* Overwrite (a regular file) with zeros, then remove name in directory dirfd. */
static void wipe_entry(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            off_t left = st.st_size;
            while (left > 0) {
                size_t n = left < (off_t)sizeof zeros ? (size_t)left : sizeof zeros;
                ssize_t w = write(fd, zeros, n);
                if (w <= 0)
                    break;
                left -= w;
            }
            fsync(fd);
        }
        close(fd);
    }
    if (unlinkat(dirfd, name, 0) < 0)
        unlinkat(dirfd, name, AT_REMOVEDIR);
}

#ifdef __linux__
/* getdents64's record: readdir is not async-signal-safe, this syscall is. */
struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static void wipe_entries(int dirfd)
{
    char buffer[4096] __attribute__((aligned(8)));
    /* Rescan until empty: entries removed while listing may hide others. */
    for (int pass = 0; pass < 8; pass++) {
        int found = 0;
        lseek(dirfd, 0, SEEK_SET);
        long n;
        while ((n = syscall(SYS_getdents64, dirfd, buffer, sizeof buffer)) > 0) {
            for (long at = 0; at < n;) {
                struct dirent64_raw *e = (struct dirent64_raw *)(buffer + at);
                at += e->reclen;
                if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
                    continue;
                found = 1;
                wipe_entry(dirfd, e->name);
            }
        }
        if (!found)
            return;
    }
}
#endif

/* Async-signal-safe: only open/write/unlink/rmdir-style calls. */
static void wipe_session_dir(void)
{
    if (!session.dir[0])
        return;
    int fd = open(session.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
#ifdef __linux__
        wipe_entries(fd);
#else
        /* Without getdents: the file batou-ng wrote (editor leftovers stay). */
        wipe_entry(fd, "secrets.cfg");
#endif
        close(fd);
    }
    rmdir(session.dir);
    session.dir[0] = '\0';
}

static void on_signal(int sig)
{
    if ((sig == SIGINT || sig == SIGQUIT) && session.editor > 0) {
        session.sig = sig;
        return;
    }
    if (session.editor > 0)
        kill(session.editor, SIGTERM);
    wipe_session_dir();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof caught / sizeof *caught; i++)
        sigaddset(&sa.sa_mask, caught[i]);
    for (size_t i = 0; i < sizeof caught / sizeof *caught; i++)
        sigaction(caught[i], &sa, &saved[i]);
}

/* Wipe the directory, restore the handlers, and die of a ^C the editor got. */
static void end_session(void)
{
    wipe_session_dir();
    for (size_t i = 0; i < sizeof caught / sizeof *caught; i++)
        sigaction(caught[i], &saved[i], NULL);
    if (session.sig) {
        int sig = session.sig;
        session.sig = 0;
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Make the temporary directory and write the plaintext as file name in it;
 * *path gets the file's path. 0, or -1 with *error. */
static int start_session(const char *name, const struct buf *plain, char **path, char **error)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    install_handlers();
    char dir[PATH_MAX];
    int n = snprintf(dir, sizeof dir, "%s/batou-ng-secrets-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof dir || !mkdtemp(dir)) {
        *error = xasprintf("cannot create a temporary directory in '%s': %s", tmp,
                           n < 0 || (size_t)n >= sizeof dir ? "path too long" : strerror(errno));
        return -1;
    }
    memcpy(session.dir, dir, sizeof dir);
    chmod(session.dir, 0700);
    *path = xasprintf("%s/%s", session.dir, name);
    int fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, plain->data ? plain->data : "", plain->len) < 0 || close(fd) < 0) {
        *error = xasprintf("cannot write '%s': %s", *path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Read the edited file into out, sized up front (no realloc leaves copies of
 * the plaintext behind). 0, or -1 with *error. */
static int read_edited(const char *path, struct buf *out, char **error)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        *error = xasprintf("cannot read the edited file: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    secrets_wipe(out); /* an earlier round's text */
    xgrow(&out->data, &out->cap, size + 1, 1);
    while (out->len < size) {
        ssize_t n = read(fd, out->data + out->len, size - out->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        out->len += (size_t)n;
    }
    out->data[out->len] = '\0';
    close(fd);
    return 0;
}

/* Editors given as a bare command run directly; anything else (arguments,
 * quotes) through sh, as git does. */
static int is_plain_command(const char *command)
{
    for (const char *p = command; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./+-", *p))
            return 0;
    return *command != '\0';
}

/* In the child: script is NULL for a plain command, else the sh -c text. */
static void exec_editor(const char *editor, const char *script, const char *file, int report,
                        const sigset_t *mask)
{
    for (size_t i = 0; i < sizeof caught / sizeof *caught; i++)
        signal(caught[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    if (!script)
        execlp(editor, editor, file, (char *)NULL);
    else
        execl("/bin/sh", "sh", "-c", script, editor, file, (char *)NULL);
    int e = errno;
    if (write(report, &e, sizeof e) < 0)
        _exit(127);
    _exit(127);
}

/* Run the editor on file and wait. 0 when it exited 0, else -1 with *error. */
static int run_editor(const char *editor, const char *file, char **error)
{
    int report[2];
    if (pipe(report) < 0) {
        *error = xasprintf("cannot run editor '%s': %s", editor, strerror(errno));
        return -1;
    }
    fcntl(report[0], F_SETFD, FD_CLOEXEC);
    fcntl(report[1], F_SETFD, FD_CLOEXEC);
    char *script = is_plain_command(editor) ? NULL : xasprintf("%s \"$@\"", editor);
    fflush(NULL);
    /* Block the signals until session.editor is set: an editor that signals
     * batou-ng at once must find itself recorded as running. */
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof caught / sizeof *caught; i++)
        sigaddset(&block, caught[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        free(script);
        *error = xasprintf("cannot run editor '%s': %s", editor, strerror(errno));
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        close(report[0]);
        exec_editor(editor, script, file, report[1], &old);
    }
    free(script);
    session.editor = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    session.editor = 0;
    if (got == (ssize_t)sizeof exec_errno) {
        *error = xasprintf("cannot run editor '%s': %s", editor, strerror(exec_errno));
        return -1;
    }
    if (WIFSIGNALED(status)) {
        *error = xasprintf("editor '%s' was killed by signal %d: nothing was changed", editor,
                           WTERMSIG(status));
        return -1;
    }
    /* A ^C the editor handled itself (and exited normally) ends nothing. */
    session.sig = 0;
    if (WEXITSTATUS(status) != 0) {
        *error = xasprintf("editor '%s' failed with exit status %d: nothing was changed", editor,
                           WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

/* Every [component:x] of the edited secrets must name a component, or each
 * later -c refuses them. The components' own errors are -c's business. */
static void check_sections(const struct environment *env, const char *path, struct diags *d)
{
    struct diags ignored;
    diags_init(&ignored);
    struct model *m = model_new(env, NULL, 0, &ignored);
    if (m)
        model_check_sections(m, path, d);
    model_free(m);
    diags_release(&ignored);
}

/* Check an edited secrets.cfg: INI, [batou] members with usable keys, merge
 * with the environment (clashes, unknown hosts, components that do not
 * exist). Errors go to d. */
static void validate_config(const char *env_name, const char *path, const struct buf *text,
                            struct diags *d)
{
    struct environment env;
    struct diags ignored;
    diags_init(&ignored);
    /* environment.cfg's own errors are -c's business, not this edit's. */
    environment_load(&env, env_name, &ignored);
    diags_release(&ignored);
    secrets_merge(&env, path, text->data ? text->data : "", text->len, d);
    if (d->count == 0)
        check_sections(&env, path, d);
    environment_release(&env);
    if (d->count > 0)
        return;
    char **members;
    size_t count;
    char *error = NULL;
    if (secrets_members(path, text->data, text->len, &members, &count, &error) == 0) {
        struct secrets_recipients *r = secrets_recipients_new(members, count, &error);
        secrets_recipients_free(r);
        for (size_t i = 0; i < count; i++)
            free(members[i]);
        free(members);
    }
    if (error)
        diag_add(d, path, 0, 0, "%s", error);
    free(error);
}

/* Ask "re-edit? [Y/n]" on the terminal: 1 for yes. */
static int ask_reedit(void)
{
    fputs("batou-ng: re-edit? [Y/n] ", stderr);
    fflush(stderr);
    char answer[64];
    size_t n = 0;
    char c;
    ssize_t got;
    while (n + 1 < sizeof answer && (got = read(STDIN_FILENO, &c, 1)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 || c == '\n')
            break;
        answer[n++] = c;
    }
    answer[n] = '\0';
    if (got == 0 && n == 0)
        return 0;
    const char *a = strip(answer);
    return *a == '\0' || *a == 'y' || *a == 'Y';
}

struct edit_request {
    const char *env;
    const char *file;    /* NULL or "secrets.cfg": the config */
    const char *editor;  /* --editor, $EDITOR or "vi" */
    const char *members; /* --members, or NULL */
    char *name;          /* the secret file's <name>, NULL for the config */
};

static int parse_request(int argc, char **argv, struct edit_request *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char **option = NULL;
        const char *value = NULL;
        if ((strncmp(arg, "--editor", 8) == 0 && (!arg[8] || arg[8] == '=')) ||
            strcmp(arg, "-e") == 0) /* batou's spelling */
            option = &r->editor;
        else if (strncmp(arg, "--members", 9) == 0 && (!arg[9] || arg[9] == '='))
            option = &r->members;
        if (option) {
            value = strchr(arg, '=');
            if (value)
                value++;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return secrets_usage_error("option '%s' needs a value", arg);
            *option = value;
        } else if (arg[0] == '-' && arg[1]) {
            return secrets_usage_error("unknown option '%s'", arg);
        } else if (!r->env) {
            r->env = arg;
        } else if (!r->file) {
            r->file = arg;
        } else {
            return secrets_usage_error("unexpected argument '%s'", arg);
        }
    }
    if (!r->env)
        return secrets_usage_error("'secrets edit' needs an environment name");
    if (!r->editor || !*r->editor)
        r->editor = getenv("EDITOR");
    if (!r->editor || !*r->editor)
        r->editor = "vi";
    return 0;
}

/* FILE as the user may write it: "secrets.cfg", "<name>", "secret-<name>"
 * or "secret-<name>.gpg". 0, or a usage error's status. */
static int parse_target(struct edit_request *r)
{
    const char *file = r->file;
    if (!file || strcmp(file, "secrets.cfg") == 0 || strcmp(file, "secrets.cfg.gpg") == 0)
        return 0;
    size_t n = strlen(file);
    if (n > 4 && strcmp(file + n - 4, ".gpg") == 0)
        n -= 4;
    if (strncmp(file, "secret-", 7) == 0 && n > 7) {
        file += 7;
        n -= 7;
    }
    r->name = xstrndup(file, n);
    int bad = !*r->name || r->name[0] == '.' || strchr(r->name, '/');
    for (const char *p = r->name; *p; p++)
        bad |= (unsigned char)*p < 0x20;
    if (bad) {
        secrets_usage_error("invalid secret file name '%s': use secrets.cfg or a plain file name",
                            r->file);
        return 2;
    }
    return 0;
}

static const char template_text[] = "# Overrides for components, merged with environment.cfg's:\n"
                                    "# [component:myapp]\n"
                                    "# db_password = ...\n"
                                    "\n"
                                    "# Secret host data (host.data.api_key):\n"
                                    "# [host:web01]\n"
                                    "# data-api_key = ...\n";

/* A new environment's secrets.cfg: members from --members or the default key. */
static int new_config(struct secrets_env *s, const struct edit_request *r)
{
    char **members;
    size_t count;
    char *error = NULL;
    if (r->members) {
        members = secrets_split_list(r->members, &count);
        if (count == 0) {
            free(members);
            return secrets_usage_error("option '--members' needs at least one key id");
        }
    } else {
        char *member = secrets_default_member(&error);
        if (!member)
            return secrets_fail(1, "%s", error);
        members = xmalloc(sizeof *members);
        members[0] = member;
        count = 1;
        fprintf(stderr,
                "batou-ng: notice: new secrets for environment '%s': member '%s' (the default "
                "key; choose members with --members)\n",
                s->name, member);
    }
    for (size_t i = 0; i < count; i++) {
        if (secrets_check_key(members[i], &error) < 0) {
            secrets_fail(1, "%s", error);
            free(error);
            for (size_t k = 0; k < count; k++)
                free(members[k]);
            free(members);
            return 1;
        }
    }
    buf_adds(&s->config, template_text);
    secrets_set_members(&s->config, members, count);
    secrets_add_hash_key(&s->config);
    for (size_t i = 0; i < count; i++)
        free(members[i]);
    free(members);
    s->has_config = 1;
    return 0;
}

/* Edit text (the plaintext of display) until it is acceptable; *out gets
 * the result. 0, or the exit status of a failure (reported). */
static int edit_loop(const struct edit_request *r, const char *display, const struct buf *text,
                     struct buf *out)
{
    char *path = NULL, *error = NULL;
    int status = 0;
    if (start_session(r->name ? r->name : "secrets.cfg", text, &path, &error) < 0) {
        status = secrets_fail(1, "%s", error);
        goto done;
    }
    for (;;) {
        if (run_editor(r->editor, path, &error) < 0 || read_edited(path, out, &error) < 0) {
            status = secrets_fail(1, "%s", error);
            goto done;
        }
        if (r->name)
            break;
        struct diags d;
        diags_init(&d);
        validate_config(r->env, display, out, &d);
        size_t errors = d.count;
        diags_report(&d, stderr);
        diags_release(&d);
        if (errors == 0)
            break;
        if (!isatty(STDIN_FILENO)) {
            status =
                secrets_fail(1, "'%s' was not changed: the edited secrets have errors", display);
            goto done;
        }
        if (!ask_reedit()) {
            status = secrets_fail(1, "'%s' was not changed", display);
            goto done;
        }
    }
done:
    end_session();
    free(path);
    free(error);
    return status;
}

static int same_text(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int secrets_edit_command(int argc, char **argv)
{
    struct edit_request r;
    int status = parse_request(argc, argv, &r);
    if (status == 0)
        status = parse_target(&r);
    if (status == 0)
        status = secrets_check_environment(r.env);
    if (status != 0) {
        free(r.name);
        return status;
    }
    struct secrets_env s;
    memset(&s, 0, sizeof s);
    char *error = NULL;
    struct buf edited;
    buf_init(&edited);
    if (secrets_gpg_init(&error) < 0 || secrets_env_open(&s, r.env, &error) < 0) {
        status = secrets_fail(1, "%s", error);
        goto release;
    }
    if (s.has_config && r.members) {
        status = secrets_usage_error("option '--members' only applies to new secrets (use "
                                     "'batou-ng secrets add')");
        goto release;
    }
    int is_new = !s.has_config;
    if (is_new && (status = new_config(&s, &r)) != 0)
        goto release;
    struct secrets_file *file = NULL;
    if (r.name) {
        file = secrets_env_file(&s, r.name);
        is_new = !file;
        if (!file)
            file = secrets_env_add_file(&s, r.name);
    }
    struct buf *target = file ? &file->plain : &s.config;
    const char *display = file ? file->path : s.config_path;
    status = edit_loop(&r, display, target, &edited);
    if (status != 0)
        goto release;
    if (!is_new && same_text(&edited, target)) {
        printf("'%s' is unchanged: nothing was written\n", display);
        goto release;
    }
    secrets_wipe(target);
    *target = edited;
    buf_init(&edited);
    if (secrets_env_save(&s, &error) < 0) {
        status = secrets_fail(1, "%s (nothing was written)", error);
        goto release;
    }
    size_t files = s.nfiles + 1;
    printf("wrote '%s' (environment '%s': %zu %s encrypted)\n", display, r.env, files,
           files == 1 ? "file" : "files");
release:
    secrets_env_release(&s);
    secrets_wipe(&edited);
    free(error);
    free(r.name);
    return status;
}
