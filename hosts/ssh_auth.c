/* Authentication, as OpenSSH tries it: the agent's keys first (unless
 * IdentitiesOnly), then each identity file that exists, without a
 * passphrase. Every attempt is noted for the message when none works. */

#define _GNU_SOURCE

#include "hosts/ssh_internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void tried(struct ssh *s, const char *what)
{
    if (s->tried.len)
        buf_adds(&s->tried, ", ");
    buf_adds(&s->tried, what);
}

static void fail_auth(struct ssh *s)
{
    char *w = ssh_where(s);
    ssh_fail(s, xasprintf("authentication failed for user '%s' at %s (tried: %s)%s", s->o.user, w,
                          s->tried.len ? s->tried.data : "no key: no agent, no identity file",
                          s->tried_rsa ? "; libssh2 1.10 signs with RSA keys only as ssh-rsa "
                                         "(SHA-1), which OpenSSH 8.8 and later refuse by "
                                         "default: use an ed25519 or ecdsa key"
                                       : ""));
    free(w);
}

/* Whether the key beside its .pub, or the agent's key blob, is an RSA key. */
static int is_rsa_file(const char *key)
{
    char *pub = xasprintf("%s.pub", key);
    struct buf text;
    buf_init(&text);
    int rsa = read_file(pub, &text) == 0 && text.len > 8 && memcmp(text.data, "ssh-rsa ", 8) == 0;
    buf_release(&text);
    free(pub);
    return rsa;
}

static int is_rsa_blob(const struct libssh2_agent_publickey *k)
{
    return k->blob_len > 11 && memcmp(k->blob, "\0\0\0\7ssh-rsa", 11) == 0;
}

/* The next identity file that exists, or none: authentication failed. */
static void next_key(struct ssh *s)
{
    while (s->key_index < s->o.nidentity_files) {
        struct stat st;
        if (stat(s->o.identity_files[s->key_index], &st) == 0 && S_ISREG(st.st_mode)) {
            s->step = STEP_AUTH_KEY;
            return;
        }
        s->key_index++;
    }
    fail_auth(s);
}

/* Whether the public key file path holds the key whose base64 is b64. */
static int pub_file_has(const char *path, const char *b64)
{
    struct buf text;
    buf_init(&text);
    int found = 0;
    if (read_file(path, &text) == 0) {
        buf_addc(&text, '\0');
        /* "<type> <base64> [comment]" */
        const char *key = strchr(text.data, ' ');
        size_t len = strlen(b64);
        found = key && strncmp(key + 1, b64, len) == 0 &&
                (key[1 + len] == ' ' || key[1 + len] == '\n' || key[1 + len] == '\0');
    }
    buf_release(&text);
    return found;
}

/* With IdentitiesOnly, the agent may offer only the keys of the identity
 * files (their .pub beside them), as OpenSSH does: a key with a passphrase
 * is then used through the agent. */
static int agent_key_allowed(const struct ssh *s, const struct libssh2_agent_publickey *k)
{
    if (!s->o.identities_only)
        return 1;
    char *b64 = xmalloc(4 * ((k->blob_len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, k->blob, (int)k->blob_len);
    int allowed = 0;
    for (size_t i = 0; i < s->o.nidentity_files && !allowed; i++) {
        char *pub = xasprintf("%s.pub", s->o.identity_files[i]);
        allowed = pub_file_has(pub, b64);
        free(pub);
    }
    free(b64);
    return allowed;
}

/* On to the agent's next key that may be offered: 0, or -1 when none is left. */
static int next_agent_key(struct ssh *s)
{
    struct libssh2_agent_publickey *prev = s->identity;
    while (libssh2_agent_get_identity(s->agent, &s->identity, prev) == 0) {
        if (agent_key_allowed(s, s->identity))
            return 0;
        prev = s->identity;
    }
    return -1;
}

static void start_agent(struct ssh *s)
{
    if (!getenv("SSH_AUTH_SOCK")) {
        next_key(s);
        return;
    }
    s->agent = libssh2_agent_init(s->session);
    /* The agent is a local socket: connecting and listing are immediate. */
    if (!s->agent || libssh2_agent_connect(s->agent) != 0 ||
        libssh2_agent_list_identities(s->agent) != 0) {
        next_key(s);
        return;
    }
    s->identity = NULL;
    if (next_agent_key(s) < 0) {
        next_key(s);
        return;
    }
    tried(s, "ssh-agent");
    s->step = STEP_AUTH_AGENT;
}

void ssh_auth_list(struct ssh *s)
{
    const char *list =
        libssh2_userauth_list(s->session, s->o.user, (unsigned int)strlen(s->o.user));
    if (!list) {
        if (libssh2_userauth_authenticated(s->session)) {
            s->step = STEP_CHANNEL;
            return;
        }
        if (ssh_would_block(s))
            return;
        char *w = ssh_where(s);
        ssh_fail(s, xasprintf("cannot ask %s how to authenticate: %s", w, ssh_last_error(s)));
        free(w);
        return;
    }
    if (!strstr(list, "publickey")) {
        char *w = ssh_where(s);
        ssh_fail(s, xasprintf("authentication failed for user '%s' at %s: the server does not "
                              "accept public keys (only %s)",
                              s->o.user, w, list));
        free(w);
        return;
    }
    start_agent(s);
}

void ssh_auth_agent(struct ssh *s)
{
    int rc = libssh2_agent_userauth(s->agent, s->o.user, s->identity);
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc == 0) {
        s->step = STEP_CHANNEL;
        return;
    }
    s->tried_rsa |= is_rsa_blob(s->identity);
    if (next_agent_key(s) < 0)
        next_key(s);
}

void ssh_auth_key(struct ssh *s)
{
    const char *key = s->o.identity_files[s->key_index];
    int rc = libssh2_userauth_publickey_fromfile_ex(s->session, s->o.user,
                                                    (unsigned int)strlen(s->o.user), NULL, key, "");
    if (rc == LIBSSH2_ERROR_EAGAIN)
        return;
    if (rc == 0) {
        s->step = STEP_CHANNEL;
        return;
    }
    tried(s, key);
    s->tried_rsa |= is_rsa_file(key);
    s->key_index++;
    next_key(s);
}