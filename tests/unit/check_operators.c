/* check_operators.c -- every operator kind through the operator test harness
 * (tests/harness/): built from its spec as its task builds it, fed records, watermarks,
 * barriers and processing time, its output read back; for every kind that keeps state,
 * snapshotted and restored into fresh instances, at the same and at another parallelism
 * (the state dealt as the JobMaster deals it), and run on to the end.
 *
 * Kinds: map, flat map, filter, process (with side outputs), keyed process (state and
 * timers), reduce, sum, min, max, minBy, maxBy; the timestamp/watermark assigner; the
 * window operator (check_windows.c tests its semantics; here its state across a rescale);
 * CoMap, CoFlatMap, keyed CoProcess, the broadcast process, the interval join (the sources
 * and sinks: check_sources_sinks.c). Every expected value is worked out here from the inputs, never read from the code
 * under test; records reach the subtasks of a rescaled operator as a keyBy would send them
 * (murmur3 -> key group -> subtask).
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <flint/connectors.h>

#include "common/api/typed_config.h"
#include "common/keygroup.h"
#include "common/util.h"
#include "taskmanager/chain/operator.h"
#include "tests/harness/harness.h"
#include "operators_util.h"

/* ---- record by record -------------------------------------------------------------- */

void ot_double(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_double(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t v;
    memcpy(&v, in->data, sizeof v);
    v *= 2;
    fl_emit(out, &v, sizeof v);
}

void ot_explode(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_explode(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t v;
    memcpy(&v, in->data, sizeof v);
    for (int64_t i = 0; i < v; i++)
        fl_emit_ts(out, &i, sizeof i, in->ts + i);
}

bool ot_even(fl_ctx *ctx, const fl_rec *in);
bool ot_even(fl_ctx *ctx, const fl_rec *in)
{
    int64_t v;
    memcpy(&v, in->data, sizeof v);
    return v % 2 == 0;
}

/* process: the value plus the config's int64 and 1000 x subtask; odd ones also to "odd" */
void ot_tag(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_tag(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t v, add = *fl_ctx_config_as(ctx, int64_t);
    memcpy(&v, in->data, sizeof v);
    ck_assert_int_eq(fl_ctx_timestamp(ctx), in->ts);
    if (v % 2)
        fl_ctx_output(ctx, "odd", &v, sizeof v, in->ts + 1);
    v += add + 1000 * fl_ctx_subtask(ctx);
    fl_emit(out, &v, sizeof v);
}

START_TEST(test_map)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_MAP, "Map", "ot_double");
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    push_i64(h, 1, 10);
    push_i64(h, -7, 11);
    OK(fl_harness_watermark(h, 11));
    push_i64(h, 21, FL_NO_TIMESTAMP);
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->n, 4); /* record, record, watermark, record: in that order */
    ck_assert_int_eq(i64_at(o, 0), 2);
    ck_assert_int_eq(o->v[0].at, 10);
    ck_assert_int_eq(i64_at(o, 1), -14);
    ck_assert_int_eq(o->v[2].kind, FL_HARNESS_WATERMARK);
    ck_assert_int_eq(o->v[2].at, 11);
    ck_assert_int_eq(i64_at(o, 2), 42);
    ck_assert_int_eq(o->v[3].at, FL_NO_TIMESTAMP);
    close_h(h);
    free(s);
}
END_TEST

START_TEST(test_flat_map)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_FLAT_MAP, "FlatMap", "ot_explode");
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    push_i64(h, 3, 100);
    push_i64(h, 0, 200);
    push_i64(h, 1, 300);
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->nrecords, 4);
    int64_t want[][2] = {{0, 100}, {1, 101}, {2, 102}, {0, 300}};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(i64_at(o, i), want[i][0]);
        ck_assert_int_eq(fl_harness_record(o, i)->at, want[i][1]);
    }
    close_h(h);
    free(s);
}
END_TEST

START_TEST(test_filter)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_FILTER, "Filter", "ot_even");
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    for (int64_t v = -3; v <= 4; v++)
        push_i64(h, v, v);
    const fl_harness_output *o = fl_harness_get_output(h);
    int64_t want[] = {-2, 0, 2, 4};
    ck_assert_int_eq(o->nrecords, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(i64_at(o, i), want[i]);
        ck_assert_int_eq(fl_harness_record(o, i)->at, want[i]);
    }
    close_h(h);
    free(s);
}
END_TEST

