#include "poll.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "buf.h"
#include "hash.h"
#include "feed_sched.h"
#include "units.h"

#define MAX_FILES_PER_PASS 100000

enum tstate { T_IDLE = 0, T_WAITING, T_INFLIGHT, T_PARSING, T_EMITTING, T_DONE };

enum kind { K_4XX = 0, K_5XX, K_TIMEOUT, K_NETWORK, K_PROTOCOL, K_PARSE, K_TOOBIG, K_COUNT };
static const char *const kind_counter[K_COUNT] = {
    "errors_http_4xx", "errors_http_5xx", "errors_timeout", "errors_network",
    "errors_protocol", "errors_parse",    "errors_too_big"};

/* Item id hash -> stored fingerprint and write time. */
struct seen_ent {
    uint64_t h; /* 0 = empty slot */
    uint64_t fp;
    int64_t written; /* per-item entries: when stored; seen_in_record: 0 =
                        listed at the last parse, else when found gone */
};

struct seen_map {
    struct seen_ent *v;
    size_t cap, n;
};

static const struct seen_ent *seen_map_get(const struct seen_map *m, uint64_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->v[i].h == h)
            return &m->v[i];
        if (m->v[i].h == 0)
            return NULL;
    }
}

static void seen_map_put(struct seen_map *m, uint64_t h, uint64_t fp, int64_t written)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct seen_ent *v = calloc(cap, sizeof *v);
        if (!v)
            return; /* a cache: losing an entry only costs a read */
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->v[i].h)
                continue;
            size_t k = m->v[i].h & (cap - 1);
            while (v[k].h)
                k = (k + 1) & (cap - 1);
            v[k] = m->v[i];
        }
        free(m->v);
        m->v = v;
        m->cap = cap;
    }
    size_t k = h & (m->cap - 1);
    while (m->v[k].h && m->v[k].h != h)
        k = (k + 1) & (m->cap - 1);
    if (!m->v[k].h)
        m->n++;
    m->v[k] = (struct seen_ent){h, fp, written};
}

static void seen_map_free(struct seen_map *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* A target's own seen-set in its state record: entries of 44 hex digits
 * (16 id hash, 16 fingerprint, 12 time in ms), sorted by id hash so an
 * unchanged set always serialises to the same text. */
#define SEEN_ENT_HEX 44

static int by_hash(const void *a, const void *b)
{
    const struct seen_ent *x = a, *y = b;
    return (x->h > y->h) - (x->h < y->h);
}

/* Most recently listed first; ties by hash, so the choice is stable. */
static int by_recent(const void *a, const void *b)
{
    const struct seen_ent *x = a, *y = b;
    if (x->written != y->written)
        return (x->written < y->written) - (x->written > y->written);
    return by_hash(a, b);
}

static char *seen_map_dump(const struct seen_map *m)
{
    struct seen_ent *v = m->n ? malloc(m->n * sizeof *v) : NULL;
    char *out = malloc(m->n * SEEN_ENT_HEX + 1);
    size_t n = 0;
    if ((m->n && !v) || !out) {
        free(v);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->v[i].h)
            v[n++] = m->v[i];
    }
    if (n > 1)
        qsort(v, n, sizeof *v, by_hash);
    for (size_t i = 0; i < n; i++)
        snprintf(out + i * SEEN_ENT_HEX, SEEN_ENT_HEX + 1,
                 "%016" PRIx64 "%016" PRIx64 "%012" PRIx64, v[i].h, v[i].fp,
                 (uint64_t)(v[i].written > 0 ? v[i].written : 0) & (uint64_t)0xffffffffffff);
    out[n * SEEN_ENT_HEX] = '\0';
    free(v);
    return out;
}

static uint64_t hex_field(const char *s, size_t len)
{
    char tmp[17];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return strtoull(tmp, NULL, 16);
}

static void seen_map_load(struct seen_map *m, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i + SEEN_ENT_HEX <= len; i += SEEN_ENT_HEX) {
        uint64_t h = hex_field(s + i, 16);
        if (h)
            seen_map_put(m, h, hex_field(s + i + 16, 16), (int64_t)hex_field(s + i + 32, 12));
    }
}

struct qent {
    json_t *doc;
    struct feed_target *t;
    struct feed_seen s;
};

struct feed_target {
    struct feed_poll *p;
    char *url; /* configured URL, or a local path */
    int is_file;
    int transient; /* a file or child target: freed at the end of the pass */
    unsigned depth;
    int loaded;
    uint64_t h;   /* FNV-1a of url */
    char key[24]; /* state-store key: "t:" + hex hash of url */

    /* Persisted. */
    char *etag, *lm;
    uint64_t body_hash;
    uint32_t failures;
    int64_t next_due;
    int64_t interval;

    /* Runtime. */
    int last_kind; /* kind of the current failure streak, -1 */
    int started_once;
    int state;
    int64_t start_at;
    struct vigil_http_call *call;
    size_t pending; /* queued documents */
    int ok;
    int dropped;
    int observed;
    int64_t observed_iv;
    size_t new_items;
    char *new_etag, *new_lm;
    uint64_t new_hash;

    /* Children listed by this target when it is an index (persisted):
     * fetched again when the index itself is unchanged (304). */
    char **kids;
    size_t n_kids;
    char **new_kids;
    size_t n_new_kids;
    int parsing;
    int parsed; /* this fetch was parsed: next_cache is complete */
    /* Parsed on a worker thread: what the parser queues and the children
     * it finds are staged here and applied on the loop when it is done. */
    int offloop;
    struct qent *staged;
    size_t n_staged, cap_staged;
    char **staged_kids;
    size_t n_staged_kids, cap_staged_kids;

    /* Seen-set cache: the items this target listed (and had stored) last
     * time, and the ones of the current parse. With seen_in_record, cache
     * is the whole seen-set of the target, kept in its state record. */
    struct seen_map cache, next_cache;
    int had_record; /* a state record existed when first loaded */
    uint64_t saved; /* record_fp() of the record last written or read */
    int fetched_ok; /* parsed successfully at least once by this process */
};

/* Targets by URL (open addressing on the URL hash), so adding 100,000
 * feeds or files is not quadratic. */
struct tset {
    struct feed_target **v;
    size_t cap, n;
};

static struct feed_target *tset_find(const struct tset *s, const char *url, uint64_t h)
{
    if (!s->cap)
        return NULL;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        struct feed_target *t = s->v[i];
        if (!t)
            return NULL;
        if (t->h == h && strcmp(t->url, url) == 0)
            return t;
    }
}

static int tset_add(struct tset *s, struct feed_target *t)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct feed_target **v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            struct feed_target *x = s->v[i];
            if (!x)
                continue;
            size_t k = x->h & (cap - 1);
            while (v[k])
                k = (k + 1) & (cap - 1);
            v[k] = x;
        }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t k = t->h & (s->cap - 1);
    while (s->v[k])
        k = (k + 1) & (s->cap - 1);
    s->v[k] = t;
    s->n++;
    return 0;
}

static void tset_clear(struct tset *s)
{
    if (s->v)
        memset(s->v, 0, s->cap * sizeof *s->v);
    s->n = 0;
}

