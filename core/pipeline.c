#include "pipeline.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts.h"
#include "buf.h"
#include "hash.h"
#include "options.h"
#include "subst.h"
#include "units.h"

/* "settings" is validated with the same machinery as plugin options, so its
 * errors read the same way. */
static const struct vigil_option settings_table[] = {
    {"workers", VIGIL_OPT_INT, "-1", 0, offsetof(struct core_settings, workers), -1, 256, NULL,
     "worker threads for transforms; -1 = one per CPU, 0 = run them on the loop thread"},
    {"batch", VIGIL_OPT_INT, "64", 0, offsetof(struct core_settings, batch), 1, 4096, NULL,
     "documents handed to a worker at once"},
    {"queue_high", VIGIL_OPT_INT, "4096", 0, offsetof(struct core_settings, queue_high), 1,
     10000000, NULL, "documents in flight at which sources are paused"},
    {"queue_low", VIGIL_OPT_INT, "0", 0, offsetof(struct core_settings, queue_low), 0, 10000000,
     NULL, "documents in flight at which sources resume; 0 = a quarter of queue_high"},
    {"grace", VIGIL_OPT_DURATION, "10s", 0, offsetof(struct core_settings, grace_ms), 0,
     3600000, NULL, "how long shutdown waits for documents in flight"},
    {"state_dir", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, offsetof(struct core_settings, state_dir),
     VIGIL_NOBOUNDS, NULL, "directory for the state database"},
    {"http", VIGIL_OPT_JSON, NULL, 0, offsetof(struct core_settings, http_json), VIGIL_NOBOUNDS,
     NULL, "shared HTTP client settings (docs/http.md)"},
    {"cluster", VIGIL_OPT_JSON, NULL, 0, offsetof(struct core_settings, cluster_json),
     VIGIL_NOBOUNDS, NULL, "cluster-wide claims on NATS JetStream (docs/scale-out.md)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static const struct vigil_plugin settings_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "settings",
    .options = settings_table,
    .conf_size = sizeof(struct core_settings),
};

#define HS(f) offsetof(struct core_http_settings, f)
static const struct vigil_option http_table[] = {
    {"user_agent", VIGIL_OPT_STR, NULL, 0, HS(user_agent), VIGIL_NOBOUNDS, NULL,
     "User-Agent header (default names Vigil and its version)"},
    {"max_total", VIGIL_OPT_INT, "64", 0, HS(max_total), 1, 10000, NULL,
     "concurrent transfers, all hosts"},
    {"max_per_host", VIGIL_OPT_INT, "6", 0, HS(max_per_host), 1, 1000, NULL,
     "concurrent transfers per host"},
    {"max_queued", VIGIL_OPT_INT, "10000", 0, HS(max_queued), 1, 10000000, NULL,
     "requests waiting for a slot"},
    {"connect_timeout", VIGIL_OPT_DURATION, "10s", 0, HS(connect_timeout_ms), 1, 3600000, NULL,
     "time to connect"},
    {"timeout", VIGIL_OPT_DURATION, "30s", 0, HS(timeout_ms), 1, 86400000, NULL,
     "whole request, redirects included"},
    {"low_speed_limit", VIGIL_OPT_INT, "10", 0, HS(low_speed_limit), 0, 1e9, NULL,
     "bytes per second below which a transfer is too slow"},
    {"low_speed_time", VIGIL_OPT_DURATION, "20s", 0, HS(low_speed_time_ms), 1000, 86400000, NULL,
     "how long a transfer may stay too slow"},
    {"max_body", VIGIL_OPT_SIZE, "10MB", 0, HS(max_body), 1024, 1073741824.0, NULL,
     "largest decoded body"},
    {"max_redirects", VIGIL_OPT_INT, "5", 0, HS(max_redirects), -1, 20, NULL,
     "redirects followed (-1: none)"},
    {"http1_only", VIGIL_OPT_BOOL, "false", 0, HS(http1_only), VIGIL_NOBOUNDS, NULL,
     "never use HTTP/2"},
    {"proxy", VIGIL_OPT_STR, NULL, 0, HS(proxy), VIGIL_NOBOUNDS, NULL,
     "proxy URL; unset = http_proxy/https_proxy/no_proxy from the environment"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

const struct vigil_plugin core_http_settings_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "http",
    .options = http_table,
    .conf_size = sizeof(struct core_http_settings),
};

static const char *const top_keys[] = {"name",    "description", "settings", "sources",
                                       "transforms", "sinks",     NULL};
static const char *const source_keys[] = {"id",    "plugin",  "options", "description",
                                          "every", "jitter",  "enabled", NULL};
static const char *const transform_keys[] = {"id",       "plugin",       "options",
                                             "description", "on_error", "max_inflight", NULL};
static const char *const sink_keys[] = {"id",   "plugin", "options", "description", "when",
                                        "retry", "max_inflight", "alert", NULL};

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void keys_list(const char *const *keys, struct buf *b)
{
    for (int i = 0; keys[i]; i++)
        buf_printf(b, "%s%s", i ? ", " : "", keys[i]);
}

static int check_keys(const json_t *obj, const char *const *keys, const char *what,
                      const struct jdoc *doc, const char *pointer, struct diags *d)
{
    int errors = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int known = 0;
        for (int i = 0; keys[i] && !known; i++)
            known = strcmp(keys[i], key) == 0;
        if (known)
            continue;
        char ptr[1024];
        struct buf b;
        snprintf(ptr, sizeof ptr, "%s", pointer);
        jptr_push(ptr, sizeof ptr, key);
        buf_init(&b, 1024);
        keys_list(keys, &b);
        diags_add(d, doc, ptr, JSONPOS_KEY, "unknown key '%s' in %s; allowed: %s", key, what,
                  b.data);
        buf_free(&b);
        errors++;
    }
    return errors;
}

static int valid_id(const char *s)
{
    if (!s || !*s || strlen(s) > 63)
        return 0;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    }
    return 1;
}

