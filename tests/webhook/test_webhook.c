/*
 * The webhook plugin through the real shared HTTP client against the
 * fixture server: bodies, headers, signatures, templates and the outcome
 * of every kind of answer.
 */
#include <signal.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "chanhost.h"
#include "httpd.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_sink_webhook(const struct vigil_host *host,
                                                          struct vigil_error *err);

static const struct vigil_plugin *plugin;

struct fx {
    struct chanhost h;
    struct httpd *srv;
    struct chanstage st;
    char url[256];
};

static int fx_open(struct fx *f, const char *path, const char *extra_options)
{
    memset(f, 0, sizeof *f);
    if (chanhost_init(&f->h) != 0)
        return -1;
    f->srv = httpd_start();
    if (!f->srv)
        return -1;
    char *u = httpd_url(f->srv, path);
    snprintf(f->url, sizeof f->url, "%s", u);
    free(u);
    char opts[4096], err[1024];
    snprintf(opts, sizeof opts, "{\"url\": \"%s\"%s%s}", f->url, extra_options ? ", " : "",
             extra_options ? extra_options : "");
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

static const char *logtext(struct fx *f)
{
    return f->h.log.data ? f->h.log.data : "";
}

static void test_posts_payload_with_headers(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/hook",
                    "\"headers\": {\"Authorization\": \"Bearer s3cr3t-token\", \"X-Team\": "
                    "\"ops\"}") == 0);
    httpd_route(f.srv, "/hook", &(struct httpd_response){.status = 202, .body = "accepted"});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    time_t before = time(NULL);
    CHECK_INT(chanstage_deliver(&f.st, &r, a, "7f3a9c0d12e4b5a6", "alert", 1, 5000), ==, 0);
    CHECK_INT(r.calls, ==, 1);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    CHECK_STR(r.reason, "");

    struct httpd_request_info info;
    REQUIRE(httpd_request_info(f.srv, "/hook", 0, &info) == 0);
    CHECK_STR(info.method, "POST");
    char *body = httpd_request_body(f.srv, "/hook", 0, NULL);
    json_t *got = body ? json_loads(body, 0, NULL) : NULL;
    REQUIRE(got);
    CHECK(json_equal(got, a));
    json_decref(got);
    free(body);
    char v[256];
    CHECK_INT(httpd_last_header(f.srv, "/hook", "Idempotency-Key", v, sizeof v), ==, 0);
    CHECK_STR(v, "7f3a9c0d12e4b5a6");
    httpd_last_header(f.srv, "/hook", "Content-Type", v, sizeof v);
    CHECK_STR(v, "application/json");
    httpd_last_header(f.srv, "/hook", "Authorization", v, sizeof v);
    CHECK_STR(v, "Bearer s3cr3t-token");
    httpd_last_header(f.srv, "/hook", "X-Team", v, sizeof v);
    CHECK_STR(v, "ops");
    httpd_last_header(f.srv, "/hook", "X-Vigil-Kind", v, sizeof v);
    CHECK_STR(v, "alert");
    httpd_last_header(f.srv, "/hook", "X-Vigil-Attempt", v, sizeof v);
    CHECK_STR(v, "1");
    CHECK_INT(httpd_last_header(f.srv, "/hook", "X-Vigil-Timestamp", v, sizeof v), ==, 0);
    long long ts = strtoll(v, NULL, 10);
    CHECK(ts >= (long long)before && ts <= (long long)time(NULL) + 1);
    CHECK_INT(httpd_last_header(f.srv, "/hook", "X-Vigil-Signature", v, sizeof v), ==, -1);

    CHECK_INT(chanhost_counter(&f.h, "sent"), ==, 1);
    CHECK_INT(chanhost_counter(&f.h, "http_2xx"), ==, 1);
    CHECK_INT(chanhost_counter(&f.h, "failed"), ==, 0);
    /* the destination is named, the token never */
    char origin[64];
    snprintf(origin, sizeof origin, "alert 7f3a9c0d12e4b5a6 delivered to http://127.0.0.1:%d",
             httpd_port(f.srv));
    CHECK_CONTAINS(logtext(&f), origin);
    CHECK_NOT_CONTAINS(logtext(&f), "s3cr3t");
    CHECK_NOT_CONTAINS(logtext(&f), "/hook");
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

