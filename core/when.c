#include "when.h"

#include <stdlib.h>
#include <string.h>

struct strset {
    size_t n;
    char **v;
};

struct when_match {
    char *pointer;
    json_t *value;
};

struct core_when {
    struct strset event_types;
    int min_severity; /* -1 = unset */
    double min_confidence;
    int has_min_confidence;
    struct strset entities;
    struct strset lang;
    struct strset sources;
    int has_events; /* -1 unset, 0 false, 1 true */
    struct when_match *matches;
    size_t nmatches;
};

static const char *const severities[] = {"info", "low", "medium", "high", "critical", NULL};

int core_severity_parse(const char *s)
{
    for (int i = 0; s && severities[i]; i++) {
        if (strcmp(s, severities[i]) == 0)
            return i;
    }
    return -1;
}

static int set_has(const struct strset *s, const char *v)
{
    for (size_t i = 0; v && i < s->n; i++) {
        if (strcmp(s->v[i], v) == 0)
            return 1;
    }
    return 0;
}

static void set_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static int set_load(struct strset *s, const json_t *v, const struct jdoc *doc, const char *ptr,
                    struct diags *d)
{
    if (json_is_string(v)) {
        s->v = calloc(1, sizeof *s->v);
        if (!s->v)
            return 1;
        s->v[0] = strdup(json_string_value(v));
        s->n = 1;
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) == 0) {
        diags_add(d, doc, ptr, JSONPOS_VALUE, "expected a non-empty array of strings, found %s",
                  jdiag_type_name(v));
        return 1;
    }
    s->v = calloc(json_array_size(v), sizeof *s->v);
    if (!s->v)
        return 1;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *item = json_array_get(v, i);
        if (!json_is_string(item)) {
            char p[1024];
            snprintf(p, sizeof p, "%s", ptr);
            jptr_push_index(p, sizeof p, i);
            diags_add(d, doc, p, JSONPOS_VALUE, "expected a string, found %s",
                      jdiag_type_name(item));
            return 1;
        }
        s->v[s->n++] = strdup(json_string_value(item));
    }
    return 0;
}

int core_when_compile(const json_t *spec, const struct jdoc *doc, const char *pointer,
                      struct core_when **out, struct diags *d)
{
    static const char *const keys[] = {"event_types", "min_severity", "min_confidence",
                                       "entities",    "lang",         "sources",
                                       "has_events",  "match",        NULL};
    int errors = 0;
    char ptr[1024];

    *out = NULL;
    if (!spec)
        return 0;
    if (!json_is_object(spec)) {
        diags_add(d, doc, pointer, JSONPOS_VALUE, "expected an object of conditions, found %s",
                  jdiag_type_name(spec));
        return 1;
    }
    struct core_when *w = calloc(1, sizeof *w);
    if (!w)
        return 1;
    w->min_severity = -1;
    w->has_events = -1;

    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v)
    {
        snprintf(ptr, sizeof ptr, "%s", pointer);
        jptr_push(ptr, sizeof ptr, key);
        int known = 0;
        for (int i = 0; keys[i]; i++)
            known |= strcmp(keys[i], key) == 0;
        if (!known) {
            diags_add(d, doc, ptr, JSONPOS_KEY,
                      "unknown condition '%s'; allowed: event_types, min_severity, "
                      "min_confidence, entities, lang, sources, has_events, match",
                      key);
            errors++;
        } else if (strcmp(key, "event_types") == 0) {
            errors += set_load(&w->event_types, v, doc, ptr, d);
        } else if (strcmp(key, "entities") == 0) {
            errors += set_load(&w->entities, v, doc, ptr, d);
        } else if (strcmp(key, "lang") == 0) {
            errors += set_load(&w->lang, v, doc, ptr, d);
        } else if (strcmp(key, "sources") == 0) {
            errors += set_load(&w->sources, v, doc, ptr, d);
        } else if (strcmp(key, "min_severity") == 0) {
            w->min_severity = core_severity_parse(json_string_value(v));
            if (w->min_severity < 0) {
                char found[96];
                jdiag_value_repr(v, found, sizeof found);
                diags_add(d, doc, ptr, JSONPOS_VALUE,
                          "expected one of \"info\", \"low\", \"medium\", \"high\", "
                          "\"critical\", found %s",
                          found);
                errors++;
            }
        } else if (strcmp(key, "min_confidence") == 0) {
            if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
                char found[96];
                jdiag_value_repr(v, found, sizeof found);
                diags_add(d, doc, ptr, JSONPOS_VALUE, "expected a number between 0 and 1, found %s",
                          found);
                errors++;
            } else {
                w->min_confidence = json_number_value(v);
                w->has_min_confidence = 1;
            }
        } else if (strcmp(key, "has_events") == 0) {
            if (!json_is_boolean(v)) {
                diags_add(d, doc, ptr, JSONPOS_VALUE, "expected true or false, found %s",
                          jdiag_type_name(v));
                errors++;
            } else {
                w->has_events = json_is_true(v);
            }
        } else if (strcmp(key, "match") == 0) {
            if (!json_is_object(v)) {
                diags_add(d, doc, ptr, JSONPOS_VALUE,
                          "expected an object mapping JSON Pointers to values, found %s",
                          jdiag_type_name(v));
                errors++;
                continue;
            }
            w->matches = calloc(json_object_size(v) + 1, sizeof *w->matches);
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv)
            {
                if (mk[0] != '/') {
                    char mp[1024];
                    snprintf(mp, sizeof mp, "%s", ptr);
                    jptr_push(mp, sizeof mp, mk);
                    diags_add(d, doc, mp, JSONPOS_KEY,
                              "expected a JSON Pointer such as \"/meta/page_type\", found \"%s\"",
                              mk);
                    errors++;
                    continue;
                }
                w->matches[w->nmatches].pointer = strdup(mk);
                w->matches[w->nmatches].value = json_incref(mv);
                w->nmatches++;
            }
        }
    }
    if (errors) {
        core_when_free(w);
        return errors;
    }
    *out = w;
    return 0;
}

