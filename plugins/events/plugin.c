/*
 * events transform: a thin adapter between the host and the engine.
 * Rules are compiled once in create(); each worker thread gets its own
 * ev_worker (Vectorscan scratch, stemmers, buffers) from worker_init, so
 * process() shares nothing mutable.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "jdiag.h"
#include "rules.h"
#include "vigil/plugin.h"

struct events_conf {
    struct vigil_strlist rules;
    double min_confidence;
    int64_t max_events;
    int explain;
};

struct events_state {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    struct ruleset *rs;
    struct ev_opts opts;
    struct vigil_counter *c_events;
    struct vigil_counter *c_docs;
};

static const struct vigil_option events_options[] = {
    {"rules", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH,
     offsetof(struct events_conf, rules), 1, 256, NULL,
     "rule files (docs/rules.md), compiled together"},
    {"min_confidence", VIGIL_OPT_DOUBLE, "0", 0, offsetof(struct events_conf, min_confidence), 0, 1,
     NULL, "events with a lower confidence are dropped"},
    {"max_events", VIGIL_OPT_INT, "50", 0, offsetof(struct events_conf, max_events), 1, 10000, NULL,
     "most events kept per document (the most confident)"},
    {"explain", VIGIL_OPT_BOOL, "false", 0, offsetof(struct events_conf, explain), VIGIL_NOBOUNDS,
     NULL, "always add meta.explain_events (otherwise only when meta.explain is true)"},
    {0}};

static int events_create(const struct vigil_host *host, struct vigil_instance *ins,
                         const void *conf, void **state, struct vigil_error *err)
{
    const struct events_conf *c = conf;
    struct diags d = {0};
    struct ruleset *rs = rules_load((const char *const *)c->rules.v, c->rules.n, &d);
    if (!rs) {
        char first[1024] = "";
        if (d.n > 0)
            diags_format(&d, 0, first, sizeof first);
        for (size_t i = 0; i < d.n; i++) {
            char line[2048];
            diags_format(&d, i, line, sizeof line);
            host->log(ins, VIGIL_LOG_ERROR, "%s", line);
        }
        size_t n = diags_count(&d);
        diags_free(&d);
        return vigil_error_set(err, VIGIL_EINVAL, "events: option \"rules\": %s%s", first,
                               n > 1 ? " (and more errors, see the log)" : "");
    }
    diags_free(&d);
    struct events_state *st = calloc(1, sizeof *st);
    if (!st) {
        rules_free(rs);
        return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    }
    st->host = host;
    st->ins = ins;
    st->rs = rs;
    st->opts.min_confidence = c->min_confidence;
    st->opts.max_events = (int)c->max_events;
    st->opts.explain = c->explain;
    if (host->counter) {
        st->c_events = host->counter(ins, "events_detected", "events added to documents");
        st->c_docs =
            host->counter(ins, "documents_with_events", "documents with at least one event");
    }
    host->log(ins, VIGIL_LOG_INFO, "events: %u rules from %u files", rs->nrules, rs->nfiles);
    *state = st;
    return VIGIL_OK;
}

static void events_destroy(void *state)
{
    struct events_state *st = state;
    if (!st)
        return;
    rules_free(st->rs);
    free(st);
}

static int events_worker_init(void *state, void **wstate, struct vigil_error *err)
{
    struct events_state *st = state;
    struct ev_worker *w = NULL;
    int rc = ev_worker_new(st->rs, &w, err);
    *wstate = w;
    return rc;
}

static void events_worker_fini(void *state, void *wstate)
{
    (void)state;
    ev_worker_free(wstate);
}

static int events_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    struct events_state *st = state;
    struct ev_worker *w = wstate, *tmp = NULL;
    if (!w) {
        /* A host without worker_init: a private worker for this call. */
        int rc = ev_worker_new(st->rs, &tmp, err);
        if (rc != VIGIL_OK)
            return rc;
        w = tmp;
    }
    json_t *events = json_object_get(doc, VIGIL_DOC_EVENTS);
    size_t before = json_is_array(events) ? json_array_size(events) : 0;
    int rc = ev_process(st->rs, w, doc, &st->opts, err);
    ev_worker_free(tmp);
    if (rc == VIGIL_ETOOBIG) {
        /* Too big to look at: the document goes on without events. */
        const char *id = vigil_doc_str(doc, VIGIL_DOC_ID);
        st->host->log(st->ins, VIGIL_LOG_WARN, "document %s: %s", id ? id : "?", err->msg);
        vigil_doc_add_error(doc, st->host->stage_id ? st->host->stage_id(st->ins) : "events", rc,
                            err->msg);
        return VIGIL_PASS;
    }
    if (rc != VIGIL_OK)
        return rc;
    size_t after = json_array_size(json_object_get(doc, VIGIL_DOC_EVENTS));
    if (after > before && st->host->counter_add) {
        if (st->c_events)
            st->host->counter_add(st->c_events, after - before);
        if (st->c_docs)
            st->host->counter_add(st->c_docs, 1);
    }
    return VIGIL_PASS;
}

static const struct vigil_plugin events_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "events",
    .version = "1.0.0",
    .description = "detect events (acknowledgements, denials, deployments...) with JSON rules",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = events_options,
    .conf_size = sizeof(struct events_conf),
    .create = events_create,
    .destroy = events_destroy,
    .process = events_process,
    .worker_init = events_worker_init,
    .worker_fini = events_worker_fini,
};

VIGIL_PLUGIN_EXPORT(events_plugin)
