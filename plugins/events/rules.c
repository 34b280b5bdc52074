#include "rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hs/hs.h>

#include "hash.h"
#include "stem.h"
#include "tok.h"

const char *const rules_lex_names[RULES_LEX_N] = {
    "attribution",     "attribution_source", "negation",      "speculation",
    "clause_breaks",   "complementizers",    "agent_markers", "passive_auxiliaries",
    "self_references", "prepositions",       "locatives",     "coordinators"};
const char *const rules_role_names[RULES_NROLES] = {"",       "actor",   "speaker", "agent",
                                                    "object", "trigger", "any"};
const char *const rules_severity_names[5] = {"info", "low", "medium", "high", "critical"};
const char *const rules_blocker_names[RULES_BLK_N] = {"negation", "speculation", "question",
                                                      "reported"};

#define MAX_TERM_WORDS 8
#define MAX_PTR 1024
#define DEFAULT_BEFORE 5
#define DEFAULT_AFTER 3

struct rules_key {
    char *key; /* NULL = empty slot */
    uint16_t len;
    uint8_t lang;
    uint8_t folded;
    uint32_t first, count; /* range in ruleset.entries */
};

/* A first-word table entry before the table is built. */
struct tmp_entry {
    char *key;
    uint16_t len;
    uint8_t lang, folded;
    struct rules_entry e;
};

struct build {
    struct ruleset *rs;
    struct diags *d;
    size_t errs0;

    /* The file being read. */
    struct jdoc *doc;
    const char *file;
    int deflang;
    json_t *vocab;
    char ptr[MAX_PTR];
    int in_lexicon; /* term items may carry "position" */
    int validating; /* vocabularies: check the terms, match nothing */

    struct sb_stemmer *st[RULES_MAX_LANGS];
    uint8_t st_tried[RULES_MAX_LANGS];

    size_t cap_sets, cap_rules, cap_blocs, cap_sides, cap_prefixed, cap_pats;
    struct tmp_entry *tmp;
    size_t ntmp, cap_tmp;
    char **pat_src;
    unsigned *pat_flags;
    uint32_t (*pairs)[2]; /* (pattern, termset) links, grouped at the end */
    size_t npairs, cap_pairs;
    struct rx_link {
        uint32_t pat;
        struct rules_entry e;
    } * rxl; /* (pattern, regex term) links */
    size_t nrxl, cap_rxl;
    char **lex_paths;
    size_t nlex_paths;
    int oom;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Grow *v (elements of size) so index n fits; zeroes new room. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc <= n)
        nc *= 2;
    void *p = realloc(*v, nc * size);
    if (!p)
        return -1;
    memset((char *)p + *cap * size, 0, (nc - *cap) * size);
    *v = p;
    *cap = nc;
    return 0;
}

static void err(struct build *b, enum jsonpos_what what, const char *fmt, ...) JDIAG_PRINTF(3, 4);
static void err(struct build *b, enum jsonpos_what what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_addv(b->d, b->doc, b->ptr, what, fmt, ap);
    va_end(ap);
}

static size_t push(struct build *b, const char *key)
{
    return jptr_push(b->ptr, sizeof b->ptr, key);
}

static size_t push_i(struct build *b, size_t i)
{
    return jptr_push_index(b->ptr, sizeof b->ptr, i);
}

static void pop(struct build *b, size_t old)
{
    b->ptr[old] = '\0';
}

static void oom(struct build *b)
{
    if (!b->oom)
        err(b, JSONPOS_VALUE, "out of memory");
    b->oom = 1;
}

static int nerrors(const struct build *b)
{
    return diags_count(b->d) > b->errs0;
}

static void found(const json_t *v, char *buf, size_t len)
{
    char repr[64];
    if (json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v)) {
        jdiag_value_repr(v, repr, sizeof repr);
        snprintf(buf, len, "%s %s", jdiag_type_name(v), repr);
    } else {
        snprintf(buf, len, "%s", jdiag_type_name(v));
    }
}

/* Report "expected X, found Y" at the current pointer. */
static void expected(struct build *b, const char *what, const json_t *v)
{
    char f[96];
    found(v, f, sizeof f);
    err(b, JSONPOS_VALUE, "expected %s, found %s", what, f);
}

static void list_join(const char *const *names, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
}

static int in_list(const char *s, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0)
            return 1;
    return 0;
}

/* Refuse keys not in allowed (reported at the key). */
static void check_keys(struct build *b, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (in_list(key, allowed))
            continue;
        char all[512];
        list_join(allowed, all, sizeof all);
        size_t o = push(b, key);
        err(b, JSONPOS_KEY, "unknown key \"%s\"; allowed keys: %s", key, all);
        pop(b, o);
    }
}

static void missing(struct build *b, const char *key, const char *what)
{
    err(b, JSONPOS_VALUE, "missing required key \"%s\": expected %s", key, what);
}

/* Optional string member; 1 when present and valid, 0 absent, -1 wrong. */
static int get_str(struct build *b, json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        size_t o = push(b, key);
        expected(b, "a string", v);
        pop(b, o);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

static int get_num(struct build *b, json_t *obj, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    size_t o = push(b, key);
    int rc = 1;
    if (!json_is_number(v)) {
        expected(b, "a number", v);
        rc = -1;
    } else if (json_number_value(v) < lo || json_number_value(v) > hi) {
        char what[96];
        snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
        expected(b, what, v);
        rc = -1;
    } else {
        *out = json_number_value(v);
    }
    pop(b, o);
    return rc;
}

static int get_int(struct build *b, json_t *obj, const char *key, long lo, long hi, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    size_t o = push(b, key);
    int rc = 1;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char what[96];
        snprintf(what, sizeof what, "an integer from %ld to %ld", lo, hi);
        expected(b, what, v);
        rc = -1;
    } else {
        *out = (int)json_integer_value(v);
    }
    pop(b, o);
    return rc;
}

static int get_bool(struct build *b, json_t *obj, const char *key, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        size_t o = push(b, key);
        expected(b, "true or false", v);
        pop(b, o);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

/* A string or an array of strings, copied into out. */
static void get_strs(struct build *b, json_t *obj, const char *key, struct rules_strs *out,
                     const char *const *choices)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return;
    size_t o = push(b, key);
    if (json_is_string(v)) {
        out->v = calloc(1, sizeof *out->v);
        if (!out->v || !(out->v[0] = xstrdup(json_string_value(v))))
            oom(b);
        else
            out->n = 1;
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        out->v = calloc(json_array_size(v), sizeof *out->v);
        if (!out->v)
            oom(b);
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s)
        {
            if (!json_is_string(s)) {
                size_t o2 = push_i(b, i);
                expected(b, "a string", s);
                pop(b, o2);
                continue;
            }
            if (out->v && !(out->v[out->n++] = xstrdup(json_string_value(s))))
                oom(b);
        }
    } else {
        expected(b, "a string or a non-empty array of strings", v);
    }
    if (choices) {
        for (uint32_t i = 0; i < out->n; i++) {
            if (out->v[i] && !in_list(out->v[i], choices)) {
                char all[256];
                list_join(choices, all, sizeof all);
                size_t o2 = json_is_array(v) ? push_i(b, i) : strlen(b->ptr);
                err(b, JSONPOS_VALUE, "expected one of %s, found \"%s\"", all, out->v[i]);
                pop(b, o2);
            }
        }
    }
    pop(b, o);
}

static void free_strs(struct rules_strs *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int valid_lang_code(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 3)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return 0;
    return 1;
}

static int lang_id(struct build *b, const char *code)
{
    struct ruleset *rs = b->rs;
    for (uint32_t i = 0; i < rs->nlangs; i++)
        if (strcmp(rs->langs[i], code) == 0)
            return (int)i;
    if (rs->nlangs >= RULES_MAX_LANGS) {
        err(b, JSONPOS_VALUE, "too many languages: at most %d per events stage", RULES_MAX_LANGS);
        return -1;
    }
    snprintf(rs->langs[rs->nlangs], sizeof rs->langs[0], "%s", code);
    rs->algo[rs->nlangs] = stem_algorithm(code);
    return (int)rs->nlangs++;
}

static struct sb_stemmer *stemmer(struct build *b, int lang)
{
    if (!b->st_tried[lang]) {
        b->st_tried[lang] = 1;
        b->st[lang] = stem_new(b->rs->algo[lang]);
    }
    return b->st[lang];
}

/* ------------------------------------------------------------------ */
/* Terms                                                               */

/* Vectorscan source for a prefix that must match at a word start: ASCII
 * letters and digits as they are (the pattern is caseless), other ASCII
 * escaped, other code points as an alternation of their case variants. */
static char *prefix_pattern(const char *key, size_t len)
{
    size_t cap = len * 40 + 8, o = 0, i = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    while (i < len) {
        unsigned char ch = (unsigned char)key[i];
        if (ch < 0x80) {
            if (isalnum(ch))
                out[o++] = (char)ch;
            else
                o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
            i++;
            continue;
        }
        uint32_t c = tok_decode(key, len, &i);
        uint32_t var[3];
        int nv = 0;
        for (int w = 0; w < 3; w++) {
            uint32_t v = tok_case_variant(c, w);
            int dup = 0;
            for (int k = 0; k < nv; k++)
                dup |= var[k] == v;
            if (!dup)
                var[nv++] = v;
        }
        o += (size_t)snprintf(out + o, cap - o, "(?:");
        for (int k = 0; k < nv; k++) {
            char enc[4];
            size_t n = tok_encode(var[k], enc);
            if (k)
                out[o++] = '|';
            for (size_t e = 0; e < n; e++)
                o += (size_t)snprintf(out + o, cap - o, "\\x%02x", (unsigned char)enc[e]);
        }
        out[o++] = ')';
    }
    out[o] = '\0';
    return out;
}

static void link_pattern(struct build *b, uint32_t pat, uint32_t set)
{
    if (b->rs->sets[set].pf < 0)
        return;
    for (size_t i = 0; i < b->npairs; i++)
        if (b->pairs[i][0] == pat && b->pairs[i][1] == set)
            return;
    if (grow((void **)&b->pairs, &b->cap_pairs, b->npairs, sizeof *b->pairs)) {
        oom(b);
        return;
    }
    b->pairs[b->npairs][0] = pat;
    b->pairs[b->npairs][1] = set;
    b->npairs++;
}

static void link_regex(struct build *b, uint32_t pat, const struct rules_entry *e)
{
    if (grow((void **)&b->rxl, &b->cap_rxl, b->nrxl, sizeof *b->rxl)) {
        oom(b);
        return;
    }
    b->rxl[b->nrxl].pat = pat;
    b->rxl[b->nrxl].e = *e;
    b->nrxl++;
}

/* Add a pattern, or reuse an equal one: a prefix or a regex used by several
 * rules is scanned for once. termset is the prefiltered group it signals;
 * rx the regex term it stands for (NULL for prefixes). */
