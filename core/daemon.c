#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alerts.h"
#include "api.h"
#include "archive.h"
#include "buf.h"
#include "engine_internal.h"
#include "options.h"
#include "outbox.h"
#include "store.h"
#include "subst.h"

/* ------------------------------------------------------------------------
 * Configuration
 * --------------------------------------------------------------------- */

#define DC(f) offsetof(struct core_daemon_config, f)
static const char *const level_choices[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const format_choices[] = {"text", "json", NULL};

static const struct vigil_option daemon_table[] = {
    {"pipelines", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH, DC(pipelines), 1,
     10000, NULL, "pipeline files, or directories whose *.json files are pipelines"},
    {"plugin_dirs", VIGIL_OPT_STRLIST, "[]", VIGIL_OPT_PATH, DC(plugin_dirs), 0, 64, NULL,
     "extra plugin directories, searched first"},
    {"state_dir", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, DC(state_dir), VIGIL_NOBOUNDS, NULL,
     "state directory (default: $VIGIL_STATE_DIR, $XDG_STATE_HOME/vigil, ~/.local/state/vigil)"},
    {"listen", VIGIL_OPT_STR, "127.0.0.1:8470", 0, DC(listen), VIGIL_NOBOUNDS, NULL,
     "address:port of the HTTP API (never all interfaces unless written so)"},
    {"api_token_env", VIGIL_OPT_STR, NULL, 0, DC(api_token_env), VIGIL_NOBOUNDS, NULL,
     "environment variable holding the API token"},
    {"api_token_file", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, DC(api_token_file), VIGIL_NOBOUNDS,
     NULL, "file holding the API token (first line)"},
    {"log_level", VIGIL_OPT_ENUM, "info", 0, DC(log_level), VIGIL_NOBOUNDS, level_choices,
     "error, warn, info, debug or trace"},
    {"log_format", VIGIL_OPT_ENUM, "text", 0, DC(log_format), VIGIL_NOBOUNDS, format_choices,
     "text, or json (one object per line, for journald and log shippers)"},
    {"workers", VIGIL_OPT_INT, "-1", 0, DC(workers), -1, 256, NULL,
     "worker threads for transforms; -1 = one per CPU"},
    {"http", VIGIL_OPT_JSON, NULL, 0, DC(http_json), VIGIL_NOBOUNDS, NULL,
     "shared HTTP client settings (as a pipeline's settings.http)"},
    {"cluster", VIGIL_OPT_JSON, NULL, 0, DC(cluster_json), VIGIL_NOBOUNDS, NULL,
     "cluster-wide claims on NATS JetStream for every pipeline (as a pipeline's "
     "settings.cluster; docs/scale-out.md)"},
    {"max_body", VIGIL_OPT_SIZE, "10MB", 0, DC(max_body), 1024, 1073741824.0, NULL,
     "largest request body the API accepts (413 above)"},
    {"max_connections", VIGIL_OPT_INT, "1024", 0, DC(max_connections), 16, 100000, NULL,
     "concurrent API connections"},
    {"connection_timeout", VIGIL_OPT_DURATION, "30s", 0, DC(connection_timeout_ms), 1000,
     3600000, NULL, "idle API connections are closed after this"},
    {"grace", VIGIL_OPT_DURATION, "10s", 0, DC(grace_ms), 0, 3600000, NULL,
     "shutdown and reload drain time (pipelines may set their own)"},
    {"retention", VIGIL_OPT_JSON, NULL, 0, DC(retention_json), VIGIL_NOBOUNDS, NULL,
     "{\"alerts\": \"30d\", \"archive\": \"30d\"}: defaults for alert policies and archive sinks"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static const struct vigil_plugin daemon_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "daemon",
    .options = daemon_table,
    .conf_size = sizeof(struct core_daemon_config),
};

struct retention {
    int64_t alerts_ms, archive_ms;
};
static const struct vigil_option retention_table[] = {
    {"alerts", VIGIL_OPT_DURATION, "0", 0, offsetof(struct retention, alerts_ms), 0,
     3650 * 86400000.0, NULL, "keep delivered alerts and dead letters this long"},
    {"archive", VIGIL_OPT_DURATION, "0", 0, offsetof(struct retention, archive_ms), 0,
     3650 * 86400000.0, NULL, "keep archived documents this long"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
static const struct vigil_plugin retention_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "retention",
    .options = retention_table,
    .conf_size = sizeof(struct retention),
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pipeline files named by the config: files as given, directories
 * expanded to their *.json files in name order. */
static int list_pipeline_files(const struct core_daemon_config *c, const struct jdoc *doc,
                               char ***out, size_t *n, struct diags *d)
{
    char **files = NULL;
    size_t count = 0, cap = 0;
    int errors = 0;
    for (size_t i = 0; i < c->pipelines.n; i++) {
        const char *p = c->pipelines.v[i];
        struct stat st;
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/pipelines/%zu", i);
        if (stat(p, &st) != 0) {
            diags_add(d, doc, c->pipelines.n == 1 ? "/pipelines" : ptr, JSONPOS_VALUE,
                      "cannot read %s: %s", p, strerror(errno));
            errors++;
            continue;
        }
        char **found = NULL;
        size_t nfound = 0;
        if (S_ISDIR(st.st_mode)) {
            DIR *dir = opendir(p);
            struct dirent *e;
            while (dir && (e = readdir(dir)) != NULL) {
                size_t len = strlen(e->d_name);
                if (len > 5 && !strcmp(e->d_name + len - 5, ".json") && e->d_name[0] != '.') {
                    char **nf = realloc(found, (nfound + 1) * sizeof *nf);
                    if (!nf)
                        break;
                    found = nf;
                    struct buf b;
                    buf_init(&b, 0);
                    buf_printf(&b, "%s/%s", p, e->d_name);
                    found[nfound++] = buf_steal(&b);
                }
            }
            if (dir)
                closedir(dir);
            if (nfound > 1)
                qsort(found, nfound, sizeof *found, cmp_str);
        } else {
            found = malloc(sizeof *found);
            found[0] = strdup(p);
            nfound = 1;
        }
        for (size_t k = 0; k < nfound; k++) {
            if (count == cap) {
                cap = cap ? cap * 2 : 8;
                files = realloc(files, cap * sizeof *files);
            }
            files[count++] = found[k];
        }
        free(found);
    }
    *out = files;
    *n = count;
    return errors;
}

static char *read_token_file(const char *path, char *err, size_t errlen)
{
    char *data;
    size_t len;
    if (buf_read_file(path, 4096, &data, &len) != 0) {
        snprintf(err, errlen, "cannot read API token file %s: %s", path, strerror(errno));
        return NULL;
    }
    data[strcspn(data, "\r\n")] = '\0';
    if (!*data) {
        snprintf(err, errlen, "API token file %s is empty", path);
        free(data);
        return NULL;
    }
    return data;
}

int core_daemon_plan_load(const char *file, struct core_loader *l, struct core_daemon_plan **out,
                          struct diags *d)
{
    struct jdoc doc;
    size_t before = diags_count(d);
    *out = NULL;
    if (jdoc_load_file(&doc, file, d) != 0)
        return VIGIL_EINVAL;
    struct core_daemon_plan *plan = calloc(1, sizeof *plan);
    struct core_daemon_config *c = &plan->cfg;
    char *copy = strdup(file);
    c->file = strdup(file);
    c->dir = strdup(dirname(copy));
    free(copy);
    if (!json_is_object(doc.root)) {
        diags_add(d, &doc, "", JSONPOS_VALUE, "expected a daemon configuration object, found %s",
                  jdiag_type_name(doc.root));
        goto done;
    }
    core_subst_json(doc.root, &doc, d);
    struct core_opt_ctx ctx = {&doc, "", "", "daemon configuration", c->dir};
    core_options_fill(&daemon_plugin, doc.root, c, &ctx, d);
    struct core_opt_ctx hctx = {&doc, "/http", "", "HTTP settings", c->dir};
    core_options_fill(&core_http_settings_plugin, c->http_json, &c->http, &hctx, d);
    if (c->cluster_json) {
        struct core_opt_ctx cctx = {&doc, "/cluster", "", "cluster settings", c->dir};
        core_options_fill(&core_cluster_settings_plugin, c->cluster_json, &c->cluster, &cctx, d);
    }
    struct retention ret = {0};
    struct core_opt_ctx rctx = {&doc, "/retention", "", "retention", c->dir};
    core_options_fill(&retention_plugin, c->retention_json, &ret, &rctx, d);
    c->alert_retention_ms = ret.alerts_ms;
    c->archive_retention_ms = ret.archive_ms;

    /* The API listens on one address; refuse what cannot be parsed now,
     * not when the socket opens. */
    if (c->listen) {
        char host[256];
        int port = 0;
        if (core_api_parse_listen(c->listen, host, sizeof host, &port) != 0)
            diags_add(d, &doc, "/listen", JSONPOS_VALUE,
                      "expected \"address:port\" such as \"127.0.0.1:8470\", found \"%s\"",
                      c->listen);
    }
    if (c->api_token_env) {
        const char *t = getenv(c->api_token_env);
        if (!t || !*t)
            diags_add(d, &doc, "/api_token_env", JSONPOS_VALUE,
                      "environment variable %s (the API token) is not set", c->api_token_env);
        else
            c->token = strdup(t);
    } else if (c->api_token_file) {
        char why[512];
        c->token = read_token_file(c->api_token_file, why, sizeof why);
        if (!c->token)
            diags_add(d, &doc, "/api_token_file", JSONPOS_VALUE, "%s", why);
    }
    for (size_t i = 0; i < c->plugin_dirs.n; i++) {
        int dup = 0;
        for (size_t k = 0; k < l->ndirs; k++)
            dup |= strcmp(l->dirs[k], c->plugin_dirs.v[i]) == 0;
        if (!dup)
            core_loader_add_dir(l, c->plugin_dirs.v[i]);
    }
    if (diags_count(d) != before)
        goto done;

    char **files = NULL;
    size_t nfiles = 0;
    list_pipeline_files(c, &doc, &files, &nfiles, d);
    if (nfiles == 0 && diags_count(d) == before)
        diags_add(d, &doc, "/pipelines", JSONPOS_VALUE, "no pipeline files found");
    plan->defs = calloc(nfiles + 1, sizeof *plan->defs);
    for (size_t i = 0; i < nfiles; i++) {
        struct core_pipeline_def *def = NULL;
        if (core_pipeline_load(files[i], l, &def, d) == VIGIL_OK) {
            for (size_t k = 0; k < plan->ndefs; k++) {
                if (!strcmp(plan->defs[k]->name, def->name)) {
                    diags_add_at(d, files[i], 0, 0, "/name",
                                 "pipeline name '%s' is also used by %s; names must be unique",
                                 def->name, plan->defs[k]->file);
                }
            }
            plan->defs[plan->ndefs++] = def;
        }
        free(files[i]);
    }
    free(files);

done:
    jdoc_free(&doc);
    if (diags_count(d) != before) {
        core_daemon_plan_free(plan);
        return VIGIL_EINVAL;
    }
    *out = plan;
    return VIGIL_OK;
}

void core_daemon_plan_free(struct core_daemon_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ndefs; i++)
        core_pipeline_free(p->defs[i]);
    free(p->defs);
    core_options_free(&core_http_settings_plugin, &p->cfg.http);
    core_options_free(&core_cluster_settings_plugin, &p->cfg.cluster);
    core_options_free(&daemon_plugin, &p->cfg);
    free(p->cfg.file);
    free(p->cfg.dir);
    free(p->cfg.token);
    free(p);
}

/* ------------------------------------------------------------------------
 * Running
 * --------------------------------------------------------------------- */

struct broken {
    char *name;
    char *error;
};

struct core_daemon {
    uv_loop_t *loop;
    struct core_log *log;
    struct core_loader *loader;
    struct core_daemon_plan *plan; /* the configuration in force */
    struct core_engine *engine;
    struct core_api *api;
    struct broken *broken;
    size_t nbroken;
    json_t *last_reload;
    int stopping;
    void (*stop_done)(void *arg, uint64_t lost);
    void *stop_arg;
    uint64_t lost;
    char archive_path[4096];
    int reloads_pending; /* pipelines stopping for a reload */
};

static void set_broken(struct core_daemon *d, const char *name, const char *error)
{
    for (size_t i = 0; i < d->nbroken; i++) {
        if (!strcmp(d->broken[i].name, name)) {
            free(d->broken[i].error);
            d->broken[i].error = strdup(error);
            return;
        }
    }
    struct broken *b = realloc(d->broken, (d->nbroken + 1) * sizeof *b);
    if (!b)
        return;
    d->broken = b;
    d->broken[d->nbroken].name = strdup(name);
    d->broken[d->nbroken].error = strdup(error);
    d->nbroken++;
}

static void clear_broken(struct core_daemon *d, const char *name)
{
    for (size_t i = 0; i < d->nbroken; i++) {
        if (!strcmp(d->broken[i].name, name)) {
            free(d->broken[i].name);
            free(d->broken[i].error);
            d->broken[i] = d->broken[--d->nbroken];
            return;
        }
    }
}

/* Defaults the daemon gives pipelines that do not set their own. */
static void apply_defaults(const struct core_daemon_config *c, struct core_pipeline_def *def)
{
    if (c->grace_ms && def->settings.grace_ms == 10000)
        def->settings.grace_ms = c->grace_ms;
    for (size_t i = 0; i < def->nsinks; i++) {
        struct core_alert_policy *p = def->sinks[i].policy;
        if (p && c->alert_retention_ms)
            p->retention_ms = c->alert_retention_ms;
    }
}

/* Create and start one pipeline (takes def); a failure is recorded as a
 * broken pipeline and logged, the daemon goes on. */
static int start_pipeline(struct core_daemon *d, struct core_pipeline_def *def)
{
    struct vigil_error err = {0};
    struct core_pipeline *pl = NULL;
    char *name = strdup(def->name);
    apply_defaults(&d->plan->cfg, def);
    if (def->settings.cluster_json && !json_equal(def->settings.cluster_json,
                                                  d->plan->cfg.cluster_json))
        core_log_write(d->log, VIGIL_LOG_WARN, name, NULL,
                       "settings.cluster is ignored under `vigil serve`: claims use the daemon "
                       "configuration's \"cluster\" (%s)",
                       d->plan->cfg.cluster_json ? "set differently" : "not set: local claims");
    int rc = core_engine_add(d->engine, def, &pl, &err);
    if (rc == VIGIL_OK)
        rc = core_pipeline_start(pl, &err);
    if (rc != VIGIL_OK) {
        core_log_write(d->log, VIGIL_LOG_ERROR, name, NULL, "failed to start: %s", err.msg);
        set_broken(d, name, err.msg);
    } else {
        clear_broken(d, name);
    }
    free(name);
    return rc;
}

int core_daemon_start(uv_loop_t *loop, struct core_log *log, struct core_loader *loader,
                      struct core_daemon_plan *plan, struct core_daemon **out,
                      struct vigil_error *err)
{
    struct core_daemon *d = calloc(1, sizeof *d);
    if (!d) {
        core_daemon_plan_free(plan);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    d->loop = loop;
    d->log = log;
    d->loader = loader;
    d->plan = plan;
    struct core_daemon_config *c = &plan->cfg;
    char *state = c->state_dir ? strdup(c->state_dir) : core_store_default_dir();
    core_archive_default_path(state, d->archive_path, sizeof d->archive_path);
    struct core_engine_config ecfg = {.log = log,
                                      .loader = loader,
                                      .workers = (int)c->workers,
                                      .once = 0,
                                      .state_dir = state,
                                      .http = &c->http,
                                      .cluster = c->cluster_json ? &c->cluster : NULL,
                                      .archive_retention_ms = c->archive_retention_ms};
    int rc = core_engine_create(loop, &ecfg, &d->engine, err);
    free(state);
    if (rc != VIGIL_OK) {
        core_daemon_plan_free(plan);
        free(d);
        return rc;
    }
    /* The state database is opened now: a corrupt or read-only one is a
     * clear error at start, not a surprise at the first alert. */
    if (!core_engine_store(d->engine)) {
        rc = vigil_error_set(err, VIGIL_EIO, "the state database in %s cannot be used (see the "
                                             "error above); refusing to start",
                             core_engine_state_dir(d->engine));
        core_engine_stop(d->engine, NULL, NULL);
        d->api = NULL;
        *out = d;
        return rc;
    }
    /* Pipelines take their definitions out of the plan. */
    for (size_t i = 0; i < plan->ndefs; i++) {
        struct core_pipeline_def *def = plan->defs[i];
        plan->defs[i] = NULL;
        start_pipeline(d, def);
    }
    plan->ndefs = 0;
    rc = core_api_start(d, &d->api, err);
    if (rc != VIGIL_OK) {
        core_engine_stop(d->engine, NULL, NULL);
        *out = d;
        return rc;
    }
    *out = d;
    return VIGIL_OK;
}

struct reload_swap {
    struct core_daemon *d;
    struct core_pipeline_def *next; /* started when the old one stopped */
    char *name;
};

static void on_old_stopped(void *arg, uint64_t lost)
{
    struct reload_swap *s = arg;
    struct core_daemon *d = s->d;
    d->lost += lost;
    d->reloads_pending--;
    if (lost)
        core_log_write(d->log, VIGIL_LOG_ERROR, s->name, NULL,
                       "%llu documents were lost while stopping for the reload",
                       (unsigned long long)lost);
    if (s->next && !d->stopping)
        start_pipeline(d, s->next);
    else if (s->next)
        core_pipeline_free(s->next);
    else
        clear_broken(d, s->name);
    free(s->name);
    free(s);
}

static void json_add_str(json_t *arr, const char *s)
{
    json_array_append_new(arr, json_string(s));
}

int core_daemon_reload(struct core_daemon *d, json_t **report)
{
    struct diags diags = {0};
    struct core_daemon_plan *next = NULL;
    json_t *r = json_pack("{s:b, s:[], s:[], s:[], s:[], s:[]}", "ok", 0, "errors", "started",
                          "stopped", "unchanged", "restart_needed");
    char ts[32];
    vigil_time_iso8601(core_host_table.now_ms(), ts, sizeof ts);
    json_object_set_new(r, "at", json_string(ts));
    if (d->stopping) {
        json_add_str(json_object_get(r, "errors"), "shutting down");
        goto out;
    }
    core_log_info(d->log, "daemon", "reloading %s", d->plan->cfg.file);
    if (core_daemon_plan_load(d->plan->cfg.file, d->loader, &next, &diags) != VIGIL_OK) {
        /* Keep running what runs: the new configuration is not applied
         * at all. */
        char line[2048];
        for (size_t i = 0; i < diags.n; i++) {
            diags_format(&diags, i, line, sizeof line);
            json_add_str(json_object_get(r, "errors"), line);
            core_log_error(d->log, "daemon", "reload refused: %s", line);
        }
        if (diags.dropped)
            core_log_error(d->log, "daemon", "reload refused: ... and %zu more errors",
                           diags.dropped);
        diags_free(&diags);
        goto out;
    }
    diags_free(&diags);
    json_object_set_new(r, "ok", json_true());

    const struct core_daemon_config *oc = &d->plan->cfg, *nc = &next->cfg;
    if (strcmp(oc->listen, nc->listen) != 0)
        json_add_str(json_object_get(r, "restart_needed"), "listen");
    if ((oc->state_dir || nc->state_dir) &&
        (!oc->state_dir || !nc->state_dir || strcmp(oc->state_dir, nc->state_dir) != 0))
        json_add_str(json_object_get(r, "restart_needed"), "state_dir");
    if (oc->workers != nc->workers)
        json_add_str(json_object_get(r, "restart_needed"), "workers");
    if (!json_equal(oc->cluster_json, nc->cluster_json) && (oc->cluster_json || nc->cluster_json))
        json_add_str(json_object_get(r, "restart_needed"), "cluster");

    /* Stop what is gone or changed; keep what is identical. */
    for (struct core_pipeline *pl = core_engine_next(d->engine, NULL); pl;) {
        struct core_pipeline *after = core_engine_next(d->engine, pl);
        const struct core_pipeline_def *old = core_pipeline_definition(pl);
        if (!core_engine_find(d->engine, old->name)) {
            pl = after; /* already stopping */
            continue;
        }
        struct core_pipeline_def *match = NULL;
        size_t mi = 0;
        for (size_t i = 0; i < next->ndefs; i++) {
            if (next->defs[i] && !strcmp(next->defs[i]->name, old->name)) {
                match = next->defs[i];
                mi = i;
            }
        }
        if (match && match->hash == old->hash && core_pipeline_running(pl)) {
            json_add_str(json_object_get(r, "unchanged"), old->name);
            core_pipeline_free(match);
            next->defs[mi] = NULL;
        } else {
            struct reload_swap *s = calloc(1, sizeof *s);
            s->d = d;
            s->name = strdup(old->name);
            s->next = match;
            if (match)
                next->defs[mi] = NULL;
            json_add_str(json_object_get(r, "stopped"), old->name);
            if (match)
                json_add_str(json_object_get(r, "started"), old->name);
            d->reloads_pending++;
            core_pipeline_stop(pl, on_old_stopped, s);
        }
        pl = after;
    }
    /* New pipelines start now. */
    for (size_t i = 0; i < next->ndefs; i++) {
        if (!next->defs[i])
            continue;
        json_add_str(json_object_get(r, "started"), next->defs[i]->name);
        start_pipeline(d, next->defs[i]);
        next->defs[i] = NULL;
    }
    next->ndefs = 0;
    /* Broken pipelines that are no longer configured are forgotten. */
    for (size_t i = 0; i < d->nbroken;) {
        int still = 0;
        size_t k;
        json_t *v;
        json_array_foreach(json_object_get(r, "started"), k, v)
        {
            still |= !strcmp(json_string_value(v), d->broken[i].name);
        }
        if (!still && !core_engine_find(d->engine, d->broken[i].name))
            clear_broken(d, d->broken[i].name);
        else
            i++;
    }
    /* The new configuration is the one in force (live parts of it). */
    free(d->plan->cfg.token);
    d->plan->cfg.token = next->cfg.token ? strdup(next->cfg.token) : NULL;
    core_daemon_plan_free(d->plan);
    d->plan = next;
    core_log_info(d->log, "daemon", "reload done: %zu started, %zu stopped, %zu unchanged",
                  json_array_size(json_object_get(r, "started")),
                  json_array_size(json_object_get(r, "stopped")),
                  json_array_size(json_object_get(r, "unchanged")));
    if (json_array_size(json_object_get(r, "restart_needed")))
        core_log_warn(d->log, "daemon",
                      "some settings changed that only apply after a restart (see "
                      "restart_needed)");
out:
    json_decref(d->last_reload);
    d->last_reload = json_incref(r);
    *report = r;
    return json_is_true(json_object_get(r, "ok")) ? VIGIL_OK : VIGIL_EINVAL;
}

static void on_api_closed(void *arg)
{
    struct core_daemon *d = arg;
    d->api = NULL;
    if (d->stop_done)
        d->stop_done(d->stop_arg, d->lost);
}

static void on_engine_stopped(void *arg, uint64_t lost)
{
    struct core_daemon *d = arg;
    d->lost += lost;
    /* The API closes last: during the drain it still answers health checks,
     * metrics and the ingest requests waiting for their documents. */
    if (d->api)
        core_api_close(d->api, on_api_closed, d);
    else
        on_api_closed(d);
}

void core_daemon_stop(struct core_daemon *d, void (*done)(void *arg, uint64_t lost), void *arg)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    d->stop_done = done;
    d->stop_arg = arg;
    if (!d->engine->stopping) {
        core_engine_stop(d->engine, on_engine_stopped, d);
    } else {
        /* Already stopping (a failed start): report when it is over. */
        d->engine->stop_done = on_engine_stopped;
        d->engine->stop_arg = d;
    }
}

void core_daemon_free(struct core_daemon *d)
{
    if (!d)
        return;
    core_engine_free(d->engine);
    core_daemon_plan_free(d->plan);
    for (size_t i = 0; i < d->nbroken; i++) {
        free(d->broken[i].name);
        free(d->broken[i].error);
    }
    free(d->broken);
    json_decref(d->last_reload);
    free(d);
}

struct core_engine *core_daemon_engine(struct core_daemon *d)
{
    return d->engine;
}

const struct core_daemon_config *core_daemon_config(struct core_daemon *d)
{
    return &d->plan->cfg;
}

int core_daemon_stopping(struct core_daemon *d)
{
    return d->stopping;
}

struct core_outbox *core_daemon_outbox(struct core_daemon *d)
{
    return core_engine_outbox(d->engine);
}

const char *core_daemon_archive_path(struct core_daemon *d)
{
    /* An archive sink with its own path is the one searched. */
    for (struct core_pipeline *pl = core_engine_next(d->engine, NULL); pl;
         pl = core_engine_next(d->engine, pl)) {
        const struct core_pipeline_def *def = core_pipeline_definition(pl);
        for (size_t i = 0; i < def->nsinks; i++) {
            if (!strcmp(def->sinks[i].plugin->desc.name, "archive") &&
                !strcmp(def->sinks[i].plugin->path, "(built-in)") && *(char **)def->sinks[i].conf)
                return *(char **)def->sinks[i].conf;
        }
    }
    return d->archive_path;
}

json_t *core_daemon_status(struct core_daemon *d)
{
    json_t *running = json_array(), *broken = json_array();
    for (struct core_pipeline *pl = core_engine_next(d->engine, NULL); pl;
         pl = core_engine_next(d->engine, pl)) {
        if (core_pipeline_running(pl))
            json_array_append_new(running, json_string(core_pipeline_definition(pl)->name));
    }
    for (size_t i = 0; i < d->nbroken; i++)
        json_array_append_new(broken, json_pack("{s:s, s:s}", "name", d->broken[i].name,
                                                "error", d->broken[i].error));
    int ready = !d->stopping && d->nbroken == 0 && d->reloads_pending == 0;
    json_t *s = json_pack("{s:b, s:o, s:o}", "ready", ready, "pipelines", running, "broken",
                          broken);
    if (d->stopping)
        json_object_set_new(s, "stopping", json_true());
    if (d->last_reload)
        json_object_set(s, "last_reload", d->last_reload);
    return s;
}
