#include "environments/secrets.h"

#include "engine/diag.h"
#include "engine/util.h"
#include "environments/environment.h"
#include "environments/ini.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* The files of one environment's secrets, as a whole: open (decrypt all),
 * change, save (encrypt all to the members secrets.cfg lists), and the merge
 * of a decrypted secrets.cfg into a loaded environment. */

static const char secret_prefix[] = "secret-";
static const char secret_suffix[] = ".gpg";

/* <name> of "secret-<name>.gpg", or NULL when file is not one. */
static char *secret_name(const char *file)
{
    size_t n = strlen(file), p = sizeof secret_prefix - 1, s = sizeof secret_suffix - 1;
    if (n <= p + s || strncmp(file, secret_prefix, p) != 0 || strcmp(file + n - s, secret_suffix))
        return NULL;
    return xstrndup(file + p, n - p - s);
}

char **secrets_file_names(const char *env, size_t *count)
{
    char **names = xmalloc(sizeof *names);
    size_t cap = 1;
    *count = 0;
    char *path = xasprintf("environments/%s", env);
    DIR *dir = opendir(path);
    struct dirent *entry;
    while (dir && (entry = readdir(dir))) {
        char *name = secret_name(entry->d_name);
        if (!name)
            continue;
        char *file = xasprintf("%s/%s", path, entry->d_name);
        struct stat st;
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            xgrow(&names, &cap, *count + 1, sizeof *names);
            names[(*count)++] = name;
        } else {
            free(name);
        }
        free(file);
    }
    if (dir)
        closedir(dir);
    free(path);
    qsort(names, *count, sizeof *names, compare_strings);
    return names;
}

static void free_list(char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i]);
    free(items);
}

/* Split a members value on commas and newlines, stripped, empty items dropped. */
static char **split_members(const char *value, size_t *count)
{
    char **items = NULL;
    size_t cap = 0;
    *count = 0;
    const char *p = value;
    while (*p) {
        size_t n = strcspn(p, ",\n");
        char *item = strip(xstrndup(p, n));
        if (*item) {
            xgrow(&items, &cap, *count + 1, sizeof *items);
            items[(*count)++] = item;
        } else {
            free(item);
        }
        p += n;
        if (*p)
            p++;
    }
    return items;
}

int secrets_members(const char *path, const char *text, size_t len, char ***members, size_t *count,
                    char **error)
{
    struct diags d;
    diags_init(&d);
    struct ini ini;
    int parsed = ini_parse(&ini, path, text, len, &d);
    diags_release(&d);
    *members = NULL;
    *count = 0;
    const struct ini_section *batou = ini_find_section(&ini, "batou");
    const struct ini_entry *entry = batou ? ini_find_entry(batou, "members") : NULL;
    if (entry)
        *members = split_members(entry->value, count);
    ini_release(&ini);
    if (parsed < 0) {
        *error = xasprintf("'%s' is not a valid secrets file (run 'batou-ng secrets edit')", path);
    } else if (!entry) {
        *error = xasprintf("'%s' has no '[batou] members'", path);
    } else if (*count == 0) {
        *error = xasprintf("'%s' lists no members in '[batou] members'", path);
    } else {
        return 0;
    }
    free_list(*members, *count);
    *members = NULL;
    *count = 0;
    return -1;
}

/* Byte offset where line (from 1) starts in b, or b->len. */
static size_t line_start(const struct buf *b, int line)
{
    size_t at = 0;
    for (int i = 1; i < line && at < b->len; i++) {
        const char *nl = memchr(b->data + at, '\n', b->len - at);
        at = nl ? (size_t)(nl - b->data) + 1 : b->len;
    }
    return at;
}

/* Replace b's bytes [from, to) by text, without leaving plaintext in freed
 * memory. */
static void splice(struct buf *b, size_t from, size_t to, const char *text)
{
    struct buf out;
    buf_init(&out);
    size_t n = strlen(text);
    xgrow(&out.data, &out.cap, b->len - (to - from) + n + 1, 1);
    buf_add(&out, b->data, from);
    buf_add(&out, text, n);
    buf_add(&out, b->data + to, b->len - to);
    secrets_wipe(b);
    *b = out;
}

