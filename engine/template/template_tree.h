#ifndef BATOU_TEMPLATE_TREE_H
#define BATOU_TEMPLATE_TREE_H

/* Internals of the template engine, shared by its files (not a public
 * contract): the lexer's tokens, the parsed tree, and the render state.
 *
 *   template_lex.c     source -> tokens (Jinja's lexer: tags, whitespace control, raw)
 *   template_parse.c   tokens -> statement tree, template_parse/_free
 *   template_expr.c    tokens -> expression trees
 *   template_eval.c    expressions -> Lua values (lookups, calls, comparisons)
 *   template_arith.c   Python's arithmetic operators
 *   template_json.c    the tojson filter's encoder
 *   template_value.c   Python semantics of values: kinds, str(), repr(), ==, <, len()
 *   template_text.c    UTF-8, Python's whitespace and case mapping
 *   template_filter.c  the filter table; default, join, indent, int, tojson, ...
 *   template_filter_seq.c  filters over sequences: sort, dictsort, map, select, ...
 *   template_filter_str.c  filters over strings and numbers: title, center, round, ...
 *   template_test.c    the tests (`is defined`, `is divisibleby 3`, ...)
 *   template_method.c  Python's str methods (`s.split(',')`, `s.startswith('x')`)
 *   template_render.c  statements, scopes, template_render/_expand
 *
 * Values are Lua values on the stack of the render's lua_State. Jinja's None
 * is a light userdata (tpl_none), an undefined value is a full userdata with
 * its message and origin (so `{% set x = foo %}{{ x }}` reports 'foo'). */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct lua_State;
struct template_error;

enum {
    TPL_MAX_NESTING = 100, /* blocks, brackets, unary chains, nested values */
    TPL_MAX_TREE = 1000,   /* depth of an expression tree (long operator chains) */
    TPL_MAX_WIDTH = 100000, /* padding a width asks for, items a filter makes up */
};

/* --- arena: every node and string of one template, freed at once --- */

struct tpl_chunk;
struct tpl_arena {
    struct tpl_chunk *chunks;
};

/* Zeroed memory that lives as long as the arena. */
void *tpl_alloc(struct tpl_arena *a, size_t size);
/* NUL-terminated copy of s[0..n) in the arena. */
char *tpl_strndup(struct tpl_arena *a, const char *s, size_t n);
void tpl_arena_release(struct tpl_arena *a);

/* --- tokens --- */

enum tpl_token_kind {
    TK_DATA,
    TK_VAR_BEGIN,
    TK_VAR_END,
    TK_BLOCK_BEGIN,
    TK_BLOCK_END,
    TK_NAME,
    TK_STRING,
    TK_INT,
    TK_FLOAT,
    TK_OP,
    TK_EOF,
};

struct tpl_token {
    enum tpl_token_kind kind;
    int line, col;
    size_t off;    /* byte offset of the token in the (normalized) source */
    const char *s; /* DATA: text; NAME, OP: the token; STRING: decoded value */
    size_t len;    /* of s */
    size_t span;   /* bytes of source the token covers, from off */
    long long i;   /* INT */
    double f;      /* FLOAT */
};

/* Tokenize src (already newline-normalized) into *tokens (xmalloc'd array,
 * ending in TK_EOF). Decoded strings go to a. 0, or -1 with err filled. */
int tpl_lex(const char *name, const char *src, size_t len, struct tpl_arena *a,
            struct tpl_token **tokens, size_t *count, struct template_error *err);

/* --- expressions --- */

enum tpl_expr_kind {
    EX_STR,
    EX_INT,
    EX_FLOAT,
    EX_BOOL,
    EX_NONE,
    EX_LIST,    /* items; i = 1 for a tuple (a list that `%` spreads) */
    EX_DICT,    /* items: key, value, key, value, ... */
    EX_NAME,    /* str: the name */
    EX_ATTR,    /* a.str */
    EX_ITEM,    /* a[b] */
    EX_SLICE,   /* a[items[0]:items[1]:items[2]] (NULL for omitted) */
    EX_CALL,    /* a(items; names[i] non-NULL for keyword arguments) */
    EX_NEG,     /* -a */
    EX_POS,     /* +a */
    EX_NOT,     /* not a */
    EX_AND,     /* a and b */
    EX_OR,      /* a or b */
    EX_BINOP,   /* a op b */
    EX_COMPARE, /* items[0] ops[0] items[1] ops[1] ... (chained like Python) */
    EX_TEST,    /* a is [not] test(items) */
    EX_FILTER,  /* a | filter(items bound to the filter's parameters, NULL = default) */
    EX_COND,    /* a if b else c (c NULL: a lenient undefined) */
};

