#include "sitemap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "buf.h"
#include "datetime.h"
#include "text.h"
#include "xml.h"

#define DATE_SLACK_MS (24LL * 3600 * 1000)

int sitemap_gunzip(const char *data, size_t len, size_t max, char **out, size_t *out_len,
                   struct vigil_error *err)
{
    z_stream zs;
    struct buf b;
    unsigned char chunk[65536];

    *out = NULL;
    *out_len = 0;
    if (len > UINT32_MAX)
        return vigil_error_set(err, VIGIL_ETOOBIG, "gzip: %zu bytes of input", len);
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* 32: a gzip or zlib header */
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot start zlib");
    buf_init(&b, max);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    for (;;) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        int rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            const char *why = rc == Z_BUF_ERROR ? "truncated data"
                              : zs.msg          ? zs.msg
                                                : "corrupt data";
            inflateEnd(&zs);
            buf_free(&b);
            return vigil_error_set(err, VIGIL_EPARSE, "gzip: %s", why);
        }
        /* Checked per chunk, so a bomb stops at max, not at its end. */
        if (buf_append(&b, chunk, sizeof chunk - zs.avail_out) != 0) {
            inflateEnd(&zs);
            buf_free(&b);
            return vigil_error_set(err, VIGIL_ETOOBIG, "gzip: decompresses to more than %zu bytes",
                                   max);
        }
        if (rc == Z_STREAM_END) {
            /* Another gzip member may follow; anything else is padding. */
            if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
    }
    inflateEnd(&zs);
    if (!b.data && buf_append(&b, "", 0) != 0)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    *out = b.data;
    *out_len = b.len;
    return 0;
}

struct sctx {
    struct sitemap *s;
    const struct sitemap_parse_opts *o;
    int64_t now;
    size_t max;
    struct buf tmp, tmp2;
    int oom;
};

static const char *adup(struct sctx *c, const char *p, size_t n)
{
    const char *r = feed_arena_strndup(&c->s->arena, p, n);
    if (!r)
        c->oom = 1;
    return r;
}

static const char *text_of(struct sctx *c, const xmlNode *n)
{
    buf_reset(&c->tmp);
    buf_reset(&c->tmp2);
    if (feed_xml_text(n, &c->tmp) != 0)
        return NULL;
    const char *t = c->tmp.data ? c->tmp.data : "";
    int rc = feed_text_has_markup(t, c->tmp.len) ? feed_text_from_html(t, c->tmp.len, &c->tmp2)
                                                 : feed_text_fold(t, c->tmp.len, &c->tmp2);
    if (rc != 0 || c->tmp2.len == 0)
        return NULL;
    return adup(c, c->tmp2.data, c->tmp2.len);
}

static const char *loc_of(struct sctx *c, const xmlNode *n)
{
    const char *t = text_of(c, n);
    if (!t)
        return NULL;
    buf_reset(&c->tmp2);
    if (feed_xml_resolve(n, t, &c->tmp2) != 0 || c->tmp2.len == 0)
        return NULL;
    return adup(c, c->tmp2.data, c->tmp2.len);
}

static int64_t date_of(struct sctx *c, const xmlNode *n)
{
    int64_t ms;
    const char *t = text_of(c, n);
    if (t && datetime_parse_sane(t, c->now, DATE_SLACK_MS, &ms) == DATETIME_OK)
        return ms;
    return SITEMAP_NO_TIME;
}

/* Sitemap elements: the sitemaps.org namespace, the old Google one, or
 * none at all (hand-written sitemaps). */
static int is_sm(const xmlNode *n, const char *local)
{
    if (n->type != XML_ELEMENT_NODE || strcmp(feed_xml_local(n), local) != 0)
        return 0;
    int ns = feed_xml_ns(n);
    return ns == FEED_NS_SITEMAP || ns == FEED_NS_NONE;
}

static void keywords(struct sctx *c, struct sitemap_url *u, const char *list)
{
    size_t cap = 0;
    const char *p = list;
    while (p && *p && !c->oom) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        size_t s = 0, e = n;
        while (s < e && isspace((unsigned char)p[s]))
            s++;
        while (e > s && isspace((unsigned char)p[e - 1]))
            e--;
        if (e > s) {
            int dup = 0;
            for (size_t k = 0; k < u->n_keywords; k++)
                dup |=
                    strlen(u->keywords[k]) == e - s && strncmp(u->keywords[k], p + s, e - s) == 0;
            if (!dup) {
                if (u->n_keywords == cap) {
                    size_t nc = cap ? 2 * cap : 8;
                    const char **nk = feed_arena_alloc(&c->s->arena, nc * sizeof *nk);
                    if (!nk) {
                        c->oom = 1;
                        return;
                    }
                    if (u->n_keywords)
                        memcpy(nk, u->keywords, u->n_keywords * sizeof *nk);
                    u->keywords = nk;
                    cap = nc;
                }
                u->keywords[u->n_keywords++] = adup(c, p + s, e - s);
            }
        }
        p = comma ? comma + 1 : NULL;
    }
}

