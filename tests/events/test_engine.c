/*
 * The engine, one construct at a time: terms and inflections, weights,
 * groups, entity filters, roles, proximity, each blocker on and off,
 * explanations, deduplication and the output shape. Rules are written
 * inline; entities come from the fixture mention finder.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ev.h"
#include "mentions.h"
#include "rules.h"
#include "test.h"

static char src[1024];
static struct mf *mf;

/* Compile one rules document given as text; "LEX" in it stands for the
 * shipped lexicon list. */
static struct ruleset *compile(const char *fmt)
{
    char lex[2400], body[16384], path[] = "/tmp/vigil_events_engineXXXXXX.json";
    snprintf(lex, sizeof lex,
             "[\"%s/rules/lexicons/blockers.json\", \"%s/rules/lexicons/alliances.json\"]", src,
             src);
    size_t o = 0;
    for (const char *p = fmt; *p && o + 1 < sizeof body; p++) {
        if (strncmp(p, "LEX", 3) == 0) {
            o += (size_t)snprintf(body + o, sizeof body - o, "%s", lex);
            p += 2;
        } else {
            body[o++] = *p;
        }
    }
    body[o] = '\0';
    int fd = mkstemps(path, 5);
    if (fd < 0 || write(fd, body, o) != (ssize_t)o)
        return NULL;
    close(fd);
    struct diags d = {0};
    const char *paths[] = {path};
    struct ruleset *rs = rules_load(paths, 1, &d);
    if (!rs)
        diags_print(&d, stderr);
    diags_free(&d);
    unlink(path);
    return rs;
}

/* Process text (and title) with rs; explain always on. New reference. */
static json_t *run_doc(const struct ruleset *rs, const char *title, const char *text,
                       const char *lang, const struct ev_opts *o)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "text", json_string(text));
    if (title)
        json_object_set_new(doc, "title", json_string(title));
    json_object_set_new(doc, "lang", json_string(lang ? lang : "en"));
    mf_tag(mf, doc);
    struct ev_worker *w = NULL;
    struct vigil_error err = {0};
    struct ev_opts def = {0, 0, 1};
    if (ev_worker_new(rs, &w, &err) != VIGIL_OK || ev_process(rs, w, doc, o ? o : &def, &err)) {
        fprintf(stderr, "engine failed: %s\n", err.msg);
        ev_worker_free(w);
        return doc;
    }
    ev_worker_free(w);
    return doc;
}

static size_t nevents(const json_t *doc)
{
    return json_array_size(json_object_get(doc, "events"));
}

static const char *ev_str(const json_t *doc, size_t i, const char *key)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "events"), i), key));
}

/* Number of events for text with rs. */
static size_t count(const struct ruleset *rs, const char *text)
{
    json_t *doc = run_doc(rs, NULL, text, NULL, NULL);
    size_t n = nevents(doc);
    json_decref(doc);
    return n;
}

/* The explanation reasons of rule 0, joined. */
static void reasons(const json_t *doc, char *buf, size_t len)
{
    const json_t *x =
        json_array_get(json_object_get(json_object_get(doc, "meta"), "explain_events"), 0);
    size_t o = 0, i;
    json_t *s;
    buf[0] = '\0';
    json_array_foreach(json_object_get(x, "sentences"), i, s)
    {
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s\n",
                              json_string_value(json_object_get(s, "reason")));
    }
    if (json_object_get(x, "reason") && o < len)
        snprintf(buf + o, len - o, "%s\n", json_string_value(json_object_get(x, "reason")));
}

static void test_terms_and_inflections(void)
{
    struct ruleset *rs = compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\","
                                 " \"blockers\": false, \"trigger\": {\"terms\": [\"confirm\", "
                                 "\"acknowledge\", \"deploy\", \"troop*\", "
                                 "{\"text\": \"may\", \"case\": \"sensitive\"}, "
                                 "{\"text\": \"units\", \"stem\": false}, "
                                 "{\"text\": \"fight\", \"forms\": [\"fought\"]}, "
                                 "\"took part\", {\"regex\": \"\\\\bT-[0-9]+\\\\b\"}]}}]}");
    REQUIRE(rs != NULL);
    const char *yes[] = {"They confirmed it.",
                         "She confirms.",
                         "Confirming the plan.",
                         "The confirmation came.",
                         "Russia acknowledged it.",
                         "The acknowledgement came.",
                         "The deployment began.",
                         "Deployed there.",
                         "TROOPSHIP sails.",
                         "Troopers came.",
                         "In early may.",
                         "Two units moved.",
                         "They fought.",
                         "She fights.",
                         "They took part in it.",
                         "They took, part in it.",
                         "Tanks like T-72.",
                         NULL};
    const char *no[] = {"A conflict broke out.", "Conference season.", "In May 2024.",
                        "One unit moved.",       "The unit's name.",   "They took the part.",
                        "The T-shirt.",          "Redeploy",           NULL};
    for (int i = 0; yes[i]; i++) {
        size_t n = count(rs, yes[i]);
        if (n != 1)
            fprintf(stderr, "  expected a match: %s\n", yes[i]);
        CHECK_INT(n, ==, 1);
    }
    for (int i = 0; no[i]; i++) {
        size_t n = count(rs, no[i]);
        if (n != 0)
            fprintf(stderr, "  expected no match: %s\n", no[i]);
        CHECK_INT(n, ==, 0);
    }
    rules_free(rs);
}

