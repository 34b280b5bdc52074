/*
 * Engine tests: real pipelines of test plugins run in-process on a real
 * loop with worker threads, observed through sink output files and the
 * engine's statistics.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "enginerun.h"
#include "pipeline.h"
#include "test.h"

static struct er_env env;

/* Run a pipeline; fails the test when the loop did not close cleanly or the
 * run hit its deadline. */
static int run_pipeline(const char *text, int once, int stop_after_ms, struct er_run *r)
{
    int rc = er_run(&env, text, once, stop_after_ms, 60000, r);
    CHECK_INT(r->loop_closed, ==, 0); /* no handle leaked */
    CHECK(!r->timed_out);
    return rc;
}

#define stage(r, id) er_stage((r), (id))
#define read_lines(name) er_read_lines(&env, (name))
#define reset(name) er_remove(&env, (name))

static void test_flow_through_stages(void)
{
    struct er_run r;
    reset("ids");
    reset("docs.jsonl");
    REQUIRE(run_pipeline("{\"sources\": [{\"id\": \"g\", \"plugin\": \"gen\", \"options\": "
                         "{\"count\": 500}}],"
                         " \"transforms\": [{\"id\": \"a\", \"plugin\": \"mark\"}, {\"id\": \"b\", "
                         "\"plugin\": \"mark\"}, {\"id\": \"c\", \"plugin\": \"mark\"}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"options\": "
                         "{\"path\": \"ids\"}},"
                         " {\"id\": \"file\", \"plugin\": \"jsonl\", \"options\": {\"path\": "
                         "\"docs.jsonl\"}}]}",
                         1, 0, &r) == 0);
    struct er_lines ids = read_lines("ids");
    CHECK_INT(ids.n, ==, 500);
    CHECK_INT(ids.dups, ==, 0);
    CHECK(json_object_get(ids.set, "doc-0") && json_object_get(ids.set, "doc-499"));
    er_lines_free(&ids);
    CHECK_INT(r.lost, ==, 0);
    CHECK_INT(stage(&r, "b")->in, ==, 500);
    CHECK_INT(stage(&r, "b")->out, ==, 500);
    CHECK_INT(stage(&r, "file")->out, ==, 500);

    /* Every document went through a, b, c in that order. */
    char path[512], line[8192];
    snprintf(path, sizeof path, "%s/docs.jsonl", env.dir);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    int n = 0, ordered = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *doc = json_loads(line, 0, NULL);
        json_t *trail = json_object_get(doc, "trail");
        n++;
        if (json_array_size(trail) == 3 &&
            !strcmp(json_string_value(json_array_get(trail, 0)), "a") &&
            !strcmp(json_string_value(json_array_get(trail, 1)), "b") &&
            !strcmp(json_string_value(json_array_get(trail, 2)), "c") &&
            json_is_string(json_object_get(doc, "fetched")) &&
            !strcmp(json_string_value(json_object_get(doc, "source")), "g"))
            ordered++;
        json_decref(doc);
    }
    fclose(f);
    CHECK_INT(n, ==, 500);
    CHECK_INT(ordered, ==, 500);
}

static void test_backpressure_bounds_memory(void)
{
    struct er_run r;
    reset("bp");
    REQUIRE(run_pipeline(
                "{\"settings\": {\"queue_high\": 200, \"queue_low\": 50, \"batch\": 16},"
                " \"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 20000}}],"
                " \"transforms\": [{\"plugin\": \"noop\"}],"
                " \"sinks\": [{\"id\": \"slow\", \"plugin\": \"collect\", \"max_inflight\": 32,"
                " \"options\": {\"path\": \"bp\", \"delay\": \"1ms\"}}]}",
                1, 0, &r) == 0);
    /* The source is paused at the high mark: never more in flight. */
    CHECK_INT(r.max_inflight, <=, 200);
    CHECK_INT(r.max_inflight, >=, 100); /* and the mark was actually reached */
    struct er_lines l = read_lines("bp");
    CHECK_INT(l.n, ==, 20000); /* nothing lost */
    CHECK_INT(l.dups, ==, 0);
    er_lines_free(&l);
    CHECK_INT(r.lost, ==, 0);
}

