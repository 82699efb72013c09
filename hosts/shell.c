#include "hosts/shell.h"

#include "engine/util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int is_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_@%+:,./-", c) != NULL;
}

int shell_quote_n(struct buf *out, const char *s, size_t len)
{
    int safe = len > 0;

    if (memchr(s, '\0', len))
        return -1;
    for (size_t i = 0; i < len && safe; i++)
        safe = is_safe((unsigned char)s[i]);
    if (safe) {
        buf_add(out, s, len);
        return 0;
    }
    /* Inside single quotes every byte is literal except ' itself, which
     * closes the quote, adds an escaped quote and reopens: '\'' */
    buf_addc(out, '\'');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'')
            buf_adds(out, "'\\''");
        else
            buf_addc(out, s[i]);
    }
    buf_addc(out, '\'');
    return 0;
}

void shell_quote(struct buf *out, const char *s)
{
    shell_quote_n(out, s, strlen(s));
}

/* 64 random bits for here-document terminators; they need not be secret,
 * only unlikely to repeat, so a clock fallback is fine. */
static uint64_t random_bits(void)
{
    static uint64_t counter;
    uint64_t r;

    if (getentropy(&r, sizeof r) == 0)
        return r;
    r = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (++counter * 0x9e3779b97f4a7c15u);
    return r;
}

/* "NAME=value; export NAME" for each "NAME=value" of env (validated before:
 * host_op_check, host_query_check). */
static void add_exports(struct buf *out, const char *const *env, size_t nenv)
{
    for (size_t k = 0; k < nenv; k++) {
        const char *eq = strchr(env[k], '=');
        if (!eq)
            continue;
        buf_add(out, env[k], (size_t)(eq - env[k]));
        buf_addc(out, '=');
        shell_quote(out, eq + 1);
        buf_adds(out, "; export ");
        buf_add(out, env[k], (size_t)(eq - env[k]));
        buf_addc(out, '\n');
    }
}

void shell_run_command(struct buf *out, const char *command, const char *const *env, size_t nenv,
                       const char *redirect)
{
    buf_adds(out, "( ");
    add_exports(out, env, nenv);
    char term[40];
    do
        snprintf(term, sizeof term, "BATOU_NG_CMD_%016llx", (unsigned long long)random_bits());
    while (strstr(command, term));
    buf_addf(out, "sh -c 'c=$(cat) && exec </dev/null && eval \"$c\"' %s <<'%s'\n", redirect, term);
    buf_adds(out, command);
    buf_addf(out, "\n%s\n)", term);
}

void shell_eval_command(struct buf *out, const char *command, const char *const *env,
                        size_t nenv, const char *redirect)
{
    buf_adds(out, "( ");
    add_exports(out, env, nenv);
    /* The session's T names its reply files: not the check's business. */
    buf_adds(out, "unset T; eval ");
    shell_quote(out, command);
    buf_addf(out, " ) %s", redirect);
}

static void add_base64_lines(struct buf *out, const unsigned char *p, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[80];
    size_t n = 0;

    for (size_t i = 0; i < len; i += 3) {
        size_t left = len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        line[n++] = alphabet[(v >> 18) & 63];
        line[n++] = alphabet[(v >> 12) & 63];
        line[n++] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
        line[n++] = left > 2 ? alphabet[v & 63] : '=';
        if (n == 76) {
            line[n++] = '\n';
            buf_add(out, line, n);
            n = 0;
        }
    }
    if (n) {
        line[n++] = '\n';
        buf_add(out, line, n);
    }
}

void shell_heredoc_base64(struct buf *out, const void *data, size_t len)
{
    char term[32];

    /* '_' is not in the base64 alphabet: no data line can equal term. */
    snprintf(term, sizeof term, "BATOU_NG_%016llx", (unsigned long long)random_bits());
    buf_addf(out, " <<'%s'\n", term);
    add_base64_lines(out, data, len);
    buf_addf(out, "%s\n", term);
}

void shell_quote_path(struct buf *out, const char *path, size_t len)
{
    struct buf b;

    buf_init(&b);
    if (path[0] != '/')
        buf_adds(&b, "./");
    buf_add(&b, path, len);
    shell_quote_n(out, b.data, b.len);
    buf_release(&b);
}

