/* joins.c -- the guide's snippets on joining and connecting streams. */
#include <flint/flint.h>

#include <string.h>

int64_t event_ts(const fl_rec *in);
void join_click_order(fl_ctx *ctx, const fl_rec *left, const fl_rec *right, fl_out *out);
void on_order(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void on_payment(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

struct event {
    int64_t user;
    int64_t ts;
};

int64_t event_ts(const fl_rec *in)
{
    struct event e;
    memcpy(&e, in->data, sizeof e);
    return e.ts;
}

/* [interval_join] */
/* ProcessJoinFunction: a click and an order of the same user within the interval; the
 * result carries the larger of the two timestamps. */
void join_click_order(fl_ctx *ctx, const fl_rec *left, const fl_rec *right, fl_out *out)
{
    struct event pair[2];
    memcpy(&pair[0], left->data, sizeof pair[0]);
    memcpy(&pair[1], right->data, sizeof pair[1]);
    fl_emit(out, pair, sizeof pair);
}
/* [interval_join] */

/* [connect] */
/* CoProcessFunction on two keyed streams: processElement1 / processElement2 share the
 * key's state. */
void on_order(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *paid = fl_ctx_value_state(ctx, "paid");
    int64_t ts;
    if (fl_value_get_i64(paid, &ts))
        fl_emit(out, in->data, in->len); /* the order was paid already */
}

void on_payment(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_put_i64(fl_ctx_value_state(ctx, "paid"), in->ts);
}
/* [connect] */

int flint_main(fl_env *env, int argc, char **argv)
{
    static const struct event clicks[] = {{1, 1000}, {2, 2000}};
    static const struct event orders[] = {{1, 3000}, {2, 9000}};
    fl_watermark_strategy wm = fl_wm_bounded_out_of_orderness(0, event_ts);
    fl_stream *c = fl_assign_timestamps_and_watermarks(
        fl_from_elements(env, clicks, sizeof clicks[0], 2), wm);
    fl_stream *o = fl_assign_timestamps_and_watermarks(
        fl_from_elements(env, orders, sizeof orders[0], 2), wm);
    fl_stream *ck = fl_key_by_field(c, offsetof(struct event, user), 8);
    fl_stream *ok = fl_key_by_field(o, offsetof(struct event, user), 8);
    /* [wire] */
    /* clicks.keyBy(..).intervalJoin(orders.keyBy(..)).between(-5 s, +5 s).process(..) */
    fl_stream *joined = fl_interval_join(ck, ok, -5000, 5000, join_click_order);
    /* orders.connect(payments).process(..), both keyed */
    fl_stream *matched = fl_co_process(fl_connect(ok, ck), on_order, on_payment, NULL);
    fl_stream *both = fl_union(c, o);                   /* union */
    /* [wire] */
    fl_print(joined, NULL);
    fl_discard(matched);
    fl_discard(both);
    return fl_execute(env, "joins");
}
