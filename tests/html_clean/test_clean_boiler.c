/*
 * Boilerplate line shapes: calls to action, credits, navigation, cookie and
 * newsletter prompts in English, German, Spanish and French, and the
 * ordinary sentences that must not be mistaken for them.
 */
#include "fixture.h"
#include "test.h"

#include "clean_boiler.h"

struct row {
    const char *line;
    int kind;
};

static void check_rows(const struct row *rows)
{
    for (int i = 0; rows[i].line; i++) {
        int k = clean_boiler_classify(rows[i].line, strlen(rows[i].line));
        if (k != rows[i].kind)
            fprintf(stderr, "    \"%s\": %s, expected %s\n", rows[i].line, clean_boiler_name(k),
                    clean_boiler_name(rows[i].kind));
        CHECK_INT(k, ==, rows[i].kind);
    }
}

static void test_calls_to_action(void)
{
    static const struct row rows[] = {
        {"Sign up now for our daily briefing", CLEAN_BOILER_CTA},
        {"Subscribe to our newsletter", CLEAN_BOILER_CTA},
        {"Get the best stories of the week delivered to your inbox.", CLEAN_BOILER_CTA},
        {"Never miss the latest news by signing up to our newsletter today!", CLEAN_BOILER_CTA},
        {"Follow topic", CLEAN_BOILER_CTA},
        {"See more on Ukraine war", CLEAN_BOILER_CTA},
        {"Share this article", CLEAN_BOILER_CTA},
        {"Facebook Twitter LinkedIn Email", CLEAN_BOILER_CTA},
        {"Download our app for breaking news alerts", CLEAN_BOILER_CTA},
        {"We may earn a commission when you buy through links on our site.", CLEAN_BOILER_CTA},
        {"Jetzt kostenlos den Newsletter abonnieren und informiert bleiben.", CLEAN_BOILER_CTA},
        {"Folgen Sie uns auf Instagram", CLEAN_BOILER_CTA},
        {"Suscríbete a nuestro boletín", CLEAN_BOILER_CTA},
        {"Síguenos en Twitter y Facebook", CLEAN_BOILER_CTA},
        {"Abonnez-vous à notre newsletter", CLEAN_BOILER_CTA},
        {"Partager :", CLEAN_BOILER_CTA},
        {"Advertisement", CLEAN_BOILER_AD},
        {"ANZEIGE", CLEAN_BOILER_AD},
        {"Publicidad", CLEAN_BOILER_AD},
        {"Publicité", CLEAN_BOILER_AD},
        {NULL, 0}};
    check_rows(rows);
}

static void test_related_and_navigation(void)
{
    static const struct row rows[] = {
        {"Read more: Why flood defences fail", CLEAN_BOILER_CTA},
        {"Related: Ceasefire talks stall", CLEAN_BOILER_RELATED},
        {"Most read", CLEAN_BOILER_RELATED},
        {"Lesen Sie auch: Feuerwehr zieht Bilanz", CLEAN_BOILER_RELATED},
        {"Mehr zum Thema", CLEAN_BOILER_RELATED},
        {"Te puede interesar: Pescadores piden más control", CLEAN_BOILER_RELATED},
        {"À lire aussi : Les derniers sondages", CLEAN_BOILER_RELATED},
        {"Skip to main content", CLEAN_BOILER_NAV},
        {"Back to top", CLEAN_BOILER_NAV},
        {NULL, 0}};
    check_rows(rows);
}

static void test_credits_and_captions(void)
{
    static const struct row rows[] = {
        {"PHOTO: AFP", CLEAN_BOILER_CREDIT},
        {"Photo: Reuters", CLEAN_BOILER_CREDIT},
        {"\xC2\xA9 Getty Images", CLEAN_BOILER_CREDIT},
        {"Image caption, The river burst its banks on Sunday", CLEAN_BOILER_CREDIT},
        {"(FILES) An undated handout photograph released by the ministry shows soldiers during "
         "an exercise. (Photo by STR / MINISTRY / AFP)",
         CLEAN_BOILER_CREDIT},
        {"Soldiers at a checkpoint near the border on Monday. REUTERS/Jane Doe",
         CLEAN_BOILER_CREDIT},
        {"Die Einsatzkräfte kämpften bis in den Morgen gegen die Flammen. Foto: dpa",
         CLEAN_BOILER_CREDIT},
        {"Vista aérea del puerto. Foto: EFE", CLEAN_BOILER_CREDIT},
        {"Bildquelle: picture alliance", CLEAN_BOILER_CREDIT},
        {"\xC2\xA9 2024 The Daily Example. All rights reserved.", CLEAN_BOILER_CREDIT},
        {"Tous droits réservés", CLEAN_BOILER_CREDIT},
        {NULL, 0}};
    check_rows(rows);
}

