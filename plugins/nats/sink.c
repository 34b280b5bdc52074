/*
 * nats sink: publish each document (or alert) as JSON to a JetStream
 * subject; it counts as delivered once the stream acknowledged it.
 *
 * Design (docs/scale-out.md):
 *   - The connection's socket is driven by the engine's loop (uvadapter.c),
 *     so publishing never blocks the loop: a publish appends to nats.c's
 *     buffer and the loop writes it when the socket is writable.
 *   - js_PublishMsgAsync with a per-publish MaxWait (`ack_timeout`). nats.c
 *     calls the acknowledgement handler on one of its threads; the handler
 *     queues the result and wakes the loop (bridge), which calls done().
 *   - Nats-Msg-Id is the delivery id (the document id, or the alert's
 *     delivery id): a retry of a publish whose acknowledgement was lost is
 *     dropped by the stream's duplicate window, not stored twice.
 *   - While the connection is down (or the stream is not there yet),
 *     deliveries are held, not failed: the sink stops answering, the core
 *     stops handing it more than max_inflight, the pipeline fills up and
 *     its sources pause. Nothing burns the retry budget during an outage.
 *   - The stream is looked up (and created) on a short-lived thread: the
 *     JetStream API is blocking and its answers arrive through the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natsx.h"
#include "subject.h"
#include "uvadapter.h"
#include "vigil/plugin.h"

struct sink_conf {
    struct natsx_conf nx;
    char *subject;
    int64_t ack_timeout_ms;
};

static const struct vigil_option sink_options[] = {
    NATSX_OPTIONS(struct sink_conf),
    {"subject", VIGIL_OPT_STR, "vigil.docs.{source}", 0, offsetof(struct sink_conf, subject),
     VIGIL_NOBOUNDS, NULL,
     "subject to publish to; {field} is the document's top-level field (e.g. {source}, {lang})"},
    {"ack_timeout", VIGIL_OPT_DURATION, "5s", 0, offsetof(struct sink_conf, ack_timeout_ms), 100,
     600000, NULL, "wait this long for the stream's acknowledgement, then retry"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

/* One delivery the sink owes an answer for. */
struct pub {
    struct pub *next;               /* held list, or hash chain while published */
    const struct vigil_delivery *d; /* borrowed until done */
    vigil_deliver_cb done;
    void *arg;
    natsMsg *msg; /* key of the in-flight table */
};

/* An acknowledgement (or its absence) reported by nats.c. */
struct ackres {
    struct ackres *next;
    natsMsg *msg;
    int ok, duplicate;
    natsStatus err;
    jsErrCode code;
    char text[200];
};

struct nsink {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct sink_conf *conf;
    struct natsx_uv *uv;
    struct natsx_link link;
    struct natsx_bridge bridge;
    jsCtx *js;
    char pattern[SUBJ_MAX];

    pthread_t setup_thread;
    int setup_started;
    atomic_int stop;
    atomic_int ready; /* the stream exists */

    pthread_mutex_t mu;
    struct ackres *res_head, *res_tail; /* guarded by mu */

    /* loop thread only */
    struct pub *held_head, *held_tail;
    size_t nheld;
    struct pub **table; /* in flight, by message */
    size_t tsize, tcount;
    int holding_logged;
    int stopping;
    struct vigil_counter *c_published, *c_duplicates, *c_errors, *c_held;
};

/* --- the in-flight table ------------------------------------------------------ */

static size_t slot(const struct nsink *s, const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ULL;
    return (size_t)(x >> 32) & (s->tsize - 1);
}

static int table_put(struct nsink *s, struct pub *p)
{
    if (s->tcount >= s->tsize) {
        size_t nsize = s->tsize ? s->tsize * 2 : 64;
        struct pub **nt = calloc(nsize, sizeof *nt);
        if (!nt)
            return VIGIL_ENOMEM;
        struct pub **old = s->table;
        size_t osize = s->tsize;
        s->table = nt;
        s->tsize = nsize;
        for (size_t i = 0; i < osize; i++) {
            struct pub *q = old[i];
            while (q) {
                struct pub *next = q->next;
                size_t k = slot(s, q->msg);
                q->next = nt[k];
                nt[k] = q;
                q = next;
            }
        }
        free(old);
    }
    size_t k = slot(s, p->msg);
    p->next = s->table[k];
    s->table[k] = p;
    s->tcount++;
    return VIGIL_OK;
}

