/*
 * Gazetteer loading. Validation walks each file once, building entries and
 * aliases as it goes; checks that span files (duplicate ids, affiliations
 * naming a loaded country, aliases shared between entries) use two hash
 * maps and run once every file is read, while the parsed files are still
 * around to locate messages.
 */
#include "gaz.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "datetime.h"
#include "fold.h"
#include "map.h"

#define GAZ_ALIAS_MAX_BYTES 256
#define GAZ_PTR_MAX 512

static const char *const type_names[GAZ_NTYPES] = {
    "country", "territory", "person", "organisation", "place", "military", "armed_group",
};

/* The id prefix each non-country type uses (docs/gazetteers.md). */
static const char *const type_prefix[GAZ_NTYPES] = {
    NULL, NULL, "person", "org", "place", "mil", "group",
};

static const char *const top_keys[] = {"gazetteer", "description", "entries", "note", NULL};
static const char *const entry_keys[] = {"id",          "type",  "name", "aliases", "demonyms",
                                         "affiliation", "roles", "note", NULL};
static const char *const alias_keys[] = {"text", "case", "lang", "context", "note", NULL};
static const char *const context_keys[] = {"window",
                                           "positive",
                                           "negative",
                                           "default",
                                           "reject_if_next_capitalized",
                                           "reject_if_prev_capitalized",
                                           NULL};
static const char *const role_keys[] = {"title", "of", "from", "to", "note", NULL};

const char *gaz_type_name(int type)
{
    return type >= 0 && type < GAZ_NTYPES ? type_names[type] : "?";
}

/* A reference to check once every file is loaded. */
struct pending_ref {
    uint32_t entry;
    uint32_t role; /* UINT32_MAX: the entry's affiliation; else a role's "of" */
};

struct loader {
    struct gaz *g;
    struct diags *err, *warn;
    struct jdoc *docs;
    size_t ndocs;
    size_t cap_entries, cap_aliases;
    struct ent_map ids;   /* id -> entry */
    struct ent_map akeys; /* folded alias -> first alias with it */
    char **folded;        /* folded text of each alias (owned), index = alias */
    struct pending_ref *refs;
    size_t nrefs, cap_refs;
    int oom;
};

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *dup0(const char *s)
{
    return s ? dupn(s, strlen(s)) : NULL;
}

static void warn(struct loader *L, const struct jdoc *doc, const char *ptr, enum jsonpos_what what,
                 const char *fmt, ...) JDIAG_PRINTF(5, 6);
static void warn(struct loader *L, const struct jdoc *doc, const char *ptr, enum jsonpos_what what,
                 const char *fmt, ...)
{
    if (!L->warn)
        return;
    va_list ap;
    va_start(ap, fmt);
    diags_addv(L->warn, doc, ptr, what, fmt, ap);
    va_end(ap);
}

/* "a.json:5:13 (/entries/0/id)" for pointing at a second place in a message. */
static void where(const struct jdoc *doc, const char *ptr, char *out, size_t len)
{
    int line = 0, col = 0;
    jsonpos_find(doc->text, doc->len, ptr, JSONPOS_VALUE, &line, &col);
    snprintf(out, len, "%s:%d:%d (%s)", doc->name, line, col, ptr);
}

static void entry_ptr(char *buf, size_t len, uint32_t file_entry)
{
    buf[0] = '\0';
    jptr_push(buf, len, "entries");
    jptr_push_index(buf, len, file_entry);
}

static void alias_ptr(const struct gaz_alias *a, char *buf, size_t len)
{
    entry_ptr(buf, len, a->file_entry);
    jptr_push(buf, len, a->demonym ? "demonyms" : "aliases");
    jptr_push_index(buf, len, a->list_index);
}

/* ---- small checks ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Report unknown keys of obj (at their key), naming the allowed ones. */
static void check_keys(struct loader *L, const struct jdoc *doc, json_t *obj, char *ptr,
                       const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (ok)
            continue;
        const char *near = NULL;
        for (size_t i = 0; allowed[i] && !near; i++)
            if (edit_distance(key, allowed[i]) <= 2)
                near = allowed[i];
        char list[256] = "";
        size_t o = 0;
        for (size_t i = 0; allowed[i] && o < sizeof list; i++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", allowed[i]);
        char hint[64] = "";
        if (near)
            snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", near);
        size_t old = jptr_push(ptr, GAZ_PTR_MAX, key);
        diags_add(L->err, doc, ptr, JSONPOS_KEY, "unknown key \"%s\"%s; allowed keys: %s", key,
                  hint, list);
        ptr[old] = '\0';
    }
}

