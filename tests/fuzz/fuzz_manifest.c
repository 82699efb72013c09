/* libFuzzer harness for the target manifest parser (engine/deploy/manifest.c).
 * Beyond not crashing, it checks the round trips: a compacted manifest parses
 * back to the same live state, and any string survives the escaping. */
#include "engine/deploy/manifest.h"
#include "engine/util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same_state(const struct manifest *a, const struct manifest *b)
{
    check(a->count == b->count && a->has_run == b->has_run);
    const struct manifest_node **nodes = manifest_sorted_nodes(a);
    for (size_t i = 0; i < a->count; i++) {
        const struct manifest_node *x = nodes[i], *y = manifest_find(b, x->key);
        check(y && strcmp(x->kind, y->kind) == 0 && strcmp(x->hash, y->hash) == 0 &&
              x->npaths == y->npaths);
        for (size_t j = 0; j < x->npaths; j++)
            check(strcmp(x->paths[j], y->paths[j]) == 0);
        check(same_string(x->undo.command, y->undo.command) &&
              same_string(x->undo.cwd, y->undo.cwd) && x->undo.nenv == y->undo.nenv);
        for (size_t j = 0; j < x->undo.nenv; j++)
            check(strcmp(x->undo.env[j], y->undo.env[j]) == 0);
    }
    free(nodes);
    if (a->has_run)
        check(same_string(a->run.id, b->run.id) && same_string(a->run.env, b->run.env) &&
              same_string(a->run.commit, b->run.commit) && same_string(a->run.who, b->run.who) &&
              a->run.time == b->run.time);
}

/* Compact m and parse the result: the same live state, nothing ignored. */
static void check_compaction(struct manifest *m)
{
    struct buf out;
    struct manifest again;

    buf_init(&out);
    manifest_serialize(m, &out);
    manifest_parse(&again, out.data, out.len);
    check(again.valid && again.corrupt == 0 && again.torn == 0);
    check(again.records == m->records && again.size == m->size);
    check(strcmp(again.generation, m->generation) == 0);
    check_same_state(m, &again);
    manifest_release(&again);
    buf_release(&out);
}

/* The input up to its first NUL as key, kind and path survives a round trip. */
static void check_escaping(const char *text, size_t len)
{
    static const char hash[] = "0123456789abcdef0123456789abcdef";
    char *s = xstrndup(text, len);
    const char *paths[] = {s, "", s};
    struct buf b;
    struct manifest m;

    buf_init(&b);
    manifest_header_line(&b, hash);
    manifest_run_line(&b, s, s, s, s, (int64_t)len);
    check(manifest_node_line(&b, s, s, hash, paths, 3) == 0);
    manifest_parse(&m, b.data, b.len);
    check(m.valid && m.count == 1 && m.corrupt == 0 && m.has_run);
    const struct manifest_node *n = manifest_find(&m, s);
    check(n && strcmp(n->kind, s) == 0 && n->npaths == 3 && strcmp(n->paths[2], s) == 0);
    check(strcmp(m.run.who, s) == 0 && m.run.time == (int64_t)len);
    manifest_release(&m);
    buf_release(&b);
    free(s);
}

/* The input with every whole line's checksum made right (a trailing
 * " #<16 chars>" is replaced), so the fuzzer reaches the record syntax. */
static void fix_checksums(const char *text, size_t len, struct buf *out)
{
    size_t pos = 0;

    while (pos < len) {
        const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
        if (!nl) {
            buf_add(out, p, len - pos);
            break;
        }
        size_t n = (size_t)(nl - p);
        if (n >= 18 && p[n - 18] == ' ' && p[n - 17] == '#')
            n -= 18;
        buf_add(out, p, n);
        buf_addf(out, " #%016llx\n", (unsigned long long)XXH3_64bits(p, n));
        pos += (size_t)(nl - p) + 1;
    }
}

static void check_parse(const char *text, size_t size)
{
    struct manifest m;

    manifest_parse(&m, text, size);
    check(m.size == size && (m.valid || m.count == 0));
    if (m.valid)
        check_compaction(&m);
    manifest_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct manifest m;
    char gen[MANIFEST_HEX];
    uint64_t bytes;
    struct buf fixed, header;

    check_parse(text, size);
    buf_init(&fixed);
    fix_checksums(text, size, &fixed);
    check_parse(fixed.data, fixed.len);

    /* the fixed bytes appended to an empty valid manifest */
    buf_init(&header);
    manifest_init(&m);
    manifest_serialize(&m, &header);
    manifest_apply(&m, fixed.data, fixed.len);
    check(m.size == header.len + fixed.len);
    check_compaction(&m);
    manifest_release(&m);
    buf_release(&header);
    buf_release(&fixed);

    check_escaping(text, strnlen(text, size));
    manifest_parse_generation(text, size, gen, &bytes);
    return 0;
}
