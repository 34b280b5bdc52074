/*
 * test_http - the shared HTTP client against the fixture server.
 *
 * Every test gets its own loop, client and server; every wait is bounded by
 * a deadline (a 10 ms repeating timer keeps UV_RUN_ONCE from blocking for
 * longer), and teardown checks that closing the client released every
 * libuv handle (uv_loop_close() == 0).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "buf.h"
#include "http.h"
#include "httpd.h"
#include "test.h"

/* ------------------------------------------------------------------------
 * Fixture
 * --------------------------------------------------------------------- */

struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    struct core_http *c;
    struct httpd *srv;
    int closed;
    struct buf log;
};

/* Set while the test is inside a client function: callbacks must never run
 * then (they are delivered from the loop). */
static int in_api;

struct result {
    int calls;
    int status;
    long http_code;
    char *body;
    size_t body_len;
    int body_null;
    char error[1024];
    char etag[256], last_modified[128], content_type[128], effective_url[1024];
    int has_etag, has_last_modified, has_content_type;
    int64_t retry_after_ms;
    uint64_t wire_bytes;
    double total_time_s;
    int order; /* completion order across results */
};

static int completion_counter;

static void copy_opt(char *dst, size_t n, const char *src, int *has)
{
    if (has)
        *has = src != NULL;
    snprintf(dst, n, "%s", src ? src : "");
}

static void on_resp(void *arg, const struct vigil_http_response *r)
{
    struct result *res = arg;
    CHECK(!in_api);
    CHECK_INT(r->struct_size, ==, sizeof *r);
    res->calls++;
    res->order = ++completion_counter;
    res->status = r->status;
    res->http_code = r->http_code;
    res->body_null = r->body == NULL;
    free(res->body);
    res->body = NULL;
    if (r->body) {
        CHECK_INT(r->body[r->body_len], ==, 0);
        res->body = malloc(r->body_len + 1);
        memcpy(res->body, r->body, r->body_len + 1);
    }
    res->body_len = r->body_len;
    copy_opt(res->error, sizeof res->error, r->error, NULL);
    copy_opt(res->etag, sizeof res->etag, r->etag, &res->has_etag);
    copy_opt(res->last_modified, sizeof res->last_modified, r->last_modified,
             &res->has_last_modified);
    copy_opt(res->content_type, sizeof res->content_type, r->content_type, &res->has_content_type);
    copy_opt(res->effective_url, sizeof res->effective_url, r->effective_url, NULL);
    res->retry_after_ms = r->retry_after_ms;
    res->wire_bytes = r->wire_bytes;
    res->total_time_s = r->total_time_s;
    if (r->status != VIGIL_OK)
        CHECK(r->error != NULL && r->error[0] != '\0');
    /* Only the statuses plugin.h documents for vigil_http_response. */
    CHECK(r->status == VIGIL_OK || r->status == VIGIL_ETIMEDOUT || r->status == VIGIL_ETOOBIG ||
          r->status == VIGIL_EPROTO || r->status == VIGIL_EIO || r->status == VIGIL_ECANCELED);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "    -> status %d code %ld body %zu wire %" PRIu64 " %.3fs %s\n", r->status,
                r->http_code, r->body_len, r->wire_bytes, r->total_time_s,
                r->error ? r->error : "");
}

static void result_free(struct result *r)
{
    free(r->body);
    r->body = NULL;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void test_log(void *arg, int level, const char *msg)
{
    struct fx *f = arg;
    buf_printf(&f->log, "%d %s\n", level, msg);
}

static int64_t mono_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000);
}

static int fx_init(struct fx *f, const struct core_http_config *cfg_in)
{
    memset(f, 0, sizeof *f);
    buf_init(&f->log, 1 << 20);
    if (uv_loop_init(&f->loop) != 0)
        return -1;
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 10, 10);
    f->srv = httpd_start();
    if (!f->srv)
        return -1;
    struct core_http_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (cfg_in)
        cfg = *cfg_in;
    if (!cfg.version)
        cfg.version = "9.9.9";
    if (!cfg.log) {
        cfg.log = test_log;
        cfg.log_arg = f;
    }
    struct vigil_error err = {0};
    if (core_http_create(&f->loop, &cfg, &f->c, &err) != VIGIL_OK) {
        fprintf(stderr, "core_http_create: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Run the loop until done(arg) or the deadline; 0 when done. */
static int run_until(struct fx *f, int timeout_ms, int (*done)(void *), void *arg)
{
    int64_t end = mono_ms() + timeout_ms;
    while (!done(arg)) {
        if (mono_ms() > end)
            return -1;
        uv_run(&f->loop, UV_RUN_ONCE);
    }
    return 0;
}

struct count_goal {
    const int *counter;
    int want;
};

static int count_reached(void *arg)
{
    const struct count_goal *g = arg;
    return *g->counter >= g->want;
}

static int run_until_count(struct fx *f, const int *counter, int want, int timeout_ms)
{
    struct count_goal g = {counter, want};
    return run_until(f, timeout_ms, count_reached, &g);
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

static void run_for(struct fx *f, int ms)
{
    run_until(f, ms, never, NULL);
}

struct server_goal {
    struct httpd *srv;
    const char *path;
    size_t n;
};

static int server_reached(void *arg)
{
    const struct server_goal *g = arg;
    return httpd_request_count(g->srv, g->path) >= g->n;
}

static int run_until_server(struct fx *f, const char *path, size_t n, int timeout_ms)
{
    struct server_goal g = {f->srv, path, n};
    return run_until(f, timeout_ms, server_reached, &g);
}

static void on_closed(void *arg)
{
    struct fx *f = arg;
    CHECK(!in_api);
    f->closed++;
}

static void fx_fini(struct fx *f)
{
    if (f->c && !f->closed) {
        in_api = 1;
        core_http_close(f->c, on_closed, f);
        in_api = 0;
        CHECK_INT(run_until_count(f, &f->closed, 1, 10000), ==, 0);
        CHECK_INT(f->closed, ==, 1);
    }
    uv_close((uv_handle_t *)&f->tick, NULL);
    int64_t end = mono_ms() + 5000;
    while (uv_loop_alive(&f->loop) && mono_ms() < end) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    CHECK_INT(uv_loop_close(&f->loop), ==, 0);
    httpd_stop(f->srv);
    buf_free(&f->log);
}

/* Start a request for path on the fixture server (URL freed right after the
 * call: the client must have copied it). */
static int start(struct fx *f, const char *path, const struct vigil_http_request *tmpl,
                 struct result *res, struct vigil_http_call **call)
{
    char *url = httpd_url(f->srv, path);
    struct vigil_http_request req;
    memset(&req, 0, sizeof req);
    if (tmpl)
        req = *tmpl;
    req.struct_size = sizeof req;
    req.url = url;
    in_api = 1;
    int rc = core_http_request(f->c, &req, on_resp, res, call);
    in_api = 0;
    free(url);
    return rc;
}

/* Start and wait for the callback. */
static int fetch(struct fx *f, const char *path, const struct vigil_http_request *tmpl,
                 struct result *res, int timeout_ms)
{
    int rc = start(f, path, tmpl, res, NULL);
    if (rc != VIGIL_OK)
        return rc;
    return run_until_count(f, &res->calls, 1, timeout_ms) == 0 ? VIGIL_OK : VIGIL_ETIMEDOUT;
}

/* ------------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void count_active(uv_handle_t *h, void *arg)
{
    *(int *)arg += uv_is_active(h) != 0;
}

static void test_get_200(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/hello",
                &(struct httpd_response){.body = "hello world",
                                         .content_type = "text/plain; charset=utf-8",
                                         .etag = "\"v1\"",
                                         .last_modified = "Wed, 21 Oct 2015 07:28:00 GMT"});
    struct result r = {0};
    CHECK_INT(fetch(&f, "/hello", NULL, &r, 5000), ==, VIGIL_OK);
    CHECK_INT(r.calls, ==, 1);
    CHECK_INT(r.status, ==, VIGIL_OK);
    CHECK_INT(r.http_code, ==, 200);
    CHECK_STR(r.body, "hello world");
    CHECK_INT(r.body_len, ==, 11);
    CHECK_STR(r.content_type, "text/plain; charset=utf-8");
    CHECK_STR(r.etag, "\"v1\"");
    CHECK_STR(r.last_modified, "Wed, 21 Oct 2015 07:28:00 GMT");
    CHECK_INT(r.retry_after_ms, ==, -1);
    char *url = httpd_url(f.srv, "/hello");
    CHECK_STR(r.effective_url, url);
    free(url);
    CHECK(r.wire_bytes > 11); /* headers + body */
    CHECK(r.total_time_s > 0);

    char ua[256] = "", ae[256] = "";
    CHECK_INT(httpd_last_header(f.srv, "/hello", "User-Agent", ua, sizeof ua), ==, 0);
    CHECK_STR(ua, "Vigil/9.9.9 (+https://github.com/vigil-monitor/vigil)");
    CHECK_INT(httpd_last_header(f.srv, "/hello", "Accept-Encoding", ae, sizeof ae), ==, 0);
    CHECK_CONTAINS(ae, "gzip");
    CHECK_INT(httpd_last_header(f.srv, "/hello", "If-None-Match", NULL, 0), ==, -1);

    /* Idle client: nothing of it keeps the loop alive (no poll handle for
     * cached connections, no curl timer left running). */
    run_for(&f, 50);
    int active = 0;
    uv_walk(&f.loop, count_active, &active);
    CHECK_INT(active, ==, 1); /* the test's own tick timer */

    /* The per-request debug line. */
    CHECK_CONTAINS(f.log.data, "GET http://127.0.0.1:");
    CHECK_CONTAINS(f.log.data, "/hello -> 200 in ");
    result_free(&r);
    fx_fini(&f);
}

static void test_custom_user_agent(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.user_agent = "probe/1.0"}) == 0);
    httpd_route(f.srv, "/ua", &(struct httpd_response){.body = "x"});
    struct result r = {0};
    CHECK_INT(fetch(&f, "/ua", NULL, &r, 5000), ==, VIGIL_OK);
    char ua[256] = "";
    CHECK_INT(httpd_last_header(f.srv, "/ua", "User-Agent", ua, sizeof ua), ==, 0);
    CHECK_STR(ua, "probe/1.0");
    result_free(&r);
    fx_fini(&f);
}

