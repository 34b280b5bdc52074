/*
 * core/api - HTTP API of `vigil serve`.
 *
 * libmicrohttpd runs in "external event loop" mode with epoll: its epoll
 * descriptor is watched by a uv_poll_t and MHD_run() is called when it is
 * readable, when MHD's own timeout (a uv_timer_t) fires, and after a
 * suspended connection is resumed. Ingest requests are suspended until
 * every document they carried has left the pipeline (its alerts are in the
 * outbox), then answered 202: "accepted" means durably accepted.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <uv.h>

#include "archive.h"
#include "buf.h"
#include "daemon.h"
#include "datetime.h"
#include "engine_internal.h"
#include "outbox.h"
#include "units.h"

#define API_LOG "api"

struct core_api {
    struct core_daemon *d;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    int kicked; /* a connection was resumed: MHD_run again at once */
    int port;
    int closing;
    int handles;
    void (*closed)(void *arg);
    void *closed_arg;
};

struct req {
    struct core_api *api;
    struct MHD_Connection *conn;
    int refs; /* MHD's reference + one per document awaiting its ack */
    int done; /* MHD finished with the request */
    struct buf body;
    int too_big;
    /* ingest */
    int suspended;
    size_t waiting;
    json_t *results; /* per document: {id, status} */
    unsigned reply_status;
    char *reply;
    const char *reply_type;
};

static const struct core_log *api_log(struct core_api *api)
{
    return core_daemon_engine(api->d)->cfg.log;
}

static void req_unref(struct req *r)
{
    if (--r->refs > 0)
        return;
    buf_free(&r->body);
    json_decref(r->results);
    free(r->reply);
    free(r);
}

/* ------------------------------------------------------------------------
 * Loop integration
 * --------------------------------------------------------------------- */

static void api_run(struct core_api *api);

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    api_run(p->data);
}

static void on_timer(uv_timer_t *t)
{
    api_run(t->data);
}

static void api_run(struct core_api *api)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (!api->mhd)
        return;
    api->kicked = 0;
    MHD_run(api->mhd);
    /* Without a timeout of its own MHD still needs a turn now and then: at
     * max_connections it takes its listening socket out of its epoll set
     * and puts it back only inside a later MHD_run(), which no socket event
     * would ever trigger once the connections are gone. */
    if (MHD_get_timeout(api->mhd, &ms) != MHD_YES || ms > 1000)
        ms = 1000;
    /* A request answered inside this very MHD_run (a pushed document that
     * finished synchronously) was resumed by api_kick; MHD_get_timeout does
     * not count it, and re-arming with its value would hold the reply until
     * the next socket event or a whole second. */
    if (api->kicked)
        ms = 0;
    uv_timer_start(&api->timer, on_timer, (uint64_t)ms, 0);
}

/* Call MHD_run on the next loop iteration (after a resume). */
static void api_kick(struct core_api *api)
{
    if (api->mhd) {
        api->kicked = 1;
        uv_timer_start(&api->timer, on_timer, 0, 0);
    }
}

/* ------------------------------------------------------------------------
 * Replies
 * --------------------------------------------------------------------- */

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *text, const char *extra_header,
                                  const char *extra_value)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (extra_header)
        MHD_add_response_header(resp, extra_header, extra_value);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Takes j. */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(j);
    if (!s)
        return MHD_NO;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (t) {
        t[n] = '\n';
        t[n + 1] = '\0';
        s = t;
    }
    enum MHD_Result rc = reply_text(c, status, "application/json", s, NULL, NULL);
    free(s);
    return rc;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return reply_json(c, status, json_pack("{s:s, s:i}", "error", msg, "status", status));
}

/* ------------------------------------------------------------------------
 * Endpoint helpers
 * --------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "7d" (that long ago) or an ISO date; 0 when absent, -1 when invalid. */
static int64_t time_arg(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    int64_t ms;
    if (!v || !*v)
        return 0;
    if (units_parse_duration_ms(v, &ms) == 0)
        return now_ms() - ms;
    if (datetime_parse(v, &ms) == 0)
        return ms;
    return -1;
}

