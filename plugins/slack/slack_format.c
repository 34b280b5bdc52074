#include "slack_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chan_payload.h"

#define SLACK_FIELD_MAX 1500 /* bytes of one quoted field */

int slack_escape(struct buf *out, const char *s)
{
    size_t start = 0, i = 0;
    for (; s[i]; i++) {
        const char *rep = s[i] == '&'   ? "&amp;"
                          : s[i] == '<' ? "&lt;"
                          : s[i] == '>' ? "&gt;"
                                        : NULL;
        if (!rep)
            continue;
        if (buf_append(out, s + start, i - start) != 0 || buf_append_str(out, rep) != 0)
            return -1;
        start = i + 1;
    }
    return buf_append(out, s + start, i - start);
}

int slack_link(struct buf *out, const char *url, const char *label)
{
    char tmp[SLACK_FIELD_MAX + 8];
    chan_oneline(label && *label ? label : url ? url : "", 300, tmp, sizeof tmp);
    if (!chan_is_web_url(url))
        return slack_escape(out, tmp);
    int rc = buf_append(out, "<", 1);
    for (const char *p = url; *p && rc == 0; p++) {
        if (*p == '|')
            rc = buf_append_str(out, "%7C");
        else if (*p == '&')
            rc = buf_append_str(out, "&amp;");
        else if (*p == '<')
            rc = buf_append_str(out, "%3C");
        else if (*p == '>')
            rc = buf_append_str(out, "%3E");
        else
            rc = buf_append(out, p, 1);
    }
    if (rc == 0)
        rc = buf_append(out, "|", 1);
    if (rc == 0)
        rc = slack_escape(out, tmp);
    if (rc == 0)
        rc = buf_append(out, ">", 1);
    return rc;
}

/* Building state: the first failure sticks. */
struct msg {
    json_t *blocks;
    int err;
};

/* Slack refuses more than 50 blocks: later ones are dropped. */
static void add_block(struct msg *m, json_t *block)
{
    if (!block) {
        m->err = 1;
        return;
    }
    if (json_array_size(m->blocks) >= 50) {
        json_decref(block);
        return;
    }
    if (json_array_append_new(m->blocks, block) != 0)
        m->err = 1;
}

static json_t *text_obj(const char *type, const char *text)
{
    return json_pack("{s:s, s:s}", "type", type, "text", text);
}

/* Cut a mrkdwn text to Slack's section limit without breaking a character
 * (an entity or link cut in half only renders oddly; never invalid). */
static void cut(struct buf *b, size_t max)
{
    if (b->data && b->len > max) {
        size_t n = chan_utf8_prefix(b->data, b->len, max - 3);
        memcpy(b->data + n, "...", 4);
        b->len = n + 3;
    }
}

static void section(struct msg *m, struct buf *b)
{
    if (!b->data || !b->len)
        return;
    cut(b, SLACK_SECTION_MAX);
    add_block(m, json_pack("{s:s, s:o}", "type", "section", "text", text_obj("mrkdwn", b->data)));
}

static void header(struct msg *m, const char *severity, const char *prefix, const char *title)
{
    /* the title is cut well below the buffer, so snprintf never cuts a
     * character; the count below makes the real cut */
    char text[1024], t[700];
    const char *label = chan_severity_label(severity);
    snprintf(text, sizeof text, "%s %s%s%s%s", chan_severity_emoji(severity), label ? label : "",
             label ? ": " : "", prefix, chan_oneline(title, 600, t, sizeof t));
    /* 150 characters, counted as Slack does (code points), not bytes */
    size_t chars = 0, i = 0;
    for (; text[i]; i++) {
        if (((unsigned char)text[i] & 0xC0) != 0x80 && ++chars > SLACK_HEADER_MAX - 3)
            break;
    }
    if (text[i])
        snprintf(text + i, sizeof text - i, "...");
    json_t *h = json_pack("{s:s, s:s, s:b}", "type", "plain_text", "text", text, "emoji", 1);
    add_block(m, h ? json_pack("{s:s, s:o}", "type", "header", "text", h) : NULL);
}

static void quote(struct msg *m, const char *evidence)
{
    if (!evidence)
        return;
    char t[SLACK_FIELD_MAX + 8];
    struct buf b;
    buf_init(&b, SLACK_SECTION_MAX * 4);
    m->err |= buf_append_str(&b, "> ") != 0 ||
              slack_escape(&b, chan_oneline(evidence, SLACK_FIELD_MAX, t, sizeof t)) != 0;
    section(m, &b);
    buf_free(&b);
}

static int entity_names(struct buf *b, const json_t *ents)
{
    size_t i;
    const json_t *e;
    int rc = 0, n = 0;
    char t[256];
    json_array_foreach(ents, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name)
            name = json_string_value(json_object_get(e, "id"));
        if (!name || n == 10)
            continue;
        if (n++)
            rc |= buf_append_str(b, ", ");
        rc |= slack_escape(b, chan_oneline(name, 120, t, sizeof t));
    }
    return rc;
}

