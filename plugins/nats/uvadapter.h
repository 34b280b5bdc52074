/*
 * uvadapter - drive a nats.c connection's socket from a libuv loop.
 *
 * Same job as nats.c's stock adapter (nats/adapters/libuv.h), with one
 * difference that matters here: the handle that carries requests from
 * other threads to the loop is created up front, on the loop thread, so
 * the first attach may come from nats.c's connect-retry thread. The stock
 * adapter refuses that case (NATS_ILLEGAL_STATE), which would leave a
 * plugin started while the broker is down without a connection forever.
 *
 * nats.c calls attach/read/write/detach from any thread (its reconnect
 * thread, or the loop thread while processing a read). On the loop thread,
 * with nothing queued, they act at once; otherwise they are queued and run
 * by the loop in order.
 *
 * Lifetime: natsx_uv_create() on the loop thread before the connection is
 * created; natsx_uv_release() on the loop thread after the connection was
 * destroyed (nats.c has then called detach, or never attached). The
 * handles close asynchronously; the loop must keep running until they have.
 */
#ifndef VIGIL_NATS_UVADAPTER_H
#define VIGIL_NATS_UVADAPTER_H

#include <nats/nats.h>
#include <uv.h>

struct natsx_uv;

/* NULL when out of memory. */
struct natsx_uv *natsx_uv_create(uv_loop_t *loop);
/* Point opts at the adapter (natsOptions_SetEventLoop). */
natsStatus natsx_uv_use(struct natsx_uv *a, natsOptions *opts);
void natsx_uv_release(struct natsx_uv *a);

#endif
