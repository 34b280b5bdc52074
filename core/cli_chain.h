/*
 * cli_chain - the transforms of a pipeline, ready to run one document at a
 * time on the calling thread: what `vigil try`, `vigil explain` and
 * `vigil test` share.
 */
#ifndef VIGIL_CORE_CLI_CHAIN_H
#define VIGIL_CORE_CLI_CHAIN_H

#include <uv.h>

#include "cli.h"
#include "engine.h"
#include "pipeline.h"

struct cli_chain {
    uv_loop_t loop;
    struct core_engine *engine;
    struct core_pipeline *pl;
    const struct core_pipeline_def *def; /* borrowed from the engine */
    size_t ntransforms;
};

/* Takes def (its sources and sinks are dropped). Returns VIGIL_OK or an
 * error with err filled; the chain must be closed either way. */
int cli_chain_open(struct cli_chain *c, struct cli_globals *g, struct core_loader *loader,
                   struct core_pipeline_def *def, struct vigil_error *err);

/* Run transform i on doc (the caller's). VIGIL_PASS, VIGIL_DROP or an
 * error with err filled. */
int cli_chain_step(struct cli_chain *c, size_t i, json_t *doc, struct vigil_error *err);

/* Run every transform; stops at a drop, or at an error when the stage says
 * on_error "drop". Returns the last result. */
int cli_chain_run(struct cli_chain *c, json_t *doc, struct vigil_error *err);

void cli_chain_close(struct cli_chain *c);

/* Give a test or input document the fields emit would give it. */
void cli_chain_prepare(json_t *doc, const char *id_seed);

#endif