/* RFC 6901 lookup on a document. */
static const json_t *pointer_get(const json_t *root, const char *ptr)
{
    const json_t *cur = root;
    const char *p = ptr;
    char tok[256];
    while (cur && *p == '/') {
        size_t o = 0;
        p++;
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~' && (*p == '0' || *p == '1'))
                c = *p++ == '0' ? '~' : '/';
            if (o + 1 < sizeof tok)
                tok[o++] = c;
        }
        tok[o] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            cur = (*tok && !*end && i >= 0) ? json_array_get(cur, (size_t)i) : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}

static int event_matches(const struct core_when *w, const json_t *ev)
{
    if (w->event_types.n && !set_has(&w->event_types, json_string_value(json_object_get(ev, "type"))))
        return 0;
    if (w->min_severity >= 0 &&
        core_severity_parse(json_string_value(json_object_get(ev, "severity"))) < w->min_severity)
        return 0;
    if (w->has_min_confidence) {
        const json_t *c = json_object_get(ev, "confidence");
        if (!json_is_number(c) || json_number_value(c) < w->min_confidence)
            return 0;
    }
    return 1;
}

int core_when_event_match(const struct core_when *w, const json_t *event)
{
    return !w || event_matches(w, event);
}

static int mentions_entity(const struct core_when *w, const json_t *doc)
{
    const json_t *ents = json_object_get(doc, "entities");
    const json_t *list = json_object_get(ents, "summary");
    size_t i;
    const json_t *e;
    if (!list)
        list = json_object_get(ents, "mentions");
    json_array_foreach(list, i, e)
    {
        if (set_has(&w->entities, json_string_value(json_object_get(e, "id"))) ||
            set_has(&w->entities, json_string_value(json_object_get(e, "affiliation"))))
            return 1;
    }
    json_array_foreach(json_object_get(doc, "events"), i, e)
    {
        if (set_has(&w->entities, json_string_value(json_object_get(e, "actor"))) ||
            set_has(&w->entities, json_string_value(json_object_get(e, "object"))))
            return 1;
    }
    return 0;
}

int core_when_match(const struct core_when *w, const json_t *doc)
{
    if (!w)
        return 1;
    const json_t *events = json_object_get(doc, "events");
    size_t nevents = json_is_array(events) ? json_array_size(events) : 0;

    if (w->has_events >= 0 && (nevents > 0) != w->has_events)
        return 0;
    if (w->event_types.n || w->min_severity >= 0 || w->has_min_confidence) {
        int any = 0;
        for (size_t i = 0; i < nevents && !any; i++)
            any = event_matches(w, json_array_get(events, i));
        if (!any)
            return 0;
    }
    if (w->entities.n && !mentions_entity(w, doc))
        return 0;
    if (w->lang.n && !set_has(&w->lang, json_string_value(json_object_get(doc, "lang"))))
        return 0;
    if (w->sources.n && !set_has(&w->sources, json_string_value(json_object_get(doc, "source"))))
        return 0;
    for (size_t i = 0; i < w->nmatches; i++) {
        const json_t *v = pointer_get(doc, w->matches[i].pointer);
        if (!v || !json_equal((json_t *)v, w->matches[i].value))
            return 0;
    }
    return 1;
}

void core_when_free(struct core_when *w)
{
    if (!w)
        return;
    set_free(&w->event_types);
    set_free(&w->entities);
    set_free(&w->lang);
    set_free(&w->sources);
    for (size_t i = 0; i < w->nmatches; i++) {
        free(w->matches[i].pointer);
        json_decref(w->matches[i].value);
    }
    free(w->matches);
    free(w);
}
