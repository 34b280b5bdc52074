/*
 * The shipped troop-deployment pipelines, run by the vigil binary as a user
 * runs them, with the shipped gazetteers and rules:
 *
 *   - troop-deployment.json against a real HTTP server on 127.0.0.1 that
 *     plays the outlets (FEEDS_MIRROR): one working world-news feed listing
 *     four article pages, one feed answering 500, the rest 404; the webhook
 *     receiver is the same server. The wire story must reach the webhook as
 *     exactly one acknowledged alert (actor RU, object KP, with its evidence
 *     sentence and offsets); the denial goes to the alert file only; the
 *     defence pact and the football report raise nothing.
 *   - troop-deployment-offline.json (what scripts/demo runs) over
 *     data/samples: exactly one alert, for the wire story.
 *
 * The articles are the project's own samples (data/samples), not corpus
 * material.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "httpd.h"
#include "proc.h"
#include "test.h"

static const char *vigil, *src;
static char dir[256];

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = '\0';
    fclose(f);
    return b;
}

/* JSON objects of a JSON-lines file, as an array (new reference). */
static json_t *read_jsonl(const char *path)
{
    json_t *arr = json_array();
    char *text = read_all(path);
    if (!text)
        return arr;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        if (o)
            json_array_append_new(arr, o);
    }
    free(text);
    return arr;
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

static const char *const samples[] = {"wire-kursk-acknowledged", "kremlin-denies", "defence-pact",
                                      "football-results"};

static void test_live_pipeline_against_a_local_outlet(void)
{
    struct httpd *h = httpd_start();
    REQUIRE(h != NULL);
    /* The article pages. */
    char *pages[4];
    for (int i = 0; i < 4; i++) {
        char path[1024], route[128];
        snprintf(path, sizeof path, "%s/data/samples/%s.html", src, samples[i]);
        pages[i] = read_all(path);
        REQUIRE(pages[i] != NULL);
        snprintf(route, sizeof route, "/world/%s.html", samples[i]);
        httpd_route(h, route,
                    &(struct httpd_response){.content_type = "text/html; charset=utf-8",
                                             .body = pages[i]});
    }
    /* One outlet's world feed lists them (teasers only, as most feeds). */
    char now[64];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
    char feed[8192];
    int n = snprintf(feed, sizeof feed,
                     "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>World</title>"
                     "<link>http://127.0.0.1:%d/world/</link><description>World news</description>",
                     httpd_port(h));
    for (int i = 0; i < 4; i++)
        n += snprintf(feed + n, sizeof feed - (size_t)n,
                      "<item><title>Story %d</title><link>http://127.0.0.1:%d/world/%s.html</link>"
                      "<guid>story-%d</guid><pubDate>%s</pubDate>"
                      "<description>A short teaser.</description></item>",
                      i, httpd_port(h), samples[i], i, now);
    snprintf(feed + n, sizeof feed - (size_t)n, "</channel></rss>\n");
    httpd_route(h, "/feeds.bbci.co.uk/news/world/rss.xml",
                &(struct httpd_response){.content_type = "application/rss+xml", .body = feed});
    /* A broken outlet: it must not stop the others. */
    httpd_route(h, "/www.theguardian.com/world/rss",
                &(struct httpd_response){.fail_times = 1000, .fail_status = 500});
    httpd_route(h, "/hook", &(struct httpd_response){.status = 200, .body = "ok\n"});

    char mirror[128], hook[128], state[512], alerts[512], pipeline[1024];
    snprintf(mirror, sizeof mirror, "http://127.0.0.1:%d/", httpd_port(h));
    snprintf(hook, sizeof hook, "http://127.0.0.1:%d/hook", httpd_port(h));
    snprintf(state, sizeof state, "%s/live-state", dir);
    snprintf(alerts, sizeof alerts, "%s/live-alerts.jsonl", dir);
    snprintf(pipeline, sizeof pipeline, "%s/pipelines/troop-deployment.json", src);
    setenv("FEEDS_MIRROR", mirror, 1);
    setenv("VIGIL_WEBHOOK_URL", hook, 1);
    setenv("VIGIL_ALERTS_FILE", alerts, 1);

    struct proc p;
    proc_run((char *[]){(char *)vigil, "run", pipeline, "--once", "--state-dir", state, NULL},
             NULL, 120000, &p);
    if (p.status != 0)
        fprintf(stderr, "%s\n", p.err);
    CHECK_INT(p.status, ==, 0);
    /* Every page was fetched although another feed failed. */
    for (int i = 0; i < 4; i++) {
        char route[128];
        snprintf(route, sizeof route, "/world/%s.html", samples[i]);
        CHECK_INT(httpd_request_count(h, route), ==, 1);
    }
    CHECK(httpd_request_count(h, "/www.theguardian.com/world/rss") >= 1);

    /* The webhook: exactly one alert, the acknowledgement. */
    CHECK_INT(httpd_request_count(h, "/hook"), ==, 1);
    char *body = httpd_request_body(h, "/hook", 0, NULL);
    json_t *a = body ? json_loads(body, 0, NULL) : NULL;
    CHECK(a != NULL);
    CHECK_STR(str_at(a, "schema", NULL), "vigil.alert/1");
    CHECK_STR(str_at(a, "event", "type"), "troop_deployment_acknowledged");
    CHECK_STR(str_at(a, "event", "actor"), "RU");
    CHECK_STR(str_at(a, "event", "object"), "KP");
    CHECK_STR(str_at(a, "severity", NULL), "high");
    const json_t *ev = json_object_get(json_object_get(a, "event"), "evidence");
    const char *evtext = json_string_value(json_object_get(ev, "text"));
    CHECK(evtext != NULL && strstr(evtext, "North Korea") != NULL);
    CHECK(json_integer_value(json_object_get(ev, "end")) >
          json_integer_value(json_object_get(ev, "start")));
    CHECK_CONTAINS(str_at(a, "document", "url"), "/world/wire-kursk-acknowledged.html");
    json_decref(a);
    free(body);

    /* The alert file: the acknowledgement and the denial, nothing else. */
    json_t *lines = read_jsonl(alerts);
    int ack = 0, denied = 0, other = 0;
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        const char *type = str_at(l, "event", "type");
        const char *actor = str_at(l, "event", "actor");
        const char *object = str_at(l, "event", "object");
        int rk = actor && object && !strcmp(actor, "RU") && !strcmp(object, "KP");
        if (type && !strcmp(type, "troop_deployment_acknowledged") && rk)
            ack++;
        else if (type && !strcmp(type, "troop_deployment_denied") && rk)
            denied++;
        else
            other++;
    }
    CHECK_INT(ack, ==, 1);
    CHECK_INT(denied, ==, 1);
    CHECK_INT(other, ==, 0);
    json_decref(lines);

    /* The archive sink kept the cleaned articles for vigil search. */
    proc_free(&p);
    proc_run((char *[]){(char *)vigil, "search", "Gerasimov", "--state-dir", state, "--json", NULL},
             NULL, 30000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "/world/wire-kursk-acknowledged.html");
    proc_free(&p);

    unsetenv("FEEDS_MIRROR");
    unsetenv("VIGIL_WEBHOOK_URL");
    unsetenv("VIGIL_ALERTS_FILE");
    for (int k = 0; k < 4; k++)
        free(pages[k]);
    httpd_stop(h);
}

