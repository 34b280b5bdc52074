/*
 * The feed source's hooks driven through a fake host: seen-set logic,
 * conditional GET state, backoff and Retry-After, pause/resume, the done
 * callback, isolation of broken feeds, local files, jitter, adaptive
 * intervals.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "datetime.h"
#include "fake_host.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_source_feed(const struct vigil_host *host,
                                                         struct vigil_error *err);

#define MIN 60000LL
#define HOUR (60 * MIN)

static const struct vigil_plugin *PL;

struct run {
    struct fake_host fh;
    void *conf;
    void *state;
    int done_calls;
    int done_status;
};

static void on_done(void *arg, int status)
{
    struct run *r = arg;
    r->done_calls++;
    r->done_status = status;
}

/* Start an instance; the fake host survives between instances (restart). */
static int open_src(struct run *r, const char *const *opts)
{
    struct vigil_error err = {0};
    r->conf = fake_conf(PL, opts);
    if (!r->conf)
        return -1;
    int rc = PL->create(&r->fh.host, fake_ins(&r->fh), r->conf, &r->state, &err);
    if (rc != 0) {
        fprintf(stderr, "    create: %s\n", err.msg);
        fake_conf_free(PL, r->conf);
        r->conf = NULL;
        return rc;
    }
    return PL->start(r->state, &err);
}

static void close_src(struct run *r)
{
    if (!r->state)
        return;
    PL->stop(r->state);
    fake_run(&r->fh);
    PL->destroy(r->state);
    fake_conf_free(PL, r->conf);
    r->state = NULL;
    r->conf = NULL;
}

static void collect(struct run *r)
{
    r->done_calls = 0;
    r->done_status = 1;
    CHECK_INT(PL->collect(r->state, on_done, r), ==, VIGIL_OK);
}

/* An RSS feed whose items are "<tag>-<i>", published one hour apart before
 * `now`, with an optional changed title for item `changed`. */
static char *make_feed(const char *tag, int n, int64_t now, int changed)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "<rss version=\"2.0\"><channel><title>Feed %s</title>"
               "<link>http://%s.example/</link>",
               tag, tag);
    for (int i = 0; i < n; i++) {
        char d[32];
        datetime_format_iso(now - (i + 1) * HOUR, d, sizeof d);
        buf_printf(&b,
                   "<item><title>%s item %d%s</title><link>http://%s.example/%d</link>"
                   "<guid>%s-%d</guid><pubDate>%s</pubDate><description>Body %d</description>"
                   "</item>",
                   tag, i, i == changed ? " (corrected)" : "", tag, i, tag, i, d, i);
    }
    buf_append_str(&b, "</channel></rss>");
    return buf_steal(&b);
}

static size_t ndocs(struct run *r)
{
    return json_array_size(r->fh.docs);
}

static json_t *doc_at(struct run *r, size_t i)
{
    return json_array_get(r->fh.docs, i);
}

static void respond_feed(struct run *r, const char *url, const char *body, const char *etag,
                         const char *lm)
{
    struct fake_req *q = fake_find_req(&r->fh, url);
    if (!q)
        fprintf(stderr, "    no pending request for %s\n", url);
    if (q)
        fake_respond(&r->fh, q, 200, body, "application/rss+xml", etag, lm, -1);
}

/* ------------------------------------------------------------------ */

