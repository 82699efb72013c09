/* Room engine/cli/: the command line. main.c parses it and dispatches to
 * the front ends: deploy, -c, graph, status (status.c), explain (explain.c),
 * run (adhoc.c), init (init.c), secrets (secrets_command.c,
 * secrets_edit.c). The top room: uses every other, none uses it. */

/* The command line: parse options, dispatch to a command, map results to
 * exit codes (0 ok, 1 runtime failure, 2 usage or configuration error). */

#include "engine/deploy/deploy.h"
#include "engine/deploy/homes.h"
#include "engine/cli/explain.h"
#include "engine/cli/git_gate.h"
#include "engine/graph/export.h"
#include "engine/cli/adhoc.h"
#include "engine/cli/init.h"
#include "engine/cli/options.h"
#include "engine/cli/cli_project.h"
#include "engine/cli/cli_trace.h"
#include "engine/cli/commit_deploy.h"
#include "engine/cli/usage.h"
#include "engine/cli/rollback.h"
#include "engine/cli/pull.h"
#include "engine/model/project.h"
#include "engine/cli/secrets_command.h"
#include "engine/cli/status.h"
#include "engine/deploy/survey.h"
#include "engine/util.h"
#include "engine/version.h"
#include "hosts/loop.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum exit_status {
    EXIT_OK = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
};


/* The words -d takes ("-d explain", "-d explain,stats", "--debug=explain"). */
enum debug_word {
    DEBUG_EXPLAIN = 1u << 0, /* why each node is dirty or clean */
    DEBUG_STATS = 1u << 1,   /* per host: how the manifest was had, requests, bytes */
};

struct debug_name {
    const char *name;
    unsigned bit;
};

static const struct debug_name debug_names[] = {
    {"explain", DEBUG_EXPLAIN},
    {"stats", DEBUG_STATS},
};

#define NDEBUG_NAMES (sizeof debug_names / sizeof *debug_names)

/* Options taking a value accept "-o FILE", "-oFILE" (short) and "--format=X". */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=' && name[1] == '-')
        return arg + n + 1;
    if (strcmp(arg, name) == 0) {
        if (*i + 1 >= argc)
            return NULL;
        return argv[++*i];
    }
    if (name[1] != '-' && strncmp(arg, name, 2) == 0 && arg[2])
        return arg + 2;
    return NULL;
}

static int matches_value_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '\0')
        return 1;
    return name[1] == '-' ? arg[n] == '=' : 1;
}

struct value_option {
    const char *name;
    size_t offset;
};

static const struct value_option value_options[] = {
    {"-C", offsetof(struct options, directory)},    {"-p", offsetof(struct options, platform)},
    {"--format", offsetof(struct options, format)}, {"-o", offsetof(struct options, output)},
    {"--host", offsetof(struct options, host)},     {"--limit", offsetof(struct options, limit)},
    {"--only", offsetof(struct options, only)},     {"-j", offsetof(struct options, jobs)},
    {"-F", offsetof(struct options, ssh_config)},  {"-t", offsetof(struct options, timeout)},
    {"--timeout", offsetof(struct options, timeout)}, {"--commit", offsetof(struct options, commit)},
    {"--trace", offsetof(struct options, trace_path)},
};

struct flag_option {
    const char *name;
    size_t offset;
};

static const struct flag_option flag_options[] = {
    {"-c", offsetof(struct options, check)},
    {"--check", offsetof(struct options, check)},
    {"-v", offsetof(struct options, verbose)},
    {"--verbose", offsetof(struct options, verbose)},
    {"-q", offsetof(struct options, quiet)},
    {"--quiet", offsetof(struct options, quiet)},
    {"--no-color", offsetof(struct options, no_color)},
    {"-n", offsetof(struct options, predict)},
    {"--predict", offsetof(struct options, predict)},
    {"-P", offsetof(struct options, predict)}, /* batou's spellings */
    {"--predict-only", offsetof(struct options, predict)},
    {"--consistency-only", offsetof(struct options, check)},
    {"--break-lock", offsetof(struct options, break_lock)},
    {"--prune", offsetof(struct options, prune)},
    {"--no-state", offsetof(struct options, no_state)},
    {"-D", offsetof(struct options, dirty)},
    {"--dirty", offsetof(struct options, dirty)},
    {"--force", offsetof(struct options, force)},
};