static void test_document_payload_without_html(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/doc", "\"headers\": [\"X-A: 1\", \"X-B:two words\"]") == 0);
    httpd_route(f.srv, "/doc", &(struct httpd_response){.status = 200});
    json_t *doc = chan_fixture("document.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, doc, "doc-42", "document", 2, 5000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    char *body = httpd_request_body(f.srv, "/doc", 0, NULL);
    json_t *got = body ? json_loads(body, 0, NULL) : NULL;
    REQUIRE(got);
    CHECK(json_object_get(got, "html") == NULL);
    CHECK_STR(json_string_value(json_object_get(got, "title")),
              "Gerasimov confirms North Korean troops in Kursk");
    CHECK_INT(json_array_size(json_object_get(got, "events")), ==, 2);
    /* the plugin must not have touched the payload it was lent */
    CHECK(json_object_get(doc, "html") != NULL);
    char v[64];
    httpd_last_header(f.srv, "/doc", "X-B", v, sizeof v);
    CHECK_STR(v, "two words");
    httpd_last_header(f.srv, "/doc", "X-Vigil-Kind", v, sizeof v);
    CHECK_STR(v, "document");
    httpd_last_header(f.srv, "/doc", "X-Vigil-Attempt", v, sizeof v);
    CHECK_STR(v, "2");
    json_decref(got);
    free(body);
    chanresult_clear(&r);
    json_decref(doc);
    fx_close(&f);
}

static void test_hmac_signature(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/signed", "\"hmac_secret\": \"topsecret-42\"") == 0);
    httpd_route(f.srv, "/signed", &(struct httpd_response){.status = 200});
    json_t *a = chan_fixture("alert_special.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "a1b2c3d4e5f60718", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    size_t len = 0;
    char *body = httpd_request_body(f.srv, "/signed", 0, &len);
    REQUIRE(body);
    /* the receiver's side: HMAC of the exact bytes received */
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), "topsecret-42", 12, (unsigned char *)body, len, mac, &maclen);
    char want[80] = "sha256=";
    for (unsigned i = 0; i < maclen; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    char v[128];
    CHECK_INT(httpd_last_header(f.srv, "/signed", "X-Vigil-Signature", v, sizeof v), ==, 0);
    CHECK_STR(v, want);
    CHECK_NOT_CONTAINS(logtext(&f), "topsecret");
    free(body);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

static void test_template_json_and_text(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/tpl",
                    "\"method\": \"PUT\", \"template\": \"{\\\"text\\\": \\\"[{{severity}}] "
                    "{{title}} {{document.url}}\\\", \\\"key\\\": \\\"{{@id}}\\\", \\\"n\\\": "
                    "{{count}}}\", \"hmac_secret\": \"k\"") == 0);
    httpd_route(f.srv, "/tpl", &(struct httpd_response){.status = 204});
    json_t *a = chan_fixture("alert_special.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "a1b2:u2", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    struct httpd_request_info info;
    REQUIRE(httpd_request_info(f.srv, "/tpl", 0, &info) == 0);
    CHECK_STR(info.method, "PUT");
    size_t len;
    char *body = httpd_request_body(f.srv, "/tpl", 0, &len);
    json_t *got = body ? json_loads(body, 0, NULL) : NULL;
    REQUIRE(got);
    char want[512];
    snprintf(want, sizeof want, "[critical] %s https://example.org/a?x=1&y=<2>|z",
             json_string_value(json_object_get(a, "title")));
    CHECK_STR(json_string_value(json_object_get(got, "text")), want);
    CHECK_STR(json_string_value(json_object_get(got, "key")), "a1b2:u2");
    CHECK_INT(json_integer_value(json_object_get(got, "n")), ==, 2);
    /* the signature covers the rendered body */
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), "k", 1, (unsigned char *)body, len, mac, &maclen);
    char sig[80] = "sha256=", v[128];
    for (unsigned i = 0; i < maclen; i++)
        snprintf(sig + 7 + 2 * i, 3, "%02x", mac[i]);
    httpd_last_header(f.srv, "/tpl", "X-Vigil-Signature", v, sizeof v);
    CHECK_STR(v, sig);
    json_decref(got);
    free(body);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);

    REQUIRE(fx_open(&f, "/txt",
                    "\"content_type\": \"text/plain; charset=utf-8\", \"template\": "
                    "\"{{title}}\\n{{\\\"{{\\\"}}raw{{\\\"}}\\\"}}\"") == 0);
    httpd_route(f.srv, "/txt", &(struct httpd_response){.status = 200});
    a = chan_fixture("alert.json");
    chanstage_deliver(&f.st, &r, a, "x", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    body = httpd_request_body(f.srv, "/txt", 0, NULL);
    CHECK_STR(body, "Russia acknowledges North Korea troops\n{{raw}}");
    httpd_last_header(f.srv, "/txt", "Content-Type", v, sizeof v);
    CHECK_STR(v, "text/plain; charset=utf-8");
    free(body);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

static void test_503_then_200(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/flaky", NULL) == 0);
    httpd_route(f.srv, "/flaky",
                &(struct httpd_response){.status = 200, .fail_times = 2, .fail_status = 503});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        chanstage_deliver(&f.st, &r, a, "7f3a9c0d12e4b5a6", "alert", attempt, 5000);
        CHECK_INT(r.calls, ==, 1);
        CHECK_INT(r.status, ==, attempt < 3 ? VIGIL_RETRY : VIGIL_DELIVERED);
        if (attempt < 3) {
            CHECK_STR(r.reason, "HTTP 503: fail");
            CHECK_INT(r.retry_after_ms, ==, -1);
        }
        chanresult_clear(&r);
    }
    /* every attempt carried the same idempotency key */
    for (size_t i = 0; i < 3; i++) {
        char v[64];
        CHECK_INT(httpd_request_header(f.srv, "/flaky", i, "Idempotency-Key", v, sizeof v), ==, 0);
        CHECK_STR(v, "7f3a9c0d12e4b5a6");
    }
    CHECK_INT(chanhost_counter(&f.h, "retried"), ==, 2);
    CHECK_INT(chanhost_counter(&f.h, "http_5xx"), ==, 2);
    CHECK_INT(chanhost_counter(&f.h, "sent"), ==, 1);
    CHECK_CONTAINS(logtext(&f), "temporary failure, will retry: HTTP 503");
    json_decref(a);
    fx_close(&f);
}

