#include "text.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>

size_t feed_utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp <= 0x10FFFF) {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
    }
    return 0;
}

/* windows-1252 0x80..0x9F; 0 where the code page has a hole. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

size_t feed_text_entity(const char *s, size_t len, uint32_t *cp)
{
    size_t i = 1;
    if (len < 3 || s[0] != '&')
        return 0;
    if (s[1] == '#') {
        uint64_t v = 0;
        int hex = 0, digits = 0;
        i = 2;
        if (i < len && (s[i] == 'x' || s[i] == 'X')) {
            hex = 1;
            i++;
        }
        for (; i < len && digits < 9; i++, digits++) {
            unsigned char c = (unsigned char)s[i];
            if (isdigit(c))
                v = v * (hex ? 16 : 10) + (c - '0');
            else if (hex && isxdigit(c))
                v = v * 16 + (uint64_t)(tolower(c) - 'a' + 10);
            else
                break;
        }
        if (digits == 0 || i >= len || s[i] != ';')
            return 0;
        if (v >= 0x80 && v <= 0x9F)
            v = cp1252_c1[v - 0x80] ? cp1252_c1[v - 0x80] : 0xFFFD;
        if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            v = 0xFFFD;
        *cp = (uint32_t)v;
        return i + 1;
    }
    char name[33];
    size_t n = 0;
    for (; i < len && n < sizeof name - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c))
            break;
        name[n++] = (char)c;
    }
    if (n == 0)
        return 0;
    name[n] = '\0';
    if (i >= len || s[i] != ';') {
        /* HTML's legacy references written without ';' ("AT&amp T"),
         * only where the next character cannot continue a name or a query
         * parameter. */
        static const struct {
            const char *name;
            uint32_t cp;
        } legacy[] = {{"amp", '&'},   {"lt", '<'},    {"gt", '>'},   {"quot", '"'},
                      {"nbsp", 0xA0}, {"copy", 0xA9}, {"reg", 0xAE}, {NULL, 0}};
        if (i < len && (isalnum((unsigned char)s[i]) || s[i] == '=' || s[i] == '_'))
            return 0;
        for (int k = 0; legacy[k].name; k++) {
            if (strcmp(name, legacy[k].name) == 0) {
                *cp = legacy[k].cp;
                return i;
            }
        }
        return 0;
    }
    if (strcmp(name, "apos") == 0) {
        *cp = '\'';
        return i + 1;
    }
    const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
    if (!e)
        return 0;
    *cp = e->value;
    return i + 1;
}

/* The folding writer: pending space is written lazily so runs collapse and
 * the result is trimmed at both ends. */
struct folder {
    struct buf *out;
    size_t start;
    int space;
    int err;
};

static void fold_space(struct folder *f)
{
    f->space = 1;
}

static void fold_bytes(struct folder *f, const char *s, size_t n)
{
    if (f->err || n == 0)
        return;
    if (f->space && f->out->len > f->start) {
        if (buf_append(f->out, " ", 1) != 0)
            f->err = 1;
    }
    f->space = 0;
    if (!f->err && buf_append(f->out, s, n) != 0)
        f->err = 1;
}

static void fold_cp(struct folder *f, uint32_t cp)
{
    char u[4];
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == 0xA0 ||
        cp == 0x2028 || cp == 0x2029) {
        fold_space(f);
        return;
    }
    if (cp < 0x20 || cp == 0x7F)
        return; /* stray control characters carry nothing readable */
    size_t n = feed_utf8_put(cp, u);
    fold_bytes(f, u, n);
}

/* Bytes that need attention while folding: whitespace, controls, '&'
 * (when decoding), and the lead bytes of U+00A0, U+2028 and U+2029. */
static int special(const unsigned char *s, size_t len, size_t i, int decode)
{
    unsigned char c = s[i];
    if (c < 0x80)
        return c <= 0x20 || c == 0x7F || (c == '&' && decode);
    if (c == 0xC2)
        return i + 1 < len && s[i + 1] == 0xA0;
    if (c == 0xE2)
        return i + 2 < len && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9);
    return 0;
}

/* Feed one run of text (no tags), references optionally decoded. Plain
 * stretches are copied in one append. */
static void fold_text(struct folder *f, const char *s, size_t len, int decode)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len && !f->err) {
        size_t j = i;
        while (j < len && !special(u, len, j, decode))
            j++;
        if (j > i) {
            fold_bytes(f, s + i, j - i);
            i = j;
            continue;
        }
        unsigned char c = u[i];
        if (c == '&') {
            uint32_t cp;
            size_t n = feed_text_entity(s + i, len - i, &cp);
            if (n) {
                fold_cp(f, cp);
                i += n;
            } else {
                fold_bytes(f, "&", 1);
                i++;
            }
        } else if (c == 0xC2) {
            fold_space(f); /* U+00A0 */
            i += 2;
        } else if (c == 0xE2) {
            fold_space(f); /* U+2028, U+2029 */
            i += 3;
        } else {
            if (isspace(c))
                fold_space(f);
            i++; /* other control characters carry nothing readable */
        }
    }
}