/* The typed configuration: read as another type, or by an operator that has none, the task
 * fails with a message naming the call (the value read is zeros, never NULL). */
START_TEST(test_config_type_checked)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_PROCESS, "Process", "ot_tag");
    int32_t small = 5;
    fl_cfg_header hd = {.magic = FL_CFG_MAGIC, .size = sizeof small};
    fl_cfg_type_name("int32_t", hd.type);
    uint8_t cfg[sizeof hd + sizeof small];
    memcpy(cfg, &hd, sizeof hd);
    memcpy(cfg + sizeof hd, &small, sizeof small);
    s->op.config.data = cfg;
    s->op.config.len = sizeof cfg;
    fl_harness *h = open_h(s, &(fl_harness_opts){.side_tags = {"odd"}});
    int64_t v = 1;
    ck_assert_int_ne(fl_harness_process(h, &v, sizeof v, 1), 0);
    ck_assert_msg(strstr(fl_harness_error(h), "fl_ctx_config_as(ctx, int64_t): this "
                                              "operator's configuration is a 'int32_t' of 4 "
                                              "bytes, not a 'int64_t' of 8 bytes"),
                  "%s", fl_harness_error(h));
    fl_harness_free(h);

    s->op.config.data = NULL;
    s->op.config.len = 0;
    h = open_h(s, &(fl_harness_opts){.side_tags = {"odd"}});
    ck_assert_int_ne(fl_harness_process(h, &v, sizeof v, 1), 0);
    ck_assert_msg(strstr(fl_harness_error(h), "fl_ctx_config_as(ctx, int64_t): this operator "
                                              "has no configuration"),
                  "%s", fl_harness_error(h));
    fl_harness_free(h);
    free(s);
}
END_TEST

START_TEST(test_process_side_output)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_PROCESS, "Process", "ot_tag");
    int64_t add = 5;
    uint8_t cfg[sizeof(fl_cfg_header) + sizeof add];
    set_config_i64(s, cfg, add);
    fl_harness *h = open_h(s, &(fl_harness_opts){.subtask = 2, .parallelism = 3,
                                                  .side_tags = {"odd"}});
    push_i64(h, 1, 7);
    push_i64(h, 2, 8);
    push_i64(h, 3, 9);
    OK(fl_harness_watermark(h, 9)); /* to the side output too */
    const fl_harness_output *o = fl_harness_get_output(h), *odd =
        fl_harness_get_side_output(h, "odd");
    ck_assert_int_eq(o->nrecords, 3);
    ck_assert_int_eq(i64_at(o, 0), 2006);
    ck_assert_int_eq(i64_at(o, 2), 2008);
    ck_assert_int_eq(odd->nrecords, 2);
    ck_assert_int_eq(i64_at(odd, 0), 1);
    ck_assert_int_eq(fl_harness_record(odd, 0)->at, 8);
    ck_assert_int_eq(i64_at(odd, 1), 3);
    ck_assert_int_eq(odd->v[odd->n - 1].kind, FL_HARNESS_WATERMARK);
    close_h(h);
    free(s);
}
END_TEST

/* The missing function is named, and the harness reports the failure of a record. */
START_TEST(test_function_not_found)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_MAP, "Map", "ot_no_such_function");
    fl_err err;
    ck_assert_ptr_null(fl_harness_new(&s->op, &(fl_harness_opts){0}, &err));
    ck_assert_msg(strstr(err.msg, "ot_no_such_function") != NULL, "%s", err.msg);
    s->op.kind = (Fl__Pb__OpKind)999;
    ck_assert_ptr_null(fl_harness_new(&s->op, &(fl_harness_opts){0}, &err));
    ck_assert_msg(strstr(err.msg, "unknown operator kind 999") != NULL, "%s", err.msg);
    free(s);
}
END_TEST

/* ---- keyed process: state and timers, across a rescale ----------------------------- */

/* Counts the records of each key (value state "count"); every record sets an event timer
 * at its timestamp + 100, which emits (key, count). */
void ot_count_open(fl_ctx *ctx);
void ot_count_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "count"));
}

