#include "clean_extract.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clean_boiler.h"
#include "hash.h"
#include "clean_text.h"
#include "vigil/plugin.h"

/* ------------------------------------------------------------------------
 * Tags.
 * --------------------------------------------------------------------- */
enum {
    T_OTHER = 0,
    T_A,
    T_ARTICLE,
    T_BODY,
    T_BR,
    T_FIGURE,
    T_H,
    T_HEAD,
    T_HTML,
    T_LINK,
    T_MAIN,
    T_META,
    T_SCRIPT,
    T_TIME,
    T_TITLE
};

/* Tag properties; the special tags above need code, the rest only flags. */
struct tag {
    const char *name;
    uint16_t id;
    uint8_t heading;
    uint32_t flags;
};

#define B CX_BLOCK
static const struct tag tags[] = {
    /* sorted by name for bsearch */
    {"a", T_A, 0, 0},
    {"address", T_OTHER, 0, B},
    {"applet", T_OTHER, 0, CX_SKIP},
    {"area", T_OTHER, 0, CX_SKIP},
    {"article", T_ARTICLE, 0, B | CX_ARTICLE},
    {"aside", T_OTHER, 0, B | CX_BOILER},
    {"audio", T_OTHER, 0, CX_SKIP},
    {"blockquote", T_OTHER, 0, B | CX_QUOTE},
    {"body", T_BODY, 0, B},
    {"br", T_BR, 0, 0},
    {"button", T_OTHER, 0, CX_SKIP},
    {"canvas", T_OTHER, 0, CX_SKIP},
    {"caption", T_OTHER, 0, B},
    {"center", T_OTHER, 0, B},
    {"datalist", T_OTHER, 0, CX_SKIP},
    {"dd", T_OTHER, 0, B | CX_LIST},
    {"details", T_OTHER, 0, B},
    {"dialog", T_OTHER, 0, B | CX_BOILER},
    {"dir", T_OTHER, 0, B},
    {"div", T_OTHER, 0, B},
    {"dl", T_OTHER, 0, B},
    {"dt", T_OTHER, 0, B | CX_LIST},
    {"embed", T_OTHER, 0, CX_SKIP},
    {"fieldset", T_OTHER, 0, B},
    {"figcaption", T_FIGURE, 0, B | CX_BOILER},
    {"figure", T_FIGURE, 0, B | CX_BOILER},
    {"footer", T_OTHER, 0, B | CX_BOILER},
    {"form", T_OTHER, 0, B},
    {"frame", T_OTHER, 0, CX_SKIP},
    {"frameset", T_OTHER, 0, CX_SKIP},
    {"h1", T_H, 1, B | CX_HEADING},
    {"h2", T_H, 2, B | CX_HEADING},
    {"h3", T_H, 3, B | CX_HEADING},
    {"h4", T_H, 4, B | CX_HEADING},
    {"h5", T_H, 5, B | CX_HEADING},
    {"h6", T_H, 6, B | CX_HEADING},
    {"head", T_HEAD, 0, B | CX_SKIP},
    {"header", T_OTHER, 0, B | CX_BOILER},
    {"hgroup", T_OTHER, 0, B},
    {"hr", T_OTHER, 0, B},
    {"html", T_HTML, 0, B},
    {"iframe", T_OTHER, 0, CX_SKIP},
    {"img", T_OTHER, 0, CX_SKIP},
    {"input", T_OTHER, 0, CX_SKIP},
    {"legend", T_OTHER, 0, B},
    {"li", T_OTHER, 0, B | CX_LIST},
    {"link", T_LINK, 0, CX_SKIP},
    {"main", T_MAIN, 0, B | CX_MAIN},
    {"map", T_OTHER, 0, CX_SKIP},
    {"math", T_OTHER, 0, CX_SKIP},
    {"menu", T_OTHER, 0, B | CX_BOILER},
    {"meta", T_META, 0, CX_SKIP},
    {"nav", T_OTHER, 0, B | CX_BOILER},
    {"noembed", T_OTHER, 0, CX_SKIP},
    {"noframes", T_OTHER, 0, CX_SKIP},
    {"noscript", T_OTHER, 0, CX_SKIP},
    {"object", T_OTHER, 0, CX_SKIP},
    {"ol", T_OTHER, 0, B},
    {"optgroup", T_OTHER, 0, CX_SKIP},
    {"option", T_OTHER, 0, CX_SKIP},
    {"output", T_OTHER, 0, CX_SKIP},
    {"p", T_OTHER, 0, B | CX_PARA},
    {"param", T_OTHER, 0, CX_SKIP},
    {"picture", T_OTHER, 0, CX_SKIP},
    {"pre", T_OTHER, 0, B | CX_PRE},
    {"rp", T_OTHER, 0, CX_SKIP},
    {"rt", T_OTHER, 0, CX_SKIP},
    {"progress", T_OTHER, 0, CX_SKIP},
    {"script", T_SCRIPT, 0, CX_SKIP},
    {"section", T_OTHER, 0, B},
    {"select", T_OTHER, 0, CX_SKIP},
    {"source", T_OTHER, 0, CX_SKIP},
    {"style", T_OTHER, 0, CX_SKIP},
    {"summary", T_OTHER, 0, B},
    {"svg", T_OTHER, 0, CX_SKIP},
    {"table", T_OTHER, 0, B},
    {"tbody", T_OTHER, 0, B},
    {"td", T_OTHER, 0, B | CX_CELL},
    {"template", T_OTHER, 0, CX_SKIP},
    {"textarea", T_OTHER, 0, CX_SKIP},
    {"tfoot", T_OTHER, 0, B},
    {"th", T_OTHER, 0, B | CX_CELL},
    {"thead", T_OTHER, 0, B},
    {"time", T_TIME, 0, 0},
    {"title", T_TITLE, 0, CX_SKIP},
    {"tr", T_OTHER, 0, B},
    {"track", T_OTHER, 0, CX_SKIP},
    {"ul", T_OTHER, 0, B},
    {"video", T_OTHER, 0, CX_SKIP},
};
#undef B

static const struct tag other_tag = {"", T_OTHER, 0, 0};

static int tag_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct tag *)elem)->name);
}

static const struct tag *lookup_tag(const xmlChar *name)
{
    if (!name)
        return &other_tag;
    /* Names with a colon or uppercase (XML islands: fb:like, o:p) are
       unknown inline elements. */
    const struct tag *t =
        bsearch(name, tags, sizeof tags / sizeof tags[0], sizeof tags[0], tag_cmp);
    return t ? t : &other_tag;
}

