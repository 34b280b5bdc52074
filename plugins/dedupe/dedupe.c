#include "dedupe.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "index.h"
#include "units.h"

#define KEY_MAX 64

struct dd {
    struct dd_config cfg;
    const struct dd_store *store; /* NULL: memory only */
    pthread_mutex_t mu;
    struct dd_index *ix;
    int64_t store_until;
    struct dd_stats st;
    /* the journal chunk being filled: its number and its ids */
    uint64_t jseq;
    uint64_t jids[DD_JOURNAL_CHUNK];
    size_t jn;
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

static void store_put_json_ttl(struct dd *d, const char *key, json_t *j, int64_t ttl_ms)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        store_failed(d, "write", key, VIGIL_ENOMEM);
        return;
    }
    d->st.store_writes++;
    int rc = d->store->put(d->store->arg, key, s, strlen(s), ttl_ms);
    free(s);
    if (rc != VIGIL_OK)
        store_failed(d, "write", key, rc);
}

/* Records live for one window. */
static void store_put_json(struct dd *d, const char *key, json_t *j)
{
    store_put_json_ttl(d, key, j, d->cfg.window_ms);
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

/* --- entries as records ------------------------------------------------ */

static json_t *hex_json(uint64_t h)
{
    char hex[17];
    hash_hex64(h, hex);
    return json_string(hex);
}

/* The v1:i record of an entry: everything needed to answer a repeat and
 * to rebuild the entry after a restart. */
static json_t *entry_record(const struct dd_entry *e)
{
    json_t *rec = json_pack("{s:s, s:s, s:s, s:I}", "id", e->id, "story", e->story, "kind",
                            kind_names[e->kind], "t", (json_int_t)e->t);
    if (!rec)
        return NULL;
    if (e->kind >= DD_TEXT)
        json_object_set_new(rec, "sim", json_real(e->sim));
    if (e->url_h[0] || e->url_h[1]) {
        json_t *u = json_array();
        for (int i = 0; i < 2; i++)
            json_array_append_new(u, e->url_h[i] ? hex_json(e->url_h[i]) : json_null());
        json_object_set_new(rec, "u", u);
    }
    if (e->text_h)
        json_object_set_new(rec, "th", hex_json(e->text_h));
    if (e->has_sig)
        json_object_set_new(rec, "sig", sig_to_json(e->sig));
    return rec;
}

/* Rebuild an entry from its record; 0 or -1 (malformed). Allocates id and
 * story. */
static int entry_from_record(const json_t *rec, struct dd_entry *e)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const char *story = json_string_value(json_object_get(rec, "story"));
    memset(e, 0, sizeof *e);
    if (!id || !story || !json_is_integer(json_object_get(rec, "t")))
        return -1;
    e->idh = hash_fnv64(id, strlen(id));
    e->t = json_integer_value(json_object_get(rec, "t"));
    e->kind = kind_from_name(json_string_value(json_object_get(rec, "kind")));
    json_t *sim = json_object_get(rec, "sim");
    e->sim = json_is_number(sim) ? json_number_value(sim) : -1;
    json_t *u = json_object_get(rec, "u");
    for (int i = 0; i < 2; i++) {
        const char *h = json_string_value(json_array_get(u, (size_t)i));
        if (h && parse_hex64(h, &e->url_h[i]) != 0)
            return -1;
    }
    const char *th = json_string_value(json_object_get(rec, "th"));
    if (th && parse_hex64(th, &e->text_h) != 0)
        return -1;
    json_t *sig = json_object_get(rec, "sig");
    if (sig) {
        if (sig_from_json(sig, e->sig) != 0)
            return -1;
        e->has_sig = 1;
    }
    e->id = strdup(id);
    e->story = strdup(story);
    if (!e->id || !e->story) {
        free(e->id);
        free(e->story);
        return -1;
    }
    return 0;
}

/* --- the journal -------------------------------------------------------- */

static void key_journal(char *out, uint64_t seq)
{
    snprintf(out, KEY_MAX, DD_STATE_VERSION ":j:%llu", (unsigned long long)seq);
}

/* Record that entry idh was added: rewrite the current chunk, and the head
 * when a chunk starts. */
