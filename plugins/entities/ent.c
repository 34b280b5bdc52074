/*
 * The matcher. Building: every alias and demonym (case-blind or exact),
 * every context word and every person title becomes one literal of one
 * Vectorscan database; literals that fold to the same bytes are shared and
 * point at everything they stand for. Tagging a field is one hs_scan over
 * its folded bytes; the callback keeps hits on word boundaries (a table
 * lookup for ASCII neighbours, so the many inside-word hits cost little).
 * Then, per field: map offsets back, apply ambiguity rules and choose the
 * alias, keep the longest of overlapping matches, guess titled persons.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datetime.h"
#include "ent_internal.h"
#include "map.h"

#define ENT_LEAD_BYTES 400 /* lead when the text has neither paragraphs nor sentences */
#define ENT_WEIGHT_TITLE 3.0
#define ENT_WEIGHT_LEAD 2.0
#define ENT_WEIGHT_BODY 1.0
#define ENT_SENTENCE_GUESS_MAX 2000 /* bytes looked at around a match without sentences */

/*
 * In-place sort without allocation (glibc's qsort mallocs a merge buffer
 * for arrays over 1 KB, and on a heap full of the previous document's
 * freed JSON that malloc costs a consolidation pass every time).
 * Insertion sort for short runs, heapsort above: the comparators here are
 * total orders, so stability does not matter.
 */
static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
    unsigned char t[64]; /* every sorted record here is smaller */
    while (size) {
        size_t k = size < sizeof t ? size : sizeof t;
        memcpy(t, a, k);
        memcpy(a, b, k);
        memcpy(b, t, k);
        a += k;
        b += k;
        size -= k;
    }
}

static void sift_down(unsigned char *base, size_t root, size_t n, size_t size,
                      int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp(base + root * size, base + child * size) >= 0)
            return;
        swap_bytes(base + root * size, base + child * size, size);
        root = child;
    }
}

static void ent_sort(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *base = v;
    if (n < 2)
        return;
    if (n <= 24) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && cmp(base + (j - 1) * size, base + j * size) > 0; j--)
                swap_bytes(base + (j - 1) * size, base + j * size, size);
        return;
    }
    for (size_t i = n / 2; i-- > 0;)
        sift_down(base, i, n, size, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        swap_bytes(base, base + end * size, size);
        sift_down(base, 0, end, size, cmp);
    }
}

static double now_ms_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------------
 * Building the pattern table
 * --------------------------------------------------------------------- */

struct pair {
    uint32_t pat;
    struct ent_ref ref;
};

struct builder {
    const struct ent_fold_table *fold;
    struct ent_map map; /* key ('i'/'s' + scanned bytes) -> pattern */
    char **keys;        /* owned keys; expression = key + 1 */
    unsigned *hsflags;
    size_t *lens;
    uint32_t *pflags;
    size_t n, cap;
    struct pair *pairs;
    size_t npairs, cappairs;
    struct ent_map words; /* folded context word -> word index */
    char **wordkeys;
    size_t nwords, capwords;
};

static int grow_pats(struct builder *b)
{
    size_t cap = b->cap ? b->cap * 2 : 256;
    char **k = realloc(b->keys, cap * sizeof *k);
    if (k)
        b->keys = k;
    unsigned *f = realloc(b->hsflags, cap * sizeof *f);
    if (f)
        b->hsflags = f;
    size_t *l = realloc(b->lens, cap * sizeof *l);
    if (l)
        b->lens = l;
    uint32_t *p = realloc(b->pflags, cap * sizeof *p);
    if (p)
        b->pflags = p;
    if (!k || !f || !l || !p)
        return -1;
    b->cap = cap;
    return 0;
}

static int add_literal(struct builder *b, const char *text, int sensitive, int kind, uint32_t index,
                       int demonym)
{
    size_t flen;
    unsigned mode = ENT_FOLD_CASE | (sensitive ? 0 : ENT_FOLD_ASCII);
    char *folded = ent_fold_string(b->fold, text, strlen(text), mode, &flen);
    if (!folded)
        return -1;
    if (flen == 0) {
        free(folded);
        return 0;
    }
    char *key = malloc(flen + 2);
    if (!key) {
        free(folded);
        return -1;
    }
    key[0] = sensitive ? 's' : 'i';
    memcpy(key + 1, folded, flen + 1);
    free(folded);
    uint32_t pat;
    if (b->n == b->cap && grow_pats(b) != 0) {
        free(key);
        return -1;
    }
    int rc = ent_map_put(&b->map, key, flen + 1, (uint32_t)b->n, &pat);
    if (rc < 0) {
        free(key);
        return -1;
    }
    if (rc == 1) {
        free(key);
    } else {
        pat = (uint32_t)b->n++;
        b->keys[pat] = key;
        b->lens[pat] = flen;
        b->hsflags[pat] = sensitive ? 0 : HS_FLAG_CASELESS;
        uint32_t pf = 0;
        const char *e = key + 1;
        if (ent_word_char_at(e, flen, 0))
            pf |= ENT_PAT_WSTART;
        if (ent_word_char_before(e, flen))
            pf |= ENT_PAT_WEND;
        if (sensitive) {
            pf |= ENT_PAT_SENS;
            for (size_t i = 0; i < flen; i++)
                if ((unsigned char)e[i] >= 0x80)
                    pf |= ENT_PAT_SENS_NONASCII;
        }
        b->pflags[pat] = pf;
    }
    if (demonym)
        b->pflags[pat] |= ENT_PAT_DEMONYM;
    b->pflags[pat] |= kind == ENT_REF_ALIAS  ? ENT_PAT_ALIAS
                      : kind == ENT_REF_WORD ? ENT_PAT_WORD
                                             : ENT_PAT_TITLE;
    if (b->npairs == b->cappairs) {
        size_t cap = b->cappairs ? b->cappairs * 2 : 256;
        struct pair *v = realloc(b->pairs, cap * sizeof *v);
        if (!v)
            return -1;
        b->pairs = v;
        b->cappairs = cap;
    }
    b->pairs[b->npairs++] = (struct pair){pat, {(uint32_t)kind, index}};
    return 0;
}

/* Index of a context word, adding it (and its literal) on first use. */
static int word_index(struct builder *b, const char *word, uint32_t *out)
{
    size_t flen;
    char *folded =
        ent_fold_string(b->fold, word, strlen(word), ENT_FOLD_CASE | ENT_FOLD_ASCII, &flen);
    if (!folded)
        return -1;
    if (b->nwords == b->capwords) {
        size_t cap = b->capwords ? b->capwords * 2 : 64;
        char **v = realloc(b->wordkeys, cap * sizeof *v);
        if (!v) {
            free(folded);
            return -1;
        }
        b->wordkeys = v;
        b->capwords = cap;
    }
    int rc = ent_map_put(&b->words, folded, flen, (uint32_t)b->nwords, out);
    if (rc < 0) {
        free(folded);
        return -1;
    }
    if (rc == 1) {
        free(folded);
        return 0;
    }
    *out = (uint32_t)b->nwords;
    b->wordkeys[b->nwords++] = folded;
    return add_literal(b, word, 0, ENT_REF_WORD, *out, 0);
}

