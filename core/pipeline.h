/*
 * core/pipeline - the pipeline model: a JSON definition read, checked in
 * full and resolved against the plugins before anything runs.
 *
 * Validation is strict and complete: every problem in the file is reported
 * as FILE:LINE:COL: /json/pointer: message, all at once (up to the diags
 * cap). Plugins are looked up and their options validated and filled here,
 * so a pipeline that loads is ready to create. docs/pipelines.md documents
 * the format.
 */
#ifndef VIGIL_CORE_PIPELINE_H
#define VIGIL_CORE_PIPELINE_H

#include <stdint.h>

#include "cluster.h"
#include "jdiag.h"
#include "loader.h"
#include "when.h"

struct core_alert_policy;

/* The shared HTTP client's settings ("settings": {"http": {...}}); zero
 * means the client's default (docs/http.md). */
struct core_http_settings {
    char *user_agent;
    int64_t max_total, max_per_host, max_queued;
    int64_t connect_timeout_ms, timeout_ms;
    int64_t low_speed_limit, low_speed_time_ms;
    uint64_t max_body;
    int64_t max_redirects;
    int http1_only;
    char *proxy;
};

/* Option table of struct core_http_settings, for other configuration files
 * (the daemon's) that embed the same "http" object. */
extern const struct vigil_plugin core_http_settings_plugin;

/* Settings of one pipeline (the "settings" object). */
struct core_settings {
    int64_t workers;      /* worker threads; -1 = one per CPU */
    int64_t batch;        /* documents per worker job */
    int64_t queue_high;   /* documents in flight before sources pause */
    int64_t queue_low;    /* ... and resume; 0 = queue_high / 4 */
    int64_t grace_ms;     /* shutdown drain time */
    char *state_dir;      /* NULL = process default */
    json_t *http_json;    /* "http" as written */
    struct core_http_settings http;
    json_t *cluster_json; /* "cluster" as written; NULL = claims stay local */
    struct core_cluster_settings cluster; /* filled when cluster_json is set */
};

struct core_stage_def {
    char *id;
    int kind;                         /* enum vigil_kind */
    const struct core_plugin *plugin; /* borrowed from the loader */
    void *conf;                       /* filled option struct, owned */
    json_t *options;                  /* options as written (after ${VAR}), owned */
    char pointer[64];                 /* "/sources/0" */
    uint64_t hash;                    /* of plugin + options, to spot changes */
    /* sources */
    int64_t every_ms;  /* -1 = plugin default */
    int64_t jitter_ms; /* random extra delay, 0..jitter */
    int enabled;
    /* transforms */
    int on_error_drop; /* 0 = pass the document on, 1 = drop it */
    int64_t max_inflight;
    /* sinks */
    struct core_when *when; /* NULL = everything */
    int64_t retry_base_ms, retry_cap_ms, retry_limit;
    json_t *alert; /* alert policy as written; NULL when absent */
    struct core_alert_policy *policy; /* compiled; NULL = plain documents */
};

struct core_pipeline_def {
    char *name;
    char *description;
    char *file; /* as given */
    char *dir;  /* directory of file: relative paths start here */
    struct core_settings settings;
    struct core_stage_def *sources, *transforms, *sinks;
    size_t nsources, ntransforms, nsinks;
    uint64_t hash; /* of the whole definition after substitution */
};

/*
 * Read and validate a pipeline file. Plugins are resolved through l. On
 * success returns VIGIL_OK with *out owned by the caller (free with
 * core_pipeline_free); otherwise VIGIL_EINVAL with every problem in d.
 */
int core_pipeline_load(const char *file, struct core_loader *l, struct core_pipeline_def **out,
                       struct diags *d);
/* Same from a buffer; name is used in messages and dir for relative paths. */
int core_pipeline_load_buffer(const char *name, const char *dir, const char *text, size_t len,
                              struct core_loader *l, struct core_pipeline_def **out,
                              struct diags *d);

/* Frees conf structs through the plugins' option tables: call before the
 * loader is closed. */
void core_pipeline_free(struct core_pipeline_def *def);

/* Drop the sources and sinks of a definition (vigil try and vigil test run
 * the transforms only). */
void core_pipeline_strip_io(struct core_pipeline_def *def);

/* Stage by id in any list, or NULL. */
const struct core_stage_def *core_pipeline_stage(const struct core_pipeline_def *def,
                                                 const char *id);

#endif
