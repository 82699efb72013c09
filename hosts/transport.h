#ifndef BATOU_TRANSPORT_H
#define BATOU_TRANSPORT_H

/* A transport is a byte stream to one long-lived `sh` on a host: its stdin,
 * its stdout and its stderr. The local transport is a subprocess on pipes; the
 * SSH transport is an exec channel running `sh` (libssh2, non-blocking). The
 * session (hosts/session.h) speaks the protocol on top of either; the loop
 * (hosts/loop.h) polls the fds a transport names and never blocks on one.
 *
 * Every operation is non-blocking, except that reap may wait for a shell
 * that is exiting and free gives a lingering shell a bounded grace period.
 * Errors are returned with a message in *err (allocated, the caller frees
 * it); nothing prints, nothing exits. */

#include <stddef.h>
#include <sys/types.h>

struct pollfd;
struct transport;

/* The two streams a transport reads. */
enum transport_stream { TRANSPORT_STDOUT = 0, TRANSPORT_STDERR = 1 };

/* Returned by read and write when nothing can be moved without blocking. */
#define TRANSPORT_AGAIN (-1)
/* Returned by read and write on failure, with *err set. */
#define TRANSPORT_ERROR (-2)

struct transport_ops {
    /* Start the shell (spawn it, or open the channel). 0, or -1 with *err. */
    int (*start)(struct transport *t, char **err);
    /* Fill at most max pollfds with the fds to poll and the events wanted;
     * want_write says whether the caller has bytes to write. Returns the count.
     * A transport that failed outside read names an fd that is ready at once,
     * so that the next read reports the failure. */
    int (*poll_fds)(struct transport *t, int want_write, struct pollfd *fds, int max);
    /* Read from a stream: >0 bytes read, 0 at its end, TRANSPORT_AGAIN or TRANSPORT_ERROR. */
    ssize_t (*read)(struct transport *t, enum transport_stream stream, void *buf, size_t len,
                    char **err);
    /* Write to the shell's stdin: >0 bytes taken, TRANSPORT_AGAIN or TRANSPORT_ERROR.
     * A dead shell is an error, never a signal. */
    ssize_t (*write)(struct transport *t, const void *buf, size_t len, char **err);
    /* End the shell's stdin, so it exits once it has run what it read. Idempotent. */
    void (*close_write)(struct transport *t);
    /* Once stdout has ended: 1 with *code the exit status (>= 0) or minus the
     * signal that killed the shell; 0 if not known (yet). */
    int (*reap)(struct transport *t, int *code);
    /* Stop the shell and whatever it started now, letting its traps clean up
     * where the transport can; nothing is read or written after. Idempotent. */
    void (*kill)(struct transport *t);
    /* A short human name for messages, e.g. "local sh (pid 42)". */
    const char *(*describe)(struct transport *t);
    /* End the shell (stdin first, then kill it if it lingers) and free t. */
    void (*free)(struct transport *t);
};

/* Every implementation embeds this as its first member. */
struct transport {
    const struct transport_ops *ops;
};

#endif
