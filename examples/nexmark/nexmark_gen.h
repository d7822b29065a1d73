/* nexmark_gen.h -- the Nexmark event generator as a parallel Flint source, shared by the
 * query bundles of examples/nexmark/ (header only; include it in exactly one file of a
 * bundle: it defines the source's exported functions nx_gen_open, nx_gen_close and
 * nx_gen_poll).
 *
 * The model is the standard one of the Nexmark benchmark (Beam's NexmarkGenerator, as the
 * nexmark/nexmark repository used by Flink has it; reimplemented here from its description,
 * with its default configuration):
 *
 *   - Events are numbered n = 0, 1, ... N-1 (--events N). n mod 50 says the kind: 0 a
 *     person, 1..3 an auction, 4..49 a bid (the proportion 1:3:46).
 *   - Event time: dateTime = base + floor(n * 1000 / rate) ms (--rate events per second of
 *     event time, default 10,000 as Flink's nexmark source; --base-time-ms, default
 *     2015-07-15 00:00:00 UTC). No out-of-order groups (outOfOrderGroupSize 1), so each
 *     subtask's events ascend in time.
 *   - Ids: person n is person 1000 + n / 50; auction events get consecutive ids from 1000.
 *     A new auction's seller is, with probability 3/4 (hotSellersRatio 4), the hot seller
 *     (the first of the last 100 people), else one of the last 1,000 people (numActivePeople)
 *     plus 10 ids ahead. A bid is, with probability 1/2 (hotAuctionRatio 2), for the hot
 *     auction (the first of the last 100 auctions), else for one of the last 100 auctions
 *     (numInFlightAuctions) plus 10 ahead; its bidder is, with probability 3/4
 *     (hotBiddersRatio 4), the hot bidder (the second of the last 100 people), else an
 *     active person as for sellers.
 *   - Fields: prices 10^(6u) * 100 rounded (u uniform in [0, 1)): 1.00 to 1,000,000.00 in
 *     cents; reserve = initialBid + another price; category 10 + uniform 0..4; expires =
 *     dateTime + 1 + uniform below twice the time of the next 100 auctions; person names
 *     from 11 first and 9 last names, cities (10) and states (AZ CA ID OR WA WY) uniform,
 *     e-mail "7 chars@5 chars.com", credit card 4 groups of 4 digits; item names up to 20
 *     and descriptions up to 100 random letters (1 in 13 a space, trimmed); a bid's channel
 *     is, with probability 1/2, one of Google, Facebook, Baidu, Apple with that channel's
 *     url, else channel-K (K uniform below 10,000) with its url (9 in 10 with
 *     "&channel_id=" + the bit-reversed K); extra is random letters bringing the event to
 *     its average size (person 200, auction 500, bid 100 bytes) +-20 %.
 *   - Randomness: every event draws from its own splitmix64 stream seeded by (--seed, n),
 *     so event n is the same whatever generates it; channel urls and the pool the extra
 *     strings are cut from are seeded by (--seed, their index) likewise.
 *
 * Deviations from the Java generator, each deliberate: a fixed seed instead of an unseeded
 * random (determinism per seed); the bidder id gets 1000 added once (the Java code of
 * nexmark/nexmark adds FIRST_PERSON_ID twice, Beam once); channel_id is the unsigned
 * value of the reversed bits (Java's Math.abs(Integer.reverse(1)) is negative); rounding
 * is floor(x + 0.5), Java's Math.round. tests/cluster/ref/nexmark_ref.py implements the
 * same description in Python, draw for draw.
 *
 * Parallel: subtask k of p generates the events with n mod p = k, in ascending n, so every
 * subtask covers the whole event-time range at the same pace and the union of all subtasks
 * is the same event stream at any parallelism. A call of the source emits up to
 * NX_BATCH events and returns FL_SOURCE_MORE, then FL_SOURCE_END after its last event.
 * Each subtask's generator state (a 64 KiB pool for the extra strings, the 10,000 channel
 * urls) is allocated in nx_gen_open on its own task thread and freed in nx_gen_close.
 * The position is not checkpointed: a restarted job generates from the start.
 */
#ifndef NEXMARK_GEN_H
#define NEXMARK_GEN_H

#include "nexmark.h"

#include <math.h>

