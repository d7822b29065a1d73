/* check_windows.c -- unit tests of the window operator (taskmanager/operators/window/),
 * driven in-process through the operator test harness (tests/harness/): the operator is
 * built from an OperatorSpec as its task builds it, records and watermarks are pushed in,
 * and sink operators of the test record what comes out (main output, late side output,
 * and the order of results and watermarks).
 *
 * Covered: window assignment (tumbling and sliding, positive and negative offsets, sizes
 * that do not divide the epoch, negative timestamps), session merging (a bridging element
 * merges two sessions; contents combine by concatenation, the aggregate's merge, or the
 * reduce function; the count trigger's counts add up), trigger results (CONTINUE, FIRE,
 * PURGE, FIRE_AND_PURGE from a custom trigger, count triggers, count windows), allowed
 * lateness (late firings, clean-up at end - 1 + lateness, late elements to the side output
 * or counted as dropped), the count evictor, windowAll, and processing-time windows
 * firing by the wall clock. Every expected window and result is written out here by hand
 * (the windows of the odd sizes were worked out with start = ts - ((ts - offset) mod size)
 * on paper), never computed by the code under test.
 */
#include "common/util.h"
#include "taskmanager/chain/operator.h"
#include "taskmanager/operators/window/window.h"
#include "tests/harness/harness.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* ---- records and the user functions (exported: the operator finds them by name) ---- */

typedef struct ev {
    uint32_t key;
    int32_t val;
} ev;

/* What the process functions emit: the window, the key and a digest of the elements. */
typedef struct res {
    int64_t start, end;
    uint32_t key;  /* 0xffffffff: empty key (windowAll) */
    int32_t n;     /* elements seen */
    int64_t sum;   /* sum of val % 100 */
    int64_t seq;   /* the elements' val % 10, in order, as decimal digits */
} res;

/* The aggregate: count, sum, and how many merges built the accumulator. */
typedef struct acc {
    int64_t n, sum, merges;
} acc;

static uint32_t key_of(fl_ctx *ctx)
{
    uint32_t klen, k = 0xffffffffu;
    const void *key = fl_ctx_key(ctx, &klen);
    if (klen == 4)
        memcpy(&k, key, 4);
    else
        ck_assert_uint_eq(klen, 0);
    return k;
}

void wt_process_all(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out);
void wt_process_all(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out)
{
    res r = {w->start, w->end, key_of(ctx), 0, 0, 0};
    fl_rec e;
    ck_assert_ptr_eq(fl_ctx_window(ctx), w);
    ck_assert_int_eq(fl_ctx_timestamp(ctx), w->end == INT64_MAX ? INT64_MAX : w->end - 1);
    while (fl_iter_next(it, &e)) {
        ev x;
        ck_assert_uint_eq(e.len, sizeof x);
        memcpy(&x, e.data, sizeof x);
        r.n++;
        r.sum += x.val % 100;
        r.seq = r.seq * 10 + x.val % 10;
    }
    fl_emit(out, &r, sizeof r);
}

void wt_sum(fl_ctx *ctx, const fl_rec *a, const fl_rec *b, fl_out *out);
void wt_sum(fl_ctx *ctx, const fl_rec *a, const fl_rec *b, fl_out *out)
{
    ev x, y;
    memcpy(&x, a->data, sizeof x);
    memcpy(&y, b->data, sizeof y);
    x.val += y.val;
    fl_emit(out, &x, sizeof x);
}

/* After reduce: exactly one element, the reduced ev. */
void wt_process_reduced(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out);
void wt_process_reduced(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out)
{
    fl_rec e;
    ev x;
    ck_assert(fl_iter_next(it, &e));
    ck_assert_uint_eq(e.len, sizeof x);
    memcpy(&x, e.data, sizeof x);
    ck_assert(!fl_iter_next(it, &e));
    res r = {w->start, w->end, key_of(ctx), 1, x.val, -1};
    fl_emit(out, &r, sizeof r);
}

void wt_acc_create(void *a);
void wt_acc_create(void *a)
{
    memset(a, 0, sizeof(acc));
}

void wt_acc_add(void *a, const fl_rec *in);
void wt_acc_add(void *a, const fl_rec *in)
{
    acc c;
    ev x;
    memcpy(&c, a, sizeof c);
    memcpy(&x, in->data, sizeof x);
    c.n++;
    c.sum += x.val;
    memcpy(a, &c, sizeof c);
}

uint32_t wt_acc_result(const void *a, void *out, uint32_t cap);
uint32_t wt_acc_result(const void *a, void *out, uint32_t cap)
{
    ck_assert_uint_ge(cap, sizeof(acc));
    memcpy(out, a, sizeof(acc));
    return sizeof(acc);
}

void wt_acc_merge(void *a, const void *other);
void wt_acc_merge(void *a, const void *other)
{
    acc c, o;
    memcpy(&c, a, sizeof c);
    memcpy(&o, other, sizeof o);
    c.n += o.n;
    c.sum += o.sum;
    c.merges += o.merges + 1;
    memcpy(a, &c, sizeof c);
}

