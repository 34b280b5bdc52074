/*
 * rules - the event rule language (docs/rules.md): loading, validation
 * and compilation of rule files and lexicons into an immutable ruleset.
 *
 * A ruleset is built once (on the loop thread) and then only read, by any
 * number of threads at once. Everything the engine needs per document is
 * precomputed here: term stems per language, a first-word lookup table,
 * one Vectorscan database holding the trigger prefilter and the regex
 * terms of every rule, lexicon cue sets and alliance blocs.
 */
#ifndef VIGIL_EVENTS_RULES_H
#define VIGIL_EVENTS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "jdiag.h"

#define RULES_MAX_LANGS 24
#define RULES_MAX_WORD 128   /* bytes of a folded word or stem */
#define RULES_MAX_WINDOW 100 /* largest "words"/"sentences" window and blocker window */

/* How a word of a term is compared with a word of text. */
enum rules_mode {
    RULES_STEM = 0,  /* Snowball stems equal (the default) */
    RULES_EXACT = 1, /* folded words equal ("stem": false) */
    RULES_CASE = 2,  /* words equal byte for byte ("case": "sensitive") */
    RULES_PREFIX = 3 /* folded text word starts with the key ("troop*") */
};

struct rules_word {
    char *key;     /* stem, folded word or prefix */
    char *surface; /* RULES_CASE: the word as written */
    uint16_t len;  /* of key */
    uint8_t mode;  /* enum rules_mode */
};

/* One written form of a term: a word sequence (a phrase when n > 1). */
struct rules_variant {
    struct rules_word *w;
    uint32_t n;
};

/* Where a lexicon cue must stand relative to the matched span. */
enum rules_pos { RULES_POS_BEFORE = 0, RULES_POS_AFTER = 1, RULES_POS_ANY = 2 };

struct rules_term {
    char *text;    /* as written: display, explain and "terms" output */
    double weight; /* 1 unless given */
    struct rules_variant *v;
    uint32_t nv;
    int regex;            /* Vectorscan pattern id of a regex term, -1 otherwise */
    uint8_t pos;          /* lexicon cues: enum rules_pos */
    uint8_t not_reported; /* lexicon cues: ignored when the trigger is reported speech */
};

/* The terms of one language. */
struct rules_list {
    int lang; /* index into ruleset.langs */
    struct rules_term *t;
    uint32_t n;
};

struct rules_termset {
    struct rules_list *lists;
    uint32_t nlists;
    int fallback;     /* list used for documents in an unlisted language, -1 = none */
    double threshold; /* > 0: weighted, the score must reach it */
    int pf;           /* prefilter group (index of its bit), -1 when not prefiltered */
};

enum rules_cond_kind {
    RULES_ALL = 0,
    RULES_ANY,
    RULES_NONE,
    RULES_TERMS,
    RULES_ENTITY,
    RULES_RELATION
};

/* Roles a mention can play for one trigger occurrence (docs/rules.md). */
enum rules_role {
    RULES_ROLE_NONE = 0, /* entity condition: any mention in scope */
    RULES_ROLE_ACTOR,    /* the speaker when the trigger is reported speech, else the agent */
    RULES_ROLE_SPEAKER,  /* who says it: attribution (said, told, according to...) */
    RULES_ROLE_AGENT,    /* who does it: subject side of the trigger, or "by X" */
    RULES_ROLE_OBJECT,   /* the other side */
    RULES_ROLE_TRIGGER,  /* proximity anchor only */
    RULES_ROLE_ANY       /* relation only: some other mention of the sentence */
};
#define RULES_NROLES 7

/* same: equal keys; different: unequal; allied: equal or sharing an alliance
 * bloc; ally: sharing a bloc but unequal; enemy: on opposite sides of a
 * conflict of the lexicons. Keys are affiliations, else ids. */
enum rules_rel {
    RULES_REL_SAME = 0,
    RULES_REL_DIFFERENT,
    RULES_REL_ALLIED,
    RULES_REL_ALLY,
    RULES_REL_ENEMY
};

