#include "cli_rules.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "pipeline.h"
#include "vigil/doc.h"

/* Absolute form of path (relative to the current directory). */
static void absolute(const char *path, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) {
        snprintf(out, len, "%s", path);
        return;
    }
    size_t n = strlen(cwd);
    if (n + 1 + strlen(path) + 1 > len) {
        snprintf(out, len, "%s", path); /* too long to anchor: leave it relative */
        return;
    }
    memcpy(out, cwd, n);
    out[n] = '/';
    memcpy(out + n + 1, path, strlen(path) + 1);
}

/* The implicit pipeline for a rules file, as JSON text (malloc'd), or NULL
 * with a message printed. */
static char *implicit_pipeline(const char *rules_file, const struct cli_rules_opts *o)
{
    json_t *gaz = json_array();
    char path[PATH_MAX];
    for (int i = 0; i < o->ngazetteers; i++) {
        absolute(o->gazetteers[i], path, sizeof path);
        json_array_append_new(gaz, json_string(path));
    }
    if (o->ngazetteers == 0) {
        const char *data = getenv("VIGIL_DATA_DIR");
        if (data && *data) {
            /* The entities plugin reads a directory's *.json itself. */
            struct stat st;
            snprintf(path, sizeof path, "%s/gazetteer", data);
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                json_array_append_new(gaz, json_string(path));
        }
        if (json_array_size(gaz) == 0) {
            fprintf(stderr,
                    "%s: no gazetteers: pass --gazetteer FILE, or set VIGIL_DATA_DIR to a "
                    "directory with gazetteer/*.json (the shipped data is found next to the "
                    "vigil binary, in share/vigil)\n",
                    o->prefix);
            json_decref(gaz);
            return NULL;
        }
    }
    absolute(rules_file, path, sizeof path);
    json_t *p = json_pack(
        "{s:s, s:[{s:s, s:s}], s:[{s:s, s:s}, {s:s, s:s, s:{s:o}}, {s:s, s:s, s:{s:[s]}}],"
        " s:[{s:s, s:s}]}",
        "name", "rules-test", "sources", "id", "none", "plugin", "push", "transforms", "id",
        "clean", "plugin", "html_clean", "id", "entities", "plugin", "entities", "options",
        "gazetteers", gaz, "id", "events", "plugin", "events", "options", "rules", path, "sinks",
        "id", "discard", "plugin", "null");
    char *text = p ? json_dumps(p, JSON_INDENT(2)) : NULL;
    json_decref(p);
    return text;
}

/* Does the JSON file look like a rules file ("rules" and no stages)? 1 yes,
 * 0 no, -1 unreadable or not JSON (message printed). */
static int is_rules_file(const char *file, const char *prefix)
{
    json_error_t je;
    json_t *root = json_load_file(file, JSON_DISABLE_EOF_CHECK, &je);
    if (!root) {
        if (je.line > 0)
            fprintf(stderr, "%s:%d:%d: /: %s\n", file, je.line, je.column, je.text);
        else
            fprintf(stderr, "%s: %s: %s\n", prefix, file, je.text);
        return -1;
    }
    int rules = json_is_object(root) && json_object_get(root, "rules") &&
                !json_object_get(root, "sources") && !json_object_get(root, "transforms") &&
                !json_object_get(root, "sinks");
    json_decref(root);
    return rules;
}

static void add_rule_file(struct cli_rules *r, const char *path)
{
    for (size_t i = 0; i < r->nrule_files; i++)
        if (strcmp(r->rule_files[i], path) == 0)
            return;
    char **n = realloc(r->rule_files, (r->nrule_files + 1) * sizeof *n);
    if (!n)
        return;
    r->rule_files = n;
    r->rule_files[r->nrule_files++] = strdup(path);
}

/* The rules files named by the events stages of def. */
static void collect_rule_files(struct cli_rules *r, const struct core_pipeline_def *def)
{
    for (size_t i = 0; i < def->ntransforms; i++) {
        const struct core_stage_def *st = &def->transforms[i];
        if (strcmp(st->plugin->desc.name, "events") != 0)
            continue;
        json_t *rules = json_object_get(st->options, "rules");
        size_t k;
        json_t *v;
        json_array_foreach(rules, k, v)
        {
            const char *s = json_string_value(v);
            if (!s)
                continue;
            char path[PATH_MAX];
            if (s[0] == '/' || !def->dir)
                snprintf(path, sizeof path, "%s", s);
            else
                snprintf(path, sizeof path, "%s/%s", def->dir, s);
            add_rule_file(r, path);
        }
    }
}

