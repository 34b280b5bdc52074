/*
 * The email plugin through the real shared client against the SMTP test
 * server: envelope, headers, both MIME parts, stable Message-IDs, the login
 * from the environment, and the outcome of every kind of answer.
 */
#include <signal.h>

#include <curl/curl.h>

#include "chanhost.h"
#include "mimecheck.h"
#include "smtpd.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_sink_email(const struct vigil_host *host,
                                                        struct vigil_error *err);

static const struct vigil_plugin *plugin;

struct fx {
    struct chanhost h;
    struct smtpd *srv;
    struct chanstage st;
    char url[64];
};

static int fx_open(struct fx *f, const struct smtpd_config *cfg, const char *extra)
{
    memset(f, 0, sizeof *f);
    if (chanhost_init(&f->h) != 0)
        return -1;
    f->srv = smtpd_start(cfg);
    if (!f->srv)
        return -1;
    smtpd_url(f->srv, f->url, sizeof f->url);
    char opts[2048], err[1024];
    snprintf(opts, sizeof opts,
             "{\"url\": \"%s\", \"from\": \"Vigil Alerts <alerts@example.org>\", \"to\": "
             "[\"ops@example.org\", \"Duty Desk <duty@example.net>\"]%s%s}",
             f->url, extra ? ", " : "", extra ? extra : "");
    if (chanstage_create(&f->st, &f->h, plugin, opts, err, sizeof err) != 0) {
        fprintf(stderr, "  create: %s\n", err);
        return -1;
    }
    return 0;
}

static void fx_close(struct fx *f)
{
    chanstage_destroy(&f->st);
    CHECK_INT(chanhost_fini(&f->h), ==, 0);
    smtpd_stop(f->srv);
}

static void deliver(struct fx *f, const char *fixture, const char *id, struct chanresult *r)
{
    json_t *p = chan_fixture(fixture);
    chanstage_deliver(&f->st, r, p, id, "alert", 1, 10000);
    CHECK_INT(r->calls, ==, 1);
    chanresult_clear(r);
    json_decref(p);
}

static void test_alert_mail(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, NULL, "\"tls\": \"none\"") == 0);
    struct chanresult r;
    deliver(&f, "alert.json", "7f3a9c0d12e4b5a6", &r);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    REQUIRE(smtpd_message_count(f.srv) == 1);
    struct smtpd_message m;
    REQUIRE(smtpd_get_message(f.srv, 0, &m) == 0);
    CHECK_STR(m.from, "alerts@example.org");
    REQUIRE(m.nrcpt == 2);
    CHECK_STR(m.rcpt[0], "ops@example.org");
    CHECK_STR(m.rcpt[1], "duty@example.net");
    size_t bare;
    CHECK_INT(mc_max_line(m.data, &bare), <=, 78);
    CHECK_INT(bare, ==, 0);
    char *v = mc_header(m.data, "Subject");
    CHECK_STR(v, "[vigil] [HIGH] Russia acknowledges North Korea troops");
    free(v);
    v = mc_header(m.data, "From");
    CHECK_STR(v, "Vigil Alerts <alerts@example.org>");
    free(v);
    v = mc_header(m.data, "To");
    CHECK_STR(v, "ops@example.org, Duty Desk <duty@example.net>");
    free(v);
    v = mc_header(m.data, "Message-ID");
    CHECK_STR(v, "<vigil.7f3a9c0d12e4b5a6@example.org>");
    free(v);
    v = mc_header(m.data, "X-Vigil-Alert-Id");
    CHECK_STR(v, "7f3a9c0d12e4b5a6");
    free(v);
    v = mc_header(m.data, "Date");
    CHECK(v && strlen(v) == 31 && strcmp(v + 26, "+0000") == 0);
    free(v);
    v = mc_header(m.data, "In-Reply-To");
    CHECK(v == NULL);
    free(v);
    struct mc_part parts[3];
    int n = mc_parts(m.data, parts, 3);
    REQUIRE(n == 2);
    CHECK_STR(parts[0].type, "text/plain; charset=UTF-8");
    CHECK_CONTAINS(parts[0].body, "> Gerasimov confirmed that North Korean servicemen took part");
    CHECK_CONTAINS(parts[0].body, "  https://news.example.net/a/123\r\n");
    CHECK_STR(parts[1].type, "text/html; charset=UTF-8");
    CHECK_CONTAINS(parts[1].body, "<a href=\"https://example.org/world/kursk\">");
    mc_part_free(&parts[0]);
    mc_part_free(&parts[1]);
    smtpd_message_free(&m);
    CHECK_INT(chanhost_counter(&f.h, "sent"), ==, 1);
    CHECK_INT(chanhost_counter(&f.h, "smtp_2xx"), ==, 1);
    char want[128];
    snprintf(want, sizeof want, "alert 7f3a9c0d12e4b5a6 delivered to %s (SMTP 250)", f.url);
    CHECK_CONTAINS(f.h.log.data, want);
    fx_close(&f);
}