static int add_pattern(struct build *b, char *src, unsigned flags, const struct rules_pattern *p,
                       uint32_t termset, const struct rules_entry *rx)
{
    struct ruleset *rs = b->rs;
    for (uint32_t i = 0; i < rs->npats; i++) {
        if (rs->pats[i].regex == p->regex && b->pat_flags[i] == flags &&
            strcmp(b->pat_src[i], src) == 0) {
            free(src);
            link_pattern(b, i, termset);
            if (rx)
                link_regex(b, i, rx);
            return (int)i;
        }
    }
    size_t cap = b->cap_pats, cap2 = b->cap_pats, cap3 = b->cap_pats;
    if (grow((void **)&rs->pats, &cap, rs->npats, sizeof *rs->pats) ||
        grow((void **)&b->pat_src, &cap2, rs->npats, sizeof *b->pat_src) ||
        grow((void **)&b->pat_flags, &cap3, rs->npats, sizeof *b->pat_flags)) {
        free(src);
        oom(b);
        return -1;
    }
    b->cap_pats = cap;
    rs->pats[rs->npats] = *p;
    b->pat_src[rs->npats] = src;
    b->pat_flags[rs->npats] = flags;
    link_pattern(b, rs->npats, termset);
    if (rx)
        link_regex(b, rs->npats, rx);
    return (int)rs->npats++;
}

/* Length in bytes of the first n code points of s. */
static size_t cp_prefix(const char *s, size_t len, size_t n)
{
    size_t i = 0;
    while (i < len && n > 0) {
        tok_decode(s, len, &i);
        n--;
    }
    return i;
}

/*
 * Prefilter literals for one word: strings every inflected form of the
 * word starts with. An English Snowball stem is such a prefix except where
 * Porter2 rewrites an ending, which is covered by a second literal: "deni"
 * (denies, denied) and "deny" (denying); "side" and "siding"; "possibl" and
 * "possibil". Other languages fold letters away (German umlauts), so their
 * literal is the stem's common prefix with the word as written, at least
 * three code points. Exact words ("stem": false, case-sensitive) must also
 * end there (a word boundary follows). The few English words Porter2 treats
 * as exceptions (dying, lying, skies) need explicit forms.
 */
struct pf_lits {
    char s[2][RULES_MAX_WORD + 4];
    size_t len[2];
    int n;
    int whole; /* the literal is the entire word */
};

static void pf_set(struct pf_lits *l, int i, const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen + blen >= sizeof l->s[0])
        alen = blen = 0;
    memcpy(l->s[i], a, alen);
    memcpy(l->s[i] + alen, b, blen);
    l->len[i] = alen + blen;
    l->s[i][l->len[i]] = '\0';
}

static void prefilter_literals(const struct rules_word *w, const char *folded, size_t flen,
                               int english, struct pf_lits *l)
{
    const char *key = w->key;
    size_t len = w->len;
    l->n = 1;
    l->whole = 0;
    if (w->mode == RULES_CASE || w->mode == RULES_EXACT) {
        const char *x = w->mode == RULES_CASE ? w->surface : folded;
        pf_set(l, 0, x, strlen(x), "", 0);
        l->whole = 1;
        return;
    }
    if (w->mode == RULES_PREFIX) {
        pf_set(l, 0, key, len, "", 0);
        return;
    }
    if (english) {
        if (len > 2 && key[len - 1] == 'i') {
            pf_set(l, 0, key, len, "", 0);
            pf_set(l, 1, key, len - 1, "y", 1);
            l->n = 2;
        } else if (len > 2 && key[len - 1] == 'e') {
            pf_set(l, 0, key, len, "", 0);
            pf_set(l, 1, key, len - 1, "ing", 3);
            l->n = 2;
        } else if (len > 3 && key[len - 1] == 'l' && key[len - 2] == 'b') {
            pf_set(l, 0, key, len, "", 0);
            pf_set(l, 1, key, len - 1, "il", 2);
            l->n = 2;
        } else {
            pf_set(l, 0, key, len, "", 0);
        }
        return;
    }
    size_t c = 0;
    while (c < len && c < flen && key[c] == folded[c])
        c++;
    while (c > 0 && c < flen && ((unsigned char)folded[c] & 0xC0) == 0x80)
        c--; /* never cut inside a UTF-8 sequence */
    size_t min = cp_prefix(folded, flen, 3);
    pf_set(l, 0, folded, c < min ? min : c, "", 0);
}

/* Whether a word is a function word of the lexicons (preposition, article-
 * like complementizer, auxiliary, clause break): a poor prefilter literal. */
static int function_word(const struct build *b, const struct rules_word *w, int lang)
{
    static const int cats[] = {RULES_LEX_PREP, RULES_LEX_LOCATIVE, RULES_LEX_PASSIVE,
                               RULES_LEX_THAT, RULES_LEX_AGENT,    RULES_LEX_CLAUSE,
                               RULES_LEX_COORD};
    for (size_t i = 0; i < b->ntmp; i++) {
        const struct tmp_entry *t = &b->tmp[i];
        if (t->lang != lang || t->len != w->len || memcmp(t->key, w->key, w->len) != 0 ||
            t->folded != (w->mode != RULES_STEM))
            continue;
        for (size_t k = 0; k < sizeof cats / sizeof cats[0]; k++)
            if (b->rs->lex[cats[k]] == (int)t->e.termset)
                return 1;
    }
    return 0;
}

/* Bytes every case variant of s spans, or 0 when variants differ in length
 * (then the match start must be asked of Vectorscan, which costs more). */
static uint32_t fixed_width(const char *s, size_t len)
{
    size_t i = 0, w = 0;
    while (i < len) {
        size_t at = i;
        uint32_t c = tok_decode(s, len, &i);
        char enc[4];
        for (int k = 0; k < 3; k++)
            if (tok_encode(tok_case_variant(c, k), enc) != i - at)
                return 0;
        w += i - at;
    }
    return (uint32_t)w;
}

static void add_prefilter(struct build *b, const struct pf_lits *l, uint32_t set)
{
    for (int i = 0; i < l->n; i++) {
        struct rules_pattern p = {0};
        p.width = fixed_width(l->s[i], l->len[i]);
        char *src = prefix_pattern(l->s[i], l->len[i]);
        if (!src) {
            oom(b);
            return;
        }
        unsigned char last = l->len[i] ? (unsigned char)l->s[i][l->len[i] - 1] : 0;
        if (l->whole && last < 0x80 && isalnum(last)) {
            /* An exact word ends here: "no" must not scan for "north". */
            size_t n = strlen(src);
            char *t = realloc(src, n + 3);
            if (!t) {
                free(src);
                oom(b);
                return;
            }
            memcpy(t + n, "\\b", 3);
            src = t;
        }
        add_pattern(b, src, HS_FLAG_CASELESS | (p.width ? 0 : HS_FLAG_SOM_LEFTMOST), &p, set, NULL);
    }
}

static void add_entry(struct build *b, const struct rules_word *w, int lang,
                      const struct rules_entry *e)
{
    struct ruleset *rs = b->rs;
    if (b->validating)
        return;
    if (w->mode == RULES_PREFIX) {
        if (grow((void **)&rs->prefixed, &b->cap_prefixed, rs->nprefixed, sizeof *rs->prefixed)) {
            oom(b);
            return;
        }
        rs->prefixed[rs->nprefixed++] = *e;
        return;
    }
    if (grow((void **)&b->tmp, &b->cap_tmp, b->ntmp, sizeof *b->tmp)) {
        oom(b);
        return;
    }
    struct tmp_entry *t = &b->tmp[b->ntmp];
    t->key = xstrndup(w->key, w->len);
    if (!t->key) {
        oom(b);
        return;
    }
    t->len = w->len;
    t->lang = (uint8_t)lang;
    t->folded = w->mode != RULES_STEM;
    t->e = *e;
    b->ntmp++;
}

static void free_variant(struct rules_variant *v)
{
    for (uint32_t w = 0; w < v->n; w++) {
        free(v->w[w].key);
        free(v->w[w].surface);
    }
    free(v->w);
    v->w = NULL;
    v->n = 0;
}

static void free_term(struct rules_term *t)
{
    for (uint32_t k = 0; k < t->nv; k++)
        free_variant(&t->v[k]);
    free(t->v);
    free(t->text);
    memset(t, 0, sizeof *t);
}

static int compile_words(struct build *b, const char *text, const struct tok_word *words, size_t n,
                         int prefix, int lang, int mode, struct rules_variant *v,
                         struct pf_lits *pf);

/* Compile one written form into v. mode is RULES_STEM, RULES_EXACT or
 * RULES_CASE; a trailing "*" makes the last word a prefix. On failure v is
 * left empty. */
static int compile_variant(struct build *b, const char *text, int lang, int mode,
                           struct rules_variant *v, struct pf_lits *pf)
{
    size_t tlen = strlen(text);
    int prefix = 0;
    while (tlen > 0 && (text[tlen - 1] == ' '))
        tlen--;
    if (tlen > 0 && text[tlen - 1] == '*') {
        prefix = 1;
        tlen--;
    }
    struct tok_word words[MAX_TERM_WORDS + 1];
    size_t n = tok_words(text, 0, tlen, words, MAX_TERM_WORDS + 1, NULL);
    if (n == 0) {
        err(b, JSONPOS_VALUE, "expected a term with at least one letter or digit, found \"%s\"",
            text);
        return -1;
    }
    if (n > MAX_TERM_WORDS) {
        err(b, JSONPOS_VALUE, "expected a term of at most %d words, found %zu words in \"%s\"",
            MAX_TERM_WORDS, n, text);
        return -1;
    }
    if (prefix && words[n - 1].end != tlen) {
        err(b, JSONPOS_VALUE, "expected \"*\" right after a word (\"troop*\"), found \"%s\"", text);
        return -1;
    }
    v->w = calloc(n, sizeof *v->w);
    if (!v->w) {
        oom(b);
        return -1;
    }
    v->n = (uint32_t)n;
    if (compile_words(b, text, words, n, prefix, lang, mode, v, pf) != 0) {
        free_variant(v);
        return -1;
    }
    if (pf && n > 1 && pf->len[0] < 3) {
        /* Only tiny words ("F-16", "S-400"): scan for the phrase as written,
         * folded, punctuation included. */
        size_t fl = tok_fold(text + words[0].start, words[n - 1].end - words[0].start, pf->s[0],
                             RULES_MAX_WORD);
        if (fl != (size_t)-1) {
            pf->len[0] = fl;
            pf->n = 1;
            pf->whole = 0;
        }
    }
    return 0;
}

