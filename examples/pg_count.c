/* pg_count.c -- counts per key into PostgreSQL: generateSequence(0, K*N-1) -> (key v % K,
 * seq v / K) -> keyBy(key) -> count -> PostgreSQL sink, as rows (key, seq, count) where
 * count is how many records of the key so far (the tutorial's chapter 10 sinks).
 *
 *   flint run -p 2 -D "execution.checkpointing.interval=200 ms" build/examples/pg_count.so \
 *       --url postgresql://127.0.0.1:5432/db --table counts [--key-columns k] \
 *       [--guarantee exactly-once|at-least-once] [--keys K] [--per-key N] [--max-rows R]
 *
 * The columns are k, seq, cnt. With --key-columns k the sink upserts (each key's row holds
 * its latest count); without, every record is a row (exactly once with --guarantee
 * exactly-once). tests/cluster/test_postgres.sh runs it with TaskManagers killed.
 *
 * Build: make (links build/lib/libflint-connectors.a and -lpq into the bundle).
 */
#include <flint/codec.h>
#include <flint/postgres.h>
#include <flint/time.h>

#include <stdio.h>
#include <string.h>

struct pc_rec {
    int64_t key, seq;
};

void pc_split(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void pc_open(fl_ctx *ctx);
void pc_count(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

void pc_split(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    int64_t v, keys = *fl_ctx_config_as(ctx, int64_t);
    memcpy(&v, in->data, sizeof v);
    struct pc_rec r = {v % keys, v / keys};
    fl_emit(out, &r, sizeof r);
}

void pc_open(fl_ctx *ctx)
{
    fl_ctx_set_user(ctx, fl_ctx_value_state(ctx, "count"));
}

void pc_count(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    fl_value_state *st = fl_ctx_user(ctx);
    struct pc_rec r;
    int64_t n = 0;
    memcpy(&r, in->data, sizeof r);
    fl_value_get_i64(st, &n); /* 0 for a new key */
    n++;
    fl_value_put_i64(st, n);
    char k[24], s[24], c[24], buf[96];
    fl_enc e = fl_enc_init(buf, sizeof buf);
    fl_enc_str(&e, k, (uint32_t)snprintf(k, sizeof k, "k%lld", (long long)r.key));
    if (!*fl_ctx_config_as(ctx, int64_t)) /* upsert: rows (k, cnt) */
        fl_enc_str(&e, s, (uint32_t)snprintf(s, sizeof s, "%lld", (long long)r.seq));
    fl_enc_str(&e, c, (uint32_t)snprintf(c, sizeof c, "%lld", (long long)n));
    fl_emit(out, buf, e.len);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *url = fl_arg(argc, argv, "url", NULL);
    int64_t keys, per_key;
    if (!url) {
        fprintf(stderr, "pg_count: --url postgresql://HOST:PORT/DB is required\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "pg_count", "keys", 16, 1, &keys) < 0 ||
        fl_arg_i64(argc, argv, "pg_count", "per-key", 1000, 1, &per_key) < 0)
        return 1;
    fl_props o = {0};
    fl_props_set(&o, "url", url);
    fl_props_set(&o, "table-name", fl_arg(argc, argv, "table", "counts"));
    fl_props_set(&o, "columns", "k,seq,cnt");
    if (fl_arg(argc, argv, "key-columns", NULL)) {
        fl_props_set(&o, "key-columns", fl_arg(argc, argv, "key-columns", NULL));
        fl_props_set(&o, "columns", "k,cnt"); /* an upsert keeps the latest count */
    }
    fl_props_set(&o, "sink.delivery-guarantee", fl_arg(argc, argv, "guarantee", "exactly-once"));
    fl_props_set(&o, "sink.buffer-flush.max-rows", fl_arg(argc, argv, "max-rows", "100"));
    if (fl_arg(argc, argv, "password", NULL))
        fl_props_set(&o, "password", fl_arg(argc, argv, "password", NULL));

    fl_stream *s = fl_generate_sequence(env, 0, keys * per_key - 1);
    fl_uid(fl_name(fl_set_parallelism(s, 1), "sequence"), "pg-sequence");
    s = fl_map(s, pc_split);
    fl_uid(fl_set_parallelism(s, 1), "pg-split");
    fl_with_config_as(s, int64_t, &keys);
    s = fl_keyed_process(fl_key_by_field(s, offsetof(struct pc_rec, key), sizeof(int64_t)),
                         pc_count, NULL);
    fl_uid(fl_name(s, "count"), "pg-count");
    fl_with_open(s, pc_open);
    int64_t upsert = fl_arg(argc, argv, "key-columns", NULL) != NULL; /* rows (k, cnt) */
    fl_with_config_as(s, int64_t, &upsert);
    fl_uid(fl_postgres_sink(s, &o), "pg-sink");
    fl_props_free(&o);
    return fl_execute(env, "PostgreSQL Count");
}
