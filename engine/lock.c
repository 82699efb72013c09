/* The target lock (engine/lock.h). A killed run (SIGKILL, power cut) leaves
 * its lock behind; when that run was on this machine and its process is
 * gone, the next run takes the lock over instead of asking for --break-lock,
 * so that a killed deploy resumes by simply running again. A lock from
 * another machine cannot be judged from here: it needs --break-lock. */

#define _POSIX_C_SOURCE 200809L

#include "engine/lock.h"

#include "engine/util.h"
#include "hosts/shell.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

char *lock_holder_line(const char *who)
{
    return xasprintf("%s pid %ld at %ld", who, (long)getpid(), (long)time(NULL));
}

void lock_take_fragment(struct buf *f, const char *holder, int break_lock, const char *stale)
{
    buf_adds(f, "mkdir -p \"$d\" || exit 1\n");
    if (break_lock)
        buf_adds(f, "rm -f \"$d/lock\"\n");
    if (stale) {
        buf_adds(f, "if [ \"$(cat \"$d/lock\" 2>/dev/null)\" = ");
        shell_quote(f, stale);
        buf_adds(f, " ]; then rm -f \"$d/lock\"; fi\n");
    }
    buf_adds(f, "if ! (set -C; printf '%s\\n' ");
    shell_quote(f, holder);
    buf_addf(f, " >\"$d/lock\") 2>/dev/null; then printf '%%s' '%s'; cat \"$d/lock\"; exit %d; fi\n",
             LOCK_HELD_MARK "", LOCK_HELD_STATUS);
}

/* The text after the '@' of "user@host", up to its end. */
static const char *host_part(const char *who, size_t *len)
{
    const char *at = strchr(who, '@');
    const char *host = at ? at + 1 : who;
    *len = strcspn(host, " \n");
    return host;
}

int lock_holder_is_gone(const char *holder, const char *who)
{
    char owner[512];
    long pid = 0, since = 0;
    if (sscanf(holder, "%511s pid %ld at %ld", owner, &pid, &since) != 3 || pid <= 1)
        return 0;
    size_t ours_len, theirs_len;
    const char *ours = host_part(who, &ours_len);
    const char *theirs = host_part(owner, &theirs_len);
    if (ours_len != theirs_len || memcmp(ours, theirs, ours_len) != 0)
        return 0;
    if (pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}
