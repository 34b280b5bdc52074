/* gen (tests, benchmarks): emit `count` small documents as fast as the
 * pipeline takes them, honouring pause and resume (unless told to ignore
 * VIGIL_EAGAIN, like a misbehaving source). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/plugin.h"

struct gen_conf {
    int64_t count;
    int64_t text_size;
    char *prefix;
    int ignore_eagain;
};

static const struct vigil_option gen_options[] = {
    {"count", VIGIL_OPT_INT, "100", 0, offsetof(struct gen_conf, count), 0, 1e12, NULL,
     "documents per pass"},
    {"text_size", VIGIL_OPT_INT, "32", 0, offsetof(struct gen_conf, text_size), 0, 1e8, NULL,
     "bytes of text per document"},
    {"prefix", VIGIL_OPT_STR, "doc", 0, offsetof(struct gen_conf, prefix), VIGIL_NOBOUNDS, NULL,
     "id prefix"},
    {"ignore_eagain", VIGIL_OPT_BOOL, "false", 0, offsetof(struct gen_conf, ignore_eagain),
     VIGIL_NOBOUNDS, NULL, "keep emitting when emit answers VIGIL_EAGAIN"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct gen {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct gen_conf *conf;
    int64_t next;
    int in_pass, paused, stopping;
    vigil_pass_cb done;
    void *arg;
    char *text;
};

static void run(struct gen *g)
{
    while (g->in_pass && !g->paused && !g->stopping && g->next < g->conf->count) {
        char id[96];
        snprintf(id, sizeof id, "%s-%lld", g->conf->prefix, (long long)g->next++);
        json_t *doc = json_pack("{s:s, s:s}", "id", id, "text", g->text);
        if (g->host->emit(g->ins, doc) == VIGIL_EAGAIN && !g->conf->ignore_eagain)
            g->paused = 1;
    }
    if (g->in_pass && (g->next >= g->conf->count || g->stopping)) {
        g->in_pass = 0;
        g->done(g->arg, g->stopping ? VIGIL_ECANCELED : VIGIL_OK);
    }
}

static int gen_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                      void **state, struct vigil_error *err)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    g->host = host;
    g->ins = ins;
    g->conf = conf;
    g->text = malloc((size_t)g->conf->text_size + 1);
    memset(g->text, 'x', (size_t)g->conf->text_size);
    g->text[g->conf->text_size] = '\0';
    *state = g;
    return VIGIL_OK;
}

static int gen_collect(void *state, vigil_pass_cb done, void *arg)
{
    struct gen *g = state;
    g->in_pass = 1;
    g->done = done;
    g->arg = arg;
    g->next = 0;
    run(g);
    return VIGIL_OK;
}

static void gen_pause(void *state)
{
    struct gen *g = state;
    if (!g->conf->ignore_eagain)
        g->paused = 1;
}

static void gen_resume(void *state)
{
    struct gen *g = state;
    g->paused = 0;
    run(g);
}

static void gen_stop(void *state)
{
    struct gen *g = state;
    g->stopping = 1;
    run(g);
}

static void gen_destroy(void *state)
{
    struct gen *g = state;
    free(g->text);
    free(g);
}

static const struct vigil_plugin gen_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "gen",
    .version = "1.0.0",
    .description = "test source: generate documents",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .options = gen_options,
    .conf_size = sizeof(struct gen_conf),
    .create = gen_create,
    .stop = gen_stop,
    .destroy = gen_destroy,
    .collect = gen_collect,
    .pause = gen_pause,
    .resume = gen_resume,
};

VIGIL_PLUGIN_EXPORT(gen_plugin)
