/*
 * wordcount - an example Vigil plugin, built outside the Vigil tree.
 *
 * A transform that counts the words of a document's text into
 * meta.words and drops documents shorter than "min_words". It shows the
 * whole plugin contract: an option table the host validates and fills, a
 * process() hook that may run on several worker threads at once, and one
 * exported entry point.
 *
 * Build against an installed Vigil:
 *   cc -O2 -shared -o transform_wordcount.so wordcount.c $(pkg-config --cflags --libs vigil)
 * and use it with `vigil --plugin-dir DIR ...` where DIR holds the .so.
 */
#include <ctype.h>
#include <stdlib.h>

#include <vigil/plugin.h>

struct wordcount_conf {
    int64_t min_words; /* filled by the host from "options" */
};

static const struct vigil_option wordcount_options[] = {
    {"min_words", VIGIL_OPT_INT, "0", 0, offsetof(struct wordcount_conf, min_words), 0, 1e9, NULL,
     "drop documents with fewer words than this"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct wordcount {
    const struct wordcount_conf *conf; /* owned by the host */
};

static int wc_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                     void **state, struct vigil_error *err)
{
    struct wordcount *w = malloc(sizeof *w);
    (void)host;
    (void)ins;
    if (!w)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    w->conf = conf;
    *state = w;
    return VIGIL_OK;
}

/* Runs on worker threads, several documents at once: it only reads the
 * shared state and writes the document it was given. */
static int wc_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    const struct wordcount *w = state;
    const char *text = vigil_doc_str(doc, VIGIL_DOC_TEXT);
    json_int_t words = 0;
    int in_word = 0;
    (void)wstate;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        int space = isspace(*p);
        if (!space && !in_word)
            words++;
        in_word = !space;
    }
    json_t *meta = vigil_doc_meta(doc);
    if (!meta)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    json_object_set_new(meta, "words", json_integer(words));
    return words < w->conf->min_words ? VIGIL_DROP : VIGIL_PASS;
}

static void wc_destroy(void *state)
{
    free(state);
}

static const struct vigil_plugin wordcount_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "wordcount",
    .version = "1.0.0",
    .description = "count words into meta.words; drop short documents",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = wordcount_options,
    .conf_size = sizeof(struct wordcount_conf),
    .create = wc_create,
    .destroy = wc_destroy,
    .process = wc_process,
};

VIGIL_PLUGIN_EXPORT(wordcount_plugin)
