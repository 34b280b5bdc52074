/*
 * The events transform through its descriptor: options, create errors,
 * worker hooks, and several threads evaluating the same compiled rules.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mentions.h"
#include "test.h"
#include "vigil/plugin.h"

const struct vigil_plugin *vigil_plugin_init_transform_events(const struct vigil_host *host,
                                                              struct vigil_error *err);

/* Fake host: a log that keeps its lines, counters that add atomically. */
struct vigil_counter {
    atomic_ullong value;
    char name[64];
};
static struct vigil_counter counters[8];
static int ncounters;
static char logbuf[16384];
static size_t loglen;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void fake_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    va_list ap;
    (void)ins;
    (void)level;
    pthread_mutex_lock(&log_lock);
    va_start(ap, fmt);
    if (loglen < sizeof logbuf)
        loglen += (size_t)vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
    va_end(ap);
    if (loglen < sizeof logbuf - 1)
        logbuf[loglen++] = '\n';
    pthread_mutex_unlock(&log_lock);
}

static struct vigil_counter *fake_counter(struct vigil_instance *ins, const char *name,
                                          const char *help)
{
    (void)ins;
    (void)help;
    for (int i = 0; i < ncounters; i++)
        if (!strcmp(counters[i].name, name))
            return &counters[i];
    snprintf(counters[ncounters].name, sizeof counters[0].name, "%s", name);
    return &counters[ncounters++];
}

static void fake_add(struct vigil_counter *c, uint64_t delta)
{
    atomic_fetch_add(&c->value, delta);
}

static struct vigil_host host = {
    .abi_major = VIGIL_ABI_MAJOR,
    .abi_minor = VIGIL_ABI_MINOR,
    .struct_size = sizeof(struct vigil_host),
    .log = fake_log,
    .counter = fake_counter,
    .counter_add = fake_add,
};

/* The conf struct the option table describes (its layout is read from the
 * table's offsets, so this test does not depend on the plugin's struct). */
static void *make_conf(const struct vigil_plugin *p, char **rules, size_t n, double minc,
                       int64_t maxe, int explain)
{
    char *conf = calloc(1, p->conf_size);
    for (const struct vigil_option *o = p->options; o->name; o++) {
        if (!strcmp(o->name, "rules")) {
            struct vigil_strlist *l = (struct vigil_strlist *)(conf + o->offset);
            l->n = n;
            l->v = rules;
        } else if (!strcmp(o->name, "min_confidence")) {
            *(double *)(conf + o->offset) = minc;
        } else if (!strcmp(o->name, "max_events")) {
            *(int64_t *)(conf + o->offset) = maxe;
        } else if (!strcmp(o->name, "explain")) {
            *(int *)(conf + o->offset) = explain;
        }
    }
    return conf;
}

static char src[1024];
static char rules_path[1200], bad_path[1200], aliases[1200];

static void test_descriptor(void)
{
    struct vigil_error err = {0};
    const struct vigil_plugin *p = vigil_plugin_init_transform_events(&host, &err);
    REQUIRE(p != NULL);
    CHECK_INT(p->abi_major, ==, VIGIL_ABI_MAJOR);
    CHECK_STR(p->name, "events");
    CHECK_INT(p->kind, ==, VIGIL_TRANSFORM);
    CHECK_INT(p->flags & VIGIL_PF_SERIAL, ==, 0); /* concurrent process() */
    CHECK(p->process && p->worker_init && p->worker_fini && p->create && p->destroy);
    CHECK(p->process_async == NULL);
    int seen = 0;
    for (const struct vigil_option *o = p->options; o->name; o++) {
        if (!strcmp(o->name, "rules")) {
            CHECK_INT(o->type, ==, VIGIL_OPT_STRLIST);
            CHECK(o->flags & VIGIL_OPT_REQUIRED);
            CHECK(o->flags & VIGIL_OPT_PATH);
            seen |= 1;
        } else if (!strcmp(o->name, "min_confidence")) {
            CHECK_INT(o->type, ==, VIGIL_OPT_DOUBLE);
            seen |= 2;
        } else if (!strcmp(o->name, "max_events")) {
            CHECK_INT(o->type, ==, VIGIL_OPT_INT);
            seen |= 4;
        } else if (!strcmp(o->name, "explain")) {
            CHECK_INT(o->type, ==, VIGIL_OPT_BOOL);
            CHECK_STR(o->def, "false");
            seen |= 8;
        }
        CHECK(o->desc && *o->desc);
    }
    CHECK_INT(seen, ==, 15);
}

