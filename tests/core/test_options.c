#include <stdlib.h>

#include "options.h"
#include "test.h"

struct conf {
    char *name;
    int64_t count;
    int flag;
    double ratio;
    uint64_t size;
    int64_t every;
    int mode;
    struct vigil_strlist list;
    json_t *extra;
    char *file;
    char *token;
};

static const char *const modes[] = {"fast", "slow", NULL};

static const struct vigil_option table[] = {
    {"name", VIGIL_OPT_STR, "anon", 0, offsetof(struct conf, name), VIGIL_NOBOUNDS, NULL, "a name"},
    {"count", VIGIL_OPT_INT, "3", 0, offsetof(struct conf, count), 1, 10, NULL, "how many"},
    {"flag", VIGIL_OPT_BOOL, "false", 0, offsetof(struct conf, flag), VIGIL_NOBOUNDS, NULL, "on"},
    {"ratio", VIGIL_OPT_DOUBLE, "0.5", 0, offsetof(struct conf, ratio), 0, 1, NULL, "share"},
    {"size", VIGIL_OPT_SIZE, "1MB", 0, offsetof(struct conf, size), 1, 1073741824.0, NULL, "bytes"},
    {"every", VIGIL_OPT_DURATION, "30s", 0, offsetof(struct conf, every), 1000, 86400000, NULL,
     "interval"},
    {"mode", VIGIL_OPT_ENUM, "fast", 0, offsetof(struct conf, mode), VIGIL_NOBOUNDS, modes, "mode"},
    {"list", VIGIL_OPT_STRLIST, "[\"a\", \"b\"]", 0, offsetof(struct conf, list), 0, 3, NULL,
     "items"},
    {"extra", VIGIL_OPT_JSON, NULL, 0, offsetof(struct conf, extra), VIGIL_NOBOUNDS, NULL, "any"},
    {"file", VIGIL_OPT_STR, NULL, VIGIL_OPT_REQUIRED | VIGIL_OPT_PATH, offsetof(struct conf, file),
     VIGIL_NOBOUNDS, NULL, "a file"},
    {"token", VIGIL_OPT_STR, NULL, VIGIL_OPT_SECRET, offsetof(struct conf, token), VIGIL_NOBOUNDS,
     NULL, "secret"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

static const struct vigil_plugin plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "t",
    .options = table,
    .conf_size = sizeof(struct conf),
};

/* Fill from a JSON text located in a pipeline-like file, so messages carry
 * positions. */
static int fill(const char *options_json, struct conf *c, struct diags *d, struct jdoc *doc)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"options\": %s}", options_json);
    memset(c, 0, sizeof *c);
    if (jdoc_load_buffer(doc, "p.json", text, strlen(text), d) != 0)
        return -1;
    struct core_opt_ctx ctx = {doc, "/options", "", "transform plugin 't'", "/base"};
    return core_options_fill(&plugin, json_object_get(doc->root, "options"), c, &ctx, d);
}

static void test_defaults_and_values(void)
{
    struct conf c;
    struct diags d = {0};
    struct jdoc doc;
    CHECK_INT(fill("{\"file\": \"x.txt\"}", &c, &d, &doc), ==, 0);
    CHECK_STR(c.name, "anon");
    CHECK_INT(c.count, ==, 3);
    CHECK_INT(c.flag, ==, 0);
    CHECK(c.ratio == 0.5);
    CHECK_INT(c.size, ==, 1048576);
    CHECK_INT(c.every, ==, 30000);
    CHECK_INT(c.mode, ==, 0);
    CHECK_INT(c.list.n, ==, 2);
    CHECK_STR(c.list.v[1], "b");
    CHECK(c.extra == NULL);
    CHECK_STR(c.file, "/base/x.txt"); /* PATH: relative to the pipeline */
    core_options_free(&plugin, &c);
    jdoc_free(&doc);

    CHECK_INT(fill("{\"file\": \"/abs\", \"name\": \"n\", \"count\": 7, \"flag\": true, "
                   "\"ratio\": 1, \"size\": \"2KB\", \"every\": \"5m\", \"mode\": \"slow\", "
                   "\"list\": \"one\", \"extra\": {\"k\": [1]}}",
                   &c, &d, &doc),
              ==, 0);
    CHECK_STR(c.name, "n");
    CHECK_INT(c.count, ==, 7);
    CHECK_INT(c.flag, ==, 1);
    CHECK_INT(c.size, ==, 2048);
    CHECK_INT(c.every, ==, 300000);
    CHECK_INT(c.mode, ==, 1);
    CHECK_INT(c.list.n, ==, 1);
    CHECK_STR(c.list.v[0], "one");
    CHECK(json_is_object(c.extra));
    CHECK_STR(c.file, "/abs");
    core_options_free(&plugin, &c);
    jdoc_free(&doc);
    CHECK_INT(diags_count(&d), ==, 0);
    diags_free(&d);
}

/* Values that arrived through ${VAR} are strings: numbers and booleans in
 * strings are accepted. */
static void test_strings_for_numbers(void)
{
    struct conf c;
    struct diags d = {0};
    struct jdoc doc;
    CHECK_INT(fill("{\"file\": \"f\", \"count\": \"9\", \"flag\": \"yes\", \"ratio\": \"0.25\", "
                   "\"every\": 90}",
                   &c, &d, &doc),
              ==, 0);
    CHECK_INT(c.count, ==, 9);
    CHECK_INT(c.flag, ==, 1);
    CHECK(c.ratio == 0.25);
    CHECK_INT(c.every, ==, 90000);
    core_options_free(&plugin, &c);
    jdoc_free(&doc);
    diags_free(&d);
}

