/*
 * core/workers - Vigil's own worker pool for CPU-bound transforms.
 *
 * Not uv_queue_work: libuv's pool is shared with file system and DNS work,
 * and CPU-bound jobs there starve them (libuv#1959). Jobs wait in a bounded
 * queue; when a thread finishes a job it puts it on a completion list and
 * rings one uv_async_t, whose callback (loop thread) drains the whole list,
 * because uv_async_send coalesces.
 *
 * With 0 threads, jobs run on the loop thread (during core_workers_submit's
 * caller's next loop iteration), which keeps `--workers 0` debuggable.
 */
#ifndef VIGIL_CORE_WORKERS_H
#define VIGIL_CORE_WORKERS_H

#include <stddef.h>

#include <uv.h>

struct core_job {
    struct core_job *next; /* owned by the pool while queued */
    /* Worker thread (index 0..n-1; 0 when inline). */
    void (*run)(struct core_job *job, int worker);
    /* Loop thread, after run returned. */
    void (*done)(struct core_job *job);
};

struct core_workers;

/* Start nthreads (0 = inline) threads with room for max_queued waiting
 * jobs. */
int core_workers_create(uv_loop_t *loop, int nthreads, size_t max_queued,
                        struct core_workers **out);
/* Queue a job (loop thread). VIGIL_EAGAIN when the queue is full: try
 * again after a job completes. */
int core_workers_submit(struct core_workers *w, struct core_job *job);
/* Number of threads (at least 1 for sizing per-worker state). */
int core_workers_slots(const struct core_workers *w);
/* Jobs queued or running. */
size_t core_workers_busy(const struct core_workers *w);
/* Stop the threads once their queue is empty and close the async handle;
 * the pool is freed in the close callback. Jobs still queued have their
 * done() called first. Loop thread. */
void core_workers_close(struct core_workers *w);

#endif
