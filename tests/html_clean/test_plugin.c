/*
 * The html_clean plugin through its descriptor and hooks, with a fake host
 * (test scaffolding: log, counters and the clock only).
 */
#include <pthread.h>
#include <stdarg.h>

#include "fixture.h"
#include "test.h"
#include "units.h"

const struct vigil_plugin *vigil_plugin_init_transform_html_clean(const struct vigil_host *host,
                                                                  struct vigil_error *err);

/* ---- fake host ---- */
struct vigil_counter {
    uint64_t value;
};
static struct vigil_counter counters[4];
static int ncounters;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void fake_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    (void)ins;
    (void)level;
    (void)fmt;
}

static struct vigil_counter *fake_counter(struct vigil_instance *ins, const char *name,
                                          const char *help)
{
    (void)ins;
    (void)name;
    (void)help;
    return ncounters < 4 ? &counters[ncounters++] : NULL;
}

static void fake_counter_add(struct vigil_counter *c, uint64_t d)
{
    pthread_mutex_lock(&counter_lock);
    c->value += d;
    pthread_mutex_unlock(&counter_lock);
}

static int64_t fake_now(void)
{
    return TEST_NOW_MS;
}

static struct vigil_host host;

static void host_init(void)
{
    memset(&host, 0, sizeof host);
    host.abi_major = VIGIL_ABI_MAJOR;
    host.abi_minor = VIGIL_ABI_MINOR;
    host.struct_size = sizeof host;
    host.log = fake_log;
    host.counter = fake_counter;
    host.counter_add = fake_counter_add;
    host.now_ms = fake_now;
}

static const struct vigil_plugin *P;

static const struct vigil_option *opt(const char *name)
{
    for (const struct vigil_option *o = P->options; o->name; o++) {
        if (strcmp(o->name, name) == 0)
            return o;
    }
    return NULL;
}

static void test_descriptor(void)
{
    struct vigil_error err = {0};
    P = vigil_plugin_init_transform_html_clean(&host, &err);
    REQUIRE(P);
    CHECK_INT(P->abi_major, ==, VIGIL_ABI_MAJOR);
    CHECK_INT(P->struct_size, ==, sizeof(struct vigil_plugin));
    CHECK_STR(P->name, "html_clean");
    CHECK_INT(P->kind, ==, VIGIL_TRANSFORM);
    CHECK(!(P->flags & VIGIL_PF_SERIAL)); /* runs on many workers at once */
    CHECK(P->process && !P->process_async);
    CHECK(P->worker_init && P->worker_fini && P->create && P->destroy);
    CHECK_INT(P->conf_size, ==, sizeof(struct clean_conf));
    static const char *const names[] = {"preset",       "max_html",    "keep_html",
                                        "min_text",     "lang_detect", "languages",
                                        "fingerprints", "sentences",   NULL};
    for (int i = 0; names[i]; i++) {
        const struct vigil_option *o = opt(names[i]);
        CHECK(o != NULL);
        if (o) {
            CHECK(o->desc && strlen(o->desc) > 10);
            CHECK(o->offset < P->conf_size);
        }
    }
}

/* The option table's defaults are the ones clean_conf_defaults uses. */
static void test_option_defaults_agree(void)
{
    REQUIRE(P);
    struct clean_conf d;
    clean_conf_defaults(&d);
    const struct vigil_option *o = opt("preset");
    REQUIRE(o && o->type == VIGIL_OPT_ENUM && o->choices);
    CHECK_STR(o->choices[d.preset], o->def);
    CHECK_STR(o->choices[CLEAN_PRESET_RECALL], "recall");
    uint64_t v;
    o = opt("max_html");
    REQUIRE(o && units_parse_size(o->def, &v) == 0);
    CHECK_INT(v, ==, d.max_html);
    o = opt("min_text");
    REQUIRE(o && units_parse_size(o->def, &v) == 0);
    CHECK_INT(v, ==, d.min_text);
    CHECK_STR(opt("keep_html")->def, d.keep_html ? "true" : "false");
    CHECK_STR(opt("lang_detect")->def, d.lang_detect ? "true" : "false");
    CHECK_STR(opt("sentences")->def, d.sentences ? "true" : "false");
    CHECK_STR(opt("fingerprints")->def, CLEAN_LANG_DEFAULT_CONF);
}

struct thread_arg {
    void *state;
    int ok;
    char *html;
    size_t len;
};

/* One worker thread: worker_init, ten documents, worker_fini. */
static void *worker_thread(void *p)
{
    struct thread_arg *a = p;
    void *ws = NULL;
    struct vigil_error err = {0};
    a->ok = 0;
    if (P->worker_init(a->state, &ws, &err) != 0)
        return NULL;
    int good = 1;
    for (int i = 0; i < 10; i++) {
        json_t *doc = json_pack("{s:s, s:s%}", "id", "x", "html", a->html, a->len);
        if (P->process(a->state, ws, doc, &err) != VIGIL_PASS)
            good = 0;
        const char *t = json_string_value(json_object_get(doc, "title"));
        if (!t || strcmp(t, "General confirms foreign troops fought in counter-offensive") != 0)
            good = 0;
        json_decref(doc);
    }
    P->worker_fini(a->state, ws);
    a->ok = good;
    return NULL;
}

static void test_lifecycle_and_threads(void)
{
    REQUIRE(P);
    struct clean_conf conf;
    clean_conf_defaults(&conf);
    conf.fingerprints = (char *)CLEAN_LANG_DEFAULT_CONF;
    void *state = NULL;
    struct vigil_error err = {0};
    REQUIRE(P->create(&host, NULL, &conf, &state, &err) == 0);
    size_t len;
    char *html = fixture_read("wire_news.html", &len);
    REQUIRE(html);
    /* two workers at once, each with its own scratch */
    pthread_t th[2];
    struct thread_arg args[2];
    for (int i = 0; i < 2; i++) {
        args[i] = (struct thread_arg){state, 0, html, len};
        REQUIRE(pthread_create(&th[i], NULL, worker_thread, &args[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].ok);
    }
    CHECK_INT(counters[0].value, ==, 20); /* documents */
    CHECK_INT(counters[1].value, ==, 0);  /* documents with a problem */
    /* process without worker_init (a host that has none) */
    json_t *doc = json_pack("{s:s, s:i}", "id", "bad", "html", 7);
    CHECK_INT(P->process(state, NULL, doc, &err), ==, VIGIL_PASS);
    CHECK_INT(counters[1].value, ==, 1);
    json_decref(doc);
    P->destroy(state);
    free(html);
}

static void test_create_fails_clearly(void)
{
    REQUIRE(P);
    struct clean_conf conf;
    clean_conf_defaults(&conf);
    conf.fingerprints = (char *)"/no/such/dir/fpdb.conf";
    void *state = NULL;
    struct vigil_error err = {0};
    CHECK_INT(P->create(&host, NULL, &conf, &state, &err), ==, VIGIL_EIO);
    CHECK_CONTAINS(err.msg, "html_clean");
    CHECK_CONTAINS(err.msg, "/no/such/dir/fpdb.conf");
    /* without language identification the fingerprints are not needed */
    conf.lang_detect = 0;
    REQUIRE(P->create(&host, NULL, &conf, &state, &err) == 0);
    P->destroy(state);
}

int main(void)
{
    host_init();
    RUN(test_descriptor);
    RUN(test_option_defaults_agree);
    RUN(test_lifecycle_and_threads);
    RUN(test_create_fails_clearly);
    return test_summary();
}
