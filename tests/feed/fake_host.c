#include "fake_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "units.h"

struct fake_timer_rec {
    int64_t due;
    uint64_t repeat;
    vigil_timer_cb cb;
    void *arg;
    int active;
};

static struct fake_host *g_fake; /* test binaries only */

static struct fake_host *F(struct vigil_instance *ins)
{
    return (struct fake_host *)ins;
}

static void f_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    va_list ap;
    va_start(ap, fmt);
    buf_printf(&F(ins)->logs, "%s ", names[level < 0 || level > 4 ? 0 : level]);
    buf_vprintf(&F(ins)->logs, fmt, ap);
    buf_append(&F(ins)->logs, "\n", 1);
    va_end(ap);
    if (getenv("FAKE_LOG")) {
        va_start(ap, fmt);
        fprintf(stderr, "    [log %d] ", level);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

static int f_log_enabled(struct vigil_instance *ins, int level)
{
    (void)ins;
    (void)level;
    return 1;
}

static const char *f_pipeline_name(struct vigil_instance *ins)
{
    (void)ins;
    return "test";
}

static const char *f_stage_id(struct vigil_instance *ins)
{
    (void)ins;
    return "stage";
}

static int f_emit(struct vigil_instance *ins, json_t *doc)
{
    struct fake_host *f = F(ins);
    json_array_append_new(f->docs, doc);
    int n = (int)json_array_size(f->docs);
    if (f->emit_fail_at && n == f->emit_fail_at) {
        json_array_remove(f->docs, (size_t)n - 1);
        return VIGIL_EIO;
    }
    if (f->eagain_at && n == f->eagain_at) {
        f->paused = 1;
        return VIGIL_EAGAIN;
    }
    return VIGIL_OK;
}

static struct vigil_timer *f_timer_start(struct vigil_instance *ins, uint64_t timeout,
                                         uint64_t repeat, vigil_timer_cb cb, void *arg)
{
    struct fake_host *f = F(ins);
    struct fake_timer_rec *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (f->n_timers == f->cap_timers) {
        f->cap_timers = f->cap_timers ? 2 * f->cap_timers : 16;
        f->timers = realloc(f->timers, f->cap_timers * sizeof *f->timers);
    }
    t->due = f->now + (int64_t)timeout;
    t->repeat = repeat;
    t->cb = cb;
    t->arg = arg;
    t->active = 1;
    f->timers[f->n_timers++] = t;
    return (struct vigil_timer *)t;
}

static void f_timer_stop(struct vigil_timer *timer)
{
    struct fake_timer_rec *t = (struct fake_timer_rec *)timer;
    if (t)
        t->active = 0;
}

static struct vigil_counter *f_counter(struct vigil_instance *ins, const char *name,
                                       const char *help)
{
    struct fake_host *f = F(ins);
    (void)help;
    for (size_t i = 0; i < f->n_counters; i++) {
        if (strcmp(f->counters[i].name, name) == 0)
            return (struct vigil_counter *)&f->counters[i];
    }
    if (f->n_counters == sizeof f->counters / sizeof f->counters[0])
        return NULL;
    snprintf(f->counters[f->n_counters].name, sizeof f->counters[0].name, "%s", name);
    return (struct vigil_counter *)&f->counters[f->n_counters++];
}

static void f_counter_add(struct vigil_counter *c, uint64_t delta)
{
    /* name[64] then value: the counter handle points at the record */
    struct {
        char name[64];
        uint64_t value;
    } *rec = (void *)c;
    rec->value += delta;
}

static struct fake_kv *kv_find(struct fake_host *f, const char *key)
{
    for (size_t i = 0; i < f->n_kv; i++) {
        if (strcmp(f->kv[i].key, key) == 0) {
            if (f->kv[i].expires && f->kv[i].expires <= f->now)
                return NULL;
            return &f->kv[i];
        }
    }
    return NULL;
}

static int f_kv_get(struct vigil_instance *ins, const char *key, char **val, size_t *len)
{
    F(ins)->kv_gets++;
    if (strncmp(key, "s:", 2) == 0)
        F(ins)->kv_gets_seen++;
    struct fake_kv *e = kv_find(F(ins), key);
    if (!e)
        return VIGIL_ENOTFOUND;
    *val = malloc(e->len + 1);
    memcpy(*val, e->val, e->len);
    (*val)[e->len] = '\0';
    *len = e->len;
    return VIGIL_OK;
}

static int f_kv_put(struct vigil_instance *ins, const char *key, const void *val, size_t len,
                    int64_t ttl)
{
    struct fake_host *f = F(ins);
    struct fake_kv *e = NULL;
    f->kv_puts++;
    for (size_t i = 0; i < f->n_kv; i++) {
        if (strcmp(f->kv[i].key, key) == 0)
            e = &f->kv[i];
    }
    if (!e) {
        if (f->n_kv == f->cap_kv) {
            f->cap_kv = f->cap_kv ? 2 * f->cap_kv : 64;
            f->kv = realloc(f->kv, f->cap_kv * sizeof *f->kv);
        }
        e = &f->kv[f->n_kv++];
        e->key = strdup(key);
        e->val = NULL;
    }
    free(e->val);
    e->val = malloc(len + 1);
    memcpy(e->val, val, len);
    e->val[len] = '\0';
    e->len = len;
    e->expires = ttl > 0 ? f->now + ttl : 0;
    return VIGIL_OK;
}

static int f_kv_del(struct vigil_instance *ins, const char *key)
{
    struct fake_kv *e = kv_find(F(ins), key);
    if (!e)
        return VIGIL_ENOTFOUND;
    e->expires = 1;
    return VIGIL_OK;
}

static int f_kv_flush(struct vigil_instance *ins)
{
    (void)ins;
    return VIGIL_OK;
}

static int64_t f_now_ms(void)
{
    return g_fake->now;
}

static int f_is_paused(struct vigil_instance *ins)
{
    return F(ins)->paused;
}

static int f_is_stopping(struct vigil_instance *ins)
{
    (void)ins;
    return 0;
}

static int f_run_once(struct vigil_instance *ins)
{
    return F(ins)->run_once;
}

static int f_http_request(struct vigil_instance *ins, const struct vigil_http_request *req,
                          vigil_http_cb cb, void *arg, struct vigil_http_call **call)
{
    struct fake_host *f = F(ins);
    struct fake_req *r = calloc(1, sizeof *r);
    if (!r || !req->url)
        return VIGIL_EINVAL;
    r->url = strdup(req->url);
    r->etag = req->etag ? strdup(req->etag) : NULL;
    r->last_modified = req->last_modified ? strdup(req->last_modified) : NULL;
    r->timeout_ms = req->timeout_ms;
    r->max_body = req->max_body;
    r->cb = cb;
    r->arg = arg;
    if (f->n_reqs == f->cap_reqs) {
        f->cap_reqs = f->cap_reqs ? 2 * f->cap_reqs : 64;
        f->reqs = realloc(f->reqs, f->cap_reqs * sizeof *f->reqs);
    }
    f->reqs[f->n_reqs++] = r;
    if (call)
        *call = (struct vigil_http_call *)r;
    return VIGIL_OK;
}

static void f_http_cancel(struct vigil_http_call *call)
{
    struct fake_req *r = (struct fake_req *)call;
    if (r && !r->answered)
        r->canceled = 1;
}

void fake_init(struct fake_host *f)
{
    memset(f, 0, sizeof *f);
    g_fake = f;
    f->now = 1700000000000LL; /* 2023-11-14 */
    f->docs = json_array();
    buf_init(&f->logs, 0);
    struct vigil_host *h = &f->host;
    h->abi_major = VIGIL_ABI_MAJOR;
    h->abi_minor = VIGIL_ABI_MINOR;
    h->struct_size = sizeof *h;
    h->log = f_log;
    h->log_enabled = f_log_enabled;
    h->pipeline_name = f_pipeline_name;
    h->stage_id = f_stage_id;
    h->emit = f_emit;
    h->timer_start = f_timer_start;
    h->timer_stop = f_timer_stop;
    h->counter = f_counter;
    h->counter_add = f_counter_add;
    h->kv_get = f_kv_get;
    h->kv_put = f_kv_put;
    h->kv_del = f_kv_del;
    h->kv_flush = f_kv_flush;
    h->now_ms = f_now_ms;
    h->is_paused = f_is_paused;
    h->is_stopping = f_is_stopping;
    h->run_once = f_run_once;
    h->http_request = f_http_request;
    h->http_cancel = f_http_cancel;
}

static void free_req(struct fake_req *r)
{
    free(r->url);
    free(r->etag);
    free(r->last_modified);
    free(r);
}

void fake_free(struct fake_host *f)
{
    for (size_t i = 0; i < f->n_kv; i++) {
        free(f->kv[i].key);
        free(f->kv[i].val);
    }
    free(f->kv);
    for (size_t i = 0; i < f->n_timers; i++)
        free(f->timers[i]);
    free(f->timers);
    for (size_t i = 0; i < f->n_reqs; i++)
        free_req(f->reqs[i]);
    free(f->reqs);
    json_decref(f->docs);
    buf_free(&f->logs);
    if (g_fake == f)
        g_fake = NULL;
}

struct vigil_instance *fake_ins(struct fake_host *f)
{
    return (struct vigil_instance *)f;
}

static void deliver_canceled(struct fake_host *f)
{
    for (size_t i = 0; i < f->n_reqs; i++) {
        struct fake_req *r = f->reqs[i];
        if (r->canceled && !r->answered)
            fake_fail(f, r, VIGIL_ECANCELED, "canceled");
    }
}

/* Fire the earliest active timer due at or before `until`; 1 if one fired. */
static int fire_one(struct fake_host *f, int64_t until)
{
    struct fake_timer_rec *best = NULL;
    for (size_t i = 0; i < f->n_timers; i++) {
        struct fake_timer_rec *t = f->timers[i];
        if (t->active && t->due <= until && (!best || t->due < best->due))
            best = t;
    }
    if (!best)
        return 0;
    if (best->due > f->now)
        f->now = best->due;
    if (best->repeat)
        best->due += (int64_t)best->repeat;
    else
        best->due = INT64_MAX; /* fired; must still be stopped by its owner */
    best->cb((struct vigil_timer *)best, best->arg);
    return 1;
}

void fake_run(struct fake_host *f)
{
    for (int i = 0; i < 100000; i++) {
        deliver_canceled(f);
        if (!fire_one(f, f->now))
            break;
    }
    deliver_canceled(f);
}

void fake_advance(struct fake_host *f, int64_t ms)
{
    int64_t until = f->now + ms;
    for (int i = 0; i < 100000; i++) {
        deliver_canceled(f);
        if (!fire_one(f, until))
            break;
    }
    f->now = until;
    fake_run(f);
}

size_t fake_pending(const struct fake_host *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_reqs; i++)
        n += !f->reqs[i]->answered;
    return n;
}