struct feed_poll {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    struct feed_poll_conf c;
    char kind[16];
    feed_poll_parse_fn parse;
    void *ud;

    struct feed_target **cfg;
    size_t n_cfg, cap_cfg;
    struct tset cfg_set;
    struct tset trans_set; /* this pass's transient targets */
    char **patterns;
    size_t n_patterns;

    /* The pass. */
    int active;
    int completing;
    int done_status;
    vigil_pass_cb done;
    void *done_arg;
    struct feed_target **sched; /* sorted by start_at */
    size_t n_sched, cap_sched, next_sched;
    struct feed_target **ready; /* children: FIFO */
    size_t n_ready, cap_ready, next_ready;
    struct feed_target **trans; /* transient targets to free at the end */
    size_t n_trans, cap_trans;
    size_t open; /* targets of the pass not done */
    size_t inflight;
    size_t children;

    struct qent *q;
    size_t q_cap, q_head, q_len;
    /* Ids queued this pass (per-item seen-sets only): two targets listing
     * one item, parsed before either was emitted, give one document. */
    struct seen_map pass_ids;
    size_t jobs;     /* parses running on worker threads */
    uv_loop_t *loop; /* NULL: parse on the loop thread */

    int paused, stopping, in_pump, pump_again;
    struct vigil_timer *wake;
    int64_t wake_at;
    struct vigil_timer *done_timer;
    uint64_t rng;

    struct vigil_counter *c_requests, *c_not_modified, *c_unchanged, *c_bytes, *c_items_new,
        *c_items_updated, *c_items_dropped, *c_errors[K_COUNT];
};

static void pump(struct feed_poll *p);

/* ------------------------------------------------------------------ */

static int grow(void *arrp, size_t *cap, size_t n, size_t elem)
{
    void **arr = arrp;
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, nc * elem);
    if (!na)
        return -1;
    *arr = na;
    *cap = nc;
    return 0;
}

static int64_t now_ms(struct feed_poll *p)
{
    return p->host->now_ms();
}

static struct feed_target *target_new(struct feed_poll *p, const char *url, int is_file)
{
    struct feed_target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->url = strdup(url);
    if (!t->url) {
        free(t);
        return NULL;
    }
    char hex[17];
    t->h = hash_fnv64(url, strlen(url));
    hash_hex64(t->h, hex);
    snprintf(t->key, sizeof t->key, "t:%s", hex);
    t->p = p;
    t->is_file = is_file;
    t->last_kind = -1;
    return t;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void target_free(struct feed_target *t)
{
    if (!t)
        return;
    free_list(t->kids, t->n_kids);
    free_list(t->new_kids, t->n_new_kids);
    seen_map_free(&t->cache);
    seen_map_free(&t->next_cache);
    for (size_t i = 0; i < t->n_staged; i++)
        json_decref(t->staged[i].doc);
    free(t->staged);
    free_list(t->staged_kids, t->n_staged_kids);
    free(t->url);
    free(t->etag);
    free(t->lm);
    free(t->new_etag);
    free(t->new_lm);
    free(t);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t fp_str(uint64_t h, const char *s)
{
    if (!s)
        return hash_fnv64_update(h, "\x01", 1); /* absent differs from "" */
    return hash_fnv64_update(hash_fnv64_update(h, s, strlen(s) + 1), "\x02", 1);
}

static uint64_t fp_int(uint64_t h, int64_t v)
{
    return hash_fnv64_update(h, &v, sizeof v);
}

/* A fingerprint of everything target_save() writes, so an unchanged
 * record is recognised without serialising it. The seen-set is summed
 * entry by entry, so its hash table layout does not matter. */
static uint64_t record_fp(const struct feed_poll *p, const struct feed_target *t)
{
    uint64_t h = fp_str(hash_fnv64(t->url, strlen(t->url)), t->etag);
    h = fp_str(h, t->lm);
    h = fp_int(h, (int64_t)t->body_hash);
    h = fp_int(h, t->failures);
    h = fp_int(h, t->next_due);
    h = fp_int(h, t->interval);
    for (size_t i = 0; i < t->n_kids; i++)
        h = fp_str(h, t->kids[i]);
    h = fp_int(h, (int64_t)t->n_kids);
    if (p->c.seen_in_record) {
        uint64_t acc = 0;
        for (size_t i = 0; i < t->cache.cap; i++) {
            const struct seen_ent *e = &t->cache.v[i];
            if (e->h)
                acc += mix64(e->h ^ mix64(e->fp ^ mix64((uint64_t)e->written)));
        }
        h = fp_int(h, (int64_t)acc);
        h = fp_int(h, (int64_t)t->cache.n);
    }
    return h;
}

static void target_load(struct feed_poll *p, struct feed_target *t)
{
    char *val = NULL;
    size_t len = 0;
    if (t->loaded)
        return;
    t->loaded = 1;
    if (p->host->kv_get(p->ins, t->key, &val, &len) != VIGIL_OK || !val)
        return;
    t->had_record = 1;
    json_t *j = json_loadb(val, len, 0, NULL);
    free(val);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    const char *u = json_string_value(json_object_get(j, "url"));
    if (u && strcmp(u, t->url) == 0) { /* a hash collision would load another's */
        t->etag = dup_or_null(json_string_value(json_object_get(j, "etag")));
        t->lm = dup_or_null(json_string_value(json_object_get(j, "lm")));
        const char *h = json_string_value(json_object_get(j, "hash"));
        t->body_hash = h ? strtoull(h, NULL, 16) : 0;
        t->failures = (uint32_t)json_integer_value(json_object_get(j, "fail"));
        t->next_due = json_integer_value(json_object_get(j, "next"));
        t->interval = json_integer_value(json_object_get(j, "iv"));
        const char *seen = json_string_value(json_object_get(j, "seen"));
        if (seen && p->c.seen_in_record)
            seen_map_load(&t->cache, seen);
        const json_t *kids = json_object_get(j, "kids");
        size_t n = json_array_size(kids);
        t->kids = n ? calloc(n, sizeof *t->kids) : NULL;
        for (size_t i = 0; t->kids && i < n; i++) {
            const char *k = json_string_value(json_array_get(kids, i));
            if (k && (t->kids[t->n_kids] = strdup(k)) != NULL)
                t->n_kids++;
        }
    }
    json_decref(j);
    t->saved = record_fp(p, t);
}

static void target_save(struct feed_poll *p, struct feed_target *t)
{
    /* Records of configured targets live forever, and an unchanged one is
     * not written again (a 304 pass over 10,000 feeds writes nothing, and
     * builds no JSON to find that out). Those of children and files expire
     * with the seen-set when they stop being listed, so they are rewritten
     * to stay alive. */
    uint64_t fp = record_fp(p, t);
    if (!t->transient && fp == t->saved)
        return;
    char hex[17];
    hash_hex64(t->body_hash, hex);
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:s, s:I, s:I, s:I}", "url", t->url, "etag", t->etag,
                          "lm", t->lm, "hash", hex, "fail", (json_int_t)t->failures, "next",
                          (json_int_t)t->next_due, "iv", (json_int_t)t->interval);
    if (j && p->c.seen_in_record && t->cache.n) {
        char *seen = seen_map_dump(&t->cache);
        if (!seen || json_object_set_new(j, "seen", json_string(seen)) != 0) {
            /* Without its seen-set the record would re-emit every item. */
            free(seen);
            json_decref(j);
            p->host->log(p->ins, VIGIL_LOG_WARN, "%s %s: out of memory saving its state", p->kind,
                         t->url);
            return;
        }
        free(seen);
    }
    if (j && t->n_kids) {
        json_t *kids = json_array();
        for (size_t i = 0; kids && i < t->n_kids; i++)
            json_array_append_new(kids, json_string(t->kids[i]));
        json_object_set_new(j, "kids", kids);
    }
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return;
    int64_t ttl = t->transient ? p->c.seen_ttl_ms : 0;
    if (p->host->kv_put(p->ins, t->key, s, strlen(s), ttl) == VIGIL_OK)
        t->saved = fp;
    else
        p->host->log(p->ins, VIGIL_LOG_WARN, "%s %s: cannot save its state", p->kind, t->url);
    free(s);
}

