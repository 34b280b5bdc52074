/*
 * core/engine - scheduling documents through pipelines.
 *
 * Everything that calls into plugins happens from pump(), which runs in a
 * uv_prepare callback once per loop iteration (before the loop blocks) and
 * after worker completions. Host functions only enqueue. So a plugin is
 * never re-entered from inside one of its own calls: a sink that calls done
 * inside deliver, or a source that emits inside collect, just leaves work
 * for the next pump pass.
 */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "builtin.h"
#include "hash.h"
#include "http.h"
#include "outbox.h"
#include "store.h"

#define COMMIT_INTERVAL_MS 100
#define STOP_HARD_DEADLINE_MS 5000
#define ENGINE_LOG "engine"

static void pump(struct core_engine *e);
static void pipeline_advance_stop(struct core_pipeline *pl);
static void schedule_collect(struct vigil_instance *ins, int64_t delay_ms);
static void destroy_pipeline(struct core_pipeline *pl);

/* ------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int core_engine_on_loop(const struct core_engine *e)
{
    return pthread_equal(pthread_self(), e->loop_thread);
}

uint64_t core_engine_random(struct core_engine *e)
{
    uint64_t x = e->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    e->rng = x;
    return x;
}

static void dq_push(struct doc_queue *q, struct core_doc *d)
{
    d->next = NULL;
    if (q->tail)
        q->tail->next = d;
    else
        q->head = d;
    q->tail = d;
    q->n++;
}

static struct core_doc *dq_pop(struct doc_queue *q)
{
    struct core_doc *d = q->head;
    if (d) {
        q->head = d->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        d->next = NULL;
    }
    return d;
}

static void lq_push(struct dlv_queue *q, struct core_delivery *d)
{
    d->next = NULL;
    if (q->tail)
        q->tail->next = d;
    else
        q->head = d;
    q->tail = d;
    q->n++;
}

static void lq_push_front(struct dlv_queue *q, struct core_delivery *d)
{
    d->next = q->head;
    q->head = d;
    if (!q->tail)
        q->tail = d;
    q->n++;
}

static struct core_delivery *lq_pop(struct dlv_queue *q)
{
    struct core_delivery *d = q->head;
    if (d) {
        q->head = d->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        d->next = NULL;
    }
    return d;
}

static const char *doc_id(const struct core_doc *d)
{
    const char *id = json_string_value(json_object_get(d->json, "id"));
    return id ? id : "(no id)";
}

static void ins_log(struct vigil_instance *ins, int level, const char *fmt, ...)
    VIGIL_PRINTF(3, 4);
static void ins_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_log_vwrite(ins->pl->eng->cfg.log, level, ins->pl->def->name, ins->def->id, fmt, ap);
    va_end(ap);
}

void core_engine_note_error(struct vigil_instance *ins, const char *fmt, ...)
{
    va_list ap;
    struct core_pipeline *pl = ins->pl;
    pthread_mutex_lock(&pl->err_mu);
    va_start(ap, fmt);
    vsnprintf(ins->last_error, sizeof ins->last_error, fmt, ap);
    va_end(ap);
    ins->last_error_at = wall_ms();
    pthread_mutex_unlock(&pl->err_mu);
}

/* ------------------------------------------------------------------------
 * State store (lazily opened: most runs never need it)
 * --------------------------------------------------------------------- */

const char *core_engine_state_dir(struct core_engine *e)
{
    return e->state_dir;
}

struct core_store *core_engine_store(struct core_engine *e)
{
    pthread_mutex_lock(&e->store_mu);
    if (!e->store && !e->store_failed) {
        struct vigil_error err = {0};
        if (core_store_open(e->state_dir, e->cfg.log, &e->store, &err) != VIGIL_OK) {
            core_log_error(e->cfg.log, "store", "%s", err.msg);
            e->store_failed = 1;
        } else {
            core_log_debug(e->cfg.log, "store", "state database %s", core_store_path(e->store));
        }
    }
    struct core_store *s = e->store;
    pthread_mutex_unlock(&e->store_mu);
    return s;
}

static void on_commit_timer(uv_timer_t *t)
{
    struct core_engine *e = t->data;
    struct core_store *s;
    pthread_mutex_lock(&e->store_mu);
    s = e->store;
    pthread_mutex_unlock(&e->store_mu);
    if (s && core_store_dirty(s))
        core_store_commit(s);
}

/* ------------------------------------------------------------------------
 * Engine lifecycle
 * --------------------------------------------------------------------- */

static void on_prepare(uv_prepare_t *p)
{
    pump(p->data);
}