static void test_options(void)
{
    struct run r = {0};
    fake_init(&r.fh);
    void *c = fake_conf(PL, NULL);
    REQUIRE(c); /* every default parses */
    struct vigil_error err = {0};
    void *st = NULL;
    CHECK_INT(PL->create(&r.fh.host, fake_ins(&r.fh), c, &st, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "urls, url_files and paths are all empty");
    fake_conf_free(PL, c);

    const char *bad_url[] = {"urls", "http://ok.example/|ftp://files.example/f.xml", NULL};
    c = fake_conf(PL, bad_url);
    REQUIRE(c);
    CHECK_INT(PL->create(&r.fh.host, fake_ins(&r.fh), c, &st, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "feed: option urls: \"ftp://files.example/f.xml\"");
    fake_conf_free(PL, c);

    const char *bad_backoff[] = {
        "urls", "http://a.example/", "backoff_base", "2h", "backoff_cap", "1h", NULL};
    c = fake_conf(PL, bad_backoff);
    REQUIRE(c);
    CHECK_INT(PL->create(&r.fh.host, fake_ins(&r.fh), c, &st, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "backoff_base");
    fake_conf_free(PL, c);
    fake_free(&r.fh);
}

static void test_seen_new_unchanged_updated(void)
{
    struct run r = {0};
    const char *url = "http://a.example/feed";
    const char *opts[] = {"urls", url, NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);

    char *v1 = make_feed("a", 3, r.fh.now, -1);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 1);
    respond_feed(&r, url, v1, NULL, NULL);
    CHECK_INT(ndocs(&r), ==, 3);
    CHECK_INT(r.done_calls, ==, 0); /* never inside a callback chain: a timer */
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(r.done_status, ==, VIGIL_OK);
    CHECK_INT(fake_counter(&r.fh, "items_new"), ==, 3);
    json_t *d0 = doc_at(&r, 0);
    CHECK_STR(json_string_value(json_object_get(d0, "title")), "a item 0");
    CHECK_INT(strlen(json_string_value(json_object_get(d0, "id"))), ==, 16);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_object_get(d0, "meta"), "feed"), "url")),
              url);
    char first_id[17];
    snprintf(first_id, sizeof first_id, "%s", json_string_value(json_object_get(d0, "id")));

    /* Same body again: no parse, no document. */
    collect(&r);
    respond_feed(&r, url, v1, NULL, NULL);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 3);
    CHECK_INT(fake_counter(&r.fh, "unchanged"), ==, 1);
    CHECK_INT(r.done_calls, ==, 1);

    /* One more item listed and item 2 corrected: two documents, the
     * update carrying the same id as before. */
    r.fh.now += HOUR;
    char *v2 = make_feed("a", 4, r.fh.now, 2);
    collect(&r);
    respond_feed(&r, url, v2, NULL, NULL);
    fake_run(&r.fh);
    REQUIRE(ndocs(&r) == 5);
    json_t *u = doc_at(&r, 3), *n = doc_at(&r, 4);
    CHECK_STR(json_string_value(json_object_get(u, "title")), "a item 2 (corrected)");
    CHECK(json_is_true(json_object_get(json_object_get(u, "meta"), "update")));
    CHECK_STR(json_string_value(json_object_get(n, "title")), "a item 3");
    CHECK(json_object_get(json_object_get(n, "meta"), "update") == NULL);
    CHECK_STR(json_string_value(json_object_get(u, "id")),
              json_string_value(json_object_get(doc_at(&r, 2), "id")));
    CHECK_INT(fake_counter(&r.fh, "items_new"), ==, 4);
    CHECK_INT(fake_counter(&r.fh, "items_updated"), ==, 1);
    /* the document id of an item is stable */
    int found = 0;
    for (size_t i = 0; i < ndocs(&r); i++)
        found += strcmp(json_string_value(json_object_get(doc_at(&r, i), "id")), first_id) == 0;
    CHECK_INT(found, ==, 1);
    free(v1);
    free(v2);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_updates_off_and_max_age(void)
{
    struct run r = {0};
    const char *url = "http://b.example/feed";
    const char *opts[] = {"urls", url, "emit_updates", "false", "max_age", "2h30m", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v1 = make_feed("b", 4, r.fh.now, -1);
    collect(&r);
    respond_feed(&r, url, v1, NULL, NULL);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 2); /* items 1 and 2 h old; 3 and 4 h too old */
    char *v2 = make_feed("b", 4, r.fh.now, 0);
    collect(&r);
    respond_feed(&r, url, v2, NULL, NULL);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 2); /* the change is not emitted */
    free(v1);
    free(v2);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_conditional_get_roundtrip(void)
{
    struct run r = {0};
    const char *url = "http://c.example/feed";
    const char *opts[] = {"urls", url, NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v1 = make_feed("c", 2, r.fh.now, -1);
    collect(&r);
    struct fake_req *q = fake_find_req(&r.fh, url);
    REQUIRE(q);
    CHECK(q->etag == NULL && q->last_modified == NULL);
    fake_respond(&r.fh, q, 200, v1, NULL, "\"v1\"", "Mon, 04 Nov 2024 12:00:00 GMT", -1);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 2);

    collect(&r);
    q = fake_find_req(&r.fh, url);
    REQUIRE(q);
    CHECK_STR(q->etag, "\"v1\"");
    CHECK_STR(q->last_modified, "Mon, 04 Nov 2024 12:00:00 GMT");
    size_t puts = r.fh.kv_puts;
    fake_respond(&r.fh, q, 304, NULL, NULL, NULL, NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(fake_counter(&r.fh, "not_modified"), ==, 1);
    CHECK_INT(r.fh.kv_puts, ==, puts); /* nothing changed, nothing written */
    CHECK_INT(ndocs(&r), ==, 2);
    CHECK_INT(r.done_calls, ==, 1);

    /* Restart: a new instance over the same state store sends the
     * validators it stored, and does not emit the items again. */
    close_src(&r);
    REQUIRE(open_src(&r, opts) == 0);
    collect(&r);
    q = fake_find_req(&r.fh, url);
    REQUIRE(q);
    CHECK_STR(q->etag, "\"v1\"");
    fake_respond(&r.fh, q, 200, v1, NULL, "\"v2\"", NULL, -1); /* same items, new etag */
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 2);
    json_t *rec = fake_target_record(&r.fh, url);
    CHECK_STR(json_string_value(json_object_get(rec, "etag")), "\"v2\"");
    json_decref(rec);
    free(v1);
    close_src(&r);
    fake_free(&r.fh);
}

