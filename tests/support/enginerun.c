#include "enginerun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"

int er_env_init(struct er_env *env, const char *test_plugin_dir, const char *shipped_dir)
{
    memset(env, 0, sizeof *env);
    snprintf(env->dir, sizeof env->dir, "/tmp/vigil-test-XXXXXX");
    if (!mkdtemp(env->dir))
        return -1;
    core_log_init(&env->log);
    env->log.level = VIGIL_LOG_ERROR;
    json_object_seed(0);
    core_loader_init(&env->loader, &env->log, &core_host_table);
    core_loader_add_dir(&env->loader, test_plugin_dir);
    core_loader_add_dir(&env->loader, shipped_dir);
    return 0;
}

void er_env_free(struct er_env *env)
{
    char cmd[512];
    core_loader_close(&env->loader);
    snprintf(cmd, sizeof cmd, "rm -rf %s", env->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", env->dir);
}

static void sample_pipeline(void *arg, const struct core_pipeline_stats *ps)
{
    struct er_run *r = arg;
    if (ps->inflight > r->max_inflight)
        r->max_inflight = ps->inflight;
    r->emitted = ps->emitted;
}

static void record_stage(void *arg, const struct core_stage_stats *ss)
{
    struct er_run *r = arg;
    if (r->nstages < 16) {
        snprintf(r->stages[r->nstages].id, sizeof r->stages[0].id, "%s", ss->id);
        r->stages[r->nstages].s = *ss;
        r->nstages++;
    }
}

static void on_sample(uv_timer_t *t)
{
    struct er_run *r = t->data;
    core_engine_stats(r->e, sample_pipeline, NULL, r);
}

static void on_stopped(void *arg, uint64_t lost)
{
    struct er_run *r = arg;
    r->stopped = 1;
    r->lost = lost;
    core_engine_stats(r->e, sample_pipeline, record_stage, r);
    uv_close((uv_handle_t *)&r->sampler, NULL);
    uv_close((uv_handle_t *)&r->deadline, NULL);
    uv_close((uv_handle_t *)&r->stopper, NULL);
}

static void record_counter(void *arg, const char *pipeline, const char *stage, const char *name,
                           const char *help, uint64_t value)
{
    struct er_run *r = arg;
    (void)pipeline;
    (void)help;
    if (r->ncounters < (int)(sizeof r->counters / sizeof r->counters[0])) {
        struct er_counter *c = &r->counters[r->ncounters++];
        snprintf(c->stage, sizeof c->stage, "%s", stage);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->value = value;
    }
}

static void begin_stop(struct er_run *r)
{
    if (r->e->stopping)
        return;
    core_engine_stats(r->e, sample_pipeline, NULL, r);
    r->ncounters = 0;
    core_engine_counters(r->e, record_counter, r);
    core_engine_stop(r->e, on_stopped, r);
}

static void on_drained(void *arg)
{
    begin_stop(arg);
}

static void on_deadline(uv_timer_t *t)
{
    struct er_run *r = t->data;
    r->timed_out = 1;
    begin_stop(r);
}

static void on_stopper(uv_timer_t *t)
{
    begin_stop(t->data);
}

int er_run(struct er_env *env, const char *text, int once, int stop_after_ms, int deadline_ms,
           struct er_run *r)
{
    struct diags d = {0};
    struct core_pipeline_def *def = NULL;
    struct vigil_error err = {0};
    memset(r, 0, sizeof *r);
    r->loop_closed = -1;
    if (core_pipeline_load_buffer("test.json", env->dir, text, strlen(text), &env->loader, &def,
                                  &d) != VIGIL_OK) {
        diags_print(&d, stderr);
        diags_free(&d);
        return -1;
    }
    diags_free(&d);
    uv_loop_init(&r->loop);
    /* The pipeline's settings.http configure the shared client, as in
     * `vigil run`. */
    struct core_engine_config cfg = {.log = &env->log, .loader = &env->loader, .workers = 2,
                                     .once = once, .state_dir = env->dir,
                                     .http = &def->settings.http, .on_drained = on_drained,
                                     .arg = r};
    if (core_engine_create(&r->loop, &cfg, &r->e, &err) != VIGIL_OK)
        return -1;
    uv_timer_init(&r->loop, &r->sampler);
    uv_timer_init(&r->loop, &r->deadline);
    uv_timer_init(&r->loop, &r->stopper);
    r->sampler.data = r->deadline.data = r->stopper.data = r;
    struct core_pipeline *pl;
    if (core_engine_add(r->e, def, &pl, &err) != VIGIL_OK ||
        core_pipeline_start(pl, &err) != VIGIL_OK) {
        fprintf(stderr, "    %s\n", err.msg);
        begin_stop(r);
    } else {
        uv_timer_start(&r->sampler, on_sample, 1, 1);
        uv_timer_start(&r->deadline, on_deadline, (uint64_t)(deadline_ms > 0 ? deadline_ms : 60000),
                       0);
        if (stop_after_ms > 0)
            uv_timer_start(&r->stopper, on_stopper, (uint64_t)stop_after_ms, 0);
    }
    uv_run(&r->loop, UV_RUN_DEFAULT);
    core_engine_free(r->e);
    r->loop_closed = uv_loop_close(&r->loop);
    return r->stopped && r->loop_closed == 0 ? 0 : -1;
}

const struct core_stage_stats *er_stage(const struct er_run *r, const char *id)
{
    static const struct core_stage_stats none;
    for (int i = 0; i < r->nstages; i++) {
        if (strcmp(r->stages[i].id, id) == 0)
            return &r->stages[i].s;
    }
    return &none;
}

uint64_t er_counter(const struct er_run *r, const char *stage, const char *name)
{
    for (int i = 0; i < r->ncounters; i++) {
        if (strcmp(r->counters[i].stage, stage) == 0 && strcmp(r->counters[i].name, name) == 0)
            return r->counters[i].value;
    }
    return 0;
}

struct er_lines er_read_lines(const struct er_env *env, const char *name)
{
    struct er_lines l = {0, 0, json_object(), json_array()};
    char path[512];
    snprintf(path, sizeof path, "%s/%s", env->dir, name);
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (f && (n = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        l.n++;
        if (json_object_get(l.set, line))
            l.dups++;
        json_object_set_new(l.set, line, json_true());
        json_array_append_new(l.list, json_string(line));
    }
    free(line);
    if (f)
        fclose(f);
    return l;
}

void er_lines_free(struct er_lines *l)
{
    json_decref(l->set);
    json_decref(l->list);
    l->set = l->list = NULL;
}

void er_remove(const struct er_env *env, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", env->dir, name);
    unlink(path);
}

void er_write(const struct er_env *env, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", env->dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}
