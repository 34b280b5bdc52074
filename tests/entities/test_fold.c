#include <string.h>

#include "fold.h"
#include "test.h"

static struct ent_fold_table table; /* test binary only */

static char *fold(const char *s, unsigned mode)
{
    static char out[256];
    size_t n;
    char *r = ent_fold_string(&table, s, strlen(s), mode, &n);
    snprintf(out, sizeof out, "%s", r ? r : "(null)");
    free(r);
    return out;
}

static void test_fold_strings(void)
{
    unsigned both = ENT_FOLD_CASE | ENT_FOLD_ASCII;
    CHECK_STR(fold("KÖLN", both), "köln");
    CHECK_STR(fold("Köln", both), "köln");
    CHECK_STR(fold("KÖLN", ENT_FOLD_CASE), "KöLN"); /* ASCII left to Vectorscan */
    CHECK_STR(fold("ЗЕЛЕНСКИЙ", both), "зеленский");
    CHECK_STR(fold("TÜRKİYE", both), "türkiye"); /* dotted capital I */
    CHECK_STR(fold("GROẞE STRAẞE", both), "grosse strasse");
    CHECK_STR(fold("Große Straße", both), "grosse strasse");
    CHECK_STR(fold("ΣΙΣΥΦΟΣ", both), "σισυφοσ");
    /* typographic variants */
    CHECK_STR(fold("People’s", both), "people's");
    CHECK_STR(fold("North\xc2\xa0Korea", both), "north korea");
    CHECK_STR(fold("Guinea\xe2\x80\x91"
                   "Bissau",
                   both),
              "guinea-bissau");
    /* and no change for what has no case */
    CHECK_STR(fold("北朝鮮 £100 “quoted”", both), "北朝鮮 £100 “quoted”");
    /* the table and ICU agree on every 2-byte code point */
    for (uint32_t cp = 0x80; cp < 0x800; cp++) {
        char a[ENT_FOLD_CP_MAX], b[ENT_FOLD_CP_MAX];
        size_t na = ent_fold_cp(&table, cp, ENT_FOLD_CASE, a);
        size_t nb = ent_fold_cp(NULL, cp, ENT_FOLD_CASE, b);
        if (na != nb || memcmp(a, b, na) != 0) {
            CHECK_INT(cp, ==, 0);
            break;
        }
    }
}

static void test_no_copy_when_unchanged(void)
{
    struct ent_fold_buf fb = {0};
    const char *text = "Plain ASCII text, with capitals: NORTH KOREA. And £ signs.";
    const char *out;
    size_t n;
    REQUIRE(ent_fold_text(&table, &fb, text, strlen(text), ENT_FOLD_CASE, &out, &n) == 0);
    CHECK(out == text);
    CHECK_INT(n, ==, strlen(text));
    CHECK_INT(fb.active, ==, 0);
    CHECK_INT(ent_fold_map(&fb, 10), ==, 10);
    ent_fold_buf_free(&fb);
}

static void test_offset_map(void)
{
    struct ent_fold_buf fb = {0};
    /* "’" (3 bytes) becomes "'" (1), "ẞ" (3) becomes "ss" (2), "Ö" stays 2 bytes */
    const char *text = "Ukraine’s GROẞ KÖLN end";
    const char *out;
    size_t n;
    REQUIRE(ent_fold_text(&table, &fb, text, strlen(text), ENT_FOLD_CASE, &out, &n) == 0);
    CHECK_STR(out, "Ukraine's GROss KöLN end");
    CHECK_INT(fb.active, ==, 1);
    CHECK_INT(fb.nsegs, ==, 2);
    /* "KöLN" in the folded text maps back to "KÖLN" in the original */
    const char *k = strstr(out, "KöLN");
    REQUIRE(k);
    int64_t s = ent_fold_map(&fb, (size_t)(k - out));
    int64_t e = ent_fold_map(&fb, (size_t)(k - out) + strlen("KöLN"));
    CHECK_INT(s, ==, strstr(text, "KÖLN") - text);
    CHECK_INT(e - s, ==, strlen("KÖLN"));
    /* before any change: identity; at a segment edge: its original edge */
    CHECK_INT(ent_fold_map(&fb, 7), ==, 7);
    CHECK_INT(ent_fold_map(&fb, 8), ==, 10); /* after the apostrophe */
    /* strictly inside "ss" (from one "ẞ"): no original offset */
    size_t ss = (size_t)(strstr(out, "ss") - out);
    CHECK_INT(ent_fold_map(&fb, ss + 1), ==, -1);
    CHECK_INT(ent_fold_map(&fb, ss + 2), ==, strstr(text, " KÖLN") - text);
    ent_fold_buf_free(&fb);
}

static void test_word_chars(void)
{
    CHECK(ent_is_word_cp('a') && ent_is_word_cp('Z') && ent_is_word_cp('7'));
    CHECK(!ent_is_word_cp('\'') && !ent_is_word_cp('-') && !ent_is_word_cp(' '));
    CHECK(ent_is_word_cp(0x00E9));  /* é */
    CHECK(ent_is_word_cp(0x0436));  /* ж */
    CHECK(ent_is_word_cp(0x0301));  /* combining acute: part of a word */
    CHECK(ent_is_word_cp(0x5317));  /* 北 */
    CHECK(!ent_is_word_cp(0x2019)); /* ’ */
    CHECK(!ent_is_word_cp(0x00A0)); /* no-break space */
    const char *s = "spokeswoman Oman Чадха";
    CHECK(ent_word_char_before(s, 7));         /* "...sw|oman" */
    CHECK(!ent_word_char_before(s, 12));       /* " |Oman" */
    CHECK(ent_word_char_at(s, strlen(s), 19)); /* Cyrillic after a letter */
    CHECK(!ent_word_char_at(s, strlen(s), strlen(s)));
    CHECK(!ent_word_char_before(s, 0));
    size_t st;
    CHECK_INT(ent_utf8_prev(s, strlen(s), &st), ==, 0x0430); /* а */
    CHECK_INT(st, ==, strlen(s) - 2);
}

int main(void)
{
    ent_fold_table_init(&table);
    RUN(test_fold_strings);
    RUN(test_no_copy_when_unchanged);
    RUN(test_offset_map);
    RUN(test_word_chars);
    return test_summary();
}