/* After aggregate: exactly one element, the acc getResult wrote. */
void wt_process_agg(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out);
void wt_process_agg(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out)
{
    fl_rec e;
    acc c;
    ck_assert(fl_iter_next(it, &e));
    ck_assert_uint_eq(e.len, sizeof c);
    memcpy(&c, e.data, sizeof c);
    ck_assert(!fl_iter_next(it, &e));
    res r = {w->start, w->end, key_of(ctx), (int32_t)c.n, c.sum, c.merges};
    fl_emit(out, &r, sizeof r);
}

/* A custom trigger: an element's val / 100 is the result it returns (0 CONTINUE, 1 FIRE,
 * 2 PURGE, 3 FIRE_AND_PURGE); a timer at the window end fires; "seen" counts elements. */
int wt_trig_element(fl_trigger_ctx *t, const fl_rec *in, int64_t ts, const fl_window *w);
int wt_trig_element(fl_trigger_ctx *t, const fl_rec *in, int64_t ts, const fl_window *w)
{
    ev x;
    int64_t seen = 0;
    memcpy(&x, in->data, sizeof x);
    ck_assert_int_eq(ts, in->ts);
    fl_trigger_register_event_timer(t, w->end - 1);
    fl_trigger_state_get(t, "seen", &seen, sizeof seen);
    seen++;
    fl_trigger_state_put(t, "seen", &seen, sizeof seen);
    return x.val / 100;
}

int wt_trig_event(fl_trigger_ctx *t, int64_t time, const fl_window *w);
int wt_trig_event(fl_trigger_ctx *t, int64_t time, const fl_window *w)
{
    ck_assert_int_ge(fl_trigger_current_watermark(t), time);
    return time == w->end - 1 ? FL_FIRE : FL_CONTINUE;
}

void wt_trig_clear(fl_trigger_ctx *t, const fl_window *w);
void wt_trig_clear(fl_trigger_ctx *t, const fl_window *w)
{
    fl_trigger_delete_event_timer(t, w->end - 1);
    fl_trigger_state_clear(t, "seen");
}

/* Per-window user state: "firings" counts the firings of the window (of the key); the
 * result's seq is that count. */
static fl_value_state *firings_vs;

void wt_process_firings(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out);
void wt_process_firings(fl_ctx *ctx, const fl_window *w, fl_iter *it, fl_out *out)
{
    if (!firings_vs)
        firings_vs = fl_ctx_value_state(ctx, "firings");
    int64_t firings = 0;
    fl_rec e;
    fl_value_get_i64(firings_vs, &firings);
    firings++;
    fl_value_put_i64(firings_vs, firings);
    res r = {w->start, w->end, key_of(ctx), 0, 0, firings};
    while (fl_iter_next(it, &e))
        r.n++;
    fl_emit(out, &r, sizeof r);
}

/* ---- the harness ------------------------------------------------------------------- */

typedef struct got {
    int64_t ts;
    uint32_t len;
    uint8_t data[64];
} got;

typedef struct harness {
    fl_harness *fh;           /* the operator test harness (tests/harness/) */
    fl_op *op;                /* its operator */
    Fl__Pb__OperatorSpec spec;
    Fl__Pb__WindowSpec win;
    Fl__Pb__AggregateSpec agg;
    Fl__Pb__KeySpec key;
    fl_op sink, late_sink;    /* record what reaches them, in the order it does */
    got out[64], late[64];
    int nout, nlate;
    char trace[256]; /* r: a result, w: a watermark, as the sink saw them */
    int ntrace;
} harness;

static harness *H;
static bool use_rocksdb; /* the "rocksdb" test case runs tests on the RocksDB backend */

static void rocksdb_on(void)
{
    use_rocksdb = true;
}

static void sink_record(fl_op *op, const fl_rec *in)
{
    bool is_late = op == &H->late_sink;
    got *g = is_late ? &H->late[H->nlate++] : &H->out[H->nout++];
    ck_assert_int_le(is_late ? H->nlate : H->nout, 64);
    ck_assert_uint_le(in->len, sizeof g->data);
    g->ts = in->ts;
    g->len = in->len;
    memcpy(g->data, in->data, in->len);
    if (!is_late && H->ntrace < (int)sizeof H->trace - 1)
        H->trace[H->ntrace++] = 'r';
}

static void sink_watermark(fl_op *op, int64_t wm)
{
    if (op == &H->sink && H->ntrace < (int)sizeof H->trace - 1)
        H->trace[H->ntrace++] = 'w';
}

static const fl_op_ops sink_ops = {
    .name = "test sink",
    .process = sink_record,
    .process_watermark = sink_watermark,
};

/* A window operator spec: the assigner and its sizes; the caller adds the rest before
 * start(). Process function over all elements unless changed. */
static harness *setup(int assigner, int64_t size, int64_t slide, int64_t offset, int64_t gap)
{
    harness *h = H = fl_xcalloc(1, sizeof *h);
    firings_vs = NULL;
    fl__pb__operator_spec__init(&h->spec);
    fl__pb__window_spec__init(&h->win);
    fl__pb__aggregate_spec__init(&h->agg);
    fl__pb__key_spec__init(&h->key);
    h->key.offset = 0;
    h->key.len = 4;
    h->spec.name = "Window";
    h->spec.uid = "window";
    h->spec.kind = FL__PB__OP_KIND__OP_WINDOW;
    h->spec.keyed = true;
    h->spec.key = &h->key;
    h->spec.window = &h->win;
    h->win.assigner = assigner;
    h->win.size = size;
    h->win.slide = slide;
    h->win.offset = offset;
    h->win.gap = gap;
    h->win.function = 3;
    h->win.process_fn = "wt_process_all";
    return h;
}

