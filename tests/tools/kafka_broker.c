/* kafka_broker.c -- the Kafka broker of the tests: librdkafka's mock cluster
 * (rdkafka_mock.h) in a process of its own, so that several processes (TaskManagers, the
 * test's producer and consumer) reach one broker. No Kafka broker is packaged for Debian;
 * Flint's connector does not know it talks to a mock.
 *
 *   flint-kafka_broker [-b brokers] [-t topic:partitions]...
 *
 * prints its bootstrap servers ("127.0.0.1:port,...") on one line on stdout, then serves
 * until SIGTERM/SIGINT. What the mock does and does not do (librdkafka 2.0) is in
 * connectors/README.md.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    int brokers = 1, opt;
    while ((opt = getopt(argc, argv, "b:t:")) != -1)
        if (opt == 'b')
            brokers = atoi(optarg);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka_broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
    if (!mc) {
        fprintf(stderr, "kafka_broker: cannot create the mock cluster\n");
        return 1;
    }
    optind = 1;
    while ((opt = getopt(argc, argv, "b:t:")) != -1) {
        if (opt != 't')
            continue;
        char *colon = strrchr(optarg, ':');
        int parts = colon ? atoi(colon + 1) : 1;
        if (colon)
            *colon = '\0';
        if (rd_kafka_mock_topic_create(mc, optarg, parts < 1 ? 1 : parts, 1)) {
            fprintf(stderr, "kafka_broker: cannot create topic %s\n", optarg);
            return 1;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (!stop)
        pause();
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
