#include "clean_meta.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/uri.h>

#include "buf.h"
#include "clean_text.h"
#include "datetime.h"

/* Longest metadata value kept (bytes); longer values are cut. */
#define META_MAX 2048

/* ------------------------------------------------------------------------
 * Small string helpers.
 * --------------------------------------------------------------------- */

/* Folded copy of s (at most META_MAX bytes), or NULL when empty. */
static char *folded(const char *s)
{
    if (!s)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    int st = CLEAN_FOLD_START;
    size_t len = strlen(s);
    if (len > META_MAX * 4)
        len = META_MAX * 4;
    /* only valid UTF-8 reaches here: the page was repaired before parsing
       and Jansson rejects invalid strings */
    if (clean_fold_append(&b, s, len, &st, NULL) != 0) {
        buf_free(&b);
        return NULL;
    }
    if (b.len > META_MAX) {
        size_t cut = META_MAX;
        while (cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
            cut--;
        /* A cut right after a space must not leave it at the end. */
        while (cut > 0 && b.data[cut - 1] == ' ')
            cut--;
        b.len = cut;
        b.data[cut] = '\0';
    }
    if (b.len == 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static void set_once(char **field, const char *value)
{
    if (*field || !value)
        return;
    *field = folded(value);
}

static int looks_like_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0 ||
           strncmp(s, "//", 2) == 0 || s[0] == '/';
}

/* Absolute URL of ref against base (malloc'd), or a copy of ref. Only
 * http(s) results are kept. */
static char *resolve_url(const char *ref, const char *base)
{
    if (!ref || !*ref)
        return NULL;
    char *r = folded(ref);
    if (!r)
        return NULL;
    char *out = NULL;
    if (base && *base) {
        xmlChar *u = xmlBuildURI((const xmlChar *)r, (const xmlChar *)base);
        if (u) {
            out = strdup((const char *)u);
            xmlFree(u);
        }
    }
    if (!out)
        out = strdup(r);
    free(r);
    if (out && strncasecmp(out, "http://", 7) != 0 && strncasecmp(out, "https://", 8) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

static int parse_date(const char *s, int64_t now_ms, char **out)
{
    int64_t ms;
    if (*out || !s)
        return -1;
    char *f = folded(s);
    if (!f)
        return -1;
    int rc = datetime_parse_sane(f, now_ms, CLEAN_DATE_SLACK_MS, &ms);
    free(f);
    if (rc != DATETIME_OK)
        return -1;
    char iso[32];
    datetime_format_iso(ms, iso, sizeof iso);
    *out = strdup(iso);
    return *out ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Titles and authors.
 * --------------------------------------------------------------------- */

static int ci_equal(const char *a, size_t al, const char *b)
{
    size_t bl = strlen(b);
    return al == bl && strncasecmp(a, b, al) == 0;
}

static int ci_contains(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    if (!nl || nl > hl)
        return 0;
    for (size_t i = 0; i + nl <= hl; i++) {
        if (strncasecmp(h + i, n, nl) == 0)
            return 1;
    }
    return 0;
}

/* Host's distinctive label: "www.bbc.co.uk" -> "bbc". */
static void host_label(const char *host, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!host)
        return;
    const char *p = host;
    if (strncasecmp(p, "www.", 4) == 0)
        p += 4;
    else if (strncasecmp(p, "m.", 2) == 0)
        p += 2;
    size_t n = strcspn(p, ".:/");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Does segment seg look like the site's name? */
static int is_site_segment(const char *seg, size_t len, const char *site, const char *label)
{
    if (len == 0)
        return 0;
    if (site && *site) {
        size_t sl = strlen(site);
        if (ci_equal(seg, len, site) || ci_contains(seg, len, site))
            return 1;
        /* "Guardian" for "The Guardian" */
        char segz[256];
        if (len >= 4 && len < sizeof segz && len < sl) {
            memcpy(segz, seg, len);
            segz[len] = '\0';
            if (ci_contains(site, sl, segz))
                return 1;
        }
    }
    if (label && strlen(label) >= 3) {
        /* "BBC News" for bbc.co.uk, "Spiegel Online" for spiegel.de */
        char low[256];
        size_t n = len < sizeof low - 1 ? len : sizeof low - 1;
        for (size_t i = 0, j = 0; i < n; i++) {
            if (seg[i] != ' ' && seg[i] != '.' && seg[i] != '-')
                low[j++] = (char)tolower((unsigned char)seg[i]);
            low[j] = '\0';
        }
        if (strstr(low, label))
            return 1;
    }
    return 0;
}

char *clean_title_strip_site(const char *title, const char *site, const char *host, const char *h1)
{
    static const char *const seps[] = {" | ",
                                       " - ",
                                       " \xE2\x80\x93 ",
                                       " \xE2\x80\x94 ",
                                       " :: ",
                                       " \xC2\xB7 ",
                                       " \xC2\xBB ",
                                       " \xE2\x80\xBA ",
                                       " / ",
                                       ": ",
                                       NULL};
    char label[64];
    host_label(host, label, sizeof label);
    size_t tl = strlen(title);

    /* If the first <h1> is the title's first or last segment, that is the
       headline ("Headline | Site", "Site - Headline"). */
    if (h1 && *h1) {
        size_t hl = strlen(h1);
        if (hl >= 10 && hl < tl && strncasecmp(title, h1, hl) == 0)
            return strdup(h1);
        if (hl >= 10 && hl + 3 <= tl && strcasecmp(title + tl - hl, h1) == 0) {
            const char *sep = title + tl - hl;
            for (int k = 0; seps[k]; k++) {
                size_t sl = strlen(seps[k]);
                if ((size_t)(sep - title) >= sl && memcmp(sep - sl, seps[k], sl) == 0)
                    return strdup(h1);
            }
        }
    }
    for (int k = 0; seps[k]; k++) {
        size_t sl = strlen(seps[k]);
        /* last separator: "Headline | Site" */
        const char *last = NULL;
        for (const char *p = title; (p = strstr(p, seps[k])); p += sl)
            last = p;
        if (last) {
            const char *tail = last + sl;
            /* ": " has no space before it, but French puts one there
               ("Headline : Site"): the headline must not keep it. */
            size_t keep = (size_t)(last - title);
            while (keep > 0 && title[keep - 1] == ' ')
                keep--;
            if (is_site_segment(tail, strlen(tail), site, label) && keep > 0)
                return strndup(title, keep);
        }
        /* first separator: "Site | Headline" */
        const char *first = strstr(title, seps[k]);
        if (first && is_site_segment(title, (size_t)(first - title), site, label) && first[sl])
            return strdup(first + sl);
    }
    return strdup(title);
}

int clean_author_name(const char *in, char *out, size_t outlen)
{
    static const char *const prefixes[] = {"written by ", "by ",      "von ",    "por ",
                                           "par ",        "author: ", "autor: ", "auteur: ",
                                           "text: ",      "from ",    NULL};
    char *f = folded(in);
    if (!f)
        return -1;
    char *p = f;
    for (int again = 1; again;) {
        again = 0;
        while (*p == ' ' || *p == ',' || *p == '-' || *p == '|' || *p == ':')
            p++;
        for (int k = 0; prefixes[k]; k++) {
            size_t l = strlen(prefixes[k]);
            if (strncasecmp(p, prefixes[k], l) == 0) {
                p += l;
                again = 1;
            }
        }
    }
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == ',' || p[n - 1] == '|' || p[n - 1] == '-' ||
                 p[n - 1] == '.' || p[n - 1] == ':'))
        n--;
    int ok = n >= 2 && n < 80 && n < outlen && !memchr(p, '@', n) && !looks_like_url(p);
    if (ok) {
        size_t words = 1;
        for (size_t i = 0; i < n; i++)
            words += p[i] == ' ';
        int letters = 0;
        for (size_t i = 0; i < n; i++)
            letters += isalpha((unsigned char)p[i]) || (unsigned char)p[i] >= 0x80;
        ok = words <= 6 && letters * 2 > (int)n;
    }
    if (ok) {
        memcpy(out, p, n);
        out[n] = '\0';
    }
    free(f);
    return ok ? 0 : -1;
}

void clean_meta_add_authors(struct clean_meta *m, const char *byline);

static void add_author(struct clean_meta *m, const char *name)
{
    char clean[128];
    if (m->nauthors >= CLEAN_MAX_AUTHORS || clean_author_name(name, clean, sizeof clean) != 0)
        return;
    for (size_t i = 0; i < m->nauthors; i++) {
        if (strcasecmp(m->authors[i], clean) == 0)
            return;
    }
    char *c = strdup(clean);
    if (c)
        m->authors[m->nauthors++] = c;
}

/* "A, B and C" -> three authors. */
static void add_author_list(struct clean_meta *m, const char *list)
{
    char *f = folded(list);
    if (!f)
        return;
    static const char *const seps[] = {" and ", " und ", " y ", " et ", " & ",
                                       ", ",    "; ",    " e ", NULL};
    /* replace separators by '\x1f' then split */
    for (int k = 0; seps[k]; k++) {
        size_t sl = strlen(seps[k]);
        for (char *p = f; (p = strstr(p, seps[k]));) {
            *p = '\x1f';
            memmove(p + 1, p + sl, strlen(p + sl) + 1);
        }
    }
    for (char *s = f, *e; s; s = e ? e + 1 : NULL) {
        e = strchr(s, '\x1f');
        if (e)
            *e = '\0';
        add_author(m, s);
    }
    free(f);
}

void clean_meta_add_authors(struct clean_meta *m, const char *byline)
{
    add_author_list(m, byline);
}

/* ------------------------------------------------------------------------
 * JSON-LD.
 * --------------------------------------------------------------------- */

static int type_is(json_t *obj, const char *const *names)
{
    json_t *t = json_object_get(obj, "@type");
    if (json_is_string(t)) {
        for (int k = 0; names[k]; k++) {
            if (strcasecmp(json_string_value(t), names[k]) == 0)
                return 1;
        }
    } else if (json_is_array(t)) {
        size_t i;
        json_t *v;
        json_array_foreach(t, i, v)
        {
            if (!json_is_string(v))
                continue;
            for (int k = 0; names[k]; k++) {
                if (strcasecmp(json_string_value(v), names[k]) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

static const char *const article_types[] = {"Article",
                                            "NewsArticle",
                                            "ReportageNewsArticle",
                                            "AnalysisNewsArticle",
                                            "OpinionNewsArticle",
                                            "BackgroundNewsArticle",
                                            "ReviewNewsArticle",
                                            "BlogPosting",
                                            "LiveBlogPosting",
                                            "Report",
                                            "TechArticle",
                                            "ScholarlyArticle",
                                            "SatiricalArticle",
                                            "AdvertiserContentArticle",
                                            "SocialMediaPosting",
                                            "DiscussionForumPosting",
                                            NULL};
static const char *const page_types[] = {"WebPage", "ItemPage", NULL};
static const char *const org_types[] = {"Organization", "NewsMediaOrganization", "WebSite",
                                        "Corporation", NULL};

/* Find the first object of one of types in v (arrays and @graph searched,
 * bounded). */
static json_t *find_typed(json_t *v, const char *const *types, int depth)
{
    if (depth > 6 || !v)
        return NULL;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i >= 200)
                break;
            json_t *r = find_typed(e, types, depth + 1);
            if (r)
                return r;
        }
        return NULL;
    }
    if (!json_is_object(v))
        return NULL;
    if (type_is(v, types))
        return v;
    json_t *g = json_object_get(v, "@graph");
    if (g)
        return find_typed(g, types, depth + 1);
    json_t *me = json_object_get(v, "mainEntity");
    if (me && json_is_object(me))
        return find_typed(me, types, depth + 1);
    return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_array(v) && json_array_size(v) > 0 && json_is_string(json_array_get(v, 0)))
        return json_string_value(json_array_get(v, 0));
    return NULL;
}

/* name of a Person/Organization given as string, object or array */
static void jsonld_authors(struct clean_meta *m, json_t *a, int want_person)
{
    if (json_is_string(a)) {
        if (want_person)
            add_author_list(m, json_string_value(a));
        return;
    }
    if (json_is_array(a)) {
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e)
        {
            if (i >= CLEAN_MAX_AUTHORS)
                break;
            jsonld_authors(m, e, want_person);
        }
        return;
    }
    if (!json_is_object(a))
        return;
    static const char *const orgs[] = {"Organization", "NewsMediaOrganization", NULL};
    int is_org = type_is(a, orgs);
    if (is_org == want_person)
        return;
    const char *name = jstr(a, "name");
    if (name)
        add_author(m, name);
}

static const char *jsonld_image(json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_array(v) && json_array_size(v) > 0)
        return jsonld_image(json_array_get(v, 0));
    if (json_is_object(v)) {
        const char *u = jstr(v, "url");
        return u ? u : jstr(v, "contentUrl");
    }
    return NULL;
}

/* The text of a <script> element. */
static const char *script_text(xmlNodePtr n)
{
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            return (const char *)c->content;
    }
    return NULL;
}

static json_t *parse_jsonld(const char *s)
{
    if (!s)
        return NULL;
    /* tolerate wrappers seen in the wild: HTML comments, CDATA, a ';' */
    while (isspace((unsigned char)*s))
        s++;
    if (strncmp(s, "<!--", 4) == 0)
        s += 4;
    if (strncmp(s, "//<![CDATA[", 11) == 0)
        s += 11;
    else if (strncmp(s, "<![CDATA[", 9) == 0)
        s += 9;
    size_t len = strlen(s);
    if (len > 4 * 1024 * 1024)
        return NULL;
    json_error_t e;
    json_t *j = json_loadb(s, len, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &e);
    return j;
}

/* articleBody as folded text: paragraph breaks (any line feed) kept as
 * "\n\n". NULL when it is HTML or empty. */
static char *jsonld_body_text(const char *s)
{
    if (!s)
        return NULL;
    if (strstr(s, "<p") || strstr(s, "</") || strstr(s, "<br"))
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    int st = CLEAN_FOLD_START, nl = 0;
    if (clean_fold_append_lines(&b, s, strlen(s), &st, &nl) != 0) {
        buf_free(&b);
        return NULL;
    }
    /* single line feeds are paragraph breaks too */
    struct buf o;
    buf_init(&o, 0);
    for (size_t i = 0; i < b.len; i++) {
        if (b.data[i] == '\n') {
            while (i + 1 < b.len && b.data[i + 1] == '\n')
                i++;
            buf_append(&o, "\n\n", 2);
        } else {
            buf_append(&o, b.data + i, 1);
        }
    }
    buf_free(&b);
    if (o.len == 0) {
        buf_free(&o);
        return NULL;
    }
    return buf_steal(&o);
}

static void from_jsonld(struct clean_meta *m, json_t *root, int64_t now_ms, const char *base,
                        char **ld_headline, char **ld_url)
{
    json_t *art = find_typed(root, article_types, 0);
    json_t *page = art ? NULL : find_typed(root, page_types, 0);
    json_t *org = find_typed(root, org_types, 0);
    json_t *o = art ? art : page;
    if (art) {
        m->declared_article = 1;
        if (!m->jsonld_type) {
            json_t *t = json_object_get(art, "@type");
            const char *ts = json_is_string(t) ? json_string_value(t) : jstr(art, "@type");
            set_once(&m->jsonld_type, ts);
        }
    }
    if (o) {
        const char *h = jstr(o, "headline");
        if (!h && art)
            h = jstr(o, "name");
        set_once(&m->title, h);
        if (!m->published)
            parse_date(jstr(o, "datePublished"), now_ms, &m->published);
        if (!m->published)
            parse_date(jstr(o, "dateCreated"), now_ms, &m->published);
        parse_date(jstr(o, "dateModified"), now_ms, &m->modified);
        if (m->nauthors == 0) {
            json_t *a = json_object_get(o, "author");
            if (!a)
                a = json_object_get(o, "creator");
            jsonld_authors(m, a, 1);
            if (m->nauthors == 0)
                jsonld_authors(m, a, 0);
        }
        set_once(&m->section, jstr(o, "articleSection"));
        set_once(&m->description, jstr(o, "description"));
        if (!m->image) {
            const char *img = jsonld_image(json_object_get(o, "image"));
            if (img)
                m->image = resolve_url(img, base);
        }
        json_t *pub = json_object_get(o, "publisher");
        if (json_is_object(pub))
            set_once(&m->site_name, jstr(pub, "name"));
        json_t *lang = json_object_get(o, "inLanguage");
        if (json_is_string(lang))
            set_once(&m->lang_declared, json_string_value(lang));
        if (art && !m->jsonld_body) {
            m->jsonld_body = jsonld_body_text(jstr(art, "articleBody"));
            if (m->jsonld_body) {
                set_once(ld_headline, jstr(art, "headline"));
                const char *u = jstr(art, "url");
                json_t *mep = json_object_get(art, "mainEntityOfPage");
                if (!u && json_is_object(mep))
                    u = jstr(mep, "@id");
                else if (!u)
                    u = jstr(art, "mainEntityOfPage");
                set_once(ld_url, u);
            }
        }
    }
    if (org && !m->site_name && !type_is(org, page_types))
        set_once(&m->site_name, jstr(org, "name"));
}

/* ------------------------------------------------------------------------
 * <meta>, <link>, <time> and byline elements.
 * --------------------------------------------------------------------- */

enum {
    K_NONE,
    K_PUB,
    K_MOD,
    K_AUTHOR,
    K_OGTITLE,
    K_TWTITLE,
    K_SITE,
    K_SECTION,
    K_IMAGE,
    K_URL,
    K_LANG,
    K_OGTYPE,
    K_LOCALE,
    K_DESC
};

static int meta_key(const char *k)
{
    static const struct {
        const char *name;
        int key;
    } map[] = {{"article:published_time", K_PUB},
               {"og:article:published_time", K_PUB},
               {"article:published", K_PUB},
               {"datepublished", K_PUB},
               {"date", K_PUB},
               {"pubdate", K_PUB},
               {"publishdate", K_PUB},
               {"publish-date", K_PUB},
               {"publish_date", K_PUB},
               {"pub_date", K_PUB},
               {"dc.date", K_PUB},
               {"dc.date.issued", K_PUB},
               {"dc.date.created", K_PUB},
               {"dcterms.issued", K_PUB},
               {"dcterms.created", K_PUB},
               {"dcterms.date", K_PUB},
               {"sailthru.date", K_PUB},
               {"parsely-pub-date", K_PUB},
               {"article.published", K_PUB},
               {"article_date_original", K_PUB},
               {"original-publish-date", K_PUB},
               {"citation_publication_date", K_PUB},
               {"displaydate", K_PUB},
               {"date_published", K_PUB},
               {"og:published_time", K_PUB},
               {"published_time", K_PUB},
               {"publication_date", K_PUB},
               {"release_date", K_PUB},
               {"article:modified_time", K_MOD},
               {"og:updated_time", K_MOD},
               {"article:modified", K_MOD},
               {"datemodified", K_MOD},
               {"last-modified", K_MOD},
               {"dcterms.modified", K_MOD},
               {"dc.date.modified", K_MOD},
               {"lastmod", K_MOD},
               {"author", K_AUTHOR},
               {"article:author", K_AUTHOR},
               {"parsely-author", K_AUTHOR},
               {"sailthru.author", K_AUTHOR},
               {"dc.creator", K_AUTHOR},
               {"dcterms.creator", K_AUTHOR},
               {"byl", K_AUTHOR},
               {"og:title", K_OGTITLE},
               {"twitter:title", K_TWTITLE},
               {"og:site_name", K_SITE},
               {"application-name", K_SITE},
               {"article:section", K_SECTION},
               {"section", K_SECTION},
               {"parsely-section", K_SECTION},
               {"og:image", K_IMAGE},
               {"og:image:url", K_IMAGE},
               {"og:image:secure_url", K_IMAGE},
               {"twitter:image", K_IMAGE},
               {"twitter:image:src", K_IMAGE},
               {"og:url", K_URL},
               {"content-language", K_LANG},
               {"language", K_LANG},
               {"dc.language", K_LANG},
               {"og:type", K_OGTYPE},
               {"og:locale", K_LOCALE},
               {"og:description", K_DESC},
               {"description", K_DESC},
               {"twitter:description", K_DESC},
               {NULL, K_NONE}};
    for (int i = 0; map[i].name; i++) {
        if (strcasecmp(k, map[i].name) == 0)
            return map[i].key;
    }
    return K_NONE;
}

struct pending {
    const char *pub[8];
    size_t npub;
    const char *mod[4];
    size_t nmod;
    const char *author_meta[4];
    size_t nauthor_meta;
    const char *og_title, *tw_title, *site, *section, *image, *og_url, *lang, *locale, *og_type;
    const char *desc;
    const char *canonical;
    xmlNodePtr time_pub, time_mod, time_any;
    xmlNodePtr bylines[8];
    size_t nbylines;
    xmlNodePtr h1;
};

static void read_meta(struct pending *p, xmlNodePtr n)
{
    const char *content = clean_attr(n, "content");
    if (!content) {
        /* <meta charset> and the like */
        return;
    }
    const char *keys[4] = {clean_attr(n, "property"), clean_attr(n, "name"),
                           clean_attr(n, "itemprop"), clean_attr(n, "http-equiv")};
    for (int k = 0; k < 4; k++) {
        if (!keys[k])
            continue;
        switch (meta_key(keys[k])) {
        case K_PUB:
            if (p->npub < 8)
                p->pub[p->npub++] = content;
            break;
        case K_MOD:
            if (p->nmod < 4)
                p->mod[p->nmod++] = content;
            break;
        case K_AUTHOR:
            if (p->nauthor_meta < 4)
                p->author_meta[p->nauthor_meta++] = content;
            break;
        case K_OGTITLE:
            if (!p->og_title)
                p->og_title = content;
            break;
        case K_TWTITLE:
            if (!p->tw_title)
                p->tw_title = content;
            break;
        case K_SITE:
            if (!p->site)
                p->site = content;
            break;
        case K_SECTION:
            if (!p->section)
                p->section = content;
            break;
        case K_IMAGE:
            if (!p->image)
                p->image = content;
            break;
        case K_URL:
            if (!p->og_url)
                p->og_url = content;
            break;
        case K_LANG:
            if (!p->lang)
                p->lang = content;
            break;
        case K_LOCALE:
            if (!p->locale)
                p->locale = content;
            break;
        case K_OGTYPE:
            if (!p->og_type)
                p->og_type = content;
            break;
        case K_DESC:
            if (!p->desc)
                p->desc = content;
            break;
        default: break;
        }
    }
}

static void read_time(struct pending *p, xmlNodePtr n)
{
    const char *ip = clean_attr(n, "itemprop");
    int pubdate = clean_attr(n, "pubdate") != NULL;
    if (ip && strcasecmp(ip, "datePublished") == 0)
        pubdate = 1;
    if (pubdate && !p->time_pub)
        p->time_pub = n;
    else if (ip && strcasecmp(ip, "dateModified") == 0 && !p->time_mod)
        p->time_mod = n;
    else if (!p->time_any && clean_attr(n, "datetime"))
        p->time_any = n;
}

static void time_date(xmlNodePtr n, int64_t now_ms, char **out)
{
    if (!n || *out)
        return;
    const char *dt = clean_attr(n, "datetime");
    if (dt && parse_date(dt, now_ms, out) == 0)
        return;
    struct buf b;
    buf_init(&b, 256);
    clean_node_text(n, &b, 128);
    if (b.data)
        parse_date(b.data, now_ms, out);
    buf_free(&b);
}

int clean_url_date(const char *url, int64_t *ms)
{
    if (!url)
        return -1;
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    for (; p && *p; p++) {
        if (*p != '/' && *p != '-' && *p != '_')
            continue;
        const char *q = p + 1;
        int y = 0, m = 0, d = 0;
        if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]) &&
            isdigit((unsigned char)q[2]) && isdigit((unsigned char)q[3])) {
            y = (q[0] - '0') * 1000 + (q[1] - '0') * 100 + (q[2] - '0') * 10 + (q[3] - '0');
            q += 4;
            char sep = *q;
            if ((sep == '/' || sep == '-' || sep == '_') && isdigit((unsigned char)q[1]) &&
                isdigit((unsigned char)q[2])) {
                m = (q[1] - '0') * 10 + (q[2] - '0');
                q += 3;
                if (*q == sep && isdigit((unsigned char)q[1]) && isdigit((unsigned char)q[2]) &&
                    !isdigit((unsigned char)q[3])) {
                    d = (q[1] - '0') * 10 + (q[2] - '0');
                }
            } else if (isdigit((unsigned char)q[0]) && isdigit((unsigned char)q[1]) &&
                       isdigit((unsigned char)q[2]) && isdigit((unsigned char)q[3]) &&
                       !isdigit((unsigned char)q[4])) {
                m = (q[0] - '0') * 10 + (q[1] - '0');
                d = (q[2] - '0') * 10 + (q[3] - '0');
            }
        }
        if (y >= 1990 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
            *ms = datetime_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400000LL;
            return 0;
        }
    }
    return -1;
}