static void builder_free(struct builder *b)
{
    ent_map_free(&b->map);
    ent_map_free(&b->words);
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
    for (size_t i = 0; i < b->nwords; i++)
        free(b->wordkeys[i]);
    free(b->keys);
    free(b->hsflags);
    free(b->lens);
    free(b->pflags);
    free(b->pairs);
    free(b->wordkeys);
}

static int resolve_words(struct builder *b, char **words, size_t n, uint32_t **out, size_t *nout)
{
    *nout = 0;
    *out = NULL;
    if (!n)
        return 0;
    *out = malloc(n * sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (word_index(b, words[i], &(*out)[(*nout)++]) != 0)
            return -1;
    return 0;
}

static int build_patterns(struct ent_matcher *m, struct builder *b)
{
    const struct gaz *g = &m->gaz;
    m->actx = calloc(g->naliases ? g->naliases : 1, sizeof *m->actx);
    if (!m->actx)
        return -1;
    for (size_t i = 0; i < g->naliases; i++) {
        const struct gaz_alias *a = &g->aliases[i];
        if (add_literal(b, a->text, a->case_sensitive, ENT_REF_ALIAS, (uint32_t)i, a->demonym))
            return -1;
        if (a->context) {
            struct ent_actx *x = &m->actx[i];
            x->src = a->context;
            if (resolve_words(b, a->context->positive, a->context->npositive, &x->pos, &x->npos) !=
                    0 ||
                resolve_words(b, a->context->negative, a->context->nnegative, &x->neg, &x->nneg) !=
                    0)
                return -1;
        }
    }
    for (size_t i = 0; i < m->ntitles; i++)
        if (add_literal(b, m->titles[i].text, 0, ENT_REF_TITLE, (uint32_t)i, 0) != 0)
            return -1;
    m->nwords = b->nwords;

    /* Lay the references out per pattern (a stable counting sort, so
     * aliases keep file order: the first loaded reading is preferred). */
    m->npats = b->n;
    m->nrefs = b->npairs;
    m->pats = calloc(b->n ? b->n : 1, sizeof *m->pats);
    m->refs = malloc((b->npairs ? b->npairs : 1) * sizeof *m->refs);
    if (!m->pats || !m->refs)
        return -1;
    for (size_t i = 0; i < b->npairs; i++)
        m->pats[b->pairs[i].pat].nref++;
    uint32_t off = 0;
    for (size_t i = 0; i < b->n; i++) {
        m->pats[i].ref0 = off;
        off += m->pats[i].nref;
        m->pats[i].nref = 0;
        m->pats[i].len = (uint32_t)b->lens[i];
        m->pats[i].flags = b->pflags[i];
    }
    for (size_t i = 0; i < b->npairs; i++) {
        struct ent_pat *p = &m->pats[b->pairs[i].pat];
        m->refs[p->ref0 + p->nref++] = b->pairs[i].ref;
    }
    return 0;
}

static int compile_db(struct ent_matcher *m, struct builder *b, struct ent_stats *st,
                      struct vigil_error *err)
{
    const char **exprs = malloc((b->n ? b->n : 1) * sizeof *exprs);
    unsigned *ids = malloc((b->n ? b->n : 1) * sizeof *ids);
    if (!exprs || !ids) {
        free(exprs);
        free(ids);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < b->n; i++) {
        exprs[i] = b->keys[i] + 1;
        ids[i] = (unsigned)i;
    }
    int rc = 0;
    double t0 = now_ms_mono();
    hs_compile_error_t *cerr = NULL;
    hs_error_t e = hs_compile_lit_multi(exprs, b->hsflags, ids, b->lens, (unsigned)b->n,
                                        HS_MODE_BLOCK, NULL, &m->db, &cerr);
    st->compile_ms = now_ms_mono() - t0;
    if (e != HS_SUCCESS) {
        rc = vigil_error_set(err, VIGIL_ERR, "Vectorscan cannot compile the aliases: %s",
                             cerr && cerr->message ? cerr->message : "unknown error");
        hs_free_compile_error(cerr);
        m->db = NULL;
    }
    free(exprs);
    free(ids);
    return rc;
}

/* The parts of a matcher that are rebuilt at every start, from the cache or
 * not: the fold table, the title table and the shared JSON values. */
static int matcher_init_common(struct ent_matcher *m)
{
    ent_fold_table_init(&m->fold);
    m->titles = ent_title_defs(&m->ntitles);
    for (int t = 0; t < GAZ_NTYPES; t++)
        if (!(m->jtype[t] = json_string(gaz_type_name(t))))
            return -1;
    m->jtitle = calloc(m->ntitles ? m->ntitles : 1, sizeof *m->jtitle);
    if (!m->jtitle)
        return -1;
    for (size_t i = 0; i < m->ntitles; i++)
        if (!(m->jtitle[i] = json_string(m->titles[i].title)))
            return -1;
    for (int i = 0; i < ENT_JINT_N; i++)
        if (!(m->jint[i] = json_integer(i - 1)))
            return -1;
    for (int i = 0; i <= 1000; i++)
        if (!(m->jsal[i] = json_real(i / 1000.0)))
            return -1;
    return (m->jfield_title = json_string("title")) ? 0 : -1;
}

static struct ent_matcher *matcher_new(const struct ent_options *opt)
{
    struct ent_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->opt = *opt;
    m->opt.cache_dir = NULL; /* borrowed only for the call */
    if (matcher_init_common(m) != 0) {
        ent_matcher_free(m);
        return NULL;
    }
    return m;
}

/* Literal table and database for m->gaz. */
static int matcher_build(struct ent_matcher *m, struct ent_stats *st, struct vigil_error *err)
{
    struct builder b = {0};
    b.fold = &m->fold;
    double t0 = now_ms_mono();
    if (build_patterns(m, &b) != 0) {
        builder_free(&b);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory building the alias table");
    }
    st->patterns_ms = now_ms_mono() - t0;
    st->npatterns = b.n;
    int rc = compile_db(m, &b, st, err);
    builder_free(&b);
    return rc;
}

int ent_matcher_create(struct ent_matcher **out, struct gaz *g, const struct ent_options *opt,
                       struct ent_stats *stats, struct vigil_error *err)
{
    struct ent_stats dummy;
    struct ent_stats *st = stats ? stats : &dummy;
    memset(st, 0, sizeof *st);
    *out = NULL;
    struct ent_matcher *m = matcher_new(opt);
    if (!m) {
        gaz_free(g);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    m->gaz = *g;
    memset(g, 0, sizeof *g);
    int rc = matcher_build(m, st, err);
    if (rc != 0) {
        ent_matcher_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Copy the diags of src into dst (same file, position, pointer, text). */
static void diags_append(struct diags *dst, const struct diags *src)
{
    if (!dst)
        return;
    for (size_t i = 0; i < src->n; i++) {
        const struct diag *g = &src->v[i];
        diags_add_at(dst, g->file, g->line, g->col, g->pointer, "%s", g->msg ? g->msg : "");
    }
    dst->dropped += src->dropped;
}

int ent_matcher_open(struct ent_matcher **out, const char *const *paths, size_t n,
                     const struct ent_options *opt, struct diags *errors, struct diags *warnings,
                     struct ent_stats *stats, struct vigil_error *err)
{
    struct ent_stats dummy;
    struct ent_stats *st = stats ? stats : &dummy;
    memset(st, 0, sizeof *st);
    *out = NULL;
    double t0 = now_ms_mono();
    char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    struct ent_matcher *m = NULL;
    struct diags wlocal = {0};
    int rc = 0, unreadable = 0;
    if (!texts || !lens) {
        rc = vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
        goto done;
    }
    /* The files are read once: their bytes key the cache, and on a miss
     * the loader parses the same bytes. */
    for (size_t i = 0; i < n; i++) {
        if (buf_read_file(paths[i], ENT_GAZ_FILE_MAX, &texts[i], &lens[i]) != 0) {
            if (errno == EFBIG)
                diags_add_at(errors, paths[i], 0, 0, NULL, "file larger than %zu MB",
                             ENT_GAZ_FILE_MAX >> 20);
            else
                diags_add_at(errors, paths[i], 0, 0, NULL, "cannot open: %s", strerror(errno));
            unreadable = 1;
        }
    }
    if (unreadable || n == 0) {
        if (n == 0)
            diags_add_at(errors, NULL, 0, 0, NULL, "no gazetteer files given");
        rc = vigil_error_set(err, VIGIL_EINVAL, "invalid gazetteers");
        goto done;
    }
    m = matcher_new(opt);
    if (!m) {
        rc = vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
        goto done;
    }
    const char *dir = opt->cache_dir && *opt->cache_dir ? opt->cache_dir : NULL;
    uint64_t key = 0;
    st->cache = ENT_CACHE_OFF;
    if (dir) {
        double t1 = now_ms_mono();
        key = ent_cache_key(paths, (const char *const *)texts, lens, n);
        int lrc = ent_cache_load(dir, key, m, warnings, st->cache_path, sizeof st->cache_path,
                                 st->cache_note, sizeof st->cache_note);
        if (lrc == 0) {
            st->cache = ENT_CACHE_HIT;
            st->load_ms = now_ms_mono() - t1;
            st->npatterns = m->npats;
            size_t sz = 0;
            if (hs_database_size(m->db, &sz) == HS_SUCCESS)
                st->db_bytes = sz;
            goto done;
        }
        st->cache = lrc == VIGIL_ENOTFOUND ? ENT_CACHE_MISS : ENT_CACHE_REBUILT;
    }
    if (gaz_load_buffers(&m->gaz, paths, (const char *const *)texts, lens, n, errors, &wlocal) !=
        0) {
        rc = vigil_error_set(err, VIGIL_EINVAL, "invalid gazetteers");
        goto done;
    }
    diags_append(warnings, &wlocal);
    rc = matcher_build(m, st, err);
    if (rc == 0 && dir) {
        char note[256] = "";
        if (ent_cache_store(dir, key, m, &wlocal, &st->db_bytes, note, sizeof note) != 0)
            snprintf(st->cache_note, sizeof st->cache_note, "%s", note); /* not fatal */
    }
done:
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    free(lens);
    diags_free(&wlocal);
    if (rc != 0) {
        ent_matcher_free(m);
        return rc;
    }
    st->open_ms = now_ms_mono() - t0;
    *out = m;
    return 0;
}

void ent_matcher_free(struct ent_matcher *m)
{
    if (!m)
        return;
    if (m->db)
        hs_free_database(m->db);
    for (size_t i = 0; m->actx && !m->actx_block && i < m->gaz.naliases; i++) {
        free(m->actx[i].pos);
        free(m->actx[i].neg);
    }
    free(m->actx_block);
    free(m->actx);
    free(m->pats);
    free(m->refs);
    for (int t = 0; t < GAZ_NTYPES; t++)
        json_decref(m->jtype[t]);
    for (size_t i = 0; m->jtitle && i < m->ntitles; i++)
        json_decref(m->jtitle[i]);
    free(m->jtitle);
    for (int i = 0; i < ENT_JINT_N; i++)
        json_decref(m->jint[i]);
    for (int i = 0; i <= 1000; i++)
        json_decref(m->jsal[i]);
    json_decref(m->jfield_title);
    gaz_free(&m->gaz);
    free(m);
}

const struct gaz *ent_matcher_gaz(const struct ent_matcher *m)
{
    return &m->gaz;
}

const void *ent_matcher_hs_db(const struct ent_matcher *m)
{
    return m->db;
}

/* ------------------------------------------------------------------------
 * Workers
 * --------------------------------------------------------------------- */

int ent_worker_create(const struct ent_matcher *m, struct ent_worker **out, struct vigil_error *err)
{
    struct ent_worker *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    w->m = m;
    /* zeroed pages: costs nothing until entries are used */
    w->jent = calloc(3 * (m->gaz.nentries ? m->gaz.nentries : 1), sizeof *w->jent);
    if (!w->jent || hs_alloc_scratch(m->db, &w->scratch) != HS_SUCCESS) {
        free(w->jent);
        free(w);
        return vigil_error_set(err, VIGIL_ENOMEM, "cannot allocate Vectorscan scratch space");
    }
    buf_init(&w->names, (size_t)16 << 20);
    *out = w;
    return 0;
}

void ent_worker_free(struct ent_worker *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->jent && i < 3 * w->m->gaz.nentries; i++)
        json_decref(w->jent[i]);
    free(w->jent);
    hs_free_scratch(w->scratch);
    ent_fold_buf_free(&w->fold);
    free(w->hits);
    free(w->cands);
    free(w->mentions);
    free(w->owned);
    free(w->sent);
    free(w->aggs);
    free(w->jguess);
    ent_guess_free(w);
    buf_free(&w->names);
    free(w);
}

/* ------------------------------------------------------------------------
 * Scanning
 * --------------------------------------------------------------------- */

static int push_hit(struct ent_worker *w, uint32_t start, uint32_t end, uint32_t pat, int plural)
{
    if (w->nhits == w->caphits) {
        if (w->caphits >= ENT_HITS_MAX) {
            w->overflow = 1;
            return -1;
        }
        size_t cap = w->caphits ? w->caphits * 2 : 256;
        struct ent_hit *v = realloc(w->hits, cap * sizeof *v);
        if (!v) {
            w->overflow = 1;
            return -1;
        }
        w->hits = v;
        w->caphits = cap;
    }
    w->hits[w->nhits++] = (struct ent_hit){start, end, pat, w->field, (uint8_t)plural, 0};
    return 0;
}

/* Vectorscan callback: keep hits on word boundaries. Most rejections are
 * settled by one lookup of the byte before the match. */
static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    (void)from;
    (void)flags;
    struct ent_worker *w = ctx;
    const struct ent_pat *p = &w->m->pats[id];
    size_t end = (size_t)to, start = end - p->len;
    const char *t = w->scan;
    if ((p->flags & ENT_PAT_WSTART) && ent_word_char_before(t, start))
        return 0;
    int plural = 0;
    if ((p->flags & ENT_PAT_WEND) && ent_word_char_at(t, w->scan_len, end)) {
        /* "North Koreans" for the demonym "North Korean" */
        if (!(p->flags & ENT_PAT_DEMONYM) || (t[end] != 's' && t[end] != 'S') ||
            ent_word_char_at(t, w->scan_len, end + 1))
            return 0;
        plural = 1;
        end++;
    }
    return push_hit(w, (uint32_t)start, (uint32_t)end, id, plural) == 0 ? 0 : 1;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct ent_hit *x = a, *y = b;
    if (x->field != y->field)
        return x->field < y->field ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->pat < y->pat ? -1 : x->pat > y->pat;
}

/* ------------------------------------------------------------------------
 * Sentences and context
 * --------------------------------------------------------------------- */

static int32_t sentence_of(const struct ent_doc *d, int field, uint32_t pos)
{
    if (field != ENT_FIELD_TEXT || !d->nsentences)
        return -1;
    size_t lo = 0, hi = d->nsentences;
    while (lo < hi) { /* first sentence starting after pos */
        size_t mid = lo + (hi - lo) / 2;
        if (d->sentences[mid][0] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    return pos < d->sentences[lo - 1][1] ? (int32_t)(lo - 1) : -1;
}

static int is_sentence_end(const char *t, size_t len, size_t i)
{
    /* t[i] ends a sentence: ".", "!" or "?" followed by a space, or a newline */
    char c = t[i];
    if (c == '\n')
        return 1;
    return (c == '.' || c == '!' || c == '?') &&
           (i + 1 >= len || t[i + 1] == ' ' || t[i + 1] == '\n');
}

/* The sentence around [start, end) of a field: from the doc's sentences
 * when known, else from punctuation (bounded). */
static void sentence_window(const struct ent_doc *d, int field, const char *t, size_t len,
                            uint32_t start, uint32_t end, uint32_t *ws, uint32_t *we)
{
    if (field == ENT_FIELD_TITLE) {
        *ws = 0;
        *we = (uint32_t)len;
        return;
    }
    int32_t s = sentence_of(d, field, start);
    if (s >= 0) {
        *ws = d->sentences[s][0];
        *we = d->sentences[s][1] > end ? d->sentences[s][1] : end;
        return;
    }
    size_t a = start, lim = start > ENT_SENTENCE_GUESS_MAX ? start - ENT_SENTENCE_GUESS_MAX : 0;
    while (a > lim && !is_sentence_end(t, len, a - 1))
        a--;
    size_t b = end, blim = end + ENT_SENTENCE_GUESS_MAX < len ? end + ENT_SENTENCE_GUESS_MAX : len;
    while (b < blim && !is_sentence_end(t, len, b))
        b++;
    *ws = (uint32_t)a;
    *we = (uint32_t)(b < len ? b + 1 : len);
}

/* Whether a hit of one of the context words ids lies in the window
 * (field < 0: anywhere in the document). */
static int window_has(const struct ent_worker *w, int field, uint32_t ws, uint32_t we,
                      const uint32_t *ids, size_t nids)
{
    if (!nids)
        return 0;
    const struct ent_matcher *m = w->m;
    for (size_t i = 0; i < w->nhits; i++) {
        const struct ent_hit *h = &w->hits[i];
        if (field >= 0 && (h->field != field || h->start < ws || h->end > we))
            continue;
        const struct ent_pat *p = &m->pats[h->pat];
        if (h->plural || !(p->flags & ENT_PAT_WORD))
            continue;
        for (uint32_t r = 0; r < p->nref; r++) {
            struct ent_ref ref = m->refs[p->ref0 + r];
            if (ref.kind != ENT_REF_WORD)
                continue;
            for (size_t k = 0; k < nids; k++)
                if (ids[k] == ref.index)
                    return 1;
        }
    }
    return 0;
}

static int is_space_at(const char *t, size_t len, size_t i, size_t *next)
{
    if (i >= len)
        return 0;
    if (t[i] == ' ') {
        *next = i + 1;
        return 1;
    }
    if ((unsigned char)t[i] == 0xC2 && i + 1 < len && (unsigned char)t[i + 1] == 0xA0) {
        *next = i + 2;
        return 1;
    }
    return 0;
}

/* "Chad Johnson": the word after the match starts with a capital. */
static int next_capitalized(const char *t, size_t len, size_t end)
{
    size_t i = end, nx;
    if (!is_space_at(t, len, i, &nx))
        return 0;
    while (is_space_at(t, len, i, &nx))
        i = nx;
    if (i >= len)
        return 0;
    return ent_is_upper_cp(ent_utf8_next(t, len, i, &nx));
}

/* Words that open English sentences without being names: a capitalised
 * word at the start of a sentence is only a name ("Michael Jordan
 * attended ...") when it is not one of these ("In Jordan, ..."). */
static const char *const sentence_openers[] = {
    "A", "About", "Across", "After", "Against", "All", "Also", "Although", "An", "And", "As",
    "At", "Because", "Before", "Besides", "Between", "Both", "But", "By", "Despite", "During",
    "Each", "Even", "Every", "For", "From", "Hence", "How", "However", "If", "In", "Including",
    "Inside", "Into", "Last", "Like", "Meanwhile", "Neighbouring", "Neighboring", "Nearby",
    "Next", "No", "Nor", "Not", "Now", "Of", "On", "Once", "Only", "Or", "Over", "Since", "So",
    "Such", "That", "The", "Then", "There", "These", "This", "Those", "Though", "Through",
    "Thus", "To", "Today", "Under", "Unlike", "Until", "Upon", "What", "When", "Where",
    "Whether", "Which", "While", "Who", "Why", "With", "Within", "Without", "Yesterday", "Yet",
    NULL};

static int is_sentence_opener(const char *w, size_t n)
{
    for (size_t i = 0; sentence_openers[i]; i++)
        if (strlen(sentence_openers[i]) == n && memcmp(sentence_openers[i], w, n) == 0)
            return 1;
    return 0;
}

/* "Michael Jordan": the word before is a capitalised name (at the start of
 * a sentence too, unless it is a common sentence opener: "In Jordan"). */
static int prev_capitalized(const char *t, size_t start, uint32_t sent_start)
{
    size_t i = start;
    int spaces = 0;
    while (i > 0 && (t[i - 1] == ' ' || (i > 1 && (unsigned char)t[i - 1] == 0xA0 &&
                                         (unsigned char)t[i - 2] == 0xC2))) {
        i -= t[i - 1] == ' ' ? 1 : 2;
        spaces++;
    }
    if (!spaces || i == 0 || !ent_word_char_before(t, i))
        return 0;
    size_t ws = i;
    while (ws > 0 && ent_word_char_before(t, ws)) {
        size_t st;
        ent_utf8_prev(t, ws, &st);
        ws = st;
    }
    size_t nx;
    if (!ent_is_upper_cp(ent_utf8_next(t, start, ws, &nx)))
        return 0;
    if (ws <= sent_start)
        return !is_sentence_opener(t + ws, i - ws); /* first word of its sentence */
    /* Also first when only spaces and opening punctuation precede it after
     * a sentence end (sentences unknown, or a quote opens it). */
    size_t k = ws;
    while (k > 0) {
        char c = t[k - 1];
        if (c == ' ' || c == '"' || c == '(' || c == '\'')
            k--;
        else if (k >= 3 && (unsigned char)c == 0x9C && (unsigned char)t[k - 2] == 0x80 &&
                 (unsigned char)t[k - 3] == 0xE2)
            k -= 3; /* “ */
        else
            break;
    }
    if (k == 0 || t[k - 1] == '\n' || t[k - 1] == '.' || t[k - 1] == '!' || t[k - 1] == '?' ||
        t[k - 1] == ':')
        return !is_sentence_opener(t + ws, i - ws);
    return 1;
}

/* Exact (case-sensitive) comparison of an original span with an alias,
 * typographic variants aside. */
static int same_text(const char *t, size_t len, const char *a)
{
    size_t alen = strlen(a), i = 0, j = 0;
    while (i < len && j < alen) {
        size_t ni, nj;
        uint32_t x = ent_utf8_next(t, len, i, &ni), y = ent_utf8_next(a, alen, j, &nj);
        if (ent_fold_norm_cp(x) != ent_fold_norm_cp(y))
            return 0;
        i = ni;
        j = nj;
    }
    return i == len && j == alen;
}

static int lang_ok(const struct gaz_alias *a, const char *lang)
{
    if (!a->lang[0] || !lang || !*lang || strcmp(lang, "und") == 0)
        return 1;
    return lang[0] == a->lang[0] && lang[1] == a->lang[1] && (lang[2] == '\0' || lang[2] == '-');
}

enum verdict { V_REJECT = 0, V_ACCEPT = 1, V_STRONG = 2 };

static int judge(const struct ent_worker *w, const struct ent_doc *d, const struct ent_hit *h,
                 uint32_t alias, const char *t, size_t len)
{
    const struct ent_matcher *m = w->m;
    const struct gaz_alias *a = &m->gaz.aliases[alias];
    if (h->plural && !a->demonym)
        return V_REJECT;
    if (!lang_ok(a, d->lang))
        return V_REJECT;
    if (a->case_sensitive && (h->folded || (m->pats[h->pat].flags & ENT_PAT_SENS_NONASCII)) &&
        !same_text(t + h->start, h->end - h->start - h->plural, a->text))
        return V_REJECT;
    const struct ent_actx *x = &m->actx[alias];
    if (!x->src)
        return V_ACCEPT;
    uint32_t ws, we;
    sentence_window(d, h->field, t, len, h->start, h->end, &ws, &we);
    if (x->src->reject_next_cap && next_capitalized(t, len, h->end))
        return V_REJECT;
    if (x->src->reject_prev_cap && prev_capitalized(t, h->start, ws))
        return V_REJECT;
    int doc = x->src->window == GAZ_WINDOW_DOCUMENT;
    if (window_has(w, doc ? -1 : h->field, ws, we, x->pos, x->npos))
        return V_STRONG;
    if (window_has(w, doc ? -1 : h->field, ws, we, x->neg, x->nneg))
        return V_REJECT;
    return x->src->default_reject ? V_REJECT : V_ACCEPT;
}

static int push_cand(struct ent_worker *w, const struct ent_cand *c)
{
    if (w->ncands == w->capcands) {
        size_t cap = w->capcands ? w->capcands * 2 : 128;
        struct ent_cand *v = realloc(w->cands, cap * sizeof *v);
        if (!v)
            return -1;
        w->cands = v;
        w->capcands = cap;
    }
    w->cands[w->ncands++] = *c;
    return 0;
}

int ent_push_mention(struct ent_worker *w, const struct ent_mention *mn)
{
    if (w->nmentions == w->capmentions) {
        if (w->capmentions >= ENT_HITS_MAX)
            return -1;
        size_t cap = w->capmentions ? w->capmentions * 2 : 64;
        struct ent_mention *v = realloc(w->mentions, cap * sizeof *v);
        if (!v)
            return -1;
        w->mentions = v;
        w->capmentions = cap;
    }
    w->mentions[w->nmentions++] = *mn;
    return 0;
}

/* Longest first; then a confirmed reading, then the earlier, then file order. */
static int cmp_cand(const void *a, const void *b)
{
    const struct ent_cand *x = a, *y = b;
    uint32_t lx = x->end - x->start, ly = y->end - y->start;
    if (lx != ly)
        return lx > ly ? -1 : 1;
    if (x->strong != y->strong)
        return x->strong > y->strong ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->alias < y->alias ? -1 : x->alias > y->alias;
}

/* Choose readings for the hits of one field and keep the longest of
 * overlapping ones; marks accepted bytes in w->owned. */
static int resolve_field(struct ent_worker *w, const struct ent_doc *d, int field, const char *t,
                         size_t len, size_t h0, size_t h1)
{
    const struct ent_matcher *m = w->m;
    w->ncands = 0;
    for (size_t i = h0; i < h1; i++) {
        const struct ent_hit *h = &w->hits[i];
        const struct ent_pat *p = &m->pats[h->pat];
        if (!(p->flags & ENT_PAT_ALIAS))
            continue;
        int best = V_REJECT;
        uint32_t best_alias = 0;
        for (uint32_t r = 0; r < p->nref && best != V_STRONG; r++) {
            struct ent_ref ref = m->refs[p->ref0 + r];
            if (ref.kind != ENT_REF_ALIAS)
                continue;
            int v = judge(w, d, h, ref.index, t, len);
            if (v > best) {
                best = v;
                best_alias = ref.index;
            }
        }
        if (best == V_REJECT)
            continue;
        struct ent_cand c = {h->start, h->end, best_alias, (uint8_t)field, best == V_STRONG};
        if (push_cand(w, &c) != 0)
            return VIGIL_ENOMEM;
    }
    if (len + 1 > w->capowned) {
        uint8_t *o = realloc(w->owned, len + 1);
        if (!o)
            return VIGIL_ENOMEM;
        w->owned = o;
        w->capowned = len + 1;
    }
    memset(w->owned, 0, len + 1);
    ent_sort(w->cands, w->ncands, sizeof *w->cands, cmp_cand);
    for (size_t i = 0; i < w->ncands; i++) {
        const struct ent_cand *c = &w->cands[i];
        int free_span = 1;
        for (uint32_t k = c->start; k < c->end && free_span; k++)
            free_span = !w->owned[k];
        if (!free_span)
            continue;
        memset(w->owned + c->start, 1, c->end - c->start);
        const struct gaz_alias *a = &m->gaz.aliases[c->alias];
        struct ent_mention mn = {c->start,  c->end, sentence_of(d, field, c->start),
                                 a->entry,  0,      (uint8_t)field,
                                 a->demonym};
        if (ent_push_mention(w, &mn) != 0)
            return VIGIL_ETOOBIG;
    }
    return 0;
}

static int32_t sentence_of_cb(const struct ent_doc *d, int field, uint32_t pos)
{
    return sentence_of(d, field, pos);
}

static int cmp_mention(const void *a, const void *b)
{
    const struct ent_mention *x = a, *y = b;
    if (x->field != y->field)
        return x->field == ENT_FIELD_TITLE ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int scan_field(const struct ent_matcher *m, struct ent_worker *w, int field, const char *t,
                      size_t len)
{
    const char *s;
    size_t slen;
    if (ent_fold_text(&m->fold, &w->fold, t, len, ENT_FOLD_CASE, &s, &slen) != 0)
        return VIGIL_ENOMEM;
    w->scan = s;
    w->scan_len = slen;
    w->field = (uint8_t)field;
    size_t h0 = w->nhits;
    hs_error_t e = hs_scan(m->db, s, (unsigned)slen, 0, w->scratch, on_match, w);
    if (e != HS_SUCCESS && e != HS_SCAN_TERMINATED)
        return VIGIL_ERR;
    if (w->fold.active) {
        /* Offsets back to the original; drop hits inside one expansion. */
        size_t o = h0;
        for (size_t i = h0; i < w->nhits; i++) {
            struct ent_hit h = w->hits[i];
            int64_t a = ent_fold_map(&w->fold, h.start);
            int64_t b = ent_fold_map(&w->fold, h.end);
            if (a < 0 || b < 0 || b <= a)
                continue;
            h.start = (uint32_t)a;
            h.end = (uint32_t)b;
            h.folded = 1;
            w->hits[o++] = h;
        }
        w->nhits = o;
    }
    return w->overflow ? VIGIL_ETOOBIG : 0;
}

/*
 * "North Korea's Central Military Commission", "Iran's Foreign Ministry":
 * an institution named right after another country's possessive is that
 * country's namesake, not the gazetteer's entry (China's Central Military
 * Commission). Drop such mentions instead of asserting a wrong identity;
 * the possessor's own mention stays. Only organisations and armed forces:
 * a place after a possessive keeps its country ("Ukraine's Kursk
 * incursion" happens in Russia).
 */
static void drop_contradicted(const struct ent_matcher *m, struct ent_worker *w,
                              const struct ent_doc *d)
{
    size_t out = 0;
    for (size_t k = 0; k < w->nmentions; k++) {
        const struct ent_mention *cur = &w->mentions[k];
        int drop = 0;
        if (k > 0 && cur->entry != UINT32_MAX && out > 0) {
            const struct ent_mention *prev = &w->mentions[out - 1];
            const struct gaz_entry *ce = &m->gaz.entries[cur->entry];
            if (prev->field == cur->field && prev->entry != UINT32_MAX && !prev->demonym &&
                (ce->type == GAZ_ORGANISATION || ce->type == GAZ_MILITARY) && ce->affiliation) {
                const struct gaz_entry *pe = &m->gaz.entries[prev->entry];
                size_t len;
                const char *t = ent_field_text(d, cur->field, &len);
                size_t gap = cur->start - prev->end;
                const char *g = t + prev->end;
                int possessive = (gap == 3 && memcmp(g, "'s ", 3) == 0) ||
                                 (gap == 5 && memcmp(g, "\xE2\x80\x99s ", 5) == 0);
                drop = possessive && (pe->type == GAZ_COUNTRY || pe->type == GAZ_TERRITORY) &&
                       strcmp(pe->id, ce->affiliation) != 0;
            }
        }
        if (!drop)
            w->mentions[out++] = *cur;
    }
    w->nmentions = out;
}

int ent_tag(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d)
{
    w->nhits = w->ncands = w->nmentions = 0;
    w->overflow = 0;
    ent_guess_reset(w);
    int rc = 0;
    int fields[2] = {ENT_FIELD_TITLE, ENT_FIELD_TEXT};
    for (int f = 0; f < 2 && rc == 0; f++) {
        if (fields[f] == ENT_FIELD_TITLE && !m->opt.scan_title)
            continue;
        size_t len;
        const char *t = ent_field_text(d, fields[f], &len);
        if (t && len)
            rc = scan_field(m, w, fields[f], t, len < ENT_FIELD_MAX ? len : ENT_FIELD_MAX);
    }
    int scan_rc = rc;
    if (rc != 0 && rc != VIGIL_ETOOBIG)
        return rc;
    ent_sort(w->hits, w->nhits, sizeof *w->hits, cmp_hit);
    size_t i = 0;
    while (i < w->nhits) {
        int field = w->hits[i].field;
        size_t j = i;
        while (j < w->nhits && w->hits[j].field == field)
            j++;
        size_t len;
        const char *t = ent_field_text(d, field, &len);
        if (len > ENT_FIELD_MAX)
            len = ENT_FIELD_MAX;
        rc = resolve_field(w, d, field, t, len, i, j);
        if (rc == 0 && m->opt.guess_persons)
            rc = ent_guess_field(m, w, d, field, t, len, sentence_of_cb);
        if (rc != 0)
            return rc;
        i = j;
    }
    if (m->opt.guess_persons && (rc = ent_guess_finish(m, w, d, sentence_of_cb)) != 0)
        return rc;
    ent_sort(w->mentions, w->nmentions, sizeof *w->mentions, cmp_mention);
    drop_contradicted(m, w, d);
    return scan_rc;
}

const struct ent_mention *ent_mentions(const struct ent_worker *w, size_t *n)
{
    *n = w->nmentions;
    return w->mentions;
}

const struct ent_guess *ent_guesses(const struct ent_worker *w, size_t *n)
{
    *n = w->nguesses;
    return w->guesses;
}

/* ------------------------------------------------------------------------
 * Output
 * --------------------------------------------------------------------- */

struct ent_agg {
    uint64_t key;   /* entry, or nentries + guess */
    uint32_t first; /* first mention (in output order) */
    uint32_t count;
    double weight;
    uint8_t in_title, in_lead;
    double salience;
};

static int cmp_agg_key(const void *a, const void *b)
{
    const struct ent_agg *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int cmp_agg_salience(const void *a, const void *b)
{
    const struct ent_agg *x = a, *y = b;
    if (x->salience != y->salience)
        return x->salience > y->salience ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static uint32_t lead_end(const struct ent_doc *d)
{
    size_t len;
    const char *t = ent_field_text(d, ENT_FIELD_TEXT, &len);
    size_t end = len;
    if (d->nsentences >= 2 && d->sentences[1][1] < end)
        end = d->sentences[1][1];
    else if (!d->nsentences && end > ENT_LEAD_BYTES)
        end = ENT_LEAD_BYTES;
    /* the first paragraph, within that bound */
    const char *p = t ? memmem(t, end, "\n\n", 2) : NULL;
    return (uint32_t)(p ? (size_t)(p - t) : end);
}

/* The shared JSON string k (0 id, 1 name, 2 affiliation) of entry e, made
 * on this worker's first use. NULL for a missing affiliation. */
static json_t *entry_json(const struct ent_matcher *m, struct ent_worker *w, uint32_t e, int k)
{
    json_t **slot = &w->jent[3 * (size_t)e + (size_t)k];
    if (!*slot) {
        const struct gaz_entry *en = &m->gaz.entries[e];
        const char *v = k == 0 ? en->id : k == 1 ? en->name : en->affiliation;
        if (v)
            *slot = json_string_nocheck(v);
    }
    return *slot;
}

/* An integer member: a shared value when small, else a new one. */
static void set_int(const struct ent_matcher *m, json_t *o, const char *k, long long v)
{
    if (v >= -1 && v < ENT_JINT_N - 1)
        json_object_set_nocheck(o, k, m->jint[v + 1]);
    else
        json_object_set_new_nocheck(o, k, json_integer(v));
}

/* The shared id and name strings of guess i for this document. */
static int guess_json(struct ent_worker *w, uint32_t i)
{
    if (w->jguess[2 * i])
        return 0;
    w->jguess[2 * i] = json_string_nocheck(w->guesses[i].id);
    w->jguess[2 * i + 1] = json_string_nocheck(w->guesses[i].name);
    return w->jguess[2 * i] && w->jguess[2 * i + 1] ? 0 : -1;
}

static void guess_json_release(struct ent_worker *w)
{
    for (size_t i = 0; i < 2 * w->nguesses && i < w->capjguess; i++) {
        json_decref(w->jguess[i]);
        w->jguess[i] = NULL;
    }
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new_nocheck(o, k, json_string_nocheck(v));
}

static json_t *roles_json(const struct gaz_entry *e, int32_t day)
{
    json_t *arr = NULL;
    for (size_t i = 0; i < e->nroles; i++) {
        const struct gaz_role *r = &e->roles[i];
        if (!gaz_role_active(r, day))
            continue;
        if (!arr && !(arr = json_array()))
            return NULL;
        json_t *o = json_object();
        if (!o)
            break;
        set_str(o, "title", r->title);
        if (r->of)
            set_str(o, "of", r->of);
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *ent_to_json(const struct ent_matcher *m, struct ent_worker *w, const struct ent_doc *d,
                    size_t max_mentions, size_t *cut)
{
    const struct gaz *g = &m->gaz;
    json_t *root = json_object(), *mentions = json_array(), *summary = json_array();
    /* A per-document malloc here would make glibc consolidate the chunks the
     * previous document's JSON freed, every time: the buffer is reused. */
    if (w->nmentions > w->capaggs) {
        struct ent_agg *v = realloc(w->aggs, w->nmentions * sizeof *v);
        if (v) {
            w->aggs = v;
            w->capaggs = w->nmentions;
        }
    }
    if (2 * w->nguesses > w->capjguess) {
        json_t **v = realloc(w->jguess, 2 * w->nguesses * sizeof *v);
        if (v) {
            memset(v + w->capjguess, 0, (2 * w->nguesses - w->capjguess) * sizeof *v);
            w->jguess = v;
            w->capjguess = 2 * w->nguesses;
        }
    }
    struct ent_agg *aggs = w->aggs;
    if (!root || !mentions || !summary || w->nmentions > w->capaggs ||
        2 * w->nguesses > w->capjguess) {
        json_decref(mentions);
        json_decref(summary);
        goto fail;
    }
    /* From here root owns both arrays. */
    json_object_set_new_nocheck(root, "mentions", mentions);
    json_object_set_new_nocheck(root, "summary", summary);
    size_t n = w->nmentions < max_mentions ? w->nmentions : max_mentions;
    if (cut)
        *cut = w->nmentions - n;
    uint32_t lead = lead_end(d);

    for (size_t i = 0; i < w->nmentions; i++) {
        const struct ent_mention *mn = &w->mentions[i];
        int guess = mn->entry == UINT32_MAX;
        aggs[i] = (struct ent_agg){
            guess ? g->nentries + mn->guess : mn->entry, (uint32_t)i, 1, 0, 0, 0, 0};
        if (mn->field == ENT_FIELD_TITLE) {
            aggs[i].weight = ENT_WEIGHT_TITLE;
            aggs[i].in_title = 1;
        } else if (mn->start < lead) {
            aggs[i].weight = ENT_WEIGHT_LEAD;
            aggs[i].in_lead = 1;
        } else {
            aggs[i].weight = ENT_WEIGHT_BODY;
        }
        if (i >= n)
            continue;
        size_t flen;
        const char *ft = ent_field_text(d, mn->field, &flen);
        json_t *o = json_object();
        if (!o)
            goto fail;
        json_array_append_new(mentions, o);
        if (guess) {
            if (guess_json(w, mn->guess) != 0)
                goto fail;
            json_object_set_nocheck(o, "id", w->jguess[2 * mn->guess]);
            json_object_set_nocheck(o, "type", m->jtype[GAZ_PERSON]);
            json_object_set_nocheck(o, "name", w->jguess[2 * mn->guess + 1]);
        } else {
            json_object_set_nocheck(o, "id", entry_json(m, w, mn->entry, 0));
            json_object_set_nocheck(o, "type", m->jtype[g->entries[mn->entry].type]);
            json_object_set_nocheck(o, "name", entry_json(m, w, mn->entry, 1));
        }
        json_object_set_new_nocheck(o, "surface",
                                    json_stringn_nocheck(ft + mn->start, mn->end - mn->start));
        set_int(m, o, "start", mn->start);
        set_int(m, o, "end", mn->end);
        set_int(m, o, "sentence", mn->sentence);
        if (mn->field == ENT_FIELD_TITLE)
            json_object_set_nocheck(o, "field", m->jfield_title);
        if (guess) {
            json_object_set_new_nocheck(o, "guessed", json_true());
            json_object_set_nocheck(o, "title", m->jtitle[w->guesses[mn->guess].title_index]);
        } else {
            if (g->entries[mn->entry].affiliation)
                json_object_set_nocheck(o, "affiliation", entry_json(m, w, mn->entry, 2));
            if (mn->demonym)
                json_object_set_new_nocheck(o, "demonym", json_true());
        }
    }

    /* Summary: group by identity, weigh, order by salience. */
    ent_sort(aggs, w->nmentions, sizeof *aggs, cmp_agg_key);
    size_t ng = 0;
    double wmax = 0;
    for (size_t i = 0; i < w->nmentions; i++) {
        if (ng && aggs[ng - 1].key == aggs[i].key) {
            struct ent_agg *a = &aggs[ng - 1];
            a->count++;
            a->weight += aggs[i].weight;
            a->in_title |= aggs[i].in_title;
            a->in_lead |= aggs[i].in_lead;
        } else {
            aggs[ng++] = aggs[i];
        }
    }
    for (size_t i = 0; i < ng; i++)
        if (aggs[i].weight > wmax)
            wmax = aggs[i].weight;
    for (size_t i = 0; i < ng; i++) {
        struct ent_agg *a = &aggs[i];
        double s = ENT_SAL_SHARE * a->weight / wmax + ENT_SAL_TITLE * a->in_title +
                   ENT_SAL_LEAD * a->in_lead;
        a->salience = round((s > 1 ? 1 : s) * 1000.0) / 1000.0;
    }
    ent_sort(aggs, ng, sizeof *aggs, cmp_agg_salience);
    for (size_t i = 0; i < ng; i++) {
        const struct ent_agg *a = &aggs[i];
        json_t *o = json_object();
        if (!o)
            goto fail;
        json_array_append_new(summary, o);
        if (a->key >= g->nentries) {
            uint32_t gi = (uint32_t)(a->key - g->nentries);
            if (guess_json(w, gi) != 0)
                goto fail;
            json_object_set_nocheck(o, "id", w->jguess[2 * gi]);
            json_object_set_nocheck(o, "type", m->jtype[GAZ_PERSON]);
            json_object_set_nocheck(o, "name", w->jguess[2 * gi + 1]);
        } else {
            json_object_set_nocheck(o, "id", entry_json(m, w, (uint32_t)a->key, 0));
            json_object_set_nocheck(o, "type", m->jtype[g->entries[a->key].type]);
            json_object_set_nocheck(o, "name", entry_json(m, w, (uint32_t)a->key, 1));
        }
        set_int(m, o, "count", a->count);
        json_object_set_nocheck(o, "salience", m->jsal[(int)(a->salience * 1000.0 + 0.5)]);
        if (a->key >= g->nentries) {
            json_object_set_new_nocheck(o, "guessed", json_true());
            const struct ent_guess *gs = &w->guesses[a->key - g->nentries];
            json_object_set_nocheck(o, "title", m->jtitle[gs->title_index]);
        } else {
            const struct gaz_entry *e = &g->entries[a->key];
            if (e->affiliation)
                json_object_set_nocheck(o, "affiliation", entry_json(m, w, (uint32_t)a->key, 2));
            json_t *roles = e->nroles ? roles_json(e, d->day) : NULL;
            if (roles)
                json_object_set_new_nocheck(o, "roles", roles);
        }
    }
    guess_json_release(w);
    return root;
fail:
    guess_json_release(w);
    json_decref(root);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Documents
 * --------------------------------------------------------------------- */

/* Sentences as offsets; a malformed item becomes an empty span where the
 * previous sentence ended, so indexes still match the document's array and
 * the item shadows no real sentence. Returns the count. */
static size_t read_sentences(struct ent_worker *w, json_t *arr, size_t text_len, int *sorted)
{
    size_t n = json_array_size(arr);
    *sorted = 1;
    if (!n)
        return 0;
    if (n > w->capsent) {
        uint32_t(*v)[2] = realloc(w->sent, n * sizeof *v);
        if (!v)
            return 0;
        w->sent = v;
        w->capsent = n;
    }
    uint32_t prev = 0, prev_end = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        json_t *a = json_array_get(s, 0), *b = json_array_get(s, 1);
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        if (!json_is_integer(a) || !json_is_integer(b) || x < 0 || y < x || (size_t)y > text_len) {
            x = y = prev_end;
        }
        w->sent[i][0] = (uint32_t)x;
        w->sent[i][1] = (uint32_t)y;
        if ((uint32_t)x < prev)
            *sorted = 0;
        prev = (uint32_t)x;
        prev_end = (uint32_t)y;
    }
    return n;
}

int ent_process(const struct ent_matcher *m, struct ent_worker *w, json_t *doc, int64_t now_ms,
                struct vigil_error *err)
{
    struct ent_doc d = {0};
    json_t *v = json_object_get(doc, VIGIL_DOC_TEXT);
    if (json_is_string(v)) {
        d.text = json_string_value(v);
        d.text_len = json_string_length(v);
    }
    v = json_object_get(doc, VIGIL_DOC_TITLE);
    if (json_is_string(v)) {
        d.title = json_string_value(v);
        d.title_len = json_string_length(v);
    }
    d.lang = vigil_doc_str(doc, VIGIL_DOC_LANG);
    int sorted = 1;
    d.nsentences =
        read_sentences(w, json_object_get(doc, VIGIL_DOC_SENTENCES), d.text_len, &sorted);
    /* Binary search needs order; an unordered array is not used. */
    d.sentences = sorted ? (const uint32_t(*)[2])w->sent : NULL;
    if (!sorted)
        d.nsentences = 0;
    int64_t ms = now_ms, pms;
    const char *pub = vigil_doc_str(doc, VIGIL_DOC_PUBLISHED);
    if (pub && datetime_parse(pub, &pms) == DATETIME_OK)
        ms = pms;
    d.day = (int32_t)(ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000);

    int rc = ent_tag(m, w, &d);
    if (rc != 0 && rc != VIGIL_ETOOBIG)
        return vigil_error_set(err, rc, "entities: tagging failed: %s", vigil_strerror(rc));
    if (rc == VIGIL_ETOOBIG || d.text_len > ENT_FIELD_MAX)
        vigil_doc_add_error(doc, "entities", VIGIL_ETOOBIG,
                            "too many matches or text too long: tagged in part");
    size_t cut = 0;
    json_t *ents = ent_to_json(m, w, &d, m->opt.max_mentions, &cut);
    if (!ents || json_object_set_new(doc, VIGIL_DOC_ENTITIES, ents) != 0)
        return vigil_error_set(err, VIGIL_ENOMEM, "entities: out of memory");
    if (cut) {
        json_t *meta = vigil_doc_meta(doc);
        if (meta)
            json_object_set_new(meta, "entities_truncated", json_integer((json_int_t)cut));
    }
    return 0;
}