/* Vectorscan 5.4.9 misses multi-literal matches near the end of a buffer
 * (docs/rules.md, "Performance"): a trigger in the last words of a text must
 * still be found, whatever the length before it. */
static void test_matches_at_the_end(void)
{
    struct ruleset *rs = compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", "
                                 "\"blockers\": false, \"trigger\": {\"terms\": [\"fought\", "
                                 "\"captured\"]}}]}");
    REQUIRE(rs != NULL);
    char text[512];
    int missed = 0;
    for (int pad = 0; pad < 200; pad++) {
        snprintf(text, sizeof text, "%*sNorth Korean units fought", pad, "");
        if (count(rs, text) != 1)
            missed++;
        snprintf(text, sizeof text, "%*sThey fought in Kursk.", pad, "");
        if (count(rs, text) != 1)
            missed++;
    }
    CHECK_INT(missed, ==, 0);
    rules_free(rs);
}

static void test_languages(void)
{
    struct ruleset *rs =
        compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\","
                " \"blockers\": false, \"trigger\": {\"terms\": "
                "{\"en\": [\"troops\"], \"de\": [\"Truppen\", \"bestätigt\"]}}}]}");
    REQUIRE(rs != NULL);
    json_t *d;
    d = run_doc(rs, NULL, "Die Truppen sind da.", "de", NULL);
    CHECK_INT(nevents(d), ==, 1);
    json_decref(d);
    d = run_doc(rs, NULL, "Russland BESTÄTIGTE das.", "de", NULL); /* German stems, folded case */
    CHECK_INT(nevents(d), ==, 1);
    json_decref(d);
    d = run_doc(rs, NULL, "Troops are there.", "de", NULL); /* German documents use German terms */
    CHECK_INT(nevents(d), ==, 0);
    json_decref(d);
    d = run_doc(rs, NULL, "Die Truppen sind da.", "en", NULL);
    CHECK_INT(nevents(d), ==, 0);
    json_decref(d);
    /* A language without a list falls back to the file's language (en). */
    d = run_doc(rs, NULL, "Les troops.", "fr", NULL);
    CHECK_INT(nevents(d), ==, 1);
    json_decref(d);
    d = run_doc(rs, NULL, "Troops.", "und", NULL);
    CHECK_INT(nevents(d), ==, 1);
    json_decref(d);
    rules_free(rs);
    /* Lexicon cues: the document's language and the lexicon's own (English)
     * both apply, so a misdetected language keeps English speech verbs. */
    rs = compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", "
                 "\"trigger\": {\"terms\": [\"troops\", \"Truppen\"]}, "
                 "\"when\": {\"entity\": {\"affiliation\": \"RU\"}, \"role\": \"speaker\"}}]}");
    REQUIRE(rs != NULL);
    d = run_doc(rs, NULL, "Kremlin-Sprecher Peskov bestätigte, dass Truppen in Kursk sind.", "de",
                NULL);
    CHECK_INT(nevents(d), ==, 1); /* German speech verb, speaker Kremlin */
    json_decref(d);
    d = run_doc(rs, NULL, "Moscow said troops are in Kursk.", "de", NULL);
    CHECK_INT(nevents(d), ==, 1); /* English text tagged German: English "said" */
    json_decref(d);
    d = run_doc(rs, NULL, "Moscow denied that troops are in Kursk.", "de", NULL);
    CHECK_INT(nevents(d), ==, 0); /* and English negations */
    json_decref(d);
    rules_free(rs);
}