static int compile_words(struct build *b, const char *text, const struct tok_word *words, size_t n,
                         int prefix, int lang, int mode, struct rules_variant *v,
                         struct pf_lits *pf)
{
    int best = -1000;
    for (size_t i = 0; i < n; i++) {
        struct rules_word *w = &v->w[i];
        char folded[RULES_MAX_WORD], stemmed[RULES_MAX_WORD];
        size_t wl = words[i].end - words[i].start;
        size_t fl = tok_fold(text + words[i].start, wl, folded, sizeof folded);
        /* The limit the message names is the one enforced: the buffer has
         * a few bytes more, which must not make 121 to 127 pass. */
        if (fl == (size_t)-1 || fl > RULES_MAX_WORD - 8) {
            err(b, JSONPOS_VALUE,
                "expected words of at most %d bytes, found a longer one in \"%s\"",
                RULES_MAX_WORD - 8, text);
            return -1;
        }

        w->mode = (uint8_t)(prefix && i == n - 1 ? RULES_PREFIX : mode);
        const char *key = folded;
        size_t kl = fl;
        if (w->mode == RULES_STEM) {
            kl = stem_word(stemmer(b, lang), folded, fl, stemmed, sizeof stemmed);
            if (kl == (size_t)-1) {
                oom(b);
                return -1;
            }
            key = stemmed;
        }
        w->key = xstrndup(key, kl);
        w->len = (uint16_t)kl;
        if (w->mode == RULES_CASE)
            w->surface = xstrndup(text + words[i].start, wl);
        if (!w->key || (w->mode == RULES_CASE && !w->surface)) {
            oom(b);
            return -1;
        }
        /* The prefilter uses one word of a phrase, the longest literal
         * that is not a function word: any word marks its sentence, and
         * "a lie" should not scan for "a", nor "come into force" for "into". */
        if (pf) {
            struct pf_lits l;
            const char *algo = b->rs->algo[lang];
            prefilter_literals(w, folded, fl, algo && !strcmp(algo, "english"), &l);
            int score = (int)(l.n == 2 && l.len[1] < l.len[0] ? l.len[1] : l.len[0]);
            if (function_word(b, w, lang))
                score -= 100;
            if (score > best) {
                best = score;
                *pf = l;
            }
        }
    }
    return 0;
}

static const char *const term_keys[] = {"text",  "weight", "stem", "case",
                                        "forms", "regex",  "note", NULL};
static const char *const lex_term_keys[] = {
    "text", "weight", "stem", "case", "forms", "regex", "note", "position", "in_reported_speech",
    NULL};
static const char *const positions[] = {"before", "after", "any", NULL};

/* Compile one term item (string or object) into t. */
static int compile_term(struct build *b, json_t *item, int lang, uint32_t set, uint32_t list,
                        uint32_t ti, struct rules_term *t, int *weighted)
{
    struct rules_termset *ts = &b->rs->sets[set];
    const char *text = NULL, *regex = NULL, *cs = NULL, *pos = NULL;
    int stem = 1, mode;
    json_t *forms = NULL;
    t->weight = 1;
    t->regex = -1;
    if (json_is_string(item)) {
        text = json_string_value(item);
    } else if (json_is_object(item)) {
        check_keys(b, item, b->in_lexicon ? lex_term_keys : term_keys);
        get_str(b, item, "text", &text);
        get_str(b, item, "regex", &regex);
        if (get_num(b, item, "weight", 0.001, 1000, &t->weight) == 1)
            *weighted = 1;
        get_bool(b, item, "stem", &stem);
        if (get_str(b, item, "case", &cs) == 1 && strcmp(cs, "sensitive") != 0 &&
            strcmp(cs, "insensitive") != 0) {
            size_t o = push(b, "case");
            expected(b, "\"sensitive\" or \"insensitive\"", json_object_get(item, "case"));
            pop(b, o);
        }
        if (get_str(b, item, "position", &pos) == 1 && !in_list(pos, positions)) {
            size_t o = push(b, "position");
            expected(b, "one of before, after, any", json_object_get(item, "position"));
            pop(b, o);
            pos = NULL;
        }
        int reported = 1;
        if (get_bool(b, item, "in_reported_speech", &reported) == 1)
            t->not_reported = (uint8_t)!reported;
        forms = json_object_get(item, "forms");
        if (forms && (!json_is_array(forms) || json_array_size(forms) == 0)) {
            size_t o = push(b, "forms");
            expected(b, "a non-empty array of strings", forms);
            pop(b, o);
            forms = NULL;
        }
        if (!text && !regex) {
            err(b, JSONPOS_VALUE, "expected \"text\" or \"regex\" in a term object, found neither");
            return -1;
        }
        if (text && regex) {
            err(b, JSONPOS_VALUE, "expected either \"text\" or \"regex\", found both");
            return -1;
        }
        if (regex && forms) {
            err(b, JSONPOS_VALUE, "expected \"forms\" only with \"text\", found it with \"regex\"");
            return -1;
        }
    } else {
        expected(b, "a term (a string or an object with \"text\" or \"regex\")", item);
        return -1;
    }
    if (pos)
        t->pos = (uint8_t)(strcmp(pos, "after") == 0 ? RULES_POS_AFTER
                           : strcmp(pos, "any") == 0 ? RULES_POS_ANY
                                                     : RULES_POS_BEFORE);
    if (regex) {
        hs_database_t *db = NULL;
        hs_compile_error_t *ce = NULL;
        size_t o = json_is_object(item) ? push(b, "regex") : strlen(b->ptr);
        if (hs_compile(regex, HS_FLAG_CASELESS | HS_FLAG_SOM_LEFTMOST, HS_MODE_BLOCK, NULL, &db,
                       &ce) != HS_SUCCESS) {
            err(b, JSONPOS_VALUE, "expected a valid regex, found \"%s\": %s", regex,
                ce && ce->message ? ce->message : "compile error");
            hs_free_compile_error(ce);
            pop(b, o);
            return -1;
        }
        hs_free_database(db);
        pop(b, o);
        t->text = xstrdup(regex);
        char *src = xstrdup(regex);
        struct rules_pattern p = {.regex = 1};
        struct rules_entry e = {set, list, ti, 0};
        if (!t->text || !src) {
            free(src);
            oom(b);
            return -1;
        }
        if (b->validating) {
            free(src);
            return 0;
        }
        t->regex = add_pattern(b, src, HS_FLAG_CASELESS | HS_FLAG_SOM_LEFTMOST, &p, set, &e);
        return 0;
    }
    mode = !stem ? RULES_EXACT : RULES_STEM;
    if (cs && strcmp(cs, "sensitive") == 0)
        mode = RULES_CASE;
    size_t nforms = forms ? json_array_size(forms) : 0;
    t->text = xstrdup(text);
    t->v = calloc(1 + nforms, sizeof *t->v);
    if (!t->text || !t->v) {
        oom(b);
        return -1;
    }
    for (size_t k = 0; k <= nforms; k++) {
        const char *form = text;
        size_t o = strlen(b->ptr);
        if (k == 0 && json_is_object(item)) {
            o = push(b, "text");
        } else if (k > 0) {
            json_t *f = json_array_get(forms, k - 1);
            o = push(b, "forms");
            push_i(b, k - 1);
            if (!json_is_string(f)) {
                expected(b, "a string", f);
                pop(b, o);
                continue;
            }
            form = json_string_value(f);
        }
        struct pf_lits pf;
        memset(&pf, 0, sizeof pf);
        struct rules_variant *v = &t->v[t->nv];
        if (compile_variant(b, form, lang, mode, v, &pf) == 0) {
            struct rules_entry e = {set, list, ti, t->nv};
            add_entry(b, &v->w[0], lang, &e);
            if (ts->pf >= 0)
                add_prefilter(b, &pf, set);
            t->nv++;
        }
        pop(b, o);
    }
    return t->nv > 0 ? 0 : -1;
}

static struct rules_list *list_for(struct build *b, struct rules_termset *ts, int lang)
{
    for (uint32_t i = 0; i < ts->nlists; i++)
        if (ts->lists[i].lang == lang)
            return &ts->lists[i];
    struct rules_list *nl = realloc(ts->lists, (ts->nlists + 1) * sizeof *nl);
    if (!nl) {
        oom(b);
        return NULL;
    }
    ts->lists = nl;
    memset(&nl[ts->nlists], 0, sizeof *nl);
    nl[ts->nlists].lang = lang;
    return &nl[ts->nlists++];
}

static int compile_list(struct build *b, json_t *arr, int lang, uint32_t set, int *weighted,
                        int depth);

/* Expand "@name" inside a list: the vocabulary's list of the same language. */
static int expand_ref(struct build *b, const char *name, int lang, uint32_t set, int *weighted,
                      int depth)
{
    json_t *v = b->vocab ? json_object_get(b->vocab, name) : NULL;
    if (!v) {
        err(b, JSONPOS_VALUE, "expected a vocabulary name defined under \"vocab\", found \"@%s\"",
            name);
        return -1;
    }
    if (depth > 4) {
        err(b, JSONPOS_VALUE, "expected vocabulary references at most 4 deep, found \"@%s\"", name);
        return -1;
    }
    json_t *arr = v;
    if (json_is_object(v)) {
        arr = json_object_get(v, b->rs->langs[lang]);
        if (!arr) {
            err(b, JSONPOS_VALUE, "expected vocabulary \"%s\" to have a \"%s\" list, found none",
                name, b->rs->langs[lang]);
            return -1;
        }
    } else if (lang != b->deflang) {
        err(b, JSONPOS_VALUE,
            "expected vocabulary \"%s\" to have a \"%s\" list, found only a default-language list",
            name, b->rs->langs[lang]);
        return -1;
    }
    if (!json_is_array(arr))
        return -1; /* reported where the vocabulary is defined */
    /* Errors inside the vocabulary are reported at its definition. */
    char saved[MAX_PTR];
    memcpy(saved, b->ptr, sizeof saved);
    snprintf(b->ptr, sizeof b->ptr, "/vocab");
    push(b, name);
    if (json_is_object(v))
        push(b, b->rs->langs[lang]);
    int rc = compile_list(b, arr, lang, set, weighted, depth + 1);
    memcpy(b->ptr, saved, sizeof saved);
    return rc;
}

static int compile_list(struct build *b, json_t *arr, int lang, uint32_t set, int *weighted,
                        int depth)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        expected(b, "a non-empty array of terms", arr);
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        size_t o = push_i(b, i);
        const char *s = json_string_value(item);
        if (s && s[0] == '@') {
            expand_ref(b, s + 1, lang, set, weighted, depth);
            pop(b, o);
            continue;
        }
        struct rules_termset *ts = &b->rs->sets[set];
        struct rules_list *l = list_for(b, ts, lang);
        if (!l) {
            pop(b, o);
            return -1;
        }
        uint32_t li = (uint32_t)(l - ts->lists);
        struct rules_term *nt = realloc(l->t, (l->n + 1) * sizeof *nt);
        if (!nt) {
            oom(b);
            pop(b, o);
            return -1;
        }
        l->t = nt;
        memset(&nt[l->n], 0, sizeof *nt);
        if (compile_term(b, item, lang, set, li, l->n, &nt[l->n], weighted) == 0)
            l->n++;
        else
            free_term(&nt[l->n]);
        pop(b, o);
    }
    return 0;
}

