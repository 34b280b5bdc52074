#include "feed.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libxml/uri.h>

#include "buf.h"
#include "charset.h"
#include "datetime.h"
#include "hash.h"
#include "text.h"
#include "xml.h"

/* A date later than now + 1 day is not credible (zones set wrong are
 * within 14 h); earlier than 1990 neither. */
#define DATE_SLACK_MS (24LL * 3600 * 1000)
/* One text field (a content:encoded body) may not exceed this. */
#define FIELD_MAX ((size_t)8 << 20)

struct strvec {
    const char **v;
    size_t n, cap;
};

struct pctx {
    struct feed *f;
    const struct feed_parse_opts *o;
    int64_t now;
    int main_ns;    /* namespace of the format's own elements */
    int main_ns2;   /* a second accepted one (or -1) */
    struct buf tmp; /* scratch for one field */
    struct buf tmp2;
    struct strvec authors, cats, feed_authors;
    struct feed_enclosure *encs;
    size_t n_encs, cap_encs;
    int oom;
};

/* ------------------------------------------------------------------ */

const char *feed_format_name(int format)
{
    switch (format) {
    case FEED_FORMAT_RSS: return "rss";
    case FEED_FORMAT_RDF: return "rdf";
    case FEED_FORMAT_ATOM: return "atom";
    case FEED_FORMAT_JSON: return "json";
    default: return "unknown";
    }
}

static const char *adup(struct pctx *p, const char *s, size_t n)
{
    const char *r = feed_arena_strndup(&p->f->arena, s, n);
    if (!r)
        p->oom = 1;
    return r;
}

/* The scratch buffer's content as an arena string, NULL when empty. */
static const char *take_tmp(struct pctx *p, struct buf *b)
{
    if (b->len == 0)
        return NULL;
    return adup(p, b->data, b->len);
}

static void vec_push(struct pctx *p, struct strvec *v, const char *s)
{
    if (!s || !*s)
        return;
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i], s) == 0)
            return;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        const char **nv = realloc(v->v, cap * sizeof *nv);
        if (!nv) {
            p->oom = 1;
            return;
        }
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = s;
}

static const char **vec_freeze(struct pctx *p, struct strvec *v, size_t *n)
{
    *n = 0;
    if (v->n == 0)
        return NULL;
    const char **a = feed_arena_alloc(&p->f->arena, v->n * sizeof *a);
    if (!a) {
        p->oom = 1;
        return NULL;
    }
    memcpy(a, v->v, v->n * sizeof *a);
    *n = v->n;
    return a;
}

static void enc_push(struct pctx *p, const char *url, const char *type, int64_t length)
{
    if (!url || !*url)
        return;
    for (size_t i = 0; i < p->n_encs; i++) {
        if (strcmp(p->encs[i].url, url) == 0) {
            if (!p->encs[i].type && type)
                p->encs[i].type = type;
            if (p->encs[i].length < 0 && length >= 0)
                p->encs[i].length = length;
            return;
        }
    }
    if (p->n_encs == p->cap_encs) {
        size_t cap = p->cap_encs ? p->cap_encs * 2 : 4;
        struct feed_enclosure *ne = realloc(p->encs, cap * sizeof *ne);
        if (!ne) {
            p->oom = 1;
            return;
        }
        p->encs = ne;
        p->cap_encs = cap;
    }
    p->encs[p->n_encs++] = (struct feed_enclosure){url, type, length};
}

