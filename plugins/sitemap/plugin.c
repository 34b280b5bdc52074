/*
 * The `sitemap` source: news sitemaps (and plain ones, and indexes) over
 * the shared HTTP client, one document per article URL for the `page`
 * transform to fetch. Fetching, politeness and state are the feed
 * source's engine (poll.c).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "datetime.h"
#include "poll.h"
#include "sitemap.h"
#include "vigil/plugin.h"

struct sitemap_conf {
    struct vigil_strlist urls;
    struct vigil_strlist paths;
    int64_t max_age;
    int64_t max_urls;
    int64_t max_depth;
    int64_t max_sitemaps;
    int64_t seen_ttl;
    int64_t startup_jitter;
    int64_t backoff_base;
    int64_t backoff_cap;
    int64_t retry_after_max;
    int adaptive;
    int64_t min_interval;
    int64_t max_interval;
    int emit_updates;
    uint64_t max_body;
    int64_t timeout;
    int64_t max_inflight;
    int64_t max_queue;
};

#define DAY_MS (24.0 * 3600 * 1000)

static const struct vigil_option sitemap_options[] = {
    {"urls", VIGIL_OPT_STRLIST, NULL, 0, offsetof(struct sitemap_conf, urls), VIGIL_NOBOUNDS, NULL,
     "Sitemap or sitemap index URLs (http or https)."},
    {"paths", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_PATH, offsetof(struct sitemap_conf, paths),
     VIGIL_NOBOUNDS, NULL, "Local sitemap files, directories or glob patterns."},
    {"max_age", VIGIL_OPT_DURATION, "2d", 0, offsetof(struct sitemap_conf, max_age), 0,
     3650 * DAY_MS, NULL,
     "Skip URLs (and index entries) dated longer ago than this (0 = no limit)."},
    {"max_urls", VIGIL_OPT_INT, "1000", 0, offsetof(struct sitemap_conf, max_urls), 1, 50000, NULL,
     "URLs taken from one sitemap per pass."},
    {"max_depth", VIGIL_OPT_INT, "2", 0, offsetof(struct sitemap_conf, max_depth), 0, 5, NULL,
     "Levels of sitemap indexes followed below a configured URL."},
    {"max_sitemaps", VIGIL_OPT_INT, "100", 0, offsetof(struct sitemap_conf, max_sitemaps), 0, 10000,
     NULL, "Child sitemaps fetched per pass, all indexes together."},
    {"seen_ttl", VIGIL_OPT_DURATION, "30d", 0, offsetof(struct sitemap_conf, seen_ttl), 60000,
     3650 * DAY_MS, NULL, "How long an emitted URL is remembered (kept alive while listed)."},
    {"startup_jitter", VIGIL_OPT_DURATION, "1m", 0, offsetof(struct sitemap_conf, startup_jitter),
     0, DAY_MS, NULL, "Spread the first fetch of each sitemap over [0, this] (not with --once)."},
    {"backoff_base", VIGIL_OPT_DURATION, "1m", 0, offsetof(struct sitemap_conf, backoff_base), 1000,
     DAY_MS, NULL, "First backoff window after a failure; doubles per failure."},
    {"backoff_cap", VIGIL_OPT_DURATION, "6h", 0, offsetof(struct sitemap_conf, backoff_cap), 1000,
     30 * DAY_MS, NULL, "Largest backoff window."},
    {"retry_after_max", VIGIL_OPT_DURATION, "1d", 0, offsetof(struct sitemap_conf, retry_after_max),
     1000, 30 * DAY_MS, NULL, "Longest Retry-After (429/503) honoured."},
    {"adaptive", VIGIL_OPT_BOOL, "false", 0, offsetof(struct sitemap_conf, adaptive),
     VIGIL_NOBOUNDS, NULL, "Poll busy sitemaps more often and quiet ones less."},
    {"min_interval", VIGIL_OPT_DURATION, "5m", 0, offsetof(struct sitemap_conf, min_interval), 1000,
     30 * DAY_MS, NULL, "Adaptive: shortest interval between fetches."},
    {"max_interval", VIGIL_OPT_DURATION, "6h", 0, offsetof(struct sitemap_conf, max_interval), 1000,
     30 * DAY_MS, NULL, "Adaptive: longest interval between fetches."},
    {"emit_updates", VIGIL_OPT_BOOL, "true", 0, offsetof(struct sitemap_conf, emit_updates),
     VIGIL_NOBOUNDS, NULL,
     "Emit a URL again (meta.update = true) when a sitemap shows a later lastmod."},
    {"max_body", VIGIL_OPT_SIZE, "50MB", 0, offsetof(struct sitemap_conf, max_body), 1024,
     1024.0 * 1024 * 1024, NULL, "Largest sitemap accepted, after gunzip."},
    {"timeout", VIGIL_OPT_DURATION, "60s", 0, offsetof(struct sitemap_conf, timeout), 100, 600000,
     NULL, "Time limit of one fetch."},
    {"max_inflight", VIGIL_OPT_INT, "8", 0, offsetof(struct sitemap_conf, max_inflight), 1, 10000,
     NULL, "Sitemaps fetched at the same time by this source."},
    {"max_queue", VIGIL_OPT_INT, "20000", 0, offsetof(struct sitemap_conf, max_queue), 1, 1000000,
     NULL, "URLs held in memory while the pipeline is paused."},
    {0}};

struct sitemap_src {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct sitemap_conf *conf;
    struct feed_poll *poll;
};

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static void set_time(json_t *o, const char *k, int64_t ms)
{
    char iso[32];
    if (ms == SITEMAP_NO_TIME)
        return;
    datetime_format_iso(ms, iso, sizeof iso);
    set_str(o, k, iso);
}

/* The version of an entry: its latest date. A URL is re-emitted only when
 * a sitemap shows a later one (a new lastmod after an edit), never because
 * two sitemaps describe it differently. */
