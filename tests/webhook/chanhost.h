/*
 * chanhost - test scaffolding for sink plugins: a struct vigil_host backed
 * by a real libuv loop and the real shared HTTP client (core/http.c, mail
 * included), with captured log lines and counters. Options are validated
 * and filled by the core's own option code (core/options.c), so a stage is
 * configured exactly as a pipeline file would configure it.
 *
 * Used by the channel tests (webhook, slack, email, file, exec). The test
 * binary calls curl_global_init() first, as main() does.
 */
#ifndef VIGIL_TEST_CHANHOST_H
#define VIGIL_TEST_CHANHOST_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"
#include "vigil/plugin.h"

struct core_http;

#define CHANHOST_COUNTERS 64

struct chanhost {
    struct vigil_host host; /* the table plugins receive */
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking long */
    struct core_http *http;
    struct buf log; /* every log line: "LEVEL message\n" */
    struct chanhost_counter {
        char name[64];
        uint64_t value;
    } counters[CHANHOST_COUNTERS]; /* handed out as struct vigil_counter * */
    size_t ncounters;
    int stopping;
    int http_closed;
    char dir[256]; /* a fresh temporary directory (state_dir, files) */
};

/* 0, or -1 (message on stderr). */
int chanhost_init(struct chanhost *h);
/* Close the client, run the loop dry, close it and remove dir. Returns 0
 * when the loop closed cleanly (every handle released). */
int chanhost_fini(struct chanhost *h);

/* Value of the counter a plugin registered under name; 0 if none. */
uint64_t chanhost_counter(struct chanhost *h, const char *name);
/* Run the loop until *flag != 0 or timeout_ms passed; 0 when reached. */
int chanhost_run_until(struct chanhost *h, const int *flag, int timeout_ms);
/* Run the loop for about ms milliseconds. */
void chanhost_run_for(struct chanhost *h, int ms);
/* The instance handle plugins get for this host. */
struct vigil_instance *chanhost_ins(struct chanhost *h);

/* One configured stage of a sink plugin. */
struct chanstage {
    struct chanhost *h;
    const struct vigil_plugin *p;
    void *conf;
    void *state;
    int stopped;
};

/* Validate options_json (a JSON object as text; NULL = no options) with the
 * core's option code, then call create. 0, or -1 with err filled by either
 * step. */
int chanstage_create(struct chanstage *st, struct chanhost *h, const struct vigil_plugin *p,
                     const char *options_json, char *err, size_t errlen);
/* stop (unless done), run the loop until every callback fired (bounded),
 * destroy, free conf. */
void chanstage_destroy(struct chanstage *st);
void chanstage_stop(struct chanstage *st);
/* stop (unless done) and destroy at once, without running the loop: what
 * is still in flight must finish on its own. */
void chanstage_destroy_now(struct chanstage *st);

/* One delivery and its outcome. The delivery struct lives here, so it stays
 * valid until done is called. */
struct chanresult {
    struct vigil_delivery d;
    json_t *payload; /* a reference, released by chanresult_clear */
    char id[256];
    char kind[16];
    int rc;    /* what deliver() returned */
    int calls; /* done calls (must end at 1) */
    int status;
    int64_t retry_after_ms;
    char reason[2048];
    int64_t done_ms; /* loop time when done ran */
};

/* Start a delivery (payload is borrowed: a reference is taken). Returns
 * deliver()'s status (also in r->rc). */
int chanstage_start(struct chanstage *st, struct chanresult *r, const json_t *payload,
                    const char *id, const char *kind, uint32_t attempt);
/* Start, then run the loop until done (at most timeout_ms). */
int chanstage_deliver(struct chanstage *st, struct chanresult *r, const json_t *payload,
                      const char *id, const char *kind, uint32_t attempt, int timeout_ms);
/* Run until every result in rs[0..n) has been answered. 0 or -1. */
int chanstage_wait(struct chanstage *st, struct chanresult *rs, size_t n, int timeout_ms);
/* Run the plugin's flush hook (if any) to completion; its status, or 1
 * when the plugin has none. */
int chanstage_flush(struct chanstage *st, int timeout_ms);
void chanresult_clear(struct chanresult *r);

/* Parse JSON text (test fixtures); NULL and a message on stderr if bad. */
json_t *chan_json(const char *text);
/* Load tests/webhook/fixtures/<name> (alert.json, update.json, digest.json,
 * alert_special.json, document.json, document_plain.json). */
json_t *chan_fixture(const char *name);

#endif
