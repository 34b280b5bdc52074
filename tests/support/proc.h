/*
 * proc - run the vigil binary (or any program) from a test: capture its
 * output, feed its input, send it signals, bound its run time.
 */
#ifndef VIGIL_TEST_PROC_H
#define VIGIL_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc {
    pid_t pid;
    int in_fd;  /* write end of the child's stdin, -1 when closed */
    int out_fd; /* read end of stdout */
    int err_fd; /* read end of stderr */
    char *out;  /* captured so far (NUL-terminated) */
    char *err;
    size_t out_len, err_len;
    int status; /* exit code, 128+signal when killed, -1 while running */
};

/* Start argv[0] with argv; NULL-terminated. 0 or -1. */
int proc_start(struct proc *p, char *const argv[]);
/* Write to the child's stdin; close it with proc_close_stdin. */
int proc_write(struct proc *p, const void *data, size_t len);
void proc_close_stdin(struct proc *p);
/* Read available output for up to ms milliseconds. */
void proc_pump(struct proc *p, int ms);
/* Wait until the child exits or timeout_ms passes (then SIGKILL it);
 * returns the exit status as above. Output is fully captured. */
int proc_wait(struct proc *p, int timeout_ms);
/* Wait until stdout or stderr contains text (or timeout); 1 if seen. */
int proc_wait_for(struct proc *p, const char *text, int timeout_ms);
void proc_free(struct proc *p);

/* Convenience: run to completion with optional stdin; 0 on start. */
int proc_run(char *const argv[], const char *input, int timeout_ms, struct proc *p);

#endif
