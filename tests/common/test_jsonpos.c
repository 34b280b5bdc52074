#include "jdiag.h"
#include "jsonpos.h"
#include "test.h"

static const char *text = "{\n"
                          "  \"name\": \"demo\",\n"
                          "  \"sources\": [\n"
                          "    {\"id\": \"a\", \"options\": {\"every\": \"fast\"}},\n"
                          "    {\"id\": \"b\\u00e9\", \"x~y\": 1, \"a/b\": [1, 2]}\n"
                          "  ],\n"
                          "  \"t\": \"é\", \"u\": 3\n"
                          "}\n";

static void find(const char *ptr, enum jsonpos_what what, int want_rc, int want_line,
                 int want_col)
{
    int line = 0, col = 0;
    int rc = jsonpos_find(text, strlen(text), ptr, what, &line, &col);
    CHECK_INT(rc, ==, want_rc);
    CHECK_INT(line, ==, want_line);
    CHECK_INT(col, ==, want_col);
}

static void test_values(void)
{
    find("", JSONPOS_VALUE, 0, 1, 1);
    find("/name", JSONPOS_VALUE, 0, 2, 11);
    find("/name", JSONPOS_KEY, 0, 2, 3);
    find("/sources/0/options/every", JSONPOS_VALUE, 0, 4, 38);
    find("/sources/1/x~0y", JSONPOS_VALUE, 0, 5, 30);
    find("/sources/1/a~1b/1", JSONPOS_VALUE, 0, 5, 44);
    /* column counts code points: "é" is one column */
    find("/u", JSONPOS_VALUE, 0, 7, 18);
}

static void test_missing_gives_ancestor(void)
{
    find("/sources/0/options/nope", JSONPOS_VALUE, 1, 4, 28);
    find("/sources/7", JSONPOS_VALUE, 1, 3, 14);
    find("/name/deeper", JSONPOS_VALUE, 1, 2, 11);
}

static void test_diags(void)
{
    struct diags d = {0};
    struct jdoc doc;
    REQUIRE(jdoc_load_buffer(&doc, "p.json", text, strlen(text), &d) == 0);
    diags_add(&d, &doc, "/sources/0/options/every", JSONPOS_VALUE, "expected a duration, found %s",
              "\"fast\"");
    char line[512];
    diags_format(&d, 0, line, sizeof line);
    CHECK_STR(line, "p.json:4:38: /sources/0/options/every: expected a duration, found \"fast\"");
    jdoc_free(&doc);
    diags_free(&d);

    /* syntax errors carry Jansson's position */
    REQUIRE(jdoc_load_buffer(&doc, "bad.json", "{\n  \"a\": 1,\n}", 13, &d) != 0);
    REQUIRE(diags_count(&d) == 1);
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "bad.json:3:1: invalid JSON");
    diags_free(&d);

    /* duplicate keys are refused */
    REQUIRE(jdoc_load_buffer(&doc, "dup.json", "{\"a\": 1, \"a\": 2}", 16, &d) != 0);
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "duplicate");
    diags_free(&d);
}

static void test_pointer_building(void)
{
    char p[64] = "";
    jptr_push(p, sizeof p, "sources");
    jptr_push_index(p, sizeof p, 3);
    size_t mark = jptr_push(p, sizeof p, "a/b~c");
    CHECK_STR(p, "/sources/3/a~1b~0c");
    p[mark] = '\0';
    CHECK_STR(p, "/sources/3");
}

static void test_diag_cap(void)
{
    struct diags d = {0};
    d.max = 3;
    for (int i = 0; i < 10; i++)
        diags_add_at(&d, "f", 1, i + 1, NULL, "error %d", i);
    CHECK_INT(d.n, ==, 3);
    CHECK_INT(diags_count(&d), ==, 10);
    diags_free(&d);
}

int main(void)
{
    RUN(test_values);
    RUN(test_missing_gives_ancestor);
    RUN(test_diags);
    RUN(test_pointer_building);
    RUN(test_diag_cap);
    return test_summary();
}