const char *clean_attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (a->name && strcasecmp((const char *)a->name, name) == 0) {
            xmlNodePtr c = a->children;
            if (c && (c->type == XML_TEXT_NODE) && !c->next && c->content)
                return (const char *)c->content;
            return c ? NULL : "";
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------
 * Class, id and role hints.
 * --------------------------------------------------------------------- */

/* Words that mark boilerplate when they are a whole token of a class or id
 * ("ad", "nav", "tags") or, for the longer stems, when they occur inside a
 * token ("sharebar", "commentlist", "relatedposts"). weak = layout words:
 * such an element is ignored as boilerplate when it holds most of the
 * page's prose (a "content has-sidebar" wrapper). */
struct hint_word {
    const char *w;
    size_t len;
    uint8_t stem; /* match inside tokens */
    uint8_t weak; /* 1: layout word; 2: comment word (never voided) */
};

#define HW(w, stem, weak)                                                                          \
    {                                                                                              \
        w, sizeof(w) - 1, stem, weak                                                               \
    }
static const struct hint_word neg_words[] = {
    HW("comment", 1, 2),    HW("disqus", 1, 2),     HW("reply", 0, 2),
    HW("replies", 0, 2),    HW("respond", 0, 2),    HW("comentario", 1, 2),
    HW("kommentare", 0, 2), HW("discussion", 1, 2), HW("share", 1, 0),
    HW("sharing", 1, 0),    HW("social", 1, 0),     HW("related", 1, 0),
    HW("newsletter", 1, 0), HW("subscri", 1, 0),    HW("signup", 1, 0),
    HW("sidebar", 1, 1),    HW("footer", 1, 1),     HW("breadcrumb", 1, 0),
    HW("cookie", 1, 0),     HW("consent", 1, 0),    HW("gdpr", 1, 0),
    HW("sponsor", 1, 0),    HW("outbrain", 1, 0),   HW("taboola", 1, 0),
    HW("recirc", 1, 0),     HW("promo", 1, 0),      HW("byline", 1, 0),
    HW("caption", 1, 0),    HW("credit", 1, 0),     HW("advert", 1, 0),
    HW("popup", 1, 1),      HW("modal", 1, 1),      HW("masthead", 1, 1),
    HW("widget", 1, 1),     HW("toolbar", 1, 0),    HW("pagination", 1, 0),
    HW("paywall", 1, 1),    HW("mostread", 1, 0),   HW("mostpopular", 1, 0),
    HW("trending", 1, 0),   HW("recommend", 1, 0),  HW("navbar", 1, 1),
    HW("navigation", 1, 1), HW("subnav", 1, 1),     HW("topnav", 1, 1),
    HW("megamenu", 1, 1),   HW("dropdown", 1, 1),   HW("screenreader", 1, 0),
    HW("readmore", 1, 0),   HW("newsfeed", 0, 0),   HW("ad", 0, 0),
    HW("ads", 0, 0),        HW("adv", 0, 0),        HW("adslot", 1, 0),
    HW("adunit", 1, 0),     HW("adsense", 1, 0),    HW("dfp", 0, 0),
    HW("nav", 0, 1),        HW("menu", 0, 1),       HW("submenu", 0, 1),
    HW("header", 0, 1),     HW("tags", 0, 0),       HW("tag", 0, 0),
    HW("tagged", 0, 0),     HW("keywords", 0, 0),   HW("topics", 0, 0),
    HW("author", 0, 0),     HW("bio", 0, 0),        HW("meta", 0, 0),
    HW("rail", 0, 1),       HW("aside", 0, 1),      HW("links", 0, 1),
    HW("popular", 0, 0),    HW("skip", 0, 0),       HW("sr", 0, 0),
    HW("hidden", 0, 1),     HW("print", 0, 0),      HW("login", 0, 0),
    HW("banner", 0, 1),     HW("cta", 0, 0),        HW("teaser", 0, 0),
    HW("teasers", 0, 0),    HW("more", 0, 0),       HW("also", 0, 0),
    HW("poll", 0, 0),       HW("rating", 0, 0),

    {NULL, 0, 0, 0}};
#undef HW

static const char *const pos_words[] = {"article",     "story",     "content",  "body",  "entry",
                                        "post",        "main",      "text",     "prose", "blog",
                                        "articlebody", "storybody", "richtext", NULL};

/* Tokens that turn the next word into a layout modifier ("has-sidebar",
 * "no-comments", "with-ads"): not a boilerplate element. */
static int is_modifier(const char *t, size_t n)
{
    static const char *const mods[] = {"has",      "with",  "no",     "without", "show",
                                       "hide",     "is",    "enable", "enabled", "disable",
                                       "disabled", "allow", "off",    "on",      NULL};
    for (int i = 0; mods[i]; i++) {
        if (t[0] == mods[i][0] && strncmp(t, mods[i], n) == 0 && mods[i][n] == '\0')
            return 1;
    }
    return 0;
}

/* First tokens of taxonomy class names: "tag-jobs", "category-news",
 * "author-sarah", "format-standard" (WordPress's post_class() and the like)
 * name a value, not a page part. */
static int is_taxonomy(const char *t, size_t n)
{
    static const char *const tax[] = {
        "tag",    "tags", "category", "categories", "cat",    "author", "format", "status",
        "type",   "post", "postid",   "page",       "pageid", "topic",  "topics", "section",
        "series", "term", "taxonomy", "channel",    "kicker", NULL};
    for (int i = 0; tax[i]; i++) {
        if (t[0] == tax[i][0] && strncmp(t, tax[i], n) == 0 && tax[i][n] == '\0')
            return 1;
    }
    return 0;
}

/* Does token t contain stem w? Tokens are a few bytes: a first-byte scan
 * beats memmem's set-up. */
static inline int has_stem(const char *t, size_t tl, const char *w, size_t wl)
{
    for (size_t i = 0; i + wl <= tl; i++) {
        if (t[i] == w[0] && memcmp(t + i, w, wl) == 0)
            return 1;
    }
    return 0;
}

/* One class name (no white space), lowercased, camelCase split with '-'. */
static void hint_name(const char *low, size_t n, int *strong, int *weak, int *comment, int *pos)
{
    const char *prev = NULL;
    size_t prevlen = 0, ntok = 0, i = 0;
    int taxonomy = 0;
    while (i < n) {
        while (i < n && !isalnum((unsigned char)low[i]))
            i++;
        size_t st = i;
        while (i < n && isalnum((unsigned char)low[i]))
            i++;
        size_t tl = i - st;
        if (tl == 0)
            continue;
        const char *t = low + st;
        if (ntok++ == 0 && i < n && is_taxonomy(t, tl))
            taxonomy = 1;
        for (int k = 0; pos_words[k]; k++) {
            if (t[0] == pos_words[k][0] && strncmp(t, pos_words[k], tl) == 0 &&
                pos_words[k][tl] == '\0')
                *pos = 1;
        }
        int modified = prev && is_modifier(prev, prevlen);
        prev = t;
        prevlen = tl;
        if (taxonomy || modified)
            continue;
        for (size_t k = 0; neg_words[k].w; k++) {
            const struct hint_word *w = &neg_words[k];
            int hit = 0;
            if (w->len == tl)
                hit = t[0] == w->w[0] && memcmp(t, w->w, tl) == 0;
            else if (w->stem && tl > w->len)
                hit = has_stem(t, tl, w->w, w->len);
            /* "commentary" is a genre of article, not its comments */
            if (hit && w->weak == 2 && tl >= 9 && memmem(t, tl, "commentar", 9))
                hit = 0;
            if (!hit)
                continue;
            if (w->weak == 1)
                *weak = 1;
            else
                *strong = 1;
            if (w->weak == 2)
                *comment = 1;
            break;
        }
    }
}

unsigned clean_class_hint(const char *value)
{
    char low[256];
    size_t n = 0;
    if (!value)
        return 0;
    /* Lowercase, and split camelCase by inserting a separator. A run of
       10+ letters and digits mixing digits, capitals and small letters is
       a generated hash ("PFk9dDFpTo0qJgx9vRfcq"): split, it would spell
       random short words ("dfp", "ad"); it is skipped. */
    for (const char *p = value; *p && n + 2 < sizeof low; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c) && (p == value || !isalnum((unsigned char)p[-1]))) {
            size_t rl = 0;
            int dig = 0, up = 0, lo = 0;
            while (isalnum((unsigned char)p[rl])) {
                unsigned char r = (unsigned char)p[rl++];
                dig |= isdigit(r) != 0;
                up |= isupper(r) != 0;
                lo |= islower(r) != 0;
            }
            if (rl >= 10 && dig && up && lo) {
                low[n++] = '-';
                p += rl - 1;
                continue;
            }
        }
        if (c >= 'A' && c <= 'Z') {
            if (n > 0 && p > value && islower((unsigned char)p[-1]))
                low[n++] = '-';
            low[n++] = (char)(c + 32);
        } else {
            low[n++] = (char)c;
        }
    }
    low[n] = '\0';

    int strong = 0, weak = 0, pos = 0, comment = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && isspace((unsigned char)low[i]))
            i++;
        size_t st = i;
        while (i < n && !isspace((unsigned char)low[i]))
            i++;
        if (i > st)
            hint_name(low + st, i - st, &strong, &weak, &comment, &pos);
    }
    unsigned out = 0;
    if (strong)
        out |= CX_NEG | (comment ? CX_NEG_KEEP : 0);
    else if (weak)
        out |= CX_NEG | CX_NEG_WEAK;
    if (pos)
        out |= CX_POS;
    return out;
}