/* ------------------------------------------------------------------ */

int feed_poll_create(const struct vigil_host *host, struct vigil_instance *ins,
                     const struct feed_poll_conf *conf, feed_poll_parse_fn parse, void *ud,
                     struct feed_poll **out, struct vigil_error *err)
{
    struct feed_poll *p = calloc(1, sizeof *p);
    if (!p)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    p->host = host;
    p->ins = ins;
    p->c = *conf;
    snprintf(p->kind, sizeof p->kind, "%s", conf->kind ? conf->kind : "source");
    p->c.kind = p->kind;
    if (p->c.max_inflight == 0)
        p->c.max_inflight = 1;
    if (p->c.max_queue == 0)
        p->c.max_queue = 1;
    p->parse = parse;
    p->ud = ud;
    p->q_cap = p->c.max_queue;
    p->q = calloc(p->q_cap, sizeof *p->q);
    if (!p->q) {
        size_t cap = p->q_cap;
        free(p);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory for a %zu-document queue", cap);
    }
    p->rng = (uint64_t)host->now_ms() ^ ((uint64_t)(uintptr_t)p << 16);
    p->loop = conf->parse_offloop && host->loop ? host->loop(ins) : NULL;
    p->c_requests = host->counter(ins, "requests", "HTTP requests sent (and local files read)");
    p->c_not_modified = host->counter(ins, "not_modified", "304 Not Modified answers");
    p->c_unchanged = host->counter(ins, "unchanged", "bodies identical to the last one (no parse)");
    p->c_bytes = host->counter(ins, "bytes", "bytes received");
    p->c_items_new = host->counter(ins, "items_new", "new items emitted");
    p->c_items_updated = host->counter(ins, "items_updated", "updated items emitted again");
    p->c_items_dropped =
        host->counter(ins, "items_dropped", "items dropped because the queue was full");
    for (int k = 0; k < K_COUNT; k++)
        p->c_errors[k] = host->counter(ins, kind_counter[k], "failed fetches of this kind");
    *out = p;
    return 0;
}

static void add_count(struct feed_poll *p, struct vigil_counter *c, uint64_t n)
{
    if (c)
        p->host->counter_add(c, n);
}

void feed_poll_seed(struct feed_poll *p, uint64_t seed)
{
    p->rng = seed;
}

int feed_poll_add_url(struct feed_poll *p, const char *url)
{
    if (tset_find(&p->cfg_set, url, hash_fnv64(url, strlen(url))))
        return VIGIL_EEXIST;
    if (grow(&p->cfg, &p->cap_cfg, p->n_cfg, sizeof *p->cfg) != 0)
        return VIGIL_ENOMEM;
    struct feed_target *t = target_new(p, url, 0);
    if (!t || tset_add(&p->cfg_set, t) != 0) {
        target_free(t);
        return VIGIL_ENOMEM;
    }
    p->cfg[p->n_cfg++] = t;
    return 0;
}

int feed_poll_add_path(struct feed_poll *p, const char *pattern)
{
    char **np = realloc(p->patterns, (p->n_patterns + 1) * sizeof *np);
    if (!np)
        return VIGIL_ENOMEM;
    p->patterns = np;
    np[p->n_patterns] = strdup(pattern);
    if (!np[p->n_patterns])
        return VIGIL_ENOMEM;
    p->n_patterns++;
    return 0;
}

const char *feed_poll_target_url(const struct feed_target *t)
{
    return t->url;
}

unsigned feed_poll_target_depth(const struct feed_target *t)
{
    return t->depth;
}

size_t feed_poll_queued(const struct feed_poll *p)
{
    return p->q_len;
}

int feed_poll_target_info(struct feed_poll *p, const char *url, struct feed_poll_target_info *out)
{
    struct feed_target *t = tset_find(&p->cfg_set, url, hash_fnv64(url, strlen(url)));
    if (!t)
        return VIGIL_ENOTFOUND;
    target_load(p, t);
    out->next_due_ms = t->next_due;
    out->interval_ms = t->interval;
    out->failures = t->failures;
    out->etag = t->etag;
    out->last_modified = t->lm;
    return 0;
}

/* ------------------------------------------------------------------
 * Timers
 * ------------------------------------------------------------------ */

static void on_wake(struct vigil_timer *timer, void *arg)
{
    struct feed_poll *p = arg;
    p->host->timer_stop(timer);
    p->wake = NULL;
    pump(p);
}

static void arm_wake(struct feed_poll *p)
{
    if (p->stopping || p->paused || p->next_sched >= p->n_sched ||
        p->inflight + p->jobs >= p->c.max_inflight) {
        return;
    }
    int64_t at = p->sched[p->next_sched]->start_at;
    if (p->wake && p->wake_at <= at)
        return;
    if (p->wake)
        p->host->timer_stop(p->wake);
    int64_t delay = at - now_ms(p);
    p->wake = p->host->timer_start(p->ins, (uint64_t)(delay > 0 ? delay : 0), 0, on_wake, p);
    p->wake_at = at;
}

static void free_transients(struct feed_poll *p)
{
    for (size_t i = 0; i < p->n_trans; i++)
        target_free(p->trans[i]);
    p->n_trans = 0;
    tset_clear(&p->trans_set);
}

static void fire_done(struct feed_poll *p)
{
    vigil_pass_cb done = p->done;
    void *arg = p->done_arg;
    int status = p->done_status;
    p->active = 0;
    p->completing = 0;
    p->done = NULL;
    seen_map_free(&p->pass_ids);
    free_transients(p);
    p->n_sched = p->next_sched = 0;
    p->n_ready = p->next_ready = 0;
    if (done)
        done(arg, status);
}

static void on_done_timer(struct vigil_timer *timer, void *arg)
{
    struct feed_poll *p = arg;
    p->host->timer_stop(timer);
    p->done_timer = NULL;
    fire_done(p);
}

/* The pass is over when no target is open, nothing is in flight and the
 * queue is empty. done runs from a timer so it never runs inside
 * collect(), resume() or host->emit(). */
