/*
 * exec sink - run a command for each alert (or document): the payload JSON
 * on its stdin, the delivery in VIGIL_* environment variables.
 *
 * The command is an argv list, run directly (no shell unless the user
 * writes ["/bin/sh", "-c", "..."]), with uv_spawn on the loop: nothing
 * here blocks. Exit code 0 is delivered, 75 (EX_TEMPFAIL, sysexits.h) and
 * deaths by signal are retried, anything else failed; the last lines of
 * stderr go into the reason. A command that outlives `timeout` gets SIGTERM,
 * then SIGKILL after `kill_grace` - sent to its whole process group (it
 * runs in a session of its own), so a shell's children die too - and the
 * delivery is retried. How many run at once is the stage's max_inflight.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "chan_payload.h"
#include "exec_tail.h"
#include "vigil/plugin.h"

#define EXEC_EX_TEMPFAIL 75
#define EXEC_DRAIN_MS 200 /* stderr read after exit, when a grandchild holds it */
#define EXEC_REASON_LINES 5
#define EXEC_REASON_BYTES 400
#define EXEC_ENV_MAX 4096
#define EXEC_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

extern char **environ;

struct exec_conf {
    struct vigil_strlist argv;
    int64_t timeout_ms;
    int64_t grace_ms;
    json_t *env;
    int inherit_env;
    char *cwd;
};

static const struct vigil_option exec_options[] = {
    {"argv", VIGIL_OPT_STRLIST, NULL, VIGIL_OPT_REQUIRED, offsetof(struct exec_conf, argv), 1, 256,
     NULL, "command and arguments, run without a shell (PATH is searched)"},
    {"timeout", VIGIL_OPT_DURATION, "30s", 0, offsetof(struct exec_conf, timeout_ms), 1, 3600000,
     NULL, "time a run may take; then SIGTERM, and the delivery is retried"},
    {"kill_grace", VIGIL_OPT_DURATION, "5s", 0, offsetof(struct exec_conf, grace_ms), 1, 600000,
     NULL, "time between SIGTERM and SIGKILL"},
    {"env", VIGIL_OPT_JSON, NULL, 0, offsetof(struct exec_conf, env), VIGIL_NOBOUNDS, NULL,
     "extra environment variables: {\"NAME\": \"value\"}"},
    {"inherit_env", VIGIL_OPT_BOOL, "true", 0, offsetof(struct exec_conf, inherit_env),
     VIGIL_NOBOUNDS, NULL, "pass vigil's own environment (false: only PATH, env and VIGIL_*)"},
    {"cwd", VIGIL_OPT_STR, NULL, VIGIL_OPT_PATH, offsetof(struct exec_conf, cwd), VIGIL_NOBOUNDS,
     NULL, "working directory (default: vigil's)"},
    {NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL}};

struct exec_sink;

struct job {
    struct job *prev, *next;
    struct exec_sink *e; /* NULL once orphaned by destroy */
    uv_process_t proc;
    uv_pipe_t in, err;
    uv_timer_t timer;
    uv_write_t wreq;
    int handles; /* libuv handles not yet closed */
    int pid;
    char *payload; /* what goes to stdin */
    size_t payload_len;
    struct exec_tail tail;
    int exited, err_closed, answered;
    int64_t exit_status;
    int term_signal;
    int timed_out;   /* SIGTERM sent because of the timeout */
    int killed;      /* SIGKILL sent */
    int canceled;    /* stop() ended it */
    char rbuf[4096]; /* stderr reads land here, then go to tail */
    vigil_deliver_cb done;
    void *arg;
    int alert;
    char id[128];
};

struct exec_sink {
    const struct vigil_host *host;
    struct vigil_instance *ins;
    const struct exec_conf *conf;
    char **argv;     /* NULL-terminated view of conf->argv */
    char **base_env; /* inherited + option env, without VIGIL_* we set */
    size_t nbase;
    struct job *jobs;
    int stopping;
    struct vigil_counter *sent, *retried, *failed, *timeouts, *signals, *spawn_errors, *canceled;
};

/* ------------------------------------------------------------------------
 * Environment
 * --------------------------------------------------------------------- */

