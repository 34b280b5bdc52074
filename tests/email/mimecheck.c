#include "mimecheck.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *mc_qp_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '=') {
            out[o++] = s[i];
            continue;
        }
        if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2; /* soft break */
            continue;
        }
        if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

char *mc_b64_decode(const char *s, size_t len, size_t *outlen)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=')
            break;
        int v = b64v((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
}

/* Encoded words "=?UTF-8?B?...?=" (B only, which is all the plugin writes);
 * blanks between two encoded words are dropped, as RFC 2047 says. */
char *mc_2047_decode(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 2 + 1);
    size_t o = 0;
    const char *p = s;
    int last_was_word = 0;
    while (*p) {
        if (strncasecmp(p, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(p + 10, "?=");
            if (!end) {
                free(out);
                return NULL;
            }
            size_t dl;
            char *d = mc_b64_decode(p + 10, (size_t)(end - p - 10), &dl);
            if (!d) {
                free(out);
                return NULL;
            }
            /* drop the blanks kept since the previous word */
            if (last_was_word)
                while (o > 0 && out[o - 1] == ' ')
                    o--;
            memcpy(out + o, d, dl);
            o += dl;
            free(d);
            p = end + 2;
            last_was_word = 1;
            continue;
        }
        if (*p != ' ')
            last_was_word = 0;
        out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

/* End of the header block (the empty line), or NULL. */
static const char *header_end(const char *msg)
{
    const char *e = strstr(msg, "\r\n\r\n");
    return e;
}

char *mc_header_raw(const char *msg, const char *name)
{
    const char *end = header_end(msg);
    if (!end)
        end = msg + strlen(msg);
    size_t nl = strlen(name);
    const char *line = msg;
    while (line < end) {
        const char *eol = strstr(line, "\r\n");
        if (!eol || eol > end)
            eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            /* unfold: CRLF followed by a blank continues the field */
            const char *v = line + nl + 1;
            char *out = malloc((size_t)(end - v) + 1);
            size_t o = 0;
            for (const char *q = v; q < end; q++) {
                if (q[0] == '\r' && q[1] == '\n') {
                    if (q[2] == ' ' || q[2] == '\t') {
                        q += 1; /* keep the blank that follows */
                        continue;
                    }
                    break;
                }
                out[o++] = *q;
            }
            out[o] = '\0';
            char *t = out;
            while (*t == ' ')
                t++;
            memmove(out, t, strlen(t) + 1);
            return out;
        }
        line = eol + 2;
    }
    return NULL;
}

char *mc_header(const char *msg, const char *name)
{
    char *raw = mc_header_raw(msg, name);
    if (!raw)
        return NULL;
    char *d = mc_2047_decode(raw);
    free(raw);
    return d;
}

void mc_part_free(struct mc_part *p)
{
    free(p->type);
    free(p->encoding);
    free(p->body);
    memset(p, 0, sizeof *p);
}

int mc_parts(const char *msg, struct mc_part *parts, int max)
{
    char *ct = mc_header_raw(msg, "Content-Type");
    if (!ct || strncasecmp(ct, "multipart/", 10) != 0) {
        free(ct);
        return -1;
    }
    char *b = strstr(ct, "boundary=\"");
    if (!b) {
        free(ct);
        return -1;
    }
    b += 10;
    char *q = strchr(b, '"');
    if (!q) {
        free(ct);
        return -1;
    }
    *q = '\0';
    char delim[256];
    snprintf(delim, sizeof delim, "\r\n--%s", b);
    free(ct);
    int n = 0;
    const char *p = strstr(msg, delim);
    while (p && n < max) {
        p += strlen(delim);
        if (strncmp(p, "--", 2) == 0)
            break;
        p += 2; /* CRLF after the delimiter */
        const char *next = strstr(p, delim);
        if (!next)
            return -1;
        const char *hend = strstr(p, "\r\n\r\n");
        if (!hend || hend > next)
            return -1;
        size_t plen = (size_t)(next - p);
        char *piece = malloc(plen + 1);
        memcpy(piece, p, plen);
        piece[plen] = '\0';
        struct mc_part *pt = &parts[n++];
        memset(pt, 0, sizeof *pt);
        pt->type = mc_header_raw(piece, "Content-Type");
        pt->encoding = mc_header_raw(piece, "Content-Transfer-Encoding");
        const char *body = piece + (hend - p) + 4;
        if (pt->encoding && strcasecmp(pt->encoding, "quoted-printable") == 0)
            pt->body = mc_qp_decode(body, strlen(body));
        else
            pt->body = strdup(body);
        free(piece);
        p = next;
    }
    return n;
}

size_t mc_max_line(const char *s, size_t *bare_lf)
{
    size_t best = 0, cur = 0;
    if (bare_lf)
        *bare_lf = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            if (bare_lf && (p == s || p[-1] != '\r'))
                (*bare_lf)++;
            if (cur > 0 && p[-1] == '\r')
                cur--;
            if (cur > best)
                best = cur;
            cur = 0;
        } else {
            cur++;
        }
    }
    return cur > best ? cur : best;
}