static int attr_has_word(const char *v, const char *w)
{
    size_t wl = strlen(w);
    for (const char *p = v; (p = strcasestr(p, w)); p += wl) {
        int before = p == v || !isalnum((unsigned char)p[-1]);
        int after = !isalnum((unsigned char)p[wl]);
        if (before && after)
            return 1;
    }
    return 0;
}

/* An id made of four or more words joined by '-' or '_' (an anchor
 * generated from the text it labels). */
static int id_is_slug(const char *v)
{
    size_t words = 0;
    int in = 0;
    for (const char *p = v; *p; p++) {
        if (*p == '-' || *p == '_') {
            in = 0;
        } else if (!in) {
            in = 1;
            words++;
        }
    }
    return words >= 4;
}

/* display:none / visibility:hidden in an inline style. */
static int style_hidden(const char *s)
{
    const char *p = strcasestr(s, "display");
    if (p) {
        p += 7;
        while (*p == ' ')
            p++;
        if (*p == ':') {
            p++;
            while (*p == ' ')
                p++;
            if (strncasecmp(p, "none", 4) == 0)
                return 1;
        }
    }
    p = strcasestr(s, "visibility");
    if (p) {
        p += 10;
        while (*p == ' ')
            p++;
        if (*p == ':') {
            p++;
            while (*p == ' ')
                p++;
            if (strncasecmp(p, "hidden", 6) == 0)
                return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The walk.
 * --------------------------------------------------------------------- */
struct walk {
    struct clean_dom *d;
    int32_t cur;   /* innermost open element */
    int32_t owner; /* innermost open block-level element */
    int link_depth;
    int list_depth;  /* open li/dt/dd */
    int quote_depth; /* open blockquote */
    int failed;      /* ENOMEM / ETOOBIG */
    int after_br;    /* the next block starts after a <br> */
    /* the block being filled */
    int open;
    int32_t elem;
    uint32_t start;
    size_t chars, link_chars;
    int fold;
};

static int push_ref(struct clean_refs *r, xmlNodePtr n, int kind)
{
    static const size_t caps[REF_KINDS] = {
        [REF_META] = 512, [REF_JSONLD] = 64, [REF_TIME] = 64, [REF_AUTHOR] = 32, [REF_H1] = 4};
    if (r->count[kind] >= caps[kind])
        return 0; /* enough candidates; pages repeating them are noise */
    r->count[kind]++;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        xmlNodePtr *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = n;
    return 0;
}

/* Does the text end like a sentence (after closing quotes/brackets)? */
static int is_sentence_end(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = len;
    for (int k = 0; k < 4 && i > 0; k++) {
        unsigned char c = p[i - 1];
        if (c == '.' || c == '!' || c == '?' || c == ':' || c == ';')
            return 1;
        if (c == '"' || c == '\'' || c == ')' || c == ']') {
            i--;
            continue;
        }
        if (i >= 2 && p[i - 2] == 0xC2 && c == 0xBB) { /* >> */
            i -= 2;
            continue;
        }
        if (i >= 3 && p[i - 3] == 0xE2 && p[i - 2] == 0x80) {
            if (c == 0xA6) /* ellipsis */
                return 1;
            if (c == 0x9D || c == 0x99 || c == 0xBA) { /* closing quotes */
                i -= 3;
                continue;
            }
            return 0;
        }
        if (i >= 3 && p[i - 3] == 0xE3 && p[i - 2] == 0x80 && c == 0x82)
            return 1; /* ideographic full stop */
        if (i >= 3 && p[i - 3] == 0xEF && p[i - 2] == 0xBC && (c == 0x81 || c == 0x9F))
            return 1; /* fullwidth ! ? */
        return 0;
    }
    return 0;
}

static void flush_block(struct walk *w)
{
    struct clean_dom *d = w->d;
    if (!w->open)
        return;
    w->open = 0;
    if (w->chars == 0) {
        d->arena.len = w->start;
        if (d->arena.data)
            d->arena.data[d->arena.len] = '\0';
        return;
    }
    if (d->nblocks == d->bcap) {
        size_t cap = d->bcap ? d->bcap * 2 : 256;
        struct cx_block *v = realloc(d->blocks, cap * sizeof *v);
        if (!v) {
            w->failed = VIGIL_ENOMEM;
            return;
        }
        d->blocks = v;
        d->bcap = cap;
    }
    struct cx_block *b = &d->blocks[d->nblocks++];
    memset(b, 0, sizeof *b);
    b->elem = w->elem;
    b->owner = w->owner;
    b->start = w->start;
    b->len = (uint32_t)(d->arena.len - w->start);
    b->chars = (uint32_t)w->chars;
    b->link_chars = (uint32_t)(w->link_chars > w->chars ? w->chars : w->link_chars);
    const char *s = d->arena.data + b->start;
    unsigned commas = 0;
    for (uint32_t i = 0; i < b->len; i++)
        commas += s[i] == ',';
    b->commas = (uint16_t)(commas > 65535 ? 65535 : commas);
    b->end_punct = (uint8_t)is_sentence_end(s, b->len);
    if (w->owner >= 0) {
        const struct cx_node *o = &d->nodes[w->owner];
        b->heading = o->heading;
        b->flags = o->flags & (CX_HEADING | CX_LIST | CX_QUOTE | CX_PRE | CX_CELL | CX_PARA);
    }
    if (w->after_br)
        b->flags |= CX_BR;
    w->after_br = 0;
    if (w->list_depth > 0)
        b->flags |= CX_LIST;
    if (w->quote_depth > 0)
        b->flags |= CX_QUOTE;
}

static void add_text(struct walk *w, const char *s, size_t len)
{
    struct clean_dom *d = w->d;
    if (!w->open) {
        w->open = 1;
        w->elem = w->cur;
        w->start = (uint32_t)d->arena.len;
        w->chars = w->link_chars = 0;
        w->fold = CLEAN_FOLD_START;
    }
    size_t before = w->chars;
    if (clean_fold_append(&d->arena, s, len, &w->fold, &w->chars) != 0) {
        w->failed = VIGIL_ETOOBIG;
        return;
    }
    if (w->link_depth > 0)
        w->link_chars += w->chars - before;
}

static int32_t push_node(struct walk *w, xmlNodePtr n, const struct tag *t)
{
    struct clean_dom *d = w->d;
    if (d->nnodes == d->ncap) {
        size_t cap = d->ncap ? d->ncap * 2 : 1024;
        struct cx_node *v = realloc(d->nodes, cap * sizeof *v);
        if (!v) {
            w->failed = VIGIL_ENOMEM;
            return -1;
        }
        d->nodes = v;
        d->ncap = cap;
    }
    int32_t i = (int32_t)d->nnodes++;
    struct cx_node *x = &d->nodes[i];
    x->node = n;
    x->parent = w->cur;
    x->end = i + 1;
    x->flags = t->flags;
    x->tag = t->id;
    x->heading = t->heading;
    return i;
}

/* clean_class_hint through the worker's cache. */
static unsigned class_hint_cached(struct clean_dom *d, const char *v)
{
    uint64_t h = hash_fnv64(v, strlen(v)) | 1; /* 0 marks an empty slot */
    size_t slot = (size_t)(h >> 7) & 511;
    if (d->hint_key[slot] == h)
        return d->hint_val[slot];
    unsigned f = clean_class_hint(v);
    d->hint_key[slot] = h;
    d->hint_val[slot] = f;
    return f;
}

/* Read the attributes that matter; returns extra flags. */
static uint32_t attr_flags(struct walk *w, xmlNodePtr n, const struct tag *t)
{
    uint32_t f = 0;
    int author_ref = 0, strong = 0, weak = 0;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        const char *name = (const char *)a->name;
        xmlNodePtr c = a->children;
        const char *v =
            (c && c->type == XML_TEXT_NODE && c->content) ? (const char *)c->content : "";
        unsigned h = 0;
        if (!name)
            continue;
        switch (name[0] | 0x20) {
        case 'a':
            if (strcasecmp(name, "aria-hidden") == 0 && strcasecmp(v, "true") == 0)
                weak = 1;
            break;
        case 'c':
            if (strcasecmp(name, "class") == 0) {
                h = class_hint_cached(w->d, v);
                if (attr_has_word(v, "byline") || attr_has_word(v, "author"))
                    author_ref = 1;
            }
            break;
        case 'h':
            if (strcasecmp(name, "href") == 0 && t->id == T_A)
                f |= CX_LINK;
            else if (strcasecmp(name, "hidden") == 0)
                weak = 1;
            break;
        case 'i':
            if (strcasecmp(name, "id") == 0) {
                /* "h-4-select-times-for-social-media": an anchor made from
                   a heading's own words names its content, not a part of
                   the page */
                if (!(t->heading && id_is_slug(v)))
                    h = class_hint_cached(w->d, v);
            } else if (strcasecmp(name, "itemprop") == 0) {
                if (attr_has_word(v, "articleBody"))
                    f |= CX_ARTBODY;
                else if (attr_has_word(v, "author") || attr_has_word(v, "creator"))
                    author_ref = 1;
            }
            break;
        case 'r':
            if (strcasecmp(name, "role") == 0) {
                static const char *const neg_roles[] = {
                    "navigation", "banner", "contentinfo", "complementary", "search",  "menu",
                    "menubar",    "dialog", "alertdialog", "toolbar",       "tablist", NULL};
                for (int k = 0; neg_roles[k]; k++) {
                    if (strcasecmp(v, neg_roles[k]) == 0)
                        weak = 1;
                }
                if (strcasecmp(v, "main") == 0)
                    f |= CX_MAIN;
                else if (strcasecmp(v, "article") == 0)
                    f |= CX_ARTICLE;
            } else if (strcasecmp(name, "rel") == 0 && attr_has_word(v, "author")) {
                author_ref = 1;
            }
            break;
        case 's':
            if (strcasecmp(name, "style") == 0 && style_hidden(v))
                weak = 1;
            break;
        default: break;
        }
        if (h & CX_NEG) {
            if (h & CX_NEG_WEAK)
                weak = 1;
            else
                strong = 1;
        }
        f |= h & (CX_POS | CX_NEG_KEEP);
    }
    if (author_ref && push_ref(&w->d->refs, n, REF_AUTHOR) != 0)
        w->failed = VIGIL_ENOMEM;
    /* A heading named "section-header" or "anchor-header" is still a
       heading: only strong words count on headings. */
    if (t->heading)
        weak = 0;
    if (strong)
        f |= CX_NEG;
    else if (weak)
        f |= CX_NEG | CX_NEG_WEAK;
    else
        f &= ~(uint32_t)CX_NEG_KEEP;
    return f;
}

static void collect_head_child(struct walk *w, xmlNodePtr c)
{
    if (c->type != XML_ELEMENT_NODE)
        return;
    const struct tag *t = lookup_tag(c->name);
    if (t->id == T_META || t->id == T_LINK) {
        if (push_ref(&w->d->refs, c, REF_META) != 0)
            w->failed = VIGIL_ENOMEM;
    } else if (t->id == T_TITLE) {
        if (!w->d->refs.title)
            w->d->refs.title = c;
    } else if (t->id == T_SCRIPT) {
        const char *type = clean_attr(c, "type");
        if (type && strcasestr(type, "ld+json") && push_ref(&w->d->refs, c, REF_JSONLD) != 0)
            w->failed = VIGIL_ENOMEM;
    }
}

static int is_boundary(const struct cx_node *x)
{
    if (x->flags & CX_BLOCK)
        return 1;
    return (x->flags & CX_NEG) && !(x->flags & CX_NEG_WEAK) && x->tag != T_A;
}

enum { ENTER_NONE = 0, ENTER_LEAF = 1, ENTER_OPEN = 2 };

/* Enter element n: ENTER_NONE (not recorded: <br>, or past max_nodes),
 * ENTER_LEAF (recorded, children never visited), ENTER_OPEN (recorded and
 * now the current element: leave() must follow its children). */
static int enter(struct walk *w, xmlNodePtr n)
{
    struct clean_dom *d = w->d;
    const struct tag *t = lookup_tag(n->name);
    if (t->id == T_BR) {
        if (w->open && w->chars > 0) {
            flush_block(w);
            if (w->d->nblocks > 0)
                w->d->blocks[w->d->nblocks - 1].flags |= CX_BR;
        } else {
            flush_block(w);
        }
        w->after_br = 1;
        return ENTER_NONE;
    }
    if (d->max_nodes && d->nnodes >= d->max_nodes) {
        d->truncated = 1;
        return ENTER_NONE;
    }
    int32_t i = push_node(w, n, t);
    if (i < 0)
        return ENTER_NONE;
    if (n->properties) {
        uint32_t f = attr_flags(w, n, t);
        d->nodes[i].flags |= f;
    }
    struct cx_node *x = &d->nodes[i];

    switch (t->id) {
    case T_HEAD:
        for (xmlNodePtr c = n->children; c; c = c->next)
            collect_head_child(w, c);
        break;
    case T_META:
    case T_LINK:
    case T_TITLE:
    case T_SCRIPT: collect_head_child(w, n); break;
    case T_HTML:
        if (!d->refs.root)
            d->refs.root = n;
        break;
    case T_TIME:
        if (push_ref(&d->refs, n, REF_TIME) != 0)
            w->failed = VIGIL_ENOMEM;
        break;
    case T_H:
        if (t->heading == 1 && push_ref(&d->refs, n, REF_H1) != 0)
            w->failed = VIGIL_ENOMEM;
        break;
    default: break;
    }
    if (x->flags & CX_SKIP)
        return ENTER_LEAF;
    /* Block boundaries; an inline element strongly marked as boilerplate
       (a credit span inside a paragraph) is its own block so it can be
       dropped. Links are not split off: a marked link ("affiliate-link")
       is part of its sentence. */
    if (is_boundary(x)) {
        flush_block(w);
        w->after_br = 0;
    }
    if (x->flags & CX_LINK)
        w->link_depth++;
    if (x->flags & CX_LIST)
        w->list_depth++;
    if (x->flags & CX_QUOTE)
        w->quote_depth++;
    w->cur = i;
    if (x->flags & CX_BLOCK)
        w->owner = i;
    return ENTER_OPEN;
}

/* Leave the element w->cur (entered with children visited). */
static void leave(struct walk *w)
{
    struct clean_dom *d = w->d;
    int32_t i = w->cur;
    struct cx_node *x = &d->nodes[i];
    if (is_boundary(x)) {
        flush_block(w);
        w->after_br = 0;
    }
    if (x->flags & CX_LINK)
        w->link_depth--;
    if (x->flags & CX_LIST)
        w->list_depth--;
    if (x->flags & CX_QUOTE)
        w->quote_depth--;
    x->end = (int32_t)d->nnodes;
    w->cur = x->parent;
    if (w->open && w->elem == i)
        w->elem = w->cur; /* the block goes on after this inline element */
    if (x->flags & CX_BLOCK) {
        /* innermost block-level ancestor */
        int32_t o = x->parent;
        while (o >= 0 && !(d->nodes[o].flags & CX_BLOCK))
            o = d->nodes[o].parent;
        w->owner = o;
    }
}

void clean_dom_init(struct clean_dom *d)
{
    memset(d, 0, sizeof *d);
    buf_init(&d->arena, 0);
}

void clean_dom_free(struct clean_dom *d)
{
    free(d->nodes);
    free(d->blocks);
    free(d->score);
    free(d->flat);
    free(d->prose);
    free(d->chars);
    free(d->neg);
    free(d->refs.v);
    buf_free(&d->arena);
    memset(d, 0, sizeof *d);
}

int clean_dom_build(struct clean_dom *d, xmlDocPtr doc)
{
    d->nnodes = d->nblocks = 0;
    d->truncated = 0;
    buf_reset(&d->arena);
    d->refs.n = 0;
    memset(d->refs.count, 0, sizeof d->refs.count);
    d->refs.root = d->refs.title = NULL;

    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!root)
        return 0;
    struct walk w;
    memset(&w, 0, sizeof w);
    w.d = d;
    w.cur = -1;
    w.owner = -1;

    /* Iterative preorder walk: descend into the children of open
       elements, then climb through parents (leaving each) to the next
       sibling. No recursion, no stack: depth costs nothing. */
    xmlNodePtr n = root;
    while (n && !w.failed && !d->truncated) {
        int descend = 0;
        if (n->type == XML_ELEMENT_NODE) {
            if (enter(&w, n) == ENTER_OPEN) {
                if (n->children)
                    descend = 1;
                else
                    leave(&w);
            }
        } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content &&
                   w.cur >= 0) {
            add_text(&w, (const char *)n->content, strlen((const char *)n->content));
        }
        if (descend) {
            n = n->children;
            continue;
        }
        while (n) {
            if (n == root) {
                n = NULL;
                break;
            }
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent; /* an element we descended into */
            leave(&w);
            if (n == root) {
                n = NULL;
                break;
            }
        }
    }
    /* Close what is still open when the walk stopped early. */
    while (w.cur >= 0)
        leave(&w);
    flush_block(&w);
    return w.failed;
}

