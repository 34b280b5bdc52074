/*
 * Alerting in the engine: story grouping, follow-up updates, the durable
 * outbox (retries, dead letters, restarts), digests, order, throttling.
 * Documents carrying events are read from JSON Lines files; alerts are
 * delivered to real sink plugins (jsonl files, the test collect sink).
 */
#include <stdlib.h>

#include "buf.h"
#include "enginerun.h"
#include "outbox.h"
#include "pipeline.h"
#include "alerts.h"
#include "test.h"

static struct er_env env;

/* n documents of one story: event type/actor/object, same day. */
static void story(struct buf *b, const char *prefix, int n, const char *type, const char *actor,
                  const char *object)
{
    for (int i = 0; i < n; i++)
        buf_printf(b,
                   "{\"id\": \"%s-%d\", \"url\": \"https://example.org/%s/%d\", \"title\": \"%s "
                   "%d\", \"published\": \"2024-11-04T10:%02d:00Z\", \"entities\": {\"summary\": "
                   "[{\"id\": \"%s\", \"name\": \"Name of %s\", \"type\": \"country\"}]}, "
                   "\"events\": [{\"type\": \"%s\", \"actor\": \"%s\", \"object\": \"%s\", "
                   "\"title\": \"%s acknowledges %s troops\", \"severity\": \"high\", "
                   "\"confidence\": 0.9, \"terms\": [\"confirmed\"], \"evidence\": {\"text\": "
                   "\"They confirmed it.\"}, \"rule\": {\"file\": \"rules/x.json\", \"id\": "
                   "\"rule-%s\"}}]}\n",
                   prefix, i, prefix, i, prefix, i, i % 60, actor, actor, type, actor, object,
                   actor, object, type);
}

static void write_docs(const char *name, const char *text)
{
    er_write(&env, name, text);
}

static struct core_outbox *open_outbox(struct core_store **store)
{
    struct vigil_error err = {0};
    struct core_outbox *o = NULL;
    if (core_store_open(env.dir, &env.log, store, &err) != VIGIL_OK)
        return NULL;
    if (core_outbox_open(*store, 0, &o, &err) != VIGIL_OK) {
        core_store_close(*store);
        return NULL;
    }
    return o;
}

static size_t count_state(const char *state)
{
    struct core_store *s;
    struct core_outbox *o = open_outbox(&s);
    if (!o)
        return (size_t)-1;
    json_t *rows = core_outbox_list(o, state, 0, 100000, 0);
    size_t n = json_array_size(rows);
    json_decref(rows);
    core_outbox_close(o);
    core_store_close(s);
    return n;
}

static void reset_state(void)
{
    char path[512];
    const char *files[] = {"vigil.db", "vigil.db-wal", "vigil.db-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", env.dir, files[i]);
        unlink(path);
    }
}

