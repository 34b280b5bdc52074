/*
 * The `page` transform: for documents with a url and no (or too little)
 * html, fetch the page on the shared HTTP client and attach it. Runs on
 * the loop thread (process_async) and holds no worker while waiting.
 *
 * Concurrency is bounded outside this file: the core calls process_async
 * for at most the stage's "max_inflight" documents at once (the others
 * wait in the core's queue, under the pipeline's backpressure), and the
 * shared client caps transfers per host (settings.http.max_per_host). So
 * every document handed to us starts its fetch at once; there is no queue
 * here. Documents that need no fetch, and failures known before any
 * request, complete inside process_async (the ABI allows done before it
 * returns).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "vigil/plugin.h"

enum { ON_ERROR_PASS = 0, ON_ERROR_DROP = 1 };
static const char *const on_error_choices[] = {"pass", "drop", NULL};

struct page_conf {
    int on_error;
    uint64_t max_body;
    int64_t timeout;
    uint64_t min_html;
};

static const struct vigil_option page_options[] = {
    {"on_error", VIGIL_OPT_ENUM, "pass", 0, offsetof(struct page_conf, on_error), VIGIL_NOBOUNDS,
     on_error_choices,
     "What happens to a document whose page cannot be fetched: pass (with meta.errors) or "
     "drop."},
    {"max_body", VIGIL_OPT_SIZE, "5MB", 0, offsetof(struct page_conf, max_body), 1024,
     1024.0 * 1024 * 1024, NULL, "Largest page accepted (decoded bytes)."},
    {"timeout", VIGIL_OPT_DURATION, "30s", 0, offsetof(struct page_conf, timeout), 100, 600000,
     NULL, "Time limit of one fetch."},
    {"min_html", VIGIL_OPT_SIZE, "2KB", 0, offsetof(struct page_conf, min_html), 0,
     1024.0 * 1024 * 1024, NULL,
     "Skip the fetch when the document already has at least this much html (0 = always "
     "fetch)."},
    {0}};

/* One fetch in flight. */
struct job {
    struct page_tr *pt;
    json_t *doc;
    vigil_process_cb done;
    void *arg;
    char *url;
    struct vigil_http_call *call;
    struct job *prev, *next;
};

struct page_tr {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct page_conf *conf;
    struct job *inflight; /* doubly linked, for stop() */
    size_t n_inflight;
    int stopping;
    struct vigil_counter *c_requests, *c_fetched, *c_skipped, *c_bytes, *c_dropped,
        *c_errors[PAGE_E_COUNT];
};

static void inflight_add(struct page_tr *pt, struct job *j)
{
    j->prev = NULL;
    j->next = pt->inflight;
    if (pt->inflight)
        pt->inflight->prev = j;
    pt->inflight = j;
    pt->n_inflight++;
}

static void inflight_remove(struct page_tr *pt, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        pt->inflight = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    pt->n_inflight--;
}

static void count(struct page_tr *pt, struct vigil_counter *c, uint64_t n)
{
    if (c)
        pt->host->counter_add(c, n);
}

/* Record a per-document failure: meta.errors, a counter, a log line.
 * Returns the result on_error asks for. */
static int failed(struct page_tr *pt, json_t *doc, int kind, const char *msg)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    vigil_doc_add_error(doc, pt->host->stage_id(pt->ins),
                        kind == PAGE_E_TIMEOUT    ? VIGIL_ETIMEDOUT
                        : kind == PAGE_E_TOO_BIG  ? VIGIL_ETOOBIG
                        : kind == PAGE_E_NETWORK  ? VIGIL_EIO
                        : kind == PAGE_E_URL      ? VIGIL_EINVAL
                        : kind == PAGE_E_NOT_HTML ? VIGIL_EUNSUPPORTED
                        : kind == PAGE_E_CHARSET  ? VIGIL_EPARSE
                                                  : VIGIL_EPROTO,
                        msg);
    count(pt, pt->c_errors[kind], 1);
    pt->host->log(pt->ins, VIGIL_LOG_WARN, "page: document %s: %s", id ? id : "(no id)", msg);
    if (pt->conf->on_error == ON_ERROR_DROP) {
        count(pt, pt->c_dropped, 1);
        return VIGIL_DROP;
    }
    return VIGIL_PASS;
}

/* Fail doc for the reason msg and complete it per on_error. */
static void fail_now(struct page_tr *pt, json_t *doc, int kind, const char *msg,
                     vigil_process_cb done, void *arg)
{
    int res = failed(pt, doc, kind, msg);
    done(arg, res, res == VIGIL_DROP ? msg : NULL);
}

