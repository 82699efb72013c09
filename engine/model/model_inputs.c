/* The model's inputs (engine/model/model_inputs.h).
 *
 * Encoding, inside a graph cache entry (engine/model/project_cache.c owns
 * the entry's version): integers little-endian, str = u32 length + bytes.
 *
 *   u32 n | n x input
 *   input: u8 kind | str name | kind's fields | 16 bytes hash
 *     kind 1, a path:  u8 type | u64 dev | u64 ino | u64 size |
 *                      i64 mtime_ns | i64 ctime_ns | u8 racy
 *                      type: 0 absent, 1 regular file, 2 directory, 3 other;
 *                      hash: XXH3-128 of the type byte, then for a file its
 *                      permission bits (u32) and content, for a directory its
 *                      entries' names sorted, each with a NUL
 *     kind 2, an environment variable: hash = the first 16 bytes of
 *                      HMAC-SHA256(key, "1" value) when set, (key, "0") when
 *                      not; the key is the environment's hash key (secrets)
 *     kind 3, a resolver lookup, name "<family> <host>": hash = XXH3-128 of
 *                      the address text, or of "" when there was none
 *
 * racy: the file changed within RACY_NS of being recorded (or while it was
 * read), so an unchanged stat proves nothing (a write within the same
 * timestamp tick); it is hashed on every check. */

#include "engine/model/model_inputs.h"

#include "engine/model/address.h"
#include "engine/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define RACY_NS 2000000000LL

enum input_kind { INPUT_PATH = 1, INPUT_GETENV = 2, INPUT_RESOLVE = 3 };
enum path_type { PATH_ABSENT, PATH_FILE, PATH_DIR, PATH_OTHER };

struct input {
    unsigned char kind, type, racy;
    char *name;
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
    unsigned char hash[16];
};

struct model_inputs {
    struct input *items;
    size_t n, cap;
    size_t *slots; /* index + 1 by XXH3 of kind and name; 0 = empty */
    size_t nslots;
    char *volatile_reason;
    unsigned char *key;
    size_t key_len;
};

struct model_inputs *model_inputs_new(const void *key, size_t key_len)
{
    struct model_inputs *in = xcalloc(1, sizeof *in);
    in->key = xmalloc(key_len ? key_len : 1);
    if (key_len)
        memcpy(in->key, key, key_len);
    in->key_len = key_len;
    return in;
}

void model_inputs_set_key(struct model_inputs *in, const void *key, size_t key_len)
{
    free(in->key);
    in->key = xmalloc(key_len ? key_len : 1);
    if (key_len)
        memcpy(in->key, key, key_len);
    in->key_len = key_len;
}

void model_inputs_free(struct model_inputs *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n; i++)
        free(in->items[i].name);
    free(in->items);
    free(in->slots);
    free(in->volatile_reason);
    free(in->key);
    free(in);
}

static uint64_t slot_hash(unsigned kind, const char *name)
{
    return XXH3_64bits_withSeed(name, strlen(name), kind);
}

static void rehash(struct model_inputs *in)
{
    free(in->slots);
    in->nslots = in->nslots ? in->nslots * 2 : 64;
    in->slots = xcalloc(in->nslots, sizeof *in->slots);
    for (size_t i = 0; i < in->n; i++) {
        size_t s = (size_t)slot_hash(in->items[i].kind, in->items[i].name) & (in->nslots - 1);
        while (in->slots[s])
            s = (s + 1) & (in->nslots - 1);
        in->slots[s] = i + 1;
    }
}

/* The new input kind/name, or NULL when it was recorded already. */
static struct input *add(struct model_inputs *in, unsigned kind, const char *name)
{
    if ((in->n + 1) * 2 > in->nslots)
        rehash(in);
    size_t s = (size_t)slot_hash(kind, name) & (in->nslots - 1);
    for (; in->slots[s]; s = (s + 1) & (in->nslots - 1)) {
        const struct input *old = &in->items[in->slots[s] - 1];
        if (old->kind == kind && strcmp(old->name, name) == 0)
            return NULL;
    }
    xgrow(&in->items, &in->cap, in->n + 1, sizeof *in->items);
    struct input *it = &in->items[in->n];
    memset(it, 0, sizeof *it);
    it->kind = (unsigned char)kind;
    it->name = xstrdup(name);
    in->slots[s] = ++in->n;
    return it;
}

static int64_t ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static enum path_type type_of(const struct stat *st)
{
    return S_ISREG(st->st_mode) ? PATH_FILE : S_ISDIR(st->st_mode) ? PATH_DIR : PATH_OTHER;
}

/* A directory's names, sorted, each with its NUL, into state. -1 when it
 * cannot be listed. */