struct fake_req *fake_pending_req(struct fake_host *f, size_t k)
{
    for (size_t i = 0; i < f->n_reqs; i++) {
        if (!f->reqs[i]->answered && k-- == 0)
            return f->reqs[i];
    }
    return NULL;
}

struct fake_req *fake_find_req(struct fake_host *f, const char *url)
{
    for (size_t i = 0; i < f->n_reqs; i++) {
        if (!f->reqs[i]->answered && strcmp(f->reqs[i]->url, url) == 0)
            return f->reqs[i];
    }
    return NULL;
}

void fake_respond(struct fake_host *f, struct fake_req *r, long code, const char *body,
                  const char *content_type, const char *etag, const char *last_modified,
                  int64_t retry_after_ms)
{
    struct vigil_http_response resp;
    (void)f;
    memset(&resp, 0, sizeof resp);
    resp.struct_size = sizeof resp;
    resp.status = VIGIL_OK;
    resp.http_code = code;
    resp.effective_url = r->url;
    resp.content_type = content_type;
    resp.etag = etag;
    resp.last_modified = last_modified;
    resp.retry_after_ms = retry_after_ms;
    resp.body = body;
    resp.body_len = body ? strlen(body) : 0;
    resp.wire_bytes = resp.body_len;
    r->answered = 1;
    r->cb(r->arg, &resp);
}

