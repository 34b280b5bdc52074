#include "email_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chan_payload.h"

#define EMAIL_BODY_MAX (4u * 1024 * 1024)
#define EMAIL_LINE_MAX 2000 /* longest quoted field, in bytes */

int email_html_escape(struct buf *out, const char *s)
{
    size_t start = 0, i = 0;
    for (; s[i]; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (!rep)
            continue;
        if (buf_append(out, s + start, i - start) != 0 || buf_append_str(out, rep) != 0)
            return -1;
        start = i + 1;
    }
    return buf_append(out, s + start, i - start);
}

/* Both bodies are written side by side; the first failure sticks. */
struct out {
    struct buf text, html;
    int err;
};

static void t(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!o->err && buf_vprintf(&o->text, fmt, ap) != 0)
        o->err = 1;
    va_end(ap);
}

static void h(struct out *o, const char *s)
{
    if (!o->err && buf_append_str(&o->html, s) != 0)
        o->err = 1;
}

static void he(struct out *o, const char *s)
{
    if (!o->err && email_html_escape(&o->html, s ? s : "") != 0)
        o->err = 1;
}

/* A field on one line, cut at a sane length. */
static const char *one(const char *s, char *tmp, size_t len)
{
    return chan_oneline(s ? s : "", EMAIL_LINE_MAX, tmp, len);
}

static void html_link(struct out *o, const char *url, const char *label)
{
    if (chan_is_web_url(url)) {
        h(o, "<a href=\"");
        he(o, url);
        h(o, "\">");
        he(o, label && *label ? label : url);
        h(o, "</a>");
    } else {
        he(o, label && *label ? label : url);
    }
}

/* "[HIGH] " in the HTML (coloured) and, when with_text, in the text. */
static void severity_tag(struct out *o, const char *severity, int with_text)
{
    static const char *const colors[] = {"#555555", "#1f6feb", "#d4a72c", "#cf222e", "#8250df"};
    const char *label = chan_severity_label(severity);
    if (!label)
        return;
    if (with_text)
        t(o, "[%s] ", label);
    char span[128];
    snprintf(span, sizeof span, "<span style=\"color:%s\">[%s]</span> ",
             colors[chan_severity_rank(severity)], label);
    h(o, span);
}

static void entities(struct out *o, const json_t *ents)
{
    if (!ents || !json_array_size(ents))
        return;
    struct buf names;
    buf_init(&names, EMAIL_LINE_MAX * 2);
    size_t i;
    const json_t *e;
    int rc = 0;
    json_array_foreach(ents, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (!n)
            n = json_string_value(json_object_get(e, "id"));
        if (!n || i >= 10)
            continue;
        if (names.len)
            rc |= buf_append_str(&names, ", ");
        rc |= buf_append_str(&names, n);
    }
    if (rc == 0 && names.len) {
        char tmp[EMAIL_LINE_MAX + 8];
        one(names.data, tmp, sizeof tmp);
        t(o, "Entities: %s\n", tmp);
        h(o, "<b>Entities:</b> ");
        he(o, tmp);
        h(o, "<br>\n");
    }
    buf_free(&names);
}

static void quote(struct out *o, const char *evidence)
{
    if (!evidence)
        return;
    char tmp[EMAIL_LINE_MAX + 8];
    one(evidence, tmp, sizeof tmp);
    t(o, "\n> %s\n", tmp);
    h(o, "<blockquote style=\"border-left:3px solid #ccc;margin:8px 0;padding-left:8px\">");
    he(o, tmp);
    h(o, "</blockquote>\n");
}

static void sources(struct out *o, const json_t *src)
{
    size_t n = json_array_size(src);
    if (!n)
        return;
    t(o, "\nSources:\n");
    h(o, "<h3>Sources</h3>\n<ul>\n");
    char tmp[EMAIL_LINE_MAX + 8], url[EMAIL_LINE_MAX + 8];
    for (size_t i = 0; i < n && i < EMAIL_MAX_SOURCES; i++) {
        const json_t *s = json_array_get(src, i);
        const char *u = json_string_value(json_object_get(s, "url"));
        const char *title = json_string_value(json_object_get(s, "title"));
        one(title && *title ? title : u, tmp, sizeof tmp);
        one(u, url, sizeof url);
        t(o, "- %s\n  %s\n", tmp, url);
        h(o, "<li>");
        html_link(o, u, tmp);
        h(o, "</li>\n");
    }
    if (n > EMAIL_MAX_SOURCES) {
        t(o, "... and %zu more\n", n - EMAIL_MAX_SOURCES);
        char more[64];
        snprintf(more, sizeof more, "<li>... and %zu more</li>\n", n - EMAIL_MAX_SOURCES);
        h(o, more);
    }
    h(o, "</ul>\n");
}

