#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "cli.h"
#include "cli_chain.h"
#include "docfile.h"
#include "engine.h"
#include "pipeline.h"

static const char try_usage[] =
    "Usage: vigil try PIPELINE.json --input FILE [--json] [--full]\n"
    "\n"
    "Run one document through the pipeline's transforms (no sources, no sinks)\n"
    "and print what each stage added, changed or removed. FILE is HTML (.html),\n"
    "plain text (.txt: first line is the title when followed by a blank line)\n"
    "or a JSON document (.json).\n"
    "\n"
    "  --json   print the stages and the final document as one JSON object\n"
    "  --full   also print the final document (pretty JSON)\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One-line rendering of a value, cut to about max characters on a UTF-8
 * boundary. */
static void summary(const json_t *v, char *out, size_t max)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        snprintf(out, max, "?");
        return;
    }
    size_t n = strlen(s);
    if (n + 1 <= max) {
        memcpy(out, s, n + 1);
    } else {
        size_t cut = max > 40 ? max - 40 : max / 2;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        snprintf(out, max, "%.*s... (%zu bytes)", (int)cut, s, n);
    }
    free(s);
}

static void print_value(const char *sign, const char *key, const json_t *v)
{
    char buf[400];
    if (json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0))) {
        printf("  %s %s: %zu item%s\n", sign, key, json_array_size(v),
               json_array_size(v) == 1 ? "" : "s");
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (i == 25) {
                printf("      ... %zu more\n", json_array_size(v) - 25);
                break;
            }
            summary(item, buf, 200);
            printf("      %s\n", buf);
        }
        return;
    }
    if (json_is_object(v) && json_object_size(v) > 0 && strcmp(key, "meta") != 0) {
        printf("  %s %s:\n", sign, key);
        const char *k;
        const json_t *sub;
        json_object_foreach((json_t *)v, k, sub)
        {
            char label[256];
            snprintf(label, sizeof label, "%s.%s", key, k);
            print_value(sign, label, sub);
        }
        return;
    }
    summary(v, buf, 160);
    printf("  %s %s: %s\n", sign, key, buf);
}

/* Print and record (in `out`, for --json) what changed between two
 * versions of an object; nested one level into "meta" and "entities". */
static void diff(const json_t *before, const json_t *after, const char *prefix, json_t *out,
                 int print)
{
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe((json_t *)after, tmp, key, v)
    {
        char label[256];
        snprintf(label, sizeof label, "%s%s", prefix, key);
        const json_t *old = json_object_get(before, key);
        if (!old) {
            if (print)
                print_value("+", label, v);
            json_object_set(json_object_get(out, "added"), label, v);
        } else if (!json_equal(old, v)) {
            if ((!strcmp(key, "meta") || !strcmp(key, "entities")) && json_is_object(v) &&
                json_is_object(old) && !*prefix) {
                char sub[64];
                snprintf(sub, sizeof sub, "%s.", key);
                diff(old, v, sub, out, print);
            } else {
                if (print)
                    print_value("~", label, v);
                json_object_set(json_object_get(out, "changed"), label, v);
            }
        }
    }
    json_object_foreach_safe((json_t *)before, tmp, key, v)
    {
        if (!json_object_get(after, key)) {
            char label[256];
            snprintf(label, sizeof label, "%s%s", prefix, key);
            if (print)
                printf("  - %s\n", label);
            json_array_append_new(json_object_get(out, "removed"), json_string(label));
        }
    }
}

int cli_try(struct cli_globals *g, int argc, char **argv)
{
    const char *file = NULL, *input = NULL;
    int as_json = 0, full = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(try_usage, stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            input = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (!strcmp(argv[i], "--full")) {
            full = 1;
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "vigil try: unexpected argument '%s'\n\n%s", argv[i], try_usage);
            return CLI_USAGE;
        }
    }
    if (!file || !input) {
        fputs(try_usage, stderr);
        return CLI_USAGE;
    }

    struct core_loader loader;
    struct diags d = {0};
    struct core_pipeline_def *def = NULL;
    cli_loader_init(g, &loader);
    if (core_pipeline_load(file, &loader, &def, &d) != VIGIL_OK) {
        diags_print(&d, stderr);
        diags_free(&d);
        core_loader_close(&loader);
        return CLI_INVALID;
    }
    diags_free(&d);

    char err[1024];
    json_t *doc = NULL;
    if (docfile_load(input, 256u << 20, &doc, err, sizeof err) != 0) {
        fprintf(stderr, "vigil try: %s\n", err);
        core_pipeline_free(def);
        core_loader_close(&loader);
        return CLI_INVALID;
    }
    cli_chain_prepare(doc, input);

    struct cli_chain chain;
    struct vigil_error verr = {0};
    int rc = CLI_OK;
    if (cli_chain_open(&chain, g, &loader, def, &verr) != VIGIL_OK) {
        fprintf(stderr, "vigil try: %s\n", verr.msg);
        rc = CLI_FAILURE;
    }
    size_t ntransforms = chain.ntransforms;
    const struct core_pipeline_def *pd = chain.def;
    struct core_pipeline *pl = chain.pl;
    (void)pl;

    json_t *report = json_pack("{s:s, s:[]}", "input", input, "stages");
    for (size_t i = 0; i < ntransforms; i++) {
        const struct core_stage_def *st = &pd->transforms[i];
        json_t *before = json_deep_copy(doc);
        struct vigil_error serr = {0};
        double t0 = now_ms();
        int res = cli_chain_step(&chain, i, doc, &serr);
        double ms = now_ms() - t0;
        const char *what = res == VIGIL_PASS ? "pass" : res == VIGIL_DROP ? "drop" : "error";
        json_t *stage = json_pack("{s:s, s:s, s:s, s:f, s:{}, s:{}, s:[]}", "id", st->id,
                                  "plugin", st->plugin->desc.name, "result", what, "ms", ms,
                                  "added", "changed", "removed");
        if (!as_json) {
            printf("== %zu/%zu %s (%s %s): %s, %.1f ms\n", i + 1, ntransforms, st->id,
                   st->plugin->desc.name, st->plugin->desc.version, what, ms);
            if (res < 0)
                printf("  ! %s\n", serr.msg[0] ? serr.msg : vigil_strerror(res));
        }
        if (res < 0)
            json_object_set_new(stage, "error", json_string(serr.msg));
        diff(before, doc, "", stage, !as_json);
        json_array_append_new(json_object_get(report, "stages"), stage);
        json_decref(before);
        if (res == VIGIL_DROP) {
            if (!as_json)
                printf("  (dropped: later stages would not see this document)\n");
            break;
        }
        if (res < 0 && st->on_error_drop)
            break;
    }
    if (as_json) {
        json_object_set(report, "document", doc);
        char *s = json_dumps(report, JSON_INDENT(2));
        if (s)
            printf("%s\n", s);
        free(s);
    } else if (full) {
        char *s = json_dumps(doc, JSON_INDENT(2));
        if (s)
            printf("== document\n%s\n", s);
        free(s);
    }
    json_decref(report);
    json_decref(doc);

    cli_chain_close(&chain);
    core_loader_close(&loader);
    return rc;
}
