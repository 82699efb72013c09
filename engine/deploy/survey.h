#ifndef BATOU_SURVEY_H
#define BATOU_SURVEY_H

/* A survey: the read-only part of a deploy run (engine/deploy/deploy.h) for
 * `batou-ng status` and `batou-ng graph`. It connects every host, reads its
 * manifest without taking the lock, hashes the graph and computes the dirty
 * set exactly as `-n` does (checks on hosts whose state is unknown, on every
 * node with --verify), and keeps what it found instead of printing it. It
 * writes nothing: no lock, no manifest, no run history. */

#include "engine/deploy/manifest.h"
#include "engine/graph/export.h"

#include <stddef.h>

struct deploy_options;
struct project;

struct survey_host {
    const char *name;         /* points into the project's environment */
    char *error;              /* why it could not be read, or NULL */
    char *statedir;           /* its target state directory */
    char *work;               /* its work directory, as the model writes it */
    struct manifest manifest; /* as read from the target */
    size_t in_model;          /* its nodes in the model (not ignored) */
    size_t dirty, drift;
};

struct survey {
    struct node_mark *nodes; /* one per graph node */
    size_t nnodes;
    struct survey_host *hosts; /* the hosts not ignored, in environment order */
    size_t nhosts;
    size_t unreachable; /* hosts with an error */
    size_t ndeploy;     /* nodes not ignored */
    char *commit;       /* the project's git HEAD, as output shows it ("1a2b3c4+dirty", "no git") */
};

/* Survey project p (loaded) with o (verify and verify_level count; the run is
 * read-only and quiet whatever o says). Returns 0; 1 when a host could not
 * be read (its error is in s, not printed) or the run was interrupted; 2 for a
 * configuration error (reported). s is filled unless 2; release it always. */
int deploy_survey(struct project *p, const struct deploy_options *o, struct survey *s);
void survey_release(struct survey *s);
/* Print one line per distinct host error on stderr:
 * "batou-ng: <kind>: HOST, HOST: error<suffix>" (an error several hosts share
 * is one line). */
void survey_report_errors(const struct survey *s, const char *kind, const char *suffix);

#endif
