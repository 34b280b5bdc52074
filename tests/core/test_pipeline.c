#include <stdlib.h>

#include "engine_internal.h"
#include "pipeline.h"
#include "test.h"

static struct core_log quiet_log;
static struct core_loader loader;

static int load(const char *text, struct core_pipeline_def **def, struct diags *d)
{
    return core_pipeline_load_buffer("p.json", "/pipes", text, strlen(text), &loader, def, d);
}

/* Load text, expect exactly the given error lines (in order). */
static void expect_errors(const char *text, const char *const *want)
{
    struct core_pipeline_def *def = NULL;
    struct diags d = {0};
    int rc = load(text, &def, &d);
    CHECK_INT(rc, ==, VIGIL_EINVAL);
    CHECK(def == NULL);
    size_t n = 0;
    while (want[n])
        n++;
    CHECK_INT(d.n, ==, n);
    for (size_t i = 0; i < d.n && i < n; i++) {
        char line[2048];
        diags_format(&d, i, line, sizeof line);
        CHECK_STR(line, want[i]);
    }
    if (d.n != n)
        diags_print(&d, stderr);
    diags_free(&d);
}

/* The acceptance case: three mistakes, three errors, each located. */
static void test_three_mistakes(void)
{
    const char *text = "{\n"
                       "  \"name\": \"three\",\n"
                       "  \"sources\": [\n"
                       "    {\"id\": \"in\", \"plugin\": \"gen\", \"options\": {\"cuont\": 5}}\n"
                       "  ],\n"
                       "  \"transforms\": [\n"
                       "    {\"id\": \"m\", \"plugin\": \"mark\", \"options\": {\"fail_if\": 3}},\n"
                       "    {\"id\": \"x\", \"plugin\": \"nosuch\"}\n"
                       "  ],\n"
                       "  \"sinks\": [{\"id\": \"out\", \"plugin\": \"null\"}]\n"
                       "}\n";
    struct core_pipeline_def *def = NULL;
    struct diags d = {0};
    CHECK_INT(load(text, &def, &d), ==, VIGIL_EINVAL);
    REQUIRE(d.n == 3);
    char line[2048];
    diags_format(&d, 0, line, sizeof line);
    CHECK_STR(line, "p.json:4:47: /sources/0/options/cuont: unknown option 'cuont' for source "
                    "plugin 'gen'; allowed: count, text_size, prefix, ignore_eagain");
    diags_format(&d, 1, line, sizeof line);
    CHECK_STR(line, "p.json:7:58: /transforms/0/options/fail_if: transform plugin 'mark' option "
                    "'fail_if': expected a string, found 3");
    diags_format(&d, 2, line, sizeof line);
    CHECK_CONTAINS(line, "p.json:8:27: /transforms/1/plugin: no transform plugin named 'nosuch'");
    CHECK_CONTAINS(line, "available transforms:");
    diags_free(&d);
}

static void test_structure_errors(void)
{
    const char *const top[] = {
        "p.json:1:1: /: expected a pipeline object {\"name\", \"sources\", \"transforms\", "
        "\"sinks\"}, found an array",
        NULL};
    expect_errors("[]", top);

    const char *const keys[] = {
        "p.json:1:2: /sorces: unknown key 'sorces' in the pipeline; allowed: name, description, "
        "settings, sources, transforms, sinks",
        "p.json:1:1: /: missing required key 'sources' (an array of source stages)",
        NULL};
    expect_errors("{\"sorces\": [], \"sinks\": [{\"plugin\": \"null\"}]}", keys);

    const char *const stage[] = {
        "p.json:1:14: /sources/0: expected a source stage object {\"id\", \"plugin\", "
        "\"options\"}, found a string",
        "p.json:1:31: /sinks: expected at least one sink (use the \"null\" sink to discard "
        "documents)",
        NULL};
    expect_errors("{\"sources\": [\"gen\"], \"sinks\": []}", stage);

    const char *const missing[] = {
        "p.json:1:14: /sources/0: missing required key 'plugin' (the source plugin to run)",
        "p.json:1:49: /sinks/0/plugin: expected a plugin name, found an integer",
        NULL};
    expect_errors("{\"sources\": [{\"id\": \"a\"}], \"sinks\": [{\"plugin\": 5}]}", missing);

    const char *const stagekey[] = {
        "p.json:1:32: /sources/0/evry: unknown key 'evry' in a source stage; allowed: id, "
        "plugin, options, description, every, jitter, enabled",
        NULL};
    expect_errors("{\"sources\": [{\"plugin\": \"gen\", \"evry\": \"5m\"}], "
                  "\"sinks\": [{\"plugin\": \"null\"}]}",
                  stagekey);
}

