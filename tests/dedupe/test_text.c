/*
 * dedupe/text: normalisation (what counts as the same text), words,
 * shingles and the MinHash signature.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"
#include "text.h"

static struct dd_scratch scr;

static struct dd_fp fp_of(const char *text, size_t min_words)
{
    struct dd_fp fp;
    const char *parts[1] = {text};
    int rc = dd_text_fingerprint(&scr, parts, 1, min_words, &fp);
    CHECK_INT(rc, ==, 0);
    return fp;
}

static uint64_t hash_of(const char *text)
{
    return fp_of(text, 1).text_h;
}

static void test_exact_hash_ignores_case_space_punctuation(void)
{
    uint64_t h = hash_of("Hello, World! It's 2024.");
    CHECK(h != 0);
    CHECK_INT(hash_of("hello world its 2024"), ==, h);
    CHECK_INT(hash_of("  HELLO\tWORLD --  It\xe2\x80\x99s   2024 "), ==, h);
    CHECK_INT(hash_of("\"Hello\" (world): it's 2024!!!"), ==, h);
    /* paragraph breaks are layout, not content */
    CHECK_INT(hash_of("Hello, World!\n\nIt's 2024."), ==, h);
    /* but words are content */
    CHECK(hash_of("Hello, World! It's 2025.") != h);
    CHECK(hash_of("World, hello! It's 2024.") != h);
    CHECK(hash_of("Hello, World! Its 2024 now.") != h);
}

static void test_unicode_normalisation(void)
{
    /* full case folding: sharp s folds to "ss" */
    CHECK_INT(hash_of("STRASSE"), ==,
              hash_of("stra\xc3\x9f"
                      "e"));
    /* compatibility forms: fullwidth letters, ligatures */
    CHECK_INT(hash_of("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3 news"), ==, hash_of("abc news"));
    CHECK_INT(hash_of("\xef\xac\x81nance"), ==, hash_of("finance"));
    /* composed and decomposed accents are the same word */
    CHECK_INT(hash_of("caf\xc3\xa9"), ==, hash_of("cafe\xcc\x81"));
    /* a soft hyphen (default ignorable) does not split a word */
    CHECK_INT(hash_of("news\xc2\xadpaper"), ==, hash_of("newspaper"));
    /* Greek and Cyrillic fold case too */
    CHECK_INT(hash_of("\xce\x91\xce\x98\xce\x97\xce\x9d\xce\x91"), ==,
              hash_of("\xce\xb1\xce\xb8\xce\xb7\xce\xbd\xce\xb1"));
    CHECK_INT(hash_of("\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90"), ==,
              hash_of("\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"));
    /* accents are kept: another word */
    CHECK(hash_of("resume") != hash_of("r\xc3\xa9sum\xc3\xa9"));
}

static void test_words(void)
{
    CHECK_INT(fp_of("one two, three-four five's", 1).words, ==, 5);
    CHECK_INT(fp_of("", 1).words, ==, 0);
    CHECK_INT(fp_of("", 1).text_h, ==, 0);
    CHECK_INT(fp_of(" ... --- !!! ", 1).words, ==, 0);
    /* unspaced scripts: one word per character */
    CHECK_INT(
        fp_of(
            "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88",
            1)
            .words,
        ==, 7);
    CHECK_INT(fp_of("Tokyo \xe6\x9d\xb1\xe4\xba\xac 2024", 1).words, ==, 4);
    /* invalid UTF-8 becomes U+FFFD, which separates words */
    CHECK_INT(fp_of("abc\xff\xfe"
                    "def",
                    1)
                  .words,
              ==, 2);
}

/* A paragraph of n distinct synthetic words starting at index `from`. */
static char *synthetic(int from, int n)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = from; i < from + n; i++)
        buf_printf(&b, "w%dx%s", i, i + 1 < from + n ? " " : "");
    return buf_steal(&b);
}

