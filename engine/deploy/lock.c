/* The target lock (engine/deploy/lock.h). A run that dies (killed, a dropped
 * connection, a power cut) leaves its lock behind. Its shell on the target
 * dies with it (a dropped connection or a closed pipe ends the shell), so
 * the lock names that shell: when it no longer runs, or is a zombie (it never
 * runs again; some containers never reap them), the next run takes the lock
 * over with a notice, and a killed deploy resumes by simply running again.
 * While the shell still runs (a command of the dead run is still going),
 * the lock holds: --break-lock is for the user who knows better. */

#define _POSIX_C_SOURCE 200809L

#include "engine/deploy/lock.h"

#include "engine/util.h"
#include "hosts/shell.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define STALE_MARK "batou-ng-stale-lock: "

char *lock_holder_line(const char *who)
{
    return xasprintf("%s pid %ld at %ld", who, (long)getpid(), (long)time(NULL));
}

/* Remove the lock when the shell it names is gone or a zombie (no sed when
 * there is no lock: the usual case costs no exec). */
static const char stale_fragment[] =
    "p=; [ ! -e \"$d/lock\" ] ||\n"
    "p=$(sed -n 's/.*, shell \\([0-9][0-9]*\\)$/\\1/p' \"$d/lock\" 2>/dev/null)\n"
    "if [ -n \"$p\" ]; then s=$(sed 's/.*) \\(.\\).*/\\1/' \"/proc/$p/stat\" 2>/dev/null)\n"
    "if [ \"$s\" = Z ] || { [ -z \"$s\" ] && ! kill -0 \"$p\" 2>/dev/null; }; then\n"
    "printf '" STALE_MARK "%s\\n' \"$(cat \"$d/lock\")\" >&2; rm -f \"$d/lock\"; fi; fi\n";

void lock_take_fragment(struct buf *f, const char *holder, int break_lock)
{
    buf_adds(f, "[ -d \"$d\" ] || mkdir -p \"$d\" || exit 1\n");
    if (break_lock)
        buf_adds(f, "rm -f \"$d/lock\"\n");
    buf_adds(f, stale_fragment);
    buf_adds(f, "if ! (set -C; printf '%s, shell %s\\n' ");
    shell_quote(f, holder);
    buf_addf(f,
             " \"$$\" >\"$d/lock\") 2>/dev/null; then printf '%%s' '%s'; cat \"$d/lock\"; "
             "exit %d; fi\n",
             LOCK_HELD_MARK "", LOCK_HELD_STATUS);
}

char *lock_stale_holder(const char *err, size_t len)
{
    size_t mark = strlen(STALE_MARK);
    for (size_t i = 0; i + mark <= len; i++) {
        if ((i == 0 || err[i - 1] == '\n') && memcmp(err + i, STALE_MARK, mark) == 0) {
            const char *start = err + i + mark;
            const char *end = memchr(start, '\n', len - i - mark);
            return xstrndup(start, end ? (size_t)(end - start) : len - i - mark);
        }
    }
    return NULL;
}
