#include "ev.h"

#include <math.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "stem.h"
#include "tok.h"

#define EV_MAX_WORDS 400     /* words looked at per sentence (the rest is ignored) */
#define EV_MAX_CAND 6        /* candidates per role */
#define EV_MAX_TRIGGERS 256  /* trigger occurrences evaluated per rule and document */
#define EV_MAX_EXPLAIN 40    /* explained candidates per rule */
#define EV_DEFAULT_EVENTS 50 /* events per document unless max_events says otherwise */
#define EV_GOV_WINDOW 3      /* words before a governing verb searched for its negation */
#define EV_THAT_WINDOW 6     /* words after a speech verb searched for "that" */
#define EV_EVIDENCE_MAX 600  /* evidence text bytes; longer sentences are cut around the match */
#define EV_WHY 320
#define EV_MAX_TEXT (32 << 20) /* bytes of text (and of title) per document */
/* Vectorscan 5.4.9 (Debian 12, seen on AVX-512 hosts) misses multi-literal
 * matches that end within 31 bytes of the end of the scanned buffer. Every
 * scan therefore runs over a copy followed by this many NUL bytes, and
 * matches ending in the padding are ignored. tests/events/test_engine.c
 * (test_matches_at_the_end) guards it. */
#define EV_SCAN_PAD 64

/* ------------------------------------------------------------------ */
/* Per-document state, kept in the worker and reused                   */

struct ev_mention {
    const char *id, *type, *name, *key; /* key: affiliation, else id */
    uint32_t start, end;
    int sent;
    int w0, w1; /* word span in its sentence, -1 when unmapped */
    uint8_t demonym, guessed;
};

struct ev_word {
    uint32_t start, end; /* bytes in the sentence's field */
    uint32_t fold;       /* offset into the fold pool */
    uint16_t flen;
    uint16_t lex; /* bit per lexicon category with an occurrence starting here */
    uint8_t brk;
};

struct ev_occ {
    uint32_t set, list, term;
    int16_t w0, w1;
};

enum { ATTR_FIRST = 0, ATTR_LAST, ATTR_SOURCE, ATTR_PASSIVE, ATTR_COLON };

struct ev_attr {
    int16_t cue0, cue1;
    uint8_t form;
    int16_t c0, c1; /* content words (inclusive); c0 > c1 = none */
    int16_t x0, x1; /* excluded zone inside the content (the speaker's segment) */
    int16_t a0, a1; /* addressee zone: "told Putin that" */
    int32_t spk[2];
    uint8_t nspk;
    uint8_t spk_pronoun; /* "He said": the speaker comes from the previous sentence */
    uint32_t cue_occ;    /* index into the occurrence pool */
};

struct ev_sent {
    uint32_t start, end;
    uint8_t field; /* 0 text, 1 title */
    uint8_t matched, analysed;
    uint32_t w0, nw;
    uint32_t o0, no;
    uint32_t a0, na;
    uint32_t m0, nm; /* into msort */
};

struct ev_rx {
    uint32_t pat; /* index into ruleset.rxrefs */
    uint32_t from, to;
    uint8_t field;
};

/* A prefilter match, kept until sentences are known. */
struct ev_hit {
    uint32_t pat, from;
    uint8_t field;
};

enum { CAND_PRONOUN = 1, CAND_FAR = 2, CAND_LOC = 4 };

struct ev_cand {
    int32_t m;   /* mention index */
    int16_t pos; /* word the candidate stands at (the pronoun for pronouns) */
    uint8_t flags;
    int8_t attr; /* speakers: index of the attribution (in the governing list) */
};

struct ev_event {
    uint32_t rule;
    int sent;
    double conf;
    char *key; /* type \x1f actor \x1f object */
    json_t *json;
};

struct ev_worker {
    const struct ruleset *rs;
    hs_scratch_t *scratch;
    struct sb_stemmer *st[RULES_MAX_LANGS];
    uint8_t st_tried[RULES_MAX_LANGS];

    struct ev_sent *sent;
    size_t sent_cap;
    struct tok_span *spans;
    size_t spans_cap;
    struct ev_word *words;
    size_t words_cap, nwords;
    char *folds;
    size_t folds_cap, nfolds;
    struct ev_occ *occ;
    size_t occ_cap, nocc;
    struct ev_attr *attr;
    size_t attr_cap, nattr;
    struct ev_mention *ment;
    size_t ment_cap;
    uint32_t *msort;
    size_t msort_cap;
    struct ev_rx *rx;
    size_t rx_cap, nrx;
    uint64_t *bits; /* prefilter groups seen, per sentence */
    size_t bits_cap;
    uint64_t *docbits; /* prefilter groups seen anywhere in the document */
    size_t docbits_cap;
    struct ev_hit *hits;
    size_t hits_cap, nhits;
    char *scanbuf; /* text or title plus EV_SCAN_PAD NUL bytes */
    size_t scanbuf_cap;
    int *act;          /* list of each termset for act_lang (-1 none) */
    uint32_t *actmask; /* lists that match at all: act, and for lexicons the fallback too */
    int act_lang;      /* language act was computed for; -2 = none yet */
    uint8_t langs[RULES_MAX_LANGS];
    uint32_t nlangs;
    int8_t *memo;
    size_t memo_cap;
    uint32_t *tbest; /* per term of a list: best occurrence and its distance */
    int *tdist;
    size_t tbest_cap, tdist_cap;
    char *stems;
    size_t stems_cap;
    uint32_t stem_off[EV_MAX_WORDS];
    uint16_t stem_len[EV_MAX_WORDS];
    struct tok_word tw[EV_MAX_WORDS + 1];
    struct ev_event *ev;
    size_t ev_cap, nev;
    struct ev_stats stats;
};

struct ev_doc {
    const struct ruleset *rs;
    struct ev_worker *w;
    const char *text, *title;
    size_t len, tlen;
    int lang;
    uint8_t langs[RULES_MAX_LANGS]; /* languages whose stems are needed */
    uint32_t nlangs;
    uint32_t ns, ntext; /* sentences in all; text sentences (the title is ntext) */
    int has_title;
    uint32_t nm;
    int explain;
    int oom;
    uint32_t gw; /* 64-bit words of group bits per sentence */
    json_t *doc;
    int mentions_loaded;
};

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*v, nc * size);
    if (!p)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}
#define ENSURE(w, f, need) grow((void **)&(w)->f, &(w)->f##_cap, (need), sizeof *(w)->f)

int ev_worker_new(const struct ruleset *rs, struct ev_worker **out, struct vigil_error *err)
{
    struct ev_worker *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w)
        return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    w->rs = rs;
    if (rs->db && hs_alloc_scratch((const hs_database_t *)rs->db, &w->scratch) != HS_SUCCESS) {
        free(w);
        return vigil_error_set(err, VIGIL_ENOMEM, "events: cannot allocate Vectorscan scratch");
    }
    w->act = calloc(rs->nsets ? rs->nsets : 1, sizeof *w->act);
    w->actmask = calloc(rs->nsets ? rs->nsets : 1, sizeof *w->actmask);
    w->act_lang = -2;
    if (!w->act || !w->actmask) {
        ev_worker_free(w);
        return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    }
    *out = w;
    return VIGIL_OK;
}

void ev_worker_free(struct ev_worker *w)
{
    if (!w)
        return;
    if (w->scratch)
        hs_free_scratch(w->scratch);
    for (int i = 0; i < RULES_MAX_LANGS; i++)
        stem_free(w->st[i]);
    free(w->sent);
    free(w->spans);
    free(w->words);
    free(w->folds);
    free(w->occ);
    free(w->attr);
    free(w->ment);
    free(w->msort);
    free(w->rx);
    free(w->bits);
    free(w->docbits);
    free(w->hits);
    free(w->scanbuf);
    free(w->act);
    free(w->actmask);
    free(w->memo);
    free(w->tbest);
    free(w->tdist);
    free(w->stems);
    for (size_t i = 0; i < w->nev; i++) {
        free(w->ev[i].key);
        json_decref(w->ev[i].json);
    }
    free(w->ev);
    free(w);
}

void ev_worker_stats(const struct ev_worker *w, struct ev_stats *out)
{
    *out = w->stats;
}

static struct sb_stemmer *stemmer(struct ev_worker *w, int lang)
{
    if (!w->st_tried[lang]) {
        w->st_tried[lang] = 1;
        w->st[lang] = stem_new(w->rs->algo[lang]);
    }
    return w->st[lang];
}

static const char *field_text(const struct ev_doc *d, int field)
{
    return field ? d->title : d->text;
}

/* ------------------------------------------------------------------ */
/* Reading the document                                                */

static int load_sentences(struct ev_doc *d, json_t *doc)
{
    struct ev_worker *w = d->w;
    json_t *arr = json_object_get(doc, VIGIL_DOC_SENTENCES);
    size_t n = 0;
    int ok = json_is_array(arr) && json_array_size(arr) > 0;
    if (ok) {
        if (ENSURE(w, spans, json_array_size(arr) + 1))
            return -1;
        uint32_t prev = 0;
        size_t i;
        json_t *sp;
        json_array_foreach(arr, i, sp)
        {
            json_t *a = json_array_get(sp, 0), *b = json_array_get(sp, 1);
            if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < prev ||
                json_integer_value(b) <= json_integer_value(a) ||
                (size_t)json_integer_value(b) > d->len) {
                ok = 0;
                break;
            }
            w->spans[n].start = (uint32_t)json_integer_value(a);
            w->spans[n].end = (uint32_t)json_integer_value(b);
            prev = w->spans[n].end;
            n++;
        }
    }
    if (!ok) {
        /* No usable sentences: split here (docs/rules.md, "Sentences"). */
        n = tok_sentences(d->text, d->len, w->spans, w->spans_cap);
        if (n > w->spans_cap) {
            if (ENSURE(w, spans, n))
                return -1;
            n = tok_sentences(d->text, d->len, w->spans, w->spans_cap);
        }
    }
    if (ENSURE(w, sent, n + 1))
        return -1;
    memset(w->sent, 0, (n + 1) * sizeof *w->sent);
    for (size_t i = 0; i < n; i++) {
        w->sent[i].start = w->spans[i].start;
        w->sent[i].end = w->spans[i].end;
    }
    d->ntext = (uint32_t)n;
    d->ns = (uint32_t)n;
    if (d->tlen > 0) {
        w->sent[n].start = 0;
        w->sent[n].end = (uint32_t)d->tlen;
        w->sent[n].field = 1;
        d->has_title = 1;
        d->ns++;
    }
    return 0;
}

/* Text sentence containing byte off, or -1. */
static int sent_at(const struct ev_doc *d, uint32_t off)
{
    const struct ev_sent *s = d->w->sent;
    int lo = 0, hi = (int)d->ntext - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (off < s[mid].start)
            hi = mid - 1;
        else if (off >= s[mid].end)
            lo = mid + 1;
        else
            return mid;
    }
    return -1;
}

/* Length of the dash that separates a dateline from the story at p
 * (" - ", " -- ", " — ", " – "), or 0. */
static size_t dateline_dash(const char *t, size_t len, size_t p)
{
    if (p + 2 >= len || t[p] != ' ')
        return 0;
    const unsigned char *u = (const unsigned char *)t + p + 1;
    size_t rest = len - p - 1;
    size_t n = 0;
    if (rest >= 2 && u[0] == '-' && u[1] == '-')
        n = 2;
    else if (u[0] == '-')
        n = 1;
    else if (rest >= 3 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0x94 || u[2] == 0x93))
        n = 3;
    if (n == 0 || n >= rest || u[n] != ' ')
        return 0;
    return 1 + n + 1;
}

/*
 * End of the wire dateline that opens the sentence starting at `from`, or 0
 * when the sentence has none. A dateline names where the reporter filed
 * from, not who acts: its place must never become an event's actor or
 * object. Three shapes:
 *   - capitals (no lowercase letter, at most 32 bytes) ended by ',' or " (",
 *     then a dash separator within 80 bytes: "KYIV, June 12 (World Desk) - ",
 *     "MOSCOW (Reuters) -- ";
 *   - capitals ended by ". ": "KIEW/SEOUL. " (German agency style);
 *   - a capitalised place of at most 32 bytes, then a parenthesis of at most
 *     24 bytes and a dash: "Berlin (dpa) - ".
 */
static size_t dateline_end(const char *t, size_t len, size_t from)
{
    size_t p = from, upper = 0, lower = 0;
    while (p < len && (t[p] == ' ' || t[p] == '\n' || t[p] == '\t'))
        p++;
    if (p >= len || !(t[p] >= 'A' && t[p] <= 'Z'))
        return 0;
    size_t q = p;
    for (; q < len && q - p <= 32; q++) {
        unsigned char c = (unsigned char)t[q];
        if (c == ',' || (c == ' ' && q + 1 < len && t[q + 1] == '('))
            break;
        if (c == '.' && upper >= 3 && lower == 0 && q + 1 < len && t[q + 1] == ' ')
            return q + 2; /* "KIEW/SEOUL. " */
        if (c >= 'a' && c <= 'z')
            lower++;
        else if (c >= 'A' && c <= 'Z')
            upper++;
        else if (!(c == ' ' || c == '.' || c == '\'' || c == '-' || c == '/' || c >= 0x80))
            return 0;
    }
    if (q >= len || q - p > 32)
        return 0;
    if (lower > 0) {
        /* "Berlin (dpa) - ": a short parenthesis right before the dash. */
        if (t[q] != ' ' || q + 1 >= len || t[q + 1] != '(')
            return 0;
        const char *close = memchr(t + q + 1, ')', len - q - 1 < 26 ? len - q - 1 : 26);
        if (!close)
            return 0;
        size_t n = dateline_dash(t, len, (size_t)(close - t) + 1);
        return n ? (size_t)(close - t) + 1 + n : 0;
    }
    if (upper < 2)
        return 0;
    for (size_t r = q; r < len && r - q <= 80; r++) {
        size_t n = dateline_dash(t, len, r);
        if (n)
            return r + n;
        if (t[r] == '\n')
            return 0;
    }
    return 0;
}

static int mention_cmp(const void *a, const void *b, void *arg)
{
    const struct ev_mention *m = arg;
    const struct ev_mention *x = &m[*(const uint32_t *)a], *y = &m[*(const uint32_t *)b];
    if (x->sent != y->sent)
        return x->sent < y->sent ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end;
}

