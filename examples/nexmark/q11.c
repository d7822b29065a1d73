/* q11.c -- Nexmark query 11, user sessions: how many bids each user made in each session
 * (a session ends after 10 s without a bid).
 *
 *   flint run [-p N] build/examples/nexmark/q11.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q11.sql): SELECT B.bidder, count(*), SESSION_START(B.dateTime,
 * INTERVAL '10' SECOND), SESSION_END(...) FROM bid B GROUP BY B.bidder, SESSION(B.dateTime,
 * INTERVAL '10' SECOND). Output: `bidder,bid_count,starttime,endtime` (end: the last bid's
 * time + 10 s; sessions that touch merge, as Flink's).
 *
 *   source -> watermarks -> bids (bidder) --keyBy(bidder)->
 *   window(EventTimeSessionWindows(10 s)).aggregate(count, merge; + window)  (at -p) -> sink
 */
#include "nexmark_gen.h"

#define Q11_GAP_MS 10000

struct q11_row {
    int64_t bidder, count, start, end;
};

void q11_bidders(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q11_create(void *acc);
void q11_add(void *acc, const fl_rec *in);
uint32_t q11_result(const void *acc, void *out, uint32_t cap);
void q11_merge(void *acc, const void *other);
void q11_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
uint32_t q11_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q11_bidders(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_bid b;

    if (nx_kind_of(in) != NX_BID)
        return;
    if (!nx_fixed(in, NX_BID, &b)) {
        fl_ctx_fail(ctx, "q11: a short bid record (%u bytes)", in->len);
        return;
    }
    fl_emit(out, &b.bidder, sizeof b.bidder);
}

void q11_create(void *acc)
{
    memset(acc, 0, sizeof(int64_t));
}

void q11_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, sizeof n);
    n++;
    memcpy(acc, &n, sizeof n);
}

uint32_t q11_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(int64_t));
    return sizeof(int64_t);
}

void q11_merge(void *acc, const void *other)
{
    int64_t a, b;
    memcpy(&a, acc, sizeof a);
    memcpy(&b, other, sizeof b);
    a += b;
    memcpy(acc, &a, sizeof a);
}

void q11_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    struct q11_row r;

    if (!fl_iter_next_i64(elements, &r.count) || !fl_ctx_key_as(ctx, int64_t, &r.bidder))
        return;
    r.start = w->start;
    r.end = w->end;
    fl_emit(out, &r, sizeof r);
}

uint32_t q11_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q11_row r;
    uint32_t k;

    if (in->len != sizeof r)
        return 0;
    memcpy(&r, in->data, sizeof r);
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, r.bidder), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.count), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.start), cap, ',');
    return nx_put_i64(buf, k, cap, r.end);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q11", &a) < 0)
        return 1;
    fl_stream *s = fl_name(fl_flat_map(nx_source(env, &a), q11_bidders), "bidders");
    s = fl_key_by_field(s, 0, sizeof(int64_t));
    s = fl_windowed(s, fl_event_time_session_windows(Q11_GAP_MS));
    static const fl_aggregate count = {
        .acc_size = sizeof(int64_t),
        .create = q11_create,
        .add = q11_add,
        .result = q11_result,
        .merge = q11_merge,
        .result_max = sizeof(int64_t),
    };
    s = fl_name(fl_window_aggregate(s, &count, q11_window), "user-sessions");
    nx_sink(s, a.output, q11_format);
    return fl_execute(env, "Nexmark q11: user sessions");
}
