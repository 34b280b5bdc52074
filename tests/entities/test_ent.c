#include <string.h>

#include "buf.h"
#include "ent.h"
#include "fixture.h"
#include "ent_internal.h"
#include "fold.h"
#include "test.h"

/* Test binary state: one matcher over both fixtures, one worker. */
static struct ent_matcher *matcher;
static struct ent_worker *worker;

static struct ent_matcher *make_matcher(const char *const *files, size_t n, int guess)
{
    struct gaz g = {0};
    struct diags err = {0};
    if (gaz_load(&g, files, n, &err, NULL) != 0) {
        diags_print(&err, stderr);
        diags_free(&err);
        return NULL;
    }
    diags_free(&err);
    struct ent_options opt = {NULL, guess, 1, 2000};
    struct ent_matcher *m = NULL;
    struct vigil_error e;
    if (ent_matcher_create(&m, &g, &opt, NULL, &e) != 0)
        fprintf(stderr, "matcher: %s\n", e.msg);
    return m;
}

/* ---- documents ---- */

/* Build a document from paragraphs of sentences: sentences are joined by
 * one space, paragraphs by "\n\n"; the spans go into "sentences". */
static json_t *make_doc(const char *title, const char *const *const *paras, const char *published)
{
    struct buf t;
    buf_init(&t, 0);
    json_t *sent = json_array();
    for (size_t p = 0; paras[p]; p++) {
        if (p)
            buf_append_str(&t, "\n\n");
        for (size_t s = 0; paras[p][s]; s++) {
            if (s)
                buf_append_str(&t, " ");
            size_t start = t.len;
            buf_append_str(&t, paras[p][s]);
            json_array_append_new(sent, json_pack("[I,I]", (json_int_t)start, (json_int_t)t.len));
        }
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "id", "test", "title", title, "text",
                            t.data ? t.data : "", "sentences", sent);
    if (published)
        json_object_set_new(doc, "published", json_string(published));
    buf_free(&t);
    return doc;
}

static json_t *tag_doc(json_t *doc)
{
    struct vigil_error err;
    int rc = ent_process(matcher, worker, doc, 1733000000000LL, &err);
    if (rc != 0)
        fprintf(stderr, "ent_process: %s\n", err.msg);
    return json_object_get(doc, "entities");
}

/* Tag a bare text (no title, no sentences). */
static json_t *tag_text(const char *text)
{
    static json_t *doc; /* kept until the next call; NULL frees it */
    json_decref(doc);
    doc = NULL;
    if (!text)
        return NULL;
    doc = json_pack("{s:s, s:s}", "id", "t", "text", text);
    return tag_doc(doc);
}

/* Byte offset of the k-th (0-based) occurrence of needle in hay. */
static long off(const char *hay, const char *needle, int k)
{
    const char *p = hay;
    for (;;) {
        p = strstr(p, needle);
        if (!p)
            return -1;
        if (k-- == 0)
            return p - hay;
        p++;
    }
}

/* The mention with this id starting at start (in the given field), or NULL. */
static json_t *mention_at(json_t *ents, const char *id, long start, int title)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(ents, "mentions"), i, m)
    {
        int is_title = json_object_get(m, "field") != NULL;
        if (strcmp(json_string_value(json_object_get(m, "id")), id) == 0 &&
            json_integer_value(json_object_get(m, "start")) == start && is_title == title)
            return m;
    }
    return NULL;
}

static size_t count_id(json_t *ents, const char *id)
{
    size_t i, n = 0;
    json_t *m;
    json_array_foreach(json_object_get(ents, "mentions"), i, m) n +=
        strcmp(json_string_value(json_object_get(m, "id")), id) == 0;
    return n;
}

static size_t nmentions(json_t *ents)
{
    return json_array_size(json_object_get(ents, "mentions"));
}

/* "ID@start" for every mention: a compact view for failing checks. */
static const char *listing(json_t *ents)
{
    static char out[4096];
    size_t i, o = 0;
    json_t *m;
    out[0] = '\0';
    json_array_foreach(json_object_get(ents, "mentions"), i, m)
    {
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s=%s", i ? " " : "",
                              json_string_value(json_object_get(m, "id")),
                              json_string_value(json_object_get(m, "surface")));
        if (o >= sizeof out)
            break;
    }
    return out;
}

