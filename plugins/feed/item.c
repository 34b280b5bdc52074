#include "item.h"

#include <string.h>

#include "datetime.h"
#include "hash.h"

static uint64_t mix(uint64_t h, const char *s)
{
    if (s)
        h = hash_fnv64_update(h, s, strlen(s));
    return hash_fnv64_update(h, "\x1f", 1);
}

uint64_t feed_item_fingerprint(const struct feed_item *it)
{
    uint64_t h = HASH_FNV64_INIT;
    h = mix(h, it->title);
    h = mix(h, it->link);
    h = mix(h, it->summary);
    h = mix(h, it->content);
    h = hash_fnv64_update(h, &it->updated, sizeof it->updated);
    return h;
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char iso[32];
    if (ms == FEED_NO_TIME)
        return;
    datetime_format_iso(ms, iso, sizeof iso);
    if (iso[0])
        json_object_set_new(o, key, json_string(iso));
}

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *s = json_string(v[i]);
        if (s)
            json_array_append_new(a, s);
    }
    return a;
}

json_t *feed_item_doc(const struct feed *f, const struct feed_item *it, const char *feed_url,
                      const char *doc_id, int update)
{
    json_t *doc = json_object();
    json_t *meta = json_object();
    json_t *fm = json_object();
    if (!doc || !meta || !fm) {
        json_decref(doc);
        json_decref(meta);
        json_decref(fm);
        return NULL;
    }
    set_str(doc, "id", doc_id);
    set_str(doc, "url", it->link);
    set_str(doc, "title", it->title);
    set_str(doc, "summary", it->summary);
    set_str(doc, "html", it->content);
    set_time(doc, "published", it->published);
    if (it->n_authors)
        json_object_set_new(doc, "authors", str_array(it->authors, it->n_authors));

    set_str(fm, "title", f->title);
    set_str(fm, "url", feed_url);
    set_str(fm, "link", f->link);
    json_object_set_new(meta, "feed", fm);
    set_str(meta, "guid", it->id);
    if (it->n_categories)
        json_object_set_new(meta, "categories", str_array(it->categories, it->n_categories));
    if (it->n_enclosures) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < it->n_enclosures; i++) {
            const struct feed_enclosure *e = &it->enclosures[i];
            json_t *o = json_object();
            if (!o)
                break;
            set_str(o, "url", e->url);
            set_str(o, "type", e->type);
            if (e->length >= 0)
                json_object_set_new(o, "length", json_integer(e->length));
            json_array_append_new(a, o);
        }
        json_object_set_new(meta, "enclosures", a);
    }
    if (it->updated != FEED_NO_TIME && it->updated != it->published)
        set_time(meta, "modified", it->updated);
    set_str(meta, "lang_declared", f->lang);
    if (update)
        json_object_set_new(meta, "update", json_true());
    json_object_set_new(doc, "meta", meta);
    return doc;
}
