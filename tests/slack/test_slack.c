/*
 * The slack plugin through the real shared client against the fixture
 * server: the posted message, the token kept out of logs and errors, and
 * Slack's answers (rate limit, unknown hook, server errors, hangs).
 */
#include <signal.h>

#include <curl/curl.h>

#include "chanhost.h"
#include "httpd.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_sink_slack(const struct vigil_host *host,
                                                        struct vigil_error *err);

static const struct vigil_plugin *plugin;

#define HOOK "/services/T000/B000/XXXXsecretTOKEN"

struct fx {
    struct chanhost h;
    struct httpd *srv;
    struct chanstage st;
};

static int fx_open(struct fx *f, const char *extra)
{
    memset(f, 0, sizeof *f);
    if (chanhost_init(&f->h) != 0 || !(f->srv = httpd_start()))
        return -1;
    char *u = httpd_url(f->srv, HOOK);
    char opts[1024], err[512];
    snprintf(opts, sizeof opts, "{\"url\": \"%s\"%s%s}", u, extra ? ", " : "", extra ? extra : "");
    free(u);
    if (chanstage_create(&f->st, &f->h, plugin, opts, err, sizeof err) != 0) {
        fprintf(stderr, "  create: %s\n", err);
        return -1;
    }
    return 0;
}

static void fx_close(struct fx *f)
{
    chanstage_destroy(&f->st);
    CHECK_INT(chanhost_fini(&f->h), ==, 0);
    httpd_stop(f->srv);
}

static void test_posts_blocks(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "\"channel\": \"#ops\", \"username\": \"Vigil\"") == 0);
    httpd_route(f.srv, HOOK, &(struct httpd_response){.status = 200, .body = "ok"});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "7f3a9c0d12e4b5a6", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    char *body = httpd_request_body(f.srv, HOOK, 0, NULL);
    json_t *m = body ? json_loads(body, 0, NULL) : NULL;
    REQUIRE(m);
    CHECK_STR(json_string_value(json_object_get(m, "channel")), "#ops");
    CHECK_STR(json_string_value(json_object_get(m, "username")), "Vigil");
    CHECK_CONTAINS(json_string_value(json_object_get(m, "text")),
                   "[HIGH] Russia acknowledges North Korea troops");
    const json_t *blocks = json_object_get(m, "blocks");
    CHECK_INT(json_array_size(blocks), ==, 4);
    CHECK_STR(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "header");
    char v[128];
    httpd_last_header(f.srv, HOOK, "Content-Type", v, sizeof v);
    CHECK_STR(v, "application/json; charset=utf-8");
    char origin[64];
    snprintf(origin, sizeof origin, "delivered to http://127.0.0.1:%d (HTTP 200)",
             httpd_port(f.srv));
    CHECK_CONTAINS(f.h.log.data, origin);
    CHECK_NOT_CONTAINS(f.h.log.data, "secretTOKEN");
    CHECK_NOT_CONTAINS(f.h.log.data, "/services");
    json_decref(m);
    free(body);
    chanresult_clear(&r);
    json_decref(a);

    /* a plain document goes out too */
    json_t *doc = chan_fixture("document_plain.json");
    chanstage_deliver(&f.st, &r, doc, "doc-7", "document", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    body = httpd_request_body(f.srv, HOOK, 1, NULL);
    CHECK_CONTAINS(body, ":page_facing_up: A plain page");
    free(body);
    chanresult_clear(&r);
    json_decref(doc);
    fx_close(&f);
}

static void test_answers(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "\"timeout\": \"300ms\"") == 0);
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    static const char *const ra[] = {"Retry-After: 30", NULL};
    httpd_route(f.srv, HOOK,
                &(struct httpd_response){.status = 429, .headers = ra, .body = "rate_limited"});
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_INT(r.retry_after_ms, ==, 30000);
    CHECK_STR(r.reason, "HTTP 429: rate_limited");
    chanresult_clear(&r);

    httpd_route(f.srv, HOOK, &(struct httpd_response){.status = 404, .body = "no_service"});
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_STR(r.reason, "HTTP 404: no_service");
    CHECK_NOT_CONTAINS(f.h.log.data, "secretTOKEN");
    chanresult_clear(&r);

    httpd_route(f.srv, HOOK, &(struct httpd_response){.status = 500, .body = "oops"});
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    chanresult_clear(&r);

    httpd_route(f.srv, HOOK, &(struct httpd_response){.delay_ms = 2000});
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_CONTAINS(r.reason, "timed out");
    /* the client's error text carries the URL; the reason must not */
    CHECK_NOT_CONTAINS(r.reason, "secretTOKEN");
    chanresult_clear(&r);

    CHECK_INT(chanhost_counter(&f.h, "retried"), ==, 3);
    CHECK_INT(chanhost_counter(&f.h, "failed"), ==, 1);
    json_decref(a);
    fx_close(&f);
}

static void test_stop_and_bad_url(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, NULL) == 0);
    httpd_route(f.srv, HOOK, &(struct httpd_response){.hang = 1});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    CHECK_INT(chanstage_start(&f.st, &r, a, "id", "alert", 1), ==, VIGIL_OK);
    for (int i = 0; i < 250 && httpd_request_count(f.srv, HOOK) < 1; i++)
        chanhost_run_for(&f.h, 20);
    chanstage_stop(&f.st);
    CHECK_INT(chanstage_wait(&f.st, &r, 1, 5000), ==, 0);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_STR(r.reason, "canceled by shutdown");
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);

    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct chanstage st;
    char err[512] = "";
    CHECK_INT(chanstage_create(&st, &h, plugin,
                               "{\"url\": \"hooks.slack.com/services/T/B/sekrit\"}", err,
                               sizeof err),
              ==, -1);
    CHECK_CONTAINS(err, "option 'url': expected an http:// or https:// URL");
    CHECK_NOT_CONTAINS(err, "sekrit");
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    plugin = vigil_plugin_init_sink_slack(NULL, NULL);
    RUN(test_posts_blocks);
    RUN(test_answers);
    RUN(test_stop_and_bad_url);
    curl_global_cleanup();
    return test_summary();
}
