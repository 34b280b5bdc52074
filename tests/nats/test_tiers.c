/*
 * Scale-out end to end, on one real nats-server (JetStream, temp store):
 * a fetch tier (`vigil run --once`: jsonl -> nats sink) feeds a processing
 * tier of two `vigil run` workers (nats source -> ... -> alert sinks).
 *
 *   - every document is processed exactly once in effect, each alert
 *     arrives once, and both workers did some of the work;
 *   - one story seen by both workers makes one alert (cluster grouping);
 *   - dedupe-style claims through host->claim: one winner per key across
 *     the workers;
 *   - the broker down at start and killed mid-run: clear log lines, the
 *     fetch tier holds (backpressure), nothing is lost, all recovers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "tiers.h"

static const char *server_bin;
static char skip_why[256];

/* --- pipelines --------------------------------------------------------------- */

/* jsonl -> [later] -> nats. slow: pace it (about 1000 documents/s) so a test
 * can act while it runs. */
static void write_fetch(const struct tier_env *t, const char *url, int slow)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"fetch\", \"settings\": {\"queue_high\": 256, \"grace\": \"60s\"},\n"
             " \"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],\n"
             " \"transforms\": [%s],\n"
             " \"sinks\": [{\"plugin\": \"nats\", \"max_inflight\": 64,\n"
             "   \"retry\": {\"base\": \"200ms\", \"cap\": \"2s\", \"limit\": 100000},\n"
             "   \"options\": {\"url\": \"%s\", \"stream\": \"DOCS\", \"subjects\": [\"docs.>\"],\n"
             "     \"subject\": \"docs.{source}\", \"ack_timeout\": \"2s\",\n"
             "     \"reconnect_wait\": \"200ms\"}}]}\n",
             slow
                 ? "{\"plugin\": \"later\", \"max_inflight\": 2, \"options\": {\"delay\": \"2ms\"}}"
                 : "",
             url);
    tier_write(t, "fetch.json", text);
}

/* nats -> transforms -> docs (collect) [+ alerts (collect with a policy)]. */
static void write_worker(const struct tier_env *t, const char *url, const char *transforms,
                         int batch, int max_ack_pending, int alerts)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"work\", \"settings\": {\"workers\": 1, \"grace\": \"30s\",\n"
             "   \"cluster\": {\"nats\": \"%s\", \"bucket\": \"claims\", \"timeout\": \"2s\"}},\n"
             " \"sources\": [{\"plugin\": \"nats\", \"options\": {\"url\": \"%s\",\n"
             "   \"stream\": \"DOCS\", \"subjects\": [\"docs.>\"], \"consumer\": \"workers\",\n"
             "   \"batch\": %d, \"max_ack_pending\": %d, \"ack_wait\": \"5s\",\n"
             "   \"fetch_wait\": \"300ms\", \"nak_delay\": \"200ms\", \"reconnect_wait\": "
             "\"200ms\"}}],\n"
             " \"transforms\": [%s],\n"
             " \"sinks\": [{\"id\": \"docs\", \"plugin\": \"collect\", \"options\": {\"path\": "
             "\"${OUT}.docs\"}}%s]}\n",
             url, url, batch, max_ack_pending, transforms,
             alerts ? ",\n   {\"id\": \"alerts\", \"plugin\": \"collect\", \"options\": {\"path\": "
                      "\"${OUT}.alerts\"},\n    \"alert\": {\"key\": [\"type\", \"actor\", "
                      "\"object\"], \"updates\": []}}"
                    : "");
    tier_write(t, "work.json", text);
}

/* --- helpers ------------------------------------------------------------------ */

struct world {
    struct tier_env t;
    struct natsd srv;
    int port, http;
    struct proc w[2];
    int wrun[2];
};

