/*
 * The page transform's hooks through the fake host: fetching, skipping,
 * error recording and on_error, no queue of its own, stop.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_host.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_transform_page(const struct vigil_host *host,
                                                            struct vigil_error *err);

static const struct vigil_plugin *PL;

struct call {
    int calls;
    int result;
    char msg[256];
    json_t *doc;
};

static void on_done(void *arg, int result, const char *errmsg)
{
    struct call *c = arg;
    c->calls++;
    c->result = result;
    snprintf(c->msg, sizeof c->msg, "%s", errmsg ? errmsg : "");
}

struct run {
    struct fake_host fh;
    void *conf, *state;
};

static int open_tr(struct run *r, const char *const *opts)
{
    struct vigil_error err = {0};
    fake_init(&r->fh);
    r->conf = fake_conf(PL, opts);
    if (!r->conf)
        return -1;
    return PL->create(&r->fh.host, fake_ins(&r->fh), r->conf, &r->state, &err);
}

static void close_tr(struct run *r)
{
    PL->stop(r->state);
    fake_run(&r->fh);
    PL->destroy(r->state);
    fake_conf_free(PL, r->conf);
    fake_free(&r->fh);
}

static json_t *mkdoc(const char *id, const char *url, const char *html)
{
    json_t *d = json_object();
    json_object_set_new(d, "id", json_string(id));
    if (url)
        json_object_set_new(d, "url", json_string(url));
    if (html)
        json_object_set_new(d, "html", json_string(html));
    return d;
}

static void submit(struct run *r, struct call *c, json_t *doc)
{
    c->doc = doc;
    CHECK_INT(PL->process_async(r->state, doc, on_done, c), ==, VIGIL_OK);
}

static void test_fetch_and_skip(void)
{
    struct run r;
    const char *opts[] = {"timeout", "10s", "max_body", "1MB", NULL};
    struct call a = {0}, b = {0}, c = {0};
    REQUIRE(open_tr(&r, opts) == 0);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    submit(&r, &a, mkdoc("a", "https://p.example/a", NULL));
    submit(&r, &b, mkdoc("b", "https://p.example/b", big)); /* enough html already */
    submit(&r, &c, mkdoc("c", NULL, NULL));                 /* nothing to fetch */
    CHECK_INT(fake_pending(&r.fh), ==, 1);
    struct fake_req *q = fake_find_req(&r.fh, "https://p.example/a");
    REQUIRE(q);
    CHECK_INT(q->timeout_ms, ==, 10000);
    CHECK_INT(q->max_body, ==, 1 << 20);
    /* Nothing to fetch: done before process_async returned (allowed by
     * the ABI), exactly once. */
    CHECK_INT(b.calls, ==, 1);
    CHECK_INT(c.calls, ==, 1);
    CHECK_INT(b.result, ==, VIGIL_PASS);
    fake_respond(&r.fh, q, 200, "<html><body>Article</body></html>", "text/html", NULL, NULL, -1);
    CHECK_INT(a.calls, ==, 1);
    CHECK_INT(a.result, ==, VIGIL_PASS);
    CHECK_STR(json_string_value(json_object_get(a.doc, "html")),
              "<html><body>Article</body></html>");
    CHECK_INT(fake_counter(&r.fh, "fetched"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "skipped"), ==, 2);
    json_decref(a.doc);
    json_decref(b.doc);
    json_decref(c.doc);
    close_tr(&r);
}