#define NX_BATCH 256
#define NX_POOL_SIZE 65536
#define NX_CHANNELS 10000
#define NX_FIRST_PERSON_ID 1000
#define NX_FIRST_AUCTION_ID 1000
#define NX_FIRST_CATEGORY_ID 10
#define NX_PERSON_PROPORTION 1
#define NX_AUCTION_PROPORTION 3
#define NX_TOTAL_PROPORTION 50
#define NX_ACTIVE_PEOPLE 1000
#define NX_IN_FLIGHT_AUCTIONS 100
#define NX_HOT_RATIO 100 /* hot sellers, auctions, bidders: the first of the last 100 */
#define NX_ID_LEAD 10
#define NX_HOT_SELLERS_RATIO 4
#define NX_HOT_AUCTION_RATIO 2
#define NX_HOT_BIDDERS_RATIO 4
#define NX_AVG_PERSON 200
#define NX_AVG_AUCTION 500
#define NX_AVG_BID 100
#define NX_DEFAULT_BASE_MS 1436918400000LL /* 2015-07-15T00:00:00Z */

/* The seed domains: events, channel urls, the extra pool, the 4 hot urls. */
#define NX_DOM_EVENT 1
#define NX_DOM_CHANNEL 2
#define NX_DOM_POOL 3
#define NX_DOM_HOT_URL 4

/* The generator's settings, given to the source with fl_with_config_as. */
struct nx_gen_cfg {
    int64_t events;  /* N */
    int64_t rate;    /* events per second of event time */
    int64_t seed;
    int64_t base_ms; /* dateTime of event 0 */
};

/* ---- randomness: splitmix64 ---------------------------------------------------------- */

static inline uint64_t nx_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct nx_rng {
    uint64_t s;
} nx_rng;

static inline nx_rng nx_rng_for(int64_t seed, uint64_t domain, uint64_t index)
{
    nx_rng r = {nx_mix64((uint64_t)seed * 0x9E3779B97F4A7C15ULL +
                         domain * 0xD6E8FEB86659FD93ULL + index)};
    return r;
}

static inline uint64_t nx_next64(nx_rng *r)
{
    r->s += 0x9E3779B97F4A7C15ULL;
    return nx_mix64(r->s);
}

