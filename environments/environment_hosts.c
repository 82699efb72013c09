#include "environments/environment.h"

#include "engine/util.h"
#include "environments/environment_sections.h"
#include "environments/ini.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The sections that list things: [hosts], [host:x], [component:x] and
 * [resolver]. Lists are split on commas and newlines, as batou does. */

static const char *const host_keys[] = {"components", "platform", "service_user", "ignore"};

/* One item of a comma/newline-separated value, with where it starts. */
struct list_item {
    char *text; /* stripped */
    int line;
    int col;
};

/* Split entry's value on separators (and strip); empty items are dropped. */
static struct list_item *split_list(const struct ini_entry *entry, const char *separators,
                                    size_t *count)
{
    struct list_item *items = NULL;
    size_t cap = 0;
    *count = 0;
    const char *v = entry->value;
    size_t i = 0;
    while (v[i]) {
        size_t start = i;
        while (v[i] && !strchr(separators, v[i]))
            i++;
        size_t end = i;
        if (v[i])
            i++;
        while (start < end && isspace((unsigned char)v[start]))
            start++;
        while (end > start && isspace((unsigned char)v[end - 1]))
            end--;
        if (start == end)
            continue;
        struct ini_pos pos = ini_value_pos(entry, start);
        xgrow(&items, &cap, *count + 1, sizeof *items);
        items[*count].text = xstrndup(v + start, end - start);
        items[*count].line = pos.line;
        items[*count].col = pos.col;
        (*count)++;
    }
    return items;
}

static void free_list(struct list_item *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(items[i].text);
    free(items);
}

/* Host names end up on ssh command lines: keep them to what DNS allows. */
static int valid_host_name(const char *name)
{
    if (!*name || name[0] == '-' || name[0] == '.')
        return 0;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
            return 0;
    return 1;
}

static struct env_host *find_host(struct environment *env, const char *name)
{
    for (size_t i = 0; i < env->nhosts; i++)
        if (strcasecmp(env->hosts[i].name, name) == 0)
            return &env->hosts[i];
    return NULL;
}

/* A new host, or NULL (after an error) when the name is bad or taken. */
static struct env_host *new_host(struct env_loader *ld, const char *name, int line, int col)
{
    struct environment *env = ld->env;
    if (!valid_host_name(name)) {
        env_error(ld, line, col, "invalid host name '%s'", name);
        return NULL;
    }
    const struct env_host *first = find_host(env, name);
    if (first) {
        env_error(ld, line, col, "host '%s' is defined twice (first at %s:%d)", name, first->file,
                  first->line);
        return NULL;
    }
    env->hosts = xrealloc(env->hosts, (env->nhosts + 1) * sizeof *env->hosts);
    struct env_host *host = &env->hosts[env->nhosts++];
    memset(host, 0, sizeof *host);
    host->name = xstrdup(name);
    host->file = xstrdup(ld->path);
    host->line = line;
    host->col = col;
    return host;
}

static void read_components(struct env_loader *ld, struct env_host *host,
                            const struct ini_entry *entry)
{
    size_t count;
    struct list_item *items = split_list(entry, ",\n", &count);
    for (size_t i = 0; i < count; i++) {
        const char *text = items[i].text;
        int ignore = text[0] == '!';
        char *name = strip(xstrlower(text + ignore));
        if (!*name) {
            env_error(ld, items[i].line, items[i].col, "missing component name after '!'");
            free(name);
            continue;
        }
        const struct env_component *first = NULL;
        for (size_t j = 0; j < host->ncomponents && !first; j++)
            if (strcmp(host->components[j].name, name) == 0)
                first = &host->components[j];
        if (first) {
            env_error(ld, items[i].line, items[i].col,
                      "component '%s' is listed twice for host '%s' (first at line %d)", name,
                      host->name, first->line);
            free(name);
            continue;
        }
        host->components =
            xrealloc(host->components, (host->ncomponents + 1) * sizeof *host->components);
        struct env_component *c = &host->components[host->ncomponents++];
        c->name = name;
        c->ignore = ignore;
        c->line = items[i].line;
        c->col = items[i].col;
    }
    free_list(items, count);
}