void ot_count(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_count(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *vs = fl_ctx_user(ctx);
    int64_t n = 0;
    fl_value_get_i64(vs, &n);
    n++;
    fl_value_put_i64(vs, n);
    fl_ctx_register_event_timer(ctx, in->ts + 100);
}

void ot_count_timer(fl_ctx *ctx, int64_t ts, fl_out *out);
void ot_count_timer(fl_ctx *ctx, int64_t ts, fl_out *out)
{
    fl_value_state *vs = fl_ctx_user(ctx);
    kv r = {0, -1};
    ck_assert(fl_ctx_key_as(ctx, uint32_t, &r.key)); /* the timer's key (getCurrentKey) */
    int64_t n;
    if (fl_value_get_i64(vs, &n))
        r.val = (int32_t)n;
    ck_assert_int_eq(fl_ctx_timestamp(ctx), ts);
    fl_emit(out, &r, sizeof r);
}

static void keyed_process_rescale(const char *backend)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_PROCESS, "Counter", "ot_count");
    keyed(s);
    s->op.open_fn = "ot_count_open";
    s->op.timer_fn = "ot_count_timer";
    fl_harness *hs[3];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 1);
    open_all(hs, s, 2, NULL, backend);
    for (uint32_t k = 1; k <= 20; k++)
        for (uint32_t i = 0; i <= k % 3; i++)
            send_kv(hs, 2, k, 0, 10);
    for (int i = 0; i < 2; i++) /* timers are pending: nothing yet */
        ck_assert_int_eq(fl_harness_get_output(hs[i])->nrecords, 0);
    snapshot_all(hs, 2, &c);
    open_all(hs, s, 3, &c, backend); /* key groups move: 2 subtasks' state over 3 */
    for (uint32_t k = 1; k <= 20; k++)
        send_kv(hs, 3, k, 0, 20);
    int seen[21][2] = {{0}};
    for (int i = 0; i < 3; i++) {
        fl_harness *h = hs[i];
        OK(fl_harness_watermark(h, FL_WATERMARK_MAX));
        const fl_harness_output *o = fl_harness_get_output(h);
        for (int j = 0; j < o->nrecords; j++) {
            kv r = kv_at(o, j);
            int64_t at = fl_harness_record(o, j)->at;
            ck_assert_uint_ge(r.key, 1);
            ck_assert_uint_le(r.key, 20);
            ck_assert_int_eq(subtask_of(r.key, 3), i); /* each key where it lives now */
            ck_assert_int_eq(r.val, (int32_t)(r.key % 3 + 2)); /* restored count + 1 */
            ck_assert(at == 110 || at == 120);
            seen[r.key][at == 120]++;
        }
        close_h(h);
    }
    for (int k = 1; k <= 20; k++) /* the restored timer (110) and the new one (120), once */
        ck_assert_msg(seen[k][0] == 1 && seen[k][1] == 1, "key %d fired %d+%d times", k,
                      seen[k][0], seen[k][1]);
    fl_harness_ckpt_free(&c);
    free(s);
}

START_TEST(test_keyed_process_rescale)
{
    keyed_process_rescale("hashmap");
}
END_TEST

START_TEST(test_keyed_process_rescale_rocksdb)
{
    keyed_process_rescale("rocksdb");
}
END_TEST

/* A keyed process function's processing-time timers fire when processing time moves. */
void ot_proc_timer(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_proc_timer(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_ctx_register_processing_timer(ctx, fl_ctx_current_processing_time(ctx) + 50);
}

void ot_proc_fired(fl_ctx *ctx, int64_t ts, fl_out *out);
void ot_proc_fired(fl_ctx *ctx, int64_t ts, fl_out *out)
{
    ck_assert_int_eq(fl_ctx_time_domain(ctx), FL_PROCESSING_TIME);
    fl_emit(out, &ts, sizeof ts);
}

START_TEST(test_processing_time_timers)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_PROCESS, "Later", "ot_proc_timer");
    keyed(s);
    s->op.timer_fn = "ot_proc_fired";
    fl_harness *h = open_h(s, &(fl_harness_opts){.now_ms = 1000});
    kv r = {7, 0};
    OK(fl_harness_process(h, &r, sizeof r, 1));
    OK(fl_harness_set_processing_time(h, 1049));
    ck_assert_int_eq(fl_harness_get_output(h)->nrecords, 0);
    OK(fl_harness_set_processing_time(h, 1050));
    ck_assert_int_eq(fl_harness_get_output(h)->nrecords, 1);
    ck_assert_int_eq(i64_at(fl_harness_get_output(h), 0), 1050);
    close_h(h);
    free(s);
}
END_TEST

