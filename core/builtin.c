#include "builtin.h"

#include <stdlib.h>

const struct core_static_plugin core_builtin_plugins[] = {
    {"source_push", core_builtin_push},
    {"sink_archive", core_builtin_archive},
    {NULL, NULL},
};

/* ------------------------------------------------------------------------
 * source push: nothing to pull; the daemon's ingest endpoint emits into it.
 * --------------------------------------------------------------------- */

struct push {
    const struct vigil_host *host;
    struct vigil_instance *ins;
};

static int push_create(const struct vigil_host *host, struct vigil_instance *ins,
                       const void *conf, void **state, struct vigil_error *err)
{
    struct push *p = calloc(1, sizeof *p);
    (void)conf;
    if (!p)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    p->host = host;
    p->ins = ins;
    *state = p;
    return VIGIL_OK;
}

static int push_collect(void *state, vigil_pass_cb done, void *arg)
{
    (void)state;
    done(arg, VIGIL_OK); /* documents arrive by push, not by passes */
    return VIGIL_OK;
}

static void push_destroy(void *state)
{
    free(state);
}

int core_push_emit(void *state, json_t *doc, vigil_ack_cb ack, void *arg)
{
    struct push *p = state;
    return p->host->emit_tracked(p->ins, doc, ack, arg);
}

static const struct vigil_plugin push_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "push",
    .version = "1.0.0",
    .description = "documents pushed through the HTTP API (POST /api/v1/pipelines/NAME/documents)",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .default_every_ms = 0,
    .create = push_create,
    .destroy = push_destroy,
    .collect = push_collect,
};

const struct vigil_plugin *core_builtin_push(const struct vigil_host *host,
                                             struct vigil_error *err)
{
    (void)host;
    (void)err;
    return &push_plugin;
}