static void test_message_ids_and_threads(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, NULL, "\"tls\": \"none\", \"subject_prefix\": \"\"") == 0);
    struct chanresult r;
    json_t *a = chan_fixture("alert.json");
    /* a retry of the same delivery is the same message */
    chanstage_deliver(&f.st, &r, a, "7f3a9c0d12e4b5a6", "alert", 1, 10000);
    chanresult_clear(&r);
    chanstage_deliver(&f.st, &r, a, "7f3a9c0d12e4b5a6", "alert", 2, 10000);
    chanresult_clear(&r);
    json_decref(a);
    deliver(&f, "update.json", "7f3a9c0d12e4b5a6:u23", &r);
    deliver(&f, "alert_special.json", "a1b2c3d4e5f60718", &r);
    REQUIRE(smtpd_message_count(f.srv) == 4);
    struct smtpd_message m[4];
    char *ids[4];
    for (int i = 0; i < 4; i++) {
        smtpd_get_message(f.srv, (size_t)i, &m[i]);
        ids[i] = mc_header(m[i].data, "Message-ID");
    }
    CHECK_STR(ids[0], ids[1]);
    CHECK_STR(ids[2], "<vigil.7f3a9c0d12e4b5a6=3Au23@example.org>");
    CHECK(strcmp(ids[0], ids[3]) != 0);
    char *irt = mc_header(m[2].data, "In-Reply-To");
    CHECK_STR(irt, ids[0]); /* the update threads under the first alert */
    free(irt);
    char *subj = mc_header(m[2].data, "Subject");
    CHECK_STR(subj, "[HIGH] Update: Russia acknowledges North Korea troops (now reported by 23 "
                    "outlets)");
    free(subj);
    /* a non-ASCII subject travels as encoded words and decodes exactly */
    char *raw = mc_header_raw(m[3].data, "Subject");
    CHECK_CONTAINS(raw, "=?UTF-8?B?");
    free(raw);
    subj = mc_header(m[3].data, "Subject");
    CHECK_STR(subj, "[CRITICAL] Kursk: <b>troops</b> & \"allies\" — Überraschung für Сирський");
    free(subj);
    struct mc_part parts[2];
    REQUIRE(mc_parts(m[3].data, parts, 2) == 2);
    CHECK_CONTAINS(parts[0].body, "Олександр Сирський");
    CHECK_CONTAINS(parts[1].body, "&lt;script&gt;");
    mc_part_free(&parts[0]);
    mc_part_free(&parts[1]);
    for (int i = 0; i < 4; i++) {
        free(ids[i]);
        smtpd_message_free(&m[i]);
    }
    fx_close(&f);
}