int core_engine_create(uv_loop_t *loop, const struct core_engine_config *cfg,
                       struct core_engine **out, struct vigil_error *err)
{
    struct core_engine *e = calloc(1, sizeof *e);
    if (!e)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    e->loop = loop;
    e->cfg = *cfg;
    e->loop_thread = pthread_self();
    e->rng = ((uint64_t)wall_ms() << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ULL;
    pthread_mutex_init(&e->store_mu, NULL);
    e->state_dir = cfg->state_dir ? strdup(cfg->state_dir) : core_store_default_dir();
    if (cfg->cluster) {
        struct core_cluster *c = NULL;
        int rc = core_cluster_open(cfg->cluster, cfg->log, &c, err);
        if (rc != VIGIL_OK) {
            pthread_mutex_destroy(&e->store_mu);
            free(e->state_dir);
            free(e);
            return rc;
        }
        e->cluster = c;
        e->cluster_claim = core_cluster_claim;
    }

    int nthreads = cfg->workers;
    if (nthreads < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (int)n : 1;
    }
    if (core_workers_create(loop, nthreads, (size_t)(nthreads ? nthreads : 1) * 4, &e->workers) !=
        VIGIL_OK) {
        core_cluster_close(e->cluster);
        free(e->state_dir);
        free(e);
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot start %d worker threads", nthreads);
    }
    uv_prepare_init(loop, &e->prepare);
    e->prepare.data = e;
    uv_prepare_start(&e->prepare, on_prepare);
    uv_unref((uv_handle_t *)&e->prepare);
    uv_timer_init(loop, &e->commit_timer);
    e->commit_timer.data = e;
    uv_timer_start(&e->commit_timer, on_commit_timer, COMMIT_INTERVAL_MS, COMMIT_INTERVAL_MS);
    uv_unref((uv_handle_t *)&e->commit_timer);
    *out = e;
    return VIGIL_OK;
}

/* ------------------------------------------------------------------------
 * Pipeline construction
 * --------------------------------------------------------------------- */

static void init_instance(struct core_pipeline *pl, struct vigil_instance *ins,
                          const struct core_stage_def *def, size_t index)
{
    ins->pl = pl;
    ins->def = def;
    ins->p = &def->plugin->desc;
    ins->kind = def->kind;
    ins->index = index;
    snprintf(ins->ns, sizeof ins->ns, "%s/%s", pl->def->name, def->id);
    if (def->kind == VIGIL_TRANSFORM && (ins->p->flags & VIGIL_PF_SERIAL)) {
        pthread_mutex_init(&ins->serial_mu, NULL);
        ins->serial = 1;
    }
}

static int create_instance(struct vigil_instance *ins, struct vigil_error *err)
{
    struct vigil_error perr = {0};
    int rc = ins->p->create(&core_host_table, ins, ins->def->conf, &ins->state, &perr);
    if (rc != VIGIL_OK) {
        return vigil_error_set(err, rc < 0 ? rc : VIGIL_ERR, "pipeline '%s': %s '%s' (plugin '%s'): %s",
                               ins->pl->def->name, core_kind_name(ins->kind), ins->def->id,
                               ins->p->name, perr.msg[0] ? perr.msg : vigil_strerror(rc));
    }
    ins->phase = INS_CREATED;
    return VIGIL_OK;
}

static void build_steps(struct core_pipeline *pl)
{
    size_t n = pl->def->ntransforms;
    pl->steps = calloc(n ? n : 1, sizeof *pl->steps);
    pl->nsteps = 0;
    for (size_t i = 0; i < n; i++) {
        int async = pl->transforms[i].p->process_async != NULL;
        if (async || pl->nsteps == 0 || pl->steps[pl->nsteps - 1].async) {
            struct core_step *s = &pl->steps[pl->nsteps++];
            s->async = async;
            s->first = i;
            s->count = 1;
        } else {
            pl->steps[pl->nsteps - 1].count++;
        }
    }
}

static void destroy_instance(struct vigil_instance *ins)
{
    if (ins->phase >= INS_CREATED && ins->phase != INS_DESTROYED && ins->p->destroy)
        ins->p->destroy(ins->state);
    ins->phase = INS_DESTROYED;
    core_host_close_timers(ins);
    core_host_free_counters(ins);
    if (ins->sched) {
        uv_close((uv_handle_t *)ins->sched, (uv_close_cb)free);
        ins->sched = NULL;
    }
    if (ins->serial) {
        pthread_mutex_destroy(&ins->serial_mu);
        ins->serial = 0;
    }
}

static void free_pipeline(struct core_pipeline *pl)
{
    pthread_mutex_destroy(&pl->err_mu);
    free(pl->sources);
    free(pl->transforms);
    free(pl->sinks);
    free(pl->steps);
    free(pl->wstate);
    free(pl->winit);
    core_pipeline_free(pl->def);
    free(pl);
}

int core_engine_add(struct core_engine *e, struct core_pipeline_def *def,
                    struct core_pipeline **out, struct vigil_error *err)
{
    struct core_pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        core_pipeline_free(def);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    pl->eng = e;
    pl->def = def;
    pthread_mutex_init(&pl->err_mu, NULL);
    pl->sources = calloc(def->nsources + 1, sizeof *pl->sources);
    pl->transforms = calloc(def->ntransforms + 1, sizeof *pl->transforms);
    pl->sinks = calloc(def->nsinks + 1, sizeof *pl->sinks);
    pl->nslots = (size_t)core_workers_slots(e->workers);
    pl->wstate = calloc(pl->nslots * (def->ntransforms + 1), sizeof *pl->wstate);
    pl->winit = calloc(pl->nslots * (def->ntransforms + 1), 1);
    if (!pl->sources || !pl->transforms || !pl->sinks || !pl->wstate || !pl->winit) {
        free_pipeline(pl);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    if (def->nsinks > 64) {
        int rc = vigil_error_set(err, VIGIL_EINVAL, "pipeline '%s': at most 64 sinks", def->name);
        free_pipeline(pl);
        return rc;
    }
    for (size_t i = 0; i < def->nsources; i++)
        init_instance(pl, &pl->sources[i], &def->sources[i], i);
    for (size_t i = 0; i < def->ntransforms; i++)
        init_instance(pl, &pl->transforms[i], &def->transforms[i], i);
    for (size_t i = 0; i < def->nsinks; i++)
        init_instance(pl, &pl->sinks[i], &def->sinks[i], i);
    build_steps(pl);

    /* Sinks first, sources last: nothing emits into a half-built pipeline. */
    int rc = VIGIL_OK;
    for (size_t i = 0; rc == VIGIL_OK && i < def->nsinks; i++)
        rc = create_instance(&pl->sinks[i], err);
    for (size_t i = 0; rc == VIGIL_OK && i < def->ntransforms; i++)
        rc = create_instance(&pl->transforms[i], err);
    for (size_t i = 0; rc == VIGIL_OK && i < def->nsources; i++)
        rc = create_instance(&pl->sources[i], err);
    if (rc != VIGIL_OK) {
        for (size_t i = 0; i < def->nsources; i++)
            destroy_instance(&pl->sources[i]);
        for (size_t i = 0; i < def->ntransforms; i++)
            destroy_instance(&pl->transforms[i]);
        for (size_t i = 0; i < def->nsinks; i++)
            destroy_instance(&pl->sinks[i]);
        free_pipeline(pl);
        return rc;
    }
    pl->phase = PL_CREATED;
    pl->next = e->pipelines;
    e->pipelines = pl;
    if (out)
        *out = pl;
    return VIGIL_OK;
}

const struct core_pipeline_def *core_pipeline_definition(const struct core_pipeline *pl)
{
    return pl->def;
}

/* ------------------------------------------------------------------------
 * Sources: schedules and passes
 * --------------------------------------------------------------------- */

static int64_t source_every(const struct vigil_instance *ins)
{
    return ins->def->every_ms > 0 ? ins->def->every_ms : ins->p->default_every_ms;
}

static int64_t jitter(struct core_engine *e, int64_t max_ms)
{
    return max_ms > 0 ? (int64_t)(core_engine_random(e) % (uint64_t)(max_ms + 1)) : 0;
}

static void on_collect_timer(uv_timer_t *t)
{
    struct vigil_instance *ins = t->data;
    struct core_pipeline *pl = ins->pl;
    if (pl->phase != PL_STARTED || ins->phase != INS_STARTED)
        return;
    if (ins->collecting) {
        /* The previous pass is still running: never overlap passes. */
        ins_log(ins, VIGIL_LOG_DEBUG, "previous pass still running; skipping this one");
        int64_t every = source_every(ins);
        if (every > 0 && !pl->eng->cfg.once)
            schedule_collect(ins, every);
        return;
    }
    ins->collecting = 1;
    ins->outstanding++;
    int rc = ins->p->collect(ins->state, core_engine_pass_done, ins);
    if (rc != VIGIL_OK)
        core_engine_pass_done(ins, rc); /* the plugin will not call it */
}

static void schedule_collect(struct vigil_instance *ins, int64_t delay_ms)
{
    if (!ins->sched) {
        ins->sched = malloc(sizeof *ins->sched);
        if (!ins->sched)
            return;
        uv_timer_init(ins->pl->eng->loop, ins->sched);
        ins->sched->data = ins;
    }
    uv_timer_start(ins->sched, on_collect_timer, (uint64_t)(delay_ms < 0 ? 0 : delay_ms), 0);
}

void core_engine_pass_done(void *arg, int status)
{
    struct vigil_instance *ins = arg;
    struct core_pipeline *pl = ins->pl;
    ins->collecting = 0;
    ins->outstanding--;
    if (status != VIGIL_OK && status != VIGIL_ECANCELED) {
        ins_log(ins, VIGIL_LOG_WARN, "pass ended with an error: %s", vigil_strerror(status));
        core_engine_note_error(ins, "pass ended with an error: %s", vigil_strerror(status));
    }
    if (pl->eng->cfg.once) {
        ins->pass_done_once = 1;
        return;
    }
    int64_t every = source_every(ins);
    if (pl->phase == PL_STARTED && ins->phase == INS_STARTED && every > 0)
        schedule_collect(ins, every + jitter(pl->eng, ins->def->jitter_ms));
}

static void pause_sources(struct core_pipeline *pl, int pause)
{
    pl->paused = pause;
    pl->pause_due = 0;
    for (size_t i = 0; i < pl->def->nsources; i++) {
        struct vigil_instance *s = &pl->sources[i];
        if (s->phase != INS_STARTED || s->paused == pause)
            continue;
        s->paused = pause;
        if (pause && s->p->pause)
            s->p->pause(s->state);
        else if (!pause && s->p->resume)
            s->p->resume(s->state);
    }
    core_log_write(pl->eng->cfg.log, VIGIL_LOG_DEBUG, pl->def->name, NULL,
                   "%s sources: %llu documents in flight", pause ? "paused" : "resumed",
                   (unsigned long long)pl->inflight);
}

/* ------------------------------------------------------------------------
 * Documents in and out
 * --------------------------------------------------------------------- */

static void set_default_fields(struct vigil_instance *ins, json_t *doc)
{
    char ts[32];
    if (!json_is_string(json_object_get(doc, "source")))
        json_object_set_new(doc, "source", json_string(ins->def->id));
    if (!json_is_string(json_object_get(doc, "fetched")))
        json_object_set_new(doc, "fetched", json_string(vigil_time_iso8601(wall_ms(), ts, sizeof ts)));
    if (!json_is_string(json_object_get(doc, "id"))) {
        /* Stable across runs: the same URL (or the same content) from the
         * same source gets the same id. */
        uint64_t h = hash_fnv64(ins->def->id, strlen(ins->def->id));
        const char *url = json_string_value(json_object_get(doc, "url"));
        if (url) {
            h = hash_fnv64_update(h, url, strlen(url));
        } else {
            static const char *const fields[] = {"title", "text", "html", NULL};
            for (int i = 0; fields[i]; i++) {
                const char *v = json_string_value(json_object_get(doc, fields[i]));
                if (v)
                    h = hash_fnv64_update(h, v, strlen(v));
            }
        }
        char hex[17];
        hash_hex64(h, hex);
        json_object_set_new(doc, "id", json_string(hex));
    }
}

/* Sinks whose `when` holds for the document; any thread (when is
 * read-only). */
static uint64_t route_mask(const struct core_pipeline *pl, const json_t *doc)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        if (core_when_match(pl->def->sinks[i].when, doc))
            mask |= (uint64_t)1 << i;
    }
    return mask;
}

