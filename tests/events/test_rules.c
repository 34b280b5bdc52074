/*
 * Rule files: every kind of mistake is reported as FILE:LINE:COL:
 * /pointer: message, all at once; valid files compile into what the engine
 * expects. Runs in tests/events/fixtures so messages carry short names.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "test.h"

/* Load files and return the formatted errors joined by newlines. */
static char *load_errors(const char *const *paths, size_t n, struct ruleset **out)
{
    struct diags d = {0};
    struct ruleset *rs = rules_load(paths, n, &d);
    size_t cap = 65536, o = 0;
    char *all = calloc(1, cap);
    for (size_t i = 0; i < d.n && all; i++) {
        char line[2048];
        diags_format(&d, i, line, sizeof line);
        o += (size_t)snprintf(all + o, cap - o, "%s\n", line);
    }
    diags_free(&d);
    if (out)
        *out = rs;
    else
        rules_free(rs);
    return all;
}

static void test_every_error_kind_at_once(void)
{
    const char *p[] = {"invalid_rules.json"};
    struct ruleset *rs = NULL;
    char *e = load_errors(p, 1, &rs);
    REQUIRE(e != NULL);
    CHECK(rs == NULL);
    static const char *const want[] = {
        /* unknown key, with the allowed keys */
        "invalid_rules.json:4:74: /rules/0/severty: unknown key \"severty\"; allowed keys: id, "
        "type, description, severity, confidence, title, trigger, when, blockers, scope, "
        "actor_role, enabled, note, once_per_document, object_is_recipient\n",
        /* wrong type */
        "invalid_rules.json:5:60: /rules/1/trigger/terms: expected terms: an array of terms, an "
        "object of language code to terms, or \"@vocab\", found a string \"troops\"\n",
        /* unknown blocker type */
        "invalid_rules.json:6:87: /rules/2/blockers/sarcasm: unknown blocker type \"sarcasm\"; "
        "allowed: negation, speculation, question, reported\n",
        /* bad regex */
        "invalid_rules.json:7:70: /rules/3/trigger/terms/0/regex: expected a valid regex, found "
        "\"troops(\": Missing close parenthesis for group started at index 6.\n",
        /* bad term */
        "invalid_rules.json:8:59: /rules/4/trigger/terms/0: expected a term with at least one "
        "letter or digit, found \"!!\"\n",
        /* empty group */
        "invalid_rules.json:9:90: /rules/5/when/all: expected at least one condition in \"all\", "
        "found an empty group\n",
        /* missing type */
        "invalid_rules.json:10:5: /rules/6: missing required key \"type\": expected an event type "
        "like \"troop_deployment_acknowledged\"\n",
        /* bad severity */
        "invalid_rules.json:11:53: /rules/7/severity: expected one of info, low, medium, high, "
        "critical, found \"severe\"\n",
        /* threshold without weights */
        "invalid_rules.json:12:115: /rules/8/when/threshold: expected weighted terms ({\"text\": "
        "..., \"weight\": N}) with a threshold, found a threshold of 2 over unweighted terms\n",
        /* entity type and role */
        "invalid_rules.json:13:99: /rules/9/when/entity/type: expected one of country, territory, "
        "person, organisation, place, military, armed_group, found \"planet\"\n",
        "invalid_rules.json:13:118: /rules/9/when/role: expected one of actor, speaker, agent, "
        "object, found \"victim\"\n",
        /* two condition kinds in one object */
        "invalid_rules.json:14:89: /rules/10/when/all/0: expected exactly one of all, any, none, "
        "terms, entity, relation; found both \"terms\" and \"entity\"\n",
        /* unknown title placeholder */
        "invalid_rules.json:15:47: /rules/11/title: expected placeholders among actor, object, "
        "speaker, agent, trigger, type, actor_id, object_id, found \"{victim}\"\n",
        /* out of range window */
        "invalid_rules.json:16:118: /rules/12/when/within/words: expected an integer from 0 to "
        "100, found an integer 500\n",
        /* language key and duplicate id */
        "invalid_rules.json:17:62: /rules/13/trigger/terms/english: expected an ISO 639-1 language "
        "code (\"en\", \"de\") as key, found \"english\"\n",
        "invalid_rules.json:17:12: /rules/13/id: expected a rule id unique in this file, found "
        "\"unknown-key\" again (first at /rules/0)\n",
        /* missing trigger, unknown relation */
        "invalid_rules.json:18:5: /rules/14: missing required key \"trigger\": expected "
        "{\"terms\": [...]}\n",
        "invalid_rules.json:18:60: /rules/14/when/relation: expected one of same, different, "
        "allied, ally, enemy, found \"friends\"\n",
        /* test cases next to the rules */
        "invalid_rules.json:21:5: /tests/0: expected \"expect\" or \"expect_none\" in a test case, "
        "found neither\n",
        "invalid_rules.json:22:61: /tests/1/expect/0/type: expected a type produced by a rule of "
        "this file, found \"t2\"\n",
        NULL};
    size_t o = 0;
    for (int i = 0; want[i]; i++) {
        size_t n = strlen(want[i]);
        if (strncmp(e + o, want[i], n) != 0) {
            CHECK_STR(e + o, want[i]);
            break;
        }
        test_g.checks++;
        o += n;
    }
    CHECK_STR(e + o, ""); /* nothing else */
    free(e);
}

