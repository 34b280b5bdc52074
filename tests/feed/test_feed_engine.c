/*
 * The feed source in the real engine against a real HTTP server on
 * 127.0.0.1 (tests/support/httpd): every kind of broken feed next to a
 * healthy one, conditional GET, Retry-After, backoff, start-up jitter.
 *
 * Each fault asserts what a user would see: one log line naming the feed
 * URL and the reason, the plugin's error counter of that kind, a run that
 * ends in bounded time and memory, and every item of the healthy feed
 * delivered exactly once.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "enginerun.h"
#include "hash.h"
#include "httpd.h"
#include "test.h"

static struct er_env env;
static struct httpd *H;

/* ------------------------------------------------------------------ */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* "http://127.0.0.1:PORT/path" in a rotating set of static buffers. */
static const char *U(const char *path)
{
    static char bufs[64][256];
    static int k;
    char *b = bufs[k++ % 64];
    snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", httpd_port(H), path);
    return b;
}

/* An RSS 2.0 feed with n items "<tag>-<i>", published an hour apart. */
static char *make_rss(const char *tag, int n)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>"
               "<title>%s</title><link>http://%s.example/</link>",
               tag, tag);
    for (int i = 0; i < n; i++)
        buf_printf(&b,
                   "<item><title>%s item %d</title><link>http://%s.example/a/%d</link>"
                   "<guid isPermaLink=\"false\">%s-%d</guid>"
                   "<pubDate>Mon, 04 Nov 2024 %02d:15:00 +0000</pubDate>"
                   "<description>Text of %s item %d.</description></item>",
                   tag, i, tag, i, tag, i, i % 24, tag, i);
    buf_append_str(&b, "</channel></rss>\n");
    return buf_steal(&b);
}

static void route_feed(const char *path, const char *body, const char *ctype, const char *etag)
{
    REQUIRE(httpd_route(H, path,
                        &(struct httpd_response){
                            .body = body,
                            .content_type = ctype ? ctype : "application/rss+xml",
                            .etag = etag,
                            .etag_304 = etag != NULL,
                        }) == 0);
}

/* A pipeline: one feed source over paths (turned into URLs) with extra
 * options (a JSON object text), a collect sink (ids) and a jsonl sink. */
static char *pipeline(const char *const *paths, const char *extra_opts, const char *settings)
{
    json_t *urls = json_array();
    for (size_t i = 0; paths[i]; i++)
        json_array_append_new(urls, json_string(U(paths[i])));
    json_t *opts = extra_opts ? json_loads(extra_opts, 0, NULL) : json_object();
    if (!opts)
        return NULL;
    json_object_set_new(opts, "urls", urls);
    json_t *p =
        json_pack("{s:s, s:[{s:s, s:s, s:o}], s:[{s:s, s:s, s:{s:s}}, "
                  "{s:s, s:s, s:{s:s, s:b}}]}",
                  "name", "feeds", "sources", "id", "news", "plugin", "feed", "options", opts,
                  "sinks", "id", "ids", "plugin", "collect", "options", "path", "ids", "id", "docs",
                  "plugin", "jsonl", "options", "path", "docs.jsonl", "include_html", 1);
    if (p && settings)
        json_object_set_new(p, "settings", json_loads(settings, 0, NULL));
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    return text;
}

/* The log file: every line the engine and the plugins wrote. */
static void log_open(int level)
{
    char path[512];
    snprintf(path, sizeof path, "%s/log.txt", env.dir);
    if (env.log.fd > 2)
        close(env.log.fd);
    env.log.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = level;
}

static char *log_text(void)
{
    char path[512], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/log.txt", env.dir);
    if (buf_read_file(path, 64 << 20, &data, &len) != 0)
        return strdup("");
    return data;
}