static int world_init(struct world *W, const char *name, int start_server)
{
    memset(W, 0, sizeof *W);
    if (tier_env_init(&W->t, name) != 0)
        return -1;
    W->port = natsd_free_port();
    W->http = natsd_free_port();
    if (!start_server) {
        /* Configured, not started: the broker is down. */
        W->srv.port = W->port;
        snprintf(W->srv.url, sizeof W->srv.url, "nats://127.0.0.1:%d", W->port);
        return 0;
    }
    if (natsd_start(&W->srv, server_bin, W->t.dir, "n1", W->port, W->http, 0, NULL, 0) != 0 ||
        !natsd_wait_healthy(&W->srv, 20000))
        return -1;
    return 0;
}

static int start_workers(struct world *W)
{
    for (int i = 0; i < 2; i++) {
        char state[16], out[16];
        snprintf(state, sizeof state, "state%d", i);
        snprintf(out, sizeof out, "w%d", i);
        if (tier_start(&W->t, &W->w[i], "work.json", state, out, 0) != 0)
            return -1;
        W->wrun[i] = 1;
    }
    return 0;
}

static int workers_subscribed(struct world *W, int timeout_ms)
{
    int ok = 1;
    for (int i = 0; i < 2; i++)
        ok &= proc_wait_for(&W->w[i], "taking documents from stream", timeout_ms);
    return ok;
}

/* What the workers and the server say, when a wait ran out. */
static void diagnose(struct world *W)
{
    static char buf[65536];
    for (int i = 0; i < 2; i++) {
        if (!W->wrun[i])
            continue;
        proc_pump(&W->w[i], 0);
        size_t len = strlen(W->w[i].err);
        fprintf(stderr, "worker %d stderr (end):\n%s\n", i,
                W->w[i].err + (len > 3000 ? len - 3000 : 0));
    }
    if (W->srv.running && natsd_http_get(&W->srv, "/jsz?consumers=1", buf, sizeof buf) == 0)
        fprintf(stderr, "server /jsz:\n%.6000s\n", buf);
}

/* Wait until the files hold `want` distinct lines; returns how many. */
static size_t wait_distinct(struct world *W, const char *const *files, int nfiles, size_t want,
                            int timeout_ms, struct proc *extra)
{
    long long end = tier_now_ms() + timeout_ms;
    size_t got = 0;
    while (tier_now_ms() < end) {
        got = tier_distinct(&W->t, files, nfiles);
        if (got >= want)
            break;
        struct proc *ps[3] = {W->wrun[0] ? &W->w[0] : NULL, W->wrun[1] ? &W->w[1] : NULL, extra};
        tier_pump(ps, 3);
        usleep(50000);
    }
    if (got < want)
        diagnose(W);
    return got;
}

static void stop_workers(struct world *W)
{
    for (int i = 0; i < 2; i++) {
        if (!W->wrun[i])
            continue;
        kill(W->w[i].pid, SIGTERM);
        int st = proc_wait(&W->w[i], 60000);
        CHECK_INT(st, ==, 0);
        if (st != 0)
            fprintf(stderr, "worker %d stderr:\n%s\n", i, W->w[i].err);
    }
}

static void world_free(struct world *W)
{
    for (int i = 0; i < 2; i++) {
        if (W->wrun[i])
            proc_free(&W->w[i]);
    }
    natsd_free(&W->srv);
    tier_env_free(&W->t);
}

static void check_alerts(struct world *W, int first, int n)
{
    struct tier_lines a0 = tier_read(&W->t, "w0.alerts"), a1 = tier_read(&W->t, "w1.alerts");
    json_t *all = json_object();
    json_object_update(all, a0.set);
    json_object_update(all, a1.set);
    size_t missing = 0;
    for (int i = first; i < first + n; i++) {
        char obj[32], id[17];
        snprintf(obj, sizeof obj, "C%d", i);
        tier_alert_id("work", "alerts", obj, id);
        if (!json_object_get(all, id))
            missing++;
    }
    CHECK_INT(missing, ==, 0);
    CHECK_INT(json_object_size(all), ==, n);
    fprintf(stderr, "  alerts: %zu + %zu lines, %zu distinct\n", a0.n, a1.n, json_object_size(all));
    json_decref(all);
    tier_lines_free(&a0);
    tier_lines_free(&a1);
}

/* --- tests -------------------------------------------------------------------- */