struct rules_strs {
    char **v;
    uint32_t n;
};

struct rules_filter {
    struct rules_strs ids, types, affs;
    int8_t demonym; /* -1 any, 0 no, 1 yes */
    int8_t guessed;
    int8_t locative; /* the mention follows a locative ("to Russia", "in Kursk") */
};

struct rules_cond {
    uint8_t kind;   /* enum rules_cond_kind */
    uint8_t role;   /* entity: enum rules_role */
    uint8_t anchor; /* "within": {"of": ...}: RULES_ROLE_TRIGGER or a role */
    uint8_t rel;    /* relation: enum rules_rel */
    uint8_t rel_a, rel_b;
    uint8_t binding;  /* the result depends on role bindings */
    int words;        /* within N words of the anchor, -1 = not set */
    int sentences;    /* within N sentences, -1 = the rule's scope */
    uint32_t termset; /* terms */
    struct rules_filter f;
    struct rules_cond *kids; /* all/any/none */
    uint32_t nkids;
    uint32_t index; /* memo slot, unique within the rule */
    char *ptr;      /* JSON Pointer of the condition, for explain */
};

enum rules_blocker {
    RULES_BLK_NEGATION = 0,
    RULES_BLK_SPECULATION,
    RULES_BLK_QUESTION,
    RULES_BLK_REPORTED,
    RULES_BLK_N
};

struct rules_block {
    uint8_t on;
    int before, after; /* cue windows in words (negation, speculation) */
};

enum rules_severity {
    RULES_SEV_INFO = 0,
    RULES_SEV_LOW,
    RULES_SEV_MEDIUM,
    RULES_SEV_HIGH,
    RULES_SEV_CRITICAL
};

struct rules_rule {
    char *id, *type, *title, *desc;
    const char *file; /* borrowed from ruleset.files */
    char *ptr;        /* "/rules/3" */
    int severity;     /* enum rules_severity */
    double confidence;
    uint32_t trigger;        /* termset */
    struct rules_cond *when; /* NULL: the trigger alone */
    struct rules_block blk[RULES_BLK_N];
    int scope;          /* default sentence window of conditions */
    uint8_t actor_role; /* role reported as "actor" */
    uint8_t once;       /* one event of this type per document (the strongest) */
    uint8_t recipient;  /* object_is_recipient: mentions after a locative first */
    uint32_t ncond;
    unsigned roles; /* bit (1u << role) for every role a condition names */
    /* Prefilter groups that must all be present in a sentence for the rule
     * to have a chance there: the trigger and every terms condition that
     * the rule requires in the trigger's sentence. */
    uint32_t *req;
    uint32_t nreq;
};

/* Lexicon categories (files under rules/lexicons/). */
enum rules_lex {
    RULES_LEX_ATTRIBUTION = 0, /* said, told, confirmed: speaker before (or after, inverted) */
    RULES_LEX_SOURCE,          /* according to, citing: speaker after */
    RULES_LEX_NEGATION,
    RULES_LEX_SPECULATION,
    RULES_LEX_CLAUSE,   /* but, however: clause breaks for blocker scope */
    RULES_LEX_THAT,     /* complementizers: content starts after them */
    RULES_LEX_AGENT,    /* by: the agent follows */
    RULES_LEX_PASSIVE,  /* was, were, been: passive auxiliaries */
    RULES_LEX_SELF,     /* its, their, it: refer back to a mention */
    RULES_LEX_PREP,     /* in, at, near: a mention after one is rarely the agent */
    RULES_LEX_LOCATIVE, /* in, to, near: a mention after one is rarely the object */
    RULES_LEX_COORD,    /* and: coordinated names act alike ("Germany and the Netherlands") */
    RULES_LEX_N
};
extern const char *const rules_lex_names[RULES_LEX_N];
extern const char *const rules_role_names[RULES_NROLES];
extern const char *const rules_severity_names[5];
extern const char *const rules_blocker_names[RULES_BLK_N];