/* The member key of obj if it has the wanted type; reports a wrong type. */
static json_t *member(struct loader *L, const struct jdoc *doc, json_t *obj, char *ptr,
                      const char *key, json_type want, int required)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            diags_add(L->err, doc, ptr, JSONPOS_VALUE, "missing required key \"%s\"", key);
        return NULL;
    }
    int ok = json_typeof(v) == want ||
             (want == JSON_TRUE && (json_typeof(v) == JSON_FALSE || json_typeof(v) == JSON_TRUE));
    if (!ok) {
        static const char *const names[] = {
            [JSON_OBJECT] = "an object",   [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
            [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number",  [JSON_TRUE] = "a boolean",
            [JSON_FALSE] = "a boolean",    [JSON_NULL] = "null",
        };
        size_t old = jptr_push(ptr, GAZ_PTR_MAX, key);
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected %s, found %s", names[want],
                  jdiag_type_name(v));
        ptr[old] = '\0';
        return NULL;
    }
    return v;
}

static int has_word_char(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t nx;
        uint32_t cp = ent_utf8_next(s, len, i, &nx);
        if (ent_is_word_cp(cp))
            return 1;
        i = nx;
    }
    return 0;
}

static int is_space_cp(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0 || cp == 0x2007 ||
           cp == 0x2009 || cp == 0x202F || cp == 0x3000;
}

/* NFC copy of s[0..len) (a copy as-is when ASCII). NULL on out of memory. */
static char *nfc_dup(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (unsigned char)s[i] < 0x80)
        i++;
    if (i == len)
        return dupn(s, len);
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&st);
    int32_t ulen = 0;
    if (U_FAILURE(st))
        return dupn(s, len);
    u_strFromUTF8(NULL, 0, &ulen, s, (int32_t)len, &st);
    st = U_ZERO_ERROR;
    UChar *u = malloc(((size_t)ulen + 1) * sizeof *u);
    UChar *n = malloc(((size_t)ulen * 3 + 1) * sizeof *n);
    char *out = NULL;
    if (u && n) {
        u_strFromUTF8(u, ulen + 1, NULL, s, (int32_t)len, &st);
        int32_t nlen = unorm2_normalize(nfc, u, ulen, n, ulen * 3 + 1, &st);
        int32_t olen = 0;
        if (U_SUCCESS(st)) {
            u_strToUTF8(NULL, 0, &olen, n, nlen, &st);
            st = U_ZERO_ERROR;
            out = malloc((size_t)olen + 1);
            if (out)
                u_strToUTF8(out, olen + 1, NULL, n, nlen, &st);
            if (out && U_FAILURE(st)) {
                free(out);
                out = NULL;
            }
        }
    }
    free(u);
    free(n);
    return out ? out : dupn(s, len);
}

int gaz_auto_case_sensitive(const char *text)
{
    size_t len = strlen(text), letters = 0;
    for (size_t i = 0; i < len;) {
        size_t nx;
        uint32_t cp = ent_utf8_next(text, len, i, &nx);
        i = nx;
        if (!ent_is_word_cp(cp) || (cp >= '0' && cp <= '9'))
            continue;
        if (!ent_is_upper_cp(cp))
            return 0;
        if (++letters > 6)
            return 0;
    }
    return letters >= 1;
}

int gaz_parse_day(const char *s, int32_t *day)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    unsigned m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    unsigned d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    *day = (int32_t)datetime_days_from_civil(y, m, d);
    return 0;
}

int gaz_role_active(const struct gaz_role *r, int32_t day)
{
    return day >= r->from && day <= r->to;
}

/* ---- ids ---- */

static int is_iso2(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

/* "prefix:slug" with a lowercase ASCII slug; *plen receives the prefix length. */
static int is_prefixed_slug(const char *s, size_t *plen)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s)
        return 0;
    for (const char *p = s; p < colon; p++)
        if (*p < 'a' || *p > 'z')
            return 0;
    const char *slug = colon + 1;
    if (!*slug || *slug == '-')
        return 0;
    for (const char *p = slug; *p; p++) {
        int ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                 (*p == '-' && p[1] && p[1] != '-');
        if (!ok)
            return 0;
    }
    *plen = (size_t)(colon - s);
    return 1;
}

/* ---- growth ---- */

static struct gaz_entry *new_entry(struct loader *L)
{
    struct gaz *g = L->g;
    if (g->nentries == L->cap_entries) {
        size_t cap = L->cap_entries ? L->cap_entries * 2 : 64;
        struct gaz_entry *v = realloc(g->entries, cap * sizeof *v);
        if (!v) {
            L->oom = 1;
            return NULL;
        }
        g->entries = v;
        L->cap_entries = cap;
    }
    struct gaz_entry *e = &g->entries[g->nentries++];
    memset(e, 0, sizeof *e);
    return e;
}