void env_read_hosts(struct env_loader *ld, const struct ini_section *section)
{
    for (size_t i = 0; i < section->count; i++) {
        const struct ini_entry *e = &section->entries[i];
        int ignore = e->key[0] == '!';
        struct env_host *host = new_host(ld, e->key + ignore, e->line, e->key_col);
        if (!host)
            continue;
        host->ignore = ignore;
        read_components(ld, host, e);
    }
}

static void read_data(struct env_loader *ld, struct env_host *host, const struct ini_entry *e)
{
    const char *key = e->key + 5;
    if (!*key) {
        env_error(ld, e->line, e->key_col, "missing name after 'data-'");
        return;
    }
    host->data = xrealloc(host->data, (host->ndata + 1) * sizeof *host->data);
    struct env_data *data = &host->data[host->ndata++];
    data->key = xstrdup(key);
    data->value = xstrdup(e->value);
    data->line = e->line;
    data->col = e->col;
}

static void read_host_string(struct env_loader *ld, char **field, const struct ini_entry *e)
{
    int line, col;
    char *value = env_single_value(ld, e, &line, &col);
    if (!value)
        return;
    free(*field);
    *field = *value ? value : NULL;
    if (!*value)
        free(value);
}

static void read_ignore(struct env_loader *ld, struct env_host *host, const struct ini_entry *e)
{
    int line, col, flag;
    char *value = env_single_value(ld, e, &line, &col);
    if (!value)
        return;
    if (env_parse_bool(value, &flag) < 0)
        env_error(ld, line, col, "'ignore' must be true or false, got '%s'", value);
    else
        host->ignore = flag;
    free(value);
}

static void read_host_entry(struct env_loader *ld, const struct ini_section *section,
                            struct env_host *host, const struct ini_entry *e)
{
    int failed = ld->failed;
    ld->failed = 0;
    if (strcmp(e->key, "components") == 0) {
        read_components(ld, host, e);
        /* A component it could not read is missing from the model. */
        if (ld->failed)
            ld->env->hosts_incomplete = 1;
    } else if (strcmp(e->key, "platform") == 0) {
        read_host_string(ld, &host->platform, e);
    } else if (strcmp(e->key, "service_user") == 0) {
        read_host_string(ld, &host->service_user, e);
    } else if (strcmp(e->key, "ignore") == 0) {
        read_ignore(ld, host, e);
    } else if (strncmp(e->key, "data-", 5) == 0) {
        read_data(ld, host, e);
    } else if (strcmp(e->key, "require_sudo") == 0) {
        env_require_sudo(ld, e);
    } else if (strcmp(e->key, "provisioner") == 0 || strncmp(e->key, "provision-", 10) == 0) {
        env_error(ld, e->line, e->key_col,
                  "key '%s' is not supported by batou-ng (it has no "
                  "provisioners)",
                  e->key);
    } else if (strncmp(e->key, "data_", 5) == 0) {
        env_error(ld, e->line, e->key_col,
                  "unknown key '%s' in section '[%s]' (did you mean 'data-%s'?)", e->key,
                  section->name, e->key + 5);
    } else {
        /* Perhaps a misspelt "components": the host's may be missing. */
        env_unknown_key(ld, section, e, host_keys, sizeof host_keys / sizeof *host_keys);
        ld->env->hosts_incomplete = 1;
    }
    ld->failed |= failed;
}

void env_read_host(struct env_loader *ld, const struct ini_section *section, const char *name)
{
    char *stripped = strip(xstrdup(name));
    struct env_host *host = new_host(ld, stripped, section->line, 1);
    free(stripped);
    if (!host) {
        ld->env->hosts_incomplete = 1;
        return;
    }
    for (size_t i = 0; i < section->count; i++)
        read_host_entry(ld, section, host, &section->entries[i]);
}