static void news(struct sctx *c, struct sitemap_url *u, const xmlNode *n)
{
    for (const xmlNode *k = n->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        const char *l = feed_xml_local(k);
        if (strcmp(l, "publication") == 0) {
            for (const xmlNode *q = k->children; q; q = q->next) {
                if (q->type != XML_ELEMENT_NODE)
                    continue;
                if (strcmp(feed_xml_local(q), "name") == 0)
                    u->news_name = text_of(c, q);
                else if (strcmp(feed_xml_local(q), "language") == 0)
                    u->news_lang = text_of(c, q);
            }
        } else if (strcmp(l, "publication_date") == 0) {
            u->news_published = date_of(c, k);
        } else if (strcmp(l, "title") == 0) {
            u->news_title = text_of(c, k);
        } else if (strcmp(l, "keywords") == 0) {
            keywords(c, u, text_of(c, k));
        }
    }
}

static size_t count(const xmlNode *root, const char *local)
{
    size_t n = 0;
    for (const xmlNode *k = root->children; k; k = k->next)
        n += is_sm(k, local);
    return n;
}

static void parse_urlset(struct sctx *c, const xmlNode *root)
{
    struct sitemap *s = c->s;
    size_t n = count(root, "url");
    s->kind = SITEMAP_URLSET;
    if (n > c->max)
        n = c->max;
    if (n && !(s->urls = feed_arena_calloc(&s->arena, n * sizeof *s->urls))) {
        c->oom = 1;
        return;
    }
    for (const xmlNode *e = root->children; e && !c->oom; e = e->next) {
        if (!is_sm(e, "url"))
            continue;
        s->n_urls_seen++;
        if (s->n_urls >= n)
            continue;
        struct sitemap_url *u = &s->urls[s->n_urls];
        memset(u, 0, sizeof *u);
        u->lastmod = u->news_published = SITEMAP_NO_TIME;
        for (const xmlNode *k = e->children; k; k = k->next) {
            if (is_sm(k, "loc"))
                u->loc = loc_of(c, k);
            else if (is_sm(k, "lastmod"))
                u->lastmod = date_of(c, k);
            else if (k->type == XML_ELEMENT_NODE && feed_xml_ns(k) == FEED_NS_NEWS &&
                     strcmp(feed_xml_local(k), "news") == 0)
                news(c, u, k);
        }
        if (u->loc)
            s->n_urls++;
    }
}

static void parse_index(struct sctx *c, const xmlNode *root)
{
    struct sitemap *s = c->s;
    size_t n = count(root, "sitemap");
    s->kind = SITEMAP_INDEX;
    if (n > c->max)
        n = c->max;
    if (n && !(s->refs = feed_arena_calloc(&s->arena, n * sizeof *s->refs))) {
        c->oom = 1;
        return;
    }
    for (const xmlNode *e = root->children; e && !c->oom; e = e->next) {
        if (!is_sm(e, "sitemap"))
            continue;
        s->n_refs_seen++;
        if (s->n_refs >= n)
            continue;
        struct sitemap_ref *r = &s->refs[s->n_refs];
        r->loc = NULL;
        r->lastmod = SITEMAP_NO_TIME;
        for (const xmlNode *k = e->children; k; k = k->next) {
            if (is_sm(k, "loc"))
                r->loc = loc_of(c, k);
            else if (is_sm(k, "lastmod"))
                r->lastmod = date_of(c, k);
        }
        if (r->loc)
            s->n_refs++;
    }
}

