/* windows.c -- the guide's snippets on watermarks, windows and late data. */
#include <flint/flint.h>

#include <stdio.h>
#include <string.h>

int64_t click_ts(const fl_rec *in);
void count_create(void *acc);
void count_add(void *acc, const fl_rec *in);
uint32_t count_result(const void *acc, void *out, uint32_t cap);
void count_merge(void *acc, const void *other);
void count_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

struct click {
    int64_t user;
    int64_t ts;
};

/* [watermarks] */
/* The event time of a record (SerializableTimestampAssigner). */
int64_t click_ts(const fl_rec *in)
{
    struct click c;
    memcpy(&c, in->data, sizeof c);
    return c.ts;
}
/* [watermarks] */

/* [aggregate] */
/* AggregateFunction<Click, Long, Long>: the accumulator is an int64_t. */
void count_create(void *acc)
{
    memset(acc, 0, sizeof(int64_t));
}

void count_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, sizeof n);
    n++;
    memcpy(acc, &n, sizeof n);
}

uint32_t count_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(int64_t));
    return sizeof(int64_t);
}

void count_merge(void *acc, const void *other)
{
    int64_t a, b;
    memcpy(&a, acc, sizeof a);
    memcpy(&b, other, sizeof b);
    a += b;
    memcpy(acc, &a, sizeof a);
}

/* ProcessWindowFunction: the count with its key and window; emitted at end - 1. */
void count_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    int64_t user, n;
    if (!fl_iter_next_i64(elements, &n) || !fl_ctx_key_as(ctx, int64_t, &user))
        return;
    char line[96];
    int len = snprintf(line, sizeof line, "user %lld: %lld clicks in [%lld, %lld)",
                       (long long)user, (long long)n, (long long)w->start, (long long)w->end);
    fl_emit(out, line, (uint32_t)len);
}
/* [aggregate] */

int flint_main(fl_env *env, int argc, char **argv)
{
    static const struct click cs[] = {{1, 1000}, {1, 4000}, {2, 7000}, {1, 2000}};
    fl_stream *s = fl_from_elements(env, cs, sizeof cs[0], 4);
    /* [assign] */
    /* WatermarkStrategy.forBoundedOutOfOrderness(Duration.ofSeconds(5)) */
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(5000, click_ts));
    /* [assign] */
    /* [window] */
    static const fl_aggregate count = {
        .acc_size = sizeof(int64_t), .create = count_create, .add = count_add,
        .result = count_result, .merge = count_merge};
    fl_stream *keyed = fl_key_by_field(s, offsetof(struct click, user), 8);
    fl_stream *w = fl_windowed(keyed, fl_tumbling_event_time_windows(10000, 0));
    fl_window_allowed_lateness(w, 60000);            /* .allowedLateness(Time.minutes(1)) */
    fl_window_side_output_late_data(w, "late");      /* .sideOutputLateData(lateTag) */
    fl_stream *counts = fl_window_aggregate(w, &count, count_window);
    fl_stream *late = fl_side_output(counts, "late"); /* .getSideOutput(lateTag) */
    /* [window] */
    fl_print(counts, NULL);
    fl_discard(late);
    return fl_execute(env, "windows");
}