static void expect_error(const char *options_json, const char *want)
{
    struct conf c;
    struct diags d = {0};
    struct jdoc doc;
    char line[1024] = "";
    int n = fill(options_json, &c, &d, &doc);
    CHECK_INT(n, >=, 1);
    if (d.n > 0)
        diags_format(&d, 0, line, sizeof line);
    CHECK_STR(line, want);
    core_options_free(&plugin, &c);
    jdoc_free(&doc);
    diags_free(&d);
}

static void test_errors(void)
{
    expect_error("{\"file\": \"f\", \"cuont\": 1}",
                 "p.json:1:27: /options/cuont: unknown option 'cuont' for transform plugin 't'; "
                 "allowed: name, count, flag, ratio, size, every, mode, list, extra, file, token");
    expect_error("{}", "p.json:1:13: /options: transform plugin 't': missing required option "
                       "'file' (string: a file)");
    expect_error("{\"file\": \"f\", \"count\": \"ten\"}",
                 "p.json:1:36: /options/count: transform plugin 't' option 'count': expected an "
                 "integer, found \"ten\"");
    expect_error("{\"file\": \"f\", \"count\": 11}",
                 "p.json:1:36: /options/count: transform plugin 't' option 'count': must be "
                 "between 1 and 10, found 11");
    expect_error("{\"file\": \"f\", \"every\": \"fast\"}",
                 "p.json:1:36: /options/every: transform plugin 't' option 'every': expected a "
                 "duration like \"30s\", \"5m\" or \"250ms\", found \"fast\"");
    expect_error("{\"file\": \"f\", \"every\": \"100ms\"}",
                 "p.json:1:36: /options/every: transform plugin 't' option 'every': must be "
                 "between 1s and 1d, found \"100ms\"");
    expect_error("{\"file\": \"f\", \"mode\": \"medium\"}",
                 "p.json:1:35: /options/mode: transform plugin 't' option 'mode': expected one of "
                 "\"fast\", \"slow\", found \"medium\"");
    expect_error("{\"file\": \"f\", \"size\": \"lots\"}",
                 "p.json:1:35: /options/size: transform plugin 't' option 'size': expected a size "
                 "like \"10MB\" or a number of bytes, found \"lots\"");
    expect_error("{\"file\": \"f\", \"list\": [\"a\", 2]}",
                 "p.json:1:35: /options/list: transform plugin 't' option 'list': expected an "
                 "array of strings, item 1 is 2");
    expect_error("{\"file\": \"f\", \"list\": [\"a\", \"b\", \"c\", \"d\"]}",
                 "p.json:1:35: /options/list: transform plugin 't' option 'list': must be "
                 "between 0 and 3 items, found 4");
    expect_error("{\"file\": 42}", "p.json:1:22: /options/file: transform plugin 't' option "
                                   "'file': expected a string, found 42");
    expect_error("[]", "p.json:1:13: /options: transform plugin 't': expected an object of "
                       "options, found an array");
}

static void test_secret_hidden(void)
{
    struct conf c;
    struct diags d = {0};
    struct jdoc doc;
    char line[1024] = "";
    fill("{\"file\": \"f\", \"token\": 12345}", &c, &d, &doc);
    REQUIRE(d.n == 1);
    diags_format(&d, 0, line, sizeof line);
    CHECK_CONTAINS(line, "secret value hidden");
    CHECK_NOT_CONTAINS(line, "12345");
    CHECK(core_options_is_secret(&plugin, "token"));
    CHECK(!core_options_is_secret(&plugin, "name"));
    core_options_free(&plugin, &c);
    jdoc_free(&doc);
    diags_free(&d);
}

static void test_table_check(void)
{
    struct vigil_error err = {0};
    CHECK_INT(core_options_check_table(&plugin, &err), ==, VIGIL_OK);

    struct vigil_option bad_default[] = {
        {"count", VIGIL_OPT_INT, "many", 0, offsetof(struct conf, count), VIGIL_NOBOUNDS, NULL,
         ""},
        {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
    struct vigil_plugin p = plugin;
    p.options = bad_default;
    CHECK_INT(core_options_check_table(&p, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "option 'count' has a bad default \"many\"");

    struct vigil_option outside[] = {
        {"count", VIGIL_OPT_INT, NULL, 0, sizeof(struct conf), VIGIL_NOBOUNDS, NULL, ""},
        {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
    p.options = outside;
    CHECK_INT(core_options_check_table(&p, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "lies outside the conf struct");

    struct vigil_option twice[] = {
        {"a", VIGIL_OPT_INT, NULL, 0, 0, VIGIL_NOBOUNDS, NULL, ""},
        {"a", VIGIL_OPT_INT, NULL, 0, 8, VIGIL_NOBOUNDS, NULL, ""},
        {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
    p.options = twice;
    CHECK_INT(core_options_check_table(&p, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "declared twice");

    struct vigil_option badname[] = {{"Bad-Name", VIGIL_OPT_INT, NULL, 0, 0, VIGIL_NOBOUNDS,
                                      NULL, ""},
                                     {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};
    p.options = badname;
    CHECK_INT(core_options_check_table(&p, &err), ==, VIGIL_EINVAL);
    CHECK_CONTAINS(err.msg, "invalid name 'Bad-Name'");
}

int main(void)
{
    RUN(test_defaults_and_values);
    RUN(test_strings_for_numbers);
    RUN(test_errors);
    RUN(test_secret_hidden);
    RUN(test_table_check);
    return test_summary();
}
