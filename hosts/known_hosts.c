/* known_hosts through libssh2_knownhost_*: the files are read line by line,
 * so a line libssh2 cannot parse (a key type it does not know, a marker such
 * as @cert-authority) is skipped instead of hiding the rest of the file. A
 * new key is appended as one line (never a rewrite of the user's file). */

#define _GNU_SOURCE

#include "hosts/known_hosts.h"

#include "engine/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *known_hosts_fingerprint(const unsigned char *key, size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_Digest(key, len, digest, &dlen, EVP_sha256(), NULL);
    char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int n = EVP_EncodeBlock((unsigned char *)b64, digest, (int)dlen);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    b64[n] = '\0';
    return xasprintf("SHA256:%s", b64);
}

/* The fingerprint of a recorded key (base64 in known_hosts), or NULL. */
static char *recorded_fingerprint(const char *b64)
{
    size_t len = strlen(b64);
    unsigned char *raw = xmalloc(len + 3);
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
    char *fp = NULL;
    if (n > 0) {
        /* EVP_DecodeBlock counts the padding as zero bytes. */
        while (len > 0 && b64[len - 1] == '=') {
            len--;
            n--;
        }
        fp = known_hosts_fingerprint(raw, (size_t)n);
    }
    free(raw);
    return fp;
}

static int key_type_mask(int hostkey_type)
{
    switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
        return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_DSS:
        return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
#ifdef LIBSSH2_HOSTKEY_TYPE_ECDSA_256
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
        return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
#endif
#ifdef LIBSSH2_HOSTKEY_TYPE_ED25519
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
        return LIBSSH2_KNOWNHOST_KEY_ED25519;
#endif
    default:
        return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
    }
}

static void read_known(LIBSSH2_KNOWNHOSTS *kh, const char *file)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '@' || !*p)
            continue;
        libssh2_knownhost_readline(kh, line, (size_t)n, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    }
    free(line);
    fclose(f);
}

/* "host" on port 22, "[host]:port" otherwise: the name OpenSSH records. */
static char *entry_name(const char *host, int port)
{
    return port == 22 ? xstrdup(host) : xasprintf("[%s]:%d", host, port);
}

static int mkdir_parent(const char *file)
{
    char *dir = xstrdup(file);
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            rc = -1;
    }
    free(dir);
    return rc;
}

static int record(LIBSSH2_KNOWNHOSTS *kh, const char *file, const char *host, int port,
                  const char *key, size_t len, int typemask, char **err)
{
    char *name = entry_name(host, port);
    struct libssh2_knownhost *entry = NULL;
    int rc = libssh2_knownhost_addc(kh, name, NULL, key, len, NULL, 0,
                                    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                        typemask,
                                    &entry);
    char line[16384];
    size_t outlen = 0;
    if (rc == 0)
        rc = libssh2_knownhost_writeline(kh, entry, line, sizeof line, &outlen,
                                         LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    free(name);
    if (rc != 0) {
        *err = xasprintf("cannot record the host key of '%s' in '%s'", host, file);
        return -1;
    }
    mkdir_parent(file);
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, line, outlen) != (ssize_t)outlen || fsync(fd) < 0) {
        *err = xasprintf("cannot record the host key of '%s' in '%s': %s", host, file,
                         strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* key checked with kh (files read into it). */
static int check_key(LIBSSH2_KNOWNHOSTS *kh, const char *key, size_t len, int type,
                     const char *const *files, size_t n, const char *host, int port,
                     int accept_new, char **err)
{
    for (size_t i = 0; i < n; i++)
        read_known(kh, files[i]);
    int typemask = key_type_mask(type);
    struct libssh2_knownhost *known = NULL;
    int rc = libssh2_knownhost_checkp(
        kh, host, port, key, len,
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | typemask, &known);
    char *name = entry_name(host, port);
    char *fp = known_hosts_fingerprint((const unsigned char *)key, len);
    int result = 0;
    if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH) {
        result = 0;
    } else if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
        char *old = known && known->key ? recorded_fingerprint(known->key) : NULL;
        *err = xasprintf("the host key of '%s' changed: known_hosts has %s, the host sent %s "
                         "(someone may be intercepting the connection; if the key changed on "
                         "purpose, remove the old one with 'ssh-keygen -R %s')",
                         name, old ? old : "another key", fp, name);
        free(old);
        result = -1;
    } else if (!accept_new || n == 0) {
        *err = xasprintf("unknown host key for '%s' (%s): add it to known_hosts, or set "
                         "'host_key_policy = accept-new' in the environment",
                         name, fp);
        result = -1;
    } else {
        result = record(kh, files[0], host, port, key, len, typemask, err);
    }
    free(fp);
    free(name);
    return result;
}

int known_hosts_check(LIBSSH2_SESSION *session, const char *const *files, size_t n,
                      const char *host, int port, int accept_new, char **err)
{
    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(session, &len, &type);
    if (!key) {
        *err = xasprintf("'%s' sent no host key", host);
        return -1;
    }
    LIBSSH2_KNOWNHOSTS *kh = libssh2_knownhost_init(session);
    if (!kh) {
        *err = xstrdup("cannot read known hosts (libssh2)");
        return -1;
    }
    int result = check_key(kh, key, len, type, files, n, host, port, accept_new, err);
    libssh2_knownhost_free(kh);
    return result;
}

int known_hosts_check_key(const unsigned char *key, size_t len, int type,
                          const char *const *files, size_t n, const char *host, int port,
                          int accept_new, char **err)
{
    /* libssh2 reads known hosts only through a session (for its allocator):
     * one that never connects. */
    libssh2_init(0);
    LIBSSH2_SESSION *session = libssh2_session_init();
    LIBSSH2_KNOWNHOSTS *kh = session ? libssh2_knownhost_init(session) : NULL;
    int result = -1;
    if (!kh)
        *err = xstrdup("cannot read known hosts (libssh2)");
    else
        result = check_key(kh, (const char *)key, len, type, files, n, host, port, accept_new,
                           err);
    if (kh)
        libssh2_knownhost_free(kh);
    if (session)
        libssh2_session_free(session);
    return result;
}