static void test_404_500_are_responses(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/boom", &(struct httpd_response){.status = 500, .body = "oops"});
    struct result a = {0}, b = {0};
    CHECK_INT(fetch(&f, "/missing", NULL, &a, 5000), ==, VIGIL_OK);
    CHECK_INT(fetch(&f, "/boom", NULL, &b, 5000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_OK);
    CHECK_INT(a.http_code, ==, 404);
    CHECK_STR(a.body, "not found\n");
    CHECK_INT(b.status, ==, VIGIL_OK);
    CHECK_INT(b.http_code, ==, 500);
    CHECK_STR(b.body, "oops");
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_4XX], ==, 1);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_5XX], ==, 1);
    result_free(&a);
    result_free(&b);
    fx_fini(&f);
}

static void test_retry_after(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    const char *h1[] = {"Retry-After: 2", NULL};
    httpd_route(f.srv, "/slowdown", &(struct httpd_response){.status = 429, .headers = h1});
    char date[64], past[64], h2line[96], h3line[96];
    time_t later = time(NULL) + 120, before = time(NULL) - 3600;
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&later, &tm));
    strftime(past, sizeof past, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&before, &tm));
    snprintf(h2line, sizeof h2line, "Retry-After: %s", date);
    snprintf(h3line, sizeof h3line, "Retry-After: %s", past);
    const char *h2[] = {h2line, NULL}, *h3[] = {h3line, NULL}, *h4[] = {"Retry-After: soon", NULL};
    httpd_route(f.srv, "/date", &(struct httpd_response){.status = 503, .headers = h2});
    httpd_route(f.srv, "/past", &(struct httpd_response){.status = 503, .headers = h3});
    httpd_route(f.srv, "/junk", &(struct httpd_response){.status = 503, .headers = h4});

    struct result a = {0}, b = {0}, c = {0}, d = {0};
    CHECK_INT(fetch(&f, "/slowdown", NULL, &a, 5000), ==, VIGIL_OK);
    CHECK_INT(fetch(&f, "/date", NULL, &b, 5000), ==, VIGIL_OK);
    CHECK_INT(fetch(&f, "/past", NULL, &c, 5000), ==, VIGIL_OK);
    CHECK_INT(fetch(&f, "/junk", NULL, &d, 5000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_OK);
    CHECK_INT(a.http_code, ==, 429);
    CHECK_INT(a.retry_after_ms, ==, 2000);
    CHECK_INT(b.http_code, ==, 503);
    CHECK_INT(b.retry_after_ms, >=, 110000);
    CHECK_INT(b.retry_after_ms, <=, 120000);
    CHECK_INT(c.retry_after_ms, ==, 0);
    CHECK_INT(d.retry_after_ms, ==, -1);
    result_free(&a);
    result_free(&b);
    result_free(&c);
    result_free(&d);
    fx_fini(&f);
}

static void test_conditional_get(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/feed",
                &(struct httpd_response){.body = "<rss/>",
                                         .content_type = "application/rss+xml",
                                         .etag = "\"abc\"",
                                         .last_modified = "Mon, 01 Jan 2024 00:00:00 GMT",
                                         .etag_304 = 1});
    struct result first = {0}, second = {0};
    CHECK_INT(fetch(&f, "/feed", NULL, &first, 5000), ==, VIGIL_OK);
    CHECK_INT(first.http_code, ==, 200);
    CHECK_STR(first.body, "<rss/>");
    REQUIRE(first.has_etag && first.has_last_modified);

    struct vigil_http_request req = {.etag = first.etag, .last_modified = first.last_modified};
    CHECK_INT(fetch(&f, "/feed", &req, &second, 5000), ==, VIGIL_OK);
    char inm[128] = "", ims[128] = "";
    CHECK_INT(httpd_last_header(f.srv, "/feed", "If-None-Match", inm, sizeof inm), ==, 0);
    CHECK_STR(inm, "\"abc\"");
    CHECK_INT(httpd_last_header(f.srv, "/feed", "If-Modified-Since", ims, sizeof ims), ==, 0);
    CHECK_STR(ims, "Mon, 01 Jan 2024 00:00:00 GMT");
    CHECK_INT(second.status, ==, VIGIL_OK);
    CHECK_INT(second.http_code, ==, 304);
    CHECK(second.body_null);
    CHECK_INT(second.body_len, ==, 0);
    CHECK_STR(second.etag, "\"abc\"");
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_304], ==, 1);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_2XX], ==, 1);
    result_free(&first);
    result_free(&second);
    fx_fini(&f);
}