static void finish_doc(struct core_doc *d)
{
    struct core_pipeline *pl = d->pl;
    if (d->ack)
        d->ack(d->ack_arg, d->status);
    json_decref(d->json);
    if (pl->inflight > 0) { /* 0 once an abandoned stop counted it lost */
        pl->inflight--;
        pl->finished++;
    }
    free(d);
}

static void route_to_sinks(struct core_doc *d)
{
    struct core_pipeline *pl = d->pl;
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        if (!(d->sinkmask & ((uint64_t)1 << i)))
            continue;
        struct vigil_instance *sink = &pl->sinks[i];
        struct core_delivery *dl = calloc(1, sizeof *dl);
        if (!dl) {
            ins_log(sink, VIGIL_LOG_ERROR, "out of memory: document %s not delivered", doc_id(d));
            d->status = VIGIL_ENOMEM;
            sink->n_failed++;
            continue;
        }
        dl->doc = d;
        dl->sink = sink;
        dl->d.struct_size = sizeof dl->d;
        dl->d.payload = d->json;
        dl->d.id = doc_id(d);
        dl->d.kind = "document";
        d->pending++;
        sink->n_in++;
        lq_push(&sink->q, dl);
    }
    if (d->pending == 0)
        finish_doc(d);
}

/* A document has passed step d->step - 1 (or was just emitted). */
static void advance_doc(struct core_doc *d)
{
    struct core_pipeline *pl = d->pl;
    if (d->dropped) {
        finish_doc(d);
        return;
    }
    if (d->step < pl->nsteps) {
        dq_push(&pl->steps[d->step].q, d);
        return;
    }
    if (pl->nsteps == 0 || pl->steps[pl->nsteps - 1].async)
        d->sinkmask = route_mask(pl, d->json);
    route_to_sinks(d);
}

int core_engine_emit(struct vigil_instance *ins, json_t *doc, vigil_ack_cb ack, void *arg)
{
    struct core_pipeline *pl = ins->pl;
    if (!doc)
        return VIGIL_EINVAL;
    if (!core_engine_on_loop(pl->eng)) {
        ins_log(ins, VIGIL_LOG_ERROR, "emit called outside the loop thread; document dropped");
        json_decref(doc);
        return VIGIL_ESTATE;
    }
    if (!json_is_object(doc)) {
        ins_log(ins, VIGIL_LOG_ERROR, "emit: a document must be a JSON object, got %s",
                json_is_array(doc) ? "an array" : "a scalar");
        ins->n_errors++;
        json_decref(doc);
        return VIGIL_EINVAL;
    }
    if (pl->phase != PL_STARTED) {
        json_decref(doc);
        return VIGIL_ECANCELED;
    }
    struct core_doc *d = calloc(1, sizeof *d);
    if (!d) {
        json_decref(doc);
        return VIGIL_ENOMEM;
    }
    set_default_fields(ins, doc);
    d->json = doc;
    d->pl = pl;
    d->ack = ack;
    d->ack_arg = arg;
    pl->inflight++;
    pl->emitted++;
    ins->n_out++;
    if (pl->inflight > 2 * (uint64_t)pl->def->settings.queue_high && !pl->warned_overflow) {
        pl->warned_overflow = 1;
        ins_log(ins, VIGIL_LOG_WARN,
                "source keeps emitting while paused (%llu documents in flight, high mark %lld): "
                "memory is no longer bounded",
                (unsigned long long)pl->inflight, (long long)pl->def->settings.queue_high);
    }
    advance_doc(d);
    if (pl->inflight < (uint64_t)pl->def->settings.queue_high)
        return VIGIL_OK;
    /* The source now waits for resume(): make sure it gets one. */
    if (!pl->paused)
        pl->pause_due = 1;
    return VIGIL_EAGAIN;
}

/* ------------------------------------------------------------------------
 * Transforms
 * --------------------------------------------------------------------- */

/* Apply a transform's result to a document (any thread). */
static void apply_result(struct vigil_instance *t, struct core_doc *d, int rc, const char *msg)
{
    if (rc == VIGIL_PASS) {
        t->n_out++;
        return;
    }
    if (rc == VIGIL_DROP) {
        t->n_dropped++;
        d->dropped = 1;
        d->status = VIGIL_OK;
        return;
    }
    t->n_errors++;
    core_engine_note_error(t, "document %s: %s", doc_id(d), msg && *msg ? msg : vigil_strerror(rc));
    core_log_write(t->pl->eng->cfg.log, VIGIL_LOG_WARN, t->pl->def->name, t->def->id,
                   "document %s: %s (%s)", doc_id(d), msg && *msg ? msg : vigil_strerror(rc),
                   t->def->on_error_drop ? "dropped" : "passed on");
    vigil_doc_add_error(d->json, t->def->id, rc, msg && *msg ? msg : vigil_strerror(rc));
    if (t->def->on_error_drop) {
        d->dropped = 1;
        d->status = rc;
    }
}

static void *worker_state(struct core_pipeline *pl, int slot, size_t t, int *failed)
{
    size_t k = (size_t)slot * pl->def->ntransforms + t;
    struct vigil_instance *ins = &pl->transforms[t];
    *failed = 0;
    if (!pl->winit[k]) {
        pl->winit[k] = 1;
        if (ins->p->worker_init) {
            struct vigil_error err = {0};
            if (ins->p->worker_init(ins->state, &pl->wstate[k], &err) != VIGIL_OK) {
                core_log_write(pl->eng->cfg.log, VIGIL_LOG_ERROR, pl->def->name, ins->def->id,
                               "worker_init failed: %s", err.msg);
                pl->winit[k] = 2;
            }
        }
    }
    *failed = pl->winit[k] == 2;
    return pl->wstate[k];
}

static int run_sync(struct core_pipeline *pl, int slot, size_t t, json_t *doc,
                    struct vigil_error *err)
{
    struct vigil_instance *ins = &pl->transforms[t];
    int failed;
    void *ws = worker_state(pl, slot, t, &failed);
    if (failed)
        return vigil_error_set(err, VIGIL_ESTATE, "worker state unavailable");
    int rc;
    ins->n_in++;
    if (ins->serial)
        pthread_mutex_lock(&ins->serial_mu);
    rc = ins->p->process(ins->state, ws, doc, err);
    if (ins->serial)
        pthread_mutex_unlock(&ins->serial_mu);
    if (rc != VIGIL_PASS && rc != VIGIL_DROP && rc >= 0)
        rc = vigil_error_set(err, VIGIL_ERR, "process returned unknown result %d", rc);
    return rc;
}

static void batch_run(struct core_job *job, int slot)
{
    struct core_batch *b = (struct core_batch *)job;
    struct core_pipeline *pl = b->pl;
    struct core_step *st = &pl->steps[b->step];
    int last = b->step + 1 == pl->nsteps;
    for (struct core_doc *d = b->docs; d; d = d->next) {
        for (size_t t = st->first; t < st->first + st->count && !d->dropped; t++) {
            struct vigil_error err = {0};
            int rc = run_sync(pl, slot, t, d->json, &err);
            apply_result(&pl->transforms[t], d, rc, err.msg);
        }
        if (last && !d->dropped)
            d->sinkmask = route_mask(pl, d->json);
    }
}