static void test_weights_and_threshold(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false,"
        " \"trigger\": {\"terms\": [\"alpha\", \"beta\", \"gamma\"]},"
        " \"when\": {\"terms\": [{\"text\": \"alpha\", \"weight\": 2}, \"beta\", \"gamma\"],"
        " \"threshold\": 3}}]}");
    REQUIRE(rs != NULL);
    CHECK_INT(count(rs, "alpha and beta."), ==, 1); /* 2 + 1 */
    CHECK_INT(count(rs, "beta and gamma."), ==, 0); /* 1 + 1 */
    CHECK_INT(count(rs, "beta beta beta."), ==, 0); /* distinct terms count once */
    CHECK_INT(count(rs, "alpha, beta, gamma."), ==, 1);
    json_t *d = run_doc(rs, NULL, "gamma and beta.", NULL, NULL);
    char r[2048];
    reasons(d, r, sizeof r);
    CHECK_CONTAINS(r, "score 2, below the threshold 3");
    json_decref(d);
    rules_free(rs);
    /* A weighted trigger needs its threshold in the sentence. */
    rs = compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": "
                 "false, \"trigger\": {\"terms\": [{\"text\": \"war\", \"weight\": 1}, "
                 "{\"text\": \"troops\", \"weight\": 1}], \"threshold\": 2}}]}");
    REQUIRE(rs != NULL);
    CHECK_INT(count(rs, "The war goes on."), ==, 0);
    CHECK_INT(count(rs, "The war needs troops."), ==, 1);
    rules_free(rs);
}

static void test_long_term_lists(void)
{
    /* Lists have no length limit: the 100th term counts like the first. */
    char rules[8192];
    size_t o = (size_t)snprintf(rules, sizeof rules,
                                "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": "
                                "\"t\", \"blockers\": false, \"trigger\": {\"terms\": [");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(rules + o, sizeof rules - o, "%s\"word%d\"", i ? ", " : "", i);
    snprintf(rules + o, sizeof rules - o,
             "]}, \"when\": {\"terms\": [{\"text\": \"alpha\", \"weight\": 1}, "
             "{\"text\": \"omega\", \"weight\": 1}], \"threshold\": 2}}]}");
    struct ruleset *rs = compile(rules);
    REQUIRE(rs != NULL);
    CHECK_INT(count(rs, "Here word99 with alpha and omega."), ==, 1);
    CHECK_INT(count(rs, "Here word0 with alpha and omega."), ==, 1);
    CHECK_INT(count(rs, "Here word99 with alpha alone."), ==, 0);
    rules_free(rs);
}

static void test_groups(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false,"
        " \"trigger\": {\"terms\": [\"troops\"]}, \"when\": {\"all\": ["
        "  {\"any\": [{\"terms\": [\"sent\"]}, {\"all\": [{\"terms\": [\"arrived\"]}, "
        "{\"terms\": [\"border\"]}]}]},"
        "  {\"none\": [{\"terms\": [\"exercise\"]}, {\"any\": [{\"terms\": [\"parade\"]}]}]}"
        "]}}]}");
    REQUIRE(rs != NULL);
    CHECK_INT(count(rs, "Troops were sent."), ==, 1);
    CHECK_INT(count(rs, "Troops arrived at the border."), ==, 1);
    CHECK_INT(count(rs, "Troops arrived."), ==, 0);
    CHECK_INT(count(rs, "Troops were sent for an exercise."), ==, 0);
    CHECK_INT(count(rs, "Troops were sent to a parade."), ==, 0);
    json_t *d = run_doc(rs, NULL, "Troops were sent for an exercise.", NULL, NULL);
    char r[2048];
    reasons(d, r, sizeof r);
    CHECK_CONTAINS(r, "sentence 0: /rules/0/when/all/1: excluded by /rules/0/when/all/1/none/0: "
                      "term 'exercise'");
    json_decref(d);
    d = run_doc(rs, NULL, "Troops arrived.", NULL, NULL);
    reasons(d, r, sizeof r);
    CHECK_CONTAINS(r, "no alternative matched (first: /rules/0/when/all/0/any/0: no term ('sent') "
                      "in the sentence)");
    json_decref(d);
    rules_free(rs);
}

static void test_entity_filters(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": ["
        " {\"id\": \"by-id\", \"type\": \"by_id\", \"blockers\": false, \"trigger\": {\"terms\": "
        "[\"troops\"]}, \"when\": {\"entity\": {\"id\": \"KP\"}}},"
        " {\"id\": \"by-type\", \"type\": \"by_type\", \"blockers\": false, \"trigger\": "
        "{\"terms\": [\"troops\"]}, \"when\": {\"entity\": {\"type\": \"person\"}}},"
        " {\"id\": \"by-aff\", \"type\": \"by_aff\", \"blockers\": false, \"trigger\": {\"terms\": "
        "[\"troops\"]}, \"when\": {\"entity\": {\"affiliation\": \"RU\", \"demonym\": false}}},"
        " {\"id\": \"demonym\", \"type\": \"demonym\", \"blockers\": false, \"trigger\": "
        "{\"terms\": [\"troops\"]}, \"when\": {\"entity\": {\"demonym\": true}}}]}");
    REQUIRE(rs != NULL);
    json_t *d = run_doc(rs, NULL, "North Korean troops met Gerasimov.", NULL, NULL);
    char types[256] = "";
    for (size_t i = 0; i < nevents(d); i++) {
        strncat(types, ev_str(d, i, "type"), sizeof types - strlen(types) - 2);
        strncat(types, " ", sizeof types - strlen(types) - 1);
    }
    /* KP by demonym; Gerasimov is a person affiliated with RU. */
    CHECK_STR(types, "by_id by_type by_aff demonym ");
    json_decref(d);
    d = run_doc(rs, NULL, "Russian troops are in Kursk.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 2); /* by_aff (Kursk, a place affiliated with RU), demonym */
    json_decref(d);
    rules_free(rs);
}

