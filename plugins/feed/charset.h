/*
 * charset - find out how a fetched document is encoded and turn it into
 * UTF-8.
 *
 * Order of authority (RFC 7303 section 3, WHATWG for HTML): a byte order
 * mark, then the HTTP charset parameter, then the document's own
 * declaration (XML prolog, or <meta charset> for HTML), then UTF-8. One
 * correction is applied to every declared (not BOM-given) encoding: when
 * the bytes contain non-ASCII and are entirely valid UTF-8, they are UTF-8
 * whatever the header or prolog says (a server default of ISO-8859-1 or a
 * copied prolog is far more common than legacy text that happens to be
 * valid UTF-8). Undeclared bytes that are not valid UTF-8 are read as
 * windows-1252, byte by byte, keeping any valid UTF-8 sequences (feeds that
 * mix the two are common).
 *
 * Legacy names are read the way browsers read them: ISO-8859-1 and ASCII
 * as windows-1252, GB2312 and GBK as GB18030, and so on. Conversion uses
 * ICU; invalid sequences become U+FFFD.
 */
#ifndef VIGIL_FEED_CHARSET_H
#define VIGIL_FEED_CHARSET_H

#include <stddef.h>

#include "vigil/plugin.h"

/* Where the encoding used came from. */
enum feed_charset_source {
    FEED_CS_DEFAULT = 0, /* nothing declared: UTF-8 */
    FEED_CS_BOM,
    FEED_CS_HTTP,     /* Content-Type charset */
    FEED_CS_DECLARED, /* XML prolog or HTML <meta> */
    FEED_CS_SNIFFED   /* UTF-16 without BOM, or valid UTF-8 overriding a
                         declaration */
};

struct feed_utf8 {
    char *data; /* malloc'd, NUL-terminated UTF-8 without BOM */
    size_t len;
    char encoding[48]; /* encoding actually used, e.g. "windows-1251" */
    int source;        /* enum feed_charset_source */
    char warning[256]; /* non-empty when a declaration was overridden or a
                          fallback taken: worth a debug line, not an error */
};

/* Which kind of document: where to look for a declaration. */
enum feed_charset_doc { FEED_CS_XML = 0, FEED_CS_HTML = 1, FEED_CS_JSON = 2 };

/*
 * Convert data[0..len) to UTF-8. content_type is the HTTP Content-Type (may
 * be NULL); max_out bounds the output (0 = 4 * len + 16). On success fills
 * out (free out->data with free()) and returns 0. Fails with VIGIL_EPARSE
 * when the declared encoding is unknown and the bytes are not UTF-8 (err
 * names the encoding and where it was declared), VIGIL_ETOOBIG, or
 * VIGIL_ENOMEM.
 */
int feed_charset_to_utf8(const char *data, size_t len, const char *content_type, int doc_kind,
                         size_t max_out, struct feed_utf8 *out, struct vigil_error *err);

/* The charset parameter of a Content-Type into out (lowercased, quotes
 * removed); 1 when found, 0 when absent. */
int feed_charset_from_content_type(const char *content_type, char *out, size_t outlen);

/* The encoding="..." of an XML declaration at the start of data (after a
 * BOM and whitespace), 1 when found. */
int feed_charset_from_xml_decl(const char *data, size_t len, char *out, size_t outlen);

/* The charset of an HTML <meta charset> or <meta http-equiv content> in the
 * first 4 KB (the HTML prescan, simplified), 1 when found. */
int feed_charset_from_html_meta(const char *data, size_t len, char *out, size_t outlen);

/* 1 when data is valid UTF-8 (no overlongs, no surrogates); *non_ascii (may
 * be NULL) tells whether any byte >= 0x80 occurs. */
int feed_utf8_valid(const char *data, size_t len, int *non_ascii);

/* Remove characters XML 1.0 forbids (C0 controls other than tab, LF, CR;
 * U+FFFE, U+FFFF) in place; returns the new length. Input must be UTF-8. */
size_t feed_utf8_strip_xml_illegal(char *data, size_t len);

#endif
