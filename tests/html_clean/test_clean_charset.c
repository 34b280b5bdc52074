/* Charset decision and UTF-8 repair. */
#include "fixture.h"
#include "test.h"

struct dec {
    struct buf scratch;
    const char *out;
    size_t len;
    struct clean_charset info;
    int rc;
};

static void decode(struct dec *d, const char *data, size_t len, const char *ctype)
{
    buf_init(&d->scratch, 1 << 24);
    d->rc = clean_charset_decode(data, len, ctype, &d->scratch, &d->out, &d->len, &d->info);
}

static int same(const struct dec *d, const char *expect)
{
    return d->rc == 0 && d->len == strlen(expect) && memcmp(d->out, expect, d->len) == 0;
}

static void test_utf8_passes_through(void)
{
    const char *page = "<html><head><meta charset=\"utf-8\"></head><body>caf\xC3\xA9</body></html>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_INT(d.rc, ==, 0);
    CHECK(d.out == page); /* no copy */
    CHECK_STR(d.info.name, "UTF-8");
    CHECK_INT(d.info.source, ==, CLEAN_CS_META);
    buf_free(&d.scratch);
}

/* The trap: declared gb2312, bytes are UTF-8 (libxml2 alone gives up). */
static void test_declared_gb2312_but_utf8(void)
{
    const char *page = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
                       "charset=gb2312\"></head><body><p>\xE8\xB0\xB7\xE6\xAD\x8C\xE5\x9C\xA8"
                       "2014\xE5\xB9\xB4</p></body></html>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_INT(d.rc, ==, 0);
    CHECK_STR(d.info.name, "UTF-8");
    CHECK_STR(d.info.declared, "gb2312");
    CHECK_INT(d.info.source, ==, CLEAN_CS_SNIFF);
    CHECK(d.out == page);
    buf_free(&d.scratch);
}

static void test_real_gbk_is_converted(void)
{
    /* "中文" in GBK: D6 D0 CE C4 (not valid UTF-8) */
    const char *page = "<meta charset=\"gbk\"><p>\xD6\xD0\xCE\xC4</p>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_INT(d.rc, ==, 0);
    CHECK_STR(d.info.name, "GB18030");
    CHECK(same(&d, "<meta charset=\"gbk\"><p>\xE4\xB8\xAD\xE6\x96\x87</p>"));
    buf_free(&d.scratch);
}

static void test_latin1_is_windows_1252(void)
{
    /* 0xE9 = é, 0x80 = € in windows-1252 (WHATWG reads iso-8859-1 so) */
    const char *page = "<meta charset=\"iso-8859-1\"><p>caf\xE9 \x80"
                       "5</p>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_STR(d.info.name, "WINDOWS-1252");
    CHECK(same(&d, "<meta charset=\"iso-8859-1\"><p>caf\xC3\xA9 \xE2\x82\xAC"
                   "5</p>"));
    buf_free(&d.scratch);
}

static void test_http_header_wins_over_meta(void)
{
    const char *page = "<meta charset=\"utf-8\"><p>\xE9t\xE9</p>";
    struct dec d;
    decode(&d, page, strlen(page), "text/html; charset=\"ISO-8859-1\"");
    CHECK_INT(d.info.source, ==, CLEAN_CS_HTTP);
    CHECK_STR(d.info.declared, "iso-8859-1");
    CHECK(same(&d, "<meta charset=\"utf-8\"><p>\xC3\xA9t\xC3\xA9</p>"));
    buf_free(&d.scratch);
}

static void test_nothing_declared_not_utf8(void)
{
    const char *page = "<p>na\xEFve</p>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_INT(d.info.source, ==, CLEAN_CS_DEFAULT);
    CHECK(same(&d, "<p>na\xC3\xAFve</p>"));
    buf_free(&d.scratch);
}

static void test_unknown_label_falls_back(void)
{
    const char *page = "<meta charset=\"x-no-such-charset\"><p>\xE9</p>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_INT(d.rc, ==, 0);
    CHECK_STR(d.info.name, "WINDOWS-1252");
    CHECK(same(&d, "<meta charset=\"x-no-such-charset\"><p>\xC3\xA9</p>"));
    buf_free(&d.scratch);
}

/* Mostly UTF-8 with a stray byte: repaired, not reinterpreted. */
static void test_utf8_repaired(void)
{
    char page[4096];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(page + n, sizeof page - n, "\xC3\xA9");
    page[n++] = (char)0xFF;
    page[n] = '\0';
    struct dec d;
    decode(&d, page, n, "text/html; charset=utf-8");
    CHECK_STR(d.info.name, "UTF-8");
    CHECK_INT(d.info.repaired, ==, 1);
    CHECK_INT(d.len, ==, 400 + 3);
    CHECK(d.len >= 3 && memcmp(d.out + d.len - 3, "\xEF\xBF\xBD", 3) == 0);
    buf_free(&d.scratch);
}

