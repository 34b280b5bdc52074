#include "xml.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/uri.h>
#include <libxml/xmlsave.h>

#include "text.h"

/* ---------------------------------------------------------------------
 * Pre-pass
 * ------------------------------------------------------------------ */

static int starts(const char *s, size_t len, size_t i, const char *lit)
{
    size_t n = strlen(lit);
    return len - i >= n && memcmp(s + i, lit, n) == 0;
}

/* Index just past `close`, searching from i; len when absent. */
static size_t skip_past(const char *s, size_t len, size_t i, const char *close)
{
    size_t n = strlen(close);
    while (i + n <= len) {
        const char *p = memchr(s + i, close[0], len - i);
        if (!p)
            return len;
        i = (size_t)(p - s);
        if (i + n <= len && memcmp(s + i, close, n) == 0)
            return i + n;
        i++;
    }
    return len;
}

/* Index just past a DOCTYPE declaration starting at i: quotes, an internal
 * subset in brackets, and comments inside it are skipped. */
static size_t skip_doctype(const char *s, size_t len, size_t i)
{
    int depth = 0;
    for (i += 9; i < len; i++) {
        char c = s[i];
        if (c == '"' || c == '\'') {
            const char *q = memchr(s + i + 1, c, len - i - 1);
            if (!q)
                return len;
            i = (size_t)(q - s);
        } else if (c == '<' && starts(s, len, i, "<!--")) {
            i = skip_past(s, len, i + 4, "-->") - 1;
        } else if (c == '[') {
            depth++;
        } else if (c == ']') {
            if (depth > 0)
                depth--;
        } else if (c == '>' && depth == 0) {
            return i + 1;
        }
    }
    return len;
}

