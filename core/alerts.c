#include "alerts.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "datetime.h"
#include "hash.h"
#include "options.h"
#include "when.h"

#define AP(f) offsetof(struct core_alert_policy, f)
static const char *const durability_choices[] = {"normal", "full", NULL};

static const struct vigil_option policy_table[] = {
    {"key", VIGIL_OPT_STRLIST, "[\"type\", \"actor\", \"object\", \"day\"]", 0, AP(key), 1, 6, NULL,
     "parts of the grouping key: type, actor, object, day, story, rule"},
    {"window", VIGIL_OPT_DURATION, "48h", 0, AP(window_ms), 60000, 31 * 86400000.0, NULL,
     "later documents with the same key within this time are follow-ups"},
    {"updates", VIGIL_OPT_JSON, "[5, 20, 50]", 0, AP(updates_json), VIGIL_NOBOUNDS, NULL,
     "send an update when the number of documents reaches these counts ([] = never)"},
    {"update_interval", VIGIL_OPT_DURATION, "10m", 0, AP(update_interval_ms), 0, 86400000, NULL,
     "at most one update per story in this time (throttle per key)"},
    {"max_per_hour", VIGIL_OPT_INT, "0", 0, AP(max_per_hour), 0, 1000000, NULL,
     "deliveries per hour on this sink; more wait (0 = no limit)"},
    {"digest", VIGIL_OPT_DURATION, "0", 0, AP(digest_ms), 0, 7 * 86400000.0, NULL,
     "collect alerts and send one digest every this long (0 = each alert at once)"},
    {"retention", VIGIL_OPT_DURATION, "30d", 0, AP(retention_ms), 3600000, 3650 * 86400000.0,
     NULL, "how long delivered alerts and dead letters are kept"},
    {"max_sources", VIGIL_OPT_INT, "50", 0, AP(max_sources), 1, 1000, NULL,
     "sources listed in an alert"},
    {"durability", VIGIL_OPT_ENUM, "normal", 0, AP(durability), VIGIL_NOBOUNDS, durability_choices,
     "normal: survives process crashes (SQLite WAL); full: also power loss (fsync each commit)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static const struct vigil_plugin policy_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "alert",
    .options = policy_table,
    .conf_size = sizeof(struct core_alert_policy),
};

static const struct {
    const char *name;
    int part;
} key_parts[] = {{"type", ALERT_KEY_TYPE},   {"actor", ALERT_KEY_ACTOR}, {"object", ALERT_KEY_OBJECT},
                 {"day", ALERT_KEY_DAY},     {"story", ALERT_KEY_STORY}, {"rule", ALERT_KEY_RULE},
                 {NULL, 0}};

int core_alert_policy_compile(const json_t *spec, const struct jdoc *doc, const char *pointer,
                              struct core_alert_policy **out, struct diags *d)
{
    char ptr[1024];
    *out = NULL;
    struct core_alert_policy *p = calloc(1, sizeof *p);
    if (!p)
        return 1;
    char stage_ptr[1024];
    snprintf(stage_ptr, sizeof stage_ptr, "%s", pointer);
    char *slash = strrchr(stage_ptr, '/');
    if (slash)
        *slash = '\0';
    struct core_opt_ctx ctx = {doc, pointer, stage_ptr, "alert policy", NULL};
    int errors = core_options_fill(&policy_plugin, spec, p, &ctx, d);
    if (errors) {
        core_alert_policy_free(p);
        return errors;
    }
    for (size_t i = 0; i < p->key.n; i++) {
        int part = 0;
        for (int k = 0; key_parts[k].name; k++) {
            if (!strcmp(key_parts[k].name, p->key.v[i]))
                part = key_parts[k].part;
        }
        if (!part) {
            snprintf(ptr, sizeof ptr, "%s/key", pointer);
            jptr_push_index(ptr, sizeof ptr, i);
            diags_add(d, doc, ptr, JSONPOS_VALUE,
                      "alert policy option 'key': expected one of \"type\", \"actor\", "
                      "\"object\", \"day\", \"story\", \"rule\", found \"%s\"",
                      p->key.v[i]);
            errors++;
        } else {
            p->parts[p->nparts++] = part;
        }
    }
    const json_t *u = p->updates_json;
    snprintf(ptr, sizeof ptr, "%s/updates", pointer);
    if (!json_is_array(u) || json_array_size(u) > 16) {
        diags_add(d, doc, ptr, JSONPOS_VALUE,
                  "alert policy option 'updates': expected an array of at most 16 counts such "
                  "as [5, 20, 50]");
        errors++;
    } else {
        int64_t prev = 1;
        for (size_t i = 0; i < json_array_size(u); i++) {
            const json_t *v = json_array_get(u, i);
            if (!json_is_integer(v) || json_integer_value(v) <= prev) {
                diags_add(d, doc, ptr, JSONPOS_VALUE,
                          "alert policy option 'updates': expected increasing counts above 1, "
                          "item %zu is not",
                          i);
                errors++;
                break;
            }
            prev = json_integer_value(v);
            p->updates[p->nupdates++] = prev;
        }
    }
    if (errors) {
        core_alert_policy_free(p);
        return errors;
    }
    *out = p;
    return 0;
}

void core_alert_policy_free(struct core_alert_policy *p)
{
    if (!p)
        return;
    core_options_free(&policy_plugin, p);
    free(p);
}

/* ------------------------------------------------------------------------
 * Building alerts
 * --------------------------------------------------------------------- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Name of an entity id from the document's entity summary or mentions. */
static const char *entity_name(const json_t *doc, const char *id)
{
    const json_t *ents = json_object_get(doc, "entities");
    const char *lists[] = {"summary", "mentions"};
    if (!id)
        return NULL;
    for (int l = 0; l < 2; l++) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(ents, lists[l]), i, e)
        {
            if (sget(e, "id") && !strcmp(sget(e, "id"), id))
                return sget(e, "name");
        }
    }
    return NULL;
}