static void test_story_grouping_and_updates(void)
{
    struct buf b;
    struct er_run r;
    buf_init(&b, 0);
    story(&b, "a", 40, "ack", "RU", "KP");
    story(&b, "b", 3, "ack", "RU", "UA");
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "alerts.jsonl");
    REQUIRE(er_run(&env,
                   "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],"
                   " \"sinks\": [{\"id\": \"alerts\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                   " \"alerts.jsonl\"}, \"alert\": {\"updates\": [5, 20], \"update_interval\": 0}}]}",
                   1, 0, 30000, &r) == 0);
    CHECK_INT(r.lost, ==, 0);
    struct er_lines l = er_read_lines(&env, "alerts.jsonl");
    CHECK_INT(l.n, ==, 4); /* story a: alert + 2 updates; story b: alert */
    int alerts = 0, updates = 0, saw5 = 0, saw20 = 0;
    char a_id[64] = "";
    for (size_t i = 0; i < l.n; i++) {
        json_t *p = json_loads(json_string_value(json_array_get(l.list, i)), 0, NULL);
        const char *kind = json_string_value(json_object_get(p, "kind"));
        CHECK_STR(json_string_value(json_object_get(p, "schema")), "vigil.alert/1");
        if (kind && !strcmp(kind, "alert")) {
            alerts++;
            if (strstr(json_string_value(json_object_get(p, "key")), "|KP|")) {
                snprintf(a_id, sizeof a_id, "%s", json_string_value(json_object_get(p, "id")));
                CHECK_STR(json_string_value(json_object_get(p, "key")), "ack|RU|KP|2024-11-04");
                CHECK_STR(json_string_value(json_object_get(p, "title")),
                          "RU acknowledges KP troops");
                CHECK_CONTAINS(json_string_value(json_object_get(p, "why")),
                               "rule rule-ack (rules/x.json) matched \"confirmed\" with actor "
                               "Name of RU (RU) and object KP (KP) in: \"They confirmed it.\"");
                CHECK_INT(json_array_size(json_object_get(p, "sources")), ==, 1);
                CHECK_STR(json_string_value(json_object_get(
                              json_object_get(p, "event"), "actor_name")),
                          "Name of RU");
            }
        } else if (kind && !strcmp(kind, "update")) {
            updates++;
            json_int_t count = json_integer_value(json_object_get(p, "count"));
            saw5 |= count == 5;
            saw20 |= count == 20;
            char want[80];
            snprintf(want, sizeof want, "%s:u%lld", json_string_value(json_object_get(p, "id")),
                     (long long)count);
            CHECK_STR(json_string_value(json_object_get(p, "delivery_id")), want);
            CHECK_CONTAINS(json_string_value(json_object_get(p, "title")), "now reported by");
            CHECK_INT(json_array_size(json_object_get(p, "sources")), ==, count);
        }
        json_decref(p);
    }
    CHECK_INT(alerts, ==, 2);
    CHECK_INT(updates, ==, 2);
    CHECK(saw5 && saw20);
    CHECK(a_id[0] != '\0');
    er_lines_free(&l);
    CHECK_INT(count_state("delivered"), ==, 4);
    CHECK_INT(count_state("pending"), ==, 0);

    /* The same documents again: nothing new (same story, same sources). */
    REQUIRE(er_run(&env,
                   "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],"
                   " \"sinks\": [{\"id\": \"alerts\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                   " \"alerts.jsonl\"}, \"alert\": {\"updates\": [5, 20], \"update_interval\": 0}}]}",
                   1, 0, 30000, &r) == 0);
    l = er_read_lines(&env, "alerts.jsonl");
    CHECK_INT(l.n, ==, 4);
    er_lines_free(&l);
}

static const char *retry_pipeline =
    "{\"settings\": {\"grace\": \"300ms\"}, \"sources\": [{\"plugin\": \"jsonl\", \"options\": "
    "{\"path\": \"docs.jsonl\"}}], \"sinks\": [{\"id\": \"hook\", \"plugin\": \"collect\", "
    "\"retry\": {\"base\": \"%s\", \"cap\": \"%s\", \"limit\": %d}, \"options\": {\"path\": "
    "\"ids\", \"fail_first\": %d}, \"alert\": {}}]}";

static void test_retry_and_dead_letters(void)
{
    struct buf b, p;
    struct er_run r;
    buf_init(&b, 0);
    story(&b, "a", 1, "ack", "RU", "KP");
    story(&b, "b", 1, "ack", "RU", "UA");
    story(&b, "c", 1, "ack", "RU", "BY");
    write_docs("docs.jsonl", b.data);
    buf_free(&b);

    /* Two failures, then delivered. */
    reset_state();
    er_remove(&env, "ids");
    buf_init(&p, 0);
    buf_printf(&p, retry_pipeline, "5ms", "10ms", 5, 2);
    REQUIRE(er_run(&env, p.data, 1, 0, 30000, &r) == 0);
    buf_free(&p);
    struct er_lines l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 3);
    er_lines_free(&l);
    CHECK_INT(er_stage(&r, "hook")->retries, ==, 6);
    CHECK_INT(count_state("delivered"), ==, 3);

    /* Never accepted: after the limit, dead letters. */
    reset_state();
    er_remove(&env, "ids");
    buf_init(&p, 0);
    buf_printf(&p, retry_pipeline, "5ms", "10ms", 1, 100);
    REQUIRE(er_run(&env, p.data, 1, 0, 30000, &r) == 0);
    buf_free(&p);
    CHECK_INT(count_state("dead"), ==, 3);
    CHECK_INT(count_state("pending"), ==, 0);
    CHECK_INT(er_stage(&r, "hook")->failed, ==, 3);

    /* `vigil alerts retry`: requeue, and a healthy receiver gets them. */
    struct core_store *s;
    struct core_outbox *o = open_outbox(&s);
    REQUIRE(o);
    CHECK_INT(core_outbox_requeue(o, NULL, 0), ==, 3);
    core_outbox_close(o);
    core_store_close(s);
    CHECK_INT(count_state("pending"), ==, 3);
    buf_init(&p, 0);
    buf_printf(&p, retry_pipeline, "5ms", "10ms", 1, 0);
    write_docs("docs.jsonl", "");
    REQUIRE(er_run(&env, p.data, 1, 0, 30000, &r) == 0);
    buf_free(&p);
    l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 3);
    er_lines_free(&l);
    CHECK_INT(count_state("dead"), ==, 0);
}