static void stage_json(void *arg, const struct core_stage_stats *ss)
{
    json_t *stages = arg;
    char ts[32];
    json_t *s = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id", ss->id, "plugin",
                          ss->plugin, "kind",
                          ss->kind == VIGIL_SOURCE      ? "source"
                          : ss->kind == VIGIL_TRANSFORM ? "transform"
                                                        : "sink",
                          "in", (json_int_t)ss->in, "out", (json_int_t)ss->out, "dropped",
                          (json_int_t)ss->dropped, "errors", (json_int_t)ss->errors, "queued",
                          (json_int_t)ss->queued);
    if (ss->kind == VIGIL_SINK) {
        json_object_set_new(s, "retries", json_integer((json_int_t)ss->retries));
        json_object_set_new(s, "failed", json_integer((json_int_t)ss->failed));
    }
    if (ss->last_error[0]) {
        vigil_time_iso8601(ss->last_error_at, ts, sizeof ts);
        json_object_set_new(s, "last_error",
                            json_pack("{s:s, s:s}", "message", ss->last_error, "at", ts));
    }
    if (ss->kind == VIGIL_SOURCE) {
        json_object_set_new(s, "running", json_boolean(ss->running));
        if (ss->next_run_ms >= 0) {
            vigil_time_iso8601(ss->next_run_ms, ts, sizeof ts);
            json_object_set_new(s, "next_run", json_string(ts));
        }
    }
    json_array_append_new(stages, s);
}

static void pipeline_json(void *arg, const struct core_pipeline_stats *ps)
{
    json_t *out = arg;
    json_object_set_new(out, "name", json_string(ps->name));
    json_object_set_new(out, "running", json_boolean(ps->running));
    json_object_set_new(out, "paused", json_boolean(ps->paused));
    json_object_set_new(out, "file", json_string(ps->file));
    if (ps->description)
        json_object_set_new(out, "description", json_string(ps->description));
    json_object_set_new(out, "documents",
                        json_pack("{s:I, s:I, s:I, s:I}", "emitted", (json_int_t)ps->emitted,
                                  "finished", (json_int_t)ps->finished, "in_flight",
                                  (json_int_t)ps->inflight, "lost", (json_int_t)ps->lost));
}

static enum MHD_Result get_pipelines(struct req *r)
{
    struct core_engine *e = core_daemon_engine(r->api->d);
    json_t *list = json_array();
    for (struct core_pipeline *pl = core_engine_next(e, NULL); pl; pl = core_engine_next(e, pl)) {
        json_t *p = json_object();
        core_pipeline_stats(pl, pipeline_json, NULL, p);
        json_array_append_new(list, p);
    }
    json_t *st = core_daemon_status(r->api->d);
    json_t *out = json_pack("{s:o, s:O}", "pipelines", list, "broken", json_object_get(st, "broken"));
    json_decref(st);
    return reply_json(r->conn, MHD_HTTP_OK, out);
}

static enum MHD_Result get_pipeline(struct req *r, const char *name)
{
    struct core_engine *e = core_daemon_engine(r->api->d);
    struct core_pipeline *pl = core_engine_find(e, name);
    if (!pl)
        return reply_error(r->conn, MHD_HTTP_NOT_FOUND, "no such pipeline");
    json_t *p = json_object(), *stages = json_array();
    core_pipeline_stats(pl, pipeline_json, NULL, p);
    core_pipeline_stats(pl, NULL, stage_json, stages);
    json_object_set_new(p, "stages", stages);
    return reply_json(r->conn, MHD_HTTP_OK, p);
}

/* One pushed document, waiting for its ack. */
struct ingest_slot {
    struct req *r;
    json_t *result; /* {id, status}, borrowed from r->results */
};

static void finish_ingest(struct req *r)
{
    size_t failed = 0, i;
    json_t *d;
    json_t *ids = json_array();
    json_array_foreach(r->results, i, d)
    {
        json_array_append(ids, json_object_get(d, "id"));
        failed += strcmp(json_string_value(json_object_get(d, "status")), "accepted") != 0;
    }
    json_t *body = json_pack("{s:I, s:I, s:o, s:O}", "accepted",
                             (json_int_t)(json_array_size(r->results) - failed), "failed",
                             (json_int_t)failed, "ids", ids, "documents", r->results);
    r->reply = json_dumps(body, JSON_INDENT(2));
    json_decref(body);
    r->reply_status = MHD_HTTP_ACCEPTED;
    r->reply_type = "application/json";
    if (r->suspended && !r->done) {
        MHD_resume_connection(r->conn);
        r->suspended = 0;
        api_kick(r->api);
    }
}

