/* kafka_sink.c -- the Kafka sink (flint/kafka.h): Flink's KafkaSink on librdkafka, written
 * against flint/connectors.h. Task thread of its subtask.
 *
 * sink.delivery-guarantee:
 *   none           records are produced as they come; nothing waits for the broker.
 *   at-least-once  the same, and pre_commit flushes: every record before a barrier is
 *                  acknowledged before the checkpoint can complete (a replay duplicates).
 *   exactly-once   a transactional producer per subtask (transactional.id =
 *                  <sink.transactional-id-prefix>-<subtask>), one transaction per
 *                  checkpoint, visible to read_committed consumers when the checkpoint
 *                  completes.
 *
 * Why exactly-once keeps the checkpoint's records in the checkpoint: Flink's KafkaSink
 * writes into an open transaction and, after a crash, resumes that transaction from another
 * process by setting the Java client's producer id and epoch through reflection.
 * librdkafka has no such call: a transaction dies with its producer, and a new producer
 * with the same transactional.id aborts it. So the records of a checkpoint are the
 * committable (Flink's GenericWriteAheadSink), in chunks of at most CHUNK bytes, and
 * commit() writes a chunk in one transaction together with a marker record in the marker
 * topic (sink.transaction-marker-topic): key = the chunk's id (job, subtask, checkpoint,
 * chunk), value = the transaction's token. A commit after a restore first reads the marker
 * topic (read_committed) and skips the chunks already there, so a chunk is committed exactly
 * once whether the crash came before, during or after its commit. The data is flushed
 * before the marker is produced, so "marker written" implies "data written" even on a
 * broker that does not hide aborted transactions (librdkafka's mock; connectors/README.md).
 * Each record carries the header flint-txn = the token of its transaction.
 *
 * Opening the producer (init_transactions) fences an earlier attempt of the same subtask
 * and aborts its lingering transaction (Flink's abort of predecessors' transactions).
 */
#include "conn_buf.h"
#include "kafka_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WHO "Kafka sink"
#define CHUNK (1u << 20)
#define FLUSH_MS 100
#define TXN_OP_MS 60000
#define MARKER_READ_MS 60000

enum { DG_NONE, DG_AT_LEAST_ONCE, DG_EXACTLY_ONCE };

typedef struct kwriter {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt, *marker;
    int guarantee;
    bool key_value;
    bool restoring;           /* commits before recover(): restored committables */
    bool markers_loaded;
    char delivery_err[512];   /* the first failed delivery since the last check */
    char txid[300], token_base[340], job[40];
    uint64_t txn_seq;
    unsigned produced;
    /* exactly-once: the current checkpoint's records, each u32 len, i64 ts, bytes */
    uint8_t *buf;
    size_t len, cap;
    /* the chunk ids found in the marker topic (restore only) */
    char **seen;
    int nseen, capseen;
} kwriter;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kwriter *w = opaque;
    if (m->err && !w->delivery_err[0])
        snprintf(w->delivery_err, sizeof w->delivery_err, "%s [%d]: %s",
                 rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
}

/* A failed delivery since the last call: fails the sink with it. */
static int delivery_failed(fl_ctx *ctx, kwriter *w)
{
    if (!w->delivery_err[0])
        return 0;
    fl_ctx_fail(ctx, WHO ": delivery failed: %s", w->delivery_err);
    w->delivery_err[0] = '\0';
    return -1;
}

static int parse_guarantee(fl_ctx *ctx, kwriter *w)
{
    const char *g = fl_kafka_opt(ctx, "sink.delivery-guarantee", "at-least-once");
    if (!strcmp(g, "none"))
        w->guarantee = DG_NONE;
    else if (!strcmp(g, "at-least-once"))
        w->guarantee = DG_AT_LEAST_ONCE;
    else if (!strcmp(g, "exactly-once"))
        w->guarantee = DG_EXACTLY_ONCE;
    else {
        fl_ctx_fail(ctx, WHO ": sink.delivery-guarantee must be none, at-least-once or "
                         "exactly-once, not '%s'", g);
        return -1;
    }
    return 0;
}

/* exactly-once: transactional.id and the transaction timeout, checked against the
 * checkpoint interval (a transaction must outlive the wait for its checkpoint). */