static int64_t rec_int(struct run *r, const char *url, const char *key)
{
    json_t *rec = fake_target_record(&r->fh, url);
    int64_t v = json_integer_value(json_object_get(rec, key));
    json_decref(rec);
    return v;
}

static void test_backoff_schedule(void)
{
    struct run r = {0};
    const char *url = "http://d.example/feed";
    const char *opts[] = {"urls", url, "backoff_base", "1m", "backoff_cap", "10m", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);

    /* failures of every kind widen the window: 1, 2, 4, 8, 10 (cap) min */
    const int64_t windows[] = {MIN, 2 * MIN, 4 * MIN, 8 * MIN, 10 * MIN, 10 * MIN};
    for (int k = 0; k < 6; k++) {
        collect(&r);
        struct fake_req *q = fake_find_req(&r.fh, url);
        REQUIRE(q);
        int64_t t0 = r.fh.now;
        switch (k) {
        case 0: fake_respond(&r.fh, q, 500, "oops", NULL, NULL, NULL, -1); break;
        case 1: fake_fail(&r.fh, q, VIGIL_ETIMEDOUT, "timed out after 30 s"); break;
        case 2: fake_fail(&r.fh, q, VIGIL_EIO, "connection refused"); break;
        case 3: fake_respond(&r.fh, q, 200, "<rss><channel>", NULL, NULL, NULL, -1); break;
        case 4: fake_fail(&r.fh, q, VIGIL_ETOOBIG, "body over 8MB"); break;
        default: fake_respond(&r.fh, q, 404, "", NULL, NULL, NULL, -1); break;
        }
        fake_run(&r.fh);
        CHECK_INT(r.done_calls, ==, 1);
        CHECK_INT(rec_int(&r, url, "fail"), ==, k + 1);
        int64_t next = rec_int(&r, url, "next");
        CHECK(next >= t0 && next <= t0 + windows[k]);
        /* not due before its time: a pass then fetches nothing */
        if (next > r.fh.now) {
            collect(&r);
            CHECK_INT(fake_pending(&r.fh), ==, 0);
            fake_run(&r.fh);
            CHECK_INT(r.done_calls, ==, 1);
        }
        r.fh.now = next;
    }
    CHECK_INT(fake_counter(&r.fh, "errors_http_5xx"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_timeout"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_network"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_parse"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_too_big"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_http_4xx"), ==, 1);
    CHECK_CONTAINS(r.fh.logs.data, "WARN feed http://d.example/feed: HTTP 500; next attempt in");
    CHECK_CONTAINS(r.fh.logs.data, "connection refused");

    /* success resets the streak */
    char *v = make_feed("d", 1, r.fh.now, -1);
    collect(&r);
    respond_feed(&r, url, v, NULL, NULL);
    fake_run(&r.fh);
    CHECK_INT(rec_int(&r, url, "fail"), ==, 0);
    CHECK_CONTAINS(r.fh.logs.data, "INFO feed http://d.example/feed: recovered after 6 failures");
    free(v);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_retry_after(void)
{
    struct run r = {0};
    const char *url = "http://e.example/feed";
    const char *opts[] = {"urls", url, "retry_after_max", "1h", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    collect(&r);
    int64_t t0 = r.fh.now;
    fake_respond(&r.fh, fake_find_req(&r.fh, url), 429, "slow down", NULL, NULL, NULL, 120000);
    fake_run(&r.fh);
    CHECK_INT(rec_int(&r, url, "next"), ==, t0 + 120000);
    CHECK_CONTAINS(r.fh.logs.data, "HTTP 429 (Retry-After 2m)");
    CHECK_INT(fake_counter(&r.fh, "errors_http_4xx"), ==, 1);

    r.fh.now = t0 + 120000;
    collect(&r);
    t0 = r.fh.now;
    fake_respond(&r.fh, fake_find_req(&r.fh, url), 503, "", NULL, NULL, NULL, 10LL * 24 * HOUR);
    fake_run(&r.fh);
    CHECK_INT(rec_int(&r, url, "next"), ==, t0 + HOUR); /* capped by retry_after_max */
    CHECK_INT(fake_counter(&r.fh, "errors_http_5xx"), ==, 1);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_pause_resume_mid_pass(void)
{
    struct run r = {0};
    const char *urls = "http://f1.example/|http://f2.example/|http://f3.example/";
    const char *opts[] = {"urls", urls, "max_inflight", "1", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    r.fh.eagain_at = 2;
    REQUIRE(open_src(&r, opts) == 0);
    char *b1 = make_feed("f1", 3, r.fh.now, -1);
    char *b2 = make_feed("f2", 3, r.fh.now, -1);
    char *b3 = make_feed("f3", 3, r.fh.now, -1);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 1);
    respond_feed(&r, "http://f1.example/", b1, NULL, NULL);
    /* The second emit answered EAGAIN: one item waits, no new fetch. */
    CHECK_INT(ndocs(&r), ==, 2);
    CHECK_INT(fake_pending(&r.fh), ==, 0);
    fake_advance(&r.fh, 10 * MIN);
    CHECK_INT(ndocs(&r), ==, 2);
    CHECK_INT(r.done_calls, ==, 0);

    PL->resume(r.state);
    CHECK_INT(ndocs(&r), ==, 3);
    CHECK_INT(fake_pending(&r.fh), ==, 1);
    /* The core may also pause explicitly. */
    PL->pause(r.state);
    respond_feed(&r, "http://f2.example/", b2, NULL, NULL);
    CHECK_INT(ndocs(&r), ==, 3);
    CHECK_INT(fake_pending(&r.fh), ==, 0);
    PL->resume(r.state);
    CHECK_INT(ndocs(&r), ==, 6);
    respond_feed(&r, "http://f3.example/", b3, NULL, NULL);
    CHECK_INT(ndocs(&r), ==, 9);
    CHECK_INT(r.done_calls, ==, 0);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    /* nine distinct documents */
    for (size_t i = 0; i < 9; i++) {
        for (size_t j = i + 1; j < 9; j++)
            CHECK(strcmp(json_string_value(json_object_get(doc_at(&r, i), "id")),
                         json_string_value(json_object_get(doc_at(&r, j), "id"))) != 0);
    }
    free(b1);
    free(b2);
    free(b3);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_queue_overflow_keeps_items(void)
{
    struct run r = {0};
    const char *url = "http://g.example/feed";
    const char *opts[] = {"urls", url, "max_queue", "3", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    r.fh.eagain_at = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v = make_feed("g", 5, r.fh.now, -1);
    collect(&r);
    fake_respond(&r.fh, fake_find_req(&r.fh, url), 200, v, NULL, "\"e1\"", NULL, -1);
    /* three queued (one emitted before the EAGAIN), two did not fit */
    CHECK_INT(ndocs(&r), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "items_dropped"), ==, 2);
    CHECK_INT(r.done_calls, ==, 0);
    PL->resume(r.state);
    CHECK_INT(ndocs(&r), ==, 3);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    /* validators were not stored: the next pass refetches and parses, and
     * the dropped items come out then */
    collect(&r);
    struct fake_req *q = fake_find_req(&r.fh, url);
    REQUIRE(q);
    CHECK(q->etag == NULL);
    fake_respond(&r.fh, q, 200, v, NULL, "\"e1\"", NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 5);
    CHECK_INT(fake_counter(&r.fh, "items_new"), ==, 5);
    /* and now the validators are kept */
    collect(&r);
    q = fake_find_req(&r.fh, url);
    REQUIRE(q);
    CHECK_STR(q->etag, "\"e1\"");
    free(v);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_done_exactly_once(void)
{
    struct run r = {0};
    const char *url = "http://h.example/feed";
    const char *opts[] = {"urls", url, NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    collect(&r);
    /* a second collect while the pass runs is refused, done not doubled */
    CHECK_INT(PL->collect(r.state, on_done, &r), ==, VIGIL_ESTATE);
    fake_respond(&r.fh, fake_find_req(&r.fh, url), 500, "", NULL, NULL, NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    /* nothing due: done still comes, once, and not inside collect() */
    collect(&r);
    CHECK_INT(r.done_calls, ==, 0);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(r.done_status, ==, VIGIL_OK);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_stop_mid_pass(void)
{
    struct run r = {0};
    const char *opts[] = {"urls", "http://i1.example/|http://i2.example/", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v = make_feed("i1", 2, r.fh.now, -1);
    collect(&r);
    respond_feed(&r, "http://i1.example/", v, NULL, NULL);
    CHECK_INT(ndocs(&r), ==, 2);
    PL->stop(r.state);
    CHECK_INT(r.done_calls, ==, 0); /* i2 still has to call back */
    fake_run(&r.fh);                /* the canceled request calls back */
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(r.done_status, ==, VIGIL_ECANCELED);
    CHECK_INT(fake_pending(&r.fh), ==, 0);
    PL->destroy(r.state);
    fake_conf_free(PL, r.conf);
    free(v);
    fake_free(&r.fh);
}

static void test_broken_feeds_isolated(void)
{
    struct run r = {0};
    const char *opts[] = {"urls", "http://j404.example/|http://jbad.example/|http://jok.example/",
                          NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v = make_feed("jok", 2, r.fh.now, -1);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 3);
    fake_respond(&r.fh, fake_find_req(&r.fh, "http://j404.example/"), 404, "gone", NULL, NULL, NULL,
                 -1);
    fake_respond(&r.fh, fake_find_req(&r.fh, "http://jbad.example/"), 200,
                 "<html><body>Not a feed</body></html>", "text/html", NULL, NULL, -1);
    respond_feed(&r, "http://jok.example/", v, NULL, NULL);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 2);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_http_4xx"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_parse"), ==, 1);
    CHECK_CONTAINS(r.fh.logs.data, "feed http://j404.example/: HTTP 404");
    CHECK_CONTAINS(r.fh.logs.data,
                   "feed http://jbad.example/: not a feed: the root element is <html>");
    free(v);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_local_paths(void)
{
    struct run r = {0};
    char paths[2048];
    snprintf(paths, sizeof paths, "%s/rss2.xml|%s/atom*.xml", FEED_FIXTURES, FEED_FIXTURES);
    const char *opts[] = {"paths", paths, NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    r.fh.now = 1730808000000LL;
    REQUIRE(open_src(&r, opts) == 0);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 0); /* no HTTP */
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(ndocs(&r), ==, 4 + 3 + 1); /* rss2, atom, atom03 */
    CHECK_INT(fake_counter(&r.fh, "requests"), ==, 3);
    char want[1200];
    snprintf(want, sizeof want, "%s/rss2.xml", FEED_FIXTURES);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_object_get(doc_at(&r, 0), "meta"), "feed"), "url")),
              want);
    /* unchanged files: nothing parsed, nothing emitted */
    collect(&r);
    fake_run(&r.fh);
    CHECK_INT(ndocs(&r), ==, 8);
    CHECK_INT(fake_counter(&r.fh, "unchanged"), ==, 3);
    close_src(&r);
    fake_free(&r.fh);

    /* A local file over max_body is refused like a fetched one. */
    char big[] = "/tmp/vigil-feed-bigXXXXXX";
    int fd = mkstemp(big);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 2048) == 0);
    close(fd);
    const char *big_opts[] = {"paths", big, "max_body", "1KB", NULL};
    memset(&r, 0, sizeof r);
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, big_opts) == 0);
    collect(&r);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    CHECK_INT(ndocs(&r), ==, 0);
    CHECK_INT(fake_counter(&r.fh, "errors_too_big"), ==, 1);
    CHECK_CONTAINS(r.fh.logs.data, "cannot read the file: larger than max_body");
    close_src(&r);
    fake_free(&r.fh);
    unlink(big);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Feed URLs from files (text and OPML) join the urls option; duplicates
 * are used once and reported in one line; a bad line fails create with
 * FILE:LINE. */
static void test_url_files(void)
{
    struct run r = {0};
    char dir[] = "/tmp/vigil-urlfiles-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char txt[300], opml[300], bad[300], both[700];
    snprintf(txt, sizeof txt, "%s/feeds.txt", dir);
    snprintf(opml, sizeof opml, "%s/feeds.opml", dir);
    snprintf(bad, sizeof bad, "%s/bad.txt", dir);
    write_file(txt, "# world\nhttp://a.example/rss  A\n\n  http://b.example/rss\n"
                    "http://a.example/rss\n");
    write_file(opml,
               "<?xml version=\"1.0\"?><opml version=\"2.0\"><body>"
               "<outline text=\"News\"><outline text=\"C\" xmlUrl=\"http://c.example/atom\"/>"
               "</outline><outline text=\"B\" xmlUrl=\"http://b.example/rss\"/></body></opml>");
    write_file(bad, "http://d.example/rss\n# fine\nfeeds.example/rss\n");
    snprintf(both, sizeof both, "%s|%s", txt, opml);
    const char *opts[] = {"urls", "http://z.example/rss", "url_files", both, NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    CHECK_CONTAINS(r.fh.logs.data, "2 URLs listed more than once (used once), e.g. "
                                   "http://a.example/rss");
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 4);
    CHECK(fake_find_req(&r.fh, "http://z.example/rss") != NULL);
    CHECK(fake_find_req(&r.fh, "http://a.example/rss") != NULL);
    CHECK(fake_find_req(&r.fh, "http://b.example/rss") != NULL);
    CHECK(fake_find_req(&r.fh, "http://c.example/atom") != NULL);
    close_src(&r);
    fake_free(&r.fh);

    struct vigil_error err = {0};
    void *st = NULL;
    const char *bad_opts[] = {"url_files", bad, NULL};
    fake_init(&r.fh);
    void *c = fake_conf(PL, bad_opts);
    REQUIRE(c);
    CHECK_INT(PL->create(&r.fh.host, fake_ins(&r.fh), c, &st, &err), ==, VIGIL_EINVAL);
    char want[400];
    snprintf(want, sizeof want,
             "feed: option url_files: %s:3: \"feeds.example/rss\" is not an http:// or https:// "
             "URL",
             bad);
    CHECK_STR(err.msg, want);
    fake_conf_free(PL, c);

    char missing[320];
    snprintf(missing, sizeof missing, "%s/missing.txt", dir);
    const char *missing_opts[] = {"url_files", missing, NULL};
    c = fake_conf(PL, missing_opts);
    REQUIRE(c);
    CHECK_INT(PL->create(&r.fh.host, fake_ins(&r.fh), c, &st, &err), ==, VIGIL_EIO);
    CHECK_CONTAINS(err.msg, "cannot read");
    CHECK_CONTAINS(err.msg, "No such file");
    fake_conf_free(PL, c);

    /* A URL list over 64 MB is refused at create (a sparse file: no disk). */
    char huge[320];
    snprintf(huge, sizeof huge, "%s/huge.txt", dir);
    FILE *hf = fopen(huge, "w");
    REQUIRE(hf);
    REQUIRE(ftruncate(fileno(hf), ((off_t)64 << 20) + 1) == 0);
    fclose(hf);
    const char *huge_opts[] = {"url_files", huge, NULL};
    c = fake_conf(PL, huge_opts);
    REQUIRE(c);
    CHECK_INT(PL->create(&r.fh.host, fake_ins(&r.fh), c, &st, &err), ==, VIGIL_EIO);
    snprintf(want, sizeof want, "feed: option url_files: cannot read %s: larger than 64 MB", huge);
    CHECK_STR(err.msg, want);
    fake_conf_free(PL, c);
    unlink(huge);
    fake_free(&r.fh);
    unlink(txt);
    unlink(opml);
    unlink(bad);
    rmdir(dir);
}

static void test_startup_jitter(void)
{
    struct run r = {0};
    const char *urls =
        "http://k1.example/|http://k2.example/|http://k3.example/|http://k4.example/|"
        "http://k5.example/";
    const char *opts[] = {"urls", urls, "startup_jitter", "60s", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 0;
    REQUIRE(open_src(&r, opts) == 0);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), <, 5);
    fake_advance(&r.fh, 60000);
    CHECK_INT(fake_pending(&r.fh), ==, 5);
    for (int i = 0; i < 5; i++)
        fake_respond(&r.fh, fake_pending_req(&r.fh, 0), 304, NULL, NULL, NULL, NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(r.done_calls, ==, 1);
    /* later passes: no jitter */
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 5);
    close_src(&r);
    fake_free(&r.fh);

    /* --once skips the jitter */
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 5);
    close_src(&r);
    fake_free(&r.fh);
}