void secrets_set_members(struct buf *text, char *const *members, size_t count)
{
    struct diags d;
    diags_init(&d);
    struct ini ini;
    ini_parse(&ini, "secrets.cfg", text->data ? text->data : "", text->len, &d);
    diags_release(&d);
    const struct ini_section *batou = ini_find_section(&ini, "batou");
    const struct ini_entry *entry = batou ? ini_find_entry(batou, "members") : NULL;
    size_t from = 0, to = 0;
    if (entry) {
        int last = entry->npos ? entry->pos[entry->npos - 1].line : entry->line;
        from = line_start(text, entry->line);
        to = line_start(text, last + 1);
    } else if (batou) {
        from = to = line_start(text, batou->line + 1);
    }
    ini_release(&ini);

    struct buf line;
    buf_init(&line);
    if (from == text->len && from > 0 && text->data[from - 1] != '\n')
        buf_addc(&line, '\n');
    if (!batou)
        buf_adds(&line, "[batou]\n");
    buf_adds(&line, "members = ");
    for (size_t i = 0; i < count; i++)
        buf_addf(&line, "%s%s", i ? ", " : "", members[i]);
    buf_addc(&line, '\n');
    if (!batou && text->len > 0)
        buf_addc(&line, '\n');
    splice(text, from, to, line.data);
    buf_release(&line);
}

int secrets_add_hash_key(struct buf *text)
{
    struct diags d;
    diags_init(&d);
    struct ini ini;
    ini_parse(&ini, "secrets.cfg", text->data ? text->data : "", text->len, &d);
    diags_release(&d);
    const struct ini_section *batou = ini_find_section(&ini, "batou");
    const struct ini_entry *members = batou ? ini_find_entry(batou, "members") : NULL;
    if (batou && ini_find_entry(batou, "hash_key")) {
        ini_release(&ini);
        return 0;
    }
    size_t at = 0;
    if (members)
        at = line_start(text,
                        (members->npos ? members->pos[members->npos - 1].line : members->line) + 1);
    else if (batou)
        at = line_start(text, batou->line + 1);
    ini_release(&ini);

    unsigned char key[32];
    if (RAND_bytes(key, sizeof key) != 1)
        fatal("libcrypto has no random bytes to give");
    struct buf line;
    buf_init(&line);
    if (at == text->len && at > 0 && text->data[at - 1] != '\n')
        buf_addc(&line, '\n');
    if (!batou)
        buf_adds(&line, "[batou]\n");
    buf_adds(&line, "hash_key = ");
    for (size_t i = 0; i < sizeof key; i++)
        buf_addf(&line, "%02x", key[i]);
    buf_addc(&line, '\n');
    if (!batou && text->len > 0)
        buf_addc(&line, '\n');
    splice(text, at, at, line.data);
    secrets_wipe(&line);
    explicit_bzero(key, sizeof key);
    return 1;
}

int secrets_env_open(struct secrets_env *s, const char *env, char **error)
{
    memset(s, 0, sizeof *s);
    s->name = xstrdup(env);
    s->config_path = xasprintf("environments/%s/secrets.cfg.gpg", env);
    buf_init(&s->config);
    struct stat st;
    if (stat(s->config_path, &st) == 0) {
        s->has_config = 1;
        if (secrets_decrypt_file(s->config_path, &s->config, error) < 0)
            return -1;
    }
    size_t count;
    char **names = secrets_file_names(env, &count);
    int result = 0;
    for (size_t i = 0; i < count; i++) {
        struct secrets_file *f = secrets_env_add_file(s, names[i]);
        if (result == 0 && secrets_decrypt_file(f->path, &f->plain, error) < 0)
            result = -1;
    }
    free_list(names, count);
    return result;
}

struct secrets_file *secrets_env_file(struct secrets_env *s, const char *name)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i].name, name) == 0)
            return &s->files[i];
    return NULL;
}

struct secrets_file *secrets_env_add_file(struct secrets_env *s, const char *name)
{
    s->files = xrealloc(s->files, (s->nfiles + 1) * sizeof *s->files);
    struct secrets_file *f = &s->files[s->nfiles++];
    f->name = xstrdup(name);
    f->path = xasprintf("environments/%s/%s%s%s", s->name, secret_prefix, name, secret_suffix);
    buf_init(&f->plain);
    return f;
}