void clean_node_text(xmlNodePtr top, struct buf *b, size_t max)
{
    int fold = CLEAN_FOLD_START;
    size_t start = b->len;
    xmlNodePtr n = top->children;
    while (n) {
        int descend = 0;
        if (n->type == XML_TEXT_NODE && n->content) {
            if (b->len - start < max)
                clean_fold_append(b, (const char *)n->content, strlen((const char *)n->content),
                                  &fold, NULL);
        } else if (n->type == XML_ELEMENT_NODE) {
            const struct tag *t = lookup_tag(n->name);
            if (t->id == T_BR || (t->flags & CX_BLOCK)) {
                if (fold == CLEAN_FOLD_TEXT)
                    fold = CLEAN_FOLD_SPACE;
            }
            descend = !(t->flags & CX_SKIP) && n->children;
        }
        if (descend) {
            n = n->children;
            continue;
        }
        while (n && n != top) {
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent;
            if (n && n != top && n->type == XML_ELEMENT_NODE &&
                (lookup_tag(n->name)->flags & CX_BLOCK) && fold == CLEAN_FOLD_TEXT)
                fold = CLEAN_FOLD_SPACE;
        }
        if (n == top)
            break;
    }
    if (b->len - start > max) {
        /* cut at a character boundary */
        size_t cut = start + max;
        while (cut > start && ((unsigned char)b->data[cut] & 0xC0) == 0x80)
            cut--;
        while (cut > start && b->data[cut - 1] == ' ')
            cut--; /* folded text never ends with a space */
        b->len = cut;
        b->data[cut] = '\0';
    }
}