/* A keyBy with one consumer sends every record to it without taking the key (writer.c): the
 * keyed operator is where a record too short for its key fails the task, with a message. */
START_TEST(test_record_without_its_key)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_PROCESS, "Later", "ot_proc_timer");
    keyed(s);
    s->op.timer_fn = "ot_proc_fired";
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    uint16_t half = 7; /* 2 bytes; the key is the first 4 */
    ck_assert_int_eq(fl_harness_process(h, &half, sizeof half, 1), -1);
    ck_assert_msg(strstr(fl_harness_error(h), "cannot take the key of a 2-byte record") != NULL,
                  "%s", fl_harness_error(h));
    ck_assert_int_eq(fl_harness_get_output(h)->nrecords, 0);
    close_h(h);
    free(s);
}
END_TEST

/* ---- rolling aggregations ------------------------------------------------------------ */

void ot_sum_kv(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out);
void ot_sum_kv(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out)
{
    kv a, b;
    memcpy(&a, acc->data, sizeof a);
    memcpy(&b, in->data, sizeof b);
    a.val += b.val;
    fl_emit(out, &a, sizeof a);
}

START_TEST(test_reduce_rescale)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_REDUCE, "Reduce", "ot_sum_kv");
    keyed(s);
    fl_harness *hs[2];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 4);
    open_all(hs, s, 2, NULL, NULL);
    int64_t sum[11] = {0};
    for (uint32_t k = 1; k <= 10; k++)
        for (int32_t v = 1; v <= (int32_t)k; v++) {
            send_kv(hs, 2, k, v, v);
            sum[k] += v;
            const fl_harness_output *o = fl_harness_get_output(hs[subtask_of(k, 2)]);
            kv last = kv_at(o, o->nrecords - 1); /* the running sum, for every record */
            ck_assert_uint_eq(last.key, k);
            ck_assert_int_eq(last.val, sum[k]);
        }
    snapshot_all(hs, 2, &c);
    open_all(hs, s, 1, &c, NULL); /* both subtasks' keys into one */
    for (uint32_t k = 1; k <= 10; k++) {
        send_kv(hs, 1, k, 100, 50);
        const fl_harness_output *o = fl_harness_get_output(hs[0]);
        ck_assert_int_eq(kv_at(o, o->nrecords - 1).val, sum[k] + 100);
    }
    close_h(hs[0]);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

typedef struct arec {
    uint32_t key;
    int32_t a;
    int64_t b;
    double c;
} arec;

/* Feeds (a, b, c) rows of key 1 to an aggregation of kind on field (offset, type) and
 * checks the rolling outputs against want. */
static void aggregation(Fl__Pb__OpKind kind, uint32_t offset, uint32_t type, const arec *in,
                        const arec *want, int n)
{
    spec *s = spec_new(kind, "Aggregation", NULL);
    keyed(s);
    s->op.field_offset = offset;
    s->op.field_type = type;
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    for (int i = 0; i < n; i++)
        OK(fl_harness_process(h, &in[i], sizeof in[i], i));
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->nrecords, n);
    for (int i = 0; i < n; i++) {
        arec got;
        const fl_harness_elem *e = fl_harness_record(o, i);
        ck_assert_uint_eq(e->len, sizeof got);
        memcpy(&got, e->data, sizeof got);
        ck_assert_msg(got.key == want[i].key && got.a == want[i].a && got.b == want[i].b &&
                          got.c == want[i].c,
                      "output %d: (%u, %d, %lld, %g)", i, got.key, got.a, (long long)got.b,
                      got.c);
    }
    close_h(h);
    free(s);
}