static int get_duration(const json_t *v, int64_t *out)
{
    if (json_is_number(v) && json_number_value(v) >= 0) {
        *out = (int64_t)(json_number_value(v) * 1000.0);
        return 0;
    }
    return json_is_string(v) ? units_parse_duration_ms(json_string_value(v), out) : -1;
}

static int load_duration(const json_t *obj, const char *key, int64_t *out, const struct jdoc *doc,
                         const char *pointer, struct diags *d)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (get_duration(v, out) == 0)
        return 0;
    char ptr[1024], found[96];
    snprintf(ptr, sizeof ptr, "%s", pointer);
    jptr_push(ptr, sizeof ptr, key);
    jdiag_value_repr(v, found, sizeof found);
    diags_add(d, doc, ptr, JSONPOS_VALUE,
              "expected a duration like \"30s\", \"5m\" or \"250ms\", found %s", found);
    return 1;
}

static int load_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                    const struct jdoc *doc, const char *pointer, struct diags *d)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
        *out = json_integer_value(v);
        return 0;
    }
    char ptr[1024], found[96];
    snprintf(ptr, sizeof ptr, "%s", pointer);
    jptr_push(ptr, sizeof ptr, key);
    jdiag_value_repr(v, found, sizeof found);
    diags_add(d, doc, ptr, JSONPOS_VALUE, "expected an integer between %lld and %lld, found %s",
              (long long)min, (long long)max, found);
    return 1;
}

static uint64_t hash_json(uint64_t h, const json_t *v)
{
    char *s = v ? json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (s) {
        h = hash_fnv64_update(h, s, strlen(s));
        free(s);
    }
    return h;
}

/* Kind-specific keys of a stage. */
static int load_stage_extras(struct core_stage_def *st, const json_t *obj, const struct jdoc *doc,
                             struct diags *d)
{
    int errors = 0;
    char ptr[1024];
    st->every_ms = -1;
    st->enabled = 1;
    st->max_inflight = st->kind == VIGIL_SINK ? 16 : 64;
    st->retry_base_ms = 1000;
    st->retry_cap_ms = 300000;
    st->retry_limit = 10;

