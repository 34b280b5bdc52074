/*
 * core/engine - runs pipelines on one libuv loop.
 *
 * Documents enter through host->emit (sources), wait in the pipeline's
 * queues, run through the transforms (synchronous ones in batches on the
 * worker pool, asynchronous ones on the loop), and are handed to every sink
 * whose `when` matches. The pipeline holds at most settings.queue_high
 * documents: above that sources are paused, below queue_low resumed. A
 * failing stage on one document is logged with the document id, counted and
 * recorded in meta.errors; the pipeline goes on.
 *
 * Loop thread only, except where a function says otherwise.
 * docs/engine.md describes the design.
 */
#ifndef VIGIL_CORE_ENGINE_H
#define VIGIL_CORE_ENGINE_H

#include <stdint.h>

#include <uv.h>

#include "loader.h"
#include "log.h"
#include "pipeline.h"

struct core_engine;
struct core_pipeline;

struct core_engine_config {
    const struct core_log *log;   /* borrowed, outlives the engine */
    struct core_loader *loader;   /* borrowed, outlives the engine */
    int workers;                  /* threads; -1 = one per CPU */
    int once;                     /* one pass of every source, then drain */
    const char *state_dir;        /* NULL = default (see docs/cli.md) */
    const struct core_http_settings *http; /* shared client; NULL = defaults */
    /* Cluster-wide claims (docs/scale-out.md); NULL = the local store. Read
     * at creation only. */
    const struct core_cluster_settings *cluster;
    int64_t archive_retention_ms; /* default for archive sinks without one; 0 = 30d */
    /* Called once when, in once mode, every source finished its pass and
     * every pipeline is empty. */
    void (*on_drained)(void *arg);
    void *arg;
};

int core_engine_create(uv_loop_t *loop, const struct core_engine_config *cfg,
                       struct core_engine **out, struct vigil_error *err);

/*
 * Create every stage of a validated pipeline (plugin create hooks) and add
 * it to the engine, stopped. Takes def. On failure nothing is added, the
 * stages created so far are destroyed and err names the stage.
 */
int core_engine_add(struct core_engine *e, struct core_pipeline_def *def,
                    struct core_pipeline **out, struct vigil_error *err);

/* Start hooks, then source schedules. On failure the pipeline is stopped
 * and err names the stage; other pipelines are unaffected. */
int core_pipeline_start(struct core_pipeline *pl, struct vigil_error *err);

/*
 * Graceful stop of every pipeline: sources stop, documents in flight drain
 * for up to each pipeline's grace period, sinks flush, stages stop and are
 * destroyed, the state store is committed and closed, the engine's handles
 * close. done(arg, lost) runs when all of that is over; lost counts the
 * documents that could not be delivered in time.
 */
void core_engine_stop(struct core_engine *e, void (*done)(void *arg, uint64_t lost), void *arg);

/*
 * Stop one pipeline (reload, removal): the same drain as core_engine_stop,
 * then the pipeline is destroyed, removed from the engine and freed;
 * done(arg, lost) runs just before it is freed. Other pipelines go on.
 */
void core_pipeline_stop(struct core_pipeline *pl, void (*done)(void *arg, uint64_t lost),
                        void *arg);

/* Pipelines by name (NULL if none or stopping for removal), and in order
 * (pl NULL = first). */
struct core_pipeline *core_engine_find(struct core_engine *e, const char *name);
struct core_pipeline *core_engine_next(struct core_engine *e, struct core_pipeline *pl);
int core_pipeline_running(const struct core_pipeline *pl);

/* Free the engine after stop completed and the loop ran dry. */
void core_engine_free(struct core_engine *e);

/* Statistics of one stage, for summaries and metrics. */
struct core_stage_stats {
    const char *id;
    const char *plugin;
    int kind;
    uint64_t in, out, dropped, errors;
    uint64_t retries, failed; /* sinks */
    uint64_t queued;          /* waiting in front of this stage */
    char last_error[256];     /* latest error message, "" if none */
    int64_t last_error_at;    /* ms since the epoch, 0 if none */
    int64_t next_run_ms;      /* sources: when the next pass starts (ms since
                                 the epoch), -1 if none is scheduled */
    int running;              /* sources: a pass is in progress */
};

