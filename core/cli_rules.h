/*
 * cli_rules - the chain behind `vigil test` and `vigil explain`.
 *
 * FILE is either a pipeline (its transforms run) or a rules file (an
 * implicit html_clean -> entities -> events chain over the given gazetteers,
 * or every gazetteer shipped in $VIGIL_DATA_DIR/gazetteer). Either way the
 * chain gets a private temporary state directory, removed at close, so
 * trying rules never touches a running pipeline's state.
 */
#ifndef VIGIL_CORE_CLI_RULES_H
#define VIGIL_CORE_CLI_RULES_H

#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "cli_chain.h"

#define CLI_RULES_MAX_GAZ 64

struct cli_rules_opts {
    const char *gazetteers[CLI_RULES_MAX_GAZ]; /* none = the shipped ones */
    int ngazetteers;
    int skip_dedupe; /* test cases are independent documents */
    const char *prefix; /* "vigil test": starts every message printed */
};

struct cli_rules {
    struct core_loader loader;
    struct cli_chain chain;
    int open;              /* chain opened (close it) */
    int is_pipeline;       /* FILE was a pipeline, not a rules file */
    char tmpdir[512];      /* private state directory ("" = none) */
    char **rule_files;     /* rule files of the events stages; owned */
    size_t nrule_files;
    unsigned char *skip;   /* per transform: 1 = not run */
};

/* Open the chain for file. Problems are printed to stderr (validation
 * errors with FILE:LINE:COL); returns CLI_OK or the exit code to use. The
 * caller calls cli_rules_close() either way. */
int cli_rules_open(struct cli_rules *r, struct cli_globals *g, const char *file,
                   const struct cli_rules_opts *o);

/* Run the transforms on doc (the caller's). Returns VIGIL_PASS, VIGIL_DROP
 * (with *stage set to the id of the stage that dropped it) or an error
 * with err filled (and *stage set). */
int cli_rules_run(struct cli_rules *r, json_t *doc, const char **stage, struct vigil_error *err);

void cli_rules_close(struct cli_rules *r);

/* The document a test case describes ({"title", "text", "lang",
 * "published"}), ready for the chain; id_seed makes its id. New reference. */
json_t *cli_rules_case_doc(const json_t *tc, const char *id_seed);

/* Print meta.explain_events of doc for people: per rule, fired or why not,
 * then per sentence (its text) each trigger's result and the condition that
 * failed. only_rule / only_type (NULL = all) pick rules. */
void cli_rules_print_explain(FILE *f, const json_t *doc, const char *only_rule,
                             const char *only_type, const char *indent);

#endif
