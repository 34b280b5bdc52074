/*
 * The `feed` source: RSS, RDF, Atom and JSON Feed over the shared HTTP
 * client (and local files), one document per new or updated item. A thin
 * adapter: fetching, politeness and state live in poll.c, parsing in
 * feed.c, the document shape in item.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#include "feed.h"
#include "item.h"
#include "poll.h"
#include "urllist.h"
#include "vigil/plugin.h"

#include <libxml/parser.h>

struct feed_conf {
    struct vigil_strlist urls;
    struct vigil_strlist url_files;
    struct vigil_strlist paths;
    int64_t seen_ttl;
    int64_t max_items;
    int64_t max_age;
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

static const struct vigil_option feed_options[] = {
    {"urls", VIGIL_OPT_STRLIST, NULL, 0, offsetof(struct feed_conf, urls), VIGIL_NOBOUNDS, NULL,
     "Feed URLs (http or https) to poll."},
    {"url_files", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_PATH, offsetof(struct feed_conf, url_files),
     VIGIL_NOBOUNDS, NULL,
     "Files listing more feed URLs: one per line ('#' comments) or OPML; read at start."},
    {"paths", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_PATH, offsetof(struct feed_conf, paths),
     VIGIL_NOBOUNDS, NULL,
     "Local feed files, directories or glob patterns, parsed like fetched feeds."},
    {"seen_ttl", VIGIL_OPT_DURATION, "30d", 0, offsetof(struct feed_conf, seen_ttl), 60000,
     3650 * DAY_MS, NULL, "How long an emitted item is remembered (kept alive while listed)."},
    {"max_items", VIGIL_OPT_INT, "100", 0, offsetof(struct feed_conf, max_items), 1, 100000, NULL,
     "Items taken from one feed per pass (the first ones listed)."},
    {"max_age", VIGIL_OPT_DURATION, "0", 0, offsetof(struct feed_conf, max_age), 0, 3650 * DAY_MS,
     NULL, "Skip items published longer ago than this (0 = no limit)."},
    {"startup_jitter", VIGIL_OPT_DURATION, "1m", 0, offsetof(struct feed_conf, startup_jitter), 0,
     DAY_MS, NULL, "Spread the first fetch of each feed over [0, this] (not with --once)."},
    {"backoff_base", VIGIL_OPT_DURATION, "1m", 0, offsetof(struct feed_conf, backoff_base), 1000,
     DAY_MS, NULL, "First backoff window after a failure; doubles per failure."},
    {"backoff_cap", VIGIL_OPT_DURATION, "6h", 0, offsetof(struct feed_conf, backoff_cap), 1000,
     30 * DAY_MS, NULL, "Largest backoff window."},
    {"retry_after_max", VIGIL_OPT_DURATION, "1d", 0, offsetof(struct feed_conf, retry_after_max),
     1000, 30 * DAY_MS, NULL, "Longest Retry-After (429/503) honoured."},
    {"adaptive", VIGIL_OPT_BOOL, "false", 0, offsetof(struct feed_conf, adaptive), VIGIL_NOBOUNDS,
     NULL, "Poll busy feeds more often and quiet ones less, within the intervals."},
    {"min_interval", VIGIL_OPT_DURATION, "5m", 0, offsetof(struct feed_conf, min_interval), 1000,
     30 * DAY_MS, NULL, "Adaptive: shortest interval between fetches of one feed."},
    {"max_interval", VIGIL_OPT_DURATION, "6h", 0, offsetof(struct feed_conf, max_interval), 1000,
     30 * DAY_MS, NULL, "Adaptive: longest interval between fetches of one feed."},
    {"emit_updates", VIGIL_OPT_BOOL, "true", 0, offsetof(struct feed_conf, emit_updates),
     VIGIL_NOBOUNDS, NULL, "Emit an item again (meta.update = true) when its content changes."},
    {"max_body", VIGIL_OPT_SIZE, "8MB", 0, offsetof(struct feed_conf, max_body), 1024,
     1024.0 * 1024 * 1024, NULL, "Largest feed accepted (decoded bytes)."},
    {"timeout", VIGIL_OPT_DURATION, "30s", 0, offsetof(struct feed_conf, timeout), 100, 600000,
     NULL, "Time limit of one fetch."},
    {"max_inflight", VIGIL_OPT_INT, "64", 0, offsetof(struct feed_conf, max_inflight), 1, 10000,
     NULL, "Feeds fetched at the same time by this source."},
    {"max_queue", VIGIL_OPT_INT, "10000", 0, offsetof(struct feed_conf, max_queue), 1, 1000000,
     NULL, "Items held in memory while the pipeline is paused."},
    {0}};

struct feed_src {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct feed_conf *conf;
    struct feed_poll *poll;
};

static int parse_body(void *ud, struct feed_poll *p, struct feed_target *t, const char *body,
                      size_t len, const char *content_type, const char *base_url,
                      struct vigil_error *err)
{
    struct feed_src *s = ud;
    const struct feed_conf *c = s->conf;
    struct feed_parse_opts o = {0};
    struct feed *f;
    int64_t now = s->host->now_ms();
    const char *feed_url = feed_poll_target_url(t);

    o.url = base_url;
    o.content_type = content_type;
    o.max_bytes = c->max_body;
    o.max_items = (size_t)c->max_items;
    o.now_ms = now;
    int rc = feed_parse(body, len, &o, &f, err);
    if (rc != 0)
        return rc;
    if (f->warning[0])
        s->host->log(s->ins, VIGIL_LOG_DEBUG, "feed %s: %s", feed_url, f->warning);
    if (f->entities_refused)
        s->host->log(s->ins, VIGIL_LOG_WARN,
                     "feed %s: its DOCTYPE declares entities; removed, none expanded "
                     "(external entities and entity expansion are never processed)",
                     feed_url);
    if (f->n_items_seen > f->n_items)
        s->host->log(s->ins, VIGIL_LOG_DEBUG, "feed %s: %zu items listed, the first %zu taken",
                     feed_url, f->n_items_seen, f->n_items);

    if (c->adaptive && f->n_items) {
        int64_t *times = malloc(f->n_items * sizeof *times);
        if (times) {
            for (size_t i = 0; i < f->n_items; i++)
                times[i] = f->items[i].published == FEED_NO_TIME ? 0 : f->items[i].published;
            feed_poll_observe(p, t, times, f->n_items);
            free(times);
        }
    }
    for (size_t i = 0; i < f->n_items; i++) {
        const struct feed_item *it = &f->items[i];
        struct feed_seen seen;
        if (c->max_age > 0 && it->published != FEED_NO_TIME && it->published < now - c->max_age)
            continue;
        feed_poll_seen(p, t, feed_url, it->id, feed_item_fingerprint(it), &seen);
        if (seen.verdict == FEED_SEEN_SAME)
            continue;
        json_t *doc = feed_item_doc(f, it, feed_url, seen.id, seen.verdict == FEED_SEEN_UPDATED);
        if (!doc) {
            feed_free(f);
            return vigil_error_set(err, VIGIL_ENOMEM, "out of memory building documents");
        }
        feed_poll_queue(p, t, doc, &seen);
    }
    feed_free(f);
    return 0;
}

/* Adding configured URLs; duplicates are counted and reported once. */
struct adder {
    struct feed_poll *poll;
    size_t added, dups;
    char first_dup[256];
};