static void batch_done(struct core_job *job)
{
    struct core_batch *b = (struct core_batch *)job;
    struct core_pipeline *pl = b->pl;
    struct core_step *st = &pl->steps[b->step];
    struct core_doc *d = b->docs;
    while (d) {
        struct core_doc *next = d->next;
        st->inflight--;
        d->step = b->step + 1;
        advance_doc(d);
        d = next;
    }
    pl->jobs--;
    free(b);
    pump(pl->eng);
}

static void dispatch_batches(struct core_pipeline *pl, struct core_step *st, size_t si)
{
    struct core_engine *e = pl->eng;
    size_t batch = (size_t)pl->def->settings.batch;
    while (st->q.n > 0) {
        struct core_batch *b = calloc(1, sizeof *b);
        if (!b)
            return;
        b->job.run = batch_run;
        b->job.done = batch_done;
        b->pl = pl;
        b->step = (uint32_t)si;
        struct core_doc **tail = &b->docs;
        struct core_doc *d;
        while (b->n < batch && (d = dq_pop(&st->q)) != NULL) {
            *tail = d;
            tail = &d->next;
            b->n++;
        }
        if (core_workers_submit(e->workers, &b->job) != VIGIL_OK) {
            /* Pool full: put the documents back, in order, and wait. */
            struct core_doc *rest = st->q.head;
            size_t n = st->q.n;
            st->q.head = b->docs;
            *tail = rest;
            if (!rest)
                st->q.tail = (struct core_doc *)((char *)tail - offsetof(struct core_doc, next));
            st->q.n = n + b->n;
            free(b);
            return;
        }
        st->inflight += b->n;
        pl->jobs++;
    }
}

static void async_done_cb(void *arg, int result, const char *errmsg)
{
    struct core_doc *d = arg;
    struct core_pipeline *pl = d->pl;
    struct core_step *st = &pl->steps[d->step];
    struct vigil_instance *t = &pl->transforms[st->first];
    t->outstanding--;
    st->inflight--;
    apply_result(t, d, result, errmsg);
    d->step++;
    d->next = NULL;
    if (pl->async_done_tail)
        pl->async_done_tail->next = d;
    else
        pl->async_done_head = d;
    pl->async_done_tail = d;
}

static void dispatch_async(struct core_pipeline *pl, struct core_step *st)
{
    struct vigil_instance *t = &pl->transforms[st->first];
    while (st->q.n > 0 && st->inflight < (size_t)t->def->max_inflight) {
        struct core_doc *d = dq_pop(&st->q);
        st->inflight++;
        t->outstanding++;
        t->n_in++;
        int rc = t->p->process_async(t->state, d->json, async_done_cb, d);
        if (rc != VIGIL_OK) {
            /* Failed synchronously: the callback will not run. */
            t->outstanding--;
            st->inflight--;
            apply_result(t, d, rc, "process_async refused the document");
            d->step++;
            advance_doc(d);
        }
    }
}

struct try_wait {
    int done;
    int result;
    char msg[VIGIL_ERROR_MAX];
};

static void try_async_cb(void *arg, int result, const char *errmsg)
{
    struct try_wait *w = arg;
    w->done = 1;
    w->result = result;
    snprintf(w->msg, sizeof w->msg, "%s", errmsg ? errmsg : "");
}

int core_pipeline_run_transform(struct core_pipeline *pl, size_t index, json_t *doc,
                                struct vigil_error *err)
{
    struct vigil_instance *t = &pl->transforms[index];
    if (index >= pl->def->ntransforms)
        return vigil_error_set(err, VIGIL_EINVAL, "no transform %zu", index);
    if (t->p->process)
        return run_sync(pl, 0, index, doc, err);

    /* The document stays the caller's: a private callback, and the loop
     * runs here until the transform answers. */
    struct try_wait w = {0};
    t->n_in++;
    int rc = t->p->process_async(t->state, doc, try_async_cb, &w);
    if (rc != VIGIL_OK)
        return vigil_error_set(err, rc, "transform refused the document: %s", vigil_strerror(rc));
    while (!w.done) {
        if (uv_run(pl->eng->loop, UV_RUN_ONCE) == 0 && !w.done)
            return vigil_error_set(err, VIGIL_ESTATE,
                                   "transform '%s' never called back (nothing left to wait for)",
                                   t->def->id);
    }
    if (w.result < 0)
        vigil_error_set(err, w.result, "%s", w.msg[0] ? w.msg : vigil_strerror(w.result));
    return w.result;
}

/* ------------------------------------------------------------------------
 * Sinks
 * --------------------------------------------------------------------- */

static void deliver_done_cb(void *arg, int status, int64_t retry_after_ms, const char *reason)
{
    struct core_delivery *dl = arg;
    struct core_pipeline *pl = dl->sink->pl;
    if (!dl->in_flight) {
        ins_log(dl->sink, VIGIL_LOG_ERROR,
                "delivery callback called twice for document %s (plugin bug; ignored)",
                dl->d.id);
        return;
    }
    dl->in_flight = 0;
    dl->sink->inflight--;
    dl->sink->outstanding--;
    dl->result = status;
    dl->retry_after_ms = retry_after_ms;
    snprintf(dl->reason, sizeof dl->reason, "%s", reason ? reason : "");
    dl->next = NULL;
    if (pl->completed_tail)
        pl->completed_tail->next = dl;
    else
        pl->completed_head = dl;
    pl->completed_tail = dl;
}

void core_engine_finish_delivery(struct core_delivery *dl, int status)
{
    struct core_doc *d = dl->doc;
    if (status != VIGIL_OK)
        d->status = status;
    free(dl);
    if (--d->pending == 0)
        finish_doc(d);
}

static void retry_unlink(struct core_delivery *dl)
{
    struct vigil_instance *sink = dl->sink;
    if (dl->prev)
        dl->prev->next = dl->next;
    else
        sink->retry_list = dl->next;
    if (dl->next)
        dl->next->prev = dl->prev;
    dl->next = dl->prev = NULL;
    sink->retry_waiting--;
    if (dl->retry_timer) {
        uv_timer_stop(dl->retry_timer);
        uv_close((uv_handle_t *)dl->retry_timer, (uv_close_cb)free);
        dl->retry_timer = NULL;
    }
}

static void on_retry_timer(uv_timer_t *t)
{
    struct core_delivery *dl = t->data;
    retry_unlink(dl);
    lq_push_front(&dl->sink->q, dl);
}

/* Shutdown: deliveries waiting for a retry will not get one. */
static void cancel_retries(struct core_pipeline *pl)
{
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        struct vigil_instance *sink = &pl->sinks[i];
        while (sink->retry_list) {
            struct core_delivery *dl = sink->retry_list;
            retry_unlink(dl);
            sink->n_failed++;
            pl->lost++;
            ins_log(sink, VIGIL_LOG_ERROR, "document %s not delivered before shutdown: %s",
                    dl->d.id, dl->reason[0] ? dl->reason : "waiting for a retry");
            core_engine_finish_delivery(dl, VIGIL_ECANCELED);
        }
    }
}

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)]. */
static int64_t backoff_ms(struct core_engine *e, const struct core_stage_def *def, uint32_t attempt)
{
    int64_t ceiling = def->retry_base_ms;
    for (uint32_t i = 1; i < attempt && ceiling < def->retry_cap_ms; i++)
        ceiling *= 2;
    if (ceiling > def->retry_cap_ms)
        ceiling = def->retry_cap_ms;
    return jitter(e, ceiling);
}