static void url_host(const char *url, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!url)
        return;
    const char *p = strstr(url, "://");
    if (!p)
        return;
    p += 3;
    size_t n = strcspn(p, "/:?#");
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static void normalise_lang(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '_')
            *p = '-';
        else
            *p = (char)tolower((unsigned char)*p);
    }
    /* keep the first tag of lists ("en, de") */
    size_t n = strcspn(s, ", ;");
    s[n] = '\0';
}

void clean_meta_extract(const struct clean_refs *refs, const char *url, int64_t now_ms,
                        struct clean_meta *m)
{
    struct pending p;
    char *ld_headline = NULL, *ld_url = NULL;
    memset(m, 0, sizeof *m);
    memset(&p, 0, sizeof p);

    for (size_t i = 0; i < refs->n; i++) {
        xmlNodePtr n = refs->v[i];
        const char *name = (const char *)n->name;
        if (!name)
            continue;
        if (strcasecmp(name, "meta") == 0) {
            read_meta(&p, n);
        } else if (strcasecmp(name, "link") == 0) {
            const char *rel = clean_attr(n, "rel");
            if (rel && strcasecmp(rel, "canonical") == 0 && !p.canonical)
                p.canonical = clean_attr(n, "href");
        } else if (strcasecmp(name, "script") == 0) {
            json_t *j = parse_jsonld(script_text(n));
            if (j) {
                from_jsonld(m, j, now_ms, url, &ld_headline, &ld_url);
                json_decref(j);
            }
        } else if (strcasecmp(name, "time") == 0) {
            read_time(&p, n);
        } else if (strcasecmp(name, "h1") == 0) {
            if (!p.h1)
                p.h1 = n;
        } else if (p.nbylines < 8) {
            p.bylines[p.nbylines++] = n;
        }
    }