/* Uniform in [0, bound) for 0 < bound < 2^32 (the top 32 bits scaled). */
static inline uint32_t nx_next_int(nx_rng *r, uint32_t bound)
{
    return (uint32_t)(((nx_next64(r) >> 32) * (uint64_t)bound) >> 32);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double nx_next_double(nx_rng *r)
{
    return (double)(nx_next64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the model's arithmetic ---------------------------------------------------------- */

static inline int64_t nx_timestamp_of(const struct nx_gen_cfg *c, int64_t n)
{
    return c->base_ms + n * 1000 / c->rate;
}

/* The last person id (base 0) generated at or before event n. */
static inline int64_t nx_last_person(int64_t n)
{
    int64_t epoch = n / NX_TOTAL_PROPORTION, off = n % NX_TOTAL_PROPORTION;
    if (off >= NX_PERSON_PROPORTION)
        off = NX_PERSON_PROPORTION - 1;
    return epoch * NX_PERSON_PROPORTION + off;
}

/* The last auction id (base 0) generated at or before event n (-1 before the first). */
static inline int64_t nx_last_auction(int64_t n)
{
    int64_t epoch = n / NX_TOTAL_PROPORTION, off = n % NX_TOTAL_PROPORTION;
    if (off < NX_PERSON_PROPORTION) {
        epoch--;
        off = NX_AUCTION_PROPORTION - 1;
    } else if (off >= NX_PERSON_PROPORTION + NX_AUCTION_PROPORTION) {
        off = NX_AUCTION_PROPORTION - 1;
    } else {
        off -= NX_PERSON_PROPORTION;
    }
    return epoch * NX_AUCTION_PROPORTION + off;
}

/* One of the active people, or a few ids ahead (base 0). */
static inline int64_t nx_next_person(nx_rng *r, int64_t n)
{
    int64_t people = nx_last_person(n) + 1;
    int64_t active = people < NX_ACTIVE_PEOPLE ? people : NX_ACTIVE_PEOPLE;
    return people - active + nx_next_int(r, (uint32_t)(active + NX_ID_LEAD));
}

/* One of the auctions likely in flight, or a few ids ahead (base 0). */
static inline int64_t nx_next_auction(nx_rng *r, int64_t n)
{
    int64_t max = nx_last_auction(n);
    int64_t min = max - NX_IN_FLIGHT_AUCTIONS > 0 ? max - NX_IN_FLIGHT_AUCTIONS : 0;
    return min + nx_next_int(r, (uint32_t)(max - min + 1 + NX_ID_LEAD));
}

static inline int64_t nx_next_price(nx_rng *r)
{
    return (int64_t)floor(pow(10.0, nx_next_double(r) * 6.0) * 100.0 + 0.5);
}

/* 3 to max_len - 1 random letters, 1 in 13 `special`, trimmed of spaces; its length. */
static inline uint32_t nx_next_string(nx_rng *r, uint32_t max_len, char special, char *out)
{
    uint32_t len = 3 + nx_next_int(r, max_len - 3), i;
    for (i = 0; i < len; i++)
        out[i] = nx_next_int(r, 13) == 0 ? special : (char)('a' + nx_next_int(r, 26));
    uint32_t a = 0, b = len;
    while (a < b && out[a] == ' ')
        a++;
    while (b > a && out[b - 1] == ' ')
        b--;
    if (a)
        memmove(out, out + a, b - a);
    return b - a;
}

/* "https://www.nexmark.com/xxx/xxx/xxx/item.htm?query=1" (xxx: 3 or 4 letters or '_'). */
static inline uint32_t nx_base_url(nx_rng *r, char *out)
{
    static const char head[] = "https://www.nexmark.com/", tail[] = "item.htm?query=1";
    uint32_t k = sizeof head - 1;
    memcpy(out, head, k);
    for (int i = 0; i < 3; i++) {
        k += nx_next_string(r, 5, '_', out + k);
        out[k++] = '/';
    }
    memcpy(out + k, tail, sizeof tail - 1);
    return k + (uint32_t)sizeof tail - 1;
}

static inline uint32_t nx_reverse32(uint32_t v)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++, v >>= 1)
        r = (r << 1) | (v & 1);
    return r;
}

/* ---- the source ---------------------------------------------------------------------- */

#define NX_URL_MAX 96

/* One subtask's generator (nx_gen_open). */
struct nx_gen {
    struct nx_gen_cfg cfg;
    int64_t next, step;    /* the next event number, and the parallelism */
    int64_t ahead_ms;      /* the time of the next 100 auctions, for expires */
    char pool[NX_POOL_SIZE];
    char hot_url[4][NX_URL_MAX];
    uint8_t hot_url_len[4];
    char (*url)[NX_URL_MAX]; /* NX_CHANNELS urls */
    uint8_t *url_len;
    uint8_t buf[sizeof(struct nx_head) + sizeof(struct nx_auction) + NX_TEXT_MAX];
};

void nx_gen_open(fl_ctx *ctx);
void nx_gen_close(fl_ctx *ctx);
int nx_gen_poll(fl_ctx *ctx, fl_out *out);

static const char *const nx_first_names[] = {"Peter", "Paul",  "Luke",   "John",
                                             "Saul",  "Vicky", "Kate",   "Julie",
                                             "Sarah", "Deiter", "Walter"};
static const char *const nx_last_names[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                            "Walton", "Smith",  "Jones",   "Noris"};
static const char *const nx_cities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise",
                                        "Portland", "Bend", "Redmond", "Seattle", "Kent",
                                        "Cheyenne"};
static const char *const nx_states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const nx_hot_channels[] = {"Google", "Facebook", "Baidu", "Apple"};

