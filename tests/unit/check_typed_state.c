/* check_typed_state.c -- the typed keyed-state API (flint.h, flint/state.h) on both
 * backends, through the operator test harness (tests/harness/): a keyed process function
 * of this file keeps every typed form of every kind (ValueState as int64, double, a struct
 * and a byte string; ListState of int64 and of a struct; MapState of int64, double and
 * struct values, one of them hundreds of entries wide) and answers queries with what it
 * holds. The run goes through a checkpoint, a restore at another parallelism (the key
 * groups dealt as the JobMaster deals them) and a second one, with MapState entries
 * removed while iterating; every answer is compared with a plain C model of the same
 * inputs kept here. Reads of the wrong size fail the task naming the call.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/keygroup.h"
#include "common/util.h"
#include "taskmanager/chain/operator.h"
#include "tests/harness/harness.h"
#include "testutil.h"

#define MAXP 128
#define NKEYS 40
#define NBUCKETS 7
#define WIDE 600 /* distinct keys of the wide map: past any small-map shortcut */
#define MAXVALS 4096

/* ---- the bundle under test: a keyed process function ------------------------------ */

enum ts_cmd {
    TS_UPDATE = 0,
    TS_QUERY = 1,
    TS_PRUNE = 2,      /* remove map entries with an even count while iterating */
    TS_KEEP_ABOVE = 3, /* the list of values keeps those above v (fl_list_update_as; with an
                          odd v fl_list_update_bytes) */
    TS_BAD_VALUE = 4,  /* reads an int64 value as a 16-byte struct */
    TS_BAD_KEY = 5,    /* reads the 4-byte key as an int64 */
    TS_BAD_ELEM = 6,   /* reads an int64 list element as a struct */
    TS_BAD_MAP = 7,    /* reads an int64 map value as a struct */
};

typedef struct ts_in {
    uint32_t key; /* the key: the first 4 bytes */
    int32_t cmd;
    int64_t v;
} ts_in;

struct ts_minmax {
    int64_t min, max;
};

struct ts_pair {
    int64_t v, ts;
};

typedef struct ts_out {
    uint32_t key;
    int32_t kind; /* TS_QUERY or TS_PRUNE */
    int64_t count;
    double sum;
    int64_t min, max;
    char label[32];
    int64_t vals_n, vals_sum, pairs_n, pairs_tssum;
    int64_t buckets_size, buckets_total, buckets_keysum;
    int64_t spans_minsum, spans_maxsum;
    double fsum_total;
    int64_t wide_size, wide_total, wide_keysum;
    int64_t visited, removed; /* TS_PRUNE */
} ts_out;

struct ts_states {
    fl_value_state *count, *sum, *minmax, *label;
    fl_list_state *vals, *pairs;
    fl_map_state *buckets, *spans, *fsum, *wide;
};

static bool bad_read_zeroed; /* what a wrong-size read left in *out */

void ts_open(fl_ctx *ctx);
void ts_open(fl_ctx *ctx)
{
    struct ts_states *s = fl_xcalloc(1, sizeof *s);
    s->count = fl_ctx_value_state(ctx, "count");
    s->sum = fl_ctx_value_state(ctx, "sum");
    s->minmax = fl_ctx_value_state(ctx, "minmax");
    s->label = fl_ctx_value_state(ctx, "label");
    s->vals = fl_ctx_list_state(ctx, "vals");
    s->pairs = fl_ctx_list_state(ctx, "pairs");
    s->buckets = fl_ctx_map_state(ctx, "buckets");
    s->spans = fl_ctx_map_state(ctx, "spans");
    s->fsum = fl_ctx_map_state(ctx, "fsum");
    s->wide = fl_ctx_map_state(ctx, "wide");
    fl_ctx_set_user(ctx, s);
}

void ts_close(fl_ctx *ctx);
void ts_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