static struct pub *table_take(struct nsink *s, const natsMsg *msg)
{
    if (!s->tsize)
        return NULL;
    struct pub **pp = &s->table[slot(s, msg)];
    while (*pp && (*pp)->msg != msg)
        pp = &(*pp)->next;
    struct pub *p = *pp;
    if (p) {
        *pp = p->next;
        p->next = NULL;
        s->tcount--;
    }
    return p;
}

/* --- publishing (loop thread) ------------------------------------------------------ */

static void finish(struct pub *p, int status, const char *reason)
{
    vigil_deliver_cb done = p->done;
    void *arg = p->arg;
    free(p);
    done(arg, status, -1, reason);
}

static void hold(struct nsink *s, struct pub *p)
{
    p->next = NULL;
    if (s->held_tail)
        s->held_tail->next = p;
    else
        s->held_head = p;
    s->held_tail = p;
    s->nheld++;
    s->host->counter_add(s->c_held, 1);
    /* While the stream is being looked up the setup thread speaks (only if
     * that fails); an unreachable server deserves a line of its own. */
    if (!s->holding_logged && !natsx_link_up(&s->link)) {
        s->holding_logged = 1;
        s->host->log(s->ins, VIGIL_LOG_WARN,
                     "NATS is not reachable: holding deliveries until it is (the pipeline "
                     "pauses when its queue is full; nothing is dropped)");
    }
}

static void publish(struct nsink *s, struct pub *p)
{
    char subject[SUBJ_MAX], reason[300];
    const json_t *payload = p->d->payload;
    if (subj_render(s->conf->subject, payload, subject, sizeof subject) != 0) {
        finish(p, VIGIL_FAILED, "subject too long for this document");
        return;
    }
    char *data = json_dumps(payload, JSON_COMPACT);
    if (!data) {
        finish(p, VIGIL_RETRY, "out of memory");
        return;
    }
    size_t len = strlen(data);
    int64_t max = natsConnection_GetMaxPayload(s->link.nc);
    if (max > 0 && (int64_t)len > max) {
        snprintf(reason, sizeof reason,
                 "%zu bytes of JSON exceed the server's max_payload (%lld bytes)", len,
                 (long long)max);
        free(data);
        finish(p, VIGIL_FAILED, reason);
        return;
    }
    natsMsg *msg = NULL;
    natsStatus st = natsMsg_Create(&msg, subject, NULL, data, (int)len);
    free(data);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(msg, "Nats-Msg-Id", p->d->id);
    if (st != NATS_OK) {
        natsMsg_Destroy(msg);
        natsx_status_text(st, reason, sizeof reason);
        finish(p, VIGIL_RETRY, reason);
        return;
    }
    p->msg = msg;
    if (table_put(s, p) != VIGIL_OK) {
        natsMsg_Destroy(msg);
        finish(p, VIGIL_RETRY, "out of memory");
        return;
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = s->conf->ack_timeout_ms;
    natsMsg *owned = msg; /* cleared by nats.c when it takes the message */
    st = js_PublishMsgAsync(s->js, &owned, &po);
    if (st != NATS_OK) {
        table_take(s, msg);
        natsMsg_Destroy(owned);
        natsx_status_text(st, reason, sizeof reason);
        s->host->counter_add(s->c_errors, 1);
        finish(p, VIGIL_RETRY, reason);
    }
}

static void release_held(struct nsink *s)
{
    if (!s->held_head)
        return;
    /* After an outage that was logged, say it is over; at start-up (the
     * stream lookup) it is routine. */
    s->host->log(s->ins, s->holding_logged ? VIGIL_LOG_INFO : VIGIL_LOG_DEBUG,
                 "publishing %zu held deliveries", s->nheld);
    struct pub *p = s->held_head;
    s->held_head = s->held_tail = NULL;
    s->nheld = 0;
    s->holding_logged = 0;
    while (p) {
        struct pub *next = p->next;
        publish(s, p);
        p = next;
    }
}

static void answer(struct nsink *s, struct ackres *r)
{
    char reason[400];
    struct pub *p = table_take(s, r->msg);
    natsMsg_Destroy(r->msg);
    if (!p)
        return;
    if (r->ok) {
        s->host->counter_add(s->c_published, 1);
        if (r->duplicate)
            s->host->counter_add(s->c_duplicates, 1);
        finish(p, VIGIL_DELIVERED, NULL);
        return;
    }
    s->host->counter_add(s->c_errors, 1);
    int status = VIGIL_RETRY;
    if (r->err == NATS_TIMEOUT) {
        snprintf(reason, sizeof reason, "no acknowledgement from JetStream within %lld ms",
                 (long long)s->conf->ack_timeout_ms);
    } else if (r->err == NATS_NO_RESPONDERS) {
        snprintf(reason, sizeof reason,
                 "no stream takes this subject (is stream '%s' there, with subjects matching "
                 "'%s'?)",
                 s->conf->nx.stream, s->pattern);
    } else if (r->code == JSStreamMessageExceedsMaximumErr) {
        status = VIGIL_FAILED;
        snprintf(reason, sizeof reason, "the stream refuses messages this large: %s", r->text);
    } else if (r->code == JSStreamStoreFailedErr) {
        snprintf(reason, sizeof reason, "the stream is full or cannot store: %s", r->text);
    } else {
        snprintf(reason, sizeof reason, "%s", r->text);
    }
    finish(p, status, reason);
}

/* nats.c's thread: queue the result, wake the loop. The message stays
 * alive until the loop looked it up, so its address cannot be reused by a
 * newer publish in between. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct nsink *s = closure;
    (void)js;
    struct ackres *r = calloc(1, sizeof *r);
    if (!r) {
        natsMsg_Destroy(msg); /* the delivery then times out in the core */
        return;
    }
    r->msg = msg;
    r->ok = pa != NULL && pae == NULL;
    r->duplicate = pa && pa->Duplicate;
    if (pae) {
        r->err = pae->Err;
        r->code = pae->ErrCode;
        snprintf(r->text, sizeof r->text, "%s",
                 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
    }
    pthread_mutex_lock(&s->mu);
    if (s->res_tail)
        s->res_tail->next = r;
    else
        s->res_head = r;
    s->res_tail = r;
    pthread_mutex_unlock(&s->mu);
    natsx_bridge_wake(&s->bridge);
}

