#ifndef BATOU_ENVIRONMENT_SECTIONS_H
#define BATOU_ENVIRONMENT_SECTIONS_H

/* Private to environments/environment*.c: the state of loading one file and
 * the readers of its sections (environment_hosts.c). */

#include <stddef.h>

struct diags;
struct environment;
struct ini_entry;
struct ini_section;

struct env_loader {
    struct environment *env;
    struct diags *d;
    const char *path; /* the file being read, for errors */
    int failed;
};

/* Report an error at path:line:col and remember that loading failed. */
void env_error(struct env_loader *ld, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The value of entry stripped (caller frees), and where it starts. */
char *env_value(const struct ini_entry *entry, int *line, int *col);
/* Read a one-line value (stripped; caller frees), or NULL after an error;
 * line and col as env_value. */
char *env_single_value(struct env_loader *ld, const struct ini_entry *entry, int *line, int *col);
/* Read true/false/yes/no/on/off/1/0 (any case) into *out; -1 if none. */
int env_parse_bool(const char *text, int *out);
/* Report batou's require_sudo (in [environment] or [host:x]) as not
 * supported, naming what batou-ng does instead. */
void env_require_sudo(struct env_loader *ld, const struct ini_entry *entry);
/* Report "unknown key" for entry in section, suggesting among candidates. */
void env_unknown_key(struct env_loader *ld, const struct ini_section *section,
                     const struct ini_entry *entry, const char *const *candidates, size_t count);

void env_read_hosts(struct env_loader *ld, const struct ini_section *section);
void env_read_host(struct env_loader *ld, const struct ini_section *section, const char *name);
void env_read_component(struct env_loader *ld, const struct ini_section *section, const char *name,
                        int secret);
void env_read_resolver(struct env_loader *ld, const struct ini_section *section);
/* Set each host's fqdn from its name and env->host_domain. */
void env_set_fqdns(struct environment *env);

#endif
