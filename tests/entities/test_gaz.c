#include <string.h>

#include "buf.h"
#include "fixture.h"
#include "gaz.h"
#include "test.h"

struct loaded {
    struct gaz g;
    struct diags err, warn;
    int rc;
};

static void load(struct loaded *l, const char *const *files, size_t n)
{
    memset(l, 0, sizeof *l);
    l->rc = gaz_load(&l->g, files, n, &l->err, &l->warn);
}

static void unload(struct loaded *l)
{
    gaz_free(&l->g);
    diags_free(&l->err);
    diags_free(&l->warn);
}

static const char *msg(const struct diags *d, size_t i)
{
    static char line[2048];
    if (i >= d->n)
        return "(none)";
    diags_format(d, i, line, sizeof line);
    return line;
}

static void test_fixtures_load(void)
{
    const char *files[] = {"wire.json", "world.json"};
    struct loaded l;
    load(&l, files, 2);
    CHECK_INT(l.rc, ==, 0);
    CHECK_INT(diags_count(&l.err), ==, 0);
    CHECK_INT(diags_count(&l.warn), ==, 0);
    for (size_t i = 0; i < l.warn.n; i++)
        fprintf(stderr, "    %s\n", msg(&l.warn, i));
    long kp = gaz_find(&l.g, "KP");
    REQUIRE(kp >= 0);
    const struct gaz_entry *e = &l.g.entries[kp];
    CHECK_STR(e->name, "North Korea");
    CHECK_INT(e->type, ==, GAZ_COUNTRY);
    CHECK_STR(e->affiliation, "KP"); /* a country is affiliated with itself */
    long ger = gaz_find(&l.g, "person:valery-gerasimov");
    REQUIRE(ger >= 0);
    CHECK_STR(l.g.entries[ger].affiliation, "RU");
    REQUIRE(l.g.entries[ger].nroles == 1);
    int32_t day;
    CHECK_INT(gaz_parse_day("2012-11-09", &day), ==, 0);
    CHECK_INT(l.g.entries[ger].roles[0].from, ==, day);
    CHECK_INT(l.g.entries[ger].roles[0].to, ==, GAZ_DAY_MAX);
    CHECK_STR(l.g.entries[ger].roles[0].of, "RU");
    CHECK_INT(gaz_find(&l.g, "org:nato"), >=, 0);
    CHECK_INT(l.g.entries[gaz_find(&l.g, "org:nato")].affiliation == NULL, ==, 1);

    /* aliases: the case rule and explicit cases, demonyms, languages */
    int seen_dprk = 0, seen_dotted = 0, seen_nordkorea = 0, seen_demonym = 0, seen_ctx = 0;
    for (size_t i = 0; i < l.g.naliases; i++) {
        const struct gaz_alias *a = &l.g.aliases[i];
        if (strcmp(a->text, "DPRK") == 0) {
            seen_dprk = 1;
            CHECK_INT(a->case_sensitive, ==, 1);
            CHECK_INT(a->entry, ==, kp);
        }
        if (strcmp(a->text, "D.P.R.K.") == 0)
            seen_dotted = a->case_sensitive;
        if (strcmp(a->text, "Nordkorea") == 0) {
            seen_nordkorea = 1;
            CHECK_STR(a->lang, "de");
            CHECK_INT(a->case_sensitive, ==, 0);
        }
        if (strcmp(a->text, "North Korean") == 0)
            seen_demonym = a->demonym;
        if (strcmp(a->text, "Georgia") == 0) {
            REQUIRE(a->context);
            seen_ctx = 1;
            CHECK_INT(a->context->window, ==, GAZ_WINDOW_DOCUMENT);
            CHECK_INT(a->context->npositive, ==, 5);
            CHECK_INT(a->context->nnegative, ==, 6);
            CHECK_STR(a->context->negative[5], "Gov. Brian Kemp");
            CHECK_INT(a->context->default_reject, ==, 0);
        }
    }
    CHECK(seen_dprk && seen_dotted && seen_nordkorea && seen_demonym && seen_ctx);
    unload(&l);
}