    /* Dates. */
    for (size_t i = 0; i < p.npub && !m->published; i++)
        parse_date(p.pub[i], now_ms, &m->published);
    time_date(p.time_pub, now_ms, &m->published);
    time_date(p.time_any, now_ms, &m->published);
    if (!m->published) {
        int64_t ms;
        if (clean_url_date(url, &ms) == 0 && ms <= now_ms) {
            char iso[32];
            datetime_format_iso(ms, iso, sizeof iso);
            m->published = strdup(iso);
        }
    }
    for (size_t i = 0; i < p.nmod && !m->modified; i++)
        parse_date(p.mod[i], now_ms, &m->modified);
    time_date(p.time_mod, now_ms, &m->modified);

    /* Authors. */
    for (size_t i = 0; i < p.nauthor_meta && m->nauthors == 0; i++) {
        if (!looks_like_url(p.author_meta[i]))
            add_author_list(m, p.author_meta[i]);
    }
    if (m->nauthors == 0) {
        struct buf b;
        buf_init(&b, 1024);
        for (size_t i = 0; i < p.nbylines; i++) {
            buf_reset(&b);
            clean_node_text(p.bylines[i], &b, 200);
            if (b.data && b.len > 0 && b.len < 120)
                add_author_list(m, b.data);
        }
        buf_free(&b);
    }