    if (st->kind == VIGIL_SOURCE) {
        errors += load_duration(obj, "every", &st->every_ms, doc, st->pointer, d);
        errors += load_duration(obj, "jitter", &st->jitter_ms, doc, st->pointer, d);
        const json_t *en = json_object_get(obj, "enabled");
        if (en && !json_is_boolean(en)) {
            snprintf(ptr, sizeof ptr, "%s/enabled", st->pointer);
            diags_add(d, doc, ptr, JSONPOS_VALUE, "expected true or false, found %s",
                      jdiag_type_name(en));
            errors++;
        } else if (en) {
            st->enabled = json_is_true(en);
        }
        if (st->every_ms == 0) {
            snprintf(ptr, sizeof ptr, "%s/every", st->pointer);
            diags_add(d, doc, ptr, JSONPOS_VALUE, "expected a duration above zero");
            errors++;
        }
    } else if (st->kind == VIGIL_TRANSFORM) {
        const json_t *oe = json_object_get(obj, "on_error");
        if (oe) {
            const char *s = json_string_value(oe);
            if (s && strcmp(s, "pass") == 0) {
                st->on_error_drop = 0;
            } else if (s && strcmp(s, "drop") == 0) {
                st->on_error_drop = 1;
            } else {
                char found[96];
                snprintf(ptr, sizeof ptr, "%s/on_error", st->pointer);
                jdiag_value_repr(oe, found, sizeof found);
                diags_add(d, doc, ptr, JSONPOS_VALUE,
                          "expected one of \"pass\", \"drop\", found %s", found);
                errors++;
            }
        }
        errors += load_int(obj, "max_inflight", 1, 100000, &st->max_inflight, doc, st->pointer, d);
    } else {
        errors += load_int(obj, "max_inflight", 1, 100000, &st->max_inflight, doc, st->pointer, d);
        snprintf(ptr, sizeof ptr, "%s/when", st->pointer);
        errors += core_when_compile(json_object_get(obj, "when"), doc, ptr, &st->when, d);
        const json_t *retry = json_object_get(obj, "retry");
        if (retry) {
            static const char *const retry_keys[] = {"base", "cap", "limit", NULL};
            snprintf(ptr, sizeof ptr, "%s/retry", st->pointer);
            if (!json_is_object(retry)) {
                diags_add(d, doc, ptr, JSONPOS_VALUE,
                          "expected an object {\"base\", \"cap\", \"limit\"}, found %s",
                          jdiag_type_name(retry));
                errors++;
            } else {
                errors += check_keys(retry, retry_keys, "retry", doc, ptr, d);
                errors += load_duration(retry, "base", &st->retry_base_ms, doc, ptr, d);
                errors += load_duration(retry, "cap", &st->retry_cap_ms, doc, ptr, d);
                errors += load_int(retry, "limit", 0, 1000000, &st->retry_limit, doc, ptr, d);
            }
        }
        const json_t *alert = json_object_get(obj, "alert");
        if (alert) {
            st->alert = json_incref((json_t *)alert);
            snprintf(ptr, sizeof ptr, "%s/alert", st->pointer);
            errors += core_alert_policy_compile(alert, doc, ptr, &st->policy, d);
        }
    }
    return errors;
}

