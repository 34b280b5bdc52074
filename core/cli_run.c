#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "cli.h"
#include "engine.h"
#include "pipeline.h"

static const char run_usage[] =
    "Usage: vigil run PIPELINE.json [--once] [--workers N] [--state-dir DIR]\n"
    "                 [--progress SECONDS]\n"
    "\n"
    "Run a pipeline until SIGINT or SIGTERM (a second signal exits at once).\n"
    "\n"
    "  --once            one pass of every source, wait until every document is\n"
    "                    delivered, then exit (0 when nothing was lost)\n"
    "  --workers N       worker threads for transforms (default: the pipeline's\n"
    "                    settings.workers, else one per CPU; 0 = loop thread)\n"
    "  --state-dir DIR   where the state database lives (default: settings.state_dir,\n"
    "                    $VIGIL_STATE_DIR, $XDG_STATE_HOME/vigil, ~/.local/state/vigil)\n"
    "  --progress S      print counts every S seconds (default 5 with --once, 60\n"
    "                    otherwise; 0 = never)\n";

struct run_ctx {
    struct cli_globals *g;
    uv_loop_t loop;
    struct core_engine *engine;
    uv_signal_t sigint, sigterm;
    uv_timer_t progress;
    int signals;
    int stopping;
    int stopped;
    uint64_t lost;
    uint64_t failed;
};

static void print_stage(void *arg, const struct core_stage_stats *ss)
{
    struct run_ctx *r = arg;
    r->failed += ss->failed;
    if (ss->kind == VIGIL_SOURCE)
        core_log_write(&r->g->log, VIGIL_LOG_INFO, NULL, "summary", "  %-9s %-18s emitted %llu",
                       "source", ss->id, (unsigned long long)ss->out);
    else if (ss->kind == VIGIL_TRANSFORM)
        core_log_write(&r->g->log, VIGIL_LOG_INFO, NULL, "summary",
                       "  %-9s %-18s in %llu, out %llu, dropped %llu, errors %llu", "transform",
                       ss->id, (unsigned long long)ss->in, (unsigned long long)ss->out,
                       (unsigned long long)ss->dropped, (unsigned long long)ss->errors);
    else
        core_log_write(&r->g->log, VIGIL_LOG_INFO, NULL, "summary",
                       "  %-9s %-18s in %llu, delivered %llu, retries %llu, failed %llu",
                       "sink", ss->id, (unsigned long long)ss->in, (unsigned long long)ss->out,
                       (unsigned long long)ss->retries, (unsigned long long)ss->failed);
}

static void print_pipeline(void *arg, const struct core_pipeline_stats *ps)
{
    struct run_ctx *r = arg;
    core_log_write(&r->g->log, VIGIL_LOG_INFO, ps->name, "summary",
                   "%llu documents emitted, %llu finished, %llu in flight, %llu lost",
                   (unsigned long long)ps->emitted, (unsigned long long)ps->finished,
                   (unsigned long long)ps->inflight, (unsigned long long)ps->lost);
}

static void progress_pipeline(void *arg, const struct core_pipeline_stats *ps)
{
    struct run_ctx *r = arg;
    core_log_write(&r->g->log, VIGIL_LOG_INFO, ps->name, "progress",
                   "%llu documents in, %llu done, %llu in flight%s",
                   (unsigned long long)ps->emitted, (unsigned long long)ps->finished,
                   (unsigned long long)ps->inflight, ps->paused ? " (sources paused)" : "");
}