static void check_mention(json_t *ents, const char *text, const char *id, const char *surface,
                          int k, int sentence, const char *affiliation, int demonym)
{
    long s = off(text, surface, k);
    json_t *m = mention_at(ents, id, s, 0);
    if (!m) {
        char what[256];
        snprintf(what, sizeof what, "%s \"%s\" #%d at %ld", id, surface, k, s);
        CHECK_STR(what, listing(ents));
        return;
    }
    CHECK_STR(json_string_value(json_object_get(m, "surface")), surface);
    CHECK_INT(json_integer_value(json_object_get(m, "end")), ==, s + (long)strlen(surface));
    CHECK_INT(json_integer_value(json_object_get(m, "sentence")), ==, sentence);
    if (affiliation)
        CHECK_STR(json_string_value(json_object_get(m, "affiliation")), affiliation);
    else
        CHECK(json_object_get(m, "affiliation") == NULL);
    CHECK_INT(json_is_true(json_object_get(m, "demonym")), ==, demonym);
}

/* ---- the wire story ---- */

static const char *const wire_p1[] = {
    "Russia has confirmed for the first time that troops from the Democratic People's Republic "
    "of Korea are fighting alongside its forces in the Kursk region.",
    "Chief of the General Staff Valery Gerasimov thanked the North Korean soldiers for helping "
    "to push Ukrainian forces out of the region, the defence ministry said on Saturday.",
    NULL};
static const char *const wire_p2[] = {
    "President Vladimir Putin praised the “heroism” of the troops and said Pyongyang had acted "
    "under a mutual defence treaty signed in June.",
    "Ukraine’s President Volodymyr Zelensky said the admission came months after Kyiv first "
    "reported North Koreans in Kursk.",
    NULL};
static const char *const wire_p3[] = {
    "Col. Nadiya Petrenko, a spokeswoman for Ukraine's army, said about 11,000 North Korean "
    "soldiers had been sent to Russia's border region.",
    "Oleksandr Syrskyi, the commander-in-chief of Ukraine's armed forces, said Pyongyang's troops "
    "had suffered heavy losses.",
    "Syrskyi did not give figures.", NULL};
static const char *const *const wire[] = {wire_p1, wire_p2, wire_p3, NULL};
static const char *const wire_title = "Russia confirms North Korean troops are fighting in Kursk";

