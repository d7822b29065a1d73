/* reconcile.c -- the tutorial's real-time reconciliation: every payment of an order should
 * be matched by the payment channel's receipt, and the other way round.
 *
 *   flint run [-p N] build/examples/reconcile.so --orders FILE --receipts FILE --output DIR
 *       [--wait-ms 5000] [--out-of-orderness-ms 5000]
 *
 * Inputs: --orders `order_id,pay,timestamp_ms` (the order's pay events; lines with another
 * event than `pay` are ignored, as the tutorial filters them) and --receipts
 * `order_id,channel,timestamp_ms`. Output: `order_id,order_ts,receipt_ts` under DIR for
 * each matched pair; a pay or a receipt whose other side has not arrived --wait-ms of event
 * time after it goes to the side output "unmatched", written under DIR/unmatched/ as its
 * input line.
 *
 * The dataflow:
 *
 *   readTextFile(orders)   (parallelism 1) -> parse -> timestamps/watermarks  (chained, 1)
 *   readTextFile(receipts) (parallelism 1) -> parse -> timestamps/watermarks  (chained, 1)
 *   -> connect, both keyed by order_id -> CoProcessFunction (at -p) -> file sinks
 *
 * The CoProcessFunction keeps the side that came first in a ValueState (one per side) and
 * registers an event-time timer at its timestamp + --wait-ms; the other side, arriving
 * before the timer fires, is matched with it (the pair is output, the timer deleted, the
 * state cleared). When the timer fires (the watermark, the minimum of both inputs', passed
 * it), whatever side is still waiting goes to the side output. Both watermarks use a
 * bounded out-of-orderness of --out-of-orderness-ms (default 5 s).
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RC_MAX_ID 64
#define RC_MAX_FIELD 32

/* A pay or a receipt: both lines have the same shape. */
struct rc_event {
    int64_t ts;
    char id[RC_MAX_ID];       /* NUL-padded */
    char field[RC_MAX_FIELD]; /* "pay" or the channel, NUL-padded */
};

struct rc_match {
    int64_t order_ts, receipt_ts;
    char id[FL_MAX_KEY];
};
#define RC_MATCH_HEAD offsetof(struct rc_match, id)

struct rc_cfg {
    int64_t wait_ms;
};

struct rc_states {
    fl_value_state *order, *receipt; /* struct rc_event */
    int64_t wait_ms;
};

void rc_parse_order(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void rc_parse_receipt(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t rc_timestamp(const fl_rec *in);
uint32_t rc_id(const fl_rec *in, void *key);
void rc_open(fl_ctx *ctx);
void rc_close(fl_ctx *ctx);
void rc_process_order(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void rc_process_receipt(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void rc_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t rc_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* "order_id,field,timestamp_ms" into e; 0, 1 for an empty line, -1 when malformed. */
static int rc_parse(const fl_rec *in, struct rc_event *e, size_t *n_out)
{
    const char *line = in->data;
    size_t n = in->len;

    if (n && line[n - 1] == '\r')
        n--;
    *n_out = n;
    if (n == 0)
        return 1;
    const char *c1 = memchr(line, ',', n);
    const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2 || memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - line)))
        return -1;
    size_t idlen = (size_t)(c1 - line), flen = (size_t)(c2 - c1 - 1);
    if (idlen == 0 || idlen > RC_MAX_ID || flen > RC_MAX_FIELD ||
        fl_parse_i64(c2 + 1, n - (size_t)(c2 + 1 - line), &e->ts) < 0)
        return -1;
    memset(e->id, 0, sizeof e->id);
    memset(e->field, 0, sizeof e->field);
    memcpy(e->id, line, idlen);
    memcpy(e->field, c1 + 1, flen);
    return 0;
}

/* Orders: the pay events only. */
void rc_parse_order(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct rc_event e;
    size_t n;
    int rc = rc_parse(in, &e, &n);

    if (rc < 0)
        fl_ctx_fail(ctx, "reconcile: malformed order (expected order_id,pay,timestamp_ms): '%.*s'",
                    (int)(n > 200 ? 200 : n), (const char *)in->data);
    else if (rc == 0 && strcmp(e.field, "pay") == 0)
        fl_emit(out, &e, sizeof e);
}

void rc_parse_receipt(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct rc_event e;
    size_t n;
    int rc = rc_parse(in, &e, &n);

    if (rc < 0)
        fl_ctx_fail(ctx, "reconcile: malformed receipt (expected order_id,channel,timestamp_ms): "
                         "'%.*s'", (int)(n > 200 ? 200 : n), (const char *)in->data);
    else if (rc == 0)
        fl_emit(out, &e, sizeof e);
}

int64_t rc_timestamp(const fl_rec *in)
{
    int64_t ts;
    memcpy(&ts, in->data, sizeof ts);
    return ts;
}

uint32_t rc_id(const fl_rec *in, void *key)
{
    const char *id = (const char *)in->data + offsetof(struct rc_event, id);
    uint32_t n = (uint32_t)strnlen(id, RC_MAX_ID);
    memcpy(key, id, n);
    return n;
}

void rc_open(fl_ctx *ctx)
{
    struct rc_states *st = calloc(1, sizeof *st);
    struct rc_cfg cfg;

    if (!st) {
        fl_ctx_fail(ctx, "reconcile: out of memory");
        return;
    }
    cfg = *fl_ctx_config_as(ctx, struct rc_cfg);
    st->wait_ms = cfg.wait_ms;
    st->order = fl_ctx_value_state(ctx, "pay");
    st->receipt = fl_ctx_value_state(ctx, "receipt");
    fl_ctx_set_user(ctx, st);
}

void rc_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

/* One side arrived: match it with the other one if that is waiting, else wait for it. */
static void rc_arrive(fl_ctx *ctx, const fl_rec *in, fl_out *out, fl_value_state *mine,
                      fl_value_state *other, int is_order)
{
    struct rc_states *st = fl_ctx_user(ctx);
    struct rc_event e, o;

    memcpy(&e, in->data, sizeof e);
    if (fl_value_get_as(other, struct rc_event, &o)) {
        struct rc_match m;
        m.order_ts = is_order ? e.ts : o.ts;
        m.receipt_ts = is_order ? o.ts : e.ts;
        uint32_t klen = (uint32_t)strnlen(e.id, RC_MAX_ID);
        memcpy(m.id, e.id, klen);
        fl_emit(out, &m, (uint32_t)RC_MATCH_HEAD + klen);
        fl_ctx_delete_event_timer(ctx, o.ts + st->wait_ms);
        fl_value_clear(other);
        return;
    }
    fl_value_put_as(mine, struct rc_event, &e);
    fl_ctx_register_event_timer(ctx, e.ts + st->wait_ms);
}

void rc_process_order(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct rc_states *st = fl_ctx_user(ctx);
    rc_arrive(ctx, in, out, st->order, st->receipt, 1);
}

void rc_process_receipt(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct rc_states *st = fl_ctx_user(ctx);
    rc_arrive(ctx, in, out, st->receipt, st->order, 0);
}

/* The side still waiting, as its input line, to "unmatched". */
static void rc_unmatched(fl_ctx *ctx, fl_value_state *s, int64_t timestamp)
{
    struct rc_event e;
    char line[RC_MAX_ID + RC_MAX_FIELD + 32];

    if (!fl_value_get_as(s, struct rc_event, &e))
        return;
    int n = snprintf(line, sizeof line, "%.*s,%.*s,%lld", RC_MAX_ID, e.id, RC_MAX_FIELD, e.field,
                     (long long)e.ts);
    fl_ctx_output(ctx, "unmatched", line, (uint32_t)n, timestamp);
    fl_value_clear(s);
}

void rc_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct rc_states *st = fl_ctx_user(ctx);
    rc_unmatched(ctx, st->order, timestamp);
    rc_unmatched(ctx, st->receipt, timestamp);
}

