/* q1.c -- Nexmark query 1, currency conversion: every bid with its price in euros.
 *
 *   flint run [-p N] build/examples/nexmark/q1.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q1.sql): SELECT auction, bidder, 0.908 * price AS price, dateTime,
 * extra FROM bid, the price a DECIMAL(23, 3). Here the price in thousandths (price * 908,
 * exact) and written with three decimals: `auction,bidder,price,dateTime,extra`.
 *
 * source -> watermarks -> bids -> convert (all chained, at -p) -> sink
 */
#include "nexmark_gen.h"

struct q1_row {
    int64_t auction, bidder, price_milli, date_time;
    char extra[NX_TEXT_MAX];
};
#define Q1_HEAD offsetof(struct q1_row, extra)

void q1_convert(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t q1_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q1_convert(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    nx_event e;
    struct q1_row r;

    if (nx_decode(in, &e) < 0 || e.kind != NX_BID) {
        fl_ctx_fail(ctx, "q1: not a bid record (%u bytes)", in->len);
        return;
    }
    r.auction = e.u.b.auction;
    r.bidder = e.u.b.bidder;
    r.price_milli = e.u.b.price * 908; /* dollars to euros, 0.908, three decimals */
    r.date_time = e.u.b.date_time;
    memcpy(r.extra, e.s[NX_B_EXTRA].p, e.s[NX_B_EXTRA].n);
    fl_emit(out, &r, (uint32_t)Q1_HEAD + e.s[NX_B_EXTRA].n);
}

uint32_t q1_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q1_row r;
    uint32_t k;

    if (in->len < Q1_HEAD || in->len > sizeof r)
        return 0;
    memcpy(&r, in->data, in->len);
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, r.auction), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.bidder), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.price_milli / 1000), cap, '.');
    int64_t frac = r.price_milli % 1000;
    k = nx_put_ch(buf, k, cap, (char)('0' + frac / 100));
    k = nx_put_ch(buf, k, cap, (char)('0' + frac / 10 % 10));
    k = nx_put_ch(buf, nx_put_ch(buf, k, cap, (char)('0' + frac % 10)), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.date_time), cap, ',');
    nx_str x = {r.extra, in->len - (uint32_t)Q1_HEAD};
    return nx_put_str(buf, k, cap, x);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q1", &a) < 0)
        return 1;
    fl_stream *s = nx_only(nx_source(env, &a), NX_BID);
    s = fl_name(fl_map(s, q1_convert), "currency-conversion");
    nx_sink(s, a.output, q1_format);
    return fl_execute(env, "Nexmark q1: currency conversion");
}
