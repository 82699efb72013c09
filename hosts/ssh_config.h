#ifndef BATOU_SSH_CONFIG_H
#define BATOU_SSH_CONFIG_H

/* What ~/.ssh/config (or a project's ssh_config, like `ssh -F`) says about a
 * host, exactly as OpenSSH reads it: where the ssh client is installed, the
 * options `ssh -G` resolves (Host, Match, Include, ProxyJump); otherwise our
 * own parser of Host blocks and the common keys. "~" means $HOME, so a
 * controller run with another HOME uses that HOME's keys and known_hosts. */

struct ssh_config_query;
struct ssh_options;

/* Fill o (released by the caller with ssh_options_release) for host, reading
 * config_file when not NULL. 0, or -1 with *err (allocated). */
int ssh_config_resolve(const char *host, const char *config_file, struct ssh_options *o,
                       char **err);
/* Start asking about host (`ssh -G` runs meanwhile), so that many hosts are
 * asked at once; never NULL. Answer it, or free it. */
struct ssh_config_query *ssh_config_ask(const char *host, const char *config_file);
/* ssh_config_resolve's result for q's host, once its answer is in; frees q. */
int ssh_config_answer(struct ssh_config_query *q, struct ssh_options *o, char **err);
/* Forget q unanswered. NULL is fine. */
void ssh_config_query_free(struct ssh_config_query *q);
/* The same with our own parser only (what happens without an ssh client). */
int ssh_config_parse(const char *host, const char *config_file, struct ssh_options *o, char **err);

#endif