struct core_pipeline_stats {
    const char *name;
    uint64_t emitted, finished, lost;
    uint64_t inflight;
    int paused;
    int running;       /* started and not stopping */
    const char *file;  /* the pipeline file */
    const char *description;
};

/* Visit pipelines and their stages. */
void core_engine_stats(struct core_engine *e,
                       void (*pipeline_cb)(void *arg, const struct core_pipeline_stats *ps),
                       void (*stage_cb)(void *arg, const struct core_stage_stats *ss), void *arg);

/* Stages of one pipeline only (same callbacks). */
void core_pipeline_stats(struct core_pipeline *pl,
                         void (*pipeline_cb)(void *arg, const struct core_pipeline_stats *ps),
                         void (*stage_cb)(void *arg, const struct core_stage_stats *ss),
                         void *arg);

/* Every plugin counter (host->counter) with its stage. */
typedef void (*core_counter_cb)(void *arg, const char *pipeline, const char *stage,
                                const char *name, const char *help, uint64_t value);
void core_engine_counters(struct core_engine *e, core_counter_cb cb, void *arg);

/* The shared HTTP client's counters; VIGIL_ENOTFOUND when no request was
 * made yet. */
struct core_http_stats;
int core_engine_http_stats(struct core_engine *e, struct core_http_stats *out);

/* The alert outbox (opened on first use); NULL when the state database is
 * unavailable. */
struct core_outbox *core_engine_outbox(struct core_engine *e);

/* Outbox figures per alert sink. */
struct core_alert_stats {
    const char *pipeline;
    const char *sink;
    int64_t pending;    /* waiting (or collected for a digest) */
    int64_t delivered;  /* still within retention */
    int64_t dead;
    int64_t oldest_pending_ms; /* creation time of the oldest pending, 0 if none */
};
void core_engine_alert_stats(struct core_engine *e,
                             void (*cb)(void *arg, const struct core_alert_stats *st), void *arg);

/* Hand a pushed document to the pipeline's `push` source (takes doc).
 * VIGIL_ENOTFOUND when the pipeline has no push source, VIGIL_ECANCELED
 * when it is stopping; VIGIL_EAGAIN means accepted but over the high mark. */
int core_pipeline_push(struct core_pipeline *pl, json_t *doc, vigil_ack_cb ack, void *arg);
/* Fill what emit would fill (id, source, fetched) before pushing, so the
 * caller knows the id without touching the document afterwards. */
void core_pipeline_prepare_push(struct core_pipeline *pl, json_t *doc);
/* Alert sinks look at the outbox again (after `retry` requeued alerts). */
void core_engine_alerts_wake(struct core_engine *e);
/* Whether the pipeline is over its high watermark (push clients should back
 * off). */
int core_pipeline_busy(const struct core_pipeline *pl);
/* Documents the pipeline takes before reaching queue_high, and queue_high
 * itself (push ingest refuses requests that would pass it). */
uint64_t core_pipeline_room(const struct core_pipeline *pl);
uint64_t core_pipeline_queue_high(const struct core_pipeline *pl);
/* Whether the pipeline has a push source. */
int core_pipeline_has_push(const struct core_pipeline *pl);

/* --- Single-document runs (vigil try, vigil test) ------------------------ */

/*
 * Run transform number index of pl on doc (which the caller keeps owning),
 * on the calling (loop) thread; asynchronous transforms run the loop until
 * they finish. Returns VIGIL_PASS, VIGIL_DROP, or a negative status with
 * err filled. The pipeline must have been started.
 */
int core_pipeline_run_transform(struct core_pipeline *pl, size_t index, json_t *doc,
                                struct vigil_error *err);
const struct core_pipeline_def *core_pipeline_definition(const struct core_pipeline *pl);

#endif
