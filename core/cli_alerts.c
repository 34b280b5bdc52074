/*
 * vigil alerts - look at and act on the alert outbox of a state directory:
 * pending, delivered and dead alerts; send dead ones again; purge old rows.
 * Safe while a `vigil run` uses the same state (SQLite WAL, short
 * transactions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "datetime.h"
#include "outbox.h"
#include "alert_text.h"
#include "pipeline.h"
#include "units.h"

static const char alerts_usage[] =
    "Usage: vigil alerts COMMAND [OPTIONS]\n"
    "\n"
    "  list [--state pending|delivered|dead|digest] [--since 7d] [--limit N]\n"
    "       [--json | --text]\n"
    "                  alerts in the outbox, newest first (--text: each alert as\n"
    "                  people read it: title, actor, object, evidence, why)\n"
    "  show ID [--text] one alert (delivery id, alert id or outbox number) with its\n"
    "                  outbox state and payload\n"
    "  retry ID|--dead send a dead alert (or every dead alert) again\n"
    "  purge [--older-than 30d]\n"
    "                  delete delivered alerts and dead letters older than that\n"
    "\n"
    "Which state: --state-dir DIR, or --pipeline FILE (its settings.state_dir),\n"
    "else the default (docs/cli.md).\n";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fmt_time(json_t *v, char *out)
{
    if (json_is_integer(v))
        datetime_format_iso(json_integer_value(v), out, 32);
    else
        snprintf(out, 32, "-");
}

static int open_outbox(struct cli_globals *g, const char *state_dir, const char *pipeline,
                       struct core_store **store, struct core_outbox **out)
{
    char *dir = NULL;
    if (state_dir) {
        dir = strdup(state_dir);
    } else if (pipeline) {
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
        dir = def->settings.state_dir ? strdup(def->settings.state_dir) : NULL;
        core_pipeline_free(def);
        core_loader_close(&loader);
        diags_free(&d);
    }
    if (!dir)
        dir = core_store_default_dir();
    struct vigil_error err = {0};
    if (core_store_open(dir, &g->log, store, &err) != VIGIL_OK ||
        core_outbox_open(*store, 0, out, &err) != VIGIL_OK) {
        fprintf(stderr, "vigil alerts: %s\n", err.msg);
        free(dir);
        return CLI_FAILURE;
    }
    free(dir);
    return CLI_OK;
}

static void print_rows(json_t *rows)
{
    size_t i;
    json_t *r;
    printf("%-6s %-10s %-7s %-24s %-8s %-21s %-22s %s\n", "SEQ", "STATE", "KIND", "SINK",
           "ATTEMPTS", "CREATED", "DELIVERY ID", "TITLE");
    json_array_foreach(rows, i, r)
    {
        char created[32], sink[128];
        fmt_time(json_object_get(r, "created"), created);
        snprintf(sink, sizeof sink, "%s/%s", json_string_value(json_object_get(r, "pipeline")),
                 json_string_value(json_object_get(r, "sink")));
        const char *title = json_string_value(json_object_get(json_object_get(r, "payload"),
                                                              "title"));
        printf("%-6lld %-10s %-7s %-24s %-8lld %-21s %-22s %s\n",
               (long long)json_integer_value(json_object_get(r, "seq")),
               json_string_value(json_object_get(r, "state")),
               json_string_value(json_object_get(r, "kind")), sink,
               (long long)json_integer_value(json_object_get(r, "attempts")), created,
               json_string_value(json_object_get(r, "delivery_id")), title ? title : "");
        const char *err = json_string_value(json_object_get(r, "last_error"));
        if (err && *err)
            printf("       last error: %s\n", err);
    }
    if (json_array_size(rows) == 0)
        printf("(no alerts)\n");
}

/* Each listed alert's payload as text, with its outbox state. */
static void print_texts(struct core_outbox *o, json_t *rows)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "delivery_id"));
        json_t *row = id ? core_outbox_show(o, id) : NULL;
        char *s = row ? alert_text(json_object_get(row, "payload")) : NULL;
        if (s)
            printf("%s    state %s, %lld attempt%s, sink %s\n\n", s,
                   json_string_value(json_object_get(r, "state")),
                   (long long)json_integer_value(json_object_get(r, "attempts")),
                   json_integer_value(json_object_get(r, "attempts")) == 1 ? "" : "s",
                   json_string_value(json_object_get(r, "sink")));
        free(s);
        json_decref(row);
    }
    if (json_array_size(rows) == 0)
        printf("(no alerts)\n");
}