static struct gaz_alias *new_alias(struct loader *L)
{
    struct gaz *g = L->g;
    if (g->naliases == L->cap_aliases) {
        size_t cap = L->cap_aliases ? L->cap_aliases * 2 : 256;
        struct gaz_alias *v = realloc(g->aliases, cap * sizeof *v);
        char **f = realloc(L->folded, cap * sizeof *f);
        if (f)
            L->folded = f;
        if (!v || !f) {
            if (v)
                g->aliases = v;
            L->oom = 1;
            return NULL;
        }
        g->aliases = v;
        L->cap_aliases = cap;
    }
    struct gaz_alias *a = &g->aliases[g->naliases];
    memset(a, 0, sizeof *a);
    L->folded[g->naliases] = NULL;
    return a; /* committed by the caller with g->naliases++ */
}

static void add_ref(struct loader *L, uint32_t entry, uint32_t role)
{
    if (L->nrefs == L->cap_refs) {
        size_t cap = L->cap_refs ? L->cap_refs * 2 : 64;
        struct pending_ref *v = realloc(L->refs, cap * sizeof *v);
        if (!v) {
            L->oom = 1;
            return;
        }
        L->refs = v;
        L->cap_refs = cap;
    }
    L->refs[L->nrefs++] = (struct pending_ref){entry, role};
}

/* ---- context ---- */

static void free_context(struct gaz_context *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npositive; i++)
        free(c->positive[i]);
    for (size_t i = 0; i < c->nnegative; i++)
        free(c->negative[i]);
    free(c->positive);
    free(c->negative);
    free(c);
}

static void load_word_list(struct loader *L, const struct jdoc *doc, json_t *arr, char *ptr,
                           char ***out, size_t *nout)
{
    size_t n = json_array_size(arr);
    *out = n ? calloc(n, sizeof **out) : NULL;
    if (n && !*out) {
        L->oom = 1;
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        size_t old = jptr_push_index(ptr, GAZ_PTR_MAX, i);
        const char *s = json_string_value(v);
        if (!s) {
            diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected a string, found %s",
                      jdiag_type_name(v));
        } else if (!has_word_char(s, json_string_length(v))) {
            diags_add(L->err, doc, ptr, JSONPOS_VALUE, "context word \"%s\" has no letter or digit",
                      s);
        } else {
            char *w = nfc_dup(s, json_string_length(v));
            if (!w)
                L->oom = 1;
            else
                (*out)[(*nout)++] = w;
        }
        ptr[old] = '\0';
    }
}

static struct gaz_context *load_context(struct loader *L, const struct jdoc *doc, json_t *obj,
                                        char *ptr)
{
    if (!json_is_object(obj)) {
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected an object, found %s",
                  jdiag_type_name(obj));
        return NULL;
    }
    check_keys(L, doc, obj, ptr, context_keys);
    struct gaz_context *c = calloc(1, sizeof *c);
    if (!c) {
        L->oom = 1;
        return NULL;
    }
    json_t *v = member(L, doc, obj, ptr, "window", JSON_STRING, 0);
    if (v) {
        const char *s = json_string_value(v);
        if (strcmp(s, "document") == 0) {
            c->window = GAZ_WINDOW_DOCUMENT;
        } else if (strcmp(s, "sentence") != 0) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, "window");
            diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                      "unknown window \"%s\": expected \"sentence\" or \"document\"", s);
            ptr[old] = '\0';
        }
    }
    v = member(L, doc, obj, ptr, "default", JSON_STRING, 0);
    if (v) {
        const char *s = json_string_value(v);
        if (strcmp(s, "reject") == 0) {
            c->default_reject = 1;
        } else if (strcmp(s, "accept") != 0) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, "default");
            diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                      "unknown default \"%s\": expected \"accept\" or \"reject\"", s);
            ptr[old] = '\0';
        }
    }
    static const char *const lists[2] = {"positive", "negative"};
    for (int k = 0; k < 2; k++) {
        v = member(L, doc, obj, ptr, lists[k], JSON_ARRAY, 0);
        if (v) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, lists[k]);
            if (k == 0)
                load_word_list(L, doc, v, ptr, &c->positive, &c->npositive);
            else
                load_word_list(L, doc, v, ptr, &c->negative, &c->nnegative);
            ptr[old] = '\0';
        }
    }
    v = member(L, doc, obj, ptr, "reject_if_next_capitalized", JSON_TRUE, 0);
    c->reject_next_cap = v && json_is_true(v);
    v = member(L, doc, obj, ptr, "reject_if_prev_capitalized", JSON_TRUE, 0);
    c->reject_prev_cap = v && json_is_true(v);
    if (c->default_reject && c->npositive == 0)
        warn(L, doc, ptr, JSONPOS_VALUE,
             "context rejects by default and has no positive words: the alias never matches");
    return c;
}

