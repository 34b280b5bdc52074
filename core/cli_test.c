#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_rules.h"
#include "vigil/doc.h"

static const char test_usage[] =
    "Usage: vigil test FILE... [--gazetteer FILE]... [--case TEXT] [--verbose] [--json]\n"
    "\n"
    "Run the test cases declared in rules files (their \"tests\" array: input text,\n"
    "expected events, event types that must not appear) through the real chain and\n"
    "report which pass. FILE is a rules file (the chain is html_clean -> entities\n"
    "-> events over the shipped gazetteers) or a pipeline (its transforms run, and\n"
    "the cases come from the rules files of its events stages; dedupe stages are\n"
    "skipped because test cases are independent documents). Nothing is written to\n"
    "any pipeline's state.\n"
    "\n"
    "  --gazetteer FILE   tag entities with FILE instead of the shipped gazetteers\n"
    "                     (repeatable; rules files only)\n"
    "  --case TEXT        run only cases whose name contains TEXT\n"
    "  -v, --verbose      for each failing case, explain the rules of its event types\n"
    "  --json             one JSON object per case on stdout\n"
    "\n"
    "Exit status: 0 every case passed, 1 a case failed, 3 a file is invalid or has\n"
    "no test cases.\n";

static int field_eq(const json_t *want, const json_t *got, const char *key)
{
    const char *w = json_string_value(json_object_get(want, key));
    const char *g = json_string_value(json_object_get(got, key));
    return !w || (g && strcmp(w, g) == 0);
}

/* "type actor->object, ..." of the events of doc. */
static void summarise(const json_t *events, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e)
    {
        const char *a = json_string_value(json_object_get(e, "actor"));
        const char *o = json_string_value(json_object_get(e, "object"));
        int w = snprintf(out + n, len - n, "%s%s %s->%s", i ? ", " : "",
                         json_string_value(json_object_get(e, "type")), a ? a : "?", o ? o : "?");
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(out, len, "no events");
}

static size_t count_type(const json_t *arr, const char *key, const char *type)
{
    size_t n = 0, i;
    const json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *t = key ? json_string_value(json_object_get(e, key)) : json_string_value(e);
        n += t && strcmp(t, type) == 0;
    }
    return n;
}

/*
 * Check doc's events against the case (docs/rules.md, "Test cases"): each
 * expected entry matches a distinct event; events of an expected type are
 * exactly as many as expected; no event of an expect_none type. Returns 0,
 * or -1 with why filled and *type set to the event type at fault.
 */
static int check_case(const json_t *tc, const json_t *doc, char *why, size_t len,
                      const char **type)
{
    const json_t *events = json_object_get(doc, VIGIL_DOC_EVENTS);
    const json_t *expect = json_object_get(tc, "expect");
    const json_t *none = json_object_get(tc, "expect_none");
    size_t nev = json_array_size(events);
    char got[1024];
    summarise(events, got, sizeof got);
    unsigned char *used = calloc(nev + 1, 1);
    size_t i;
    const json_t *e;
    json_array_foreach(expect, i, e)
    {
        int found = 0;
        for (size_t k = 0; k < nev && !found; k++) {
            const json_t *ev = json_array_get(events, k);
            if (!used[k] && field_eq(e, ev, "type") && field_eq(e, ev, "actor") &&
                field_eq(e, ev, "object") && field_eq(e, ev, "severity")) {
                used[k] = 1;
                found = 1;
            }
        }
        if (!found) {
            const char *a = json_string_value(json_object_get(e, "actor"));
            const char *o = json_string_value(json_object_get(e, "object"));
            *type = json_string_value(json_object_get(e, "type"));
            snprintf(why, len, "expected %s (actor %s, object %s), got %s", *type, a ? a : "any",
                     o ? o : "any", got);
            free(used);
            return -1;
        }
    }
    free(used);
    json_array_foreach(events, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "type"));
        if (!t)
            continue;
        size_t want = count_type(expect, "type", t);
        if (want > 0 && count_type(events, "type", t) != want) {
            *type = t;
            snprintf(why, len, "expected %zu %s event%s, got %s", want, t, want == 1 ? "" : "s",
                     got);
            return -1;
        }
        if (count_type(none, NULL, t) > 0) {
            *type = t;
            snprintf(why, len, "expected no %s event, got %s", t, got);
            return -1;
        }
    }
    return 0;
}

struct totals {
    int cases, failed;
};

