/*
 * core/engine_internal - structures shared by engine.c (scheduling) and
 * host.c (the function table plugins call). Nothing outside the engine
 * includes this.
 */
#ifndef VIGIL_CORE_ENGINE_INTERNAL_H
#define VIGIL_CORE_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "engine.h"
#include "store.h"
#include "workers.h"

struct core_http;
struct core_outbox;
struct core_alertsink;

/* A document in flight, owned by the engine. */
struct core_doc {
    struct core_doc *next;
    json_t *json;
    struct core_pipeline *pl;
    uint32_t step;      /* next step to run */
    int32_t pending;    /* sink deliveries not yet finished */
    int status;         /* what the ack callback will report */
    uint8_t dropped;    /* a stage dropped it (on purpose or on error) */
    uint64_t sinkmask;  /* sinks whose `when` matched (first 64 sinks) */
    vigil_ack_cb ack;
    void *ack_arg;
};

struct doc_queue {
    struct core_doc *head, *tail;
    size_t n;
};

/* One document on its way to one sink. */
struct core_delivery {
    struct core_delivery *next;
    struct core_delivery *prev; /* only in a sink's retry list */
    struct core_doc *doc;
    struct vigil_instance *sink;
    struct vigil_delivery d;
    uv_timer_t *retry_timer; /* while waiting for a retry */
    int result;
    int64_t retry_after_ms;
    char reason[256];
    uint8_t in_flight; /* deliver() called, done not yet */
};

struct dlv_queue {
    struct core_delivery *head, *tail;
    size_t n;
};

struct vigil_timer {
    uv_timer_t handle;
    struct vigil_instance *ins;
    vigil_timer_cb cb;
    void *arg;
    struct vigil_timer *next; /* instance's list, to close leftovers */
    int closing;
};

struct vigil_counter {
    struct vigil_counter *next;
    char *name;
    char *help;
    _Atomic uint64_t value;
};

enum ins_phase { INS_NEW = 0, INS_CREATED, INS_STARTED, INS_STOPPED, INS_DESTROYED };

struct vigil_instance {
    struct core_pipeline *pl;
    const struct core_stage_def *def;
    const struct vigil_plugin *p;
    void *state;
    int kind;
    size_t index;
    int phase;
    char ns[160]; /* "pipeline/stage", the kv namespace */

    _Atomic uint64_t n_in, n_out, n_dropped, n_errors, n_retries, n_failed;
    char last_error[256]; /* guarded by the pipeline's err_mu */
    int64_t last_error_at;
    struct vigil_counter *counters;
    struct vigil_timer *timers;
    int outstanding; /* callbacks the plugin still owes us */

    /* sources */
    uv_timer_t *sched;
    int collecting;
    int pass_done_once;
    int paused;
    /* transforms */
    pthread_mutex_t serial_mu;
    int serial;
    /* sinks */
    struct dlv_queue q;
    size_t inflight;
    size_t retry_waiting;
    struct core_delivery *retry_list; /* waiting for their retry timer */
    int flush_pending;
    struct core_alertsink *alerts; /* sinks with an alert policy */
};

/* A run of consecutive transforms: synchronous ones run as one batch on a
 * worker; an asynchronous one is a step of its own on the loop. */
struct core_step {
    int async;
    size_t first, count;
    struct doc_queue q;
    size_t inflight;
};

struct core_batch {
    struct core_job job;
    struct core_pipeline *pl;
    uint32_t step;
    struct core_doc *docs;
    size_t n;
};

enum pl_phase {
    PL_CREATED = 0,
    PL_STARTED,
    PL_DRAINING,  /* sources stopped; documents finishing */
    PL_FLUSHING,  /* sinks flushing */
    PL_STOPPING,  /* stop hooks called; waiting for callbacks */
    PL_DESTROYED
};

struct core_pipeline {
    struct core_pipeline *next;
    struct core_engine *eng;
    struct core_pipeline_def *def;
    struct vigil_instance *sources, *transforms, *sinks;
    struct core_step *steps;
    size_t nsteps;
    void **wstate;          /* [slot * ntransforms + t] */
    unsigned char *winit;
    size_t nslots;
    uint64_t inflight;
    uint64_t emitted, finished, lost;
    int paused;
    int pause_due;          /* emit answered EAGAIN: pause at the next pump even
                               if the queue shrank meanwhile, so that a resume
                               always follows */
    int phase;
    int jobs;               /* batches on the worker pool */
    int abandon;            /* grace expired: drop what is queued */
    int drained_reported;
    uv_timer_t *grace_timer;
    int grace_expired;
    int64_t stop_deadline_ms;
    int remove_when_stopped; /* core_pipeline_stop: unlink and free when done */
    void (*stop_done)(void *arg, uint64_t lost);
    void *stop_arg;
    struct core_delivery *completed_head, *completed_tail; /* sink dones */
    struct core_doc *async_done_head, *async_done_tail;     /* async transform dones */
    int warned_overflow;
    pthread_mutex_t err_mu; /* last_error of every stage */
};

struct core_engine {
    uv_loop_t *loop;
    struct core_engine_config cfg;
    pthread_t loop_thread;
    struct core_workers *workers;
    uv_prepare_t prepare;
    uv_timer_t commit_timer;
    struct core_store *store;
    int store_failed;
    char *state_dir;
    pthread_mutex_t store_mu;
    struct core_http *http;
    int http_failed;
    /* Cluster-wide claims (docs/scale-out.md); NULL = the local store. */
    void *cluster;
    int (*cluster_claim)(void *cluster, const char *ns, const char *key, const char *owner,
                         int64_t ttl_ms, char *holder, size_t holder_len);
    struct core_outbox *outbox; /* opened when the first alert sink starts */
    int outbox_failed;
    uv_timer_t *purge_timer;
    struct core_pipeline *pipelines;
    int stopping;
    int stopped_reported;
    uv_timer_t *stop_tick;
    int handles_open;
    void (*stop_done)(void *arg, uint64_t lost);
    void *stop_arg;
    uint64_t lost;
    uint64_t rng; /* xorshift state for jitter */
    int in_pump;
};

/* engine.c */
int core_engine_on_loop(const struct core_engine *e);
uint64_t core_engine_random(struct core_engine *e);
struct core_store *core_engine_store(struct core_engine *e);
const char *core_engine_state_dir(struct core_engine *e);
int core_engine_emit(struct vigil_instance *ins, json_t *doc, vigil_ack_cb ack, void *arg);
void core_engine_pass_done(void *arg, int status);
/* Remember the latest error of a stage (any thread). */
void core_engine_note_error(struct vigil_instance *ins, const char *fmt, ...) VIGIL_PRINTF(2, 3);
/* A document's delivery to one sink is over (engine.c). */
void core_engine_finish_delivery(struct core_delivery *dl, int status);

/* engine_alerts.c: sinks with an alert policy */
int core_alertsink_init(struct vigil_instance *sink);
int core_alertsink_accept(struct vigil_instance *sink);
int core_alertsink_dispatch(struct vigil_instance *sink);
int core_alertsink_idle(struct vigil_instance *sink);
void core_alertsink_flush(struct vigil_instance *sink);
int64_t core_alertsink_pending(struct vigil_instance *sink);
void core_alertsink_close(struct vigil_instance *sink);
void core_engine_purge_outbox(struct core_engine *e);

/* host.c */
extern const struct vigil_host core_host_table;
void core_host_close_timers(struct vigil_instance *ins);
void core_host_free_counters(struct vigil_instance *ins);
void core_host_http_close(struct core_engine *e, void (*closed)(void *arg), void *arg);

#endif