static int64_t version(const struct sitemap_url *u)
{
    int64_t v = 0;
    if (u->lastmod != SITEMAP_NO_TIME && u->lastmod > v)
        v = u->lastmod;
    if (u->news_published != SITEMAP_NO_TIME && u->news_published > v)
        v = u->news_published;
    return v;
}

/* "en-GB" -> "en"; NULL when it does not look like a language tag. */
static void primary_lang(const char *tag, char out[4])
{
    out[0] = '\0';
    if (!tag)
        return;
    size_t n = 0;
    while (n < 3 && isalpha((unsigned char)tag[n]))
        n++;
    if (n < 2 || (tag[n] && tag[n] != '-' && tag[n] != '_'))
        return;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)tag[i]);
    out[n] = '\0';
}

static json_t *url_doc(const struct sitemap_url *u, const char *sitemap_url, const char *id,
                       int update)
{
    json_t *doc = json_object(), *meta = json_object(), *sm = json_object();
    char lang[4];
    if (!doc || !meta || !sm) {
        json_decref(doc);
        json_decref(meta);
        json_decref(sm);
        return NULL;
    }
    set_str(doc, "id", id);
    set_str(doc, "url", u->loc);
    set_str(doc, "title", u->news_title);
    set_time(doc, "published",
             u->news_published != SITEMAP_NO_TIME ? u->news_published : u->lastmod);
    primary_lang(u->news_lang, lang);
    set_str(doc, "lang", lang);
    set_str(sm, "url", sitemap_url);
    set_str(sm, "publication", u->news_name);
    json_object_set_new(meta, "sitemap", sm);
    if (u->n_keywords) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < u->n_keywords; i++)
            json_array_append_new(a, json_string(u->keywords[i]));
        json_object_set_new(meta, "keywords", a);
    }
    set_time(meta, "modified", u->lastmod);
    set_str(meta, "lang_declared", u->news_lang);
    if (update)
        json_object_set_new(meta, "update", json_true());
    json_object_set_new(doc, "meta", meta);
    return doc;
}

static int parse_body(void *ud, struct feed_poll *p, struct feed_target *t, const char *body,
                      size_t len, const char *content_type, const char *base_url,
                      struct vigil_error *err)
{
    struct sitemap_src *s = ud;
    const struct sitemap_conf *c = s->conf;
    const char *sm_url = feed_poll_target_url(t);
    int64_t now = s->host->now_ms();
    int64_t oldest = c->max_age > 0 ? now - c->max_age : INT64_MIN;
    struct sitemap_parse_opts o = {0};
    struct sitemap *sm;

    o.url = base_url;
    o.content_type = content_type;
    o.max_decoded = c->max_body;
    o.now_ms = now;
    int rc = sitemap_parse(body, len, &o, &sm, err);
    if (rc != 0)
        return rc;
    if (sm->warning[0])
        s->host->log(s->ins, VIGIL_LOG_DEBUG, "sitemap %s: %s", sm_url, sm->warning);

    if (sm->kind == SITEMAP_INDEX) {
        size_t followed = 0;
        for (size_t i = 0; i < sm->n_refs; i++) {
            const struct sitemap_ref *r = &sm->refs[i];
            if (r->lastmod != SITEMAP_NO_TIME && r->lastmod < oldest)
                continue; /* unchanged for longer than max_age: only old URLs */
            if (feed_poll_add_child(p, t, r->loc) == 0)
                followed++;
        }
        s->host->log(s->ins, VIGIL_LOG_DEBUG, "sitemap %s: index of %zu, %zu followed", sm_url,
                     sm->n_refs_seen, followed);
        sitemap_free(sm);
        return 0;
    }