static int64_t parse_length(const char *s)
{
    if (!s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    return v;
}

static int64_t parse_date(struct pctx *p, const char *s)
{
    int64_t ms;
    if (s && datetime_parse_sane(s, p->now, DATE_SLACK_MS, &ms) == DATETIME_OK)
        return ms;
    return FEED_NO_TIME;
}

/* ------------------------------------------------------------------
 * XML field readers
 * ------------------------------------------------------------------ */

enum text_mode {
    TM_PLAIN, /* text as is, whitespace folded */
    TM_MAYBE, /* plain unless it carries markup or references (RSS titles) */
    TM_HTML   /* an HTML fragment: tags stripped, references decoded */
};

/* Plain text of element n into an arena string. */
static const char *x_text(struct pctx *p, const xmlNode *n, int mode)
{
    buf_reset(&p->tmp);
    buf_reset(&p->tmp2);
    if (feed_xml_text(n, &p->tmp) != 0)
        return NULL;
    int html =
        mode == TM_HTML ||
        (mode == TM_MAYBE && feed_text_has_markup(p->tmp.data ? p->tmp.data : "", p->tmp.len));
    int rc = html ? feed_text_from_html(p->tmp.data ? p->tmp.data : "", p->tmp.len, &p->tmp2)
                  : feed_text_fold(p->tmp.data ? p->tmp.data : "", p->tmp.len, &p->tmp2);
    return rc == 0 ? take_tmp(p, &p->tmp2) : NULL;
}

/* HTML carried by element n: the markup of its children when HTML was left
 * unescaped in the feed, else its text (escaped HTML, or CDATA). */
static const char *x_html(struct pctx *p, const xmlNode *n)
{
    buf_reset(&p->tmp);
    int rc = feed_xml_has_elements(n) ? feed_xml_inner(n, &p->tmp) : feed_xml_text(n, &p->tmp);
    if (rc != 0)
        return NULL;
    /* trim */
    size_t s = 0, e = p->tmp.len;
    while (s < e && isspace((unsigned char)p->tmp.data[s]))
        s++;
    while (e > s && isspace((unsigned char)p->tmp.data[e - 1]))
        e--;
    return e > s ? adup(p, p->tmp.data + s, e - s) : NULL;
}

static const char *x_attr(struct pctx *p, const xmlNode *n, const char *name)
{
    char *v = feed_xml_attr(n, name);
    if (!v)
        return NULL;
    const char *r = NULL;
    size_t s = 0, e = strlen(v);
    while (s < e && isspace((unsigned char)v[s]))
        s++;
    while (e > s && isspace((unsigned char)v[e - 1]))
        e--;
    if (e > s)
        r = adup(p, v + s, e - s);
    free(v);
    return r;
}

static const char *x_url(struct pctx *p, const xmlNode *n, const char *ref)
{
    if (!ref || !*ref)
        return NULL;
    buf_reset(&p->tmp2);
    if (feed_xml_resolve(n, ref, &p->tmp2) != 0)
        return NULL;
    return take_tmp(p, &p->tmp2);
}

/* Atom text construct type: 0 text, 1 html, 2 xhtml, -1 other (binary). */
static int atom_type(const xmlNode *n)
{
    char *t = feed_xml_attr(n, "type");
    char *mode = feed_xml_attr(n, "mode"); /* Atom 0.3 */
    int r = 0;
    if (t) {
        if (strcasecmp(t, "html") == 0 || strcasecmp(t, "text/html") == 0)
            r = 1;
        else if (strcasecmp(t, "xhtml") == 0 || strcasecmp(t, "application/xhtml+xml") == 0)
            r = 2;
        else if (strcasecmp(t, "text") == 0 || strcasecmp(t, "text/plain") == 0)
            r = 0;
        else if (strncasecmp(t, "text/", 5) == 0)
            r = 0;
        else
            r = -1;
    }
    if (mode && strcasecmp(mode, "base64") == 0)
        r = -1;
    else if (mode && strcasecmp(mode, "escaped") == 0 && r == 0 && t &&
             strcasecmp(t, "text/plain") != 0)
        r = 1;
    else if (mode && strcasecmp(mode, "xml") == 0 && r == 1)
        r = 2;
    free(t);
    free(mode);
    return r;
}

/* The element whose children are an XHTML construct: the xhtml:div
 * wrapper when present. */
static const xmlNode *xhtml_div(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return strcmp(feed_xml_local(c), "div") == 0 ? c : n;
    }
    return n;
}

static const char *atom_text(struct pctx *p, const xmlNode *n)
{
    switch (atom_type(n)) {
    case 1: return x_text(p, n, TM_HTML);
    case 2: return x_text(p, xhtml_div(n), TM_PLAIN);
    case 0: return x_text(p, n, feed_xml_has_elements(n) ? TM_HTML : TM_PLAIN);
    default: return NULL;
    }
}

static const char *atom_html(struct pctx *p, const xmlNode *n)
{
    switch (atom_type(n)) {
    case 1: return x_html(p, n);
    case 2: {
        const xmlNode *d = xhtml_div(n);
        buf_reset(&p->tmp);
        if (feed_xml_inner(d, &p->tmp) != 0)
            return NULL;
        return take_tmp(p, &p->tmp);
    }
    case 0: {
        if (feed_xml_has_elements(n))
            return x_html(p, n);
        buf_reset(&p->tmp);
        buf_reset(&p->tmp2);
        if (feed_xml_text(n, &p->tmp) != 0 ||
            feed_text_fold(p->tmp.data ? p->tmp.data : "", p->tmp.len, &p->tmp2) != 0)
            return NULL;
        buf_reset(&p->tmp);
        if (feed_text_escape_html(p->tmp2.data ? p->tmp2.data : "", p->tmp2.len, &p->tmp) != 0)
            return NULL;
        return take_tmp(p, &p->tmp);
    }
    default: return NULL;
    }
}

/* "joe@example.com (Joe Bloggs)" -> "Joe Bloggs"; "Joe <joe@x>" -> "Joe";
 * a leading "By " is dropped. */
