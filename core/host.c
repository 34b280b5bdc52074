/*
 * core/host - the function table handed to plugins (struct vigil_host).
 *
 * Each function checks the thread it runs on when the ABI says "loop thread
 * only": a plugin calling from a worker gets VIGIL_ESTATE and a log line
 * instead of a corrupted loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine_internal.h"
#include "fsutil.h"
#include "http.h"
#include "store.h"

#ifndef VIGIL_HOST_VERSION
#define VIGIL_HOST_VERSION "0"
#endif

static struct core_engine *eng(struct vigil_instance *ins)
{
    return ins->pl->eng;
}

static void h_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_log_vwrite(eng(ins)->cfg.log, level, ins->pl->def->name, ins->def->id, fmt, ap);
    va_end(ap);
}

static int h_log_enabled(struct vigil_instance *ins, int level)
{
    return core_log_enabled(eng(ins)->cfg.log, level);
}

static const char *h_pipeline_name(struct vigil_instance *ins)
{
    return ins->pl->def->name;
}

static const char *h_stage_id(struct vigil_instance *ins)
{
    return ins->def->id;
}

static int h_resolve_path(struct vigil_instance *ins, const char *path, char *out, size_t outlen)
{
    int n;
    if (!path || !out || outlen == 0)
        return VIGIL_EINVAL;
    if (path[0] == '/' || strcmp(ins->pl->def->dir, ".") == 0)
        n = snprintf(out, outlen, "%s", path);
    else
        n = snprintf(out, outlen, "%s/%s", ins->pl->def->dir, path);
    return (n < 0 || (size_t)n >= outlen) ? VIGIL_ETOOBIG : VIGIL_OK;
}


static const char *h_state_dir(struct vigil_instance *ins)
{
    const char *dir = core_engine_state_dir(eng(ins));
    if (fsutil_mkdir_p(dir) != 0) {
        h_log(ins, VIGIL_LOG_ERROR, "state directory %s cannot be created: %s", dir,
              strerror(errno));
        return NULL;
    }
    return dir;
}

static int h_emit(struct vigil_instance *ins, json_t *doc)
{
    return core_engine_emit(ins, doc, NULL, NULL);
}

static int h_emit_tracked(struct vigil_instance *ins, json_t *doc, vigil_ack_cb ack, void *arg)
{
    return core_engine_emit(ins, doc, ack, arg);
}

/* --- timers ------------------------------------------------------------ */

static void timer_fire(uv_timer_t *h)
{
    struct vigil_timer *t = h->data;
    t->cb(t, t->arg);
}

static void timer_unlink(struct vigil_timer *t)
{
    struct vigil_timer **pp = &t->ins->timers;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
}

static void timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static struct vigil_timer *h_timer_start(struct vigil_instance *ins, uint64_t timeout_ms,
                                         uint64_t repeat_ms, vigil_timer_cb cb, void *arg)
{
    if (!core_engine_on_loop(eng(ins))) {
        h_log(ins, VIGIL_LOG_ERROR, "timer_start called outside the loop thread");
        return NULL;
    }
    struct vigil_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ins = ins;
    t->cb = cb;
    t->arg = arg;
    uv_timer_init(eng(ins)->loop, &t->handle);
    t->handle.data = t;
    uv_timer_start(&t->handle, timer_fire, timeout_ms, repeat_ms);
    t->next = ins->timers;
    ins->timers = t;
    return t;
}

static void h_timer_stop(struct vigil_timer *t)
{
    if (!t || t->closing)
        return;
    t->closing = 1;
    timer_unlink(t);
    uv_timer_stop(&t->handle);
    uv_close((uv_handle_t *)&t->handle, timer_closed);
}

void core_host_close_timers(struct vigil_instance *ins)
{
    while (ins->timers)
        h_timer_stop(ins->timers);
}

/* --- counters ---------------------------------------------------------- */