/* Declared UTF-8 but written in windows-1252 (more invalid than valid). */
static void test_mislabelled_legacy_page(void)
{
    const char *page = "<meta charset=\"utf-8\"><p>r\xE9sum\xE9 na\xEFve \xE0 la carte</p>";
    struct dec d;
    decode(&d, page, strlen(page), NULL);
    CHECK_STR(d.info.name, "WINDOWS-1252");
    CHECK_CONTAINS(d.out, "r\xC3\xA9sum\xC3\xA9");
    buf_free(&d.scratch);
}

static void test_nul_and_controls_dropped(void)
{
    const char page[] = "<p>a\0b\x01"
                        "c\x7f"
                        "d\te\ff</p>";
    struct dec d;
    decode(&d, page, sizeof page - 1, NULL);
    CHECK_INT(d.rc, ==, 0);
    CHECK(same(&d, "<p>abcd\te f</p>"));
    CHECK_INT(d.info.dropped, ==, 3);
    buf_free(&d.scratch);
}

static void test_byte_order_marks(void)
{
    const char page8[] = "\xEF\xBB\xBF<p>x</p>";
    struct dec d;
    decode(&d, page8, sizeof page8 - 1, "text/html; charset=iso-8859-1");
    CHECK_INT(d.info.source, ==, CLEAN_CS_BOM);
    CHECK(same(&d, "<p>x</p>"));
    buf_free(&d.scratch);

    const char page16[] = "\xFF\xFE<\0p\0>\0\xE9\0<\0/\0p\0>\0";
    decode(&d, page16, sizeof page16 - 1, NULL);
    CHECK_STR(d.info.name, "UTF-16LE");
    CHECK(same(&d, "<p>\xC3\xA9</p>"));
    buf_free(&d.scratch);
}

static void test_labels(void)
{
    char out[32];
    CHECK_INT(clean_charset_from_content_type("text/html; charset=UTF-8", out, sizeof out), ==, 0);
    CHECK_STR(out, "utf-8");
    CHECK_INT(clean_charset_from_content_type("text/html", out, sizeof out), ==, -1);
    CHECK_INT(clean_charset_from_content_type(NULL, out, sizeof out), ==, -1);
    const char *p = "<html><head><META HTTP-EQUIV='Content-Type' CONTENT='text/html; "
                    "charset=Shift_JIS'></head>";
    CHECK_INT(clean_charset_prescan(p, strlen(p), out, sizeof out), ==, 0);
    CHECK_STR(out, "shift_jis");
    CHECK_INT(clean_charset_prescan("<p>no meta</p>", 14, out, sizeof out), ==, -1);
}

static void test_valid_prefix(void)
{
    CHECK_INT(clean_utf8_valid_prefix("ab\xC3\xA9", 4), ==, 4);
    CHECK_INT(clean_utf8_valid_prefix("ab\xC3", 3), ==, 2);           /* truncated */
    CHECK_INT(clean_utf8_valid_prefix("\xC0\xAF", 2), ==, 0);         /* overlong */
    CHECK_INT(clean_utf8_valid_prefix("\xED\xA0\x80", 3), ==, 0);     /* surrogate */
    CHECK_INT(clean_utf8_valid_prefix("\xF4\x90\x80\x80", 4), ==, 0); /* > U+10FFFF */
    CHECK_INT(clean_utf8_valid_prefix("\xF0\x9F\x98\x80", 4), ==, 4); /* emoji */
}

static void test_output_limit(void)
{
    struct buf small;
    buf_init(&small, 16);
    const char *out;
    size_t len;
    struct clean_charset info;
    const char *page = "<p>\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9\xE9</p>";
    CHECK_INT(clean_charset_decode(page, strlen(page), NULL, &small, &out, &len, &info), ==,
              VIGIL_ETOOBIG);
    buf_free(&small);
}

int main(void)
{
    RUN(test_utf8_passes_through);
    RUN(test_declared_gb2312_but_utf8);
    RUN(test_real_gbk_is_converted);
    RUN(test_latin1_is_windows_1252);
    RUN(test_http_header_wins_over_meta);
    RUN(test_nothing_declared_not_utf8);
    RUN(test_unknown_label_falls_back);
    RUN(test_utf8_repaired);
    RUN(test_mislabelled_legacy_page);
    RUN(test_nul_and_controls_dropped);
    RUN(test_byte_order_marks);
    RUN(test_labels);
    RUN(test_valid_prefix);
    RUN(test_output_limit);
    return test_summary();
}