static const char *clean_author(struct pctx *p, const char *s)
{
    if (!s)
        return NULL;
    const char *open = strchr(s, '(');
    const char *close = open ? strrchr(open, ')') : NULL;
    size_t start = 0, end = strlen(s);
    if (open && close && close > open + 1 && memchr(s, '@', (size_t)(open - s))) {
        start = (size_t)(open - s) + 1;
        end = (size_t)(close - s);
    } else {
        const char *lt = strchr(s, '<');
        if (lt && lt > s && strchr(lt, '@'))
            end = (size_t)(lt - s);
    }
    while (start < end && isspace((unsigned char)s[start]))
        start++;
    while (end > start && isspace((unsigned char)s[end - 1]))
        end--;
    if (end - start > 3 && strncasecmp(s + start, "by ", 3) == 0)
        start += 3;
    while (start < end && isspace((unsigned char)s[start]))
        start++;
    if (end <= start)
        return NULL;
    return adup(p, s + start, end - start);
}

static void add_author_text(struct pctx *p, struct strvec *v, const xmlNode *n)
{
    vec_push(p, v, clean_author(p, x_text(p, n, TM_MAYBE)));
}

/* Atom person construct: name, else email. */
static void add_atom_person(struct pctx *p, struct strvec *v, const xmlNode *n)
{
    const xmlNode *name = NULL, *email = NULL;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (strcmp(feed_xml_local(c), "name") == 0)
            name = c;
        else if (strcmp(feed_xml_local(c), "email") == 0)
            email = c;
    }
    if (name)
        add_author_text(p, v, name);
    else if (email)
        add_author_text(p, v, email);
    else if (!feed_xml_has_elements(n))
        add_author_text(p, v, n); /* <author>Name</author>, seen in the wild */
}

static void add_media(struct pctx *p, const xmlNode *n)
{
    const char *url = x_attr(p, n, "url");
    if (!url)
        return;
    const char *type = x_attr(p, n, "type");
    const char *size = x_attr(p, n, "fileSize");
    enc_push(p, x_url(p, n, url), type, parse_length(size));
}

static int is_main(const struct pctx *p, const xmlNode *n, const char *local)
{
    if (n->type != XML_ELEMENT_NODE || strcmp(feed_xml_local(n), local) != 0)
        return 0;
    int ns = feed_xml_ns(n);
    return ns == p->main_ns || ns == p->main_ns2;
}

/* ------------------------------------------------------------------
 * Items
 * ------------------------------------------------------------------ */

struct item_fields {
    const char *id, *title, *link, *summary, *content;
    const char *guid_link; /* guid usable as a link */
    int64_t published, updated;
};

static void item_reset(struct pctx *p, struct item_fields *it)
{
    memset(it, 0, sizeof *it);
    it->published = it->updated = FEED_NO_TIME;
    p->authors.n = 0;
    p->cats.n = 0;
    p->n_encs = 0;
}

static void item_commit(struct pctx *p, struct item_fields *it, int inherit_authors)
{
    struct feed *f = p->f;
    f->n_items_seen++;
    if (f->n_items >= (p->o->max_items ? p->o->max_items : FEED_DEFAULT_MAX_ITEMS))
        return;
    struct feed_item *d = &f->items[f->n_items];
    memset(d, 0, sizeof *d);
    d->title = it->title;
    d->link = it->link ? it->link : it->guid_link;
    d->summary = it->summary;
    d->content = it->content;
    d->published = it->published;
    d->updated = it->updated;
    if (d->published == FEED_NO_TIME)
        d->published = d->updated;
    if (it->id && *it->id) {
        d->id = it->id;
    } else if (d->link) {
        d->id = d->link;
    } else {
        uint64_t h = HASH_FNV64_INIT;
        const char *t = d->title ? d->title : "";
        const char *s = d->summary ? d->summary : (d->content ? d->content : "");
        char hex[17], idbuf[24];
        h = hash_fnv64_update(h, t, strlen(t));
        h = hash_fnv64_update(h, "\n", 1);
        h = hash_fnv64_update(h, s, strlen(s));
        hash_hex64(h, hex);
        snprintf(idbuf, sizeof idbuf, "hash:%s", hex);
        d->id = adup(p, idbuf, strlen(idbuf));
    }
    if (p->authors.n == 0 && inherit_authors)
        d->authors = vec_freeze(p, &p->feed_authors, &d->n_authors);
    else
        d->authors = vec_freeze(p, &p->authors, &d->n_authors);
    d->categories = vec_freeze(p, &p->cats, &d->n_categories);
    if (p->n_encs) {
        d->enclosures = feed_arena_alloc(&f->arena, p->n_encs * sizeof *d->enclosures);
        if (d->enclosures) {
            memcpy(d->enclosures, p->encs, p->n_encs * sizeof *d->enclosures);
            d->n_enclosures = p->n_encs;
        } else {
            p->oom = 1;
        }
    }
    if (d->id)
        f->n_items++;
}

