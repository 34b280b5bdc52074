/*
 * mentions - test scaffolding for the events tests and bench: a tiny,
 * deterministic mention finder driven by a fixture alias list
 * (tests/events/fixtures/aliases.json), and the runner for the test cases
 * declared next to the rules ("tests" in a rules file).
 *
 * This is not a tagger: exact alias matches at word boundaries, longest
 * first, no context rules. It exists so that rule test cases can be
 * evaluated without the entities plugin.
 */
#ifndef VIGIL_TESTS_EVENTS_MENTIONS_H
#define VIGIL_TESTS_EVENTS_MENTIONS_H

#include <stddef.h>

#include <jansson.h>

struct mf;

/* Load the alias list; NULL with msg filled on failure. */
struct mf *mf_load(const char *path, char *msg, size_t len);
void mf_free(struct mf *mf);

/* Append entities.mentions for doc's title and text (each alias match). */
int mf_tag(const struct mf *mf, json_t *doc);

/*
 * A document for a test case: title, text, lang ("en" unless given) and
 * mentions: the case's own "entities" (mentions with a "surface" and no
 * offsets are placed at every occurrence of it) or, without them, mf_tag.
 * New reference.
 */
json_t *mf_case_doc(const struct mf *mf, const json_t *tc);

/*
 * Compare a processed document with a test case: every "expect" entry
 * must match a distinct event (type, and actor/object/severity when
 * given); the number of events of each expected type must equal the
 * number of its expect entries; no event may have a type listed in
 * "expect_none". Returns 0 when it holds, else -1 with why filled.
 */
int mf_check_case(const json_t *tc, const json_t *doc, char *why, size_t len);

#endif