int feed_text_fold(const char *s, size_t len, struct buf *out)
{
    struct folder f = {out, out->len, 0, 0};
    fold_text(&f, s, len, 0);
    return f.err ? -1 : 0;
}

static int is_tag_start(const char *s, size_t len, size_t i)
{
    if (i + 1 >= len)
        return 0;
    unsigned char c = (unsigned char)s[i + 1];
    return isalpha(c) || c == '/' || c == '!' || c == '?';
}

int feed_text_has_markup(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '<' && is_tag_start(s, len, i))
            return 1;
        if (s[i] == '&') {
            uint32_t cp;
            if (feed_text_entity(s + i, len - i, &cp))
                return 1;
        }
    }
    return 0;
}

/* Elements whose boundaries separate words. */
static int is_block(const char *name, size_t n)
{
    static const char *const blocks[] = {
        "address", "article",    "aside",  "blockquote", "br",   "caption", "dd",  "div", "dl",
        "dt",      "figcaption", "figure", "footer",     "form", "h1",      "h2",  "h3",  "h4",
        "h5",      "h6",         "header", "hr",         "li",   "main",    "nav", "ol",  "p",
        "pre",     "section",    "table",  "td",         "th",   "tr",      "ul",  NULL};
    for (int i = 0; blocks[i]; i++) {
        if (strlen(blocks[i]) == n && strncasecmp(blocks[i], name, n) == 0)
            return 1;
    }
    return 0;
}

/* Index just past the '>' closing the tag that starts at i, honouring
 * quoted attribute values; len when the tag never closes. */
static size_t tag_end(const char *s, size_t len, size_t i)
{
    char quote = 0;
    for (i++; i < len; i++) {
        char c = s[i];
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '>') {
            return i + 1;
        }
    }
    return len;
}

static const char *find_ci(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (strncasecmp(s + i, needle, n) == 0)
            return s + i;
    }
    return NULL;
}

int feed_text_from_html(const char *s, size_t len, struct buf *out)
{
    struct folder f = {out, out->len, 0, 0};
    size_t i = 0, run = 0;
    while (i < len && !f.err) {
        if (s[i] != '<' || !is_tag_start(s, len, i)) {
            i++;
            continue;
        }
        fold_text(&f, s + run, i - run, 1);
        if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
            const char *e = find_ci(s + i + 4, len - i - 4, "-->");
            i = e ? (size_t)(e - s) + 3 : len;
            run = i;
            continue;
        }
        if (len - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0) {
            const char *e = find_ci(s + i + 9, len - i - 9, "]]>");
            size_t end = e ? (size_t)(e - s) : len;
            fold_text(&f, s + i + 9, end - i - 9, 0);
            i = e ? end + 3 : len;
            run = i;
            continue;
        }
        size_t name = i + 1 + (s[i + 1] == '/');
        size_t ne = name;
        while (ne < len && (isalnum((unsigned char)s[ne]) || s[ne] == '-' || s[ne] == ':'))
            ne++;
        size_t end = tag_end(s, len, i);
        if (is_block(s + name, ne - name))
            fold_space(&f);
        if (s[i + 1] != '/' && ((ne - name == 6 && strncasecmp(s + name, "script", 6) == 0) ||
                                (ne - name == 5 && strncasecmp(s + name, "style", 5) == 0))) {
            char close[10];
            close[0] = '<';
            close[1] = '/';
            memcpy(close + 2, s + name, ne - name);
            close[2 + ne - name] = '\0';
            const char *e = find_ci(s + end, len - end, close);
            end = e ? tag_end(s, len, (size_t)(e - s)) : len;
        }
        i = end;
        run = i;
    }
    if (!f.err)
        fold_text(&f, s + run, len - run, 1);
    return f.err ? -1 : 0;
}

int feed_text_escape_html(const char *s, size_t len, struct buf *out)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        if (s[i] == '&')
            rep = "&amp;";
        else if (s[i] == '<')
            rep = "&lt;";
        else if (s[i] == '>')
            rep = "&gt;";
        if (!rep)
            continue;
        if (buf_append(out, s + run, i - run) != 0 || buf_append_str(out, rep) != 0)
            return -1;
        run = i + 1;
    }
    return buf_append(out, s + run, len - run);
}
