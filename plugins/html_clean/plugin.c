/*
 * html_clean - transform: article text, metadata, language and sentences
 * from fetched pages (see docs/cleaning.md). A thin adapter: all the work
 * is in clean_*.c, which know nothing of the host.
 */
#include <stddef.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "clean.h"
#include "vigil/plugin.h"

struct state {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct clean_conf *conf;
    struct vigil_counter *docs, *errors;
};

static const char *const preset_names[] = {"precision", "recall", NULL};

static const struct vigil_option options[] = {
    {"preset", VIGIL_OPT_ENUM, "precision", 0, offsetof(struct clean_conf, preset), VIGIL_NOBOUNDS,
     preset_names, "extraction preset: precision (drop doubtful lines) or recall (keep them)"},
    {"max_html", VIGIL_OPT_SIZE, "10MB", 0, offsetof(struct clean_conf, max_html), 1024,
     (double)CLEAN_MAX_HTML_LIMIT, NULL,
     "pages larger than this are cut to this size before parsing (recorded in meta.errors)"},
    {"keep_html", VIGIL_OPT_BOOL, "false", 0, offsetof(struct clean_conf, keep_html),
     VIGIL_NOBOUNDS, NULL, "keep the raw \"html\" field after extraction"},
    {"min_text", VIGIL_OPT_SIZE, "250", 0, offsetof(struct clean_conf, min_text), 0, 1048576.0,
     NULL,
     "bytes of text below which a page is not taken as an article (the source's text or "
     "summary is used instead)"},
    {"lang_detect", VIGIL_OPT_BOOL, "true", 0, offsetof(struct clean_conf, lang_detect),
     VIGIL_NOBOUNDS, NULL, "identify the language of the text (lang, meta.lang_confidence)"},
    {"languages", VIGIL_OPT_STRLIST, NULL, 0, offsetof(struct clean_conf, languages), 0, 200.0,
     NULL, "ISO 639-1 codes language identification may answer (default: all 130 known)"},
    {"fingerprints", VIGIL_OPT_STR, CLEAN_LANG_DEFAULT_CONF, VIGIL_OPT_PATH,
     offsetof(struct clean_conf, fingerprints), VIGIL_NOBOUNDS, NULL,
     "libexttextcat fpdb.conf; the .lm files are read from its directory"},
    {"sentences", VIGIL_OPT_BOOL, "true", 0, offsetof(struct clean_conf, sentences), VIGIL_NOBOUNDS,
     NULL, "write sentence spans (\"sentences\")"},
    {0}};

static int create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                  void **state, struct vigil_error *err)
{
    const struct clean_conf *c = conf;
    /* libxml2's global tables must be set up once before worker threads
       parse (xmlInitParser is idempotent and cheap after the first call). */
    xmlInitParser();
    /* Open one classifier now so a missing fingerprint directory fails the
       pipeline at start instead of every document later. */
    if (c->lang_detect) {
        struct clean_lang *probe = NULL;
        int rc = clean_lang_open(c->fingerprints, (const char *const *)c->languages.v,
                                 c->languages.n, &probe, err);
        if (rc)
            return rc;
        clean_lang_close(probe);
    }
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");
    s->host = host;
    s->ins = ins;
    s->conf = c;
    s->docs = host->counter(ins, "html_clean_documents", "documents cleaned");
    s->errors = host->counter(ins, "html_clean_errors", "documents with a cleaning problem");
    *state = s;
    return 0;
}

static void destroy(void *state)
{
    free(state);
}

static int worker_init(void *state, void **wstate, struct vigil_error *err)
{
    struct state *s = state;
    struct clean_worker *w = NULL;
    int rc = clean_worker_new(s->conf, &w, err);
    if (rc)
        return rc;
    *wstate = w;
    return 0;
}

static void worker_fini(void *state, void *wstate)
{
    (void)state;
    clean_worker_free(wstate);
}

static int process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    struct state *s = state;
    struct clean_worker *w = wstate;
    struct clean_worker *own = NULL;
    if (!w) {
        /* a host that runs no worker_init: a worker for this call only */
        int rc = clean_worker_new(s->conf, &own, err);
        if (rc)
            return rc;
        w = own;
    }
    json_t *meta = json_object_get(doc, VIGIL_DOC_META);
    json_t *errs = json_object_get(meta, "errors");
    size_t errs_before = json_is_array(errs) ? json_array_size(errs) : 0;

    int rc = clean_document(w, doc, s->host->now_ms(), err);
    clean_worker_free(own);

    if (s->docs)
        s->host->counter_add(s->docs, 1);
    meta = json_object_get(doc, VIGIL_DOC_META);
    errs = json_object_get(meta, "errors");
    if (rc < 0 || (json_is_array(errs) && json_array_size(errs) > errs_before)) {
        if (s->errors)
            s->host->counter_add(s->errors, 1);
    }
    return rc;
}

static const struct vigil_plugin html_clean_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "html_clean",
    .version = "1.0.0",
    .description = "article text, metadata, language and sentences from fetched pages",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .flags = 0,
    .options = options,
    .conf_size = sizeof(struct clean_conf),
    .create = create,
    .destroy = destroy,
    .process = process,
    .worker_init = worker_init,
    .worker_fini = worker_fini,
};

VIGIL_PLUGIN_EXPORT(html_clean_plugin)
