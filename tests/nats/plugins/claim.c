/* claim (tests): claim the document's "key" field with host->claim, the way
 * a dedupe stage does; the first claimant passes the document on, later
 * ones drop it. In cluster mode the claim is cluster-wide. */
#include <stdlib.h>
#include <string.h>

#include "vigil/plugin.h"

struct claim_conf {
    int64_t ttl_ms;
};

static const struct vigil_option claim_options[] = {{"ttl", VIGIL_OPT_DURATION, "1h", 0,
                                                     offsetof(struct claim_conf, ttl_ms), 0,
                                                     86400000.0, NULL, "how long a claim holds"},
                                                    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct claim {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct claim_conf *conf;
};

static int claim_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                        void **state, struct vigil_error *err)
{
    struct claim *c = calloc(1, sizeof *c);
    if (!c)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    c->host = host;
    c->ins = ins;
    c->conf = conf;
    *state = c;
    return VIGIL_OK;
}

static int claim_process(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    struct claim *c = state;
    (void)wstate;
    const char *key = json_string_value(json_object_get(doc, "key"));
    if (!key)
        return VIGIL_PASS;
    int rc = c->host->claim(c->ins, key, c->conf->ttl_ms);
    if (rc == VIGIL_EEXIST)
        return VIGIL_DROP;
    if (rc != VIGIL_OK)
        return vigil_error_set(err, rc, "claim of %s failed: %s", key, vigil_strerror(rc));
    return VIGIL_PASS;
}

static void claim_destroy(void *state)
{
    free(state);
}

static const struct vigil_plugin claim_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "claim",
    .version = "1.0.0",
    .description = "test transform: first claim of a key passes, later ones are dropped",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = claim_options,
    .conf_size = sizeof(struct claim_conf),
    .create = claim_create,
    .destroy = claim_destroy,
    .process = claim_process,
};

VIGIL_PLUGIN_EXPORT(claim_plugin)