START_TEST(test_aggregations)
{
    const arec in[] = {{1, 5, 50, 0.5}, {1, 7, 30, 2.5}, {1, -2, 90, 1.5}, {1, 7, 30, -1}};
    /* sum/min/max: the field of the first record, updated; its other fields stay */
    const arec sum[] = {{1, 5, 50, 0.5}, {1, 12, 50, 0.5}, {1, 10, 50, 0.5}, {1, 17, 50, 0.5}};
    const arec min[] = {{1, 5, 50, 0.5}, {1, 5, 30, 0.5}, {1, 5, 30, 0.5}, {1, 5, 30, 0.5}};
    const arec max[] = {{1, 5, 50, 0.5}, {1, 5, 50, 2.5}, {1, 5, 50, 2.5}, {1, 5, 50, 2.5}};
    /* minBy/maxBy: the whole record holding the minimum/maximum, the first on ties */
    const arec min_by[] = {{1, 5, 50, 0.5}, {1, 5, 50, 0.5}, {1, -2, 90, 1.5}, {1, -2, 90, 1.5}};
    const arec max_by[] = {{1, 5, 50, 0.5}, {1, 7, 30, 2.5}, {1, 7, 30, 2.5}, {1, 7, 30, 2.5}};
    aggregation(FL__PB__OP_KIND__OP_SUM, offsetof(arec, a), FL_I32, in, sum, 4);
    aggregation(FL__PB__OP_KIND__OP_MIN, offsetof(arec, b), FL_I64, in, min, 4);
    aggregation(FL__PB__OP_KIND__OP_MAX, offsetof(arec, c), FL_F64, in, max, 4);
    aggregation(FL__PB__OP_KIND__OP_MIN_BY, offsetof(arec, a), FL_I32, in, min_by, 4);
    aggregation(FL__PB__OP_KIND__OP_MAX_BY, offsetof(arec, a), FL_I32, in, max_by, 4);
}
END_TEST

START_TEST(test_aggregation_state_restored)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_SUM, "Sum", NULL);
    keyed(s);
    s->op.field_offset = offsetof(arec, b);
    s->op.field_type = FL_I64;
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 2);
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    arec r = {3, 0, 40, 0};
    OK(fl_harness_process(h, &r, sizeof r, 1));
    OK(fl_harness_process(h, &r, sizeof r, 2));
    OK(fl_harness_barrier(h, &c));
    close_h(h);
    h = open_h(s, &(fl_harness_opts){.restore = &c});
    r.b = 1;
    OK(fl_harness_process(h, &r, sizeof r, 3));
    arec got;
    memcpy(&got, fl_harness_record(fl_harness_get_output(h), 0)->data, sizeof got);
    ck_assert_int_eq(got.b, 81);
    close_h(h);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* ---- timestamps and watermarks --------------------------------------------------------- */

int64_t ot_ts(const fl_rec *in);
int64_t ot_ts(const fl_rec *in)
{
    int64_t v;
    memcpy(&v, in->data, sizeof v);
    return v;
}

static spec *assigner_spec(int64_t ooo)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_ASSIGN_WATERMARKS, "Timestamps/Watermarks", NULL);
    s->wm.kind = FL_WM_BOUNDED;
    s->wm.out_of_orderness_ms = ooo;
    s->wm.timestamp_fn = "ot_ts";
    s->op.watermarks = &s->wm;
    return s;
}

/* Expects out's elements from `from` on: kinds R (record) / W (watermark) with values. */
static void expect_elems(const fl_harness_output *o, int from, const char *kinds,
                         const int64_t *at)
{
    int n = (int)strlen(kinds);
    ck_assert_int_eq(o->n - from, n);
    for (int i = 0; i < n; i++) {
        const fl_harness_elem *e = &o->v[from + i];
        ck_assert_int_eq(e->kind, kinds[i] == 'R' ? FL_HARNESS_RECORD : FL_HARNESS_WATERMARK);
        ck_assert_msg(e->at == at[i], "element %d at %lld, expected %lld", from + i,
                      (long long)e->at, (long long)at[i]);
    }
}