static void iso(int64_t ms, char out[32])
{
    datetime_format_iso(ms, out, 32);
}

/* The UTC day of the document: published, else fetched, else now. */
static void doc_day(const json_t *doc, int64_t now, char out[16])
{
    int64_t ms = now;
    const char *when = sget(doc, "published");
    if (!when || datetime_parse(when, &ms) != 0) {
        when = sget(doc, "fetched");
        if (!when || datetime_parse(when, &ms) != 0)
            ms = now;
    }
    char full[32];
    iso(ms, full);
    snprintf(out, 16, "%.10s", full);
}

static void build_key(const struct core_alert_policy *p, const json_t *doc, const json_t *ev,
                      int64_t now, struct buf *key)
{
    for (int i = 0; i < p->nparts; i++) {
        const char *v = NULL;
        char day[16];
        switch (p->parts[i]) {
        case ALERT_KEY_TYPE: v = sget(ev, "type"); break;
        case ALERT_KEY_ACTOR: v = sget(ev, "actor"); break;
        case ALERT_KEY_OBJECT: v = sget(ev, "object"); break;
        case ALERT_KEY_DAY:
            doc_day(doc, now, day);
            v = day;
            break;
        case ALERT_KEY_STORY:
            v = sget(json_object_get(doc, "meta"), "story");
            if (!v)
                v = sget(doc, "id");
            break;
        case ALERT_KEY_RULE: v = sget(json_object_get(ev, "rule"), "id"); break;
        }
        buf_printf(key, "%s%s", i ? "|" : "", v && *v ? v : "-");
    }
}

static json_t *source_entry(const json_t *doc)
{
    json_t *s = json_object();
    static const char *const fields[] = {"url", "title", "source", "published", NULL};
    for (int i = 0; fields[i]; i++) {
        const json_t *v = json_object_get(doc, fields[i]);
        if (v)
            json_object_set(s, fields[i], (json_t *)v);
    }
    json_object_set(s, "doc_id", json_object_get(doc, "id"));
    return s;
}

static json_t *build_why(const json_t *ev, const char *actor_name, const char *object_name)
{
    struct buf b;
    const json_t *rule = json_object_get(ev, "rule");
    const json_t *terms = json_object_get(ev, "terms");
    buf_init(&b, 4096);
    buf_printf(&b, "rule %s", sget(rule, "id") ? sget(rule, "id") : sget(ev, "type"));
    if (sget(rule, "file"))
        buf_printf(&b, " (%s)", sget(rule, "file"));
    if (json_array_size(terms)) {
        buf_append_str(&b, " matched");
        size_t i;
        const json_t *t;
        json_array_foreach(terms, i, t)
        {
            if (i == 5)
                break;
            buf_printf(&b, "%s\"%s\"", i ? ", " : " ", json_string_value(t));
        }
    } else {
        buf_append_str(&b, " fired");
    }
    if (sget(ev, "actor"))
        buf_printf(&b, " with actor %s (%s)", actor_name ? actor_name : sget(ev, "actor"),
                   sget(ev, "actor"));
    if (sget(ev, "object"))
        buf_printf(&b, "%s object %s (%s)", sget(ev, "actor") ? " and" : " with",
                   object_name ? object_name : sget(ev, "object"), sget(ev, "object"));
    const char *evidence = sget(json_object_get(ev, "evidence"), "text");
    if (evidence) {
        size_t n = strlen(evidence);
        if (n > 300) {
            size_t cut = 300;
            while (cut > 0 && ((unsigned char)evidence[cut] & 0xC0) == 0x80)
                cut--;
            buf_printf(&b, " in: \"%.*s...\"", (int)cut, evidence);
        } else {
            buf_printf(&b, " in: \"%s\"", evidence);
        }
    }
    json_t *why = json_string(b.data ? b.data : "");
    buf_free(&b);
    return why;
}

