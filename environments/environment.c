#include "environments/environment.h"

#include "engine/diag.h"
#include "engine/util.h"
#include "environments/environment_sections.h"
#include "environments/ini.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* environment.cfg is read in two steps: ini.c parses the INI syntax, then
 * each section is checked against the keys batou 2.3 knows. Sections may come
 * in any order, so what depends on several of them (fqdns, which need
 * host_domain) is computed at the end. */

static const char *const environment_keys[] = {
    "connect_method",  "host_domain",   "service_user",   "target_directory", "platform",
    "branch",          "timeout",       "jobs",           "require_v4",       "require_v6",
    "host_key_policy", "update_method", "repository_url", "repository_root", "model_budget",
};

static const char *const section_names[] = {"environment", "hosts", "resolver"};

void env_error(struct env_loader *ld, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    diag_add(ld->d, ld->path, line, col, "%s", message);
    free(message);
    ld->failed = 1;
}

char *env_value(const struct ini_entry *entry, int *line, int *col)
{
    size_t skip = 0;
    while (entry->value[skip] && isspace((unsigned char)entry->value[skip]))
        skip++;
    struct ini_pos pos = ini_value_pos(entry, skip);
    *line = pos.line;
    *col = pos.col;
    return strip(xstrdup(entry->value));
}

char *env_single_value(struct env_loader *ld, const struct ini_entry *entry, int *line, int *col)
{
    char *value = env_value(entry, line, col);
    if (strchr(value, '\n')) {
        env_error(ld, *line, *col, "'%s' takes one line, not several", entry->key);
        free(value);
        return NULL;
    }
    return value;
}

int env_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

int environment_parse_requirement(const char *text, enum address_requirement *out)
{
    int flag;
    if (strcasecmp(text, "optional") == 0) {
        *out = ADDRESS_OPTIONAL;
        return 0;
    }
    if (env_parse_bool(text, &flag) < 0)
        return -1;
    *out = flag ? ADDRESS_REQUIRED : ADDRESS_SKIPPED;
    return 0;
}

/* Without inline comments "a = b  # c" is the value "b  # c": say so. */
static const char *comment_hint(const char *value)
{
    if (strstr(value, " #") || strstr(value, "\t#") || strstr(value, " ;"))
        return " (comments must be on a line of their own)";
    return "";
}

void env_unknown_key(struct env_loader *ld, const struct ini_section *section,
                     const struct ini_entry *entry, const char *const *candidates, size_t count)
{
    const char *best = suggest(entry->key, candidates, count);
    if (best)
        env_error(ld, entry->line, entry->key_col,
                  "unknown key '%s' in section '[%s]' (did you mean '%s'?)", entry->key,
                  section->name, best);
    else
        env_error(ld, entry->line, entry->key_col, "unknown key '%s' in section '[%s]'", entry->key,
                  section->name);
}

/* batou's require_sudo overrides its guess whether sudo is needed to reach
 * service_user. batou-ng does not guess: it uses sudo exactly when
 * service_user differs from the login, so the key has no meaning left. */
void env_require_sudo(struct env_loader *ld, const struct ini_entry *entry)
{
    env_error(ld, entry->line, entry->key_col,
              "'require_sudo' is not supported by batou-ng: it uses sudo exactly when "
              "'service_user' differs from the login user (set 'service_user' to deploy as "
              "another user, leave it unset to deploy as the login)");
}

void environment_init(struct environment *env, const char *name)
{
    memset(env, 0, sizeof *env);
    env->name = xstrdup(name);
    env->file = xasprintf("environments/%s/environment.cfg", name);
    env->connect_method = xstrdup("ssh");
    env->target_directory = xstrdup("~/deployment");
    env->timeout = 30;
    env->require_v4 = ADDRESS_REQUIRED;
    env->require_v6 = ADDRESS_SKIPPED;
}

static void set_string(char **field, char *value)
{
    free(*field);
    *field = value;
}

