#include "cli_chain.h"

#include <string.h>

#include "hash.h"

static void on_stopped(void *arg, uint64_t lost)
{
    (void)arg;
    (void)lost;
}

int cli_chain_open(struct cli_chain *c, struct cli_globals *g, struct core_loader *loader,
                   struct core_pipeline_def *def, struct vigil_error *err)
{
    memset(c, 0, sizeof *c);
    uv_loop_init(&c->loop);
    core_pipeline_strip_io(def);
    /* No worker threads: transforms run right here, one document at a
     * time, which is what a person debugging a pipeline wants. */
    struct core_engine_config cfg = {.log = &g->log, .loader = loader, .workers = 0, .once = 1,
                                     .state_dir = def->settings.state_dir,
                                     .http = &def->settings.http};
    int rc = core_engine_create(&c->loop, &cfg, &c->engine, err);
    if (rc != VIGIL_OK) {
        core_pipeline_free(def);
        return rc;
    }
    rc = core_engine_add(c->engine, def, &c->pl, err);
    if (rc == VIGIL_OK)
        rc = core_pipeline_start(c->pl, err);
    if (rc != VIGIL_OK) {
        c->pl = NULL;
        return rc;
    }
    c->def = core_pipeline_definition(c->pl);
    c->ntransforms = c->def->ntransforms;
    return VIGIL_OK;
}

int cli_chain_step(struct cli_chain *c, size_t i, json_t *doc, struct vigil_error *err)
{
    return core_pipeline_run_transform(c->pl, i, doc, err);
}

int cli_chain_run(struct cli_chain *c, json_t *doc, struct vigil_error *err)
{
    int rc = VIGIL_PASS;
    for (size_t i = 0; i < c->ntransforms; i++) {
        rc = cli_chain_step(c, i, doc, err);
        if (rc == VIGIL_DROP || (rc < 0 && c->def->transforms[i].on_error_drop))
            return rc;
    }
    return rc;
}

void cli_chain_close(struct cli_chain *c)
{
    if (c->engine) {
        core_engine_stop(c->engine, on_stopped, NULL);
        uv_run(&c->loop, UV_RUN_DEFAULT);
        core_engine_free(c->engine);
    }
    uv_loop_close(&c->loop);
    memset(c, 0, sizeof *c);
}

void cli_chain_prepare(json_t *doc, const char *id_seed)
{
    if (!json_is_string(json_object_get(doc, "id"))) {
        char hex[17];
        hash_hex64(hash_fnv64(id_seed, strlen(id_seed)), hex);
        json_object_set_new(doc, "id", json_string(hex));
    }
    if (!json_object_get(doc, "source"))
        json_object_set_new(doc, "source", json_string("try"));
}