static int allocate_items(struct pctx *p, size_t count)
{
    size_t max = p->o->max_items ? p->o->max_items : FEED_DEFAULT_MAX_ITEMS;
    if (count > max)
        count = max;
    if (count == 0)
        return 0;
    p->f->items = feed_arena_calloc(&p->f->arena, count * sizeof *p->f->items);
    return p->f->items ? 0 : -1;
}

/* RSS 0.9x/2.0 and RSS 1.0 items share most of their vocabulary. */
static void rss_item(struct pctx *p, const xmlNode *item, int rdf)
{
    struct item_fields it;
    const xmlNode *desc = NULL, *encoded = NULL;
    item_reset(p, &it);
    if (rdf)
        it.id = x_attr(p, item, "about");
    for (const xmlNode *c = item->children; c && !p->oom; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int ns = feed_xml_ns(c);
        const char *l = feed_xml_local(c);
        if (is_main(p, c, "title")) {
            it.title = x_text(p, c, TM_MAYBE);
        } else if (is_main(p, c, "link")) {
            if (!it.link)
                it.link = x_url(p, c, x_text(p, c, TM_PLAIN));
        } else if (is_main(p, c, "description")) {
            desc = c;
        } else if (ns == FEED_NS_CONTENT && strcmp(l, "encoded") == 0) {
            encoded = c;
        } else if (is_main(p, c, "guid")) {
            const char *g = x_text(p, c, TM_PLAIN);
            const char *perma = x_attr(p, c, "isPermaLink");
            if (g && !rdf)
                it.id = g;
            if (g && (!perma || strcasecmp(perma, "false") != 0) &&
                (strncasecmp(g, "http://", 7) == 0 || strncasecmp(g, "https://", 8) == 0))
                it.guid_link = x_url(p, c, g);
        } else if (is_main(p, c, "pubDate") || (ns == FEED_NS_DC && strcmp(l, "date") == 0) ||
                   (ns == FEED_NS_DCTERMS &&
                    (strcmp(l, "issued") == 0 || strcmp(l, "created") == 0)) ||
                   (ns == FEED_NS_ATOM && strcmp(l, "published") == 0)) {
            if (it.published == FEED_NO_TIME)
                it.published = parse_date(p, x_text(p, c, TM_PLAIN));
        } else if ((ns == FEED_NS_ATOM && strcmp(l, "updated") == 0) ||
                   (ns == FEED_NS_DCTERMS && strcmp(l, "modified") == 0)) {
            if (it.updated == FEED_NO_TIME)
                it.updated = parse_date(p, x_text(p, c, TM_PLAIN));
        } else if (is_main(p, c, "author") || (ns == FEED_NS_DC && strcmp(l, "creator") == 0) ||
                   (ns == FEED_NS_ITUNES && strcmp(l, "author") == 0)) {
            if (feed_xml_has_elements(c))
                add_atom_person(p, &p->authors, c);
            else
                add_author_text(p, &p->authors, c);
        } else if (ns == FEED_NS_ATOM && strcmp(l, "author") == 0) {
            add_atom_person(p, &p->authors, c);
        } else if (is_main(p, c, "category") || (ns == FEED_NS_DC && strcmp(l, "subject") == 0)) {
            vec_push(p, &p->cats, x_text(p, c, TM_MAYBE));
        } else if (is_main(p, c, "enclosure")) {
            const char *url = x_attr(p, c, "url");
            if (url)
                enc_push(p, x_url(p, c, url), x_attr(p, c, "type"),
                         parse_length(x_attr(p, c, "length")));
        } else if (ns == FEED_NS_MEDIA && strcmp(l, "content") == 0) {
            add_media(p, c);
        } else if (ns == FEED_NS_MEDIA && strcmp(l, "group") == 0) {
            for (const xmlNode *g = c->children; g; g = g->next) {
                if (feed_xml_is(g, FEED_NS_MEDIA, "content"))
                    add_media(p, g);
            }
        } else if (ns == FEED_NS_ATOM && strcmp(l, "link") == 0) {
            const char *rel = x_attr(p, c, "rel");
            const char *href = x_attr(p, c, "href");
            if (href && rel && strcmp(rel, "enclosure") == 0)
                enc_push(p, x_url(p, c, href), x_attr(p, c, "type"),
                         parse_length(x_attr(p, c, "length")));
            else if (href && (!rel || strcmp(rel, "alternate") == 0) && !it.link)
                it.link = x_url(p, c, href);
        }
    }
    if (desc) {
        it.summary = x_text(p, desc, TM_HTML);
        if (!encoded)
            it.content = x_html(p, desc);
    }
    if (encoded)
        it.content = x_html(p, encoded);
    if (!it.summary && encoded && !desc)
        it.summary = NULL; /* no summary given; content stays in html */
    item_commit(p, &it, 0);
}

