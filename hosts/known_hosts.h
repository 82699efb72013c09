#ifndef BATOU_KNOWN_HOSTS_H
#define BATOU_KNOWN_HOSTS_H

/* Host keys as OpenSSH keeps them: known_hosts files (plain and hashed
 * entries) read through libssh2_knownhost_*, new keys appended in OpenSSH's
 * format, fingerprints as OpenSSH prints them ("SHA256:" + unpadded base64). */

#include <stddef.h>

struct _LIBSSH2_SESSION;

/* Check the key the server sent on session (handshake done) for host:port
 * against files[0..n): 0 when a file holds it; with accept_new an unknown
 * key is appended to files[0] (created, with its directory) and 0 returned.
 * -1 with *err (allocated) for an unknown key without accept_new or a key
 * that differs from the recorded one (naming both fingerprints). */
int known_hosts_check(struct _LIBSSH2_SESSION *session, const char *const *files, size_t n,
                      const char *host, int port, int accept_new, char **err);

/* The same for a key had otherwise (libgit2's ssh:// fetch): key, its
 * length, and its type as libssh2 numbers them (LIBSSH2_HOSTKEY_TYPE_*). */
int known_hosts_check_key(const unsigned char *key, size_t len, int type,
                          const char *const *files, size_t n, const char *host, int port,
                          int accept_new, char **err);

/* "SHA256:<base64, no padding>" of a key blob (allocated). */
char *known_hosts_fingerprint(const unsigned char *key, size_t len);

#endif