static const char *role_rules =
    "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"confidence\": 0.9,"
    " \"title\": \"{actor|someone} on {object} ({trigger})\","
    " \"trigger\": {\"terms\": [\"fought\", \"captured\"]}, \"when\": {\"all\": ["
    "  {\"entity\": {}, \"role\": \"actor\"}, {\"entity\": {\"locative\": false}, \"role\": "
    "\"object\"}, {\"relation\": \"different\"}]}}]}";

static void expect_roles(const struct ruleset *rs, const char *text, const char *actor,
                         const char *object)
{
    json_t *d = run_doc(rs, NULL, text, NULL, NULL);
    if (nevents(d) != 1 || !ev_str(d, 0, "actor") || strcmp(ev_str(d, 0, "actor"), actor) ||
        strcmp(ev_str(d, 0, "object"), object)) {
        char r[2048];
        reasons(d, r, sizeof r);
        fprintf(stderr, "  roles of: %s\n  %s", text, r);
    }
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "actor"), actor);
    CHECK_STR(ev_str(d, 0, "object"), object);
    json_decref(d);
}

static void test_roles(void)
{
    struct ruleset *rs = compile(role_rules);
    REQUIRE(rs != NULL);
    /* Subject side acts, the other side is the object. */
    expect_roles(rs, "Ukrainian forces captured two North Korean soldiers.", "UA", "KP");
    /* Passive with an agent. */
    expect_roles(rs, "Two North Korean soldiers were captured by Ukrainian marines.", "UA", "KP");
    /* Speaker first: the speaker is the actor of reported speech. */
    expect_roles(rs, "Gerasimov told Putin that North Korean units fought in Kursk.", "RU", "KP");
    /* Speaker last, after a quote. */
    expect_roles(rs, "\"North Korean units fought well,\" Zelensky said on Tuesday.", "UA", "KP");
    /* Inverted: "said X". */
    expect_roles(rs, "North Korean units fought in Kursk, said Zelensky.", "UA", "KP");
    /* According to X. */
    expect_roles(rs, "According to Seoul, North Korean units fought in Kursk.", "KR", "KP");
    /* A speaker named in apposition, and a speaker before a colon. */
    expect_roles(rs,
                 "The chief of staff, Valery Gerasimov, told reporters that North Korean units "
                 "fought in Kursk.",
                 "RU", "KP");
    expect_roles(rs, "Zelensky: North Korean units fought in Kursk.", "UA", "KP");
    /* "He said" takes the previous sentence's speaker. */
    expect_roles(rs, "Gerasimov spoke to Putin on Sunday. He said North Korean units fought well.",
                 "RU", "KP");
    /* The title is filled from the roles and the trigger. */
    json_t *d =
        run_doc(rs, NULL, "Gerasimov said North Korean units fought for Russia.", NULL, NULL);
    CHECK_STR(ev_str(d, 0, "title"), "Russia on North Korea (fought)");
    json_decref(d);
    /* Without a Russia mention the actor's own name is used. */
    d = run_doc(rs, NULL, "Peskov said North Korean units fought.", NULL, NULL);
    CHECK_STR(ev_str(d, 0, "title"), "Dmitry Peskov on North Korea (fought)");
    json_decref(d);
    /* No actor at all fails the rule, and the explanation says why. */
    d = run_doc(rs, NULL, "In Kursk, units fought near North Korean troops.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 0);
    char r[2048];
    reasons(d, r, sizeof r);
    CHECK_CONTAINS(r, "/rules/0/when/all/0: no actor: trigger 'fought' is not reported speech and "
                      "has no agent");
    json_decref(d);
    rules_free(rs);
}

static void test_relations_and_speaker_role(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": ["
        " {\"id\": \"ack\", \"type\": \"ack\", \"trigger\": {\"terms\": [\"fought\"]},"
        "  \"when\": {\"all\": [{\"entity\": {}, \"role\": \"speaker\"},"
        "  {\"relation\": \"ally\", \"between\": [\"speaker\", \"object\"]}]}},"
        " {\"id\": \"rep\", \"type\": \"rep\", \"blockers\": {\"reported\": false},"
        "  \"trigger\": {\"terms\": [\"fought\"]},"
        "  \"when\": {\"all\": [{\"entity\": {}, \"role\": \"speaker\"},"
        "  {\"entity\": {\"locative\": false}, \"role\": \"object\"},"
        "  {\"none\": [{\"relation\": \"allied\", \"between\": [\"speaker\", \"object\"]}]}]}}]}");
    REQUIRE(rs != NULL);
    json_t *d = run_doc(rs, NULL, "Moscow said North Korean troops fought in Kursk.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "type"), "ack");
    json_decref(d);
    d = run_doc(rs, NULL, "Seoul said North Korean troops fought in Kursk.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "type"), "rep");
    json_decref(d);
    /* A plain statement has no speaker. */
    CHECK_INT(count(rs, "North Korean troops fought in Kursk."), ==, 0);
    rules_free(rs);
}

static void test_proximity(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": ["
        " {\"id\": \"w\", \"type\": \"words\", \"blockers\": false, \"trigger\": {\"terms\": "
        "[\"troops\"]}, \"when\": {\"terms\": [\"deployed\"], \"within\": {\"words\": 2}}},"
        " {\"id\": \"s\", \"type\": \"sentences\", \"blockers\": false, \"trigger\": {\"terms\": "
        "[\"troops\"]}, \"when\": {\"terms\": [\"deployed\"], \"within\": {\"sentences\": 1}}},"
        " {\"id\": \"e\", \"type\": \"entity_near\", \"blockers\": false, \"trigger\": {\"terms\": "
        "[\"troops\"]}, \"when\": {\"entity\": {\"id\": \"KP\"}, \"within\": {\"words\": 1}}}]}");
    REQUIRE(rs != NULL);
    json_t *d = run_doc(rs, NULL, "Troops were deployed.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 2);
    json_decref(d);
    d = run_doc(rs, NULL, "Troops were then quickly deployed.", NULL, NULL); /* 3 words between */
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "type"), "sentences");
    json_decref(d);
    d = run_doc(rs, NULL, "Troops came. Then they were deployed. Nothing else.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "type"), "sentences");
    CHECK(json_real_value(json_object_get(json_array_get(json_object_get(d, "events"), 0),
                                          "confidence")) < 0.8); /* found a sentence away */
    json_decref(d);
    d = run_doc(rs, NULL, "Troops came. Nothing. Then they were deployed.", NULL, NULL);
    CHECK_INT(nevents(d), ==, 0);
    json_decref(d);
    d = run_doc(rs, NULL, "North Korean troops. Troops and many more from North Korea.", NULL,
                NULL);
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "type"), "entity_near");
    json_decref(d);
    rules_free(rs);
}

