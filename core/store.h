/*
 * core/store - the state store: one SQLite file (WAL) per process.
 *
 * Plugins see a key/value store with TTL, namespaced per pipeline and stage
 * (host->kv_*). Writes are batched: the first write opens a transaction
 * that core_store_commit() closes (the engine calls it every 100 ms and at
 * shutdown) or that closes itself after 1000 writes. A crash loses at most
 * that window, which is right for caches and seen-sets; durable modules
 * (the alert outbox) use their own tables with explicit transactions
 * through core_store_lock().
 *
 * Thread-safe: one connection guarded by a mutex.
 */
#ifndef VIGIL_CORE_STORE_H
#define VIGIL_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "log.h"

struct core_store;

/* Open (creating dir and file as needed) DIR/vigil.db, check its integrity
 * and schema. Errors say which file and what is wrong (not writable,
 * corrupt, newer schema). */
int core_store_open(const char *dir, const struct core_log *log, struct core_store **out,
                    struct vigil_error *err);
void core_store_close(struct core_store *s);
/* The default state directory when none is configured: $VIGIL_STATE_DIR,
 * $XDG_STATE_HOME/vigil, ~/.local/state/vigil, else ./.vigil-state.
 * malloc'd. */
char *core_store_default_dir(void);
const char *core_store_path(const struct core_store *s);

/* kv. *val is malloc'd and NUL-terminated; VIGIL_ENOTFOUND when absent or
 * expired. ttl_ms 0 = forever. */
int core_store_get(struct core_store *s, const char *ns, const char *key, char **val, size_t *len);
int core_store_put(struct core_store *s, const char *ns, const char *key, const void *val,
                   size_t len, int64_t ttl_ms);
int core_store_del(struct core_store *s, const char *ns, const char *key);

/* First claim of (ns, key) within ttl_ms: VIGIL_OK, or VIGIL_EEXIST when a
 * live claim exists. Claims are kv rows under "claim:" keys, committed with
 * the batch like other writes (a crash may forget the last 100 ms of
 * claims: at-least-once, like everything kept in the kv store). */
int core_store_claim(struct core_store *s, const char *ns, const char *key, int64_t ttl_ms);
/* The same for an owner: VIGIL_OK also when owner already holds it;
 * VIGIL_EEXIST copies the holder's owner into holder (when given). */
int core_store_claim_owned(struct core_store *s, const char *ns, const char *key,
                           const char *owner, int64_t ttl_ms, char *holder, size_t holder_len);

/* Commit the batched writes now. Returns VIGIL_OK when nothing was pending. */
int core_store_commit(struct core_store *s);
/* Whether writes are waiting for a commit. */
int core_store_dirty(struct core_store *s);
/* Delete up to limit expired rows; returns how many went. */
int core_store_purge(struct core_store *s, int limit);

/* Direct access for core modules with their own tables: hold the lock for
 * the whole transaction. core_store_lock commits pending kv writes first so
 * the caller starts outside any transaction. */
sqlite3 *core_store_lock(struct core_store *s);
void core_store_unlock(struct core_store *s);

#endif