static void use_aggregate(harness *h, const char *process_fn)
{
    h->win.function = 2;
    h->win.aggregate = &h->agg;
    h->agg.acc_size = sizeof(acc);
    h->agg.result_max = sizeof(acc);
    h->agg.create_fn = "wt_acc_create";
    h->agg.add_fn = "wt_acc_add";
    h->agg.result_fn = "wt_acc_result";
    h->agg.merge_fn = "wt_acc_merge";
    h->win.process_fn = (char *)process_fn;
}

static void use_reduce(harness *h, const char *process_fn)
{
    h->win.function = 1;
    h->win.reduce_fn = "wt_sum";
    h->win.process_fn = (char *)process_fn;
}

/* The operator in a harness (subtask 1/1, 128 key groups, processing time the wall
 * clock), its output and late side output feeding the test's sinks. */
static void start(harness *h)
{
    fl_err err;
    fl_harness_opts opts = {.backend = use_rocksdb ? "rocksdb" : "hashmap", .wall_clock = true,
                            .side_tags = {"late"}};
    h->fh = fl_harness_new(&h->spec, &opts, &err);
    ck_assert_msg(h->fh != NULL, "%s", err.msg);
    h->op = fl_harness_op(h->fh);
    if (use_rocksdb) { /* the backend made its database under the harness's directory */
        DIR *d = opendir(fl_harness_dir(h->fh));
        int n = 0;
        ck_assert_ptr_nonnull(d);
        for (struct dirent *e; (e = readdir(d));)
            n += e->d_name[0] != '.';
        closedir(d);
        ck_assert_int_gt(n, 0);
    }
    h->sink.ops = &sink_ops;
    h->sink.watermark = FL_NO_WATERMARK;
    h->late_sink = h->sink;
    fl_out_connect_op(&h->op->out, &h->sink);
    ck_assert_int_eq(h->op->nsides, 1);
    fl_out_connect_op(&h->op->sides[0].out, &h->late_sink);
}

static void teardown(void)
{
    harness *h = H;
    if (!h)
        return;
    /* the harness's directory must be empty: the RocksDB backend removed its own */
    ck_assert_int_eq(fl_harness_free(h->fh), 0);
    free(h);
    H = NULL;
}

static void push(harness *h, uint32_t key, int32_t val, int64_t ts)
{
    ev e = {key, val};
    ck_assert_msg(fl_harness_process(h->fh, &e, sizeof e, ts) == 0, "task failed: %s",
                  fl_harness_error(h->fh));
}

static void wm(harness *h, int64_t w)
{
    ck_assert_msg(fl_harness_watermark(h->fh, w) == 0, "task failed: %s",
                  fl_harness_error(h->fh));
}

static bool has_state(harness *h, uint32_t key, int64_t start, int64_t end)
{
    fl_window w = {start, end};
    return fl_window_op_has_state(h->op, &key, 4, &w);
}

/* Output i is the process function's res for [start, end) of key with n elements. */
static void expect_res(harness *h, int i, int64_t start, int64_t end, uint32_t key, int n,
                       int64_t sum, int64_t seq)
{
    res r;
    ck_assert_int_lt(i, h->nout);
    ck_assert_uint_eq(h->out[i].len, sizeof r);
    memcpy(&r, h->out[i].data, sizeof r);
    ck_assert_msg(r.start == start && r.end == end,
                  "output %d: window [%lld, %lld), expected [%lld, %lld)", i,
                  (long long)r.start, (long long)r.end, (long long)start, (long long)end);
    ck_assert_int_eq(h->out[i].ts, end == INT64_MAX ? INT64_MAX : end - 1);
    ck_assert_uint_eq(r.key, key);
    ck_assert_int_eq(r.n, n);
    ck_assert_int_eq(r.sum, sum);
    ck_assert_int_eq(r.seq, seq);
}

static void expect_ev(harness *h, int i, uint32_t key, int32_t val, int64_t ts)
{
    ev x;
    ck_assert_int_lt(i, h->nout);
    ck_assert_uint_eq(h->out[i].len, sizeof x);
    memcpy(&x, h->out[i].data, sizeof x);
    ck_assert_uint_eq(x.key, key);
    ck_assert_int_eq(x.val, val);
    ck_assert_int_eq(h->out[i].ts, ts);
}

static void expect_trace(harness *h, const char *trace)
{
    h->trace[h->ntrace] = '\0';
    ck_assert_str_eq(h->trace, trace);
}

/* ---- assignment -------------------------------------------------------------------- */