static struct vigil_counter *h_counter(struct vigil_instance *ins, const char *name,
                                       const char *help)
{
    for (struct vigil_counter *c = ins->counters; c; c = c->next) {
        if (strcmp(c->name, name) == 0)
            return c;
    }
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            h_log(ins, VIGIL_LOG_ERROR, "counter name '%s' must be [a-z0-9_]+", name);
            return NULL;
        }
    }
    struct vigil_counter *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->name = strdup(name);
    c->help = strdup(help ? help : "");
    c->next = ins->counters;
    ins->counters = c;
    return c;
}

static void h_counter_add(struct vigil_counter *c, uint64_t delta)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, delta, memory_order_relaxed);
}

void core_host_free_counters(struct vigil_instance *ins)
{
    struct vigil_counter *c = ins->counters;
    while (c) {
        struct vigil_counter *next = c->next;
        free(c->name);
        free(c->help);
        free(c);
        c = next;
    }
    ins->counters = NULL;
}

/* --- state store --------------------------------------------------------- */

static int h_kv_get(struct vigil_instance *ins, const char *key, char **val, size_t *len)
{
    struct core_store *s = core_engine_store(eng(ins));
    if (!s)
        return VIGIL_EIO;
    return core_store_get(s, ins->ns, key, val, len);
}

static int h_kv_put(struct vigil_instance *ins, const char *key, const void *val, size_t len,
                    int64_t ttl_ms)
{
    struct core_store *s = core_engine_store(eng(ins));
    if (!s)
        return VIGIL_EIO;
    return core_store_put(s, ins->ns, key, val, len, ttl_ms);
}

static int h_kv_del(struct vigil_instance *ins, const char *key)
{
    struct core_store *s = core_engine_store(eng(ins));
    if (!s)
        return VIGIL_EIO;
    return core_store_del(s, ins->ns, key);
}

static int h_kv_flush(struct vigil_instance *ins)
{
    struct core_store *s = core_engine_store(eng(ins));
    if (!s)
        return VIGIL_EIO;
    return core_store_commit(s);
}

static int h_claim_owned(struct vigil_instance *ins, const char *key, const char *owner,
                         int64_t ttl_ms, char *holder, size_t holder_len)
{
    struct core_engine *e = eng(ins);
    if (!key)
        return VIGIL_EINVAL;
    if (e->cluster_claim)
        return e->cluster_claim(e->cluster, ins->ns, key, owner, ttl_ms, holder, holder_len);
    struct core_store *s = core_engine_store(e);
    if (!s)
        return VIGIL_EIO;
    return core_store_claim_owned(s, ins->ns, key, owner, ttl_ms, holder, holder_len);
}

static int h_claim(struct vigil_instance *ins, const char *key, int64_t ttl_ms)
{
    return h_claim_owned(ins, key, NULL, ttl_ms, NULL, 0);
}

/* --- misc ---------------------------------------------------------------- */

static struct uv_loop_s *h_loop(struct vigil_instance *ins)
{
    return eng(ins)->loop;
}

static int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int h_is_paused(struct vigil_instance *ins)
{
    return ins->pl->paused || ins->pl->phase != PL_STARTED;
}

static int h_is_stopping(struct vigil_instance *ins)
{
    return ins->pl->phase > PL_STARTED || eng(ins)->stopping;
}

static int h_run_once(struct vigil_instance *ins)
{
    return eng(ins)->cfg.once;
}

/* --- HTTP ---------------------------------------------------------------- */

static void http_log(void *arg, int level, const char *msg)
{
    struct core_engine *e = arg;
    core_log_write(e->cfg.log, level, NULL, "http", "%s", msg);
}

