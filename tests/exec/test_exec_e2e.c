/*
 * exec sink run by the vigil binary: the stage's max_inflight bounds the
 * processes running at once; exit 75 makes the core retry.
 */
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static void test_bounded_concurrency_and_retry(void)
{
    enum { N = 8 };
    char pipeline[2048], path[512], state[512];
    /* each run logs when it started and ended (ns); doc-3 asks for a retry
     * on its first attempt */
    snprintf(pipeline, sizeof pipeline,
             "{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": %d}}],\n"
             " \"sinks\": [{\"id\": \"run\", \"plugin\": \"exec\", \"max_inflight\": 2,\n"
             "   \"retry\": {\"base\": \"10ms\", \"cap\": \"20ms\", \"limit\": 3},\n"
             "   \"options\": {\"argv\": [\"/bin/sh\", \"-c\", \"s=$(date +%%s%%N); cat > "
             "/dev/null; if [ $VIGIL_ALERT_ID = doc-3 ] && [ $VIGIL_ATTEMPT = 1 ]; then exit 75; "
             "fi; sleep 0.2; echo $VIGIL_ALERT_ID $VIGIL_ATTEMPT $s $(date +%%s%%N) >> "
             "%s/runs.log\"]}}]}\n",
             N, dir);
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
    CHECK_CONTAINS(p.err, "exit code 75 (EX_TEMPFAIL)");

    char logp[512], *log = NULL;
    size_t len;
    snprintf(logp, sizeof logp, "%s/runs.log", dir);
    REQUIRE(buf_read_file(logp, 1 << 20, &log, &len) == 0 && log);
    long long start[N * 2], end[N * 2];
    int n = 0, seen[N] = {0}, attempt3 = 0;
    for (char *line = log, *nl; line && *line && n < N * 2; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        int id, attempt;
        if (sscanf(line, "doc-%d %d %lld %lld", &id, &attempt, &start[n], &end[n]) != 4)
            continue;
        if (id >= 0 && id < N)
            seen[id]++;
        if (id == 3)
            attempt3 = attempt;
        n++;
    }
    free(log);
    CHECK_INT(n, ==, N);
    for (int i = 0; i < N; i++)
        CHECK_INT(seen[i], ==, 1);
    CHECK_INT(attempt3, ==, 2);
    /* most runs at the same instant */
    int most = 0;
    for (int i = 0; i < n; i++) {
        int at = 0;
        for (int k = 0; k < n; k++)
            at += start[k] <= start[i] && end[k] > start[i];
        if (at > most)
            most = at;
    }
    CHECK_INT(most, ==, 2);
    proc_free(&p);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-exec-e2e-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_bounded_concurrency_and_retry);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
