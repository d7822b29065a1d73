/* kafka_source.c -- the Kafka source (flint/kafka.h): Flink's KafkaSource on librdkafka,
 * written against flint/connectors.h.
 *
 * A split is a topic partition; its state is the offset of its next record (and, in
 * bounded mode, the offset to stop at), so a checkpoint holds exactly where each
 * partition stands, and a restore -- at any parallelism -- continues there. A fresh start
 * finds the partitions of the topics (or of the topic pattern) and gives partition p of
 * topic t to subtask (start(t) + p) % parallelism, start(t) as Flink's
 * KafkaSourceEnumerator computes it from Java's String.hashCode, and resolves the startup
 * mode to concrete offsets then, so a checkpoint taken before the first record holds no
 * "latest" that would move. The consumer reads with assign() (no group rebalancing); the
 * group, when given, receives the checkpointed offsets when a checkpoint completes, for
 * monitoring only (Flink's commit.offsets.on.checkpoint). Partitions added to a topic
 * after the start are not discovered. Task thread of its subtask.
 */
#include "kafka_internal.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "Kafka source"
#define BATCH 256 /* per poll: the task loop runs its mail (barriers) in between */
#define META_TIMEOUT_MS 10000

typedef struct ksplit {
    int64_t next, stop;       /* stop -1: unbounded */
    int32_t partition;
    bool finished;
    char topic[256];
} ksplit;

typedef struct kreader {
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    ksplit *s;
    int n, cap, unfinished;
    bool key_value, bounded, need_assign, commit_offsets;
    int last;                 /* split of the last message (lookup cache) */
    uint8_t *kv;
    size_t kvcap;
    char servers[512];
    rd_kafka_message_t *batch[BATCH];
} kreader;

/* Java's String.hashCode, as Flink's partition assignment uses it. */
static int32_t java_hash(const char *s)
{
    uint32_t h = 0;
    for (; *s; s++)
        h = 31 * h + (uint8_t)*s;
    return (int32_t)h;
}

static int owner_of(const char *topic, int32_t partition, int parallelism)
{
    int start = (int)(((uint32_t)java_hash(topic) * 31u & 0x7FFFFFFFu) % (uint32_t)parallelism);
    return (start + partition) % parallelism;
}

int fl_kafka_source_open(fl_ctx *ctx);
int fl_kafka_source_open(fl_ctx *ctx)
{
    kreader *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    fl_ctx_set_user(ctx, r);
    if (fl_kafka_record_format(ctx, WHO, &r->key_value) < 0)
        return -1;
    const char *mode = fl_kafka_opt(ctx, "scan.bounded.mode", "unbounded");
    r->bounded = !strcmp(mode, "latest-offset");
    if (!r->bounded && strcmp(mode, "unbounded")) {
        fl_ctx_fail(ctx, WHO ": scan.bounded.mode must be unbounded or latest-offset, not '%s'",
                    mode);
        return -1;
    }
    const char *group = fl_kafka_opt(ctx, "properties.group.id", "");
    r->commit_offsets = *group && strcmp(fl_kafka_opt(ctx, "commit.offsets.on.checkpoint", "true"),
                                         "false");
    snprintf(r->servers, sizeof r->servers, "%s",
             fl_kafka_opt(ctx, "properties.bootstrap.servers", ""));
    static const char *const defaults[] = {"enable.auto.commit=false",
                                           "enable.auto.offset.store=false",
                                           "enable.partition.eof=false", NULL};
    rd_kafka_conf_t *conf = fl_kafka_conf(ctx, WHO, defaults);
    if (!conf)
        return -1;
    char errstr[512];
    if (!*group && rd_kafka_conf_set(conf, "group.id", "flint-kafka-source", errstr,
                                     sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        fl_ctx_fail(ctx, WHO ": %s", errstr);
        return -1;
    }
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!r->rk) {
        fl_ctx_fail(ctx, WHO ": cannot create a consumer: %s", errstr);
        return -1;
    }
    rd_kafka_poll_set_consumer(r->rk);
    r->q = rd_kafka_queue_get_consumer(r->rk);
    return 0;
}

