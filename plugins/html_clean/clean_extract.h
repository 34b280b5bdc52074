/*
 * clean_extract - find the article in a parsed page.
 *
 * Two steps over flat arrays, so no walk recurses and a 10,000-deep page
 * costs what a flat one does:
 *
 *   clean_dom_build   one iterative pass over the libxml2 tree: every
 *                     element becomes a node (preorder, with its parent and
 *                     the end of its subtree, its tag and its class/id/role
 *                     hints); text is folded into blocks (a paragraph, a
 *                     heading, a list item: the text between two block
 *                     boundaries) with their link text; the elements the
 *                     metadata pass needs (meta, link, title, JSON-LD,
 *                     time, author) are collected on the way.
 *
 *   clean_extract_text  scores blocks (prose earns, link lists and
 *                     boilerplate cost), sums the scores over subtrees, takes
 *                     the element whose subtree scores best as the article
 *                     (with small bonuses for <article>, itemprop=articleBody
 *                     and positive class names, and its siblings when they
 *                     score well too), then keeps the blocks in it that pass
 *                     the line filters (link density, boilerplate shapes,
 *                     bylines, the headline) and trims what is left around
 *                     the prose.
 *
 * The scratch (struct clean_dom) is reused between documents by one
 * worker; nothing is shared between threads.
 */
#ifndef CLEAN_EXTRACT_H
#define CLEAN_EXTRACT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libxml/tree.h>

#include "buf.h"

enum clean_preset { CLEAN_PRESET_PRECISION = 0, CLEAN_PRESET_RECALL = 1 };

enum clean_page_type { CLEAN_PAGE_UNKNOWN = 0, CLEAN_PAGE_ARTICLE = 1, CLEAN_PAGE_LISTING = 2 };

/* Node flags. */
enum {
    CX_SKIP = 1u << 0,      /* no text inside counts (script, svg, form controls) */
    CX_BLOCK = 1u << 1,     /* block-level: text on either side is another block */
    CX_BOILER = 1u << 2,    /* nav, aside, header, footer, figure, figcaption, menu */
    CX_NEG = 1u << 3,       /* class/id/role says boilerplate (comments, share...) */
    CX_NEG_WEAK = 1u << 4,  /* ...but only layout words (sidebar, menu, hidden):
                               ignored when the element holds most of the prose */
    CX_POS = 1u << 5,       /* class/id/role says content (article, story, body) */
    CX_ARTBODY = 1u << 6,   /* itemprop=articleBody */
    CX_ARTICLE = 1u << 7,   /* <article> or role=article */
    CX_MAIN = 1u << 8,      /* <main> or role=main */
    CX_LINK = 1u << 9,      /* <a href> */
    CX_HEADING = 1u << 10,  /* h1..h6 */
    CX_LIST = 1u << 11,     /* li, dt, dd */
    CX_QUOTE = 1u << 12,    /* blockquote */
    CX_PRE = 1u << 13,      /* pre */
    CX_CELL = 1u << 14,     /* td, th */
    CX_PARA = 1u << 15,     /* p */
    CX_NEG_KEEP = 1u << 16, /* ...and the words name comments: never voided */
    CX_BR = 1u << 17        /* block: a <br> ends or starts it (a line of a
                               paragraph, not a paragraph of its own) */
};

struct cx_node {
    xmlNodePtr node;
    int32_t parent; /* -1 for the root */
    int32_t end;    /* one past the last descendant: subtree = [index, end) */
    uint32_t flags;
    uint16_t tag;    /* enum in clean_extract.c */
    uint8_t heading; /* 1..6 for h1..h6 */
};

struct cx_block {
    int32_t elem;   /* innermost element holding all of the block */
    int32_t owner;  /* innermost block-level element */
    uint32_t start; /* byte offset in the arena */
    uint32_t len;   /* bytes */
    uint32_t chars; /* code points */
    uint32_t link_chars;
    uint16_t commas;
    uint8_t end_punct; /* ends like a sentence */
    uint8_t heading;   /* 1..6 when inside h1..h6 */
    uint32_t flags;    /* CX_* flags of the block's context (LIST, QUOTE...) */
};

