/*
 * core/options - validate a plugin's "options" object against its
 * declared option table and fill the plugin's conf struct.
 *
 * The plugin never sees raw JSON: the core checks every key and value,
 * applies defaults, resolves paths and only then calls create(). Errors are
 * collected as diags pointing into the pipeline file.
 */
#ifndef VIGIL_CORE_OPTIONS_H
#define VIGIL_CORE_OPTIONS_H

#include <stdio.h>

#include "jdiag.h"
#include "vigil/plugin.h"

/* Where the options come from, for messages and relative paths. Borrowed. */
struct core_opt_ctx {
    const struct jdoc *doc;   /* pipeline file, for line:col (may be NULL) */
    const char *pointer;      /* JSON Pointer of the "options" object */
    const char *stage_pointer; /* JSON Pointer of the stage (missing options) */
    const char *label;        /* "sink plugin 'jsonl'" */
    const char *base_dir;     /* resolves VIGIL_OPT_PATH values; NULL = cwd */
};

/*
 * Validate options (a JSON object, or NULL for none) and fill conf, which
 * the caller allocated with p->conf_size zeroed bytes. Every problem is added
 * to d; returns the number of problems added (0 = conf is complete). conf
 * may hold values even on failure: always release it with
 * core_options_free().
 */
int core_options_fill(const struct vigil_plugin *p, const json_t *options, void *conf,
                      const struct core_opt_ctx *ctx, struct diags *d);

/* Free what core_options_fill stored in conf (strings, lists, JSON); conf
 * itself stays the caller's. */
void core_options_free(const struct vigil_plugin *p, void *conf);

/* Check a plugin's own table before it is registered: names well-formed
 * and unique, types known, offsets inside conf_size, choices for enums,
 * defaults that parse and sit within bounds. 0, or VIGIL_EINVAL with err
 * naming the option. */
int core_options_check_table(const struct vigil_plugin *p, struct vigil_error *err);

/* The option table as `vigil plugins NAME` shows it. */
void core_options_print(const struct vigil_plugin *p, FILE *out);

/* Name of an option type as users write it: "string", "duration"... */
const char *core_options_type_name(int type);

/* Is the option called name (in p's table) secret? */
int core_options_is_secret(const struct vigil_plugin *p, const char *name);

#endif