static void test_wire_story(void)
{
    json_t *doc = make_doc(wire_title, wire, "2024-12-01T10:00:00Z");
    json_t *ents = tag_doc(doc);
    REQUIRE(ents);
    const char *text = json_string_value(json_object_get(doc, "text"));

    /* title mentions carry field "title" and offsets into the title */
    json_t *m = mention_at(ents, "RU", 0, 1);
    REQUIRE(m);
    CHECK_STR(json_string_value(json_object_get(m, "field")), "title");
    CHECK_INT(json_integer_value(json_object_get(m, "sentence")), ==, -1);
    m = mention_at(ents, "KP", 16, 1);
    REQUIRE(m);
    CHECK_STR(json_string_value(json_object_get(m, "surface")), "North Korean");
    CHECK(json_is_true(json_object_get(m, "demonym")));
    CHECK(mention_at(ents, "place:kursk", 52, 1) != NULL);

    /* sentence 0 */
    check_mention(ents, text, "RU", "Russia", 0, 0, "RU", 0);
    CHECK_INT(off(text, "Russia", 0), ==, 0);
    /* the full official name, not "Republic of Korea" (South Korea) inside it */
    check_mention(ents, text, "KP", "Democratic People's Republic of Korea", 0, 0, "KP", 0);
    CHECK_INT(count_id(ents, "KR"), ==, 0);
    check_mention(ents, text, "place:kursk", "Kursk", 0, 0, "RU", 0);
    json_t *kursk = mention_at(ents, "place:kursk", off(text, "Kursk", 0), 0);
    REQUIRE(kursk);
    CHECK_STR(json_string_value(json_object_get(kursk, "type")), "place");
    CHECK_STR(json_string_value(json_object_get(kursk, "name")), "Kursk");
    /* sentence 1: the chief of the general staff, demonyms */
    check_mention(ents, text, "person:valery-gerasimov", "Valery Gerasimov", 0, 1, "RU", 0);
    check_mention(ents, text, "KP", "North Korean", 0, 1, "KP", 1);
    check_mention(ents, text, "UA", "Ukrainian", 0, 1, "UA", 1);
    /* sentence 2: the Russian president, the capital as metonym */
    check_mention(ents, text, "person:vladimir-putin", "Vladimir Putin", 0, 2, "RU", 0);
    check_mention(ents, text, "place:pyongyang", "Pyongyang", 0, 2, "KP", 0);
    /* sentence 3: possessive with a curly apostrophe, plural demonym */
    check_mention(ents, text, "UA", "Ukraine", 0, 3, "UA", 0);
    check_mention(ents, text, "person:volodymyr-zelensky", "Volodymyr Zelensky", 0, 3, "UA", 0);
    check_mention(ents, text, "KP", "North Koreans", 0, 3, "KP", 1);
    check_mention(ents, text, "place:kursk", "Kursk", 1, 3, "RU", 0);
    /* sentence 4: straight apostrophes */
    check_mention(ents, text, "UA", "Ukraine", 1, 4, "UA", 0);
    check_mention(ents, text, "KP", "North Korean", 2, 4, "KP", 1); /* #1 is in "Koreans" */
    check_mention(ents, text, "RU", "Russia", 1, 4, "RU", 0);
    /* sentence 5 */
    check_mention(ents, text, "UA", "Ukraine", 2, 5, "UA", 0);
    check_mention(ents, text, "place:pyongyang", "Pyongyang", 1, 5, "KP", 0);

    /* persons the gazetteer does not know, with their titles */
    m = mention_at(ents, "guess:person:nadiya-petrenko", off(text, "Nadiya Petrenko", 0), 0);
    REQUIRE(m);
    CHECK(json_is_true(json_object_get(m, "guessed")));
    CHECK_STR(json_string_value(json_object_get(m, "title")), "Colonel");
    CHECK_STR(json_string_value(json_object_get(m, "type")), "person");
    CHECK_INT(json_integer_value(json_object_get(m, "sentence")), ==, 4);
    m = mention_at(ents, "guess:person:oleksandr-syrskyi", off(text, "Oleksandr Syrskyi", 0), 0);
    REQUIRE(m);
    CHECK_STR(json_string_value(json_object_get(m, "title")), "Commander-in-Chief");
    CHECK_STR(json_string_value(json_object_get(m, "name")), "Oleksandr Syrskyi");
    /* ... and the surname alone later is the same person */
    m = mention_at(ents, "guess:person:oleksandr-syrskyi", off(text, "Syrskyi did", 0), 0);
    REQUIRE(m);
    CHECK_STR(json_string_value(json_object_get(m, "surface")), "Syrskyi");
    CHECK_INT(json_integer_value(json_object_get(m, "sentence")), ==, 6);
    /* known people are never guessed; titles are not entities */
    CHECK_INT(count_id(ents, "guess:person:valery-gerasimov"), ==, 0);
    CHECK_INT(count_id(ents, "guess:person:vladimir-putin"), ==, 0);

    /* everything found, nothing else: 3 in the title, 20 in the text */
    CHECK_INT(nmentions(ents), ==, 23);
    if (nmentions(ents) != 23)
        fprintf(stderr, "    %s\n", listing(ents));

    /* summary: one entry per id, ordered by salience; the formula is
     * 0.6 * weight / top weight + 0.25 (in title) + 0.15 (in lead), with
     * weights 3 (title), 2 (lead: first paragraph, at most two sentences), 1. */
    json_t *sum = json_object_get(ents, "summary");
    REQUIRE(json_array_size(sum) == 10);
    json_t *top = json_array_get(sum, 0);
    CHECK_STR(json_string_value(json_object_get(top, "id")), "KP");
    CHECK_INT(json_integer_value(json_object_get(top, "count")), ==, 5);
    CHECK(json_real_value(json_object_get(top, "salience")) == 1.0);
    json_t *ru = json_array_get(sum, 1);
    CHECK_STR(json_string_value(json_object_get(ru, "id")), "RU"); /* 3+2+1 = 6 */
    CHECK(json_real_value(json_object_get(ru, "salience")) == 0.8);
    json_t *ku = json_array_get(sum, 2);
    CHECK_STR(json_string_value(json_object_get(ku, "id")), "place:kursk"); /* 3+2+1 too */
    CHECK(json_real_value(json_object_get(ku, "salience")) == 0.8);
    json_t *ua = json_array_get(sum, 3);
    CHECK_STR(json_string_value(json_object_get(ua, "id")), "UA"); /* 2+1+1+1, lead */
    CHECK(json_real_value(json_object_get(ua, "salience")) == 0.483);
    CHECK_STR(json_string_value(json_object_get(ua, "affiliation")), "UA");
    /* roles valid on the publication date */
    size_t i;
    json_t *e;
    int seen = 0;
    json_array_foreach(sum, i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        json_t *roles = json_object_get(e, "roles");
        if (strcmp(id, "person:vladimir-putin") == 0) {
            seen++;
            CHECK_INT(json_array_size(roles), ==, 1);
            CHECK_STR(json_string_value(json_object_get(json_array_get(roles, 0), "title")),
                      "President of Russia");
            CHECK_STR(json_string_value(json_object_get(json_array_get(roles, 0), "of")), "RU");
        } else if (strcmp(id, "person:valery-gerasimov") == 0) {
            seen++;
            CHECK_STR(json_string_value(json_object_get(json_array_get(roles, 0), "title")),
                      "Chief of the General Staff of the Russian Armed Forces");
            CHECK_STR(json_string_value(json_object_get(e, "type")), "person");
        } else if (strcmp(id, "guess:person:oleksandr-syrskyi") == 0) {
            seen++;
            CHECK_INT(json_integer_value(json_object_get(e, "count")), ==, 2);
            CHECK(json_is_true(json_object_get(e, "guessed")));
            CHECK_STR(json_string_value(json_object_get(e, "title")), "Commander-in-Chief");
        } else if (strcmp(id, "person:volodymyr-zelensky") == 0) {
            seen++;
        }
    }
    CHECK_INT(seen, ==, 4);
    json_decref(doc);

    /* the same story in 2010: Putin was prime minister, Zelensky nothing */
    doc = make_doc(wire_title, wire, "2010-03-01T00:00:00Z");
    ents = tag_doc(doc);
    json_array_foreach(json_object_get(ents, "summary"), i, e)
    {
        const char *id = json_string_value(json_object_get(e, "id"));
        json_t *roles = json_object_get(e, "roles");
        if (strcmp(id, "person:vladimir-putin") == 0)
            CHECK_STR(json_string_value(json_object_get(json_array_get(roles, 0), "title")),
                      "Prime Minister of Russia");
        if (strcmp(id, "person:volodymyr-zelensky") == 0)
            CHECK(roles == NULL);
    }
    json_decref(doc);
}

