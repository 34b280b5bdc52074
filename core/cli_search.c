/*
 * vigil search - full-text search over the archive (the built-in
 * `archive` sink): "what did we see about North Korean troops this week".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "cli.h"
#include "pipeline.h"
#include "store.h"
#include "units.h"

static const char search_usage[] =
    "Usage: vigil search [QUERY] [--entity ID] [--since 7d] [--until 1d] [--limit N]\n"
    "                    [--pipeline-name NAME] [--json]\n"
    "                    [--archive FILE | --state-dir DIR | --pipeline FILE]\n"
    "\n"
    "Search archived documents (a pipeline keeps them with an \"archive\" sink).\n"
    "QUERY uses SQLite FTS5 syntax: words, \"exact phrases\", AND, OR, NOT,\n"
    "prefix*; anything else is searched as plain words. --entity keeps documents\n"
    "mentioning that entity id or anything affiliated with it (KP, RU, ...).\n"
    "--since/--until take durations back from now.\n";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_search(struct cli_globals *g, int argc, char **argv)
{
    struct core_search_query q = {0};
    const char *archive = NULL, *state_dir = NULL, *pipeline = NULL;
    int as_json = 0;
    q.limit = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(search_usage, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            as_json = 1;
        } else if (v && (!strcmp(a, "--since") || !strcmp(a, "--until"))) {
            int64_t ms;
            if (units_parse_duration_ms(v, &ms) != 0) {
                fprintf(stderr, "vigil search: %s expects a duration like 7d, got '%s'\n", a, v);
                return CLI_USAGE;
            }
            if (!strcmp(a, "--since"))
                q.from_ms = now_ms() - ms;
            else
                q.to_ms = now_ms() - ms;
            i++;
        } else if (v && !strcmp(a, "--entity")) {
            q.entity = v;
            i++;
        } else if (v && !strcmp(a, "--limit")) {
            q.limit = (int)strtol(v, NULL, 10);
            i++;
        } else if (v && !strcmp(a, "--pipeline-name")) {
            q.pipeline = v;
            i++;
        } else if (v && !strcmp(a, "--archive")) {
            archive = v;
            i++;
        } else if (v && !strcmp(a, "--state-dir")) {
            state_dir = v;
            i++;
        } else if (v && !strcmp(a, "--pipeline")) {
            pipeline = v;
            i++;
        } else if (a[0] != '-' && !q.q) {
            q.q = a;
        } else {
            fprintf(stderr, "vigil search: unexpected argument '%s'\n\n%s", a, search_usage);
            return CLI_USAGE;
        }
    }

    char path[4096];
    if (archive) {
        snprintf(path, sizeof path, "%s", archive);
    } else {
        char *dir = state_dir ? strdup(state_dir) : NULL;
        if (!dir && pipeline) {
            struct core_loader loader;
            struct diags d = {0};
            struct core_pipeline_def *def = NULL;
            cli_loader_init(g, &loader);
            if (core_pipeline_load(pipeline, &loader, &def, &d) != VIGIL_OK) {
                diags_print(&d, stderr);
                diags_free(&d);
                core_loader_close(&loader);
                return CLI_INVALID;
            }
            for (size_t i = 0; i < def->nsinks; i++) {
                /* An archive sink with its own path wins. */
                if (!strcmp(def->sinks[i].plugin->desc.name, "archive") &&
                    *(char **)def->sinks[i].conf)
                    archive = strdup(*(char **)def->sinks[i].conf);
            }
            if (def->settings.state_dir)
                dir = strdup(def->settings.state_dir);
            core_pipeline_free(def);
            core_loader_close(&loader);
            diags_free(&d);
        }
        if (archive) {
            snprintf(path, sizeof path, "%s", archive);
            free((char *)archive);
        } else {
            if (!dir)
                dir = core_store_default_dir();
            core_archive_default_path(dir, path, sizeof path);
        }
        free(dir);
    }

    json_t *res = NULL;
    struct vigil_error err = {0};
    if (core_archive_search(path, &q, &res, &err) != VIGIL_OK) {
        fprintf(stderr, "vigil search: %s\n", err.msg);
        return err.code == VIGIL_ENOTFOUND ? CLI_INVALID : CLI_FAILURE;
    }
    if (as_json) {
        char *s = json_dumps(res, JSON_INDENT(2));
        printf("%s\n", s ? s : "{}");
        free(s);
    } else {
        json_t *results = json_object_get(res, "results");
        size_t i;
        json_t *r;
        printf("%lld match%s%s\n", (long long)json_integer_value(json_object_get(res, "total")),
               json_integer_value(json_object_get(res, "total")) == 1 ? "" : "es",
               json_array_size(results) ? ", newest first:" : "");
        json_array_foreach(results, i, r)
        {
            const char *pub = json_string_value(json_object_get(r, "published"));
            printf("\n%s  %s\n", pub ? pub : json_string_value(json_object_get(r, "fetched")),
                   json_string_value(json_object_get(r, "title"))
                       ? json_string_value(json_object_get(r, "title"))
                       : "(untitled)");
            if (json_string_value(json_object_get(r, "url")))
                printf("    %s\n", json_string_value(json_object_get(r, "url")));
            if (json_string_value(json_object_get(r, "snippet")))
                printf("    %s\n", json_string_value(json_object_get(r, "snippet")));
            size_t k;
            json_t *ev;
            json_array_foreach(json_object_get(r, "events"), k, ev)
            {
                printf("    event: %s\n", json_string_value(json_object_get(ev, "title"))
                                              ? json_string_value(json_object_get(ev, "title"))
                                              : json_string_value(json_object_get(ev, "type")));
            }
        }
    }
    json_decref(res);
    return CLI_OK;
}
