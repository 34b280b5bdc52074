#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int proc_start(struct proc *p, char *const argv[])
{
    int in[2], out[2], err[2];
    memset(p, 0, sizeof *p);
    p->status = -1;
    p->in_fd = p->out_fd = p->err_fd = -1;
    if (pipe(in) || pipe(out) || pipe(err))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]);
        close(out[0]);
        close(err[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->err_fd = err[0];
    fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    p->out = calloc(1, 1);
    p->err = calloc(1, 1);
    return 0;
}

int proc_write(struct proc *p, const void *data, size_t len)
{
    const char *d = data;
    while (len > 0 && p->in_fd >= 0) {
        ssize_t w = write(p->in_fd, d, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        d += w;
        len -= (size_t)w;
    }
    return 0;
}

void proc_close_stdin(struct proc *p)
{
    if (p->in_fd >= 0)
        close(p->in_fd);
    p->in_fd = -1;
}

static void drain(int *fd, char **buf, size_t *len)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n > 0) {
            char *nb = realloc(*buf, *len + (size_t)n + 1);
            if (!nb)
                return;
            memcpy(nb + *len, chunk, (size_t)n);
            *len += (size_t)n;
            nb[*len] = '\0';
            *buf = nb;
        } else {
            if (n == 0) {
                close(*fd);
                *fd = -1;
            }
            return;
        }
    }
}

void proc_pump(struct proc *p, int ms)
{
    struct pollfd fds[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
    if (p->out_fd < 0 && p->err_fd < 0)
        return;
    if (poll(fds, 2, ms) > 0) {
        if (p->out_fd >= 0)
            drain(&p->out_fd, &p->out, &p->out_len);
        if (p->err_fd >= 0)
            drain(&p->err_fd, &p->err, &p->err_len);
    }
}

static int reap(struct proc *p, int options)
{
    int st;
    if (p->status >= 0)
        return p->status;
    pid_t r = waitpid(p->pid, &st, options);
    if (r == p->pid)
        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return p->status;
}

int proc_wait(struct proc *p, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (reap(p, WNOHANG) < 0 && now_ms() < end)
        proc_pump(p, 20);
    if (p->status < 0) {
        kill(p->pid, SIGKILL);
        reap(p, 0);
    }
    while (p->out_fd >= 0 || p->err_fd >= 0)
        proc_pump(p, 100);
    return p->status;
}

int proc_wait_for(struct proc *p, const char *text, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (strstr(p->out, text) || strstr(p->err, text))
            return 1;
        if (p->out_fd < 0 && p->err_fd < 0)
            break;
        proc_pump(p, 20);
    }
    return strstr(p->out, text) || strstr(p->err, text);
}

void proc_free(struct proc *p)
{
    proc_close_stdin(p);
    if (p->status < 0 && p->pid > 0) {
        kill(p->pid, SIGKILL);
        reap(p, 0);
    }
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    free(p->out);
    free(p->err);
    memset(p, 0, sizeof *p);
}

int proc_run(char *const argv[], const char *input, int timeout_ms, struct proc *p)
{
    if (proc_start(p, argv) != 0)
        return -1;
    if (input)
        proc_write(p, input, strlen(input));
    proc_close_stdin(p);
    proc_wait(p, timeout_ms);
    return 0;
}