/* One absolute URL per line (sitemaps.org text format). */
static int parse_text(struct sctx *c, const char *data, size_t len, struct vigil_error *err)
{
    struct sitemap *s = c->s;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    if (lines > c->max)
        lines = c->max;
    s->kind = SITEMAP_TEXT;
    s->urls = feed_arena_calloc(&s->arena, lines * sizeof *s->urls);
    if (!s->urls)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *a = p;
        while (a < e && isspace((unsigned char)*a))
            a++;
        const char *b = e;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            /* The line is not NUL-terminated: compare within it only. */
            size_t n = (size_t)(b - a);
            if (!(n >= 7 && strncasecmp(a, "http://", 7) == 0) &&
                !(n >= 8 && strncasecmp(a, "https://", 8) == 0))
                return vigil_error_set(err, VIGIL_EPARSE,
                                       "not a sitemap: line %zu of the text is not a URL",
                                       s->n_urls_seen + 1);
            s->n_urls_seen++;
            if (s->n_urls < lines) {
                struct sitemap_url *u = &s->urls[s->n_urls++];
                memset(u, 0, sizeof *u);
                u->loc = adup(c, a, (size_t)(b - a));
                u->lastmod = u->news_published = SITEMAP_NO_TIME;
            }
        }
        p = e + 1;
    }
    return 0;
}

int sitemap_parse(const char *data, size_t len, const struct sitemap_parse_opts *o,
                  struct sitemap **out, struct vigil_error *err)
{
    static const struct sitemap_parse_opts defaults;
    struct sctx c;
    char *plain = NULL;
    size_t plen = len;
    int rc = 0;

    *out = NULL;
    if (!o)
        o = &defaults;
    size_t max_decoded = o->max_decoded ? o->max_decoded : SITEMAP_MAX_DECODED;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.now = o->now_ms ? o->now_ms : (int64_t)time(NULL) * 1000;
    c.max = o->max_urls ? o->max_urls : SITEMAP_MAX_URLS;
    c.s = calloc(1, sizeof *c.s);
    if (!c.s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    feed_arena_init(&c.s->arena, 8 * max_decoded + (1 << 20));

    if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b) {
        rc = sitemap_gunzip(data, len, max_decoded, &plain, &plen, err);
        if (rc != 0) {
            sitemap_free(c.s);
            return rc;
        }
        data = plain;
        c.s->gzipped = 1;
    } else if (len > max_decoded) {
        sitemap_free(c.s);
        return vigil_error_set(err, VIGIL_ETOOBIG, "sitemap is %zu bytes, over the %zu limit", len,
                               max_decoded);
    }
    c.s->decoded_len = plen;
    buf_init(&c.tmp, 1 << 20);
    buf_init(&c.tmp2, 1 << 20);

    size_t i = 0;
    while (i < plen && isspace((unsigned char)data[i]))
        i++;
    if (i < plen && data[i] != '<' && (unsigned char)data[i] < 0x80 &&
        !((unsigned char)data[0] == 0xEF || (unsigned char)data[0] == 0xFF ||
          (unsigned char)data[0] == 0xFE)) {
        rc = parse_text(&c, data + i, plen - i, err);
    } else {
        struct feed_xml x;
        struct feed_xml_opts xo = {o->url, o->content_type, max_decoded, 0};
        rc = feed_xml_load(data, plen, &xo, &x, err);
        if (rc == 0) {
            const xmlNode *root = xmlDocGetRootElement(x.doc);
            const char *l = feed_xml_local(root);
            if (strcmp(l, "urlset") == 0)
                parse_urlset(&c, root);
            else if (strcmp(l, "sitemapindex") == 0)
                parse_index(&c, root);
            else
                rc = vigil_error_set(err, VIGIL_EPARSE, "not a sitemap: the root element is <%s>%s",
                                     (const char *)root->name,
                                     strcasecmp(l, "rss") == 0 || strcmp(l, "feed") == 0
                                         ? " (a feed: use the feed source)"
                                         : "");
            if (rc == 0 && x.recovered) {
                c.s->recovered = 1;
                if (c.s->n_urls_seen + c.s->n_refs_seen == 0)
                    rc = vigil_error_set(err, VIGIL_EPARSE,
                                         "not well-formed XML and no entry recovered: %s (line "
                                         "%d)",
                                         x.error[0] ? x.error : "parse error", x.error_line);
                else
                    snprintf(c.s->warning, sizeof c.s->warning,
                             "recovered from malformed XML: %s (line %d)",
                             x.error[0] ? x.error : "parse error", x.error_line);
            } else if (rc == 0 && x.warning[0]) {
                snprintf(c.s->warning, sizeof c.s->warning, "%s", x.warning);
            }
            feed_xml_free(&x);
        }
    }
    if (rc == 0 && c.oom)
        rc = vigil_error_set(err, VIGIL_ENOMEM, "out of memory building the sitemap");
    buf_free(&c.tmp);
    buf_free(&c.tmp2);
    free(plain);
    if (rc != 0) {
        sitemap_free(c.s);
        return rc;
    }
    *out = c.s;
    return 0;
}

void sitemap_free(struct sitemap *s)
{
    if (!s)
        return;
    feed_arena_free(&s->arena);
    free(s);
}
