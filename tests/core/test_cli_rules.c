/*
 * `vigil test` and `vigil explain` (core/cli_rules.c, cli_test.c,
 * cli_explain.c), run as child processes on a small rules file and
 * gazetteer written here: exit codes, the pass/fail report, pipeline mode,
 * and the explanation of a near miss.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static char *path_of(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

#define VIGIL(...)                                                                                 \
    (char *[])                                                                                     \
    {                                                                                              \
        (char *)vigil, __VA_ARGS__, NULL                                                           \
    }

static const char gazetteer[] =
    "{\"gazetteer\": \"test\", \"entries\": [\n"
    " {\"id\": \"RU\", \"type\": \"country\", \"name\": \"Russia\", \"aliases\": [\"Russia\", "
    "\"Moscow\"], \"demonyms\": [\"Russian\"]},\n"
    " {\"id\": \"KP\", \"type\": \"country\", \"name\": \"North Korea\", \"aliases\": [\"North "
    "Korea\", {\"text\": \"DPRK\", \"case\": \"sensitive\"}], \"demonyms\": [\"North Korean\"]}\n"
    "]}\n";

/* One rule; cases 0 and 1 hold, the optional case 2 expects what its text
 * does not say. */
static void write_rules(const char *name, int with_wrong_case, int with_tests)
{
    char tests[1024] = "";
    if (with_tests)
        snprintf(tests, sizeof tests,
                 ",\n  \"tests\": [\n"
                 "    {\"name\": \"plain acknowledgement\",\n"
                 "     \"text\": \"Russia confirmed that North Korean troops fought in Kursk.\",\n"
                 "     \"expect\": [{\"type\": \"ack\", \"actor\": \"RU\", \"object\": \"KP\"}]},\n"
                 "    {\"name\": \"a denial\",\n"
                 "     \"text\": \"Moscow did not confirm that North Korean troops fought in "
                 "Kursk.\",\n"
                 "     \"expect_none\": [\"ack\"]}%s\n"
                 "  ]",
                 with_wrong_case
                     ? ",\n    {\"name\": \"wrong on purpose\",\n"
                       "     \"text\": \"Moscow denied it had confirmed that DPRK soldiers were in Kursk.\",\n"
                       "     \"expect\": [{\"type\": \"ack\", \"actor\": \"RU\", \"object\": \"KP\"}]}"
                     : "");
    char text[4096];
    snprintf(text, sizeof text,
             "{\n"
             "  \"description\": \"one rule for the command-line tests\",\n"
             "  \"lexicons\": [\"%s/rules/lexicons/blockers.json\"],\n"
             "  \"rules\": [\n"
             "    {\"id\": \"ack\", \"type\": \"ack\", \"severity\": \"high\",\n"
             "     \"title\": \"{actor} acknowledges {object} troops\",\n"
             "     \"trigger\": {\"terms\": [\"acknowledge\", \"confirm\"]},\n"
             "     \"when\": {\"all\": [\n"
             "       {\"terms\": [\"troops\", \"soldier\"], \"within\": {\"words\": 8}},\n"
             "       {\"entity\": {}, \"role\": \"actor\"},\n"
             "       {\"entity\": {\"type\": [\"country\"]}, \"role\": \"object\"},\n"
             "       {\"relation\": \"different\", \"between\": [\"actor\", \"object\"]}]}}\n"
             "  ]%s\n"
             "}\n",
             SOURCE_DIR, tests);
    write_file(name, text);
}

static void test_passing_cases_exit_zero(void)
{
    write_file("gaz.json", gazetteer);
    write_rules("good.json", 0, 1);
    struct proc p;
    proc_run(VIGIL("test", path_of("good.json"), "--gazetteer", path_of("gaz.json")), NULL, 60000,
             &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "2 cases, 2 passed, 0 failed");
    CHECK(strstr(p.out, "FAIL") == NULL);
    proc_free(&p);
}

