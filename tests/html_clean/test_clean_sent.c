/* Sentence spans: ICU's break iterator plus the abbreviation rules. */
#include "fixture.h"
#include "test.h"

static struct clean_sent *S;

/* Sentences of text joined by " | " (for readable assertions). */
static const char *split(const char *text, const char *lang)
{
    static char out[8192];
    struct clean_span *v = NULL;
    size_t n = 0, len = strlen(text), o = 0;
    out[0] = '\0';
    if (clean_sentences(S, text, len, lang, 0, &v, &n) != 0)
        return "(error)";
    for (size_t i = 0; i < n; i++) {
        /* spans are in bounds, ordered, trimmed */
        if (v[i].end > len || v[i].start >= v[i].end || (i && v[i].start < v[i - 1].end) ||
            text[v[i].start] == ' ' || text[v[i].end - 1] == ' ') {
            free(v);
            return "(bad span)";
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s", i ? " | " : "",
                              (int)(v[i].end - v[i].start), text + v[i].start);
    }
    free(v);
    return out;
}

static void test_basic_and_paragraphs(void)
{
    CHECK_STR(split("The vote was close. The bill passed! Was it fair?", "en"),
              "The vote was close. | The bill passed! | Was it fair?");
    /* a paragraph break always ends a sentence, even without punctuation */
    CHECK_STR(split("A heading without a full stop\n\nThe first sentence. The second one.", "en"),
              "A heading without a full stop | The first sentence. | The second one.");
    CHECK_STR(split("", "en"), "");
    CHECK_STR(split("   \n\n  ", "en"), "");
}

static void test_abbreviations(void)
{
    CHECK_STR(
        split("Gen. Petrenko met Lt. Col. Smith and Sgt. Jones on Monday. They talked.", "en"),
        "Gen. Petrenko met Lt. Col. Smith and Sgt. Jones on Monday. | They talked.");
    CHECK_STR(split("Mr. and Mrs. Brown met Dr. Lee at St. Mary's. Gov. Hall and Sen. Diaz were "
                    "there, as was Rep. Ortiz.",
                    "en"),
              "Mr. and Mrs. Brown met Dr. Lee at St. Mary's. | Gov. Hall and Sen. Diaz were "
              "there, as was Rep. Ortiz.");
    CHECK_STR(split("The U.S. Army and the U.K. Ministry of Defence briefed the U.N. Security "
                    "Council. It met again.",
                    "en"),
              "The U.S. Army and the U.K. Ministry of Defence briefed the U.N. Security "
              "Council. | It met again.");
    CHECK_STR(split("It opened in Jan. 2020 and closed on Sept. 3. Prices rose, e.g. bread, i.e. "
                    "food. No. 10 said so.",
                    "en"),
              "It opened in Jan. 2020 and closed on Sept. 3. | Prices rose, e.g. bread, i.e. "
              "food. | No. 10 said so.");
    CHECK_STR(split("The book by J. R. R. Tolkien sold well. Smith vs. Jones was settled.", "en"),
              "The book by J. R. R. Tolkien sold well. | Smith vs. Jones was settled.");
}

static void test_quotes_numbers_ellipses(void)
{
    CHECK_STR(split("\"We will not hide it,\" he said. \"It is over.\" Then he left.", "en"),
              "\"We will not hide it,\" he said. | \"It is over.\" | Then he left.");
    CHECK_STR(split("Growth was 3.5 per cent, up from 2.1. Inflation fell.", "en"),
              "Growth was 3.5 per cent, up from 2.1. | Inflation fell.");
    CHECK_STR(split("He paused... and then went on. Silence followed.", "en"),
              "He paused... and then went on. | Silence followed.");
    CHECK_STR(split("\xE2\x80\x9CWe are ready.\xE2\x80\x9D The army moved.", "en"),
              "\xE2\x80\x9CWe are ready.\xE2\x80\x9D | The army moved.");
}

static void test_other_languages(void)
{
    /* German ordinals and abbreviations */
    CHECK_STR(split("Am 3. Oktober wurde gefeiert, z.B. in Berlin. Dr. Weber sprach.", "de"),
              "Am 3. Oktober wurde gefeiert, z.B. in Berlin. | Dr. Weber sprach.");
    CHECK_STR(split("La Sra. García llegó tarde. El acto empezó a las ocho.", "es"),
              "La Sra. García llegó tarde. | El acto empezó a las ocho.");
    CHECK_STR(split("M. Macron a parlé. Mme Dupont a répondu.", "fr"),
              "M. Macron a parlé. | Mme Dupont a répondu.");
    /* CJK full stops */
    CHECK_STR(split("\xE4\xBB\x8A\xE5\xA4\xA9\xE4\xB8\x8B\xE9\x9B\xA8\xE3\x80\x82"
                    "\xE6\x98\x8E\xE5\xA4\xA9\xE6\x99\xB4\xE3\x80\x82",
                    "zh"),
              "\xE4\xBB\x8A\xE5\xA4\xA9\xE4\xB8\x8B\xE9\x9B\xA8\xE3\x80\x82 | "
              "\xE6\x98\x8E\xE5\xA4\xA9\xE6\x99\xB4\xE3\x80\x82");
    /* unknown language: root rules */
    CHECK_STR(split("One. Two.", "und"), "One. | Two.");
    CHECK_STR(split("One. Two.", NULL), "One. | Two.");
}

/* Offsets are bytes of the UTF-8 text, not UTF-16 units or characters. */
static void test_byte_offsets(void)
{
    const char *t = "Caf\xC3\xA9 \xF0\x9F\x98\x80 ouvert. Z\xC3\xBCrich wartet.";
    struct clean_span *v = NULL;
    size_t n = 0;
    REQUIRE(clean_sentences(S, t, strlen(t), "fr", 0, &v, &n) == 0);
    REQUIRE(n == 2);
    CHECK_INT(v[0].start, ==, 0);
    CHECK_INT(v[0].end, ==, 18); /* "Café 😀 ouvert." = 3+2+1+4+1+7 */
    CHECK_INT(v[1].start, ==, 19);
    CHECK_INT(v[1].end, ==, strlen(t));
    free(v);
    /* max_spans bounds the output */
    REQUIRE(clean_sentences(S, "One. Two. Three. Four.", 22, "en", 2, &v, &n) == 0);
    CHECK_INT(n, ==, 2);
    free(v);
}

static void test_abbrev_predicate(void)
{
    CHECK(clean_sent_is_abbrev("met Gen.", 8, "en"));
    CHECK(clean_sent_is_abbrev("in the U.S.", 11, "en"));
    CHECK(clean_sent_is_abbrev("J.", 2, "en"));
    CHECK(!clean_sent_is_abbrev("the end.", 8, "en"));
    CHECK(!clean_sent_is_abbrev("in 2019.", 8, "en"));
    CHECK(clean_sent_is_abbrev("am 3.", 5, "de"));
    CHECK(!clean_sent_is_abbrev("page 3.", 7, "en")); /* English has no such ordinals */
}

int main(void)
{
    if (clean_sent_open(&S) != 0)
        return 1;
    RUN(test_basic_and_paragraphs);
    RUN(test_abbreviations);
    RUN(test_quotes_numbers_ellipses);
    RUN(test_other_languages);
    RUN(test_byte_offsets);
    RUN(test_abbrev_predicate);
    clean_sent_close(S);
    return test_summary();
}
