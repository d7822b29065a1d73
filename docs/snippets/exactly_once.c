/* exactly_once.c -- the guide's snippets on checkpoints, savepoints, end-to-end exactly
 * once and backpressure: Kafka to Kafka, every operator with a uid. */
#include <flint/flint.h>
#include <flint/kafka.h>

#include <stdio.h>
#include <string.h>

uint32_t whole_record(const fl_rec *in, void *key);
void count_per_key(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

uint32_t whole_record(const fl_rec *in, void *key)
{
    uint32_t n = in->len < FL_MAX_KEY ? in->len : FL_MAX_KEY;
    memcpy(key, in->data, n);
    return n;
}

void count_per_key(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *count = fl_ctx_value_state(ctx, "count");
    int64_t n = 0;
    fl_value_get_i64(count, &n);
    fl_value_put_i64(count, ++n);
    char line[64];
    int len = snprintf(line, sizeof line, "%.*s,%lld", (int)(in->len < 40 ? in->len : 40),
                       (const char *)in->data, (long long)n);
    fl_emit(out, line, (uint32_t)len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *servers = fl_arg(argc, argv, "bootstrap-servers", "localhost:9092");
    /* [kafka] */
    fl_props src = {0}, snk = {0};
    fl_props_set(&src, "properties.bootstrap.servers", servers);
    fl_props_set(&src, "topic", "clicks");
    fl_props_set(&src, "properties.group.id", "click-counter");
    fl_props_set(&snk, "properties.bootstrap.servers", servers);
    fl_props_set(&snk, "topic", "click-counts");
    fl_props_set(&snk, "sink.delivery-guarantee", "exactly-once");

    fl_watermark_strategy no_watermarks = {0};
    fl_stream *in = fl_uid(fl_kafka_source(env, &src, no_watermarks), "clicks-source");
    fl_stream *counts = fl_keyed_process(fl_key_by(in, whole_record), count_per_key, NULL);
    fl_uid(fl_name(counts, "count"), "click-count"); /* .uid(): savepoints map state by it */
    fl_uid(fl_kafka_sink(counts, &snk), "click-counts-sink");
    /* [kafka] */
    /* [buffer_timeout] */
    fl_env_set_buffer_timeout(env, 100); /* env.setBufferTimeout(100): ship full or 100 ms old */
    /* [buffer_timeout] */
    int rc = fl_execute(env, "exactly once");
    fl_props_free(&src);
    fl_props_free(&snk);
    return rc;
}