static void test_gzip_decoded(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/gz",
                &(struct httpd_response){.body = "hello gzip ",
                                         .repeat_body_to = 110000,
                                         .gzip = 1,
                                         .content_type = "text/plain"});
    struct result a = {0}, raw = {0};
    CHECK_INT(fetch(&f, "/gz", NULL, &a, 5000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_OK);
    CHECK_INT(a.http_code, ==, 200);
    CHECK_INT(a.body_len, ==, 110000);
    REQUIRE(a.body != NULL);
    CHECK(strncmp(a.body, "hello gzip hello gzip ", 22) == 0);
    CHECK_INT(strlen(a.body), ==, 110000);
    CHECK(a.wire_bytes < 20000); /* the compressed size, not the decoded one */

    /* VIGIL_HTTP_NO_DECODE: the gzip bytes as sent, and no Accept-Encoding. */
    struct vigil_http_request req = {.flags = VIGIL_HTTP_NO_DECODE};
    CHECK_INT(fetch(&f, "/gz", &req, &raw, 5000), ==, VIGIL_OK);
    CHECK_INT(raw.http_code, ==, 200);
    REQUIRE(raw.body != NULL && raw.body_len > 2);
    CHECK((unsigned char)raw.body[0] == 0x1f && (unsigned char)raw.body[1] == 0x8b);
    CHECK(raw.body_len < 20000);
    CHECK_INT(httpd_last_header(f.srv, "/gz", "Accept-Encoding", NULL, 0), ==, -1);
    result_free(&a);
    result_free(&raw);
    fx_fini(&f);
}

static void test_gzip_bomb_cut(void)
{
    struct fx f;
    const uint64_t max = 1 << 20;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_body = max}) == 0);
    /* 200 MB of zeros, about 200 KB gzipped. */
    const size_t bomb = (size_t)200 << 20;
    REQUIRE(httpd_route(f.srv, "/bomb",
                        &(struct httpd_response){.repeat_body_to = bomb, .gzip = 1}) == 0);
    struct result r = {0};
    CHECK_INT(fetch(&f, "/bomb", NULL, &r, 30000), ==, VIGIL_OK);
    CHECK_INT(r.status, ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(r.error, "body larger than 1048576 bytes");
    CHECK_CONTAINS(r.error, "/bomb");
    CHECK(r.body_null);
    CHECK_INT(r.http_code, ==, 200);
    /* Cut at the limit: what was decoded and kept never passed max_body, and
     * only a small part of the compressed stream was read. */
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.decoded_bytes, <=, max);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_TOO_BIG], ==, 1);
    CHECK_INT(r.wire_bytes, <, 100000);
    CHECK(r.total_time_s < 10.0); /* sanity bound, not a performance target */
    /* The bomb is real: ~200 KB on the wire. */
    struct result raw = {0};
    struct vigil_http_request nodecode = {.flags = VIGIL_HTTP_NO_DECODE, .max_body = 10 << 20};
    CHECK_INT(fetch(&f, "/bomb", &nodecode, &raw, 30000), ==, VIGIL_OK);
    CHECK_INT(raw.status, ==, VIGIL_OK);
    CHECK_INT(raw.body_len, >, 100000);
    CHECK_INT(raw.body_len, <, 1000000);
    result_free(&raw);
    result_free(&r);
    fx_fini(&f);
}

static void test_oversized_plain_body(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_body = 100000}) == 0);
    httpd_route(f.srv, "/big", &(struct httpd_response){.body = "x", .repeat_body_to = 3000000});
    httpd_route(f.srv, "/bigchunked",
                &(struct httpd_response){.body = "y", .repeat_body_to = 3000000, .chunked = 1});
    httpd_route(f.srv, "/exact", &(struct httpd_response){.body = "z", .repeat_body_to = 100000});
    struct result a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
    /* Advertised length over the limit (CURLOPT_MAXFILESIZE_LARGE). */
    CHECK_INT(fetch(&f, "/big", NULL, &a, 10000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(a.error, "body larger than 100000 bytes");
    CHECK(a.body_null);
    /* No length: cut by the write callback. */
    CHECK_INT(fetch(&f, "/bigchunked", NULL, &b, 10000), ==, VIGIL_OK);
    CHECK_INT(b.status, ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(b.error, "body larger than 100000 bytes");
    /* Exactly the limit is fine. */
    CHECK_INT(fetch(&f, "/exact", NULL, &c, 10000), ==, VIGIL_OK);
    CHECK_INT(c.status, ==, VIGIL_OK);
    CHECK_INT(c.body_len, ==, 100000);
    /* A request's own limit wins over the client's. */
    struct vigil_http_request small = {.max_body = 99999};
    CHECK_INT(fetch(&f, "/exact", &small, &d, 10000), ==, VIGIL_OK);
    CHECK_INT(d.status, ==, VIGIL_ETOOBIG);
    CHECK_CONTAINS(d.error, "body larger than 99999 bytes");
    struct vigil_http_request large = {.max_body = 4000000};
    CHECK_INT(fetch(&f, "/big", &large, &e, 10000), ==, VIGIL_OK);
    CHECK_INT(e.status, ==, VIGIL_OK);
    CHECK_INT(e.body_len, ==, 3000000);
    result_free(&a);
    result_free(&b);
    result_free(&c);
    result_free(&d);
    result_free(&e);
    fx_fini(&f);
}

static void test_low_speed_abort(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.low_speed_limit = 1000,
                                                   .low_speed_time_ms = 1000}) == 0);
    httpd_route(
        f.srv, "/trickle",
        &(struct httpd_response){.body = "t", .repeat_body_to = 20000, .trickle_bytes_per_s = 100});
    struct result r = {0};
    CHECK_INT(fetch(&f, "/trickle", NULL, &r, 15000), ==, VIGIL_OK);
    CHECK_INT(r.status, ==, VIGIL_ETIMEDOUT);
    CHECK_CONTAINS(r.error, "too slow");
    CHECK_CONTAINS(r.error, "/trickle");
    CHECK(r.body_null);
    CHECK(r.total_time_s < 10.0);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_TIMEOUT], ==, 1);
    result_free(&r);
    fx_fini(&f);
}

