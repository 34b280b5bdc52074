#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "builtin.h"
#include "core_static.h"
#include "options.h"

/* The 1.0 descriptor: the smallest struct_size a 1.x plugin may declare.
 * Fields appended in later minors are read only when struct_size covers
 * them. */
#define PLUGIN_SIZE_1_0 sizeof(struct vigil_plugin)
#define PLUGIN_SIZE_MAX 65536u

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

const char *core_kind_name(int kind)
{
    switch (kind) {
    case VIGIL_SOURCE: return "source";
    case VIGIL_TRANSFORM: return "transform";
    case VIGIL_SINK: return "sink";
    default: return "unknown";
    }
}

int core_kind_parse(const char *name)
{
    if (strcmp(name, "source") == 0)
        return VIGIL_SOURCE;
    if (strcmp(name, "transform") == 0)
        return VIGIL_TRANSFORM;
    if (strcmp(name, "sink") == 0)
        return VIGIL_SINK;
    return 0;
}

void core_loader_init(struct core_loader *l, const struct core_log *log,
                      const struct vigil_host *host)
{
    memset(l, 0, sizeof *l);
    l->log = log;
    l->host = host;
    l->use_static = 1;
}

int core_loader_add_dir(struct core_loader *l, const char *dir)
{
    char **dirs = realloc(l->dirs, (l->ndirs + 1) * sizeof *dirs);
    if (!dirs)
        return VIGIL_ENOMEM;
    l->dirs = dirs;
    l->dirs[l->ndirs] = dupstr(dir);
    if (!l->dirs[l->ndirs])
        return VIGIL_ENOMEM;
    l->ndirs++;
    return VIGIL_OK;
}

static int valid_plugin_name(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    }
    return 1;
}

static const struct core_plugin *find_loaded(const struct core_loader *l, int kind,
                                             const char *name)
{
    for (const struct core_plugin *p = l->plugins; p; p = p->next) {
        if (p->desc.kind == kind && strcmp(p->desc.name, name) == 0)
            return p;
    }
    return NULL;
}

/*
 * Check a descriptor returned by an entry function and copy what its size
 * covers. Nothing is read before the version fields are checked: a plugin
 * built against another layout is refused, never misread.
 */
static int check_descriptor(struct core_loader *l, const struct vigil_plugin *d, const char *path,
                            int expect_kind, const char *expect_name, struct core_plugin *out,
                            struct vigil_error *err)
{
    if (d->abi_major != VIGIL_ABI_MAJOR || d->abi_minor > VIGIL_ABI_MINOR)
        return vigil_error_set(err, VIGIL_EABI,
                               "plugin %s: built for ABI %u.%u, host has %d.%d (%s)", path,
                               d->abi_major, d->abi_minor, VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR,
                               d->abi_major != VIGIL_ABI_MAJOR
                                   ? "the major version must be equal"
                                   : "rebuild the plugin against this host's headers or "
                                     "upgrade the host");
    if (d->struct_size < PLUGIN_SIZE_1_0 || d->struct_size > PLUGIN_SIZE_MAX)
        return vigil_error_set(err, VIGIL_EABI,
                               "plugin %s: descriptor size %u is not plausible for ABI %u.%u "
                               "(expected at least %zu)",
                               path, d->struct_size, d->abi_major, d->abi_minor, PLUGIN_SIZE_1_0);

    memset(&out->desc, 0, sizeof out->desc);
    memcpy(&out->desc, d,
           d->struct_size < sizeof out->desc ? d->struct_size : sizeof out->desc);
    const struct vigil_plugin *p = &out->desc;

