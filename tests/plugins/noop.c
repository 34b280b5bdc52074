/* noop (tests, benchmarks): pass every document on untouched. */
#include <stdlib.h>

#include "vigil/plugin.h"

static int noop_create(const struct vigil_host *host, struct vigil_instance *ins,
                       const void *conf, void **state, struct vigil_error *err)
{
    (void)host;
    (void)ins;
    (void)conf;
    (void)err;
    *state = NULL;
    return VIGIL_OK;
}

static int noop_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    (void)state;
    (void)wstate;
    (void)doc;
    (void)err;
    return VIGIL_PASS;
}

static const struct vigil_plugin noop_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "noop",
    .version = "1.0.0",
    .description = "test transform: do nothing",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .create = noop_create,
    .process = noop_process,
};

VIGIL_PLUGIN_EXPORT(noop_plugin)
