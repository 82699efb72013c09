/* Which options each command takes. An option a command would ignore is a
 * usage error: `batou-ng prod --format json` must not deploy prod as if the
 * option were not there (docs/reference/cli.md, "Options"). */

#include "engine/cli/options.h"

#include "engine/util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LOADS                                                                                  \
    (CLI_CHECK | CLI_DEPLOY | CLI_STATUS | CLI_GRAPH | CLI_EXPLAIN | CLI_RUN | CLI_ROLLBACK |    \
     CLI_PULL)
#define CONNECTS (LOADS & ~CLI_CHECK)
/* rollback is a deploy of each host's previous commit; pull, of one host. */
#define DEPLOYS (CLI_DEPLOY | CLI_ROLLBACK | CLI_PULL)

enum option_kind { FLAG, VALUE, WORDS };

/* An option, the commands it is for, and where o holds it. */
struct option_scope {
    const char *name;
    unsigned commands;
    size_t offset;
    enum option_kind kind;
};

#define AT(field) offsetof(struct options, field)

static const struct option_scope scopes[] = {
    {"-p", LOADS, AT(platform), VALUE},
    {"-n", DEPLOYS, AT(predict), FLAG},
    {"--break-lock", DEPLOYS, AT(break_lock), FLAG},
    {"--prune", DEPLOYS, AT(prune), FLAG},
    {"-D", CLI_DEPLOY | CLI_ROLLBACK, AT(dirty), FLAG},
    {"--force", CLI_DEPLOY | CLI_ROLLBACK, AT(force), FLAG},
    {"--commit", CLI_DEPLOY, AT(commit), VALUE},
    {"--verify", DEPLOYS | CLI_STATUS | CLI_GRAPH | CLI_EXPLAIN, AT(verify), VALUE},
    {"--limit", CLI_DEPLOY | CLI_ROLLBACK | CLI_STATUS | CLI_EXPLAIN | CLI_RUN, AT(limit), VALUE},
    /* run goes to every selected host: --only would choose nothing. */
    {"--only", CLI_DEPLOY | CLI_STATUS | CLI_EXPLAIN, AT(only), VALUE},
    /* -j bounds hosts applying nodes at once; -n takes it (and --prune) so
     * that the deploy's own command line can be predicted. */
    {"-j", CLI_DEPLOY | CLI_ROLLBACK, AT(jobs), VALUE},
    {"-F", CONNECTS, AT(ssh_config), VALUE},
    {"-t", CONNECTS, AT(timeout), VALUE},
    {"--format", CLI_GRAPH, AT(format), VALUE},
    {"-o", CLI_GRAPH, AT(output), VALUE},
    {"--host", CLI_GRAPH | CLI_PULL, AT(host), VALUE},
    {"--no-state", CLI_GRAPH, AT(no_state), FLAG},
    {"-d WORDS", DEPLOYS, AT(debug_words), WORDS},
    /* The commands that load the model and survey or deploy in this process. */
    {"--trace", CLI_DEPLOY | CLI_CHECK | CLI_STATUS | CLI_GRAPH | CLI_EXPLAIN, AT(trace_path),
     VALUE},
};

static int given(const struct options *o, const struct option_scope *s)
{
    const char *at = (const char *)o + s->offset;
    if (s->kind == FLAG)
        return *(const int *)at != 0;
    if (s->kind == WORDS)
        return *(const unsigned *)at != 0;
    return *(const char *const *)at != NULL;
}

static const struct {
    const char *word;
    enum cli_command command;
} named[] = {
    {"status", CLI_STATUS}, {"graph", CLI_GRAPH}, {"explain", CLI_EXPLAIN},
    {"run", CLI_RUN},       {"init", CLI_INIT},   {"secrets", CLI_SECRETS},
    {"rollback", CLI_ROLLBACK}, {"pull", CLI_PULL},
};

enum cli_command options_command(const struct options *o)
{
    if (o->nargs > 0)
        for (size_t i = 0; i < sizeof named / sizeof *named; i++)
            if (strcmp(o->args[0], named[i].word) == 0)
                return named[i].command;
    return o->check ? CLI_CHECK : CLI_DEPLOY;
}

/* How messages name each command. */
static const struct {
    enum cli_command c;
    const char *name;
} command_names[] = {
    {CLI_DEPLOY, "a deploy"},   {CLI_CHECK, "-c"},  {CLI_STATUS, "'status'"},
    {CLI_GRAPH, "'graph'"},     {CLI_EXPLAIN, "'explain'"}, {CLI_RUN, "'run'"},
    {CLI_INIT, "'init'"},       {CLI_SECRETS, "'secrets'"}, {CLI_ROLLBACK, "'rollback'"},
    {CLI_PULL, "'pull'"},
};

static const char *command_name(enum cli_command c, const struct options *o)
{
    if (c == CLI_DEPLOY && o->predict)
        return "-n";
    if (c == CLI_ROLLBACK && o->predict)
        return "'rollback -n'";
    if (c == CLI_PULL && o->predict)
        return "'pull -n'";
    for (size_t i = 0; i < sizeof command_names / sizeof *command_names; i++)
        if (command_names[i].c == c)
            return command_names[i].name;
    return "this command";
}

/* "a deploy, 'status', 'explain'": the commands of mask, for a message. */
static char *commands_of(unsigned mask)
{
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof command_names / sizeof *command_names; i++) {
        if (!(mask & command_names[i].c))
            continue;
        if (b.len)
            buf_adds(&b, ", ");
        buf_adds(&b, command_names[i].name);
    }
    return buf_detach(&b);
}

/* Whether list (--limit, --only) names nothing: empty, or only commas and
 * blanks. */
static int names_nothing(const char *list)
{
    return list && strspn(list, ", ") == strlen(list);
}

char *options_refusal(const struct options *o)
{
    enum cli_command c = options_command(o);
    if (o->check && c != CLI_CHECK)
        return xasprintf("option '-c' cannot be combined with '%s'", o->args[0]);
    for (size_t i = 0; i < sizeof scopes / sizeof *scopes; i++) {
        const struct option_scope *s = &scopes[i];
        if (!given(o, s) || (s->commands & c))
            continue;
        char *for_whom = commands_of(s->commands);
        char *why = xasprintf("option '%s' does not apply to %s: it is for %s", s->name,
                              command_name(c, o), for_whom);
        free(for_whom);
        return why;
    }
    if (o->predict && o->break_lock)
        return xstrdup("option '--break-lock' does not apply to -n: it takes no lock");
    if (names_nothing(o->limit))
        return xstrdup("option '--limit' needs at least one host name");
    if (names_nothing(o->only))
        return xstrdup("option '--only' needs at least one component name");
    return NULL;
}
