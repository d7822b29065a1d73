/* nettest.c -- drives the data plane (taskmanager/network) between two processes, for the
 * integration tests in tests/cluster/test_network.sh and the benchmark bench/network.sh.
 *
 *   flint-nettest produce --port P [options]        a TaskManager-like producer process
 *   flint-nettest consume --connect H:P [options]   the consumer process
 *   flint-nettest raw-recv --port P --bytes N       plain TCP sink (baseline)
 *   flint-nettest raw-send --connect H:P --bytes N  plain TCP blast with 32 KiB writes
 *
 * Options: --producers N --consumers M (each producer has M subpartitions; each consumer a
 * gate with N remote channels), --records R (total), --size S (record bytes, >= 24),
 * --keyed (hash partitioning, else round robin), --rate R (records/s per producer, 0 = as
 * fast as possible), --timeout-ms T (execution.buffer-timeout; a consumer given 0 keeps its
 * thread's scheduling, as a task of such a job does), --consume-rate R (records/s
 * per consumer: a slow consumer), --buffers N (taskmanager.network.numberOfBuffers),
 * -D key=value (any configuration key).
 *
 * Every record carries (producer, consumer, per-channel sequence number, send time). The
 * consumer checks each channel's sequence is 0,1,2,... with no gap or repeat and that the
 * total equals --records, and prints one line of key=value figures. Exit 0 only if all
 * checks hold.
 */
#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "taskmanager/network/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct rec_hdr {
    uint32_t producer, consumer;
    uint64_t seq;
    int64_t send_ns;
} rec_hdr;

static struct {
    int port, producers, consumers, size;
    char host[256];
    char bind[64];          /* --bind: the address produce and raw-recv listen on */
    long long records, bytes;
    double rate, consume_rate;
    long long timeout_ms;
    long long buffers;
    int keyed;
    const char *dyn[16];
    int ndyn;
} opt = {.producers = 1, .consumers = 1, .size = 100, .records = 1000000, .timeout_ms = 100,
         .host = "127.0.0.1", .bind = "127.0.0.1"};

static fl_netenv *net;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static void pace(int64_t t0, long long done, double rate)
{
    if (rate <= 0)
        return;
    int64_t due = t0 + (int64_t)((double)done * 1e9 / rate);
    for (;;) {
        int64_t now = fl_mono_ns();
        if (now >= due)
            return;
        if (due - now > 200000) {
            struct timespec ts = {0, (due - now) / 2};
            nanosleep(&ts, NULL);
        }
    }
}

/* ---- producer --------------------------------------------------------------------- */

typedef struct prod {
    int idx;
    fl_partition *part;
    fl_io_metrics m;
    long long n;
    int failed;
    char error[600];
    int64_t fail_ns;
    int64_t fail_wall_ms;
} prod;

static void *producer_main(void *arg)
{
    prod *p = arg;
    fl_net_task_thread(opt.timeout_ms); /* as a TaskManager's task thread does */
    uint8_t payload[1 << 16];
    uint64_t *seq = fl_xcalloc((size_t)opt.consumers, sizeof *seq);
    memset(payload, 'x', sizeof payload);
    int64_t t0 = fl_mono_ns();
    p->m.start_ns = t0;
    for (long long i = 0; i < p->n; i++) {
        int sub = opt.keyed ? (int)(mix((uint64_t)i * 31 + (uint64_t)p->idx) % (uint64_t)opt.consumers)
                            : (int)(i % opt.consumers);
        rec_hdr h = {(uint32_t)p->idx, (uint32_t)sub, seq[sub]++, 0};
        pace(t0, i, opt.rate);
        if (opt.rate > 0)
            h.send_ns = fl_mono_ns();
        if (fl_partition_emit(p->part, sub, &h, sizeof h, payload,
                              (uint32_t)opt.size - (uint32_t)sizeof h) < 0) {
            p->failed = 1;
            p->fail_ns = fl_mono_ns();
            p->fail_wall_ms = fl_now_ms();
            snprintf(p->error, sizeof p->error, "%s", fl_partition_error(p->part));
            free(seq);
            return NULL;
        }
        if ((i & 255) == 0)
            fl_partition_flush_if_due(p->part, fl_mono_ns());
    }
    if (fl_partition_finish(p->part) < 0) {
        p->failed = 1;
        p->fail_ns = fl_mono_ns();
        snprintf(p->error, sizeof p->error, "%s", fl_partition_error(p->part));
    }
    free(seq);
    return NULL;
}