static void test_stage_keys(void)
{
    const char *const every[] = {
        "p.json:1:41: /sources/0/every: expected a duration like \"30s\", \"5m\" or \"250ms\", "
        "found \"often\"",
        NULL};
    expect_errors("{\"sources\": [{\"plugin\": \"gen\", \"every\": \"often\"}], "
                  "\"sinks\": [{\"plugin\": \"null\"}]}",
                  every);

    const char *const onerr[] = {
        "p.json:1:80: /transforms/0/on_error: expected one of \"pass\", \"drop\", found \"skip\"",
        NULL};
    expect_errors("{\"sources\": [{\"plugin\": \"gen\"}], \"transforms\": [{\"plugin\": \"noop\", "
                  "\"on_error\": \"skip\"}], \"sinks\": [{\"plugin\": \"null\"}]}",
                  onerr);

    const char *const dup[] = {
        "p.json:1:84: /sinks/1/id: duplicate stage id 'out' (also used at /sinks/0); give each "
        "stage its own \"id\"",
        NULL};
    expect_errors("{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"id\": \"out\", \"plugin\": "
                  "\"null\"}, {\"id\": \"out\", \"plugin\": \"null\"}]}",
                  dup);

    const char *const when[] = {
        "p.json:1:88: /sinks/0/when/min_severity: expected one of \"info\", \"low\", \"medium\", "
        "\"high\", \"critical\", found \"huge\"",
        "p.json:1:96: /sinks/0/when/colour: unknown condition 'colour'; allowed: event_types, "
        "min_severity, min_confidence, entities, lang, sources, has_events, match",
        NULL};
    expect_errors("{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"plugin\": \"null\", "
                  "\"when\": {\"min_severity\": \"huge\", \"colour\": 1}}]}",
                  when);

    const char *const settings[] = {
        "p.json:1:26: /settings/workers: pipeline settings option 'workers': must be between -1 "
        "and 256, found 1000",
        NULL};
    expect_errors("{\"settings\": {\"workers\": 1000}, \"sources\": [{\"plugin\": \"gen\"}], "
                  "\"sinks\": [{\"plugin\": \"null\"}]}",
                  settings);
}

/* Load text and expect a refusal whose first error contains want. */
static void expect_one_error(const char *text, const char *want)
{
    struct core_pipeline_def *def = NULL;
    struct diags d = {0};
    CHECK_INT(load(text, &def, &d), ==, VIGIL_EINVAL);
    CHECK(def == NULL);
    CHECK_INT(d.n, >=, 1);
    char line[2048] = "";
    if (d.n)
        diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, want);
    diags_free(&d);
}

/* The bounds of the core's own numbers: each value past its cap is an
 * error naming the key and the range, before anything runs. */
static void test_caps_are_validated(void)
{
    char text[1024], id[80];
    memset(id, 'i', 64);
    id[64] = '\0';
    snprintf(text, sizeof text,
             "{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"id\": \"%s\", \"plugin\": "
             "\"null\"}]}",
             id);
    expect_one_error(text, "/sinks/0/id: expected an id of letters, digits, '_', '-' or '.' (at "
                           "most 63)");
    id[63] = '\0';
    snprintf(text, sizeof text,
             "{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"id\": \"%s\", \"plugin\": "
             "\"null\"}]}",
             id);
    struct core_pipeline_def *def = NULL;
    struct diags d = {0};
    CHECK_INT(load(text, &def, &d), ==, VIGIL_OK);
    core_pipeline_free(def);
    diags_free(&d);

    static const struct {
        const char *settings, *want;
    } bad[] = {
        {"{\"queue_high\": 0}", "/settings/queue_high: pipeline settings option 'queue_high': "
                                "must be between 1 and "},
        {"{\"batch\": 4097}", "/settings/batch: pipeline settings option 'batch': must be between "
                              "1 and 4096, found 4097"},
        {"{\"grace\": \"2h\"}", "/settings/grace"},
        {"{\"http\": {\"max_redirects\": 21}}", "/settings/http/max_redirects"},
        {"{\"http\": {\"max_body\": 1000}}", "/settings/http/max_body"},
        {"{\"http\": {\"max_per_host\": 1001}}", "/settings/http/max_per_host"},
        {"{\"http\": {\"max_queued\": 0}}", "/settings/http/max_queued"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"settings\": %s, \"sources\": [{\"plugin\": \"gen\"}], \"sinks\": "
                 "[{\"plugin\": \"null\"}]}",
                 bad[i].settings);
        expect_one_error(text, bad[i].want);
    }
    expect_one_error("{\"sources\": [{\"plugin\": \"gen\"}], \"sinks\": [{\"plugin\": \"null\", "
                     "\"max_inflight\": 100001}]}",
                     "/sinks/0/max_inflight");
    expect_one_error("{\"sources\": [{\"plugin\": \"gen\"}], \"transforms\": [{\"plugin\": "
                     "\"later\", \"max_inflight\": 0}], \"sinks\": [{\"plugin\": \"null\"}]}",
                     "/transforms/0/max_inflight");
}

static void test_syntax_error_position(void)
{
    const char *const syntax[] = {"p.json:3:3: invalid JSON: string or '}' expected near ']'",
                                  NULL};
    expect_errors("{\n  \"sources\": [],\n  ]\n}", syntax);
}