static void footer(struct out *o, const struct chan_view *v, const char *what)
{
    char line[512];
    snprintf(line, sizeof line, "Vigil %s %s%s%s%s%s%s", what, v->id ? v->id : "",
             v->pipeline ? " (pipeline " : "", v->pipeline ? v->pipeline : "",
             v->rule_id ? (v->pipeline ? ", rule " : " (rule ") : "", v->rule_id ? v->rule_id : "",
             v->pipeline || v->rule_id ? ")" : "");
    t(o, "\n-- \n%s\n", line);
    h(o, "<p style=\"color:#888;font-size:small\">");
    he(o, line);
    h(o, "</p>\n");
}

static void render_alert(struct out *o, const struct chan_view *v)
{
    char tmp[EMAIL_LINE_MAX + 8];
    h(o, "<h2>");
    severity_tag(o, v->severity, 1);
    one(v->title, tmp, sizeof tmp);
    t(o, "%s\n", tmp);
    he(o, tmp);
    h(o, "</h2>\n");
    if (v->kind == CHAN_UPDATE) {
        char upd[96];
        snprintf(upd, sizeof upd, "now reported by %lld outlets", (long long)v->count);
        t(o, "Update: %s\n", upd);
        h(o, "<p><b>Update:</b> ");
        he(o, upd);
        h(o, "</p>\n");
    }
    quote(o, v->evidence);
    t(o, "\n");
    h(o, "<p>\n");
    if (v->why) {
        one(v->why, tmp, sizeof tmp);
        t(o, "Why: %s\n", tmp);
        h(o, "<b>Why:</b> ");
        he(o, tmp);
        h(o, "<br>\n");
    }
    entities(o, v->entities);
    char seen[256];
    snprintf(seen, sizeof seen, "%s%s%lld outlet%s so far", v->first_seen ? v->first_seen : "",
             v->first_seen ? ", " : "", (long long)v->count, v->count == 1 ? "" : "s");
    if (v->confidence >= 0) {
        size_t l = strlen(seen);
        snprintf(seen + l, sizeof seen - l, ", confidence %.2f", v->confidence);
    }
    t(o, "First seen: %s\n", seen);
    h(o, "<b>First seen:</b> ");
    he(o, seen);
    h(o, "</p>\n");
    sources(o, v->sources);
    footer(o, v, "alert");
}

static void render_digest(struct out *o, const struct chan_view *v)
{
    char tmp[EMAIL_LINE_MAX + 8], url[EMAIL_LINE_MAX + 8];
    one(v->title, tmp, sizeof tmp);
    t(o, "%s\n", tmp);
    h(o, "<h2>");
    he(o, tmp);
    h(o, "</h2>\n");
    if (v->period_from && v->period_to) {
        char period[128];
        snprintf(period, sizeof period, "%s to %s", v->period_from, v->period_to);
        t(o, "Period: %s\n", period);
        h(o, "<p><b>Period:</b> ");
        he(o, period);
        h(o, "</p>\n");
    }
    t(o, "\n");
    h(o, "<ul>\n");
    size_t n = json_array_size(v->alerts);
    for (size_t i = 0; i < n && i < EMAIL_MAX_DIGEST; i++) {
        struct chan_view a;
        chan_view_init(&a, json_array_get(v->alerts, i), "alert");
        const char *label = chan_severity_label(a.severity);
        one(a.title, tmp, sizeof tmp);
        one(a.url, url, sizeof url);
        char count[64] = "";
        if (a.count > 0)
            snprintf(count, sizeof count, " (%lld outlet%s)", (long long)a.count,
                     a.count == 1 ? "" : "s");
        t(o, "- %s%s%s%s%s\n", label ? "[" : "", label ? label : "", label ? "] " : "", tmp, count);
        if (a.url)
            t(o, "  %s\n", url);
        h(o, "<li>");
        severity_tag(o, a.severity, 0);
        html_link(o, a.url, tmp);
        he(o, count);
        h(o, "</li>\n");
    }
    if (n > EMAIL_MAX_DIGEST)
        t(o, "... and %zu more\n", n - EMAIL_MAX_DIGEST);
    h(o, "</ul>\n");
    footer(o, v, "digest");
}

