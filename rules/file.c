#include "rules/rule.h"

#include "rules/node.h"
#include "engine/util.h"
#include "rules/plan.h"

#include <lua.h>
#include <string.h>

/* batou's File: a file rendered from a template (or given content) on the
 * target. With neither content nor source, the model sets source to the
 * path's basename in the component's directory, as batou does. */

static const struct rule_param file_params[] = {
    {"path", PARAM_STRING, 1},      {"content", PARAM_STRING, 0},    {"source", PARAM_STRING, 0},
    {"is_template", PARAM_BOOL, 0}, {"template_args", PARAM_ANY, 0}, {"mode", PARAM_MODE, 0},
    {"owner", PARAM_STRING, 0},     {"group", PARAM_STRING, 0},      {"leading", PARAM_BOOL, 0},
    {"sensitive", PARAM_BOOL, 0},   {"after", PARAM_REFS, 0},
};

static int file_validate(lua_State *L, int index, struct buf *err)
{
    if (rule_exclusive(L, index, "File", "content", "source", err) < 0)
        return -1;
    /* Templating is on unless switched off: make the default explicit so
     * `is_template = true` and no is_template hash the same. */
    if (!rule_param_given(L, index, "is_template")) {
        lua_pushboolean(L, 1);
        lua_setfield(L, index, "is_template");
    }
    return 0;
}

/* Effects, shared with BinaryFile and the files of a Directory's source:
 * the node's content (rendered by the model) is the file's whole truth. */

int rule_file_plan_check(const struct node *n, enum check_level level, struct plan *out,
                         struct buf *err)
{
    const char *path = rule_node_required(n, "path", err);
    if (!path)
        return -1;
    plan_query(out,
               &(struct query){.kind = QUERY_PATH, .path = path, .digest = level == CHECK_CONTENT});
    return 0;
}

/* The first 12 hex digits of a SHA-256: enough to tell two apart by eye. */
static void add_short_digest(struct buf *out, const unsigned char digest[32])
{
    for (int i = 0; i < 6; i++)
        buf_addf(out, "%02x", digest[i]);
    buf_adds(out, "...");
}

/* Compare content at CHECK_CONTENT; sizes first, at any level. */
static int match_content(const struct node *n, enum check_level level, const struct query_result *r,
                         struct buf *reason)
{
    if (r->size < 0 || (unsigned long long)r->size != n->content_len) {
        buf_addf(reason, "size is %lld bytes, want %zu", r->size, n->content_len);
        return 0;
    }
    if (level != CHECK_CONTENT)
        return 1;
    if (!r->has_digest) {
        buf_adds(reason, "internal error: the host reported no digest");
        return -1;
    }
    unsigned char want[32];
    host_digest(n->content, n->content_len, want);
    if (memcmp(want, r->digest, sizeof want) == 0)
        return 1;
    /* A digest of a short secret is as good as the secret to a guesser. */
    if (n->sensitive) {
        buf_adds(reason, "content differs (sensitive: digests not shown)");
        return 0;
    }
    buf_adds(reason, "content differs (sha256 ");
    add_short_digest(reason, r->digest);
    buf_adds(reason, " want ");
    add_short_digest(reason, want);
    buf_addc(reason, ')');
    return 0;
}

int rule_file_decide(const struct node *n, enum check_level level,
                     const struct query_result *results, size_t nresults, struct buf *reason)
{
    if (rule_results_usable(results, nresults, 1, reason) < 0)
        return -1;
    const char *path = rule_node_required(n, "path", reason);
    int mode;
    if (!path || rule_node_mode(n, &mode, reason) < 0)
        return -1;
    if (!n->content) {
        buf_adds(reason, "internal error: the node has no content");
        return -1;
    }
    const struct query_result *r = &results[0];
    if (r->type != FILE_REGULAR) {
        rule_describe_type(reason, path, r, "file");
        return 0;
    }
    int content = match_content(n, level, r, reason);
    if (content < 0)
        return -1;
    /* The mode parsed above: rule_match_attrs cannot fail. */
    struct buf attrs;
    buf_init(&attrs);
    int attrs_ok = rule_match_attrs(n, r, &attrs) == 1;
    if (!attrs_ok && !content)
        buf_adds(reason, "; ");
    buf_add(reason, attrs.data ? attrs.data : "", attrs.len);
    buf_release(&attrs);
    return content && attrs_ok;
}

int rule_file_plan_apply(const struct node *n, struct plan *out, struct buf *err)
{
    const char *path = rule_node_required(n, "path", err);
    int mode;
    if (!path || rule_node_mode(n, &mode, err) < 0)
        return -1;
    if (!n->content) {
        buf_adds(err, "no content for ");
        rule_quote(err, path);
        buf_adds(err, " (its source could not be read)");
        return -1;
    }
    plan_op(out, &(struct op){.kind = OP_WRITE,
                              .path = path,
                              .data = n->content,
                              .len = n->content_len,
                              .mode = mode,
                              .owner = rule_node_param(n, "owner"),
                              .group = rule_node_param(n, "group"),
                              .leading = rule_node_bool(n, "leading", 0)});
    return 0;
}

const struct rule_kind rule_file = {
    .name = "File",
    .namevar = "path",
    .params = file_params,
    .nparams = sizeof file_params / sizeof file_params[0],
    .validate = file_validate,
    .plan_check = rule_file_plan_check,
    .decide = rule_file_decide,
    .plan_apply = rule_file_plan_apply,
    .owned_paths = rule_owned_namevar,
    .plan_remove = rule_remove_files,
};
