/* temp_rise.c -- the tutorial's IoT alert: a sensor whose temperature keeps rising for one
 * second (of event time).
 *
 *   flint run [-p N] build/examples/temp_rise.so --input FILE --output DIR
 *       [--interval-ms 1000] [--out-of-orderness-ms 5000]
 *
 * Input: `sensor,temperature,timestamp_ms` (temperature a decimal number). Output:
 * `sensor,timer_ts` each time a sensor's alert timer fires.
 *
 * The dataflow: readTextFile (parallelism 1) -> parse (flatMap) ->
 * assignTimestampsAndWatermarks(forBoundedOutOfOrderness) (all three chained, at 1) ->
 * keyBy(sensor) -> KeyedProcessFunction (at -p) -> file sink.
 *
 * The KeyedProcessFunction keeps, per sensor, the last temperature and the pending timer
 * (ValueStates), and works on readings in the order they arrive:
 *   - a reading higher than the previous one, with no timer pending: register an event-time
 *     timer at its timestamp + --interval-ms and remember it;
 *   - a reading not higher than the previous one (or the sensor's first): delete the
 *     pending timer, if any;
 *   - the timer fires (the watermark reached it): output `sensor,timer_ts`; nothing is
 *     pending any more, and the next rise starts a new timer.
 * (The book's TempIncreaseAlertFunction, on event time instead of processing time.)
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TR_MAX_SENSOR 64

struct tr_reading {
    int64_t ts;
    double temp;
    char sensor[TR_MAX_SENSOR]; /* NUL-padded */
};

/* An alert: the timer's time, then the sensor's bytes. */
struct tr_alert {
    int64_t ts;
    char sensor[FL_MAX_KEY];
};
#define TR_ALERT_HEAD offsetof(struct tr_alert, sensor)

struct tr_cfg {
    int64_t interval_ms;
};

/* Per-subtask data: the state handles. */
struct tr_states {
    fl_value_state *last_temp; /* double */
    fl_value_state *timer;     /* int64_t: the pending timer's time */
    int64_t interval_ms;
};

void tr_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t tr_timestamp(const fl_rec *in);
uint32_t tr_sensor(const fl_rec *in, void *key);
void tr_open(fl_ctx *ctx);
void tr_close(fl_ctx *ctx);
void tr_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void tr_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t tr_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* "sensor,temperature,timestamp_ms" */
void tr_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *line = in->data;
    size_t n = in->len;
    struct tr_reading r;

    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    const char *c1 = memchr(line, ',', n);
    const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2 || memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - line)))
        goto bad;
    size_t slen = (size_t)(c1 - line);
    if (slen == 0 || slen > TR_MAX_SENSOR || fl_parse_f64(c1 + 1, (size_t)(c2 - c1 - 1), &r.temp) < 0 ||
        fl_parse_i64(c2 + 1, n - (size_t)(c2 + 1 - line), &r.ts) < 0)
        goto bad;
    memset(r.sensor, 0, sizeof r.sensor);
    memcpy(r.sensor, line, slen);
    fl_emit(out, &r, sizeof r);
    return;
bad:
    fl_ctx_fail(ctx, "temp_rise: malformed line (expected sensor,temperature,timestamp_ms): '%.*s'",
                (int)(n > 200 ? 200 : n), line);
}

int64_t tr_timestamp(const fl_rec *in)
{
    int64_t ts;
    memcpy(&ts, in->data, sizeof ts);
    return ts;
}

/* keyBy(sensor): the name's bytes, without the padding. */
uint32_t tr_sensor(const fl_rec *in, void *key)
{
    const char *s = (const char *)in->data + offsetof(struct tr_reading, sensor);
    uint32_t n = (uint32_t)strnlen(s, TR_MAX_SENSOR);
    memcpy(key, s, n);
    return n;
}

void tr_open(fl_ctx *ctx)
{
    struct tr_states *st = calloc(1, sizeof *st);
    struct tr_cfg cfg;

    if (!st) {
        fl_ctx_fail(ctx, "temp_rise: out of memory");
        return;
    }
    cfg = *fl_ctx_config_as(ctx, struct tr_cfg);
    st->interval_ms = cfg.interval_ms;
    st->last_temp = fl_ctx_value_state(ctx, "last-temperature");
    st->timer = fl_ctx_value_state(ctx, "pending-timer");
    fl_ctx_set_user(ctx, st);
}

void tr_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

void tr_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct tr_states *st = fl_ctx_user(ctx);
    struct tr_reading r;
    double prev;
    int64_t timer;

    memcpy(&r, in->data, sizeof r);
    bool has_prev = fl_value_get_f64(st->last_temp, &prev);
    fl_value_put_f64(st->last_temp, r.temp);
    bool pending = fl_value_get_i64(st->timer, &timer);

    if (!has_prev || !(r.temp > prev)) {
        if (pending) {
            fl_ctx_delete_event_timer(ctx, timer);
            fl_value_clear(st->timer);
        }
    } else if (!pending) {
        timer = r.ts + st->interval_ms;
        fl_ctx_register_event_timer(ctx, timer);
        fl_value_put_i64(st->timer, timer);
    }
}

void tr_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct tr_states *st = fl_ctx_user(ctx);
    struct tr_alert a;
    uint32_t klen;
    const void *key = fl_ctx_key(ctx, &klen);

    a.ts = timestamp;
    memcpy(a.sensor, key, klen);
    fl_emit_ts(out, &a, (uint32_t)TR_ALERT_HEAD + klen, timestamp);
    fl_value_clear(st->timer);
}

/* "sensor,timer_ts" */
uint32_t tr_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct tr_alert a;
    uint32_t klen = in->len - (uint32_t)TR_ALERT_HEAD;

    memcpy(&a, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%lld", (int)klen, a.sensor, (long long)a.ts);
    return fl_fmt_len(n, cap);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    struct tr_cfg cfg;
    int64_t ooo;

    if (!input) {
        fprintf(stderr, "Usage: temp_rise --input FILE [--output DIR] [--interval-ms N] "
                        "[--out-of-orderness-ms N]\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "temp_rise", "interval-ms", 1000, 0, &cfg.interval_ms) < 0 ||
        fl_arg_i64(argc, argv, "temp_rise", "out-of-orderness-ms", 5000, 0, &ooo) < 0)
        return 1;

    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, input), "file-input"), 1);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, tr_parse), "parse"), 1);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, tr_timestamp));
    s = fl_set_parallelism(fl_name(s, "watermarks"), 1);
    s = fl_name(fl_keyed_process(fl_key_by(s, tr_sensor), tr_process, tr_on_timer), "rise-alert");
    fl_with_config_as(s, struct tr_cfg, &cfg);
    fl_with_open(s, tr_open);
    fl_with_close(s, tr_close);
    if (output)
        fl_name(fl_write_as_text(s, output, tr_format), "file-sink");
    else
        fl_name(fl_print(s, tr_format), "print-sink");
    return fl_execute(env, "Temperature rise");
}
