/* redis_count.c -- counts per key into Redis: generateSequence(0, K*N-1) -> (key v % K,
 * seq v / K) -> keyBy(key) -> count -> Redis sink, one command per record:
 *
 *   set     SET count:k<key> <count>
 *   hset    HSET counts k<key> <count>
 *   zadd    ZADD ranking <count> k<key>
 *   rpush   RPUSH seen:k<key> <seq>          (not idempotent: a replay appends again)
 *
 *   flint run -p 2 -D "execution.checkpointing.interval=200 ms" build/examples/redis_count.so \
 *       --port 6379 [--host H] [--command set|hset|zadd|rpush] [--keys K] [--per-key N]
 *
 * tests/cluster/test_redis.sh runs it with a TaskManager killed and connections killed.
 * Build: make (links build/lib/libflint-connectors.a and -lhiredis into the bundle).
 */
#include <flint/codec.h>
#include <flint/redis.h>
#include <flint/time.h>

#include <stdio.h>
#include <string.h>

struct rc_rec {
    int64_t key, seq;
};

void rc_split(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void rc_open(fl_ctx *ctx);
void rc_count(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

void rc_split(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t v, keys = *fl_ctx_config_as(ctx, int64_t);
    memcpy(&v, in->data, sizeof v);
    struct rc_rec r = {v % keys, v / keys};
    fl_emit(out, &r, sizeof r);
}

void rc_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "count"));
}

void rc_count(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *st = fl_ctx_user(ctx);
    struct rc_rec r;
    int64_t n = 0;
    uint32_t len;
    const char *cmd = fl_ctx_config_bytes(ctx, "command", &len);
    memcpy(&r, in->data, sizeof r);
    fl_value_get_i64(st, &n); /* 0 for a new key */
    n++;
    fl_value_put_i64(st, n);
    char a[40], b[40], buf[128];
    fl_enc e = fl_enc_init(buf, sizeof buf);
    if (!strcmp(cmd, "set")) {
        fl_enc_str(&e, a, (uint32_t)snprintf(a, sizeof a, "count:k%lld", (long long)r.key));
        fl_enc_str(&e, b, (uint32_t)snprintf(b, sizeof b, "%lld", (long long)n));
    } else if (!strcmp(cmd, "hset")) {
        fl_enc_str(&e, "counts", 6);
        fl_enc_str(&e, a, (uint32_t)snprintf(a, sizeof a, "k%lld", (long long)r.key));
        fl_enc_str(&e, b, (uint32_t)snprintf(b, sizeof b, "%lld", (long long)n));
    } else if (!strcmp(cmd, "zadd")) {
        fl_enc_str(&e, "ranking", 7);
        fl_enc_str(&e, b, (uint32_t)snprintf(b, sizeof b, "%lld", (long long)n));
        fl_enc_str(&e, a, (uint32_t)snprintf(a, sizeof a, "k%lld", (long long)r.key));
    } else {
        fl_enc_str(&e, a, (uint32_t)snprintf(a, sizeof a, "seen:k%lld", (long long)r.key));
        fl_enc_str(&e, b, (uint32_t)snprintf(b, sizeof b, "%lld", (long long)r.seq));
    }
    fl_emit(out, buf, e.len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *cmd = fl_arg(argc, argv, "command", "set");
    int64_t keys, per_key;
    if (strcmp(cmd, "set") && strcmp(cmd, "hset") && strcmp(cmd, "zadd") && strcmp(cmd, "rpush")) {
        fprintf(stderr, "redis_count: --command must be set, hset, zadd or rpush\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "redis_count", "keys", 16, 1, &keys) < 0 ||
        fl_arg_i64(argc, argv, "redis_count", "per-key", 1000, 1, &per_key) < 0)
        return 1;
    fl_props o = {0};
    fl_props_set(&o, "host", fl_arg(argc, argv, "host", "127.0.0.1"));
    fl_props_set(&o, "port", fl_arg(argc, argv, "port", "6379"));
    fl_props_set(&o, "command", cmd);
    fl_props_set(&o, "sink.buffer-flush.max-rows", fl_arg(argc, argv, "max-rows", "100"));
    if (fl_arg(argc, argv, "password", NULL))
        fl_props_set(&o, "password", fl_arg(argc, argv, "password", NULL));

    fl_stream *s = fl_generate_sequence(env, 0, keys * per_key - 1);
    fl_uid(fl_name(fl_set_parallelism(s, 1), "sequence"), "redis-sequence");
    s = fl_map(s, rc_split);
    fl_uid(fl_set_parallelism(s, 1), "redis-split");
    fl_with_config_as(s, int64_t, &keys);
    s = fl_keyed_process(fl_key_by_field(s, offsetof(struct rc_rec, key), sizeof(int64_t)),
                         rc_count, NULL);
    fl_uid(fl_name(s, "count"), "redis-count");
    fl_with_open(s, rc_open);
    fl_with_config_bytes(s, "command", cmd, (uint32_t)strlen(cmd) + 1);
    fl_uid(fl_redis_sink(s, &o), "redis-sink");
    fl_props_free(&o);
    return fl_execute(env, "Redis Count");
}
