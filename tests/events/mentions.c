#include "mentions.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mf_alias {
    char *text;
    size_t len;
    int sensitive;
    int demonym;
    const json_t *ent; /* borrowed from root */
};

struct mf {
    json_t *root;
    struct mf_alias *a;
    size_t n;
};

static int all_caps_short(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            continue;
        if (!isupper((unsigned char)*p))
            return 0;
        n++;
    }
    return n > 0 && n <= 6;
}

static int add_alias(struct mf *mf, const char *text, int demonym, const json_t *ent)
{
    struct mf_alias *na = realloc(mf->a, (mf->n + 1) * sizeof *na);
    if (!na)
        return -1;
    mf->a = na;
    na[mf->n].text = strdup(text);
    if (!na[mf->n].text)
        return -1;
    na[mf->n].len = strlen(text);
    na[mf->n].sensitive = all_caps_short(text);
    na[mf->n].demonym = demonym;
    na[mf->n].ent = ent;
    mf->n++;
    return 0;
}

struct mf *mf_load(const char *path, char *msg, size_t len)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(msg, len, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    struct mf *mf = calloc(1, sizeof *mf);
    if (!mf) {
        json_decref(root);
        snprintf(msg, len, "out of memory");
        return NULL;
    }
    mf->root = root;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(root, "entities"), i, e)
    {
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(e, "aliases"), k, a)
        {
            if (add_alias(mf, json_string_value(a), 0, e)) {
                mf_free(mf);
                snprintf(msg, len, "out of memory");
                return NULL;
            }
        }
        json_array_foreach(json_object_get(e, "demonyms"), k, a)
        {
            if (add_alias(mf, json_string_value(a), 1, e)) {
                mf_free(mf);
                snprintf(msg, len, "out of memory");
                return NULL;
            }
        }
    }
    return mf;
}

void mf_free(struct mf *mf)
{
    if (!mf)
        return;
    for (size_t i = 0; i < mf->n; i++)
        free(mf->a[i].text);
    free(mf->a);
    json_decref(mf->root);
    free(mf);
}

static int is_word(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

struct hit {
    size_t start, end;
    const struct mf_alias *a;
};

static int hit_cmp(const void *x, const void *y)
{
    const struct hit *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->end > b->end ? -1 : a->end < b->end;
}

static json_t *mention(const json_t *ent, const char *surface, size_t start, size_t end,
                       int demonym, int title)
{
    json_t *m = json_object();
    const char *aff = json_string_value(json_object_get(ent, "affiliation"));
    const char *id = json_string_value(json_object_get(ent, "id"));
    const char *type = json_string_value(json_object_get(ent, "type"));
    json_object_set_new(m, "id", json_string(id));
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "name",
                        json_object_get(ent, "name") ? json_copy(json_object_get(ent, "name"))
                                                     : json_string(id));
    json_object_set_new(m, "surface", json_stringn(surface, end - start));
    json_object_set_new(m, "start", json_integer((json_int_t)start));
    json_object_set_new(m, "end", json_integer((json_int_t)end));
    /* Countries are affiliated with themselves (docs/documents.md). */
    json_object_set_new(m, "affiliation", json_string(aff ? aff : id));
    if (demonym)
        json_object_set_new(m, "demonym", json_true());
    if (title) {
        json_object_set_new(m, "field", json_string("title"));
        json_object_set_new(m, "sentence", json_integer(-1));
    }
    return m;
}

static int tag_field(const struct mf *mf, const char *text, json_t *out, int title)
{
    size_t len = strlen(text);
    char *low = malloc(len + 1);
    struct hit *hits = NULL;
    size_t nh = 0, cap = 0;
    if (!low)
        return -1;
    for (size_t i = 0; i <= len; i++)
        low[i] = (char)tolower((unsigned char)text[i]);
    for (size_t k = 0; k < mf->n; k++) {
        const struct mf_alias *a = &mf->a[k];
        char pat[256];
        if (a->len >= sizeof pat)
            continue;
        for (size_t i = 0; i <= a->len; i++)
            pat[i] = a->sensitive ? a->text[i] : (char)tolower((unsigned char)a->text[i]);
        const char *hay = a->sensitive ? text : low;
        const char *p = hay;
        while ((p = memmem(p, len - (size_t)(p - hay), pat, a->len)) != NULL) {
            size_t s = (size_t)(p - hay), e = s + a->len;
            int left = s == 0 || !is_word((unsigned char)text[s - 1]);
            int right = e >= len || !is_word((unsigned char)text[e]) ||
                        !is_word((unsigned char)text[e - 1]);
            if (left && right) {
                if (nh == cap) {
                    cap = cap ? cap * 2 : 16;
                    struct hit *nhits = realloc(hits, cap * sizeof *hits);
                    if (!nhits) {
                        free(hits);
                        free(low);
                        return -1;
                    }
                    hits = nhits;
                }
                hits[nh++] = (struct hit){s, e, a};
            }
            p++;
        }
    }
    if (nh > 1)
        qsort(hits, nh, sizeof *hits, hit_cmp);
    size_t last_end = 0;
    for (size_t i = 0; i < nh; i++) {
        if (hits[i].start < last_end)
            continue; /* overlaps a longer match */
        json_array_append_new(out, mention(hits[i].a->ent, text + hits[i].start, hits[i].start,
                                           hits[i].end, hits[i].a->demonym, title));
        last_end = hits[i].end;
    }
    free(hits);
    free(low);
    return 0;
}

static json_t *mentions_of(json_t *doc)
{
    json_t *ents = json_object_get(doc, "entities");
    if (!json_is_object(ents)) {
        ents = json_object();
        json_object_set_new(doc, "entities", ents);
    }
    json_t *ms = json_object_get(ents, "mentions");
    if (!json_is_array(ms)) {
        ms = json_array();
        json_object_set_new(ents, "mentions", ms);
    }
    return ms;
}

