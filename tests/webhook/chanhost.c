#include "chanhost.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "jdiag.h"
#include "options.h"

static struct chanhost *host_of(struct vigil_instance *ins)
{
    return (struct chanhost *)ins;
}

struct vigil_instance *chanhost_ins(struct chanhost *h)
{
    return (struct vigil_instance *)h;
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

static void h_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    struct chanhost *h = host_of(ins);
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *ln = level >= 0 && level <= 4 ? level_names[level] : "?";
    buf_printf(&h->log, "%s %s\n", ln, msg);
    if (getenv("CHANHOST_VERBOSE"))
        fprintf(stderr, "    [%s] %s\n", ln, msg);
}

static int h_log_enabled(struct vigil_instance *ins, int level)
{
    (void)ins;
    return level <= VIGIL_LOG_DEBUG;
}

static const char *h_pipeline_name(struct vigil_instance *ins)
{
    (void)ins;
    return "test";
}

static const char *h_stage_id(struct vigil_instance *ins)
{
    (void)ins;
    return "sink";
}

static int h_resolve_path(struct vigil_instance *ins, const char *path, char *out, size_t outlen)
{
    struct chanhost *h = host_of(ins);
    int n = path[0] == '/' ? snprintf(out, outlen, "%s", path)
                           : snprintf(out, outlen, "%s/%s", h->dir, path);
    return n < 0 || (size_t)n >= outlen ? VIGIL_ETOOBIG : VIGIL_OK;
}

static const char *h_state_dir(struct vigil_instance *ins)
{
    return host_of(ins)->dir;
}

static int h_emit(struct vigil_instance *ins, json_t *doc)
{
    (void)ins;
    json_decref(doc);
    return VIGIL_EINVAL;
}

static int h_emit_tracked(struct vigil_instance *ins, json_t *doc, vigil_ack_cb ack, void *arg)
{
    (void)ack;
    (void)arg;
    return h_emit(ins, doc);
}

struct vigil_timer {
    uv_timer_t t;
    vigil_timer_cb cb;
    void *arg;
    int closing;
};

static void timer_fire(uv_timer_t *t)
{
    struct vigil_timer *vt = t->data;
    vt->cb(vt, vt->arg);
}

static struct vigil_timer *h_timer_start(struct vigil_instance *ins, uint64_t timeout_ms,
                                         uint64_t repeat_ms, vigil_timer_cb cb, void *arg)
{
    struct vigil_timer *vt = calloc(1, sizeof *vt);
    if (!vt)
        return NULL;
    vt->cb = cb;
    vt->arg = arg;
    uv_timer_init(&host_of(ins)->loop, &vt->t);
    vt->t.data = vt;
    uv_timer_start(&vt->t, timer_fire, timeout_ms, repeat_ms);
    return vt;
}

static void timer_closed(uv_handle_t *t)
{
    free(t->data);
}

static void h_timer_stop(struct vigil_timer *vt)
{
    if (!vt || vt->closing)
        return;
    vt->closing = 1;
    uv_timer_stop(&vt->t);
    uv_close((uv_handle_t *)&vt->t, timer_closed);
}

static struct vigil_counter *h_counter(struct vigil_instance *ins, const char *name,
                                       const char *help)
{
    (void)help;
    struct chanhost *h = host_of(ins);
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            fprintf(stderr, "chanhost: bad counter name '%s'\n", name);
            return NULL;
        }
    }
    for (size_t i = 0; i < h->ncounters; i++) {
        if (strcmp(h->counters[i].name, name) == 0)
            return (struct vigil_counter *)&h->counters[i];
    }
    if (h->ncounters == CHANHOST_COUNTERS)
        return NULL;
    size_t i = h->ncounters++;
    snprintf(h->counters[i].name, sizeof h->counters[i].name, "%s", name);
    h->counters[i].value = 0;
    return (struct vigil_counter *)&h->counters[i];
}

static void h_counter_add(struct vigil_counter *c, uint64_t delta)
{
    if (c)
        ((struct chanhost_counter *)(void *)c)->value += delta;
}

uint64_t chanhost_counter(struct chanhost *h, const char *name)
{
    for (size_t i = 0; i < h->ncounters; i++) {
        if (strcmp(h->counters[i].name, name) == 0)
            return h->counters[i].value;
    }
    return 0;
}

static int h_kv_get(struct vigil_instance *ins, const char *key, char **val, size_t *len)
{
    (void)ins, (void)key, (void)val, (void)len;
    return VIGIL_ENOTFOUND;
}

static int h_kv_put(struct vigil_instance *ins, const char *key, const void *val, size_t len,
                    int64_t ttl_ms)
{
    (void)ins, (void)key, (void)val, (void)len, (void)ttl_ms;
    return VIGIL_EUNSUPPORTED;
}