int secrets_env_save(struct secrets_env *s, char **error)
{
    char **members;
    size_t count;
    if (!s->has_config) {
        *error =
            xasprintf("environment '%s' has no '%s' to name its members", s->name, s->config_path);
        return -1;
    }
    secrets_add_hash_key(&s->config);
    if (secrets_members(s->config_path, s->config.data ? s->config.data : "", s->config.len,
                        &members, &count, error) < 0)
        return -1;
    struct secrets_recipients *r = secrets_recipients_new(members, count, error);
    free_list(members, count);
    if (!r)
        return -1;
    /* Encrypt everything first: a key problem must not leave the environment
     * half re-encrypted. */
    size_t n = s->nfiles + 1;
    struct buf *cipher = xcalloc(n, sizeof *cipher);
    int result = secrets_encrypt(r, s->config.data, s->config.len, &cipher[0], error);
    for (size_t i = 0; result == 0 && i < s->nfiles; i++)
        result = secrets_encrypt(r, s->files[i].plain.data, s->files[i].plain.len, &cipher[i + 1],
                                 error);
    secrets_recipients_free(r);
    if (result == 0)
        result = secrets_write_atomic(s->config_path, cipher[0].data, cipher[0].len, error);
    for (size_t i = 0; result == 0 && i < s->nfiles; i++)
        result =
            secrets_write_atomic(s->files[i].path, cipher[i + 1].data, cipher[i + 1].len, error);
    for (size_t i = 0; i < n; i++)
        buf_release(&cipher[i]);
    free(cipher);
    return result;
}

void secrets_env_release(struct secrets_env *s)
{
    free(s->name);
    free(s->config_path);
    secrets_wipe(&s->config);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        free(s->files[i].path);
        secrets_wipe(&s->files[i].plain);
    }
    free(s->files);
    memset(s, 0, sizeof *s);
}

/* ---- merging into a loaded environment ---- */

/* what: where the value is set, for the notice ("'[component:app] pin' in
 * FILE"); never the value. */
static void add_secret_value(struct environment *env, const char *data, size_t len,
                             const char *what)
{
    if (len == 0)
        return;
    if (len < SECRETS_MASK_MIN) {
        env->notices = xrealloc(env->notices, (env->nnotices + 1) * sizeof *env->notices);
        env->notices[env->nnotices++] = xasprintf(
            "the secret value of %s is %zu character%s long, too short to mask: it is not "
            "replaced by '" SECRETS_PLACEHOLDER "' in output (at least %d characters are)",
            what, len, len == 1 ? "" : "s", SECRETS_MASK_MIN);
    }
    env->secret_values =
        xrealloc(env->secret_values, (env->nsecret_values + 1) * sizeof *env->secret_values);
    struct env_secret_value *v = &env->secret_values[env->nsecret_values++];
    v->data = xmalloc(len + 1);
    memcpy(v->data, data, len);
    v->data[len] = '\0';
    v->len = len;
}

static struct env_host *find_host(struct environment *env, const char *name)
{
    for (size_t i = 0; i < env->nhosts; i++)
        if (strcasecmp(env->hosts[i].name, name) == 0)
            return &env->hosts[i];
    return NULL;
}

static void unknown_host(struct environment *env, const char *path, int line, const char *name,
                         struct diags *d)
{
    const char **names = xmalloc((env->nhosts + 1) * sizeof *names);
    for (size_t i = 0; i < env->nhosts; i++)
        names[i] = env->hosts[i].name;
    const char *close = suggest(name, names, env->nhosts);
    if (close)
        diag_add(d, path, line, 0, "host '%s' is not in environment '%s' (did you mean '%s'?)",
                 name, env->name, close);
    else
        diag_add(d, path, line, 0, "host '%s' is not in environment '%s'", name, env->name);
    free(names);
}

static void merge_host_entry(struct env_host *host, const char *path, const struct ini_entry *e,
                             struct diags *d)
{
    if (strncmp(e->key, "data-", 5) != 0 || !e->key[5]) {
        diag_add(d, path, e->line, 0,
                 "key '%s' is not allowed in '[host:%s]' of a secrets file (only 'data-*' keys "
                 "are)",
                 e->key, host->name);
        return;
    }
    const char *key = e->key + 5;
    for (size_t i = 0; i < host->ndata; i++) {
        if (strcmp(host->data[i].key, key) == 0) {
            /* Never quote the values: one of them is a secret. */
            diag_add(d, path, e->line, 0, "'%s' of host '%s' is set twice (first at %s:%d)", e->key,
                     host->name, host->file ? host->file : "environment.cfg", host->data[i].line);
            return;
        }
    }
    host->data = xrealloc(host->data, (host->ndata + 1) * sizeof *host->data);
    struct env_data *data = &host->data[host->ndata++];
    data->key = xstrdup(key);
    data->value = xstrdup(e->value);
    data->line = e->line;
    data->col = e->col;
}

/* The SHA-256 of str(tag) then str(part) for each part (str: u64 length,
 * big-endian, then the bytes) into out. */
