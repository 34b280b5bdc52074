/*
 * Alert grouping across workers (core/alerts.c with a claim hook): a new
 * story is claimed cluster-wide before its alert is created; a story owned
 * by another worker records nothing here; a cluster that cannot answer
 * fails the accept so the documents wait. The hook is faked: the cluster
 * itself is tested in test_cluster.c and end to end in test_tiers.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "outbox.h"
#include "store.h"
#include "test.h"

struct fake {
    int answer;
    int calls;
    char key[64], owner[64];
    int64_t ttl;
};

static int fake_claim(void *arg, const char *key, const char *owner, int64_t ttl_ms)
{
    struct fake *f = arg;
    f->calls++;
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->owner, sizeof f->owner, "%s", owner);
    f->ttl = ttl_ms;
    return f->answer;
}

static char dir[128];
static struct core_log quiet;

static json_t *doc_with_event(const char *id, const char *object)
{
    return json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}", "id", id, "published",
                     "2024-11-04T10:00:00Z", "events", "type", "ack", "actor", "RU", "object",
                     object, "title", "t");
}

static int accept_one(struct core_outbox *o, const struct core_alert_target *t, json_t *doc)
{
    if (core_outbox_begin(o) != VIGIL_OK)
        return -100;
    int rc = core_alerts_accept(o, t, doc, 1730714400000LL);
    if (rc >= 0)
        core_outbox_commit(o);
    else
        core_outbox_rollback(o);
    return rc;
}

static int64_t pending(struct core_outbox *o)
{
    int64_t n = 0;
    core_outbox_pending(o, "work", "alerts", &n, NULL);
    return n;
}

static void test_claim_decides(void)
{
    struct core_store *s = NULL;
    struct core_outbox *o = NULL;
    struct vigil_error err = {0};
    REQUIRE(core_store_open(dir, &quiet, &s, &err) == VIGIL_OK);
    REQUIRE(core_outbox_open(s, 0, &o, &err) == VIGIL_OK);

    const char *spec_text = "{\"key\": [\"type\", \"actor\", \"object\"], \"updates\": []}";
    struct jdoc jd;
    struct diags d = {0};
    REQUIRE(jdoc_load_buffer(&jd, "policy", spec_text, strlen(spec_text), &d) == 0);
    struct core_alert_policy *p = NULL;
    REQUIRE(core_alert_policy_compile(jd.root, &jd, "", &p, &d) == 0);

    struct fake f = {0};
    struct core_alert_target t = {"work", "alerts", p, NULL, fake_claim, &f};

    /* The cluster cannot answer: the accept fails, nothing is recorded, the
     * documents will be offered again. */
    f.answer = VIGIL_EIO;
    json_t *d1 = doc_with_event("doc-1", "UA");
    CHECK_INT(accept_one(o, &t, d1), ==, VIGIL_EIO);
    CHECK_INT(pending(o), ==, 0);
    CHECK_INT(f.calls, ==, 1);

    /* Another worker owns the story: nothing here, no error. */
    f.answer = VIGIL_EEXIST;
    CHECK_INT(accept_one(o, &t, d1), ==, 0);
    CHECK_INT(pending(o), ==, 0);

    /* Ours: one alert; the claim names the alert id, the document as owner
     * and the policy window as lifetime. */
    f.answer = VIGIL_OK;
    CHECK_INT(accept_one(o, &t, d1), ==, 1);
    CHECK_INT(pending(o), ==, 1);
    CHECK(strncmp(f.key, "alert:", 6) == 0);
    CHECK_INT(strlen(f.key), ==, 6 + 16);
    CHECK_STR(f.owner, "doc-1");
    CHECK_INT(f.ttl, ==, p->window_ms);

    /* A follow-up of a story this worker owns is local: no claim. */
    int before = f.calls;
    json_t *d2 = doc_with_event("doc-2", "UA");
    CHECK_INT(accept_one(o, &t, d2), ==, 0);
    CHECK_INT(f.calls, ==, before);
    CHECK_INT(pending(o), ==, 1);

    /* A new story claims again. */
    json_t *d3 = doc_with_event("doc-3", "PL");
    CHECK_INT(accept_one(o, &t, d3), ==, 1);
    CHECK_INT(f.calls, ==, before + 1);
    CHECK_INT(pending(o), ==, 2);

    json_decref(d1);
    json_decref(d2);
    json_decref(d3);
    core_alert_policy_free(p);
    jdoc_free(&jd);
    diags_free(&d);
    core_outbox_close(o);
    core_store_close(s);
}

int main(void)
{
    core_log_init(&quiet);
    quiet.level = VIGIL_LOG_ERROR;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-alertclaims-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_claim_decides);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
