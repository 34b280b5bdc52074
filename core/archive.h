/*
 * core/archive - processed documents kept in SQLite with FTS5, so an analyst
 * can ask "what did we see about North Korean troops this week" without
 * another tool. The write side is the built-in `archive` sink; the read
 * side is core_archive_search(), used by `vigil search` and the daemon's
 * /api/v1/search.
 */
#ifndef VIGIL_CORE_ARCHIVE_H
#define VIGIL_CORE_ARCHIVE_H

#include <stdint.h>

#include <jansson.h>

#include "vigil/plugin.h"

struct core_search_query {
    const char *q;        /* FTS5 query over title and text; NULL = everything */
    const char *entity;   /* entity id (or affiliation) the document mentions */
    const char *pipeline; /* NULL = all */
    int64_t from_ms;      /* fetched or published at or after; 0 = no bound */
    int64_t to_ms;        /* ... before; 0 = no bound */
    int limit;            /* default 20, at most 1000 */
};

/*
 * Search the archive at path. On success *out is {"total": N, "results":
 * [{id, pipeline, source, url, title, published, fetched, lang, snippet,
 * entities: [ids], events: [{type, title}]}]} newest first. A query that
 * is not valid FTS5 syntax is retried as plain words.
 */
int core_archive_search(const char *path, const struct core_search_query *q, json_t **out,
                        struct vigil_error *err);

/* Default archive path for a state directory: DIR/archive.db (into buf). */
void core_archive_default_path(const char *state_dir, char *buf, size_t len);

#endif