static int hash_listing(XXH3_state_t *state, const char *path)
{
    char **names;
    size_t n;
    if (dir_names_sorted(path, &names, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        XXH3_128bits_update(state, names[i], strlen(names[i]) + 1);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* Hash the content of the file at path in chunks, never whole in memory
 * (a big BinaryFile's source). 0, or -1 when it cannot be read. */
static int hash_file(XXH3_state_t *state, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        XXH3_128bits_update(state, chunk, (size_t)n);
    }
    close(fd);
    return n < 0 ? -1 : 0;
}

/* The value hash of path as it is (type from st, or absent), with a file's
 * content data[0..len) when data is not NULL. */
static void hash_path(const char *path, enum path_type type, const struct stat *st,
                      const void *data, size_t len, unsigned char out[16])
{
    XXH3_state_t *state = XXH3_createState();
    XXH3_128bits_reset(state);
    unsigned char t = (unsigned char)type;
    XXH3_128bits_update(state, &t, 1);
    if (type == PATH_FILE) {
        uint32_t mode = (uint32_t)(st->st_mode & 07777);
        XXH3_128bits_update(state, &mode, sizeof mode);
        if (data)
            XXH3_128bits_update(state, data, len);
        else if (hash_file(state, path) < 0)
            XXH3_128bits_update(state, "\0unreadable", 11);
    } else if (type == PATH_DIR && hash_listing(state, path) < 0) {
        XXH3_128bits_update(state, "\0unreadable", 11);
    }
    XXH128_canonicalFromHash((XXH128_canonical_t *)out, XXH3_128bits_digest(state));
    XXH3_freeState(state);
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return ns_of(t);
}

void model_inputs_path(struct model_inputs *in, const char *path, const void *data, size_t len)
{
    if (!in)
        return;
    struct input *it = add(in, INPUT_PATH, path);
    if (!it)
        return;
    struct stat st;
    if (stat(path, &st) != 0) {
        it->type = PATH_ABSENT;
        hash_path(path, PATH_ABSENT, NULL, NULL, 0, it->hash);
        return;
    }
    it->type = (unsigned char)type_of(&st);
    it->dev = (uint64_t)st.st_dev;
    it->ino = (uint64_t)st.st_ino;
    it->size = (uint64_t)st.st_size;
    it->mtime_ns = ns_of(st.st_mtim);
    it->ctime_ns = ns_of(st.st_ctim);
    int64_t recent = now_ns() - RACY_NS;
    it->racy = it->mtime_ns >= recent || it->ctime_ns >= recent ||
               (data && it->type == PATH_FILE && (uint64_t)len != it->size);
    hash_path(path, (enum path_type)it->type, &st, it->type == PATH_FILE ? data : NULL, len,
              it->hash);
}

static void hmac16(const unsigned char *key, size_t key_len, const char *text,
                   unsigned char out[16])
{
    static const unsigned char empty[1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    HMAC(EVP_sha256(), key_len ? key : empty, (int)key_len, (const unsigned char *)text,
         strlen(text), md, &md_len);
    memcpy(out, md, 16);
    OPENSSL_cleanse(md, sizeof md);
}

static void getenv_hash(const unsigned char *key, size_t key_len, const char *value,
                        unsigned char out[16])
{
    char *text = value ? xasprintf("1%s", value) : xstrdup("0");
    hmac16(key, key_len, text, out);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
}

void model_inputs_getenv(struct model_inputs *in, const char *name, const char *value)
{
    struct input *it = in ? add(in, INPUT_GETENV, name) : NULL;
    if (it)
        getenv_hash(in->key, in->key_len, value, it->hash);
}

static void text_hash(const char *text, unsigned char out[16])
{
    XXH128_canonicalFromHash((XXH128_canonical_t *)out,
                             XXH3_128bits(text ? text : "", text ? strlen(text) : 0));
}

void model_inputs_resolve(struct model_inputs *in, const char *host, int family, const char *text)
{
    if (!in)
        return;
    char *name = xasprintf("%d %s", family, host);
    struct input *it = add(in, INPUT_RESOLVE, name);
    free(name);
    if (it)
        text_hash(text, it->hash);
}

void model_inputs_volatile(struct model_inputs *in, const char *what)
{
    if (in && !in->volatile_reason)
        in->volatile_reason = xstrdup(what);
}

const char *model_inputs_volatile_reason(const struct model_inputs *in)
{
    return in ? in->volatile_reason : NULL;
}

size_t model_inputs_count(const struct model_inputs *in)
{
    return in ? in->n : 0;
}

/* ---- encoding ---- */

static void put_u64(struct buf *b, uint64_t v)
{
    unsigned char bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (unsigned char)(v >> (8 * i));
    buf_add(b, bytes, 8);
}

static void put_u32(struct buf *b, uint32_t v)
{
    unsigned char bytes[4];
    for (int i = 0; i < 4; i++)
        bytes[i] = (unsigned char)(v >> (8 * i));
    buf_add(b, bytes, 4);
}

void model_inputs_encode(const struct model_inputs *in, struct buf *out)
{
    put_u32(out, (uint32_t)in->n);
    for (size_t i = 0; i < in->n; i++) {
        const struct input *it = &in->items[i];
        buf_addc(out, (char)it->kind);
        put_u32(out, (uint32_t)strlen(it->name));
        buf_adds(out, it->name);
        if (it->kind == INPUT_PATH) {
            buf_addc(out, (char)it->type);
            put_u64(out, it->dev);
            put_u64(out, it->ino);
            put_u64(out, it->size);
            put_u64(out, (uint64_t)it->mtime_ns);
            put_u64(out, (uint64_t)it->ctime_ns);
            buf_addc(out, (char)it->racy);
        }
        buf_add(out, it->hash, 16);
    }
}

/* ---- checking ---- */

struct reader {
    const unsigned char *p;
    size_t len, pos;
    int bad;
};

static const unsigned char *get_bytes(struct reader *r, size_t n)
{
    if (r->bad || n > r->len - r->pos) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static uint64_t get_uint(struct reader *r, size_t width)
{
    const unsigned char *at = get_bytes(r, width);
    uint64_t v = 0;
    for (size_t i = 0; at && i < width; i++)
        v |= (uint64_t)at[i] << (8 * i);
    return v;
}

/* Whether path still is what input it (type, stat, hash) says. */
static int path_unchanged(const struct input *it)
{
    struct stat st;
    if (stat(it->name, &st) != 0)
        return it->type == PATH_ABSENT;
    enum path_type type = type_of(&st);
    if (type != it->type)
        return 0;
    if (!it->racy && it->dev == (uint64_t)st.st_dev && it->ino == (uint64_t)st.st_ino &&
        it->size == (uint64_t)st.st_size && it->mtime_ns == ns_of(st.st_mtim) &&
        it->ctime_ns == ns_of(st.st_ctim))
        return 1;
    unsigned char now[16];
    hash_path(it->name, type, &st, NULL, 0, now);
    return memcmp(now, it->hash, 16) == 0;
}

static int resolve_unchanged(const struct input *it)
{
    char *space = strchr(it->name, ' ');
    if (!space)
        return 0;
    char text[ADDRESS_TEXT_MAX];
    int family = atoi(it->name);
    unsigned char now[16];
    text_hash(address_lookup(space + 1, family, text) ? text : NULL, now);
    return memcmp(now, it->hash, 16) == 0;
}

static int input_unchanged(const struct input *it, const void *key, size_t key_len)
{
    unsigned char now[16];
    switch (it->kind) {
    case INPUT_PATH:
        return path_unchanged(it);
    case INPUT_GETENV:
        getenv_hash(key, key_len, getenv(it->name), now);
        return memcmp(now, it->hash, 16) == 0;
    case INPUT_RESOLVE:
        return resolve_unchanged(it);
    default:
        return 0;
    }
}

static const char *kind_word(unsigned kind)
{
    return kind == INPUT_PATH ? "file" : kind == INPUT_GETENV ? "environment variable" : "address";
}

int model_inputs_check(const unsigned char *data, size_t len, size_t *pos, const void *key,
                       size_t key_len, size_t *checked, char **changed)
{
    struct reader r = {data, len, *pos, 0};
    uint64_t n = get_uint(&r, 4);
    *checked = 0;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        struct input it = {0};
        it.kind = (unsigned char)get_uint(&r, 1);
        size_t name_len = (size_t)get_uint(&r, 4);
        const unsigned char *name = get_bytes(&r, name_len);
        if (it.kind == INPUT_PATH) {
            it.type = (unsigned char)get_uint(&r, 1);
            it.dev = get_uint(&r, 8);
            it.ino = get_uint(&r, 8);
            it.size = get_uint(&r, 8);
            it.mtime_ns = (int64_t)get_uint(&r, 8);
            it.ctime_ns = (int64_t)get_uint(&r, 8);
            it.racy = (unsigned char)get_uint(&r, 1);
        }
        const unsigned char *hash = get_bytes(&r, 16);
        if (r.bad || !name || memchr(name, '\0', name_len) || it.kind < INPUT_PATH ||
            it.kind > INPUT_RESOLVE)
            return -1;
        it.name = xstrndup((const char *)name, name_len);
        memcpy(it.hash, hash, 16);
        int same = input_unchanged(&it, key, key_len);
        (*checked)++;
        if (!same) {
            *changed = xasprintf("%s '%s' changed", kind_word(it.kind),
                                 it.kind == INPUT_RESOLVE ? strchr(it.name, ' ') + 1 : it.name);
            free(it.name);
            return 0;
        }
        free(it.name);
    }
    if (r.bad)
        return -1;
    *pos = r.pos;
    return 1;
}
