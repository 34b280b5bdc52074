/*
 * dedupe end to end: `vigil run --once` of files -> dedupe -> jsonl over a
 * directory of JSON documents, then a second run with the same state
 * directory (the story is remembered across the restart), then drop mode.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "proc.h"
#include "test.h"

static const char *vigil;
static char dir[256];

static char *path_of(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
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

static char *read_story(const char *name)
{
    char path[1024], *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/stories/%s", DEDUPE_FIXTURES, name);
    if (buf_read_file(path, 1 << 20, &data, &len) != 0)
        return NULL;
    char *nl = strstr(data, "\n\n");
    char *text = strdup(nl ? nl + 2 : data);
    free(data);
    return text;
}

/* The text with paragraph `drop` removed and boilerplate around it. */
static char *edited(const char *text, int drop)
{
    struct buf b;
    buf_init(&b, 0);
    buf_append_str(&b, "Advertisement\n\nBy Staff Reporter\n\n");
    int para = 0;
    for (const char *p = text; *p;) {
        const char *e = strstr(p, "\n\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (para++ != drop) {
            buf_append(&b, p, n);
            buf_append_str(&b, "\n\n");
        }
        p += n;
        while (*p == '\n')
            p++;
    }
    buf_append_str(&b, "Copyright 2024. All rights reserved. Not to be redistributed.");
    return buf_steal(&b);
}

static void write_doc(const char *name, const char *id, const char *url, const char *title,
                      const char *text)
{
    json_t *d =
        json_pack("{s:s, s:s, s:s, s:s}", "id", id, "url", url, "title", title, "text", text);
    json_dump_file(d, path_of(name), 0);
    json_decref(d);
}