static void test_offline_demo_raises_one_alert(void)
{
    char state[512], alerts[512], pipeline[1024];
    snprintf(state, sizeof state, "%s/demo-state", dir);
    snprintf(alerts, sizeof alerts, "%s/demo-alerts.jsonl", dir);
    snprintf(pipeline, sizeof pipeline, "%s/pipelines/troop-deployment-offline.json", src);
    setenv("VIGIL_DEMO_STATE", state, 1);
    setenv("VIGIL_DEMO_ALERTS", alerts, 1);
    struct proc p;
    proc_run((char *[]){(char *)vigil, "run", pipeline, "--once", NULL}, NULL, 120000, &p);
    if (p.status != 0)
        fprintf(stderr, "%s\n", p.err);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.err, "9 documents emitted, 9 finished");
    /* Every sample printed; the wire story with its event. */
    CHECK_CONTAINS(p.out, "--- Russia acknowledges North Korean troops fought to retake Kursk region");
    CHECK_CONTAINS(p.out, "EVENT troop_deployment_acknowledged [high");
    json_t *lines = read_jsonl(alerts);
    CHECK_INT(json_array_size(lines), ==, 1);
    json_t *a = json_array_get(lines, 0);
    CHECK_STR(str_at(a, "event", "type"), "troop_deployment_acknowledged");
    CHECK_STR(str_at(a, "event", "actor"), "RU");
    CHECK_STR(str_at(a, "event", "object"), "KP");
    CHECK_CONTAINS(str_at(a, "document", "title"), "Russia acknowledges North Korean troops");
    json_decref(lines);
    proc_free(&p);
    /* What scripts/demo prints at the end: the alert for people. */
    proc_run((char *[]){(char *)vigil, "alerts", "list", "--state-dir", state, "--text", NULL},
             NULL, 30000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "=== ALERT [high]: Russia acknowledges North Korea");
    CHECK_CONTAINS(p.out, "actor Russia (RU), object North Korea (KP)");
    CHECK_CONTAINS(p.out, "state delivered, 1 attempt, sink alerts");
    proc_free(&p);
    unsetenv("VIGIL_DEMO_STATE");
    unsetenv("VIGIL_DEMO_ALERTS");
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    src = getenv("VIGIL_SOURCE_DIR");
    if (!vigil || !src) {
        fprintf(stderr, "VIGIL_BIN and VIGIL_SOURCE_DIR must be set\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "/tmp/vigil-test-troop-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_live_pipeline_against_a_local_outlet);
    RUN(test_offline_demo_raises_one_alert);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