static int load_stage(struct core_pipeline_def *def, struct core_stage_def *st, int kind,
                      const char *list, size_t index, const json_t *obj, struct core_loader *l,
                      const struct jdoc *doc, struct diags *d)
{
    int errors = 0;
    char ptr[1024];
    const char *const *keys = kind == VIGIL_SOURCE      ? source_keys
                              : kind == VIGIL_TRANSFORM ? transform_keys
                                                        : sink_keys;

    st->kind = kind;
    snprintf(st->pointer, sizeof st->pointer, "/%s/%zu", list, index);
    if (!json_is_object(obj)) {
        diags_add(d, doc, st->pointer, JSONPOS_VALUE,
                  "expected a %s stage object {\"id\", \"plugin\", \"options\"}, found %s",
                  core_kind_name(kind), jdiag_type_name(obj));
        return 1;
    }
    char what[64];
    snprintf(what, sizeof what, "a %s stage", core_kind_name(kind));
    errors += check_keys(obj, keys, what, doc, st->pointer, d);

    const json_t *plugin = json_object_get(obj, "plugin");
    const json_t *id = json_object_get(obj, "id");
    if (!plugin) {
        diags_add(d, doc, st->pointer, JSONPOS_VALUE, "missing required key 'plugin' (the %s plugin to run)",
                  core_kind_name(kind));
        errors++;
    } else if (!json_is_string(plugin)) {
        snprintf(ptr, sizeof ptr, "%s/plugin", st->pointer);
        diags_add(d, doc, ptr, JSONPOS_VALUE, "expected a plugin name, found %s",
                  jdiag_type_name(plugin));
        errors++;
        plugin = NULL;
    }
    if (id && (!json_is_string(id) || !valid_id(json_string_value(id)))) {
        char found[96];
        snprintf(ptr, sizeof ptr, "%s/id", st->pointer);
        jdiag_value_repr(id, found, sizeof found);
        diags_add(d, doc, ptr, JSONPOS_VALUE,
                  "expected an id of letters, digits, '_', '-' or '.' (at most 63), found %s",
                  found);
        errors++;
    } else if (id) {
        st->id = dupstr(json_string_value(id));
    } else if (plugin) {
        /* The plugin name is a fine id while it is unique. */
        const char *p = json_string_value(plugin);
        const char *slash = strrchr(p, '/');
        st->id = dupstr(slash ? slash + 1 : p);
    }

    errors += load_stage_extras(st, obj, doc, d);

    const json_t *options = json_object_get(obj, "options");
    st->options = options ? json_incref((json_t *)options) : json_object();
    if (!plugin)
        return errors;

    struct vigil_error err = {0};
    const char *name = json_string_value(plugin);
    if (core_loader_get(l, kind, name, &st->plugin, &err) != VIGIL_OK) {
        snprintf(ptr, sizeof ptr, "%s/plugin", st->pointer);
        diags_add(d, doc, ptr, JSONPOS_VALUE, "%s", err.msg);
        return errors + 1;
    }
    st->conf = calloc(1, st->plugin->desc.conf_size ? st->plugin->desc.conf_size : 1);
    if (!st->conf) {
        diags_add(d, doc, st->pointer, JSONPOS_VALUE, "out of memory");
        return errors + 1;
    }
    char label[256], optr[128];
    snprintf(label, sizeof label, "%s plugin '%s'", core_kind_name(kind), st->plugin->desc.name);
    snprintf(optr, sizeof optr, "%s/options", st->pointer);
    struct core_opt_ctx ctx = {doc, optr, st->pointer, label, def->dir};
    errors += core_options_fill(&st->plugin->desc, options, st->conf, &ctx, d);

    uint64_t h = hash_fnv64(st->plugin->desc.name, strlen(st->plugin->desc.name));
    h = hash_json(h, obj);
    st->hash = h;
    return errors;
}

static int load_list(struct core_pipeline_def *def, const json_t *root, const char *list, int kind,
                     int required, struct core_loader *l, const struct jdoc *doc, struct diags *d)
{
    const json_t *arr = json_object_get(root, list);
    struct core_stage_def **stages = kind == VIGIL_SOURCE      ? &def->sources
                                     : kind == VIGIL_TRANSFORM ? &def->transforms
                                                               : &def->sinks;
    size_t *n = kind == VIGIL_SOURCE      ? &def->nsources
                : kind == VIGIL_TRANSFORM ? &def->ntransforms
                                          : &def->nsinks;
    char ptr[64];
    snprintf(ptr, sizeof ptr, "/%s", list);
    if (!arr) {
        if (required) {
            diags_add(d, doc, "", JSONPOS_VALUE, "missing required key '%s' (an array of %s stages)",
                      list, core_kind_name(kind));
            return 1;
        }
        return 0;
    }
    if (!json_is_array(arr)) {
        diags_add(d, doc, ptr, JSONPOS_VALUE, "expected an array of %s stages, found %s",
                  core_kind_name(kind), jdiag_type_name(arr));
        return 1;
    }
    if (kind == VIGIL_SINK && json_array_size(arr) == 0) {
        diags_add(d, doc, ptr, JSONPOS_VALUE,
                  "expected at least one sink (use the \"null\" sink to discard documents)");
        return 1;
    }
    *stages = calloc(json_array_size(arr) + 1, sizeof **stages);
    if (!*stages)
        return 1;
    int errors = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        errors += load_stage(def, &(*stages)[i], kind, list, i, json_array_get(arr, i), l, doc, d);
        (*n)++;
    }
    return errors;
}