    /* Site, section, image, canonical, language, og:type. */
    set_once(&m->site_name, p.site);
    set_once(&m->section, p.section);
    if (p.desc) {
        /* the page's own description first: JSON-LD's is often shorter */
        char *d = folded(p.desc);
        if (d) {
            free(m->description);
            m->description = d;
        }
    }
    if (!m->image && p.image)
        m->image = resolve_url(p.image, url);
    if (p.canonical)
        m->canonical_url = resolve_url(p.canonical, url);
    if (!m->canonical_url && p.og_url)
        m->canonical_url = resolve_url(p.og_url, url);
    if (refs->root) {
        const char *l = clean_attr(refs->root, "lang");
        if (!l || !*l)
            l = clean_attr(refs->root, "xml:lang");
        if (l && *l) {
            free(m->lang_declared);
            m->lang_declared = folded(l);
        }
    }
    set_once(&m->lang_declared, p.lang);
    set_once(&m->lang_declared, p.locale);
    if (m->lang_declared)
        normalise_lang(m->lang_declared);
    set_once(&m->og_type, p.og_type);
    if (m->og_type && strcasecmp(m->og_type, "article") == 0)
        m->declared_article = 1;

    /* Title. */
    char host[256];
    url_host(m->canonical_url ? m->canonical_url : url, host, sizeof host);
    char *h1 = NULL;
    if (p.h1) {
        struct buf b;
        buf_init(&b, 2048);
        clean_node_text(p.h1, &b, 1000);
        h1 = b.data ? folded(b.data) : NULL;
        buf_free(&b);
    }
    char *raw = NULL;
    if (m->title) {
        /* a headline cut at 110 characters: og:title may be whole */
        if (p.og_title) {
            char *og = folded(p.og_title);
            size_t tl = strlen(m->title);
            while (tl && ((unsigned char)m->title[tl - 1] == 0xA6 || m->title[tl - 1] == '.'))
                tl--;
            if (og && tl >= 60 && strlen(og) > strlen(m->title) &&
                strncmp(og, m->title, tl > 3 ? tl - 3 : tl) == 0) {
                free(m->title);
                m->title = og;
                og = NULL;
            }
            free(og);
        }
        raw = m->title;
        m->title = NULL;
    } else if (p.og_title) {
        raw = folded(p.og_title);
    } else if (p.tw_title) {
        raw = folded(p.tw_title);
    } else if (refs->title) {
        struct buf b;
        buf_init(&b, 4096);
        clean_node_text(refs->title, &b, 2000);
        raw = b.data ? folded(b.data) : NULL;
        buf_free(&b);
    }
    if (!raw && h1)
        raw = strdup(h1);
    if (raw) {
        m->title = clean_title_strip_site(raw, m->site_name, host, h1);
        free(raw);
    }
    free(h1);