/* ---- aliases ---- */

static void load_alias(struct loader *L, const struct jdoc *doc, json_t *v, char *ptr,
                       uint32_t entry, uint32_t file, uint32_t file_entry, int demonym,
                       uint32_t index)
{
    const char *what = demonym ? "demonym" : "alias";
    json_t *tv = v;
    int case_given = -1;
    char lang[4] = "";
    struct gaz_context *ctx = NULL;

    if (json_is_object(v)) {
        check_keys(L, doc, v, ptr, alias_keys);
        tv = member(L, doc, v, ptr, "text", JSON_STRING, 1);
        json_t *cv = member(L, doc, v, ptr, "case", JSON_STRING, 0);
        if (cv) {
            const char *s = json_string_value(cv);
            if (strcmp(s, "sensitive") == 0) {
                case_given = 1;
            } else if (strcmp(s, "insensitive") == 0) {
                case_given = 0;
            } else {
                size_t old = jptr_push(ptr, GAZ_PTR_MAX, "case");
                diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                          "unknown case \"%s\": expected \"sensitive\" or \"insensitive\"", s);
                ptr[old] = '\0';
            }
        }
        json_t *lv = member(L, doc, v, ptr, "lang", JSON_STRING, 0);
        if (lv) {
            const char *s = json_string_value(lv);
            if (strlen(s) != 2 || s[0] < 'a' || s[0] > 'z' || s[1] < 'a' || s[1] > 'z') {
                size_t old = jptr_push(ptr, GAZ_PTR_MAX, "lang");
                diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                          "expected an ISO 639-1 language code such as \"de\", found \"%s\"", s);
                ptr[old] = '\0';
            } else {
                memcpy(lang, s, 3);
            }
        }
        json_t *xv = json_object_get(v, "context");
        if (xv) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, "context");
            ctx = load_context(L, doc, xv, ptr);
            ptr[old] = '\0';
        }
        if (!tv) {
            free_context(ctx);
            return;
        }
        jptr_push(ptr, GAZ_PTR_MAX, "text");
    } else if (!json_is_string(v)) {
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected a string or an alias object, found %s",
                  jdiag_type_name(v));
        return;
    }

    const char *s = json_string_value(tv);
    size_t len = json_string_length(tv);
    /* Trim spaces: a stray one would make the alias unmatchable. */
    size_t b = 0, e = len;
    while (b < e) {
        size_t nx;
        uint32_t cp = ent_utf8_next(s, e, b, &nx);
        if (!is_space_cp(cp))
            break;
        b = nx;
    }
    while (e > b) {
        size_t st;
        uint32_t cp = ent_utf8_prev(s, e, &st);
        if (!is_space_cp(cp))
            break;
        e = st;
    }
    if (len == 0) {
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "%s is empty", what);
    } else if (!has_word_char(s + b, e - b)) {
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "%s \"%s\" has no letter or digit", what, s);
    } else if (e - b > GAZ_ALIAS_MAX_BYTES) {
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "%s is longer than %d bytes", what,
                  GAZ_ALIAS_MAX_BYTES);
    } else {
        if (b != 0 || e != len)
            warn(L, doc, ptr, JSONPOS_VALUE,
                 "%s \"%s\" has leading or trailing spaces; they are ignored", what, s);
        if (entry == UINT32_MAX) { /* the entry itself is invalid: check only */
            free_context(ctx);
            return;
        }
        struct gaz_alias *a = new_alias(L);
        char *text = a ? nfc_dup(s + b, e - b) : NULL;
        char *folded =
            text ? ent_fold_string(NULL, text, strlen(text), ENT_FOLD_CASE | ENT_FOLD_ASCII, NULL)
                 : NULL;
        if (!folded) {
            L->oom = 1;
            free(text);
            free_context(ctx);
            return;
        }
        a->text = text;
        a->entry = entry;
        a->demonym = (uint8_t)demonym;
        a->case_sensitive = (uint8_t)(case_given >= 0 ? case_given : gaz_auto_case_sensitive(text));
        memcpy(a->lang, lang, sizeof lang);
        a->context = ctx;
        a->file = file;
        a->file_entry = file_entry;
        a->list_index = index;
        uint32_t ai = (uint32_t)L->g->naliases, first;
        int rc = ent_map_put(&L->akeys, folded, strlen(folded), ai, &first);
        if (rc < 0) {
            L->oom = 1;
        } else if (rc == 1) {
            const struct gaz_alias *f = &L->g->aliases[first];
            char fptr[GAZ_PTR_MAX], at[GAZ_PTR_MAX + 64];
            alias_ptr(f, fptr, sizeof fptr);
            where(&L->docs[f->file], fptr, at, sizeof at);
            /* Case-sensitive aliases that differ in case ("von der Leyen",
             * "Von der Leyen") are two aliases, not one. */
            if (f->entry == entry && f->demonym == demonym &&
                f->case_sensitive == a->case_sensitive &&
                (!a->case_sensitive || strcmp(f->text, text) == 0)) {
                warn(L, doc, ptr, JSONPOS_VALUE, "duplicate %s \"%s\", also at %s; ignored", what,
                     text, at);
                free(text);
                free(folded);
                free_context(ctx);
                return;
            }
            if (f->entry != entry && !f->context && !ctx)
                warn(L, doc, ptr, JSONPOS_VALUE,
                     "%s \"%s\" is also an alias of \"%s\" at %s and neither has a context "
                     "rule; the first loaded wins",
                     what, text, L->g->entries[f->entry].id, at);
        }
        L->folded[ai] = folded;
        L->g->naliases++;
        return;
    }
    free_context(ctx);
}