static void test_syntax_and_missing_files(void)
{
    const char *p[] = {"invalid_syntax.json", "no_such_rules.json"};
    char *e = load_errors(p, 2, NULL);
    CHECK_STR(e, "invalid_syntax.json:3:29: invalid JSON: string or '}' expected near '}'\n"
                 "no_such_rules.json: cannot open: No such file or directory\n");
    free(e);
}

static void test_lexicon_errors_point_into_the_lexicon(void)
{
    const char *p[] = {"invalid_lexicon.json"};
    char *e = load_errors(p, 1, NULL);
    CHECK_STR(e, "lexicon_with_errors.json:4:3: /sarcasm: unknown key \"sarcasm\"; allowed keys: "
                 "lexicon, description, alliances, note, conflicts, attribution, "
                 "attribution_source, negation, "
                 "speculation, clause_breaks, complementizers, agent_markers, passive_auxiliaries, "
                 "self_references, prepositions, locatives, coordinators\n"
                 "lexicon_with_errors.json:3:60: /negation/en/1/position: expected one of before, "
                 "after, any, found a string \"later\"\n"
                 "no_such_lexicon.json: cannot open: No such file or directory\n"
                 "invalid_lexicon.json:2:44: /lexicons/1: cannot load lexicon "
                 "\"no_such_lexicon.json\"\n");
    free(e);
}

static void test_blockers_need_a_lexicon(void)
{
    const char *p[] = {"no_lexicon.json"};
    char *e = load_errors(p, 1, NULL);
    CHECK_CONTAINS(e, "no_lexicon.json:3:5: /rules/0: expected a lexicon with \"negation\" cues "
                      "for the negation blocker, found none");
    CHECK_CONTAINS(e, "no_lexicon.json:3:5: /rules/0: expected a lexicon with \"speculation\" "
                      "cues");
    CHECK_CONTAINS(e, "\"attribution\" cues to find speakers");
    free(e);
}

/* Inline documents written to a temporary file. */
static char *errors_of(const char *json)
{
    char path[] = "/tmp/vigil_events_rulesXXXXXX.json";
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return NULL;
    if (write(fd, json, strlen(json)) != (ssize_t)strlen(json)) {
        close(fd);
        return NULL;
    }
    close(fd);
    const char *p[] = {path};
    char *e = load_errors(p, 1, NULL);
    unlink(path);
    /* Drop the temporary file name: keep "LINE:COL: ..." */
    char *colon = e ? strstr(e, ".json:") : NULL;
    if (colon)
        memmove(e, colon + 6, strlen(colon + 6) + 1);
    return e;
}