/* Ids are unique across the pipeline: logs, metrics and state keys use them. */
static int check_unique_ids(const struct core_pipeline_def *def, const struct jdoc *doc,
                            struct diags *d)
{
    const struct core_stage_def *all[3] = {def->sources, def->transforms, def->sinks};
    size_t counts[3] = {def->nsources, def->ntransforms, def->nsinks};
    int errors = 0;
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; i < counts[a]; i++) {
            const struct core_stage_def *s = &all[a][i];
            if (!s->id)
                continue;
            for (int b = 0; b <= a; b++) {
                size_t lim = b == a ? i : counts[b];
                for (size_t j = 0; j < lim; j++) {
                    const struct core_stage_def *t = &all[b][j];
                    if (t->id && strcmp(s->id, t->id) == 0) {
                        char ptr[128];
                        snprintf(ptr, sizeof ptr, "%s/id", s->pointer);
                        diags_add(d, doc, ptr, JSONPOS_VALUE,
                                  "duplicate stage id '%s' (also used at %s); give each stage "
                                  "its own \"id\"",
                                  s->id, t->pointer);
                        errors++;
                        goto next;
                    }
                }
            }
        next:;
        }
    }
    return errors;
}

static char *dir_of(const char *file)
{
    char *copy = strdup(file);
    if (!copy)
        return NULL;
    char *dir = strdup(dirname(copy));
    free(copy);
    return dir;
}

int core_pipeline_load_buffer(const char *name, const char *dir, const char *text, size_t len,
                              struct core_loader *l, struct core_pipeline_def **out,
                              struct diags *d)
{
    struct jdoc doc;
    size_t before = diags_count(d);

    *out = NULL;
    if (jdoc_load_buffer(&doc, name, text, len, d) != 0)
        return VIGIL_EINVAL;

    struct core_pipeline_def *def = calloc(1, sizeof *def);
    if (!def) {
        jdoc_free(&doc);
        return VIGIL_ENOMEM;
    }
    def->file = strdup(name);
    def->dir = strdup(dir ? dir : ".");

    json_t *root = doc.root;
    if (!json_is_object(root)) {
        diags_add(d, &doc, "", JSONPOS_VALUE,
                  "expected a pipeline object {\"name\", \"sources\", \"transforms\", "
                  "\"sinks\"}, found %s",
                  jdiag_type_name(root));
        goto fail;
    }
    core_subst_json(root, &doc, d);
    check_keys(root, top_keys, "the pipeline", &doc, "", d);

    const json_t *jname = json_object_get(root, "name");
    if (jname && (!json_is_string(jname) || !valid_id(json_string_value(jname)))) {
        char found[96];
        jdiag_value_repr(jname, found, sizeof found);
        diags_add(d, &doc, "/name", JSONPOS_VALUE,
                  "expected a name of letters, digits, '_', '-' or '.' (at most 63), found %s",
                  found);
    } else if (jname) {
        def->name = strdup(json_string_value(jname));
    } else {
        /* Default: the file name without directory and extension. */
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        size_t n = strcspn(base, ".");
        def->name = strndup(base, n ? n : strlen(base));
    }
    const json_t *desc = json_object_get(root, "description");
    if (desc && !json_is_string(desc))
        diags_add(d, &doc, "/description", JSONPOS_VALUE, "expected a string, found %s",
                  jdiag_type_name(desc));
    def->description = dupstr(json_string_value(desc));

