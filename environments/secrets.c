#define _GNU_SOURCE /* mkostemp, pipe2: descriptors closed on exec */
#include "environments/secrets.h"

#include "engine/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gpgme.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The gpgme side of secrets: decrypt a file into memory, encrypt a buffer to
 * resolved keys, find keys. Plaintext reaches gpg through pipes (gpgme) and
 * comes back through data callbacks straight into a struct buf, so no copy is
 * left in gpgme's own buffers. */

struct secrets_recipients {
    gpgme_key_t *keys; /* NULL-terminated, as gpgme_op_encrypt wants */
    size_t count;
};

static int initialised;

int secrets_gpg_init(char **error)
{
    if (initialised)
        return 0;
    if (!gpgme_check_version(NULL)) {
        *error = xstrdup("gpgme cannot be initialised");
        return -1;
    }
    gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
    /* The gpg binary to run instead of gpgme's choice (tests point it at a
     * missing file to see the error below). */
    const char *gpg = getenv("BATOU_NG_GPG");
    gpgme_error_t err = 0;
    if (gpg && *gpg)
        err = gpgme_set_engine_info(GPGME_PROTOCOL_OpenPGP, gpg, NULL);
    if (!err)
        err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    if (err && gpg && *gpg) {
        *error = xasprintf("gpg '%s' (from BATOU_NG_GPG) is not installed or does not work (%s)",
                           gpg, gpgme_strerror(err));
        return -1;
    }
    if (err) {
        *error = xasprintf("gpg is not installed or does not work (%s): install 'gnupg'",
                           gpgme_strerror(err));
        return -1;
    }
    initialised = 1;
    return 0;
}

static gpgme_ctx_t new_context(char **error)
{
    gpgme_ctx_t ctx;
    gpgme_error_t err = gpgme_new(&ctx);
    if (!err)
        err = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
    if (err) {
        *error = xasprintf("gpgme: %s", gpgme_strerror(err));
        return NULL;
    }
    gpgme_set_armor(ctx, 0);
    return ctx;
}

/* gpgme data callbacks writing into (and reading from) a struct buf. */
struct buf_stream {
    struct buf *b;
    size_t pos;
};

