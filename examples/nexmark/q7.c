/* q7.c -- Nexmark query 7, highest bid: the bids with the highest price of each 10 s
 * tumbling window.
 *
 *   flint run [-p N] build/examples/nexmark/q7.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q7.sql):
 *   SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra FROM bid B
 *   JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime
 *         FROM TUMBLE(bid, dateTime, 10 s) GROUP BY window_start, window_end) B1
 *   ON B.price = B1.maxprice
 *   WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime
 * Output: `window_end,auction,price,bidder,dateTime,extra` (the SQL's columns after the
 * window's end). BETWEEN is inclusive: a bid at exactly a window's end (the first instant
 * of the next window) that equals that window's maximum is in its result too; such "edge"
 * bids are sent to the last stage as candidates that do not count towards the maximum.
 *
 *   source -> watermarks -> bids as candidates --keyBy(price mod 64)->
 *       window(TumblingEventTimeWindows(10 s)).reduce(keep the highest, ties all)  (at -p)
 *   source -> watermarks -> bids at a window end, as edge candidates of that window
 *   -> union --keyBy(window_end)-> KeyedProcessFunction: the candidates at the maximum
 *       and the edge bids, emitted by an event-time timer at window_end          (at -p)
 *   -> sink
 *
 * Keying the first stage by the price spreads each window over the subtasks (equal
 * prices meet in one key, so ties are kept); each key's window leaves only its best bids.
 * The timer at window_end fires when the watermark says every bid up to window_end (the
 * edge bids included) and every window result has arrived.
 */
#include "nexmark_gen.h"

#define Q7_SIZE_MS 10000
#define Q7_SPREAD 64
#define Q7_MAX_LIST 16384 /* bytes of candidates a list record may carry */

/* a list of candidate bids of one window, all of the same price */
struct q7_list {
    int64_t window_end, price;
    uint32_t n, edge;
};

/* one candidate, after the list header or another candidate */
struct q7_cand {
    int64_t auction, price, bidder, date_time;
    uint32_t extra_len, pad;
};

struct q7_top {
    fl_value_state *max;
    fl_list_state *cands, *edges;
};