static void handle_completed(struct core_pipeline *pl)
{
    while (pl->completed_head) {
        struct core_delivery *dl = pl->completed_head;
        pl->completed_head = dl->next;
        if (!pl->completed_head)
            pl->completed_tail = NULL;
        struct vigil_instance *sink = dl->sink;
        const struct core_stage_def *def = sink->def;

        if (dl->result == VIGIL_DELIVERED) {
            sink->n_out++;
            core_engine_finish_delivery(dl, VIGIL_OK);
            continue;
        }
        int stopping = pl->phase >= PL_STOPPING || pl->abandon;
        if (dl->result == VIGIL_RETRY && !stopping &&
            dl->d.attempt <= (uint32_t)def->retry_limit) {
            int64_t wait = dl->retry_after_ms > 0 ? dl->retry_after_ms
                                                  : backoff_ms(pl->eng, def, dl->d.attempt);
            sink->n_retries++;
            ins_log(sink, VIGIL_LOG_INFO, "document %s: attempt %u failed (%s); retrying in %lld ms",
                    dl->d.id, dl->d.attempt, dl->reason[0] ? dl->reason : "temporary failure",
                    (long long)wait);
            dl->retry_timer = malloc(sizeof *dl->retry_timer);
            if (dl->retry_timer) {
                uv_timer_init(pl->eng->loop, dl->retry_timer);
                dl->retry_timer->data = dl;
                uv_timer_start(dl->retry_timer, on_retry_timer, (uint64_t)wait, 0);
                dl->prev = NULL;
                dl->next = sink->retry_list;
                if (sink->retry_list)
                    sink->retry_list->prev = dl;
                sink->retry_list = dl;
                sink->retry_waiting++;
                continue;
            }
        }
        sink->n_failed++;
        core_engine_note_error(sink, "document %s: %s", dl->d.id,
                               dl->reason[0] ? dl->reason : "delivery failed");
        if (stopping && dl->result != VIGIL_FAILED) {
            pl->lost++;
            ins_log(sink, VIGIL_LOG_ERROR, "document %s not delivered before shutdown: %s",
                    dl->d.id, dl->reason[0] ? dl->reason : "canceled");
        } else {
            ins_log(sink, VIGIL_LOG_ERROR, "document %s: delivery failed after %u attempt%s: %s",
                    dl->d.id, dl->d.attempt, dl->d.attempt == 1 ? "" : "s",
                    dl->reason[0] ? dl->reason : "permanent failure");
        }
        core_engine_finish_delivery(dl, VIGIL_EIO);
    }
}

static void dispatch_sink(struct vigil_instance *sink)
{
    if (sink->phase != INS_STARTED)
        return;
    while (sink->q.n > 0 && sink->inflight < (size_t)sink->def->max_inflight) {
        struct core_delivery *dl = lq_pop(&sink->q);
        dl->d.attempt++;
        dl->in_flight = 1;
        sink->inflight++;
        sink->outstanding++;
        int rc = sink->p->deliver(sink->state, &dl->d, deliver_done_cb, dl);
        if (rc != VIGIL_OK && dl->in_flight) {
            /* Refused synchronously: treat like a failed attempt. */
            deliver_done_cb(dl, rc == VIGIL_EAGAIN ? VIGIL_RETRY : VIGIL_FAILED, -1,
                            vigil_strerror(rc));
        }
    }
}

/* ------------------------------------------------------------------------
 * The pump
 * --------------------------------------------------------------------- */

static int pipeline_idle(const struct core_pipeline *pl)
{
    return pl->inflight == 0 && pl->jobs == 0;
}

/* Every alert sink has delivered everything in its outbox. */
static int alerts_idle(struct core_pipeline *pl)
{
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        if (pl->sinks[i].alerts && !core_alertsink_idle(&pl->sinks[i]))
            return 0;
    }
    return 1;
}

static void check_once_drained(struct core_engine *e)
{
    if (!e->cfg.once || e->stopping)
        return;
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        if (pl->phase != PL_STARTED)
            continue;
        for (size_t i = 0; i < pl->def->nsources; i++) {
            const struct vigil_instance *s = &pl->sources[i];
            if (s->def->enabled && !s->pass_done_once)
                return;
        }
        if (!pipeline_idle(pl))
            return;
        /* One pass is over: a digest goes out now rather than later. */
        for (size_t i = 0; i < pl->def->nsinks; i++)
            core_alertsink_flush(&pl->sinks[i]);
        if (!alerts_idle(pl))
            return;
    }
    if (e->cfg.on_drained && !e->stopped_reported) {
        e->stopped_reported = 1;
        e->cfg.on_drained(e->cfg.arg);
    }
}

static int pump_pipeline(struct core_pipeline *pl)
{
    int progress = 0;
    if (pl->phase == PL_CREATED || pl->phase == PL_DESTROYED)
        return 0;

    if (pl->completed_head) {
        handle_completed(pl);
        progress = 1;
    }
    while (pl->async_done_head) {
        struct core_doc *d = pl->async_done_head;
        pl->async_done_head = d->next;
        if (!pl->async_done_head)
            pl->async_done_tail = NULL;
        advance_doc(d);
        progress = 1;
    }
    if (pl->abandon) {
        /* Grace expired: what has not started is given up. */
        for (size_t s = 0; s < pl->nsteps; s++) {
            struct core_doc *d;
            while ((d = dq_pop(&pl->steps[s].q)) != NULL) {
                pl->lost++;
                d->status = VIGIL_ECANCELED;
                finish_doc(d);
            }
        }
        for (size_t i = 0; i < pl->def->nsinks; i++) {
            struct core_delivery *dl;
            while ((dl = lq_pop(&pl->sinks[i].q)) != NULL) {
                pl->lost++;
                core_engine_finish_delivery(dl, VIGIL_ECANCELED);
            }
        }
    }

    if (pl->phase == PL_STARTED) {
        uint64_t high = (uint64_t)pl->def->settings.queue_high;
        uint64_t low = (uint64_t)pl->def->settings.queue_low;
        if (!pl->paused && (pl->inflight >= high || pl->pause_due))
            pause_sources(pl, 1);
        else if (pl->paused && pl->inflight <= low)
            pause_sources(pl, 0);
    }

    for (size_t i = 0; i < pl->def->nsinks; i++) {
        struct vigil_instance *sink = &pl->sinks[i];
        if (sink->alerts) {
            progress |= core_alertsink_accept(sink);
            progress |= core_alertsink_dispatch(sink);
            continue;
        }
        size_t before = sink->q.n;
        dispatch_sink(sink);
        progress |= sink->q.n != before;
    }
    for (size_t s = pl->nsteps; s-- > 0;) {
        struct core_step *st = &pl->steps[s];
        size_t before = st->q.n;
        if (st->async)
            dispatch_async(pl, st);
        else
            dispatch_batches(pl, st, s);
        progress |= st->q.n != before;
    }
    if (pl->completed_head || pl->async_done_head)
        progress = 1;
    if (pl->phase >= PL_DRAINING)
        pipeline_advance_stop(pl);
    return progress;
}

static void pump(struct core_engine *e)
{
    if (e->in_pump)
        return;
    e->in_pump = 1;
    int progress;
    int rounds = 0;
    do {
        progress = 0;
        for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next)
            progress |= pump_pipeline(pl);
    } while (progress && ++rounds < 1000);
    e->in_pump = 0;
    check_once_drained(e);
}

/* ------------------------------------------------------------------------
 * Start
 * --------------------------------------------------------------------- */

