#include "chan_send.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_payload.h"

static const char *const http_label_names[CHAN_LABELS] = {"http_2xx", "http_3xx", "http_4xx",
                                                          "http_5xx", "timeout",  "network",
                                                          "protocol", "canceled", "refused"};
static const char *const mail_label_names[CHAN_LABELS] = {"smtp_2xx", NULL,       "smtp_4xx",
                                                          "smtp_5xx", "timeout",  "network",
                                                          "protocol", "canceled", "refused"};

#define CANCELED_REASON "canceled by shutdown"

static void set(struct chan_outcome *o, int status, int label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set(struct chan_outcome *o, int status, int label, const char *fmt, ...)
{
    o->status = status;
    o->label = label;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->reason, sizeof o->reason, fmt, ap);
    va_end(ap);
}

/* ": <first bytes of the answer>" on one line, or "" without a body. */
static const char *quote_body(const struct vigil_http_response *r, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!r->body || !r->body_len)
        return out;
    char line[CHAN_BODY_QUOTE + 8];
    /* the body is NUL-terminated; a NUL inside just ends the quote */
    chan_oneline(r->body, CHAN_BODY_QUOTE, line, sizeof line);
    size_t n = strlen(line);
    while (n && line[n - 1] == ' ')
        line[--n] = '\0';
    if (n)
        snprintf(out, outlen, ": %s", line);
    return out;
}

static void transport(const struct vigil_http_response *r, struct chan_outcome *o)
{
    const char *err = r->error ? r->error : vigil_strerror(r->status);
    switch (r->status) {
    case VIGIL_ECANCELED: set(o, VIGIL_RETRY, CHAN_L_CANCELED, "%s", CANCELED_REASON); break;
    case VIGIL_ETIMEDOUT: set(o, VIGIL_RETRY, CHAN_L_TIMEOUT, "timed out: %s", err); break;
    case VIGIL_EPROTO: set(o, VIGIL_RETRY, CHAN_L_PROTOCOL, "protocol error: %s", err); break;
    default: set(o, VIGIL_RETRY, CHAN_L_NETWORK, "%s", err); break;
    }
}

void chan_http_outcome(const struct vigil_http_response *r, struct chan_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->retry_after_ms = -1;
    long code = r->http_code;
    char quote[CHAN_BODY_QUOTE + 16];
    /* A body over the client's limit still came with a status: a receiver
     * that answered 200 with a huge page has the payload. */
    if (r->status == VIGIL_ETOOBIG && code >= 200 && code < 300) {
        o->status = VIGIL_DELIVERED;
        o->label = CHAN_L_2XX;
        return;
    }
    if (r->status != VIGIL_OK) {
        transport(r, o);
        return;
    }
    if (code >= 200 && code < 300) {
        o->status = VIGIL_DELIVERED;
        o->label = CHAN_L_2XX;
    } else if (code == 408 || code == 425 || code == 429 || (code >= 500 && code < 600)) {
        set(o, VIGIL_RETRY, code >= 500 ? CHAN_L_5XX : CHAN_L_4XX, "HTTP %ld%s", code,
            quote_body(r, quote, sizeof quote));
        o->retry_after_ms = r->retry_after_ms >= 0 ? r->retry_after_ms : -1;
    } else if (code >= 300 && code < 400) {
        set(o, VIGIL_FAILED, CHAN_L_3XX,
            "HTTP %ld: redirect not followed (a POST is never re-sent elsewhere); set url to "
            "the final address",
            code);
    } else if (code >= 400 && code < 500) {
        set(o, VIGIL_FAILED, CHAN_L_4XX, "HTTP %ld%s", code, quote_body(r, quote, sizeof quote));
    } else {
        /* 1xx as a final answer, or a code outside HTTP's range */
        set(o, VIGIL_FAILED, CHAN_L_PROTOCOL, "unexpected HTTP status %ld", code);
    }
}