static int check_write(const struct shell_write *w, char **err)
{
    const char *path = w->path ? w->path : "";
    size_t len = strlen(path);
    const char *base = strrchr(path, '/');

    base = base ? base + 1 : path;
    if (len == 0) {
        *err = xstrdup("cannot write a file with an empty path");
        return -1;
    }
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        *err = xasprintf("cannot write '%s': it names a directory", path);
        return -1;
    }
    if (w->mode < -1 || w->mode > 07777) {
        *err = xasprintf("cannot write '%s': invalid mode %o", path, (unsigned)w->mode);
        return -1;
    }
    if ((w->owner && (!*w->owner || w->owner[0] == '-')) ||
        (w->group && (!*w->group || w->group[0] == '-'))) {
        *err = xasprintf("cannot write '%s': invalid owner or group '%s'", path,
                         w->owner && (!*w->owner || w->owner[0] == '-') ? w->owner : w->group);
        return -1;
    }
    return 0;
}

/* A temp name unique on the target: this process's pid, a counter and the
 * time; created exclusively (noclobber), so a clash fails, never clobbers. */
void shell_temp_name(struct buf *out)
{
    static unsigned long counter;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    buf_addf(out, ".batou-ng.%lx%lx%lx", (unsigned long)getpid(), ++counter,
             (unsigned long)now.tv_nsec);
}

/* Contents up to this size without NUL bytes go through printf, a builtin;
 * others through base64 -d (one more process). */
#define PRINTF_MAX (1024 * 1024)

/* The fragment, for path /srv/app.ini, mode 0640, owner www:
 *
 *   d='/srv' p='/srv/app.ini'
 *   [ -d "$p" ] && ! [ -h "$p" ] && { echo "batou-ng: '$p' is a directory" >&2; exit 1; }
 *   t="$d/.batou-ng.<unique>"
 *   umask 0137; set -C
 *   printf '%s' '...content...' >"$t" || exit 1
 *   set +C
 *   { chown www "$t" && { sync "$t" || sync; } &&
 *   mv -fT "$t" "$p"; } || { rm -f "$t"; exit 1; }
 *
 * Every step but sync and mv is a shell builtin when it can be: the umask
 * gives the file its mode at creation when the mode needs no bit outside
 * 0666 (else chmod), content without NUL bytes is printf's (else base64 -d
 * from a here-document). Without a mode, a new file gets the login's umask
 * and a replaced one the old file's mode (chmod --reference; a symlink at
 * the path is never followed: the file replacing it is new), the temp file
 * private (umask 077) until then. The file is never visible under its name
 * before it is whole: mode and owner are set, and the data synced, before
 * the rename. A directory at the path fails the write (mv would move the
 * file into it); a symlink there is replaced by the file, even one to a
 * directory: GNU mv -T renames onto the path itself, never into what it
 * names. `sync FILE` needs coreutils 8.24, older ones sync
 * everything. Runs in a subshell of its own (umask, set -C, exit). */