static void ts_update(struct ts_states *s, fl_ctx *ctx, int64_t v, int64_t ts)
{
    int64_t n = 0;
    double sum = 0;
    fl_value_get_i64(s->count, &n);
    fl_value_put_i64(s->count, n + 1);
    fl_value_get_f64(s->sum, &sum);
    fl_value_put_f64(s->sum, sum + (double)v * 0.5);
    struct ts_minmax mm = {v, v};
    if (fl_value_get_as(s->minmax, struct ts_minmax, &mm)) {
        mm.min = v < mm.min ? v : mm.min;
        mm.max = v > mm.max ? v : mm.max;
    }
    fl_value_put_as(s->minmax, struct ts_minmax, &mm);
    uint32_t key;
    fl_ctx_key_as(ctx, uint32_t, &key);
    char label[32];
    int len = snprintf(label, sizeof label, "k%u v%lld", key, (long long)v);
    fl_value_put_bytes(s->label, label, (uint32_t)len);

    fl_list_add_i64(s->vals, v);
    struct ts_pair p = {v, ts};
    fl_list_add_as(s->pairs, struct ts_pair, &p);

    char b[8];
    int blen = snprintf(b, sizeof b, "b%d", (int)(v % NBUCKETS));
    int64_t c = 0;
    fl_map_get_i64(s->buckets, b, (uint32_t)blen, &c);
    fl_map_put_i64(s->buckets, b, (uint32_t)blen, c + 1);
    struct ts_minmax span = {v, v};
    if (fl_map_get_as(s->spans, b, (uint32_t)blen, struct ts_minmax, &span)) {
        span.min = v < span.min ? v : span.min;
        span.max = v > span.max ? v : span.max;
    }
    fl_map_put_as(s->spans, b, (uint32_t)blen, struct ts_minmax, &span);
    double f = 0;
    fl_map_get_f64(s->fsum, b, (uint32_t)blen, &f);
    fl_map_put_f64(s->fsum, b, (uint32_t)blen, f + (double)v * 0.25);
    int64_t wk = v % WIDE, wc = 0;
    fl_map_get_i64(s->wide, &wk, sizeof wk, &wc);
    fl_map_put_i64(s->wide, &wk, sizeof wk, wc + 1);
}

static void ts_query(struct ts_states *s, fl_ctx *ctx, fl_out *out)
{
    ts_out o;
    memset(&o, 0, sizeof o);
    o.kind = TS_QUERY;
    fl_ctx_key_as(ctx, uint32_t, &o.key);
    fl_value_get_i64(s->count, &o.count);
    fl_value_get_f64(s->sum, &o.sum);
    struct ts_minmax mm = {0, 0};
    fl_value_get_as(s->minmax, struct ts_minmax, &mm);
    o.min = mm.min;
    o.max = mm.max;
    const void *label;
    uint32_t llen;
    if (fl_value_get_bytes(s->label, &label, &llen))
        memcpy(o.label, label, llen < sizeof o.label ? llen : sizeof o.label - 1);
    fl_iter it;
    int64_t v;
    if (fl_list_get(s->vals, &it))
        while (fl_iter_next_i64(&it, &v)) {
            o.vals_n++;
            o.vals_sum += v;
        }
    struct ts_pair p;
    if (fl_list_get(s->pairs, &it))
        while (fl_iter_next_as(&it, struct ts_pair, &p)) {
            o.pairs_n++;
            o.pairs_tssum += p.ts;
        }
    fl_map_iter mi;
    o.buckets_size = fl_map_size(s->buckets);
    fl_map_iterate(s->buckets, &mi);
    while (fl_map_next(&mi)) {
        int64_t c;
        ck_assert(fl_map_value_i64(&mi, &c));
        o.buckets_total += c;
        char b[8] = {0};
        ck_assert_uint_lt(mi.klen, sizeof b);
        memcpy(b, mi.key, mi.klen); /* copied: the next state call may move mi.key */
        o.buckets_keysum += atoi(b + 1);
        ck_assert(fl_map_contains(s->buckets, b, mi.klen)); /* a call on the same map */
    }
    fl_map_iterate(s->spans, &mi);
    while (fl_map_next(&mi)) {
        struct ts_minmax span;
        ck_assert(fl_map_value_as(&mi, struct ts_minmax, &span));
        o.spans_minsum += span.min;
        o.spans_maxsum += span.max;
    }
    fl_map_iterate(s->fsum, &mi);
    while (fl_map_next(&mi)) {
        double f;
        ck_assert(fl_map_value_f64(&mi, &f));
        o.fsum_total += f;
    }
    o.wide_size = fl_map_size(s->wide);
    ck_assert_int_eq(fl_map_is_empty(s->wide), o.wide_size == 0);
    fl_map_iterate(s->wide, &mi);
    while (fl_map_next(&mi)) {
        int64_t wk, c;
        ck_assert_uint_eq(mi.klen, sizeof wk);
        memcpy(&wk, mi.key, sizeof wk);
        ck_assert(fl_map_value_i64(&mi, &c));
        o.wide_total += c;
        o.wide_keysum += wk;
    }
    fl_emit(out, &o, sizeof o);
}