static size_t count_children(const struct pctx *p, const xmlNode *parent, const char *local)
{
    size_t n = 0;
    for (const xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
        if (is_main(p, c, local))
            n++;
    }
    return n;
}

static void channel_meta(struct pctx *p, const xmlNode *ch)
{
    for (const xmlNode *c = ch->children; c && !p->oom; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int ns = feed_xml_ns(c);
        const char *l = feed_xml_local(c);
        if (is_main(p, c, "title") && !p->f->title)
            p->f->title = x_text(p, c, TM_MAYBE);
        else if (is_main(p, c, "link") && !p->f->link)
            p->f->link = x_url(p, c, x_text(p, c, TM_PLAIN));
        else if ((is_main(p, c, "language") || (ns == FEED_NS_DC && strcmp(l, "language") == 0)) &&
                 !p->f->lang)
            p->f->lang = x_text(p, c, TM_PLAIN);
        else if (ns == FEED_NS_ATOM && strcmp(l, "link") == 0 && !p->f->link) {
            const char *rel = x_attr(p, c, "rel");
            if (!rel || strcmp(rel, "alternate") == 0)
                p->f->link = x_url(p, c, x_attr(p, c, "href"));
        }
    }
}

static void parse_rss(struct pctx *p, const xmlNode *root)
{
    const xmlNode *channel = NULL;
    p->main_ns = feed_xml_ns(root);
    p->main_ns2 = p->main_ns == FEED_NS_NONE ? FEED_NS_RSS_USERLAND : FEED_NS_NONE;
    if (strcmp(feed_xml_local(root), "channel") == 0) {
        channel = root; /* a bare channel, seen in hand-made feeds */
        root = NULL;
    }
    for (const xmlNode *c = root ? root->children : NULL; c; c = c->next) {
        if (is_main(p, c, "channel")) {
            channel = c;
            break;
        }
    }
    p->f->format = FEED_FORMAT_RSS;
    const char *v = root ? x_attr(p, root, "version") : NULL;
    p->f->version = v ? v : "";
    if (channel)
        channel_meta(p, channel);
    /* Items belong in the channel; RSS 0.91 feeds sometimes put them
     * beside it. */
    if (allocate_items(p, count_children(p, channel, "item") + count_children(p, root, "item")) !=
        0) {
        p->oom = 1;
        return;
    }
    const xmlNode *parents[2] = {channel, root};
    for (int k = 0; k < 2; k++) {
        for (const xmlNode *c = parents[k] ? parents[k]->children : NULL; c && !p->oom;
             c = c->next) {
            if (is_main(p, c, "item"))
                rss_item(p, c, 0);
        }
    }
}

static void parse_rdf(struct pctx *p, const xmlNode *root)
{
    const xmlNode *channel = NULL;
    p->f->format = FEED_FORMAT_RDF;
    /* The RSS namespace is on the children; take the channel's. */
    p->main_ns = FEED_NS_RSS10;
    p->main_ns2 = FEED_NS_NONE;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp(feed_xml_local(c), "channel") == 0) {
            int ns = feed_xml_ns(c);
            if (ns == FEED_NS_RSS090 || ns == FEED_NS_RSS10 || ns == FEED_NS_NONE) {
                channel = c;
                p->main_ns = ns;
                break;
            }
        }
    }
    p->f->version = p->main_ns == FEED_NS_RSS090 ? "0.90" : "1.0";
    if (channel)
        channel_meta(p, channel);
    if (allocate_items(p, count_children(p, root, "item") + count_children(p, channel, "item")) !=
        0) {
        p->oom = 1;
        return;
    }
    const xmlNode *parents[2] = {root, channel};
    for (int k = 0; k < 2; k++) {
        for (const xmlNode *c = parents[k] ? parents[k]->children : NULL; c && !p->oom;
             c = c->next) {
            if (is_main(p, c, "item"))
                rss_item(p, c, 1);
        }
    }
}

/* Atom link choice: rel=alternate (or none), text/html preferred. */
static void atom_links(struct pctx *p, const xmlNode *c, const char **link, int *link_html)
{
    const char *rel = x_attr(p, c, "rel");
    const char *href = x_attr(p, c, "href");
    const char *type = x_attr(p, c, "type");
    if (!href)
        return;
    if (rel && strcmp(rel, "enclosure") == 0) {
        enc_push(p, x_url(p, c, href), type, parse_length(x_attr(p, c, "length")));
        return;
    }
    if (rel && strcmp(rel, "alternate") != 0 &&
        strcmp(rel, "http://www.iana.org/assignments/relation/alternate") != 0)
        return;
    int html = !type || strcasecmp(type, "text/html") == 0 ||
               strcasecmp(type, "application/xhtml+xml") == 0;
    if (!*link || (html && !*link_html)) {
        *link = x_url(p, c, href);
        *link_html = html;
    }
}