static int env_name_ok(const char *n)
{
    if (!*n || (*n >= '0' && *n <= '9'))
        return 0;
    for (; *n; n++) {
        if (!((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') ||
              *n == '_'))
            return 0;
    }
    return 1;
}

/* Names set per delivery (never inherited, never from options). */
static const char *const delivery_vars[] = {
    "VIGIL_ALERT_ID", "VIGIL_DELIVERY_KIND", "VIGIL_KIND",     "VIGIL_ATTEMPT", "VIGIL_PIPELINE",
    "VIGIL_STAGE",    "VIGIL_TITLE",         "VIGIL_SEVERITY", "VIGIL_URL",     NULL};

/* entry is "NAME=value" or just "NAME". */
static int ours(const char *entry)
{
    size_t n = strcspn(entry, "=");
    for (const char *const *v = delivery_vars; *v; v++) {
        if (strlen(*v) == n && strncmp(entry, *v, n) == 0)
            return 1;
    }
    return 0;
}

static char *kv(const char *name, const char *value)
{
    size_t a = strlen(name), b = strlen(value);
    char *s = malloc(a + b + 2);
    if (s) {
        memcpy(s, name, a);
        s[a] = '=';
        memcpy(s + a + 1, value, b + 1);
    }
    return s;
}

static void free_env(char **env)
{
    for (char **p = env; p && *p; p++)
        free(*p);
    free(env);
}

static int build_base_env(struct exec_sink *e, struct vigil_error *err)
{
    const struct exec_conf *c = e->conf;
    size_t n = 0;
    for (char **p = environ; p && *p; p++)
        n++;
    size_t extra = json_object_size(c->env);
    if (c->env && !json_is_object(c->env))
        return vigil_error_set(err, VIGIL_EINVAL,
                               "option 'env': expected an object {\"NAME\": \"value\"}");
    if (n + extra + 16 > EXEC_ENV_MAX)
        return vigil_error_set(err, VIGIL_ETOOBIG, "environment larger than %d entries",
                               EXEC_ENV_MAX);
    e->base_env = calloc(n + extra + 1, sizeof *e->base_env);
    if (!e->base_env)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    size_t k = 0;
    for (char **p = environ; p && *p; p++) {
        if (ours(*p))
            continue;
        if (!c->inherit_env && strncmp(*p, "PATH=", 5) != 0)
            continue;
        /* an option variable of the same name wins */
        const char *eq = strchr(*p, '=');
        if (eq && c->env) {
            char name[256];
            size_t nl = (size_t)(eq - *p);
            if (nl < sizeof name) {
                memcpy(name, *p, nl);
                name[nl] = '\0';
                if (json_object_get(c->env, name))
                    continue;
            }
        }
        if (!(e->base_env[k++] = strdup(*p)))
            return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    const char *name;
    json_t *v;
    json_object_foreach(c->env, name, v)
    {
        if (!env_name_ok(name))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'env': '%.64s' is not a variable name (letters, "
                                   "digits, _)",
                                   name);
        if (ours(name))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'env': %.64s is set by the plugin for each delivery",
                                   name);
        if (!json_is_string(v))
            return vigil_error_set(err, VIGIL_EINVAL,
                                   "option 'env': the value of '%.64s' must be a string", name);
        if (!(e->base_env[k++] = kv(name, json_string_value(v))))
            return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    e->nbase = k;
    return VIGIL_OK;
}

/* base env + the delivery's VIGIL_* variables; malloc'd strings. */
static char **delivery_env(struct exec_sink *e, const struct vigil_delivery *d,
                           const struct chan_view *v)
{
    static const char *const kinds[] = {"document", "alert", "update", "digest"};
    char **env = calloc(e->nbase + 12, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    int oom = 0;
    for (size_t i = 0; i < e->nbase && !oom; i++)
        oom = !(env[k++] = strdup(e->base_env[i]));
    char attempt[16], title[1024], url[2048], id[512];
    snprintf(attempt, sizeof attempt, "%u", d->attempt);
    const char *pairs[][2] = {
        {"VIGIL_ALERT_ID", chan_oneline(d->id ? d->id : "", 400, id, sizeof id)},
        {"VIGIL_DELIVERY_KIND", d->kind ? d->kind : "document"},
        {"VIGIL_KIND", kinds[v->kind]},
        {"VIGIL_ATTEMPT", attempt},
        {"VIGIL_PIPELINE", e->host->pipeline_name(e->ins)},
        {"VIGIL_STAGE", e->host->stage_id(e->ins)},
        {"VIGIL_TITLE", chan_oneline(v->title, 1000, title, sizeof title)},
        {"VIGIL_SEVERITY", v->severity},
        {"VIGIL_URL", v->url ? chan_oneline(v->url, 2000, url, sizeof url) : NULL},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0] && !oom; i++) {
        if (pairs[i][1])
            oom = !(env[k++] = kv(pairs[i][0], pairs[i][1]));
    }
    if (oom) {
        free_env(env);
        return NULL;
    }
    return env;
}

/* ------------------------------------------------------------------------
 * Jobs
 * --------------------------------------------------------------------- */

static void count(struct exec_sink *e, struct vigil_counter *c)
{
    if (e && c)
        e->host->counter_add(c, 1);
}

static void job_closed(uv_handle_t *h)
{
    struct job *j = h->data;
    if (--j->handles == 0) {
        free(j->payload);
        free(j);
    }
}

static void close_handle(struct job *j, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, job_closed);
}

static void unlink_job(struct job *j)
{
    struct exec_sink *e = j->e;
    if (!e)
        return;
    if (j->prev)
        j->prev->next = j->next;
    else
        e->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static const char *signame(int sig)
{
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGKILL: return "SIGKILL";
    case SIGINT: return "SIGINT";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGPIPE: return "SIGPIPE";
    case SIGHUP: return "SIGHUP";
    case SIGBUS: return "SIGBUS";
    default: return "signal";
    }
}

/* Answer the delivery once the process exited and stderr is read (or
 * given up on); then release every handle. */
static void finish(struct job *j)
{
    if (j->answered || !j->exited || !j->err_closed)
        return;
    j->answered = 1;
    struct exec_sink *e = j->e;
    char tail[EXEC_REASON_BYTES + 8], reason[EXEC_REASON_BYTES + 256];
    exec_tail_lines(&j->tail, EXEC_REASON_LINES, EXEC_REASON_BYTES, tail, sizeof tail);
    const char *sep = tail[0] ? "; stderr: " : "";
    int status;
    if (j->canceled) {
        status = VIGIL_RETRY;
        snprintf(reason, sizeof reason, "canceled by shutdown");
        count(e, e ? e->canceled : NULL);
    } else if (j->timed_out) {
        status = VIGIL_RETRY;
        snprintf(reason, sizeof reason, "timed out after %lld ms (%s sent)%s%s",
                 e ? (long long)e->conf->timeout_ms : 0LL, j->killed ? "SIGKILL" : "SIGTERM", sep,
                 tail);
        count(e, e ? e->timeouts : NULL);
    } else if (j->term_signal) {
        status = VIGIL_RETRY;
        snprintf(reason, sizeof reason, "killed by %s (%d)%s%s", signame(j->term_signal),
                 j->term_signal, sep, tail);
        count(e, e ? e->signals : NULL);
    } else if (j->exit_status == 0) {
        status = VIGIL_DELIVERED;
        reason[0] = '\0';
    } else if (j->exit_status == EXEC_EX_TEMPFAIL) {
        status = VIGIL_RETRY;
        snprintf(reason, sizeof reason, "exit code 75 (EX_TEMPFAIL)%s%s", sep, tail);
    } else {
        status = VIGIL_FAILED;
        snprintf(reason, sizeof reason, "exit code %lld%s%s", (long long)j->exit_status, sep, tail);
    }
    if (e) {
        count(e, status == VIGIL_DELIVERED ? e->sent
                 : status == VIGIL_RETRY   ? e->retried
                                           : e->failed);
        const char *noun = j->alert ? "alert" : "document";
        if (status == VIGIL_DELIVERED)
            e->host->log(e->ins, j->alert ? VIGIL_LOG_INFO : VIGIL_LOG_DEBUG,
                         "exec: %s %s delivered to %s (pid %d, exit 0)", noun, j->id, e->argv[0],
                         j->pid);
        else
            e->host->log(e->ins, status == VIGIL_RETRY ? VIGIL_LOG_WARN : VIGIL_LOG_ERROR,
                         "exec: %s %s: %s (pid %d)%s: %s", noun, j->id, e->argv[0], j->pid,
                         status == VIGIL_RETRY ? ", will retry" : "", reason);
    }
    unlink_job(j);
    uv_timer_stop(&j->timer);
    close_handle(j, (uv_handle_t *)&j->timer);
    close_handle(j, (uv_handle_t *)&j->proc);
    close_handle(j, (uv_handle_t *)&j->in);
    close_handle(j, (uv_handle_t *)&j->err);
    if (e)
        j->done(j->arg, status, -1, status == VIGIL_DELIVERED ? NULL : reason);
}

static void after_exit_drain(struct job *j)
{
    if (!j->answered && j->exited && !j->err_closed) {
        uv_read_stop((uv_stream_t *)&j->err);
        j->err_closed = 1;
        finish(j);
    }
}

static void on_drain_timer(uv_timer_t *t)
{
    after_exit_drain(t->data);
}

static void on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
    struct job *j = p->data;
    j->exited = 1;
    j->exit_status = exit_status;
    j->term_signal = term_signal;
    /* stderr usually ends with the process; a grandchild that keeps it
     * open gets a short while, then is left behind */
    if (!j->err_closed)
        uv_timer_start(&j->timer, on_drain_timer, EXEC_DRAIN_MS, 0);
    finish(j);
}

