/* The target manifest, format "batou-ng-manifest 2" (version 1 is read too).
 *
 * <target_directory>/.batou-ng/manifest is the truth about what is deployed
 * on a target. It is an append-only journal (like ninja's .ninja_log): the
 * engine appends one record after every node that succeeds, so an aborted
 * deploy resumes where it stopped without rewriting the whole file per node.
 * When it holds more than 3 x live + 64 records it is compacted: rewritten
 * from the live state (temp file, sync, rename) under a new generation.
 *
 * One record per line. Fields are separated by one space and every field is
 * escaped: "\\" for a backslash, "\s" space, "\n" newline, "\t" tab, "\xNN"
 * (hex) any other byte below 0x20 and 0x7f; other bytes, UTF-8 included,
 * stand for themselves; an empty field is "\-". So a field never holds a raw
 * space, newline or control byte, and never a NUL (\x00 is refused). Each
 * line ends with " #" and 16 lowercase hex digits: the XXH3-64 of the line's
 * bytes before " #".
 *
 *   H batou-ng-manifest 2 <generation>          first line, and only there
 *   R <run-id> <env> <commit> <user@host> <unix-time>   a deploy run started
 *   N <key> <kind> <hash> <path>...             node done (zero or more paths)
 *   U <key> <kind> <hash> <undo> <cwd> <n> <env>... <path>...
 *                                               node done, with what undoes it
 *   D <key>                                     node removed (--prune)
 *
 * A U record is an N record that also says what --prune runs before it
 * removes the node's paths (a Command's `undo`, docs/reference/lua.md): the
 * command, the directory it runs in ("\-": the login directory), and <n>
 * (decimal) "NAME=value" environment entries. Its paths follow as in N.
 *
 * Version 2 added the U record; nothing else changed. A version 1 file is
 * read as it is (a U line in one is corrupt) and rewritten as version 2
 * before the first append (manifest_needs_compaction), so a file never
 * holds a record its header's version does not know. A batou-ng that knows
 * only version 1 reads a version 2 file as "no manifest" and redoes the
 * work.
 *
 * <generation> is 32 random lowercase hex digits, new on every rewrite;
 * together with the file's size it changes on every append and rewrite, so a
 * no-op deploy reads only those (manifest_generation_fragment). <hash> is the
 * node's input hash, XXH3-128 as 32 lowercase hex digits. <commit> is the
 * project's git HEAD, 40 hex digits, with "+dirty" when its work tree had
 * changes (environments/git.h), or "-" when the run had none. A later N record for a key replaces the earlier one;
 * D removes it; the last R record is the deployed commit, who and when.
 * The last R record of the commit deployed before that one (another commit,
 * "+dirty" ignored) is the host's previous commit, which `batou-ng
 * rollback` deploys (docs/git.md): a compaction keeps both, previous first.
 *
 * Reading: a line whose checksum or syntax is wrong (an unknown record type,
 * a wrong field count, a bad escape, an H line after the first) is ignored
 * and counted in corrupt; a last line without its newline (a torn append) is
 * ignored and counted in torn. A first line that is not a version 1 or 2 header
 * (another version, another file, a torn or corrupt header) means "no
 * manifest": every record is ignored and the engine redoes the work; it
 * never guesses. Appends go after a newline only: a torn or corrupt file is
 * rewritten first (manifest_needs_compaction).
 *
 * Atomicity: an append is one write(2) of whole lines with O_APPEND (the
 * shell's >>; dash's printf writes its argument in one call, bash's in 8 KiB
 * pieces). A concurrent reader sees a record of one line under PIPE_BUF
 * (4096 bytes) whole or not at all; a longer line may be seen half written,
 * which its missing newline and checksum catch. Rewrites are atomic renames.
 * A crash mid-append leaves at most a torn last line: the record is lost,
 * so its node is redone, never skipped. */

#include "engine/deploy/manifest.h"

#include "engine/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "batou-ng-manifest"
#define CHECKSUM_LEN 18 /* " #" and 16 hex digits */

/* The decoded fields of one line: NUL-terminated strings in text, at offsets. */
struct fields {
    struct buf text;
    size_t *offsets;
    size_t count, cap;
};

static const char *field(const struct fields *f, size_t i)
{
    return f->text.data + f->offsets[i];
}

