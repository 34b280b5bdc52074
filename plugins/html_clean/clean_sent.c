#include "clean_sent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/utypes.h>

#include "clean_text.h"
#include "vigil/plugin.h"

#define ITER_CACHE 6

struct iter {
    char lang[8];
    UBreakIterator *bi;
    unsigned long used;
};

struct clean_sent {
    struct iter it[ITER_CACHE];
    unsigned long tick;
    UChar *u16;
    uint32_t *map; /* UTF-16 index -> byte offset in the paragraph */
    size_t cap;    /* of both */
};

int clean_sent_open(struct clean_sent **out)
{
    struct clean_sent *s = calloc(1, sizeof *s);
    if (!s)
        return VIGIL_ENOMEM;
    *out = s;
    return 0;
}

void clean_sent_close(struct clean_sent *s)
{
    if (!s)
        return;
    for (int i = 0; i < ITER_CACHE; i++) {
        if (s->it[i].bi)
            ubrk_close(s->it[i].bi);
    }
    free(s->u16);
    free(s->map);
    free(s);
}

static UBreakIterator *get_iter(struct clean_sent *s, const char *lang)
{
    char key[8];
    if (!lang || !*lang || strcmp(lang, "und") == 0)
        lang = "";
    snprintf(key, sizeof key, "%s", lang);
    struct iter *lru = &s->it[0];
    for (int i = 0; i < ITER_CACHE; i++) {
        struct iter *it = &s->it[i];
        if (it->bi && strcmp(it->lang, key) == 0) {
            it->used = ++s->tick;
            return it->bi;
        }
        if (!it->bi || it->used < lru->used)
            lru = it;
        if (!it->bi)
            break;
    }
    char locale[32];
    /* ICU's suppression data ("ss") exists for a few languages; asking for
       it elsewhere is harmless. */
    snprintf(locale, sizeof locale, "%s@ss=standard", *key ? key : "en");
    UErrorCode st = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_SENTENCE, locale, NULL, 0, &st);
    if (U_FAILURE(st)) {
        st = U_ZERO_ERROR;
        bi = ubrk_open(UBRK_SENTENCE, "", NULL, 0, &st);
        if (U_FAILURE(st))
            return NULL;
    }
    if (lru->bi)
        ubrk_close(lru->bi);
    lru->bi = bi;
    snprintf(lru->lang, sizeof lru->lang, "%s", key);
    lru->used = ++s->tick;
    return bi;
}

/* Abbreviations after which a sentence does not end (case-sensitive). */
static const char *const abbrevs[] = {
    /* titles and ranks */
    "Mr.", "Mrs.", "Ms.", "Mx.", "Dr.", "Drs.", "Prof.", "Gen.", "Lt.", "Col.", "Sgt.", "Capt.",
    "Cpt.", "Cmdr.", "Cdr.", "Adm.", "Maj.", "Brig.", "Cpl.", "Pvt.", "Gov.", "Sen.", "Rep.",
    "Rev.", "Hon.", "Pres.", "Supt.", "Insp.", "Det.", "Fr.", "Sr.", "Jr.", "Sra.", "Srta.", "Dra.",
    "Mme.", "Mlle.", "MM.", "Hr.", "Hrn.",
    /* places and addresses */
    "St.", "Mt.", "Ft.", "Ave.", "Blvd.", "Rd.", "Str.",
    /* months */
    "Jan.", "Feb.", "Mar.", "Apr.", "Jun.", "Jul.", "Aug.", "Sep.", "Sept.", "Oct.", "Nov.", "Dec.",
    "Febr.", "Okt.", "Dez.", "janv.", "févr.", "avr.", "juil.", "sept.", "oct.", "nov.", "déc.",
    "ene.", "abr.", "ago.", "dic.",
    /* references and Latin */
    "No.", "Nos.", "Nr.", "Nº.", "vs.", "v.", "e.g.", "i.e.", "cf.", "ca.", "approx.", "Fig.",
    "fig.", "Vol.", "vol.", "pp.", "p.", "Dept.", "Univ.", "Art.", "Abs.", "Ph.D.",
    /* German */
    "z.B.", "d.h.", "u.a.", "bzw.", "vgl.", "sog.", "evtl.", "ggf.", "inkl.", "geb.", "Jh.", "Mio.",
    "Mrd.",
    /* Spanish, French */
    "Ud.", "Uds.", "pág.", "núm.", "aprox.", "av.", "env.", "M.", NULL};

static int is_upper_ascii(char c)
{
    return c >= 'A' && c <= 'Z';
}

