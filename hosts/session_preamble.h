#ifndef BATOU_SESSION_PREAMBLE_H
#define BATOU_SESSION_PREAMBLE_H

/* The preamble of the session protocol (hosts/session.c): the shell text
 * sent before any request. It sets up the shell (traps, the private
 * directory $T, the reply function) and starts the watcher that ends the
 * shell with its controller, then greets with HELLO and `uname -s`. */

struct buf;

#define HELLO "BATOU-NG 1 "
#define GONE "batou-ng: the temporary directory of this session is gone"

/* Append the preamble to b. */
void session_add_preamble(struct buf *b);

#endif