static void test_failing_case_is_named_and_exits_one(void)
{
    write_rules("bad-case.json", 1, 1);
    struct proc p;
    proc_run(VIGIL("test", path_of("bad-case.json"), "--gazetteer", path_of("gaz.json"), "-v"),
             NULL, 60000, &p);
    CHECK_INT(p.status, ==, 1);
    CHECK_CONTAINS(p.out, "FAIL wrong on purpose");
    CHECK_CONTAINS(p.out, "expected ack (actor RU, object KP), got no events");
    CHECK_CONTAINS(p.out, "3 cases, 2 passed, 1 failed");
    /* --verbose explains the failing case's rule, with its sentence. */
    CHECK_CONTAINS(p.out, "rule ack (ack): not fired");
    CHECK_CONTAINS(p.out, "Moscow denied it had confirmed that DPRK soldiers were in Kursk.");
    proc_free(&p);

    /* --case runs only matching cases. */
    proc_run(VIGIL("test", path_of("bad-case.json"), "--gazetteer", path_of("gaz.json"), "--case",
                   "denial"),
             NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "1 case, 1 passed, 0 failed");
    proc_free(&p);

    /* --json: one object per case. */
    proc_run(VIGIL("test", path_of("bad-case.json"), "--gazetteer", path_of("gaz.json"), "--json"),
             NULL, 60000, &p);
    CHECK_INT(p.status, ==, 1);
    int lines = 0, passed = 0;
    for (char *line = strtok(p.out, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        CHECK(o != NULL);
        lines++;
        passed += json_is_true(json_object_get(o, "passed"));
        json_decref(o);
    }
    CHECK_INT(lines, ==, 3);
    CHECK_INT(passed, ==, 2);
    proc_free(&p);
}

static void test_invalid_files_exit_three(void)
{
    struct proc p;
    /* A rule with a misspelt key: the events stage refuses the file with
     * FILE:LINE:COL and the JSON path. */
    write_file("typo.json",
               "{\"rules\": [{\"id\": \"x\", \"type\": \"x\", \"severty\": \"high\",\n"
               "  \"trigger\": {\"terms\": [\"confirm\"]}}],\n"
               " \"tests\": [{\"name\": \"n\", \"text\": \"t\", \"expect_none\": [\"x\"]}]}\n");
    proc_run(VIGIL("test", path_of("typo.json"), "--gazetteer", path_of("gaz.json")), NULL, 60000,
             &p);
    CHECK_INT(p.status, ==, 3);
    CHECK_CONTAINS(p.err, "typo.json:1:");
    CHECK_CONTAINS(p.err, "/rules/0/severty: unknown key");
    proc_free(&p);

    /* Not JSON at all. */
    write_file("broken.json", "{\"rules\": [\n");
    proc_run(VIGIL("test", path_of("broken.json")), NULL, 60000, &p);
    CHECK_INT(p.status, ==, 3);
    CHECK_CONTAINS(p.err, "broken.json:");
    proc_free(&p);

    /* A rules file without test cases runs nothing, which is an error. */
    write_rules("no-tests.json", 0, 0);
    proc_run(VIGIL("test", path_of("no-tests.json"), "--gazetteer", path_of("gaz.json")), NULL,
             60000, &p);
    CHECK_INT(p.status, ==, 3);
    CHECK_CONTAINS(p.err, "no test cases");
    proc_free(&p);

    /* Usage errors. */
    proc_run(VIGIL("test"), NULL, 10000, &p);
    CHECK_INT(p.status, ==, 2);
    proc_free(&p);
    proc_run(VIGIL("explain", path_of("good.json")), NULL, 10000, &p);
    CHECK_INT(p.status, ==, 2);
    CHECK_CONTAINS(p.err, "--input DOC");
    proc_free(&p);
}

static void test_pipeline_mode_uses_its_events_stages(void)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\": \"p\",\n"
             " \"sources\": [{\"id\": \"in\", \"plugin\": \"push\"}],\n"
             " \"transforms\": [\n"
             "  {\"id\": \"clean\", \"plugin\": \"html_clean\"},\n"
             "  {\"id\": \"dedupe\", \"plugin\": \"dedupe\", \"options\": {\"mode\": \"drop\"}},\n"
             "  {\"id\": \"entities\", \"plugin\": \"entities\", \"options\": {\"gazetteers\": "
             "[\"gaz.json\"]}},\n"
             "  {\"id\": \"events\", \"plugin\": \"events\", \"options\": {\"rules\": "
             "[\"bad-case.json\"]}}],\n"
             " \"sinks\": [{\"id\": \"out\", \"plugin\": \"null\"}]}\n");
    write_file("pipeline.json", text);
    struct proc p;
    proc_run(VIGIL("test", path_of("pipeline.json")), NULL, 60000, &p);
    /* The same three cases as the rules file, through the pipeline's
     * stages; the dedupe stage (drop mode) is skipped, or the two texts
     * about Kursk could drop each other. */
    CHECK_INT(p.status, ==, 1);
    CHECK_CONTAINS(p.out, "bad-case.json: 3 cases, 2 passed, 1 failed");
    proc_free(&p);

    /* --gazetteer does not apply to a pipeline. */
    proc_run(VIGIL("test", path_of("pipeline.json"), "--gazetteer", path_of("gaz.json")), NULL,
             60000, &p);
    CHECK_INT(p.status, ==, 2);
    proc_free(&p);
}

