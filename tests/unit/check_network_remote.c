/* check_network_remote.c -- unit tests of the data plane's reservations and remote channels:
 * the "Insufficient number of network buffers" message, partition requests that time out,
 * credit never exceeded (against a producer faked over a raw socket), the direct reader
 * finding every split of frames trickled in chunks of 1, 2, 3, ... bytes and a connection
 * lost mid-payload, many pending requests served at once, and wide gates living on
 * floating buffers only. Helpers are in network_util.h (shared with check_network.c). */
#include "network_util.h"

START_TEST(test_insufficient_buffers_message)
{
    fl_netenv *net = make_net("4kb", "4", NULL);
    fl_err err;
    fl_partition *p = fl_partition_new(net, "j/x/0", 8, -1, NULL, &err);
    ck_assert(p == NULL);
    /* 8 subpartitions need 8 + 1 buffers; the pool has 4. */
    ck_assert_msg(strstr(err.msg, "Insufficient number of network buffers: required 9, but only "
                                  "4 available") != NULL,
                  "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "taskmanager.memory.network.fraction") != NULL, "%s", err.msg);
    ck_assert_int_eq(fl_netenv_buffers_available(net), 4); /* nothing leaked */
    fl_netenv_free(net);
}
END_TEST

START_TEST(test_request_timeout)
{
    fl_netenv *net = make_net("4kb", "8", "200 ms");
    fl_err err;
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/none/0", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    fl_input in;
    int64_t t0 = fl_mono_ms();
    ck_assert_int_eq(read_wait(g, &in), -1);
    ck_assert_int_ge(fl_mono_ms() - t0, 150);
    ck_assert_msg(strstr(fl_gate_error(g), "j/none/0 not found") != NULL, "%s", fl_gate_error(g));
    fl_gate_free(g);
    fl_netenv_free(net);
}
END_TEST

/* A fake producer that sends more buffers than the credit it was given. */
static int fake_port;
static int fake_ls;

static sem_t fake_go;

static void *fake_producer(void *arg)
{
    int s = accept(fake_ls, NULL, NULL);
    uint8_t hdr[FL_FRAME_HDR_LEN], body[512];
    fl_frame_hdr h;
    ck_assert_int_eq(read(s, hdr, sizeof hdr), (ssize_t)sizeof hdr);
    ck_assert_int_eq(fl_frame_hdr_decode(hdr, 1 << 20, &h, NULL), 0);
    ck_assert_int_eq(h.type, FL_NET_PARTITION_REQUEST);
    ck_assert_int_eq(read(s, body, h.len), (ssize_t)h.len);
    uint32_t credit = (uint32_t)body[4] << 24 | body[5] << 16 | body[6] << 8 | body[7];
    sem_wait(&fake_go); /* the test has looked at the initial credit */
    /* send credit + 1 data buffers */
    for (uint32_t i = 0; i <= credit; i++) {
        uint8_t frame[FL_FRAME_HDR_LEN + FL_NET_BUFFER_HDR + 8] = {0};
        fl_frame_hdr bh = {.type = FL_NET_BUFFER, .len = FL_NET_BUFFER_HDR + 8, .corr = h.corr};
        fl_frame_hdr_encode(&bh, frame);
        uint8_t *p = frame + FL_FRAME_HDR_LEN;
        p[3] = (uint8_t)i;                 /* seq */
        p[7] = (uint8_t)(10 - i);          /* backlog */
        p[FL_NET_BUFFER_HDR] = 4;          /* one record of 4 bytes: length prefix 4 */
        ck_assert_int_eq(write(s, frame, sizeof frame), (ssize_t)sizeof frame);
    }
    usleep(500000);
    close(s);
    return NULL;
}

START_TEST(test_credit_never_exceeded)
{
    /* No floating buffers: the gate has exactly buffers-per-channel = 2 credits. */
    fl_conf *conf = fl_conf_new();
    fl_err err;
    fl_conf_set(conf, "taskmanager.memory.segment-size", "4kb", NULL);
    fl_conf_set(conf, "taskmanager.network.numberOfBuffers", "8", NULL);
    fl_conf_set(conf, "taskmanager.network.memory.floating-buffers-per-gate", "0", NULL);
    fl_netenv *net = fl_netenv_new(conf, &err);
    int port;
    fl_netenv_listen(net, "127.0.0.1", 0, &port, &err);
    fl_netenv_start(net, &err);
    fake_ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    bind(fake_ls, (struct sockaddr *)&sa, sizeof sa);
    listen(fake_ls, 1);
    getsockname(fake_ls, (struct sockaddr *)&sa, &sl);
    fake_port = ntohs(sa.sin_port);
    pthread_t t;
    sem_init(&fake_go, 0, 0);
    pthread_create(&t, NULL, fake_producer, NULL);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/f/0", 0, "127.0.0.1", fake_port);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    int free_bufs;
    ck_assert_int_eq(fl_gate_channel_credit(g, 0, &free_bufs), 2);
    ck_assert_int_eq(free_bufs, 2);
    sem_post(&fake_go);
    /* The first two buffers are fine; the third came without credit: the gate fails. Not
     * a buffer is read (recycled, its credit announced again) before: the third would be
     * within credit then, on a machine where the reader ran between the producer's writes. */
    int64_t deadline = fl_mono_ms() + 10000;
    while (!fl_gate_failed(g) && fl_mono_ms() < deadline)
        usleep(1000);
    ck_assert_msg(fl_gate_failed(g), "the gate took a buffer sent without credit");
    fl_input in;
    int records = 0, r;
    while ((r = read_wait(g, &in)) == 1) {
        records++;
        int credit = fl_gate_channel_credit(g, 0, &free_bufs);
        ck_assert_int_ge(credit, 0);
        ck_assert_int_le(credit, free_bufs);
    }
    ck_assert_int_eq(r, -1);
    ck_assert_int_le(records, 2);
    ck_assert_msg(strstr(fl_gate_error(g), "arrived without credit") != NULL, "%s",
                  fl_gate_error(g));
    pthread_join(t, NULL);
    close(fake_ls);
    fl_gate_free(g);
    ck_assert_int_eq(fl_netenv_buffers_available(net), 8);
    fl_netenv_free(net);
    fl_conf_free(conf);
}
END_TEST

/* ---- the direct reader ---------------------------------------------------------------
 * A fake producer trickles its frames in chunks of 1, 2, 3, ... bytes, so the consumer's
 * direct reader (receive.c) finds every split: inside a frame header, inside a BUFFER
 * frame's 12-byte header, inside its payload, between a control frame and the next. Then
 * a connection that breaks in the middle of a payload: the channel fails with the
 * connection-lost message and the buffer being read goes back to its pool. */

static int trickle_mode; /* 0: whole stream in chunks; 1: stop halfway through a payload */
#define TRICKLE_LEN 3000u

static size_t put_frame(uint8_t *d, uint16_t type, uint64_t corr, const uint8_t *payload,
                        uint32_t len)
{
    fl_frame_hdr h = {.type = type, .len = len, .corr = corr};
    fl_frame_hdr_encode(&h, d);
    memcpy(d + FL_FRAME_HDR_LEN, payload, len);
    return FL_FRAME_HDR_LEN + len;
}

static void *trickle_producer(void *arg)
{
    int s = accept(fake_ls, NULL, NULL);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t hdr[FL_FRAME_HDR_LEN], body[512];
    fl_frame_hdr h;
    ck_assert_int_eq(read(s, hdr, sizeof hdr), (ssize_t)sizeof hdr);
    ck_assert_int_eq(fl_frame_hdr_decode(hdr, 1 << 20, &h, NULL), 0);
    ck_assert_int_eq(h.type, FL_NET_PARTITION_REQUEST);
    ck_assert_int_eq(read(s, body, h.len), (ssize_t)h.len);
    static uint8_t stream[2 * TRICKLE_LEN + 256], pl[TRICKLE_LEN + 64];
    size_t n = 0;
    uint8_t backlog[4] = {0, 0, 0, 1};
    n += put_frame(stream + n, FL_NET_BACKLOG, h.corr, backlog, 4);
    /* buffer 0: one record of TRICKLE_LEN - 4 bytes */
    memset(pl, 0, FL_NET_BUFFER_HDR);
    pl[7] = 1; /* backlog */
    uint32_t rlen = TRICKLE_LEN - 4;
    uint8_t *r = pl + FL_NET_BUFFER_HDR;
    r[0] = (uint8_t)rlen;
    r[1] = (uint8_t)(rlen >> 8);
    r[2] = r[3] = 0;
    for (uint32_t k = 0; k < rlen; k++)
        r[4 + k] = byte_at(7, k);
    n += put_frame(stream + n, FL_NET_BUFFER, h.corr, pl, FL_NET_BUFFER_HDR + TRICKLE_LEN);
    size_t cut = n - TRICKLE_LEN / 2; /* mode 1 stops in the middle of this payload */
    /* buffer 1: END_OF_PARTITION */
    memset(pl, 0, FL_NET_BUFFER_HDR + 1);
    pl[3] = 1; /* seq */
    pl[8] = FL_BUF_EVENT;
    pl[FL_NET_BUFFER_HDR] = FL_EV_END_OF_PARTITION;
    n += put_frame(stream + n, FL_NET_BUFFER, h.corr, pl, FL_NET_BUFFER_HDR + 1);
    size_t end = trickle_mode ? cut : n;
    for (size_t off = 0, chunk = 1; off < end; off += chunk, chunk = chunk % 37 + 1) {
        size_t k = chunk < end - off ? chunk : end - off;
        ck_assert_int_eq(write(s, stream + off, k), (ssize_t)k);
        usleep(200);
    }
    if (trickle_mode)
        usleep(100000); /* the consumer holds the claimed buffer, half filled */
    close(s); /* after END_OF_PARTITION the close fails nothing */
    return NULL;
}

static void trickle(int mode)
{
    fl_netenv *net = make_net("4kb", "8", NULL);
    fake_ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    bind(fake_ls, (struct sockaddr *)&sa, sizeof sa);
    listen(fake_ls, 1);
    getsockname(fake_ls, (struct sockaddr *)&sa, &sl);
    trickle_mode = mode;
    pthread_t t;
    pthread_create(&t, NULL, trickle_producer, NULL);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/t/0", 0, "127.0.0.1", ntohs(sa.sin_port));
    fl_err err;
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    fl_input in;
    if (mode == 0) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_RECORD);
        ck_assert_uint_eq(in.len, TRICKLE_LEN - 4);
        for (uint32_t k = 0; k < in.len; k++)
            if (in.data[k] != byte_at(7, k))
                ck_abort_msg("record byte %u differs", k);
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_EVENT);
        ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
        ck_assert(fl_gate_is_finished(g));
    } else {
        int r = read_wait(g, &in);
        ck_assert_int_eq(r, -1);
        ck_assert_msg(strstr(fl_gate_error(g), "Connection to TaskManager at 127.0.0.1:") &&
                          strstr(fl_gate_error(g), "lost: connection closed by peer"),
                      "%s", fl_gate_error(g));
    }
    fl_gate_free(g);
    pthread_join(t, NULL);
    close(fake_ls);
    /* every buffer is back, the one the reader held when the connection broke too */
    int64_t deadline = fl_mono_ms() + 3000;
    while (fl_netenv_buffers_available(net) < 8 && fl_mono_ms() < deadline)
        usleep(10000);
    ck_assert_int_eq(fl_netenv_buffers_available(net), 8);
    fl_netenv_free(net);
}

