/*
 * core/engine_alerts - sinks with an alert policy.
 *
 * Documents routed to such a sink are not handed to the plugin. They are
 * turned into alerts and written to the outbox in one transaction per pump
 * pass (core_alerts_accept); only then does the document count as handled.
 * Deliveries then flow from the outbox to the plugin, oldest first, at most
 * max_inflight at once. A RETRY blocks the sink until the retry time so the
 * order holds; exhausted retries and permanent failures go to the dead
 * letters. Nothing is kept in memory beyond the deliveries in flight, so a
 * sink that is down for days costs disk, not memory.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "cluster.h"
#include "engine_internal.h"
#include "outbox.h"

#define ACCEPT_RETRY_MS 1000

struct alert_flight {
    struct alert_flight *next;
    struct core_alertsink *as;
    struct core_outbox_item item;
    struct vigil_delivery d;
    int result;
    int64_t retry_after_ms;
    char reason[256];
};

struct core_alertsink {
    struct vigil_instance *sink;
    struct core_alert_target target;
    int64_t cursor;        /* highest seq handed out while flights run */
    int dirty;             /* the outbox may hold something to deliver */
    int blocked;           /* waiting for blocked_until (a retry) */
    int64_t blocked_until;
    int64_t accept_retry_at;
    size_t flying;
    struct alert_flight *done_head, *done_tail;
    double tokens;         /* max_per_hour rate limit */
    int64_t tokens_at;
    uv_timer_t *wake;
    uv_timer_t *digest_timer;
    int64_t digest_from;
    int64_t last_error_log;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct core_outbox *core_engine_outbox(struct core_engine *e)
{
    if (e->outbox || e->outbox_failed)
        return e->outbox;
    struct core_store *s = core_engine_store(e);
    if (!s) {
        e->outbox_failed = 1;
        return NULL;
    }
    struct vigil_error err = {0};
    int full = 0;
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        for (size_t i = 0; i < pl->def->nsinks; i++) {
            if (pl->def->sinks[i].policy && pl->def->sinks[i].policy->durability)
                full = 1;
        }
    }
    if (core_outbox_open(s, full, &e->outbox, &err) != VIGIL_OK) {
        core_log_error(e->cfg.log, "outbox", "%s", err.msg);
        e->outbox_failed = 1;
    }
    return e->outbox;
}

/* Alert keys are claimed in a namespace of their own: the alert id already
 * names the pipeline and the sink. */
static int cluster_claim(void *arg, const char *key, const char *owner, int64_t ttl_ms)
{
    return core_cluster_claim_as(arg, "alerts", key, owner, ttl_ms);
}

static void on_wake(uv_timer_t *t)
{
    struct core_alertsink *as = t->data;
    as->dirty = 1; /* the pump runs right after timers */
}

static void arm_wake(struct core_alertsink *as, int64_t at)
{
    int64_t delay = at - now_ms();
    if (!as->wake)
        return;
    uv_timer_start(as->wake, on_wake, (uint64_t)(delay > 0 ? delay : 0), 0);
}

static void on_digest(uv_timer_t *t)
{
    struct core_alertsink *as = t->data;
    core_alertsink_flush(as->sink);
}