static void atom_entry(struct pctx *p, const xmlNode *e)
{
    struct item_fields it;
    const xmlNode *summary = NULL, *content = NULL;
    int link_html = 0;
    item_reset(p, &it);
    for (const xmlNode *c = e->children; c && !p->oom; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        int ns = feed_xml_ns(c);
        const char *l = feed_xml_local(c);
        if (is_main(p, c, "id")) {
            it.id = x_text(p, c, TM_PLAIN);
        } else if (is_main(p, c, "title")) {
            it.title = atom_text(p, c);
        } else if (is_main(p, c, "link")) {
            atom_links(p, c, &it.link, &link_html);
        } else if (is_main(p, c, "published") || is_main(p, c, "issued") ||
                   is_main(p, c, "created")) {
            if (it.published == FEED_NO_TIME || is_main(p, c, "published"))
                it.published = parse_date(p, x_text(p, c, TM_PLAIN));
        } else if (is_main(p, c, "updated") || is_main(p, c, "modified")) {
            it.updated = parse_date(p, x_text(p, c, TM_PLAIN));
        } else if (is_main(p, c, "author")) {
            add_atom_person(p, &p->authors, c);
        } else if (ns == FEED_NS_DC && strcmp(l, "creator") == 0) {
            add_author_text(p, &p->authors, c);
        } else if (is_main(p, c, "category")) {
            const char *term = x_attr(p, c, "label");
            if (!term)
                term = x_attr(p, c, "term");
            vec_push(p, &p->cats, term);
        } else if (is_main(p, c, "summary")) {
            summary = c;
        } else if (is_main(p, c, "content")) {
            content = c;
        } else if (ns == FEED_NS_DC && strcmp(l, "date") == 0) {
            if (it.published == FEED_NO_TIME)
                it.published = parse_date(p, x_text(p, c, TM_PLAIN));
        } else if (ns == FEED_NS_MEDIA && strcmp(l, "content") == 0) {
            add_media(p, c);
        } else if (ns == FEED_NS_MEDIA && strcmp(l, "group") == 0) {
            for (const xmlNode *g = c->children; g; g = g->next) {
                if (feed_xml_is(g, FEED_NS_MEDIA, "content"))
                    add_media(p, g);
                else if (feed_xml_is(g, FEED_NS_MEDIA, "description") && !summary && !it.summary)
                    it.summary = x_text(p, g, TM_MAYBE);
            }
        }
    }
    if (summary)
        it.summary = atom_text(p, summary);
    if (content) {
        char *src = feed_xml_attr(content, "src");
        if (!src)
            it.content = atom_html(p, content);
        free(src);
    }
    item_commit(p, &it, 1);
}

static void parse_atom(struct pctx *p, const xmlNode *root)
{
    int link_html = 0;
    p->f->format = FEED_FORMAT_ATOM;
    p->main_ns = feed_xml_ns(root);
    p->main_ns2 = -1;
    p->f->version = p->main_ns == FEED_NS_ATOM03 ? "0.3" : "1.0";
    xmlChar *lang = xmlNodeGetLang(root);
    if (lang) {
        p->f->lang = adup(p, (const char *)lang, strlen((const char *)lang));
        xmlFree(lang);
    }
    for (const xmlNode *c = root->children; c && !p->oom; c = c->next) {
        if (is_main(p, c, "title") && !p->f->title)
            p->f->title = atom_text(p, c);
        else if (is_main(p, c, "link"))
            atom_links(p, c, &p->f->link, &link_html);
        else if (is_main(p, c, "author"))
            add_atom_person(p, &p->feed_authors, c);
    }
    p->n_encs = 0; /* enclosures on the feed itself are not items' */
    if (allocate_items(p, count_children(p, root, "entry")) != 0) {
        p->oom = 1;
        return;
    }
    for (const xmlNode *c = root->children; c && !p->oom; c = c->next) {
        if (is_main(p, c, "entry"))
            atom_entry(p, c);
    }
}

/* ------------------------------------------------------------------
 * JSON Feed
 * ------------------------------------------------------------------ */

static const char *j_str(struct pctx *p, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_string(v) && json_string_length(v) > 0)
        return adup(p, json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return adup(p, b, strlen(b));
    }
    return NULL;
}

static const char *j_text(struct pctx *p, const char *s, int html)
{
    if (!s)
        return NULL;
    buf_reset(&p->tmp2);
    int rc =
        html ? feed_text_from_html(s, strlen(s), &p->tmp2) : feed_text_fold(s, strlen(s), &p->tmp2);
    return rc == 0 ? take_tmp(p, &p->tmp2) : NULL;
}

