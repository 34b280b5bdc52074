/*
 * xml - load untrusted feed XML safely and tolerantly.
 *
 * The bytes are decoded to UTF-8 first (charset.h), then cleaned by a
 * single linear pre-pass, then parsed by libxml2 in recover mode:
 *
 *   - junk before the first '<' is skipped (whitespace before <?xml is
 *     common and fatal to a strict parser);
 *   - the DOCTYPE declaration is removed with its internal subset: feeds
 *     never need one, and without it there is nothing to expand (billion
 *     laughs) and nothing external to load (XXE);
 *   - references the XML parser would reject are repaired: HTML named
 *     references (&nbsp;, &eacute;...) become the characters they name,
 *     numeric references to windows-1252 positions 128..159 (&#146;) become
 *     the intended characters, references to characters XML forbids are
 *     dropped, and any other '&' not starting a reference becomes &amp;
 *     (so "AT&T" and unescaped query strings survive);
 *   - a '<' that cannot start markup ("x < y") becomes &lt;;
 *   - characters XML 1.0 forbids are removed.
 *
 * libxml2 then runs with XML_PARSE_RECOVER | NONET | NOCDATA | COMPACT |
 * IGNORE_ENC, never NOENT, DTDLOAD, DTDVALID or HUGE (so its default
 * 256-level depth limit and 10 MB text-node limit apply). The parser
 * context's SAX resolveEntity and externalSubset hooks are replaced so that
 * even with a DOCTYPE (FEED_XML_KEEP_DOCTYPE, used by tests to check this
 * second layer) no external entity or DTD is ever read. Text extraction
 * (feed_xml_text) never follows entity references.
 *
 * Errors are captured per parser context (no global handler): the first
 * fatal one, with its line, explains a failure or a recovered document.
 */
#ifndef VIGIL_FEED_XML_H
#define VIGIL_FEED_XML_H

#include <stddef.h>

#include <libxml/tree.h>

#include "buf.h"
#include "charset.h"
#include "vigil/plugin.h"

#define FEED_XML_DEFAULT_MAX ((size_t)16 << 20)

enum feed_xml_flags {
    FEED_XML_KEEP_DOCTYPE = 1u << 0 /* tests only: skip the DOCTYPE removal */
};

struct feed_xml_opts {
    const char *url;          /* document URL: the base for relative links */
    const char *content_type; /* HTTP Content-Type (charset), may be NULL */
    size_t max_bytes;         /* input limit; 0 = FEED_XML_DEFAULT_MAX */
    unsigned flags;
};

struct feed_xml {
    xmlDocPtr doc;       /* owned; the root element exists */
    char encoding[48];   /* encoding the bytes were read as */
    int recovered;       /* not well-formed: the tree is libxml2's recovery */
    int errors;          /* parser errors seen */
    int error_line;      /* line of the first fatal error (0 if none) */
    char error[200];     /* first fatal error, "" if none */
    char warning[256];   /* charset warning, "" if none */
    int doctype_removed; /* 1: a DOCTYPE was removed; 2: it declared
                            entities (never expanded) */
};

/* Parse. On success *out owns the tree (feed_xml_free). Errors:
 * VIGIL_ETOOBIG (input over max_bytes), VIGIL_EPARSE (encoding unknown, or
 * nothing recoverable: err says what libxml2 reported and at which line),
 * VIGIL_ENOMEM. */
int feed_xml_load(const char *data, size_t len, const struct feed_xml_opts *o, struct feed_xml *out,
                  struct vigil_error *err);
void feed_xml_free(struct feed_xml *x);

/* The pre-pass alone (exposed for tests): UTF-8 in, cleaned UTF-8
 * appended to out. *doctype_removed (may be NULL) is set to 1 when a
 * DOCTYPE was dropped, 2 when it declared entities. 0 or -1 when out is
 * full. */
int feed_xml_prepare(const char *in, size_t len, unsigned flags, struct buf *out,
                     int *doctype_removed);

/* Namespaces feeds and sitemaps use. An undeclared prefix (libxml2 keeps
 * "dc:creator" as the element name, without a namespace) is mapped by its
 * conventional prefix. */
enum feed_ns {
    FEED_NS_NONE = 0, /* no namespace */
    FEED_NS_OTHER,
    FEED_NS_RSS10,
    FEED_NS_RSS090,
    FEED_NS_RSS_USERLAND,
    FEED_NS_ATOM,
    FEED_NS_ATOM03,
    FEED_NS_RDF,
    FEED_NS_DC,
    FEED_NS_DCTERMS,
    FEED_NS_CONTENT,
    FEED_NS_MEDIA,
    FEED_NS_ITUNES,
    FEED_NS_SITEMAP,
    FEED_NS_NEWS,
    FEED_NS_XHTML
};

/* Namespace of an element or attribute, and its local name (prefix
 * stripped). */
int feed_xml_ns(const xmlNode *n);
const char *feed_xml_local(const xmlNode *n);
/* Element n is (ns, local). */
int feed_xml_is(const xmlNode *n, int ns, const char *local);

/* Append the text of n: text and CDATA of n and its descendants, entity
 * references skipped. 0 or -1 when out is full. */
int feed_xml_text(const xmlNode *n, struct buf *out);
/* Append the markup inside n (children serialised), for XHTML content and
 * HTML left unescaped in RSS descriptions. 0 or -1. */
int feed_xml_inner(const xmlNode *n, struct buf *out);
/* Whether n has element children. */
int feed_xml_has_elements(const xmlNode *n);
/* Attribute value by local name (any namespace), malloc'd copy owned by
 * the caller (free()); NULL when absent. */
char *feed_xml_attr(const xmlNode *n, const char *local);
/* Resolve ref (trimmed) against n's base (xml:base chain, then the document
 * URL) into out. Unparseable references are kept as given. 0 or -1. */
int feed_xml_resolve(const xmlNode *n, const char *ref, struct buf *out);

#endif
