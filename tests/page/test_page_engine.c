/*
 * The page transform in the real engine: documents with a url and no html
 * (from the jsonl source) get their pages from the fixture server; failures
 * are recorded and the document passed on or dropped per on_error; the
 * stage's max_inflight bounds the fetches the server sees at once.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "enginerun.h"
#include "httpd.h"
#include "test.h"

static struct er_env env;
static struct httpd *H;

#define BULK 20

static const char *U(const char *path)
{
    static char bufs[32][256];
    static int k;
    char *b = bufs[k++ % 32];
    snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", httpd_port(H), path);
    return b;
}

static json_t *docs_by_id(void)
{
    struct er_lines l = er_read_lines(&env, "docs.jsonl");
    json_t *docs = json_object();
    for (size_t i = 0; i < json_array_size(l.list); i++) {
        json_t *d = json_loads(json_string_value(json_array_get(l.list, i)), 0, NULL);
        const char *id = json_string_value(json_object_get(d, "id"));
        if (id)
            json_object_set(docs, id, d);
        json_decref(d);
    }
    er_lines_free(&l);
    return docs;
}

static const char *error_message(const json_t *d)
{
    json_t *e = json_array_get(json_object_get(json_object_get(d, "meta"), "errors"), 0);
    return json_string_value(json_object_get(e, "message"));
}

static void write_input(void)
{
    struct buf b;
    char big[2100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_init(&b, 0);
    buf_printf(&b, "{\"id\": \"p-ok\", \"url\": \"%s\", \"title\": \"ok\"}\n", U("/a/ok.html"));
    buf_printf(&b, "{\"id\": \"p-404\", \"url\": \"%s\", \"html\": \"<p>teaser</p>\"}\n",
               U("/a/missing.html"));
    buf_printf(&b, "{\"id\": \"p-full\", \"url\": \"%s\", \"html\": \"<p>%s</p>\"}\n",
               U("/a/full.html"), big);
    buf_printf(&b, "{\"id\": \"p-nourl\", \"title\": \"no url\"}\n");
    buf_printf(&b, "{\"id\": \"p-ftp\", \"url\": \"ftp://files.example/a.html\"}\n");
    buf_printf(&b, "{\"id\": \"p-pdf\", \"url\": \"%s\"}\n", U("/a/doc.pdf"));
    buf_printf(&b, "{\"id\": \"p-1251\", \"url\": \"%s\"}\n", U("/a/ru.html"));
    buf_printf(&b, "{\"id\": \"p-moved\", \"url\": \"%s\"}\n", U("/a/old.html"));
    buf_printf(&b, "{\"id\": \"p-slow\", \"url\": \"%s\"}\n", U("/a/slow.html"));
    for (int i = 0; i < BULK; i++) {
        char path[32];
        snprintf(path, sizeof path, "/bulk/%d.html", i);
        buf_printf(&b, "{\"id\": \"bulk-%d\", \"url\": \"%s\"}\n", i, U(path));
    }
    er_write(&env, "docs.in", b.data);
    buf_free(&b);
}

static void routes(void)
{
    const char *html = "text/html; charset=utf-8";
    REQUIRE(httpd_route(H, "/a/ok.html",
                        &(struct httpd_response){
                            .body = "<html><body><article>The article.</article></body></html>",
                            .content_type = html}) == 0);
    REQUIRE(httpd_route(
                H, "/a/full.html",
                &(struct httpd_response){.body = "<html>never</html>", .content_type = html}) == 0);
    REQUIRE(httpd_route(H, "/a/doc.pdf",
                        &(struct httpd_response){.body = "%PDF-1.7 ...",
                                                 .content_type = "application/pdf"}) == 0);
    REQUIRE(httpd_route(H, "/a/ru.html",
                        &(struct httpd_response){
                            .body = "<html><head><meta charset=\"windows-1251\"></head><body>"
                                    "\xcc\xee\xf1\xea\xe2\xe0</body></html>",
                            .content_type = "text/html"}) == 0);
    REQUIRE(httpd_route(H, "/a/old.html",
                        &(struct httpd_response){.status = 301, .redirect_to = "/a/new.html"}) ==
            0);
    REQUIRE(httpd_route(H, "/a/new.html",
                        &(struct httpd_response){.body = "<html><body>Moved here</body></html>",
                                                 .content_type = html}) == 0);
    REQUIRE(httpd_route(H, "/a/slow.html",
                        &(struct httpd_response){.body = "<html>late</html>",
                                                 .content_type = html,
                                                 .delay_ms = 3000}) == 0);
    for (int i = 0; i < BULK; i++) {
        char path[32], body[96];
        snprintf(path, sizeof path, "/bulk/%d.html", i);
        snprintf(body, sizeof body, "<html><body>Bulk page %d</body></html>", i);
        REQUIRE(httpd_route(H, path,
                            &(struct httpd_response){
                                .body = body, .content_type = html, .delay_ms = 150}) == 0);
    }
}

static char *pipeline(const char *on_error)
{
    char *text = malloc(2048);
    snprintf(text, 2048,
             "{\"name\": \"pages\", \"sources\": [{\"id\": \"in\", \"plugin\": \"jsonl\","
             " \"options\": {\"path\": \"docs.in\"}}],"
             " \"transforms\": [{\"id\": \"page\", \"plugin\": \"page\", \"max_inflight\": 4,"
             " \"options\": {\"timeout\": \"1s\", \"on_error\": \"%s\"}}],"
             " \"sinks\": [{\"id\": \"ids\", \"plugin\": \"collect\", \"options\": {\"path\": "
             "\"ids\"}}, {\"id\": \"docs\", \"plugin\": \"jsonl\", \"options\": {\"path\": "
             "\"docs.jsonl\", \"include_html\": true}}]}",
             on_error);
    return text;
}

static void test_pages_fetched_errors_passed(void)
{
    write_input();
    routes();
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/log.txt", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_WARN;
    char *text = pipeline("pass");
    struct er_run r;
    httpd_reset_counts(H);
    CHECK_INT(er_run(&env, text, 1, 0, 60000, &r), ==, 0);
    CHECK(!r.timed_out);
    CHECK_INT(r.lost, ==, 0);
    struct er_lines ids = er_read_lines(&env, "ids");
    CHECK_INT(ids.n, ==, 9 + BULK); /* every document goes on */
    CHECK_INT(ids.dups, ==, 0);
    er_lines_free(&ids);

    json_t *docs = docs_by_id();
    json_t *d = json_object_get(docs, "p-ok");
    CHECK_STR(json_string_value(json_object_get(d, "html")),
              "<html><body><article>The article.</article></body></html>");
    CHECK_INT(json_integer_value(
                  json_object_get(json_object_get(json_object_get(d, "meta"), "http"), "status")),
              ==, 200);
    d = json_object_get(docs, "p-404");
    CHECK_STR(json_string_value(json_object_get(d, "html")), "<p>teaser</p>"); /* kept */
    char want[300];
    snprintf(want, sizeof want, "fetch %s: HTTP 404", U("/a/missing.html"));
    CHECK_STR(error_message(d), want);
    CHECK(json_object_get(json_object_get(docs, "p-full"), "meta") == NULL); /* untouched */
    CHECK_INT(httpd_request_count(H, "/a/full.html"), ==, 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(docs, "p-nourl"), "title")),
              "no url");
    CHECK_CONTAINS(error_message(json_object_get(docs, "p-ftp")), "is not http:// or https://");
    CHECK_CONTAINS(error_message(json_object_get(docs, "p-pdf")), "not HTML (application/pdf)");
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(docs, "p-1251"), "html")),
                   "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"); /* Москва */
    d = json_object_get(docs, "p-moved");
    CHECK_STR(json_string_value(json_object_get(d, "url")), U("/a/old.html"));
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(d, "meta"), "http"),
                                                "final_url")),
              U("/a/new.html"));
    CHECK_CONTAINS(error_message(json_object_get(docs, "p-slow")), "timed out");
    for (int i = 0; i < BULK; i++) {
        char id[32], body[64];
        snprintf(id, sizeof id, "bulk-%d", i);
        snprintf(body, sizeof body, "Bulk page %d", i);
        CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(docs, id), "html")), body);
    }
    json_decref(docs);

    /* The stage's max_inflight (4) is what the server saw at most; the
     * transform keeps no queue of its own. */
    CHECK_INT(httpd_max_inflight(H), <=, 4);
    CHECK_INT(httpd_max_inflight(H), >=, 2);
    CHECK_INT(er_counter(&r, "page", "fetched"), ==, 3 + BULK);
    CHECK_INT(er_counter(&r, "page", "skipped"), ==, 2);
    CHECK_INT(er_counter(&r, "page", "errors_http_4xx"), ==, 1);
    CHECK_INT(er_counter(&r, "page", "errors_url"), ==, 1);
    CHECK_INT(er_counter(&r, "page", "errors_not_html"), ==, 1);
    CHECK_INT(er_counter(&r, "page", "errors_timeout"), ==, 1);
    CHECK_INT(er_counter(&r, "page", "dropped"), ==, 0);
    char *log = NULL;
    size_t len = 0;
    REQUIRE(buf_read_file(logpath, 1 << 20, &log, &len) == 0);
    snprintf(want, sizeof want, "page: document p-404: fetch %s: HTTP 404", U("/a/missing.html"));
    CHECK_CONTAINS(log, want);
    free(log);
    free(text);

    /* on_error: drop: the four failed documents leave the pipeline. */
    er_remove(&env, "ids");
    er_remove(&env, "docs.jsonl");
    text = pipeline("drop");
    CHECK_INT(er_run(&env, text, 1, 0, 60000, &r), ==, 0);
    ids = er_read_lines(&env, "ids");
    CHECK_INT(ids.n, ==, 9 + BULK - 4);
    CHECK(json_object_get(ids.set, "p-404") == NULL);
    CHECK(json_object_get(ids.set, "p-ftp") == NULL);
    CHECK(json_object_get(ids.set, "p-pdf") == NULL);
    CHECK(json_object_get(ids.set, "p-slow") == NULL);
    CHECK(json_object_get(ids.set, "p-ok") != NULL);
    er_lines_free(&ids);
    CHECK_INT(er_counter(&r, "page", "dropped"), ==, 4);
    CHECK_INT(er_stage(&r, "page")->dropped, ==, 4);
    free(text);
    close(env.log.fd);
    env.log.fd = 2;
}

