/*
 * null - a sink that accepts and discards everything. For benchmarks and
 * pipelines whose work is a side effect of their stages. "delay" makes it
 * a slow receiver (each delivery completes after that long, at most
 * "max_inflight" at once), which is how backpressure is measured.
 */
#include <stdlib.h>

#include "vigil/plugin.h"

struct null_conf {
    int64_t delay_ms;
};

static const struct vigil_option null_options[] = {
    {"delay", VIGIL_OPT_DURATION, "0", 0, offsetof(struct null_conf, delay_ms), 0, 3600000, NULL,
     "complete each delivery after this long (simulates a slow receiver)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct null_sink {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct null_conf *conf;
    struct vigil_counter *discarded;
};

struct delayed {
    struct null_sink *s;
    vigil_deliver_cb done;
    void *arg;
};

static void on_delay(struct vigil_timer *t, void *arg)
{
    struct delayed *d = arg;
    d->s->host->timer_stop(t);
    d->s->host->counter_add(d->s->discarded, 1);
    d->done(d->arg, VIGIL_DELIVERED, -1, NULL);
    free(d);
}

static int null_create(const struct vigil_host *host, struct vigil_instance *ins,
                       const void *conf, void **state, struct vigil_error *err)
{
    struct null_sink *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = conf;
    s->discarded = host->counter(ins, "discarded", "documents discarded");
    *state = s;
    return VIGIL_OK;
}

static int null_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                        void *arg)
{
    struct null_sink *s = state;
    (void)d;
    if (s->conf->delay_ms <= 0) {
        s->host->counter_add(s->discarded, 1);
        done(arg, VIGIL_DELIVERED, -1, NULL);
        return VIGIL_OK;
    }
    struct delayed *w = malloc(sizeof *w);
    if (!w)
        return VIGIL_ENOMEM;
    w->s = s;
    w->done = done;
    w->arg = arg;
    if (!s->host->timer_start(s->ins, (uint64_t)s->conf->delay_ms, 0, on_delay, w)) {
        free(w);
        return VIGIL_ENOMEM;
    }
    return VIGIL_OK;
}

static void null_destroy(void *state)
{
    free(state);
}

static const struct vigil_plugin null_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "null",
    .version = "1.0.0",
    .description = "discard documents (optionally slowly, to test backpressure)",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = null_options,
    .conf_size = sizeof(struct null_conf),
    .create = null_create,
    .destroy = null_destroy,
    .deliver = null_deliver,
};

VIGIL_PLUGIN_EXPORT(null_plugin)