/* ------------------------------------------------------------------------
 * Scoring and selection.
 * --------------------------------------------------------------------- */

/* Share of a child's score its parent inherits when choosing the article
 * element. */
#define DEPTH_DECAY 0.95f

/* How much less prose at the very end of the page counts than at the top. */
#define POSITION_WEIGHT 0.3f

/* Tunables of one preset. */
struct preset {
    float sibling_frac;     /* a sibling joins the article when its score is at
                               least this share of the article's */
    float max_link_density; /* a kept block has at most this share of link text */
    int trim_lead;          /* drop short non-prose lines before the first paragraph */
    int drop_short;         /* drop short lines that do not end like sentences */
};

static const struct preset presets[] = {
    [CLEAN_PRESET_PRECISION] = {0.20f, 0.40f, 1, 1},
    [CLEAN_PRESET_RECALL] = {0.10f, 0.60f, 0, 0},
};

/* What a block is worth as article text, ignoring where it sits. */
static float prose_value(const struct cx_block *b)
{
    float n = (float)b->chars, l = (float)b->link_chars;
    if (b->chars == 0)
        return 0;
    float ld = l / n;
    if (b->heading)
        return ld > 0.5f ? -0.5f * l : 0.0f;
    if (ld > 0.5f)
        return -n;
    float nl = n - l;
    if (b->chars >= 80)
        return nl * (1.0f - ld);
    if (b->chars >= 25 && (b->end_punct || b->commas))
        return 0.5f * nl;
    return -0.2f * n;
}

/* A sentence that links a long name ("a report by <a>the Center on
 * Poverty and Inequality</a> says...") is still a sentence: blocks that end
 * like one and have 50+ characters outside links may link more. */
static float max_link_density(const struct preset *ps, const struct cx_block *b)
{
    if (b->end_punct && !b->heading && b->chars >= b->link_chars + 50)
        return ps->max_link_density > 0.7f ? ps->max_link_density : 0.7f;
    return ps->max_link_density;
}

/* A link shaped like a headline: 25 to 200 characters, 70%+ linked. */
static int is_teaser(const struct cx_block *b)
{
    return b->chars >= 25 && b->chars <= 200 && b->link_chars * 10 >= b->chars * 7;
}

static int is_prose(const struct cx_block *b)
{
    if (b->heading)
        return 0;
    if (b->link_chars * 2 > b->chars)
        return 0;
    return b->chars >= 80 || (b->chars >= 25 && b->end_punct);
}

static int grow_floats(struct clean_dom *d)
{
    if (d->fcap >= d->nnodes)
        return 0;
    size_t cap = d->fcap ? d->fcap : 1024;
    while (cap < d->nnodes)
        cap *= 2;
    float *s = realloc(d->score, cap * sizeof *s);
    if (!s)
        return -1;
    d->score = s;
    float *fl = realloc(d->flat, cap * sizeof *fl);
    if (!fl)
        return -1;
    d->flat = fl;
    float *p = realloc(d->prose, cap * sizeof *p);
    if (!p)
        return -1;
    d->prose = p;
    float *t = realloc(d->chars, cap * sizeof *t);
    if (!t)
        return -1;
    d->chars = t;
    int32_t *g = realloc(d->neg, cap * sizeof *g);
    if (!g)
        return -1;
    d->neg = g;
    d->fcap = cap;
    return 0;
}

/* Case-insensitive (ASCII) comparison of two folded strings, ignoring
 * punctuation at the ends: is a the headline again? */
