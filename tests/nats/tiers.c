#include "tiers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

long long tier_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tier_env_init(struct tier_env *t, const char *name)
{
    memset(t, 0, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/vigil-test-%s-XXXXXX", name);
    if (!mkdtemp(t->dir))
        return -1;
    t->vigil = getenv("VIGIL_BIN");
    return t->vigil ? 0 : -1;
}

void tier_env_free(struct tier_env *t)
{
    char cmd[300];
    if (!t->dir[0] || getenv("VIGIL_KEEP_TEST_DIR"))
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", t->dir);
}

const char *tier_path(const struct tier_env *t, const char *name)
{
    static char paths[16][512]; /* test binaries only */
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 512, "%s/%s", t->dir, name);
    return p;
}

void tier_write(const struct tier_env *t, const char *name, const char *text)
{
    FILE *f = fopen(tier_path(t, name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

void tier_write_docs(const struct tier_env *t, const char *name, int first, int n,
                     const char *object, int per_key)
{
    FILE *f = fopen(tier_path(t, name), "w");
    if (!f)
        return;
    for (int i = first; i < first + n; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "C%d", i);
        fprintf(f,
                "{\"id\": \"d%d\", \"title\": \"story %d\", \"text\": \"Troops were seen near "
                "the border on day %d.\", \"published\": \"2024-11-04T10:00:00Z\", \"key\": "
                "\"k%d\", \"events\": [{\"type\": \"ack\", \"actor\": \"RU\", \"object\": "
                "\"%s\", \"title\": \"t\", \"severity\": \"high\"}]}\n",
                i, i, i, per_key > 0 ? i / per_key : i, object ? object : obj);
    }
    fclose(f);
}

int tier_start(const struct tier_env *t, struct proc *p, const char *pipeline, const char *state,
               const char *out, int once)
{
    char *argv[16];
    int a = 0;
    argv[a++] = (char *)t->vigil;
    argv[a++] = "--plugin-dir";
    argv[a++] = (char *)TEST_PLUGIN_DIR;
    argv[a++] = "--plugin-dir";
    argv[a++] = (char *)NATS_TEST_PLUGIN_DIR;
    argv[a++] = "run";
    argv[a++] = (char *)tier_path(t, pipeline);
    argv[a++] = "--state-dir";
    argv[a++] = (char *)tier_path(t, state);
    if (once)
        argv[a++] = "--once";
    argv[a] = NULL;
    /* The child inherits the environment at fork. */
    setenv("OUT", tier_path(t, out), 1);
    return proc_start(p, argv);
}

void tier_pump(struct proc *const *ps, int n)
{
    for (int i = 0; i < n; i++) {
        if (ps[i] && ps[i]->pid > 0)
            proc_pump(ps[i], 0);
    }
}

struct tier_lines tier_read(const struct tier_env *t, const char *name)
{
    struct tier_lines l = {0, 0, json_object()};
    FILE *f = fopen(tier_path(t, name), "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0])
            continue;
        l.n++;
        if (json_object_get(l.set, line))
            l.dups++;
        json_object_set_new(l.set, line, json_true());
    }
    if (f)
        fclose(f);
    return l;
}

void tier_lines_free(struct tier_lines *l)
{
    json_decref(l->set);
    l->set = NULL;
}

size_t tier_distinct(const struct tier_env *t, const char *const *names, int n)
{
    json_t *all = json_object();
    for (int i = 0; i < n; i++) {
        struct tier_lines l = tier_read(t, names[i]);
        json_object_update(all, l.set);
        tier_lines_free(&l);
    }
    size_t k = json_object_size(all);
    json_decref(all);
    return k;
}

void tier_alert_id(const char *pipeline, const char *sink, const char *object, char out[17])
{
    char key[128];
    snprintf(key, sizeof key, "ack|RU|%s", object);
    uint64_t h = hash_fnv64(pipeline, strlen(pipeline));
    h = hash_fnv64_update(h, "/", 1);
    h = hash_fnv64_update(h, sink, strlen(sink));
    h = hash_fnv64_update(h, "/", 1);
    h = hash_fnv64_update(h, key, strlen(key));
    hash_hex64(h, out);
}
