#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"

static const char plugins_usage[] =
    "Usage: vigil plugins [NAME | KIND/NAME]\n"
    "\n"
    "Without NAME: list every plugin found (built in and in the plugin\n"
    "directories) and every file that was refused, with the reason.\n"
    "With NAME: print that plugin's options (type, default, bounds, meaning).\n";

struct list_ctx {
    int found;
    int refused;
    const char *want_name;
    int want_kind;
    int shown;
};

static void list_cb(void *arg, const struct core_plugin *p, const char *path,
                    const struct vigil_error *refusal)
{
    struct list_ctx *c = arg;
    if (c->want_name) {
        if (!p || strcmp(p->desc.name, c->want_name) != 0 ||
            (c->want_kind && p->desc.kind != c->want_kind))
            return;
        if (c->shown++)
            printf("\n");
        printf("%s %s %s (%s)\n  %s\n  license %s, from %s\n\nOptions:\n",
               core_kind_name(p->desc.kind), p->desc.name, p->desc.version,
               (p->desc.flags & VIGIL_PF_SERIAL) ? "serial" : "parallel",
               p->desc.description, p->desc.license ? p->desc.license : "unknown", path);
        core_options_print(&p->desc, stdout);
        return;
    }
    if (p) {
        printf("%-10s %-16s %-8s %s\n", core_kind_name(p->desc.kind), p->desc.name,
               p->desc.version, p->desc.description);
        c->found++;
    } else {
        fprintf(stderr, "refused: %s\n", refusal ? refusal->msg : path);
        c->refused++;
    }
}

int cli_plugins(struct cli_globals *g, int argc, char **argv)
{
    struct list_ctx c = {0};
    if (argc > 2) {
        fputs(plugins_usage, stderr);
        return CLI_USAGE;
    }
    if (argc == 2) {
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            fputs(plugins_usage, stdout);
            return CLI_OK;
        }
        c.want_name = argv[1];
        const char *slash = strchr(argv[1], '/');
        if (slash) {
            char kind[32];
            snprintf(kind, sizeof kind, "%.*s", (int)(slash - argv[1]), argv[1]);
            c.want_kind = core_kind_parse(kind);
            c.want_name = slash + 1;
        }
    }
    struct core_loader loader;
    cli_loader_init(g, &loader);
    /* Refusals are printed by list_cb; keep the loader's own warnings for
     * debug runs only. */
    int level = g->log.level;
    if (!c.want_name && level < VIGIL_LOG_DEBUG)
        g->log.level = VIGIL_LOG_ERROR;
    core_loader_scan(&loader, list_cb, &c);
    g->log.level = level;
    core_loader_close(&loader);
    if (c.want_name && !c.shown) {
        fprintf(stderr, "vigil: no plugin named '%s' (run `vigil plugins` for the list)\n",
                argv[1]);
        return CLI_INVALID;
    }
    if (!c.want_name && c.found == 0) {
        fprintf(stderr, "vigil: no plugins found; use --plugin-dir or VIGIL_PLUGIN_PATH\n");
        return CLI_FAILURE;
    }
    return CLI_OK;
}
