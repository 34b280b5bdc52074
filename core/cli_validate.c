#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pipeline.h"

static const char validate_usage[] =
    "Usage: vigil validate FILE...\n"
    "\n"
    "Check pipeline files completely: JSON syntax, keys, plugins, every plugin\n"
    "option. Every error is printed as FILE:LINE:COL: /json/pointer: message.\n"
    "Exit status 0 when all files are valid, 3 otherwise.\n";

int cli_validate(struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2) {
        fputs(validate_usage, stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(validate_usage, stdout);
        return CLI_OK;
    }
    struct core_loader loader;
    int invalid = 0;
    cli_loader_init(g, &loader);
    for (int i = 1; i < argc; i++) {
        struct diags d = {0};
        struct core_pipeline_def *def = NULL;
        if (core_pipeline_load(argv[i], &loader, &def, &d) == VIGIL_OK) {
            printf("%s: ok (pipeline '%s': %zu source%s, %zu transform%s, %zu sink%s)\n", argv[i],
                   def->name, def->nsources, def->nsources == 1 ? "" : "s", def->ntransforms,
                   def->ntransforms == 1 ? "" : "s", def->nsinks, def->nsinks == 1 ? "" : "s");
            core_pipeline_free(def);
        } else {
            diags_print(&d, stderr);
            fprintf(stderr, "%s: %zu error%s\n", argv[i], diags_count(&d),
                    diags_count(&d) == 1 ? "" : "s");
            invalid = 1;
        }
        diags_free(&d);
    }
    core_loader_close(&loader);
    return invalid ? CLI_INVALID : CLI_OK;
}