int cli_rules_open(struct cli_rules *r, struct cli_globals *g, const char *file,
                   const struct cli_rules_opts *o)
{
    memset(r, 0, sizeof *r);
    /* Start-up chatter of the stages would bury the report. */
    if (!g->log_level_given && g->log.level > VIGIL_LOG_WARN)
        g->log.level = VIGIL_LOG_WARN;
    cli_loader_init(g, &r->loader);
    int kind = is_rules_file(file, o->prefix);
    if (kind < 0)
        return CLI_INVALID;
    r->is_pipeline = !kind;

    struct diags d = {0};
    struct core_pipeline_def *def = NULL;
    int rc;
    if (r->is_pipeline) {
        rc = core_pipeline_load(file, &r->loader, &def, &d);
    } else {
        char *text = implicit_pipeline(file, o);
        if (!text)
            return CLI_INVALID;
        char name[PATH_MAX + 32], dir[PATH_MAX];
        snprintf(name, sizeof name, "%s (implicit pipeline)", file);
        snprintf(dir, sizeof dir, "%s", file);
        rc = core_pipeline_load_buffer(name, dirname(dir), text, strlen(text), &r->loader, &def,
                                       &d);
        free(text);
        if (rc == VIGIL_OK)
            add_rule_file(r, file);
    }
    if (rc != VIGIL_OK) {
        diags_print(&d, stderr);
        diags_free(&d);
        return CLI_INVALID;
    }
    diags_free(&d);
    if (r->is_pipeline)
        collect_rule_files(r, def);

    const char *tmp = getenv("TMPDIR");
    snprintf(r->tmpdir, sizeof r->tmpdir, "%s/vigil-rules-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r->tmpdir)) {
        fprintf(stderr, "%s: cannot create a temporary state directory in %s: %s\n", o->prefix,
                tmp && *tmp ? tmp : "/tmp", strerror(errno));
        r->tmpdir[0] = '\0';
        core_pipeline_free(def);
        return CLI_FAILURE;
    }
    free(def->settings.state_dir);
    def->settings.state_dir = strdup(r->tmpdir);

    r->skip = calloc(def->ntransforms + 1, 1);
    for (size_t i = 0; i < def->ntransforms && r->skip; i++)
        r->skip[i] = o->skip_dedupe && strcmp(def->transforms[i].plugin->desc.name, "dedupe") == 0;

    struct vigil_error err = {0};
    rc = cli_chain_open(&r->chain, g, &r->loader, def, &err);
    r->open = 1;
    if (rc != VIGIL_OK) {
        fprintf(stderr, "%s: %s\n", o->prefix, err.msg[0] ? err.msg : vigil_strerror(rc));
        return rc == VIGIL_EINVAL ? CLI_INVALID : CLI_FAILURE;
    }
    return CLI_OK;
}

int cli_rules_run(struct cli_rules *r, json_t *doc, const char **stage, struct vigil_error *err)
{
    int rc = VIGIL_PASS;
    *stage = NULL;
    for (size_t i = 0; i < r->chain.ntransforms; i++) {
        if (r->skip && r->skip[i])
            continue;
        rc = cli_chain_step(&r->chain, i, doc, err);
        if (rc == VIGIL_DROP || rc < 0)
            *stage = r->chain.def->transforms[i].id;
        if (rc == VIGIL_DROP || (rc < 0 && r->chain.def->transforms[i].on_error_drop))
            return rc;
    }
    return rc;
}

void cli_rules_close(struct cli_rules *r)
{
    if (r->open)
        cli_chain_close(&r->chain);
    core_loader_close(&r->loader);
    if (r->tmpdir[0])
        fsutil_rm_rf(r->tmpdir);
    for (size_t i = 0; i < r->nrule_files; i++)
        free(r->rule_files[i]);
    free(r->rule_files);
    free(r->skip);
    memset(r, 0, sizeof *r);
}

