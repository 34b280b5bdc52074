#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "datetime.h"

int clean_plain_text(struct clean_worker *w, const char *s, size_t len, struct buf *out)
{
    struct buf *tmp = &w->scratch;
    buf_reset(tmp);
    buf_reset(out);
    int st = CLEAN_FOLD_START, nl = 0;
    /* Repair first: "text" may come from anywhere. */
    if (clean_utf8_valid_prefix(s, len) != len) {
        if (clean_utf8_repair(tmp, s, len, NULL, NULL) != 0)
            return -1;
        s = tmp->data;
        len = tmp->len;
        struct buf folded;
        buf_init(&folded, out->max);
        int rc = clean_fold_append_lines(&folded, s, len, &st, &nl);
        buf_reset(tmp);
        if (rc == 0 && folded.data)
            rc = buf_append(tmp, folded.data, folded.len);
        buf_free(&folded);
        if (rc)
            return -1;
    } else if (clean_fold_append_lines(tmp, s, len, &st, &nl) != 0) {
        return -1;
    }
    /* Line structure: with blank lines, single line feeds are wraps. */
    int blank = tmp->data && strstr(tmp->data, "\n\n") != NULL;
    for (size_t i = 0; i < tmp->len; i++) {
        char c = tmp->data[i];
        int rc;
        if (c != '\n') {
            size_t j = i;
            while (j < tmp->len && tmp->data[j] != '\n')
                j++;
            rc = buf_append(out, tmp->data + i, j - i);
            i = j - 1;
        } else if (i + 1 < tmp->len && tmp->data[i + 1] == '\n') {
            rc = buf_append(out, "\n\n", 2);
            i++;
        } else {
            rc = blank ? buf_append(out, " ", 1) : buf_append(out, "\n\n", 2);
        }
        if (rc)
            return -1;
    }
    return clean_nfc(out, &w->nfc);
}

static void set_str(json_t *obj, const char *key, const char *val)
{
    if (val && *val)
        json_object_set_new(obj, key, json_string(val));
}

/* Set a top-level field only when the source did not; when it did and the
 * page says otherwise, keep the page's value under meta.page_<key>. */
static void set_unless_present(json_t *doc, json_t *meta, const char *key, const char *val)
{
    if (!val || !*val)
        return;
    const char *have = json_string_value(json_object_get(doc, key));
    if (!have || !*have) {
        json_object_set_new(doc, key, json_string(val));
    } else if (strcmp(have, val) != 0) {
        char mk[64];
        snprintf(mk, sizeof mk, "page_%s", key);
        json_object_set_new(meta, mk, json_string(val));
    }
}

static const char *page_type_name(int t)
{
    switch (t) {
    case CLEAN_PAGE_ARTICLE: return "article";
    case CLEAN_PAGE_LISTING: return "listing";
    default: return "unknown";
    }
}

/* The published value of a source is compared as an instant: "+01:00" and
 * "Z" spellings of the same time are not a difference. */
static void set_published(json_t *doc, json_t *meta, const char *page_iso)
{
    if (!page_iso)
        return;
    const char *have = json_string_value(json_object_get(doc, VIGIL_DOC_PUBLISHED));
    if (have && *have) {
        int64_t a, b;
        if (datetime_parse(have, &a) == 0 && datetime_parse(page_iso, &b) == 0 &&
            (a - b < 60000 && b - a < 60000))
            return;
    }
    set_unless_present(doc, meta, VIGIL_DOC_PUBLISHED, page_iso);
}

