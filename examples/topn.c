/* topn.c -- the tutorial's hot items: every 5 minutes, the N most viewed items of the last
 * hour.
 *
 *   flint run [-p N] build/examples/topn.so --input FILE --output DIR
 *       [--size-min 60] [--slide-min 5] [--n 3] [--out-of-orderness-ms 5000]
 *       [--pg-url postgresql://HOST:PORT/DB [--pg-table hot_items] [--pg-password PW]]
 *       [--redis-port PORT [--redis-host 127.0.0.1] [--redis-password PW]]
 *
 * Input: the UserBehavior format, `userId,itemId,categoryId,behavior,timestamp_s` (the
 * behavior is pv, buy, cart or fav; only pv rows count). Output, for every window end and
 * each of the window's N items with the most views: `window_end_ms,rank,itemId,count`
 * (rank 1..N; on equal counts the smaller itemId ranks first).
 *
 * The dataflow, as in the tutorial:
 *
 *   readTextFile (parallelism 1) -> parse + filter pv (flatMap) ->
 *       assignTimestampsAndWatermarks(forBoundedOutOfOrderness(--out-of-orderness-ms))
 *                                                        (all three chained, at 1)
 *   -> keyBy(itemId) -> window(SlidingEventTimeWindows(--size-min, --slide-min))
 *       .aggregate(count, ProcessWindowFunction -> (itemId, windowEnd, count))    (at -p)
 *   -> keyBy(windowEnd) -> KeyedProcessFunction: each count goes into a ListState, and an
 *       event-time timer at windowEnd + 1 sorts the list and emits the top N     (at -p)
 *   -> file sink DIR (print without --output)
 *   -> with --pg-url, also PostgreSQL (the tutorial's chapter 10 JDBC sink): rows
 *       (window_end, rank, item, cnt) of the table --pg-table, upserted on (window_end,
 *       rank), so a replay after a failure writes the same rows again (idempotent)
 *   -> with --redis-port, also Redis (the tutorial's RedisSink): HSET hot-items:<window_end>
 *       <rank> "<itemId>,<count>", idempotent as well
 *
 * The timer at windowEnd + 1 fires once the watermark (the minimum over all the window
 * subtasks) passes windowEnd + 1, when every item's count for that window has arrived: a
 * window subtask emits its counts for a window before it forwards the watermark that fired
 * it. Views later than the watermark at their window's end are dropped (no allowed
 * lateness), as in the tutorial. The 5 s default out-of-orderness covers the disorder of
 * real click logs; the UserBehavior data set itself is in ascending order.
 */
#include <flint/codec.h>
#include <flint/flint.h>
#include <flint/postgres.h>
#include <flint/redis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page view. */
struct tn_view {
    int64_t item;
    int64_t ts; /* milliseconds */
};

/* An item's count in a window (the window function's result). */
struct tn_count {
    int64_t window_end;
    int64_t item;
    int64_t count;
};

/* One line of the result. */
struct tn_rank {
    int64_t window_end;
    int64_t rank;
    int64_t item;
    int64_t count;
};

struct tn_cfg {
    int64_t n;
};

void tn_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int64_t tn_timestamp(const fl_rec *in);
void tn_count_create(void *acc);
void tn_count_add(void *acc, const fl_rec *in);
uint32_t tn_count_result(const void *acc, void *out, uint32_t cap);
void tn_window_result(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
void tn_open(fl_ctx *ctx);
void tn_close(fl_ctx *ctx);
void tn_collect(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void tn_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out);
uint32_t tn_format(const fl_rec *in, char *buf, uint32_t cap);
void tn_pg_row(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void tn_redis_hset(fl_ctx *ctx, const fl_rec *in, fl_out *out);
int flint_main(fl_env *env, int argc, char **argv);

/* "userId,itemId,categoryId,behavior,timestamp_s" -> a view, for pv rows only */
void tn_parse(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    const char *line = in->data, *f[5];
    size_t n = in->len, len[5];
    struct tn_view v;
    int64_t user, category, secs;

    if (n && line[n - 1] == '\r')
        n--;
    if (n == 0)
        return;
    const char *p = line, *end = line + n;
    for (int i = 0; i < 5; i++) {
        const char *c = i < 4 ? memchr(p, ',', (size_t)(end - p)) : end;
        if (!c)
            goto bad;
        f[i] = p;
        len[i] = (size_t)(c - p);
        p = c + 1;
    }
    if (memchr(f[4], ',', len[4]) || fl_parse_i64(f[0], len[0], &user) < 0 ||
        fl_parse_i64(f[1], len[1], &v.item) < 0 || fl_parse_i64(f[2], len[2], &category) < 0 ||
        fl_parse_i64(f[4], len[4], &secs) < 0 || secs > INT64_MAX / 1000 || secs < INT64_MIN / 1000)
        goto bad;
    if (len[3] != 2 || memcmp(f[3], "pv", 2) != 0)
        return;
    v.ts = secs * 1000;
    fl_emit(out, &v, sizeof v);
    return;
bad:
    fl_ctx_fail(ctx, "topn: malformed line (expected userId,itemId,categoryId,behavior,"
                     "timestamp_s): '%.*s'", (int)(n > 200 ? 200 : n), line);
}

int64_t tn_timestamp(const fl_rec *in)
{
    struct tn_view v;
    memcpy(&v, in->data, sizeof v);
    return v.ts;
}

void tn_count_create(void *acc)
{
    memset(acc, 0, sizeof(int64_t));
}

void tn_count_add(void *acc, const fl_rec *in)
{
    int64_t n;
    memcpy(&n, acc, sizeof n);
    n++;
    memcpy(acc, &n, sizeof n);
}

uint32_t tn_count_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(int64_t));
    return sizeof(int64_t);
}

