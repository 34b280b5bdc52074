/*
 * dedupe/url: normalisation of article URLs (case, ports, paths,
 * percent-encoding, tracking parameters, fragments, AMP) and the identity
 * key.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "url.h"
#include "vigil/plugin.h"

static char *norm(const char *in, const struct dd_url_params *p)
{
    static char out[8][1024];
    static int next;
    char *res = NULL, *slot = out[next++ % 8];
    int rc = dd_url_normalize(in, p, &res);
    if (rc != VIGIL_OK) {
        snprintf(slot, 1024, "ERR %d", rc);
        return slot;
    }
    snprintf(slot, 1024, "%s", res);
    free(res);
    return slot;
}

/* Through variables: the harness prints the expressions, keep them short. */
#define NORM(in, expected)                                                                         \
    do {                                                                                           \
        const char *got = norm(in, NULL), *want = (expected);                                      \
        CHECK_STR(got, want);                                                                      \
    } while (0)

static void test_scheme_host_port(void)
{
    NORM("HTTPS://WWW.Example.COM/News/Story", "https://www.example.com/News/Story");
    NORM("http://example.com:80/a", "http://example.com/a");
    NORM("https://example.com:443/a", "https://example.com/a");
    NORM("https://example.com:8443/a", "https://example.com:8443/a");
    NORM("http://example.com:443/a", "http://example.com:443/a");
    NORM("https://example.com:/a", "https://example.com/a");
    NORM("https://example.com./a", "https://example.com/a");
    NORM("https://user:secret@example.com/a", "https://example.com/a");
    NORM("  https://example.com/a \n", "https://example.com/a");
    NORM("https://[2001:db8::1]:443/a", "https://[2001:db8::1]/a");
    NORM("https://example.com", "https://example.com/");
    NORM("https://example.com?b=2&a=1", "https://example.com/?a=1&b=2");
    /* refused */
    NORM("ftp://example.com/a", "ERR -3");
    NORM("/relative/path", "ERR -3");
    NORM("https:///nohost", "ERR -3");
    NORM("https://example.com:99999/a", "ERR -3");
    NORM("mailto:someone@example.com", "ERR -3");
}

static void test_paths(void)
{
    NORM("https://example.com/a/b/", "https://example.com/a/b");
    NORM("https://example.com/a/b//", "https://example.com/a/b");
    NORM("https://example.com//a///b", "https://example.com/a/b");
    NORM("https://example.com/a/./b/../c", "https://example.com/a/c");
    NORM("https://example.com/../a", "https://example.com/a");
    NORM("https://example.com/", "https://example.com/");
    /* percent-encoding: unreserved decoded, others uppercase, raw bytes encoded */
    NORM("https://example.com/%7euser/%61rticle", "https://example.com/~user/article");
    NORM("https://example.com/a%2fb", "https://example.com/a%2Fb");
    NORM("https://example.com/caf\xc3\xa9", "https://example.com/caf%C3%A9");
    NORM("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9");
    NORM("https://example.com/a b", "https://example.com/a%20b");
    NORM("https://example.com/a%2", "https://example.com/a%252");
    /* path case is significant */
    CHECK(strcmp(norm("https://example.com/A", NULL), norm("https://example.com/a", NULL)) != 0);
}

static void test_query_and_fragment(void)
{
    NORM("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2");
    NORM("https://example.com/a?id=5&&", "https://example.com/a?id=5");
    NORM("https://example.com/a?", "https://example.com/a");
    NORM("https://example.com/a?q=a+b", "https://example.com/a?q=a%20b");
    NORM("https://example.com/a?q=a%2bb", "https://example.com/a?q=a%2Bb");
    NORM("https://example.com/a#section-2", "https://example.com/a");
    NORM("https://example.com/a?id=1#top", "https://example.com/a?id=1");
    NORM("https://example.com/#!/story/12", "https://example.com/#!/story/12");
    /* parameters that select content are kept */
    NORM("https://example.com/article.php?id=123&page=2",
         "https://example.com/article.php?id=123&page=2");
}