/* "order_id,order_ts,receipt_ts" */
uint32_t rc_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct rc_match m;
    uint32_t klen = in->len - (uint32_t)RC_MATCH_HEAD;

    memcpy(&m, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%lld,%lld", (int)klen, m.id, (long long)m.order_ts,
                     (long long)m.receipt_ts);
    return fl_fmt_len(n, cap);
}

/* file-input -> parse -> watermarks, all at parallelism 1, keyed by order id. */
static fl_stream *rc_input(fl_env *env, const char *path, fl_flat_map_fn parse, const char *what,
                           int64_t ooo)
{
    char name[64];

    snprintf(name, sizeof name, "%s-input", what);
    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, path), name), 1);
    snprintf(name, sizeof name, "parse-%s", what);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, parse), name), 1);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, rc_timestamp));
    snprintf(name, sizeof name, "%s-watermarks", what);
    s = fl_set_parallelism(fl_name(s, name), 1);
    return fl_key_by(s, rc_id);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *orders = fl_arg(argc, argv, "orders", NULL);
    const char *receipts = fl_arg(argc, argv, "receipts", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    struct rc_cfg cfg;
    int64_t ooo;

    if (!orders || !receipts) {
        fprintf(stderr, "Usage: reconcile --orders FILE --receipts FILE [--output DIR] "
                        "[--wait-ms N] [--out-of-orderness-ms N]\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "reconcile", "wait-ms", 5000, 0, &cfg.wait_ms) < 0 ||
        fl_arg_i64(argc, argv, "reconcile", "out-of-orderness-ms", 5000, 0, &ooo) < 0)
        return 1;

    fl_stream *pays = rc_input(env, orders, rc_parse_order, "orders", ooo);
    fl_stream *recs = rc_input(env, receipts, rc_parse_receipt, "receipts", ooo);
    fl_stream *s = fl_co_process(fl_connect(pays, recs), rc_process_order, rc_process_receipt,
                                 rc_on_timer);
    s = fl_name(s, "reconcile");
    fl_with_config_as(s, struct rc_cfg, &cfg);
    fl_with_open(s, rc_open);
    fl_with_close(s, rc_close);
    fl_stream *unmatched = fl_side_output(s, "unmatched");
    if (output) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/unmatched", output);
        fl_name(fl_write_as_text(s, output, rc_format), "file-sink");
        fl_name(fl_write_as_text(unmatched, dir, NULL), "unmatched-sink");
    } else {
        fl_name(fl_print(s, rc_format), "print-sink");
        fl_name(fl_print(unmatched, NULL), "unmatched-print-sink");
    }
    return fl_execute(env, "Reconciliation");
}
