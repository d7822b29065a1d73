/* check_connectors.c -- the connector API (flint/connectors.h) through the operator test
 * harness: a split source defined here (ranges of integers, one split per range) read
 * partly, snapshotted at parallelism 2 and restored at 3 (every value exactly once, the
 * positions dealt as the JobMaster deals operator state); its per-split watermarks (the
 * minimum over splits, an empty split holding them back until it is idle, idleness of the
 * whole source); and a two-phase-commit sink defined here (a transaction log in memory)
 * whose records become visible only when their checkpoint completes, are committed after
 * a crash from the restored checkpoint, and whose lingering transactions are aborted.
 * Expected values are worked out here from the inputs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flint/connectors.h>

#include "common/api/typed_config.h"
#include "common/util.h"
#include "taskmanager/chain/operator.h"
#include "tests/harness/harness.h"
#include "testutil.h"

#define OK(call) ck_assert_msg((call) == 0, "%s", fl_harness_error(h) ? fl_harness_error(h) : "")

static char base_dir[512];

static void dirs_up(void)
{
    tu_mkdtemp(base_dir, sizeof base_dir);
}

static void dirs_down(void)
{
    fl_remove_tree(base_dir);
}

typedef struct spec {
    Fl__Pb__OperatorSpec op;
    Fl__Pb__WatermarkSpec wm;
} spec;

/* cfg as fl_from_source / fl_sink_to give it (fl_with_config_bytes under
 * FL_CONNECTOR_CONFIG), kept after the spec in the same allocation */
static spec *spec_new(Fl__Pb__OpKind kind, const char *def, const void *cfg, uint32_t len)
{
    spec *s = fl_xcalloc(1, sizeof *s + sizeof(fl_cfg_header) + len);
    fl__pb__operator_spec__init(&s->op);
    fl__pb__watermark_spec__init(&s->wm);
    s->op.kind = kind;
    s->op.name = s->op.uid = (char *)def;
    s->op.fn = (char *)def;
    if (len) {
        fl_cfg_header h = {.magic = FL_CFG_MAGIC, .size = len};
        fl_cfg_type_name(FL_CONNECTOR_CONFIG, h.type);
        uint8_t *buf = (uint8_t *)(s + 1);
        memcpy(buf, &h, sizeof h);
        memcpy(buf + sizeof h, cfg, len);
        s->op.config.data = buf;
        s->op.config.len = (uint32_t)(sizeof h + len);
    }
    return s;
}

/* ---- a split source: NSPLITS ranges of 10 values; value v has timestamp v * 10 ------ */

#define NSPLITS 6
#define PER_SPLIT 10

typedef struct range_split {
    int64_t next, end;
} range_split;

typedef struct range_reader {
    range_split s[16];
    int n;
    int per_poll;
} range_reader;

int ct_range_open(fl_ctx *ctx);
int ct_range_open(fl_ctx *ctx)
{
    range_reader *r = fl_xcalloc(1, sizeof *r);
    uint32_t len;
    const void *cfg = fl_connector_config(ctx, &len);
    r->per_poll = atoi(fl_props_get(cfg, len, "per-poll", "3"));
    fl_ctx_set_user(ctx, r);
    return 0;
}

/* Split i to subtask i % parallelism (the Kafka connector's rule for partitions). With
 * "empty-split" set, one more split that never has a record. */
int ct_range_discover(fl_ctx *ctx);
int ct_range_discover(fl_ctx *ctx)
{
    uint32_t len;
    const void *cfg = fl_connector_config(ctx, &len);
    int nsplits = atoi(fl_props_get(cfg, len, "splits", "6"));
    for (int i = 0; i < nsplits; i++) {
        if (i % fl_ctx_parallelism(ctx) != fl_ctx_subtask(ctx))
            continue;
        range_split sp = {i * 100, i * 100 + PER_SPLIT};
        if (fl_source_add_split(ctx, &sp, sizeof sp) < 0)
            return -1;
    }
    if (*fl_props_get(cfg, len, "empty-split", "")) {
        range_split sp = {0, 0};
        return fl_source_add_split(ctx, &sp, sizeof sp) < 0 ? -1 : 0;
    }
    return 0;
}