static void load_alias_list(struct loader *L, const struct jdoc *doc, json_t *arr, char *ptr,
                            uint32_t entry, uint32_t file, uint32_t file_entry, int demonym)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        size_t old = jptr_push_index(ptr, GAZ_PTR_MAX, i);
        load_alias(L, doc, v, ptr, entry, file, file_entry, demonym, (uint32_t)i);
        ptr[old] = '\0';
    }
}

/* ---- roles ---- */

static void load_roles(struct loader *L, const struct jdoc *doc, json_t *arr, char *ptr,
                       struct gaz_entry *e, uint32_t entry)
{
    size_t n = json_array_size(arr);
    if (!n)
        return;
    e->roles = calloc(n, sizeof *e->roles);
    if (!e->roles) {
        L->oom = 1;
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        size_t old = jptr_push_index(ptr, GAZ_PTR_MAX, i);
        if (!json_is_object(v)) {
            diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected a role object, found %s",
                      jdiag_type_name(v));
            ptr[old] = '\0';
            continue;
        }
        check_keys(L, doc, v, ptr, role_keys);
        struct gaz_role r = {NULL, NULL, GAZ_DAY_MIN, GAZ_DAY_MAX};
        json_t *t = member(L, doc, v, ptr, "title", JSON_STRING, 1);
        json_t *of = member(L, doc, v, ptr, "of", JSON_STRING, 0);
        static const char *const dk[2] = {"from", "to"};
        int bad = !t;
        for (int k = 0; k < 2; k++) {
            json_t *dv = member(L, doc, v, ptr, dk[k], JSON_STRING, 0);
            if (!dv) {
                bad |= json_object_get(v, dk[k]) != NULL;
                continue;
            }
            int32_t day;
            if (gaz_parse_day(json_string_value(dv), &day) != 0) {
                size_t o2 = jptr_push(ptr, GAZ_PTR_MAX, dk[k]);
                diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                          "expected a date YYYY-MM-DD, found \"%s\"", json_string_value(dv));
                ptr[o2] = '\0';
                bad = 1;
            } else if (k == 0) {
                r.from = day;
            } else {
                r.to = day;
            }
        }
        if (!bad && r.from > r.to) {
            size_t o2 = jptr_push(ptr, GAZ_PTR_MAX, "to");
            diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                      "role ends before it starts (\"from\" is %s)",
                      json_string_value(json_object_get(v, "from")));
            ptr[o2] = '\0';
            bad = 1;
        }
        if (!bad) {
            r.title = dup0(json_string_value(t));
            r.of = of ? dup0(json_string_value(of)) : NULL;
            if (!r.title || (of && !r.of)) {
                free(r.title);
                free(r.of);
                L->oom = 1;
            } else {
                e->roles[e->nroles++] = r;
                if (r.of)
                    add_ref(L, entry, (uint32_t)(e->nroles - 1));
            }
        }
        ptr[old] = '\0';
    }
}

/* ---- entries ---- */

