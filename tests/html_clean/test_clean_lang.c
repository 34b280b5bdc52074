/* Language identification (libexttextcat) on samples written for the test. */
#include "fixture.h"
#include "test.h"

static const struct {
    const char *lang, *text;
} samples[] = {
    {"en", "The city council voted on Tuesday to approve a new budget that increases spending on "
           "public transport and road repairs, while cutting funds for several cultural programmes "
           "that had been criticised by residents as poorly attended."},
    {"de", "Der Stadtrat hat am Dienstag einen neuen Haushalt beschlossen, der mehr Geld für den "
           "öffentlichen Nahverkehr und die Sanierung von Straßen vorsieht. Mehrere Kulturprojekte "
           "müssen dagegen mit deutlich weniger Mitteln auskommen als im vergangenen Jahr."},
    {"es", "El ayuntamiento aprobó el martes un nuevo presupuesto que aumenta el gasto en "
           "transporte público y en la reparación de calles, mientras recorta los fondos de varios "
           "programas culturales que los vecinos habían criticado por su escasa asistencia."},
    {"fr", "Le conseil municipal a adopté mardi un nouveau budget qui augmente les dépenses pour "
           "les transports en commun et la réfection des routes, tout en réduisant les crédits de "
           "plusieurs programmes culturels jugés trop peu fréquentés par les habitants."},
    {"pl", "Rada miasta przyjęła we wtorek nowy budżet, który zwiększa wydatki na komunikację "
           "publiczną i remonty dróg, a jednocześnie ogranicza środki na kilka programów "
           "kulturalnych, krytykowanych przez mieszkańców za niską frekwencję."},
    {"ru", "Городской совет во вторник утвердил новый бюджет, который увеличивает расходы на "
           "общественный транспорт и ремонт дорог, но сокращает финансирование нескольких "
           "культурных программ, которые жители критиковали за низкую посещаемость."},
};

static void test_samples(void)
{
    struct clean_lang *l = NULL;
    struct vigil_error err = {0};
    REQUIRE(clean_lang_open(NULL, NULL, 0, &l, &err) == 0);
    CHECK_INT(clean_lang_count(l), >=, 100); /* every language with a two-letter code */
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char code[4];
        double conf = -1;
        clean_lang_detect(l, samples[i].text, strlen(samples[i].text), NULL, code, &conf);
        if (strcmp(code, samples[i].lang) != 0)
            fprintf(stderr, "    %s sample: got %s (%.2f)\n", samples[i].lang, code, conf);
        CHECK_STR(code, samples[i].lang);
        CHECK(conf > 0.5 && conf <= 1.0);
    }
    clean_lang_close(l);
}

static void test_short_and_empty_are_und(void)
{
    struct clean_lang *l = NULL;
    struct vigil_error err = {0};
    REQUIRE(clean_lang_open(NULL, NULL, 0, &l, &err) == 0);
    char code[4];
    double conf = 1;
    clean_lang_detect(l, "OK", 2, NULL, code, &conf);
    CHECK_STR(code, "und");
    CHECK(conf == 0);
    clean_lang_detect(l, "", 0, "en", code, &conf);
    CHECK_STR(code, "und");
    clean_lang_detect(l, "12345 67890 !!! ??? ... 2024-11-04", 34, NULL, code, &conf);
    CHECK_STR(code, "und");
    /* a short sentence is recognised, with less confidence than a long one */
    double c_short = 0, c_long = 0;
    const char *s = "The minister resigned on Friday after the vote.";
    clean_lang_detect(l, s, strlen(s), NULL, code, &c_short);
    clean_lang_detect(l, samples[0].text, strlen(samples[0].text), NULL, code, &c_long);
    CHECK(c_short < c_long);
    clean_lang_close(l);
}

static void test_restricted_languages(void)
{
    const char *only[] = {"en", "de"};
    struct clean_lang *l = NULL;
    struct vigil_error err = {0};
    REQUIRE(clean_lang_open(NULL, only, 2, &l, &err) == 0);
    CHECK_INT(clean_lang_count(l), ==, 2);
    char code[4];
    double conf;
    clean_lang_detect(l, samples[1].text, strlen(samples[1].text), NULL, code, &conf);
    CHECK_STR(code, "de");
    clean_lang_detect(l, samples[3].text, strlen(samples[3].text), NULL, code, &conf);
    CHECK(strcmp(code, "fr") != 0); /* not loaded: never answered */
    clean_lang_close(l);

    const char *none[] = {"xx"};
    CHECK_INT(clean_lang_open(NULL, none, 1, &l, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "languages");
    CHECK_INT(clean_lang_open("/nonexistent/fpdb.conf", NULL, 0, &l, &err), ==, VIGIL_EIO);
    CHECK_CONTAINS(err.msg, "/nonexistent/fpdb.conf");
}

/* The declared language settles a close call between related languages. */
static void test_declared_breaks_ties(void)
{
    struct clean_lang *l = NULL;
    struct vigil_error err = {0};
    REQUIRE(clean_lang_open(NULL, NULL, 0, &l, &err) == 0);
    /* Bosnian/Croatian/Serbian (Latin) are nearly the same n-grams */
    const char *t = "Vlada je u utorak usvojila novi proračun koji povećava izdatke za javni "
                    "prijevoz i popravak cesta, a smanjuje sredstva za nekoliko kulturnih "
                    "programa.";
    char a[4], b[4];
    double ca, cb;
    clean_lang_detect(l, t, strlen(t), NULL, a, &ca);
    clean_lang_detect(l, t, strlen(t), "bs", b, &cb);
    CHECK(strcmp(a, "hr") == 0 || strcmp(a, "bs") == 0 || strcmp(a, "sr") == 0);
    /* when bs is among textcat's candidates it wins; otherwise nothing changes */
    CHECK(strcmp(b, "bs") == 0 || strcmp(b, a) == 0);
    clean_lang_close(l);
}

/* Only the first CLEAN_LANG_MAX_INPUT bytes are read: a long text costs
 * what a short one does, and answers the same. */
static void test_input_is_bounded(void)
{
    struct clean_lang *l = NULL;
    struct vigil_error err = {0};
    REQUIRE(clean_lang_open(NULL, NULL, 0, &l, &err) == 0);
    size_t n = 0, cap = 200000;
    char *big = malloc(cap + 1);
    REQUIRE(big);
    while (n + strlen(samples[2].text) + 1 < cap) {
        memcpy(big + n, samples[2].text, strlen(samples[2].text));
        n += strlen(samples[2].text);
        big[n++] = ' ';
    }
    big[n] = '\0';
    char code[4];
    double conf;
    clean_lang_detect(l, big, n, NULL, code, &conf);
    CHECK_STR(code, "es");
    free(big);
    clean_lang_close(l);
}

int main(void)
{
    RUN(test_samples);
    RUN(test_short_and_empty_are_und);
    RUN(test_restricted_languages);
    RUN(test_declared_breaks_ties);
    RUN(test_input_is_bounded);
    return test_summary();
}
