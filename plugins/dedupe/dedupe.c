#include "dedupe.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "index.h"

#define KEY_MAX 64

struct dd {
    struct dd_config cfg;
    const struct dd_store *store; /* NULL: memory only */
    pthread_mutex_t mu;
    struct dd_index *ix;
    int64_t store_until;
    struct dd_stats st;
};

static const char *const kind_names[] = {"first", "url", "text", "near"};

const char *dd_kind_name(int kind)
{
    return kind > DD_FIRST && kind <= DD_NEAR ? kind_names[kind] : NULL;
}

static int kind_from_name(const char *s)
{
    for (int k = 0; s && k <= DD_NEAR; k++) {
        if (!strcmp(s, kind_names[k]))
            return k;
    }
    return DD_FIRST;
}

/* --- store access ------------------------------------------------------- */

static void store_log(struct dd *d, int level, const char *fmt, ...) VIGIL_PRINTF(3, 4);
static void store_log(struct dd *d, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!d->store || !d->store->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->store->log(d->store->arg, level, msg);
}

static void store_failed(struct dd *d, const char *op, const char *key, int rc)
{
    d->st.store_errors++;
    /* The first failure and then one in a thousand: a broken disk must not
     * flood the log with one line per document. */
    if (d->st.store_errors % 1000 == 1)
        store_log(d, VIGIL_LOG_WARN,
                  "state store %s of %s failed: %s (%llu failures so far); duplicates are "
                  "still found in memory",
                  op, key, vigil_strerror(rc), (unsigned long long)d->st.store_errors);
}

/* JSON value of key, or NULL (absent, expired, unreadable). */
static json_t *store_get_json(struct dd *d, const char *key)
{
    char *val = NULL;
    size_t len = 0;
    d->st.store_reads++;
    int rc = d->store->get(d->store->arg, key, &val, &len);
    if (rc == VIGIL_ENOTFOUND)
        return NULL;
    if (rc != VIGIL_OK) {
        store_failed(d, "read", key, rc);
        return NULL;
    }
    json_t *j = json_loadb(val, len, 0, NULL);
    free(val);
    if (!j)
        store_failed(d, "parse", key, VIGIL_EPARSE);
    return j;
}

static void store_put_json(struct dd *d, const char *key, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        store_failed(d, "write", key, VIGIL_ENOMEM);
        return;
    }
    d->st.store_writes++;
    int rc = d->store->put(d->store->arg, key, s, strlen(s), d->cfg.window_ms);
    free(s);
    if (rc != VIGIL_OK)
        store_failed(d, "write", key, rc);
}

static void key_hex(char *out, const char *kind, uint64_t h)
{
    char hex[17];
    hash_hex64(h, hex);
    snprintf(out, KEY_MAX, DD_STATE_VERSION ":%s:%s", kind, hex);
}

static void key_band(char *out, int band, uint64_t bh)
{
    char hex[17];
    hash_hex64(bh, hex);
    snprintf(out, KEY_MAX, DD_STATE_VERSION ":b:%d:%s", band, hex);
}

static int parse_hex64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || strlen(s) != 16)
        return -1;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (x < 0)
            return -1;
        v = v << 4 | (uint64_t)x;
    }
    *out = v;
    return 0;
}

static json_t *sig_to_json(const uint32_t *sig)
{
    char hex[DD_SIG * 8 + 1];
    for (int k = 0; k < DD_SIG; k++)
        snprintf(hex + 8 * k, 9, "%08x", (unsigned)sig[k]);
    return json_string(hex);
}

static int sig_from_json(const json_t *j, uint32_t *sig)
{
    const char *s = json_string_value(j);
    if (!s || strlen(s) != DD_SIG * 8)
        return -1;
    for (int k = 0; k < DD_SIG; k++) {
        uint32_t v = 0;
        for (int i = 0; i < 8; i++) {
            char c = s[8 * k + i];
            int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (x < 0)
                return -1;
            v = v << 4 | (uint32_t)x;
        }
        sig[k] = v;
    }
    return 0;
}