static void load_entry(struct loader *L, const struct jdoc *doc, json_t *obj, char *ptr,
                       uint32_t file, uint32_t file_entry)
{
    if (!json_is_object(obj)) {
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected an entry object, found %s",
                  jdiag_type_name(obj));
        return;
    }
    check_keys(L, doc, obj, ptr, entry_keys);
    json_t *idv = member(L, doc, obj, ptr, "id", JSON_STRING, 1);
    json_t *tv = member(L, doc, obj, ptr, "type", JSON_STRING, 1);
    json_t *nv = member(L, doc, obj, ptr, "name", JSON_STRING, 1);
    json_t *av = member(L, doc, obj, ptr, "aliases", JSON_ARRAY, 1);
    json_t *dv = member(L, doc, obj, ptr, "demonyms", JSON_ARRAY, 0);
    json_t *afv = member(L, doc, obj, ptr, "affiliation", JSON_STRING, 0);
    json_t *rv = member(L, doc, obj, ptr, "roles", JSON_ARRAY, 0);
    member(L, doc, obj, ptr, "note", JSON_STRING, 0);

    int type = -1;
    if (tv) {
        const char *s = json_string_value(tv);
        for (int i = 0; i < GAZ_NTYPES; i++)
            if (strcmp(s, type_names[i]) == 0)
                type = i;
        if (type < 0) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, "type");
            diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                      "unknown type \"%s\": expected one of country, territory, person, "
                      "organisation, place, military, armed_group",
                      s);
            ptr[old] = '\0';
        }
    }
    if (nv && !has_word_char(json_string_value(nv), json_string_length(nv))) {
        size_t old = jptr_push(ptr, GAZ_PTR_MAX, "name");
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "name \"%s\" has no letter or digit",
                  json_string_value(nv));
        ptr[old] = '\0';
        nv = NULL;
    }

    uint32_t entry = (uint32_t)L->g->nentries;
    const char *id = idv ? json_string_value(idv) : NULL;
    if (id) {
        size_t old = jptr_push(ptr, GAZ_PTR_MAX, "id");
        size_t plen = 0;
        if (type == GAZ_COUNTRY || type == GAZ_TERRITORY) {
            if (!is_iso2(id)) {
                diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                          "id \"%s\" of a %s must be an ISO 3166-1 alpha-2 code such as \"KP\"", id,
                          type_names[type]);
                id = NULL;
            }
        } else if (type < 0 && is_iso2(id)) {
            /* type unknown (reported above): either id shape is fine */
        } else if (!is_prefixed_slug(id, &plen)) {
            diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                      "id \"%s\" must be \"<prefix>:<slug>\" with a lowercase ASCII slug, such "
                      "as \"person:valery-gerasimov\"",
                      id);
            id = NULL;
        } else if (type >= 0 && (strlen(type_prefix[type]) != plen ||
                                 strncmp(id, type_prefix[type], plen) != 0)) {
            warn(L, doc, ptr, JSONPOS_VALUE, "id \"%s\" of a %s should start with \"%s:\"", id,
                 type_names[type], type_prefix[type]);
        }
        uint32_t first;
        if (id && ent_map_get(&L->ids, id, strlen(id), &first)) {
            const struct gaz_entry *f = &L->g->entries[first];
            char fptr[GAZ_PTR_MAX], at[GAZ_PTR_MAX + 64];
            entry_ptr(fptr, sizeof fptr, f->file_entry);
            jptr_push(fptr, sizeof fptr, "id");
            where(&L->docs[f->file], fptr, at, sizeof at);
            diags_add(L->err, doc, ptr, JSONPOS_VALUE, "duplicate id \"%s\": first defined at %s",
                      id, at);
            id = NULL;
        }
        ptr[old] = '\0';
    }
    if (!id || type < 0 || !nv || !av) {
        /* No entry: still check its aliases so every error shows at once. */
        if (av) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, "aliases");
            load_alias_list(L, doc, av, ptr, UINT32_MAX, file, file_entry, 0);
            ptr[old] = '\0';
        }
        if (dv) {
            size_t old = jptr_push(ptr, GAZ_PTR_MAX, "demonyms");
            load_alias_list(L, doc, dv, ptr, UINT32_MAX, file, file_entry, 1);
            ptr[old] = '\0';
        }
        return;
    }

    struct gaz_entry *e = new_entry(L);
    if (!e)
        return;
    e->type = type;
    e->file = file;
    e->file_entry = file_entry;
    e->id = dup0(id);
    e->name = nfc_dup(json_string_value(nv), json_string_length(nv));
    if (afv)
        e->affiliation = dup0(json_string_value(afv));
    else if (type == GAZ_COUNTRY || type == GAZ_TERRITORY)
        e->affiliation = dup0(id);
    if (!e->id || !e->name || ((afv || type <= GAZ_TERRITORY) && !e->affiliation)) {
        L->oom = 1;
        return;
    }
    if (afv)
        add_ref(L, entry, UINT32_MAX);
    /* The key borrows the entry's own copy of the id. */
    if (ent_map_put(&L->ids, e->id, strlen(e->id), entry, NULL) < 0)
        L->oom = 1;

    size_t first_alias = L->g->naliases;
    size_t old = jptr_push(ptr, GAZ_PTR_MAX, "aliases");
    if (json_array_size(av) == 0)
        diags_add(L->err, doc, ptr, JSONPOS_VALUE, "expected at least one alias");
    load_alias_list(L, doc, av, ptr, entry, file, file_entry, 0);
    ptr[old] = '\0';
    if (dv) {
        old = jptr_push(ptr, GAZ_PTR_MAX, "demonyms");
        load_alias_list(L, doc, dv, ptr, entry, file, file_entry, 1);
        ptr[old] = '\0';
    }
    if (rv) {
        old = jptr_push(ptr, GAZ_PTR_MAX, "roles");
        load_roles(L, doc, rv, ptr, e, entry);
        ptr[old] = '\0';
    }

    /* The display name should be matchable too (docs: "including name"). */
    char *fname =
        ent_fold_string(NULL, e->name, strlen(e->name), ENT_FOLD_CASE | ENT_FOLD_ASCII, NULL);
    int found = 0;
    for (size_t i = first_alias; fname && i < L->g->naliases && !found; i++)
        found = L->g->aliases[i].entry == entry && !L->g->aliases[i].demonym &&
                strcmp(L->folded[i], fname) == 0;
    if (fname && !found && json_array_size(av) > 0) {
        old = jptr_push(ptr, GAZ_PTR_MAX, "name");
        warn(L, doc, ptr, JSONPOS_VALUE, "name \"%s\" is not among the aliases; it is not matched",
             e->name);
        ptr[old] = '\0';
    }
    free(fname);
}