static void digest_parts(const char *tag, const char *const *parts, const size_t *lens,
                         size_t count, unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        fatal("libcrypto cannot compute SHA-256");
    for (size_t i = 0; i <= count; i++) {
        const char *data = i == 0 ? tag : parts[i - 1];
        size_t len = i == 0 ? strlen(tag) : lens[i - 1];
        unsigned char n[8];
        for (int k = 0; k < 8; k++)
            n[k] = (unsigned char)((uint64_t)len >> (56 - 8 * k));
        EVP_DigestUpdate(ctx, n, sizeof n);
        EVP_DigestUpdate(ctx, data, len);
    }
    unsigned int got = 0;
    if (!EVP_DigestFinal_ex(ctx, out, &got) || got != 32)
        fatal("libcrypto cannot compute SHA-256");
    EVP_MD_CTX_free(ctx);
}

/* The hash key from "[batou] hash_key": random text secrets_add_hash_key made. */
static void set_hash_key(struct environment *env, const char *value)
{
    size_t len = strlen(value);
    digest_parts("batou-ng hash_key/1", &value, &len, 1, env->hash_key);
    env->has_hash_key = 1;
}

/* Without "[batou] hash_key": a key derived from every secret value (see
 * docs/secrets.md, "How secret files are hashed"). */
static void derive_hash_key(struct environment *env)
{
    size_t n = env->nsecret_values;
    const char **parts = xcalloc(n ? n : 1, sizeof *parts);
    size_t *lens = xcalloc(n ? n : 1, sizeof *lens);
    for (size_t i = 0; i < n; i++) {
        parts[i] = env->secret_values[i].data;
        lens[i] = env->secret_values[i].len;
    }
    digest_parts("batou-ng derived hash key/1", parts, lens, n, env->hash_key);
    env->has_hash_key = 1;
    free(parts);
    free(lens);
}

static void check_batou_section(struct environment *env, const struct ini_section *section,
                                const char *path, struct diags *d)
{
    static const char *const keys[] = {"members", "hash_key"};
    int members = 0;
    for (size_t i = 0; i < section->count; i++) {
        const struct ini_entry *e = &section->entries[i];
        if (strcmp(e->key, "members") == 0) {
            size_t count;
            char **list = split_members(e->value, &count);
            members = count > 0;
            free_list(list, count);
            continue;
        }
        if (strcmp(e->key, "hash_key") == 0) {
            /* Never quote it: it keys the hashes stored on every target. */
            if (strlen(e->value) < 32)
                diag_add(d, path, e->line, 0,
                         "'[batou] hash_key' is too short (at least 32 characters): delete the "
                         "line and 'batou-ng secrets reencrypt' makes a random one");
            else
                set_hash_key(env, e->value);
            continue;
        }
        const char *close = suggest(e->key, keys, 2);
        diag_add(d, path, e->line, 0, "unknown key '%s' in section '[batou]'%s%s%s", e->key,
                 close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "");
    }
    if (!members)
        diag_add(d, path, section->line, 0,
                 "'[batou] members' is missing or empty: list the key ids that may decrypt");
}

static int in_host_section(const struct ini *ini, int line)
{
    for (size_t i = 0; i < ini->count; i++) {
        if (strncasecmp(ini->sections[i].name, "host:", 5) != 0)
            continue;
        int end = i + 1 < ini->count ? ini->sections[i + 1].line : 0;
        if (line >= ini->sections[i].line && (end == 0 || line < end))
            return 1;
    }
    return 0;
}

/* text with every [host:x] section emptied (its lines kept, so positions
 * stay): environment_add_secrets reads the rest. The copy is plaintext: the
 * caller wipes it. */
static void without_host_sections(const struct ini *ini, const char *text, size_t len,
                                  struct buf *out)
{
    xgrow(&out->data, &out->cap, len + 1, 1);
    out->data[0] = '\0';
    size_t at = 0;
    for (int line = 1; at < len; line++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t next = nl ? (size_t)(nl - text) + 1 : len;
        if (in_host_section(ini, line)) {
            if (nl)
                buf_addc(out, '\n');
        } else {
            buf_add(out, text + at, next - at);
        }
        at = next;
    }
}

int secrets_merge(struct environment *env, const char *path, const char *text, size_t len,
                  struct diags *d)
{
    size_t before = d->count;
    struct ini ini;
    ini_parse(&ini, path, text, len, d);
    const struct ini_section *batou = ini_find_section(&ini, "batou");
    if (batou)
        check_batou_section(env, batou, path, d);
    else
        diag_add(d, path, 0, 0,
                 "no '[batou]' section: list the key ids that may decrypt in '[batou] members'");

