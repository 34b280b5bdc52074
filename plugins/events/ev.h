/*
 * ev - the events engine: evaluates a compiled ruleset on one document
 * and adds "events" (docs/documents.md) and, when asked, an explanation
 * (meta.explain_events).
 *
 * Threads: a ruleset is shared read-only; an ev_worker holds everything a
 * thread mutates (Vectorscan scratch, Snowball stemmers, buffers), so one
 * worker per thread and any number of threads per ruleset.
 */
#ifndef VIGIL_EVENTS_EV_H
#define VIGIL_EVENTS_EV_H

#include <jansson.h>

#include "rules.h"
#include "vigil/plugin.h"

struct ev_worker;

struct ev_opts {
    double min_confidence; /* events below are dropped */
    int max_events;        /* per document, strongest kept; 0 = 50 */
    int explain;           /* 1: always explain; 0: only when meta.explain is true */
};

/* What a worker did since it was created (for benchmarks and tuning). */
struct ev_stats {
    uint64_t documents;
    uint64_t sentences; /* text sentences and titles seen */
    uint64_t matched;   /* sentences tokenized and matched against terms */
    uint64_t triggers;  /* trigger occurrences evaluated */
    uint64_t events;    /* events added */
};

/* A worker for rs (which must outlive it). Returns VIGIL_OK or a negative
 * status with err filled. */
int ev_worker_new(const struct ruleset *rs, struct ev_worker **out, struct vigil_error *err);
void ev_worker_free(struct ev_worker *w);
void ev_worker_stats(const struct ev_worker *w, struct ev_stats *out);

/*
 * Evaluate every rule of rs on doc (borrowed, modified in place): appends
 * the events found to doc.events (created when missing) and, when
 * explaining, sets meta.explain_events. Reads text, title, lang,
 * sentences (falls back to tok_sentences() when absent or malformed) and
 * entities.mentions. Returns VIGIL_OK, or a negative status with err
 * filled: VIGIL_ETOOBIG for a text or title over 32 MB, VIGIL_ENOMEM; the
 * document then has no new events.
 */
int ev_process(const struct ruleset *rs, struct ev_worker *w, json_t *doc,
               const struct ev_opts *opts, struct vigil_error *err);

#endif
