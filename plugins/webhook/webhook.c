/*
 * webhook sink - POST (PUT, PATCH) each alert or document to an HTTP(S)
 * endpoint through the shared client.
 *
 * The body is the payload as compact JSON, or a template rendering
 * (webhook_template.h). Every request carries Idempotency-Key (the
 * delivery id, so a receiver drops the rare duplicate after a crash),
 * X-Vigil-Timestamp, X-Vigil-Kind, X-Vigil-Attempt and, with hmac_secret,
 * X-Vigil-Signature over the exact body. The answer becomes delivered /
 * retry / failed by chan_http_outcome() (chan_send.h). Redirects are never
 * followed: a POST re-sent somewhere else is not what anyone configured.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "chan_payload.h"
#include "chan_send.h"
#include "vigil/plugin.h"
#include "webhook_sign.h"
#include "webhook_template.h"

#define WEBHOOK_BODY_MAX (16u * 1024 * 1024)
#define WEBHOOK_RESPONSE_MAX (64u * 1024) /* only the first bytes are quoted */
#define WEBHOOK_HEADERS_MAX 64
#define WEBHOOK_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

struct webhook_conf {
    char *url;
    int method;
    json_t *headers;
    char *template_src;
    char *content_type;
    char *hmac_secret;
    int64_t timeout_ms;
};

static const char *const method_choices[] = {"POST", "PUT", "PATCH", NULL};

static const struct vigil_option webhook_options[] = {
    {"url", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED, offsetof(struct webhook_conf, url),
     VIGIL_NOBOUNDS, NULL, "http:// or https:// endpoint"},
    {"method", VIGIL_OPT_ENUM, "POST", 0, offsetof(struct webhook_conf, method), VIGIL_NOBOUNDS,
     method_choices, "HTTP method: POST, PUT or PATCH"},
    {"headers", VIGIL_OPT_JSON, NULL, VIGIL_OPT_SECRET, offsetof(struct webhook_conf, headers),
     VIGIL_NOBOUNDS, NULL,
     "extra headers: {\"Name\": \"value\"} or [\"Name: value\"]; use ${VAR} for tokens"},
    {"template", VIGIL_OPT_STR, NULL, 0, offsetof(struct webhook_conf, template_src),
     VIGIL_NOBOUNDS, NULL, "body template with {{path}} placeholders; default: the payload JSON"},
    {"content_type", VIGIL_OPT_STR, "application/json", 0,
     offsetof(struct webhook_conf, content_type), VIGIL_NOBOUNDS, NULL,
     "Content-Type of the body; also chooses the template escaping"},
    {"hmac_secret", VIGIL_OPT_STR, NULL, VIGIL_OPT_SECRET,
     offsetof(struct webhook_conf, hmac_secret), VIGIL_NOBOUNDS, NULL,
     "sign each body: X-Vigil-Signature: sha256=<HMAC-SHA256 hex>"},
    {"timeout", VIGIL_OPT_DURATION, "10s", 0, offsetof(struct webhook_conf, timeout_ms), 1, 600000,
     NULL, "time limit of one request"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct webhook {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct webhook_conf *conf;
    struct chan_sender sender;
    struct tpl *tpl;
    int escape;
    char **headers; /* user headers, "Name: value" */
    size_t nheaders;
    char content_type_line[512];
};

/* Headers the plugin sets itself, or that the client must compute. */
static const char *const reserved_headers[] = {"Content-Type",      "Content-Length",
                                               "Idempotency-Key",   "X-Vigil-Signature",
                                               "X-Vigil-Timestamp", "X-Vigil-Kind",
                                               "X-Vigil-Attempt",   "Host",
                                               "Transfer-Encoding", NULL};

static int is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Check one header and append "Name: value" to w->headers. The value is
 * never quoted in messages: it usually holds a token. */
static int add_header(struct webhook *w, const char *name, size_t nlen, const char *value,
                      struct vigil_error *err)
{
    char shown[80];
    snprintf(shown, sizeof shown, "%.*s", (int)(nlen < 64 ? nlen : 64), name);
    if (nlen == 0)
        return vigil_error_set(err, VIGIL_EINVAL, "option 'headers': empty header name");
    for (size_t i = 0; i < nlen; i++) {
        if (!is_tchar((unsigned char)name[i]))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'headers': '%s' is not a valid header name", shown);
    }
    for (const char *const *r = reserved_headers; *r; r++) {
        if (strlen(*r) == nlen && strncasecmp(*r, name, nlen) == 0)
            return vigil_error_set(
                err, VIGIL_EINVAL, "option 'headers': %s is set by the plugin%s", *r,
                strcasecmp(*r, "Content-Type") == 0 ? " (use the content_type option)" : "");
    }
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 && *p != '\t')
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'headers': the value of '%s' contains a control "
                                   "character (CR, LF...)",
                                   shown);
    }
    if (w->nheaders == WEBHOOK_HEADERS_MAX)
        return vigil_error_set(err, VIGIL_ETOOBIG, "option 'headers': more than %d headers",
                               WEBHOOK_HEADERS_MAX);
    while (*value == ' ' || *value == '\t')
        value++;
    size_t vlen = strlen(value);
    char *line = malloc(nlen + 2 + vlen + 1);
    if (!line)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    memcpy(line, name, nlen);
    memcpy(line + nlen, ": ", 2);
    memcpy(line + nlen + 2, value, vlen + 1);
    w->headers[w->nheaders++] = line;
    return VIGIL_OK;
}