    struct buf rest;
    buf_init(&rest);
    without_host_sections(&ini, text, len, &rest);
    size_t first_override = env->noverrides;
    environment_add_secrets(env, path, rest.data, rest.len, d);
    secrets_wipe(&rest);
    for (size_t i = first_override; i < env->noverrides; i++) {
        const struct env_override *o = &env->overrides[i];
        char *what = xasprintf("'[component:%s] %s' (%s:%d)", o->component, o->attribute, path,
                               o->line);
        add_secret_value(env, o->value, strlen(o->value), what);
        free(what);
    }

    for (size_t i = 0; i < ini.count; i++) {
        const struct ini_section *section = &ini.sections[i];
        if (strncasecmp(section->name, "host:", 5) != 0)
            continue;
        char *name = strip(xstrdup(section->name + 5));
        struct env_host *host = find_host(env, name);
        if (!host)
            unknown_host(env, path, section->line, name, d);
        for (size_t k = 0; host && k < section->count; k++) {
            const struct ini_entry *e = &section->entries[k];
            merge_host_entry(host, path, e, d);
            char *what = xasprintf("'[host:%s] %s' (%s:%d)", name, e->key, path, e->line);
            add_secret_value(env, e->value, strlen(e->value), what);
            free(what);
        }
        free(name);
    }
    ini_release(&ini);
    /* No column: diags_report would print the offending line with a caret,
     * read from the encrypted file (garbage) or worse. */
    for (size_t i = before; i < d->count; i++)
        if (d->items[i].file && strcmp(d->items[i].file, path) == 0)
            d->items[i].col = 0;
    return d->count > before ? -1 : 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void load_files(struct environment *env, char **names, size_t count, struct diags *d)
{
    env->secret_files = xcalloc(count ? count : 1, sizeof *env->secret_files);
    for (size_t i = 0; i < count; i++) {
        char *path =
            xasprintf("environments/%s/%s%s%s", env->name, secret_prefix, names[i], secret_suffix);
        struct buf plain;
        buf_init(&plain);
        char *error = NULL;
        if (secrets_decrypt_file(path, &plain, &error) < 0) {
            diag_add(d, NULL, 0, 0, "%s", error);
            free(error);
            secrets_wipe(&plain);
        } else {
            struct env_secret_file *f = &env->secret_files[env->nsecret_files++];
            f->name = xstrdup(names[i]);
            f->len = plain.len;
            char *what = xasprintf("secret file '%s' (%s)", names[i], path);
            add_secret_value(env, plain.data ? plain.data : "", plain.len, what);
            free(what);
            /* Hand over the buffer itself: no second plaintext copy to wipe. */
            f->content = plain.data ? buf_detach(&plain) : xstrdup("");
        }
        free(path);
    }
}

static void add_key_notice(struct environment *env, const char *config)
{
    env->notices = xrealloc(env->notices, (env->nnotices + 1) * sizeof *env->notices);
    if (config)
        env->notices[env->nnotices++] = xasprintf(
            "%s: no '[batou] hash_key': files holding secrets are hashed with a key derived "
            "from the secrets themselves; 'batou-ng secrets reencrypt --environments %s' adds "
            "a random one",
            config, env->name);
    else
        env->notices[env->nnotices++] = xasprintf(
            "environment '%s' has secret files but no secrets.cfg.gpg: files holding secrets "
            "are hashed with a key derived from the secrets themselves; 'batou-ng secrets edit "
            "%s' makes a secrets.cfg.gpg with a random '[batou] hash_key'",
            env->name, env->name);
}

int secrets_load(struct environment *env, struct diags *d)
{
    size_t before = d->count;
    char *config = xasprintf("environments/%s/secrets.cfg.gpg", env->name);
    size_t count;
    char **names = secrets_file_names(env->name, &count);
    int has_config = file_exists(config);
    if (!has_config && count == 0) {
        free(config);
        free_list(names, count);
        return 0;
    }
    char *error = NULL;
    if (secrets_gpg_init(&error) < 0) {
        diag_add(d, NULL, 0, 0, "cannot decrypt the secrets of environment '%s': %s", env->name,
                 error);
        free(error);
        free(config);
        free_list(names, count);
        return -1;
    }
    if (has_config) {
        struct buf plain;
        buf_init(&plain);
        if (secrets_decrypt_file(config, &plain, &error) < 0) {
            diag_add(d, NULL, 0, 0, "%s", error);
            free(error);
        } else {
            secrets_merge(env, config, plain.data ? plain.data : "", plain.len, d);
        }
        secrets_wipe(&plain);
    }
    load_files(env, names, count, d);
    if (!env->has_hash_key) {
        derive_hash_key(env);
        add_key_notice(env, has_config ? config : NULL);
    }
    free(config);
    free_list(names, count);
    return d->count > before ? -1 : 0;
}
