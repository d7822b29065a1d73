/* flint/redis.h -- the Redis sink (connectors/redis_sink.c, hiredis): Flink's (Bahir)
 * RedisSink. Link a bundle that uses it with build/lib/libflint-connectors.a -lhiredis (the
 * Makefile's rule for examples/redis_*.c does).
 *
 * A record is the arguments of one command after its name, as fl_enc_str fields of
 * flint/codec.h:
 *
 *   SET key value            idempotent: a replay writes the same value again
 *   HSET key field value     idempotent
 *   ZADD key score member    idempotent
 *   SADD key member          idempotent
 *   RPUSH key value          NOT idempotent: a replay appends again
 *   INCRBY key increment     NOT idempotent: a replay adds again
 *
 * Options (fl_props_set, flint/connectors.h):
 *   host, port                   the server (127.0.0.1, 6379)
 *   password                     AUTH with it (never logged)
 *   command                      one of the above (SET)
 *   sink.buffer-flush.max-rows   commands per pipelined batch (100)
 *   sink.buffer-flush.interval   ms between time-based flushes (1000; 0: none)
 *   sink.max-retries             reconnects and resends of a batch before the job fails (3)
 *
 * Every barrier flushes (at-least-once); with an idempotent command a restored job leaves
 * the same values as a run without failure.
 */
#ifndef FLINT_REDIS_H
#define FLINT_REDIS_H

#include <flint/connectors.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const fl_sink_def fl_redis_sink_def;

/* stream.addSink(new RedisSink(...)) */
static inline fl_stream *fl_redis_sink(fl_stream *in, const fl_props *options)
{
    return fl_sink_to(in, &fl_redis_sink_def, options->buf, options->len);
}

#ifdef __cplusplus
}
#endif

#endif
