/* The statements beyond if/for/set (jinja2/parser.py: parse_with,
 * parse_filter_block, parse_macro, parse_call_block; break and continue as
 * jinja2.ext.loopcontrols has them). Rendered by template_macro.c. */

#include <string.h>

#include "engine/template/template.h"
#include "engine/template/template_tree.h"
#include "engine/util.h"

static const char *const endwith_ends[] = {"endwith", NULL};
static const char *const endfilter_ends[] = {"endfilter", NULL};
static const char *const endmacro_ends[] = {"endmacro", NULL};
static const char *const endcall_ends[] = {"endcall", NULL};

/* The body up to the end tag and the '%}' after it. */
static struct tpl_node *body_to_end(struct tpl_parser *p, struct tpl_node *n,
                                    const struct tpl_token *tag, const char *const *ends)
{
    n->body = tpl_block_body(p, tag->s, tag->line, ends);
    if (p->failed)
        return NULL;
    p->i++;
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

struct params {
    const char *names[64];
    struct tpl_expr *defaults[64];
    size_t n;
};

static void params_give(struct tpl_parser *p, const struct params *ps, struct tpl_node *n)
{
    n->nnames = ps->n;
    n->names = tpl_alloc(p->a, (ps->n + 1) * sizeof *n->names);
    n->exprs = tpl_alloc(p->a, (ps->n + 1) * sizeof *n->exprs);
    memcpy(n->names, ps->names, ps->n * sizeof *n->names);
    memcpy(n->exprs, ps->defaults, ps->n * sizeof *n->exprs);
}

/* name = expr, name = expr (with), or (a, b=1) (macro, call). */
static int parse_params(struct tpl_parser *p, struct params *ps, int parens, int need_value)
{
    ps->n = 0;
    if (parens && tpl_expect_op(p, "(") < 0)
        return -1;
    while (!p->failed) {
        const struct tpl_token *t = tpl_cur(p);
        if (parens ? tpl_is_op(t, ")") : t->kind == TK_BLOCK_END)
            break;
        if (ps->n > 0 && tpl_expect_op(p, ",") < 0)
            return -1;
        t = tpl_cur(p);
        if (parens && tpl_is_op(t, ")"))
            break;
        if (t->kind != TK_NAME) {
            tpl_unexpected(p, "a name");
            return -1;
        }
        if (ps->n == sizeof ps->names / sizeof *ps->names) {
            tpl_parse_fail(p, t, "too many names (more than 64)");
            return -1;
        }
        p->i++;
        struct tpl_expr *value = NULL;
        if (need_value && tpl_expect_op(p, "=") < 0)
            return -1;
        if (need_value || tpl_is_op(tpl_cur(p), "=")) {
            p->i += need_value ? 0 : 1;
            value = tpl_parse_expression(p, 1);
            if (!value)
                return -1;
        }
        ps->names[ps->n] = t->s;
        ps->defaults[ps->n++] = value;
    }
    if (parens && tpl_expect_op(p, ")") < 0)
        return -1;
    return p->failed ? -1 : 0;
}

static struct tpl_node *parse_loop_control(struct tpl_parser *p, const struct tpl_token *tag)
{
    if (p->loops == 0)
        return tpl_parse_fail(p, tag, "'%s' outside of a loop", tag->s);
    struct tpl_node *n = tpl_new_node(p, tag->s[0] == 'b' ? ND_BREAK : ND_CONTINUE, tag);
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

static struct tpl_node *parse_with(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_WITH, tag);
    struct params ps;
    if (parse_params(p, &ps, 0, 1) < 0 || tpl_expect_end(p, TK_BLOCK_END) < 0)
        return NULL;
    params_give(p, &ps, n);
    return body_to_end(p, n, tag, endwith_ends);
}

static struct tpl_node *parse_filter_block(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_FILTER, tag);
    if (tpl_cur(p)->kind != TK_NAME)
        return tpl_unexpected(p, "a filter name");
    n->expr = tpl_parse_filter_chain(p);
    if (!n->expr || tpl_expect_end(p, TK_BLOCK_END) < 0)
        return NULL;
    return body_to_end(p, n, tag, endfilter_ends);
}

/* A macro's (or caller's) body: loops outside it do not count for break. */
static struct tpl_node *callable_body(struct tpl_parser *p, struct tpl_node *n,
                                      const struct tpl_token *tag, const char *const *ends)
{
    int loops = p->loops;
    p->loops = 0;
    struct tpl_node *r = body_to_end(p, n, tag, ends);
    p->loops = loops;
    return r;
}

static struct tpl_node *parse_macro(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_MACRO, tag);
    if (tpl_cur(p)->kind != TK_NAME)
        return tpl_unexpected(p, "a macro name");
    n->text = tpl_cur(p)->s;
    p->i++;
    struct params ps;
    if (parse_params(p, &ps, 1, 0) < 0 || tpl_expect_end(p, TK_BLOCK_END) < 0)
        return NULL;
    params_give(p, &ps, n);
    return callable_body(p, n, tag, endmacro_ends);
}

