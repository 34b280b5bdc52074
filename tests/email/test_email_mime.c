/*
 * email_mime: quoted-printable, encoded words, addresses, Message-IDs,
 * dates and whole messages, checked by decoding them back with an
 * independent reader (mimecheck) and by RFC line-length limits.
 */
#include "email_mime.h"
#include "mimecheck.h"
#include "test.h"

/* Text with "\n" line ends as the QP decoder gives it back (CRLF). */
static char *crlf(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(2 * n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            o[k++] = '\r';
        o[k++] = s[i];
    }
    o[k] = '\0';
    return o;
}

static void check_qp_roundtrip(const char *in, size_t len)
{
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(mime_qp(&b, in, len) == 0);
    const char *enc = b.data ? b.data : "";
    size_t bare;
    CHECK_INT(mc_max_line(enc, &bare), <=, 76);
    CHECK_INT(bare, ==, 0);
    /* only printable ASCII, CR and LF on the wire */
    for (const unsigned char *p = (const unsigned char *)enc; *p; p++)
        CHECK((*p >= 32 && *p < 127) || *p == '\r' || *p == '\n' || *p == '\t');
    char *dec = mc_qp_decode(enc, strlen(enc));
    REQUIRE(dec);
    char *plain = malloc(len + 1);
    memcpy(plain, in, len);
    plain[len] = '\0';
    char *want = crlf(plain);
    CHECK_STR(dec, want);
    free(want);
    free(plain);
    free(dec);
    buf_free(&b);
}

static void test_qp(void)
{
    struct buf b;
    buf_init(&b, 0);
    const char *in = "a=b caf\xc3\xa9 \nend \t\nFrom me\n.dot";
    mime_qp(&b, in, strlen(in));
    CHECK_STR(b.data, "a=3Db caf=C3=A9=20\r\nend =09\r\n=46rom me\r\n.dot");
    buf_free(&b);
    buf_init(&b, 0);
    mime_qp(&b, "From here\nx\nFrom there", 22);
    CHECK_STR(b.data, "=46rom here\r\nx\r\n=46rom there");
    buf_free(&b);

    check_qp_roundtrip("", 0);
    check_qp_roundtrip("short line\n", 11);
    char longline[1000];
    for (int i = 0; i < 999; i++)
        longline[i] = (char)('a' + i % 26);
    longline[999] = '\0';
    check_qp_roundtrip(longline, 999);
    /* '=' everywhere: a triplet is never split by a soft break */
    memset(longline, '=', 999);
    check_qp_roundtrip(longline, 999);
    const char *mixed = "Überraschung für Сирський: «Gerasimov» — 100 % sûr = vrai\r\n"
                        "line two with trailing blanks   \n\n\ttabbed \n";
    check_qp_roundtrip(mixed, strlen(mixed));
    /* every byte value, pseudo-random lengths and line breaks */
    unsigned seed = 12345;
    char rnd[3000];
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + (seed % sizeof rnd);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned char c = (unsigned char)(seed >> 16);
            rnd[i] = c == 0 ? 'z' : c == '\r' ? '\n' : (char)c;
        }
        check_qp_roundtrip(rnd, n);
    }
}