/* A pushed document left the pipeline (its alerts are in the outbox). */
static void ingest_ack(void *arg, int status)
{
    struct ingest_slot *slot = arg;
    struct req *r = slot->r;
    json_object_set_new(slot->result, "status",
                        json_string(status == VIGIL_OK ? "accepted" : "failed"));
    if (status != VIGIL_OK)
        json_object_set_new(slot->result, "error", json_string(vigil_strerror(status)));
    free(slot);
    if (--r->waiting == 0)
        finish_ingest(r);
    req_unref(r);
}

/* Parse the body: one object, an array of objects, or JSON Lines. All or
 * nothing: a bad line refuses the whole request with its position. */
json_t *core_api_parse_documents(const char *body, size_t len, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    json_t *docs = json_array();
    json_error_t jerr;
    if (i < len && body[i] == '[') {
        json_t *arr = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!arr) {
            snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line,
                     jerr.column, jerr.text);
            json_decref(docs);
            return NULL;
        }
        size_t k;
        json_t *d;
        json_array_foreach(arr, k, d)
        {
            if (!json_is_object(d)) {
                snprintf(err, errlen, "item %zu of the array is not a JSON object", k);
                json_decref(arr);
                json_decref(docs);
                return NULL;
            }
            json_array_append(docs, d);
        }
        json_decref(arr);
        return docs;
    }
    /* One object, or one per line. */
    json_t *one = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json_is_object(one)) {
        json_array_append_new(docs, one);
        return docs;
    }
    json_decref(one);
    size_t line = 0;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < e) {
            json_t *d = json_loadb(s, (size_t)(e - s), JSON_REJECT_DUPLICATES, &jerr);
            if (!json_is_object(d)) {
                snprintf(err, errlen, "line %zu, column %d: %s", line, d ? 1 : jerr.column,
                         d ? "expected a JSON object" : jerr.text);
                json_decref(d);
                json_decref(docs);
                return NULL;
            }
            json_array_append_new(docs, d);
        }
        p = e + 1;
    }
    if (json_array_size(docs) == 0) {
        snprintf(err, errlen, "no document in the request body");
        json_decref(docs);
        return NULL;
    }
    return docs;
}