/* The bits of a comma-separated list of debug words; 0 when one is unknown
 * (*bad: the first unknown word, allocated). */
static unsigned debug_bits(const char *list, char **bad)
{
    unsigned bits = 0;
    *bad = NULL;
    for (const char *w = list;; w++) {
        size_t len = strcspn(w, ",");
        size_t k = 0;
        while (k < NDEBUG_NAMES &&
               !(strlen(debug_names[k].name) == len && strncmp(debug_names[k].name, w, len) == 0))
            k++;
        if (k == NDEBUG_NAMES) {
            *bad = xstrndup(w, len);
            return 0;
        }
        bits |= debug_names[k].bit;
        w += len;
        if (!*w)
            return bits;
    }
}

static int unknown_debug_word(const char *word)
{
    const char *names[NDEBUG_NAMES];
    for (size_t k = 0; k < NDEBUG_NAMES; k++)
        names[k] = debug_names[k].name;
    const char *close = suggest(word, names, NDEBUG_NAMES);
    fprintf(stderr, "batou-ng: error: unknown debug word '%s'", word);
    if (close)
        fprintf(stderr, " (did you mean '%s'?)", close);
    fputs(" (see 'batou-ng --help')\n", stderr);
    return -1;
}

/* -d alone, "-d WORDS" (the next argument when it is a list of debug words,
 * so "-d local" still deploys 'local'), "-dWORDS" or "--debug=WORDS". 1
 * when arg was -d, 0 when not, -1 on a usage error (reported). */
static int parse_debug(int argc, char **argv, int *i, struct options *o)
{
    const char *arg = argv[*i];
    const char *words = NULL;
    if (strcmp(arg, "-d") == 0 || strcmp(arg, "--debug") == 0) {
        char *bad = NULL;
        unsigned bits = *i + 1 < argc ? debug_bits(argv[*i + 1], &bad) : 0;
        free(bad);
        o->debug = 1;
        if (bits) {
            o->debug_words |= bits;
            ++*i;
        }
        return 1;
    }
    if (strncmp(arg, "--debug=", 8) == 0)
        words = arg + 8;
    else if (strncmp(arg, "-d", 2) == 0 && arg[2])
        words = arg + 2;
    else
        return 0;
    char *bad = NULL;
    unsigned bits = debug_bits(words, &bad);
    if (!bits) {
        unknown_debug_word(bad);
        free(bad);
        return -1;
    }
    o->debug = 1;
    o->debug_words |= bits;
    return 1;
}

/* 1 when argv[*i] was a known option (consumed), 0 when it is not one,
 * -1 on a usage error (already reported). */
