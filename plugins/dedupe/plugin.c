/*
 * dedupe - a transform that groups copies of one story: the same URL, the
 * same text, or nearly the same text (MinHash over word shingles), within
 * a time window. docs/dedupe.md explains the method and the guarantees.
 *
 * Every document gets meta.story (the id of the story's first document);
 * duplicates also get meta.duplicate_of, meta.duplicate_kind and
 * meta.similarity, or are dropped with mode "drop".
 *
 * This file is the adapter between the host and dedupe.c: options, the
 * host's kv store, counters and the document fields.
 */
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "text.h"
#include "url.h"
#include "vigil/plugin.h"

enum { MODE_MARK = 0, MODE_DROP = 1 };

struct dedupe_conf {
    int mode;
    int64_t window_ms;
    int64_t max_entries;
    int near;
    double threshold;
    int64_t min_words;
    struct vigil_strlist strip_params;
    struct vigil_strlist fields;
    int shared;
};

static const char *const mode_choices[] = {"mark", "drop", NULL};

static const struct vigil_option dedupe_options[] = {
    {"mode", VIGIL_OPT_ENUM, "mark", 0, offsetof(struct dedupe_conf, mode), VIGIL_NOBOUNDS,
     mode_choices,
     "mark: keep duplicates and set meta.duplicate_of; drop: drop them (every document gets "
     "meta.story)"},
    {"window", VIGIL_OPT_DURATION, "3d", 0, offsetof(struct dedupe_conf, window_ms), 1000,
     366.0 * 86400000.0, NULL,
     "how long a document is remembered (kept in the state store, survives restarts)"},
    {"max_entries", VIGIL_OPT_INT, "50000", 0, offsetof(struct dedupe_conf, max_entries), 1,
     10000000, NULL,
     "documents kept in memory (about 0.6 KB each); older ones are looked up in the store"},
    {"near", VIGIL_OPT_BOOL, "true", 0, offsetof(struct dedupe_conf, near), VIGIL_NOBOUNDS, NULL,
     "also find near duplicates (same story, edited text); false = exact URL and text only"},
    {"threshold", VIGIL_OPT_DOUBLE, "0.5", 0, offsetof(struct dedupe_conf, threshold), 0.05, 1.0,
     NULL,
     "estimated Jaccard similarity of 4-word shingle sets from which texts are near duplicates"},
    {"min_words", VIGIL_OPT_INT, "50", 0, offsetof(struct dedupe_conf, min_words), 1, 1000000, NULL,
     "texts with fewer words are matched exactly only (by URL and text hash)"},
    {"strip_params", VIGIL_OPT_STRLIST, "[]", 0, offsetof(struct dedupe_conf, strip_params), 0, 256,
     NULL,
     "more URL query parameters to ignore, besides the built-in tracking list ('x_*' = prefix)"},
    {"fields", VIGIL_OPT_STRLIST, "[\"text\"]", 0, offsetof(struct dedupe_conf, fields), 1, 16,
     NULL, "document fields compared as text; when they are empty, title + summary are used"},
    {"shared", VIGIL_OPT_BOOL, "false", 0, offsetof(struct dedupe_conf, shared), VIGIL_NOBOUNDS,
     NULL,
     "also agree on exact duplicates (URL, text) with the other workers of a cluster through the "
     "host's claims (settings.cluster: a JetStream key/value bucket; docs/scale-out.md)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct dedupe {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct dedupe_conf *conf;
    struct dd_url_params url_params;
    struct dd_store store;
    struct dd *dd;
    struct vigil_counter *c_unique, *c_url, *c_text, *c_near, *c_repeat, *c_short, *c_store_err,
        *c_shared;
};

/* --- the host's kv store as a dd_store ---------------------------------- */

static int kv_get(void *arg, const char *key, char **val, size_t *len)
{
    struct dedupe *s = arg;
    int rc = s->host->kv_get(s->ins, key, val, len);
    if (rc != VIGIL_OK && rc != VIGIL_ENOTFOUND)
        s->host->counter_add(s->c_store_err, 1);
    return rc;
}

static int kv_put(void *arg, const char *key, const void *val, size_t len, int64_t ttl_ms)
{
    struct dedupe *s = arg;
    int rc = s->host->kv_put(s->ins, key, val, len, ttl_ms);
    if (rc != VIGIL_OK)
        s->host->counter_add(s->c_store_err, 1);
    return rc;
}

static void kv_log(void *arg, int level, const char *msg)
{
    struct dedupe *s = arg;
    s->host->log(s->ins, level, "%s", msg);
}

/* --- hooks -------------------------------------------------------------- */

static int dedupe_create(const struct vigil_host *host, struct vigil_instance *ins,
                         const void *conf, void **state, struct vigil_error *err)
{
    const struct dedupe_conf *cf = conf;
    struct dedupe *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "dedupe: out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = cf;
    s->url_params.extra = cf->strip_params.v;
    s->url_params.nextra = cf->strip_params.n;
    s->c_unique = host->counter(ins, "unique", "documents that start a story");
    s->c_url = host->counter(ins, "duplicates_url", "duplicates found by URL");
    s->c_text = host->counter(ins, "duplicates_text", "duplicates found by exact text");
    s->c_near = host->counter(ins, "duplicates_near", "near duplicates (edited copies)");
    s->c_repeat = host->counter(ins, "repeats", "documents whose id was seen before");
    s->c_short = host->counter(ins, "short", "texts too short for near matching");
    s->c_store_err = host->counter(ins, "store_errors", "state store reads or writes that failed");
    s->c_shared = host->counter(ins, "duplicates_shared",
                                "duplicates another worker of the cluster saw first (shared)");
    s->store.arg = s;
    s->store.get = kv_get;
    s->store.put = kv_put;
    s->store.log = kv_log;

    struct dd_config dc = {.window_ms = cf->window_ms,
                           .max_entries = (size_t)cf->max_entries,
                           .threshold = cf->threshold,
                           .near = cf->near};
    struct vigil_error e2 = {0};
    int rc = dd_create(&dc, host->kv_get && host->kv_put ? &s->store : NULL, host->now_ms(), &s->dd,
                       &e2);
    if (rc != VIGIL_OK) {
        free(s);
        return vigil_error_set(err, rc, "dedupe: %s", e2.msg);
    }
    *state = s;
    return VIGIL_OK;
}

static void dedupe_destroy(void *state)
{
    struct dedupe *s = state;
    dd_destroy(s->dd);
    free(s);
}

static int dedupe_worker_init(void *state, void **wstate, struct vigil_error *err)
{
    (void)state;
    *wstate = calloc(1, sizeof(struct dd_scratch));
    if (!*wstate)
        return vigil_error_set(err, VIGIL_ENOMEM, "dedupe: out of memory");
    return VIGIL_OK;
}

static void dedupe_worker_fini(void *state, void *wstate)
{
    (void)state;
    if (wstate) {
        dd_scratch_free(wstate);
        free(wstate);
    }
}

/* Normalised form of a (possibly relative) address, or NULL. */
static char *url_norm(struct dedupe *s, const char *base, const char *ref)
{
    char *abs = NULL, *norm = NULL;
    if (!ref || !*ref || dd_url_resolve(base, ref, &abs) != VIGIL_OK)
        return NULL;
    if (dd_url_normalize(abs, &s->url_params, &norm) != VIGIL_OK)
        norm = NULL;
    free(abs);
    return norm;
}

/* URL keys of a document: meta.canonical_url first (it names the article
 * whatever address it was fetched from), then url. A canonical link that
 * points an article at the site's home page is a site-wide template
 * mistake, not identity: it is ignored. */
static void url_keys(struct dedupe *s, json_t *doc, uint64_t keys[2])
{
    const char *url = vigil_doc_str(doc, VIGIL_DOC_URL);
    const char *canon =
        json_string_value(json_object_get(json_object_get(doc, VIGIL_DOC_META), "canonical_url"));
    char *nu = url_norm(s, NULL, url);
    char *nc = url_norm(s, nu, canon);
    size_t n = 0;
    keys[0] = keys[1] = 0;
    if (nc && !(nu && strcmp(dd_url_path(nc), "/") == 0 && strcmp(dd_url_path(nu), "/") != 0))
        keys[n++] = dd_url_key(nc);
    if (nu && (n == 0 || dd_url_key(nu) != keys[0]))
        keys[n++] = dd_url_key(nu);
    free(nu);
    free(nc);
}

static int fingerprint(struct dedupe *s, struct dd_scratch *scr, const json_t *doc,
                       struct dd_fp *fp)
{
    const struct vigil_strlist *fl = &s->conf->fields;
    const char *parts[16];
    size_t n = 0;
    for (size_t i = 0; i < fl->n && n < 16; i++)
        parts[n++] = vigil_doc_str(doc, fl->v[i]);
    int rc = dd_text_fingerprint(scr, parts, n, (size_t)s->conf->min_words, fp);
    if (rc == VIGIL_OK && fp->words == 0) {
        const char *alt[2] = {vigil_doc_str(doc, VIGIL_DOC_TITLE),
                              vigil_doc_str(doc, VIGIL_DOC_SUMMARY)};
        rc = dd_text_fingerprint(scr, alt, 2, (size_t)s->conf->min_words, fp);
    }
    return rc;
}

static int annotate(json_t *doc, const struct dd_result *r)
{
    json_t *meta = vigil_doc_meta(doc);
    if (!meta || json_object_set_new(meta, "story", json_string(r->story)) != 0)
        return -1;
    if (r->kind == DD_FIRST) {
        /* ours to clear: a document re-read from an earlier run's output */
        json_object_del(meta, "duplicate_of");
        json_object_del(meta, "duplicate_kind");
        json_object_del(meta, "similarity");
        return 0;
    }
    if (json_object_set_new(meta, "duplicate_of", json_string(r->story)) != 0 ||
        json_object_set_new(meta, "duplicate_kind", json_string(dd_kind_name(r->kind))) != 0)
        return -1;
    if (r->similarity >= 0) {
        /* three decimals: the estimate is not more precise than that */
        double sim = (double)(int64_t)(r->similarity * 1000 + 0.5) / 1000;
        if (json_object_set_new(meta, "similarity", json_real(sim)) != 0)
            return -1;
    } else {
        json_object_del(meta, "similarity");
    }
    return 0;
}

/*
 * "shared": a document new to this worker may be known to another worker
 * of the cluster. Its exact keys (URL keys, text hash) are claimed for the
 * window with the document id as owner; a key another document holds makes
 * this one a duplicate of that document's story (URL before text, as
 * locally). Near duplicates stay per worker: signatures are not shared.
 * A claim that fails (cluster unreachable) fails the document, so it is
 * retried rather than let through as a false "first".
 */
static int shared_check(struct dedupe *s, const struct dd_doc *d, struct dd_result *res,
                        struct vigil_error *err)
{
    if (!s->host->claim_owned)
        return VIGIL_OK;
    uint64_t keys[3] = {d->url_keys[0], d->url_keys[1], d->fp ? d->fp->text_h : 0};
    const char prefix[3] = {'u', 'u', 't'};
    for (int i = 0; i < 3; i++) {
        if (!keys[i])
            continue;
        char key[40], holder[256] = "";
        snprintf(key, sizeof key, "%c:%016llx", prefix[i], (unsigned long long)keys[i]);
        int rc = s->host->claim_owned(s->ins, key, d->id, s->conf->window_ms, holder,
                                      sizeof holder);
        if (rc == VIGIL_OK)
            continue;
        if (rc != VIGIL_EEXIST)
            return vigil_error_set(err, rc, "dedupe: shared claim of %s failed: %s", key,
                                   vigil_strerror(rc));
        if (!holder[0])
            continue; /* held anonymously: not a story we can name */
        char *story = strdup(holder);
        if (!story)
            return vigil_error_set(err, VIGIL_ENOMEM, "dedupe: out of memory");
        free(res->story);
        res->story = story;
        res->kind = prefix[i] == 'u' ? DD_URL : DD_TEXT;
        res->similarity = prefix[i] == 'u' ? -1 : 1;
        s->host->counter_add(s->c_shared, 1);
        return VIGIL_OK;
    }
    return VIGIL_OK;
}

static int dedupe_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    struct dedupe *s = state;
    struct dd_scratch local = {0}, *scr = wstate ? wstate : &local;
    struct dd_fp fp;
    struct dd_result res;
    const char *id = vigil_doc_str(doc, VIGIL_DOC_ID);
    if (!id || !*id)
        return vigil_error_set(err, VIGIL_EINVAL, "dedupe: document has no id");

    struct dd_doc d = {.id = id};
    url_keys(s, doc, d.url_keys);

    int rc = fingerprint(s, scr, doc, &fp);
    if (scr == &local)
        dd_scratch_free(&local);
    if (rc == VIGIL_ETOOBIG)
        return vigil_error_set(err, rc,
                               "dedupe: cannot fingerprint the text: a paragraph longer than "
                               "%u MB",
                               DD_TEXT_MAX >> 20);
    if (rc != VIGIL_OK)
        return vigil_error_set(err, rc, "dedupe: cannot fingerprint the text: %s",
                               vigil_strerror(rc));
    d.fp = fp.words ? &fp : NULL;
    if (s->conf->near && fp.words && !fp.has_sig)
        s->host->counter_add(s->c_short, 1);

    if ((rc = dd_check(s->dd, &d, s->host->now_ms(), &res, err)) != VIGIL_OK)
        return rc;
    if (s->conf->shared && res.kind == DD_FIRST && !res.repeat &&
        (rc = shared_check(s, &d, &res, err)) != VIGIL_OK) {
        dd_result_free(&res);
        return rc;
    }
    if (annotate(doc, &res) != 0) {
        dd_result_free(&res);
        return vigil_error_set(err, VIGIL_ENOMEM, "dedupe: out of memory");
    }
    struct vigil_counter *c = res.repeat            ? s->c_repeat
                              : res.kind == DD_URL  ? s->c_url
                              : res.kind == DD_TEXT ? s->c_text
                              : res.kind == DD_NEAR ? s->c_near
                                                    : s->c_unique;
    s->host->counter_add(c, 1);
    int dup = res.kind != DD_FIRST;
    dd_result_free(&res);
    return dup && s->conf->mode == MODE_DROP ? VIGIL_DROP : VIGIL_PASS;
}

static const struct vigil_plugin dedupe_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "dedupe",
    .version = "1.0.0",
    .description = "group copies of a story (same URL, same or nearly the same text) in a window",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = dedupe_options,
    .conf_size = sizeof(struct dedupe_conf),
    .create = dedupe_create,
    .destroy = dedupe_destroy,
    .process = dedupe_process,
    .worker_init = dedupe_worker_init,
    .worker_fini = dedupe_worker_fini,
};

VIGIL_PLUGIN_EXPORT(dedupe_plugin)