/* Whether the log has a line containing all of a and b. */
static int log_has_line(const char *log, const char *a, const char *b)
{
    for (const char *p = log; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char *line = strndup(p, n);
        int ok = line && strstr(line, a) && (!b || strstr(line, b));
        free(line);
        if (ok)
            return 1;
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

#define CHECK_LOG(log, a, b)                                                                       \
    do {                                                                                           \
        if (!log_has_line((log), (a), (b))) {                                                      \
            fprintf(stderr, "    no log line with \"%s\" and \"%s\"\n", (a), (b) ? (b) : "");      \
            CHECK(!"log line");                                                                    \
        }                                                                                          \
    } while (0)

/* Documents the jsonl sink wrote (a JSON array; caller decrefs). */
static json_t *docs_written(void)
{
    struct er_lines l = er_read_lines(&env, "docs.jsonl");
    json_t *docs = json_array();
    for (size_t i = 0; i < json_array_size(l.list); i++)
        json_array_append_new(docs,
                              json_loads(json_string_value(json_array_get(l.list, i)), 0, NULL));
    er_lines_free(&l);
    return docs;
}

static const char *doc_feed_url(const json_t *d)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(d, "meta"), "feed"), "url"));
}

/* Documents of one feed. */
static json_t *docs_of(const json_t *docs, const char *feed_url)
{
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *d = json_array_get(docs, i);
        const char *u = doc_feed_url(d);
        if (u && strcmp(u, feed_url) == 0)
            json_array_append(out, d);
    }
    return out;
}

static const char *field(const json_t *d, const char *k)
{
    const char *v = json_string_value(json_object_get(d, k));
    return v ? v : "";
}

/* The state record of a feed URL ("t:" + hex FNV-1a of the URL) read
 * straight from the state database between runs. */
