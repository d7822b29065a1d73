/* fraud.c -- Flink's fraud detection walkthrough on event time: a small transaction
 * followed by a large one within a minute.
 *
 *   flint run [-p N] build/examples/fraud.so --input FILE --output DIR
 *       [--out-of-orderness-ms 5000]
 *
 * Input: `account,amount_cents,timestamp_ms`. Output: `account,small_ts,large_ts` when a
 * transaction under 100 cents ($1.00) is followed, as the account's next transaction, by
 * one over 50000 cents ($500.00) at most 60 s later in event time.
 *
 * The dataflow: readTextFile (parallelism 1) -> parse (flatMap) ->
 * assignTimestampsAndWatermarks(forBoundedOutOfOrderness) (all three chained, at 1) ->
 * keyBy(account) -> KeyedProcessFunction (at -p) -> file sink.
 *
 * The walkthrough's FraudDetector, with event time where it uses processing time: a small
 * transaction sets a flag (here: its timestamp, in a ValueState) and registers a timer one
 * minute later; the next transaction of the account raises an alert if it is large, and
 * either way clears the flag and deletes the timer (then, if it is small itself, sets a new
 * flag). The timer clears the flag when the watermark passes the minute. "Next" is the order
 * of arrival; an alert also needs the large transaction's timestamp within
 * [small_ts, small_ts + 60 s], so a late or reordered record never yields an alert the
 * walkthrough's definition would not.
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FR_MAX_ACCOUNT 64
#define FR_SMALL_CENTS 100
#define FR_LARGE_CENTS 50000
#define FR_WINDOW_MS (60 * 1000)

struct fr_txn {
    int64_t ts;
    int64_t cents;
    char account[FR_MAX_ACCOUNT]; /* NUL-padded */
};

/* An alert: both timestamps, then the account's bytes. */
struct fr_alert {
    int64_t small_ts, large_ts;
    char account[FL_MAX_KEY];
};
#define FR_ALERT_HEAD offsetof(struct fr_alert, account)

struct fr_states {
    fl_value_state *small; /* int64_t: timestamp of the small transaction */
    fl_value_state *timer; /* int64_t: the pending timer */
};

void fr_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t fr_timestamp(const fl_rec *in);
uint32_t fr_account(const fl_rec *in, void *key);
void fr_open(fl_ctx *ctx);
void fr_close(fl_ctx *ctx);
void fr_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void fr_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t fr_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* "account,amount_cents,timestamp_ms" */
void fr_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *line = in->data;
    size_t n = in->len;
    struct fr_txn t;

    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    const char *c1 = memchr(line, ',', n);
    const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - line)) : NULL;
    if (!c2 || memchr(c2 + 1, ',', n - (size_t)(c2 + 1 - line)))
        goto bad;
    size_t alen = (size_t)(c1 - line);
    if (alen == 0 || alen > FR_MAX_ACCOUNT ||
        fl_parse_i64(c1 + 1, (size_t)(c2 - c1 - 1), &t.cents) < 0 ||
        fl_parse_i64(c2 + 1, n - (size_t)(c2 + 1 - line), &t.ts) < 0)
        goto bad;
    memset(t.account, 0, sizeof t.account);
    memcpy(t.account, line, alen);
    fl_emit(out, &t, sizeof t);
    return;
bad:
    fl_ctx_fail(ctx, "fraud: malformed line (expected account,amount_cents,timestamp_ms): '%.*s'",
                (int)(n > 200 ? 200 : n), line);
}

int64_t fr_timestamp(const fl_rec *in)
{
    int64_t ts;
    memcpy(&ts, in->data, sizeof ts);
    return ts;
}

uint32_t fr_account(const fl_rec *in, void *key)
{
    const char *a = (const char *)in->data + offsetof(struct fr_txn, account);
    uint32_t n = (uint32_t)strnlen(a, FR_MAX_ACCOUNT);
    memcpy(key, a, n);
    return n;
}

void fr_open(fl_ctx *ctx)
{
    struct fr_states *st = calloc(1, sizeof *st);
    if (!st) {
        fl_ctx_fail(ctx, "fraud: out of memory");
        return;
    }
    st->small = fl_ctx_value_state(ctx, "small-transaction");
    st->timer = fl_ctx_value_state(ctx, "timer");
    fl_ctx_set_user(ctx, st);
}

void fr_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

void fr_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct fr_states *st = fl_ctx_user(ctx);
    struct fr_txn t;
    int64_t small_ts, timer;

    memcpy(&t, in->data, sizeof t);
    if (fl_value_get_i64(st->small, &small_ts)) {
        if (t.cents > FR_LARGE_CENTS && t.ts >= small_ts && t.ts - small_ts <= FR_WINDOW_MS) {
            struct fr_alert a;
            uint32_t klen;
            const void *key = fl_ctx_key(ctx, &klen);
            a.small_ts = small_ts;
            a.large_ts = t.ts;
            memcpy(a.account, key, klen);
            fl_emit(out, &a, (uint32_t)FR_ALERT_HEAD + klen);
        }
        /* cleanUp: the flag and its timer */
        if (fl_value_get_i64(st->timer, &timer))
            fl_ctx_delete_event_timer(ctx, timer);
        fl_value_clear(st->timer);
        fl_value_clear(st->small);
    }
    if (t.cents < FR_SMALL_CENTS) {
        timer = t.ts + FR_WINDOW_MS;
        fl_value_put_i64(st->small, t.ts);
        fl_ctx_register_event_timer(ctx, timer);
        fl_value_put_i64(st->timer, timer);
    }
}

/* A minute has passed since the small transaction: forget it. */
void fr_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct fr_states *st = fl_ctx_user(ctx);
    fl_value_clear(st->timer);
    fl_value_clear(st->small);
}

/* "account,small_ts,large_ts" */
uint32_t fr_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct fr_alert a;
    uint32_t klen = in->len - (uint32_t)FR_ALERT_HEAD;

    memcpy(&a, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%lld,%lld", (int)klen, a.account, (long long)a.small_ts,
                     (long long)a.large_ts);
    return fl_fmt_len(n, cap);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    const char *ooo_arg = fl_arg(argc, argv, "out-of-orderness-ms", "5000");
    int64_t ooo;

    if (!input) {
        fprintf(stderr, "Usage: fraud --input FILE [--output DIR] [--out-of-orderness-ms N]\n");
        return 1;
    }
    if (fl_parse_i64(ooo_arg, strlen(ooo_arg), &ooo) < 0 || ooo < 0) {
        fprintf(stderr, "fraud: --out-of-orderness-ms must be an integer >= 0, not '%s'\n",
                ooo_arg);
        return 1;
    }

    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, input), "file-input"), 1);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, fr_parse), "parse"), 1);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, fr_timestamp));
    s = fl_set_parallelism(fl_name(s, "watermarks"), 1);
    s = fl_name(fl_keyed_process(fl_key_by(s, fr_account), fr_process, fr_on_timer),
                "fraud-detector");
    fl_with_open(s, fr_open);
    fl_with_close(s, fr_close);
    if (output)
        fl_name(fl_write_as_text(s, output, fr_format), "file-sink");
    else
        fl_name(fl_print(s, fr_format), "print-sink");
    return fl_execute(env, "Fraud detection");
}