/* Context line: entities, first seen, outlets, confidence. */
static void context(struct msg *m, const struct chan_view *v, int with_count)
{
    json_t *els = json_array();
    if (!els) {
        m->err = 1;
        return;
    }
    struct buf b;
    buf_init(&b, 2000);
    if (v->entities && json_array_size(v->entities)) {
        m->err |= buf_append_str(&b, "*Entities:* ") != 0 || entity_names(&b, v->entities) != 0;
        cut(&b, 1900);
        json_array_append_new(els, text_obj("mrkdwn", b.data));
        buf_reset(&b);
    }
    char t[64];
    if (v->first_seen) {
        m->err |= buf_printf(&b, "*%s:* ", v->kind == CHAN_DOCUMENT ? "Published" : "First seen");
        m->err |= slack_escape(&b, chan_oneline(v->first_seen, 40, t, sizeof t)) != 0;
    }
    if (with_count && v->count > 0)
        m->err |= buf_printf(&b, "%s%lld outlet%s", b.len ? " · " : "", (long long)v->count,
                             v->count == 1 ? "" : "s");
    if (v->confidence >= 0)
        m->err |= buf_printf(&b, "%sconfidence %.2f", b.len ? " · " : "", v->confidence);
    if (b.len)
        json_array_append_new(els, text_obj("mrkdwn", b.data));
    buf_free(&b);
    if (json_array_size(els))
        add_block(m, json_pack("{s:s, s:o}", "type", "context", "elements", els));
    else
        json_decref(els);
}

static void sources(struct msg *m, const json_t *src)
{
    size_t n = json_array_size(src);
    if (!n)
        return;
    struct buf b;
    buf_init(&b, SLACK_SECTION_MAX * 4);
    m->err |= buf_append_str(&b, "*Sources*") != 0;
    for (size_t i = 0; i < n && i < SLACK_MAX_LINKS; i++) {
        const json_t *s = json_array_get(src, i);
        m->err |= buf_append_str(&b, "\n• ") != 0 ||
                  slack_link(&b, json_string_value(json_object_get(s, "url")),
                             json_string_value(json_object_get(s, "title"))) != 0;
    }
    if (n > SLACK_MAX_LINKS)
        m->err |= buf_printf(&b, "\n_and %zu more_", n - SLACK_MAX_LINKS);
    section(m, &b);
    buf_free(&b);
}

static void alert_blocks(struct msg *m, const struct chan_view *v)
{
    header(m, v->severity, v->kind == CHAN_UPDATE ? "Update: " : "", v->title);
    if (v->kind == CHAN_UPDATE) {
        struct buf b;
        buf_init(&b, 256);
        m->err |= buf_printf(&b, "*Update:* now reported by %lld outlets", (long long)v->count);
        section(m, &b);
        buf_free(&b);
    }
    quote(m, v->evidence);
    context(m, v, v->kind != CHAN_UPDATE);
    sources(m, v->sources);
}

static void digest_blocks(struct msg *m, const struct chan_view *v)
{
    header(m, NULL, "", v->title);
    if (v->period_from && v->period_to) {
        char a[64], b2[64], text[200];
        snprintf(text, sizeof text, "%s to %s", chan_oneline(v->period_from, 40, a, sizeof a),
                 chan_oneline(v->period_to, 40, b2, sizeof b2));
        struct buf b;
        buf_init(&b, 512);
        m->err |= slack_escape(&b, text) != 0;
        json_t *els = json_array();
        if (els && b.data)
            json_array_append_new(els, text_obj("mrkdwn", b.data));
        add_block(m, els ? json_pack("{s:s, s:o}", "type", "context", "elements", els) : NULL);
        buf_free(&b);
    }
    /* one section per few alerts, so no section passes its limit */
    struct buf b;
    buf_init(&b, SLACK_SECTION_MAX * 4);
    size_t n = json_array_size(v->alerts);
    for (size_t i = 0; i < n && i < SLACK_MAX_DIGEST; i++) {
        struct chan_view a;
        chan_view_init(&a, json_array_get(v->alerts, i), "alert");
        const char *label = chan_severity_label(a.severity);
        struct buf line;
        buf_init(&line, 2000);
        m->err |= buf_printf(&line, "• %s ", chan_severity_emoji(a.severity)) != 0;
        if (label)
            m->err |= buf_printf(&line, "*%s* ", label) != 0;
        m->err |= slack_link(&line, a.url, a.title) != 0;
        if (a.count > 0)
            m->err |= buf_printf(&line, " (%lld outlet%s)", (long long)a.count,
                                 a.count == 1 ? "" : "s") != 0;
        if (line.data) {
            if (b.len + 1 + line.len > SLACK_SECTION_MAX) {
                section(m, &b);
                buf_reset(&b);
            }
            if (b.len)
                m->err |= buf_append(&b, "\n", 1) != 0;
            m->err |= buf_append(&b, line.data, line.len) != 0;
        }
        buf_free(&line);
    }
    if (n > SLACK_MAX_DIGEST)
        m->err |= buf_printf(&b, "\n_and %zu more_", n - SLACK_MAX_DIGEST) != 0;
    section(m, &b);
    buf_free(&b);
}

