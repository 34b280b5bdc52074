/*
 * webhook_template: placeholders, escaping by content type, literals,
 * delivery variables and compile errors.
 */
#include "chanhost.h"
#include "test.h"
#include "webhook_template.h"

/* Render src against payload with the given escaping; malloc'd or NULL. */
static char *render(const char *src, const json_t *payload, int escape)
{
    struct tpl *t = NULL;
    char err[256];
    if (tpl_compile(src, &t, err, sizeof err) != 0) {
        fprintf(stderr, "  compile failed: %s\n", err);
        return NULL;
    }
    struct buf b;
    buf_init(&b, 1 << 20);
    struct tpl_vars vars = {"7f3a:u2", "alert", 3};
    int rc = tpl_render(t, payload, &vars, escape, &b);
    tpl_free(t);
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    char *s = buf_steal(&b);
    return s ? s : strdup("");
}

static void test_escape_for(void)
{
    CHECK_INT(tpl_escape_for("application/json"), ==, TPL_JSON);
    CHECK_INT(tpl_escape_for("application/vnd.api+json; charset=utf-8"), ==, TPL_JSON);
    CHECK_INT(tpl_escape_for("Text/JSON"), ==, TPL_JSON);
    CHECK_INT(tpl_escape_for("application/x-www-form-urlencoded"), ==, TPL_FORM);
    CHECK_INT(tpl_escape_for("text/plain; charset=utf-8"), ==, TPL_RAW);
    CHECK_INT(tpl_escape_for("text/plain; format=json"), ==, TPL_RAW);
    CHECK_INT(tpl_escape_for(NULL), ==, TPL_RAW);
}

static void test_json_body_is_valid_json(void)
{
    json_t *a = chan_fixture("alert_special.json");
    REQUIRE(a);
    char *s =
        render("{\"text\": \"{{severity}}: {{title}}\", \"why\": \"{{event.evidence.text}}\", "
               "\"conf\": {{confidence}}, \"n\": {{count}}, \"ents\": {{json entities}}, "
               "\"missing\": {{json nope}}, \"empty\": \"{{nope}}\", \"id\": \"{{@id}}\", "
               "\"kind\": \"{{@kind}}\", \"attempt\": {{@attempt}}, "
               "\"link\": \"{{sources.1.url}}\", \"rule\": \"{{/event/rule/id}}\"}",
               a, TPL_JSON);
    REQUIRE(s);
    json_error_t je;
    json_t *out = json_loads(s, 0, &je);
    if (!out)
        fprintf(stderr, "  not JSON (%s): %s\n", je.text, s);
    REQUIRE(out);
    /* every character of the title survived the escaping */
    char want[512];
    snprintf(want, sizeof want, "critical: %s", json_string_value(json_object_get(a, "title")));
    CHECK_STR(json_string_value(json_object_get(out, "text")), want);
    CHECK_STR(json_string_value(json_object_get(out, "why")),
              json_string_value(json_object_get(
                  json_object_get(json_object_get(a, "event"), "evidence"), "text")));
    CHECK(json_number_value(json_object_get(out, "conf")) == 0.75);
    CHECK_INT(json_integer_value(json_object_get(out, "n")), ==, 2);
    CHECK(json_equal(json_object_get(out, "ents"), json_object_get(a, "entities")));
    CHECK(json_is_null(json_object_get(out, "missing")));
    CHECK_STR(json_string_value(json_object_get(out, "empty")), "");
    CHECK_STR(json_string_value(json_object_get(out, "id")), "7f3a:u2");
    CHECK_STR(json_string_value(json_object_get(out, "kind")), "alert");
    CHECK_INT(json_integer_value(json_object_get(out, "attempt")), ==, 3);
    CHECK_STR(json_string_value(json_object_get(out, "link")), "https://example.org/a?x=1&y=<2>|z");
    CHECK_STR(json_string_value(json_object_get(out, "rule")), "r1");
    json_decref(out);
    free(s);

    /* {{json .}}: the whole payload, equal after a round trip */
    s = render("{\"alert\": {{json .}}}", a, TPL_JSON);
    REQUIRE(s);
    out = json_loads(s, 0, NULL);
    REQUIRE(out);
    CHECK(json_equal(json_object_get(out, "alert"), a));
    json_decref(out);
    free(s);
    json_decref(a);
}

