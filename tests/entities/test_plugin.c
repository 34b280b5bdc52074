/*
 * The plugin hooks, driven by a minimal fake host (test scaffolding only:
 * log, counters, state_dir, now_ms).
 */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "fixture.h"
#include "test.h"
#include "vigil/plugin.h"

const struct vigil_plugin *vigil_plugin_init_transform_entities(const struct vigil_host *host,
                                                                struct vigil_error *err);

/* Must match the plugin's conf layout, which the core fills from the
 * option table; the test checks the offsets against the table. */
struct conf {
    struct vigil_strlist gazetteers;
    char *cache_dir;
    int guess_persons;
    int64_t max_mentions;
    int scan_title;
};

/* ---- fake host (test binary state) ---- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf logbuf;
static char state_dir[256];
struct vigil_counter {
    char name[64];
    uint64_t value;
};
static struct vigil_counter counters[8];
static size_t ncounters;

static void h_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    (void)ins;
    static const char *const lv[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_mu);
    buf_printf(&logbuf, "%s ", lv[level]);
    buf_vprintf(&logbuf, fmt, ap);
    buf_append_str(&logbuf, "\n");
    pthread_mutex_unlock(&log_mu);
    va_end(ap);
}

static const char *h_state_dir(struct vigil_instance *ins)
{
    (void)ins;
    return state_dir;
}

static struct vigil_counter *h_counter(struct vigil_instance *ins, const char *name,
                                       const char *help)
{
    (void)ins;
    (void)help;
    for (size_t i = 0; i < ncounters; i++)
        if (strcmp(counters[i].name, name) == 0)
            return &counters[i];
    if (ncounters == 8)
        return NULL;
    snprintf(counters[ncounters].name, sizeof counters[ncounters].name, "%s", name);
    return &counters[ncounters++];
}

static void h_counter_add(struct vigil_counter *c, uint64_t d)
{
    __atomic_add_fetch(&c->value, d, __ATOMIC_RELAXED);
}

static int64_t h_now(void)
{
    return 1733000000000LL;
}

static uint64_t counter_value(const char *name)
{
    for (size_t i = 0; i < ncounters; i++)
        if (strcmp(counters[i].name, name) == 0)
            return counters[i].value;
    return 0;
}

static struct vigil_host host;

static void host_init(void)
{
    memset(&host, 0, sizeof host);
    host.abi_major = VIGIL_ABI_MAJOR;
    host.abi_minor = VIGIL_ABI_MINOR;
    host.struct_size = sizeof host;
    host.log = h_log;
    host.state_dir = h_state_dir;
    host.counter = h_counter;
    host.counter_add = h_counter_add;
    host.now_ms = h_now;
    buf_init(&logbuf, 0);
}

/* ---- tests ---- */

static const struct vigil_plugin *plugin(void)
{
    struct vigil_error err;
    return vigil_plugin_init_transform_entities(&host, &err);
}

static void test_descriptor(void)
{
    const struct vigil_plugin *p = plugin();
    REQUIRE(p);
    CHECK_STR(p->name, "entities");
    CHECK_INT(p->kind, ==, VIGIL_TRANSFORM);
    CHECK_INT(p->abi_major, ==, VIGIL_ABI_MAJOR);
    CHECK(p->process && !p->process_async && p->worker_init && p->worker_fini);
    CHECK_INT(p->flags & VIGIL_PF_SERIAL, ==, 0); /* runs on workers concurrently */
    CHECK_INT(p->conf_size, ==, sizeof(struct conf));
    static const struct {
        const char *name;
        int type;
        const char *def;
        size_t offset;
    } want[] = {
        {"gazetteers", VIGIL_OPT_STRLIST, NULL, offsetof(struct conf, gazetteers)},
        {"cache_dir", VIGIL_OPT_STR, NULL, offsetof(struct conf, cache_dir)},
        {"guess_persons", VIGIL_OPT_BOOL, "true", offsetof(struct conf, guess_persons)},
        {"max_mentions", VIGIL_OPT_INT, "2000", offsetof(struct conf, max_mentions)},
        {"scan_title", VIGIL_OPT_BOOL, "true", offsetof(struct conf, scan_title)},
    };
    size_t n = 0;
    while (p->options[n].name)
        n++;
    REQUIRE(n == sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(p->options[i].name, want[i].name);
        CHECK_INT(p->options[i].type, ==, want[i].type);
        CHECK_INT(p->options[i].offset, ==, want[i].offset);
        if (want[i].def)
            CHECK_STR(p->options[i].def, want[i].def);
        else
            CHECK(p->options[i].def == NULL);
        CHECK(p->options[i].desc && *p->options[i].desc);
    }
    CHECK(p->options[0].flags & VIGIL_OPT_REQUIRED);
    CHECK(p->options[0].flags & VIGIL_OPT_PATH);
    CHECK(p->options[1].flags & VIGIL_OPT_PATH);
}