static int64_t max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* CPU time (user + system) of the whole process so far, in ms: what the transfer cost
 * besides its wall time (bench/network.sh compares it with the plain TCP pair's). */
static long long cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int run_produce(void)
{
    prod *ps = fl_xcalloc((size_t)opt.producers, sizeof *ps);
    pthread_t *th = fl_xcalloc((size_t)opt.producers, sizeof *th);
    fl_err err;
    int64_t avail_before = fl_netenv_buffers_available(net);
    for (int i = 0; i < opt.producers; i++) {
        char id[64];
        snprintf(id, sizeof id, "job/src/%d", i);
        ps[i].idx = i;
        ps[i].n = opt.records / opt.producers + (i < opt.records % opt.producers);
        ps[i].part = fl_partition_new(net, id, opt.consumers, opt.timeout_ms, &ps[i].m, &err);
        if (!ps[i].part) {
            fprintf(stderr, "nettest: %s\n", err.msg);
            return 2;
        }
    }
    int64_t avail_after = fl_netenv_buffers_available(net);
    int64_t rss_start = max_rss_kb();
    printf("ready\n");
    fflush(stdout);
    int64_t t0 = fl_mono_ns();
    for (int i = 0; i < opt.producers; i++)
        pthread_create(&th[i], NULL, producer_main, &ps[i]);
    /* Watch the pool while the producers run: it must never shrink further. */
    int64_t min_avail = avail_after;
    int done = 0;
    while (!done) {
        usleep(2000);
        int64_t a = fl_netenv_buffers_available(net);
        if (a < min_avail)
            min_avail = a;
        done = 1;
        for (int i = 0; i < opt.producers; i++)
            if (!ps[i].failed && FL_METRIC_GET(&ps[i].m, records_out) < (uint64_t)ps[i].n)
                done = 0;
    }
    for (int i = 0; i < opt.producers; i++)
        pthread_join(th[i], NULL);
    int64_t t1 = fl_mono_ns();
    int failed = 0;
    double bp = 0;
    for (int i = 0; i < opt.producers; i++) {
        bp += (double)FL_METRIC_GET(&ps[i].m, backpressure_ns) / (double)(t1 - t0);
        if (ps[i].failed) {
            failed = 1;
            printf("producer %d failed at wall_ms=%lld: %s\n", i, (long long)ps[i].fail_wall_ms,
                   ps[i].error);
        }
    }
    printf("produce records=%lld seconds=%.3f backpressure=%.3f pool_total=%lld "
           "pool_reserved=%lld pool_min_available=%lld pool_grew=%d rss_growth_kb=%lld "
           "cpu_ms=%lld failed=%d\n",
           opt.records, (double)(t1 - t0) / 1e9, bp / opt.producers,
           (long long)fl_netenv_buffers_total(net), (long long)(avail_before - avail_after),
           (long long)min_avail, min_avail < avail_after, (long long)(max_rss_kb() - rss_start),
           cpu_ms(), failed);
    fflush(stdout);
    for (int i = 0; i < opt.producers; i++)
        fl_partition_release(ps[i].part);
    /* Stay until the consumers have taken everything: a released partition gives its
     * buffers back to the pool once its last subpartition is consumed. */
    while (!failed && fl_netenv_buffers_available(net) < avail_before)
        usleep(2000);
    free(th);
    free(ps);
    return failed ? 3 : 0;
}

/* ---- consumer --------------------------------------------------------------------- */

typedef struct cons {
    int idx;
    fl_gate *gate;
    fl_io_metrics m;
    long long n, errors;
    uint64_t *next_seq;
    int64_t *lat;
    long long nlat, caplat;
    char error[600];
    int failed;
} cons;

static void *consumer_main(void *arg)
{
    cons *c = arg;
    fl_net_task_thread(opt.timeout_ms);
    fl_input in;
    struct pollfd pfd = {fl_gate_fd(c->gate), POLLIN, 0};
    int64_t t0 = fl_mono_ns();
    c->next_seq = fl_xcalloc((size_t)opt.producers, sizeof *c->next_seq);
    while (!fl_gate_is_finished(c->gate)) {
        int r = fl_gate_read(c->gate, &in);
        if (r < 0) {
            c->failed = 1;
            snprintf(c->error, sizeof c->error, "%s", fl_gate_error(c->gate));
            break;
        }
        if (r == 0) {
            int64_t w0 = fl_mono_ns();
            poll(&pfd, 1, 1000);
            FL_METRIC_ADD(&c->m, idle_ns, (uint64_t)(fl_mono_ns() - w0));
            continue;
        }
        if (in.kind != FL_IN_RECORD)
            continue;
        rec_hdr h;
        if (in.len != (uint32_t)opt.size) {
            c->errors++;
            continue;
        }
        memcpy(&h, in.data, sizeof h);
        if (h.producer != (uint32_t)in.channel || h.consumer != (uint32_t)c->idx ||
            h.seq != c->next_seq[in.channel]) {
            if (c->errors++ < 5)
                fprintf(stderr, "consumer %d channel %d: got (p%u c%u seq %llu), expected seq %llu\n",
                        c->idx, in.channel, h.producer, h.consumer, (unsigned long long)h.seq,
                        (unsigned long long)c->next_seq[in.channel]);
        }
        c->next_seq[in.channel] = h.seq + 1;
        if (h.send_ns) {
            if (c->nlat == c->caplat) {
                c->caplat = c->caplat ? c->caplat * 2 : 65536;
                c->lat = fl_xrealloc(c->lat, (size_t)c->caplat * sizeof *c->lat);
            }
            c->lat[c->nlat++] = fl_mono_ns() - h.send_ns;
        }
        if (c->n++ == 0 && c->idx == 0) {
            printf("receiving\n");
            fflush(stdout);
        }
        pace(t0, c->n, opt.consume_rate);
    }
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int run_consume(void)
{
    cons *cs = fl_xcalloc((size_t)opt.consumers, sizeof *cs);
    pthread_t *th = fl_xcalloc((size_t)opt.consumers, sizeof *th);
    fl_err err;
    for (int j = 0; j < opt.consumers; j++) {
        char name[64];
        snprintf(name, sizeof name, "consumer %d", j);
        cs[j].idx = j;
        cs[j].gate = fl_gate_new(net, opt.producers, name, &cs[j].m);
        for (int i = 0; i < opt.producers; i++) {
            char id[64];
            snprintf(id, sizeof id, "job/src/%d", i);
            fl_gate_set_channel(cs[j].gate, i, id, j, opt.host, opt.port);
        }
        if (fl_gate_start(cs[j].gate, &err) < 0) {
            fprintf(stderr, "nettest: %s\n", err.msg);
            return 2;
        }
    }
    int64_t t0 = fl_mono_ns();
    for (int j = 0; j < opt.consumers; j++)
        pthread_create(&th[j], NULL, consumer_main, &cs[j]);
    long long total = 0, errors = 0;
    int failed = 0;
    int64_t *lat = NULL;
    long long nlat = 0;
    for (int j = 0; j < opt.consumers; j++) {
        pthread_join(th[j], NULL);
        total += cs[j].n;
        errors += cs[j].errors;
        if (cs[j].failed) {
            failed = 1;
            printf("consumer %d failed: %s\n", j, cs[j].error);
        }
        lat = fl_xrealloc(lat, (size_t)(nlat + cs[j].nlat + 1) * sizeof *lat);
        if (cs[j].nlat) /* a consumer that measured nothing has no array */
            memcpy(lat + nlat, cs[j].lat, (size_t)cs[j].nlat * sizeof *lat);
        nlat += cs[j].nlat;
    }
    int64_t t1 = fl_mono_ns();
    double secs = (double)(t1 - t0) / 1e9;
    printf("consume records=%lld expected=%lld order_errors=%lld seconds=%.3f "
           "records_per_s=%.0f mb_per_s=%.1f cpu_ms=%lld failed=%d",
           total, opt.records, errors, secs, (double)total / secs,
           (double)total * opt.size / secs / 1e6, cpu_ms(), failed);
    if (nlat) {
        qsort(lat, (size_t)nlat, sizeof *lat, cmp64);
        printf(" latency_p50_us=%.1f latency_p99_us=%.1f", (double)lat[nlat / 2] / 1e3,
               (double)lat[(nlat * 99) / 100] / 1e3);
    }
    printf("\n");
    fflush(stdout);
    for (int j = 0; j < opt.consumers; j++) {
        fl_gate_free(cs[j].gate);
        free(cs[j].next_seq);
        free(cs[j].lat);
    }
    free(lat);
    free(cs);
    free(th);
    return failed || errors || total != opt.records ? 3 : 0;
}

/* ---- plain TCP baseline ----------------------------------------------------------- */

static int run_raw_recv(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, opt.bind, &sa.sin_addr);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0) {
        perror("raw-recv");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    int s = accept(ls, NULL, NULL);
    static char buf[1 << 20];
    long long got = 0;
    int64_t t0 = 0;
    for (;;) {
        ssize_t r = read(s, buf, sizeof buf);
        if (r <= 0)
            break;
        if (!t0)
            t0 = fl_mono_ns();
        got += r;
    }
    double secs = (double)(fl_mono_ns() - t0) / 1e9;
    printf("raw bytes=%lld seconds=%.3f mb_per_s=%.1f cpu_ms=%lld\n", got, secs,
           (double)got / secs / 1e6, cpu_ms());
    return got == opt.bytes ? 0 : 3;
}

static int run_raw_send(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, opt.host, &sa.sin_addr);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("raw-send");
        return 2;
    }
    static char buf[32768];
    memset(buf, 'x', sizeof buf);
    long long left = opt.bytes;
    while (left > 0) {
        ssize_t w = write(s, buf, (size_t)FL_MIN(left, (long long)sizeof buf));
        if (w <= 0)
            return 3;
        left -= w;
    }
    close(s);
    printf("raw-send bytes=%lld cpu_ms=%lld\n", opt.bytes, cpu_ms());
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: flint-nettest produce|consume|raw-recv|raw-send [options]\n");
        return 2;
    }
    const char *mode = argv[1];
    fl_err err;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--keyed")) {
            opt.keyed = 1;
            continue;
        }
        i++;
        if (!strcmp(a, "-D") && opt.ndyn < 16) {
            opt.dyn[opt.ndyn++] = v;
            continue;
        }
        if (!strcmp(a, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(a, "--bind"))
            snprintf(opt.bind, sizeof opt.bind, "%s", v);
        else if (!strcmp(a, "--connect")) {
            if (fl_parse_host_port(v, opt.host, sizeof opt.host, &opt.port, &err) < 0) {
                fprintf(stderr, "nettest: %s\n", err.msg);
                return 2;
            }
        } else if (!strcmp(a, "--producers"))
            opt.producers = atoi(v);
        else if (!strcmp(a, "--consumers"))
            opt.consumers = atoi(v);
        else if (!strcmp(a, "--records"))
            opt.records = atoll(v);
        else if (!strcmp(a, "--bytes"))
            opt.bytes = atoll(v);
        else if (!strcmp(a, "--size"))
            opt.size = atoi(v);
        else if (!strcmp(a, "--rate"))
            opt.rate = atof(v);
        else if (!strcmp(a, "--consume-rate"))
            opt.consume_rate = atof(v);
        else if (!strcmp(a, "--timeout-ms"))
            opt.timeout_ms = atoll(v);
        else if (!strcmp(a, "--buffers"))
            opt.buffers = atoll(v);
        else {
            fprintf(stderr, "nettest: unknown option %s\n", a);
            return 2;
        }
    }
    if (opt.size < (int)sizeof(rec_hdr) || opt.size > 65536) {
        fprintf(stderr, "nettest: --size must be %zu..65536\n", sizeof(rec_hdr));
        return 2;
    }
    fl_log_init(FL_LOG_WARN);
    if (!strcmp(mode, "raw-recv"))
        return run_raw_recv();
    if (!strcmp(mode, "raw-send"))
        return run_raw_send();

    fl_conf *conf = fl_conf_new();
    char v[64];
    if (opt.buffers) {
        snprintf(v, sizeof v, "%lld", opt.buffers);
        fl_conf_set(conf, "taskmanager.network.numberOfBuffers", v, NULL);
    }
    for (int i = 0; i < opt.ndyn; i++)
        if (fl_conf_set_dynamic(conf, opt.dyn[i], &err) < 0) {
            fprintf(stderr, "nettest: %s\n", err.msg);
            return 2;
        }
    net = fl_netenv_new(conf, &err);
    int bound;
    if (!net || fl_netenv_listen(net, opt.bind, !strcmp(mode, "produce") ? opt.port : 0,
                                 &bound, &err) < 0 ||
        fl_netenv_start(net, &err) < 0) {
        fprintf(stderr, "nettest: %s\n", err.msg);
        return 2;
    }
    int rc = !strcmp(mode, "produce") ? run_produce() : !strcmp(mode, "consume") ? run_consume() : 2;
    fl_netenv_free(net);
    fl_conf_free(conf);
    return rc;
}