static int add_url(void *arg, const char *url, int line)
{
    struct adder *a = arg;
    (void)line;
    int rc = feed_poll_add_url(a->poll, url);
    if (rc == VIGIL_EEXIST) {
        if (a->dups++ == 0)
            snprintf(a->first_dup, sizeof a->first_dup, "%s", url);
        return 0;
    }
    if (rc == 0)
        a->added++;
    return rc;
}

/* Largest URL list file read (a 10,000-feed OPML is about 2 MB). */
#define URL_FILE_MAX ((size_t)64 << 20)

static int add_url_file(struct adder *a, const char *path, struct vigil_error *err)
{
    char *data = NULL;
    size_t len = 0;
    if (buf_read_file(path, URL_FILE_MAX, &data, &len) != 0)
        return vigil_error_set(err, VIGIL_EIO, "feed: option url_files: cannot read %s: %s", path,
                               errno == EFBIG ? "larger than 64 MB" : strerror(errno));
    struct vigil_error e = {0};
    int rc = feed_urllist_parse(data, len, path, add_url, a, &e);
    free(data);
    if (rc != 0)
        return vigil_error_set(err, rc, "feed: option url_files: %s",
                               e.msg[0] ? e.msg : vigil_strerror(rc));
    return 0;
}

static int feed_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                       void **state, struct vigil_error *err)
{
    const struct feed_conf *c = conf;
    if (c->urls.n == 0 && c->paths.n == 0 && c->url_files.n == 0)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "feed: options urls, url_files and paths are all empty: nothing "
                               "to poll");
    for (size_t i = 0; i < c->urls.n; i++) {
        if (!feed_is_http_url(c->urls.v[i]))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "feed: option urls: \"%s\" is not an http:// or https:// URL",
                                   c->urls.v[i]);
    }
    if (c->backoff_base > c->backoff_cap)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "feed: option backoff_base is larger than backoff_cap");
    if (c->min_interval > c->max_interval)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "feed: option min_interval is larger than max_interval");

    struct feed_src *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "feed: out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = c;
    xmlInitParser();

    struct feed_poll_conf pc = {
        .kind = "feed",
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
        .max_depth = 0,
        .max_children = 0,
        .seen_in_record = 1,
        .seen_keep = 2 * (size_t)c->max_items,
        .parse_offloop = 1,
    };
    int rc = feed_poll_create(host, ins, &pc, parse_body, s, &s->poll, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    struct adder a = {.poll = s->poll};
    for (size_t i = 0; i < c->urls.n && rc == 0; i++)
        rc = add_url(&a, c->urls.v[i], 0);
    if (rc != 0) {
        vigil_error_set(err, rc, "feed: %s", vigil_strerror(rc));
    } else {
        for (size_t i = 0; i < c->url_files.n && rc == 0; i++)
            rc = add_url_file(&a, c->url_files.v[i], err);
    }
    for (size_t i = 0; i < c->paths.n && rc == 0; i++) {
        rc = feed_poll_add_path(s->poll, c->paths.v[i]);
        if (rc != 0)
            vigil_error_set(err, rc, "feed: %s", vigil_strerror(rc));
    }
    if (rc != 0) {
        feed_poll_destroy(s->poll);
        free(s);
        return rc;
    }
    if (a.dups)
        host->log(ins, VIGIL_LOG_WARN, "feed: %zu URL%s listed more than once (used once), e.g. %s",
                  a.dups, a.dups == 1 ? "" : "s", a.first_dup);
    if (c->url_files.n && c->urls.n == 0 && a.added == 0 && c->paths.n == 0) {
        feed_poll_destroy(s->poll);
        free(s);
        return vigil_error_set(err, VIGIL_EINVAL,
                               "feed: option url_files: the files list no URL: nothing to poll");
    }
    *state = s;
    return 0;
}