static json_t *state_record(const char *url)
{
    char path[512], hex[17], key[24];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    json_t *rec = NULL;
    hash_hex64(hash_fnv64(url, strlen(url)), hex);
    snprintf(key, sizeof key, "t:%s", hex);
    snprintf(path, sizeof path, "%s/vigil.db", env.dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            rec = json_loadb(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), 0,
                             NULL);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fresh_state(void)
{
    er_remove(&env, "vigil.db");
    er_remove(&env, "vigil.db-wal");
    er_remove(&env, "vigil.db-shm");
    er_remove(&env, "ids");
    er_remove(&env, "docs.jsonl");
}

/* ------------------------------------------------------------------ */

static const char XXE[] = "<?xml version=\"1.0\"?>\n"
                          "<!DOCTYPE rss [\n"
                          "  <!ENTITY file SYSTEM \"file:///etc/passwd\">\n"
                          "  <!ENTITY net SYSTEM \"%s\">\n"
                          "]>\n"
                          "<rss version=\"2.0\"><channel><title>XXE &file;</title>"
                          "<item><title>Leak &file;</title><guid>xxe-1</guid>"
                          "<description>remote: &net;</description></item></channel></rss>\n";

static const char LAUGHS[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<rss version=\"2.0\"><channel><title>Laughs</title>"
    "<item><title>&lol9;</title><guid>laughs-1</guid><description>&lol9;</description></item>"
    "</channel></rss>\n";

#define HEALTHY_ITEMS 25

/*
 * One pipeline, one feed source: a healthy feed among every fault. Then a
 * second run over the same state: the healthy feed is asked with
 * If-None-Match, answers 304 and nothing is emitted; the 429 feed is not
 * asked before its Retry-After; failed feeds wait for their backoff.
 */
static void test_faults_isolated(void)
{
    fresh_state();
    char *healthy = make_rss("healthy", HEALTHY_ITEMS);
    route_feed("/healthy.xml", healthy, NULL, "\"h1\"");
    REQUIRE(httpd_route(H, "/e404.xml", &(struct httpd_response){.status = 404, .body = "gone"}) ==
            0);
    REQUIRE(httpd_route(H, "/e500.xml", &(struct httpd_response){.status = 500, .body = "oops"}) ==
            0);
    const char *ra[] = {"Retry-After: 120", NULL};
    REQUIRE(httpd_route(
                H, "/e429.xml",
                &(struct httpd_response){.status = 429, .body = "slow down", .headers = ra}) == 0);
    char *trickle = make_rss("trickle", 40);
    REQUIRE(httpd_route(H, "/trickle.xml",
                        &(struct httpd_response){.body = trickle,
                                                 .content_type = "application/rss+xml",
                                                 .trickle_bytes_per_s = 300}) == 0);
    REQUIRE(httpd_route(H, "/hang.xml", &(struct httpd_response){.hang = 1}) == 0);
    REQUIRE(httpd_route(H, "/loop.xml", &(struct httpd_response){.redirect_to = "/loop.xml"}) == 0);
    REQUIRE(httpd_route(H, "/passwd.xml",
                        &(struct httpd_response){.redirect_to = "file:///etc/passwd"}) == 0);
    /* 256 MB of zeros in about 256 KB of gzip. */
    REQUIRE(httpd_route(H, "/bomb.xml",
                        &(struct httpd_response){.repeat_body_to = (size_t)256 << 20,
                                                 .gzip = 1,
                                                 .content_type = "application/rss+xml"}) == 0);
    REQUIRE(httpd_route(H, "/big.xml",
                        &(struct httpd_response){.body = "<rss>",
                                                 .repeat_body_to = 4 << 20,
                                                 .content_type = "application/rss+xml"}) == 0);
    route_feed("/invalid.xml",
               "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>\n<title>Broken</title>\n"
               "<description>oops</title></channel>\n</rss>\n",
               NULL, NULL);
    route_feed("/html.xml", "<!DOCTYPE html><html><body><p>Moved</p></body></html>", "text/html",
               NULL);
    route_feed("/charset-unknown.xml",
               "<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><rss version=\"2.0\">"
               "<channel><title>Caf\xe9</title><item><title>Caf\xe9</title><guid>u-1</guid>"
               "</item></channel></rss>",
               NULL, NULL);
    /* Declared ISO-8859-1 (header and prolog), sent as UTF-8: read as
     * UTF-8. */
    route_feed("/charset-lying.xml",
               "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel>"
               "<title>Z\xc3\xbcrich</title><item><title>Z\xc3\xbcrich \xe2\x80\x94 news</title>"
               "<guid>lying-1</guid></item></channel></rss>",
               "application/rss+xml; charset=ISO-8859-1", NULL);
    /* Declared UTF-8, sent as windows-1252: the invalid bytes are read as
     * windows-1252. */
    route_feed("/charset-cp1252.xml",
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>"
               "<title>x</title><item><title>Caf\xe9 \x93quoted\x94</title><guid>cp-1</guid>"
               "</item></channel></rss>",
               NULL, NULL);
    char xxe[1024];
    snprintf(xxe, sizeof xxe, XXE, U("/secret"));
    route_feed("/xxe.xml", xxe, NULL, NULL);
    route_feed("/secret", "TOP-SECRET", "text/plain", NULL);
    route_feed("/laughs.xml", LAUGHS, NULL, NULL);

    const char *paths[] = {"/healthy.xml",
                           "/e404.xml",
                           "/e500.xml",
                           "/e429.xml",
                           "/trickle.xml",
                           "/hang.xml",
                           "/loop.xml",
                           "/passwd.xml",
                           "/bomb.xml",
                           "/big.xml",
                           "/invalid.xml",
                           "/html.xml",
                           "/charset-unknown.xml",
                           "/charset-lying.xml",
                           "/charset-cp1252.xml",
                           "/xxe.xml",
                           "/laughs.xml",
                           NULL};
    char *text = pipeline(paths,
                          "{\"timeout\": \"1500ms\", \"max_body\": \"1MB\", "
                          "\"backoff_base\": \"1h\", \"backoff_cap\": \"1h\"}",
                          NULL);
    REQUIRE(text);
    log_open(VIGIL_LOG_INFO);

    struct er_run r;
    long rss0 = max_rss_kb();
    double t0 = mono_s();
    int64_t start_ms = wall_ms();
    CHECK_INT(er_run(&env, text, 1, 0, 60000, &r), ==, 0);
    double took = mono_s() - t0;
    long rss_growth_mb = (max_rss_kb() - rss0) / 1024;
    CHECK(!r.timed_out);
    CHECK_INT(r.lost, ==, 0);
    /* Bounded: the slowest faults end at the 1.5 s fetch limit. */
    fprintf(stderr, "    first run: %.2f s, peak RSS grew by %ld MB\n", took, rss_growth_mb);
    CHECK(took < 15.0);
    CHECK_INT(rss_growth_mb, <, 128); /* the bomb alone would be 256 MB */

    char *log = log_text();
    if (getenv("DEBUG_LOG"))
        fputs(log, stderr);
    CHECK_LOG(log, U("/e404.xml"), "HTTP 404; next attempt in");
    CHECK_LOG(log, U("/e500.xml"), "HTTP 500; next attempt in");
    CHECK_LOG(log, U("/e429.xml"), "HTTP 429 (Retry-After 2m); next attempt in 2m (failure 1)");
    CHECK_LOG(log, U("/trickle.xml"), "timed out");
    CHECK_LOG(log, U("/hang.xml"), "timed out");
    CHECK_LOG(log, U("/loop.xml"), "Maximum (5) redirects followed");
    CHECK_LOG(log, U("/passwd.xml"), "redirect refused: only http and https are followed");
    /* The client's "(GET url)" is not repeated after the URL. */
    CHECK_LOG(log, U("/bomb.xml"), "body larger than 1048576 bytes; next attempt in");
    CHECK_LOG(log, U("/big.xml"), "body larger than 1048576 bytes");
    CHECK_LOG(log, U("/invalid.xml"), "not well-formed XML and no item recovered");
    CHECK_LOG(log, U("/html.xml"), "not a feed: the root element is <html> (an HTML page)");
    CHECK_LOG(log, U("/charset-unknown.xml"),
              "unknown encoding \"x-no-such-charset\" declared in the document, and the content "
              "is not UTF-8");
    CHECK_LOG(log, U("/xxe.xml"), "its DOCTYPE declares entities; removed, none expanded");
    CHECK_LOG(log, U("/laughs.xml"), "its DOCTYPE declares entities; removed, none expanded");
    /* Each failure is one warning naming the feed. */
    CHECK_LOG(log, "warn", U("/e404.xml"));
    CHECK_NOT_CONTAINS(log, U("/healthy.xml")); /* nothing to say about it */

    CHECK_INT(er_counter(&r, "news", "errors_http_4xx"), ==, 2); /* 404, 429 */
    CHECK_INT(er_counter(&r, "news", "errors_http_5xx"), ==, 1);
    CHECK_INT(er_counter(&r, "news", "errors_timeout"), ==, 2);  /* trickle, hang */
    CHECK_INT(er_counter(&r, "news", "errors_protocol"), ==, 2); /* loop, file:// */
    CHECK_INT(er_counter(&r, "news", "errors_too_big"), ==, 2);  /* bomb, big */
    CHECK_INT(er_counter(&r, "news", "errors_parse"), ==, 3);    /* invalid, html, charset */
    CHECK_INT(er_counter(&r, "news", "errors_network"), ==, 0);
    CHECK_INT(er_counter(&r, "news", "requests"), ==, 17);
    CHECK_INT(httpd_request_count(H, "/secret"), ==, 0); /* no external entity fetched */

    /* Every item of the healthy feeds, exactly once. */
    const int expected = HEALTHY_ITEMS + 1 + 1 + 1 + 1; /* + lying, cp1252, xxe, laughs */
    struct er_lines ids = er_read_lines(&env, "ids");
    CHECK_INT(ids.n, ==, expected);
    CHECK_INT(ids.dups, ==, 0);
    er_lines_free(&ids);
    CHECK_INT(er_counter(&r, "news", "items_new"), ==, expected);
    json_t *docs = docs_written();
    json_t *h = docs_of(docs, U("/healthy.xml"));
    CHECK_INT(json_array_size(h), ==, HEALTHY_ITEMS);
    for (int i = 0; i < HEALTHY_ITEMS; i++) {
        char guid[32], title[64];
        snprintf(guid, sizeof guid, "healthy-%d", i);
        snprintf(title, sizeof title, "healthy item %d", i);
        int found = 0;
        for (size_t k = 0; k < json_array_size(h); k++) {
            json_t *d = json_array_get(h, k);
            const char *g = json_string_value(json_object_get(json_object_get(d, "meta"), "guid"));
            if (g && strcmp(g, guid) == 0 && strcmp(field(d, "title"), title) == 0)
                found++;
        }
        CHECK_INT(found, ==, 1);
    }
    json_decref(h);
    json_t *d = docs_of(docs, U("/charset-lying.xml"));
    CHECK_STR(field(json_array_get(d, 0), "title"), "Z\xc3\xbcrich \xe2\x80\x94 news");
    json_decref(d);
    d = docs_of(docs, U("/charset-cp1252.xml"));
    CHECK_STR(field(json_array_get(d, 0), "title"), "Caf\xc3\xa9 \xe2\x80\x9cquoted\xe2\x80\x9d");
    json_decref(d);
    /* XXE: the item is there, no file or URL was read into it. */
    d = docs_of(docs, U("/xxe.xml"));
    REQUIRE(json_array_size(d) == 1);
    char *dump = json_dumps(json_array_get(d, 0), 0);
    CHECK_NOT_CONTAINS(dump, "root:");
    CHECK_NOT_CONTAINS(dump, "TOP-SECRET");
    CHECK_CONTAINS(field(json_array_get(d, 0), "title"), "Leak");
    free(dump);
    json_decref(d);
    /* Billion laughs: parsed in bounded time, nothing expanded. */
    d = docs_of(docs, U("/laughs.xml"));
    REQUIRE(json_array_size(d) == 1);
    dump = json_dumps(json_array_get(d, 0), 0);
    CHECK(strlen(dump) < 4096);
    CHECK_NOT_CONTAINS(dump, "lollol");
    free(dump);
    json_decref(d);
    json_decref(docs);
    free(log);

    /* The state: validators for the healthy feed, failures recorded with a
     * next attempt inside the backoff window (or exactly the Retry-After). */
    json_t *rec = state_record(U("/healthy.xml"));
    REQUIRE(rec);
    CHECK_STR(json_string_value(json_object_get(rec, "etag")), "\"h1\"");
    CHECK_INT(json_integer_value(json_object_get(rec, "fail")), ==, 0);
    json_decref(rec);
    int64_t end_ms = wall_ms();
    rec = state_record(U("/e429.xml"));
    REQUIRE(rec);
    int64_t next429 = json_integer_value(json_object_get(rec, "next"));
    CHECK_INT(next429, >=, start_ms + 120000);
    CHECK_INT(next429, <=, end_ms + 120000);
    json_decref(rec);
    int64_t next_due[32] = {0};
    for (int i = 1; paths[i]; i++) {
        rec = state_record(U(paths[i]));
        int64_t fail = json_integer_value(json_object_get(rec, "fail"));
        next_due[i] = json_integer_value(json_object_get(rec, "next"));
        if (fail) {
            CHECK_INT(fail, ==, 1);
            CHECK_INT(next_due[i], >=, start_ms);
            CHECK_INT(next_due[i], <=,
                      end_ms + (strcmp(paths[i], "/e429.xml") == 0 ? 120000
                                                                   : 3600000)); /* backoff_base */
        }
        json_decref(rec);
    }

    /* Second run over the same state. */
    er_remove(&env, "ids");
    er_remove(&env, "docs.jsonl");
    size_t before[32];
    for (int i = 0; paths[i]; i++)
        before[i] = httpd_request_count(H, paths[i]);
    int64_t run2_ms = wall_ms();
    CHECK_INT(er_run(&env, text, 1, 0, 60000, &r), ==, 0);
    char inm[128] = "";
    CHECK_INT(httpd_last_header(H, "/healthy.xml", "If-None-Match", inm, sizeof inm), ==, 0);
    CHECK_STR(inm, "\"h1\"");
    CHECK_INT(httpd_request_count(H, "/healthy.xml"), ==, before[0] + 1);
    CHECK_INT(er_counter(&r, "news", "not_modified"), >=, 1);
    /* A 304 pass emits nothing, and nothing already seen comes back. */
    CHECK_INT(er_stage(&r, "news")->out, ==, 0);
    ids = er_read_lines(&env, "ids");
    CHECK_INT(ids.n, ==, 0);
    er_lines_free(&ids);
    /* Retry-After (2 minutes) and backoff: no request before the time. */
    CHECK_INT(httpd_request_count(H, "/e429.xml"), ==, before[3]);
    for (int i = 1; paths[i]; i++) {
        if (next_due[i] > run2_ms + 5000)
            CHECK_INT(httpd_request_count(H, paths[i]), ==, before[i]);
    }
    free(text);
    free(healthy);
    free(trickle);
}

/*
 * Backoff and Retry-After over several runs, timed by the server: a feed
 * failing three times is retried within its backoff window and never before
 * the time its state names; a 429 with Retry-After: 2 is not asked again
 * for 2 seconds; both recover and deliver everything.
 */
static void test_backoff_and_retry_after(void)
{
    fresh_state();
    char *flaky = make_rss("flaky", 4);
    char *limited = make_rss("limited", 3);
    REQUIRE(httpd_route(H, "/flaky.xml",
                        &(struct httpd_response){.body = flaky,
                                                 .content_type = "application/rss+xml",
                                                 .fail_times = 3,
                                                 .fail_status = 503}) == 0);
    const char *ra[] = {"Retry-After: 2", NULL};
    REQUIRE(httpd_route(H, "/limited.xml",
                        &(struct httpd_response){.status = 429, .headers = ra, .body = "later"}) ==
            0);
    const char *paths[] = {"/flaky.xml", "/limited.xml", NULL};
    char *text = pipeline(paths, "{\"backoff_base\": \"1s\", \"backoff_cap\": \"1s\"}", NULL);
    REQUIRE(text);
    log_open(VIGIL_LOG_INFO);
    struct er_run r;
    size_t flaky_docs = 0, limited_docs = 0;
    int runs = 0;
    double t0 = mono_s();
    while ((flaky_docs < 4 || limited_docs < 3) && runs < 60 && mono_s() - t0 < 20) {
        json_t *rec = state_record(U("/flaky.xml"));
        int64_t due = json_integer_value(json_object_get(rec, "next"));
        json_decref(rec);
        size_t n0 = httpd_request_count(H, "/flaky.xml");
        int64_t run_start = wall_ms();
        CHECK_INT(er_run(&env, text, 1, 0, 30000, &r), ==, 0);
        runs++;
        /* Never before the time the state names. */
        if (due > wall_ms())
            CHECK_INT(httpd_request_count(H, "/flaky.xml"), ==, n0);
        if (due > 0 && due <= run_start)
            CHECK_INT(httpd_request_count(H, "/flaky.xml"), ==, n0 + 1);
        if (httpd_request_count(H, "/limited.xml") == 1) /* serve it from now on */
            route_feed("/limited.xml", limited, NULL, NULL);
        json_t *docs = docs_written();
        json_t *a = docs_of(docs, U("/flaky.xml")), *b = docs_of(docs, U("/limited.xml"));
        flaky_docs = json_array_size(a);
        limited_docs = json_array_size(b);
        json_decref(a);
        json_decref(b);
        json_decref(docs);
        usleep(150 * 1000);
    }
    CHECK_INT(flaky_docs, ==, 4);
    CHECK_INT(limited_docs, ==, 3);
    /* 3 failures, then a success (and unchanged bodies in the runs that
     * waited for the other feed). */
    CHECK_INT(httpd_request_count(H, "/flaky.xml"), >=, 4);
    CHECK_INT(httpd_request_count(H, "/limited.xml"), >=, 2);
    /* Backoff windows of 1 s: consecutive attempts at most ~1 s apart (plus
     * one run and one pause), never at once in the same run. */
    for (size_t i = 1; i < 4; i++) {
        struct httpd_request_info a, b;
        REQUIRE(httpd_request_info(H, "/flaky.xml", i - 1, &a) == 0);
        REQUIRE(httpd_request_info(H, "/flaky.xml", i, &b) == 0);
        CHECK_INT(b.received_ms - a.received_ms, <, 1000 + 1500);
        CHECK_INT(b.received_ms - a.received_ms, >, 0);
    }
    struct httpd_request_info l0, l1;
    REQUIRE(httpd_request_info(H, "/limited.xml", 0, &l0) == 0);
    REQUIRE(httpd_request_info(H, "/limited.xml", 1, &l1) == 0);
    CHECK_INT(l1.received_ms - l0.received_ms, >=, 1990); /* Retry-After: 2 */
    char *log = log_text();
    if (getenv("DEBUG_LOG"))
        fputs(log, stderr);
    CHECK_LOG(log, U("/flaky.xml"), "HTTP 503; next attempt in");
    CHECK_LOG(log, U("/flaky.xml"), "recovered after 3 failures");
    CHECK_LOG(log, U("/limited.xml"), "HTTP 429 (Retry-After 2s); next attempt in 2s");
    /* Each run is a new process: its line says which failure it is. */
    CHECK_LOG(log, U("/flaky.xml"), "(failure 1)");
    CHECK_LOG(log, U("/flaky.xml"), "(failure 2)");
    CHECK_LOG(log, U("/flaky.xml"), "(failure 3)");
    free(log);
    free(text);
    free(flaky);
    free(limited);
}

/*
 * --once skips the start-up jitter (host->run_once): with a jitter of a
 * day every feed is still fetched at once. Without --once, nothing is
 * fetched in the first second.
 */
static void test_jitter_skipped_once(void)
{
    fresh_state();
    char *body[5];
    const char *paths[] = {"/j0.xml", "/j1.xml", "/j2.xml", "/j3.xml", "/j4.xml", NULL};
    for (int i = 0; i < 5; i++) {
        char tag[8];
        snprintf(tag, sizeof tag, "j%d", i);
        body[i] = make_rss(tag, 2);
        route_feed(paths[i], body[i], NULL, NULL);
    }
    char *text = pipeline(paths, "{\"startup_jitter\": \"1d\"}", NULL);
    REQUIRE(text);
    log_open(VIGIL_LOG_WARN);
    struct er_run r;
    double t0 = mono_s();
    CHECK_INT(er_run(&env, text, 1, 0, 30000, &r), ==, 0);
    CHECK(mono_s() - t0 < 10);
    CHECK(!r.timed_out);
    for (int i = 0; paths[i]; i++)
        CHECK_INT(httpd_request_count(H, paths[i]), ==, 1);
    CHECK_INT(er_stage(&r, "news")->out, ==, 10);

    /* The same feeds under a fresh state, not once: the jitter applies. */
    fresh_state();
    httpd_reset_counts(H);
    CHECK_INT(er_run(&env, text, 0, 1000, 30000, &r), ==, 0);
    for (int i = 0; paths[i]; i++)
        CHECK_INT(httpd_request_count(H, paths[i]), ==, 0);
    CHECK_INT(er_stage(&r, "news")->out, ==, 0);
    free(text);
    for (int i = 0; i < 5; i++)
        free(body[i]);
}

/*
 * Stop in the middle of a pass (fetches, parses on worker threads and
 * emissions in flight), then run again: every item is delivered exactly
 * once over the two runs, and the first run closes its loop cleanly.
 */
static void test_stop_mid_pass_then_resume(void)
{
    enum { FEEDS = 60, ITEMS = 25 };
    fresh_state();
    const char *paths[FEEDS + 1];
    static char pathbuf[FEEDS][32];
    char *bodies[FEEDS];
    for (int i = 0; i < FEEDS; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "s%d", i);
        snprintf(pathbuf[i], sizeof pathbuf[i], "/stop/%d.xml", i);
        paths[i] = pathbuf[i];
        bodies[i] = make_rss(tag, ITEMS);
        REQUIRE(httpd_route(H, pathbuf[i],
                            &(struct httpd_response){.body = bodies[i],
                                                     .content_type = "application/rss+xml",
                                                     .etag = "\"s1\"",
                                                     .etag_304 = 1,
                                                     .delay_ms = 5 * (i % 10)}) == 0);
    }
    paths[FEEDS] = NULL;
    char *text = pipeline(paths, "{\"max_inflight\": 8, \"startup_jitter\": \"0s\"}", NULL);
    REQUIRE(text);
    /* A sink that takes a moment, so documents are in flight at the stop. */
    json_t *p = json_loads(text, 0, NULL);
    json_t *collect_opts =
        json_object_get(json_array_get(json_object_get(p, "sinks"), 0), "options");
    json_object_set_new(collect_opts, "delay", json_string("1ms"));
    free(text);
    text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    log_open(VIGIL_LOG_WARN);

    struct er_run r;
    CHECK_INT(er_run(&env, text, 0, 120, 30000, &r), ==, 0);
    CHECK(!r.timed_out);
    CHECK_INT(r.loop_closed, ==, 0);
    struct er_lines first = er_read_lines(&env, "ids");
    fprintf(stderr, "    stopped after %zu of %d items\n", first.n, FEEDS * ITEMS);
    er_lines_free(&first);
    CHECK_INT(er_run(&env, text, 1, 0, 30000, &r), ==, 0);
    struct er_lines all = er_read_lines(&env, "ids");
    CHECK_INT(all.n, ==, FEEDS * ITEMS);
    CHECK_INT(all.dups, ==, 0);
    er_lines_free(&all);
    free(text);
    for (int i = 0; i < FEEDS; i++)
        free(bodies[i]);
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
    RUN(test_faults_isolated);
    RUN(test_backoff_and_retry_after);
    RUN(test_jitter_skipped_once);
    RUN(test_stop_mid_pass_then_resume);
    httpd_stop(H);
    if (env.log.fd > 2)
        close(env.log.fd);
    er_env_free(&env);
    curl_global_cleanup();
    return test_summary();
}