static int load_mentions(struct ev_doc *d, json_t *doc)
{
    struct ev_worker *w = d->w;
    json_t *arr = json_object_get(json_object_get(doc, VIGIL_DOC_ENTITIES), "mentions");
    d->nm = 0;
    if (!json_is_array(arr))
        return 0;
    if (ENSURE(w, ment, json_array_size(arr) + 1) || ENSURE(w, msort, json_array_size(arr) + 1))
        return -1;
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        /* One pass over the members instead of a lookup per field. */
        const char *id = NULL, *type = NULL, *name = NULL, *aff = NULL, *surface = NULL;
        const char *field = NULL;
        json_t *js = NULL, *je = NULL;
        int demonym = 0, guessed = 0;
        const char *key;
        json_t *val;
        json_object_foreach(m, key, val)
        {
            switch (key[0]) {
            case 'i':
                if (!strcmp(key, "id"))
                    id = json_string_value(val);
                break;
            case 't':
                if (!strcmp(key, "type"))
                    type = json_string_value(val);
                break;
            case 'n':
                if (!strcmp(key, "name"))
                    name = json_string_value(val);
                break;
            case 'a':
                if (!strcmp(key, "affiliation"))
                    aff = json_string_value(val);
                break;
            case 's':
                if (!strcmp(key, "start"))
                    js = val;
                else if (!strcmp(key, "surface"))
                    surface = json_string_value(val);
                break;
            case 'e':
                if (!strcmp(key, "end"))
                    je = val;
                break;
            case 'f':
                if (!strcmp(key, "field"))
                    field = json_string_value(val);
                break;
            case 'd':
                if (!strcmp(key, "demonym"))
                    demonym = json_is_true(val);
                break;
            case 'g':
                if (!strcmp(key, "guessed"))
                    guessed = json_is_true(val);
                break;
            default: break;
            }
        }
        if (!id || !json_is_integer(js) || !json_is_integer(je))
            continue;
        json_int_t s = json_integer_value(js), e = json_integer_value(je);
        int in_title = field && strcmp(field, "title") == 0;
        size_t limit = in_title ? d->tlen : d->len;
        if (s < 0 || e <= s || (size_t)e > limit)
            continue;
        int sent;
        if (in_title) {
            if (!d->has_title)
                continue;
            sent = (int)d->ntext;
        } else {
            sent = sent_at(d, (uint32_t)s);
            if (sent < 0)
                continue;
            const struct ev_sent *se = &w->sent[sent];
            if ((size_t)s - se->start <= 48 &&
                (size_t)e <= dateline_end(d->text, se->end, se->start))
                continue;
        }
        struct ev_mention *x = &w->ment[d->nm];
        x->id = id;
        x->type = type ? type : "";
        x->name = name ? name : surface ? surface : id;
        x->key = aff ? aff : id;
        x->start = (uint32_t)s;
        x->end = (uint32_t)e;
        x->sent = sent;
        x->w0 = x->w1 = -1;
        x->demonym = (uint8_t)demonym;
        x->guessed = (uint8_t)guessed;
        w->msort[d->nm] = d->nm;
        d->nm++;
    }
    if (d->nm > 1)
        qsort_r(w->msort, d->nm, sizeof *w->msort, mention_cmp, w->ment);
    for (uint32_t k = 0; k < d->nm; k++) {
        struct ev_sent *s = &w->sent[w->ment[w->msort[k]].sent];
        if (s->nm == 0)
            s->m0 = k;
        s->nm++;
    }
    return 0;
}

struct scan_ctx {
    struct ev_doc *d;
    const char *base;
    size_t len;
    int field;
};

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *arg)
{
    struct scan_ctx *sc = arg;
    struct ev_doc *d = sc->d;
    const struct rules_pattern *p = &d->rs->pats[id];
    (void)flags;
    if (to > sc->len)
        return 0; /* in the padding */
    if (p->width)
        from = to - p->width; /* compiled without start of match */
    if (!p->regex && !tok_word_starts_at(sc->base, (size_t)from))
        return 0;
    for (uint32_t k = 0; k < p->ng; k++) {
        uint32_t g = d->rs->groups[p->g0 + k];
        d->w->docbits[g / 64] |= 1ull << (g % 64);
    }
    if (p->ng > 0) {
        if (ENSURE(d->w, hits, d->w->nhits + 1)) {
            d->oom = 1;
            return 1;
        }
        d->w->hits[d->w->nhits++] =
            (struct ev_hit){.pat = id, .from = (uint32_t)from, .field = (uint8_t)sc->field};
    }
    for (uint32_t k = 0; k < p->nr; k++) {
        uint32_t ref = p->r0 + k;
        const struct rules_entry *e = &d->rs->rxrefs[ref];
        if (!(d->w->actmask[e->termset] >> e->list & 1))
            continue;
        if (ENSURE(d->w, rx, d->w->nrx + 1)) {
            d->oom = 1;
            return 1;
        }
        d->w->rx[d->w->nrx++] = (struct ev_rx){
            .pat = ref, .from = (uint32_t)from, .to = (uint32_t)to, .field = (uint8_t)sc->field};
    }
    return 0;
}

/* Scan text and title once for every prefilter literal and regex term:
 * which rule words occur where (docbits, hits) and regex matches (rx). */
static int scan(struct ev_doc *d)
{
    d->gw = (d->rs->ngroups + 63) / 64;
    if (d->gw == 0)
        d->gw = 1;
    if (ENSURE(d->w, docbits, d->gw))
        return -1;
    memset(d->w->docbits, 0, d->gw * sizeof *d->w->docbits);
    if (!d->rs->db)
        return 0;
    for (int field = 0; field < 2; field++) {
        const char *text = field ? d->title : d->text;
        size_t len = field ? d->tlen : d->len;
        if (len == 0)
            continue;
        if (ENSURE(d->w, scanbuf, len + EV_SCAN_PAD))
            return -1;
        memcpy(d->w->scanbuf, text, len);
        memset(d->w->scanbuf + len, 0, EV_SCAN_PAD);
        struct scan_ctx sc = {d, text, len, field};
        if (hs_scan((const hs_database_t *)d->rs->db, d->w->scanbuf,
                    (unsigned int)(len + EV_SCAN_PAD), 0, d->w->scratch, on_match,
                    &sc) == HS_SCAN_TERMINATED &&
            d->oom)
            return -1;
    }
    return 0;
}

static int has_bits(const uint64_t *bits, const uint32_t *req, uint32_t n)
{
    for (uint32_t q = 0; q < n; q++)
        if (!(bits[req[q] / 64] >> (req[q] % 64) & 1))
            return 0;
    return 1;
}