static const char *blocker_rules =
    "{\"lexicons\": LEX, \"rules\": ["
    " {\"id\": \"on\", \"type\": \"on\", \"trigger\": {\"terms\": [\"deployed\"]},"
    "  \"when\": {\"entity\": {\"affiliation\": \"RU\"}, \"role\": \"speaker\"}},"
    " {\"id\": \"off\", \"type\": \"off\", \"blockers\": {\"BLOCKER\": false}, \"trigger\": "
    "{\"terms\": [\"deployed\"]}, \"when\": {\"entity\": {\"affiliation\": \"RU\"}, "
    "\"role\": \"speaker\"}}]}";

/* With the blocker on, text yields only "off"; the reason names the cue. */
static void check_blocker(const char *blocker, const char *text, const char *reason)
{
    char body[2048];
    const char *p = strstr(blocker_rules, "BLOCKER");
    snprintf(body, sizeof body, "%.*s%s%s", (int)(p - blocker_rules), blocker_rules, blocker,
             p + 7);
    struct ruleset *rs = compile(body);
    REQUIRE(rs != NULL);
    json_t *d = run_doc(rs, NULL, text, NULL, NULL);
    if (nevents(d) != 1)
        fprintf(stderr, "  %s: %s\n", blocker, text);
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "type"), "off");
    char r[2048];
    reasons(d, r, sizeof r);
    CHECK_CONTAINS(r, reason);
    json_decref(d);
    rules_free(rs);
}

static void test_blockers(void)
{
    check_blocker("negation", "Moscow said no troops were deployed in Kursk.",
                  "sentence 0: blocked by negation cue 'no' before trigger 'deployed'");
    check_blocker("negation",
                  "Moscow denied that the troops of the northern army group were "
                  "deployed in Kursk.",
                  "blocked by negation cue 'denied' on the verb 'denied' that governs trigger "
                  "'deployed'");
    check_blocker("negation",
                  "Moscow did not say that the troops of the northern army group "
                  "were deployed.",
                  "blocked by negation cue 'not' before the verb 'say' that governs trigger "
                  "'deployed'");
    check_blocker("negation", "Moscow said reports that troops were deployed were fake.",
                  "blocked by negation cue 'fake' after trigger 'deployed'");
    check_blocker("speculation", "Moscow said troops may be deployed soon.",
                  "blocked by speculation cue 'may' before trigger 'deployed'");
    check_blocker("speculation", "Moscow said troops had reportedly been deployed.",
                  "blocked by speculation cue 'reportedly'");
    check_blocker("speculation", "Moscow said troops would be deployed if needed.",
                  "blocked by speculation cue 'if' after trigger 'deployed'");
    check_blocker("question", "Did Moscow say troops were deployed?",
                  "blocked as a question (the sentence ends with '?')");
    check_blocker("reported", "Seoul said Moscow confirmed troops were deployed.",
                  "blocked as a reported claim: speaker 'Seoul' (KR) via 'said' does not "
                  "satisfy the rule");
}

