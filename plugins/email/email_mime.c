#include "email_mime.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hash.h"

#define QP_MAX_LINE 76 /* RFC 2045: encoded lines, soft break "=" included */
#define HDR_FOLD 78    /* RFC 5322 recommended line length */
#define EW_MAX 75      /* RFC 2047: one encoded word */
#define EW_OVERHEAD 12 /* "=?UTF-8?B?" + "?=" */
#define EW_LINE 76     /* RFC 2047: a line holding encoded words */
#define MSGID_ID_MAX 100

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64(struct buf *out, const unsigned char *p, size_t n)
{
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = b64chars[(v >> 18) & 63];
        q[1] = b64chars[(v >> 12) & 63];
        q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? b64chars[v & 63] : '=';
        if (buf_append(out, q, 4) != 0)
            return -1;
    }
    return 0;
}

/* Longest prefix of s[0..len) within max bytes that ends on a character
 * boundary (at least one whole character when max allows it). */
static size_t utf8_cut(const unsigned char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && (s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* ------------------------------------------------------------------------
 * Quoted-printable
 * --------------------------------------------------------------------- */

int mime_qp(struct buf *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    int line_start = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
            continue; /* the LF makes the break */
        if (c == '\n') {
            if (buf_append(out, "\r\n", 2) != 0)
                return -1;
            col = 0;
            line_start = 1;
            continue;
        }
        int at_end = i + 1 == len || text[i + 1] == '\n' ||
                     (text[i + 1] == '\r' && i + 2 < len && text[i + 2] == '\n');
        int encode = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
                     ((c == ' ' || c == '\t') && at_end) ||
                     (line_start && c == 'F' && len - i >= 5 && memcmp(text + i, "From ", 5) == 0);
        char tok[3];
        size_t tlen;
        if (encode) {
            tok[0] = '=';
            tok[1] = hex[c >> 4];
            tok[2] = hex[c & 15];
            tlen = 3;
        } else {
            tok[0] = (char)c;
            tlen = 1;
        }
        /* keep room for the soft-break "=" on this line */
        if (col + tlen > QP_MAX_LINE - 1) {
            if (buf_append(out, "=\r\n", 3) != 0)
                return -1;
            col = 0;
        }
        if (buf_append(out, tok, tlen) != 0)
            return -1;
        col += tlen;
        line_start = 0;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Headers
 * --------------------------------------------------------------------- */

static int needs_encoding(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x7f || s[i] < 0x20)
            return 1;
        if (s[i] == '=' && i + 1 < n && s[i + 1] == '?')
            return 1;
    }
    return 0;
}

/* Encoded words for s, the first one fitting in the col characters already
 * on the line; later ones on continuation lines (" " + word). */
static int encoded_words(struct buf *out, const unsigned char *s, size_t n, size_t *col)
{
    int first = 1;
    while (n > 0) {
        size_t avail = first ? (*col < EW_LINE ? EW_LINE - *col : 0) : EW_MAX;
        if (avail > EW_MAX)
            avail = EW_MAX;
        if (first && avail < EW_OVERHEAD + 8) {
            /* not even one 4-byte character fits after the name */
            first = 0;
            avail = EW_MAX;
        }
        if (!first) {
            if (buf_append(out, "\r\n ", 3) != 0)
                return -1;
            *col = 1;
        }
        size_t bytes = (avail - EW_OVERHEAD) / 4 * 3;
        size_t k = utf8_cut(s, n, bytes);
        if (k == 0)
            k = n < bytes ? n : bytes; /* malformed UTF-8: cut anyway */
        if (buf_append_str(out, "=?UTF-8?B?") != 0 || b64(out, s, k) != 0 ||
            buf_append_str(out, "?=") != 0)
            return -1;
        *col += EW_OVERHEAD + (k + 2) / 3 * 4;
        s += k;
        n -= k;
        first = 0;
    }
    return 0;
}

int mime_header(struct buf *out, const char *name, const char *value)
{
    size_t vlen = strlen(value);
    unsigned char tmp[2048];
    unsigned char *v = tmp;
    struct buf big;
    buf_init(&big, 0);
    if (vlen >= sizeof tmp) {
        if (buf_append(&big, value, vlen) != 0)
            return -1;
        v = (unsigned char *)big.data;
    } else {
        memcpy(tmp, value, vlen + 1);
    }
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\t')
            v[i] = ' ';
    }
    int rc = buf_printf(out, "%s: ", name);
    size_t col = strlen(name) + 2;
    if (rc == 0 && needs_encoding(v, vlen)) {
        rc = encoded_words(out, v, vlen, &col);
    } else if (rc == 0) {
        /* plain: fold at blanks; runs of blanks collapse to one */
        size_t i = 0;
        int first = 1;
        while (i < vlen && rc == 0) {
            while (i < vlen && v[i] == ' ')
                i++;
            size_t start = i;
            while (i < vlen && v[i] != ' ')
                i++;
            size_t wl = i - start;
            if (wl == 0)
                break;
            if (!first && col + 1 + wl > HDR_FOLD) {
                rc = buf_append(out, "\r\n ", 3);
                col = 1;
            } else if (!first) {
                rc = buf_append(out, " ", 1);
                col++;
            }
            if (rc == 0)
                rc = buf_append(out, v + start, wl);
            col += wl;
            first = 0;
        }
    }
    if (rc == 0)
        rc = buf_append(out, "\r\n", 2);
    buf_free(&big);
    return rc;
}