static void test_errors_recorded(void)
{
    struct run r;
    struct call a = {0}, b = {0};
    REQUIRE(open_tr(&r, NULL) == 0);
    submit(&r, &a, mkdoc("doc-a", "https://p.example/missing", NULL));
    submit(&r, &b, mkdoc("doc-b", "mailto:someone@example.com", NULL));
    CHECK_INT(b.calls, ==, 1); /* known at once, no request */
    CHECK_INT(fake_pending(&r.fh), ==, 1);
    fake_respond(&r.fh, fake_find_req(&r.fh, "https://p.example/missing"), 404, "no", "text/html",
                 NULL, NULL, -1);
    fake_run(&r.fh);
    CHECK_INT(a.calls, ==, 1);
    CHECK_INT(a.result, ==, VIGIL_PASS); /* on_error: pass */
    json_t *e = json_array_get(json_object_get(json_object_get(a.doc, "meta"), "errors"), 0);
    REQUIRE(e);
    CHECK_STR(json_string_value(json_object_get(e, "stage")), "stage");
    CHECK_INT(json_integer_value(json_object_get(e, "code")), ==, VIGIL_EPROTO);
    CHECK_STR(json_string_value(json_object_get(e, "message")),
              "fetch https://p.example/missing: HTTP 404");
    CHECK_INT(b.calls, ==, 1);
    e = json_array_get(json_object_get(json_object_get(b.doc, "meta"), "errors"), 0);
    CHECK_CONTAINS(json_string_value(json_object_get(e, "message")), "is not http:// or https://");
    CHECK_INT(fake_counter(&r.fh, "errors_http_4xx"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "errors_url"), ==, 1);
    CHECK_CONTAINS(r.fh.logs.data,
                   "page: document doc-a: fetch https://p.example/missing: HTTP 404");
    json_decref(a.doc);
    json_decref(b.doc);
    close_tr(&r);

    const char *drop[] = {"on_error", "drop", NULL};
    struct call c = {0};
    REQUIRE(open_tr(&r, drop) == 0);
    submit(&r, &c, mkdoc("doc-c", "https://p.example/slow", NULL));
    fake_fail(&r.fh, fake_find_req(&r.fh, "https://p.example/slow"), VIGIL_ETIMEDOUT, "timed out");
    CHECK_INT(c.calls, ==, 1);
    CHECK_INT(c.result, ==, VIGIL_DROP);
    CHECK_CONTAINS(c.msg, "timed out");
    CHECK_INT(fake_counter(&r.fh, "errors_timeout"), ==, 1);
    CHECK_INT(fake_counter(&r.fh, "dropped"), ==, 1);
    json_decref(c.doc);
    close_tr(&r);
}

/* The core bounds concurrency (the stage's max_inflight); the transform
 * starts every document it is given at once, in order, and stop() ends
 * each in-flight one exactly once through its canceled callback. */
static void test_no_queue_and_stop(void)
{
    struct run r;
    struct call c[5] = {{0}};
    char url[64];
    REQUIRE(open_tr(&r, NULL) == 0);
    for (int i = 0; i < 5; i++) {
        snprintf(url, sizeof url, "https://q.example/%d", i);
        submit(&r, &c[i], mkdoc("d", url, NULL));
    }
    CHECK_INT(fake_pending(&r.fh), ==, 5);
    for (int i = 0; i < 5; i++) {
        snprintf(url, sizeof url, "https://q.example/%d", i);
        CHECK_STR(fake_pending_req(&r.fh, (size_t)i)->url, url);
    }
    fake_respond(&r.fh, fake_find_req(&r.fh, "https://q.example/0"), 200, "<html></html>",
                 "text/html", NULL, NULL, -1);
    CHECK_INT(c[0].calls, ==, 1);
    CHECK_INT(c[0].result, ==, VIGIL_PASS);
    PL->stop(r.state);
    for (int i = 1; i < 5; i++)
        CHECK_INT(c[i].calls, ==, 0); /* cancel never calls back inside stop() */
    fake_run(&r.fh);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(c[i].calls, ==, 1);
        json_decref(c[i].doc);
    }
    for (int i = 1; i < 5; i++)
        CHECK_INT(c[i].result, ==, VIGIL_ECANCELED);
    /* After stop, new documents end at once, canceled. */
    struct call late = {0};
    submit(&r, &late, mkdoc("late", "https://q.example/late", NULL));
    CHECK_INT(late.calls, ==, 1);
    CHECK_INT(late.result, ==, VIGIL_ECANCELED);
    CHECK_INT(fake_pending(&r.fh), ==, 0);
    json_decref(late.doc);
    PL->destroy(r.state);
    fake_conf_free(PL, r.conf);
    fake_free(&r.fh);
}

int main(void)
{
    struct vigil_error err;
    PL = vigil_plugin_init_transform_page(NULL, &err);
    if (!PL)
        return 1;
    RUN(test_fetch_and_skip);
    RUN(test_errors_recorded);
    RUN(test_no_queue_and_stop);
    return test_summary();
}
