#include "chan_payload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const severities[] = {"info", "low", "medium", "high", "critical"};
static const char *const severity_labels[] = {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"};
static const char *const severity_emojis[] = {
    ":information_source:", ":large_blue_circle:", ":large_orange_circle:", ":red_circle:",
    ":rotating_light:"};

int chan_severity_rank(const char *severity)
{
    if (!severity)
        return -1;
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(severity, severities[i]) == 0)
            return i;
    }
    return -1;
}

const char *chan_severity_label(const char *severity)
{
    int r = chan_severity_rank(severity);
    return r < 0 ? NULL : severity_labels[r];
}

const char *chan_severity_emoji(const char *severity)
{
    int r = chan_severity_rank(severity);
    return r < 0 ? ":bell:" : severity_emojis[r];
}

/* One path segment: an object key, or an array index. */
static const json_t *step(const json_t *v, const char *seg, size_t n)
{
    if (json_is_object(v)) {
        char key[256];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, seg, n);
        key[n] = '\0';
        return json_object_get(v, key);
    }
    if (json_is_array(v)) {
        if (n == 0 || n > 9)
            return NULL;
        size_t idx = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)seg[i]))
                return NULL;
            idx = idx * 10 + (size_t)(seg[i] - '0');
        }
        return json_array_get(v, idx);
    }
    return NULL;
}

/* JSON Pointer segment with ~0 and ~1 decoded. */
static const json_t *step_pointer(const json_t *v, const char *seg, size_t n)
{
    char key[256];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 1 >= sizeof key)
            return NULL;
        if (seg[i] == '~' && i + 1 < n && (seg[i + 1] == '0' || seg[i + 1] == '1')) {
            key[k++] = seg[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            key[k++] = seg[i];
        }
    }
    return step(v, key, k);
}

const json_t *chan_get(const json_t *root, const char *path)
{
    if (!root || !path)
        return NULL;
    if (path[0] == '\0' || strcmp(path, ".") == 0)
        return root;
    const json_t *v = root;
    if (path[0] == '/') {
        const char *p = path + 1;
        for (;;) {
            const char *slash = strchr(p, '/');
            size_t n = slash ? (size_t)(slash - p) : strlen(p);
            v = step_pointer(v, p, n);
            if (!v || !slash)
                return v;
            p = slash + 1;
        }
    }
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        v = step(v, p, n);
        if (!v || !dot)
            return v;
        p = dot + 1;
    }
}

const char *chan_str(const json_t *root, const char *path)
{
    return json_string_value(chan_get(root, path));
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* The document's most severe event (first one on ties). */
static const json_t *top_event(const json_t *events)
{
    const json_t *best = NULL;
    int best_rank = -2;
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev)
    {
        int r = chan_severity_rank(json_string_value(json_object_get(ev, "severity")));
        if (r > best_rank) {
            best = ev;
            best_rank = r;
        }
    }
    return best;
}

void chan_view_init(struct chan_view *v, const json_t *payload, const char *delivery_kind)
{
    memset(v, 0, sizeof *v);
    v->confidence = -1;
    const char *schema = chan_str(payload, "schema");
    int is_alert = (schema && strncmp(schema, "vigil.alert/", 12) == 0) ||
                   (delivery_kind && strcmp(delivery_kind, "alert") == 0);
    const json_t *event;
    if (is_alert) {
        const char *k = chan_str(payload, "kind");
        v->kind = k && strcmp(k, "digest") == 0   ? CHAN_DIGEST
                  : k && strcmp(k, "update") == 0 ? CHAN_UPDATE
                                                  : CHAN_ALERT;
        v->id = chan_str(payload, "id");
        v->title = nonempty(chan_str(payload, "title"));
        event = chan_get(payload, "event");
        if (!v->title)
            v->title = nonempty(chan_str(event, "title"));
        v->severity = chan_str(payload, "severity");
        if (!v->severity)
            v->severity = chan_str(event, "severity");
        const json_t *conf = json_object_get(payload, "confidence");
        if (!json_is_number(conf))
            conf = json_object_get(event, "confidence");
        if (json_is_number(conf))
            v->confidence = json_number_value(conf);
        v->evidence = nonempty(chan_str(event, "evidence.text"));
        v->why = nonempty(chan_str(payload, "why"));
        v->url = nonempty(chan_str(payload, "document.url"));
        if (!v->url)
            v->url = nonempty(chan_str(payload, "sources.0.url"));
        v->event_type = chan_str(event, "type");
        v->rule_id = chan_str(event, "rule.id");
        v->first_seen = chan_str(payload, "first_seen");
        v->updated = chan_str(payload, "updated");
        const json_t *count = json_object_get(payload, "count");
        v->count = json_is_integer(count) ? (int64_t)json_integer_value(count) : 0;
        v->entities = json_is_array(json_object_get(payload, "entities"))
                          ? json_object_get(payload, "entities")
                          : NULL;
        v->sources = json_is_array(json_object_get(payload, "sources"))
                         ? json_object_get(payload, "sources")
                         : NULL;
        v->alerts = json_is_array(json_object_get(payload, "alerts"))
                        ? json_object_get(payload, "alerts")
                        : NULL;
        v->period_from = chan_str(payload, "period.from");
        v->period_to = chan_str(payload, "period.to");
        v->pipeline = chan_str(payload, "pipeline");
        v->sink = chan_str(payload, "sink");
    } else {
        v->kind = CHAN_DOCUMENT;
        v->id = chan_str(payload, "id");
        const json_t *events = json_object_get(payload, "events");
        v->events = json_is_array(events) && json_array_size(events) ? events : NULL;
        event = top_event(v->events);
        v->title = nonempty(chan_str(payload, "title"));
        if (!v->title)
            v->title = nonempty(chan_str(event, "title"));
        v->url = nonempty(chan_str(payload, "url"));
        if (!v->title)
            v->title = v->url;
        if (event) {
            v->severity = chan_str(event, "severity");
            const json_t *conf = json_object_get(event, "confidence");
            if (json_is_number(conf))
                v->confidence = json_number_value(conf);
            v->evidence = nonempty(chan_str(event, "evidence.text"));
            v->event_type = chan_str(event, "type");
            v->rule_id = chan_str(event, "rule.id");
        }
        v->first_seen = chan_str(payload, "published");
        v->updated = chan_str(payload, "fetched");
        const json_t *summary = chan_get(payload, "entities.summary");
        v->entities = json_is_array(summary) ? summary : NULL;
    }
    if (!v->title)
        v->title = "(untitled)";
}

size_t chan_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    /* back up over continuation bytes to the start of the cut character */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

int chan_is_web_url(const char *s)
{
    if (!s)
        return 0;
    size_t skip;
    if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return 0;
    if (!s[skip] || s[skip] == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == 0x7f)
            return 0;
    }
    return 1;
}

void chan_url_origin(const char *url, char *out, size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    if (!url)
        return;
    const char *p = strstr(url, "://");
    if (!p) {
        snprintf(out, outlen, "(not a URL)");
        return;
    }
    const char *host = p + 3;
    size_t hlen = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hlen);
    if (at) {
        hlen -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    snprintf(out, outlen, "%.*s://%.*s", (int)(p - url), url, (int)hlen, host);
}

char *chan_oneline(const char *s, size_t max, char *out, size_t outlen)
{
    if (!outlen)
        return out;
    out[0] = '\0';
    if (!s)
        return out;
    size_t len = strlen(s);
    size_t n = chan_utf8_prefix(s, len, max);
    if (n + 4 > outlen)
        n = chan_utf8_prefix(s, len, outlen > 4 ? outlen - 4 : 0);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (n < len && o + 3 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