void nx_gen_open(fl_ctx *ctx)
{
    struct nx_gen *g = calloc(1, sizeof *g);

    if (!g || !(g->url = malloc(NX_CHANNELS * sizeof *g->url)) ||
        !(g->url_len = malloc(NX_CHANNELS))) {
        if (g)
            free(g->url);
        free(g);
        fl_ctx_fail(ctx, "nexmark: out of memory for the generator");
        return;
    }
    g->cfg = *fl_ctx_config_as(ctx, struct nx_gen_cfg);
    g->next = fl_ctx_subtask(ctx);
    g->step = fl_ctx_parallelism(ctx);
    nx_rng r = nx_rng_for(g->cfg.seed, NX_DOM_POOL, 0);
    for (int i = 0; i < NX_POOL_SIZE; i++)
        g->pool[i] = (char)('a' + nx_next_int(&r, 26));
    for (int i = 0; i < 4; i++) {
        r = nx_rng_for(g->cfg.seed, NX_DOM_HOT_URL, (uint64_t)i);
        g->hot_url_len[i] = (uint8_t)nx_base_url(&r, g->hot_url[i]);
    }
    for (int i = 0; i < NX_CHANNELS; i++) {
        r = nx_rng_for(g->cfg.seed, NX_DOM_CHANNEL, (uint64_t)i);
        uint32_t k = nx_base_url(&r, g->url[i]);
        if (nx_next_int(&r, 10) > 0) {
            int n = snprintf(g->url[i] + k, NX_URL_MAX - k, "&channel_id=%u",
                             nx_reverse32((uint32_t)i));
            k += (uint32_t)n;
        }
        g->url_len[i] = (uint8_t)k;
    }
    fl_ctx_set_user(ctx, g);
}

void nx_gen_close(fl_ctx *ctx)
{
    struct nx_gen *g = fl_ctx_user(ctx);
    if (g) {
        free(g->url);
        free(g->url_len);
        free(g);
    }
}

/* The extra string that brings an event of `size` bytes to about `avg` bytes. */
static inline void nx_extra(struct nx_gen *g, nx_rng *r, nx_builder *b, uint32_t size,
                            uint32_t avg)
{
    if (size > avg) {
        nx_build_end_str(b, 0);
        return;
    }
    uint32_t want = avg - size;
    uint32_t delta = (2 * want + 5) / 10; /* floor(want * 0.2 + 0.5) */
    uint32_t n = want - delta + (delta ? nx_next_int(r, 2 * delta) : 0);
    uint32_t off = nx_next_int(r, NX_POOL_SIZE - n);
    nx_build_str(b, g->pool + off, n);
}

static uint32_t nx_gen_person(struct nx_gen *g, nx_rng *r, int64_t n, int64_t ts)
{
    struct nx_person p = {nx_last_person(n) + NX_FIRST_PERSON_ID, ts};
    nx_builder b;
    char *s;
    uint32_t k, size = 8;

    nx_build_start(&b, g->buf, NX_PERSON, &p);
    s = nx_build_str_at(&b);
    const char *first = nx_first_names[nx_next_int(r, 11)];
    const char *last = nx_last_names[nx_next_int(r, 9)];
    k = (uint32_t)strlen(first);
    memcpy(s, first, k);
    s[k++] = ' ';
    memcpy(s + k, last, strlen(last));
    k += (uint32_t)strlen(last);
    nx_build_end_str(&b, k);
    size += k;
    s = nx_build_str_at(&b);
    k = nx_next_string(r, 7, ' ', s);
    s[k++] = '@';
    k += nx_next_string(r, 5, ' ', s + k);
    memcpy(s + k, ".com", 4);
    nx_build_end_str(&b, k + 4);
    size += k + 4;
    s = nx_build_str_at(&b);
    for (int i = 0; i < 4; i++) {
        uint32_t d = nx_next_int(r, 10000);
        if (i)
            *s++ = ' ';
        s[0] = (char)('0' + d / 1000);
        s[1] = (char)('0' + d / 100 % 10);
        s[2] = (char)('0' + d / 10 % 10);
        s[3] = (char)('0' + d % 10);
        s += 4;
    }
    nx_build_end_str(&b, 19);
    size += 19;
    const char *city = nx_cities[nx_next_int(r, 10)];
    nx_build_str(&b, city, (uint32_t)strlen(city));
    size += (uint32_t)strlen(city);
    nx_build_str(&b, nx_states[nx_next_int(r, 6)], 2);
    size += 2;
    nx_extra(g, r, &b, size, NX_AVG_PERSON);
    return nx_build_end(&b);
}

