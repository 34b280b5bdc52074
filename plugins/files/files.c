/*
 * files - a source reading documents from a directory (or one file).
 *
 * .html/.htm, .txt, .json and .jsonl files become documents (see
 * common/docfile.h for how each kind maps to fields). One pass reads every
 * file not seen before; between passes (every 2 s by default) new and
 * modified files are picked up. Directory scans and file reads run on
 * libuv's thread pool (file I/O is what it is for), never on the loop.
 *
 * Seen files are remembered in memory for the life of the process, and in
 * the state store too with "remember": true, so a restart does not emit
 * them again.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <uv.h>

#include "buf.h"
#include "docfile.h"
#include "hash.h"
#include "vigil/plugin.h"

struct files_conf {
    char *path;
    struct vigil_strlist extensions;
    int recursive;
    uint64_t max_size;
    int remember;
    int64_t concurrency;
};

static const struct vigil_option files_options[] = {
    {"path", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH,
     offsetof(struct files_conf, path), VIGIL_NOBOUNDS, NULL,
     "directory to read (or a single file); relative to the pipeline file"},
    {"extensions", VIGIL_OPT_STRLIST, "[\".html\", \".htm\", \".txt\", \".json\", \".jsonl\"]", 0,
     offsetof(struct files_conf, extensions), 1, 64, NULL,
     "file name endings to read; others are ignored"},
    {"recursive", VIGIL_OPT_BOOL, "false", 0, offsetof(struct files_conf, recursive),
     VIGIL_NOBOUNDS, NULL, "also read subdirectories"},
    {"max_size", VIGIL_OPT_SIZE, "50MB", 0, offsetof(struct files_conf, max_size), 1,
     1073741824.0, NULL, "larger files are skipped with an error"},
    {"remember", VIGIL_OPT_BOOL, "false", 0, offsetof(struct files_conf, remember),
     VIGIL_NOBOUNDS, NULL,
     "keep the set of files already emitted in the state store, across restarts"},
    {"concurrency", VIGIL_OPT_INT, "4", 0, offsetof(struct files_conf, concurrency), 1, 64, NULL,
     "files read in parallel"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

/* Open-addressing set of (path hash -> mtime/size signature). */
struct seen {
    uint64_t *keys; /* 0 = empty */
    uint64_t *sigs;
    size_t cap, n;
};

struct pending_file {
    char *path;
    char *rel;
    uint64_t key, sig;
    int update;
};

struct files {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct files_conf *conf;
    struct seen seen;
    /* current pass */
    int in_pass;
    vigil_pass_cb done;
    void *done_arg;
    struct pending_file *todo;
    size_t ntodo, next;
    int reading;     /* reads in flight on the thread pool */
    int scanning;
    int paused;
    int stopping;
    json_t *backlog; /* documents read but not yet emitted (pause) */
    size_t backlog_pos;
    struct vigil_counter *c_files, *c_errors;
};

/* --- seen set ------------------------------------------------------------ */

static int seen_grow(struct seen *s)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    uint64_t *keys = calloc(cap, sizeof *keys), *sigs = calloc(cap, sizeof *sigs);
    if (!keys || !sigs) {
        free(keys);
        free(sigs);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->keys[i])
            continue;
        size_t j = s->keys[i] & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = s->keys[i];
        sigs[j] = s->sigs[i];
    }
    free(s->keys);
    free(s->sigs);
    s->keys = keys;
    s->sigs = sigs;
    s->cap = cap;
    return 0;
}

/* Returns the stored signature (0 if absent). */
static uint64_t seen_get(const struct seen *s, uint64_t key)
{
    if (!s->cap)
        return 0;
    for (size_t j = key & (s->cap - 1); s->keys[j]; j = (j + 1) & (s->cap - 1)) {
        if (s->keys[j] == key)
            return s->sigs[j];
    }
    return 0;
}

static void seen_put(struct seen *s, uint64_t key, uint64_t sig)
{
    if ((s->n + 1) * 2 > s->cap && seen_grow(s) != 0)
        return;
    size_t j = key & (s->cap - 1);
    while (s->keys[j] && s->keys[j] != key)
        j = (j + 1) & (s->cap - 1);
    if (!s->keys[j])
        s->n++;
    s->keys[j] = key;
    s->sigs[j] = sig;
}

/* --- scanning (thread pool) --------------------------------------------- */

struct found {
    char *path;
    uint64_t sig; /* mtime and size: a change means the file changed */
};