/* (itemId, windowEnd, count); the key is the item id's 8 bytes. */
void tn_window_result(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    struct tn_count c;

    if (!fl_iter_next_i64(elements, &c.count) || !fl_ctx_key_as(ctx, int64_t, &c.item))
        return;
    c.window_end = w->end;
    fl_emit(out, &c, sizeof c);
}

/* The keyed process function's per-subtask data: the state handle and a sort buffer. */
struct tn_top {
    fl_list_state *counts;
    struct tn_count *buf;
    size_t cap;
    int64_t n;
};

void tn_open(fl_ctx *ctx)
{
    struct tn_top *t = calloc(1, sizeof *t);
    struct tn_cfg cfg;

    if (!t) {
        fl_ctx_fail(ctx, "topn: out of memory");
        return;
    }
    cfg = *fl_ctx_config_as(ctx, struct tn_cfg);
    t->n = cfg.n;
    t->counts = fl_ctx_list_state(ctx, "item-counts");
    fl_ctx_set_user(ctx, t);
}

void tn_close(fl_ctx *ctx)
{
    struct tn_top *t = fl_ctx_user(ctx);
    if (t) {
        free(t->buf);
        free(t);
    }
}

/* processElement: keep the count, wake up once the window's counts are all in. */
void tn_collect(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct tn_top *t = fl_ctx_user(ctx);
    struct tn_count c;

    memcpy(&c, in->data, sizeof c);
    fl_list_add_as(t->counts, struct tn_count, &c);
    fl_ctx_register_event_timer(ctx, c.window_end + 1);
}

static int tn_cmp(const void *a, const void *b)
{
    const struct tn_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

/* onTimer: sort the window's counts, emit the first N. */
void tn_on_timer(fl_ctx *ctx, int64_t timestamp, fl_out *out)
{
    struct tn_top *t = fl_ctx_user(ctx);
    size_t k = 0;
    fl_iter it;
    struct tn_count e;

    if (fl_list_get(t->counts, &it))
        while (fl_iter_next_as(&it, struct tn_count, &e)) {
            if (k == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 1024;
                struct tn_count *b = realloc(t->buf, cap * sizeof *b);
                if (!b) {
                    fl_ctx_fail(ctx, "topn: out of memory");
                    return;
                }
                t->buf = b;
                t->cap = cap;
            }
            t->buf[k++] = e;
        }
    fl_list_clear(t->counts);
    if (k > 1)
        qsort(t->buf, k, sizeof t->buf[0], tn_cmp);
    for (size_t i = 0; i < k && (int64_t)i < t->n; i++) {
        struct tn_rank r = {timestamp - 1, (int64_t)i + 1, t->buf[i].item, t->buf[i].count};
        fl_emit_ts(out, &r, sizeof r, timestamp);
    }
}

/* "window_end_ms,rank,itemId,count" */
uint32_t tn_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct tn_rank r;

    memcpy(&r, in->data, sizeof r);
    int n = snprintf(buf, cap, "%lld,%lld,%lld,%lld", (long long)r.window_end, (long long)r.rank,
                     (long long)r.item, (long long)r.count);
    return fl_fmt_len(n, cap);
}

/* A rank as a PostgreSQL row: the columns window_end, rank, item, cnt as text fields. */
void tn_pg_row(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct tn_rank r;
    char v[4][24], buf[128];
    fl_enc e = fl_enc_init(buf, sizeof buf);

    memcpy(&r, in->data, sizeof r);
    const int64_t f[4] = {r.window_end, r.rank, r.item, r.count};
    for (int i = 0; i < 4; i++)
        fl_enc_str(&e, v[i], (uint32_t)snprintf(v[i], sizeof v[i], "%lld", (long long)f[i]));
    fl_emit(out, buf, e.len);
}

/* A rank as the arguments of HSET hot-items:<window_end> <rank> "<itemId>,<count>". */
void tn_redis_hset(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct tn_rank r;
    char key[48], field[24], value[48], buf[160];
    fl_enc e = fl_enc_init(buf, sizeof buf);

    memcpy(&r, in->data, sizeof r);
    fl_enc_str(&e, key, (uint32_t)snprintf(key, sizeof key, "hot-items:%lld",
                                            (long long)r.window_end));
    fl_enc_str(&e, field, (uint32_t)snprintf(field, sizeof field, "%lld", (long long)r.rank));
    fl_enc_str(&e, value, (uint32_t)snprintf(value, sizeof value, "%lld,%lld", (long long)r.item,
                                              (long long)r.count));
    fl_emit(out, buf, e.len);
}