static int parse_headers(struct webhook *w, const json_t *h, struct vigil_error *err)
{
    w->headers = calloc(WEBHOOK_HEADERS_MAX + 1, sizeof *w->headers);
    if (!w->headers)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    if (!h || json_is_null(h))
        return VIGIL_OK;
    if (json_is_object(h)) {
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)h, name, v)
        {
            if (!json_is_string(v))
                return vigil_error_set(err, VIGIL_EINVAL,
                                       "option 'headers': the value of '%.64s' must be a string",
                                       name);
            int rc = add_header(w, name, strlen(name), json_string_value(v), err);
            if (rc != VIGIL_OK)
                return rc;
        }
        return VIGIL_OK;
    }
    if (json_is_array(h)) {
        size_t i;
        json_t *v;
        json_array_foreach(h, i, v)
        {
            const char *line = json_string_value(v);
            const char *colon = line ? strchr(line, ':') : NULL;
            if (!colon)
                return vigil_error_set(err, VIGIL_EINVAL,
                                       "option 'headers': item %zu must be a \"Name: value\" "
                                       "string",
                                       i);
            int rc = add_header(w, line, (size_t)(colon - line), colon + 1, err);
            if (rc != VIGIL_OK)
                return rc;
        }
        return VIGIL_OK;
    }
    return vigil_error_set(err, VIGIL_EINVAL,
                           "option 'headers': expected an object {\"Name\": \"value\"} or a "
                           "list of \"Name: value\" strings");
}

static void webhook_free(struct webhook *w)
{
    for (size_t i = 0; i < w->nheaders; i++)
        free(w->headers[i]);
    free(w->headers);
    tpl_free(w->tpl);
    free(w);
}

static int webhook_create(const struct vigil_host *host, struct vigil_instance *ins,
                          const void *conf, void **state, struct vigil_error *err)
{
    const struct webhook_conf *c = conf;
    if (!chan_is_web_url(c->url))
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option 'url': expected an http:// or https:// URL");
    if (strpbrk(c->content_type, "\r\n") || !*c->content_type)
        return vigil_error_set(err, VIGIL_EINVAL, "option 'content_type': empty or contains CR/LF");
    if (c->hmac_secret && !*c->hmac_secret)
        return vigil_error_set(err, VIGIL_EINVAL, "option 'hmac_secret': empty");
    struct webhook *w = calloc(1, sizeof *w);
    if (!w)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    w->host = host;
    w->ins = ins;
    w->conf = c;
    int rc = parse_headers(w, c->headers, err);
    if (rc == VIGIL_OK && c->template_src) {
        char why[256];
        rc = tpl_compile(c->template_src, &w->tpl, why, sizeof why);
        if (rc != VIGIL_OK)
            vigil_error_set(err, rc, "option 'template': %s", why);
    }
    if (rc != VIGIL_OK) {
        webhook_free(w);
        return rc;
    }
    w->escape = tpl_escape_for(c->content_type);
    snprintf(w->content_type_line, sizeof w->content_type_line, "Content-Type: %s",
             c->content_type);
    chan_sender_init(&w->sender, host, ins, "webhook", c->url, 0);
    host->log(ins, VIGIL_LOG_INFO, "webhook: %s to %s (%s body%s, timeout %lld ms)",
              method_choices[c->method], w->sender.dest, w->tpl ? "template" : "JSON",
              c->hmac_secret ? ", signed" : "", (long long)c->timeout_ms);
    *state = w;
    return VIGIL_OK;
}

