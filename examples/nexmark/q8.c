/* q8.c -- Nexmark query 8, monitor new users: the people who entered the system and
 * created an auction in the same 10 s window.
 *
 *   flint run [-p N] build/examples/nexmark/q8.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q8.sql): persons grouped by (id, name, TUMBLE 10 s) joined with
 * auction sellers grouped by (seller, TUMBLE 10 s) on id = seller and the same window:
 * P.id, P.name, P.starttime. Output: `id,name,starttime`.
 *
 *   source -> watermarks -> persons (id, name)  --+
 *                        -> auctions (seller)   --+-> union --keyBy(id | seller)->
 *   window(TumblingEventTimeWindows(10 s)).aggregate(person seen? auction seen?, + window)
 *   (at -p) -> sink
 *
 * A windowed join: both inputs meet in one keyed window per person id; its accumulator
 * says whether the person and at least one auction of theirs came in the window, and the
 * window function emits the person when both did.
 */
#include "nexmark_gen.h"

#define Q8_SIZE_MS 10000
#define Q8_MAX_NAME 32

/* a person or an auction's seller, as the window's input */
struct q8_in {
    int64_t id;
    uint32_t is_person, name_len;
    char name[Q8_MAX_NAME];
};
#define Q8_IN_HEAD offsetof(struct q8_in, name)

struct q8_acc {
    uint32_t has_person, has_auction, name_len, pad;
    char name[Q8_MAX_NAME];
};

struct q8_row {
    int64_t id, start;
    char name[Q8_MAX_NAME];
};
#define Q8_ROW_HEAD offsetof(struct q8_row, name)

void q8_persons(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q8_sellers(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q8_create(void *acc);
void q8_add(void *acc, const fl_rec *in);
uint32_t q8_result(const void *acc, void *out, uint32_t cap);
void q8_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out);
uint32_t q8_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q8_persons(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q8_in r;
    nx_event e;

    if (nx_kind_of(in) != NX_PERSON)
        return;
    if (nx_decode(in, &e) < 0 || e.s[NX_P_NAME].n > Q8_MAX_NAME) {
        fl_ctx_fail(ctx, "q8: a malformed person record (%u bytes)", in->len);
        return;
    }
    r.id = e.u.p.id;
    r.is_person = 1;
    r.name_len = e.s[NX_P_NAME].n;
    memcpy(r.name, e.s[NX_P_NAME].p, r.name_len);
    fl_emit(out, &r, (uint32_t)Q8_IN_HEAD + r.name_len);
}

void q8_sellers(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_auction a;

    if (nx_kind_of(in) != NX_AUCTION)
        return;
    if (!nx_fixed(in, NX_AUCTION, &a)) {
        fl_ctx_fail(ctx, "q8: a short auction record (%u bytes)", in->len);
        return;
    }
    struct q8_in r = {.id = a.seller, .is_person = 0, .name_len = 0};
    fl_emit(out, &r, (uint32_t)Q8_IN_HEAD);
}

void q8_create(void *acc)
{
    memset(acc, 0, sizeof(struct q8_acc));
}

void q8_add(void *acc, const fl_rec *in)
{
    struct q8_acc a;
    struct q8_in r;

    if (in->len < Q8_IN_HEAD || in->len > sizeof r)
        return;
    memcpy(&a, acc, sizeof a);
    memcpy(&r, in->data, in->len);
    if (r.is_person) {
        a.has_person = 1;
        a.name_len = r.name_len;
        memcpy(a.name, r.name, r.name_len);
    } else {
        a.has_auction = 1;
    }
    memcpy(acc, &a, sizeof a);
}

uint32_t q8_result(const void *acc, void *out, uint32_t cap)
{
    memcpy(out, acc, sizeof(struct q8_acc));
    return sizeof(struct q8_acc);
}

void q8_window(fl_ctx *ctx, const fl_window *w, fl_iter *elements, fl_out *out)
{
    struct q8_acc a;
    struct q8_row r;

    if (!fl_iter_next_as(elements, struct q8_acc, &a) || !a.has_person || !a.has_auction)
        return;
    if (!fl_ctx_key_as(ctx, int64_t, &r.id))
        return;
    r.start = w->start;
    memcpy(r.name, a.name, a.name_len);
    fl_emit(out, &r, (uint32_t)Q8_ROW_HEAD + a.name_len);
}

uint32_t q8_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q8_row r;
    uint32_t k;

    if (in->len < Q8_ROW_HEAD || in->len > sizeof r)
        return 0;
    memcpy(&r, in->data, in->len);
    nx_str name = {r.name, in->len - (uint32_t)Q8_ROW_HEAD};
    k = nx_put_ch(buf, nx_put_i64(buf, 0, cap, r.id), cap, ',');
    k = nx_put_ch(buf, nx_put_str(buf, k, cap, name), cap, ',');
    return nx_put_i64(buf, k, cap, r.start);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q8", &a) < 0)
        return 1;
    fl_stream *src = nx_source(env, &a);
    fl_stream *persons = fl_name(fl_flat_map(src, q8_persons), "persons");
    fl_stream *sellers = fl_name(fl_flat_map(src, q8_sellers), "sellers");
    fl_stream *s = fl_key_by_field(fl_union(persons, sellers), offsetof(struct q8_in, id),
                                   sizeof(int64_t));
    s = fl_windowed(s, fl_tumbling_event_time_windows(Q8_SIZE_MS, 0));
    static const fl_aggregate seen = {
        .acc_size = sizeof(struct q8_acc),
        .create = q8_create,
        .add = q8_add,
        .result = q8_result,
        .result_max = sizeof(struct q8_acc),
    };
    s = fl_name(fl_window_aggregate(s, &seen, q8_window), "new-users");
    nx_sink(s, a.output, q8_format);
    return fl_execute(env, "Nexmark q8: monitor new users");
}
