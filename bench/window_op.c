/* window_op.c -- the keyed window operator alone, in-process (Flink's WindowOperator
 * microbenchmarks): its CPU cost per record on the hashmap and the RocksDB backends, with no
 * source, network or sink around it, so that a change to the operator or the backend shows
 * in this figure rather than in the noise of a whole job. Also runs under
 * `valgrind --tool=cachegrind` for instruction and cache-miss counts that do not depend on
 * the machine's load.
 *
 *   build/bench/window_op [records [rocksdb_records [tumbling|sliding|rocksdb]]]
 *                                       (defaults 5000000, 300000, all three scenarios)
 *
 * Scenarios (the operator built from its spec by the operator test harness, as its task
 * builds it; results go to a counting sink):
 *   tumbling  bench/windows.sh's clicks: 2,000 users, 10 s tumbling event-time windows,
 *             a count aggregate, about 10 records per ms of event time, up to 3 s out of
 *             order, a watermark (max - 5 s) every 1,000 records
 *   sliding   the tutorial's hot items (topn): 50,000 items, 1 h windows sliding by
 *             5 min (12 windows per record), a count aggregate, one record per 8 ms
 * each on hashmap, and tumbling also on rocksdb. Prints ns/record (thread CPU time) and
 * how many results the windows fired (the same for both backends).
 */
#include "common/plan.h"
#include "common/util.h"
#include "taskmanager/chain/operator.h"
#include "tests/harness/harness.h"

#include <flint/window.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A click: the key's 8 bytes (the record's key field), then the payload. */
typedef struct wb_click {
    char key[8];
    int64_t seq;
} wb_click;

/* The aggregate: a count (exported: the operator finds it by name). */
void wb_count_create(void *acc);
void wb_count_add(void *acc, const fl_rec *in);
uint32_t wb_count_result(const void *acc, void *out, uint32_t cap);
void wb_count_merge(void *acc, const void *other);

void wb_count_create(void *acc)
{
    memset(acc, 0, 8);
}

void wb_count_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, 8);
    n++;
    memcpy(acc, &n, 8);
}

uint32_t wb_count_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, 8);
    return 8;
}

void wb_count_merge(void *acc, const void *other)
{
    int64_t a, b;
    memcpy(&a, acc, 8);
    memcpy(&b, other, 8);
    a += b;
    memcpy(acc, &a, 8);
}

static uint64_t fired;

static void count_record(fl_op *op, const fl_rec *in)
{
    fired++;
}

static void count_watermark(fl_op *op, int64_t wm)
{
}

static const fl_op_ops count_ops = {
    .name = "count", .process = count_record, .process_watermark = count_watermark};

typedef struct scenario {
    const char *name;
    int assigner;
    int64_t size, slide;
    uint32_t keys;
    int64_t per_ms_num, per_ms_den; /* event time advances num / den ms per record */
    int64_t disorder;               /* ms */
} scenario;

static double thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Runs n records of sc on backend; ns/record, or -1 when the operator failed. */
static double run(const scenario *sc, const char *backend, uint64_t n)
{
    Fl__Pb__OperatorSpec spec;
    Fl__Pb__WindowSpec win;
    Fl__Pb__AggregateSpec agg;
    Fl__Pb__KeySpec key;
    fl__pb__operator_spec__init(&spec);
    fl__pb__window_spec__init(&win);
    fl__pb__aggregate_spec__init(&agg);
    fl__pb__key_spec__init(&key);
    key.offset = 0;
    key.len = 8;
    spec.name = "Window";
    spec.uid = "window";
    spec.kind = FL__PB__OP_KIND__OP_WINDOW;
    spec.keyed = true;
    spec.key = &key;
    spec.window = &win;
    win.assigner = sc->assigner;
    win.size = sc->size;
    win.slide = sc->slide;
    win.function = FL_WINDOW_AGGREGATE;
    win.aggregate = &agg;
    agg.acc_size = 8;
    agg.result_max = 8;
    agg.create_fn = "wb_count_create";
    agg.add_fn = "wb_count_add";
    agg.result_fn = "wb_count_result";
    agg.merge_fn = "wb_count_merge";
    fl_harness_opts opts = {.backend = backend};
    fl_err err = {{0}};
    fl_harness *h = fl_harness_new(&spec, &opts, &err);
    if (!h) {
        fprintf(stderr, "window_op: %s\n", err.msg);
        exit(1);
    }
    fl_op *op = fl_harness_op(h), sink = {0};
    sink.ops = &count_ops;
    sink.watermark = FL_NO_WATERMARK;
    fl_out_connect_op(&op->out, &sink);

    fired = 0;
    uint64_t x = 88172645463325252ull; /* xorshift64: the same records every run */
    const int64_t base = 1700000000000;
    int64_t max_ts = 0;
    int rc = 0;
    double t0 = thread_cpu_ns();
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        wb_click c;
        uint32_t v = (uint32_t)(x % sc->keys);
        c.key[0] = 'k';
        for (int j = 7; j > 0; j--, v /= 10)
            c.key[j] = (char)('0' + v % 10);
        c.seq = (int64_t)i;
        int64_t ts = base + (int64_t)i * sc->per_ms_num / sc->per_ms_den -
                     (int64_t)((x >> 32) % (uint64_t)(sc->disorder + 1));
        if (ts > max_ts)
            max_ts = ts;
        rc = fl_harness_process(h, &c, sizeof c, ts);
        if (i % 1000 == 999 && rc == 0)
            rc = fl_harness_watermark(h, max_ts - 5000 - 1);
    }
    if (rc == 0)
        rc = fl_harness_watermark(h, FL_WATERMARK_MAX);
    double ns = (thread_cpu_ns() - t0) / (double)n;
    if (rc != 0) {
        fprintf(stderr, "window_op: the operator failed: %s\n", fl_harness_error(h));
        exit(1);
    }
    fl_harness_free(h);
    return ns;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
    uint64_t nr = argc > 2 ? strtoull(argv[2], NULL, 10) : 300000;
    const char *only = argc > 3 ? argv[3] : ""; /* one scenario (profiling) */
    static const scenario tumbling = {"tumbling", FL_TUMBLING_EVENT_TIME, 10000, 10000, 2000,
                                      1, 10, 3000};
    static const scenario sliding = {"sliding", FL_SLIDING_EVENT_TIME, 3600000, 300000,
                                     50000, 8, 1, 3000};
    double a = 0, b = 0, c = 0;
    if (!only[0] || strcmp(only, "tumbling") == 0) {
        a = run(&tumbling, "hashmap", n);
        printf("window_op tumbling hashmap  %10llu records  %8.1f ns/record  %llu results\n",
               (unsigned long long)n, a, (unsigned long long)fired);
    }
    if (!only[0] || strcmp(only, "sliding") == 0) {
        b = run(&sliding, "hashmap", n / 5);
        printf("window_op sliding  hashmap  %10llu records  %8.1f ns/record  %llu results\n",
               (unsigned long long)(n / 5), b, (unsigned long long)fired);
    }
    if (nr && (!only[0] || strcmp(only, "rocksdb") == 0)) {
        c = run(&tumbling, "rocksdb", nr);
        printf("window_op tumbling rocksdb  %10llu records  %8.1f ns/record  %llu results\n",
               (unsigned long long)nr, c, (unsigned long long)fired);
    }
    printf("window_op: tumbling-hashmap=%.0fns/rec sliding-hashmap=%.0fns/rec "
           "tumbling-rocksdb=%.0fns/rec\n", a, b, c);
    return 0;
}