static void test_blocker_scope(void)
{
    struct ruleset *rs =
        compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"trigger\": "
                "{\"terms\": [\"deployed\"]}}]}");
    REQUIRE(rs != NULL);
    /* "would" hedges outside reported speech; after "said" it is the
     * backshifted "will" of the statement (in_reported_speech: false). */
    CHECK_INT(count(rs, "In that case troops would be deployed to the border."), ==, 0);
    CHECK_INT(count(rs, "Moscow said troops would be deployed to the border."), ==, 1);
    /* A negation in another clause or far before does not block. */
    CHECK_INT(count(rs, "It was not cold; troops were deployed."), ==, 1);
    CHECK_INT(count(rs, "Nobody expected the long and very difficult winter in which troops were "
                        "deployed."),
              ==, 1);
    CHECK_INT(count(rs, "Talks failed, but troops were deployed."), ==, 1);
    CHECK_INT(count(rs, "Troops were not deployed."), ==, 0);
    rules_free(rs);
    /* Blocker windows can be widened per rule. */
    rs = compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": "
                 "{\"negation\": {\"before\": 12}}, \"trigger\": {\"terms\": [\"deployed\"]}}]}");
    REQUIRE(rs != NULL);
    CHECK_INT(count(rs, "Nobody expected the long and very difficult winter in which troops were "
                        "deployed."),
              ==, 0);
    rules_free(rs);
}

/* once_per_document: one event of the type per document, the strongest;
 * without it, one per (type, actor, object). */
static void test_once_per_document(void)
{
    const char *text = "Qatar announced a ceasefire in Gaza. Israel announced a ceasefire too.";
    const char *rule = "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\",%s"
                       " \"trigger\": {\"terms\": [\"ceasefire\"]},"
                       " \"when\": {\"entity\": {}, \"role\": \"actor\"}}]}";
    char body[1024];
    snprintf(body, sizeof body, rule, "");
    struct ruleset *rs = compile(body);
    REQUIRE(rs != NULL);
    CHECK_INT(count(rs, text), ==, 2);
    rules_free(rs);
    snprintf(body, sizeof body, rule, " \"once_per_document\": true,");
    rs = compile(body);
    REQUIRE(rs != NULL);
    json_t *d = run_doc(rs, NULL, text, NULL, NULL);
    CHECK_INT(nevents(d), ==, 1);
    CHECK_STR(ev_str(d, 0, "actor"), "QA"); /* equal confidence: the first sentence */
    json_decref(d);
    rules_free(rs);
}