int core_pipeline_start(struct core_pipeline *pl, struct vigil_error *err)
{
    struct vigil_instance *lists[3] = {pl->sinks, pl->transforms, pl->sources};
    size_t counts[3] = {pl->def->nsinks, pl->def->ntransforms, pl->def->nsources};
    if (pl->phase != PL_CREATED)
        return vigil_error_set(err, VIGIL_ESTATE, "pipeline '%s' already started", pl->def->name);
    /* Alerts need the outbox: refuse to start rather than accept documents
     * whose alerts could not be kept. */
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        if (pl->def->sinks[i].policy && !core_engine_outbox(pl->eng)) {
            int rc = vigil_error_set(err, VIGIL_EIO,
                                     "pipeline '%s': sink '%s' has an alert policy but the state "
                                     "database in %s cannot be used (see the error above); "
                                     "refusing to start",
                                     pl->def->name, pl->def->sinks[i].id, pl->eng->state_dir);
            destroy_pipeline(pl);
            return rc;
        }
    }
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            struct vigil_instance *ins = &lists[k][i];
            struct vigil_error perr = {0};
            if (!ins->p->start || ins->p->start(ins->state, &perr) == VIGIL_OK) {
                ins->phase = INS_STARTED;
                continue;
            }
            int rc = vigil_error_set(err, VIGIL_ERR, "pipeline '%s': %s '%s' failed to start: %s",
                                     pl->def->name, core_kind_name(ins->kind), ins->def->id,
                                     perr.msg[0] ? perr.msg : "no reason given");
            /* Undo: stop what started, then destroy everything. Sources were
             * not scheduled yet, so no document is in flight. */
            for (int k2 = 0; k2 < 3; k2++) {
                for (size_t j = 0; j < counts[k2]; j++) {
                    struct vigil_instance *o = &lists[k2][j];
                    if (o->phase == INS_STARTED && o->p->stop)
                        o->p->stop(o->state);
                    if (o->phase == INS_STARTED)
                        o->phase = INS_STOPPED;
                }
            }
            destroy_pipeline(pl);
            return rc;
        }
    }
    pl->phase = PL_STARTED;
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        if (pl->def->sinks[i].policy && core_alertsink_init(&pl->sinks[i]) != VIGIL_OK)
            core_log_write(pl->eng->cfg.log, VIGIL_LOG_ERROR, pl->def->name,
                           pl->def->sinks[i].id, "out of memory setting up alerts");
    }
    core_engine_purge_outbox(pl->eng);
    for (size_t i = 0; i < pl->def->nsources; i++) {
        struct vigil_instance *s = &pl->sources[i];
        if (!s->def->enabled)
            continue;
        int64_t delay = pl->eng->cfg.once ? 0 : jitter(pl->eng, s->def->jitter_ms);
        schedule_collect(s, delay);
    }
    core_log_write(pl->eng->cfg.log, VIGIL_LOG_INFO, pl->def->name, NULL,
                   "started: %zu source%s, %zu transform%s, %zu sink%s", pl->def->nsources,
                   pl->def->nsources == 1 ? "" : "s", pl->def->ntransforms,
                   pl->def->ntransforms == 1 ? "" : "s", pl->def->nsinks,
                   pl->def->nsinks == 1 ? "" : "s");
    return VIGIL_OK;
}

/* ------------------------------------------------------------------------
 * Stop: drain, flush, stop hooks, destroy
 * --------------------------------------------------------------------- */

static void on_grace_timer(uv_timer_t *t)
{
    struct core_pipeline *pl = t->data;
    pl->grace_expired = 1;
    if (pl->phase == PL_DRAINING) {
        core_log_write(pl->eng->cfg.log, VIGIL_LOG_WARN, pl->def->name, NULL,
                       "grace period over with %llu documents in flight; giving up on the rest",
                       (unsigned long long)pl->inflight);
        pl->abandon = 1;
    }
}

static void flush_done_cb(void *arg, int status)
{
    struct vigil_instance *ins = arg;
    ins->flush_pending = 0;
    ins->outstanding--;
    if (status != VIGIL_OK)
        ins_log(ins, VIGIL_LOG_WARN, "flush failed: %s", vigil_strerror(status));
}

static int outstanding(const struct core_pipeline *pl)
{
    int n = 0;
    for (size_t i = 0; i < pl->def->nsources; i++)
        n += pl->sources[i].outstanding;
    for (size_t i = 0; i < pl->def->ntransforms; i++)
        n += pl->transforms[i].outstanding;
    for (size_t i = 0; i < pl->def->nsinks; i++)
        n += pl->sinks[i].outstanding;
    return n;
}

static void destroy_pipeline(struct core_pipeline *pl)
{
    /* Documents still queued (abandoned) are counted and freed. */
    for (size_t s = 0; s < pl->nsteps; s++) {
        struct core_doc *d;
        while ((d = dq_pop(&pl->steps[s].q)) != NULL) {
            pl->lost++;
            d->status = VIGIL_ECANCELED;
            finish_doc(d);
        }
    }
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        struct core_delivery *dl;
        while ((dl = lq_pop(&pl->sinks[i].q)) != NULL) {
            pl->lost++;
            core_engine_finish_delivery(dl, VIGIL_ECANCELED);
        }
    }
    for (size_t t = 0; t < pl->def->ntransforms; t++) {
        struct vigil_instance *ins = &pl->transforms[t];
        for (size_t slot = 0; slot < pl->nslots; slot++) {
            size_t k = slot * pl->def->ntransforms + t;
            if (pl->winit[k] == 1 && ins->p->worker_fini)
                ins->p->worker_fini(ins->state, pl->wstate[k]);
            pl->winit[k] = 0;
        }
    }
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        struct vigil_instance *sink = &pl->sinks[i];
        if (!sink->alerts)
            continue;
        int64_t pending = core_alertsink_pending(sink);
        if (pending > 0)
            core_log_write(pl->eng->cfg.log, VIGIL_LOG_WARN, pl->def->name, sink->def->id,
                           "%lld alert%s wait in the outbox; they will be delivered when this "
                           "pipeline starts again",
                           (long long)pending, pending == 1 ? "" : "s");
        core_alertsink_close(sink);
    }
    for (size_t i = 0; i < pl->def->nsources; i++)
        destroy_instance(&pl->sources[i]);
    for (size_t i = 0; i < pl->def->ntransforms; i++)
        destroy_instance(&pl->transforms[i]);
    for (size_t i = 0; i < pl->def->nsinks; i++)
        destroy_instance(&pl->sinks[i]);
    if (pl->grace_timer) {
        uv_close((uv_handle_t *)pl->grace_timer, (uv_close_cb)free);
        pl->grace_timer = NULL;
    }
    if (pl->lost)
        core_log_write(pl->eng->cfg.log, VIGIL_LOG_ERROR, pl->def->name, NULL,
                       "%llu document%s could not be delivered before shutdown",
                       (unsigned long long)pl->lost, pl->lost == 1 ? "" : "s");
    pl->phase = PL_DESTROYED;
}

static void stop_stage_hooks(struct core_pipeline *pl)
{
    for (size_t i = 0; i < pl->def->ntransforms; i++) {
        struct vigil_instance *ins = &pl->transforms[i];
        if (ins->phase == INS_STARTED) {
            ins->phase = INS_STOPPED;
            if (ins->p->stop)
                ins->p->stop(ins->state);
        }
    }
    for (size_t i = 0; i < pl->def->nsinks; i++) {
        struct vigil_instance *ins = &pl->sinks[i];
        /* Deliveries waiting for a retry will not get one now. */
        if (ins->phase == INS_STARTED) {
            ins->phase = INS_STOPPED;
            if (ins->p->stop)
                ins->p->stop(ins->state);
        }
    }
}