/* The startup offset of a partition (scan.startup.mode), or -1 after fl_ctx_fail. */
static int64_t startup_offset(fl_ctx *ctx, kreader *r, const char *topic, int32_t p,
                              int64_t low, int64_t high)
{
    const char *mode = fl_kafka_opt(ctx, "scan.startup.mode", "earliest-offset");
    if (!strcmp(mode, "earliest-offset"))
        return low;
    if (!strcmp(mode, "latest-offset"))
        return high;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, topic, p);
    rd_kafka_resp_err_t err;
    int64_t off = -1;
    if (!strcmp(mode, "group-offsets")) {
        err = rd_kafka_committed(r->rk, l, META_TIMEOUT_MS);
        off = err || tp->err || tp->offset < 0 ? low : tp->offset; /* none committed: earliest */
    } else if (!strcmp(mode, "timestamp")) {
        tp->offset = strtoll(fl_kafka_opt(ctx, "scan.startup.timestamp-millis", "0"), NULL, 10);
        err = rd_kafka_offsets_for_times(r->rk, l, META_TIMEOUT_MS);
        off = err || tp->err ? -1 : tp->offset < 0 ? high : tp->offset;
    } else {
        fl_ctx_fail(ctx, WHO ": scan.startup.mode must be earliest-offset, latest-offset, "
                         "group-offsets or timestamp, not '%s'", mode);
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    if (off < 0)
        fl_ctx_fail(ctx, WHO ": cannot find the start of %s [%d] (scan.startup.mode %s): %s",
                    topic, p, mode, rd_kafka_err2str(err ? err : tp->err));
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

static bool topic_wanted(fl_ctx *ctx, const char *topic, const regex_t *re)
{
    if (re)
        return regexec(re, topic, 0, NULL, 0) == 0;
    const char *list = fl_kafka_opt(ctx, "topic", "");
    size_t tl = strlen(topic);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == tl && !strncmp(p, topic, n))
            return true;
        p += n + (e != NULL);
    }
    return false;
}

/* Every topic named by `topic` must exist: a clear message for the first that does not. */
static int check_topics(fl_ctx *ctx, const struct rd_kafka_metadata *md)
{
    const char *list = fl_kafka_opt(ctx, "topic", "");
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool found = false;
        for (int i = 0; i < md->topic_cnt && !found; i++)
            found = strlen(md->topics[i].topic) == n && !strncmp(md->topics[i].topic, p, n) &&
                    !md->topics[i].err;
        if (!found) {
            fl_ctx_fail(ctx, WHO ": topic '%.*s' (option topic) does not exist on %s", (int)n,
                        p, fl_kafka_opt(ctx, "properties.bootstrap.servers", ""));
            return -1;
        }
        p += n + (e != NULL);
    }
    return 0;
}

