/* Helpers the effects of the rules share: reading a node's canonical
 * parameters (engine/model/model_graph.c writes them: booleans "true"/"false",
 * modes "0644", lists and maps as compact JSON) and wording the one-line
 * reasons of decide. */

#include "rules/rule.h"

#include "rules/node.h"
#include "engine/util.h"
#include "rules/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int compare_param(const void *key, const void *item)
{
    return strcmp(key, ((const struct node_param *)item)->name);
}

const char *rule_node_param(const struct node *n, const char *name)
{
    if (!n->params || n->nparams == 0)
        return NULL;
    const struct node_param *p =
        bsearch(name, n->params, n->nparams, sizeof *n->params, compare_param);
    return p ? p->value : NULL;
}

/* "File 'tick/File(tick.sh)'": the node in messages. */
static void describe_node(struct buf *out, const struct node *n)
{
    buf_adds(out, n->kind ? n->kind->name : "node");
    if (n->path) {
        buf_addc(out, ' ');
        rule_quote(out, n->path);
    }
}

const char *rule_node_required(const struct node *n, const char *name, struct buf *err)
{
    const char *value = rule_node_param(n, name);
    if (value)
        return value;
    describe_node(err, n);
    buf_addf(err, " has no parameter '%s'", name);
    return NULL;
}

int rule_node_bool(const struct node *n, const char *name, int fallback)
{
    const char *value = rule_node_param(n, name);
    if (!value)
        return fallback;
    return strcmp(value, "true") == 0;
}

int rule_node_live(const struct node *n)
{
    return n->kind->live || rule_node_bool(n, "live", 0);
}

int rule_node_mode(const struct node *n, int *mode, struct buf *err)
{
    const char *text = rule_node_param(n, "mode");
    *mode = -1;
    if (!text)
        return 0;
    size_t len = strlen(text);
    int m = 0;
    int ok = len == 3 || len == 4;
    for (size_t i = 0; ok && i < len; i++) {
        ok = text[i] >= '0' && text[i] <= '7';
        m = m * 8 + (text[i] - '0');
    }
    if (!ok) {
        describe_node(err, n);
        buf_adds(err, ": parameter 'mode' is not an octal mode: ");
        rule_quote(err, text);
        return -1;
    }
    *mode = m;
    return 0;
}

/* A cursor over canonical JSON text. */
struct json {
    const char *s;
    size_t pos;
};

static void json_space(struct json *j)
{
    while (j->s[j->pos] == ' ' || j->s[j->pos] == '\n' || j->s[j->pos] == '\t' ||
           j->s[j->pos] == '\r')
        j->pos++;
}

static int json_eat(struct json *j, char c)
{
    json_space(j);
    if (j->s[j->pos] != c)
        return 0;
    j->pos++;
    return 1;
}

static long json_hex4(struct json *j)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_digit(j->s[j->pos]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
        j->pos++;
    }
    return v;
}

static void utf8_add(struct buf *out, unsigned long c)
{
    if (c < 0x80) {
        buf_addc(out, (char)c);
    } else if (c < 0x800) {
        buf_addc(out, (char)(0xc0 | (c >> 6)));
        buf_addc(out, (char)(0x80 | (c & 0x3f)));
    } else if (c < 0x10000) {
        buf_addc(out, (char)(0xe0 | (c >> 12)));
        buf_addc(out, (char)(0x80 | ((c >> 6) & 0x3f)));
        buf_addc(out, (char)(0x80 | (c & 0x3f)));
    } else {
        buf_addc(out, (char)(0xf0 | (c >> 18)));
        buf_addc(out, (char)(0x80 | ((c >> 12) & 0x3f)));
        buf_addc(out, (char)(0x80 | ((c >> 6) & 0x3f)));
        buf_addc(out, (char)(0x80 | (c & 0x3f)));
    }
}

/* \uXXXX, with a surrogate pair when it is one. */
static int json_unicode(struct json *j, struct buf *out)
{
    long c = json_hex4(j);
    if (c < 0)
        return -1;
    if (c >= 0xd800 && c < 0xdc00 && j->s[j->pos] == '\\' && j->s[j->pos + 1] == 'u') {
        j->pos += 2;
        long low = json_hex4(j);
        if (low < 0xdc00 || low > 0xdfff)
            return -1;
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
    } else if (c >= 0xd800 && c <= 0xdfff) {
        return -1;
    }
    utf8_add(out, (unsigned long)c);
    return 0;
}

