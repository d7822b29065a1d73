/* network_util.h -- what the data plane tests (check_network.c, check_network_remote.c)
 * share: a network environment made from a few configuration values, a pair of them joined
 * over loopback, blocking reads from a gate, and records of computed lengths and bytes
 * written by a producer thread and checked by the reader. Header-only (static inline), as
 * testutil.h, so each test binary stays one .c file. */
#ifndef FL_NETWORK_UTIL_H
#define FL_NETWORK_UTIL_H

#include "common/config.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/util.h"
#include "taskmanager/network/netenv_internal.h"
#include "taskmanager/network/network.h"
#include "taskmanager/network/network_internal.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static inline fl_netenv *make_net(const char *segment, const char *nbufs, const char *timeout)
{
    fl_conf *conf = fl_conf_new();
    fl_err err;
    fl_conf_set(conf, "taskmanager.memory.segment-size", segment, NULL);
    fl_conf_set(conf, "taskmanager.network.numberOfBuffers", nbufs, NULL);
    if (timeout)
        fl_conf_set(conf, "taskmanager.network.request-backoff.max", timeout, NULL);
    fl_netenv *net = fl_netenv_new(conf, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    int port;
    ck_assert_int_eq(fl_netenv_listen(net, "127.0.0.1", 0, &port, &err), 0);
    ck_assert_int_eq(fl_netenv_start(net, &err), 0);
    fl_conf_free(conf);
    return net;
}

/* Reads the next input, waiting up to 5 s. */
static inline int read_wait(fl_gate *g, fl_input *in)
{
    int64_t deadline = fl_mono_ms() + 5000;
    for (;;) {
        int r = fl_gate_read(g, in);
        if (r != 0)
            return r;
        if (fl_mono_ms() > deadline)
            return 0;
        struct pollfd pfd = {fl_gate_fd(g), POLLIN, 0};
        poll(&pfd, 1, 100);
    }
}

/* Deterministic content for record i of length len. */
static inline uint8_t byte_at(uint32_t i, uint32_t k)
{
    return (uint8_t)(i * 131u + k * 7u + 3u);
}

static inline uint32_t len_of(uint32_t i, uint32_t seg)
{
    switch (i % 6) {
    case 0: return 0;                 /* empty */
    case 1: return 1;
    case 2: return seg - 3;           /* nearly a buffer: will span */
    case 3: return 3 * seg + 17;      /* larger than a buffer */
    case 4: return 100;
    default: return (i * 977u) % (2 * seg);
    }
}

typedef struct producer_arg {
    fl_partition *p;
    uint32_t n, seg;
    int sub;
} producer_arg;

static inline void *produce_records(void *arg)
{
    producer_arg *a = arg;
    uint8_t *buf = malloc(4 * a->seg + 64);
    for (uint32_t i = 0; i < a->n; i++) {
        uint32_t len = len_of(i, a->seg);
        for (uint32_t k = 0; k < len; k++)
            buf[k] = byte_at(i, k);
        /* split each record into header and payload to exercise both */
        uint32_t h = len / 3;
        ck_assert_int_eq(fl_partition_emit(a->p, a->sub, buf, h, buf + h, len - h), 0);
    }
    ck_assert_int_eq(fl_partition_finish(a->p), 0);
    free(buf);
    return NULL;
}

static inline void check_records(fl_gate *g, uint32_t n, uint32_t seg)
{
    fl_input in;
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_RECORD);
        uint32_t len = len_of(i, seg);
        ck_assert_uint_eq(in.len, len);
        for (uint32_t k = 0; k < len; k++)
            if (in.data[k] != byte_at(i, k))
                ck_abort_msg("record %u byte %u differs", i, k);
    }
    ck_assert_int_eq(read_wait(g, &in), 1);
    ck_assert_int_eq(in.kind, FL_IN_EVENT);
    ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
    ck_assert(fl_gate_is_finished(g));
}

static inline void make_pair(const char *nbufs, fl_conf **conf, fl_netenv **prod, fl_netenv **cons,
                      int *pport)
{
    fl_err err;
    int cport;
    *conf = fl_conf_new();
    fl_conf_set(*conf, "taskmanager.memory.segment-size", "4kb", NULL);
    fl_conf_set(*conf, "taskmanager.network.numberOfBuffers", nbufs, NULL);
    *prod = fl_netenv_new(*conf, &err);
    *cons = fl_netenv_new(*conf, &err);
    ck_assert_ptr_nonnull(*prod);
    ck_assert_ptr_nonnull(*cons);
    ck_assert_int_eq(fl_netenv_listen(*prod, "127.0.0.1", 0, pport, &err), 0);
    ck_assert_int_eq(fl_netenv_listen(*cons, "127.0.0.1", 0, &cport, &err), 0);
    ck_assert_int_eq(fl_netenv_start(*prod, &err), 0);
    ck_assert_int_eq(fl_netenv_start(*cons, &err), 0);
}

#endif
