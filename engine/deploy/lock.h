#ifndef BATOU_LOCK_H
#define BATOU_LOCK_H

/* The lock a deploy holds on each target (<statedir>/lock, docs/architecture.md,
 * "Persistent formats"): a file created whole (written under a temp name,
 * then linked: link fails when it exists) holding
 * "USER@HOST pid PID at UNIXTIME, shell SHELLPID": the run that holds it and
 * its shell on the target. These build the shell fragment that takes it;
 * engine/deploy/lock.c sends it where a host has work. */

#include <stddef.h>

struct buf;

/* The lock fragment's exit status when another run holds the lock; its
 * output then is LOCK_HELD_MARK followed by the holder line. */
#define LOCK_HELD_STATUS 75
#define LOCK_HELD_MARK "batou-ng-locked\n"
/* Its exit status when it could not write the lock (a full disk, no
 * permission); its output then is LOCK_FAILED_MARK, its stderr says why. */
#define LOCK_FAILED_STATUS 74
#define LOCK_FAILED_MARK "batou-ng-lock-failed\n"

/* "WHO pid PID at TIME" for this process; the caller frees it. */
char *lock_holder_line(const char *who);
/* Append a fragment that takes the lock in the directory in shell variable
 * $d (made if missing) for holder. break_lock removes any lock first. A lock
 * whose shell is gone (or a zombie) is stale: the fragment removes it and
 * says so on stderr (lock_stale_holder finds it). A lock that is not a
 * regular file (a FIFO, a symlink) is never read: it holds, its "holder"
 * naming it. The lock appears whole or not at all: a write that fails (a
 * full disk) leaves no lock behind. */
void lock_take_fragment(struct buf *f, const char *holder, int break_lock);
/* Why the fragment could not write the lock, from its stderr (err, len
 * bytes): the system's reason its tool gave ("No space left on device"),
 * else that tool's last line; the caller frees it. */
char *lock_failure_reason(const char *err, size_t len);
/* holder ("WHO pid PID at UNIXTIME, shell PID") with its time written as
 * "2026-12-07 08:20:00 UTC"; any other text as it is (allocated). */
char *lock_holder_describe(const char *holder);
/* The holder line of a stale lock the fragment removed, found in its stderr
 * (err, len bytes), or NULL; the caller frees it. */
char *lock_stale_holder(const char *err, size_t len);

#endif
