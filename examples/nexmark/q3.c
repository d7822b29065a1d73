/* q3.c -- Nexmark query 3, local item suggestion: who is selling in Oregon, Idaho or
 * California in category 10, and for what auction ids.
 *
 *   flint run [-p N] build/examples/nexmark/q3.so [--events N] [--rate R] [--seed S]
 *       [--output DIR]
 *
 * SQL (nexmark/nexmark q3.sql): SELECT P.name, P.city, P.state, A.id FROM auction AS A
 * INNER JOIN person AS P ON A.seller = P.id WHERE A.category = 10 AND (P.state = 'OR' OR
 * P.state = 'ID' OR P.state = 'CA'). Output: `name,city,state,id`.
 *
 *   source -> watermarks -> persons in OR/ID/CA, projected  --keyBy(id)----+
 *                        -> auctions of category 10, (id, seller) --keyBy(seller)-+
 *   -> connect -> join (keyed CoProcessFunction, at -p) -> sink
 *
 * The join is Flink's regular inner join of two insert-only inputs, on keyed state: a
 * person (ids are unique) is kept in a ValueState forever; an auction whose seller has
 * not arrived yet waits in a ListState and is emitted when the person comes (a seller
 * may be drawn up to 10 ids ahead of the last person). As in Flink without a state TTL,
 * the state of the join grows with the number of qualifying persons.
 */
#include "nexmark_gen.h"

#define Q3_MAX_TEXT 96

/* a person, projected: id, then name, city and state back to back */
struct q3_person {
    int64_t id;
    uint8_t name_len, city_len, state_len, pad[5];
    char text[Q3_MAX_TEXT];
};
#define Q3_PERSON_HEAD offsetof(struct q3_person, text)

struct q3_auction {
    int64_t seller, id;
};

/* a result: the auction id, then the person's text as in q3_person */
struct q3_row {
    int64_t auction;
    uint8_t name_len, city_len, state_len, pad[5];
    char text[Q3_MAX_TEXT];
};
#define Q3_ROW_HEAD offsetof(struct q3_row, text)

struct q3_states {
    fl_value_state *person;
    fl_list_state *waiting;
};