/* A JSON string into out (which may then hold NUL bytes). */
static int json_string(struct json *j, struct buf *out)
{
    if (!json_eat(j, '"'))
        return -1;
    for (;;) {
        char c = j->s[j->pos++];
        if (c == '\0')
            return -1;
        if (c == '"')
            return 0;
        if (c != '\\') {
            buf_addc(out, c);
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        c = j->s[j->pos++];
        const char *e = c ? strchr(from, c) : NULL;
        if (e)
            buf_addc(out, to[e - from]);
        else if (c != 'u' || json_unicode(j, out) < 0)
            return -1;
    }
}

/* A number, true or false: its text as is (Lua's tostring of 1.5 is "1.5"). */
static int json_scalar(struct json *j, struct buf *out)
{
    json_space(j);
    const char *s = j->s + j->pos;
    if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0) {
        size_t len = s[0] == 't' ? 4 : 5;
        buf_add(out, s, len);
        j->pos += len;
        return 0;
    }
    size_t len = strspn(s, "-+0123456789.eE");
    if (len == 0)
        return -1;
    buf_add(out, s, len);
    j->pos += len;
    return 0;
}

/* Gather strings into an array that lives as long as p. */
struct strings {
    const char **items;
    size_t n, cap;
};

static void strings_add(struct strings *st, struct plan *p, const struct buf *b)
{
    xgrow(&st->items, &st->cap, st->n + 1, sizeof *st->items);
    st->items[st->n++] = plan_memdup(p, b->data ? b->data : "", b->len);
}

static void strings_finish(struct strings *st, struct plan *p, const char *const **items,
                           size_t *nitems)
{
    /* plan_memdup's block is malloc'd, so aligned for pointers. */
    *items = st->n ? (const char *const *)(const void *)plan_memdup(p, st->items,
                                                                    st->n * sizeof *st->items)
                   : NULL;
    *nitems = st->n;
    free(st->items);
}

static int parse_list(struct json *j, struct plan *p, struct strings *st)
{
    struct buf item;
    buf_init(&item);
    int rc = json_eat(j, '[') ? 0 : -1;
    if (rc == 0 && !json_eat(j, ']')) {
        do {
            buf_clear(&item);
            rc = json_string(j, &item);
            if (rc == 0 && item.len && memchr(item.data, '\0', item.len))
                rc = -1;
            if (rc == 0)
                strings_add(st, p, &item);
        } while (rc == 0 && json_eat(j, ','));
        if (rc == 0 && !json_eat(j, ']'))
            rc = -1;
    }
    json_space(j);
    if (rc == 0 && j->s[j->pos] != '\0')
        rc = -1;
    buf_release(&item);
    return rc;
}

int rule_node_list(const struct node *n, const char *name, struct plan *p,
                   const char *const **items, size_t *nitems, struct buf *err)
{
    *items = NULL;
    *nitems = 0;
    const char *text = rule_node_param(n, name);
    if (!text)
        return 0;
    struct strings st = {0};
    struct json j = {text, 0};
    int rc = parse_list(&j, p, &st);
    strings_finish(&st, p, items, nitems);
    if (rc < 0) {
        describe_node(err, n);
        buf_addf(err, ": parameter '%s' is not a list of strings", name);
    }
    return rc;
}

static int is_env_name(const char *s, size_t len)
{
    if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* One "key":value member as "key=value" in item; -1 with err when bad. */
static int parse_member(struct json *j, struct buf *item, struct buf *err)
{
    buf_clear(item);
    if (json_string(j, item) < 0 || !json_eat(j, ':'))
        return -1;
    if (!is_env_name(item->data, item->len)) {
        buf_adds(err, "is not a variable name: ");
        rule_quote(err, item->data ? item->data : "");
        return -1;
    }
    buf_addc(item, '=');
    size_t start = item->len;
    json_space(j);
    if ((j->s[j->pos] == '"' ? json_string(j, item) : json_scalar(j, item)) < 0)
        return -1;
    if (memchr(item->data + start, '\0', item->len - start)) {
        buf_adds(err, "holds a NUL byte: ");
        rule_quote(err, item->data);
        return -1;
    }
    return 0;
}

static int parse_map(struct json *j, struct plan *p, struct strings *st, struct buf *why)
{
    struct buf item;
    buf_init(&item);
    int rc = json_eat(j, '{') ? 0 : -1;
    if (rc == 0 && !json_eat(j, '}')) {
        do {
            rc = parse_member(j, &item, why);
            if (rc == 0)
                strings_add(st, p, &item);
        } while (rc == 0 && json_eat(j, ','));
        if (rc == 0 && !json_eat(j, '}'))
            rc = -1;
    }
    json_space(j);
    if (rc == 0 && j->s[j->pos] != '\0')
        rc = -1;
    buf_release(&item);
    return rc;
}

int rule_node_env(const struct node *n, const char *name, struct plan *p, const char *const **items,
                  size_t *nitems, struct buf *err)
{
    *items = NULL;
    *nitems = 0;
    const char *text = rule_node_param(n, name);
    if (!text)
        return 0;
    struct strings st = {0};
    struct json j = {text, 0};
    struct buf why;
    buf_init(&why);
    int rc = parse_map(&j, p, &st, &why);
    strings_finish(&st, p, items, nitems);
    if (rc < 0) {
        describe_node(err, n);
        if (why.len)
            buf_addf(err, ": an entry of parameter '%s' %s", name, why.data);
        else
            buf_addf(err, ": parameter '%s' is not a table of names to values", name);
    }
    buf_release(&why);
    return rc;
}

void rule_quote(struct buf *out, const char *s)
{
    static const char from[] = "\n\t\r", to[] = "ntr";
    buf_addc(out, '\'');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *e = c ? strchr(from, c) : NULL;
        if (e) {
            buf_addc(out, '\\');
            buf_addc(out, to[e - from]);
        } else if (c < 0x20 || c == 0x7f) {
            buf_addf(out, "\\x%02x", c);
        } else {
            buf_addc(out, (char)c);
        }
    }
    buf_addc(out, '\'');
}

