/*
 * Main-text extraction on fixture pages: each page uses another template
 * (class names, nesting, language) and the output must be exactly the
 * article's paragraphs, in order.
 */
#include "fixture.h"
#include "test.h"

/* Join paragraphs with "\n\n" into a static buffer. */
static const char *join(const char *const *paras)
{
    static char out[16384];
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; paras[i]; i++) {
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", i ? "\n\n" : "", paras[i]);
        if (n >= sizeof out)
            break;
    }
    return out;
}

struct page {
    struct clean_worker *w;
    struct clean_page_result r;
    char *html;
    int rc;
};

static int load(struct page *p, const char *name, const char *url)
{
    size_t len = 0;
    struct vigil_error err = {0};
    memset(p, 0, sizeof *p);
    p->html = fixture_read(name, &len);
    p->w = worker_default();
    if (!p->html || !p->w)
        return -1;
    p->rc = clean_page(p->w, p->html, len, NULL, url, TEST_NOW_MS, &p->r, &err);
    if (p->rc)
        fprintf(stderr, "  clean_page(%s): %s\n", name, err.msg);
    return p->rc;
}

static void unload(struct page *p)
{
    clean_worker_free(p->w);
    free(p->html);
}

static void test_wire_news_exact(void)
{
    static const char *const paras[] = {
        "A senior general confirmed on Monday that foreign troops took part in the "
        "counter-offensive launched in the border region last month, the first official "
        "acknowledgement of their role.",
        "Speaking at a briefing in the capital, General Oleksandr Petrenko said units from two "
        "allied countries had fought alongside national forces near the town of Kursk-Vostok.",
        "\"Their contribution was limited but real,\" Gen. Petrenko told reporters. \"We will "
        "not hide it any longer.\"",
        "A shift in official language",
        "Until now, officials had described the foreign personnel only as instructors and "
        "volunteers, and had denied that they were deployed on the front line.",
        "Analysts said the admission, which comes ahead of a summit of defence ministers on "
        "Thursday, was likely intended to pressure partners into sending more equipment.",
        "The ministry did not say how many foreign soldiers were involved, nor whether any had "
        "been killed or wounded in the fighting.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "wire_news.html", "https://news.example.com/world/x") == 0);
    CHECK_STR(p.r.text, join(paras));
    CHECK_INT(p.r.page_type, ==, CLEAN_PAGE_ARTICLE);
    CHECK_STR(p.r.meta->title, "General confirms foreign troops fought in counter-offensive");
    CHECK_STR(p.r.meta->published, "2024-11-04T08:30:00Z");
    CHECK_STR(p.r.meta->modified, "2024-11-04T10:05:00Z");
    CHECK_INT(p.r.meta->nauthors, ==, 1);
    CHECK_STR(p.r.meta->authors[0], "Jane Smith");
    CHECK_STR(p.r.meta->site_name, "The Daily Wire Service");
    CHECK_STR(p.r.meta->section, "World");
    CHECK_STR(p.r.meta->canonical_url,
              "https://news.example.com/world/2024/11/04/general-confirms-foreign-troops");
    CHECK_STR(p.r.meta->image, "https://news.example.com/media/2024/11/troops.jpg");
    CHECK_STR(p.r.meta->lang_declared, "en-gb");
    /* each kind of boilerplate on the page, spelled out */
    const char *junk[] = {"cookies",
                          "Sign up",
                          "PHOTO",
                          "FILES",
                          "Follow topic",
                          "See more on",
                          "Related stories",
                          "Ceasefire talks",
                          "Most read",
                          "Facebook",
                          "Comments",
                          "suspected for months",
                          "All rights reserved",
                          "By Jane Smith",
                          "Home",
                          NULL};
    for (int i = 0; junk[i]; i++)
        CHECK_NOT_CONTAINS(p.r.text, junk[i]);
    unload(&p);
}

static void test_german_regional_divs(void)
{
    static const char *const paras[] = {
        "Ein Feuer in einer Lagerhalle im Gewerbegebiet Nord hat in der Nacht zum Dienstag einen "
        "Schaden in Millionenhöhe verursacht. Verletzt wurde nach Angaben der Polizei niemand.",
        "Die Feuerwehr war mit mehr als 80 Kräften im Einsatz. Wegen der starken "
        "Rauchentwicklung wurden Anwohner über die Warn-App aufgefordert, Fenster und Türen "
        "geschlossen zu halten.",
        "Die Brandursache ist noch unklar. Ein Sachverständiger soll die Halle untersuchen, "
        "sobald das Gebäude wieder betreten werden kann.",
        "Der Betreiber, ein Logistikunternehmen aus der Region, kündigte an, den Betrieb an "
        "einem anderen Standort vorübergehend fortzusetzen.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "de_regional.html", NULL) == 0);
    CHECK_STR(p.r.text, join(paras));
    CHECK_STR(p.r.meta->title, "Großbrand in Lagerhalle: Feuerwehr stundenlang im Einsatz");
    CHECK_STR(p.r.meta->published, "2024-03-12T13:05:00Z");
    REQUIRE(p.r.meta->nauthors == 1);
    CHECK_STR(p.r.meta->authors[0], "Max Mustermann");
    CHECK_STR(p.r.meta->lang_declared, "de");
    const char *junk[] = {"Cookies",   "Lesen Sie auch", "Anzeige",        "Newsletter",
                          "Foto: dpa", "Von Max",        "Veröffentlicht", "Mehr aus der Region",
                          "Buslinie",  "Meistgelesen",   "Impressum",      NULL};
    for (int i = 0; junk[i]; i++)
        CHECK_NOT_CONTAINS(p.r.text, junk[i]);
    unload(&p);
}

static void test_spanish_table_layout(void)
{
    static const char *const paras[] = {
        "El concejo municipal aprobó este jueves, por nueve votos contra dos, el proyecto de "
        "ampliación del puerto pesquero, una obra reclamada por los pescadores artesanales desde "
        "hace más de una década.",
        "La iniciativa contempla un nuevo muelle de 300 metros, una zona de descarga techada y un "
        "área de reparación de embarcaciones, con una inversión estimada de 12 millones de "
        "dólares.",
        "Según el alcalde, las obras comenzarán en el segundo semestre y durarán unos dos años. "
        "Durante ese período, la actividad del puerto se mantendrá con algunas restricciones de "
        "horario.",
        "Los concejales de oposición cuestionaron el financiamiento y pidieron un estudio de "
        "impacto ambiental independiente antes de licitar la obra.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "es_diario.html", NULL) == 0);
    CHECK_STR(p.r.text, join(paras));
    /* "Site - Headline": the <h1> names the headline segment */
    CHECK_STR(p.r.meta->title, "Aprueban la ampliación del puerto pesquero");
    CHECK_STR(p.r.meta->published, "2024-06-07T00:00:00Z");
    /* no author metadata: the printed byline "Por ..." */
    REQUIRE(p.r.meta->nauthors == 1);
    CHECK_STR(p.r.meta->authors[0], "Lucía Fernández");
    CHECK_STR(p.r.meta->lang_declared, "es");
    const char *junk[] = {"Foto: EFE",          "Síguenos",
                          "Te puede interesar", "Suscríbete",
                          "Comentarios",        "Por fin una buena noticia",
                          "Lo más leído",       "derechos reservados",
                          "Clasificados",       NULL};
    for (int i = 0; junk[i]; i++)
        CHECK_NOT_CONTAINS(p.r.text, junk[i]);
    unload(&p);
}

static void test_french_wordpress(void)
{
    static const char *const paras[] = {
        "La participation aux élections européennes a progressé dimanche dans la plupart des "
        "départements de l’Ouest, selon les chiffres publiés lundi par le ministère de "
        "l’Intérieur.",
        "En Bretagne, elle atteint 54 %, soit près de six points de plus qu’en 2019. Les écarts "
        "restent toutefois importants entre les zones urbaines et les communes rurales.",
        "Pour les politologues interrogés, cette hausse s’explique en partie par la mobilisation "
        "des jeunes électeurs, plus nombreux à s’être déplacés qu’il y a cinq ans.",
        "« Nous avons vu des files d’attente devant certains bureaux dès l’ouverture », a "
        "raconté une assesseure de Rennes.",
        "Les résultats définitifs seront proclamés mardi par la commission nationale de "
        "recensement des votes.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "fr_blog.html", "https://blog.example.fr/2024/06/10/europeennes/") == 0);
    /* WordPress marks the article "tag-x author-y" and the body "has-sidebar":
       those are names of values, not of boilerplate */
    CHECK_STR(p.r.text, join(paras));
    CHECK_STR(p.r.meta->title, "Élections européennes : la participation en hausse dans l’Ouest");
    CHECK_STR(p.r.meta->published, "2024-06-10T07:45:12Z");
    CHECK_STR(p.r.meta->modified, "2024-06-10T09:01:00Z");
    REQUIRE(p.r.meta->nauthors == 1);
    CHECK_STR(p.r.meta->authors[0], "Marie Dupont");
    CHECK_STR(p.r.meta->section, "Politique");
    const char *junk[] = {"À lire aussi",
                          "Partager",
                          "Étiquettes",
                          "Publié dans",
                          "Article précédent",
                          "réflexions",
                          "Merci pour cet article",
                          "Laisser un commentaire",
                          "Abonnez-vous",
                          "Articles récents",
                          "WordPress",
                          "Aller au contenu",
                          NULL};
    for (int i = 0; junk[i]; i++)
        CHECK_NOT_CONTAINS(p.r.text, junk[i]);
    unload(&p);
}

static void test_magazine_split_by_ad(void)
{
    static const char *const paras[] = {
        "When the water came, it came at night. By morning the lower half of the village of "
        "Eastholm had vanished under a brown, slow-moving lake that stretched to the railway "
        "embankment.",
        "Residents had been warned for years that the embankment upstream was weak. Repairs were "
        "promised in 2015, again in 2018, and again last spring.",
        "\"We knew it was coming, we just didn't know when,\" said Margaret Hill, 71, who has "
        "lived on Mill Lane for four decades. Her kitchen is now under a metre of water.",
        "The Environment Agency said the volume of rain in the catchment had been the highest "
        "since records began, and that the embankment had held for longer than expected.",
        "Engineers expect the water to recede within a fortnight, but the council has warned "
        "that some houses may have to be demolished.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "en_magazine.html", NULL) == 0);
    CHECK_STR(p.r.text, join(paras));
    CHECK_STR(p.r.meta->title, "The river that swallowed a village");
    CHECK_STR(p.r.meta->published, "2023-02-19T06:00:00Z");
    REQUIRE(p.r.meta->nauthors == 1);
    CHECK_STR(p.r.meta->authors[0], "Tom Baker");
    const char *junk[] = {"Image caption",      "Media caption",  "Read more", "Advertisement",
                          "More on this story", "Flood warnings", "Floods",    "app",
                          "Trending",           "Copyright",      "Sign in",   NULL};
    for (int i = 0; junk[i]; i++)
        CHECK_NOT_CONTAINS(p.r.text, junk[i]);
    unload(&p);
}

static void test_listing_page(void)
{
    struct page p;
    REQUIRE(load(&p, "listing.html", "https://times.example/national") == 0);
    CHECK_INT(p.r.page_type, ==, CLEAN_PAGE_LISTING);
    CHECK_INT(p.r.text_len, ==, 0);
    CHECK_STR(p.r.meta->title, "National news");
    unload(&p);

    /* headlines only, no summaries at all: no article element either */
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "<html><body><h1>Sport</h1><ul>");
    for (int i = 0; i < 30; i++)
        buf_printf(&b,
                   "<li><a href=\"/sport/%d\">Headline number %d about a match that "
                   "ended in a draw</a></li>",
                   i, i);
    buf_append_str(&b, "</ul></body></html>");
    struct clean_worker *w = worker_default();
    REQUIRE(w);
    struct clean_page_result r;
    struct vigil_error err = {0};
    REQUIRE(clean_page(w, b.data, b.len, NULL, NULL, TEST_NOW_MS, &r, &err) == 0);
    CHECK_INT(r.page_type, ==, CLEAN_PAGE_LISTING);
    CHECK_INT(r.text_len, ==, 0);
    clean_worker_free(w);
    buf_free(&b);
}

static void test_jsonld_body_when_page_is_empty(void)
{
    struct page p;
    REQUIRE(load(&p, "jsonld_body.html", "https://courier.example/port-strike") == 0);
    CHECK(p.r.from_jsonld);
    CHECK_INT(p.r.page_type, ==, CLEAN_PAGE_ARTICLE);
    CHECK(strncmp(p.r.text, "Dock workers at the city's container port", 41) == 0);
    /* the body's line breaks are paragraphs */
    CHECK_CONTAINS(p.r.text, "two years.\n\nThe strike, which began");
    CHECK_NOT_CONTAINS(p.r.text, "JavaScript");
    CHECK_STR(p.r.meta->site_name, "Coastal Courier");
    REQUIRE(p.r.meta->nauthors == 1);
    CHECK_STR(p.r.meta->authors[0], "Ana Lopes");
    unload(&p);
}

/* The same page under the two presets: recall keeps at least what
 * precision keeps. */
static void test_presets_nest(void)
{
    const char *names[] = {"wire_news.html", "de_regional.html", "es_diario.html",
                           "fr_blog.html",   "en_magazine.html", NULL};
    for (int i = 0; names[i]; i++) {
        size_t len = 0;
        char *html = fixture_read(names[i], &len);
        REQUIRE(html);
        struct clean_conf c;
        clean_conf_defaults(&c);
        c.lang_detect = 0;
        struct clean_worker *wp = NULL, *wr = NULL;
        struct vigil_error err = {0};
        REQUIRE(clean_worker_new(&c, &wp, &err) == 0);
        c.preset = CLEAN_PRESET_RECALL;
        REQUIRE(clean_worker_new(&c, &wr, &err) == 0);
        struct clean_page_result rp, rr;
        REQUIRE(clean_page(wp, html, len, NULL, NULL, TEST_NOW_MS, &rp, &err) == 0);
        REQUIRE(clean_page(wr, html, len, NULL, NULL, TEST_NOW_MS, &rr, &err) == 0);
        CHECK_INT(rr.text_len, >=, rp.text_len);
        CHECK(rp.text_len > 0);
        clean_worker_free(wp);
        clean_worker_free(wr);
        free(html);
    }
}

static void test_class_hints(void)
{
    /* boilerplate words, as tokens or inside compound names */
    CHECK(clean_class_hint("share-bar") & CX_NEG);
    CHECK(clean_class_hint("socialShareButtons") & CX_NEG);
    CHECK(clean_class_hint("relatedPosts") & CX_NEG);
    CHECK(clean_class_hint("ad-slot") & CX_NEG);
    CHECK(clean_class_hint("newsletter-signup") & CX_NEG);
    CHECK(clean_class_hint("article-comments") & CX_NEG);
    CHECK(clean_class_hint("article-comments") & CX_NEG_KEEP);
    CHECK(clean_class_hint("sidebar") & CX_NEG_WEAK);
    /* not boilerplate */
    CHECK(!(clean_class_hint("header-anchor") & CX_NEG_KEEP));
    CHECK(!(clean_class_hint("shadow") & CX_NEG)); /* "ad" is a token, not a substring */
    CHECK(!(clean_class_hint("headline") & CX_NEG));
    CHECK(!(clean_class_hint("tag-elections author-jane") & CX_NEG)); /* taxonomy values */
    CHECK(!(clean_class_hint("has-sidebar no-comments") & CX_NEG));   /* modifiers */
    CHECK(!(clean_class_hint("commentary opinion") & CX_NEG_KEEP));   /* a genre */
    /* a generated hash spells no words ("...xDFpTo..." is not "dfp") */
    CHECK(!(clean_class_hint("line record-id-Xk7dDFpTo0qJgx9vRf") & CX_NEG));
    CHECK(!(clean_class_hint("css-Q3kAdZp9wX") & CX_NEG));
    CHECK(clean_class_hint("ad-slot css-Q3kAdZp9wX") & CX_NEG);
    CHECK(clean_class_hint("article-body") & CX_POS);
    CHECK(clean_class_hint("storyContent") & CX_POS);
    CHECK_INT(clean_class_hint(NULL), ==, 0);
    CHECK_INT(clean_class_hint(""), ==, 0);
}

/* Text is folded per block and blocks follow the page's order; <br> and
 * block elements separate paragraphs, inline elements do not. */
static void test_blocks_and_inline(void)
{
    const char *html =
        "<html><body><div class=\"story\">"
        "<p>The first paragraph has <b>bold</b> and <a href=\"/x\">a link</a> "
        "inside, and it is long enough to be counted as prose by any rule.</p>"
        "<p>Second\xC2\xA0paragraph with a soft\xC2\xADhyphen and zero\xE2\x80\x8Bwidth "
        "space, also long enough to be taken for article text by the extractor."
        "</p><p>Third line one<br>third line two, with enough words to read as "
        "a sentence of an article.</p></div></body></html>";
    struct clean_worker *w = worker_default();
    REQUIRE(w);
    struct clean_page_result r;
    struct vigil_error err = {0};
    REQUIRE(clean_page(w, html, strlen(html), NULL, NULL, TEST_NOW_MS, &r, &err) == 0);
    CHECK_CONTAINS(r.text, "has bold and a link inside");
    CHECK_CONTAINS(r.text, "Second paragraph with a softhyphen and zerowidth space");
    CHECK_CONTAINS(r.text, "Third line one\n\nthird line two");
    CHECK(text_is_clean(r.text, r.text_len));
    clean_worker_free(w);
}

/* An author box closing the article (a name line, then a short note on
 * the writer) is about the writer, not the story: it is left out, also
 * when its classes say nothing. */
static void test_author_box_left_out(void)
{
    static const char *const paras[] = {
        "When the heating failed in the old school hall in December, the only warm public room "
        "left in Brackley was the reading room of the town library, and people came.",
        "Librarians extended the opening hours twice, first to the evening and then to Sundays, "
        "and volunteers brought soup on Thursdays so that nobody had to leave at lunchtime.",
        "\"We are not a shelter, but we could not send anyone back into the cold,\" said the head "
        "librarian, who has worked there for nineteen years.",
        "The council has promised to repair the hall before next winter, and the library will "
        "keep its Sunday hours until the end of March.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "author_box.html", NULL) == 0);
    CHECK_STR(p.r.text, join(paras));
    REQUIRE(p.r.meta->nauthors == 1);
    CHECK_STR(p.r.meta->authors[0], "Nora Castellan");
    unload(&p);
}

/* Subheadings of a list article stay: one with an anchor id made from its
 * own words ("...-social-media" names no share bar), and ones wrapped in a
 * section's <header> (not the page header). */
static void test_listicle_headings_kept(void)
{
    static const char *const paras[] = {
        "Most of us pick up our phones more than a hundred times a day, and most of those "
        "moments start with a notification we did not need to see.",
        "1. Check your social media once a day",
        "Choose one time, after lunch for instance, and look at every feed then; the rest of the "
        "day the apps stay closed and their badges stay off.",
        "2. Silence the group chats",
        "Group conversations produce most of the noise: mute them and read them in one go, as "
        "you would read the morning paper.",
        "3. Keep the phone out of the bedroom",
        "An alarm clock costs little, and a phone charging in the kitchen cannot wake you up at "
        "two in the morning with a message from work.",
        NULL};
    struct page p;
    REQUIRE(load(&p, "listicle_headings.html", NULL) == 0);
    CHECK_STR(p.r.text, join(paras));
    unload(&p);
}

/* A Chinese subheading of 10 ideographs is no short fragment: ideographs
 * count double against the 20-character limit. */
static void test_cjk_subheadings_kept(void)
{
    struct page p;
    REQUIRE(load(&p, "zh_subheads.html", NULL) == 0);
    CHECK_CONTAINS(p.r.text, "\n\n晚间照明设施同步改善\n\n");
    CHECK_CONTAINS(p.r.text, "\n\n市民反应总体上很积极\n\n");
    CHECK_NOT_CONTAINS(p.r.text, "首页");
    unload(&p);
}

/* Ranked, linked subheadings of a list article stay above their reviews;
 * an unranked linked heading does not. */
static void test_ranked_linked_headings_kept(void)
{
    struct page p;
    REQUIRE(load(&p, "ranked_links.html", NULL) == 0);
    CHECK_CONTAINS(p.r.text, "\n\n1) Harbour Lights\n\nA quiet game");
    CHECK_CONTAINS(p.r.text, "\n\n2) Seed Bank\n\nSeed Bank asks");
    CHECK_NOT_CONTAINS(p.r.text, "More reviews");
    unload(&p);
}

int main(void)
{
    RUN(test_wire_news_exact);
    RUN(test_german_regional_divs);
    RUN(test_spanish_table_layout);
    RUN(test_french_wordpress);
    RUN(test_magazine_split_by_ad);
    RUN(test_listing_page);
    RUN(test_jsonld_body_when_page_is_empty);
    RUN(test_presets_nest);
    RUN(test_class_hints);
    RUN(test_blocks_and_inline);
    RUN(test_author_box_left_out);
    RUN(test_listicle_headings_kept);
    RUN(test_cjk_subheadings_kept);
    RUN(test_ranked_linked_headings_kept);
    return test_summary();
}
