/* nexmark.h -- the Nexmark data model as Flint records, shared by the query bundles of
 * examples/nexmark/ (header only: each bundle is one translation unit that includes it
 * through nexmark_gen.h).
 *
 * An event is a person, an auction or a bid (the online auction model of the Nexmark
 * benchmark; the fields and their names are those of the nexmark/nexmark repository's
 * DDL, `dateTime` and `expires` in milliseconds since the epoch). A record is
 *
 *     struct nx_head        kind, and the length of each string field
 *     the kind's fixed part struct nx_person / nx_auction / nx_bid (int64 fields)
 *     the string fields     back to back, without terminators
 *
 * so a bid of the reference sizes travels in about 200 bytes. nx_decode() reads one into
 * an nx_event view with every length checked (a short or damaged record is refused,
 * never read past); the string pointers point into the record and are valid only while
 * the record is (during the call that received it).
 *
 * Also here: the CSV text of each kind (what q0 --all writes, one line per event) and the
 * command-line settings every query takes (nx_args).
 */
#ifndef NEXMARK_H
#define NEXMARK_H

#include <flint/codec.h>
#include <flint/flint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum nx_kind { NX_PERSON = 0, NX_AUCTION = 1, NX_BID = 2 };

#define NX_MAX_STR 6      /* string fields of a person, the most of any kind */
#define NX_TEXT_MAX 1536  /* room for the strings of any generated event */

struct nx_head {
    uint8_t kind;  /* enum nx_kind */
    uint8_t nstr;  /* string fields that follow: 6, 3 or 3 */
    uint16_t slen[NX_MAX_STR];
};

/* strings: name, emailAddress, creditCard, city, state, extra */
struct nx_person {
    int64_t id, date_time;
};

/* strings: itemName, description, extra */
struct nx_auction {
    int64_t id, initial_bid, reserve, date_time, expires, seller, category;
};

/* strings: channel, url, extra */
struct nx_bid {
    int64_t auction, bidder, price, date_time;
};

enum { NX_P_NAME, NX_P_EMAIL, NX_P_CARD, NX_P_CITY, NX_P_STATE, NX_P_EXTRA };
enum { NX_A_ITEM, NX_A_DESC, NX_A_EXTRA };
enum { NX_B_CHANNEL, NX_B_URL, NX_B_EXTRA };

typedef struct nx_str {
    const char *p;
    uint32_t n;
} nx_str;

/* A decoded event: the fixed part copied, the strings in place. */
typedef struct nx_event {
    int kind;
    union {
        struct nx_person p;
        struct nx_auction a;
        struct nx_bid b;
    } u;
    nx_str s[NX_MAX_STR];
} nx_event;

static const uint32_t nx_fixed_size[3] = {sizeof(struct nx_person), sizeof(struct nx_auction),
                                          sizeof(struct nx_bid)};
static const uint8_t nx_nstr[3] = {6, 3, 3};

/* The kind of a record without decoding it (-1 when it is not an event). */
static inline int nx_kind_of(const fl_rec *in)
{
    if (in->len < sizeof(struct nx_head))
        return -1;
    uint8_t k = *(const uint8_t *)in->data;
    return k <= NX_BID ? k : -1;
}

/* Decodes in into ev: 0, or -1 when the record is not a well-formed event. */
static inline int nx_decode(const fl_rec *in, nx_event *ev)
{
    struct nx_head h;
    const char *p = in->data;
    uint32_t off = sizeof h;

    if (in->len < sizeof h)
        return -1;
    memcpy(&h, p, sizeof h);
    if (h.kind > NX_BID || h.nstr != nx_nstr[h.kind] || in->len - off < nx_fixed_size[h.kind])
        return -1;
    ev->kind = h.kind;
    memcpy(&ev->u, p + off, nx_fixed_size[h.kind]);
    off += nx_fixed_size[h.kind];
    for (int i = 0; i < h.nstr; i++) {
        if (h.slen[i] > in->len - off)
            return -1;
        ev->s[i].p = p + off;
        ev->s[i].n = h.slen[i];
        off += h.slen[i];
    }
    return off == in->len ? 0 : -1;
}

/* The fixed part of a record of a known kind (checked by the caller with nx_kind_of), copied
 * into out; false when the record is too short for it. Cheaper than nx_decode for the
 * queries that read no string. */
static inline bool nx_fixed(const fl_rec *in, int kind, void *out)
{
    if (in->len < sizeof(struct nx_head) + nx_fixed_size[kind])
        return false;
    memcpy(out, (const char *)in->data + sizeof(struct nx_head), nx_fixed_size[kind]);
    return true;
}

/* ---- building records (the generator) ---------------------------------------------- */

/* A record under construction in a caller's buffer of sizeof(struct nx_head) +
 * sizeof(struct nx_auction) + NX_TEXT_MAX bytes. */
typedef struct nx_builder {
    uint8_t *buf;
    struct nx_head h;
    uint32_t len, nstr;
} nx_builder;

