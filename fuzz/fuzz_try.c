/*
 * A whole document through the analysis chain, as `vigil try` runs it:
 * html_clean -> entities -> events, through the three plugins' library
 * APIs, with a small fixed gazetteer (tests/entities/fixtures) and the
 * shipped rules/military.json, both compiled once.
 *
 * The input is a page (HTML), or a document (a JSON object) when it starts
 * with '{': then any field may be hostile (text, title, lang, sentences,
 * published...), and a document that already carries "entities" skips the
 * entities stage so the events engine reads hostile mentions too.
 *
 * Beyond "no crash": every stage handles the document; entity mentions
 * written by the entities stage lie in their field, on code point
 * boundaries, with a surface equal to those bytes; every event's evidence
 * lies in its field and its text equals those bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "ent.h"
#include "ev.h"
#include "fuzz_check.h"
#include "rules.h"

#ifndef FUZZ_GAZETTEER_DIR
#error "FUZZ_GAZETTEER_DIR (tests/entities/fixtures) must be defined"
#endif
#ifndef FUZZ_RULES_FILE
#error "FUZZ_RULES_FILE (rules/military.json) must be defined"
#endif

#define NOW_MS 1735689600000LL /* 2025-01-01T00:00:00Z */

static struct clean_worker *clean_w;
static struct ent_matcher *ent_m;
static struct ent_worker *ent_w;
static struct ruleset *rules;
static struct ev_worker *ev_w;

static void setup(void)
{
    struct vigil_error err = {0};
    struct clean_conf c;
    clean_conf_defaults(&c);
    if (clean_worker_new(&c, &clean_w, &err) != 0)
        fuzz_fail("clean_worker_new: %s", err.msg);

    const char *gaz[] = {FUZZ_GAZETTEER_DIR "/wire.json", FUZZ_GAZETTEER_DIR "/world.json"};
    struct ent_options opt = {NULL, 1, 1, 2000};
    struct diags errors = {0};
    if (ent_matcher_open(&ent_m, gaz, 2, &opt, &errors, NULL, NULL, &err) != 0) {
        diags_print(&errors, stderr);
        fuzz_fail("ent_matcher_open: %s", err.msg);
    }
    diags_free(&errors);
    if (ent_worker_create(ent_m, &ent_w, &err) != 0)
        fuzz_fail("ent_worker_create: %s", err.msg);

    const char *paths[] = {FUZZ_RULES_FILE};
    struct diags d = {0};
    if (!(rules = rules_load(paths, 1, &d))) {
        diags_print(&d, stderr);
        fuzz_fail("rules_load");
    }
    diags_free(&d);
    if (ev_worker_new(rules, &ev_w, &err) != VIGIL_OK)
        fuzz_fail("ev_worker_new: %s", err.msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!clean_w)
        setup(); /* replayed without libFuzzer (tests/support/fuzz_main.c) */
    json_t *doc;
    if (size > 0 && data[0] == '{') {
        doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(doc)) {
            json_decref(doc);
            return 0; /* sources only emit objects */
        }
    } else {
        doc = json_object();
        json_object_set_new(doc, "id", json_string("fuzz"));
        json_object_set_new(doc, "url",
                            json_string("https://news.example.org/world/2024/11/04/story.html"));
        json_object_set_new(doc, "html", json_stringn_nocheck((const char *)data, size));
    }
    struct vigil_error err = {0};
    int rc = clean_document(clean_w, doc, NOW_MS, &err);
    if (rc != VIGIL_PASS)
        fuzz_fail("clean_document: %d %s", rc, err.msg);
    if (!json_object_get(doc, "entities")) {
        if ((rc = ent_process(ent_m, ent_w, doc, NOW_MS, &err)) != 0)
            fuzz_fail("ent_process: %d %s", rc, err.msg);
        fuzz_check_mentions(doc);
    }
    /* A document may come with events of its own: only new ones are checked. */
    const json_t *given = json_object_get(doc, "events");
    size_t first = json_is_array(given) ? json_array_size(given) : 0;
    struct ev_opts opts = {0, 0, 0};
    if ((rc = ev_process(rules, ev_w, doc, &opts, &err)) != VIGIL_OK)
        fuzz_fail("ev_process: %d %s", rc, err.msg);
    fuzz_check_events(doc, first);
    json_decref(doc);
    return 0;
}
