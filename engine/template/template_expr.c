/* The expression parser: Jinja2's grammar (jinja2/parser.py, parse_expression
 * down to parse_primary) for the subset batou-ng supports. Filters and tests
 * are resolved and their arguments bound to parameters here: a misspelt
 * filter is a syntax error, as in Jinja, and rendering does no lookups.
 * Wrong arguments, which Jinja reports only when the call runs, are kept on
 * the node and raised when it is evaluated. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

/* A growing list of arguments or items, copied to the arena when complete. */
struct exprs {
    struct tpl_expr **v;
    const char **names;
    const struct tpl_token **toks;
    size_t n, cap, name_cap, tok_cap;
};

static struct tpl_expr *parse_unary(struct tpl_parser *p, int with_filter);
static struct tpl_expr *parse_primary(struct tpl_parser *p);
static struct tpl_expr *parse_postfix(struct tpl_parser *p, struct tpl_expr *node, size_t start);

static struct tpl_expr *new_expr(struct tpl_parser *p, enum tpl_expr_kind kind,
                                 const struct tpl_token *at)
{
    struct tpl_expr *e = tpl_alloc(p->a, sizeof *e);
    e->kind = kind;
    e->line = at->line;
    e->col = at->col;
    e->src_off = (uint32_t)at->off;
    e->src_len = (uint32_t)at->span;
    e->depth = 1;
    return e;
}

static void deeper(struct tpl_expr *e, const struct tpl_expr *child)
{
    if (child && child->depth + 1 > e->depth)
        e->depth = child->depth + 1;
}

/* Set e's source span to the tokens from start to the last one consumed, and
 * its depth from its children. */
static struct tpl_expr *finish(struct tpl_parser *p, struct tpl_expr *e, size_t start)
{
    const struct tpl_token *last = &p->toks[p->i > start ? p->i - 1 : start];
    e->src_off = (uint32_t)p->toks[start].off;
    e->src_len = (uint32_t)(last->off + last->span - p->toks[start].off);
    deeper(e, e->a);
    deeper(e, e->b);
    deeper(e, e->c);
    for (size_t i = 0; i < e->count; i++)
        deeper(e, e->items[i]);
    if (e->depth > TPL_MAX_TREE)
        return tpl_parse_fail(p, tpl_cur(p), "expression too complex (more than %d levels)",
                              TPL_MAX_TREE);
    return e;
}

static void exprs_add(struct exprs *l, struct tpl_expr *e, const char *name,
                      const struct tpl_token *t)
{
    xgrow(&l->v, &l->cap, l->n + 1, sizeof *l->v);
    xgrow(&l->names, &l->name_cap, l->n + 1, sizeof *l->names);
    xgrow(&l->toks, &l->tok_cap, l->n + 1, sizeof *l->toks);
    l->v[l->n] = e;
    l->names[l->n] = name;
    l->toks[l->n++] = t;
}

static void exprs_release(struct exprs *l)
{
    free(l->v);
    free(l->names);
    free(l->toks);
}

/* Move the items (and keyword names) of l into e, in the arena. */
static void exprs_give(struct tpl_parser *p, struct exprs *l, struct tpl_expr *e, int with_names)
{
    e->count = l->n;
    e->items = tpl_alloc(p->a, (l->n + 1) * sizeof *e->items);
    if (l->n)
        memcpy(e->items, l->v, l->n * sizeof *e->items);
    if (with_names) {
        e->names = tpl_alloc(p->a, (l->n + 1) * sizeof *e->names);
        if (l->n)
            memcpy(e->names, l->names, l->n * sizeof *e->names);
    }
}

/* (args, name=value, ...) after the '('. */
static int parse_args(struct tpl_parser *p, struct exprs *out)
{
    p->i++;
    int keywords = 0;
    while (!tpl_is_op(tpl_cur(p), ")")) {
        if (out->n > 0 && (tpl_expect_op(p, ",") < 0 || tpl_is_op(tpl_cur(p), ")")))
            break;
        const struct tpl_token *t = tpl_cur(p);
        if (tpl_is_op(t, "*") || tpl_is_op(t, "**")) {
            tpl_parse_fail(p, t, "'%.*s' arguments are not supported", (int)t->len, t->s);
            return -1;
        }
        const char *name = NULL;
        if (t->kind == TK_NAME && tpl_is_op(tpl_peek(p), "=")) {
            name = t->s;
            keywords = 1;
            p->i += 2;
        } else if (keywords) {
            tpl_parse_fail(p, t, "positional argument after keyword argument");
            return -1;
        }
        struct tpl_expr *e = tpl_parse_expression(p, 1);
        if (!e)
            return -1;
        exprs_add(out, e, name, t);
    }
    return p->failed ? -1 : tpl_expect_op(p, ")");
}