static void load_file(struct loader *L, uint32_t file)
{
    const struct jdoc *doc = &L->docs[file];
    char ptr[GAZ_PTR_MAX] = "";
    if (!json_is_object(doc->root)) {
        diags_add(L->err, doc, "", JSONPOS_VALUE, "expected an object with \"entries\", found %s",
                  jdiag_type_name(doc->root));
        return;
    }
    check_keys(L, doc, doc->root, ptr, top_keys);
    member(L, doc, doc->root, ptr, "gazetteer", JSON_STRING, 0);
    member(L, doc, doc->root, ptr, "description", JSON_STRING, 0);
    member(L, doc, doc->root, ptr, "note", JSON_STRING, 0);
    json_t *entries = member(L, doc, doc->root, ptr, "entries", JSON_ARRAY, 1);
    if (!entries)
        return;
    size_t i;
    json_t *v;
    json_array_foreach(entries, i, v)
    {
        entry_ptr(ptr, sizeof ptr, (uint32_t)i);
        load_entry(L, doc, v, ptr, file, (uint32_t)i);
        if (L->oom)
            return;
    }
}

/* Affiliations must name a country; roles should name a loaded id. */
static void check_refs(struct loader *L)
{
    for (size_t i = 0; i < L->nrefs; i++) {
        const struct pending_ref *r = &L->refs[i];
        const struct gaz_entry *e = &L->g->entries[r->entry];
        const struct jdoc *doc = &L->docs[e->file];
        char ptr[GAZ_PTR_MAX];
        entry_ptr(ptr, sizeof ptr, e->file_entry);
        const char *ref;
        if (r->role == UINT32_MAX) {
            ref = e->affiliation;
            jptr_push(ptr, sizeof ptr, "affiliation");
        } else {
            ref = e->roles[r->role].of;
            jptr_push(ptr, sizeof ptr, "roles");
            jptr_push_index(ptr, sizeof ptr, r->role);
            jptr_push(ptr, sizeof ptr, "of");
        }
        uint32_t t;
        int known = ent_map_get(&L->ids, ref, strlen(ref), &t);
        if (r->role != UINT32_MAX) {
            if (!known)
                warn(L, doc, ptr, JSONPOS_VALUE, "\"%s\" is not an id in the loaded gazetteers",
                     ref);
            continue;
        }
        if (known) {
            int ty = L->g->entries[t].type;
            if (ty != GAZ_COUNTRY && ty != GAZ_TERRITORY)
                diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                          "affiliation \"%s\" is a %s, not a country or territory", ref,
                          type_names[ty]);
        } else if (is_iso2(ref)) {
            /* A people-only file may be loaded without countries.json. */
            warn(L, doc, ptr, JSONPOS_VALUE,
                 "affiliation \"%s\" is not a country in the loaded gazetteers", ref);
        } else {
            diags_add(L->err, doc, ptr, JSONPOS_VALUE,
                      "affiliation \"%s\" is not a country id (expected an ISO 3166-1 alpha-2 "
                      "code such as \"RU\")",
                      ref);
        }
    }
}