/* ---- boundaries, case, overlap ---- */

static void test_boundaries(void)
{
    json_t *e = tag_text("The spokeswoman said Nigeria and Chadha, not Oman, Niger or Chad.");
    CHECK_INT(count_id(e, "OM"), ==, 1);
    CHECK_INT(count_id(e, "NG"), ==, 1);
    CHECK_INT(count_id(e, "NE"), ==, 1);
    CHECK_INT(count_id(e, "TD"), ==, 1);
    CHECK_INT(nmentions(e), ==, 4);
    e = tag_text("Germanyx, xGermany, Germany2 and 2Germany are not countries.");
    CHECK_INT(nmentions(e), ==, 0);
    /* "us" is never the United States; "US" and "U.S." are */
    e = tag_text("Tell us what the US and the U.S. military and the USA want. Let us go.");
    CHECK_INT(count_id(e, "US"), ==, 3);
    CHECK_STR(listing(e), "US=US US=U.S. US=USA");
    e = tag_text("US-led talks; the \"US\" (USA).");
    CHECK_INT(count_id(e, "US"), ==, 3);
    /* case-blind aliases in any capitals */
    e = tag_text("NORTH KOREA and north korea and North korea");
    CHECK_INT(count_id(e, "KP"), ==, 3);
    /* an explicitly case-sensitive alias: "Gerasimov" but not "gerasimov" */
    e = tag_text("Gerasimov spoke; gerasimov did not.");
    CHECK_INT(count_id(e, "person:valery-gerasimov"), ==, 1);
    /* plural demonyms, possessives with both apostrophes */
    e = tag_text("Georgians, Americans and Germans; Russia's and Russia’s and Russias.");
    CHECK_STR(listing(e), "GE=Georgians US=Americans DE=Germans RU=Russia RU=Russia");
    /* a plural "s" belongs to demonyms only: "Ukraines" is no country */
    e = tag_text("Ukraines and Ukrainians");
    CHECK_STR(listing(e), "UA=Ukrainians");
}

static void test_overlap(void)
{
    json_t *e = tag_text("Guinea-Bissau, Equatorial Guinea, Papua New Guinea and Guinea.");
    CHECK_STR(listing(e), "GW=Guinea-Bissau GQ=Equatorial Guinea PG=Papua New Guinea GN=Guinea");
    e = tag_text("North Korea and South Korea, the Republic of Korea.");
    CHECK_STR(listing(e), "KP=North Korea KR=South Korea KR=Republic of Korea");
    e = tag_text("the Democratic Republic of the Congo and the Republic of the Congo");
    CHECK_STR(listing(e), "CD=Democratic Republic of the Congo CG=Republic of the Congo");
    /* a demonym inside a longer name loses to the name */
    e = tag_text("The Korean People's Army and the North Korean army.");
    CHECK_STR(listing(e), "mil:kpa=Korean People's Army KP=North Korean");
}