static enum MHD_Result post_documents(struct req *r, const char *name)
{
    struct core_daemon *d = r->api->d;
    struct core_engine *e = core_daemon_engine(d);
    if (core_daemon_stopping(d))
        return reply_text(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                          "{\"error\": \"draining: the daemon is shutting down\", \"status\": "
                          "503}\n",
                          "Retry-After", "5");
    struct core_pipeline *pl = core_engine_find(e, name);
    if (!pl)
        return reply_error(r->conn, MHD_HTTP_NOT_FOUND, "no such pipeline");
    if (!core_pipeline_has_push(pl))
        return reply_error(r->conn, MHD_HTTP_NOT_FOUND,
                           "this pipeline accepts no pushed documents (add a source with "
                           "\"plugin\": \"push\")");
    if (!core_pipeline_running(pl))
        return reply_text(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                          "{\"error\": \"the pipeline is stopping (reload)\", \"status\": 503}\n",
                          "Retry-After", "1");
    if (r->too_big) {
        char msg[128], lim[32];
        units_format_size(core_daemon_config(d)->max_body, lim, sizeof lim);
        snprintf(msg, sizeof msg, "request body larger than %s", lim);
        return reply_error(r->conn, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    if (core_pipeline_busy(pl))
        return reply_text(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                          "{\"error\": \"the pipeline is at its high watermark; retry\", "
                          "\"status\": 503}\n",
                          "Retry-After", "1");
    char err[512];
    json_t *docs = core_api_parse_documents(r->body.data ? r->body.data : "", r->body.len, err, sizeof err);
    if (!docs)
        return reply_error(r->conn, MHD_HTTP_BAD_REQUEST, err);
    /* Memory stays bounded by queue_high: a request never takes the
     * pipeline past it. */
    size_t ndocs = json_array_size(docs);
    if (ndocs > core_pipeline_queue_high(pl)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the request holds %zu documents; at most %llu (the pipeline's queue_high) fit "
                 "in one request",
                 ndocs, (unsigned long long)core_pipeline_queue_high(pl));
        json_decref(docs);
        return reply_error(r->conn, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    if (ndocs > core_pipeline_room(pl)) {
        json_decref(docs);
        return reply_text(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                          "{\"error\": \"the pipeline has no room for this many documents "
                          "now; retry\", \"status\": 503}\n",
                          "Retry-After", "1");
    }

    r->results = json_array();
    size_t i;
    json_t *doc;
    MHD_suspend_connection(r->conn);
    r->suspended = 1;
    r->waiting = json_array_size(docs);
    r->refs++; /* until every document was handed over */
    json_array_foreach(docs, i, doc)
    {
        /* Ids are fixed before the document is handed over: once emitted
         * it belongs to the engine (and maybe a worker thread). */
        core_pipeline_prepare_push(pl, doc);
        json_t *result = json_pack("{s:O, s:s}", "id", json_object_get(doc, "id"), "status",
                                   "pending");
        json_array_append_new(r->results, result);
        struct ingest_slot *slot = malloc(sizeof *slot);
        if (!slot) {
            json_object_set_new(result, "status", json_string("failed"));
            r->waiting--;
            continue;
        }
        slot->r = r;
        slot->result = result;
        r->refs++;
        int rc = core_pipeline_push(pl, json_incref(doc), ingest_ack, slot);
        if (rc != VIGIL_OK && rc != VIGIL_EAGAIN)
            ingest_ack(slot, rc); /* not accepted: no ack will come */
    }
    json_decref(docs);
    if (r->waiting == 0 && !r->reply)
        finish_ingest(r);
    req_unref(r);
    return MHD_YES;
}

/* A "limit" query argument: 1..max, dflt when absent; -1 when it is not a
 * positive integer. */
static long limit_arg(struct MHD_Connection *c, long dflt, long max)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    if (!v)
        return dflt;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1)
        return -1;
    return n > max ? max : n;
}

static enum MHD_Result get_alerts(struct req *r)
{
    struct core_outbox *o = core_daemon_outbox(r->api->d);
    if (!o)
        return reply_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the alert outbox is unavailable");
    const char *state = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "state");
    long limit = limit_arg(r->conn, 100, 1000);
    if (limit < 0)
        return reply_error(r->conn, MHD_HTTP_BAD_REQUEST, "limit: expected a positive integer");
    int64_t since = time_arg(r->conn, "since");
    if (since < 0)
        return reply_error(r->conn, MHD_HTTP_BAD_REQUEST,
                           "since: expected a duration such as 7d or an ISO 8601 date");
    if (state && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "dead") &&
        strcmp(state, "digest"))
        return reply_error(r->conn, MHD_HTTP_BAD_REQUEST,
                           "state: expected pending, delivered, dead or digest");
    json_t *rows = core_outbox_list(o, state, since, (int)limit, 1);
    return reply_json(r->conn, MHD_HTTP_OK, json_pack("{s:o}", "alerts", rows));
}

static enum MHD_Result post_alert_retry(struct req *r, const char *id)
{
    struct core_outbox *o = core_daemon_outbox(r->api->d);
    if (!o)
        return reply_error(r->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the alert outbox is unavailable");
    int n = core_outbox_requeue(o, id, now_ms());
    if (n <= 0)
        return reply_error(r->conn, MHD_HTTP_NOT_FOUND, "no dead alert with that id");
    core_engine_alerts_wake(core_daemon_engine(r->api->d));
    return reply_json(r->conn, MHD_HTTP_OK, json_pack("{s:i}", "requeued", n));
}

static enum MHD_Result get_search(struct req *r)
{
    struct core_search_query q = {0};
    q.q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "q");
    q.entity = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "entity");
    q.pipeline = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "pipeline");
    long limit = limit_arg(r->conn, 20, 1000);
    if (limit < 0)
        return reply_error(r->conn, MHD_HTTP_BAD_REQUEST, "limit: expected a positive integer");
    q.limit = (int)limit;
    q.from_ms = time_arg(r->conn, "from");
    q.to_ms = time_arg(r->conn, "to");
    if (q.from_ms < 0 || q.to_ms < 0)
        return reply_error(r->conn, MHD_HTTP_BAD_REQUEST,
                           "from/to: expected a duration such as 7d or an ISO 8601 date");
    json_t *res = NULL;
    struct vigil_error err = {0};
    if (core_archive_search(core_daemon_archive_path(r->api->d), &q, &res, &err) != VIGIL_OK)
        return reply_error(r->conn,
                           err.code == VIGIL_ENOTFOUND ? MHD_HTTP_NOT_FOUND
                                                       : MHD_HTTP_INTERNAL_SERVER_ERROR,
                           err.msg);
    return reply_json(r->conn, MHD_HTTP_OK, res);
}