static int transactional_conf(fl_ctx *ctx, kwriter *w, rd_kafka_conf_t *conf)
{
    char errstr[512], v[32];
    const char *prefix = fl_kafka_opt(ctx, "sink.transactional-id-prefix", "");
    if (*prefix)
        snprintf(w->txid, sizeof w->txid, "%s-%d", prefix, fl_ctx_subtask(ctx));
    else
        snprintf(w->txid, sizeof w->txid, "flint-%s-%d", w->job, fl_ctx_subtask(ctx));
    long long timeout = strtoll(fl_kafka_opt(ctx, "properties.transaction.timeout.ms", "900000"),
                                NULL, 10);
    int64_t interval = fl_ctx_checkpoint_interval(ctx);
    if (interval > 0 && timeout < interval) {
        fl_ctx_fail(ctx, WHO ": properties.transaction.timeout.ms (%lld ms) is shorter than the "
                         "checkpoint interval execution.checkpointing.interval (%lld ms): a "
                         "transaction could time out before its checkpoint completes; raise it",
                    timeout, (long long)interval);
        return -1;
    }
    snprintf(v, sizeof v, "%lld", timeout);
    if (rd_kafka_conf_set(conf, "transactional.id", w->txid, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "transaction.timeout.ms", v, errstr, sizeof errstr)) {
        fl_ctx_fail(ctx, WHO ": %s", errstr);
        return -1;
    }
    /* a token unique to this producer instance: the transaction's name in headers/markers */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(w->token_base, sizeof w->token_base, "%s:%lx%lx:%d", w->txid, (long)ts.tv_sec,
             (long)ts.tv_nsec, (int)getpid());
    return 0;
}

static int txn_error(fl_ctx *ctx, kwriter *w, rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return 0;
    fl_ctx_fail(ctx, WHO ": %s (transactional.id %s): %s", what, w->txid,
                rd_kafka_error_string(e));
    if (rd_kafka_error_txn_requires_abort(e))
        rd_kafka_error_destroy(rd_kafka_abort_transaction(w->rk, TXN_OP_MS));
    rd_kafka_error_destroy(e);
    return -1;
}

