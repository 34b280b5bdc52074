/*
 * core/loader - find, open and check plugins.
 *
 * A plugin called NAME of kind KIND lives in a file KIND_NAME.so in one of
 * the plugin directories (searched in order), or is linked into the binary
 * (static-link mode; those win). Before a descriptor is used it is checked:
 * ABI major equal and minor not newer than the host's, struct size sane,
 * name and kind matching the file, required hooks present, no duplicate,
 * option table well-formed. Every refusal is logged with the path and the
 * reason, and returned in a struct vigil_error.
 *
 * Loop thread only. Loaded plugins stay loaded until core_loader_close(),
 * which must run after every instance was destroyed.
 */
#ifndef VIGIL_CORE_LOADER_H
#define VIGIL_CORE_LOADER_H

#include "log.h"
#include "vigil/plugin.h"

struct core_plugin {
    struct vigil_plugin desc; /* host-side copy: fields the plugin's struct_size
                                 does not cover are zero */
    char *path;               /* file it came from, or "(built-in)" */
    void *dl;                 /* dlopen handle; NULL when built in */
    struct core_plugin *next;
};

struct core_loader {
    const struct core_log *log;
    const struct vigil_host *host; /* handed to vigil_plugin_init */
    char **dirs;
    size_t ndirs;
    struct core_plugin *plugins; /* everything loaded, newest first */
    int use_static;              /* consult the built-in table (default 1) */
};

void core_loader_init(struct core_loader *l, const struct core_log *log,
                      const struct vigil_host *host);
/* Append a search directory (copied). */
int core_loader_add_dir(struct core_loader *l, const char *dir);

/* "source", "transform", "sink" <-> enum vigil_kind; 0 if unknown. */
const char *core_kind_name(int kind);
int core_kind_parse(const char *name);

/*
 * The plugin of this kind and name: already loaded, built in, or loaded now
 * from the first directory holding KIND_NAME.so. A name containing '/' is a
 * path to a .so file. Returns VIGIL_OK with *out borrowed (valid until
 * core_loader_close), or an error with err filled: VIGIL_ENOTFOUND (err lists
 * the directories searched and the plugins of that kind that exist),
 * VIGIL_EABI, VIGIL_EIO (dlopen failed), VIGIL_EINVAL (bad descriptor),
 * VIGIL_EEXIST (duplicate name).
 */
int core_loader_get(struct core_loader *l, int kind, const char *name,
                    const struct core_plugin **out, struct vigil_error *err);

/* Open one file and check it. expect_kind/expect_name may be 0/NULL. */
int core_loader_load_path(struct core_loader *l, const char *path, int expect_kind,
                          const char *expect_name, const struct core_plugin **out,
                          struct vigil_error *err);

/* Every plugin found (built-in and in the directories), loading what is not
 * loaded yet; cb gets either a plugin or a refusal (path + error). */
typedef void (*core_loader_scan_cb)(void *arg, const struct core_plugin *p, const char *path,
                                    const struct vigil_error *refusal);
void core_loader_scan(struct core_loader *l, core_loader_scan_cb cb, void *arg);

/* dlclose every plugin and free everything. */
void core_loader_close(struct core_loader *l);

#endif
