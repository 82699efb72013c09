#ifndef BATOU_SHELL_H
#define BATOU_SHELL_H

/* Building POSIX shell fragments for the target's `sh`: quoting, data in
 * here-documents, and the atomic file write. Everything appends to a
 * struct buf; a fragment is plain text (it never holds a NUL byte). */

#include <stddef.h>

struct buf;

/* Append s as one shell word: as is when it only holds safe characters
 * ([A-Za-z0-9_@%+:,./-], not empty), else single-quoted. */
void shell_quote(struct buf *out, const char *s);
/* The same for len bytes; returns -1 (and appends nothing) when they hold a
 * NUL byte, which no shell word can carry. */
int shell_quote_n(struct buf *out, const char *s, size_t len);
/* Append path (len bytes) quoted for the shell, relative ones prefixed with
 * "./" so that no tool takes a leading '-' for an option. */
void shell_quote_path(struct buf *out, const char *path, size_t len);

/* Append shell text that runs command (shell text) in a fresh `sh`, as
 * `sh -c COMMAND` would, with env (nenv "NAME=value" strings, NAME an
 * identifier) in its environment and redirect ("2>&1", ...) applied to it:
 *
 *   ( NAME='value'; export NAME
 *   sh -c 'c=$(cat) && exec </dev/null && eval "$c"' REDIRECT <<'TERM'
 *   COMMAND
 *   TERM
 *   )
 *
 * ending with the ")" (no newline). Unlike `sh -c COMMAND` or `env
 * NAME=value ...`, neither the text nor the values are ever in a process's
 * argv, which every local user can read (ps, /proc/PID/cmdline): the text
 * reaches the target's shell on its stdin and the new sh through a
 * here-document; the values are in the environment of what the command
 * starts, as asked. Its stdin is /dev/null; TERM is random and not in the
 * text. */
void shell_run_command(struct buf *out, const char *command, const char *const *env, size_t nenv,
                       const char *redirect);
/* Append a subshell evaluating command, for a check (a query): the same
 * exports, then `eval` of the quoted text, REDIRECT after the ")". The text
 * is in the script the target's shell reads, never in an argv, as above; no
 * sh and no cat are started for it, so a check of builtins (`test -f x`)
 * costs a fork only. The check sees the session shell's functions, but not
 * its T. */
void shell_eval_command(struct buf *out, const char *command, const char *const *env,
                        size_t nenv, const char *redirect);

/* Append " <<'TERM'\n", data as base64 lines, "TERM\n": a here-document that
 * `base64 -d` decodes to exactly data. TERM is random and cannot occur in
 * base64, so the data never ends the document early. Put the command before. */
void shell_heredoc_base64(struct buf *out, const void *data, size_t len);

/* What shell_write_file writes. */
struct shell_write {
    const char *path; /* absolute, or relative to the shell's working directory */
    const void *data; /* the new content, any bytes */
    size_t len;
    int mode;           /* 0..07777, or -1: keep an existing file's mode (GNU chmod
                           --reference), a new file gets 0666 minus the umask */
    const char *owner;  /* chown the file to this user first; NULL leaves it */
    const char *group;  /* chgrp likewise; NULL leaves it */
    int leading;        /* create missing parent directories (mkdir -p) */
    int mode_later;     /* shell_stage_file, mode -1: the caller copies an existing file's mode
                           onto the staged one (no chmod --reference a file) */
    const char *upload; /* set: the content is not in data but waits on the target in
                           "$T/<upload>" (session_upload, hosts/session.h), len bytes:
                           its size is checked and it is moved into place */
};

/* Content from this size on travels as an upload (hosts/session.h), not
 * inside the script: dash reads a script a byte at a time, and base64 in
 * a quoted eval twice. */
#define SHELL_UPLOAD_MIN (1024 * 1024)

/* Append a fragment that replaces w->path atomically: a temp file in the same
 * directory gets the data, owner, group and mode, is synced, then renamed onto
 * the path. On any failure it removes the temp file, leaves the old file as it
 * was and exits non-zero (the tools' messages go to stderr). It sets the shell
 * variables d, p, t and r and changes the umask: run it in a subshell.
 * Returns 0, or -1 with *err (allocated) for a path or mode it cannot write. */
int shell_write_file(struct buf *out, const struct shell_write *w, char **err);

/* Append text that writes w->path's new content under its final name in
 * the directory staging (a directory beside the path, made on first use:
 * mode 0700, with its parents when w->leading), with the mode, owner and
 * group it will have, but neither syncs nor renames it: that is done for
 * many files at once (hosts/shell_host_stage.c). A directory at w->path
 * fails it; a symlink there is left for the rename to replace. It runs in
 * the caller's shell (no subshell), calling the functions of
 * shell_stage_functions and _sx, which must undo the umask and set -C it
 * changes; it sets _t (the staged file) and _r. On failure the staged file
 * is removed and the text's status is non-zero. 0, or -1 with *err
 * (allocated). */
extern const char shell_stage_functions[];
int shell_stage_file(struct buf *out, const struct shell_write *w, const char *staging,
                     char **err);
/* Append a name unique on the target for a temp file or a staging
 * directory: ".batou-ng." and hex digits (pid, a counter, the time). */
void shell_temp_name(struct buf *out);

#endif