enum tpl_op {
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_FLOORDIV,
    OP_MOD,
    OP_POW,
    OP_CONCAT,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_IN,
    OP_NOTIN,
};

struct tpl_render;
struct tpl_expr;

/* A filter: pushes its result; the value is at base, argument i at base + 1 + i
 * (nil when not given). */
struct tpl_filter {
    const char *name;
    const char *params[6];
    int nparams;
    int nrequired; /* the first nrequired parameters must be given */
    void (*fn)(struct tpl_render *st, const struct tpl_expr *e, int base);
};

/* A test: returns the truth of `value is test(args)`; the value is at base,
 * argument i at base + 1 + i. */
struct tpl_test {
    const char *name;
    int nargs;
    int (*fn)(struct tpl_render *st, const struct tpl_expr *e, int base);
};

struct tpl_expr {
    enum tpl_expr_kind kind;
    int line, col;              /* where errors about it point */
    uint32_t src_off, src_len;  /* its source text, for messages */
    const char *str;            /* STR value, NAME, ATTR name (NUL-terminated) */
    size_t len;                 /* of str */
    long long i;                /* INT; BOOL */
    double f;                   /* FLOAT */
    enum tpl_op op;             /* BINOP */
    int negate;                 /* TEST: `is not` */
    struct tpl_expr *a, *b, *c; /* operands */
    struct tpl_expr **items;    /* LIST, CALL, COMPARE, TEST, FILTER args */
    const char **names;         /* CALL: keyword names */
    enum tpl_op *ops;           /* COMPARE */
    size_t count;               /* of items */
    int depth;                  /* of the tree below, bounded by TPL_MAX_TREE */
    const char *error;          /* FILTER, TEST: wrong arguments, raised when evaluated */
    const struct tpl_filter *filter;
    const struct tpl_test *test;
};

/* --- the parser (template_parse.c, template_expr.c) --- */

/* The innermost open block, for "expected 'endif' (the 'if' at line 3)". */
struct tpl_open_block {
    const char *tag;
    int line;
    const char *const *ends; /* the tags that may come next, NULL-terminated */
};

/* The statements beyond if/for/set (template_parse_stmt.c): parse the tag
 * whose name token is t (current is the token after it). *handled is 0 when
 * t is none of them; NULL on a syntax error (or an empty result). */
struct tpl_parser;
struct tpl_node *tpl_parse_more(struct tpl_parser *p, const struct tpl_token *t, int *handled);

struct tpl_parser {
    const char *name;
    const char *src;
    const struct tpl_token *toks;
    size_t i;
    struct tpl_arena *a;
    struct template_error *err;
    int depth;  /* of expressions being parsed */
    int blocks; /* of open blocks */
    int failed;
    int loops; /* open for loops (break and continue need one) */
    struct tpl_open_block block;
};