static void test_output_shape_and_dedupe(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"ack\", \"severity\": "
        "\"high\", \"confidence\": 0.9, \"title\": \"{actor} on {object}\", \"trigger\": "
        "{\"terms\": [\"fought\"]}, \"when\": {\"all\": [{\"entity\": {}, \"role\": \"speaker\"},"
        " {\"entity\": {\"type\": \"country\"}, \"role\": \"object\"},"
        " {\"terms\": [\"troops\"], \"within\": {\"words\": 3}}]}}]}");
    REQUIRE(rs != NULL);
    const char *title = "Russia says North Korean troops fought";
    const char *text = "Intro sentence here. Russia said North Korean troops fought in Kursk. "
                       "Later, Putin said North Korean troops fought bravely.";
    json_t *d = run_doc(rs, title, text, NULL, NULL);
    REQUIRE(nevents(d) == 1); /* same type, actor and object: one event */
    json_t *ev = json_array_get(json_object_get(d, "events"), 0);
    CHECK_STR(json_string_value(json_object_get(ev, "type")), "ack");
    CHECK_STR(json_string_value(json_object_get(ev, "severity")), "high");
    CHECK_STR(json_string_value(json_object_get(ev, "title")), "Russia on North Korea");
    CHECK_STR(json_string_value(json_object_get(ev, "actor")), "RU");
    CHECK_STR(json_string_value(json_object_get(ev, "object")), "KP");
    CHECK_STR(json_string_value(json_object_get(ev, "trigger")), "fought");
    CHECK(json_real_value(json_object_get(ev, "confidence")) > 0.85);
    /* Body evidence wins over the title at equal confidence; the first sentence. */
    json_t *evid = json_object_get(ev, "evidence");
    CHECK_INT(json_integer_value(json_object_get(evid, "sentence")), ==, 1);
    json_int_t s = json_integer_value(json_object_get(evid, "start"));
    json_int_t e = json_integer_value(json_object_get(evid, "end"));
    CHECK_INT(e - s, ==, (long long)strlen(json_string_value(json_object_get(evid, "text"))));
    CHECK(strncmp(text + s, json_string_value(json_object_get(evid, "text")), (size_t)(e - s)) ==
          0);
    CHECK(strncmp(text + s, "Russia said North Korean troops fought in Kursk.", (size_t)(e - s)) ==
          0);
    json_t *terms = json_object_get(ev, "terms");
    CHECK_STR(json_string_value(json_array_get(terms, 0)), "fought");
    CHECK_STR(json_string_value(json_array_get(terms, 1)), "troops");
    json_t *ents = json_object_get(ev, "entities");
    CHECK_INT(json_array_size(ents), ==, 3);
    CHECK_STR(json_string_value(json_array_get(ents, 0)), "RU");
    CHECK_STR(json_string_value(json_array_get(ents, 1)), "KP");
    CHECK_STR(json_string_value(json_array_get(ents, 2)), "place:kursk");
    json_t *rule = json_object_get(ev, "rule");
    CHECK_STR(json_string_value(json_object_get(rule, "id")), "r");
    CHECK_CONTAINS(json_string_value(json_object_get(rule, "file")), "/tmp/vigil_events_engine");
    json_decref(d);

    /* Title only: evidence points into the title. */
    d = run_doc(rs, title, "Nothing else here.", NULL, NULL);
    REQUIRE(nevents(d) == 1);
    evid = json_object_get(json_array_get(json_object_get(d, "events"), 0), "evidence");
    CHECK_INT(json_integer_value(json_object_get(evid, "sentence")), ==, -1);
    CHECK_STR(json_string_value(json_object_get(evid, "field")), "title");
    CHECK_STR(json_string_value(json_object_get(evid, "text")), title);
    json_decref(d);

    /* min_confidence and max_events. */
    struct ev_opts o = {0.95, 0, 0};
    d = run_doc(rs, NULL, text, NULL, &o);
    CHECK_INT(nevents(d), ==, 0);
    CHECK(json_object_get(json_object_get(d, "meta"), "explain_events") == NULL);
    json_decref(d);
    rules_free(rs);
}

static void test_max_events_and_append(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false, "
        "\"trigger\": {\"terms\": [\"troops\"]}, \"when\": {\"entity\": {}, \"role\": "
        "\"object\"}}]}");
    REQUIRE(rs != NULL);
    json_t *doc = json_object();
    json_object_set_new(doc, "text", json_string("Russian troops. German troops. French troops."));
    json_object_set_new(doc, "events", json_pack("[{s:s}]", "type", "earlier"));
    mf_tag(mf, doc);
    struct ev_worker *w = NULL;
    struct vigil_error err;
    REQUIRE(ev_worker_new(rs, &w, &err) == VIGIL_OK);
    struct ev_opts o = {0, 2, 0};
    CHECK_INT(ev_process(rs, w, doc, &o, &err), ==, VIGIL_OK);
    CHECK_INT(nevents(doc), ==, 3); /* the earlier event and two of three */
    CHECK_STR(ev_str(doc, 0, "type"), "earlier");
    /* The same worker serves the next document from a clean state. */
    json_t *doc2 = json_pack("{s:s}", "text", "Nothing at all.");
    CHECK_INT(ev_process(rs, w, doc2, &o, &err), ==, VIGIL_OK);
    CHECK_INT(nevents(doc2), ==, 0);
    json_decref(doc2);
    ev_worker_free(w);
    json_decref(doc);
    rules_free(rs);
}

