/* Whitespace folding, invisible characters, NFC, plain-text structure. */
#include "fixture.h"
#include "test.h"

static const char *fold(const char *s)
{
    static struct buf b;
    int st = CLEAN_FOLD_START;
    size_t chars = 0;
    buf_free(&b);
    buf_init(&b, 1 << 20);
    if (clean_fold_append(&b, s, strlen(s), &st, &chars) != 0)
        return NULL;
    return b.data ? b.data : "";
}

static void test_fold_whitespace(void)
{
    CHECK_STR(fold("  a \t\n b  "), "a b");
    CHECK_STR(fold("a\xC2\xA0\xC2\xA0"
                   "b"),
              "a b"); /* NBSP */
    CHECK_STR(fold("a\xE2\x80\x83"
                   "b\xE3\x80\x80"
                   "c"),
              "a b c"); /* em space, ideographic */
    CHECK_STR(fold("a\xE2\x80\xA8"
                   "b"),
              "a b"); /* line separator */
    CHECK_STR(fold(""), "");
    CHECK_STR(fold(" \n "), "");
}

static void test_fold_invisible(void)
{
    CHECK_STR(fold("soft\xC2\xADhyphen"), "softhyphen");
    CHECK_STR(fold("zero\xE2\x80\x8Bwidth"), "zerowidth");
    CHECK_STR(fold("\xEF\xBB\xBF"
                   "bom"),
              "bom");
    CHECK_STR(fold("word\xE2\x81\xA0joiner"), "wordjoiner");
    CHECK_STR(fold("rtl\xE2\x80\x8F"
                   "mark"),
              "rtlmark");
    CHECK_STR(fold("c1\xC2\x85"
                   "control"),
              "c1control");
    CHECK_STR(fold("ctl\x01"
                   "x"),
              "ctlx");
    /* kept: ZWJ (emoji sequences, Indic scripts), accents, CJK */
    CHECK_STR(fold("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"),
              "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB");
    CHECK_STR(fold("\xE4\xB8\xAD\xE6\x96\x87 caf\xC3\xA9"), "\xE4\xB8\xAD\xE6\x96\x87 caf\xC3\xA9");
}

static void test_fold_counts_and_state(void)
{
    struct buf b;
    buf_init(&b, 1024);
    int st = CLEAN_FOLD_START;
    size_t chars = 0;
    CHECK_INT(clean_fold_append(&b, "caf\xC3\xA9 ", 6, &st, &chars), ==, 0);
    CHECK_INT(clean_fold_append(&b, " au lait ", 9, &st, &chars), ==, 0);
    CHECK_STR(b.data, "caf\xC3\xA9 au lait");
    CHECK_INT(chars, ==, 12);
    buf_free(&b);
    /* a full buffer is an error, not a silent cut */
    buf_init(&b, 4);
    st = CLEAN_FOLD_START;
    CHECK_INT(clean_fold_append(&b, "abcdefgh", 8, &st, NULL), ==, -1);
    buf_free(&b);
}

static void test_nfc(void)
{
    struct clean_nfc_scratch s = {0};
    struct buf b;
    buf_init(&b, 1024);
    buf_append_str(&b, "Cafe\xCC\x81 Zu\xCC\x88rich"); /* decomposed */
    CHECK_INT(clean_nfc(&b, &s), ==, 0);
    CHECK_STR(b.data, "Caf\xC3\xA9 Z\xC3\xBCrich");
    buf_reset(&b);
    buf_append_str(&b, "plain ascii");
    CHECK_INT(clean_nfc(&b, &s), ==, 0);
    CHECK_STR(b.data, "plain ascii");
    buf_reset(&b);
    buf_append_str(&b, "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"); /* Hangul, already NFC */
    CHECK_INT(clean_nfc(&b, &s), ==, 0);
    CHECK_STR(b.data, "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4");
    buf_free(&b);
    clean_nfc_scratch_free(&s);
}

static void test_fold_lower(void)
{
    char out[64];
    clean_fold_lower("\xC3\x80 LIRE AUSSI", 13, out);
    CHECK_STR(out, "\xC3\xA0 lire aussi");
    clean_fold_lower("\xC3\x9C"
                     "BER",
                     5, out);
    CHECK_STR(out, "\xC3\xBC"
                   "ber");
    clean_fold_lower("\xC3\x97", 2, out); /* the multiplication sign is not a letter */
    CHECK_STR(out, "\xC3\x97");
}

static void test_plain_text(void)
{
    struct clean_worker *w = worker_default();
    REQUIRE(w);
    struct buf out;
    buf_init(&out, 1 << 20);
    /* blank lines are paragraphs, single line feeds are wrapped lines */
    const char *a = "First para\nwrapped here.\n\n\n  Second   para.\r\n\r\nThird.";
    CHECK_INT(clean_plain_text(w, a, strlen(a), &out), ==, 0);
    CHECK_STR(out.data, "First para wrapped here.\n\nSecond para.\n\nThird.");
    /* no blank line at all: every line is a paragraph */
    const char *b = "Line one.\nLine two.\n";
    CHECK_INT(clean_plain_text(w, b, strlen(b), &out), ==, 0);
    CHECK_STR(out.data, "Line one.\n\nLine two.");
    /* invalid bytes are repaired, never passed on */
    const char *c = "bad \xFF byte";
    CHECK_INT(clean_plain_text(w, c, strlen(c), &out), ==, 0);
    CHECK_STR(out.data, "bad \xEF\xBF\xBD byte");
    buf_free(&out);
    clean_worker_free(w);
}

static void test_utf8_helpers(void)
{
    uint32_t cp;
    CHECK_INT(clean_utf8_decode("\xE2\x82\xAC", 3, &cp), ==, 3);
    CHECK_INT(cp, ==, 0x20AC);
    CHECK_INT(clean_utf8_count("a\xC3\xA9\xE2\x82\xAC", 6), ==, 3);
    CHECK(clean_is_ascii("abc", 3));
    CHECK(!clean_is_ascii("abcdefgh\xC3\xA9", 10));
}

int main(void)
{
    RUN(test_fold_whitespace);
    RUN(test_fold_invisible);
    RUN(test_fold_counts_and_state);
    RUN(test_nfc);
    RUN(test_fold_lower);
    RUN(test_plain_text);
    RUN(test_utf8_helpers);
    return test_summary();
}
