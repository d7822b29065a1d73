/* windows_util.h -- what the window operator tests (check_windows.c, check_window_lateness.c)
 * share: the records, the user functions the operator finds by name (exported: defined here
 * because each test binary is one .c file that includes this once), and the harness that
 * builds a window operator from its spec, pushes records and watermarks and records what
 * comes out (main output, late side output, the order of results and watermarks).
 */
#ifndef FL_WINDOWS_UTIL_H
#define FL_WINDOWS_UTIL_H

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

static inline uint32_t key_of(fl_ctx *ctx)
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

static inline void rocksdb_on(void)
{
    use_rocksdb = true;
}

static inline void sink_record(fl_op *op, const fl_rec *in)
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

static inline void sink_watermark(fl_op *op, int64_t wm)
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
static inline harness *setup(int assigner, int64_t size, int64_t slide, int64_t offset, int64_t gap)
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

static inline void use_aggregate(harness *h, const char *process_fn)
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

static inline void use_reduce(harness *h, const char *process_fn)
{
    h->win.function = 1;
    h->win.reduce_fn = "wt_sum";
    h->win.process_fn = (char *)process_fn;
}

/* The operator in a harness (subtask 1/1, 128 key groups, processing time the wall
 * clock), its output and late side output feeding the test's sinks. */
static inline void start(harness *h)
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

static inline void teardown(void)
{
    harness *h = H;
    if (!h)
        return;
    /* the harness's directory must be empty: the RocksDB backend removed its own */
    ck_assert_int_eq(fl_harness_free(h->fh), 0);
    free(h);
    H = NULL;
}

static inline void push(harness *h, uint32_t key, int32_t val, int64_t ts)
{
    ev e = {key, val};
    ck_assert_msg(fl_harness_process(h->fh, &e, sizeof e, ts) == 0, "task failed: %s",
                  fl_harness_error(h->fh));
}

static inline void wm(harness *h, int64_t w)
{
    ck_assert_msg(fl_harness_watermark(h->fh, w) == 0, "task failed: %s",
                  fl_harness_error(h->fh));
}

static inline bool has_state(harness *h, uint32_t key, int64_t start, int64_t end)
{
    fl_window w = {start, end};
    return fl_window_op_has_state(h->op, &key, 4, &w);
}

/* Output i is the process function's res for [start, end) of key with n elements. */
static inline void expect_res(harness *h, int i, int64_t start, int64_t end, uint32_t key, int n,
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

static inline void expect_ev(harness *h, int i, uint32_t key, int32_t val, int64_t ts)
{
    ev x;
    ck_assert_int_lt(i, h->nout);
    ck_assert_uint_eq(h->out[i].len, sizeof x);
    memcpy(&x, h->out[i].data, sizeof x);
    ck_assert_uint_eq(x.key, key);
    ck_assert_int_eq(x.val, val);
    ck_assert_int_eq(h->out[i].ts, ts);
}

static inline void expect_trace(harness *h, const char *trace)
{
    h->trace[h->ntrace] = '\0';
    ck_assert_str_eq(h->trace, trace);
}

#endif