int fl_kafka_source_discover(fl_ctx *ctx);
int fl_kafka_source_discover(fl_ctx *ctx)
{
    kreader *r = fl_ctx_user(ctx);
    const char *pattern = fl_kafka_opt(ctx, "topic-pattern", "");
    regex_t re;
    if (*pattern && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) {
        fl_ctx_fail(ctx, WHO ": topic-pattern '%s' is not a regular expression", pattern);
        return -1;
    }
    if (!*pattern && !*fl_kafka_opt(ctx, "topic", "")) {
        fl_ctx_fail(ctx, WHO ": set the option topic (or topic-pattern)");
        return -1;
    }
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err = rd_kafka_metadata(r->rk, 1, NULL, &md, META_TIMEOUT_MS);
    if (err) {
        fl_ctx_fail(ctx, WHO ": cannot reach the brokers of properties.bootstrap.servers=%s "
                         "within %d ms: %s", r->servers, META_TIMEOUT_MS, rd_kafka_err2str(err));
        if (*pattern)
            regfree(&re);
        return -1;
    }
    int rc = *pattern ? 0 : check_topics(ctx, md);
    for (int i = 0; i < md->topic_cnt && rc == 0; i++) {
        const struct rd_kafka_metadata_topic *t = &md->topics[i];
        if (t->err || !topic_wanted(ctx, t->topic, *pattern ? &re : NULL))
            continue;
        for (int k = 0; k < t->partition_cnt && rc == 0; k++) {
            int32_t p = t->partitions[k].id;
            if (owner_of(t->topic, p, fl_ctx_parallelism(ctx)) != fl_ctx_subtask(ctx))
                continue;
            int64_t low, high;
            err = rd_kafka_query_watermark_offsets(r->rk, t->topic, p, &low, &high,
                                                   META_TIMEOUT_MS);
            if (err) {
                fl_ctx_fail(ctx, WHO ": cannot read the offsets of %s [%d]: %s", t->topic, p,
                            rd_kafka_err2str(err));
                rc = -1;
                break;
            }
            ksplit sp = {0};
            sp.partition = p;
            sp.stop = r->bounded ? high : -1;
            snprintf(sp.topic, sizeof sp.topic, "%s", t->topic);
            sp.next = startup_offset(ctx, r, t->topic, p, low, high);
            if (sp.next < 0 || fl_source_add_split(ctx, &sp, sizeof sp) < 0)
                rc = -1;
        }
    }
    rd_kafka_metadata_destroy(md);
    if (*pattern)
        regfree(&re);
    return rc;
}

int fl_kafka_source_add_split(fl_ctx *ctx, int split, const void *state, uint32_t len);
int fl_kafka_source_add_split(fl_ctx *ctx, int split, const void *state, uint32_t len)
{
    kreader *r = fl_ctx_user(ctx);
    if (len != sizeof(ksplit) || split != r->n) {
        fl_ctx_fail(ctx, WHO ": damaged split state (%u bytes)", len);
        return -1;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        ksplit *s = realloc(r->s, (size_t)r->cap * sizeof *s);
        if (!s)
            abort();
        r->s = s;
    }
    ksplit *sp = &r->s[r->n++];
    memcpy(sp, state, sizeof *sp);
    sp->topic[sizeof sp->topic - 1] = '\0';
    sp->finished = sp->stop >= 0 && sp->next >= sp->stop;
    if (sp->finished)
        fl_source_split_finished(ctx, split);
    else
        r->unfinished++;
    r->need_assign = true;
    return 0;
}

static int assign_splits(fl_ctx *ctx, kreader *r)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->n ? r->n : 1);
    for (int i = 0; i < r->n; i++)
        if (!r->s[i].finished)
            rd_kafka_topic_partition_list_add(l, r->s[i].topic, r->s[i].partition)->offset =
                r->s[i].next;
    rd_kafka_resp_err_t err = rd_kafka_assign(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        fl_ctx_fail(ctx, WHO ": cannot assign its partitions: %s", rd_kafka_err2str(err));
        return -1;
    }
    r->need_assign = false;
    return 0;
}

static int split_of(kreader *r, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (r->last < r->n && r->s[r->last].partition == m->partition &&
        !strcmp(r->s[r->last].topic, topic))
        return r->last;
    for (int i = 0; i < r->n; i++)
        if (r->s[i].partition == m->partition && !strcmp(r->s[i].topic, topic))
            return r->last = i;
    return -1;
}