static void test_hang_total_timeout(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.timeout_ms = 700}) == 0);
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    struct result a = {0}, b = {0};
    /* Client default (700 ms). */
    CHECK_INT(fetch(&f, "/hang", NULL, &a, 10000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_ETIMEDOUT);
    CHECK_CONTAINS(a.error, "timed out");
    CHECK(a.total_time_s >= 0.6 && a.total_time_s < 5.0);
    /* Per request (300 ms). */
    struct vigil_http_request req = {.timeout_ms = 300};
    CHECK_INT(fetch(&f, "/hang", &req, &b, 10000), ==, VIGIL_OK);
    CHECK_INT(b.status, ==, VIGIL_ETIMEDOUT);
    CHECK(b.total_time_s >= 0.25 && b.total_time_s < 5.0);
    CHECK_INT(b.http_code, ==, 0);
    result_free(&a);
    result_free(&b);
    fx_fini(&f);
}

static void test_redirects(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/loop", &(struct httpd_response){.redirect_to = "/loop"});
    httpd_route(f.srv, "/r1", &(struct httpd_response){.status = 301, .redirect_to = "/r2"});
    httpd_route(f.srv, "/r2",
                &(struct httpd_response){.redirect_to = "/final",
                                         .etag = "\"r2\"",
                                         .content_type = "text/html",
                                         .body = "moved"});
    httpd_route(f.srv, "/final", &(struct httpd_response){.body = "arrived", .etag = "\"f\""});

    struct result loop = {0}, chain = {0}, nofollow = {0};
    CHECK_INT(fetch(&f, "/loop", NULL, &loop, 10000), ==, VIGIL_OK);
    CHECK_INT(loop.status, ==, VIGIL_EPROTO);
    CHECK_CONTAINS(loop.error, "Maximum (5) redirects followed");
    CHECK_INT(httpd_request_count(f.srv, "/loop"), ==, 6); /* the request + 5 redirects */

    CHECK_INT(fetch(&f, "/r1", NULL, &chain, 10000), ==, VIGIL_OK);
    CHECK_INT(chain.status, ==, VIGIL_OK);
    CHECK_INT(chain.http_code, ==, 200);
    CHECK_STR(chain.body, "arrived");
    CHECK_STR(chain.etag, "\"f\""); /* only the final response's headers */
    CHECK(!chain.has_content_type);
    char *final = httpd_url(f.srv, "/final");
    CHECK_STR(chain.effective_url, final);
    free(final);

    struct vigil_http_request req = {.flags = VIGIL_HTTP_NO_REDIRECTS};
    CHECK_INT(fetch(&f, "/r1", &req, &nofollow, 10000), ==, VIGIL_OK);
    CHECK_INT(nofollow.status, ==, VIGIL_OK);
    CHECK_INT(nofollow.http_code, ==, 301);
    CHECK_INT(httpd_request_count(f.srv, "/r1"), ==, 2);
    CHECK_INT(httpd_request_count(f.srv, "/r2"), ==, 1);
    result_free(&loop);
    result_free(&chain);
    result_free(&nofollow);
    fx_fini(&f);
}

static void test_redirect_limit_configurable(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_redirects = 2}) == 0);
    httpd_route(f.srv, "/loop", &(struct httpd_response){.redirect_to = "/loop"});
    struct result r = {0};
    CHECK_INT(fetch(&f, "/loop", NULL, &r, 10000), ==, VIGIL_OK);
    CHECK_INT(r.status, ==, VIGIL_EPROTO);
    CHECK_CONTAINS(r.error, "Maximum (2) redirects followed");
    CHECK_INT(httpd_request_count(f.srv, "/loop"), ==, 3);
    result_free(&r);
    fx_fini(&f);
}

static void test_redirect_to_other_protocols_refused(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/evil", &(struct httpd_response){.redirect_to = "file:///etc/passwd"});
    httpd_route(f.srv, "/ftp", &(struct httpd_response){.redirect_to = "ftp://127.0.0.1/x"});
    struct result a = {0}, b = {0};
    CHECK_INT(fetch(&f, "/evil", NULL, &a, 10000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_EPROTO);
    CHECK_CONTAINS(a.error, "redirect refused");
    CHECK_CONTAINS(a.error, "file");
    CHECK(a.body_null);
    CHECK(a.body == NULL || !strstr(a.body, "root:"));
    CHECK_INT(fetch(&f, "/ftp", NULL, &b, 10000), ==, VIGIL_OK);
    CHECK_INT(b.status, ==, VIGIL_EPROTO);
    CHECK_CONTAINS(b.error, "redirect refused");
    CHECK(b.body_null);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_PROTOCOL], ==, 2);
    result_free(&a);
    result_free(&b);
    fx_fini(&f);
}

static void test_bad_requests_refused_synchronously(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    static const char *const bad_urls[] = {"file:///etc/passwd",
                                           "ftp://127.0.0.1/",
                                           "gopher://127.0.0.1/",
                                           "",
                                           "127.0.0.1/x",
                                           "javascript:alert(1)",
                                           "http://",
                                           "http://exa mple.com/",
                                           "dict://127.0.0.1:11211/"};
    struct result r = {0};
    struct vigil_http_call *call = (struct vigil_http_call *)&r;
    for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
        struct vigil_http_request req = {.struct_size = sizeof req, .url = bad_urls[i]};
        in_api = 1;
        int rc = core_http_request(f.c, &req, on_resp, &r, &call);
        in_api = 0;
        if (rc != VIGIL_EINVAL)
            fprintf(stderr, "  url %s: %d\n", bad_urls[i], rc);
        CHECK_INT(rc, ==, VIGIL_EINVAL);
        CHECK(call == NULL);
    }
    char *url = httpd_url(f.srv, "/x");
    const char *crlf_header[] = {"X-A: b\r\nX-Injected: 1", NULL};
    const char *no_colon[] = {"NoColon", NULL};
    struct vigil_http_request bad[] = {
        {.struct_size = sizeof bad[0], .url = url, .method = "GE T"},
        {.struct_size = sizeof bad[0], .url = url, .method = ""},
        {.struct_size = sizeof bad[0], .url = url, .headers = crlf_header},
        {.struct_size = sizeof bad[0], .url = url, .headers = no_colon},
        {.struct_size = sizeof bad[0], .url = url, .etag = "\"a\"\r\nX: y"},
        {.struct_size = 0, .url = url},
        {.struct_size = sizeof bad[0], .url = NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        in_api = 1;
        CHECK_INT(core_http_request(f.c, &bad[i], on_resp, &r, NULL), ==, VIGIL_EINVAL);
        in_api = 0;
    }
    struct vigil_http_request ok = {.struct_size = sizeof ok, .url = url};
    CHECK_INT(core_http_request(f.c, &ok, NULL, NULL, NULL), ==, VIGIL_EINVAL);
    free(url);
    run_for(&f, 100);
    CHECK_INT(r.calls, ==, 0);
    CHECK_INT(httpd_request_count(f.srv, NULL), ==, 0);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.started, ==, 0);
    CHECK_INT(st.refused, ==, sizeof bad_urls / sizeof *bad_urls + sizeof bad / sizeof *bad + 1);
    CHECK_CONTAINS(f.log.data, "only http:// and https:// URLs are fetched");
    result_free(&r);
    fx_fini(&f);
}