static void test_explain_on_request(void)
{
    struct ruleset *rs =
        compile("{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"trigger\": "
                "{\"terms\": [\"deployed\"]}, \"when\": {\"terms\": [\"troops\"]}}]}");
    REQUIRE(rs != NULL);
    struct ev_worker *w = NULL;
    struct vigil_error err;
    REQUIRE(ev_worker_new(rs, &w, &err) == VIGIL_OK);
    struct ev_opts o = {0, 0, 0};
    json_t *doc = json_pack("{s:s, s:{s:b}}", "text",
                            "No troops were deployed. Troops were deployed. Nothing else.", "meta",
                            "explain", 1);
    CHECK_INT(ev_process(rs, w, doc, &o, &err), ==, VIGIL_OK);
    json_t *x = json_object_get(json_object_get(doc, "meta"), "explain_events");
    REQUIRE(json_is_array(x));
    json_t *r0 = json_array_get(x, 0);
    CHECK_STR(json_string_value(json_object_get(r0, "rule")), "r");
    CHECK(json_is_true(json_object_get(r0, "fired")));
    CHECK_INT(json_integer_value(json_object_get(r0, "events")), ==, 1);
    json_t *ss = json_object_get(r0, "sentences");
    REQUIRE(json_array_size(ss) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(ss, 0), "result")), "blocked");
    CHECK_STR(json_string_value(json_object_get(json_array_get(ss, 0), "reason")),
              "sentence 0: blocked by negation cue 'No' before trigger 'deployed'");
    CHECK_STR(json_string_value(json_object_get(json_array_get(ss, 1), "result")), "fired");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(ss, 1), "sentence")), ==, 1);
    json_decref(doc);
    /* Without meta.explain, no explanation. */
    doc = json_pack("{s:s}", "text", "Troops were deployed.");
    CHECK_INT(ev_process(rs, w, doc, &o, &err), ==, VIGIL_OK);
    CHECK(json_object_get(json_object_get(doc, "meta"), "explain_events") == NULL);
    json_decref(doc);
    /* A document without the trigger says so. */
    o.explain = 1;
    doc = json_pack("{s:s}", "text", "Troops marched.");
    CHECK_INT(ev_process(rs, w, doc, &o, &err), ==, VIGIL_OK);
    char r[1024];
    reasons(doc, r, sizeof r);
    CHECK_STR(r, "no trigger term in the document\n");
    json_decref(doc);
    doc = json_pack("{s:s}", "text", "It was deployed. Troops marched.");
    CHECK_INT(ev_process(rs, w, doc, &o, &err), ==, VIGIL_OK);
    reasons(doc, r, sizeof r);
    CHECK_STR(r, "no sentence has a trigger term together with every term the rule requires "
                 "there\n");
    json_decref(doc);
    ev_worker_free(w);
    rules_free(rs);
}

static void test_given_sentences_and_mentions(void)
{
    struct ruleset *rs = compile(
        "{\"lexicons\": LEX, \"rules\": [{\"id\": \"r\", \"type\": \"t\", \"blockers\": false, "
        "\"trigger\": {\"terms\": [\"troops\"]}, \"when\": {\"entity\": {\"id\": \"KP\"}}}]}");
    REQUIRE(rs != NULL);
    struct ev_worker *w = NULL;
    struct vigil_error err;
    REQUIRE(ev_worker_new(rs, &w, &err) == VIGIL_OK);
    /* The document's sentences are used as given (here one span for both). */
    const char *text = "Troops. From North Korea.";
    json_t *doc = json_pack("{s:s, s:[[i,i]], s:{s:[{s:s, s:s, s:i, s:i}]}}", "text", text,
                            "sentences", 0, 25, "entities", "mentions", "id", "KP", "type",
                            "country", "start", 13, "end", 24);
    CHECK_INT(ev_process(rs, w, doc, NULL, &err), ==, VIGIL_OK);
    CHECK_INT(nevents(doc), ==, 1);
    json_decref(doc);
    /* Malformed sentences fall back to splitting: then the mention is a
     * sentence away. */
    doc = json_pack("{s:s, s:[[i,i]], s:{s:[{s:s, s:s, s:i, s:i}]}}", "text", text, "sentences", 5,
                    999, "entities", "mentions", "id", "KP", "type", "country", "start", 13, "end",
                    24);
    CHECK_INT(ev_process(rs, w, doc, NULL, &err), ==, VIGIL_OK);
    CHECK_INT(nevents(doc), ==, 0);
    json_decref(doc);
    /* Mentions with bad offsets are ignored, not trusted. */
    doc = json_pack("{s:s, s:{s:[{s:s, s:i, s:i}, {s:i}]}}", "text", "Troops of KP.", "entities",
                    "mentions", "id", "KP", "start", 10, "end", 400, "start", 1);
    CHECK_INT(ev_process(rs, w, doc, NULL, &err), ==, VIGIL_OK);
    CHECK_INT(nevents(doc), ==, 0);
    json_decref(doc);
    /* No text at all. */
    doc = json_object();
    CHECK_INT(ev_process(rs, w, doc, NULL, &err), ==, VIGIL_OK);
    CHECK_INT(nevents(doc), ==, 0);
    json_decref(doc);
    ev_worker_free(w);
    rules_free(rs);
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
    RUN(test_terms_and_inflections);
    RUN(test_matches_at_the_end);
    RUN(test_languages);
    RUN(test_weights_and_threshold);
    RUN(test_long_term_lists);
    RUN(test_groups);
    RUN(test_entity_filters);
    RUN(test_roles);
    RUN(test_relations_and_speaker_role);
    RUN(test_proximity);
    RUN(test_blockers);
    RUN(test_blocker_scope);
    RUN(test_once_per_document);
    RUN(test_output_shape_and_dedupe);
    RUN(test_max_events_and_append);
    RUN(test_explain_on_request);
    RUN(test_given_sentences_and_mentions);
    mf_free(mf);
    return test_summary();
}