static int new_termset(struct build *b, int prefiltered)
{
    struct ruleset *rs = b->rs;
    if (grow((void **)&rs->sets, &b->cap_sets, rs->nsets, sizeof *rs->sets)) {
        oom(b);
        return -1;
    }
    struct rules_termset *ts = &rs->sets[rs->nsets];
    memset(ts, 0, sizeof *ts);
    ts->fallback = -1;
    ts->pf = prefiltered ? (int)rs->ngroups++ : -1;
    return (int)rs->nsets++;
}

/* A terms value into termset set: "@vocab", [terms] (default language) or
 * {"en": [terms], "de": [terms]}. */
static void compile_terms_into(struct build *b, json_t *v, uint32_t set, int *weighted, int depth)
{
    if (json_is_string(v) && json_string_value(v)[0] == '@') {
        const char *name = json_string_value(v) + 1;
        json_t *voc = b->vocab ? json_object_get(b->vocab, name) : NULL;
        if (!voc) {
            err(b, JSONPOS_VALUE,
                "expected a vocabulary name defined under \"vocab\", found \"@%s\"", name);
            return;
        }
        if (depth > 4) {
            err(b, JSONPOS_VALUE, "expected vocabulary references at most 4 deep, found \"@%s\"",
                name);
            return;
        }
        char saved[MAX_PTR];
        memcpy(saved, b->ptr, sizeof saved);
        snprintf(b->ptr, sizeof b->ptr, "/vocab");
        push(b, name);
        compile_terms_into(b, voc, set, weighted, depth + 1);
        memcpy(b->ptr, saved, sizeof saved);
        return;
    }
    if (json_is_array(v)) {
        compile_list(b, v, b->deflang, set, weighted, depth);
    } else if (json_is_object(v) && json_object_size(v) > 0) {
        const char *code;
        json_t *arr;
        json_object_foreach(v, code, arr)
        {
            size_t o = push(b, code);
            if (!valid_lang_code(code)) {
                err(b, JSONPOS_KEY,
                    "expected an ISO 639-1 language code (\"en\", \"de\") as key, found \"%s\"",
                    code);
            } else {
                int lang = lang_id(b, code);
                if (lang >= 0)
                    compile_list(b, arr, lang, set, weighted, depth);
            }
            pop(b, o);
        }
    } else {
        expected(b, "terms: an array of terms, an object of language code to terms, or \"@vocab\"",
                 v);
        return;
    }
    struct rules_termset *ts = &b->rs->sets[set];
    ts->fallback = -1;
    for (uint32_t i = 0; i < ts->nlists; i++)
        if (ts->lists[i].lang == b->deflang)
            ts->fallback = (int)i;
}

/* A "terms" member plus optional "threshold" of obj into a new termset. */
static int compile_terms_member(struct build *b, json_t *obj, int prefiltered)
{
    int set = new_termset(b, prefiltered);
    if (set < 0)
        return -1;
    int weighted = 0;
    size_t o = push(b, "terms");
    compile_terms_into(b, json_object_get(obj, "terms"), (uint32_t)set, &weighted, 0);
    pop(b, o);
    double th = 0;
    if (get_num(b, obj, "threshold", 0.001, 1e6, &th) == 1) {
        if (!weighted) {
            o = push(b, "threshold");
            err(b, JSONPOS_VALUE,
                "expected weighted terms ({\"text\": ..., \"weight\": N}) with a threshold, found "
                "a threshold of %g over unweighted terms",
                th);
            pop(b, o);
        }
        b->rs->sets[set].threshold = th;
    }
    return set;
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */

static const char *const cond_kinds[] = {"all", "any", "none", "terms", "entity", "relation", NULL};
static const char *const group_keys_all[] = {"all", "note", NULL};
static const char *const group_keys_any[] = {"any", "note", NULL};
static const char *const group_keys_none[] = {"none", "note", NULL};
static const char *const terms_keys[] = {"terms", "threshold", "within", "note", NULL};
static const char *const entity_keys[] = {"entity", "role", "within", "note", NULL};
static const char *const relation_keys[] = {"relation", "between", "note", NULL};
static const char *const within_keys[] = {"words", "sentences", "of", NULL};
static const char *const filter_keys[] = {"id",      "type",     "affiliation", "demonym",
                                          "guessed", "locative", NULL};
static const char *const entity_types[] = {"country", "territory", "person",      "organisation",
                                           "place",   "military",  "armed_group", NULL};
static const char *const role_choices[] = {"actor", "speaker", "agent", "object", NULL};
static const char *const anchor_choices[] = {"trigger", "actor",  "speaker",
                                             "agent",   "object", NULL};
static const char *const rel_choices[] = {"same", "different", "allied", "ally", "enemy", NULL};
static const char *const between_a[] = {"actor", "speaker", "agent", "object", NULL};
static const char *const between_b[] = {"actor", "speaker", "agent", "object", "any", NULL};

static int role_of(const char *s)
{
    for (int i = 1; i < RULES_NROLES; i++)
        if (strcmp(rules_role_names[i], s) == 0)
            return i;
    return RULES_ROLE_NONE;
}

static void compile_within(struct build *b, json_t *obj, struct rules_cond *c, struct rules_rule *r)
{
    json_t *w = json_object_get(obj, "within");
    if (!w)
        return;
    size_t o = push(b, "within");
    if (!json_is_object(w)) {
        expected(b, "an object like {\"words\": 8} or {\"sentences\": 1}", w);
        pop(b, o);
        return;
    }
    check_keys(b, w, within_keys);
    int hw = get_int(b, w, "words", 0, RULES_MAX_WINDOW, &c->words);
    int hs = get_int(b, w, "sentences", 0, RULES_MAX_WINDOW, &c->sentences);
    if (hw == 0 && hs == 0)
        err(b, JSONPOS_VALUE, "expected \"words\" or \"sentences\" in \"within\", found neither");
    else if (hw != 0 && hs != 0)
        err(b, JSONPOS_VALUE,
            "expected either \"words\" or \"sentences\" in \"within\", found both");
    const char *of = NULL;
    if (get_str(b, w, "of", &of) == 1) {
        size_t o2 = push(b, "of");
        if (!in_list(of, anchor_choices)) {
            char all[128];
            list_join(anchor_choices, all, sizeof all);
            err(b, JSONPOS_VALUE, "expected one of %s, found \"%s\"", all, of);
        } else if (hw != 1) {
            err(b, JSONPOS_VALUE, "expected \"of\" together with \"words\", found it without");
        } else {
            c->anchor = (uint8_t)role_of(of);
            if (c->anchor != RULES_ROLE_TRIGGER) {
                c->binding = 1;
                r->roles |= 1u << c->anchor;
            }
        }
        pop(b, o2);
    }
    pop(b, o);
}

static void compile_cond(struct build *b, json_t *v, struct rules_cond *c, struct rules_rule *r,
                         int depth, int required);

static void require(struct build *b, struct rules_rule *r, int set)
{
    uint32_t *nr = realloc(r->req, (r->nreq + 1) * sizeof *nr);
    if (!nr) {
        oom(b);
        return;
    }
    r->req = nr;
    r->req[r->nreq++] = (uint32_t)set;
}

static void compile_group(struct build *b, json_t *obj, const char *key, struct rules_cond *c,
                          struct rules_rule *r, int depth, int required)
{
    json_t *arr = json_object_get(obj, key);
    size_t o = push(b, key);
    if (!json_is_array(arr)) {
        expected(b, "an array of conditions", arr);
    } else if (json_array_size(arr) == 0) {
        err(b, JSONPOS_VALUE, "expected at least one condition in \"%s\", found an empty group",
            key);
    } else {
        c->kids = calloc(json_array_size(arr), sizeof *c->kids);
        if (!c->kids) {
            oom(b);
        } else {
            c->nkids = (uint32_t)json_array_size(arr);
            size_t i;
            json_t *kid;
            json_array_foreach(arr, i, kid)
            {
                size_t o2 = push_i(b, i);
                compile_cond(b, kid, &c->kids[i], r, depth + 1, required);
                c->binding |= c->kids[i].binding;
                pop(b, o2);
            }
        }
    }
    pop(b, o);
}

/* required: the condition must hold for the rule to fire (it is reached
 * from "when" through "all" groups only). */
static void compile_cond(struct build *b, json_t *v, struct rules_cond *c, struct rules_rule *r,
                         int depth, int required)
{
    c->words = -1;
    c->sentences = -1;
    c->anchor = RULES_ROLE_TRIGGER;
    c->termset = UINT32_MAX;
    c->f.demonym = c->f.guessed = c->f.locative = -1;
    c->index = r->ncond++;
    c->ptr = xstrdup(b->ptr);
    if (!c->ptr)
        oom(b);
    if (depth > 16) {
        err(b, JSONPOS_VALUE, "expected conditions nested at most 16 deep");
        return;
    }
    if (!json_is_object(v)) {
        expected(b, "a condition object (all, any, none, terms, entity or relation)", v);
        return;
    }
    const char *kind = NULL;
    int nk = 0;
    for (int i = 0; cond_kinds[i]; i++) {
        if (json_object_get(v, cond_kinds[i])) {
            if (nk == 1) {
                err(b, JSONPOS_VALUE,
                    "expected exactly one of all, any, none, terms, entity, relation; found both "
                    "\"%s\" and \"%s\"",
                    kind, cond_kinds[i]);
                return;
            }
            kind = cond_kinds[i];
            c->kind = (uint8_t)i;
            nk++;
        }
    }
    if (!kind) {
        char keys[256] = "";
        size_t o = 0;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (o < sizeof keys)
                o += (size_t)snprintf(keys + o, sizeof keys - o, "%s\"%s\"", o ? ", " : "", k);
        }
        err(b, JSONPOS_VALUE,
            "expected one of the keys all, any, none, terms, entity, relation; found %s",
            o ? keys : "an empty object");
        return;
    }
    switch (c->kind) {
    case RULES_ALL:
        check_keys(b, v, group_keys_all);
        compile_group(b, v, kind, c, r, depth, required);
        break;
    case RULES_ANY:
        check_keys(b, v, group_keys_any);
        compile_group(b, v, kind, c, r, depth, 0);
        break;
    case RULES_NONE:
        check_keys(b, v, group_keys_none);
        compile_group(b, v, kind, c, r, depth, 0);
        break;
    case RULES_TERMS: {
        check_keys(b, v, terms_keys);
        compile_within(b, v, c, r);
        /* A required condition about the trigger's own sentence joins the
         * rule's prefilter: without one of its words the rule cannot fire. */
        int same_sentence = c->words >= 0 || (c->sentences < 0 ? r->scope == 0 : c->sentences == 0);
        int pf = required && same_sentence;
        int set = compile_terms_member(b, v, pf);
        if (set >= 0) {
            c->termset = (uint32_t)set;
            if (pf)
                require(b, r, set);
        }
        break;
    }
    case RULES_ENTITY: {
        check_keys(b, v, entity_keys);
        json_t *f = json_object_get(v, "entity");
        size_t o = push(b, "entity");
        if (!json_is_object(f)) {
            expected(b, "an entity filter object (id, type, affiliation, demonym, guessed)", f);
        } else {
            check_keys(b, f, filter_keys);
            get_strs(b, f, "id", &c->f.ids, NULL);
            get_strs(b, f, "type", &c->f.types, entity_types);
            get_strs(b, f, "affiliation", &c->f.affs, NULL);
            int x;
            if (get_bool(b, f, "demonym", &x) == 1)
                c->f.demonym = (int8_t)x;
            if (get_bool(b, f, "guessed", &x) == 1)
                c->f.guessed = (int8_t)x;
            if (get_bool(b, f, "locative", &x) == 1)
                c->f.locative = (int8_t)x;
        }
        pop(b, o);
        const char *role = NULL;
        if (get_str(b, v, "role", &role) == 1) {
            o = push(b, "role");
            if (!in_list(role, role_choices)) {
                char all[128];
                list_join(role_choices, all, sizeof all);
                err(b, JSONPOS_VALUE, "expected one of %s, found \"%s\"", all, role);
            } else {
                c->role = (uint8_t)role_of(role);
                c->binding = 1;
                r->roles |= 1u << c->role;
            }
            pop(b, o);
        }
        compile_within(b, v, c, r);
        break;
    }
    case RULES_RELATION: {
        check_keys(b, v, relation_keys);
        const char *rel = NULL;
        c->binding = 1;
        if (get_str(b, v, "relation", &rel) == 1) {
            size_t o = push(b, "relation");
            if (!in_list(rel, rel_choices))
                err(b, JSONPOS_VALUE,
                    "expected one of same, different, allied, ally, enemy, found \"%s\"", rel);
            else
                c->rel = (uint8_t)(strcmp(rel, "same") == 0        ? RULES_REL_SAME
                                   : strcmp(rel, "different") == 0 ? RULES_REL_DIFFERENT
                                   : strcmp(rel, "allied") == 0    ? RULES_REL_ALLIED
                                   : strcmp(rel, "ally") == 0      ? RULES_REL_ALLY
                                                                   : RULES_REL_ENEMY);
            pop(b, o);
        }
        c->rel_a = RULES_ROLE_ACTOR;
        c->rel_b = RULES_ROLE_OBJECT;
        json_t *bt = json_object_get(v, "between");
        if (bt) {
            size_t o = push(b, "between");
            if (!json_is_array(bt) || json_array_size(bt) != 2 ||
                !json_is_string(json_array_get(bt, 0)) || !json_is_string(json_array_get(bt, 1))) {
                expected(b, "an array of two roles like [\"speaker\", \"object\"]", bt);
            } else {
                const char *a = json_string_value(json_array_get(bt, 0));
                const char *bb = json_string_value(json_array_get(bt, 1));
                if (!in_list(a, between_a)) {
                    size_t o2 = push_i(b, 0);
                    err(b, JSONPOS_VALUE,
                        "expected one of actor, speaker, agent, object, found \"%s\"", a);
                    pop(b, o2);
                } else if (!in_list(bb, between_b)) {
                    size_t o2 = push_i(b, 1);
                    err(b, JSONPOS_VALUE,
                        "expected one of actor, speaker, agent, object, any, found \"%s\"", bb);
                    pop(b, o2);
                } else {
                    c->rel_a = (uint8_t)role_of(a);
                    c->rel_b = (uint8_t)role_of(bb);
                }
            }
            pop(b, o);
        }
        r->roles |= 1u << c->rel_a;
        if (c->rel_b != RULES_ROLE_ANY)
            r->roles |= 1u << c->rel_b;
        break;
    }
    }
}

