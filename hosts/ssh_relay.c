/* The relay between an inner SSH session's socketpair and the jump host's
 * direct-tcpip channel. Each direction keeps one chunk that the other side
 * has not taken yet, so a full socketpair or a full channel window only
 * pauses that direction. */

#define _GNU_SOURCE

#include "hosts/ssh_relay.h"

#include "engine/util.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ssh_relay_open(struct ssh_relay *r, int *inner_fd, char **err)
{
    memset(r, 0, sizeof *r);
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
        r->fd = -1;
        *err = xasprintf("cannot make a socketpair for the jump host: %s", strerror(errno));
        return -1;
    }
    r->fd = pair[0];
    *inner_fd = pair[1];
    return 0;
}

static char *channel_error(LIBSSH2_SESSION *session, const char *what)
{
    char *msg = NULL;
    if (libssh2_session_last_error(session, &msg, NULL, 0) == 0 || !msg)
        msg = "unknown error";
    return xasprintf("the tunnel through the jump host failed (%s): %s", what, msg);
}

/* Inner session -> channel. */
static int pump_up(struct ssh_relay *r, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *channel,
                   char **err)
{
    for (;;) {
        if (r->up_off == r->up_len) {
            if (r->up_eof)
                return 0;
            ssize_t n = read(r->fd, r->up, sizeof r->up);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
            if (n <= 0) { /* the inner session closed its socket: it is done */
                r->up_eof = 1;
                return 0;
            }
            r->up_off = 0;
            r->up_len = (size_t)n;
        }
        ssize_t w = libssh2_channel_write(channel, r->up + r->up_off, r->up_len - r->up_off);
        if (w == LIBSSH2_ERROR_EAGAIN || w == 0)
            return 0;
        if (w < 0) {
            *err = channel_error(session, "writing");
            return -1;
        }
        r->up_off += (size_t)w;
    }
}

/* Channel -> inner session; the channel's end becomes the socket's end. */
static int pump_down(struct ssh_relay *r, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *channel,
                     char **err)
{
    for (;;) {
        if (r->down_off == r->down_len) {
            if (r->down_eof)
                return 0;
            ssize_t n = libssh2_channel_read(channel, r->down, sizeof r->down);
            if (n == LIBSSH2_ERROR_EAGAIN || (n == 0 && !libssh2_channel_eof(channel)))
                return 0;
            if (n == 0) {
                r->down_eof = 1;
                shutdown(r->fd, SHUT_WR);
                return 0;
            }
            if (n < 0) {
                *err = channel_error(session, "reading");
                return -1;
            }
            r->down_off = 0;
            r->down_len = (size_t)n;
        }
        ssize_t w = write(r->fd, r->down + r->down_off, r->down_len - r->down_off);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (w < 0) /* the inner session is gone: drop what it will never read */
            r->down_off = r->down_len;
        else
            r->down_off += (size_t)w;
    }
}

int ssh_relay_pump(struct ssh_relay *r, LIBSSH2_SESSION *session, LIBSSH2_CHANNEL *channel,
                   char **err)
{
    if (r->fd < 0)
        return 0;
    if (pump_up(r, session, channel, err) < 0)
        return -1;
    return pump_down(r, session, channel, err);
}

short ssh_relay_events(const struct ssh_relay *r)
{
    short events = 0;
    if (r->up_off == r->up_len && !r->up_eof)
        events |= POLLIN;
    if (r->down_off < r->down_len)
        events |= POLLOUT;
    return events;
}

int ssh_relay_wants_channel(const struct ssh_relay *r)
{
    return r->up_off < r->up_len;
}

void ssh_relay_release(struct ssh_relay *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}