static void test_connection_refused(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    /* A port nobody listens on: bind, read the port, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
            getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nobody", ntohs(sa.sin_port));
    struct result r = {0};
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    CHECK_INT(core_http_request(f.c, &req, on_resp, &r, NULL), ==, VIGIL_OK);
    CHECK_INT(run_until_count(&f, &r.calls, 1, 10000), ==, 0);
    CHECK_INT(r.status, ==, VIGIL_EIO);
    CHECK_CONTAINS(r.error, "/nobody");
    CHECK_CONTAINS(r.error, "onnect"); /* "Failed to connect ..." */
    CHECK_INT(r.http_code, ==, 0);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_NETWORK], ==, 1);
    result_free(&r);
    fx_fini(&f);
}

static void test_cancel(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_total = 1}) == 0);
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    httpd_route(f.srv, "/ok", &(struct httpd_response){.body = "fine"});
    struct result running = {0}, queued = {0}, after = {0};
    struct vigil_http_call *c1 = NULL, *c2 = NULL;
    CHECK_INT(start(&f, "/hang", NULL, &running, &c1), ==, VIGIL_OK);
    CHECK_INT(start(&f, "/hang", NULL, &queued, &c2), ==, VIGIL_OK);
    REQUIRE(c1 && c2);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.active, ==, 1);
    CHECK_INT(st.queued, ==, 1);
    CHECK_INT(run_until_server(&f, "/hang", 1, 5000), ==, 0);

    /* A queued request. */
    in_api = 1;
    core_http_cancel(c2);
    in_api = 0;
    CHECK_INT(queued.calls, ==, 0); /* not inside cancel */
    /* The running one: its transfer goes away at once, the callback later. */
    in_api = 1;
    core_http_cancel(c1);
    core_http_cancel(c1); /* twice: still one callback */
    in_api = 0;
    CHECK_INT(running.calls, ==, 0);
    CHECK_INT(run_until_count(&f, &running.calls, 1, 5000), ==, 0);
    CHECK_INT(run_until_count(&f, &queued.calls, 1, 5000), ==, 0);
    CHECK_INT(running.status, ==, VIGIL_ECANCELED);
    CHECK_CONTAINS(running.error, "canceled");
    CHECK_INT(queued.status, ==, VIGIL_ECANCELED);
    run_for(&f, 100);
    CHECK_INT(running.calls, ==, 1);
    CHECK_INT(queued.calls, ==, 1);
    CHECK_INT(httpd_request_count(f.srv, "/hang"), ==, 1); /* the queued one never went out */

    /* The slot is free again. */
    CHECK_INT(fetch(&f, "/ok", NULL, &after, 5000), ==, VIGIL_OK);
    CHECK_INT(after.http_code, ==, 200);
    core_http_stats(f.c, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_CANCELED], ==, 2);
    CHECK_INT(st.active, ==, 0);
    CHECK_INT(st.queued, ==, 0);
    result_free(&running);
    result_free(&queued);
    result_free(&after);
    fx_fini(&f);
}

static void test_per_host_cap(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_per_host = 2}) == 0);
    httpd_route(f.srv, "/slow", &(struct httpd_response){.body = "s", .delay_ms = 150});
    struct result r[10];
    memset(r, 0, sizeof r);
    int done = 0;
    for (int i = 0; i < 10; i++) {
        char path[32];
        snprintf(path, sizeof path, "/slow?i=%d", i);
        CHECK_INT(start(&f, path, NULL, &r[i], NULL), ==, VIGIL_OK);
    }
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.active, ==, 2);
    CHECK_INT(st.queued, ==, 8);
    int64_t end = mono_ms() + 20000;
    while (done < 10 && mono_ms() < end) {
        uv_run(&f.loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < 10; i++)
            done += r[i].calls;
    }
    CHECK_INT(done, ==, 10);
    for (int i = 0; i < 10; i++) {
        CHECK_INT(r[i].http_code, ==, 200);
        result_free(&r[i]);
    }
    /* FIFO: requests reach the server in the order they were made (two at
     * a time, so neighbours may swap). */
    for (size_t pos = 0; pos < 10; pos++) {
        struct httpd_request_info info;
        REQUIRE(httpd_request_info(f.srv, "/slow", pos, &info) == 0);
        int i = (int)strtol(info.target + strlen("/slow?i="), NULL, 10);
        CHECK_INT(abs(i - (int)pos), <=, 1);
    }
    CHECK_INT(httpd_max_connections(f.srv), <=, 2);
    CHECK_INT(httpd_max_inflight(f.srv), ==, 2);
    CHECK_INT(httpd_connection_count(f.srv), <=, 2); /* kept alive and reused */
    fx_fini(&f);
}

static void test_many_parallel(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    static const char *const paths[] = {"/a", "/b", "/c", "/d", "/e"};
    enum { N = 200, P = 5 };
    for (int p = 0; p < P; p++) {
        char body[64];
        snprintf(body, sizeof body, "body of %s", paths[p]);
        httpd_route(f.srv, paths[p], &(struct httpd_response){.body = body, .delay_ms = p * 3});
    }
    struct result *r = calloc(N, sizeof *r);
    REQUIRE(r);
    for (int i = 0; i < N; i++)
        CHECK_INT(start(&f, paths[i % P], NULL, &r[i], NULL), ==, VIGIL_OK);
    int done = 0;
    int64_t end = mono_ms() + 60000;
    while (done < N && mono_ms() < end) {
        uv_run(&f.loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < N; i++)
            done += r[i].calls;
    }
    CHECK_INT(done, ==, N);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        char want[64];
        snprintf(want, sizeof want, "body of %s", paths[i % P]);
        ok += r[i].calls == 1 && r[i].http_code == 200 && r[i].body && !strcmp(r[i].body, want);
        result_free(&r[i]);
    }
    CHECK_INT(ok, ==, N);
    free(r);
    CHECK_INT(httpd_request_count(f.srv, NULL), ==, N);
    CHECK_INT(httpd_connection_count(f.srv), <, N / 4); /* connections reused */
    CHECK_INT(httpd_max_connections(f.srv), <=, 6);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.started, ==, N);
    CHECK_INT(st.finished, ==, N);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_2XX], ==, N);
    CHECK_INT(st.latency_count, ==, N);
    CHECK_INT(st.latency_le[CORE_HTTP_LATENCY_BUCKETS - 1], ==, N);
    for (int i = 1; i < CORE_HTTP_LATENCY_BUCKETS; i++)
        CHECK_INT(st.latency_le[i], >=, st.latency_le[i - 1]);
    CHECK(st.wire_bytes > st.decoded_bytes);
    fx_fini(&f);
}

struct chain {
    struct fx *f;
    int left;
    int calls;
    int last_code;
    int rc;
};