/* A record ({"id", "story", "t", ...}) still inside the window. */
static int record_live(const json_t *rec, int64_t min_t)
{
    return json_is_object(rec) && json_is_string(json_object_get(rec, "story")) &&
           json_integer_value(json_object_get(rec, "t")) >= min_t;
}

/* --- life cycle --------------------------------------------------------- */

int dd_create(const struct dd_config *cfg, const struct dd_store *store, int64_t now_ms,
              struct dd **out, struct vigil_error *err)
{
    *out = NULL;
    if (cfg->window_ms <= 0)
        return vigil_error_set(err, VIGIL_EINVAL, "window must be positive");
    if (cfg->threshold <= 0 || cfg->threshold > 1)
        return vigil_error_set(err, VIGIL_EINVAL, "threshold must be in (0, 1], not %g",
                               cfg->threshold);
    struct dd *d = calloc(1, sizeof *d);
    if (!d)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    d->cfg = *cfg;
    int rc = ddx_create(cfg->max_entries, &d->ix);
    if (rc != VIGIL_OK) {
        free(d);
        if (rc == VIGIL_EINVAL)
            return vigil_error_set(err, rc, "max_entries must be 1..%d, not %zu", DD_INDEX_MAX,
                                   cfg->max_entries);
        return vigil_error_set(err, rc, "out of memory for %zu entries", cfg->max_entries);
    }
    pthread_mutex_init(&d->mu, NULL);
    if (store && store->get && store->put) {
        char *val = NULL;
        size_t len = 0;
        d->store = store;
        rc = store->get(store->arg, DD_STATE_VERSION ":epoch", &val, &len);
        if (rc == VIGIL_OK) {
            /* A previous run wrote records that may still be live: consult
             * the store until the last of them has expired. */
            json_t *j = json_loadb(val, len, 0, NULL);
            int64_t t = json_integer_value(json_object_get(j, "t"));
            json_decref(j);
            d->store_until = t > 0 ? t + cfg->window_ms : now_ms + cfg->window_ms;
            d->st.store_ok = 1;
        } else if (rc == VIGIL_ENOTFOUND) {
            d->st.store_ok = 1;
        } else {
            store_log(d, VIGIL_LOG_WARN,
                      "state store unavailable (%s): duplicates are remembered in memory only, "
                      "and only until the process exits",
                      vigil_strerror(rc));
            d->store = NULL;
        }
        free(val);
    }
    *out = d;
    return VIGIL_OK;
}

