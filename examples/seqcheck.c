/* seqcheck.c -- a sequence-check job in the spirit of Flink's DataStreamAllroundTestProgram:
 * every key's sequence numbers must reach the keyed operator with no gap and no repeat,
 * whatever failures and restores happen on the way. The cluster tests run it with induced
 * failures, killed TaskManagers, savepoints and unaligned checkpoints.
 *
 *   flint run [-p N] build/examples/seqcheck.so [--keys K] [--per-key N] [--output DIR]
 *       [--rate R] [--fail-attempts A] [--fail-after M] [--emit-all] [--sink-delay-us U]
 *
 * The dataflow:
 *
 *   generateSequence(0, K*N - 1) -> "inject" map: v -> (key v % K, seq v / K), throttled to
 *       R records/s (0: unthrottled), failing while the attempt is below A      (both at 1)
 *   -> keyBy(key) -> "check" KeyedProcessFunction with ValueState (last seq, count)    (at -p)
 *   -> ["sink-throttle" map sleeping U us per line] -> file sink DIR (print without --output)
 *
 * The source and the injector run at parallelism 1: a single in-order stream, so each key
 * sees seq 0, 1, 2 ... in order over its one channel, and any gap or repeat the checker sees
 * comes from a failure handled wrongly (a lost or replayed record next to restored state).
 * The sequence source's position is checkpointed, so a restore rewinds it.
 *
 * The checker's output lines:
 *   VIOLATION key=K expected=E got=S    seq S arrived where E = last + 1 was due
 *   FINAL key=K count=C                 seq N-1 arrived; C records of the key seen in total
 *   K,S                                 every record, with --emit-all (for exactly-once
 *                                       checks of the committed output)
 * A correct run prints no VIOLATION and K FINAL lines, each with count=N.
 *
 * Failure injection: the injector counts its records since it was opened (this attempt);
 * while fl_ctx_attempt() < A, it fails its task at the M-th record. Each attempt so fails
 * M records after (re)starting, restores from the latest checkpoint and goes on: A induced
 * failures in all, spread over the job as long as checkpoints complete in between.
 *
 * Build: make (cc -shared -fPIC -Iinclude examples/seqcheck.c -o seqcheck.so).
 */
#include <flint/codec.h>
#include <flint/flint.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sc_rec {
    int64_t key, seq;
};

struct sc_cfg {
    int64_t keys, per_key;
    int64_t rate;          /* records/s of the injector, 0 = unthrottled */
    int64_t fail_attempts; /* fail while fl_ctx_attempt() < this */
    int64_t fail_after;    /* at this record of an attempt */
    int64_t delay_us;      /* sink throttle per line */
    int64_t emit_all;
};

/* What the checker keeps per key. */
struct sc_seen {
    int64_t last, count;
};

/* The injector's per-subtask counters. */
struct sc_inject {
    int64_t n;        /* records of this attempt */
    int64_t start_ns; /* when the first one came */
};

void sc_inject_open(fl_ctx *ctx);
void sc_inject_close(fl_ctx *ctx);
void sc_inject(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void sc_check_open(fl_ctx *ctx);
void sc_check(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void sc_throttle(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

static struct sc_cfg sc_config(fl_ctx *ctx)
{
    return *fl_ctx_config_as(ctx, struct sc_cfg);
}

static int64_t sc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sc_sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void sc_inject_open(fl_ctx *ctx)
{
    struct sc_inject *s = calloc(1, sizeof *s);
    if (!s)
        fl_ctx_fail(ctx, "seqcheck: out of memory");
    fl_ctx_set_user(ctx, s);
}

void sc_inject_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
    fl_ctx_set_user(ctx, NULL);
}

/* v -> (v % K, v / K); throttles; fails on purpose in early attempts. */
void sc_inject(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct sc_inject *s = fl_ctx_user(ctx);
    struct sc_cfg c = sc_config(ctx);
    struct sc_rec r;
    int64_t v;

    if (!s || in->len != sizeof v || c.keys <= 0) {
        fl_ctx_fail(ctx, "seqcheck: bad record or configuration");
        return;
    }
    memcpy(&v, in->data, sizeof v);
    s->n++;
    if (fl_ctx_attempt(ctx) < c.fail_attempts && s->n >= c.fail_after) {
        fl_ctx_fail(ctx, "seqcheck: induced failure in attempt %d at record %lld (value %lld)",
                    fl_ctx_attempt(ctx), (long long)s->n, (long long)v);
        return;
    }
    if (c.rate > 0) {
        if (s->n == 1)
            s->start_ns = sc_mono_ns();
        else if (s->n % 64 == 0) {
            int64_t due = s->start_ns + s->n * 1000000000 / c.rate, now = sc_mono_ns();
            if (due > now)
                sc_sleep_ns(due - now);
        }
    }
    r.key = v % c.keys;
    r.seq = v / c.keys;
    fl_emit(out, &r, sizeof r);
}

void sc_check_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "seen"));
}