static void test_two_workers_share_the_work(void)
{
    if (!server_bin)
        SKIP(skip_why);
    struct world W;
    REQUIRE(world_init(&W, "tiers", 1) == 0);
    enum { N = 2000 };
    tier_write_docs(&W.t, "docs.jsonl", 0, N, NULL, 0);
    write_fetch(&W.t, W.srv.url, 0);
    write_worker(&W.t, W.srv.url, "{\"plugin\": \"mark\"}", 16, 256, 1);
    REQUIRE(start_workers(&W) == 0);
    REQUIRE(workers_subscribed(&W, 30000));

    struct proc f;
    REQUIRE(tier_start(&W.t, &f, "fetch.json", "state-fetch", "fetch", 1) == 0);
    int st = proc_wait(&f, 120000);
    CHECK_INT(st, ==, 0);
    if (st != 0)
        fprintf(stderr, "fetch tier stderr:\n%s\n", f.err);
    proc_free(&f);

    const char *alerts[] = {"w0.alerts", "w1.alerts"};
    CHECK_INT(wait_distinct(&W, alerts, 2, N, 120000, NULL), ==, N);
    stop_workers(&W);

    check_alerts(&W, 0, N);
    struct tier_lines d0 = tier_read(&W.t, "w0.docs"), d1 = tier_read(&W.t, "w1.docs");
    json_t *all = json_object();
    json_object_update(all, d0.set);
    json_object_update(all, d1.set);
    CHECK_INT(json_object_size(all), ==, N);
    /* No crash, no redelivery: each document went through exactly once. */
    CHECK_INT(d0.n + d1.n, ==, N);
    CHECK_INT(d0.dups + d1.dups, ==, 0);
    /* Both workers took part. */
    CHECK_INT(d0.n, >, 0);
    CHECK_INT(d1.n, >, 0);
    fprintf(stderr, "  documents per worker: %zu and %zu\n", d0.n, d1.n);
    json_decref(all);
    tier_lines_free(&d0);
    tier_lines_free(&d1);
    world_free(&W);
}

static void test_one_story_one_alert(void)
{
    if (!server_bin)
        SKIP(skip_why);
    struct world W;
    REQUIRE(world_init(&W, "story", 1) == 0);
    enum { N = 60 };
    /* Every document reports the same story (same type, actor, object). */
    tier_write_docs(&W.t, "docs.jsonl", 0, N, "SAME", 0);
    write_fetch(&W.t, W.srv.url, 0);
    /* Small fetches and a delay spread the story over both workers. */
    write_worker(&W.t, W.srv.url,
                 "{\"plugin\": \"later\", \"max_inflight\": 2, \"options\": {\"delay\": \"20ms\"}}",
                 1, 4, 1);
    REQUIRE(start_workers(&W) == 0);
    REQUIRE(workers_subscribed(&W, 30000));
    struct proc f;
    REQUIRE(tier_start(&W.t, &f, "fetch.json", "state-fetch", "fetch", 1) == 0);
    CHECK_INT(proc_wait(&f, 120000), ==, 0);
    proc_free(&f);
    const char *docs[] = {"w0.docs", "w1.docs"};
    CHECK_INT(wait_distinct(&W, docs, 2, N, 120000, NULL), ==, N);
    usleep(300000); /* the last alert delivery, if any */
    stop_workers(&W);

    struct tier_lines d0 = tier_read(&W.t, "w0.docs"), d1 = tier_read(&W.t, "w1.docs");
    struct tier_lines a0 = tier_read(&W.t, "w0.alerts"), a1 = tier_read(&W.t, "w1.alerts");
    fprintf(stderr, "  documents per worker: %zu and %zu; alerts: %zu and %zu\n", d0.n, d1.n, a0.n,
            a1.n);
    /* Both workers saw the story... */
    CHECK_INT(d0.n, >, 0);
    CHECK_INT(d1.n, >, 0);
    /* ...and it was alerted once, by whichever claimed it first. */
    CHECK_INT(a0.n + a1.n, ==, 1);
    char id[17];
    tier_alert_id("work", "alerts", "SAME", id);
    CHECK(json_object_get(a0.set, id) || json_object_get(a1.set, id));
    tier_lines_free(&d0);
    tier_lines_free(&d1);
    tier_lines_free(&a0);
    tier_lines_free(&a1);
    world_free(&W);
}

