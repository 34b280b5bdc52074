/*
 * slack sink - post alerts or documents to a Slack (or Mattermost)
 * incoming webhook: a notification text and Block Kit blocks
 * (slack_format.h), through the shared HTTP client, with the same outcome
 * mapping as the webhook channel (429 with Retry-After is how Slack rate
 * limits). The URL holds the webhook's token: it is a secret option and
 * only its origin is ever logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_payload.h"
#include "chan_send.h"
#include "slack_format.h"
#include "vigil/plugin.h"

#define SLACK_RESPONSE_MAX (64u * 1024)

struct slack_conf {
    char *url;
    char *channel;
    char *username;
    char *icon_emoji;
    int64_t timeout_ms;
};

static const struct vigil_option slack_options[] = {
    {"url", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_SECRET,
     offsetof(struct slack_conf, url), VIGIL_NOBOUNDS, NULL,
     "incoming webhook URL (holds the token: use ${VAR})"},
    {"channel", VIGIL_OPT_STR, NULL, 0, offsetof(struct slack_conf, channel), VIGIL_NOBOUNDS, NULL,
     "channel override (legacy webhooks, Mattermost)"},
    {"username", VIGIL_OPT_STR, NULL, 0, offsetof(struct slack_conf, username), VIGIL_NOBOUNDS,
     NULL, "display name override"},
    {"icon_emoji", VIGIL_OPT_STR, NULL, 0, offsetof(struct slack_conf, icon_emoji), VIGIL_NOBOUNDS,
     NULL, "icon override, e.g. :satellite:"},
    {"timeout", VIGIL_OPT_DURATION, "10s", 0, offsetof(struct slack_conf, timeout_ms), 1, 600000,
     NULL, "time limit of one request"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct slack {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct slack_conf *conf;
    struct chan_sender sender;
    struct slack_opts opts;
};

static int slack_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                        void **state, struct vigil_error *err)
{
    const struct slack_conf *c = conf;
    /* never quote the URL: it is the token */
    if (!chan_is_web_url(c->url))
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option 'url': expected an http:// or https:// URL");
    struct slack *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = c;
    s->opts = (struct slack_opts){c->channel, c->username, c->icon_emoji};
    chan_sender_init(&s->sender, host, ins, "slack", c->url, 0);
    host->log(ins, VIGIL_LOG_INFO, "slack: posting to %s%s%s", s->sender.dest,
              c->channel ? " channel " : "", c->channel ? c->channel : "");
    *state = s;
    return VIGIL_OK;
}

static int slack_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                         void *arg)
{
    struct slack *s = state;
    json_t *msg = slack_message(d->payload, d->kind, &s->opts);
    if (!msg)
        return VIGIL_ENOMEM;
    char *body = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!body)
        return VIGIL_ENOMEM;
    const char *headers[] = {"Content-Type: application/json; charset=utf-8", NULL};
    struct vigil_http_request req = {
        .struct_size = sizeof req,
        .method = "POST",
        .url = s->conf->url,
        .headers = headers,
        .body = body,
        .body_len = strlen(body),
        .timeout_ms = s->conf->timeout_ms,
        .max_body = SLACK_RESPONSE_MAX,
        .flags = VIGIL_HTTP_NO_REDIRECTS | VIGIL_HTTP_SECRET_URL,
    };
    int rc = chan_send_http(&s->sender, &req, d, done, arg);
    free(body);
    return rc;
}

static void slack_stop(void *state)
{
    struct slack *s = state;
    chan_sender_stop(&s->sender);
}

static void slack_destroy(void *state)
{
    free(state);
}

static const struct vigil_plugin slack_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "slack",
    .version = "1.0.0",
    .description = "post alerts or documents to a Slack or Mattermost incoming webhook",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = slack_options,
    .conf_size = sizeof(struct slack_conf),
    .create = slack_create,
    .stop = slack_stop,
    .destroy = slack_destroy,
    .deliver = slack_deliver,
};

VIGIL_PLUGIN_EXPORT(slack_plugin)