static void test_adaptive_interval(void)
{
    struct run r = {0};
    const char *url = "http://l.example/feed";
    const char *opts[] = {"urls",         url,  "adaptive", "true", "min_interval", "5m",
                          "max_interval", "6h", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v = make_feed("l", 5, r.fh.now, -1); /* one item per hour */
    collect(&r);
    int64_t t0 = r.fh.now;
    respond_feed(&r, url, v, NULL, NULL);
    fake_run(&r.fh);
    CHECK_INT(rec_int(&r, url, "iv"), ==, 30 * MIN);
    int64_t next = rec_int(&r, url, "next");
    CHECK(next >= t0 + 27 * MIN && next <= t0 + 33 * MIN);
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 0);
    fake_run(&r.fh);
    r.fh.now = next;
    collect(&r);
    CHECK_INT(fake_pending(&r.fh), ==, 1);
    /* 304: no dates to look at, the interval grows */
    fake_respond(&r.fh, fake_find_req(&r.fh, url), 304, NULL, NULL, NULL, NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(rec_int(&r, url, "iv"), ==, 45 * MIN);
    free(v);
    close_src(&r);
    fake_free(&r.fh);
}

/* RSS with items <tag>-from .. <tag>-(to-1), all dated an hour ago. */
static char *make_feed_range(const char *tag, int from, int to, int64_t now)
{
    struct buf b;
    char d[32];
    datetime_format_iso(now - HOUR, d, sizeof d);
    buf_init(&b, 0);
    buf_printf(&b, "<rss version=\"2.0\"><channel><title>Feed %s</title>", tag);
    for (int i = from; i < to; i++)
        buf_printf(&b,
                   "<item><title>%s item %d</title><guid>%s-%d</guid><pubDate>%s</pubDate>"
                   "</item>",
                   tag, i, tag, i, d);
    buf_append_str(&b, "</channel></rss>");
    return buf_steal(&b);
}

/* One pass answering body for url; returns the documents it emitted. */
static size_t pass_with(struct run *r, const char *url, const char *body)
{
    size_t before = ndocs(r);
    collect(r);
    respond_feed(r, url, body, NULL, NULL);
    fake_run(&r->fh);
    CHECK_INT(r->done_calls, ==, 1);
    return ndocs(r) - before;
}

/* A feed's seen-set lives in its own state record: one read per feed at
 * start, one write per parse, never a read or write per item; it survives
 * restarts. */
static void test_seen_set_in_record(void)
{
    struct run r = {0};
    const char *url = "http://m.example/feed";
    const char *opts[] = {"urls", url, NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *v1 = make_feed("m", 5, r.fh.now, -1);
    CHECK_INT(pass_with(&r, url, v1), ==, 5);
    CHECK_INT(r.fh.kv_gets_seen, ==, 0);
    CHECK_INT(r.fh.kv_puts, ==, 1); /* the record, items included */
    json_t *rec = fake_target_record(&r.fh, url);
    CHECK_INT(strlen(json_string_value(json_object_get(rec, "seen"))), ==, 5 * 44);
    json_decref(rec);

    /* One new item, one corrected: two documents, one write. */
    char *v2 = make_feed("m", 6, r.fh.now, 1);
    CHECK_INT(pass_with(&r, url, v2), ==, 2);
    CHECK_INT(r.fh.kv_puts, ==, 2);

    /* After a restart the record is the memory: item 1 back to its old
     * title is an update, nothing else is emitted again. */
    close_src(&r);
    REQUIRE(open_src(&r, opts) == 0);
    CHECK_INT(pass_with(&r, url, v1), ==, 1);
    CHECK(json_is_true(json_object_get(json_object_get(doc_at(&r, 7), "meta"), "update")));
    CHECK_INT(r.fh.kv_gets_seen, ==, 0);
    /* Unchanged list, new body (a build date): parsed, nothing emitted,
     * and the seen-set serialises exactly as before (only the body hash
     * of the record changes). */
    rec = fake_target_record(&r.fh, url);
    char *seen_before = strdup(json_string_value(json_object_get(rec, "seen")));
    json_decref(rec);
    r.fh.now += HOUR;
    char *v1b = make_feed("m", 5, r.fh.now - HOUR, -1);
    size_t n = strlen(v1b);
    v1b = realloc(v1b, n + 32);
    memcpy(v1b + n, "<!-- built 2 -->", 17);
    CHECK_INT(pass_with(&r, url, v1b), ==, 0);
    rec = fake_target_record(&r.fh, url);
    CHECK_STR(json_string_value(json_object_get(rec, "seen")), seen_before);
    json_decref(rec);
    free(seen_before);
    free(v1);
    free(v2);
    free(v1b);
    close_src(&r);
    fake_free(&r.fh);
}

/* Items no longer listed are remembered for seen_ttl after they went, and
 * at most 2 x max_items of them. */
static void test_seen_retention(void)
{
    struct run r = {0};
    const char *url = "http://k.example/feed";
    const char *opts[] = {"urls", url, "max_items", "3", "seen_ttl", "30d", NULL};
    fake_init(&r.fh);
    r.fh.run_once = 1;
    REQUIRE(open_src(&r, opts) == 0);
    char *b[6];
    for (int i = 0; i < 6; i++)
        b[i] = make_feed_range("k", 3 * i, 3 * i + 3, r.fh.now);
    char *first = make_feed_range("k", 0, 2, r.fh.now);

    CHECK_INT(pass_with(&r, url, b[0]), ==, 3); /* 0-2 */
    r.fh.now += HOUR;
    CHECK_INT(pass_with(&r, url, first), ==, 0); /* 2 gone now */
    r.fh.now += 29 * 24 * HOUR;
    CHECK_INT(pass_with(&r, url, b[0]), ==, 0); /* back within the TTL */
    r.fh.now += HOUR;
    CHECK_INT(pass_with(&r, url, first), ==, 0);
    r.fh.now += 31 * 24 * HOUR;
    CHECK_INT(pass_with(&r, url, b[0]), ==, 1); /* 2 forgotten: new again */

    /* The window moves on: 0-2, 3-5, 6-8, 9-11 listed in turn; six gone
     * items are kept, the oldest (0-2) forgotten. */
    for (int i = 1; i < 4; i++) {
        r.fh.now += 60000;
        CHECK_INT(pass_with(&r, url, b[i]), ==, 3);
    }
    r.fh.now += 60000;
    CHECK_INT(pass_with(&r, url, b[0]), ==, 3);
    r.fh.now += 60000;
    CHECK_INT(pass_with(&r, url, b[2]), ==, 0); /* 6-8 still known */
    for (int i = 0; i < 6; i++)
        free(b[i]);
    free(first);
    close_src(&r);
    fake_free(&r.fh);
}

int main(void)
{
    struct vigil_error err;
    PL = vigil_plugin_init_source_feed(NULL, &err);
    if (!PL)
        return 1;
    RUN(test_options);
    RUN(test_seen_new_unchanged_updated);
    RUN(test_updates_off_and_max_age);
    RUN(test_conditional_get_roundtrip);
    RUN(test_backoff_schedule);
    RUN(test_retry_after);
    RUN(test_pause_resume_mid_pass);
    RUN(test_queue_overflow_keeps_items);
    RUN(test_done_exactly_once);
    RUN(test_stop_mid_pass);
    RUN(test_broken_feeds_isolated);
    RUN(test_local_paths);
    RUN(test_url_files);
    RUN(test_startup_jitter);
    RUN(test_adaptive_interval);
    RUN(test_seen_set_in_record);
    RUN(test_seen_retention);
    return test_summary();
}
