/*
 * The file plugin through its hooks on a real loop: every line whole and
 * parseable, the three fsync policies (when "delivered" is answered, how
 * many fsyncs run), flush, rotation, field selection, and write errors.
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "chanhost.h"
#include "test.h"

const struct vigil_plugin *vigil_plugin_init_sink_file(const struct vigil_host *host,
                                                       struct vigil_error *err);

static const struct vigil_plugin *plugin;

struct fx {
    struct chanhost h;
    struct chanstage st;
    char path[512];
};

static int fx_open(struct fx *f, const char *name, const char *extra)
{
    memset(f, 0, sizeof *f);
    if (chanhost_init(&f->h) != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/%s", f->h.dir, name);
    char opts[1024], err[512];
    snprintf(opts, sizeof opts, "{\"path\": \"%s\"%s%s}", name, extra ? ", " : "",
             extra ? extra : "");
    if (chanstage_create(&f->st, &f->h, plugin, opts, err, sizeof err) != 0) {
        fprintf(stderr, "  create: %s\n", err);
        return -1;
    }
    return 0;
}

static void fx_close(struct fx *f)
{
    chanstage_destroy(&f->st);
    CHECK_INT(chanhost_fini(&f->h), ==, 0);
}

/* Lines of a file, each parsed; -1 if a line is not JSON. */
static int read_lines(const char *path, json_t **out, int max)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char line[65536];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        json_t *v = json_loads(line, 0, NULL);
        size_t l = strlen(line);
        if (!v || l == 0 || line[l - 1] != '\n') {
            json_decref(v);
            n = -1;
            break;
        }
        if (n < max)
            out[n] = v;
        else
            json_decref(v);
        n++;
    }
    fclose(fp);
    return n;
}

static void free_lines(json_t **v, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(v[i]);
}

static void test_policies(void)
{
    static const char *const policies[] = {"never", "batch", "always"};
    for (int p = 0; p < 3; p++) {
        struct fx f;
        char extra[128];
        snprintf(extra, sizeof extra, "\"fsync\": \"%s\", \"fsync_interval\": \"30ms\"",
                 policies[p]);
        REQUIRE(fx_open(&f, "alerts.jsonl", extra) == 0);
        json_t *a = chan_fixture("alert.json");
        enum { N = 20 };
        struct chanresult r[N];
        for (int i = 0; i < N; i++) {
            char id[32];
            snprintf(id, sizeof id, "id-%d", i);
            CHECK_INT(chanstage_start(&f.st, &r[i], a, id, "alert", 1), ==, VIGIL_OK);
            /* "always" answers only after an fsync, from the loop */
            CHECK_INT(r[i].calls, ==, p == 2 ? 0 : 1);
        }
        CHECK_INT(chanstage_wait(&f.st, r, N, 5000), ==, 0);
        for (int i = 0; i < N; i++) {
            CHECK_INT(r[i].calls, ==, 1);
            CHECK_INT(r[i].status, ==, VIGIL_DELIVERED);
            chanresult_clear(&r[i]);
        }
        uint64_t fs = chanhost_counter(&f.h, "fsyncs");
        if (p == 0)
            CHECK_INT(fs, ==, 0);
        if (p == 1)
            CHECK_INT(fs, ==, 0); /* not before the interval */
        if (p == 2) {
            /* group commit: the first write's fsync, then one for the 19
             * written while it ran */
            CHECK_INT(fs, >=, 1);
            CHECK_INT(fs, <=, 3);
        }
        /* batch: one fsync once the interval passed (bounded wait) */
        for (int i = 0; i < 200 && p == 1 && chanhost_counter(&f.h, "fsyncs") == 0; i++)
            chanhost_run_for(&f.h, 10);
        chanhost_run_for(&f.h, 60);
        fs = chanhost_counter(&f.h, "fsyncs");
        CHECK_INT(fs, ==, p == 0 ? 0 : p == 1 ? 1 : fs);
        json_t *lines[N];
        int n = read_lines(f.path, lines, N);
        CHECK_INT(n, ==, N);
        for (int i = 0; i < n && i < N; i++)
            CHECK(json_equal(lines[i], a));
        free_lines(lines, n < N ? n : N);
        CHECK_INT(chanhost_counter(&f.h, "sent"), ==, N);
        json_decref(a);
        fx_close(&f);
    }
}

