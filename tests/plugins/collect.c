/* collect (tests): append the id of every delivered document to a file,
 * after an optional delay; fail the first attempts of each document
 * (temporary) or some documents for good (permanent). The counter
 * "peak_inflight" ends at the most deliveries it held at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/plugin.h"

struct collect_conf {
    char *path;
    int64_t delay_ms;
    int64_t fail_first;
    char *fail_if;
    char *down_while;
    int hang;
};

static const struct vigil_option collect_options[] = {
    {"path", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH,
     offsetof(struct collect_conf, path), VIGIL_NOBOUNDS, NULL, "file receiving ids"},
    {"delay", VIGIL_OPT_DURATION, "0", 0, offsetof(struct collect_conf, delay_ms), 0, 60000, NULL,
     "time each delivery takes"},
    {"fail_first", VIGIL_OPT_INT, "0", 0, offsetof(struct collect_conf, fail_first), 0, 100, NULL,
     "answer RETRY to the first N attempts of each document"},
    {"fail_if", VIGIL_OPT_STR, NULL, 0, offsetof(struct collect_conf, fail_if), VIGIL_NOBOUNDS,
     NULL, "answer FAILED for ids containing this"},
    {"down_while", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, offsetof(struct collect_conf, down_while),
     VIGIL_NOBOUNDS, NULL, "answer RETRY while this file exists (a receiver that is down)"},
    {"hang", VIGIL_OPT_BOOL, "false", 0, offsetof(struct collect_conf, hang), VIGIL_NOBOUNDS,
     NULL, "never answer (a plugin bug: the core's stop deadline ends the wait)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct collect {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct collect_conf *conf;
    FILE *out;
    uint64_t inflight, peak;
    struct vigil_counter *c_peak;
};

struct pending {
    struct collect *c;
    char id[128];
    uint32_t attempt;
    vigil_deliver_cb done;
    void *arg;
};

static void answer(struct pending *p)
{
    struct collect *c = p->c;
    c->inflight--;
    if (c->conf->down_while && access(c->conf->down_while, F_OK) == 0) {
        p->done(p->arg, VIGIL_RETRY, -1, "receiver down");
    } else if (c->conf->fail_if && strstr(p->id, c->conf->fail_if)) {
        p->done(p->arg, VIGIL_FAILED, -1, "rejected on purpose");
    } else if ((int64_t)p->attempt <= c->conf->fail_first) {
        p->done(p->arg, VIGIL_RETRY, -1, "not yet");
    } else {
        fprintf(c->out, "%s\n", p->id);
        fflush(c->out);
        p->done(p->arg, VIGIL_DELIVERED, -1, NULL);
    }
    free(p);
}

static void fire(struct vigil_timer *t, void *arg)
{
    struct pending *p = arg;
    p->c->host->timer_stop(t);
    answer(p);
}

static int collect_create(const struct vigil_host *host, struct vigil_instance *ins,
                          const void *conf, void **state, struct vigil_error *err)
{
    const struct collect_conf *cf = conf;
    struct collect *c = calloc(1, sizeof *c);
    if (!c)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    c->out = fopen(cf->path, "a");
    if (!c->out) {
        free(c);
        return vigil_error_set(err, VIGIL_EIO, "cannot open %s", cf->path);
    }
    c->host = host;
    c->ins = ins;
    c->conf = cf;
    c->c_peak = host->counter(ins, "peak_inflight", "most deliveries held at once");
    *state = c;
    return VIGIL_OK;
}

static int collect_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                           void *arg)
{
    struct collect *c = state;
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return VIGIL_ENOMEM;
    p->c = c;
    snprintf(p->id, sizeof p->id, "%s", d->id);
    p->attempt = d->attempt;
    p->done = done;
    p->arg = arg;
    if (++c->inflight > c->peak) {
        c->host->counter_add(c->c_peak, c->inflight - c->peak);
        c->peak = c->inflight;
    }
    if (c->conf->hang) {
        free(p); /* done is never called */
        return VIGIL_OK;
    }
    if (c->conf->delay_ms <= 0) {
        answer(p);
        return VIGIL_OK;
    }
    if (!c->host->timer_start(c->ins, (uint64_t)c->conf->delay_ms, 0, fire, p)) {
        c->inflight--;
        free(p);
        return VIGIL_ENOMEM;
    }
    return VIGIL_OK;
}

static void collect_destroy(void *state)
{
    struct collect *c = state;
    fclose(c->out);
    free(c);
}

static const struct vigil_plugin collect_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "collect",
    .version = "1.0.0",
    .description = "test sink: write delivered ids to a file",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = collect_options,
    .conf_size = sizeof(struct collect_conf),
    .create = collect_create,
    .destroy = collect_destroy,
    .deliver = collect_deliver,
};

VIGIL_PLUGIN_EXPORT(collect_plugin)
