/* Each host's way through a run (docs/architecture.md, "Scheduling"): its
 * first request (the manifest), its checks, then the old contents of its
 * dirty files, its lock and its first batches in one round trip, then its
 * nodes as their predecessors resolve. A host moves on as soon as its own
 * answer came, so a host that answers late (or never, until its `timeout`)
 * delays only the nodes that wait for its own: the other hosts deploy
 * meanwhile. */

#include "engine/deploy/deploy_internal.h"

#include "engine/deploy/drive.h"

#include <stdlib.h>

static int start_checks(struct deploy *d, struct dhost *h)
{
    h->phase = PHASE_CHECKING;
    if (history_check(d, h) < 0)
        return 1;
    char *err = NULL;
    if (dirty_submit_checks(d, h->index, &err) < 0) {
        drive_fail_host(d, h, err);
        free(err);
    }
    return 1;
}

/* The old contents of its dirty files (for diffs) need not be waited for:
 * they are read before the lock and batches sent after them (the target
 * runs requests in order) and taken when their reply comes
 * (dirty_submit_contents), before the batches' replies, whose nodes print
 * the diffs. */
static int start_contents(struct deploy *d, struct dhost *h)
{
    dirty_decide(d, h->index);
    if (!dirty_submit_contents(d, h->index)) {
        h->contents_done = 1;
        dirty_take_contents(d, h->index);
    }
    h->phase = PHASE_DECIDED;
    return 1;
}

static int open_host(struct deploy *d, struct dhost *h)
{
    lock_host_taken(d, h->index);
    if (h->failed)
        return 1;
    h->phase = PHASE_OPEN;
    schedule_open_host(d, h->index);
    return 1;
}

/* The lock request and the first batches go in one round trip: those run
 * on the target only when the lock was taken (engine/deploy/lock.c). */
static int start_lock(struct deploy *d, struct dhost *h)
{
    lock_host(d, h->index);
    return open_host(d, h);
}

/* Move host h on when its answer came; 1 when it moved. */
static int advance(struct deploy *d, struct dhost *h, int apply)
{
    if (h->failed) {
        if (h->phase == PHASE_GONE)
            return 0;
        h->phase = PHASE_GONE;
        if (apply)
            schedule_fail_host(d, h->index);
        return 1;
    }
    switch (h->phase) {
    case PHASE_CONNECTING:
        return h->answered && start_checks(d, h);
    case PHASE_CHECKING:
        return h->checks_done && start_contents(d, h);
    case PHASE_DECIDED:
        return apply && !drive_interrupted() && start_lock(d, h);
    default:
        return 0;
    }
}

static void advance_all(struct deploy *d, int apply)
{
    int moved = 1;
    while (moved) {
        moved = 0;
        for (size_t i = 0; i < d->nhosts; i++)
            moved |= advance(d, &d->hosts[i], apply);
    }
    if (apply)
        schedule_pump(d);
}

/* A host left waiting for an answer that can no longer come (its session
 * ended without one) fails, rather than its nodes passing for a cycle.
 * 1 when one did. */
static int fail_stranded(struct deploy *d)
{
    int any = 0;
    for (size_t i = 0; i < d->nhosts; i++) {
        struct dhost *h = &d->hosts[i];
        if (!h->failed && h->phase < PHASE_DECIDED) {
            drive_fail_host(d, h, "the target did not answer");
            any = 1;
        }
    }
    return any;
}

void pipeline_run(struct deploy *d, int apply)
{
    connect_start(d);
    if (apply)
        schedule_build(d, 1);
    for (;;) {
        advance_all(d, apply);
        if (drive_busy(d))
            drive_step(d);
        else if (!fail_stranded(d))
            return;
    }
}
