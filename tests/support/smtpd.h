/*
 * smtpd - a small real SMTP server for tests (plain, no TLS), with fault
 * injection.
 *
 * It listens on 127.0.0.1 (ephemeral port); an accept thread hands every
 * connection to a thread of its own. It speaks the ESMTP libcurl needs:
 * EHLO/HELO, AUTH PLAIN (when credentials are configured), MAIL FROM,
 * RCPT TO, DATA (dot-unstuffed), RSET, NOOP, QUIT; anything else gets 502.
 * Every accepted message is recorded with its envelope. All functions are
 * safe to call from the test thread while the server runs (one mutex).
 *
 *   struct smtpd *s = smtpd_start();
 *   char url[64]; smtpd_url(s, url, sizeof url);     // "smtp://127.0.0.1:PORT"
 *   ... send mail ...
 *   REQUIRE(smtpd_wait_messages(s, 1, 5000) == 0);
 *   struct smtpd_message m; smtpd_get_message(s, 0, &m); ... smtpd_message_free(&m);
 *   smtpd_stop(s);
 */
#ifndef VIGIL_TEST_SMTPD_H
#define VIGIL_TEST_SMTPD_H

#include <stddef.h>

struct smtpd;

/* Where an injected failure answers. */
enum smtpd_stage {
    SMTPD_AT_MAIL = 0, /* the MAIL FROM command */
    SMTPD_AT_RCPT = 1, /* every RCPT TO command */
    SMTPD_AT_DATA = 2  /* the end of the message (after the final dot) */
};

/* Zero-initialise; every field is optional. Strings are copied. */
struct smtpd_config {
    int fail_times;          /* the first fail_times transactions get ... */
    int fail_code;           /* ... this reply code (0 = 451) ... */
    int fail_stage;          /* ... at this stage (enum smtpd_stage) */
    const char *reject_rcpt; /* RCPT TO this address always gets 550 */
    int delay_ms;            /* wait this long before every reply */
    const char *auth_user;   /* when set: advertise AUTH PLAIN and refuse */
    const char *auth_pass;   /*   MAIL before a successful login (530) */
    size_t max_message;      /* advertised SIZE and enforced (552); 0 = 10 MB */
};

/* One accepted message. smtpd_get_message() fills a deep copy. */
struct smtpd_message {
    char *helo;  /* EHLO/HELO argument */
    char *from;  /* MAIL FROM address, without < > */
    char **rcpt; /* RCPT TO addresses, without < > */
    size_t nrcpt;
    char *data; /* the message as received, dot-unstuffed, CRLF kept,
                   without the final ".\r\n"; NUL-terminated */
    size_t len;
    char *auth_user; /* who logged in on that session, NULL if nobody */
    char *auth_pass;
};

/* NULL on failure (message on stderr). cfg may be NULL. */
struct smtpd *smtpd_start(const struct smtpd_config *cfg);
/* Replace the configuration (fault counters restart). */
void smtpd_configure(struct smtpd *s, const struct smtpd_config *cfg);
/* Stops every thread, closes every connection, frees everything. */
void smtpd_stop(struct smtpd *s);

int smtpd_port(const struct smtpd *s);
/* "smtp://127.0.0.1:PORT" into out. */
void smtpd_url(const struct smtpd *s, char *out, size_t outlen);

size_t smtpd_message_count(struct smtpd *s);
/* Transactions started (MAIL FROM accepted or refused), all sessions. */
size_t smtpd_transaction_count(struct smtpd *s);
/* Connections accepted. */
size_t smtpd_connection_count(struct smtpd *s);
/* Wait (at most timeout_ms) until n messages were accepted; 0 or -1. */
int smtpd_wait_messages(struct smtpd *s, size_t n, int timeout_ms);
/* Wait until n transactions were started; 0 or -1. */
int smtpd_wait_transactions(struct smtpd *s, size_t n, int timeout_ms);
/* Copy the i-th accepted message; 0, or -1 when there is none. */
int smtpd_get_message(struct smtpd *s, size_t i, struct smtpd_message *out);
void smtpd_message_free(struct smtpd_message *m);

#endif