const struct tpl_token *tpl_cur(const struct tpl_parser *p);
const struct tpl_token *tpl_peek(const struct tpl_parser *p);
int tpl_is_op(const struct tpl_token *t, const char *op);
int tpl_is_name(const struct tpl_token *t, const char *name);
/* Record a syntax error at t (the first one wins); returns NULL. */
void *tpl_parse_fail(struct tpl_parser *p, const struct tpl_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "expected X, got Y" at the current token; returns NULL. */
void *tpl_unexpected(struct tpl_parser *p, const char *expected);
/* Consume the operator op, or fail: 0 or -1. */
int tpl_expect_op(struct tpl_parser *p, const char *op);
/* Consume a '}}' or '%}' token, or fail: 0 or -1. */
int tpl_expect_end(struct tpl_parser *p, enum tpl_token_kind kind);
/* Count one level of nesting (the caller decrements p->depth): 0, or -1 when too deep. */
int tpl_enter(struct tpl_parser *p);
/* An expression; condexpr allows `a if b else c` at the top. NULL on error. */
struct tpl_expr *tpl_parse_expression(struct tpl_parser *p, int condexpr);

/* --- statements --- */

enum tpl_node_kind {
    ND_TEXT,   /* text */
    ND_OUTPUT, /* {{ expr }} */
    ND_IF,     /* if expr: body, else orelse (an elif is an ND_IF in orelse) */
    ND_FOR,    /* for names in expr [if cond]: body, else orelse */
    ND_SET,    /* set names = expr; with expr NULL, set name [| cond]: body endset; attr: set name.attr */
    ND_BREAK,
    ND_CONTINUE,
    ND_WITH,   /* with names[i] = exprs[i], ...: body */
    ND_FILTER, /* filter chain: expr is the chain over the name TPL_BODY_NAME */
    ND_MACRO,  /* macro text(names[i] = exprs[i] (NULL: no default)): body */
    ND_CALL,   /* call(names = exprs) expr: body (the caller) */
    ND_INCLUDE, /* include expr; elif: ignore missing; attr non-NULL: without context */
    ND_IMPORT,  /* import expr as text, from expr import names as aliases; attr: with context */
};

/* The name a filter block's chain reads its body from (not a valid name). */
#define TPL_BODY_NAME " body"

struct tpl_node {
    enum tpl_node_kind kind;
    int line, col;
    struct tpl_node *next;
    const char *text;
    size_t len;
    struct tpl_expr *expr;
    struct tpl_expr *cond;
    struct tpl_node *body, *orelse;
    const char **names;
    size_t nnames;
    struct tpl_expr **exprs; /* WITH values, MACRO/CALL parameter defaults (by names) */
    const char *attr;        /* SET: the namespace attribute assigned */
    const char **aliases;    /* IMPORT (from): the names they get, by names */
    int elif; /* an ND_IF that is the elif of the ND_IF whose orelse it is */
    int recursive; /* an ND_FOR whose body may call loop(items) */
};

struct template
{
    char *name;
    char *src; /* newline-normalized copy: TEXT nodes and messages point into it */
    size_t len;
    struct tpl_arena arena;
    struct tpl_node *body;
};

/* Shared by template_parse.c and template_parse_stmt.c. */
struct tpl_node *tpl_new_node(struct tpl_parser *p, enum tpl_node_kind kind,
                              const struct tpl_token *at);
/* The body of a block up to one of its end tags (the tag name token becomes current). */
struct tpl_node *tpl_block_body(struct tpl_parser *p, const char *tag, int line,
                                const char *const *ends);
/* A filter block's chain `upper | indent(2)` over the name TPL_BODY_NAME;
 * current is the first filter's name. */
struct tpl_expr *tpl_parse_filter_chain(struct tpl_parser *p);

/* --- filters and tests (template_filter.c, template_test.c) --- */

/* Whether the argument at idx was given (an omitted one is nil). */
int tpl_given(struct tpl_render *st, int idx);
/* An integer argument (bools count, as in Python); fails otherwise. */
long long tpl_int_arg(struct tpl_render *st, const struct tpl_expr *e, int idx, const char *what);
/* Push b's bytes as a string. */
void tpl_push_buf(struct tpl_render *st, struct buf *b);
/* Jinja's make_attrgetter: push item's 'a.b.0' (a, then b, then item 0);
 * an undefined value when a part is missing. */
void tpl_push_attribute(struct tpl_render *st, const struct tpl_expr *e, int item, int attr);
/* Apply the filter (or test) named by the string at name to the value at
 * value with the nargs arguments at args, as map() and select() do. */
void tpl_apply_filter(struct tpl_render *st, const struct tpl_expr *e, int name, int value,
                      int args, int nargs);
/* Python's str.strip(chars) (lstrip: right 0, rstrip: left 0) of the value
 * at base, chars at base + 1 (nil or none: whitespace). */
void tpl_strip(struct tpl_render *st, const struct tpl_expr *e, int base, int left, int right);
/* Run the filter f on the value at value with nargs arguments at args. */
void tpl_call_filter(struct tpl_render *st, const struct tpl_expr *e, const struct tpl_filter *f,
                     int value, int args, int nargs);
int tpl_apply_test(struct tpl_render *st, const struct tpl_expr *e, int name, int value, int args,
                   int nargs);
/* Python's float(s) for s without surrounding space: 1 with *out, or 0. */
int tpl_parse_float(const char *s, size_t len, double *out);
/* Push Python's `fmt % args` for the string at fmt; args is the list of
 * arguments, or a dict for %(name)s (template_format.c). */
void tpl_percent_format(struct tpl_render *st, const struct tpl_expr *e, int fmt, int args,
                        int is_dict);
/* Call the str method name on the string at obj with call's arguments and
 * push its result; 0 (nothing pushed) when str has no such method
 * (template_method.c). */
int tpl_str_method(struct tpl_render *st, const struct tpl_expr *call, int obj, const char *name);
/* `needle in haystack` (template_eval.c). */
int tpl_contains(struct tpl_render *st, const struct tpl_expr *e, int needle, int haystack);

#define TPL_FILTER(name) void name(struct tpl_render *st, const struct tpl_expr *e, int base)
TPL_FILTER(tpl_f_sort);
TPL_FILTER(tpl_f_dictsort);
TPL_FILTER(tpl_f_groupby);
TPL_FILTER(tpl_f_map);
TPL_FILTER(tpl_f_select);
TPL_FILTER(tpl_f_reject);
TPL_FILTER(tpl_f_selectattr);
TPL_FILTER(tpl_f_rejectattr);
TPL_FILTER(tpl_f_first);
TPL_FILTER(tpl_f_last);
TPL_FILTER(tpl_f_min);
TPL_FILTER(tpl_f_max);
TPL_FILTER(tpl_f_sum);
TPL_FILTER(tpl_f_unique);
TPL_FILTER(tpl_f_list);
TPL_FILTER(tpl_f_reverse);
TPL_FILTER(tpl_f_batch);
TPL_FILTER(tpl_f_slice);
TPL_FILTER(tpl_f_items);
TPL_FILTER(tpl_f_capitalize);
TPL_FILTER(tpl_f_title);
TPL_FILTER(tpl_f_center);
TPL_FILTER(tpl_f_truncate);
TPL_FILTER(tpl_f_float);
TPL_FILTER(tpl_f_abs);
TPL_FILTER(tpl_f_round);
TPL_FILTER(tpl_f_format);
TPL_FILTER(tpl_f_filesizeformat);
TPL_FILTER(tpl_f_escape);
/* Append s (len bytes) with & < > " ' as Jinja2's escape writes them. */
void tpl_html_escape(const char *s, size_t len, struct buf *b);
TPL_FILTER(tpl_f_urlencode);
/* template_filter_text.c */
TPL_FILTER(tpl_f_wordcount);
TPL_FILTER(tpl_f_wordwrap);
TPL_FILTER(tpl_f_striptags);
TPL_FILTER(tpl_f_xmlattr);
TPL_FILTER(tpl_f_attr);
/* Python's \w for one code point (str.isalnum() or '_'), exact below U+0530
 * and for punctuation blocks (template_filter_text.c). */
int tpl_is_word(unsigned cp);
/* template_filter_url.c */
TPL_FILTER(tpl_f_urlize);
/* html.unescape's named references, sorted by name (without ';'; bare:
 * also valid without it), and what &#128;..&#159; decode to
 * (template_entities.c, generated by template_entities.py). */
struct tpl_entity {
    const char *name;
    const char *value;
    int bare;
};
extern const struct tpl_entity tpl_entities[];
extern const size_t tpl_entity_count;
extern const unsigned tpl_cp1252[32];
/* The tests `filter` and `test`: whether batou-ng has one of that name. */
int tpl_t_filter(struct tpl_render *st, const struct tpl_expr *e, int base);
int tpl_t_test(struct tpl_render *st, const struct tpl_expr *e, int base);

const struct tpl_filter *tpl_filter_find(const char *name);
const struct tpl_test *tpl_test_find(const char *name);
/* The names, for "did you mean". */
extern const char *const tpl_filter_names[];
extern const size_t tpl_filter_count;
extern const char *const tpl_test_names[];
extern const size_t tpl_test_count;
/* Whether name is one of Jinja's filters (or tests) batou-ng leaves out. */
int tpl_jinja_has_filter(const char *name);
int tpl_jinja_has_test(const char *name);

/* --- render state (template_render.c) --- */

struct tpl_render {
    struct lua_State *L;
    const struct template *t;
    int context;                     /* absolute stack index of the context table */
    int scopes[TPL_MAX_NESTING + 2]; /* stack indices of the scope tables */
    int nscopes;
    struct buf **scratch; /* a stack of reusable buffers, freed after the render */
    size_t scratch_count, scratch_cap, scratch_used;
    int own_error; /* the error object is our message, at err_line:err_col */
    int err_line, err_col;
    int at_line, at_col; /* where a Lua error raised now would point */
    long long budget; /* steps left (template_set_budget); -1: no limit */
    int loop_control;    /* ND_BREAK or ND_CONTINUE while one unwinds to its loop, else 0 */
    const struct template_loader *loader; /* NULL: no include or import */
    struct tpl_loaded *loaded;            /* the templates included so far (template_include.c) */
    char *err_file;                       /* the file of the error when not t's (xmalloc'd) */
    int calls;           /* macro calls in progress */
};

/* --- include and import (template_include.c) --- */

void tpl_render_include(struct tpl_render *st, const struct tpl_node *n, struct buf *out);
void tpl_render_import(struct tpl_render *st, const struct tpl_node *n);
/* Free the templates a render loaded. */
void tpl_loaded_release(struct tpl_render *st);

/* --- macros, caller, namespace, with, filter blocks (template_macro.c) --- */

/* Render the statements of template_parse_stmt.c. */
void tpl_render_more(struct tpl_render *st, const struct tpl_node *n, struct buf *out);
/* Whether the value at idx is a macro (or a call block's caller). */
int tpl_is_macro(struct tpl_render *st, int idx);
/* Call the macro at fn with call's arguments, caller (a stack index, or 0)
 * as its `caller`; pushes the rendered text. */
void tpl_call_macro(struct tpl_render *st, const struct tpl_expr *call, int fn, int caller);
/* The metatable of namespaces: objects that print as <Namespace {...}>,
 * with attributes but neither items nor len(), as in Jinja. */
#define TPL_NAMESPACE_META "batou.template.namespace"
/* Jinja's globals namespace(), dict(), joiner(), cycler() for a call of
 * that name: 1 with the result pushed, or 0 when call names none of them. */
int tpl_call_global(struct tpl_render *st, const struct tpl_expr *call);
/* Whether the value at idx is a namespace (which `set ns.x = ...` may change). */
int tpl_is_namespace(struct tpl_render *st, int idx);
/* Push a new scope table and make it the innermost (fails when too deep). */
int tpl_push_scope(struct tpl_render *st);

/* A cleared scratch buffer; give it back with tpl_scratch_put (LIFO). */
struct buf *tpl_scratch_get(struct tpl_render *st);
void tpl_scratch_put(struct tpl_render *st);
/* Raise a template error at line:col. The format is lua_pushfstring's, which
 * takes %s, %d, %f, %c and %% like printf (so printf's checks apply). */
_Noreturn void tpl_fail(struct tpl_render *st, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A recursive loop's loop object keeps its node under this key (no name
 * can reach it). */
#define TPL_LOOP_NODE " node"
/* Whether the value at idx is the loop object of a recursive loop. */
int tpl_is_recursive_loop(struct tpl_render *st, int idx);
/* loop(items) of a recursive loop: pushes the body rendered over items. */
void tpl_call_loop(struct tpl_render *st, const struct tpl_expr *call, int loop);
/* Render nodes, appending to out. */
void tpl_render_nodes(struct tpl_render *st, const struct tpl_node *n, struct buf *out);

/* --- values (template_value.c) --- */

enum tpl_kind {
    K_UNDEF,
    K_NONE,
    K_BOOL,
    K_INT,
    K_FLOAT,
    K_STR,
    K_LIST, /* a table with a sequence part, or an empty table without metatable */
    K_DICT, /* any other table without __tostring, or one from a {...} literal */
    K_OBJ,  /* a table with __tostring, a function, a userdata, a thread */
};

extern char tpl_none;
#define TPL_NONE ((void *)&tpl_none)

enum tpl_kind tpl_kind_of(struct tpl_render *st, int idx);
/* Whether the value at idx has the metamethod name (looked up raw, as Lua does). */
int tpl_has_metamethod(struct lua_State *L, int idx, const char *name);
/* Push a new table marked as a dict (for {...} literals). */
void tpl_push_dict(struct tpl_render *st, int size);
/* Python's type name of a value, for messages ('str', 'int', 'list', ...). */
const char *tpl_type_name(struct tpl_render *st, int idx);
/* Push an undefined value whose use fails with the message (tpl_fail's
 * format); a lenient one renders as '' and is false, like `a if false`. */
void tpl_push_undefined(struct tpl_render *st, int line, int col, int lenient, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
int tpl_is_lenient(struct tpl_render *st, int idx);
/* Fail with the message of the undefined value at idx. */
_Noreturn void tpl_fail_undefined(struct tpl_render *st, int idx);
/* Fail if the value at idx is undefined. */
void tpl_check_defined(struct tpl_render *st, int idx);

/* Append Python's str() of the value at idx to b. */
void tpl_str(struct tpl_render *st, int idx, struct buf *b);
/* Append Python's repr(). */
void tpl_repr(struct tpl_render *st, int idx, struct buf *b, int depth);
/* Push str() of the value as a Lua string. */
void tpl_push_str(struct tpl_render *st, int idx);
/* Append Jinja's tojson: json.dumps(value, sort_keys=True, indent) with < > & '
 * escaped (indent NULL: on one line). (template_json.c) */
void tpl_json(struct tpl_render *st, const struct tpl_expr *e, int idx, const char *indent,
              size_t indent_len, struct buf *b);
/* Append Python's repr of a float (template_text.c). */
void tpl_float_repr(double f, struct buf *b);
int tpl_truthy(struct tpl_render *st, int idx);
/* Python ==. */
int tpl_equal(struct tpl_render *st, int a, int b, int depth);
/* Python's ordering: <0, 0, >0; fails for values that do not order (op for the message). */
int tpl_order(struct tpl_render *st, const struct tpl_expr *e, const char *op, int a, int b);
/* Push a sequence table of the items iteration yields: a list's items, a
 * dict's keys (sorted), a string's characters. Fails when not iterable. */
void tpl_push_items(struct tpl_render *st, const struct tpl_expr *e, int idx);
/* Push a sequence of the dict's keys in sorted order (numbers, then strings, then the rest). */
void tpl_push_sorted_keys(struct tpl_render *st, int idx);
/* len() of a value; fails when it has none. */
long long tpl_length(struct tpl_render *st, const struct tpl_expr *e, int idx);

/* --- UTF-8, Python's whitespace, case (template_text.c) --- */

/* Decode one code point of s[0..len) (len > 0); invalid bytes decode as
 * themselves. Returns the bytes used. */
size_t tpl_utf8_next(const char *s, size_t len, unsigned *cp);
/* Python's str.isspace for one code point. */
int tpl_is_space(unsigned cp);
/* Bytes of trailing whitespace at the end of s[0..len). */
size_t tpl_trailing_space(const char *s, size_t len);
/* Bytes of leading whitespace. */
size_t tpl_leading_space(const char *s, size_t len);
void tpl_utf8_put(struct buf *b, unsigned cp);
/* The first occurrence of needle in hay, or NULL (memmem is not in C11/POSIX). */
const char *tpl_memmem(const char *hay, size_t hay_len, const char *needle, size_t needle_len);
/* strtod of a number written with '.', whatever the locale. */
double tpl_strtod(const char *text);
/* Append s in upper (or lower) case, as Python's str.upper/str.lower would. */
void tpl_change_case(const char *s, size_t len, int upper, struct buf *b);

/* --- expressions (template_eval.c) --- */

/* Evaluate e and push its value. */
void tpl_eval(struct tpl_render *st, const struct tpl_expr *e);
/* Look a name up in the scopes, then the context; pushes nil when missing. */
void tpl_lookup(struct tpl_render *st, const char *name);
/* Push obj[key] with Jinja's getitem semantics (the key at key_idx); nil when missing. */
void tpl_getitem(struct tpl_render *st, int obj, int key);
/* Push the result of `a op b` (Python's semantics; op is arithmetic or OP_CONCAT). */
void tpl_arith(struct tpl_render *st, const struct tpl_expr *e, enum tpl_op op, int a, int b);
/* Push -v (neg) or +v. */
void tpl_unary(struct tpl_render *st, const struct tpl_expr *e, int neg, int idx);
/* Push the source text of e as a string (for messages). */
const char *tpl_push_source(struct tpl_render *st, const struct tpl_expr *e);

#endif
