#ifndef BATOU_CLI_OPTIONS_H
#define BATOU_CLI_OPTIONS_H

struct trace;

/* The command line as parsed (engine/cli/main.c), and which options each
 * command takes (options.c). */

struct options {
    const char *directory; /* -C */
    const char *platform;  /* -p */
    int verbose;
    int quiet;
    int debug;
    unsigned debug_words; /* -d WORD: DEBUG_* bits */
    int no_color;
    int check;              /* -c */
    int predict;            /* -n */
    int break_lock;         /* --break-lock */
    int prune;              /* --prune */
    int no_state;           /* graph --no-state */
    int dirty;              /* -D, --dirty: deploy despite the git checks */
    int force;              /* --force: deploy over a commit that is not an ancestor */
    const char *commit;     /* --commit REV: deploy that commit's tree */
    const char *verify;     /* --verify[=LEVEL]: "stat" (plain), or LEVEL as given */
    const char *limit;      /* --limit HOST,... */
    const char *only;       /* --only COMPONENT,... */
    const char *jobs;       /* -j N */
    const char *ssh_config; /* -F FILE */
    const char *timeout;    /* -t, --timeout SECONDS: the environment's timeout, overridden */
    long long started_ms;   /* when main started (loop_now_ms's clock): the summary's time */
    const char *format;     /* graph --format */
    const char *output;     /* graph -o */
    const char *host;       /* graph --host */
    const char *trace_path; /* --trace FILE, made absolute once checked (cli_trace.c) */
    struct trace *trace;    /* --trace: the run's trace (engine/trace.h), or NULL */
    const char *args[3];    /* positional arguments: command and its operands */
    int nargs;
    char **secrets_argv; /* the words after "secrets": that command parses them */
    char **command_argv; /* run: the words after "--" */
    int command_argc;
    int secrets_argc;
};

/* The command argv names: a deploy (also -n), -c, or a named command. */
enum cli_command {
    CLI_DEPLOY = 1u << 0,
    CLI_CHECK = 1u << 1,
    CLI_STATUS = 1u << 2,
    CLI_GRAPH = 1u << 3,
    CLI_EXPLAIN = 1u << 4,
    CLI_RUN = 1u << 5,
    CLI_INIT = 1u << 6,
    CLI_SECRETS = 1u << 7,
    CLI_ROLLBACK = 1u << 8,
    CLI_PULL = 1u << 9,
};

/* The command o asks for. */
enum cli_command options_command(const struct options *o);
/* NULL when every option given applies to the command, else the usage
 * error's text ("option '--host' is only for 'graph'", to free): an option
 * a command would ignore is refused, never dropped. Also refuses an empty
 * --limit or --only (a list without a name). */
char *options_refusal(const struct options *o);

#endif