static void finish_split(fl_ctx *ctx, kreader *r, int i)
{
    ksplit *sp = &r->s[i];
    sp->finished = true;
    r->unfinished--;
    fl_source_split_finished(ctx, i);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, sp->topic, sp->partition);
    rd_kafka_pause_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static void emit_message(fl_ctx *ctx, kreader *r, int i, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (ts < 0)
        ts = FL_NO_TIMESTAMP;
    if (!r->key_value) {
        fl_source_emit(ctx, i, m->payload, (uint32_t)m->len, ts);
        return;
    }
    size_t need = m->len + m->key_len + 8;
    if (need > r->kvcap) {
        r->kvcap = need * 2;
        free(r->kv);
        r->kv = malloc(r->kvcap);
        if (!r->kv)
            abort();
    }
    fl_enc e = fl_enc_init(r->kv, (uint32_t)r->kvcap);
    fl_enc_str(&e, m->key, (uint32_t)m->key_len);
    fl_enc_str(&e, m->payload, (uint32_t)m->len);
    fl_source_emit(ctx, i, r->kv, e.len, ts);
}

int fl_kafka_source_poll(fl_ctx *ctx);
int fl_kafka_source_poll(fl_ctx *ctx)
{
    kreader *r = fl_ctx_user(ctx);
    if (r->need_assign && assign_splits(ctx, r) < 0)
        return FL_SOURCE_END;
    if (r->bounded && r->unfinished == 0)
        return FL_SOURCE_END;
    ssize_t got = rd_kafka_consume_batch_queue(r->q, 0, r->batch, BATCH);
    for (ssize_t k = 0; k < got; k++) {
        rd_kafka_message_t *m = r->batch[k];
        int i;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fl_ctx_fail(ctx, WHO ": %s [%d]: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "?",
                            m->partition, rd_kafka_message_errstr(m));
        } else if ((i = split_of(r, m)) >= 0 && !r->s[i].finished) {
            ksplit *sp = &r->s[i];
            if (sp->stop < 0 || m->offset < sp->stop) {
                emit_message(ctx, r, i, m);
                sp->next = m->offset + 1;
            }
            if (sp->stop >= 0 && sp->next >= sp->stop)
                finish_split(ctx, r, i);
        }
        rd_kafka_message_destroy(m);
    }
    if (r->bounded && r->unfinished == 0)
        return FL_SOURCE_END;
    return got > 0 ? FL_SOURCE_MORE : FL_SOURCE_IDLE;
}

uint32_t fl_kafka_source_split_state(fl_ctx *ctx, int split, void *buf, uint32_t cap);
uint32_t fl_kafka_source_split_state(fl_ctx *ctx, int split, void *buf, uint32_t cap)
{
    kreader *r = fl_ctx_user(ctx);
    memcpy(buf, &r->s[split], sizeof(ksplit));
    return sizeof(ksplit);
}

void fl_kafka_source_complete(fl_ctx *ctx, int64_t id);
void fl_kafka_source_complete(fl_ctx *ctx, int64_t id)
{
    kreader *r = fl_ctx_user(ctx);
    if (!r->commit_offsets || !r->n)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->n);
    for (int i = 0; i < r->n; i++)
        rd_kafka_topic_partition_list_add(l, r->s[i].topic, r->s[i].partition)->offset =
            r->s[i].next;
    rd_kafka_commit(r->rk, l, 1); /* asynchronous: for monitoring only */
    rd_kafka_topic_partition_list_destroy(l);
}

void fl_kafka_source_close(fl_ctx *ctx);
void fl_kafka_source_close(fl_ctx *ctx)
{
    kreader *r = fl_ctx_user(ctx);
    if (!r)
        return;
    if (r->q)
        rd_kafka_queue_destroy(r->q);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    free(r->s);
    free(r->kv);
    free(r);
    fl_ctx_set_user(ctx, NULL);
}

const fl_source_def fl_kafka_source_def = {
    .name = "Kafka",
    .open = fl_kafka_source_open,
    .discover = fl_kafka_source_discover,
    .add_split = fl_kafka_source_add_split,
    .poll = fl_kafka_source_poll,
    .split_state = fl_kafka_source_split_state,
    .checkpoint_complete = fl_kafka_source_complete,
    .close = fl_kafka_source_close,
};