int clean_sent_is_abbrev(const char *text, size_t end, const char *lang)
{
    if (end == 0 || text[end - 1] != '.')
        return 0;
    size_t st = end - 1;
    while (st > 0 && text[st - 1] != ' ' && text[st - 1] != '\n' && text[st - 1] != '(' &&
           text[st - 1] != '"' && text[st - 1] != '\'' && text[st - 1] != '[')
        st--;
    /* opening typographic quotes before the word */
    while (st + 3 <= end && (unsigned char)text[st] == 0xE2 &&
           (unsigned char)text[st + 1] == 0x80 &&
           ((unsigned char)text[st + 2] == 0x9C || (unsigned char)text[st + 2] == 0x98))
        st += 3;
    size_t tl = end - st;
    const char *t = text + st;
    if (tl < 2 || tl > 8)
        return 0;
    for (int k = 0; abbrevs[k]; k++) {
        if (strlen(abbrevs[k]) == tl && memcmp(abbrevs[k], t, tl) == 0)
            return 1;
    }
    /* "z. B." spans two words: check the pair */
    if (tl == 2 && st >= 3 && memcmp(text + st - 3, "z. B.", 5) == 0)
        return 1;
    /* initials: "J." "J.R." "U.S." "U.K." */
    int initials = 1;
    for (size_t i = 0; i < tl; i += 2) {
        if (!(i + 1 < tl && is_upper_ascii(t[i]) && t[i + 1] == '.')) {
            initials = 0;
            break;
        }
    }
    if (initials)
        return 1;
    /* ordinals outside English: "am 3. Oktober", "2. kolo" */
    if (lang && strcmp(lang, "en") != 0 && tl <= 3) {
        int digits = 1;
        for (size_t i = 0; i + 1 < tl; i++)
            digits &= t[i] >= '0' && t[i] <= '9';
        if (digits)
            return 1;
    }
    return 0;
}

static int grow(struct clean_sent *s, size_t need)
{
    if (s->cap >= need)
        return 0;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < need)
        cap *= 2;
    UChar *u = realloc(s->u16, cap * sizeof *u);
    if (!u)
        return -1;
    s->u16 = u;
    uint32_t *m = realloc(s->map, cap * sizeof *m);
    if (!m)
        return -1;
    s->map = m;
    s->cap = cap;
    return 0;
}

static int push_span(struct clean_span **v, size_t *n, size_t *cap, uint32_t a, uint32_t b)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 32;
        struct clean_span *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[*n].start = a;
    (*v)[(*n)++].end = b;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

/* Sentences of one paragraph [p, p + plen) of text (offset base). */
static int paragraph(struct clean_sent *s, UBreakIterator *bi, const char *text, size_t base,
                     size_t plen, const char *lang, struct clean_span **v, size_t *n, size_t *cap,
                     size_t max_spans)
{
    const char *p = text + base;
    if (grow(s, plen * 2 + 2) != 0)
        return VIGIL_ENOMEM;
    /* UTF-8 -> UTF-16 with a map back to byte offsets */
    size_t i = 0, k = 0;
    while (i < plen) {
        uint32_t cp;
        size_t l = clean_utf8_decode(p + i, plen - i, &cp);
        if (l == 0)
            break;
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            s->map[k] = (uint32_t)i;
            s->u16[k++] = (UChar)(0xD800 + (cp >> 10));
            s->map[k] = (uint32_t)i;
            s->u16[k++] = (UChar)(0xDC00 + (cp & 0x3FF));
        } else {
            s->map[k] = (uint32_t)i;
            s->u16[k++] = (UChar)cp;
        }
        i += l;
    }
    s->map[k] = (uint32_t)plen;
    if (k > INT32_MAX)
        return VIGIL_ERR;
    UErrorCode st = U_ZERO_ERROR;
    ubrk_setText(bi, s->u16, (int32_t)k, &st);
    if (U_FAILURE(st))
        return VIGIL_ERR;

    size_t start = 0;
    int32_t b = ubrk_first(bi);
    while ((b = ubrk_next(bi)) != UBRK_DONE) {
        size_t end = s->map[b];
        /* where the sentence's text ends */
        size_t e = end;
        while (e > start && is_space(p[e - 1]))
            e--;
        if (end < plen && clean_sent_is_abbrev(p, e, lang))
            continue; /* not a sentence end: keep going */
        size_t a = start;
        while (a < e && is_space(p[a]))
            a++;
        if (e > a) {
            if (max_spans && *n >= max_spans)
                return 0;
            if (push_span(v, n, cap, (uint32_t)(base + a), (uint32_t)(base + e)) != 0)
                return VIGIL_ENOMEM;
        }
        start = end;
    }
    if (start < plen) {
        size_t a = start, e = plen;
        while (a < e && is_space(p[a]))
            a++;
        while (e > a && is_space(p[e - 1]))
            e--;
        if (e > a && !(max_spans && *n >= max_spans) &&
            push_span(v, n, cap, (uint32_t)(base + a), (uint32_t)(base + e)) != 0)
            return VIGIL_ENOMEM;
    }
    return 0;
}

int clean_sentences(struct clean_sent *s, const char *text, size_t len, const char *lang,
                    size_t max_spans, struct clean_span **spans, size_t *n)
{
    *spans = NULL;
    *n = 0;
    if (!text || len == 0)
        return 0;
    if (len > UINT32_MAX / 2)
        return VIGIL_ERR;
    UBreakIterator *bi = get_iter(s, lang);
    if (!bi)
        return VIGIL_ERR;
    size_t cap = 0;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t pend = nl ? (size_t)(nl - text) : len;
        if (pend > i) {
            int rc = paragraph(s, bi, text, i, pend - i, lang, spans, n, &cap, max_spans);
            if (rc) {
                free(*spans);
                *spans = NULL;
                *n = 0;
                return rc;
            }
        }
        i = pend + 1;
    }
    return 0;
}