static uint32_t nx_gen_auction(struct nx_gen *g, nx_rng *r, int64_t n, int64_t ts)
{
    struct nx_auction a;
    nx_builder b;
    char item[32], desc[128];

    a.id = nx_last_auction(n) + NX_FIRST_AUCTION_ID;
    if (nx_next_int(r, NX_HOT_SELLERS_RATIO) > 0)
        a.seller = nx_last_person(n) / NX_HOT_RATIO * NX_HOT_RATIO;
    else
        a.seller = nx_next_person(r, n);
    a.seller += NX_FIRST_PERSON_ID;
    a.category = NX_FIRST_CATEGORY_ID + nx_next_int(r, 5);
    a.initial_bid = nx_next_price(r);
    /* the time until the auction numInFlightAuctions ahead: twice that on average */
    int64_t ahead = (int64_t)NX_IN_FLIGHT_AUCTIONS * NX_TOTAL_PROPORTION / NX_AUCTION_PROPORTION;
    int64_t horizon = nx_timestamp_of(&g->cfg, n + ahead) - ts;
    int64_t span = horizon * 2 > 1 ? horizon * 2 : 1;
    a.date_time = ts;
    a.expires = ts + 1 + (int64_t)nx_next_int(r, (uint32_t)(span < UINT32_MAX ? span : UINT32_MAX));
    uint32_t ni = nx_next_string(r, 20, ' ', item);
    uint32_t nd = nx_next_string(r, 100, ' ', desc);
    a.reserve = a.initial_bid + nx_next_price(r);
    nx_build_start(&b, g->buf, NX_AUCTION, &a);
    nx_build_str(&b, item, ni);
    nx_build_str(&b, desc, nd);
    nx_extra(g, r, &b, 8 + ni + nd + 40, NX_AVG_AUCTION);
    return nx_build_end(&b);
}

static uint32_t nx_gen_bid(struct nx_gen *g, nx_rng *r, int64_t n, int64_t ts)
{
    struct nx_bid bid;
    nx_builder b;

    if (nx_next_int(r, NX_HOT_AUCTION_RATIO) > 0)
        bid.auction = nx_last_auction(n) / NX_HOT_RATIO * NX_HOT_RATIO;
    else
        bid.auction = nx_next_auction(r, n);
    bid.auction += NX_FIRST_AUCTION_ID;
    if (nx_next_int(r, NX_HOT_BIDDERS_RATIO) > 0)
        bid.bidder = nx_last_person(n) / NX_HOT_RATIO * NX_HOT_RATIO + 1;
    else
        bid.bidder = nx_next_person(r, n);
    bid.bidder += NX_FIRST_PERSON_ID;
    bid.price = nx_next_price(r);
    bid.date_time = ts;
    nx_build_start(&b, g->buf, NX_BID, &bid);
    if (nx_next_int(r, 2) > 0) {
        uint32_t i = nx_next_int(r, 4);
        nx_build_str(&b, nx_hot_channels[i], (uint32_t)strlen(nx_hot_channels[i]));
        nx_build_str(&b, g->hot_url[i], g->hot_url_len[i]);
    } else {
        uint32_t i = nx_next_int(r, NX_CHANNELS);
        char *s = nx_build_str_at(&b);
        memcpy(s, "channel-", 8);
        uint32_t k = 8 + (uint32_t)(nx_put_i64(s + 8, 0, 8, i));
        nx_build_end_str(&b, k);
        nx_build_str(&b, g->url[i], g->url_len[i]);
    }
    nx_extra(g, r, &b, 32, NX_AVG_BID);
    return nx_build_end(&b);
}

/* Event n into g->buf; its length. */
static inline uint32_t nx_gen_event(struct nx_gen *g, int64_t n, int64_t *ts)
{
    nx_rng r = nx_rng_for(g->cfg.seed, NX_DOM_EVENT, (uint64_t)n);
    int64_t off = n % NX_TOTAL_PROPORTION;
    *ts = nx_timestamp_of(&g->cfg, n);
    if (off < NX_PERSON_PROPORTION)
        return nx_gen_person(g, &r, n, *ts);
    if (off < NX_PERSON_PROPORTION + NX_AUCTION_PROPORTION)
        return nx_gen_auction(g, &r, n, *ts);
    return nx_gen_bid(g, &r, n, *ts);
}