static int parse_option(int argc, char **argv, int *i, struct options *o)
{
    const char *arg = argv[*i];
    int debug = parse_debug(argc, argv, i, o);
    if (debug)
        return debug;
    if (strcmp(arg, "--verify") == 0 || strncmp(arg, "--verify=", 9) == 0) {
        o->verify = arg[8] ? arg + 9 : "stat"; /* "--verify=" is "", refused */
        return 1;
    }
    for (size_t k = 0; k < sizeof flag_options / sizeof *flag_options; k++) {
        if (strcmp(arg, flag_options[k].name) == 0) {
            *(int *)((char *)o + flag_options[k].offset) = 1;
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof value_options / sizeof *value_options; k++) {
        if (!matches_value_option(arg, value_options[k].name))
            continue;
        const char *value = option_value(argc, argv, i, value_options[k].name);
        if (!value) {
            usage_error("option '%s' needs a value", value_options[k].name);
            return -1;
        }
        *(const char **)((char *)o + value_options[k].offset) = value;
        return 1;
    }
    return 0;
}

/* EXIT_OK to go on, or the status to exit with (help and version exit 0). */
static int parse_args(int argc, char **argv, struct options *o, int *done)
{
    *done = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage_print(stdout);
            *done = 1;
            return EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            /* Alone: `batou-ng update --version 1.2` is no way to ask for it. */
            if (argc != 2)
                return usage_error("%s", "--version takes nothing else: 'batou-ng --version'");
            printf("batou-ng %s\n", BATOU_NG_VERSION);
            *done = 1;
            return EXIT_OK;
        }
        if (strcmp(arg, "--") == 0) {
            /* `run ENV -- COMMAND...`: the rest is the command, words joined. */
            o->command_argv = argv + i + 1;
            o->command_argc = argc - i - 1;
            return EXIT_OK;
        }
        int parsed = parse_option(argc, argv, &i, o);
        if (parsed < 0)
            return EXIT_USAGE;
        if (parsed > 0)
            continue;
        if (arg[0] == '-' && arg[1] != '\0')
            return usage_error("unknown option '%s'", arg);
        if (o->nargs == 0 && strcmp(arg, "secrets") == 0) {
            o->secrets_argv = argv + i + 1;
            o->secrets_argc = argc - i - 1;
            o->args[o->nargs++] = arg;
            return EXIT_OK;
        }
        if (o->nargs == (int)(sizeof o->args / sizeof *o->args))
            return usage_error("unexpected argument '%s'", arg);
        o->args[o->nargs++] = arg;
    }
    /* batou's `deploy ENV` is `ENV` (an environment called deploy stays
     * reachable as `batou-ng deploy`). */
    if (o->nargs >= 2 && strcmp(o->args[0], "deploy") == 0) {
        for (int k = 1; k < o->nargs; k++)
            o->args[k - 1] = o->args[k];
        o->nargs--;
    }
    return EXIT_OK;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static int command_check(const char *env_name, const struct options *o)
{
    struct project p;
    int status = cli_project_open(&p, env_name, o, NULL, NULL);
    if (status != EXIT_OK)
        return status;
    size_t hosts = p.env.nhosts;
    if (!o->quiet)
        printf("configuration ok: environment '%s', %zu %s, %zu %s, %zu %s\n", env_name, hosts,
               plural(hosts, "host", "hosts"), p.graph.ncomponents,
               plural(p.graph.ncomponents, "component", "components"), p.graph.nnodes,
               plural(p.graph.nnodes, "node", "nodes"));
    project_release(&p);
    return EXIT_OK;
}

static int host_in_environment(const struct environment *env, const char *host)
{
    const char **names = xmalloc((env->nhosts + 1) * sizeof *names);
    for (size_t i = 0; i < env->nhosts; i++) {
        if (strcmp(env->hosts[i].name, host) == 0) {
            free(names);
            return 1;
        }
        names[i] = env->hosts[i].name;
    }
    const char *close = suggest(host, names, env->nhosts);
    fprintf(stderr, "batou-ng: error: host '%s' is not in environment '%s'", host, env->name);
    if (close)
        fprintf(stderr, " (did you mean '%s'?)", close);
    fputc('\n', stderr);
    free(names);
    return 0;
}