struct scan_work {
    uv_work_t req;
    struct files *f;
    char *root;
    int recursive;
    const struct vigil_strlist *exts;
    struct found *found; /* sorted by path */
    size_t n, cap;
    char error[512];
};

static int wanted(const struct vigil_strlist *exts, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < exts->n; i++) {
        size_t el = strlen(exts->v[i]);
        if (len > el && strcasecmp(name + len - el, exts->v[i]) == 0)
            return 1;
    }
    return 0;
}

static void scan_add(struct scan_work *w, const char *path, const struct stat *st)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct found *v = realloc(w->found, cap * sizeof *v);
        if (!v)
            return;
        w->found = v;
        w->cap = cap;
    }
    uint64_t sig = hash_fnv64(&st->st_mtim, sizeof st->st_mtim);
    sig = hash_fnv64_update(sig, &st->st_size, sizeof st->st_size);
    w->found[w->n].path = strdup(path);
    w->found[w->n].sig = sig ? sig : 1;
    if (w->found[w->n].path)
        w->n++;
}

static int cmp_found(const void *a, const void *b)
{
    return strcmp(((const struct found *)a)->path, ((const struct found *)b)->path);
}

static void scan_dir(struct scan_work *w, const char *dir, int depth)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        if (depth == 0)
            snprintf(w->error, sizeof w->error, "cannot read directory %s: %s", dir,
                     strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.') {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, name);
            if (stat(path, &st) == 0) {
                if (S_ISDIR(st.st_mode) && w->recursive && depth < 32)
                    scan_dir(w, path, depth + 1);
                else if (S_ISREG(st.st_mode) && wanted(w->exts, name))
                    scan_add(w, path, &st);
            }
        }
        free(names[i]);
    }
    free(names);
}

static void scan_work_cb(uv_work_t *req)
{
    struct scan_work *w = req->data;
    struct stat st;
    if (stat(w->root, &st) != 0) {
        snprintf(w->error, sizeof w->error, "cannot read %s: %s", w->root, strerror(errno));
        return;
    }
    if (S_ISREG(st.st_mode))
        scan_add(w, w->root, &st);
    else
        scan_dir(w, w->root, 0);
    /* Sorted full paths: emission order is the same from run to run. */
    qsort(w->found, w->n, sizeof *w->found, cmp_found);
}

static void start_reads(struct files *f);
static void finish_pass(struct files *f, int status);

static void scan_after_cb(uv_work_t *req, int status)
{
    struct scan_work *w = req->data;
    struct files *f = w->f;
    f->scanning = 0;
    if (status != 0 || w->error[0]) {
        if (w->error[0])
            f->host->log(f->ins, VIGIL_LOG_ERROR, "%s", w->error);
        f->host->counter_add(f->c_errors, 1);
    }
    size_t rootlen = strlen(f->conf->path);
    f->todo = calloc(w->n + 1, sizeof *f->todo);
    f->ntodo = f->next = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (!f->todo) {
            free(w->found[i].path);
            continue;
        }
        const char *rel = w->found[i].path;
        if (strncmp(rel, f->conf->path, rootlen) == 0 && rel[rootlen] == '/')
            rel += rootlen + 1;
        else if (strcmp(rel, f->conf->path) == 0) {
            const char *slash = strrchr(rel, '/');
            rel = slash ? slash + 1 : rel;
        }
        uint64_t key = hash_fnv64(rel, strlen(rel));
        key = key ? key : 1;
        uint64_t old = seen_get(&f->seen, key);
        if (!old && f->conf->remember) {
            char k[40], *v = NULL;
            size_t vl;
            snprintf(k, sizeof k, "seen:%016llx", (unsigned long long)key);
            if (f->host->kv_get(f->ins, k, &v, &vl) == VIGIL_OK && vl == 16) {
                old = strtoull(v, NULL, 16);
                seen_put(&f->seen, key, old);
            }
            free(v);
        }
        if (old == w->found[i].sig) {
            free(w->found[i].path);
            continue;
        }
        struct pending_file *p = &f->todo[f->ntodo++];
        p->path = w->found[i].path;
        p->rel = strdup(rel);
        p->key = key;
        p->sig = w->found[i].sig;
        p->update = old != 0;
    }
    free(w->found);
    free(w->root);
    free(w);
    if (f->stopping) {
        finish_pass(f, VIGIL_ECANCELED);
        return;
    }
    start_reads(f);
}

/* --- reading (thread pool) ------------------------------------------------ */