static void test_temporary_and_permanent(void)
{
    struct fx f;
    REQUIRE(fx_open(&f,
                    &(struct smtpd_config){
                        .fail_times = 2, .fail_code = 451, .fail_stage = SMTPD_AT_RCPT},
                    "\"tls\": \"none\"") == 0);
    struct chanresult r;
    json_t *a = chan_fixture("alert.json");
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        chanstage_deliver(&f.st, &r, a, "id-1", "alert", attempt, 10000);
        CHECK_INT(r.status, ==, attempt < 3 ? VIGIL_RETRY : VIGIL_DELIVERED);
        if (attempt < 3) {
            CHECK_CONTAINS(r.reason, "SMTP 451 (temporary)");
            CHECK_CONTAINS(r.reason, "refused on purpose");
        }
        chanresult_clear(&r);
    }
    CHECK_INT(chanhost_counter(&f.h, "retried"), ==, 2);
    CHECK_INT(chanhost_counter(&f.h, "smtp_4xx"), ==, 2);

    smtpd_configure(f.srv, &(struct smtpd_config){
                               .fail_times = 1, .fail_code = 554, .fail_stage = SMTPD_AT_DATA});
    chanstage_deliver(&f.st, &r, a, "id-2", "alert", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_CONTAINS(r.reason, "SMTP 554 (permanent)");
    chanresult_clear(&r);
    smtpd_configure(f.srv, &(struct smtpd_config){.reject_rcpt = "duty@example.net"});
    chanstage_deliver(&f.st, &r, a, "id-3", "alert", 1, 10000);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_CONTAINS(r.reason, "550");
    CHECK_CONTAINS(r.reason, "duty@example.net");
    chanresult_clear(&r);
    CHECK_INT(chanhost_counter(&f.h, "failed"), ==, 2);
    CHECK_INT(chanhost_counter(&f.h, "smtp_5xx"), ==, 2);
    CHECK_INT(smtpd_message_count(f.srv), ==, 1);
    json_decref(a);
    fx_close(&f);
}

static void test_login_from_environment(void)
{
    setenv("VIGIL_TEST_SMTP_USER", "vigil-bot", 1);
    setenv("VIGIL_TEST_SMTP_PASS", "correct horse battery", 1);
    struct fx f;
    REQUIRE(fx_open(&f,
                    &(struct smtpd_config){.auth_user = "vigil-bot",
                                           .auth_pass = "correct horse battery"},
                    "\"tls\": \"none\", \"username_env\": \"VIGIL_TEST_SMTP_USER\", "
                    "\"password_env\": \"VIGIL_TEST_SMTP_PASS\"") == 0);
    struct chanresult r;
    deliver(&f, "alert.json", "id-1", &r);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    struct smtpd_message m;
    REQUIRE(smtpd_get_message(f.srv, 0, &m) == 0);
    CHECK_STR(m.auth_user, "vigil-bot");
    CHECK_STR(m.auth_pass, "correct horse battery");
    smtpd_message_free(&m);
    CHECK_NOT_CONTAINS(f.h.log.data, "correct horse");
    CHECK_CONTAINS(f.h.log.data, "goes in clear text");
    fx_close(&f);

    /* wrong password: the server's 535 is permanent */
    setenv("VIGIL_TEST_SMTP_PASS", "wrong", 1);
    REQUIRE(fx_open(&f,
                    &(struct smtpd_config){.auth_user = "vigil-bot",
                                           .auth_pass = "correct horse battery"},
                    "\"tls\": \"none\", \"username_env\": \"VIGIL_TEST_SMTP_USER\", "
                    "\"password_env\": \"VIGIL_TEST_SMTP_PASS\"") == 0);
    deliver(&f, "alert.json", "id-1", &r);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_CONTAINS(r.reason, "SMTP 535");
    fx_close(&f);
    unsetenv("VIGIL_TEST_SMTP_USER");
    unsetenv("VIGIL_TEST_SMTP_PASS");
}

static void test_tls_default_is_required(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, NULL, NULL) == 0);
    struct chanresult r;
    deliver(&f, "alert.json", "id-1", &r);
    CHECK_INT(r.status, ==, VIGIL_FAILED);
    CHECK_CONTAINS(r.reason, "TLS required but not available");
    CHECK_INT(smtpd_message_count(f.srv), ==, 0);
    fx_close(&f);
    REQUIRE(fx_open(&f, NULL, "\"tls\": \"try\"") == 0);
    deliver(&f, "alert.json", "id-1", &r);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    fx_close(&f);
}

