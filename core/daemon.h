/*
 * core/daemon - `vigil serve`: many pipelines in one process, a daemon
 * configuration validated like pipelines, reload without losing anything,
 * and the HTTP API (core/api.c) on the same loop. docs/server.md.
 */
#ifndef VIGIL_CORE_DAEMON_H
#define VIGIL_CORE_DAEMON_H

#include <stdint.h>

#include <uv.h>

#include "engine.h"
#include "jdiag.h"
#include "loader.h"
#include "log.h"
#include "pipeline.h"

struct core_daemon_config {
    struct vigil_strlist pipelines;   /* files or directories of *.json */
    struct vigil_strlist plugin_dirs;
    char *state_dir;
    char *listen;                     /* "127.0.0.1:8470" */
    char *api_token_env;              /* name of the variable holding the token */
    char *api_token_file;             /* file holding the token */
    int log_level;                    /* enum vigil_log_level */
    int log_format;                   /* enum core_log_format */
    int64_t workers;
    json_t *http_json;
    struct core_http_settings http;
    json_t *cluster_json;             /* NULL = claims stay in the local store */
    struct core_cluster_settings cluster;
    uint64_t max_body;                /* ingest request body */
    int64_t max_connections;
    int64_t connection_timeout_ms;
    int64_t grace_ms;                 /* default grace for pipelines that set none */
    json_t *retention_json;
    int64_t alert_retention_ms;       /* 0 = per policy */
    int64_t archive_retention_ms;     /* 0 = per archive sink */
    /* derived */
    char *file;
    char *dir;
    char *token;                      /* resolved API token, NULL = none */
};

/* A validated configuration and every pipeline it names, ready to run. */
struct core_daemon_plan {
    struct core_daemon_config cfg;
    struct core_pipeline_def **defs;
    size_t ndefs;
};

/* Read and validate a daemon config and all of its pipelines (plugins
 * resolved through l, whose directories get the config's plugin_dirs).
 * All errors at once in d; VIGIL_OK with *out owned by the caller. */
int core_daemon_plan_load(const char *file, struct core_loader *l, struct core_daemon_plan **out,
                          struct diags *d);
void core_daemon_plan_free(struct core_daemon_plan *p);

struct core_daemon;

/* Start everything a plan says on loop: the engine, every pipeline (a
 * pipeline that fails to start is reported and the others run), the HTTP
 * API. Takes plan. */
int core_daemon_start(uv_loop_t *loop, struct core_log *log, struct core_loader *loader,
                      struct core_daemon_plan *plan, struct core_daemon **out,
                      struct vigil_error *err);

/* Reload from the config file: validate everything first; if anything is
 * wrong, keep running and report the errors (*report gets them); else stop
 * changed and removed pipelines after draining, start new and changed
 * ones, and leave unchanged ones untouched. *report (owned by the caller):
 * {"ok": bool, "errors": [...], "started": [...], "stopped": [...],
 * "unchanged": [...], "restart_needed": [...]}. */
int core_daemon_reload(struct core_daemon *d, json_t **report);

/* Graceful stop: API closed, pipelines drained, outbox flushed, state
 * closed; done(arg, lost) at the end. */
void core_daemon_stop(struct core_daemon *d, void (*done)(void *arg, uint64_t lost), void *arg);
void core_daemon_free(struct core_daemon *d);

/* For the API. */
struct core_engine *core_daemon_engine(struct core_daemon *d);
const struct core_daemon_config *core_daemon_config(struct core_daemon *d);
/* {"ready": bool, "pipelines": [names running], "broken": [{name, error}],
 * "last_reload": {...}}; owned by the caller. */
json_t *core_daemon_status(struct core_daemon *d);
int core_daemon_stopping(struct core_daemon *d);
/* The state database's outbox (opened on demand); NULL if unavailable. */
struct core_outbox *core_daemon_outbox(struct core_daemon *d);
/* Path of the archive searched by /api/v1/search. */
const char *core_daemon_archive_path(struct core_daemon *d);

#endif