static char *gz_files[] = {"wire.json", "world.json"};

static struct conf default_conf(void)
{
    struct conf c = {{2, gz_files}, NULL, 1, 2000, 1};
    return c;
}

static void *create(const struct conf *c, int *rc, struct vigil_error *err)
{
    void *state = NULL;
    *rc = plugin()->create(&host, NULL, c, &state, err);
    return state;
}

static json_t *wire_doc(int i)
{
    char text[512];
    snprintf(text, sizeof text,
             "Report %d: Gen. Gerasimov said North Korean troops fought in Kursk. Ukraine’s "
             "spokesman Dmitry Lykhovii disagreed.",
             i);
    return json_pack("{s:s, s:s, s:s}", "title", "North Korean troops in Russia", "text", text,
                     "published", "2024-12-01T00:00:00Z");
}

/* The mentions of a tagged document as one comparable string. */
static char *dump(json_t *doc)
{
    return json_dumps(json_object_get(doc, "entities"), JSON_SORT_KEYS | JSON_COMPACT);
}

static void test_create_cache_and_process(void)
{
    const struct vigil_plugin *p = plugin();
    struct conf c = default_conf();
    struct vigil_error err;
    int rc;
    buf_reset(&logbuf);
    void *s = create(&c, &rc, &err);
    REQUIRE(rc == 0 && s);
    CHECK_CONTAINS(logbuf.data, "INFO entities: 31 entries, 92 aliases,");
    CHECK_CONTAINS(logbuf.data, "compiled and cached");
    char path[512];
    snprintf(path, sizeof path, "%s/cache/entities", state_dir);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));

    void *w = NULL;
    REQUIRE(p->worker_init(s, &w, &err) == 0 && w);
    json_t *doc = wire_doc(1);
    CHECK_INT(p->process(s, w, doc, &err), ==, VIGIL_PASS);
    char *ref = dump(doc);
    CHECK_CONTAINS(ref, "\"id\":\"person:valery-gerasimov\"");
    CHECK_CONTAINS(ref, "\"id\":\"guess:person:dmitry-lykhovii\"");
    CHECK_CONTAINS(ref, "\"field\":\"title\"");
    CHECK_INT(counter_value("entities_documents"), ==, 1);
    CHECK_INT(counter_value("entities_mentions"), ==, 7);
    CHECK_INT(counter_value("entities_guessed"), ==, 1);
    json_decref(doc);

    /* no worker state: still correct */
    doc = wire_doc(1);
    CHECK_INT(p->process(s, NULL, doc, &err), ==, VIGIL_PASS);
    char *again = dump(doc);
    CHECK_STR(again, ref);
    free(again);
    json_decref(doc);
    p->worker_fini(s, w);
    p->destroy(s);

    /* next start: from the cache, same output */
    buf_reset(&logbuf);
    s = create(&c, &rc, &err);
    REQUIRE(rc == 0 && s);
    CHECK_CONTAINS(logbuf.data, "loaded from cache");
    REQUIRE(p->worker_init(s, &w, &err) == 0);
    doc = wire_doc(1);
    p->process(s, w, doc, &err);
    again = dump(doc);
    CHECK_STR(again, ref);
    free(again);
    json_decref(doc);
    p->worker_fini(s, w);
    p->destroy(s);
    free(ref);

    /* options: no guesses, no title, an explicit cache directory */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/explicit", state_dir);
    c.guess_persons = 0;
    c.scan_title = 0;
    c.cache_dir = dir;
    s = create(&c, &rc, &err);
    REQUIRE(rc == 0 && s);
    CHECK(stat(dir, &st) == 0);
    doc = wire_doc(2);
    p->process(s, NULL, doc, &err);
    ref = dump(doc);
    CHECK_NOT_CONTAINS(ref, "guess:");
    CHECK_NOT_CONTAINS(ref, "\"field\"");
    free(ref);
    json_decref(doc);
    p->destroy(s);
}

