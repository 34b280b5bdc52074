/*
 * transform "entities": the adapter between the host and the matcher.
 *
 * create() loads the gazetteers (every error logged as FILE:LINE:COL) and
 * builds the matcher, loading the compiled database from the cache when it
 * can; process() runs on worker threads with one ent_worker each (its own
 * Vectorscan scratch and buffers) against the shared, read-only matcher.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ent.h"
#include "vigil/plugin.h"

struct ent_conf {
    struct vigil_strlist gazetteers;
    char *cache_dir;
    int guess_persons;
    int64_t max_mentions;
    int scan_title;
};

struct ent_state {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    struct ent_matcher *m;
    struct vigil_counter *c_docs, *c_mentions, *c_guessed, *c_truncated;
};

static const struct vigil_option ent_options[] = {
    {"gazetteers", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH,
     offsetof(struct ent_conf, gazetteers), 1, 10000, NULL,
     "Gazetteer files to load (docs/gazetteers.md), or directories: every *.json file in one, "
     "in name order; ids must be unique across them."},
    {"cache_dir", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, offsetof(struct ent_conf, cache_dir),
     VIGIL_NOBOUNDS, NULL,
     "Directory for the compiled alias database; default <state dir>/cache/entities."},
    {"guess_persons", VIGIL_OPT_BOOL, "true", 0, offsetof(struct ent_conf, guess_persons),
     VIGIL_NOBOUNDS, NULL,
     "Tag titled names the gazetteers do not know as guessed persons (\"General X\")."},
    {"max_mentions", VIGIL_OPT_INT, "2000", 0, offsetof(struct ent_conf, max_mentions), 0, 1000000,
     NULL, "Mentions written per document; the rest are counted in meta.entities_truncated."},
    {"scan_title", VIGIL_OPT_BOOL, "true", 0, offsetof(struct ent_conf, scan_title), VIGIL_NOBOUNDS,
     NULL, "Tag the title as well as the text (mentions with \"field\": \"title\")."},
    {0},
};

static int is_json_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

static void free_paths(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The gazetteer files named by the option: a directory stands for its
 * *.json files in name order (data/gazetteer/ is one such set). On success
 * *out (n entries) belongs to the caller: free_paths(). */
