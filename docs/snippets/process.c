/* process.c -- the guide's snippets on process functions, timers and side outputs. */
#include <flint/flint.h>

#include <stdio.h>
#include <string.h>

void alert_open(fl_ctx *ctx);
void alert_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void alert_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
void split_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t reading_ts(const fl_rec *in);
int flint_main(fl_env *env, int argc, char **argv);

struct reading {
    int64_t sensor;
    int64_t ts;
    double temp;
};

int64_t reading_ts(const fl_rec *in)
{
    struct reading r;
    memcpy(&r, in->data, sizeof r);
    return r.ts;
}

/* [keyed_process] */
/* KeyedProcessFunction: alert when a sensor's temperature rose for 1 s of event time. */
void alert_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "timer")); /* ValueState<Long> */
}

void alert_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *timer = fl_ctx_user(ctx);
    struct reading r;
    int64_t t;
    memcpy(&r, in->data, sizeof r);
    if (r.temp > 30 && !fl_value_get_i64(timer, &t)) {
        fl_ctx_register_event_timer(ctx, r.ts + 1000);  /* one timer per key and time */
        fl_value_put_i64(timer, r.ts + 1000);
    } else if (r.temp <= 30 && fl_value_get_i64(timer, &t)) {
        fl_ctx_delete_event_timer(ctx, t);
        fl_value_clear(timer);
    }
}

void alert_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    int64_t sensor;
    fl_ctx_key_as(ctx, int64_t, &sensor); /* ctx.getCurrentKey() */
    char line[64];
    int n = snprintf(line, sizeof line, "sensor %lld hot since %lld", (long long)sensor,
                     (long long)(timestamp - 1000));
    fl_emit(out, line, (uint32_t)n); /* carries the timer's time */
    fl_value_clear(fl_ctx_user(ctx));
}
/* [keyed_process] */

/* [side_output] */
/* ProcessFunction with an OutputTag: cold readings go aside. */
void split_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct reading r;
    memcpy(&r, in->data, sizeof r);
    if (r.temp < 0)
        fl_ctx_output(ctx, "freezing", in->data, in->len, in->ts);
    else
        fl_emit(out, in->data, in->len);
}
/* [side_output] */

int flint_main(fl_env *env, int argc, char **argv)
{
    static const struct reading rs[] = {{1, 1000, 31.0}, {1, 2500, 32.0}, {2, 1200, -3.0}};
    fl_stream *s = fl_from_elements(env, rs, sizeof rs[0], 3);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(0, reading_ts));
    /* [wire] */
    fl_stream *warm = fl_process(s, split_process);
    fl_stream *freezing = fl_side_output(warm, "freezing"); /* getSideOutput(tag) */
    fl_stream *keyed = fl_key_by_field(warm, offsetof(struct reading, sensor), 8);
    fl_stream *alerts = fl_keyed_process(keyed, alert_process, alert_on_timer);
    fl_with_open(alerts, alert_open);
    /* [wire] */
    fl_print(alerts, NULL);
    fl_discard(freezing);
    return fl_execute(env, "process functions");
}
