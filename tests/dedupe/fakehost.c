#include "fakehost.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jdiag.h"
#include "options.h"
#include "store.h"

const struct vigil_plugin *vigil_plugin_init_transform_dedupe(const struct vigil_host *host,
                                                              struct vigil_error *err);

int64_t fake_now;

struct vigil_counter {
    struct fake_counter_slot slot;
};

static struct fake *F(struct vigil_instance *ins)
{
    return (struct fake *)ins;
}

static void f_log(struct vigil_instance *ins, int level, const char *fmt, ...)
{
    struct fake *f = F(ins);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&f->mu);
    buf_printf(&f->log, "%d ", level);
    buf_vprintf(&f->log, fmt, ap);
    buf_append(&f->log, "\n", 1);
    pthread_mutex_unlock(&f->mu);
    va_end(ap);
}

static int f_log_enabled(struct vigil_instance *ins, int level)
{
    (void)ins;
    (void)level;
    return 1;
}

static const char *f_pipeline(struct vigil_instance *ins)
{
    (void)ins;
    return "test";
}

static const char *f_stage(struct vigil_instance *ins)
{
    (void)ins;
    return "dedupe";
}

static struct vigil_counter *f_counter(struct vigil_instance *ins, const char *name,
                                       const char *help)
{
    struct fake *f = F(ins);
    (void)help;
    for (int i = 0; i < f->ncounters; i++) {
        if (!strcmp(f->counters[i].name, name))
            return (struct vigil_counter *)&f->counters[i];
    }
    if (f->ncounters == FAKE_COUNTERS)
        return NULL;
    struct fake_counter_slot *s = &f->counters[f->ncounters++];
    snprintf(s->name, sizeof s->name, "%s", name);
    return (struct vigil_counter *)s;
}

static void f_counter_add(struct vigil_counter *c, uint64_t delta)
{
    if (c)
        __atomic_add_fetch(&c->slot.value, delta, __ATOMIC_RELAXED);
}

static int fail_kv(struct fake *f)
{
    return __atomic_load_n(&f->kv_fail, __ATOMIC_RELAXED) > 0 &&
           __atomic_sub_fetch(&f->kv_fail, 1, __ATOMIC_RELAXED) >= 0;
}

static int f_kv_get(struct vigil_instance *ins, const char *key, char **val, size_t *len)
{
    struct fake *f = F(ins);
    if (!f->store || fail_kv(f))
        return VIGIL_EIO;
    return core_store_get(f->store, "test/dedupe", key, val, len);
}

static int f_kv_put(struct vigil_instance *ins, const char *key, const void *val, size_t len,
                    int64_t ttl_ms)
{
    struct fake *f = F(ins);
    if (!f->store || fail_kv(f))
        return VIGIL_EIO;
    return core_store_put(f->store, "test/dedupe", key, val, len, ttl_ms);
}

static int f_kv_del(struct vigil_instance *ins, const char *key)
{
    struct fake *f = F(ins);
    if (!f->store)
        return VIGIL_EIO;
    return core_store_del(f->store, "test/dedupe", key);
}

static int f_kv_flush(struct vigil_instance *ins)
{
    struct fake *f = F(ins);
    return f->store ? core_store_commit(f->store) : VIGIL_EIO;
}

static int64_t f_now(void)
{
    if (fake_now)
        return fake_now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill(const struct vigil_plugin *p, const char *options_json, void *conf, char *msg,
                size_t len)
{
    struct diags d = {0};
    json_error_t jerr;
    json_t *opts = json_loads(options_json, 0, &jerr);
    if (!opts) {
        snprintf(msg, len, "bad JSON: %s", jerr.text);
        return 1;
    }
    struct core_opt_ctx ctx = {NULL, "/options", "", "transform plugin 'dedupe'", NULL};
    int n = core_options_fill(p, opts, conf, &ctx, &d);
    if (n)
        diags_format(&d, 0, msg, len);
    diags_free(&d);
    json_decref(opts);
    return n;
}

int fake_check_options(const char *options_json, char *msg, size_t len)
{
    const struct vigil_plugin *p = vigil_plugin_init_transform_dedupe(NULL, NULL);
    void *conf = calloc(1, p->conf_size);
    msg[0] = '\0';
    int n = fill(p, options_json, conf, msg, len);
    core_options_free(p, conf);
    free(conf);
    return n;
}

int fake_open(struct fake *f, const char *options_json, const char *state_dir,
              struct vigil_error *err)
{
    static struct core_log quiet = {VIGIL_LOG_ERROR, 0, 2};
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    buf_init(&f->log, 1 << 20);
    f->host.abi_major = VIGIL_ABI_MAJOR;
    f->host.abi_minor = VIGIL_ABI_MINOR;
    f->host.struct_size = sizeof f->host;
    f->host.log = f_log;
    f->host.log_enabled = f_log_enabled;
    f->host.pipeline_name = f_pipeline;
    f->host.stage_id = f_stage;
    f->host.counter = f_counter;
    f->host.counter_add = f_counter_add;
    f->host.kv_get = f_kv_get;
    f->host.kv_put = f_kv_put;
    f->host.kv_del = f_kv_del;
    f->host.kv_flush = f_kv_flush;
    f->host.now_ms = f_now;
    f->plugin = vigil_plugin_init_transform_dedupe(&f->host, err);
    if (core_options_check_table(f->plugin, err) != VIGIL_OK)
        return -1;
    f->conf = calloc(1, f->plugin->conf_size);
    char msg[512];
    if (fill(f->plugin, options_json, f->conf, msg, sizeof msg) != 0) {
        vigil_error_set(err, VIGIL_EINVAL, "%s", msg);
        return -1;
    }
    if (state_dir && core_store_open(state_dir, &quiet, &f->store, err) != VIGIL_OK)
        return -1;
    if (f->plugin->create(&f->host, (struct vigil_instance *)f, f->conf, &f->state, err) !=
        VIGIL_OK) {
        f->state = NULL;
        return -1;
    }
    return 0;
}

void fake_commit(struct fake *f)
{
    if (f->store)
        core_store_commit(f->store);
}

void fake_close(struct fake *f)
{
    if (f->state)
        f->plugin->destroy(f->state);
    if (f->conf) {
        core_options_free(f->plugin, f->conf);
        free(f->conf);
    }
    if (f->store)
        core_store_close(f->store);
    buf_free(&f->log);
    pthread_mutex_destroy(&f->mu);
    memset(f, 0, sizeof *f);
}

uint64_t fake_counter(struct fake *f, const char *name)
{
    for (int i = 0; i < f->ncounters; i++) {
        if (!strcmp(f->counters[i].name, name))
            return __atomic_load_n(&f->counters[i].value, __ATOMIC_RELAXED);
    }
    return 0;
}