static void test_stage_errors_pass_or_drop(void)
{
    struct er_run r;
    /* ids doc-1, doc-10..19, doc-100..199: 111 of 200 contain "-1" */
    reset("pass");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 200}}],"
                         " \"transforms\": [{\"id\": \"bad\", \"plugin\": \"mark\", \"options\": "
                         "{\"fail_if\": \"-1\"}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"jsonl\", \"options\": "
                         "{\"path\": \"pass\"}}]}",
                         1, 0, &r) == 0);
    CHECK_INT(stage(&r, "bad")->errors, ==, 111);
    CHECK_INT(stage(&r, "out")->out, ==, 200); /* on_error pass: all go on */
    char path[512], line[8192];
    snprintf(path, sizeof path, "%s/pass", env.dir);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    int recorded = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *doc = json_loads(line, 0, NULL);
        json_t *errs = json_object_get(json_object_get(doc, "meta"), "errors");
        if (json_array_size(errs) == 1 &&
            !strcmp(json_string_value(json_object_get(json_array_get(errs, 0), "stage")), "bad") &&
            strstr(json_string_value(json_object_get(json_array_get(errs, 0), "message")),
                   "refusing"))
            recorded++;
        json_decref(doc);
    }
    fclose(f);
    CHECK_INT(recorded, ==, 111);

    reset("drop");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 200}}],"
                         " \"transforms\": [{\"id\": \"bad\", \"plugin\": \"mark\", \"on_error\": "
                         "\"drop\", \"options\": {\"fail_if\": \"-1\"}},"
                         " {\"id\": \"filter\", \"plugin\": \"mark\", \"options\": {\"drop_if\": "
                         "\"-2\"}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"options\": "
                         "{\"path\": \"drop\"}}]}",
                         1, 0, &r) == 0);
    struct er_lines l = read_lines("drop");
    /* 111 failed and were dropped; of the other 89, "-2" ids are dropped
     * on purpose: doc-2, doc-20..29 (11) */
    CHECK_INT(l.n, ==, 200 - 111 - 11);
    CHECK(!json_object_get(l.set, "doc-1") && !json_object_get(l.set, "doc-25"));
    CHECK(json_object_get(l.set, "doc-3") != NULL);
    er_lines_free(&l);
    CHECK_INT(stage(&r, "filter")->dropped, ==, 11);
    CHECK_INT(r.lost, ==, 0);
}

static void test_retries(void)
{
    struct er_run r;
    reset("retry");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 50}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"retry\": "
                         "{\"base\": \"5ms\", \"cap\": \"20ms\", \"limit\": 5},"
                         " \"options\": {\"path\": \"retry\", \"fail_first\": 2}}]}",
                         1, 0, &r) == 0);
    struct er_lines l = read_lines("retry");
    CHECK_INT(l.n, ==, 50);
    er_lines_free(&l);
    CHECK_INT(stage(&r, "out")->retries, ==, 100);
    CHECK_INT(stage(&r, "out")->failed, ==, 0);

    /* exhausted: limit 2 retries means 3 attempts, the sink wants 4 */
    reset("retry2");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 10}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"retry\": "
                         "{\"base\": \"1ms\", \"cap\": \"2ms\", \"limit\": 2},"
                         " \"options\": {\"path\": \"retry2\", \"fail_first\": 3}}]}",
                         1, 0, &r) == 0);
    l = read_lines("retry2");
    CHECK_INT(l.n, ==, 0);
    er_lines_free(&l);
    CHECK_INT(stage(&r, "out")->failed, ==, 10);
    CHECK_INT(stage(&r, "out")->retries, ==, 20);

    /* permanent failures are not retried */
    reset("perm");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 10}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\","
                         " \"options\": {\"path\": \"perm\", \"fail_if\": \"doc-3\"}}]}",
                         1, 0, &r) == 0);
    l = read_lines("perm");
    CHECK_INT(l.n, ==, 9);
    er_lines_free(&l);
    CHECK_INT(stage(&r, "out")->failed, ==, 1);
    CHECK_INT(stage(&r, "out")->retries, ==, 0);
}

static void test_async_transform_and_routing(void)
{
    struct er_run r;
    reset("all");
    reset("only_g1");
    reset("async.jsonl");
    REQUIRE(run_pipeline(
                "{\"sources\": [{\"id\": \"g1\", \"plugin\": \"gen\", \"options\": {\"count\": 30, "
                "\"prefix\": \"one\"}},"
                " {\"id\": \"g2\", \"plugin\": \"gen\", \"options\": {\"count\": 20, \"prefix\": "
                "\"two\"}}],"
                " \"transforms\": [{\"id\": \"a\", \"plugin\": \"mark\"}, {\"id\": \"wait\", "
                "\"plugin\": \"later\", \"max_inflight\": 4}, {\"id\": \"b\", \"plugin\": \"mark\"}],"
                " \"sinks\": [{\"id\": \"all\", \"plugin\": \"collect\", \"options\": {\"path\": "
                "\"all\"}},"
                " {\"id\": \"g1only\", \"plugin\": \"collect\", \"when\": {\"sources\": [\"g1\"]},"
                " \"options\": {\"path\": \"only_g1\"}},"
                " {\"id\": \"docs\", \"plugin\": \"jsonl\", \"when\": {\"match\": {\"/later\": "
                "true, \"/trail/1\": \"b\"}}, \"options\": {\"path\": \"async.jsonl\"}}]}",
                1, 0, &r) == 0);
    struct er_lines all = read_lines("all"), one = read_lines("only_g1"),
                 asy = read_lines("async.jsonl");
    CHECK_INT(all.n, ==, 50);
    CHECK_INT(one.n, ==, 30);
    CHECK_INT(asy.n, ==, 50); /* every doc crossed the async stage, then b */
    CHECK(json_object_get(one.set, "one-0") && !json_object_get(one.set, "two-0"));
    er_lines_free(&all);
    er_lines_free(&one);
    er_lines_free(&asy);
    CHECK_INT(stage(&r, "wait")->out, ==, 50);
}

