#ifndef BATOU_LOOP_H
#define BATOU_LOOP_H

/* One poll() loop drives every session: no thread per host, nothing blocks.
 * Sessions are not owned by the loop; session_free removes a session from
 * its loop. Replies are delivered from inside loop_step and loop_run;
 * callbacks may submit, close and kill, but not step or run the loop. */

#include <stdint.h>

struct loop;
struct session;

/* No deadline for loop_run. */
#define LOOP_FOREVER (-1)

struct loop *loop_new(void);
/* Free the loop, not its sessions (they forget it). */
void loop_free(struct loop *loop);
/* Drive s from now on (adding it twice is harmless); a session belongs to
 * at most one loop. */
void loop_add(struct loop *loop, struct session *s);
/* Stop driving s (safe from callbacks). */
void loop_remove(struct loop *loop, struct session *s);

/* Milliseconds on a monotonic clock: the clock of deadlines and timeouts. */
int64_t loop_now_ms(void);
/* Start sessions that have requests but were not started, wait at most
 * timeout_ms (-1: until something happens) for any session, move bytes,
 * deliver replies and fail sessions that timed out. 0, or -1 with *err. */
int loop_step(struct loop *loop, int timeout_ms, char **err);
/* Step until no session is busy (0), the deadline (loop_now_ms clock, or
 * LOOP_FOREVER) passes with work left (1), or poll fails (-1 with *err). */
int loop_run(struct loop *loop, int64_t deadline_ms, char **err);

#endif