static int xml_char_ok(uint32_t cp)
{
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

/* Handle the '&' at s[i]; returns bytes consumed from the input. */
static size_t fix_reference(const char *s, size_t len, size_t i, unsigned flags, struct buf *out,
                            int *err)
{
    static const char *const xml_named[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;", NULL};
    for (int k = 0; xml_named[k]; k++) {
        if (starts(s, len, i, xml_named[k])) {
            size_t n = strlen(xml_named[k]);
            if (buf_append(out, s + i, n) != 0)
                *err = 1;
            return n;
        }
    }
    uint32_t cp;
    size_t n = feed_text_entity(s + i, len - i, &cp);
    if (n && s[i + 1] == '#') {
        /* Numeric: keep as written unless it needs the windows-1252
         * reading (feed_text_entity already applied it) or is illegal. */
        char tmp[4];
        size_t k;
        if (!xml_char_ok(cp))
            return n;
        /* Reparse the digits to see whether feed_text_entity remapped. */
        uint32_t raw = 0;
        int hex = s[i + 2] == 'x' || s[i + 2] == 'X';
        for (size_t j = i + 2 + (size_t)hex; j < i + n - 1; j++) {
            char c = s[j];
            raw = raw * (hex ? 16u : 10u) + (uint32_t)(isdigit((unsigned char)c)
                                                           ? c - '0'
                                                           : tolower((unsigned char)c) - 'a' + 10);
            if (raw > 0x10FFFF)
                break;
        }
        if (raw == cp) {
            if (buf_append(out, s + i, n) != 0)
                *err = 1;
            return n;
        }
        k = feed_utf8_put(cp, tmp);
        if (buf_append(out, tmp, k) != 0)
            *err = 1;
        return n;
    }
    if (n) {
        char tmp[4];
        size_t k = feed_utf8_put(cp, tmp);
        if (cp == '<' || cp == '&' || cp == '>' || cp == '"') {
            /* never let a decoded reference become markup */
            const char *rep = cp == '<'   ? "&lt;"
                              : cp == '&' ? "&amp;"
                              : cp == '>' ? "&gt;"
                                          : "&quot;";
            if (buf_append_str(out, rep) != 0)
                *err = 1;
        } else if (buf_append(out, tmp, k) != 0) {
            *err = 1;
        }
        return n;
    }
    if (flags & FEED_XML_KEEP_DOCTYPE) {
        /* Leave unknown names for libxml2 (and its own protections). */
        size_t j = i + 1;
        while (j < len && j - i < 64 &&
               (isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == '-' || s[j] == '.'))
            j++;
        if (j > i + 1 && j < len && s[j] == ';') {
            if (buf_append(out, s + i, j + 1 - i) != 0)
                *err = 1;
            return j + 1 - i;
        }
    }
    if (buf_append(out, "&amp;", 5) != 0)
        *err = 1;
    return 1;
}

int feed_xml_prepare(const char *s, size_t len, unsigned flags, struct buf *out,
                     int *doctype_removed)
{
    size_t i = 0, run;
    int err = 0;
    const char *lt = memchr(s, '<', len);
    i = lt ? (size_t)(lt - s) : len;
    run = i;
    while (i < len && !err) {
        char c = s[i];
        if (c != '<' && c != '&') {
            i++;
            continue;
        }
        if (buf_append(out, s + run, i - run) != 0)
            return -1;
        if (c == '&') {
            i += fix_reference(s, len, i, flags, out, &err);
            run = i;
            continue;
        }
        size_t end;
        if (starts(s, len, i, "<!--")) {
            end = skip_past(s, len, i + 4, "-->");
        } else if (starts(s, len, i, "<![CDATA[")) {
            end = skip_past(s, len, i + 9, "]]>");
        } else if (starts(s, len, i, "<?")) {
            end = skip_past(s, len, i + 2, "?>");
        } else if (len - i >= 9 && strncasecmp(s + i, "<!DOCTYPE", 9) == 0 &&
                   !(flags & FEED_XML_KEEP_DOCTYPE)) {
            size_t from = i;
            i = skip_doctype(s, len, i);
            run = i;
            if (doctype_removed) {
                /* Entity declarations are what XXE and billion laughs
                 * need; a plain DOCTYPE (RSS 0.91's) is harmless. */
                int ent = memmem(s + from, i - from, "<!ENTITY", 8) != NULL;
                if (*doctype_removed < 1 + ent)
                    *doctype_removed = 1 + ent;
            }
            continue;
        } else if (i + 1 < len &&
                   (isspace((unsigned char)s[i + 1]) || isdigit((unsigned char)s[i + 1]) ||
                    s[i + 1] == '=' || s[i + 1] == '<')) {
            if (buf_append(out, "&lt;", 4) != 0)
                return -1;
            i++;
            run = i;
            continue;
        } else {
            end = i + 1;
        }
        if (buf_append(out, s + i, end - i) != 0)
            return -1;
        i = end;
        run = i;
    }
    if (err || buf_append(out, s + run, len - run) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------ */

static void capture_error(void *ctx, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = ctx;
    struct feed_xml *x = ctxt ? ctxt->_private : NULL;
    if (!x || !e)
        return;
    x->errors++;
    if (e->level == XML_ERR_FATAL && !x->error[0]) {
        snprintf(x->error, sizeof x->error, "%s", e->message ? e->message : "parse error");
        size_t n = strlen(x->error);
        while (n && (x->error[n - 1] == '\n' || x->error[n - 1] == ' '))
            x->error[--n] = '\0';
        x->error_line = e->line;
    }
}

/* Refuse every external entity and DTD, for this context only. */
static xmlParserInputPtr refuse_entity(void *ctx, const xmlChar *publicId, const xmlChar *systemId)
{
    (void)ctx;
    (void)publicId;
    (void)systemId;
    return NULL;
}

static void no_external_subset(void *ctx, const xmlChar *name, const xmlChar *ExternalID,
                               const xmlChar *SystemID)
{
    (void)ctx;
    (void)name;
    (void)ExternalID;
    (void)SystemID;
}

int feed_xml_load(const char *data, size_t len, const struct feed_xml_opts *o, struct feed_xml *out,
                  struct vigil_error *err)
{
    size_t max = o && o->max_bytes ? o->max_bytes : FEED_XML_DEFAULT_MAX;
    unsigned flags = o ? o->flags : 0;
    struct feed_utf8 u;
    struct buf clean;
    int rc;

    memset(out, 0, sizeof *out);
    if (len > max)
        return vigil_error_set(err, VIGIL_ETOOBIG, "document is %zu bytes, over the %zu limit", len,
                               max);
    rc = feed_charset_to_utf8(data, len, o ? o->content_type : NULL, FEED_CS_XML, 4 * max + 16, &u,
                              err);
    if (rc != 0)
        return rc;
    snprintf(out->encoding, sizeof out->encoding, "%s", u.encoding);
    snprintf(out->warning, sizeof out->warning, "%s", u.warning);
    u.len = feed_utf8_strip_xml_illegal(u.data, u.len);

    buf_init(&clean, 6 * u.len + 64);
    if (feed_xml_prepare(u.data, u.len, flags, &clean, &out->doctype_removed) != 0) {
        free(u.data);
        buf_free(&clean);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory preparing the document");
    }
    free(u.data);
    if (clean.len == 0 || clean.len > INT_MAX) {
        buf_free(&clean);
        return vigil_error_set(err, VIGIL_EPARSE,
                               clean.len ? "document too large" : "no XML markup in the document");
    }

    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        buf_free(&clean);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory creating the XML parser");
    }
    ctxt->_private = out;
    ctxt->sax->serror = capture_error;
    ctxt->sax->resolveEntity = refuse_entity;
    ctxt->sax->externalSubset = no_external_subset;
    int opts = XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT |
               XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, clean.data, (int)clean.len, o && o->url ? o->url : NULL,
                                      "UTF-8", opts);
    int wellformed = ctxt->wellFormed;
    xmlFreeParserCtxt(ctxt);
    buf_free(&clean);

    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        if (doc)
            xmlFreeDoc(doc);
        if (out->error[0])
            return vigil_error_set(err, VIGIL_EPARSE, "not well-formed XML: %s (line %d)",
                                   out->error, out->error_line);
        return vigil_error_set(err, VIGIL_EPARSE, "not well-formed XML: no root element");
    }
    out->doc = doc;
    out->recovered = !wellformed;
    return 0;
}

void feed_xml_free(struct feed_xml *x)
{
    if (x && x->doc) {
        xmlFreeDoc(x->doc);
        x->doc = NULL;
    }
}

/* ---------------------------------------------------------------------
 * Tree helpers
 * ------------------------------------------------------------------ */

static const struct {
    const char *href;
    int ns;
} known_ns[] = {{"http://www.w3.org/2005/Atom", FEED_NS_ATOM},
                {"http://purl.org/atom/ns#", FEED_NS_ATOM03},
                {"http://purl.org/rss/1.0/", FEED_NS_RSS10},
                {"http://my.netscape.com/rdf/simple/0.9/", FEED_NS_RSS090},
                {"http://backend.userland.com/rss2", FEED_NS_RSS_USERLAND},
                {"http://backend.userland.com/rss", FEED_NS_RSS_USERLAND},
                {"http://www.w3.org/1999/02/22-rdf-syntax-ns#", FEED_NS_RDF},
                {"http://purl.org/dc/elements/1.1/", FEED_NS_DC},
                {"http://purl.org/dc/elements/1.1", FEED_NS_DC},
                {"http://purl.org/dc/terms/", FEED_NS_DCTERMS},
                {"http://purl.org/rss/1.0/modules/content/", FEED_NS_CONTENT},
                {"http://search.yahoo.com/mrss/", FEED_NS_MEDIA},
                {"http://search.yahoo.com/mrss", FEED_NS_MEDIA},
                {"http://www.itunes.com/dtds/podcast-1.0.dtd", FEED_NS_ITUNES},
                {"http://www.sitemaps.org/schemas/sitemap/0.9", FEED_NS_SITEMAP},
                {"http://www.google.com/schemas/sitemap/0.84", FEED_NS_SITEMAP},
                {"http://www.google.com/schemas/sitemap-news/0.9", FEED_NS_NEWS},
                {"http://www.w3.org/1999/xhtml", FEED_NS_XHTML},
                {NULL, 0}};

static const struct {
    const char *prefix;
    int ns;
} known_prefix[] = {{"atom", FEED_NS_ATOM},       {"rdf", FEED_NS_RDF},
                    {"dc", FEED_NS_DC},           {"dcterms", FEED_NS_DCTERMS},
                    {"content", FEED_NS_CONTENT}, {"media", FEED_NS_MEDIA},
                    {"itunes", FEED_NS_ITUNES},   {"news", FEED_NS_NEWS},
                    {"xhtml", FEED_NS_XHTML},     {NULL, 0}};

int feed_xml_ns(const xmlNode *n)
{
    if (n->ns && n->ns->href) {
        const char *h = (const char *)n->ns->href;
        for (int i = 0; known_ns[i].href; i++) {
            if (strcasecmp(h, known_ns[i].href) == 0)
                return known_ns[i].ns;
        }
        return FEED_NS_OTHER;
    }
    const char *colon = n->name ? strchr((const char *)n->name, ':') : NULL;
    if (colon) {
        size_t plen = (size_t)(colon - (const char *)n->name);
        for (int i = 0; known_prefix[i].prefix; i++) {
            if (strlen(known_prefix[i].prefix) == plen &&
                strncasecmp((const char *)n->name, known_prefix[i].prefix, plen) == 0)
                return known_prefix[i].ns;
        }
        return FEED_NS_OTHER;
    }
    return FEED_NS_NONE;
}

const char *feed_xml_local(const xmlNode *n)
{
    const char *name = n->name ? (const char *)n->name : "";
    if (!n->ns) {
        const char *colon = strchr(name, ':');
        if (colon)
            return colon + 1;
    }
    return name;
}

int feed_xml_is(const xmlNode *n, int ns, const char *local)
{
    return n->type == XML_ELEMENT_NODE && feed_xml_ns(n) == ns &&
           strcmp(feed_xml_local(n), local) == 0;
}

int feed_xml_text(const xmlNode *n, struct buf *out)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        switch (c->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (c->content && buf_append_str(out, (const char *)c->content) != 0)
                return -1;
            break;
        case XML_ELEMENT_NODE:
            if (feed_xml_text(c, out) != 0)
                return -1;
            break;
        default: break; /* entity references, comments, PIs: nothing */
        }
    }
    return 0;
}