int shell_write_file(struct buf *out, const struct shell_write *w, char **err)
{
    if (check_write(w, err))
        return -1;
    const char *slash = strrchr(w->path, '/');

    buf_adds(out, "d=");
    if (!slash)
        buf_adds(out, ".");
    else if (slash == w->path)
        buf_adds(out, "/");
    else
        shell_quote_path(out, w->path, (size_t)(slash - w->path));
    buf_adds(out, " p=");
    shell_quote_path(out, w->path, strlen(w->path));
    buf_adds(out, "\n[ -d \"$p\" ] && ! [ -h \"$p\" ] &&"
                  " { echo \"batou-ng: '$p' is a directory\" >&2; exit 1; }\n");
    if (w->leading)
        buf_adds(out, "[ -d \"$d\" ] || mkdir -p \"$d\" || exit 1\n");
    buf_adds(out, "t=\"$d/");
    shell_temp_name(out);
    buf_adds(out, "\"\n");
    int by_umask = w->mode >= 0 && (w->mode & ~0666) == 0;
    if (by_umask)
        buf_addf(out, "umask %04o\n", (unsigned)(0777 & ~w->mode));
    else if (w->mode >= 0)
        buf_adds(out, "umask 077\n");
    else
        buf_adds(out, "r=\nif [ -e \"$p\" ] && ! [ -h \"$p\" ]; then umask 077; r=1; fi\n");
    buf_adds(out, "set -C\n");
    if (w->upload) {
        buf_addf(out,
                 "{ [ \"$(LC_ALL=C wc -c <\"$T/%s\" 2>/dev/null)\" = %zu ] ||"
                 " { cat \"$T/%s.e\" >&2 2>/dev/null;"
                 " echo \"batou-ng: the upload of '$p' is incomplete\" >&2; false; }; } &&"
                 " : >\"$t\" && LC_ALL=C chmod --reference=\"$t\" -- \"$T/%s\" &&"
                 " LC_ALL=C mv -f -- \"$T/%s\" \"$t\" || { rm -f \"$t\"; exit 1; }\n",
                 w->upload, w->len, w->upload, w->upload, w->upload);
    } else if (w->len <= PRINTF_MAX && !memchr(w->data, '\0', w->len)) {
        buf_adds(out, "printf '%s' ");
        if (w->len)
            shell_quote_n(out, w->data, w->len);
        else
            buf_adds(out, "''");
        /* On that (rare) path the tools say why: dash's printf says "I/O
         * error" whatever the errno, so head appends to what it wrote (a
         * full disk stays full while that is there: "No space left on
         * device"); dash's own message for a failed redirection lumps
         * ENOENT and ENOTDIR together, so touch says which it is. */
        buf_adds(out, " 2>/dev/null >\"$t\" || { [ -e \"$t\" ] && LC_ALL=C head -c 65536 /dev/zero"
                      " >>\"$t\"; rm -f \"$t\" 2>/dev/null; LC_ALL=C touch -- \"$t\" &&"
                      " { rm -f \"$t\"; echo \"batou-ng: cannot write '$t'\" >&2; }; exit 1; }\n");
    } else {
        buf_adds(out, "{ base64 -d >\"$t\"");
        shell_heredoc_base64(out, w->data, w->len);
        buf_adds(out, "} || { rm -f \"$t\"; exit 1; }\n");
    }
    buf_adds(out, "set +C\n{ ");
    if (w->owner) {
        buf_adds(out, "chown ");
        shell_quote(out, w->owner);
        buf_adds(out, " \"$t\" && ");
    }
    if (w->group) {
        buf_adds(out, "chgrp ");
        shell_quote(out, w->group);
        buf_adds(out, " \"$t\" && ");
    }
    if (w->mode >= 0 && !by_umask)
        buf_addf(out, "chmod %04o \"$t\" && ", (unsigned)w->mode);
    else if (w->mode < 0)
        buf_adds(out, "{ [ -z \"$r\" ] || chmod --reference=\"$p\" \"$t\"; } && ");
    buf_adds(out, "{ sync \"$t\" 2>/dev/null || sync; } &&\n"
                  "mv -fT \"$t\" \"$p\"; } || { rm -f \"$t\"; exit 1; }\n");
    return 0;
}

/* The staged write of a file whose content printf can carry, for path
 * /srv/app.ini, mode 0640, owner www, staging directory /srv/.batou-ng.S:
 *
 *   _w /srv/app.ini /srv/.batou-ng.S 0137 '' '...content...' &&
 *   { chown -- www "$_t" || { rm -f -- "$_t"; false; }; }
 *
 * _w (shell_stage_functions) refuses a directory at the path, makes the
 * staging directory on first use (mode 0700, with its parents when
 * leading), sets the umask (077 and chmod after it for a mode outside
 * 0666; for no mode, 077 and chmod --reference when a file is there, else
 * the login's; with mode_later 077 and no chmod), creates the file exclusively (set -C) under its final name
 * in the staging directory and fills it with printf. Other content goes
 * through base64 -d, inline, or, from SHELL_UPLOAD_MIN on, is an upload
 * that _wu checks and moves onto the file made empty. Everything runs in the fragment's own shell
 * (no subshell: a fork a file costs more than the rest of a small file);
 * nothing is synced or renamed (hosts/shell_host_stage.c does both once for
 * many files). */