void q3_persons(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q3_auctions(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q3_open(fl_ctx *ctx);
void q3_close(fl_ctx *ctx);
void q3_on_person(fl_ctx *ctx, const fl_rec *in, fl_out *out);
void q3_on_auction(fl_ctx *ctx, const fl_rec *in, fl_out *out);
uint32_t q3_format(const fl_rec *in, char *buf, uint32_t cap);
int flint_main(fl_env *env, int argc, char **argv);

void q3_persons(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    nx_event e;
    struct q3_person p;

    if (nx_kind_of(in) != NX_PERSON)
        return;
    if (nx_decode(in, &e) < 0) {
        fl_ctx_fail(ctx, "q3: a malformed person record (%u bytes)", in->len);
        return;
    }
    nx_str st = e.s[NX_P_STATE], name = e.s[NX_P_NAME], city = e.s[NX_P_CITY];
    if (st.n != 2 || !(memcmp(st.p, "OR", 2) == 0 || memcmp(st.p, "ID", 2) == 0 ||
                       memcmp(st.p, "CA", 2) == 0))
        return;
    if (name.n + city.n + st.n > Q3_MAX_TEXT) {
        fl_ctx_fail(ctx, "q3: person %lld: name and city longer than %d bytes",
                    (long long)e.u.p.id, Q3_MAX_TEXT - 2);
        return;
    }
    memset(&p, 0, Q3_PERSON_HEAD);
    p.id = e.u.p.id;
    p.name_len = (uint8_t)name.n;
    p.city_len = (uint8_t)city.n;
    p.state_len = (uint8_t)st.n;
    memcpy(p.text, name.p, name.n);
    memcpy(p.text + name.n, city.p, city.n);
    memcpy(p.text + name.n + city.n, st.p, st.n);
    fl_emit(out, &p, (uint32_t)Q3_PERSON_HEAD + name.n + city.n + st.n);
}

void q3_auctions(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct nx_auction a;

    if (nx_kind_of(in) != NX_AUCTION)
        return;
    if (!nx_fixed(in, NX_AUCTION, &a)) {
        fl_ctx_fail(ctx, "q3: a short auction record (%u bytes)", in->len);
        return;
    }
    if (a.category == 10) {
        struct q3_auction r = {a.seller, a.id};
        fl_emit(out, &r, sizeof r);
    }
}

void q3_open(fl_ctx *ctx)
{
    struct q3_states *st = calloc(1, sizeof *st);

    if (!st) {
        fl_ctx_fail(ctx, "q3: out of memory");
        return;
    }
    st->person = fl_ctx_value_state(ctx, "person");
    st->waiting = fl_ctx_list_state(ctx, "waiting-auctions");
    fl_ctx_set_user(ctx, st);
}

void q3_close(fl_ctx *ctx)
{
    free(fl_ctx_user(ctx));
}

static void q3_emit(fl_out *out, const fl_rec *person, int64_t auction)
{
    struct q3_row r;
    uint32_t n = person->len - (uint32_t)Q3_PERSON_HEAD;

    memcpy(&r, person->data, person->len); /* same layout after the first field */
    r.auction = auction;
    fl_emit(out, &r, (uint32_t)Q3_ROW_HEAD + n);
}

void q3_on_person(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q3_states *st = fl_ctx_user(ctx);
    fl_iter it;
    int64_t id;

    if (in->len < Q3_PERSON_HEAD || in->len > sizeof(struct q3_person))
        return;
    fl_value_put_bytes(st->person, in->data, in->len); /* variable length */
    if (fl_list_get(st->waiting, &it)) {
        while (fl_iter_next_i64(&it, &id))
            q3_emit(out, in, id);
        fl_list_clear(st->waiting);
    }
}

void q3_on_auction(fl_ctx *ctx, const fl_rec *in, fl_out *out)
{
    struct q3_states *st = fl_ctx_user(ctx);
    struct q3_auction a;
    fl_rec p = {NULL, 0, FL_NO_TIMESTAMP};

    memcpy(&a, in->data, sizeof a);
    if (fl_value_get_bytes(st->person, &p.data, &p.len))
        q3_emit(out, &p, a.id);
    else
        fl_list_add_i64(st->waiting, a.id);
}

uint32_t q3_format(const fl_rec *in, char *buf, uint32_t cap)
{
    struct q3_row r;
    uint32_t k;

    if (in->len < Q3_ROW_HEAD || in->len > sizeof r)
        return 0;
    memcpy(&r, in->data, in->len);
    if ((uint32_t)r.name_len + r.city_len + r.state_len != in->len - Q3_ROW_HEAD)
        return 0;
    nx_str name = {r.text, r.name_len}, city = {r.text + r.name_len, r.city_len},
           st = {r.text + r.name_len + r.city_len, r.state_len};
    k = nx_put_ch(buf, nx_put_str(buf, 0, cap, name), cap, ',');
    k = nx_put_ch(buf, nx_put_str(buf, k, cap, city), cap, ',');
    k = nx_put_ch(buf, nx_put_str(buf, k, cap, st), cap, ',');
    return nx_put_i64(buf, k, cap, r.auction);
}

int flint_main(fl_env *env, int argc, char **argv)
{
    struct nx_args a;

    if (nx_parse_args(argc, argv, "q3", &a) < 0)
        return 1;
    fl_stream *src = nx_source(env, &a);
    fl_stream *persons = fl_name(fl_flat_map(src, q3_persons), "persons-or-id-ca");
    persons = fl_key_by_field(persons, offsetof(struct q3_person, id), sizeof(int64_t));
    fl_stream *auctions = fl_name(fl_flat_map(src, q3_auctions), "auctions-category-10");
    auctions = fl_key_by_field(auctions, offsetof(struct q3_auction, seller), sizeof(int64_t));
    fl_stream *s = fl_co_process(fl_connect(persons, auctions), q3_on_person, q3_on_auction, NULL);
    s = fl_name(s, "join");
    fl_with_open(s, q3_open);
    fl_with_close(s, q3_close);
    nx_sink(s, a.output, q3_format);
    return fl_execute(env, "Nexmark q3: local item suggestion");
}