/* The client is created on first use: most pipelines never fetch. */
static struct core_http *http_client(struct vigil_instance *ins)
{
    struct core_engine *e = eng(ins);
    if (e->http || e->http_failed)
        return e->http;
    struct core_http_config cfg = {0};
    const struct core_http_settings *hs = e->cfg.http;
    cfg.version = VIGIL_HOST_VERSION;
    if (hs) {
        cfg.user_agent = hs->user_agent;
        cfg.max_total = (long)hs->max_total;
        cfg.max_per_host = (long)hs->max_per_host;
        cfg.max_queued = (long)hs->max_queued;
        cfg.connect_timeout_ms = hs->connect_timeout_ms;
        cfg.timeout_ms = hs->timeout_ms;
        cfg.low_speed_limit = (long)hs->low_speed_limit;
        cfg.low_speed_time_ms = hs->low_speed_time_ms;
        cfg.max_body = hs->max_body;
        cfg.max_redirects = (long)hs->max_redirects;
        cfg.http2 = hs->http1_only ? -1 : 0;
        cfg.proxy = hs->proxy;
    }
    cfg.log = http_log;
    cfg.log_arg = e;
    struct vigil_error err = {0};
    if (core_http_create(e->loop, &cfg, &e->http, &err) != VIGIL_OK) {
        core_log_error(e->cfg.log, "http", "cannot create the HTTP client: %s", err.msg);
        e->http_failed = 1;
    }
    return e->http;
}

static int h_http_request(struct vigil_instance *ins, const struct vigil_http_request *req,
                          vigil_http_cb cb, void *arg, struct vigil_http_call **call)
{
    if (!core_engine_on_loop(eng(ins))) {
        h_log(ins, VIGIL_LOG_ERROR, "http_request called outside the loop thread");
        return VIGIL_ESTATE;
    }
    if (eng(ins)->stopping && !eng(ins)->http)
        return VIGIL_ESTATE;
    struct core_http *c = http_client(ins);
    if (!c)
        return VIGIL_EIO;
    int rc = core_http_request(c, req, cb, arg, call);
    if (rc != VIGIL_OK)
        h_log(ins, VIGIL_LOG_DEBUG, "HTTP request refused: %s", vigil_strerror(rc));
    return rc;
}

static int h_mail_send(struct vigil_instance *ins, const struct vigil_mail_request *req,
                       vigil_http_cb cb, void *arg, struct vigil_http_call **call)
{
    if (!core_engine_on_loop(eng(ins))) {
        h_log(ins, VIGIL_LOG_ERROR, "mail_send called outside the loop thread");
        return VIGIL_ESTATE;
    }
    if (eng(ins)->stopping && !eng(ins)->http)
        return VIGIL_ESTATE;
    struct core_http *c = http_client(ins);
    if (!c)
        return VIGIL_EIO;
    /* the client logs why, with the URL unless it may hold credentials */
    int rc = core_http_mail(c, req, cb, arg, call);
    if (rc != VIGIL_OK)
        h_log(ins, VIGIL_LOG_DEBUG, "mail refused: %s", vigil_strerror(rc));
    return rc;
}

static void h_http_cancel(struct vigil_http_call *call)
{
    if (call)
        core_http_cancel(call);
}

void core_host_http_close(struct core_engine *e, void (*closed)(void *arg), void *arg)
{
    if (!e->http) {
        closed(arg);
        return;
    }
    struct core_http *c = e->http;
    e->http = NULL;
    e->http_failed = 1; /* no new client during shutdown */
    core_http_close(c, closed, arg);
}

const struct vigil_host core_host_table = {
    .abi_major = VIGIL_ABI_MAJOR,
    .abi_minor = VIGIL_ABI_MINOR,
    .struct_size = sizeof(struct vigil_host),
    .log = h_log,
    .log_enabled = h_log_enabled,
    .pipeline_name = h_pipeline_name,
    .stage_id = h_stage_id,
    .resolve_path = h_resolve_path,
    .state_dir = h_state_dir,
    .emit = h_emit,
    .emit_tracked = h_emit_tracked,
    .timer_start = h_timer_start,
    .timer_stop = h_timer_stop,
    .counter = h_counter,
    .counter_add = h_counter_add,
    .kv_get = h_kv_get,
    .kv_put = h_kv_put,
    .kv_del = h_kv_del,
    .kv_flush = h_kv_flush,
    .loop = h_loop,
    .now_ms = h_now_ms,
    .is_paused = h_is_paused,
    .is_stopping = h_is_stopping,
    .run_once = h_run_once,
    .http_request = h_http_request,
    .http_cancel = h_http_cancel,
    .claim = h_claim,
    .claim_owned = h_claim_owned,
    .mail_send = h_mail_send,
};
