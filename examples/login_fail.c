/* login_fail.c -- the tutorial's brute-force detection: three failed logins in a row.
 *
 *   flint run [-p N] build/examples/login_fail.so --input FILE --output DIR
 *       [--out-of-orderness-ms 5000]
 *
 * Input: `user,ip,status,timestamp_ms` with status `success` or `fail`, each user's events
 * in event-time order (different users' events may interleave in any order). Output:
 * `user,ts1,ts2,ts3` for every three consecutive failures of a user: a success starts the
 * count again, and triples overlap (four failures in a row give two alerts, the first
 * three and the last three).
 *
 * The dataflow: readTextFile (parallelism 1) -> parse (flatMap) ->
 * assignTimestampsAndWatermarks(forBoundedOutOfOrderness) (all three chained, at 1) ->
 * keyBy(user) -> KeyedProcessFunction (at -p) -> file sink.
 *
 * The KeyedProcessFunction keeps the timestamps of the user's last (at most two) failures
 * in a ValueState and needs no timers: since each user's events arrive in event-time order,
 * the order of arrival is the order of events. The watermark therefore does not change the
 * result; it is there because a Flink job on event time assigns timestamps right after the
 * source, and the 5 s default bound is the tutorial's usual one.
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LF_MAX_USER 64

struct lf_login {
    int64_t ts;
    int32_t failed;
    char user[LF_MAX_USER]; /* NUL-padded */
};

/* The state: the timestamps of the last failures in a row (at most two). */
struct lf_fails {
    int64_t n;
    int64_t ts[2];
};

/* An alert: three timestamps, then the user's bytes. */
struct lf_alert {
    int64_t ts[3];
    char user[FL_MAX_KEY];
};
#define LF_ALERT_HEAD offsetof(struct lf_alert, user)

void lf_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t lf_timestamp(const fl_rec *in);
uint32_t lf_user(const fl_rec *in, void *key);
void lf_open(fl_ctx *ctx);
void lf_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t lf_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

/* "user,ip,status,timestamp_ms" */
void lf_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *line = in->data, *f[4];
    size_t n = in->len, len[4];
    struct lf_login l;

    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    const char *p = line, *end = line + n;
    for (int i = 0; i < 4; i++) {
        const char *c = i < 3 ? memchr(p, ',', (size_t)(end - p)) : end;
        if (!c)
            goto bad;
        f[i] = p;
        len[i] = (size_t)(c - p);
        p = c + 1;
    }
    if (memchr(f[3], ',', len[3]) || len[0] == 0 || len[0] > LF_MAX_USER ||
        fl_parse_i64(f[3], len[3], &l.ts) < 0)
        goto bad;
    if (len[2] == 4 && memcmp(f[2], "fail", 4) == 0)
        l.failed = 1;
    else if (len[2] == 7 && memcmp(f[2], "success", 7) == 0)
        l.failed = 0;
    else
        goto bad;
    memset(l.user, 0, sizeof l.user);
    memcpy(l.user, f[0], len[0]);
    fl_emit(out, &l, sizeof l);
    return;
bad:
    fl_ctx_fail(ctx, "login_fail: malformed line (expected user,ip,success|fail,timestamp_ms): "
                     "'%.*s'", (int)(n > 200 ? 200 : n), line);
}

int64_t lf_timestamp(const fl_rec *in)
{
    int64_t ts;
    memcpy(&ts, in->data, sizeof ts);
    return ts;
}

uint32_t lf_user(const fl_rec *in, void *key)
{
    const char *u = (const char *)in->data + offsetof(struct lf_login, user);
    uint32_t n = (uint32_t)strnlen(u, LF_MAX_USER);
    memcpy(key, u, n);
    return n;
}

void lf_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "recent-failures"));
}

void lf_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *st = fl_ctx_user(ctx);
    struct lf_login l;
    struct lf_fails f = {0, {0, 0}};

    memcpy(&l, in->data, sizeof l);
    if (!l.failed) {
        fl_value_clear(st);
        return;
    }
    fl_value_get_as(st, struct lf_fails, &f); /* a new key keeps the zeros */
    if (f.n == 2) {
        struct lf_alert a;
        uint32_t klen;
        const void *key = fl_ctx_key(ctx, &klen);
        a.ts[0] = f.ts[0];
        a.ts[1] = f.ts[1];
        a.ts[2] = l.ts;
        memcpy(a.user, key, klen);
        fl_emit(out, &a, (uint32_t)LF_ALERT_HEAD + klen);
        f.ts[0] = f.ts[1];
        f.ts[1] = l.ts;
    } else
        f.ts[f.n++] = l.ts;
    fl_value_put_as(st, struct lf_fails, &f);
}

/* "user,ts1,ts2,ts3" */
uint32_t lf_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct lf_alert a;
    uint32_t klen = in->len - (uint32_t)LF_ALERT_HEAD;

    memcpy(&a, in->data, in->len);
    int n = snprintf(buf, cap, "%.*s,%lld,%lld,%lld", (int)klen, a.user, (long long)a.ts[0],
                     (long long)a.ts[1], (long long)a.ts[2]);
    return fl_fmt_len(n, cap);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    const char *ooo_arg = fl_arg(argc, argv, "out-of-orderness-ms", "5000");
    int64_t ooo;

    if (!input) {
        fprintf(stderr, "Usage: login_fail --input FILE [--output DIR] [--out-of-orderness-ms N]\n");
        return 1;
    }
    if (fl_parse_i64(ooo_arg, strlen(ooo_arg), &ooo) < 0 || ooo < 0) {
        fprintf(stderr, "login_fail: --out-of-orderness-ms must be an integer >= 0, not '%s'\n",
                ooo_arg);
        return 1;
    }

    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, input), "file-input"), 1);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, lf_parse), "parse"), 1);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, lf_timestamp));
    s = fl_set_parallelism(fl_name(s, "watermarks"), 1);
    s = fl_name(fl_keyed_process(fl_key_by(s, lf_user), lf_process, NULL), "three-failures");
    fl_with_open(s, lf_open);
    if (output)
        fl_name(fl_write_as_text(s, output, lf_format), "file-sink");
    else
        fl_name(fl_print(s, lf_format), "print-sink");
    return fl_execute(env, "Login failures");
}
