#include "workers.h"

#include <pthread.h>
#include <stdlib.h>

#include "vigil/plugin.h"

struct worker_thread {
    struct core_workers *pool;
    pthread_t tid;
    int index;
};

struct core_workers {
    uv_loop_t *loop;
    uv_async_t async;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct core_job *qhead, *qtail; /* waiting */
    struct core_job *dhead, *dtail; /* completed */
    size_t queued, running, max_queued;
    int nthreads;
    int stopping;
    struct worker_thread *threads;
};

static void push(struct core_job **head, struct core_job **tail, struct core_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void *thread_main(void *arg)
{
    struct worker_thread *t = arg;
    struct core_workers *w = t->pool;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->qhead && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->qhead && w->stopping)
            break;
        struct core_job *job = w->qhead;
        w->qhead = job->next;
        if (!w->qhead)
            w->qtail = NULL;
        w->queued--;
        w->running++;
        pthread_mutex_unlock(&w->mu);

        job->run(job, t->index);

        pthread_mutex_lock(&w->mu);
        w->running--;
        push(&w->dhead, &w->dtail, job);
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void on_async(uv_async_t *a)
{
    struct core_workers *w = a->data;
    struct core_job *list;

    /* Inline mode: run what is queued here, on the loop thread. */
    if (w->nthreads == 0) {
        pthread_mutex_lock(&w->mu);
        struct core_job *q = w->qhead;
        w->qhead = w->qtail = NULL;
        w->queued = 0;
        pthread_mutex_unlock(&w->mu);
        while (q) {
            struct core_job *next = q->next;
            q->run(q, 0);
            pthread_mutex_lock(&w->mu);
            push(&w->dhead, &w->dtail, q);
            pthread_mutex_unlock(&w->mu);
            q = next;
        }
    }
    pthread_mutex_lock(&w->mu);
    list = w->dhead;
    w->dhead = w->dtail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (list) {
        struct core_job *next = list->next;
        list->done(list);
        list = next;
    }
}

int core_workers_create(uv_loop_t *loop, int nthreads, size_t max_queued,
                        struct core_workers **out)
{
    struct core_workers *w = calloc(1, sizeof *w);
    if (!w)
        return VIGIL_ENOMEM;
    w->loop = loop;
    w->nthreads = nthreads < 0 ? 0 : nthreads;
    w->max_queued = max_queued ? max_queued : 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (uv_async_init(loop, &w->async, on_async) != 0) {
        free(w);
        return VIGIL_ERR;
    }
    w->async.data = w;
    /* The async handle must not keep the loop alive on its own. */
    uv_unref((uv_handle_t *)&w->async);
    w->threads = calloc((size_t)(w->nthreads ? w->nthreads : 1), sizeof *w->threads);
    if (!w->threads) {
        uv_close((uv_handle_t *)&w->async, NULL);
        return VIGIL_ENOMEM;
    }
    for (int i = 0; i < w->nthreads; i++) {
        w->threads[i].pool = w;
        w->threads[i].index = i;
        if (pthread_create(&w->threads[i].tid, NULL, thread_main, &w->threads[i]) != 0) {
            w->nthreads = i;
            break;
        }
    }
    *out = w;
    return VIGIL_OK;
}

int core_workers_submit(struct core_workers *w, struct core_job *job)
{
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->queued >= w->max_queued) {
        pthread_mutex_unlock(&w->mu);
        return w->stopping ? VIGIL_ECANCELED : VIGIL_EAGAIN;
    }
    push(&w->qhead, &w->qtail, job);
    w->queued++;
    if (w->nthreads > 0)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->nthreads == 0)
        uv_async_send(&w->async);
    return VIGIL_OK;
}

int core_workers_slots(const struct core_workers *w)
{
    return w->nthreads > 0 ? w->nthreads : 1;
}

size_t core_workers_busy(const struct core_workers *w)
{
    struct core_workers *m = (struct core_workers *)w;
    pthread_mutex_lock(&m->mu);
    size_t n = m->queued + m->running;
    for (struct core_job *j = m->dhead; j; j = j->next)
        n++;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static void on_close(uv_handle_t *h)
{
    struct core_workers *w = h->data;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}

void core_workers_close(struct core_workers *w)
{
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i].tid, NULL);
    /* Deliver what finished (and, inline, what never ran) so owners can
     * release their jobs. */
    w->nthreads = 0;
    on_async(&w->async);
    uv_close((uv_handle_t *)&w->async, on_close);
}
