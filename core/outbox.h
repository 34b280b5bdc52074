/*
 * core/outbox - durable alert storage in the state database.
 *
 * Three tables in the same SQLite file as the kv store (WAL):
 *   alerts        one row per story (alert key): count, sources, payload
 *   outbox        deliveries waiting or done, in insertion order (seq)
 *   dead_letters  deliveries that failed for good
 *
 * A document's alert is committed here before the document counts as
 * handled, and a delivery row is marked delivered only after the channel
 * confirmed it; so after a crash at any moment every accepted alert is
 * delivered at least once (docs/alerts.md).
 *
 * Every function runs a short transaction (or joins the one opened with
 * core_outbox_begin) under the store's lock. Loop thread in the engine;
 * any thread is safe.
 */
#ifndef VIGIL_CORE_OUTBOX_H
#define VIGIL_CORE_OUTBOX_H

#include <stdint.h>

#include <jansson.h>

#include "store.h"

struct core_outbox;

/* Create the tables if needed. The outbox borrows the store. */
int core_outbox_open(struct core_store *s, int full_sync, struct core_outbox **out,
                     struct vigil_error *err);
void core_outbox_close(struct core_outbox *o);

/* A transaction around several calls (accepting a batch of documents). */
int core_outbox_begin(struct core_outbox *o);
int core_outbox_commit(struct core_outbox *o);
void core_outbox_rollback(struct core_outbox *o);

/* Story state. */
struct core_alert_row {
    char id[32];
    char *key;        /* owned */
    int64_t created;  /* ms */
    int64_t updated;
    int64_t expires;  /* end of the grouping window */
    int64_t count;
    int64_t last_threshold;  /* highest update threshold already sent */
    int64_t last_update_at;  /* when the last update was queued */
    json_t *payload;  /* owned: the alert as last built */
};
void core_alert_row_free(struct core_alert_row *r);

/* VIGIL_OK (row filled) or VIGIL_ENOTFOUND (no live alert for id). */
int core_outbox_alert_get(struct core_outbox *o, const char *id, int64_t now,
                          struct core_alert_row *out);
int core_outbox_alert_put(struct core_outbox *o, const char *pipeline, const char *sink,
                          const struct core_alert_row *row);

/* Queue a delivery; state "pending" (deliver) or "digest" (wait for the
 * next digest). A delivery_id already queued is left alone (idempotent). */
int core_outbox_enqueue(struct core_outbox *o, const char *pipeline, const char *sink,
                        const char *alert_id, const char *delivery_id, const char *kind,
                        const json_t *payload, int digest, int64_t now);

/* Deliveries. */
struct core_outbox_item {
    int64_t seq;
    char delivery_id[64];
    char kind[16];
    int64_t attempts;
    int64_t created;
    json_t *payload; /* owned */
};

/* Up to max pending items of (pipeline, sink) with seq > after_seq whose
 * next attempt is due at now, in seq order. Returns the count (>= 0) or a
 * negative status. */
int core_outbox_next(struct core_outbox *o, const char *pipeline, const char *sink,
                     int64_t after_seq, int64_t now, struct core_outbox_item *items, int max);
void core_outbox_item_free(struct core_outbox_item *it);

int core_outbox_mark_delivered(struct core_outbox *o, int64_t seq, int64_t now);
int core_outbox_mark_retry(struct core_outbox *o, int64_t seq, int64_t attempts,
                           int64_t next_attempt, const char *error);
int core_outbox_mark_dead(struct core_outbox *o, int64_t seq, int64_t attempts, const char *error,
                          int64_t now);

/* Pending deliveries of a sink (NULL pipeline/sink = all): count and the
 * creation time of the oldest (0 if none). */
int core_outbox_pending(struct core_outbox *o, const char *pipeline, const char *sink,
                        int64_t *count, int64_t *oldest);
/* Delivered rows (within retention) and dead letters of a sink. */
int core_outbox_counts(struct core_outbox *o, const char *pipeline, const char *sink,
                       int64_t *delivered, int64_t *dead);
/* Earliest next attempt among pending items of a sink (0 if none). */
int64_t core_outbox_next_due(struct core_outbox *o, const char *pipeline, const char *sink);

/* Digest: take every "digest" row of a sink (marking them digested) and
 * return their payloads as a new array (NULL if none). */
json_t *core_outbox_digest_take(struct core_outbox *o, const char *pipeline, const char *sink,
                                int64_t now);

/* Delete delivered rows and dead letters older than retention_ms, and
 * stories whose window ended more than retention_ms ago. */
int core_outbox_purge(struct core_outbox *o, int64_t now, int64_t retention_ms);

/* For `vigil alerts`: rows as JSON objects (seq, delivery_id, alert_id,
 * pipeline, sink, kind, state, attempts, created, next_attempt,
 * delivered_at, last_error[, payload]). state: "pending", "delivered",
 * "dead", "digest" or NULL for all. */
json_t *core_outbox_list(struct core_outbox *o, const char *state, int64_t since, int limit,
                         int with_payload);
/* One delivery (by delivery id, alert id prefix, or seq) with payload. */
json_t *core_outbox_show(struct core_outbox *o, const char *id);
/* Requeue dead letters (id, or all when id is NULL) as pending; returns how
 * many. */
int core_outbox_requeue(struct core_outbox *o, const char *id, int64_t now);

#endif