/* The optional sinks of the top N: PostgreSQL (upsert) and Redis (HSET). */
static void tn_db_sinks(fl_stream *s, int argc, char **argv)
{
    const char *pg = fl_arg(argc, argv, "pg-url", NULL);
    const char *redis = fl_arg(argc, argv, "redis-port", NULL);
    fl_props o = {0};

    if (pg) {
        fl_props_set(&o, "url", pg);
        fl_props_set(&o, "table-name", fl_arg(argc, argv, "pg-table", "hot_items"));
        fl_props_set(&o, "columns", "window_end,rank,item,cnt");
        fl_props_set(&o, "key-columns", "window_end,rank");
        if (fl_arg(argc, argv, "pg-password", NULL))
            fl_props_set(&o, "password", fl_arg(argc, argv, "pg-password", NULL));
        fl_stream *rows = fl_uid(fl_name(fl_map(s, tn_pg_row), "pg-rows"), "topn-pg-rows");
        fl_uid(fl_name(fl_postgres_sink(rows, &o), "postgres-sink"), "topn-pg-sink");
        fl_props_free(&o);
    }
    if (redis) {
        fl_props_set(&o, "host", fl_arg(argc, argv, "redis-host", "127.0.0.1"));
        fl_props_set(&o, "port", redis);
        fl_props_set(&o, "command", "HSET");
        if (fl_arg(argc, argv, "redis-password", NULL))
            fl_props_set(&o, "password", fl_arg(argc, argv, "redis-password", NULL));
        fl_stream *args = fl_uid(fl_name(fl_map(s, tn_redis_hset), "redis-args"), "topn-redis-args");
        fl_uid(fl_name(fl_redis_sink(args, &o), "redis-sink"), "topn-redis-sink");
        fl_props_free(&o);
    }
}

int flint_main(fl_env *env, int argc, char **argv)
{
    const char *input = fl_arg(argc, argv, "input", NULL);
    const char *output = fl_arg(argc, argv, "output", NULL);
    int64_t size_min, slide_min, ooo;
    struct tn_cfg cfg;

    if (!input) {
        fprintf(stderr, "Usage: topn --input FILE [--output DIR] [--size-min N] "
                        "[--slide-min N] [--n N] [--out-of-orderness-ms N] [--pg-url URL "
                        "[--pg-table T] [--pg-password PW]] [--redis-port P [--redis-host H] "
                        "[--redis-password PW]]\n");
        return 1;
    }
    if (fl_arg_i64(argc, argv, "topn", "size-min", 60, 1, &size_min) < 0 ||
        fl_arg_i64(argc, argv, "topn", "slide-min", 5, 1, &slide_min) < 0 ||
        fl_arg_i64(argc, argv, "topn", "n", 3, 1, &cfg.n) < 0 ||
        fl_arg_i64(argc, argv, "topn", "out-of-orderness-ms", 5000, 0, &ooo) < 0)
        return 1;
    if (size_min > INT64_MAX / 60000 || slide_min > INT64_MAX / 60000) {
        fprintf(stderr, "topn: window too large\n");
        return 1;
    }

    fl_stream *s = fl_set_parallelism(fl_name(fl_read_text_file(env, input), "file-input"), 1);
    s = fl_set_parallelism(fl_name(fl_flat_map(s, tn_parse), "parse-pv"), 1);
    s = fl_assign_timestamps_and_watermarks(s, fl_wm_bounded_out_of_orderness(ooo, tn_timestamp));
    s = fl_set_parallelism(fl_name(s, "watermarks"), 1);
    s = fl_key_by_field(s, offsetof(struct tn_view, item), sizeof(int64_t));
    s = fl_windowed(s, fl_sliding_event_time_windows(size_min * 60000, slide_min * 60000, 0));
    static const fl_aggregate count = {
        .acc_size = sizeof(int64_t),
        .create = tn_count_create,
        .add = tn_count_add,
        .result = tn_count_result,
        .result_max = sizeof(int64_t),
    };
    s = fl_name(fl_window_aggregate(s, &count, tn_window_result), "item-counts");
    s = fl_key_by_field(s, offsetof(struct tn_count, window_end), sizeof(int64_t));
    s = fl_name(fl_keyed_process(s, tn_collect, tn_on_timer), "top-n");
    fl_with_config_as(s, struct tn_cfg, &cfg);
    fl_with_open(s, tn_open);
    fl_with_close(s, tn_close);
    if (output)
        fl_name(fl_write_as_text(s, output, tn_format), "file-sink");
    else if (!fl_arg(argc, argv, "pg-url", NULL) && !fl_arg(argc, argv, "redis-port", NULL))
        fl_name(fl_print(s, tn_format), "print-sink");
    tn_db_sinks(s, argc, argv);
    return fl_execute(env, "Hot items");
}
