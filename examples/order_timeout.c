/* order_timeout.c -- the tutorial's unpaid orders: an order not paid within 15 minutes of
 * its creation times out.
 *
 *   flint run [-p N] build/examples/order_timeout.so --input FILE --output DIR
 *       [--timeout-ms 900000] [--out-of-orderness-ms 5000]
 *
 * Input: `order_id,event,timestamp_ms` with event `create` or `pay`. Output:
 * `order_id,paid,pay_ts` under DIR for an order paid at most --timeout-ms after its create;
 * `order_id,timeout,create_ts` to the side output "timeout", written under DIR/timeout/,
 * for an order not paid in time.
 *
 * The dataflow: readTextFile (parallelism 1) -> parse (flatMap) ->
 * assignTimestampsAndWatermarks(forBoundedOutOfOrderness) (all three chained, at 1) ->
 * keyBy(order_id) -> KeyedProcessFunction (at -p) -> file sinks DIR, DIR/timeout.
 *
 * The KeyedProcessFunction keeps what it has seen of the order in a ValueState:
 *   - create: remember it and register an event-time timer at create_ts + timeout (if the
 *     pay came first, which disorder allows, decide at once instead);
 *   - pay: with the create seen, delete the timer and decide: paid when
 *     pay_ts - create_ts <= timeout, timeout otherwise; without it, remember the pay and
 *     wait for the create;
 *   - the timer fires (the watermark passed create_ts + timeout, so every pay in time has
 *     arrived, unless it is later than the out-of-orderness bound): timeout.
 * After a decision the order's state is cleared; a pay that comes after its order timed out
 * is kept waiting for a create that will not come, and outputs nothing. The tutorial's CEP
 * version (create followed by pay within 15 minutes) outputs the same for in-bound data.
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OT_MAX_ID 64

struct ot_event {
    int64_t ts;
    int32_t pay; /* 0 create, 1 pay */
    char id[OT_MAX_ID]; /* NUL-padded */
};

/* The order's state. */
struct ot_seen {
    int64_t create_ts, pay_ts;
    int32_t has_create, has_pay;
};

/* A result: paid (main output) or timeout (side output), the time, then the id's bytes. */
struct ot_result {
    int64_t ts;
    int32_t paid;
    char id[FL_MAX_KEY];
};
#define OT_RESULT_HEAD offsetof(struct ot_result, id)

struct ot_cfg {
    int64_t timeout_ms;
};

struct ot_states {
    fl_value_state *seen;
    int64_t timeout_ms;
};

void ot_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t ot_timestamp(const fl_rec *in);
uint32_t ot_order(const fl_rec *in, void *key);
void ot_open(fl_ctx *ctx);
void ot_close(fl_ctx *ctx);
void ot_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ot_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t ot_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* "order_id,create|pay,timestamp_ms" */
void ot_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *line = in->data;
    size_t n = in->len;
    struct ot_event e;

    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    const char *c1 = memchr(line, ',', n);
    const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2 || memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - line)))
        goto bad;
    size_t idlen = (size_t)(c1 - line), evlen = (size_t)(c2 - c1 - 1);
    if (idlen == 0 || idlen > OT_MAX_ID || fl_parse_i64(c2 + 1, n - (size_t)(c2 + 1 - line), &e.ts) < 0)
        goto bad;
    if (evlen == 6 && memcmp(c1 + 1, "create", 6) == 0)
        e.pay = 0;
    else if (evlen == 3 && memcmp(c1 + 1, "pay", 3) == 0)
        e.pay = 1;
    else
        goto bad;
    memset(e.id, 0, sizeof e.id);
    memcpy(e.id, line, idlen);
    fl_emit(out, &e, sizeof e);
    return;
bad:
    fl_ctx_fail(ctx, "order_timeout: malformed line (expected order_id,create|pay,timestamp_ms): "
                     "'%.*s'", (int)(n > 200 ? 200 : n), line);
}

int64_t ot_timestamp(const fl_rec *in)
{
    int64_t ts;
    memcpy(&ts, in->data, sizeof ts);
    return ts;
}

uint32_t ot_order(const fl_rec *in, void *key)
{
    const char *id = (const char *)in->data + offsetof(struct ot_event, id);
    uint32_t n = (uint32_t)strnlen(id, OT_MAX_ID);
    memcpy(key, id, n);
    return n;
}