static int same_text(const char *a, size_t al, const char *b, size_t bl)
{
    while (al && (ispunct((unsigned char)a[al - 1]) || a[al - 1] == ' '))
        al--;
    while (bl && (ispunct((unsigned char)b[bl - 1]) || b[bl - 1] == ' '))
        bl--;
    return al == bl && al > 0 && strncasecmp(a, b, al) == 0;
}

static int contains_ci(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    if (nl == 0 || nl > hl)
        return 0;
    for (size_t i = 0; i + nl <= hl; i++) {
        if (strncasecmp(h + i, n, nl) == 0)
            return 1;
    }
    return 0;
}

/* A short block naming an author: a byline repeated in the body. */
static int is_author_line(const struct cx_block *b, const char *s,
                          const struct clean_extract_in *in)
{
    if (b->chars > 120 || in->nauthors == 0)
        return 0;
    for (size_t k = 0; k < in->nauthors; k++) {
        const char *a = in->authors[k];
        if (a && strlen(a) >= 4 && contains_ci(s, b->len, a))
            return 1;
    }
    return 0;
}

struct region {
    int32_t start, end;
};

#define MAX_REGIONS 16

static int in_regions(const struct region *r, int nr, int32_t elem, int32_t *rstart)
{
    for (int k = 0; k < nr; k++) {
        if (elem >= r[k].start && elem < r[k].end) {
            *rstart = r[k].start;
            return 1;
        }
    }
    return 0;
}

/* Why a block is left out (W_KEEP: it is not). */
enum {
    W_KEEP = 0,
    W_OUTSIDE,
    W_MARKED,
    W_LINKS,
    W_TITLE,
    W_BOILER,
    W_AUTHOR,
    W_SHORT,
    W_TRAIL,
    W_LEAD,
    W_ORPHAN,
    W_DUP,
    W_BIO
};

/* Width of a short text in Latin letters: an ideograph, kana or hangul
 * syllable counts two (a Chinese subheading of 10 characters says what
 * an English one of 20 or more does). */
static size_t text_width(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) == 0x80)
            continue;
        w++;
        /* U+3040..U+9FFF (kana, CJK), U+AC00..U+D7AF (hangul): lead bytes
           0xE3..0xE9 and 0xEA..0xED */
        if (c >= 0xE3 && c <= 0xED && !(c == 0xED && i + 1 < len && (unsigned char)s[i + 1] >= 0x9F))
            w++;
    }
    return w;
}

/* A linked subheading of a list article ("12) <a>Film title</a>" over
 * the review of that film): a numbered h2-h6 ("12)", "3.", "#4") of at
 * most 120 characters directly followed by a paragraph of 150+ characters
 * with few links. Teaser headlines carry no rank. */
static int linked_subheading(const struct clean_dom *d, size_t k)
{
    const struct cx_block *b = &d->blocks[k];
    if (b->heading < 2 || b->chars > 120 || k + 1 >= d->nblocks)
        return 0;
    const char *s = d->arena.data + b->start;
    size_t i = s[0] == '#' ? 1 : 0, dg = 0;
    while (i < b->len && dg < 3 && s[i] >= '0' && s[i] <= '9') {
        i++;
        dg++;
    }
    if (dg == 0 || i >= b->len || (s[i] != '.' && s[i] != ')' && s[i] != ':' && s[i] != ' '))
        return 0;
    const struct cx_block *n = &d->blocks[k + 1];
    return !n->heading && n->chars >= 150 && n->link_chars * 5 < n->chars;
}

/* Is block k a subheading (h2-h6) whose only boilerplate mark is a
 * <header> holding nothing but headings: HTML5's header of a section
 * inside the article ("<header><h2>3. Myth: ...</h2></header>"), not the
 * page's header? */
static int is_section_header(const struct clean_dom *d, size_t k)
{
    const struct cx_block *b = &d->blocks[k];
    int32_t g = d->neg[b->elem];
    if (b->heading < 2 || g < 0 || (d->nodes[g].flags & CX_NEG) ||
        strcmp((const char *)d->nodes[g].node->name, "header") != 0)
        return 0;
    int32_t gp = d->nodes[g].parent;
    if (gp >= 0 && d->neg[gp] >= 0)
        return 0; /* inside another mark */
    int32_t end = d->nodes[g].end;
    for (size_t j = k; j-- > 0 && d->blocks[j].elem >= g && d->blocks[j].elem < end;) {
        if (!d->blocks[j].heading)
            return 0;
    }
    for (size_t j = k + 1; j < d->nblocks && d->blocks[j].elem >= g && d->blocks[j].elem < end;
         j++) {
        if (!d->blocks[j].heading)
            return 0;
    }
    return 1;
}

/* Does the block open with one of the page's authors' names ("Jane Doe
 * is a writer...", "Jane Doe, Editor, ...")? */
static int starts_with_author(const char *s, size_t len, const struct clean_extract_in *in)
{
    for (size_t k = 0; k < in->nauthors; k++) {
        const char *a = in->authors[k];
        size_t al = a ? strlen(a) : 0;
        if (al >= 4 && al < len && strncasecmp(s, a, al) == 0 &&
            (s[al] == ' ' || s[al] == ',' || s[al] == '\''))
            return 1;
    }
    return 0;
}

/* Author boxes: the article ends with a short note on its author (a name
 * line, then "Jane Doe is a freelance writer..."), which is about the
 * writer, not the story. From the end of the text backwards, a prose block
 * of at most 1000 characters is such a note when it opens with an author's
 * name, or when one of the four blocks before it is a short line naming an
 * author (the box's name line: inside the article element, not under a
 * byline mark, and not repeated more often than there are authors plus
 * one) with no prose in between, and two prose blocks of the article stay
 * before it. The walk stops at the first prose block that is
 * none of these. */
static void drop_author_boxes(const struct clean_dom *d, const struct clean_extract_in *in,
                              uint8_t *why)
{
    if (in->nauthors == 0)
        return;
    /* A name line repeated all over the article is a credit ("Agencies"
       under every slide), not a box. */
    size_t lines = 0;
    for (size_t k = 0; k < d->nblocks; k++)
        lines += why[k] != W_OUTSIDE && why[k] != W_MARKED && d->blocks[k].chars <= 80 &&
                 is_author_line(&d->blocks[k], d->arena.data + d->blocks[k].start, in);
    int name_lines = lines <= in->nauthors + 1;
    for (size_t k = d->nblocks; k-- > 0;) {
        const struct cx_block *b = &d->blocks[k];
        if (why[k] != W_KEEP || !is_prose(b))
            continue;
        if (b->chars > 1000)
            return;
        const char *s = d->arena.data + b->start;
        int bio = starts_with_author(s, b->len, in);
        for (size_t j = k, n = 0; !bio && name_lines && j-- > 0 && n < 4; n++) {
            const struct cx_block *c = &d->blocks[j];
            if (why[j] == W_KEEP && is_prose(c))
                break;
            if (why[j] != W_OUTSIDE && why[j] != W_MARKED && c->chars <= 80 &&
                is_author_line(c, d->arena.data + c->start, in))
                bio = 1;
        }
        if (!bio)
            return;
        /* the article itself must stay: two prose blocks before the note */
        size_t body = 0;
        for (size_t j = k; j-- > 0 && body < 2;)
            body += why[j] == W_KEEP && is_prose(&d->blocks[j]);
        if (body < 2)
            return;
        why[k] = W_BIO;
    }
}

