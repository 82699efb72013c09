#include "rules/rule.h"

#include "rules/node.h"
#include "engine/util.h"
#include "hosts/host.h"
#include "rules/plan.h"

#include <lua.h>
#include <string.h>

/* Command: a shell command on the target, the escape hatch for custom
 * effects. It runs unless `unless` succeeds or `creates` exists, and again
 * whenever something it watches changed. What undoes it (`undo`) and the
 * paths it makes (`owns`) are recorded in the target manifest: --prune of
 * the orphan runs the undo, then removes those paths whole. `creates` stays
 * a guard only: it often names a file inside what the command makes
 * (venv/bin/python), and a guard must not turn into a removal. */

static const struct rule_param command_params[] = {
    {"name", PARAM_STRING, 1},    {"run", PARAM_STRING, 0}, {"unless", PARAM_STRING, 0},
    {"creates", PARAM_STRING, 0}, {"cwd", PARAM_STRING, 0}, {"env", PARAM_MAP, 0},
    {"undo", PARAM_STRING, 0},    {"owns", PARAM_LIST, 0},  {"watch", PARAM_REFS, 0},
    {"after", PARAM_REFS, 0},     {"is_template", PARAM_BOOL, 0}, {"live", PARAM_BOOL, 0},
};

static int command_validate(lua_State *L, int index, struct buf *err)
{
    /* A live check is unless or creates asked on every deploy: without
     * either there is nothing to ask. */
    lua_getfield(L, index, "live");
    int live = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (live && !rule_param_given(L, index, "unless") && !rule_param_given(L, index, "creates")) {
        buf_adds(err, "'live = true' needs 'unless' or 'creates': the check asked on every deploy");
        return -1;
    }
    /* Command{"make install"}: the name is the command. */
    if (!rule_param_given(L, index, "run")) {
        lua_getfield(L, index, "name");
        lua_setfield(L, index, "run");
    }
    return 0;
}

/* Effects. A Command is satisfied when `unless` exits 0 or `creates`
 * exists (either suffices, as with puppet's exec); with neither, the target
 * cannot tell: it runs when its inputs change (the engine compares its
 * input hash with the manifest), and whenever it is checked. */

/* path, relative to cwd unless absolute or under ~ (the shell's cd). */
static const char *in_cwd(const struct node *n, const char *path, struct plan *p)
{
    const char *cwd = rule_node_param(n, "cwd");
    if (!path || !cwd || path[0] == '/' || path[0] == '~')
        return path;
    struct buf joined;
    buf_init(&joined);
    buf_adds(&joined, cwd);
    if (joined.len && joined.data[joined.len - 1] != '/')
        buf_addc(&joined, '/');
    buf_adds(&joined, path);
    const char *full = plan_strdup(p, joined.data);
    buf_release(&joined);
    return full;
}

static const char *creates_path(const struct node *n, struct plan *p)
{
    return in_cwd(n, rule_node_param(n, "creates"), p);
}

static int command_plan_check(const struct node *n, enum check_level level, struct plan *out,
                              struct buf *err)
{
    (void)level;
    const char *unless = rule_node_param(n, "unless");
    const char *creates = creates_path(n, out);
    if (unless) {
        const char *const *env;
        size_t nenv;
        if (rule_node_env(n, "env", out, &env, &nenv, err) < 0)
            return -1;
        plan_query(out, &(struct query){.kind = QUERY_COMMAND,
                                        .command = unless,
                                        .cwd = rule_node_param(n, "cwd"),
                                        .env = env,
                                        .nenv = nenv});
    }
    if (creates)
        plan_query(out, &(struct query){.kind = QUERY_PATH, .path = creates});
    return 0;
}

