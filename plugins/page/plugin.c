/*
 * The `page` transform: for documents with a url and no (or too little)
 * html, fetch the page on the shared HTTP client and attach it. Runs on
 * the loop thread (process_async) and holds no worker while waiting.
 *
 * At most max_inflight fetches run at once per stage; documents beyond
 * that wait here in arrival order. Completions that need no fetch are
 * delivered from a zero-delay timer, never inside process_async().
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
    int64_t max_inflight;
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
    {"max_inflight", VIGIL_OPT_INT, "32", 0, offsetof(struct page_conf, max_inflight), 1, 10000,
     NULL, "Pages fetched at the same time; further documents wait in order."},
    {"min_html", VIGIL_OPT_SIZE, "2KB", 0, offsetof(struct page_conf, min_html), 0,
     1024.0 * 1024 * 1024, NULL,
     "Skip the fetch when the document already has at least this much html (0 = always "
     "fetch)."},
    {0}};

struct job {
    struct page_tr *pt;
    json_t *doc;
    vigil_process_cb done;
    void *arg;
    char *url;
    struct vigil_http_call *call;
    int result; /* for deferred completion */
    char *errmsg;
    struct job *prev, *next;
};

struct list {
    struct job *head, *tail;
    size_t n;
};

struct page_tr {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct page_conf *conf;
    struct list waiting, inflight, ready;
    struct vigil_timer *ready_timer;
    int stopping;
    struct vigil_counter *c_requests, *c_fetched, *c_skipped, *c_bytes, *c_dropped,
        *c_errors[PAGE_E_COUNT];
};

