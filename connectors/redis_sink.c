/* redis_sink.c -- the Redis sink (flint/redis.h): Flink's (Bahir) Redis sink on hiredis,
 * written against flint/connectors.h. Task thread of its subtask.
 *
 * A record is the arguments of one command after its name, as fl_enc_str fields
 * (flint/codec.h): SET key value | HSET key field value | ZADD key score member |
 * SADD key member | RPUSH key value | INCRBY key increment. Records are batched
 * (sink.buffer-flush.max-rows) and a batch goes out pipelined (one round trip); a batch
 * stays in memory until every reply is read, so a lost connection is reconnected and the
 * whole batch sent again (sink.max-retries times, 100 ms apart, then the job fails). A
 * barrier flushes: at-least-once. SET, HSET, ZADD and SADD give the same result when
 * repeated, so a replay after a restore (or a resent batch) leaves the right values:
 * exactly-once in effect. RPUSH and INCRBY do not: a replay repeats them.
 */
#include "conn_buf.h"

#include <flint/codec.h>
#include <flint/redis.h>
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WHO "Redis sink"
#define MAX_ARGS 4

typedef struct cmd_info {
    const char *name;
    int nargs;
    bool idempotent;
} cmd_info;

static const cmd_info commands[] = {
    {"SET", 2, true},   {"HSET", 3, true},   {"ZADD", 3, true},
    {"SADD", 2, true},  {"RPUSH", 2, false}, {"INCRBY", 2, false},
};

typedef struct rw {
    redisContext *c;
    const cmd_info *cmd;
    char host[256];
    int port, max_rows, rows, retries;
    int64_t interval_ms, last_flush_ms;
    char password[256];
    /* the batch: the records as they came (fl_enc_str fields) */
    uint8_t *buf;
    size_t len, cap;
} rw;

static const char *opt(fl_ctx *ctx, const char *key, const char *dflt)
{
    uint32_t len;
    const void *cfg = fl_connector_config(ctx, &len);
    return fl_props_get(cfg, len, key, dflt);
}

/* Connects (and authenticates); 0, or -1 with the reason in err. */
static int connect_redis(rw *w, char *err, size_t cap)
{
    if (w->c)
        redisFree(w->c);
    struct timeval tv = {10, 0};
    w->c = redisConnectWithTimeout(w->host, w->port, tv);
    if (!w->c || w->c->err) {
        snprintf(err, cap, "%s", w->c ? w->c->errstr : "out of memory");
        return -1;
    }
    redisSetTimeout(w->c, tv);
    if (w->password[0]) {
        redisReply *r = redisCommand(w->c, "AUTH %s", w->password);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        snprintf(err, cap, "AUTH: %s", r && r->type == REDIS_REPLY_ERROR ? r->str
                                       : w->c->errstr[0] ? w->c->errstr : "no reply");
        if (r)
            freeReplyObject(r);
        if (!ok)
            return -1;
    }
    return 0;
}

int fl_redis_sink_open(fl_ctx *ctx);
int fl_redis_sink_open(fl_ctx *ctx)
{
    rw *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    fl_ctx_set_user(ctx, w);
    const char *name = opt(ctx, "command", "SET");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcasecmp(name, commands[i].name))
            w->cmd = &commands[i];
    if (!w->cmd) {
        fl_ctx_fail(ctx, WHO ": command must be SET, HSET, ZADD, SADD, RPUSH or INCRBY, not "
                         "'%s'", name);
        return -1;
    }
    snprintf(w->host, sizeof w->host, "%s", opt(ctx, "host", "127.0.0.1"));
    w->port = atoi(opt(ctx, "port", "6379"));
    snprintf(w->password, sizeof w->password, "%s", opt(ctx, "password", ""));
    w->max_rows = atoi(opt(ctx, "sink.buffer-flush.max-rows", "100"));
    w->interval_ms = atoll(opt(ctx, "sink.buffer-flush.interval", "1000"));
    w->retries = atoi(opt(ctx, "sink.max-retries", "3"));
    if (w->max_rows < 1 || w->port <= 0 || w->port > 65535) {
        fl_ctx_fail(ctx, WHO ": sink.buffer-flush.max-rows must be at least 1 and port a port");
        return -1;
    }
    char err[512];
    if (connect_redis(w, err, sizeof err) < 0) {
        fl_ctx_fail(ctx, WHO ": cannot connect to host %s port %d: %s", w->host, w->port, err);
        return -1;
    }
    return 0;
}

/* Sends the batch pipelined and reads every reply: 0, -1 on a connection error (retry),
 * -2 on a reply error (fail). */