static void test_signature_estimates_jaccard(void)
{
    char *a = synthetic(0, 400), *b = synthetic(100, 400), *c = synthetic(1000, 400);
    struct dd_fp fa = fp_of(a, 50), fb = fp_of(b, 50), fc = fp_of(c, 50);
    REQUIRE(fa.has_sig && fb.has_sig && fc.has_sig);
    CHECK_INT(fa.shingles, ==, 397);
    /* shared shingles: windows inside words 100..399: 297; union 497 */
    double j = 297.0 / 497.0, est = dd_sig_similarity(fa.sig, fb.sig);
    fprintf(stderr, "  true Jaccard %.3f, estimate %.3f\n", j, est);
    CHECK(est > j - 0.2 && est < j + 0.2);
    CHECK(dd_sig_similarity(fa.sig, fc.sig) < 0.1);
    CHECK(dd_sig_similarity(fa.sig, fa.sig) == 1.0);
    for (int band = 0; band < DD_BANDS; band++)
        CHECK(dd_sig_band(fa.sig, band) == dd_sig_band(fp_of(a, 50).sig, band));
    /* bands differ from each other for the same signature */
    CHECK(dd_sig_band(fa.sig, 0) != dd_sig_band(fa.sig, 1));
    free(a);
    free(b);
    free(c);
}

static void test_layout_and_short_lines_do_not_change_signature(void)
{
    const char *p1 = "The central bank cut its key rate by a quarter point on Thursday.";
    const char *p2 = "Inflation fell below the target for the first time in three years.";
    char one[512], two[512], three[512];
    snprintf(one, sizeof one, "%s\n\n%s", p1, p2);
    snprintf(two, sizeof two, "%s\n\n%s", p2, p1); /* paragraphs swapped */
    snprintf(three, sizeof three, "Advertisement\n\n%s\n \n%s\n\nRead more", p1, p2);
    struct dd_fp f1 = fp_of(one, 10), f2 = fp_of(two, 10), f3 = fp_of(three, 10);
    REQUIRE(f1.has_sig && f2.has_sig && f3.has_sig);
    CHECK(dd_sig_similarity(f1.sig, f2.sig) == 1.0);
    CHECK(dd_sig_similarity(f1.sig, f3.sig) == 1.0);
    CHECK_INT(f1.shingles, ==, f3.shingles);
    /* the exact hash sees the extra words */
    CHECK(f1.text_h != f3.text_h);
    /* several parts are several paragraphs */
    const char *parts[3] = {p1, NULL, p2};
    struct dd_fp f4;
    CHECK_INT(dd_text_fingerprint(&scr, parts, 3, 10, &f4), ==, 0);
    CHECK(dd_sig_similarity(f1.sig, f4.sig) == 1.0);
    CHECK_INT(f4.text_h, ==, f1.text_h);
}

static void test_min_words(void)
{
    const char *t = "one two three four five six seven eight nine ten";
    CHECK(fp_of(t, 10).has_sig);
    CHECK(!fp_of(t, 11).has_sig);
    CHECK(fp_of(t, 11).text_h != 0); /* exact matching still possible */
    /* fewer words than a shingle: no signature at all */
    CHECK(!fp_of("just three words", 1).has_sig);
}

/* Arbitrary bytes (broken UTF-8, control characters, lone surrogates
 * encoded as UTF-8, long paragraphs): no failure, and the same answer
 * twice. Run under ASan/UBSan in CI. */
static void test_arbitrary_bytes(void)
{
    static const char *const pieces[] = {"\n\n",
                                         " ",
                                         "word",
                                         "\xff",
                                         "\xc3",
                                         "\xed\xa0\x80",
                                         "\xf0\x9f\x98\x80",
                                         "\xe6\x97\xa5",
                                         "'",
                                         "\t\r\n",
                                         "\xcc\x81",
                                         "\xef\xac\x81",
                                         "ABC",
                                         "123",
                                         "\x01"};
    uint64_t r = 99;
    char text[4096];
    for (int i = 0; i < 2000; i++) {
        size_t n = 0;
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        int count = (int)((r >> 33) % 300);
        for (int k = 0; k < count; k++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *p = pieces[(r >> 33) % (sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(p);
            if (n + l >= sizeof text)
                break;
            memcpy(text + n, p, l);
            n += l;
        }
        text[n] = '\0';
        struct dd_fp a = fp_of(text, 5), b = fp_of(text, 5);
        CHECK(a.text_h == b.text_h && a.words == b.words && a.has_sig == b.has_sig);
        CHECK(memcmp(a.sig, b.sig, sizeof a.sig) == 0);
        CHECK((a.words == 0) == (a.text_h == 0));
    }
}

int main(void)
{
    RUN(test_exact_hash_ignores_case_space_punctuation);
    RUN(test_unicode_normalisation);
    RUN(test_words);
    RUN(test_signature_estimates_jaccard);
    RUN(test_layout_and_short_lines_do_not_change_signature);
    RUN(test_min_words);
    RUN(test_arbitrary_bytes);
    dd_scratch_free(&scr);
    return test_summary();
}