    size_t taken = 0;
    int64_t *times = c->adaptive ? calloc(sm->n_urls + 1, sizeof *times) : NULL;
    size_t nt = 0;
    for (size_t i = 0; i < sm->n_urls && taken < (size_t)c->max_urls; i++) {
        const struct sitemap_url *u = &sm->urls[i];
        int64_t when = u->news_published != SITEMAP_NO_TIME ? u->news_published : u->lastmod;
        if (when != SITEMAP_NO_TIME && when < oldest)
            continue;
        if (times && when != SITEMAP_NO_TIME)
            times[nt++] = when;
        taken++;
        struct feed_seen seen;
        /* Scoped by nothing: one article listed in two sitemaps is one
         * document. */
        feed_poll_seen_newer(p, t, "", u->loc, version(u), &seen);
        if (seen.verdict == FEED_SEEN_SAME)
            continue;
        json_t *doc = url_doc(u, sm_url, seen.id, seen.verdict == FEED_SEEN_UPDATED);
        if (!doc) {
            free(times);
            sitemap_free(sm);
            return vigil_error_set(err, VIGIL_ENOMEM, "out of memory building documents");
        }
        feed_poll_queue(p, t, doc, &seen);
    }
    if (times) {
        feed_poll_observe(p, t, times, nt);
        free(times);
    }
    sitemap_free(sm);
    return 0;
}

static int is_http_url(const char *u)
{
    return (strncasecmp(u, "http://", 7) == 0 && u[7]) ||
           (strncasecmp(u, "https://", 8) == 0 && u[8]);
}

static int sitemap_create(const struct vigil_host *host, struct vigil_instance *ins,
                          const void *conf, void **state, struct vigil_error *err)
{
    const struct sitemap_conf *c = conf;
    if (c->urls.n == 0 && c->paths.n == 0)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "sitemap: options urls and paths are both empty: nothing to poll");
    for (size_t i = 0; i < c->urls.n; i++) {
        if (!is_http_url(c->urls.v[i]))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "sitemap: option urls: \"%s\" is not an http:// or https:// URL",
                                   c->urls.v[i]);
    }
    if (c->backoff_base > c->backoff_cap)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "sitemap: option backoff_base is larger than backoff_cap");
    if (c->min_interval > c->max_interval)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "sitemap: option min_interval is larger than max_interval");
    struct sitemap_src *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "sitemap: out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = c;
    xmlInitParser();
    struct feed_poll_conf pc = {
        .kind = "sitemap",
        .seen_ttl_ms = c->seen_ttl,
        .startup_jitter_ms = c->startup_jitter,
        .backoff_base_ms = c->backoff_base,
        .backoff_cap_ms = c->backoff_cap,
        .retry_after_max_ms = c->retry_after_max,
        .adaptive = c->adaptive,
        .min_interval_ms = c->min_interval,
        .max_interval_ms = c->max_interval,
        .emit_updates = c->emit_updates,
        .max_body = c->max_body,
        .timeout_ms = c->timeout,
        .max_inflight = (size_t)c->max_inflight,
        .max_queue = (size_t)c->max_queue,
        .max_depth = (unsigned)c->max_depth,
        .max_children = (size_t)c->max_sitemaps,
        .parse_offloop = 1,
    };
    int rc = feed_poll_create(host, ins, &pc, parse_body, s, &s->poll, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    for (size_t i = 0; i < c->urls.n && rc == 0; i++) {
        rc = feed_poll_add_url(s->poll, c->urls.v[i]);
        if (rc == VIGIL_EEXIST) {
            host->log(ins, VIGIL_LOG_WARN, "sitemap: option urls lists %s twice", c->urls.v[i]);
            rc = 0;
        }
    }
    for (size_t i = 0; i < c->paths.n && rc == 0; i++)
        rc = feed_poll_add_path(s->poll, c->paths.v[i]);
    if (rc != 0) {
        feed_poll_destroy(s->poll);
        free(s);
        return vigil_error_set(err, rc, "sitemap: %s", vigil_strerror(rc));
    }
    *state = s;
    return 0;
}

static int sitemap_start(void *state, struct vigil_error *err)
{
    (void)state;
    (void)err;
    return 0;
}

static int sitemap_collect(void *state, vigil_pass_cb done, void *arg)
{
    return feed_poll_collect(((struct sitemap_src *)state)->poll, done, arg);
}

static void sitemap_pause(void *state)
{
    feed_poll_pause(((struct sitemap_src *)state)->poll);
}

static void sitemap_resume(void *state)
{
    feed_poll_resume(((struct sitemap_src *)state)->poll);
}

static void sitemap_stop(void *state)
{
    feed_poll_stop(((struct sitemap_src *)state)->poll);
}

static void sitemap_destroy(void *state)
{
    struct sitemap_src *s = state;
    if (!s)
        return;
    feed_poll_destroy(s->poll);
    free(s);
}

static const struct vigil_plugin sitemap_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "sitemap",
    .version = "1.0.0",
    .description = "Article URLs from news sitemaps, sitemaps and sitemap indexes",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .options = sitemap_options,
    .conf_size = sizeof(struct sitemap_conf),
    .default_every_ms = 10 * 60 * 1000,
    .create = sitemap_create,
    .start = sitemap_start,
    .stop = sitemap_stop,
    .destroy = sitemap_destroy,
    .collect = sitemap_collect,
    .pause = sitemap_pause,
    .resume = sitemap_resume,
};

VIGIL_PLUGIN_EXPORT(sitemap_plugin)