/* ------------------------------------------------------------------ */
/* Rules                                                               */

static const char *const rule_keys[] = {
    "id",         "type",    "description", "severity",          "confidence",
    "title",      "trigger", "when",        "blockers",          "scope",
    "actor_role", "enabled", "note",        "once_per_document", "object_is_recipient",
    NULL};
static const char *const trigger_keys[] = {"terms", "threshold", "note", NULL};
static const char *const blocker_opt_keys[] = {"before", "after", NULL};
static const char *const scope_keys[] = {"sentences", NULL};
static const char *const placeholders[] = {"actor", "object",   "speaker",   "agent", "trigger",
                                           "type",  "actor_id", "object_id", NULL};

static void free_rule(struct rules_rule *r);

static int valid_id(const char *s, int allow_dash)
{
    if (!*s || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              (allow_dash && *p == '-')))
            return 0;
    return 1;
}

static void check_title(struct build *b, const char *t)
{
    for (const char *p = t; *p; p++) {
        if (*p != '{')
            continue;
        const char *e = strchr(p, '}');
        if (!e) {
            err(b, JSONPOS_VALUE, "expected \"}\" closing the placeholder at \"%.20s\"", p);
            return;
        }
        char name[64];
        size_t n = (size_t)(e - p - 1);
        const char *bar = memchr(p + 1, '|', n);
        size_t nn = bar ? (size_t)(bar - p - 1) : n;
        snprintf(name, sizeof name, "%.*s", (int)(nn < 63 ? nn : 63), p + 1);
        if (!in_list(name, placeholders)) {
            char all[256];
            list_join(placeholders, all, sizeof all);
            err(b, JSONPOS_VALUE, "expected placeholders among %s, found \"{%s}\"", all, name);
        }
        p = e;
    }
}

static void compile_blockers(struct build *b, json_t *rule, struct rules_rule *r)
{
    for (int i = 0; i < RULES_BLK_N; i++) {
        r->blk[i].on = 1;
        r->blk[i].before = DEFAULT_BEFORE;
        r->blk[i].after = DEFAULT_AFTER;
    }
    json_t *v = json_object_get(rule, "blockers");
    if (!v)
        return;
    size_t o = push(b, "blockers");
    if (json_is_boolean(v)) {
        for (int i = 0; i < RULES_BLK_N; i++)
            r->blk[i].on = (uint8_t)json_is_true(v);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val)
        {
            int k = -1;
            for (int i = 0; i < RULES_BLK_N; i++)
                if (strcmp(key, rules_blocker_names[i]) == 0)
                    k = i;
            size_t o2 = push(b, key);
            if (k < 0) {
                err(b, JSONPOS_KEY,
                    "unknown blocker type \"%s\"; allowed: negation, speculation, question, "
                    "reported",
                    key);
            } else if (json_is_boolean(val)) {
                r->blk[k].on = (uint8_t)json_is_true(val);
            } else if (json_is_object(val) &&
                       (k == RULES_BLK_NEGATION || k == RULES_BLK_SPECULATION)) {
                check_keys(b, val, blocker_opt_keys);
                get_int(b, val, "before", 0, RULES_MAX_WINDOW, &r->blk[k].before);
                get_int(b, val, "after", 0, RULES_MAX_WINDOW, &r->blk[k].after);
            } else {
                expected(b,
                         k == RULES_BLK_NEGATION || k == RULES_BLK_SPECULATION
                             ? "true, false or {\"before\": N, \"after\": N}"
                             : "true or false",
                         val);
            }
            pop(b, o2);
        }
    } else {
        expected(b, "true, false or an object of blocker types", v);
    }
    pop(b, o);
}

static void compile_rule(struct build *b, json_t *v, struct rules_rule *r)
{
    if (!json_is_object(v)) {
        expected(b, "a rule object", v);
        return;
    }
    check_keys(b, v, rule_keys);
    const char *id = NULL, *type = NULL, *sev = NULL, *title = NULL, *desc = NULL, *ar = NULL;
    r->file = b->file;
    r->ptr = xstrdup(b->ptr);
    r->confidence = 0.8;
    r->severity = RULES_SEV_MEDIUM;
    r->actor_role = RULES_ROLE_ACTOR;
    if (get_str(b, v, "id", &id) == 0)
        missing(b, "id", "a rule id like \"troop-deployment-acknowledged\"");
    else if (id && !valid_id(id, 1)) {
        size_t o = push(b, "id");
        err(b, JSONPOS_VALUE, "expected an id of [a-z0-9_-] starting with a letter, found \"%s\"",
            id);
        pop(b, o);
    }
    if (get_str(b, v, "type", &type) == 0)
        missing(b, "type", "an event type like \"troop_deployment_acknowledged\"");
    else if (type && !valid_id(type, 0)) {
        size_t o = push(b, "type");
        err(b, JSONPOS_VALUE, "expected a type of [a-z0-9_] starting with a letter, found \"%s\"",
            type);
        pop(b, o);
    }
    if (get_str(b, v, "severity", &sev) == 1) {
        int s = -1;
        for (int i = 0; i < 5; i++)
            if (strcmp(sev, rules_severity_names[i]) == 0)
                s = i;
        if (s < 0) {
            size_t o = push(b, "severity");
            err(b, JSONPOS_VALUE, "expected one of info, low, medium, high, critical, found \"%s\"",
                sev);
            pop(b, o);
        } else {
            r->severity = s;
        }
    }
    get_num(b, v, "confidence", 0, 1, &r->confidence);
    get_str(b, v, "description", &desc);
    if (get_str(b, v, "title", &title) == 1) {
        size_t o = push(b, "title");
        check_title(b, title);
        pop(b, o);
    }
    if (get_str(b, v, "actor_role", &ar) == 1) {
        size_t o = push(b, "actor_role");
        if (strcmp(ar, "actor") && strcmp(ar, "speaker") && strcmp(ar, "agent"))
            err(b, JSONPOS_VALUE, "expected one of actor, speaker, agent, found \"%s\"", ar);
        else
            r->actor_role = (uint8_t)role_of(ar);
        pop(b, o);
    }
    int once = 0;
    if (get_bool(b, v, "once_per_document", &once) == 1)
        r->once = (uint8_t)once;
    int recipient = 0;
    if (get_bool(b, v, "object_is_recipient", &recipient) == 1)
        r->recipient = (uint8_t)recipient;
    r->id = xstrdup(id ? id : "");
    r->type = xstrdup(type ? type : "");
    r->title = xstrdup(title ? title : "{type}");
    r->desc = desc ? xstrdup(desc) : NULL;
    if (!r->id || !r->type || !r->title || !r->ptr)
        oom(b);

    json_t *sc = json_object_get(v, "scope");
    if (sc) {
        size_t o = push(b, "scope");
        if (!json_is_object(sc)) {
            expected(b, "an object like {\"sentences\": 1}", sc);
        } else {
            check_keys(b, sc, scope_keys);
            get_int(b, sc, "sentences", 0, RULES_MAX_WINDOW, &r->scope);
        }
        pop(b, o);
    }
    json_t *tr = json_object_get(v, "trigger");
    r->trigger = UINT32_MAX;
    if (!tr) {
        missing(b, "trigger", "{\"terms\": [...]}");
    } else {
        size_t o = push(b, "trigger");
        if (!json_is_object(tr)) {
            expected(b, "an object like {\"terms\": [...]}", tr);
        } else {
            check_keys(b, tr, trigger_keys);
            if (!json_object_get(tr, "terms")) {
                missing(b, "terms", "the trigger terms");
            } else {
                int set = compile_terms_member(b, tr, 1);
                if (set >= 0) {
                    r->trigger = (uint32_t)set;
                    require(b, r, set);
                }
            }
        }
        pop(b, o);
    }
    json_t *when = json_object_get(v, "when");
    if (when) {
        r->when = calloc(1, sizeof *r->when);
        if (!r->when) {
            oom(b);
        } else {
            size_t o = push(b, "when");
            compile_cond(b, when, r->when, r, 0, 1);
            pop(b, o);
        }
    }
    compile_blockers(b, v, r);
}