static void test_429_retry_after(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/limited", NULL) == 0);
    static const char *const ra[] = {"Retry-After: 7", NULL};
    httpd_route(f.srv, "/limited",
                &(struct httpd_response){.status = 429, .headers = ra, .body = "slow down"});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "id1", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_INT(r.retry_after_ms, ==, 7000);
    CHECK_STR(r.reason, "HTTP 429: slow down");
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

static void test_4xx_and_3xx_fail(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/bad", NULL) == 0);
    httpd_route(f.srv, "/bad",
                &(struct httpd_response){.status = 400,
                                         .content_type = "application/json",
                                         .body = "{\"error\": \"invalid_payload\"}\n"});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "id1", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_STR(r.reason, "HTTP 400: {\"error\": \"invalid_payload\"}");
    CHECK_INT(chanhost_counter(&f.h, "failed"), ==, 1);
    CHECK_INT(chanhost_counter(&f.h, "http_4xx"), ==, 1);
    CHECK_CONTAINS(logtext(&f), "ERROR webhook: alert id1 to http://127.0.0.1");
    chanresult_clear(&r);

    httpd_route(f.srv, "/bad", &(struct httpd_response){.redirect_to = "/elsewhere"});
    httpd_route(f.srv, "/elsewhere", &(struct httpd_response){.status = 200});
    chanstage_deliver(&f.st, &r, a, "id2", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_CONTAINS(r.reason, "HTTP 302: redirect not followed");
    CHECK_INT(httpd_request_count(f.srv, "/elsewhere"), ==, 0);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

static void test_timeout_and_refused_retry(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/slow", "\"timeout\": \"200ms\"") == 0);
    httpd_route(f.srv, "/slow", &(struct httpd_response){.status = 200, .delay_ms = 3000});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "id1", "alert", 1, 5000);
    CHECK_INT(r.calls, ==, 1);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_CONTAINS(r.reason, "timed out");
    /* the client quotes the whole URL; the reason shows its origin only */
    CHECK_NOT_CONTAINS(r.reason, "/slow");
    CHECK_CONTAINS(r.reason, "(POST http://127.0.0.1:");
    CHECK_INT(chanhost_counter(&f.h, "timeout"), ==, 1);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);

    /* a port nobody listens on: take one from a server that is gone */
    struct httpd *gone = httpd_start();
    REQUIRE(gone);
    int port = httpd_port(gone);
    httpd_stop(gone);
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct chanstage st;
    char opts[256], err[256];
    snprintf(opts, sizeof opts, "{\"url\": \"http://127.0.0.1:%d/x\"}", port);
    REQUIRE(chanstage_create(&st, &h, plugin, opts, err, sizeof err) == 0);
    a = chan_fixture("alert.json");
    chanstage_deliver(&st, &r, a, "id1", "alert", 1, 5000);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_CONTAINS(r.reason, "127.0.0.1");
    CHECK_INT(chanhost_counter(&h, "network"), ==, 1);
    chanresult_clear(&r);
    json_decref(a);
    chanstage_destroy(&st);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