static void trace(FILE *f, const struct clean_dom *d, const uint8_t *why, int32_t best)
{
    static const char *const names[] = {"KEEP",   "outside", "marked", "links", "title",  "boiler",
                                        "author", "short",   "trail",  "lead",  "orphan", "dup",
                                        "bio"};
    fprintf(f, "article element %d <%s>\n", best,
            best >= 0 ? (const char *)d->nodes[best].node->name : "-");
    for (size_t k = 0; k < d->nblocks; k++) {
        const struct cx_block *b = &d->blocks[k];
        int32_t g = d->neg[b->elem];
        const char *cls = g >= 0 ? clean_attr(d->nodes[g].node, "class") : NULL;
        fprintf(f, "%5zu %-7s el=%-5d ch=%-5u ln=%-4u v=%-7.0f mark=%d<%s%s%s> %.*s\n", k,
                why ? names[why[k]] : "-", b->elem, b->chars, b->link_chars, prose_value(b), g,
                g >= 0 ? (const char *)d->nodes[g].node->name : "", cls ? " ." : "", cls ? cls : "",
                (int)(b->len > 90 ? 90 : b->len), d->arena.data + b->start);
    }
}

/* Compute neg[] and score[] and return the best element (-1 if none).
 * rescue: void the marks (except comment words) of elements holding half
 * of the page's prose or more. */
static int32_t select_main(struct clean_dom *d, int rescue, float total_prose)
{
    size_t nn = d->nnodes;
    struct cx_node *nodes = d->nodes;
    float *score = d->score, *prose = d->prose;
    int32_t *neg = d->neg;

    for (size_t i = 0; i < nn; i++) {
        uint32_t f = nodes[i].flags;
        int bad = (f & CX_NEG) || (f & CX_BOILER);
        if (bad && (f & CX_ARTBODY))
            bad = 0;
        if (bad && rescue && !(f & CX_NEG_KEEP) && total_prose > 0 &&
            prose[i] >= 0.5f * total_prose)
            bad = 0;
        /* A mark on an element that reads like article prose is not
           trusted (wrappers named "post tag-x author-y", "has-sidebar",
           "WidgetWrapper"); comment sections and the structural tags
           (footer, aside, nav, header, figure) keep theirs. */
        if (bad && !(f & CX_NEG_KEEP) && !(f & CX_BOILER) && prose[i] >= 300 &&
            prose[i] >= 0.6f * d->chars[i])
            bad = 0;
        if (nodes[i].tag == T_BODY || nodes[i].tag == T_HTML)
            bad = 0;
        int32_t p = nodes[i].parent;
        neg[i] = bad ? (int32_t)i : (p >= 0 ? neg[p] : -1);
    }
    float *flat = d->flat;
    memset(score, 0, nn * sizeof *score);
    for (size_t k = 0; k < d->nblocks; k++) {
        const struct cx_block *b = &d->blocks[k];
        /* Marked text costs: the article element should not reach for
           comments or related links. Captions are neutral: a gallery
           inside the article must not sink it. */
        float v;
        if (neg[b->elem] < 0) {
            v = prose_value(b);
            /* Position: prose near the end of the page (comments, footers,
               "more stories") weighs up to POSITION_WEIGHT less. */
            if (v > 0 && d->arena.len > 0) {
                float pos = (float)b->start / (float)d->arena.len;
                v *= 1.0f - POSITION_WEIGHT * pos * pos;
            }
        } else if (nodes[neg[b->elem]].tag == T_FIGURE)
            v = 0;
        else
            v = -(float)b->chars;
        score[b->elem] += v;
    }
    /* Subtree sums: flat, and decayed by DEPTH_DECAY per level so the
       element holding the paragraphs themselves beats a distant ancestor
       collecting teaser summaries from many small boxes. */
    memcpy(flat, score, nn * sizeof *flat);
    for (size_t i = nn; i-- > 1;) {
        int32_t p = nodes[i].parent;
        if (p >= 0) {
            score[p] += DEPTH_DECAY * score[i];
            flat[p] += flat[i];
        }
    }
    int32_t best = -1;
    float best_v = 0;
    for (size_t i = 0; i < nn; i++) {
        if (score[i] <= 0 || neg[i] >= 0)
            continue;
        uint32_t f = nodes[i].flags;
        float bonus = 1.0f;
        if (f & CX_ARTBODY)
            bonus += 0.3f;
        if (f & CX_ARTICLE)
            bonus += 0.1f;
        if (f & CX_MAIN)
            bonus += 0.05f;
        if (f & CX_POS)
            bonus += 0.05f;
        float v = score[i] * bonus;
        if (v >= best_v) {
            best_v = v;
            best = (int32_t)i;
        }
    }
    return best;
}

/* Is block text s the description desc (or desc the block's start, cut
 * with an ellipsis)? */
static int is_description(const char *s, size_t len, const char *desc)
{
    size_t dl = strlen(desc);
    while (dl && (desc[dl - 1] == '.' || desc[dl - 1] == ' '))
        dl--;
    if (dl >= 3 && (unsigned char)desc[dl - 1] == 0xA6) /* ... */
        dl -= 3;
    while (len && (s[len - 1] == '.' || s[len - 1] == ' '))
        len--;
    if (dl < 60 || len < 60)
        return 0;
    if (len == dl)
        return memcmp(s, desc, len) == 0;
    /* one is a cut version of the other */
    size_t n = len < dl ? len : dl;
    return n * 10 >= (len > dl ? len : dl) * 8 && memcmp(s, desc, n) == 0;
}

/* Is the element holding a header of the article: a <header>, or named
 * like one ("article-header", "entry-header", "lead", "intro")? */
static int is_header_node(const struct clean_dom *d, int32_t g)
{
    const char *name = (const char *)d->nodes[g].node->name;
    if (name && strcmp(name, "header") == 0)
        return 1;
    const char *cls = clean_attr(d->nodes[g].node, "class");
    return cls && (strcasestr(cls, "header") || strcasestr(cls, "lead") ||
                   strcasestr(cls, "intro") || strcasestr(cls, "standfirst") ||
                   strcasestr(cls, "teaser") || strcasestr(cls, "summary"));
}

/* The standfirst: just before the first paragraph, a block that repeats
 * the page's description, or the prose paragraph closing the article's
 * header (a lead in <header class="article-header">). Not from navigation,
 * footers, asides or comments. */
static void keep_standfirst(const struct clean_dom *d, const char *desc, uint8_t *why, size_t first)
{
    size_t lo = first > 80 ? first - 80 : 0;
    for (size_t k = first; k-- > lo;) {
        const struct cx_block *b = &d->blocks[k];
        if (b->chars < 60 || b->link_chars * 4 > b->chars)
            continue;
        int32_t g = d->neg[b->elem];
        int bad = g >= 0 && ((d->nodes[g].flags & CX_NEG_KEEP) ||
                             ((d->nodes[g].flags & CX_BOILER) && d->nodes[g].tag != T_FIGURE &&
                              strcmp((const char *)d->nodes[g].node->name, "header") != 0));
        if (desc && is_description(d->arena.data + b->start, b->len, desc)) {
            if (!bad)
                why[k] = W_KEEP;
            return;
        }
        if (!bad && g >= 0 && first - k <= 12 && b->chars >= 80 && b->end_punct && !b->heading &&
            is_header_node(d, g)) {
            why[k] = W_KEEP;
            return;
        }
    }
}

int clean_extract_text(struct clean_dom *d, const struct clean_extract_in *in, struct buf *out,
                       struct clean_extract_out *res)
{
    const struct preset *ps = &presets[in->preset == CLEAN_PRESET_RECALL];
    memset(res, 0, sizeof *res);
    res->main_node = -1;
    res->byline_block = -1;
    buf_reset(out);
    if (d->nnodes == 0 || d->nblocks == 0)
        return 0;
    /* Page shape: headline links anywhere (a listing has no article
       element at all, sometimes). */
    for (size_t k = 0; k < d->nblocks; k++)
        res->teasers += is_teaser(&d->blocks[k]);
    if (grow_floats(d) != 0)
        return VIGIL_ENOMEM;
    size_t nn = d->nnodes;
    struct cx_node *nodes = d->nodes;
    float *prose = d->prose;
    int32_t *neg = d->neg;