int feed_xml_has_elements(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return 1;
    }
    return 0;
}

int feed_xml_inner(const xmlNode *n, struct buf *out)
{
    xmlBufferPtr b = xmlBufferCreate();
    int rc = 0;
    if (!b)
        return -1;
    for (xmlNode *c = n->children; c && rc == 0; c = c->next) {
        if (c->type == XML_ENTITY_REF_NODE)
            continue;
        xmlBufferEmpty(b);
        if (xmlNodeDump(b, n->doc, c, 0, 0) < 0) {
            rc = -1;
            break;
        }
        if (buf_append(out, xmlBufferContent(b), (size_t)xmlBufferLength(b)) != 0)
            rc = -1;
    }
    xmlBufferFree(b);
    return rc;
}

char *feed_xml_attr(const xmlNode *n, const char *local)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        const char *name = (const char *)a->name;
        const char *colon = a->ns ? NULL : strchr(name, ':');
        if (colon)
            name = colon + 1;
        if (strcmp(name, local) != 0)
            continue;
        xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
        if (!v)
            return NULL;
        char *copy = strdup((const char *)v);
        xmlFree(v);
        return copy;
    }
    return NULL;
}

/* Percent-encode what xmlParseURI refuses (spaces, non-ASCII, a few
 * delimiters) so sloppy links still resolve. */