static json_t *build_payload(const struct core_alert_target *t, const json_t *doc,
                             const json_t *ev, const char *id, const char *key, int64_t now)
{
    char ts[32];
    json_t *a = json_object();
    json_t *event = json_deep_copy(ev);
    const char *actor_name = entity_name(doc, sget(ev, "actor"));
    const char *object_name = entity_name(doc, sget(ev, "object"));
    if (actor_name)
        json_object_set_new(event, "actor_name", json_string(actor_name));
    if (object_name)
        json_object_set_new(event, "object_name", json_string(object_name));

    iso(now, ts);
    json_object_set_new(a, "schema", json_string("vigil.alert/1"));
    json_object_set_new(a, "id", json_string(id));
    json_object_set_new(a, "delivery_id", json_string(id));
    json_object_set_new(a, "kind", json_string("alert"));
    json_object_set_new(a, "key", json_string(key));
    json_object_set_new(a, "pipeline", json_string(t->pipeline));
    json_object_set_new(a, "sink", json_string(t->sink));
    json_object_set_new(a, "title", json_string(sget(ev, "title") ? sget(ev, "title")
                                                                   : sget(ev, "type")));
    json_object_set_new(a, "severity",
                        json_string(sget(ev, "severity") ? sget(ev, "severity") : "medium"));
    json_t *conf = json_object_get(ev, "confidence");
    json_object_set_new(a, "confidence", conf ? json_incref(conf) : json_real(0));
    json_object_set_new(a, "event", event);

    json_t *ents = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(json_object_get(doc, "entities"), "summary"), i, e)
    {
        if (i == 10)
            break;
        json_array_append_new(ents, json_pack("{s:O?, s:O?, s:O?}", "id", json_object_get(e, "id"),
                                              "name", json_object_get(e, "name"), "type",
                                              json_object_get(e, "type")));
    }
    json_object_set_new(a, "entities", ents);

    json_t *document = json_object();
    static const char *const dfields[] = {"id", "url", "title", "published", "lang", "source",
                                          NULL};
    for (int k = 0; dfields[k]; k++) {
        const json_t *v = json_object_get(doc, dfields[k]);
        if (v)
            json_object_set(document, dfields[k], (json_t *)v);
    }
    json_object_set_new(a, "document", document);
    json_object_set_new(a, "sources", json_pack("[o]", source_entry(doc)));
    json_object_set_new(a, "count", json_integer(1));
    json_object_set_new(a, "first_seen", json_string(ts));
    json_object_set_new(a, "updated", json_string(ts));
    json_object_set_new(a, "why", build_why(ev, actor_name, object_name));
    return a;
}

static int source_listed(const json_t *payload, const char *doc_id)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(payload, "sources"), i, s)
    {
        if (doc_id && sget(s, "doc_id") && !strcmp(sget(s, "doc_id"), doc_id))
            return 1;
    }
    return 0;
}

/* A follow-up document joins an existing story. Returns 1 when an update
 * delivery was queued. */
static int follow_up(struct core_outbox *o, const struct core_alert_target *t,
                     struct core_alert_row *row, const json_t *doc, int64_t now, int *err)
{
    const struct core_alert_policy *p = t->policy;
    char ts[32];
    row->count++;
    row->updated = now;
    json_t *sources = json_object_get(row->payload, "sources");
    if ((int64_t)json_array_size(sources) < p->max_sources)
        json_array_append_new(sources, source_entry(doc));
    json_object_set_new(row->payload, "count", json_integer(row->count));
    iso(now, ts);
    json_object_set_new(row->payload, "updated", json_string(ts));

    int64_t crossed = 0;
    for (int i = 0; i < p->nupdates; i++) {
        if (row->count >= p->updates[i] && p->updates[i] > row->last_threshold)
            crossed = p->updates[i];
    }
    if (!crossed || now - row->last_update_at < p->update_interval_ms)
        return 0;
    row->last_threshold = crossed;
    row->last_update_at = now;
    json_t *upd = json_deep_copy(row->payload);
    char did[64];
    snprintf(did, sizeof did, "%s:u%lld", row->id, (long long)row->count);
    json_object_set_new(upd, "kind", json_string("update"));
    json_object_set_new(upd, "delivery_id", json_string(did));
    char title[1024];
    snprintf(title, sizeof title, "%s (now reported by %lld sources)",
             sget(row->payload, "title") ? sget(row->payload, "title") : "alert",
             (long long)row->count);
    json_object_set_new(upd, "title", json_string(title));
    int rc = core_outbox_enqueue(o, t->pipeline, t->sink, row->id, did, "update", upd,
                                 p->digest_ms > 0, now);
    json_decref(upd);
    if (rc != VIGIL_OK)
        *err = rc;
    return rc == VIGIL_OK;
}

