#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>

#include "clean.h"

/* libxml2 parse options: recover from anything, never touch the network,
 * stay quiet, compact small text nodes, and ignore the page's own charset
 * declaration (the bytes are UTF-8 by now). */
#define CLEAN_PARSE_OPTIONS                                                                        \
    (HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |           \
     HTML_PARSE_COMPACT | HTML_PARSE_IGNORE_ENC)

void clean_conf_defaults(struct clean_conf *c)
{
    memset(c, 0, sizeof *c);
    c->preset = CLEAN_PRESET_PRECISION;
    c->max_html = 10u * 1024 * 1024;
    c->keep_html = 0;
    c->min_text = 250;
    c->lang_detect = 1;
    c->sentences = 1;
}

int clean_worker_new(const struct clean_conf *conf, struct clean_worker **out,
                     struct vigil_error *err)
{
    struct clean_worker *w = calloc(1, sizeof *w);
    if (!w)
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");
    w->conf = *conf;
    if (w->conf.max_html == 0 || w->conf.max_html > CLEAN_MAX_HTML_LIMIT)
        w->conf.max_html = CLEAN_MAX_HTML_LIMIT;
    clean_dom_init(&w->dom);
    /* Converted pages grow at most 3x (one byte of a legacy charset to
       three of UTF-8); text never outgrows its page. */
    size_t maxpage = (size_t)w->conf.max_html * 3 + 64;
    buf_init(&w->decoded, maxpage);
    buf_init(&w->text, maxpage);
    buf_init(&w->scratch, 1 << 20);
    w->dom.arena.max = maxpage;
    w->dom.max_nodes = CLEAN_MAX_ELEMENTS;
    if (clean_sent_open(&w->sent) != 0) {
        clean_worker_free(w);
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");
    }
    if (conf->lang_detect) {
        int rc = clean_lang_open(conf->fingerprints, (const char *const *)conf->languages.v,
                                 conf->languages.n, &w->lang, err);
        if (rc) {
            clean_worker_free(w);
            return rc;
        }
    }
    *out = w;
    return 0;
}

void clean_worker_free(struct clean_worker *w)
{
    if (!w)
        return;
    clean_dom_free(&w->dom);
    buf_free(&w->decoded);
    buf_free(&w->text);
    buf_free(&w->scratch);
    clean_nfc_scratch_free(&w->nfc);
    clean_lang_close(w->lang);
    clean_sent_close(w->sent);
    clean_meta_free(&w->meta);
    free(w);
}

/* Cut at a byte that cannot be inside a UTF-8 sequence or a tag name,
 * close to limit. */
