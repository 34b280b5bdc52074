/*
 * core_http_mail: mail through the shared client against the SMTP test
 * server: envelopes, exact message bytes, authentication, refusals at each
 * step, TLS policy, timeouts, cancel, concurrency.
 */
#include <signal.h>

#include <curl/curl.h>

#include "chanhost.h"
#include "http.h"
#include "smtpd.h"
#include "test.h"

struct res {
    int calls;
    int status;
    long code;
    char error[1024];
    int body_null;
};

static void on_mail(void *arg, const struct vigil_http_response *r)
{
    struct res *x = arg;
    x->calls++;
    x->status = r->status;
    x->code = r->http_code;
    x->body_null = r->body == NULL;
    snprintf(x->error, sizeof x->error, "%s", r->error ? r->error : "");
}

static const char *const two_rcpt[] = {"ops@example.org", "duty@example.net", NULL};

/* A message with lines that need dot-stuffing. */
static const char message[] = "From: a@example.org\r\nTo: ops@example.org\r\nSubject: hi\r\n\r\n"
                              "line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n";

static struct vigil_mail_request req_for(const char *url)
{
    struct vigil_mail_request r = {.struct_size = sizeof r,
                                   .url = url,
                                   .from = "alerts@example.org",
                                   .to = two_rcpt,
                                   .tls = VIGIL_MAIL_TLS_NONE,
                                   .message = message,
                                   .message_len = sizeof message - 1,
                                   .timeout_ms = 5000};
    return r;
}

static int send_and_wait(struct chanhost *h, const struct vigil_mail_request *req, struct res *x)
{
    memset(x, 0, sizeof *x);
    int rc = core_http_mail(h->http, req, on_mail, x, NULL);
    if (rc == VIGIL_OK)
        chanhost_run_until(h, &x->calls, 10000);
    return rc;
}

static void test_send_exact_message(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct smtpd *s = smtpd_start(NULL);
    REQUIRE(s);
    char url[64];
    smtpd_url(s, url, sizeof url);
    struct vigil_mail_request req = req_for(url);
    struct res x;
    CHECK_INT(send_and_wait(&h, &req, &x), ==, VIGIL_OK);
    CHECK_INT(x.calls, ==, 1);
    CHECK_INT(x.status, ==, VIGIL_OK);
    CHECK_INT(x.code, ==, 250);
    CHECK(x.body_null);
    REQUIRE(smtpd_message_count(s) == 1);
    struct smtpd_message m;
    REQUIRE(smtpd_get_message(s, 0, &m) == 0);
    CHECK_STR(m.from, "alerts@example.org");
    CHECK_INT(m.nrcpt, ==, 2);
    CHECK_STR(m.rcpt[0], "ops@example.org");
    CHECK_STR(m.rcpt[1], "duty@example.net");
    /* dot-stuffed on the wire, byte-identical after */
    CHECK_INT(m.len, ==, sizeof message - 1);
    CHECK_STR(m.data, message);
    CHECK(m.auth_user == NULL);
    smtpd_message_free(&m);
    struct core_http_stats st;
    core_http_stats(h.http, &st);
    CHECK_INT(st.outcome[CORE_HTTP_OUT_2XX], ==, 1);
    /* a second message may reuse the connection; both arrive */
    CHECK_INT(send_and_wait(&h, &req, &x), ==, VIGIL_OK);
    CHECK_INT(x.status, ==, VIGIL_OK);
    CHECK_INT(smtpd_message_count(s), ==, 2);
    CHECK_INT(chanhost_fini(&h), ==, 0);
    smtpd_stop(s);
}

static void test_refusals(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct smtpd *s = smtpd_start(NULL);
    REQUIRE(s);
    char url[64];
    smtpd_url(s, url, sizeof url);
    struct vigil_mail_request req = req_for(url);
    struct res x;
    static const struct {
        int stage, code;
    } cases[] = {{SMTPD_AT_MAIL, 451}, {SMTPD_AT_RCPT, 452}, {SMTPD_AT_DATA, 451},
                 {SMTPD_AT_MAIL, 550}, {SMTPD_AT_RCPT, 550}, {SMTPD_AT_DATA, 554}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smtpd_configure(s, &(struct smtpd_config){.fail_times = 1,
                                                  .fail_code = cases[i].code,
                                                  .fail_stage = cases[i].stage});
        send_and_wait(&h, &req, &x);
        CHECK_INT(x.status, ==, VIGIL_EPROTO);
        CHECK_INT(x.code, ==, cases[i].code);
        CHECK_CONTAINS(x.error, "refused on purpose"); /* the server's own words */
        CHECK_CONTAINS(x.error, url);
        /* the next transaction goes through */
        send_and_wait(&h, &req, &x);
        CHECK_INT(x.status, ==, VIGIL_OK);
    }
    CHECK_INT(smtpd_message_count(s), ==, 6);

    smtpd_configure(s, &(struct smtpd_config){.reject_rcpt = "duty@example.net"});
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_EPROTO);
    CHECK_INT(x.code, ==, 550);
    CHECK_CONTAINS(x.error, "duty@example.net");
    CHECK_INT(smtpd_message_count(s), ==, 6);
    CHECK_INT(chanhost_fini(&h), ==, 0);
    smtpd_stop(s);
}

