/*
 * core/metrics - the daemon's counters in the Prometheus text exposition
 * format (version 0.0.4): one HELP and TYPE line per family, label values
 * escaped, histogram buckets cumulative with +Inf, _sum and _count.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "buf.h"
#include "daemon.h"
#include "http.h"

/* Label values escape backslash, double quote and newline. */
static void label(struct buf *b, const char *name, const char *value)
{
    buf_printf(b, "%s=\"", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            buf_append_str(b, "\\\\");
        else if (*p == '"')
            buf_append_str(b, "\\\"");
        else if (*p == '\n')
            buf_append_str(b, "\\n");
        else
            buf_append(b, p, 1);
    }
    buf_append_str(b, "\"");
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct ctx {
    struct buf *b;
    const char *metric;
    int which;
    const char *pipeline;
};

enum {
    M_PIPE_EMITTED,
    M_PIPE_FINISHED,
    M_PIPE_LOST,
    M_PIPE_INFLIGHT,
    M_PIPE_PAUSED,
    M_PIPE_UP,
    M_STAGE_IN,
    M_STAGE_OUT,
    M_STAGE_DROPPED,
    M_STAGE_ERRORS,
    M_STAGE_QUEUED,
    M_SINK_RETRIES,
    M_SINK_FAILED
};

static void pipeline_row(void *arg, const struct core_pipeline_stats *ps)
{
    struct ctx *c = arg;
    uint64_t v = 0;
    switch (c->which) {
    case M_PIPE_EMITTED: v = ps->emitted; break;
    case M_PIPE_FINISHED: v = ps->finished; break;
    case M_PIPE_LOST: v = ps->lost; break;
    case M_PIPE_INFLIGHT: v = ps->inflight; break;
    case M_PIPE_PAUSED: v = (uint64_t)ps->paused; break;
    case M_PIPE_UP: v = (uint64_t)ps->running; break;
    }
    buf_printf(c->b, "%s{", c->metric);
    label(c->b, "pipeline", ps->name);
    buf_printf(c->b, "} %llu\n", (unsigned long long)v);
}

static void pipeline_name(void *arg, const struct core_pipeline_stats *ps)
{
    ((struct ctx *)arg)->pipeline = ps->name;
}

static void stage_row(void *arg, const struct core_stage_stats *ss)
{
    struct ctx *c = arg;
    uint64_t v;
    switch (c->which) {
    case M_STAGE_IN: v = ss->in; break;
    case M_STAGE_OUT: v = ss->out; break;
    case M_STAGE_DROPPED: v = ss->dropped; break;
    case M_STAGE_ERRORS: v = ss->errors; break;
    case M_STAGE_QUEUED: v = ss->queued; break;
    case M_SINK_RETRIES:
        if (ss->kind != VIGIL_SINK)
            return;
        v = ss->retries;
        break;
    case M_SINK_FAILED:
        if (ss->kind != VIGIL_SINK)
            return;
        v = ss->failed;
        break;
    default: return;
    }
    buf_printf(c->b, "%s{", c->metric);
    label(c->b, "pipeline", c->pipeline);
    buf_append_str(c->b, ",");
    label(c->b, "stage", ss->id);
    buf_append_str(c->b, ",");
    label(c->b, "plugin", ss->plugin);
    buf_append_str(c->b, ",");
    label(c->b, "kind",
          ss->kind == VIGIL_SOURCE ? "source" : ss->kind == VIGIL_TRANSFORM ? "transform" : "sink");
    buf_printf(c->b, "} %llu\n", (unsigned long long)v);
}

static void stages(struct core_engine *e, struct ctx *c)
{
    for (struct core_pipeline *pl = core_engine_next(e, NULL); pl; pl = core_engine_next(e, pl)) {
        core_pipeline_stats(pl, pipeline_name, NULL, c);
        core_pipeline_stats(pl, NULL, stage_row, c);
    }
}

/* Plugin counters: one family per counter name, rows per stage. The
 * families are emitted grouped, so collect them first. */
struct counter_row {
    char *name, *help, *pipeline, *stage;
    uint64_t value;
};

struct counters {
    struct counter_row *v;
    size_t n, cap;
};

static void collect_counter(void *arg, const char *pipeline, const char *stage, const char *name,
                            const char *help, uint64_t value)
{
    struct counters *cs = arg;
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 32;
        struct counter_row *v = realloc(cs->v, cap * sizeof *v);
        if (!v)
            return;
        cs->v = v;
        cs->cap = cap;
    }
    cs->v[cs->n++] = (struct counter_row){strdup(name), strdup(help ? help : ""), strdup(pipeline),
                                          strdup(stage), value};
}

