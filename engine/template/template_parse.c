/* The template parser: Jinja2's statements (jinja2/parser.py: subparse,
 * parse_if, parse_for, parse_set) over the tokens of template_lex.c, the
 * helpers the expression parser (template_expr.c) shares, the arena that
 * holds the tree, and template_parse/template_free. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

struct tpl_chunk {
    struct tpl_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

void *tpl_alloc(struct tpl_arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct tpl_chunk *c = a->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > 8192 ? size : 8192;
        c = xmalloc(sizeof *c + cap);
        c->cap = cap;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *tpl_strndup(struct tpl_arena *a, const char *s, size_t n)
{
    char *p = tpl_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

void tpl_arena_release(struct tpl_arena *a)
{
    while (a->chunks) {
        struct tpl_chunk *next = a->chunks->next;
        free(a->chunks);
        a->chunks = next;
    }
}

static struct tpl_node *subparse(struct tpl_parser *p, const char *const *ends);

static const char *const if_ends[] = {"elif", "else", "endif", NULL};
static const char *const endif_ends[] = {"endif", NULL};
static const char *const for_ends[] = {"else", "endfor", NULL};
static const char *const endfor_ends[] = {"endfor", NULL};
static const char *const set_ends[] = {"endset", NULL};

const struct tpl_token *tpl_cur(const struct tpl_parser *p)
{
    return &p->toks[p->i];
}

const struct tpl_token *tpl_peek(const struct tpl_parser *p)
{
    return p->toks[p->i].kind == TK_EOF ? &p->toks[p->i] : &p->toks[p->i + 1];
}

int tpl_is_op(const struct tpl_token *t, const char *op)
{
    return t->kind == TK_OP && t->len == strlen(op) && memcmp(t->s, op, t->len) == 0;
}

int tpl_is_name(const struct tpl_token *t, const char *name)
{
    return t->kind == TK_NAME && strcmp(t->s, name) == 0;
}

void *tpl_parse_fail(struct tpl_parser *p, const struct tpl_token *t, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    p->err->message = xvasprintf(fmt, ap);
    va_end(ap);
    p->err->file = xstrdup(p->name);
    p->err->line = t->line;
    p->err->col = t->col;
    p->failed = 1;
    return NULL;
}

/* How a token reads in "got X" messages. */
static char *describe(const struct tpl_parser *p, const struct tpl_token *t)
{
    switch (t->kind) {
    case TK_EOF:
        return xstrdup("end of template");
    case TK_VAR_END:
        return xstrdup("'}}'");
    case TK_BLOCK_END:
        return xstrdup("'%}'");
    case TK_DATA:
        return xstrdup("text");
    default:
        return xasprintf("'%.*s'", (int)(t->span > 40 ? 40 : t->span), p->src + t->off);
    }
}

void *tpl_unexpected(struct tpl_parser *p, const char *expected)
{
    const struct tpl_token *t = tpl_cur(p);
    if (t->kind == TK_EOF)
        return tpl_parse_fail(p, t, "unexpected end of template, expected %s", expected);
    char *what = describe(p, t);
    tpl_parse_fail(p, t, "expected %s, got %s", expected, what);
    free(what);
    return NULL;
}

int tpl_expect_op(struct tpl_parser *p, const char *op)
{
    if (tpl_is_op(tpl_cur(p), op)) {
        p->i++;
        return 0;
    }
    char *want = xasprintf("'%s'", op);
    tpl_unexpected(p, want);
    free(want);
    return -1;
}

int tpl_expect_end(struct tpl_parser *p, enum tpl_token_kind kind)
{
    if (tpl_cur(p)->kind == kind) {
        p->i++;
        return 0;
    }
    tpl_unexpected(p, kind == TK_BLOCK_END ? "'%}'" : "'}}'");
    return -1;
}

/* Bound the parser's (and so the renderer's) recursion. */
int tpl_enter(struct tpl_parser *p)
{
    if (++p->depth > TPL_MAX_NESTING) {
        tpl_parse_fail(p, tpl_cur(p), "expression nested too deeply (more than %d levels)",
                       TPL_MAX_NESTING);
        return -1;
    }
    return 0;
}

/* --- statements --- */