/* A positive int, as Python's int() reads it (sign, digits, '_' between). */
static int parse_positive(const char *text, int *out)
{
    const char *s = text;
    long long n = 0;
    if (*s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    for (; *s; s++) {
        if (*s == '_' && isdigit((unsigned char)s[1]) && s > text && isdigit((unsigned char)s[-1]))
            continue;
        if (!isdigit((unsigned char)*s))
            return -1;
        n = n * 10 + (*s - '0');
        if (n > INT_MAX)
            return -1;
    }
    if (n < 1)
        return -1;
    *out = (int)n;
    return 0;
}

static void add_notice(struct env_loader *ld, const struct ini_entry *entry)
{
    struct environment *env = ld->env;
    env->notices = xrealloc(env->notices, (env->nnotices + 1) * sizeof *env->notices);
    env->notices[env->nnotices++] =
        xasprintf("%s:%d: '%s' is not needed by batou-ng (it ships no repository to "
                  "the target); ignored",
                  ld->path, entry->line, entry->key);
}

static int is_notice_key(const char *key)
{
    return strcmp(key, "update_method") == 0 || strcmp(key, "repository_url") == 0 ||
           strcmp(key, "repository_root") == 0;
}

static void read_choice(struct env_loader *ld, const struct ini_entry *e, const char *value,
                        int line, int col)
{
    struct environment *env = ld->env;
    if (strcmp(e->key, "connect_method") == 0) {
        if (strcmp(value, "vagrant") == 0) {
            /* -c must not pass what no deploy can do. */
            env_error(ld, line, col,
                      "'connect_method = vagrant' is not supported: write 'vagrant ssh-config' "
                      "into ssh_config_%s at the project's root and use 'connect_method = ssh'",
                      ld->env->name ? ld->env->name : "ENV");
            return;
        }
        if (strcmp(value, "local") && strcmp(value, "ssh")) {
            env_error(ld, line, col, "'connect_method' must be 'local' or 'ssh', got '%s'%s",
                      value, comment_hint(value));
            return;
        }
        set_string(&env->connect_method, xstrdup(value));
        return;
    }
    /* host_key_policy: NULL means strict. */
    if (strcmp(value, "strict") == 0) {
        set_string(&env->host_key_policy, NULL);
    } else if (strcmp(value, "accept-new") == 0) {
        set_string(&env->host_key_policy, xstrdup(value));
    } else {
        env_error(ld, line, col, "'host_key_policy' must be 'accept-new' or 'strict', got '%s'%s",
                  value, comment_hint(value));
    }
}

static void read_number(struct env_loader *ld, const struct ini_entry *e, const char *value,
                        int line, int col)
{
    int n;
    if (parse_positive(value, &n) < 0) {
        env_error(ld, line, col, "'%s' must be a positive integer, got '%s'%s", e->key, value,
                  comment_hint(value));
        return;
    }
    if (strcmp(e->key, "timeout") == 0)
        ld->env->timeout = n;
    else if (strcmp(e->key, "model_budget") == 0)
        ld->env->model_budget = n;
    else
        ld->env->jobs = n;
}

static void read_requirement(struct env_loader *ld, const struct ini_entry *e, const char *value,
                             int line, int col)
{
    enum address_requirement *field =
        strcmp(e->key, "require_v4") == 0 ? &ld->env->require_v4 : &ld->env->require_v6;
    if (environment_parse_requirement(value, field) < 0)
        env_error(ld, line, col, "'%s' must be True, False or optional, got '%s'%s", e->key, value,
                  comment_hint(value));
}

static char **string_field(struct environment *env, const char *key)
{
    if (strcmp(key, "host_domain") == 0)
        return &env->host_domain;
    if (strcmp(key, "service_user") == 0)
        return &env->service_user;
    if (strcmp(key, "target_directory") == 0)
        return &env->target_directory;
    if (strcmp(key, "platform") == 0)
        return &env->platform;
    if (strcmp(key, "branch") == 0)
        return &env->branch;
    return NULL;
}

static void read_environment_entry(struct env_loader *ld, const struct ini_section *section,
                                   const struct ini_entry *e)
{
    if (is_notice_key(e->key)) {
        add_notice(ld, e);
        return;
    }
    if (strcmp(e->key, "require_sudo") == 0) {
        env_require_sudo(ld, e);
        return;
    }
    char **field = string_field(ld->env, e->key);
    int known = field || strcmp(e->key, "connect_method") == 0 ||
                strcmp(e->key, "host_key_policy") == 0 || strcmp(e->key, "timeout") == 0 ||
                strcmp(e->key, "jobs") == 0 || strcmp(e->key, "require_v4") == 0 ||
                strcmp(e->key, "require_v6") == 0 || strcmp(e->key, "model_budget") == 0;
    if (!known) {
        env_unknown_key(ld, section, e, environment_keys,
                        sizeof environment_keys / sizeof *environment_keys);
        return;
    }
    int line, col;
    char *value = env_single_value(ld, e, &line, &col);
    if (!value)
        return;
    if (field && strcmp(e->key, "target_directory") == 0)
        ld->env->target_directory_set = 1;
    if (field && strcmp(e->key, "target_directory") == 0 && !*value)
        env_error(ld, line, col, "'target_directory' must not be empty");
    else if (field)
        set_string(field, *value ? xstrdup(value) : NULL);
    else if (strcmp(e->key, "connect_method") == 0 || strcmp(e->key, "host_key_policy") == 0)
        read_choice(ld, e, value, line, col);
    else if (strcmp(e->key, "timeout") == 0 || strcmp(e->key, "jobs") == 0 ||
             strcmp(e->key, "model_budget") == 0)
        read_number(ld, e, value, line, col);
    else
        read_requirement(ld, e, value, line, col);
    free(value);
}

/* "[hots:web01]" -> "host:web01", "[Hosts]" -> "hosts", or NULL. */
static char *section_suggestion(const char *name)
{
    static const char *const kinds[] = {"host", "component"};
    char *lower = xstrlower(name);
    char *colon = strchr(lower, ':');
    char *shown = NULL;
    if (colon) {
        *colon = '\0';
        const char *best = suggest(lower, kinds, 2);
        if (!best && (strcmp(lower, "host") == 0 || strcmp(lower, "component") == 0))
            best = lower;
        if (best)
            shown = xasprintf("%s:%s", best, name + (colon - lower) + 1);
    } else {
        const char *best = suggest(lower, section_names, 3);
        for (size_t i = 0; i < 3 && !best; i++)
            if (strcmp(lower, section_names[i]) == 0)
                best = section_names[i];
        if (best)
            shown = xstrdup(best);
    }
    free(lower);
    return shown;
}

static void unknown_section(struct env_loader *ld, const struct ini_section *section)
{
    char *shown = section_suggestion(section->name);
    if (shown)
        env_error(ld, section->line, 1, "unknown section '[%s]' (did you mean '[%s]'?)",
                  section->name, shown);
    else
        env_error(ld, section->line, 1, "unknown section '[%s]'", section->name);
    free(shown);
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void read_section_entries(struct env_loader *ld, const struct ini_section *section);

static void read_section(struct env_loader *ld, const struct ini_section *section)
{
    const char *name = section->name;
    int failed = ld->failed;
    ld->failed = 0;
    read_section_entries(ld, section);
    /* The model still runs on the rest; what needs every host (unused
     * provides) must know that one may be missing. */
    /* [host:x] decides for itself (env_read_host): a bad platform drops no
     * component. */
    int about_hosts = strcmp(name, "hosts") == 0 ||
                      !(strcmp(name, "environment") == 0 || has_prefix(name, "component:") ||
                        strcmp(name, "resolver") == 0 || strcmp(name, "vfs") == 0 ||
                        has_prefix(name, "provisioner") || has_prefix(name, "host:"));
    if (ld->failed && about_hosts)
        ld->env->hosts_incomplete = 1;
    ld->failed |= failed;
}

static void read_section_entries(struct env_loader *ld, const struct ini_section *section)
{
    const char *name = section->name;
    if (strcmp(name, "environment") == 0) {
        for (size_t i = 0; i < section->count; i++)
            read_environment_entry(ld, section, &section->entries[i]);
    } else if (strcmp(name, "hosts") == 0) {
        env_read_hosts(ld, section);
    } else if (has_prefix(name, "host:")) {
        env_read_host(ld, section, name + 5);
    } else if (has_prefix(name, "component:")) {
        env_read_component(ld, section, name + 10, 0);
    } else if (strcmp(name, "resolver") == 0) {
        env_read_resolver(ld, section);
    } else if (strcmp(name, "vfs") == 0 || has_prefix(name, "provisioner")) {
        env_error(ld, section->line, 1, "section '[%s]' is not supported by batou-ng", name);
    } else {
        unknown_section(ld, section);
    }
}

int environment_parse(struct environment *env, const char *path, const char *text, size_t len,
                      struct diags *d)
{
    set_string(&env->file, xstrdup(path));
    struct env_loader ld = {.env = env, .d = d, .path = path};
    struct ini ini;
    env->parsed = 1;
    if (ini_parse(&ini, path, text, len, d) < 0) {
        ld.failed = 1;
        env->hosts_incomplete = 1; /* a line it could not read may have named one */
    }
    for (size_t i = 0; i < ini.count; i++)
        read_section(&ld, &ini.sections[i]);
    env_set_fqdns(env);
    ini_release(&ini);
    return ld.failed ? -1 : 0;
}

int environment_add_secrets(struct environment *env, const char *path, const char *text, size_t len,
                            struct diags *d)
{
    struct env_loader ld = {.env = env, .d = d, .path = path};
    struct ini ini;
    if (ini_parse(&ini, path, text, len, d) < 0)
        ld.failed = 1;
    for (size_t i = 0; i < ini.count; i++) {
        const struct ini_section *section = &ini.sections[i];
        if (strcmp(section->name, "batou") == 0)
            continue;
        if (has_prefix(section->name, "component:"))
            env_read_component(&ld, section, section->name + 10, 1);
        else
            env_error(&ld, section->line, 1,
                      "unknown section '[%s]' in a secrets file (only '[batou]' and "
                      "'[component:NAME]' are allowed)",
                      section->name);
    }
    ini_release(&ini);
    return ld.failed ? -1 : 0;
}

static int valid_name(const char *name)
{
    return *name && name[0] != '.' && !strchr(name, '/');
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void not_found(const char *name, struct diags *d)
{
    size_t count;
    char **names = environment_names(&count);
    const char *best = suggest(name, (const char *const *)names, count);
    if (best)
        diag_add(d, NULL, 0, 0, "environment '%s' not found (did you mean '%s'?)", name, best);
    else
        diag_add(d, NULL, 0, 0, "environment '%s' not found", name);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int environment_load(struct environment *env, const char *name, struct diags *d)
{
    environment_init(env, name);
    if (!valid_name(name) || !is_file(env->file)) {
        not_found(name, d);
        return -1;
    }
    struct buf text;
    buf_init(&text);
    if (read_file(env->file, &text) < 0) {
        diag_add(d, env->file, 0, 0, "cannot read the file: %s", strerror(errno));
        buf_release(&text);
        return -1;
    }
    char *path = xstrdup(env->file);
    int result = environment_parse(env, path, text.data, text.len, d);
    free(path);
    buf_release(&text);
    return result;
}

char **environment_names(size_t *count)
{
    char **names = NULL;
    size_t cap = 0;
    *count = 0;
    DIR *dir = opendir("environments");
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            if (!valid_name(entry->d_name))
                continue;
            char *path = xasprintf("environments/%s/environment.cfg", entry->d_name);
            if (is_file(path)) {
                xgrow(&names, &cap, *count + 1, sizeof *names);
                names[(*count)++] = xstrdup(entry->d_name);
            }
            free(path);
        }
        closedir(dir);
    }
    if (!names)
        names = xmalloc(sizeof *names);
    qsort(names, *count, sizeof *names, compare_strings);
    return names;
}

const struct env_resolve *environment_resolve(const struct environment *env, const char *name)
{
    for (size_t i = 0; i < env->nresolver; i++)
        if (strcasecmp(env->resolver[i].name, name) == 0)
            return &env->resolver[i];
    return NULL;
}

static void host_release(struct env_host *h)
{
    free(h->name);
    free(h->fqdn);
    free(h->platform);
    free(h->service_user);
    free(h->home);
    for (size_t i = 0; i < h->ncomponents; i++)
        free(h->components[i].name);
    free(h->components);
    for (size_t i = 0; i < h->ndata; i++) {
        free(h->data[i].key);
        free(h->data[i].value);
    }
    free(h->data);
    free(h->file);
}

void environment_release(struct environment *env)
{
    free(env->name);
    free(env->file);
    free(env->place);
    free(env->connect_method);
    free(env->host_domain);
    free(env->service_user);
    free(env->target_directory);
    free(env->platform);
    free(env->branch);
    free(env->host_key_policy);
    for (size_t i = 0; i < env->nhosts; i++)
        host_release(&env->hosts[i]);
    free(env->hosts);
    for (size_t i = 0; i < env->noverrides; i++) {
        free(env->overrides[i].component);
        free(env->overrides[i].attribute);
        free(env->overrides[i].value);
        free(env->overrides[i].file);
    }
    free(env->overrides);
    for (size_t i = 0; i < env->nresolver; i++) {
        free(env->resolver[i].name);
        for (size_t j = 0; j < env->resolver[i].count; j++)
            free(env->resolver[i].addresses[j]);
        free(env->resolver[i].addresses);
    }
    free(env->resolver);
    for (size_t i = 0; i < env->nsecret_files; i++) {
        free(env->secret_files[i].name);
        explicit_bzero(env->secret_files[i].content, env->secret_files[i].len);
        free(env->secret_files[i].content);
    }
    free(env->secret_files);
    for (size_t i = 0; i < env->nsecret_values; i++) {
        explicit_bzero(env->secret_values[i].data, env->secret_values[i].len);
        free(env->secret_values[i].data);
    }
    free(env->secret_values);
    explicit_bzero(env->hash_key, sizeof env->hash_key);
    for (size_t i = 0; i < env->nnotices; i++)
        free(env->notices[i]);
    free(env->notices);
    memset(env, 0, sizeof *env);
}
