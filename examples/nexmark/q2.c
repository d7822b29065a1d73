/* q2.c -- Nexmark query 2, selection: the bids on every 123rd auction.
 *
 *   flint run [-p N] build/examples/nexmark/q2.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q2.sql): SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0.
 * Output: `auction,price`.
 *
 * source -> watermarks -> select (flatMap: bids of those auctions, projected; all chained,
 * at -p) -> sink
 */
#include "nexmark_gen.h"

struct q2_row {
    int64_t auction, price;
};

void q2_select(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t q2_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q2_select(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_bid b;

    if (nx_kind_of(in) != NX_BID)
        return;
    if (!nx_fixed(in, NX_BID, &b)) {
        fl_ctx_fail(ctx, "q2: a short bid record (%u bytes)", in->len);
        return;
    }
    if (b.auction % 123 == 0) {
        struct q2_row r = {b.auction, b.price};
        fl_emit(out, &r, sizeof r);
    }
}

uint32_t q2_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q2_row r;

    if (in->len != sizeof r)
        return 0;
    memcpy(&r, in->data, sizeof r);
    return nx_put_i64(buf, nx_put_ch(buf, nx_put_i64(buf, 0, cap, r.auction), cap, ','), cap,
                      r.price);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q2", &a) < 0)
        return 1;
    fl_stream *s = fl_name(fl_flat_map(nx_source(env, &a), q2_select), "selection");
    nx_sink(s, a.output, q2_format);
    return fl_execute(env, "Nexmark q2: selection");
}