struct tpl_node *tpl_new_node(struct tpl_parser *p, enum tpl_node_kind kind,
                              const struct tpl_token *at)
{
    struct tpl_node *n = tpl_alloc(p->a, sizeof *n);
    n->kind = kind;
    n->line = at->line;
    n->col = at->col;
    return n;
}

static int is_literal_name(const char *s)
{
    static const char *const names[] = {"true", "false", "True", "False", "none", "None"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i]) == 0)
            return 1;
    return 0;
}

/* Whether t can be assigned to; fails otherwise. */
static int check_target(struct tpl_parser *p, const struct tpl_token *t, size_t count, size_t max)
{
    if (t->kind != TK_NAME)
        tpl_unexpected(p, "a variable name");
    else if (is_literal_name(t->s))
        tpl_parse_fail(p, t, "cannot assign to '%s'", t->s);
    else if (count == max)
        tpl_parse_fail(p, t, "too many names to assign");
    else if (tpl_is_op(&t[1], "."))
        tpl_parse_fail(p, &t[1], "cannot assign to an attribute");
    return p->failed ? -1 : 0;
}

/* Assignment targets: `x`, `a, b` or `(a, b)`. */
static int parse_targets(struct tpl_parser *p, struct tpl_node *n)
{
    const char *names[16];
    size_t count = 0;
    int paren = tpl_is_op(tpl_cur(p), "(");
    if (paren)
        p->i++;
    for (;;) {
        if (check_target(p, tpl_cur(p), count, sizeof names / sizeof *names) < 0)
            return -1;
        names[count++] = tpl_cur(p)->s;
        p->i++;
        const struct tpl_token *next = tpl_peek(p);
        if (!tpl_is_op(tpl_cur(p), ",") || next->kind != TK_NAME || tpl_is_name(next, "in"))
            break;
        p->i++;
    }
    if (tpl_is_op(tpl_cur(p), ","))
        p->i++;
    if (paren && tpl_expect_op(p, ")") < 0)
        return -1;
    n->nnames = count;
    n->names = tpl_alloc(p->a, count * sizeof *n->names);
    memcpy(n->names, names, count * sizeof *names);
    return 0;
}

/* Parse the body of a block up to one of its end tags (the tag name token
 * becomes current); for the rest of the block p->block describes it. */
struct tpl_node *tpl_block_body(struct tpl_parser *p, const char *tag, int line,
                                const char *const *ends)
{
    struct tpl_open_block saved = p->block;
    p->block = (struct tpl_open_block){tag, line, ends};
    struct tpl_node *body = subparse(p, ends);
    p->block = saved;
    if (!p->failed)
        p->i++; /* the BLOCK_BEGIN; the end tag's name is now current */
    return body;
}

static struct tpl_node *parse_if(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *first = tpl_new_node(p, ND_IF, tag), *n = first;
    for (;;) {
        n->expr = tpl_parse_expression(p, 0);
        if (!n->expr || tpl_expect_end(p, TK_BLOCK_END) < 0)
            return NULL;
        n->body = tpl_block_body(p, "if", tag->line, if_ends);
        if (p->failed)
            return NULL;
        const struct tpl_token *t = tpl_cur(p);
        p->i++;
        if (tpl_is_name(t, "elif")) {
            n->orelse = tpl_new_node(p, ND_IF, t);
            n = n->orelse;
            n->elif = 1;
            continue;
        }
        if (tpl_is_name(t, "else")) {
            if (tpl_expect_end(p, TK_BLOCK_END) < 0)
                return NULL;
            n->orelse = tpl_block_body(p, "if", tag->line, endif_ends);
            if (p->failed)
                return NULL;
            p->i++;
        }
        return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : first;
    }
}

static struct tpl_node *parse_for(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_FOR, tag);
    if (parse_targets(p, n) < 0)
        return NULL;
    if (!tpl_is_name(tpl_cur(p), "in"))
        return tpl_unexpected(p, "'in'");
    p->i++;
    n->expr = tpl_parse_expression(p, 0);
    if (!n->expr)
        return NULL;
    if (tpl_is_name(tpl_cur(p), "if")) {
        p->i++;
        n->cond = tpl_parse_expression(p, 1);
        if (!n->cond)
            return NULL;
    }
    if (tpl_is_name(tpl_cur(p), "recursive")) {
        n->recursive = 1;
        p->i++;
    }
    if (tpl_expect_end(p, TK_BLOCK_END) < 0)
        return NULL;
    p->loops++;
    n->body = tpl_block_body(p, "for", tag->line, for_ends);
    p->loops--;
    if (p->failed)
        return NULL;
    if (tpl_is_name(tpl_cur(p), "else")) {
        p->i++;
        if (tpl_expect_end(p, TK_BLOCK_END) < 0)
            return NULL;
        n->orelse = tpl_block_body(p, "for", tag->line, endfor_ends);
        if (p->failed)
            return NULL;
    }
    p->i++;
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