static void check_done(struct feed_poll *p)
{
    if (!p->active || p->completing || p->open > 0 || p->inflight > 0 || p->jobs > 0 ||
        p->q_len > 0)
        return;
    p->completing = 1;
    p->done_status = p->stopping ? VIGIL_ECANCELED : VIGIL_OK;
    if (p->stopping) {
        fire_done(p);
        return;
    }
    p->done_timer = p->host->timer_start(p->ins, 0, 0, on_done_timer, p);
    if (!p->done_timer)
        fire_done(p);
}

/* ------------------------------------------------------------------
 * Targets finishing
 * ------------------------------------------------------------------ */

/* The seen-set after a parse (seen_in_record). Entries with time 0 are
 * items the feed listed at that parse (next_cache: unchanged items and
 * those emitted); an item it no longer lists gets the time it was found
 * gone and is kept for seen_ttl after that, at most seen_keep of them (the
 * most recent), so an item dropping out of the window and coming back is
 * not new. Listed items carry no time, so a feed whose list did not change
 * serialises to the same record (nothing to write). */
static void seen_merge(struct feed_poll *p, struct feed_target *t)
{
    int64_t now = now_ms(p);
    struct seen_ent *gone = t->cache.n ? malloc(t->cache.n * sizeof *gone) : NULL;
    size_t n = 0;
    for (size_t i = 0; gone && i < t->cache.cap; i++) {
        struct seen_ent e = t->cache.v[i];
        if (!e.h || seen_map_get(&t->next_cache, e.h))
            continue;
        if (e.written == 0)
            e.written = now; /* listed until now */
        if (p->c.seen_ttl_ms <= 0 || now - e.written <= p->c.seen_ttl_ms)
            gone[n++] = e;
    }
    if (n > p->c.seen_keep) {
        qsort(gone, n, sizeof *gone, by_recent);
        n = p->c.seen_keep;
    }
    for (size_t i = 0; i < n; i++)
        seen_map_put(&t->next_cache, gone[i].h, gone[i].fp, gone[i].written);
    free(gone);
    seen_map_free(&t->cache);
    t->cache = t->next_cache;
    memset(&t->next_cache, 0, sizeof t->next_cache);
}

static void target_finish(struct feed_poll *p, struct feed_target *t, int abort)
{
    if (t->state == T_DONE || t->state == T_IDLE)
        return;
    t->state = T_DONE;
    int save_seen = 0;
    if (p->c.seen_in_record) {
        if (t->parsed || t->next_cache.n > 0) {
            /* Stopped or not, what was emitted must be remembered; what
             * was not (dropped, stopped before its turn) is not in
             * next_cache and is offered again. */
            seen_merge(p, t);
            save_seen = 1;
            if (abort)
                t->dropped = 1;
        }
    } else if (!abort && t->parsed && !t->dropped) {
        /* The items listed now (and stored) are the next pass's cache. */
        seen_map_free(&t->cache);
        t->cache = t->next_cache;
        memset(&t->next_cache, 0, sizeof t->next_cache);
    } else if (t->dropped) {
        /* Not everything was stored: let the store answer next time. */
        seen_map_free(&t->cache);
    }
    seen_map_free(&t->next_cache);
    if (abort && save_seen) {
        /* Parse again next time: its unsent items come back. */
        free(t->etag);
        free(t->lm);
        t->etag = t->lm = NULL;
        t->body_hash = 0;
        target_save(p, t);
    }
    if (!abort) {
        if (t->ok && !t->dropped) {
            if (t->new_etag || t->new_lm) {
                free(t->etag);
                free(t->lm);
                t->etag = t->new_etag;
                t->lm = t->new_lm;
                t->new_etag = t->new_lm = NULL;
            }
            if (t->new_hash)
                t->body_hash = t->new_hash;
        } else if (t->ok && t->dropped) {
            /* Some documents never left: forget the validators so the
             * next pass parses the feed again and offers them anew. */
            free(t->etag);
            free(t->lm);
            t->etag = t->lm = NULL;
            t->body_hash = 0;
        }
        target_save(p, t);
    }
    free(t->new_etag);
    free(t->new_lm);
    t->new_etag = t->new_lm = NULL;
    t->new_hash = 0;
    if (p->open > 0)
        p->open--;
}

static void log_failure(struct feed_poll *p, struct feed_target *t, int kind, const char *why,
                        int64_t delay)
{
    char d[32];
    units_format_duration(delay, d, sizeof d);
    /* One line per failure streak (and when the reason changes); the rest
     * at debug level so a dead feed cannot flood the log. */
    int level = (t->failures == 1 || kind != t->last_kind) ? VIGIL_LOG_WARN : VIGIL_LOG_DEBUG;
    p->host->log(p->ins, level, "%s %s: %s; next attempt in %s (failure %" PRIu32 ")", p->kind,
                 t->url, why, d, t->failures);
    t->last_kind = kind;
}

static void target_failed(struct feed_poll *p, struct feed_target *t, int kind, const char *why,
                          int64_t retry_after)
{
    int64_t now = now_ms(p);
    if (t->failures < UINT32_MAX)
        t->failures++;
    add_count(p, p->c_errors[kind], 1);
    int64_t delay = feed_retry_delay(retry_after, p->c.backoff_base_ms, p->c.backoff_cap_ms,
                                     t->failures, feed_rng_next(&p->rng), p->c.retry_after_max_ms);
    t->next_due = now + delay;
    t->ok = 0;
    log_failure(p, t, kind, why, delay);
}

static void target_succeeded(struct feed_poll *p, struct feed_target *t, int have_new)
{
    int64_t now = now_ms(p);
    if (t->failures > 0)
        p->host->log(p->ins, VIGIL_LOG_INFO, "%s %s: recovered after %" PRIu32 " failure%s",
                     p->kind, t->url, t->failures, t->failures == 1 ? "" : "s");
    t->failures = 0;
    t->last_kind = -1;
    t->ok = 1;
    if (p->c.adaptive) {
        int64_t iv = t->observed
                         ? t->observed_iv
                         : feed_adaptive_interval(NULL, 0, now, have_new, t->interval,
                                                  p->c.min_interval_ms, p->c.max_interval_ms);
        t->interval = iv;
        /* +-10 % so feeds with equal intervals drift apart. */
        int64_t j = iv / 10;
        t->next_due = now + iv - j + feed_rng_upto(&p->rng, 2 * j);
    } else {
        t->interval = 0;
        t->next_due = 0;
    }
}

/* ------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------ */

/* An unchanged index still leads to its children, which change. */
static void readd_kids(struct feed_poll *p, struct feed_target *t)
{
    for (size_t i = 0; i < t->n_kids; i++)
        feed_poll_add_child(p, t, t->kids[i]);
}

/* The client ends its messages with "(GET <url>)"; the log line already
 * starts with the URL, so say it once. */
static void strip_request_suffix(char *why, const char *url)
{
    size_t n = strlen(why), u = strlen(url);
    if (n < u + 7 || why[n - 1] != ')')
        return;
    char *s = why + n - u - 7; /* " (GET " url ")" */
    if (memcmp(s, " (GET ", 6) == 0 && memcmp(s + 6, url, u) == 0)
        *s = '\0';
}