static void test_pending_alerts_survive_restart(void)
{
    struct buf b, p;
    struct er_run r;
    buf_init(&b, 0);
    for (int i = 0; i < 8; i++) {
        char prefix[8], obj[8];
        snprintf(prefix, sizeof prefix, "s%d", i);
        snprintf(obj, sizeof obj, "O%d", i);
        story(&b, prefix, 2, "ack", "RU", obj);
    }
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "ids");

    /* The receiver is down for the whole first run. */
    buf_init(&p, 0);
    buf_printf(&p, retry_pipeline, "1s", "1s", 100, 100);
    REQUIRE(er_run(&env, p.data, 0, 300, 30000, &r) == 0);
    buf_free(&p);
    CHECK_INT(r.lost, ==, 0); /* accepted alerts are not lost: they wait */
    CHECK_INT(count_state("pending"), ==, 8);
    struct er_lines l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 0);
    er_lines_free(&l);

    /* Restart with no new documents and a healthy receiver. */
    write_docs("docs.jsonl", "");
    buf_init(&p, 0);
    buf_printf(&p, retry_pipeline, "5ms", "10ms", 100, 0);
    REQUIRE(er_run(&env, p.data, 1, 0, 30000, &r) == 0);
    buf_free(&p);
    l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 8);
    CHECK_INT(l.dups, ==, 0);
    er_lines_free(&l);
    CHECK_INT(count_state("pending"), ==, 0);
}

static void test_order_is_kept(void)
{
    struct buf b;
    struct er_run r;
    buf_init(&b, 0);
    for (int i = 0; i < 6; i++) {
        char prefix[8], obj[8];
        snprintf(prefix, sizeof prefix, "o%d", i);
        snprintf(obj, sizeof obj, "X%d", i);
        story(&b, prefix, 1, "ack", "RU", obj);
    }
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "ids");
    /* Each alert fails once: later ones must wait for the earlier one. */
    REQUIRE(er_run(&env,
                   "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],"
                   " \"sinks\": [{\"id\": \"hook\", \"plugin\": \"collect\", \"max_inflight\": 4,"
                   " \"retry\": {\"base\": \"2ms\", \"cap\": \"5ms\"}, \"options\": {\"path\": "
                   "\"ids\", \"fail_first\": 1}, \"alert\": {}}]}",
                   1, 0, 30000, &r) == 0);
    struct er_lines l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 6);
    /* the outbox's order (by seq) is the delivery order */
    struct core_store *s;
    struct core_outbox *o = open_outbox(&s);
    REQUIRE(o);
    json_t *rows = core_outbox_list(o, "delivered", 0, 100, 0);
    size_t n = json_array_size(rows);
    CHECK_INT(n, ==, 6);
    /* list is newest first: compare reversed */
    int in_order = 1;
    for (size_t i = 0; i < n && i < l.n; i++) {
        const char *want = json_string_value(json_object_get(json_array_get(rows, n - 1 - i),
                                                             "delivery_id"));
        const char *got = json_string_value(json_array_get(l.list, i));
        if (!want || !got || strcmp(want, got) != 0)
            in_order = 0;
    }
    CHECK(in_order);
    json_decref(rows);
    core_outbox_close(o);
    core_store_close(s);
    er_lines_free(&l);
}