START_TEST(test_tumbling_no_offset_negative_ts)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    start(h);
    push(h, 1, 1, -1);
    push(h, 1, 2, -10);
    push(h, 1, 3, -11);
    push(h, 1, 4, 0);
    push(h, 1, 5, 9);
    push(h, 1, 6, 10);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 0, -20, -10, 1, 1, 3, 3);
    expect_res(h, 1, -10, 0, 1, 2, 3, 12);
    expect_res(h, 2, 0, 10, 1, 2, 9, 45);
    expect_res(h, 3, 10, 20, 1, 1, 6, 6);
}
END_TEST

START_TEST(test_tumbling_offsets)
{
    /* offset 3: windows [..., -17, -7, 3, 13, ...) */
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 3, 0);
    start(h);
    push(h, 1, 1, -1); /* -1 - ((-4) mod 10 = 6) = -7 */
    push(h, 1, 2, 2);
    push(h, 1, 3, 3);
    push(h, 1, 4, -8); /* -8 - ((-11) mod 10 = 9) = -17 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -17, -7, 1, 1, 4, 4);
    expect_res(h, 1, -7, 3, 1, 2, 3, 12);
    expect_res(h, 2, 3, 13, 1, 1, 3, 3);
    teardown();

    /* offset -3: windows [..., -13, -3, 7, 17, ...) */
    h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, -3, 0);
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 7);
    push(h, 1, 3, 6);
    push(h, 1, 4, -4); /* -4 - ((-1) mod 10 = 9) = -13 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -13, -3, 1, 1, 4, 4);
    expect_res(h, 1, -3, 7, 1, 2, 4, 13);
    expect_res(h, 2, 7, 17, 1, 1, 2, 2);
}
END_TEST

START_TEST(test_tumbling_sizes_not_dividing_epoch)
{
    /* size 7: 1700000000003 = 7 * 242857142857 + 4 */
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 7, 7, 0, 0);
    start(h);
    push(h, 1, 1, 1700000000003LL);
    push(h, 2, 2, -1700000000003LL); /* = 7 * -242857142858 + 3 */
    push(h, 3, 3, -1);
    push(h, 3, 4, -7);
    push(h, 3, 5, -8);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 0, -1700000000006LL, -1699999999999LL, 2, 1, 2, 2);
    expect_res(h, 1, -14, -7, 3, 1, 5, 5);
    expect_res(h, 2, -7, 0, 3, 2, 7, 34);
    expect_res(h, 3, 1699999999999LL, 1700000000006LL, 1, 1, 1, 1);
    teardown();

    /* size 7 with offsets 2 and -3 */
    h = setup(FL_TUMBLING_EVENT_TIME, 7, 7, 2, 0);
    start(h);
    push(h, 1, 1, 6);  /* 6 - (4 mod 7) = 2 */
    push(h, 1, 2, 1);  /* 1 - ((-1) mod 7 = 6) = -5 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, -5, 2, 1, 1, 2, 2);
    expect_res(h, 1, 2, 9, 1, 1, 1, 1);
    teardown();

    h = setup(FL_TUMBLING_EVENT_TIME, 7, 7, -3, 0);
    start(h);
    push(h, 1, 1, -1); /* -1 - (2 mod 7) = -3 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, -3, 4, 1, 1, 1, 1);
    teardown();

    /* days in UTC+8 (offset -8 h) and UTC-8 (offset +8 h) */
    h = setup(FL_TUMBLING_EVENT_TIME, 86400000, 86400000, -28800000, 0);
    start(h);
    push(h, 1, 1, 1700000000000LL);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 1699977600000LL, 1700064000000LL, 1, 1, 1, 1);
    teardown();

    h = setup(FL_TUMBLING_EVENT_TIME, 86400000, 86400000, 28800000, 0);
    start(h);
    push(h, 1, 1, 1700000000000LL);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 1699948800000LL, 1700035200000LL, 1, 1, 1, 1);
}
END_TEST

START_TEST(test_sliding)
{
    /* size 10 slide 5: ts 7 is in [0, 10) and [5, 15) */
    harness *h = setup(FL_SLIDING_EVENT_TIME, 10, 5, 0, 0);
    start(h);
    push(h, 1, 1, 7);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, 0, 10, 1, 1, 1, 1);
    expect_res(h, 1, 5, 15, 1, 1, 1, 1);
    teardown();

    /* size 10 slide 4 (not a multiple): ts 7 in [0, 10), [4, 14); ts -5 in [-12, -2),
     * [-8, 2) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 4, 0, 0);
    start(h);
    push(h, 1, 1, 7);
    push(h, 2, 2, -5);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 0, -12, -2, 2, 1, 2, 2);
    expect_res(h, 1, -8, 2, 2, 1, 2, 2);
    expect_res(h, 2, 0, 10, 1, 1, 1, 1);
    expect_res(h, 3, 4, 14, 1, 1, 1, 1);
    teardown();

    /* offset 1: ts 7 in [1, 11), [5, 15) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 4, 1, 0);
    start(h);
    push(h, 1, 1, 7);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, 1, 11, 1, 1, 1, 1);
    expect_res(h, 1, 5, 15, 1, 1, 1, 1);
    teardown();

    /* offset -1: ts 7 in three windows [-1, 9), [3, 13), [7, 17) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 4, -1, 0);
    start(h);
    push(h, 1, 1, 7);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -1, 9, 1, 1, 1, 1);
    expect_res(h, 1, 3, 13, 1, 1, 1, 1);
    expect_res(h, 2, 7, 17, 1, 1, 1, 1);
    teardown();

    /* size 10 slide 3 offset -2, negative ts -1: [-8, 2), [-5, 5), [-2, 8) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 3, -2, 0);
    start(h);
    push(h, 1, 1, -1);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -8, 2, 1, 1, 1, 1);
    expect_res(h, 1, -5, 5, 1, 1, 1, 1);
    expect_res(h, 2, -2, 8, 1, 1, 1, 1);
}
END_TEST

/* ---- firing, functions ------------------------------------------------------------- */