/* After the parser ran (on the loop, or on a worker and then back here). */
static void parse_done(struct feed_poll *p, struct feed_target *t, int rc,
                       const struct vigil_error *err)
{
    if (rc == 0) {
        t->fetched_ok = 1;
        t->parsed = 1;
        free_list(t->kids, t->n_kids);
        t->kids = t->new_kids;
        t->n_kids = t->n_new_kids;
        t->new_kids = NULL;
        t->n_new_kids = 0;
        target_succeeded(p, t, t->new_items > 0);
    } else {
        /* Documents queued before the failure still go out. */
        t->new_hash = 0;
        target_failed(p, t, rc == VIGIL_ETOOBIG ? K_TOOBIG : K_PARSE,
                      err->msg[0] ? err->msg : vigil_strerror(rc), -1);
        t->ok = 0;
    }
    if (t->pending == 0)
        target_finish(p, t, 0);
    else
        t->state = T_EMITTING;
}

/* Parsing on libuv's thread pool: the loop thread keeps fetching and
 * emitting while feeds are parsed, so a pass uses more than one core. The
 * parser only touches its target (its caches, staged documents and
 * children) and thread-safe host services (log, now_ms, kv_*); the rest
 * happens in parse_after() on the loop. */
struct parse_job {
    uv_work_t req;
    struct feed_target *t;
    char *body;
    size_t len;
    char *content_type;
    char *base_url;
    int rc;
    struct vigil_error err;
};

static void parse_job_free(struct parse_job *j)
{
    free(j->body);
    free(j->content_type);
    free(j->base_url);
    free(j);
}

static void parse_work(uv_work_t *req)
{
    struct parse_job *j = req->data;
    struct feed_target *t = j->t;
    struct feed_poll *p = t->p;
    j->rc = p->parse(p->ud, p, t, j->body, j->len, j->content_type, j->base_url, &j->err);
}

static void queue_doc(struct feed_poll *p, struct feed_target *t, json_t *doc,
                      const struct feed_seen *s);

static void parse_after(uv_work_t *req, int status)
{
    struct parse_job *j = req->data;
    struct feed_target *t = j->t;
    struct feed_poll *p = t->p;
    if (status != 0 && j->rc == 0)
        j->rc = vigil_error_set(&j->err, VIGIL_ECANCELED, "parse canceled");
    p->jobs--;
    t->offloop = 0;
    t->parsing = 0;
    if (p->stopping) {
        /* Staged documents were never emitted: they come back next run. */
        for (size_t i = 0; i < t->n_staged; i++)
            json_decref(t->staged[i].doc);
        t->n_staged = 0;
        t->parsed = j->rc == 0;
        target_finish(p, t, 1);
    } else {
        for (size_t i = 0; i < t->n_staged_kids; i++)
            feed_poll_add_child(p, t, t->staged_kids[i]);
        for (size_t i = 0; i < t->n_staged; i++)
            queue_doc(p, t, t->staged[i].doc, &t->staged[i].s);
        t->n_staged = 0;
        parse_done(p, t, j->rc, &j->err);
    }
    free_list(t->staged_kids, t->n_staged_kids);
    t->staged_kids = NULL;
    t->n_staged_kids = t->cap_staged_kids = 0;
    parse_job_free(j);
    pump(p);
    check_done(p);
}

static char *dup_str_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* 0 when the parse was handed to a worker; -1 to parse here. */
static int start_parse_job(struct feed_poll *p, struct feed_target *t, const char *body, size_t len,
                           const char *content_type, const char *base_url)
{
    if (!p->loop)
        return -1;
    struct parse_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->t = t;
    j->len = len;
    j->body = malloc(len + 1);
    j->content_type = dup_str_or_null(content_type);
    j->base_url = dup_str_or_null(base_url);
    if (!j->body || (content_type && !j->content_type) || (base_url && !j->base_url)) {
        parse_job_free(j);
        return -1;
    }
    memcpy(j->body, body, len);
    j->body[len] = '\0';
    j->req.data = j;
    t->state = T_PARSING;
    t->offloop = 1;
    t->parsing = 1;
    p->jobs++;
    if (uv_queue_work(p->loop, &j->req, parse_work, parse_after) != 0) {
        p->jobs--;
        t->offloop = 0;
        t->parsing = 0;
        t->state = T_INFLIGHT;
        parse_job_free(j);
        return -1;
    }
    return 0;
}

static void handle_response(struct feed_poll *p, struct feed_target *t,
                            const struct vigil_http_response *r)
{
    char why[VIGIL_ERROR_MAX + 64];
    t->call = NULL;
    if (p->inflight > 0)
        p->inflight--;
    t->observed = 0;
    t->new_items = 0;
    t->dropped = 0;
    t->ok = 0;
    t->parsed = 0;

    if (r->status == VIGIL_ECANCELED || p->stopping) {
        target_finish(p, t, 1);
        return;
    }
    add_count(p, p->c_requests, 1);
    add_count(p, p->c_bytes, r->wire_bytes ? r->wire_bytes : r->body_len);
    if (r->status != VIGIL_OK) {
        int kind = r->status == VIGIL_ETIMEDOUT ? K_TIMEOUT
                   : r->status == VIGIL_ETOOBIG ? K_TOOBIG
                   : r->status == VIGIL_EPROTO  ? K_PROTOCOL
                                                : K_NETWORK;
        snprintf(why, sizeof why, "%s", r->error ? r->error : vigil_strerror(r->status));
        strip_request_suffix(why, t->url);
        target_failed(p, t, kind, why, -1);
        target_finish(p, t, 0);
        return;
    }
    long code = r->http_code;
    if (code == 304) {
        add_count(p, p->c_not_modified, 1);
        readd_kids(p, t);
        free(t->new_etag);
        free(t->new_lm);
        t->new_etag = dup_or_null(r->etag ? r->etag : t->etag);
        t->new_lm = dup_or_null(r->last_modified ? r->last_modified : t->lm);
        target_succeeded(p, t, 0);
        target_finish(p, t, 0);
        return;
    }
    if (code < 200 || code > 299) {
        int kind = code >= 500 ? K_5XX : K_4XX;
        int64_t ra = (code == 429 || code == 503) ? r->retry_after_ms : -1;
        if (ra >= 0) {
            char d[32];
            units_format_duration(ra, d, sizeof d);
            snprintf(why, sizeof why, "HTTP %ld (Retry-After %s)", code, d);
        } else {
            snprintf(why, sizeof why, "HTTP %ld", code);
        }
        target_failed(p, t, kind, why, ra);
        target_finish(p, t, 0);
        return;
    }
    const char *body = r->body ? r->body : "";
    uint64_t h = hash_fnv64(body, r->body_len);
    if (h == 0)
        h = 1;
    free(t->new_etag);
    free(t->new_lm);
    t->new_etag = dup_or_null(r->etag);
    t->new_lm = dup_or_null(r->last_modified);
    t->new_hash = h;
    if (h == t->body_hash) {
        add_count(p, p->c_unchanged, 1);
        readd_kids(p, t);
        target_succeeded(p, t, 0);
        target_finish(p, t, 0);
        return;
    }
    free_list(t->new_kids, t->n_new_kids);
    t->new_kids = NULL;
    t->n_new_kids = 0;
    seen_map_free(&t->next_cache);
    const char *base = t->is_file ? NULL : (r->effective_url ? r->effective_url : t->url);
    if (start_parse_job(p, t, body, r->body_len, r->content_type, base) == 0)
        return;
    struct vigil_error err = {0};
    t->parsing = 1;
    int rc = p->parse(p->ud, p, t, body, r->body_len, r->content_type, base, &err);
    t->parsing = 0;
    parse_done(p, t, rc, &err);
}

