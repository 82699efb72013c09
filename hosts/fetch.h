#ifndef BATOU_FETCH_H
#define BATOU_FETCH_H

/* Fetching a URL on the controller: the fallback of the library's Download
 * for a target without curl or wget (rules/fetch.c, docs/reference/
 * library.md). The controller fetches the URL (http, https) with libcurl,
 * hashes the bytes as they come, and refuses them unless their digest is
 * the checksum given; the bytes then go to the target as an OP_WRITE over
 * the host's connection (old or new, never half-written).
 *
 * The bytes are held in memory: an OP_WRITE carries its data whole (the
 * shell host puts it into the request's text, as for a BinaryFile), so a
 * transfer from the controller is capped at FETCH_MAX_BYTES. */

#include <stddef.h>

struct buf;

/* The most bytes a transfer from the controller takes. */
#define FETCH_MAX_BYTES ((size_t)128 << 20)
/* The longest hex digest (sha512). */
#define FETCH_HEX_MAX 128

/* batou's checksum "ALGO:HEX" (md5, sha1, sha224, sha256, sha384, sha512;
 * either case): the algorithm and the digest, lower-cased, into algo and
 * hex. 0, or -1 when it is not one (wrong algorithm, length or digit). */
int fetch_checksum_parse(const char *checksum, char algo[8], char hex[FETCH_HEX_MAX + 1]);

/* Where fetched bytes go: appended to data, at most max of them, hashed
 * on the way. */
struct fetch_sink {
    struct buf *data;
    size_t max;
    size_t size;    /* bytes taken so far */
    int too_large;  /* more than max came: data holds the first max only */
    void *digest;   /* the OpenSSL digest context */
};

/* A sink hashing with algo into data. 0, or -1 when algo is unknown. */
int fetch_sink_begin(struct fetch_sink *s, const char *algo, struct buf *data, size_t max);
/* Take len more bytes: 0, or -1 once there are more than max (too_large). */
int fetch_sink_take(struct fetch_sink *s, const void *bytes, size_t len);
/* The lower-case hex digest of what was taken, into hex; ends the sink. */
void fetch_sink_end(struct fetch_sink *s, char hex[FETCH_HEX_MAX + 1]);

/* url for messages, allocated: its user name and password, if it holds
 * any, become "***" (the userinfo before '@'); control bytes become '?'. */
char *fetch_redact(const char *url);

/* Fetch url (http or https; redirects followed, only to http or https) into
 * data, at most max bytes; 0 when its ALGO digest is hex, else -1 with *err
 * (allocated, one line, the URL redacted): the transfer failed, it is
 * larger than max, or the checksum does not match ("checksum mismatch for
 * URL (fetched by the controller): expected sha256:..., got sha256:...").
 * data is emptied on failure. Blocks until the transfer is done. */
int fetch_url(const char *url, const char *algo, const char *hex, size_t max, struct buf *data,
              char **err);

#endif