static void test_graceful_stop_loses_nothing(void)
{
    struct er_run r;
    reset("drain");
    /* An endless-looking source and a slow sink, stopped mid-run like by
     * SIGTERM: everything accepted must still be delivered. */
    REQUIRE(run_pipeline("{\"settings\": {\"queue_high\": 300, \"grace\": \"30s\"},"
                         " \"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 1000000}}],"
                         " \"transforms\": [{\"plugin\": \"noop\"}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"max_inflight\": "
                         "8, \"options\": {\"path\": \"drain\", \"delay\": \"1ms\"}}]}",
                         0, 200, &r) == 0);
    struct er_lines l = read_lines("drain");
    CHECK_INT(r.emitted, >, 300);
    CHECK_INT(r.emitted, <, 1000000);
    CHECK_INT(l.n, ==, r.emitted); /* accepted = delivered */
    CHECK_INT(l.dups, ==, 0);
    CHECK_INT(r.lost, ==, 0);
    er_lines_free(&l);
}

static void test_grace_expiry_reports_loss(void)
{
    struct er_run r;
    reset("slow");
    REQUIRE(run_pipeline("{\"settings\": {\"queue_high\": 100, \"grace\": \"100ms\"},"
                         " \"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 1000000}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"max_inflight\": "
                         "1, \"options\": {\"path\": \"slow\", \"delay\": \"20ms\"}}]}",
                         0, 50, &r) == 0);
    struct er_lines l = read_lines("slow");
    CHECK_INT(r.lost, >, 0);
    /* every accepted document is either delivered or counted as lost */
    CHECK_INT(l.n + r.lost, ==, r.emitted);
    er_lines_free(&l);
}

/* A stage's max_inflight bounds what its plugin holds at once: documents
 * in process_async for an asynchronous transform, deliveries for a sink.
 * The test plugins count their own peak; the defaults are 64 and 16. */
static void test_stage_max_inflight(void)
{
    struct er_run r;
    reset("mi");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 300}}],"
                         " \"transforms\": [{\"id\": \"wait\", \"plugin\": \"later\","
                         " \"max_inflight\": 5, \"options\": {\"delay\": \"3ms\"}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", \"max_inflight\": 3,"
                         " \"options\": {\"path\": \"mi\", \"delay\": \"2ms\"}}]}",
                         1, 0, &r) == 0);
    struct er_lines l = read_lines("mi");
    CHECK_INT(l.n, ==, 300);
    er_lines_free(&l);
    CHECK_INT(er_counter(&r, "wait", "peak_inflight"), <=, 5);
    CHECK_INT(er_counter(&r, "wait", "peak_inflight"), >=, 3); /* the cap was reached */
    CHECK_INT(er_counter(&r, "out", "peak_inflight"), <=, 3);
    CHECK_INT(er_counter(&r, "out", "peak_inflight"), >=, 2);

    /* Defaults: 64 for transforms, 16 for sinks. */
    reset("mi");
    REQUIRE(run_pipeline("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": 400}}],"
                         " \"transforms\": [{\"id\": \"wait\", \"plugin\": \"later\","
                         " \"options\": {\"delay\": \"20ms\"}}],"
                         " \"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\","
                         " \"options\": {\"path\": \"mi\", \"delay\": \"5ms\"}}]}",
                         1, 0, &r) == 0);
    l = read_lines("mi");
    CHECK_INT(l.n, ==, 400);
    er_lines_free(&l);
    CHECK_INT(er_counter(&r, "wait", "peak_inflight"), <=, 64);
    CHECK_INT(er_counter(&r, "wait", "peak_inflight"), >=, 33);
    CHECK_INT(er_counter(&r, "out", "peak_inflight"), <=, 16);
    CHECK_INT(er_counter(&r, "out", "peak_inflight"), >=, 9);
}

/* A source that ignores VIGIL_EAGAIN is warned about once, when it holds
 * twice the high mark; nothing is lost. */