int mf_tag(const struct mf *mf, json_t *doc)
{
    json_t *ms = mentions_of(doc);
    const char *title = json_string_value(json_object_get(doc, "title"));
    const char *text = json_string_value(json_object_get(doc, "text"));
    if (title && tag_field(mf, title, ms, 1))
        return -1;
    if (text && tag_field(mf, text, ms, 0))
        return -1;
    return 0;
}

/* Hand-written mentions: copied; "surface" without offsets is placed at
 * every occurrence of the surface. */
static void place_given(json_t *doc, const json_t *given)
{
    json_t *ms = mentions_of(doc);
    const char *text = json_string_value(json_object_get(doc, "text"));
    const char *title = json_string_value(json_object_get(doc, "title"));
    size_t i;
    json_t *m;
    json_array_foreach(given, i, m)
    {
        if (json_object_get(m, "start")) {
            json_array_append_new(ms, json_deep_copy(m));
            continue;
        }
        const char *sf = json_string_value(json_object_get(m, "surface"));
        if (!sf || !*sf)
            continue;
        for (int f = 0; f < 2; f++) {
            const char *hay = f ? title : text;
            if (!hay)
                continue;
            for (const char *p = hay; (p = strstr(p, sf)) != NULL; p++) {
                json_t *c = json_deep_copy(m);
                json_object_set_new(c, "start", json_integer(p - hay));
                json_object_set_new(c, "end", json_integer((p - hay) + (json_int_t)strlen(sf)));
                if (!json_object_get(c, "affiliation"))
                    json_object_set_new(c, "affiliation", json_copy(json_object_get(m, "id")));
                if (f)
                    json_object_set_new(c, "field", json_string("title"));
                json_array_append_new(ms, c);
            }
        }
    }
}

json_t *mf_case_doc(const struct mf *mf, const json_t *tc)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string(json_string_value(json_object_get(tc, "name"))));
    json_object_set_new(doc, "text", json_copy(json_object_get(tc, "text")));
    if (json_object_get(tc, "title"))
        json_object_set_new(doc, "title", json_copy(json_object_get(tc, "title")));
    const char *lang = json_string_value(json_object_get(tc, "lang"));
    json_object_set_new(doc, "lang", json_string(lang ? lang : "en"));
    const json_t *given = json_object_get(tc, "entities");
    if (given)
        place_given(doc, given);
    else if (mf)
        mf_tag(mf, doc);
    return doc;
}

static int field_eq(const json_t *exp, const json_t *ev, const char *key)
{
    const json_t *want = json_object_get(exp, key);
    if (!want)
        return 1;
    const char *got = json_string_value(json_object_get(ev, key));
    return got && strcmp(got, json_string_value(want)) == 0;
}

static void summarise(const json_t *events, char *buf, size_t len)
{
    size_t o = 0, i;
    json_t *ev;
    buf[0] = '\0';
    json_array_foreach(events, i, ev)
    {
        if (o >= len)
            break;
        const char *a = json_string_value(json_object_get(ev, "actor"));
        const char *ob = json_string_value(json_object_get(ev, "object"));
        o += (size_t)snprintf(buf + o, len - o, "%s%s(actor %s, object %s, %.2f)", i ? "; " : "",
                              json_string_value(json_object_get(ev, "type")), a ? a : "-",
                              ob ? ob : "-", json_real_value(json_object_get(ev, "confidence")));
    }
    if (o == 0)
        snprintf(buf, len, "no events");
}

int mf_check_case(const json_t *tc, const json_t *doc, char *why, size_t len)
{
    const json_t *events = json_object_get(doc, "events");
    const json_t *expect = json_object_get(tc, "expect");
    const json_t *none = json_object_get(tc, "expect_none");
    size_t nev = json_array_size(events);
    char got[1024];
    summarise(events, got, sizeof got);
    char used[64] = {0};
    size_t i;
    json_t *e;
    json_array_foreach(expect, i, e)
    {
        int found = 0;
        for (size_t k = 0; k < nev && k < sizeof used && !found; k++) {
            const json_t *ev = json_array_get(events, k);
            if (!used[k] && field_eq(e, ev, "type") && field_eq(e, ev, "actor") &&
                field_eq(e, ev, "object") && field_eq(e, ev, "severity")) {
                used[k] = 1;
                found = 1;
            }
        }
        if (!found) {
            const char *a = json_string_value(json_object_get(e, "actor"));
            const char *o = json_string_value(json_object_get(e, "object"));
            snprintf(why, len, "expected %s (actor %s, object %s), got %s",
                     json_string_value(json_object_get(e, "type")), a ? a : "any", o ? o : "any",
                     got);
            return -1;
        }
    }
    /* Exactly as many events of an expected type as expected. */
    for (size_t k = 0; k < nev; k++) {
        const char *t = json_string_value(json_object_get(json_array_get(events, k), "type"));
        size_t want = 0, have = 0;
        json_array_foreach(expect, i, e)
        {
            want += strcmp(json_string_value(json_object_get(e, "type")), t) == 0;
        }
        for (size_t j = 0; j < nev; j++)
            have += strcmp(json_string_value(json_object_get(json_array_get(events, j), "type")),
                           t) == 0;
        if (want > 0 && have != want) {
            snprintf(why, len, "expected %zu %s event(s), got %s", want, t, got);
            return -1;
        }
        json_array_foreach(none, i, e)
        {
            if (strcmp(json_string_value(e), t) == 0) {
                snprintf(why, len, "expected no %s event, got %s", t, got);
                return -1;
            }
        }
    }
    return 0;
}