static int feed_start(void *state, struct vigil_error *err)
{
    (void)state;
    (void)err;
    return 0;
}

static int feed_collect(void *state, vigil_pass_cb done, void *arg)
{
    struct feed_src *s = state;
    return feed_poll_collect(s->poll, done, arg);
}

static void feed_pause(void *state)
{
    struct feed_src *s = state;
    feed_poll_pause(s->poll);
}

static void feed_resume(void *state)
{
    struct feed_src *s = state;
    feed_poll_resume(s->poll);
}

static void feed_stop(void *state)
{
    struct feed_src *s = state;
    feed_poll_stop(s->poll);
}

static void feed_destroy(void *state)
{
    struct feed_src *s = state;
    if (!s)
        return;
    feed_poll_destroy(s->poll);
    free(s);
}

static const struct vigil_plugin feed_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "feed",
    .version = "1.0.0",
    .description = "RSS, RDF, Atom and JSON Feed items from URLs or local files",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .options = feed_options,
    .conf_size = sizeof(struct feed_conf),
    .default_every_ms = 5 * 60 * 1000,
    .create = feed_create,
    .start = feed_start,
    .stop = feed_stop,
    .destroy = feed_destroy,
    .collect = feed_collect,
    .pause = feed_pause,
    .resume = feed_resume,
};

VIGIL_PLUGIN_EXPORT(feed_plugin)