/* ------------------------------------------------------------------ */
/* Tests declared next to the rules (validated here, run by test tools) */

static const char *const test_keys[] = {"name",     "text",   "title",       "lang", "published",
                                        "entities", "expect", "expect_none", "note", NULL};
static const char *const expect_keys[] = {"type", "actor", "object", "severity", NULL};
static const char *const mention_keys[] = {"id",    "type",     "name",        "surface", "start",
                                           "end",   "sentence", "affiliation", "demonym", "guessed",
                                           "title", "field",    NULL};

static int file_has_type(json_t *rules, const char *type)
{
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        const char *t = json_string_value(json_object_get(r, "type"));
        if (t && strcmp(t, type) == 0)
            return 1;
    }
    return 0;
}

static void check_tests(struct build *b, json_t *tests, json_t *rules)
{
    size_t o = push(b, "tests");
    if (!json_is_array(tests)) {
        expected(b, "an array of test cases", tests);
        pop(b, o);
        return;
    }
    size_t i;
    json_t *tc;
    json_array_foreach(tests, i, tc)
    {
        size_t o2 = push_i(b, i);
        if (!json_is_object(tc)) {
            expected(b, "a test case object", tc);
            pop(b, o2);
            continue;
        }
        check_keys(b, tc, test_keys);
        const char *s = NULL;
        if (get_str(b, tc, "name", &s) == 0)
            missing(b, "name", "a short test name");
        if (get_str(b, tc, "text", &s) == 0)
            missing(b, "text", "the article text (natural prose)");
        get_str(b, tc, "title", &s);
        get_str(b, tc, "published", &s);
        if (get_str(b, tc, "lang", &s) == 1 && !valid_lang_code(s)) {
            size_t o3 = push(b, "lang");
            expected(b, "an ISO 639-1 language code", json_object_get(tc, "lang"));
            pop(b, o3);
        }
        json_t *ex = json_object_get(tc, "expect");
        json_t *exn = json_object_get(tc, "expect_none");
        if (!ex && !exn)
            err(b, JSONPOS_VALUE,
                "expected \"expect\" or \"expect_none\" in a test case, found "
                "neither");
        if (ex) {
            size_t o3 = push(b, "expect");
            if (!json_is_array(ex)) {
                expected(b, "an array of expected events", ex);
            } else {
                size_t k;
                json_t *e;
                json_array_foreach(ex, k, e)
                {
                    size_t o4 = push_i(b, k);
                    if (!json_is_object(e)) {
                        expected(b,
                                 "an object like {\"type\": ..., \"actor\": ..., \"object\": ...}",
                                 e);
                    } else {
                        check_keys(b, e, expect_keys);
                        const char *t = NULL;
                        if (get_str(b, e, "type", &t) == 0)
                            missing(b, "type", "the expected event type");
                        else if (t && json_is_array(rules) && !file_has_type(rules, t)) {
                            size_t o5 = push(b, "type");
                            err(b, JSONPOS_VALUE,
                                "expected a type produced by a rule of this file, found \"%s\"", t);
                            pop(b, o5);
                        }
                        get_str(b, e, "actor", &t);
                        get_str(b, e, "object", &t);
                        get_str(b, e, "severity", &t);
                    }
                    pop(b, o4);
                }
            }
            pop(b, o3);
        }
        if (exn) {
            size_t o3 = push(b, "expect_none");
            if (!json_is_array(exn)) {
                expected(b, "an array of event types", exn);
            } else {
                size_t k;
                json_t *e;
                json_array_foreach(exn, k, e)
                {
                    size_t o4 = push_i(b, k);
                    if (!json_is_string(e))
                        expected(b, "an event type", e);
                    else if (json_is_array(rules) && !file_has_type(rules, json_string_value(e)))
                        err(b, JSONPOS_VALUE,
                            "expected a type produced by a rule of this file, found \"%s\"",
                            json_string_value(e));
                    pop(b, o4);
                }
            }
            pop(b, o3);
        }
        json_t *ents = json_object_get(tc, "entities");
        if (ents) {
            size_t o3 = push(b, "entities");
            if (!json_is_array(ents)) {
                expected(b, "an array of entity mentions", ents);
            } else {
                size_t k;
                json_t *m;
                json_array_foreach(ents, k, m)
                {
                    size_t o4 = push_i(b, k);
                    if (!json_is_object(m)) {
                        expected(b, "a mention object", m);
                    } else {
                        check_keys(b, m, mention_keys);
                        const char *x = NULL;
                        int n = 0;
                        if (get_str(b, m, "id", &x) == 0)
                            missing(b, "id", "the entity id");
                        get_str(b, m, "type", &x);
                        get_str(b, m, "name", &x);
                        get_str(b, m, "affiliation", &x);
                        int hs = get_str(b, m, "surface", &x);
                        int h1 = get_int(b, m, "start", 0, 1 << 30, &n);
                        int h2 = get_int(b, m, "end", 0, 1 << 30, &n);
                        if (hs == 0 && (h1 == 0 || h2 == 0))
                            err(b, JSONPOS_VALUE,
                                "expected \"surface\" or \"start\" and \"end\" in a mention, "
                                "found neither");
                        get_bool(b, m, "demonym", &n);
                        get_bool(b, m, "guessed", &n);
                    }
                    pop(b, o4);
                }
            }
            pop(b, o3);
        }
        pop(b, o2);
    }
    pop(b, o);
}

/* ------------------------------------------------------------------ */
/* Lexicons and alliances                                              */

/* The entity ids of a JSON array into out (allocated here; freed with
 * free_strs): a member that is not a string is an error at its position.
 * Returns -1 when out of memory. */
static int compile_ids(struct build *b, json_t *arr, struct rules_strs *out)
{
    out->n = 0;
    out->v = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof *out->v);
    if (!out->v)
        return -1;
    size_t i;
    json_t *id;
    json_array_foreach(arr, i, id)
    {
        if (!json_is_string(id)) {
            size_t o = push_i(b, i);
            expected(b, "an entity id", id);
            pop(b, o);
            continue;
        }
        if (!(out->v[out->n] = xstrdup(json_string_value(id))))
            return -1;
        out->n++;
    }
    return 0;
}

static void compile_alliances(struct build *b, json_t *v)
{
    struct ruleset *rs = b->rs;
    size_t o = push(b, "alliances");
    if (!json_is_object(v)) {
        expected(b, "an object of bloc name to country ids", v);
        pop(b, o);
        return;
    }
    const char *name;
    json_t *ids;
    json_object_foreach(v, name, ids)
    {
        size_t o2 = push(b, name);
        if (!json_is_array(ids) || json_array_size(ids) < 2) {
            expected(b, "an array of at least two entity ids", ids);
            pop(b, o2);
            continue;
        }
        if (grow((void **)&rs->blocs, &b->cap_blocs, rs->nblocs, sizeof *rs->blocs)) {
            oom(b);
            pop(b, o2);
            break;
        }
        struct rules_bloc *bl = &rs->blocs[rs->nblocs++];
        bl->name = xstrdup(name);
        if (!bl->name || compile_ids(b, ids, &bl->ids) != 0)
            oom(b);
        pop(b, o2);
    }
    pop(b, o);
}

/* "conflicts": {"name": [[side ids...], [side ids...], ...]}. */
static void compile_conflicts(struct build *b, json_t *v)
{
    struct ruleset *rs = b->rs;
    size_t o = push(b, "conflicts");
    if (!json_is_object(v)) {
        expected(b, "an object of conflict name to its sides (arrays of entity ids)", v);
        pop(b, o);
        return;
    }
    const char *name;
    json_t *sides;
    json_object_foreach(v, name, sides)
    {
        size_t o2 = push(b, name);
        if (!json_is_array(sides) || json_array_size(sides) < 2) {
            expected(b, "an array of at least two sides, each an array of entity ids", sides);
            pop(b, o2);
            continue;
        }
        uint32_t conflict = rs->nconflicts++;
        size_t i;
        json_t *side;
        json_array_foreach(sides, i, side)
        {
            size_t o3 = push_i(b, i);
            if (!json_is_array(side) || json_array_size(side) == 0) {
                expected(b, "a non-empty array of entity ids", side);
                pop(b, o3);
                continue;
            }
            if (grow((void **)&rs->sides, &b->cap_sides, rs->nsides, sizeof *rs->sides)) {
                oom(b);
                pop(b, o3);
                break;
            }
            struct rules_side *sd = &rs->sides[rs->nsides++];
            sd->conflict = conflict;
            if (compile_ids(b, side, &sd->ids) != 0)
                oom(b);
            pop(b, o3);
        }
        pop(b, o2);
    }
    pop(b, o);
}

static void load_lexicon_object(struct build *b, json_t *lex)
{
    const char *keys[RULES_LEX_N + 6] = {"lexicon", "description", "alliances", "note",
                                         "conflicts"};
    for (int i = 0; i < RULES_LEX_N; i++)
        keys[5 + i] = rules_lex_names[i];
    keys[RULES_LEX_N + 5] = NULL;
    if (!json_is_object(lex)) {
        expected(b, "a lexicon object", lex);
        return;
    }
    check_keys(b, lex, keys);
    b->in_lexicon = 1;
    for (int i = 0; i < RULES_LEX_N; i++) {
        json_t *v = json_object_get(lex, rules_lex_names[i]);
        if (!v)
            continue;
        if (b->rs->lex[i] < 0)
            b->rs->lex[i] = new_termset(b, 0);
        if (b->rs->lex[i] < 0)
            continue;
        int weighted = 0;
        size_t o = push(b, rules_lex_names[i]);
        compile_terms_into(b, v, (uint32_t)b->rs->lex[i], &weighted, 0);
        pop(b, o);
    }
    b->in_lexicon = 0;
    json_t *cf = json_object_get(lex, "conflicts");
    if (cf)
        compile_conflicts(b, cf);
    json_t *al = json_object_get(lex, "alliances");
    if (al)
        compile_alliances(b, al);
}

static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, len, ".");
    else
        snprintf(out, len, "%.*s", (int)(slash - path), path);
}