int ct_range_add_split(fl_ctx *ctx, int split, const void *state, uint32_t len);
int ct_range_add_split(fl_ctx *ctx, int split, const void *state, uint32_t len)
{
    range_reader *r = fl_ctx_user(ctx);
    ck_assert_uint_eq(len, sizeof(range_split));
    ck_assert_int_eq(split, r->n);
    memcpy(&r->s[r->n++], state, len);
    return 0;
}

/* Up to per_poll values from each split per call; END when every split is done. */
int ct_range_poll(fl_ctx *ctx);
int ct_range_poll(fl_ctx *ctx)
{
    range_reader *r = fl_ctx_user(ctx);
    bool more = false;
    for (int i = 0; i < r->n; i++) {
        for (int k = 0; k < r->per_poll && r->s[i].next < r->s[i].end; k++) {
            int64_t v = r->s[i].next++;
            fl_source_emit(ctx, i, &v, sizeof v, v * 10);
        }
        if (r->s[i].next < r->s[i].end)
            more = true;
        else if (r->s[i].end > 0)
            fl_source_split_finished(ctx, i);
    }
    return more ? FL_SOURCE_MORE : FL_SOURCE_END;
}

uint32_t ct_range_state(fl_ctx *ctx, int split, void *buf, uint32_t cap);
uint32_t ct_range_state(fl_ctx *ctx, int split, void *buf, uint32_t cap)
{
    range_reader *r = fl_ctx_user(ctx);
    memcpy(buf, &r->s[split], sizeof(range_split));
    return sizeof(range_split);
}

void ct_range_close(fl_ctx *ctx);
void ct_range_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

const fl_source_def ct_range_source = {
    .name = "Range",
    .open = ct_range_open,
    .discover = ct_range_discover,
    .add_split = ct_range_add_split,
    .poll = ct_range_poll,
    .split_state = ct_range_state,
    .close = ct_range_close,
};

static void count_records(const fl_harness_output *o, int *seen)
{
    for (int i = 0; i < o->nrecords; i++) {
        int64_t v;
        memcpy(&v, fl_harness_record(o, i)->data, sizeof v);
        ck_assert(v >= 0 && v < NSPLITS * 100);
        seen[v]++;
    }
}

START_TEST(test_source_restore_rescaled)
{
    fl_props p = {0};
    fl_props_set(&p, "per-poll", "3");
    spec *s = spec_new(FL__PB__OP_KIND__SRC_CONNECTOR, "ct_range_source", p.buf, p.len);
    int seen[NSPLITS * 100] = {0};
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 1);
    for (int st = 0; st < 2; st++) {
        fl_err err;
        fl_harness *h = fl_harness_new(&s->op, &(fl_harness_opts){.subtask = st, .parallelism = 2,
                                                                  .checkpointing = true}, &err);
        ck_assert_msg(h != NULL, "%s", err.msg);
        int status;
        OK(fl_harness_poll(h, &status)); /* 3 of each of its 3 splits */
        OK(fl_harness_barrier(h, &c));
        count_records(fl_harness_get_output(h), seen);
        OK(fl_harness_poll(h, &status)); /* after the checkpoint: lost with the crash */
        ck_assert_int_eq(fl_harness_free(h), 0);
    }
    for (int st = 0; st < 3; st++) {
        fl_err err;
        fl_harness *h = fl_harness_new(&s->op, &(fl_harness_opts){.subtask = st, .parallelism = 3,
                                                                  .checkpointing = true,
                                                                  .restore = &c, .failover = true},
                                       &err);
        ck_assert_msg(h != NULL, "%s", err.msg);
        int status = FL_SOURCE_MORE, polls = 0;
        while (status != FL_SOURCE_END && polls++ < 20)
            OK(fl_harness_poll(h, &status));
        ck_assert_int_eq(status, FL_SOURCE_END);
        count_records(fl_harness_get_output(h), seen);
        ck_assert_int_eq(fl_harness_free(h), 0);
    }
    for (int i = 0; i < NSPLITS * 100; i++)
        ck_assert_msg(seen[i] == (i % 100 < PER_SPLIT ? 1 : 0), "value %d seen %d times", i,
                      seen[i]);
    fl_harness_ckpt_free(&c);
    fl_props_free(&p);
    free(s);
}
END_TEST

