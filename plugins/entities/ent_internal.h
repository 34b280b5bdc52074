/*
 * ent_internal - structures shared by ent.c, guess.c and cache.c. Not for
 * the plugin adapter (plugin.c uses ent.h only).
 */
#ifndef VIGIL_ENTITIES_ENT_INTERNAL_H
#define VIGIL_ENTITIES_ENT_INTERNAL_H

#include <hs/hs.h>

#include "buf.h"
#include "ent.h"
#include "fold.h"

#define ENT_JINT_N 1024 /* small integers kept as shared JSON values */

/* What one Vectorscan literal stands for. A literal may stand for several
 * things at once ("Congo" for two countries, "Georgian" as a demonym and as
 * a context word). */
enum ent_ref_kind { ENT_REF_ALIAS = 0, ENT_REF_WORD = 1, ENT_REF_TITLE = 2 };

struct ent_ref {
    uint32_t kind : 2;
    uint32_t index : 30; /* alias, context word or title index */
};

enum ent_pat_flags {
    ENT_PAT_WSTART = 1u << 0,        /* starts with a word character: needs a boundary */
    ENT_PAT_WEND = 1u << 1,          /* ends with a word character */
    ENT_PAT_DEMONYM = 1u << 2,       /* stands for a demonym (a plural "s" may follow) */
    ENT_PAT_SENS = 1u << 3,          /* case-sensitive literal */
    ENT_PAT_SENS_NONASCII = 1u << 4, /* case-sensitive with letters beyond ASCII: the
                                        scan found it case-blind, verify on the original */
    ENT_PAT_ALIAS = 1u << 5,         /* stands for at least one alias */
    ENT_PAT_WORD = 1u << 6,          /* ... a context word */
    ENT_PAT_TITLE = 1u << 7          /* ... a person title */
};

struct ent_pat {
    uint32_t len; /* bytes of the scanned form */
    uint32_t flags;
    uint32_t ref0, nref; /* range in refs */
};

/* An ambiguity rule with its words resolved to context-word indexes. */
struct ent_actx {
    const struct gaz_context *src;
    uint32_t *pos, *neg;
    size_t npos, nneg;
};

/* Person titles (guess.c). */
enum ent_title_flags {
    ENT_TITLE_PRE = 1u << 0, /* "General Valery Gerasimov" */
    ENT_TITLE_ROLE = 1u << 1 /* "Valery Gerasimov, the chief of the general staff," */
};

struct ent_title_def {
    const char *text;  /* as matched (case-blind) */
    const char *title; /* what the output says */
    unsigned flags;
};

const struct ent_title_def *ent_title_defs(size_t *n);

struct ent_matcher {
    struct gaz gaz; /* owned */
    struct ent_options opt;
    hs_database_t *db;
    struct ent_pat *pats;
    size_t npats;
    struct ent_ref *refs;
    size_t nrefs;
    struct ent_actx *actx; /* per alias; .src NULL when the alias has no context */
    uint32_t *actx_block;  /* when set (a snapshot), every pos/neg points into it */
    size_t nwords;         /* context words */
    const struct ent_title_def *titles;
    size_t ntitles;
    struct ent_fold_table fold;
    /* Shared JSON values (Jansson counts references atomically, and no
     * stage modifies a value in place): one string per type and title,
     * small integers, rounded saliences. Entry strings are made lazily per
     * worker (ent_worker.jent). */
    json_t *jtype[GAZ_NTYPES];
    json_t **jtitle;          /* per title */
    json_t *jint[ENT_JINT_N]; /* integers -1 .. ENT_JINT_N - 2 */
    json_t *jsal[1001];       /* saliences 0.000 .. 1.000 */
    json_t *jfield_title;     /* "title" */
};

/* A raw Vectorscan hit on a word boundary. */
struct ent_hit {
    uint32_t start, end; /* scanned offsets, then original ones */
    uint32_t pat;
    uint8_t field;
    uint8_t plural; /* a demonym followed by "s" (end includes it) */
    uint8_t folded; /* the field was scanned as a folded copy */
};

/* A guessed person while a document is tagged (names live in w->names,
 * which may move while it grows: offsets, not pointers). */
