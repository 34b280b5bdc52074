/*
 * core/alerts - the alert policy of a sink: which events of a document
 * become alerts, how coverage of one story is grouped under one alert key,
 * when follow-ups send an update, and the alert payload itself
 * (docs/alerts.md, schema vigil.alert/1).
 *
 * Accepting a document writes to the outbox inside the caller's
 * transaction; delivery happens later from the outbox (core/engine.c).
 */
#ifndef VIGIL_CORE_ALERTS_H
#define VIGIL_CORE_ALERTS_H

#include <stdint.h>

#include "jdiag.h"
#include "outbox.h"
#include "vigil/plugin.h"

struct core_when;

enum core_alert_key_part {
    ALERT_KEY_TYPE = 1,
    ALERT_KEY_ACTOR,
    ALERT_KEY_OBJECT,
    ALERT_KEY_DAY,
    ALERT_KEY_STORY,
    ALERT_KEY_RULE
};

struct core_alert_policy {
    /* filled from the option table */
    struct vigil_strlist key;
    int64_t window_ms;
    json_t *updates_json;
    int64_t update_interval_ms;
    int64_t max_per_hour;
    int64_t digest_ms;
    int64_t retention_ms;
    int64_t max_sources;
    int durability; /* 0 normal, 1 full */
    /* derived */
    int parts[8];
    int nparts;
    int64_t updates[16];
    int nupdates;
};

/* Validate the "alert" object of a sink (at pointer in doc) and fill a new
 * policy. Returns the number of errors added to d; *out is set only on
 * success. */
int core_alert_policy_compile(const json_t *spec, const struct jdoc *doc, const char *pointer,
                              struct core_alert_policy **out, struct diags *d);
void core_alert_policy_free(struct core_alert_policy *p);

/* Where alerts of one sink go. */
struct core_alert_target {
    const char *pipeline;
    const char *sink;
    const struct core_alert_policy *policy;
    const struct core_when *when; /* event-level filters; may be NULL */
    /* Cluster alert grouping (docs/scale-out.md): when set, a key with no
     * local story is claimed cluster-wide as "alert:<id>" (owner: the
     * document id, ttl: the window) before an alert is created. VIGIL_OK
     * = this process owns the story; VIGIL_EEXIST = another worker does
     * (nothing is recorded here); another error fails the accept (the
     * documents wait and are offered again). NULL = local grouping. */
    int (*claim)(void *arg, const char *key, const char *owner, int64_t ttl_ms);
    void *claim_arg;
};

/*
 * Turn a document's matching events into alerts and follow-ups in the
 * outbox (inside a transaction the caller opened). Returns the number of
 * deliveries queued (new alerts and updates), or a negative status.
 */
int core_alerts_accept(struct core_outbox *o, const struct core_alert_target *t,
                       const json_t *doc, int64_t now);

/* Alerts listed in one digest payload; "total" counts them all. */
#define CORE_DIGEST_MAX 100

/* A digest payload for the alerts gathered since the last one (takes
 * alerts): at most CORE_DIGEST_MAX of them listed, "total" and "omitted"
 * say how many there were. */
json_t *core_alerts_digest(const struct core_alert_target *t, json_t *alerts, int64_t from,
                           int64_t to);

#endif
