/*
 * chan_send: how an HTTP or SMTP answer becomes delivered / retry /
 * failed (the table in docs/channels.md).
 */
#include "chan_send.h"
#include "test.h"

static struct vigil_http_response http(int status, long code, const char *body, int64_t ra)
{
    struct vigil_http_response r = {.struct_size = sizeof r,
                                    .status = status,
                                    .http_code = code,
                                    .retry_after_ms = ra,
                                    .body = body,
                                    .body_len = body ? strlen(body) : 0};
    if (status != VIGIL_OK)
        r.error = "something broke (POST http://127.0.0.1:1/x)";
    return r;
}

static void test_http_success(void)
{
    struct chan_outcome o;
    for (long code = 200; code < 300; code += 4) {
        struct vigil_http_response r = http(VIGIL_OK, code, "ok", -1);
        chan_http_outcome(&r, &o);
        CHECK_INT(o.status, ==, VIGIL_DELIVERED);
        CHECK_INT(o.label, ==, CHAN_L_2XX);
        CHECK_STR(o.reason, "");
    }
    /* a 200 whose answer was too big to keep still reached the receiver */
    struct vigil_http_response big = http(VIGIL_ETOOBIG, 200, NULL, -1);
    chan_http_outcome(&big, &o);
    CHECK_INT(o.status, ==, VIGIL_DELIVERED);
}

static void test_http_retry(void)
{
    static const long codes[] = {408, 425, 429, 500, 502, 503, 504, 599};
    struct chan_outcome o;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        struct vigil_http_response r = http(VIGIL_OK, codes[i], "busy", -1);
        chan_http_outcome(&r, &o);
        CHECK_INT(o.status, ==, VIGIL_RETRY);
        CHECK_INT(o.retry_after_ms, ==, -1);
        char want[32];
        snprintf(want, sizeof want, "HTTP %ld: busy", codes[i]);
        CHECK_STR(o.reason, want);
    }
    struct vigil_http_response r = http(VIGIL_OK, 429, NULL, 7000);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_INT(o.retry_after_ms, ==, 7000);
    CHECK_INT(o.label, ==, CHAN_L_4XX);
    CHECK_STR(o.reason, "HTTP 429");
    r = http(VIGIL_OK, 503, "", 0);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.retry_after_ms, ==, 0);
    CHECK_INT(o.label, ==, CHAN_L_5XX);
}

static void test_http_failed(void)
{
    struct chan_outcome o;
    char body[600];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    memcpy(body, "bad\r\nfield", 10);
    struct vigil_http_response r = http(VIGIL_OK, 400, body, 5000);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_FAILED);
    CHECK_INT(o.label, ==, CHAN_L_4XX);
    CHECK_INT(o.retry_after_ms, ==, -1);
    /* status, then at most 200 bytes of the answer on one line */
    CHECK(strncmp(o.reason, "HTTP 400: bad  field", 20) == 0);
    CHECK_INT(strlen(o.reason), ==, strlen("HTTP 400: ") + 200 + 3);
    CHECK_NOT_CONTAINS(o.reason, "\n");

    static const long codes[] = {401, 403, 404, 410, 413, 422};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        r = http(VIGIL_OK, codes[i], NULL, -1);
        chan_http_outcome(&r, &o);
        CHECK_INT(o.status, ==, VIGIL_FAILED);
    }
    r = http(VIGIL_OK, 302, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_FAILED);
    CHECK_INT(o.label, ==, CHAN_L_3XX);
    CHECK_CONTAINS(o.reason, "HTTP 302: redirect not followed");
    r = http(VIGIL_OK, 101, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_FAILED);
}

static void test_http_transport(void)
{
    struct chan_outcome o;
    struct vigil_http_response r = http(VIGIL_ETIMEDOUT, 0, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_INT(o.label, ==, CHAN_L_TIMEOUT);
    CHECK_CONTAINS(o.reason, "timed out: something broke");
    r = http(VIGIL_EIO, 0, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_INT(o.label, ==, CHAN_L_NETWORK);
    r = http(VIGIL_EPROTO, 0, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_INT(o.label, ==, CHAN_L_PROTOCOL);
    r = http(VIGIL_ETOOBIG, 500, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    r = http(VIGIL_ECANCELED, 0, NULL, -1);
    chan_http_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_STR(o.reason, "canceled by shutdown");
    CHECK_INT(o.label, ==, CHAN_L_CANCELED);
}

static void test_mail(void)
{
    struct chan_outcome o;
    struct vigil_http_response r = http(VIGIL_OK, 250, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_DELIVERED);
    r = http(VIGIL_EPROTO, 451, NULL, -1);
    r.error = "RCPT failed: 451; server said: 451 4.7.1 greylisted (MAIL smtp://x)";
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_INT(o.label, ==, CHAN_L_4XX);
    CHECK_CONTAINS(o.reason, "SMTP 451 (temporary)");
    CHECK_CONTAINS(o.reason, "greylisted");
    r = http(VIGIL_EPROTO, 421, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    r = http(VIGIL_EPROTO, 550, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_FAILED);
    CHECK_INT(o.label, ==, CHAN_L_5XX);
    CHECK_CONTAINS(o.reason, "SMTP 550 (permanent)");
    r = http(VIGIL_EPROTO, 535, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_FAILED);
    /* STARTTLS required, server without it: configuration */
    r = http(VIGIL_EPROTO, 250, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_FAILED);
    CHECK_INT(o.label, ==, CHAN_L_PROTOCOL);
    r = http(VIGIL_ETIMEDOUT, 0, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    r = http(VIGIL_EIO, 0, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    r = http(VIGIL_ECANCELED, 0, NULL, -1);
    chan_mail_outcome(&r, &o);
    CHECK_INT(o.status, ==, VIGIL_RETRY);
    CHECK_STR(o.reason, "canceled by shutdown");
}

int main(void)
{
    RUN(test_http_success);
    RUN(test_http_retry);
    RUN(test_http_failed);
    RUN(test_http_transport);
    RUN(test_mail);
    return test_summary();
}
