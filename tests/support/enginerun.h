/*
 * enginerun - run a pipeline text in-process on a real loop and engine,
 * for tests: stop when drained (once) or after a delay (like SIGTERM), and
 * collect the statistics.
 */
#ifndef VIGIL_TEST_ENGINERUN_H
#define VIGIL_TEST_ENGINERUN_H

#include <uv.h>

#include "engine_internal.h"

struct er_stage {
    char id[64];
    struct core_stage_stats s;
};

/* A plugin counter (host->counter), read when the run began to stop (the
 * stages, and their counters, are gone once it stopped). */
struct er_counter {
    char stage[64];
    char name[64];
    uint64_t value;
};

struct er_run {
    uv_loop_t loop;
    struct core_engine *e;
    uv_timer_t sampler, deadline, stopper;
    int stopped;
    int timed_out;
    int loop_closed; /* uv_loop_close() result */
    uint64_t lost;
    uint64_t max_inflight;
    uint64_t emitted;
    struct er_stage stages[16];
    int nstages;
    struct er_counter counters[160];
    int ncounters;
};

struct er_env {
    struct core_log log;
    struct core_loader loader;
    char dir[256]; /* temp dir: pipeline dir and state dir */
};

/* Set up a quiet log, a loader over the test and shipped plugins, a temp
 * dir. */
int er_env_init(struct er_env *env, const char *test_plugin_dir, const char *shipped_dir);
void er_env_free(struct er_env *env);

/* Run text. once: stop when drained; stop_after_ms > 0: stop then.
 * deadline_ms bounds the whole run. Returns 0 when it ran and stopped. */
int er_run(struct er_env *env, const char *text, int once, int stop_after_ms, int deadline_ms,
           struct er_run *r);
const struct core_stage_stats *er_stage(const struct er_run *r, const char *id);
/* Value of a plugin counter of stage id; 0 when there is none. */
uint64_t er_counter(const struct er_run *r, const char *stage, const char *name);

/* Lines of a file in env->dir: count, duplicates, and the set of lines
 * (a JSON object used as a set; caller decrefs). */
struct er_lines {
    size_t n;
    size_t dups;
    json_t *set;
    json_t *list; /* lines in order */
};
struct er_lines er_read_lines(const struct er_env *env, const char *name);
void er_lines_free(struct er_lines *l);
void er_remove(const struct er_env *env, const char *name);
void er_write(const struct er_env *env, const char *name, const char *text);

#endif