static void test_stop_cancels_in_flight(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/hang", NULL) == 0);
    httpd_route(f.srv, "/hang", &(struct httpd_response){.hang = 1});
    json_t *a = chan_fixture("alert.json");
    struct chanresult r[3];
    for (int i = 0; i < 3; i++)
        CHECK_INT(chanstage_start(&f.st, &r[i], a, "id", "alert", 1), ==, VIGIL_OK);
    for (int i = 0; i < 250 && httpd_request_count(f.srv, "/hang") < 3; i++)
        chanhost_run_for(&f.h, 20);
    CHECK_INT(httpd_request_count(f.srv, "/hang"), ==, 3);
    for (int i = 0; i < 3; i++)
        CHECK_INT(r[i].calls, ==, 0);
    chanstage_stop(&f.st);
    CHECK_INT(chanstage_wait(&f.st, r, 3, 5000), ==, 0);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r[i].calls, ==, 1);
        CHECK_INT(r[i].status, ==, VIGIL_RETRY);
        CHECK_STR(r[i].reason, "canceled by shutdown");
        chanresult_clear(&r[i]);
    }
    CHECK_INT(chanhost_counter(&f.h, "canceled"), ==, 3);
    /* nothing new starts once stopped */
    struct chanresult late;
    CHECK_INT(chanstage_start(&f.st, &late, a, "id", "alert", 1), ==, VIGIL_ESTATE);
    CHECK_INT(late.calls, ==, 0);
    chanresult_clear(&late);
    json_decref(a);
    fx_close(&f);
}

static void test_many_at_once(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "/many", NULL) == 0);
    httpd_route(f.srv, "/many", &(struct httpd_response){.status = 200, .delay_ms = 20});
    json_t *a = chan_fixture("alert.json");
    enum { N = 40 };
    static struct chanresult r[N];
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "alert-%d", i);
        chanstage_start(&f.st, &r[i], a, id, "alert", 1);
    }
    CHECK_INT(chanstage_wait(&f.st, r, N, 20000), ==, 0);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        ok += r[i].calls == 1 && r[i].status == VIGIL_DELIVERED;
        chanresult_clear(&r[i]);
    }
    CHECK_INT(ok, ==, N);
    /* each id arrived once */
    int seen[N] = {0};
    for (size_t i = 0; i < (size_t)N; i++) {
        char v[64];
        if (httpd_request_header(f.srv, "/many", i, "Idempotency-Key", v, sizeof v) == 0) {
            int k = atoi(v + 6);
            if (k >= 0 && k < N)
                seen[k]++;
        }
    }
    int once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CHECK_INT(once, ==, N);
    json_decref(a);
    fx_close(&f);
}