static void pipeline_advance_stop(struct core_pipeline *pl)
{
    struct core_engine *e = pl->eng;
    for (;;) {
        switch (pl->phase) {
        case PL_DRAINING: {
            int waiting_retries = 0;
            for (size_t i = 0; i < pl->def->nsinks; i++)
                waiting_retries += (int)pl->sinks[i].retry_waiting;
            if (pl->grace_expired && waiting_retries)
                cancel_retries(pl);
            if (!pipeline_idle(pl) && !pl->abandon)
                return;
            /* Alerts already accepted are safe in the outbox; use the grace
             * period to deliver them, but they are not lost if it ends. */
            if (!pl->grace_expired && !alerts_idle(pl))
                return;
            if (pl->abandon && (pl->jobs > 0 || outstanding(pl) > 0)) {
                /* Let running jobs and deliveries come back first. */
                if (wall_ms() < pl->stop_deadline_ms)
                    return;
            } else if (!pipeline_idle(pl) && !pl->abandon) {
                return;
            }
            pl->phase = PL_FLUSHING;
            for (size_t i = 0; i < pl->def->nsinks; i++) {
                struct vigil_instance *s = &pl->sinks[i];
                if (s->phase == INS_STARTED && s->p->flush) {
                    s->flush_pending = 1;
                    s->outstanding++;
                    if (s->p->flush(s->state, flush_done_cb, s) != VIGIL_OK) {
                        s->flush_pending = 0;
                        s->outstanding--;
                    }
                }
            }
            break;
        }
        case PL_FLUSHING: {
            for (size_t i = 0; i < pl->def->nsinks; i++) {
                if (pl->sinks[i].flush_pending && wall_ms() < pl->stop_deadline_ms)
                    return;
            }
            stop_stage_hooks(pl);
            cancel_retries(pl);
            pl->phase = PL_STOPPING;
            break;
        }
        case PL_STOPPING:
            if ((outstanding(pl) > 0 || pl->jobs > 0) && wall_ms() < pl->stop_deadline_ms)
                return;
            if (pl->completed_head)
                handle_completed(pl);
            if (outstanding(pl) > 0 || pl->jobs > 0) {
                core_log_write(e->cfg.log, VIGIL_LOG_ERROR, pl->def->name, NULL,
                               "%d callback%s never came back after stop; not destroying the "
                               "stages (a plugin bug)",
                               outstanding(pl), outstanding(pl) == 1 ? "" : "s");
                /* Documents nobody confirmed by the deadline are lost, not
                 * "in flight": the run must say so (exit status 4). */
                if (pl->inflight > 0) {
                    core_log_write(e->cfg.log, VIGIL_LOG_ERROR, pl->def->name, NULL,
                                   "%llu document%s abandoned unconfirmed at the stop deadline",
                                   (unsigned long long)pl->inflight,
                                   pl->inflight == 1 ? "" : "s");
                    pl->lost += pl->inflight;
                    pl->inflight = 0;
                }
                pl->phase = PL_DESTROYED;
                return;
            }
            destroy_pipeline(pl);
            return;
        default: return;
        }
    }
}

static void stop_sources(struct core_pipeline *pl)
{
    for (size_t i = 0; i < pl->def->nsources; i++) {
        struct vigil_instance *s = &pl->sources[i];
        if (s->sched)
            uv_timer_stop(s->sched);
        if (s->phase == INS_STARTED) {
            s->phase = INS_STOPPED;
            if (s->p->stop)
                s->p->stop(s->state);
        }
    }
}

static void engine_finish(struct core_engine *e);

static void destroy_unstarted(struct core_pipeline *pl)
{
    for (size_t i = 0; i < pl->def->nsources; i++)
        destroy_instance(&pl->sources[i]);
    for (size_t i = 0; i < pl->def->ntransforms; i++)
        destroy_instance(&pl->transforms[i]);
    for (size_t i = 0; i < pl->def->nsinks; i++)
        destroy_instance(&pl->sinks[i]);
    pl->phase = PL_DESTROYED;
}

static void on_stop_tick(uv_timer_t *t)
{
    struct core_engine *e = t->data;
    pump(e);
    int stopping = 0;
    struct core_pipeline **pp = &e->pipelines;
    while (*pp) {
        struct core_pipeline *pl = *pp;
        if (pl->phase == PL_DESTROYED && pl->remove_when_stopped) {
            /* Stopped on its own (reload): unlink, report, free. */
            *pp = pl->next;
            e->lost += pl->lost;
            if (pl->stop_done)
                pl->stop_done(pl->stop_arg, pl->lost);
            free_pipeline(pl);
            continue;
        }
        if (pl->phase >= PL_DRAINING && pl->phase < PL_DESTROYED)
            stopping = 1;
        pp = &pl->next;
    }
    if (e->stopping) {
        int all = 1;
        for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next)
            all &= pl->phase == PL_DESTROYED || pl->phase == PL_CREATED;
        if (!all)
            return;
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, (uv_close_cb)free);
        e->stop_tick = NULL;
        engine_finish(e);
    } else if (!stopping) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, (uv_close_cb)free);
        e->stop_tick = NULL;
    }
}

/* A ticking timer drives stop sequences even when nothing else happens on
 * the loop (the prepare handle alone does not wake it). */
static void ensure_stop_tick(struct core_engine *e)
{
    if (e->stop_tick)
        return;
    e->stop_tick = malloc(sizeof *e->stop_tick);
    if (!e->stop_tick)
        return;
    uv_timer_init(e->loop, e->stop_tick);
    e->stop_tick->data = e;
    uv_timer_start(e->stop_tick, on_stop_tick, 0, 20);
}

static void on_store_closed_http(void *arg)
{
    struct core_engine *e = arg;
    if (e->stop_done)
        e->stop_done(e->stop_arg, e->lost);
}

static void engine_finish(struct core_engine *e)
{
    /* Pipelines created but never started were never given documents. */
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        if (pl->phase == PL_CREATED)
            destroy_unstarted(pl);
        else if (!pl->remove_when_stopped)
            e->lost += pl->lost;
    }
    uv_prepare_stop(&e->prepare);
    uv_close((uv_handle_t *)&e->prepare, NULL);
    uv_timer_stop(&e->commit_timer);
    uv_close((uv_handle_t *)&e->commit_timer, NULL);
    if (e->purge_timer) {
        uv_close((uv_handle_t *)e->purge_timer, (uv_close_cb)free);
        e->purge_timer = NULL;
    }
    core_outbox_close(e->outbox);
    e->outbox = NULL;
    core_cluster_close(e->cluster);
    e->cluster = NULL;
    e->cluster_claim = NULL;
    if (e->store) {
        core_store_commit(e->store);
        core_store_close(e->store);
        e->store = NULL;
    }
    core_workers_close(e->workers);
    e->workers = NULL;
    core_host_http_close(e, on_store_closed_http, e);
}

static void begin_stop(struct core_pipeline *pl)
{
    struct core_engine *e = pl->eng;
    if (pl->phase == PL_CREATED) {
        destroy_unstarted(pl);
        return;
    }
    if (pl->phase != PL_STARTED)
        return;
    stop_sources(pl);
    for (size_t i = 0; i < pl->def->nsinks; i++)
        core_alertsink_flush(&pl->sinks[i]);
    pl->phase = PL_DRAINING;
    int64_t grace = pl->def->settings.grace_ms;
    pl->stop_deadline_ms = wall_ms() + grace + STOP_HARD_DEADLINE_MS;
    pl->grace_timer = malloc(sizeof *pl->grace_timer);
    if (pl->grace_timer) {
        uv_timer_init(e->loop, pl->grace_timer);
        pl->grace_timer->data = pl;
        uv_timer_start(pl->grace_timer, on_grace_timer, (uint64_t)grace, 0);
    }
    core_log_write(e->cfg.log, VIGIL_LOG_INFO, pl->def->name, NULL,
                   "stopping: draining %llu document%s in flight (grace %lld ms)",
                   (unsigned long long)pl->inflight, pl->inflight == 1 ? "" : "s",
                   (long long)grace);
}

void core_pipeline_stop(struct core_pipeline *pl, void (*done)(void *arg, uint64_t lost),
                        void *arg)
{
    pl->remove_when_stopped = 1;
    pl->stop_done = done;
    pl->stop_arg = arg;
    begin_stop(pl);
    ensure_stop_tick(pl->eng);
}

void core_engine_stop(struct core_engine *e, void (*done)(void *arg, uint64_t lost), void *arg)
{
    if (e->stopping)
        return;
    e->stopping = 1;
    e->stop_done = done;
    e->stop_arg = arg;
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next)
        begin_stop(pl);
    ensure_stop_tick(e);
}

struct core_pipeline *core_engine_find(struct core_engine *e, const char *name)
{
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        if (!pl->remove_when_stopped && strcmp(pl->def->name, name) == 0)
            return pl;
    }
    return NULL;
}

struct core_pipeline *core_engine_next(struct core_engine *e, struct core_pipeline *pl)
{
    return pl ? pl->next : e->pipelines;
}

int core_pipeline_running(const struct core_pipeline *pl)
{
    return pl->phase == PL_STARTED;
}

