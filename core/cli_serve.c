/*
 * vigil serve - run the daemon: every configured pipeline, the HTTP API,
 * reload on SIGHUP, graceful stop on SIGTERM/SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#ifdef VIGIL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cli.h"
#include "daemon.h"

static const char serve_usage[] =
    "Usage: vigil serve --config FILE\n"
    "\n"
    "Run the configured pipelines with the HTTP API (docs/server.md, docs/api.md).\n"
    "SIGHUP (or POST /api/v1/reload) reloads the configuration: it is validated\n"
    "completely first and applied only if valid. SIGTERM or SIGINT stops:\n"
    "sources stop, documents drain, the outbox flushes; a second signal exits\n"
    "at once.\n";

struct serve_ctx {
    struct cli_globals *g;
    struct core_daemon *d;
    uv_signal_t sigint, sigterm, sighup;
    int signals;
    int stopped;
    uint64_t lost;
};

static void notify(const char *state)
{
#ifdef VIGIL_HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void on_stopped(void *arg, uint64_t lost)
{
    struct serve_ctx *s = arg;
    s->stopped = 1;
    s->lost = lost;
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve_ctx *s = h->data;
    if (signum == SIGHUP) {
        notify("RELOADING=1");
        json_t *report = NULL;
        core_daemon_reload(s->d, &report);
        json_decref(report);
        notify("READY=1");
        return;
    }
    if (++s->signals > 1) {
        core_log_write(&s->g->log, VIGIL_LOG_WARN, NULL, "serve",
                       "second signal: exiting now without draining");
        _exit(CLI_INTERRUPTED);
    }
    core_log_write(&s->g->log, VIGIL_LOG_INFO, NULL, "serve",
                   "%s received: stopping (send it again to exit at once)",
                   signum == SIGINT ? "SIGINT" : "SIGTERM");
    notify("STOPPING=1");
    core_daemon_stop(s->d, on_stopped, s);
}

/* 1,000 slow clients need 1,000 descriptors: raise the soft limit to the
 * hard one. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cli_serve(struct cli_globals *g, int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(serve_usage, stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
        } else {
            fprintf(stderr, "vigil serve: unexpected argument '%s'\n\n%s", argv[i], serve_usage);
            return CLI_USAGE;
        }
    }
    if (!config) {
        fputs(serve_usage, stderr);
        return CLI_USAGE;
    }

    struct core_loader loader;
    struct diags d = {0};
    struct core_daemon_plan *plan = NULL;
    cli_loader_init(g, &loader);
    if (core_daemon_plan_load(config, &loader, &plan, &d) != VIGIL_OK) {
        diags_print(&d, stderr);
        fprintf(stderr, "%s: %zu error%s; nothing was started\n", config, diags_count(&d),
                diags_count(&d) == 1 ? "" : "s");
        diags_free(&d);
        core_loader_close(&loader);
        return CLI_INVALID;
    }
    diags_free(&d);
    g->log.level = plan->cfg.log_level;
    g->log.format = plan->cfg.log_format;

    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct serve_ctx s = {.g = g};
    uv_signal_init(&loop, &s.sigint);
    uv_signal_init(&loop, &s.sigterm);
    uv_signal_init(&loop, &s.sighup);
    s.sigint.data = s.sigterm.data = s.sighup.data = &s;
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sighup, on_signal, SIGHUP);

    struct vigil_error err = {0};
    int rc = CLI_OK;
    if (core_daemon_start(&loop, &g->log, &loader, plan, &s.d, &err) != VIGIL_OK) {
        core_log_error(&g->log, "serve", "%s", err.msg);
        rc = CLI_FAILURE;
        if (s.d)
            core_daemon_stop(s.d, on_stopped, &s);
        else
            on_stopped(&s, 0);
    } else {
        notify("READY=1");
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (rc == CLI_OK && s.lost)
        rc = CLI_LOST;
    core_daemon_free(s.d);
    if (uv_loop_close(&loop) != 0)
        core_log_warn(&g->log, "serve", "event loop closed with handles still open");
    core_loader_close(&loader);
    return rc;
}