void fake_fail(struct fake_host *f, struct fake_req *r, int status, const char *error)
{
    struct vigil_http_response resp;
    (void)f;
    memset(&resp, 0, sizeof resp);
    resp.struct_size = sizeof resp;
    resp.status = status;
    resp.error = error;
    resp.retry_after_ms = -1;
    r->answered = 1;
    r->cb(r->arg, &resp);
}

uint64_t fake_counter(const struct fake_host *f, const char *name)
{
    for (size_t i = 0; i < f->n_counters; i++) {
        if (strcmp(f->counters[i].name, name) == 0)
            return f->counters[i].value;
    }
    return 0;
}

const char *fake_kv_get(const struct fake_host *f, const char *key)
{
    struct fake_kv *e = kv_find((struct fake_host *)f, key);
    return e ? e->val : NULL;
}

json_t *fake_target_record(const struct fake_host *f, const char *url)
{
    char key[24], hex[17];
    hash_hex64(hash_fnv64(url, strlen(url)), hex);
    snprintf(key, sizeof key, "t:%s", hex);
    const char *v = fake_kv_get(f, key);
    return v ? json_loads(v, 0, NULL) : NULL;
}

static int set_value(const struct vigil_option *o, char *conf, const char *v)
{
    void *dst = conf + o->offset;
    switch (o->type) {
    case VIGIL_OPT_STR:
        free(*(char **)dst);
        *(char **)dst = v ? strdup(v) : NULL;
        return 0;
    case VIGIL_OPT_INT:
    case VIGIL_OPT_DURATION: {
        int64_t x = 0;
        if (o->type == VIGIL_OPT_INT) {
            char *end;
            x = strtoll(v, &end, 10);
            if (*end)
                return -1;
        } else if (units_parse_duration_ms(v, &x) != 0) {
            return -1;
        }
        if (o->min <= o->max && (x < o->min || x > o->max))
            return -1;
        *(int64_t *)dst = x;
        return 0;
    }
    case VIGIL_OPT_SIZE: {
        uint64_t x;
        if (units_parse_size(v, &x) != 0)
            return -1;
        if (o->min <= o->max && (x < o->min || x > o->max))
            return -1;
        *(uint64_t *)dst = x;
        return 0;
    }
    case VIGIL_OPT_BOOL:
        if (strcmp(v, "true") == 0)
            *(int *)dst = 1;
        else if (strcmp(v, "false") == 0)
            *(int *)dst = 0;
        else
            return -1;
        return 0;
    case VIGIL_OPT_DOUBLE: *(double *)dst = strtod(v, NULL); return 0;
    case VIGIL_OPT_ENUM:
        for (int i = 0; o->choices && o->choices[i]; i++) {
            if (strcmp(o->choices[i], v) == 0) {
                *(int *)dst = i;
                return 0;
            }
        }
        return -1;
    case VIGIL_OPT_STRLIST: {
        struct vigil_strlist *l = dst;
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        l->n = 0;
        l->v = NULL;
        if (!v || !*v)
            return 0;
        char *copy = strdup(v), *save = NULL;
        for (char *tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
            l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
            l->v[l->n++] = strdup(tok);
        }
        free(copy);
        return 0;
    }
    default: return -1;
    }
}