static void test_digest_and_event_filter(void)
{
    struct buf b;
    struct er_run r;
    buf_init(&b, 0);
    story(&b, "d1", 1, "ack", "RU", "KP");
    story(&b, "d2", 1, "ack", "RU", "UA");
    story(&b, "d3", 1, "ack", "US", "KP");
    story(&b, "n1", 2, "deny", "RU", "KP"); /* filtered out by `when` */
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "digest.jsonl");
    REQUIRE(er_run(&env,
                   "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],"
                   " \"sinks\": [{\"id\": \"daily\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                   " \"digest.jsonl\"}, \"when\": {\"event_types\": [\"ack\"]},"
                   " \"alert\": {\"digest\": \"1h\"}}]}",
                   1, 0, 30000, &r) == 0);
    struct er_lines l = er_read_lines(&env, "digest.jsonl");
    CHECK_INT(l.n, ==, 1);
    json_t *d = json_loads(json_string_value(json_array_get(l.list, 0)), 0, NULL);
    CHECK_STR(json_string_value(json_object_get(d, "kind")), "digest");
    CHECK_INT(json_array_size(json_object_get(d, "alerts")), ==, 3);
    CHECK_CONTAINS(json_string_value(json_object_get(d, "title")), "3 alerts since");
    CHECK_INT(json_integer_value(json_object_get(d, "total")), ==, 3);
    CHECK_INT(json_integer_value(json_object_get(d, "omitted")), ==, 0);
    json_decref(d);
    er_lines_free(&l);
}

/* A digest lists at most CORE_DIGEST_MAX alerts; the title and "total"
 * count them all, and every one stays in the outbox. */
static void test_digest_is_capped(void)
{
    struct buf b;
    struct er_run r;
    buf_init(&b, 0);
    int n = CORE_DIGEST_MAX + 20;
    for (int i = 0; i < n; i++) {
        char prefix[16], obj[16];
        snprintf(prefix, sizeof prefix, "c%d", i);
        snprintf(obj, sizeof obj, "O%d", i);
        story(&b, prefix, 1, "ack", "RU", obj);
    }
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "digest.jsonl");
    REQUIRE(er_run(&env,
                   "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],"
                   " \"sinks\": [{\"id\": \"daily\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                   " \"digest.jsonl\"}, \"alert\": {\"digest\": \"1h\"}}]}",
                   1, 0, 60000, &r) == 0);
    struct er_lines l = er_read_lines(&env, "digest.jsonl");
    CHECK_INT(l.n, ==, 1);
    json_t *d = json_loads(json_string_value(json_array_get(l.list, 0)), 0, NULL);
    CHECK_INT(json_array_size(json_object_get(d, "alerts")), ==, CORE_DIGEST_MAX);
    CHECK_INT(json_integer_value(json_object_get(d, "total")), ==, n);
    CHECK_INT(json_integer_value(json_object_get(d, "omitted")), ==, 20);
    char want[32];
    snprintf(want, sizeof want, "%d alerts since", n);
    CHECK_CONTAINS(json_string_value(json_object_get(d, "title")), want);
    json_decref(d);
    er_lines_free(&l);
    CHECK_INT(count_state("digested"), ==, n);
}

static void test_rate_limit_holds_not_drops(void)
{
    struct buf b;
    struct er_run r;
    buf_init(&b, 0);
    for (int i = 0; i < 5; i++) {
        char prefix[8], obj[8];
        snprintf(prefix, sizeof prefix, "t%d", i);
        snprintf(obj, sizeof obj, "T%d", i);
        story(&b, prefix, 1, "ack", "RU", obj);
    }
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "ids");
    REQUIRE(er_run(&env,
                   "{\"settings\": {\"grace\": \"200ms\"}, \"sources\": [{\"plugin\": \"jsonl\","
                   " \"options\": {\"path\": \"docs.jsonl\"}}], \"sinks\": [{\"id\": \"hook\","
                   " \"plugin\": \"collect\", \"options\": {\"path\": \"ids\"},"
                   " \"alert\": {\"max_per_hour\": 2}}]}",
                   0, 400, 30000, &r) == 0);
    struct er_lines l = er_read_lines(&env, "ids");
    CHECK_INT(l.n, ==, 2);
    er_lines_free(&l);
    CHECK_INT(count_state("pending"), ==, 3); /* held back, not dropped */
    CHECK_INT(r.lost, ==, 0);
}