    /* Is the JSON-LD article this page's? */
    if (m->jsonld_body) {
        char *tt = NULL;
        if (refs->title) {
            struct buf b;
            buf_init(&b, 4096);
            clean_node_text(refs->title, &b, 2000);
            tt = b.data ? folded(b.data) : NULL;
            buf_free(&b);
        }
        char *og = p.og_title ? folded(p.og_title) : NULL;
        if (ld_headline) {
            size_t hl = strlen(ld_headline);
            size_t probe = hl < 30 ? hl : 30;
            if (probe >= 10 && ((og && strncasecmp(og, ld_headline, probe) == 0) ||
                                (tt && ci_contains(tt, strlen(tt), ld_headline)) ||
                                (tt && strncasecmp(tt, ld_headline, probe) == 0)))
                m->jsonld_consistent = 1;
        }
        if (ld_url && m->canonical_url) {
            char *lu = resolve_url(ld_url, url);
            if (lu && strcmp(lu, m->canonical_url) == 0)
                m->jsonld_consistent = 1;
            free(lu);
        }
        free(tt);
        free(og);
    }
    free(ld_headline);
    free(ld_url);
}

void clean_meta_free(struct clean_meta *m)
{
    free(m->title);
    free(m->published);
    free(m->modified);
    for (size_t i = 0; i < m->nauthors; i++)
        free(m->authors[i]);
    free(m->canonical_url);
    free(m->site_name);
    free(m->section);
    free(m->image);
    free(m->description);
    free(m->lang_declared);
    free(m->jsonld_type);
    free(m->jsonld_body);
    free(m->og_type);
    memset(m, 0, sizeof *m);
}
