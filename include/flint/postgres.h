/* flint/postgres.h -- the PostgreSQL sink (connectors/postgres_sink.c, libpq): Flink's JDBC
 * sink. Link a bundle that uses it with build/lib/libflint-connectors.a -lpq (the
 * Makefile's rule for examples/pg_*.c does).
 *
 * A record is one row: one fl_enc_str field (flint/codec.h) per column of `columns`, the
 * text form of the value. Options (fl_props_set, flint/connectors.h), Flink's names:
 *
 *   url                          postgresql://host:port/database (or jdbc:postgresql://...,
 *                                or a libpq connection string)
 *   username, password           override the url's; the password is never logged
 *   table-name                   the table (schema.table allowed)
 *   columns                      the columns written, in the record's field order: a,b,c
 *   key-columns                  upsert on these (INSERT ... ON CONFLICT (keys) DO UPDATE):
 *                                a replay writes the same values again (idempotent)
 *   sink.delivery-guarantee      at-least-once (default) | exactly-once (PREPARE
 *                                TRANSACTION at each barrier, COMMIT PREPARED when the
 *                                checkpoint completes; needs max_prepared_transactions > 0)
 *   sink.buffer-flush.max-rows   rows per batch (default 100)
 *   sink.buffer-flush.interval   ms between time-based flushes (default 1000; 0: none)
 */
#ifndef FLINT_POSTGRES_H
#define FLINT_POSTGRES_H

#include <flint/connectors.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const fl_sink_def fl_postgres_sink_def;

/* stream.sinkTo(JdbcSink...) */
static inline fl_stream *fl_postgres_sink(fl_stream *in, const fl_props *options)
{
    return fl_sink_to(in, &fl_postgres_sink_def, options->buf, options->len);
}

#ifdef __cplusplus
}
#endif

#endif
