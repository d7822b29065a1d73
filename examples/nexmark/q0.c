/* q0.c -- Nexmark query 0, pass-through: every bid as it comes, through a map (what the
 * monitoring costs, generator and sink included).
 *
 *   flint run [-p N] build/examples/nexmark/q0.so [--events N] [--rate R] [--seed S]
 *       [--output DIR] [--all]
 *
 * SQL (nexmark/nexmark q0.sql): SELECT auction, bidder, price, dateTime, extra FROM bid.
 * Output, one line per bid: `auction,bidder,price,dateTime,extra`. With --all every event
 * (persons and auctions too) is written in nexmark.h's CSV form (`P,...`, `A,...`, `B,...`):
 * the generator's whole output, which tests/cluster/test_nexmark.sh compares with its
 * Python reimplementation. Without --output the result is discarded.
 *
 * source -> watermarks -> bids -> project (all chained, at -p) -> sink
 */
#include "nexmark_gen.h"

/* the projected bid: the fixed fields, then extra's bytes */
struct q0_row {
    int64_t auction, bidder, price, date_time;
    char extra[NX_TEXT_MAX];
};
#define Q0_HEAD offsetof(struct q0_row, extra)

void q0_project(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q0_check(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t q0_format(const fl_rec *in, char *buf, uint32_t cap);
uint32_t q0_format_event(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q0_project(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    nx_event e;
    struct q0_row r;

    if (nx_decode(in, &e) < 0 || e.kind != NX_BID) {
        fl_ctx_fail(ctx, "q0: not a bid record (%u bytes)", in->len);
        return;
    }
    r.auction = e.u.b.auction;
    r.bidder = e.u.b.bidder;
    r.price = e.u.b.price;
    r.date_time = e.u.b.date_time;
    memcpy(r.extra, e.s[NX_B_EXTRA].p, e.s[NX_B_EXTRA].n);
    fl_emit(out, &r, (uint32_t)Q0_HEAD + e.s[NX_B_EXTRA].n);
}

/* --all: the events unchanged, each checked to decode */
void q0_check(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    nx_event e;

    if (nx_decode(in, &e) < 0) {
        fl_ctx_fail(ctx, "q0: a malformed event record (%u bytes)", in->len);
        return;
    }
    fl_emit(out, in->data, in->len);
}

uint32_t q0_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q0_row r;
    uint32_t k;

    if (in->len < Q0_HEAD || in->len > sizeof r)
        return 0;
    memcpy(&r, in->data, in->len);
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, r.auction), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.bidder), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.price), cap, ',');
    k = nx_put_ch(buf, nx_put_i64(buf, k, cap, r.date_time), cap, ',');
    nx_str x = {r.extra, in->len - (uint32_t)Q0_HEAD};
    return nx_put_str(buf, k, cap, x);
}

uint32_t q0_format_event(const fl_rec *in, char *buf, uint32_t cap)
{
    nx_event e;
    return nx_decode(in, &e) < 0 ? 0 : nx_event_csv(&e, buf, cap);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q0", &a) < 0)
        return 1;
    fl_stream *s = nx_source(env, &a);
    if (fl_arg_has(argc, argv, "all")) {
        s = fl_name(fl_map(s, q0_check), "events");
        nx_sink(s, a.output, q0_format_event);
    } else {
        s = fl_name(fl_map(nx_only(s, NX_BID), q0_project), "project");
        nx_sink(s, a.output, q0_format);
    }
    return fl_execute(env, "Nexmark q0: pass-through");
}