static void on_bridge(uv_async_t *h)
{
    struct nsink *s = h->data;
    pthread_mutex_lock(&s->mu);
    struct ackres *r = s->res_head;
    s->res_head = s->res_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (r) {
        struct ackres *next = r->next;
        answer(s, r);
        free(r);
        r = next;
    }
    if (!s->stopping && natsx_link_up(&s->link) && atomic_load(&s->ready))
        release_held(s);
}

/* --- stream setup thread ------------------------------------------------------------ */

static void *setup_main(void *arg)
{
    struct nsink *s = arg;
    char msg[512];
    int64_t last_log = 0;
    while (!atomic_load(&s->stop)) {
        if (!natsx_link_wait(&s->link, &s->stop, 1000))
            continue;
        int rc = natsx_ensure_stream(s->js, &s->conf->nx, msg, sizeof msg);
        if (rc >= 0) {
            if (rc > 0)
                s->host->log(s->ins, rc == 2 ? VIGIL_LOG_WARN : VIGIL_LOG_INFO, "%s", msg);
            atomic_store(&s->ready, 1);
            natsx_bridge_wake(&s->bridge);
            break;
        }
        int64_t now = s->host->now_ms();
        if (now - last_log > 30000) {
            last_log = now;
            s->host->log(s->ins, VIGIL_LOG_WARN, "%s; retrying", msg);
        }
        /* Wait a little, or until told to stop. */
        atomic_int never = 0;
        for (int i = 0; i < 20 && !atomic_load(&s->stop); i++)
            natsx_link_wait(&s->link, &never, 100);
    }
    return NULL;
}

/* --- hooks ----------------------------------------------------------------------------- */

static void sink_free(struct nsink *s);

