#include "rules/rule.h"

#include "engine/util.h"
#include "hosts/fetch.h"
#include "hosts/shell.h"
#include "rules/node.h"
#include "rules/plan.h"

#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Fetch: the file of the library's Download (rules/lib/download.lua,
 * docs/reference/library.md) at path, holding what url serves, kept only
 * when its checksum is the one given. The check is live (asked on every
 * deploy, in the host's first request): the checksum test on the target,
 * and for http and https whether the target has curl or wget. Then:
 *   - the checksum holds: clean;
 *   - the target has curl, else wget: it downloads the file itself;
 *   - it has neither: the controller fetches the URL (hosts/fetch.h),
 *     checks the checksum there and writes the bytes to the target like a
 *     BinaryFile (old or new, never half-written), then the target checks
 *     the checksum again;
 *   - file: URLs name a path on the target: copied there.
 * It is guarded: the check is asked again right before the apply, and the
 * apply follows what that answer says (plan_apply_answered). A URL's user
 * name and password never reach a reason or an error (fetch_redact). */

static const struct rule_param fetch_params[] = {
    {"path", PARAM_STRING, 1},
    {"url", PARAM_STRING, 1},
    {"checksum", PARAM_STRING, 1},
    {"sensitive", PARAM_BOOL, 0}, /* Download: the URL holds a user name and password */
    {"after", PARAM_REFS, 0},
};

/* The checks: [0] the checksum, then for http and https [1] curl, [2] wget. */
enum { CHECK_SUM, CHECK_CURL, CHECK_WGET };

/* The exit status of the checksum test when there is no file. */
#define MISSING 3

static int is_file_url(const char *url)
{
    return strncasecmp(url, "file://", 7) == 0;
}

static int fetch_validate(lua_State *L, int index, struct buf *err)
{
    lua_getfield(L, index, "url");
    const char *url = lua_tostring(L, -1);
    int scheme = url && (strncasecmp(url, "http://", 7) == 0 ||
                         strncasecmp(url, "https://", 8) == 0 || is_file_url(url));
    int control = 0;
    for (const char *p = url; p && *p; p++)
        control |= (unsigned char)*p < 0x20 || *p == 0x7f;
    lua_pop(L, 1);
    if (!scheme || control) {
        buf_adds(err, control ? "parameter 'url' of Fetch holds a control character"
                              : "parameter 'url' of Fetch: the scheme must be http, https or file");
        return -1;
    }
    lua_getfield(L, index, "checksum");
    char algo[8], hex[FETCH_HEX_MAX + 1];
    int bad = fetch_checksum_parse(lua_tostring(L, -1), algo, hex) < 0;
    lua_pop(L, 1);
    if (bad)
        buf_adds(err, "parameter 'checksum' of Fetch: expected 'sha256:HEX' or 'md5:HEX' (or "
                      "sha1, sha224, sha384, sha512)");
    return bad ? -1 : 0;
}

/* The node's path, URL and checksum; 0, or -1 with err. */
struct fetch_node {
    const char *path, *url;
    char algo[8], hex[FETCH_HEX_MAX + 1];
};

static int fetch_node_read(const struct node *n, struct fetch_node *f, struct buf *err)
{
    f->path = rule_node_required(n, "path", err);
    f->url = f->path ? rule_node_required(n, "url", err) : NULL;
    const char *checksum = f->url ? rule_node_required(n, "checksum", err) : NULL;
    if (!checksum)
        return -1;
    if (fetch_checksum_parse(checksum, f->algo, f->hex) < 0) {
        buf_adds(err, "Fetch: parameter 'checksum' is malformed");
        return -1;
    }
    return 0;
}

/* sh: exit 0 when path holds the content whose digest is the checksum,
 * MISSING when it is no file. The digest of stdin, so that any name works. */
static void checksum_test(struct buf *out, const struct fetch_node *f)
{
    buf_adds(out, "[ -f ");
    shell_quote_path(out, f->path, strlen(f->path));
    buf_addf(out, " ] || exit %d; case $(LC_ALL=C %ssum < ", MISSING, f->algo);
    shell_quote_path(out, f->path, strlen(f->path));
    buf_addf(out, ") in '%s  -') exit 0 ;; esac; exit 1", f->hex);
}

static void add_command_query(struct plan *out, const char *command)
{
    plan_query(out, &(struct query){.kind = QUERY_COMMAND, .command = command});
}

static int fetch_plan_check(const struct node *n, enum check_level level, struct plan *out,
                            struct buf *err)
{
    (void)level;
    struct fetch_node f;
    if (fetch_node_read(n, &f, err) < 0)
        return -1;
    struct buf test;
    buf_init(&test);
    checksum_test(&test, &f);
    add_command_query(out, plan_strdup(out, test.data));
    buf_release(&test);
    if (is_file_url(f.url))
        return 0;
    /* Builtins in the session's shell: no program is started. */
    add_command_query(out, "command -v curl");
    add_command_query(out, "command -v wget");
    return 0;
}

/* The way the file would come, for the reason. */
static void describe_way(struct buf *reason, const struct fetch_node *f,
                         const struct query_result *results, size_t nresults)
{
    if (is_file_url(f->url))
        buf_adds(reason, "would copy it on the target");
    else if (nresults <= CHECK_WGET || results[CHECK_CURL].error || results[CHECK_WGET].error)
        buf_adds(reason, "would download it (the target did not say whether it has curl)");
    else if (results[CHECK_CURL].status == 0)
        buf_adds(reason, "would download on the target with curl");
    else if (results[CHECK_WGET].status == 0)
        buf_adds(reason, "would download on the target with wget");
    else
        buf_adds(reason, "would transfer from the controller (no curl or wget on the target)");
}

static int fetch_decide(const struct node *n, enum check_level level,
                        const struct query_result *results, size_t nresults, struct buf *reason)
{
    (void)level;
    struct fetch_node f;
    if (fetch_node_read(n, &f, reason) < 0)
        return -1;
    if (nresults < 1) {
        buf_addf(reason, "internal error: %zu query results, want 1", nresults);
        return -1;
    }
    const struct query_result *sum = &results[CHECK_SUM];
    if (!sum->error && sum->status == 0)
        return 1;
    rule_quote(reason, f.path);
    if (sum->error)
        buf_adds(reason, ": the checksum could not be tested");
    else if (sum->status == MISSING)
        buf_adds(reason, " does not exist");
    else
        buf_addf(reason, " does not hold %s:%.12s...", f.algo, f.hex);
    buf_adds(reason, "; ");
    describe_way(reason, &f, results, nresults);
    return 0;
}

/* The target makes the file itself: curl, else wget (http, https), or cp
 * (file:), into a temporary name beside it, checked, then renamed. The
 * script's first line is what an error names ("run 'set -e'"): never the
 * URL. */
static void target_script(struct buf *s, const struct fetch_node *f)
{
    char *shown = fetch_redact(f->url);
    buf_adds(s, "set -e\ntmp=");
    char *tmp = xasprintf("%s.batou-ng-download", f->path);
    shell_quote_path(s, tmp, strlen(tmp));
    free(tmp);
    buf_adds(s, "\nrm -f \"$tmp\"\n");
    if (is_file_url(f->url)) {
        const char *path = strchr(f->url + 7, '/');
        buf_adds(s, "cp -- ");
        shell_quote(s, path ? path : "/");
        buf_adds(s, " \"$tmp\"\n");
    } else {
        /* The URL reaches curl and wget on their stdin (printf is a
         * builtin), never in an argv that every local user can read. */
        struct buf config;
        buf_init(&config);
        buf_adds(&config, "url = \"");
        for (const char *p = f->url; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_addc(&config, '\\');
            buf_addc(&config, *p);
        }
        buf_addc(&config, '"');
        buf_adds(s, "if command -v curl >/dev/null 2>&1; then\n  printf '%s\\n' ");
        shell_quote(s, config.data);
        buf_adds(s, " | curl -fsSL --proto =http,https --proto-redir =http,https -o \"$tmp\" -K -\n"
                    "elif command -v wget >/dev/null 2>&1; then\n  printf '%s\\n' ");
        shell_quote(s, f->url);
        buf_adds(s, " | wget -q -O \"$tmp\" -i -\n"
                    "else\n  echo \"Download: neither curl nor wget on this host\" >&2; exit 1\n"
                    "fi\n");
        buf_release(&config);
    }
    buf_addf(s, "got=$(LC_ALL=C %ssum < \"$tmp\" | cut -d' ' -f1)\n", f->algo);
    buf_addf(s, "if [ \"$got\" != %s ]; then\n  rm -f \"$tmp\"\n", f->hex);
    buf_adds(s, "  printf 'Download: checksum mismatch for %s: expected %s, got %s\\n' ");
    shell_quote(s, shown);
    buf_addf(s, " %s:%s \"%s:$got\" >&2\n  exit 1\nfi\nmv -f \"$tmp\" ", f->algo, f->hex, f->algo);
    shell_quote_path(s, f->path, strlen(f->path));
    buf_addc(s, '\n');
    free(shown);
}

static int fetch_plan_apply(const struct node *n, struct plan *out, struct buf *err)
{
    struct fetch_node f;
    if (fetch_node_read(n, &f, err) < 0)
        return -1;
    struct buf script;
    buf_init(&script);
    target_script(&script, &f);
    plan_op(out, &(struct op){.kind = OP_RUN, .command = plan_strdup(out, script.data), .mode = -1});
    buf_release(&script);
    return 0;
}

/* The controller fetches, checks and sends the bytes; the target writes
 * them atomically and checks the checksum once more. */
static int transfer_from_controller(const struct fetch_node *f, struct plan *out, struct buf *err)
{
    struct buf data;
    buf_init(&data);
    char *why = NULL;
    if (fetch_url(f->url, f->algo, f->hex, FETCH_MAX_BYTES, &data, &why) < 0) {
        buf_adds(err, why);
        free(why);
        return -1;
    }
    plan_op(out, &(struct op){.kind = OP_WRITE,
                              .path = f->path,
                              .data = plan_memdup(out, data.data ? data.data : "", data.len),
                              .len = data.len,
                              .mode = -1});
    buf_release(&data);
    struct buf verify;
    buf_init(&verify);
    buf_adds(&verify, "( ");
    checksum_test(&verify, f);
    buf_addf(&verify, " ) || { echo 'Download: the file written to the target does not hold "
                      "%s:%s' >&2; exit 1; }",
             f->algo, f->hex);
    plan_op(out, &(struct op){.kind = OP_RUN, .command = plan_strdup(out, verify.data), .mode = -1});
    buf_release(&verify);
    return 0;
}

static int fetch_plan_apply_answered(const struct node *n, const struct query_result *results,
                                     size_t nresults, struct plan *out, struct buf *err)
{
    struct fetch_node f;
    if (fetch_node_read(n, &f, err) < 0)
        return -1;
    int neither = !is_file_url(f.url) && nresults > CHECK_WGET && !results[CHECK_CURL].error &&
                  !results[CHECK_WGET].error && results[CHECK_CURL].status != 0 &&
                  results[CHECK_WGET].status != 0;
    if (neither)
        return transfer_from_controller(&f, out, err);
    return fetch_plan_apply(n, out, err);
}

const struct rule_kind rule_fetch = {
    .name = "Fetch",
    .namevar = "path",
    .params = fetch_params,
    .nparams = sizeof fetch_params / sizeof fetch_params[0],
    .validate = fetch_validate,
    .guarded = 1,
    .live = 1,
    .library = 1,
    .plan_check = fetch_plan_check,
    .decide = fetch_decide,
    .plan_apply = fetch_plan_apply,
    .plan_apply_answered = fetch_plan_apply_answered,
    .owned_paths = rule_owned_namevar,
    .plan_remove = rule_remove_files,
};