static void test_unicode(void)
{
    json_t *e = tag_text("Зеленский и ЗЕЛЕНСКИЙ; Владимир Путин.");
    CHECK_STR(listing(e), "person:volodymyr-zelensky=Зеленский person:volodymyr-zelensky=ЗЕЛЕНСКИЙ "
                          "person:vladimir-putin=Владимир Путин");
    json_t *m = mention_at(e, "person:volodymyr-zelensky", (long)strlen("Зеленский и "), 0);
    REQUIRE(m);
    CHECK_INT(json_integer_value(json_object_get(m, "end")), ==, strlen("Зеленский и ЗЕЛЕНСКИЙ"));
    e = tag_text("Türkiye, TÜRKİYE, türkiye and Turkiye.");
    CHECK_INT(count_id(e, "TR"), ==, 4);
    e = tag_text("In KÖLN, in Köln, in köln and in Cologne.");
    CHECK_INT(count_id(e, "place:cologne"), ==, 4);
    m = mention_at(e, "place:cologne", 3, 0);
    REQUIRE(m);
    CHECK_STR(json_string_value(json_object_get(m, "surface")), "KÖLN");
    CHECK_STR(json_string_value(json_object_get(m, "affiliation")), "DE");
    /* full case folding: "ß" equals "SS"; offsets stay in original bytes */
    const char *t = "An der GROSSE STRASSE und der Großen Straße und der Große Straße.";
    e = tag_text(t);
    CHECK_STR(listing(e), "place:strasse=GROSSE STRASSE place:strasse=Große Straße");
    m = mention_at(e, "place:strasse", off(t, "Große Straße", 0), 0);
    REQUIRE(m);
    CHECK_INT(json_integer_value(json_object_get(m, "end")), ==,
              off(t, "Große Straße", 0) + (long)strlen("Große Straße"));
    /* boundaries on Unicode letters: no match inside a Cyrillic word */
    e = tag_text("Зеленскийович and Kölnisch and Niger’s");
    CHECK_STR(listing(e), "NE=Niger");
    /* a no-break space inside an alias, and curly apostrophes in it */
    e = tag_text("North\xc2\xa0Korea and the Democratic People’s Republic of Korea");
    CHECK_STR(listing(e), "KP=North\xc2\xa0Korea KP=Democratic People’s Republic of Korea");
    /* aliases limited to one language */
    json_t *doc = json_pack("{s:s, s:s}", "text", "Nordkorea testet Raketen", "lang", "de");
    e = tag_doc(doc);
    CHECK_INT(count_id(e, "KP"), ==, 1);
    json_object_set_new(doc, "lang", json_string("en"));
    e = tag_doc(doc);
    CHECK_INT(count_id(e, "KP"), ==, 0);
    json_decref(doc);
}

/* ---- ambiguity rules ---- */

static void test_georgia(void)
{
    json_t *e = tag_text("Protesters filled the streets of Tbilisi. Georgia's government "
                         "resigned.");
    CHECK_INT(count_id(e, "GE"), ==, 1);
    /* a negative word anywhere in the document (window: document) */
    e = tag_text("Georgia certified its results. Gov. Brian Kemp signed the bill in Atlanta.");
    CHECK_INT(count_id(e, "GE"), ==, 0);
    /* a positive word wins over a negative one */
    e = tag_text("Georgia's county officials met Georgian diplomats from Tbilisi.");
    CHECK_INT(count_id(e, "GE"), ==, 2); /* Georgia and the demonym */
    /* neither: the default (accept) */
    e = tag_text("Georgia held elections.");
    CHECK_INT(count_id(e, "GE"), ==, 1);
}

/* An institution after another country's possessive is that country's
 * namesake: no mention claiming the gazetteer's entry. */
static void test_possessive_namesake(void)
{
    json_t *e = tag_text("North Korea's State Security Commission met on Monday.");
    CHECK_INT(count_id(e, "org:state-security-commission"), ==, 0);
    CHECK_INT(count_id(e, "KP"), ==, 1);
    e = tag_text("North Korea\xE2\x80\x99s State Security Commission met on Monday.");
    CHECK_INT(count_id(e, "org:state-security-commission"), ==, 0);
    /* its own country's possessive, or none: kept */
    e = tag_text("Russia's State Security Commission met. The State Security Commission spoke.");
    CHECK_INT(count_id(e, "org:state-security-commission"), ==, 2);
    /* a demonym is not a possessor, and a place keeps its country */
    e = tag_text("Ukraine's Kursk incursion surprised Moscow.");
    CHECK_INT(count_id(e, "place:kursk"), ==, 1);
}

static void test_turkey(void)
{
    json_t *e = tag_text("We ate roast turkey for Thanksgiving.");
    CHECK_INT(count_id(e, "TR"), ==, 0);
    /* sentence window: the bird in one sentence does not reject the country
     * in another */
    e = tag_text("Turkey hosted the talks. Dinner was roast turkey.");
    CHECK_INT(count_id(e, "TR"), ==, 1);
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(e, "mentions"), 0), "start")),
              ==, 0);
    e = tag_text("Turkish troops entered Syria and Turkey closed the border.");
    CHECK_INT(count_id(e, "TR"), ==, 2);
}

static void test_congo(void)
{
    json_t *e = tag_text("Fighting near Goma in eastern Congo forced thousands to flee.");
    CHECK_STR(listing(e), "CD=Congo");
    e = tag_text("Congo held a vote on Sunday.");
    CHECK_STR(listing(e), "CG=Congo");
    e = tag_text("DRC and DR Congo and Congo-Kinshasa and Congo-Brazzaville.");
    CHECK_STR(listing(e), "CD=DRC CD=DR Congo CD=Congo-Kinshasa CG=Congo-Brazzaville");
}