struct read_work {
    uv_work_t req;
    struct files *f;
    struct pending_file file;
    uint64_t max_size;
    json_t *docs; /* array, built on the worker */
    char error[1024];
};

static void read_work_cb(uv_work_t *req)
{
    struct read_work *w = req->data;
    char *data = NULL;
    size_t len = 0;
    w->docs = json_array();
    if (buf_read_file(w->file.path, (size_t)w->max_size, &data, &len) != 0) {
        if (errno == EFBIG)
            snprintf(w->error, sizeof w->error, "%s: larger than max_size (%llu bytes); skipped",
                     w->file.path, (unsigned long long)w->max_size);
        else
            snprintf(w->error, sizeof w->error, "%s: cannot read: %s", w->file.path,
                     strerror(errno));
        return;
    }
    enum docfile_kind kind = docfile_kind_of(w->file.path, data, len);
    if (kind != DOCFILE_JSONL) {
        json_t *doc;
        if (docfile_from_buffer(kind, w->file.path, data, len, &doc, w->error, sizeof w->error) ==
            0)
            json_array_append_new(w->docs, doc);
        free(data);
        return;
    }
    /* JSON Lines: one document per line; a bad line is reported and
     * skipped, the others still count. */
    size_t line = 0, bad = 0;
    char *p = data, *end = data + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        line++;
        while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p < e) {
            json_error_t jerr;
            json_t *doc = json_loadb(p, (size_t)(e - p), JSON_REJECT_DUPLICATES, &jerr);
            if (!json_is_object(doc)) {
                if (!bad++)
                    snprintf(w->error, sizeof w->error, "%s:%zu:%d: %s", w->file.path, line,
                             doc ? 1 : jerr.column, doc ? "expected a JSON object" : jerr.text);
                json_decref(doc);
            } else {
                json_t *meta = json_object_get(doc, "meta");
                if (!json_is_object(meta)) {
                    meta = json_object();
                    json_object_set_new(doc, "meta", meta);
                }
                json_object_set_new(meta, "path", json_string(w->file.path));
                json_object_set_new(meta, "line", json_integer((json_int_t)line));
                json_array_append_new(w->docs, doc);
            }
        }
        p = e + 1;
    }
    if (bad > 1) {
        size_t l = strlen(w->error);
        snprintf(w->error + l, sizeof w->error - l, " (and %zu more bad lines)", bad - 1);
    }
    free(data);
}

static void emit_backlog(struct files *f)
{
    while (f->backlog && f->backlog_pos < json_array_size(f->backlog)) {
        json_t *doc = json_array_get(f->backlog, f->backlog_pos++);
        int rc = f->host->emit(f->ins, json_incref(doc));
        if (rc == VIGIL_EAGAIN) {
            f->paused = 1;
            return;
        }
    }
    json_decref(f->backlog);
    f->backlog = NULL;
    f->backlog_pos = 0;
}

static void read_after_cb(uv_work_t *req, int status)
{
    struct read_work *w = req->data;
    struct files *f = w->f;
    f->reading--;
    if (status != 0 || w->error[0]) {
        f->host->log(f->ins, VIGIL_LOG_WARN, "%s", w->error[0] ? w->error : "read canceled");
        f->host->counter_add(f->c_errors, 1);
    }
    size_t n = json_array_size(w->docs);
    if (!f->stopping) {
        for (size_t i = 0; i < n; i++) {
            json_t *doc = json_array_get(w->docs, i);
            if (!json_is_string(json_object_get(doc, "id"))) {
                /* Stable id: the path under the source root (and the line). */
                uint64_t h = hash_fnv64(w->file.rel, strlen(w->file.rel));
                json_t *line = json_object_get(json_object_get(doc, "meta"), "line");
                if (line) {
                    json_int_t l = json_integer_value(line);
                    h = hash_fnv64_update(h, &l, sizeof l);
                }
                char hex[17];
                hash_hex64(h, hex);
                json_object_set_new(doc, "id", json_string(hex));
            }
            if (w->file.update)
                json_object_set_new(json_object_get(doc, "meta"), "update", json_true());
        }
        f->host->counter_add(f->c_files, 1);
        seen_put(&f->seen, w->file.key, w->file.sig);
        if (f->conf->remember) {
            char k[40], v[17];
            snprintf(k, sizeof k, "seen:%016llx", (unsigned long long)w->file.key);
            hash_hex64(w->file.sig, v);
            f->host->kv_put(f->ins, k, v, 16, 0);
        }
        /* Queue behind anything still waiting, so order holds. */
        if (!f->backlog) {
            f->backlog = json_incref(w->docs);
            f->backlog_pos = 0;
        } else {
            json_array_extend(f->backlog, w->docs);
        }
        if (!f->paused)
            emit_backlog(f);
    }
    json_decref(w->docs);
    free(w->file.path);
    free(w->file.rel);
    free(w);
    start_reads(f);
}