/* ------------------------------------------------------------------------
 * Addresses
 * --------------------------------------------------------------------- */

static int addr_char_ok(unsigned char c)
{
    return c > ' ' && c < 0x7f && !strchr("<>\",;()\\", c);
}

static int check_addr(const char *a, size_t n)
{
    if (n == 0 || n >= MIME_ADDR_MAX)
        return -1;
    size_t at = n;
    for (size_t i = 0; i < n; i++) {
        if (!addr_char_ok((unsigned char)a[i]))
            return -1;
        if (a[i] == '@') {
            if (at != n)
                return -1; /* two @ */
            at = i;
        }
    }
    if (at == n || at == 0 || at == n - 1)
        return -1;
    return 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

int mime_parse_address(const char *spec, char *name, size_t namecap, char *addr, size_t addrcap)
{
    const char *lt = strchr(spec, '<');
    const char *a = spec;
    size_t an = strlen(spec);
    const char *nm = "";
    size_t nn = 0;
    for (const unsigned char *p = (const unsigned char *)spec; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return -1;
    }
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            return -1;
        for (const char *p = gt + 1; *p; p++) {
            if (!isspace((unsigned char)*p))
                return -1;
        }
        a = lt + 1;
        an = (size_t)(gt - lt - 1);
        nm = spec;
        nn = (size_t)(lt - spec);
        trim(&nm, &nn);
        if (nn >= 2 && nm[0] == '"' && nm[nn - 1] == '"') {
            nm++;
            nn -= 2;
        }
    }
    trim(&a, &an);
    if (check_addr(a, an) != 0 || an >= addrcap || nn >= namecap)
        return -1;
    memcpy(addr, a, an);
    addr[an] = '\0';
    /* unescape a quoted name's \" and \\ */
    size_t o = 0;
    for (size_t i = 0; i < nn; i++) {
        if (nm[i] == '\\' && i + 1 < nn)
            i++;
        name[o++] = nm[i];
    }
    name[o] = '\0';
    return 0;
}

static int is_atext_phrase(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!(isalnum(*p) || *p == ' ' || strchr("!#$%&'*+-/=?^_`{|}~", *p)))
            return 0;
    }
    return 1;
}

int mime_format_address(struct buf *out, const char *name, const char *addr)
{
    if (!name || !*name)
        return buf_append_str(out, addr);
    size_t n = strlen(name);
    int rc;
    if (needs_encoding((const unsigned char *)name, n)) {
        /* encoded words separated by blanks (fine inside a phrase) */
        const unsigned char *s = (const unsigned char *)name;
        rc = 0;
        while (n > 0 && rc == 0) {
            size_t k = utf8_cut(s, n, 45);
            if (k == 0)
                k = n < 45 ? n : 45;
            rc = buf_append_str(out, "=?UTF-8?B?");
            if (rc == 0)
                rc = b64(out, s, k);
            if (rc == 0)
                rc = buf_append_str(out, n > k ? "?= " : "?=");
            s += k;
            n -= k;
        }
    } else if (is_atext_phrase(name)) {
        rc = buf_append_str(out, name);
    } else {
        rc = buf_append(out, "\"", 1);
        for (const char *p = name; *p && rc == 0; p++) {
            if (*p == '"' || *p == '\\')
                rc = buf_append(out, "\\", 1);
            if (rc == 0)
                rc = buf_append(out, p, 1);
        }
        if (rc == 0)
            rc = buf_append(out, "\"", 1);
    }
    if (rc == 0)
        rc = buf_printf(out, " <%s>", addr);
    return rc;
}