static int64_t last_watermark(const fl_harness_output *o)
{
    int64_t wm = INT64_MIN;
    for (int i = 0; i < o->n; i++)
        if (o->v[i].kind == FL_HARNESS_WATERMARK)
            wm = o->v[i].at;
    return wm;
}

/* Splits 0 and 1 (values 0.. and 100..., timestamps *10) at one subtask, 3 values per
 * poll, bounded out-of-orderness 5: the watermark is the smaller split's max - 5 - 1. */
START_TEST(test_source_watermarks_per_split)
{
    fl_props p = {0};
    fl_props_set(&p, "splits", "2");
    fl_props_set(&p, "per-poll", "3");
    fl_props_set(&p, "empty-split", "yes");
    for (int idleness = 0; idleness < 2; idleness++) {
        spec *s = spec_new(FL__PB__OP_KIND__SRC_CONNECTOR, "ct_range_source", p.buf, p.len);
        s->wm.kind = FL_WM_BOUNDED;
        s->wm.out_of_orderness_ms = 5;
        s->wm.idle_timeout_ms = idleness ? 1000 : 0;
        s->op.watermarks = &s->wm;
        fl_err err;
        fl_harness *h = fl_harness_new(&s->op, &(fl_harness_opts){.wm_interval_ms = 200,
                                                                  .now_ms = 10000}, &err);
        ck_assert_msg(h != NULL, "%s", err.msg);
        int status;
        OK(fl_harness_poll(h, &status)); /* 0,1,2 and 100,101,102 */
        OK(fl_harness_set_processing_time(h, 10200));
        /* the empty split holds the watermark back: none yet */
        ck_assert_int_eq(last_watermark(fl_harness_get_output(h)), INT64_MIN);
        OK(fl_harness_set_processing_time(h, 11500));
        if (!idleness) {
            ck_assert_int_eq(last_watermark(fl_harness_get_output(h)), INT64_MIN);
        } else {
            /* the empty split is idle now: min(2, 102) * 10 - 5 - 1 -- but split 0 and 1
             * are idle too (no record since 10200), so the source is idle and emits none;
             * a poll makes them active again */
            OK(fl_harness_poll(h, &status)); /* 3,4,5 and 103,104,105 */
            OK(fl_harness_set_processing_time(h, 11700));
            ck_assert_int_eq(last_watermark(fl_harness_get_output(h)), 5 * 10 - 5 - 1);
        }
        ck_assert_int_eq(fl_harness_free(h), 0);
        free(s);
    }
    fl_props_free(&p);
}
END_TEST

/* ---- a two-phase-commit sink: transactions in memory ------------------------------- */

#define MAX_TX 64
static struct {
    int64_t tx_of[MAX_TX];    /* txn id of each slot, -1 free */
    int64_t recs[MAX_TX][64];
    int nrecs[MAX_TX];
    int state[MAX_TX];        /* 0 open, 1 prepared, 2 committed, 3 aborted */
    int64_t next_tx;
} store;

typedef struct tx_writer {
    int slot;
} tx_writer;

static int tx_begin(void)
{
    for (int i = 0; i < MAX_TX; i++)
        if (store.tx_of[i] < 0) {
            store.tx_of[i] = store.next_tx++;
            store.nrecs[i] = 0;
            store.state[i] = 0;
            return i;
        }
    ck_abort_msg("out of transactions");
    return -1;
}

int ct_tx_open(fl_ctx *ctx);
int ct_tx_open(fl_ctx *ctx)
{
    tx_writer *w = fl_xcalloc(1, sizeof *w);
    w->slot = tx_begin();
    fl_ctx_set_user(ctx, w);
    return 0;
}

void ct_tx_write(fl_ctx *ctx, const fl_rec *in);
void ct_tx_write(fl_ctx *ctx, const fl_rec *in)
{
    tx_writer *w = fl_ctx_user(ctx);
    memcpy(&store.recs[w->slot][store.nrecs[w->slot]++], in->data, 8);
}

int ct_tx_pre_commit(fl_ctx *ctx, int64_t id);
int ct_tx_pre_commit(fl_ctx *ctx, int64_t id)
{
    tx_writer *w = fl_ctx_user(ctx);
    store.state[w->slot] = 1;
    int slot = w->slot;
    fl_sink_add_committable(ctx, &slot, sizeof slot);
    w->slot = tx_begin();
    return 0;
}

