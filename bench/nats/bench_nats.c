/*
 * bench_nats - the broker's own ceilings and a stopwatch for the scale-out
 * benchmark (bench/nats/run.sh), written with nats.c (`nats bench` is not
 * packaged in Debian).
 *
 *   bench_nats pub URL STREAM SUBJECT FILE N
 *       publish N lines of FILE (cycling) to SUBJECT with asynchronous
 *       JetStream publishes and wait for every acknowledgement; creates
 *       STREAM (work queue, subjects SUBJECT) when missing.
 *   bench_nats sub URL STREAM CONSUMER N
 *       fetch N messages through a durable pull consumer, acking each.
 *   bench_nats drain URL STREAM N TIMEOUT_S
 *       watch STREAM (a work queue) until it is empty: the time from the
 *       first message taken to the last, and the rate.
 *
 * Each prints one line: "<mode> <messages> msgs <seconds> s <rate> msgs/s
 * <MB/s> MB/s".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, natsStatus s)
{
    fprintf(stderr, "bench_nats: %s: %s (%s)\n", what, natsStatus_GetText(s),
            nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
    return 1;
}

struct lines {
    char **v;
    int *len;
    int n;
};

static int read_lines(const char *path, struct lines *l)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t cap = 0;
    char *line = NULL;
    ssize_t n;
    memset(l, 0, sizeof *l);
    int max = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        if (l->n == max) {
            max = max ? max * 2 : 1024;
            l->v = realloc(l->v, (size_t)max * sizeof *l->v);
            l->len = realloc(l->len, (size_t)max * sizeof *l->len);
        }
        l->v[l->n] = strndup(line, (size_t)n);
        l->len[l->n] = (int)n;
        l->n++;
    }
    free(line);
    fclose(f);
    return l->n > 0 ? 0 : -1;
}

static int do_pub(jsCtx *js, const char *stream, const char *subject, const char *file, long n)
{
    struct lines l;
    jsErrCode jerr = 0;
    jsStreamInfo *si = NULL;
    if (read_lines(file, &l) != 0) {
        fprintf(stderr, "bench_nats: cannot read %s\n", file);
        return 1;
    }
    if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) == NATS_NOT_FOUND) {
        jsStreamConfig sc;
        const char *subjects[] = {subject};
        jsStreamConfig_Init(&sc);
        sc.Name = stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Retention = js_WorkQueuePolicy;
        natsStatus s = js_AddStream(&si, js, &sc, NULL, &jerr);
        if (s != NATS_OK)
            return die("add stream", s);
    }
    jsStreamInfo_Destroy(si);
    double bytes = 0, t0 = now_s();
    jsPubOptions po;
    jsPubOptions_Init(&po);
    for (long i = 0; i < n; i++) {
        int k = (int)(i % l.n);
        natsStatus s = js_PublishAsync(js, subject, l.v[k], l.len[k], &po);
        if (s != NATS_OK)
            return die("publish", s);
        bytes += l.len[k];
    }
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    natsStatus s = js_PublishAsyncComplete(js, &po);
    if (s != NATS_OK)
        return die("wait for acknowledgements", s);
    double dt = now_s() - t0;
    printf("pub %ld msgs %.3f s %.0f msgs/s %.1f MB/s\n", n, dt, (double)n / dt, bytes / dt / 1e6);
    return 0;
}

static int do_sub(natsConnection *nc, jsCtx *js, const char *stream, const char *consumer, long n)
{
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsSubscription *sub = NULL;
    jsConsumerConfig cc;
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig_Init(&cc);
    cc.Durable = consumer;
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = 65536;
    natsStatus s = js_AddConsumer(&ci, js, stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = consumer;
    s = js_PullSubscribe(&sub, js, NULL, consumer, NULL, &so, &jerr);
    if (s != NATS_OK)
        return die("subscribe", s);
    long got = 0;
    double bytes = 0, t0 = 0;
    while (got < n) {
        natsMsgList list = {0};
        s = natsSubscription_Fetch(&list, sub, 256, 5000, &jerr);
        if (s != NATS_OK && list.Count == 0)
            return die("fetch", s);
        if (t0 == 0)
            t0 = now_s();
        for (int i = 0; i < list.Count; i++) {
            bytes += natsMsg_GetDataLength(list.Msgs[i]);
            natsMsg_Ack(list.Msgs[i], NULL);
        }
        got += list.Count;
        natsMsgList_Destroy(&list);
    }
    natsConnection_Flush(nc);
    double dt = now_s() - t0;
    printf("sub %ld msgs %.3f s %.0f msgs/s %.1f MB/s\n", got, dt, (double)got / dt,
           bytes / dt / 1e6);
    natsSubscription_Destroy(sub);
    return 0;
}

static int do_drain(jsCtx *js, const char *stream, long n, double timeout)
{
    double start = now_s(), first = 0, last = 0;
    uint64_t bytes0 = 0;
    for (;;) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
        if (s == NATS_OK) {
            uint64_t msgs = si->State.Msgs;
            if (bytes0 == 0)
                bytes0 = si->State.Bytes;
            jsStreamInfo_Destroy(si);
            if (first == 0 && msgs < (uint64_t)n)
                first = now_s();
            if (msgs == 0) {
                last = now_s();
                break;
            }
        }
        if (now_s() - start > timeout) {
            fprintf(stderr, "bench_nats: stream %s not drained within %.0f s\n", stream, timeout);
            return 1;
        }
        usleep(10000);
    }
    double dt = last - first;
    if (dt <= 0)
        dt = 0.001;
    printf("drain %ld msgs %.3f s %.0f msgs/s %.1f MB/s\n", n, dt, (double)n / dt,
           (double)bytes0 / dt / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_nats pub URL STREAM SUBJECT FILE N | sub URL STREAM CONSUMER "
                        "N | drain URL STREAM N TIMEOUT_S\n");
        return 2;
    }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions jo;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[2]);
    if (s != NATS_OK)
        return die("connect", s);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    jo.Wait = 10000;
    if ((s = natsConnection_JetStream(&js, nc, &jo)) != NATS_OK)
        return die("jetstream", s);
    int rc = 2;
    if (!strcmp(argv[1], "pub") && argc == 7)
        rc = do_pub(js, argv[3], argv[4], argv[5], strtol(argv[6], NULL, 10));
    else if (!strcmp(argv[1], "sub") && argc == 6)
        rc = do_sub(nc, js, argv[3], argv[4], strtol(argv[5], NULL, 10));
    else if (!strcmp(argv[1], "drain") && argc == 6)
        rc = do_drain(js, argv[3], strtol(argv[4], NULL, 10), strtod(argv[5], NULL));
    else
        fprintf(stderr, "bench_nats: bad arguments\n");
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return rc;
}
