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
};

struct core_pipeline_stats {
    const char *name;
    uint64_t emitted, finished, lost;
    uint64_t inflight;
    int paused;
};

/* Visit pipelines and their stages. */
void core_engine_stats(struct core_engine *e,
                       void (*pipeline_cb)(void *arg, const struct core_pipeline_stats *ps),
                       void (*stage_cb)(void *arg, const struct core_stage_stats *ss), void *arg);

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