static void test_niger_guinea(void)
{
    json_t *e = tag_text("Nigerian and Nigerien troops met at the Niger border with Nigeria.");
    CHECK_STR(listing(e), "NG=Nigerian NE=Nigerien NE=Niger NG=Nigeria");
    e = tag_text("Guinean exiles in Guinea-Bissau; the Guinea Bissau road.");
    CHECK_STR(listing(e), "GN=Guinean GW=Guinea-Bissau GN=Guinea");
}

static void test_chad_jordan(void)
{
    /* first names */
    json_t *e = tag_text("The quarterback Chad Johnson scored twice.");
    CHECK_INT(count_id(e, "TD"), ==, 0);
    e = tag_text("Chad Johnson scored twice.");
    CHECK_INT(count_id(e, "TD"), ==, 0);
    e = tag_text("Troops withdrew from Chad last year. Chad's army is small.");
    CHECK_INT(count_id(e, "TD"), ==, 2);
    e = tag_text("In Chad, the Chadian army said.");
    CHECK_INT(count_id(e, "TD"), ==, 2);
    /* a person: "Michael Jordan", "Jordan Peterson" */
    e = tag_text("Fans of Michael Jordan and readers of Jordan Peterson.");
    CHECK_INT(count_id(e, "JO"), ==, 0);
    e = tag_text("King Abdullah of Jordan met Jordanian officials. In Jordan, prices rose.");
    CHECK_INT(count_id(e, "JO"), ==, 3);
    /* the first word of a sentence is not a name before "Jordan" */
    e = tag_text("Yesterday Jordan closed its airspace. Officials said Jordan would reopen.");
    CHECK_INT(count_id(e, "JO"), ==, 2); /* "Yesterday" opens the sentence: not a name */
    e = tag_text("Meanwhile, Jordan closed its airspace.");
    CHECK_INT(count_id(e, "JO"), ==, 1);
    /* ... but a capitalised word that is no sentence opener is a first name */
    e = tag_text("Michael Jordan attended the game. Fans cheered. Michael Jordan waved.");
    CHECK_INT(count_id(e, "JO"), ==, 0);
    e = tag_text("The Jordan team lost. In Jordan, prices rose.");
    CHECK_INT(count_id(e, "JO"), ==, 2);
    /* negative words in the sentence */
    e = tag_text("Jordan won six NBA titles.");
    CHECK_INT(count_id(e, "JO"), ==, 0);
}

/* ---- person guesses ---- */

