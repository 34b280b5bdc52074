/* Pipeline validation on arbitrary text: every input is either loaded or
 * refused with located errors, never a crash or a leak. Plugins are the
 * built-in and statically linked ones. */
#include <stdint.h>
#include <stdlib.h>

#include "engine_internal.h"
#include "pipeline.h"

static struct core_loader *loader;
static struct core_log quiet;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!loader) {
        core_log_init(&quiet);
        quiet.level = -1;
        loader = calloc(1, sizeof *loader);
        core_loader_init(loader, &quiet, &core_host_table);
    }
    struct diags d = {0};
    struct core_pipeline_def *def = NULL;
    if (core_pipeline_load_buffer("fuzz.json", "/nonexistent", (const char *)data, size, loader,
                                  &def, &d) == VIGIL_OK)
        core_pipeline_free(def);
    else if (diags_count(&d) == 0)
        abort(); /* refused without saying why */
    diags_free(&d);
    return 0;
}