/* Elements the metadata pass reads (borrowed from the libxml2 document),
 * in document order. Each kind has its own cap so a flood of one (a listing
 * with 1,000 <time> elements) cannot push out another. */
enum clean_ref_kind { REF_META, REF_JSONLD, REF_TIME, REF_AUTHOR, REF_H1, REF_KINDS };

struct clean_refs {
    xmlNodePtr root;  /* <html> */
    xmlNodePtr title; /* first <title> */
    xmlNodePtr *v;    /* meta, link, script ld+json, time, author candidates, h1 */
    size_t n, cap;
    size_t count[REF_KINDS];
};

struct clean_dom {
    struct cx_node *nodes;
    size_t nnodes, ncap;
    struct cx_block *blocks;
    size_t nblocks, bcap;
    struct buf arena; /* block texts, back to back */
    float *score;     /* per node: subtree score (with hints), decayed with depth */
    float *flat;      /* per node: the same, not decayed */
    float *prose;     /* per node: subtree prose (without hints) */
    float *chars;     /* per node: subtree characters */
    int32_t *neg;     /* per node: nearest boilerplate ancestor-or-self, -1 */
    size_t fcap;
    struct clean_refs refs;
    /* class/id hints are a pure function of the attribute value and pages
       repeat the same values hundreds of times: a direct-mapped cache */
    uint64_t hint_key[512];
    uint32_t hint_val[512];
    size_t max_nodes; /* elements read at most (0: no limit); the walk stops
                         there, which bounds the tables' memory */
    int truncated;    /* the walk stopped at max_nodes */
};

void clean_dom_init(struct clean_dom *d);
void clean_dom_free(struct clean_dom *d);

/* Build nodes, blocks and refs from doc. Returns 0, VIGIL_ENOMEM or
 * VIGIL_ETOOBIG (the arena's max was reached; what was built is usable). */
int clean_dom_build(struct clean_dom *d, xmlDocPtr doc);

/* What the extraction may use besides the page. All borrowed, may be
 * NULL/0. */
struct clean_extract_in {
    int preset;                 /* enum clean_preset */
    const char *title;          /* headline: a block repeating it is dropped */
    const char *const *authors; /* bylines repeated in the body are dropped */
    size_t nauthors;
    const char *description; /* meta description: finds the standfirst */
    FILE *trace;             /* when set, every block and why it was kept or
                                dropped is written there (debugging) */
};

struct clean_extract_out {
    int page_type;   /* enum clean_page_type */
    int from_jsonld; /* (set by clean_page) the text is the JSON-LD
                        articleBody */
    size_t chars;    /* code points in the text */
    size_t paragraphs;
    int32_t main_node; /* node chosen as the article, -1 if none */
    /* page shape, for telling listings from articles */
    size_t teasers;       /* link blocks shaped like headlines (25..200 chars) */
    size_t teasers_main;  /* ...of them inside the article element */
    size_t long_paras;    /* kept blocks of 150+ characters */
    int32_t byline_block; /* first block of the article shaped like a byline
                             ("By Jane Doe"), -1 if none */
};

/* Write the article text (paragraphs split by "\n\n", not yet NFC) to out
 * (reset first). Returns 0, or VIGIL_ETOOBIG when out is full. */
int clean_extract_text(struct clean_dom *d, const struct clean_extract_in *in, struct buf *out,
                       struct clean_extract_out *res);

/* Class/id/role hint of one attribute value: CX_NEG (with CX_NEG_WEAK when
 * only layout words matched), CX_POS, or 0. Exposed for tests. */
unsigned clean_class_hint(const char *value);

/* Value of attribute name on element n, borrowed from the tree, or NULL.
 * Only simple (single text child) values are returned. */
const char *clean_attr(xmlNodePtr n, const char *name);

/* Folded text content of n's subtree (skipping script/style) appended to
 * b, at most max bytes. */
void clean_node_text(xmlNodePtr n, struct buf *b, size_t max);

#endif