static void test_every_tracking_parameter(void)
{
    size_t n = 0;
    for (const char *const *p = dd_url_tracking_params; *p; p++, n++) {
        char name[64], url[256], upper[256];
        size_t l = strlen(*p);
        snprintf(name, sizeof name, "%.*s%s", (int)(l - ((*p)[l - 1] == '*')), *p,
                 (*p)[l - 1] == '*' ? "campaign" : "");
        snprintf(url, sizeof url, "https://news.example/story?id=7&%s=abc", name);
        NORM(url, "https://news.example/story?id=7");
        /* names are compared without regard to case */
        for (size_t i = 0; url[i]; i++)
            upper[i] = (char)((url[i] >= 'a' && url[i] <= 'z' && i > 28) ? url[i] - 32 : url[i]);
        upper[strlen(url)] = '\0';
        NORM(upper, "https://news.example/story?id=7");
        CHECK(dd_url_is_tracking(name, strlen(name), NULL));
    }
    CHECK_INT(n, >=, 40);
    /* the issue's list, spelled as publishers write them */
    NORM("https://e.com/s?utm_source=tw&utm_medium=social&utm_campaign=x&fbclid=1&gclid=2"
         "&mc_cid=3&mc_eid=4&ocid=5&cmpid=6&CMP=7&ref=8&ref_src=9&igshid=10&_ga=11&spm=12",
         "https://e.com/s");
    /* not tracking */
    CHECK(!dd_url_is_tracking("id", 2, NULL));
    CHECK(!dd_url_is_tracking("refresh", 7, NULL));
    CHECK(!dd_url_is_tracking("utm", 3, NULL));
}

static void test_strip_params_option(void)
{
    char *extra[] = {"session", "x_*"};
    struct dd_url_params p = {extra, 2};
    const char *res = norm("https://e.com/s?id=1&session=abc&x_from=home&xy=1", &p);
    CHECK_STR(res, "https://e.com/s?id=1&xy=1");
    NORM("https://e.com/s?id=1&session=abc", "https://e.com/s?id=1&session=abc");
}

static void test_amp_variants(void)
{
    const char *article = "https://www.example.com/world/2024/troops-story";
    NORM("https://www.example.com/world/2024/troops-story/amp", article);
    NORM("https://www.example.com/world/2024/troops-story/amp/", article);
    NORM("https://www.example.com/amp/world/2024/troops-story", article);
    NORM("https://www.example.com/world/2024/troops-story?amp=1", article);
    NORM("https://www.example.com/world/2024/troops-story?amp", article);
    NORM("https://www.example.com/world/2024/troops-story?outputType=amp", article);
    NORM("https://amp.example.com/world/2024/troops-story",
         "https://example.com/world/2024/troops-story");
    NORM("https://www.example.com/news/world-123.amp", "https://www.example.com/news/world-123");
    NORM("https://www.example.com/news/story-123.amp.html",
         "https://www.example.com/news/story-123.html");
    /* Google AMP cache and viewer embed the publisher's URL */
    NORM("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/world/2024/troops-story/"
         "amp",
         article);
    NORM("https://www.google.com/amp/s/www.example.com/world/2024/troops-story/amp", article);
    NORM("https://www-example-com.cdn.ampproject.org/c/www.example.com/a?amp=1",
         "http://www.example.com/a");
    /* not AMP: a lone "/amp" page, a host that is only "amp.com", other values */
    NORM("https://www.example.com/amp", "https://www.example.com/amp");
    NORM("https://amp.com/a", "https://amp.com/a");
    NORM("https://www.example.com/a?outputType=print",
         "https://www.example.com/a?outputType=print");
    NORM("https://www.example.com/example.html", "https://www.example.com/example.html");
}

static void test_key(void)
{
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    REQUIRE(dd_url_normalize("https://www.example.com/a?utm_source=x", NULL, &a) == VIGIL_OK);
    REQUIRE(dd_url_normalize("http://example.com/a/", NULL, &b) == VIGIL_OK);
    REQUIRE(dd_url_normalize("https://example.com/b", NULL, &c) == VIGIL_OK);
    REQUIRE(dd_url_normalize("https://example.org/a", NULL, &d) == VIGIL_OK);
    CHECK(dd_url_key(a) == dd_url_key(b)); /* http/https and www. do not matter */
    CHECK(dd_url_key(a) != dd_url_key(c));
    CHECK(dd_url_key(a) != dd_url_key(d));
    CHECK(dd_url_key(a) != 0);
    CHECK_STR(dd_url_path(a), "/a");
    free(a);
    free(b);
    free(c);
    free(d);
    REQUIRE(dd_url_normalize("https://example.com", NULL, &a) == VIGIL_OK);
    CHECK_STR(dd_url_path(a), "/");
    free(a);
}

static void test_resolve(void)
{
    char *out = NULL;
    CHECK_INT(dd_url_resolve("https://e.com/x/y?q=1", "/canonical/1", &out), ==, VIGIL_OK);
    CHECK_STR(out, "https://e.com/canonical/1");
    free(out);
    CHECK_INT(dd_url_resolve("https://e.com/x", "//cdn.e.com/a", &out), ==, VIGIL_OK);
    CHECK_STR(out, "https://cdn.e.com/a");
    free(out);
    CHECK_INT(dd_url_resolve(NULL, "HTTPS://other.org/a", &out), ==, VIGIL_OK);
    CHECK_STR(out, "HTTPS://other.org/a");
    free(out);
    CHECK_INT(dd_url_resolve("https://e.com/x/", "sibling", &out), ==, VIGIL_EINVAL);
    CHECK_INT(dd_url_resolve(NULL, "/a", &out), ==, VIGIL_EINVAL);
    CHECK_INT(dd_url_resolve("https://e.com/", "", &out), ==, VIGIL_EINVAL);
}

