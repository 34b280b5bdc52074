/*
 * chan_send - one delivery over the host's shared client (HTTP or SMTP),
 * turned into a sink outcome; shared by webhook, slack and email.
 *
 * The outcome mapping is pure (chan_http_outcome, chan_mail_outcome) and
 * unit-tested on its own. struct chan_sender keeps the deliveries in
 * flight so stop() can cancel them, counts every outcome with the host's
 * counters, and logs one line per delivery naming the destination (its
 * origin only, never a token) and the delivery id.
 *
 * Threads: loop thread only, like the sink hooks.
 */
#ifndef VIGIL_CHAN_SEND_H
#define VIGIL_CHAN_SEND_H

#include <stdint.h>

#include "vigil/plugin.h"

#define CHAN_REASON_MAX 512
/* Response bytes quoted in a failure reason. */
#define CHAN_BODY_QUOTE 200

/* Counters by outcome, besides sent/retried/failed. Fixed names, so the
 * metrics are the same for every stage. */
enum chan_label {
    CHAN_L_2XX = 0, /* http_2xx or smtp_2xx */
    CHAN_L_3XX,     /* http_3xx: redirect not followed */
    CHAN_L_4XX,     /* http_4xx / smtp_4xx */
    CHAN_L_5XX,     /* http_5xx / smtp_5xx */
    CHAN_L_TIMEOUT,
    CHAN_L_NETWORK,  /* connect, DNS, TLS, reset */
    CHAN_L_PROTOCOL, /* malformed answer, TLS unavailable */
    CHAN_L_CANCELED, /* stop() or the client closing */
    CHAN_L_REFUSED,  /* the client refused the request (bad header, queue full) */
    CHAN_LABELS
};

struct chan_outcome {
    int status;                   /* VIGIL_DELIVERED, VIGIL_RETRY, VIGIL_FAILED */
    int64_t retry_after_ms;       /* the receiver's Retry-After, or -1 */
    int label;                    /* enum chan_label */
    char reason[CHAN_REASON_MAX]; /* empty when delivered */
};

/*
 * HTTP: 2xx delivered; 408, 425, 429 and 5xx retry (with Retry-After when
 * sent); other 4xx failed, quoting the status and the first 200 bytes of
 * the answer; 3xx failed (redirects are not followed for POST); timeouts,
 * network and protocol errors retry; a body over the size limit counts as
 * the status it came with; canceled retries ("canceled by shutdown").
 */
void chan_http_outcome(const struct vigil_http_response *r, struct chan_outcome *out);

/*
 * SMTP (core_http_mail semantics): accepted delivered; a 4xx reply retries
 * (greylisting, mailbox busy, 421 closing); a 5xx reply failed; STARTTLS
 * required but unavailable failed; timeouts and network errors retry;
 * canceled retries.
 */
void chan_mail_outcome(const struct vigil_http_response *r, struct chan_outcome *out);

struct chan_pending;

struct chan_sender {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const char *what; /* "webhook", "slack", "email": log prefix */
    const char *url;  /* the destination (borrowed from the conf); never
                         shown: reasons get it replaced by dest */
    char dest[256];   /* origin of the destination, for logs */
    int mail;         /* 1 = SMTP, 0 = HTTP */
    int stopping;
    struct chan_pending *pending; /* deliveries in flight */
    size_t inflight;
    struct vigil_counter *sent, *retried, *failed;
    struct vigil_counter *by_label[CHAN_LABELS];
};

/* Set up counters (create() time, loop thread). dest_url (borrowed: it
 * must outlive the sender) is shown by its origin only, in logs and in
 * reasons (the client's error texts quote whole URLs, tokens included).
 * Never fails: a missing counter is simply not counted. */
void chan_sender_init(struct chan_sender *s, const struct vigil_host *host,
                      struct vigil_instance *ins, const char *what, const char *dest_url, int mail);

/*
 * Start one delivery: the request (borrowed; the client copies it) goes
 * out through host->http_request or host->mail_send, and done(arg, status,
 * retry_after_ms, reason) is called exactly once, from the loop. A request
 * the client refuses is answered at once (before this returns): failed for
 * VIGIL_EINVAL, retry otherwise. Returns VIGIL_OK (done will be called),
 * or VIGIL_ENOMEM / VIGIL_ESTATE (stopping) without calling done.
 */
int chan_send_http(struct chan_sender *s, const struct vigil_http_request *req,
                   const struct vigil_delivery *d, vigil_deliver_cb done, void *arg);
int chan_send_mail(struct chan_sender *s, const struct vigil_mail_request *req,
                   const struct vigil_delivery *d, vigil_deliver_cb done, void *arg);

/* Record an outcome decided without the network (a payload that cannot be
 * rendered...): counts, logs and calls done. */
void chan_sender_finish(struct chan_sender *s, const char *id, const char *kind,
                        const struct chan_outcome *o, vigil_deliver_cb done, void *arg);

/* stop(): no new deliveries; every one in flight is canceled and its done
 * runs (from the loop, later) with VIGIL_RETRY, "canceled by shutdown". */
void chan_sender_stop(struct chan_sender *s);

#endif