START_TEST(test_assigner_per_record_and_restore)
{
    spec *s = assigner_spec(5);
    fl_harness *hs[2];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 1);
    open_all(hs, s, 2, NULL, NULL);
    fl_harness *h = hs[0];
    push_i64(h, 10, FL_NO_TIMESTAMP); /* the assigner gives the record its timestamp */
    push_i64(h, 7, FL_NO_TIMESTAMP);
    push_i64(h, 20, FL_NO_TIMESTAMP);
    OK(fl_harness_watermark(h, 100)); /* upstream watermarks are replaced by its own */
    expect_elems(fl_harness_get_output(h), 0, "RWRRW", (int64_t[]){10, 4, 7, 20, 14});
    h = hs[1];
    push_i64(h, 50, FL_NO_TIMESTAMP);
    snapshot_all(hs, 2, &c);
    /* one subtask from both: the smaller position, so that no record is judged later */
    h = open_h(s, &(fl_harness_opts){.restore = &c});
    push_i64(h, 15, FL_NO_TIMESTAMP);
    push_i64(h, 26, FL_NO_TIMESTAMP);
    OK(fl_harness_watermark(h, FL_WATERMARK_MAX)); /* the end of input passes */
    expect_elems(fl_harness_get_output(h), 0, "WRRWW",
                 (int64_t[]){14, 15, 26, 20, FL_WATERMARK_MAX});
    close_h(h);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

START_TEST(test_assigner_periodic)
{
    spec *s = assigner_spec(0);
    fl_harness *h = open_h(s, &(fl_harness_opts){.wm_interval_ms = 200, .now_ms = 1000});
    push_i64(h, 100, FL_NO_TIMESTAMP);
    push_i64(h, 140, FL_NO_TIMESTAMP);
    OK(fl_harness_set_processing_time(h, 1200));
    push_i64(h, 130, FL_NO_TIMESTAMP);
    OK(fl_harness_set_processing_time(h, 1400)); /* no new maximum: no new watermark */
    expect_elems(fl_harness_get_output(h), 0, "RRWR", (int64_t[]){100, 140, 139, 130});
    close_h(h);
    free(s);
}
END_TEST

/* ---- windows: contents and timers across a rescale -------------------------------------- */

START_TEST(test_window_rescale)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_WINDOW, "Window", NULL);
    keyed(s);
    s->win.assigner = FL_TUMBLING_EVENT_TIME;
    s->win.size = s->win.slide = 10;
    s->win.function = 1; /* reduce */
    s->win.reduce_fn = "ot_sum_kv";
    s->op.window = &s->win;
    fl_harness *hs[3];
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 7);
    open_all(hs, s, 2, NULL, NULL);
    int32_t sum[13] = {0};
    for (uint32_t k = 1; k <= 12; k++)
        for (int32_t v = 1; v <= 3; v++) {
            send_kv(hs, 2, k, v * (int32_t)k, v);
            sum[k] += v * (int32_t)k;
        }
    snapshot_all(hs, 2, &c);
    open_all(hs, s, 3, &c, NULL);
    for (uint32_t k = 1; k <= 12; k++) {
        send_kv(hs, 3, k, 1000, 9); /* the same window [0, 10) */
        send_kv(hs, 3, k, 1, 15);   /* the next one */
    }
    int fired[13][2] = {{0}};
    for (int i = 0; i < 3; i++) {
        fl_harness *h = hs[i];
        OK(fl_harness_watermark(h, FL_WATERMARK_MAX));
        const fl_harness_output *o = fl_harness_get_output(h);
        for (int j = 0; j < o->nrecords; j++) {
            kv r = kv_at(o, j);
            int64_t at = fl_harness_record(o, j)->at;
            ck_assert_int_eq(subtask_of(r.key, 3), i);
            if (at == 9) {
                ck_assert_int_eq(r.val, sum[r.key] + 1000);
                fired[r.key][0]++;
            } else {
                ck_assert_int_eq(at, 19);
                ck_assert_int_eq(r.val, 1);
                fired[r.key][1]++;
            }
        }
        close_h(h);
    }
    for (int k = 1; k <= 12; k++)
        ck_assert_msg(fired[k][0] == 1 && fired[k][1] == 1, "key %d: %d, %d firings", k,
                      fired[k][0], fired[k][1]);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* ---- two inputs ---------------------------------------------------------------------- */