static struct tpl_node *parse_set(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_SET, tag);
    const struct tpl_token *t = tpl_cur(p);
    if (t->kind == TK_NAME && tpl_is_op(&t[1], ".") && t[2].kind == TK_NAME &&
        tpl_is_op(&t[3], "=")) { /* set ns.attr = value */
        n->names = tpl_alloc(p->a, sizeof *n->names);
        n->names[0] = t->s;
        n->nnames = 1;
        n->attr = t[2].s;
        p->i += 3;
    } else if (parse_targets(p, n) < 0)
        return NULL;
    if (tpl_is_op(tpl_cur(p), "=")) {
        p->i++;
        n->expr = tpl_parse_expression(p, 1);
        if (!n->expr)
            return NULL;
        if (tpl_is_op(tpl_cur(p), ","))
            return tpl_parse_fail(p, tpl_cur(p), "tuples are not supported, use a list");
        return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
    }
    if (tpl_is_op(tpl_cur(p), "|") && tpl_peek(p)->kind == TK_NAME) { /* set x | upper */
        p->i++;
        n->cond = tpl_parse_filter_chain(p);
        if (!n->cond)
            return NULL;
    }
    if (tpl_cur(p)->kind != TK_BLOCK_END)
        return tpl_unexpected(p, "'='");
    if (n->nnames != 1 || n->attr)
        return tpl_parse_fail(p, tag, "a block 'set' assigns exactly one name");
    p->i++;
    n->body = tpl_block_body(p, "set", tag->line, set_ends);
    if (p->failed)
        return NULL;
    p->i++;
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

/* "'elif', 'else' or 'endif'" */
static char *tag_list(const char *const *tags)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; tags[i]; i++) {
        if (i > 0)
            buf_adds(&b, tags[i + 1] ? ", " : " or ");
        buf_addf(&b, "'%s'", tags[i]);
    }
    return buf_detach(&b);
}

static void *misplaced_tag(struct tpl_parser *p, const struct tpl_token *t)
{
    if (p->block.tag) {
        char *want = tag_list(p->block.ends);
        tpl_parse_fail(p, t, "unexpected '%s', expected %s (the '%s' at line %d)", t->s, want,
                       p->block.tag, p->block.line);
        free(want);
        return NULL;
    }
    const char *opener = strcmp(t->s, "endfor") == 0      ? "'for'"
                         : strcmp(t->s, "endset") == 0    ? "'set'"
                         : strcmp(t->s, "else") == 0      ? "'if' or 'for'"
                         : strcmp(t->s, "endwith") == 0   ? "'with'"
                         : strcmp(t->s, "endfilter") == 0 ? "'filter'"
                         : strcmp(t->s, "endmacro") == 0  ? "'macro'"
                         : strcmp(t->s, "endcall") == 0   ? "'call'"
                                                          : "'if'";
    return tpl_parse_fail(p, t, "unexpected '%s' (no %s is open)", t->s, opener);
}

static struct tpl_node *parse_statement(struct tpl_parser *p, const struct tpl_token *t)
{
    static const char *const known[] = {
        "if",    "elif",    "else",   "endif",     "for",   "endfor",   "set",
        "endset", "raw",    "endraw", "with",      "endwith", "filter", "endfilter",
        "macro", "endmacro", "call",  "endcall",   "break", "continue", "include", "import",
        "from"};
    static const char *const jinja_only[] = {"block", "extends",  "autoescape", "endautoescape",
                                             "print", "do",       "trans",      "endtrans",
                                             "pluralize", "endblock"};
    int handled = 1;
    struct tpl_node *more = tpl_parse_more(p, t, &handled);
    if (handled)
        return more;
    if (strcmp(t->s, "if") == 0)
        return parse_if(p, t);
    if (strcmp(t->s, "for") == 0)
        return parse_for(p, t);
    if (strcmp(t->s, "set") == 0)
        return parse_set(p, t);
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(t->s, known[i]) == 0)
            return misplaced_tag(p, t);
    for (size_t i = 0; i < sizeof jinja_only / sizeof *jinja_only; i++)
        if (strcmp(t->s, jinja_only[i]) == 0)
            return tpl_parse_fail(p, t, "tag '%s' is not supported by batou-ng", t->s);
    const char *near = suggest(t->s, known, sizeof known / sizeof *known);
    if (near)
        return tpl_parse_fail(p, t, "unknown tag '%s' (did you mean '%s'?)", t->s, near);
    return tpl_parse_fail(p, t, "unknown tag '%s'", t->s);
}