void gaz_free(struct gaz *g)
{
    if (g->arena) {
        free(g->entries);
        free(g->aliases);
        free(g->files);
        free(g->roles_block);
        free(g->ctx_block);
        free(g->words_block);
        free(g->arena);
        memset(g, 0, sizeof *g);
        return;
    }
    for (size_t i = 0; i < g->nentries; i++) {
        struct gaz_entry *e = &g->entries[i];
        free(e->id);
        free(e->name);
        free(e->affiliation);
        for (size_t k = 0; k < e->nroles; k++) {
            free(e->roles[k].title);
            free(e->roles[k].of);
        }
        free(e->roles);
    }
    for (size_t i = 0; i < g->naliases; i++) {
        free(g->aliases[i].text);
        free_context(g->aliases[i].context);
    }
    for (size_t i = 0; i < g->nfiles; i++)
        free(g->files[i]);
    free(g->files);
    free(g->entries);
    free(g->aliases);
    memset(g, 0, sizeof *g);
}

static int finish(struct loader *L, size_t errors_before)
{
    struct gaz *g = L->g;
    if (!L->oom && g->nentries > 0)
        check_refs(L);
    if (L->oom)
        diags_add_at(L->err, NULL, 0, 0, NULL, "out of memory while loading gazetteers");
    /* The alias map borrows the folded strings: free it first. */
    ent_map_free(&L->akeys);
    ent_map_free(&L->ids);
    for (size_t i = 0; i < g->naliases; i++)
        free(L->folded[i]);
    free(L->folded);
    free(L->refs);
    int failed = diags_count(L->err) > errors_before;
    g->nfiles = L->ndocs;
    g->files = calloc(L->ndocs ? L->ndocs : 1, sizeof *g->files);
    for (size_t i = 0; g->files && i < L->ndocs; i++)
        g->files[i] = dup0(L->docs[i].name);
    for (size_t i = 0; i < L->ndocs; i++)
        jdoc_free(&L->docs[i]);
    free(L->docs);
    if (failed || !g->files) {
        gaz_free(g);
        return -1;
    }
    return 0;
}

static int load_all(struct gaz *g, size_t n, const char *const *names, const char *const *texts,
                    const size_t *lens, struct diags *errors, struct diags *warnings)
{
    struct loader L = {0};
    memset(g, 0, sizeof *g);
    L.g = g;
    L.err = errors;
    L.warn = warnings;
    size_t before = diags_count(errors);
    L.docs = calloc(n ? n : 1, sizeof *L.docs);
    if (!L.docs) {
        diags_add_at(errors, NULL, 0, 0, NULL, "out of memory while loading gazetteers");
        return -1;
    }
    if (n == 0)
        diags_add_at(errors, NULL, 0, 0, NULL, "no gazetteer files given");
    for (size_t i = 0; i < n; i++) {
        struct jdoc *d = &L.docs[L.ndocs];
        int rc = texts ? jdoc_load_buffer(d, names[i], texts[i], lens[i], errors)
                       : jdoc_load_file(d, names[i], errors);
        if (rc == 0)
            L.ndocs++;
    }
    for (size_t i = 0; i < L.ndocs && !L.oom; i++)
        load_file(&L, (uint32_t)i);
    return finish(&L, before);
}

int gaz_load(struct gaz *g, const char *const *paths, size_t npaths, struct diags *errors,
             struct diags *warnings)
{
    return load_all(g, npaths, paths, NULL, NULL, errors, warnings);
}

int gaz_load_buffers(struct gaz *g, const char *const *names, const char *const *texts,
                     const size_t *lens, size_t n, struct diags *errors, struct diags *warnings)
{
    return load_all(g, n, names, texts, lens, errors, warnings);
}

long gaz_find(const struct gaz *g, const char *id)
{
    for (size_t i = 0; i < g->nentries; i++)
        if (strcmp(g->entries[i].id, id) == 0)
            return (long)i;
    return -1;
}