/* Removes the entries with an even count from one map while iterating it; other states are
 * read in between, so the iterator's view of the map goes stale and is read again. */
static void ts_prune_map(struct ts_states *s, fl_map_state *m, ts_out *o)
{
    fl_map_iter mi;
    fl_map_iterate(m, &mi);
    while (fl_map_next(&mi)) {
        int64_t c, n;
        uint8_t key[16];
        o->visited++;
        ck_assert(fl_map_value_i64(&mi, &c));
        ck_assert_uint_le(mi.klen, sizeof key);
        memcpy(key, mi.key, mi.klen);
        uint32_t klen = mi.klen;
        fl_value_get_i64(s->count, &n); /* another state: RocksDB reuses its read buffer */
        ck_assert(fl_map_contains(m, key, klen));
        if (c % 2 == 0) {
            fl_map_iter_remove(&mi);
            o->removed++;
        }
    }
}

static void ts_prune(struct ts_states *s, fl_ctx *ctx, fl_out *out)
{
    ts_out o;
    memset(&o, 0, sizeof o);
    o.kind = TS_PRUNE;
    fl_ctx_key_as(ctx, uint32_t, &o.key);
    ts_prune_map(s, s->buckets, &o);
    ts_prune_map(s, s->wide, &o);
    fl_emit(out, &o, sizeof o);
}

