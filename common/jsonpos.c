/*
 * jsonpos - a minimal JSON scanner that walks a text along a JSON Pointer.
 *
 * It does not build values: it skips everything that is not on the path.
 * Depth is bounded by the pointer's length, not by the document's, because
 * skipped containers are counted, not recursed into.
 */
#include "jsonpos.h"

#include <stdlib.h>
#include <string.h>

struct scan {
    const char *s;
    size_t len;
    size_t pos;
};

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            sc->pos++;
        else
            break;
    }
}

/* Skip a string starting at the opening quote. Returns 0 or -1. */
static int skip_string(struct scan *sc)
{
    if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
        return -1;
    sc->pos++;
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos++];
        if (c == '\\') {
            if (sc->pos >= sc->len)
                return -1;
            sc->pos++;
        } else if (c == '"') {
            return 0;
        }
    }
    return -1;
}

/* Skip any value, containers included, without recursion. */
static int skip_value(struct scan *sc)
{
    size_t depth = 0;
    skip_ws(sc);
    do {
        if (sc->pos >= sc->len)
            return -1;
        char c = sc->s[sc->pos];
        if (c == '"') {
            if (skip_string(sc) != 0)
                return -1;
        } else if (c == '{' || c == '[') {
            depth++;
            sc->pos++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return -1;
            depth--;
            sc->pos++;
        } else if (depth > 0) {
            /* commas, colons, whitespace and scalars inside containers */
            sc->pos++;
        } else {
            /* a scalar at top level: run to a delimiter */
            while (sc->pos < sc->len) {
                c = sc->s[sc->pos];
                if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' ||
                    c == '\r')
                    break;
                sc->pos++;
            }
        }
    } while (depth > 0);
    return 0;
}

/* Decode one JSON string token (at its opening quote) into a malloc'd
 * buffer. Only what key comparison needs: \uXXXX outside the BMP is kept as
 * two code units, which never matches a pointer token anyway. */
static char *read_string(struct scan *sc)
{
    size_t start = sc->pos;
    if (skip_string(sc) != 0)
        return NULL;
    size_t end = sc->pos - 1; /* closing quote */
    char *out = malloc(end - start + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = start + 1; i < end; i++) {
        char c = sc->s[i];
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        c = sc->s[++i];
        switch (c) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4 && i + 1 < end; k++) {
                char h = sc->s[++i];
                cp <<= 4;
                if (h >= '0' && h <= '9')
                    cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f')
                    cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                    cp |= (unsigned)(h - 'A' + 10);
            }
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xC0 | (cp >> 6));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[o++] = (char)(0xE0 | (cp >> 12));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: out[o++] = c; break;
        }
    }
    out[o] = '\0';
    return out;
}

/* Next reference token of pointer p (after its '/'), unescaped into buf.
 * Returns the position after the token. */
static const char *next_token(const char *p, char *buf, size_t buflen)
{
    size_t o = 0;
    while (*p && *p != '/') {
        char c = *p++;
        if (c == '~' && (*p == '0' || *p == '1')) {
            c = (*p == '0') ? '~' : '/';
            p++;
        }
        if (o + 1 < buflen)
            buf[o++] = c;
    }
    buf[o] = '\0';
    return p;
}

void jsonpos_offset_to_linecol(const char *text, size_t len, size_t offset, int *line, int *col)
{
    int l = 1, c = 1;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++; /* count code points: skip UTF-8 continuation bytes */
        }
    }
    *line = l;
    *col = c;
}

int jsonpos_find(const char *text, size_t len, const char *pointer, enum jsonpos_what what,
                 int *line, int *col)
{
    struct scan sc = {text, len, 0};
    size_t value_at, key_at;
    int exact = 1;
    char tok[1024];

    /* Skip a UTF-8 byte order mark, which Jansson also tolerates. */
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        sc.pos = 3;
    skip_ws(&sc);
    value_at = key_at = sc.pos;
    if (!pointer)
        pointer = "";

    const char *p = pointer;
    while (*p == '/') {
        p = next_token(p + 1, tok, sizeof tok);
        skip_ws(&sc);
        if (sc.pos >= sc.len) {
            exact = -1;
            break;
        }
        char open = text[sc.pos];
        int found = 0;
        if (open == '{') {
            sc.pos++;
            for (;;) {
                skip_ws(&sc);
                if (sc.pos >= sc.len || text[sc.pos] == '}')
                    break;
                size_t kpos = sc.pos;
                char *key = read_string(&sc);
                if (!key)
                    goto broken;
                skip_ws(&sc);
                if (sc.pos >= sc.len || text[sc.pos] != ':') {
                    free(key);
                    goto broken;
                }
                sc.pos++;
                skip_ws(&sc);
                int match = strcmp(key, tok) == 0;
                free(key);
                if (match) {
                    key_at = kpos;
                    value_at = sc.pos;
                    found = 1;
                    break;
                }
                if (skip_value(&sc) != 0)
                    goto broken;
                skip_ws(&sc);
                if (sc.pos < sc.len && text[sc.pos] == ',')
                    sc.pos++;
            }
        } else if (open == '[') {
            char *endp;
            long want = strtol(tok, &endp, 10);
            if (*tok && *endp == '\0' && want >= 0) {
                sc.pos++;
                for (long i = 0;; i++) {
                    skip_ws(&sc);
                    if (sc.pos >= sc.len || text[sc.pos] == ']')
                        break;
                    if (i == want) {
                        key_at = value_at = sc.pos;
                        found = 1;
                        break;
                    }
                    if (skip_value(&sc) != 0)
                        goto broken;
                    skip_ws(&sc);
                    if (sc.pos < sc.len && text[sc.pos] == ',')
                        sc.pos++;
                }
            }
        }
        if (!found) {
            exact = 0;
            break;
        }
    }

    jsonpos_offset_to_linecol(text, len, (what == JSONPOS_KEY && exact == 1) ? key_at : value_at,
                              line, col);
    return exact == 1 ? 0 : (exact == 0 ? 1 : -1);

broken:
    jsonpos_offset_to_linecol(text, len, value_at, line, col);
    return -1;
}