void q7_candidates(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q7_edges(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t q7_spread(const fl_rec *in, void *key);
void q7_reduce(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out);
void q7_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
void q7_open(fl_ctx *ctx);
void q7_close(fl_ctx *ctx);
void q7_collect(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q7_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t q7_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* A one-candidate list of the bid in, for the window ending at window_end. */
static void q7_emit_one(fl_ctx *ctx, const fl_rec *in, fl_out *out, bool edge)
{
    uint8_t buf[sizeof(struct q7_list) + sizeof(struct q7_cand) + NX_TEXT_MAX];
    nx_event e;

    if (nx_decode(in, &e) < 0) {
        fl_ctx_fail(ctx, "q7: a malformed bid record (%u bytes)", in->len);
        return;
    }
    int64_t t = e.u.b.date_time;
    int64_t start = t - ((t % Q7_SIZE_MS) + Q7_SIZE_MS) % Q7_SIZE_MS;
    struct q7_list l = {edge ? start : start + Q7_SIZE_MS, e.u.b.price, 1, edge};
    struct q7_cand c = {e.u.b.auction, e.u.b.price, e.u.b.bidder, t, e.s[NX_B_EXTRA].n, 0};
    memcpy(buf, &l, sizeof l);
    memcpy(buf + sizeof l, &c, sizeof c);
    memcpy(buf + sizeof l + sizeof c, e.s[NX_B_EXTRA].p, c.extra_len);
    fl_emit(out, buf, (uint32_t)(sizeof l + sizeof c) + c.extra_len);
}

void q7_candidates(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    if (nx_kind_of(in) == NX_BID)
        q7_emit_one(ctx, in, out, false);
}

/* a bid at exactly a window end is also a candidate of the window that ends there */
void q7_edges(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    if (nx_kind_of(in) == NX_BID && in->ts % Q7_SIZE_MS == 0)
        q7_emit_one(ctx, in, out, true);
}

uint32_t q7_spread(const fl_rec *in, void *key)
{
    struct q7_list l;
    memcpy(&l, in->data, sizeof l);
    uint32_t k = (uint32_t)(l.price % Q7_SPREAD);
    memcpy(key, &k, sizeof k);
    return sizeof k;
}

/* the higher price wins; equal prices: both lists */
void q7_reduce(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out)
{
    struct q7_list a, b;

    memcpy(&a, acc->data, sizeof a);
    memcpy(&b, in->data, sizeof b);
    if (a.price != b.price) {
        const fl_rec *w = a.price > b.price ? acc : in;
        fl_emit(out, w->data, w->len);
        return;
    }
    uint32_t add = in->len - (uint32_t)sizeof b;
    if (acc->len + add > Q7_MAX_LIST) {
        fl_ctx_fail(ctx, "q7: more than %d bytes of bids tie at price %lld", Q7_MAX_LIST,
                    (long long)a.price);
        return;
    }
    uint8_t buf[Q7_MAX_LIST];
    a.n += b.n;
    memcpy(buf, &a, sizeof a);
    memcpy(buf + sizeof a, (const uint8_t *)acc->data + sizeof a, acc->len - sizeof a);
    memcpy(buf + acc->len, (const uint8_t *)in->data + sizeof b, add);
    fl_emit(out, buf, acc->len + add);
}

void q7_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    fl_rec r;
    if (fl_iter_next(elements, &r))
        fl_emit(out, r.data, r.len);
}

void q7_open(fl_ctx *ctx)
{
    struct q7_top *t = calloc(1, sizeof *t);

    if (!t) {
        fl_ctx_fail(ctx, "q7: out of memory");
        return;
    }
    t->max = fl_ctx_value_state(ctx, "max-price");
    t->cands = fl_ctx_list_state(ctx, "candidates");
    t->edges = fl_ctx_list_state(ctx, "edge-candidates");
    fl_ctx_set_user(ctx, t);
}

void q7_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

void q7_collect(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q7_top *t = fl_ctx_user(ctx);
    struct q7_list l;
    int64_t max = -1;

    if (in->len < sizeof l)
        return;
    memcpy(&l, in->data, sizeof l);
    fl_ctx_register_event_timer(ctx, l.window_end);
    if (l.edge) {
        fl_list_add_bytes(t->edges, in->data, in->len);
        return;
    }
    fl_value_get_i64(t->max, &max);
    if (l.price < max)
        return;
    if (l.price > max) {
        fl_value_put_i64(t->max, l.price);
        fl_list_clear(t->cands);
    }
    fl_list_add_bytes(t->cands, in->data, in->len);
}

/* Every candidate of the list record r at price max as an output row. */
static void q7_emit_list(fl_out *out, const fl_rec *r, int64_t max, int64_t ts)
{
    struct q7_list l;
    struct q7_cand c;
    uint8_t row[sizeof(int64_t) + sizeof c + NX_TEXT_MAX];
    uint32_t off = sizeof l;

    memcpy(&l, r->data, sizeof l);
    if (l.price != max)
        return;
    for (uint32_t i = 0; i < l.n && r->len - off >= sizeof c; i++) {
        memcpy(&c, (const uint8_t *)r->data + off, sizeof c);
        uint32_t n = sizeof c + c.extra_len;
        if (c.extra_len > NX_TEXT_MAX || n > r->len - off)
            return;
        memcpy(row, &l.window_end, sizeof l.window_end);
        memcpy(row + sizeof l.window_end, (const uint8_t *)r->data + off, n);
        fl_emit_ts(out, row, (uint32_t)sizeof l.window_end + n, ts);
        off += n;
    }
}

void q7_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct q7_top *t = fl_ctx_user(ctx);
    int64_t max;
    fl_iter it;
    fl_rec e;

    if (fl_value_get_i64(t->max, &max)) {
        if (fl_list_get(t->cands, &it))
            while (fl_iter_next(&it, &e))
                q7_emit_list(out, &e, max, timestamp);
        if (fl_list_get(t->edges, &it))
            while (fl_iter_next(&it, &e))
                q7_emit_list(out, &e, max, timestamp);
    }
    fl_value_clear(t->max);
    fl_list_clear(t->cands);
    fl_list_clear(t->edges);
}

/* "window_end,auction,price,bidder,dateTime,extra" */
uint32_t q7_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q7_cand c;
    int64_t end;
    uint32_t k;

    if (in->len < sizeof end + sizeof c)
        return 0;
    memcpy(&end, in->data, sizeof end);
    memcpy(&c, (const uint8_t *)in->data + sizeof end, sizeof c);
    if (c.extra_len != in->len - sizeof end - sizeof c)
        return 0;
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, end), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, c.auction), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, c.price), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, c.bidder), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, c.date_time), cap, ',');
    nx_str x = {(const char *)in->data + sizeof end + sizeof c, c.extra_len};
    return nx_put_str(buf, k, cap, x);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q7", &a) < 0)
        return 1;
    fl_stream *src = nx_source(env, &a);
    fl_stream *s = fl_name(fl_flat_map(src, q7_candidates), "bids");
    s = fl_windowed(fl_key_by(s, q7_spread), fl_tumbling_event_time_windows(Q7_SIZE_MS, 0));
    s = fl_name(fl_window_reduce(s, q7_reduce, q7_window), "highest-per-price-bucket");
    fl_stream *edges = fl_name(fl_flat_map(src, q7_edges), "bids-at-window-ends");
    s = fl_key_by_field(fl_union(s, edges), offsetof(struct q7_list, window_end), sizeof(int64_t));
    s = fl_name(fl_keyed_process(s, q7_collect, q7_on_timer), "highest-bid");
    fl_with_open(s, q7_open);
    fl_with_close(s, q7_close);
    nx_sink(s, a.output, q7_format);
    return fl_execute(env, "Nexmark q7: highest bid");
}