static const char *j_url(struct pctx *p, const char *ref)
{
    if (!ref)
        return NULL;
    if (!p->o->url)
        return ref;
    xmlChar *abs = xmlBuildURI((const xmlChar *)ref, (const xmlChar *)p->o->url);
    if (!abs)
        return ref;
    const char *r = adup(p, (const char *)abs, strlen((const char *)abs));
    xmlFree(abs);
    return r;
}

static void j_authors(struct pctx *p, struct strvec *v, const json_t *o)
{
    const json_t *a = json_object_get(o, "authors");
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        vec_push(p, v, clean_author(p, j_str(p, e, "name")));
    }
    a = json_object_get(o, "author"); /* JSON Feed 1.0 */
    if (json_is_object(a))
        vec_push(p, v, clean_author(p, j_str(p, a, "name")));
}

static int parse_json(struct pctx *p, const char *text, size_t len, struct vigil_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!root)
        return vigil_error_set(err, VIGIL_EPARSE, "not valid JSON: %s (line %d, column %d)",
                               je.text, je.line, je.column);
    const json_t *items = json_object_get(root, "items");
    const char *version = json_is_object(root) ? j_str(p, root, "version") : NULL;
    if (!json_is_object(root) ||
        (!json_is_array(items) && !(version && strstr(version, "jsonfeed.org")))) {
        json_decref(root);
        return vigil_error_set(err, VIGIL_EPARSE,
                               "not a feed: JSON without a JSON Feed \"version\" or \"items\"");
    }
    struct feed *f = p->f;
    f->format = FEED_FORMAT_JSON;
    f->version = version && strstr(version, "1.1") ? "json1.1" : "json1.0";
    f->title = j_text(p, j_str(p, root, "title"), 0);
    f->link = j_url(p, j_str(p, root, "home_page_url"));
    f->lang = j_str(p, root, "language");
    j_authors(p, &p->feed_authors, root);
    if (allocate_items(p, json_array_size(items)) != 0)
        p->oom = 1;
    size_t i;
    const json_t *e;
    json_array_foreach(items, i, e)
    {
        struct item_fields it;
        if (p->oom)
            break;
        if (!json_is_object(e))
            continue;
        item_reset(p, &it);
        it.id = j_str(p, e, "id");
        it.link = j_url(p, j_str(p, e, "url"));
        if (!it.link)
            it.link = j_url(p, j_str(p, e, "external_url"));
        it.title = j_text(p, j_str(p, e, "title"), 1);
        const char *html = j_str(p, e, "content_html");
        const char *txt = j_str(p, e, "content_text");
        it.summary = j_text(p, j_str(p, e, "summary"), 1);
        if (html) {
            it.content = html;
        } else if (txt) {
            buf_reset(&p->tmp);
            if (feed_text_escape_html(txt, strlen(txt), &p->tmp) == 0)
                it.content = take_tmp(p, &p->tmp);
        }
        it.published = parse_date(p, j_str(p, e, "date_published"));
        it.updated = parse_date(p, j_str(p, e, "date_modified"));
        j_authors(p, &p->authors, e);
        size_t k;
        const json_t *t;
        json_array_foreach(json_object_get(e, "tags"), k, t)
        {
            if (json_is_string(t))
                vec_push(p, &p->cats, j_text(p, json_string_value(t), 0));
        }
        json_array_foreach(json_object_get(e, "attachments"), k, t)
        {
            const json_t *sz = json_object_get(t, "size_in_bytes");
            enc_push(p, j_url(p, j_str(p, t, "url")), j_str(p, t, "mime_type"),
                     json_is_integer(sz) ? json_integer_value(sz) : -1);
        }
        item_commit(p, &it, 1);
    }
    json_decref(root);
    return 0;
}

/* ------------------------------------------------------------------ */

static int parse_xml(struct pctx *p, const char *data, size_t len, struct vigil_error *err)
{
    struct feed_xml x;
    struct feed_xml_opts xo = {p->o->url, p->o->content_type, p->o->max_bytes, p->o->xml_flags};
    int rc = feed_xml_load(data, len, &xo, &x, err);
    if (rc != 0)
        return rc;
    struct feed *f = p->f;
    snprintf(f->encoding, sizeof f->encoding, "%s", x.encoding);
    f->entities_refused = x.doctype_removed == 2;
    const xmlNode *root = xmlDocGetRootElement(x.doc);
    const char *l = feed_xml_local(root);
    int ns = feed_xml_ns(root);
    if (strcasecmp(l, "rss") == 0)
        parse_rss(p, root);
    else if (strcmp(l, "RDF") == 0 && (ns == FEED_NS_RDF || ns == FEED_NS_NONE))
        parse_rdf(p, root);
    else if (strcmp(l, "feed") == 0 &&
             (ns == FEED_NS_ATOM || ns == FEED_NS_ATOM03 || ns == FEED_NS_NONE))
        parse_atom(p, root);
    else if (strcmp(l, "channel") == 0)
        parse_rss(p, root);
    else {
        rc = vigil_error_set(err, VIGIL_EPARSE, "not a feed: the root element is <%s>%s",
                             (const char *)root->name,
                             strcasecmp(l, "html") == 0 ? " (an HTML page)" : "");
        feed_xml_free(&x);
        return rc;
    }
    if (x.recovered) {
        f->recovered = 1;
        if (f->n_items_seen == 0) {
            rc = vigil_error_set(err, VIGIL_EPARSE,
                                 "not well-formed XML and no item recovered: %s (line %d)",
                                 x.error[0] ? x.error : "parse error", x.error_line);
            feed_xml_free(&x);
            return rc;
        }
        snprintf(f->warning, sizeof f->warning, "recovered from malformed XML: %s (line %d)%s%s",
                 x.error[0] ? x.error : "parse error", x.error_line, x.warning[0] ? "; " : "",
                 x.warning);
    } else {
        snprintf(f->warning, sizeof f->warning, "%s", x.warning);
    }
    feed_xml_free(&x);
    return 0;
}

