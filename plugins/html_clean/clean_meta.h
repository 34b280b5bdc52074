/*
 * clean_meta - page metadata: headline, dates, authors, canonical URL,
 * site name, section, image, declared language, and the JSON-LD article
 * (type and articleBody).
 *
 * Sources, best first for each field:
 *   title      JSON-LD headline (og:title when the headline is a truncated
 *              prefix of it), og:title, twitter:title, <title>; the site
 *              name is cut off (" | Site", " - Site", "Site: ") when it
 *              matches og:site_name, the publisher or the host name, or
 *              when the first <h1> equals one segment.
 *   published  JSON-LD datePublished, article:published_time and the
 *              usual <meta> names (date, pubdate, dc.date, sailthru.date,
 *              parsely-pub-date...), <time itemprop=datePublished|pubdate>,
 *              the first <time datetime>, a date in the URL (/2024/11/04/,
 *              /2024-11-04/, /20241104/). Every date goes through
 *              datetime_parse_sane: never before 1990, never later than
 *              now plus CLEAN_DATE_SLACK_MS (clock skew between servers).
 *   modified   JSON-LD dateModified, article:modified_time, og:updated_time,
 *              <meta name=last-modified|dcterms.modified>.
 *   authors    JSON-LD author names (Person before Organization), <meta
 *              name=author> (split on "," " and " "&" ";"), article:author
 *              when not a URL, rel=author / itemprop=author / class
 *              byline|author elements; "By", "Von", "Por", "Par" removed.
 *   canonical  <link rel=canonical>, og:url, resolved against the page URL.
 *   site_name  og:site_name, JSON-LD publisher name, application-name.
 *   section    article:section, JSON-LD articleSection.
 *   image      og:image, twitter:image, JSON-LD image.
 *   description og:description, <meta name=description>, twitter:description,
 *              JSON-LD description (used to find the standfirst).
 *   lang       <html lang>, content-language, <meta name=language>,
 *              og:locale, JSON-LD inLanguage.
 */
#ifndef CLEAN_META_H
#define CLEAN_META_H

#include <stddef.h>
#include <stdint.h>

#include "clean_extract.h"

#define CLEAN_MAX_AUTHORS 10
#define CLEAN_DATE_SLACK_MS (15 * 60 * 1000)

/* Every string is malloc'd (NULL when unknown); clean_meta_free frees
 * them. */
struct clean_meta {
    char *title;
    char *published; /* ISO 8601 UTC */
    char *modified;
    char *authors[CLEAN_MAX_AUTHORS];
    size_t nauthors;
    char *canonical_url;
    char *site_name;
    char *section;
    char *image;
    char *description;     /* og:description, description, JSON-LD description */
    char *lang_declared;   /* lowercased BCP 47 tag as declared ("en-us") */
    char *jsonld_type;     /* @type of the JSON-LD article ("NewsArticle") */
    char *jsonld_body;     /* articleBody, folded (paragraph breaks kept) */
    char *og_type;         /* og:type ("article", "website") */
    int declared_article;  /* JSON-LD article type or og:type article */
    int jsonld_consistent; /* the JSON-LD article names this page: its
                              headline matches og:title or <title>, or its
                              url the canonical URL */
};

/* Fill m from the elements collected by clean_dom_build. url (may be NULL)
 * is the page's address, for relative links and URL dates. */
void clean_meta_extract(const struct clean_refs *refs, const char *url, int64_t now_ms,
                        struct clean_meta *m);
void clean_meta_free(struct clean_meta *m);

/* Remove the site name from a page title; returns a malloc'd string (NULL
 * on memory failure). site and h1 may be NULL. */
char *clean_title_strip_site(const char *title, const char *site, const char *host, const char *h1);

/* Add the names of a byline ("By Jane Doe and John Roe") to m->authors
 * (deduplicated, at most CLEAN_MAX_AUTHORS). */
void clean_meta_add_authors(struct clean_meta *m, const char *byline);

/* Clean one byline ("By Jane Doe" -> "Jane Doe") into out; 0 when a name
 * is left. */
int clean_author_name(const char *in, char *out, size_t outlen);

/* Date from a URL path (/2024/11/04/ and the like), in ms; 0 when found. */
int clean_url_date(const char *url, int64_t *ms);

#endif
