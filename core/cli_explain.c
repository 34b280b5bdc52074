#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_rules.h"
#include "docfile.h"
#include "vigil/doc.h"

static const char explain_usage[] =
    "Usage: vigil explain FILE (--input DOC | --text TEXT [--title TITLE])\n"
    "                     [--rule ID] [--gazetteer FILE]... [--json]\n"
    "\n"
    "Run one document through the chain and show, for each event rule, whether it\n"
    "fired and why not: for every sentence with a trigger term, the condition that\n"
    "failed (with its JSON path in the rules file) or the blocker that stopped it\n"
    "(negation, speculation, question, a claim reported by another party).\n"
    "\n"
    "FILE is a pipeline (its transforms run) or a rules file (the chain is\n"
    "html_clean -> entities -> events over the shipped gazetteers). DOC is HTML,\n"
    "plain text or a JSON document, as for `vigil try`.\n"
    "\n"
    "  --input DOC        the document to explain\n"
    "  --text TEXT        or a text given here (with an optional --title)\n"
    "  --rule ID          only this rule\n"
    "  --gazetteer FILE   tag with FILE instead of the shipped gazetteers (rules files)\n"
    "  --json             print {\"events\", \"explain\"} as JSON\n";

static void print_events(const json_t *doc)
{
    const json_t *events = json_object_get(doc, VIGIL_DOC_EVENTS);
    if (json_array_size(events) == 0) {
        printf("events: none\n");
        return;
    }
    printf("events: %zu\n", json_array_size(events));
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e)
    {
        const json_t *ev = json_object_get(e, "evidence");
        const json_t *rule = json_object_get(e, "rule");
        printf("  %s [%s, confidence %.2f]: %s (rule %s)\n",
               json_string_value(json_object_get(e, "type")),
               json_string_value(json_object_get(e, "severity")),
               json_number_value(json_object_get(e, "confidence")),
               json_string_value(json_object_get(e, "title")),
               json_string_value(json_object_get(rule, "id")));
        const char *text = json_string_value(json_object_get(ev, "text"));
        if (text)
            printf("    evidence: \"%.300s%s\"\n", text, strlen(text) > 300 ? " ..." : "");
    }
}

int cli_explain(struct cli_globals *g, int argc, char **argv)
{
    const char *file = NULL, *input = NULL, *text = NULL, *title = NULL, *rule = NULL;
    int as_json = 0;
    struct cli_rules_opts o = {.prefix = "vigil explain"};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(explain_usage, stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            input = argv[++i];
        } else if (!strcmp(argv[i], "--text") && i + 1 < argc) {
            text = argv[++i];
        } else if (!strcmp(argv[i], "--title") && i + 1 < argc) {
            title = argv[++i];
        } else if (!strcmp(argv[i], "--rule") && i + 1 < argc) {
            rule = argv[++i];
        } else if (!strcmp(argv[i], "--gazetteer") && i + 1 < argc) {
            if (o.ngazetteers >= CLI_RULES_MAX_GAZ) {
                fprintf(stderr, "vigil explain: at most %d --gazetteer files\n",
                        CLI_RULES_MAX_GAZ);
                return CLI_USAGE;
            }
            o.gazetteers[o.ngazetteers++] = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            as_json = 1;
        } else if (argv[i][0] != '-' && !file) {
            file = argv[i];
        } else {
            fprintf(stderr, "vigil explain: unexpected argument '%s'\n\n%s", argv[i],
                    explain_usage);
            return CLI_USAGE;
        }
    }
    if (!file || (!input && !text) || (input && text)) {
        fputs(explain_usage, stderr);
        return CLI_USAGE;
    }

    json_t *doc = NULL;
    if (input) {
        char err[1024];
        if (docfile_load(input, 256u << 20, &doc, err, sizeof err) != 0) {
            fprintf(stderr, "vigil explain: %s\n", err);
            return CLI_INVALID;
        }
        cli_chain_prepare(doc, input);
        json_t *meta = json_object_get(doc, VIGIL_DOC_META);
        if (!json_is_object(meta)) {
            meta = json_object();
            json_object_set_new(doc, VIGIL_DOC_META, meta);
        }
        json_object_set_new(meta, "explain", json_true());
    } else {
        json_t *tc = json_pack("{s:s}", "text", text);
        if (title)
            json_object_set_new(tc, "title", json_string(title));
        doc = cli_rules_case_doc(tc, text);
        json_decref(tc);
    }

    struct cli_rules r;
    int rc = cli_rules_open(&r, g, file, &o);
    if (rc == CLI_OK) {
        struct vigil_error err = {0};
        const char *stage = NULL;
        int res = cli_rules_run(&r, doc, &stage, &err);
        if (res == VIGIL_DROP)
            fprintf(stderr, "vigil explain: stage '%s' dropped the document; later stages "
                            "did not run\n",
                    stage ? stage : "?");
        else if (res < 0)
            fprintf(stderr, "vigil explain: stage '%s' failed: %s\n", stage ? stage : "?",
                    err.msg[0] ? err.msg : vigil_strerror(res));
        if (as_json) {
            json_t *out = json_object();
            json_t *ev = json_object_get(doc, VIGIL_DOC_EVENTS);
            json_t *ex = json_object_get(json_object_get(doc, VIGIL_DOC_META), "explain_events");
            json_object_set_new(out, "events", ev ? json_incref(ev) : json_array());
            json_object_set_new(out, "explain", ex ? json_incref(ex) : json_null());
            char *s = json_dumps(out, JSON_INDENT(2));
            if (s)
                printf("%s\n", s);
            free(s);
            json_decref(out);
        } else {
            const char *t = json_string_value(json_object_get(doc, VIGIL_DOC_TITLE));
            printf("document: %s (lang %s, %zu sentences, %zu entity mentions)\n",
                   t ? t : "(no title)",
                   json_string_value(json_object_get(doc, VIGIL_DOC_LANG))
                       ? json_string_value(json_object_get(doc, VIGIL_DOC_LANG))
                       : "?",
                   json_array_size(json_object_get(doc, VIGIL_DOC_SENTENCES)),
                   json_array_size(
                       json_object_get(json_object_get(doc, VIGIL_DOC_ENTITIES), "mentions")));
            print_events(doc);
            printf("rules:\n");
            cli_rules_print_explain(stdout, doc, rule, NULL, "  ");
        }
        if (res < 0)
            rc = CLI_FAILURE;
    }
    cli_rules_close(&r);
    json_decref(doc);
    return rc;
}
