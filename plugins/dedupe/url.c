#include "url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "hash.h"
#include "vigil/plugin.h"

/*
 * Query parameters that only say how a reader arrived (campaign, click and
 * share identifiers of analytics and ad platforms); they never select
 * content. A trailing '*' makes the name a prefix. Compared without
 * regard to ASCII case. docs/dedupe.md lists them for users.
 */
const char *const dd_url_tracking_params[] = {
    /* Google Analytics / Ads, Urchin */
    "utm_*", "_ga", "_gl", "gclid", "gclsrc", "dclid", "gbraid", "wbraid",
    /* social networks and other ad platforms */
    "fbclid", "fb_action_ids", "fb_action_types", "fb_ref", "fb_source", "igshid", "igsh",
    "msclkid", "yclid", "twclid", "ttclid", "li_fat_id", "trk", "__twitter_impression",
    /* mail and marketing tools */
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "vero_conv", "oly_enc_id",
    "oly_anon_id", "sr_share",
    /* publishers' and analytics suites' campaign ids */
    "ocid", "ncid", "cmpid", "cmp", "icid", "s_cid", "s_kwcid", "smid", "smtyp", "xtor", "ito",
    "at_*", "wt.mc_id", "wt_mc_id", "wt.mc_ev", "ns_campaign", "ns_mchannel", "ns_source",
    "ns_linkname", "ns_fee", "pk_campaign", "pk_kwd", "pk_source", "pk_medium", "mtm_*", "soc_src",
    "soc_trk", "spm", "scm",
    /* referrer markers */
    "ref", "ref_src", "ref_url",
    /* consent redirects (Yahoo) */
    "guccounter", "guce_referrer", "guce_referrer_sig", NULL};

#define DEPTH_MAX 2 /* AMP cache URLs embed one more URL: unwrap once */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int is_unreserved(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static int name_matches(const char *pat, const char *name, size_t len)
{
    size_t pl = strlen(pat);
    if (pl > 0 && pat[pl - 1] == '*')
        return len >= pl - 1 && strncasecmp(pat, name, pl - 1) == 0;
    return pl == len && strncasecmp(pat, name, len) == 0;
}

int dd_url_is_tracking(const char *name, size_t len, const struct dd_url_params *p)
{
    for (size_t i = 0; dd_url_tracking_params[i]; i++) {
        if (name_matches(dd_url_tracking_params[i], name, len))
            return 1;
    }
    for (size_t i = 0; p && i < p->nextra; i++) {
        if (p->extra[i] && p->extra[i][0] && name_matches(p->extra[i], name, len))
            return 1;
    }
    return 0;
}

enum part { PART_PATH, PART_QUERY };

/* Append s[0..n) with percent-encoding normalised (RFC 3986 6.2.2):
 * escapes of unreserved characters decoded, other escapes uppercased,
 * characters that must be escaped escaped. */
static int put_normalised(struct buf *b, const char *s, size_t n, enum part part)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[3];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            int v = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
            if (is_unreserved(v)) {
                char ch = (char)v;
                if (buf_append(b, &ch, 1) != 0)
                    return -1;
                continue;
            }
            c = (unsigned char)v;
        } else if (is_unreserved(c) || (c && strchr("!$&'()*,;=:@/", c)) ||
                   (part == PART_QUERY && c == '?')) {
            char ch = (char)c;
            if (buf_append(b, &ch, 1) != 0)
                return -1;
            continue;
        } else if (c == '+' && part == PART_PATH) {
            if (buf_append(b, "+", 1) != 0)
                return -1;
            continue;
        } else if (c == '+') {
            c = ' '; /* form encoding: '+' is a space, written %20 */
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        if (buf_append(b, esc, 3) != 0)
            return -1;
    }
    return 0;
}

struct seg {
    const char *p;
    size_t n;
};

static int seg_is(const struct seg *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->n == n && strncasecmp(s->p, lit, n) == 0;
}

static int seg_ends(const struct seg *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->n > n && strncasecmp(s->p + s->n - n, lit, n) == 0;
}

