/*
 * nats source: take documents from a JetStream stream through a durable
 * pull consumer shared by every worker that names it, and ack each message
 * only once the document has left this pipeline (docs/scale-out.md).
 *
 * Design:
 *   - nats.c's pull Fetch blocks, so a thread of this plugin fetches, parses
 *     the JSON and queues the documents; a bridge (uv_async_t) wakes the
 *     loop, which emits them with host->emit_tracked. Emitting happens on
 *     the loop thread only.
 *   - The ack callback of emit_tracked runs when the document left the
 *     pipeline (every sink delivered it, or its alert is in the outbox, or
 *     a stage dropped it on purpose): then the message is acked. On an
 *     error it is nacked with a delay (`nak_delay`), and terminated after
 *     `max_deliver` deliveries so a poison document cannot loop for ever.
 *   - Backpressure: the fetch thread asks only for what fits under
 *     `max_ack_pending` messages held by this worker (fetched and not yet
 *     acked), and not at all while the pipeline is paused. The consumer's
 *     MaxAckPending (cluster-wide) is the same option.
 *   - Messages held longer than a third of `ack_wait` are marked in
 *     progress, so JetStream redelivers only the messages of a worker that
 *     died (after ack_wait), not those waiting in a busy one.
 *   - The connection uses nats.c's own I/O threads: the loop only sends
 *     small acks, and at shutdown the last acks are flushed with a blocking
 *     flush, which needs a reader other than the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "natsx.h"
#include "subject.h"
#include "vigil/plugin.h"

struct source_conf {
    struct natsx_conf nx;
    char *consumer;
    char *filter;
    int64_t batch;
    int64_t max_ack_pending;
    int64_t ack_wait_ms;
    int64_t max_deliver;
    int64_t nak_delay_ms;
    int64_t fetch_wait_ms;
};

#define SC(f) offsetof(struct source_conf, f)
static const struct vigil_option source_options[] = {
    NATSX_OPTIONS(struct source_conf),
    {"consumer", VIGIL_OPT_STR, "vigil", 0, SC(consumer), VIGIL_NOBOUNDS, NULL,
     "durable consumer name; every worker with the same name shares the work"},
    {"filter", VIGIL_OPT_STR, NULL, 0, SC(filter), VIGIL_NOBOUNDS, NULL,
     "only messages on subjects matching this (when the consumer is created)"},
    {"batch", VIGIL_OPT_INT, "64", 0, SC(batch), 1, 4096, NULL, "messages asked for per fetch"},
    {"max_ack_pending", VIGIL_OPT_INT, "4096", 0, SC(max_ack_pending), 1, 1000000, NULL,
     "messages a worker holds unacked (and the consumer's MaxAckPending, for all workers): set "
     "it to about the pipeline's queue_high"},
    {"ack_wait", VIGIL_OPT_DURATION, "30s", 0, SC(ack_wait_ms), 1000, 86400000, NULL,
     "a message not acked (nor marked in progress) this long after delivery goes to another "
     "worker: the recovery time after a worker dies"},
    {"max_deliver", VIGIL_OPT_INT, "10", 0, SC(max_deliver), 1, 1000000, NULL,
     "deliveries of one message before it is given up (terminated)"},
    {"nak_delay", VIGIL_OPT_DURATION, "5s", 0, SC(nak_delay_ms), 0, 3600000, NULL,
     "a document that failed in the pipeline is offered again after this"},
    {"fetch_wait", VIGIL_OPT_DURATION, "1s", 0, SC(fetch_wait_ms), 50, 60000, NULL,
     "longest wait of one fetch when the stream is empty (also bounds shutdown)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

/* A pull subscription and the messages fetched through it: nats.c acks a
 * message through its subscription, so a subscription lives until its last
 * message is answered, even after the fetch thread replaced it. */
struct fsub {
    natsSubscription *sub;
    int refs; /* the fetch thread's while current, plus one per message (mu) */
};

struct inmsg {
    struct inmsg *next, *prev;
    struct nsource *s;
    struct fsub *fs;
    natsMsg *msg;
    json_t *doc;        /* NULL when the payload is not a JSON object */
    char err[240];      /* why, then */
    uint64_t delivered; /* deliveries so far, this one included */
    uint64_t seq;       /* stream sequence, for messages */
    int64_t touched;    /* last delivery or in-progress mark, ms */
};