struct ent_gtmp {
    uint32_t name_off, name_len;
    uint32_t id_off;
    uint32_t last_off, last_len; /* last word of the name */
    const char *title;
    int title_index;
    uint32_t canon; /* the guess this one is merged into (itself if none) */
    uint32_t known; /* a known person this name stands for, or UINT32_MAX */
    uint8_t nwords;
};

/* A hit that survived the ambiguity rules, with the alias chosen. */
struct ent_cand {
    uint32_t start, end;
    uint32_t alias;
    uint8_t field;
    uint8_t strong; /* a positive context word confirmed it */
};

struct ent_worker {
    const struct ent_matcher *m;
    hs_scratch_t *scratch;
    struct ent_fold_buf fold;

    /* scan state */
    const char *scan;
    size_t scan_len;
    uint8_t field;
    int overflow;

    struct ent_hit *hits;
    size_t nhits, caphits;
    struct ent_cand *cands;
    size_t ncands, capcands;
    struct ent_mention *mentions;
    size_t nmentions, capmentions;
    uint8_t *owned; /* per byte of the field: covered by an accepted mention */
    size_t capowned;

    uint32_t (*sent)[2]; /* the document's sentences (ent_process) */
    size_t capsent;

    struct ent_gtmp *gtmp;
    size_t ngtmp, capgtmp;
    struct ent_guess *guesses; /* filled from gtmp by ent_guess_finish */
    size_t nguesses, capguesses;
    struct buf names;     /* guess names and ids, NUL-terminated each */
    struct ent_agg *aggs; /* summary work space (ent_to_json) */
    size_t capaggs;
    json_t **jguess; /* per guess: id and name strings (2 each), one
                        document at a time (ent_to_json) */
    size_t capjguess;
    json_t **jent; /* per entry: id, name, affiliation strings (3
                      each), made on first use and kept */
};

/* The text of a field of d. */
static inline const char *ent_field_text(const struct ent_doc *d, int field, size_t *len)
{
    if (field == ENT_FIELD_TITLE) {
        *len = d->title ? d->title_len : 0;
        return d->title;
    }
    *len = d->text ? d->text_len : 0;
    return d->text;
}

int ent_push_mention(struct ent_worker *w, const struct ent_mention *mn);

/* guess.c: add guessed persons for one field, after the gazetteer
 * mentions of that field were accepted (w->owned marks them). */
int ent_guess_field(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d,
                    int field, const char *text, size_t len,
                    int32_t (*sentence_of)(const struct ent_doc *, int, uint32_t));
/* guess.c: merge guesses naming the same person and tag their later
 * untitled occurrences. */
int ent_guess_finish(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d,
                     int32_t (*sentence_of)(const struct ent_doc *, int, uint32_t));
void ent_guess_reset(struct ent_worker *w);
/* 1 when the built-in word lists are sorted (binary search needs it). */
int ent_guess_lists_sorted(void);
void ent_guess_free(struct ent_worker *w);

/*
 * cache.c: snapshots of a built matcher - the gazetteer tables, the literal
 * table, the compiled database and the warnings the gazetteers gave - so a
 * start with unchanged files neither parses JSON nor compiles.
 *
 * The key covers everything a snapshot derives from: the files' names and
 * contents, the snapshot format, the Vectorscan version and CPU platform,
 * the ICU version and the folding rules (a probe string is folded and
 * hashed, so a change of rules cannot reuse old literals), and the
 * built-in title table.
 */
uint64_t ent_cache_key(const char *const *names, const char *const *texts, const size_t *lens,
                       size_t n);
/* Fill m (gaz, pats, refs, actx, nwords, db) from the snapshot for key in
 * dir and add its stored warnings to warnings (may be NULL). 0 on a hit;
 * VIGIL_ENOTFOUND when there is no file; VIGIL_EPARSE when a file is there
 * but unusable (note says why). On failure m is left as it was. */
int ent_cache_load(const char *dir, uint64_t key, struct ent_matcher *m, struct diags *warnings,
                   char *path, size_t pathlen, char *note, size_t notelen);
/* Write the snapshot of m atomically (temp file + fsync + rename), creating
 * dir. 0 or a negative status with note filled. */
int ent_cache_store(const char *dir, uint64_t key, const struct ent_matcher *m,
                    const struct diags *warnings, size_t *bytes, char *note, size_t notelen);

#endif
