/*
 * fakehost - a minimal struct vigil_host for driving the dedupe plugin's
 * hooks in tests without the engine: options filled by the core's own
 * option code, counters, a captured log, and kv_* backed by the core's
 * real SQLite state store (core/store.h) when a state directory is given
 * (kv_* answer VIGIL_EIO otherwise, like a host without a store).
 *
 * Test scaffolding only.
 */
#ifndef VIGIL_TEST_DEDUPE_FAKEHOST_H
#define VIGIL_TEST_DEDUPE_FAKEHOST_H

#include <pthread.h>
#include <stdint.h>

#include "buf.h"
#include "vigil/plugin.h"

struct core_store;

#define FAKE_COUNTERS 32

struct fake_counter_slot {
    char name[64];
    uint64_t value; /* atomic adds */
};

struct fake {
    struct vigil_host host;
    const struct vigil_plugin *plugin;
    void *conf;
    void *state;
    struct core_store *store;
    int64_t kv_fail; /* > 0: that many next kv calls fail with VIGIL_EIO */
    struct fake_counter_slot counters[FAKE_COUNTERS];
    int ncounters;
    pthread_mutex_t mu;
    struct buf log;
};

/* The clock the fake host reports (ms since the epoch); 0 = real time. */
extern int64_t fake_now;

/* Fill conf from options_json (a JSON object text), open the store in
 * state_dir (NULL = none) and create the plugin instance. 0 or -1 with
 * err filled. */
int fake_open(struct fake *f, const char *options_json, const char *state_dir,
              struct vigil_error *err);
/* Destroy the instance, commit and close the store. */
void fake_close(struct fake *f);
/* Commit batched store writes (what the engine does every 100 ms). */
void fake_commit(struct fake *f);
uint64_t fake_counter(struct fake *f, const char *name);
/* Options validation only: returns the number of problems, message of the
 * first in msg. */
int fake_check_options(const char *options_json, char *msg, size_t len);

#endif