static void test_dedupe_claims_one_winner(void)
{
    if (!server_bin)
        SKIP(skip_why);
    struct world W;
    REQUIRE(world_init(&W, "dedupe", 1) == 0);
    enum { N = 400, PER_KEY = 2 };
    /* Documents 2k and 2k+1 carry the same key k<k>. */
    tier_write_docs(&W.t, "docs.jsonl", 0, N, NULL, PER_KEY);
    write_fetch(&W.t, W.srv.url, 0);
    write_worker(&W.t, W.srv.url, "{\"plugin\": \"claim\"}", 2, 8, 0);
    REQUIRE(start_workers(&W) == 0);
    REQUIRE(workers_subscribed(&W, 30000));
    struct proc f;
    REQUIRE(tier_start(&W.t, &f, "fetch.json", "state-fetch", "fetch", 1) == 0);
    CHECK_INT(proc_wait(&f, 120000), ==, 0);
    proc_free(&f);
    const char *docs[] = {"w0.docs", "w1.docs"};
    CHECK_INT(wait_distinct(&W, docs, 2, N / PER_KEY, 120000, NULL), ==, N / PER_KEY);
    usleep(1000000); /* a wrong second winner would show up now */
    stop_workers(&W);

    struct tier_lines d0 = tier_read(&W.t, "w0.docs"), d1 = tier_read(&W.t, "w1.docs");
    int per_key[N / PER_KEY] = {0};
    const char *id;
    json_t *v;
    json_t *all = json_object();
    json_object_update(all, d0.set);
    json_object_update(all, d1.set);
    json_object_foreach(all, id, v)
    {
        long i = strtol(id + 1, NULL, 10);
        if (i >= 0 && i < N)
            per_key[i / PER_KEY]++;
    }
    int zero = 0, twice = 0;
    for (int k = 0; k < N / PER_KEY; k++) {
        zero += per_key[k] == 0;
        twice += per_key[k] > 1;
    }
    CHECK_INT(zero, ==, 0);
    CHECK_INT(twice, ==, 0);
    CHECK_INT(d0.n, >, 0);
    CHECK_INT(d1.n, >, 0);
    fprintf(stderr, "  winners per worker: %zu and %zu\n", d0.n, d1.n);
    json_decref(all);
    tier_lines_free(&d0);
    tier_lines_free(&d1);
    world_free(&W);
}

/* The real dedupe stage with "shared": true: documents 2k and 2k+1 carry
 * the same URL (different texts) and may reach different workers; exactly
 * one of each pair survives (mode drop), and both workers take part. */