static void test_more_mistakes(void)
{
    char *e;
    e = errors_of("{\"rules\": [{\"id\": \"a\", \"type\": \"t\", \"blockers\": false,\n"
                  " \"trigger\": {\"terms\": [\"@nope\"]}}]}");
    CHECK_STR(e, "2:24: /rules/0/trigger/terms/0: expected a vocabulary name defined under "
                 "\"vocab\", found \"@nope\"\n");
    free(e);
    e = errors_of("{\"rules\": [{\"id\": \"a\", \"type\": \"t\", \"blockers\": false,\n"
                  " \"trigger\": {\"terms\": [\"x\"]}, \"when\": {\"terms\": [\"y\"], \"within\": "
                  "{\"sentences\": 1, \"of\": \"object\"}}}]}");
    CHECK_STR(e, "2:89: /rules/0/when/within/of: expected \"of\" together with \"words\", found "
                 "it without\n");
    free(e);
    e = errors_of("{\"rules\": [{\"id\": \"A b\", \"type\": \"T\", \"blockers\": false,\n"
                  " \"trigger\": {\"terms\": [{\"text\": \"x\", \"weight\": -1}]}}]}");
    CHECK_CONTAINS(e, "1:19: /rules/0/id: expected an id of [a-z0-9_-] starting with a letter, "
                      "found \"A b\"\n");
    CHECK_CONTAINS(e, "1:34: /rules/0/type: expected a type of [a-z0-9_] starting with a letter, "
                      "found \"T\"\n");
    CHECK_CONTAINS(e, "2:48: /rules/0/trigger/terms/0/weight: expected a number from 0.001 to "
                      "1000, found an integer -1\n");
    free(e);
    e = errors_of("{\"rules\": [], \"lang\": \"english\"}");
    CHECK_CONTAINS(e, "1:23: /lang: expected an ISO 639-1 language code like \"en\", found a "
                      "string \"english\"\n");
    CHECK_CONTAINS(e, "1:11: /rules: expected a non-empty array of rules, found an array\n");
    free(e);
    e = errors_of("{\"rules\": [{\"id\": \"a\", \"type\": \"t\", \"blockers\": {\"negation\": "
                  "{\"before\": 3, \"during\": 1}, \"question\": {\"before\": 1}},\n"
                  " \"trigger\": {\"terms\": [{\"text\": \"x\", \"regex\": \"y\"}, {\"txt\": "
                  "\"x\"}]}}]}");
    CHECK_CONTAINS(e, "/rules/0/blockers/negation/during: unknown key \"during\"; allowed keys: "
                      "before, after\n");
    CHECK_CONTAINS(e, "/rules/0/blockers/question: expected true or false, found an object\n");
    CHECK_CONTAINS(e, "2:24: /rules/0/trigger/terms/0: expected either \"text\" or \"regex\", "
                      "found both\n");
    CHECK_CONTAINS(e, "2:54: /rules/0/trigger/terms/1/txt: unknown key \"txt\"");
    free(e);
    /* A trailing "*" only after a word; at most 8 words per term. */
    e = errors_of("{\"rules\": [{\"id\": \"a\", \"type\": \"t\", \"blockers\": false, \"trigger\": "
                  "{\"terms\": [\"troop *\", \"a b c d e f g h i\"]}}]}");
    CHECK_CONTAINS(e, "expected \"*\" right after a word (\"troop*\"), found \"troop *\"");
    CHECK_CONTAINS(e, "expected a term of at most 8 words, found 9 words");
    free(e);
    /* Conflicts: two sides or more, each a non-empty array of ids. */
    e = errors_of("{\"conflicts\": {\"a\": [[\"RU\"]], \"b\": [[\"RU\"], []], \"c\": [[\"RU\"], "
                  "[1]]},\n \"rules\": [{\"id\": \"a\", \"type\": \"t\", \"blockers\": false, "
                  "\"trigger\": {\"terms\": [\"x\"]}}]}");
    CHECK_CONTAINS(e, "/conflicts/a: expected an array of at least two sides, each an array of "
                      "entity ids");
    CHECK_CONTAINS(e, "/conflicts/b/1: expected a non-empty array of entity ids");
    CHECK_CONTAINS(e, "/conflicts/c/1/0: expected an entity id");
    free(e);
}

