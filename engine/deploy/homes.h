#ifndef BATOU_HOMES_H
#define BATOU_HOMES_H

/* The target user's home, known before the model is configured, so that
 * "~" and a relative target_directory are absolute in self.workdir and
 * everything derived from it (docs/reference/environment.md,
 * target_directory). engine/cli/ calls these between loading the
 * environment and configuring the model (engine/model/project.h), and
 * after the run.
 *
 * Over SSH each host's home ($HOME of the login, or of the service user
 * through `sudo -H`) is kept in the state cache (engine/state/state.h,
 * "homes"). A host whose home is not cached is asked once, in a short
 * request of its own, every such host at once, within the environment's
 * timeout: a host costs that extra round trip on its first contact only;
 * the deploy goes on in the same connection (homes_take_session). A
 * host that does not answer keeps "~" as written; the deploy then fails to
 * reach it as it would anyway (it is never applied). The deploy's first
 * request checks $HOME again (engine/deploy/connect.c): a home other than
 * the one the model used fails that host, and homes_remember stores the new
 * one, so the next run is right. A local environment needs none of this
 * (environment_local_dirs). */

struct deploy_options;
struct environment;
struct homes;
struct project;

/* Fill env_host.home of every host of p when target_directory needs a
 * home: from the state cache, else, for a host the run o connects to (not
 * ignored, in o->limit), by asking it. Returns what homes_remember needs (free
 * it with homes_free); NULL when no host needs a home. Prints only notices
 * (a damaged cache). */
struct homes *homes_resolve(struct project *p, const struct deploy_options *o);
/* Store the homes learned in this run (asked before the model, or found
 * changed by the deploy) in the state cache; nothing when none was. */
void homes_remember(struct homes *hs);
void homes_free(struct homes *hs);
/* The connection that asked host's home, for the deploy to go on with (no
 * second SSH handshake, no second `ssh -G`), with the login and service
 * user it was made for (*login, *sudo_as: allocated, or NULL); NULL when
 * there is none. The caller owns it, out of any loop. */
struct session;
int homes_has_session(const struct homes *hs, const char *host);
struct session *homes_take_session(struct homes *hs, const char *host, char **login,
                                   char **sudo_as);
/* What the cli does before the model: with run (a run that connects to
 * the hosts), run->homes = homes_resolve(p, run); without, homes_notice
 * unless quiet. */
void homes_before_model(struct project *p, struct deploy_options *run, int quiet);
/* After the run: homes_remember, then homes_free. */
void homes_after_run(struct homes *hs);
/* For commands that connect nowhere (-c, graph --no-state): one notice per
 * host whose paths keep "~" (or a relative target_directory) as written. */
void homes_notice(const struct environment *env);

#endif
