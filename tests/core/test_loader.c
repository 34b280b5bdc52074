#include <stdlib.h>

#include "engine_internal.h"
#include "loader.h"
#include "test.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must be defined by the build"
#endif

static struct core_log quiet_log;

static void init(struct core_loader *l, const char *dir)
{
    core_log_init(&quiet_log);
    quiet_log.level = VIGIL_LOG_ERROR; /* refusals are asserted, not printed */
    core_loader_init(l, &quiet_log, &core_host_table);
    if (dir)
        core_loader_add_dir(l, dir);
}

static void refused(const char *name, int want_rc, const char *want_msg)
{
    struct core_loader l;
    struct vigil_error err = {0};
    const struct core_plugin *p = NULL;
    init(&l, BAD_PLUGIN_DIR);
    int rc = core_loader_get(&l, VIGIL_TRANSFORM, name, &p, &err);
    CHECK_INT(rc, ==, want_rc);
    CHECK(p == NULL);
    CHECK_CONTAINS(err.msg, want_msg);
    /* every refusal names the file */
    char file[512];
    snprintf(file, sizeof file, "transform_%s.so", name);
    CHECK_CONTAINS(err.msg, file);
    core_loader_close(&l);
}

static void test_refusals(void)
{
    refused("newer", VIGIL_EABI, "built for ABI 1.1, host has 1.0");
    refused("major", VIGIL_EABI, "built for ABI 2.0, host has 1.0");
    refused("nosym", VIGIL_EINVAL, "no entry symbol 'vigil_plugin_init'");
    refused("garbage", VIGIL_EIO, "cannot be opened");
    refused("badopts", VIGIL_EINVAL, "enum option 'mode' has no choices");
    refused("misnamed", VIGIL_EINVAL, "calls itself 'someone_else'");
    refused("huge", VIGIL_EABI, "descriptor size 70000 is not plausible");
}

static void test_not_found_lists_dirs_and_choices(void)
{
    struct core_loader l;
    struct vigil_error err = {0};
    const struct core_plugin *p;
    init(&l, TEST_PLUGIN_DIR);
    CHECK_INT(core_loader_get(&l, VIGIL_TRANSFORM, "nope", &p, &err), ==, VIGIL_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "no transform plugin named 'nope'");
    CHECK_CONTAINS(err.msg, TEST_PLUGIN_DIR);
    CHECK_CONTAINS(err.msg, "noop");
    CHECK_CONTAINS(err.msg, "mark");
    CHECK_INT(core_loader_get(&l, VIGIL_TRANSFORM, "Bad Name", &p, &err), ==, VIGIL_EINVAL);
    core_loader_close(&l);
}

static void test_load_and_reuse(void)
{
    struct core_loader l;
    struct vigil_error err = {0};
    const struct core_plugin *a = NULL, *b = NULL;
    init(&l, TEST_PLUGIN_DIR);
    REQUIRE(core_loader_get(&l, VIGIL_TRANSFORM, "mark", &a, &err) == VIGIL_OK);
    CHECK_STR(a->desc.name, "mark");
    CHECK_INT(a->desc.kind, ==, VIGIL_TRANSFORM);
    CHECK(a->desc.process != NULL);
    CHECK_INT(core_loader_get(&l, VIGIL_TRANSFORM, "mark", &b, &err), ==, VIGIL_OK);
    CHECK(a == b); /* loaded once */
    /* the same name as another kind is a different plugin */
    CHECK_INT(core_loader_get(&l, VIGIL_SINK, "mark", &b, &err), ==, VIGIL_ENOTFOUND);
    core_loader_close(&l);
}

static void test_duplicate_name(void)
{
    struct core_loader l;
    struct vigil_error err = {0};
    const struct core_plugin *a = NULL, *b = NULL;
    char other[1024];
    /* A copy of noop under another path declares the same name. */
    snprintf(other, sizeof other, "%s/dup-%d", TEST_PLUGIN_DIR, (int)getpid());
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/transform_noop.so %s/transform_noop.so", other,
             TEST_PLUGIN_DIR, other);
    REQUIRE(system(cmd) == 0);
    init(&l, TEST_PLUGIN_DIR);
    REQUIRE(core_loader_get(&l, VIGIL_TRANSFORM, "noop", &a, &err) == VIGIL_OK);
    snprintf(cmd, sizeof cmd, "%s/transform_noop.so", other);
    CHECK_INT(core_loader_load_path(&l, cmd, VIGIL_TRANSFORM, NULL, &b, &err), ==, VIGIL_EEXIST);
    CHECK_CONTAINS(err.msg, "duplicate transform name 'noop', already provided by");
    core_loader_close(&l);
    snprintf(cmd, sizeof cmd, "rm -rf %s", other);
    CHECK(system(cmd) == 0);
}

struct scan_count {
    int ok, refused;
};

static void scan_cb(void *arg, const struct core_plugin *p, const char *path,
                    const struct vigil_error *refusal)
{
    struct scan_count *c = arg;
    (void)path;
    if (p)
        c->ok++;
    else if (refusal)
        c->refused++;
}

static void test_scan_reports_everything(void)
{
    struct core_loader l;
    struct scan_count c = {0};
    init(&l, BAD_PLUGIN_DIR);
    l.use_static = 0;
    core_loader_add_dir(&l, TEST_PLUGIN_DIR);
    core_loader_scan(&l, scan_cb, &c);
    CHECK_INT(c.refused, ==, 7); /* every broken file, each with a reason */
    CHECK_INT(c.ok, ==, 7); /* gen, noop, mark, later, collect + built-in push, archive */
    core_loader_close(&l);
}

int main(void)
{
    RUN(test_refusals);
    RUN(test_not_found_lists_dirs_and_choices);
    RUN(test_load_and_reuse);
    RUN(test_duplicate_name);
    RUN(test_scan_reports_everything);
    return test_summary();
}
