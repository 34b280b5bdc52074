/*
 * core/when - conditions on sinks: which documents a sink receives.
 *
 *   "when": {"event_types": ["troop_deployment_acknowledged"],
 *            "min_severity": "high", "min_confidence": 0.7,
 *            "entities": ["KP"], "lang": ["en", "de"],
 *            "sources": ["world-feeds"], "has_events": true,
 *            "match": {"/meta/page_type": "article"}}
 *
 * Every key present must hold. The event keys (event_types, min_severity,
 * min_confidence) must hold for one and the same event. "entities" holds
 * when the document mentions any of the ids (or an event names one as
 * actor or object). docs/pipelines.md documents each key.
 */
#ifndef VIGIL_CORE_WHEN_H
#define VIGIL_CORE_WHEN_H

#include "jdiag.h"

struct core_when;

/* Compile spec (an object) located at pointer in doc. Returns the number of
 * errors added to d; *out is set only on success (NULL spec -> NULL out,
 * which matches everything). */
int core_when_compile(const json_t *spec, const struct jdoc *doc, const char *pointer,
                      struct core_when **out, struct diags *d);
/* Does the document satisfy the condition? Any thread; w is read-only. */
int core_when_match(const struct core_when *w, const json_t *doc);
void core_when_free(struct core_when *w);
/* Does one event satisfy the event conditions (event_types, min_severity,
 * min_confidence)? Used to pick the events that become alerts. */
int core_when_event_match(const struct core_when *w, const json_t *event);

/* "info".."critical" -> 0..4, -1 if unknown. */
int core_severity_parse(const char *s);

#endif
