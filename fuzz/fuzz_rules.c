/*
 * Event rule files: arbitrary bytes compiled as a rules file that sits next
 * to the shipped ones (so "lexicons/blockers.json" resolves). A refused
 * file has at least one error located at FILE:LINE:COL; an accepted one is
 * evaluated on a short fixed document with mentions, explanations on, and
 * every event's evidence lies inside its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "fuzz_check.h"
#include "rules.h"

#ifndef FUZZ_RULES_DIR
#error "FUZZ_RULES_DIR (the shipped rules directory) must be defined"
#endif

static const char title[] = "Kremlin confirms North Korean troops in Kursk";
static const char text[] =
    "Russia's defence ministry confirmed on Monday that North Korean troops had been deployed "
    "to Kursk. Ukraine denied that its forces withdrew, Zelensky said. \"We will not send "
    "tanks,\" a Pentagon spokesman told reporters in Washington. Did Moscow sign a pact with "
    "Pyongyang? Peskov refused to comment.";

/* Mentions as the entities transform would write them, placed at every
 * occurrence of their surface. */
static const struct {
    const char *surface, *id, *type, *aff;
    int demonym;
} ents[] = {{"Russia", "RU", "country", "RU", 0},
            {"North Korean", "KP", "country", "KP", 1},
            {"Kursk", "place:kursk", "place", "RU", 0},
            {"Kremlin", "org:kremlin", "organisation", "RU", 0},
            {"Ukraine", "UA", "country", "UA", 0},
            {"Zelensky", "person:volodymyr-zelensky", "person", "UA", 0},
            {"Pentagon", "org:pentagon", "organisation", "US", 0},
            {"Washington", "place:washington", "place", "US", 0},
            {"Moscow", "place:moscow", "place", "RU", 0},
            {"Pyongyang", "place:pyongyang", "place", "KP", 0},
            {"Peskov", "person:dmitry-peskov", "person", "RU", 0}};

static json_t *template_doc;

static void add_mentions(json_t *ms, const char *field, int is_title)
{
    for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++) {
        size_t n = strlen(ents[k].surface);
        for (const char *p = strstr(field, ents[k].surface); p;
             p = strstr(p + n, ents[k].surface)) {
            json_t *m =
                json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "id", ents[k].id, "type",
                          ents[k].type, "name", ents[k].surface, "surface", ents[k].surface,
                          "start", (json_int_t)(p - field), "end",
                          (json_int_t)(p - field + (json_int_t)n), "affiliation", ents[k].aff);
            if (ents[k].demonym)
                json_object_set_new(m, "demonym", json_true());
            if (is_title) {
                json_object_set_new(m, "field", json_string("title"));
                json_object_set_new(m, "sentence", json_integer(-1));
            }
            json_array_append_new(ms, m);
        }
    }
}

static json_t *make_template(void)
{
    json_t *ms = json_array();
    add_mentions(ms, title, 1);
    add_mentions(ms, text, 0);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:o}}", "id", "fuzz", "title", title, "text", text,
                     "lang", "en", "entities", "mentions", ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!template_doc && !(template_doc = make_template()))
        abort();
    const char *names[] = {FUZZ_RULES_DIR "/fuzz.json"};
    const char *texts[] = {(const char *)data};
    size_t lens[] = {size};
    struct diags d = {0};
    struct ruleset *rs = rules_load_buffers(names, texts, lens, 1, &d);
    if (!rs) {
        int located = 0;
        for (size_t i = 0; i < d.n; i++)
            located |= d.v[i].file != NULL && d.v[i].line > 0;
        if (!located) {
            diags_print(&d, stderr);
            fuzz_fail("rules refused without an error located in the file");
        }
        diags_free(&d);
        return 0;
    }
    if (diags_count(&d) != 0)
        fuzz_fail("rules accepted with %zu errors", diags_count(&d));
    diags_free(&d);

    struct ev_worker *w = NULL;
    struct vigil_error err = {0};
    if (ev_worker_new(rs, &w, &err) != VIGIL_OK)
        fuzz_fail("ev_worker_new: %s", err.msg);
    json_t *doc = json_deep_copy(template_doc);
    struct ev_opts opts = {0, 0, 1};
    if (ev_process(rs, w, doc, &opts, &err) != VIGIL_OK)
        fuzz_fail("ev_process: %s", err.msg);
    fuzz_check_events(doc, 0);
    json_decref(doc);
    ev_worker_free(w);
    rules_free(rs);
    return 0;
}