static void render_document(struct out *o, const struct chan_view *v)
{
    char tmp[EMAIL_LINE_MAX + 8];
    h(o, "<h2>");
    severity_tag(o, v->severity, 1);
    one(v->title, tmp, sizeof tmp);
    t(o, "%s\n", tmp);
    he(o, tmp);
    h(o, "</h2>\n");
    if (v->url) {
        one(v->url, tmp, sizeof tmp);
        t(o, "%s\n", tmp);
        h(o, "<p>");
        html_link(o, v->url, v->url);
        h(o, "</p>\n");
    }
    size_t n = json_array_size(v->events);
    if (n) {
        t(o, "\nEvents:\n");
        h(o, "<h3>Events</h3>\n<ul>\n");
    }
    for (size_t i = 0; i < n && i < EMAIL_MAX_SOURCES; i++) {
        const json_t *ev = json_array_get(v->events, i);
        const char *sev = json_string_value(json_object_get(ev, "severity"));
        const char *title = json_string_value(json_object_get(ev, "title"));
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *evid = chan_str(ev, "evidence.text");
        h(o, "<li>");
        t(o, "- ");
        severity_tag(o, sev, 1);
        one(title ? title : type, tmp, sizeof tmp);
        t(o, "%s%s%s\n", tmp, type && title ? " / " : "", type && title ? type : "");
        he(o, tmp);
        if (evid) {
            one(evid, tmp, sizeof tmp);
            t(o, "  > %s\n", tmp);
            h(o, "<br><i>");
            he(o, tmp);
            h(o, "</i>");
        }
        h(o, "</li>\n");
    }
    if (n)
        h(o, "</ul>\n");
    t(o, "\n");
    h(o, "<p>\n");
    entities(o, v->entities);
    if (v->first_seen) {
        t(o, "Published: %s\n", v->first_seen);
        h(o, "<b>Published:</b> ");
        he(o, v->first_seen);
        h(o, "\n");
    }
    h(o, "</p>\n");
    footer(o, v, "document");
}

int email_render(const json_t *payload, const char *kind, const char *subject_prefix,
                 struct email_content *out)
{
    memset(out, 0, sizeof *out);
    struct chan_view v;
    chan_view_init(&v, payload, kind);
    struct out o = {.err = 0};
    buf_init(&o.text, EMAIL_BODY_MAX);
    buf_init(&o.html, EMAIL_BODY_MAX);
    struct buf subj;
    buf_init(&subj, 4096);

    char title[512];
    chan_oneline(v.title, 300, title, sizeof title);
    const char *label = chan_severity_label(v.severity);
    int rc = buf_printf(&subj, "%s", subject_prefix ? subject_prefix : "");
    if (label && v.kind != CHAN_DIGEST)
        rc |= buf_printf(&subj, "[%s] ", label);
    if (v.kind == CHAN_UPDATE)
        rc |= buf_printf(&subj, "Update: %s (now reported by %lld outlets)", title,
                         (long long)v.count);
    else
        rc |= buf_append_str(&subj, title);

    h(&o, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    he(&o, title);
    h(&o, "</title></head>\n<body style=\"font-family:sans-serif\">\n");
    switch (v.kind) {
    case CHAN_DIGEST: render_digest(&o, &v); break;
    case CHAN_DOCUMENT: render_document(&o, &v); break;
    default: render_alert(&o, &v); break;
    }
    h(&o, "</body></html>\n");
    if (rc != 0 || o.err) {
        buf_free(&o.text);
        buf_free(&o.html);
        buf_free(&subj);
        return -1;
    }
    out->subject = buf_steal(&subj);
    out->text = buf_steal(&o.text);
    out->html = buf_steal(&o.html);
    if (v.kind == CHAN_UPDATE)
        out->thread_id = v.id;
    if (!out->subject || !out->text || !out->html) {
        email_content_free(out);
        return -1;
    }
    return 0;
}

void email_content_free(struct email_content *c)
{
    free(c->subject);
    free(c->text);
    free(c->html);
    memset(c, 0, sizeof *c);
}