static inline void nx_build_start(nx_builder *b, void *buf, int kind, const void *fixed)
{
    b->buf = buf;
    memset(&b->h, 0, sizeof b->h);
    b->h.kind = (uint8_t)kind;
    b->h.nstr = nx_nstr[kind];
    b->nstr = 0;
    b->len = (uint32_t)sizeof b->h;
    memcpy(b->buf + b->len, fixed, nx_fixed_size[kind]);
    b->len += nx_fixed_size[kind];
}

/* Room left for string bytes. */
static inline uint32_t nx_build_room(const nx_builder *b)
{
    return (uint32_t)(sizeof(struct nx_head) + sizeof(struct nx_auction) + NX_TEXT_MAX) - b->len;
}

/* Where the next string's bytes go; nx_build_end_str says how many were written. */
static inline char *nx_build_str_at(nx_builder *b)
{
    return (char *)b->buf + b->len;
}

static inline void nx_build_end_str(nx_builder *b, uint32_t n)
{
    b->h.slen[b->nstr++] = (uint16_t)n;
    b->len += n;
}

static inline void nx_build_str(nx_builder *b, const char *s, uint32_t n)
{
    if (n > nx_build_room(b))
        n = nx_build_room(b);
    memcpy(nx_build_str_at(b), s, n);
    nx_build_end_str(b, n);
}

/* Finishes the record; its length. */
static inline uint32_t nx_build_end(nx_builder *b)
{
    memcpy(b->buf, &b->h, sizeof b->h);
    return b->len;
}

/* ---- text ----------------------------------------------------------------------------- */

/* Appends "%.*s" of each value; helpers of the format functions below. */
static inline uint32_t nx_put_str(char *buf, uint32_t pos, uint32_t cap, nx_str s)
{
    uint32_t n = s.n < cap - pos ? s.n : cap - pos;
    memcpy(buf + pos, s.p, n);
    return pos + n;
}

static inline uint32_t nx_put_i64(char *buf, uint32_t pos, uint32_t cap, int64_t v)
{
    char tmp[24];
    int i = (int)sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    uint32_t n = (uint32_t)((int)sizeof tmp - i);
    if (n > cap - pos)
        n = cap - pos;
    memcpy(buf + pos, tmp + i, n);
    return pos + n;
}

static inline uint32_t nx_put_ch(char *buf, uint32_t pos, uint32_t cap, char c)
{
    if (pos < cap)
        buf[pos++] = c;
    return pos;
}

/* One event as a CSV line:
 *   P,id,name,emailAddress,creditCard,city,state,dateTime,extra
 *   A,id,itemName,description,initialBid,reserve,dateTime,expires,seller,category,extra
 *   B,auction,bidder,price,channel,url,dateTime,extra
 * (no generated string holds a comma). */
static inline uint32_t nx_event_csv(const nx_event *e, char *buf, uint32_t cap)
{
    uint32_t k = 0;
    switch (e->kind) {
    case NX_PERSON:
        k = nx_put_ch(buf, k, cap, 'P');
        k = nx_put_ch(buf, nx_put_i64(buf, nx_put_ch(buf, k, cap, ','), cap, e->u.p.id), cap, ',');
        for (int i = NX_P_NAME; i <= NX_P_STATE; i++)
            k = nx_put_ch(buf, nx_put_str(buf, k, cap, e->s[i]), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.p.date_time), cap, ',');
        k = nx_put_str(buf, k, cap, e->s[NX_P_EXTRA]);
        break;
    case NX_AUCTION:
        k = nx_put_ch(buf, k, cap, 'A');
        k = nx_put_ch(buf, nx_put_i64(buf, nx_put_ch(buf, k, cap, ','), cap, e->u.a.id), cap, ',');
        k = nx_put_ch(buf, nx_put_str(buf, k, cap, e->s[NX_A_ITEM]), cap, ',');
        k = nx_put_ch(buf, nx_put_str(buf, k, cap, e->s[NX_A_DESC]), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.a.initial_bid), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.a.reserve), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.a.date_time), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.a.expires), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.a.seller), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.a.category), cap, ',');
        k = nx_put_str(buf, k, cap, e->s[NX_A_EXTRA]);
        break;
    default:
        k = nx_put_ch(buf, k, cap, 'B');
        k = nx_put_ch(buf, nx_put_i64(buf, nx_put_ch(buf, k, cap, ','), cap, e->u.b.auction), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.b.bidder), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.b.price), cap, ',');
        k = nx_put_ch(buf, nx_put_str(buf, k, cap, e->s[NX_B_CHANNEL]), cap, ',');
        k = nx_put_ch(buf, nx_put_str(buf, k, cap, e->s[NX_B_URL]), cap, ',');
        k = nx_put_ch(buf, nx_put_i64(buf, k, cap, e->u.b.date_time), cap, ',');
        k = nx_put_str(buf, k, cap, e->s[NX_B_EXTRA]);
        break;
    }
    return k;
}

#endif