static enum MHD_Result post_reload(struct req *r)
{
    json_t *report = NULL;
    int rc = core_daemon_reload(r->api->d, &report);
    return reply_json(r->conn, rc == VIGIL_OK ? MHD_HTTP_OK : MHD_HTTP_BAD_REQUEST, report);
}

/* Constant-time comparison: the time taken does not tell how much of a
 * guessed token was right. */
static int token_ok(const char *header, const char *token)
{
    if (!header || strncmp(header, "Bearer ", 7) != 0)
        return 0;
    const char *given = header + 7;
    size_t a = strlen(given), b = strlen(token);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)(given[i < a ? i : 0] ^ token[i]);
    return diff == 0;
}

/* ------------------------------------------------------------------------
 * Routing
 * --------------------------------------------------------------------- */

static int path_param(const char *url, const char *prefix, const char *suffix, char *out,
                      size_t outlen)
{
    size_t pl = strlen(prefix), sl = suffix ? strlen(suffix) : 0, ul = strlen(url);
    if (ul <= pl + sl || strncmp(url, prefix, pl) != 0)
        return 0;
    if (sl && strcmp(url + ul - sl, suffix) != 0)
        return 0;
    size_t n = ul - pl - sl;
    if (n == 0 || n >= outlen || memchr(url + pl, '/', n))
        return 0;
    memcpy(out, url + pl, n);
    out[n] = '\0';
    return 1;
}

static enum MHD_Result route(struct req *r, const char *method, const char *url)
{
    struct core_daemon *d = r->api->d;
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    int post = !strcmp(method, "POST");
    char name[256];

    if (!strcmp(url, "/healthz"))
        return get ? reply_text(r->conn, MHD_HTTP_OK, "application/json", "{\"status\": \"ok\"}\n",
                                NULL, NULL)
                   : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (!strcmp(url, "/readyz")) {
        if (!get)
            return reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
        json_t *st = core_daemon_status(d);
        unsigned code = json_is_true(json_object_get(st, "ready")) ? MHD_HTTP_OK
                                                                     : MHD_HTTP_SERVICE_UNAVAILABLE;
        return reply_json(r->conn, code, st);
    }