void ot_neg(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_neg(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t v;
    memcpy(&v, in->data, sizeof v);
    v = -v - 100 * fl_ctx_input(ctx);
    fl_emit(out, &v, sizeof v);
}

START_TEST(test_co_map_watermarks)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_CO_MAP, "CoMap", "ot_double");
    s->op.fn2 = "ot_neg";
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    push_i64(h, 3, 1);
    OK(fl_harness_process2(h, &(int64_t){4}, 8, 2));
    OK(fl_harness_watermark(h, 10));  /* the other input has none yet: no watermark */
    OK(fl_harness_watermark2(h, 5));  /* the minimum of both */
    OK(fl_harness_watermark(h, 20));  /* still 5 */
    OK(fl_harness_watermark2(h, 30)); /* 20 */
    expect_elems(fl_harness_get_output(h), 0, "RRWW", (int64_t[]){1, 2, 5, 20});
    ck_assert_int_eq(i64_at(fl_harness_get_output(h), 0), 6);
    ck_assert_int_eq(i64_at(fl_harness_get_output(h), 1), -204);
    close_h(h);
    free(s);
}
END_TEST

START_TEST(test_co_flat_map)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_CO_FLAT_MAP, "CoFlatMap", "ot_explode");
    s->op.fn2 = "ot_neg";
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    push_i64(h, 2, 10);
    OK(fl_harness_process2(h, &(int64_t){1}, 8, 20));
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->nrecords, 3);
    ck_assert_int_eq(i64_at(o, 1), 1);
    ck_assert_int_eq(i64_at(o, 2), -201);
    close_h(h);
    free(s);
}
END_TEST

/* Keyed CoProcess: one count per key across both inputs, timers, restored. */
START_TEST(test_keyed_co_process_restore)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_CO_PROCESS, "CoProcess", "ot_count");
    keyed(s);
    s->op.fn2 = "ot_count";
    s->op.open_fn = "ot_count_open";
    s->op.timer_fn = "ot_count_timer";
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 2);
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    kv a = {5, 0}, b = {6, 0};
    OK(fl_harness_process(h, &a, sizeof a, 1));
    OK(fl_harness_process2(h, &a, sizeof a, 2));
    OK(fl_harness_process2(h, &b, sizeof b, 3));
    OK(fl_harness_barrier(h, &c));
    close_h(h);
    h = open_h(s, &(fl_harness_opts){.restore = &c});
    OK(fl_harness_process(h, &a, sizeof a, 4));
    OK(fl_harness_watermark(h, 200));
    OK(fl_harness_watermark2(h, 200));
    const fl_harness_output *o = fl_harness_get_output(h);
    int n5 = 0, n6 = 0;
    for (int j = 0; j < o->nrecords; j++) {
        kv r = kv_at(o, j);
        if (r.key == 5) {
            ck_assert_int_eq(r.val, 3);
            n5++;
        } else {
            ck_assert_int_eq(r.key, 6);
            ck_assert_int_eq(r.val, 1);
            n6++;
        }
    }
    ck_assert_int_eq(n5, 3); /* timers 101, 102 (restored), 104 */
    ck_assert_int_eq(n6, 1);
    close_h(h);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* The broadcast state pattern: the second input writes a factor into the broadcast state,
 * the first multiplies by it; every subtask gets the state back at another parallelism. */
void ot_bc_element(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_bc_element(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_map_state *rules = fl_ctx_broadcast_state(ctx, "rules");
    int64_t v, factor = 1;
    memcpy(&v, in->data, sizeof v);
    fl_map_get_i64(rules, "factor", 6, &factor);
    v *= factor;
    fl_emit(out, &v, sizeof v);
    if (v < 0)
        fl_map_put_i64(rules, "factor", 6, v); /* read-only here: fails the task */
}

void ot_bc_rule(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_bc_rule(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_map_put_bytes(fl_ctx_broadcast_state(ctx, "rules"), "factor", 6, in->data, in->len);
}

START_TEST(test_broadcast_process_rescale)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_BROADCAST_PROCESS, "Broadcast", "ot_bc_element");
    s->op.fn2 = "ot_bc_rule";
    s->op.broadcast_state = "rules";
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 3);
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    push_i64(h, 2, 1);
    OK(fl_harness_process2(h, &(int64_t){10}, 8, 2));
    push_i64(h, 3, 3);
    ck_assert_int_eq(i64_at(fl_harness_get_output(h), 0), 2);
    ck_assert_int_eq(i64_at(fl_harness_get_output(h), 1), 30);
    OK(fl_harness_barrier(h, &c));
    close_h(h);
    fl_harness *hs[2];
    open_all(hs, s, 2, &c, NULL);
    for (int i = 0; i < 2; i++) {
        push_i64(hs[i], 4, 5);
        ck_assert_int_eq(i64_at(fl_harness_get_output(hs[i]), 0), 40);
    }
    ck_assert_int_eq(fl_harness_process(hs[1], &(int64_t){-1}, 8, 6), -1);
    ck_assert_msg(strstr(fl_harness_error(hs[1]), "read-only") != NULL, "%s",
                  fl_harness_error(hs[1]));
    close_h(hs[0]);
    close_h(hs[1]);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