static void on_progress(uv_timer_t *t)
{
    struct run_ctx *r = t->data;
    core_engine_stats(r->engine, progress_pipeline, NULL, r);
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void on_stopped(void *arg, uint64_t lost)
{
    struct run_ctx *r = arg;
    r->lost = lost;
    /* Counts after the drain: what was finally delivered, failed or lost. */
    core_engine_stats(r->engine, print_pipeline, print_stage, r);
    r->stopped = 1;
    uv_close((uv_handle_t *)&r->sigint, close_cb);
    uv_close((uv_handle_t *)&r->sigterm, close_cb);
    uv_close((uv_handle_t *)&r->progress, close_cb);
}

static void begin_stop(struct run_ctx *r)
{
    if (r->stopping)
        return;
    r->stopping = 1;
    uv_timer_stop(&r->progress);
    core_engine_stop(r->engine, on_stopped, r);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct run_ctx *r = s->data;
    if (++r->signals > 1) {
        /* The user asked twice: do not make them wait for the drain. */
        core_log_write(&r->g->log, VIGIL_LOG_WARN, NULL, "run",
                       "second signal: exiting now without draining");
        _exit(CLI_INTERRUPTED);
    }
    core_log_write(&r->g->log, VIGIL_LOG_INFO, NULL, "run",
                   "%s received: stopping (send it again to exit at once)",
                   signum == SIGINT ? "SIGINT" : "SIGTERM");
    begin_stop(r);
}

static void on_drained(void *arg)
{
    struct run_ctx *r = arg;
    core_log_write(&r->g->log, VIGIL_LOG_INFO, NULL, "run", "one pass done: every document left the pipeline");
    begin_stop(r);
}

int cli_run(struct cli_globals *g, int argc, char **argv)
{
    const char *file = NULL;
    const char *state_dir = NULL;
    int once = 0;
    long workers = -2;
    long progress = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(run_usage, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--once")) {
            once = 1;
        } else if ((!strcmp(a, "--workers") || !strcmp(a, "--state-dir") ||
                    !strcmp(a, "--progress")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--state-dir")) {
                state_dir = v;
            } else {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 0 || n > 100000) {
                    fprintf(stderr, "vigil run: %s expects a number, got '%s'\n", a, v);
                    return CLI_USAGE;
                }
                if (!strcmp(a, "--workers"))
                    workers = n;
                else
                    progress = n;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "vigil run: unknown option '%s'\n\n%s", a, run_usage);
            return CLI_USAGE;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "vigil run: one pipeline file at a time (got '%s' and '%s')\n", file,
                    a);
            return CLI_USAGE;
        }
    }
    if (!file) {
        fputs(run_usage, stderr);
        return CLI_USAGE;
    }

    struct core_loader loader;
    struct diags d = {0};
    struct core_pipeline_def *def = NULL;
    cli_loader_init(g, &loader);
    if (core_pipeline_load(file, &loader, &def, &d) != VIGIL_OK) {
        diags_print(&d, stderr);
        fprintf(stderr, "%s: %zu error%s; nothing was started\n", file, diags_count(&d),
                diags_count(&d) == 1 ? "" : "s");
        diags_free(&d);
        core_loader_close(&loader);
        return CLI_INVALID;
    }
    diags_free(&d);
    if (def->nsources == 0) {
        fprintf(stderr,
                "%s: the pipeline has no sources, so `vigil run` has nothing to do "
                "(push-only pipelines run under `vigil serve`)\n",
                file);
        core_pipeline_free(def);
        core_loader_close(&loader);
        return CLI_INVALID;
    }

    signal(SIGPIPE, SIG_IGN);
    struct run_ctx *r = calloc(1, sizeof *r);
    r->g = g;
    uv_loop_init(&r->loop);
    struct core_engine_config cfg = {
        .log = &g->log,
        .loader = &loader,
        .workers = workers >= 0 ? (int)workers : (int)def->settings.workers,
        .once = once,
        .state_dir = state_dir ? state_dir : def->settings.state_dir,
        .http = &def->settings.http,
        .cluster = def->settings.cluster_json ? &def->settings.cluster : NULL,
        .on_drained = on_drained,
        .arg = r,
    };
    struct vigil_error err = {0};
    int rc = CLI_OK;
    if (core_engine_create(&r->loop, &cfg, &r->engine, &err) != VIGIL_OK) {
        core_log_error(&g->log, "run", "%s", err.msg);
        core_pipeline_free(def);
        rc = CLI_FAILURE;
        goto out_loop;
    }
    /* Signals are handled before anything starts: a signal that arrives
     * as soon as the pipeline reports it started must drain it, not kill
     * the process. */
    uv_signal_init(&r->loop, &r->sigint);
    uv_signal_init(&r->loop, &r->sigterm);
    r->sigint.data = r->sigterm.data = r;
    uv_signal_start(&r->sigint, on_signal, SIGINT);
    uv_signal_start(&r->sigterm, on_signal, SIGTERM);
    uv_timer_init(&r->loop, &r->progress);
    r->progress.data = r;

    struct core_pipeline *pl;
    if (core_engine_add(r->engine, def, &pl, &err) != VIGIL_OK ||
        core_pipeline_start(pl, &err) != VIGIL_OK) {
        core_log_error(&g->log, "run", "%s", err.msg);
        rc = CLI_FAILURE;
        r->stopping = 1;
        core_engine_stop(r->engine, on_stopped, r);
        uv_run(&r->loop, UV_RUN_DEFAULT);
        goto out_engine;
    }

    if (progress < 0)
        progress = once ? 5 : 60;
    if (progress > 0) {
        uv_timer_start(&r->progress, on_progress, (uint64_t)progress * 1000,
                       (uint64_t)progress * 1000);
        uv_unref((uv_handle_t *)&r->progress);
    }

    uv_run(&r->loop, UV_RUN_DEFAULT);
    if (!r->stopped) {
        /* The loop ran dry without a stop (every source finished and is
         * not scheduled again): stop cleanly now. */
        begin_stop(r);
        uv_run(&r->loop, UV_RUN_DEFAULT);
    }
    if (r->lost || r->failed)
        rc = CLI_LOST;
out_engine:
    uv_run(&r->loop, UV_RUN_DEFAULT);
    core_engine_free(r->engine);
out_loop:
    if (uv_loop_close(&r->loop) != 0)
        core_log_warn(&g->log, "run", "event loop closed with handles still open");
    core_loader_close(&loader);
    free(r);
    return rc;
}