START_TEST(test_fires_at_end_minus_one_before_watermark)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_reduce(h, NULL);
    start(h);
    push(h, 1, 1, 1);
    push(h, 1, 2, 5);
    push(h, 2, 4, 3);
    push(h, 1, 8, 12);
    wm(h, 8);
    ck_assert_int_eq(h->nout, 0);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 2);
    expect_ev(h, 0, 1, 3, 9);
    expect_ev(h, 1, 2, 4, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_ev(h, 2, 1, 8, 19);
    /* results come before the watermark that fired them */
    expect_trace(h, "wrrwrw");
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert(!has_state(h, 1, 10, 20));
}
END_TEST

START_TEST(test_window_functions)
{
    /* reduce + process */
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_reduce(h, "wt_process_reduced");
    start(h);
    push(h, 7, 5, 0);
    push(h, 7, 6, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 7, 1, 11, -1);
    teardown();

    /* aggregate alone: getResult's bytes */
    h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_aggregate(h, NULL);
    start(h);
    push(h, 7, 5, 0);
    push(h, 7, 6, 9);
    push(h, 7, 20, 10);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    acc c;
    ck_assert_uint_eq(h->out[0].len, sizeof c);
    memcpy(&c, h->out[0].data, sizeof c);
    ck_assert(c.n == 2 && c.sum == 11 && c.merges == 0);
    ck_assert_int_eq(h->out[0].ts, 9);
    memcpy(&c, h->out[1].data, sizeof c);
    ck_assert(c.n == 1 && c.sum == 20 && c.merges == 0);
    ck_assert_int_eq(h->out[1].ts, 19);
    teardown();

    /* aggregate + process */
    h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_aggregate(h, "wt_process_agg");
    start(h);
    push(h, 7, 5, 0);
    push(h, 7, 6, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 7, 2, 11, 0);
}
END_TEST

START_TEST(test_window_all)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.all = true;
    h->key.len = 0;
    start(h);
    push(h, 1, 1, 1);
    push(h, 2, 2, 2);
    push(h, 3, 3, 3);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 0xffffffffu, 3, 6, 123);
}
END_TEST

START_TEST(test_missing_timestamp_fails)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    start(h);
    ev e = {1, 1};
    ck_assert_int_eq(fl_harness_process(h->fh, &e, sizeof e, FL_NO_TIMESTAMP), -1);
    const char *error = fl_harness_error(h->fh);
    ck_assert_msg(strstr(error, "without a timestamp") != NULL, "%s", error);
}
END_TEST

/* ---- sessions ---------------------------------------------------------------------- */

START_TEST(test_session_bridge_merges_lists)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    start(h);
    push(h, 1, 1, 0);  /* [0, 10) */
    push(h, 1, 2, 18); /* [18, 28) */
    push(h, 2, 7, 50); /* another key: [50, 60) */
    wm(h, 5);
    ck_assert_int_eq(h->nout, 0);
    ck_assert(has_state(h, 1, 0, 10));
    ck_assert(has_state(h, 1, 18, 28));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 3);
    push(h, 1, 3, 9); /* [9, 19) touches both: one session [0, 28) */
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert(!has_state(h, 1, 18, 28));
    ck_assert(has_state(h, 1, 0, 28));
    /* the merged windows' timers went; the merged one's is there */
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 2);
    wm(h, 26);
    ck_assert_int_eq(h->nout, 0);
    wm(h, 27);
    ck_assert_int_eq(h->nout, 1);
    /* contents: the surviving (earliest) session's, the merged one's, then the new element */
    expect_res(h, 0, 0, 28, 1, 3, 6, 123);
    ck_assert(!has_state(h, 1, 0, 28));
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 50, 60, 2, 1, 7, 7);
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

START_TEST(test_session_touching_and_separate)
{
    /* As Flink's TimeWindow.intersects: [0, 10) and [10, 20) touch, so they merge;
     * [0, 10) and [11, 21) stay apart. */
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 10);
    push(h, 2, 3, 0);
    push(h, 2, 4, 11);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, 0, 10, 2, 1, 3, 3);
    expect_res(h, 1, 0, 20, 1, 2, 3, 12);
    expect_res(h, 2, 11, 21, 2, 1, 4, 4);
}
END_TEST

