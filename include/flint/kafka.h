/* flint/kafka.h -- the Kafka connector (connectors/kafka_*.c, librdkafka): a source
 * (Flink's KafkaSource) and a sink (Flink's KafkaSink). Link a bundle that uses it with
 * build/lib/libflint-connectors.a -lrdkafka (the Makefile's rule for examples/kafka_*.c does).
 *
 * Options are Flink's Kafka connector options, set with fl_props_set (flint/connectors.h):
 *
 *   source                                       sink
 *   topic              t1;t2 (or topic-pattern)  topic            the topic written
 *   topic-pattern      a POSIX extended regex    sink.delivery-guarantee
 *   properties.bootstrap.servers  host:port,...      none | at-least-once | exactly-once
 *   properties.group.id   group (offsets of           (default at-least-once)
 *                         group-offsets mode; the sink.transactional-id-prefix
 *                         source commits its          (exactly-once; default flint-<job id>)
 *                         offsets there when a    sink.transaction-marker-topic
 *                         checkpoint completes,       (exactly-once; default <topic>-flint-txn)
 *                         for monitoring)         properties.transaction.timeout.ms
 *   scan.startup.mode   earliest-offset (default)     (default 900000; at least the
 *                       | latest-offset | group-offsets  checkpoint interval)
 *                       | timestamp
 *   scan.startup.timestamp-millis   for timestamp
 *   scan.bounded.mode   unbounded (default) | latest-offset (stop at the offsets that were
 *                       the latest at the start)
 *   record.format       value (default: a record is the message value) | key-value (a
 *                       record is the key and the value as two fl_enc_str fields of
 *                       flint/codec.h); the same for the sink
 *   properties.*        any librdkafka / Kafka client property, passed through
 *
 * Timestamps: a source record's timestamp is the message's; the sink writes the record's.
 * Exactly-once keeps a checkpoint's records in the checkpoint until the checkpoint
 * completes and then writes them in one transaction per subtask, recorded in the marker
 * topic (librdkafka cannot resume a crashed producer's transaction; connectors/README.md).
 * Watermarks: per partition (fl_from_source's strategy), the tutorial's 6.4.
 */
#ifndef FLINT_KAFKA_H
#define FLINT_KAFKA_H

#include <flint/connectors.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const fl_source_def fl_kafka_source_def;
extern const fl_sink_def fl_kafka_sink_def;

/* KafkaSource.builder()...build() with env.fromSource(source, wm, "Kafka Source"). */
static inline fl_stream *fl_kafka_source(fl_env *env, const fl_props *options,
                                         fl_watermark_strategy wm)
{
    return fl_from_source(env, &fl_kafka_source_def, options->buf, options->len, wm,
                          "Kafka Source");
}

/* stream.sinkTo(KafkaSink.builder()...build()). */
static inline fl_stream *fl_kafka_sink(fl_stream *in, const fl_props *options)
{
    return fl_sink_to(in, &fl_kafka_sink_def, options->buf, options->len);
}

#ifdef __cplusplus
}
#endif

#endif