/* Normalise the path (already percent-normalised in `in`) into b. */
static int put_path(struct buf *b, const char *in, size_t n)
{
    size_t cap = n / 2 + 2, nseg = 0;
    struct seg *segs = malloc(cap * sizeof *segs);
    int rc = 0;
    if (!segs)
        return -1;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && in[j] != '/')
            j++;
        struct seg s = {in + i, j - i};
        if (s.n == 0 || (s.n == 1 && s.p[0] == '.')) {
            /* empty ("//") and "." segments vanish */
        } else if (s.n == 2 && s.p[0] == '.' && s.p[1] == '.') {
            if (nseg)
                nseg--;
        } else if (nseg < cap) {
            segs[nseg++] = s;
        }
        i = j + 1;
    }
    /* AMP variants of an article path (loops: the result must not be an
     * AMP variant itself, so that normalising twice changes nothing). */
    while (nseg >= 2 && seg_is(&segs[nseg - 1], "amp"))
        nseg--;
    while (nseg >= 2 && seg_is(&segs[0], "amp")) {
        memmove(segs, segs + 1, (nseg - 1) * sizeof *segs);
        nseg--;
    }
    int html_amp = 0;
    if (nseg >= 1 && seg_ends(&segs[nseg - 1], ".amp.html")) {
        segs[nseg - 1].n -= strlen(".amp.html");
        html_amp = 1;
    } else if (nseg >= 1 && seg_ends(&segs[nseg - 1], ".amp")) {
        segs[nseg - 1].n -= strlen(".amp");
    }
    if (nseg == 0)
        rc = buf_append(b, "/", 1);
    for (size_t i = 0; i < nseg && rc == 0; i++) {
        rc = buf_append(b, "/", 1);
        if (rc == 0)
            rc = buf_append(b, segs[i].p, segs[i].n);
    }
    if (rc == 0 && html_amp)
        rc = buf_append(b, ".html", 5);
    free(segs);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_amp_param(const char *piece)
{
    const char *eq = strchr(piece, '=');
    size_t nl = eq ? (size_t)(eq - piece) : strlen(piece);
    if (nl == 3 && strncasecmp(piece, "amp", 3) == 0)
        return 1;
    return nl == 10 && strncasecmp(piece, "outputType", 10) == 0 && eq &&
           strcasecmp(eq + 1, "amp") == 0;
}

/* Normalise, filter and sort the query; appends "?..." or nothing. */
static int put_query(struct buf *b, const char *q, size_t n, const struct dd_url_params *p)
{
    size_t cap = 1, cnt = 0;
    for (size_t i = 0; i < n; i++)
        cap += q[i] == '&';
    char **pieces = calloc(cap, sizeof *pieces);
    int rc = 0;
    if (!pieces)
        return -1;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        size_t nl = 0;
        while (i + nl < j && q[i + nl] != '=')
            nl++;
        if (j > i && nl > 0 && !dd_url_is_tracking(q + i, nl, p)) {
            struct buf one;
            buf_init(&one, 4 * DD_URL_MAX);
            if (put_normalised(&one, q + i, j - i, PART_QUERY) != 0) {
                buf_free(&one);
                rc = -1;
            } else if (one.data && !is_amp_param(one.data)) {
                pieces[cnt++] = buf_steal(&one);
            } else {
                buf_free(&one);
            }
        }
        i = j + 1;
    }
    if (rc == 0 && cnt) {
        qsort(pieces, cnt, sizeof *pieces, cmp_str);
        for (size_t i = 0; i < cnt && rc == 0; i++)
            rc = buf_append(b, i ? "&" : "?", 1) || buf_append_str(b, pieces[i]);
    }
    for (size_t i = 0; i < cnt; i++)
        free(pieces[i]);
    free(pieces);
    return rc;
}

static int ends_with(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && strncmp(s + n - l, lit, l) == 0;
}

/* AMP cache and viewer URLs carry the publisher's URL in their path:
 * https://www-example-com.cdn.ampproject.org/c/s/www.example.com/a/b and
 * https://www.google.com/amp/s/www.example.com/a/b. Returns the embedded
 * URL (malloc'd) or NULL. */
