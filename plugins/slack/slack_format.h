/*
 * slack_format - an alert (update, digest) or a document as a Slack
 * incoming-webhook message: "text" (the notification fallback, also what
 * Mattermost shows, since it ignores blocks) and Block Kit "blocks".
 *
 * Every text taken from a payload is escaped for mrkdwn (&, <, > become
 * entities, so a title cannot inject a link or an @channel mention), cut
 * to Slack's limits (header 150 characters, section 3000, 50 blocks), and
 * only http(s) URLs become links. Pure: payload in, JSON out.
 */
#ifndef VIGIL_SLACK_FORMAT_H
#define VIGIL_SLACK_FORMAT_H

#include <jansson.h>

struct buf;

#define SLACK_MAX_LINKS 10   /* sources listed for an alert */
#define SLACK_MAX_DIGEST 20  /* alerts listed in a digest message */
#define SLACK_HEADER_MAX 150 /* Slack's limit for a header block */
#define SLACK_SECTION_MAX 3000

/* Optional fields copied into the message; NULL leaves them out. */
struct slack_opts {
    const char *channel;
    const char *username;
    const char *icon_emoji;
};

/* A new message object, or NULL when out of memory. kind is the
 * delivery's ("alert" or "document"). */
json_t *slack_message(const json_t *payload, const char *kind, const struct slack_opts *o);

/* Append s with &, <, > escaped. 0 or -1. */
int slack_escape(struct buf *out, const char *s);
/* Append "<url|label>" (label escaped, '|' in the URL written %7C) for an
 * http(s) URL, or just the escaped label otherwise. 0 or -1. */
int slack_link(struct buf *out, const char *url, const char *label);

#endif