static void test_explain_shows_the_failed_condition(void)
{
    struct proc p;
    /* A near miss by negation: blocked, with the cue named. */
    proc_run(VIGIL("explain", path_of("good.json"), "--gazetteer", path_of("gaz.json"), "--text",
                   "Moscow did not confirm that North Korean troops fought in Kursk."),
             NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "events: none");
    CHECK_CONTAINS(p.out, "rule ack (ack): not fired");
    CHECK_CONTAINS(p.out, "trigger 'confirm': blocked: blocked by negation cue 'not'");
    proc_free(&p);

    /* A near miss by a condition: the JSON path of the condition that
     * failed. Here only Russia's own troops are named. */
    write_file("doc.txt", "Statement\n\nRussia confirmed that its troops fought in Kursk.\n");
    proc_run(VIGIL("explain", path_of("good.json"), "--gazetteer", path_of("gaz.json"), "--input",
                   path_of("doc.txt")),
             NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.out, "document: Statement");
    CHECK_CONTAINS(p.out, "trigger 'confirmed': failed: /rules/0/when/all/3: actor RU is not "
                          "different from object RU");
    proc_free(&p);

    /* A hit: the event with its evidence; --json gives events and the
     * explanation as data. */
    proc_run(VIGIL("explain", path_of("good.json"), "--gazetteer", path_of("gaz.json"), "--json",
                   "--text", "Russia confirmed that North Korean troops fought in Kursk."),
             NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    json_t *o = json_loads(p.out, 0, NULL);
    CHECK(o != NULL);
    json_t *ev = json_array_get(json_object_get(o, "events"), 0);
    CHECK_STR(json_string_value(json_object_get(ev, "actor")), "RU");
    CHECK_STR(json_string_value(json_object_get(ev, "object")), "KP");
    CHECK(json_is_true(json_object_get(json_array_get(json_object_get(o, "explain"), 0), "fired")));
    json_decref(o);
    proc_free(&p);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil) {
        fprintf(stderr, "VIGIL_BIN is not set\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "/tmp/vigil-test-cli-rules-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_passing_cases_exit_zero);
    RUN(test_failing_case_is_named_and_exits_one);
    RUN(test_invalid_files_exit_three);
    RUN(test_pipeline_mode_uses_its_events_stages);
    RUN(test_explain_shows_the_failed_condition);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
