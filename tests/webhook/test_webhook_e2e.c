/*
 * webhook and slack sinks run by the vigil binary: a pipeline of the test
 * source `gen` into both, against fixture routes that fail first and then
 * recover. Every document must arrive exactly once after the core's
 * retries, with its id as the idempotency key and a valid signature.
 */
#include <jansson.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <unistd.h>

#include "httpd.h"
#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_recovers_and_delivers_every_document(void)
{
    struct httpd *srv = httpd_start();
    REQUIRE(srv);
    enum { N = 50, HOOK_FAILS = 20, CHAT_FAILS = 5 };
    httpd_route(
        srv, "/hook",
        &(struct httpd_response){.status = 200, .fail_times = HOOK_FAILS, .fail_status = 503});
    httpd_route(srv, "/chat",
                &(struct httpd_response){
                    .status = 200, .body = "ok", .fail_times = CHAT_FAILS, .fail_status = 500});
    char *hook = httpd_url(srv, "/hook"), *chat = httpd_url(srv, "/chat");
    char pipeline[2048];
    snprintf(pipeline, sizeof pipeline,
             "{\"name\": \"e2e\", \"settings\": {\"grace\": \"20s\"},\n"
             " \"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": %d}}],\n"
             " \"sinks\": [\n"
             "  {\"id\": \"hook\", \"plugin\": \"webhook\", \"max_inflight\": 4,\n"
             "   \"retry\": {\"base\": \"10ms\", \"cap\": \"50ms\", \"limit\": 40},\n"
             "   \"options\": {\"url\": \"%s\", \"hmac_secret\": \"${E2E_HOOK_SECRET}\",\n"
             "    \"headers\": {\"Authorization\": \"Bearer ${E2E_TOKEN}\"}}},\n"
             "  {\"id\": \"chat\", \"plugin\": \"slack\",\n"
             "   \"retry\": {\"base\": \"10ms\", \"cap\": \"50ms\", \"limit\": 40},\n"
             "   \"options\": {\"url\": \"%s\", \"username\": \"vigil\"}}]}\n",
             N, hook, chat);
    free(hook);
    free(chat);
    write_file("p.json", pipeline);
    setenv("E2E_HOOK_SECRET", "e2e-secret", 1);
    setenv("E2E_TOKEN", "tok-123", 1);
    char path[512], state[512];
    snprintf(path, sizeof path, "%s/p.json", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    struct proc p;
    char *argv[] = {(char *)vigil, "--plugin-dir", (char *)TEST_PLUGIN_DIR,
                    "run",         path,           "--once",
                    "--state-dir", state,          NULL};
    proc_run(argv, NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    char want[128];
    snprintf(want, sizeof want, "%d documents emitted, %d finished", N, N);
    CHECK_CONTAINS(p.err, want);
    CHECK_NOT_CONTAINS(p.err, "e2e-secret");

    /* the first HOOK_FAILS requests failed; every later one carried a
     * different document, and together they carried all of them */
    size_t total = httpd_request_count(srv, "/hook");
    CHECK_INT(total, ==, N + HOOK_FAILS);
    int seen[N] = {0};
    for (size_t i = HOOK_FAILS; i < total; i++) {
        char key[64];
        if (httpd_request_header(srv, "/hook", i, "Idempotency-Key", key, sizeof key) != 0)
            continue;
        int k = strncmp(key, "doc-", 4) == 0 ? atoi(key + 4) : -1;
        if (k >= 0 && k < N)
            seen[k]++;
    }
    int once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CHECK_INT(once, ==, N);
    /* a receiver can check any of them */
    size_t len = 0;
    char *body = httpd_request_body(srv, "/hook", total - 1, &len);
    char sig[128];
    REQUIRE(body && httpd_request_header(srv, "/hook", total - 1, "X-Vigil-Signature", sig,
                                         sizeof sig) == 0);
    unsigned char mac[32];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), "e2e-secret", 10, (unsigned char *)body, len, mac, &maclen);
    char expect[80] = "sha256=";
    for (unsigned i = 0; i < maclen; i++)
        snprintf(expect + 7 + 2 * i, 3, "%02x", mac[i]);
    CHECK_STR(sig, expect);
    char auth[64];
    httpd_request_header(srv, "/hook", total - 1, "Authorization", auth, sizeof auth);
    CHECK_STR(auth, "Bearer tok-123");
    CHECK_NOT_CONTAINS(p.err, "tok-123");
    json_t *doc = json_loads(body, 0, NULL);
    CHECK(doc && json_string_value(json_object_get(doc, "id")) != NULL);
    json_decref(doc);
    free(body);

    CHECK_INT(httpd_request_count(srv, "/chat"), ==, N + CHAT_FAILS);
    body = httpd_request_body(srv, "/chat", N + CHAT_FAILS - 1, NULL);
    json_t *m = body ? json_loads(body, 0, NULL) : NULL;
    CHECK(m && json_is_array(json_object_get(m, "blocks")));
    CHECK_STR(json_string_value(json_object_get(m, "username")), "vigil");
    json_decref(m);
    free(body);
    proc_free(&p);
    httpd_stop(srv);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil) {
        fprintf(stderr, "VIGIL_BIN is not set\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "/tmp/vigil-test-webhook-e2e-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_recovers_and_delivers_every_document);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
