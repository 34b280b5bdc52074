#include <string.h>

#include "stem.h"
#include "test.h"
#include "tok.h"

static void test_decode(void)
{
    const char *s = "a\xc3\xa9\xe2\x80\x94\xf0\x9f\x98\x80\xff";
    size_t i = 0, n = strlen(s);
    CHECK_INT(tok_decode(s, n, &i), ==, 'a');
    CHECK_INT(tok_decode(s, n, &i), ==, 0xE9);
    CHECK_INT(tok_decode(s, n, &i), ==, 0x2014);
    CHECK_INT(tok_decode(s, n, &i), ==, 0x1F600);
    CHECK_INT(tok_decode(s, n, &i), ==, 0xFFFD); /* invalid byte: one replacement */
    CHECK_INT(i, ==, n);
    /* A truncated sequence does not read past the end. */
    i = 0;
    CHECK_INT(tok_decode("\xe2\x80", 2, &i), ==, 0xFFFD);
    CHECK_INT(i, ==, 1);
    size_t start = 0;
    CHECK_INT(tok_decode_prev(s, 3, &start), ==, 0xE9);
    CHECK_INT(start, ==, 1);
}

static void test_fold(void)
{
    char out[64];
    CHECK_INT(tok_fold("North KOREA", 11, out, sizeof out), ==, 11);
    CHECK_STR(out, "north korea");
    const char *up = "\xc3\x84RGER \xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90";
    tok_fold(up, strlen(up), out, sizeof out);
    CHECK_STR(out,
              "\xc3\xa4rger \xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"); /* ärger москва */
    CHECK_INT(tok_fold("abcdef", 6, out, 4), ==, (long long)(size_t)-1);
}

static void test_words_and_breaks(void)
{
    const char *t =
        "\"Our comrades fought shoulder-to-shoulder,\" Putin said \xe2\x80\x94 North Korea's "
        "troops; it (really) was.";
    struct tok_word w[32];
    uint8_t trail = 0;
    size_t n = tok_words(t, 0, strlen(t), w, 32, &trail);
    CHECK_INT(n, ==, 15);
    CHECK_INT(w[0].brk & TOK_BRK_QUOTE, !=, 0); /* opening quote before "Our" */
    CHECK_INT(w[3].end - w[3].start, ==, 8);    /* shoulder */
    CHECK_INT(w[4].brk, ==, 0);                 /* glued hyphen is no break */
    CHECK_INT(w[6].brk & TOK_BRK_COMMA, !=, 0); /* ," before Putin */
    CHECK_INT(w[6].brk & TOK_BRK_QUOTE, !=, 0);
    CHECK_INT(w[8].brk & TOK_BRK_DASH, !=, 0);  /* em dash before North */
    CHECK_INT(w[10].brk & TOK_BRK_APOS, !=, 0); /* Korea's: "s" glued by an apostrophe */
    CHECK_INT(w[12].brk & TOK_BRK_CLAUSE, !=, 0);
    CHECK_INT(w[13].brk & TOK_BRK_PAREN, !=, 0);
    CHECK_INT(trail & TOK_BRK_STOP, !=, 0);
    /* Numbers keep their thousands separator, and "10,000" is one break-free pair. */
    n = tok_words("about 10,000 troops", 0, 19, w, 32, NULL);
    CHECK_INT(n, ==, 4);
    CHECK_INT(w[2].brk, ==, 0);
    /* Truncation reports the full count. */
    CHECK_INT(tok_words("a b c d e", 0, 9, w, 2, NULL), ==, 5);
    /* Unicode letters are word characters. */
    n = tok_words("\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 d\xc3\xa9ment", 0, 19, w, 32,
                  NULL);
    CHECK_INT(n, ==, 2);
}

static void test_sentences(void)
{
    const char *t =
        "Gen. Valery Gerasimov told Mr. Putin that the U.S. was wrong. \"They fought,\" "
        "he said! Did they?\n\nA new paragraph without a stop\nand 3.5 per cent.";
    struct tok_span sp[16];
    size_t n = tok_sentences(t, strlen(t), sp, 16);
    REQUIRE(n == 5);
    CHECK_INT(sp[0].start, ==, 0);
    CHECK(strncmp(t + sp[0].start, "Gen. Valery", 11) == 0);
    CHECK(t[sp[0].end - 1] == '.');
    CHECK(strncmp(t + sp[1].start, "\"They fought,\" he said!", 23) == 0);
    CHECK(strncmp(t + sp[2].start, "Did they?", 9) == 0 && sp[2].end - sp[2].start == 9);
    CHECK(strncmp(t + sp[3].start, "A new paragraph", 15) == 0);
    CHECK(strncmp(t + sp[4].start, "and 3.5 per cent.", 17) == 0);
    /* Counting without room. */
    CHECK_INT(tok_sentences(t, strlen(t), NULL, 0), ==, 5);
    CHECK_INT(tok_sentences("", 0, sp, 16), ==, 0);
    CHECK_INT(tok_sentences("   \n\n  ", 7, sp, 16), ==, 0);
}

static void test_question(void)
{
    const char *q = "Are North Korean troops in Kursk?\" ";
    CHECK(tok_is_question(q, 0, strlen(q)));
    CHECK(!tok_is_question("They are.", 0, 9));
    CHECK(!tok_is_question("Why? They are.", 5, 14));
    CHECK(tok_is_question("Why? They are.", 0, 4));
}

static void test_word_start(void)
{
    const char *s = "said troops aid";
    CHECK(tok_word_starts_at(s, 0));
    CHECK(tok_word_starts_at(s, 5));
    CHECK(!tok_word_starts_at(s, 2)); /* "aid" inside "said" */
    CHECK(tok_word_starts_at(s, 12));
}

static void test_stemmer(void)
{
    CHECK_STR(stem_algorithm("en"), "english");
    CHECK_STR(stem_algorithm("de"), "german");
    CHECK(stem_algorithm("xx") == NULL);
    struct sb_stemmer *st = stem_new("english");
    REQUIRE(st != NULL);
    char out[64];
    const char *forms[] = {"confirm", "confirms", "confirmed", "confirming"};
    for (int i = 0; i < 4; i++) {
        stem_word(st, forms[i], strlen(forms[i]), out, sizeof out);
        CHECK_STR(out, "confirm");
    }
    stem_word(st, "deployment", 10, out, sizeof out);
    CHECK_STR(out, "deploy");
    stem_word(st, "acknowledged", 12, out, sizeof out);
    CHECK_STR(out, "acknowledg");
    CHECK_INT(stem_word(st, "deployment", 10, out, 3), ==, (long long)(size_t)-1);
    stem_free(st);
    /* No stemmer: the word is copied. */
    CHECK_INT(stem_word(NULL, "troops", 6, out, sizeof out), ==, 6);
    CHECK_STR(out, "troops");
}

int main(void)
{
    RUN(test_decode);
    RUN(test_fold);
    RUN(test_words_and_breaks);
    RUN(test_sentences);
    RUN(test_question);
    RUN(test_word_start);
    RUN(test_stemmer);
    return test_summary();
}