json_t *cli_rules_case_doc(const json_t *tc, const char *id_seed)
{
    json_t *doc = json_object();
    static const char *const copy[] = {"title", "text", "url", "published", NULL};
    for (int i = 0; copy[i]; i++) {
        json_t *v = json_object_get(tc, copy[i]);
        if (json_is_string(v))
            json_object_set(doc, copy[i], v);
    }
    /* A hint for language identification, which short test texts need;
     * the rules docs define English as the default of a case. */
    const char *lang = json_string_value(json_object_get(tc, "lang"));
    json_object_set_new(doc, VIGIL_DOC_META,
                        json_pack("{s:s, s:b}", "lang_declared", lang ? lang : "en", "explain", 1));
    cli_chain_prepare(doc, id_seed);
    json_object_set_new(doc, "source", json_string("test"));
    return doc;
}

/* Text of sentence si of doc (-1 = the title), cut to about max bytes on a
 * UTF-8 boundary. */
static void sentence_text(const json_t *doc, json_int_t si, char *out, size_t max)
{
    const char *text = json_string_value(json_object_get(doc, VIGIL_DOC_TEXT));
    const char *title = json_string_value(json_object_get(doc, VIGIL_DOC_TITLE));
    const char *s = NULL;
    size_t n = 0;
    if (si < 0) {
        s = title;
        n = s ? strlen(s) : 0;
    } else {
        json_t *sp = json_array_get(json_object_get(doc, VIGIL_DOC_SENTENCES), (size_t)si);
        json_int_t a = json_integer_value(json_array_get(sp, 0));
        json_int_t b = json_integer_value(json_array_get(sp, 1));
        if (text && b > a && (size_t)b <= strlen(text)) {
            s = text + a;
            n = (size_t)(b - a);
        }
    }
    if (!s) {
        snprintf(out, max, "?");
        return;
    }
    int cut = 0;
    if (n + 1 > max) {
        n = max > 8 ? max - 8 : 0;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    snprintf(out, max, "%.*s%s", (int)n, s, cut ? " ..." : "");
}

/* "sentence 3: reason" -> "reason" (the heading already names it). */
static const char *strip_where(const char *reason)
{
    const char *c = strstr(reason, ": ");
    if (c && (strncmp(reason, "sentence ", 9) == 0 || strncmp(reason, "title: ", 7) == 0))
        return c + 2;
    return reason;
}

void cli_rules_print_explain(FILE *f, const json_t *doc, const char *only_rule,
                             const char *only_type, const char *indent)
{
    const json_t *ex = json_object_get(json_object_get(doc, VIGIL_DOC_META), "explain_events");
    if (!json_is_array(ex)) {
        fprintf(f, "%s(no explanation: the chain has no events stage, or it did not run)\n",
                indent);
        return;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(ex, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "rule"));
        const char *type = json_string_value(json_object_get(r, "type"));
        if ((only_rule && (!id || strcmp(id, only_rule) != 0)) ||
            (only_type && (!type || strcmp(type, only_type) != 0)))
            continue;
        int fired = json_is_true(json_object_get(r, "fired"));
        json_int_t nev = json_integer_value(json_object_get(r, "events"));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        fprintf(f, "%srule %s (%s): ", indent, id ? id : "?", type ? type : "?");
        if (fired)
            fprintf(f, "fired, %lld event%s\n", (long long)nev, nev == 1 ? "" : "s");
        else
            fprintf(f, "not fired%s%s\n", reason ? ": " : "", reason ? reason : "");
        json_int_t last = -2;
        size_t k;
        const json_t *s;
        json_array_foreach(json_object_get(r, "sentences"), k, s)
        {
            json_int_t si = json_integer_value(json_object_get(s, "sentence"));
            if (si != last) {
                char text[240];
                sentence_text(doc, si, text, sizeof text);
                if (si < 0)
                    fprintf(f, "%s  title \"%s\"\n", indent, text);
                else
                    fprintf(f, "%s  sentence %lld \"%s\"\n", indent, (long long)si, text);
                last = si;
            }
            const char *trig = json_string_value(json_object_get(s, "trigger"));
            const char *res = json_string_value(json_object_get(s, "result"));
            const char *why = json_string_value(json_object_get(s, "reason"));
            fprintf(f, "%s    trigger '%s': %s", indent, trig ? trig : "?", res ? res : "?");
            if (why && res && strcmp(res, "fired") != 0)
                fprintf(f, ": %s", strip_where(why));
            else if (why && strstr(why, "fired: "))
                fprintf(f, ": %s", strstr(why, "fired: ") + 7);
            fputc('\n', f);
        }
    }
}
