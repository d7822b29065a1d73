/* q4.c -- Nexmark query 4, average price for a category: the average of the winning bid
 * prices of the closed auctions of each category.
 *
 *   flint run [-p N] build/examples/nexmark/q4.so [--events N] [--rate R] [--seed S]
 *       [--output DIR] [--grace-ms 10000]
 *
 * SQL (nexmark/nexmark q4.sql):
 *   SELECT Q.category, AVG(Q.final) FROM (
 *       SELECT MAX(B.price) AS final, A.category FROM auction A, bid B
 *       WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
 *       GROUP BY A.id, A.category) Q
 *   GROUP BY Q.category
 * an updating table. Here it is emitted in event-time order, so that it does not depend on
 * the order in which parallel subtasks deliver: `category,instant,avg,count` for each
 * category and each instant at which one of its auctions closed (expires) with at least
 * one bid, avg being AVG of BIGINT as Flink computes it (integer division) over the count
 * winning prices closed by that instant. The last row of a category is the SQL's result.
 *
 *   source -> watermarks -> auctions (id, dateTime, expires, category) --keyBy(id)---+
 *                        -> bids (auction, price, dateTime)         --keyBy(auction)-+
 *   -> connect -> winning bids (keyed CoProcessFunction with event-time timers, at -p)
 *   -> keyBy(category) -> average (KeyedProcessFunction with event-time timers, at -p)
 *   -> sink
 *
 * Winning bids (the join, an event-time window per auction [dateTime, expires]): an
 * auction waits in a ValueState with the highest price so far of its bids within the
 * window; a timer at expires fires when the watermark passes it, when every bid of the
 * window has arrived: the maximum goes out as (category, final) with timestamp expires.
 * A bid that comes before its auction (other source subtask, or a bidder on an auction
 * up to 10 ids ahead) waits in a ListState until the auction comes, or is dropped when
 * the watermark passes its own time (an auction it could belong to would have come by
 * then); a bid at or below the watermark without an auction is dropped at once. A closed
 * auction stays as a tombstone for --grace-ms of event time so that its late bidders
 * (all later than expires, so never matching) are dropped without waiting; the result
 * does not depend on it.
 *
 * Average: each winner waits in a ListState and a timer at its instant; when the timer
 * fires every winner of instants up to it has arrived (the winning-bid subtasks emit
 * before forwarding the watermark), and those are added to the category's sum and count.
 */
#include "nexmark_gen.h"

struct q4_auction {
    int64_t id, date_time, expires, category;
};

struct q4_bid {
    int64_t auction, price, date_time;
};

/* the winning-bid state of an auction */
struct q4_open_auction {
    int64_t date_time, expires, category, max_price;
    int32_t has_bid, closed;
};

struct q4_pending_bid {
    int64_t price, date_time;
};

struct q4_winner {
    int64_t category, final, expires;
};

struct q4_avg_row {
    int64_t category, instant, avg, count;
};

struct q4_sum {
    int64_t sum, count;
};

struct q4_cfg {
    int64_t grace_ms;
};

struct q4_join {
    fl_value_state *auction;
    fl_list_state *early;
    int64_t grace_ms;
};

struct q4_avg {
    fl_value_state *sum;
    fl_list_state *pending;
    struct q4_winner *keep; /* the timer's winners that stay pending */
    uint32_t keep_cap;
};