void dd_destroy(struct dd *d)
{
    if (!d)
        return;
    ddx_free(d->ix);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void dd_result_free(struct dd_result *res)
{
    free(res->story);
    res->story = NULL;
}

void dd_get_stats(struct dd *d, struct dd_stats *st)
{
    pthread_mutex_lock(&d->mu);
    *st = d->st;
    st->entries = ddx_count(d->ix);
    st->max_entries = ddx_capacity(d->ix);
    st->memory_bytes = ddx_memory(d->ix);
    st->store_until = d->store_until;
    pthread_mutex_unlock(&d->mu);
}

/* --- the check ---------------------------------------------------------- */

/* What a lookup found: borrowed strings (from an entry or a JSON record
 * that lives until the end of the check). */
struct found {
    int kind;
    const char *story;
    double sim;
};

struct check {
    struct dd *d;
    const struct dd_doc *doc;
    int64_t now, min_t;
    int use_store;
    uint64_t idh;
    struct found match;
    int url_seen[2], text_seen;
    json_t *keep;              /* records whose strings match.story borrows */
    json_t *buckets[DD_BANDS]; /* store bucket lists read during the check */
    int bucket_read[DD_BANDS];
    uint64_t tried[DD_CANDIDATES_MAX];
    size_t ntried;
};

static void keep_record(struct check *c, json_t *rec)
{
    json_array_append_new(c->keep, rec);
}

static int was_tried(struct check *c, uint64_t idh)
{
    for (size_t i = 0; i < c->ntried; i++) {
        if (c->tried[i] == idh)
            return 1;
    }
    if (c->ntried < DD_CANDIDATES_MAX)
        c->tried[c->ntried++] = idh;
    return 0;
}

static void consider(struct check *c, const uint32_t *sig, const char *story)
{
    double sim = dd_sig_similarity(c->doc->fp->sig, sig);
    if (sim >= c->d->cfg.threshold && (c->match.kind != DD_NEAR || sim > c->match.sim)) {
        c->match.kind = DD_NEAR;
        c->match.story = story;
        c->match.sim = sim;
    }
}

/* The store's list for a band, read once per check. Borrowed. */
static json_t *bucket_list(struct check *c, int band, uint64_t bh)
{
    if (!c->bucket_read[band]) {
        char key[KEY_MAX];
        key_band(key, band, bh);
        c->buckets[band] = store_get_json(c->d, key);
        c->bucket_read[band] = 1;
    }
    return json_is_array(c->buckets[band]) ? c->buckets[band] : NULL;
}

static void find_near(struct check *c)
{
    struct dd *d = c->d;
    const uint32_t *sig = c->doc->fp->sig;
    const struct dd_entry *hits[DD_BUCKET_MAX];
    for (int b = 0; b < DD_BANDS; b++) {
        uint64_t bh = dd_sig_band(sig, b);
        size_t n = ddx_band(d->ix, b, bh, c->min_t, hits, DD_BUCKET_MAX);
        for (size_t i = 0; i < n; i++) {
            if (!was_tried(c, hits[i]->idh))
                consider(c, hits[i]->sig, hits[i]->story);
        }
    }
    if (!c->use_store)
        return;
    for (int b = 0; b < DD_BANDS; b++) {
        json_t *list = bucket_list(c, b, dd_sig_band(sig, b)), *item;
        size_t i;
        json_array_foreach(list, i, item)
        {
            uint64_t idh;
            if (json_integer_value(json_array_get(item, 1)) < c->min_t ||
                parse_hex64(json_string_value(json_array_get(item, 0)), &idh) != 0 ||
                c->ntried >= DD_CANDIDATES_MAX || was_tried(c, idh))
                continue;
            const struct dd_entry *e = ddx_by_id(d->ix, idh, c->min_t);
            if (e) {
                if (e->has_sig)
                    consider(c, e->sig, e->story);
                continue;
            }
            char key[KEY_MAX];
            uint32_t other[DD_SIG];
            key_hex(key, "i", idh);
            json_t *rec = store_get_json(d, key);
            if (record_live(rec, c->min_t) &&
                sig_from_json(json_object_get(rec, "sig"), other) == 0) {
                keep_record(c, rec);
                consider(c, other, json_string_value(json_object_get(rec, "story")));
            } else {
                json_decref(rec);
            }
        }
    }
}

/* Exact lookups (by URL key or by text hash): memory first, then the store
 * when it may know more. */
static const char *find_exact(struct check *c, int by_url, uint64_t h)
{
    const struct dd_entry *e =
        by_url ? ddx_by_url(c->d->ix, h, c->min_t) : ddx_by_text(c->d->ix, h, c->min_t);
    if (e)
        return e->story;
    if (!c->use_store)
        return NULL;
    char key[KEY_MAX];
    key_hex(key, by_url ? "u" : "t", h);
    json_t *rec = store_get_json(c->d, key);
    if (!record_live(rec, c->min_t)) {
        json_decref(rec);
        return NULL;
    }
    keep_record(c, rec);
    return json_string_value(json_object_get(rec, "story"));
}

static int find_repeat(struct check *c, struct dd_result *res)
{
    const struct dd_entry *e = ddx_by_id(c->d->ix, c->idh, c->min_t);
    const char *story = NULL;
    if (e) {
        story = e->story;
        res->kind = e->kind;
        res->similarity = e->sim;
    } else if (c->use_store) {
        char key[KEY_MAX];
        key_hex(key, "i", c->idh);
        json_t *rec = store_get_json(c->d, key);
        if (record_live(rec, c->min_t)) {
            keep_record(c, rec);
            story = json_string_value(json_object_get(rec, "story"));
            res->kind = kind_from_name(json_string_value(json_object_get(rec, "kind")));
            json_t *sim = json_object_get(rec, "sim");
            res->similarity = json_is_number(sim) ? json_number_value(sim) : -1;
        } else {
            json_decref(rec);
        }
    }
    if (!story)
        return 0;
    res->repeat = 1;
    res->story = strdup(story);
    return res->story ? 1 : -1;
}

static json_t *bucket_item(uint64_t idh, int64_t t)
{
    char hex[17];
    hash_hex64(idh, hex);
    return json_pack("[s, I]", hex, (json_int_t)t);
}

/* Write the band buckets of the new entry: from the store's lists when the
 * store may hold entries memory lacks, from memory otherwise. */
static void write_buckets(struct check *c, const struct dd_entry *e)
{
    struct dd *d = c->d;
    for (int b = 0; b < DD_BANDS; b++) {
        uint64_t bh = dd_sig_band(e->sig, b);
        json_t *out = json_array();
        if (c->use_store) {
            json_t *list = bucket_list(c, b, bh), *item;
            size_t i, n = json_array_size(list), skip = 0;
            /* Keep the newest DD_BUCKET_MAX - 1 live items, then ours. */
            size_t live = 0;
            json_array_foreach(list, i, item) live +=
                json_integer_value(json_array_get(item, 1)) >= c->min_t;
            if (live >= DD_BUCKET_MAX)
                skip = live - (DD_BUCKET_MAX - 1);
            for (i = 0; i < n; i++) {
                item = json_array_get(list, i);
                if (json_integer_value(json_array_get(item, 1)) < c->min_t)
                    continue;
                if (skip) {
                    skip--;
                    continue;
                }
                json_array_append(out, item);
            }
            json_array_append_new(out, bucket_item(e->idh, e->t));
        } else {
            const struct dd_entry *hits[DD_BUCKET_MAX];
            size_t n = ddx_band(d->ix, b, bh, c->min_t, hits, DD_BUCKET_MAX);
            /* ddx_band is newest first; the store list is oldest first. */
            for (size_t i = n; i-- > 0;)
                json_array_append_new(out, bucket_item(hits[i]->idh, hits[i]->t));
        }
        char key[KEY_MAX];
        key_band(key, b, bh);
        store_put_json(d, key, out);
    }
}

static void write_store(struct check *c, const struct dd_entry *e)
{
    struct dd *d = c->d;
    char key[KEY_MAX];
    json_t *rec = json_pack("{s:s, s:s, s:s, s:I}", "id", e->id, "story", e->story, "kind",
                            kind_names[e->kind], "t", (json_int_t)e->t);
    if (rec && e->kind >= DD_TEXT)
        json_object_set_new(rec, "sim", json_real(e->sim));
    if (rec && e->has_sig)
        json_object_set_new(rec, "sig", sig_to_json(e->sig));
    key_hex(key, "i", e->idh);
    store_put_json(d, key, rec);
    for (int i = 0; i < 2; i++) {
        if (!e->url_h[i])
            continue;
        key_hex(key, "u", e->url_h[i]);
        store_put_json(
            d, key,
            json_pack("{s:s, s:s, s:I}", "id", e->id, "story", e->story, "t", (json_int_t)e->t));
    }
    if (e->text_h) {
        key_hex(key, "t", e->text_h);
        store_put_json(
            d, key,
            json_pack("{s:s, s:s, s:I}", "id", e->id, "story", e->story, "t", (json_int_t)e->t));
    }
    if (e->has_sig)
        write_buckets(c, e);
    store_put_json(d, DD_STATE_VERSION ":epoch", json_pack("{s:I}", "t", (json_int_t)e->t));
}

static int check_locked(struct check *c, struct dd_result *res, struct vigil_error *err)
{
    struct dd *d = c->d;
    const struct dd_doc *doc = c->doc;
    const struct dd_fp *fp = doc->fp;

    int r = find_repeat(c, res);
    if (r != 0)
        return r > 0 ? VIGIL_OK : vigil_error_set(err, VIGIL_ENOMEM, "out of memory");

    for (int i = 0; i < 2; i++) {
        if (!doc->url_keys[i] || (i == 1 && doc->url_keys[1] == doc->url_keys[0]))
            continue;
        const char *story = find_exact(c, 1, doc->url_keys[i]);
        if (story) {
            c->url_seen[i] = 1;
            if (c->match.kind == DD_FIRST) {
                c->match.kind = DD_URL;
                c->match.story = story;
            }
        }
    }
    if (fp && fp->text_h) {
        const char *story = find_exact(c, 0, fp->text_h);
        if (story) {
            c->text_seen = 1;
            if (c->match.kind == DD_FIRST) {
                c->match.kind = DD_TEXT;
                c->match.story = story;
                c->match.sim = 1;
            }
        }
    }
    if (c->match.kind == DD_FIRST && d->cfg.near && fp && fp->has_sig)
        find_near(c);

    /* Record the document under the story it joins (or its own). */
    struct dd_entry e;
    memset(&e, 0, sizeof e);
    e.idh = c->idh;
    e.t = c->now;
    e.kind = c->match.kind;
    e.sim = c->match.kind >= DD_TEXT ? c->match.sim : -1;
    for (int i = 0; i < 2; i++) {
        if (doc->url_keys[i] && !c->url_seen[i] && (i == 0 || doc->url_keys[1] != doc->url_keys[0]))
            e.url_h[i] = doc->url_keys[i];
    }
    if (fp && fp->text_h && !c->text_seen)
        e.text_h = fp->text_h;
    /* The same text adds nothing to near matching: its signature is the
     * same as the one already indexed. */
    if (fp && fp->has_sig && !c->text_seen) {
        e.has_sig = 1;
        memcpy(e.sig, fp->sig, sizeof e.sig);
    }
    e.id = strdup(doc->id);
    e.story = strdup(c->match.kind == DD_FIRST ? doc->id : c->match.story);
    res->story = e.story ? strdup(e.story) : NULL;
    if (!e.id || !e.story || !res->story) {
        free(e.id);
        free(e.story);
        free(res->story);
        res->story = NULL;
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    res->kind = e.kind;
    res->similarity = e.sim;

    int64_t evicted_t;
    ddx_insert(d->ix, &e, &evicted_t);
    if (evicted_t != INT64_MIN) {
        d->st.evictions++;
        /* The evicted entry stays findable in the store until it leaves the
         * window: read the store until then. */
        if (d->store && evicted_t + d->cfg.window_ms > d->store_until)
            d->store_until = evicted_t + d->cfg.window_ms;
    }
    if (d->store) {
        const struct dd_entry *mine = ddx_by_id(d->ix, c->idh, c->min_t);
        if (mine)
            write_store(c, mine);
    }
    return VIGIL_OK;
}

int dd_check(struct dd *d, const struct dd_doc *doc, int64_t now_ms, struct dd_result *res,
             struct vigil_error *err)
{
    memset(res, 0, sizeof *res);
    res->similarity = -1;
    if (!doc->id || !doc->id[0])
        return vigil_error_set(err, VIGIL_EINVAL, "document has no id");

    struct check c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.doc = doc;
    c.now = now_ms;
    c.min_t = now_ms - d->cfg.window_ms;
    c.idh = hash_fnv64(doc->id, strlen(doc->id));
    c.keep = json_array();
    if (!c.keep)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");

    pthread_mutex_lock(&d->mu);
    d->st.checked++;
    ddx_expire(d->ix, c.min_t);
    c.use_store = d->store && now_ms < d->store_until;
    int rc = check_locked(&c, res, err);
    pthread_mutex_unlock(&d->mu);

    for (int b = 0; b < DD_BANDS; b++)
        json_decref(c.buckets[b]);
    json_decref(c.keep);
    return rc;
}