static void kill_group(struct job *j, int sig)
{
    if (j->pid <= 0)
        return; /* kill(-0) would be our own group */
    /* the child leads its own process group (UV_PROCESS_DETACHED) */
    if (uv_kill(-j->pid, sig) != 0)
        uv_process_kill(&j->proc, sig);
}

static void on_kill_timer(uv_timer_t *t)
{
    struct job *j = t->data;
    if (j->exited) {
        after_exit_drain(j);
        return;
    }
    if (!j->timed_out && !j->canceled) {
        /* the run took too long: ask it to stop, then insist */
        j->timed_out = 1;
        kill_group(j, SIGTERM);
        uv_timer_start(t, on_kill_timer, (uint64_t)(j->e ? j->e->conf->grace_ms : 1000), 0);
        return;
    }
    j->killed = 1;
    kill_group(j, SIGKILL);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct job *j = h->data;
    (void)suggested;
    b->base = j->rbuf;
    b->len = sizeof j->rbuf;
}

static void on_stderr(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct job *j = s->data;
    if (n > 0) {
        exec_tail_add(&j->tail, b->base, (size_t)n);
        return;
    }
    if (n < 0) {
        uv_read_stop(s);
        j->err_closed = 1;
        finish(j);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct job *j = w->data;
    (void)status; /* EPIPE: the command did not read its stdin; its exit code says the rest */
    close_handle(j, (uv_handle_t *)&j->in);
}

static int spawn_error_status(int rc)
{
    switch (rc) {
    case UV_EAGAIN:
    case UV_EMFILE:
    case UV_ENFILE:
    case UV_ENOMEM: return VIGIL_RETRY;
    default: return VIGIL_FAILED; /* ENOENT, EACCES, ENOEXEC...: fix the pipeline */
    }
}

static int exec_deliver(void *state, const struct vigil_delivery *d, vigil_deliver_cb done,
                        void *arg)
{
    struct exec_sink *e = state;
    if (e->stopping)
        return VIGIL_ESTATE;
    struct chan_view v;
    chan_view_init(&v, d->payload, d->kind);
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return VIGIL_ENOMEM;
    const json_t *html = json_object_get(d->payload, "html");
    if (html && v.kind == CHAN_DOCUMENT) {
        json_t *copy = json_copy((json_t *)d->payload);
        if (copy)
            json_object_del(copy, "html");
        j->payload = copy ? json_dumps(copy, EXEC_JSON_FLAGS) : NULL;
        json_decref(copy);
    } else {
        j->payload = json_dumps(d->payload, EXEC_JSON_FLAGS);
    }
    char **env = j->payload ? delivery_env(e, d, &v) : NULL;
    if (!env) {
        free(j->payload);
        free(j);
        return VIGIL_ENOMEM;
    }
    j->payload_len = strlen(j->payload);
    j->e = e;
    j->done = done;
    j->arg = arg;
    j->alert = d->kind && strcmp(d->kind, "alert") == 0;
    chan_oneline(d->id ? d->id : "?", 100, j->id, sizeof j->id);
    exec_tail_init(&j->tail);

    uv_loop_t *loop = e->host->loop(e->ins);
    uv_pipe_init(loop, &j->in, 0);
    uv_pipe_init(loop, &j->err, 0);
    uv_timer_init(loop, &j->timer);
    j->in.data = j->err.data = j->timer.data = j->proc.data = j;
    j->wreq.data = j;
    j->handles = 3;

    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&j->in;
    stdio[1].flags = UV_IGNORE;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&j->err;
    uv_process_options_t opt = {0};
    opt.exit_cb = on_exit_cb;
    opt.file = e->argv[0];
    opt.args = e->argv;
    opt.env = env;
    opt.cwd = e->conf->cwd;
    opt.flags = UV_PROCESS_DETACHED;
    opt.stdio_count = 3;
    opt.stdio = stdio;
    int rc = uv_spawn(loop, &j->proc, &opt);
    free_env(env);
    j->handles++; /* the process handle needs closing even when spawn failed */
    if (rc != 0) {
        int status = spawn_error_status(rc);
        char reason[512];
        snprintf(reason, sizeof reason, "cannot run %s: %s", e->argv[0], uv_strerror(rc));
        count(e, e->spawn_errors);
        count(e, status == VIGIL_RETRY ? e->retried : e->failed);
        e->host->log(e->ins, VIGIL_LOG_ERROR, "exec: %s %s: %s", j->alert ? "alert" : "document",
                     j->id, reason);
        j->answered = 1;
        j->e = NULL;
        close_handle(j, (uv_handle_t *)&j->timer);
        close_handle(j, (uv_handle_t *)&j->proc);
        close_handle(j, (uv_handle_t *)&j->in);
        close_handle(j, (uv_handle_t *)&j->err);
        done(arg, status, -1, reason);
        return VIGIL_OK;
    }
    j->pid = j->proc.pid;
    uv_buf_t b = uv_buf_init(j->payload, (unsigned int)j->payload_len);
    if (uv_write(&j->wreq, (uv_stream_t *)&j->in, &b, 1, on_written) != 0)
        close_handle(j, (uv_handle_t *)&j->in);
    if (uv_read_start((uv_stream_t *)&j->err, on_alloc, on_stderr) != 0)
        j->err_closed = 1;
    uv_timer_start(&j->timer, on_kill_timer, (uint64_t)e->conf->timeout_ms, 0);
    j->next = e->jobs;
    if (e->jobs)
        e->jobs->prev = j;
    e->jobs = j;
    e->host->log(e->ins, VIGIL_LOG_DEBUG, "exec: %s %s: started %s (pid %d)",
                 j->alert ? "alert" : "document", j->id, e->argv[0], j->pid);
    return VIGIL_OK;
}

/* ------------------------------------------------------------------------
 * Lifecycle
 * --------------------------------------------------------------------- */

static void exec_free(struct exec_sink *e)
{
    free(e->argv);
    free_env(e->base_env);
    free(e);
}

static int exec_create(const struct vigil_host *host, struct vigil_instance *ins, const void *conf,
                       void **state, struct vigil_error *err)
{
    const struct exec_conf *c = conf;
    if (!c->argv.v[0][0])
        return vigil_error_set(err, VIGIL_EINVAL, "option 'argv': the command is empty");
    struct exec_sink *e = calloc(1, sizeof *e);
    if (!e)
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    e->host = host;
    e->ins = ins;
    e->conf = c;
    e->argv = calloc(c->argv.n + 1, sizeof *e->argv);
    if (!e->argv) {
        exec_free(e);
        return vigil_error_set(err, VIGIL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->argv.n; i++)
        e->argv[i] = c->argv.v[i];
    int rc = build_base_env(e, err);
    if (rc != VIGIL_OK) {
        exec_free(e);
        return rc;
    }
    e->sent = host->counter(ins, "sent", "runs that exited 0");
    e->retried = host->counter(ins, "retried", "runs to retry (exit 75, timeout, signal)");
    e->failed = host->counter(ins, "failed", "runs that failed for good");
    e->timeouts = host->counter(ins, "timeout", "runs killed for taking too long");
    e->signals = host->counter(ins, "signal", "runs ended by a signal");
    e->spawn_errors = host->counter(ins, "spawn_error", "commands that could not be started");
    e->canceled = host->counter(ins, "canceled", "runs ended by shutdown");
    host->log(ins, VIGIL_LOG_INFO, "exec: running %s (%zu argument%s, timeout %lld ms)", e->argv[0],
              c->argv.n - 1, c->argv.n == 2 ? "" : "s", (long long)c->timeout_ms);
    *state = e;
    return VIGIL_OK;
}

static void exec_stop(void *state)
{
    struct exec_sink *e = state;
    e->stopping = 1;
    for (struct job *j = e->jobs; j; j = j->next) {
        if (j->exited || j->canceled)
            continue;
        j->canceled = 1;
        kill_group(j, SIGTERM);
        uv_timer_stop(&j->timer);
        uv_timer_start(&j->timer, on_kill_timer, (uint64_t)e->conf->grace_ms, 0);
    }
}

static void exec_destroy(void *state)
{
    struct exec_sink *e = state;
    /* every delivery was answered before destroy; a run still here (the
     * host gave up waiting) ends alone, without calling back */
    for (struct job *j = e->jobs; j; j = j->next) {
        j->e = NULL;
        kill_group(j, SIGKILL);
    }
    exec_free(e);
}

static const struct vigil_plugin exec_plugin = {
    VIGIL_PLUGIN_HEADER,
    .name = "exec",
    .version = "1.0.0",
    .description = "run a command per alert or document, payload JSON on stdin",
    .license = "Apache-2.0",
    .kind = VIGIL_SINK,
    .options = exec_options,
    .conf_size = sizeof(struct exec_conf),
    .create = exec_create,
    .stop = exec_stop,
    .destroy = exec_destroy,
    .deliver = exec_deliver,
};

VIGIL_PLUGIN_EXPORT(exec_plugin)