int fl_kafka_sink_open(fl_ctx *ctx);
int fl_kafka_sink_open(fl_ctx *ctx)
{
    kwriter *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    fl_ctx_set_user(ctx, w);
    snprintf(w->job, sizeof w->job, "%s", fl_ctx_job_id(ctx));
    if (fl_kafka_record_format(ctx, WHO, &w->key_value) < 0 || parse_guarantee(ctx, w) < 0)
        return -1;
    const char *topic = fl_kafka_opt(ctx, "topic", "");
    if (!*topic) {
        fl_ctx_fail(ctx, WHO ": set the option topic");
        return -1;
    }
    static const char *const defaults[] = {"enable.idempotence=true", "linger.ms=5", NULL};
    rd_kafka_conf_t *conf = fl_kafka_conf(ctx, WHO, w->guarantee == DG_NONE ? NULL : defaults);
    if (!conf)
        return -1;
    if (w->guarantee == DG_EXACTLY_ONCE && transactional_conf(ctx, w, conf) < 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, w);
    char errstr[512];
    w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!w->rk) {
        fl_ctx_fail(ctx, WHO ": cannot create a producer: %s", errstr);
        return -1;
    }
    w->rkt = rd_kafka_topic_new(w->rk, topic, NULL);
    if (w->guarantee != DG_EXACTLY_ONCE)
        return 0;
    char mt[300];
    snprintf(mt, sizeof mt, "%s-flint-txn", topic);
    w->marker = rd_kafka_topic_new(
        w->rk, fl_kafka_opt(ctx, "sink.transaction-marker-topic", mt), NULL);
    w->restoring = true;
    /* fences an earlier attempt of this subtask and aborts its open transaction */
    rd_kafka_error_t *e = rd_kafka_init_transactions(w->rk, TXN_OP_MS);
    if (e) {
        fl_ctx_fail(ctx, WHO ": cannot initialize transactions on properties.bootstrap.servers="
                         "%s (transactional.id %s): %s",
                    fl_kafka_opt(ctx, "properties.bootstrap.servers", ""), w->txid,
                    rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    return 0;
}

static void produce(fl_ctx *ctx, kwriter *w, const void *data, uint32_t len, int64_t ts,
                    const char *token)
{
    const void *k = NULL, *v = data;
    uint32_t klen = 0, vlen = len;
    fl_rec r = {.data = data, .len = len};
    if (w->key_value && !fl_kafka_split_kv(&r, &k, &klen, &v, &vlen)) {
        fl_ctx_fail(ctx, WHO ": a record of %u bytes is not a key-value record (record.format "
                         "key-value: two fl_enc_str fields)", len);
        return;
    }
    for (;;) {
        rd_kafka_resp_err_t err;
        if (token)
            err = rd_kafka_producev(w->rk, RD_KAFKA_V_RKT(w->rkt), RD_KAFKA_V_KEY(k, klen),
                                    RD_KAFKA_V_VALUE((void *)v, vlen),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_TIMESTAMP(ts == FL_NO_TIMESTAMP ? 0 : ts),
                                    RD_KAFKA_V_HEADER("flint-txn", token, -1), RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(w->rk, RD_KAFKA_V_RKT(w->rkt), RD_KAFKA_V_KEY(k, klen),
                                    RD_KAFKA_V_VALUE((void *)v, vlen),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_TIMESTAMP(ts == FL_NO_TIMESTAMP ? 0 : ts),
                                    RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (err)
                fl_ctx_fail(ctx, WHO ": cannot produce to %s: %s", rd_kafka_topic_name(w->rkt),
                            rd_kafka_err2str(err));
            break;
        }
        rd_kafka_poll(w->rk, 10); /* the local queue is full: wait for the broker */
    }
    if ((++w->produced & 1023) == 0)
        rd_kafka_poll(w->rk, 0);
}

void fl_kafka_sink_write(fl_ctx *ctx, const fl_rec *in);
void fl_kafka_sink_write(fl_ctx *ctx, const fl_rec *in)
{
    kwriter *w = fl_ctx_user(ctx);
    if (w->guarantee != DG_EXACTLY_ONCE) {
        produce(ctx, w, in->data, in->len, in->ts, NULL);
        return;
    }
    size_t need = w->len + 12 + in->len;
    fl_conn_reserve(&w->buf, &w->cap, need);
    uint32_t l = in->len;
    int64_t ts = in->ts;
    memcpy(w->buf + w->len, &l, 4);
    memcpy(w->buf + w->len + 4, &ts, 8);
    memcpy(w->buf + w->len + 12, in->data, l);
    w->len = need;
}

static int flush_all(fl_ctx *ctx, kwriter *w)
{
    while (rd_kafka_outq_len(w->rk) > 0) {
        rd_kafka_resp_err_t err = rd_kafka_flush(w->rk, FLUSH_MS);
        if (err && err != RD_KAFKA_RESP_ERR__TIMED_OUT)
            break;
        if (delivery_failed(ctx, w) < 0)
            return -1;
    }
    return delivery_failed(ctx, w);
}

/* A committable: u16 id length, the chunk id, then records (u32 len, i64 ts, bytes). */
static void add_chunk(fl_ctx *ctx, kwriter *w, int64_t id, int chunk, size_t from, size_t to,
                      uint8_t **tmp, size_t *tmpcap)
{
    char cid[128];
    int n = id == FL_SINK_END_OF_INPUT
                ? snprintf(cid, sizeof cid, "%s/%d/end/%d", w->job, fl_ctx_subtask(ctx), chunk)
                : snprintf(cid, sizeof cid, "%s/%d/%lld/%d", w->job, fl_ctx_subtask(ctx),
                           (long long)id, chunk);
    size_t len = 2 + (size_t)n + (to - from);
    if (len > *tmpcap) {
        *tmpcap = len;
        free(*tmp);
        *tmp = malloc(len);
        if (!*tmp)
            abort();
    }
    uint16_t l = (uint16_t)n;
    memcpy(*tmp, &l, 2);
    memcpy(*tmp + 2, cid, (size_t)n);
    memcpy(*tmp + 2 + n, w->buf + from, to - from);
    fl_sink_add_committable(ctx, *tmp, (uint32_t)len);
}

int fl_kafka_sink_pre_commit(fl_ctx *ctx, int64_t id);
int fl_kafka_sink_pre_commit(fl_ctx *ctx, int64_t id)
{
    kwriter *w = fl_ctx_user(ctx);
    if (w->guarantee == DG_NONE) {
        rd_kafka_poll(w->rk, 0);
        return delivery_failed(ctx, w);
    }
    if (w->guarantee == DG_AT_LEAST_ONCE)
        return flush_all(ctx, w);
    /* chunks of whole records, each at most CHUNK bytes unless one record is larger */
    uint8_t *tmp = NULL;
    size_t tmpcap = 0, from = 0, at = 0;
    int chunk = 0;
    while (at < w->len) {
        uint32_t l;
        memcpy(&l, w->buf + at, 4);
        size_t next = at + 12 + l;
        if (at > from && next - from > CHUNK) {
            add_chunk(ctx, w, id, chunk++, from, at, &tmp, &tmpcap);
            from = at;
        }
        at = next;
    }
    if (at > from)
        add_chunk(ctx, w, id, chunk, from, at, &tmp, &tmpcap);
    free(tmp);
    w->len = 0;
    return 0;
}

static void remember(kwriter *w, const char *id, size_t n)
{
    if (w->nseen == w->capseen) {
        w->capseen = w->capseen ? w->capseen * 2 : 64;
        char **s = realloc(w->seen, (size_t)w->capseen * sizeof *s);
        if (!s)
            abort();
        w->seen = s;
    }
    char *c = strndup(id, n);
    if (!c)
        abort();
    w->seen[w->nseen++] = c;
}

/* The chunk ids of the marker topic's committed transactions, read to its end. */
static int load_markers(fl_ctx *ctx, kwriter *w)
{
    char errstr[512];
    static const char *const defaults[] = {"isolation.level=read_committed",
                                           "enable.auto.commit=false",
                                           "enable.partition.eof=true", NULL};
    rd_kafka_conf_t *conf = fl_kafka_conf(ctx, WHO, defaults);
    if (!conf)
        return -1;
    rd_kafka_conf_set(conf, "group.id", "flint-kafka-sink-recovery", errstr, sizeof errstr);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c) {
        fl_ctx_fail(ctx, WHO ": cannot create the marker consumer: %s", errstr);
        return -1;
    }
    const char *mt = rd_kafka_topic_name(w->marker);
    rd_kafka_topic_t *t = rd_kafka_topic_new(c, mt, NULL);
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c, 0, t, &md, MARKER_READ_MS);
    int rc = 0, parts = 0;
    if (err || md->topic_cnt != 1 || md->topics[0].err) {
        fl_ctx_fail(ctx, WHO ": cannot read the marker topic %s (sink.transaction-marker-topic): "
                         "%s", mt, rd_kafka_err2str(err ? err : md->topics[0].err));
        rc = -1;
    } else {
        parts = md->topics[0].partition_cnt;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
        for (int i = 0; i < parts; i++)
            rd_kafka_topic_partition_list_add(l, mt, md->topics[0].partitions[i].id)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(c, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (!err)
        rd_kafka_metadata_destroy(md);
    int eofs = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (rc == 0 && eofs < parts) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 > MARKER_READ_MS) {
            fl_ctx_fail(ctx, WHO ": the marker topic %s was not read to its end in %d ms", mt,
                        MARKER_READ_MS);
            rc = -1;
        }
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (m->err) {
            fl_ctx_fail(ctx, WHO ": reading the marker topic %s: %s", mt,
                        rd_kafka_message_errstr(m));
            rc = -1;
        } else if (m->key)
            remember(w, m->key, m->key_len);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_topic_destroy(t);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    w->markers_loaded = rc == 0;
    return rc;
}

static bool already_committed(kwriter *w, const char *cid, size_t n)
{
    for (int i = 0; i < w->nseen; i++)
        if (strlen(w->seen[i]) == n && !memcmp(w->seen[i], cid, n))
            return true;
    return false;
}

int fl_kafka_sink_commit(fl_ctx *ctx, int64_t id, const void *data, uint32_t len);
int fl_kafka_sink_commit(fl_ctx *ctx, int64_t id, const void *data, uint32_t len)
{
    kwriter *w = fl_ctx_user(ctx);
    const uint8_t *p = data, *end = p + len;
    uint16_t n;
    if (len < 2 || (memcpy(&n, p, 2), len < 2u + n)) {
        fl_ctx_fail(ctx, WHO ": damaged committable of checkpoint %lld", (long long)id);
        return -1;
    }
    const char *cid = (const char *)p + 2;
    p += 2 + n;
    if (w->restoring) {
        if (!w->markers_loaded && load_markers(ctx, w) < 0)
            return -1;
        if (already_committed(w, cid, n))
            return 0;
    }
    char token[400];
    snprintf(token, sizeof token, "%s:%llu", w->token_base, (unsigned long long)++w->txn_seq);
    if (txn_error(ctx, w, rd_kafka_begin_transaction(w->rk), "beginning a transaction"))
        return -1;
    while (p + 12 <= end) {
        uint32_t l;
        int64_t ts;
        memcpy(&l, p, 4);
        memcpy(&ts, p + 4, 8);
        if ((size_t)(end - p - 12) < l)
            break;
        produce(ctx, w, p + 12, l, ts, token);
        p += 12 + l;
    }
    if (p != end) {
        fl_ctx_fail(ctx, WHO ": damaged committable %.*s", (int)n, cid);
        rd_kafka_error_destroy(rd_kafka_abort_transaction(w->rk, TXN_OP_MS));
        return -1;
    }
    /* the data is acknowledged before the marker goes out: marker => data */
    if (flush_all(ctx, w) < 0) {
        rd_kafka_error_destroy(rd_kafka_abort_transaction(w->rk, TXN_OP_MS));
        return -1;
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        w->rk, RD_KAFKA_V_RKT(w->marker), RD_KAFKA_V_KEY(cid, n),
        RD_KAFKA_V_VALUE(token, strlen(token)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (err) {
        fl_ctx_fail(ctx, WHO ": cannot produce to the marker topic %s: %s",
                    rd_kafka_topic_name(w->marker), rd_kafka_err2str(err));
        rd_kafka_error_destroy(rd_kafka_abort_transaction(w->rk, TXN_OP_MS));
        return -1;
    }
    if (txn_error(ctx, w, rd_kafka_commit_transaction(w->rk, TXN_OP_MS),
                  "committing the transaction"))
        return -1;
    return delivery_failed(ctx, w);
}

int fl_kafka_sink_recover(fl_ctx *ctx, int64_t restored);
int fl_kafka_sink_recover(fl_ctx *ctx, int64_t restored)
{
    kwriter *w = fl_ctx_user(ctx);
    /* init_transactions in open aborted what an earlier attempt of this subtask left */
    w->restoring = false;
    for (int i = 0; i < w->nseen; i++)
        free(w->seen[i]);
    w->nseen = 0;
    return 0;
}

void fl_kafka_sink_tick(fl_ctx *ctx, int64_t now_ms);
void fl_kafka_sink_tick(fl_ctx *ctx, int64_t now_ms)
{
    kwriter *w = fl_ctx_user(ctx);
    if (w->guarantee != DG_EXACTLY_ONCE) {
        rd_kafka_poll(w->rk, 0);
        delivery_failed(ctx, w);
    }
}

void fl_kafka_sink_close(fl_ctx *ctx);
void fl_kafka_sink_close(fl_ctx *ctx)
{
    kwriter *w = fl_ctx_user(ctx);
    if (!w)
        return;
    if (w->rkt)
        rd_kafka_topic_destroy(w->rkt);
    if (w->marker)
        rd_kafka_topic_destroy(w->marker);
    if (w->rk) {
        if (w->guarantee != DG_EXACTLY_ONCE)
            rd_kafka_flush(w->rk, 5000);
        rd_kafka_destroy(w->rk);
    }
    for (int i = 0; i < w->nseen; i++)
        free(w->seen[i]);
    free(w->seen);
    free(w->buf);
    free(w);
    fl_ctx_set_user(ctx, NULL);
}

const fl_sink_def fl_kafka_sink_def = {
    .name = "Kafka",
    .open = fl_kafka_sink_open,
    .write = fl_kafka_sink_write,
    .pre_commit = fl_kafka_sink_pre_commit,
    .commit = fl_kafka_sink_commit,
    .recover = fl_kafka_sink_recover,
    .tick = fl_kafka_sink_tick,
    .close = fl_kafka_sink_close,
};
