/* kafka_internal.h -- what the Kafka source and sink share (kafka_common.c): the client
 * configuration from the connector's options, librdkafka's errors in one place, the
 * record format. Task thread of the subtask that owns the client.
 */
#ifndef FL_CONNECTORS_KAFKA_INTERNAL_H
#define FL_CONNECTORS_KAFKA_INTERNAL_H

#include <flint/codec.h>
#include <flint/kafka.h>
#include <librdkafka/rdkafka.h>

/* A librdkafka configuration with every properties.* option of the connector's settings
 * (cfg), plus the defaults given as "key=value" pairs (overridden by the user's). NULL
 * after fl_ctx_fail naming the option. The password-like values are never logged. */
rd_kafka_conf_t *fl_kafka_conf(fl_ctx *ctx, const char *who, const char *const *defaults);

/* The option's value, or dflt. */
const char *fl_kafka_opt(fl_ctx *ctx, const char *key, const char *dflt);

/* record.format: value (false) or key-value (true); fails on anything else. */
int fl_kafka_record_format(fl_ctx *ctx, const char *who, bool *key_value);

/* Splits a record of the key-value format into key and value: false when damaged. */
static inline bool fl_kafka_split_kv(const fl_rec *in, const void **k, uint32_t *klen,
                                     const void **v, uint32_t *vlen)
{
    fl_dec d = fl_dec_init(in->data, in->len);
    *k = fl_dec_str(&d, klen);
    *v = fl_dec_str(&d, vlen);
    return !d.bad && fl_dec_done(&d);
}

#endif