static void journal_append(struct dd *d, uint64_t idh)
{
    char key[KEY_MAX];
    if (d->jn == DD_JOURNAL_CHUNK) {
        d->jseq++;
        d->jn = 0;
    }
    d->jids[d->jn++] = idh;
    json_t *list = json_array();
    for (size_t i = 0; i < d->jn; i++)
        json_array_append_new(list, hex_json(d->jids[i]));
    key_journal(key, d->jseq);
    store_put_json(d, key, list);
    /* The head never expires (one small row): a quiet pipeline may fill one
     * chunk for longer than a window. A head naming an expired chunk
     * simply means "nothing live". */
    if (d->jn == 1)
        store_put_json_ttl(d, DD_STATE_VERSION ":jhead",
                           json_pack("{s:I}", "seq", (json_int_t)d->jseq), 0);
}

/*
 * After a restart: walk the journal from its newest chunk back, collect at
 * most max_entries ids, and rebuild those entries (oldest first) from
 * their records. When the walk stopped at max_entries rather than at the
 * end of the live journal, older documents are only in the store: read it
 * for one window. Returns VIGIL_OK, or the store's error when the store
 * cannot be read at all.
 */
static int journal_load(struct dd *d, int64_t now)
{
    char key[KEY_MAX], *val = NULL;
    size_t len = 0, cap = ddx_capacity(d->ix), n = 0;
    int64_t min_t = now - d->cfg.window_ms;
    int rc = d->store->get(d->store->arg, DD_STATE_VERSION ":jhead", &val, &len);
    if (rc == VIGIL_ENOTFOUND)
        return VIGIL_OK; /* nothing live from earlier runs */
    if (rc != VIGIL_OK)
        return rc;
    json_t *head = json_loadb(val, len, 0, NULL);
    free(val);
    json_int_t seq = json_integer_value(json_object_get(head, "seq"));
    json_decref(head);
    d->jseq = (uint64_t)seq;
    d->jn = 0;

    uint64_t *ids = malloc(cap * sizeof *ids);
    if (!ids)
        return VIGIL_ENOMEM;
    int truncated = 0;
    for (json_int_t s = seq; s >= 0 && !truncated; s--) {
        key_journal(key, (uint64_t)s);
        json_t *list = store_get_json(d, key);
        if (!json_is_array(list)) {
            json_decref(list);
            break; /* expired: so is everything older */
        }
        size_t m = json_array_size(list);
        if (s == seq) { /* appends continue in this chunk */
            for (size_t i = 0; i < m && i < DD_JOURNAL_CHUNK; i++)
                if (parse_hex64(json_string_value(json_array_get(list, i)), &d->jids[d->jn]) == 0)
                    d->jn++;
        }
        for (size_t i = m; i-- > 0;) {
            if (n == cap) {
                truncated = 1;
                break;
            }
            if (parse_hex64(json_string_value(json_array_get(list, i)), &ids[n]) == 0)
                n++;
        }
        json_decref(list);
    }
    if (d->jn == 0 && seq >= 0) /* the head chunk had expired */
        d->jseq = (uint64_t)seq + 1;
    for (size_t i = n; i-- > 0;) {
        struct dd_entry e;
        int64_t evicted;
        key_hex(key, "i", ids[i]);
        json_t *rec = store_get_json(d, key);
        if (record_live(rec, min_t) && entry_from_record(rec, &e) == 0) {
            ddx_insert(d->ix, &e, &evicted);
            d->st.loaded++;
        }
        json_decref(rec);
    }
    free(ids);
    if (truncated)
        d->store_until = now + d->cfg.window_ms;
    if (d->st.loaded) {
        char win[32];
        units_format_duration(d->cfg.window_ms, win, sizeof win);
        store_log(d, VIGIL_LOG_INFO, "%llu documents of the last %s rebuilt from the state store%s",
                  (unsigned long long)d->st.loaded, win,
                  truncated ? "; older ones are looked up in the store" : "");
    }
    return VIGIL_OK;
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
        d->store = store;
        rc = journal_load(d, now_ms);
        if (rc == VIGIL_OK) {
            d->st.store_ok = 1;
        } else {
            store_log(d, VIGIL_LOG_WARN,
                      "state store unavailable (%s): duplicates are remembered in memory only, "
                      "and only until the process exits",
                      vigil_strerror(rc));
            d->store = NULL;
        }
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
    json_t *keep; /* records whose strings match.story borrows */
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

static void find_near(struct check *c)
{
    struct dd *d = c->d;
    const uint32_t *sig = c->doc->fp->sig;
    const struct dd_entry *hits[DD_BAND_HITS_MAX];
    for (int b = 0; b < DD_BANDS; b++) {
        uint64_t bh = dd_sig_band(sig, b);
        size_t n = ddx_band(d->ix, b, bh, c->min_t, hits, DD_BAND_HITS_MAX);
        for (size_t i = 0; i < n; i++) {
            if (!was_tried(c, hits[i]->idh))
                consider(c, hits[i]->sig, hits[i]->story);
        }
    }
    if (!c->use_store)
        return;
    /* The store keeps the newest document of each bucket: enough to reach
     * a story (its members share buckets), at one small row per band. */
    for (int b = 0; b < DD_BANDS && c->ntried < DD_CANDIDATES_MAX; b++) {
        char key[KEY_MAX], *val = NULL;
        size_t len = 0;
        uint64_t idh;
        key_band(key, b, dd_sig_band(sig, b));
        d->st.store_reads++;
        int rc = d->store->get(d->store->arg, key, &val, &len);
        if (rc != VIGIL_OK) {
            if (rc != VIGIL_ENOTFOUND)
                store_failed(d, "read", key, rc);
            continue;
        }
        rc = parse_hex64(val, &idh);
        free(val);
        if (rc != 0 || was_tried(c, idh))
            continue;
        const struct dd_entry *e = ddx_by_id(d->ix, idh, c->min_t);
        if (e) {
            if (e->has_sig)
                consider(c, e->sig, e->story);
            continue;
        }
        uint32_t other[DD_SIG];
        key_hex(key, "i", idh);
        json_t *rec = store_get_json(d, key);
        if (record_live(rec, c->min_t) && sig_from_json(json_object_get(rec, "sig"), other) == 0) {
            keep_record(c, rec);
            consider(c, other, json_string_value(json_object_get(rec, "story")));
        } else {
            json_decref(rec);
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

/* An entry leaves memory while still inside the window: from now on the
 * store must answer for it, near matches included, so its band keys are
 * written now (each names the newest document evicted into that bucket). */
static void write_buckets(struct dd *d, const struct dd_entry *e, int64_t now)
{
    char hex[17];
    int64_t ttl = e->t + d->cfg.window_ms - now; /* what is left of its window */
    if (ttl <= 0)
        return;
    hash_hex64(e->idh, hex);
    for (int b = 0; b < DD_BANDS; b++) {
        char key[KEY_MAX];
        key_band(key, b, dd_sig_band(e->sig, b));
        d->st.store_writes++;
        int rc = d->store->put(d->store->arg, key, hex, 16, ttl);
        if (rc != VIGIL_OK)
            store_failed(d, "write", key, rc);
    }
}

/* Everything about a new entry that must outlive memory: its record, its
 * exact keys and its place in the journal. */
static void write_store(struct dd *d, const struct dd_entry *e)
{
    char key[KEY_MAX];
    key_hex(key, "i", e->idh);
    store_put_json(d, key, entry_record(e));
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
    journal_append(d, e->idh);
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

    /* Memory is full: the oldest entry goes. It stays findable in the
     * store until it leaves the window: read the store until then. */
    const struct dd_entry *old = ddx_count(d->ix) == ddx_capacity(d->ix) ? ddx_oldest(d->ix) : NULL;
    if (old && d->store) {
        if (old->has_sig)
            write_buckets(d, old, c->now);
        if (old->t + d->cfg.window_ms > d->store_until)
            d->store_until = old->t + d->cfg.window_ms;
    }
    int64_t evicted_t;
    ddx_insert(d->ix, &e, &evicted_t);
    if (evicted_t != INT64_MIN)
        d->st.evictions++;
    if (d->store) {
        const struct dd_entry *mine = ddx_by_id(d->ix, c->idh, c->min_t);
        if (mine)
            write_store(d, mine);
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

    json_decref(c.keep);
    return rc;
}