static struct tpl_node *parse_call_block(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_CALL, tag);
    n->text = "caller";
    struct params ps = {.n = 0};
    if (tpl_is_op(tpl_cur(p), "(") && parse_params(p, &ps, 1, 0) < 0)
        return NULL;
    params_give(p, &ps, n);
    const struct tpl_token *at = tpl_cur(p);
    n->expr = tpl_parse_expression(p, 0);
    if (!n->expr)
        return NULL;
    if (n->expr->kind != EX_CALL)
        return tpl_parse_fail(p, at, "expected a call, as in {%% call m(x) %%}");
    if (tpl_expect_end(p, TK_BLOCK_END) < 0)
        return NULL;
    return callable_body(p, n, tag, endcall_ends);
}

/* [with context | without context]: 1 with, 0 without, -1 when not there. */
static int parse_context(struct tpl_parser *p)
{
    const struct tpl_token *t = tpl_cur(p);
    if ((!tpl_is_name(t, "with") && !tpl_is_name(t, "without")) || !tpl_is_name(&t[1], "context"))
        return -1;
    p->i += 2;
    return strcmp(t->s, "with") == 0;
}

static struct tpl_node *parse_include(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_INCLUDE, tag);
    n->expr = tpl_parse_expression(p, 1);
    if (!n->expr)
        return NULL;
    if (tpl_is_name(tpl_cur(p), "ignore") && tpl_is_name(tpl_peek(p), "missing")) {
        n->elif = 1;
        p->i += 2;
    }
    if (parse_context(p) == 0)
        n->attr = "without context";
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

static struct tpl_node *parse_import(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_IMPORT, tag);
    n->expr = tpl_parse_expression(p, 1);
    if (!n->expr)
        return NULL;
    if (!tpl_is_name(tpl_cur(p), "as"))
        return tpl_unexpected(p, "'as'");
    p->i++;
    if (tpl_cur(p)->kind != TK_NAME)
        return tpl_unexpected(p, "a name");
    n->text = tpl_cur(p)->s;
    p->i++;
    if (parse_context(p) == 1)
        n->attr = "with context";
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

static struct tpl_node *parse_from(struct tpl_parser *p, const struct tpl_token *tag)
{
    struct tpl_node *n = tpl_new_node(p, ND_IMPORT, tag);
    n->expr = tpl_parse_expression(p, 1);
    if (!n->expr)
        return NULL;
    if (!tpl_is_name(tpl_cur(p), "import"))
        return tpl_unexpected(p, "'import'");
    p->i++;
    const char *names[64], *aliases[64];
    size_t count = 0;
    while (!p->failed) {
        int context = parse_context(p);
        if (context >= 0) {
            n->attr = context ? "with context" : NULL;
            break;
        }
        if (count > 0 && tpl_cur(p)->kind == TK_BLOCK_END)
            break;
        if (count > 0 && tpl_expect_op(p, ",") < 0)
            return NULL;
        if (tpl_cur(p)->kind != TK_NAME)
            return tpl_unexpected(p, "a name to import");
        if (count == 64)
            return tpl_parse_fail(p, tpl_cur(p), "too many names (more than 64)");
        if (tpl_cur(p)->s[0] == '_')
            return tpl_parse_fail(p, tpl_cur(p),
                                  "names starting with an underscore cannot be imported");
        names[count] = aliases[count] = tpl_cur(p)->s;
        p->i++;
        if (tpl_is_name(tpl_cur(p), "as")) {
            if (tpl_peek(p)->kind != TK_NAME) {
                p->i++;
                return tpl_unexpected(p, "a name");
            }
            aliases[count] = tpl_peek(p)->s;
            p->i += 2;
        }
        count++;
    }
    n->nnames = count;
    n->names = tpl_alloc(p->a, (count + 1) * sizeof *n->names);
    n->aliases = tpl_alloc(p->a, (count + 1) * sizeof *n->aliases);
    memcpy(n->names, names, count * sizeof *names);
    memcpy(n->aliases, aliases, count * sizeof *aliases);
    return tpl_expect_end(p, TK_BLOCK_END) < 0 ? NULL : n;
}

struct tpl_node *tpl_parse_more(struct tpl_parser *p, const struct tpl_token *t, int *handled)
{
    *handled = 1;
    if (strcmp(t->s, "break") == 0 || strcmp(t->s, "continue") == 0)
        return parse_loop_control(p, t);
    if (strcmp(t->s, "with") == 0)
        return parse_with(p, t);
    if (strcmp(t->s, "filter") == 0)
        return parse_filter_block(p, t);
    if (strcmp(t->s, "macro") == 0)
        return parse_macro(p, t);
    if (strcmp(t->s, "call") == 0)
        return parse_call_block(p, t);
    if (strcmp(t->s, "include") == 0)
        return parse_include(p, t);
    if (strcmp(t->s, "import") == 0)
        return parse_import(p, t);
    if (strcmp(t->s, "from") == 0)
        return parse_from(p, t);
    *handled = 0;
    return NULL;
}