static void expect_create_error(const char *opts, const char *want, const char *not_shown)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct chanstage st;
    char err[1024] = "";
    CHECK_INT(chanstage_create(&st, &h, plugin, opts, err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, want);
    if (not_shown)
        CHECK_NOT_CONTAINS(err, not_shown);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

static void test_bad_options(void)
{
    expect_create_error("{}", "missing required option 'url'", NULL);
    expect_create_error("{\"url\": \"ftp://example.org/x\"}",
                        "option 'url': expected an http:// or https:// URL", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"method\": \"GET\"}", "method", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": {\"Idempotency-Key\": \"x\"}}",
                        "option 'headers': Idempotency-Key is set by the plugin", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": {\"content-type\": \"x\"}}",
                        "(use the content_type option)", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": {\"X-Token\": \"abc\\r\\nX: "
                        "hidden-value\"}}",
                        "the value of 'X-Token' contains a control character", "hidden-value");
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": {\"Bad Name\": \"v\"}}",
                        "'Bad Name' is not a valid header name", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": {\"X\": 5}}",
                        "the value of 'X' must be a string", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": [\"no colon\"]}",
                        "item 0 must be a \"Name: value\" string", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"headers\": \"X: y\"}", "expected an object",
                        NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"template\": \"{{title\"}",
                        "option 'template': unterminated {{ at byte 0", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"timeout\": \"0ms\"}", "timeout", NULL);
    expect_create_error("{\"url\": \"http://e.org\", \"hmac_secret\": \"\"}",
                        "option 'hmac_secret': empty", NULL);
}

/* Caps: at most 64 extra headers (one more is refused at create, naming
 * the limit); a template that renders past 16 MB fails the delivery for
 * good, with the limit in the reason, and nothing is sent; the answer's
 * body is read up to 64 KB only (a bigger 2xx answer still counts as
 * delivered). */
static void test_caps(void)
{
    struct buf opts;
    buf_init(&opts, 0);
    buf_append_str(&opts, "{\"url\": \"http://e.org\", \"headers\": {");
    for (int i = 0; i < 65; i++)
        buf_printf(&opts, "%s\"X-H%d\": \"v\"", i ? ", " : "", i);
    buf_append_str(&opts, "}}");
    expect_create_error(opts.data, "option 'headers': more than 64 headers", NULL);
    buf_free(&opts);

    struct fx f;
    REQUIRE(fx_open(&f, "/big", "\"template\": \"{{text}}\", \"content_type\": \"text/plain\"") ==
            0);
    httpd_route(f.srv, "/big", &(struct httpd_response){.status = 200});
    size_t n = (16u << 20) + 1;
    char *text = malloc(n + 1);
    REQUIRE(text);
    memset(text, 't', n);
    text[n] = '\0';
    json_t *doc = json_pack("{s:s, s:s}", "id", "big", "text", text);
    free(text);
    struct chanresult r;
    chanstage_deliver(&f.st, &r, doc, "big", "document", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_CONTAINS(r.reason, "body larger than 16777216 bytes");
    CHECK_INT(httpd_request_count(f.srv, "/big"), ==, 0);
    chanresult_clear(&r);
    json_decref(doc);
    /* Just under the limit: rendered and sent. */
    text = malloc(16u << 20);
    REQUIRE(text);
    memset(text, 't', (16u << 20) - 1);
    text[(16u << 20) - 1] = '\0';
    doc = json_pack("{s:s, s:s}", "id", "fits", "text", text);
    free(text);
    chanstage_deliver(&f.st, &r, doc, "fits", "document", 1, 20000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    CHECK_INT(httpd_request_count(f.srv, "/big"), ==, 1);
    chanresult_clear(&r);
    json_decref(doc);
    fx_close(&f);

    REQUIRE(fx_open(&f, "/chatty", NULL) == 0);
    httpd_route(f.srv, "/chatty", &(struct httpd_response){.status = 200, .body = "y",
                                                            .repeat_body_to = 1 << 20});
    json_t *a = chan_fixture("alert.json");
    chanstage_deliver(&f.st, &r, a, "a", "alert", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    plugin = vigil_plugin_init_sink_webhook(NULL, NULL);
    RUN(test_posts_payload_with_headers);
    RUN(test_document_payload_without_html);
    RUN(test_hmac_signature);
    RUN(test_template_json_and_text);
    RUN(test_503_then_200);
    RUN(test_429_retry_after);
    RUN(test_4xx_and_3xx_fail);
    RUN(test_timeout_and_refused_retry);
    RUN(test_stop_cancels_in_flight);
    RUN(test_many_at_once);
    RUN(test_bad_options);
    RUN(test_caps);
    curl_global_cleanup();
    return test_summary();
}