void q4_auctions(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q4_bids(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q4_join_open(fl_ctx *ctx);
void q4_join_close(fl_ctx *ctx);
void q4_on_auction(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q4_on_bid(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q4_join_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
void q4_avg_open(fl_ctx *ctx);
void q4_avg_close(fl_ctx *ctx);
void q4_on_winner(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q4_avg_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t q4_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q4_auctions(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_auction a;

    if (nx_kind_of(in) != NX_AUCTION)
        return;
    if (!nx_fixed(in, NX_AUCTION, &a)) {
        fl_ctx_fail(ctx, "q4: a short auction record (%u bytes)", in->len);
        return;
    }
    struct q4_auction r = {a.id, a.date_time, a.expires, a.category};
    fl_emit(out, &r, sizeof r);
}

void q4_bids(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_bid b;

    if (nx_kind_of(in) != NX_BID)
        return;
    if (!nx_fixed(in, NX_BID, &b)) {
        fl_ctx_fail(ctx, "q4: a short bid record (%u bytes)", in->len);
        return;
    }
    struct q4_bid r = {b.auction, b.price, b.date_time};
    fl_emit(out, &r, sizeof r);
}

/* ---- winning bids ------------------------------------------------------------------ */

void q4_join_open(fl_ctx *ctx)
{
    struct q4_join *j = calloc(1, sizeof *j);
    struct q4_cfg cfg;

    if (!j) {
        fl_ctx_fail(ctx, "q4: out of memory");
        return;
    }
    cfg = *fl_ctx_config_as(ctx, struct q4_cfg);
    j->grace_ms = cfg.grace_ms;
    j->auction = fl_ctx_value_state(ctx, "auction");
    j->early = fl_ctx_list_state(ctx, "early-bids");
    fl_ctx_set_user(ctx, j);
}

void q4_join_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

static inline bool q4_in_window(const struct q4_open_auction *a, int64_t t)
{
    return a->date_time <= t && t <= a->expires;
}

static inline void q4_offer(struct q4_open_auction *a, int64_t price)
{
    if (!a->has_bid || price > a->max_price)
        a->max_price = price;
    a->has_bid = 1;
}

void q4_on_auction(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q4_join *j = fl_ctx_user(ctx);
    struct q4_auction r;
    struct q4_open_auction a;
    struct q4_pending_bid b;
    fl_iter it;

    memcpy(&r, in->data, sizeof r);
    memset(&a, 0, sizeof a);
    a.date_time = r.date_time;
    a.expires = r.expires;
    a.category = r.category;
    if (fl_list_get(j->early, &it)) {
        while (fl_iter_next_as(&it, struct q4_pending_bid, &b))
            if (q4_in_window(&a, b.date_time))
                q4_offer(&a, b.price);
        fl_list_clear(j->early);
    }
    fl_value_put_as(j->auction, struct q4_open_auction, &a);
    fl_ctx_register_event_timer(ctx, a.expires);
}

void q4_on_bid(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q4_join *j = fl_ctx_user(ctx);
    struct q4_bid r;
    struct q4_open_auction a;

    memcpy(&r, in->data, sizeof r);
    if (fl_value_get_as(j->auction, struct q4_open_auction, &a)) {
        if (!a.closed && q4_in_window(&a, r.date_time) &&
            (!a.has_bid || r.price > a.max_price)) {
            q4_offer(&a, r.price);
            fl_value_put_as(j->auction, struct q4_open_auction, &a);
        }
        return;
    }
    if (r.date_time <= fl_ctx_current_watermark(ctx))
        return; /* its auction would have come by now */
    struct q4_pending_bid b = {r.price, r.date_time};
    fl_list_add_as(j->early, struct q4_pending_bid, &b);
    fl_ctx_register_event_timer(ctx, r.date_time);
}

/* Early bids at or before t can no longer find their auction. */
static void q4_drop_early(struct q4_join *j, int64_t t)
{
    struct q4_pending_bid b, keep[64];
    uint32_t n = 0, total = 0;
    fl_iter it;
    bool overflow = false;

    if (!fl_list_get(j->early, &it))
        return;
    while (fl_iter_next_as(&it, struct q4_pending_bid, &b)) {
        total++;
        if (b.date_time <= t)
            continue;
        if (n == 64) {
            overflow = true; /* too many to rewrite here: the next timer will */
            break;
        }
        keep[n++] = b;
    }
    if (overflow || n == total)
        return;
    if (n == 0) {
        fl_list_clear(j->early);
        return;
    }
    fl_list_update_as(j->early, struct q4_pending_bid, keep, n);
}

void q4_join_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct q4_join *j = fl_ctx_user(ctx);
    struct q4_open_auction a;

    if (!fl_value_get_as(j->auction, struct q4_open_auction, &a)) {
        q4_drop_early(j, timestamp);
        return;
    }
    if (!a.closed && timestamp >= a.expires) {
        if (a.has_bid) {
            struct q4_winner w = {a.category, a.max_price, a.expires};
            fl_emit_ts(out, &w, sizeof w, a.expires);
        }
        a.closed = 1;
        fl_value_put_as(j->auction, struct q4_open_auction, &a);
        fl_ctx_register_event_timer(ctx, a.expires + j->grace_ms);
    } else if (a.closed && timestamp >= a.expires + j->grace_ms) {
        fl_value_clear(j->auction);
    }
}

/* ---- average per category ---------------------------------------------------------- */

void q4_avg_open(fl_ctx *ctx)
{
    struct q4_avg *s = calloc(1, sizeof *s);

    if (!s) {
        fl_ctx_fail(ctx, "q4: out of memory");
        return;
    }
    s->sum = fl_ctx_value_state(ctx, "sum-count");
    s->pending = fl_ctx_list_state(ctx, "pending-winners");
    fl_ctx_set_user(ctx, s);
}

void q4_avg_close(fl_ctx *ctx)
{
    struct q4_avg *s = fl_ctx_user(ctx);
    if (s) {
        free(s->keep);
        free(s);
    }
}

void q4_on_winner(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q4_avg *s = fl_ctx_user(ctx);
    struct q4_winner w;

    memcpy(&w, in->data, sizeof w);
    fl_list_add_as(s->pending, struct q4_winner, &w);
    fl_ctx_register_event_timer(ctx, w.expires);
}

void q4_avg_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct q4_avg *s = fl_ctx_user(ctx);
    struct q4_sum sc = {0, 0};
    struct q4_winner w;
    uint32_t nkeep = 0, total = 0;
    int64_t category = 0;
    fl_iter it;

    fl_value_get_as(s->sum, struct q4_sum, &sc);
    if (!fl_list_get(s->pending, &it)) /* after the value: a state call ends an iteration */
        return;
    /* the elements stay valid until the next state call: collect the ones to keep first */
    while (fl_iter_next_as(&it, struct q4_winner, &w)) {
        total++;
        category = w.category;
        if (w.expires <= timestamp) {
            sc.sum += w.final;
            sc.count++;
            continue;
        }
        if (nkeep == s->keep_cap) {
            uint32_t cap = s->keep_cap ? 2 * s->keep_cap : 64;
            struct q4_winner *k = realloc(s->keep, cap * sizeof *k);
            if (!k) {
                fl_ctx_fail(ctx, "q4: out of memory");
                return;
            }
            s->keep = k;
            s->keep_cap = cap;
        }
        s->keep[nkeep++] = w;
    }
    if (nkeep == total)
        return;
    if (nkeep)
        fl_list_update_as(s->pending, struct q4_winner, s->keep, nkeep);
    else
        fl_list_clear(s->pending);
    fl_value_put_as(s->sum, struct q4_sum, &sc);
    struct q4_avg_row r = {category, timestamp, sc.sum / sc.count, sc.count};
    fl_emit_ts(out, &r, sizeof r, timestamp);
}

uint32_t q4_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q4_avg_row r;
    uint32_t k;

    if (in->len != sizeof r)
        return 0;
    memcpy(&r, in->data, sizeof r);
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, r.category), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.instant), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.avg), cap, ',');
    return nx_put_i64(buf, k, cap, r.count);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;
    struct q4_cfg cfg;

    if (nx_parse_args(argc, argv, "q4", &a) < 0 ||
        fl_arg_i64(argc, argv, "q4", "grace-ms", 10000, 0, &cfg.grace_ms) < 0)
        return 1;
    fl_stream *src = nx_source(env, &a);
    fl_stream *auctions = fl_name(fl_flat_map(src, q4_auctions), "auctions");
    auctions = fl_key_by_field(auctions, offsetof(struct q4_auction, id), sizeof(int64_t));
    fl_stream *bids = fl_name(fl_flat_map(src, q4_bids), "bids");
    bids = fl_key_by_field(bids, offsetof(struct q4_bid, auction), sizeof(int64_t));
    fl_stream *s = fl_co_process(fl_connect(auctions, bids), q4_on_auction, q4_on_bid,
                                 q4_join_timer);
    s = fl_name(s, "winning-bids");
    fl_with_config_as(s, struct q4_cfg, &cfg);
    fl_with_open(s, q4_join_open);
    fl_with_close(s, q4_join_close);
    s = fl_key_by_field(s, offsetof(struct q4_winner, category), sizeof(int64_t));
    s = fl_name(fl_keyed_process(s, q4_on_winner, q4_avg_timer), "average-by-category");
    fl_with_open(s, q4_avg_open);
    fl_with_close(s, q4_avg_close);
    nx_sink(s, a.output, q4_format);
    return fl_execute(env, "Nexmark q4: average price for a category");
}