int core_alertsink_init(struct vigil_instance *sink)
{
    struct core_engine *e = sink->pl->eng;
    struct core_alertsink *as = calloc(1, sizeof *as);
    if (!as)
        return VIGIL_ENOMEM;
    as->sink = sink;
    as->target.pipeline = sink->pl->def->name;
    as->target.sink = sink->def->id;
    as->target.policy = sink->def->policy;
    as->target.when = sink->def->when;
    if (e->cluster) {
        as->target.claim = cluster_claim;
        as->target.claim_arg = e->cluster;
    }
    as->dirty = 1; /* deliver what a previous run left behind */
    as->tokens = (double)sink->def->policy->max_per_hour;
    as->tokens_at = now_ms();
    as->digest_from = now_ms();
    as->wake = malloc(sizeof *as->wake);
    if (as->wake) {
        uv_timer_init(e->loop, as->wake);
        as->wake->data = as;
        uv_unref((uv_handle_t *)as->wake);
    }
    if (sink->def->policy->digest_ms > 0) {
        as->digest_timer = malloc(sizeof *as->digest_timer);
        if (as->digest_timer) {
            uv_timer_init(e->loop, as->digest_timer);
            as->digest_timer->data = as;
            uv_timer_start(as->digest_timer, on_digest, (uint64_t)sink->def->policy->digest_ms,
                           (uint64_t)sink->def->policy->digest_ms);
            uv_unref((uv_handle_t *)as->digest_timer);
        }
    }
    sink->alerts = as;
    if (!core_engine_outbox(e))
        core_log_write(e->cfg.log, VIGIL_LOG_ERROR, sink->pl->def->name, sink->def->id,
                       "the alert outbox is unavailable: alerts will wait and sources pause");
    return VIGIL_OK;
}

/* Documents waiting in front of the sink go into the outbox, all in one
 * transaction; then they count as handled. */
int core_alertsink_accept(struct vigil_instance *sink)
{
    struct core_alertsink *as = sink->alerts;
    struct core_engine *e = sink->pl->eng;
    int64_t now = now_ms();
    if (!as || sink->q.n == 0 || now < as->accept_retry_at)
        return 0;
    struct core_outbox *o = core_engine_outbox(e);
    int rc = o ? core_outbox_begin(o) : VIGIL_EIO;
    int queued = 0;
    struct core_delivery *dl;
    if (rc == VIGIL_OK) {
        for (dl = sink->q.head; dl && rc >= 0; dl = dl->next) {
            rc = core_alerts_accept(o, &as->target, dl->doc->json, now);
            if (rc > 0)
                queued += rc;
        }
        if (rc >= 0)
            rc = core_outbox_commit(o);
        else
            core_outbox_rollback(o);
    }
    if (rc < 0) {
        /* Keep the documents: the sink stalls, the pipeline fills up and
         * the sources pause. Nothing is dropped. */
        as->accept_retry_at = now + ACCEPT_RETRY_MS;
        arm_wake(as, as->accept_retry_at);
        if (now - as->last_error_log > 60000) {
            as->last_error_log = now;
            core_log_write(e->cfg.log, VIGIL_LOG_ERROR, sink->pl->def->name, sink->def->id,
                           "cannot write alerts to the outbox (%s); %zu documents wait",
                           vigil_strerror(rc), sink->q.n);
        }
        return 0;
    }
    size_t n = 0;
    while ((dl = sink->q.head) != NULL) {
        sink->q.head = dl->next;
        if (!sink->q.head)
            sink->q.tail = NULL;
        sink->q.n--;
        core_engine_finish_delivery(dl, VIGIL_OK);
        n++;
    }
    if (queued)
        as->dirty = 1;
    return n > 0;
}

static void flight_done(void *arg, int status, int64_t retry_after_ms, const char *reason)
{
    struct alert_flight *f = arg;
    struct core_alertsink *as = f->as;
    f->result = status;
    f->retry_after_ms = retry_after_ms;
    snprintf(f->reason, sizeof f->reason, "%s", reason ? reason : "");
    as->sink->outstanding--;
    f->next = NULL;
    if (as->done_tail)
        as->done_tail->next = f;
    else
        as->done_head = f;
    as->done_tail = f;
}

static int64_t backoff(struct core_engine *e, const struct core_stage_def *def, int64_t attempt)
{
    int64_t ceiling = def->retry_base_ms;
    for (int64_t i = 1; i < attempt && ceiling < def->retry_cap_ms; i++)
        ceiling *= 2;
    if (ceiling > def->retry_cap_ms)
        ceiling = def->retry_cap_ms;
    return ceiling > 0 ? (int64_t)(core_engine_random(e) % (uint64_t)(ceiling + 1)) : 0;
}

