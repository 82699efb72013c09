/* Shell fragments that read and write the target manifest (its format is
 * documented in engine/deploy/manifest.c), built with hosts/shell.h's quoting. */

#include "engine/deploy/manifest.h"

#include "engine/util.h"
#include "hosts/shell.h"

#include <string.h>

/* Appends up to this size go as one printf argument: one write(2) in dash,
 * and under the 128 KiB an exec'd printf could take. Larger ones (batches
 * of records) go as base64 in a here-document. */
#define PRINTF_MAX 65536

char *manifest_path(const char *target_directory)
{
    size_t n = strlen(target_directory);

    if (n == 0)
        return xstrdup(".batou-ng/manifest");
    return xasprintf("%s%s.batou-ng/manifest", target_directory,
                     target_directory[n - 1] == '/' ? "" : "/");
}

/* "f=<path>\n", or with mkdir "d=<dir> f=<path>\n" and a line creating d. */
static void set_vars(struct buf *out, const char *path, int mkdir)
{
    const char *slash = strrchr(path, '/');

    if (mkdir) {
        buf_adds(out, "d=");
        if (!slash)
            buf_adds(out, ".");
        else if (slash == path)
            buf_adds(out, "/");
        else
            shell_quote_path(out, path, (size_t)(slash - path));
        buf_addc(out, ' ');
    }
    buf_adds(out, "f=");
    shell_quote_path(out, path, strlen(path));
    buf_addc(out, '\n');
    /* -m applies to d only; missing parents get the usual mode */
    if (mkdir)
        buf_adds(out, "[ -d \"$d\" ] || mkdir -p -m 0700 \"$d\" || exit 1\n");
}

/* The fragment, for one record:
 *
 *   d=/srv/app/.batou-ng f=/srv/app/.batou-ng/manifest
 *   [ -d "$d" ] || mkdir -p -m 0700 "$d" || exit 1
 *   printf '%s' 'N key File 0123... /srv/app/a #89ab...
 *   ' >>"$f" || exit 1 */
int manifest_append_fragment(struct buf *out, const char *path, const char *lines, size_t len,
                             char **err)
{
    if (!*path) {
        *err = xstrdup("cannot append to a manifest with an empty path");
        return -1;
    }
    if (len == 0 || lines[len - 1] != '\n' || memchr(lines, '\0', len)) {
        *err = xasprintf("cannot append to '%s': the records are not whole lines", path);
        return -1;
    }
    set_vars(out, path, 1);
    if (len <= PRINTF_MAX) {
        buf_adds(out, "printf '%s' ");
        shell_quote_n(out, lines, len);
        buf_adds(out, " >>\"$f\" || exit 1\n");
    } else {
        buf_adds(out, "{ base64 -d >>\"$f\"");
        shell_heredoc_base64(out, lines, len);
        buf_adds(out, "} || exit 1\n");
    }
    return 0;
}

int manifest_rewrite_fragment(struct buf *out, const char *path, const char *data, size_t len,
                              char **err)
{
    struct shell_write w = {.path = path, .data = data, .len = len, .mode = 0600};
    struct buf write;

    buf_init(&write);
    if (shell_write_file(&write, &w, err)) {
        buf_release(&write);
        return -1;
    }
    set_vars(out, path, 1);
    /* A subshell: the write changes the umask. */
    buf_adds(out, "( ");
    buf_add(out, write.data, write.len);
    buf_adds(out, ") || exit 1\n");
    buf_release(&write);
    return 0;
}

/* Only a regular file, no symlink, of at most MANIFEST_MAX_BYTES is read
 * (as engine/deploy/deploy_cache.c does): a FIFO would block, /dev/zero
 * never end. Sets s to its size. */
static void check_regular(struct buf *out)
{
    buf_adds(out, "if [ -h \"$f\" ] || [ ! -f \"$f\" ]; then\n"
                  "printf \"'%s' is not a regular file\\n\" \"${f##*/}\" >&2; exit 1; fi\n"
                  "s=$(wc -c <\"$f\") || exit 1\n");
    buf_addf(out,
             "if [ \"$s\" -gt %d ]; then\n"
             "printf \"'%%s' is larger than %d MiB: not a manifest\\n\" \"${f##*/}\" >&2; "
             "exit 1; fi\n",
             MANIFEST_MAX_BYTES, MANIFEST_MAX_BYTES >> 20);
}

void manifest_read_fragment(struct buf *out, const char *path)
{
    set_vars(out, path, 0);
    buf_adds(out, "if [ -e \"$f\" ] || [ -h \"$f\" ]; then\n");
    check_regular(out);
    buf_addf(out, "head -c %d -- \"$f\" || exit 1\nfi\n", MANIFEST_MAX_BYTES);
}

/* wc -c of a regular file only stats it; the header comes through head (a
 * read builtin on a file without a newline would take a syscall per byte).
 * Without the deploy lock, a rewrite between wc and head could pair the
 * old size with the new generation; the engine reads it under the lock. */
void manifest_generation_fragment(struct buf *out, const char *path)
{
    set_vars(out, path, 0);
    buf_adds(out, "if [ -e \"$f\" ] || [ -h \"$f\" ]; then\n");
    check_regular(out);
    buf_adds(out, "h=$(head -c 128 -- \"$f\") || exit 1\n"
                  "IFS=' ' read -r a b c g r <<_B_\n$h\n_B_\n"
                  "case \"$a $b $c\" in 'H batou-ng-manifest '[12]) ;; *) g=- ;; esac\n"
                  "printf '%s %s\\n' \"${g:--}\" $s\n"
                  "fi\n");
}

static int is_hex32(const char *s, size_t n)
{
    if (n != 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

int manifest_parse_generation(const char *out, size_t len, char gen[MANIFEST_HEX], uint64_t *size)
{
    const char *space = NULL;
    uint64_t v = 0;

    gen[0] = '\0';
    *size = 0;
    if (len == 0)
        return 0;
    if (out[len - 1] != '\n')
        return -1;
    for (size_t i = 0; i + 1 < len; i++) {
        if (out[i] == '\n')
            return -1;
        if (out[i] == ' ')
            space = out + i;
    }
    if (!space || space == out || space + 2 == out + len)
        return -1;
    for (const char *p = space + 1; p < out + len - 1; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (is_hex32(out, (size_t)(space - out))) {
        memcpy(gen, out, 32);
        gen[32] = '\0';
    }
    *size = v;
    return 0;
}