/* id -> meta of every line of a JSON Lines file. */
static json_t *read_output(const char *name)
{
    json_t *by_id = json_object();
    FILE *f = fopen(path_of(name), "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f)
        return by_id;
    while (getline(&line, &cap, f) > 0) {
        json_t *d = json_loads(line, 0, NULL);
        const char *id = json_string_value(json_object_get(d, "id"));
        if (id)
            json_object_set(by_id, id, json_object_get(d, "meta"));
        json_decref(d);
    }
    free(line);
    fclose(f);
    return by_id;
}

static const char *m(json_t *out, const char *id, const char *key)
{
    return json_string_value(json_object_get(json_object_get(out, id), key));
}

static int run_pipeline(const char *pipeline)
{
    struct proc p;
    char *argv[] = {(char *)vigil,    "run", path_of(pipeline), "--once", "--state-dir",
                    path_of("state"), NULL};
    proc_run(argv, NULL, 60000, &p);
    if (p.status != 0)
        fprintf(stderr, "  vigil exited %d:\n%s\n", p.status, p.err);
    int status = p.status;
    proc_free(&p);
    return status;
}

static const char *pipeline_fmt =
    "{\"name\": \"%s\", \"settings\": {\"workers\": 2},\n"
    " \"sources\": [{\"id\": \"in\", \"plugin\": \"files\", \"options\": {\"path\": \"%s\"}}],\n"
    " \"transforms\": [{\"id\": \"dedupe\", \"plugin\": \"dedupe\",\n"
    "                   \"options\": {\"window\": \"1h\", \"mode\": \"%s\"}}],\n"
    " \"sinks\": [{\"id\": \"out\", \"plugin\": \"jsonl\", \"options\": {\"path\": \"%s\"}}]}\n";

static void write_pipeline(const char *file, const char *name, const char *in, const char *mode,
                           const char *out)
{
    char text[2048];
    snprintf(text, sizeof text, pipeline_fmt, name, in, mode, out);
    write_file(file, text);
}

static void test_run_restart_and_drop(void)
{
    char *kursk = read_story("a1_kursk_losses.txt"), *spy = read_story("b1_kursk_spy_agency.txt");
    REQUIRE(kursk && spy);
    char *v2 = edited(kursk, 3), *v4 = edited(kursk, 6);
    REQUIRE(mkdir(path_of("in"), 0755) == 0 && mkdir(path_of("in2"), 0755) == 0);
    write_doc("in/a1.json", "wire-1", "https://news.example/world/kursk?utm_source=rss",
              "Ukraine says North Korean troops suffered heavy losses", kursk);
    write_doc("in/a2.json", "outlet-2", "https://outlet2.example/2024/11/04/kursk",
              "North Korean soldiers killed in Kursk, Kyiv says", v2);
    /* the same address as wire-1 once normalised, and the same text: the
     * three are pairwise duplicates, so they form one story in whatever
     * order the files source emits them (a document that matched two
     * stories would join the first it matched; stories are not merged) */
    write_doc("in/a3.json", "outlet-3", "https://www.news.example/world/kursk/", "Kursk losses",
              kursk);
    write_doc("in/b1.json", "spy-1", "https://seoul.example/nis-briefing",
              "Seoul spy agency says Pyongyang readies second wave", spy);
    write_pipeline("p1.json", "dd", "in", "mark", "out1.jsonl");

    /* 1. one run */
    CHECK_INT(run_pipeline("p1.json"), ==, 0);
    json_t *out = read_output("out1.jsonl");
    CHECK_INT(json_object_size(out), ==, 4);
    const char *story = m(out, "wire-1", "story");
    REQUIRE(story != NULL);
    int firsts = 0;
    static const char *const group[] = {"wire-1", "outlet-2", "outlet-3"};
    for (int i = 0; i < 3; i++) {
        CHECK_STR(m(out, group[i], "story"), story);
        if (!m(out, group[i], "duplicate_of"))
            firsts++;
        else
            CHECK_STR(m(out, group[i], "duplicate_of"), story);
    }
    /* which copy the files source emitted first is not fixed */
    CHECK_INT(firsts, ==, 1);
    CHECK(!strcmp(story, "wire-1") || !strcmp(story, "outlet-2") || !strcmp(story, "outlet-3"));
    /* the later of wire-1 and outlet-3 is found by its URL (checked before
     * the text) */
    const char *k1 = m(out, "wire-1", "duplicate_kind"), *k3 = m(out, "outlet-3", "duplicate_kind");
    CHECK((k1 && !strcmp(k1, "url")) != (k3 && !strcmp(k3, "url")));
    CHECK_STR(m(out, "spy-1", "story"), "spy-1");
    CHECK(m(out, "spy-1", "duplicate_of") == NULL);
    char *first_story = strdup(story);
    json_decref(out);

    /* 2. a restart with new documents: the story is remembered */
    write_doc("in2/a4.json", "outlet-4", "https://outlet4.example/kursk-losses",
              "Kyiv: heavy North Korean losses", v4);
    write_pipeline("p2.json", "dd", "in2", "mark", "out2.jsonl");
    CHECK_INT(run_pipeline("p2.json"), ==, 0);
    out = read_output("out2.jsonl");
    CHECK_INT(json_object_size(out), ==, 1);
    CHECK_STR(m(out, "outlet-4", "story"), first_story);
    CHECK_STR(m(out, "outlet-4", "duplicate_of"), first_story);
    CHECK_STR(m(out, "outlet-4", "duplicate_kind"), "near");
    json_decref(out);

    /* 3. drop mode (another pipeline name: its own state): one per story */
    write_pipeline("p3.json", "dd-drop", "in", "drop", "out3.jsonl");
    CHECK_INT(run_pipeline("p3.json"), ==, 0);
    out = read_output("out3.jsonl");
    CHECK_INT(json_object_size(out), ==, 2);
    CHECK(json_object_get(out, "spy-1") != NULL);
    json_decref(out);

    free(first_story);
    free(kursk);
    free(spy);
    free(v2);
    free(v4);
}

int main(void)
{
    vigil = getenv("VIGIL_BIN");
    if (!vigil || access(vigil, X_OK) != 0) {
        fprintf(stderr, "VIGIL_BIN not set or not executable\n");
        return 77;
    }
    snprintf(dir, sizeof dir, "%s/dedupe-e2e-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_run_restart_and_drop);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
