/* The help text and usage errors (engine/cli/usage.h). */

#include "engine/cli/usage.h"

static const char usage_text[] =
    "usage: batou-ng [options] ENV                 deploy ENV\n"
    "       batou-ng -c ENV                        check the model and ENV; connects nowhere\n"
    "       batou-ng status ENV [--verify[=content]]  what is deployed on each host\n"
    "       batou-ng graph ENV [--format dot|json|svg] [-o FILE] [--host HOST] [--no-state]\n"
    "       batou-ng explain ENV [NODE]            why each node is dirty or clean (read-only)\n"
    "       batou-ng run ENV [--limit HOSTS] -- COMMAND   run COMMAND on every host\n"
    "       batou-ng rollback ENV [--limit HOSTS]  deploy each host's previous commit\n"
    "       batou-ng pull ENV --host HOST          on HOST: fetch, deploy HOST here\n"
    "       batou-ng init [DIR]                    create a project skeleton\n"
    "       batou-ng secrets edit|summary|add|remove|reencrypt|decrypttostdout ...\n"
    "                                              GPG-encrypted secrets (see docs/secrets.md)\n"
    "\n"
    "options:\n"
    "  -n, --predict        deploy: what would change and why; touches nothing\n"
    "  --verify[=content]   deploy: check every node on the target (stat, or content)\n"
    "  --break-lock         deploy: remove a lock another run left on the targets\n"
    "  --prune              deploy: remove what orphans (nodes gone from the model) owned\n"
    "  -D, --dirty          deploy: despite uncommitted or unpushed work or another branch\n"
    "  --force              deploy: even where the host has a commit this one lacks\n"
    "  --commit REV         deploy: REV's files (from git), not the work tree's\n"
    "  --limit HOST,...     deploy: only these hosts\n"
    "  --only COMPONENT,... deploy: only these root components\n"
    "  -j N                 deploy: at most N hosts at once (default: jobs, else all, max 32)\n"
    "  -F FILE              the ssh configuration file, as for ssh -F\n"
    "  -c, --check          load and configure every host of ENV, report all errors\n"
    "  -C DIR               run in DIR (the project directory)\n"
    "  -p PLATFORM          override every host's platform\n"
    "  -v, -q, -d           more output (self:log lines) / less output / debug\n"
    "  -d explain           deploy, -n: one line per node: why it is dirty or clean\n"
    "  -d stats             deploy, -n: per host, how the manifest was read, requests, bytes\n"
    "  --trace FILE         write the run as a Chrome trace (Perfetto): phases, requests, nodes\n"
    "  --no-color           no colours (also NO_COLOR=1)\n"
    "  --format FORMAT      graph: dot (default), json or svg\n"
    "  -o FILE              graph: write to FILE instead of stdout\n"
    "  --host HOST          graph: only HOST's part; pull: the host this is\n"
    "  --no-state           graph: do not read the hosts (no dirty marks)\n"
    "  --version            print the version\n"
    "  -h, --help           print this help\n"
    "\n"
    "exit status: 0 ok, 1 failed, 2 usage or configuration error\n";

int usage_error(const char *fmt, const char *arg)
{
    fputs("batou-ng: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see 'batou-ng --help')\n", stderr);
    return 2;
}

void usage_print(FILE *out)
{
    fputs(usage_text, out);
}
