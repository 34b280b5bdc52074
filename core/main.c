/*
 * vigil - command-line entry point.
 *
 * Global options are parsed here, then the command takes the rest. This is
 * the only file where process-wide setup happens (curl_global_init, the
 * Jansson hash seed), before any thread starts.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif

static const char usage[] =
    "Usage: vigil [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Vigil watches news sources, cleans articles, tags entities, detects events\n"
    "and sends alerts, as JSON-defined pipelines of plugins.\n"
    "\n"
    "Commands:\n"
    "  run PIPELINE.json [--once]     run a pipeline (until stopped, or one pass)\n"
    "  validate FILE...               check pipeline files; print every error\n"
    "  plugins [NAME]                 list plugins, or show one plugin's options\n"
    "  try PIPELINE.json --input FILE run one document through the transforms and\n"
    "                                 show what each stage added\n"
    "  test RULES_OR_PIPELINE.json    run the test cases declared in rules files\n"
    "  explain FILE --input DOC       show why each event rule fired or did not\n"
    "  alerts list|show|retry|purge   the alert outbox: pending, delivered, dead\n"
    "  search QUERY [--entity ID]     full-text search over archived documents\n"
    "  serve --config FILE            run as a daemon: pipelines, HTTP API, metrics\n"
    "\n"
    "Options (before or after the command):\n"
    "  --log-level LEVEL     error, warn, info (default), debug, trace\n"
    "  --log-format FORMAT   text (default) or json (JSON lines on stderr)\n"
    "  --plugin-dir DIR      look for plugins in DIR first (repeatable)\n"
    "  -h, --help            this help; `vigil COMMAND --help` for a command\n"
    "  -V, --version         print the version\n"
    "\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 invalid configuration or input,\n"
    "4 documents lost or failed, 130 interrupted. See docs/cli.md.\n";

/* Remove global options from argv (wherever they are) into g. Returns -1 on
 * a usage error (message printed). */
static int take_globals(struct cli_globals *g, int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        int takes = 0;
        if (!strcmp(a, "--log-level") || !strcmp(a, "--log-format") || !strcmp(a, "--plugin-dir")) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "vigil: %s needs a value\n", a);
                return -1;
            }
            val = argv[i + 1];
            takes = 1;
        } else if (!strncmp(a, "--log-level=", 12) || !strncmp(a, "--log-format=", 13) ||
                   !strncmp(a, "--plugin-dir=", 13)) {
            val = strchr(a, '=') + 1;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (!strncmp(a, "--log-level", 11)) {
            int lvl = core_log_level_parse(val);
            if (lvl < 0) {
                fprintf(stderr, "vigil: unknown log level '%s' (error, warn, info, debug, trace)\n",
                        val);
                return -1;
            }
            g->log.level = lvl;
            g->log_level_given = 1;
        } else if (!strncmp(a, "--log-format", 12)) {
            if (!strcmp(val, "text")) {
                g->log.format = CORE_LOG_TEXT;
            } else if (!strcmp(val, "json")) {
                g->log.format = CORE_LOG_JSON;
            } else {
                fprintf(stderr, "vigil: unknown log format '%s' (text or json)\n", val);
                return -1;
            }
        } else {
            if (g->nplugin_dirs >= 32) {
                fprintf(stderr, "vigil: too many --plugin-dir options\n");
                return -1;
            }
            g->plugin_dirs[g->nplugin_dirs++] = val;
        }
        i += takes;
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli_globals g;
    char exe[PATH_MAX];
    memset(&g, 0, sizeof g);
    core_log_init(&g.log);

    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        g.exe_dir = dirname(exe);
    }
    if (take_globals(&g, &argc, argv) != 0)
        return CLI_USAGE;
    /* Shipped pipelines name gazetteers and rules as
     * ${VIGIL_DATA_DIR}/...; default it to the data next to the binary so
     * they work from the build tree and after installation alike. */
    char data[PATH_MAX], data_real[PATH_MAX];
    const char *denv = getenv("VIGIL_DATA_DIR");
    if ((!denv || !*denv) && cli_data_dir(&g, data, sizeof data) &&
        realpath(data, data_real))
        setenv("VIGIL_DATA_DIR", data_real, 1);
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("vigil %s (plugin ABI %d.%d; %s, jansson %s, libuv %s)\n", VIGIL_VERSION,
               VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR, curl_version(), JANSSON_VERSION,
               uv_version_string());
        return CLI_OK;
    }

    /* Before any thread exists: libcurl's global state and Jansson's hash
     * seed are process-wide. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "vigil: libcurl failed to initialise\n");
        return CLI_FAILURE;
    }
    json_object_seed(0);

    int rc;
    if (!strcmp(cmd, "run")) {
        rc = cli_run(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "validate")) {
        rc = cli_validate(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "plugins")) {
        rc = cli_plugins(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "try")) {
        rc = cli_try(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "test")) {
        rc = cli_test(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "explain")) {
        rc = cli_explain(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "alerts")) {
        rc = cli_alerts(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "search")) {
        rc = cli_search(&g, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "serve")) {
        rc = cli_serve(&g, argc - 1, argv + 1);
    } else {
        fprintf(stderr, "vigil: unknown command '%s'\n\n%s", cmd, usage);
        rc = CLI_USAGE;
    }
    curl_global_cleanup();
    return rc;
}