int clean_document(struct clean_worker *w, json_t *doc, int64_t now_ms, struct vigil_error *err)
{
    if (!json_is_object(doc))
        return vigil_error_set(err, VIGIL_EINVAL, "html_clean: document is not a JSON object");
    json_t *meta = vigil_doc_meta(doc);
    if (!meta)
        return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");

    json_t *jhtml = json_object_get(doc, VIGIL_DOC_HTML);
    const char *url = vigil_doc_str(doc, VIGIL_DOC_URL);
    const char *source_text = vigil_doc_str(doc, VIGIL_DOC_TEXT);
    const char *summary = vigil_doc_str(doc, VIGIL_DOC_SUMMARY);
    json_t *http = json_object_get(meta, "http");
    const char *ctype = json_string_value(json_object_get(http, "content_type"));
    const char *declared = json_string_value(json_object_get(meta, "lang_declared"));

    const char *text_source = NULL;
    const char *page_title = NULL;
    int page_type = CLEAN_PAGE_UNKNOWN;
    int have_page = 0;
    struct clean_page_result res;
    memset(&res, 0, sizeof res);

    if (jhtml && !json_is_string(jhtml)) {
        vigil_doc_add_error(doc, CLEAN_STAGE, VIGIL_EINVAL, "\"html\" is not a string: ignored");
    } else if (jhtml && json_string_length(jhtml) > 0) {
        struct vigil_error perr = {0};
        int rc = clean_page(w, json_string_value(jhtml), json_string_length(jhtml), ctype, url,
                            now_ms, &res, &perr);
        if (rc == VIGIL_ENOMEM) {
            *err = perr;
            return rc;
        }
        if (rc) {
            vigil_doc_add_error(doc, CLEAN_STAGE, rc, perr.msg);
        } else {
            have_page = 1;
            page_type = res.page_type;
            if (res.parsed_len < res.html_len) {
                char m[160];
                snprintf(m, sizeof m,
                         "html is %zu bytes, over max_html: only the first %zu bytes were parsed",
                         res.html_len, res.parsed_len);
                vigil_doc_add_error(doc, CLEAN_STAGE, VIGIL_ETOOBIG, m);
            }
            if (res.elements_cut) {
                char m[160];
                snprintf(m, sizeof m, "page has more than %d elements: the rest was not read",
                         CLEAN_MAX_ELEMENTS);
                vigil_doc_add_error(doc, CLEAN_STAGE, VIGIL_ETOOBIG, m);
            }
            if (res.charset.repaired > 0) {
                char m[160];
                snprintf(m, sizeof m,
                         "%zu invalid byte sequences in the page (read as %s) "
                         "replaced by U+FFFD",
                         res.charset.repaired, res.charset.name);
                vigil_doc_add_error(doc, CLEAN_STAGE, VIGIL_EPARSE, m);
            }
            if (res.text_len > 0)
                text_source = res.from_jsonld ? "jsonld" : "html";
        }
    }

    /* The text: the page's, else the source's own text, else the feed
       summary (a listing page keeps its little or no text). */
    const char *text = NULL;
    size_t text_len = 0;
    if (text_source) {
        text = res.text;
        text_len = res.text_len;
        if (text_len < w->conf.min_text && page_type != CLEAN_PAGE_LISTING) {
            const char *alt = source_text && *source_text ? source_text : summary;
            if (alt && strlen(alt) > text_len) {
                text_source = NULL; /* fall through to the source's text */
                text = NULL;
            }
        }
    }
    if (!text && page_type != CLEAN_PAGE_LISTING) {
        const char *alt = NULL;
        if (source_text && *source_text) {
            alt = source_text;
            text_source = "text";
        } else if (summary && *summary) {
            alt = summary;
            text_source = "summary";
        }
        if (alt) {
            if (clean_plain_text(w, alt, strlen(alt), &w->text) != 0) {
                vigil_doc_add_error(doc, CLEAN_STAGE, VIGIL_ETOOBIG,
                                    "text too large to normalise: left as it was");
                text_source = NULL;
            } else {
                text = w->text.data ? w->text.data : "";
                text_len = w->text.len;
            }
        }
    }

    if (text) {
        if (json_object_set_new(doc, VIGIL_DOC_TEXT, json_stringn(text, text_len)) != 0)
            return vigil_error_set(err, VIGIL_ENOMEM, "html_clean: out of memory");
        json_object_set_new(meta, "text_source", json_string(text_source));
    } else if (have_page && page_type == CLEAN_PAGE_LISTING) {
        json_object_set_new(doc, VIGIL_DOC_TEXT, json_string(""));
        json_object_set_new(meta, "text_source", json_string("html"));
    }

    /* Metadata. */
    if (have_page) {
        const struct clean_meta *m = res.meta;
        page_title = m->title;
        set_unless_present(doc, meta, VIGIL_DOC_TITLE, page_title);
        set_published(doc, meta, m->published);
        json_t *au = json_object_get(doc, VIGIL_DOC_AUTHORS);
        if ((!json_is_array(au) || json_array_size(au) == 0) && m->nauthors > 0) {
            json_t *arr = json_array();
            for (size_t i = 0; arr && i < m->nauthors; i++)
                json_array_append_new(arr, json_string(m->authors[i]));
            if (arr)
                json_object_set_new(doc, VIGIL_DOC_AUTHORS, arr);
        }
        set_str(meta, "canonical_url", m->canonical_url);
        set_str(meta, "site_name", m->site_name);
        set_str(meta, "section", m->section);
        set_str(meta, "image", m->image);
        set_str(meta, "modified", m->modified);
        if (!declared && m->lang_declared) {
            set_str(meta, "lang_declared", m->lang_declared);
            declared = json_string_value(json_object_get(meta, "lang_declared"));
        }
        json_object_set_new(meta, "page_type", json_string(page_type_name(page_type)));
    }

    /* Language: from the text, or the title and summary when there is no
       text. */
    if (w->lang) {
        char code[4];
        double conf = 0;
        const char *ltext = vigil_doc_str(doc, VIGIL_DOC_TEXT);
        if (!ltext || strlen(ltext) < 40) {
            buf_reset(&w->scratch);
            const char *t = vigil_doc_str(doc, VIGIL_DOC_TITLE);
            if (t)
                buf_append_str(&w->scratch, t);
            if (summary) {
                buf_append(&w->scratch, " ", 1);
                buf_append_str(&w->scratch, summary);
            }
            if (ltext) {
                buf_append(&w->scratch, " ", 1);
                buf_append_str(&w->scratch, ltext);
            }
            ltext = w->scratch.data;
        }
        clean_lang_detect(w->lang, ltext, ltext ? strlen(ltext) : 0, declared, code, &conf);
        json_object_set_new(doc, VIGIL_DOC_LANG, json_string(code));
        json_object_set_new(meta, "lang_confidence", json_real((double)(int)(conf * 1000) / 1000));
    }

    /* Sentences over the final text. */
    const char *ftext = vigil_doc_str(doc, VIGIL_DOC_TEXT);
    if (w->conf.sentences && ftext && text) {
        struct clean_span *spans = NULL;
        size_t n = 0;
        const char *lang = vigil_doc_str(doc, VIGIL_DOC_LANG);
        int rc = clean_sentences(w->sent, ftext, strlen(ftext), lang, 0, &spans, &n);
        if (rc == 0) {
            json_t *arr = json_array();
            for (size_t i = 0; arr && i < n; i++)
                json_array_append_new(
                    arr, json_pack("[I,I]", (json_int_t)spans[i].start, (json_int_t)spans[i].end));
            if (arr)
                json_object_set_new(doc, VIGIL_DOC_SENTENCES, arr);
        } else {
            vigil_doc_add_error(doc, CLEAN_STAGE, rc, "sentence splitting failed");
        }
        free(spans);
    }

    if (!w->conf.keep_html && jhtml)
        json_object_del(doc, VIGIL_DOC_HTML);
    return VIGIL_PASS;
}
