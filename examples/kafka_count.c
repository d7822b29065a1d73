/* kafka_count.c -- Kafka -> Flint -> Kafka, exactly once (the tutorial's end-to-end
 * two-phase commit): reads "key,seq" text records from a topic, counts per key, and writes
 * "key,seq,count" (count = how many records of the key so far, this one included) to
 * another topic through the transactional Kafka sink.
 *
 *   flint run -p 3 -D "execution.checkpointing.interval=200 ms" build/examples/kafka_count.so \
 *       --bootstrap-servers HOST:PORT --input in --output out \
 *       [--guarantee exactly-once|at-least-once|none] [--bounded]
 *
 * With --window-ms W it counts per key in tumbling event-time windows of W ms instead
 * (the tutorial's chapter 6 pipeline): records are "key,seq,timestamp", the timestamp (ms)
 * read by the watermark strategy (bounded out-of-orderness 0, per Kafka partition, idle
 * after --idle-ms I when given), and the output is "key,window_end,count".
 *
 * --sink-format key-value makes the sink expect key-value records (a bad-input test).
 *
 * --passthrough copies the input to the output unchanged (bench/kafka.sh).
 *
 * --bounded stops at the offsets that were the latest when the job started (Flink's
 * scan.bounded.mode latest-offset), so the job finishes. Records of one key must come in
 * order (produce them with the key as the Kafka message key: one partition per key), then
 * the output is deterministic: the key's n-th record gets count n. The cluster test
 * tests/cluster/test_kafka.sh runs it with TaskManagers killed mid-stream.
 *
 * Build: make (links build/lib/libflint-connectors.a and -lrdkafka into the bundle).
 */
#include <flint/codec.h>
#include <flint/kafka.h>
#include <flint/state.h>
#include <flint/time.h>
#include <flint/window.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t kc_key(const fl_rec *in, void *key);
void kc_open(fl_ctx *ctx);
void kc_count(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t kc_timestamp(const fl_rec *in);
void kc_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

/* The key is the text before the first comma. */
uint32_t kc_key(const fl_rec *in, void *key)
{
    const char *comma = memchr(in->data, ',', in->len);
    uint32_t n = comma ? (uint32_t)(comma - (const char *)in->data) : in->len;
    if (n > FL_MAX_KEY)
        n = FL_MAX_KEY;
    memcpy(key, in->data, n);
    return n;
}

void kc_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "count"));
}

void kc_count(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *st = fl_ctx_user(ctx);
    int64_t n = 0;
    fl_value_get_i64(st, &n); /* 0 for a new key */
    n++;
    fl_value_put_i64(st, n);
    char line[512];
    int len = snprintf(line, sizeof line, "%.*s,%lld", (int)(in->len > 400 ? 400 : in->len),
                       (const char *)in->data, (long long)n);
    fl_emit(out, line, (uint32_t)len);
}

/* The third field of "key,seq,timestamp". */
int64_t kc_timestamp(const fl_rec *in)
{
    char buf[64];
    uint32_t n = in->len < sizeof buf - 1 ? in->len : (uint32_t)sizeof buf - 1;
    memcpy(buf, in->data, n);
    buf[n] = '\0';
    const char *c = strchr(buf, ',');
    c = c ? strchr(c + 1, ',') : NULL;
    return c ? strtoll(c + 1, NULL, 10) : 0;
}

void kc_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    fl_rec r;
    int64_t n = 0;
    uint32_t klen;
    const char *key = fl_ctx_key(ctx, &klen);
    while (fl_iter_next(elements, &r))
        n++;
    char line[300];
    int len = snprintf(line, sizeof line, "%.*s,%lld,%lld", (int)(klen > 200 ? 200 : klen), key,
                       (long long)w->end, (long long)n);
    fl_emit(out, line, (uint32_t)len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *servers = fl_arg(argc, argv, "bootstrap-servers", NULL);
    const char *input = fl_arg(argc, argv, "input", "input");
    const char *output = fl_arg(argc, argv, "output", "output");
    if (!servers) {
        fprintf(stderr, "kafka_count: --bootstrap-servers HOST:PORT is required\n");
        return 1;
    }
    fl_props src = {0}, snk = {0};
    fl_props_set(&src, "properties.bootstrap.servers", servers);
    fl_props_set(&src, "topic", input);
    fl_props_set(&src, "scan.startup.mode", "earliest-offset");
    if (fl_arg_has(argc, argv, "bounded"))
        fl_props_set(&src, "scan.bounded.mode", "latest-offset");
    fl_props_set(&snk, "properties.bootstrap.servers", servers);
    fl_props_set(&snk, "topic", output);
    fl_props_set(&snk, "record.format", fl_arg(argc, argv, "sink-format", "value"));
    fl_props_set(&snk, "sink.delivery-guarantee",
                 fl_arg(argc, argv, "guarantee", "exactly-once"));

    int64_t window_ms, idle_ms;
    if (fl_arg_i64(argc, argv, "kafka_count", "window-ms", 0, 0, &window_ms) < 0 ||
        fl_arg_i64(argc, argv, "kafka_count", "idle-ms", 0, 0, &idle_ms) < 0)
        return 1;
    fl_watermark_strategy wm = {0};
    if (window_ms) {
        wm = fl_wm_bounded_out_of_orderness(0, kc_timestamp);
        if (idle_ms)
            wm = fl_wm_with_idleness(wm, idle_ms);
    }
    fl_stream *s = fl_kafka_source(env, &src, wm);
    fl_uid(s, "kafka-source");
    if (fl_arg_has(argc, argv, "passthrough")) {
        /* bench/kafka.sh: source -> sink, nothing in between */
    } else if (window_ms) {
        s = fl_windowed(fl_key_by(s, kc_key), fl_tumbling_event_time_windows(window_ms, 0));
        s = fl_window_process(s, kc_window);
        fl_uid(fl_name(s, "window-count"), "kafka-window-count");
    } else {
        s = fl_keyed_process(fl_key_by(s, kc_key), kc_count, NULL);
        fl_uid(fl_name(s, "count"), "kafka-count");
        fl_with_open(s, kc_open);
    }
    fl_uid(fl_kafka_sink(s, &snk), "kafka-sink");
    fl_props_free(&src);
    fl_props_free(&snk);
    return fl_execute(env, "Kafka Count");
}