static void test_create_reports_rule_errors(void)
{
    struct vigil_error err = {0};
    const struct vigil_plugin *p = vigil_plugin_init_transform_events(&host, &err);
    char *rules[] = {bad_path};
    void *conf = make_conf(p, rules, 1, 0, 50, 0);
    void *state = NULL;
    loglen = 0;
    CHECK_INT(p->create(&host, NULL, conf, &state, &err), ==, VIGIL_EINVAL);
    CHECK(state == NULL);
    CHECK_CONTAINS(err.msg, "events: option \"rules\": ");
    CHECK_CONTAINS(err.msg, "invalid_rules.json:4:74: /rules/0/severty: unknown key");
    CHECK_CONTAINS(err.msg, "(and more errors, see the log)");
    /* Every error is logged, not only the first. */
    logbuf[loglen < sizeof logbuf ? loglen : sizeof logbuf - 1] = '\0';
    CHECK_CONTAINS(logbuf, "/rules/7/severity: expected one of info, low, medium, high");
    CHECK_CONTAINS(logbuf, "/tests/1/expect/0/type");
    free(conf);
}

struct job {
    const struct vigil_plugin *p;
    void *state;
    json_t *docs; /* borrowed; each thread copies */
    char *results;
    int failed;
};

/* Process every document and return their events, dumped and joined. */
static char *process_all(const struct vigil_plugin *p, void *state, json_t *docs, int use_worker)
{
    struct vigil_error err = {0};
    void *ws = NULL;
    if (use_worker && p->worker_init(state, &ws, &err) != VIGIL_OK)
        return NULL;
    size_t cap = 1 << 20, o = 0;
    char *all = malloc(cap);
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
    {
        json_t *doc = json_deep_copy(d);
        if (p->process(state, ws, doc, &err) != VIGIL_PASS) {
            json_decref(doc);
            free(all);
            all = NULL;
            break;
        }
        char *s = json_dumps(json_object_get(doc, "events"), JSON_COMPACT | JSON_SORT_KEYS);
        o += (size_t)snprintf(all + o, cap - o, "%s\n", s ? s : "");
        free(s);
        json_decref(doc);
    }
    if (use_worker)
        p->worker_fini(state, ws);
    return all;
}

static void *thread_main(void *arg)
{
    struct job *j = arg;
    for (int round = 0; round < 3; round++) {
        char *r = process_all(j->p, j->state, j->docs, 1);
        if (!r || strcmp(r, j->results) != 0)
            j->failed = 1;
        free(r);
    }
    return NULL;
}