/* Caps in the engine: a page over the stage's max_body is refused by the
 * shared client (meta.errors names the limit, counted as too_big); a gzip
 * page that inflates past it is cut the same way; the pipeline's
 * settings.http.max_per_host bounds what one host sees, below the stage's
 * max_inflight. */
static void test_caps_in_the_engine(void)
{
    env.log.level = VIGIL_LOG_ERROR; /* the failures below are expected */
    const char *html = "text/html; charset=utf-8";
    REQUIRE(httpd_route(H, "/cap/big.html",
                        &(struct httpd_response){.body = "<p>big page</p>", .content_type = html,
                                                 .repeat_body_to = 4096}) == 0);
    REQUIRE(httpd_route(H, "/cap/bomb.html",
                        &(struct httpd_response){.body = "<p>aaaaaaaaaaaaaaa</p>",
                                                 .content_type = html, .gzip = 1,
                                                 .repeat_body_to = 8 << 20}) == 0);
    REQUIRE(httpd_route(H, "/cap/fits.html",
                        &(struct httpd_response){.body = "<p>fits</p>", .content_type = html}) ==
            0);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "{\"id\": \"big\", \"url\": \"%s\"}\n", U("/cap/big.html"));
    buf_printf(&b, "{\"id\": \"bomb\", \"url\": \"%s\"}\n", U("/cap/bomb.html"));
    buf_printf(&b, "{\"id\": \"fits\", \"url\": \"%s\"}\n", U("/cap/fits.html"));
    for (int i = 0; i < 12; i++) {
        char path[32];
        snprintf(path, sizeof path, "/cap/host-%d.html", i);
        REQUIRE(httpd_route(H, path,
                            &(struct httpd_response){.body = "<p>slow</p>", .content_type = html,
                                                     .delay_ms = 60}) == 0);
        buf_printf(&b, "{\"id\": \"host-%d\", \"url\": \"%s\"}\n", i, U(path));
    }
    er_write(&env, "caps.in", b.data);
    buf_free(&b);
    er_remove(&env, "docs.jsonl");
    httpd_reset_counts(H);
    struct er_run r;
    CHECK_INT(er_run(&env,
                     "{\"name\": \"caps\", \"settings\": {\"http\": {\"max_per_host\": 2}},"
                     " \"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"caps.in\"}}],"
                     " \"transforms\": [{\"id\": \"page\", \"plugin\": \"page\", \"max_inflight\": 8,"
                     " \"options\": {\"max_body\": \"2KB\"}}],"
                     " \"sinks\": [{\"id\": \"docs\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                     " \"docs.jsonl\", \"include_html\": true}}]}",
                     1, 0, 60000, &r),
              ==, 0);
    CHECK_INT(r.lost, ==, 0);
    json_t *docs = docs_by_id();
    CHECK_INT(json_object_size(docs), ==, 3 + 12);
    json_t *d = json_object_get(docs, "big");
    CHECK(json_object_get(d, "html") == NULL);
    CHECK_CONTAINS(error_message(d), "body larger than 2048 bytes");
    d = json_object_get(docs, "bomb");
    CHECK(json_object_get(d, "html") == NULL);
    CHECK_CONTAINS(error_message(d), "body larger than 2048 bytes");
    CHECK_STR(json_string_value(json_object_get(json_object_get(docs, "fits"), "html")),
              "<p>fits</p>");
    json_decref(docs);
    CHECK_INT(er_counter(&r, "page", "errors_too_big"), ==, 2);
    /* All on one host: the client's per-host cap (2), not the stage's 8. */
    CHECK_INT(httpd_max_inflight(H), <=, 2);
    CHECK_INT(httpd_max_inflight(H), >=, 2);
    CHECK_INT(er_counter(&r, "page", "fetched"), ==, 1 + 12);
}

int main(void)
{
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (er_env_init(&env, TEST_PLUGIN_DIR, SHIPPED_PLUGIN_DIR) != 0)
        return 1;
    H = httpd_start();
    if (!H)
        return 1;
    RUN(test_pages_fetched_errors_passed);
    RUN(test_caps_in_the_engine);
    httpd_stop(H);
    er_env_free(&env);
    curl_global_cleanup();
    return test_summary();
}
