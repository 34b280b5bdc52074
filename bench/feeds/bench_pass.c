/*
 * bench_pass - the feed source's own cost for one pass over N feeds:
 * parsing, seen-set lookups and writes, document building and emission,
 * with the network and the SQLite store taken out (an in-process host
 * answers every request from memory and keeps state in a hash table).
 * The full benchmark (bench/feeds/run.sh) adds nginx, the shared HTTP
 * client and the real state store.
 *
 *   bench_pass FEEDS_DIR [N]
 *
 * Pass 1: every item is new. Pass 2: the same bodies (body hash: no parse).
 * Pass 3: 304 answers. Bench scaffolding only, not a host.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "hash.h"
#include "units.h"
#include "vigil/plugin.h"

const struct vigil_plugin *vigil_plugin_init_source_feed(const struct vigil_host *host,
                                                         struct vigil_error *err);

struct kv {
    char *key, *val;
    size_t len;
};
struct req {
    char *url;
    vigil_http_cb cb;
    void *arg;
    int etag;
};
struct tmr {
    vigil_timer_cb cb;
    void *arg;
    int active;
};

static struct {
    struct kv *kv;
    size_t kv_cap, kv_n;
    struct req *reqs;
    size_t n_reqs, cap_reqs;
    struct tmr *tmrs[64];
    size_t n_tmrs;
    char **bodies;
    size_t n;
    size_t emitted;
    int mode; /* 0 = 200, 1 = 304 when the request carries an etag */
} B;          /* bench binary only */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void h_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    (void)ins;
    if (level > VIGIL_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static struct kv *kv_slot(const char *key)
{
    size_t i = hash_fnv64(key, strlen(key)) & (B.kv_cap - 1);
    while (B.kv[i].key && strcmp(B.kv[i].key, key) != 0)
        i = (i + 1) & (B.kv_cap - 1);
    return &B.kv[i];
}

static int h_kv_get(struct vigil_instance *ins, const char *key, char **val, size_t *len)
{
    (void)ins;
    struct kv *e = kv_slot(key);
    if (!e->key)
        return VIGIL_ENOTFOUND;
    *val = malloc(e->len + 1);
    memcpy(*val, e->val, e->len + 1);
    *len = e->len;
    return VIGIL_OK;
}

static int h_kv_put(struct vigil_instance *ins, const char *key, const void *val, size_t len,
                    int64_t ttl)
{
    (void)ins;
    (void)ttl;
    struct kv *e = kv_slot(key);
    if (!e->key) {
        e->key = strdup(key);
        B.kv_n++;
    }
    free(e->val);
    e->val = malloc(len + 1);
    memcpy(e->val, val, len);
    e->val[len] = '\0';
    e->len = len;
    return VIGIL_OK;
}

static int h_emit(struct vigil_instance *ins, json_t *doc)
{
    (void)ins;
    B.emitted++;
    json_decref(doc);
    return VIGIL_OK;
}

static struct vigil_timer *h_timer_start(struct vigil_instance *ins, uint64_t t, uint64_t r,
                                         vigil_timer_cb cb, void *arg)
{
    (void)ins;
    (void)t;
    (void)r;
    struct tmr *x = calloc(1, sizeof *x);
    x->cb = cb;
    x->arg = arg;
    x->active = 1;
    B.tmrs[B.n_tmrs++] = x;
    return (struct vigil_timer *)x;
}

static void h_timer_stop(struct vigil_timer *t)
{
    ((struct tmr *)t)->active = 0;
}

static struct vigil_counter *h_counter(struct vigil_instance *i, const char *n, const char *h)
{
    (void)i;
    (void)n;
    (void)h;
    return NULL;
}

static void h_counter_add(struct vigil_counter *c, uint64_t d)
{
    (void)c;
    (void)d;
}

static int h_run_once(struct vigil_instance *ins)
{
    (void)ins;
    return 1;
}

static int h_http(struct vigil_instance *ins, const struct vigil_http_request *req,
                  vigil_http_cb cb, void *arg, struct vigil_http_call **call)
{
    (void)ins;
    if (B.n_reqs == B.cap_reqs) {
        B.cap_reqs = B.cap_reqs ? 2 * B.cap_reqs : 1024;
        B.reqs = realloc(B.reqs, B.cap_reqs * sizeof *B.reqs);
    }
    B.reqs[B.n_reqs++] = (struct req){strdup(req->url), cb, arg, req->etag != NULL};
    if (call)
        *call = NULL;
    return VIGIL_OK;
}

static void h_cancel(struct vigil_http_call *c)
{
    (void)c;
}

static int done_flag;
static void on_done(void *arg, int status)
{
    (void)arg;
    (void)status;
    done_flag = 1;
}

/* Answer queued requests (which may queue more) and fire timers. */
static void run_loop(void)
{
    while (!done_flag) {
        size_t n = B.n_reqs;
        if (n == 0) {
            for (size_t i = 0; i < B.n_tmrs; i++) {
                struct tmr *t = B.tmrs[i];
                B.tmrs[i] = B.tmrs[--B.n_tmrs];
                if (t->active)
                    t->cb((struct vigil_timer *)t, t->arg);
                free(t);
                break;
            }
            continue;
        }
        struct req r = B.reqs[--B.n_reqs];
        const char *slash = strrchr(r.url, '/');
        size_t idx = slash ? strtoul(slash + 2, NULL, 10) : 0;
        struct vigil_http_response resp;
        memset(&resp, 0, sizeof resp);
        resp.struct_size = sizeof resp;
        resp.effective_url = r.url;
        resp.retry_after_ms = -1;
        if (B.mode == 1 && r.etag) {
            resp.http_code = 304;
        } else {
            resp.http_code = 200;
            resp.body = B.bodies[idx % B.n];
            resp.body_len = strlen(resp.body);
            resp.wire_bytes = resp.body_len;
            resp.etag = "\"v1\"";
            resp.content_type = "application/rss+xml";
        }
        r.cb(r.arg, &resp);
        free(r.url);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pass FEEDS_DIR [N]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    B.n = n;
    B.bodies = calloc(n, sizeof *B.bodies);
    B.kv_cap = 1 << 18;
    B.kv = calloc(B.kv_cap, sizeof *B.kv);
    struct buf urls;
    buf_init(&urls, 0);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        size_t len;
        snprintf(path, sizeof path, "%s/f%05zu.xml", argv[1], i);
        if (buf_read_file(path, 1 << 20, &B.bodies[i], &len) != 0) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        buf_printf(&urls, "%shttp://127.0.0.1/feeds/f%05zu.xml", i ? "|" : "", i);
    }

    struct vigil_host host;
    memset(&host, 0, sizeof host);
    host.abi_major = VIGIL_ABI_MAJOR;
    host.abi_minor = VIGIL_ABI_MINOR;
    host.struct_size = sizeof host;
    host.log = h_log;
    host.emit = h_emit;
    host.timer_start = h_timer_start;
    host.timer_stop = h_timer_stop;
    host.counter = h_counter;
    host.counter_add = h_counter_add;
    host.kv_get = h_kv_get;
    host.kv_put = h_kv_put;
    host.now_ms = now_ms;
    host.run_once = h_run_once;
    host.http_request = h_http;
    host.http_cancel = h_cancel;

    struct vigil_error err = {0};
    const struct vigil_plugin *pl = vigil_plugin_init_source_feed(&host, &err);
    /* The conf the core would build: defaults, urls, max_inflight. */
    char *conf = calloc(1, pl->conf_size);
    for (const struct vigil_option *o = pl->options; o->name; o++) {
        if (!o->def)
            continue;
        void *dst = conf + o->offset;
        if (o->type == VIGIL_OPT_DURATION)
            units_parse_duration_ms(o->def, (int64_t *)dst);
        else if (o->type == VIGIL_OPT_SIZE)
            units_parse_size(o->def, (uint64_t *)dst);
        else if (o->type == VIGIL_OPT_INT)
            *(int64_t *)dst = strtoll(o->def, NULL, 10);
        else if (o->type == VIGIL_OPT_BOOL)
            *(int *)dst = strcmp(o->def, "true") == 0;
    }
    struct vigil_strlist list = {n, calloc(n, sizeof(char *))};
    char *save = NULL, *tok = strtok_r(urls.data, "|", &save);
    for (size_t i = 0; tok; i++, tok = strtok_r(NULL, "|", &save))
        list.v[i] = tok;
    for (const struct vigil_option *o = pl->options; o->name; o++) {
        if (strcmp(o->name, "urls") == 0)
            memcpy(conf + o->offset, &list, sizeof list);
        else if (strcmp(o->name, "max_inflight") == 0)
            *(int64_t *)(conf + o->offset) = 256;
    }
    void *state;
    if (pl->create(&host, (struct vigil_instance *)&host, conf, &state, &err) != 0) {
        fprintf(stderr, "create: %s\n", err.msg);
        return 1;
    }
    const char *names[] = {"new items (parse + state + emit)", "same bodies (hash, no parse)",
                           "304 Not Modified"};
    for (int pass = 0; pass < 3; pass++) {
        B.mode = pass == 2;
        B.emitted = 0;
        done_flag = 0;
        double t0 = mono();
        pl->collect(state, on_done, NULL);
        run_loop();
        double dt = mono() - t0;
        printf("pass %d, %s: %zu feeds, %zu documents, %.3f s (%.1f us/feed)\n", pass + 1,
               names[pass], n, B.emitted, dt, dt * 1e6 / (double)n);
    }
    printf("state keys: %zu\n", B.kv_n);
    pl->stop(state);
    pl->destroy(state);
    return 0;
}