int feed_parse(const char *data, size_t len, const struct feed_parse_opts *o, struct feed **out,
               struct vigil_error *err)
{
    static const struct feed_parse_opts defaults;
    struct pctx p;
    int rc;

    *out = NULL;
    if (!o)
        o = &defaults;
    size_t max = o->max_bytes ? o->max_bytes : FEED_XML_DEFAULT_MAX;
    if (len > max)
        return vigil_error_set(err, VIGIL_ETOOBIG, "feed is %zu bytes, over the %zu limit", len,
                               max);
    memset(&p, 0, sizeof p);
    p.o = o;
    p.now = o->now_ms ? o->now_ms : (int64_t)time(NULL) * 1000;
    p.f = calloc(1, sizeof *p.f);
    if (!p.f)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    feed_arena_init(&p.f->arena, 8 * max + (1 << 20));
    buf_init(&p.tmp, FIELD_MAX);
    buf_init(&p.tmp2, FIELD_MAX);

    /* JSON Feed: the first significant byte is '{' (after a BOM). */
    size_t i = 0;
    const unsigned char *u = (const unsigned char *)data;
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        i = 3;
    while (i < len && isspace(u[i]))
        i++;
    if (i < len && u[i] == '{') {
        struct feed_utf8 t;
        rc = feed_charset_to_utf8(data, len, o->content_type, FEED_CS_JSON, 4 * max + 16, &t, err);
        if (rc == 0) {
            snprintf(p.f->encoding, sizeof p.f->encoding, "%s", t.encoding);
            snprintf(p.f->warning, sizeof p.f->warning, "%s", t.warning);
            rc = parse_json(&p, t.data, t.len, err);
            free(t.data);
        }
    } else if (i < len && u[i] != '<' &&
               !(len >= 2 && (u[0] == 0xFF || u[0] == 0xFE || u[0] == 0))) {
        rc = vigil_error_set(err, VIGIL_EPARSE, "not a feed: neither XML nor JSON");
    } else {
        rc = parse_xml(&p, data, len, err);
    }
    if (rc == 0 && p.oom)
        rc = vigil_error_set(err, VIGIL_ENOMEM,
                             "out of memory (or over the size budget) "
                             "while building the feed");
    buf_free(&p.tmp);
    buf_free(&p.tmp2);
    free(p.authors.v);
    free(p.cats.v);
    free(p.feed_authors.v);
    free(p.encs);
    if (rc != 0) {
        feed_free(p.f);
        return rc;
    }
    *out = p.f;
    return 0;
}

int feed_parse_file(const char *path, const struct feed_parse_opts *o, struct feed **out,
                    struct vigil_error *err)
{
    static const struct feed_parse_opts defaults;
    struct feed_parse_opts fo = o ? *o : defaults;
    size_t max = fo.max_bytes ? fo.max_bytes : FEED_XML_DEFAULT_MAX;
    char *data;
    size_t len;
    *out = NULL;
    if (buf_read_file(path, max, &data, &len) != 0) {
        if (errno == EFBIG)
            return vigil_error_set(err, VIGIL_ETOOBIG, "%s: over the %zu-byte limit", path, max);
        return vigil_error_set(err, VIGIL_EIO, "%s: %s", path, strerror(errno));
    }
    char *uri = NULL;
    if (!fo.url) {
        uri = (char *)xmlPathToURI((const xmlChar *)path);
        fo.url = uri ? uri : path;
    }
    int rc = feed_parse(data, len, &fo, out, err);
    free(data);
    if (uri)
        xmlFree(uri);
    return rc;
}

void feed_free(struct feed *f)
{
    if (!f)
        return;
    feed_arena_free(&f->arena);
    free(f);
}