static void test_text_values(void)
{
    json_t *p =
        chan_json("{\"s\": \"a\\\"b\\\\c\\n\\u0001\", \"t\": true, \"f\": false, \"z\": null,"
                  " \"i\": -12, \"r\": 0.1, \"o\": {\"k\": [1, \"x\"]}}");
    REQUIRE(p);
    char *s = render("[{{s}}|{{t}}|{{f}}|{{z}}|{{i}}|{{r}}|{{o}}]", p, TPL_RAW);
    CHECK_STR(s, "[a\"b\\c\n\x01|true|false||-12|0.1|{\"k\":[1,\"x\"]}]");
    free(s);
    s = render("{{s}}", p, TPL_JSON);
    CHECK_STR(s, "a\\\"b\\\\c\\n\\u0001");
    free(s);
    /* containers as text are escaped too: a JSON string that holds JSON */
    s = render("\"{{o}}\"", p, TPL_JSON);
    CHECK_STR(s, "\"{\\\"k\\\":[1,\\\"x\\\"]}\"");
    free(s);
    json_decref(p);
}

static void test_form_escaping(void)
{
    json_t *p = chan_json("{\"title\": \"A&B = <c> é/?\", \"n\": 5}");
    char *s = render("text={{title}}&n={{n}}&id={{@id}}", p, TPL_FORM);
    CHECK_STR(s, "text=A%26B+%3D+%3Cc%3E+%C3%A9%2F%3F&n=5&id=7f3a%3Au2");
    free(s);
    json_decref(p);
}

static void test_literals_and_blanks(void)
{
    json_t *p = chan_json("{\"a\": {\"b\": \"x\"}}");
    char *s = render("{{ a.b }}-{{  json   a  }}-{{\"{{not a tag}}\"}}-{{ \"q\\\"\\n\" }}-}}{", p,
                     TPL_RAW);
    CHECK_STR(s, "x-{\"b\":\"x\"}-{{not a tag}}-q\"\n-}}{");
    free(s);
    s = render("", p, TPL_RAW);
    CHECK_STR(s, "");
    free(s);
    s = render("no tags at all", p, TPL_RAW);
    CHECK_STR(s, "no tags at all");
    free(s);
    /* a field called json */
    json_t *q = chan_json("{\"json\": \"yes\"}");
    s = render("{{json}}", q, TPL_RAW);
    CHECK_STR(s, "yes");
    free(s);
    json_decref(q);
    json_decref(p);
}

static void test_compile_errors(void)
{
    static const struct {
        const char *src;
        const char *msg;
    } bad[] = {
        {"abc {{title", "unterminated {{ at byte 4"},
        {"{{}}", "empty {{ }} at byte 0"},
        {"{{  }}", "empty {{ }}"},
        {"x{{a b}}", "a path has no blanks or braces"},
        {"{{@nope}}", "unknown delivery variable (known: @id, @kind, @attempt) at byte 0"},
        {"{{json @id}}", "{{json @...}} is not supported"},
        {"{{\"open}}", "malformed {{\"literal\"}}"},
        {"{{\"a\" x}}", "malformed {{\"literal\"}}"},
        {"{{\"\\q\"}}", "malformed {{\"literal\"}}"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tpl *t = NULL;
        char err[256] = "";
        CHECK_INT(tpl_compile(bad[i].src, &t, err, sizeof err), ==, VIGIL_EINVAL);
        CHECK(t == NULL);
        CHECK_CONTAINS(err, bad[i].msg);
    }
}

static void test_output_limit(void)
{
    json_t *p = chan_json("{\"s\": \"0123456789\"}");
    struct tpl *t = NULL;
    char err[64];
    REQUIRE(tpl_compile("{{s}}{{s}}", &t, err, sizeof err) == 0);
    struct buf b;
    buf_init(&b, 15);
    CHECK_INT(tpl_render(t, p, NULL, TPL_RAW, &b), ==, -1);
    buf_free(&b);
    tpl_free(t);
    json_decref(p);
}

/* A template of more than 4096 parts is refused at compile time. */
static void test_parts_cap(void)
{
    struct buf src;
    buf_init(&src, 0);
    for (int i = 0; i < 2048; i++)
        buf_append_str(&src, "x{{a}}"); /* two parts each: 4096 */
    struct tpl *t = NULL;
    char err[256] = "";
    CHECK_INT(tpl_compile(src.data, &t, err, sizeof err), ==, 0);
    tpl_free(t);
    t = NULL;
    buf_append_str(&src, "y");
    CHECK_INT(tpl_compile(src.data, &t, err, sizeof err), ==, VIGIL_ETOOBIG);
    CHECK(t == NULL);
    CHECK_CONTAINS(err, "more than 4096 parts");
    buf_free(&src);
}

int main(void)
{
    RUN(test_escape_for);
    RUN(test_json_body_is_valid_json);
    RUN(test_text_values);
    RUN(test_form_escaping);
    RUN(test_literals_and_blanks);
    RUN(test_compile_errors);
    RUN(test_output_limit);
    RUN(test_parts_cap);
    return test_summary();
}
