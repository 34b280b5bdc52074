/*
 * gaz - gazetteer files (docs/gazetteers.md): loading and validation.
 *
 * gaz_load() reads one or more files, checks every entry against the
 * format and reports every problem at once as
 * "FILE:LINE:COL: /entries/12/aliases/3: message" through common/jdiag.h:
 * errors (the gazetteers are refused) and warnings (loaded anyway, but a
 * maintainer should look). The result is a flat, read-only table of
 * entries and aliases that the matcher compiles.
 *
 * Pure C and ICU; no dependency on the plugin host.
 */
#ifndef VIGIL_ENTITIES_GAZ_H
#define VIGIL_ENTITIES_GAZ_H

#include <stddef.h>
#include <stdint.h>

#include "jdiag.h"

enum gaz_type {
    GAZ_COUNTRY = 0,
    GAZ_TERRITORY,
    GAZ_PERSON,
    GAZ_ORGANISATION,
    GAZ_PLACE,
    GAZ_MILITARY,
    GAZ_ARMED_GROUP,
    GAZ_NTYPES
};

/* "country", "territory", ... ; "?" for an out-of-range value. */
const char *gaz_type_name(int type);

enum gaz_window { GAZ_WINDOW_SENTENCE = 0, GAZ_WINDOW_DOCUMENT = 1 };

/* An ambiguity rule ("context" in an alias object). */
struct gaz_context {
    int window;      /* enum gaz_window */
    char **positive; /* NFC UTF-8 words or phrases */
    size_t npositive;
    char **negative;
    size_t nnegative;
    int default_reject; /* "default": "reject" */
    int reject_next_cap;
    int reject_prev_cap;
};

struct gaz_alias {
    char *text;      /* NFC, trimmed */
    uint32_t entry;  /* index into gaz.entries */
    uint8_t demonym; /* from "demonyms" */
    uint8_t case_sensitive;
    char lang[4];                /* ISO 639-1 or "" for every language */
    struct gaz_context *context; /* NULL when none */
    /* Where it came from, for messages: file index, entry index in that
     * file, list ("aliases"/"demonyms") and index in the list. */
    uint32_t file, file_entry, list_index;
};

/* Days since 1970-01-01 bounding a role; open ends use these. */
#define GAZ_DAY_MIN INT32_MIN
#define GAZ_DAY_MAX INT32_MAX

struct gaz_role {
    char *title;
    char *of;     /* id, or NULL */
    int32_t from; /* first day in office, or GAZ_DAY_MIN */
    int32_t to;   /* last day in office (inclusive), or GAZ_DAY_MAX */
};

struct gaz_entry {
    char *id;
    char *name;
    char *affiliation; /* NULL when none; a country defaults to itself */
    int type;          /* enum gaz_type */
    struct gaz_role *roles;
    size_t nroles;
    uint32_t file, file_entry;
};

struct gaz {
    struct gaz_entry *entries;
    size_t nentries;
    struct gaz_alias *aliases; /* aliases and demonyms, in file order */
    size_t naliases;
    char **files; /* names as given */
    size_t nfiles;
    /* Set when the tables were read back from a cache snapshot: strings,
     * roles and contexts then live in these blocks (owned) instead of one
     * allocation each. NULL for a gazetteer loaded from its files. */
    char *arena;
    struct gaz_role *roles_block;
    struct gaz_context *ctx_block;
    char **words_block;
};

/*
 * Load and validate the files in order. Every error is added to errors and
 * every warning to warnings (may be NULL to ignore warnings). Returns 0 when
 * there is no error: g then owns the result (free with gaz_free). Returns -1
 * otherwise: g is left empty. g must be zeroed or freed before the call.
 */
int gaz_load(struct gaz *g, const char *const *paths, size_t npaths, struct diags *errors,
             struct diags *warnings);

/* Same, from in-memory texts (names are used in messages). */
int gaz_load_buffers(struct gaz *g, const char *const *names, const char *const *texts,
                     const size_t *lens, size_t n, struct diags *errors, struct diags *warnings);

void gaz_free(struct gaz *g);

/* Index of the entry with this id, or -1. Linear: for tests and tools. */
long gaz_find(const struct gaz *g, const char *id);

/* Whether the role is held on day (days since the epoch). */
int gaz_role_active(const struct gaz_role *r, int32_t day);

/*
 * The capitals rule: an alias written entirely in capitals with 1 to 6
 * letters ("US", "DPRK", "U.S.", "NATO") is case-sensitive unless its
 * object says otherwise.
 */
int gaz_auto_case_sensitive(const char *text);

/* Parse "YYYY-MM-DD" strictly (a real calendar day). 0 and *day, or -1. */
int gaz_parse_day(const char *s, int32_t *day);

#endif