static void start_reads(struct files *f)
{
    while (!f->stopping && !f->paused && !f->backlog && f->next < f->ntodo &&
           f->reading < f->conf->concurrency) {
        struct read_work *w = calloc(1, sizeof *w);
        if (!w)
            break;
        w->f = f;
        w->file = f->todo[f->next];
        memset(&f->todo[f->next], 0, sizeof f->todo[f->next]);
        f->next++;
        w->max_size = f->conf->max_size;
        w->req.data = w;
        if (uv_queue_work(f->host->loop(f->ins), &w->req, read_work_cb, read_after_cb) != 0) {
            free(w->file.path);
            free(w->file.rel);
            free(w);
            continue;
        }
        f->reading++;
    }
    if (f->reading == 0 && !f->backlog && (f->next >= f->ntodo || f->stopping))
        finish_pass(f, f->stopping ? VIGIL_ECANCELED : VIGIL_OK);
}

static void finish_pass(struct files *f, int status)
{
    if (!f->in_pass)
        return;
    for (size_t i = f->next; i < f->ntodo; i++) {
        free(f->todo[i].path);
        free(f->todo[i].rel);
    }
    free(f->todo);
    f->todo = NULL;
    f->ntodo = f->next = 0;
    f->in_pass = 0;
    f->done(f->done_arg, status);
}

/* --- hooks --------------------------------------------------------------- */

static int files_create(const struct vigil_host *host, struct vigil_instance *ins,
                        const void *conf, void **state, struct vigil_error *err)
{
    struct files *f = calloc(1, sizeof *f);
    if (!f)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    f->host = host;
    f->ins = ins;
    f->conf = conf;
    f->c_files = host->counter(ins, "files_read", "files read");
    f->c_errors = host->counter(ins, "file_errors", "files that could not be read");
    *state = f;
    return VIGIL_OK;
}

static int files_collect(void *state, vigil_pass_cb done, void *arg)
{
    struct files *f = state;
    if (f->in_pass)
        return VIGIL_ESTATE;
    struct scan_work *w = calloc(1, sizeof *w);
    if (!w)
        return VIGIL_ENOMEM;
    w->f = f;
    w->root = strdup(f->conf->path);
    w->recursive = f->conf->recursive;
    w->exts = &f->conf->extensions;
    w->req.data = w;
    f->in_pass = 1;
    f->done = done;
    f->done_arg = arg;
    f->scanning = 1;
    if (uv_queue_work(f->host->loop(f->ins), &w->req, scan_work_cb, scan_after_cb) != 0) {
        free(w->root);
        free(w);
        f->in_pass = 0;
        f->scanning = 0;
        return VIGIL_ERR;
    }
    return VIGIL_OK;
}

static void files_pause(void *state)
{
    struct files *f = state;
    f->paused = 1;
}

static void files_resume(void *state)
{
    struct files *f = state;
    f->paused = 0;
    emit_backlog(f);
    if (f->in_pass && !f->scanning)
        start_reads(f);
}

static void files_stop(void *state)
{
    struct files *f = state;
    f->stopping = 1;
    json_decref(f->backlog);
    f->backlog = NULL;
    if (f->in_pass && !f->scanning)
        start_reads(f); /* ends the pass once reads in flight return */
}

static void files_destroy(void *state)
{
    struct files *f = state;
    json_decref(f->backlog);
    free(f->seen.keys);
    free(f->seen.sigs);
    free(f);
}

static const struct vigil_plugin files_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "files",
    .version = "1.0.0",
    .description = "read .html, .txt, .json and .jsonl files from a directory",
    .license = "Apache-2.0",
    .kind = VIGIL_SOURCE,
    .options = files_options,
    .conf_size = sizeof(struct files_conf),
    .default_every_ms = 2000,
    .create = files_create,
    .stop = files_stop,
    .destroy = files_destroy,
    .collect = files_collect,
    .pause = files_pause,
    .resume = files_resume,
};

VIGIL_PLUGIN_EXPORT(files_plugin)