static void test_valid_file_compiles(void)
{
    const char *p[] = {"../../../rules/military.json"};
    struct ruleset *rs = NULL;
    char *e = load_errors(p, 1, &rs);
    CHECK_STR(e, "");
    free(e);
    REQUIRE(rs != NULL);
    CHECK_INT(rs->nrules, >=, 6);
    CHECK_INT(rules_lang(rs, "en"), >=, 0);
    CHECK_INT(rules_lang(rs, "xx"), ==, -1);
    CHECK(rs->db != NULL);
    CHECK_INT(rs->ngroups, >=, rs->nrules);
    for (int i = 0; i < RULES_LEX_N; i++)
        CHECK_INT(rs->lex[i], >=, 0);
    /* Every rule requires at least its trigger, and knows its file. */
    for (uint32_t i = 0; i < rs->nrules; i++) {
        CHECK_INT(rs->rules[i].nreq, >=, 1);
        CHECK_STR(rs->rules[i].file, "../../../rules/military.json");
    }
    /* Stems of "acknowledge" are in the first-word table for English. */
    uint32_t n = 0;
    rules_lookup(rs, rules_lang(rs, "en"), 0, "acknowledg", 10, &n);
    CHECK_INT(n, >=, 1);
    rules_lookup(rs, rules_lang(rs, "en"), 0, "zzzz", 4, &n);
    CHECK_INT(n, ==, 0);
    /* Alliances: same key, shared bloc, unrelated. */
    CHECK(rules_allied(rs, "RU", "RU"));
    CHECK(rules_allied(rs, "RU", "KP"));
    CHECK(rules_allied(rs, "DE", "US"));
    CHECK(!rules_allied(rs, "KR", "KP"));
    CHECK(!rules_allied(rs, NULL, "KP"));
    rules_free(rs);
}

static void test_disabled_rules_are_validated_then_dropped(void)
{
    char *e = errors_of("{\"rules\": [{\"id\": \"a\", \"type\": \"t\", \"enabled\": false, "
                        "\"blockers\": false, \"trigger\": {\"terms\": [\"!!\"]}}]}");
    CHECK_CONTAINS(e, "expected a term with at least one letter or digit");
    free(e);
}

/* rules_load_buffers: the name is what messages say and where relative
 * lexicon paths start from; a lexicon that is not a regular file (a device
 * would block or never end) is refused where it is named. */
static void test_buffers(void)
{
    static const char ok[] = "{\"lexicons\": [\"lexicons/blockers.json\"], \"rules\": [{\"id\": "
                             "\"a\", \"type\": \"t\", \"trigger\": {\"terms\": [\"deploy\"]}}]}";
    const char *names[] = {"../../../rules/inline.json"};
    const char *texts[] = {ok};
    size_t lens[] = {sizeof ok - 1};
    struct diags d = {0};
    struct ruleset *rs = rules_load_buffers(names, texts, lens, 1, &d);
    CHECK_INT(diags_count(&d), ==, 0);
    REQUIRE(rs != NULL);
    CHECK_INT(rs->nrules, ==, 1);
    CHECK_STR(rs->rules[0].file, "../../../rules/inline.json");
    CHECK_INT(rs->lex[RULES_LEX_NEGATION], >=, 0);
    rules_free(rs);

    static const char bad[] = "{\"lexicons\": [\"/dev/null\"],\n \"rules\": 3}";
    texts[0] = bad;
    lens[0] = sizeof bad - 1;
    names[0] = "inline.json";
    REQUIRE(rules_load_buffers(names, texts, lens, 1, &d) == NULL);
    char all[4096] = "";
    size_t o = 0;
    for (size_t i = 0; i < d.n && o < sizeof all; i++) {
        char line[1024];
        diags_format(&d, i, line, sizeof line);
        o += (size_t)snprintf(all + o, sizeof all - o, "%s\n", line);
    }
    CHECK_STR(all, "/dev/null: not a regular file\n"
                   "inline.json:1:15: /lexicons/0: cannot load lexicon \"/dev/null\"\n"
                   "inline.json:2:11: /rules: expected a non-empty array of rules, found an "
                   "integer 3\n");
    diags_free(&d);
}

int main(void)
{
    const char *src = getenv("VIGIL_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/events/fixtures", src ? src : ".");
    if (chdir(dir) != 0) {
        fprintf(stderr, "cannot chdir to %s\n", dir);
        return 1;
    }
    RUN(test_every_error_kind_at_once);
    RUN(test_syntax_and_missing_files);
    RUN(test_lexicon_errors_point_into_the_lexicon);
    RUN(test_blockers_need_a_lexicon);
    RUN(test_more_mistakes);
    RUN(test_valid_file_compiles);
    RUN(test_disabled_rules_are_validated_then_dropped);
    RUN(test_buffers);
    return test_summary();
}
