/* Plugins broken on purpose, one per build define, for the loader's
 * refusal tests. */
#include <stdlib.h>

#include "vigil/plugin.h"

static int bad_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                      void **state, struct vigil_error *err)
{
    (void)host;
    (void)ins;
    (void)conf;
    (void)err;
    *state = NULL;
    return VIGIL_OK;
}

static int bad_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    (void)state;
    (void)wstate;
    (void)doc;
    (void)err;
    return VIGIL_PASS;
}

struct bad_conf {
    int mode;
};

#ifdef BAD_OPTIONS
/* An enum option with no choices. */
static const struct vigil_option bad_options[] = {
    {"mode", VIGIL_OPT_ENUM, NULL, 0, offsetof(struct bad_conf, mode), VIGIL_NOBOUNDS, NULL,
     "broken"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
#endif

static const struct vigil_plugin bad_plugin = {
#if defined(BAD_NEWER_MINOR)
    .abi_major = VIGIL_ABI_MAJOR, .abi_minor = VIGIL_ABI_MINOR + 1,
    .struct_size = (uint32_t)sizeof(struct vigil_plugin),
    .name = "newer",
#elif defined(BAD_OTHER_MAJOR)
    .abi_major = VIGIL_ABI_MAJOR + 1, .abi_minor = 0,
    .struct_size = (uint32_t)sizeof(struct vigil_plugin),
    .name = "major",
#elif defined(BAD_SIZE)
    /* A descriptor claiming more than the loader's 64 KB plausibility cap. */
    .abi_major = VIGIL_ABI_MAJOR, .abi_minor = VIGIL_ABI_MINOR, .struct_size = 70000,
    .name = "huge",
#else
    VIGIL_PLUGIN_HEADER,
#if defined(BAD_NAME)
    .name = "someone_else",
#elif defined(BAD_OPTIONS)
    .name = "badopts",
    .options = bad_options,
    .conf_size = sizeof(struct bad_conf),
#else
    .name = "nosym",
#endif
#endif
    .version = "1.0.0",
    .description = "broken on purpose",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .create = bad_create,
    .process = bad_process,
};

#ifdef BAD_NO_SYMBOL
/* Exports something, but not vigil_plugin_init. */
__attribute__((visibility("default"))) const struct vigil_plugin *not_the_entry(void);
const struct vigil_plugin *not_the_entry(void)
{
    return &bad_plugin;
}
#else
VIGIL_PLUGIN_EXPORT(bad_plugin)
#endif
