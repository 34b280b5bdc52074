/* later (tests): an asynchronous transform that answers from a timer, the
 * way a fetching transform answers when its response arrives. The counter
 * "peak_inflight" ends at the most documents it held at once. */
#include <stdlib.h>
#include <string.h>

#include "vigil/plugin.h"

struct later_conf {
    int64_t delay_ms;
};

static const struct vigil_option later_options[] = {
    {"delay", VIGIL_OPT_DURATION, "1ms", 0, offsetof(struct later_conf, delay_ms), 0, 60000, NULL,
     "time before answering"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct later {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct later_conf *conf;
    int stopping;
    uint64_t inflight, peak;
    struct vigil_counter *c_peak;
};

struct call {
    struct later *l;
    json_t *doc;
    vigil_process_cb done;
    void *arg;
};

static void fire(struct vigil_timer *t, void *arg)
{
    struct call *c = arg;
    c->l->host->timer_stop(t);
    c->l->inflight--;
    json_object_set_new(c->doc, "later", json_true());
    c->done(c->arg, VIGIL_PASS, NULL);
    free(c);
}

static int later_create(const struct vigil_host *host, struct vigil_instance *ins,
                        const void *conf, void **state, struct vigil_error *err)
{
    struct later *l = calloc(1, sizeof *l);
    if (!l)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    l->host = host;
    l->ins = ins;
    l->conf = conf;
    l->c_peak = host->counter(ins, "peak_inflight", "most documents held at once");
    *state = l;
    return VIGIL_OK;
}

static int later_process(void *state, json_t *doc, vigil_process_cb done, void *arg)
{
    struct later *l = state;
    struct call *c = malloc(sizeof *c);
    if (!c)
        return VIGIL_ENOMEM;
    c->l = l;
    c->doc = doc;
    c->done = done;
    c->arg = arg;
    if (!l->host->timer_start(l->ins, (uint64_t)l->conf->delay_ms, 0, fire, c)) {
        free(c);
        return VIGIL_ENOMEM;
    }
    if (++l->inflight > l->peak) {
        l->host->counter_add(l->c_peak, l->inflight - l->peak);
        l->peak = l->inflight;
    }
    return VIGIL_OK;
}

static void later_destroy(void *state)
{
    free(state);
}

static const struct vigil_plugin later_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "later",
    .version = "1.0.0",
    .description = "test transform: answer asynchronously after a delay",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = later_options,
    .conf_size = sizeof(struct later_conf),
    .create = later_create,
    .destroy = later_destroy,
    .process_async = later_process,
};

VIGIL_PLUGIN_EXPORT(later_plugin)
