/*
 * The events engine's documented caps (docs/rules.md, "Limits"): 400 words
 * looked at per sentence, 256 trigger occurrences evaluated per rule and
 * document, 40 explained candidates per rule, evidence cut to 600 bytes
 * around the match, 24 languages per stage. (32 MB text: test_plugin.c;
 * max_events: test_engine.c; 8 words per term: test_rules.c.)
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ev.h"
#include "mentions.h"
#include "rules.h"
#include "test.h"

static char src[1024];
static struct mf *mf;

/* Compile one rules document given as text. */
static struct ruleset *compile_text(const char *body, struct diags *d)
{
    char path[] = "/tmp/vigil_events_capsXXXXXX.json";
    int fd = mkstemps(path, 5);
    size_t n = strlen(body);
    if (fd < 0 || write(fd, body, n) != (ssize_t)n)
        return NULL;
    close(fd);
    const char *paths[] = {path};
    struct ruleset *rs = rules_load(paths, 1, d);
    unlink(path);
    return rs;
}

static struct ruleset *compile(const char *body)
{
    struct diags d = {0};
    struct ruleset *rs = compile_text(body, &d);
    if (!rs)
        diags_print(&d, stderr);
    diags_free(&d);
    return rs;
}

/* deployed + troops in the sentence: no entity needed, no blockers. */
static const char *simple_rule =
    "{\"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false, \"trigger\": "
    "{\"terms\": [\"deployed\"]}, \"when\": {\"terms\": [\"troops\"]}}]}";

static json_t *run(const struct ruleset *rs, const char *text, int explain)
{
    json_t *doc = json_pack("{s:s, s:s}", "text", text, "lang", "en");
    mf_tag(mf, doc);
    struct ev_worker *w = NULL;
    struct vigil_error err = {0};
    struct ev_opts o = {0, 0, explain};
    if (ev_worker_new(rs, &w, &err) != VIGIL_OK || ev_process(rs, w, doc, &o, &err) != VIGIL_OK)
        fprintf(stderr, "engine failed: %s\n", err.msg);
    ev_worker_free(w);
    return doc;
}

static size_t nevents(const json_t *doc)
{
    return json_array_size(json_object_get(doc, "events"));
}

/* One sentence: n filler words, then "troops were deployed". */
static char *long_sentence(int n)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < n; i++)
        buf_append_str(&b, "word ");
    buf_append_str(&b, "troops were deployed.");
    return buf_steal(&b);
}

static void test_words_per_sentence(void)
{
    struct ruleset *rs = compile(simple_rule);
    REQUIRE(rs);
    char *inside = long_sentence(397), *outside = long_sentence(398);
    json_t *doc = run(rs, inside, 0);
    CHECK_INT(nevents(doc), ==, 1);
    json_decref(doc);
    doc = run(rs, outside, 0); /* "deployed" is word 401: not looked at */
    CHECK_INT(nevents(doc), ==, 0);
    json_decref(doc);
    free(inside);
    free(outside);
    rules_free(rs);
}

static void test_evidence_is_cut_around_the_match(void)
{
    struct ruleset *rs = compile(simple_rule);
    REQUIRE(rs);
    /* A 2,000-byte sentence with the match in the middle. */
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 150; i++)
        buf_append_str(&b, "alpha ");
    buf_append_str(&b, "troops were deployed ");
    for (int i = 0; i < 150; i++)
        buf_append_str(&b, "omega ");
    buf_append_str(&b, "end.");
    json_t *doc = run(rs, b.data, 0);
    REQUIRE(nevents(doc) == 1);
    json_t *ev = json_array_get(json_object_get(doc, "events"), 0);
    const char *text = json_string_value(json_object_get(json_object_get(ev, "evidence"), "text"));
    REQUIRE(text);
    CHECK_INT(strlen(text), <=, 600);
    CHECK_INT(strlen(text), >=, 500);
    CHECK_CONTAINS(text, "troops were deployed");
    CHECK(strncmp(text, "alpha", 5) == 0);            /* starts on a word */
    CHECK(strcmp(text + strlen(text) - 5, "omega") == 0); /* ends on a word */
    json_decref(doc);
    buf_free(&b);
    rules_free(rs);
}

/* A rule whose trigger occurs in every filler sentence but which fires
 * only with an entity as object ("Russian troops"). */
static struct ruleset *entity_rule(void)
{
    char body[4096];
    snprintf(body, sizeof body,
             "{\"lexicons\": [\"%s/rules/lexicons/blockers.json\", "
             "\"%s/rules/lexicons/alliances.json\"], \"rules\": [{\"id\": \"r\", \"type\": \"t\","
             " \"blockers\": false, \"trigger\": {\"terms\": [\"deployed\"]}, \"when\": "
             "{\"entity\": {}, \"role\": \"object\"}}]}",
             src, src);
    return compile(body);
}