static void on_chain(void *arg, const struct vigil_http_response *r)
{
    struct chain *ch = arg;
    CHECK(!in_api);
    ch->calls++;
    ch->last_code = (int)r->http_code;
    if (r->status != VIGIL_OK || r->http_code != 200 || --ch->left <= 0)
        return;
    /* A new request from inside the callback. */
    char *url = httpd_url(ch->f->srv, "/next");
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    in_api = 1;
    ch->rc = core_http_request(ch->f->c, &req, on_chain, ch, NULL);
    in_api = 0;
    free(url);
}

static void test_request_from_callback(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/next", &(struct httpd_response){.body = "n"});
    struct chain ch = {.f = &f, .left = 5};
    char *url = httpd_url(f.srv, "/next");
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    CHECK_INT(core_http_request(f.c, &req, on_chain, &ch, NULL), ==, VIGIL_OK);
    free(url);
    CHECK_INT(run_until_count(&f, &ch.calls, 5, 10000), ==, 0);
    CHECK_INT(ch.calls, ==, 5);
    CHECK_INT(ch.rc, ==, VIGIL_OK);
    CHECK_INT(ch.last_code, ==, 200);
    CHECK_INT(httpd_request_count(f.srv, "/next"), ==, 5);
    fx_fini(&f);
}

struct closer {
    struct fx *f;
    int calls;
    int status;
    int retry_rc;
};

static void on_close_request(void *arg, const struct vigil_http_response *r)
{
    struct closer *cl = arg;
    CHECK(!in_api);
    cl->calls++;
    cl->status = r->status;
    /* The client is closing: new requests are refused. */
    char *url = httpd_url(cl->f->srv, "/fast");
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    cl->retry_rc = core_http_request(cl->f->c, &req, on_resp, NULL, NULL);
    free(url);
}

static void test_close_with_requests_in_flight(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_total = 3}) == 0);
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    enum { N = 8 };
    struct closer cl[N];
    char *url = httpd_url(f.srv, "/hang");
    for (int i = 0; i < N; i++) {
        cl[i] = (struct closer){.f = &f};
        struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
        CHECK_INT(core_http_request(f.c, &req, on_close_request, &cl[i], NULL), ==, VIGIL_OK);
    }
    free(url);
    CHECK_INT(run_until_server(&f, "/hang", 3, 5000), ==, 0);
    in_api = 1;
    core_http_close(f.c, on_closed, &f);
    core_http_close(f.c, on_closed, &f); /* no-op */
    in_api = 0;
    for (int i = 0; i < N; i++)
        CHECK_INT(cl[i].calls, ==, 0); /* not inside close */
    CHECK_INT(run_until_count(&f, &f.closed, 1, 10000), ==, 0);
    run_for(&f, 50);
    for (int i = 0; i < N; i++) {
        CHECK_INT(cl[i].calls, ==, 1);
        CHECK_INT(cl[i].status, ==, VIGIL_ECANCELED);
        CHECK_INT(cl[i].retry_rc, ==, VIGIL_ESTATE);
    }
    CHECK_INT(f.closed, ==, 1);
    fx_fini(&f); /* uv_loop_close() == 0 */
}

struct close_from_cb {
    struct fx *f;
    int calls;
};

static void on_close_from_cb(void *arg, const struct vigil_http_response *r)
{
    struct close_from_cb *x = arg;
    x->calls++;
    CHECK_INT(r->http_code, ==, 200);
    core_http_close(x->f->c, on_closed, x->f);
}

static void test_close_from_callback(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/fast", &(struct httpd_response){.body = "f"});
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    struct result hung[3];
    memset(hung, 0, sizeof hung);
    for (int i = 0; i < 3; i++)
        CHECK_INT(start(&f, "/hang", NULL, &hung[i], NULL), ==, VIGIL_OK);
    CHECK_INT(run_until_server(&f, "/hang", 3, 5000), ==, 0);
    struct close_from_cb x = {.f = &f};
    char *url = httpd_url(f.srv, "/fast");
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    CHECK_INT(core_http_request(f.c, &req, on_close_from_cb, &x, NULL), ==, VIGIL_OK);
    free(url);
    CHECK_INT(run_until_count(&f, &f.closed, 1, 10000), ==, 0);
    CHECK_INT(x.calls, ==, 1);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(hung[i].calls, ==, 1);
        CHECK_INT(hung[i].status, ==, VIGIL_ECANCELED);
        result_free(&hung[i]);
    }
    fx_fini(&f);
}

static void test_post_body_and_headers(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/hook", &(struct httpd_response){.status = 202, .body = "queued"});
    const char *json = "{\"event\":\"earthquake\",\"n\":1}";
    const char *hdrs[] = {"Content-Type: application/json", "X-Vigil-Signature: sha256=abc", NULL};
    struct vigil_http_request req = {
        .method = "POST", .body = json, .body_len = strlen(json), .headers = hdrs};
    /* The body is copied: scribbling over the caller's buffer after the call
     * must not change what is sent. */
    char *copy = strdup(json);
    req.body = copy;
    struct result r = {0};
    CHECK_INT(start(&f, "/hook", &req, &r, NULL), ==, VIGIL_OK);
    memset(copy, 'X', strlen(copy));
    free(copy);
    CHECK_INT(run_until_count(&f, &r.calls, 1, 5000), ==, 0);
    CHECK_INT(r.status, ==, VIGIL_OK);
    CHECK_INT(r.http_code, ==, 202);
    CHECK_STR(r.body, "queued");
    size_t len = 0;
    char *got = httpd_request_body(f.srv, "/hook", 0, &len);
    CHECK_STR(got, json);
    CHECK_INT(len, ==, strlen(json));
    free(got);
    struct httpd_request_info info;
    REQUIRE(httpd_request_info(f.srv, "/hook", 0, &info) == 0);
    CHECK_STR(info.method, "POST");
    char v[128] = "";
    CHECK_INT(httpd_last_header(f.srv, "/hook", "Content-Type", v, sizeof v), ==, 0);
    CHECK_STR(v, "application/json");
    CHECK_INT(httpd_last_header(f.srv, "/hook", "X-Vigil-Signature", v, sizeof v), ==, 0);
    CHECK_STR(v, "sha256=abc");
    CHECK_INT(httpd_last_header(f.srv, "/hook", "Expect", NULL, 0), ==, -1);

    /* Binary body with NULs, larger than curl's Expect threshold, with PUT. */
    size_t blen = 200000;
    unsigned char *bin = malloc(blen);
    REQUIRE(bin);
    for (size_t i = 0; i < blen; i++)
        bin[i] = (unsigned char)(i * 7);
    struct vigil_http_request put = {.method = "PUT", .body = bin, .body_len = blen};
    struct result r2 = {0};
    CHECK_INT(fetch(&f, "/hook", &put, &r2, 5000), ==, VIGIL_OK);
    CHECK_INT(r2.http_code, ==, 202);
    got = httpd_request_body(f.srv, "/hook", 1, &len);
    CHECK_INT(len, ==, blen);
    CHECK(got && memcmp(got, bin, blen) == 0);
    free(got);
    free(bin);
    REQUIRE(httpd_request_info(f.srv, "/hook", 1, &info) == 0);
    CHECK_STR(info.method, "PUT");

    /* POST without a body. */
    struct vigil_http_request empty = {.method = "POST"};
    struct result r3 = {0};
    CHECK_INT(fetch(&f, "/hook", &empty, &r3, 5000), ==, VIGIL_OK);
    CHECK_INT(r3.http_code, ==, 202);
    REQUIRE(httpd_request_info(f.srv, "/hook", 2, &info) == 0);
    CHECK_STR(info.method, "POST");
    CHECK_INT(info.body_len, ==, 0);
    result_free(&r);
    result_free(&r2);
    result_free(&r3);
    fx_fini(&f);
}