/* The check: seq must be last + 1. */
void sc_check(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *seen = fl_ctx_user(ctx);
    struct sc_cfg c = sc_config(ctx);
    struct sc_seen st = {-1, 0};
    struct sc_rec r;
    char line[128];
    int n;

    if (in->len != sizeof r) {
        fl_ctx_fail(ctx, "seqcheck: record of %u bytes", in->len);
        return;
    }
    memcpy(&r, in->data, sizeof r);
    fl_value_get_as(seen, struct sc_seen, &st); /* {-1, 0} for a new key */
    if (r.seq != st.last + 1) {
        n = snprintf(line, sizeof line, "VIOLATION key=%lld expected=%lld got=%lld",
                     (long long)r.key, (long long)(st.last + 1), (long long)r.seq);
        fl_emit(out, line, (uint32_t)n);
    }
    st.last = r.seq;
    st.count++;
    fl_value_put_as(seen, struct sc_seen, &st);
    if (c.emit_all) {
        n = snprintf(line, sizeof line, "%lld,%lld", (long long)r.key, (long long)r.seq);
        fl_emit(out, line, (uint32_t)n);
    }
    if (r.seq == c.per_key - 1) {
        n = snprintf(line, sizeof line, "FINAL key=%lld count=%lld", (long long)r.key,
                     (long long)st.count);
        fl_emit(out, line, (uint32_t)n);
    }
}

/* A slow sink: the line waits delay_us before it goes to the file sink chained after. */
void sc_throttle(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct sc_cfg c = sc_config(ctx);

    if (c.delay_us > 0)
        sc_sleep_ns(c.delay_us * 1000);
    fl_emit(out, in->data, in->len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *output = fl_arg(argc, argv, "output", NULL);
    struct sc_cfg c;

    memset(&c, 0, sizeof c);
    if (fl_arg_i64(argc, argv, "seqcheck", "keys", 64, 1, &c.keys) < 0 ||
        fl_arg_i64(argc, argv, "seqcheck", "per-key", 10000, 1, &c.per_key) < 0 ||
        fl_arg_i64(argc, argv, "seqcheck", "rate", 0, 0, &c.rate) < 0 ||
        fl_arg_i64(argc, argv, "seqcheck", "fail-attempts", 0, 0, &c.fail_attempts) < 0 ||
        fl_arg_i64(argc, argv, "seqcheck", "fail-after", 100000, 1, &c.fail_after) < 0 ||
        fl_arg_i64(argc, argv, "seqcheck", "sink-delay-us", 0, 0, &c.delay_us) < 0)
        return 1;
    if (c.keys > INT64_MAX / c.per_key) {
        fprintf(stderr, "seqcheck: --keys times --per-key overflows\n");
        return 1;
    }
    c.emit_all = fl_arg_has(argc, argv, "emit-all");

    fl_stream *s = fl_generate_sequence(env, 0, c.keys * c.per_key - 1);
    /* max parallelism 1 too: reactive mode (scheduler-mode: reactive) scales every operator
     * up to its max parallelism, and this stream must stay one */
    fl_uid(fl_name(fl_set_max_parallelism(fl_set_parallelism(s, 1), 1), "sequence"),
           "seqcheck-source");
    s = fl_map(s, sc_inject);
    fl_uid(fl_name(fl_set_max_parallelism(fl_set_parallelism(s, 1), 1), "inject"),
           "seqcheck-inject");
    fl_with_config_as(s, struct sc_cfg, &c);
    fl_with_open(s, sc_inject_open);
    fl_with_close(s, sc_inject_close);
    s = fl_keyed_process(fl_key_by_field(s, offsetof(struct sc_rec, key), sizeof(int64_t)),
                         sc_check, NULL);
    fl_uid(fl_name(s, "check"), "seqcheck-check");
    fl_with_config_as(s, struct sc_cfg, &c);
    fl_with_open(s, sc_check_open);
    if (c.delay_us > 0) {
        s = fl_map(s, sc_throttle);
        fl_uid(fl_name(s, "sink-throttle"), "seqcheck-throttle");
        fl_with_config_as(s, struct sc_cfg, &c);
    }
    if (output)
        fl_uid(fl_name(fl_write_as_text(s, output, NULL), "file-sink"), "seqcheck-sink");
    else
        fl_name(fl_print(s, NULL), "print-sink");
    return fl_execute(env, "Sequence Check");
}