/* max_sources caps the sources listed in an alert (the first ones are
 * kept); the count goes on. */
static void test_max_sources_caps_the_list(void)
{
    struct buf b;
    struct er_run r;
    buf_init(&b, 0);
    story(&b, "m", 12, "ack", "RU", "BY");
    write_docs("docs.jsonl", b.data);
    buf_free(&b);
    reset_state();
    er_remove(&env, "alerts.jsonl");
    REQUIRE(er_run(&env,
                   "{\"sources\": [{\"plugin\": \"jsonl\", \"options\": {\"path\": \"docs.jsonl\"}}],"
                   " \"sinks\": [{\"id\": \"alerts\", \"plugin\": \"jsonl\", \"options\": {\"path\":"
                   " \"alerts.jsonl\"}, \"alert\": {\"updates\": [10], \"update_interval\": 0,"
                   " \"max_sources\": 3}}]}",
                   1, 0, 30000, &r) == 0);
    CHECK_INT(r.lost, ==, 0);
    struct er_lines l = er_read_lines(&env, "alerts.jsonl");
    REQUIRE(l.n == 2); /* the alert and the update at 10 */
    json_t *upd = json_loads(json_string_value(json_array_get(l.list, 1)), 0, NULL);
    CHECK_STR(json_string_value(json_object_get(upd, "kind")), "update");
    CHECK_INT(json_integer_value(json_object_get(upd, "count")), ==, 10);
    json_t *src = json_object_get(upd, "sources");
    CHECK_INT(json_array_size(src), ==, 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(src, 0), "doc_id")), "m-0");
    CHECK_STR(json_string_value(json_object_get(json_array_get(src, 2), "doc_id")), "m-2");
    json_decref(upd);
    er_lines_free(&l);
}

static void test_policy_validation(void)
{
    struct diags d = {0};
    struct core_pipeline_def *def = NULL;
    const char *text = "{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"plugin\": \"null\","
                       " \"alert\": {\"key\": [\"type\", \"colour\"], \"updates\": [5, 3],"
                       " \"digest\": \"often\"}}]}";
    CHECK_INT(core_pipeline_load_buffer("p.json", env.dir, text, strlen(text), &env.loader, &def,
                                        &d),
              ==, VIGIL_EINVAL);
    REQUIRE(d.n >= 1);
    char line[1024];
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "/sinks/0/alert/digest: alert policy option 'digest': expected a "
                         "duration");
    diags_free(&d);
    text = "{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"plugin\": \"null\","
           " \"alert\": {\"key\": [\"type\", \"colour\"], \"updates\": [5, 3]}}]}";
    CHECK_INT(core_pipeline_load_buffer("p.json", env.dir, text, strlen(text), &env.loader, &def,
                                        &d),
              ==, VIGIL_EINVAL);
    REQUIRE(d.n == 2);
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "/sinks/0/alert/key/1: alert policy option 'key': expected one of");
    diags_format(&d, 1, line, sizeof line);
    CHECK_CONTAINS(line, "/sinks/0/alert/updates: alert policy option 'updates': expected "
                         "increasing counts");
    diags_free(&d);
}

int main(void)
{
    if (er_env_init(&env, TEST_PLUGIN_DIR, SHIPPED_PLUGIN_DIR) != 0)
        return 1;
    RUN(test_story_grouping_and_updates);
    RUN(test_retry_and_dead_letters);
    RUN(test_pending_alerts_survive_restart);
    RUN(test_order_is_kept);
    RUN(test_digest_and_event_filter);
    RUN(test_digest_is_capped);
    RUN(test_rate_limit_holds_not_drops);
    RUN(test_max_sources_caps_the_list);
    RUN(test_policy_validation);
    er_env_free(&env);
    return test_summary();
}