static int cmp_counter(const void *a, const void *b)
{
    const struct counter_row *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->pipeline, y->pipeline);
    return c ? c : strcmp(x->stage, y->stage);
}

struct alert_ctx {
    struct buf *b;
    int which;
    int64_t now;
};

static void alert_row(void *arg, const struct core_alert_stats *st)
{
    struct alert_ctx *c = arg;
    const char *metric;
    double v;
    switch (c->which) {
    case 0:
        metric = "vigil_alerts_pending";
        v = (double)st->pending;
        break;
    case 1:
        metric = "vigil_alerts_delivered";
        v = (double)st->delivered;
        break;
    case 2:
        metric = "vigil_alerts_dead";
        v = (double)st->dead;
        break;
    default:
        metric = "vigil_outbox_oldest_pending_age_seconds";
        v = st->oldest_pending_ms ? (double)(c->now - st->oldest_pending_ms) / 1000.0 : 0;
        break;
    }
    buf_printf(c->b, "%s{", metric);
    label(c->b, "pipeline", st->pipeline);
    buf_append_str(c->b, ",");
    label(c->b, "sink", st->sink);
    buf_printf(c->b, "} %.3f\n", v);
}

char *core_metrics_render(struct core_daemon *d)
{
    struct core_engine *e = core_daemon_engine(d);
    struct buf b;
    struct ctx c = {&b, NULL, 0, NULL};
    buf_init(&b, 0);

    family(&b, "vigil_up", "gauge", "1 while the daemon runs");
    buf_printf(&b, "vigil_up 1\n");
    json_t *st = core_daemon_status(d);
    family(&b, "vigil_ready", "gauge", "1 when every configured pipeline runs");
    buf_printf(&b, "vigil_ready %d\n", json_is_true(json_object_get(st, "ready")));
    family(&b, "vigil_pipelines_broken", "gauge", "pipelines that failed to start");
    buf_printf(&b, "vigil_pipelines_broken %zu\n", json_array_size(json_object_get(st, "broken")));
    json_decref(st);

    static const struct {
        const char *name, *type, *help;
        int which;
    } pipe_families[] = {
        {"vigil_pipeline_documents_emitted_total", "counter", "documents sources emitted",
         M_PIPE_EMITTED},
        {"vigil_pipeline_documents_finished_total", "counter", "documents that left the pipeline",
         M_PIPE_FINISHED},
        {"vigil_pipeline_documents_lost_total", "counter",
         "documents given up at shutdown or reload", M_PIPE_LOST},
        {"vigil_pipeline_documents_in_flight", "gauge", "documents inside the pipeline",
         M_PIPE_INFLIGHT},
        {"vigil_pipeline_paused", "gauge", "1 while sources are paused by backpressure",
         M_PIPE_PAUSED},
        {"vigil_pipeline_running", "gauge", "1 while the pipeline runs", M_PIPE_UP},
    };
    for (size_t i = 0; i < sizeof pipe_families / sizeof pipe_families[0]; i++) {
        family(&b, pipe_families[i].name, pipe_families[i].type, pipe_families[i].help);
        c.metric = pipe_families[i].name;
        c.which = pipe_families[i].which;
        core_engine_stats(e, pipeline_row, NULL, &c);
    }

    static const struct {
        const char *name, *type, *help;
        int which;
    } stage_families[] = {
        {"vigil_stage_documents_in_total", "counter", "documents a stage received", M_STAGE_IN},
        {"vigil_stage_documents_out_total", "counter",
         "documents a stage passed on (sources: emitted; sinks: delivered)", M_STAGE_OUT},
        {"vigil_stage_documents_dropped_total", "counter", "documents a stage dropped on purpose",
         M_STAGE_DROPPED},
        {"vigil_stage_errors_total", "counter", "documents a stage failed on", M_STAGE_ERRORS},
        {"vigil_stage_queue_depth", "gauge", "documents waiting in front of a stage",
         M_STAGE_QUEUED},
        {"vigil_sink_retries_total", "counter", "delivery attempts that will be retried",
         M_SINK_RETRIES},
        {"vigil_sink_failed_total", "counter", "deliveries that failed for good", M_SINK_FAILED},
    };
    for (size_t i = 0; i < sizeof stage_families / sizeof stage_families[0]; i++) {
        family(&b, stage_families[i].name, stage_families[i].type, stage_families[i].help);
        c.metric = stage_families[i].name;
        c.which = stage_families[i].which;
        stages(e, &c);
    }

    struct counters cs = {0};
    core_engine_counters(e, collect_counter, &cs);
    if (cs.n > 1)
        qsort(cs.v, cs.n, sizeof *cs.v, cmp_counter);
    for (size_t i = 0; i < cs.n; i++) {
        if (i == 0 || strcmp(cs.v[i].name, cs.v[i - 1].name) != 0) {
            char fam[256];
            snprintf(fam, sizeof fam, "vigil_plugin_%s_total", cs.v[i].name);
            family(&b, fam, "counter", cs.v[i].help[0] ? cs.v[i].help : cs.v[i].name);
        }
        buf_printf(&b, "vigil_plugin_%s_total{", cs.v[i].name);
        label(&b, "pipeline", cs.v[i].pipeline);
        buf_append_str(&b, ",");
        label(&b, "stage", cs.v[i].stage);
        buf_printf(&b, "} %llu\n", (unsigned long long)cs.v[i].value);
    }
    for (size_t i = 0; i < cs.n; i++) {
        free(cs.v[i].name);
        free(cs.v[i].help);
        free(cs.v[i].pipeline);
        free(cs.v[i].stage);
    }
    free(cs.v);

    struct core_http_stats hs;
    if (core_engine_http_stats(e, &hs) == VIGIL_OK) {
        family(&b, "vigil_http_requests_total", "counter",
               "requests of the shared HTTP client by outcome");
        for (int i = 0; i < CORE_HTTP_OUTCOMES; i++)
            buf_printf(&b, "vigil_http_requests_total{outcome=\"%s\"} %llu\n",
                       core_http_outcome_name(i), (unsigned long long)hs.outcome[i]);
        family(&b, "vigil_http_requests_in_flight", "gauge", "transfers running now");
        buf_printf(&b, "vigil_http_requests_in_flight %llu\n", (unsigned long long)hs.active);
        family(&b, "vigil_http_requests_queued", "gauge", "requests waiting for a slot");
        buf_printf(&b, "vigil_http_requests_queued %llu\n", (unsigned long long)hs.queued);
        family(&b, "vigil_http_received_bytes_total", "counter", "bytes received on the wire");
        buf_printf(&b, "vigil_http_received_bytes_total %llu\n",
                   (unsigned long long)hs.wire_bytes);
        family(&b, "vigil_http_request_duration_seconds", "histogram",
               "time from leaving the queue to the end of the transfer");
        for (int i = 0; i < CORE_HTTP_LATENCY_BUCKETS; i++) {
            if (i == CORE_HTTP_LATENCY_BUCKETS - 1)
                buf_printf(&b, "vigil_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)hs.latency_count);
            else
                buf_printf(&b, "vigil_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                           core_http_latency_bounds[i], (unsigned long long)hs.latency_le[i]);
        }
        buf_printf(&b, "vigil_http_request_duration_seconds_sum %.6f\n", hs.latency_sum_s);
        buf_printf(&b, "vigil_http_request_duration_seconds_count %llu\n",
                   (unsigned long long)hs.latency_count);
    }

    static const char *const alert_families[][3] = {
        {"vigil_alerts_pending", "gauge", "alerts waiting in the outbox"},
        {"vigil_alerts_delivered", "gauge", "delivered alerts kept (within retention)"},
        {"vigil_alerts_dead", "gauge", "alerts in the dead letters"},
        {"vigil_outbox_oldest_pending_age_seconds", "gauge",
         "age of the oldest alert waiting in the outbox"},
    };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int i = 0; i < 4; i++) {
        family(&b, alert_families[i][0], alert_families[i][1], alert_families[i][2]);
        struct alert_ctx ac = {&b, i, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
        core_engine_alert_stats(e, alert_row, &ac);
    }
    return buf_steal(&b);
}