static void test_cookies_dates_bylines(void)
{
    static const struct row rows[] = {
        {"We use cookies to improve your experience. By continuing you accept our use of cookies.",
         CLEAN_BOILER_COOKIE},
        {"Wir verwenden Cookies, um Inhalte zu personalisieren.", CLEAN_BOILER_COOKIE},
        {"Utilizamos cookies propias y de terceros para mejorar nuestros servicios.",
         CLEAN_BOILER_COOKIE},
        {"Nous utilisons des cookies pour vous offrir la meilleure expérience.",
         CLEAN_BOILER_COOKIE},
        {"Published 4 November 2024", CLEAN_BOILER_DATE},
        {"Updated: 10:32 GMT", CLEAN_BOILER_DATE},
        {"Veröffentlicht: 12.03.2024, 14:05 Uhr", CLEAN_BOILER_DATE},
        {"Publié le 10 juin 2024", CLEAN_BOILER_DATE},
        {"By Jane Smith", CLEAN_BOILER_BYLINE},
        {"By Jane Smith and John Roe", CLEAN_BOILER_BYLINE},
        {"Von Max Mustermann", CLEAN_BOILER_BYLINE},
        {"Por Lucía Fernández", CLEAN_BOILER_BYLINE},
        {"Reporting by Jane Doe; Editing by John Roe", CLEAN_BOILER_BYLINE},
        {NULL, 0}};
    check_rows(rows);
}

/* Sentences that mention the same words but are article text. */
static void test_prose_is_not_boilerplate(void)
{
    static const struct row rows[] = {
        {"The company said it would follow the recommendations of the inquiry in full.",
         CLEAN_BOILER_NONE},
        {"Getty Images, the photo agency, reported higher revenue for the third quarter and said "
         "it expected the trend to continue into next year.",
         CLEAN_BOILER_NONE},
        {"To keep up with the news, I run an RSS reader. It delivers every newsletter and blog "
         "post from sources I curated, and the system works exactly as designed.",
         CLEAN_BOILER_NONE},
        {"By the end of the year, the government expects inflation to fall below three per cent.",
         CLEAN_BOILER_NONE},
        {"Published figures show the number of cookies sold by the bakery chain fell sharply "
         "after the price rise.",
         CLEAN_BOILER_NONE},
        {"Agerblad said he was inspired to get the tattoo after the artist advertised the design "
         "on Facebook.",
         CLEAN_BOILER_NONE},
        {"Some web browsers do not send \"third-party cookies\" by default, or they scope "
         "cookies so that centralized surveillance does not get a single view of one user, and "
         "privacy tools go further still.",
         CLEAN_BOILER_NONE},
        {"Die Feuerwehr war mit mehr als 80 Kräften im Einsatz.", CLEAN_BOILER_NONE},
        {"El concejo municipal aprobó este jueves el proyecto de ampliación del puerto.",
         CLEAN_BOILER_NONE},
        {"Les résultats définitifs seront proclamés mardi par la commission nationale.",
         CLEAN_BOILER_NONE},
        {"Share prices fell by four per cent on Monday.", CLEAN_BOILER_NONE},
        {"", CLEAN_BOILER_NONE},
        {NULL, 0}};
    check_rows(rows);
    /* long lines are never boilerplate by shape */
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "Subscribe ", 10);
    big[sizeof big - 1] = '\0';
    CHECK_INT(clean_boiler_classify(big, strlen(big)), ==, CLEAN_BOILER_NONE);
}

int main(void)
{
    RUN(test_calls_to_action);
    RUN(test_related_and_navigation);
    RUN(test_credits_and_captions);
    RUN(test_cookies_dates_bylines);
    RUN(test_prose_is_not_boilerplate);
    return test_summary();
}