static ssize_t stream_read(void *handle, void *buffer, size_t size)
{
    struct buf_stream *s = handle;
    size_t n = s->b->len - s->pos < size ? s->b->len - s->pos : size;
    memcpy(buffer, s->b->data + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static ssize_t stream_write(void *handle, const void *buffer, size_t size)
{
    struct buf_stream *s = handle;
    /* Grow by hand, wiping the old block: buf_add's realloc would leave a
     * stale copy of the plaintext in freed memory. */
    if (s->b->len + size + 1 > s->b->cap) {
        size_t cap = s->b->cap ? s->b->cap : 4096;
        while (cap < s->b->len + size + 1)
            cap *= 2;
        char *data = xmalloc(cap);
        if (s->b->data) {
            memcpy(data, s->b->data, s->b->len);
            explicit_bzero(s->b->data, s->b->cap);
            free(s->b->data);
        }
        s->b->data = data;
        s->b->cap = cap;
    }
    memcpy(s->b->data + s->b->len, buffer, size);
    s->b->len += size;
    s->b->data[s->b->len] = '\0';
    return (ssize_t)size;
}

static off_t stream_seek(void *handle, off_t offset, int whence)
{
    struct buf_stream *s = handle;
    off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (off_t)s->pos : (off_t)s->b->len;
    if (base + offset < 0 || base + offset > (off_t)s->b->len) {
        errno = EINVAL;
        return -1;
    }
    s->pos = (size_t)(base + offset);
    return (off_t)s->pos;
}

static struct gpgme_data_cbs stream_callbacks = {
    .read = stream_read,
    .write = stream_write,
    .seek = stream_seek,
    .release = NULL,
};

static const char *decrypt_reason(gpgme_ctx_t ctx, gpgme_error_t err)
{
    switch (gpgme_err_code(err)) {
    case GPG_ERR_NO_SECKEY:
        return "no secret key";
    case GPG_ERR_NO_DATA:
        return "not an OpenPGP encrypted file";
    case GPG_ERR_BAD_PASSPHRASE:
        return "bad passphrase";
    case GPG_ERR_CANCELED:
    case GPG_ERR_FULLY_CANCELED:
        return "cancelled";
    default:
        break;
    }
    gpgme_decrypt_result_t result = gpgme_op_decrypt_result(ctx);
    if (result)
        for (gpgme_recipient_t r = result->recipients; r; r = r->next)
            if (gpgme_err_code(r->status) == GPG_ERR_NO_SECKEY)
                return "no secret key";
    return NULL;
}

int secrets_decrypt_file(const char *path, struct buf *out, char **error)
{
    struct buf cipher;
    buf_init(&cipher);
    if (read_file(path, &cipher) < 0) {
        *error = xasprintf("cannot read '%s': %s", path, strerror(errno));
        buf_release(&cipher);
        return -1;
    }
    gpgme_ctx_t ctx = new_context(error);
    if (!ctx) {
        buf_release(&cipher);
        return -1;
    }
    gpgme_data_t in = NULL, plain = NULL;
    struct buf_stream sink = {.b = out, .pos = out->len};
    gpgme_error_t err = gpgme_data_new_from_mem(&in, cipher.data, cipher.len, 0);
    if (!err)
        err = gpgme_data_new_from_cbs(&plain, &stream_callbacks, &sink);
    if (!err)
        err = gpgme_op_decrypt(ctx, in, plain);
    int result = 0;
    if (err) {
        const char *reason = decrypt_reason(ctx, err);
        if (reason)
            *error = xasprintf("cannot decrypt '%s': %s", path, reason);
        else
            *error = xasprintf("cannot decrypt '%s': %s", path, gpgme_strerror(err));
        result = -1;
    }
    gpgme_data_release(in);
    gpgme_data_release(plain);
    gpgme_release(ctx);
    buf_release(&cipher);
    return result;
}

static int key_usable(gpgme_key_t key)
{
    return !key->revoked && !key->expired && !key->disabled && !key->invalid && key->can_encrypt;
}

static const char *key_unusable_reason(gpgme_key_t key)
{
    if (key->revoked)
        return "its key is revoked";
    if (key->expired)
        return "its key is expired";
    if (key->disabled)
        return "its key is disabled";
    if (key->invalid)
        return "its key is invalid";
    return "its key cannot encrypt";
}

/* The keys matching pattern: found counts all, usable the usable ones (at
 * most two kept, distinct by fingerprint; caller unrefs). */
struct key_match {
    size_t found;
    size_t usable;
    gpgme_key_t keys[2];
    gpgme_key_t unusable; /* the first unusable one, for its reason */
};

static void match_release(struct key_match *m)
{
    for (size_t i = 0; i < m->usable && i < 2; i++)
        gpgme_key_unref(m->keys[i]);
    if (m->unusable)
        gpgme_key_unref(m->unusable);
}

static int same_fpr(gpgme_key_t a, gpgme_key_t b)
{
    return a->fpr && b->fpr && strcmp(a->fpr, b->fpr) == 0;
}

static int find_keys(const char *pattern, int secret, struct key_match *m, char **error)
{
    memset(m, 0, sizeof *m);
    gpgme_ctx_t ctx = new_context(error);
    if (!ctx)
        return -1;
    gpgme_error_t err = gpgme_op_keylist_start(ctx, pattern, secret);
    gpgme_key_t key;
    while (!err && !(err = gpgme_op_keylist_next(ctx, &key))) {
        m->found++;
        if (!key_usable(key)) {
            if (!m->unusable)
                m->unusable = key;
            else
                gpgme_key_unref(key);
            continue;
        }
        if (m->usable > 0 && same_fpr(m->keys[0], key)) {
            gpgme_key_unref(key);
            continue;
        }
        if (m->usable < 2)
            m->keys[m->usable] = key;
        else
            gpgme_key_unref(key);
        m->usable++;
    }
    gpgme_op_keylist_end(ctx);
    gpgme_release(ctx);
    if (err && gpgme_err_code(err) != GPG_ERR_EOF) {
        match_release(m);
        *error = xasprintf("cannot list gpg keys: %s", gpgme_strerror(err));
        return -1;
    }
    return 0;
}

/* The one usable key of member (referenced), or NULL with *problem saying
 * why (and *missing set when no key matches at all); brief problems do not
 * repeat the member or give advice. */
static gpgme_key_t resolve_key(const char *member, char **problem, int *missing, int brief)
{
    struct key_match m;
    *missing = 0;
    if (!*member) {
        *problem = xstrdup("empty key id");
        return NULL;
    }
    if (find_keys(member, 0, &m, problem) < 0)
        return NULL;
    gpgme_key_t key = NULL;
    if (m.usable == 1) {
        key = m.keys[0];
        gpgme_key_ref(key);
    } else if (m.usable > 1 && brief) {
        *problem = xasprintf("matches %zu keys", m.usable);
    } else if (m.usable > 1) {
        *problem = xasprintf("'%s' matches %zu keys (use a fingerprint or the whole e-mail "
                             "address)",
                             member, m.usable);
    } else if (m.found == 0 && brief) {
        *problem = xstrdup("no public key");
        *missing = 1;
    } else if (m.found == 0) {
        *problem = xasprintf("no public key for '%s' (import it with 'gpg --import')", member);
        *missing = 1;
    } else {
        *problem = xstrdup(key_unusable_reason(m.unusable));
    }
    match_release(&m);
    return key;
}

struct secrets_recipients *secrets_recipients_new(char *const *members, size_t count, char **error)
{
    struct secrets_recipients *r = xcalloc(1, sizeof *r);
    r->keys = xcalloc(count + 1, sizeof *r->keys);
    for (size_t i = 0; i < count; i++) {
        char *problem = NULL;
        int missing;
        gpgme_key_t key = resolve_key(members[i], &problem, &missing, 0);
        if (!key) {
            *error = xasprintf("no usable key for member '%s': %s", members[i], problem);
            free(problem);
            secrets_recipients_free(r);
            return NULL;
        }
        int duplicate = 0;
        for (size_t j = 0; j < r->count; j++)
            duplicate |= same_fpr(r->keys[j], key);
        if (duplicate)
            gpgme_key_unref(key);
        else
            r->keys[r->count++] = key;
    }
    if (r->count == 0) {
        *error = xstrdup("no members to encrypt to");
        secrets_recipients_free(r);
        return NULL;
    }
    return r;
}

void secrets_recipients_free(struct secrets_recipients *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        gpgme_key_unref(r->keys[i]);
    free(r->keys);
    free(r);
}

int secrets_encrypt(const struct secrets_recipients *r, const char *data, size_t len,
                    struct buf *out, char **error)
{
    gpgme_ctx_t ctx = new_context(error);
    if (!ctx)
        return -1;
    gpgme_data_t in = NULL, cipher = NULL;
    struct buf_stream sink = {.b = out, .pos = out->len};
    /* copy = 0: gpgme reads the caller's plaintext in place. */
    gpgme_error_t err = gpgme_data_new_from_mem(&in, len ? data : "", len, 0);
    if (!err)
        err = gpgme_data_new_from_cbs(&cipher, &stream_callbacks, &sink);
    /* Members are chosen by the team in secrets.cfg, not by the web of trust
     * (batou encrypts with --trust-model always too). */
    if (!err)
        err = gpgme_op_encrypt(ctx, r->keys, GPGME_ENCRYPT_ALWAYS_TRUST, in, cipher);
    int result = 0;
    if (err) {
        gpgme_encrypt_result_t res = gpgme_op_encrypt_result(ctx);
        if (res && res->invalid_recipients)
            *error = xasprintf("cannot encrypt to key '%s': %s", res->invalid_recipients->fpr,
                               gpgme_strerror(res->invalid_recipients->reason));
        else
            *error = xasprintf("cannot encrypt: %s", gpgme_strerror(err));
        result = -1;
    }
    gpgme_data_release(in);
    gpgme_data_release(cipher);
    gpgme_release(ctx);
    return result;
}

int secrets_check_key(const char *keyid, char **error)
{
    char *problem = NULL;
    int missing;
    gpgme_key_t key = resolve_key(keyid, &problem, &missing, 0);
    if (key) {
        gpgme_key_unref(key);
        return 0;
    }
    if (missing) {
        *error = problem;
    } else {
        *error = xasprintf("no usable key for '%s': %s", keyid, problem);
        free(problem);
    }
    return -1;
}

char *secrets_key_problem(const char *member)
{
    char *problem = NULL;
    int missing;
    gpgme_key_t key = resolve_key(member, &problem, &missing, 1);
    if (!key)
        return problem;
    gpgme_key_unref(key);
    return NULL;
}

int secrets_same_key(const char *a, const char *b)
{
    char *problem = NULL;
    int missing;
    gpgme_key_t ka = resolve_key(a, &problem, &missing, 1);
    free(problem);
    problem = NULL;
    gpgme_key_t kb = resolve_key(b, &problem, &missing, 1);
    free(problem);
    int same = ka && kb && same_fpr(ka, kb);
    if (ka)
        gpgme_key_unref(ka);
    if (kb)
        gpgme_key_unref(kb);
    return same;
}

char *secrets_default_member(char **error)
{
    struct key_match m;
    if (find_keys(NULL, 1, &m, error) < 0)
        return NULL;
    if (m.usable == 0) {
        match_release(&m);
        *error = xstrdup("no gpg secret key found to make the first member (create one with "
                         "'gpg --quick-gen-key', or name members with --members)");
        return NULL;
    }
    gpgme_key_t key = m.keys[0];
    char *member = NULL;
    const char *email = key->uids ? key->uids->email : NULL;
    if (email && *email) {
        char *problem = NULL;
        int missing;
        gpgme_key_t again = resolve_key(email, &problem, &missing, 1);
        if (again && same_fpr(again, key))
            member = xstrdup(email);
        if (again)
            gpgme_key_unref(again);
        free(problem);
    }
    if (!member)
        member = xstrdup(key->fpr);
    match_release(&m);
    return member;
}

int secrets_write_atomic(const char *path, const char *data, size_t len, char **error)
{
    char *tmp = xasprintf("%s.tmpXXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        *error = xasprintf("cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t done = 0;
    int failed = fchmod(fd, 0644) < 0;
    while (!failed && done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            failed = 1;
        else
            done += (size_t)n;
    }
    if (!failed && fsync(fd) < 0)
        failed = 1;
    int saved = errno;
    if (close(fd) < 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (!failed && rename(tmp, path) < 0) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        unlink(tmp);
        *error = xasprintf("cannot write '%s': %s", path, strerror(saved));
        free(tmp);
        return -1;
    }
    free(tmp);
    /* Make the rename itself durable. */
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    return 0;
}

void secrets_wipe(struct buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    buf_release(b);
}