static void test_timeout_and_stop(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, &(struct smtpd_config){.delay_ms = 1500},
                    "\"tls\": \"none\", \"timeout\": \"300ms\"") == 0);
    struct chanresult r;
    deliver(&f, "alert.json", "id-1", &r);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_CONTAINS(r.reason, "timed out");
    fx_close(&f);

    REQUIRE(fx_open(&f, &(struct smtpd_config){.delay_ms = 3000}, "\"tls\": \"none\"") == 0);
    json_t *a = chan_fixture("alert.json");
    CHECK_INT(chanstage_start(&f.st, &r, a, "id-1", "alert", 1), ==, VIGIL_OK);
    chanhost_run_for(&f.h, 100);
    CHECK_INT(r.calls, ==, 0);
    chanstage_stop(&f.st);
    CHECK_INT(chanstage_wait(&f.st, &r, 1, 5000), ==, 0);
    CHECK_INT(r.status, ==, VIGIL_RETRY);
    CHECK_STR(r.reason, "canceled by shutdown");
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);
}

static void expect_create_error(const char *opts, const char *want)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct chanstage st;
    char err[1024] = "";
    CHECK_INT(chanstage_create(&st, &h, plugin, opts, err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, want);
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

static void test_bad_options(void)
{
    /* at most 100 recipients */
    struct buf to;
    buf_init(&to, 0);
    buf_append_str(&to, "{\"url\": \"smtp://h\", \"from\": \"a@b.org\", \"to\": [");
    for (int i = 0; i < 101; i++)
        buf_printf(&to, "%s\"r%d@example.org\"", i ? ", " : "", i);
    buf_append_str(&to, "]}");
    expect_create_error(to.data, "must be between 1 and 100 items");
    buf_free(&to);
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"a@b.org\"}",
                        "missing required option 'to'");
    expect_create_error("{\"url\": \"http://h\", \"from\": \"a@b.org\", \"to\": \"c@d.org\"}",
                        "option 'url': expected smtp://host[:port] or smtps://host[:port]");
    expect_create_error("{\"url\": \"smtp://u:p@h\", \"from\": \"a@b.org\", \"to\": \"c@d.org\"}",
                        "no credentials in the URL");
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"not an address\", \"to\": "
                        "\"c@d.org\"}",
                        "option 'from': \"not an address\" is not");
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"a@b.org\", \"to\": [\"c@d.org\", "
                        "\"x <y>\"]}",
                        "option 'to': item 1, \"x <y>\", is not");
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"a@b.org\", \"to\": []}", "to");
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"a@b.org\", \"to\": \"c@d.org\", "
                        "\"username_env\": \"VIGIL_TEST_NOPE_USER\"}",
                        "options 'username_env' and 'password_env' go together");
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"a@b.org\", \"to\": \"c@d.org\", "
                        "\"username_env\": \"VIGIL_TEST_NOPE_USER\", \"password_env\": "
                        "\"VIGIL_TEST_NOPE_PASS\"}",
                        "option 'username_env': environment variable VIGIL_TEST_NOPE_USER is "
                        "not set");
    expect_create_error("{\"url\": \"smtp://h\", \"from\": \"a@b.org\", \"to\": \"c@d.org\", "
                        "\"tls\": \"always\"}",
                        "tls");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    plugin = vigil_plugin_init_sink_email(NULL, NULL);
    RUN(test_alert_mail);
    RUN(test_message_ids_and_threads);
    RUN(test_temporary_and_permanent);
    RUN(test_login_from_environment);
    RUN(test_tls_default_is_required);
    RUN(test_timeout_and_stop);
    RUN(test_bad_options);
    curl_global_cleanup();
    return test_summary();
}
