#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine_internal.h"

#ifndef VIGIL_PLUGIN_SUBDIR
#define VIGIL_PLUGIN_SUBDIR "lib/vigil/plugins"
#endif
#ifndef VIGIL_DATA_SUBDIR
#define VIGIL_DATA_SUBDIR "share/vigil"
#endif

void cli_loader_init(const struct cli_globals *g, struct core_loader *l)
{
    core_loader_init(l, &g->log, &core_host_table);
    for (int i = 0; i < g->nplugin_dirs; i++)
        core_loader_add_dir(l, g->plugin_dirs[i]);
    const char *env = getenv("VIGIL_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
            core_loader_add_dir(l, d);
        free(copy);
    }
    if (g->exe_dir) {
        /* Relative to the binary: the same layout in the build tree and
         * after installation, so neither needs a configured path. */
        char dir[4096];
        struct stat st;
        snprintf(dir, sizeof dir, "%s/../%s", g->exe_dir, VIGIL_PLUGIN_SUBDIR);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            core_loader_add_dir(l, dir);
    }
}

const char *cli_data_dir(const struct cli_globals *g, char *buf, size_t len)
{
    struct stat st;
    const char *env = getenv("VIGIL_DATA_DIR");
    if (env && *env && stat(env, &st) == 0) {
        snprintf(buf, len, "%s", env);
        return buf;
    }
    if (!g->exe_dir)
        return NULL;
    snprintf(buf, len, "%s/../%s", g->exe_dir, VIGIL_DATA_SUBDIR);
    return (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) ? buf : NULL;
}
