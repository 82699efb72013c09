#ifndef BATOU_LOCK_H
#define BATOU_LOCK_H

/* The lock a deploy holds on each target (<statedir>/lock, DESIGN.md §4
 * State): a file created atomically (`set -C`) holding
 * "USER@HOST pid PID at UNIXTIME" of the run that holds it. These build the
 * shell fragment that takes it and judge a holder; engine/deploy.c sends
 * them. */

struct buf;

/* The lock fragment's exit status when another run holds the lock; its
 * output then is LOCK_HELD_MARK followed by the holder line. */
#define LOCK_HELD_STATUS 75
#define LOCK_HELD_MARK "batou-ng-locked\n"

/* "WHO pid PID at TIME" for this process; the caller frees it. */
char *lock_holder_line(const char *who);
/* Append a fragment that takes the lock in the directory in shell variable
 * $d (made if missing) for holder. break_lock removes any lock first; a
 * non-NULL stale removes the lock only while it still holds exactly that
 * line (a run found gone), so a run that took it meanwhile keeps it. */
void lock_take_fragment(struct buf *f, const char *holder, int break_lock, const char *stale);
/* 1 when holder names a run on this machine (the host part of who) whose
 * process no longer exists: its lock was left by a killed run. 0 when it may
 * be alive, runs elsewhere, or the line cannot be read. */
int lock_holder_is_gone(const char *holder, const char *who);

#endif