static void test_case_rule(void)
{
    CHECK_INT(gaz_auto_case_sensitive("US"), ==, 1);
    CHECK_INT(gaz_auto_case_sensitive("U.S."), ==, 1);
    CHECK_INT(gaz_auto_case_sensitive("DPRK"), ==, 1);
    CHECK_INT(gaz_auto_case_sensitive("UNICEF"), ==, 1);  /* 6 letters */
    CHECK_INT(gaz_auto_case_sensitive("UNESCOS"), ==, 0); /* 7 letters */
    CHECK_INT(gaz_auto_case_sensitive("G7"), ==, 1);
    CHECK_INT(gaz_auto_case_sensitive("КНДР"), ==, 1); /* capitals beyond ASCII */
    CHECK_INT(gaz_auto_case_sensitive("Korea"), ==, 0);
    CHECK_INT(gaz_auto_case_sensitive("DR Congo"), ==, 0);
    CHECK_INT(gaz_auto_case_sensitive("123"), ==, 0);
}

static void test_dates(void)
{
    int32_t d;
    CHECK_INT(gaz_parse_day("1970-01-01", &d), ==, 0);
    CHECK_INT(d, ==, 0);
    CHECK_INT(gaz_parse_day("2024-02-29", &d), ==, 0);
    CHECK_INT(gaz_parse_day("2023-02-29", &d), ==, -1);
    CHECK_INT(gaz_parse_day("2024-13-01", &d), ==, -1);
    CHECK_INT(gaz_parse_day("2024-1-01", &d), ==, -1);
    CHECK_INT(gaz_parse_day("2024-01-01T00:00:00Z", &d), ==, -1);
    struct gaz_role r = {NULL, NULL, 100, 200};
    CHECK(gaz_role_active(&r, 100) && gaz_role_active(&r, 200));
    CHECK(!gaz_role_active(&r, 99) && !gaz_role_active(&r, 201));
}

static void test_bad_json(void)
{
    const char *files[] = {"broken/bad_json.json"};
    struct loaded l;
    load(&l, files, 1);
    CHECK_INT(l.rc, ==, -1);
    CHECK_INT(diags_count(&l.err), ==, 1);
    CHECK_STR(msg(&l.err, 0), "broken/bad_json.json:4:86: invalid JSON: unexpected token near ']'");
    CHECK_INT(l.g.nentries, ==, 0);
    unload(&l);
}

static void test_duplicate_ids(void)
{
    const char *files[] = {"broken/dup_a.json", "broken/dup_b.json"};
    struct loaded l;
    load(&l, files, 2);
    CHECK_INT(l.rc, ==, -1);
    CHECK_INT(diags_count(&l.err), ==, 2);
    CHECK_STR(msg(&l.err, 0), "broken/dup_a.json:5:12: /entries/2/id: duplicate id \"UA\": first "
                              "defined at broken/dup_a.json:4:12 (/entries/1/id)");
    CHECK_STR(msg(&l.err, 1), "broken/dup_b.json:3:12: /entries/0/id: duplicate id \"KP\": first "
                              "defined at broken/dup_a.json:3:12 (/entries/0/id)");
    unload(&l);
    /* each file alone: only the duplicate inside dup_a */
    load(&l, files + 1, 1);
    CHECK_INT(l.rc, ==, 0);
    unload(&l);
}

static void test_bad_aliases(void)
{
    const char *files[] = {"broken/bad_alias.json"};
    struct loaded l;
    load(&l, files, 1);
    CHECK_INT(l.rc, ==, -1);
    CHECK_INT(diags_count(&l.err), ==, 4);
    CHECK_STR(msg(&l.err, 0), "broken/bad_alias.json:4:33: /entries/0/aliases/1: alias is empty");
    CHECK_STR(msg(&l.err, 1), "broken/bad_alias.json:4:37: /entries/0/aliases/2: alias \" -- \" "
                              "has no letter or digit");
    CHECK_STR(msg(&l.err, 2), "broken/bad_alias.json:4:54: /entries/0/aliases/3/text: alias "
                              "\"...\" has no letter or digit");
    CHECK_STR(msg(&l.err, 3), "broken/bad_alias.json:5:35: /entries/0/demonyms/1: demonym \"’\" "
                              "has no letter or digit");
    unload(&l);
}

static void test_unknown_type(void)
{
    const char *files[] = {"broken/unknown_type.json"};
    struct loaded l;
    load(&l, files, 1);
    CHECK_INT(l.rc, ==, -1);
    CHECK_INT(diags_count(&l.err), ==, 2);
    CHECK_STR(msg(&l.err, 0),
              "broken/unknown_type.json:3:26: /entries/0/type: unknown type \"nation\": expected "
              "one of country, territory, person, organisation, place, military, armed_group");
    CHECK_STR(msg(&l.err, 1),
              "broken/unknown_type.json:4:30: /entries/1/type: unknown type \"organization\": "
              "expected one of country, territory, person, organisation, place, military, "
              "armed_group");
    unload(&l);
}