static void test_guesses(void)
{
    const char *t = "Defence Minister Andrei Belousov met Gen. Mark Milley, Lt. Gen. Ivan "
                    "Petrov and spokesman Dmitry Peskov. General Motors and the General Staff "
                    "said nothing. Mr Blair, Prime Minister Tony Blair and Mr. O'Brien met "
                    "Foreign Minister Mohammed bin Salman.";
    json_t *e = tag_text(t);
    static const struct {
        const char *surface, *id, *title;
    } want[] = {
        {"Andrei Belousov", "guess:person:andrei-belousov", "Defence Minister"},
        {"Mark Milley", "guess:person:mark-milley", "General"},
        {"Ivan Petrov", "guess:person:ivan-petrov", "Lieutenant General"},
        {"Dmitry Peskov", "guess:person:dmitry-peskov", "Spokesman"},
        {"Blair", "guess:person:tony-blair", "Prime Minister"},
        {"Tony Blair", "guess:person:tony-blair", "Prime Minister"},
        {"O'Brien", "guess:person:o-brien", "Mr"},
        {"Mohammed bin Salman", "guess:person:mohammed-bin-salman", "Foreign Minister"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        json_t *m = mention_at(e, want[i].id, off(t, want[i].surface, 0), 0);
        if (!m) {
            CHECK_STR(want[i].surface, listing(e));
            continue;
        }
        CHECK_STR(json_string_value(json_object_get(m, "surface")), want[i].surface);
        CHECK_STR(json_string_value(json_object_get(m, "title")), want[i].title);
    }
    CHECK_INT(nmentions(e), ==, 8); /* nothing for "General Motors", "General Staff" */

    /* a known person named in full: "Mr Kennedy" and "Kennedy" are that
     * person; without the full name, "Mr Kennedy" is a guess */
    e = tag_text("Charles Kennedy spoke first. Later Mr Kennedy said no, and Kennedy left.");
    CHECK_STR(listing(e), "person:charles-kennedy=Charles Kennedy person:charles-kennedy=Kennedy "
                          "person:charles-kennedy=Kennedy");
    e = tag_text("Mr Kennedy said no, and Kennedy left.");
    CHECK_STR(listing(e), "guess:person:kennedy=Kennedy guess:person:kennedy=Kennedy");

    /* accented names get ASCII slugs; Cyrillic keeps its letters */
    e = tag_text("General Mariusz Błaszczak and General Сергей Шойгу met.");
    CHECK_INT(count_id(e, "guess:person:mariusz-blaszczak"), ==, 0); /* ł has no base letter */
    CHECK_INT(count_id(e, "guess:person:mariusz-błaszczak"), ==, 1);
    CHECK_INT(count_id(e, "guess:person:сергей-шойгу"), ==, 1);
    e = tag_text("President José Ramos-Horta spoke.");
    CHECK_INT(count_id(e, "guess:person:jose-ramos-horta"), ==, 1);
    /* all capitals, lowercase words and acronyms give nothing */
    e = tag_text("GENERAL PETROV SAYS. The general said. President UNSC.");
    CHECK_INT(nmentions(e), ==, 0);
    /* apposition needs two words: "Moscow, the capital" is no person */
    e = tag_text("Kyiv, the capital, and Ivan Ivanov, the army's chief of staff, spoke. Later "
                 "Mr Ivanov said no.");
    CHECK_STR(listing(e), "guess:person:ivan-ivanov=Ivan Ivanov guess:person:ivan-ivanov=Ivanov");
    /* switched off */
    const char *files[] = {"wire.json", "world.json"};
    struct ent_matcher *m2 = make_matcher(files, 2, 0);
    REQUIRE(m2);
    struct ent_worker *w2;
    struct vigil_error err;
    REQUIRE(ent_worker_create(m2, &w2, &err) == 0);
    struct ent_doc d = {NULL, 0, t, strlen(t), NULL, 0, NULL, 0};
    REQUIRE(ent_tag(m2, w2, &d) == 0);
    size_t n;
    ent_mentions(w2, &n);
    CHECK_INT(n, ==, 0);
    ent_worker_free(w2);
    ent_matcher_free(m2);
}

/* ---- output details ---- */

static void test_max_mentions_and_no_sentences(void)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 30; i++)
        buf_append_str(&b, "Russia and Ukraine. ");
    const char *files[] = {"wire.json"};
    struct gaz g = {0};
    struct diags err = {0};
    REQUIRE(gaz_load(&g, files, 1, &err, NULL) == 0);
    struct ent_options opt = {NULL, 1, 1, 25};
    struct ent_matcher *m = NULL;
    struct vigil_error e;
    REQUIRE(ent_matcher_create(&m, &g, &opt, NULL, &e) == 0);
    struct ent_worker *w;
    REQUIRE(ent_worker_create(m, &w, &e) == 0);
    json_t *doc = json_pack("{s:s}", "text", b.data);
    REQUIRE(ent_process(m, w, doc, 0, &e) == 0);
    json_t *ents = json_object_get(doc, "entities");
    CHECK_INT(nmentions(ents), ==, 25);
    CHECK_INT(
        json_integer_value(json_object_get(json_object_get(doc, "meta"), "entities_truncated")), ==,
        35);
    /* the summary counts every mention */
    json_t *s0 = json_array_get(json_object_get(ents, "summary"), 0);
    CHECK_INT(json_integer_value(json_object_get(s0, "count")), ==, 30);
    /* no sentences: -1 */
    CHECK_INT(json_integer_value(json_object_get(
                  json_array_get(json_object_get(ents, "mentions"), 0), "sentence")),
              ==, -1);
    /* an empty document still gets empty lists */
    json_t *empty = json_object();
    REQUIRE(ent_process(m, w, empty, 0, &e) == 0);
    CHECK_INT(nmentions(json_object_get(empty, "entities")), ==, 0);
    CHECK_INT(json_array_size(json_object_get(json_object_get(empty, "entities"), "summary")), ==,
              0);
    json_decref(empty);
    json_decref(doc);
    ent_worker_free(w);
    ent_matcher_free(m);
    diags_free(&err);
    buf_free(&b);
}