int core_alerts_accept(struct core_outbox *o, const struct core_alert_target *t,
                       const json_t *doc, int64_t now)
{
    const struct core_alert_policy *p = t->policy;
    const json_t *events = json_object_get(doc, "events");
    const char *doc_id = sget(doc, "id");
    json_t *done_keys = json_object();
    int queued = 0, err = VIGIL_OK;
    size_t i;
    const json_t *ev;

    json_array_foreach(events, i, ev)
    {
        if (t->when && !core_when_event_match(t->when, ev))
            continue;
        struct buf key;
        buf_init(&key, 4096);
        build_key(p, doc, ev, now, &key);
        if (!key.data || json_object_get(done_keys, key.data)) {
            buf_free(&key);
            continue; /* one alert per key per document */
        }
        json_object_set_new(done_keys, key.data, json_true());

        char id[17];
        uint64_t h = hash_fnv64(t->pipeline, strlen(t->pipeline));
        h = hash_fnv64_update(h, "/", 1);
        h = hash_fnv64_update(h, t->sink, strlen(t->sink));
        h = hash_fnv64_update(h, "/", 1);
        h = hash_fnv64_update(h, key.data, key.len);
        hash_hex64(h, id);

        struct core_alert_row row;
        memset(&row, 0, sizeof row); /* freed below even when the lookup fails */
        int rc = core_outbox_alert_get(o, id, now, &row);
        if (rc == VIGIL_ENOTFOUND && t->claim) {
            char ckey[32];
            snprintf(ckey, sizeof ckey, "alert:%s", id);
            rc = t->claim(t->claim_arg, ckey, doc_id ? doc_id : "", p->window_ms);
            if (rc != VIGIL_OK) {
                /* VIGIL_EEXIST: another worker owns this story, its alert
                 * and its follow-up counts live there. Anything else: the
                 * cluster cannot say, so the documents wait. */
                buf_free(&key);
                if (rc == VIGIL_EEXIST)
                    continue;
                err = rc;
                break;
            }
            rc = VIGIL_ENOTFOUND;
        }
        if (rc == VIGIL_ENOTFOUND) {
            memset(&row, 0, sizeof row);
            snprintf(row.id, sizeof row.id, "%s", id);
            row.key = strdup(key.data);
            row.created = row.updated = now;
            row.expires = now + p->window_ms;
            row.count = 1;
            row.payload = build_payload(t, doc, ev, id, key.data, now);
            rc = core_outbox_enqueue(o, t->pipeline, t->sink, id, id, "alert", row.payload,
                                     p->digest_ms > 0, now);
            if (rc == VIGIL_OK)
                queued++;
        } else if (rc == VIGIL_OK) {
            if (source_listed(row.payload, doc_id)) {
                /* The same document again (reprocessed after a crash). */
                core_alert_row_free(&row);
                buf_free(&key);
                continue;
            }
            queued += follow_up(o, t, &row, doc, now, &rc);
        }
        if (rc == VIGIL_OK)
            rc = core_outbox_alert_put(o, t->pipeline, t->sink, &row);
        core_alert_row_free(&row);
        buf_free(&key);
        if (rc != VIGIL_OK) {
            err = rc;
            break;
        }
    }
    json_decref(done_keys);
    return err != VIGIL_OK ? err : queued;
}

json_t *core_alerts_digest(const struct core_alert_target *t, json_t *alerts, int64_t from,
                           int64_t to)
{
    char f[32], tt[32], id[17], title[128];
    iso(from, f);
    iso(to, tt);
    uint64_t h = hash_fnv64(t->pipeline, strlen(t->pipeline));
    h = hash_fnv64_update(h, t->sink, strlen(t->sink));
    h = hash_fnv64_update(h, &to, sizeof to);
    hash_hex64(h, id);
    size_t n = json_array_size(alerts);
    snprintf(title, sizeof title, "%zu alert%s since %s", n, n == 1 ? "" : "s", f);
    /* A digest lists at most CORE_DIGEST_MAX alerts (the first ones); every
     * alert stays in the outbox, where `vigil alerts list` finds the rest. */
    size_t omitted = 0;
    while (json_array_size(alerts) > CORE_DIGEST_MAX) {
        json_array_remove(alerts, json_array_size(alerts) - 1);
        omitted++;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:I, s:I, s:o}", "schema",
                     "vigil.alert/1", "id", id, "delivery_id", id, "kind", "digest", "pipeline",
                     t->pipeline, "sink", t->sink, "title", title, "period", "from", f, "to", tt,
                     "total", (json_int_t)n, "omitted", (json_int_t)omitted, "alerts", alerts);
}