static void document_blocks(struct msg *m, const struct chan_view *v)
{
    if (v->severity)
        header(m, v->severity, "", v->title);
    else {
        char t[SLACK_FIELD_MAX + 8], text[SLACK_HEADER_MAX * 4];
        snprintf(text, sizeof text, ":page_facing_up: %s",
                 chan_oneline(v->title, SLACK_HEADER_MAX - 20, t, sizeof t));
        json_t *h = json_pack("{s:s, s:s, s:b}", "type", "plain_text", "text", text, "emoji", 1);
        add_block(m, h ? json_pack("{s:s, s:o}", "type", "header", "text", h) : NULL);
    }
    struct buf b;
    buf_init(&b, SLACK_SECTION_MAX * 4);
    if (v->url) {
        m->err |= slack_link(&b, v->url, v->url) != 0;
        section(m, &b);
        buf_reset(&b);
    }
    size_t n = json_array_size(v->events);
    char t[SLACK_FIELD_MAX + 8];
    for (size_t i = 0; i < n && i < SLACK_MAX_LINKS; i++) {
        const json_t *ev = json_array_get(v->events, i);
        const char *sev = json_string_value(json_object_get(ev, "severity"));
        const char *title = json_string_value(json_object_get(ev, "title"));
        const char *evid = chan_str(ev, "evidence.text");
        const char *label = chan_severity_label(sev);
        if (b.len)
            m->err |= buf_append(&b, "\n", 1) != 0;
        m->err |= buf_printf(&b, "• %s ", chan_severity_emoji(sev)) != 0;
        if (label)
            m->err |= buf_printf(&b, "*%s* ", label) != 0;
        m->err |= slack_escape(&b, chan_oneline(title ? title : chan_str(ev, "type"), 300, t,
                                                sizeof t)) != 0;
        if (evid) {
            m->err |= buf_append_str(&b, " — _") != 0 ||
                      slack_escape(&b, chan_oneline(evid, 400, t, sizeof t)) != 0 ||
                      buf_append_str(&b, "_") != 0;
        }
    }
    section(m, &b);
    buf_free(&b);
    context(m, v, 0);
}

/* The fallback text: a notification line, the evidence, the first link.
 * No *bold*: Mattermost, which shows only this, reads it differently. */
static char *fallback(const struct chan_view *v)
{
    struct buf b;
    buf_init(&b, 8000);
    char t[SLACK_FIELD_MAX + 8];
    const char *label = chan_severity_label(v->severity);
    int rc =
        buf_printf(&b, "%s ", chan_severity_emoji(v->kind == CHAN_DIGEST ? NULL : v->severity));
    if (label && v->kind != CHAN_DIGEST)
        rc |= buf_printf(&b, "[%s] ", label);
    if (v->kind == CHAN_UPDATE)
        rc |= buf_append_str(&b, "Update: ");
    rc |= slack_escape(&b, chan_oneline(v->title, 300, t, sizeof t));
    if (v->kind == CHAN_UPDATE)
        rc |= buf_printf(&b, " (now reported by %lld outlets)", (long long)v->count);
    if (v->evidence && v->kind != CHAN_DIGEST) {
        rc |= buf_append_str(&b, "\n> ");
        rc |= slack_escape(&b, chan_oneline(v->evidence, 500, t, sizeof t));
    }
    const char *url = v->url;
    const char *label2 = NULL;
    if (v->sources && json_array_size(v->sources)) {
        url = json_string_value(json_object_get(json_array_get(v->sources, 0), "url"));
        label2 = json_string_value(json_object_get(json_array_get(v->sources, 0), "title"));
    }
    if (chan_is_web_url(url) && v->kind != CHAN_DIGEST) {
        rc |= buf_append_str(&b, "\n");
        rc |= slack_link(&b, url, label2 ? label2 : url);
    }
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

json_t *slack_message(const json_t *payload, const char *kind, const struct slack_opts *o)
{
    struct chan_view v;
    chan_view_init(&v, payload, kind);
    struct msg m = {.blocks = json_array(), .err = 0};
    char *text = fallback(&v);
    json_t *msg = json_object();
    if (!m.blocks || !text || !msg) {
        json_decref(m.blocks);
        json_decref(msg);
        free(text);
        return NULL;
    }
    switch (v.kind) {
    case CHAN_DIGEST: digest_blocks(&m, &v); break;
    case CHAN_DOCUMENT: document_blocks(&m, &v); break;
    default: alert_blocks(&m, &v); break;
    }
    int rc = json_object_set_new(msg, "text", json_string(text));
    free(text);
    rc |= json_object_set_new(msg, "blocks", m.blocks);
    if (o && o->channel)
        rc |= json_object_set_new(msg, "channel", json_string(o->channel));
    if (o && o->username)
        rc |= json_object_set_new(msg, "username", json_string(o->username));
    if (o && o->icon_emoji)
        rc |= json_object_set_new(msg, "icon_emoji", json_string(o->icon_emoji));
    if (rc != 0 || m.err) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}