    if (!valid_plugin_name(p->name))
        return vigil_error_set(err, VIGIL_EINVAL,
                               "plugin %s: invalid name '%s' (expected [a-z][a-z0-9_]*)", path,
                               p->name ? p->name : "(null)");
    if (p->kind < VIGIL_SOURCE || p->kind > VIGIL_SINK)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: '%s' has unknown kind %d", path,
                               p->name, p->kind);
    if (expect_kind && p->kind != expect_kind)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: '%s' is a %s, expected a %s", path,
                               p->name, core_kind_name(p->kind), core_kind_name(expect_kind));
    if (expect_name && strcmp(p->name, expect_name) != 0)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "plugin %s: file is named for '%s' but the plugin calls itself "
                               "'%s'",
                               path, expect_name, p->name);
    if (!p->version || !p->description)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: '%s' has no version or description",
                               path, p->name);
    if (!p->create)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: '%s' has no create hook", path,
                               p->name);
    if (p->kind == VIGIL_SOURCE && !p->collect)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: source '%s' has no collect hook",
                               path, p->name);
    if (p->kind == VIGIL_TRANSFORM && !p->process == !p->process_async)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "plugin %s: transform '%s' must set exactly one of process and "
                               "process_async",
                               path, p->name);
    if (p->kind == VIGIL_SINK && !p->deliver)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: sink '%s' has no deliver hook", path,
                               p->name);
    if (p->options && p->conf_size == 0 && p->options[0].name)
        return vigil_error_set(err, VIGIL_EINVAL,
                               "plugin %s: '%s' declares options but conf_size is 0", path,
                               p->name);
    struct vigil_error terr = {0};
    if (core_options_check_table(p, &terr) != VIGIL_OK)
        return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: '%s': %s", path, p->name, terr.msg);
    const struct core_plugin *dup = find_loaded(l, p->kind, p->name);
    if (dup)
        return vigil_error_set(err, VIGIL_EEXIST,
                               "plugin %s: duplicate %s name '%s', already provided by %s", path,
                               core_kind_name(p->kind), p->name, dup->path);
    return VIGIL_OK;
}

static int register_plugin(struct core_loader *l, const struct vigil_plugin *d, const char *path,
                           void *dl, int expect_kind, const char *expect_name,
                           const struct core_plugin **out, struct vigil_error *err)
{
    struct core_plugin *p = calloc(1, sizeof *p);
    if (!p)
        return vigil_error_set(err, VIGIL_ENOMEM, "plugin %s: out of memory", path);
    int rc = check_descriptor(l, d, path, expect_kind, expect_name, p, err);
    if (rc != VIGIL_OK) {
        free(p);
        return rc;
    }
    p->path = dupstr(path);
    p->dl = dl;
    p->next = l->plugins;
    l->plugins = p;
    core_log_debug(l->log, "loader", "loaded %s '%s' %s from %s", core_kind_name(p->desc.kind),
                   p->desc.name, p->desc.version, path);
    if (out)
        *out = p;
    return VIGIL_OK;
}

static void refuse(struct core_loader *l, const struct vigil_error *err)
{
    core_log_warn(l->log, "loader", "refused: %s", err->msg);
}

int core_loader_load_path(struct core_loader *l, const char *path, int expect_kind,
                          const char *expect_name, const struct core_plugin **out,
                          struct vigil_error *err)
{
    struct vigil_error perr = {0};
    void *dl;
    int rc;

    for (const struct core_plugin *p = l->plugins; p; p = p->next) {
        if (p->dl && strcmp(p->path, path) == 0) {
            if ((expect_kind && p->desc.kind != expect_kind) ||
                (expect_name && strcmp(p->desc.name, expect_name) != 0))
                return vigil_error_set(err, VIGIL_EINVAL, "plugin %s: provides %s '%s'", path,
                                       core_kind_name(p->desc.kind), p->desc.name);
            *out = p;
            return VIGIL_OK;
        }
    }