START_TEST(test_session_chain_of_merges)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    start(h);
    push(h, 1, 1, 0);  /* [0, 10) */
    push(h, 1, 2, 12); /* [12, 22) */
    push(h, 1, 3, 24); /* [24, 34) */
    push(h, 1, 4, 10); /* [10, 20) joins the first two: [0, 22) */
    ck_assert(has_state(h, 1, 0, 22));
    ck_assert(has_state(h, 1, 24, 34));
    push(h, 1, 5, 14); /* [14, 24) joins [0, 22) and [24, 34): [0, 34) */
    ck_assert(!has_state(h, 1, 0, 22));
    ck_assert(!has_state(h, 1, 24, 34));
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 34, 1, 5, 15, 12435);
}
END_TEST

START_TEST(test_session_merge_aggregate_and_reduce)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    use_aggregate(h, "wt_process_agg");
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 18);
    push(h, 1, 4, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    /* {1, 1, 0} merged with {1, 2, 0}: {2, 3, 1}; then add 4 */
    expect_res(h, 0, 0, 28, 1, 3, 7, 1);
    teardown();

    h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    use_reduce(h, NULL);
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 18);
    push(h, 1, 4, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_ev(h, 0, 1, 7, 27);
}
END_TEST

START_TEST(test_session_count_trigger_merges_counts)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 18);
    ck_assert_int_eq(h->nout, 0);
    push(h, 1, 3, 9); /* counts 1 + 1 merged, + 1: the third element fires */
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 28, 1, 3, 6, 123);
    wm(h, FL_WATERMARK_MAX); /* a count trigger does not fire on time; clean-up at 27 */
    ck_assert_int_eq(h->nout, 1);
    ck_assert(!has_state(h, 1, 0, 28));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

/* ---- triggers ---------------------------------------------------------------------- */

START_TEST(test_custom_trigger_results)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.trigger = 2;
    h->win.trigger_on_element = "wt_trig_element";
    h->win.trigger_on_event_time = "wt_trig_event";
    h->win.trigger_clear = "wt_trig_clear";
    start(h);
    push(h, 1, 1, 1); /* CONTINUE */
    ck_assert_int_eq(h->nout, 0);
    push(h, 1, 102, 2); /* FIRE: 1, 2 */
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 1, 2, 3, 12);
    push(h, 1, 4, 3); /* CONTINUE */
    push(h, 1, 308, 4); /* FIRE_AND_PURGE: 1, 2, 4, 8, then empty */
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 0, 10, 1, 4, 15, 1248);
    push(h, 1, 16, 5); /* CONTINUE */
    push(h, 1, 232, 6); /* PURGE: nothing emitted, 16 and 32 gone */
    ck_assert_int_eq(h->nout, 2);
    push(h, 1, 64, 7); /* CONTINUE */
    ck_assert(has_state(h, 1, 0, 10));
    wm(h, 9); /* the trigger's timer: FIRE with what is left */
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 2, 0, 10, 1, 1, 64, 4);
    /* the clean-up (same time, no lateness) ran the trigger's clear: nothing remains */
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
}
END_TEST

START_TEST(test_count_trigger_on_time_window)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 100, 100, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    start(h);
    for (int i = 1; i <= 7; i++)
        push(h, 1, i, i);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, 0, 100, 1, 3, 6, 123);
    expect_res(h, 1, 0, 100, 1, 6, 21, 123456); /* FIRE keeps the contents */
    wm(h, 99);                                   /* no time firing; the clean-up clears */
    ck_assert_int_eq(h->nout, 2);
    ck_assert(!has_state(h, 1, 0, 100));
}
END_TEST

START_TEST(test_count_windows)
{
    /* countWindow(3): global windows, fire and purge every 3 */
    harness *h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    h->win.purge_on_fire = true;
    start(h);
    for (int i = 1; i <= 7; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, INT64_MIN, INT64_MAX, 1, 3, 6, 123);
    expect_res(h, 1, INT64_MIN, INT64_MAX, 1, 3, 15, 456);
    teardown();

    /* countWindow(3, 2): the last 3 elements every 2 (CountEvictor + CountTrigger) */
    h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 2;
    h->win.evictor_count = 3;
    start(h);
    for (int i = 1; i <= 7; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, INT64_MIN, INT64_MAX, 1, 2, 3, 12);
    expect_res(h, 1, INT64_MIN, INT64_MAX, 1, 3, 9, 234);
    expect_res(h, 2, INT64_MIN, INT64_MAX, 1, 3, 15, 456);
    teardown();

    /* the same with reduce: the kept elements are folded at firing */
    h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 2;
    h->win.evictor_count = 3;
    use_reduce(h, NULL);
    start(h);
    for (int i = 1; i <= 6; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    ck_assert_int_eq(h->nout, 3);
    expect_ev(h, 0, 1, 3, INT64_MAX);
    expect_ev(h, 1, 1, 9, INT64_MAX);
    expect_ev(h, 2, 1, 15, INT64_MAX);
    teardown();

    /* and aggregate + process with an evictor of 2 */
    h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    h->win.evictor_count = 2;
    use_aggregate(h, "wt_process_agg");
    start(h);
    for (int i = 1; i <= 6; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, INT64_MIN, INT64_MAX, 1, 2, 5, 0);
    expect_res(h, 1, INT64_MIN, INT64_MAX, 1, 2, 11, 0);
}
END_TEST

/* ---- lateness ---------------------------------------------------------------------- */

START_TEST(test_allowed_lateness_side_output)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.allowed_lateness = 5;
    h->win.late_tag = "late";
    start(h);
    push(h, 1, 1, 1);
    push(h, 1, 2, 3);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 1, 2, 3, 12);
    push(h, 1, 3, 4); /* late but within lateness: a late firing with the updated result */
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 0, 10, 1, 3, 6, 123);
    wm(h, 13);
    push(h, 1, 4, 2); /* 9 + 5 > 13: still allowed */
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 2, 0, 10, 1, 4, 10, 1234);
    ck_assert(has_state(h, 1, 0, 10));
    wm(h, 14); /* clean-up at end - 1 + lateness */
    ck_assert_int_eq(h->nout, 3);
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
    push(h, 1, 5, 5); /* 9 + 5 <= 14: too late, to the side output as it came */
    ck_assert_int_eq(h->nout, 3);
    ck_assert_int_eq(h->nlate, 1);
    ev x;
    ck_assert_uint_eq(h->late[0].len, sizeof x);
    memcpy(&x, h->late[0].data, sizeof x);
    ck_assert(x.key == 1 && x.val == 5);
    ck_assert_int_eq(h->late[0].ts, 5);
    ck_assert_uint_eq(fl_window_op_dropped(h->op), 0);
    ck_assert(!has_state(h, 1, 0, 10));
    push(h, 1, 6, 12); /* the next window is fine */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 3, 10, 20, 1, 1, 6, 6);
    ck_assert_int_eq(h->nlate, 1);
}
END_TEST