static void load_lexicon_file(struct build *b, const char *rules_path, const char *rel)
{
    char dir[1024], path[2048];
    if (rel[0] == '/' || !strchr(rules_path, '/')) {
        snprintf(path, sizeof path, "%s", rel);
    } else {
        dir_of(rules_path, dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s", dir, rel);
    }
    for (size_t i = 0; i < b->nlex_paths; i++)
        if (strcmp(b->lex_paths[i], path) == 0)
            return; /* merged once per ruleset */
    char **np = realloc(b->lex_paths, (b->nlex_paths + 1) * sizeof *np);
    if (!np) {
        oom(b);
        return;
    }
    b->lex_paths = np;
    if (!(np[b->nlex_paths] = xstrdup(path))) {
        oom(b);
        return;
    }
    b->nlex_paths++;
    /* A device or a FIFO named by mistake would block or never end. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        diags_add_at(b->d, path, 0, 0, NULL, "not a regular file");
        return;
    }
    struct jdoc lexdoc;
    if (jdoc_load_file(&lexdoc, path, b->d) != 0)
        return;
    /* Errors inside the lexicon point into the lexicon file. */
    struct jdoc *saved_doc = b->doc;
    int saved_lang = b->deflang;
    json_t *saved_vocab = b->vocab;
    char saved_ptr[MAX_PTR];
    memcpy(saved_ptr, b->ptr, sizeof saved_ptr);
    b->doc = &lexdoc;
    b->ptr[0] = '\0';
    b->vocab = NULL;
    b->deflang = lang_id(b, "en");
    load_lexicon_object(b, lexdoc.root);
    b->doc = saved_doc;
    b->deflang = saved_lang;
    b->vocab = saved_vocab;
    memcpy(b->ptr, saved_ptr, sizeof saved_ptr);
    jdoc_free(&lexdoc);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static const char *const file_keys[] = {"description", "lang",  "lexicons", "alliances",
                                        "conflicts",   "vocab", "rules",    "tests",
                                        "note",        NULL};

/* Rules that need a lexicon category say so at load time, not silently at
 * run time. Lexicons loaded by this file or an earlier one count. */
static void check_lexicon_needs(struct build *b, uint32_t first)
{
    struct ruleset *rs = b->rs;
    for (uint32_t i = first; i < rs->nrules; i++) {
        struct rules_rule *r = &rs->rules[i];
        static const int need[2][2] = {{RULES_BLK_NEGATION, RULES_LEX_NEGATION},
                                       {RULES_BLK_SPECULATION, RULES_LEX_SPECULATION}};
        snprintf(b->ptr, sizeof b->ptr, "%s", r->ptr ? r->ptr : "");
        for (int k = 0; k < 2; k++) {
            if (r->blk[need[k][0]].on && rs->lex[need[k][1]] < 0)
                err(b, JSONPOS_VALUE,
                    "expected a lexicon with \"%s\" cues for the %s blocker, found none; add "
                    "\"lexicons\": [\"lexicons/blockers.json\"] or turn the blocker off",
                    rules_lex_names[need[k][1]], rules_blocker_names[need[k][0]]);
        }
        if ((r->blk[RULES_BLK_REPORTED].on ||
             (r->roles & ((1u << RULES_ROLE_SPEAKER) | (1u << RULES_ROLE_ACTOR)))) &&
            rs->lex[RULES_LEX_ATTRIBUTION] < 0)
            err(b, JSONPOS_VALUE,
                "expected a lexicon with \"attribution\" cues to find speakers, found none; add "
                "\"lexicons\": [\"lexicons/blockers.json\"]");
    }
    b->ptr[0] = '\0';
}

/* One rules file, read from path or, when text is not NULL, given as text
 * (len bytes) and only named path. */
static void load_file(struct build *b, const char *path, const char *text, size_t len)
{
    struct ruleset *rs = b->rs;
    struct jdoc doc;
    int rc =
        text ? jdoc_load_buffer(&doc, path, text, len, b->d) : jdoc_load_file(&doc, path, b->d);
    if (rc != 0)
        return;
    char **nf = realloc(rs->files, (rs->nfiles + 1) * sizeof *nf);
    if (!nf) {
        jdoc_free(&doc);
        oom(b);
        return;
    }
    rs->files = nf;
    if (!(nf[rs->nfiles] = xstrdup(path))) {
        jdoc_free(&doc);
        oom(b);
        return;
    }
    b->file = nf[rs->nfiles++];
    b->doc = &doc;
    b->ptr[0] = '\0';
    json_t *root = doc.root;
    if (!json_is_object(root)) {
        expected(b, "a rules file object with \"rules\"", root);
        jdoc_free(&doc);
        b->doc = NULL;
        return;
    }
    check_keys(b, root, file_keys);
    const char *lang = "en";
    if (get_str(b, root, "lang", &lang) == 1 && !valid_lang_code(lang)) {
        size_t o = push(b, "lang");
        expected(b, "an ISO 639-1 language code like \"en\"", json_object_get(root, "lang"));
        pop(b, o);
        lang = "en";
    }
    b->deflang = lang_id(b, lang);
    if (b->deflang < 0)
        b->deflang = 0;

    json_t *lex = json_object_get(root, "lexicons");
    if (lex) {
        size_t o = push(b, "lexicons");
        if (!json_is_array(lex)) {
            expected(b, "an array of lexicon file paths or lexicon objects", lex);
        } else {
            size_t i;
            json_t *l;
            json_array_foreach(lex, i, l)
            {
                size_t o2 = push_i(b, i);
                if (json_is_string(l)) {
                    size_t before = diags_count(b->d);
                    load_lexicon_file(b, path, json_string_value(l));
                    /* A missing file is reported at the reference too. */
                    if (diags_count(b->d) > before && b->d->n > 0 && b->d->v[b->d->n - 1].line == 0)
                        err(b, JSONPOS_VALUE, "cannot load lexicon \"%s\"", json_string_value(l));
                } else if (json_is_object(l)) {
                    load_lexicon_object(b, l);
                } else {
                    expected(b, "a lexicon file path or a lexicon object", l);
                }
                pop(b, o2);
            }
        }
        pop(b, o);
    }
    json_t *al = json_object_get(root, "alliances");
    if (al)
        compile_alliances(b, al);
    json_t *cf = json_object_get(root, "conflicts");
    if (cf)
        compile_conflicts(b, cf);

    b->vocab = json_object_get(root, "vocab");
    if (b->vocab) {
        size_t o = push(b, "vocab");
        if (!json_is_object(b->vocab)) {
            expected(b, "an object of name to terms", b->vocab);
            b->vocab = NULL;
        } else {
            /* Validate every vocabulary once, where it is defined, into a
             * scratch termset that no rule uses. */
            const char *name;
            json_t *val;
            json_object_foreach(b->vocab, name, val)
            {
                size_t o2 = push(b, name);
                int set = new_termset(b, 0);
                int weighted = 0;
                b->validating = 1;
                if (set >= 0 && !(json_is_string(val) && json_string_value(val)[0] == '@'))
                    compile_terms_into(b, val, (uint32_t)set, &weighted, 0);
                else if (set >= 0)
                    expected(b, "terms (an array or an object of language code to terms)", val);
                b->validating = 0;
                pop(b, o2);
            }
        }
        pop(b, o);
    }

    uint32_t first_rule = rs->nrules;
    json_t *rules = json_object_get(root, "rules");
    if (!rules) {
        missing(b, "rules", "an array of rules");
    } else {
        size_t o = push(b, "rules");
        if (!json_is_array(rules) || json_array_size(rules) == 0) {
            expected(b, "a non-empty array of rules", rules);
        } else {
            size_t i;
            json_t *r;
            json_array_foreach(rules, i, r)
            {
                size_t o2 = push_i(b, i);
                int enabled = 1;
                if (json_is_object(r))
                    get_bool(b, r, "enabled", &enabled);
                if (grow((void **)&rs->rules, &b->cap_rules, rs->nrules, sizeof *rs->rules)) {
                    oom(b);
                    pop(b, o2);
                    break;
                }
                struct rules_rule *rule = &rs->rules[rs->nrules++];
                memset(rule, 0, sizeof *rule);
                compile_rule(b, r, rule);
                /* Ids are unique within a file ({file, id} names a rule). */
                for (uint32_t k = 0; k + 1 < rs->nrules; k++) {
                    if (rs->rules[k].file == b->file && rule->id && rs->rules[k].id && *rule->id &&
                        strcmp(rs->rules[k].id, rule->id) == 0) {
                        size_t o3 = push(b, "id");
                        err(b, JSONPOS_VALUE,
                            "expected a rule id unique in this file, found \"%s\" again (first at "
                            "%s)",
                            rule->id, rs->rules[k].ptr ? rs->rules[k].ptr : "?");
                        pop(b, o3);
                    }
                }
                if (!enabled)
                    rule->severity = -1; /* compiled and validated, then dropped below */
                pop(b, o2);
            }
        }
        pop(b, o);
    }
    json_t *tests = json_object_get(root, "tests");
    if (tests)
        check_tests(b, tests, rules);
    check_lexicon_needs(b, first_rule);
    b->vocab = NULL;
    b->doc = NULL;
    jdoc_free(&doc);
}

/* ------------------------------------------------------------------ */
/* Lookup table and database                                           */

static uint64_t key_hash(int lang, int folded, const char *key, size_t len)
{
    uint8_t pre[2] = {(uint8_t)lang, (uint8_t)folded};
    return hash_fnv64_update(hash_fnv64(pre, 2), key, len);
}

static int tmp_cmp(const void *a, const void *b)
{
    const struct tmp_entry *x = a, *y = b;
    if (x->lang != y->lang)
        return x->lang - y->lang;
    if (x->folded != y->folded)
        return x->folded - y->folded;
    if (x->len != y->len)
        return x->len - y->len;
    int c = memcmp(x->key, y->key, x->len);
    if (c)
        return c;
    /* Keep declaration order for equal keys (qsort is not stable). */
    if (x->e.termset != y->e.termset)
        return x->e.termset < y->e.termset ? -1 : 1;
    if (x->e.list != y->e.list)
        return x->e.list < y->e.list ? -1 : 1;
    if (x->e.term != y->e.term)
        return x->e.term < y->e.term ? -1 : 1;
    return x->e.variant < y->e.variant ? -1 : x->e.variant > y->e.variant;
}

static int build_table(struct build *b)
{
    struct ruleset *rs = b->rs;
    if (b->ntmp == 0)
        return 0;
    qsort(b->tmp, b->ntmp, sizeof *b->tmp, tmp_cmp);
    rs->entries = calloc(b->ntmp, sizeof *rs->entries);
    uint32_t nkeys = 0;
    for (size_t i = 0; i < b->ntmp; i++)
        if (i == 0 || tmp_cmp(&b->tmp[i - 1], &b->tmp[i]) != 0 ||
            b->tmp[i - 1].len != b->tmp[i].len)
            nkeys++;
    uint32_t cap = 16;
    while (cap < nkeys * 2)
        cap *= 2;
    rs->keys = calloc(cap, sizeof *rs->keys);
    if (!rs->entries || !rs->keys)
        return -1;
    rs->keycap = cap;
    for (size_t i = 0; i < b->ntmp;) {
        size_t j = i;
        while (j < b->ntmp && b->tmp[j].lang == b->tmp[i].lang &&
               b->tmp[j].folded == b->tmp[i].folded && b->tmp[j].len == b->tmp[i].len &&
               memcmp(b->tmp[j].key, b->tmp[i].key, b->tmp[i].len) == 0)
            j++;
        uint64_t h = key_hash(b->tmp[i].lang, b->tmp[i].folded, b->tmp[i].key, b->tmp[i].len);
        uint32_t slot = (uint32_t)h & (cap - 1);
        while (rs->keys[slot].key)
            slot = (slot + 1) & (cap - 1);
        struct rules_key *k = &rs->keys[slot];
        k->key = b->tmp[i].key;
        b->tmp[i].key = NULL; /* the table owns it now */
        k->len = b->tmp[i].len;
        k->lang = b->tmp[i].lang;
        k->folded = b->tmp[i].folded;
        k->first = rs->nentries;
        k->count = (uint32_t)(j - i);
        for (size_t m = i; m < j; m++)
            rs->entries[rs->nentries++] = b->tmp[m].e;
        i = j;
    }
    return 0;
}

static int pair_cmp(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static int rxl_cmp(const void *a, const void *b)
{
    const struct rx_link *x = a, *y = b;
    if (x->pat != y->pat)
        return x->pat < y->pat ? -1 : 1;
    return x->e.termset < y->e.termset ? -1 : x->e.termset > y->e.termset;
}

/* Pattern -> prefilter groups, and rule requirements as group bits. */
static int build_groups(struct build *b)
{
    struct ruleset *rs = b->rs;
    if (b->npairs > 1)
        qsort(b->pairs, b->npairs, sizeof *b->pairs, pair_cmp);
    rs->groups = calloc(b->npairs ? b->npairs : 1, sizeof *rs->groups);
    if (!rs->groups)
        return -1;
    for (size_t i = 0; i < b->npairs; i++) {
        struct rules_pattern *p = &rs->pats[b->pairs[i][0]];
        if (p->ng == 0)
            p->g0 = (uint32_t)i;
        p->ng++;
        rs->groups[i] = (uint32_t)rs->sets[b->pairs[i][1]].pf;
    }
    for (uint32_t i = 0; i < rs->nrules; i++) {
        struct rules_rule *r = &rs->rules[i];
        for (uint32_t k = 0; k < r->nreq; k++)
            r->req[k] = (uint32_t)rs->sets[r->req[k]].pf;
    }
    /* Links were added pattern by pattern in increasing order except for
     * reuse: sort them so each pattern's terms are one range. */
    if (b->nrxl > 1)
        qsort(b->rxl, b->nrxl, sizeof *b->rxl, rxl_cmp);
    rs->rxrefs = calloc(b->nrxl ? b->nrxl : 1, sizeof *rs->rxrefs);
    if (!rs->rxrefs)
        return -1;
    for (size_t i = 0; i < b->nrxl; i++) {
        struct rules_pattern *p = &rs->pats[b->rxl[i].pat];
        if (p->nr == 0)
            p->r0 = (uint32_t)i;
        p->nr++;
        rs->rxrefs[i] = b->rxl[i].e;
    }
    return 0;
}

static int build_db(struct build *b)
{
    struct ruleset *rs = b->rs;
    if (rs->npats == 0)
        return 0;
    unsigned *ids = calloc(rs->npats, sizeof *ids);
    if (!ids)
        return -1;
    for (uint32_t i = 0; i < rs->npats; i++)
        ids[i] = i;
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    if (hs_compile_multi((const char *const *)b->pat_src, b->pat_flags, ids, rs->npats,
                         HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
        diags_add_at(b->d, NULL, 0, 0, NULL, "cannot compile the rule patterns: %s",
                     ce && ce->message ? ce->message : "error");
        hs_free_compile_error(ce);
        free(ids);
        return -1;
    }
    free(ids);
    rs->db = (struct hs_database *)db;
    return 0;
}

static struct ruleset *load_all(const char *const *paths, const char *const *texts,
                                const size_t *lens, size_t npaths, struct diags *d)
{
    struct build b;
    memset(&b, 0, sizeof b);
    b.d = d;
    b.errs0 = diags_count(d);
    b.rs = calloc(1, sizeof *b.rs);
    if (!b.rs) {
        diags_add_at(d, NULL, 0, 0, NULL, "out of memory");
        return NULL;
    }
    for (int i = 0; i < RULES_LEX_N; i++)
        b.rs->lex[i] = -1;
    if (npaths == 0)
        diags_add_at(d, NULL, 0, 0, NULL, "no rule file given");
    for (size_t i = 0; i < npaths; i++)
        load_file(&b, paths[i], texts ? texts[i] : NULL, texts ? lens[i] : 0);
    /* Drop disabled rules now that they were validated. */
    uint32_t k = 0;
    for (uint32_t i = 0; i < b.rs->nrules; i++) {
        if (b.rs->rules[i].severity >= 0) {
            b.rs->rules[k++] = b.rs->rules[i];
        } else {
            free_rule(&b.rs->rules[i]);
        }
    }
    b.rs->nrules = k;
    if (!nerrors(&b) && (build_table(&b) != 0 || build_groups(&b) != 0 || build_db(&b) != 0) &&
        !nerrors(&b))
        diags_add_at(d, NULL, 0, 0, NULL, "out of memory");
    for (size_t i = 0; i < b.ntmp; i++)
        free(b.tmp[i].key);
    free(b.tmp);
    b.rs->pat_src = b.pat_src; /* kept for diagnostics; freed with the ruleset */
    free(b.pat_flags);
    free(b.pairs);
    free(b.rxl);
    for (size_t i = 0; i < b.nlex_paths; i++)
        free(b.lex_paths[i]);
    free(b.lex_paths);
    for (int i = 0; i < RULES_MAX_LANGS; i++)
        stem_free(b.st[i]);
    if (nerrors(&b)) {
        rules_free(b.rs);
        return NULL;
    }
    return b.rs;
}

struct ruleset *rules_load(const char *const *paths, size_t npaths, struct diags *d)
{
    return load_all(paths, NULL, NULL, npaths, d);
}

struct ruleset *rules_load_buffers(const char *const *names, const char *const *texts,
                                   const size_t *lens, size_t n, struct diags *d)
{
    return load_all(names, texts, lens, n, d);
}

/* ------------------------------------------------------------------ */
/* Freeing and queries                                                 */

static void free_cond(struct rules_cond *c)
{
    for (uint32_t i = 0; i < c->nkids; i++)
        free_cond(&c->kids[i]);
    free(c->kids);
    free(c->ptr);
    free_strs(&c->f.ids);
    free_strs(&c->f.types);
    free_strs(&c->f.affs);
}

static void free_rule(struct rules_rule *r)
{
    free(r->id);
    free(r->type);
    free(r->title);
    free(r->desc);
    free(r->ptr);
    if (r->when) {
        free_cond(r->when);
        free(r->when);
    }
    free(r->req);
    memset(r, 0, sizeof *r);
}

void rules_free(struct ruleset *rs)
{
    if (!rs)
        return;
    for (uint32_t i = 0; i < rs->nrules; i++)
        free_rule(&rs->rules[i]);
    free(rs->rules);
    for (uint32_t s = 0; s < rs->nsets; s++) {
        struct rules_termset *ts = &rs->sets[s];
        for (uint32_t l = 0; l < ts->nlists; l++) {
            for (uint32_t t = 0; t < ts->lists[l].n; t++)
                free_term(&ts->lists[l].t[t]);
            free(ts->lists[l].t);
        }
        free(ts->lists);
    }
    free(rs->sets);
    for (uint32_t i = 0; i < rs->keycap; i++)
        free(rs->keys[i].key);
    free(rs->keys);
    free(rs->entries);
    free(rs->prefixed);
    hs_free_database((hs_database_t *)rs->db);
    for (uint32_t i = 0; i < rs->npats && rs->pat_src; i++)
        free(rs->pat_src[i]);
    free(rs->pat_src);
    free(rs->pats);
    free(rs->groups);
    free(rs->rxrefs);
    for (uint32_t i = 0; i < rs->nblocs; i++) {
        free(rs->blocs[i].name);
        free_strs(&rs->blocs[i].ids);
    }
    free(rs->blocs);
    for (uint32_t i = 0; i < rs->nsides; i++)
        free_strs(&rs->sides[i].ids);
    free(rs->sides);
    for (uint32_t i = 0; i < rs->nfiles; i++)
        free(rs->files[i]);
    free(rs->files);
    free(rs);
}

int rules_lang(const struct ruleset *rs, const char *code)
{
    if (!code)
        return -1;
    for (uint32_t i = 0; i < rs->nlangs; i++)
        if (strcmp(rs->langs[i], code) == 0)
            return (int)i;
    return -1;
}

int rules_active_list(const struct rules_termset *ts, int lang)
{
    if (lang >= 0)
        for (uint32_t i = 0; i < ts->nlists; i++)
            if (ts->lists[i].lang == lang)
                return (int)i;
    return ts->fallback;
}

const struct rules_entry *rules_lookup(const struct ruleset *rs, int lang, int folded,
                                       const char *key, size_t len, uint32_t *n)
{
    *n = 0;
    if (!rs->keycap)
        return NULL;
    uint32_t slot = (uint32_t)key_hash(lang, folded ? 1 : 0, key, len) & (rs->keycap - 1);
    while (rs->keys[slot].key) {
        const struct rules_key *k = &rs->keys[slot];
        if (k->len == len && k->lang == lang && k->folded == (folded ? 1 : 0) &&
            memcmp(k->key, key, len) == 0) {
            *n = k->count;
            return &rs->entries[k->first];
        }
        slot = (slot + 1) & (rs->keycap - 1);
    }
    return NULL;
}

int rules_strs_has(const struct rules_strs *s, const char *key)
{
    for (uint32_t k = 0; k < s->n; k++)
        if (strcmp(s->v[k], key) == 0)
            return 1;
    return 0;
}

int rules_allied(const struct ruleset *rs, const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    if (strcmp(a, b) == 0)
        return 1;
    for (uint32_t i = 0; i < rs->nblocs; i++)
        if (rules_strs_has(&rs->blocs[i].ids, a) && rules_strs_has(&rs->blocs[i].ids, b))
            return 1;
    return 0;
}

int rules_enemies(const struct ruleset *rs, const char *a, const char *b)
{
    if (!a || !b || strcmp(a, b) == 0)
        return 0;
    for (uint32_t i = 0; i < rs->nsides; i++) {
        if (!rules_strs_has(&rs->sides[i].ids, a))
            continue;
        for (uint32_t j = 0; j < rs->nsides; j++)
            if (j != i && rs->sides[j].conflict == rs->sides[i].conflict &&
                rules_strs_has(&rs->sides[j].ids, b))
                return 1;
    }
    return 0;
}