static int is_end(const char *const *ends, const char *name)
{
    for (size_t i = 0; ends && ends[i]; i++)
        if (strcmp(ends[i], name) == 0)
            return 1;
    return 0;
}

/* Nodes up to EOF (ends NULL) or up to a {% tag %} named in ends, where the
 * BLOCK_BEGIN is left current. */
static struct tpl_node *subparse(struct tpl_parser *p, const char *const *ends)
{
    struct tpl_node *head = NULL, **tail = &head;
    if (++p->blocks > TPL_MAX_NESTING) {
        tpl_parse_fail(p, tpl_cur(p), "blocks nested too deeply (more than %d levels)",
                       TPL_MAX_NESTING);
        return NULL;
    }
    while (!p->failed) {
        const struct tpl_token *t = tpl_cur(p);
        struct tpl_node *n = NULL;
        if (t->kind == TK_DATA) {
            n = tpl_new_node(p, ND_TEXT, t);
            n->text = t->s;
            n->len = t->len;
            p->i++;
        } else if (t->kind == TK_VAR_BEGIN) {
            p->i++;
            n = tpl_new_node(p, ND_OUTPUT, t);
            n->expr = tpl_parse_expression(p, 1);
            if (n->expr)
                tpl_expect_end(p, TK_VAR_END);
        } else if (t->kind == TK_BLOCK_BEGIN) {
            const struct tpl_token *tag = tpl_peek(p);
            if (tag->kind != TK_NAME) {
                p->i++;
                tpl_unexpected(p, "a tag name");
                break;
            }
            if (is_end(ends, tag->s))
                break;
            p->i += 2;
            n = parse_statement(p, tag);
        } else if (t->kind == TK_EOF) {
            if (ends) {
                const char *close = ends[0];
                for (size_t i = 0; ends[i]; i++)
                    close = ends[i];
                tpl_parse_fail(p, t,
                               "unexpected end of template, expected '%s' (the '%s' at line %d)",
                               close, p->block.tag, p->block.line);
            }
            break;
        } else {
            tpl_unexpected(p, "text or a tag");
            break;
        }
        if (n) {
            *tail = n;
            tail = &n->next;
        }
    }
    p->blocks--;
    return head;
}

/* Jinja turns \r\n and \r into \n before lexing. */
static char *normalize_newlines(const char *src, size_t len, size_t *out_len)
{
    char *s = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            s[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else {
            s[n++] = src[i];
        }
    }
    s[n] = '\0';
    *out_len = n;
    return s;
}

struct template *template_parse(const char *name, const char *src, size_t len,
                                struct template_error *err)
{
    memset(err, 0, sizeof *err);
    struct template *t = xcalloc(1, sizeof *t);
    t->name = xstrdup(name ? name : "<template>");
    t->src = normalize_newlines(src ? src : "", src ? len : 0, &t->len);
    struct tpl_token *tokens;
    size_t count;
    if (tpl_lex(t->name, t->src, t->len, &t->arena, &tokens, &count, err) < 0) {
        template_free(t);
        return NULL;
    }
    struct tpl_parser p = {
        .name = t->name, .src = t->src, .toks = tokens, .a = &t->arena, .err = err};
    t->body = subparse(&p, NULL);
    free(tokens);
    if (p.failed) {
        template_free(t);
        return NULL;
    }
    return t;
}

void template_free(struct template *t)
{
    if (!t)
        return;
    tpl_arena_release(&t->arena);
    free(t->name);
    free(t->src);
    free(t);
}

void template_error_release(struct template_error *err)
{
    free(err->file);
    free(err->message);
    err->file = NULL;
    err->message = NULL;
}