static void list_push(struct list *l, struct job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static void list_remove(struct list *l, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

static struct job *list_pop(struct list *l)
{
    struct job *j = l->head;
    if (j)
        list_remove(l, j);
    return j;
}

static void count(struct page_tr *pt, struct vigil_counter *c, uint64_t n)
{
    if (c)
        pt->host->counter_add(c, n);
}

static void job_free(struct job *j)
{
    free(j->url);
    free(j->errmsg);
    free(j);
}

static void finish(struct job *j, int result, const char *errmsg)
{
    vigil_process_cb done = j->done;
    void *arg = j->arg;
    job_free(j);
    done(arg, result, errmsg);
}

static void on_ready(struct vigil_timer *timer, void *arg)
{
    struct page_tr *pt = arg;
    pt->host->timer_stop(timer);
    pt->ready_timer = NULL;
    /* Take the list as it is: completions queued by callbacks run next
     * time. */
    struct list batch = pt->ready;
    memset(&pt->ready, 0, sizeof pt->ready);
    struct job *j;
    while ((j = list_pop(&batch)) != NULL) {
        char *msg = j->errmsg;
        j->errmsg = NULL;
        finish(j, j->result, msg);
        free(msg);
    }
}

/* Complete j later, from the loop, not inside the current call. */
static void defer(struct page_tr *pt, struct job *j, int result, const char *errmsg)
{
    j->result = result;
    j->errmsg = errmsg ? strdup(errmsg) : NULL;
    list_push(&pt->ready, j);
    if (!pt->ready_timer)
        pt->ready_timer = pt->host->timer_start(pt->ins, 0, 0, on_ready, pt);
}

/* Record a per-document failure: meta.errors, a counter, a log line; the
 * result follows on_error. */
static int failed(struct page_tr *pt, struct job *j, int kind, const char *msg)
{
    const char *id = json_string_value(json_object_get(j->doc, "id"));
    vigil_doc_add_error(j->doc, pt->host->stage_id(pt->ins),
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

static void start_next(struct page_tr *pt);

static void on_http(void *arg, const struct vigil_http_response *r)
{
    struct job *j = arg;
    struct page_tr *pt = j->pt;
    char msg[VIGIL_ERROR_MAX + 600];
    j->call = NULL;
    list_remove(&pt->inflight, j);
    if (r->status == VIGIL_ECANCELED && pt->stopping) {
        finish(j, VIGIL_ECANCELED, "stopping");
        return;
    }
    if (r->status == VIGIL_OK) {
        count(pt, pt->c_requests, 1);
        count(pt, pt->c_bytes, r->wire_bytes ? r->wire_bytes : r->body_len);
    }
    int kind = page_apply(j->doc, j->url, r, (size_t)pt->conf->max_body * 4 + 16, msg, sizeof msg);
    if (kind == PAGE_OK) {
        count(pt, pt->c_fetched, 1);
        finish(j, VIGIL_PASS, NULL);
    } else {
        int res = failed(pt, j, kind, msg);
        finish(j, res, res == VIGIL_DROP ? msg : NULL);
    }
    start_next(pt);
}

static void start(struct page_tr *pt, struct job *j)
{
    struct vigil_http_request req;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.url = j->url;
    req.timeout_ms = pt->conf->timeout;
    req.max_body = pt->conf->max_body;
    list_push(&pt->inflight, j);
    int rc = pt->host->http_request(pt->ins, &req, on_http, j, &j->call);
    if (rc != VIGIL_OK) {
        char msg[600];
        list_remove(&pt->inflight, j);
        snprintf(msg, sizeof msg, "fetch %s: cannot start: %s", j->url, vigil_strerror(rc));
        int res = failed(pt, j, PAGE_E_NETWORK, msg);
        defer(pt, j, res, res == VIGIL_DROP ? msg : NULL);
    }
}

static void start_next(struct page_tr *pt)
{
    while (!pt->stopping && pt->waiting.head && pt->inflight.n < (size_t)pt->conf->max_inflight)
        start(pt, list_pop(&pt->waiting));
}

static int page_process_async(void *state, json_t *doc, vigil_process_cb done, void *arg)
{
    struct page_tr *pt = state;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return VIGIL_ENOMEM;
    j->pt = pt;
    j->doc = doc;
    j->done = done;
    j->arg = arg;
    if (pt->stopping) {
        defer(pt, j, VIGIL_ECANCELED, "stopping");
        return VIGIL_OK;
    }
    const char *url;
    int d = page_decide(doc, (size_t)pt->conf->min_html, &url);
    if (d == PAGE_SKIP_NO_URL || d == PAGE_SKIP_HAS_HTML) {
        count(pt, pt->c_skipped, 1);
        defer(pt, j, VIGIL_PASS, NULL);
        return VIGIL_OK;
    }
    if (d == PAGE_BAD_URL) {
        char msg[600];
        snprintf(msg, sizeof msg, "url \"%.500s\" is not http:// or https://", url);
        int res = failed(pt, j, PAGE_E_URL, msg);
        defer(pt, j, res, res == VIGIL_DROP ? msg : NULL);
        return VIGIL_OK;
    }
    j->url = strdup(url);
    if (!j->url) {
        free(j);
        return VIGIL_ENOMEM;
    }
    if (pt->inflight.n < (size_t)pt->conf->max_inflight)
        start(pt, j);
    else
        list_push(&pt->waiting, j);
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
    struct job *j;
    pt->stopping = 1;
    /* Deferred completions are delivered now rather than trusting a timer
     * to run during shutdown. */
    if (pt->ready_timer) {
        pt->host->timer_stop(pt->ready_timer);
        pt->ready_timer = NULL;
    }
    while ((j = list_pop(&pt->ready)) != NULL) {
        char *msg = j->errmsg;
        j->errmsg = NULL;
        finish(j, j->result, msg);
        free(msg);
    }
    /* Waiting documents never started: they end now. */
    while ((j = list_pop(&pt->waiting)) != NULL)
        finish(j, VIGIL_ECANCELED, "stopping");
    /* In-flight ones end in their callbacks (VIGIL_ECANCELED). */
    for (j = pt->inflight.head; j; j = j->next) {
        if (j->call)
            pt->host->http_cancel(j->call);
    }
}

static void page_destroy(void *state)
{
    struct page_tr *pt = state;
    struct job *j;
    if (!pt)
        return;
    if (pt->ready_timer)
        pt->host->timer_stop(pt->ready_timer);
    /* Normally empty by now; completing keeps the done-once promise. */
    while ((j = list_pop(&pt->ready)) != NULL) {
        char *msg = j->errmsg;
        j->errmsg = NULL;
        finish(j, j->result, msg);
        free(msg);
    }
    free(pt);
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