void rule_describe_type(struct buf *out, const char *path, const struct query_result *r,
                        const char *want)
{
    rule_quote(out, path);
    switch (r->type) {
    case FILE_NONE:
        buf_adds(out, " does not exist");
        return;
    case FILE_REGULAR:
        buf_adds(out, " is a file");
        break;
    case FILE_DIRECTORY:
        buf_adds(out, " is a directory");
        break;
    case FILE_SYMLINK:
        buf_adds(out, " is a symlink to ");
        rule_quote(out, r->link_target ? r->link_target : "");
        break;
    case FILE_OTHER:
        buf_adds(out, " is a special file");
        break;
    }
    buf_addf(out, ", want a %s", want);
}

/* "; " between the mismatches of one reason. */
static void reason_next(struct buf *reason, size_t start)
{
    if (reason->len > start)
        buf_adds(reason, "; ");
}

static void match_name(const char *what, const char *want, const char *have, struct buf *reason,
                       size_t start, int *ok)
{
    if (!want || (have && strcmp(want, have) == 0))
        return;
    reason_next(reason, start);
    buf_addf(reason, "%s is ", what);
    if (have)
        rule_quote(reason, have);
    else
        buf_adds(reason, "unknown");
    buf_adds(reason, ", want ");
    rule_quote(reason, want);
    *ok = 0;
}

int rule_match_attrs(const struct node *n, const struct query_result *r, struct buf *reason)
{
    size_t start = reason->len;
    int mode;
    if (rule_node_mode(n, &mode, reason) < 0)
        return -1;
    int ok = 1;
    if (mode >= 0 && (int)(r->mode & 07777) != mode) {
        buf_addf(reason, "mode is %04o, want %04o", r->mode & 07777, (unsigned)mode);
        ok = 0;
    }
    match_name("owner", rule_node_param(n, "owner"), r->owner, reason, start, &ok);
    match_name("group", rule_node_param(n, "group"), r->group, reason, start, &ok);
    return ok;
}

int rule_results_usable(const struct query_result *results, size_t nresults, size_t need,
                        struct buf *reason)
{
    if (nresults < need) {
        buf_addf(reason, "internal error: %zu query results, want %zu", nresults, need);
        return -1;
    }
    for (size_t i = 0; i < need; i++) {
        if (results[i].error) {
            buf_adds(reason, results[i].error);
            return -1;
        }
    }
    return 0;
}

int rule_owned_namevar(const struct node *n, struct plan *strings,
                       const char *paths[RULE_MAX_OWNED])
{
    (void)strings;
    const char *path = n->kind ? rule_node_param(n, n->kind->namevar) : NULL;
    if (!path)
        return -1;
    paths[0] = path;
    return 1;
}

static void remove_typed(const char *const *paths, size_t npaths, enum file_type type,
                         struct plan *out)
{
    for (size_t i = 0; i < npaths; i++)
        plan_op(out, &(struct op){.kind = OP_REMOVE, .path = paths[i], .mode = -1, .expect = type});
}

void rule_remove_files(const char *const *paths, size_t npaths, struct plan *out)
{
    remove_typed(paths, npaths, FILE_REGULAR, out);
}

void rule_remove_links(const char *const *paths, size_t npaths, struct plan *out)
{
    remove_typed(paths, npaths, FILE_SYMLINK, out);
}

int rule_owned_none(const struct node *n, struct plan *strings, const char *paths[RULE_MAX_OWNED])
{
    (void)n;
    (void)strings;
    (void)paths;
    return 0;
}

void rule_remove_none(const char *const *paths, size_t npaths, struct plan *out)
{
    (void)paths;
    (void)npaths;
    (void)out;
}