static void test_head_and_delete(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/res",
                &(struct httpd_response){
                    .body = "resource body", .content_type = "text/html", .etag = "\"h\""});
    struct vigil_http_request head = {.method = "HEAD"};
    struct vigil_http_request del = {.method = "DELETE"};
    struct result a = {0}, b = {0};
    CHECK_INT(fetch(&f, "/res", &head, &a, 5000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_OK);
    CHECK_INT(a.http_code, ==, 200);
    CHECK(a.body_null);
    CHECK_STR(a.content_type, "text/html");
    CHECK_STR(a.etag, "\"h\"");
    CHECK_INT(fetch(&f, "/res", &del, &b, 5000), ==, VIGIL_OK);
    CHECK_INT(b.http_code, ==, 200);
    struct httpd_request_info info;
    REQUIRE(httpd_request_info(f.srv, "/res", 0, &info) == 0);
    CHECK_STR(info.method, "HEAD");
    REQUIRE(httpd_request_info(f.srv, "/res", 1, &info) == 0);
    CHECK_STR(info.method, "DELETE");
    result_free(&a);
    result_free(&b);
    fx_fini(&f);
}

static void test_total_cap_and_host_skip(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_total = 3, .max_per_host = 2}) == 0);
    struct httpd *other = httpd_start();
    REQUIRE(other);
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    httpd_route(other, "/fast", &(struct httpd_response){.body = "quick"});
    /* Two requests fill host A's cap, three more for A wait behind them... */
    struct result a[5], b = {0};
    memset(a, 0, sizeof a);
    for (int i = 0; i < 5; i++)
        CHECK_INT(start(&f, "/hang", NULL, &a[i], NULL), ==, VIGIL_OK);
    struct core_http_stats st;
    core_http_stats(f.c, &st);
    CHECK_INT(st.active, ==, 2);
    CHECK_INT(st.queued, ==, 3);
    /* ...and a request for host B, queued last, goes ahead of them. */
    char *url = httpd_url(other, "/fast");
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    CHECK_INT(core_http_request(f.c, &req, on_resp, &b, NULL), ==, VIGIL_OK);
    free(url);
    core_http_stats(f.c, &st);
    CHECK_INT(st.active, ==, 3); /* the global cap */
    CHECK_INT(run_until_count(&f, &b.calls, 1, 5000), ==, 0);
    CHECK_INT(b.http_code, ==, 200);
    CHECK_STR(b.body, "quick");
    CHECK_INT(run_until_server(&f, "/hang", 2, 5000), ==, 0);
    run_for(&f, 50);
    CHECK_INT(httpd_request_count(f.srv, "/hang"), ==, 2);
    CHECK_INT(httpd_max_connections(f.srv), ==, 2);
    fx_fini(&f);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(a[i].calls, ==, 1);
        CHECK_INT(a[i].status, ==, VIGIL_ECANCELED);
    }
    result_free(&b);
    httpd_stop(other);
}

/* The fixture answers absolute-form targets ("GET http://host/path"), so it
 * can stand in for a forward proxy. */
static void test_proxy(void)
{
    struct httpd *proxy = httpd_start();
    REQUIRE(proxy);
    httpd_route(proxy, "http://vigil.invalid/via", &(struct httpd_response){.body = "proxied"});
    char purl[64];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", httpd_port(proxy));

    /* Configured proxy. */
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.proxy = purl}) == 0);
    struct result a = {0};
    struct vigil_http_request req = {.struct_size = sizeof req, .url = "http://vigil.invalid/via"};
    CHECK_INT(core_http_request(f.c, &req, on_resp, &a, NULL), ==, VIGIL_OK);
    CHECK_INT(run_until_count(&f, &a.calls, 1, 5000), ==, 0);
    CHECK_INT(a.status, ==, VIGIL_OK);
    CHECK_STR(a.body, "proxied");
    fx_fini(&f);

    /* From the environment (libcurl's default), no_proxy still honoured. */
    setenv("http_proxy", purl, 1);
    REQUIRE(fx_init(&f, NULL) == 0);
    httpd_route(f.srv, "/direct", &(struct httpd_response){.body = "direct"});
    struct result b = {0}, c = {0};
    CHECK_INT(core_http_request(f.c, &req, on_resp, &b, NULL), ==, VIGIL_OK);
    CHECK_INT(run_until_count(&f, &b.calls, 1, 5000), ==, 0);
    CHECK_STR(b.body, "proxied");
    CHECK_INT(fetch(&f, "/direct", NULL, &c, 5000), ==, VIGIL_OK); /* 127.0.0.1: no proxy */
    CHECK_STR(c.body, "direct");
    fx_fini(&f);
    unsetenv("http_proxy");
    CHECK_INT(httpd_request_count(proxy, "http://vigil.invalid/via"), ==, 2);
    CHECK_INT(httpd_request_count(proxy, NULL), ==, 2);
    result_free(&a);
    result_free(&b);
    result_free(&c);
    httpd_stop(proxy);
}

static void test_queue_limit(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.max_total = 1, .max_queued = 2}) == 0);
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    struct result r[4];
    memset(r, 0, sizeof r);
    CHECK_INT(start(&f, "/hang", NULL, &r[0], NULL), ==, VIGIL_OK); /* running */
    CHECK_INT(start(&f, "/hang", NULL, &r[1], NULL), ==, VIGIL_OK); /* queued */
    CHECK_INT(start(&f, "/hang", NULL, &r[2], NULL), ==, VIGIL_OK); /* queued */
    CHECK_INT(start(&f, "/hang", NULL, &r[3], NULL), ==, VIGIL_ETOOBIG);
    fx_fini(&f);
    for (int i = 0; i < 3; i++)
        CHECK_INT(r[i].calls, ==, 1);
    CHECK_INT(r[3].calls, ==, 0);
}

static void test_create_rejects_bad_config(void)
{
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    struct core_http *c = NULL;
    struct vigil_error err = {0};
    CHECK_INT(core_http_create(&loop, &(struct core_http_config){.max_total = -1}, &c, &err), ==,
              VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "max_total");
    CHECK(c == NULL);
    CHECK_INT(core_http_create(&loop, &(struct core_http_config){.timeout_ms = -5}, &c, &err), ==,
              VIGIL_EINVAL);
    CHECK_INT(uv_loop_close(&loop), ==, 0);
}


