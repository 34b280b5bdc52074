#include "tok.h"

#include <string.h>

#include <unicode/uchar.h>

uint32_t tok_decode(const char *s, size_t len, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i;
    uint32_t c = p[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *i += 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        *i += 1;
        return 0xFFFD;
    }
    if (left < n) {
        *i += 1;
        return 0xFFFD;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *i += 1;
            return 0xFFFD;
        }
        c = (c << 6) | (p[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *i += 1;
        return 0xFFFD;
    }
    *i += n;
    return c;
}

uint32_t tok_decode_prev(const char *s, size_t i, size_t *start)
{
    size_t b = i;
    /* Step back over at most three continuation bytes to a lead byte. */
    while (b > 0 && i - b < 4) {
        b--;
        if (((unsigned char)s[b] & 0xC0) != 0x80)
            break;
    }
    size_t j = b;
    uint32_t c = tok_decode(s, i, &j);
    if (j != i) {
        /* Not a well-formed sequence ending at i: treat the last byte alone. */
        b = i - 1;
        c = 0xFFFD;
    }
    if (start)
        *start = b;
    return c;
}

int tok_is_word_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c == 0xFFFD)
        return 0;
    int32_t mask = U_GET_GC_MASK((UChar32)c);
    return (mask & (U_GC_L_MASK | U_GC_N_MASK | U_GC_M_MASK)) != 0;
}

int tok_word_starts_at(const char *s, size_t i)
{
    if (i == 0)
        return 1;
    unsigned char prev = (unsigned char)s[i - 1];
    if (prev < 0x80)
        return !tok_is_word_cp(prev);
    return !tok_is_word_cp(tok_decode_prev(s, i, NULL));
}

uint32_t tok_case_variant(uint32_t c, int which)
{
    switch (which) {
    case 0: return (uint32_t)u_tolower((UChar32)c);
    case 1: return (uint32_t)u_toupper((UChar32)c);
    default: return (uint32_t)u_totitle((UChar32)c);
    }
}

size_t tok_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

size_t tok_fold(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    if (cap == 0)
        return (size_t)-1;
    while (i < len) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            if (o + 1 >= cap)
                return (size_t)-1;
            out[o++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            i++;
            continue;
        }
        uint32_t c = tok_decode(s, len, &i);
        c = (uint32_t)u_foldCase((UChar32)c, U_FOLD_CASE_DEFAULT);
        if (o + 4 >= cap)
            return (size_t)-1;
        o += tok_encode(c, out + o);
    }
    out[o] = '\0';
    return o;
}

