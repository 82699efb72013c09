#include "engine/cli/secrets_command.h"

#include "engine/util.h"
#include "environments/environment.h"
#include "environments/secrets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* `batou-ng secrets ...` but edit (secrets_edit.c): the commands that work on
 * every environment's secrets at once, and decrypttostdout for git. */

static const char usage_text[] =
    "usage: batou-ng secrets edit ENV [FILE] [-e|--editor CMD] [--members KEYID,...]\n"
    "       batou-ng secrets summary\n"
    "       batou-ng secrets add KEYID [--environments ENV,...]\n"
    "       batou-ng secrets remove KEYID [--environments ENV,...]\n"
    "       batou-ng secrets reencrypt [--environments ENV,...]\n"
    "       batou-ng secrets decrypttostdout FILE\n"
    "\n"
    "  edit             decrypt ENV's secrets.cfg (or secret file FILE) into a private temporary\n"
    "                   directory, run the editor ($EDITOR, else vi), check the result and\n"
    "                   encrypt every secret file of ENV again to its members\n"
    "  summary          every environment's members and secret files\n"
    "  add, remove      add or remove a member (a gpg key id, fingerprint or e-mail address)\n"
    "                   and re-encrypt (default: every environment that has secrets)\n"
    "  reencrypt        encrypt again to the current members (e.g. after a key changed)\n"
    "  decrypttostdout  print a decrypted file; for git diff:\n"
    "                   git config diff.batou-ng.textconv \"batou-ng secrets decrypttostdout\"\n"
    "                   echo '*.gpg diff=batou-ng' >> .gitattributes\n";

int secrets_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("batou-ng: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see 'batou-ng secrets --help')\n", stderr);
    va_end(ap);
    return 2;
}