static int h_kv_del(struct vigil_instance *ins, const char *key)
{
    (void)ins, (void)key;
    return VIGIL_EUNSUPPORTED;
}

static int h_kv_flush(struct vigil_instance *ins)
{
    (void)ins;
    return VIGIL_OK;
}

static struct uv_loop_s *h_loop(struct vigil_instance *ins)
{
    return &host_of(ins)->loop;
}

static int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int h_is_paused(struct vigil_instance *ins)
{
    (void)ins;
    return 0;
}

static int h_is_stopping(struct vigil_instance *ins)
{
    return host_of(ins)->stopping;
}

static int h_run_once(struct vigil_instance *ins)
{
    (void)ins;
    return 0;
}

static int h_http_request(struct vigil_instance *ins, const struct vigil_http_request *req,
                          vigil_http_cb cb, void *arg, struct vigil_http_call **call)
{
    return core_http_request(host_of(ins)->http, req, cb, arg, call);
}

static void h_http_cancel(struct vigil_http_call *call)
{
    core_http_cancel(call);
}

static int h_mail_send(struct vigil_instance *ins, const struct vigil_mail_request *req,
                       vigil_http_cb cb, void *arg, struct vigil_http_call **call)
{
    return core_http_mail(host_of(ins)->http, req, cb, arg, call);
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void http_log(void *arg, int level, const char *msg)
{
    struct chanhost *h = arg;
    if (level <= VIGIL_LOG_WARN)
        buf_printf(&h->log, "%s http: %s\n", level_names[level], msg);
    if (getenv("CHANHOST_VERBOSE"))
        fprintf(stderr, "    [http] %s\n", msg);
}

int chanhost_init(struct chanhost *h)
{
    memset(h, 0, sizeof *h);
    h->host = (struct vigil_host){
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
        .mail_send = h_mail_send,
    };
    buf_init(&h->log, 0);
    snprintf(h->dir, sizeof h->dir, "/tmp/vigil-chan-XXXXXX");
    if (!mkdtemp(h->dir)) {
        perror("mkdtemp");
        return -1;
    }
    if (uv_loop_init(&h->loop) != 0)
        return -1;
    uv_timer_init(&h->loop, &h->tick);
    uv_timer_start(&h->tick, on_tick, 10, 10);
    struct core_http_config cfg = {.log = http_log, .log_arg = h, .proxy = ""};
    struct vigil_error err = {0};
    if (core_http_create(&h->loop, &cfg, &h->http, &err) != VIGIL_OK) {
        fprintf(stderr, "chanhost: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int64_t mono_ms(void);

static void on_http_closed(void *arg)
{
    ((struct chanhost *)arg)->http_closed = 1;
}

int chanhost_fini(struct chanhost *h)
{
    core_http_close(h->http, on_http_closed, h);
    chanhost_run_until(h, &h->http_closed, 10000);
    uv_timer_stop(&h->tick);
    uv_close((uv_handle_t *)&h->tick, NULL);
    /* requests on the thread pool (fsync) keep the loop alive: wait for
     * them, boundedly */
    int64_t deadline = mono_ms() + 10000;
    while (uv_loop_alive(&h->loop) && mono_ms() < deadline)
        uv_run(&h->loop, UV_RUN_ONCE);
    int rc = uv_loop_close(&h->loop);
    if (rc != 0) {
        fprintf(stderr, "chanhost: handles left on the loop:\n");
        uv_print_all_handles(&h->loop, stderr);
    }
    buf_free(&h->log);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "chanhost: cannot remove %s\n", h->dir);
    return rc == 0 ? 0 : -1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int chanhost_run_until(struct chanhost *h, const int *flag, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    while (!*flag && mono_ms() < deadline)
        uv_run(&h->loop, UV_RUN_ONCE);
    return *flag ? 0 : -1;
}

void chanhost_run_for(struct chanhost *h, int ms)
{
    int64_t deadline = mono_ms() + ms;
    while (mono_ms() < deadline)
        uv_run(&h->loop, UV_RUN_ONCE);
}

int chanstage_create(struct chanstage *st, struct chanhost *h, const struct vigil_plugin *p,
                     const char *options_json, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->h = h;
    st->p = p;
    st->conf = calloc(1, p->conf_size ? p->conf_size : 1);
    json_t *opts = NULL;
    if (options_json) {
        json_error_t je;
        opts = json_loads(options_json, 0, &je);
        if (!opts) {
            snprintf(err, errlen, "options JSON: %s", je.text);
            free(st->conf);
            st->conf = NULL;
            return -1;
        }
    }
    struct diags d = {0};
    char label[128];
    snprintf(label, sizeof label, "sink plugin '%s'", p->name);
    struct core_opt_ctx ctx = {.pointer = "/sinks/0/options",
                               .stage_pointer = "/sinks/0",
                               .label = label,
                               .base_dir = h->dir};
    int bad = core_options_fill(p, opts, st->conf, &ctx, &d);
    json_decref(opts);
    if (bad) {
        diags_format(&d, 0, err, errlen);
        diags_free(&d);
        core_options_free(p, st->conf);
        free(st->conf);
        st->conf = NULL;
        return -1;
    }
    diags_free(&d);
    struct vigil_error e = {0};
    if (p->create(&h->host, chanhost_ins(h), st->conf, &st->state, &e) != VIGIL_OK) {
        snprintf(err, errlen, "%s", e.msg);
        core_options_free(p, st->conf);
        free(st->conf);
        st->conf = NULL;
        return -1;
    }
    if (p->start && p->start(st->state, &e) != VIGIL_OK) {
        snprintf(err, errlen, "start: %s", e.msg);
        if (p->stop)
            p->stop(st->state);
        p->destroy(st->state);
        core_options_free(p, st->conf);
        free(st->conf);
        st->conf = NULL;
        return -1;
    }
    return 0;
}

static void on_done(void *arg, int status, int64_t retry_after_ms, const char *reason)
{
    struct chanresult *r = arg;
    r->calls++;
    r->status = status;
    r->retry_after_ms = retry_after_ms;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    r->done_ms = mono_ms();
}

int chanstage_start(struct chanstage *st, struct chanresult *r, const json_t *payload,
                    const char *id, const char *kind, uint32_t attempt)
{
    memset(r, 0, sizeof *r);
    r->payload = json_incref((json_t *)payload);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    r->d.struct_size = sizeof r->d;
    r->d.payload = r->payload;
    r->d.id = r->id;
    r->d.kind = r->kind;
    r->d.attempt = attempt;
    r->rc = st->p->deliver(st->state, &r->d, on_done, r);
    return r->rc;
}

int chanstage_deliver(struct chanstage *st, struct chanresult *r, const json_t *payload,
                      const char *id, const char *kind, uint32_t attempt, int timeout_ms)
{
    int rc = chanstage_start(st, r, payload, id, kind, attempt);
    if (rc == VIGIL_OK)
        chanhost_run_until(st->h, &r->calls, timeout_ms);
    return rc;
}

int chanstage_wait(struct chanstage *st, struct chanresult *rs, size_t n, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        size_t pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += rs[i].rc == VIGIL_OK && rs[i].calls == 0;
        if (!pending)
            return 0;
        if (mono_ms() >= deadline)
            return -1;
        uv_run(&st->h->loop, UV_RUN_ONCE);
    }
}

struct flush_wait {
    int done;
    int status;
};

static void on_flushed(void *arg, int status)
{
    struct flush_wait *w = arg;
    w->done = 1;
    w->status = status;
}

int chanstage_flush(struct chanstage *st, int timeout_ms)
{
    if (!st->p->flush)
        return 1;
    struct flush_wait w = {0};
    int rc = st->p->flush(st->state, on_flushed, &w);
    if (rc != VIGIL_OK)
        return rc;
    if (chanhost_run_until(st->h, &w.done, timeout_ms) != 0)
        return VIGIL_ETIMEDOUT;
    return w.status;
}

void chanresult_clear(struct chanresult *r)
{
    json_decref(r->payload);
    r->payload = NULL;
}

void chanstage_stop(struct chanstage *st)
{
    if (st->stopped || !st->state)
        return;
    st->stopped = 1;
    st->h->stopping = 1;
    if (st->p->stop)
        st->p->stop(st->state);
}

void chanstage_destroy(struct chanstage *st)
{
    if (!st->state)
        return;
    chanstage_stop(st);
    /* callbacks of canceled work come from the loop */
    chanhost_run_for(st->h, 50);
    st->p->destroy(st->state);
    st->state = NULL;
    core_options_free(st->p, st->conf);
    free(st->conf);
    st->conf = NULL;
    st->h->stopping = 0;
}

void chanstage_destroy_now(struct chanstage *st)
{
    if (!st->state)
        return;
    chanstage_stop(st);
    st->p->destroy(st->state);
    st->state = NULL;
    core_options_free(st->p, st->conf);
    free(st->conf);
    st->conf = NULL;
    st->h->stopping = 0;
}

json_t *chan_json(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fprintf(stderr, "fixture JSON: %d:%d: %s\n", je.line, je.column, je.text);
    return v;
}

json_t *chan_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", CHAN_FIXTURE_DIR, name);
    json_error_t je;
    json_t *v = json_load_file(path, 0, &je);
    if (!v)
        fprintf(stderr, "fixture %s: %d:%d: %s\n", path, je.line, je.column, je.text);
    return v;
}