static void on_http(void *arg, const struct vigil_http_response *r)
{
    struct feed_target *t = arg;
    struct feed_poll *p = t->p;
    handle_response(p, t, r);
    pump(p);
    check_done(p);
}

static void read_file_target(struct feed_poll *p, struct feed_target *t)
{
    struct vigil_http_response r;
    char *data = NULL;
    size_t len = 0;
    char msg[300];
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.retry_after_ms = -1;
    if (buf_read_file(t->url, p->c.max_body ? p->c.max_body : (size_t)16 << 20, &data, &len) != 0) {
        int e = errno;
        r.status = e == EFBIG ? VIGIL_ETOOBIG : VIGIL_EIO;
        snprintf(msg, sizeof msg, "cannot read the file: %s",
                 e == EFBIG ? "larger than max_body" : strerror(e));
        r.error = msg;
    } else {
        r.status = VIGIL_OK;
        r.http_code = 200;
        r.body = data;
        r.body_len = len;
        r.wire_bytes = len;
    }
    handle_response(p, t, &r);
    free(data);
}

static void start_target(struct feed_poll *p, struct feed_target *t)
{
    t->state = T_INFLIGHT;
    t->started_once = 1;
    p->inflight++;
    if (t->is_file) {
        read_file_target(p, t);
        return;
    }
    struct vigil_http_request req;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.url = t->url;
    req.etag = t->etag;
    req.last_modified = t->lm;
    req.timeout_ms = p->c.timeout_ms;
    req.max_body = p->c.max_body;
    int rc = p->host->http_request(p->ins, &req, on_http, t, &t->call);
    if (rc != VIGIL_OK) {
        struct vigil_http_response r;
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.status = rc == VIGIL_ECANCELED ? VIGIL_ECANCELED : VIGIL_EIO;
        r.error = vigil_strerror(rc);
        r.retry_after_ms = -1;
        handle_response(p, t, &r);
    }
}

/* ------------------------------------------------------------------
 * Emission
 * ------------------------------------------------------------------ */

static void mark_seen(struct feed_poll *p, struct feed_target *t, const struct feed_seen *s)
{
    char key[24], val[48];
    int64_t now = now_ms(p);
    if (p->c.seen_in_record) {
        /* Stored with the target's record when it finishes; time 0: listed
         * by the feed now. */
        if (t)
            seen_map_put(&t->next_cache, strtoull(s->id, NULL, 16) | 1, s->fp, 0);
        return;
    }
    snprintf(key, sizeof key, "s:%s", s->id);
    int n = snprintf(val, sizeof val, "%016" PRIx64 " %" PRId64, s->fp, now);
    p->host->kv_put(p->ins, key, val, (size_t)n, p->c.seen_ttl_ms);
    if (t)
        seen_map_put(&t->next_cache, strtoull(s->id, NULL, 16) | 1, s->fp, now);
}

static void drain(struct feed_poll *p)
{
    while (p->q_len > 0 && !p->paused && !p->stopping) {
        struct qent e = p->q[p->q_head];
        p->q_head = (p->q_head + 1) % p->q_cap;
        p->q_len--;
        int rc = p->host->emit(p->ins, e.doc);
        if (rc == VIGIL_OK || rc == VIGIL_EAGAIN) {
            mark_seen(p, e.t, &e.s);
            add_count(p, e.s.verdict == FEED_SEEN_UPDATED ? p->c_items_updated : p->c_items_new, 1);
            if (rc == VIGIL_EAGAIN)
                p->paused = 1;
        } else {
            /* Not marked seen: the item is offered again next pass. */
            e.t->dropped = 1;
            p->host->log(p->ins, VIGIL_LOG_WARN, "%s %s: emit failed: %s", p->kind, e.t->url,
                         vigil_strerror(rc));
        }
        if (e.t->pending > 0 && --e.t->pending == 0 && e.t->state == T_EMITTING)
            target_finish(p, e.t, 0);
    }
}

static void seen(struct feed_poll *p, struct feed_target *t, const char *scope, const char *item_id,
                 uint64_t fp, int newer, struct feed_seen *out)
{
    uint64_t h = hash_fnv64(scope, strlen(scope));
    h = hash_fnv64_update(h, "\n", 1);
    h = hash_fnv64_update(h, item_id, strlen(item_id));
    hash_hex64(h, out->id);
    out->fp = fp;
    out->verdict = FEED_SEEN_NEW;
    uint64_t ch = h | 1; /* never 0: 0 marks an empty cache slot */
    int64_t now = now_ms(p);
    uint64_t stored;
    int64_t written;

    const struct seen_ent *c = seen_map_get(&t->cache, ch);
    if (p->c.seen_in_record) {
        /* The record holds the whole seen-set: absent (or no longer listed
         * for longer than the TTL) means new. */
        if (!c || (c->written > 0 && p->c.seen_ttl_ms > 0 && now - c->written > p->c.seen_ttl_ms))
            return;
        stored = c->fp;
        int changed = newer ? (int64_t)fp > (int64_t)stored : stored != fp;
        if (changed && p->c.emit_updates) {
            out->verdict = FEED_SEEN_UPDATED;
            return;
        }
        out->verdict = FEED_SEEN_SAME;
        if ((newer && (int64_t)stored > (int64_t)fp) || (changed && !newer))
            out->fp = stored;
        seen_map_put(&t->next_cache, ch, out->fp, 0); /* listed now */
        return;
    }
    if (c && (newer ? (int64_t)fp <= (int64_t)c->fp : fp == c->fp)) {
        /* Listed last time, unchanged: known without reading the store. */
        stored = c->fp;
        written = c->written;
    } else if (!t->had_record && !t->fetched_ok && strcmp(scope, t->url) == 0) {
        /* A feed never fetched before has no item in the seen-set. */
        return;
    } else {
        char key[24], *val = NULL;
        size_t len = 0;
        snprintf(key, sizeof key, "s:%s", out->id);
        if (p->host->kv_get(p->ins, key, &val, &len) != VIGIL_OK || !val)
            return;
        char *end;
        stored = strtoull(val, &end, 16);
        written = end && *end == ' ' ? strtoll(end + 1, NULL, 10) : 0;
        free(val);
    }
    int changed = newer ? (int64_t)fp > (int64_t)stored : stored != fp;
    if (changed && p->c.emit_updates) {
        out->verdict = FEED_SEEN_UPDATED;
        return;
    }
    out->verdict = FEED_SEEN_SAME;
    if (newer && (int64_t)stored > (int64_t)fp)
        out->fp = stored; /* keep the latest version */
    if (changed && !newer)
        out->fp = stored; /* updates off: the stored fingerprint stays */
    if (p->c.seen_ttl_ms > 0 && now - written > p->c.seen_ttl_ms / 2)
        mark_seen(p, t, out);
    else
        seen_map_put(&t->next_cache, ch, out->fp, written);
}