static void test_flush_and_stop(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "flush.jsonl", "\"fsync\": \"batch\", \"fsync_interval\": \"1h\"") == 0);
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 1000);
    CHECK_INT(r.status, ==, VIGIL_DELIVERED);
    chanresult_clear(&r);
    CHECK_INT(chanhost_counter(&f.h, "fsyncs"), ==, 0);
    CHECK_INT(chanstage_flush(&f.st, 5000), ==, VIGIL_OK);
    CHECK_INT(chanhost_counter(&f.h, "fsyncs"), ==, 1);
    /* written again, then stopped: stop syncs what is left */
    chanstage_deliver(&f.st, &r, a, "id2", "alert", 1, 1000);
    chanresult_clear(&r);
    chanstage_stop(&f.st);
    chanhost_run_for(&f.h, 100);
    CHECK_INT(chanhost_counter(&f.h, "fsyncs"), ==, 2);
    CHECK_INT(chanstage_start(&f.st, &r, a, "late", "alert", 1), ==, VIGIL_ESTATE);
    chanresult_clear(&r);
    json_decref(a);
    fx_close(&f);

    /* destroyed while its last fsync still runs on the thread pool */
    REQUIRE(fx_open(&f, "orphan.jsonl", "\"fsync\": \"batch\", \"fsync_interval\": \"1h\"") == 0);
    a = chan_fixture("alert.json");
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 1000);
    chanresult_clear(&r);
    chanstage_destroy_now(&f.st); /* stop starts the fsync, destroy orphans it */
    json_decref(a);
    fx_close(&f);
}

static void test_flush_never(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "n.jsonl", "\"fsync\": \"never\"") == 0);
    CHECK_INT(chanstage_flush(&f.st, 1000), ==, VIGIL_OK);
    CHECK_INT(chanhost_counter(&f.h, "fsyncs"), ==, 0);
    fx_close(&f);
}

static void test_rotation(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "rot.jsonl", "\"fsync\": \"always\", \"max_size\": \"4KB\", \"keep\": 2") ==
            0);
    json_t *a = chan_fixture("alert.json");
    enum { N = 30 };
    struct chanresult r[N];
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "id-%d", i);
        chanstage_start(&f.st, &r[i], a, id, "alert", 1);
    }
    CHECK_INT(chanstage_wait(&f.st, r, N, 5000), ==, 0);
    int delivered = 0;
    for (int i = 0; i < N; i++) {
        delivered += r[i].status == VIGIL_DELIVERED;
        chanresult_clear(&r[i]);
    }
    CHECK_INT(delivered, ==, N);
    CHECK_INT(chanhost_counter(&f.h, "rotations"), >=, 2);
    char p1[600], p2[600], p3[600];
    snprintf(p1, sizeof p1, "%s.1", f.path);
    snprintf(p2, sizeof p2, "%s.2", f.path);
    snprintf(p3, sizeof p3, "%s.3", f.path);
    struct stat st;
    CHECK(stat(p1, &st) == 0 && st.st_size <= 4096 && st.st_size > 0);
    CHECK(stat(p2, &st) == 0 && st.st_size <= 4096);
    CHECK(stat(p3, &st) != 0);
    CHECK(stat(f.path, &st) == 0 && st.st_size <= 4096);
    json_t *lines[N];
    int n0 = read_lines(f.path, lines, N);
    CHECK(n0 > 0);
    free_lines(lines, n0 > 0 ? n0 : 0);
    int n1 = read_lines(p1, lines, N);
    CHECK(n1 > 0);
    free_lines(lines, n1 > 0 ? n1 : 0);
    CHECK_CONTAINS(f.h.log.data, "file: rotated");
    json_decref(a);
    fx_close(&f);
}