/* Hard limits of a request and of what is kept from a response: a URL over
 * 64 KB and a method over 32 bytes are refused before anything starts;
 * header values over 8 KB (ETag, Content-Type, Last-Modified) are treated
 * as absent, so a hostile server cannot make a validator that big. */
static void test_url_method_and_header_value_caps(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, NULL) == 0);
    struct result r = {0};
    /* URL: 65,536 bytes pass the size check, one more is refused. */
    char *url = httpd_url(f.srv, "/x?q=");
    size_t base = strlen(url);
    char *longurl = malloc(65538);
    REQUIRE(longurl);
    memcpy(longurl, url, base);
    memset(longurl + base, 'a', 65537 - base);
    longurl[65537] = '\0';
    struct vigil_http_request req = {.struct_size = sizeof req, .url = longurl};
    in_api = 1;
    CHECK_INT(core_http_request(f.c, &req, on_resp, &r, NULL), ==, VIGIL_EINVAL);
    in_api = 0;
    CHECK_CONTAINS(f.log.data, "URL empty or longer than 64 KB");
    longurl[65536] = '\0';
    httpd_route(f.srv, "/x", &(struct httpd_response){.body = "ok"});
    in_api = 1;
    CHECK_INT(core_http_request(f.c, &req, on_resp, &r, NULL), ==, VIGIL_OK);
    in_api = 0;
    CHECK_INT(run_until_count(&f, &r.calls, 1, 10000), ==, 0);
    CHECK_INT(r.status, ==, VIGIL_OK); /* sent: the fixture answers 431 to such a line */
    CHECK_INT(r.http_code, ==, 431);
    free(longurl);

    /* Method: a token of 32 bytes is sent, 33 bytes are refused. */
    char m32[33], m33[34];
    memset(m32, 'M', 32);
    m32[32] = '\0';
    memset(m33, 'M', 33);
    m33[33] = '\0';
    struct vigil_http_request mreq = {.struct_size = sizeof mreq, .url = url, .method = m33};
    in_api = 1;
    CHECK_INT(core_http_request(f.c, &mreq, on_resp, &r, NULL), ==, VIGIL_EINVAL);
    in_api = 0;
    mreq.method = m32;
    struct result r2 = {0};
    in_api = 1;
    CHECK_INT(core_http_request(f.c, &mreq, on_resp, &r2, NULL), ==, VIGIL_OK);
    in_api = 0;
    CHECK_INT(run_until_count(&f, &r2.calls, 1, 10000), ==, 0);
    CHECK_INT(r2.status, ==, VIGIL_OK); /* sent (the fixture refuses such methods: 400) */
    CHECK_INT(r2.http_code, ==, 400);

    /* Response header values: 8,192 bytes are kept, 8,193 are dropped. */
    char *v8k = malloc(8193 + 3), *over = malloc(8194 + 3);
    REQUIRE(v8k && over);
    v8k[0] = over[0] = '"';
    memset(v8k + 1, 'e', 8190);
    v8k[8191] = '"';
    v8k[8192] = '\0';
    memset(over + 1, 'e', 8191);
    over[8192] = '"';
    over[8193] = '\0';
    httpd_route(f.srv, "/etag-ok", &(struct httpd_response){.body = "a", .etag = v8k});
    httpd_route(f.srv, "/etag-big", &(struct httpd_response){.body = "b", .etag = over,
                                                              .content_type = over});
    struct result a = {0}, b = {0};
    CHECK_INT(fetch(&f, "/etag-ok", NULL, &a, 10000), ==, VIGIL_OK);
    CHECK_INT(a.status, ==, VIGIL_OK);
    CHECK(a.has_etag);
    CHECK_INT(fetch(&f, "/etag-big", NULL, &b, 10000), ==, VIGIL_OK);
    CHECK_INT(b.status, ==, VIGIL_OK);
    CHECK_STR(b.body, "b");
    CHECK(!b.has_etag);
    CHECK(!b.has_content_type);
    free(v8k);
    free(over);
    free(url);
    result_free(&r);
    result_free(&r2);
    result_free(&a);
    result_free(&b);
    fx_fini(&f);
}

/* connect_timeout: a listener whose accept queue is full never completes
 * the handshake (Linux drops the SYN), so the connect phase is what ends
 * the request, with libcurl's "Connection timed out" text. */
static void test_connect_timeout(void)
{
    struct fx f;
    REQUIRE(fx_init(&f, &(struct core_http_config){.connect_timeout_ms = 300,
                                                    .timeout_ms = 20000}) == 0);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    REQUIRE(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0);
    REQUIRE(listen(lfd, 0) == 0);
    REQUIRE(getsockname(lfd, (struct sockaddr *)&sa, &sl) == 0);
    /* Fill the accept queue (backlog 0 holds one; a few more to be sure). */
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fill[i] >= 0)
            (void)connect(fill[i], (struct sockaddr *)&sa, sizeof sa);
    }
    usleep(100000);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(sa.sin_port));
    struct vigil_http_request req = {.struct_size = sizeof req, .url = url};
    struct result r = {0};
    in_api = 1;
    CHECK_INT(core_http_request(f.c, &req, on_resp, &r, NULL), ==, VIGIL_OK);
    in_api = 0;
    CHECK_INT(run_until_count(&f, &r.calls, 1, 15000), ==, 0);
    CHECK_INT(r.status, ==, VIGIL_ETIMEDOUT);
    CHECK_CONTAINS(r.error, "onnect");
    CHECK(r.total_time_s < 10.0); /* the connect limit ended it, not the total */
    for (int i = 0; i < 4; i++)
        if (fill[i] >= 0)
            close(fill[i]);
    close(lfd);
    result_free(&r);
    fx_fini(&f);
}

int main(void)
{
    /* The process initialises libcurl, never the client. Loopback only:
     * ignore any proxy configured in the environment. */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "curl_global_init failed\n");
        return 1;
    }
    RUN(test_get_200);
    RUN(test_custom_user_agent);
    RUN(test_404_500_are_responses);
    RUN(test_retry_after);
    RUN(test_conditional_get);
    RUN(test_gzip_decoded);
    RUN(test_gzip_bomb_cut);
    RUN(test_oversized_plain_body);
    RUN(test_low_speed_abort);
    RUN(test_hang_total_timeout);
    RUN(test_redirects);
    RUN(test_redirect_limit_configurable);
    RUN(test_redirect_to_other_protocols_refused);
    RUN(test_bad_requests_refused_synchronously);
    RUN(test_connection_refused);
    RUN(test_cancel);
    RUN(test_per_host_cap);
    RUN(test_many_parallel);
    RUN(test_request_from_callback);
    RUN(test_close_with_requests_in_flight);
    RUN(test_close_from_callback);
    RUN(test_post_body_and_headers);
    RUN(test_head_and_delete);
    RUN(test_total_cap_and_host_skip);
    RUN(test_proxy);
    RUN(test_queue_limit);
    RUN(test_create_rejects_bad_config);
    RUN(test_url_method_and_header_value_caps);
    RUN(test_connect_timeout);
    curl_global_cleanup();
    return test_summary();
}