void ot_open(fl_ctx *ctx)
{
    struct ot_states *st = calloc(1, sizeof *st);
    struct ot_cfg cfg;

    if (!st) {
        fl_ctx_fail(ctx, "order_timeout: out of memory");
        return;
    }
    cfg = *fl_ctx_config_as(ctx, struct ot_cfg);
    st->timeout_ms = cfg.timeout_ms;
    st->seen = fl_ctx_value_state(ctx, "order");
    fl_ctx_set_user(ctx, st);
}

void ot_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

/* paid: `order_id,paid,pay_ts` downstream; else `order_id,timeout,create_ts` aside. */
static void ot_decide(fl_ctx *ctx, fl_out *out, const struct ot_seen *s, int64_t timeout_ms)
{
    struct ot_result r;
    uint32_t klen;
    const void *key = fl_ctx_key(ctx, &klen);

    memcpy(r.id, key, klen);
    r.paid = s->has_pay && s->pay_ts - s->create_ts <= timeout_ms;
    if (r.paid) {
        r.ts = s->pay_ts;
        fl_emit_ts(out, &r, (uint32_t)OT_RESULT_HEAD + klen, r.ts);
    } else {
        r.ts = s->create_ts;
        fl_ctx_output(ctx, "timeout", &r, (uint32_t)OT_RESULT_HEAD + klen, r.ts);
    }
}

void ot_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct ot_states *st = fl_ctx_user(ctx);
    struct ot_event e;
    struct ot_seen s = {0, 0, 0, 0};

    memcpy(&e, in->data, sizeof e);
    fl_value_get_as(st->seen, struct ot_seen, &s); /* a new order keeps the zeros */
    if (!e.pay) {
        if (s.has_create) /* a second create of the order: ignored */
            return;
        s.has_create = 1;
        s.create_ts = e.ts;
        if (s.has_pay) {
            ot_decide(ctx, out, &s, st->timeout_ms);
            fl_value_clear(st->seen);
            return;
        }
        fl_ctx_register_event_timer(ctx, e.ts + st->timeout_ms);
        fl_value_put_as(st->seen, struct ot_seen, &s);
        return;
    }
    if (s.has_pay) /* a second pay: ignored */
        return;
    s.has_pay = 1;
    s.pay_ts = e.ts;
    if (s.has_create) {
        fl_ctx_delete_event_timer(ctx, s.create_ts + st->timeout_ms);
        ot_decide(ctx, out, &s, st->timeout_ms);
        fl_value_clear(st->seen);
        return;
    }
    fl_value_put_as(st->seen, struct ot_seen, &s);
}

void ot_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct ot_states *st = fl_ctx_user(ctx);
    struct ot_seen s;

    if (!fl_value_get_as(st->seen, struct ot_seen, &s))
        return;
    if (!s.has_create || s.has_pay)
        return;
    ot_decide(ctx, out, &s, st->timeout_ms);
    fl_value_clear(st->seen);
}

/* "order_id,paid,pay_ts" or "order_id,timeout,create_ts" */
uint32_t ot_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct ot_result r;
    uint32_t klen = in->len - (uint32_t)OT_RESULT_HEAD;

    memcpy(&r, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%s,%lld", (int)klen, r.id, r.paid ? "paid" : "timeout",
                     (long long)r.ts);
    return fl_fmt_len(n, cap);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    struct ot_cfg cfg;
    int64_t ooo;

    if (!input) {
        fprintf(stderr, "Usage: order_timeout --input FILE [--output DIR] [--timeout-ms N] "
                        "[--out-of-orderness-ms N]\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "order_timeout", "timeout-ms", 15 * 60 * 1000, 0, &cfg.timeout_ms) < 0 ||
        fl_arg_i64(argc, argv, "order_timeout", "out-of-orderness-ms", 5000, 0, &ooo) < 0)
        return 1;

    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, input), "file-input"), 1);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, ot_parse), "parse"), 1);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, ot_timestamp));
    s = fl_set_parallelism(fl_name(s, "watermarks"), 1);
    s = fl_name(fl_keyed_process(fl_key_by(s, ot_order), ot_process, ot_on_timer), "order-timeout");
    fl_with_config_as(s, struct ot_cfg, &cfg);
    fl_with_open(s, ot_open);
    fl_with_close(s, ot_close);
    fl_stream *timeouts = fl_side_output(s, "timeout");
    if (output) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/timeout", output);
        fl_name(fl_write_as_text(s, output, ot_format), "file-sink");
        fl_name(fl_write_as_text(timeouts, dir, ot_format), "timeout-sink");
    } else {
        fl_name(fl_print(s, ot_format), "print-sink");
        fl_name(fl_print(timeouts, ot_format), "timeout-print-sink");
    }
    return fl_execute(env, "Order timeout");
}
