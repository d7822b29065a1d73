/* kafka_pipe.c -- the baseline of bench/kafka.sh: librdkafka alone copying a topic's
 * partition 0 to another topic, as Flint's Kafka source -> sink job does (a consumer with
 * assign() and batch reads, a producer with the same defaults as the at-least-once sink),
 * timed from the first read to the last acknowledged write; it stops at the end of every
 * partition.
 *
 *   kafka_pipe BOOTSTRAP FROM PARTITIONS TO      prints "ms records"
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: kafka_pipe BOOTSTRAP FROM PARTITIONS TO\n");
        return 2;
    }
    int parts = atoi(argv[3]), eofs = 0;
    long long got = 0;
    char err[512];
    rd_kafka_conf_t *cc = rd_kafka_conf_new(), *pc = rd_kafka_conf_new();
    rd_kafka_conf_set(cc, "bootstrap.servers", argv[1], err, sizeof err);
    rd_kafka_conf_set(cc, "group.id", "kafka-pipe", err, sizeof err);
    rd_kafka_conf_set(cc, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(cc, "enable.partition.eof", "true", err, sizeof err);
    rd_kafka_conf_set(pc, "bootstrap.servers", argv[1], err, sizeof err);
    rd_kafka_conf_set(pc, "enable.idempotence", "true", err, sizeof err);
    rd_kafka_conf_set(pc, "linger.ms", "5", err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
    if (!c || !p) {
        fprintf(stderr, "kafka_pipe: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(l, argv[2], i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c);
    rd_kafka_topic_t *out = rd_kafka_topic_new(p, argv[4], NULL);
    static rd_kafka_message_t *batch[256];
    long long t0 = now_ms();
    while (eofs < parts) {
        ssize_t k = rd_kafka_consume_batch_queue(q, 10, batch, 256);
        for (ssize_t i = 0; i < k; i++) {
            rd_kafka_message_t *m = batch[i];
            if (!m->err) {
                while (rd_kafka_producev(p, RD_KAFKA_V_RKT(out), RD_KAFKA_V_VALUE(m->payload, m->len),
                                         RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                         RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    rd_kafka_poll(p, 10);
                got++;
            } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                eofs++;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(p, 0);
    }
    rd_kafka_flush(p, 60000);
    printf("%lld %lld\n", now_ms() - t0, got);
    rd_kafka_topic_destroy(out);
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    rd_kafka_destroy(p);
    return 0;
}
