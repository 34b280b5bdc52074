/*
 * email sink run by the vigil binary against the SMTP test server: a
 * greylisting server (451 at RCPT for the first transactions) still gets
 * one message per document, each with the Message-ID of its document.
 */
#include <stdlib.h>
#include <unistd.h>

#include "mimecheck.h"
#include "proc.h"
#include "smtpd.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static void test_greylisted_then_delivered(void)
{
    enum { N = 6, FAILS = 3 };
    struct smtpd *srv = smtpd_start(
        &(struct smtpd_config){.fail_times = FAILS, .fail_code = 451, .fail_stage = SMTPD_AT_RCPT});
    REQUIRE(srv);
    char url[64], pipeline[2048], path[512], state[512];
    smtpd_url(srv, url, sizeof url);
    snprintf(
        pipeline, sizeof pipeline,
        "{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": %d}}],\n"
        " \"sinks\": [{\"id\": \"mail\", \"plugin\": \"email\",\n"
        "   \"retry\": {\"base\": \"10ms\", \"cap\": \"50ms\", \"limit\": 10},\n"
        "   \"options\": {\"url\": \"%s\", \"tls\": \"none\", \"from\": \"Vigil <v@example.org>\","
        " \"to\": [\"a@example.org\", \"b@example.org\"]}}]}\n",
        N, url);
    snprintf(path, sizeof path, "%s/p.json", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(pipeline, f);
    fclose(f);
    struct proc p;
    char *argv[] = {(char *)vigil, "--plugin-dir", (char *)TEST_PLUGIN_DIR,
                    "run",         path,           "--once",
                    "--state-dir", state,          NULL};
    proc_run(argv, NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_CONTAINS(p.err, "SMTP 451 (temporary)");
    CHECK_INT(smtpd_message_count(srv), ==, N);
    CHECK_INT(smtpd_transaction_count(srv), ==, N + FAILS);
    int seen[N] = {0};
    for (size_t i = 0; i < N; i++) {
        struct smtpd_message m;
        if (smtpd_get_message(srv, i, &m) != 0)
            continue;
        CHECK_INT(m.nrcpt, ==, 2);
        char *id = mc_header(m.data, "Message-ID");
        int k = -1;
        if (id && sscanf(id, "<vigil.doc-%d@example.org>", &k) == 1 && k >= 0 && k < N)
            seen[k]++;
        free(id);
        smtpd_message_free(&m);
    }
    for (int i = 0; i < N; i++)
        CHECK_INT(seen[i], ==, 1);
    proc_free(&p);
    smtpd_stop(srv);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-email-e2e-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_greylisted_then_delivered);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