static int sink_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                       void **state, struct vigil_error *err)
{
    const struct sink_conf *cf = conf;
    char msg[300];
    if (subj_check_template(cf->subject, msg, sizeof msg) != 0)
        return vigil_error_set(err, VIGIL_EINVAL, "option 'subject': %s", msg);
    for (size_t i = 0; i < cf->nx.subjects.n; i++) {
        if (subj_check_filter(cf->nx.subjects.v[i], msg, sizeof msg) != 0)
            return vigil_error_set(err, VIGIL_EINVAL, "option 'subjects': %s", msg);
    }
    struct nsink *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = cf;
    pthread_mutex_init(&s->mu, NULL);
    subj_pattern(cf->subject, s->pattern, sizeof s->pattern);
    if (cf->nx.create) {
        int covered = 0;
        for (size_t i = 0; i < cf->nx.subjects.n; i++)
            covered |= subj_covers(cf->nx.subjects.v[i], s->pattern);
        if (!covered) {
            sink_free(s);
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'subject': \"%s\" is not among the stream's "
                                   "'subjects' (%s%s): nothing would store it",
                                   cf->subject, cf->nx.subjects.v[0],
                                   cf->nx.subjects.n > 1 ? ", ..." : "");
        }
    }
    s->c_published = host->counter(ins, "published", "documents acknowledged by the stream");
    s->c_duplicates = host->counter(ins, "duplicates",
                                    "publishes the stream had already (dropped by Nats-Msg-Id)");
    s->c_errors = host->counter(ins, "publish_errors", "publishes answered with an error");
    s->c_held = host->counter(ins, "held", "deliveries held while NATS or the stream was away");
    if (natsx_bridge_init(&s->bridge, host->loop(ins), on_bridge, s) != VIGIL_OK) {
        sink_free(s);
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot create a loop handle");
    }
    s->uv = natsx_uv_create(host->loop(ins));
    if (!s->uv) {
        sink_free(s);
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot create the event loop adapter");
    }
    int rc = natsx_link_open(&s->link, &cf->nx, host, ins, s->uv, &s->bridge, err);
    if (rc != VIGIL_OK) {
        sink_free(s);
        return rc;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = cf->ack_timeout_ms;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = s;
    jo.PublishAsync.MaxPending = 1 << 20; /* the core's max_inflight is the real bound */
    natsStatus st = natsConnection_JetStream(&s->js, s->link.nc, &jo);
    if (st != NATS_OK) {
        natsx_status_text(st, msg, sizeof msg);
        sink_free(s);
        return vigil_error_set(err, VIGIL_EIO, "cannot create a JetStream context: %s", msg);
    }
    *state = s;
    return VIGIL_OK;
}

static int sink_start(void *state, struct vigil_error *err)
{
    struct nsink *s = state;
    if (pthread_create(&s->setup_thread, NULL, setup_main, s) != 0)
        return vigil_error_set(err, VIGIL_EIO, "cannot start a thread");
    s->setup_started = 1;
    return VIGIL_OK;
}

static int sink_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                        void *arg)
{
    struct nsink *s = state;
    struct pub *p = calloc(1, sizeof *p);
    if (!p)
        return VIGIL_ENOMEM;
    p->d = d;
    p->done = done;
    p->arg = arg;
    if (s->stopping) {
        finish(p, VIGIL_RETRY, "stopping");
        return VIGIL_OK;
    }
    if (!natsx_link_up(&s->link) || !atomic_load(&s->ready) || s->held_head) {
        hold(s, p);
        return VIGIL_OK;
    }
    publish(s, p);
    return VIGIL_OK;
}

static void sink_stop(void *state)
{
    struct nsink *s = state;
    s->stopping = 1;
    atomic_store(&s->stop, 1);
    natsx_link_poke(&s->link);
    /* Held deliveries never got out: the core counts them as lost (or
     * retries them at the next start, for alerts). Published ones finish
     * with their acknowledgement or ack_timeout. */
    struct pub *p = s->held_head;
    s->held_head = s->held_tail = NULL;
    s->nheld = 0;
    while (p) {
        struct pub *next = p->next;
        finish(p, VIGIL_RETRY, "NATS was not available before shutdown");
        p = next;
    }
}

static void sink_free(struct nsink *s)
{
    atomic_store(&s->stop, 1);
    if (s->link.nc) {
        natsx_link_poke(&s->link);
        /* Closing first wakes a setup request waiting for an answer that
         * only this (blocked) loop could read. */
        natsConnection_Close(s->link.nc);
    }
    if (s->setup_started)
        pthread_join(s->setup_thread, NULL);
    jsCtx_Destroy(s->js);
    natsx_link_close(&s->link);
    natsx_uv_release(s->uv);
    natsx_bridge_close(&s->bridge);
    /* Results that arrived after the last pass (none in a clean stop). */
    struct ackres *r = s->res_head;
    while (r) {
        struct ackres *next = r->next;
        natsMsg_Destroy(r->msg);
        free(r);
        r = next;
    }
    for (size_t i = 0; i < s->tsize; i++) {
        struct pub *p = s->table[i];
        while (p) {
            struct pub *next = p->next;
            free(p);
            p = next;
        }
    }
    free(s->table);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void sink_destroy(void *state)
{
    sink_free(state);
}

static const struct vigil_plugin nats_sink = {
    VIGIL_PLUGIN_HEADER,
    .name = "nats",
    .version = "1.0.0",
    .description = "publish documents to a NATS JetStream stream (scale-out fetch tier)",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = sink_options,
    .conf_size = sizeof(struct sink_conf),
    .create = sink_create,
    .start = sink_start,
    .stop = sink_stop,
    .destroy = sink_destroy,
    .deliver = sink_deliver,
};

VIGIL_PLUGIN_EXPORT(nats_sink)