struct nsource {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct source_conf *conf;
    struct natsx_link link;
    struct natsx_bridge bridge;
    jsCtx *js;

    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int exited;

    pthread_mutex_t mu;
    pthread_cond_t cond;             /* credits freed, resumed, stopping */
    struct inmsg *in_head, *in_tail; /* fetched, not emitted (mu) */
    int64_t held;                    /* fetched and not finished (mu) */
    int paused;                      /* (mu) */

    /* loop thread only */
    struct inmsg *fly; /* emitted, waiting for their ack */
    int local_pause;   /* emit said EAGAIN */
    int stopping;
    int in_pass;
    vigil_pass_cb pass_done;
    void *pass_arg;
    struct vigil_timer *tick;
    struct vigil_counter *c_received, *c_acked, *c_nacked, *c_terminated, *c_malformed,
        *c_redelivered, *c_ack_errors;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- fetch thread --------------------------------------------------------------- */

/* Throttled log from the fetch thread: the same trouble every second would
 * bury everything else. */
static void warn_throttled(struct nsource *s, int64_t *last, const char *fmt, const char *what)
{
    int64_t now = mono_ms();
    if (now - *last >= 30000 || *last == 0) {
        *last = now;
        s->host->log(s->ins, VIGIL_LOG_WARN, fmt, what);
    }
}

static void pause_thread(struct nsource *s, int64_t ms)
{
    atomic_int never = 0;
    for (int64_t t = 0; t < ms && !atomic_load(&s->stop); t += 100)
        natsx_link_wait(&s->link, &never, 100);
}

static int same_config(const jsConsumerConfig *have, const jsConsumerConfig *want)
{
    return have->AckWait == want->AckWait && have->MaxAckPending == want->MaxAckPending &&
           have->MaxDeliver == want->MaxDeliver;
}

/* Stream, consumer, subscription. 0, or -1 with msg. */
static int setup(struct nsource *s, natsSubscription **sub, char *msg, size_t msglen)
{
    const struct source_conf *c = s->conf;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    char text[300];
    int rc = natsx_ensure_stream(s->js, &c->nx, msg, msglen);
    if (rc < 0)
        return -1;
    if (rc > 0)
        s->host->log(s->ins, rc == 2 ? VIGIL_LOG_WARN : VIGIL_LOG_INFO, "%s", msg);

    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = c->consumer;
    cc.Description = "Vigil workers (docs/scale-out.md)";
    cc.AckPolicy = js_AckExplicit;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckWait = c->ack_wait_ms * 1000000; /* nanoseconds */
    cc.MaxDeliver = c->max_deliver;
    cc.MaxAckPending = c->max_ack_pending;
    cc.FilterSubject = c->filter;

    natsStatus st = js_GetConsumerInfo(&ci, s->js, c->nx.stream, c->consumer, NULL, &jerr);
    if (st == NATS_NOT_FOUND) {
        if (!c->nx.create) {
            snprintf(msg, msglen,
                     "consumer '%s' does not exist on stream '%s' (create it, or set "
                     "\"create\": true)",
                     c->consumer, c->nx.stream);
            return -1;
        }
        st = js_AddConsumer(&ci, s->js, c->nx.stream, &cc, NULL, &jerr);
        if (st == NATS_OK) {
            s->host->log(s->ins, VIGIL_LOG_INFO,
                         "created consumer '%s' on stream '%s' (ack_wait %lld ms, "
                         "max_ack_pending %lld)",
                         c->consumer, c->nx.stream, (long long)c->ack_wait_ms,
                         (long long)c->max_ack_pending);
        } else {
            /* Another worker may have created it just now: look again. */
            st = js_GetConsumerInfo(&ci, s->js, c->nx.stream, c->consumer, NULL, &jerr);
        }
    } else if (st == NATS_OK && ci->Config && ci->Config->DeliverSubject) {
        snprintf(msg, msglen,
                 "consumer '%s' on stream '%s' is a push consumer; a pull consumer "
                 "is needed",
                 c->consumer, c->nx.stream);
        jsConsumerInfo_Destroy(ci);
        return -1;
    } else if (st == NATS_OK && ci->Config && !same_config(ci->Config, &cc)) {
        jsConsumerInfo *ci2 = NULL;
        if (js_UpdateConsumer(&ci2, s->js, c->nx.stream, &cc, NULL, &jerr) == NATS_OK) {
            s->host->log(s->ins, VIGIL_LOG_INFO,
                         "updated consumer '%s': ack_wait %lld ms, max_ack_pending %lld, "
                         "max_deliver %lld",
                         c->consumer, (long long)c->ack_wait_ms, (long long)c->max_ack_pending,
                         (long long)c->max_deliver);
            jsConsumerInfo_Destroy(ci2);
        } else {
            natsx_status_text(NATS_ERR, text, sizeof text);
            s->host->log(s->ins, VIGIL_LOG_WARN,
                         "consumer '%s' has other settings than this worker's and cannot be "
                         "updated (%s); using it as it is",
                         c->consumer, text);
        }
    }
    if (st != NATS_OK) {
        natsx_status_text(st, text, sizeof text);
        snprintf(msg, msglen, "cannot set up consumer '%s' on stream '%s': %s", c->consumer,
                 c->nx.stream, text);
        return -1;
    }
    jsConsumerInfo_Destroy(ci);

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->nx.stream;
    so.Consumer = c->consumer;
    so.ManualAck = true;
    st = js_PullSubscribe(sub, s->js, c->filter, c->consumer, NULL, &so, &jerr);
    if (st != NATS_OK) {
        natsx_status_text(st, text, sizeof text);
        snprintf(msg, msglen, "cannot subscribe to consumer '%s': %s", c->consumer, text);
        return -1;
    }
    s->host->log(s->ins, VIGIL_LOG_INFO, "taking documents from stream '%s' as consumer '%s'",
                 c->nx.stream, c->consumer);
    return 0;
}

/* Drop a reference; the last one destroys the subscription. Called with
 * s->mu held. */
static void fsub_unref_locked(struct fsub *fs)
{
    if (fs && --fs->refs == 0) {
        natsSubscription_Destroy(fs->sub);
        free(fs);
    }
}

static void fsub_unref(struct nsource *s, struct fsub *fs)
{
    pthread_mutex_lock(&s->mu);
    fsub_unref_locked(fs);
    pthread_mutex_unlock(&s->mu);
}

static struct inmsg *wrap(struct nsource *s, struct fsub *fs, natsMsg *msg)
{
    struct inmsg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->s = s;
    m->fs = fs;
    m->msg = msg;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        m->delivered = meta->NumDelivered;
        m->seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
    }
    json_error_t jerr;
    const char *data = natsMsg_GetData(msg);
    json_t *doc = json_loadb(data ? data : "", (size_t)natsMsg_GetDataLength(msg), 0, &jerr);
    if (!doc) {
        snprintf(m->err, sizeof m->err, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
    } else if (!json_is_object(doc)) {
        snprintf(m->err, sizeof m->err, "not a JSON object");
        json_decref(doc);
    } else {
        m->doc = doc;
    }
    return m;
}

static void *fetch_main(void *arg)
{
    struct nsource *s = arg;
    const struct source_conf *c = s->conf;
    struct fsub *fs = NULL;
    char msg[512], text[300];
    int64_t last_setup_log = 0, last_fetch_log = 0;
    int fails = 0;
    while (!atomic_load(&s->stop)) {
        if (!natsx_link_wait(&s->link, &s->stop, 1000))
            continue;
        if (!fs) {
            natsSubscription *sub = NULL;
            if (setup(s, &sub, msg, sizeof msg) != 0 || !(fs = calloc(1, sizeof *fs))) {
                natsSubscription_Destroy(sub);
                warn_throttled(s, &last_setup_log, "%s; retrying", msg);
                pause_thread(s, 2000);
                continue;
            }
            fs->sub = sub;
            fs->refs = 1;
        }
        /* Credits: what this worker may still hold. */
        pthread_mutex_lock(&s->mu);
        while (!atomic_load(&s->stop) && (s->paused || s->held >= c->max_ack_pending)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&s->cond, &s->mu, &until);
        }
        int64_t room = c->max_ack_pending - s->held;
        pthread_mutex_unlock(&s->mu);
        if (atomic_load(&s->stop))
            break;
        int n = (int)(room < c->batch ? room : c->batch);
        natsMsgList list = {0};
        jsErrCode jerr = 0;
        natsStatus st = natsSubscription_Fetch(&list, fs->sub, n, c->fetch_wait_ms, &jerr);
        if (list.Count > 0) {
            struct inmsg *head = NULL, *tail = NULL;
            int64_t count = 0;
            for (int i = 0; i < list.Count; i++) {
                struct inmsg *m = wrap(s, fs, list.Msgs[i]);
                if (!m)
                    continue; /* destroyed with the list: redelivered after ack_wait */
                list.Msgs[i] = NULL;
                if (tail)
                    tail->next = m;
                else
                    head = m;
                tail = m;
                count++;
            }
            pthread_mutex_lock(&s->mu);
            if (head) {
                if (s->in_tail)
                    s->in_tail->next = head;
                else
                    s->in_head = head;
                s->in_tail = tail;
            }
            s->held += count;
            fs->refs += (int)count;
            pthread_mutex_unlock(&s->mu);
            natsx_bridge_wake(&s->bridge);
            fails = 0;
        } else if (st == NATS_TIMEOUT || st == NATS_OK) {
            fails = 0; /* nothing to do right now */
        } else if (!atomic_load(&s->stop)) {
            natsx_status_text(st, text, sizeof text);
            warn_throttled(s, &last_fetch_log, "fetch failed: %s; retrying", text);
            /* The consumer may be gone (a broker lost its state) or moving
             * to another server: after a few failures, set it up again. */
            if (++fails >= 3) {
                fsub_unref(s, fs);
                fs = NULL;
                fails = 0;
            }
            pause_thread(s, 500);
        }
        natsMsgList_Destroy(&list);
    }
    fsub_unref(s, fs);
    atomic_store(&s->exited, 1);
    natsx_bridge_wake(&s->bridge);
    return NULL;
}

