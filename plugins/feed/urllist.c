#include "urllist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xml.h"

int feed_is_http_url(const char *u)
{
    return (strncasecmp(u, "http://", 7) == 0 && u[7]) ||
           (strncasecmp(u, "https://", 8) == 0 && u[8]);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int parse_text(const char *data, size_t len, const char *name, feed_urllist_cb cb, void *arg,
                      struct vigil_error *err)
{
    const char *p = data, *end = data + len;
    int line = 0;
    char url[8192];
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        line++;
        while (p < eol && is_space(*p))
            p++;
        const char *f = p;
        while (p < eol && !is_space(*p))
            p++;
        size_t n = (size_t)(p - f);
        if (n > 0 && *f != '#') {
            if (n >= sizeof url)
                return vigil_error_set(err, VIGIL_EINVAL, "%s:%d: the URL is longer than %zu bytes",
                                       name, line, sizeof url - 1);
            memcpy(url, f, n);
            url[n] = '\0';
            if (!feed_is_http_url(url))
                return vigil_error_set(err, VIGIL_EINVAL,
                                       "%s:%d: \"%.200s\" is not an http:// or https:// URL", name,
                                       line, url);
            int rc = cb(arg, url, line);
            if (rc != 0)
                return rc;
        }
        p = next;
    }
    return 0;
}

struct opml_walk {
    const char *name;
    feed_urllist_cb cb;
    void *arg;
    struct vigil_error *err;
    int count;
};

/* Depth-first over the elements; libxml2's own limit keeps trees at most
 * 256 deep, and depth is checked here too. */
static int walk_opml(struct opml_walk *w, const xmlNode *n, int depth)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (strcasecmp(feed_xml_local(n), "outline") == 0) {
            char *u = feed_xml_attr(n, "xmlUrl");
            if (!u)
                u = feed_xml_attr(n, "xmlurl");
            if (u) {
                size_t a = strspn(u, " \t\r\n"), b = strlen(u);
                while (b > a && is_space(u[b - 1]))
                    b--;
                u[b] = '\0';
                int rc = 0;
                if (!feed_is_http_url(u + a))
                    rc = vigil_error_set(w->err, VIGIL_EINVAL,
                                         "%s:%d: xmlUrl \"%.200s\" is not an http:// or https:// "
                                         "URL",
                                         w->name, (int)xmlGetLineNo(n), u + a);
                else
                    rc = w->cb(w->arg, u + a, 0);
                free(u);
                if (rc != 0)
                    return rc;
                w->count++;
            }
        }
        if (depth < 300) {
            int rc = walk_opml(w, n->children, depth + 1);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int parse_opml(const char *data, size_t len, const char *name, feed_urllist_cb cb, void *arg,
                      struct vigil_error *err)
{
    struct feed_xml x;
    struct feed_xml_opts o = {0};
    struct vigil_error xe = {0};
    o.max_bytes = len + 1;
    int rc = feed_xml_load(data, len, &o, &x, &xe);
    if (rc != 0)
        return vigil_error_set(err, rc == VIGIL_ENOMEM ? VIGIL_ENOMEM : VIGIL_EPARSE,
                               "%s: not a URL list and not readable OPML: %s", name, xe.msg);
    xmlNode *root = xmlDocGetRootElement(x.doc);
    if (!root || strcasecmp(feed_xml_local(root), "opml") != 0) {
        rc = vigil_error_set(err, VIGIL_EPARSE,
                             "%s: an XML file whose root element is <%s>, not <opml>", name,
                             root ? feed_xml_local(root) : "?");
    } else {
        struct opml_walk w = {name, cb, arg, err, 0};
        rc = walk_opml(&w, root->children, 0);
    }
    feed_xml_free(&x);
    return rc;
}

int feed_urllist_parse(const char *data, size_t len, const char *name, feed_urllist_cb cb,
                       void *arg, struct vigil_error *err)
{
    size_t bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    size_t i = bom;
    while (i < len && is_space(data[i]))
        i++;
    if (i < len && data[i] == '<')
        return parse_opml(data, len, name, cb, arg, err);
    return parse_text(data + bom, len - bom, name, cb, arg, err);
}