/* ------------------------------------------------------------------------
 * Message-ID, date
 * --------------------------------------------------------------------- */

static int domain_ok(const char *d)
{
    if (!d || !*d || *d == '.' || strlen(d) > 253)
        return 0;
    for (const char *p = d; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.'))
            return 0;
        if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
            return 0;
    }
    return 1;
}

void mime_message_id(const char *id, const char *domain, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;
    buf_init(&b, 4096);
    int rc = buf_append_str(&b, "vigil.");
    if (strlen(id) > MSGID_ID_MAX) {
        char h[17];
        hash_hex64(hash_fnv64(id, strlen(id)), h);
        rc |= buf_printf(&b, "h%s", h);
    } else {
        for (const unsigned char *p = (const unsigned char *)id; *p && rc == 0; p++) {
            if (isalnum(*p) || *p == '-' || *p == '_') {
                rc = buf_append(&b, p, 1);
            } else {
                char e[3] = {'=', hex[*p >> 4], hex[*p & 15]};
                rc = buf_append(&b, e, 3);
            }
        }
    }
    if (rc == 0)
        rc = buf_printf(&b, "@%s", domain_ok(domain) ? domain : "vigil.invalid");
    snprintf(out, outlen, "%s", rc == 0 && b.data ? b.data : "vigil.invalid@vigil.invalid");
    buf_free(&b);
}

void mime_date(int64_t ms, char *out, size_t outlen)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    /* names from tables: strftime's %a and %b follow the locale */
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ------------------------------------------------------------------------
 * The message
 * --------------------------------------------------------------------- */

static int part(struct buf *out, const char *boundary, const char *type, const char *body)
{
    int rc = buf_printf(out,
                        "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
                        "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                        boundary, type);
    if (rc == 0)
        rc = mime_qp(out, body, strlen(body));
    if (rc == 0)
        rc = buf_append(out, "\r\n", 2);
    return rc;
}

int mime_build(const struct mime_message *m, struct buf *out)
{
    char date[64], boundary[40], h[17];
    mime_date(m->date_ms, date, sizeof date);
    hash_hex64(hash_fnv64(m->message_id, strlen(m->message_id)), h);
    /* "=_" cannot appear in quoted-printable text ("=" is always =3D) */
    snprintf(boundary, sizeof boundary, "=_vigil_%s", h);
    int rc = buf_printf(out, "Date: %s\r\nFrom: %s\r\nTo: ", date, m->from);
    size_t col = 4;
    for (size_t i = 0; i < m->nto && rc == 0; i++) {
        size_t n = strlen(m->to[i]);
        if (i > 0) {
            if (col + 2 + n > HDR_FOLD) {
                rc = buf_append(out, ",\r\n ", 4);
                col = 1;
            } else {
                rc = buf_append(out, ", ", 2);
                col += 2;
            }
        }
        if (rc == 0)
            rc = buf_append(out, m->to[i], n);
        col += n;
    }
    if (rc == 0)
        rc = buf_append(out, "\r\n", 2);
    if (rc == 0)
        rc = mime_header(out, "Subject", m->subject);
    if (rc == 0)
        rc = buf_printf(out, "Message-ID: <%s>\r\n", m->message_id);
    if (rc == 0 && m->in_reply_to)
        rc = buf_printf(out, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", m->in_reply_to,
                        m->in_reply_to);
    for (const char *const *x = m->extra; rc == 0 && x && x[0] && x[1]; x += 2)
        rc = mime_header(out, x[0], x[1]);
    if (rc == 0)
        rc = buf_printf(out,
                        "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n"
                        "This is a multi-part message in MIME format.\r\n\r\n",
                        boundary);
    if (rc == 0)
        rc = part(out, boundary, "text/plain", m->text ? m->text : "");
    if (rc == 0)
        rc = part(out, boundary, "text/html", m->html ? m->html : "");
    if (rc == 0)
        rc = buf_printf(out, "--%s--\r\n", boundary);
    return rc;
}