static void check_header(const char *name, const char *value, const char *want_decoded)
{
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(mime_header(&b, name, value) == 0);
    const char *h = b.data;
    size_t bare;
    CHECK_INT(mc_max_line(h, &bare), <=, 78);
    CHECK_INT(bare, ==, 0);
    CHECK(strlen(h) >= 2 && strcmp(h + strlen(h) - 2, "\r\n") == 0);
    /* exactly one field: every inner CRLF is followed by a blank */
    for (const char *p = strstr(h, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
        CHECK(p[2] == ' ');
    /* encoded words stay within 75 characters */
    for (const char *w = strstr(h, "=?"); w; w = strstr(w + 2, "=?")) {
        const char *e = strstr(w + 10, "?=");
        REQUIRE(e);
        CHECK_INT(e + 2 - w, <=, 75);
        w = e;
    }
    char msg[8192];
    snprintf(msg, sizeof msg, "%s\r\n", h);
    char *dec = mc_header(msg, name);
    CHECK_STR(dec, want_decoded);
    free(dec);
    buf_free(&b);
}

static void test_headers(void)
{
    struct buf b;
    buf_init(&b, 0);
    mime_header(&b, "Subject", "[vigil] [HIGH] Plain subject");
    CHECK_STR(b.data, "Subject: [vigil] [HIGH] Plain subject\r\n");
    buf_free(&b);
    check_header("Subject", "[vigil] [HIGH] Plain subject", "[vigil] [HIGH] Plain subject");
    check_header("Subject",
                 "A very long plain subject that certainly goes on past the seventy-eight "
                 "column limit of RFC 5322 and must be folded at blanks, twice even, because "
                 "it is really long",
                 "A very long plain subject that certainly goes on past the seventy-eight "
                 "column limit of RFC 5322 and must be folded at blanks, twice even, because "
                 "it is really long");
    const char *ru = "[vigil] [CRITICAL] Kursk: Überraschung für Олександр Сирський — "
                     "Герасимов подтвердил участие северокорейских военнослужащих";
    check_header("Subject", ru, ru);
    check_header("X-Vigil-Alert-Id", "\xe2\x82\xac", "\xe2\x82\xac");
    /* "=?" in a plain value would be read as an encoded word: encode it */
    check_header("Subject", "why =?x?= matters", "why =?x?= matters");
    /* header injection: CR/LF become blanks, there is no Bcc field */
    buf_init(&b, 0);
    mime_header(&b, "Subject", "hello\r\nBcc: victim@example.org");
    CHECK_NOT_CONTAINS(b.data, "\r\nBcc");
    CHECK_STR(b.data, "Subject: hello Bcc: victim@example.org\r\n");
    buf_free(&b);
}

static void test_addresses(void)
{
    char name[MIME_NAME_MAX], addr[MIME_ADDR_MAX];
    CHECK_INT(mime_parse_address("ops@example.org", name, sizeof name, addr, sizeof addr), ==, 0);
    CHECK_STR(addr, "ops@example.org");
    CHECK_STR(name, "");
    CHECK_INT(mime_parse_address("  Vigil Alerts <alerts@example.org> ", name, sizeof name, addr,
                                 sizeof addr),
              ==, 0);
    CHECK_STR(name, "Vigil Alerts");
    CHECK_STR(addr, "alerts@example.org");
    CHECK_INT(mime_parse_address("\"Ops, \\\"Team\\\"\" <ops@example.org>", name, sizeof name, addr,
                                 sizeof addr),
              ==, 0);
    CHECK_STR(name, "Ops, \"Team\"");
    CHECK_INT(mime_parse_address("<bare@example.org>", name, sizeof name, addr, sizeof addr), ==,
              0);
    CHECK_STR(name, "");
    static const char *const bad[] = {"",
                                      "nobody",
                                      "@example.org",
                                      "a@",
                                      "a b@example.org",
                                      "a@b@c",
                                      "Name <a@example.org",
                                      "N <a@example.org> x",
                                      "a@example.org\r\nBcc: x@y",
                                      "x <a,b@example.org>",
                                      "x <>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(mime_parse_address(bad[i], name, sizeof name, addr, sizeof addr), ==, -1);

    struct buf b;
    buf_init(&b, 0);
    mime_format_address(&b, "", "a@example.org");
    CHECK_STR(b.data, "a@example.org");
    buf_reset(&b);
    mime_format_address(&b, "Vigil Alerts", "a@example.org");
    CHECK_STR(b.data, "Vigil Alerts <a@example.org>");
    buf_reset(&b);
    mime_format_address(&b, "Ops, \"Team\"", "a@example.org");
    CHECK_STR(b.data, "\"Ops, \\\"Team\\\"\" <a@example.org>");
    buf_reset(&b);
    mime_format_address(&b, "Équipe Sécurité", "a@example.org");
    char msg[512];
    snprintf(msg, sizeof msg, "To: %s\r\n\r\n", b.data);
    char *dec = mc_header(msg, "To");
    CHECK_STR(dec, "Équipe Sécurité <a@example.org>");
    free(dec);
    buf_free(&b);
}

static void test_message_id_and_date(void)
{
    char a[512], b2[512];
    mime_message_id("7f3a9c0d12e4b5a6", "example.org", a, sizeof a);
    CHECK_STR(a, "vigil.7f3a9c0d12e4b5a6@example.org");
    mime_message_id("7f3a9c0d12e4b5a6:u23", "example.org", a, sizeof a);
    CHECK_STR(a, "vigil.7f3a9c0d12e4b5a6=3Au23@example.org");
    /* ids that differ only in a replaced character stay different */
    mime_message_id("a.b", "example.org", a, sizeof a);
    mime_message_id("a_b", "example.org", b2, sizeof b2);
    CHECK(strcmp(a, b2) != 0);
    mime_message_id("x", "[127.0.0.1]", a, sizeof a);
    CHECK_STR(a, "vigil.x@vigil.invalid");
    char longid[300];
    memset(longid, 'q', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    mime_message_id(longid, "example.org", a, sizeof a);
    CHECK_INT(strlen(a), <, 60);
    mime_message_id(longid, "example.org", b2, sizeof b2);
    CHECK_STR(a, b2); /* stable */

    char d[64];
    mime_date(1730711585000LL, d, sizeof d); /* 2024-11-04T09:13:05Z */
    CHECK_STR(d, "Mon, 04 Nov 2024 09:13:05 +0000");
    mime_date(0, d, sizeof d);
    CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static void test_build(void)
{
    const char *to[] = {"ops@example.org", "Duty Desk <duty@example.net>",
                        "\"Night, Shift\" <night@example.com>",
                        "=?UTF-8?B?w4lxdWlwZQ==?= <equipe@example.fr>"};
    const char *extra[] = {"X-Vigil-Alert-Id", "7f3a:u2", NULL, NULL};
    struct mime_message m = {.from = "Vigil <alerts@example.org>",
                             .to = to,
                             .nto = 4,
                             .subject = "[vigil] Überraschung",
                             .date_ms = 1730711585000LL,
                             .message_id = "vigil.7f3a=3Au2@example.org",
                             .in_reply_to = "vigil.7f3a@example.org",
                             .extra = extra,
                             .text = "Plain text = body\nwith lines\n",
                             .html = "<p>HTML &amp; body</p>\n"};
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(mime_build(&m, &b) == 0);
    const char *msg = b.data;
    size_t bare;
    CHECK_INT(mc_max_line(msg, &bare), <=, 78);
    CHECK_INT(bare, ==, 0);
    char *v = mc_header(msg, "Subject");
    CHECK_STR(v, "[vigil] Überraschung");
    free(v);
    v = mc_header(msg, "To");
    CHECK_STR(v, "ops@example.org, Duty Desk <duty@example.net>, \"Night, Shift\" "
                 "<night@example.com>, Équipe <equipe@example.fr>");
    free(v);
    v = mc_header(msg, "Date");
    CHECK_STR(v, "Mon, 04 Nov 2024 09:13:05 +0000");
    free(v);
    v = mc_header(msg, "Message-ID");
    CHECK_STR(v, "<vigil.7f3a=3Au2@example.org>");
    free(v);
    v = mc_header(msg, "In-Reply-To");
    CHECK_STR(v, "<vigil.7f3a@example.org>");
    free(v);
    v = mc_header(msg, "References");
    CHECK_STR(v, "<vigil.7f3a@example.org>");
    free(v);
    v = mc_header(msg, "X-Vigil-Alert-Id");
    CHECK_STR(v, "7f3a:u2");
    free(v);
    v = mc_header(msg, "MIME-Version");
    CHECK_STR(v, "1.0");
    free(v);
    v = mc_header(msg, "Auto-Submitted");
    CHECK_STR(v, "auto-generated");
    free(v);
    struct mc_part parts[4];
    int n = mc_parts(msg, parts, 4);
    REQUIRE(n == 2);
    CHECK_STR(parts[0].type, "text/plain; charset=UTF-8");
    CHECK_STR(parts[0].encoding, "quoted-printable");
    CHECK_STR(parts[0].body, "Plain text = body\r\nwith lines\r\n");
    CHECK_STR(parts[1].type, "text/html; charset=UTF-8");
    CHECK_STR(parts[1].body, "<p>HTML &amp; body</p>\r\n");
    mc_part_free(&parts[0]);
    mc_part_free(&parts[1]);
    /* the message ends with the closing delimiter */
    CHECK(strlen(msg) > 5 && strcmp(msg + strlen(msg) - 4, "--\r\n") == 0);
    buf_free(&b);
}

int main(void)
{
    RUN(test_qp);
    RUN(test_headers);
    RUN(test_addresses);
    RUN(test_message_id_and_date);
    RUN(test_build);
    return test_summary();
}