int secrets_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("batou-ng: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

char **secrets_split_list(const char *text, size_t *count)
{
    char **items = xmalloc(sizeof *items);
    size_t cap = 1;
    *count = 0;
    while (*text) {
        size_t n = strcspn(text, ",");
        char *item = strip(xstrndup(text, n));
        if (*item) {
            xgrow(&items, &cap, *count + 1, sizeof *items);
            items[(*count)++] = item;
        } else {
            free(item);
        }
        text += n;
        if (*text)
            text++;
    }
    return items;
}

static void free_list(char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i]);
    free(items);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_project(void)
{
    struct stat st;
    if (stat("environments", &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    char cwd[4096];
    fprintf(stderr,
            "batou-ng: error: '%s' is not a batou-ng project: no environments/ directory "
            "(see 'batou-ng init')\n",
            getcwd(cwd, sizeof cwd) ? cwd : ".");
    return 0;
}

int secrets_check_environment(const char *name)
{
    if (!is_project())
        return 2;
    char *path = xasprintf("environments/%s/environment.cfg", name);
    int exists = *name && name[0] != '.' && !strchr(name, '/') && is_file(path);
    free(path);
    if (exists)
        return 0;
    size_t count;
    char **names = environment_names(&count);
    const char *close = suggest(name, (const char *const *)names, count);
    if (close)
        secrets_fail(2, "environment '%s' not found (did you mean '%s'?)", name, close);
    else
        secrets_fail(2, "environment '%s' not found", name);
    free_list(names, count);
    return 2;
}

static char *config_path(const char *env)
{
    return xasprintf("environments/%s/secrets.cfg.gpg", env);
}

static int has_secrets(const char *env)
{
    char *path = config_path(env);
    int result = is_file(path);
    free(path);
    return result;
}

/* Parse "[--environments a,b]" from argv (after the command's operand);
 * *envs gets the named ones (checked) or every environment with secrets.
 * 0, or the exit status of a usage error. */
static int parse_environments(int argc, char **argv, int first, char ***envs, size_t *count,
                              int *explicit)
{
    const char *list = NULL;
    for (int i = first; i < argc; i++) {
        if (strncmp(argv[i], "--environments=", 15) == 0) {
            list = argv[i] + 15;
        } else if (strcmp(argv[i], "--environments") == 0) {
            if (i + 1 >= argc)
                return secrets_usage_error("option '--environments' needs a value");
            list = argv[++i];
        } else if (argv[i][0] == '-') {
            return secrets_usage_error("unknown option '%s'", argv[i]);
        } else {
            return secrets_usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    if (!is_project())
        return 2;
    *explicit = list != NULL;
    if (list) {
        *envs = secrets_split_list(list, count);
        if (*count == 0) {
            free(*envs);
            return secrets_usage_error("option '--environments' needs at least one name");
        }
        for (size_t i = 0; i < *count; i++) {
            if (secrets_check_environment((*envs)[i]) != 0) {
                free_list(*envs, *count);
                return 2;
            }
        }
        return 0;
    }
    size_t all;
    char **names = environment_names(&all);
    *envs = xmalloc((all + 1) * sizeof **envs);
    *count = 0;
    for (size_t i = 0; i < all; i++) {
        if (has_secrets(names[i]))
            (*envs)[(*count)++] = names[i];
        else
            free(names[i]);
    }
    free(names);
    return 0;
}

static const char *files_word(size_t n)
{
    return n == 1 ? "file" : "files";
}

static void print_members(char *const *members, size_t count)
{
    for (size_t i = 0; i < count; i++)
        printf("%s%s", i ? ", " : "", members[i]);
}

enum member_change { MEMBER_ADD, MEMBER_REMOVE, MEMBER_NONE };

/* The index of the member that is keyid, or count. */
static size_t find_member(char *const *members, size_t count, const char *keyid)
{
    for (size_t i = 0; i < count; i++)
        if (strcasecmp(members[i], keyid) == 0)
            return i;
    for (size_t i = 0; i < count; i++)
        if (secrets_same_key(members[i], keyid))
            return i;
    return count;
}

/* Open env's secrets, apply change, save. 0 done, 1 failed (reported),
 * -1 nothing to do (not a member / already one; reported when loud). */
static int change_environment(const char *env, enum member_change change, const char *keyid,
                              int loud)
{
    if (!has_secrets(env)) {
        secrets_fail(1,
                     "environment '%s' has no secrets (create them with 'batou-ng secrets "
                     "edit %s')",
                     env, env);
        return 1;
    }
    struct secrets_env s;
    char *error = NULL;
    char **members = NULL;
    size_t count = 0;
    int result = 1;
    if (secrets_env_open(&s, env, &error) < 0 ||
        secrets_members(s.config_path, s.config.data ? s.config.data : "", s.config.len, &members,
                        &count, &error) < 0) {
        secrets_fail(1, "%s", error);
        goto done;
    }
    size_t at = change == MEMBER_NONE ? count : find_member(members, count, keyid);
    if (change == MEMBER_ADD && at < count) {
        printf("'%s' is already a member of environment '%s'\n", keyid, env);
        result = -1;
        goto done;
    }
    if (change == MEMBER_REMOVE && at == count) {
        if (loud)
            secrets_fail(1, "'%s' is not a member of environment '%s'", keyid, env);
        result = loud ? 1 : -1;
        goto done;
    }
    if (change == MEMBER_REMOVE && count == 1) {
        secrets_fail(1, "cannot remove '%s': it is the last member of environment '%s'", keyid,
                     env);
        goto done;
    }
    if (change == MEMBER_ADD) {
        members = xrealloc(members, (count + 1) * sizeof *members);
        members[count++] = xstrdup(keyid);
    } else if (change == MEMBER_REMOVE) {
        free(members[at]);
        memmove(&members[at], &members[at + 1], (count - at - 1) * sizeof *members);
        count--;
    }
    if (change != MEMBER_NONE)
        secrets_set_members(&s.config, members, count);
    if (secrets_env_save(&s, &error) < 0) {
        secrets_fail(1, "environment '%s': %s (nothing was written)", env, error);
        goto done;
    }
    size_t files = s.nfiles + 1;
    if (change == MEMBER_ADD)
        printf("added '%s' to environment '%s' (%zu %s re-encrypted)\n", keyid, env, files,
               files_word(files));
    else if (change == MEMBER_REMOVE)
        printf("removed '%s' from environment '%s' (%zu %s re-encrypted)\n", keyid, env, files,
               files_word(files));
    else {
        printf("re-encrypted %zu %s of environment '%s' for ", files, files_word(files), env);
        print_members(members, count);
        putchar('\n');
    }
    result = 0;
done:
    free(error);
    free_list(members, count);
    secrets_env_release(&s);
    return result;
}

static int change_members(int argc, char **argv, enum member_change change)
{
    const char *command = argv[0];
    const char *keyid = NULL;
    int first = 1;
    if (change != MEMBER_NONE) {
        if (argc < 2 || argv[1][0] == '-')
            return secrets_usage_error("'secrets %s' needs a key id", command);
        keyid = argv[1];
        first = 2;
    }
    char **envs = NULL;
    size_t count = 0;
    int explicit = 0;
    int status = parse_environments(argc, argv, first, &envs, &count, &explicit);
    if (status != 0)
        return status;
    char *error = NULL;
    if (secrets_gpg_init(&error) < 0 ||
        (change == MEMBER_ADD && secrets_check_key(keyid, &error) < 0)) {
        secrets_fail(1, "%s", error);
        free(error);
        free_list(envs, count);
        return 1;
    }
    if (count == 0) {
        free_list(envs, count);
        return secrets_fail(1, "no environment has secrets yet (create them with 'batou-ng "
                               "secrets edit ENV')");
    }
    int failed = 0, changed = 0;
    for (size_t i = 0; i < count; i++) {
        int r = change_environment(envs[i], change, keyid, explicit);
        failed |= r == 1;
        changed |= r == 0;
    }
    free_list(envs, count);
    if (change == MEMBER_REMOVE && !failed && !changed)
        return secrets_fail(1, "'%s' is not a member of any environment", keyid);
    return failed ? 1 : 0;
}

static void summarize(const char *env)
{
    printf("environment '%s'\n", env);
    size_t nfiles;
    char **files = secrets_file_names(env, &nfiles);
    int config = has_secrets(env);
    if (!config && nfiles == 0) {
        puts("  no secrets");
        free_list(files, nfiles);
        return;
    }
    if (config) {
        char *path = config_path(env);
        char *error = NULL;
        struct buf plain;
        buf_init(&plain);
        char **members = NULL;
        size_t count = 0;
        if (secrets_gpg_init(&error) < 0 || secrets_decrypt_file(path, &plain, &error) < 0) {
            /* Only the reason: the file is obvious here. */
            const char *reason = strstr(error, "': ");
            printf("  cannot decrypt: %s\n",
                   reason && strncmp(error, "cannot ", 7) == 0 ? reason + 3 : error);
        } else if (secrets_members(path, plain.data ? plain.data : "", plain.len, &members, &count,
                                   &error) < 0) {
            printf("  members: none (%s)\n", error);
        } else {
            fputs("  members: ", stdout);
            for (size_t i = 0; i < count; i++) {
                char *problem = secrets_key_problem(members[i]);
                printf("%s%s", i ? ", " : "", members[i]);
                if (problem)
                    printf(" (%s)", problem);
                free(problem);
            }
            putchar('\n');
        }
        free(error);
        free_list(members, count);
        secrets_wipe(&plain);
        free(path);
    } else {
        puts("  no secrets.cfg.gpg: no members");
    }
    fputs("  secret files: ", stdout);
    for (size_t i = 0; i < nfiles; i++)
        printf("%s%s", i ? ", " : "", files[i]);
    puts(nfiles ? "" : "(none)");
    free_list(files, nfiles);
}

static int command_summary(int argc, char **argv)
{
    if (argc > 1)
        return secrets_usage_error("unexpected argument '%s'", argv[1]);
    if (!is_project())
        return 2;
    size_t count;
    char **names = environment_names(&count);
    for (size_t i = 0; i < count; i++)
        summarize(names[i]);
    free_list(names, count);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int command_decrypttostdout(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return argc < 2 ? secrets_usage_error("'secrets decrypttostdout' needs a file")
                        : secrets_usage_error("unexpected argument '%s'", argv[argc - 1]);
    char *error = NULL;
    struct buf plain;
    buf_init(&plain);
    if (secrets_gpg_init(&error) < 0 || secrets_decrypt_file(argv[1], &plain, &error) < 0) {
        secrets_fail(1, "%s", error);
        free(error);
        secrets_wipe(&plain);
        return 1;
    }
    size_t written = fwrite(plain.data ? plain.data : "", 1, plain.len, stdout);
    int ok = written == plain.len && fflush(stdout) == 0;
    secrets_wipe(&plain);
    return ok ? 0 : secrets_fail(1, "cannot write to stdout: %s", strerror(errno));
}

static const char *const commands[] = {"edit",   "summary",   "add",
                                       "remove", "reencrypt", "decrypttostdout"};

int secrets_command(int argc, char **argv)
{
    if (argc == 0)
        return secrets_usage_error("'secrets' needs a command: edit, summary, add, remove, "
                                   "reencrypt or decrypttostdout");
    const char *command = argv[0];
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    }
    if (strcmp(command, "edit") == 0)
        return secrets_edit_command(argc - 1, argv + 1);
    if (strcmp(command, "summary") == 0)
        return command_summary(argc, argv);
    if (strcmp(command, "add") == 0)
        return change_members(argc, argv, MEMBER_ADD);
    if (strcmp(command, "remove") == 0)
        return change_members(argc, argv, MEMBER_REMOVE);
    if (strcmp(command, "reencrypt") == 0)
        return change_members(argc, argv, MEMBER_NONE);
    if (strcmp(command, "decrypttostdout") == 0)
        return command_decrypttostdout(argc, argv);
    const char *close = suggest(command, commands, sizeof commands / sizeof *commands);
    if (close)
        return secrets_usage_error("unknown secrets command '%s' (did you mean '%s'?)", command,
                                   close);
    return secrets_usage_error("unknown secrets command '%s'", command);
}