/* The payload as compact JSON; documents without their raw html. */
static char *default_body(const struct vigil_delivery *d, size_t *len)
{
    char *s;
    const json_t *html = json_object_get(d->payload, "html");
    if (html && !(d->kind && strcmp(d->kind, "alert") == 0)) {
        json_t *copy = json_copy((json_t *)d->payload);
        if (!copy)
            return NULL;
        json_object_del(copy, "html");
        s = json_dumps(copy, WEBHOOK_JSON_FLAGS);
        json_decref(copy);
    } else {
        s = json_dumps(d->payload, WEBHOOK_JSON_FLAGS);
    }
    if (s)
        *len = strlen(s);
    return s;
}

static int webhook_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                           void *arg)
{
    struct webhook *w = state;
    const struct webhook_conf *c = w->conf;
    struct chan_outcome bad = {
        .status = VIGIL_FAILED, .retry_after_ms = -1, .label = CHAN_L_REFUSED};
    char *body = NULL;
    size_t len = 0;
    if (w->tpl) {
        struct buf b;
        buf_init(&b, WEBHOOK_BODY_MAX);
        struct tpl_vars vars = {d->id, d->kind, d->attempt};
        if (tpl_render(w->tpl, d->payload, &vars, w->escape, &b) != 0) {
            buf_free(&b);
            snprintf(bad.reason, sizeof bad.reason,
                     "template rendering failed: body larger than %u bytes or out of memory",
                     WEBHOOK_BODY_MAX);
            chan_sender_finish(&w->sender, d->id, d->kind, &bad, done, arg);
            return VIGIL_OK;
        }
        len = b.len;
        body = buf_steal(&b);
        if (!body) {
            body = strdup("");
            if (!body)
                return VIGIL_ENOMEM;
        }
    } else {
        body = default_body(d, &len);
        if (!body)
            return VIGIL_ENOMEM;
    }

    char idem[256], ts[64], kind[64], attempt[48], sig[32 + WEBHOOK_SIG_LEN];
    const char *hdrs[WEBHOOK_HEADERS_MAX + 8];
    size_t n = 0;
    for (size_t i = 0; i < w->nheaders; i++)
        hdrs[n++] = w->headers[i];
    hdrs[n++] = w->content_type_line;
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", d->id ? d->id : "");
    hdrs[n++] = idem;
    snprintf(ts, sizeof ts, "X-Vigil-Timestamp: %lld", (long long)(w->host->now_ms() / 1000));
    hdrs[n++] = ts;
    snprintf(kind, sizeof kind, "X-Vigil-Kind: %s", d->kind ? d->kind : "document");
    hdrs[n++] = kind;
    snprintf(attempt, sizeof attempt, "X-Vigil-Attempt: %u", d->attempt);
    hdrs[n++] = attempt;
    if (c->hmac_secret) {
        char mac[WEBHOOK_SIG_LEN];
        if (webhook_sign(c->hmac_secret, strlen(c->hmac_secret), body, len, mac) != 0) {
            free(body);
            snprintf(bad.reason, sizeof bad.reason, "cannot compute the HMAC signature");
            chan_sender_finish(&w->sender, d->id, d->kind, &bad, done, arg);
            return VIGIL_OK;
        }
        snprintf(sig, sizeof sig, "X-Vigil-Signature: %s", mac);
        hdrs[n++] = sig;
    }
    hdrs[n] = NULL;

    struct vigil_http_request req = {
        .struct_size = sizeof req,
        .method = method_choices[c->method],
        .url = c->url,
        .headers = hdrs,
        .body = body,
        .body_len = len,
        .timeout_ms = c->timeout_ms,
        .max_body = WEBHOOK_RESPONSE_MAX,
        .flags = VIGIL_HTTP_NO_REDIRECTS | VIGIL_HTTP_SECRET_URL,
    };
    int rc = chan_send_http(&w->sender, &req, d, done, arg);
    free(body); /* the client copied it */
    return rc;
}

static void webhook_stop(void *state)
{
    struct webhook *w = state;
    chan_sender_stop(&w->sender);
}

static void webhook_destroy(void *state)
{
    webhook_free(state);
}

static const struct vigil_plugin webhook_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "webhook",
    .version = "1.0.0",
    .description = "POST alerts or documents to an HTTP endpoint (signed, idempotent)",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = webhook_options,
    .conf_size = sizeof(struct webhook_conf),
    .create = webhook_create,
    .stop = webhook_stop,
    .destroy = webhook_destroy,
    .deliver = webhook_deliver,
};

VIGIL_PLUGIN_EXPORT(webhook_plugin)
