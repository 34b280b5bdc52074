/*
 * Scale-out under failure: a 3-node JetStream cluster (stream, consumer and
 * claims bucket with 3 replicas), a fetch tier and two workers. Mid-run one
 * server and one worker are killed with SIGKILL. The surviving worker keeps
 * going (throughput recovers), the killed worker's unacked messages come
 * back to the other after ack_wait, and when the killed worker restarts
 * with its state directory it delivers what it had accepted. In the end
 * every alert has arrived; duplicates are only the same alert id again
 * (the rare redelivery an idempotent receiver drops).
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

static void write_pipelines(const struct tier_env *t, const char *urls)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"name\": \"fetch\", \"settings\": {\"queue_high\": 256, \"grace\": \"60s\"},\n"
             " \"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],\n"
             " \"transforms\": [{\"plugin\": \"later\", \"max_inflight\": 2, \"options\": "
             "{\"delay\": \"2ms\"}}],\n"
             " \"sinks\": [{\"plugin\": \"nats\", \"max_inflight\": 64,\n"
             "   \"retry\": {\"base\": \"200ms\", \"cap\": \"2s\", \"limit\": 100000},\n"
             "   \"options\": {\"url\": %s, \"stream\": \"DOCS\", \"subjects\": [\"docs.>\"],\n"
             "     \"replicas\": 3, \"subject\": \"docs.{source}\", \"ack_timeout\": \"2s\",\n"
             "     \"reconnect_wait\": \"200ms\"}}]}\n",
             urls);
    tier_write(t, "fetch.json", text);
    snprintf(text, sizeof text,
             "{\"name\": \"work\", \"settings\": {\"workers\": 1, \"grace\": \"30s\",\n"
             "   \"cluster\": {\"nats\": %s, \"bucket\": \"claims\", \"replicas\": 3,\n"
             "                \"timeout\": \"2s\"}},\n"
             " \"sources\": [{\"plugin\": \"nats\", \"options\": {\"url\": %s,\n"
             "   \"stream\": \"DOCS\", \"subjects\": [\"docs.>\"], \"replicas\": 3,\n"
             "   \"consumer\": \"workers\", \"batch\": 16, \"max_ack_pending\": 256,\n"
             "   \"ack_wait\": \"4s\", \"fetch_wait\": \"300ms\", \"nak_delay\": \"200ms\",\n"
             "   \"reconnect_wait\": \"200ms\"}}],\n"
             " \"transforms\": [{\"plugin\": \"mark\"}],\n"
             " \"sinks\": [{\"id\": \"docs\", \"plugin\": \"collect\", \"options\": {\"path\": "
             "\"${OUT}.docs\"}},\n"
             "   {\"id\": \"alerts\", \"plugin\": \"collect\", \"options\": {\"path\": "
             "\"${OUT}.alerts\"},\n"
             "    \"alert\": {\"key\": [\"type\", \"actor\", \"object\"], \"updates\": []}}]}\n",
             urls, urls);
    tier_write(t, "work.json", text);
}

static size_t alerts_now(const struct tier_env *t)
{
    const char *files[] = {"w0.alerts", "w1.alerts"};
    return tier_distinct(t, files, 2);
}

static size_t wait_alerts(const struct tier_env *t, size_t want, int timeout_ms,
                          struct proc *const *ps, int nps)
{
    long long end = tier_now_ms() + timeout_ms;
    size_t got = 0;
    while (tier_now_ms() < end && (got = alerts_now(t)) < want) {
        tier_pump(ps, nps);
        usleep(50000);
    }
    return got;
}

static void test_kill_a_server_and_a_worker(void)
{
    if (!server_bin)
        SKIP(skip_why);
    struct tier_env t;
    REQUIRE(tier_env_init(&t, "failover") == 0);
    struct natsd srv[3];
    int port[3], http[3], cport[3];
    for (int i = 0; i < 3; i++) {
        port[i] = natsd_free_port();
        http[i] = natsd_free_port();
        cport[i] = natsd_free_port();
    }
    char urls[256];
    snprintf(urls, sizeof urls,
             "[\"nats://127.0.0.1:%d\", \"nats://127.0.0.1:%d\", \"nats://127.0.0.1:%d\"]", port[0],
             port[1], port[2]);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "n%d", i + 1);
        REQUIRE(natsd_start(&srv[i], server_bin, t.dir, name, port[i], http[i], cport[i], cport,
                            3) == 0);
    }
    for (int i = 0; i < 3; i++)
        REQUIRE(natsd_wait_healthy(&srv[i], 60000));

    enum { N = 4000 };
    tier_write_docs(&t, "docs.jsonl", 0, N, NULL, 0);
    write_pipelines(&t, urls);

    struct proc w[2], f;
    int wrun[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        char state[16], out[16];
        snprintf(state, sizeof state, "state%d", i);
        snprintf(out, sizeof out, "w%d", i);
        REQUIRE(tier_start(&t, &w[i], "work.json", state, out, 0) == 0);
        wrun[i] = 1;
    }
    for (int i = 0; i < 2; i++)
        CHECK(proc_wait_for(&w[i], "taking documents from stream", 60000));
    REQUIRE(tier_start(&t, &f, "fetch.json", "state-fetch", "fetch", 1) == 0);
    struct proc *all[3] = {&w[0], &w[1], &f};

    /* A quarter through: kill server n1 and worker 1, no goodbyes. */
    size_t at_kill = wait_alerts(&t, N / 4, 120000, all, 3);
    CHECK_INT(at_kill, >=, N / 4);
    CHECK_INT(at_kill, <, N);
    long long t_kill = tier_now_ms();
    natsd_kill(&srv[0], SIGKILL);
    kill(w[1].pid, SIGKILL);
    CHECK_INT(proc_wait(&w[1], 10000), ==, 128 + SIGKILL);
    proc_free(&w[1]);
    wrun[1] = 0;
    struct proc *alive[2] = {&w[0], &f};

    /* Throughput recovers: the survivors make as much progress again. */
    size_t after = wait_alerts(&t, at_kill + N / 4, 120000, alive, 2);
    CHECK_INT(after, >=, at_kill + N / 4);
    fprintf(stderr, "  killed at %zu alerts; %d more within %.1f s\n", at_kill, N / 4,
            (double)(tier_now_ms() - t_kill) / 1000.0);

    /* The fetch tier finishes without losing anything. */
    int st = proc_wait(&f, 300000);
    CHECK_INT(st, ==, 0);
    if (st != 0)
        fprintf(stderr, "fetch tier stderr:\n%s\n", f.err);
    CHECK_CONTAINS(f.err, ", 0 lost");
    proc_free(&f);

    /* The killed worker comes back with its state (its outbox). */
    REQUIRE(tier_start(&t, &w[1], "work.json", "state1", "w1", 0) == 0);
    wrun[1] = 1;
    struct proc *workers[2] = {&w[0], &w[1]};
    CHECK_INT(wait_alerts(&t, N, 300000, workers, 2), ==, N);
    for (int i = 0; i < 2; i++) {
        kill(w[i].pid, SIGTERM);
        st = proc_wait(&w[i], 60000);
        CHECK_INT(st, ==, 0);
        if (st != 0)
            fprintf(stderr, "worker %d stderr:\n%s\n", i, w[i].err);
    }

    /* Exactly the expected alerts; repeats only of the same ids. */
    struct tier_lines a0 = tier_read(&t, "w0.alerts"), a1 = tier_read(&t, "w1.alerts");
    json_t *ids = json_object();
    json_object_update(ids, a0.set);
    json_object_update(ids, a1.set);
    size_t missing = 0;
    for (int i = 0; i < N; i++) {
        char obj[32], id[17];
        snprintf(obj, sizeof obj, "C%d", i);
        tier_alert_id("work", "alerts", obj, id);
        missing += json_object_get(ids, id) == NULL;
    }
    CHECK_INT(missing, ==, 0);
    CHECK_INT(json_object_size(ids), ==, N);
    fprintf(stderr, "  alerts: %zu + %zu lines for %zu ids (%zu repeats)\n", a0.n, a1.n,
            json_object_size(ids), a0.n + a1.n - json_object_size(ids));
    const char *docs[] = {"w0.docs", "w1.docs"};
    CHECK_INT(tier_distinct(&t, docs, 2), ==, N);
    json_decref(ids);
    tier_lines_free(&a0);
    tier_lines_free(&a1);
    for (int i = 0; i < 2; i++) {
        if (wrun[i])
            proc_free(&w[i]);
    }
    for (int i = 0; i < 3; i++)
        natsd_free(&srv[i]);
    tier_env_free(&t);
}

int main(void)
{
    server_bin = natsd_find(skip_why, sizeof skip_why);
    if (!getenv("VIGIL_BIN")) {
        server_bin = NULL;
        snprintf(skip_why, sizeof skip_why, "VIGIL_BIN is not set (run through ctest)");
    }
    RUN(test_kill_a_server_and_a_worker);
    return test_summary();
}