int cli_alerts(struct cli_globals *g, int argc, char **argv)
{
    const char *state_dir = NULL, *pipeline = NULL, *state = NULL, *id = NULL;
    int as_json = 0, as_text = 0, all_dead = 0;
    long limit = 100;
    int64_t since_ms = 0, older_ms = 30LL * 86400000;
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(alerts_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            as_json = 1;
        } else if (!strcmp(a, "--text")) {
            as_text = 1;
        } else if (!strcmp(a, "--dead")) {
            all_dead = 1;
        } else if (!strcmp(a, "--state-dir") && v) {
            state_dir = v;
            i++;
        } else if (!strcmp(a, "--pipeline") && v) {
            pipeline = v;
            i++;
        } else if (!strcmp(a, "--state") && v) {
            state = v;
            i++;
        } else if (!strcmp(a, "--limit") && v) {
            limit = strtol(v, NULL, 10);
            i++;
        } else if ((!strcmp(a, "--since") || !strcmp(a, "--older-than")) && v) {
            int64_t ms;
            if (units_parse_duration_ms(v, &ms) != 0) {
                fprintf(stderr, "vigil alerts: %s expects a duration like 7d, got '%s'\n", a, v);
                return CLI_USAGE;
            }
            if (!strcmp(a, "--since"))
                since_ms = now_ms() - ms;
            else
                older_ms = ms;
            i++;
        } else if (a[0] != '-' && !id) {
            id = a;
        } else {
            fprintf(stderr, "vigil alerts: unexpected argument '%s'\n\n%s", a, alerts_usage);
            return CLI_USAGE;
        }
    }
    if (state && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "dead") &&
        strcmp(state, "digest")) {
        fprintf(stderr, "vigil alerts: --state is pending, delivered, dead or digest\n");
        return CLI_USAGE;
    }

    struct core_store *store;
    struct core_outbox *o;
    int rc = open_outbox(g, state_dir, pipeline, &store, &o);
    if (rc != CLI_OK)
        return rc;
    if (!strcmp(cmd, "list")) {
        json_t *rows = core_outbox_list(o, state, since_ms, (int)limit, 1);
        if (as_json) {
            char *s = json_dumps(rows, JSON_INDENT(2));
            printf("%s\n", s ? s : "[]");
            free(s);
        } else if (as_text) {
            print_texts(o, rows);
        } else {
            print_rows(rows);
        }
        json_decref(rows);
    } else if (!strcmp(cmd, "show")) {
        json_t *row = id ? core_outbox_show(o, id) : NULL;
        if (!row) {
            fprintf(stderr, "vigil alerts: no alert '%s'\n", id ? id : "(missing id)");
            rc = CLI_INVALID;
        } else {
            char *s = as_text ? alert_text(json_object_get(row, "payload"))
                              : json_dumps(row, JSON_INDENT(2));
            printf("%s%s", s ? s : "", as_text ? "" : "\n");
            free(s);
            json_decref(row);
        }
    } else if (!strcmp(cmd, "retry")) {
        if (!id && !all_dead) {
            fprintf(stderr, "vigil alerts retry: give an alert id or --dead\n");
            rc = CLI_USAGE;
        } else {
            int n = core_outbox_requeue(o, all_dead ? NULL : id, now_ms());
            printf("%d alert%s queued again\n", n, n == 1 ? "" : "s");
            if (n == 0 && id)
                rc = CLI_INVALID;
        }
    } else if (!strcmp(cmd, "purge")) {
        int n = core_outbox_purge(o, now_ms(), older_ms);
        printf("%d row%s deleted\n", n, n == 1 ? "" : "s");
    } else {
        fprintf(stderr, "vigil alerts: unknown command '%s'\n\n%s", cmd, alerts_usage);
        rc = CLI_USAGE;
    }
    core_outbox_close(o);
    core_store_close(store);
    return rc;
}