static size_t pick(uint64_t *r, size_t n)
{
    *r = *r * 6364136223846793005ULL + 1442695040888963407ULL;
    return (size_t)((*r >> 33) % n);
}

/* Random URLs from pieces that exercise every rule: normalising is
 * idempotent, never fails on an http(s) URL with a host, and what it
 * produces has no tracking parameter, fragment or default port left. */
static void test_normalising_twice_changes_nothing(void)
{
    static const char *const schemes[] = {"http://", "HTTPS://", "https://", "hTTp://"};
    static const char *const hosts[] = {
        "Example.COM",  "www.example.com", "amp.example.com", "amp.amp.news.example",
        "example.com.", "[::1]",           "u:p@example.org", "www-e-com.cdn.ampproject.org"};
    static const char *const ports[] = {"", ":80", ":443", ":8080", ":", ":0443"};
    static const char *const segs[] = {"a",          "amp", ".",   "..",          "",
                                       "%7Euser",    "%2f", "x y", "caf\xc3\xa9", "story.amp",
                                       "p.amp.html", "c",   "s",   "%zz",         "A+B"};
    static const char *const params[] = {
        "id=1",  "utm_source=x", "amp", "amp=1", "q=a+b",  "outputType=amp", "CMP=2",
        "b=%2B", "=x",           "",    "a=",    "page=2", "fbclid=abc",     "x=%41"};
    static const char *const frags[] = {"", "#top", "#!/r/1", "#"};
    uint64_t r = 12345;
    int checked = 0;
    for (int i = 0; i < 5000; i++) {
        char url[1024];
        size_t n = 0;
#define PICK(arr) arr[pick(&r, sizeof arr / sizeof arr[0])]
        n += (size_t)snprintf(url + n, sizeof url - n, "%s%s%s", PICK(schemes), PICK(hosts),
                              PICK(ports));
        int ns = (int)pick(&r, 5);
        for (int k = 0; k < ns; k++)
            n += (size_t)snprintf(url + n, sizeof url - n, "/%s", PICK(segs));
        int np = (int)pick(&r, 4);
        for (int k = 0; k < np; k++)
            n += (size_t)snprintf(url + n, sizeof url - n, "%c%s", k ? '&' : '?', PICK(params));
        snprintf(url + n, sizeof url - n, "%s", PICK(frags));
#undef PICK
        char *once = NULL, *twice = NULL;
        int rc = dd_url_normalize(url, NULL, &once);
        if (rc != VIGIL_OK) {
            /* only the bracketed host with a bad port may fail */
            CHECK(strstr(url, "[::1]") != NULL || strstr(url, ":0443") != NULL);
            continue;
        }
        REQUIRE(dd_url_normalize(once, NULL, &twice) == VIGIL_OK);
        if (strcmp(once, twice) != 0)
            fprintf(stderr, "  %s\n  -> %s\n  -> %s\n", url, once, twice);
        CHECK_STR(once, twice);
        CHECK(!strstr(once, "utm_") && !strstr(once, "fbclid") && !strstr(once, "CMP="));
        CHECK(!strstr(once, "#top") && !strstr(once, "amp=") && !strstr(once, "outputType"));
        CHECK(strncmp(once, "https://", 8) == 0 ? !strstr(once, ":443/") : !strstr(once, ":80/"));
        checked++;
        free(once);
        free(twice);
    }
    CHECK_INT(checked, >, 4000);
}

static void test_limits(void)
{
    char *big = malloc(DD_URL_MAX + 64), *out = NULL;
    REQUIRE(big);
    strcpy(big, "https://e.com/");
    memset(big + 14, 'a', DD_URL_MAX);
    big[14 + DD_URL_MAX] = '\0';
    CHECK_INT(dd_url_normalize(big, NULL, &out), ==, VIGIL_ETOOBIG);
    /* the longest accepted URL, all bytes to be escaped, still works */
    memset(big + 14, ' ', DD_URL_MAX - 14);
    big[DD_URL_MAX] = '\0';
    big[DD_URL_MAX - 1] = 'z';
    CHECK_INT(dd_url_normalize(big, NULL, &out), ==, VIGIL_OK);
    CHECK(out && strlen(out) > DD_URL_MAX);
    free(out);
    free(big);
}

int main(void)
{
    RUN(test_scheme_host_port);
    RUN(test_paths);
    RUN(test_query_and_fragment);
    RUN(test_every_tracking_parameter);
    RUN(test_strip_params_option);
    RUN(test_amp_variants);
    RUN(test_key);
    RUN(test_resolve);
    RUN(test_normalising_twice_changes_nothing);
    RUN(test_limits);
    return test_summary();
}
