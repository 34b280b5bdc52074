/*
 * clean_boiler - is this short line boilerplate?
 *
 * Lines are classified by general shapes, not by site: a short line that is
 * mostly a call to action ("Sign up now", "Follow topic", "Lesen Sie
 * auch:", "Suscríbete"), a photo caption or credit ("PHOTO: AFP", "(FILES)
 * ...", "© Getty Images", "... (Photo by X / AFP)"), navigation ("Skip to
 * content", "Home > World"), a cookie or newsletter prompt, an ad label, a
 * publication-date line or a byline. Phrases are listed for English,
 * German, Spanish and French; the length limits keep ordinary paragraphs
 * that happen to contain a phrase out of reach (a phrase must dominate the
 * line, or sit where such phrases sit: at its start or, for credits, at
 * its end).
 */
#ifndef CLEAN_BOILER_H
#define CLEAN_BOILER_H

#include <stddef.h>

enum clean_boiler_kind {
    CLEAN_BOILER_NONE = 0,
    CLEAN_BOILER_CTA = 1,    /* sign up, subscribe, follow, share, read more */
    CLEAN_BOILER_CREDIT = 2, /* photo caption, image credit, copyright */
    CLEAN_BOILER_NAV = 3,    /* skip links, breadcrumbs, pagination */
    CLEAN_BOILER_COOKIE = 4, /* cookie / consent banner text */
    CLEAN_BOILER_AD = 5,     /* "Advertisement", "Anzeige" */
    CLEAN_BOILER_DATE = 6,   /* "Published 4 Nov 2024", "Updated: ..." */
    CLEAN_BOILER_BYLINE = 7, /* "By Jane Doe", "Reporting by ..." */
    CLEAN_BOILER_RELATED = 8 /* "Related:", "See also", "Most read" */
};

/* Longest line (bytes) any rule looks at; longer lines are never
 * boilerplate by pattern. */
#define CLEAN_BOILER_MAX_LINE 600

/* Classify one folded line (UTF-8, no line breaks). */
int clean_boiler_classify(const char *line, size_t len);

/* Name of a kind ("cta", "credit", ...), for tests and debugging. */
const char *clean_boiler_name(int kind);

#endif