static void test_broken_gazetteer(void)
{
    char *files[] = {"broken/bad_alias.json"};
    struct conf c = {{1, files}, NULL, 1, 2000, 1};
    struct vigil_error err;
    int rc;
    buf_reset(&logbuf);
    void *s = create(&c, &rc, &err);
    CHECK(s == NULL);
    CHECK_INT(rc, ==, VIGIL_EINVAL);
    CHECK_STR(err.msg, "entities: broken/bad_alias.json:4:33: /entries/0/aliases/1: alias is "
                       "empty (and more errors, see the log)");
    CHECK_CONTAINS(logbuf.data, "ERROR broken/bad_alias.json:5:35: /entries/0/demonyms/1: "
                                "demonym \"’\" has no letter or digit\n");
    /* warnings are logged, loading goes on */
    char *wf[] = {"broken/warnings.json"};
    c.gazetteers.v = wf;
    buf_reset(&logbuf);
    s = create(&c, &rc, &err);
    CHECK(rc == 0 && s);
    CHECK_CONTAINS(logbuf.data, "WARN broken/warnings.json:4:69: /entries/1/aliases/0: alias "
                                "\"Congo\" is also an alias of \"CG\"");
    if (s)
        plugin()->destroy(s);
}

/* A directory stands for its *.json files in name order: "." (the fixtures
 * directory) loads wire.json and world.json, exactly as listing them does;
 * broken/ holds files with errors, and those are reported; an empty
 * directory is refused by name. */
static void test_gazetteer_directory(void)
{
    struct conf c = default_conf();
    struct vigil_error err;
    int rc;
    void *s = create(&c, &rc, &err);
    REQUIRE(rc == 0 && s);
    json_t *doc = wire_doc(1);
    plugin()->process(s, NULL, doc, &err);
    char *listed = dump(doc);
    json_decref(doc);
    plugin()->destroy(s);

    char *dot[] = {"."};
    c.gazetteers.n = 1;
    c.gazetteers.v = dot;
    s = create(&c, &rc, &err);
    REQUIRE(rc == 0 && s);
    doc = wire_doc(1);
    plugin()->process(s, NULL, doc, &err);
    char *dir = dump(doc);
    CHECK_STR(dir, listed);
    CHECK_CONTAINS(dir, "\"KP\"");
    free(dir);
    free(listed);
    json_decref(doc);
    plugin()->destroy(s);

    char *broken[] = {"broken"};
    c.gazetteers.v = broken;
    buf_reset(&logbuf);
    s = create(&c, &rc, &err);
    CHECK(s == NULL);
    CHECK_INT(rc, ==, VIGIL_EINVAL);
    CHECK_CONTAINS(logbuf.data, "broken/bad_alias.json:4:33");
    CHECK_CONTAINS(logbuf.data, "broken/dup_b.json");

    char empty[300];
    snprintf(empty, sizeof empty, "%s/no-json", state_dir);
    mkdir(empty, 0755);
    char *none[] = {empty};
    c.gazetteers.v = none;
    s = create(&c, &rc, &err);
    CHECK(s == NULL);
    CHECK_INT(rc, ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "option 'gazetteers'");
    CHECK_CONTAINS(err.msg, "a directory with no *.json file");
}

/* ---- concurrent workers share one matcher ---- */

struct job {
    void *state;
    int first, n;
    int mismatches;
    const char *ref1; /* dump of wire_doc(1) */
};

static void *run_worker(void *arg)
{
    struct job *j = arg;
    const struct vigil_plugin *p = plugin();
    void *w = NULL;
    struct vigil_error err;
    if (p->worker_init(j->state, &w, &err) != 0) {
        j->mismatches = -1;
        return NULL;
    }
    for (int i = 0; i < j->n; i++) {
        json_t *doc = wire_doc(1); /* same text: same output expected */
        if (p->process(j->state, w, doc, &err) != VIGIL_PASS) {
            j->mismatches++;
        } else {
            char *d = dump(doc);
            j->mismatches += strcmp(d, j->ref1) != 0;
            free(d);
        }
        json_decref(doc);
    }
    p->worker_fini(j->state, w);
    return NULL;
}

static void test_threads(void)
{
    struct conf c = default_conf();
    struct vigil_error err;
    int rc;
    void *s = create(&c, &rc, &err);
    REQUIRE(rc == 0 && s);
    json_t *doc = wire_doc(1);
    plugin()->process(s, NULL, doc, &err);
    char *ref = dump(doc);
    json_decref(doc);
    uint64_t before = counter_value("entities_documents");
    struct job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){s, i * 200, 200, 0, ref};
        REQUIRE(pthread_create(&th[i], NULL, run_worker, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(jobs[i].mismatches, ==, 0);
    }
    CHECK_INT(counter_value("entities_documents") - before, ==, 800);
    free(ref);
    plugin()->destroy(s);
}

int main(void)
{
    if (fixture_chdir() != 0 || make_tmpdir(state_dir, sizeof state_dir) != 0)
        return 1;
    host_init();
    RUN(test_descriptor);
    RUN(test_create_cache_and_process);
    RUN(test_broken_gazetteer);
    RUN(test_gazetteer_directory);
    RUN(test_threads);
    rm_tree(state_dir);
    buf_free(&logbuf);
    return test_summary();
}