/* Results of deliveries: record them in the outbox. */
static int handle_results(struct core_alertsink *as)
{
    struct vigil_instance *sink = as->sink;
    struct core_engine *e = sink->pl->eng;
    struct core_outbox *o = e->outbox;
    int progress = 0;
    while (as->done_head) {
        struct alert_flight *f = as->done_head;
        as->done_head = f->next;
        if (!as->done_head)
            as->done_tail = NULL;
        int64_t now = now_ms();
        int64_t attempts = f->item.attempts + 1;
        int stopping = sink->pl->phase >= PL_FLUSHING || sink->phase != INS_STARTED;
        as->flying--;
        progress = 1;
        if (f->result == VIGIL_DELIVERED) {
            sink->n_out++;
            core_outbox_mark_delivered(o, f->item.seq, now);
        } else if (f->result == VIGIL_RETRY && stopping) {
            /* Shutdown canceled it: it stays pending for the next start. */
            core_outbox_mark_retry(o, f->item.seq, f->item.attempts, now, f->reason);
        } else if (f->result == VIGIL_RETRY && attempts <= sink->def->retry_limit) {
            int64_t next = now + (f->retry_after_ms > 0 ? f->retry_after_ms
                                                        : backoff(e, sink->def, attempts));
            sink->n_retries++;
            core_outbox_mark_retry(o, f->item.seq, attempts, next, f->reason);
            core_log_write(e->cfg.log, VIGIL_LOG_INFO, sink->pl->def->name, sink->def->id,
                           "alert %s: attempt %lld failed (%s); retrying in %lld ms",
                           f->item.delivery_id, (long long)attempts,
                           f->reason[0] ? f->reason : "temporary failure",
                           (long long)(next - now));
            /* Hold later alerts back so they keep their order. */
            if (!as->blocked || next > as->blocked_until)
                as->blocked_until = next;
            as->blocked = 1;
        } else {
            sink->n_failed++;
            core_outbox_mark_dead(o, f->item.seq, attempts, f->reason, now);
            core_log_write(e->cfg.log, VIGIL_LOG_ERROR, sink->pl->def->name, sink->def->id,
                           "alert %s moved to the dead letters after %lld attempt%s: %s "
                           "(`vigil alerts retry %s` sends it again)",
                           f->item.delivery_id, (long long)attempts, attempts == 1 ? "" : "s",
                           f->reason[0] ? f->reason : "permanent failure", f->item.delivery_id);
        }
        core_outbox_item_free(&f->item);
        free(f);
        as->dirty = 1;
    }
    return progress;
}

static int take_token(struct core_alertsink *as, int64_t now)
{
    int64_t rate = as->sink->def->policy->max_per_hour;
    if (rate <= 0)
        return 1;
    as->tokens += (double)(now - as->tokens_at) * (double)rate / 3600000.0;
    as->tokens_at = now;
    if (as->tokens > (double)rate)
        as->tokens = (double)rate;
    if (as->tokens < 1.0) {
        arm_wake(as, now + (int64_t)((1.0 - as->tokens) * 3600000.0 / (double)rate) + 1);
        return 0;
    }
    as->tokens -= 1.0;
    return 1;
}