void feed_poll_seen(struct feed_poll *p, struct feed_target *t, const char *scope,
                    const char *item_id, uint64_t fp, struct feed_seen *out)
{
    seen(p, t, scope, item_id, fp, 0, out);
}

void feed_poll_seen_newer(struct feed_poll *p, struct feed_target *t, const char *scope,
                          const char *item_id, int64_t version, struct feed_seen *out)
{
    seen(p, t, scope, item_id, (uint64_t)version, 1, out);
}

static void queue_doc(struct feed_poll *p, struct feed_target *t, json_t *doc,
                      const struct feed_seen *s)
{
    if (!p->c.seen_in_record) {
        uint64_t h = strtoull(s->id, NULL, 16) | 1;
        if (seen_map_get(&p->pass_ids, h)) {
            json_decref(doc); /* another target of this pass has it */
            return;
        }
        seen_map_put(&p->pass_ids, h, s->fp, 0);
    }
    if (p->q_len >= p->q_cap || p->stopping) {
        json_decref(doc);
        t->dropped = 1;
        add_count(p, p->c_items_dropped, 1);
        return;
    }
    struct qent *e = &p->q[(p->q_head + p->q_len) % p->q_cap];
    e->doc = doc;
    e->t = t;
    e->s = *s;
    p->q_len++;
    t->pending++;
    t->new_items++;
}

void feed_poll_queue(struct feed_poll *p, struct feed_target *t, json_t *doc,
                     const struct feed_seen *s)
{
    if (!t->offloop) {
        queue_doc(p, t, doc, s);
        return;
    }
    /* On a worker: staged, bounded like the queue itself. */
    if (t->n_staged >= p->c.max_queue ||
        grow(&t->staged, &t->cap_staged, t->n_staged, sizeof *t->staged) != 0) {
        json_decref(doc);
        t->dropped = 1;
        add_count(p, p->c_items_dropped, 1);
        return;
    }
    t->staged[t->n_staged++] = (struct qent){doc, t, *s};
}

void feed_poll_observe(struct feed_poll *p, struct feed_target *t, const int64_t *times, size_t n)
{
    t->observed = 1;
    t->observed_iv = feed_adaptive_interval(times, n, now_ms(p), 0, t->interval,
                                            p->c.min_interval_ms, p->c.max_interval_ms);
}

/* ------------------------------------------------------------------
 * The pass
 * ------------------------------------------------------------------ */

static int sched_push(struct feed_poll *p, struct feed_target *t, int64_t start_at)
{
    if (grow(&p->sched, &p->cap_sched, p->n_sched, sizeof *p->sched) != 0)
        return VIGIL_ENOMEM;
    t->state = T_WAITING;
    t->start_at = start_at;
    p->sched[p->n_sched++] = t;
    p->open++;
    return 0;
}

static int trans_push(struct feed_poll *p, struct feed_target *t)
{
    if (grow(&p->trans, &p->cap_trans, p->n_trans, sizeof *p->trans) != 0 ||
        tset_add(&p->trans_set, t) != 0)
        return VIGIL_ENOMEM;
    p->trans[p->n_trans++] = t;
    return 0;
}

/* A URL already in this pass (configured, or added as child or file). */
static int in_pass(struct feed_poll *p, const char *url)
{
    uint64_t h = hash_fnv64(url, strlen(url));
    return tset_find(&p->trans_set, url, h) || tset_find(&p->cfg_set, url, h);
}

int feed_poll_add_child(struct feed_poll *p, struct feed_target *parent, const char *url)
{
    if (parent->offloop) {
        /* On a worker: note it (parent-local state only); the loop adds
         * it when the parse is over. */
        if (parent->depth + 1 > p->c.max_depth || parent->n_new_kids >= p->c.max_children)
            return 1;
        for (size_t i = 0; i < parent->n_new_kids; i++) {
            if (strcmp(parent->new_kids[i], url) == 0)
                return 1;
        }
        char *a = strdup(url), *b = strdup(url);
        char **nk =
            a && b ? realloc(parent->new_kids, (parent->n_new_kids + 1) * sizeof *parent->new_kids)
                   : NULL;
        if (nk)
            parent->new_kids = nk;
        if (!nk || grow(&parent->staged_kids, &parent->cap_staged_kids, parent->n_staged_kids,
                        sizeof *parent->staged_kids) != 0) {
            free(a);
            free(b);
            return VIGIL_ENOMEM;
        }
        parent->new_kids[parent->n_new_kids++] = a;
        parent->staged_kids[parent->n_staged_kids++] = b;
        return 0;
    }
    if (p->stopping || !p->active)
        return 1;
    if (parent->parsing && parent->depth + 1 <= p->c.max_depth &&
        parent->n_new_kids < p->c.max_children) {
        int known = 0;
        for (size_t i = 0; i < parent->n_new_kids && !known; i++)
            known = strcmp(parent->new_kids[i], url) == 0;
        char **nk =
            known ? NULL
                  : realloc(parent->new_kids, (parent->n_new_kids + 1) * sizeof *parent->new_kids);
        if (nk) {
            parent->new_kids = nk;
            nk[parent->n_new_kids] = strdup(url);
            if (nk[parent->n_new_kids])
                parent->n_new_kids++;
        }
    }
    if (parent->depth + 1 > p->c.max_depth) {
        p->host->log(p->ins, VIGIL_LOG_DEBUG, "%s %s: %s not followed (depth limit %u)", p->kind,
                     parent->url, url, p->c.max_depth);
        return 1;
    }
    if (p->children >= p->c.max_children) {
        if (p->children == p->c.max_children)
            p->host->log(p->ins, VIGIL_LOG_WARN,
                         "%s %s: more than %zu child sitemaps in one pass; the rest are skipped",
                         p->kind, parent->url, p->c.max_children);
        p->children++;
        return 1;
    }
    if (in_pass(p, url))
        return 1;
    struct feed_target *t = target_new(p, url, 0);
    if (!t || trans_push(p, t) != 0) {
        target_free(t);
        return VIGIL_ENOMEM;
    }
    t->transient = 1;
    t->depth = parent->depth + 1;
    p->children++;
    target_load(p, t);
    if (t->next_due > now_ms(p))
        return 1;
    if (grow(&p->ready, &p->cap_ready, p->n_ready, sizeof *p->ready) != 0)
        return VIGIL_ENOMEM;
    t->state = T_WAITING;
    p->ready[p->n_ready++] = t;
    p->open++;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct feed_target *x = *(struct feed_target *const *)a;
    const struct feed_target *y = *(struct feed_target *const *)b;
    return (x->start_at > y->start_at) - (x->start_at < y->start_at);
}