static int is_space_cp(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0 ||
           (c >= 0x2000 && c <= 0x200B) || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Classify a non-word code point; glued = word characters on both sides. */
static uint8_t break_of(uint32_t c, int glued_left, int glued_right)
{
    switch (c) {
    case ',':
    case 0x3001:                                                       /* ideographic comma */
    case 0xFF0C: return glued_left && glued_right ? 0 : TOK_BRK_COMMA; /* 10,000 */
    case ';':
    case 0xFF1B: return glued_left && glued_right ? 0 : TOK_BRK_CLAUSE;
    case ':':
    case 0xFF1A: return glued_left && glued_right ? 0 : TOK_BRK_CLAUSE | TOK_BRK_COLON;
    case '"':
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x00AB:
    case 0x00BB:
    case 0x2039:
    case 0x203A:
    case 0x2018: return TOK_BRK_QUOTE;
    case '\'':
    case 0x2019: return glued_left && glued_right ? TOK_BRK_APOS : TOK_BRK_QUOTE;
    case 0x2014:
    case 0x2013: return TOK_BRK_DASH;
    case '-': return glued_left && glued_right ? 0 : (glued_left || glued_right ? 0 : TOK_BRK_DASH);
    case '(':
    case ')':
    case '[':
    case ']': return TOK_BRK_PAREN;
    case '.': return glued_left && glued_right ? 0 : TOK_BRK_STOP;
    case '!':
    case '?':
    case 0x3002: return TOK_BRK_STOP;
    default: return 0;
    }
}

static int abbrev_before(const char *text, size_t dot);

size_t tok_words(const char *text, size_t start, size_t end, struct tok_word *out, size_t max,
                 uint8_t *trail)
{
    size_t n = 0, i = start;
    uint8_t pending = 0;
    int prev_word = 0; /* previous code point was a word character */
    while (i < end) {
        size_t at = i;
        unsigned char b = (unsigned char)text[i];
        uint32_t c;
        if (b < 0x80) {
            c = b;
            i++;
        } else {
            c = tok_decode(text, end, &i);
        }
        if (tok_is_word_cp(c)) {
            /* Consume the whole word. */
            size_t ws = at;
            while (i < end) {
                size_t j = i;
                uint32_t d = (unsigned char)text[j] < 0x80 ? (unsigned char)text[j++]
                                                           : tok_decode(text, end, &j);
                if (!tok_is_word_cp(d))
                    break;
                i = j;
            }
            if (n < max) {
                out[n].start = (uint32_t)ws;
                out[n].end = (uint32_t)i;
                out[n].brk = pending;
            }
            n++;
            pending = 0;
            prev_word = 1;
            continue;
        }
        if (!is_space_cp(c)) {
            int glued_right = 0;
            if (i < end) {
                size_t j = i;
                glued_right = tok_is_word_cp(tok_decode(text, end, &j));
            }
            /* The splitter already kept "U.S. Central Command" in one
             * sentence; its dot must not cut the clause either. */
            if (!(c == '.' && prev_word && abbrev_before(text, at)))
                pending |= break_of(c, prev_word, glued_right);
        }
        prev_word = 0;
    }
    if (trail)
        *trail = pending;
    return n;
}

/* Abbreviations after which "." does not end a sentence (folded, no dot). */
static const char *const abbrevs[] = {
    "mr",   "mrs", "ms",  "dr",  "prof", "gen",  "col", "lt",  "sgt",    "capt", "maj",
    "cmdr", "adm", "gov", "sen", "rep",  "pres", "st",  "jr",  "sr",     "no",   "vs",
    "etc",  "inc", "ltd", "co",  "corp", "dept", "fig", "jan", "feb",    "mar",  "apr",
    "jun",  "jul", "aug", "sep", "sept", "oct",  "nov", "dec", "approx", "est",  "rev",
    "u.s",  "u.k", "e.g", "i.e", "u.n",  "a.m",  "p.m", NULL};

static int abbrev_before(const char *text, size_t dot)
{
    /* The token before the dot: letters and inner dots. */
    size_t b = dot;
    while (b > 0) {
        unsigned char ch = (unsigned char)text[b - 1];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '.')
            b--;
        else
            break;
    }
    size_t n = dot - b;
    if (n == 0 || n > 8)
        return 0;
    if (n == 1 && text[b] >= 'A' && text[b] <= 'Z')
        return 1; /* initials: "Kim J. Un" */
    char low[16];
    for (size_t k = 0; k < n; k++) {
        char ch = text[b + k];
        low[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    low[n] = '\0';
    for (size_t k = 0; abbrevs[k]; k++)
        if (strcmp(low, abbrevs[k]) == 0)
            return 1;
    return 0;
}

static int is_closer(uint32_t c)
{
    return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0x201D || c == 0x2019 ||
           c == 0x00BB;
}

static int starts_sentence(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '"' || c == '\'' ||
               c == '(' || c == '[';
    return u_isupper((UChar32)c) || u_istitle((UChar32)c) || c == 0x201C || c == 0x2018 ||
           c == 0x00AB || c == 0x201E;
}

static size_t emit(const char *text, size_t s, size_t e, struct tok_span *out, size_t max, size_t n)
{
    /* Trim white space on both ends. */
    while (s < e) {
        size_t j = s;
        if (!is_space_cp(tok_decode(text, e, &j)))
            break;
        s = j;
    }
    while (e > s) {
        size_t b;
        if (!is_space_cp(tok_decode_prev(text, e, &b)))
            break;
        e = b;
    }
    if (e <= s)
        return n;
    if (n < max) {
        out[n].start = (uint32_t)s;
        out[n].end = (uint32_t)e;
    }
    return n + 1;
}

size_t tok_sentences(const char *text, size_t len, struct tok_span *out, size_t max)
{
    size_t n = 0, s = 0, i = 0;
    while (i < len) {
        size_t at = i;
        uint32_t c = tok_decode(text, len, &i);
        if (c == '\n') {
            n = emit(text, s, at, out, max, n);
            s = i;
            continue;
        }
        if (c != '.' && c != '!' && c != '?' && c != 0x2026)
            continue;
        if (c == '.' && abbrev_before(text, at))
            continue;
        /* Swallow repeated terminators and closing quotes/brackets. */
        size_t e = i;
        while (e < len) {
            size_t j = e;
            uint32_t d = tok_decode(text, len, &j);
            if (d == '.' || d == '!' || d == '?' || is_closer(d))
                e = j;
            else
                break;
        }
        /* Require white space, then a sentence start (or the end). */
        size_t j = e;
        int space = 0;
        while (j < len) {
            size_t k = j;
            uint32_t d = tok_decode(text, len, &k);
            if (d == '\n' || !is_space_cp(d))
                break;
            space = 1;
            j = k;
        }
        if (j >= len || (j < len && text[j] == '\n')) {
            n = emit(text, s, e, out, max, n);
            s = e;
            i = e;
            continue;
        }
        if (!space)
            continue;
        size_t k = j;
        if (starts_sentence(tok_decode(text, len, &k))) {
            n = emit(text, s, e, out, max, n);
            s = j;
            i = j;
        }
    }
    return emit(text, s, len, out, max, n);
}

int tok_is_question(const char *text, size_t start, size_t end)
{
    size_t e = end;
    while (e > start) {
        size_t b;
        uint32_t c = tok_decode_prev(text, e, &b);
        if (b < start)
            break;
        if (is_space_cp(c) || is_closer(c) || c == 0x201C) {
            e = b;
            continue;
        }
        return c == '?' || c == 0xFF1F;
    }
    return 0;
}
