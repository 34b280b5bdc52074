/*
 * Every test case declared in every shipped rules file (rules/NAME.json) must
 * pass with the engine, using the fixture mention finder for entities.
 * TEST_VERBOSE=1 prints the explanation of failing cases.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "mentions.h"
#include "rules.h"
#include "test.h"

static char rules_dir[1024], aliases[1024];

static int run_file(const char *path, struct mf *mf, int *cases)
{
    struct diags d = {0};
    const char *paths[1] = {path};
    struct ruleset *rs = rules_load(paths, 1, &d);
    if (!rs) {
        diags_print(&d, stderr);
        diags_free(&d);
        return -1;
    }
    diags_free(&d);
    struct ev_worker *w = NULL;
    struct vigil_error err = {0};
    if (ev_worker_new(rs, &w, &err) != VIGIL_OK) {
        rules_free(rs);
        return -1;
    }
    json_t *root = json_load_file(path, 0, NULL);
    int failed = 0;
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(root, "tests"), i, tc)
    {
        const char *only = getenv("TEST_CASE");
        if (only && !strstr(json_string_value(json_object_get(tc, "name")), only))
            continue;
        json_t *doc = mf_case_doc(mf, tc);
        struct ev_opts opts = {0, 0, 1};
        char why[2048] = "";
        (*cases)++;
        test_g.checks++;
        if (ev_process(rs, w, doc, &opts, &err) != VIGIL_OK) {
            snprintf(why, sizeof why, "ev_process failed: %s", err.msg);
        } else if (mf_check_case(tc, doc, why, sizeof why) == 0) {
            json_decref(doc);
            continue;
        }
        failed++;
        char m[2600];
        snprintf(m, sizeof m, "%s: test %zu \"%s\": %s", path, i,
                 json_string_value(json_object_get(tc, "name")), why);
        test_fail(__FILE__, __LINE__, m);
        if (getenv("TEST_VERBOSE")) {
            char *s = json_dumps(json_object_get(json_object_get(doc, "meta"), "explain_events"),
                                 JSON_INDENT(1));
            fprintf(stderr, "%s\n", s ? s : "");
            free(s);
            s = json_dumps(json_object_get(doc, "events"), JSON_INDENT(1));
            fprintf(stderr, "%s\n", s ? s : "");
            free(s);
        }
        json_decref(doc);
    }
    json_decref(root);
    ev_worker_free(w);
    rules_free(rs);
    return failed;
}

static void test_shipped_rule_cases(void)
{
    char msg[512];
    struct mf *mf = mf_load(aliases, msg, sizeof msg);
    REQUIRE(mf != NULL);
    DIR *dir = opendir(rules_dir);
    REQUIRE(dir != NULL);
    struct dirent *de;
    int files = 0, cases = 0;
    char *names[64];
    int n = 0;
    while ((de = readdir(dir)) != NULL && n < 64) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(dir);
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", rules_dir, names[i]);
        int rc = run_file(path, mf, &cases);
        CHECK_INT(rc, ==, 0);
        files++;
        free(names[i]);
    }
    fprintf(stderr, "  %d rule files, %d test cases\n", files, cases);
    CHECK_INT(files, >=, 1);
    if (!getenv("TEST_CASE"))
        CHECK_INT(cases, >=, 120);
    mf_free(mf);
}

int main(void)
{
    const char *src = getenv("VIGIL_SOURCE_DIR");
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", src ? src : ".");
    snprintf(aliases, sizeof aliases, "%s/tests/events/fixtures/aliases.json", src ? src : ".");
    RUN(test_shipped_rule_cases);
    return test_summary();
}