static int write_output(const char *path, const struct buf *data)
{
    if (!path) {
        fwrite(data->data, 1, data->len, stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
    }
    FILE *f = fopen(path, "wbe");
    if (!f) {
        fprintf(stderr, "batou-ng: error: cannot write '%s': %s\n", path, strerror(errno));
        return EXIT_FAILED;
    }
    size_t written = fwrite(data->data, 1, data->len, f);
    if (fclose(f) != 0 || written != data->len) {
        fprintf(stderr, "batou-ng: error: cannot write '%s'\n", path);
        return EXIT_FAILED;
    }
    return EXIT_OK;
}

/* The options a deploy, status or graph run takes; EXIT_OK or a usage error. */
static int deploy_options_from(const struct options *o, struct deploy_options *d)
{
    const char *no_color = getenv("NO_COLOR");
    *d = (struct deploy_options){.started_ms = o->started_ms,
                                 .predict = o->predict,
                                 .break_lock = o->break_lock,
                                 .prune = o->prune,
                                 .force = o->force,
                                 .limit = o->limit,
                                 .only = o->only,
                                 .quiet = o->quiet,
                                 .verbose = o->verbose,
                                 .ssh_config = o->ssh_config,
                                 .explain =
                                     o->debug_words & DEBUG_EXPLAIN ? EXPLAIN_DEBUG : EXPLAIN_OFF,
                                 .stats = (o->debug_words & DEBUG_STATS) != 0,
                                 .trace = o->trace,
                                 .verify_level = CHECK_STAT,
                                 .no_color = o->no_color || (no_color && *no_color)};
    if (o->ssh_config && access(o->ssh_config, R_OK) != 0)
        return usage_error("cannot read the ssh configuration '%s' (-F)", o->ssh_config);
    if (o->jobs) {
        char *end;
        long n = strtol(o->jobs, &end, 10);
        if (*end || end == o->jobs || n < 1 || n > 1024)
            return usage_error("-j needs a number from 1 to 1024, got '%s'", o->jobs);
        d->jobs = (int)n;
    }
    if (!o->verify)
        return EXIT_OK;
    d->verify = 1;
    if (strcmp(o->verify, "content") == 0)
        d->verify_level = CHECK_CONTENT;
    else if (strcmp(o->verify, "stat") != 0)
        return usage_error("unknown --verify level '%s': use --verify or --verify=content",
                           o->verify);
    return EXIT_OK;
}

/* Read the hosts for the dirty marks: a host that cannot be read leaves its
 * nodes unknown, with a notice, and the graph is still written. 0, or 2. */
static int survey_graph(struct project *p, const struct deploy_options *d, struct survey *s)
{
    if (deploy_survey(p, d, s) == 2)
        return EXIT_USAGE;
    survey_report_errors(s, "notice", ": nodes marked unknown");
    return EXIT_OK;
}

static int command_graph(const char *env_name, const struct options *o)
{
    enum export_format format = EXPORT_DOT;
    if (o->format && export_format_parse(o->format, &format) < 0)
        return usage_error("unknown graph format '%s': use dot, json or svg", o->format);
    struct deploy_options d;
    if (deploy_options_from(o, &d) != EXIT_OK)
        return EXIT_USAGE;
    struct project p;
    int status = cli_project_open(&p, env_name, o, o->no_state ? NULL : &d, NULL);
    if (status != EXIT_OK)
        return status;
    if (o->host && !host_in_environment(&p.env, o->host)) {
        homes_free(d.homes);
        project_release(&p);
        return EXIT_USAGE;
    }
    struct survey s = {0};
    if (!o->no_state && survey_graph(&p, &d, &s) != EXIT_OK) {
        survey_release(&s);
        homes_free(d.homes);
        project_release(&p);
        return EXIT_USAGE;
    }
    struct buf out;
    buf_init(&out);
    char *error = NULL;
    if (export_graph(&p.graph, format, o->host, o->no_state ? NULL : s.nodes, &out, &error) < 0) {
        fprintf(stderr, "batou-ng: error: %s\n", error);
        free(error);
        status = EXIT_FAILED;
    } else {
        status = write_output(o->output, &out);
    }
    buf_release(&out);
    survey_release(&s);
    homes_after_run(d.homes);
    project_release(&p);
    return status;
}

static int command_init(const struct options *o)
{
    const char *dir = o->nargs > 1 ? o->args[1] : ".";
    char *error = NULL;
    if (init_project(dir, &error) < 0) {
        fprintf(stderr, "batou-ng: error: %s\n", error);
        free(error);
        return EXIT_USAGE;
    }
    printf("initialised batou-ng project in '%s'\n", dir);
    return EXIT_OK;
}

enum project_action { ACTION_DEPLOY, ACTION_EXPLAIN, ACTION_STATUS, ACTION_RUN };

/* Load ENV's project and run action on it with d (node: explain's NODE, or
 * NULL for every node; run's command). The exit status. */
static int on_project(const char *env_name, const struct options *o, const struct deploy_options *d,
                      enum project_action action, const char *node)
{
    struct project p;
    struct deploy_options run = *d;
    int status = cli_project_open(&p, env_name, o, &run, NULL);
    if (status != EXIT_OK)
        return status;
    if (action == ACTION_EXPLAIN)
        status = explain_run(&p, node, &run);
    else if (action == ACTION_STATUS)
        status = status_run(&p, &run);
    else if (action == ACTION_RUN)
        status = adhoc_run(&p, &run, node);
    else
        status = git_gate_deploy(&p, o, &run);
    homes_after_run(run.homes);
    project_release(&p);
    return status;
}

/* A deploy, `status`, or `explain ENV [NODE]` (node "" for every node). */
static int command_deploy(const char *env_name, enum project_action action, const char *node,
                          const struct options *o)
{
    struct deploy_options d;
    if (deploy_options_from(o, &d) != EXIT_OK)
        return EXIT_USAGE;
    if (o->commit)
        return commit_deploy(env_name, o->commit, o, &d, NULL);
    return on_project(env_name, o, &d, action, node && *node ? node : NULL);
}

static int command_run(const char *env_name, const struct options *o)
{
    if (!o->command_argv || o->command_argc == 0)
        return usage_error("%s", "run needs a command after '--': batou-ng run ENV -- COMMAND");
    struct deploy_options d;
    if (deploy_options_from(o, &d) != EXIT_OK)
        return EXIT_USAGE;
    struct buf command;
    buf_init(&command);
    for (int i = 0; i < o->command_argc; i++) {
        if (i)
            buf_addc(&command, ' ');
        buf_adds(&command, o->command_argv[i]);
    }
    int status = on_project(env_name, o, &d, ACTION_RUN, command.data);
    buf_release(&command);
    return status;
}

/* rollback and pull: each loads the project in its own way. */
static int command_rollback_or_pull(const char *command, const char *env_name,
                                    const struct options *o)
{
    struct deploy_options d;
    if (deploy_options_from(o, &d) != EXIT_OK)
        return EXIT_USAGE;
    if (strcmp(command, "pull") == 0)
        return pull_run(env_name, o, &d);
    return rollback_run(env_name, o, &d);
}

static int need_env(const struct options *o, int index, const char *command)
{
    if (o->nargs > index)
        return 1;
    usage_error("%s needs an environment name", command);
    return 0;
}

/* batou's commands that batou-ng has no need of, taken for an environment
 * name unless one has that name: say what to do instead. 1 when reported. */
static int batou_only_command(const char *word)
{
    static const struct {
        const char *word, *instead;
    } batou_only[] = {
        {"update", "batou-ng has no self-update: update it like any program "
                   "(your package manager, or 'ninja install')"},
        {"migrate", "batou-ng reads batou 2.3's environment files as they are; see "
                    "docs/README.md, 'Coming from batou'"},
    };
    for (size_t i = 0; i < sizeof batou_only / sizeof *batou_only; i++) {
        if (strcmp(word, batou_only[i].word) != 0)
            continue;
        char *path = xasprintf("environments/%s/environment.cfg", word);
        int exists = access(path, F_OK) == 0;
        free(path);
        if (exists)
            return 0;
        fprintf(stderr, "batou-ng: error: '%s' is a batou command: %s\n", word,
                batou_only[i].instead);
        return 1;
    }
    return 0;
}

static int dispatch_command(const struct options *o);

static int dispatch(const struct options *o)
{
    if (o->nargs == 0)
        return usage_error("%s", "no environment given");
    char *refusal = options_refusal(o);
    if (refusal) {
        usage_error("%s", refusal);
        free(refusal);
        return EXIT_USAGE;
    }
    /* Every command that takes -F would otherwise only find out per host
     * (and -c never): say it once, before anything runs. */
    if (o->ssh_config && access(o->ssh_config, R_OK) != 0) {
        fprintf(stderr, "batou-ng: error: cannot read the ssh configuration '%s' (-F): %s\n",
                o->ssh_config, strerror(errno));
        return EXIT_USAGE;
    }
    if (o->trace_path) {
        struct options traced = *o;
        if (cli_trace_start(&traced) != EXIT_OK)
            return EXIT_USAGE;
        return cli_trace_finish(&traced, dispatch_command(&traced));
    }
    return dispatch_command(o);
}

static int dispatch_command(const struct options *o)
{
    const char *command = o->args[0];
    if (o->secrets_argv)
        return secrets_command(o->secrets_argc, o->secrets_argv);
    if (strcmp(command, "init") == 0) {
        if (o->nargs > 2)
            return usage_error("unexpected argument '%s' (init takes one directory)", o->args[2]);
        return command_init(o);
    }
    if (strcmp(command, "graph") == 0) {
        if (!need_env(o, 1, "'graph'"))
            return EXIT_USAGE;
        if (o->nargs > 2)
            return usage_error("unexpected argument '%s'", o->args[2]);
        return command_graph(o->args[1], o);
    }
    if (strcmp(command, "explain") == 0) {
        if (!need_env(o, 1, "'explain'"))
            return EXIT_USAGE;
        if (o->nargs > 2 && !*o->args[2])
            return usage_error("%s", "explain's NODE is empty (leave it out for every node)");
        return command_deploy(o->args[1], ACTION_EXPLAIN, o->nargs > 2 ? o->args[2] : NULL, o);
    }
    if (strcmp(command, "run") == 0) {
        if (!need_env(o, 1, "'run'"))
            return EXIT_USAGE;
        if (o->nargs > 2)
            return usage_error("unexpected argument '%s' (the command goes after '--')",
                               o->args[2]);
        return command_run(o->args[1], o);
    }
    if (o->command_argv)
        return usage_error("%s", "'--' is only for 'batou-ng run ENV -- COMMAND'");
    if (strcmp(command, "status") == 0) {
        if (!need_env(o, 1, "'status'"))
            return EXIT_USAGE;
        if (o->nargs > 2)
            return usage_error("unexpected argument '%s'", o->args[2]);
        return command_deploy(o->args[1], ACTION_STATUS, NULL, o);
    }
    if (strcmp(command, "rollback") == 0 || strcmp(command, "pull") == 0) {
        if (!need_env(o, 1, strcmp(command, "pull") == 0 ? "'pull'" : "'rollback'"))
            return EXIT_USAGE;
        if (o->nargs > 2)
            return usage_error("unexpected argument '%s'", o->args[2]);
        return command_rollback_or_pull(command, o->args[1], o);
    }
    if (o->nargs > 1)
        return usage_error("unexpected argument '%s'", o->args[1]);
    if (batou_only_command(command))
        return EXIT_USAGE;
    if (o->check)
        return command_check(command, o);
    return command_deploy(command, ACTION_DEPLOY, NULL, o);
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer (./configure.py --asan), for leaks inside Debian 12's
 * libraries, fixed upstream: libssh2 1.10 leaks two BIGNUMs each time it
 * loads an ECDSA key file (memory libcrypto allocated: the fast unwinder
 * sees no caller behind it); libgit2 1.5 leaks a pcre2 match block per
 * config lookup by pattern (libgit2 pull 6382; only libgit2 uses pcre2
 * here) and, in its ssh transport, the known hosts it read when it refuses
 * a host key (under git_remote_connect_ext: matched with the full
 * unwinder, fast_unwind_on_malloc=0). Our own leaks, and libssh2 or libgit2
 * objects we fail to free, still count. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcrypto.so\n"
           "leak:libpcre2-8.so\n"
           "leak:git_remote_connect_ext\n";
}

/* The suppressed leaks are not ours: no table of them on stderr. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
#endif

int main(int argc, char **argv)
{
    struct options o = {0};
    o.started_ms = loop_now_ms();
    int done;
    int status = parse_args(argc, argv, &o, &done);
    if (status != EXIT_OK || done)
        return status;
    if (o.directory && chdir(o.directory) < 0) {
        fprintf(stderr, "batou-ng: error: cannot change to directory '%s': %s\n", o.directory,
                strerror(errno));
        return EXIT_USAGE;
    }
    return dispatch(&o);
}