static int command_decide(const struct node *n, enum check_level level,
                          const struct query_result *results, size_t nresults, struct buf *reason)
{
    (void)level;
    int unless = rule_node_param(n, "unless") != NULL;
    int creates = rule_node_param(n, "creates") != NULL;
    if (!unless && !creates) {
        buf_adds(reason, "no unless/creates: runs when its inputs change");
        return 0;
    }
    size_t need = (size_t)(unless + creates);
    if (nresults < need) {
        buf_addf(reason, "internal error: %zu query results, want %zu", nresults, need);
        return -1;
    }
    const struct query_result *test = unless ? &results[0] : NULL;
    const struct query_result *made = creates ? &results[unless] : NULL;
    if (made && made->error) {
        buf_adds(reason, made->error);
        return -1;
    }
    if (test && !test->error && test->status == 0)
        return 1;
    if (made && made->type != FILE_NONE)
        return 1;
    /* An unless that cannot run (its cwd does not exist yet: an earlier
     * node makes it) is not satisfied, not an error: the apply will tell. */
    if (test && test->error && !n->sensitive) /* the error quotes the command */
        buf_addf(reason, "'unless' could not run: %s", test->error);
    else if (test && (test->error || test->status < 0))
        buf_adds(reason, "'unless' could not run");
    else if (test)
        buf_addf(reason, "'unless' exited with %d", test->status);
    if (made) {
        struct plan scratch;
        plan_init(&scratch);
        buf_adds(reason, unless ? "; " : "");
        rule_quote(reason, creates_path(n, &scratch));
        buf_adds(reason, " does not exist");
        plan_release(&scratch);
    }
    return 0;
}

static int command_plan_apply(const struct node *n, struct plan *out, struct buf *err)
{
    const char *run = rule_node_param(n, "run");
    if (!run)
        run = rule_node_required(n, "name", err);
    const char *const *env;
    size_t nenv;
    if (!run || rule_node_env(n, "env", out, &env, &nenv, err) < 0)
        return -1;
    plan_op(out, &(struct op){.kind = OP_RUN,
                              .command = run,
                              .cwd = rule_node_param(n, "cwd"),
                              .env = env,
                              .nenv = nenv,
                              .mode = -1});
    return 0;
}

/* `owns`, each relative to cwd like `creates`; -1 for more than
 * RULE_MAX_OWNED (the model refuses them, engine/model/model_undo.c). */
static int command_owned_paths(const struct node *n, struct plan *strings,
                               const char *paths[RULE_MAX_OWNED])
{
    const char *const *owns;
    size_t nowns;
    struct buf err;
    buf_init(&err);
    int rc = rule_node_list(n, "owns", strings, &owns, &nowns, &err);
    buf_release(&err);
    if (rc < 0 || nowns > RULE_MAX_OWNED)
        return -1;
    for (size_t i = 0; i < nowns; i++)
        paths[i] = in_cwd(n, owns[i], strings);
    return (int)nowns;
}

/* What a Command made is gone whole: the undo ran before (engine/deploy/
 * prune.c), and --prune checked each path against the model first. */
static void command_plan_remove(const char *const *paths, size_t npaths, struct plan *out)
{
    for (size_t i = 0; i < npaths; i++)
        plan_op(out, &(struct op){.kind = OP_REMOVE_TREE, .path = paths[i], .mode = -1});
}

static int command_undo(const struct node *n, struct plan *strings, struct rule_undo *out,
                        struct buf *err)
{
    memset(out, 0, sizeof *out);
    out->command = rule_node_param(n, "undo");
    if (!out->command)
        return 0;
    out->cwd = rule_node_param(n, "cwd");
    if (rule_node_env(n, "env", strings, &out->env, &out->nenv, err) < 0)
        return -1;
    return 1;
}

const struct rule_kind rule_command = {
    .name = "Command",
    .namevar = "name",
    .params = command_params,
    .nparams = sizeof command_params / sizeof command_params[0],
    .validate = command_validate,
    .guarded = 1,
    .plan_check = command_plan_check,
    .decide = command_decide,
    .plan_apply = command_plan_apply,
    .owned_paths = command_owned_paths,
    .plan_remove = command_plan_remove,
    .undo = command_undo,
};
