/*
 * ent - the entity matcher: every alias, demonym, context word and person
 * title of the loaded gazetteers in ONE Vectorscan database, scanned once
 * per field, then word boundaries, ambiguity rules, overlap resolution,
 * person guesses and the "entities" output (docs/documents.md).
 *
 * Threads: a matcher is read-only after ent_matcher_create() and shared by
 * every worker thread; each thread owns one ent_worker (Vectorscan scratch,
 * folding and result buffers). Neither uses the plugin host.
 */
#ifndef VIGIL_ENTITIES_ENT_H
#define VIGIL_ENTITIES_ENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gaz.h"
#include "vigil/plugin.h"

/* Largest text or title tagged; longer fields are cut there (and the cut
 * is recorded in meta.errors by ent_process). */
#define ENT_FIELD_MAX ((size_t)64 << 20)
/* Raw Vectorscan hits kept per document before scanning stops. */
#define ENT_HITS_MAX ((size_t)1 << 20)
/* Largest gazetteer file read. */
#define ENT_GAZ_FILE_MAX ((size_t)64 << 20)

struct ent_options {
    const char *cache_dir; /* ent_matcher_open only; NULL or "": no cache */
    int guess_persons;     /* guess titled names the gazetteers do not know */
    int scan_title;        /* tag the title as well as the text */
    size_t max_mentions;   /* mentions written per document (0 = none) */
};

enum ent_cache_status {
    ENT_CACHE_OFF = 0,    /* no cache directory */
    ENT_CACHE_HIT = 1,    /* everything loaded from the cache */
    ENT_CACHE_MISS = 2,   /* no cache file: loaded, compiled and stored */
    ENT_CACHE_REBUILT = 3 /* a cache file was corrupt or unusable: rebuilt */
};

/* What start-up did, for logs and benchmarks. */
struct ent_stats {
    int cache;             /* enum ent_cache_status */
    char cache_note[256];  /* why a cache file was rejected or not written */
    char cache_path[4096]; /* the cache file looked for ("" when off) */
    double patterns_ms;    /* building the literal table (0 on a hit) */
    double compile_ms;     /* hs_compile_lit_multi (0 on a hit) */
    double load_ms;        /* keying, reading and decoding the cache (hit only) */
    double open_ms;        /* all of ent_matcher_open */
    size_t npatterns;      /* distinct literals in the database */
    size_t db_bytes;       /* cache file size (stored or read) */
};

struct ent_matcher;
struct ent_worker;

/*
 * What the plugin calls: read the gazetteer files, and either load the
 * whole matcher from the cache (opt->cache_dir) when a snapshot of exactly
 * these files exists, or load, validate, compile and store one. Gazetteer
 * errors go to errors (and VIGIL_EINVAL is returned), warnings to warnings
 * (replayed from the snapshot on a hit, so they show at every start).
 * warnings and stats may be NULL. A cache that cannot be read or written
 * is not an error: stats->cache_note says why.
 */
int ent_matcher_open(struct ent_matcher **out, const char *const *paths, size_t n,
                     const struct ent_options *opt, struct diags *errors, struct diags *warnings,
                     struct ent_stats *stats, struct vigil_error *err);

/*
 * Build a matcher from a gazetteer already loaded (no cache). Takes g (its
 * content moves into the matcher; *g is zeroed), also on failure. stats
 * may be NULL.
 */
int ent_matcher_create(struct ent_matcher **out, struct gaz *g, const struct ent_options *opt,
                       struct ent_stats *stats, struct vigil_error *err);
void ent_matcher_free(struct ent_matcher *m);
const struct gaz *ent_matcher_gaz(const struct ent_matcher *m);
/* The compiled database (for the benchmark's bare-scan ceiling). */
const void *ent_matcher_hs_db(const struct ent_matcher *m);

int ent_worker_create(const struct ent_matcher *m, struct ent_worker **out,
                      struct vigil_error *err);
void ent_worker_free(struct ent_worker *w);

enum ent_field { ENT_FIELD_TEXT = 0, ENT_FIELD_TITLE = 1 };

/* A document to tag. Borrowed for the call. */
struct ent_doc {
    const char *title; /* may be NULL */
    size_t title_len;
    const char *text; /* may be NULL */
    size_t text_len;
    const uint32_t (*sentences)[2]; /* [start, end) byte offsets into text */
    size_t nsentences;
    const char *lang; /* NULL or "und" = any */
    int32_t day;      /* the document's date, days since 1970-01-01 */
};

/* One tagged mention. */
struct ent_mention {
    uint32_t start, end; /* byte offsets into the field */
    int32_t sentence;    /* index into ent_doc.sentences, -1 if none */
    uint32_t entry;      /* gazetteer entry, or UINT32_MAX for a guess */
    uint32_t guess;      /* index of the guessed person when entry is UINT32_MAX */
    uint8_t field;       /* enum ent_field */
    uint8_t demonym;
};

/* A person the gazetteers do not know, guessed from a title. */
struct ent_guess {
    const char *name;  /* display name ("Oleksandr Syrskyi") */
    const char *id;    /* "guess:person:oleksandr-syrskyi" */
    const char *title; /* "General" */
    int title_index;   /* in the built-in title table */
};

/*
 * Tag one document. Results live in w until the next call: mentions sorted
 * by field (title first) then start. Returns 0, or VIGIL_ENOMEM /
 * VIGIL_ETOOBIG (too many raw hits: the results cover what was scanned).
 */
int ent_tag(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d);
const struct ent_mention *ent_mentions(const struct ent_worker *w, size_t *n);
const struct ent_guess *ent_guesses(const struct ent_worker *w, size_t *n);

/*
 * The "entities" object for the last ent_tag() of w: {"mentions": [...],
 * "summary": [...]}. At most max_mentions mentions are written; *cut (may
 * be NULL) receives how many were left out. The summary counts them all.
 * New reference, NULL on out of memory.
 */
json_t *ent_to_json(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d,
                    size_t max_mentions, size_t *cut);

/*
 * Everything the transform does to one document: read title, text,
 * sentences, lang and published; tag; set "entities"; record cut mentions
 * in meta.entities_truncated. now_ms dates documents without "published".
 * Returns 0 or a negative status with err filled (the document is then
 * unchanged except for meta.errors).
 */
int ent_process(const struct ent_matcher *m, struct ent_worker *w, json_t *doc, int64_t now_ms,
                struct vigil_error *err);

/* Salience weights (docs/gazetteers.md). */
#define ENT_SAL_SHARE 0.6  /* times weighted count / highest weighted count */
#define ENT_SAL_TITLE 0.25 /* mentioned in the title */
#define ENT_SAL_LEAD 0.15  /* mentioned in the lead */

#endif
