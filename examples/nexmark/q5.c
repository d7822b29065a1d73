/* q5.c -- Nexmark query 5, hot items: the auctions with the most bids in each sliding
 * window of 10 s every 2 s.
 *
 *   flint run [-p N] build/examples/nexmark/q5.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q5.sql): the bid count per auction in each HOP(dateTime, 2 s, 10 s)
 * window, joined with the maximum of those counts per window: every auction whose count
 * is the window's maximum (ties included). Output: `window_start,window_end,auction,num`.
 *
 *   source -> watermarks -> bids --keyBy(auction)->
 *   window(SlidingEventTimeWindows(10 s, 2 s)).aggregate(count, + window)   (at -p)
 *   --keyBy(window_end)-> KeyedProcessFunction: the counts at the maximum so far in a
 *   ListState, emitted by an event-time timer at window_end - 1                (at -p)
 *   -> sink
 *
 * The timer fires once the watermark (the minimum over every window subtask) reaches the
 * window's last millisecond, which each window subtask forwards only after it emitted its
 * counts for that window: all counts are in.
 */
#include "nexmark_gen.h"

#define Q5_SIZE_MS 10000
#define Q5_SLIDE_MS 2000

struct q5_bid {
    int64_t auction;
};

struct q5_count {
    int64_t window_end, window_start, auction, num;
};

struct q5_top {
    fl_value_state *max;
    fl_list_state *at_max;
};

void q5_bids(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q5_count_create(void *acc);
void q5_count_add(void *acc, const fl_rec *in);
uint32_t q5_count_result(const void *acc, void *out, uint32_t cap);
void q5_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
void q5_open(fl_ctx *ctx);
void q5_close(fl_ctx *ctx);
void q5_collect(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q5_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t q5_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q5_bids(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_bid b;

    if (nx_kind_of(in) != NX_BID)
        return;
    if (!nx_fixed(in, NX_BID, &b)) {
        fl_ctx_fail(ctx, "q5: a short bid record (%u bytes)", in->len);
        return;
    }
    struct q5_bid r = {b.auction};
    fl_emit(out, &r, sizeof r);
}

void q5_count_create(void *acc)
{
    memset(acc, 0, sizeof(int64_t));
}

void q5_count_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, sizeof n);
    n++;
    memcpy(acc, &n, sizeof n);
}

uint32_t q5_count_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(int64_t));
    return sizeof(int64_t);
}

void q5_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    struct q5_count c;

    if (!fl_iter_next_i64(elements, &c.num) || !fl_ctx_key_as(ctx, int64_t, &c.auction))
        return;
    c.window_start = w->start;
    c.window_end = w->end;
    fl_emit(out, &c, sizeof c);
}

void q5_open(fl_ctx *ctx)
{
    struct q5_top *t = calloc(1, sizeof *t);

    if (!t) {
        fl_ctx_fail(ctx, "q5: out of memory");
        return;
    }
    t->max = fl_ctx_value_state(ctx, "max-count");
    t->at_max = fl_ctx_list_state(ctx, "auctions-at-max");
    fl_ctx_set_user(ctx, t);
}

void q5_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

void q5_collect(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q5_top *t = fl_ctx_user(ctx);
    struct q5_count c;
    int64_t max = -1;

    memcpy(&c, in->data, sizeof c);
    if (!fl_value_get_i64(t->max, &max))
        fl_ctx_register_event_timer(ctx, c.window_end - 1);
    if (c.num < max)
        return;
    if (c.num > max) {
        fl_value_put_i64(t->max, c.num);
        fl_list_clear(t->at_max);
    }
    fl_list_add_as(t->at_max, struct q5_count, &c);
}

void q5_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct q5_top *t = fl_ctx_user(ctx);
    fl_iter it;
    struct q5_count c;

    if (fl_list_get(t->at_max, &it))
        while (fl_iter_next_as(&it, struct q5_count, &c))
            fl_emit_ts(out, &c, sizeof c, timestamp);
    fl_list_clear(t->at_max);
    fl_value_clear(t->max);
}

uint32_t q5_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q5_count c;
    uint32_t k;

    if (in->len != sizeof c)
        return 0;
    memcpy(&c, in->data, sizeof c);
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, c.window_start), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, c.window_end), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, c.auction), cap, ',');
    return nx_put_i64(buf, k, cap, c.num);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q5", &a) < 0)
        return 1;
    fl_stream *s = fl_name(fl_flat_map(nx_source(env, &a), q5_bids), "bids");
    s = fl_key_by_field(s, offsetof(struct q5_bid, auction), sizeof(int64_t));
    s = fl_windowed(s, fl_sliding_event_time_windows(Q5_SIZE_MS, Q5_SLIDE_MS, 0));
    static const fl_aggregate count = {
        .acc_size = sizeof(int64_t),
        .create = q5_count_create,
        .add = q5_count_add,
        .result = q5_count_result,
        .result_max = sizeof(int64_t),
    };
    s = fl_name(fl_window_aggregate(s, &count, q5_window), "bids-per-auction");
    s = fl_key_by_field(s, offsetof(struct q5_count, window_end), sizeof(int64_t));
    s = fl_name(fl_keyed_process(s, q5_collect, q5_on_timer), "hot-items");
    fl_with_open(s, q5_open);
    fl_with_close(s, q5_close);
    nx_sink(s, a.output, q5_format);
    return fl_execute(env, "Nexmark q5: hot items");
}