static void ts_keep_above(struct ts_states *s, int64_t limit)
{
    static int64_t keep[MAXVALS];
    static fl_rec recs[MAXVALS];
    uint32_t n = 0;
    fl_iter it;
    int64_t v;
    if (fl_list_get(s->vals, &it))
        while (fl_iter_next_i64(&it, &v))
            if (v > limit) {
                ck_assert_uint_lt(n, MAXVALS);
                keep[n++] = v;
            }
    if (limit % 2 == 0) {
        fl_list_update_as(s->vals, int64_t, keep, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        recs[i] = (fl_rec){&keep[i], sizeof keep[i], FL_NO_TIMESTAMP};
    fl_list_update_bytes(s->vals, recs, n);
}

void ts_process(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void ts_process(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct ts_states *s = fl_ctx_user(ctx);
    ts_in r;
    ck_assert_uint_eq(in->len, sizeof r);
    memcpy(&r, in->data, sizeof r);
    struct ts_minmax bad = {7, 7};
    int64_t k64 = 7;
    fl_iter it;
    switch ((enum ts_cmd)r.cmd) {
    case TS_UPDATE:
        ts_update(s, ctx, r.v, in->ts);
        break;
    case TS_QUERY:
        ts_query(s, ctx, out);
        break;
    case TS_PRUNE:
        ts_prune(s, ctx, out);
        break;
    case TS_KEEP_ABOVE:
        ts_keep_above(s, r.v);
        break;
    case TS_BAD_VALUE:
        bad_read_zeroed = !fl_value_get_as(s->count, struct ts_minmax, &bad) &&
                          bad.min == 0 && bad.max == 0;
        break;
    case TS_BAD_KEY:
        bad_read_zeroed = !fl_ctx_key_as(ctx, int64_t, &k64) && k64 == 0;
        break;
    case TS_BAD_ELEM:
        bad_read_zeroed = fl_list_get(s->vals, &it) &&
                          !fl_iter_next_as(&it, struct ts_minmax, &bad) && bad.min == 0 &&
                          bad.max == 0;
        break;
    case TS_BAD_MAP:
        bad_read_zeroed = !fl_map_get_as(s->buckets, "b1", 2, struct ts_minmax, &bad) &&
                          bad.min == 0 && bad.max == 0;
        break;
    }
}

/* ---- the model: the same state in plain C arrays ---------------------------------- */

typedef struct model_key {
    int64_t count;
    double sum;
    int64_t min, max, last;
    int64_t vals[MAXVALS];
    int nvals;
    int64_t pairs_n, pairs_tssum;
    int64_t bucket[NBUCKETS]; /* 0: absent */
    int64_t span_min[NBUCKETS], span_max[NBUCKETS];
    bool span[NBUCKETS];
    double fsum[NBUCKETS];
    bool has_fsum[NBUCKETS];
    int64_t wide[WIDE]; /* 0: absent */
} model_key;

static model_key *model; /* [NKEYS + 1] */

static void model_update(uint32_t k, int64_t v, int64_t ts)
{
    model_key *m = &model[k];
    if (m->count == 0 || v < m->min)
        m->min = v;
    if (m->count == 0 || v > m->max)
        m->max = v;
    m->count++;
    m->sum += (double)v * 0.5;
    m->last = v;
    ck_assert_int_lt(m->nvals, MAXVALS);
    m->vals[m->nvals++] = v;
    m->pairs_n++;
    m->pairs_tssum += ts;
    int b = (int)(v % NBUCKETS);
    m->bucket[b]++;
    if (!m->span[b] || v < m->span_min[b])
        m->span_min[b] = v;
    if (!m->span[b] || v > m->span_max[b])
        m->span_max[b] = v;
    m->span[b] = true;
    m->fsum[b] += (double)v * 0.25;
    m->has_fsum[b] = true;
    m->wide[v % WIDE]++;
}

static ts_out model_query(uint32_t k)
{
    model_key *m = &model[k];
    ts_out o;
    memset(&o, 0, sizeof o);
    o.kind = TS_QUERY;
    o.key = k;
    o.count = m->count;
    o.sum = m->sum;
    o.min = m->min;
    o.max = m->max;
    if (m->count)
        snprintf(o.label, sizeof o.label, "k%u v%lld", k, (long long)m->last);
    for (int i = 0; i < m->nvals; i++) {
        o.vals_n++;
        o.vals_sum += m->vals[i];
    }
    o.pairs_n = m->pairs_n;
    o.pairs_tssum = m->pairs_tssum;
    for (int b = 0; b < NBUCKETS; b++) {
        if (m->bucket[b]) {
            o.buckets_size++;
            o.buckets_total += m->bucket[b];
            o.buckets_keysum += b;
        }
        if (m->span[b]) {
            o.spans_minsum += m->span_min[b];
            o.spans_maxsum += m->span_max[b];
        }
        if (m->has_fsum[b])
            o.fsum_total += m->fsum[b];
    }
    for (int w = 0; w < WIDE; w++)
        if (m->wide[w]) {
            o.wide_size++;
            o.wide_total += m->wide[w];
            o.wide_keysum += w;
        }
    return o;
}

static ts_out model_prune(uint32_t k)
{
    model_key *m = &model[k];
    ts_out o;
    memset(&o, 0, sizeof o);
    o.kind = TS_PRUNE;
    o.key = k;
    for (int b = 0; b < NBUCKETS; b++)
        if (m->bucket[b]) {
            o.visited++;
            if (m->bucket[b] % 2 == 0) {
                m->bucket[b] = 0;
                o.removed++;
            }
        }
    for (int w = 0; w < WIDE; w++)
        if (m->wide[w]) {
            o.visited++;
            if (m->wide[w] % 2 == 0) {
                m->wide[w] = 0;
                o.removed++;
            }
        }
    return o;
}

static void model_keep_above(uint32_t k, int64_t limit)
{
    model_key *m = &model[k];
    int n = 0;
    for (int i = 0; i < m->nvals; i++)
        if (m->vals[i] > limit)
            m->vals[n++] = m->vals[i];
    m->nvals = n;
}

/* ---- driving the harnesses -------------------------------------------------------- */

static char base_dir[256];

static void dirs_up(void)
{
    tu_mkdtemp(base_dir, sizeof base_dir);
    model = fl_xcalloc(NKEYS + 1, sizeof *model);
}

static void dirs_down(void)
{
    fl_remove_tree(base_dir);
    free(model);
}

static Fl__Pb__OperatorSpec op_spec;
static Fl__Pb__KeySpec key_spec;

static void spec_init(void)
{
    fl__pb__operator_spec__init(&op_spec);
    fl__pb__key_spec__init(&key_spec);
    op_spec.kind = FL__PB__OP_KIND__OP_PROCESS;
    op_spec.name = op_spec.uid = (char *)"Typed State";
    op_spec.fn = (char *)"ts_process";
    op_spec.open_fn = (char *)"ts_open";
    op_spec.close_fn = (char *)"ts_close";
    key_spec.len = 4;
    op_spec.keyed = true;
    op_spec.key = &key_spec;
}

static int subtask_of(uint32_t key, int p)
{
    return fl_key_group_subtask(fl_key_group(fl_key_hash(&key, 4), MAXP), p, MAXP);
}

static fl_harness *open_one(int subtask, int p, const char *backend, const fl_harness_ckpt *c)
{
    fl_err err;
    fl_harness *h = fl_harness_new(
        &op_spec,
        &(fl_harness_opts){.subtask = subtask, .parallelism = p, .max_parallelism = MAXP,
                           .backend = backend, .restore = c, .failover = c != NULL},
        &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    return h;
}

static void open_all(fl_harness **hs, int p, const char *backend, const fl_harness_ckpt *c)
{
    for (int i = 0; i < p; i++)
        hs[i] = open_one(i, p, backend, c);
}

static int send(fl_harness **hs, int p, uint32_t key, int32_t cmd, int64_t v, int64_t ts)
{
    ts_in r = {key, cmd, v};
    return fl_harness_process(hs[subtask_of(key, p)], &r, sizeof r, ts);
}

#define SEND(hs, p, key, cmd, v, ts)                                                         \
    do {                                                                                     \
        fl_harness *h_ = (hs)[subtask_of((key), (p))];                                       \
        ck_assert_msg(send((hs), (p), (key), (cmd), (v), (ts)) == 0, "%s",                   \
                      fl_harness_error(h_) ? fl_harness_error(h_) : "");                     \
    } while (0)

static void snapshot_close(fl_harness **hs, int p, fl_harness_ckpt *c)
{
    for (int i = 0; i < p; i++) {
        ck_assert_int_eq(fl_harness_barrier(hs[i], c), 0);
        ck_assert_int_eq(fl_harness_free(hs[i]), 0);
    }
}

static void close_all(fl_harness **hs, int p)
{
    for (int i = 0; i < p; i++)
        ck_assert_int_eq(fl_harness_free(hs[i]), 0);
}

static uint64_t lcg = 88172645463325252ull;

static int64_t next_v(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (int64_t)((lcg >> 33) % 5000);
}

/* n updates over all keys (model too), with a prune and a keep-above now and then. */
static void feed(fl_harness **hs, int p, int n, int64_t *ts)
{
    for (int i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(i % NKEYS) + 1;
        int64_t v = next_v();
        ++*ts;
        SEND(hs, p, k, TS_UPDATE, v, *ts);
        model_update(k, v, *ts);
        if (i % 997 == 500) {
            int64_t limit = 2500 + i % 2; /* both update forms */
            SEND(hs, p, k, TS_KEEP_ABOVE, limit, *ts);
            model_keep_above(k, limit);
        }
    }
}

static void assert_out_eq(const ts_out *got, const ts_out *want)
{
    ck_assert_uint_eq(got->key, want->key);
    ck_assert_int_eq(got->kind, want->kind);
    ck_assert_int_eq(got->count, want->count);
    ck_assert_msg(got->sum == want->sum, "key %u: sum %f, want %f", want->key, got->sum,
                  want->sum);
    ck_assert_int_eq(got->min, want->min);
    ck_assert_int_eq(got->max, want->max);
    ck_assert_str_eq(got->label, want->label);
    ck_assert_int_eq(got->vals_n, want->vals_n);
    ck_assert_int_eq(got->vals_sum, want->vals_sum);
    ck_assert_int_eq(got->pairs_n, want->pairs_n);
    ck_assert_int_eq(got->pairs_tssum, want->pairs_tssum);
    ck_assert_int_eq(got->buckets_size, want->buckets_size);
    ck_assert_int_eq(got->buckets_total, want->buckets_total);
    ck_assert_int_eq(got->buckets_keysum, want->buckets_keysum);
    ck_assert_int_eq(got->spans_minsum, want->spans_minsum);
    ck_assert_int_eq(got->spans_maxsum, want->spans_maxsum);
    ck_assert_msg(got->fsum_total == want->fsum_total, "key %u: fsum %f, want %f", want->key,
                  got->fsum_total, want->fsum_total);
    ck_assert_int_eq(got->wide_size, want->wide_size);
    ck_assert_int_eq(got->wide_total, want->wide_total);
    ck_assert_int_eq(got->wide_keysum, want->wide_keysum);
    ck_assert_int_eq(got->visited, want->visited);
    ck_assert_int_eq(got->removed, want->removed);
}

/* Sends cmd (TS_QUERY or TS_PRUNE) for every key and compares each answer with the model's
 * (for TS_PRUNE the model prunes too). Each key answers on the subtask that owns it. */
static void ask_all(fl_harness **hs, int p, int32_t cmd, int64_t ts)
{
    for (int i = 0; i < p; i++)
        fl_harness_clear_output(hs[i]);
    for (uint32_t k = 1; k <= NKEYS; k++)
        SEND(hs, p, k, cmd, 0, ts);
    int answered = 0;
    for (int i = 0; i < p; i++) {
        const fl_harness_output *o = fl_harness_get_output(hs[i]);
        for (int j = 0; j < o->nrecords; j++) {
            const fl_harness_elem *e = fl_harness_record(o, j);
            ts_out got;
            ck_assert_uint_eq(e->len, sizeof got);
            memcpy(&got, e->data, sizeof got);
            ck_assert_uint_ge(got.key, 1);
            ck_assert_uint_le(got.key, NKEYS);
            ck_assert_int_eq(subtask_of(got.key, p), i);
            ts_out want = cmd == TS_PRUNE ? model_prune(got.key) : model_query(got.key);
            assert_out_eq(&got, &want);
            answered++;
        }
        fl_harness_clear_output(hs[i]);
    }
    ck_assert_int_eq(answered, NKEYS);
}

/* Every typed form through a checkpoint at parallelism 2, a restore at 3 (key groups move),
 * removals while iterating, a second checkpoint and a restore at 1. */
static void typed_state_rescale(const char *backend)
{
    spec_init();
    fl_harness *hs[3];
    fl_harness_ckpt c1, c2;
    fl_harness_ckpt_init(&c1, base_dir, 1);
    fl_harness_ckpt_init(&c2, base_dir, 2);
    int64_t ts = 1000;

    open_all(hs, 2, backend, NULL);
    feed(hs, 2, 3000, &ts);
    ask_all(hs, 2, TS_QUERY, ts);
    snapshot_close(hs, 2, &c1);

    open_all(hs, 3, backend, &c1); /* rescaled: 2 subtasks' key groups over 3 */
    ask_all(hs, 3, TS_QUERY, ts);
    ask_all(hs, 3, TS_PRUNE, ts); /* removal during iteration */
    ask_all(hs, 3, TS_QUERY, ts);
    feed(hs, 3, 2000, &ts);
    ask_all(hs, 3, TS_PRUNE, ts);
    ask_all(hs, 3, TS_QUERY, ts);
    snapshot_close(hs, 3, &c2);

    open_all(hs, 1, backend, &c2); /* and back to one subtask */
    ask_all(hs, 1, TS_QUERY, ts);
    feed(hs, 1, 500, &ts);
    ask_all(hs, 1, TS_QUERY, ts);
    close_all(hs, 1);
    fl_harness_ckpt_free(&c1);
    fl_harness_ckpt_free(&c2);
}

START_TEST(test_typed_state_hashmap)
{
    typed_state_rescale("hashmap");
}
END_TEST

START_TEST(test_typed_state_rocksdb)
{
    typed_state_rescale("rocksdb");
}
END_TEST

/* Removing every entry while iterating empties the map (no entry visited twice or
 * skipped), and an iterator of an empty map ends at once. */
static void remove_all_entries(const char *backend)
{
    spec_init();
    fl_harness *hs[1];
    int64_t ts = 1;
    open_all(hs, 1, backend, NULL);
    for (int64_t v = 0; v < 2 * WIDE; v++) { /* every wide entry counted twice: even */
        SEND(hs, 1, 3, TS_UPDATE, v, ++ts);
        model_update(3, v, ts);
    }
    fl_harness_clear_output(hs[0]);
    SEND(hs, 1, 3, TS_PRUNE, 0, ts);
    const fl_harness_output *o = fl_harness_get_output(hs[0]);
    ck_assert_int_eq(o->nrecords, 1);
    ts_out got, want = model_prune(3);
    memcpy(&got, fl_harness_record(o, 0)->data, sizeof got);
    assert_out_eq(&got, &want);
    ck_assert_int_eq(got.visited, WIDE + NBUCKETS);
    /* every wide entry counted twice; of 1200 values buckets 0-2 got 172 (even), 3-6 171 */
    ck_assert_int_eq(got.removed, WIDE + 3);
    fl_harness_clear_output(hs[0]);
    SEND(hs, 1, 3, TS_QUERY, 0, ts);
    memcpy(&got, fl_harness_record(fl_harness_get_output(hs[0]), 0)->data, sizeof got);
    want = model_query(3);
    assert_out_eq(&got, &want);
    ck_assert_int_eq(got.wide_size, 0);
    fl_harness_clear_output(hs[0]);
    SEND(hs, 1, 3, TS_PRUNE, 0, ts); /* an iteration over the emptied wide map */
    memcpy(&got, fl_harness_record(fl_harness_get_output(hs[0]), 0)->data, sizeof got);
    want = model_prune(3);
    assert_out_eq(&got, &want);
    close_all(hs, 1);
}

START_TEST(test_map_remove_all_while_iterating_hashmap)
{
    remove_all_entries("hashmap");
}
END_TEST

START_TEST(test_map_remove_all_while_iterating_rocksdb)
{
    remove_all_entries("rocksdb");
}
END_TEST

/* A read of the wrong size fails the task with the call and the state named, and hands
 * out zeros, never the bytes. */
static void wrong_size(int32_t cmd, const char *expect1, const char *expect2)
{
    spec_init();
    fl_harness *hs[1];
    open_all(hs, 1, "hashmap", NULL);
    SEND(hs, 1, 5, TS_UPDATE, 8, 10);
    bad_read_zeroed = false;
    ck_assert_int_eq(send(hs, 1, 5, cmd, 0, 11), -1);
    const char *err = fl_harness_error(hs[0]);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, expect1) && strstr(err, expect2), "error: %s", err);
    ck_assert(bad_read_zeroed);
    close_all(hs, 1);
}

START_TEST(test_wrong_size_value)
{
    wrong_size(TS_BAD_VALUE, "fl_value_get_as(struct ts_minmax) on state 'count'",
               "the value has 8 bytes, the type 16");
}
END_TEST

START_TEST(test_wrong_size_key)
{
    wrong_size(TS_BAD_KEY, "fl_ctx_key_as(int64_t) on the current key",
               "the value has 4 bytes, the type 8");
}
END_TEST

START_TEST(test_wrong_size_list_element)
{
    wrong_size(TS_BAD_ELEM, "fl_iter_next_as(struct ts_minmax) on an element",
               "the value has 8 bytes, the type 16");
}
END_TEST

START_TEST(test_wrong_size_map_value)
{
    wrong_size(TS_BAD_MAP, "fl_map_get_as(struct ts_minmax) on state 'buckets'",
               "the value has 8 bytes, the type 16");
}
END_TEST

static Suite *typed_state_suite(void)
{
    Suite *s = suite_create("typed state");
    TCase *tc = tcase_create("both backends");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_typed_state_hashmap);
    tcase_add_test(tc, test_typed_state_rocksdb);
    tcase_add_test(tc, test_map_remove_all_while_iterating_hashmap);
    tcase_add_test(tc, test_map_remove_all_while_iterating_rocksdb);
    suite_add_tcase(s, tc);
    tc = tcase_create("sizes checked");
    tcase_add_checked_fixture(tc, dirs_up, dirs_down);
    tcase_add_test(tc, test_wrong_size_value);
    tcase_add_test(tc, test_wrong_size_key);
    tcase_add_test(tc, test_wrong_size_list_element);
    tcase_add_test(tc, test_wrong_size_map_value);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(typed_state_suite());
}
