/* mark (tests): append the stage id to the document's "trail", and fail or
 * drop documents whose id contains a given text. */
#include <stdlib.h>
#include <string.h>

#include "vigil/plugin.h"

struct mark_conf {
    char *fail_if;
    char *drop_if;
};

static const struct vigil_option mark_options[] = {
    {"fail_if", VIGIL_OPT_STR, NULL, 0, offsetof(struct mark_conf, fail_if), VIGIL_NOBOUNDS, NULL,
     "return an error for ids containing this"},
    {"drop_if", VIGIL_OPT_STR, NULL, 0, offsetof(struct mark_conf, drop_if), VIGIL_NOBOUNDS, NULL,
     "drop documents whose id contains this"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct mark {
    const struct mark_conf *conf;
    char *id;
};

static int mark_create(const struct vigil_host *host, struct vigil_instance *ins,
                       const void *conf, void **state, struct vigil_error *err)
{
    struct mark *m = calloc(1, sizeof *m);
    if (!m)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    m->conf = conf;
    m->id = strdup(host->stage_id(ins));
    *state = m;
    return VIGIL_OK;
}

/* Per-worker scratch: proves each worker gets its own state. */
struct mark_worker {
    unsigned long uses;
};

static int mark_worker_init(void *state, void **wstate, struct vigil_error *err)
{
    (void)state;
    *wstate = calloc(1, sizeof(struct mark_worker));
    return *wstate ? VIGIL_OK : vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
}

static void mark_worker_fini(void *state, void *wstate)
{
    (void)state;
    free(wstate);
}

static int mark_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    struct mark *m = state;
    struct mark_worker *w = wstate;
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!w)
        return vigil_error_set(err, VIGIL_ESTATE, "no worker state");
    w->uses++;
    if (m->conf->fail_if && id && strstr(id, m->conf->fail_if))
        return vigil_error_set(err, VIGIL_EPARSE, "refusing %s on purpose", id);
    if (m->conf->drop_if && id && strstr(id, m->conf->drop_if))
        return VIGIL_DROP;
    json_t *trail = json_object_get(doc, "trail");
    if (!trail) {
        trail = json_array();
        json_object_set_new(doc, "trail", trail);
    }
    json_array_append_new(trail, json_string(m->id));
    return VIGIL_PASS;
}

static void mark_destroy(void *state)
{
    struct mark *m = state;
    free(m->id);
    free(m);
}

static const struct vigil_plugin mark_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "mark",
    .version = "1.0.0",
    .description = "test transform: record the stages a document went through",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = mark_options,
    .conf_size = sizeof(struct mark_conf),
    .create = mark_create,
    .destroy = mark_destroy,
    .process = mark_process,
    .worker_init = mark_worker_init,
    .worker_fini = mark_worker_fini,
};

VIGIL_PLUGIN_EXPORT(mark_plugin)