void core_engine_free(struct core_engine *e)
{
    if (!e)
        return;
    struct core_pipeline *pl = e->pipelines;
    while (pl) {
        struct core_pipeline *next = pl->next;
        free_pipeline(pl);
        pl = next;
    }
    core_cluster_close(e->cluster); /* when it was never stopped */
    pthread_mutex_destroy(&e->store_mu);
    free(e->state_dir);
    free(e);
}

/* ------------------------------------------------------------------------
 * Outbox retention
 * --------------------------------------------------------------------- */

static void on_purge(uv_timer_t *t)
{
    struct core_engine *e = t->data;
    int64_t retention = 0;
    if (!e->outbox)
        return;
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        for (size_t i = 0; i < pl->def->nsinks; i++) {
            const struct core_alert_policy *p = pl->def->sinks[i].policy;
            if (p && p->retention_ms > retention)
                retention = p->retention_ms;
        }
    }
    if (retention > 0) {
        int n = core_outbox_purge(e->outbox, wall_ms(), retention);
        if (n > 0)
            core_log_debug(e->cfg.log, "outbox", "purged %d rows older than the retention", n);
    }
}

/* Keep the outbox bounded: delivered alerts and dead letters older than
 * the longest retention go, once at start and every hour. */
void core_engine_purge_outbox(struct core_engine *e)
{
    if (e->purge_timer || !e->outbox)
        return;
    e->purge_timer = malloc(sizeof *e->purge_timer);
    if (!e->purge_timer)
        return;
    uv_timer_init(e->loop, e->purge_timer);
    e->purge_timer->data = e;
    uv_timer_start(e->purge_timer, on_purge, 0, 3600000);
    uv_unref((uv_handle_t *)e->purge_timer);
}

/* ------------------------------------------------------------------------
 * Statistics
 * --------------------------------------------------------------------- */

static void stage_stats(const struct vigil_instance *ins, uint64_t queued,
                        struct core_stage_stats *ss)
{
    pthread_mutex_lock(&ins->pl->err_mu);
    memcpy(ss->last_error, ins->last_error, sizeof ss->last_error);
    ss->last_error_at = ins->last_error_at;
    pthread_mutex_unlock(&ins->pl->err_mu);
    ss->next_run_ms = -1;
    if (ins->kind == VIGIL_SOURCE) {
        ss->running = ins->collecting;
        if (ins->sched && uv_is_active((uv_handle_t *)ins->sched))
            ss->next_run_ms = wall_ms() + (int64_t)uv_timer_get_due_in(ins->sched);
    }
    ss->id = ins->def->id;
    ss->plugin = ins->p->name;
    ss->kind = ins->kind;
    ss->in = ins->n_in;
    ss->out = ins->n_out;
    ss->dropped = ins->n_dropped;
    ss->errors = ins->n_errors;
    ss->retries = ins->n_retries;
    ss->failed = ins->n_failed;
    ss->queued = queued;
}

void core_engine_stats(struct core_engine *e,
                       void (*pipeline_cb)(void *arg, const struct core_pipeline_stats *ps),
                       void (*stage_cb)(void *arg, const struct core_stage_stats *ss), void *arg)
{
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next)
        core_pipeline_stats(pl, pipeline_cb, stage_cb, arg);
}

void core_pipeline_stats(struct core_pipeline *pl,
                         void (*pipeline_cb)(void *arg, const struct core_pipeline_stats *ps),
                         void (*stage_cb)(void *arg, const struct core_stage_stats *ss),
                         void *arg)
{
    {
        struct core_pipeline_stats ps = {pl->def->name, pl->emitted, pl->finished, pl->lost,
                                         pl->inflight, pl->paused, pl->phase == PL_STARTED,
                                         pl->def->file, pl->def->description};
        if (pipeline_cb)
            pipeline_cb(arg, &ps);
        if (!stage_cb)
            return;
        struct core_stage_stats ss;
        for (size_t i = 0; i < pl->def->nsources; i++) {
            memset(&ss, 0, sizeof ss);
            stage_stats(&pl->sources[i], 0, &ss);
            stage_cb(arg, &ss);
        }
        for (size_t i = 0; i < pl->def->ntransforms; i++) {
            uint64_t queued = 0;
            for (size_t s = 0; s < pl->nsteps; s++) {
                if (pl->steps[s].first == i)
                    queued = pl->steps[s].q.n;
            }
            memset(&ss, 0, sizeof ss);
            stage_stats(&pl->transforms[i], queued, &ss);
            stage_cb(arg, &ss);
        }
        for (size_t i = 0; i < pl->def->nsinks; i++) {
            memset(&ss, 0, sizeof ss);
            stage_stats(&pl->sinks[i], pl->sinks[i].q.n + pl->sinks[i].retry_waiting, &ss);
            stage_cb(arg, &ss);
        }
    }
}

void core_engine_counters(struct core_engine *e, core_counter_cb cb, void *arg)
{
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        struct vigil_instance *lists[3] = {pl->sources, pl->transforms, pl->sinks};
        size_t counts[3] = {pl->def->nsources, pl->def->ntransforms, pl->def->nsinks};
        for (int k = 0; k < 3; k++) {
            for (size_t i = 0; i < counts[k]; i++) {
                for (struct vigil_counter *c = lists[k][i].counters; c; c = c->next)
                    cb(arg, pl->def->name, lists[k][i].def->id, c->name, c->help,
                       atomic_load_explicit(&c->value, memory_order_relaxed));
            }
        }
    }
}

int core_engine_http_stats(struct core_engine *e, struct core_http_stats *out)
{
    if (!e->http)
        return VIGIL_ENOTFOUND;
    core_http_stats(e->http, out);
    return VIGIL_OK;
}

void core_engine_alert_stats(struct core_engine *e,
                             void (*cb)(void *arg, const struct core_alert_stats *st), void *arg)
{
    for (struct core_pipeline *pl = e->pipelines; pl; pl = pl->next) {
        for (size_t i = 0; i < pl->def->nsinks; i++) {
            if (!pl->def->sinks[i].policy)
                continue;
            struct core_alert_stats st = {pl->def->name, pl->def->sinks[i].id, 0, 0, 0, 0};
            if (e->outbox) {
                core_outbox_pending(e->outbox, st.pipeline, st.sink, &st.pending,
                                    &st.oldest_pending_ms);
                core_outbox_counts(e->outbox, st.pipeline, st.sink, &st.delivered, &st.dead);
            }
            cb(arg, &st);
        }
    }
}

static struct vigil_instance *push_source(const struct core_pipeline *pl)
{
    for (size_t i = 0; i < pl->def->nsources; i++) {
        if (!strcmp(pl->sources[i].p->name, "push") && !strcmp(pl->sources[i].def->plugin->path,
                                                             "(built-in)"))
            return &pl->sources[i];
    }
    return NULL;
}

int core_pipeline_has_push(const struct core_pipeline *pl)
{
    return push_source(pl) != NULL;
}

int core_pipeline_busy(const struct core_pipeline *pl)
{
    return pl->inflight >= (uint64_t)pl->def->settings.queue_high;
}

uint64_t core_pipeline_room(const struct core_pipeline *pl)
{
    uint64_t high = (uint64_t)pl->def->settings.queue_high;
    return pl->inflight >= high ? 0 : high - pl->inflight;
}

uint64_t core_pipeline_queue_high(const struct core_pipeline *pl)
{
    return (uint64_t)pl->def->settings.queue_high;
}

void core_pipeline_prepare_push(struct core_pipeline *pl, json_t *doc)
{
    struct vigil_instance *src = push_source(pl);
    if (src && json_is_object(doc))
        set_default_fields(src, doc);
}

int core_pipeline_push(struct core_pipeline *pl, json_t *doc, vigil_ack_cb ack, void *arg)
{
    struct vigil_instance *src = push_source(pl);
    if (!src) {
        json_decref(doc);
        return VIGIL_ENOTFOUND;
    }
    if (pl->phase != PL_STARTED || src->phase != INS_STARTED) {
        json_decref(doc);
        return VIGIL_ECANCELED;
    }
    return core_push_emit(src->state, doc, ack, arg);
}