static int expand_paths(const struct vigil_strlist *in, char ***out, size_t *n,
                        struct vigil_error *err)
{
    char **v = NULL;
    size_t len = 0, cap = 0;
    for (size_t i = 0; i < in->n; i++) {
        struct stat st;
        struct dirent **names = NULL;
        int k = 0;
        if (stat(in->v[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            k = scandir(in->v[i], &names, is_json_name, alphasort);
            if (k <= 0) {
                free(names);
                free_paths(v, len);
                return vigil_error_set(err, VIGIL_EINVAL, "option 'gazetteers': %s: %s", in->v[i],
                                       k < 0 ? strerror(errno) : "a directory with no *.json file");
            }
        }
        for (int j = 0; j < (k ? k : 1); j++) {
            if (len == cap) {
                cap = cap ? 2 * cap : 16;
                char **nv = realloc(v, cap * sizeof *nv);
                if (!nv)
                    goto oom;
                v = nv;
            }
            if (k) {
                size_t sz = strlen(in->v[i]) + strlen(names[j]->d_name) + 2;
                v[len] = malloc(sz);
                if (v[len])
                    snprintf(v[len], sz, "%s/%s", in->v[i], names[j]->d_name);
            } else {
                v[len] = strdup(in->v[i]);
            }
            if (!v[len])
                goto oom;
            len++;
        }
        for (int j = 0; j < k; j++)
            free(names[j]);
        free(names);
        continue;
    oom:
        for (int j = 0; j < k; j++)
            free(names[j]);
        free(names);
        free_paths(v, len);
        return vigil_error_set(err, VIGIL_ENOMEM, "entities: out of memory");
    }
    *out = v;
    *n = len;
    return VIGIL_OK;
}

static int ent_create(const struct vigil_host *host, struct vigil_instance *ins, const void *cv,
                      void **state, struct vigil_error *err)
{
    const struct ent_conf *conf = cv;
    struct diags errors = {0}, warnings = {0};
    char line[2048];

    char dir[4096] = "";
    if (conf->cache_dir && *conf->cache_dir) {
        snprintf(dir, sizeof dir, "%s", conf->cache_dir);
    } else {
        const char *sd = host->state_dir ? host->state_dir(ins) : NULL;
        if (sd)
            snprintf(dir, sizeof dir, "%s/cache/entities", sd);
        else
            host->log(ins, VIGIL_LOG_WARN,
                      "entities: no state directory: the gazetteers are compiled at every start");
    }
    struct ent_options opt = {dir[0] ? dir : NULL, conf->guess_persons, conf->scan_title,
                              (size_t)conf->max_mentions};
    struct ent_stats st;
    struct ent_state *s = calloc(1, sizeof *s);
    if (!s)
        return vigil_error_set(err, VIGIL_ENOMEM, "entities: out of memory");
    char **paths = NULL;
    size_t npaths = 0;
    int rc = expand_paths(&conf->gazetteers, &paths, &npaths, err);
    if (rc != VIGIL_OK) {
        free(s);
        return rc;
    }
    rc = ent_matcher_open(&s->m, (const char *const *)paths, npaths, &opt, &errors, &warnings, &st,
                          err);
    free_paths(paths, npaths);
    for (size_t i = 0; i < warnings.n; i++) {
        diags_format(&warnings, i, line, sizeof line);
        host->log(ins, VIGIL_LOG_WARN, "%s", line);
    }
    if (warnings.dropped)
        host->log(ins, VIGIL_LOG_WARN, "... and %zu more warnings", warnings.dropped);
    if (rc != 0 && diags_count(&errors)) {
        for (size_t i = 0; i < errors.n; i++) {
            diags_format(&errors, i, line, sizeof line);
            host->log(ins, VIGIL_LOG_ERROR, "%s", line);
        }
        if (errors.dropped)
            host->log(ins, VIGIL_LOG_ERROR, "... and %zu more errors", errors.dropped);
        size_t n = diags_count(&errors);
        diags_format(&errors, 0, line, sizeof line);
        vigil_error_set(err, VIGIL_EINVAL, "entities: %s%s", line,
                        n > 1 ? " (and more errors, see the log)" : "");
        rc = VIGIL_EINVAL;
    } else if (rc != 0) {
        char msg[VIGIL_ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        vigil_error_set(err, rc, "entities: %s", msg);
    }
    diags_free(&errors);
    diags_free(&warnings);
    if (rc != 0) {
        free(s);
        return rc;
    }
    static const char *const how[] = {"compiled (no cache)", "loaded from cache",
                                      "compiled and cached", "compiled (cache rebuilt)"};
    const struct gaz *g = ent_matcher_gaz(s->m);
    host->log(ins, VIGIL_LOG_INFO,
              "entities: %zu entries, %zu aliases, %zu literals; %s in %.0f ms", g->nentries,
              g->naliases, st.npatterns, how[st.cache], st.open_ms);
    if (st.cache_note[0])
        host->log(ins, VIGIL_LOG_WARN, "entities: cache: %s", st.cache_note);
    s->host = host;
    s->ins = ins;
    s->c_docs = host->counter(ins, "entities_documents", "Documents tagged");
    s->c_mentions = host->counter(ins, "entities_mentions", "Entity mentions written");
    s->c_guessed = host->counter(ins, "entities_guessed", "Mentions of guessed persons");
    s->c_truncated = host->counter(ins, "entities_truncated", "Mentions cut by max_mentions");
    *state = s;
    return 0;
}

static void ent_destroy(void *state)
{
    struct ent_state *s = state;
    if (!s)
        return;
    ent_matcher_free(s->m);
    free(s);
}

static int ent_worker_init(void *state, void **wstate, struct vigil_error *err)
{
    struct ent_state *s = state;
    struct ent_worker *w;
    int rc = ent_worker_create(s->m, &w, err);
    if (rc == 0)
        *wstate = w;
    return rc;
}

static void ent_worker_fini(void *state, void *wstate)
{
    (void)state;
    ent_worker_free(wstate);
}

static void count(struct ent_state *s, struct vigil_counter *c, uint64_t n)
{
    if (c && n)
        s->host->counter_add(c, n);
}

static int ent_proc(void *state, void *wstate, json_t *doc, struct vigil_error *err)
{
    struct ent_state *s = state;
    struct ent_worker *w = wstate, *own = NULL;
    if (!w) { /* a host that skipped worker_init: correct, only slower */
        int rc = ent_worker_create(s->m, &own, err);
        if (rc != 0)
            return rc;
        w = own;
    }
    int rc = ent_process(s->m, w, doc, s->host->now_ms(), err);
    if (rc == 0) {
        size_t n, guessed = 0;
        const struct ent_mention *mn = ent_mentions(w, &n);
        for (size_t i = 0; i < n; i++)
            guessed += mn[i].entry == UINT32_MAX;
        json_t *t = json_object_get(vigil_doc_meta(doc), "entities_truncated");
        uint64_t cut = json_is_integer(t) ? (uint64_t)json_integer_value(t) : 0;
        count(s, s->c_docs, 1);
        count(s, s->c_mentions, n - cut);
        count(s, s->c_guessed, guessed);
        count(s, s->c_truncated, cut);
    }
    ent_worker_free(own);
    return rc == 0 ? VIGIL_PASS : rc;
}

static const struct vigil_plugin ent_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "entities",
    .version = "1.0.0",
    .description = "Tag countries, people, places, organisations and armed forces from gazetteers",
    .license = "Apache-2.0",
    .kind = VIGIL_TRANSFORM,
    .options = ent_options,
    .conf_size = sizeof(struct ent_conf),
    .create = ent_create,
    .destroy = ent_destroy,
    .process = ent_proc,
    .worker_init = ent_worker_init,
    .worker_fini = ent_worker_fini,
};

VIGIL_PLUGIN_EXPORT(ent_plugin)