static void test_fields_and_documents(void)
{
    struct fx f;
    REQUIRE(fx_open(&f, "f.jsonl",
                    "\"fsync\": \"never\", \"fields\": [\"id\", \"title\", "
                    "\"severity\"]") == 0);
    json_t *a = chan_fixture("alert.json");
    struct chanresult r;
    chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 1000);
    chanresult_clear(&r);
    json_t *lines[1];
    REQUIRE(read_lines(f.path, lines, 1) == 1);
    CHECK_INT(json_object_size(lines[0]), ==, 3);
    CHECK_STR(json_string_value(json_object_get(lines[0], "severity")), "high");
    free_lines(lines, 1);
    json_decref(a);
    fx_close(&f);

    REQUIRE(fx_open(&f, "d.jsonl", "\"fsync\": \"never\"") == 0);
    json_t *doc = chan_fixture("document.json");
    chanstage_deliver(&f.st, &r, doc, "doc-42", "document", 1, 1000);
    chanresult_clear(&r);
    REQUIRE(read_lines(f.path, lines, 1) == 1);
    CHECK(json_object_get(lines[0], "html") == NULL);
    CHECK_STR(json_string_value(json_object_get(lines[0], "id")), "doc-42");
    free_lines(lines, 1);
    json_decref(doc);
    fx_close(&f);
}

static void test_write_errors(void)
{
    if (access("/dev/full", W_OK) == 0) {
        struct fx f;
        REQUIRE(fx_open(&f, "/dev/full", "\"fsync\": \"never\", \"max_size\": 0") == 0);
        json_t *a = chan_fixture("alert.json");
        struct chanresult r;
        chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 1000);
        CHECK_INT(r.calls, ==, 1);
        CHECK_INT(r.status, ==, VIGIL_RETRY);
        CHECK_STR(r.reason, "/dev/full: No space left on device");
        CHECK_INT(chanhost_counter(&f.h, "write_errors"), ==, 1);
        CHECK_INT(chanhost_counter(&f.h, "retried"), ==, 1);
        chanresult_clear(&r);
        json_decref(a);
        fx_close(&f);
    }

    /* other errors fail for good: a file size limit (EFBIG), in a child */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {3000, 3000};
        setrlimit(RLIMIT_FSIZE, &rl);
        struct fx f;
        if (fx_open(&f, "limit.jsonl", "\"fsync\": \"never\"") != 0)
            _exit(10);
        json_t *a = chan_fixture("alert.json");
        struct chanresult r;
        int status = VIGIL_DELIVERED, i;
        for (i = 0; i < 10 && status == VIGIL_DELIVERED; i++) {
            chanstage_deliver(&f.st, &r, a, "id", "alert", 1, 1000);
            status = r.status;
            chanresult_clear(&r);
        }
        int ok = status == VIGIL_FAILED && strstr(r.reason, "File too large") != NULL &&
                 chanhost_counter(&f.h, "failed") == 1;
        /* whole lines only: every delivered line, none of the failed one */
        ok = ok && i > 1 && read_lines(f.path, NULL, 0) == i - 1;
        json_decref(a);
        chanstage_destroy(&f.st);
        chanhost_fini(&f.h);
        _exit(ok ? 0 : 12);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_INT(WEXITSTATUS(st), ==, 0);
}

static void test_bad_options(void)
{
    struct chanhost h;
    REQUIRE(chanhost_init(&h) == 0);
    struct chanstage st;
    char err[512] = "";
    CHECK_INT(
        chanstage_create(&st, &h, plugin, "{\"path\": \"no/such/dir/x.jsonl\"}", err, sizeof err),
        ==, -1);
    CHECK_CONTAINS(err, "option 'path': cannot open");
    CHECK_CONTAINS(err, "No such file or directory");
    CHECK_INT(chanstage_create(&st, &h, plugin, "{\"path\": \"x\", \"keep\": 0}", err, sizeof err),
              ==, -1);
    CHECK_CONTAINS(err, "keep");
    CHECK_INT(chanstage_create(&st, &h, plugin, "{\"path\": \"x\", \"fsync\": \"sometimes\"}", err,
                               sizeof err),
              ==, -1);
    CHECK_CONTAINS(err, "fsync");
    CHECK_INT(chanhost_fini(&h), ==, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    plugin = vigil_plugin_init_sink_file(NULL, NULL);
    RUN(test_policies);
    RUN(test_flush_and_stop);
    RUN(test_flush_never);
    RUN(test_rotation);
    RUN(test_fields_and_documents);
    RUN(test_write_errors);
    RUN(test_bad_options);
    curl_global_cleanup();
    return test_summary();
}
