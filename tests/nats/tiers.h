/*
 * tiers - helpers for the scale-out tests: write documents and pipelines,
 * run `vigil run` processes as tiers, and read what their collect sinks
 * wrote.
 */
#ifndef VIGIL_TEST_TIERS_H
#define VIGIL_TEST_TIERS_H

#include <jansson.h>

#include "natsd.h"
#include "proc.h"

struct tier_env {
    char dir[200];     /* temp dir of the test */
    const char *vigil; /* $VIGIL_BIN */
};

/* A fresh temp dir. 0 or -1. */
int tier_env_init(struct tier_env *t, const char *name);
void tier_env_free(struct tier_env *t);
const char *tier_path(const struct tier_env *t, const char *name);
void tier_write(const struct tier_env *t, const char *name, const char *text);

/*
 * JSON Lines of n documents d<first>..: each with one event whose object
 * is "C<i>" (or `object` for all when not NULL, one story), and a "key"
 * field "k<i / per_key>".
 */
void tier_write_docs(const struct tier_env *t, const char *name, int first, int n,
                     const char *object, int per_key);

/* Start `vigil run FILE --state-dir STATE [--once]` with OUT=out in its
 * environment (the pipelines name their output files ${OUT}.*). */
int tier_start(const struct tier_env *t, struct proc *p, const char *pipeline, const char *state,
               const char *out, int once);

/* Read available output of processes so their pipes never fill. */
void tier_pump(struct proc *const *ps, int n);

/* Lines of a file: count, duplicates, set. */
struct tier_lines {
    size_t n, dups;
    json_t *set;
};
struct tier_lines tier_read(const struct tier_env *t, const char *name);
void tier_lines_free(struct tier_lines *l);
/* Distinct lines over several files. */
size_t tier_distinct(const struct tier_env *t, const char *const *names, int n);

/* The id the core gives the alert of key "ack|RU|<object>" of a sink. */
void tier_alert_id(const char *pipeline, const char *sink, const char *object, char out[17]);

long long tier_now_ms(void);

#endif