static void test_substitution(void)
{
    setenv("VIGIL_TEST_COUNT", "7", 1);
    unsetenv("VIGIL_TEST_UNSET");
    const char *text = "{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": "
                       "\"${VIGIL_TEST_COUNT}\", \"prefix\": \"${VIGIL_TEST_UNSET:-p}$$\"}}], "
                       "\"sinks\": [{\"plugin\": \"null\"}]}";
    struct core_pipeline_def *def = NULL;
    struct diags d = {0};
    REQUIRE(load(text, &def, &d) == VIGIL_OK);
    struct gen_conf_view {
        int64_t count;
        int64_t text_size;
        char *prefix;
    } *conf = def->sources[0].conf;
    CHECK_INT(conf->count, ==, 7);
    CHECK_STR(conf->prefix, "p$");
    core_pipeline_free(def);

    const char *const undef[] = {
        "p.json:1:54: /sources/0/options/prefix: undefined variable ${VIGIL_TEST_UNSET} (set it "
        "in the environment or write ${VIGIL_TEST_UNSET:-default})",
        NULL};
    expect_errors("{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"prefix\": "
                  "\"${VIGIL_TEST_UNSET}\"}}], \"sinks\": [{\"plugin\": \"null\"}]}",
                  undef);
    diags_free(&d);
}

static void test_valid_pipeline(void)
{
    const char *text =
        "{\"name\": \"ok\", \"settings\": {\"batch\": 8, \"queue_high\": 100},"
        " \"sources\": [{\"id\": \"g\", \"plugin\": \"gen\", \"every\": \"5m\", \"jitter\": \"10s\"}],"
        " \"transforms\": [{\"plugin\": \"mark\"}, {\"id\": \"m2\", \"plugin\": \"mark\", "
        "\"on_error\": \"drop\"}],"
        " \"sinks\": [{\"plugin\": \"null\", \"retry\": {\"base\": \"2s\", \"limit\": 3},"
        " \"when\": {\"has_events\": false}}]}";
    struct core_pipeline_def *def = NULL;
    struct diags d = {0};
    REQUIRE(load(text, &def, &d) == VIGIL_OK);
    CHECK_STR(def->name, "ok");
    CHECK_INT(def->settings.batch, ==, 8);
    CHECK_INT(def->settings.queue_low, ==, 25); /* a quarter of high by default */
    CHECK_INT(def->nsources, ==, 1);
    CHECK_INT(def->sources[0].every_ms, ==, 300000);
    CHECK_INT(def->sources[0].jitter_ms, ==, 10000);
    CHECK_INT(def->ntransforms, ==, 2);
    CHECK_STR(def->transforms[0].id, "mark"); /* id defaults to the plugin name */
    CHECK_INT(def->transforms[1].on_error_drop, ==, 1);
    CHECK_INT(def->sinks[0].retry_base_ms, ==, 2000);
    CHECK_INT(def->sinks[0].retry_limit, ==, 3);
    CHECK(def->sinks[0].when != NULL);
    CHECK(core_pipeline_stage(def, "m2") == &def->transforms[1]);
    core_pipeline_free(def);
    diags_free(&d);
}

static void test_when_matching(void)
{
    struct diags d = {0};
    struct core_when *w = NULL;
    json_t *spec = json_loads("{\"event_types\": [\"ack\"], \"min_severity\": \"high\", "
                              "\"entities\": [\"KP\"], \"match\": {\"/meta/page_type\": "
                              "\"article\"}}",
                              0, NULL);
    REQUIRE(core_when_compile(spec, NULL, "/when", &w, &d) == 0);
    json_t *doc = json_loads(
        "{\"events\": [{\"type\": \"ack\", \"severity\": \"critical\", \"actor\": \"RU\", "
        "\"object\": \"KP\"}], \"meta\": {\"page_type\": \"article\"}}",
        0, NULL);
    CHECK(core_when_match(w, doc));
    /* the same event must satisfy every event condition */
    json_t *doc2 = json_loads("{\"events\": [{\"type\": \"ack\", \"severity\": \"low\"}, "
                              "{\"type\": \"other\", \"severity\": \"high\"}], "
                              "\"entities\": {\"summary\": [{\"id\": \"KP\"}]}, "
                              "\"meta\": {\"page_type\": \"article\"}}",
                              0, NULL);
    CHECK(!core_when_match(w, doc2));
    json_object_set_new(json_object_get(doc, "meta"), "page_type", json_string("listing"));
    CHECK(!core_when_match(w, doc));
    CHECK(core_when_match(NULL, doc)); /* no condition: everything */
    core_when_free(w);
    json_decref(spec);
    json_decref(doc);
    json_decref(doc2);
    diags_free(&d);
}

int main(void)
{
    core_log_init(&quiet_log);
    quiet_log.level = VIGIL_LOG_ERROR;
    core_loader_init(&loader, &quiet_log, &core_host_table);
    core_loader_add_dir(&loader, TEST_PLUGIN_DIR);
    core_loader_add_dir(&loader, SHIPPED_PLUGIN_DIR);
    RUN(test_three_mistakes);
    RUN(test_structure_errors);
    RUN(test_stage_keys);
    RUN(test_caps_are_validated);
    RUN(test_syntax_error_position);
    RUN(test_substitution);
    RUN(test_valid_pipeline);
    RUN(test_when_matching);
    core_loader_close(&loader);
    return test_summary();
}