static void test_bad_fields(void)
{
    const char *files[] = {"broken/bad_fields.json"};
    struct loaded l;
    load(&l, files, 1);
    CHECK_INT(l.rc, ==, -1);
    static const char *const want[] = {
        "broken/bad_fields.json:3:3: /entires: unknown key \"entires\" (did you mean "
        "\"entries\"?); allowed keys: gazetteer, description, entries, note",
        "broken/bad_fields.json:5:60: /entries/0/alias: unknown key \"alias\" (did you mean "
        "\"aliases\"?); allowed keys: id, type, name, aliases, demonyms, affiliation, roles, note",
        "broken/bad_fields.json:6:17: /entries/0/aliases: expected an array, found a string",
        "broken/bad_fields.json:7:12: /entries/1/id: expected a string, found an integer",
        "broken/bad_fields.json:8:12: /entries/2/id: id \"person:Valery Gerasimov\" must be "
        "\"<prefix>:<slug>\" with a lowercase ASCII slug, such as \"person:valery-gerasimov\"",
        "broken/bad_fields.json:10:12: /entries/3/id: id \"Korea\" of a country must be an ISO "
        "3166-1 alpha-2 code such as \"KP\"",
        "broken/bad_fields.json:12:45: /entries/4/aliases/0/case: unknown case \"Sensitive\": "
        "expected \"sensitive\" or \"insensitive\"",
        "broken/bad_fields.json:12:66: /entries/4/aliases/0/lang: expected an ISO 639-1 language "
        "code such as \"de\", found \"Russian\"",
        "broken/bad_fields.json:13:41: /entries/4/aliases/0/context/window: unknown window "
        "\"paragraph\": expected \"sentence\" or \"document\"",
        "broken/bad_fields.json:13:65: /entries/4/aliases/0/context/default: unknown default "
        "\"maybe\": expected \"accept\" or \"reject\"",
        "broken/bad_fields.json:13:87: /entries/4/aliases/0/context/positive/0: expected a "
        "string, found an integer",
        "broken/bad_fields.json:14:61: /entries/4/aliases/0/context/reject_if_next_capitalized: "
        "expected a boolean, found a string",
        "broken/bad_fields.json:17:23: /entries/4/roles/0/to: expected a date YYYY-MM-DD, found "
        "\"2024-02-30\"",
        "broken/bad_fields.json:19:23: /entries/4/roles/1/to: role ends before it starts "
        "(\"from\" is 2024-05-12)",
        "broken/bad_fields.json:20:16: /entries/4/roles/2: missing required key \"title\"",
        "broken/bad_fields.json:15:21: /entries/4/affiliation: affiliation \"russia\" is not a "
        "country id (expected an ISO 3166-1 alpha-2 code such as \"RU\")",
        "broken/bad_fields.json:22:21: /entries/5/affiliation: affiliation \"place:base\" is a "
        "place, not a country or territory",
    };
    size_t n = sizeof want / sizeof *want;
    CHECK_INT(diags_count(&l.err), ==, n);
    for (size_t i = 0; i < n; i++)
        CHECK_STR(msg(&l.err, i), want[i]);
    unload(&l);
}