int nx_gen_poll(fl_ctx *ctx, fl_out *out)
{
    struct nx_gen *g = fl_ctx_user(ctx);
    int64_t ts;

    if (!g)
        return FL_SOURCE_END;
    for (int i = 0; i < NX_BATCH && g->next < g->cfg.events; i++) {
        uint32_t len = nx_gen_event(g, g->next, &ts);
        fl_emit_ts(out, g->buf, len, ts);
        g->next += g->step;
    }
    return g->next < g->cfg.events ? FL_SOURCE_MORE : FL_SOURCE_END;
}

/* ---- what every query shares -------------------------------------------------------- */

int64_t nx_event_time(const fl_rec *in);
bool nx_is_person(fl_ctx *ctx, const fl_rec *in);
bool nx_is_auction(fl_ctx *ctx, const fl_rec *in);
bool nx_is_bid(fl_ctx *ctx, const fl_rec *in);

int64_t nx_event_time(const fl_rec *in)
{
    return in->ts;
}

bool nx_is_person(fl_ctx *ctx, const fl_rec *in)
{
    return nx_kind_of(in) == NX_PERSON;
}

bool nx_is_auction(fl_ctx *ctx, const fl_rec *in)
{
    return nx_kind_of(in) == NX_AUCTION;
}

bool nx_is_bid(fl_ctx *ctx, const fl_rec *in)
{
    return nx_kind_of(in) == NX_BID;
}

/* The command line every query takes. */
struct nx_args {
    struct nx_gen_cfg gen;
    const char *output; /* NULL: discard */
    int64_t ooo_ms;     /* watermark out-of-orderness */
};

/* Reads --events N (default 100000), --rate R (10000), --seed S (1), --base-time-ms T,
 * --out-of-orderness-ms (4000, the WATERMARK of nexmark's DDL), --output DIR; 0, or -1
 * after a message. */
static inline int nx_parse_args(int argc, char **argv, const char *prog, struct nx_args *a)
{
    memset(a, 0, sizeof *a);
    a->output = fl_arg(argc, argv, "output", NULL);
    if (fl_arg_i64(argc, argv, prog, "events", 100000, 0, &a->gen.events) < 0 ||
        fl_arg_i64(argc, argv, prog, "rate", 10000, 1, &a->gen.rate) < 0 ||
        fl_arg_i64(argc, argv, prog, "seed", 1, INT64_MIN, &a->gen.seed) < 0 ||
        fl_arg_i64(argc, argv, prog, "base-time-ms", NX_DEFAULT_BASE_MS, 0, &a->gen.base_ms) < 0 ||
        fl_arg_i64(argc, argv, prog, "out-of-orderness-ms", 4000, 0, &a->ooo_ms) < 0)
        return -1;
    if (a->gen.events > INT64_MAX / 1000 - 1000000 || a->gen.base_ms > INT64_MAX / 4) {
        fprintf(stderr, "%s: --events or --base-time-ms too large\n", prog);
        return -1;
    }
    return 0;
}

/* The generator (parallel, at the job's parallelism) with timestamps and bounded
 * out-of-orderness watermarks, chained. */
static inline fl_stream *nx_source(fl_env *env, const struct nx_args *a)
{
    fl_stream *s = fl_name(fl_add_source(env, nx_gen_poll, true), "nexmark-source");
    fl_with_config_as(s, struct nx_gen_cfg, &a->gen);
    fl_with_open(s, nx_gen_open);
    fl_with_close(s, nx_gen_close);
    s = fl_assign_timestamps_and_watermarks(s,
                                            fl_wm_bounded_out_of_orderness(a->ooo_ms, nx_event_time));
    return fl_name(s, "watermarks");
}

/* Only the events of one kind (chained). */
static inline fl_stream *nx_only(fl_stream *s, int kind)
{
    static const char *const names[] = {"persons", "auctions", "bids"};
    fl_filter_fn f = kind == NX_PERSON ? nx_is_person : kind == NX_AUCTION ? nx_is_auction
                                                                           : nx_is_bid;
    return fl_name(fl_filter(s, f), names[kind]);
}

/* The result to DIR (file sink) or nowhere (--output absent). */
static inline void nx_sink(fl_stream *s, const char *dir, fl_format_fn fmt)
{
    if (dir)
        fl_name(fl_write_as_text(s, dir, fmt), "file-sink");
    else
        fl_name(fl_discard(s), "discard-sink");
}

#endif