static size_t cut_point(const char *s, size_t limit)
{
    size_t i = limit;
    while (i > limit - (limit < 4 ? limit : 4) && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/*
 * The JSON-LD articleBody replaces the extraction when the extraction
 * found less than half of it and the body is sane: long enough (500+
 * bytes), not cut ("..." at the end), and consistent with the page: its
 * opening words are in the page's text, or its headline and URL are the
 * page's (a page that renders the body with scripts).
 */
static int use_jsonld_body(struct clean_worker *w, const struct clean_meta *m, size_t text_len)
{
    const char *body = m->jsonld_body;
    if (!body)
        return 0;
    size_t bl = strlen(body);
    if (bl < 500 || text_len * 2 >= bl)
        return 0;
    if (bl >= 3 &&
        (strcmp(body + bl - 3, "...") == 0 || strcmp(body + bl - 3, "\xE2\x80\xA6") == 0))
        return 0;
    /* the first 60 bytes (at a character boundary) must be in the page */
    size_t probe = 60;
    while (probe > 0 && ((unsigned char)body[probe] & 0xC0) == 0x80)
        probe--;
    const char *nl = memchr(body, '\n', probe);
    if (nl)
        probe = (size_t)(nl - body);
    if (m->jsonld_consistent)
        return 1;
    if (probe < 20 || !w->dom.arena.data)
        return 0;
    return memmem(w->dom.arena.data, w->dom.arena.len, body, probe) != NULL;
}

/*
 * Listing or article? A page that declares itself an article (JSON-LD
 * article type, og:type article) is one. Otherwise it is a listing when it
 * is mostly headline links: little text and ten or more headline-shaped
 * links on the page, or twenty and under 1000 characters of text, or an
 * article element holding six or more of them and fewer than twice as
 * many real paragraphs (150+ characters). Short text otherwise is
 * "unknown": a video page, a photo, a paywall.
 */
static int page_type(const struct clean_extract_out *o, size_t text_len, size_t min_text,
                     int declared_article)
{
    if (!declared_article) {
        if ((text_len < min_text && o->teasers >= 10) || (o->teasers >= 20 && o->chars < 1000) ||
            (o->teasers_main >= 6 && o->teasers_main * 2 > o->long_paras))
            return CLEAN_PAGE_LISTING;
    }
    if (text_len < min_text || text_len == 0)
        return CLEAN_PAGE_UNKNOWN;
    return CLEAN_PAGE_ARTICLE;
}

int clean_page(struct clean_worker *w, const char *html, size_t len, const char *content_type,
               const char *url, int64_t now_ms, struct clean_page_result *res,
               struct vigil_error *err)
{
    memset(res, 0, sizeof *res);
    clean_meta_free(&w->meta);
    buf_reset(&w->text);
    res->text = "";
    res->meta = &w->meta;
    res->html_len = len;
    res->page_type = CLEAN_PAGE_UNKNOWN;

    if (len > w->conf.max_html)
        len = cut_point(html, (size_t)w->conf.max_html);
    res->parsed_len = len;

    const char *utf8;
    size_t ulen;
    int rc =
        clean_charset_decode(html, len, content_type, &w->decoded, &utf8, &ulen, &res->charset);
    if (rc)
        return vigil_error_set(err, rc, "html_clean: cannot decode the page as %s: %s",
                               res->charset.name[0] ? res->charset.name : "text",
                               vigil_strerror(rc));
    /* Skip leading white space: a page that is only white space is empty. */
    while (ulen > 0 && (*utf8 == ' ' || *utf8 == '\n' || *utf8 == '\r' || *utf8 == '\t')) {
        utf8++;
        ulen--;
    }
    if (ulen == 0)
        return 0;

    /* ulen <= 3 * CLEAN_MAX_HTML_LIMIT < INT_MAX */
    htmlDocPtr doc = htmlReadMemory(utf8, (int)ulen, url, "UTF-8", CLEAN_PARSE_OPTIONS);
    if (!doc)
        return vigil_error_set(err, VIGIL_EPARSE, "html_clean: libxml2 could not parse the page");

    rc = clean_dom_build(&w->dom, doc);
    if (rc == VIGIL_ENOMEM) {
        xmlFreeDoc(doc);
        return vigil_error_set(err, rc, "html_clean: out of memory walking the page");
    }
    clean_meta_extract(&w->dom.refs, url, now_ms, &w->meta);

    struct clean_extract_in in;
    memset(&in, 0, sizeof in);
    in.preset = w->conf.preset;
    in.title = w->meta.title;
    in.authors = (const char *const *)w->meta.authors;
    in.nauthors = w->meta.nauthors;
    in.description = w->meta.description;
    in.trace = w->trace;
    struct clean_extract_out out;
    rc = clean_extract_text(&w->dom, &in, &w->text, &out);
    xmlFreeDoc(doc);
    if (rc == VIGIL_ENOMEM)
        return vigil_error_set(err, rc, "html_clean: out of memory extracting the text");
    /* No author in the metadata: the byline printed above the text. */
    if (w->meta.nauthors == 0 && out.byline_block >= 0) {
        const struct cx_block *b = &w->dom.blocks[out.byline_block];
        char *line = strndup(w->dom.arena.data + b->start, b->len);
        if (line) {
            clean_meta_add_authors(&w->meta, line);
            free(line);
        }
    }
    /* ETOOBIG: the text buffer is full; what it holds is still good */

    if (clean_nfc(&w->text, &w->nfc) != 0)
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: NFC normalisation failed");
    if (w->meta.title) {
        buf_reset(&w->scratch);
        if (buf_append_str(&w->scratch, w->meta.title) == 0 &&
            clean_nfc(&w->scratch, &w->nfc) == 0 && strcmp(w->scratch.data, w->meta.title)) {
            char *t = strdup(w->scratch.data);
            if (t) {
                free(w->meta.title);
                w->meta.title = t;
            }
        }
    }
    if (use_jsonld_body(w, &w->meta, w->text.len)) {
        buf_reset(&w->text);
        if (buf_append_str(&w->text, w->meta.jsonld_body) == 0) {
            out.from_jsonld = 1;
            out.chars = clean_utf8_count(w->text.data, w->text.len);
            if (clean_nfc(&w->text, &w->nfc) != 0)
                return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: NFC normalisation failed");
        }
    }
    res->page_type =
        page_type(&out, w->text.len, (size_t)w->conf.min_text, w->meta.declared_article);
    if (res->page_type == CLEAN_PAGE_LISTING)
        buf_reset(&w->text);
    res->text = w->text.data ? w->text.data : "";
    res->text_len = w->text.len;
    res->elements_cut = w->dom.truncated;
    res->from_jsonld = out.from_jsonld;
    return 0;
}