static void add_file(struct feed_poll *p, const char *path, int64_t now, size_t *count)
{
    struct stat st;
    if (*count >= MAX_FILES_PER_PASS || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    if (in_pass(p, path))
        return;
    struct feed_target *t = target_new(p, path, 1);
    if (!t || trans_push(p, t) != 0) {
        target_free(t);
        return;
    }
    t->transient = 1;
    (*count)++;
    target_load(p, t);
    if (t->next_due <= now)
        sched_push(p, t, now);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void expand_dir(struct feed_poll *p, const char *dir, int64_t now, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    if (!d) {
        p->host->log(p->ins, VIGIL_LOG_WARN, "%s %s: cannot open the directory: %s", p->kind, dir,
                     strerror(errno));
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (grow(&names, &cap, n, sizeof *names) != 0)
            break;
        size_t l = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(l);
        if (!names[n])
            break;
        snprintf(names[n], l, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n > 1) /* names is NULL for an empty directory */
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        add_file(p, names[i], now, count);
        free(names[i]);
    }
    free(names);
}

static void expand_patterns(struct feed_poll *p, int64_t now)
{
    size_t count = 0;
    for (size_t i = 0; i < p->n_patterns; i++) {
        const char *pat = p->patterns[i];
        struct stat st;
        if (stat(pat, &st) == 0 && S_ISDIR(st.st_mode)) {
            expand_dir(p, pat, now, &count);
            continue;
        }
        glob_t g;
        int rc = glob(pat, 0, NULL, &g);
        if (rc == GLOB_NOMATCH) {
            p->host->log(p->ins, VIGIL_LOG_DEBUG, "%s %s: no file matches", p->kind, pat);
            continue;
        }
        if (rc != 0) {
            p->host->log(p->ins, VIGIL_LOG_WARN, "%s %s: cannot expand the pattern", p->kind, pat);
            continue;
        }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            if (stat(g.gl_pathv[k], &st) == 0 && S_ISDIR(st.st_mode))
                expand_dir(p, g.gl_pathv[k], now, &count);
            else
                add_file(p, g.gl_pathv[k], now, &count);
        }
        globfree(&g);
    }
}

int feed_poll_collect(struct feed_poll *p, vigil_pass_cb done, void *arg)
{
    if (p->stopping)
        return VIGIL_ECANCELED;
    if (p->active)
        return VIGIL_ESTATE;
    int64_t now = now_ms(p);
    int jitter = p->c.startup_jitter_ms > 0 && !p->host->run_once(p->ins);
    p->active = 1;
    p->completing = 0;
    p->done = done;
    p->done_arg = arg;
    p->n_sched = p->next_sched = 0;
    p->n_ready = p->next_ready = 0;
    p->children = 0;
    p->open = 0;
    for (size_t i = 0; i < p->n_cfg; i++) {
        struct feed_target *t = p->cfg[i];
        target_load(p, t);
        if (t->next_due > now) {
            /* Backing off, or its adaptive interval is not over. */
            continue;
        }
        int64_t at = now;
        if (jitter && !t->started_once)
            at += feed_rng_upto(&p->rng, p->c.startup_jitter_ms);
        if (sched_push(p, t, at) != 0) {
            p->active = 0;
            return VIGIL_ENOMEM;
        }
    }
    expand_patterns(p, now);
    if (p->n_sched > 1) /* sched is NULL until a target was due */
        qsort(p->sched, p->n_sched, sizeof *p->sched, by_start);
    pump(p);
    check_done(p);
    return VIGIL_OK;
}

static struct feed_target *next_startable(struct feed_poll *p, int64_t now)
{
    if (p->next_ready < p->n_ready)
        return p->ready[p->next_ready++];
    if (p->next_sched < p->n_sched && p->sched[p->next_sched]->start_at <= now)
        return p->sched[p->next_sched++];
    return NULL;
}

static void pump(struct feed_poll *p)
{
    if (p->in_pump) {
        p->pump_again = 1;
        return;
    }
    p->in_pump = 1;
    do {
        p->pump_again = 0;
        drain(p);
        if (p->paused || p->stopping || !p->active)
            continue;
        int64_t now = now_ms(p);
        while (p->inflight + p->jobs < p->c.max_inflight && !p->paused && !p->stopping) {
            struct feed_target *t = next_startable(p, now);
            if (!t)
                break;
            start_target(p, t);
            drain(p);
        }
    } while (p->pump_again);
    p->in_pump = 0;
    arm_wake(p);
}

void feed_poll_pause(struct feed_poll *p)
{
    p->paused = 1;
}

void feed_poll_resume(struct feed_poll *p)
{
    p->paused = 0;
    if (p->in_pump) {
        p->pump_again = 1;
        return;
    }
    pump(p);
    check_done(p);
}

void feed_poll_stop(struct feed_poll *p)
{
    if (p->stopping)
        return;
    p->stopping = 1;
    if (p->wake) {
        p->host->timer_stop(p->wake);
        p->wake = NULL;
    }
    /* Targets that never started. */
    for (size_t i = p->next_ready; i < p->n_ready; i++)
        target_finish(p, p->ready[i], 1);
    p->next_ready = p->n_ready;
    for (size_t i = p->next_sched; i < p->n_sched; i++)
        target_finish(p, p->sched[i], 1);
    p->next_sched = p->n_sched;
    /* Queued documents are dropped unmarked: they come back next run. */
    while (p->q_len > 0) {
        struct qent *e = &p->q[p->q_head];
        json_decref(e->doc);
        p->q_head = (p->q_head + 1) % p->q_cap;
        p->q_len--;
        if (e->t->pending > 0 && --e->t->pending == 0 && e->t->state == T_EMITTING)
            target_finish(p, e->t, 1);
    }
    /* In-flight requests call back with VIGIL_ECANCELED; the last one
     * ends the pass. Copy first: a callback could run inside cancel. */
    size_t n = 0;
    struct vigil_http_call **calls = p->inflight ? calloc(p->inflight + 1, sizeof *calls) : NULL;
    struct feed_target **all[3] = {p->sched, p->ready, p->trans};
    size_t nall[3] = {p->n_sched, p->n_ready, p->n_trans};
    for (int k = 0; k < 3 && calls; k++) {
        for (size_t i = 0; i < nall[k] && n < p->inflight; i++) {
            struct feed_target *t = all[k][i];
            if (t->state == T_INFLIGHT && t->call) {
                int dup = 0;
                for (size_t j = 0; j < n; j++)
                    dup |= calls[j] == t->call;
                if (!dup)
                    calls[n++] = t->call;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        p->host->http_cancel(calls[i]);
    free(calls);
    if (p->done_timer) {
        /* The pass had completed; deliver its done now. */
        p->host->timer_stop(p->done_timer);
        p->done_timer = NULL;
        fire_done(p);
        return;
    }
    check_done(p);
}

void feed_poll_destroy(struct feed_poll *p)
{
    if (!p)
        return;
    if (p->wake)
        p->host->timer_stop(p->wake);
    if (p->done_timer)
        p->host->timer_stop(p->done_timer);
    while (p->q_len > 0) {
        json_decref(p->q[p->q_head].doc);
        p->q_head = (p->q_head + 1) % p->q_cap;
        p->q_len--;
    }
    free(p->q);
    seen_map_free(&p->pass_ids);
    for (size_t i = 0; i < p->n_cfg; i++)
        target_free(p->cfg[i]);
    free(p->cfg);
    free(p->cfg_set.v);
    free_transients(p);
    free(p->trans_set.v);
    free(p->trans);
    for (size_t i = 0; i < p->n_patterns; i++)
        free(p->patterns[i]);
    free(p->patterns);
    free(p->sched);
    free(p->ready);
    free(p);
}