/* Sentences out of order are not trusted (binary search needs order). */
static void test_bad_sentences_and_limits(void)
{
    CHECK(ent_guess_lists_sorted());
    json_t *doc =
        json_pack("{s:s, s:[[I,I],[I,I],[s,I]]}", "text", "Russia. Ukraine.", "sentences",
                  (json_int_t)8, (json_int_t)16, (json_int_t)0, (json_int_t)7, "x", (json_int_t)1);
    json_t *e = tag_doc(doc);
    CHECK_STR(listing(e), "RU=Russia UA=Ukraine");
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(e, "mentions"), 0), "sentence")),
              ==, -1);
    json_decref(doc);
    /* in order, one malformed item: indexes still match the array */
    doc =
        json_pack("{s:s, s:[[I,I],[s,I],[I,I]]}", "text", "Russia. Ukraine.", "sentences",
                  (json_int_t)0, (json_int_t)7, "x", (json_int_t)1, (json_int_t)8, (json_int_t)16);
    e = tag_doc(doc);
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(e, "mentions"), 1), "sentence")),
              ==, 2);
    json_decref(doc);

    /* more raw hits than a document may hold: tagged in part, and said so */
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < ENT_HITS_MAX + 10; i++)
        buf_append(&b, "US ", 3);
    doc = json_pack("{s:s}", "text", b.data);
    e = tag_doc(doc);
    CHECK_INT(nmentions(e), ==, 2000); /* max_mentions */
    json_t *meta = json_object_get(doc, "meta");
    CHECK_INT(json_integer_value(json_object_get(meta, "entities_truncated")), >, 1000000);
    json_t *err0 = json_array_get(json_object_get(meta, "errors"), 0);
    CHECK_STR(json_string_value(json_object_get(err0, "stage")), "entities");
    CHECK_CONTAINS(json_string_value(json_object_get(err0, "message")), "tagged in part");
    json_decref(doc);
    buf_free(&b);
}

/* ---- the BBC corpus: invariants on real text ---- */

static void test_corpus_invariants(void)
{
    const char *dir = getenv("VIGIL_CORPUS_DIR");
    char path[4096];
    if (dir)
        snprintf(path, sizeof path, "%s/texts/bbc_news.tsv", dir);
    else
        snprintf(path, sizeof path, "%s/../shared/corpus/texts/bbc_news.tsv",
                 getenv("VIGIL_SOURCE_DIR") ? getenv("VIGIL_SOURCE_DIR") : ".");
    char *data;
    size_t len;
    if (buf_read_file(path, (size_t)64 << 20, &data, &len) != 0)
        SKIP("BBC corpus not found");
    size_t docs = 0, total = 0;
    char *line = data, *end = data + len;
    while (line < end && docs < 3000) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            nl = end;
        *nl = '\0';
        char *f[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4 && f[k - 1]; k++) {
            char *tab = strchr(f[k - 1], '\t');
            if (tab) {
                *tab = '\0';
                f[k] = tab + 1;
            }
        }
        line = nl + 1;
        if (!f[3] || strcmp(f[0], "id") == 0)
            continue;
        json_t *doc = json_pack("{s:s, s:s}", "title", f[2], "text", f[3]);
        if (!doc)
            continue; /* not UTF-8 */
        json_t *ents = tag_doc(doc);
        size_t i;
        json_t *mn;
        long prev = -1;
        int prev_title = 1;
        json_array_foreach(json_object_get(ents, "mentions"), i, mn)
        {
            int title = json_object_get(mn, "field") != NULL;
            const char *ft = title ? f[2] : f[3];
            long s = (long)json_integer_value(json_object_get(mn, "start"));
            long e = (long)json_integer_value(json_object_get(mn, "end"));
            const char *surf = json_string_value(json_object_get(mn, "surface"));
            CHECK(s >= 0 && e > s && (size_t)e <= strlen(ft));
            CHECK(surf && strlen(surf) == (size_t)(e - s) && memcmp(ft + s, surf, e - s) == 0);
            CHECK(!ent_word_char_before(ft, (size_t)s));
            /* sorted: title first, then by start, no overlaps */
            if (title == prev_title)
                CHECK(s >= prev);
            else
                CHECK(prev_title && !title);
            prev = e;
            prev_title = title;
            total++;
        }
        json_decref(doc);
        docs++;
    }
    free(data);
    fprintf(stderr, "    %zu documents, %zu mentions\n", docs, total);
    CHECK_INT(docs, >, 2000);
    CHECK_INT(total, >, 1000);
}

int main(void)
{
    if (fixture_chdir() != 0)
        return 1;
    const char *files[] = {"wire.json", "world.json"};
    matcher = make_matcher(files, 2, 1);
    struct vigil_error err;
    if (!matcher || ent_worker_create(matcher, &worker, &err) != 0)
        return 1;
    RUN(test_wire_story);
    RUN(test_boundaries);
    RUN(test_overlap);
    RUN(test_unicode);
    RUN(test_georgia);
    RUN(test_possessive_namesake);
    RUN(test_turkey);
    RUN(test_congo);
    RUN(test_niger_guinea);
    RUN(test_chad_jordan);
    RUN(test_guesses);
    RUN(test_max_mentions_and_no_sentences);
    RUN(test_bad_sentences_and_limits);
    RUN(test_corpus_invariants);
    tag_text(NULL);
    ent_worker_free(worker);
    ent_matcher_free(matcher);
    return test_summary();
}
