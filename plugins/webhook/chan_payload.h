/*
 * chan_payload - what alert channels read from a delivery payload.
 *
 * Shared by the channel plugins (webhook, slack, email, exec; library
 * vigil_channel, built in plugins/webhook). A payload is either an alert
 * of docs/alerts.md (schema vigil.alert/1, kind alert, update or digest) or
 * a plain document (docs/documents.md) when the stage has no alert policy.
 * chan_view_init() reads both into one flat view so the renderers do not
 * care which one they got. Nothing here depends on the host table.
 */
#ifndef VIGIL_CHAN_PAYLOAD_H
#define VIGIL_CHAN_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum chan_kind {
    CHAN_DOCUMENT = 0, /* a document, no alert policy */
    CHAN_ALERT = 1,    /* first alert of a story */
    CHAN_UPDATE = 2,   /* follow-up: the story crossed a threshold */
    CHAN_DIGEST = 3    /* several alerts in one message */
};

/* Every pointer is borrowed from the payload (valid while it lives); NULL
 * when absent. */
struct chan_view {
    int kind;                /* enum chan_kind */
    const char *id;          /* alert id / document id */
    const char *title;       /* never NULL: "(untitled)" when missing */
    const char *severity;    /* info..critical; for documents the highest
                                severity among events; NULL if unknown */
    double confidence;       /* -1 when unknown */
    const char *evidence;    /* evidence sentence (alert event, or the
                                document's most severe event) */
    const char *why;         /* alert explanation */
    const char *url;         /* main link: the alert's first document, or
                                the document's url */
    const char *event_type;  /* event.type */
    const char *rule_id;     /* event.rule.id */
    const char *first_seen;  /* alert first_seen; document published */
    const char *updated;     /* alert updated; document fetched */
    int64_t count;           /* outlets so far (alerts), 0 otherwise */
    const json_t *entities;  /* array of {id, name, type}: alert entities,
                                or a document's entities.summary */
    const json_t *sources;   /* alert sources [{url, title, source...}] */
    const json_t *events;    /* document events */
    const json_t *alerts;    /* digest alerts */
    const char *period_from; /* digest period */
    const char *period_to;
    const char *pipeline; /* alert pipeline and sink, when present */
    const char *sink;
};

/* Read payload. delivery_kind is d->kind ("alert" or "document"; NULL is
 * taken as "document" unless the payload carries schema vigil.alert/...). */
void chan_view_init(struct chan_view *v, const json_t *payload, const char *delivery_kind);

/* Value at a dotted path ("event.evidence.text", "sources.0.url") or a
 * JSON Pointer ("/event/evidence/text"); "" or "." is root itself. NULL
 * when missing. Borrowed. */
const json_t *chan_get(const json_t *root, const char *path);
/* chan_get() when it is a string, else NULL. */
const char *chan_str(const json_t *root, const char *path);

/* info 0, low 1, medium 2, high 3, critical 4; -1 for anything else. */
int chan_severity_rank(const char *severity);
/* "INFO".."CRITICAL", or NULL for an unknown severity. */
const char *chan_severity_label(const char *severity);
/* Slack emoji code: ":red_circle:" for high...; ":bell:" when unknown. */
const char *chan_severity_emoji(const char *severity);

/* Length of the longest prefix of s[0..len) that is at most max bytes and
 * does not cut a UTF-8 sequence. */
size_t chan_utf8_prefix(const char *s, size_t len, size_t max);

/* Is s an absolute http:// or https:// URL without blanks or controls?
 * Only those become links in HTML and Slack messages. */
int chan_is_web_url(const char *s);

/* A URL as it may appear in logs: scheme://host[:port] only (paths and
 * queries of webhook URLs often carry tokens, user info always does). */
void chan_url_origin(const char *url, char *out, size_t outlen);

/* Copy at most max bytes of s into out (outlen >= max + 4), on a UTF-8
 * boundary, replacing control characters (CR, LF, tabs...) by spaces; "..."
 * is appended when something was cut. Returns out. */
char *chan_oneline(const char *s, size_t max, char *out, size_t outlen);

#endif
