/* Subjects of the nats plugins: templates, rendering, coverage. */
#include "subject.h"
#include "test.h"

static void test_check_template(void)
{
    char err[256];
    CHECK_INT(subj_check_template("vigil.docs", err, sizeof err), ==, 0);
    CHECK_INT(subj_check_template("vigil.docs.{source}", err, sizeof err), ==, 0);
    CHECK_INT(subj_check_template("v.{lang}-{source}.x", err, sizeof err), ==, 0);
    CHECK_INT(subj_check_template("", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template("a..b", err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, "empty token");
    CHECK_INT(subj_check_template("a.b.", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template(".a", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template("a.*", err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, "wildcards");
    CHECK_INT(subj_check_template("a.>", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template("a b", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template("a.{Source}", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template("a.{source", err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, "placeholder");
    CHECK_INT(subj_check_template("a.source}", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_template("a.{}", err, sizeof err), ==, -1);
}

static void test_render(void)
{
    char out[SUBJ_MAX];
    json_t *doc = json_pack("{s:s, s:s, s:i, s:s}", "source", "bbc.world feed", "lang", "en", "n",
                            3, "empty", "");
    CHECK_INT(subj_render("vigil.docs.{source}", doc, out, sizeof out), ==, 0);
    /* '.' and ' ' would break the subject's tokens. */
    CHECK_STR(out, "vigil.docs.bbc_world_feed");
    CHECK_INT(subj_render("x.{lang}-{source}", doc, out, sizeof out), ==, 0);
    CHECK_STR(out, "x.en-bbc_world_feed");
    CHECK_INT(subj_render("x.{missing}.{n}.{empty}", doc, out, sizeof out), ==, 0);
    CHECK_STR(out, "x._._._");
    CHECK_INT(subj_render("plain", doc, out, sizeof out), ==, 0);
    CHECK_STR(out, "plain");
    char small[8];
    CHECK_INT(subj_render("vigil.docs.{source}", doc, small, sizeof small), ==, -1);
    /* Long values are cut, so a subject stays bounded. */
    char longv[300];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    json_object_set_new(doc, "source", json_string(longv));
    CHECK_INT(subj_render("d.{source}", doc, out, sizeof out), ==, 0);
    CHECK_INT(strlen(out), ==, 2 + SUBJ_FIELD_MAX);
    json_decref(doc);
}

static void test_pattern_and_cover(void)
{
    char out[SUBJ_MAX];
    CHECK_INT(subj_pattern("vigil.docs.{source}", out, sizeof out), ==, 0);
    CHECK_STR(out, "vigil.docs.*");
    CHECK_INT(subj_pattern("a.{lang}-x.b", out, sizeof out), ==, 0);
    CHECK_STR(out, "a.*.b");
    CHECK_INT(subj_pattern("a.b", out, sizeof out), ==, 0);
    CHECK_STR(out, "a.b");

    CHECK(subj_covers("vigil.docs.>", "vigil.docs.*"));
    CHECK(subj_covers("vigil.docs.*", "vigil.docs.*"));
    CHECK(subj_covers("vigil.>", "vigil.docs.x"));
    CHECK(subj_covers(">", "a"));
    CHECK(subj_covers("a.b", "a.b"));
    CHECK(!subj_covers("vigil.docs.x", "vigil.docs.*"));
    CHECK(!subj_covers("vigil.docs", "vigil.docs.*"));
    CHECK(!subj_covers("vigil.docs.>", "vigil.docs"));
    CHECK(!subj_covers("vigil.docs.*", "vigil.docs.a.b"));
    CHECK(!subj_covers("a.*", "a.>"));
    CHECK(!subj_covers("a.b", "a.c"));
}

static void test_check_filter(void)
{
    char err[256];
    CHECK_INT(subj_check_filter("vigil.docs.>", err, sizeof err), ==, 0);
    CHECK_INT(subj_check_filter("a.*.b", err, sizeof err), ==, 0);
    CHECK_INT(subj_check_filter("a.>.b", err, sizeof err), ==, -1);
    CHECK_CONTAINS(err, "last token");
    CHECK_INT(subj_check_filter("a.b*", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_filter("a..b", err, sizeof err), ==, -1);
    CHECK_INT(subj_check_filter("", err, sizeof err), ==, -1);
}

int main(void)
{
    RUN(test_check_template);
    RUN(test_render);
    RUN(test_pattern_and_cover);
    RUN(test_check_filter);
    return test_summary();
}