/* --- loop thread ------------------------------------------------------------------ */

static void fly_link(struct nsource *s, struct inmsg *m)
{
    m->prev = NULL;
    m->next = s->fly;
    if (s->fly)
        s->fly->prev = m;
    s->fly = m;
}

static void fly_unlink(struct nsource *s, struct inmsg *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        s->fly = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->next = m->prev = NULL;
}

/* The message is answered: give its credit back. */
static void release(struct nsource *s, struct inmsg *m)
{
    natsMsg_Destroy(m->msg);
    json_decref(m->doc);
    pthread_mutex_lock(&s->mu);
    fsub_unref_locked(m->fs);
    free(m);
    s->held--;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static void check_ack(struct nsource *s, natsStatus st)
{
    if (st != NATS_OK) {
        s->host->counter_add(s->c_ack_errors, 1);
        if (s->host->log_enabled(s->ins, VIGIL_LOG_DEBUG))
            s->host->log(s->ins, VIGIL_LOG_DEBUG,
                         "ack not sent (%s): the message comes back after ack_wait",
                         natsStatus_GetText(st));
    }
}

static void terminate(struct nsource *s, struct inmsg *m, const char *why)
{
    s->host->log(s->ins, VIGIL_LOG_ERROR,
                 "message %llu of stream '%s' given up after %llu deliver%s: %s",
                 (unsigned long long)m->seq, s->conf->nx.stream, (unsigned long long)m->delivered,
                 m->delivered == 1 ? "y" : "ies", why);
    s->host->counter_add(s->c_terminated, 1);
    check_ack(s, natsMsg_Term(m->msg, NULL));
}

static void on_doc_done(void *arg, int status)
{
    struct inmsg *m = arg;
    struct nsource *s = m->s;
    fly_unlink(s, m);
    if (status == VIGIL_OK) {
        s->host->counter_add(s->c_acked, 1);
        check_ack(s, natsMsg_Ack(m->msg, NULL));
    } else if ((int64_t)m->delivered >= s->conf->max_deliver && status != VIGIL_ECANCELED) {
        char why[200];
        snprintf(why, sizeof why, "the pipeline failed on it every time (last: %s)",
                 vigil_strerror(status));
        terminate(s, m, why);
    } else {
        /* Shutdown (canceled) hands it to another worker at once; a
         * failure waits nak_delay, so a broken receiver is not hammered. */
        s->host->counter_add(s->c_nacked, 1);
        check_ack(s, status == VIGIL_ECANCELED
                         ? natsMsg_Nak(m->msg, NULL)
                         : natsMsg_NakWithDelay(m->msg, s->conf->nak_delay_ms, NULL));
    }
    release(s, m);
}

static void maybe_end_pass(struct nsource *s)
{
    if (s->in_pass && atomic_load(&s->exited)) {
        s->in_pass = 0;
        s->pass_done(s->pass_arg, s->stopping ? VIGIL_ECANCELED : VIGIL_OK);
    }
}

/* Hand queued documents to the pipeline, in order, until it is full. */
static void drain(struct nsource *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        struct inmsg *m = NULL;
        if (!s->local_pause || s->stopping) {
            m = s->in_head;
            if (m) {
                s->in_head = m->next;
                if (!s->in_head)
                    s->in_tail = NULL;
                m->next = NULL;
            }
        }
        pthread_mutex_unlock(&s->mu);
        if (!m)
            break;
        s->host->counter_add(s->c_received, 1);
        if (m->delivered > 1)
            s->host->counter_add(s->c_redelivered, 1);
        if (s->stopping) {
            s->host->counter_add(s->c_nacked, 1);
            check_ack(s, natsMsg_Nak(m->msg, NULL));
            release(s, m);
            continue;
        }
        if (!m->doc) {
            s->host->counter_add(s->c_malformed, 1);
            terminate(s, m, m->err);
            release(s, m);
            continue;
        }
        json_t *doc = m->doc;
        m->doc = NULL;
        m->touched = mono_ms();
        fly_link(s, m);
        int rc = s->host->emit_tracked(s->ins, doc, on_doc_done, m);
        if (rc == VIGIL_EAGAIN) {
            s->local_pause = 1;
        } else if (rc != VIGIL_OK) {
            /* The ack callback will not run for it. */
            fly_unlink(s, m);
            if (rc == VIGIL_ECANCELED) {
                s->host->counter_add(s->c_nacked, 1);
                check_ack(s, natsMsg_Nak(m->msg, NULL));
            } else {
                terminate(s, m, vigil_strerror(rc));
            }
            release(s, m);
        }
    }
    maybe_end_pass(s);
}