static void test_auth(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct smtpd *s =
        smtpd_start(&(struct smtpd_config){.auth_user = "vigil", .auth_pass = "p4ss word"});
    REQUIRE(s);
    char url[64];
    smtpd_url(s, url, sizeof url);
    struct vigil_mail_request req = req_for(url);
    struct res x;
    send_and_wait(&h, &req, &x); /* no credentials */
    CHECK_INT(x.status, ==, VIGIL_EPROTO);
    CHECK_INT(x.code, ==, 530);
    req.username = "vigil";
    req.password = "wrong";
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_EPROTO);
    CHECK_INT(x.code, ==, 535);
    CHECK_NOT_CONTAINS(x.error, "wrong");
    req.password = "p4ss word";
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_OK);
    struct smtpd_message m;
    REQUIRE(smtpd_get_message(s, 0, &m) == 0);
    CHECK_STR(m.auth_user, "vigil");
    CHECK_STR(m.auth_pass, "p4ss word");
    smtpd_message_free(&m);
    CHECK_INT(chanhost_fini(&h), ==, 0);
    smtpd_stop(s);
}

static void test_tls_policy(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct smtpd *s = smtpd_start(NULL);
    REQUIRE(s);
    char url[64];
    smtpd_url(s, url, sizeof url);
    struct vigil_mail_request req = req_for(url);
    struct res x;
    req.tls = VIGIL_MAIL_TLS_REQUIRED; /* the test server offers no STARTTLS */
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_EPROTO);
    CHECK(x.code < 400);
    CHECK_CONTAINS(x.error, "TLS required but not available");
    CHECK_INT(smtpd_message_count(s), ==, 0);
    req.tls = VIGIL_MAIL_TLS_TRY;
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_OK);
    CHECK_INT(smtpd_message_count(s), ==, 1);
    CHECK_INT(chanhost_fini(&h), ==, 0);
    smtpd_stop(s);
}

static void test_timeout_refused_cancel(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct smtpd *s = smtpd_start(&(struct smtpd_config){.delay_ms = 1500});
    REQUIRE(s);
    char url[64];
    smtpd_url(s, url, sizeof url);
    struct vigil_mail_request req = req_for(url);
    req.timeout_ms = 300;
    struct res x;
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_ETIMEDOUT);
    CHECK_CONTAINS(x.error, "(MAIL smtp://127.0.0.1:");

    req.timeout_ms = 10000;
    memset(&x, 0, sizeof x);
    struct vigil_http_call *call = NULL;
    REQUIRE(core_http_mail(h.http, &req, on_mail, &x, &call) == VIGIL_OK);
    chanhost_run_for(&h, 100);
    CHECK_INT(x.calls, ==, 0);
    core_http_cancel(call);
    CHECK_INT(x.calls, ==, 0); /* never inside the cancel */
    chanhost_run_until(&h, &x.calls, 2000);
    CHECK_INT(x.calls, ==, 1);
    CHECK_INT(x.status, ==, VIGIL_ECANCELED);
    smtpd_stop(s);

    struct smtpd *gone = smtpd_start(NULL);
    REQUIRE(gone);
    smtpd_url(gone, url, sizeof url);
    smtpd_stop(gone);
    req = req_for(url);
    send_and_wait(&h, &req, &x);
    CHECK_INT(x.status, ==, VIGIL_EIO);
    CHECK_INT(x.code, ==, 0);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