int ct_tx_commit(fl_ctx *ctx, int64_t id, const void *c, uint32_t len);
int ct_tx_commit(fl_ctx *ctx, int64_t id, const void *c, uint32_t len)
{
    int slot;
    ck_assert_uint_eq(len, sizeof slot);
    memcpy(&slot, c, sizeof slot);
    ck_assert_msg(store.state[slot] == 1 || store.state[slot] == 2, "commit of state %d",
                  store.state[slot]);
    store.state[slot] = 2; /* idempotent */
    return 0;
}

/* Aborts every prepared or open transaction but the writer's own. */
int ct_tx_recover(fl_ctx *ctx, int64_t restored);
int ct_tx_recover(fl_ctx *ctx, int64_t restored)
{
    tx_writer *w = fl_ctx_user(ctx);
    for (int i = 0; i < MAX_TX; i++)
        if (store.tx_of[i] >= 0 && i != w->slot && store.state[i] < 2)
            store.state[i] = 3;
    return 0;
}

void ct_tx_close(fl_ctx *ctx);
void ct_tx_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

const fl_sink_def ct_tx_sink = {
    .name = "Transactions",
    .open = ct_tx_open,
    .write = ct_tx_write,
    .pre_commit = ct_tx_pre_commit,
    .commit = ct_tx_commit,
    .recover = ct_tx_recover,
    .close = ct_tx_close,
};

/* How many times v is in a committed transaction. */
static int committed(int64_t v)
{
    int n = 0;
    for (int i = 0; i < MAX_TX; i++)
        for (int k = 0; store.tx_of[i] >= 0 && store.state[i] == 2 && k < store.nrecs[i]; k++)
            n += store.recs[i][k] == v;
    return n;
}

START_TEST(test_sink_two_phase_commit)
{
    memset(&store, 0, sizeof store);
    for (int i = 0; i < MAX_TX; i++)
        store.tx_of[i] = -1;
    spec *s = spec_new(FL__PB__OP_KIND__SINK_CONNECTOR, "ct_tx_sink", NULL, 0);
    fl_harness_ckpt c1, c2;
    fl_harness_ckpt_init(&c1, base_dir, 1);
    fl_harness_ckpt_init(&c2, base_dir, 2);
    fl_err err;
    fl_harness *h = fl_harness_new(&s->op, &(fl_harness_opts){.checkpointing = true}, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    for (int64_t v = 1; v <= 3; v++)
        OK(fl_harness_process(h, &v, 8, 0));
    OK(fl_harness_barrier(h, &c1));
    ck_assert_int_eq(committed(1), 0); /* pre-committed only */
    OK(fl_harness_notify_complete(h, 1));
    ck_assert_int_eq(committed(1) + committed(2) + committed(3), 3);
    for (int64_t v = 4; v <= 5; v++)
        OK(fl_harness_process(h, &v, 8, 0));
    OK(fl_harness_barrier(h, &c2)); /* completes, but the crash comes before the notice */
    int64_t v6 = 6;
    OK(fl_harness_process(h, &v6, 8, 0)); /* after the checkpoint: replayed */
    ck_assert_int_eq(fl_harness_free(h), 0);
    ck_assert_int_eq(committed(4), 0);
    h = fl_harness_new(&s->op, &(fl_harness_opts){.checkpointing = true, .restore = &c2,
                                                  .failover = true}, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    ck_assert_int_eq(committed(4) + committed(5), 2); /* committed from the checkpoint */
    ck_assert_int_eq(committed(6), 0);                /* its transaction aborted */
    OK(fl_harness_process(h, &v6, 8, 0));
    OK(fl_harness_finish(h)); /* the end of input commits at once */
    for (int64_t v = 1; v <= 6; v++)
        ck_assert_msg(committed(v) == 1, "%lld committed %d times", (long long)v, committed(v));
    ck_assert_int_eq(fl_harness_free(h), 0);
    fl_harness_ckpt_free(&c1);
    fl_harness_ckpt_free(&c2);
    free(s);
}
END_TEST

static Suite *connectors_suite(void)
{
    Suite *s = suite_create("connectors");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_source_restore_rescaled);
    tcase_add_test(tc, test_source_watermarks_per_split);
    tcase_add_test(tc, test_sink_two_phase_commit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(connectors_suite());
}