static const struct env_override *find_override(const struct environment *env,
                                                const char *component, const char *attribute)
{
    for (size_t i = 0; i < env->noverrides; i++)
        if (strcmp(env->overrides[i].component, component) == 0 &&
            strcmp(env->overrides[i].attribute, attribute) == 0)
            return &env->overrides[i];
    return NULL;
}

static void add_override(struct env_loader *ld, const char *component, const struct ini_entry *e,
                         int secret)
{
    struct environment *env = ld->env;
    const struct env_override *first = find_override(env, component, e->key);
    if (first) {
        /* Never quote the values: one of them may be a secret. */
        env_error(ld, e->line, e->key_col, "'%s' of component '%s' is set twice (first at %s:%d)",
                  e->key, component, first->file, first->line);
        return;
    }
    env->overrides = xrealloc(env->overrides, (env->noverrides + 1) * sizeof *env->overrides);
    struct env_override *o = &env->overrides[env->noverrides++];
    o->component = xstrdup(component);
    o->attribute = xstrdup(e->key);
    o->value = xstrdup(e->value);
    o->file = xstrdup(ld->path);
    o->line = e->line;
    o->col = e->col;
    o->secret = secret;
}

void env_read_component(struct env_loader *ld, const struct ini_section *section, const char *name,
                        int secret)
{
    char *component = strip(xstrlower(name));
    if (!*component) {
        env_error(ld, section->line, 1, "missing component name in '[%s]'", section->name);
        free(component);
        return;
    }
    /* [component:Foo] and [component:foo] merge; a key set in both clashes. */
    for (size_t i = 0; i < section->count; i++)
        add_override(ld, component, &section->entries[i], secret);
    free(component);
}

static int valid_ip(const char *text)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, text, addr) == 1 || inet_pton(AF_INET6, text, addr) == 1;
}

void env_read_resolver(struct env_loader *ld, const struct ini_section *section)
{
    struct environment *env = ld->env;
    for (size_t i = 0; i < section->count; i++) {
        const struct ini_entry *e = &section->entries[i];
        size_t count;
        struct list_item *items = split_list(e, ", \t\n", &count);
        if (count == 0)
            env_error(ld, e->line, e->key_col, "no address for '%s' in [resolver]", e->key);
        int good = count > 0;
        for (size_t j = 0; j < count; j++) {
            if (!valid_ip(items[j].text)) {
                env_error(ld, items[j].line, items[j].col,
                          "invalid address '%s' for '%s' in [resolver]: not an IPv4 or IPv6 "
                          "address",
                          items[j].text, e->key);
                good = 0;
            }
        }
        if (good) {
            env->resolver = xrealloc(env->resolver, (env->nresolver + 1) * sizeof *env->resolver);
            struct env_resolve *r = &env->resolver[env->nresolver++];
            r->name = xstrdup(e->key);
            r->addresses = xmalloc(count * sizeof *r->addresses);
            r->count = count;
            r->line = e->line;
            for (size_t j = 0; j < count; j++)
                r->addresses[j] = xstrdup(items[j].text);
        }
        free_list(items, count);
    }
}

void env_set_fqdns(struct environment *env)
{
    const char *domain = env->host_domain;
    for (size_t i = 0; i < env->nhosts; i++) {
        struct env_host *host = &env->hosts[i];
        free(host->fqdn);
        size_t n = strlen(host->name), m = domain ? strlen(domain) : 0;
        /* As batou's normalize_host_name: "web01.example.com" stays itself. */
        int qualified = domain && n > m + 1 && host->name[n - m - 1] == '.' &&
                        strcasecmp(host->name + n - m, domain) == 0;
        if (!domain || qualified)
            host->fqdn = xstrdup(host->name);
        else
            host->fqdn = xasprintf("%s.%s", host->name, domain);
    }
}
