/*
 * The stdout sink's summary caps, through the vigil binary: the text is
 * cut at text_chars characters (on a UTF-8 boundary, "..." added), at most
 * 8 entities are named (then "(+N more)"), evidence is cut at 400
 * characters; text_chars 0 prints no text.
 */
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static char *path_of(const char *name)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* One document: 100 "é" of text, 10 entities, 500 bytes of evidence. */
static char *document(void)
{
    char text[256], evidence[512];
    for (int i = 0; i < 100; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    text[200] = '\0';
    memset(evidence, 'v', 500);
    evidence[500] = '\0';
    json_t *ents = json_array();
    for (int i = 0; i < 10; i++) {
        char id[8], name[16];
        snprintf(id, sizeof id, "E%d", i);
        snprintf(name, sizeof name, "Entity %d", i);
        json_array_append_new(ents, json_pack("{s:s, s:s, s:i}", "id", id, "name", name, "count", 1));
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:o}, s:[{s:s, s:s, s:f, s:s, s:{s:s}}]}", "id",
                            "d1", "title", "Capped", "text", text, "entities", "summary", ents,
                            "events", "type", "ack", "severity", "high", "confidence", 0.9,
                            "title", "An event", "evidence", "text", evidence);
    char *line = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return line;
}

static void run(const char *options, struct proc *p)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"sources\": [{\"plugin\": \"jsonl\"}], \"sinks\": [{\"plugin\": \"stdout\","
             " \"options\": %s}]}\n",
             options);
    write_file("p.json", text);
    char *doc = document();
    char input[8192];
    snprintf(input, sizeof input, "%s\n", doc);
    free(doc);
    char *argv[] = {(char *)vigil, "run", path_of("p.json"), "--once", "--state-dir",
                    path_of("state"), NULL};
    proc_run(argv, input, 30000, p);
}

static void test_summary_caps(void)
{
    struct proc p;
    run("{\"format\": \"summary\", \"text_chars\": 20}", &p);
    CHECK_INT(p.status, ==, 0);
    struct buf want;
    buf_init(&want, 0);
    buf_append_str(&want, "    text: ");
    for (int i = 0; i < 20; i++)
        buf_append_str(&want, "\xc3\xa9");
    buf_append_str(&want, "...\n");
    CHECK_CONTAINS(p.out, want.data);
    buf_free(&want);
    CHECK_CONTAINS(p.out, "Entity 7 (E7) x1 (+2 more)\n");
    CHECK_NOT_CONTAINS(p.out, "Entity 8");
    char ev[520] = "      evidence: \"";
    size_t n = strlen(ev);
    memset(ev + n, 'v', 400);
    snprintf(ev + n + 400, sizeof ev - n - 400, "...\"\n");
    CHECK_CONTAINS(p.out, ev);
    proc_free(&p);

    run("{\"format\": \"summary\", \"text_chars\": 0}", &p);
    CHECK_INT(p.status, ==, 0);
    CHECK_NOT_CONTAINS(p.out, "text:");
    proc_free(&p);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil)
        return 1;
    snprintf(dir, sizeof dir, "/tmp/vigil-test-stdout-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_summary_caps);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return test_summary();
}