static void on_http(void *arg, const struct vigil_http_response *r)
{
    struct job *j = arg;
    struct page_tr *pt = j->pt;
    char msg[VIGIL_ERROR_MAX + 600];
    vigil_process_cb done = j->done;
    void *darg = j->arg;
    json_t *doc = j->doc;
    j->call = NULL;
    inflight_remove(pt, j);
    if (r->status == VIGIL_ECANCELED && pt->stopping) {
        free(j->url);
        free(j);
        done(darg, VIGIL_ECANCELED, "stopping");
        return;
    }
    if (r->status == VIGIL_OK) {
        count(pt, pt->c_requests, 1);
        count(pt, pt->c_bytes, r->wire_bytes ? r->wire_bytes : r->body_len);
    }
    int kind = page_apply(doc, j->url, r, (size_t)pt->conf->max_body * 4 + 16, msg, sizeof msg);
    free(j->url);
    free(j);
    if (kind == PAGE_OK) {
        count(pt, pt->c_fetched, 1);
        done(darg, VIGIL_PASS, NULL);
    } else {
        fail_now(pt, doc, kind, msg, done, darg);
    }
}

static int page_process_async(void *state, json_t *doc, vigil_process_cb done, void *arg)
{
    struct page_tr *pt = state;
    char msg[600];
    if (pt->stopping) {
        done(arg, VIGIL_ECANCELED, "stopping");
        return VIGIL_OK;
    }
    const char *url;
    int d = page_decide(doc, (size_t)pt->conf->min_html, &url);
    if (d == PAGE_SKIP_NO_URL || d == PAGE_SKIP_HAS_HTML) {
        count(pt, pt->c_skipped, 1);
        done(arg, VIGIL_PASS, NULL);
        return VIGIL_OK;
    }
    if (d == PAGE_BAD_URL) {
        snprintf(msg, sizeof msg, "url \"%.500s\" is not http:// or https://", url);
        fail_now(pt, doc, PAGE_E_URL, msg, done, arg);
        return VIGIL_OK;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return VIGIL_ENOMEM;
    j->url = strdup(url);
    if (!j->url) {
        free(j);
        return VIGIL_ENOMEM;
    }
    j->pt = pt;
    j->doc = doc;
    j->done = done;
    j->arg = arg;

    struct vigil_http_request req;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.url = j->url;
    req.timeout_ms = pt->conf->timeout;
    req.max_body = pt->conf->max_body;
    inflight_add(pt, j);
    int rc = pt->host->http_request(pt->ins, &req, on_http, j, &j->call);
    if (rc != VIGIL_OK) {
        /* Refused before any I/O (a URL the client cannot parse, a full
         * client queue): an error for this document, not for the stage. */
        inflight_remove(pt, j);
        snprintf(msg, sizeof msg, "fetch %.500s: cannot start: %s", j->url, vigil_strerror(rc));
        free(j->url);
        free(j);
        fail_now(pt, doc, rc == VIGIL_EINVAL ? PAGE_E_URL : PAGE_E_NETWORK, msg, done, arg);
    }
    return VIGIL_OK;
}

static int page_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                       void **state, struct vigil_error *err)
{
    struct page_tr *pt = calloc(1, sizeof *pt);
    if (!pt)
        return vigil_error_set(err, VIGIL_ENOMEM, "page: out of memory");
    pt->host = host;
    pt->ins = ins;
    pt->conf = conf;
    pt->c_requests = host->counter(ins, "requests", "pages fetched (any answer)");
    pt->c_fetched = host->counter(ins, "fetched", "pages attached to documents");
    pt->c_skipped = host->counter(ins, "skipped", "documents without url or with enough html");
    pt->c_bytes = host->counter(ins, "bytes", "bytes received");
    pt->c_dropped = host->counter(ins, "dropped", "documents dropped after an error");
    for (int k = 1; k < PAGE_E_COUNT; k++) {
        char name[40];
        snprintf(name, sizeof name, "errors_%s", page_error_name(k));
        pt->c_errors[k] = host->counter(ins, name, "documents whose page failed this way");
    }
    *state = pt;
    return 0;
}

static int page_start(void *state, struct vigil_error *err)
{
    (void)state;
    (void)err;
    return 0;
}

static void page_stop(void *state)
{
    struct page_tr *pt = state;
    pt->stopping = 1;
    /* In-flight fetches end in their callbacks (VIGIL_ECANCELED), which
     * the client never runs inside http_cancel(), so the list cannot
     * change under this loop. */
    for (struct job *j = pt->inflight; j; j = j->next) {
        if (j->call)
            pt->host->http_cancel(j->call);
    }
}

static void page_destroy(void *state)
{
    /* Called after every callback ran: nothing is in flight. */
    free(state);
}

static const struct vigil_plugin page_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "page",
    .version = "1.0.0",
    .description = "Fetch the article page of documents that have a url but no html",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = page_options,
    .conf_size = sizeof(struct page_conf),
    .create = page_create,
    .start = page_start,
    .stop = page_stop,
    .destroy = page_destroy,
    .process_async = page_process_async,
};

VIGIL_PLUGIN_EXPORT(page_plugin)
