#include "uvadapter.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

enum op_type { OP_ATTACH = 1, OP_READ, OP_WRITE, OP_DETACH };

struct op {
    struct op *next;
    int type;
    bool add;
    natsConnection *nc;
    natsSock fd;
};

struct natsx_uv {
    uv_loop_t *loop;
    pthread_t loop_thread;
    uv_async_t sched; /* carries queued ops to the loop */
    pthread_mutex_t mu;
    struct op *head, *tail; /* guarded by mu */
    /* loop thread only */
    uv_poll_t *poll;
    natsConnection *nc;
    int events;
};

static bool on_loop(const struct natsx_uv *a)
{
    return pthread_equal(pthread_self(), a->loop_thread);
}

static void poll_closed(uv_handle_t *h)
{
    free(h);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct natsx_uv *a = h->data;
    if (h != a->poll)
        return;
    /* On a socket error, a read lets nats.c see it and reconnect. */
    if (status < 0 || (events & UV_READABLE))
        natsConnection_ProcessReadEvent(a->nc);
    if (status >= 0 && (events & UV_WRITABLE) && h == a->poll)
        natsConnection_ProcessWriteEvent(a->nc);
}

static void close_poll(struct natsx_uv *a)
{
    if (a->poll) {
        uv_close((uv_handle_t *)a->poll, poll_closed);
        a->poll = NULL;
    }
    a->events = 0;
}

static natsStatus do_attach(struct natsx_uv *a, natsConnection *nc, natsSock fd)
{
    /* A reconnect brings a new socket: the old handle goes first, so the
     * loop never watches the same descriptor twice. */
    close_poll(a);
    a->nc = nc;
    a->poll = malloc(sizeof *a->poll);
    if (!a->poll)
        return NATS_NO_MEMORY;
    if (uv_poll_init_socket(a->loop, a->poll, fd) != 0) {
        free(a->poll);
        a->poll = NULL;
        return NATS_ERR;
    }
    a->poll->data = a;
    /* The engine decides when the loop ends, not an idle connection. */
    uv_unref((uv_handle_t *)a->poll);
    a->events = UV_READABLE;
    return uv_poll_start(a->poll, a->events, on_poll) == 0 ? NATS_OK : NATS_ERR;
}

static natsStatus do_update(struct natsx_uv *a, int type, bool add)
{
    int bit = type == OP_READ ? UV_READABLE : UV_WRITABLE;
    if (!a->poll)
        return NATS_OK; /* detached meanwhile */
    a->events = add ? (a->events | bit) : (a->events & ~bit);
    int rc = a->events ? uv_poll_start(a->poll, a->events, on_poll) : uv_poll_stop(a->poll);
    return rc == 0 ? NATS_OK : NATS_ERR;
}

static natsStatus run_op(struct natsx_uv *a, const struct op *op)
{
    switch (op->type) {
    case OP_ATTACH: return do_attach(a, op->nc, op->fd);
    case OP_READ:
    case OP_WRITE: return do_update(a, op->type, op->add);
    case OP_DETACH: close_poll(a); return NATS_OK;
    default: return NATS_ERR;
    }
}

static void on_sched(uv_async_t *h)
{
    struct natsx_uv *a = h->data;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        struct op *op = a->head;
        if (op) {
            a->head = op->next;
            if (!a->head)
                a->tail = NULL;
        }
        pthread_mutex_unlock(&a->mu);
        if (!op)
            return;
        natsStatus s = run_op(a, op);
        natsConnection *nc = op->nc ? op->nc : a->nc;
        int type = op->type;
        free(op);
        if (s != NATS_OK && nc && type != OP_DETACH)
            natsConnection_Close(nc); /* as the stock adapter: a broken watch is fatal */
    }
}

static natsStatus schedule(struct natsx_uv *a, int type, bool add, natsConnection *nc, natsSock fd)
{
    struct op *op = calloc(1, sizeof *op);
    if (!op)
        return NATS_NO_MEMORY;
    op->type = type;
    op->add = add;
    op->nc = nc;
    op->fd = fd;
    pthread_mutex_lock(&a->mu);
    if (a->tail)
        a->tail->next = op;
    else
        a->head = op;
    a->tail = op;
    pthread_mutex_unlock(&a->mu);
    return uv_async_send(&a->sched) == 0 ? NATS_OK : NATS_ERR;
}

/* Queued ops must keep their order: act directly only on the loop thread
 * with nothing queued. */
static bool direct(struct natsx_uv *a)
{
    if (!on_loop(a))
        return false;
    pthread_mutex_lock(&a->mu);
    bool empty = a->head == NULL;
    pthread_mutex_unlock(&a->mu);
    return empty;
}

static natsStatus cb_attach(void **userData, void *loop, natsConnection *nc, natsSock fd)
{
    struct natsx_uv *a = loop;
    *userData = a;
    return direct(a) ? do_attach(a, nc, fd) : schedule(a, OP_ATTACH, true, nc, fd);
}

static natsStatus cb_read(void *userData, bool add)
{
    struct natsx_uv *a = userData;
    return direct(a) ? do_update(a, OP_READ, add) : schedule(a, OP_READ, add, NULL, 0);
}

static natsStatus cb_write(void *userData, bool add)
{
    struct natsx_uv *a = userData;
    return direct(a) ? do_update(a, OP_WRITE, add) : schedule(a, OP_WRITE, add, NULL, 0);
}

static natsStatus cb_detach(void *userData)
{
    struct natsx_uv *a = userData;
    if (direct(a)) {
        close_poll(a);
        return NATS_OK;
    }
    return schedule(a, OP_DETACH, false, NULL, 0);
}

struct natsx_uv *natsx_uv_create(uv_loop_t *loop)
{
    struct natsx_uv *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->loop = loop;
    a->loop_thread = pthread_self();
    pthread_mutex_init(&a->mu, NULL);
    if (uv_async_init(loop, &a->sched, on_sched) != 0) {
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NULL;
    }
    a->sched.data = a;
    /* The adapter alone must not keep the loop alive. */
    uv_unref((uv_handle_t *)&a->sched);
    return a;
}

natsStatus natsx_uv_use(struct natsx_uv *a, natsOptions *opts)
{
    return natsOptions_SetEventLoop(opts, a, cb_attach, cb_read, cb_write, cb_detach);
}

static void sched_closed(uv_handle_t *h)
{
    struct natsx_uv *a = h->data;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void natsx_uv_release(struct natsx_uv *a)
{
    if (!a)
        return;
    /* The connection is gone: what is still queued is moot, but a queued
     * detach still owes us closing the handle. */
    pthread_mutex_lock(&a->mu);
    struct op *op = a->head;
    a->head = a->tail = NULL;
    pthread_mutex_unlock(&a->mu);
    while (op) {
        struct op *next = op->next;
        free(op);
        op = next;
    }
    close_poll(a);
    uv_close((uv_handle_t *)&a->sched, sched_closed);
}