void chan_mail_outcome(const struct vigil_http_response *r, struct chan_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->retry_after_ms = -1;
    long code = r->http_code;
    const char *err = r->error ? r->error : vigil_strerror(r->status);
    if (r->status == VIGIL_OK) {
        o->status = VIGIL_DELIVERED;
        o->label = CHAN_L_2XX;
    } else if (r->status == VIGIL_EPROTO && code >= 400 && code < 500) {
        set(o, VIGIL_RETRY, CHAN_L_4XX, "SMTP %ld (temporary): %s", code, err);
    } else if (r->status == VIGIL_EPROTO && code >= 500 && code < 600) {
        set(o, VIGIL_FAILED, CHAN_L_5XX, "SMTP %ld (permanent): %s", code, err);
    } else if (r->status == VIGIL_EPROTO) {
        /* STARTTLS required but not offered, or a server that does not
         * speak SMTP: configuration, not luck. */
        set(o, VIGIL_FAILED, CHAN_L_PROTOCOL, "%s", err);
    } else {
        transport(r, o);
    }
}

/* ------------------------------------------------------------------------
 * Sender
 * --------------------------------------------------------------------- */

struct chan_pending {
    struct chan_pending *prev, *next;
    struct chan_sender *s;
    struct vigil_http_call *call;
    vigil_deliver_cb done;
    void *arg;
    int alert;
    char id[160];
};

void chan_sender_init(struct chan_sender *s, const struct vigil_host *host,
                      struct vigil_instance *ins, const char *what, const char *dest_url, int mail)
{
    memset(s, 0, sizeof *s);
    s->host = host;
    s->ins = ins;
    s->what = what;
    s->mail = mail;
    s->url = dest_url;
    chan_url_origin(dest_url, s->dest, sizeof s->dest);
    s->sent = host->counter(ins, "sent", "deliveries the receiver accepted");
    s->retried = host->counter(ins, "retried", "deliveries answered with a temporary failure");
    s->failed = host->counter(ins, "failed", "deliveries refused for good");
    const char *const *names = mail ? mail_label_names : http_label_names;
    for (int i = 0; i < CHAN_LABELS; i++) {
        if (names[i])
            s->by_label[i] = host->counter(ins, names[i], "deliveries by outcome");
    }
}

/* Replace every copy of the full URL in the reason by its origin. */
static void redact(const struct chan_sender *s, struct chan_outcome *o)
{
    size_t ul = s->url ? strlen(s->url) : 0;
    if (!ul)
        return;
    char out[sizeof o->reason];
    size_t n = 0;
    const char *p = o->reason, *hit;
    while ((hit = strstr(p, s->url)) != NULL) {
        n += (size_t)snprintf(out + n, sizeof out - n, "%.*s%s", (int)(hit - p), p, s->dest);
        if (n >= sizeof out)
            n = sizeof out - 1;
        p = hit + ul;
    }
    if (p == o->reason)
        return;
    snprintf(out + n, sizeof out - n, "%s", p);
    memcpy(o->reason, out, sizeof out);
}

static void count(struct chan_sender *s, const struct chan_outcome *o)
{
    struct vigil_counter *c = o->status == VIGIL_DELIVERED ? s->sent
                              : o->status == VIGIL_RETRY   ? s->retried
                                                           : s->failed;
    if (c)
        s->host->counter_add(c, 1);
    if (o->label >= 0 && o->label < CHAN_LABELS && s->by_label[o->label])
        s->host->counter_add(s->by_label[o->label], 1);
}

static void report(struct chan_sender *s, const char *id, int alert, const struct chan_outcome *o,
                   long code)
{
    const char *noun = alert ? "alert" : "document";
    if (o->status == VIGIL_DELIVERED) {
        int level = alert ? VIGIL_LOG_INFO : VIGIL_LOG_DEBUG;
        if (s->host->log_enabled(s->ins, level))
            s->host->log(s->ins, level, "%s: %s %s delivered to %s (%s %ld)", s->what, noun, id,
                         s->dest, s->mail ? "SMTP" : "HTTP", code);
    } else if (o->status == VIGIL_RETRY) {
        s->host->log(s->ins, VIGIL_LOG_WARN, "%s: %s %s to %s: temporary failure, will retry: %s",
                     s->what, noun, id, s->dest, o->reason);
    } else {
        s->host->log(s->ins, VIGIL_LOG_ERROR, "%s: %s %s to %s: failed: %s", s->what, noun, id,
                     s->dest, o->reason);
    }
}