static char *amp_unwrap(const char *host, size_t hn, const char *rest)
{
    const char *inner = NULL;
    if (ends_with(host, hn, ".cdn.ampproject.org") ||
        (hn == 18 && !strncmp(host, "cdn.ampproject.org", 18))) {
        if (!strncmp(rest, "/c/", 3) || !strncmp(rest, "/v/", 3))
            inner = rest + 3;
    } else if ((hn == 14 && !strncmp(host, "www.google.com", 14)) ||
               (hn == 10 && !strncmp(host, "google.com", 10))) {
        if (!strncmp(rest, "/amp/", 5))
            inner = rest + 5;
    }
    if (!inner || !*inner)
        return NULL;
    const char *scheme = "http://";
    if (!strncmp(inner, "s/", 2)) {
        scheme = "https://";
        inner += 2;
    }
    struct buf b;
    buf_init(&b, 2 * DD_URL_MAX);
    if (buf_append_str(&b, scheme) || buf_append_str(&b, inner)) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static int normalize(const char *url, const struct dd_url_params *p, char **out, int depth)
{
    size_t n = strlen(url);
    const char *s = url, *e = url + n;
    *out = NULL;
    if (n > DD_URL_MAX)
        return VIGIL_ETOOBIG;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;

    /* scheme */
    const char *c = s;
    while (c < e && *c != ':')
        c++;
    size_t sl = (size_t)(c - s);
    int https;
    if (sl == 4 && strncasecmp(s, "http", 4) == 0)
        https = 0;
    else if (sl == 5 && strncasecmp(s, "https", 5) == 0)
        https = 1;
    else
        return VIGIL_EINVAL;
    if (e - c < 3 || c[1] != '/' || c[2] != '/')
        return VIGIL_EINVAL;

    /* authority */
    const char *a = c + 3, *ae = a;
    while (ae < e && *ae != '/' && *ae != '?' && *ae != '#')
        ae++;
    for (const char *at = ae; at > a; at--) {
        if (at[-1] == '@') {
            a = at; /* credentials are not part of an article's identity */
            break;
        }
    }
    const char *h = a, *he = ae, *port = NULL;
    if (h < ae && *h == '[') {
        const char *rb = memchr(h, ']', (size_t)(ae - h));
        if (!rb)
            return VIGIL_EINVAL;
        he = rb + 1;
        if (he < ae && *he == ':')
            port = he + 1;
        else if (he != ae)
            return VIGIL_EINVAL;
    } else {
        for (const char *q = ae; q > h; q--) {
            if (q[-1] == ':') {
                he = q - 1;
                port = q;
                break;
            }
        }
    }
    while (he > h && he[-1] == '.')
        he--;
    if (he == h)
        return VIGIL_EINVAL;
    long portnum = -1;
    if (port) {
        portnum = 0;
        for (const char *q = port; q < ae; q++) {
            if (*q < '0' || *q > '9' || portnum > 65535)
                return VIGIL_EINVAL;
            portnum = portnum * 10 + (*q - '0');
        }
        if (portnum > 65535)
            return VIGIL_EINVAL;
        if (port == ae || (https && portnum == 443) || (!https && portnum == 80))
            portnum = -1; /* empty or default */
    }

    /* path, query, fragment */
    const char *ps = ae, *pe = ae;
    while (pe < e && *pe != '?' && *pe != '#')
        pe++;
    const char *qs = NULL, *qe = NULL, *fs = NULL;
    if (pe < e && *pe == '?') {
        qs = pe + 1;
        qe = qs;
        while (qe < e && *qe != '#')
            qe++;
    }
    const char *hash = memchr(pe, '#', (size_t)(e - pe));
    if (hash && hash + 1 < e && hash[1] == '!')
        fs = hash; /* "#!" routes select content */

    struct buf b, path;
    int rc = VIGIL_ENOMEM;
    buf_init(&b, 4 * DD_URL_MAX);
    buf_init(&path, 4 * DD_URL_MAX);

    char host[DD_URL_MAX + 1];
    size_t hn = 0;
    for (const char *q = h; q < he; q++)
        host[hn++] = (char)lower((unsigned char)*q);
    host[hn] = '\0';

    const char *hp = host;
    size_t hl = hn;
    while (hl > 4 && !strncmp(hp, "amp.", 4) && memchr(hp + 4, '.', hl - 4)) {
        hp += 4;
        hl -= 4;
    }
    if (buf_append_str(&b, https ? "https://" : "http://") || buf_append(&b, hp, hl))
        goto done;
    if (portnum >= 0 && buf_printf(&b, ":%ld", portnum))
        goto done;
    if (put_normalised(&path, ps, (size_t)(pe - ps), PART_PATH) ||
        put_path(&b, path.data ? path.data : "", path.len))
        goto done;
    if (qs && put_query(&b, qs, (size_t)(qe - qs), p))
        goto done;
    if (fs && buf_append(&b, fs, (size_t)(e - fs)))
        goto done;
    /* AMP caches and viewers: the publisher's URL is in the path; it is
     * normalised as a whole, query included. When it is no URL the outer
     * one stands. */
    for (int pass = 0; pass < 2 && depth < DEPTH_MAX; pass++) {
        /* the path as written (the viewer's "/amp/" prefix would be taken
         * for an AMP segment), then normalised ("/c/./s/...") */
        const char *rest = pass == 0 ? ps : strchr(b.data + (https ? 8 : 7), '/');
        char *inner = rest ? amp_unwrap(host, hn, rest) : NULL;
        if (inner) {
            char *res = NULL;
            int irc = normalize(inner, p, &res, depth + 1);
            free(inner);
            if (irc == VIGIL_OK) {
                *out = res;
                rc = VIGIL_OK;
                goto done;
            }
            if (irc != VIGIL_EINVAL)
                goto done;
        }
    }
    *out = buf_steal(&b);
    rc = *out ? VIGIL_OK : VIGIL_ENOMEM;
done:
    buf_free(&b);
    buf_free(&path);
    return rc;
}

int dd_url_normalize(const char *url, const struct dd_url_params *p, char **out)
{
    return normalize(url, p, out, 0);
}

static const char *after_scheme(const char *u)
{
    if (!strncmp(u, "https://", 8))
        return u + 8;
    if (!strncmp(u, "http://", 7))
        return u + 7;
    return u;
}

uint64_t dd_url_key(const char *normalized)
{
    const char *r = after_scheme(normalized);
    if (!strncmp(r, "www.", 4))
        r += 4;
    uint64_t k = hash_fnv64(r, strlen(r));
    return k ? k : 1;
}

const char *dd_url_path(const char *normalized)
{
    const char *r = after_scheme(normalized);
    const char *sl = strchr(r, '/');
    return sl ? sl : "/";
}

int dd_url_resolve(const char *base, const char *ref, char **out)
{
    struct buf b;
    *out = NULL;
    if (!ref || !*ref)
        return VIGIL_EINVAL;
    if (strlen(ref) > DD_URL_MAX)
        return VIGIL_ETOOBIG;
    buf_init(&b, 2 * DD_URL_MAX + 8);
    if (!strncasecmp(ref, "http://", 7) || !strncasecmp(ref, "https://", 8)) {
        if (buf_append_str(&b, ref))
            goto nomem;
    } else if (!base) {
        return VIGIL_EINVAL;
    } else if (ref[0] == '/' && ref[1] == '/') {
        const char *colon = strchr(base, ':');
        if (!colon)
            return VIGIL_EINVAL;
        if (buf_append(&b, base, (size_t)(colon - base) + 1) || buf_append_str(&b, ref))
            goto nomem;
    } else if (ref[0] == '/') {
        const char *r = strstr(base, "://");
        if (!r)
            return VIGIL_EINVAL;
        const char *pe = r + 3;
        while (*pe && *pe != '/' && *pe != '?' && *pe != '#')
            pe++;
        if (buf_append(&b, base, (size_t)(pe - base)) || buf_append_str(&b, ref))
            goto nomem;
    } else {
        return VIGIL_EINVAL;
    }
    *out = buf_steal(&b);
    return *out ? VIGIL_OK : VIGIL_ENOMEM;
nomem:
    buf_free(&b);
    return VIGIL_ENOMEM;
}