int core_alertsink_dispatch(struct vigil_instance *sink)
{
    struct core_alertsink *as = sink->alerts;
    struct core_engine *e = sink->pl->eng;
    int progress = 0;
    if (!as)
        return 0;
    if (as->done_head)
        progress |= handle_results(as);
    if (!e->outbox || sink->phase != INS_STARTED || sink->pl->phase >= PL_FLUSHING)
        return progress;
    int64_t now = now_ms();
    if (as->blocked) {
        if (now < as->blocked_until || as->flying > 0) {
            if (as->flying == 0)
                arm_wake(as, as->blocked_until);
            return progress;
        }
        as->blocked = 0;
        as->dirty = 1;
    }
    if (!as->dirty)
        return progress;
    if (as->flying == 0)
        as->cursor = 0; /* nothing in flight: start again from the oldest */
    size_t room = (size_t)sink->def->max_inflight - as->flying;
    if (room == 0)
        return progress;
    struct core_outbox_item items[64];
    int max = room < 64 ? (int)room : 64;
    int n = core_outbox_next(e->outbox, as->target.pipeline, as->target.sink, as->cursor, now,
                             items, max);
    if (n <= 0) {
        as->dirty = 0;
        /* Something may become due later (a retry left by a previous run). */
        if (as->flying == 0) {
            int64_t due = core_outbox_next_due(e->outbox, as->target.pipeline, as->target.sink);
            if (due > now)
                arm_wake(as, due);
        }
        return progress;
    }
    for (int i = 0; i < n; i++) {
        if (!take_token(as, now)) {
            for (int k = i; k < n; k++)
                core_outbox_item_free(&items[k]);
            as->dirty = 0;
            return progress;
        }
        struct alert_flight *f = calloc(1, sizeof *f);
        if (!f) {
            core_outbox_item_free(&items[i]);
            continue;
        }
        f->as = as;
        f->item = items[i];
        f->d.struct_size = sizeof f->d;
        f->d.payload = f->item.payload;
        f->d.id = f->item.delivery_id;
        f->d.attempt = (uint32_t)f->item.attempts + 1;
        f->d.kind = "alert";
        as->cursor = f->item.seq;
        as->flying++;
        sink->outstanding++;
        progress = 1;
        int rc = sink->p->deliver(sink->state, &f->d, flight_done, f);
        if (rc != VIGIL_OK)
            flight_done(f, rc == VIGIL_EAGAIN ? VIGIL_RETRY : VIGIL_FAILED, -1,
                        vigil_strerror(rc));
    }
    if (n < max)
        as->dirty = 0;
    return progress;
}

int core_alertsink_idle(struct vigil_instance *sink)
{
    struct core_alertsink *as = sink->alerts;
    struct core_engine *e = sink->pl->eng;
    if (!as)
        return 1;
    if (as->flying || as->done_head || sink->q.n)
        return 0;
    if (!e->outbox)
        return 1;
    int64_t count = 0;
    core_outbox_pending(e->outbox, as->target.pipeline, as->target.sink, &count, NULL);
    return count == 0;
}

void core_alertsink_flush(struct vigil_instance *sink)
{
    struct core_alertsink *as = sink->alerts;
    struct core_engine *e = sink->pl->eng;
    if (!as || !e->outbox || sink->def->policy->digest_ms <= 0)
        return;
    int64_t now = now_ms();
    json_t *alerts = core_outbox_digest_take(e->outbox, as->target.pipeline, as->target.sink, now);
    if (!alerts)
        return;
    json_t *digest = core_alerts_digest(&as->target, alerts, as->digest_from, now);
    as->digest_from = now;
    const char *id = json_string_value(json_object_get(digest, "id"));
    core_outbox_enqueue(e->outbox, as->target.pipeline, as->target.sink, id, id, "digest", digest,
                        0, now);
    json_decref(digest);
    as->dirty = 1;
}

int64_t core_alertsink_pending(struct vigil_instance *sink)
{
    struct core_alertsink *as = sink->alerts;
    int64_t count = 0;
    if (as && sink->pl->eng->outbox)
        core_outbox_pending(sink->pl->eng->outbox, as->target.pipeline, as->target.sink, &count,
                            NULL);
    return count;
}

void core_alertsink_close(struct vigil_instance *sink)
{
    struct core_alertsink *as = sink->alerts;
    if (!as)
        return;
    handle_results(as);
    if (as->wake)
        uv_close((uv_handle_t *)as->wake, (uv_close_cb)free);
    if (as->digest_timer)
        uv_close((uv_handle_t *)as->digest_timer, (uv_close_cb)free);
    free(as);
    sink->alerts = NULL;
}

void core_engine_alerts_wake(struct core_engine *e)
{
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        for (size_t i = 0; i < pl->def->nsinks; i++) {
            if (pl->sinks[i].alerts)
                pl->sinks[i].alerts->dirty = 1;
        }
    }
}