static void test_process_and_concurrency(void)
{
    struct vigil_error err = {0};
    const struct vigil_plugin *p = vigil_plugin_init_transform_events(&host, &err);
    char *rules[] = {rules_path};
    void *conf = make_conf(p, rules, 1, 0, 50, 0);
    void *state = NULL;
    REQUIRE(p->create(&host, NULL, conf, &state, &err) == VIGIL_OK);
    char msg[256];
    struct mf *mf = mf_load(aliases, msg, sizeof msg);
    REQUIRE(mf != NULL);
    /* The documents: every test case of the shipped rules. */
    json_t *root = json_load_file(rules_path, 0, NULL);
    json_t *docs = json_array();
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(root, "tests"), i, tc)
    {
        json_array_append_new(docs, mf_case_doc(mf, tc));
    }
    CHECK_INT(json_array_size(docs), >=, 120);
    char *baseline = process_all(p, state, docs, 1);
    REQUIRE(baseline != NULL);
    CHECK_CONTAINS(baseline, "troop_deployment_acknowledged");
    /* Without worker_init the plugin still works (a private worker). */
    char *noworker = process_all(p, state, docs, 0);
    CHECK(noworker && strcmp(noworker, baseline) == 0);
    free(noworker);
    uint64_t before = atomic_load(&fake_counter(NULL, "events_detected", "")->value);
    CHECK_INT(before, >, 0);

    enum { NT = 4 };
    pthread_t t[NT];
    struct job jobs[NT];
    for (int k = 0; k < NT; k++) {
        jobs[k] = (struct job){p, state, docs, baseline, 0};
        REQUIRE(pthread_create(&t[k], NULL, thread_main, &jobs[k]) == 0);
    }
    for (int k = 0; k < NT; k++) {
        pthread_join(t[k], NULL);
        CHECK_INT(jobs[k].failed, ==, 0);
    }
    /* Counters saw every thread's events. */
    uint64_t after = atomic_load(&fake_counter(NULL, "events_detected", "")->value);
    CHECK_INT(after, ==, before + before / 2 * NT * 3);
    free(baseline);
    json_decref(docs);
    json_decref(root);
    mf_free(mf);
    p->destroy(state);
    free(conf);
}

static void test_options_reach_the_engine(void)
{
    struct vigil_error err = {0};
    const struct vigil_plugin *p = vigil_plugin_init_transform_events(&host, &err);
    char *rules[] = {rules_path};
    void *conf = make_conf(p, rules, 1, 0.99, 50, 1);
    void *state = NULL;
    REQUIRE(p->create(&host, NULL, conf, &state, &err) == VIGIL_OK);
    json_t *doc = json_pack("{s:s, s:s, s:{s:[{s:s, s:s, s:s, s:i, s:i}, {s:s, s:s, s:s, s:i, "
                            "s:i, s:b}]}}",
                            "text", "Russia confirmed that North Korean troops were fighting.",
                            "lang", "en", "entities", "mentions", "id", "RU", "type", "country",
                            "name", "Russia", "start", 0, "end", 6, "id", "KP", "type", "country",
                            "name", "North Korea", "start", 22, "end", 34, "demonym", 1);
    CHECK_INT(p->process(state, NULL, doc, &err), ==, VIGIL_PASS);
    /* min_confidence 0.99 drops the event; explain is on. */
    CHECK_INT(json_array_size(json_object_get(doc, "events")), ==, 0);
    json_t *x = json_object_get(json_object_get(doc, "meta"), "explain_events");
    CHECK(json_is_array(x) && json_array_size(x) >= 6);
    CHECK(json_is_true(json_object_get(json_array_get(x, 0), "fired")));
    json_decref(doc);
    /* A document too big to look at passes on with an error noted. */
    size_t big = (32u << 20) + 1;
    char *text = malloc(big + 1);
    REQUIRE(text != NULL);
    memset(text, 'a', big);
    text[big] = '\0';
    doc = json_pack("{s:s, s:s%}", "id", "big", "text", text, big);
    free(text);
    CHECK_INT(p->process(state, NULL, doc, &err), ==, VIGIL_PASS);
    json_t *errs = json_object_get(json_object_get(doc, "meta"), "errors");
    CHECK_INT(json_array_size(errs), ==, 1);
    CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(errs, 0), "message")),
                   "larger than 32 MB");
    CHECK(json_object_get(doc, "events") == NULL);
    json_decref(doc);
    p->destroy(state);
    free(conf);
}

int main(void)
{
    const char *s = getenv("VIGIL_SOURCE_DIR");
    snprintf(src, sizeof src, "%s", s ? s : ".");
    snprintf(rules_path, sizeof rules_path, "%s/rules/military.json", src);
    snprintf(bad_path, sizeof bad_path, "%s/tests/events/fixtures/invalid_rules.json", src);
    snprintf(aliases, sizeof aliases, "%s/tests/events/fixtures/aliases.json", src);
    RUN(test_descriptor);
    RUN(test_create_reports_rule_errors);
    RUN(test_process_and_concurrency);
    RUN(test_options_reach_the_engine);
    return test_summary();
}
