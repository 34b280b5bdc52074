/*
 * core/cli - the `vigil` commands. Each returns a process exit code
 * (docs/cli.md): 0 success, 1 runtime failure, 2 usage error, 3 invalid
 * configuration or input, 4 documents were lost or failed, 130 interrupted.
 */
#ifndef VIGIL_CORE_CLI_H
#define VIGIL_CORE_CLI_H

#include "loader.h"
#include "log.h"

enum cli_exit {
    CLI_OK = 0,
    CLI_FAILURE = 1,
    CLI_USAGE = 2,
    CLI_INVALID = 3,
    CLI_LOST = 4,
    CLI_INTERRUPTED = 130
};

/* Options every command accepts before or after its name. */
struct cli_globals {
    struct core_log log;
    const char *plugin_dirs[32];
    int nplugin_dirs;
    const char *exe_dir; /* directory of the running binary */
    int log_level_given; /* --log-level was on the command line */
};

/* Set up the loader with --plugin-dir, $VIGIL_PLUGIN_PATH and the plugin
 * directory next to the binary, in that order. */
void cli_loader_init(const struct cli_globals *g, struct core_loader *l);
/* The data directory next to the binary (share/vigil), or NULL. */
const char *cli_data_dir(const struct cli_globals *g, char *buf, size_t len);

int cli_run(struct cli_globals *g, int argc, char **argv);
int cli_validate(struct cli_globals *g, int argc, char **argv);
int cli_plugins(struct cli_globals *g, int argc, char **argv);
int cli_try(struct cli_globals *g, int argc, char **argv);
int cli_test(struct cli_globals *g, int argc, char **argv);
int cli_explain(struct cli_globals *g, int argc, char **argv);
int cli_alerts(struct cli_globals *g, int argc, char **argv);
int cli_search(struct cli_globals *g, int argc, char **argv);
int cli_serve(struct cli_globals *g, int argc, char **argv);

#endif