const char shell_stage_functions[] =
    "_wp() { if [ -d \"$1\" ] && ! [ -h \"$1\" ]; then"
    " printf '%s\\n' 'batou-ng: Is a directory' >&2; return 1; fi\n"
    "[ -d \"$2\" ] || { if [ -n \"$4\" ]; then LC_ALL=C mkdir -p -m 700 -- \"$2\";"
    " else LC_ALL=C mkdir -m 700 -- \"$2\"; fi; } || return\n"
    "_t=\"$2/${1##*/}\" _r=\n"
    "case $3 in -) if [ -e \"$1\" ] && ! [ -h \"$1\" ]; then umask 077; _r=1; fi ;;"
    " +) if [ -e \"$1\" ] && ! [ -h \"$1\" ]; then umask 077; fi ;; *) umask \"$3\" ;; esac\n"
    "set -C; }\n"
    "_w() { _wp \"$1\" \"$2\" \"$3\" \"$4\" || return\n"
    "if printf '%s' \"$5\" 2>/dev/null >\"$_t\"; then _sx; else _sx; _wd \"$_t\"; return 1; fi\n"
    "_wr \"$1\"; }\n"
    /* _wu NAME LEN: the upload "$T/NAME", whole, becomes the staged file,
     * which is made first (set -C) so that it gets its mode as above. */
    "_wu() { [ \"$(LC_ALL=C wc -c <\"$T/$1\" 2>/dev/null)\" = \"$2\" ] ||"
    " { cat \"$T/$1.e\" >&2 2>/dev/null;"
    " printf 'batou-ng: the upload of %s bytes is incomplete\\n' \"$2\" >&2; return 1; }\n"
    ": >\"$_t\" && LC_ALL=C chmod --reference=\"$_t\" -- \"$T/$1\" &&"
    " LC_ALL=C mv -f -- \"$T/$1\" \"$_t\"; }\n"
    "_wr() { [ -z \"$_r\" ] || LC_ALL=C chmod --reference=\"$1\" -- \"$_t\" ||"
    " { rm -f -- \"$_t\"; return 1; }; }\n"
    /* As shell_write_file says why: dash's printf says "I/O error" whatever
     * the errno, and its redirection lumps ENOENT and ENOTDIR together. */
    "_wd() { { [ -e \"$1\" ] && LC_ALL=C head -c 65536 /dev/zero >>\"$1\"; };"
    " rm -f -- \"$1\" 2>/dev/null; LC_ALL=C touch -- \"$1\" &&"
    " { rm -f -- \"$1\"; printf \"batou-ng: cannot write '%s'\\n\" \"$1\" >&2; }; }\n";

int shell_stage_file(struct buf *out, const struct shell_write *w, const char *staging,
                     char **err)
{
    if (check_write(w, err))
        return -1;
    int by_umask = w->mode >= 0 && (w->mode & ~0666) == 0;
    char umask[8];
    if (by_umask)
        snprintf(umask, sizeof umask, "%04o", (unsigned)(0777 & ~w->mode));
    else
        snprintf(umask, sizeof umask, "%s", w->mode >= 0 ? "077" : w->mode_later ? "+" : "-");
    if (!w->upload && w->len <= PRINTF_MAX && !memchr(w->data, '\0', w->len)) {
        buf_adds(out, "_w ");
        shell_quote_path(out, w->path, strlen(w->path));
        buf_addc(out, ' ');
        shell_quote_path(out, staging, strlen(staging));
        buf_addf(out, " %s %s ", umask, w->leading ? "1" : "''");
        if (w->len)
            shell_quote_n(out, w->data, w->len);
        else
            buf_adds(out, "''");
    } else {
        /* _w's steps, with base64 -d filling the file. */
        struct buf p;
        buf_init(&p);
        shell_quote_path(&p, w->path, strlen(w->path));
        buf_addf(out, "{ _wp %s ", p.data);
        shell_quote_path(out, staging, strlen(staging));
        buf_addf(out, " %s %s && { ", umask, w->leading ? "1" : "''");
        if (w->upload) {
            buf_addf(out, "_wu %s %zu\n", w->upload, w->len);
        } else {
            buf_adds(out, "base64 -d >\"$_t\"");
            shell_heredoc_base64(out, w->data, w->len);
        }
        buf_addf(out, "} || { _sx; rm -f -- \"$_t\"; false; }; } && _sx && _wr %s", p.data);
        buf_release(&p);
    }
    if (!w->owner && !w->group && (w->mode < 0 || by_umask))
        return 0;
    buf_adds(out, " && { ");
    if (w->owner) {
        buf_adds(out, "LC_ALL=C chown -- ");
        shell_quote(out, w->owner);
        buf_adds(out, " \"$_t\" && ");
    }
    if (w->group) {
        buf_adds(out, "LC_ALL=C chgrp -- ");
        shell_quote(out, w->group);
        buf_adds(out, " \"$_t\" && ");
    }
    if (w->mode >= 0 && !by_umask)
        buf_addf(out, "LC_ALL=C chmod -- %04o \"$_t\" && ", (unsigned)w->mode);
    buf_adds(out, ":; } || { rm -f -- \"$_t\"; false; }");
    return 0;
}