    /* RTLD_NOW: a missing symbol fails here, not in the middle of a run.
     * RTLD_LOCAL: plugins cannot see or clash with each other's symbols. */
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *why = dlerror();
        rc = vigil_error_set(err, VIGIL_EIO,
                             "plugin %s: cannot be opened: %s (if a library is missing, "
                             "`ldd %s` shows which)",
                             path, why ? why : "unknown error", path);
        refuse(l, err);
        return rc;
    }
    dlerror();
    void *sym = dlsym(dl, VIGIL_PLUGIN_SYMBOL);
    if (!sym) {
        rc = vigil_error_set(err, VIGIL_EINVAL,
                             "plugin %s: no entry symbol '%s' (is it a Vigil plugin built with "
                             "VIGIL_PLUGIN_EXPORT?)",
                             path, VIGIL_PLUGIN_SYMBOL);
        dlclose(dl);
        refuse(l, err);
        return rc;
    }
    vigil_plugin_init_fn init;
    /* POSIX guarantees a data pointer from dlsym converts to a function. */
    memcpy(&init, &sym, sizeof init);
    const struct vigil_plugin *d = init(l->host, &perr);
    if (!d) {
        rc = vigil_error_set(err, VIGIL_EINVAL, "plugin %s: initialisation failed: %s", path,
                             perr.msg[0] ? perr.msg : "no descriptor returned");
        dlclose(dl);
        refuse(l, err);
        return rc;
    }
    rc = register_plugin(l, d, path, dl, expect_kind, expect_name, out, err);
    if (rc != VIGIL_OK) {
        dlclose(dl);
        refuse(l, err);
    }
    return rc;
}

static int load_from_table(struct core_loader *l, const struct core_static_plugin *table,
                           int kind, const char *name, const struct core_plugin **out,
                           struct vigil_error *err)
{
    char stem[256];
    snprintf(stem, sizeof stem, "%s_%s", core_kind_name(kind), name);
    for (const struct core_static_plugin *s = table; s->file_stem; s++) {
        if (strcmp(s->file_stem, stem) != 0)
            continue;
        struct vigil_error perr = {0};
        const struct vigil_plugin *d = s->init(l->host, &perr);
        if (!d)
            return vigil_error_set(err, VIGIL_EINVAL, "built-in plugin %s: %s", stem, perr.msg);
        return register_plugin(l, d, "(built-in)", NULL, kind, name, out, err);
    }
    return VIGIL_ENOTFOUND;
}

/* Names of plugins of one kind, for "did you mean" help. */
static void list_available(struct core_loader *l, int kind, struct buf *b)
{
    char prefix[32];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%s_", core_kind_name(kind));
    int n = 0;
    for (const struct core_static_plugin *s = core_builtin_plugins; s->file_stem; s++) {
        if (strncmp(s->file_stem, prefix, plen) == 0)
            buf_printf(b, "%s%s", n++ ? ", " : "", s->file_stem + plen);
    }
    for (const struct core_static_plugin *s = core_static_plugins; l->use_static && s->file_stem;
         s++) {
        if (strncmp(s->file_stem, prefix, plen) == 0)
            buf_printf(b, "%s%s", n++ ? ", " : "", s->file_stem + plen);
    }
    for (size_t i = 0; i < l->ndirs; i++) {
        DIR *dir = opendir(l->dirs[i]);
        struct dirent *e;
        if (!dir)
            continue;
        while ((e = readdir(dir)) != NULL) {
            size_t len = strlen(e->d_name);
            if (len > plen + 3 && strncmp(e->d_name, prefix, plen) == 0 &&
                strcmp(e->d_name + len - 3, ".so") == 0) {
                buf_printf(b, "%s%.*s", n++ ? ", " : "", (int)(len - plen - 3),
                           e->d_name + plen);
            }
        }
        closedir(dir);
    }
    if (n == 0)
        buf_append_str(b, "none");
}

int core_loader_get(struct core_loader *l, int kind, const char *name,
                    const struct core_plugin **out, struct vigil_error *err)
{
    const struct core_plugin *p;
    int rc;

    if (strchr(name, '/'))
        return core_loader_load_path(l, name, kind, NULL, out, err);

    p = find_loaded(l, kind, name);
    if (p) {
        *out = p;
        return VIGIL_OK;
    }
    if (!valid_plugin_name(name))
        return vigil_error_set(err, VIGIL_EINVAL,
                               "'%s' is not a plugin name ([a-z][a-z0-9_]*) nor a path to a .so",
                               name);
    /* Built into the host: always present. */
    rc = load_from_table(l, core_builtin_plugins, kind, name, out, err);
    if (rc != VIGIL_ENOTFOUND)
        return rc;
    if (l->use_static) {
        rc = load_from_table(l, core_static_plugins, kind, name, out, err);
        if (rc != VIGIL_ENOTFOUND)
            return rc;
    }
    for (size_t i = 0; i < l->ndirs; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s_%s.so", l->dirs[i], core_kind_name(kind), name);
        if (stat(path, &st) == 0)
            return core_loader_load_path(l, path, kind, name, out, err);
    }

    struct buf dirs, avail;
    buf_init(&dirs, 4096);
    buf_init(&avail, 4096);
    for (size_t i = 0; i < l->ndirs; i++)
        buf_printf(&dirs, "%s%s", i ? ", " : "", l->dirs[i]);
    list_available(l, kind, &avail);
    rc = vigil_error_set(err, VIGIL_ENOTFOUND,
                         "no %s plugin named '%s' (looked for %s_%s.so in: %s); available %ss: %s",
                         core_kind_name(kind), name, core_kind_name(kind), name,
                         dirs.data ? dirs.data : "no plugin directory", core_kind_name(kind),
                         avail.data ? avail.data : "none");
    buf_free(&dirs);
    buf_free(&avail);
    return rc;
}