/* Group bits per sentence, from the hits of the scan. */
static int place_hits(struct ev_doc *d)
{
    struct ev_worker *w = d->w;
    if (ENSURE(w, bits, (size_t)d->ns * d->gw + 1))
        return -1;
    memset(w->bits, 0, ((size_t)d->ns * d->gw + 1) * sizeof *w->bits);
    for (size_t i = 0; i < w->nhits; i++) {
        const struct ev_hit *h = &w->hits[i];
        int si = h->field ? (d->has_title ? (int)d->ntext : -1) : sent_at(d, h->from);
        if (si < 0)
            continue;
        const struct rules_pattern *p = &d->rs->pats[h->pat];
        uint64_t *bits = w->bits + (size_t)si * d->gw;
        for (uint32_t k = 0; k < p->ng; k++) {
            uint32_t g = d->rs->groups[p->g0 + k];
            bits[g / 64] |= 1ull << (g % 64);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sentence matching                                                   */

static const char *fold_of(const struct ev_doc *d, const struct ev_word *wd)
{
    return d->w->folds + wd->fold;
}

static int word_matches(const struct ev_doc *d, const struct ev_sent *s,
                        const struct rules_word *rw, uint32_t i)
{
    struct ev_worker *w = d->w;
    const struct ev_word *wd = &w->words[s->w0 + i];
    const char *f = fold_of(d, wd);
    switch (rw->mode) {
    case RULES_STEM:
        return w->stem_len[i] == rw->len &&
               memcmp(w->stems + w->stem_off[i], rw->key, rw->len) == 0;
    case RULES_EXACT: return wd->flen == rw->len && memcmp(f, rw->key, rw->len) == 0;
    case RULES_CASE: {
        size_t sl = strlen(rw->surface);
        return wd->end - wd->start == sl &&
               memcmp(field_text(d, s->field) + wd->start, rw->surface, sl) == 0;
    }
    case RULES_PREFIX: return wd->flen >= rw->len && memcmp(f, rw->key, rw->len) == 0;
    }
    return 0;
}

static int add_occ(struct ev_doc *d, const struct rules_entry *e, int w0, int w1)
{
    struct ev_worker *w = d->w;
    if (ENSURE(w, occ, w->nocc + 1))
        return -1;
    w->occ[w->nocc++] = (struct ev_occ){e->termset, e->list, e->term, (int16_t)w0, (int16_t)w1};
    return 0;
}

static int try_entry(struct ev_doc *d, const struct ev_sent *s, const struct rules_entry *e,
                     uint32_t i, int first_checked)
{
    const struct rules_variant *v =
        &d->rs->sets[e->termset].lists[e->list].t[e->term].v[e->variant];
    if (!(d->w->actmask[e->termset] >> e->list & 1))
        return 0;
    if (i + v->n > s->nw)
        return 0;
    for (uint32_t k = first_checked ? 1 : 0; k < v->n; k++)
        if (!word_matches(d, s, &v->w[k], i + k))
            return 0;
    return add_occ(d, e, (int)i, (int)(i + v->n - 1));
}

static int occ_cmp(const void *a, const void *b)
{
    const struct ev_occ *x = a, *y = b;
    if (x->w0 != y->w0)
        return x->w0 - y->w0;
    if (x->set != y->set)
        return x->set < y->set ? -1 : 1;
    if (x->term != y->term)
        return x->term < y->term ? -1 : 1;
    return y->w1 - x->w1;
}

static int match_sent(struct ev_doc *d, uint32_t si)
{
    struct ev_worker *w = d->w;
    const struct ruleset *rs = d->rs;
    struct ev_sent *s = &w->sent[si];
    if (s->matched)
        return 0;
    s->matched = 1;
    w->stats.matched++;
    const char *base = field_text(d, s->field);
    size_t n = tok_words(base, s->start, s->end, w->tw, EV_MAX_WORDS + 1, NULL);
    if (n > EV_MAX_WORDS)
        n = EV_MAX_WORDS;
    if (ENSURE(w, words, w->nwords + n) ||
        ENSURE(w, folds, w->nfolds + n * (RULES_MAX_WORD + 1) + 1))
        return -1;
    s->w0 = (uint32_t)w->nwords;
    s->nw = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        struct ev_word *wd = &w->words[w->nwords++];
        wd->start = w->tw[i].start;
        wd->end = w->tw[i].end;
        wd->brk = w->tw[i].brk;
        wd->lex = 0;
        size_t fl =
            tok_fold(base + wd->start, wd->end - wd->start, w->folds + w->nfolds, RULES_MAX_WORD);
        if (fl == (size_t)-1) {
            fl = 0; /* longer than any term word: never matches */
            w->folds[w->nfolds] = '\0';
        }
        wd->fold = (uint32_t)w->nfolds;
        wd->flen = (uint16_t)fl;
        w->nfolds += fl + 1;
    }
    s->o0 = (uint32_t)w->nocc;
    for (uint32_t li = 0; li < d->nlangs; li++) {
        int lang = d->langs[li];
        struct sb_stemmer *st = stemmer(w, lang);
        size_t used = 0;
        if (ENSURE(w, stems, n * (RULES_MAX_WORD + 1) + 1))
            return -1;
        for (uint32_t i = 0; i < n; i++) {
            const struct ev_word *wd = &w->words[s->w0 + i];
            size_t sl = stem_word(st, fold_of(d, wd), wd->flen, w->stems + used, RULES_MAX_WORD);
            if (sl == (size_t)-1)
                sl = 0;
            w->stem_off[i] = (uint32_t)used;
            w->stem_len[i] = (uint16_t)sl;
            used += sl + 1;
        }
        for (uint32_t i = 0; i < n; i++) {
            const struct ev_word *wd = &w->words[s->w0 + i];
            uint32_t ne = 0;
            const struct rules_entry *es;
            if (w->stem_len[i] > 0) {
                es = rules_lookup(rs, lang, 0, w->stems + w->stem_off[i], w->stem_len[i], &ne);
                for (uint32_t k = 0; k < ne; k++)
                    if (try_entry(d, s, &es[k], i, 1))
                        return -1;
            }
            if (wd->flen > 0) {
                es = rules_lookup(rs, lang, 1, fold_of(d, wd), wd->flen, &ne);
                for (uint32_t k = 0; k < ne; k++)
                    if (try_entry(d, s, &es[k], i, 0))
                        return -1;
            }
            for (uint32_t k = 0; k < rs->nprefixed && wd->flen > 0; k++) {
                const struct rules_entry *pe = &rs->prefixed[k];
                const struct rules_word *fw =
                    &rs->sets[pe->termset].lists[pe->list].t[pe->term].v[pe->variant].w[0];
                if (fw->key[0] == fold_of(d, wd)[0] &&
                    rs->sets[pe->termset].lists[pe->list].lang == lang && try_entry(d, s, pe, i, 0))
                    return -1;
            }
        }
    }
    /* Regex terms found by the scan. */
    for (size_t k = 0; k < w->nrx; k++) {
        const struct ev_rx *x = &w->rx[k];
        if (x->field != s->field || x->from < s->start || x->from >= s->end)
            continue;
        int a = -1, b = -1;
        for (uint32_t i = 0; i < n; i++) {
            const struct ev_word *wd = &w->words[s->w0 + i];
            if (wd->end > x->from && wd->start < x->to) {
                if (a < 0)
                    a = (int)i;
                b = (int)i;
            }
        }
        if (a < 0)
            continue;
        if (add_occ(d, &rs->rxrefs[x->pat], a, b))
            return -1;
    }
    s->no = (uint32_t)(w->nocc - s->o0);
    if (s->no > 1)
        qsort(w->occ + s->o0, s->no, sizeof *w->occ, occ_cmp);
    /* One occurrence per term and start word (the longest form). */
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->no; i++) {
        struct ev_occ *o = &w->occ[s->o0 + i];
        if (k > 0) {
            struct ev_occ *p = &w->occ[s->o0 + k - 1];
            if (p->w0 == o->w0 && p->set == o->set && p->list == o->list && p->term == o->term)
                continue;
        }
        w->occ[s->o0 + k++] = *o;
    }
    s->no = k;
    w->nocc = s->o0 + k;
    for (uint32_t i = 0; i < s->no; i++) {
        const struct ev_occ *o = &w->occ[s->o0 + i];
        for (int c = 0; c < RULES_LEX_N; c++)
            if (rs->lex[c] >= 0 && o->set == (uint32_t)rs->lex[c])
                w->words[s->w0 + o->w0].lex |= (uint16_t)(1u << c);
    }
    /* Mentions onto words. */
    for (uint32_t i = 0; i < s->nm; i++) {
        struct ev_mention *m = &w->ment[w->msort[s->m0 + i]];
        m->w0 = m->w1 = -1;
        for (uint32_t j = 0; j < n; j++) {
            const struct ev_word *wd = &w->words[s->w0 + j];
            if (wd->end > m->start && wd->start < m->end) {
                if (m->w0 < 0)
                    m->w0 = (int)j;
                m->w1 = (int)j;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sentence structure: clauses, segments, attributions                 */

static const struct ev_word *W(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    return &d->w->words[s->w0 + (uint32_t)i];
}

static int has_lex(const struct ev_doc *d, const struct ev_sent *s, int i, int cat)
{
    return i >= 0 && (uint32_t)i < s->nw && (W(d, s, i)->lex & (1u << cat));
}

static int clause_starts(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    return i == 0 || (W(d, s, i)->brk & (TOK_BRK_CLAUSE | TOK_BRK_STOP)) ||
           has_lex(d, s, i, RULES_LEX_CLAUSE);
}

static int clause_start(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    while (i > 0 && !clause_starts(d, s, i))
        i--;
    return i;
}

static int clause_end(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    while (i + 1 < (int)s->nw && !clause_starts(d, s, i + 1))
        i++;
    return i;
}

static int seg_start(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    while (i > 0 && !(W(d, s, i)->brk & TOK_BRK_SEGMENT))
        i--;
    return i;
}

static int seg_end(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    while (i + 1 < (int)s->nw && !(W(d, s, i + 1)->brk & TOK_BRK_SEGMENT))
        i++;
    return i;
}

static struct ev_mention *M(const struct ev_doc *d, int32_t m)
{
    return &d->w->ment[m];
}

/* Mentions of s wholly inside [a, b], in text order, into out (max n). */
static int mentions_in(const struct ev_doc *d, const struct ev_sent *s, int a, int b, int32_t *out,
                       int max)
{
    int n = 0;
    for (uint32_t i = 0; i < s->nm && n < max; i++) {
        int32_t mi = (int32_t)d->w->msort[s->m0 + i];
        const struct ev_mention *m = M(d, mi);
        if (m->w0 >= a && m->w1 <= b && m->w0 >= 0)
            out[n++] = mi;
    }
    return n;
}

static int any_mention(const struct ev_doc *d, const struct ev_sent *s, int a, int b)
{
    int32_t one[1];
    return a <= b && mentions_in(d, s, a, b, one, 1) > 0;
}

/* Last word of the longest occurrence of lexicon category cat starting at i. */
static int lex_end(const struct ev_doc *d, const struct ev_sent *s, int cat, int i)
{
    int end = i;
    for (uint32_t k = 0; k < s->no; k++) {
        const struct ev_occ *o = &d->w->occ[s->o0 + k];
        if (o->w0 == i && o->set == (uint32_t)d->rs->lex[cat] && o->w1 > end)
            end = o->w1;
    }
    return end;
}

static int occ_of(const struct ev_doc *d, const struct ev_sent *s, int cat, int from, int to)
{
    /* First occurrence of lexicon category cat starting in [from, to]. */
    if (d->rs->lex[cat] < 0)
        return -1;
    for (int i = from < 0 ? 0 : from; i <= to && i < (int)s->nw; i++)
        if (has_lex(d, s, i, cat))
            return i;
    return -1;
}

static void speakers(const struct ev_doc *d, const struct ev_sent *s, struct ev_attr *a, int lo,
                     int hi)
{
    int32_t buf[8];
    int n = mentions_in(d, s, lo, hi, buf, 8);
    for (int i = 0; i < n && a->nspk < 2; i++)
        a->spk[a->nspk++] = buf[i];
}

static int match_sent(struct ev_doc *d, uint32_t si);
static int analyse(struct ev_doc *d, uint32_t si, int depth);
static int word_in_mention(const struct ev_doc *d, const struct ev_sent *s, int i);

/* The speaker a sentence-initial "He said" refers to: the first speaker of
 * the previous text sentence, else its first person or organisation. */
static int32_t previous_speaker(struct ev_doc *d, uint32_t si)
{
    struct ev_worker *w = d->w;
    if (si == 0 || si > d->ntext || !w->sent[si - 1].analysed)
        return -1;
    const struct ev_sent *p = &w->sent[si - 1];
    for (uint32_t k = 0; k < p->na; k++)
        if (w->attr[p->a0 + k].nspk > 0)
            return w->attr[p->a0 + k].spk[0];
    for (uint32_t k = 0; k < p->nm; k++) {
        int32_t mi = (int32_t)w->msort[p->m0 + k];
        const char *t = w->ment[mi].type;
        if (!strcmp(t, "person") || !strcmp(t, "organisation") || !strcmp(t, "country"))
            return mi;
    }
    return -1;
}

static int locative_before(const struct ev_doc *d, const struct ev_sent *s, int w0);

/* Whether one of the two words before w0 is a preposition ("in Kursk",
 * "of the ministry"). */
static int after_preposition(const struct ev_doc *d, const struct ev_sent *s, int w0)
{
    return has_lex(d, s, w0 - 1, RULES_LEX_PREP) || has_lex(d, s, w0 - 2, RULES_LEX_PREP);
}

/* Whether words lo..hi after an attribution verb read as its content: a
 * mention not right after a preposition, or a term of some rule (a lexicon
 * cue is not one). */
static int tail_has_content(const struct ev_doc *d, const struct ev_sent *s, int lo, int hi)
{
    int32_t buf[8];
    int n = mentions_in(d, s, lo, hi, buf, 8);
    for (int i = 0; i < n; i++) {
        int w0 = M(d, buf[i])->w0;
        if (!after_preposition(d, s, w0) && !locative_before(d, s, w0))
            return 1;
    }
    for (uint32_t k = 0; k < s->no; k++) {
        const struct ev_occ *o = &d->w->occ[s->o0 + k];
        if (o->w0 < lo || o->w0 > hi)
            continue;
        int lex = 0;
        for (int c = 0; c < RULES_LEX_N && !lex; c++)
            lex = d->rs->lex[c] >= 0 && o->set == (uint32_t)d->rs->lex[c];
        if (!lex)
            return 1;
    }
    return 0;
}

/* The agent marker of a passive attribution verb c0..c1 ending its
 * segment at se: right after the verb ("confirmed by the Kremlin"), or a
 * few words later when a passive auxiliary comes before the verb and only
 * circumstance stands between ("was confirmed on Friday by the ministry").
 * Returns the marker's word, -1 when there is none. */
static int passive_agent(const struct ev_doc *d, const struct ev_sent *s, int c0, int c1, int se)
{
    if (c1 + 1 <= se && has_lex(d, s, c1 + 1, RULES_LEX_AGENT))
        return c1 + 1;
    if (occ_of(d, s, RULES_LEX_PASSIVE, c0 - 2, c0 - 1) < 0)
        return -1;
    int hi = c1 + 4 < se ? c1 + 4 : se;
    int by = occ_of(d, s, RULES_LEX_AGENT, c1 + 2, hi);
    if (by < 0 || any_mention(d, s, c1 + 1, by - 1) ||
        occ_of(d, s, RULES_LEX_PASSIVE, c1 + 1, by - 1) >= 0 ||
        occ_of(d, s, RULES_LEX_THAT, c1 + 1, by - 1) >= 0)
        return -1;
    return by;
}

/* '"...," Sergei Shoigu, the secretary of the Security Council, told
 * reporters': the verb opens its segment and its speaker stands in the
 * segments before it, a name and its apposition. Walks back at most two
 * segments, not past the one a closing quote opens, and takes the first
 * segment naming someone. Returns the first word of the attribution. */
static int apposed_speaker(const struct ev_doc *d, const struct ev_sent *s, struct ev_attr *a,
                           int ss)
{
    int lo[2], hi[2], k = 0;
    for (int e = ss - 1; k < 2 && e >= 0; k++) {
        lo[k] = seg_start(d, s, e);
        hi[k] = e;
        if (lo[k] == 0 || (W(d, s, lo[k])->brk & TOK_BRK_QUOTE)) {
            k++;
            break;
        }
        e = lo[k] - 1;
    }
    /* Earliest first: the name comes before its apposition. */
    for (int i = k - 1; i >= 0; i--) {
        if (lo[i] == 0)
            continue; /* the sentence's own first segment is its content */
        speakers(d, s, a, lo[i], hi[i]);
        if (a->nspk > 0)
            return lo[i];
    }
    return ss;
}

static int analyse(struct ev_doc *d, uint32_t si, int depth)
{
    struct ev_worker *w = d->w;
    const struct ruleset *rs = d->rs;
    struct ev_sent *s = &w->sent[si];
    if (s->analysed)
        return 0;
    s->analysed = 1;
    s->a0 = (uint32_t)w->nattr;
    s->na = 0;
    if (rs->lex[RULES_LEX_ATTRIBUTION] < 0 && rs->lex[RULES_LEX_SOURCE] < 0)
        return 0;
    int n = (int)s->nw;
    int prev_cue_end = -1;
    /* A headline or quote introduced by its speaker: "Gerasimov: North
     * Korean servicemen fought ...". A colon within the first six words,
     * with a mention before it. */
    for (int k = 1; k < n && k <= 6; k++) {
        if (W(d, s, k)->brk & TOK_BRK_COLON) {
            if (ENSURE(w, attr, w->nattr + 1))
                return -1;
            struct ev_attr *a = &w->attr[w->nattr];
            memset(a, 0, sizeof *a);
            a->form = ATTR_COLON;
            a->cue0 = (int16_t)k;
            a->cue1 = (int16_t)(k - 1); /* no verb: an empty cue */
            a->x0 = a->a0 = 1;
            a->x1 = a->a1 = 0;
            a->cue_occ = UINT32_MAX;
            speakers(d, s, a, 0, k - 1);
            a->c0 = (int16_t)k;
            a->c1 = (int16_t)(n - 1);
            if (a->nspk > 0) {
                w->nattr++;
                s->na++;
                prev_cue_end = k - 1;
            }
            break;
        }
        if (W(d, s, k)->brk & (TOK_BRK_CLAUSE | TOK_BRK_STOP))
            break;
    }
    for (uint32_t oi = 0; oi < s->no; oi++) {
        const struct ev_occ *o = &w->occ[s->o0 + oi];
        int is_src =
            rs->lex[RULES_LEX_SOURCE] >= 0 && o->set == (uint32_t)rs->lex[RULES_LEX_SOURCE];
        int is_attr = rs->lex[RULES_LEX_ATTRIBUTION] >= 0 &&
                      o->set == (uint32_t)rs->lex[RULES_LEX_ATTRIBUTION];
        if (!is_src && !is_attr)
            continue;
        if (o->w0 <= prev_cue_end)
            continue; /* overlaps the previous cue */
        if (word_in_mention(d, s, o->w0) || word_in_mention(d, s, o->w1))
            continue; /* part of a name: "United States", "Islamic State" */
        if (ENSURE(w, attr, w->nattr + 1))
            return -1;
        struct ev_attr *a = &w->attr[w->nattr];
        memset(a, 0, sizeof *a);
        a->cue0 = o->w0;
        a->cue1 = o->w1;
        a->cue_occ = s->o0 + oi;
        a->x0 = a->a0 = 1;
        a->x1 = a->a1 = 0; /* empty zones */
        int c0 = o->w0, c1 = o->w1, by;
        int ss = seg_start(d, s, c0), se = seg_end(d, s, c1);
        int cs = clause_start(d, s, c0);
        if (is_src) {
            /* "according to X, ...": the speaker follows, the rest is content. */
            a->form = ATTR_SOURCE;
            speakers(d, s, a, c1 + 1, se);
            /* "according to Kremlin spokesman Dmitry Peskov": one noun
             * phrase naming a body and then its person; any other mention
             * after the source is content ("Laut der Ukraine kämpfen
             * nordkoreanische Soldaten"). */
            if (a->nspk == 2 && (M(d, a->spk[1])->w0 - M(d, a->spk[0])->w1 > 3 ||
                                 strcmp(M(d, a->spk[1])->type, "person") != 0))
                a->nspk = 1;
            a->c0 = 0;
            a->c1 = (int16_t)(n - 1);
            a->x0 = (int16_t)ss;
            a->x1 = (int16_t)se;
            /* Without a comma after the source ("Nach Angaben der Ukraine
             * haben nordkoreanische Soldaten ... gekämpft", German style)
             * the segment runs on into the content: only the cue and its
             * speaker are the source. */
            int last = c1;
            for (int k = 0; k < a->nspk; k++)
                if (!a->spk_pronoun && M(d, a->spk[k])->w1 > last)
                    last = M(d, a->spk[k])->w1;
            if (a->nspk > 0 && last < se)
                a->x1 = (int16_t)last;
        } else if ((by = passive_agent(d, s, c0, c1, se)) >= 0) {
            /* "confirmed by the Kremlin", "was confirmed on Friday by the
             * ministry": the speaker follows "by". */
            a->form = ATTR_PASSIVE;
            speakers(d, s, a, by + 1, se);
            a->c0 = (int16_t)cs;
            a->c1 = (int16_t)(c0 - 1);
        } else {
            int that = occ_of(d, s, RULES_LEX_THAT, c1 + 1, c1 + EV_THAT_WINDOW);
            int tail = se - c1;
            int32_t after[2];
            int nafter = mentions_in(d, s, c1 + 1, c1 + 3 < se ? c1 + 3 : se, after, 2);
            int ends = se == n - 1 || (W(d, s, se + 1)->brk & (TOK_BRK_COMMA | TOK_BRK_QUOTE |
                                                               TOK_BRK_DASH | TOK_BRK_PAREN));
            /* After a closing quote the attribution may run longer ('..."
             * Putin said at a ceremony in Moscow') than after a comma. */
            int quoted = ss > 0 && (W(d, s, ss)->brk & TOK_BRK_QUOTE);
            int maxtail = quoted ? 8 : 4;
            int last;
            if (any_mention(d, s, ss, c0 - 1) ||
                (ss == c0 && ss > 0 && nafter == 0 &&
                 any_mention(d, s, seg_start(d, s, ss - 1), ss - 1))) {
                /* The speaker stands before the verb (or in the segment
                 * before it, a name with its apposition): the words after it
                 * are circumstance ('..., the ministry said in a statement
                 * on Sunday', '..., Belousov told a meeting of the board in
                 * Moscow') only when they name no one except after a
                 * preposition and hold no rule term; else they are the
                 * content ('On Monday, Kremlin officials said North Korean
                 * troops fought in Kursk'). */
                last = tail <= 10 && !tail_has_content(d, s, c1 + 1, se);
            } else {
                last = tail <= maxtail || (nafter > 0 && tail <= 8);
            }
            if (ss > 0 && ss >= cs && that < 0 && ends && last &&
                (W(d, s, ss)->brk &
                 (TOK_BRK_COMMA | TOK_BRK_QUOTE | TOK_BRK_DASH | TOK_BRK_PAREN))) {
                /* '"...," Gerasimov said.' or '..., said Peskov.' or a
                 * parenthetical ", Peskov said,": the rest is content. */
                a->form = ATTR_LAST;
                speakers(d, s, a, ss, c0 - 1);
                if (a->nspk == 0) { /* inverted: "said Peskov", not "told ... in Moscow" */
                    int32_t buf[8];
                    int nb = mentions_in(d, s, c1 + 1, se, buf, 8);
                    for (int i = 0; i < nb && a->nspk < 2; i++)
                        if (!locative_before(d, s, M(d, buf[i])->w0))
                            a->spk[a->nspk++] = buf[i];
                }
                int x0 = ss;
                if (a->nspk == 0 && ss == c0)
                    x0 = apposed_speaker(d, s, a, ss);
                a->c0 = 0;
                a->c1 = (int16_t)(n - 1);
                a->x0 = (int16_t)x0;
                a->x1 = (int16_t)se;
            } else {
                /* "Gerasimov told Putin that ...": speaker before, content after. */
                a->form = ATTR_FIRST;
                int lo = ss > prev_cue_end + 1 ? ss : prev_cue_end + 1;
                if (lo < cs)
                    lo = cs;
                int32_t buf[8];
                int nb = mentions_in(d, s, lo, c0 - 1, buf, 8);
                if (nb > 0) {
                    /* The mentions right before the verb, first of them first:
                     * "Kremlin spokesman Dmitry Peskov said". */
                    int first = nb - 1;
                    while (first > 0 && M(d, buf[first])->w0 - M(d, buf[first - 1])->w1 <= 3)
                        first--;
                    for (int i = first; i < nb && a->nspk < 2; i++)
                        a->spk[a->nspk++] = buf[i];
                } else if (prev_cue_end < cs) {
                    /* "Peskov, asked about the reports, said": the clause's
                     * first segment is the subject. */
                    int fe = seg_end(d, s, cs);
                    if (fe < c0)
                        speakers(d, s, a, cs, fe);
                    /* "The chief of the general staff, Valery Gerasimov,
                     * reported": else the nearest earlier segment naming
                     * someone. */
                    for (int k = ss - 1; a->nspk == 0 && k > fe; k = seg_start(d, s, k) - 1)
                        speakers(d, s, a, seg_start(d, s, k), k);
                }
                if (a->nspk == 0 && ss == c0 && c0 > 0 && (W(d, s, c0)->brk & TOK_BRK_COMMA) &&
                    w->nattr > s->a0) {
                    /* ", adding that ...": the previous speaker goes on. */
                    const struct ev_attr *p = &w->attr[w->nattr - 1];
                    for (int i = 0; i < p->nspk; i++)
                        a->spk[a->nspk++] = p->spk[i];
                    a->spk_pronoun = p->spk_pronoun == 2 ? 3 : p->spk_pronoun;
                }
                if (a->nspk == 0 && occ_of(d, s, RULES_LEX_SELF, lo, c0 - 1) >= 0)
                    a->spk_pronoun = 2; /* "He said": resolved below */
                int cstart = c1 + 1;
                if (that >= 0) {
                    a->a0 = (int16_t)(c1 + 1);
                    a->a1 = (int16_t)(that - 1);
                    cstart = that + 1;
                } else {
                    for (int i = c1 + 1; i <= c1 + EV_THAT_WINDOW && i < n; i++) {
                        if (W(d, s, i)->brk & TOK_BRK_CLAUSE) {
                            a->a0 = (int16_t)(c1 + 1);
                            a->a1 = (int16_t)(i - 1);
                            cstart = i;
                            break;
                        }
                    }
                }
                a->c0 = (int16_t)cstart;
                a->c1 = (int16_t)(n - 1);
            }
        }
        prev_cue_end = o->w1;
        w->nattr++;
        s->na++;
    }
    /* "He said ...": the speaker is who the previous sentence was about.
     * Its analysis appends after this sentence's block, so do it last, and
     * look back at most three sentences. */
    for (uint32_t k = 0; k < s->na; k++) {
        if (w->attr[s->a0 + k].spk_pronoun != 2)
            continue;
        w->attr[s->a0 + k].spk_pronoun = 0;
        if (depth >= 3 || si == 0 || si >= d->ntext)
            continue;
        if (match_sent(d, si - 1) || analyse(d, si - 1, depth + 1))
            return -1;
        int32_t ps = previous_speaker(d, si);
        struct ev_attr *a = &w->attr[s->a0 + k];
        if (ps >= 0) {
            a->spk[a->nspk++] = ps;
            a->spk_pronoun = 1;
            /* ", adding that ..." after it goes on with the same speaker. */
            for (uint32_t j = k + 1; j < s->na; j++) {
                struct ev_attr *b = &w->attr[s->a0 + j];
                if (b->nspk == 0 && b->spk_pronoun == 3) {
                    b->spk[b->nspk++] = ps;
                    b->spk_pronoun = 1;
                }
            }
        }
    }
    return 0;
}

static const char *occ_text(const struct ev_doc *d, const struct ev_sent *s, int w0, int w1,
                            char *buf, size_t len)
{
    if (w1 < w0) {
        snprintf(buf, len, ":"); /* a colon attribution has no verb */
        return buf;
    }
    const char *base = field_text(d, s->field);
    uint32_t a = W(d, s, w0)->start, b = W(d, s, w1)->end;
    size_t n = b - a < len - 1 ? b - a : len - 1;
    memcpy(buf, base + a, n);
    buf[n] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ */
/* Roles                                                                */

struct ev_eval {
    struct ev_doc *d;
    const struct rules_rule *r;
    uint32_t si;
    const struct ev_sent *s;
    int t0, t1;    /* trigger words */
    uint32_t tocc; /* trigger occurrence index in the pool */
    int gov[8];    /* governing attributions (pool indices), innermost first */
    int ngov;
    int self; /* the trigger is the cue of gov[0] */
    int passive;
    int zone0, zone1; /* content zone of the innermost attribution, or the clause */
    struct ev_cand spk[EV_MAX_CAND], agt[EV_MAX_CAND], obj[EV_MAX_CAND];
    int nspk, nagt, nobj;
    int bs, ba, bo; /* bound candidate per role, -1 = none */
    int8_t *memo;
    int use_memo;
    int defer_none; /* role-bound "none" conditions count as met (the binding search) */
    /* recording (the final pass of a firing binding) */
    int record;
    int span0, span1;
    uint32_t rec[32];
    int nrec;
    int far;
    int weak_score;
    /* explain */
    int want_why;
    char why[EV_WHY];
    char hit[96]; /* what a "none" child matched */
};

static int excluded_word(const struct ev_eval *e, int i)
{
    /* Speaker segments and addressees of governing attributions. */
    for (int g = 0; g < e->ngov; g++) {
        const struct ev_attr *a = &e->d->w->attr[e->gov[g]];
        if (i >= a->x0 && i <= a->x1)
            return 1;
        if (i >= a->a0 && i <= a->a1)
            return 1;
        if (i >= a->cue0 && i <= a->cue1)
            return 1;
    }
    return 0;
}

static int is_speaker(const struct ev_eval *e, int32_t m)
{
    for (int i = 0; i < e->nspk; i++)
        if (e->spk[i].m == m)
            return 1;
    return 0;
}

static int in_cands(const struct ev_cand *c, int n, int32_t m)
{
    for (int i = 0; i < n; i++)
        if (c[i].m == m)
            return 1;
    return 0;
}

static void add_cand(struct ev_cand *c, int *n, int32_t m, int pos, int flags, int attr)
{
    if (*n >= EV_MAX_CAND || m < 0 || in_cands(c, *n, m))
        return;
    c[*n].m = m;
    c[*n].pos = (int16_t)pos;
    c[*n].flags = (uint8_t)flags;
    c[*n].attr = (int8_t)attr;
    (*n)++;
}

/* A self reference ("its", "it", "their") between lo and the trigger with
 * no mention after it: the mention it stands for, or -1. */
static int32_t pronoun(struct ev_eval *e, int lo, int *pos)
{
    const struct ev_doc *d = e->d;
    const struct ev_sent *s = e->s;
    int p = -1;
    for (int i = e->t0 - 1; i >= lo && i >= e->t0 - 4; i--) {
        if (has_lex(d, s, i, RULES_LEX_SELF)) {
            p = i;
            break;
        }
    }
    if (p < 0)
        return -1;
    int32_t buf[8];
    if (mentions_in(d, s, p + 1, e->t0 - 1, buf, 1) > 0)
        return -1;
    *pos = lex_end(d, s, RULES_LEX_SELF, p); /* "his country" stands at "country" */
    int n = mentions_in(d, s, lo, p - 1, buf, 8);
    for (int i = n - 1; i >= 0; i--)
        if (!excluded_word(e, M(d, buf[i])->w0))
            return buf[i];
    return e->nspk > 0 ? e->spk[0].m : -1;
}

/* Object candidates in [lo, hi], nearest to the trigger first; mentions
 * after a locative ("to Russia", "in Kursk") come after the others, as
 * places an action goes to are rarely its other side (unless the rule says
 * its object is the recipient: then they come first). */
static int word_in_mention(const struct ev_doc *d, const struct ev_sent *s, int i)
{
    for (uint32_t k = 0; k < s->nm; k++) {
        const struct ev_mention *m = &d->w->ment[d->w->msort[s->m0 + k]];
        if (m->w0 <= i && m->w1 >= i)
            return 1;
    }
    return 0;
}

/* Whether the mention starting at word w0 follows a locative: "to Russia",
 * "in the Kursk region" (one short word, an article, may stand between;
 * "to show North Korean ..." is not a place). */
static int locative_before(const struct ev_doc *d, const struct ev_sent *s, int w0)
{
    if (w0 < 1)
        return 0;
    if (has_lex(d, s, w0 - 1, RULES_LEX_LOCATIVE))
        return 1;
    return w0 >= 2 && has_lex(d, s, w0 - 2, RULES_LEX_LOCATIVE) &&
           !(W(d, s, w0)->brk & TOK_BRK_SEGMENT) && !(W(d, s, w0 - 1)->brk & TOK_BRK_SEGMENT) &&
           W(d, s, w0 - 1)->flen <= 3 && !word_in_mention(d, s, w0 - 1);
}

/* A self reference after a speech-act trigger: "rejected claims that it
 * had sent troops". It stands for a mention between the trigger and it,
 * else for the speaker. */
static int32_t pronoun_after(struct ev_eval *e, int *pos)
{
    const struct ev_doc *d = e->d;
    const struct ev_sent *s = e->s;
    for (int i = e->t1 + 1; i <= e->zone1 && i <= e->t1 + 8; i++) {
        if (!has_lex(d, s, i, RULES_LEX_SELF))
            continue;
        int32_t buf[8];
        int n = mentions_in(d, s, e->t1 + 1, i - 1, buf, 8);
        *pos = lex_end(d, s, RULES_LEX_SELF, i);
        if (n > 0)
            return buf[n - 1];
        return e->nspk > 0 ? e->spk[0].m : -1;
    }
    return -1;
}

static void nearest_first(struct ev_eval *e, struct ev_cand *c, int *n, int lo, int hi, int before,
                          int flags)
{
    const struct ev_doc *d = e->d;
    int32_t buf[16];
    int k = mentions_in(d, e->s, lo, hi, buf, 16);
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < k; j++) {
            int i = before ? k - 1 - j : j;
            const struct ev_mention *m = M(d, buf[i]);
            if (m->w0 <= e->t1 && m->w1 >= e->t0)
                continue; /* the trigger itself */
            if (excluded_word(e, m->w0) || is_speaker(e, buf[i]))
                continue;
            int loc = locative_before(d, e->s, m->w0);
            /* A recipient is where the thing goes: "sent tanks to Ukraine
             * to fight Russia" has object Ukraine. */
            if (loc == (e->r->recipient ? !pass : pass))
                add_cand(c, n, buf[i], before ? m->w1 : m->w0, flags | (loc ? CAND_LOC : 0), -1);
        }
    }
}

/* Whether the lexicon category has a list of the document's own language
 * (not only the fallback). */
static int lex_has_lang(const struct ev_doc *d, int cat)
{
    int set = d->rs->lex[cat];
    if (set < 0)
        return 0;
    const struct rules_termset *ts = &d->rs->sets[set];
    for (uint32_t i = 0; i < ts->nlists; i++)
        if (ts->lists[i].lang == d->lang)
            return 1;
    return 0;
}

static void find_roles(struct ev_eval *e)
{
    struct ev_doc *d = e->d;
    const struct ev_sent *s = e->s;
    struct ev_worker *w = d->w;
    int n = (int)s->nw;
    e->ngov = e->nspk = e->nagt = e->nobj = 0;
    e->self = 0;
    /* Governing attributions, nearest cue first. */
    int dist[8];
    for (uint32_t k = 0; k < s->na; k++) {
        const struct ev_attr *a = &w->attr[s->a0 + k];
        int self = e->t0 <= a->cue1 && e->t1 >= a->cue0;
        int gov =
            self || (e->t0 >= a->c0 && e->t1 <= a->c1 && !(e->t0 >= a->x0 && e->t1 <= a->x1) &&
                     !(e->t0 >= a->a0 && e->t1 <= a->a1));
        if (!gov || e->ngov >= 8)
            continue;
        int dd = self ? -1 : (a->cue0 > e->t1 ? a->cue0 - e->t1 : e->t0 - a->cue1);
        int at = e->ngov++;
        while (at > 0 && dist[at - 1] > dd) {
            e->gov[at] = e->gov[at - 1];
            dist[at] = dist[at - 1];
            at--;
        }
        e->gov[at] = (int)(s->a0 + k);
        dist[at] = dd;
        if (self)
            e->self = 1;
    }
    for (int g = 0; g < e->ngov; g++) {
        const struct ev_attr *a = &w->attr[e->gov[g]];
        for (int k = 0; k < a->nspk; k++)
            add_cand(e->spk, &e->nspk, a->spk[k], a->spk_pronoun ? a->cue0 : M(d, a->spk[k])->w0,
                     a->spk_pronoun ? CAND_PRONOUN : 0, g);
    }
    /* The zone the trigger's own clause lives in. */
    if (e->ngov > 0) {
        const struct ev_attr *a = &w->attr[e->gov[0]];
        e->zone0 = a->c0;
        e->zone1 = a->c1;
        if (e->self) {
            e->zone0 = clause_start(d, s, e->t0);
            e->zone1 = clause_end(d, s, e->t1);
        }
    } else {
        e->zone0 = clause_start(d, s, e->t0);
        e->zone1 = clause_end(d, s, e->t1);
    }
    if (e->zone0 > e->t0)
        e->zone0 = e->t0;
    if (e->zone1 < e->t1)
        e->zone1 = e->t1;
    /* "were captured", "has been deployed" (but not "are fighting"). */
    const struct ev_word *tw = W(d, s, e->t0);
    e->passive = occ_of(d, s, RULES_LEX_PASSIVE, e->t0 - 2, e->t0 - 1) >= 0 &&
                 !(tw->flen > 3 && memcmp(fold_of(d, tw) + tw->flen - 3, "ing", 3) == 0);
    /* A reduced relative: "soldiers captured in Kursk", "troops sent by".
     * English word order: only for a document whose language the passive
     * lexicon covers (German puts every participle last: "hat ... Soldaten
     * gefangen genommen" is active). */
    if (!e->passive && lex_has_lang(d, RULES_LEX_PASSIVE) && tw->flen > 3 && e->t0 > 0 &&
        (memcmp(fold_of(d, tw) + tw->flen - 2, "ed", 2) == 0 ||
         memcmp(fold_of(d, tw) + tw->flen - 2, "en", 2) == 0) &&
        (e->t1 + 1 >= n || (W(d, s, e->t1 + 1)->brk & TOK_BRK_SEGMENT) ||
         has_lex(d, s, e->t1 + 1, RULES_LEX_PREP) || has_lex(d, s, e->t1 + 1, RULES_LEX_AGENT)) &&
        occ_of(d, s, RULES_LEX_ATTRIBUTION, e->t0, e->t1) < 0)
        e->passive = 1;

    /* Agent: "by X" after the trigger, else the subject side. */
    int by = occ_of(d, s, RULES_LEX_AGENT, e->t1 + 1, e->t1 + 3);
    if (by >= 0 && !e->self) {
        int32_t buf[4];
        int k = mentions_in(d, s, by + 1, seg_end(d, s, by + 1), buf, 4);
        for (int i = 0; i < k; i++)
            add_cand(e->agt, &e->nagt, buf[i], M(d, buf[i])->w0, 0, -1);
    }
    if (e->self) {
        /* A speech-act trigger ("denies", "announced") acts through its speaker. */
        for (int i = 0; i < e->nspk; i++)
            if (e->spk[i].attr == 0)
                add_cand(e->agt, &e->nagt, e->spk[i].m, e->spk[i].pos, 0, -1);
    } else if (!e->passive) {
        int32_t buf[16];
        int lo = e->zone0;
        int k = mentions_in(d, s, lo, e->t0 - 1, buf, 16);
        /* The leftmost self reference ("its troops had taken ... prisoner")
         * competes by position with the mentions. */
        int pp = -1;
        int32_t pm = -1;
        for (int i = lo; i < e->t0 && pp < 0; i++) {
            if (!has_lex(d, s, i, RULES_LEX_SELF) || word_in_mention(d, s, i))
                continue;
            pp = i;
            int32_t before[8];
            int nb = mentions_in(d, s, lo, i - 1, before, 8);
            pm = nb > 0 ? before[nb - 1] : (e->nspk > 0 ? e->spk[0].m : -1);
        }
        /* Leftmost first; a mention right after a preposition ("in Kursk")
         * is rarely who acts, so those come last. */
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < k; i++) {
                const struct ev_mention *m = M(d, buf[i]);
                if (excluded_word(e, m->w0) || is_speaker(e, buf[i]) ||
                    locative_before(d, s, m->w0))
                    continue; /* "in Kursk" is where, not who */
                int prep = after_preposition(d, s, m->w0);
                if (pass == 0 && pm >= 0 && pp < m->w0 && !prep) {
                    add_cand(e->agt, &e->nagt, pm, pp, CAND_PRONOUN, -1);
                    pm = -1;
                }
                if (prep == pass)
                    add_cand(e->agt, &e->nagt, buf[i], m->w1, 0, -1);
            }
            if (pass == 0 && pm >= 0) {
                add_cand(e->agt, &e->nagt, pm, pp, CAND_PRONOUN, -1);
                pm = -1;
            }
        }
    }
    if (e->passive || e->nagt == 0)
        for (int i = 0; i < e->nspk; i++)
            add_cand(e->agt, &e->nagt, e->spk[i].m, e->spk[i].pos, e->spk[i].flags, -1);

    /* Object: the other side. */
    int pp = -1;
    int32_t pm = e->self ? pronoun_after(e, &pp) : pronoun(e, e->zone0, &pp);
    if (e->ngov > 0 && !e->self && !e->r->recipient) {
        /* Reported speech: the content's own subject first, then the rest
         * (a recipient is not the content's subject: "officials said
         * Germany will send tanks to Ukraine"). */
        if (pm >= 0) /* a pronoun is always nearer than any mention before it */
            add_cand(e->obj, &e->nobj, pm, pp, CAND_PRONOUN, -1);
        nearest_first(e, e->obj, &e->nobj, e->zone0, e->t0 - 1, 1, 0);
        nearest_first(e, e->obj, &e->nobj, e->t1 + 1, e->zone1, 0, 0);
    } else if (e->passive) {
        nearest_first(e, e->obj, &e->nobj, e->zone0, e->t0 - 1, 1, 0);
        nearest_first(e, e->obj, &e->nobj, e->t1 + 1, e->zone1, 0, 0);
    } else {
        nearest_first(e, e->obj, &e->nobj, e->t1 + 1, e->zone1, 0, 0);
        if (pm >= 0)
            add_cand(e->obj, &e->nobj, pm, pp, CAND_PRONOUN, -1);
        nearest_first(e, e->obj, &e->nobj, e->zone0, e->t0 - 1, 1, 0);
    }
    nearest_first(e, e->obj, &e->nobj, 0, e->t0 - 1, 1, CAND_FAR);
    nearest_first(e, e->obj, &e->nobj, e->t1 + 1, n - 1, 0, CAND_FAR);
}

/* Whether a role bound as "actor" (or the speaker role itself) is taken
 * from the speaker candidates: reported speech with a bound speaker. */
static int actor_via_speaker(const struct ev_eval *e, int role)
{
    return role == RULES_ROLE_SPEAKER || (role == RULES_ROLE_ACTOR && e->ngov > 0 && e->bs >= 0);
}

static const struct ev_cand *bound(const struct ev_eval *e, int role)
{
    switch (role) {
    case RULES_ROLE_SPEAKER: return e->bs >= 0 ? &e->spk[e->bs] : NULL;
    case RULES_ROLE_AGENT: return e->ba >= 0 ? &e->agt[e->ba] : NULL;
    case RULES_ROLE_OBJECT: return e->bo >= 0 ? &e->obj[e->bo] : NULL;
    case RULES_ROLE_ACTOR:
        if (actor_via_speaker(e, role))
            return &e->spk[e->bs];
        return e->ba >= 0 ? &e->agt[e->ba] : NULL;
    default: return NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Conditions                                                          */

static void why(struct ev_eval *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(struct ev_eval *e, const char *fmt, ...)
{
    if (!e->want_why || e->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof e->why, fmt, ap);
    va_end(ap);
}

/* Words between two spans of the sentence; a name of several words
 * ("the Democratic People's Republic of Korea") counts as one word. */
static int word_dist(const struct ev_eval *e, int a0, int a1, int b0, int b1)
{
    int lo, hi;
    if (b0 > a1) {
        lo = a1 + 1;
        hi = b0 - 1;
    } else if (a0 > b1) {
        lo = b1 + 1;
        hi = a0 - 1;
    } else {
        return 0;
    }
    int n = hi - lo + 1;
    const struct ev_sent *s = e->s;
    for (uint32_t k = 0; k < s->nm && n > 0; k++) {
        const struct ev_mention *m = &e->d->w->ment[e->d->w->msort[s->m0 + k]];
        if (m->w0 < 0 || m->w1 < lo || m->w0 > hi)
            continue;
        int c0 = m->w0 < lo ? lo : m->w0, c1 = m->w1 > hi ? hi : m->w1;
        n -= c1 - c0; /* the mention's words count once */
    }
    return n;
}

static const struct rules_term *term_of(const struct ev_doc *d, const struct ev_occ *o)
{
    return &d->rs->sets[o->set].lists[o->list].t[o->term];
}

static void describe_terms(const struct ev_doc *d, uint32_t set, char *buf, size_t len)
{
    const struct rules_termset *ts = &d->rs->sets[set];
    int li = d->w->act[set];
    size_t o = 0;
    buf[0] = '\0';
    if (li < 0)
        return;
    const struct rules_list *l = &ts->lists[li];
    for (uint32_t i = 0; i < l->n && i < 3 && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s'%s'", i ? ", " : "", l->t[i].text);
    if (l->n > 3 && o < len)
        snprintf(buf + o, len - o, ", ...");
}

static void describe_filter(const struct rules_filter *f, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    const struct rules_strs *lists[3] = {&f->ids, &f->types, &f->affs};
    const char *names[3] = {"id", "type", "affiliated with"};
    for (int k = 0; k < 3; k++) {
        if (!lists[k]->n)
            continue;
        o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s ", o ? ", " : "", names[k]);
        for (uint32_t i = 0; i < lists[k]->n && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "/" : "", lists[k]->v[i]);
    }
    if (f->demonym >= 0 && o < len)
        o += (size_t)snprintf(buf + o, len - o, "%s%sdemonym", o ? ", " : "",
                              f->demonym ? "" : "not a ");
    if (f->locative >= 0 && o < len)
        o += (size_t)snprintf(buf + o, len - o, "%s%safter a locative", o ? ", " : "",
                              f->locative ? "" : "not ");
    if (o == 0)
        snprintf(buf, len, "any entity");
}

/* The span an anchor stands for (trigger or a bound role). */
static int anchor_span(const struct ev_eval *e, int anchor, int *a0, int *a1)
{
    if (anchor == RULES_ROLE_TRIGGER) {
        *a0 = e->t0;
        *a1 = e->t1;
        return 1;
    }
    const struct ev_cand *c = bound(e, anchor);
    if (!c)
        return 0;
    if (c->flags & CAND_PRONOUN) {
        *a0 = *a1 = c->pos;
        return 1;
    }
    const struct ev_mention *m = M(e->d, c->m);
    if (m->sent != (int)e->si)
        return 0;
    *a0 = m->w0;
    *a1 = m->w1;
    return 1;
}

static void record_occ(struct ev_eval *e, uint32_t oi, int same_sentence, int dist_sent)
{
    if (!e->record)
        return;
    if (dist_sent > e->far)
        e->far = dist_sent;
    if (!same_sentence)
        return;
    const struct ev_occ *o = &e->d->w->occ[oi];
    if (o->w0 < e->span0)
        e->span0 = o->w0;
    if (o->w1 > e->span1)
        e->span1 = o->w1;
    for (int i = 0; i < e->nrec; i++)
        if (e->rec[i] == oi)
            return;
    if (e->nrec < 32)
        e->rec[e->nrec++] = oi;
}

static int eval_terms(struct ev_eval *e, const struct rules_cond *c, int positive)
{
    struct ev_doc *d = e->d;
    struct ev_worker *w = d->w;
    const struct rules_termset *ts = &d->rs->sets[c->termset];
    char desc[160];
    if (w->act[c->termset] < 0) {
        if (e->want_why) {
            why(e, "%s: no terms for language '%s'", c->ptr,
                d->lang >= 0 ? d->rs->langs[d->lang] : "und");
        }
        return 0;
    }
    const struct rules_list *l = &ts->lists[w->act[c->termset]];
    /* Best occurrence per distinct term: nearest sentence, then nearest word. */
    uint32_t n = l->n;
    if (ENSURE(w, tbest, n + 1) || ENSURE(w, tdist, n + 1)) {
        d->oom = 1;
        return 0;
    }
    uint32_t *best = w->tbest;
    int *bdist = w->tdist;
    for (uint32_t i = 0; i < n; i++)
        bdist[i] = -1;
    int a0 = 0, a1 = 0;
    int lo = (int)e->si, hi = (int)e->si;
    if (c->words >= 0) {
        if (!anchor_span(e, c->anchor, &a0, &a1)) {
            why(e, "%s: no %s to measure %d words from", c->ptr, rules_role_names[c->anchor],
                c->words);
            return 0;
        }
    } else if (e->si < d->ntext) {
        int win = c->sentences >= 0 ? c->sentences : e->r->scope;
        lo = (int)e->si - win;
        hi = (int)e->si + win;
        if (lo < 0)
            lo = 0;
        if (hi >= (int)d->ntext)
            hi = (int)d->ntext - 1;
    }
    for (int si = lo; si <= hi; si++) {
        if (match_sent(d, (uint32_t)si)) {
            d->oom = 1;
            return 0;
        }
        const struct ev_sent *s = &w->sent[si];
        int sd = si > (int)e->si ? si - (int)e->si : (int)e->si - si;
        for (uint32_t k = 0; k < s->no; k++) {
            const struct ev_occ *o = &w->occ[s->o0 + k];
            if (o->set != c->termset || o->term >= n)
                continue;
            int dist = sd * 10000;
            if (si == (int)e->si)
                dist += word_dist(e, e->t0, e->t1, o->w0, o->w1);
            if (c->words >= 0) {
                int wd = word_dist(e, a0, a1, o->w0, o->w1);
                if (wd > c->words)
                    continue;
                dist = wd;
            }
            if (bdist[o->term] < 0 || dist < bdist[o->term]) {
                bdist[o->term] = dist;
                best[o->term] = s->o0 + k;
            }
        }
    }
    double score = 0;
    uint32_t first = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        if (bdist[i] < 0)
            continue;
        score += l->t[i].weight;
        if (first == UINT32_MAX || bdist[i] < bdist[first])
            first = i;
    }
    int ok = ts->threshold > 0 ? score >= ts->threshold : score > 0;
    if (ok) {
        if (!positive && first != UINT32_MAX)
            snprintf(e->hit, sizeof e->hit, "term '%s'", l->t[first].text);
        if (positive && e->record) {
            for (uint32_t i = 0; i < n; i++) {
                if (bdist[i] < 0)
                    continue;
                int sd = bdist[i] / 10000;
                if (c->words >= 0)
                    sd = 0;
                record_occ(e, best[i], sd == 0, sd);
            }
            if (ts->threshold > 0 && score < 1.5 * ts->threshold)
                e->weak_score = 1;
        }
        return 1;
    }
    if (e->want_why) {
        describe_terms(d, c->termset, desc, sizeof desc);
        if (ts->threshold > 0)
            why(e, "%s: terms (%s) score %g, below the threshold %g", c->ptr, desc, score,
                ts->threshold);
        else if (c->words >= 0)
            why(e, "%s: no term (%s) within %d words of the %s", c->ptr, desc, c->words,
                rules_role_names[c->anchor]);
        else if (hi > lo)
            why(e, "%s: no term (%s) within %d sentences", c->ptr, desc, (hi - lo) / 2);
        else
            why(e, "%s: no term (%s) in the sentence", c->ptr, desc);
    }
    return 0;
}

/* An empty filter list admits everything. */
static int in_strs(const struct rules_strs *l, const char *s)
{
    return !l->n || (s && rules_strs_has(l, s));
}

static int filter_ok(const struct rules_filter *f, const struct ev_mention *m, int locative)
{
    return in_strs(&f->ids, m->id) && in_strs(&f->types, m->type) && in_strs(&f->affs, m->key) &&
           (f->demonym < 0 || f->demonym == m->demonym) &&
           (f->guessed < 0 || f->guessed == m->guessed) &&
           (f->locative < 0 || f->locative == locative);
}

static int mention_locative(const struct ev_doc *d, const struct ev_mention *m)
{
    return locative_before(d, &d->w->sent[m->sent], m->w0);
}

static int eval_entity(struct ev_eval *e, const struct rules_cond *c, int positive)
{
    struct ev_doc *d = e->d;
    char desc[160];
    if (c->role != RULES_ROLE_NONE) {
        const struct ev_cand *b = bound(e, c->role);
        if (!b) {
            if (e->want_why) {
                describe_filter(&c->f, desc, sizeof desc);
                char trig[96];
                if ((c->role == RULES_ROLE_SPEAKER || c->role == RULES_ROLE_ACTOR) &&
                    e->ngov == 0 && (c->role == RULES_ROLE_SPEAKER || e->nagt == 0))
                    why(e, "%s: no %s: trigger '%s' is not reported speech%s", c->ptr,
                        rules_role_names[c->role],
                        occ_text(d, e->s, e->t0, e->t1, trig, sizeof trig),
                        c->role == RULES_ROLE_ACTOR ? " and has no agent" : "");
                else
                    why(e, "%s: no entity (%s) in %s role", c->ptr, desc,
                        rules_role_names[c->role]);
            }
            return 0;
        }
        const struct ev_mention *m = M(d, b->m);
        int loc = (b->flags & CAND_LOC) || (!(b->flags & CAND_PRONOUN) && mention_locative(d, m));
        if (!filter_ok(&c->f, m, loc)) {
            if (e->want_why) {
                describe_filter(&c->f, desc, sizeof desc);
                why(e, "%s: %s '%s' (%s) is not %s", c->ptr, rules_role_names[c->role], m->name,
                    m->key, desc);
            }
            return 0;
        }
        if (c->words >= 0) {
            int a0, a1;
            int p0 = (b->flags & CAND_PRONOUN) ? b->pos : m->w0;
            int p1 = (b->flags & CAND_PRONOUN) ? b->pos : m->w1;
            if (!anchor_span(e, c->anchor, &a0, &a1) || m->sent != (int)e->si ||
                word_dist(e, a0, a1, p0, p1) > c->words) {
                why(e, "%s: %s '%s' is not within %d words of the %s", c->ptr,
                    rules_role_names[c->role], m->name, c->words, rules_role_names[c->anchor]);
                return 0;
            }
        }
        if (!positive)
            snprintf(e->hit, sizeof e->hit, "%s '%s'", rules_role_names[c->role], m->name);
        return 1;
    }
    /* Any mention in scope. */
    int lo = (int)e->si, hi = (int)e->si;
    int a0 = 0, a1 = 0;
    if (c->words >= 0) {
        if (!anchor_span(e, c->anchor, &a0, &a1)) {
            why(e, "%s: no %s to measure from", c->ptr, rules_role_names[c->anchor]);
            return 0;
        }
    } else if (e->si < d->ntext) {
        int win = c->sentences >= 0 ? c->sentences : e->r->scope;
        lo = (int)e->si - win < 0 ? 0 : (int)e->si - win;
        hi = (int)e->si + win >= (int)d->ntext ? (int)d->ntext - 1 : (int)e->si + win;
    }
    for (int si = lo; si <= hi; si++) {
        const struct ev_sent *s = &d->w->sent[si];
        for (uint32_t k = 0; k < s->nm; k++) {
            const struct ev_mention *m = M(d, (int32_t)d->w->msort[s->m0 + k]);
            if (m->w0 < 0 || !filter_ok(&c->f, m, mention_locative(d, m)))
                continue;
            if (c->words >= 0 && (m->w0 < 0 || word_dist(e, a0, a1, m->w0, m->w1) > c->words))
                continue;
            if (!positive)
                snprintf(e->hit, sizeof e->hit, "entity '%s'", m->name);
            return 1;
        }
    }
    if (e->want_why) {
        describe_filter(&c->f, desc, sizeof desc);
        if (c->words >= 0)
            why(e, "%s: no entity (%s) within %d words of the %s", c->ptr, desc, c->words,
                rules_role_names[c->anchor]);
        else
            why(e, "%s: no entity (%s) in scope", c->ptr, desc);
    }
    return 0;
}

static int relation_holds(const struct ev_doc *d, int rel, const char *a, const char *b)
{
    switch (rel) {
    case RULES_REL_SAME: return strcmp(a, b) == 0;
    case RULES_REL_DIFFERENT: return strcmp(a, b) != 0;
    case RULES_REL_ALLY: return strcmp(a, b) != 0 && rules_allied(d->rs, a, b);
    case RULES_REL_ENEMY: return rules_enemies(d->rs, a, b);
    default: return rules_allied(d->rs, a, b);
    }
}

/* Indexed by enum rules_rel. */
static const char *const rel_names[] = {"the same as", "different from", "allied with",
                                        "an ally of", "an enemy of"};
_Static_assert(sizeof rel_names / sizeof rel_names[0] == RULES_REL_ENEMY + 1,
               "a name for every relation");

static int eval_relation(struct ev_eval *e, const struct rules_cond *c, int positive)
{
    struct ev_doc *d = e->d;
    const struct ev_cand *a = bound(e, c->rel_a);
    if (!a) {
        why(e, "%s: no %s to relate", c->ptr, rules_role_names[c->rel_a]);
        return 0;
    }
    const struct ev_mention *ma = M(d, a->m);
    if (c->rel_b == RULES_ROLE_ANY) {
        const struct ev_sent *s = e->s;
        for (uint32_t k = 0; k < s->nm; k++) {
            int32_t mi = (int32_t)d->w->msort[s->m0 + k];
            if (mi == a->m)
                continue;
            if (relation_holds(d, c->rel, ma->key, M(d, mi)->key)) {
                if (!positive)
                    snprintf(e->hit, sizeof e->hit, "%s %s '%s'", ma->key, rel_names[c->rel],
                             M(d, mi)->name);
                return 1;
            }
        }
        why(e, "%s: no other entity in the sentence is %s %s (%s)", c->ptr, rel_names[c->rel],
            rules_role_names[c->rel_a], ma->key);
        return 0;
    }
    const struct ev_cand *b = bound(e, c->rel_b);
    if (!b) {
        why(e, "%s: no %s to relate", c->ptr, rules_role_names[c->rel_b]);
        return 0;
    }
    const struct ev_mention *mb = M(d, b->m);
    if (relation_holds(d, c->rel, ma->key, mb->key)) {
        if (!positive)
            snprintf(e->hit, sizeof e->hit, "%s %s %s %s %s", rules_role_names[c->rel_a], ma->key,
                     c->rel == RULES_REL_ALLIED  ? "is allied with"
                     : c->rel == RULES_REL_ALLY  ? "is an ally of"
                     : c->rel == RULES_REL_ENEMY ? "is an enemy of"
                     : c->rel == RULES_REL_SAME  ? "is the same as"
                                                 : "differs from",
                     rules_role_names[c->rel_b], mb->key);
        return 1;
    }
    why(e, "%s: %s %s is not %s %s %s", c->ptr, rules_role_names[c->rel_a], ma->key,
        rel_names[c->rel], rules_role_names[c->rel_b], mb->key);
    return 0;
}

static int eval(struct ev_eval *e, const struct rules_cond *c, int positive)
{
    if (e->use_memo && !c->binding && !e->record && e->memo[c->index] >= 0)
        return e->memo[c->index];
    int r = 0;
    switch (c->kind) {
    case RULES_ALL:
        r = 1;
        for (uint32_t i = 0; i < c->nkids && r; i++)
            r = eval(e, &c->kids[i], positive);
        break;
    case RULES_ANY: {
        /* A failure is explained by the first alternative's reason. */
        int want = e->want_why && !e->why[0];
        for (uint32_t i = 0; i < c->nkids && !r; i++) {
            r = eval(e, &c->kids[i], positive);
            if (!r && i == 0 && want) {
                char first[EV_WHY];
                memcpy(first, e->why, sizeof first);
                snprintf(e->why, sizeof e->why, "%s: no alternative matched%s%.200s%s", c->ptr,
                         first[0] ? " (first: " : "", first, first[0] ? ")" : "");
                e->want_why = 0;
            }
        }
        if (want) {
            e->want_why = 1;
            if (r)
                e->why[0] = '\0';
        }
        break;
    }
    case RULES_NONE: {
        r = 1;
        if (e->defer_none && c->binding)
            break;
        int want = e->want_why;
        e->want_why = 0;
        for (uint32_t i = 0; i < c->nkids && r; i++) {
            e->hit[0] = '\0';
            if (eval(e, &c->kids[i], 0)) {
                r = 0;
                e->want_why = want;
                why(e, "%s: excluded by %s%s%s", c->ptr, c->kids[i].ptr, e->hit[0] ? ": " : "",
                    e->hit);
            }
        }
        e->want_why = want;
        break;
    }
    case RULES_TERMS: r = eval_terms(e, c, positive); break;
    case RULES_ENTITY: r = eval_entity(e, c, positive); break;
    case RULES_RELATION: r = eval_relation(e, c, positive); break;
    }
    if (e->use_memo && !c->binding && !e->record)
        e->memo[c->index] = (int8_t)r;
    return r;
}

/* ------------------------------------------------------------------ */
/* Blockers                                                            */

static int overlaps_rule_terms(const struct ev_eval *e, const struct ev_occ *o)
{
    const struct ev_sent *s = e->s;
    for (uint32_t k = 0; k < s->no; k++) {
        const struct ev_occ *t = &e->d->w->occ[s->o0 + k];
        if (t->set == e->r->trigger && o->w0 <= t->w1 && o->w1 >= t->w0)
            return 1;
    }
    for (int i = 0; i < e->nrec; i++) {
        const struct ev_occ *r = &e->d->w->occ[e->rec[i]];
        if (o->w0 <= r->w1 && o->w1 >= r->w0)
            return 1;
    }
    return 0;
}

static int check_cues(struct ev_eval *e, int blk, int cat, char *msg, size_t len)
{
    struct ev_doc *d = e->d;
    const struct ev_sent *s = e->s;
    const struct rules_block *b = &e->r->blk[blk];
    int set = d->rs->lex[cat];
    if (!b->on || set < 0)
        return 0;
    int left = clause_start(d, s, e->span0), right = clause_end(d, s, e->span1);
    char cue[96], trig[96];
    const char *label = rules_blocker_names[blk];
    for (uint32_t k = 0; k < s->no; k++) {
        const struct ev_occ *o = &d->w->occ[s->o0 + k];
        if (o->set != (uint32_t)set || overlaps_rule_terms(e, o))
            continue;
        /* "announced it would deliver": in reported speech "would" is the
         * backshifted "will" of the statement, not a hedge. */
        if (term_of(d, o)->not_reported && e->ngov > 0 && !e->self)
            continue;
        int pos = term_of(d, o)->pos;
        const char *where = NULL;
        if (o->w0 >= e->span0 && o->w1 <= e->span1)
            where = "inside the match of";
        else if ((pos == RULES_POS_BEFORE || pos == RULES_POS_ANY) && o->w1 < e->span0 &&
                 o->w0 >= left && e->span0 - o->w1 - 1 <= b->before)
            where = "before";
        else if ((pos == RULES_POS_AFTER || pos == RULES_POS_ANY) && o->w0 > e->span1 &&
                 o->w1 <= right && o->w0 - e->span1 - 1 <= b->after)
            where = "after";
        else if (pos == RULES_POS_ANY && o->w0 >= left && o->w1 <= right)
            where = "in the clause of";
        if (where) {
            snprintf(msg, len, "blocked by %s cue '%s' %s trigger '%s'", label,
                     occ_text(d, s, o->w0, o->w1, cue, sizeof cue), where,
                     occ_text(d, s, e->t0, e->t1, trig, sizeof trig));
            return 1;
        }
    }
    /* The verbs that govern the trigger: "denied that ...", "did not say that ...". */
    for (int g = 0; g < e->ngov; g++) {
        const struct ev_attr *a = &d->w->attr[e->gov[g]];
        int gl = clause_start(d, s, a->cue0), gs = seg_start(d, s, a->cue0);
        if (gs > gl)
            gl = gs; /* '"... never be forgotten," Lavrov said': not his verb */
        for (uint32_t k = 0; k < s->no; k++) {
            const struct ev_occ *o = &d->w->occ[s->o0 + k];
            if (o->set != (uint32_t)set || overlaps_rule_terms(e, o))
                continue;
            int on_verb = o->w0 <= a->cue1 && o->w1 >= a->cue0;
            int before = o->w1 < a->cue0 && o->w0 >= gl && a->cue0 - o->w1 - 1 <= EV_GOV_WINDOW &&
                         term_of(d, o)->pos != RULES_POS_AFTER;
            if (on_verb || before) {
                char verb[96];
                snprintf(msg, len, "blocked by %s cue '%s' %s '%s' that governs trigger '%s'",
                         label, occ_text(d, s, o->w0, o->w1, cue, sizeof cue),
                         on_verb ? "on the verb" : "before the verb",
                         occ_text(d, s, a->cue0, a->cue1, verb, sizeof verb),
                         occ_text(d, s, e->t0, e->t1, trig, sizeof trig));
                return 1;
            }
        }
    }
    return 0;
}

static int check_reported(struct ev_eval *e, char *msg, size_t len)
{
    struct ev_doc *d = e->d;
    if (!e->r->blk[RULES_BLK_REPORTED].on || !e->r->when ||
        !(e->r->roles & ((1u << RULES_ROLE_SPEAKER) | (1u << RULES_ROLE_ACTOR))))
        return 0;
    int own = e->bs >= 0 ? e->spk[e->bs].attr : -1;
    int saved = e->bs;
    for (int i = 0; i < e->nspk; i++) {
        if (e->spk[i].attr == own || (i > 0 && e->spk[i].attr == e->spk[i - 1].attr))
            continue;
        e->bs = i;
        int ok = eval(e, e->r->when, 1);
        e->bs = saved;
        if (!ok) {
            const struct ev_attr *a = &d->w->attr[e->gov[e->spk[i].attr]];
            char verb[96];
            snprintf(msg, len,
                     "blocked as a reported claim: speaker '%s' (%s) via '%s' does not satisfy "
                     "the rule",
                     M(d, e->spk[i].m)->name, M(d, e->spk[i].m)->key,
                     occ_text(d, e->s, a->cue0, a->cue1, verb, sizeof verb));
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

static const char *role_name(const struct ev_doc *d, const struct ev_cand *c)
{
    if (!c)
        return NULL;
    const struct ev_mention *m = M(d, c->m);
    /* The name of the entity the mention counts for, when the document
     * names it: "Russia" for General Gerasimov. */
    for (uint32_t i = 0; i < d->nm; i++)
        if (strcmp(d->w->ment[i].id, m->key) == 0)
            return d->w->ment[i].name;
    return m->name;
}

static void fill_title(struct ev_eval *e, const struct ev_cand *actor, const struct ev_cand *object,
                       char *out, size_t len)
{
    const char *t = e->r->title;
    size_t o = 0;
    char trig[96];
    occ_text(e->d, e->s, e->t0, e->t1, trig, sizeof trig);
    while (*t && o + 1 < len) {
        if (*t != '{') {
            out[o++] = *t++;
            continue;
        }
        const char *end = strchr(t, '}');
        if (!end) {
            out[o++] = *t++;
            continue;
        }
        char name[64], fb[128] = "";
        size_t n = (size_t)(end - t - 1);
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), t + 1);
        char *bar = strchr(name, '|');
        if (bar) {
            snprintf(fb, sizeof fb, "%s", bar + 1);
            *bar = '\0';
        }
        const char *v = NULL;
        if (!strcmp(name, "actor"))
            v = role_name(e->d, actor);
        else if (!strcmp(name, "object"))
            v = role_name(e->d, object);
        else if (!strcmp(name, "speaker"))
            v = role_name(e->d, bound(e, RULES_ROLE_SPEAKER));
        else if (!strcmp(name, "agent"))
            v = role_name(e->d, bound(e, RULES_ROLE_AGENT));
        else if (!strcmp(name, "actor_id"))
            v = actor ? M(e->d, actor->m)->key : NULL;
        else if (!strcmp(name, "object_id"))
            v = object ? M(e->d, object->m)->key : NULL;
        else if (!strcmp(name, "trigger"))
            v = trig;
        else if (!strcmp(name, "type"))
            v = e->r->type;
        if (!v)
            v = fb;
        o += (size_t)snprintf(out + o, len - o, "%s", v);
        if (o >= len)
            o = len - 1;
        t = end + 1;
    }
    out[o] = '\0';
}

static double confidence(struct ev_eval *e, const struct ev_cand *actor,
                         const struct ev_cand *object)
{
    struct ev_doc *d = e->d;
    double c = e->r->confidence;
    const struct ev_cand *all[4] = {actor, object, bound(e, RULES_ROLE_SPEAKER),
                                    bound(e, RULES_ROLE_AGENT)};
    int pron = 0, guess = 0;
    for (int i = 0; i < 4; i++) {
        if (!all[i])
            continue;
        pron |= (all[i]->flags & CAND_PRONOUN) != 0;
        guess |= M(d, all[i]->m)->guessed;
    }
    if (pron)
        c -= 0.10;
    if (guess)
        c -= 0.10;
    if (object && (object->flags & CAND_FAR))
        c -= 0.05;
    for (int g = 0; g < e->ngov; g++) {
        if (d->w->attr[e->gov[g]].nspk == 0) {
            c -= 0.05; /* an unnamed source in the chain: "reports said" */
            break;
        }
    }
    if (e->s->field)
        c -= 0.05;
    c -= 0.05 * (e->far > 3 ? 3 : e->far);
    if (e->weak_score)
        c -= 0.05;
    if (c < 0.05)
        c = 0.05;
    if (c > 1)
        c = 1;
    return floor(c * 100 + 0.5) / 100;
}

static json_t *evidence(struct ev_eval *e)
{
    struct ev_doc *d = e->d;
    const struct ev_sent *s = e->s;
    const char *base = field_text(d, s->field);
    uint32_t a = s->start, b = s->end;
    if (b - a > EV_EVIDENCE_MAX) {
        /* Cut a long sentence around the match, on word boundaries. */
        uint32_t m0 = W(d, s, e->span0)->start, m1 = W(d, s, e->span1)->end;
        uint32_t mid = (m0 + m1) / 2;
        a = mid > s->start + EV_EVIDENCE_MAX / 2 ? mid - EV_EVIDENCE_MAX / 2 : s->start;
        if (a > m0)
            a = m0;
        b = a + EV_EVIDENCE_MAX < s->end ? a + EV_EVIDENCE_MAX : s->end;
        if (b < m1)
            b = m1;
        for (uint32_t i = 0; i < s->nw; i++) {
            const struct ev_word *wd = W(d, s, (int)i);
            if (wd->start >= a) {
                a = wd->start;
                break;
            }
        }
        for (int i = (int)s->nw - 1; i >= 0; i--) {
            const struct ev_word *wd = W(d, s, i);
            if (wd->end <= b) {
                b = wd->end;
                break;
            }
        }
    }
    json_t *ev = json_object();
    if (!ev)
        return NULL;
    json_object_set_new(ev, "text", json_stringn(base + a, b - a));
    json_object_set_new(ev, "start", json_integer(a));
    json_object_set_new(ev, "end", json_integer(b));
    json_object_set_new(ev, "sentence", json_integer(s->field ? -1 : (json_int_t)e->si));
    if (s->field)
        json_object_set_new(ev, "field", json_string("title"));
    return ev;
}

static int add_event(struct ev_eval *e)
{
    struct ev_doc *d = e->d;
    struct ev_worker *w = d->w;
    const struct rules_rule *r = e->r;
    const struct ev_cand *actor = bound(e, r->actor_role);
    const struct ev_cand *object = bound(e, RULES_ROLE_OBJECT);
    const char *ak = actor ? M(d, actor->m)->key : NULL;
    const char *ok = object ? M(d, object->m)->key : NULL;
    double conf = confidence(e, actor, object);
    char title[512], buf[128];
    fill_title(e, actor, object, title, sizeof title);

    json_t *ev = json_object();
    json_t *terms = json_array(), *ents = json_array(), *rule = json_object();
    json_t *evid = evidence(e);
    if (!ev || !terms || !ents || !rule || !evid) {
        json_decref(ev);
        json_decref(terms);
        json_decref(ents);
        json_decref(rule);
        json_decref(evid);
        return -1;
    }
    json_object_set_new(ev, "type", json_string(r->type));
    json_object_set_new(ev, "title", json_string(title));
    json_object_set_new(ev, "severity", json_string(rules_severity_names[r->severity]));
    json_object_set_new(ev, "confidence", json_real(conf));
    json_object_set_new(ev, "actor", ak ? json_string(ak) : json_null());
    json_object_set_new(ev, "object", ok ? json_string(ok) : json_null());
    json_object_set_new(ev, "trigger",
                        json_string(occ_text(d, e->s, e->t0, e->t1, buf, sizeof buf)));
    json_object_set_new(ev, "evidence", evid);
    /* Terms: the trigger, then what the conditions matched, in text order. */
    int order[33], no = 0;
    order[no++] = -1;
    for (int i = 0; i < e->nrec; i++)
        order[no++] = i;
    for (int i = 0; i < no; i++) {
        int w0 = order[i] < 0 ? e->t0 : w->occ[e->rec[order[i]]].w0;
        int w1 = order[i] < 0 ? e->t1 : w->occ[e->rec[order[i]]].w1;
        char tb[96], fb[128];
        occ_text(d, e->s, w0, w1, tb, sizeof tb);
        size_t fl = tok_fold(tb, strlen(tb), fb, sizeof fb);
        const char *t = fl == (size_t)-1 ? tb : fb;
        int dup = 0;
        for (size_t k = 0; k < json_array_size(terms); k++)
            dup |= strcmp(json_string_value(json_array_get(terms, k)), t) == 0;
        if (!dup)
            json_array_append_new(terms, json_string(t));
    }
    json_object_set_new(ev, "terms", terms);
    for (uint32_t k = 0; k < e->s->nm; k++) {
        const struct ev_mention *m = M(d, (int32_t)w->msort[e->s->m0 + k]);
        int dup = 0;
        for (size_t j = 0; j < json_array_size(ents); j++)
            dup |= strcmp(json_string_value(json_array_get(ents, j)), m->id) == 0;
        if (!dup)
            json_array_append_new(ents, json_string(m->id));
    }
    json_object_set_new(ev, "entities", ents);
    json_object_set_new(rule, "file", json_string(r->file));
    json_object_set_new(rule, "id", json_string(r->id));
    json_object_set_new(ev, "rule", rule);

    /* Same type, actor and object (or the same type, for a rule that fires
     * once per document): keep the strongest evidence. */
    size_t kl = strlen(r->type) + (ak ? strlen(ak) : 0) + (ok ? strlen(ok) : 0) + 3;
    char *key = malloc(kl);
    if (!key) {
        json_decref(ev);
        return -1;
    }
    if (r->once)
        snprintf(key, kl, "%s", r->type); /* the story, whoever tells it */
    else
        snprintf(key, kl, "%s\x1f%s\x1f%s", r->type, ak ? ak : "", ok ? ok : "");
    int sent = e->s->field ? INT32_MAX : (int)e->si;
    for (size_t i = 0; i < w->nev; i++) {
        if (strcmp(w->ev[i].key, key) != 0)
            continue;
        free(key);
        if (conf > w->ev[i].conf || (conf == w->ev[i].conf && sent < w->ev[i].sent)) {
            json_decref(w->ev[i].json);
            w->ev[i].json = ev;
            w->ev[i].conf = conf;
            w->ev[i].sent = sent;
            w->ev[i].rule = (uint32_t)(r - d->rs->rules);
        } else {
            json_decref(ev);
        }
        return 0;
    }
    if (ENSURE(w, ev, w->nev + 1)) {
        free(key);
        json_decref(ev);
        return -1;
    }
    w->ev[w->nev++] = (struct ev_event){(uint32_t)(r - d->rs->rules), sent, conf, key, ev};
    return 0;
}

/* ------------------------------------------------------------------ */
/* Driving one rule                                                    */

struct ev_explain {
    json_t *list;
    int n;
};

static void explain_add(struct ev_eval *e, struct ev_explain *x, const char *result,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void explain_add(struct ev_eval *e, struct ev_explain *x, const char *result,
                        const char *fmt, ...)
{
    if (!x->list || x->n >= EV_MAX_EXPLAIN)
        return;
    char msg[600], where[32], trig[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->s->field)
        snprintf(where, sizeof where, "title");
    else
        snprintf(where, sizeof where, "sentence %u", e->si);
    char full[700];
    snprintf(full, sizeof full, "%s: %s", where, msg);
    json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "sentence", e->s->field ? -1 : (int)e->si,
                          "trigger", occ_text(e->d, e->s, e->t0, e->t1, trig, sizeof trig),
                          "result", result, "reason", full);
    if (o && json_array_append_new(x->list, o) == 0)
        x->n++;
}

static void describe_roles(struct ev_eval *e, char *buf, size_t len)
{
    const struct ev_cand *a = bound(e, e->r->actor_role), *o = bound(e, RULES_ROLE_OBJECT);
    size_t n = 0;
    buf[0] = '\0';
    if (a) {
        const struct ev_mention *m = M(e->d, a->m);
        const char *via = e->ngov > 0 && e->bs >= 0 && a == &e->spk[e->bs] ? "speaker" : "agent";
        n += (size_t)snprintf(buf, len, "actor %s ('%s', %s%s)", m->key, m->name, via,
                              (a->flags & CAND_PRONOUN) ? ", via a pronoun" : "");
    }
    if (o && n < len) {
        const struct ev_mention *m = M(e->d, o->m);
        snprintf(buf + n, len - n, "%sobject %s ('%s'%s)", n ? ", " : "", m->key, m->name,
                 (o->flags & CAND_PRONOUN) ? ", via a pronoun" : "");
    }
}

/* Evaluate the conditions that every firing needs and no role affects: the
 * "all" chain from the root, skipping anything bound to a role. */
static int precheck(struct ev_eval *e, const struct rules_cond *c)
{
    if (c->kind == RULES_ALL) {
        for (uint32_t i = 0; i < c->nkids; i++)
            if (!precheck(e, &c->kids[i]))
                return 0;
        return 1;
    }
    if (c->binding)
        return 1;
    return eval(e, c, 1);
}

/* The search bound every role: record what matched, apply the blockers and
 * add the event. Returns 1 when an event was added. */
static int finish_binding(struct ev_eval *e, struct ev_explain *x)
{
    const struct rules_rule *r = e->r;
    struct ev_doc *d = e->d;
    /* A reported actor no condition names must not be the object itself:
     * take the next candidate, or none. */
    const struct ev_cand *ob = bound(e, RULES_ROLE_OBJECT);
    if (ob && !(ob->flags & CAND_PRONOUN) && !(r->roles & (1u << r->actor_role))) {
        for (int guard = 0; guard < 2 * EV_MAX_CAND; guard++) {
            const struct ev_cand *ac = bound(e, r->actor_role);
            if (!ac || ac->m != ob->m)
                break;
            if (actor_via_speaker(e, r->actor_role))
                e->bs = e->bs + 1 < e->nspk ? e->bs + 1 : -1;
            else
                e->ba = e->ba + 1 < e->nagt ? e->ba + 1 : -1;
        }
    }
    /* Record what matched, for the span, the terms and the blockers. */
    e->record = 1;
    e->want_why = 0;
    e->span0 = e->t0;
    e->span1 = e->t1;
    e->nrec = 0;
    e->far = 0;
    e->weak_score = 0;
    if (r->when)
        eval(e, r->when, 1);
    e->record = 0;
    char msg[600];
    if (r->blk[RULES_BLK_QUESTION].on &&
        tok_is_question(field_text(d, e->s->field), e->s->start, e->s->end)) {
        if (d->explain)
            explain_add(e, x, "blocked", "blocked as a question (the sentence ends with '?')");
        return 0;
    }
    if (check_cues(e, RULES_BLK_NEGATION, RULES_LEX_NEGATION, msg, sizeof msg) ||
        check_cues(e, RULES_BLK_SPECULATION, RULES_LEX_SPECULATION, msg, sizeof msg) ||
        check_reported(e, msg, sizeof msg)) {
        if (d->explain)
            explain_add(e, x, "blocked", "%s", msg);
        return 0;
    }
    if (add_event(e)) {
        d->oom = 1;
        return 0;
    }
    if (d->explain) {
        describe_roles(e, msg, sizeof msg);
        explain_add(e, x, "fired", "fired%s%s", msg[0] ? ": " : "", msg);
    }
    return 1;
}

/* Whether mentions a and b (a before b) of a sentence are coordinated: only
 * a comma, or a coordinator ("and") and at most one short word ("and the"),
 * stand between them. *with_and tells which. */
static int coordinated(const struct ev_doc *d, const struct ev_sent *s, const struct ev_mention *a,
                       const struct ev_mention *b, int *with_and)
{
    int gap = b->w0 - a->w1 - 1;
    *with_and = 0;
    if (a->w1 < 0 || b->w0 <= a->w1)
        return 0;
    if (gap == 0)
        return (W(d, s, b->w0)->brk & TOK_BRK_COMMA) != 0 &&
               !(W(d, s, b->w0)->brk & ~TOK_BRK_COMMA);
    if (gap > 2 || !has_lex(d, s, a->w1 + 1, RULES_LEX_COORD) ||
        (W(d, s, a->w1 + 1)->brk & ~TOK_BRK_COMMA))
        return 0;
    if (gap == 2 && (W(d, s, a->w1 + 2)->flen > 3 || W(d, s, a->w1 + 2)->brk))
        return 0;
    *with_and = 1;
    return !(W(d, s, b->w0)->brk);
}

/* "Germany and the Netherlands sent ...", "the US, Britain and France
 * said ...": each name coordinated with the actor that fired, and a
 * candidate for the same role, gets its own event when the rule's
 * conditions hold for it too. A list joined by commas only counts when it
 * ends with a coordinator. */
static void coordinated_actors(struct ev_eval *e, struct ev_explain *x)
{
    const struct rules_rule *r = e->r;
    struct ev_doc *d = e->d;
    const struct ev_sent *s = e->s;
    if (d->rs->lex[RULES_LEX_COORD] < 0)
        return;
    int speaker_side = actor_via_speaker(e, r->actor_role);
    int *idx = speaker_side ? &e->bs : &e->ba;
    struct ev_cand *list = speaker_side ? e->spk : e->agt;
    int *np = speaker_side ? &e->nspk : &e->nagt;
    if (*idx < 0 || (list[*idx].flags & CAND_PRONOUN))
        return;
    int32_t fired = list[*idx].m;
    const struct ev_cand *ob = bound(e, RULES_ROLE_OBJECT);
    /* The chain of coordinated mentions around the fired one, in sentence
     * order (msort). */
    int pos = -1;
    for (uint32_t k = 0; k < s->nm; k++)
        if ((int32_t)d->w->msort[s->m0 + k] == fired)
            pos = (int)k;
    if (pos < 0)
        return;
    int lo = pos, hi = pos, and_seen = 0, w_and;
    while (lo > 0 && coordinated(d, s, M(d, (int32_t)d->w->msort[s->m0 + lo - 1]),
                                 M(d, (int32_t)d->w->msort[s->m0 + lo]), &w_and)) {
        and_seen |= w_and;
        lo--;
    }
    while (hi + 1 < (int)s->nm && coordinated(d, s, M(d, (int32_t)d->w->msort[s->m0 + hi]),
                                              M(d, (int32_t)d->w->msort[s->m0 + hi + 1]), &w_and)) {
        and_seen |= w_and;
        hi++;
    }
    if (!and_seen || lo == hi)
        return;
    int keep = *idx;
    for (int k = lo; k <= hi; k++) {
        int32_t mi = (int32_t)d->w->msort[s->m0 + k];
        if (mi == fired || (ob && mi == ob->m))
            continue;
        if (!strcmp(M(d, mi)->key, M(d, fired)->key))
            continue;
        /* A partner the role search did not list ("Ukraine, South Korea
         * and the United States say": the comma ends the speaker's segment)
         * plays the same role: it joins the list like the fired one. */
        int c = 0;
        while (c < *np && list[c].m != mi)
            c++;
        if (c == *np) {
            const struct ev_cand model = list[keep];
            add_cand(list, np, mi, model.pos, model.flags, model.attr);
            if (c == *np)
                continue; /* the list is full */
        }
        *idx = c;
        e->want_why = 0;
        if (!r->when || eval(e, r->when, 1))
            finish_binding(e, x);
    }
    *idx = keep;
}

static int try_trigger(struct ev_eval *e, struct ev_explain *x)
{
    const struct rules_rule *r = e->r;
    struct ev_doc *d = e->d;
    /* Only roles that conditions name are searched; the others (and the
     * reported actor) keep their first candidate. */
    unsigned roles = r->roles | (r->actor_role != RULES_ROLE_ACTOR ? 1u << r->actor_role : 0);
    int use_s = (roles & ((1u << RULES_ROLE_SPEAKER) | (1u << RULES_ROLE_ACTOR))) != 0;
    int use_a = (roles & ((1u << RULES_ROLE_AGENT) | (1u << RULES_ROLE_ACTOR))) != 0;
    int ns = use_s ? e->nspk + 1 : 1, na = use_a ? e->nagt + 1 : 1, no = e->nobj + 1;
    /* Roles no condition names keep their first candidate. */
    int found = 0, evaluated = 0;
    e->why[0] = '\0';
    e->use_memo = 1; /* results of precheck() stay valid: same trigger */
    /* Pass 0 wants the actor and the object to be different parties
     * ("Russian troops fought alongside North Korean units": KP before RU);
     * pass 1 accepts the same party ("Pyongyang said it sent its troops"). */
    for (int pass = 0; pass < 2 && !found; pass++)
        for (int is = 0; is < ns && !found; is++) {
            for (int ia = 0; ia < na && !found; ia++) {
                for (int io = 0; io < no && !found; io++) {
                    e->bs = is < e->nspk ? is : -1;
                    e->ba = ia < e->nagt ? ia : -1;
                    e->bo = io < e->nobj ? io : -1;
                    if (!use_s && e->nspk > 0)
                        e->bs = 0;
                    if (!use_a && e->nagt > 0)
                        e->ba = 0;
                    /* The object is never the mention playing another role the
                     * rule uses (a pronoun may stand for it, though). */
                    const struct ev_cand *ob = bound(e, RULES_ROLE_OBJECT);
                    const struct ev_cand *ac = bound(e, r->actor_role);
                    int clash = 0;
                    for (int role = RULES_ROLE_ACTOR; role <= RULES_ROLE_AGENT && ob; role++) {
                        const struct ev_cand *o = bound(e, role);
                        if (o && o->m == ob->m && (r->roles & (1u << role)))
                            clash = 1;
                    }
                    if (clash && !(ob->flags & CAND_PRONOUN))
                        continue;
                    int same = ob && ac && strcmp(M(d, ob->m)->key, M(d, ac->m)->key) == 0;
                    /* An explicit self reference ("its troops") names the
                     * actor's own side on purpose: tried in pass 0 too. */
                    int own = same && (ob->flags & CAND_PRONOUN);
                    if (ob && ac && (pass == 0 ? same && !own : !same || own))
                        continue;
                    if (pass == 1 && !(ob && ac))
                        continue; /* tried in pass 0 */
                    e->want_why = d->explain && !evaluated;
                    evaluated = 1;
                    e->defer_none = 1;
                    int ok = !r->when || eval(e, r->when, 1);
                    e->defer_none = 0;
                    if (!ok)
                        continue;
                    /* Exclusions that depend on roles veto the preferred
                     * object instead of steering the search to a worse one:
                     * Moscow saying "soldiers from North Korea helped drive
                     * Ukrainian forces out" must not become Moscow reporting
                     * Ukrainian troops because it is allied with Pyongyang.
                     * Another speaker or agent may still be tried. */
                    e->want_why = d->explain;
                    e->why[0] = '\0';
                    if (!r->when || eval(e, r->when, 1))
                        found = 1;
                    else
                        break;
                }
            }
        }
    if (!found) {
        if (d->explain)
            explain_add(e, x, "failed", "%s", e->why[0] ? e->why : "conditions not met");
        return 0;
    }
    if (!finish_binding(e, x))
        return 0;
    coordinated_actors(e, x);
    return 1;
}

static double trigger_score(struct ev_doc *d, const struct ev_sent *s, uint32_t set)
{
    const struct rules_termset *ts = &d->rs->sets[set];
    int li = d->w->act[set];
    if (li < 0)
        return 0;
    double score = 0;
    /* Distinct terms: occurrences are sorted by position, so look back. */
    for (uint32_t k = 0; k < s->no; k++) {
        const struct ev_occ *o = &d->w->occ[s->o0 + k];
        if (o->set != set)
            continue;
        int seen = 0;
        for (uint32_t j = 0; j < k && !seen; j++) {
            const struct ev_occ *p = &d->w->occ[s->o0 + j];
            seen = p->set == set && p->term == o->term;
        }
        if (!seen)
            score += ts->lists[li].t[o->term].weight;
    }
    return score;
}

static int run_rule(struct ev_doc *d, const struct rules_rule *r, json_t *explain)
{
    struct ev_worker *w = d->w;
    struct ev_explain x = {NULL, 0};
    int fired = 0, tried = 0;
    if (d->explain) {
        x.list = json_array();
        if (!x.list)
            return -1;
    }
    if (ENSURE(w, memo, r->ncond + 1))
        return -1;
    const struct rules_termset *ts = &d->rs->sets[r->trigger];
    for (uint32_t si = 0; si < d->ns && tried < EV_MAX_TRIGGERS; si++) {
        struct ev_sent *s = &w->sent[si];
        if (!has_bits(w->bits + (size_t)si * d->gw, r->req, r->nreq))
            continue; /* a word the rule needs here is missing */
        if (!d->mentions_loaded) {
            d->mentions_loaded = 1;
            if (load_mentions(d, d->doc)) {
                json_decref(x.list);
                return -1;
            }
        }
        if (match_sent(d, si) || d->oom) {
            json_decref(x.list);
            return -1;
        }
        int thr_ok = ts->threshold <= 0 || trigger_score(d, s, r->trigger) >= ts->threshold;
        int last0 = -1, last1 = -1;
        for (uint32_t k = 0; k < s->no && tried < EV_MAX_TRIGGERS; k++) {
            const struct ev_occ *o = &w->occ[s->o0 + k];
            if (o->set != r->trigger)
                continue;
            if (o->w0 == last0 && o->w1 <= last1)
                continue; /* "deployed" is both "deploy" and "deployment" */
            last0 = o->w0;
            last1 = o->w1;
            struct ev_eval e;
            memset(&e, 0, sizeof e);
            e.d = d;
            e.r = r;
            e.si = si;
            e.s = s;
            e.t0 = o->w0;
            e.t1 = o->w1;
            e.tocc = s->o0 + k;
            e.memo = w->memo;
            tried++;
            w->stats.triggers++;
            if (!thr_ok) {
                if (d->explain)
                    explain_add(&e, &x, "failed", "trigger terms score %g, below the threshold %g",
                                trigger_score(d, s, r->trigger), ts->threshold);
                break;
            }
            /* Conditions that need no roles first: most candidates fail
             * there, before any sentence structure is worked out. */
            e.use_memo = 1;
            memset(e.memo, -1, r->ncond + 1);
            e.want_why = d->explain;
            e.why[0] = '\0';
            if (r->when && !precheck(&e, r->when)) {
                explain_add(&e, &x, "failed", "%s", e.why[0] ? e.why : "conditions not met");
                continue;
            }
            if (analyse(d, si, 0) || d->oom) {
                json_decref(x.list);
                return -1;
            }
            find_roles(&e);
            fired += try_trigger(&e, &x);
            if (d->oom) {
                json_decref(x.list);
                return -1;
            }
        }
    }
    if (d->explain) {
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:b, s:i, s:o}", "rule", r->id, "file", r->file, "type",
                      r->type, "fired", fired > 0, "events", fired, "sentences", x.list);
        if (!o)
            return -1;
        if (tried == 0) {
            uint32_t tg = r->req[0]; /* the trigger's group comes first */
            int trig = r->nreq > 0 && (d->w->docbits[tg / 64] >> (tg % 64) & 1);
            json_object_set_new(o, "reason",
                                json_string(trig ? "no sentence has a trigger term together with "
                                                   "every term the rule requires there"
                                                 : "no trigger term in the document"));
        }
        json_array_append_new(explain, o);
    }
    return 0;
}

static int ev_cmp_conf(const void *a, const void *b)
{
    const struct ev_event *x = a, *y = b;
    if (x->conf != y->conf)
        return x->conf > y->conf ? -1 : 1;
    return x->sent < y->sent ? -1 : x->sent > y->sent;
}

static int ev_cmp_doc(const void *a, const void *b)
{
    const struct ev_event *x = a, *y = b;
    if (x->sent != y->sent)
        return x->sent < y->sent ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

int ev_process(const struct ruleset *rs, struct ev_worker *w, json_t *doc,
               const struct ev_opts *opts, struct vigil_error *err)
{
    struct ev_doc d;
    memset(&d, 0, sizeof d);
    d.rs = rs;
    d.w = w;
    d.text = json_string_value(json_object_get(doc, VIGIL_DOC_TEXT));
    d.title = json_string_value(json_object_get(doc, VIGIL_DOC_TITLE));
    d.len = d.text ? json_string_length(json_object_get(doc, VIGIL_DOC_TEXT)) : 0;
    d.tlen = d.title ? json_string_length(json_object_get(doc, VIGIL_DOC_TITLE)) : 0;
    if (!d.text)
        d.text = "";
    if (!d.title)
        d.title = "";
    if (d.len > EV_MAX_TEXT || d.tlen > EV_MAX_TEXT)
        return vigil_error_set(err, VIGIL_ETOOBIG, "events: text or title larger than %d MB",
                               EV_MAX_TEXT >> 20);
    json_t *meta = json_object_get(doc, VIGIL_DOC_META);
    d.explain = (opts && opts->explain) || json_is_true(json_object_get(meta, "explain"));
    d.lang = rules_lang(rs, json_string_value(json_object_get(doc, VIGIL_DOC_LANG)));
    w->nwords = w->nfolds = w->nocc = w->nattr = w->nrx = 0;
    for (size_t i = 0; i < w->nev; i++) {
        free(w->ev[i].key);
        json_decref(w->ev[i].json);
    }
    w->nev = 0;

    /* Lists in use for this document's language, and the stemmers they
     * need (kept while consecutive documents share a language). */
    if (w->act_lang != d.lang) {
        uint8_t need[RULES_MAX_LANGS] = {0};
        for (uint32_t i = 0; i < rs->nsets; i++) {
            const struct rules_termset *ts = &rs->sets[i];
            w->act[i] = rules_active_list(ts, d.lang);
            w->actmask[i] = w->act[i] >= 0 && w->act[i] < 32 ? 1u << w->act[i] : 0;
            /* Lexicon cues of the file's language also apply to documents
             * in another language: a short English text misdetected as
             * German keeps its English speech verbs and negations. */
            for (int c = 0; c < RULES_LEX_N; c++)
                if (rs->lex[c] == (int)i && ts->fallback >= 0 && ts->fallback < 32)
                    w->actmask[i] |= 1u << ts->fallback;
            for (uint32_t l = 0; l < ts->nlists && l < 32; l++)
                if (w->actmask[i] >> l & 1)
                    need[ts->lists[l].lang] = 1;
        }
        w->nlangs = 0;
        for (uint32_t i = 0; i < rs->nlangs; i++)
            if (need[i])
                w->langs[w->nlangs++] = (uint8_t)i;
        w->act_lang = d.lang;
    }
    memcpy(d.langs, w->langs, sizeof d.langs);
    d.nlangs = w->nlangs;

    /* Scan first: a document without every word some rule needs is done
     * without reading its sentences or mentions. */
    w->nhits = 0;
    d.doc = doc;
    if (scan(&d))
        return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    int any = 0;
    for (uint32_t i = 0; i < rs->nrules && !any; i++)
        any = has_bits(w->docbits, rs->rules[i].req, rs->rules[i].nreq);
    if (any && (load_sentences(&d, doc) || place_hits(&d)))
        return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    json_t *explain = d.explain ? json_array() : NULL;
    if (d.explain && !explain)
        return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    for (uint32_t i = 0; i < rs->nrules; i++) {
        if (run_rule(&d, &rs->rules[i], explain)) {
            json_decref(explain);
            return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
        }
    }
    /* Threshold, cap (strongest first), then document order. */
    size_t k = 0;
    double minc = opts ? opts->min_confidence : 0;
    for (size_t i = 0; i < w->nev; i++) {
        if (w->ev[i].conf + 1e-9 < minc) {
            free(w->ev[i].key);
            json_decref(w->ev[i].json);
            continue;
        }
        w->ev[k++] = w->ev[i];
    }
    w->nev = k;
    size_t max = opts && opts->max_events > 0 ? (size_t)opts->max_events : EV_DEFAULT_EVENTS;
    if (w->nev > max) {
        qsort(w->ev, w->nev, sizeof *w->ev, ev_cmp_conf);
        for (size_t i = max; i < w->nev; i++) {
            free(w->ev[i].key);
            json_decref(w->ev[i].json);
        }
        w->nev = max;
    }
    if (w->nev > 1)
        qsort(w->ev, w->nev, sizeof *w->ev, ev_cmp_doc);
    json_t *events = json_object_get(doc, VIGIL_DOC_EVENTS);
    if (!json_is_array(events)) {
        events = json_array();
        if (!events || json_object_set_new(doc, VIGIL_DOC_EVENTS, events)) {
            json_decref(explain);
            return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
        }
    }
    w->stats.documents++;
    w->stats.sentences += d.ns;
    w->stats.events += w->nev;
    for (size_t i = 0; i < w->nev; i++) {
        json_array_append(events, w->ev[i].json);
        json_decref(w->ev[i].json);
        free(w->ev[i].key);
    }
    w->nev = 0;
    if (explain) {
        meta = vigil_doc_meta(doc);
        if (!meta || json_object_set_new(meta, "explain_events", explain))
            return vigil_error_set(err, VIGIL_ENOMEM, "events: out of memory");
    }
    return VIGIL_OK;
}
