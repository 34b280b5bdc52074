/*
 * feed - RSS 0.9x/2.0, RSS 1.0 (RDF), Atom 1.0 (and 0.3) and JSON Feed 1.x
 * into one item model. Pure C over bytes: no host, no I/O except
 * feed_parse_file().
 *
 * The format is read from the content (the root element, or a JSON
 * object), never from a file name or content type. Strings in the result
 * are UTF-8, owned by the struct feed (one arena) and freed by
 * feed_free().
 */
#ifndef VIGIL_FEED_FEED_H
#define VIGIL_FEED_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "vigil/plugin.h"

#define FEED_NO_TIME INT64_MIN
#define FEED_DEFAULT_MAX_ITEMS 1000

enum feed_format {
    FEED_FORMAT_UNKNOWN = 0,
    FEED_FORMAT_RSS,  /* RSS 0.91/0.92/2.0 (and <rss> without version) */
    FEED_FORMAT_RDF,  /* RSS 0.90 / 1.0 */
    FEED_FORMAT_ATOM, /* Atom 1.0 and 0.3 */
    FEED_FORMAT_JSON  /* JSON Feed 1.0/1.1 */
};

struct feed_enclosure {
    const char *url;  /* absolute when resolvable */
    const char *type; /* MIME type or NULL */
    int64_t length;   /* bytes, -1 when unknown */
};

struct feed_item {
    const char *id;       /* guid / id / rdf:about, else the link, else
                             "sha:" + hash of title and summary; never NULL */
    const char *title;    /* plain text, may be NULL */
    const char *link;     /* absolute when resolvable, may be NULL */
    const char *summary;  /* plain text, may be NULL */
    const char *content;  /* HTML, may be NULL */
    int64_t published;    /* ms UTC, FEED_NO_TIME when absent or not credible */
    int64_t updated;      /* same */
    const char **authors; /* n_authors names, deduplicated */
    size_t n_authors;
    const char **categories;
    size_t n_categories;
    struct feed_enclosure *enclosures;
    size_t n_enclosures;
};

struct feed {
    int format;          /* enum feed_format */
    const char *version; /* "2.0", "1.0", "atom1.0", "json1.1"... */
    const char *title;   /* plain text, may be NULL */
    const char *link;    /* the site, absolute, may be NULL */
    const char *lang;    /* as declared, may be NULL */
    struct feed_item *items;
    size_t n_items;       /* items kept (at most max_items) */
    size_t n_items_seen;  /* items in the document */
    char encoding[48];    /* what the bytes were read as */
    int recovered;        /* the XML was not well-formed; items recovered */
    int entities_refused; /* its DOCTYPE declared entities: removed, none
                             expanded (XXE, billion laughs) */
    char warning[640];    /* why, or a charset note; "" when clean */
    struct feed_arena arena;
};

struct feed_parse_opts {
    const char *url;          /* where the feed came from: base URL for
                                 relative links (NULL: links kept as given) */
    const char *content_type; /* HTTP Content-Type (charset), may be NULL */
    size_t max_bytes;         /* input limit; 0 = 16 MB */
    size_t max_items;         /* items kept; 0 = FEED_DEFAULT_MAX_ITEMS */
    int64_t now_ms;           /* for date plausibility; 0 = the clock */
    unsigned xml_flags;       /* enum feed_xml_flags (tests) */
};

/*
 * Parse data[0..len). On success *out is a new feed (feed_free()). On
 * failure returns a negative status with err naming the problem:
 * VIGIL_EPARSE (not a feed, malformed beyond recovery, unknown encoding),
 * VIGIL_ETOOBIG (over max_bytes), VIGIL_ENOMEM.
 */
int feed_parse(const char *data, size_t len, const struct feed_parse_opts *o, struct feed **out,
               struct vigil_error *err);

/* Same for a local file (read whole, bounded by max_bytes); url defaults to
 * the file's path. VIGIL_EIO when it cannot be read. */
int feed_parse_file(const char *path, const struct feed_parse_opts *o, struct feed **out,
                    struct vigil_error *err);

void feed_free(struct feed *f);

const char *feed_format_name(int format);

#endif