    const char *token = core_daemon_config(d)->token;
    if (token && !token_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_AUTHORIZATION),
                           token))
        return reply_text(r->conn, MHD_HTTP_UNAUTHORIZED, "application/json",
                          "{\"error\": \"missing or wrong API token (Authorization: Bearer "
                          "...)\", \"status\": 401}\n",
                          "WWW-Authenticate", "Bearer realm=\"vigil\"");

    if (!strcmp(url, "/metrics")) {
        if (!get)
            return reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
        char *text = core_metrics_render(d);
        enum MHD_Result rc = reply_text(r->conn, MHD_HTTP_OK,
                                        "text/plain; version=0.0.4; charset=utf-8",
                                        text ? text : "", NULL, NULL);
        free(text);
        return rc;
    }
    if (!strcmp(url, "/api/v1/pipelines"))
        return get ? get_pipelines(r) : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (path_param(url, "/api/v1/pipelines/", "/documents", name, sizeof name))
        return post ? post_documents(r, name)
                    : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
    if (path_param(url, "/api/v1/pipelines/", NULL, name, sizeof name))
        return get ? get_pipeline(r, name)
                   : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (!strcmp(url, "/api/v1/alerts"))
        return get ? get_alerts(r) : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (path_param(url, "/api/v1/alerts/", "/retry", name, sizeof name))
        return post ? post_alert_retry(r, name)
                    : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
    if (!strcmp(url, "/api/v1/search"))
        return get ? get_search(r) : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (!strcmp(url, "/api/v1/reload"))
        return post ? post_reload(r) : reply_error(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
    return reply_error(r->conn, MHD_HTTP_NOT_FOUND, "no such endpoint (see docs/api.md)");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct core_api *api = cls;
    struct req *r = *con_cls;
    (void)version;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->api = api;
        r->conn = conn;
        r->refs = 1;
        buf_init(&r->body, core_daemon_config(api->d)->max_body);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Keep reading what is sent, but stop storing it past the limit:
         * the answer is 413 either way. */
        if (!r->too_big && buf_append(&r->body, upload_data, *upload_size) != 0) {
            r->too_big = 1;
            buf_free(&r->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->reply) {
        /* Resumed after every document was acknowledged. */
        return reply_text(conn, r->reply_status, r->reply_type, r->reply, NULL, NULL);
    }
    if (r->suspended)
        return MHD_YES;
    return route(r, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (!r)
        return;
    r->done = 1;
    *con_cls = NULL;
    req_unref(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct core_api *api = cls;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    core_log_write(api_log(api), VIGIL_LOG_DEBUG, NULL, API_LOG, "%s", msg);
}

int core_api_parse_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -1;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535 || end == colon + 1)
        return -1;
    *port = (int)p;
    return 0;
}

int core_api_start(struct core_daemon *d, struct core_api **out, struct vigil_error *err)
{
    const struct core_daemon_config *c = core_daemon_config(d);
    char host[256];
    int port;
    if (core_api_parse_listen(c->listen, host, sizeof host, &port) != 0)
        return vigil_error_set(err, VIGIL_EINVAL, "listen: cannot parse \"%s\"", c->listen);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &ai);
    if (gai != 0)
        return vigil_error_set(err, VIGIL_EINVAL, "listen: %s: %s", c->listen, gai_strerror(gai));

    struct core_api *api = calloc(1, sizeof *api);
    if (!api) {
        freeaddrinfo(ai);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    api->d = d;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    api->mhd = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, api, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)c->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)((c->connection_timeout_ms + 999) / 1000),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!api->mhd) {
        free(api);
        return vigil_error_set(err, VIGIL_EIO,
                               "cannot listen on %s (address in use, or not allowed?)", c->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pinfo = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
    api->port = pinfo ? pinfo->port : port;
    uv_loop_t *loop = core_daemon_engine(d)->loop;
    uv_timer_init(loop, &api->timer);
    api->timer.data = api;
    if (!info || uv_poll_init(loop, &api->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(api->mhd);
        uv_close((uv_handle_t *)&api->timer, NULL);
        free(api);
        return vigil_error_set(err, VIGIL_EIO, "cannot watch the API's event descriptor");
    }
    api->poll.data = api;
    uv_poll_start(&api->poll, UV_READABLE, on_poll);
    api_run(api);
    core_log_info(api_log(api), API_LOG, "listening on http://%s%s%s:%d%s",
                  strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", api->port,
                  c->token ? " (API token required)" : " (no API token: open to local users)");
    *out = api;
    return VIGIL_OK;
}

int core_api_port(const struct core_api *api)
{
    return api->port;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct core_api *api = h->data;
    if (--api->handles > 0)
        return;
    void (*closed)(void *) = api->closed;
    void *arg = api->closed_arg;
    free(api);
    if (closed)
        closed(arg);
}

void core_api_close(struct core_api *api, void (*closed)(void *arg), void *arg)
{
    if (api->closing)
        return;
    api->closing = 1;
    api->closed = closed;
    api->closed_arg = arg;
    uv_poll_stop(&api->poll);
    uv_timer_stop(&api->timer);
    /* Connections still open are closed; requests waiting for their
     * documents were answered during the drain that came first. */
    MHD_stop_daemon(api->mhd);
    api->mhd = NULL;
    api->handles = 2;
    uv_close((uv_handle_t *)&api->poll, on_handle_closed);
    uv_close((uv_handle_t *)&api->timer, on_handle_closed);
}