    /* 1. Prose per subtree, ignoring hints. */
    float *sub_chars = d->chars;
    memset(prose, 0, nn * sizeof *prose);
    memset(sub_chars, 0, nn * sizeof *sub_chars);
    for (size_t k = 0; k < d->nblocks; k++) {
        float v = prose_value(&d->blocks[k]);
        if (v > 0)
            prose[d->blocks[k].elem] += v;
        sub_chars[d->blocks[k].elem] += (float)d->blocks[k].chars;
    }
    for (size_t i = nn; i-- > 1;) {
        if (nodes[i].parent >= 0) {
            prose[nodes[i].parent] += prose[i];
            sub_chars[nodes[i].parent] += sub_chars[i];
        }
    }
    float total_prose = prose[0];

    /* 2. The article: the best subtree with every boilerplate mark in
       force; when that leaves little of the page's prose (a mark on a
       wrapper: "content has-sidebar", WordPress's "post tag-x author-y",
       "article-ad-marker"), again with the marks voided on elements that
       hold half of the prose or more (comment sections excepted). */
    int32_t best = select_main(d, 0, total_prose);
    if (best < 0 || prose[best] < 0.4f * total_prose) {
        int32_t alt = select_main(d, 1, total_prose);
        if (alt >= 0 && (best < 0 || prose[alt] > 1.5f * prose[best]))
            best = alt;
        else
            best = select_main(d, 0, total_prose);
    }
    if (best < 0) {
        if (in->trace)
            trace(in->trace, d, NULL, best);
        return 0;
    }
    res->main_node = best;

    struct region regions[MAX_REGIONS];
    int nr = 0;
    regions[nr++] = (struct region){best, nodes[best].end};
    /* 5. Siblings that score well join (a lead paragraph in its own
       container, an article split around an ad). */
    int32_t par = nodes[best].parent;
    if (par >= 0) {
        float thr = ps->sibling_frac * d->flat[best];
        if (thr < 50)
            thr = 50;
        for (int32_t c = par + 1; c < nodes[par].end && nr < MAX_REGIONS; c = nodes[c].end) {
            if (c == best || neg[c] >= 0)
                continue;
            if (d->flat[c] >= thr)
                regions[nr++] = (struct region){c, nodes[c].end};
        }
    }

    /* 6. Keep the blocks of the regions that pass the line filters; the
       reason a block is dropped is kept for the trace. */
    uint8_t *why = malloc(d->nblocks);
    if (!why)
        return VIGIL_ENOMEM;
    size_t title_len = in->title ? strlen(in->title) : 0;
    for (size_t k = 0; k < d->nblocks; k++) {
        const struct cx_block *b = &d->blocks[k];
        const char *s = d->arena.data + b->start;
        int32_t rstart;
        int kind;
        why[k] = W_KEEP;
        if (!in_regions(regions, nr, b->elem, &rstart))
            why[k] = W_OUTSIDE;
        else if (neg[b->elem] > rstart && !is_section_header(d, k))
            why[k] = W_MARKED;
        else if ((float)b->link_chars > max_link_density(ps, b) * (float)b->chars &&
                 !linked_subheading(d, k))
            why[k] = W_LINKS;
        else if (b->heading == 1 || (title_len && (b->heading || b->chars < 300) &&
                                     same_text(s, b->len, in->title, title_len)))
            why[k] = W_TITLE;
        else if ((kind = clean_boiler_classify(s, b->len)) != CLEAN_BOILER_NONE) {
            why[k] = W_BOILER;
            if (kind == CLEAN_BOILER_BYLINE && res->byline_block < 0)
                res->byline_block = (int32_t)k;
        } else if (is_author_line(b, s, in))
            why[k] = W_AUTHOR;
        else if (ps->drop_short && !b->heading && !(b->flags & (CX_LIST | CX_BR)) &&
                 b->chars < 20 && !b->end_punct && text_width(s, b->len) < 20)
            why[k] = W_SHORT;
    }

    drop_author_boxes(d, in, why);

    /* 7. Headings must introduce something; lines before the first and
       after the last paragraph that are not prose go. */
    ssize_t first = -1, last = -1;
    for (size_t k = 0; k < d->nblocks; k++) {
        if (why[k] == W_KEEP && is_prose(&d->blocks[k])) {
            if (first < 0)
                first = (ssize_t)k;
            last = (ssize_t)k;
        }
    }
    for (size_t k = 0; k < d->nblocks; k++) {
        if (why[k] != W_KEEP)
            continue;
        const struct cx_block *b = &d->blocks[k];
        if (last >= 0 && (ssize_t)k > last && !is_prose(b) && !(b->flags & CX_LIST))
            why[k] = W_TRAIL;
        else if (ps->trim_lead && first >= 0 && (ssize_t)k < first && !b->heading && b->chars < 60)
            why[k] = W_LEAD;
        else if (b->heading) {
            int intro = 0;
            for (size_t j = k + 1; j < d->nblocks; j++) {
                if (why[j] != W_KEEP)
                    continue;
                if (d->blocks[j].heading && d->blocks[j].heading <= b->heading)
                    break;
                if (!d->blocks[j].heading) {
                    intro = 1;
                    break;
                }
            }
            if (!intro)
                why[k] = W_ORPHAN;
        }
    }

    /* 7b. The standfirst: a block before the article text that repeats the
       page's description (a lead paragraph in the header, a subtitle
       styled as a caption) opens the text. */
    if (first >= 0)
        keep_standfirst(d, in->description, why, (size_t)first);

    /* 8. Write, skipping exact repeats (pages that print a paragraph
       twice for two layouts). */
    int rc = 0;
    size_t paras = 0, nchars = 0;
    size_t seen[64], nseen = 0;
    uint64_t seen_hash[64];
    for (size_t k = 0; k < d->nblocks && rc == 0; k++) {
        if (why[k] != W_KEEP)
            continue;
        const struct cx_block *b = &d->blocks[k];
        const char *s = d->arena.data + b->start;
        int dup = 0;
        uint64_t h = hash_fnv64(s, b->len);
        for (size_t j = 0; j < nseen && !dup; j++) {
            const struct cx_block *o = &d->blocks[seen[j]];
            dup = seen_hash[j] == h && o->len == b->len &&
                  memcmp(d->arena.data + o->start, s, b->len) == 0;
        }
        if (!dup && b->len >= 20 && nseen < 64) {
            seen[nseen] = k;
            seen_hash[nseen++] = h;
        }
        if (dup) {
            why[k] = W_DUP;
            continue;
        }
        if (out->len && buf_append(out, "\n\n", 2) != 0) {
            rc = VIGIL_ETOOBIG;
            break;
        }
        if (buf_append(out, s, b->len) != 0) {
            rc = VIGIL_ETOOBIG;
            break;
        }
        paras++;
        nchars += b->chars;
    }
    if (in->trace)
        trace(in->trace, d, why, best);
    /* Page shape inside the article element. */
    for (size_t k = 0; k < d->nblocks; k++) {
        const struct cx_block *b = &d->blocks[k];
        int32_t rs;
        if (is_teaser(b) && in_regions(regions, nr, b->elem, &rs))
            res->teasers_main++;
        if (why[k] == W_KEEP && b->chars >= 150)
            res->long_paras++;
    }
    free(why);
    res->paragraphs = paras;
    res->chars = nchars;
    res->page_type = CLEAN_PAGE_ARTICLE;
    return rc;
}
