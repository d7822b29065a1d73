/* q12.c -- Nexmark query 12, processing-time windows: how many bids each user makes in
 * each 10 s of processing time.
 *
 *   flint run [-p N] build/examples/nexmark/q12.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q12.sql): SELECT bidder, count(*), window_start, window_end FROM
 * TUMBLE(bid with PROCTIME() AS p_time, p_time, 10 s) GROUP BY bidder, window_start,
 * window_end. Output: `bidder,bid_count,starttime,endtime` (processing time, ms).
 *
 *   source -> watermarks -> bids (bidder) --keyBy(bidder)->
 *   window(TumblingProcessingTimeWindows(10 s)).aggregate(count, + window)  (at -p) -> sink
 *
 * Which window a bid falls in depends on the wall clock, so only the structure of the
 * result (aligned 10 s windows, one row per bidder and window) and its totals (the bids
 * per bidder) can be checked against a reference.
 *
 * The trigger is Flink's ProcessingTimeTrigger (fire at the window's last millisecond of
 * processing time) plus one thing: the window also fires when the input ends. Flint, like
 * Flink (FLINK-18647), drops processing-time windows still open when a bounded input
 * ends, so a run shorter than a window would produce nothing; the end of input is the
 * +infinity watermark, so an event-time timer at FL_WATERMARK_MAX fires exactly then.
 */
#include "nexmark_gen.h"

#define Q12_SIZE_MS 10000

struct q12_row {
    int64_t bidder, count, start, end;
};

void q12_bidders(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q12_create(void *acc);
void q12_add(void *acc, const fl_rec *in);
uint32_t q12_result(const void *acc, void *out, uint32_t cap);
void q12_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
uint32_t q12_format(const fl_rec *in, char *buf, uint32_t cap);
int q12_trigger_element(fl_trigger_ctx *t, const fl_rec *in, int64_t timestamp,
                        const fl_window *w);
int q12_trigger_end_of_input(fl_trigger_ctx *t, int64_t time, const fl_window *w);
int q12_trigger_processing_time(fl_trigger_ctx *t, int64_t time, const fl_window *w);
void q12_trigger_clear(fl_trigger_ctx *t, const fl_window *w);
int flint_main(fl_env *env, int argc, char **argv);

void q12_bidders(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_bid b;

    if (nx_kind_of(in) != NX_BID)
        return;
    if (!nx_fixed(in, NX_BID, &b)) {
        fl_ctx_fail(ctx, "q12: a short bid record (%u bytes)", in->len);
        return;
    }
    fl_emit(out, &b.bidder, sizeof b.bidder);
}

void q12_create(void *acc)
{
    memset(acc, 0, sizeof(int64_t));
}

void q12_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, sizeof n);
    n++;
    memcpy(acc, &n, sizeof n);
}

uint32_t q12_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(int64_t));
    return sizeof(int64_t);
}

void q12_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    struct q12_row r;

    if (!fl_iter_next_i64(elements, &r.count) || !fl_ctx_key_as(ctx, int64_t, &r.bidder))
        return;
    r.start = w->start;
    r.end = w->end;
    fl_emit(out, &r, sizeof r);
}

/* ProcessingTimeTrigger, and fire at the end of the input */
int q12_trigger_element(fl_trigger_ctx *t, const fl_rec *in, int64_t timestamp,
                        const fl_window *w)
{
    fl_trigger_register_processing_timer(t, w->end - 1);
    fl_trigger_register_event_timer(t, FL_WATERMARK_MAX);
    return FL_CONTINUE;
}

int q12_trigger_end_of_input(fl_trigger_ctx *t, int64_t time, const fl_window *w)
{
    return time == FL_WATERMARK_MAX ? FL_FIRE_AND_PURGE : FL_CONTINUE;
}

int q12_trigger_processing_time(fl_trigger_ctx *t, int64_t time, const fl_window *w)
{
    return FL_FIRE;
}

void q12_trigger_clear(fl_trigger_ctx *t, const fl_window *w)
{
    fl_trigger_delete_processing_timer(t, w->end - 1);
    fl_trigger_delete_event_timer(t, FL_WATERMARK_MAX);
}

uint32_t q12_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q12_row r;
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

    if (nx_parse_args(argc, argv, "q12", &a) < 0)
        return 1;
    fl_stream *s = fl_name(fl_flat_map(nx_source(env, &a), q12_bidders), "bidders");
    s = fl_key_by_field(s, 0, sizeof(int64_t));
    s = fl_windowed(s, fl_tumbling_processing_time_windows(Q12_SIZE_MS, 0));
    static const fl_trigger trigger = {
        .on_element = q12_trigger_element,
        .on_event_time = q12_trigger_end_of_input,
        .on_processing_time = q12_trigger_processing_time,
        .clear = q12_trigger_clear,
    };
    s = fl_window_trigger(s, &trigger);
    static const fl_aggregate count = {
        .acc_size = sizeof(int64_t),
        .create = q12_create,
        .add = q12_add,
        .result = q12_result,
        .result_max = sizeof(int64_t),
    };
    s = fl_name(fl_window_aggregate(s, &count, q12_window), "bids-per-user");
    nx_sink(s, a.output, q12_format);
    return fl_execute(env, "Nexmark q12: processing-time windows");
}