void *fake_conf(const struct vigil_plugin *pl, const char *const *overrides)
{
    char *conf = calloc(1, pl->conf_size);
    for (const struct vigil_option *o = pl->options; o && o->name; o++) {
        if (o->def && set_value(o, conf, o->def) != 0) {
            fprintf(stderr, "    option %s: default \"%s\" does not parse\n", o->name, o->def);
            fake_conf_free(pl, conf);
            return NULL;
        }
    }
    for (size_t i = 0; overrides && overrides[i]; i += 2) {
        const struct vigil_option *o = pl->options;
        while (o->name && strcmp(o->name, overrides[i]) != 0)
            o++;
        if (!o->name || set_value(o, conf, overrides[i + 1]) != 0) {
            fprintf(stderr, "    option %s: \"%s\" refused\n", overrides[i], overrides[i + 1]);
            fake_conf_free(pl, conf);
            return NULL;
        }
    }
    return conf;
}

void fake_conf_free(const struct vigil_plugin *pl, void *conf)
{
    if (!conf)
        return;
    for (const struct vigil_option *o = pl->options; o && o->name; o++) {
        void *dst = (char *)conf + o->offset;
        if (o->type == VIGIL_OPT_STR) {
            free(*(char **)dst);
        } else if (o->type == VIGIL_OPT_STRLIST) {
            struct vigil_strlist *l = dst;
            for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
            free(l->v);
        }
    }
    free(conf);
}