START_TEST(test_direct_reader_every_split)
{
    trickle(0);
}
END_TEST

START_TEST(test_direct_reader_lost_mid_payload)
{
    trickle(1);
}
END_TEST

/* ---- many requests served at once ---------------------------------------------------
 * 10,000 remote channels request subpartitions of a partition that does not exist yet;
 * while the producer's network thread is held, the partition appears and every
 * subpartition gets a record: the next scan serves 10,000 requests that all have data at
 * once. Each channel must deliver its record and END_OF_PARTITION. */

#define MANY 10000

static sem_t hold_sem;

static void hold_network(void *ctx, void *arg)
{
    sem_wait(&hold_sem);
}

static void *finish_partition(void *p)
{
    ck_assert_int_eq(fl_partition_finish(p), 0);
    return NULL;
}

static int count_pendings(fl_netenv *net)
{
    int n = 0;
    pthread_mutex_lock(&net->reg_lock);
    for (pending *r = net->pendings; r; r = r->next)
        n++;
    pthread_mutex_unlock(&net->reg_lock);
    return n;
}

static void many_requests(int nchan, const char *gate_max)
{
    fl_conf *conf = fl_conf_new();
    fl_err err;
    fl_conf_set(conf, "taskmanager.network.memory.read-buffer.required-per-gate.max", gate_max,
                NULL);
    fl_conf_set(conf, "taskmanager.memory.segment-size", "4kb", NULL);
    fl_conf_set(conf, "taskmanager.network.numberOfBuffers", "24000", NULL);
    fl_conf_set(conf, "taskmanager.network.memory.buffers-per-channel", "2", NULL);
    fl_conf_set(conf, "taskmanager.network.memory.floating-buffers-per-gate", "0", NULL);
    fl_netenv *prod = fl_netenv_new(conf, &err), *cons = fl_netenv_new(conf, &err);
    ck_assert(prod && cons);
    int pport, cport;
    ck_assert_int_eq(fl_netenv_listen(prod, "127.0.0.1", 0, &pport, &err), 0);
    ck_assert_int_eq(fl_netenv_listen(cons, "127.0.0.1", 0, &cport, &err), 0);
    ck_assert_int_eq(fl_netenv_start(prod, &err), 0);
    ck_assert_int_eq(fl_netenv_start(cons, &err), 0);

    fl_gate *g = fl_gate_new(cons, nchan, "wide gate", NULL);
    for (int c = 0; c < nchan; c++)
        fl_gate_set_channel(g, c, "j/many/0", c, "127.0.0.1", pport);
    ck_assert_msg(fl_gate_start(g, &err) == 0, "%s", err.msg);
    int64_t deadline = fl_mono_ms() + 20000;
    while (count_pendings(prod) < nchan && fl_mono_ms() < deadline)
        usleep(10000);
    ck_assert_int_eq(count_pendings(prod), nchan);

    /* hold the producer's network thread while every subpartition fills */
    sem_init(&hold_sem, 0, 0);
    ck_assert_int_eq(fl_endpoint_post(prod->ep, hold_network, NULL, NULL), 0);
    fl_partition *p = fl_partition_new(prod, "j/many/0", nchan, -1, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    for (int c = 0; c < nchan; c++) {
        uint32_t v = (uint32_t)c * 2654435761u;
        ck_assert_int_eq(fl_partition_emit(p, c, &v, sizeof v, NULL, 0), 0);
    }
    fl_partition_flush(p); /* a buffer queued in every subpartition */
    ck_assert_int_eq(count_pendings(prod), nchan); /* none served yet */
    sem_post(&hold_sem);
    /* the ends take more buffers, which come back as the consumer reads: another thread */
    pthread_t fin;
    pthread_create(&fin, NULL, finish_partition, p);

    /* every channel: its one record, then its end */
    uint8_t *got = calloc(nchan, 1);
    int records = 0, ends = 0;
    fl_input in;
    while (ends < nchan) {
        int r = read_wait(g, &in);
        ck_assert_msg(r == 1, "after %d records and %d ends of %d channels: %s", records, ends,
                      nchan, r < 0 ? fl_gate_error(g) : "nothing more arrived in 5 s");
        ck_assert_int_lt(in.channel, nchan);
        if (in.kind == FL_IN_RECORD) {
            uint32_t v, want = (uint32_t)in.channel * 2654435761u;
            ck_assert_uint_eq(in.len, sizeof v);
            memcpy(&v, in.data, sizeof v);
            ck_assert_uint_eq(v, want);
            ck_assert_int_eq(got[in.channel], 0);
            got[in.channel] = 1;
            records++;
        } else {
            ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
            ck_assert_int_eq(got[in.channel], 1);
            got[in.channel] = 2;
            ends++;
        }
    }
    ck_assert_int_eq(records, nchan);
    ck_assert(fl_gate_is_finished(g));
    pthread_join(fin, NULL);
    /* served by the scan itself, not rescued by the stuck-channel check */
    int rescued = atomic_load(&prod->stuck_found);
    ck_assert_msg(rescued == 0, "%d channels were stuck until the check served them", rescued);
    free(got);
    fl_partition_release(p);
    fl_gate_free(g);
    fl_netenv_free(cons);
    fl_netenv_free(prod);
    fl_conf_free(conf);
    sem_destroy(&hold_sem);
}


START_TEST(test_many_pending_requests_served_at_once)
{
    many_requests(MANY, "1000000"); /* 10,000 channels with exclusive buffers */
}
END_TEST

/* The same through a wide gate: no exclusive buffers, 64 floating ones lent by backlog. */
START_TEST(test_wide_gate_floating_only)
{
    many_requests(3000, "64");
}
END_TEST

static Suite *network_remote_suite(void)
{
    Suite *s = suite_create("network-remote");
    TCase *tc = tcase_create("remote");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_insufficient_buffers_message);
    tcase_add_test(tc, test_request_timeout);
    tcase_add_test(tc, test_credit_never_exceeded);
    tcase_add_test(tc, test_direct_reader_every_split);
    tcase_add_test(tc, test_direct_reader_lost_mid_payload);
    tcase_add_test(tc, test_many_pending_requests_served_at_once);
    tcase_add_test(tc, test_wide_gate_floating_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    SRunner *sr = srunner_create(network_remote_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
