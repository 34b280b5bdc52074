/*
 * file sink run by the vigil binary: every document is a whole line in
 * the file or one of its rotations when `vigil run --once` returns.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static void test_every_line_across_rotations(void)
{
    enum { N = 400 };
    char pipeline[1024], path[512], state[512];
    snprintf(pipeline, sizeof pipeline,
             "{\"sources\": [{\"plugin\": \"gen\", \"options\": {\"count\": %d, \"text_size\": "
             "100}}],\n"
             " \"sinks\": [{\"plugin\": \"file\", \"options\": {\"path\": \"out/alerts.jsonl\","
             " \"max_size\": \"8KB\", \"keep\": 100, \"fsync\": \"batch\"}}]}\n",
             N);
    snprintf(path, sizeof path, "%s/p.json", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs(pipeline, f);
    fclose(f);
    char out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    REQUIRE(mkdir(out, 0755) == 0);
    struct proc p;
    char *argv[] = {(char *)vigil, "--plugin-dir", (char *)TEST_PLUGIN_DIR,
                    "run",         path,           "--once",
                    "--state-dir", state,          NULL};
    proc_run(argv, NULL, 60000, &p);
    CHECK_INT(p.status, ==, 0);
    int seen[N] = {0}, files = 0, bad = 0;
    for (int r = 0; r <= 100; r++) {
        char fp[600];
        if (r == 0)
            snprintf(fp, sizeof fp, "%s/alerts.jsonl", out);
        else
            snprintf(fp, sizeof fp, "%s/alerts.jsonl.%d", out, r);
        FILE *in = fopen(fp, "r");
        if (!in)
            continue;
        files++;
        char line[4096];
        while (fgets(line, sizeof line, in)) {
            json_t *d = json_loads(line, 0, NULL);
            const char *id = json_string_value(json_object_get(d, "id"));
            int k = -1;
            if (!d || !id || sscanf(id, "doc-%d", &k) != 1 || k < 0 || k >= N)
                bad++;
            else
                seen[k]++;
            json_decref(d);
        }
        fclose(in);
    }
    CHECK_INT(bad, ==, 0);
    CHECK_INT(files, >, 5);
    int once = 0;
    for (int i = 0; i < N; i++)
        once += seen[i] == 1;
    CHECK_INT(once, ==, N);
    proc_free(&p);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-file-e2e-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_every_line_across_rotations);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