/* Whether the user state "firings" of key holds a value in namespace window [start, end)
 * (len 16) or in no namespace (len 0). */
static bool has_user_state(harness *h, uint32_t key, int64_t start, int64_t end, uint32_t nslen)
{
    fl_kbackend *kb = h->op->ctx.kb;
    uint8_t ns[16];
    memcpy(ns, &start, 8);
    memcpy(ns + 8, &end, 8);
    fl_kbackend_set_key(kb, &key, 4);
    const void *v;
    uint32_t len;
    return kb->ops->get(fl_kstate_get_or_create(kb, "user:firings"), ns, nslen, &v, &len);
}

START_TEST(test_per_window_user_state)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.allowed_lateness = 5;
    h->win.process_fn = "wt_process_firings";
    start(h);
    push(h, 1, 1, 1);
    push(h, 1, 2, 12);
    push(h, 2, 3, 3);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 2); /* [0,10) of keys 1 and 2: their first firing */
    expect_res(h, 0, 0, 10, 1, 1, 0, 1);
    expect_res(h, 1, 0, 10, 2, 1, 0, 1);
    push(h, 1, 4, 4); /* a late firing of [0,10) sees the window's state: its second */
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 2, 0, 10, 1, 2, 0, 2);
    ck_assert(has_user_state(h, 1, 0, 10, 16));
    ck_assert(!has_user_state(h, 1, 0, 0, 0));
    wm(h, 14); /* clean-up of [0,10): the per-window state goes with it */
    ck_assert(!has_user_state(h, 1, 0, 10, 16));
    ck_assert(!has_user_state(h, 2, 0, 10, 16));
    wm(h, 19); /* [10,20) of key 1: a window of its own, first firing */
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 3, 10, 20, 1, 1, 0, 1);
    wm(h, FL_WATERMARK_MAX);
    ck_assert(!has_user_state(h, 1, 10, 20, 16));
}
END_TEST

START_TEST(test_session_user_state_per_key)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    h->win.process_fn = "wt_process_firings";
    start(h);
    push(h, 1, 1, 1);
    wm(h, 20);
    push(h, 1, 2, 30);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2); /* two sessions of key 1: the state spans both */
    expect_res(h, 0, 1, 11, 1, 1, 0, 1);
    expect_res(h, 1, 30, 40, 1, 1, 0, 2);
    ck_assert(has_user_state(h, 1, 0, 0, 0));
}
END_TEST

START_TEST(test_late_dropped_counted)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    start(h);
    push(h, 1, 1, 1);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 1);
    push(h, 1, 2, 9); /* no lateness: 9 <= 9 is late */
    push(h, 2, 3, 0);
    ck_assert_int_eq(h->nout, 1);
    ck_assert_int_eq(h->nlate, 0);
    ck_assert_uint_eq(fl_window_op_dropped(h->op), 2);
    ck_assert(!has_state(h, 2, 0, 10));
    tu_log_capture();
    fl_log_min_level = FL_LOG_INFO;
    ck_assert_int_eq(fl_harness_free(h->fh), 0); /* the operator is released */
    h->fh = NULL;
    char *log = tu_log_text();
    ck_assert_msg(strstr(log, "dropped 2 late elements") != NULL, "log: %s", log);
    free(log);
    tu_log_release();
}
END_TEST

START_TEST(test_sliding_late_only_when_all_windows_late)
{
    harness *h = setup(FL_SLIDING_EVENT_TIME, 10, 5, 0, 0);
    start(h);
    wm(h, 10);
    push(h, 1, 7, 7); /* [0, 10) is late, [5, 15) is not: kept */
    push(h, 1, 3, 3); /* [-5, 5) and [0, 10) both late: dropped */
    ck_assert_uint_eq(fl_window_op_dropped(h->op), 1);
    ck_assert(!has_state(h, 1, 0, 10));
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 5, 15, 1, 1, 7, 7);
}
END_TEST

