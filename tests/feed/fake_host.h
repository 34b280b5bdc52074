/*
 * fake_host - a scripted struct vigil_host for plugin-hook tests (tests
 * only; the real host is the core's). Time is manual, timers fire when the
 * test advances the clock, HTTP requests wait until the test answers them,
 * the state store is an in-memory table with TTLs, emitted documents are
 * collected. One fake host at a time per test binary (host functions
 * without an instance argument reach it through a global).
 */
#ifndef VIGIL_TEST_FAKE_HOST_H
#define VIGIL_TEST_FAKE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "vigil/plugin.h"

struct fake_req {
    char *url, *etag, *last_modified;
    int64_t timeout_ms;
    uint64_t max_body;
    vigil_http_cb cb;
    void *arg;
    int canceled; /* http_cancel called: answered by fake_run */
    int answered;
};

struct fake_kv {
    char *key;
    char *val;
    size_t len;
    int64_t expires; /* 0 = never */
};

struct fake_timer_rec;

struct fake_host {
    struct vigil_host host;
    int64_t now;
    int run_once;
    int paused;

    struct fake_kv *kv;
    size_t n_kv, cap_kv;
    size_t kv_puts;
    size_t kv_gets;      /* every kv_get */
    size_t kv_gets_seen; /* kv_get of seen-set keys ("s:...") */

    struct fake_timer_rec **timers;
    size_t n_timers, cap_timers;

    struct fake_req **reqs;
    size_t n_reqs, cap_reqs;

    json_t *docs;     /* every emitted document, in order */
    int eagain_at;    /* emit returns VIGIL_EAGAIN for the doc with this
                         1-based index (0 = never) */
    int emit_fail_at; /* emit returns VIGIL_EIO for this index */

    struct {
        char name[64];
        uint64_t value;
    } counters[64];
    size_t n_counters;

    struct buf logs; /* every log line, "LEVEL message\n" */
};

void fake_init(struct fake_host *f);
void fake_free(struct fake_host *f);
struct vigil_instance *fake_ins(struct fake_host *f);

/* Fire every timer due at the current time (and deliver canceled
 * requests), repeatedly, bounded. */
void fake_run(struct fake_host *f);
/* Advance the clock by ms, firing timers in order of due time. */
void fake_advance(struct fake_host *f, int64_t ms);

/* Requests not answered yet, oldest first. */
size_t fake_pending(const struct fake_host *f);
struct fake_req *fake_pending_req(struct fake_host *f, size_t i);
struct fake_req *fake_find_req(struct fake_host *f, const char *url);
/* Answer a request: HTTP code with body and headers (may be NULL). */
void fake_respond(struct fake_host *f, struct fake_req *r, long code, const char *body,
                  const char *content_type, const char *etag, const char *last_modified,
                  int64_t retry_after_ms);
/* Answer with a transport failure. */
void fake_fail(struct fake_host *f, struct fake_req *r, int status, const char *error);

uint64_t fake_counter(const struct fake_host *f, const char *name);
const char *fake_kv_get(const struct fake_host *f, const char *key);
/* The state record of a target (JSON) for url, or NULL. */
json_t *fake_target_record(const struct fake_host *f, const char *url);

/* A conf struct for plugin pl filled the way the core would: defaults,
 * then overrides given as name, value pairs (NULL-terminated); strlists are
 * '|'-separated. NULL when a value does not parse. Free with
 * fake_conf_free. */
void *fake_conf(const struct vigil_plugin *pl, const char *const *overrides);
void fake_conf_free(const struct vigil_plugin *pl, void *conf);

#endif