static void test_warnings(void)
{
    const char *files[] = {"broken/warnings.json"};
    struct loaded l;
    load(&l, files, 1);
    CHECK_INT(l.rc, ==, 0); /* warnings do not stop loading */
    static const char *const want[] = {
        "broken/warnings.json:3:45: /entries/0/name: name \"Republic of the Congo\" is not among "
        "the aliases; it is not matched",
        "broken/warnings.json:4:69: /entries/1/aliases/0: alias \"Congo\" is also an alias of "
        "\"CG\" at broken/warnings.json:3:82 (/entries/0/aliases/0) and neither has a context "
        "rule; the first loaded wins",
        "broken/warnings.json:4:90: /entries/1/aliases/2: alias \" DRC \" has leading or "
        "trailing spaces; they are ignored",
        "broken/warnings.json:5:90: /entries/2/aliases/1: duplicate alias \"S. One\", also at "
        "broken/warnings.json:5:80 (/entries/2/aliases/0); ignored",
        "broken/warnings.json:5:56: /entries/2/name: name \"Some One\" is not among the aliases; "
        "it is not matched",
        "broken/warnings.json:7:12: /entries/3/id: id \"org:thing\" of a place should start with "
        "\"place:\"",
        "broken/warnings.json:6:21: /entries/2/affiliation: affiliation \"XX\" is not a country "
        "in the loaded gazetteers",
        "broken/warnings.json:6:62: /entries/2/roles/0/of: \"org:nowhere\" is not an id in the "
        "loaded gazetteers",
    };
    size_t n = sizeof want / sizeof *want;
    CHECK_INT(diags_count(&l.warn), ==, n);
    for (size_t i = 0; i < n; i++)
        CHECK_STR(msg(&l.warn, i), want[i]);
    /* the trimmed alias is stored trimmed, the duplicate once */
    int drc = 0, sone = 0;
    for (size_t i = 0; i < l.g.naliases; i++) {
        drc += strcmp(l.g.aliases[i].text, "DRC") == 0;
        sone += strcmp(l.g.aliases[i].text, "S. One") == 0;
    }
    CHECK_INT(drc, ==, 1);
    CHECK_INT(sone, ==, 1);
    unload(&l);
}

static void test_missing_file_and_buffers(void)
{
    const char *files[] = {"broken/nope.json"};
    struct loaded l;
    load(&l, files, 1);
    CHECK_INT(l.rc, ==, -1);
    CHECK_STR(msg(&l.err, 0), "broken/nope.json: cannot open: No such file or directory");
    unload(&l);

    /* in-memory texts; NFC: a decomposed "é" is stored composed */
    const char *names[] = {"mem.json"};
    const char *texts[] = {"{\"entries\": [{\"id\": \"place:quebec\", \"type\": \"place\", "
                           "\"name\": \"Quebec\", \"aliases\": [\"Quebec\", \"Que\\u0301bec\"]}]}"};
    size_t lens[] = {strlen(texts[0])};
    memset(&l, 0, sizeof l);
    l.rc = gaz_load_buffers(&l.g, names, texts, lens, 1, &l.err, &l.warn);
    CHECK_INT(l.rc, ==, 0);
    REQUIRE(l.g.naliases == 2);
    CHECK_STR(l.g.aliases[1].text, "Qu\xc3\xa9"
                                   "bec");
    unload(&l);

    /* an empty list of files is an error, not an empty gazetteer */
    memset(&l, 0, sizeof l);
    l.rc = gaz_load(&l.g, NULL, 0, &l.err, NULL);
    CHECK_INT(l.rc, ==, -1);
    CHECK_STR(msg(&l.err, 0), "no gazetteer files given");
    unload(&l);
}

/* Several thousand entries: the loader scales and ids stay unique. */
static void test_many_entries(void)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "{\"entries\": [");
    for (int i = 0; i < 5000; i++)
        buf_printf(&b,
                   "%s{\"id\": \"person:p%d\", \"type\": \"person\", \"name\": \"Name%d "
                   "Surname%d\", \"aliases\": [\"Name%d Surname%d\", \"Surname%d\"]}",
                   i ? "," : "", i, i, i, i, i, i);
    buf_append_str(&b, "]}");
    const char *names[] = {"many.json"};
    const char *texts[] = {b.data};
    size_t lens[] = {b.len};
    struct loaded l;
    memset(&l, 0, sizeof l);
    l.rc = gaz_load_buffers(&l.g, names, texts, lens, 1, &l.err, &l.warn);
    CHECK_INT(l.rc, ==, 0);
    CHECK_INT(l.g.nentries, ==, 5000);
    CHECK_INT(l.g.naliases, ==, 10000);
    CHECK_INT(diags_count(&l.warn), ==, 0);
    unload(&l);
    buf_free(&b);
}

int main(void)
{
    if (fixture_chdir() != 0)
        return 1;
    RUN(test_fixtures_load);
    RUN(test_case_rule);
    RUN(test_dates);
    RUN(test_bad_json);
    RUN(test_duplicate_ids);
    RUN(test_bad_aliases);
    RUN(test_unknown_type);
    RUN(test_bad_fields);
    RUN(test_warnings);
    RUN(test_missing_file_and_buffers);
    RUN(test_many_entries);
    return test_summary();
}