/* Interval join [-5, +5]: a left record waits in the state, across a restore, for its right
 * partner; late records and records beyond the bounds join nothing. */
void ot_join(fl_ctx *ctx, const fl_rec *left, const fl_rec *right, fl_out *out);
void ot_join(fl_ctx *ctx, const fl_rec *left, const fl_rec *right, fl_out *out)
{
    kv l, r;
    memcpy(&l, left->data, sizeof l);
    memcpy(&r, right->data, sizeof r);
    kv j = {l.key, l.val * 1000 + r.val};
    fl_emit(out, &j, sizeof j);
}

START_TEST(test_interval_join_restore)
{
    spec *s = spec_new(FL__PB__OP_KIND__OP_INTERVAL_JOIN, "Join", "ot_join");
    keyed(s);
    s->op.lower_ms = -5;
    s->op.upper_ms = 5;
    fl_harness_ckpt c;
    fl_harness_ckpt_init(&c, base_dir, 9);
    fl_harness *h = open_h(s, &(fl_harness_opts){0});
    kv l1 = {1, 1}, l2 = {2, 2};
    OK(fl_harness_process(h, &l1, sizeof l1, 10));
    OK(fl_harness_process(h, &l2, sizeof l2, 10));
    OK(fl_harness_barrier(h, &c));
    close_h(h);
    h = open_h(s, &(fl_harness_opts){.restore = &c});
    kv r1 = {1, 7}, r2 = {2, 8}, r3 = {1, 9};
    OK(fl_harness_process2(h, &r1, sizeof r1, 14)); /* 14 - 10 <= 5: joins */
    OK(fl_harness_process2(h, &r2, sizeof r2, 16)); /* 16 - 10 > 5: does not */
    OK(fl_harness_watermark(h, 30));
    OK(fl_harness_watermark2(h, 30));
    OK(fl_harness_process2(h, &r3, sizeof r3, 11)); /* late: dropped */
    const fl_harness_output *o = fl_harness_get_output(h);
    ck_assert_int_eq(o->nrecords, 1);
    kv j = kv_at(o, 0);
    ck_assert_int_eq(j.key, 1);
    ck_assert_int_eq(j.val, 1007);
    ck_assert_int_eq(fl_harness_record(o, 0)->at, 14);
    close_h(h);
    fl_harness_ckpt_free(&c);
    free(s);
}
END_TEST

static Suite *operators_suite(void)
{
    Suite *s = suite_create("operators");
    TCase *tc = tcase_create("record by record");
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_map);
    tcase_add_test(tc, test_flat_map);
    tcase_add_test(tc, test_filter);
    tcase_add_test(tc, test_process_side_output);
    tcase_add_test(tc, test_config_type_checked);
    tcase_add_test(tc, test_function_not_found);
    suite_add_tcase(s, tc);
    tc = tcase_create("keyed");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_keyed_process_rescale);
    tcase_add_test(tc, test_keyed_process_rescale_rocksdb);
    tcase_add_test(tc, test_processing_time_timers);
    tcase_add_test(tc, test_record_without_its_key);
    tcase_add_test(tc, test_reduce_rescale);
    tcase_add_test(tc, test_aggregations);
    tcase_add_test(tc, test_aggregation_state_restored);
    suite_add_tcase(s, tc);
    tc = tcase_create("time and several inputs");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_assigner_per_record_and_restore);
    tcase_add_test(tc, test_assigner_periodic);
    tcase_add_test(tc, test_window_rescale);
    tcase_add_test(tc, test_co_map_watermarks);
    tcase_add_test(tc, test_co_flat_map);
    tcase_add_test(tc, test_keyed_co_process_restore);
    tcase_add_test(tc, test_broadcast_process_rescale);
    tcase_add_test(tc, test_interval_join_restore);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(operators_suite());
}
