/*
 * core/builtin - plugins that are part of the host itself, always linked
 * into the binary: they need the host's internals (the daemon's API, the
 * archive's query side) and use the same ABI as every other plugin.
 *
 *   source push     documents pushed through the HTTP API (vigil serve)
 *   sink archive    processed documents kept in SQLite with full-text search
 */
#ifndef VIGIL_CORE_BUILTIN_H
#define VIGIL_CORE_BUILTIN_H

#include "core_static.h"

/* Ends with an all-zero row; consulted before the static table and the
 * plugin directories. */
extern const struct core_static_plugin core_builtin_plugins[];

const struct vigil_plugin *core_builtin_push(const struct vigil_host *host,
                                             struct vigil_error *err);
const struct vigil_plugin *core_builtin_archive(const struct vigil_host *host,
                                                struct vigil_error *err);

/* The push source: hand one pushed document to the pipeline (takes doc).
 * ack(arg, status) runs when it has left the pipeline. Returns what
 * host->emit returns. state is the instance state of a push source. */
int core_push_emit(void *state, json_t *doc, vigil_ack_cb ack, void *arg);

#endif