static struct tpl_expr *parse_call(struct tpl_parser *p, struct tpl_expr *callee, size_t start)
{
    struct tpl_expr *e = new_expr(p, EX_CALL, tpl_cur(p));
    struct exprs args = {0};
    if (parse_args(p, &args) < 0) {
        exprs_release(&args);
        return NULL;
    }
    e->a = callee;
    exprs_give(p, &args, e, 1);
    exprs_release(&args);
    return finish(p, e, start);
}

/* Record an error that rendering e raises: Jinja reports wrong arguments
 * only when the call runs, so a template with them in a branch not taken
 * still renders. */
static void defer(struct tpl_parser *p, struct tpl_expr *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void defer(struct tpl_parser *p, struct tpl_expr *e, const char *fmt, ...)
{
    if (e->error)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    e->error = tpl_strndup(p->a, message, strlen(message));
    free(message);
}

static int param_index(const struct tpl_filter *f, const char *name)
{
    for (int i = 0; i < f->nparams; i++)
        if (strcmp(f->params[i], name) == 0)
            return i;
    return -1;
}

/* Bind a filter's arguments to its parameters, as Python binds a call. */
static void bind_filter_args(struct tpl_parser *p, struct tpl_expr *e, const struct exprs *args)
{
    const struct tpl_filter *f = e->filter;
    e->count = (size_t)f->nparams;
    e->items = tpl_alloc(p->a, (e->count + 1) * sizeof *e->items);
    for (size_t i = 0; i < args->n; i++) {
        int k = args->names[i] ? param_index(f, args->names[i]) : (int)i;
        if (args->names[i] && k < 0) {
            const char *near = suggest(args->names[i], f->params, (size_t)f->nparams);
            defer(p, e, "filter '%s' has no argument '%s'%s%s%s", f->name, args->names[i],
                  near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        } else if (k >= f->nparams && f->nparams == 0) {
            defer(p, e, "filter '%s' takes no arguments", f->name);
        } else if (k >= f->nparams) {
            defer(p, e, "filter '%s' takes at most %d argument%s (%zu given)", f->name, f->nparams,
                  f->nparams == 1 ? "" : "s", args->n);
        } else if (e->items[k]) {
            defer(p, e, "filter '%s' got argument '%s' twice", f->name, f->params[k]);
        } else {
            e->items[k] = args->v[i];
        }
    }
    for (int k = 0; k < f->nrequired; k++)
        if (!e->items[k])
            defer(p, e, "filter '%s' needs argument '%s'", f->name, f->params[k]);
}

/* A dotted name after '|' or 'is' (Jinja allows namespaces like 'a.b'). */
static char *dotted_name(struct tpl_parser *p, const char *what)
{
    if (tpl_cur(p)->kind != TK_NAME)
        return tpl_unexpected(p, what);
    struct buf b;
    buf_init(&b);
    buf_adds(&b, tpl_cur(p)->s);
    p->i++;
    while (tpl_is_op(tpl_cur(p), ".") && tpl_peek(p)->kind == TK_NAME) {
        buf_addf(&b, ".%s", tpl_peek(p)->s);
        p->i += 2;
    }
    char *name = tpl_strndup(p->a, b.data, b.len);
    buf_release(&b);
    return name;
}

/* "unknown filter 'uper' (did you mean 'upper'?)" and the like. */
static void *unknown(struct tpl_parser *p, const struct tpl_token *at, const char *what,
                     const char *name, int in_jinja, const char *const *names, size_t count)
{
    if (in_jinja)
        return tpl_parse_fail(p, at, "%s '%s' is not supported by batou-ng", what, name);
    const char *near = suggest(name, names, count);
    if (near)
        return tpl_parse_fail(p, at, "unknown %s '%s' (did you mean '%s'?)", what, name, near);
    return tpl_parse_fail(p, at, "unknown %s '%s'", what, name);
}

static struct tpl_expr *parse_filter(struct tpl_parser *p, struct tpl_expr *node, size_t start)
{
    p->i++;
    const struct tpl_token *at = tpl_cur(p);
    char *name = dotted_name(p, "a filter name");
    if (!name)
        return NULL;
    const struct tpl_filter *f = tpl_filter_find(name);
    if (!f)
        return unknown(p, at, "filter", name, tpl_jinja_has_filter(name), tpl_filter_names,
                       tpl_filter_count);
    struct tpl_expr *e = new_expr(p, EX_FILTER, at);
    e->a = node;
    e->filter = f;
    struct exprs args = {0};
    int r = tpl_is_op(tpl_cur(p), "(") ? parse_args(p, &args) : 0;
    if (r == 0)
        bind_filter_args(p, e, &args);
    exprs_release(&args);
    return r < 0 ? NULL : finish(p, e, start);
}

struct tpl_expr *tpl_parse_filter_chain(struct tpl_parser *p)
{
    size_t start = p->i;
    struct tpl_expr *node = new_expr(p, EX_NAME, tpl_cur(p));
    node->str = TPL_BODY_NAME;
    node->len = strlen(TPL_BODY_NAME);
    p->i--; /* parse_filter steps over the token before the name (here: the tag) */
    node = parse_filter(p, node, start);
    while (node && tpl_is_op(tpl_cur(p), "|"))
        node = parse_filter(p, node, start);
    return node;
}

static int starts_test_arg(const struct tpl_token *t)
{
    if (t->kind == TK_NAME)
        return !tpl_is_name(t, "else") && !tpl_is_name(t, "or") && !tpl_is_name(t, "and");
    return t->kind == TK_STRING || t->kind == TK_INT || t->kind == TK_FLOAT || tpl_is_op(t, "(") ||
           tpl_is_op(t, "[") || tpl_is_op(t, "{");
}

/* A test's arguments: (args), or one primary as in `x is divisibleby 3`. */
static int parse_test_args(struct tpl_parser *p, struct exprs *args)
{
    if (tpl_is_op(tpl_cur(p), "("))
        return parse_args(p, args);
    if (!starts_test_arg(tpl_cur(p)))
        return 0;
    if (tpl_is_name(tpl_cur(p), "is")) {
        tpl_parse_fail(p, tpl_cur(p), "tests cannot be chained with 'is'");
        return -1;
    }
    size_t start = p->i;
    const struct tpl_token *at = tpl_cur(p);
    struct tpl_expr *arg = parse_primary(p);
    arg = arg ? parse_postfix(p, arg, start) : NULL;
    if (!arg)
        return -1;
    exprs_add(args, arg, NULL, at);
    return 0;
}

static struct tpl_expr *parse_test(struct tpl_parser *p, struct tpl_expr *node, size_t start)
{
    p->i++;
    int negate = tpl_is_name(tpl_cur(p), "not");
    p->i += (size_t)negate;
    const struct tpl_token *at = tpl_cur(p);
    char *name = dotted_name(p, "a test name");
    if (!name)
        return NULL;
    const struct tpl_test *test = tpl_test_find(name);
    if (!test)
        return unknown(p, at, "test", name, tpl_jinja_has_test(name), tpl_test_names,
                       tpl_test_count);
    struct tpl_expr *e = new_expr(p, EX_TEST, at);
    e->a = node;
    e->test = test;
    e->negate = negate;
    struct exprs args = {0};
    int r = parse_test_args(p, &args);
    for (size_t i = 0; r == 0 && i < args.n; i++)
        if (args.names[i])
            defer(p, e, "test '%s' takes no keyword arguments", name);
    if (r == 0 && args.n != (size_t)test->nargs)
        defer(p, e, "test '%s' takes %d argument%s (%zu given)", name, test->nargs,
              test->nargs == 1 ? "" : "s", args.n);
    if (r == 0)
        exprs_give(p, &args, e, 0);
    exprs_release(&args);
    return r < 0 ? NULL : finish(p, e, start);
}

static struct tpl_expr *parse_filter_expr(struct tpl_parser *p, struct tpl_expr *node, size_t start)
{
    while (node) {
        if (tpl_is_op(tpl_cur(p), "|"))
            node = parse_filter(p, node, start);
        else if (tpl_is_name(tpl_cur(p), "is"))
            node = parse_test(p, node, start);
        else if (tpl_is_op(tpl_cur(p), "("))
            node = parse_call(p, node, start);
        else
            break;
    }
    return node;
}

/* Jinja's parse_subscribed: an index, or a slice start:stop:step. */
static struct tpl_expr *parse_subscript(struct tpl_parser *p, struct tpl_expr *node, size_t start)
{
    const struct tpl_token *at = tpl_cur(p);
    p->i++;
    struct tpl_expr *parts[3] = {NULL, NULL, NULL};
    int slice = 0;
    for (int k = 0; k < 3 && !p->failed; k++) {
        if (k > 0) {
            if (!tpl_is_op(tpl_cur(p), ":"))
                break;
            p->i++;
            slice = 1;
        }
        if (!tpl_is_op(tpl_cur(p), ":") && !tpl_is_op(tpl_cur(p), "]") &&
            !tpl_is_op(tpl_cur(p), ","))
            parts[k] = tpl_parse_expression(p, 1);
        else if (k == 0 && !tpl_is_op(tpl_cur(p), ":"))
            return tpl_unexpected(p, "an expression");
    }
    if (p->failed)
        return NULL;
    if (tpl_is_op(tpl_cur(p), ","))
        return tpl_parse_fail(p, tpl_cur(p), "tuple subscripts are not supported");
    if (tpl_expect_op(p, "]") < 0)
        return NULL;
    struct tpl_expr *e = new_expr(p, slice ? EX_SLICE : EX_ITEM, at);
    e->a = node;
    if (slice) {
        e->items = tpl_alloc(p->a, 3 * sizeof *e->items);
        memcpy(e->items, parts, sizeof parts);
        e->count = 3;
    } else {
        e->b = parts[0];
    }
    return finish(p, e, start);
}

static struct tpl_expr *parse_postfix(struct tpl_parser *p, struct tpl_expr *node, size_t start)
{
    while (node) {
        const struct tpl_token *t = tpl_cur(p);
        if (tpl_is_op(t, ".")) {
            const struct tpl_token *attr = tpl_peek(p);
            if (attr->kind != TK_NAME && attr->kind != TK_INT) {
                p->i++;
                return tpl_unexpected(p, "a name or number");
            }
            struct tpl_expr *e = new_expr(p, attr->kind == TK_NAME ? EX_ATTR : EX_ITEM, attr);
            e->a = node;
            if (attr->kind == TK_NAME) {
                e->str = attr->s;
                e->len = strlen(attr->s);
            } else {
                e->b = new_expr(p, EX_INT, attr);
                e->b->i = attr->i;
            }
            p->i += 2;
            node = finish(p, e, start);
        } else if (tpl_is_op(t, "[")) {
            node = parse_subscript(p, node, start);
        } else if (tpl_is_op(t, "(")) {
            node = parse_call(p, node, start);
        } else {
            break;
        }
    }
    return node;
}

/* [a, b, ...] or {k: v, ...} (kind EX_LIST or EX_DICT; a dict's items alternate). */
static struct tpl_expr *parse_collection(struct tpl_parser *p, enum tpl_expr_kind kind)
{
    size_t start = p->i;
    const char *close = kind == EX_LIST ? "]" : "}";
    struct tpl_expr *e = new_expr(p, kind, tpl_cur(p));
    struct exprs items = {0};
    p->i++;
    while (!p->failed && !tpl_is_op(tpl_cur(p), close)) {
        if (items.n > 0 && (tpl_expect_op(p, ",") < 0 || tpl_is_op(tpl_cur(p), close)))
            break;
        struct tpl_expr *item = tpl_parse_expression(p, 1);
        if (item)
            exprs_add(&items, item, NULL, tpl_cur(p));
        if (item && kind == EX_DICT && tpl_expect_op(p, ":") == 0) {
            item = tpl_parse_expression(p, 1);
            if (item)
                exprs_add(&items, item, NULL, tpl_cur(p));
        }
    }
    if (!p->failed && tpl_expect_op(p, close) == 0)
        exprs_give(p, &items, e, 0);
    exprs_release(&items);
    return p->failed ? NULL : finish(p, e, start);
}

static struct tpl_expr *parse_strings(struct tpl_parser *p)
{
    struct tpl_expr *e = new_expr(p, EX_STR, tpl_cur(p));
    size_t start = p->i;
    if (tpl_peek(p)->kind != TK_STRING) {
        e->str = tpl_cur(p)->s;
        e->len = tpl_cur(p)->len;
        p->i++;
        return finish(p, e, start);
    }
    /* Adjacent literals concatenate, as in Python. */
    struct buf b;
    buf_init(&b);
    while (tpl_cur(p)->kind == TK_STRING) {
        buf_add(&b, tpl_cur(p)->s, tpl_cur(p)->len);
        p->i++;
    }
    e->str = tpl_strndup(p->a, b.data, b.len);
    e->len = b.len;
    buf_release(&b);
    return finish(p, e, start);
}

/* (a, b, ...) after its first item (NULL for `()`): a tuple, which is a
 * list with i = 1 (it matters to `%`). */
static struct tpl_expr *parse_tuple(struct tpl_parser *p, const struct tpl_token *open,
                                    struct tpl_expr *first)
{
    struct tpl_expr *e = new_expr(p, EX_LIST, open);
    e->i = 1;
    struct exprs items = {0};
    if (first)
        exprs_add(&items, first, NULL, open);
    while (!p->failed && first && tpl_is_op(tpl_cur(p), ",")) {
        p->i++;
        if (tpl_is_op(tpl_cur(p), ")"))
            break;
        struct tpl_expr *item = tpl_parse_expression(p, 1);
        if (item)
            exprs_add(&items, item, NULL, tpl_cur(p));
    }
    if (!p->failed && tpl_expect_op(p, ")") == 0)
        exprs_give(p, &items, e, 0);
    exprs_release(&items);
    return p->failed ? NULL : e;
}

static struct tpl_expr *parse_primary(struct tpl_parser *p)
{
    const struct tpl_token *t = tpl_cur(p);
    size_t start = p->i;
    struct tpl_expr *e;
    switch (t->kind) {
    case TK_NAME:
        if (tpl_is_name(t, "true") || tpl_is_name(t, "True") || tpl_is_name(t, "false") ||
            tpl_is_name(t, "False")) {
            e = new_expr(p, EX_BOOL, t);
            e->i = t->s[0] == 't' || t->s[0] == 'T';
        } else if (tpl_is_name(t, "none") || tpl_is_name(t, "None")) {
            e = new_expr(p, EX_NONE, t);
        } else {
            e = new_expr(p, EX_NAME, t);
            e->str = t->s;
            e->len = strlen(t->s);
        }
        p->i++;
        return e;
    case TK_STRING:
        return parse_strings(p);
    case TK_INT:
    case TK_FLOAT:
        e = new_expr(p, t->kind == TK_INT ? EX_INT : EX_FLOAT, t);
        e->i = t->i;
        e->f = t->f;
        p->i++;
        return e;
    default:
        break;
    }
    if (tpl_is_op(t, "[") || tpl_is_op(t, "{"))
        return parse_collection(p, tpl_is_op(t, "[") ? EX_LIST : EX_DICT);
    if (!tpl_is_op(t, "("))
        return tpl_unexpected(p, "an expression");
    if (tpl_enter(p) < 0)
        return NULL;
    p->i++;
    e = tpl_is_op(tpl_cur(p), ")") ? NULL : tpl_parse_expression(p, 1);
    if (e && !tpl_is_op(tpl_cur(p), ",")) {
        p->depth--;
        return tpl_expect_op(p, ")") < 0 ? NULL : e;
    }
    if (p->failed) {
        p->depth--;
        return NULL;
    }
    e = parse_tuple(p, t, e);
    p->depth--;
    return e ? finish(p, e, start) : NULL;
}

static struct tpl_expr *parse_unary(struct tpl_parser *p, int with_filter)
{
    size_t start = p->i;
    const struct tpl_token *t = tpl_cur(p);
    struct tpl_expr *node;
    if (tpl_is_op(t, "-") || tpl_is_op(t, "+")) {
        if (tpl_enter(p) < 0)
            return NULL;
        p->i++;
        node = new_expr(p, tpl_is_op(t, "-") ? EX_NEG : EX_POS, t);
        node->a = parse_unary(p, 0);
        node = node->a ? finish(p, node, start) : NULL;
        p->depth--;
    } else {
        node = parse_primary(p);
    }
    node = parse_postfix(p, node, start);
    if (with_filter)
        node = parse_filter_expr(p, node, start);
    return node;
}

/* The binary operator levels, loosest first (Jinja: math1, concat, math2, pow). */
static const struct {
    const char *ops[4];
    enum tpl_op codes[4];
} levels[] = {
    {{"+", "-"}, {OP_ADD, OP_SUB}},
    {{"~"}, {OP_CONCAT}},
    {{"*", "/", "//", "%"}, {OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD}},
    {{"**"}, {OP_POW}},
};

static struct tpl_expr *parse_binary(struct tpl_parser *p, size_t level)
{
    if (level == sizeof levels / sizeof *levels)
        return parse_unary(p, 1);
    size_t start = p->i;
    struct tpl_expr *left = parse_binary(p, level + 1);
    while (left) {
        int k = -1;
        for (int j = 0; j < 4 && levels[level].ops[j]; j++)
            if (tpl_is_op(tpl_cur(p), levels[level].ops[j]))
                k = j;
        if (k < 0)
            break;
        struct tpl_expr *e = new_expr(p, EX_BINOP, tpl_cur(p));
        e->op = levels[level].codes[k];
        p->i++;
        e->a = left;
        e->b = parse_binary(p, level + 1);
        left = e->b ? finish(p, e, start) : NULL;
    }
    return left;
}

static int compare_op(struct tpl_parser *p, enum tpl_op *op)
{
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    static const enum tpl_op codes[] = {OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE};
    for (size_t k = 0; k < 6; k++) {
        if (tpl_is_op(tpl_cur(p), ops[k])) {
            *op = codes[k];
            p->i++;
            return 1;
        }
    }
    if (tpl_is_name(tpl_cur(p), "in")) {
        *op = OP_IN;
        p->i++;
        return 1;
    }
    if (tpl_is_name(tpl_cur(p), "not") && tpl_is_name(tpl_peek(p), "in")) {
        *op = OP_NOTIN;
        p->i += 2;
        return 1;
    }
    return 0;
}

static struct tpl_expr *parse_compare(struct tpl_parser *p)
{
    size_t start = p->i;
    struct tpl_expr *first = parse_binary(p, 0);
    if (!first)
        return NULL;
    struct exprs operands = {0};
    enum tpl_op ops[64];
    size_t nops = 0;
    const struct tpl_token *at = tpl_cur(p);
    exprs_add(&operands, first, NULL, at);
    enum tpl_op op;
    while (!p->failed && compare_op(p, &op)) {
        if (nops == sizeof ops / sizeof *ops) {
            tpl_parse_fail(p, tpl_cur(p), "too many chained comparisons");
            break;
        }
        ops[nops++] = op;
        struct tpl_expr *e = parse_binary(p, 0);
        if (e)
            exprs_add(&operands, e, NULL, tpl_cur(p));
    }
    struct tpl_expr *e = first;
    if (!p->failed && nops > 0) {
        e = new_expr(p, EX_COMPARE, at);
        exprs_give(p, &operands, e, 0);
        e->ops = tpl_alloc(p->a, nops * sizeof *e->ops);
        memcpy(e->ops, ops, nops * sizeof *ops);
        e = finish(p, e, start);
    }
    exprs_release(&operands);
    return p->failed ? NULL : e;
}

static struct tpl_expr *parse_not(struct tpl_parser *p)
{
    if (!tpl_is_name(tpl_cur(p), "not"))
        return parse_compare(p);
    size_t start = p->i;
    struct tpl_expr *e = new_expr(p, EX_NOT, tpl_cur(p));
    p->i++;
    if (tpl_enter(p) < 0)
        return NULL;
    e->a = parse_not(p);
    p->depth--;
    return e->a ? finish(p, e, start) : NULL;
}

static struct tpl_expr *parse_logic(struct tpl_parser *p, int is_or)
{
    size_t start = p->i;
    struct tpl_expr *left = is_or ? parse_logic(p, 0) : parse_not(p);
    while (left && tpl_is_name(tpl_cur(p), is_or ? "or" : "and")) {
        struct tpl_expr *e = new_expr(p, is_or ? EX_OR : EX_AND, tpl_cur(p));
        p->i++;
        e->a = left;
        e->b = is_or ? parse_logic(p, 0) : parse_not(p);
        left = e->b ? finish(p, e, start) : NULL;
    }
    return left;
}

struct tpl_expr *tpl_parse_expression(struct tpl_parser *p, int condexpr)
{
    size_t start = p->i;
    if (tpl_enter(p) < 0)
        return NULL;
    struct tpl_expr *e = parse_logic(p, 1);
    while (condexpr && e && tpl_is_name(tpl_cur(p), "if")) {
        struct tpl_expr *c = new_expr(p, EX_COND, tpl_cur(p));
        p->i++;
        c->a = e;
        c->b = parse_logic(p, 1);
        if (c->b && tpl_is_name(tpl_cur(p), "else")) {
            p->i++;
            c->c = tpl_parse_expression(p, 1);
            if (!c->c)
                c->b = NULL;
        }
        e = c->b ? finish(p, c, start) : NULL;
    }
    p->depth--;
    return e;
}