void chan_sender_finish(struct chan_sender *s, const char *id, const char *kind,
                        const struct chan_outcome *o, vigil_deliver_cb done, void *arg)
{
    int alert = kind && strcmp(kind, "alert") == 0;
    count(s, o);
    report(s, id ? id : "?", alert, o, 0);
    done(arg, o->status, o->retry_after_ms, o->status == VIGIL_DELIVERED ? NULL : o->reason);
}

static void unlink_pending(struct chan_sender *s, struct chan_pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        s->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    s->inflight--;
}

static void on_response(void *arg, const struct vigil_http_response *r)
{
    struct chan_pending *p = arg;
    struct chan_sender *s = p->s;
    unlink_pending(s, p);
    struct chan_outcome o;
    if (s->mail)
        chan_mail_outcome(r, &o);
    else
        chan_http_outcome(r, &o);
    redact(s, &o);
    count(s, &o);
    report(s, p->id, p->alert, &o, r->http_code);
    vigil_deliver_cb done = p->done;
    void *darg = p->arg;
    free(p);
    done(darg, o.status, o.retry_after_ms, o.status == VIGIL_DELIVERED ? NULL : o.reason);
}

static int send_common(struct chan_sender *s, const void *req, const struct vigil_delivery *d,
                       vigil_deliver_cb done, void *arg)
{
    if (s->stopping)
        return VIGIL_ESTATE;
    struct chan_pending *p = calloc(1, sizeof *p);
    if (!p)
        return VIGIL_ENOMEM;
    p->s = s;
    p->done = done;
    p->arg = arg;
    p->alert = d->kind && strcmp(d->kind, "alert") == 0;
    chan_oneline(d->id ? d->id : "?", sizeof p->id - 8, p->id, sizeof p->id);
    int rc = s->mail ? s->host->mail_send(s->ins, req, on_response, p, &p->call)
                     : s->host->http_request(s->ins, req, on_response, p, &p->call);
    if (rc != VIGIL_OK) {
        struct chan_outcome o = {.retry_after_ms = -1, .label = CHAN_L_REFUSED};
        o.status = rc == VIGIL_EINVAL ? VIGIL_FAILED : VIGIL_RETRY;
        snprintf(o.reason, sizeof o.reason, "request refused by the %s client: %s",
                 s->mail ? "mail" : "HTTP", vigil_strerror(rc));
        count(s, &o);
        report(s, p->id, p->alert, &o, 0);
        free(p);
        done(arg, o.status, -1, o.reason);
        return VIGIL_OK;
    }
    p->next = s->pending;
    if (s->pending)
        s->pending->prev = p;
    s->pending = p;
    s->inflight++;
    return VIGIL_OK;
}

int chan_send_http(struct chan_sender *s, const struct vigil_http_request *req,
                   const struct vigil_delivery *d, vigil_deliver_cb done, void *arg)
{
    return send_common(s, req, d, done, arg);
}

int chan_send_mail(struct chan_sender *s, const struct vigil_mail_request *req,
                   const struct vigil_delivery *d, vigil_deliver_cb done, void *arg)
{
    if (!s->host->mail_send ||
        s->host->struct_size < offsetof(struct vigil_host, mail_send) + sizeof s->host->mail_send)
        return VIGIL_EUNSUPPORTED;
    return send_common(s, req, d, done, arg);
}

void chan_sender_stop(struct chan_sender *s)
{
    s->stopping = 1;
    /* Callbacks come later, from the loop; each unlinks its own entry. */
    for (struct chan_pending *p = s->pending; p; p = p->next) {
        if (p->call)
            s->host->http_cancel(p->call);
    }
}