    const json_t *settings = json_object_get(root, "settings");
    struct core_opt_ctx sctx = {&doc, "/settings", "", "pipeline settings", def->dir};
    core_options_fill(&settings_plugin, settings, &def->settings, &sctx, d);
    struct core_opt_ctx hctx = {&doc, "/settings/http", "/settings", "HTTP settings", def->dir};
    core_options_fill(&core_http_settings_plugin, def->settings.http_json, &def->settings.http, &hctx,
                      d);
    if (def->settings.cluster_json) {
        struct core_opt_ctx cctx = {&doc, "/settings/cluster", "/settings", "cluster settings",
                                    def->dir};
        core_options_fill(&core_cluster_settings_plugin, def->settings.cluster_json,
                          &def->settings.cluster, &cctx, d);
    }
    if (def->settings.queue_low == 0)
        def->settings.queue_low = def->settings.queue_high / 4;
    if (def->settings.queue_low >= def->settings.queue_high && settings)
        diags_add(d, &doc, "/settings/queue_low", JSONPOS_VALUE,
                  "queue_low (%lld) must be below queue_high (%lld)",
                  (long long)def->settings.queue_low, (long long)def->settings.queue_high);

    load_list(def, root, "sources", VIGIL_SOURCE, 1, l, &doc, d);
    load_list(def, root, "transforms", VIGIL_TRANSFORM, 0, l, &doc, d);
    load_list(def, root, "sinks", VIGIL_SINK, 1, l, &doc, d);
    check_unique_ids(def, &doc, d);

    def->hash = hash_json(HASH_FNV64_INIT, root);
    if (diags_count(d) != before)
        goto fail;
    jdoc_free(&doc);
    *out = def;
    return VIGIL_OK;

fail:
    jdoc_free(&doc);
    core_pipeline_free(def);
    return VIGIL_EINVAL;
}

int core_pipeline_load(const char *file, struct core_loader *l, struct core_pipeline_def **out,
                       struct diags *d)
{
    char *text;
    size_t len;
    *out = NULL;
    if (buf_read_file(file, 16u << 20, &text, &len) != 0) {
        diags_add_at(d, file, 0, 0, NULL, "cannot read pipeline file: %s", strerror(errno));
        return VIGIL_EIO;
    }
    char *dir = dir_of(file);
    int rc = core_pipeline_load_buffer(file, dir, text, len, l, out, d);
    free(dir);
    free(text);
    return rc;
}

static void free_stages(struct core_stage_def *st, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (st[i].plugin)
            core_options_free(&st[i].plugin->desc, st[i].conf);
        free(st[i].conf);
        free(st[i].id);
        json_decref(st[i].options);
        json_decref(st[i].alert);
        core_alert_policy_free(st[i].policy);
        core_when_free(st[i].when);
    }
    free(st);
}

void core_pipeline_free(struct core_pipeline_def *def)
{
    if (!def)
        return;
    free_stages(def->sources, def->nsources);
    free_stages(def->transforms, def->ntransforms);
    free_stages(def->sinks, def->nsinks);
    core_options_free(&core_http_settings_plugin, &def->settings.http);
    core_options_free(&core_cluster_settings_plugin, &def->settings.cluster);
    core_options_free(&settings_plugin, &def->settings);
    free(def->name);
    free(def->description);
    free(def->file);
    free(def->dir);
    free(def);
}

void core_pipeline_strip_io(struct core_pipeline_def *def)
{
    free_stages(def->sources, def->nsources);
    free_stages(def->sinks, def->nsinks);
    def->sources = def->sinks = NULL;
    def->nsources = def->nsinks = 0;
}

const struct core_stage_def *core_pipeline_stage(const struct core_pipeline_def *def,
                                                 const char *id)
{
    const struct core_stage_def *all[3] = {def->sources, def->transforms, def->sinks};
    size_t counts[3] = {def->nsources, def->ntransforms, def->nsinks};
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; i < counts[a]; i++) {
            if (all[a][i].id && strcmp(all[a][i].id, id) == 0)
                return &all[a][i];
        }
    }
    return NULL;
}