static void scan_table(struct core_loader *l, const struct core_static_plugin *table,
                       core_loader_scan_cb cb, void *arg)
{
    struct vigil_error err;
    for (const struct core_static_plugin *s = table; s->file_stem; s++) {
        const char *us = strchr(s->file_stem, '_');
        char kind_name[32];
        if (!us || (size_t)(us - s->file_stem) >= sizeof kind_name)
            continue;
        memcpy(kind_name, s->file_stem, (size_t)(us - s->file_stem));
        kind_name[us - s->file_stem] = '\0';
        const struct core_plugin *p;
        memset(&err, 0, sizeof err);
        if (core_loader_get(l, core_kind_parse(kind_name), us + 1, &p, &err) == VIGIL_OK)
            cb(arg, p, p->path, NULL);
        else
            cb(arg, NULL, s->file_stem, &err);
    }
}

void core_loader_scan(struct core_loader *l, core_loader_scan_cb cb, void *arg)
{
    struct vigil_error err;
    scan_table(l, core_builtin_plugins, cb, arg);
    if (l->use_static)
        scan_table(l, core_static_plugins, cb, arg);
    for (size_t i = 0; i < l->ndirs; i++) {
        struct dirent **names = NULL;
        int n = scandir(l->dirs[i], &names, NULL, alphasort);
        for (int k = 0; k < n; k++) {
            const char *fn = names[k]->d_name;
            size_t len = strlen(fn);
            if (len > 3 && strcmp(fn + len - 3, ".so") == 0) {
                char path[4096], stem[256];
                snprintf(path, sizeof path, "%s/%s", l->dirs[i], fn);
                snprintf(stem, sizeof stem, "%.*s", (int)(len - 3), fn);
                char *us = strchr(stem, '_');
                int kind = 0;
                if (us) {
                    *us = '\0';
                    kind = core_kind_parse(stem);
                }
                const struct core_plugin *p = NULL;
                memset(&err, 0, sizeof err);
                if (!kind) {
                    vigil_error_set(&err, VIGIL_EINVAL,
                                    "plugin %s: file name must be <kind>_<name>.so with kind "
                                    "source, transform or sink",
                                    path);
                    cb(arg, NULL, path, &err);
                } else if (find_loaded(l, kind, us + 1) &&
                           strcmp(find_loaded(l, kind, us + 1)->path, path) != 0) {
                    /* Shadowed by an earlier directory or a built-in: the
                     * one in use was already reported. */
                } else if (core_loader_load_path(l, path, kind, us + 1, &p, &err) == VIGIL_OK) {
                    cb(arg, p, path, NULL);
                } else {
                    cb(arg, NULL, path, &err);
                }
            }
            free(names[k]);
        }
        free(names);
    }
}

void core_loader_close(struct core_loader *l)
{
    struct core_plugin *p = l->plugins;
    while (p) {
        struct core_plugin *next = p->next;
        if (p->dl)
            dlclose(p->dl);
        free(p->path);
        free(p);
        p = next;
    }
    for (size_t i = 0; i < l->ndirs; i++)
        free(l->dirs[i]);
    free(l->dirs);
    memset(l, 0, sizeof *l);
}