static xmlChar *escape_loose(const char *ref)
{
    struct buf b;
    buf_init(&b, 4 * strlen(ref) + 16);
    for (const unsigned char *p = (const unsigned char *)ref; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7F || strchr("\"<>\\^`{|}", *p)) {
            if (buf_printf(&b, "%%%02X", *p) != 0)
                break;
        } else if (buf_append(&b, p, 1) != 0) {
            break;
        }
    }
    xmlChar *r = b.data ? xmlStrdup((const xmlChar *)b.data) : NULL;
    buf_free(&b);
    return r;
}

int feed_xml_resolve(const xmlNode *n, const char *ref, struct buf *out)
{
    while (*ref && isspace((unsigned char)*ref))
        ref++;
    size_t len = strlen(ref);
    while (len && isspace((unsigned char)ref[len - 1]))
        len--;
    if (len == 0)
        return 0;
    char *r = strndup(ref, len);
    if (!r)
        return -1;
    xmlChar *base = n ? xmlNodeGetBase(n->doc, n) : NULL;
    xmlChar *abs = NULL;
    if (base) {
        abs = xmlBuildURI((const xmlChar *)r, base);
        if (!abs) {
            xmlChar *esc = escape_loose(r);
            if (esc) {
                abs = xmlBuildURI(esc, base);
                xmlFree(esc);
            }
        }
        xmlFree(base);
    }
    int rc = buf_append_str(out, abs ? (const char *)abs : r);
    if (abs)
        xmlFree(abs);
    free(r);
    return rc;
}