START_TEST(test_session_lateness)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    h->win.allowed_lateness = 20;
    h->win.late_tag = "late";
    start(h);
    push(h, 1, 1, 0);
    wm(h, 15);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 1, 1, 1, 1);
    push(h, 1, 2, 5); /* merges into [0, 15), which is past the watermark: fires at once */
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 0, 15, 1, 2, 3, 12);
    wm(h, 34); /* clean-up of [0, 15) at 14 + 20 */
    ck_assert(!has_state(h, 1, 0, 15));
    ck_assert(!has_state(h, 1, 0, 10));
    push(h, 1, 3, 4); /* [4, 14): 13 + 20 <= 34: late */
    ck_assert_int_eq(h->nlate, 1);
    ck_assert_int_eq(h->nout, 2);
    ck_assert(!has_state(h, 1, 4, 14));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

/* ---- processing time --------------------------------------------------------------- */

START_TEST(test_processing_time_by_wall_clock)
{
    harness *h = setup(FL_TUMBLING_PROCESSING_TIME, 200, 200, 0, 0);
    start(h);
    /* start early in a window so the three elements share it */
    int64_t deadline = fl_mono_ms() + 2000;
    while (fl_now_ms() % 200 >= 50 && fl_mono_ms() < deadline)
        usleep(1000);
    int64_t t0 = fl_now_ms();
    push(h, 1, 1, FL_NO_TIMESTAMP);
    push(h, 1, 2, 123); /* event timestamps do not matter */
    push(h, 1, 3, -5);
    int64_t t1 = fl_now_ms();
    ck_assert_msg(t0 / 200 == t1 / 200, "the pushes straddled a window boundary");
    int64_t start_ms = t0 - t0 % 200, end_ms = start_ms + 200;
    wm(h, FL_WATERMARK_MAX); /* event time does not fire processing-time windows */
    fl_op_fire_timers(h->op, FL_TIMER_PROCESSING, fl_now_ms());
    ck_assert_int_eq(h->nout, 0);
    int64_t seen = 0;
    deadline = fl_mono_ms() + 3000;
    while (h->nout == 0 && fl_mono_ms() < deadline) {
        usleep(2000);
        seen = fl_now_ms();
        fl_op_fire_timers(h->op, FL_TIMER_PROCESSING, seen);
    }
    ck_assert_int_eq(h->nout, 1);
    ck_assert_int_ge(seen, end_ms - 1);
    expect_res(h, 0, start_ms, end_ms, 1, 3, 6, 123);
    ck_assert(!has_state(h, 1, start_ms, end_ms));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

static Suite *windows_suite(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("assign");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_tumbling_no_offset_negative_ts);
    tcase_add_test(tc, test_tumbling_offsets);
    tcase_add_test(tc, test_tumbling_sizes_not_dividing_epoch);
    tcase_add_test(tc, test_sliding);
    suite_add_tcase(s, tc);
    tc = tcase_create("functions");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_fires_at_end_minus_one_before_watermark);
    tcase_add_test(tc, test_window_functions);
    tcase_add_test(tc, test_window_all);
    tcase_add_test(tc, test_missing_timestamp_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("sessions");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_session_bridge_merges_lists);
    tcase_add_test(tc, test_session_touching_and_separate);
    tcase_add_test(tc, test_session_chain_of_merges);
    tcase_add_test(tc, test_session_merge_aggregate_and_reduce);
    tcase_add_test(tc, test_session_count_trigger_merges_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("triggers");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_custom_trigger_results);
    tcase_add_test(tc, test_count_trigger_on_time_window);
    tcase_add_test(tc, test_count_windows);
    suite_add_tcase(s, tc);
    tc = tcase_create("lateness");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_allowed_lateness_side_output);
    tcase_add_test(tc, test_late_dropped_counted);
    tcase_add_test(tc, test_sliding_late_only_when_all_windows_late);
    tcase_add_test(tc, test_session_lateness);
    tcase_add_test(tc, test_per_window_user_state);
    tcase_add_test(tc, test_session_user_state_per_key);
    suite_add_tcase(s, tc);
    /* the same paths on RocksDB: values from get live only until the next get */
    tc = tcase_create("rocksdb");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, rocksdb_on, teardown);
    tcase_add_test(tc, test_fires_at_end_minus_one_before_watermark);
    tcase_add_test(tc, test_window_functions);
    tcase_add_test(tc, test_session_bridge_merges_lists);
    tcase_add_test(tc, test_session_chain_of_merges);
    tcase_add_test(tc, test_session_merge_aggregate_and_reduce);
    tcase_add_test(tc, test_session_count_trigger_merges_counts);
    tcase_add_test(tc, test_custom_trigger_results);
    tcase_add_test(tc, test_count_windows);
    tcase_add_test(tc, test_allowed_lateness_side_output);
    tcase_add_test(tc, test_session_lateness);
    tcase_add_test(tc, test_per_window_user_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("processing-time");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_processing_time_by_wall_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    return tu_run(windows_suite());
}