static int is_hex32(const char *s)
{
    size_t i;

    for (i = 0; i < 32; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return s[i] == '\0';
}

/* ---- writing ---- */

static int plain(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != ' ' && c != '\\';
}

static void add_field(struct buf *out, const char *s)
{
    buf_addc(out, ' ');
    if (!*s) {
        buf_adds(out, "\\-");
        return;
    }
    while (*s) {
        size_t n = 0;
        while (plain((unsigned char)s[n]))
            n++;
        buf_add(out, s, n);
        s += n;
        if (!*s)
            break;
        unsigned char c = (unsigned char)*s++;
        if (c == '\\')
            buf_adds(out, "\\\\");
        else if (c == ' ')
            buf_adds(out, "\\s");
        else if (c == '\n')
            buf_adds(out, "\\n");
        else if (c == '\t')
            buf_adds(out, "\\t");
        else
            buf_addf(out, "\\x%02x", c);
    }
}

/* Close the line that starts at out->data + start with its checksum. */
static void end_line(struct buf *out, size_t start)
{
    uint64_t sum = XXH3_64bits(out->data + start, out->len - start);
    buf_addf(out, " #%016llx\n", (unsigned long long)sum);
}

void manifest_header_line_version(struct buf *out, int version, const char *generation)
{
    size_t start = out->len;

    buf_addf(out, "H " MAGIC " %d", version);
    add_field(out, generation);
    end_line(out, start);
}

void manifest_header_line(struct buf *out, const char *generation)
{
    manifest_header_line_version(out, MANIFEST_VERSION, generation);
}

void manifest_run_line(struct buf *out, const char *run_id, const char *env, const char *commit,
                       const char *who, int64_t time)
{
    size_t start = out->len;

    buf_addc(out, 'R');
    add_field(out, run_id);
    add_field(out, env);
    add_field(out, commit ? commit : "-");
    add_field(out, who);
    buf_addf(out, " %lld", (long long)time);
    end_line(out, start);
}

int manifest_node_line(struct buf *out, const char *key, const char *kind, const char *hash,
                       const char *const *paths, size_t npaths)
{
    size_t start = out->len;

    if (!is_hex32(hash))
        return -1;
    buf_addc(out, 'N');
    add_field(out, key);
    add_field(out, kind);
    add_field(out, hash);
    for (size_t i = 0; i < npaths; i++)
        add_field(out, paths[i]);
    end_line(out, start);
    return 0;
}

int manifest_node_undo_line(struct buf *out, const char *key, const char *kind, const char *hash,
                            const struct manifest_undo *undo, const char *const *paths,
                            size_t npaths)
{
    if (!undo || !undo->command)
        return manifest_node_line(out, key, kind, hash, paths, npaths);
    if (!is_hex32(hash))
        return -1;
    for (size_t i = 0; i < undo->nenv; i++)
        if (!strchr(undo->env[i], '='))
            return -1;
    size_t start = out->len;
    buf_addc(out, 'U');
    add_field(out, key);
    add_field(out, kind);
    add_field(out, hash);
    add_field(out, undo->command);
    add_field(out, undo->cwd ? undo->cwd : "");
    buf_addf(out, " %zu", undo->nenv);
    for (size_t i = 0; i < undo->nenv; i++)
        add_field(out, undo->env[i]);
    for (size_t i = 0; i < npaths; i++)
        add_field(out, paths[i]);
    end_line(out, start);
    return 0;
}

void manifest_node_copy_line(struct buf *out, const struct manifest_node *node)
{
    manifest_node_undo_line(out, node->key, node->kind, node->hash, &node->undo, node->paths,
                            node->npaths);
}

void manifest_remove_line(struct buf *out, const char *key)
{
    size_t start = out->len;

    buf_addc(out, 'D');
    add_field(out, key);
    end_line(out, start);
}

/* 128 random bits; a clock-and-pid fallback is fine, since a generation
 * only needs to differ from the previous one. */
void manifest_new_generation(char gen[MANIFEST_HEX])
{
    static uint64_t counter;
    uint64_t r[2];

    if (getentropy(r, sizeof r) != 0) {
        struct timespec ts;
        uint64_t seed[4];
        clock_gettime(CLOCK_REALTIME, &ts);
        seed[0] = (uint64_t)ts.tv_sec;
        seed[1] = (uint64_t)ts.tv_nsec;
        seed[2] = (uint64_t)getpid();
        seed[3] = ++counter;
        XXH128_hash_t h = XXH3_128bits(seed, sizeof seed);
        r[0] = h.high64;
        r[1] = h.low64;
    }
    snprintf(gen, MANIFEST_HEX, "%016llx%016llx", (unsigned long long)r[0],
             (unsigned long long)r[1]);
}

/* ---- the table of live nodes ---- */

static struct manifest_node **find_link(const struct manifest *m, const char *key, uint64_t h)
{
    struct manifest_node **link = &m->buckets[h & (m->nbuckets - 1)];

    while (*link && ((*link)->keyhash != h || strcmp((*link)->key, key) != 0))
        link = &(*link)->next;
    return link;
}

static void grow_table(struct manifest *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : 64;
    struct manifest_node **b = xcalloc(n, sizeof *b);

    for (size_t i = 0; i < m->nbuckets; i++) {
        struct manifest_node *node = m->buckets[i], *next;
        for (; node; node = next) {
            next = node->next;
            node->next = b[node->keyhash & (n - 1)];
            b[node->keyhash & (n - 1)] = node;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

const struct manifest_node *manifest_find(const struct manifest *m, const char *key)
{
    if (!m->nbuckets)
        return NULL;
    return *find_link(m, key, XXH3_64bits(key, strlen(key)));
}

/* A node from the fields of an N record (undo 0) or a U record (undo 1, its
 * <n> checked by the caller), in one allocation: the struct, the path and
 * env pointers, then a copy of every decoded field. */
static struct manifest_node *new_node(const struct fields *f, int undo, size_t nenv)
{
    size_t first_path = undo ? 7 + nenv : 4;
    size_t npaths = f->count - first_path;
    size_t head = sizeof(struct manifest_node) + (npaths + nenv) * sizeof(char *);
    struct manifest_node *node = xcalloc(1, head + f->text.len);
    char *text = (char *)node + head;

    memcpy(text, f->text.data, f->text.len);
    node->key = text + f->offsets[1];
    node->kind = text + f->offsets[2];
    memcpy(node->hash, field(f, 3), MANIFEST_HEX);
    node->paths = (const char **)(node + 1);
    node->npaths = npaths;
    for (size_t i = 0; i < npaths; i++)
        node->paths[i] = text + f->offsets[first_path + i];
    if (undo) {
        const char **env = node->paths + npaths;
        for (size_t i = 0; i < nenv; i++)
            env[i] = text + f->offsets[7 + i];
        node->undo.command = text + f->offsets[4];
        node->undo.cwd = *field(f, 5) ? text + f->offsets[5] : NULL;
        node->undo.env = env;
        node->undo.nenv = nenv;
    }
    node->keyhash = XXH3_64bits(node->key, strlen(node->key));
    return node;
}

static void put_node(struct manifest *m, const struct fields *f, int undo, size_t nenv)
{
    struct manifest_node *node = new_node(f, undo, nenv);

    if (m->count >= m->nbuckets)
        grow_table(m);
    struct manifest_node **link = find_link(m, node->key, node->keyhash);
    if (*link) {
        node->next = (*link)->next;
        free(*link);
    } else {
        m->count++;
    }
    *link = node;
}

static void remove_node(struct manifest *m, const char *key)
{
    if (!m->nbuckets)
        return;
    struct manifest_node **link = find_link(m, key, XXH3_64bits(key, strlen(key)));
    struct manifest_node *node = *link;
    if (node) {
        *link = node->next;
        free(node);
        m->count--;
    }
}

static int by_key(const void *a, const void *b)
{
    const struct manifest_node *const *x = a, *const *y = b;
    return strcmp((*x)->key, (*y)->key);
}

const struct manifest_node **manifest_sorted_nodes(const struct manifest *m)
{
    const struct manifest_node **nodes = xmalloc((m->count + 1) * sizeof *nodes);
    size_t n = 0;

    for (size_t i = 0; i < m->nbuckets; i++) {
        for (const struct manifest_node *node = m->buckets[i]; node; node = node->next)
            nodes[n++] = node;
    }
    qsort(nodes, n, sizeof *nodes, by_key);
    return nodes;
}

/* ---- reading ---- */

/* Decode one escaped field into f; -1 when it is not a valid field. */
static int decode_field(struct fields *f, const char *s, size_t n)
{
    if (n == 0)
        return -1;
    xgrow(&f->offsets, &f->cap, f->count + 1, sizeof *f->offsets);
    f->offsets[f->count++] = f->text.len;
    if (n == 2 && s[0] == '\\' && s[1] == '-') {
        buf_addc(&f->text, '\0');
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t run = i;
        while (run < n && plain((unsigned char)s[run]))
            run++;
        buf_add(&f->text, s + i, run - i);
        if (run == n)
            break;
        i = run;
        if (s[i] != '\\' || i + 1 == n)
            return -1; /* a raw control byte, or a lone backslash at the end */
        char c = s[++i];
        if (c == '\\' || c == 's' || c == 'n' || c == 't') {
            buf_addc(&f->text, c == '\\' ? '\\' : c == 's' ? ' ' : c == 'n' ? '\n' : '\t');
            continue;
        }
        if (c != 'x' || n - i < 3 || hex_digit(s[i + 1]) < 0 || hex_digit(s[i + 2]) < 0)
            return -1;
        int v = hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]);
        if (v == 0)
            return -1; /* fields are C strings */
        buf_addc(&f->text, (char)v);
        i += 2;
    }
    buf_addc(&f->text, '\0');
    return 0;
}

/* Split and decode the n bytes of a line (without checksum) into f. */
static int split_line(struct fields *f, const char *p, size_t n)
{
    size_t i = 0;

    buf_clear(&f->text);
    f->count = 0;
    for (;;) {
        size_t start = i;
        while (i < n && p[i] != ' ')
            i++;
        if (decode_field(f, p + start, i - start))
            return -1;
        if (i == n)
            return 0;
        i++;
    }
}

/* 1 when the line (n bytes, no newline) ends in a matching checksum; *body
 * is then the length before it. */
static int checksum_ok(const char *p, size_t n, size_t *body)
{
    uint64_t want = 0;

    if (n < CHECKSUM_LEN)
        return 0;
    const char *c = p + n - CHECKSUM_LEN;
    if (c[0] != ' ' || c[1] != '#')
        return 0;
    for (int i = 2; i < CHECKSUM_LEN; i++) {
        int v = hex_digit(c[i]);
        if (v < 0 || (c[i] >= 'A' && c[i] <= 'F'))
            return 0;
        want = want << 4 | (uint64_t)v;
    }
    *body = n - CHECKSUM_LEN;
    return XXH3_64bits(p, *body) == want;
}

/* A decimal int64, digits only after an optional '-'. */
static int parse_int64(const char *s, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v = 0;
    const char *p = s + neg;

    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_C(1) << 63) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    *out = !neg ? (int64_t)v : v == 0 ? 0 : -(int64_t)(v - 1) - 1;
    return 0;
}

static void release_run(struct manifest_run *run)
{
    free(run->id);
    free(run->env);
    free(run->commit);
    free(run->who);
    memset(run, 0, sizeof *run);
}

/* Whether two recorded commits ("-" is NULL) name the same commit, a
 * "+dirty" suffix ignored. */
static int same_commit(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    size_t la = strcspn(a, "+"), lb = strcspn(b, "+");
    return la == lb && strncmp(a, b, la) == 0;
}

static int set_run(struct manifest *m, const struct fields *f)
{
    int64_t time;

    if (f->count != 6 || parse_int64(field(f, 5), &time))
        return -1;
    const char *commit = strcmp(field(f, 3), "-") == 0 ? NULL : field(f, 3);
    if (m->has_run && !same_commit(m->run.commit, commit)) {
        release_run(&m->previous);
        m->previous = m->run;
        m->has_previous = 1;
        memset(&m->run, 0, sizeof m->run);
    }
    release_run(&m->run);
    m->run.id = xstrdup(field(f, 1));
    m->run.env = xstrdup(field(f, 2));
    m->run.commit = commit ? xstrdup(commit) : NULL;
    m->run.who = xstrdup(field(f, 4));
    m->run.time = time;
    m->has_run = 1;
    return 0;
}

/* A U record: version 2 only; <n> a decimal count of the env entries that
 * follow, each "NAME=value"; a command that is not empty. */
static int put_undo_node(struct manifest *m, const struct fields *f)
{
    int64_t nenv;

    if (m->version < 2 || f->count < 7 || !is_hex32(field(f, 3)) || !*field(f, 4) ||
        parse_int64(field(f, 6), &nenv) || nenv < 0 || (uint64_t)nenv > f->count - 7 ||
        field(f, 6)[0] == '-')
        return -1;
    for (size_t i = 0; i < (size_t)nenv; i++) {
        const char *entry = field(f, 7 + i);
        if (entry[0] == '=' || !strchr(entry, '='))
            return -1;
    }
    put_node(m, f, 1, (size_t)nenv);
    return 0;
}

/* Apply one record line (no newline); -1 when it is corrupt. */
static int apply_line(struct manifest *m, struct fields *f, const char *p, size_t n)
{
    size_t body;

    if (!checksum_ok(p, n, &body) || split_line(f, p, body))
        return -1;
    const char *type = field(f, 0);
    if (!type[0] || type[1])
        return -1;
    switch (type[0]) {
    case 'N':
        if (f->count < 4 || !is_hex32(field(f, 3)))
            return -1;
        put_node(m, f, 0, 0);
        return 0;
    case 'U':
        return put_undo_node(m, f);
    case 'D':
        if (f->count != 2)
            return -1;
        remove_node(m, field(f, 1));
        return 0;
    case 'R':
        return set_run(m, f);
    default:
        return -1; /* unknown, or an H line after the first */
    }
}

static void apply_lines(struct manifest *m, const char *text, size_t len)
{
    struct fields f = {0};
    size_t pos = 0;

    buf_init(&f.text);
    while (pos < len) {
        const char *p = text + pos;
        const char *nl = memchr(p, '\n', len - pos);
        m->records++;
        if (!nl) {
            m->torn++;
            break;
        }
        size_t n = (size_t)(nl - p);
        if (m->valid && apply_line(m, &f, p, n))
            m->corrupt++;
        pos += n + 1;
    }
    buf_release(&f.text);
    free(f.offsets);
}

/* Check the first line (n bytes; complete: it had its newline). The version
 * is looked at before the checksum: another version may checksum otherwise. */
static void read_header(struct manifest *m, const char *p, size_t n, int complete)
{
    static const char prefix[] = "H " MAGIC " ";
    const size_t plen = sizeof prefix - 1;
    struct fields f = {0};
    size_t body;

    if (n < plen || memcmp(p, prefix, plen) != 0) {
        m->invalid = "no header line";
        return;
    }
    if (n < plen + 2 || (p[plen] != '1' && p[plen] != '2') || p[plen + 1] != ' ') {
        m->invalid = "unknown version";
        return;
    }
    buf_init(&f.text);
    if (complete && checksum_ok(p, n, &body) && split_line(&f, p, body) == 0 && f.count == 4 &&
        is_hex32(field(&f, 3))) {
        m->valid = 1;
        m->version = p[plen] - '0';
        m->invalid = NULL;
        memcpy(m->generation, field(&f, 3), MANIFEST_HEX);
    } else {
        m->invalid = complete ? "corrupt header line" : "torn header line";
    }
    buf_release(&f.text);
    free(f.offsets);
}

void manifest_init(struct manifest *m)
{
    memset(m, 0, sizeof *m);
    m->invalid = "no manifest";
}

void manifest_parse(struct manifest *m, const char *text, size_t len)
{
    manifest_init(m);
    m->size = len;
    if (len == 0)
        return;
    const char *nl = memchr(text, '\n', len);
    size_t first = nl ? (size_t)(nl - text) : len;
    read_header(m, text, first, nl != NULL);
    m->records = 1;
    if (!nl) {
        m->torn = 1;
        return;
    }
    apply_lines(m, nl + 1, len - first - 1);
}

void manifest_apply(struct manifest *m, const char *text, size_t len)
{
    apply_lines(m, text, len);
    m->size += len;
}

int manifest_needs_compaction(const struct manifest *m)
{
    return !m->valid || m->version != MANIFEST_VERSION || m->torn || m->corrupt ||
           m->records > 3 * m->count + 64;
}

void manifest_serialize(struct manifest *m, struct buf *out)
{
    size_t start = out->len;
    char gen[MANIFEST_HEX];
    const struct manifest_node **nodes = manifest_sorted_nodes(m);

    manifest_new_generation(gen);
    manifest_header_line(out, gen);
    if (m->has_previous)
        manifest_run_line(out, m->previous.id, m->previous.env, m->previous.commit,
                          m->previous.who, m->previous.time);
    if (m->has_run)
        manifest_run_line(out, m->run.id, m->run.env, m->run.commit, m->run.who, m->run.time);
    for (size_t i = 0; i < m->count; i++)
        manifest_node_copy_line(out, nodes[i]);
    free(nodes);
    memcpy(m->generation, gen, MANIFEST_HEX);
    m->valid = 1;
    m->version = MANIFEST_VERSION;
    m->invalid = NULL;
    m->records = 1 + (size_t)m->has_previous + (size_t)m->has_run + m->count;
    m->corrupt = 0;
    m->torn = 0;
    m->size = out->len - start;
}

void manifest_release(struct manifest *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct manifest_node *node = m->buckets[i], *next;
        for (; node; node = next) {
            next = node->next;
            free(node);
        }
    }
    free(m->buckets);
    release_run(&m->run);
    release_run(&m->previous);
    manifest_init(m);
}