static void test_source_ignoring_backpressure_is_warned(void)
{
    struct er_run r;
    char logpath[512];
    snprintf(logpath, sizeof logpath, "%s/bp.log", env.dir);
    env.log.fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    env.log.level = VIGIL_LOG_WARN;
    reset("rude");
    REQUIRE(run_pipeline("{\"settings\": {\"queue_high\": 50},"
                         " \"sources\": [{\"id\": \"rude\", \"plugin\": \"gen\", \"options\":"
                         " {\"count\": 2000, \"ignore_eagain\": true}}],"
                         " \"sinks\": [{\"plugin\": \"collect\", \"options\": {\"path\": \"rude\"}}]}",
                         1, 0, &r) == 0);
    close(env.log.fd);
    env.log.fd = 2;
    env.log.level = VIGIL_LOG_ERROR;
    struct er_lines l = read_lines("rude");
    CHECK_INT(l.n, ==, 2000);
    er_lines_free(&l);
    CHECK_INT(r.lost, ==, 0);
    char *log = NULL;
    size_t len = 0;
    REQUIRE(buf_read_file(logpath, 1 << 20, &log, &len) == 0);
    CHECK_CONTAINS(log, "source keeps emitting while paused (101 documents in flight, high mark "
                        "50): memory is no longer bounded");
    const char *first = strstr(log, "keeps emitting");
    CHECK(first && !strstr(first + 1, "keeps emitting")); /* once */
    free(log);
}

struct iso {
    int stopped;
};

static void iso_stopped(void *arg, uint64_t lost)
{
    (void)lost;
    ((struct iso *)arg)->stopped = 1;
}

static struct core_engine *iso_engine;

static void iso_drained(void *arg)
{
    core_engine_stop(iso_engine, iso_stopped, arg);
}

/* Two pipelines in one engine: one that cannot be created is reported and
 * the other runs. */
static void test_pipelines_are_isolated(void)
{
    struct diags d = {0};
    struct core_pipeline_def *good = NULL, *bad = NULL;
    struct vigil_error err = {0};
    const char *good_text = "{\"name\": \"good\", \"sources\": [{\"plugin\": \"gen\", "
                            "\"options\": {\"count\": 40}}], \"sinks\": [{\"plugin\": "
                            "\"collect\", \"options\": {\"path\": \"iso\"}}]}";
    const char *bad_text = "{\"name\": \"bad\", \"sources\": [{\"plugin\": \"gen\"}], "
                           "\"sinks\": [{\"id\": \"out\", \"plugin\": \"collect\", "
                           "\"options\": {\"path\": \"/nonexistent/dir/x\"}}]}";
    reset("iso");
    REQUIRE(core_pipeline_load_buffer("good.json", env.dir, good_text, strlen(good_text),
                                      &env.loader, &good, &d) == VIGIL_OK);
    REQUIRE(core_pipeline_load_buffer("bad.json", env.dir, bad_text, strlen(bad_text),
                                      &env.loader, &bad, &d) == VIGIL_OK);
    uv_loop_t loop;
    struct iso st = {0};
    uv_loop_init(&loop);
    struct core_engine_config cfg = {.log = &env.log, .loader = &env.loader, .workers = 2,
                                     .once = 1, .state_dir = env.dir, .on_drained = iso_drained,
                                     .arg = &st};
    REQUIRE(core_engine_create(&loop, &cfg, &iso_engine, &err) == VIGIL_OK);
    struct core_pipeline *pl;
    CHECK_INT(core_engine_add(iso_engine, bad, &pl, &err), !=, VIGIL_OK);
    CHECK_CONTAINS(err.msg, "pipeline 'bad': sink 'out' (plugin 'collect'): cannot open");
    REQUIRE(core_engine_add(iso_engine, good, &pl, &err) == VIGIL_OK);
    REQUIRE(core_pipeline_start(pl, &err) == VIGIL_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    core_engine_free(iso_engine);
    CHECK_INT(uv_loop_close(&loop), ==, 0);
    CHECK(st.stopped);
    struct er_lines l = read_lines("iso");
    CHECK_INT(l.n, ==, 40);
    er_lines_free(&l);
    diags_free(&d);
}

int main(void)
{
    if (er_env_init(&env, TEST_PLUGIN_DIR, SHIPPED_PLUGIN_DIR) != 0)
        return 1;
    RUN(test_flow_through_stages);
    RUN(test_backpressure_bounds_memory);
    RUN(test_stage_errors_pass_or_drop);
    RUN(test_retries);
    RUN(test_async_transform_and_routing);
    RUN(test_graceful_stop_loses_nothing);
    RUN(test_grace_expiry_reports_loss);
    RUN(test_stage_max_inflight);
    RUN(test_source_ignoring_backpressure_is_warned);
    RUN(test_pipelines_are_isolated);
    er_env_free(&env);
    return test_summary();
}