/* n sentences with the trigger and no entity, then one that fires. */
static char *many_triggers(int n)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < n; i++)
        buf_append_str(&b, "Ships were deployed. ");
    buf_append_str(&b, "Russian troops were deployed.");
    return buf_steal(&b);
}

static void test_trigger_occurrences_per_rule(void)
{
    struct ruleset *rs = entity_rule();
    REQUIRE(rs);
    char *within = many_triggers(255), *past = many_triggers(256);
    json_t *doc = run(rs, within, 0); /* the 256th occurrence: evaluated */
    CHECK_INT(nevents(doc), ==, 1);
    json_decref(doc);
    doc = run(rs, past, 0); /* the 257th: never evaluated */
    CHECK_INT(nevents(doc), ==, 0);
    json_decref(doc);
    free(within);
    free(past);
    rules_free(rs);
}

static void test_explanations_per_rule(void)
{
    struct ruleset *rs = entity_rule();
    REQUIRE(rs);
    char *text = many_triggers(60);
    json_t *doc = run(rs, text, 1);
    free(text);
    CHECK_INT(nevents(doc), ==, 1);
    json_t *x = json_array_get(json_object_get(json_object_get(doc, "meta"), "explain_events"), 0);
    REQUIRE(x);
    CHECK_INT(json_array_size(json_object_get(x, "sentences")), ==, 40);
    json_decref(doc);
    rules_free(rs);
}

static void test_languages_per_stage(void)
{
    static const char *const codes[] = {"en", "de", "fr", "es", "it", "pt", "nl", "sv", "da",
                                        "no", "fi", "ru", "pl", "cs", "ro", "hu", "tr", "el",
                                        "uk", "bg", "hr", "sk", "sl", "lt", "lv"};
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "{\"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false, "
                       "\"trigger\": {\"terms\": {");
    for (int i = 0; i < 25; i++)
        buf_printf(&b, "%s\"%s\": [\"deployed\"]", i ? ", " : "", codes[i]);
    buf_append_str(&b, "}}}]}");
    struct diags d = {0};
    struct ruleset *rs = compile_text(b.data, &d);
    CHECK(rs == NULL);
    REQUIRE(d.n >= 1);
    char line[512];
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "too many languages: at most 24 per events stage");
    CHECK_CONTAINS(line, "/rules/0/trigger/terms/lv");
    diags_free(&d);
    rules_free(rs);
    /* 24 languages compile. */
    buf_reset(&b);
    buf_append_str(&b, "{\"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false, "
                       "\"trigger\": {\"terms\": {");
    for (int i = 0; i < 24; i++)
        buf_printf(&b, "%s\"%s\": [\"deployed\"]", i ? ", " : "", codes[i]);
    buf_append_str(&b, "}}}]}");
    rs = compile(b.data);
    CHECK(rs != NULL);
    rules_free(rs);
    buf_free(&b);
}

/* A word of a term may be at most 120 bytes (folded): a longer one is a
 * compile error naming the limit. */
static void test_word_length_in_terms(void)
{
    char word[200], body[512];
    for (int len = 120; len <= 121; len++) {
        memset(word, 'w', (size_t)len);
        word[len] = '\0';
        snprintf(body, sizeof body,
                 "{\"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false, \"trigger\": "
                 "{\"terms\": [\"%s\"]}}]}",
                 word);
        struct diags d = {0};
        struct ruleset *rs = compile_text(body, &d);
        if (len == 120) {
            CHECK(rs != NULL);
        } else {
            CHECK(rs == NULL);
            REQUIRE(d.n >= 1);
            char line[512];
            diags_format(&d, 0, line, sizeof line);
            CHECK_CONTAINS(line, "expected words of at most 120 bytes");
        }
        rules_free(rs);
        diags_free(&d);
    }
}

int main(void)
{
    const char *s = getenv("VIGIL_SOURCE_DIR");
    snprintf(src, sizeof src, "%s", s ? s : ".");
    char path[1200], msg[256];
    snprintf(path, sizeof path, "%s/tests/events/fixtures/aliases.json", src);
    mf = mf_load(path, msg, sizeof msg);
    if (!mf) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    RUN(test_words_per_sentence);
    RUN(test_evidence_is_cut_around_the_match);
    RUN(test_trigger_occurrences_per_rule);
    RUN(test_explanations_per_rule);
    RUN(test_languages_per_stage);
    RUN(test_word_length_in_terms);
    mf_free(mf);
    return test_summary();
}