static void test_bad_requests_refused(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct res x = {0};
    const char *const none[] = {NULL};
    const char *const bad_rcpt[] = {"ok@example.org", "two words@example.org", NULL};
    struct vigil_mail_request req = req_for("smtp://127.0.0.1:25");
    struct vigil_mail_request r;

    r = req;
    r.url = "http://127.0.0.1/";
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.url = "smtp://user:pw@127.0.0.1/";
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.from = "a b@example.org";
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.from = "<a@example.org>";
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.to = none;
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.to = bad_rcpt;
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.message_len = 0;
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.tls = 9;
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.username = "u\r\nRSET";
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    r = req;
    r.struct_size = 8;
    CHECK_INT(core_http_mail(h.http, &r, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    CHECK_INT(core_http_mail(h.http, &req, NULL, &x, NULL), ==, VIGIL_EINVAL);
    chanhost_run_for(&h, 30);
    CHECK_INT(x.calls, ==, 0);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

static void test_parallel_capped(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct smtpd *s = smtpd_start(&(struct smtpd_config){.delay_ms = 5});
    REQUIRE(s);
    char url[64];
    smtpd_url(s, url, sizeof url);
    struct vigil_mail_request req = req_for(url);
    enum { N = 30 };
    struct res x[N];
    memset(x, 0, sizeof x);
    for (int i = 0; i < N; i++)
        CHECK_INT(core_http_mail(h.http, &req, on_mail, &x[i], NULL), ==, VIGIL_OK);
    for (int i = 0; i < N; i++)
        chanhost_run_until(&h, &x[i].calls, 20000);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += x[i].calls == 1 && x[i].status == VIGIL_OK;
    CHECK_INT(ok, ==, N);
    CHECK_INT(smtpd_message_count(s), ==, N);
    /* max_per_host (6) bounds the connections to one server */
    CHECK_INT(smtpd_connection_count(s), <=, 6);
    CHECK_INT(chanhost_fini(&h), ==, 0);
    smtpd_stop(s);
}

/* Envelope caps: at most 1000 recipients, addresses of at most 320 bytes
 * (RFC 5321: 64 local + @ + 255 domain); one more of either is refused
 * before anything is queued (the reason is logged at debug level). */
static void test_envelope_caps(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct vigil_mail_request req = req_for("smtp://127.0.0.1:1");
    char **to = calloc(1002, sizeof *to);
    REQUIRE(to);
    for (int i = 0; i < 1001; i++) {
        to[i] = malloc(32);
        snprintf(to[i], 32, "r%d@example.org", i);
    }
    struct res x = {0};
    req.to = (const char *const *)to;
    CHECK_INT(core_http_mail(h.http, &req, on_mail, &x, NULL), ==, VIGIL_EINVAL);
    free(to[1000]);
    to[1000] = NULL; /* exactly 1000: accepted (and fails later: nothing listens on port 1) */
    CHECK_INT(core_http_mail(h.http, &req, on_mail, &x, NULL), ==, VIGIL_OK);
    chanhost_run_until(&h, &x.calls, 10000);
    CHECK_INT(x.calls, ==, 1);
    CHECK_INT(x.status, ==, VIGIL_EIO);
    for (int i = 0; i < 1000; i++)
        free(to[i]);
    free(to);

    char addr[400];
    const char *const one[] = {addr, NULL};
    req = req_for("smtp://127.0.0.1:1");
    memset(addr, 'a', 308);
    snprintf(addr + 308, sizeof addr - 308, "@example.org"); /* 320 bytes */
    req.to = one;
    struct res y = {0};
    CHECK_INT(core_http_mail(h.http, &req, on_mail, &y, NULL), ==, VIGIL_OK);
    chanhost_run_until(&h, &y.calls, 10000);
    CHECK_INT(y.calls, ==, 1);
    memset(addr, 'a', 309);
    snprintf(addr + 309, sizeof addr - 309, "@example.org"); /* 321 bytes */
    CHECK_INT(core_http_mail(h.http, &req, on_mail, &y, NULL), ==, VIGIL_EINVAL);
    req.to = two_rcpt;
    req.from = addr;
    CHECK_INT(core_http_mail(h.http, &req, on_mail, &y, NULL), ==, VIGIL_EINVAL);
    chanhost_run_for(&h, 30);
    CHECK_INT(y.calls, ==, 1);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    RUN(test_send_exact_message);
    RUN(test_refusals);
    RUN(test_auth);
    RUN(test_tls_policy);
    RUN(test_timeout_refused_cancel);
    RUN(test_bad_requests_refused);
    RUN(test_parallel_capped);
    RUN(test_envelope_caps);
    curl_global_cleanup();
    return test_summary();
}