struct rules_bloc {
    char *name;
    struct rules_strs ids;
};

/* One side of a conflict ("conflicts" in a lexicon): sides with the same
 * conflict number are enemies. */
struct rules_side {
    uint32_t conflict;
    struct rules_strs ids;
};

/* A first-word table entry: the term variant starting with a given key. */
struct rules_entry {
    uint32_t termset, list, term, variant;
};

/* What a Vectorscan pattern id stands for. */
struct rules_pattern {
    uint8_t regex;   /* 0: prefilter prefix, 1: regex term */
    uint32_t r0, nr; /* regex terms it is (ruleset.rxrefs): one regex may serve several */
    uint32_t g0, ng; /* prefilter groups it signals (ruleset.groups) */
    uint32_t width;  /* bytes every match spans, 0 = varies (start reported) */
};

struct rules_key; /* first-word table slot (rules.c) */
struct hs_database;

struct ruleset {
    struct rules_rule *rules;
    uint32_t nrules;
    struct rules_termset *sets;
    uint32_t nsets;
    int lex[RULES_LEX_N]; /* termset of each lexicon category, -1 when none */

    char langs[RULES_MAX_LANGS][8];    /* ISO 639-1 codes in use */
    const char *algo[RULES_MAX_LANGS]; /* Snowball algorithm or NULL */
    uint32_t nlangs;

    struct rules_key *keys; /* open addressing, cap a power of two */
    uint32_t keycap;
    struct rules_entry *entries;
    uint32_t nentries;
    struct rules_entry *prefixed; /* variants whose first word is a prefix */
    uint32_t nprefixed;

    struct hs_database *db; /* NULL when there is no pattern at all */
    struct rules_pattern *pats;
    uint32_t npats;
    uint32_t *groups;           /* prefilter group lists of the patterns */
    uint32_t ngroups;           /* prefiltered termsets (bits per sentence) */
    struct rules_entry *rxrefs; /* regex terms of the patterns (variant unused) */
    char **pat_src;             /* Vectorscan source of each pattern, for diagnostics */

    struct rules_bloc *blocs;
    uint32_t nblocs;
    struct rules_side *sides;
    uint32_t nsides, nconflicts;

    char **files;
    uint32_t nfiles;
};

/*
 * Load, validate and compile rule files. Every problem in every file is
 * added to d as FILE:LINE:COL: /pointer: message; the result is NULL when
 * there was any. The caller frees the result with rules_free().
 */
struct ruleset *rules_load(const char *const *paths, size_t npaths, struct diags *d);
/* Same from rule files already in memory: texts[i] (lens[i] bytes,
 * borrowed) is the content of the file named names[i], the name used in
 * messages and the base relative lexicon paths are resolved against. */
struct ruleset *rules_load_buffers(const char *const *names, const char *const *texts,
                                   const size_t *lens, size_t n, struct diags *d);
void rules_free(struct ruleset *rs);

/* Index of a language code in rs->langs, or -1. */
int rules_lang(const struct ruleset *rs, const char *code);

/* List of a termset used for documents in language lang (-1 = unknown):
 * the list of that language, else the fallback; -1 when none applies. */
int rules_active_list(const struct rules_termset *ts, int lang);

/* Entries whose first word has this key (a stem for RULES_STEM words, the
 * folded word for RULES_EXACT and RULES_CASE words) in language lang. */
const struct rules_entry *rules_lookup(const struct ruleset *rs, int lang, int folded,
                                       const char *key, size_t len, uint32_t *n);

/* Whether the list holds key. */
int rules_strs_has(const struct rules_strs *s, const char *key);

/* Whether two affiliation keys are the same or share an alliance bloc. */
int rules_allied(const struct ruleset *rs, const char *a, const char *b);

/* Whether two affiliation keys stand on opposite sides of one conflict. */
int rules_enemies(const struct ruleset *rs, const char *a, const char *b);

#endif