static void test_shared_dedupe_one_per_url(void)
{
    if (!server_bin)
        SKIP(skip_why);
    struct world W;
    REQUIRE(world_init(&W, "shared-dedupe", 1) == 0);
    enum { N = 200, PER_URL = 2 };
    FILE *f = fopen(tier_path(&W.t, "docs.jsonl"), "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < N; i++)
        fprintf(f,
                "{\"id\": \"d%d\", \"title\": \"story %d\", \"url\": "
                "\"https://news.example/world/%d?utm_source=feed%d\", \"text\": \"Report number "
                "%d from the border.\"}\n",
                i, i, i / PER_URL, i, i);
    fclose(f);
    write_fetch(&W.t, W.srv.url, 0);
    write_worker(&W.t, W.srv.url,
                 "{\"plugin\": \"dedupe\", \"options\": {\"shared\": true, \"mode\": \"drop\","
                 " \"near\": false}}",
                 2, 8, 0);
    REQUIRE(start_workers(&W) == 0);
    REQUIRE(workers_subscribed(&W, 30000));
    struct proc fp;
    REQUIRE(tier_start(&W.t, &fp, "fetch.json", "state-fetch", "fetch", 1) == 0);
    CHECK_INT(proc_wait(&fp, 120000), ==, 0);
    proc_free(&fp);
    const char *docs[] = {"w0.docs", "w1.docs"};
    CHECK_INT(wait_distinct(&W, docs, 2, N / PER_URL, 120000, NULL), ==, N / PER_URL);
    usleep(1000000); /* a second survivor of a pair would show up now */
    stop_workers(&W);
    struct tier_lines d0 = tier_read(&W.t, "w0.docs"), d1 = tier_read(&W.t, "w1.docs");
    int per_url[N / PER_URL] = {0};
    json_t *all = json_object();
    json_object_update(all, d0.set);
    json_object_update(all, d1.set);
    const char *id;
    json_t *v;
    json_object_foreach(all, id, v)
    {
        long i = strtol(id + 1, NULL, 10);
        if (i >= 0 && i < N)
            per_url[i / PER_URL]++;
    }
    int zero = 0, twice = 0;
    for (int k = 0; k < N / PER_URL; k++) {
        zero += per_url[k] == 0;
        twice += per_url[k] > 1;
    }
    CHECK_INT(zero, ==, 0);
    CHECK_INT(twice, ==, 0);
    CHECK_INT(d0.n, >, 0);
    CHECK_INT(d1.n, >, 0);
    json_decref(all);
    tier_lines_free(&d0);
    tier_lines_free(&d1);
    world_free(&W);
}

static void test_broker_down_then_killed(void)
{
    if (!server_bin)
        SKIP(skip_why);
    struct world W;
    REQUIRE(world_init(&W, "outage", 0) == 0);
    enum { N = 3000 };
    tier_write_docs(&W.t, "docs.jsonl", 0, N, NULL, 0);
    write_fetch(&W.t, W.srv.url, 1);
    write_worker(&W.t, W.srv.url, "{\"plugin\": \"mark\"}", 16, 256, 1);

    /* 1. Nothing listens: both tiers start, say so, and wait. */
    REQUIRE(start_workers(&W) == 0);
    struct proc f;
    REQUIRE(tier_start(&W.t, &f, "fetch.json", "state-fetch", "fetch", 1) == 0);
    CHECK(proc_wait_for(&f, "is not reachable; retrying", 10000));
    CHECK(proc_wait_for(&f, "NATS is not reachable: holding deliveries", 10000));
    CHECK(proc_wait_for(&W.w[0], "is not reachable; retrying", 10000));
    usleep(1000000);
    proc_pump(&f, 0);
    CHECK_INT(f.status, <, 0); /* still running, holding */

    /* 2. The broker comes: everything flows. */
    REQUIRE(natsd_start(&W.srv, server_bin, W.t.dir, "n1", W.port, W.http, 0, NULL, 0) == 0);
    REQUIRE(natsd_wait_healthy(&W.srv, 20000));
    CHECK(proc_wait_for(&f, "connected to NATS", 15000));
    CHECK(proc_wait_for(&f, "publishing", 15000));

    /* 3. Killed mid-run (SIGKILL: no goodbye), back two seconds later with
     * its store. */
    const char *alerts[] = {"w0.alerts", "w1.alerts"};
    size_t before = wait_distinct(&W, alerts, 2, N / 4, 60000, &f);
    CHECK_INT(before, <, N);
    natsd_kill(&W.srv, SIGKILL);
    CHECK(proc_wait_for(&f, "lost the connection to NATS", 10000));
    CHECK(proc_wait_for(&W.w[0], "lost the connection to NATS", 10000));
    usleep(2000000);
    REQUIRE(natsd_restart(&W.srv) == 0);
    REQUIRE(natsd_wait_healthy(&W.srv, 20000));
    CHECK(proc_wait_for(&f, "reconnected to NATS", 20000));
    CHECK(proc_wait_for(&W.w[0], "reconnected to NATS", 20000));

    /* 4. Nothing lost: the fetch tier ends cleanly (exit 4 would mean lost
     * documents) and every alert arrives. */
    int st = proc_wait(&f, 180000);
    CHECK_INT(st, ==, 0);
    if (st != 0)
        fprintf(stderr, "fetch tier stderr:\n%s\n", f.err);
    CHECK_CONTAINS(f.err, ", 0 lost");
    proc_free(&f);
    CHECK_INT(wait_distinct(&W, alerts, 2, N, 180000, NULL), ==, N);
    stop_workers(&W);
    check_alerts(&W, 0, N);
    const char *docs[] = {"w0.docs", "w1.docs"};
    CHECK_INT(tier_distinct(&W.t, docs, 2), ==, N);
    world_free(&W);
}

/* settings.cluster and the daemon's cluster are checked like everything
 * else: every problem at once, with its position. */
static void test_cluster_settings_validated(void)
{
    struct tier_env t;
    REQUIRE(tier_env_init(&t, "validate") == 0);
    tier_write(&t, "bad.json",
               "{\"name\": \"bad\",\n"
               " \"settings\": {\"cluster\": {\"bucket\": \"b\", \"timeout\": \"soon\", "
               "\"replicas\": 9}},\n"
               " \"sources\": [{\"plugin\": \"nats\", \"options\": {\"consumer\": \"a.b\"}}],\n"
               " \"sinks\": [{\"plugin\": \"nats\", \"options\": {\"ack_timeout\": \"1ms\"}}]}\n");
    char *argv[] = {(char *)t.vigil, "validate", (char *)tier_path(&t, "bad.json"), NULL};
    struct proc p;
    REQUIRE(proc_run(argv, NULL, 30000, &p) == 0);
    CHECK_INT(p.status, !=, 0);
    CHECK_CONTAINS(p.err, "bad.json:2:");
    CHECK_CONTAINS(p.err, "/settings/cluster");
    CHECK_CONTAINS(p.err, "'nats'");     /* required */
    CHECK_CONTAINS(p.err, "'timeout'");  /* not a duration */
    CHECK_CONTAINS(p.err, "'replicas'"); /* out of bounds */
    CHECK_CONTAINS(p.err, "/sinks/0/options/ack_timeout");
    proc_free(&p);

    tier_write(&t, "good.json",
               "{\"name\": \"good\", \"settings\": {\"cluster\": {\"nats\": "
               "[\"nats://127.0.0.1:1\", \"nats://127.0.0.1:2\"]}},\n"
               " \"sources\": [{\"plugin\": \"nats\"}], \"sinks\": [{\"plugin\": \"null\"}]}\n");
    tier_write(&t, "daemon.json",
               "{\"pipelines\": [\"good.json\"], \"cluster\": {\"nats\": \"nats://x:1\", "
               "\"max_ttl\": \"1s\"}}\n");
    char *argv2[] = {(char *)t.vigil, "validate", (char *)tier_path(&t, "good.json"), NULL};
    REQUIRE(proc_run(argv2, NULL, 30000, &p) == 0);
    CHECK_INT(p.status, ==, 0);
    proc_free(&p);
    /* The daemon's own cluster key: max_ttl below its minimum of 1m. */
    char *argv3[] = {(char *)t.vigil, "serve", "--config", (char *)tier_path(&t, "daemon.json"),
                     NULL};
    REQUIRE(proc_run(argv3, NULL, 30000, &p) == 0);
    CHECK_INT(p.status, !=, 0);
    CHECK_CONTAINS(p.err, "/cluster/max_ttl");
    proc_free(&p);
    tier_env_free(&t);
}

int main(void)
{
    server_bin = natsd_find(skip_why, sizeof skip_why);
    if (!getenv("VIGIL_BIN")) {
        server_bin = NULL;
        snprintf(skip_why, sizeof skip_why, "VIGIL_BIN is not set (run through ctest)");
    }
    RUN(test_cluster_settings_validated);
    RUN(test_two_workers_share_the_work);
    RUN(test_one_story_one_alert);
    RUN(test_dedupe_claims_one_winner);
    RUN(test_shared_dedupe_one_per_url);
    RUN(test_broker_down_then_killed);
    return test_summary();
}