static int send_batch(fl_ctx *ctx, rw *w)
{
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    argv[0] = w->cmd->name;
    lens[0] = strlen(w->cmd->name);
    size_t at = 0;
    for (int r = 0; r < w->rows; r++) {
        uint32_t l;
        memcpy(&l, w->buf + at, 4);
        fl_dec d = fl_dec_init(w->buf + at + 4, l);
        for (int a = 1; a <= w->cmd->nargs; a++) {
            uint32_t n;
            argv[a] = fl_dec_str(&d, &n);
            lens[a] = n;
        }
        at += 4 + l;
        if (redisAppendCommandArgv(w->c, w->cmd->nargs + 1, argv, lens) != REDIS_OK)
            return -1;
    }
    int rc = 0;
    for (int r = 0; r < w->rows; r++) {
        redisReply *reply = NULL;
        if (redisGetReply(w->c, (void **)&reply) != REDIS_OK || !reply)
            return -1;
        if (reply->type == REDIS_REPLY_ERROR && rc == 0) {
            fl_ctx_fail(ctx, WHO ": %s rejected a record: %s", w->cmd->name, reply->str);
            rc = -2;
        }
        freeReplyObject(reply);
    }
    return rc;
}

static int flush_batch(fl_ctx *ctx, rw *w)
{
    if (!w->rows)
        return 0;
    for (int attempt = 0;; attempt++) {
        int rc = send_batch(ctx, w);
        if (rc == 0)
            break;
        if (rc == -2)
            return -1;
        char err[512];
        snprintf(err, sizeof err, "%s", w->c->errstr);
        if (attempt >= w->retries) {
            fl_ctx_fail(ctx, WHO ": host %s port %d: %s (after %d retries, sink.max-retries)",
                        w->host, w->port, err, w->retries);
            return -1;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL); /* the server may be restarting */
        if (connect_redis(w, err, sizeof err) < 0 && attempt + 1 >= w->retries) {
            fl_ctx_fail(ctx, WHO ": cannot reconnect to host %s port %d: %s", w->host, w->port,
                        err);
            return -1;
        }
    }
    w->rows = 0;
    w->len = 0;
    return 0;
}

void fl_redis_sink_write(fl_ctx *ctx, const fl_rec *in);
void fl_redis_sink_write(fl_ctx *ctx, const fl_rec *in)
{
    rw *w = fl_ctx_user(ctx);
    fl_dec d = fl_dec_init(in->data, in->len);
    for (int a = 0; a < w->cmd->nargs; a++) {
        uint32_t n;
        fl_dec_str(&d, &n);
    }
    if (d.bad || !fl_dec_done(&d)) {
        fl_ctx_fail(ctx, WHO ": a record of %u bytes is not the %d arguments of %s (fl_enc_str "
                         "fields of flint/codec.h)", in->len, w->cmd->nargs, w->cmd->name);
        return;
    }
    size_t need = w->len + 4 + in->len;
    fl_conn_reserve(&w->buf, &w->cap, need);
    uint32_t l = in->len;
    memcpy(w->buf + w->len, &l, 4);
    memcpy(w->buf + w->len + 4, in->data, l);
    w->len = need;
    if (++w->rows >= w->max_rows)
        flush_batch(ctx, w);
}

int fl_redis_sink_pre_commit(fl_ctx *ctx, int64_t id);
int fl_redis_sink_pre_commit(fl_ctx *ctx, int64_t id)
{
    return flush_batch(ctx, fl_ctx_user(ctx));
}

void fl_redis_sink_tick(fl_ctx *ctx, int64_t now_ms);
void fl_redis_sink_tick(fl_ctx *ctx, int64_t now_ms)
{
    rw *w = fl_ctx_user(ctx);
    if (w->interval_ms > 0 && now_ms - w->last_flush_ms >= w->interval_ms) {
        w->last_flush_ms = now_ms;
        flush_batch(ctx, w);
    }
}

void fl_redis_sink_close(fl_ctx *ctx);
void fl_redis_sink_close(fl_ctx *ctx)
{
    rw *w = fl_ctx_user(ctx);
    if (!w)
        return;
    if (w->c)
        redisFree(w->c);
    free(w->buf);
    free(w);
    fl_ctx_set_user(ctx, NULL);
}

const fl_sink_def fl_redis_sink_def = {
    .name = "Redis",
    .open = fl_redis_sink_open,
    .write = fl_redis_sink_write,
    .pre_commit = fl_redis_sink_pre_commit,
    .tick = fl_redis_sink_tick,
    .close = fl_redis_sink_close,
};