static void run_file(struct cli_rules *r, const char *rules_file, const char *only, int verbose,
                     int as_json, struct totals *t)
{
    json_error_t je;
    json_t *root = json_load_file(rules_file, 0, &je);
    json_t *tests = json_object_get(root, "tests");
    size_t i;
    json_t *tc;
    int cases = 0, failed = 0;
    json_array_foreach(tests, i, tc)
    {
        const char *name = json_string_value(json_object_get(tc, "name"));
        if (!name)
            name = "?";
        if (only && !strstr(name, only))
            continue;
        char seed[600];
        snprintf(seed, sizeof seed, "%s#%zu", rules_file, i);
        json_t *doc = cli_rules_case_doc(tc, seed);
        struct vigil_error err = {0};
        const char *stage = NULL, *type = NULL;
        char why[1400] = "";
        int rc = cli_rules_run(r, doc, &stage, &err);
        int ok;
        if (rc == VIGIL_DROP && json_array_size(json_object_get(tc, "expect")) > 0) {
            snprintf(why, sizeof why, "dropped by stage '%s'", stage ? stage : "?");
            ok = 0;
        } else if (rc < 0) {
            snprintf(why, sizeof why, "stage '%s' failed: %s", stage ? stage : "?",
                     err.msg[0] ? err.msg : vigil_strerror(rc));
            ok = 0;
        } else {
            ok = check_case(tc, doc, why, sizeof why, &type) == 0;
        }
        cases++;
        failed += !ok;
        if (as_json) {
            json_t *o = json_pack("{s:s, s:s, s:I, s:b}", "file", rules_file, "name", name, "index",
                                  (json_int_t)i, "passed", ok);
            if (!ok)
                json_object_set_new(o, "why", json_string(why));
            json_t *ev = json_object_get(doc, VIGIL_DOC_EVENTS);
            json_object_set_new(o, "events", ev ? json_incref(ev) : json_array());
            char *s = json_dumps(o, JSON_COMPACT);
            if (s)
                printf("%s\n", s);
            free(s);
            json_decref(o);
        } else if (!ok) {
            printf("  FAIL %s\n       %s\n", name, why);
            if (verbose)
                cli_rules_print_explain(stdout, doc, NULL, type, "       ");
        } else if (verbose) {
            printf("  ok   %s\n", name);
        }
        json_decref(doc);
    }
    if (!as_json)
        printf("%s: %d case%s, %d passed, %d failed\n", rules_file, cases, cases == 1 ? "" : "s",
               cases - failed, failed);
    json_decref(root);
    t->cases += cases;
    t->failed += failed;
}

int cli_test(struct cli_globals *g, int argc, char **argv)
{
    const char *files[64];
    int nfiles = 0, verbose = 0, as_json = 0;
    const char *only = NULL;
    struct cli_rules_opts o = {.skip_dedupe = 1, .prefix = "vigil test"};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(test_usage, stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--gazetteer") && i + 1 < argc) {
            if (o.ngazetteers >= CLI_RULES_MAX_GAZ) {
                fprintf(stderr, "vigil test: at most %d --gazetteer files\n", CLI_RULES_MAX_GAZ);
                return CLI_USAGE;
            }
            o.gazetteers[o.ngazetteers++] = argv[++i];
        } else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            verbose = 1;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (argv[i][0] != '-' && nfiles < 64) {
            files[nfiles++] = argv[i];
        } else {
            fprintf(stderr, "vigil test: unexpected argument '%s'\n\n%s", argv[i], test_usage);
            return CLI_USAGE;
        }
    }
    if (nfiles == 0) {
        fputs(test_usage, stderr);
        return CLI_USAGE;
    }
    struct totals t = {0, 0};
    int rc = CLI_OK;
    for (int f = 0; f < nfiles && rc == CLI_OK; f++) {
        struct cli_rules r;
        rc = cli_rules_open(&r, g, files[f], &o);
        if (rc == CLI_OK && r.is_pipeline && o.ngazetteers > 0) {
            fprintf(stderr, "vigil test: --gazetteer applies to rules files; %s is a pipeline "
                            "(its entities stage names its gazetteers)\n",
                    files[f]);
            rc = CLI_USAGE;
        }
        int before = t.cases;
        for (size_t k = 0; rc == CLI_OK && k < r.nrule_files; k++)
            run_file(&r, r.rule_files[k], only, verbose, as_json, &t);
        if (rc == CLI_OK && t.cases == before && !only) {
            fprintf(stderr, "vigil test: %s: no test cases (%s)\n", files[f],
                    r.nrule_files ? "its rules files have no \"tests\""
                                  : "the pipeline has no events stage");
            rc = CLI_INVALID;
        }
        cli_rules_close(&r);
    }
    if (rc != CLI_OK)
        return rc;
    if (!as_json && nfiles > 1)
        printf("total: %d cases, %d passed, %d failed\n", t.cases, t.cases - t.failed, t.failed);
    return t.failed ? CLI_FAILURE : CLI_OK;
}