static void on_bridge(uv_async_t *h)
{
    drain(h->data);
}

/* Keep held messages ours: mark those held for a third of ack_wait. */
static void on_tick(struct vigil_timer *t, void *arg)
{
    struct nsource *s = arg;
    (void)t;
    int64_t now = mono_ms(), limit = s->conf->ack_wait_ms / 3;
    for (struct inmsg *m = s->fly; m; m = m->next) {
        if (now - m->touched >= limit) {
            m->touched = now;
            check_ack(s, natsMsg_InProgress(m->msg, NULL));
        }
    }
    pthread_mutex_lock(&s->mu);
    for (struct inmsg *m = s->in_head; m; m = m->next) {
        if (m->touched == 0)
            m->touched = now;
        else if (now - m->touched >= limit) {
            m->touched = now;
            natsMsg_InProgress(m->msg, NULL);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* --- hooks ------------------------------------------------------------------------- */

static void source_free(struct nsource *s);

static int source_create(const struct vigil_host *host, struct vigil_instance *ins,
                         const void *conf, void **state, struct vigil_error *err)
{
    const struct source_conf *cf = conf;
    char msg[300];
    for (size_t i = 0; i < cf->nx.subjects.n; i++) {
        if (subj_check_filter(cf->nx.subjects.v[i], msg, sizeof msg) != 0)
            return vigil_error_set(err, VIGIL_EINVAL, "option 'subjects': %s", msg);
    }
    if (cf->filter && subj_check_filter(cf->filter, msg, sizeof msg) != 0)
        return vigil_error_set(err, VIGIL_EINVAL, "option 'filter': %s", msg);
    for (const char *p = cf->consumer; *p; p++) {
        if (*p <= ' ' || *p == '.' || *p == '*' || *p == '>' || *p == '/' || *p == '\\')
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'consumer': \"%s\" may not hold spaces, '.', '*', "
                                   "'>', '/' or '\\'",
                                   cf->consumer);
    }
    if (!*cf->consumer)
        return vigil_error_set(err, VIGIL_EINVAL, "option 'consumer': empty name");
    struct nsource *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = cf;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->c_received = host->counter(ins, "received", "messages taken from the stream");
    s->c_acked = host->counter(ins, "acked", "documents done and acked");
    s->c_nacked = host->counter(ins, "nacked", "documents handed back for another try");
    s->c_terminated = host->counter(ins, "terminated",
                                    "messages given up (malformed, or failed "
                                    "max_deliver times)");
    s->c_malformed = host->counter(ins, "malformed", "messages that were not a JSON object");
    s->c_redelivered =
        host->counter(ins, "redelivered", "messages delivered before (a worker died or nacked)");
    s->c_ack_errors = host->counter(ins, "ack_errors", "acks that could not be sent");
    if (natsx_bridge_init(&s->bridge, host->loop(ins), on_bridge, s) != VIGIL_OK) {
        source_free(s);
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot create a loop handle");
    }
    int rc = natsx_link_open(&s->link, &cf->nx, host, ins, NULL, NULL, err);
    if (rc != VIGIL_OK) {
        source_free(s);
        return rc;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = cf->nx.connect_timeout_ms > 5000 ? cf->nx.connect_timeout_ms : 5000;
    natsStatus st = natsConnection_JetStream(&s->js, s->link.nc, &jo);
    if (st != NATS_OK) {
        natsx_status_text(st, msg, sizeof msg);
        source_free(s);
        return vigil_error_set(err, VIGIL_EIO, "cannot create a JetStream context: %s", msg);
    }
    *state = s;
    return VIGIL_OK;
}

static int source_start(void *state, struct vigil_error *err)
{
    struct nsource *s = state;
    int64_t every = s->conf->ack_wait_ms / 3;
    s->tick = s->host->timer_start(s->ins, (uint64_t)every, (uint64_t)every, on_tick, s);
    if (!s->tick)
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot start a timer");
    if (pthread_create(&s->thread, NULL, fetch_main, s) != 0)
        return vigil_error_set(err, VIGIL_EIO, "cannot start the fetch thread");
    s->thread_started = 1;
    return VIGIL_OK;
}

static int source_collect(void *state, vigil_pass_cb done, void *arg)
{
    struct nsource *s = state;
    if (s->in_pass)
        return VIGIL_ESTATE;
    s->in_pass = 1;
    s->pass_done = done;
    s->pass_arg = arg;
    drain(s);
    return VIGIL_OK;
}

static void source_pause(void *state)
{
    struct nsource *s = state;
    pthread_mutex_lock(&s->mu);
    s->paused = 1;
    pthread_mutex_unlock(&s->mu);
}

static void source_resume(void *state)
{
    struct nsource *s = state;
    pthread_mutex_lock(&s->mu);
    s->paused = 0;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    s->local_pause = 0;
    drain(s);
}

static void source_stop(void *state)
{
    struct nsource *s = state;
    s->stopping = 1;
    atomic_store(&s->stop, 1);
    natsx_link_poke(&s->link);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (!s->thread_started)
        atomic_store(&s->exited, 1);
    drain(s); /* hands back what was fetched and not emitted */
}

static void source_free(struct nsource *s)
{
    atomic_store(&s->stop, 1);
    natsx_link_poke(&s->link);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    if (s->tick)
        s->host->timer_stop(s->tick);
    /* Nothing should be left; whatever is comes back after ack_wait. */
    struct inmsg *lists[2] = {s->in_head, s->fly};
    for (int i = 0; i < 2; i++) {
        struct inmsg *m = lists[i];
        while (m) {
            struct inmsg *next = m->next;
            natsMsg_Destroy(m->msg);
            json_decref(m->doc);
            fsub_unref(s, m->fs);
            free(m);
            m = next;
        }
    }
    /* The last acks are in the connection's buffer: send them before the
     * connection goes (bounded; nats.c's reader answers the flush). */
    if (s->link.nc && natsx_link_up(&s->link))
        natsConnection_FlushTimeout(s->link.nc, 2000);
    jsCtx_Destroy(s->js);
    natsx_link_close(&s->link);
    natsx_bridge_close(&s->bridge);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void source_destroy(void *state)
{
    source_free(state);
}

static const struct vigil_plugin nats_source = {
    VIGIL_PLUGIN_HEADER,
    .name = "nats",
    .version = "1.0.0",
    .description = "take documents from a NATS JetStream stream, shared by many workers",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .options = source_options,
    .conf_size = sizeof(struct source_conf),
    .default_every_ms = 0,
    .create = source_create,
    .start = source_start,
    .stop = source_stop,
    .destroy = source_destroy,
    .collect = source_collect,
    .pause = source_pause,
    .resume = source_resume,
};

VIGIL_PLUGIN_EXPORT(nats_source)
